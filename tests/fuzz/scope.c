/*
 * scope fuzz harness: lib/scope (scope_parse_n, scope_set_format,
 * scope_set_intersect and the questions a parsed set answers).
 *
 * The input is "requested\nallowed": two scope strings split at the first
 * newline (a byte no scope string may hold); without a newline the one
 * string is both.  Invariants (abort() when broken):
 *   - the canonical form is stable: formatting what the canonical form
 *     parses to gives the canonical form again;
 *   - a set covers itself: intersect(a, a) keeps every scope of a;
 *   - intersect(requested, allowed) holds only requested scopes, and a
 *     scope it keeps is granted by allowed (scope_set_allows) for each
 *     permission it asks;
 *   - scope_describe always NUL-terminates within the buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "scope.h"

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

static int
fuzz_has_text(const struct scope_set *set, const char *text)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (strcmp(set->v[i].text, text) == 0)
			return 1;
	return 0;
}

/* Questions the gateway and the consent page ask of a set. */
static void
fuzz_questions(const struct scope_set *set)
{
	static const char *const ctx[] = { "patient", "user", "system", NULL };
	static const char *const types[] = { "Observation", "Patient", "*",
	    "observation", "" };
	const struct scope *sc;
	char big[512], tiny[7];
	size_t i, j, t, pos;
	unsigned bit;

	for (i = 0; i < set->n; i++) {
		scope_describe(&set->v[i], big, sizeof(big));
		scope_describe(&set->v[i], tiny, sizeof(tiny));
		if (memchr(big, '\0', sizeof(big)) == NULL ||
		    memchr(tiny, '\0', sizeof(tiny)) == NULL)
			abort();
	}
	for (j = 0; j < 4; j++)
		for (t = 0; t < sizeof(types) / sizeof(types[0]); t++)
			for (bit = SCOPE_C; bit <= SCOPE_S; bit <<= 1) {
				(void)scope_set_allows(set, ctx[j], types[t], bit);
				(void)scope_set_access(set, ctx[j], types[t], bit);
				pos = 0;
				while ((sc = scope_set_next_match(set, &pos,
				    ctx[j], types[t], bit)) != NULL)
					if (!scope_set_allows(set, ctx[j], types[t], bit))
						abort();
			}
	for (i = SCOPE_RESOURCE; i <= SCOPE_ONLINE; i++)
		(void)scope_set_has(set, (enum scope_kind)i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl;
	struct scope_set *req = NULL, *allow = NULL, *again = NULL,
	    *self = NULL, *both = NULL;
	char *f1 = NULL, *f2 = NULL, *f3 = NULL;
	struct scope_err err;
	size_t rlen, i;
	unsigned bit;

	nl = memchr(s, '\n', size);
	rlen = nl != NULL ? (size_t)(nl - s) : size;
	if ((req = scope_parse_n(s, rlen, &err)) == NULL)
		goto out;
	if (nl != NULL)
		allow = scope_parse_n(nl + 1, size - rlen - 1, &err);
	fuzz_questions(req);

	/* The canonical form is a fixed point. */
	if ((f1 = scope_set_format(req)) == NULL)
		goto out;
	if ((again = scope_parse(f1, &err)) == NULL) {
		fprintf(stderr, "scope: canonical form refused: \"%s\"\n", f1);
		abort();
	}
	if ((f2 = scope_set_format(again)) == NULL)
		goto out;
	if (strcmp(f1, f2) != 0) {
		fprintf(stderr, "scope: format not stable:\n\"%s\"\n\"%s\"\n", f1, f2);
		abort();
	}

	/* A set covers itself. */
	if ((self = scope_set_intersect(req, req)) == NULL)
		goto out;
	if ((f3 = scope_set_format(self)) == NULL)
		goto out;
	if (strcmp(f1, f3) != 0) {
		fprintf(stderr, "scope: set does not cover itself:\n"
		    "\"%s\"\n\"%s\"\n", f1, f3);
		abort();
	}

	/* What intersect keeps was requested and is allowed. */
	if (allow == NULL)
		goto out;
	if ((both = scope_set_intersect(req, allow)) == NULL)
		goto out;
	for (i = 0; i < both->n; i++) {
		const struct scope *sc = &both->v[i];

		if (!fuzz_has_text(req, sc->text))
			abort();
		if (sc->kind != SCOPE_RESOURCE)
			continue;
		for (bit = SCOPE_C; bit <= SCOPE_S; bit <<= 1)
			if ((sc->perm & bit) && strcmp(sc->type, "*") != 0 &&
			    !scope_set_allows(allow,
			    scope_context_name(sc->context), sc->type, bit)) {
				fprintf(stderr, "scope: kept %s not allowed\n", sc->text);
				abort();
			}
	}
out:
	free(f3);
	free(f2);
	free(f1);
	scope_set_free(both);
	scope_set_free(self);
	scope_set_free(again);
	scope_set_free(allow);
	scope_set_free(req);
	return 0;
}
