/*
 * bearer_test: the offline half of access-token verification: the
 * Authorization header (scheme case, blanks, characters, length), the
 * signature and algorithm (unknown key, kid naming our key but signed by
 * another, RS384/ES384/none/HS256, tampering), typ at+jwt, and the
 * claims (iss, aud string/array, exp with skew, nbf, jti, sub, client_id,
 * scope), and the verified-token cache of bearer_check_offline (hits,
 * exp checked after caching, one changed byte, another base or key set,
 * the bound).  Tokens are signed here with keys made for the test; some are
 * assembled by hand with raw OpenSSL calls so the header can say anything.
 * The database half (revocation, expiry by the row, inactive clients) is
 * covered by tests/e2e/test_rpc.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "bearer.h"
#include "crypto.h"
#include "json.h"
#include "jwk.h"
#include "jwt.h"
#include "log.h"
#include "t.h"

#define NOW	((time_t)1750000000)
#define BASE	"https://ehr.example.org/smart/fhir"

static EVP_PKEY *rsa_pk, *ec_pk, *p384_pk, *other_pk;
static struct jwk *rsa_k, *ec_k, *p384_k, *other_k;
static struct jwk_set *pub;	/* what bearer_keys_load would give: public halves */

/* ---- helpers ---------------------------------------------------------- */

/* The claims our token endpoint writes, at NOW. */
static cJSON *
good_claims(void)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "iss", BASE);
	cJSON_AddStringToObject(c, "sub", "dr-smith");
	cJSON_AddStringToObject(c, "aud", BASE);
	cJSON_AddNumberToObject(c, "exp", (double)(NOW + 600));
	cJSON_AddNumberToObject(c, "iat", (double)NOW);
	cJSON_AddStringToObject(c, "jti", "a-jti");
	cJSON_AddStringToObject(c, "client_id", "ehr");
	cJSON_AddStringToObject(c, "scope", "launch openid");
	return c;
}

/* Signs claims (consumed) with key/alg/typ through jwt_sign. */
static char *
sign(const struct jwk *key, const char *alg, const char *typ, cJSON *claims)
{
	char *s = jwt_sign(key, alg, typ, claims);

	cJSON_Delete(claims);
	return s;
}

static enum bearer_error
verify(const char *token)
{
	struct jwt *jwt = NULL;
	enum bearer_error e;

	if (token == NULL)
		return BEARER_INTERNAL;
	e = bearer_verify_jwt(pub, BASE, token, strlen(token), NOW, &jwt);
	if ((e == BEARER_OK) != (jwt != NULL))
		e = BEARER_INTERNAL;	/* out must be set exactly on success */
	jwt_free(jwt);
	return e;
}

/* Verifies and frees token; returns the outcome. */
static enum bearer_error
verify_free(char *token)
{
	enum bearer_error e = verify(token);

	free(token);
	return e;
}

/* Claims with one member replaced (value consumed; NULL removes it). */
static cJSON *
claims_with(const char *name, cJSON *value)
{
	cJSON *c = good_claims();

	cJSON_DeleteItemFromObjectCaseSensitive(c, name);
	if (value != NULL)
		cJSON_AddItemToObject(c, name, value);
	return c;
}

/*
 * Assembles a compact JWS with any header; signs RS256 with pkey, HS256
 * keyed with hmac_key, or leaves the signature empty.
 */
