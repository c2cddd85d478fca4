/*
 * jwt_test: signing and verifying with each supported algorithm, the
 * attacks on JWS verification (alg "none", HMAC keyed with the RSA public
 * key, RSA-PSS, algorithm and curve confusion, DER ECDSA signatures,
 * flipped bits, truncation, extra or missing parts, padding and foreign
 * characters, duplicate members, crit) and the claim checks (exp, nbf,
 * aud, iss, sub, jti).
 *
 * Tokens under attack are forged here byte by byte, signed with the raw
 * OpenSSL calls, so each row tests the verifier and not jwt_sign.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "crypto.h"
#include "json.h"
#include "jwk.h"
#include "jwt.h"
#include "log.h"
#include "t.h"

#define NOW	((time_t)1750000000)

static EVP_PKEY *rsa_pk, *p256_pk, *p384_pk, *p521_pk;
/* Private (signing) keys, unrestricted. */
static struct jwk *rsa_k, *p256_k, *p384_k, *p521_k;
/* The same keys as a client would publish them: public only. */
static struct jwk_set *pub;
static const struct jwk *rsa_pub, *p256_pub, *p384_pub, *p521_pub;

/* ---- helpers ---------------------------------------------------------- */

static char *
b64s(const char *s)
{
	return b64url_encode(s, strlen(s));
}

static char *
join3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
	char *s = malloc(n);

	snprintf(s, n, "%s.%s.%s", a, b, c);
	return s;
}

enum forge_how {
	F_EMPTY,		/* no signature at all */
	F_RSA,			/* RSASSA-PKCS1-v1_5 */
	F_PSS,			/* RSASSA-PSS */
	F_EC_JOSE,		/* ECDSA, R||S */
	F_EC_DER,		/* ECDSA, DER as OpenSSL emits it */
	F_HMAC_PEM		/* HMAC keyed with the public key PEM */
};

/* Owned base64url signature over input. */
static char *
raw_sig(enum forge_how how, EVP_PKEY *pkey, const char *md,
    const char *input)
{
	unsigned char sig[1024], jose[132];
	size_t siglen = sizeof(sig), size;
	EVP_MD_CTX *ctx;
	EVP_PKEY_CTX *pctx = NULL;
	ECDSA_SIG *es;
	const unsigned char *p;
	const BIGNUM *r, *s;
	char *out = NULL;

	if (how == F_EMPTY)
		return strdup("");
	if (how == F_HMAC_PEM) {
		BIO *b = BIO_new(BIO_s_mem());
		char *pem = NULL;
		long pemlen;

		PEM_write_bio_PUBKEY(b, pkey);
		pemlen = BIO_get_mem_data(b, &pem);
		if (EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, pem, (size_t)pemlen,
		    (const unsigned char *)input, strlen(input), sig,
		    sizeof(sig), &siglen) == NULL)
			siglen = 0;
		BIO_free(b);
		return b64url_encode(sig, siglen);
	}
	ctx = EVP_MD_CTX_new();
	if (EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, pkey, NULL) != 1)
		goto out;
	if (how == F_PSS)
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
	if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input,
	    strlen(input)) != 1)
		goto out;
	if (how == F_EC_JOSE) {
		size = (size_t)(EVP_PKEY_get_bits(pkey) + 7) / 8;
		p = sig;
		es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
		ECDSA_SIG_get0(es, &r, &s);
		BN_bn2binpad(r, jose, (int)size);
		BN_bn2binpad(s, jose + size, (int)size);
		ECDSA_SIG_free(es);
		out = b64url_encode(jose, 2 * size);
	} else
		out = b64url_encode(sig, siglen);
out:
	EVP_MD_CTX_free(ctx);
	return out;
}

/* Owned compact token from header and claims JSON text. */
static char *
forge(const char *hdr, const char *claims, enum forge_how how,
    EVP_PKEY *pkey, const char *md)
{
	char *h = b64s(hdr), *c = b64s(claims), *input, *sig, *tok;

	input = malloc(strlen(h) + strlen(c) + 2);
	sprintf(input, "%s.%s", h, c);
	sig = raw_sig(how, pkey, md, input);
	tok = join3(h, c, sig ? sig : "");
	free(h);
	free(c);
	free(input);
	free(sig);
	return tok;
}

/* 1 when tok (len bytes, 0: strlen) parses and verifies with key. */
static int
accepted(const char *tok, size_t len, const struct jwk *key)
{
	struct jwt *j = jwt_parse(tok, len ? len : strlen(tok));
	int ok = j != NULL && jwt_verify(j, key) == 0;

	jwt_free(j);
	return ok;
}

