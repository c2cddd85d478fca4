/*
 * clientjwt_test: the private_key_jwt rules without a database or a
 * network: assertion type and header checks (alg none, HS256, PS256, typ,
 * crit), iss = sub = client_id, key selection by kid (unknown, duplicated,
 * type or curve not matching alg, missing kid with one or several fitting
 * keys), and verification (signature by another key under the same kid,
 * tampering, unregistered jku, expired, exp too far ahead, skew, wrong aud,
 * jti missing or overlong, nbf).
 *
 * Assertions are signed here with raw OpenSSL calls so that any header can
 * be produced (jwt_sign always writes its own).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "client.h"
#include "clientjwt.h"
#include "crypto.h"
#include "json.h"
#include "jwk.h"
#include "jwt.h"
#include "log.h"
#include "t.h"

#define NOW		((time_t)1750000000)
#define TOKEN_URL	"https://as.example/auth/token"
#define CID		"backend-1"

static EVP_PKEY *rsa_pk, *p256_pk, *p384_pk, *other_pk;
static struct jwk_set *main_set, *dup_set, *twofit_set;
static cJSON *main_jwks, *dup_jwks;

/* Owned JWS over header and claims (JSON texts) with pkey; ECDSA as R||S. */
static char *
sign_raw(const char *header, const char *claims, EVP_PKEY *pkey, const char *md)
{
	char *h = b64url_encode(header, strlen(header));
	char *c = b64url_encode(claims, strlen(claims));
	char *input = NULL, *sig64 = NULL, *out = NULL;
	unsigned char der[1024], jose[132];
	size_t derlen = sizeof(der), n;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const unsigned char *p = der;
	ECDSA_SIG *es;
	int bits;

	if (asprintf(&input, "%s.%s", h, c) < 0)
		input = NULL;
	if (input == NULL || ctx == NULL ||
	    EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, pkey, NULL) != 1 ||
	    EVP_DigestSign(ctx, der, &derlen, (unsigned char *)input, strlen(input)) != 1)
		goto out;
	if (EVP_PKEY_is_a(pkey, "EC")) {
		EVP_PKEY_get_int_param(pkey, OSSL_PKEY_PARAM_BITS, &bits);
		n = ((size_t)bits + 7) / 8;
		if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
			goto out;
		BN_bn2binpad(ECDSA_SIG_get0_r(es), jose, (int)n);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), jose + n, (int)n);
		ECDSA_SIG_free(es);
		sig64 = b64url_encode(jose, 2 * n);
	} else
		sig64 = b64url_encode(der, derlen);
	if (sig64 != NULL && asprintf(&out, "%s.%s", input, sig64) < 0)
		out = NULL;
out:
	EVP_MD_CTX_free(ctx);
	free(h);
	free(c);
	free(input);
	free(sig64);
	return out;
}

/* Claims JSON for the client at NOW; the %s fields are filled in. */
static char *
claims_fmt(const char *iss, const char *sub, const char *aud, long exp_off, const char *extra)
{
	char *s;

	if (asprintf(&s, "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":%s,\"exp\":%lld,"
	    "\"jti\":\"j-1\"%s}", iss, sub, aud, (long long)NOW + exp_off,
	    extra ? extra : "") < 0)
		return NULL;
	return s;
}

/* ---- clientjwt_parse ------------------------------------------------------ */