static char *
assemble(const char *header, const char *claims, EVP_PKEY *pkey, const char *hmac_key)
{
	unsigned char sig[1024];
	unsigned int hlen = 0;
	size_t siglen = sizeof(sig);
	char *h, *c, *s = NULL, *input, *out;
	size_t n;
	EVP_MD_CTX *ctx;

	h = b64url_encode(header, strlen(header));
	c = b64url_encode(claims, strlen(claims));
	n = strlen(h) + strlen(c) + 2;
	input = malloc(n);
	snprintf(input, n, "%s.%s", h, c);
	if (pkey != NULL) {
		ctx = EVP_MD_CTX_new();
		if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
		    EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)input, strlen(input)) == 1)
			s = b64url_encode(sig, siglen);
		EVP_MD_CTX_free(ctx);
	} else if (hmac_key != NULL) {
		HMAC(EVP_sha256(), hmac_key, (int)strlen(hmac_key), (unsigned char *)input,
		    strlen(input), sig, &hlen);
		s = b64url_encode(sig, hlen);
	} else
		s = strdup("");
	n = strlen(input) + strlen(s) + 2;
	out = malloc(n);
	snprintf(out, n, "%s.%s", input, s);
	free(h);
	free(c);
	free(s);
	free(input);
	return out;
}

static char *
claims_text(void)
{
	cJSON *c = good_claims();
	char *s = cJSON_PrintUnformatted(c);

	cJSON_Delete(c);
	return s;
}

/* ---- header parsing ----------------------------------------------------- */

static void
test_header(void)
{
	static const struct {
		const char *in;
		enum bearer_error want;
		const char *token;
	} rows[] = {
		{ "Bearer abc.def.ghi", BEARER_OK, "abc.def.ghi" },
		{ "bearer abc.def.ghi", BEARER_OK, "abc.def.ghi" },
		{ "BEARER abc.def.ghi", BEARER_OK, "abc.def.ghi" },
		{ "Bearer    abc.d-f_g.h", BEARER_OK, "abc.d-f_g.h" },
		{ NULL, BEARER_MISSING, NULL },
		{ "", BEARER_MISSING, NULL },
		{ "Basic ZWhyOmVoci1zZWNyZXQ=", BEARER_MISSING, NULL },
		{ "Bearerabc.def.ghi", BEARER_MISSING, NULL },
		{ " Bearer abc.def.ghi", BEARER_MISSING, NULL },
		{ "Bearer", BEARER_MALFORMED, NULL },
		{ "Bearer ", BEARER_MALFORMED, NULL },
		{ "Bearer\tabc.def.ghi", BEARER_MALFORMED, NULL },
		{ "Bearer abc.def.ghi ", BEARER_MALFORMED, NULL },
		{ "Bearer abc.def.ghi abc.def.ghi", BEARER_MALFORMED, NULL },
		{ "Bearer abc.def.ghi,Bearer x", BEARER_MALFORMED, NULL },
		{ "Bearer abc+def/ghi", BEARER_MALFORMED, NULL },
		{ "Bearer abc.def.ghi==", BEARER_MALFORMED, NULL },
		{ "Bearer abc%2Edef", BEARER_MALFORMED, NULL },
		{ "Bearer abc.def\r\nX-Evil: 1", BEARER_MALFORMED, NULL },
		{ "Bearer \"abc.def.ghi\"", BEARER_MALFORMED, NULL },
	};
	const char *tok;
	size_t i, len;
	char name[160], *big;
	enum bearer_error e;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "header %zu: %s", i, rows[i].in ? rows[i].in : "(null)");
		for (size_t k = 0; name[k] != '\0'; k++)
			if ((unsigned char)name[k] < 0x20)
				name[k] = '?';	/* keep the TAP line whole */
		e = bearer_parse_header(rows[i].in, &tok, &len);
		T_EQ_INT(e, rows[i].want, name);
		if (rows[i].token != NULL)
			T_OK(tok != NULL && len == strlen(rows[i].token) &&
			    memcmp(tok, rows[i].token, len) == 0, name);
		else
			T_OK(tok == NULL && len == 0, name);
	}
	/* Longest accepted, then one byte more. */
	big = malloc(7 + JWT_MAX_LEN + 2);
	memcpy(big, "Bearer ", 7);
	memset(big + 7, 'a', JWT_MAX_LEN);
	big[7 + JWT_MAX_LEN] = '\0';
	T_EQ_INT(bearer_parse_header(big, &tok, &len), BEARER_OK, "header at JWT_MAX_LEN");
	big[7 + JWT_MAX_LEN] = 'a';
	big[8 + JWT_MAX_LEN] = '\0';
	T_EQ_INT(bearer_parse_header(big, &tok, &len), BEARER_MALFORMED, "header over JWT_MAX_LEN");
	free(big);

	T_OK(bearer_is_bearer("Bearer x"), "is_bearer: Bearer");
	T_OK(bearer_is_bearer("bearer"), "is_bearer: bare scheme");
	T_OK(!bearer_is_bearer("Basic x"), "is_bearer: Basic");
	T_OK(!bearer_is_bearer("Bearerx y"), "is_bearer: longer scheme name");
	T_OK(!bearer_is_bearer(NULL), "is_bearer: NULL");
}

