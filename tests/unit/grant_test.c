/*
 * grant_test: the database-free parts of the grant handlers: the table
 * of grant types, the parameters that may appear only once, the PKCE
 * check (RFC 7636 §4.6, SMART 2.2 §5.3, RFC 9700 §2.1.1) and refresh
 * scope narrowing (RFC 6749 §6: narrow, never widen).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "grant.h"
#include "log.h"
#include "t.h"

static void
test_lookup(void)
{
	static const struct {
		const char *name;
		int found;
	} rows[] = {
		{ "authorization_code", 1 },
		{ "refresh_token", 1 },
		{ "client_credentials", 1 },
		{ "password", 0 },
		{ "implicit", 0 },
		{ "", 0 },
		{ "Authorization_code", 0 },
		{ "authorization_code ", 0 },
		{ "refresh_token\n", 0 },
		{ "urn:ietf:params:oauth:grant-type:jwt-bearer", 0 },
	};
	const struct grant_type *gt;
	char name[96];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		gt = grant_type_lookup(rows[i].name);
		snprintf(name, sizeof(name), "grant_type \"%s\" %s", rows[i].name,
		    rows[i].found ? "served" : "unsupported");
		T_OK((gt != NULL) == rows[i].found &&
		    (gt == NULL || (strcmp(gt->name, rows[i].name) == 0 && gt->run != NULL &&
		    gt->client_allowed != NULL)), name);
	}
	T_OK(grant_type_lookup(NULL) == NULL, "NULL grant_type");
	for (i = 0; grant_type_names[i] != NULL; i++)
		T_OK(grant_type_lookup(grant_type_names[i]) != NULL, "every listed name is served");
}

static void
test_single_params(void)
{
	static const char *const must[] = {
		"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "scope",
		"client_id", "client_secret", "client_assertion", "client_assertion_type", NULL
	};
	size_t i, j;
	int found;

	for (i = 0; must[i] != NULL; i++) {
		for (found = 0, j = 0; grant_single_params[j] != NULL; j++)
			found |= strcmp(grant_single_params[j], must[i]) == 0;
		T_OK(found, must[i]);
	}
}

static void
test_pkce(void)
{
	const char *v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";	/* RFC 7636 App. B */
	const char *c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
	char long_ok[129], too_long[130];
	const struct {
		const char *challenge, *method, *verifier;
		int ok;
		const char *name;
	} rows[] = {
		{ c, "S256", v, 1, "RFC 7636 appendix B pair" },
		{ c, "S256", NULL, 0, "verifier missing" },
		{ c, "S256", "", 0, "verifier empty" },
		{ c, "S256", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK", 0, "verifier wrong (one letter)" },
		{ c, "S256", c, 0, "verifier equal to the challenge (plain downgrade)" },
		{ c, "plain", c, 0, "plain method refused" },
		{ c, "plain", v, 0, "plain method refused whatever the verifier" },
		{ c, NULL, v, 0, "no method means plain: refused" },
		{ c, "s256", v, 0, "method compared exactly" },
		{ c, "S256", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX", 0, "42-character verifier" },
		{ c, "S256", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk ", 0, "trailing space" },
		{ NULL, NULL, NULL, 1, "no challenge, no verifier" },
		{ NULL, NULL, "", 1, "no challenge, empty verifier" },
		{ NULL, NULL, v, 0, "verifier without a challenge (RFC 9700 downgrade)" },
		{ "", NULL, v, 0, "verifier with an empty stored challenge" },
	};
	const char *why;
	size_t i;
	char *ch;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		why = grant_pkce_check(rows[i].challenge, rows[i].method, rows[i].verifier);
		T_OK((why == NULL) == rows[i].ok, rows[i].name);
		if (why != NULL && rows[i].verifier != NULL && *rows[i].verifier != '\0')
			T_OK(strstr(why, rows[i].verifier) == NULL, "description never holds the verifier");
	}

	/* §4.1: 43..128 characters of the unreserved set. */
	memset(long_ok, 'a', 128);
	long_ok[128] = '\0';
	memset(too_long, 'a', 129);
	too_long[129] = '\0';
	{
		unsigned char d[32];

		crypto_sha256(long_ok, 128, d);
		ch = b64url_encode(d, 32);
		T_OK(grant_pkce_check(ch, "S256", long_ok) == NULL, "128-character verifier");
		free(ch);
		crypto_sha256(too_long, 129, d);
		ch = b64url_encode(d, 32);
		T_OK(grant_pkce_check(ch, "S256", too_long) != NULL, "129-character verifier refused");
		free(ch);
	}
}

static void
test_narrow(void)
{
	const char *orig = "launch/patient openid fhirUser offline_access patient/*.rs";
	const struct {
		const char *original, *requested, *want;
		enum oauth_error e;
		const char *name;
	} rows[] = {
		{ orig, NULL, orig, OAUTH_OK, "no scope: the original grant" },
		{ orig, "", orig, OAUTH_OK, "empty scope: as if omitted" },
		{ orig, "   ", orig, OAUTH_OK, "only spaces: as if omitted" },
		{ orig, orig, orig, OAUTH_OK, "the whole grant again (Inferno refresh with scopes)" },
		{ orig, "patient/*.rs", "patient/*.rs", OAUTH_OK, "a subset" },
		{ orig, "patient/Observation.rs openid", "patient/Observation.rs openid", OAUTH_OK,
		  "one type out of the wildcard" },
		{ orig, "patient/Observation.r", "patient/Observation.r", OAUTH_OK, "fewer permissions" },
		{ orig, "patient/Observation.rs?category=laboratory",
		  "patient/Observation.rs?category=laboratory", OAUTH_OK, "a query constraint narrows" },
		{ orig, "openid  patient/*.rs", "openid patient/*.rs", OAUTH_OK, "runs of spaces" },
		{ "patient/*.read", "patient/Observation.rs", "patient/Observation.rs", OAUTH_OK,
		  "v2 narrowing a v1 grant" },
		{ "patient/*.read", "patient/*.read", "patient/*.read", OAUTH_OK, "v1 kept as v1" },
		{ orig, "patient/*.cruds", NULL, OAUTH_INVALID_SCOPE, "more permissions" },
		{ orig, "patient/*.rs user/*.rs", NULL, OAUTH_INVALID_SCOPE, "another context" },
		{ orig, "system/*.rs", NULL, OAUTH_INVALID_SCOPE, "system scope" },
		{ orig, "online_access", NULL, OAUTH_INVALID_SCOPE, "online_access not granted" },
		{ orig, "launch", NULL, OAUTH_INVALID_SCOPE, "launch not granted" },
		{ orig, "launch/encounter", NULL, OAUTH_INVALID_SCOPE, "launch/encounter not granted" },
		{ orig, "profile", NULL, OAUTH_INVALID_SCOPE, "profile not granted" },
		{ orig, "openid made-up", NULL, OAUTH_INVALID_SCOPE, "unknown scope" },
		{ orig, "patient/*.rs\tuser/*.rs", NULL, OAUTH_INVALID_SCOPE, "tab refused" },
		{ orig, "openid\"", NULL, OAUTH_INVALID_SCOPE, "quote refused" },
		{ "patient/Observation.rs?category=laboratory", "patient/Observation.rs", NULL,
		  OAUTH_INVALID_SCOPE, "dropping a constraint widens" },
		{ "patient/Observation.rs", "patient/*.rs", NULL, OAUTH_INVALID_SCOPE,
		  "wildcard wider than one type" },
		{ "", "openid", NULL, OAUTH_INVALID_SCOPE, "nothing granted" },
	};
	const char *why;
	enum oauth_error e;
	char *out;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		e = grant_narrow_scope(rows[i].original, rows[i].requested, &out, &why);
		if (rows[i].e == OAUTH_OK)
			T_EQ_STR(out, rows[i].want, rows[i].name);
		else
			T_OK(e == rows[i].e && out == NULL && why != NULL, rows[i].name);
		free(out);
	}
}

