/*
 * scope_test: table-driven tests of lib/scope (SMART App Launch 2.2
 * scopes, v1 and v2).  Each table carries adversarial rows: permission
 * letters out of order or repeated, unknown contexts, lowercase types,
 * constraints on v1 syntax, overlong strings, NUL, tabs, duplicates.
 * No database, no network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "scope.h"
#include "t.h"

#define LAB "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"

/* One token on its own: what it parses to (kind 0 = unknown). */
static const struct {
	const char	*in;
	int		 kind;
	int		 ctx;
	const char	*type;
	unsigned	 perm;
	int		 v1;
	size_t		 nparams;
	const char	*pname;
	const char	*pvalue;
} token_rows[] = {
	{ "patient/*.read", SCOPE_RESOURCE, SCOPE_CTX_PATIENT, "*", SCOPE_R | SCOPE_S, 1, 0, NULL, NULL },
	{ "user/Observation.write", SCOPE_RESOURCE, SCOPE_CTX_USER, "Observation", SCOPE_C | SCOPE_U | SCOPE_D, 1, 0, NULL, NULL },
	{ "user/Patient.*", SCOPE_RESOURCE, SCOPE_CTX_USER, "Patient", SCOPE_CRUDS, 1, 0, NULL, NULL },
	{ "system/*.read", SCOPE_RESOURCE, SCOPE_CTX_SYSTEM, "*", SCOPE_R | SCOPE_S, 1, 0, NULL, NULL },
	{ "system/*.cruds", SCOPE_RESOURCE, SCOPE_CTX_SYSTEM, "*", SCOPE_CRUDS, 0, 0, NULL, NULL },
	{ "patient/Observation.rs", SCOPE_RESOURCE, SCOPE_CTX_PATIENT, "Observation", SCOPE_R | SCOPE_S, 0, 0, NULL, NULL },
	{ "patient/Observation.r", SCOPE_RESOURCE, SCOPE_CTX_PATIENT, "Observation", SCOPE_R, 0, 0, NULL, NULL },
	{ "user/Encounter.cud", SCOPE_RESOURCE, SCOPE_CTX_USER, "Encounter", SCOPE_C | SCOPE_U | SCOPE_D, 0, 0, NULL, NULL },
	{ "user/Encounter.cs", SCOPE_RESOURCE, SCOPE_CTX_USER, "Encounter", SCOPE_C | SCOPE_S, 0, 0, NULL, NULL },
	{ "patient/Observation.rs?category=" LAB, SCOPE_RESOURCE, SCOPE_CTX_PATIENT, "Observation", SCOPE_R | SCOPE_S, 0, 1, "category", LAB },
	{ "patient/Observation.rs?category=http%3A%2F%2Fx%7Clab", SCOPE_RESOURCE, SCOPE_CTX_PATIENT, "Observation", SCOPE_R | SCOPE_S, 0, 1, "category", "http://x|lab" },
	{ "patient/Condition.rs?category=a&code=b", SCOPE_RESOURCE, SCOPE_CTX_PATIENT, "Condition", SCOPE_R | SCOPE_S, 0, 2, "category", "a" },
	{ "patient/Observation.rs?code:in=x", SCOPE_RESOURCE, SCOPE_CTX_PATIENT, "Observation", SCOPE_R | SCOPE_S, 0, 1, "code:in", "x" },
	{ "launch", SCOPE_LAUNCH, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "launch/patient", SCOPE_LAUNCH_PATIENT, 0, "patient", 0, 0, 0, NULL, NULL },
	{ "launch/encounter", SCOPE_LAUNCH_ENCOUNTER, 0, "encounter", 0, 0, 0, NULL, NULL },
	{ "launch/practitioner", SCOPE_LAUNCH_OTHER, 0, "practitioner", 0, 0, 0, NULL, NULL },
	{ "launch/patient?role=http://example.org/r", SCOPE_LAUNCH_PATIENT, 0, "patient", 0, 0, 1, "role", "http://example.org/r" },
	{ "openid", SCOPE_OPENID, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "fhirUser", SCOPE_FHIRUSER, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "profile", SCOPE_PROFILE, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "offline_access", SCOPE_OFFLINE, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "online_access", SCOPE_ONLINE, 0, NULL, 0, 0, 0, NULL, NULL },
	/* adversarial: all unknown, never reinterpreted (§5.7) */
	{ "patient/Observation.sr", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.rr", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.dus", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.crudsx", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.x", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.Read", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.readwrite", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.**", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "admin/*.rs", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "Patient/*.rs", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patients/*.rs", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "/*.rs", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/observation.rs", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/O.rs", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Obs1.rs", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Ob-s.rs", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/**.rs", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/.rs", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.rs.rs", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient//Observation.rs", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/*.read?x=y", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/*.*?x=y", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.rs?", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.rs?category", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.rs?category=", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.rs?=lab", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.rs?a=b&", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.rs?a=b&&c=d", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.rs?a=%zz", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.rs?a=%4", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.rs?a=%00", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.rs?a=%0a", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.rs?a=%c3%a9", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.rs?a%41=b", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.rs?1a=b", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "patient/Observation.?a=b", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "launch/", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "launch/Patient", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "launch/p", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "launch/patient?", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "launch/patient?x=y", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "launch/patient?role=a&role=b", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "launch?role=x", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "Launch", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "OPENID", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "fhiruser", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "offline", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "foo", 0, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "http://smarthealthit.org/fhir/scopes/patient/*.rs", 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

static void
test_tokens(void)
{
	char name[256];
	struct scope_set *set;
	struct scope_err err;
	const struct scope *sc;
	size_t i;

	for (i = 0; i < sizeof(token_rows) / sizeof(token_rows[0]); i++) {
		snprintf(name, sizeof(name), "token %s", token_rows[i].in);
		set = scope_parse(token_rows[i].in, &err);
		if (!T_OK(set != NULL, name))
			continue;
		if (token_rows[i].kind == 0) {
			T_OK(set->n == 0 && set->nunknown == 1 &&
			    strcmp(set->unknown[0], token_rows[i].in) == 0, name);
			scope_set_free(set);
			continue;
		}
		if (!T_OK(set->n == 1 && set->nunknown == 0, name)) {
			scope_set_free(set);
			continue;
		}
		sc = &set->v[0];
		T_EQ_INT(sc->kind, token_rows[i].kind, name);
		T_EQ_INT(sc->context, token_rows[i].ctx, name);
		T_EQ_STR(sc->type, token_rows[i].type, name);
		T_EQ_INT(sc->perm, token_rows[i].perm, name);
		T_EQ_INT(sc->v1, token_rows[i].v1, name);
		T_EQ_INT(sc->nparams, token_rows[i].nparams, name);
		T_EQ_STR(sc->text, token_rows[i].in, name);
		if (token_rows[i].nparams > 0) {
			T_EQ_STR(sc->params[0].name, token_rows[i].pname, name);
			T_EQ_STR(sc->params[0].value, token_rows[i].pvalue, name);
		}
		scope_set_free(set);
	}
}

/* Whole strings: refused or not, counts, canonical form. */
static const struct {
	const char	*name;
	const char	*in;
	int		 code;		/* expected error, SCOPE_E_OK = parsed */
	size_t		 n;
	size_t		 nunknown;
	const char	*format;
} string_rows[] = {
	{ "empty", "", SCOPE_E_OK, 0, 0, "" },
	{ "only spaces", "   ", SCOPE_E_OK, 0, 0, "" },
	{ "standalone v1", "launch/patient openid fhirUser offline_access patient/*.read",
	  SCOPE_E_OK, 5, 0, "launch/patient openid fhirUser offline_access patient/*.read" },
	{ "identity words", "openid fhirUser profile offline_access online_access",
	  SCOPE_E_OK, 5, 0, "openid fhirUser profile offline_access online_access" },
	{ "runs of spaces collapse", "  openid   fhirUser  ", SCOPE_E_OK, 2, 0, "openid fhirUser" },
	{ "duplicates dropped", "openid openid patient/*.rs patient/*.rs", SCOPE_E_OK, 2, 0,
	  "openid patient/*.rs" },
	{ "v1 and v2 kept as written", "patient/*.read patient/*.rs", SCOPE_E_OK, 2, 0,
	  "patient/*.read patient/*.rs" },
	{ "unknown collected", "openid foo admin/*.rs foo", SCOPE_E_OK, 1, 2, "openid" },
	{ "tab refused", "openid\tfhirUser", SCOPE_E_BAD_CHAR, 0, 0, NULL },
	{ "newline refused", "openid\nfhirUser", SCOPE_E_BAD_CHAR, 0, 0, NULL },
	{ "CR refused", "openid\r", SCOPE_E_BAD_CHAR, 0, 0, NULL },
	{ "quote refused", "open\"id", SCOPE_E_BAD_CHAR, 0, 0, NULL },
	{ "backslash refused", "open\\id", SCOPE_E_BAD_CHAR, 0, 0, NULL },
	{ "DEL refused", "open\x7fid", SCOPE_E_BAD_CHAR, 0, 0, NULL },
	{ "non-ASCII refused", "patient/\xc3\x89.rs", SCOPE_E_BAD_CHAR, 0, 0, NULL },
	{ "vertical tab refused", "openid\vx", SCOPE_E_BAD_CHAR, 0, 0, NULL },
};

static void
test_strings(void)
{
	char name[256], *f;
	struct scope_set *set;
	struct scope_err err;
	size_t i;

	for (i = 0; i < sizeof(string_rows) / sizeof(string_rows[0]); i++) {
		snprintf(name, sizeof(name), "string: %s", string_rows[i].name);
		set = scope_parse(string_rows[i].in, &err);
		T_EQ_INT(err.code, string_rows[i].code, name);
		if (string_rows[i].code != SCOPE_E_OK) {
			T_OK(set == NULL && err.why[0] != '\0', name);
			scope_set_free(set);
			continue;
		}
		if (!T_OK(set != NULL, name))
			continue;
		T_EQ_INT(set->n, string_rows[i].n, name);
		T_EQ_INT(set->nunknown, string_rows[i].nunknown, name);
		f = scope_set_format(set);
		T_EQ_STR(f, string_rows[i].format, name);
		free(f);
		scope_set_free(set);
	}
}

/* Limits and embedded NUL, which a table of C strings cannot carry. */
static void
test_limits(void)
{
	char *big;
	struct scope_set *set;
	struct scope_err err;
	size_t i, o;

	set = scope_parse_n("openid\0fhirUser", 15, &err);
	T_OK(set == NULL && err.code == SCOPE_E_BAD_CHAR, "embedded NUL refused");
	scope_set_free(set);

	big = malloc(SCOPE_MAX_LEN + 2);
	memset(big, 'a', SCOPE_MAX_LEN + 1);
	big[SCOPE_MAX_LEN + 1] = '\0';
	set = scope_parse(big, &err);
	T_OK(set == NULL && err.code == SCOPE_E_TOO_LONG, "overlong string refused");
	scope_set_free(set);
	big[SCOPE_MAX_LEN] = '\0';
	set = scope_parse(big, &err);
	T_OK(set != NULL && set->nunknown == 1, "string at the cap parsed");
	scope_set_free(set);

	/* SCOPE_MAX_TOKENS + 1 tokens, even duplicates, are too many. */
	for (i = 0, o = 0; i <= SCOPE_MAX_TOKENS; i++) {
		memcpy(big + o, "openid ", 7);
		o += 7;
	}
	big[o] = '\0';
	set = scope_parse(big, &err);
	T_OK(set == NULL && err.code == SCOPE_E_TOO_MANY, "too many tokens refused");
	scope_set_free(set);
	big[o - 8] = '\0';	/* one fewer */
	set = scope_parse(big, &err);
	T_OK(set != NULL && set->n == 1, "cap of tokens parsed, duplicates folded");
	scope_set_free(set);
	free(big);

	set = scope_parse(NULL, &err);
	T_OK(set != NULL && set->n == 0, "NULL string is an empty set");
	scope_set_free(set);
	scope_set_free(NULL);
	T_OK(scope_set_has(NULL, SCOPE_OPENID) == 0, "has on NULL set");
}

/* scope_set_allows / scope_set_access. */
static const struct {
	const char	*scopes;
	const char	*ctx;
	const char	*type;
	unsigned	 perm;
	int		 allows;
	int		 access;
} allow_rows[] = {
	{ "patient/*.read", "patient", "Observation", SCOPE_R, 1, SCOPE_ACCESS_ALL },
	{ "patient/*.read", "patient", "Observation", SCOPE_S, 1, SCOPE_ACCESS_ALL },
	{ "patient/*.read", "patient", "Observation", SCOPE_C, 0, SCOPE_ACCESS_NONE },
	{ "patient/*.read", "user", "Observation", SCOPE_R, 0, SCOPE_ACCESS_NONE },
	{ "patient/*.read", NULL, "Observation", SCOPE_R, 1, SCOPE_ACCESS_ALL },
	{ "patient/*.read", "admin", "Observation", SCOPE_R, 0, SCOPE_ACCESS_NONE },
	{ "user/Observation.write", "user", "Observation", SCOPE_U, 1, SCOPE_ACCESS_ALL },
	{ "user/Observation.write", "user", "Observation", SCOPE_R, 0, SCOPE_ACCESS_NONE },
	{ "user/Observation.write", "user", "Patient", SCOPE_U, 0, SCOPE_ACCESS_NONE },
	{ "system/*.cruds", "system", "Anything", SCOPE_CRUDS, 1, SCOPE_ACCESS_ALL },
	{ "patient/Observation.r patient/Observation.s", "patient", "Observation",
	  SCOPE_R | SCOPE_S, 1, SCOPE_ACCESS_NONE },	/* union; no single scope has both */
	{ "patient/Observation.r patient/Observation.s", "patient", "Observation",
	  SCOPE_S, 1, SCOPE_ACCESS_ALL },
	{ "patient/Observation.rs?category=" LAB, "patient", "Observation", SCOPE_S, 1,
	  SCOPE_ACCESS_FILTERED },
	{ "patient/Observation.rs?category=" LAB " patient/Observation.r", "patient",
	  "Observation", SCOPE_R, 1, SCOPE_ACCESS_ALL },
	{ "patient/Observation.rs?category=" LAB " patient/Observation.r", "patient",
	  "Observation", SCOPE_S, 1, SCOPE_ACCESS_FILTERED },
	{ "patient/Observation.rs?category=" LAB " patient/*.s", "patient",
	  "Observation", SCOPE_S, 1, SCOPE_ACCESS_ALL },
	{ "openid launch foo", "patient", "Observation", SCOPE_R, 0, SCOPE_ACCESS_NONE },
	{ "patient/Observation.rs", "patient", "observation", SCOPE_R, 0, SCOPE_ACCESS_NONE },
	{ "patient/Observation.rs", "patient", "Observation", 0, 0, SCOPE_ACCESS_NONE },
	{ "patient/Observation.rs", "patient", "Observation", 0x20, 0, SCOPE_ACCESS_NONE },
	{ "patient/Observation.rs", "patient", "*", SCOPE_R, 0, SCOPE_ACCESS_NONE },
	{ "patient/*.rs", "patient", "*", SCOPE_R, 1, SCOPE_ACCESS_ALL },
};

static void
test_allows(void)
{
	char name[256];
	struct scope_set *set;
	size_t i, pos, n;

	for (i = 0; i < sizeof(allow_rows) / sizeof(allow_rows[0]); i++) {
		snprintf(name, sizeof(name), "allows [%s] %s %s %#x", allow_rows[i].scopes,
		    allow_rows[i].ctx ? allow_rows[i].ctx : "any", allow_rows[i].type,
		    allow_rows[i].perm);
		set = scope_parse(allow_rows[i].scopes, NULL);
		T_EQ_INT(scope_set_allows(set, allow_rows[i].ctx, allow_rows[i].type,
		    allow_rows[i].perm), allow_rows[i].allows, name);
		T_EQ_INT(scope_set_access(set, allow_rows[i].ctx, allow_rows[i].type,
		    allow_rows[i].perm), allow_rows[i].access, name);
		scope_set_free(set);
	}

	/* The iterator hands the gateway the constraints to apply. */
	set = scope_parse("patient/Observation.rs?category=" LAB
	    " patient/Observation.rs?category=vital-signs patient/Condition.rs openid", NULL);
	pos = 0;
	n = 0;
	while (scope_set_next_match(set, &pos, "patient", "Observation", SCOPE_S) != NULL)
		n++;
	T_EQ_INT(n, 2, "iterator yields both constrained Observation scopes");
	pos = 0;
	T_EQ_STR(scope_set_next_match(set, &pos, "patient", "Observation", SCOPE_S)->params[0].value,
	    LAB, "first constraint value decoded");
	pos = 0;
	T_OK(scope_set_next_match(set, &pos, "user", "Observation", SCOPE_S) == NULL,
	    "iterator: other context yields nothing");
	scope_set_free(set);
}

/* scope_set_intersect: requested covered by allowed. */
static const struct {
	const char	*requested;
	const char	*allowed;
	const char	*granted;
} cover_rows[] = {
	{ "system/Observation.rs", "system/*.rs", "system/Observation.rs" },
	{ "system/Observation.rs", "system/*.read", "system/Observation.rs" },
	{ "system/Observation.read", "system/*.rs", "system/Observation.read" },
	{ "system/*.cruds", "system/*.rs", "" },
	{ "system/*.rs", "system/Observation.rs", "" },
	{ "system/Observation.rs", "user/*.cruds", "" },
	{ "patient/Observation.rs", "user/*.cruds", "" },
	{ "system/Observation.rs", "system/Observation.r system/Observation.s",
	  "system/Observation.rs" },
	{ "patient/Observation.rs?category=" LAB, "patient/Observation.rs",
	  "patient/Observation.rs?category=" LAB },
	{ "patient/Observation.rs?category=" LAB, "patient/*.read",
	  "patient/Observation.rs?category=" LAB },
	{ "patient/Observation.rs", "patient/Observation.rs?category=" LAB, "" },
	{ "patient/Observation.rs?category=a&code=b", "patient/Observation.rs?category=a",
	  "patient/Observation.rs?category=a&code=b" },
	{ "patient/Observation.rs?category=b", "patient/Observation.rs?category=a", "" },
	{ "patient/Observation.rs?category=a", "patient/Observation.r?category=a patient/Observation.s",
	  "patient/Observation.rs?category=a" },
	{ "patient/*.write", "patient/*.cud", "patient/*.write" },
	{ "patient/*.*", "patient/*.read", "" },
	{ "openid fhirUser launch/patient offline_access", "openid launch/patient",
	  "openid launch/patient" },
	{ "launch/encounter launch/location", "launch/encounter", "launch/encounter" },
	{ "launch/patient?role=x", "launch/patient", "launch/patient?role=x" },
	{ "launch/patient", "launch/patient?role=x", "" },
	{ "openid foo", "openid foo", "openid" },
	{ "", "system/*.cruds", "" },
	{ "online_access", "offline_access", "" },
};

static void
test_intersect(void)
{
	char name[512], *f;
	struct scope_set *req, *al, *got;
	size_t i;

	for (i = 0; i < sizeof(cover_rows) / sizeof(cover_rows[0]); i++) {
		snprintf(name, sizeof(name), "intersect [%s] with [%s]",
		    cover_rows[i].requested, cover_rows[i].allowed);
		req = scope_parse(cover_rows[i].requested, NULL);
		al = scope_parse(cover_rows[i].allowed, NULL);
		got = scope_set_intersect(req, al);
		f = scope_set_format(got);
		T_EQ_STR(f, cover_rows[i].granted, name);
		free(f);
		scope_set_free(req);
		scope_set_free(al);
		scope_set_free(got);
	}
}

static void
test_has(void)
{
	struct scope_set *set;

	set = scope_parse("launch/patient openid patient/*.rs", NULL);
	T_OK(scope_set_has(set, SCOPE_LAUNCH_PATIENT), "has launch/patient");
	T_OK(scope_set_has(set, SCOPE_OPENID), "has openid");
	T_OK(scope_set_has(set, SCOPE_RESOURCE), "has a resource scope");
	T_OK(!scope_set_has(set, SCOPE_LAUNCH), "launch/patient is not launch");
	T_OK(!scope_set_has(set, SCOPE_OFFLINE), "no offline_access");
	scope_set_free(set);
}

static const struct {
	const char	*in;
	const char	*want;
} describe_rows[] = {
	{ "patient/Observation.rs", "Read and search your observation (lab results, vital signs and other measurements) records" },
	{ "patient/*.read", "Read and search all your records" },
	{ "user/*.write", "Create, update and delete all records you can access" },
	{ "user/Encounter.rs", "Read and search visit (encounter) records you can access" },
	{ "system/*.cruds", "Read, search, create, update and delete all records on this server, with no user present" },
	{ "patient/QuestionnaireResponse.c", "Create your questionnaire answer records" },
	{ "patient/SupplyDelivery.r", "Read your supply delivery records" },
	{ "patient/Observation.rs?category=" LAB,
	  "Read and search your observation (lab results, vital signs and other measurements) records (only where category is laboratory)" },
	{ "openid", "Know who you are (your identity)" },
	{ "fhirUser", "Know which record describes you (your FHIR user)" },
	{ "offline_access", "Keep access when you are offline (until you revoke it)" },
	{ "online_access", "Keep access while you are signed in" },
	{ "launch", "Know which patient is open in the EHR" },
	{ "launch/patient", "Pick a patient (know which patient you chose)" },
	{ "launch/encounter", "Know which visit (encounter) is open" },
};

static void
test_describe(void)
{
	char buf[256], tiny[8], name[256];
	struct scope_set *set;
	size_t i;

	for (i = 0; i < sizeof(describe_rows) / sizeof(describe_rows[0]); i++) {
		snprintf(name, sizeof(name), "describe %s", describe_rows[i].in);
		set = scope_parse(describe_rows[i].in, NULL);
		if (T_OK(set != NULL && set->n == 1, name))
			T_EQ_STR(scope_describe(&set->v[0], buf, sizeof(buf)),
			    describe_rows[i].want, name);
		scope_set_free(set);
	}
	set = scope_parse("system/*.cruds", NULL);
	T_EQ_STR(scope_describe(&set->v[0], tiny, sizeof(tiny)), "Read, s",
	    "describe truncates into a small buffer");
	scope_set_free(set);
}

int
main(void)
{
	log_set_level(LOGL_ERROR);
	test_tokens();
	test_strings();
	test_limits();
	test_allows();
	test_intersect();
	test_has();
	test_describe();
	return t_done();
}
