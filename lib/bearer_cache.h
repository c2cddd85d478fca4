/*
 * bearer_cache: a bounded, per-process memory of access tokens whose
 * signature this process has already verified, so that a token presented
 * again skips the RSA verification and the JSON parsing (lib/bearer).
 *
 * Keyed by the SHA-256 digest of the token's compact form: the token itself
 * is never kept.  Each entry holds the verified claims and lives no longer
 * than the token's own exp (plus the allowed clock skew); when the cache is
 * full, the least recently used entry goes.  Only the offline half of the
 * check is remembered: whether the token is revoked, and whether its client
 * and user are still active, is asked of the database on every request
 * (bearer.h step 4), so nothing here can hide a revocation.
 *
 * Owns its entries and their claims.  Not thread-safe (one per process, as
 * the FastCGI programs are single-threaded).  Never logs.
 */
#ifndef SMARTAUTH_BEARER_CACHE_H
#define SMARTAUTH_BEARER_CACHE_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#define BEARER_CACHE_KEYLEN	32	/* SHA-256 */

struct bearer_cache;

/* An empty cache of at most capacity entries (1 or more); NULL on OOM. */
struct bearer_cache *bearer_cache_new(size_t capacity);
void		 bearer_cache_free(struct bearer_cache *c);

/*
 * Borrowed claims stored under key, when present and now is before the
 * entry's expiry; the entry becomes the most recently used.  An entry
 * whose expiry has come is removed and NULL returned.  The pointer stays
 * valid until the next bearer_cache_put or bearer_cache_free.
 */
const cJSON	*bearer_cache_get(struct bearer_cache *c,
		    const unsigned char key[BEARER_CACHE_KEYLEN], time_t now);

/*
 * Stores claims (consumed, even on failure) under key until expiry (an
 * absolute time); replaces an entry with the same key, else evicts the
 * least recently used one when full.  0, or -1 (out of memory).
 */
int		 bearer_cache_put(struct bearer_cache *c,
		    const unsigned char key[BEARER_CACHE_KEYLEN], cJSON *claims,
		    time_t expiry);

/* Entries held now (expired ones not yet found count too). */
size_t		 bearer_cache_count(const struct bearer_cache *c);

/* Drops every entry. */
void		 bearer_cache_clear(struct bearer_cache *c);

#endif
