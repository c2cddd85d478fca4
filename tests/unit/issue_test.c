/*
 * issue_test: what the minted tokens and the token response say, built
 * from a launch context without a database: access token claims (RFC
 * 9068), id_token claims (OpenID Connect Core §2, SMART 2.2 §5.8), the
 * response members (RFC 6749 §5.1, SMART 2.2 §5.6) with their contract
 * types, the v1/v2 scope echo, the fhirUser URL rules, the scope-derived
 * switches, and signatures checked with the JWT verifier.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "client.h"
#include "config.h"
#include "crypto.h"
#include "issue.h"
#include "json.h"
#include "jwk.h"
#include "jwt.h"
#include "log.h"
#include "scope.h"
#include "t.h"

#define NOW	((time_t)1750000000)
#define BASE	"https://ehr.example.org/r4/fhir"

static struct config cfg;

static cJSON *
parse(const char *s)
{
	cJSON *v = json_parse_strict(s, strlen(s), NULL);

	if (v == NULL) {
		printf("# bad test JSON: %s\n", s);
		exit(2);
	}
	return v;
}

static const char *
str(const cJSON *o, const char *k)
{
	return json_get_str(o, k);
}

static long long
num(const cJSON *o, const char *k)
{
	long long v = -1;

	json_get_int(o, k, &v);
	return v;
}

static int
has(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k) != NULL;
}

static const char full_ctx[] =
    "{\"patient\": \"pt-1\", \"encounter\": \"enc-1\","
    " \"fhirContext\": [{\"reference\": \"DocumentReference/x\"}, \"Bad/string\", 3,"
    "                   {\"canonical\": \"http://x/Questionnaire/q|1\"}],"
    " \"need_patient_banner\": false, \"smart_style_url\": \"https://ehr.example.org/auth/style\","
    " \"intent\": \"reconcile\", \"fhirUser\": \"Patient/pt-1\", \"other\": \"x\"}";

static void
base_grant(struct issue_grant *g, const cJSON *ctx, const char *scope)
{
	memset(g, 0, sizeof(*g));
	g->client_id = "app-1";
	g->user_id = "alice";
	g->family_id = "6f1c1f5e-3b7d-4c55-9a57-5d1b8f2f1b11";
	g->scope = scope;
	g->launch_context = ctx;
	g->now = NOW;
	g->lifetime = 3600;
}

/* ---- fhirUser URLs ---------------------------------------------------- */

static void
test_fhir_user_url(void)
{
	static const struct {
		const char *ref, *want, *name;
	} rows[] = {
		{ "Patient/pt-1", BASE "/Patient/pt-1", "relative reference made absolute" },
		{ "Practitioner/pr.1-a", BASE "/Practitioner/pr.1-a", "id with dot and dash" },
		{ "https://other.example/fhir/Patient/9", "https://other.example/fhir/Patient/9",
		  "absolute https kept" },
		{ "http://127.0.0.1/fhir/Person/p", "http://127.0.0.1/fhir/Person/p", "absolute http kept" },
		{ "", NULL, "empty refused" },
		{ "Patient", NULL, "no id refused" },
		{ "Patient/", NULL, "empty id refused" },
		{ "/Patient/1", NULL, "leading slash refused" },
		{ "patient/1", NULL, "lowercase type refused" },
		{ "Patient/a b", NULL, "space in id refused" },
		{ "Patient/1/_history/2", NULL, "history suffix refused" },
		{ "Pat1ent/1", NULL, "digit in type refused" },
		{ "Patient/../../x", NULL, "dot segments and slashes refused" },
		{ "javascript:alert(1)", NULL, "script URL refused" },
		{ "https://x/\"a", NULL, "quote in absolute URL refused" },
		{ "Patient/0123456789012345678901234567890123456789012345678901234567890123",
		  BASE "/Patient/0123456789012345678901234567890123456789012345678901234567890123",
		  "64-character id" },
		{ "Patient/01234567890123456789012345678901234567890123456789012345678901234",
		  NULL, "65-character id refused" },
	};
	size_t i;
	char *u;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		u = issue_fhir_user_url(&cfg, rows[i].ref);
		T_EQ_STR(u, rows[i].want, rows[i].name);
		free(u);
	}
	T_OK(issue_fhir_user_url(&cfg, NULL) == NULL, "NULL reference");
}

