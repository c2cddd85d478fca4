/*
 * crypto_test: base64url/base64 strictness, digests, constant-time
 * comparison, tokens, PKCE S256 (RFC 7636 Appendix B) and bcrypt
 * verification.
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "t.h"

/* RFC 4648 §10 vectors, in the URL-safe alphabet without padding. */
static const struct enc_row {
	const char	*name;
	const char	*raw;
	size_t		 rawlen;
	const char	*enc;
} enc_rows[] = {
	{ "empty", "", 0, "" },
	{ "f", "f", 1, "Zg" },
	{ "fo", "fo", 2, "Zm8" },
	{ "foo", "foo", 3, "Zm9v" },
	{ "foob", "foob", 4, "Zm9vYg" },
	{ "fooba", "fooba", 5, "Zm9vYmE" },
	{ "foobar", "foobar", 6, "Zm9vYmFy" },
	{ "url alphabet", "\xfb\xff\xbf", 3, "-_-_" },
	{ "NUL bytes", "\0\0", 2, "AAA" },
};

static void
test_b64url_encode(void)
{
	size_t i, len;
	char *e;
	unsigned char *d;

	for (i = 0; i < sizeof(enc_rows) / sizeof(enc_rows[0]); i++) {
		const struct enc_row *r = &enc_rows[i];

		e = b64url_encode(r->raw, r->rawlen);
		T_EQ_STR(e, r->enc, r->name);
		free(e);
		len = 99;
		d = b64url_decode(r->enc, strlen(r->enc), &len);
		T_OK(d != NULL && len == r->rawlen &&
		    memcmp(d, r->raw, len) == 0 && d[len] == '\0', r->name);
		free(d);
	}
}

static const struct dec_row {
	const char	*name;
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	const char	*out;		/* NULL: refused */
} b64url_rows[] = {
	{ "plain", "Zm9vYmFy", 0, "foobar" },
	{ "two chars", "Zg", 0, "f" },
	{ "three chars", "Zm8", 0, "fo" },
	{ "padding refused", "Zg==", 0, NULL },
	{ "one pad refused", "Zm8=", 0, NULL },
	{ "plus refused", "Zm9+", 0, NULL },
	{ "slash refused", "Zm9/", 0, NULL },
	{ "space refused", "Zm9v YmFy", 0, NULL },
	{ "leading space refused", " Zm9v", 0, NULL },
	{ "newline refused", "Zm9v\n", 0, NULL },
	{ "CR refused", "Zm9v\r", 0, NULL },
	{ "tab refused", "Zm\t9v", 0, NULL },
	{ "NUL refused", "Zm9v\0YmFy", 9, NULL },
	{ "dot refused", "Zm9.", 0, NULL },
	{ "length 1 refused", "Z", 0, NULL },
	{ "length 5 refused", "Zm9vY", 0, NULL },
	{ "non-zero trailing bits (2 chars)", "Zh", 0, NULL },
	{ "non-zero trailing bits (3 chars)", "Zm9", 0, NULL },
	{ "high byte refused", "Zm9\xc3\xa9", 0, NULL },
	{ "percent-encoding refused", "Zm9%2B", 0, NULL },
};

static const struct dec_row b64_rows[] = {
	{ "std plain", "Zm9vYmFy", 0, "foobar" },
	{ "std two pads", "Zm9vYg==", 0, "foob" },
	{ "std one pad", "Zm9vYmE=", 0, "fooba" },
	{ "std basic credentials", "Y2xpZW50OnMzY3JldA==", 0, "client:s3cret" },
	{ "std plus and slash", "+/+/", 0, "\xfb\xff\xbf" },
	{ "std empty", "", 0, "" },
	{ "std missing padding", "Zm9vYg", 0, NULL },
	{ "std short padding", "Zm9vYg=", 0, NULL },
	{ "std three pads", "Zm9v====", 0, NULL },
	{ "std four pads", "====", 0, NULL },
	{ "std pad in the middle", "Zg==Zm9v", 0, NULL },
	{ "std url alphabet refused", "-_-_", 0, NULL },
	{ "std whitespace refused", "Zm9v\nYmFy", 0, NULL },
	{ "std trailing bits", "Zh==", 0, NULL },
	{ "std trailing bits one pad", "Zm9=", 0, NULL },
	{ "std NUL refused", "Zm\0v", 4, NULL },
};

