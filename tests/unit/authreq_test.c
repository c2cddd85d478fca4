/*
 * authreq_test: the authorization request rules, table by table, with
 * adversarial rows (redirect and aud tricks, repeated parameters, PKCE
 * downgrades, overlong values, odd prompt values, hostile origins).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authreq.h"
#include "form.h"
#include "log.h"
#include "scope.h"
#include "t.h"

#define BASE "https://ehr.example/fhir"
#define CH "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
#define OKQ "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp%2Fcb" \
	"&state=xyz&aud=https%3A%2F%2Fehr.example%2Ffhir&code_challenge=" CH \
	"&code_challenge_method=S256&scope=openid+launch%2Fpatient"

static int
parse(struct form *f, const char *q)
{
	memset(f, 0, sizeof(*f));
	return form_parse(f, q, strlen(q)) == FORM_OK ? 0 : -1;
}

static void
test_read_client(void)
{
	static const struct {
		const char *q;
		int ok;
		const char *why;
	} rows[] = {
		{ "client_id=a&redirect_uri=https%3A%2F%2Fapp%2Fcb", 1, NULL },
		{ "redirect_uri=https%3A%2F%2Fapp%2Fcb", 0, "client_id is required" },
		{ "client_id=&redirect_uri=x", 0, "client_id is required" },
		{ "client_id=a&client_id=b&redirect_uri=x", 0, "client_id is given more than once" },
		{ "client_id=a&client_id=a&redirect_uri=x", 0, "client_id is given more than once" },
		{ "client_id=a", 0, "redirect_uri is required" },
		{ "client_id=a&redirect_uri=", 0, "redirect_uri is required" },
		{ "client_id=a&redirect_uri=x&redirect_uri=y", 0, "redirect_uri is given more than once" },
		{ "client_id=a&redirect_uri=x&redirect_uri=x", 0, "redirect_uri is given more than once" },
	};
	struct authreq a;
	struct authreq_error e;
	struct form f;
	char name[128];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "read_client row %zu", i);
		if (parse(&f, rows[i].q) == -1) {
			T_OK(0, name);
			continue;
		}
		T_EQ_INT(authreq_read_client(&f, &a, &e) == 0, rows[i].ok, name);
		if (!rows[i].ok)
			T_EQ_STR(e.description, rows[i].why, name);
		form_clear(&f);
	}
	/* an overlong client id is simply unknown */
	{
		char q[600];

		snprintf(q, sizeof(q), "client_id=%0300d&redirect_uri=x", 7);
		parse(&f, q);
		T_EQ_INT(authreq_read_client(&f, &a, &e), -1, "overlong client_id refused");
		form_clear(&f);
	}
}