/* client_credentials: system/ scopes only, within the registration. */
static void
test_backend_scope(void)
{
	static const struct {
		const char *registered, *requested, *want;
		enum oauth_error e;
		const char *name;
	} rows[] = {
		{ "system/*.rs", "system/*.rs", "system/*.rs", OAUTH_OK, "exactly the registration" },
		{ "system/*.rs", "system/Observation.rs", "system/Observation.rs", OAUTH_OK,
		  "one type under a wildcard" },
		{ "system/*.rs", "system/Observation.r system/Patient.s",
		  "system/Observation.r system/Patient.s", OAUTH_OK, "fewer permission letters" },
		{ "system/*.read", "system/Observation.rs", "system/Observation.rs", OAUTH_OK,
		  "v2 request under a v1 registration" },
		{ "system/*.rs", "system/Observation.read", "system/Observation.read", OAUTH_OK,
		  "v1 request under a v2 registration" },
		{ "system/*.cruds", "system/*.*", "system/*.*", OAUTH_OK, "v1 star under cruds" },
		{ "system/Observation.rs", "system/Observation.rs?category=laboratory",
		  "system/Observation.rs?category=laboratory", OAUTH_OK, "constraint narrows" },
		{ "system/*.rs", "  system/*.rs   ", "system/*.rs", OAUTH_OK, "odd spaces" },
		{ "system/*.rs smartauth/introspect", "system/*.rs smartauth/introspect",
		  "system/*.rs smartauth/introspect", OAUTH_OK, "introspection scope when registered" },
		{ "smartauth/introspect", "smartauth/introspect", "smartauth/introspect", OAUTH_OK,
		  "introspection scope alone" },
		{ "system/*.rs", "smartauth/introspect", NULL, OAUTH_INVALID_SCOPE,
		  "introspection scope not registered" },
		{ "system/*.rs", "system/*.cruds", NULL, OAUTH_INVALID_SCOPE, "more letters" },
		{ "system/*.rs", "system/*.write", NULL, OAUTH_INVALID_SCOPE, "v1 write under rs" },
		{ "system/Observation.rs", "system/*.rs", NULL, OAUTH_INVALID_SCOPE,
		  "wildcard wider than one type" },
		{ "system/Observation.rs?category=laboratory", "system/Observation.rs", NULL,
		  OAUTH_INVALID_SCOPE, "dropping a constraint widens" },
		{ "system/*.rs", "patient/*.rs", NULL, OAUTH_INVALID_SCOPE, "patient scope" },
		{ "system/*.rs", "user/*.rs", NULL, OAUTH_INVALID_SCOPE, "user scope" },
		{ "system/*.rs", "system/*.rs openid", NULL, OAUTH_INVALID_SCOPE, "openid" },
		{ "system/*.rs", "system/*.rs offline_access", NULL, OAUTH_INVALID_SCOPE,
		  "offline_access (no refresh tokens)" },
		{ "system/*.rs", "launch", NULL, OAUTH_INVALID_SCOPE, "launch" },
		{ "system/*.rs", "system/*.rs bogus", NULL, OAUTH_INVALID_SCOPE, "unknown token" },
		{ "system/*.rs", "system/*.xyz", NULL, OAUTH_INVALID_SCOPE, "malformed letters" },
		{ "system/*.rs", "", NULL, OAUTH_INVALID_SCOPE, "empty scope" },
		{ "system/*.rs", "   ", NULL, OAUTH_INVALID_SCOPE, "blank scope" },
		{ "system/*.rs", NULL, NULL, OAUTH_INVALID_SCOPE, "missing scope" },
		{ NULL, "system/*.rs", NULL, OAUTH_INVALID_SCOPE, "nothing registered" },
		{ "", "system/*.rs", NULL, OAUTH_INVALID_SCOPE, "empty registration" },
		{ "system/*.rs", "system/*.rs\tsystem/x.rs", NULL, OAUTH_INVALID_SCOPE, "tab" },
		{ "system/*.rs", "system/*.rs\"", NULL, OAUTH_INVALID_SCOPE, "quote" },
		{ "system/*.rs smartauth/introspectx", "smartauth/introspect", NULL,
		  OAUTH_INVALID_SCOPE, "introspection scope prefix trick" },
	};
	const char *why;
	enum oauth_error e;
	char *out;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		e = grant_backend_scope(rows[i].registered, rows[i].requested, &out, &why);
		if (rows[i].e == OAUTH_OK)
			T_EQ_STR(out, rows[i].want, rows[i].name);
		else
			T_OK(e == rows[i].e && out == NULL && why != NULL, rows[i].name);
		free(out);
	}
}

