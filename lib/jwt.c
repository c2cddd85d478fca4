/*
 * jwt: JWS compact tokens, signing, verification, claim checks.  See
 * jwt.h.
 *
 * The signature bytes handed to OpenSSL are always the ones the token
 * carries, over the signing input exactly as received (RFC 7515 §5.2
 * step 8): the header and claims are never re-serialised for
 * verification.  ECDSA signatures travel as R||S (RFC 7518 §3.4) and are
 * converted to and from the DER form OpenSSL speaks here, and only here.
 *
 * Owns nothing between calls.  Never logs token content.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto.h"
#include "json.h"
#include "jwk.h"
#include "jwt.h"
#include "log.h"

void
jwt_free(struct jwt *jwt)
{
	if (jwt == NULL)
		return;
	cJSON_Delete(jwt->header);
	cJSON_Delete(jwt->claims);
	free(jwt->signing_input);
	free(jwt->sig);
	free(jwt);
}

/* Sets up ctx for alg with key: RSASSA-PKCS1-v1_5 (RFC 7518 §3.3) or
 * ECDSA (§3.4).  0 or -1. */
static int
jwt_md_init(EVP_MD_CTX *ctx, const struct jwk *key, const char *digest,
    int sign)
{
	EVP_PKEY_CTX *pctx = NULL;
	int rc;

	if (sign)
		rc = EVP_DigestSignInit_ex(ctx, &pctx, digest, NULL, NULL,
		    key->pkey, NULL);
	else
		rc = EVP_DigestVerifyInit_ex(ctx, &pctx, digest, NULL, NULL,
		    key->pkey, NULL);
	if (rc != 1) {
		log_openssl(sign ? "EVP_DigestSignInit_ex" :
		    "EVP_DigestVerifyInit_ex");
		return -1;
	}
	if (key->kty == JWK_KTY_RSA &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
		log_openssl("EVP_PKEY_CTX_set_rsa_padding");
		return -1;
	}
	return 0;
}

/* DER ECDSA-Sig-Value into R||S of 2 * size bytes at out. */
static int
jwt_der_to_jose(const unsigned char *der, size_t derlen, size_t size,
    unsigned char *out)
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *es;
	int rc = -1;

	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL) {
		log_openssl("d2i_ECDSA_SIG");
		return -1;
	}
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, out, (int)size) != (int)size ||
	    BN_bn2binpad(s, out + size, (int)size) != (int)size)
		log_openssl("BN_bn2binpad");
	else
		rc = 0;
	ECDSA_SIG_free(es);
	return rc;
}

/* R||S of 2 * size bytes into an owned DER ECDSA-Sig-Value
 * (OPENSSL_free). */
static unsigned char *
jwt_jose_to_der(const unsigned char *sig, size_t size, size_t *derlen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	int len;

	if ((es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(sig, (int)size, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + size, (int)size, NULL)) == NULL) {
		log_openssl("ECDSA_SIG_new");
		goto out;
	}
	if (ECDSA_SIG_set0(es, r, s) != 1) {
		log_openssl("ECDSA_SIG_set0");
		goto out;
	}
	r = s = NULL;
	if ((len = i2d_ECDSA_SIG(es, &der)) <= 0) {
		log_openssl("i2d_ECDSA_SIG");
		der = NULL;
		goto out;
	}
	*derlen = (size_t)len;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return der;
}

/* Owned string: a "." b "." c (c may be NULL for two parts). */
static char *
jwt_join(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
	char *out;

	if ((out = malloc(la + lb + lc + 3)) == NULL) {
		log_err("out of memory");
		return NULL;
	}
	memcpy(out, a, la);
	out[la] = '.';
	memcpy(out + la + 1, b, lb);
	if (c == NULL)
		out[la + 1 + lb] = '\0';
	else {
		out[la + 1 + lb] = '.';
		memcpy(out + la + lb + 2, c, lc + 1);
	}
	return out;
}