static const struct parse_row {
	const char	*name;
	const char	*type;		/* NULL: missing */
	const char	*header;	/* NULL: assertion missing */
	const char	*iss, *sub;
	const char	*body_client_id;
	const char	*why;		/* NULL: accepted; else a fragment of *why */
} parse_rows[] = {
	{ "accepted", CLIENTJWT_TYPE, "{\"alg\":\"ES384\",\"kid\":\"k\",\"typ\":\"JWT\"}",
	    CID, CID, NULL, NULL },
	{ "typ absent accepted", CLIENTJWT_TYPE, "{\"alg\":\"RS384\",\"kid\":\"k\"}",
	    CID, CID, NULL, NULL },
	{ "typ jwt lowercase accepted", CLIENTJWT_TYPE, "{\"alg\":\"ES256\",\"typ\":\"jwt\"}",
	    CID, CID, NULL, NULL },
	{ "client_id equal to iss accepted", CLIENTJWT_TYPE, "{\"alg\":\"ES384\"}",
	    CID, CID, CID, NULL },
	{ "type missing", NULL, "{\"alg\":\"ES384\"}", CID, CID, NULL,
	    "client_assertion_type is missing" },
	{ "type saml2", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
	    "{\"alg\":\"ES384\"}", CID, CID, NULL, "client_assertion_type must be" },
	{ "type with trailing space", CLIENTJWT_TYPE " ", "{\"alg\":\"ES384\"}", CID, CID,
	    NULL, "client_assertion_type must be" },
	{ "type in upper case", "URN:IETF:PARAMS:OAUTH:CLIENT-ASSERTION-TYPE:JWT-BEARER",
	    "{\"alg\":\"ES384\"}", CID, CID, NULL, "client_assertion_type must be" },
	{ "assertion missing", CLIENTJWT_TYPE, NULL, CID, CID, NULL,
	    "client_assertion is missing" },
	{ "alg none", CLIENTJWT_TYPE, "{\"alg\":\"none\"}", CID, CID, NULL, "alg must be" },
	{ "alg HS256", CLIENTJWT_TYPE, "{\"alg\":\"HS256\",\"kid\":\"k\"}", CID, CID, NULL,
	    "alg must be" },
	{ "alg PS256", CLIENTJWT_TYPE, "{\"alg\":\"PS256\"}", CID, CID, NULL, "alg must be" },
	{ "alg es384 lowercase", CLIENTJWT_TYPE, "{\"alg\":\"es384\"}", CID, CID, NULL,
	    "alg must be" },
	{ "alg EdDSA", CLIENTJWT_TYPE, "{\"alg\":\"EdDSA\"}", CID, CID, NULL, "alg must be" },
	{ "typ at+jwt", CLIENTJWT_TYPE, "{\"alg\":\"ES384\",\"typ\":\"at+jwt\"}", CID, CID,
	    NULL, "typ must be JWT" },
	{ "crit header", CLIENTJWT_TYPE, "{\"alg\":\"ES384\",\"crit\":[\"exp\"],\"exp\":1}",
	    CID, CID, NULL, "not a well-formed" },
	{ "duplicate alg", CLIENTJWT_TYPE, "{\"alg\":\"none\",\"alg\":\"ES384\"}", CID, CID,
	    NULL, "not a well-formed" },
	{ "iss missing", CLIENTJWT_TYPE, "{\"alg\":\"ES384\"}", NULL, CID, NULL,
	    "iss is missing" },
	{ "sub missing", CLIENTJWT_TYPE, "{\"alg\":\"ES384\"}", CID, NULL, NULL,
	    "sub is missing" },
	{ "iss empty", CLIENTJWT_TYPE, "{\"alg\":\"ES384\"}", "", "", NULL, "iss is missing" },
	{ "iss differs from sub", CLIENTJWT_TYPE, "{\"alg\":\"ES384\"}", CID, "other", NULL,
	    "iss and sub" },
	{ "sub differs in case", CLIENTJWT_TYPE, "{\"alg\":\"ES384\"}", CID, "Backend-1", NULL,
	    "iss and sub" },
	{ "client_id differs from iss", CLIENTJWT_TYPE, "{\"alg\":\"ES384\"}", CID, CID,
	    "other", "client_id differs" },
};

static void
test_parse(void)
{
	char name[160], claims[256], *hb, *cb, *tok;
	const char *why, *cid;
	struct jwt *j;
	size_t i, o;

	for (i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
		const struct parse_row *r = &parse_rows[i];

		o = (size_t)snprintf(claims, sizeof(claims), "{\"aud\":\"%s\"", TOKEN_URL);
		if (r->iss != NULL)
			o += (size_t)snprintf(claims + o, sizeof(claims) - o, ",\"iss\":\"%s\"", r->iss);
		if (r->sub != NULL)
			o += (size_t)snprintf(claims + o, sizeof(claims) - o, ",\"sub\":\"%s\"", r->sub);
		snprintf(claims + o, sizeof(claims) - o, "}");
		tok = NULL;
		if (r->header != NULL) {
			hb = b64url_encode(r->header, strlen(r->header));
			cb = b64url_encode(claims, strlen(claims));
			if (asprintf(&tok, "%s.%s.AAAA", hb, cb) < 0)
				tok = NULL;
			free(hb);
			free(cb);
		}
		why = NULL;
		j = clientjwt_parse(r->type, tok, r->body_client_id, &cid, &why);
		snprintf(name, sizeof(name), "parse: %s", r->name);
		if (r->why == NULL)
			T_OK(j != NULL && cid != NULL && strcmp(cid, CID) == 0, name);
		else {
			T_OK(j == NULL && why != NULL && strstr(why, r->why) != NULL, name);
			if (why != NULL && (r->why == NULL || strstr(why, r->why) == NULL))
				printf("#   why: %s\n", why);
		}
		jwt_free(j);
		free(tok);
	}
	T_OK(clientjwt_parse(CLIENTJWT_TYPE, "not.a.jwt", NULL, &cid, &why) == NULL &&
	    strstr(why, "not a well-formed") != NULL, "parse: garbage");
}