/* ---- access token claims --------------------------------------------- */

static void
test_access_claims(void)
{
	cJSON *ctx = parse(full_ctx), *c;
	struct issue_grant g;

	base_grant(&g, ctx, "launch/patient patient/*.rs");
	g.auth_time = NOW - 50;
	c = issue_access_claims(&cfg, &g, "jti-1");
	T_OK(c != NULL, "access claims built");
	T_EQ_STR(str(c, "iss"), BASE, "iss is the FHIR base");
	T_EQ_STR(str(c, "aud"), BASE, "aud is the FHIR base");
	T_EQ_STR(str(c, "sub"), "alice", "sub is the user");
	T_EQ_STR(str(c, "client_id"), "app-1", "client_id");
	T_EQ_STR(str(c, "jti"), "jti-1", "jti");
	T_EQ_STR(str(c, "scope"), "launch/patient patient/*.rs", "scope as granted");
	T_EQ_INT(num(c, "iat"), NOW, "iat");
	T_EQ_INT(num(c, "exp"), NOW + 3600, "exp = iat + lifetime");
	T_EQ_INT(num(c, "auth_time"), NOW - 50, "auth_time");
	T_EQ_STR(str(c, "patient"), "pt-1", "patient from the launch context");
	T_EQ_STR(str(c, "encounter"), "enc-1", "encounter from the launch context");
	T_EQ_STR(str(c, "fhirUser"), BASE "/Patient/pt-1", "fhirUser absolute");
	T_OK(!has(c, "fhirContext") && !has(c, "intent") && !has(c, "other"),
	    "no other context members in the access token");
	T_OK(!has(c, "nonce"), "no nonce in the access token");
	cJSON_Delete(c);

	/* Backend token: no user, no context. */
	base_grant(&g, NULL, "system/*.rs");
	g.user_id = NULL;
	c = issue_access_claims(&cfg, &g, "jti-2");
	T_EQ_STR(str(c, "sub"), "app-1", "backend: sub is the client");
	T_OK(!has(c, "patient") && !has(c, "fhirUser") && !has(c, "auth_time"),
	    "backend: no patient, fhirUser or auth_time");
	cJSON_Delete(c);
	cJSON_Delete(ctx);

	/* Members of the wrong type are left out, never coerced. */
	ctx = parse("{\"patient\": 12, \"encounter\": null, \"fhirUser\": \"not a ref\"}");
	base_grant(&g, ctx, "");
	c = issue_access_claims(&cfg, &g, "jti-3");
	T_OK(c != NULL && !has(c, "patient") && !has(c, "encounter") && !has(c, "fhirUser"),
	    "non-string patient, null encounter and a malformed fhirUser are omitted");
	T_EQ_STR(str(c, "scope"), "", "empty scope stays a string");
	cJSON_Delete(c);
	cJSON_Delete(ctx);
}

/* ---- id_token claims -------------------------------------------------- */

