/*
 * jwksfetch: clients' JSON Web Key Sets fetched from their registered
 * jwks_uri (RFC 7591 §2, SMART App Launch 2.2 "client-confidential-
 * asymmetric"), with an in-process cache.
 *
 * Fetching rules, so that a slow, hostile or broken key server can never
 * hold up or crash the token program:
 *   - https only; plain http only for loopback hosts (127.0.0.0/8, ::1,
 *     localhost), as smart.put already enforces at registration;
 *   - redirects (at most 3) only to https URLs;
 *   - connect and total time each bounded (JWKSFETCH_TIMEOUT_MS);
 *   - at most JWKSFETCH_MAX_BYTES of body; a larger one is refused;
 *   - status 200 and a body that parses as a JWKS ({"keys": [...]}),
 *     else the fetch fails: the caller answers invalid_client.
 *
 * Caching (per URL, in this process only; safe to lose, DESIGN §8): a
 * fetched set is kept for the response's Cache-Control max-age, clamped
 * to [JWKSFETCH_MIN_TTL, JWKSFETCH_MAX_TTL]; JWKSFETCH_DEFAULT_TTL when
 * the header is absent, and the minimum for no-store/no-cache.  When a
 * request names a kid the cached set lacks (key rotation), the caller asks
 * for a refresh, which refetches at most once per JWKSFETCH_REFETCH_GAP
 * seconds per URL.  A failed fetch is remembered for the same gap, so a
 * dead key server costs one timeout per gap, not one per request.
 * Expired sets are not used when a refetch fails (fail closed: the keys
 * may have been withdrawn).
 *
 * libcurl is initialised on first use (the token program is single-
 * threaded) or by jwksfetch_init() at program start.  This module never
 * logs key material or response bodies, only the URL's outcome.
 */
#ifndef SMARTAUTH_JWKSFETCH_H
#define SMARTAUTH_JWKSFETCH_H

#include <stddef.h>
#include <time.h>

#include "jwk.h"

#define JWKSFETCH_TIMEOUT_MS	2000
#define JWKSFETCH_MAX_BYTES	(64 * 1024)
#define JWKSFETCH_MIN_TTL	60
#define JWKSFETCH_MAX_TTL	3600
#define JWKSFETCH_DEFAULT_TTL	300
#define JWKSFETCH_REFETCH_GAP	10
#define JWKSFETCH_CACHE_SLOTS	32

/* Initialises libcurl once; 0, or -1 (logged).  Idempotent. */
int		 jwksfetch_init(void);

/*
 * The key set served at url: from the cache while fresh, otherwise
 * fetched.  refresh != 0 asks for a refetch of a fresh set (a kid was not
 * found), honoured at most once per JWKSFETCH_REFETCH_GAP seconds.
 * Returns a set borrowed from the cache, valid until the next call of
 * this module; NULL when the URL is refused or the fetch fails, with *why
 * set to a static description fit for an error_description.
 */
const struct jwk_set *jwksfetch_get(const char *url, int refresh, time_t now,
		    const char **why);

/* Empties the cache (tests). */
void		 jwksfetch_flush(void);

/*
 * The policy pieces, exported for the unit tests.
 *
 * jwksfetch_url_allowed: NULL when url may be fetched (absolute https URL,
 * or http to a loopback host; no userinfo), else why not.
 * jwksfetch_ttl: seconds to keep a set whose response carried this
 * Cache-Control value (NULL when absent), clamped as described above.
 */
const char	*jwksfetch_url_allowed(const char *url);
long		 jwksfetch_ttl(const char *cache_control);

#endif