/* ---- clientjwt_select_key ---------------------------------------------------- */

static void
test_select(void)
{
	const struct jwk *k;
	const char *why;
	int unknown;

	k = clientjwt_select_key(main_set, "p384", "ES384", &unknown, &why);
	T_OK(k != NULL && strcmp(k->kid, "p384") == 0 && !unknown, "select: kid and alg fit");
	k = clientjwt_select_key(main_set, "p384", "RS256", &unknown, &why);
	T_OK(k == NULL && !unknown && strstr(why, "does not fit"), "select: EC key with RS256");
	k = clientjwt_select_key(main_set, "p384", "ES256", &unknown, &why);
	T_OK(k == NULL && !unknown && strstr(why, "does not fit"), "select: P-384 key with ES256");
	k = clientjwt_select_key(main_set, "rsa", "ES384", &unknown, &why);
	T_OK(k == NULL && !unknown && strstr(why, "does not fit"), "select: RSA key with ES384");
	k = clientjwt_select_key(main_set, "rsa", "HS256", &unknown, &why);
	T_OK(k == NULL && strstr(why, "does not fit"), "select: RSA key with HS256");
	k = clientjwt_select_key(main_set, "nope", "ES384", &unknown, &why);
	T_OK(k == NULL && unknown && strstr(why, "no registered key"), "select: unknown kid");
	k = clientjwt_select_key(main_set, "P384", "ES384", &unknown, &why);
	T_OK(k == NULL && unknown, "select: kid compared case-sensitively");
	k = clientjwt_select_key(dup_set, "dup", "ES384", &unknown, &why);
	T_OK(k == NULL && !unknown && strstr(why, "more than one"), "select: two keys with one kid");
	k = clientjwt_select_key(main_set, NULL, "ES256", &unknown, &why);
	T_OK(k != NULL && strcmp(k->kid, "p256") == 0, "select: no kid, one key fits ES256");
	k = clientjwt_select_key(main_set, NULL, "RS384", &unknown, &why);
	T_OK(k != NULL && strcmp(k->kid, "rsa") == 0, "select: no kid, one key fits RS384");
	k = clientjwt_select_key(twofit_set, NULL, "ES384", &unknown, &why);
	T_OK(k == NULL && strstr(why, "kid is required"), "select: no kid, two keys fit");
	k = clientjwt_select_key(main_set, NULL, "ES512", &unknown, &why);
	T_OK(k == NULL && strstr(why, "no registered key fits"), "select: no kid, none fits");
	k = clientjwt_select_key(main_set, NULL, "none", &unknown, &why);
	T_OK(k == NULL, "select: no kid, alg none");
}

/* ---- clientjwt_verify ---------------------------------------------------- */