/* ---- signature and algorithm ------------------------------------------ */

static void
test_signature(void)
{
	char hdr[512], *ct, *tok, *dot;
	char *pem_pub = NULL;
	long pemlen;
	BIO *bio;

	T_EQ_INT(verify_free(sign(rsa_k, "RS256", "at+jwt", good_claims())), BEARER_OK,
	    "RS256 at+jwt from our key verifies");
	T_EQ_INT(verify_free(sign(ec_k, "ES256", "at+jwt", good_claims())), BEARER_OK,
	    "ES256 at+jwt from our EC key verifies");
	T_EQ_INT(verify_free(sign(other_k, "RS256", "at+jwt", good_claims())), BEARER_BAD_SIGNATURE,
	    "a key we do not hold");
	T_EQ_INT(verify_free(sign(p384_k, "ES384", "at+jwt", good_claims())), BEARER_BAD_SIGNATURE,
	    "ES384 refused even from our own key");
	{
		struct jwk *r384 = jwk_new(rsa_pk, "RS384");

		T_EQ_INT(verify_free(sign(r384, "RS384", "at+jwt", good_claims())),
		    BEARER_BAD_SIGNATURE, "RS384 refused even from our own key");
		jwk_free(r384);
	}

	/* A kid naming our key, a signature made with another. */
	ct = claims_text();
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", rsa_k->kid);
	T_EQ_INT(verify_free(assemble(hdr, ct, other_pk, NULL)), BEARER_BAD_SIGNATURE,
	    "kid of our key, signed by another");
	T_EQ_INT(verify_free(assemble(hdr, ct, rsa_pk, NULL)), BEARER_OK,
	    "hand-assembled RS256 control row verifies");
	/* No kid: never guess a key. */
	T_EQ_INT(verify_free(assemble("{\"alg\":\"RS256\",\"typ\":\"at+jwt\"}", ct, rsa_pk, NULL)),
	    BEARER_BAD_SIGNATURE, "no kid");
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"none\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", rsa_k->kid);
	T_OK(verify_free(assemble(hdr, ct, NULL, NULL)) != BEARER_OK, "alg none");
	/* HS256 keyed with our public key PEM (algorithm confusion). */
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, rsa_pk);
	pemlen = BIO_get_mem_data(bio, &pem_pub);
	{
		char *pem = strndup(pem_pub, (size_t)pemlen);

		snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}",
		    rsa_k->kid);
		T_EQ_INT(verify_free(assemble(hdr, ct, NULL, pem)), BEARER_BAD_SIGNATURE,
		    "HS256 keyed with the public key");
		free(pem);
	}
	BIO_free(bio);
	/* crit is refused by jwt_parse. */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\",\"crit\":[\"x\"],\"x\":1}",
	    rsa_k->kid);
	T_EQ_INT(verify_free(assemble(hdr, ct, rsa_pk, NULL)), BEARER_MALFORMED, "crit header");
	/* Duplicate members in the header. */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"alg\":\"none\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}",
	    rsa_k->kid);
	T_EQ_INT(verify_free(assemble(hdr, ct, rsa_pk, NULL)), BEARER_MALFORMED, "duplicate alg");
	free(ct);

	/* Tampering: a payload swapped under a good signature. */
	tok = sign(rsa_k, "RS256", "at+jwt", good_claims());
	{
		cJSON *c = claims_with("sub", cJSON_CreateString("alice"));
		char *cs = cJSON_PrintUnformatted(c), *cb = b64url_encode(cs, strlen(cs));
		char *first = strchr(tok, '.'), *last = strrchr(tok, '.'), *forged;
		size_t n = (size_t)(first - tok) + strlen(cb) + strlen(last) + 2;

		forged = malloc(n);
		snprintf(forged, n, "%.*s.%s%s", (int)(first - tok), tok, cb, last);
		T_EQ_INT(verify_free(forged), BEARER_BAD_SIGNATURE, "payload swapped");
		cJSON_Delete(c);
		free(cs);
		free(cb);
	}
	dot = strrchr(tok, '.');
	dot[1] = dot[1] == 'A' ? 'B' : 'A';
	T_EQ_INT(verify(tok), BEARER_BAD_SIGNATURE, "signature flipped");
	*dot = '\0';
	T_EQ_INT(verify(tok), BEARER_MALFORMED, "two parts only");
	free(tok);
	T_EQ_INT(verify("not-a-jwt"), BEARER_MALFORMED, "garbage");
	T_EQ_INT(verify(""), BEARER_MALFORMED, "empty");
}