static void
test_backend_lifetime(void)
{
	struct config cfg;
	struct client c;

	memset(&cfg, 0, sizeof(cfg));
	memset(&c, 0, sizeof(c));
	cfg.backend_token_lifetime = 300;
	T_EQ_INT(grant_backend_lifetime(&cfg, &c), 300, "default: backend_token_lifetime");
	c.resource = cJSON_Parse("{\"auth\": {\"client_credentials\": "
	    "{\"access_token_expiration\": 120}}}");
	T_EQ_INT(grant_backend_lifetime(&cfg, &c), 120, "per-client setting");
	cJSON_Delete(c.resource);
	c.resource = cJSON_Parse("{\"auth\": {\"client_credentials\": "
	    "{\"access_token_expiration\": 999999}}}");
	T_EQ_INT(grant_backend_lifetime(&cfg, &c), GRANT_BACKEND_MAX_LIFETIME, "capped");
	cJSON_Delete(c.resource);
	c.resource = cJSON_Parse("{\"auth\": {\"authorization_code\": "
	    "{\"access_token_expiration\": 120}}}");
	T_EQ_INT(grant_backend_lifetime(&cfg, &c), 300, "the code flow's setting does not apply");
	cJSON_Delete(c.resource);
}

int
main(void)
{
	log_set_level(LOGL_ERROR);
	test_lookup();
	test_single_params();
	test_pkce();
	test_narrow();
	test_backend_scope();
	test_backend_lifetime();
	return t_done();
}
