/*
 * form fuzz harness: lib/form (form_parse, form_decode, form_encode).
 *
 * The input is one urlencoded string.  It is parsed as a whole with
 * form_parse (then read back through the accessors), and decoded as a
 * whole with form_decode, with and without '+' as space.  Invariants
 * checked (abort() when broken, so libFuzzer reports them):
 *   - every parsed name is non-empty and NUL-free, every value NUL-free;
 *   - form_decode(form_encode(x)) == x for every x form_decode returns.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
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

static void
fuzz_roundtrip(const char *s, size_t len, int plus)
{
	enum form_error err;
	char *dec, *enc, *again;

	if ((dec = form_decode(s, len, plus, &err)) == NULL) {
		if (err == FORM_OK)
			abort();
		return;
	}
	if (err != FORM_OK)
		abort();
	if ((enc = form_encode(dec)) == NULL) {
		free(dec);
		return;
	}
	if ((again = form_decode(enc, strlen(enc), plus, &err)) == NULL ||
	    strcmp(again, dec) != 0)
		abort();
	free(again);
	free(enc);
	free(dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const single[] = { "grant_type", "code",
	    "redirect_uri", "client_id", "scope", "state", NULL };
	const char *s = (const char *)data;
	struct form f;
	size_t i;

	memset(&f, 0, sizeof(f));
	if (form_parse(&f, s, size) == FORM_OK) {
		for (i = 0; i < f.n; i++) {
			if (f.v[i].name == NULL || f.v[i].name[0] == '\0' ||
			    f.v[i].value == NULL)
				abort();
			if (form_get(&f, f.v[i].name) == NULL ||
			    form_count(&f, f.v[i].name) == 0)
				abort();
			(void)form_get_nonempty(&f, f.v[i].name);
		}
		(void)form_first_repeated(&f, single);
	} else if (f.n != 0)
		abort();
	form_clear(&f);

	fuzz_roundtrip(s, size, 0);
	fuzz_roundtrip(s, size, 1);
	return 0;
}