/* Owned base64url of v printed compactly. */
static char *
jwt_part(const cJSON *v)
{
	char *s, *b;

	if ((s = json_print(v)) == NULL)
		return NULL;
	b = b64url_encode(s, strlen(s));
	free(s);
	return b;
}

char *
jwt_sign(const struct jwk *key, const char *alg, const char *typ,
    const cJSON *claims)
{
	EVP_MD_CTX *ctx = NULL;
	cJSON *hdr = NULL;
	char *h64 = NULL, *c64 = NULL, *input = NULL, *s64 = NULL, *out = NULL;
	unsigned char *sig = NULL, jose[2 * 66];
	const char *digest;
	size_t siglen = 0, size;

	if (key == NULL || alg == NULL || !cJSON_IsObject(claims)) {
		log_err("bad arguments");
		return NULL;
	}
	if (!jwk_alg_fits(key, alg) ||
	    jwk_alg_lookup(alg, NULL, NULL, &digest) == -1) {
		log_err("key %s cannot sign %s", key->kid, alg);
		return NULL;
	}
	if (!key->has_private) {
		log_err("key %s has no private part", key->kid);
		return NULL;
	}
	/* RFC 7515 §4.1: alg, typ, kid. */
	if ((hdr = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(hdr, "alg", alg) == NULL ||
	    cJSON_AddStringToObject(hdr, "typ", typ ? typ : "JWT") == NULL ||
	    cJSON_AddStringToObject(hdr, "kid", key->kid) == NULL) {
		log_err("out of memory");
		goto out;
	}
	if ((h64 = jwt_part(hdr)) == NULL || (c64 = jwt_part(claims)) == NULL ||
	    (input = jwt_join(h64, c64, NULL)) == NULL)
		goto out;
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		log_openssl("EVP_MD_CTX_new");
		goto out;
	}
	if (jwt_md_init(ctx, key, digest, 1) == -1)
		goto out;
	if (EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)input,
	    strlen(input)) != 1) {
		log_openssl("EVP_DigestSign");
		goto out;
	}
	if ((sig = malloc(siglen)) == NULL) {
		log_err("out of memory");
		goto out;
	}
	if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input,
	    strlen(input)) != 1) {
		log_openssl("EVP_DigestSign");
		goto out;
	}
	if (key->kty == JWK_KTY_EC) {
		size = jwk_ec_coord_size(key->curve_nid);
		if (size == 0 || 2 * size > sizeof(jose) ||
		    jwt_der_to_jose(sig, siglen, size, jose) == -1)
			goto out;
		s64 = b64url_encode(jose, 2 * size);
	} else
		s64 = b64url_encode(sig, siglen);
	if (s64 == NULL)
		goto out;
	out = jwt_join(h64, c64, s64);
out:
	EVP_MD_CTX_free(ctx);
	cJSON_Delete(hdr);
	free(h64);
	free(c64);
	free(input);
	free(sig);
	free(s64);
	return out;
}