static void
run_dec(const struct dec_row *rows, size_t n, int url)
{
	size_t i, len, outlen;
	unsigned char *d;

	for (i = 0; i < n; i++) {
		const struct dec_row *r = &rows[i];

		len = r->len ? r->len : strlen(r->in);
		outlen = 12345;
		d = url ? b64url_decode(r->in, len, &outlen) :
		    b64_decode(r->in, len, &outlen);
		if (r->out == NULL)
			T_OK(d == NULL, r->name);
		else
			T_OK(d != NULL && outlen == strlen(r->out) &&
			    memcmp(d, r->out, outlen) == 0, r->name);
		free(d);
	}
}

static void
test_digest(void)
{
	unsigned char md[32];
	char *h;

	h = crypto_sha256_hex("abc");
	T_EQ_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "sha256_hex abc (FIPS 180-2)");
	free(h);
	h = crypto_sha256_hex("");
	T_EQ_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "sha256_hex empty");
	free(h);
	T_OK(crypto_sha256_hex(NULL) == NULL, "sha256_hex NULL");
	crypto_sha256("abc", 3, md);
	T_OK(md[0] == 0xba && md[31] == 0xad, "sha256 raw");
}

static const struct streq_row {
	const char	*name;
	const char	*a, *b;
	int		 eq;
} streq_rows[] = {
	{ "equal", "s3cret-value", "s3cret-value", 1 },
	{ "empty equal", "", "", 1 },
	{ "differ last", "s3cret-value", "s3cret-valuf", 0 },
	{ "differ first", "s3cret", "t3cret", 0 },
	{ "prefix", "s3cret", "s3cre", 0 },
	{ "extension", "s3cret", "s3cretX", 0 },
	{ "empty vs text", "", "x", 0 },
	{ "case", "Secret", "secret", 0 },
	{ "NULL left", NULL, "x", 0 },
	{ "NULL right", "x", NULL, 0 },
	{ "both NULL", NULL, NULL, 0 },
};

static void
test_ct(void)
{
	size_t i;

	for (i = 0; i < sizeof(streq_rows) / sizeof(streq_rows[0]); i++)
		T_EQ_INT(crypto_ct_streq(streq_rows[i].a, streq_rows[i].b),
		    streq_rows[i].eq, streq_rows[i].name);
	T_EQ_INT(crypto_ct_equal("abc", "abc", 3), 1, "ct_equal equal");
	T_EQ_INT(crypto_ct_equal("abc", "abd", 3), 0, "ct_equal differ");
	T_EQ_INT(crypto_ct_equal("a\0c", "a\0d", 3), 0, "ct_equal past NUL");
	T_EQ_INT(crypto_ct_equal("abc", "xyz", 0), 1, "ct_equal zero length");
}

