/*
 * crypto: random tokens, digests, constant-time helpers, strict base64,
 * PKCE and bcrypt verification.  See crypto.h.
 *
 * Owns nothing between calls.  Every buffer that held a secret (random
 * bytes of a token, the crypt_data area) is wiped before it is released.
 * Never logs inputs or outputs.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <crypt.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "log.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
crypto_random(void *buf, size_t len)
{
	if (len == 0)
		return 0;
	if (buf == NULL || len > INT_MAX) {
		log_err("bad request for %zu random bytes", len);
		return -1;
	}
	if (RAND_bytes(buf, (int)len) != 1) {
		log_openssl("RAND_bytes");
		return -1;
	}
	return 0;
}

char *
crypto_token_new(void)
{
	unsigned char raw[32];
	char *s = NULL;

	if (crypto_random(raw, sizeof(raw)) == 0)
		s = b64url_encode(raw, sizeof(raw));
	crypto_wipe(raw, sizeof(raw));
	return s;
}

int
crypto_digest(const EVP_MD *md, const void *data, size_t len,
    unsigned char *out, unsigned int *outlen)
{
	unsigned int n = 0;

	if (md == NULL || out == NULL || (data == NULL && len > 0)) {
		log_err("bad arguments");
		return -1;
	}
	if (EVP_Digest(len > 0 ? data : "", len, out, &n, md, NULL) != 1) {
		log_openssl("EVP_Digest");
		return -1;
	}
	if (outlen != NULL)
		*outlen = n;
	return 0;
}

void
crypto_sha256(const void *data, size_t len, unsigned char out[32])
{
	if (crypto_digest(EVP_sha256(), data, len, out, NULL) == -1)
		memset(out, 0, 32);
}

char *
crypto_sha256_hex(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	char *out;
	size_t i;

	if (s == NULL) {
		log_err("no input");
		return NULL;
	}
	if (crypto_digest(EVP_sha256(), s, strlen(s), md, NULL) == -1)
		return NULL;
	if ((out = malloc(65)) == NULL) {
		log_err("out of memory");
		return NULL;
	}
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[64] = '\0';
	return out;
}

int
crypto_ct_equal(const void *a, const void *b, size_t len)
{
	if (len == 0)
		return 1;
	if (a == NULL || b == NULL)
		return 0;
	return CRYPTO_memcmp(a, b, len) == 0;
}

int
crypto_ct_streq(const char *a, const char *b)
{
	size_t la, lb;

	if (a == NULL || b == NULL)
		return 0;
	la = strlen(a);
	lb = strlen(b);
	if (la != lb)
		return 0;
	return crypto_ct_equal(a, b, la);
}

void
crypto_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		OPENSSL_cleanse(p, len);
}

/*
 * The keyed context is made on first use and re-initialised (same key) per
 * call: the one-shot HMAC() looks the algorithm up and keys a fresh context
 * every time, which showed as the largest user-space cost of a remembered
 * caller's introspection.
 */
int
crypto_process_mac(const void *data, size_t len, unsigned char mac[32])
{
	static EVP_MAC_CTX *ctx;
	unsigned char key[32];
	OSSL_PARAM params[2];
	EVP_MAC *hmac;
	size_t n = 0;

	if (ctx == NULL) {
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
		params[1] = OSSL_PARAM_construct_end();
		if ((hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL) {
			log_err("HMAC unavailable");
			return -1;
		}
		ctx = EVP_MAC_CTX_new(hmac);
		EVP_MAC_free(hmac);	/* the context holds its own reference */
		if (ctx == NULL || crypto_random(key, sizeof(key)) == -1 ||
		    EVP_MAC_init(ctx, key, sizeof(key), params) != 1) {
			log_err("cannot key the per-process MAC");
			crypto_wipe(key, sizeof(key));
			EVP_MAC_CTX_free(ctx);
			ctx = NULL;
			return -1;
		}
		crypto_wipe(key, sizeof(key));
	} else if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1) {
		log_err("HMAC failed");
		return -1;
	}
	if (EVP_MAC_update(ctx, data, len) != 1 ||
	    EVP_MAC_final(ctx, mac, &n, 32) != 1 || n != 32) {
		log_err("HMAC failed");
		return -1;
	}
	return 0;
}

char *
b64url_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	char *out, *o;
	size_t full = len / 3, rem = len % 3, olen;
	uint32_t v;

	if (data == NULL && len > 0) {
		log_err("no input");
		return NULL;
	}
	if (full > (SIZE_MAX - 4) / 4) {
		log_err("input too large");
		return NULL;
	}
	olen = full * 4 + (rem == 0 ? 0 : rem + 1);
	if ((out = malloc(olen + 1)) == NULL) {
		log_err("out of memory");
		return NULL;
	}
	o = out;
	for (; full > 0; full--, p += 3) {
		v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		*o++ = b64url_alphabet[v >> 18];
		*o++ = b64url_alphabet[(v >> 12) & 0x3f];
		*o++ = b64url_alphabet[(v >> 6) & 0x3f];
		*o++ = b64url_alphabet[v & 0x3f];
	}
	if (rem == 1) {
		*o++ = b64url_alphabet[p[0] >> 2];
		*o++ = b64url_alphabet[(p[0] & 0x03) << 4];
	} else if (rem == 2) {
		v = (uint32_t)p[0] << 8 | p[1];
		*o++ = b64url_alphabet[v >> 10];
		*o++ = b64url_alphabet[(v >> 4) & 0x3f];
		*o++ = b64url_alphabet[(v & 0x0f) << 2];
	}
	*o = '\0';
	return out;
}

