/*
 * jwk: signing keys and JSON Web Keys (RFC 7517), for the server's own
 * keys and for clients' public keys.
 *
 * The server's keys are PEM files in a key directory (DESIGN §5): every
 * key there is published in the JWKS document, the newest one signs, and
 * each key's "kid" is its RFC 7638 thumbprint.  Clients' keys arrive as a
 * JWKS (inline registration or jwks_uri) and are used only to verify
 * private_key_jwt assertions (RFC 7523 §2.2).
 *
 * Supported: RSA of 2048..8192 bits (RFC 7518 §3.3 requires at least
 * 2048) and EC on P-256, P-384 and P-521 (RFC 7518 §3.4, §6.2.1.1).  A key
 * is usable only for the algorithms matching its type and curve, and only
 * for its own "alg" when it has one (jwk_alg_fits): this is what stops
 * algorithm confusion.
 *
 * A jwk_set owns its keys and their EVP_PKEYs.  This module never
 * publishes, serialises or logs private key material: jwk_set_public_json
 * writes only public members, and client JWKS entries carrying private
 * members are skipped.
 */
#ifndef SMARTAUTH_JWK_H
#define SMARTAUTH_JWK_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

enum jwk_kty {
	JWK_KTY_RSA = 1,
	JWK_KTY_EC = 2
};

struct jwk {
	EVP_PKEY	*pkey;		/* owned */
	enum jwk_kty	 kty;
	/* RFC 7638 SHA-256 thumbprint, base64url, unless the JWKS gave one */
	char		 kid[64];
	/* "" when unrestricted, else the only alg allowed (from JWK "alg"
	 * or implied) */
	char		 alg[8];
	int		 curve_nid;	/* EC only */
	int		 has_private;
	time_t		 mtime;		/* key files: modification time */
	char		*path;		/* key files: path (owned) */
};

struct jwk_set {
	struct jwk	**keys;		/* owned */
	size_t		  n;
};

/*
 * Loads every "*.pem" and "*.key" file of dir (names starting with '.'
 * are ignored); each must hold an RSA or EC private key in PEM (PKCS#8 or
 * traditional, unencrypted).  An unreadable file or one that is not such
 * a key makes the whole load fail, with one log line naming the file and
 * the reason; a world-readable key file is only warned about; a directory
 * without keys is an error.  Keys are sorted newest first (modification
 * time, ties broken by file name in descending order, so that dated names
 * such as "2025-06.pem" also order newest first); a file holding the same
 * key as a newer one is dropped with a warning.  RSA keys are restricted
 * to RS256 and EC keys to the ES algorithm of their curve, which is what
 * jwk_set_public_json() publishes.  Owned, free with jwk_set_free().
 */
struct jwk_set	*jwk_set_load_dir(const char *dir);

/* Borrowed newest key with a private part usable for alg, NULL if none. */
const struct jwk *jwk_set_signer(const struct jwk_set *set, const char *alg);

/*
 * Owned {"keys":[...]} with, for each key, kty, use "sig", kid, alg (the
 * key's own, else RS256 for RSA and ES256/ES384/ES512 by curve) and n, e
 * or crv, x, y (base64url; EC coordinates at full length, RFC 7518
 * §6.2.1.2).  Never a private member.  NULL on failure.
 */
cJSON		*jwk_set_public_json(const struct jwk_set *set);

/*
 * RFC 7638 §3 thumbprint: SHA-256 of the required public members in
 * lexicographic order without whitespace, in base64url (43 characters).
 * out must hold at least 44 bytes.  0, or -1 for an unsupported key.
 */
int		 jwk_thumbprint(EVP_PKEY *pkey, char *out, size_t outsz);

/*
 * Parses a client's public JWKS {"keys":[...]}.  RSA (n, e) and EC (crv,
 * x, y) keys are kept; unknown members are ignored; keys of another kty or
 * curve, with a "use" other than "sig", with an "alg" longer than 7 bytes
 * or a "kid" longer than 63 are skipped (debug log); keys carrying private
 * members ("d", "p", "q", "dp", "dq", "qi", "oth", "k") and keys that fail
 * the public key check (EC point not on the curve, RSA modulus too short)
 * are skipped with a warning.  "kid" and "alg" are kept as given; a key
 * without "kid" gets its thumbprint.  Owned (possibly with n == 0); NULL
 * when jwks is not an object with a "keys" array, or out of memory.
 */
struct jwk_set	*jwk_set_parse(const cJSON *jwks);

/*
 * Borrowed key for verifying a JWS with header kid and alg.  With kid:
 * the single key carrying that kid, provided it fits alg; without: the
 * single key fitting alg.  When more than one key has that kid (or, kid
 * NULL, more than one key fits) returns NULL and sets *ambiguous to 1;
 * otherwise *ambiguous is set to 0.  ambiguous may be NULL.
 */
const struct jwk *jwk_set_find(const struct jwk_set *set, const char *kid,
		    const char *alg, int *ambiguous);

void		 jwk_set_free(struct jwk_set *set);

/*
 * 1 when k may be used with JWS algorithm alg: RS256/RS384/RS512 need an
 * RSA key of at least 2048 bits, ES256 a P-256, ES384 a P-384 and ES512 a
 * P-521 key; and the key's own alg, if any, must be alg.  0 otherwise,
 * including for "none", HS* and PS*.
 */
int		 jwk_alg_fits(const struct jwk *k, const char *alg);

/*
 * Requirements of a supported JWS algorithm: key type, curve (NID_undef
 * for RSA) and digest name, each stored when the pointer is not NULL.
 * 0, or -1 when alg is not one of RS256/384/512, ES256/384/512.
 */
int		 jwk_alg_lookup(const char *alg, enum jwk_kty *kty,
		    int *curve_nid, const char **digest);

/* Size in bytes of a coordinate on a supported curve (32, 48, 66); 0 for
 * any other curve. */
size_t		 jwk_ec_coord_size(int curve_nid);

/*
 * Owned jwk for pkey (a new reference is taken; the caller keeps its
 * own), restricted to alg when alg is not NULL or "".  kid is the
 * thumbprint.  NULL when the key is not supported (logged).
 */
struct jwk	*jwk_new(EVP_PKEY *pkey, const char *alg);

void		 jwk_free(struct jwk *k);

#endif