static int
parses(const char *tok, size_t len)
{
	struct jwt *j = jwt_parse(tok, len ? len : strlen(tok));

	jwt_free(j);
	return j != NULL;
}

static cJSON *
claims_now(void)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "iss", "https://app.example/client");
	cJSON_AddStringToObject(c, "sub", "client-1");
	cJSON_AddStringToObject(c, "aud", "https://as.example/token");
	cJSON_AddNumberToObject(c, "exp", (double)(NOW + 240));
	cJSON_AddNumberToObject(c, "iat", (double)NOW);
	cJSON_AddStringToObject(c, "jti", "b6d9f0c2-1");
	return c;
}

/* Owned token string with part idx (0..2) replaced by repl. */
static char *
replace_part(const char *tok, int idx, const char *repl)
{
	char *copy = strdup(tok), *parts[3], *save = NULL, *out;
	int i;

	parts[0] = strtok_r(copy, ".", &save);
	parts[1] = strtok_r(NULL, ".", &save);
	parts[2] = strtok_r(NULL, ".", &save);
	for (i = 0; i < 3; i++)
		if (parts[i] == NULL)
			parts[i] = (char *)(uintptr_t)"";
	parts[idx] = (char *)(uintptr_t)repl;
	out = join3(parts[0], parts[1], parts[2]);
	free(copy);
	return out;
}

static const char *
part(const char *tok, int idx)
{
	static char buf[4096];
	const char *p = tok, *e;

	while (idx-- > 0 && p != NULL)
		if ((p = strchr(p, '.')) != NULL)
			p++;
	if (p == NULL)
		return "";
	e = strchr(p, '.');
	snprintf(buf, sizeof(buf), "%.*s", (int)(e ? (size_t)(e - p) :
	    strlen(p)), p);
	return buf;
}

/* ---- round trips ------------------------------------------------------ */

static void
test_round_trips(void)
{
	static const struct {
		const char *alg;
		struct jwk **key;
		const struct jwk **pubkey;
	} rows[] = {
		{ "RS256", &rsa_k, &rsa_pub },
		{ "RS384", &rsa_k, &rsa_pub },
		{ "RS512", &rsa_k, &rsa_pub },
		{ "ES256", &p256_k, &p256_pub },
		{ "ES384", &p384_k, &p384_pub },
		{ "ES512", &p521_k, &p521_pub },
	};
	char name[128];
	struct jwt *j;
	cJSON *c = claims_now();
	char *tok;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		tok = jwt_sign(*rows[i].key, rows[i].alg, NULL, c);
		snprintf(name, sizeof(name), "%s: sign", rows[i].alg);
		T_OK(tok != NULL, name);
		if (tok == NULL)
			continue;
		j = jwt_parse(tok, strlen(tok));
		snprintf(name, sizeof(name), "%s: parse", rows[i].alg);
		T_OK(j != NULL, name);
		snprintf(name, sizeof(name), "%s: verify with public key",
		    rows[i].alg);
		T_EQ_INT(j ? jwt_verify(j, *rows[i].pubkey) : -2, 0, name);
		snprintf(name, sizeof(name), "%s: verify with private key",
		    rows[i].alg);
		T_EQ_INT(j ? jwt_verify(j, *rows[i].key) : -2, 0, name);
		snprintf(name, sizeof(name), "%s: header alg", rows[i].alg);
		T_EQ_STR(j ? j->alg : NULL, rows[i].alg, name);
		snprintf(name, sizeof(name), "%s: header kid", rows[i].alg);
		T_EQ_STR(j ? j->kid : NULL, (*rows[i].key)->kid, name);
		snprintf(name, sizeof(name), "%s: typ JWT", rows[i].alg);
		T_EQ_STR(j ? json_get_str(j->header, "typ") : NULL, "JWT", name);
		snprintf(name, sizeof(name), "%s: claims intact", rows[i].alg);
		T_EQ_STR(j ? json_get_str(j->claims, "jti") : NULL,
		    "b6d9f0c2-1", name);
		if (rows[i].alg[0] == 'E') {
			size_t want = 2 * jwk_ec_coord_size(
			    (*rows[i].key)->curve_nid);

			snprintf(name, sizeof(name), "%s: R||S is %zu bytes",
			    rows[i].alg, want);
			T_EQ_INT(j ? j->siglen : 0, want, name);
		}
		jwt_free(j);
		free(tok);
	}

	tok = jwt_sign(rsa_k, "RS256", "at+jwt", c);
	j = tok ? jwt_parse(tok, strlen(tok)) : NULL;
	T_EQ_STR(j ? json_get_str(j->header, "typ") : NULL, "at+jwt",
	    "custom typ");
	jwt_free(j);
	free(tok);

	/* Signing refuses what verification would refuse. */
	T_OK(jwt_sign(rsa_k, "ES256", NULL, c) == NULL, "sign ES256 with RSA");
	T_OK(jwt_sign(p256_k, "RS256", NULL, c) == NULL, "sign RS256 with EC");
	T_OK(jwt_sign(p256_k, "ES384", NULL, c) == NULL, "sign ES384 with P-256");
	T_OK(jwt_sign(rsa_k, "none", NULL, c) == NULL, "sign none");
	T_OK(jwt_sign(rsa_k, "HS256", NULL, c) == NULL, "sign HS256");
	T_OK(jwt_sign(rsa_k, "PS256", NULL, c) == NULL, "sign PS256");
	T_OK(jwt_sign(rsa_pub, "RS256", NULL, c) == NULL,
	    "sign with a public-only key");
	T_OK(jwt_sign(NULL, "RS256", NULL, c) == NULL, "sign without key");
	{
		cJSON *arr = cJSON_CreateArray();

		T_OK(jwt_sign(rsa_k, "RS256", NULL, arr) == NULL,
		    "sign claims that are not an object");
		cJSON_Delete(arr);
	}
	cJSON_Delete(c);
}

