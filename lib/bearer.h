/*
 * bearer: verification of smartauth's own access tokens where they are
 * presented to a resource server (the FHIR gateway, the launch RPC):
 * "Authorization: Bearer <jwt>" (RFC 6750 §2.1), RFC 9068 JWT access
 * tokens signed by this server (DESIGN §5).
 *
 * A token is accepted only when every step holds, in this order:
 *   1. the header is "Bearer" (scheme case-insensitive, RFC 7235 §2.1)
 *      followed by one token of JWS compact characters (RFC 6750 §2.1);
 *   2. jwt_parse accepts it, its "alg" is RS256 or ES256, its "typ" is
 *      "at+jwt" (RFC 9068 §4: "application/at+jwt" too), and the key named
 *      by "kid" is one of the server's keys and verifies the signature;
 *   3. iss and aud equal the FHIR base (aud a string or an array holding
 *      it), exp lies in the future (BEARER_SKEW seconds of clock skew),
 *      jti, sub and client_id are strings;
 *   4. the smart.access_tokens row of its jti exists, is not revoked, has
 *      not expired by the database's clock, belongs to the client and user
 *      the token names, and that client (and user, if any) is still
 *      active.
 * Step 4 runs on every call: nothing "valid" is cached, so a revocation
 * takes effect on the next request (RFC 7009 §2.2).  What steps 2 and 3
 * found is remembered (lib/bearer_cache, keyed by the token's SHA-256,
 * at most BEARER_CACHE_N tokens, none past its exp): a token presented
 * again skips the signature verification, never the claims' time checks
 * nor step 4.
 *
 * A program that batches step 4 with its own statements (one database
 * round trip per request, db_exec_batch) calls bearer_check_offline,
 * puts bearer_row_stmt into its batch and hands the result to
 * bearer_check_result; bearer_authenticate is the three in a row.  A
 * program that folds step 4 into a statement of its own (one statement
 * instead of a batch, as the FHIR gateway does) selects
 * BEARER_ROW_COLUMNS first and LEFT JOINs BEARER_ROW_FROM on the jti, and
 * hands that result to bearer_check_result the same way.
 *
 * Owns the struct bearer it returns and a public-only copy of the key set
 * (bearer_keys_load), so a resource server never holds a private key.
 * Never logs a token, a signature or a claim value: only why a token was
 * refused and, on success, the client id.
 */
#ifndef SMARTAUTH_BEARER_H
#define SMARTAUTH_BEARER_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "jwk.h"
#include "jwt.h"

/* Seconds of clock skew allowed on exp/nbf (the database checks expiry too). */
#define BEARER_SKEW	30
/* Verified tokens remembered per process (about 1 KiB each). */
#define BEARER_CACHE_N	1024

enum bearer_error {
	BEARER_OK = 0,
	BEARER_MISSING,		/* no Authorization header, or another scheme */
	BEARER_MALFORMED,	/* header syntax, JWT syntax, typ, missing claims */
	BEARER_BAD_SIGNATURE,	/* algorithm, unknown key, signature */
	BEARER_EXPIRED,		/* exp (or the row's expires_at) passed */
	BEARER_WRONG_AUDIENCE,	/* iss or aud is not this server's FHIR base */
	BEARER_REVOKED,		/* no such row, revoked, client or user gone */
	BEARER_DB_UNAVAILABLE,	/* answer 503 with Retry-After */
	BEARER_INTERNAL		/* out of memory, database statement error: 500 */
};

/* A verified access token.  Every member is owned by the struct. */
struct bearer {
	char		*jti;
	char		*client_id;
	char		*user_id;	/* NULL: backend (client_credentials) token */
	char		*scope;		/* as granted ("" when none) */
	cJSON		*launch_context; /* object from the token row ({} when none) */
	cJSON		*claims;	/* the verified JWT claims */
};

/* Short text for e, fit for error_description and logs (static). */
const char	*bearer_strerror(enum bearer_error e);

/* HTTP status to answer e with: 401, 503 or 500. */
int		 bearer_status(enum bearer_error e);

/*
 * Writes the RFC 6750 §3 WWW-Authenticate value for e into out:
 * 'Bearer realm="smartauth"' when credentials are missing (§3.1: no error
 * code), else with error="invalid_token" and an error_description.
 * Returns 0, or -1 when out is too small.
 */
int		 bearer_challenge(enum bearer_error e, char *out, size_t outsz);