static void
test_id_token_claims(void)
{
	cJSON *ctx = parse(full_ctx), *c;
	struct issue_grant g;

	base_grant(&g, ctx, "openid fhirUser");
	g.id_token = 1;
	g.fhir_user_claim = 1;
	g.auth_time = NOW - 10;
	g.nonce = "n-0S6_WzA2Mj";
	c = issue_id_token_claims(&cfg, &g);
	T_EQ_STR(str(c, "iss"), BASE, "id_token iss");
	T_EQ_STR(str(c, "sub"), "alice", "id_token sub");
	T_EQ_STR(str(c, "aud"), "app-1", "id_token aud is the client");
	T_EQ_INT(num(c, "exp"), NOW + 3600, "id_token exp");
	T_EQ_INT(num(c, "iat"), NOW, "id_token iat");
	T_EQ_INT(num(c, "auth_time"), NOW - 10, "id_token auth_time");
	T_EQ_STR(str(c, "nonce"), "n-0S6_WzA2Mj", "id_token nonce");
	T_EQ_STR(str(c, "fhirUser"), BASE "/Patient/pt-1", "id_token fhirUser absolute");
	T_OK(!has(c, "profile"), "no profile claim without the v1 profile scope");
	T_OK(!has(c, "patient") && !has(c, "scope") && !has(c, "client_id"),
	    "no access-token claims in the id_token");
	cJSON_Delete(c);

	g.nonce = NULL;
	g.auth_time = 0;
	g.fhir_user_claim = 0;
	c = issue_id_token_claims(&cfg, &g);
	T_OK(!has(c, "nonce") && !has(c, "auth_time") && !has(c, "fhirUser"),
	    "no nonce, auth_time or fhirUser when not given or not granted");
	cJSON_Delete(c);

	g.nonce = "";
	c = issue_id_token_claims(&cfg, &g);
	T_OK(!has(c, "nonce"), "an empty nonce is not echoed");
	cJSON_Delete(c);

	g.fhir_user_claim = 1;
	g.profile_claim = 1;
	c = issue_id_token_claims(&cfg, &g);
	T_EQ_STR(str(c, "profile"), BASE "/Patient/pt-1", "v1 profile claim");
	T_EQ_STR(str(c, "fhirUser"), BASE "/Patient/pt-1", "fhirUser with v1 profile");
	cJSON_Delete(c);

	g.user_id = NULL;
	T_OK(issue_id_token_claims(&cfg, &g) == NULL, "no id_token without a user");
	cJSON_Delete(ctx);
}

/* ---- switches from the granted scope --------------------------------- */

static void
test_grant_from_scope(void)
{
	static const struct {
		const char *scope;
		int may_refresh;
		int id, fu, prof, refresh, online;
	} rows[] = {
		{ "openid fhirUser offline_access patient/*.rs", 1, 1, 1, 0, 1, 0 },
		{ "openid profile offline_access patient/*.read", 1, 1, 1, 1, 1, 0 },
		{ "openid online_access", 1, 1, 0, 0, 1, 1 },
		{ "online_access offline_access", 1, 0, 0, 0, 1, 0 },
		{ "offline_access", 0, 0, 0, 0, 0, 0 },
		{ "online_access", 0, 0, 0, 0, 0, 1 },
		{ "patient/*.rs launch", 1, 0, 0, 0, 0, 0 },
		{ "fhirUser", 1, 0, 1, 0, 0, 0 },
		{ "", 1, 0, 0, 0, 0, 0 },
		{ "openid-ish offline-access", 1, 0, 0, 0, 0, 0 },
	};
	struct issue_grant g;
	struct scope_set *s;
	char name[160];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&g, 0, sizeof(g));
		s = scope_parse(rows[i].scope, NULL);
		issue_grant_from_scope(&g, s, rows[i].may_refresh);
		snprintf(name, sizeof(name), "switches for \"%s\" (may_refresh %d)",
		    rows[i].scope, rows[i].may_refresh);
		T_OK(s != NULL && g.id_token == rows[i].id && g.fhir_user_claim == rows[i].fu &&
		    g.profile_claim == rows[i].prof && g.refresh == rows[i].refresh &&
		    g.online_only == rows[i].online, name);
		scope_set_free(s);
	}
}

/* ---- the response ------------------------------------------------------ */