/* ---- typ and claims --------------------------------------------------- */

static void
test_claims(void)
{
	static const struct {
		const char *typ;
		enum bearer_error want;
	} typs[] = {
		{ "at+jwt", BEARER_OK },
		{ "AT+JWT", BEARER_OK },
		{ "application/at+jwt", BEARER_OK },
		{ "JWT", BEARER_MALFORMED },		/* an id_token */
		{ NULL, BEARER_MALFORMED },		/* jwt_sign writes "JWT" */
		{ "at+jwt ", BEARER_MALFORMED },
		{ "application/jwt", BEARER_MALFORMED },
	};
	struct {
		const char *name;
		const char *member;
		cJSON *value;		/* NULL: member removed */
		enum bearer_error want;
	} rows[] = {
		{ "iss other server", "iss", cJSON_CreateString("https://other.example/fhir"), BEARER_WRONG_AUDIENCE },
		{ "iss trailing slash", "iss", cJSON_CreateString(BASE "/"), BEARER_WRONG_AUDIENCE },
		{ "iss missing", "iss", NULL, BEARER_WRONG_AUDIENCE },
		{ "aud other", "aud", cJSON_CreateString("https://other.example/fhir"), BEARER_WRONG_AUDIENCE },
		{ "aud case", "aud", cJSON_CreateString("HTTPS://ehr.example.org/smart/fhir"), BEARER_WRONG_AUDIENCE },
		{ "aud prefix", "aud", cJSON_CreateString(BASE "x"), BEARER_WRONG_AUDIENCE },
		{ "aud missing", "aud", NULL, BEARER_WRONG_AUDIENCE },
		{ "aud array holding base", "aud", NULL, BEARER_OK },	/* filled below */
		{ "aud array without base", "aud", NULL, BEARER_WRONG_AUDIENCE },
		{ "exp past", "exp", cJSON_CreateNumber((double)(NOW - BEARER_SKEW - 1)), BEARER_EXPIRED },
		{ "exp within skew", "exp", cJSON_CreateNumber((double)(NOW - BEARER_SKEW + 5)), BEARER_OK },
		{ "exp missing", "exp", NULL, BEARER_MALFORMED },
		{ "exp string", "exp", cJSON_CreateString("2099-01-01"), BEARER_MALFORMED },
		{ "nbf future", "nbf", cJSON_CreateNumber((double)(NOW + 3600)), BEARER_EXPIRED },
		{ "jti missing", "jti", NULL, BEARER_MALFORMED },
		{ "jti empty", "jti", cJSON_CreateString(""), BEARER_MALFORMED },
		{ "jti number", "jti", cJSON_CreateNumber(7), BEARER_MALFORMED },
		{ "sub missing", "sub", NULL, BEARER_MALFORMED },
		{ "sub number", "sub", cJSON_CreateNumber(1), BEARER_MALFORMED },
		{ "client_id missing", "client_id", NULL, BEARER_MALFORMED },
		{ "client_id array", "client_id", cJSON_CreateStringArray((const char *[]){ "ehr" }, 1), BEARER_MALFORMED },
		{ "scope number", "scope", cJSON_CreateNumber(1), BEARER_MALFORMED },
		{ "scope absent is fine", "scope", NULL, BEARER_OK },
	};
	size_t i;
	char name[128];

	for (i = 0; i < sizeof(typs) / sizeof(typs[0]); i++) {
		snprintf(name, sizeof(name), "typ %s", typs[i].typ ? typs[i].typ : "(none)");
		T_EQ_INT(verify_free(sign(rsa_k, "RS256", typs[i].typ, good_claims())), typs[i].want, name);
	}
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (strcmp(rows[i].name, "aud array holding base") == 0)
			rows[i].value = cJSON_CreateStringArray((const char *[]){ "https://x.example", BASE }, 2);
		else if (strcmp(rows[i].name, "aud array without base") == 0)
			rows[i].value = cJSON_CreateStringArray((const char *[]){ "https://x.example", BASE "/" }, 2);
		T_EQ_INT(verify_free(sign(rsa_k, "RS256", "at+jwt", claims_with(rows[i].member, rows[i].value))),
		    rows[i].want, rows[i].name);
	}
}