static void
test_validate(void)
{
	static const struct {
		const char *extra;	/* appended to OKQ, or a whole query when it starts with '!' */
		const char *error;	/* NULL: valid */
		const char *state;	/* state kept for the redirect */
	} rows[] = {
		{ "", NULL, "xyz" },
		{ "&nonce=n-1&prompt=login+consent&max_age=0&login_hint=alice", NULL, "xyz" },
		{ "&launch=abc-DEF_123.~", NULL, "xyz" },
		{ "&response_mode=query", NULL, "xyz" },
		{ "&scope=x", "invalid_request", "xyz" },			/* repeated scope */
		{ "&state=other", "invalid_request", NULL },			/* repeated state */
		{ "&aud=" BASE, "invalid_request", "xyz" },			/* repeated aud */
		{ "&code_challenge=" CH, "invalid_request", "xyz" },
		{ "&nonce=a&nonce=a", "invalid_request", "xyz" },
		{ "&launch=a&launch=b", "invalid_request", "xyz" },
		{ "!client_id=app&redirect_uri=x&state=s", "invalid_request", "s" },	/* no response_type */
		{ "!response_type=token&state=s", "unsupported_response_type", "s" },
		{ "!response_type=code+id_token&state=s", "unsupported_response_type", "s" },
		{ "!response_type=CODE&state=s", "unsupported_response_type", "s" },
		{ "!response_type=code", "invalid_request", NULL },		/* no state */
		{ "!response_type=code&state=", "invalid_request", NULL },
		{ "!response_type=code&state=s&scope=openid&code_challenge=" CH
		    "&code_challenge_method=S256", "invalid_request", "s" },	/* no aud */
		{ "!response_type=code&state=s&aud=https%3A%2F%2Fevil.example%2Ffhir", "invalid_request", "s" },
		{ "!response_type=code&state=s&aud=https%3A%2F%2Fehr.example%2Ffhir%2F%2F", "invalid_request", "s" },
		{ "!response_type=code&state=s&aud=https%3A%2F%2Fehr.example%2Ffhi", "invalid_request", "s" },
		{ "!response_type=code&state=s&aud=https%3A%2F%2FEHR.example%2Ffhir", "invalid_request", "s" },
		{ "!response_type=code&state=s&aud=https%3A%2F%2Fehr.example%2Ffhir%3F", "invalid_request", "s" },
		{ "!response_type=code&state=s&aud=https%3A%2F%2Fehr.example%2Ffhir%2Fx", "invalid_request", "s" },
		{ "!response_type=code&state=s&aud=https%3A%2F%2Fehr.example%2Ffhir.evil.example", "invalid_request", "s" },
		/* PKCE: missing, plain, missing method, bad syntax */
		{ "!response_type=code&state=s&aud=" BASE "&scope=openid", "invalid_request", "s" },
		{ "!response_type=code&state=s&aud=" BASE "&scope=openid&code_challenge=" CH,
		    "invalid_request", "s" },
		{ "!response_type=code&state=s&aud=" BASE "&scope=openid&code_challenge=" CH
		    "&code_challenge_method=plain", "invalid_request", "s" },
		{ "!response_type=code&state=s&aud=" BASE "&scope=openid&code_challenge=" CH
		    "&code_challenge_method=s256", "invalid_request", "s" },
		{ "!response_type=code&state=s&aud=" BASE "&scope=openid&code_challenge=short"
		    "&code_challenge_method=S256", "invalid_request", "s" },
		{ "!response_type=code&state=s&aud=" BASE "&scope=openid&code_challenge="
		    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM&code_challenge_method=S256",
		    "invalid_request", "s" },
		{ "!response_type=code&state=s&aud=" BASE "&scope=openid&code_challenge="
		    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM%3D&code_challenge_method=S256",
		    "invalid_request", "s" },
		/* scope */
		{ "!response_type=code&state=s&aud=" BASE "&code_challenge=" CH
		    "&code_challenge_method=S256", "invalid_scope", "s" },
		{ "!response_type=code&state=s&aud=" BASE "&code_challenge=" CH
		    "&code_challenge_method=S256&scope=a%22b", "invalid_scope", "s" },
		{ "!response_type=code&state=s&aud=" BASE "&code_challenge=" CH
		    "&code_challenge_method=S256&scope=a%09b", "invalid_scope", "s" },
		/* the rest */
		{ "&launch=has%20space", "invalid_request", "xyz" },
		{ "&launch=%3Cscript%3E", "invalid_request", "xyz" },
		{ "&prompt=none+login", "invalid_request", "xyz" },
		{ "&prompt=select_account", "invalid_request", "xyz" },
		{ "&prompt=NONE", "invalid_request", "xyz" },
		{ "&max_age=-1", "invalid_request", "xyz" },
		{ "&max_age=1e3", "invalid_request", "xyz" },
		{ "&max_age=99999999999", "invalid_request", "xyz" },
		{ "&response_mode=fragment", "invalid_request", "xyz" },
		{ "&response_mode=form_post", "invalid_request", "xyz" },
		{ "&request=eyJhbGciOiJub25lIn0.e30.", "request_not_supported", "xyz" },
		{ "&request_uri=https%3A%2F%2Fevil%2Fr", "request_uri_not_supported", "xyz" },
	};
	struct authreq a;
	struct authreq_error e;
	struct form f;
	char q[2048], name[160];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].extra[0] == '!')
			snprintf(q, sizeof(q), "%s", rows[i].extra + 1);
		else
			snprintf(q, sizeof(q), "%s%s", OKQ, rows[i].extra);
		snprintf(name, sizeof(name), "validate row %zu (%s)", i, rows[i].error ? rows[i].error : "ok");
		if (parse(&f, q) == -1) {
			T_OK(0, name);
			continue;
		}
		memset(&a, 0, sizeof(a));
		a.max_age = -1;
		rc = authreq_validate(&f, BASE, &a, &e);
		if (rows[i].error == NULL)
			T_EQ_INT(rc, 0, name);
		else
			T_EQ_STR(rc == -1 ? e.name : "(accepted)", rows[i].error, name);
		T_EQ_STR(a.state, rows[i].state, "state kept for the redirect");
		form_clear(&f);
	}

	/* valid: the fields are filled */
	snprintf(q, sizeof(q), "%s&nonce=n1&prompt=login&max_age=30&launch=L1", OKQ);
	parse(&f, q);
	memset(&a, 0, sizeof(a));
	T_EQ_INT(authreq_validate(&f, BASE, &a, &e), 0, "full request valid");
	T_EQ_STR(a.nonce, "n1", "nonce kept");
	T_EQ_STR(a.launch, "L1", "launch kept");
	T_EQ_INT(a.prompt, AUTHREQ_PROMPT_LOGIN, "prompt=login");
	T_EQ_INT(a.max_age, 30, "max_age");
	T_EQ_STR(a.code_challenge_method, "S256", "method");
	form_clear(&f);

	/* state echoed verbatim, capped */
	{
		char *big = malloc(AUTHREQ_MAX_STATE + 200), *qq = malloc(AUTHREQ_MAX_STATE + 600);

		memset(big, 'A', AUTHREQ_MAX_STATE + 1);
		big[AUTHREQ_MAX_STATE + 1] = '\0';
		snprintf(qq, AUTHREQ_MAX_STATE + 600, "response_type=code&state=%s", big);
		parse(&f, qq);
		memset(&a, 0, sizeof(a));
		T_EQ_INT(authreq_validate(&f, BASE, &a, &e), -1, "overlong state refused");
		T_OK(a.state == NULL, "overlong state not echoed");
		form_clear(&f);
		big[AUTHREQ_MAX_STATE] = '\0';
		snprintf(qq, AUTHREQ_MAX_STATE + 600, "%s&state=%s", OKQ, big);
		/* OKQ already has state: replace it */
		snprintf(qq, AUTHREQ_MAX_STATE + 600, "response_type=code&client_id=app&state=%s"
		    "&aud=" BASE "&code_challenge=" CH "&code_challenge_method=S256&scope=openid", big);
		parse(&f, qq);
		memset(&a, 0, sizeof(a));
		T_EQ_INT(authreq_validate(&f, BASE, &a, &e), 0, "state of the maximum length accepted");
		T_EQ_INT(a.state != NULL ? (long long)strlen(a.state) : -1, AUTHREQ_MAX_STATE,
		    "long state kept whole");
		form_clear(&f);
		free(big);
		free(qq);
	}
	snprintf(q, sizeof(q), "response_type=code&client_id=app&state=%%22%%3E%%3Cscript%%3E+x%%26y"
	    "&aud=" BASE "&code_challenge=" CH "&code_challenge_method=S256&scope=openid");
	parse(&f, q);
	memset(&a, 0, sizeof(a));
	T_EQ_INT(authreq_validate(&f, BASE, &a, &e), 0, "hostile state accepted as data");
	T_EQ_STR(a.state, "\"><script> x&y", "state decoded once, kept verbatim");
	form_clear(&f);
}

