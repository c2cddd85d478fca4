/*
 * jwt: JSON Web Tokens in JWS compact serialisation (RFC 7519, RFC 7515
 * §7.1) with the RS256/384/512 and ES256/384/512 algorithms (RFC 7518
 * §3.3, §3.4).
 *
 * The server signs access tokens (RFC 9068) and id_tokens with its own
 * keys, and verifies client assertions (RFC 7523, SMART App Launch
 * "asymmetric client authentication") with the client's keys.  Parsing,
 * verifying and checking claims are three separate calls so that the
 * caller can pick the key from the parsed header (jwk_set_find) before
 * anything in the token is trusted.
 *
 * jwt_verify refuses, whatever the header says: "none", every HMAC
 * (HS*) and RSA-PSS (PS*) or unknown algorithm, an algorithm that does
 * not fit the key's type, curve or own "alg" (so HS256 keyed with an RSA
 * public key, or RS256 against an EC key, cannot pass), and ECDSA
 * signatures that are not exactly R||S at the curve's size.  Keys are
 * never taken from the token itself: "jwk", "jku", "x5u" and "x5c"
 * header members are ignored, the caller picks the key by "kid".
 *
 * A struct jwt owns its header, claims and buffers.  This module never
 * logs tokens, signatures or claim values; only why a token was refused.
 */
#ifndef SMARTAUTH_JWT_H
#define SMARTAUTH_JWT_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "jwk.h"

/* Longest compact token jwt_parse() accepts. */
#define JWT_MAX_LEN	16384

struct jwt {
	cJSON		*header;	/* owned */
	cJSON		*claims;	/* owned */
	const char	*alg;		/* borrowed from header */
	const char	*kid;		/* borrowed from header, NULL when absent */
	/* private: signing input span and decoded signature */
	char		*signing_input;
	size_t		 signing_input_len;
	unsigned char	*sig;
	size_t		 siglen;
};

/*
 * Owned compact JWS of claims (a JSON object) signed with key under alg,
 * with header {"alg", "typ" (typ, or "JWT" when typ is NULL), "kid"}.
 * ECDSA signatures are emitted as R||S (RFC 7518 §3.4).  NULL when alg
 * does not fit the key, the key has no private part, or on failure.
 */
char		*jwt_sign(const struct jwk *key, const char *alg,
		    const char *typ, const cJSON *claims);

/*
 * Parses len bytes of a compact JWS: exactly three base64url parts (the
 * strict decoder: no padding, no '+' or '/'), at most JWT_MAX_LEN bytes,
 * header and claims JSON objects parsed with json_parse_strict (so
 * duplicate names are refused), header "alg" a string, "kid" and "typ"
 * strings when present, no "crit" (RFC 7515 §4.1.11: we understand no
 * extension).  Nothing is verified.  Owned, free with jwt_free(); NULL
 * when refused.
 */
struct jwt	*jwt_parse(const char *compact, size_t len);

/*
 * 0 when jwt's signature is valid under key for jwt->alg, -1 otherwise
 * (see the header comment for what is always refused).
 */
int		 jwt_verify(const struct jwt *jwt, const struct jwk *key);

struct jwt_expect {
	const char	*iss;		/* exact "iss" when not NULL */
	const char	*sub;		/* exact "sub" when not NULL */
	const char	*aud;		/* "aud" equal to, or array holding, this */
	time_t		 now;
	long		 skew;		/* seconds of clock skew allowed (>= 0) */
	long		 max_future_exp; /* > 0: exp at most now + this (+ skew) */
	int		 require_exp;
	int		 require_jti;
};

/*
 * Checks the registered claims (RFC 7519 §4.1) against e: iss and sub
 * compared exactly when set; aud a string equal to e->aud or an array of
 * strings containing it (§4.1.3); exp a number later than now - skew
 * (required when e->require_exp, checked whenever present) and, when
 * max_future_exp > 0, not later than now + max_future_exp + skew; nbf, if
 * present, a number not later than now + skew; iat, if present, a number;
 * jti a non-empty string when e->require_jti (a string whenever present).
 * Returns 0, or -1 with *why (when why is not NULL) set to a static
 * string naming the failed check ("exp in the past", "aud mismatch"...).
 */
int		 jwt_check_claims(const struct jwt *jwt,
		    const struct jwt_expect *e, const char **why);

void		 jwt_free(struct jwt *jwt);

#endif