/* Value of c in the base64url (url) or standard alphabet; -1 otherwise. */
static int
b64_value(unsigned char c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

/*
 * Decodes n alphabet characters (no padding) of in.  RFC 4648 §3.5: the
 * pad bits of the last character must be zero, so that every byte string
 * has a single accepted encoding.
 */
static unsigned char *
b64_decode_core(const char *in, size_t n, int url, size_t *outlen)
{
	unsigned char *out, *o;
	size_t i, rem = n % 4, olen;
	uint32_t acc = 0;
	int v = 0, bits = 0;

	if (rem == 1) {
		log_debug("impossible base64 length");
		return NULL;
	}
	olen = n / 4 * 3 + (rem == 0 ? 0 : rem - 1);
	if ((out = malloc(olen + 1)) == NULL) {
		log_err("out of memory");
		return NULL;
	}
	o = out;
	for (i = 0; i < n; i++) {
		if ((v = b64_value((unsigned char)in[i], url)) < 0) {
			log_debug("invalid base64 character at offset %zu", i);
			goto fail;
		}
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (unsigned char)(acc >> bits);
		}
	}
	/* 2 or 4 bits are left over after a partial group: they must be 0. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
		log_debug("non-zero trailing bits in base64");
		goto fail;
	}
	*o = '\0';
	if (outlen != NULL)
		*outlen = olen;
	return out;
fail:
	crypto_wipe(out, olen + 1);
	free(out);
	return NULL;
}

unsigned char *
b64url_decode(const char *in, size_t inlen, size_t *outlen)
{
	if (in == NULL && inlen > 0) {
		log_err("no input");
		return NULL;
	}
	return b64_decode_core(inlen > 0 ? in : "", inlen, 1, outlen);
}

unsigned char *
b64_decode(const char *in, size_t inlen, size_t *outlen)
{
	size_t n = inlen;

	if (in == NULL && inlen > 0) {
		log_err("no input");
		return NULL;
	}
	if (inlen % 4 != 0) {
		log_debug("base64 length not a multiple of 4");
		return NULL;
	}
	/* At most two '=' and only at the end (RFC 4648 §4); any other '='
	 * is refused by the alphabet check. */
	if (n > 0 && in[n - 1] == '=')
		n--;
	if (n > 0 && in[n - 1] == '=')
		n--;
	return b64_decode_core(n > 0 ? in : "", n, 0, outlen);
}

/* RFC 7636 §4.1: unreserved characters of RFC 3986 §2.3. */
static int
pkce_char_ok(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

int
crypto_pkce_s256_check(const char *verifier, const char *challenge)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char *computed;
	size_t i, len;
	int ok;

	if (verifier == NULL || challenge == NULL)
		return 0;
	len = strlen(verifier);
	if (len < 43 || len > 128) {
		log_debug("code_verifier length %zu outside 43..128", len);
		return 0;
	}
	for (i = 0; i < len; i++)
		if (!pkce_char_ok((unsigned char)verifier[i])) {
			log_debug("code_verifier has a character outside "
			    "the unreserved set");
			return 0;
		}
	/* §4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))). */
	if (crypto_digest(EVP_sha256(), verifier, len, md, NULL) == -1)
		return 0;
	if ((computed = b64url_encode(md, 32)) == NULL)
		return 0;
	ok = crypto_ct_streq(computed, challenge);
	free(computed);
	return ok;
}

/*
 * A bcrypt hash as written by pgcrypto, OpenBSD, libxcrypt and Apache:
 * "$2" + a|b|y + "$" + two-digit cost (04..31) + "$" + 22 characters of
 * salt and 31 of hash in the bcrypt alphabet [./A-Za-z0-9].
 */
static int
password_hash_ok(const char *h)
{
	size_t i;
	int cost;

	if (strlen(h) != 60)
		return 0;
	if (h[0] != '$' || h[1] != '2' ||
	    (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') ||
	    h[3] != '$' || h[6] != '$')
		return 0;
	if (h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9')
		return 0;
	cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (cost < 4 || cost > 31)
		return 0;
	for (i = 7; i < 60; i++) {
		unsigned char c = (unsigned char)h[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '/'))
			return 0;
	}
	return 1;
}

int
crypto_password_verify(const char *password, const char *hash)
{
	struct crypt_data *cd;
	const char *out;
	int ok = 0;

	if (password == NULL || hash == NULL)
		return 0;
	if (!password_hash_ok(hash)) {
		log_debug("stored hash is not bcrypt");
		return 0;
	}
	/* 32 KiB: on the heap, zeroed as libxcrypt asks before first use. */
	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		log_err("out of memory");
		return 0;
	}
	out = crypt_rn(password, hash, cd, (int)sizeof(*cd));
	if (out == NULL)
		log_debug("crypt_rn refused the password or the hash");
	else if (strlen(out) == 60)
		ok = crypto_ct_equal(out, hash, 60);
	crypto_wipe(cd, sizeof(*cd));
	free(cd);
	return ok;
}
