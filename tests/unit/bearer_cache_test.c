/*
 * bearer_cache_test: the verified-token memory of lib/bearer_cache: hits,
 * misses for a digest that differs in one bit, expiry (an entry is gone at
 * its expiry, never served after it), replacement under the same key, the
 * bound (least recently used evicted first, a read refreshes an entry),
 * many keys in few buckets, and clear.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bearer_cache.h"
#include "crypto.h"
#include "json.h"
#include "t.h"

#define NOW	((time_t)1750000000)

static void
key_of(int i, unsigned char k[BEARER_CACHE_KEYLEN])
{
	char s[32];

	snprintf(s, sizeof(s), "token-%d", i);
	crypto_sha256(s, strlen(s), k);
}

static cJSON *
claims_of(int i)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddNumberToObject(c, "n", i);
	return c;
}

static int
n_of(const cJSON *c)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "n");

	return cJSON_IsNumber(n) ? n->valueint : -1;
}

int
main(void)
{
	struct bearer_cache *c;
	unsigned char k[BEARER_CACHE_KEYLEN], k2[BEARER_CACHE_KEYLEN];
	const cJSON *got;
	int i, all;

	T_OK(bearer_cache_new(0) == NULL, "capacity 0 refused");
	T_OK(bearer_cache_get(NULL, k, NOW) == NULL, "get on NULL cache misses");
	T_EQ_INT(bearer_cache_put(NULL, k, claims_of(1), NOW + 10), -1, "put on NULL cache fails (claims freed)");

	c = bearer_cache_new(4);
	T_OK(c != NULL, "new cache");
	key_of(1, k);
	T_OK(bearer_cache_get(c, k, NOW) == NULL, "empty cache misses");
	T_EQ_INT(bearer_cache_put(c, k, claims_of(1), NOW + 60), 0, "put");
	got = bearer_cache_get(c, k, NOW);
	T_EQ_INT(n_of(got), 1, "hit returns the stored claims");
	T_EQ_INT(bearer_cache_count(c), 1, "one entry");

	/* One flipped bit is another token. */
	memcpy(k2, k, sizeof(k2));
	k2[BEARER_CACHE_KEYLEN - 1] ^= 1;
	T_OK(bearer_cache_get(c, k2, NOW) == NULL, "digest differing in the last bit misses");
	memcpy(k2, k, sizeof(k2));
	k2[0] ^= 0x80;
	T_OK(bearer_cache_get(c, k2, NOW) == NULL, "digest differing in the first bit misses");

	/* Expiry: served just before, gone at it and after. */
	T_OK(bearer_cache_get(c, k, NOW + 59) != NULL, "served one second before expiry");
	T_OK(bearer_cache_get(c, k, NOW + 60) == NULL, "not served at expiry");
	T_EQ_INT(bearer_cache_count(c), 0, "expired entry removed when found");
	T_OK(bearer_cache_get(c, k, NOW) == NULL, "expired entry stays gone (clock going back)");
	T_EQ_INT(bearer_cache_put(c, k, claims_of(2), NOW - 1), 0, "put of an already expired entry");
	T_OK(bearer_cache_get(c, k, NOW) == NULL, "already expired entry never served");

	/* Same key replaces. */
	T_EQ_INT(bearer_cache_put(c, k, claims_of(3), NOW + 60), 0, "put again");
	T_EQ_INT(bearer_cache_put(c, k, claims_of(4), NOW + 60), 0, "put same key");
	T_EQ_INT(n_of(bearer_cache_get(c, k, NOW)), 4, "same key: the newer claims");
	T_EQ_INT(bearer_cache_count(c), 1, "same key: one entry");

	/* Bounded: LRU eviction, a read refreshes. */
	bearer_cache_clear(c);
	T_EQ_INT(bearer_cache_count(c), 0, "clear empties");
	for (i = 1; i <= 4; i++) {
		key_of(i, k);
		bearer_cache_put(c, k, claims_of(i), NOW + 60);
	}
	key_of(1, k);
	T_OK(bearer_cache_get(c, k, NOW) != NULL, "1 read: now most recent");
	key_of(5, k);
	bearer_cache_put(c, k, claims_of(5), NOW + 60);
	T_EQ_INT(bearer_cache_count(c), 4, "count stays at capacity");
	key_of(2, k);
	T_OK(bearer_cache_get(c, k, NOW) == NULL, "least recently used (2) evicted");
	key_of(1, k);
	T_OK(bearer_cache_get(c, k, NOW) != NULL, "refreshed entry (1) kept");
	key_of(3, k);
	T_OK(bearer_cache_get(c, k, NOW) != NULL, "3 kept");
	key_of(5, k);
	T_OK(bearer_cache_get(c, k, NOW) != NULL, "new entry kept");
	bearer_cache_free(c);

	/* Many keys through a small cache: never more than capacity, every
	 * recent key found with its own claims. */
	c = bearer_cache_new(64);
	all = 1;
	for (i = 0; i < 10000; i++) {
		key_of(i, k);
		if (bearer_cache_put(c, k, claims_of(i), NOW + 60) != 0 ||
		    bearer_cache_count(c) > 64)
			all = 0;
	}
	T_OK(all, "10000 puts: count never above capacity");
	all = 1;
	for (i = 10000 - 64; i < 10000; i++) {
		key_of(i, k);
		if (n_of(bearer_cache_get(c, k, NOW)) != i)
			all = 0;
	}
	T_OK(all, "the 64 most recent keys are all found with their claims");
	key_of(10000 - 65, k);
	T_OK(bearer_cache_get(c, k, NOW) == NULL, "the 65th most recent is gone");
	/* Entries expiring one by one leave the cache consistent. */
	for (i = 10000 - 64; i < 10000; i++) {
		key_of(i, k);
		bearer_cache_get(c, k, NOW + 61);
	}
	T_EQ_INT(bearer_cache_count(c), 0, "all expired entries removed");
	for (i = 0; i < 64; i++) {
		key_of(i, k);
		bearer_cache_put(c, k, claims_of(i), NOW + 60);
	}
	T_EQ_INT(bearer_cache_count(c), 64, "refilled after expiry");
	bearer_cache_free(c);
	bearer_cache_free(NULL);
	return t_done();
}
