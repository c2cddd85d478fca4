/*
 * jwk fuzz harness: lib/jwk (jwk_set_parse on a strictly parsed JWKS,
 * then the lookups and the public serialisation).
 *
 * The input is one JSON text; inputs json_parse_strict refuses stop
 * there (the jwt and json harnesses cover that parser).  For every key
 * kept: jwk_set_find by its kid and by each algorithm, jwk_alg_fits,
 * jwk_thumbprint, and jwk_set_public_json of the whole set.  Invariants
 * (abort() when broken):
 *   - every kept key has a public EVP_PKEY, a NUL-terminated kid and alg,
 *     and no private part;
 *   - a key fits an algorithm only if jwk_alg_lookup says it is of that
 *     algorithm's type (and curve);
 *   - the public JWKS never holds a private member.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jwk.h"
#include "log.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *devnull;

	if ((devnull = fopen("/dev/null", "w")) != NULL)
		log_set_stream(devnull);
	log_set_level(LOGL_DEBUG);
	return 0;
}

static const char *const fuzz_algs[] = { "RS256", "RS384", "RS512",
    "ES256", "ES384", "ES512", "PS256", "HS256", "none", "", NULL };

static void
fuzz_check_public(const cJSON *pub)
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi",
	    "oth", "k", NULL };
	const cJSON *keys, *k;
	size_t i;

	if ((keys = json_get_arr(pub, "keys")) == NULL)
		abort();
	cJSON_ArrayForEach(k, keys)
		for (i = 0; priv[i] != NULL; i++)
			if (cJSON_GetObjectItemCaseSensitive(k, priv[i]) != NULL)
				abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum jwk_kty kty;
	struct jwk_set *set;
	const struct jwk *k;
	char tp[64];
	cJSON *v, *pub;
	char *s;
	size_t i, j;
	int amb, nid;

	if ((v = json_parse_strict((const char *)data, size, NULL)) == NULL)
		return 0;
	if ((set = jwk_set_parse(v)) == NULL)
		goto out;
	for (i = 0; i < set->n; i++) {
		k = set->keys[i];
		if (k->pkey == NULL || k->has_private ||
		    memchr(k->kid, '\0', sizeof(k->kid)) == NULL ||
		    memchr(k->alg, '\0', sizeof(k->alg)) == NULL)
			abort();
		(void)jwk_thumbprint(k->pkey, tp, sizeof(tp));
		for (j = 0; fuzz_algs[j] != NULL; j++) {
			(void)jwk_set_find(set, k->kid, fuzz_algs[j], &amb);
			(void)jwk_set_find(set, NULL, fuzz_algs[j], &amb);
			if (!jwk_alg_fits(k, fuzz_algs[j]))
				continue;
			if (jwk_alg_lookup(fuzz_algs[j], &kty, &nid, NULL) == -1 ||
			    kty != k->kty ||
			    (kty == JWK_KTY_EC && nid != k->curve_nid))
				abort();
		}
	}
	if ((pub = jwk_set_public_json(set)) != NULL) {
		fuzz_check_public(pub);
		s = cJSON_PrintUnformatted(pub);
		free(s);
		cJSON_Delete(pub);
	}
	jwk_set_free(set);
out:
	cJSON_Delete(v);
	return 0;
}