/* Decodes one base64url part and parses it as a JSON object. */
static cJSON *
jwt_json_part(const char *p, size_t len, const char *name)
{
	unsigned char *raw;
	const char *why = NULL;
	cJSON *v;
	size_t rawlen = 0;

	if ((raw = b64url_decode(p, len, &rawlen)) == NULL) {
		log_info("JWT %s is not base64url", name);
		return NULL;
	}
	v = json_parse_strict((const char *)raw, rawlen, &why);
	free(raw);
	if (v == NULL) {
		log_info("JWT %s refused: %s", name, why ? why : "bad JSON");
		return NULL;
	}
	if (!cJSON_IsObject(v)) {
		log_info("JWT %s is not a JSON object", name);
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

struct jwt *
jwt_parse(const char *compact, size_t len)
{
	struct jwt *jwt = NULL;
	const char *d1, *d2;

	if (compact == NULL || len == 0) {
		log_info("empty JWT");
		return NULL;
	}
	if (len > JWT_MAX_LEN) {
		log_info("JWT longer than %d bytes", JWT_MAX_LEN);
		return NULL;
	}
	if (memchr(compact, '\0', len) != NULL) {
		log_info("NUL byte in JWT");
		return NULL;
	}
	/* RFC 7515 §7.1: exactly three parts (five would be JWE). */
	if ((d1 = memchr(compact, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - compact))) ==
	    NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - compact)) !=
	    NULL) {
		log_info("JWT does not have three parts");
		return NULL;
	}
	if ((jwt = calloc(1, sizeof(*jwt))) == NULL) {
		log_err("out of memory");
		return NULL;
	}
	if ((jwt->header = jwt_json_part(compact, (size_t)(d1 - compact),
	    "header")) == NULL)
		goto fail;
	if ((jwt->alg = json_get_str(jwt->header, "alg")) == NULL) {
		log_info("JWT header has no string alg");
		goto fail;
	}
	if (cJSON_GetObjectItemCaseSensitive(jwt->header, "kid") != NULL &&
	    (jwt->kid = json_get_str(jwt->header, "kid")) == NULL) {
		log_info("JWT header kid is not a string");
		goto fail;
	}
	if (cJSON_GetObjectItemCaseSensitive(jwt->header, "typ") != NULL &&
	    json_get_str(jwt->header, "typ") == NULL) {
		log_info("JWT header typ is not a string");
		goto fail;
	}
	if (cJSON_GetObjectItemCaseSensitive(jwt->header, "crit") != NULL) {
		log_info("JWT header has crit; no extension is understood");
		goto fail;
	}
	if ((jwt->claims = jwt_json_part(d1 + 1, (size_t)(d2 - d1 - 1),
	    "claims")) == NULL)
		goto fail;
	if ((jwt->sig = b64url_decode(d2 + 1,
	    len - (size_t)(d2 + 1 - compact), &jwt->siglen)) == NULL) {
		log_info("JWT signature is not base64url");
		goto fail;
	}
	jwt->signing_input_len = (size_t)(d2 - compact);
	if ((jwt->signing_input = malloc(jwt->signing_input_len + 1)) == NULL) {
		log_err("out of memory");
		goto fail;
	}
	memcpy(jwt->signing_input, compact, jwt->signing_input_len);
	jwt->signing_input[jwt->signing_input_len] = '\0';
	return jwt;
fail:
	jwt_free(jwt);
	return NULL;
}

int
jwt_verify(const struct jwt *jwt, const struct jwk *key)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char *der = NULL;
	const unsigned char *sig;
	const char *digest;
	size_t siglen, size, derlen = 0;
	int rc = -1, v;

	if (jwt == NULL || key == NULL || key->pkey == NULL ||
	    jwt->alg == NULL || jwt->signing_input == NULL) {
		log_err("bad arguments");
		return -1;
	}
	/* RFC 8725 §3.1-3.2: only the algorithms we implement, and only
	 * with a key made for them. */
	if (jwk_alg_lookup(jwt->alg, NULL, NULL, &digest) == -1) {
		log_info("JWT alg \"%s\" refused", jwt->alg);
		return -1;
	}
	if (!jwk_alg_fits(key, jwt->alg)) {
		log_info("JWT alg %s does not fit key %s", jwt->alg, key->kid);
		return -1;
	}
	sig = jwt->sig;
	siglen = jwt->siglen;
	if (key->kty == JWK_KTY_EC) {
		/* RFC 7518 §3.4: R||S, each exactly the coordinate size. */
		size = jwk_ec_coord_size(key->curve_nid);
		if (size == 0 || siglen != 2 * size) {
			log_info("JWT %s signature is %zu bytes, not %zu",
			    jwt->alg, siglen, 2 * size);
			return -1;
		}
		if ((der = jwt_jose_to_der(sig, size, &derlen)) == NULL)
			return -1;
		sig = der;
		siglen = derlen;
	} else if (siglen != (size_t)EVP_PKEY_get_size(key->pkey)) {
		/* RFC 8017 §8.2.2 step 1. */
		log_info("JWT %s signature has the wrong length", jwt->alg);
		return -1;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		log_openssl("EVP_MD_CTX_new");
		goto out;
	}
	if (jwt_md_init(ctx, key, digest, 0) == -1)
		goto out;
	v = EVP_DigestVerify(ctx, sig, siglen,
	    (const unsigned char *)jwt->signing_input, jwt->signing_input_len);
	if (v == 1)
		rc = 0;
	else {
		ERR_clear_error();
		log_info("JWT signature does not verify with key %s", key->kid);
	}