/* ---- the whole check, without a database ------------------------------ */

static void
test_authenticate_offline(void)
{
	struct bearer *b = (struct bearer *)1;
	char *tok, hdr[4096];
	enum bearer_error e;

	/* Every refusal here happens before any database call (none is configured). */
	e = bearer_authenticate(NULL, pub, BASE, NOW, &b);
	T_OK(e == BEARER_MISSING && b == NULL, "authenticate: no header");
	e = bearer_authenticate("Basic abc", pub, BASE, NOW, &b);
	T_EQ_INT(e, BEARER_MISSING, "authenticate: Basic");
	e = bearer_authenticate("Bearer a b", pub, BASE, NOW, &b);
	T_EQ_INT(e, BEARER_MALFORMED, "authenticate: two tokens");
	tok = sign(other_k, "RS256", "at+jwt", good_claims());
	snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
	e = bearer_authenticate(hdr, pub, BASE, NOW, &b);
	T_OK(e == BEARER_BAD_SIGNATURE && b == NULL, "authenticate: forged token");
	free(tok);
	tok = sign(rsa_k, "RS256", "at+jwt", good_claims());
	snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
	e = bearer_authenticate(hdr, pub, "https://other.example/fhir", NOW, &b);
	T_EQ_INT(e, BEARER_WRONG_AUDIENCE, "authenticate: token for another server");
	e = bearer_authenticate(hdr, pub, BASE, NOW + 3600, &b);
	T_EQ_INT(e, BEARER_EXPIRED, "authenticate: expired");
	free(tok);
	bearer_free(NULL);
}

/*
 * The verified-token cache behind bearer_check_offline: a second
 * presentation skips verification (hits), yet exp is checked on every
 * call, a changed byte is another token, and another FHIR base or key set
 * starts afresh; at most BEARER_CACHE_N tokens are remembered.
 */