static void
test_tokens(void)
{
	char *a = crypto_token_new(), *b = crypto_token_new();
	unsigned char buf[64], zero[64];
	unsigned char *raw;
	size_t i, ok = 1, len = 0;

	T_OK(a != NULL && b != NULL, "token_new");
	T_EQ_INT(a ? strlen(a) : 0, CRYPTO_TOKEN_LEN, "token is 43 chars");
	for (i = 0; a != NULL && a[i] != '\0'; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-_", a[i]))
			ok = 0;
	T_OK(ok, "token is base64url");
	raw = a ? b64url_decode(a, strlen(a), &len) : NULL;
	T_OK(raw != NULL && len == 32, "token decodes to 256 bits");
	free(raw);
	T_OK(a && b && strcmp(a, b) != 0, "two tokens differ");
	free(a);
	free(b);

	memset(zero, 0, sizeof(zero));
	memset(buf, 0, sizeof(buf));
	T_EQ_INT(crypto_random(buf, sizeof(buf)), 0, "random");
	T_OK(memcmp(buf, zero, sizeof(buf)) != 0, "random is not zeros");
	crypto_wipe(buf, sizeof(buf));
	T_OK(memcmp(buf, zero, sizeof(buf)) == 0, "wipe zeroes");
	crypto_wipe(NULL, 10);
	T_OK(1, "wipe NULL-safe");
}

/* The per-process MAC: stable within the process, input-sensitive. */
static void
test_process_mac(void)
{
	unsigned char a[32], b[32], c[32], d[32];

	T_OK(crypto_process_mac("secret", 6, a) == 0, "process MAC");
	T_OK(crypto_process_mac("secret", 6, b) == 0 && memcmp(a, b, 32) == 0,
	    "process MAC stable for the same input");
	T_OK(crypto_process_mac("secreu", 6, c) == 0 && memcmp(a, c, 32) != 0,
	    "process MAC differs for one byte more");
	T_OK(crypto_process_mac("secret", 5, d) == 0 && memcmp(a, d, 32) != 0,
	    "process MAC differs for a prefix");
}

/* RFC 7636 Appendix B. */
#define PKCE_V	"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define PKCE_C	"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static const struct pkce_row {
	const char	*name;
	const char	*verifier, *challenge;
	int		 ok;
} pkce_rows[] = {
	{ "RFC 7636 Appendix B", PKCE_V, PKCE_C, 1 },
	{ "wrong verifier", "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", PKCE_C, 0 },
	{ "verifier equal to challenge (plain downgrade)", PKCE_C, PKCE_C, 0 },
	{ "challenge with padding", PKCE_V, PKCE_C "=", 0 },
	{ "challenge in std base64", PKCE_V, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM", 0 },
	{ "challenge prefix", PKCE_V, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c", 0 },
	{ "challenge uppercase", PKCE_V, "E9MELHOA2OWVFREMTJGUCHAOEK1T8URWBUGJSSTW-CM", 0 },
	{ "near-miss challenge", PKCE_V, "E9Melhoa2OwvFrEkgRDCM9f5aaB6Q9Z5OTFL3dJ-1cM", 0 },
	{ "empty challenge", PKCE_V, "", 0 },
	{ "42-char verifier", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX", PKCE_C, 0 },
	{ "empty verifier", "", PKCE_C, 0 },
	{ "verifier with space", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEj k", PKCE_C, 0 },
	{ "verifier with plus", "dBjftJeZ4CVP+mB92K27uhbUJU1p1r_wW1gFWFOEjXk", PKCE_C, 0 },
	{ "verifier with slash", "dBjftJeZ4CVP/mB92K27uhbUJU1p1r_wW1gFWFOEjXk", PKCE_C, 0 },
	{ "verifier with percent", "dBjftJeZ4CVP%2DmB92K27uhbUJU1p1r_wW1gFWFOEjXk", PKCE_C, 0 },
	{ "verifier with UTF-8", "dBjftJeZ4CVP\xc3\xa9mB92K27uhbUJU1p1r_wW1gFWFOEjXk", PKCE_C, 0 },
	{ "NULL verifier", NULL, PKCE_C, 0 },
	{ "NULL challenge", PKCE_V, NULL, 0 },
};

static void
test_pkce(void)
{
	char v[200], *c;
	unsigned char md[32];
	size_t i;

	for (i = 0; i < sizeof(pkce_rows) / sizeof(pkce_rows[0]); i++)
		T_EQ_INT(crypto_pkce_s256_check(pkce_rows[i].verifier,
		    pkce_rows[i].challenge), pkce_rows[i].ok, pkce_rows[i].name);

	/* Length bounds with a matching challenge: 43 and 128 pass,
	 * 129 fails even though the challenge matches its hash. */
	memset(v, 0, sizeof(v));
	for (i = 0; i < 129; i++)
		v[i] = "az-._~09AZ"[i % 10];
	v[128] = '\0';
	crypto_sha256(v, 128, md);
	c = b64url_encode(md, 32);
	T_EQ_INT(crypto_pkce_s256_check(v, c), 1, "128-char verifier, all classes");
	free(c);
	v[128] = 'x';
	crypto_sha256(v, 129, md);
	c = b64url_encode(md, 32);
	T_EQ_INT(crypto_pkce_s256_check(v, c), 0, "129-char verifier refused");
	free(c);
	v[43] = '\0';
	crypto_sha256(v, 43, md);
	c = b64url_encode(md, 32);
	T_EQ_INT(crypto_pkce_s256_check(v, c), 1, "43-char verifier");
	free(c);
}

/* htpasswd -nbB -C 4 u password; $2a$ and $2b$ give the same hash for
 * ASCII passwords, which is what pgcrypto's gen_salt('bf') makes. */
#define HASH_Y	"$2y$04$dgie6wD/9ER42G6CRqHcGe.eqpBI/nCRZu/ZMKdECm72DL9tQQL6a"
#define HASH_A	"$2a$04$dgie6wD/9ER42G6CRqHcGe.eqpBI/nCRZu/ZMKdECm72DL9tQQL6a"
#define HASH_B	"$2b$04$dgie6wD/9ER42G6CRqHcGe.eqpBI/nCRZu/ZMKdECm72DL9tQQL6a"

static const struct pw_row {
	const char	*name;
	const char	*pw, *hash;
	int		 ok;
} pw_rows[] = {
	{ "htpasswd $2y$", "password", HASH_Y, 1 },
	{ "pgcrypto-style $2a$", "password", HASH_A, 1 },
	{ "$2b$", "password", HASH_B, 1 },
	{ "wrong password", "Password", HASH_A, 0 },
	{ "password prefix", "passwor", HASH_A, 0 },
	{ "password extended", "password1", HASH_A, 0 },
	{ "empty password", "", HASH_A, 0 },
	{ "UTF-8 password", "p\xc3\xa4ssw\xc3\xb6rd",
	    "$2y$04$7o/DfL/o3KB8HZlMLK8npeYB7Q99chxLP4.N/k8zRZ.QVqen413Ye", 1 },
	{ "NULL password", NULL, HASH_A, 0 },
	{ "NULL hash", "password", NULL, 0 },
	{ "empty hash", "password", "", 0 },
	{ "locked account '*'", "password", "*", 0 },
	{ "truncated hash", "password", "$2a$04$dgie6wD/9ER42G6CRqHcGe.eqpBI/nCRZu/ZMKdECm72DL9tQQL6", 0 },
	{ "hash with newline", "password", HASH_A "\n", 0 },
	{ "hash with bad char", "password", "$2a$04$dgie6wD/9ER42G6CRqHcGe.eqpBI/nCRZu/ZMKdECm72DL9tQQL6!", 0 },
	{ "cost 03", "password", "$2a$03$dgie6wD/9ER42G6CRqHcGe.eqpBI/nCRZu/ZMKdECm72DL9tQQL6a", 0 },
	{ "cost 32", "password", "$2a$32$dgie6wD/9ER42G6CRqHcGe.eqpBI/nCRZu/ZMKdECm72DL9tQQL6a", 0 },
	{ "$2x$ refused", "password", "$2x$04$dgie6wD/9ER42G6CRqHcGe.eqpBI/nCRZu/ZMKdECm72DL9tQQL6a", 0 },
	{ "md5crypt refused", "password", "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", 0 },
	{ "DES crypt refused", "password", "sa3tHJ3/KuYvI", 0 },
	{ "plaintext stored refused", "password", "password", 0 },
	{ "hash as password", HASH_A, HASH_A, 0 },
};

static void
test_password(void)
{
	struct crypt_data cd;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE], hash[61];
	const char *h;
	size_t i;

	for (i = 0; i < sizeof(pw_rows) / sizeof(pw_rows[0]); i++)
		T_EQ_INT(crypto_password_verify(pw_rows[i].pw, pw_rows[i].hash),
		    pw_rows[i].ok, pw_rows[i].name);

	memset(&cd, 0, sizeof(cd));
	h = NULL;
	if (crypt_gensalt_rn("$2b$", 4, NULL, 0, setting, sizeof(setting)))
		h = crypt_rn("correct horse", setting, &cd, sizeof(cd));
	T_OK(h != NULL && strlen(h) == 60, "generated $2b$ hash");
	hash[0] = '\0';
	if (h != NULL)
		snprintf(hash, sizeof(hash), "%s", h);
	T_EQ_INT(crypto_password_verify("correct horse", hash), 1,
	    "generated hash verifies");
	T_EQ_INT(crypto_password_verify("correct horsf", hash), 0,
	    "generated hash, wrong password");
	hash[59] = hash[59] == 'a' ? 'b' : 'a';
	T_EQ_INT(crypto_password_verify("correct horse", hash), 0,
	    "generated hash, altered");
}

int main(void);

int
main(void)
{
	log_set_level(LOGL_ERROR);
	test_b64url_encode();
	run_dec(b64url_rows, sizeof(b64url_rows) / sizeof(b64url_rows[0]), 1);
	run_dec(b64_rows, sizeof(b64_rows) / sizeof(b64_rows[0]), 0);
	test_digest();
	test_ct();
	test_tokens();
	test_process_mac();
	test_pkce();
	test_password();
	return t_done();
}