static void
test_response(void)
{
	cJSON *ctx = parse(full_ctx), *r, *fc;
	struct issue_tokens t = { 0 };
	struct issue_grant g;
	int b = -1;

	base_grant(&g, ctx, "launch openid fhirUser patient/*.rs");
	g.lifetime = 1800;
	t.access_token = (char *)(uintptr_t)"aaa.bbb.ccc";
	t.id_token = (char *)(uintptr_t)"ddd.eee.fff";
	t.refresh_token = (char *)(uintptr_t)"rrrr";
	r = issue_response(&cfg, &g, &t);
	T_EQ_STR(str(r, "access_token"), "aaa.bbb.ccc", "access_token");
	T_EQ_STR(str(r, "token_type"), "Bearer", "token_type Bearer");
	T_EQ_INT(num(r, "expires_in"), 1800, "expires_in is the lifetime");
	T_OK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r, "expires_in")), "expires_in is a number");
	T_EQ_STR(str(r, "scope"), "launch openid fhirUser patient/*.rs", "scope");
	T_EQ_STR(str(r, "refresh_token"), "rrrr", "refresh_token");
	T_EQ_STR(str(r, "id_token"), "ddd.eee.fff", "id_token");
	T_EQ_STR(str(r, "patient"), "pt-1", "patient (bare id)");
	T_EQ_STR(str(r, "encounter"), "enc-1", "encounter (bare id)");
	T_EQ_STR(str(r, "intent"), "reconcile", "intent");
	T_EQ_STR(str(r, "smart_style_url"), "https://ehr.example.org/auth/style", "smart_style_url");
	T_OK(json_get_bool(r, "need_patient_banner", &b) == 0 && b == 0, "need_patient_banner false");
	fc = cJSON_GetObjectItemCaseSensitive(r, "fhirContext");
	T_EQ_INT(cJSON_GetArraySize(fc), 2, "fhirContext keeps only its objects");
	T_EQ_STR(str(cJSON_GetArrayItem(fc, 0), "reference"), "DocumentReference/x", "fhirContext[0]");
	T_EQ_STR(str(cJSON_GetArrayItem(fc, 1), "canonical"), "http://x/Questionnaire/q|1",
	    "fhirContext[1] canonical");
	T_OK(!has(r, "fhirUser") && !has(r, "other"), "no fhirUser or unknown member in the response");
	T_OK(!has(r, "tenant"), "no tenant when not configured");
	cJSON_Delete(r);

	/* Nothing minted beyond the access token; tenant configured. */
	t.id_token = t.refresh_token = NULL;
	cfg.tenant = (char *)(uintptr_t)"org-42";
	r = issue_response(&cfg, &g, &t);
	T_OK(!has(r, "id_token") && !has(r, "refresh_token"), "no id_token or refresh_token when not minted");
	T_EQ_STR(str(r, "tenant"), "org-42", "tenant when configured");
	cfg.tenant = NULL;
	cJSON_Delete(r);
	cJSON_Delete(ctx);

	/* Wrong types in the stored context never reach the app. */
	ctx = parse("{\"patient\": [\"pt-1\"], \"need_patient_banner\": \"yes\","
	    " \"fhirContext\": {\"reference\": \"x\"}, \"intent\": 7}");
	base_grant(&g, ctx, "patient/*.rs");
	r = issue_response(&cfg, &g, &t);
	T_OK(r != NULL && !has(r, "patient") && !has(r, "need_patient_banner") &&
	    !has(r, "fhirContext") && !has(r, "intent"), "mistyped context members are left out");
	cJSON_Delete(r);
	cJSON_Delete(ctx);

	base_grant(&g, NULL, "patient/*.rs");
	r = issue_response(&cfg, &g, &t);
	T_OK(r != NULL && cJSON_GetArraySize(r) == 4, "no context: exactly the four RFC 6749 members");
	cJSON_Delete(r);
}

/* v1 stays v1, v2 stays v2: the granted string is echoed as written. */
static void
test_scope_echo(void)
{
	static const struct {
		const char *stored, *want, *name;
	} rows[] = {
		{ "launch/patient openid profile offline_access patient/*.read",
		  "launch/patient openid profile offline_access patient/*.read", "v1 echoed as v1" },
		{ "launch openid fhirUser offline_access user/*.read user/Patient.write",
		  "launch openid fhirUser offline_access user/*.read user/Patient.write", "v1 user scopes" },
		{ "launch/patient openid fhirUser offline_access patient/*.rs",
		  "launch/patient openid fhirUser offline_access patient/*.rs", "v2 echoed as v2" },
		{ "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
		  "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
		  "v2 query constraint kept" },
		{ "patient/*.read patient/Observation.rs", "patient/*.read patient/Observation.rs",
		  "mixed v1 and v2 kept as written" },
		{ "  openid   patient/*.rs ", "openid patient/*.rs", "extra spaces collapsed" },
	};
	struct issue_tokens t = { 0 };
	struct issue_grant g;
	struct scope_set *s;
	char *scope;
	cJSON *r, *c;
	size_t i;

	t.access_token = (char *)(uintptr_t)"a.b.c";
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		s = scope_parse(rows[i].stored, NULL);
		scope = scope_set_format(s);
		base_grant(&g, NULL, scope);
		r = issue_response(&cfg, &g, &t);
		c = issue_access_claims(&cfg, &g, "j");
		T_EQ_STR(str(r, "scope"), rows[i].want, rows[i].name);
		T_EQ_STR(str(c, "scope"), rows[i].want, rows[i].name);
		cJSON_Delete(r);
		cJSON_Delete(c);
		free(scope);
		scope_set_free(s);
	}
}