static void
test_offline_cache(void)
{
	struct bearer_pending pd;
	struct jwk_set only_other;
	struct jwk *ok[1];
	char *tok, *t2, hdr[4096], first[4096];
	size_t h, i, len;
	enum bearer_error e;
	cJSON *c;
	int all;

	bearer_cache_reset();
	tok = sign(rsa_k, "RS256", "at+jwt", good_claims());
	snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
	h = bearer_cache_hits();
	e = bearer_check_offline(hdr, pub, BASE, NOW, &pd);
	T_OK(e == BEARER_OK && pd.claims != NULL && strcmp(pd.params[0], "a-jti") == 0,
	    "offline: first presentation verified, jti is the row parameter");
	bearer_pending_clear(&pd);
	T_EQ_INT(bearer_cache_hits(), h, "offline: first presentation is no hit");
	e = bearer_check_offline(hdr, pub, BASE, NOW + 10, &pd);
	T_OK(e == BEARER_OK && pd.claims != NULL && json_get_str(pd.claims, "sub") != NULL,
	    "offline: second presentation accepted with its claims");
	bearer_pending_clear(&pd);
	T_EQ_INT(bearer_cache_hits(), h + 1, "offline: second presentation is a hit");

	/* exp (NOW + 600) plus the skew: refused from the cache too. */
	e = bearer_check_offline(hdr, pub, BASE, NOW + 600 + BEARER_SKEW, &pd);
	T_OK(e == BEARER_EXPIRED && pd.claims == NULL, "offline: cached token refused after exp");
	e = bearer_check_offline(hdr, pub, BASE, NOW + 100000, &pd);
	T_EQ_INT(e, BEARER_EXPIRED, "offline: cached token refused long after exp");

	/* One byte changed in the signature, the payload or the length. */
	e = bearer_check_offline(hdr, pub, BASE, NOW, &pd);
	bearer_pending_clear(&pd);
	len = strlen(hdr);
	hdr[len - 2] = hdr[len - 2] == 'A' ? 'B' : 'A';
	e = bearer_check_offline(hdr, pub, BASE, NOW, &pd);
	T_EQ_INT(e, BEARER_BAD_SIGNATURE, "offline: cached token with a changed signature byte");
	hdr[len - 2] = tok[strlen(tok) - 2];
	hdr[len - 1] = '\0';
	e = bearer_check_offline(hdr, pub, BASE, NOW, &pd);
	T_OK(e != BEARER_OK, "offline: cached token cut short by one byte");
	snprintf(hdr, sizeof(hdr), "Bearer %sA", tok);
	e = bearer_check_offline(hdr, pub, BASE, NOW, &pd);
	T_OK(e != BEARER_OK, "offline: cached token with a byte appended");

	/* Another base or another key set: nothing remembered applies. */
	snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
	e = bearer_check_offline(hdr, pub, "https://other.example/fhir", NOW, &pd);
	T_EQ_INT(e, BEARER_WRONG_AUDIENCE, "offline: cached token for another base");
	e = bearer_check_offline(hdr, pub, BASE, NOW, &pd);
	bearer_pending_clear(&pd);
	ok[0] = other_k;
	only_other.keys = ok;
	only_other.n = 1;
	e = bearer_check_offline(hdr, &only_other, BASE, NOW, &pd);
	T_EQ_INT(e, BEARER_BAD_SIGNATURE, "offline: cached token with a key set lacking its key");
	free(tok);

	/* Bounded: after BEARER_CACHE_N newer tokens the first is verified again. */
	bearer_cache_reset();
	all = 1;
	first[0] = '\0';
	for (i = 0; i <= BEARER_CACHE_N; i++) {
		c = good_claims();
		cJSON_AddNumberToObject(c, "n", (double)i);
		if ((t2 = sign(rsa_k, "RS256", "at+jwt", c)) == NULL) {
			all = 0;
			break;
		}
		snprintf(hdr, sizeof(hdr), "Bearer %s", t2);
		if (i == 0)
			snprintf(first, sizeof(first), "%s", hdr);
		free(t2);
		if (bearer_check_offline(hdr, pub, BASE, NOW, &pd) != BEARER_OK)
			all = 0;
		bearer_pending_clear(&pd);
	}
	T_OK(all, "offline: BEARER_CACHE_N + 1 distinct tokens verified");
	h = bearer_cache_hits();
	e = bearer_check_offline(hdr, pub, BASE, NOW, &pd);
	bearer_pending_clear(&pd);
	T_OK(e == BEARER_OK && bearer_cache_hits() == h + 1, "offline: the newest token is a hit");
	h = bearer_cache_hits();
	e = bearer_check_offline(first, pub, BASE, NOW, &pd);
	bearer_pending_clear(&pd);
	T_OK(e == BEARER_OK && bearer_cache_hits() == h, "offline: the oldest token was evicted");
	bearer_cache_reset();
}

