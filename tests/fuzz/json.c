/*
 * json fuzz harness: lib/json (json_parse_strict and the typed getters).
 *
 * The input is one JSON text.  Invariants checked (abort() when broken):
 *   - a refusal always names its reason;
 *   - what json_parse_strict accepts, json_print writes and
 *     json_parse_strict accepts again, unchanged (a second print is
 *     byte-for-byte the first): two readers never see two documents.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
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

/* Exercises the getters on every member name of an object. */
static void
fuzz_getters(const cJSON *v)
{
	const cJSON *m;
	long long ll;
	int b;

	if (!cJSON_IsObject(v))
		return;
	cJSON_ArrayForEach(m, v) {
		if (m->string == NULL)
			abort();
		(void)json_get_str(v, m->string);
		(void)json_get_int(v, m->string, &ll);
		(void)json_get_bool(v, m->string, &b);
		(void)json_get_obj(v, m->string);
		(void)json_get_arr(v, m->string);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	cJSON *v, *again = NULL;
	char *p1 = NULL, *p2 = NULL;

	if ((v = json_parse_strict((const char *)data, size, &why)) == NULL) {
		if (why == NULL)
			abort();
		return 0;
	}
	fuzz_getters(v);
	if ((p1 = json_print(v)) == NULL)
		goto out;
	if ((again = json_parse_strict(p1, strlen(p1), &why)) == NULL) {
		fprintf(stderr, "json: printed form refused (%s): %s\n", why, p1);
		abort();
	}
	if ((p2 = json_print(again)) != NULL && strcmp(p1, p2) != 0) {
		fprintf(stderr, "json: print not stable:\n%s\n%s\n", p1, p2);
		abort();
	}
out:
	free(p2);
	free(p1);
	cJSON_Delete(again);
	cJSON_Delete(v);
	return 0;
}
