/*
 * bearer_cache: verified-token memory for lib/bearer.  See bearer_cache.h.
 *
 * A fixed array of entries, a hash table of chains (indexes into the array,
 * buckets chosen by the first bytes of the digest: SHA-256 output needs no
 * further mixing) and a doubly linked recency list through the entries.
 * Everything is allocated once, by bearer_cache_new; a put only allocates
 * what the caller already allocated (the claims).  Keys are compared in
 * constant time, so lookups tell nothing about digests held.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bearer_cache.h"
#include "crypto.h"

#define BC_NONE	SIZE_MAX

struct bc_entry {
	unsigned char	 key[BEARER_CACHE_KEYLEN];
	cJSON		*claims;	/* NULL: free slot */
	time_t		 expiry;
	size_t		 prev, next;	/* recency list, most recent first */
	size_t		 chain;		/* next in the bucket */
};

struct bearer_cache {
	struct bc_entry	*v;
	size_t		 cap, n;
	size_t		*bucket;	/* nbuckets heads */
	size_t		 nbuckets;	/* a power of two */
	size_t		 head, tail;	/* most and least recently used */
	size_t		 free;		/* free slots, chained through chain */
};

static size_t
bc_bucket(const struct bearer_cache *c, const unsigned char *key)
{
	size_t h = (size_t)key[0] | (size_t)key[1] << 8 | (size_t)key[2] << 16 |
	    (size_t)key[3] << 24;

	return h & (c->nbuckets - 1);
}

static void
bc_unlink(struct bearer_cache *c, size_t i)
{
	struct bc_entry *e = &c->v[i];

	if (e->prev != BC_NONE)
		c->v[e->prev].next = e->next;
	else
		c->head = e->next;
	if (e->next != BC_NONE)
		c->v[e->next].prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = BC_NONE;
}

static void
bc_push_front(struct bearer_cache *c, size_t i)
{
	struct bc_entry *e = &c->v[i];

	e->prev = BC_NONE;
	e->next = c->head;
	if (c->head != BC_NONE)
		c->v[c->head].prev = i;
	c->head = i;
	if (c->tail == BC_NONE)
		c->tail = i;
}

/* Removes entry i from its bucket and the recency list, and frees its slot. */
static void
bc_remove(struct bearer_cache *c, size_t i)
{
	size_t *pp = &c->bucket[bc_bucket(c, c->v[i].key)];

	while (*pp != BC_NONE && *pp != i)
		pp = &c->v[*pp].chain;
	if (*pp == i)
		*pp = c->v[i].chain;
	bc_unlink(c, i);
	cJSON_Delete(c->v[i].claims);
	c->v[i].claims = NULL;
	c->v[i].chain = c->free;
	c->free = i;
	c->n--;
}

static size_t
bc_find(const struct bearer_cache *c, const unsigned char *key)
{
	size_t i;

	for (i = c->bucket[bc_bucket(c, key)]; i != BC_NONE; i = c->v[i].chain)
		if (crypto_ct_equal(c->v[i].key, key, BEARER_CACHE_KEYLEN))
			return i;
	return BC_NONE;
}

struct bearer_cache *
bearer_cache_new(size_t capacity)
{
	struct bearer_cache *c;
	size_t i;

	if (capacity == 0 || capacity > SIZE_MAX / 4 / sizeof(struct bc_entry))
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->cap = capacity;
	for (c->nbuckets = 1; c->nbuckets < capacity * 2; c->nbuckets <<= 1)
		;
	if ((c->v = calloc(capacity, sizeof(*c->v))) == NULL ||
	    (c->bucket = calloc(c->nbuckets, sizeof(*c->bucket))) == NULL) {
		free(c->v);
		free(c);
		return NULL;
	}
	for (i = 0; i < c->nbuckets; i++)
		c->bucket[i] = BC_NONE;
	for (i = 0; i < capacity; i++) {
		c->v[i].prev = c->v[i].next = BC_NONE;
		c->v[i].chain = i + 1 < capacity ? i + 1 : BC_NONE;
	}
	c->free = 0;
	c->head = c->tail = BC_NONE;
	return c;
}

void
bearer_cache_clear(struct bearer_cache *c)
{
	if (c == NULL)
		return;
	while (c->head != BC_NONE)
		bc_remove(c, c->head);
}

void
bearer_cache_free(struct bearer_cache *c)
{
	if (c == NULL)
		return;
	bearer_cache_clear(c);
	free(c->bucket);
	free(c->v);
	free(c);
}

const cJSON *
bearer_cache_get(struct bearer_cache *c, const unsigned char key[BEARER_CACHE_KEYLEN],
    time_t now)
{
	size_t i;

	if (c == NULL || (i = bc_find(c, key)) == BC_NONE)
		return NULL;
	if (now >= c->v[i].expiry) {
		bc_remove(c, i);
		return NULL;
	}
	bc_unlink(c, i);
	bc_push_front(c, i);
	return c->v[i].claims;
}

int
bearer_cache_put(struct bearer_cache *c, const unsigned char key[BEARER_CACHE_KEYLEN],
    cJSON *claims, time_t expiry)
{
	size_t i, b;

	if (c == NULL || claims == NULL) {
		cJSON_Delete(claims);
		return -1;
	}
	if ((i = bc_find(c, key)) != BC_NONE)
		bc_remove(c, i);
	if (c->free == BC_NONE)
		bc_remove(c, c->tail);		/* full: the least recently used goes */
	i = c->free;
	c->free = c->v[i].chain;
	memcpy(c->v[i].key, key, BEARER_CACHE_KEYLEN);
	c->v[i].claims = claims;
	c->v[i].expiry = expiry;
	b = bc_bucket(c, key);
	c->v[i].chain = c->bucket[b];
	c->bucket[b] = i;
	bc_push_front(c, i);
	c->n++;
	return 0;
}

size_t
bearer_cache_count(const struct bearer_cache *c)
{
	return c != NULL ? c->n : 0;
}