static void
test_aud(void)
{
	static const struct {
		const char *aud, *base;
		int ok;
	} rows[] = {
		{ BASE, BASE, 1 },
		{ BASE "/", BASE, 1 },
		{ BASE "//", BASE, 0 },
		{ "https://ehr.example/fhir/", "https://ehr.example/fhir/", 1 },
		{ "https://ehr.example/fhir", "https://ehr.example/fhir/", 1 },
		{ "https://ehr.example/fhi", BASE, 0 },
		{ "https://ehr.example/fhirx", BASE, 0 },
		{ "https://ehr.example", BASE, 0 },
		{ "http://ehr.example/fhir", BASE, 0 },
		{ "https://EHR.EXAMPLE/fhir", BASE, 0 },
		{ "https://ehr.example/FHIR", BASE, 0 },
		{ "https://ehr.example/fhir?x", BASE, 0 },
		{ "https://ehr.example/fhir#", BASE, 0 },
		{ " https://ehr.example/fhir", BASE, 0 },
		{ "https://ehr.example/fhir ", BASE, 0 },
		{ "https://ehr.example.evil/fhir", BASE, 0 },
		{ "https://ehr.example@evil/fhir", BASE, 0 },
		{ "", BASE, 0 },
		{ "/", "", 0 },
	};
	size_t i;
	char name[200];

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "aud \"%s\" vs \"%s\"", rows[i].aud, rows[i].base);
		T_EQ_INT(authreq_aud_ok(rows[i].aud, rows[i].base), rows[i].ok, name);
	}
	T_EQ_INT(authreq_aud_ok(NULL, BASE), 0, "aud NULL");
}

