/*
 * form: urlencoded parameter parsing.  See form.h.
 *
 * Owns the decoded copies it makes; never keeps a pointer into the input.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "form.h"

const char *
form_strerror(enum form_error e)
{
	switch (e) {
	case FORM_OK:		return "no error";
	case FORM_ENOMEM:	return "out of memory";
	case FORM_ETOOMANY:	return "too many parameters";
	case FORM_ETOOLONG:	return "parameter too long";
	case FORM_ENUL:		return "NUL byte in parameter";
	case FORM_EPERCENT:	return "malformed percent-encoding";
	case FORM_EEMPTYNAME:	return "parameter without a name";
	}
	return "unknown error";
}

int
form_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
form_decode(const char *s, size_t len, int plus, enum form_error *err)
{
	char *out, *o;
	size_t i;
	int hi, lo;

	if ((out = malloc(len + 1)) == NULL) {
		*err = FORM_ENOMEM;
		return NULL;
	}
	o = out;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0') {
			*err = FORM_ENUL;
			goto bad;
		}
		if (c == '+' && plus) {
			*o++ = ' ';
		} else if (c == '%') {
			/* two hex digits must follow */
			if (i + 2 >= len || (hi = form_hexval(s[i + 1])) < 0 ||
			    (lo = form_hexval(s[i + 2])) < 0) {
				*err = FORM_EPERCENT;
				goto bad;
			}
			if (hi == 0 && lo == 0) {
				*err = FORM_ENUL;
				goto bad;
			}
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else
			*o++ = (char)c;
	}
	*o = '\0';
	*err = FORM_OK;
	return out;
bad:
	OPENSSL_cleanse(out, len + 1);
	free(out);
	return NULL;
}

char *
form_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s), i;
	char *out, *o;

	if (n > (((size_t)-1) - 1) / 3 || (out = malloc(n * 3 + 1)) == NULL)
		return NULL;
	o = out;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~')
			*o++ = (char)c;
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 0xf];
		}
	}
	*o = '\0';
	return out;
}

static enum form_error
form_push(struct form *f, char *name, char *value)
{
	struct form_param *nv;
	size_t ncap;

	if (f->n == f->cap) {
		ncap = f->cap ? f->cap * 2 : 8;
		if ((nv = realloc(f->v, ncap * sizeof(*nv))) == NULL)
			return FORM_ENOMEM;
		f->v = nv;
		f->cap = ncap;
	}
	f->v[f->n].name = name;
	f->v[f->n].value = value;
	f->n++;
	return FORM_OK;
}

enum form_error
form_parse(struct form *f, const char *s, size_t len)
{
	enum form_error e = FORM_OK;
	size_t start = 0, end, eq, vlen;
	char *name = NULL, *value = NULL;

	if (len > FORM_MAX_INPUT)
		return FORM_ETOOLONG;
	if (memchr(s, '\0', len) != NULL)
		return FORM_ENUL;
	while (start < len) {
		for (end = start; end < len && s[end] != '&'; end++)
			;
		if (end == start) {		/* empty segment */
			start = end + 1;
			continue;
		}
		for (eq = start; eq < end && s[eq] != '='; eq++)
			;
		if (eq == start) {
			e = FORM_EEMPTYNAME;
			goto fail;
		}
		if (f->n >= FORM_MAX_PARAMS) {
			e = FORM_ETOOMANY;
			goto fail;
		}
		vlen = eq < end ? end - eq - 1 : 0;
		if (vlen > FORM_MAX_VALUE * 3 || eq - start > 256 * 3) {
			e = FORM_ETOOLONG;
			goto fail;
		}
		if ((name = form_decode(s + start, eq - start, 1, &e)) == NULL)
			goto fail;
		if (*name == '\0') {
			e = FORM_EEMPTYNAME;
			goto fail;
		}
		if ((value = form_decode(s + eq + (eq < end), vlen, 1, &e)) == NULL)
			goto fail;
		if (strlen(value) > FORM_MAX_VALUE) {
			e = FORM_ETOOLONG;
			goto fail;
		}
		if ((e = form_push(f, name, value)) != FORM_OK)
			goto fail;
		name = value = NULL;
		start = end + 1;
	}
	return FORM_OK;
fail:
	free(name);
	if (value != NULL) {
		OPENSSL_cleanse(value, strlen(value));
		free(value);
	}
	form_clear(f);
	return e;
}

const char *
form_get(const struct form *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->v[i].name, name) == 0)
			return f->v[i].value;
	return NULL;
}

const char *
form_get_nonempty(const struct form *f, const char *name)
{
	const char *v = form_get(f, name);

	return v != NULL && *v != '\0' ? v : NULL;
}

size_t
form_count(const struct form *f, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->v[i].name, name) == 0)
			n++;
	return n;
}

const char *
form_first_repeated(const struct form *f, const char *const *names)
{
	for (; *names != NULL; names++)
		if (form_count(f, *names) > 1)
			return *names;
	return NULL;
}

void
form_clear(struct form *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->v[i].name);
		OPENSSL_cleanse(f->v[i].value, strlen(f->v[i].value));
		free(f->v[i].value);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
}
