/*
 * form_test: urlencoded parsing, table-driven with adversarial rows.
 */
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "t.h"

struct row {
	const char	*name;
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	enum form_error	 want;
	size_t		 nparams;
	const char	*key, *value;	/* checked when want == FORM_OK and key set */
};

static const struct row rows[] = {
	{ "simple pair", "a=1", 0, FORM_OK, 1, "a", "1" },
	{ "two pairs", "a=1&b=2", 0, FORM_OK, 2, "b", "2" },
	{ "plus is space", "q=a+b", 0, FORM_OK, 1, "q", "a b" },
	{ "percent escapes", "r=https%3A%2F%2Fapp%2Fcb", 0, FORM_OK, 1, "r", "https://app/cb" },
	{ "lower-case hex", "x=%2f", 0, FORM_OK, 1, "x", "/" },
	{ "encoded plus stays plus", "x=%2B", 0, FORM_OK, 1, "x", "+" },
	{ "name without value", "flag", 0, FORM_OK, 1, "flag", "" },
	{ "empty value", "a=", 0, FORM_OK, 1, "a", "" },
	{ "empty segments skipped", "&&a=1&&", 0, FORM_OK, 1, "a", "1" },
	{ "empty input", "", 0, FORM_OK, 0, NULL, NULL },
	{ "value with equals", "a=b=c", 0, FORM_OK, 1, "a", "b=c" },
	{ "utf-8 passes through", "n=%C3%A9", 0, FORM_OK, 1, "n", "\xc3\xa9" },
	{ "repeat kept", "a=1&a=2", 0, FORM_OK, 2, "a", "1" },
	{ "raw NUL refused", "a=1\0b=2", 7, FORM_ENUL, 0, NULL, NULL },
	{ "encoded NUL refused", "a=%00", 0, FORM_ENUL, 0, NULL, NULL },
	{ "encoded NUL in name refused", "%00=1", 0, FORM_ENUL, 0, NULL, NULL },
	{ "truncated escape", "a=%4", 0, FORM_EPERCENT, 0, NULL, NULL },
	{ "lone percent", "a=%", 0, FORM_EPERCENT, 0, NULL, NULL },
	{ "non-hex escape", "a=%zz", 0, FORM_EPERCENT, 0, NULL, NULL },
	{ "half-hex escape", "a=%4g", 0, FORM_EPERCENT, 0, NULL, NULL },
	{ "empty name", "=x", 0, FORM_EEMPTYNAME, 0, NULL, NULL },
	{ "empty name mid-string", "a=1&=x", 0, FORM_EEMPTYNAME, 0, NULL, NULL },
	{ "name that decodes to empty is not possible but plus decodes to space", "+=1", 0, FORM_OK, 1, " ", "1" },
};

static void
test_rows(void)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct form f = { 0 };
		enum form_error e = form_parse(&f, r->in, r->len ? r->len : strlen(r->in));

		T_EQ_INT(e, r->want, r->name);
		if (e == FORM_OK) {
			T_EQ_INT(f.n, r->nparams, r->name);
			if (r->key != NULL)
				T_EQ_STR(form_get(&f, r->key), r->value, r->name);
		} else
			T_EQ_INT(f.n, 0, "error leaves the form empty");
		form_clear(&f);
	}
}

static void
test_limits(void)
{
	struct form f = { 0 };
	char *s;
	size_t i, n;

	/* Too many parameters. */
	n = (FORM_MAX_PARAMS + 1) * 4;
	s = malloc(n + 1);
	for (i = 0; i < FORM_MAX_PARAMS + 1; i++)
		memcpy(s + i * 4, "a=1&", 4);
	s[n] = '\0';
	T_EQ_INT(form_parse(&f, s, n), FORM_ETOOMANY, "more parameters than the cap refused");
	free(s);

	/* Overlong value. */
	n = FORM_MAX_VALUE + 3;
	s = malloc(n + 1);
	memset(s, 'x', n);
	s[0] = 'a';
	s[1] = '=';
	s[n] = '\0';
	T_EQ_INT(form_parse(&f, s, n), FORM_ETOOLONG, "overlong value refused");
	free(s);

	/* Overlong input. */
	n = FORM_MAX_INPUT + 1;
	s = calloc(1, n + 1);
	memset(s, 'a', n);
	T_EQ_INT(form_parse(&f, s, n), FORM_ETOOLONG, "overlong input refused");
	free(s);
}

static void
test_repeats(void)
{
	static const char *const oauth[] = { "client_id", "redirect_uri", "state", NULL };
	struct form f = { 0 };

	form_parse(&f, "client_id=a&state=1&state=2", 27);
	T_EQ_STR(form_first_repeated(&f, oauth), "state", "repeated OAuth parameter named");
	T_EQ_INT(form_count(&f, "state"), 2, "repeat count");
	form_clear(&f);
	form_parse(&f, "client_id=a&state=1&x=1&x=2", 28);
	T_OK(form_first_repeated(&f, oauth) == NULL, "repeats of other parameters ignored");
	T_OK(form_get_nonempty(&f, "missing") == NULL, "absent parameter is NULL");
	form_clear(&f);
	form_parse(&f, "scope=", 6);
	T_OK(form_get_nonempty(&f, "scope") == NULL, "empty value treated as omitted (RFC 6749 3.1)");
	form_clear(&f);
}

static void
test_encode(void)
{
	char *e = form_encode("a b/c?d=é~");

	T_EQ_STR(e, "a%20b%2Fc%3Fd%3D%C3%A9~", "form_encode escapes reserved and non-ASCII");
	free(e);
}

int
main(void)
{
	test_rows();
	test_limits();
	test_repeats();
	test_encode();
	return t_done();
}