static void
test_challenge_and_tokens(void)
{
	char s[200];

	T_EQ_INT(authreq_challenge_ok(CH), 1, "43-char challenge");
	memset(s, 'a', 128);
	s[128] = '\0';
	T_EQ_INT(authreq_challenge_ok(s), 1, "128-char challenge");
	s[128] = 'a';
	s[129] = '\0';
	T_EQ_INT(authreq_challenge_ok(s), 0, "129-char challenge");
	s[42] = '\0';
	T_EQ_INT(authreq_challenge_ok(s), 0, "42-char challenge");
	T_EQ_INT(authreq_challenge_ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw.cM"), 0, "dot not base64url");
	T_EQ_INT(authreq_challenge_ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw cM"), 0, "space");
	T_EQ_INT(authreq_challenge_ok(""), 0, "empty");
	T_EQ_INT(authreq_challenge_ok(NULL), 0, "NULL");

	T_EQ_INT(authreq_token_syntax_ok("abc-_.~9", 64), 1, "token chars");
	T_EQ_INT(authreq_token_syntax_ok("", 64), 0, "empty token");
	T_EQ_INT(authreq_token_syntax_ok("a b", 64), 0, "space in token");
	T_EQ_INT(authreq_token_syntax_ok("a;b", 64), 0, "semicolon in token");
	T_EQ_INT(authreq_token_syntax_ok("a\"b", 64), 0, "quote in token");
	T_EQ_INT(authreq_token_syntax_ok("\xc3\xa9", 64), 0, "non-ASCII token");
	T_EQ_INT(authreq_token_syntax_ok("abcd", 3), 0, "over the maximum");
	T_EQ_INT(authreq_token_syntax_ok("abc", 3), 1, "at the maximum");
}

static void
test_prompt(void)
{
	static const struct {
		const char *s;
		int ok;
		unsigned flags;
	} rows[] = {
		{ "none", 1, AUTHREQ_PROMPT_NONE },
		{ "login", 1, AUTHREQ_PROMPT_LOGIN },
		{ "consent", 1, AUTHREQ_PROMPT_CONSENT },
		{ "login consent", 1, AUTHREQ_PROMPT_LOGIN | AUTHREQ_PROMPT_CONSENT },
		{ " consent  login ", 1, AUTHREQ_PROMPT_LOGIN | AUTHREQ_PROMPT_CONSENT },
		{ "none none", 1, AUTHREQ_PROMPT_NONE },
		{ "none login", 0, 0 },
		{ "consent none", 0, 0 },
		{ "select_account", 0, 0 },
		{ "nonex", 0, 0 },
		{ "non", 0, 0 },
		{ "Login", 0, 0 },
		{ "login\tconsent", 0, 0 },
	};
	size_t i;
	unsigned fl;
	char name[100];

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "prompt \"%s\"", rows[i].s);
		T_EQ_INT(authreq_prompt_parse(rows[i].s, &fl) == 0, rows[i].ok, name);
		if (rows[i].ok)
			T_EQ_INT(fl, rows[i].flags, name);
	}
	T_EQ_INT(authreq_prompt_parse(NULL, &fl), 0, "no prompt");
	T_EQ_INT(fl, 0, "no prompt flags");
}