/* ---- attacks on verification ------------------------------------------ */

#define CLAIMS	"{\"iss\":\"c\",\"sub\":\"c\",\"aud\":\"https://as.example/token\"," \
		"\"exp\":1750000240,\"jti\":\"j1\"}"

struct attack_row {
	const char	*name;
	char		*tok;		/* owned */
	size_t		 len;		/* 0: strlen */
	const struct jwk *key;
};

static void
test_attacks(void)
{
	static struct attack_row rows[64];
	size_t n = 0, i;
	char *good_rs, *good_es, *good_es384, *t, *sig64, hdr[256];
	unsigned char *raw;
	size_t rawlen = 0;

#define ROW(nm, tk, k) do { \
	rows[n].name = (nm); rows[n].tok = (tk); rows[n].len = 0; \
	rows[n].key = *(k); n++; \
} while (0)

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"%s\"}",
	    rsa_k->kid);
	good_rs = forge(hdr, CLAIMS, F_RSA, rsa_pk, "SHA256");
	good_es = forge("{\"alg\":\"ES256\"}", CLAIMS, F_EC_JOSE, p256_pk,
	    "SHA256");
	good_es384 = forge("{\"alg\":\"ES384\"}", CLAIMS, F_EC_JOSE, p384_pk,
	    "SHA384");
	/* The forging itself is right: these must pass. */
	T_OK(accepted(good_rs, 0, rsa_pub), "control: forged RS256 verifies");
	T_OK(accepted(good_es, 0, p256_pub), "control: forged ES256 verifies");
	T_OK(accepted(good_es384, 0, p384_pub),
	    "control: forged ES384 verifies");

	/* alg none, RFC 8725 §2.1. */
	ROW("alg none, empty signature", forge("{\"alg\":\"none\"}", CLAIMS,
	    F_EMPTY, NULL, NULL), &rsa_pub);
	ROW("alg none, typ JWT, empty signature",
	    forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", CLAIMS, F_EMPTY, NULL,
	    NULL), &p256_pub);
	t = forge("{\"alg\":\"none\"}", CLAIMS, F_EMPTY, NULL, NULL);
	t[strlen(t) - 1] = '\0';	/* no trailing dot: two parts */
	ROW("alg none, no signature part", t, &rsa_pub);
	ROW("alg none with a real RS256 signature",
	    replace_part(good_rs, 0, "eyJhbGciOiJub25lIn0"), &rsa_pub);
	ROW("alg None", forge("{\"alg\":\"None\"}", CLAIMS, F_EMPTY, NULL,
	    NULL), &rsa_pub);
	ROW("alg NONE", forge("{\"alg\":\"NONE\"}", CLAIMS, F_EMPTY, NULL,
	    NULL), &rsa_pub);
	ROW("alg empty string", forge("{\"alg\":\"\"}", CLAIMS, F_EMPTY, NULL,
	    NULL), &rsa_pub);

	/* HMAC keyed with the RSA public key, RFC 8725 §2.1. */
	ROW("HS256 keyed with the RSA public key PEM",
	    forge("{\"alg\":\"HS256\"}", CLAIMS, F_HMAC_PEM, rsa_pk, "SHA256"),
	    &rsa_pub);
	ROW("HS256 keyed with the RSA public key PEM, private jwk",
	    forge("{\"alg\":\"HS256\"}", CLAIMS, F_HMAC_PEM, rsa_pk, "SHA256"),
	    &rsa_k);
	ROW("HS384 keyed with the EC public key PEM",
	    forge("{\"alg\":\"HS384\"}", CLAIMS, F_HMAC_PEM, p384_pk, "SHA384"),
	    &p384_pub);
	ROW("PS256 with a valid PSS signature",
	    forge("{\"alg\":\"PS256\"}", CLAIMS, F_PSS, rsa_pk, "SHA256"),
	    &rsa_pub);
	ROW("unknown alg RS1", forge("{\"alg\":\"RS1\"}", CLAIMS, F_RSA, rsa_pk,
	    "SHA1"), &rsa_pub);
	ROW("EdDSA", forge("{\"alg\":\"EdDSA\"}", CLAIMS, F_EMPTY, NULL, NULL),
	    &rsa_pub);

	/* Key type and curve confusion. */
	ROW("ES256 token, RSA key", strdup(good_es), &rsa_pub);
	ROW("RS256 token, P-256 key", strdup(good_rs), &p256_pub);
	ROW("ES256 token, P-384 key", strdup(good_es), &p384_pub);
	ROW("ES384 token, P-256 key", strdup(good_es384), &p256_pub);
	ROW("ES384 token, P-521 key", strdup(good_es384), &p521_pub);
	ROW("ES256 token relabelled ES384, P-384 key",
	    replace_part(good_es, 0, "eyJhbGciOiJFUzM4NCJ9"), &p384_pub);
	ROW("RS256 token relabelled RS384", replace_part(good_rs, 0,
	    "eyJhbGciOiJSUzM4NCJ9"), &rsa_pub);

	/* DER ECDSA signature instead of R||S (RFC 7518 §3.4). */
	ROW("ES256 with DER signature", forge("{\"alg\":\"ES256\"}", CLAIMS,
	    F_EC_DER, p256_pk, "SHA256"), &p256_pub);
	ROW("ES384 with DER signature", forge("{\"alg\":\"ES384\"}", CLAIMS,
	    F_EC_DER, p384_pk, "SHA384"), &p384_pub);
	ROW("ES512 with DER signature", forge("{\"alg\":\"ES512\"}", CLAIMS,
	    F_EC_DER, p521_pk, "SHA512"), &p521_pub);

	/* Damage. */
	sig64 = strdup(part(good_rs, 2));
	raw = b64url_decode(sig64, strlen(sig64), &rawlen);
	raw[rawlen / 2] ^= 0x01;
	free(sig64);
	sig64 = b64url_encode(raw, rawlen);
	ROW("RS256 one flipped bit in the signature",
	    replace_part(good_rs, 2, sig64), &rsa_pub);
	free(sig64);
	free(raw);
	sig64 = strdup(part(good_es, 2));
	raw = b64url_decode(sig64, strlen(sig64), &rawlen);
	raw[0] ^= 0x80;
	free(sig64);
	sig64 = b64url_encode(raw, rawlen);
	ROW("ES256 one flipped bit in the signature",
	    replace_part(good_es, 2, sig64), &p256_pub);
	/* R||S with one byte more or less. */
	raw = realloc(raw, rawlen + 1);
	raw[rawlen] = 0;
	free(sig64);
	sig64 = b64url_encode(raw, rawlen + 1);
	ROW("ES256 signature one byte long", replace_part(good_es, 2, sig64),
	    &p256_pub);
	free(sig64);
	sig64 = b64url_encode(raw, rawlen - 1);
	ROW("ES256 signature one byte short", replace_part(good_es, 2, sig64),
	    &p256_pub);
	free(sig64);
	free(raw);
	sig64 = b64s("{\"iss\":\"c\",\"sub\":\"d\",\"aud\":"
	    "\"https://as.example/token\",\"exp\":1750000240,\"jti\":\"j1\"}");
	ROW("RS256 claims changed (sub c -> d)", replace_part(good_rs, 1, sig64),
	    &rsa_pub);
	free(sig64);
	t = strdup(good_rs);
	t[strlen(t) - 4] = '\0';
	ROW("truncated by 4 characters", t, &rsa_pub);
	t = strdup(good_rs);
	t[strlen(t) - 1] = '\0';
	ROW("truncated by 1 character", t, &rsa_pub);
	t = strdup(good_rs);
	*strrchr(t, '.') = '\0';
	ROW("truncated to two parts", t, &rsa_pub);
	t = strdup(good_rs);
	t[strlen(part(good_rs, 0))] = '\0';
	ROW("truncated to the header", t, &rsa_pub);
	t = malloc(strlen(good_rs) + 8);
	sprintf(t, "%s.AAAA", good_rs);
	ROW("four parts", t, &rsa_pub);
	t = malloc(strlen(good_rs) + 16);
	sprintf(t, "%s.AAAA.AAAA", good_rs);
	ROW("five parts (JWE shape)", t, &rsa_pub);
	t = malloc(strlen(good_rs) + 8);
	sprintf(t, "%s==", good_rs);
	ROW("padding on the signature", t, &rsa_pub);
	t = replace_part(good_rs, 0, "eyJhbGciOiJSUzI1NiJ9==");
	ROW("padding on the header", t, &rsa_pub);
	t = strdup(good_rs);
	*strrchr(t, '.') = '\0';
	{
		char *u = malloc(strlen(t) + 8);

		sprintf(u, "%s..", t);
		free(t);
		t = u;
	}
	ROW("empty parts", t, &rsa_pub);
	t = strdup(good_rs);
	t[strlen(t) - 10] = '+';
	ROW("'+' in the signature", t, &rsa_pub);
	t = strdup(good_rs);
	t[strlen(t) - 10] = '/';
	ROW("'/' in the signature", t, &rsa_pub);
	t = strdup(good_rs);
	t[strlen(part(good_rs, 0)) + 3] = '*';
	ROW("'*' in the claims", t, &rsa_pub);
	t = malloc(strlen(good_rs) + 8);
	sprintf(t, " %s", good_rs);
	ROW("leading space", t, &rsa_pub);
	t = malloc(strlen(good_rs) + 8);
	sprintf(t, "%s\n", good_rs);
	ROW("trailing newline", t, &rsa_pub);
	t = strdup(good_rs);
	ROW("NUL inside the token", t, &rsa_pub);
	t[10] = '\0';
	rows[n - 1].len = strlen(good_rs);

	/* Duplicates and header shape (RFC 7515 §5.2, §4.1.11). */
	ROW("duplicate claim names", forge("{\"alg\":\"RS256\"}",
	    "{\"sub\":\"alice\",\"aud\":\"x\",\"sub\":\"admin\"}", F_RSA, rsa_pk,
	    "SHA256"), &rsa_pub);
	ROW("duplicate claim via escape", forge("{\"alg\":\"RS256\"}",
	    "{\"sub\":\"alice\",\"\\u0073ub\":\"admin\"}", F_RSA, rsa_pk,
	    "SHA256"), &rsa_pub);
	ROW("duplicate alg in header", forge("{\"alg\":\"RS256\","
	    "\"alg\":\"none\"}", CLAIMS, F_RSA, rsa_pk, "SHA256"), &rsa_pub);
	ROW("alg not a string", forge("{\"alg\":256}", CLAIMS, F_RSA, rsa_pk,
	    "SHA256"), &rsa_pub);
	ROW("no alg", forge("{\"typ\":\"JWT\"}", CLAIMS, F_RSA, rsa_pk,
	    "SHA256"), &rsa_pub);
	ROW("kid not a string", forge("{\"alg\":\"RS256\",\"kid\":1}", CLAIMS,
	    F_RSA, rsa_pk, "SHA256"), &rsa_pub);
	ROW("crit header", forge("{\"alg\":\"RS256\",\"crit\":[\"exp\"],"
	    "\"exp\":1}", CLAIMS, F_RSA, rsa_pk, "SHA256"), &rsa_pub);
	ROW("header is an array", forge("[\"RS256\"]", CLAIMS, F_RSA, rsa_pk,
	    "SHA256"), &rsa_pub);
	ROW("claims are an array", forge("{\"alg\":\"RS256\"}", "[1]", F_RSA,
	    rsa_pk, "SHA256"), &rsa_pub);
	ROW("claims are a string", forge("{\"alg\":\"RS256\"}", "\"x\"", F_RSA,
	    rsa_pk, "SHA256"), &rsa_pub);
	ROW("claims with escaped NUL", forge("{\"alg\":\"RS256\"}",
	    "{\"sub\":\"alice\\u0000admin\"}", F_RSA, rsa_pk, "SHA256"),
	    &rsa_pub);
	ROW("claims not JSON", forge("{\"alg\":\"RS256\"}", "sub=alice", F_RSA,
	    rsa_pk, "SHA256"), &rsa_pub);
	{
		char big[JWT_MAX_LEN + 64];

		snprintf(big, sizeof(big), "{\"sub\":\"%0*d\"}",
		    JWT_MAX_LEN * 3 / 4, 0);
		ROW("token over 16 KiB", forge("{\"alg\":\"RS256\"}", big,
		    F_RSA, rsa_pk, "SHA256"), &rsa_pub);
	}
	ROW("empty token", strdup(""), &rsa_pub);
	ROW("dots only", strdup(".."), &rsa_pub);