/* ---- lifetimes and refresh permission ------------------------------- */

static void
test_lifetimes(void)
{
	struct client c;

	memset(&c, 0, sizeof(c));
	T_EQ_INT(issue_access_lifetime(&cfg, &c), 3600, "access: server default");
	T_EQ_INT(issue_refresh_lifetime(&cfg, &c), 7776000, "refresh: server default");
	c.access_token_expiration = 300;
	c.refresh_token_expiration = 86400;
	T_EQ_INT(issue_access_lifetime(&cfg, &c), 300, "access: the client's own");
	T_EQ_INT(issue_refresh_lifetime(&cfg, &c), 86400, "refresh: the client's own");
	T_EQ_INT(issue_access_lifetime(&cfg, NULL), 3600, "access: no client");

	c.grant_types = parse("[\"authorization_code\"]");
	T_OK(!issue_client_may_refresh(&c), "no refresh without grant or flag");
	c.refresh_token = 1;
	T_OK(issue_client_may_refresh(&c), "refresh by auth.authorization_code.refresh_token");
	c.refresh_token = 0;
	cJSON_Delete(c.grant_types);
	c.grant_types = parse("[\"authorization_code\", \"refresh_token\"]");
	T_OK(issue_client_may_refresh(&c), "refresh by grant_types");
	cJSON_Delete(c.grant_types);
	c.grant_types = parse("[\"Refresh_Token\", \"refresh_token \"]");
	T_OK(!issue_client_may_refresh(&c), "grant names compared exactly");
	cJSON_Delete(c.grant_types);
	T_OK(!issue_client_may_refresh(NULL), "no client");
}

/* ---- minting: signatures, typ, refresh tokens ------------------------ */

static struct jwt *
parse_verify(const char *compact, const struct jwk *pub, const char *typ, const char *name)
{
	struct jwt *j = jwt_parse(compact, strlen(compact));
	char n[128];

	snprintf(n, sizeof(n), "%s: parses", name);
	T_OK(j != NULL, n);
	if (j == NULL)
		return NULL;
	snprintf(n, sizeof(n), "%s: RS256 signature verifies", name);
	T_OK(strcmp(j->alg, "RS256") == 0 && jwt_verify(j, pub) == 0, n);
	snprintf(n, sizeof(n), "%s: typ %s and kid", name, typ);
	T_OK(strcmp(json_get_str(j->header, "typ"), typ) == 0 && j->kid != NULL &&
	    strcmp(j->kid, pub->kid) == 0, n);
	return j;
}