static void
test_errors(void)
{
	char buf[256], tiny[8];

	T_EQ_INT(bearer_status(BEARER_MISSING), 401, "status missing");
	T_EQ_INT(bearer_status(BEARER_REVOKED), 401, "status revoked");
	T_EQ_INT(bearer_status(BEARER_DB_UNAVAILABLE), 503, "status db");
	T_EQ_INT(bearer_status(BEARER_INTERNAL), 500, "status internal");
	T_OK(bearer_challenge(BEARER_MISSING, buf, sizeof(buf)) == 0 &&
	    strcmp(buf, "Bearer realm=\"smartauth\"") == 0, "challenge without error code");
	T_OK(bearer_challenge(BEARER_REVOKED, buf, sizeof(buf)) == 0 &&
	    strstr(buf, "error=\"invalid_token\"") != NULL && strncmp(buf, "Bearer ", 7) == 0,
	    "challenge invalid_token");
	T_OK(strchr(buf, '\r') == NULL && strchr(buf, '\n') == NULL, "challenge has no CR/LF");
	T_EQ_INT(bearer_challenge(BEARER_EXPIRED, tiny, sizeof(tiny)), -1, "challenge buffer too small");
	T_OK(strcmp(bearer_strerror(BEARER_EXPIRED), bearer_strerror(BEARER_REVOKED)) != 0,
	    "distinct descriptions");
}

static void
test_keys_load(void)
{
	T_OK(bearer_keys_load("/nonexistent/smartauth-keys") == NULL, "keys_load: missing dir");
}

int main(void);

int
main(void)
{
	struct jwk *all[3];
	struct jwk_set priv;
	cJSON *jwks;
	size_t i;

	log_init("bearer_test");
	log_set_level(LOGL_ERROR);
	rsa_pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ec_pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	p384_pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	other_pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (rsa_pk == NULL || ec_pk == NULL || p384_pk == NULL || other_pk == NULL) {
		printf("Bail out! key generation failed\n");
		return 1;
	}
	all[0] = rsa_k = jwk_new(rsa_pk, "RS256");
	all[1] = ec_k = jwk_new(ec_pk, "ES256");
	all[2] = p384_k = jwk_new(p384_pk, "ES384");
	other_k = jwk_new(other_pk, "RS256");
	/* The server's set as bearer_keys_load builds it: public JWKS, parsed back. */
	priv.keys = all;
	priv.n = 3;
	jwks = jwk_set_public_json(&priv);
	pub = jwk_set_parse(jwks);
	cJSON_Delete(jwks);
	T_OK(pub != NULL && pub->n == 3, "public key set");
	for (i = 0; pub != NULL && i < pub->n; i++)
		T_OK(!pub->keys[i]->has_private, "public set holds no private key");

	test_header();
	test_signature();
	test_claims();
	test_authenticate_offline();
	test_offline_cache();
	test_errors();
	test_keys_load();

	jwk_set_free(pub);
	for (i = 0; i < 3; i++)
		jwk_free(all[i]);
	jwk_free(other_k);
	EVP_PKEY_free(rsa_pk);
	EVP_PKEY_free(ec_pk);
	EVP_PKEY_free(p384_pk);
	EVP_PKEY_free(other_pk);
	return t_done();
}