#undef ROW

	for (i = 0; i < n; i++) {
		T_OK(!accepted(rows[i].tok, rows[i].len, rows[i].key),
		    rows[i].name);
		free(rows[i].tok);
	}

	/* Where parsing is fine the refusal must come from jwt_verify. */
	T_OK(parses(good_rs, 0), "control: good token parses");
	{
		char *none = forge("{\"alg\":\"none\"}", CLAIMS, F_EMPTY, NULL,
		    NULL);
		char *hs = forge("{\"alg\":\"HS256\"}", CLAIMS, F_HMAC_PEM,
		    rsa_pk, "SHA256");
		char *der = forge("{\"alg\":\"ES256\"}", CLAIMS, F_EC_DER,
		    p256_pk, "SHA256");

		T_OK(parses(none, 0), "alg none parses, refused by verify");
		T_OK(parses(hs, 0), "HS256 parses, refused by verify");
		T_OK(parses(der, 0), "DER ES256 parses, refused by verify");
		free(none);
		free(hs);
		free(der);
	}

	/* A key restricted to another alg refuses even a valid signature. */
	{
		struct jwk *r384 = jwk_new(rsa_pk, "RS384");

		T_OK(!accepted(good_rs, 0, r384),
		    "RS256 token, key restricted to RS384");
		jwk_free(r384);
	}

	free(good_rs);
	free(good_es);
	free(good_es384);
	T_EQ_INT(jwt_verify(NULL, rsa_pub), -1, "verify NULL token");
	T_OK(jwt_parse(NULL, 10) == NULL, "parse NULL");
}

