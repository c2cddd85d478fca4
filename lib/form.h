/*
 * form: application/x-www-form-urlencoded parsing (query strings and form
 * bodies), per the WHATWG URL "urlencoded parser" and RFC 6749 §3.1/§3.2
 * ("parameters sent without a value MUST be treated as if they were
 * omitted"; "request and response parameters MUST NOT be included more
 * than once").
 *
 * Parameters are decoded exactly once into owned copies.  The parser
 * refuses what a protocol endpoint must never accept: NUL bytes (raw or
 * %00), malformed percent-escapes, empty names, and inputs over the caller's
 * caps.  It keeps repeats so that callers can refuse them by name
 * (form_first_repeated) where the protocol says a parameter is single.
 */
#ifndef SMARTAUTH_FORM_H
#define SMARTAUTH_FORM_H

#include <stddef.h>

struct form_param {
	char	*name;		/* owned, decoded */
	char	*value;		/* owned, decoded; "" when absent */
};

struct form {
	struct form_param	*v;	/* owned */
	size_t			 n;
	size_t			 cap;
};

enum form_error {
	FORM_OK = 0,
	FORM_ENOMEM,
	FORM_ETOOMANY,		/* more parameters than allowed */
	FORM_ETOOLONG,		/* input, a name or a value over its cap */
	FORM_ENUL,		/* a NUL byte, raw or %00 */
	FORM_EPERCENT,		/* "%" not followed by two hex digits */
	FORM_EEMPTYNAME		/* "=value" or a stray "&=&" */
};

/* Limits: whole input, number of parameters, one value. */
#define FORM_MAX_INPUT	(1024 * 1024)
#define FORM_MAX_PARAMS	256
#define FORM_MAX_VALUE	(64 * 1024)

/* Human-readable text for an error (static). */
const char	*form_strerror(enum form_error e);

/*
 * Parses len bytes of s into f (which must be zeroed or cleared).  Empty
 * segments ("a=1&&b=2") are skipped.  On error f is cleared.
 */
enum form_error	 form_parse(struct form *f, const char *s, size_t len);

/* Borrowed value of the first parameter with that name; NULL when absent. */
const char	*form_get(const struct form *f, const char *name);
/* Like form_get, but a parameter with an empty value counts as absent. */
const char	*form_get_nonempty(const struct form *f, const char *name);
size_t		 form_count(const struct form *f, const char *name);
/* The first of names[] (NULL-terminated) given more than once, or NULL. */
const char	*form_first_repeated(const struct form *f, const char *const *names);
/* Frees all parameters (wiping values: they may be secrets). */
void		 form_clear(struct form *f);

/*
 * Percent-decodes len bytes of s ('+' as space when plus is set) into an
 * owned NUL-terminated string; NULL with *err set on a bad escape or NUL.
 */
/* The value of the hex digit c, -1 when c is not one. */
int		 form_hexval(int c);
char		*form_decode(const char *s, size_t len, int plus, enum form_error *err);
/* Appends the urlencoded form of s (RFC 3986 unreserved kept) to an owned string. */
char		*form_encode(const char *s);

#endif