static const struct verify_row {
	const char	*name;
	const char	*alg, *kid;	/* kid NULL: no kid member */
	int		 key;		/* 0 rsa, 1 p256, 2 p384, 3 other P-384 */
	const char	*aud;		/* JSON */
	long		 exp_off;
	const char	*extra_claims;
	const char	*extra_header;
	const char	*why;		/* NULL: accepted */
} verify_rows[] = {
	{ "ES384 accepted", "ES384", "p384", 2, "\"" TOKEN_URL "\"", 240, NULL, NULL, NULL },
	{ "RS384 accepted", "RS384", "rsa", 0, "\"" TOKEN_URL "\"", 240, NULL, NULL, NULL },
	{ "RS256 accepted", "RS256", "rsa", 0, "\"" TOKEN_URL "\"", 240, NULL, NULL, NULL },
	{ "RS512 accepted", "RS512", "rsa", 0, "\"" TOKEN_URL "\"", 240, NULL, NULL, NULL },
	{ "ES256 accepted", "ES256", "p256", 1, "\"" TOKEN_URL "\"", 240, NULL, NULL, NULL },
	{ "no kid, one fitting key", "ES256", NULL, 1, "\"" TOKEN_URL "\"", 60, NULL, NULL, NULL },
	{ "aud array holding the token URL", "ES384", "p384", 2,
	    "[\"https://x.example\",\"" TOKEN_URL "\"]", 240, NULL, NULL, NULL },
	{ "exp 5 min + 30 s skew accepted", "ES384", "p384", 2, "\"" TOKEN_URL "\"", 330,
	    NULL, NULL, NULL },
	{ "exp 20 s ago within skew", "ES384", "p384", 2, "\"" TOKEN_URL "\"", -20, NULL, NULL,
	    NULL },
	{ "iat in the past accepted", "ES384", "p384", 2, "\"" TOKEN_URL "\"", 240,
	    ",\"iat\":1749999990", NULL, NULL },
	{ "expired", "ES384", "p384", 2, "\"" TOKEN_URL "\"", -31, NULL, NULL, "expired" },
	{ "exp more than 5 min ahead", "ES384", "p384", 2, "\"" TOKEN_URL "\"", 331, NULL, NULL,
	    "more than 5 minutes" },
	{ "exp one day ahead", "ES384", "p384", 2, "\"" TOKEN_URL "\"", 86400, NULL, NULL,
	    "more than 5 minutes" },
	{ "aud the FHIR base", "ES384", "p384", 2, "\"https://as.example/fhir\"", 240, NULL,
	    NULL, "aud must be the token endpoint" },
	{ "aud with trailing slash", "ES384", "p384", 2, "\"" TOKEN_URL "/\"", 240, NULL, NULL,
	    "aud must be the token endpoint" },
	{ "aud array without the token URL", "ES384", "p384", 2, "[\"https://x.example\"]", 240,
	    NULL, NULL, "aud must be the token endpoint" },
	{ "aud a number", "ES384", "p384", 2, "7", 240, NULL, NULL, "aud is malformed" },
	{ "nbf in the future", "ES384", "p384", 2, "\"" TOKEN_URL "\"", 240,
	    ",\"nbf\":1750000100", NULL, "nbf" },
	{ "signed by another key under the same kid", "ES384", "p384", 3,
	    "\"" TOKEN_URL "\"", 240, NULL, NULL, "signature is invalid" },
	{ "RSA signature under the EC kid", "RS256", "p384", 0, "\"" TOKEN_URL "\"", 240, NULL,
	    NULL, "does not fit" },
	{ "unknown kid", "ES384", "k9", 2, "\"" TOKEN_URL "\"", 240, NULL, NULL,
	    "no registered key" },
	{ "jku not registered", "ES384", "p384", 2, "\"" TOKEN_URL "\"", 240, NULL,
	    ",\"jku\":\"https://evil.example/jwks\"", "jku" },
	{ "jku not a string", "ES384", "p384", 2, "\"" TOKEN_URL "\"", 240, NULL,
	    ",\"jku\":1", "jku" },
};