/* ---- key lookup by kid ------------------------------------------------ */

static void
test_kid_lookup(void)
{
	cJSON *c = claims_now();
	char *tok = jwt_sign(p256_k, "ES256", NULL, c);
	char *forged, hdr[128];
	struct jwt *j = jwt_parse(tok, strlen(tok));
	const struct jwk *k;
	int amb = -1;

	k = jwk_set_find(pub, j->kid, j->alg, &amb);
	T_OK(k == p256_pub && amb == 0, "kid finds the signing key");
	T_EQ_INT(k ? jwt_verify(j, k) : -2, 0, "found key verifies");
	jwt_free(j);

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\"}",
	    "unknown-kid");
	forged = forge(hdr, CLAIMS, F_EC_JOSE, p256_pk, "SHA256");
	j = jwt_parse(forged, strlen(forged));
	T_OK(j != NULL && jwk_set_find(pub, j->kid, j->alg, &amb) == NULL,
	    "wrong kid finds no key");
	jwt_free(j);
	free(forged);

	/* The RSA key's kid with alg ES256: the kid matches, the alg does
	 * not fit, no key. */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\"}",
	    rsa_pub->kid);
	forged = forge(hdr, CLAIMS, F_EC_JOSE, p256_pk, "SHA256");
	j = jwt_parse(forged, strlen(forged));
	T_OK(j != NULL && jwk_set_find(pub, j->kid, j->alg, &amb) == NULL,
	    "RSA kid with ES256 finds no key");
	jwt_free(j);
	free(forged);
	free(tok);
	cJSON_Delete(c);
}

