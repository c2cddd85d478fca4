/*
 * matcho fuzz harness: lib/matcho (matcho_validate, matcho_match) and
 * lib/policy (policy_parse, policy_set_parse, policy_set_allows).
 *
 * The input is up to three JSON texts separated by the byte 0x1E (the
 * RFC 7464 record separator, which no JSON text holds unescaped):
 *   pattern 0x1E subject [0x1E roles]
 * each parsed with json_parse_strict.  The pattern is validated and, valid
 * or not, matched against the subject (which is also the request root for
 * ".path" references).  When the pattern is an object it is also parsed
 * as an AccessPolicy, when an array as a set of them; a set is then asked
 * whether it allows the subject as the request object, with roles.
 * Invariants (abort() when broken):
 *   - matcho never modifies the pattern or the subject;
 *   - policy_set_allows gives the request back as it was;
 *   - a refused pattern or policy says why.
 * The regex cache is cleared after every input, so runs are independent.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "matcho.h"
#include "policy.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SEP	0x1e

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *devnull;

	if ((devnull = fopen("/dev/null", "w")) != NULL)
		log_set_stream(devnull);
	log_set_level(LOGL_DEBUG);
	return 0;
}

/* Aborts unless a and b are equal (both NULL counts as equal). */
static void
fuzz_same(const cJSON *a, const cJSON *b, const char *what)
{
	if (a == NULL && b == NULL)
		return;
	if (a == NULL || b == NULL || !cJSON_Compare(a, b, 1)) {
		fprintf(stderr, "matcho: %s was modified\n", what);
		abort();
	}
}

static void
fuzz_policies(const cJSON *pattern, cJSON *request, const cJSON *roles)
{
	struct policy_set *set = NULL;
	struct policy *p;
	const char *matched;
	char why[256];
	cJSON *before;

	why[0] = '\0';
	if (cJSON_IsObject(pattern)) {
		if ((p = policy_parse(pattern, why, sizeof(why))) == NULL) {
			if (why[0] == '\0')
				abort();
			return;
		}
		(void)policy_applies(p, "c1", "u1");
		(void)policy_applies(p, NULL, NULL);
		if ((set = policy_set_new()) == NULL ||
		    policy_set_add(set, p) == -1)
			goto out;
	} else if (cJSON_IsArray(pattern)) {
		if ((set = policy_set_parse(pattern, why, sizeof(why))) == NULL) {
			if (why[0] == '\0')
				abort();
			return;
		}
	} else
		return;
	if (!cJSON_IsObject(request))
		goto out;
	if ((before = cJSON_Duplicate(request, 1)) == NULL)
		goto out;
	(void)policy_set_allows(set, request, roles, "c1", "u1", &matched);
	fuzz_same(before, request, "request");
	(void)policy_set_allows(set, request, NULL, NULL, NULL, NULL);
	fuzz_same(before, request, "request");
	cJSON_Delete(before);
out:
	policy_set_free(set);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size, *p2, *p3;
	cJSON *pattern = NULL, *subject = NULL, *roles = NULL;
	cJSON *pcopy = NULL, *scopy = NULL;
	struct matcho_err err;
	char why[256];

	if ((p2 = memchr(s, FUZZ_SEP, size)) == NULL)
		p2 = end;
	if ((pattern = json_parse_strict(s, (size_t)(p2 - s), NULL)) == NULL)
		goto out;
	if (p2 < end) {
		p2++;
		if ((p3 = memchr(p2, FUZZ_SEP, (size_t)(end - p2))) == NULL)
			p3 = end;
		subject = json_parse_strict(p2, (size_t)(p3 - p2), NULL);
		if (p3 < end)
			roles = json_parse_strict(p3 + 1, (size_t)(end - p3 - 1), NULL);
	}

	why[0] = '\0';
	if (matcho_validate(pattern, why, sizeof(why)) == -1 && why[0] == '\0')
		abort();
	if ((pcopy = cJSON_Duplicate(pattern, 1)) == NULL ||
	    (subject != NULL && (scopy = cJSON_Duplicate(subject, 1)) == NULL))
		goto out;
	(void)matcho_match(pattern, subject, subject, &err);
	(void)matcho_match(pattern, subject, NULL, NULL);
	fuzz_same(pcopy, pattern, "pattern");
	fuzz_same(scopy, subject, "subject");
	if (cJSON_IsString(pattern) && subject != NULL)
		(void)matcho_path_get(subject, pattern->valuestring);

	fuzz_policies(pattern, subject, roles);
out:
	matcho_cache_clear();
	cJSON_Delete(scopy);
	cJSON_Delete(pcopy);
	cJSON_Delete(roles);
	cJSON_Delete(subject);
	cJSON_Delete(pattern);
	return 0;
}