static void
test_verify(void)
{
	EVP_PKEY *pks[4];
	const char *mds[] = { "SHA256", "SHA384", "SHA512" };
	struct client c;
	char name[160], hdr[256], *claims, *tok, jti[300];
	const char *why, *cid, *md;
	struct jwt *j;
	size_t i;

	pks[0] = rsa_pk;
	pks[1] = p256_pk;
	pks[2] = p384_pk;
	pks[3] = other_pk;
	memset(&c, 0, sizeof(c));
	c.id = CID;
	c.jwks = main_jwks;

	for (i = 0; i < sizeof(verify_rows) / sizeof(verify_rows[0]); i++) {
		const struct verify_row *r = &verify_rows[i];

		md = mds[r->alg[2] == '2' ? 0 : r->alg[2] == '3' ? 1 : 2];
		if (r->kid != NULL)
			snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"%s}",
			    r->alg, r->kid, r->extra_header ? r->extra_header : "");
		else
			snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"%s}", r->alg,
			    r->extra_header ? r->extra_header : "");
		claims = claims_fmt(CID, CID, r->aud, r->exp_off, r->extra_claims);
		tok = sign_raw(hdr, claims, pks[r->key], md);
		j = tok ? clientjwt_parse(CLIENTJWT_TYPE, tok, NULL, &cid, &why) : NULL;
		snprintf(name, sizeof(name), "verify: %s", r->name);
		if (j == NULL) {
			T_OK(0, name);
			printf("#   did not parse\n");
		} else {
			why = NULL;
			if (r->why == NULL)
				T_EQ_INT(clientjwt_verify(j, &c, TOKEN_URL, NOW, &why), OAUTH_OK, name);
			else
				T_OK(clientjwt_verify(j, &c, TOKEN_URL, NOW, &why) ==
				    OAUTH_INVALID_CLIENT && why && strstr(why, r->why), name);
			if (why != NULL)
				printf("#   why: %s\n", why);
		}
		jwt_free(j);
		free(tok);
		free(claims);
	}

	/* Tampered claims under a valid signature. */
	claims = claims_fmt(CID, CID, "\"" TOKEN_URL "\"", 240, NULL);
	tok = sign_raw("{\"alg\":\"ES384\",\"kid\":\"p384\"}", claims, p384_pk, "SHA384");
	free(claims);
	{
		char *dot1 = strchr(tok, '.'), *dot2 = strchr(dot1 + 1, '.');
		static const char forged[] = "{\"iss\":\"" CID "\",\"sub\":\"" CID "\",\"aud\":\""
		    TOKEN_URL "\",\"exp\":1750000240,\"jti\":\"j-2\"}";
		char *other = b64url_encode(forged, strlen(forged));
		char *t2;

		if (asprintf(&t2, "%.*s.%s%s", (int)(dot1 - tok), tok, other, dot2) < 0)
			t2 = NULL;
		j = clientjwt_parse(CLIENTJWT_TYPE, t2, NULL, &cid, &why);
		T_OK(j != NULL && clientjwt_verify(j, &c, TOKEN_URL, NOW, &why) ==
		    OAUTH_INVALID_CLIENT && strstr(why, "signature"), "verify: tampered claims");
		jwt_free(j);
		free(t2);
		free(other);
	}
	free(tok);

	/* jti: required, and at most 255 bytes. */
	claims = NULL;
	if (asprintf(&claims, "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\",\"exp\":%lld}",
	    CID, CID, TOKEN_URL, (long long)NOW + 60) < 0)
		claims = NULL;
	tok = sign_raw("{\"alg\":\"ES384\",\"kid\":\"p384\"}", claims, p384_pk, "SHA384");
	j = clientjwt_parse(CLIENTJWT_TYPE, tok, NULL, &cid, &why);
	T_OK(j != NULL && clientjwt_verify(j, &c, TOKEN_URL, NOW, &why) == OAUTH_INVALID_CLIENT &&
	    strstr(why, "jti is missing"), "verify: jti missing");
	jwt_free(j);
	free(tok);
	free(claims);
	memset(jti, 'j', 256);
	jti[256] = '\0';
	if (asprintf(&claims, "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\",\"exp\":%lld,"
	    "\"jti\":\"%s\"}", CID, CID, TOKEN_URL, (long long)NOW + 60, jti) < 0)
		claims = NULL;
	tok = sign_raw("{\"alg\":\"ES384\",\"kid\":\"p384\"}", claims, p384_pk, "SHA384");
	j = clientjwt_parse(CLIENTJWT_TYPE, tok, NULL, &cid, &why);
	T_OK(j != NULL && clientjwt_verify(j, &c, TOKEN_URL, NOW, &why) == OAUTH_INVALID_CLIENT &&
	    strstr(why, "longer than 255"), "verify: jti of 256 bytes");
	jwt_free(j);
	free(tok);
	free(claims);

	/* A client without keys, and one whose registered jwks is not a JWKS. */
	claims = claims_fmt(CID, CID, "\"" TOKEN_URL "\"", 240, NULL);
	tok = sign_raw("{\"alg\":\"ES384\",\"kid\":\"p384\"}", claims, p384_pk, "SHA384");
	j = clientjwt_parse(CLIENTJWT_TYPE, tok, NULL, &cid, &why);
	c.jwks = NULL;
	T_OK(j != NULL && clientjwt_verify(j, &c, TOKEN_URL, NOW, &why) == OAUTH_INVALID_CLIENT &&
	    strstr(why, "no registered keys"), "verify: client without keys");
	c.jwks = cJSON_CreateObject();
	T_OK(j != NULL && clientjwt_verify(j, &c, TOKEN_URL, NOW, &why) == OAUTH_INVALID_CLIENT &&
	    strstr(why, "jwks is invalid"), "verify: registered jwks without keys array");
	cJSON_Delete(c.jwks);
	c.jwks = main_jwks;
	T_EQ_INT(j ? (int)clientjwt_verify(j, &c, TOKEN_URL, NOW, &why) : -1, OAUTH_OK,
	    "verify: same token with the keys back");
	T_OK(j != NULL && clientjwt_verify(j, &c, "https://as.example/other/token", NOW, &why) ==
	    OAUTH_INVALID_CLIENT, "verify: another token endpoint URL");
	/* The parsed set is cached: a re-registered jwks must not reuse it. */
	c.jwks = dup_jwks;
	T_OK(j != NULL && clientjwt_verify(j, &c, TOKEN_URL, NOW, &why) == OAUTH_INVALID_CLIENT &&
	    strstr(why, "no registered key"), "verify: re-registered jwks replaces the cached set");
	c.jwks = main_jwks;
	T_EQ_INT(j ? (int)clientjwt_verify(j, &c, TOKEN_URL, NOW, &why) : -1, OAUTH_OK,
	    "verify: first jwks registered again");
	c.id = "backend-2";
	T_OK(j != NULL && clientjwt_verify(j, &c, TOKEN_URL, NOW, &why) == OAUTH_INVALID_CLIENT,
	    "verify: same jwks under another client id checks that client's iss");
	c.id = CID;
	jwt_free(j);
	free(tok);
	free(claims);
}