static void
test_mint(void)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *ecpk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct jwk *key = jwk_new(pk, NULL), *eckey = jwk_new(ecpk, NULL);
	cJSON *ctx = parse(full_ctx);
	struct issue_tokens t = { 0 };
	struct issue_grant g;
	struct jwt *j;
	char *hex, *premade;

	T_OK(key != NULL && eckey != NULL, "test keys");
	base_grant(&g, ctx, "openid fhirUser offline_access patient/*.rs");
	g.id_token = 1;
	g.fhir_user_claim = 1;
	g.refresh = 1;
	g.nonce = "nonce-1";
	T_EQ_INT(issue_mint(&cfg, key, &g, &t), 0, "mint");
	T_OK(t.jti != NULL && strlen(t.jti) == CRYPTO_TOKEN_LEN, "jti is a 256-bit random value");
	if ((j = parse_verify(t.access_token, key, "at+jwt", "access token")) != NULL) {
		T_EQ_STR(json_get_str(j->claims, "jti"), t.jti, "access token carries the jti");
		T_EQ_STR(json_get_str(j->claims, "fhirUser"), BASE "/Patient/pt-1", "signed fhirUser");
		jwt_free(j);
	}
	if ((j = parse_verify(t.id_token, key, "JWT", "id_token")) != NULL) {
		T_EQ_STR(json_get_str(j->claims, "aud"), "app-1", "signed id_token aud");
		T_EQ_STR(json_get_str(j->claims, "nonce"), "nonce-1", "signed id_token nonce");
		jwt_free(j);
	}
	T_OK(t.refresh_token != NULL && strlen(t.refresh_token) == CRYPTO_TOKEN_LEN &&
	    strspn(t.refresh_token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
	    == CRYPTO_TOKEN_LEN, "refresh token: 43 base64url characters");
	hex = crypto_sha256_hex(t.refresh_token);
	T_EQ_STR(t.refresh_hash, hex, "refresh hash is SHA-256 hex of the token");
	free(hex);
	issue_tokens_clear(&t);
	T_OK(t.access_token == NULL && t.refresh_token == NULL && t.jti == NULL, "cleared");

	/* Rotation: the successor made beforehand is the one minted. */
	T_EQ_INT(issue_refresh_new(&t), 0, "premade refresh token");
	premade = strdup(t.refresh_token);
	T_EQ_INT(issue_mint(&cfg, key, &g, &t), 0, "mint with a premade refresh token");
	T_EQ_STR(t.refresh_token, premade, "premade refresh token kept");
	free(premade);
	issue_tokens_clear(&t);

	/* No id_token without openid, no refresh token when not asked. */
	g.id_token = 0;
	g.refresh = 0;
	T_EQ_INT(issue_mint(&cfg, key, &g, &t), 0, "mint access token only");
	T_OK(t.access_token != NULL && t.id_token == NULL && t.refresh_token == NULL &&
	    t.refresh_hash == NULL, "only an access token");
	issue_tokens_clear(&t);
	T_EQ_INT(issue_refresh_new(&t), 0, "premade, then not wanted");
	T_EQ_INT(issue_mint(&cfg, key, &g, &t), 0, "mint dropping the premade token");
	T_OK(t.refresh_token == NULL && t.refresh_hash == NULL, "unwanted refresh token dropped");
	issue_tokens_clear(&t);

	/* Two mints never share a jti or a refresh token. */
	{
		struct issue_tokens a = { 0 }, b = { 0 };

		g.refresh = 1;
		issue_mint(&cfg, key, &g, &a);
		issue_mint(&cfg, key, &g, &b);
		T_OK(strcmp(a.jti, b.jti) != 0 && strcmp(a.refresh_token, b.refresh_token) != 0,
		    "fresh jti and refresh token each time");
		issue_tokens_clear(&a);
		issue_tokens_clear(&b);
	}

	/* An EC key cannot sign RS256 tokens: the mint fails cleanly. */
	T_EQ_INT(issue_mint(&cfg, eckey, &g, &t), -1, "EC key refused for RS256");
	T_OK(t.access_token == NULL && t.jti == NULL && t.refresh_token == NULL,
	    "nothing left behind after a failed mint");

	cJSON_Delete(ctx);
	jwk_free(key);
	jwk_free(eckey);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(ecpk);
}

int
main(void)
{
	log_set_level(LOGL_ERROR);
	memset(&cfg, 0, sizeof(cfg));
	cfg.fhir_base = (char *)(uintptr_t)BASE;
	cfg.auth_base = (char *)(uintptr_t)"https://ehr.example.org/r4/auth";
	cfg.access_token_lifetime = 3600;
	cfg.refresh_token_lifetime = 7776000;

	test_fhir_user_url();
	test_access_claims();
	test_id_token_claims();
	test_grant_from_scope();
	test_response();
	test_scope_echo();
	test_lifetimes();
	test_mint();
	return t_done();
}