static void
test_redirect_url(void)
{
	static const struct {
		const char *uri;
		const char *want;
	} rows[] = {
		{ "https://app/cb", "https://app/cb?code=c%2F1&state=a%20b%26c%3D&iss=https%3A%2F%2Fehr%2Ffhir" },
		{ "https://app/cb?x=1", "https://app/cb?x=1&code=c%2F1&state=a%20b%26c%3D&iss=https%3A%2F%2Fehr%2Ffhir" },
		{ "https://app/cb?", "https://app/cb?code=c%2F1&state=a%20b%26c%3D&iss=https%3A%2F%2Fehr%2Ffhir" },
		{ "https://app/cb?x=1&", "https://app/cb?x=1&code=c%2F1&state=a%20b%26c%3D&iss=https%3A%2F%2Fehr%2Ffhir" },
		{ "https://app/cb#frag", "https://app/cb?code=c%2F1&state=a%20b%26c%3D&iss=https%3A%2F%2Fehr%2Ffhir" },
		{ "com.example.app:/cb", "com.example.app:/cb?code=c%2F1&state=a%20b%26c%3D&iss=https%3A%2F%2Fehr%2Ffhir" },
	};
	const char *kv[] = { "code", "c/1", "skipped", NULL, "state", "a b&c=", "iss", "https://ehr/fhir", NULL };
	const char *none[] = { NULL };
	char *u;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		u = authreq_redirect_url(rows[i].uri, kv);
		T_EQ_STR(u, rows[i].want, rows[i].uri);
		free(u);
	}
	u = authreq_redirect_url("https://app/cb", none);
	T_EQ_STR(u, "https://app/cb", "no parameters: unchanged");
	free(u);
	{
		const char *crlf[] = { "error", "x\r\nSet-Cookie: a=b", NULL };

		u = authreq_redirect_url("https://app/cb", crlf);
		T_OK(u != NULL && strpbrk(u, "\r\n ") == NULL, "CR/LF in a value is encoded");
		free(u);
	}
}

static void
test_origin(void)
{
	static const struct {
		const char *uri;
		const char *want;	/* NULL: refused */
	} rows[] = {
		{ "https://app.example/cb", "https://app.example" },
		{ "https://App.Example:8443/cb?x=1", "https://app.example:8443" },
		{ "http://127.0.0.1:8080/sample-app/index.html", "http://127.0.0.1:8080" },
		{ "https://[::1]:9/cb", "https://[::1]:9" },
		{ "HTTPS://app.example", "https://app.example" },
		{ "https://app.example?x", "https://app.example" },
		{ "com.example.app:/oauth", "com.example.app:" },
		{ "https://user:pw@app.example/cb", NULL },
		{ "https://app.example;script-src *", NULL },
		{ "https://app.example'/cb", NULL },
		{ "https:///cb", NULL },
		{ "https:app.example/cb", NULL },
		{ "//app.example/cb", NULL },
		{ "/cb", NULL },
		{ "", NULL },
		{ "1http://x/", NULL },
		{ "java script:x", NULL },
	};
	char out[300];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		rc = authreq_origin(rows[i].uri, out, sizeof(out));
		if (rows[i].want == NULL)
			T_EQ_INT(rc, -1, rows[i].uri);
		else
			T_EQ_STR(rc == 0 ? out : "(refused)", rows[i].want, rows[i].uri);
	}
	T_EQ_INT(authreq_origin("https://app.example/cb", out, 10), -1, "small buffer refused");
}

static char *
offered_of(const char *req, const char *client_scope, int may_refresh, int ehr, size_t *ndropped)
{
	struct scope_set *set = scope_parse(req, NULL);
	struct authreq_offer o;
	char *s = NULL;

	*ndropped = 99;
	if (set == NULL)
		return NULL;
	if (authreq_negotiate(set, client_scope, may_refresh, ehr, &o) == 0) {
		s = scope_set_format(o.offered);
		*ndropped = o.ndropped;
		authreq_offer_free(&o);
	}
	scope_set_free(set);
	return s;
}