/* ---- setup ---------------------------------------------------------------- */

/* Owned public JWKS of keys[0..n) with the given kids and no "alg". */
static cJSON *
jwks_of(EVP_PKEY **pks, const char **kids, size_t n)
{
	struct jwk *ks[4];
	struct jwk_set tmp = { ks, n };
	cJSON *doc, *k;
	size_t i;

	for (i = 0; i < n; i++)
		ks[i] = jwk_new(pks[i], NULL);
	doc = jwk_set_public_json(&tmp);
	for (i = 0; i < n; i++) {
		k = cJSON_GetArrayItem(json_get_arr(doc, "keys"), (int)i);
		cJSON_DeleteItemFromObjectCaseSensitive(k, "alg");
		cJSON_ReplaceItemInObjectCaseSensitive(k, "kid", cJSON_CreateString(kids[i]));
		jwk_free(ks[i]);
	}
	return doc;
}

int main(void);

int
main(void)
{
	EVP_PKEY *m[3], *d[2];
	const char *mk[] = { "rsa", "p256", "p384" }, *dk[] = { "dup", "dup" }, *tk[] = { "a", "b" };
	cJSON *two;

	log_set_level(LOGL_ERROR);
	rsa_pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	p256_pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	p384_pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	other_pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (!rsa_pk || !p256_pk || !p384_pk || !other_pk) {
		printf("Bail out! key generation failed\n");
		return 99;
	}
	m[0] = rsa_pk;
	m[1] = p256_pk;
	m[2] = p384_pk;
	d[0] = p384_pk;
	d[1] = other_pk;
	main_jwks = jwks_of(m, mk, 3);
	dup_jwks = jwks_of(d, dk, 2);
	two = jwks_of(d, tk, 2);
	main_set = jwk_set_parse(main_jwks);
	dup_set = jwk_set_parse(dup_jwks);
	twofit_set = jwk_set_parse(two);
	if (main_set == NULL || main_set->n != 3 || dup_set == NULL || dup_set->n != 2 ||
	    twofit_set == NULL || twofit_set->n != 2) {
		printf("Bail out! client key sets\n");
		return 99;
	}

	test_parse();
	test_select();
	test_verify();

	jwk_set_free(main_set);
	jwk_set_free(dup_set);
	jwk_set_free(twofit_set);
	cJSON_Delete(main_jwks);
	cJSON_Delete(dup_jwks);
	cJSON_Delete(two);
	EVP_PKEY_free(rsa_pk);
	EVP_PKEY_free(p256_pk);
	EVP_PKEY_free(p384_pk);
	EVP_PKEY_free(other_pk);
	return t_done();
}