out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return rc;
}

/* RFC 7519 §4.1.3: aud is a string or an array of strings. */
static const char *
jwt_check_aud(const cJSON *claims, const char *want)
{
	const cJSON *aud, *el;
	int found = 0;

	aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
	if (aud == NULL)
		return "aud missing";
	if (cJSON_IsString(aud))
		return strcmp(aud->valuestring, want) == 0 ? NULL :
		    "aud mismatch";
	if (!cJSON_IsArray(aud))
		return "aud malformed";
	cJSON_ArrayForEach(el, aud) {
		if (!cJSON_IsString(el))
			return "aud malformed";
		if (strcmp(el->valuestring, want) == 0)
			found = 1;
	}
	return found ? NULL : "aud mismatch";
}

/* A NumericDate member (RFC 7519 §2): 1 and *out when present and a
 * finite number, 0 when absent, -1 when of another type. */
static int
jwt_time(const cJSON *claims, const char *name, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);

	if (v == NULL)
		return 0;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return -1;
	*out = v->valuedouble;
	return 1;
}

static const char *
jwt_check(const struct jwt *jwt, const struct jwt_expect *e)
{
	const cJSON *c = jwt->claims, *j;
	const char *s, *w;
	double now, skew, t = 0;
	int r;

	if (e->iss != NULL &&
	    ((s = json_get_str(c, "iss")) == NULL || strcmp(s, e->iss) != 0))
		return "iss mismatch";
	if (e->sub != NULL &&
	    ((s = json_get_str(c, "sub")) == NULL || strcmp(s, e->sub) != 0))
		return "sub mismatch";
	if (e->aud != NULL && (w = jwt_check_aud(c, e->aud)) != NULL)
		return w;
	now = (double)e->now;
	skew = e->skew > 0 ? (double)e->skew : 0;
	if ((r = jwt_time(c, "exp", &t)) == -1)
		return "exp not a number";
	if (r == 0 && e->require_exp)
		return "exp missing";
	if (r == 1) {
		/* §4.1.4: the current time must be before exp. */
		if (!(t > now - skew))
			return "exp in the past";
		if (e->max_future_exp > 0 &&
		    t > now + (double)e->max_future_exp + skew)
			return "exp too far in the future";
	}
	if ((r = jwt_time(c, "nbf", &t)) == -1)
		return "nbf not a number";
	if (r == 1 && t > now + skew)
		return "nbf in the future";
	if (jwt_time(c, "iat", &t) == -1)
		return "iat not a number";
	j = cJSON_GetObjectItemCaseSensitive(c, "jti");
	if (j != NULL && !cJSON_IsString(j))
		return "jti not a string";
	if (e->require_jti && (j == NULL || j->valuestring[0] == '\0'))
		return "jti missing";
	return NULL;
}

int
jwt_check_claims(const struct jwt *jwt, const struct jwt_expect *e,
    const char **why)
{
	const char *w;

	if (jwt == NULL || e == NULL || !cJSON_IsObject(jwt->claims))
		w = "no claims";
	else
		w = jwt_check(jwt, e);
	if (w == NULL)
		return 0;
	log_info("JWT claims refused: %s", w);
	if (why != NULL)
		*why = w;
	return -1;
}