static void
test_negotiate(void)
{
	static const struct {
		const char *req, *client;
		int refresh, ehr;
		const char *want;
		size_t dropped;
	} rows[] = {
		{ "openid fhirUser launch/patient patient/*.rs offline_access", NULL, 1, 0,
		    "openid fhirUser launch/patient patient/*.rs offline_access", 0 },
		{ "openid offline_access online_access", NULL, 0, 0, "openid", 2 },
		{ "launch openid", NULL, 1, 0, "openid", 1 },
		{ "launch openid", NULL, 1, 1, "launch openid", 0 },
		{ "system/*.rs patient/*.read", NULL, 1, 0, "patient/*.read", 1 },
		{ "bogus email patient/Observation.rs", NULL, 1, 0, "patient/Observation.rs", 2 },
		{ "patient/*.rs patient/Observation.rs openid", "patient/Observation.rs openid", 1, 0,
		    "patient/Observation.rs openid", 1 },
		{ "patient/Observation.rs?category=laboratory", "patient/Observation.rs", 1, 0,
		    "patient/Observation.rs?category=laboratory", 0 },
		{ "patient/Observation.rs", "patient/Observation.rs?category=laboratory", 1, 0, "", 1 },
		{ "patient/Observation.cruds", "patient/Observation.rs", 1, 0, "", 1 },
		{ "openid", "", 1, 0, "", 1 },
		{ "openid", "not\"valid", 1, 0, "", 1 },
		{ "user/*.read openid", "user/*.rs openid", 1, 0, "user/*.read openid", 0 },
	};
	size_t i, nd;
	char *got, name[200];

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		got = offered_of(rows[i].req, rows[i].client, rows[i].refresh, rows[i].ehr, &nd);
		snprintf(name, sizeof(name), "negotiate \"%s\" client \"%s\"", rows[i].req,
		    rows[i].client ? rows[i].client : "(any)");
		T_EQ_STR(got, rows[i].want, name);
		T_EQ_INT(nd, rows[i].dropped, "dropped count");
		free(got);
	}
}

static void
test_narrow_and_covers(void)
{
	struct scope_set *offered = scope_parse("openid fhirUser patient/*.rs offline_access", NULL);
	struct scope_set *n;
	struct form f;
	char *s;

	parse(&f, "request=r&scope=openid&scope=patient%2F*.rs&scope=user%2F*.cruds&scope=openid");
	n = authreq_narrow(offered, &f);
	s = scope_set_format(n);
	T_EQ_STR(s, "openid patient/*.rs", "narrowed to the ticked offered scopes, never more");
	free(s);
	scope_set_free(n);
	form_clear(&f);
	parse(&f, "request=r");
	n = authreq_narrow(offered, &f);
	T_EQ_INT(n != NULL ? (long long)n->n : -1, 0, "nothing ticked: empty grant");
	scope_set_free(n);
	form_clear(&f);

	T_EQ_INT(authreq_consent_covers(offered, "offline_access openid fhirUser patient/*.rs"), 1,
	    "remembered in another order covers");
	T_EQ_INT(authreq_consent_covers(offered, "openid fhirUser patient/*.cruds offline_access"), 1,
	    "a wider remembered scope covers");
	T_EQ_INT(authreq_consent_covers(offered, "openid fhirUser patient/*.r offline_access"), 0,
	    "a narrower remembered scope does not");
	T_EQ_INT(authreq_consent_covers(offered, "openid fhirUser patient/*.rs"), 0,
	    "a missing scope is not covered");
	T_EQ_INT(authreq_consent_covers(offered, ""), 0, "empty consent");
	T_EQ_INT(authreq_consent_covers(offered, NULL), 0, "no consent");

	T_EQ_INT(authreq_needs_patient(offered), 1, "patient/ scope needs a patient");
	scope_set_free(offered);
	offered = scope_parse("openid user/*.rs launch/encounter", NULL);
	T_EQ_INT(authreq_needs_patient(offered), 0, "user scopes need none");
	scope_set_free(offered);
	offered = scope_parse("launch/patient", NULL);
	T_EQ_INT(authreq_needs_patient(offered), 1, "launch/patient needs one");
	scope_set_free(offered);

	offered = scope_parse("online_access openid", NULL);
	T_EQ_INT(authreq_online_only(offered), 1, "online only");
	scope_set_free(offered);
	offered = scope_parse("online_access offline_access", NULL);
	T_EQ_INT(authreq_online_only(offered), 0, "offline wins");
	scope_set_free(offered);
	offered = scope_parse("openid", NULL);
	T_EQ_INT(authreq_online_only(offered), 0, "no refresh at all");
	scope_set_free(offered);
}

int
main(void)
{
	log_set_level(LOGL_ERROR);
	test_read_client();
	test_validate();
	test_aud();
	test_challenge_and_tokens();
	test_prompt();
	test_redirect_url();
	test_origin();
	test_negotiate();
	test_narrow_and_covers();
	return t_done();
}