/* ---- claims ----------------------------------------------------------- */

static const struct claims_row {
	const char	*name;
	const char	*claims;
	long		 skew;
	long		 max_future;
	int		 req_exp, req_jti;
	const char	*why;		/* NULL: accepted */
} claims_rows[] = {
	{ "baseline", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000100,\"iat\":1750000000,\"jti\":\"j\"}", 30, 300, 1, 1, NULL },
	{ "expired", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1749999900,\"jti\":\"j\"}", 30, 300, 1, 1, "exp in the past" },
	{ "expired within skew", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1749999990,\"jti\":\"j\"}", 30, 300, 1, 1, NULL },
	{ "exp exactly now - skew", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1749999970,\"jti\":\"j\"}", 30, 300, 1, 1, "exp in the past" },
	{ "exp now, no skew", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000000,\"jti\":\"j\"}", 0, 300, 1, 1, "exp in the past" },
	{ "negative skew treated as 0", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000001,\"jti\":\"j\"}", -100, 300, 1, 1, NULL },
	{ "exp too far in the future", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750003600,\"jti\":\"j\"}", 30, 300, 1, 1, "exp too far in the future" },
	{ "exp at the future limit", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000330,\"jti\":\"j\"}", 30, 300, 1, 1, NULL },
	{ "exp just past the limit", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000331,\"jti\":\"j\"}", 30, 300, 1, 1, "exp too far in the future" },
	{ "far exp allowed without limit", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1850000000,\"jti\":\"j\"}", 30, 0, 1, 1, NULL },
	{ "exp missing, required", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"jti\":\"j\"}", 30, 300, 1, 1, "exp missing" },
	{ "exp missing, optional", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"jti\":\"j\"}", 30, 300, 0, 1, NULL },
	{ "exp as a string", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":\"1750000100\",\"jti\":\"j\"}", 30, 300, 1, 1, "exp not a number" },
	{ "exp as a string, optional", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":\"9999999999\"}", 30, 0, 0, 0, "exp not a number" },
	{ "exp fractional", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000100.5,\"jti\":\"j\"}", 30, 300, 1, 1, NULL },
	{ "exp null", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":null,\"jti\":\"j\"}", 30, 300, 1, 1, "exp not a number" },
	{ "not yet valid", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000100,\"nbf\":1750000060,\"jti\":\"j\"}", 30, 300, 1, 1, "nbf in the future" },
	{ "nbf within skew", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000100,\"nbf\":1750000020,\"jti\":\"j\"}", 30, 300, 1, 1, NULL },
	{ "nbf as a string", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000100,\"nbf\":\"0\",\"jti\":\"j\"}", 30, 300, 1, 1, "nbf not a number" },
	{ "iat as a string", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000100,\"iat\":\"now\",\"jti\":\"j\"}", 30, 300, 1, 1, "iat not a number" },
	{ "wrong aud", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"https://other.example/token\",\"exp\":1750000100,\"jti\":\"j\"}", 30, 300, 1, 1, "aud mismatch" },
	{ "aud case differs", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"aud\",\"exp\":1750000100,\"jti\":\"j\"}", 30, 300, 1, 1, "aud mismatch" },
	{ "aud with suffix", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD/\",\"exp\":1750000100,\"jti\":\"j\"}", 30, 300, 1, 1, "aud mismatch" },
	{ "aud array containing", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":[\"x\",\"AUD\"],\"exp\":1750000100,\"jti\":\"j\"}", 30, 300, 1, 1, NULL },
	{ "aud array not containing", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":[\"x\",\"y\"],\"exp\":1750000100,\"jti\":\"j\"}", 30, 300, 1, 1, "aud mismatch" },
	{ "aud empty array", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":[],\"exp\":1750000100,\"jti\":\"j\"}", 30, 300, 1, 1, "aud mismatch" },
	{ "aud array with a number", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":[\"AUD\",1],\"exp\":1750000100,\"jti\":\"j\"}", 30, 300, 1, 1, "aud malformed" },
	{ "aud nested array", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":[[\"AUD\"]],\"exp\":1750000100,\"jti\":\"j\"}", 30, 300, 1, 1, "aud malformed" },
	{ "aud object", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":{\"AUD\":1},\"exp\":1750000100,\"jti\":\"j\"}", 30, 300, 1, 1, "aud malformed" },
	{ "aud missing", "{\"iss\":\"cl\",\"sub\":\"cl\",\"exp\":1750000100,\"jti\":\"j\"}", 30, 300, 1, 1, "aud missing" },
	{ "wrong iss", "{\"iss\":\"evil\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000100,\"jti\":\"j\"}", 30, 300, 1, 1, "iss mismatch" },
	{ "iss prefix", "{\"iss\":\"c\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000100,\"jti\":\"j\"}", 30, 300, 1, 1, "iss mismatch" },
	{ "iss missing", "{\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000100,\"jti\":\"j\"}", 30, 300, 1, 1, "iss mismatch" },
	{ "iss not a string", "{\"iss\":[\"cl\"],\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000100,\"jti\":\"j\"}", 30, 300, 1, 1, "iss mismatch" },
	{ "wrong sub", "{\"iss\":\"cl\",\"sub\":\"other\",\"aud\":\"AUD\",\"exp\":1750000100,\"jti\":\"j\"}", 30, 300, 1, 1, "sub mismatch" },
	{ "jti missing", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000100}", 30, 300, 1, 1, "jti missing" },
	{ "jti empty", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000100,\"jti\":\"\"}", 30, 300, 1, 1, "jti missing" },
	{ "jti a number", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000100,\"jti\":7}", 30, 300, 1, 1, "jti not a string" },
	{ "jti missing, optional", "{\"iss\":\"cl\",\"sub\":\"cl\",\"aud\":\"AUD\",\"exp\":1750000100}", 30, 300, 1, 0, NULL },
};

