/*
 * crypto: the small primitives every endpoint needs, in one place so that
 * each is written (and reviewed) once.
 *
 *   - random values and opaque tokens (codes, refresh tokens, launch ids:
 *     256 bits, base64url without padding; DESIGN §5);
 *   - SHA-256 and its hex form, which is how codes and refresh tokens are
 *     stored in the database;
 *   - constant-time comparison and memory wiping;
 *   - strict base64url (RFC 4648 §5, as used by RFC 7515 §2) and strict
 *     standard base64 (RFC 4648 §4, for HTTP Basic, RFC 7617 §2);
 *   - PKCE S256 (RFC 7636 §4.1, §4.2, §4.6);
 *   - bcrypt password and client-secret verification (hashes made by
 *     pgcrypto's crypt(pw, gen_salt('bf'))), through libxcrypt.
 *
 * Owns no state.  Never logs the data it handles (secrets, tokens,
 * passwords, decoded bytes): only why something was refused.
 */
#ifndef SMARTAUTH_CRYPTO_H
#define SMARTAUTH_CRYPTO_H

#include <stddef.h>

#include <openssl/evp.h>

/* Length of crypto_token_new() strings: 32 bytes in base64url. */
#define CRYPTO_TOKEN_LEN	43

/* Fills buf with len bytes from the OpenSSL CSPRNG.  0, or -1 (logged). */
int		 crypto_random(void *buf, size_t len);

/* Owned string of 256 random bits in base64url without padding
 * (CRYPTO_TOKEN_LEN characters); NULL on failure. */
char		*crypto_token_new(void);

/*
 * Digest of data with md into out (EVP_MAX_MD_SIZE bytes are enough);
 * stores the length in *outlen when not NULL.  0, or -1 (logged).
 */
int		 crypto_digest(const EVP_MD *md, const void *data, size_t len,
		    unsigned char *out, unsigned int *outlen);

/*
 * SHA-256 of data into out.  It cannot report failure: should OpenSSL
 * fail, out is zeroed and the error logged.  Code that decides on the
 * digest should prefer crypto_digest(EVP_sha256(), ...).
 */
void		 crypto_sha256(const void *data, size_t len,
		    unsigned char out[32]);

/* Owned lowercase hex of SHA-256(s) (64 characters); NULL on failure or
 * when s is NULL. */
char		*crypto_sha256_hex(const char *s);

/* 1 when the len bytes at a and b are equal, else 0; time depends on len
 * only. */
int		 crypto_ct_equal(const void *a, const void *b, size_t len);

/* 1 when the strings are equal, else 0 (also when either is NULL); time
 * depends on the lengths only, never on the content. */
int		 crypto_ct_streq(const char *a, const char *b);

/* Overwrites len bytes at p in a way the compiler keeps; NULL-safe. */
void		 crypto_wipe(void *p, size_t len);

/*
 * HMAC-SHA256 of len bytes at data under a random key made on first use
 * and never leaving this process, into mac.  For per-process caches that
 * must recognise a credential without storing it (the MAC is useless
 * outside this process).  The keyed context is kept and re-initialised per
 * call.  0, or -1 (logged).
 */
int		 crypto_process_mac(const void *data, size_t len, unsigned char mac[32]);

/* Owned base64url text of data without padding; NULL on failure. */
char		*b64url_encode(const void *data, size_t len);

/*
 * Decodes inlen characters of unpadded base64url.  Strict: refuses '=',
 * '+', '/', whitespace, NUL and any other byte outside the alphabet, a
 * length with inlen % 4 == 1, and non-zero bits left over in the last
 * character (so that each byte string has exactly one encoding).  Returns
 * an owned buffer, NUL-terminated for convenience, with its length
 * (excluding the NUL) in *outlen; NULL when refused.
 */
unsigned char	*b64url_decode(const char *in, size_t inlen, size_t *outlen);

/*
 * Decodes inlen characters of standard padded base64 with the same
 * strictness: length a multiple of 4, '=' only as the last one or two
 * characters, no whitespace, zero leftover bits.  Owned, NUL-terminated.
 */
unsigned char	*b64_decode(const char *in, size_t inlen, size_t *outlen);

/*
 * RFC 7636 §4.6 S256: 1 when verifier is 43..128 characters of
 * [A-Za-z0-9-._~] (§4.1) and BASE64URL(SHA256(verifier)) equals challenge
 * (compared in constant time), else 0.
 */
int		 crypto_pkce_s256_check(const char *verifier,
		    const char *challenge);

/*
 * 1 when password matches the bcrypt hash ("$2a$", "$2b$" or "$2y$",
 * cost 04..31, 60 characters), else 0: a wrong password, a NULL argument,
 * a malformed hash and any other hash scheme (MD5, DES, SHA-crypt...) all
 * give 0.  The computed hash is compared in constant time and wiped.
 */
int		 crypto_password_verify(const char *password, const char *hash);

#endif