/*
 * 1 when the Authorization value uses the Bearer scheme (any case):
 * "Bearer" alone or followed by a blank, whatever comes next; 0 otherwise
 * (NULL included).
 */
int		 bearer_is_bearer(const char *authorization);

/*
 * Splits an Authorization value: "Bearer" (case-insensitive), one or more
 * spaces, then one token of [A-Za-z0-9-_.] (no padding, no other byte, no
 * trailing blank), at most JWT_MAX_LEN bytes.  On BEARER_OK *token and
 * *len borrow the token inside authorization.  BEARER_MISSING for NULL,
 * "" or another scheme; BEARER_MALFORMED otherwise.
 */
enum bearer_error bearer_parse_header(const char *authorization,
		    const char **token, size_t *len);

/*
 * Steps 2 and 3 on a token already split from its header: verifies the
 * signature with the key from keys named by kid, then the header and the
 * claims against fhir_base at time now.  On BEARER_OK *out holds the
 * parsed token (owned, jwt_free).  Does not touch the database.
 */
enum bearer_error bearer_verify_jwt(const struct jwk_set *keys,
		    const char *fhir_base, const char *token, size_t len,
		    time_t now, struct jwt **out);

/*
 * The whole check (steps 1 to 4) of an Authorization header value.  On
 * BEARER_OK *out holds the verified token (owned, bearer_free); otherwise
 * *out is NULL.  Reads smart.access_tokens, smart.clients and smart.users.
 */
enum bearer_error bearer_authenticate(const char *authorization,
		    const struct jwk_set *keys, const char *fhir_base,
		    time_t now, struct bearer **out);

void		 bearer_free(struct bearer *b);

/* A token that passed steps 1 to 3 and waits for step 4. */
struct bearer_pending {
	cJSON		*claims;	/* owned: the verified claims */
	const char	*params[1];	/* step 4's parameter: the jti (in claims) */
};

/*
 * Steps 1 to 3 of an Authorization header value, with the verified-token
 * cache (see above): on BEARER_OK pd holds the claims (free with
 * bearer_pending_clear, also after bearer_check_result).  keys and
 * fhir_base must be the same for the life of the process (another pair
 * empties the cache).  Never touches the database.
 */
enum bearer_error bearer_check_offline(const char *authorization,
		    const struct jwk_set *keys, const char *fhir_base, time_t now,
		    struct bearer_pending *pd);

/*
 * Step 4's columns and tables.  A statement of the caller's own may take
 * them as its first columns with "FROM (VALUES (1)) x LEFT JOIN ("
 * BEARER_ROW_FROM ") ON t.jti = $n": its one row then has a NULL first
 * column when the token has no row, which bearer_check_result refuses as
 * it refuses a missing row.  Aliases t, c and u are taken.
 */
#define BEARER_ROW_COLUMNS \
	"t.client_id, t.user_id, t.scope, t.launch_context::text, " \
	"t.revoked_at IS NOT NULL, t.expires_at <= now(), c.active, " \
	"coalesce(u.active, t.user_id IS NULL)"
#define BEARER_ROW_NCOLS	8
#define BEARER_ROW_FROM \
	"smart.access_tokens t " \
	"JOIN smart.clients c ON c.id = t.client_id " \
	"LEFT JOIN smart.users u ON u.id = t.user_id"

/* Fills s with step 4's statement for pd (parameters borrowed from pd). */
void		 bearer_row_stmt(struct bearer_pending *pd, struct db_stmt *s);

/*
 * Step 4 on the statement's result (borrowed; NULL when the statement
 * failed: BEARER_DB_UNAVAILABLE or BEARER_INTERNAL after db_unavailable):
 * bearer_row_stmt's, or one row led by BEARER_ROW_COLUMNS (see above).
 * On BEARER_OK *out holds the verified token (owned, bearer_free), and
 * the claims moved from pd into it.
 */
enum bearer_error bearer_check_result(struct bearer_pending *pd, PGresult *res,
		    struct bearer **out);

void		 bearer_pending_clear(struct bearer_pending *pd);

/* Signature verifications the cache saved so far (tests, benchmarks). */
size_t		 bearer_cache_hits(void);
/* Forgets every verified token (tests). */
void		 bearer_cache_reset(void);

/*
 * The public halves of the signing keys in key_dir, with the same kids
 * and algorithms as the JWKS (jwk_set_public_json); the private keys are
 * freed before returning.  Owned (jwk_set_free); NULL on failure, logged.
 */
struct jwk_set	*bearer_keys_load(const char *key_dir);

#endif