static void
test_claims(void)
{
	struct jwt_expect e;
	struct jwt *j;
	const char *why;
	char *tok;
	size_t i;
	cJSON *c;

	for (i = 0; i < sizeof(claims_rows) / sizeof(claims_rows[0]); i++) {
		const struct claims_row *r = &claims_rows[i];

		c = json_parse_strict(r->claims, strlen(r->claims), NULL);
		tok = c ? jwt_sign(rsa_k, "RS256", NULL, c) : NULL;
		j = tok ? jwt_parse(tok, strlen(tok)) : NULL;
		if (j == NULL) {
			T_OK(0, r->name);
			cJSON_Delete(c);
			free(tok);
			continue;
		}
		memset(&e, 0, sizeof(e));
		e.iss = "cl";
		e.sub = "cl";
		e.aud = "AUD";
		e.now = NOW;
		e.skew = r->skew;
		e.max_future_exp = r->max_future;
		e.require_exp = r->req_exp;
		e.require_jti = r->req_jti;
		why = NULL;
		if (r->why == NULL)
			T_EQ_INT(jwt_check_claims(j, &e, &why), 0, r->name);
		else {
			T_EQ_INT(jwt_check_claims(j, &e, &why), -1, r->name);
			T_EQ_STR(why, r->why, r->name);
		}
		jwt_free(j);
		free(tok);
		cJSON_Delete(c);
	}

	/* Nothing expected but the time: any iss, sub, aud pass. */
	c = claims_now();
	tok = jwt_sign(rsa_k, "RS256", NULL, c);
	j = jwt_parse(tok, strlen(tok));
	memset(&e, 0, sizeof(e));
	e.now = NOW;
	T_EQ_INT(jwt_check_claims(j, &e, NULL), 0, "only time checked");
	e.now = NOW + 1000;
	T_EQ_INT(jwt_check_claims(j, &e, NULL), -1,
	    "expired, why may be NULL");
	T_EQ_INT(jwt_check_claims(NULL, &e, NULL), -1, "NULL token");
	T_EQ_INT(jwt_check_claims(j, NULL, NULL), -1, "NULL expectations");
	jwt_free(j);
	free(tok);
	cJSON_Delete(c);
	jwt_free(NULL);
}

/* ---- setup ------------------------------------------------------------ */

int main(void);

int
main(void)
{
	struct jwk *all[4];
	struct jwk_set priv = { all, 4 };
	cJSON *jwks;
	size_t i;

	log_set_level(LOGL_ERROR);
	rsa_pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	p256_pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	p384_pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	p521_pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	if (!rsa_pk || !p256_pk || !p384_pk || !p521_pk) {
		printf("Bail out! key generation failed\n");
		return 99;
	}
	all[0] = rsa_k = jwk_new(rsa_pk, NULL);
	all[1] = p256_k = jwk_new(p256_pk, NULL);
	all[2] = p384_k = jwk_new(p384_pk, NULL);
	all[3] = p521_k = jwk_new(p521_pk, NULL);
	jwks = jwk_set_public_json(&priv);
	/* Drop the published alg so that the RSA key serves RS384/512 too,
	 * as a client key without "alg" would. */
	for (i = 0; i < 4; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(
		    cJSON_GetArrayItem(json_get_arr(jwks, "keys"), (int)i),
		    "alg");
	pub = jwk_set_parse(jwks);
	cJSON_Delete(jwks);
	if (pub == NULL || pub->n != 4) {
		printf("Bail out! public JWKS\n");
		return 99;
	}
	rsa_pub = pub->keys[0];
	p256_pub = pub->keys[1];
	p384_pub = pub->keys[2];
	p521_pub = pub->keys[3];

	test_round_trips();
	test_attacks();
	test_kid_lookup();
	test_claims();

	jwk_set_free(pub);
	for (i = 0; i < 4; i++)
		jwk_free(all[i]);
	EVP_PKEY_free(rsa_pk);
	EVP_PKEY_free(p256_pk);
	EVP_PKEY_free(p384_pk);
	EVP_PKEY_free(p521_pk);
	return t_done();
}
