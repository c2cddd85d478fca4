/*
 * scope: SMART on FHIR scope parsing, coverage and descriptions.
 *
 * Implements App Launch 2.2 "Scopes and Launch Context" (v2 grammar
 * `(patient|user|system)/(Type|*).[c][r][u][d][s][?param=value&...]`, the
 * v1 `.read/.write/.*` forms, `launch`, `launch/<type>` with an optional
 * `?role=`, `openid`, `fhirUser`, `profile`, `offline_access`,
 * `online_access`) on top of RFC 6749 §3.3 (scope = space-delimited
 * tokens of %x21 / %x23-5B / %x5D-7E).
 *
 * Choices (App Launch §5.7 lets a server ignore, replace or reject odd
 * permission strings but never reinterpret them):
 *   - v2 letters must be a non-empty subsequence of "cruds"; "sr", "rr",
 *     "" and anything else make the token unknown, never a guess;
 *   - v1 `read` = rs, `write` = cud, `*` = cruds, and v1 forms are
 *     accepted under system/ too (Bulk Data v1 asked for `.read` on every
 *     type at system level);
 *   - query constraints only on v2 syntax; names are search-parameter
 *     names, values are percent-decoded (no '+' to space: a scope is not
 *     form-encoded) and must decode to printable ASCII;
 *   - runs of spaces are collapsed, other whitespace refuses the string.
 *
 * Owns every string of the sets it returns.  Never evaluates constraints
 * against resources (the FHIR gateway does) and never logs scope strings
 * beyond the offending token of a refused one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "log.h"
#include "scope.h"

#define SCOPE_TYPE_MAX		64
#define SCOPE_PNAME_MAX		64
#define SCOPE_PARAMS_MAX	16

static void	scope_err_set(struct scope_err *, enum scope_error, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
static void	scope_cat(char *, size_t, size_t *, const char *, ...)
	    __attribute__((format(printf, 4, 5)));

static char *
scope_strndup(const char *s, size_t n)
{
	char *p;

	if ((p = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void
scope_err_set(struct scope_err *err, enum scope_error code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->why, sizeof(err->why), fmt, ap);
	va_end(ap);
}

/* RFC 6749 §3.3 scope-token characters. */
static int
scope_tokchar(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static int
scope_is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static int
scope_is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static int
scope_is_alpha(char c)
{
	return scope_is_upper(c) || scope_is_lower(c);
}

static int
scope_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

enum scope_context
scope_context_parse(const char *s)
{
	if (s == NULL)
		return SCOPE_CTX_NONE;
	if (strcmp(s, "patient") == 0)
		return SCOPE_CTX_PATIENT;
	if (strcmp(s, "user") == 0)
		return SCOPE_CTX_USER;
	if (strcmp(s, "system") == 0)
		return SCOPE_CTX_SYSTEM;
	return SCOPE_CTX_NONE;
}

const char *
scope_context_name(enum scope_context ctx)
{
	switch (ctx) {
	case SCOPE_CTX_PATIENT:
		return "patient";
	case SCOPE_CTX_USER:
		return "user";
	case SCOPE_CTX_SYSTEM:
		return "system";
	case SCOPE_CTX_NONE:
		break;
	}
	return NULL;
}

static void
scope_clear(struct scope *sc)
{
	size_t i;

	for (i = 0; i < sc->nparams; i++) {
		free(sc->params[i].name);
		free(sc->params[i].value);
	}
	free(sc->params);
	free(sc->type);
	free(sc->text);
	memset(sc, 0, sizeof(*sc));
}

/* Deep copy of src into dst; 0, or -1 on out of memory (dst cleared). */
static int
scope_copy(struct scope *dst, const struct scope *src)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	dst->kind = src->kind;
	dst->context = src->context;
	dst->perm = src->perm;
	dst->v1 = src->v1;
	if ((dst->text = strdup(src->text)) == NULL)
		goto fail;
	if (src->type != NULL && (dst->type = strdup(src->type)) == NULL)
		goto fail;
	if (src->nparams > 0) {
		dst->params = calloc(src->nparams, sizeof(*dst->params));
		if (dst->params == NULL)
			goto fail;
		for (i = 0; i < src->nparams; i++) {
			dst->nparams = i + 1;
			dst->params[i].name = strdup(src->params[i].name);
			dst->params[i].value = strdup(src->params[i].value);
			if (dst->params[i].name == NULL || dst->params[i].value == NULL)
				goto fail;
		}
	}
	return 0;
fail:
	scope_clear(dst);
	return -1;
}

/*
 * Percent-decodes s[0..n) into an owned string.  Returns 0, -1 when
 * malformed (bad escape, decodes to a control or non-ASCII byte), -2 on
 * out of memory.
 */
static int
scope_pct_decode(const char *s, size_t n, char **out)
{
	char *d;
	size_t i, o = 0;
	int hi, lo;
	unsigned char c;

	*out = NULL;
	if ((d = malloc(n + 1)) == NULL)
		return -2;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				goto bad;
			hi = form_hexval(s[i + 1]);
			lo = form_hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c < 0x20 || c >= 0x7f)
			goto bad;
		d[o++] = (char)c;
	}
	d[o] = '\0';
	*out = d;
	return 0;
bad:
	free(d);
	return -1;
}

/* A search parameter name: [A-Za-z_][A-Za-z0-9_.:-]*, bounded. */
static int
scope_pname_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > SCOPE_PNAME_MAX || !(scope_is_alpha(s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!(scope_is_alpha(s[i]) || scope_is_digit(s[i]) ||
		    s[i] == '_' || s[i] == '.' || s[i] == ':' || s[i] == '-'))
			return 0;
	return 1;
}

/*
 * Parses "a=b&c=d" (without the '?') into sc->params.  Returns 0, -1 when
 * malformed, -2 on out of memory.
 */
static int
scope_parse_query(const char *q, size_t n, struct scope *sc)
{
	const char *p = q, *end = q + n, *amp, *eq;
	struct scope_param *pp;
	int rc;

	if (n == 0)
		return -1;
	while (p <= end) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL || eq == p || eq + 1 == amp)
			return -1;
		if (!scope_pname_ok(p, (size_t)(eq - p)))
			return -1;
		if (sc->nparams >= SCOPE_PARAMS_MAX)
			return -1;
		pp = realloc(sc->params, (sc->nparams + 1) * sizeof(*pp));
		if (pp == NULL)
			return -2;
		sc->params = pp;
		pp = &sc->params[sc->nparams];
		pp->name = NULL;
		pp->value = NULL;
		sc->nparams++;
		if ((pp->name = scope_strndup(p, (size_t)(eq - p))) == NULL)
			return -2;
		if ((rc = scope_pct_decode(eq + 1, (size_t)(amp - eq - 1), &pp->value)) != 0)
			return rc;
		if (amp == end)
			break;
		p = amp + 1;
	}
	return 0;
}

/*
 * Permission part of a resource scope.  v1 words, or a non-empty
 * subsequence of "cruds" in that order.  Returns 0 or -1.
 */
static int
scope_parse_perm(const char *s, size_t n, unsigned *perm, int *v1)
{
	static const char order[] = "cruds";
	size_t i, at = 0;
	const char *hit;

	*perm = 0;
	*v1 = 0;
	if (n == 4 && memcmp(s, "read", 4) == 0) {
		*perm = SCOPE_R | SCOPE_S;
		*v1 = 1;
		return 0;
	}
	if (n == 5 && memcmp(s, "write", 5) == 0) {
		*perm = SCOPE_C | SCOPE_U | SCOPE_D;
		*v1 = 1;
		return 0;
	}
	if (n == 1 && s[0] == '*') {
		*perm = SCOPE_CRUDS;
		*v1 = 1;
		return 0;
	}
	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		hit = memchr(order + at, s[i], sizeof(order) - 1 - at);
		if (s[i] == '\0' || hit == NULL)
			return -1;	/* unknown letter, repeat or out of order */
		at = (size_t)(hit - order) + 1;
		*perm |= 1u << (at - 1);
	}
	return 0;
}

static int
scope_type_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 1 && s[0] == '*')
		return 1;
	if (n < 2 || n > SCOPE_TYPE_MAX || !scope_is_upper(s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!scope_is_alpha(s[i]))
			return 0;
	return 1;
}

static const struct {
	const char	*text;
	enum scope_kind	 kind;
} scope_words[] = {
	{ "openid", SCOPE_OPENID },
	{ "fhirUser", SCOPE_FHIRUSER },
	{ "profile", SCOPE_PROFILE },
	{ "offline_access", SCOPE_OFFLINE },
	{ "online_access", SCOPE_ONLINE },
	{ "launch", SCOPE_LAUNCH },
};

/* launch/<type>[?role=<uri>]; s points after "launch/".  0, -1, -2. */
static int
scope_parse_launch(const char *s, size_t n, struct scope *sc)
{
	const char *q = memchr(s, '?', n);
	size_t tn = q != NULL ? (size_t)(q - s) : n, i;
	int rc;

	if (tn < 2 || tn > SCOPE_TYPE_MAX)
		return -1;
	for (i = 0; i < tn; i++)
		if (!scope_is_lower(s[i]))
			return -1;
	if (tn == 7 && memcmp(s, "patient", 7) == 0)
		sc->kind = SCOPE_LAUNCH_PATIENT;
	else if (tn == 9 && memcmp(s, "encounter", 9) == 0)
		sc->kind = SCOPE_LAUNCH_ENCOUNTER;
	else
		sc->kind = SCOPE_LAUNCH_OTHER;
	if ((sc->type = scope_strndup(s, tn)) == NULL)
		return -2;
	if (q != NULL) {
		/* App Launch 2.2: one role per launch scope, "?role=<uri>". */
		if ((rc = scope_parse_query(q + 1, n - tn - 1, sc)) != 0)
			return rc;
		if (sc->nparams != 1 || strcmp(sc->params[0].name, "role") != 0)
			return -1;
	}
	return 0;
}

/*
 * Parses one token into sc.  Returns 0, -1 when not a scope we know
 * (sc cleared), -2 on out of memory (sc cleared).
 */
static int
scope_parse_token(const char *tok, size_t n, struct scope *sc)
{
	const char *slash, *dot, *q, *end = tok + n;
	size_t i;
	int rc = -1;

	memset(sc, 0, sizeof(*sc));
	for (i = 0; i < sizeof(scope_words) / sizeof(scope_words[0]); i++) {
		if (strlen(scope_words[i].text) == n &&
		    memcmp(scope_words[i].text, tok, n) == 0) {
			sc->kind = scope_words[i].kind;
			goto text;
		}
	}
	if (n > 7 && memcmp(tok, "launch/", 7) == 0) {
		if ((rc = scope_parse_launch(tok + 7, n - 7, sc)) != 0)
			goto fail;
		goto text;
	}

	/* context "/" type "." perm [ "?" query ] */
	if ((slash = memchr(tok, '/', n)) == NULL)
		goto fail;
	if ((size_t)(slash - tok) == 7 && memcmp(tok, "patient", 7) == 0)
		sc->context = SCOPE_CTX_PATIENT;
	else if ((size_t)(slash - tok) == 4 && memcmp(tok, "user", 4) == 0)
		sc->context = SCOPE_CTX_USER;
	else if ((size_t)(slash - tok) == 6 && memcmp(tok, "system", 6) == 0)
		sc->context = SCOPE_CTX_SYSTEM;
	else
		goto fail;
	sc->kind = SCOPE_RESOURCE;
	q = memchr(slash + 1, '?', (size_t)(end - slash - 1));
	if (q == NULL)
		q = end;
	if ((dot = memchr(slash + 1, '.', (size_t)(q - slash - 1))) == NULL)
		goto fail;
	if (!scope_type_ok(slash + 1, (size_t)(dot - slash - 1)))
		goto fail;
	if (scope_parse_perm(dot + 1, (size_t)(q - dot - 1), &sc->perm, &sc->v1) != 0)
		goto fail;
	if ((sc->type = scope_strndup(slash + 1, (size_t)(dot - slash - 1))) == NULL) {
		rc = -2;
		goto fail;
	}
	if (q != end) {
		if (sc->v1)		/* §5.7: constraints are v2 only */
			goto fail;
		if ((rc = scope_parse_query(q + 1, (size_t)(end - q - 1), sc)) != 0)
			goto fail;
	}
text:
	if ((sc->text = scope_strndup(tok, n)) == NULL) {
		rc = -2;
		goto fail;
	}
	return 0;
fail:
	scope_clear(sc);
	return rc;
}

struct scope_set *
scope_set_new(void)
{
	struct scope_set *set;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		log_err("out of memory");
	return set;
}

void
scope_set_free(struct scope_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		scope_clear(&set->v[i]);
	free(set->v);
	for (i = 0; i < set->nunknown; i++)
		free(set->unknown[i]);
	free(set->unknown);
	free(set);
}

static int
scope_set_contains_text(const struct scope_set *set, const char *t, size_t n)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (strlen(set->v[i].text) == n && memcmp(set->v[i].text, t, n) == 0)
			return 1;
	for (i = 0; i < set->nunknown; i++)
		if (strlen(set->unknown[i]) == n && memcmp(set->unknown[i], t, n) == 0)
			return 1;
	return 0;
}

/* Appends sc (taken over) to set; 0 or -1 on out of memory (sc cleared). */
static int
scope_set_push(struct scope_set *set, struct scope *sc)
{
	struct scope *v;

	if ((v = realloc(set->v, (set->n + 1) * sizeof(*v))) == NULL) {
		scope_clear(sc);
		return -1;
	}
	set->v = v;
	set->v[set->n++] = *sc;
	memset(sc, 0, sizeof(*sc));
	return 0;
}

static int
scope_set_push_unknown(struct scope_set *set, const char *t, size_t n)
{
	char **u, *copy;

	if ((copy = scope_strndup(t, n)) == NULL)
		return -1;
	if ((u = realloc(set->unknown, (set->nunknown + 1) * sizeof(*u))) == NULL) {
		free(copy);
		return -1;
	}
	set->unknown = u;
	set->unknown[set->nunknown++] = copy;
	return 0;
}

struct scope_set *
scope_parse_n(const char *s, size_t len, struct scope_err *err)
{
	struct scope_set *set = NULL;
	struct scope sc;
	size_t i, start, ntok = 0;
	int rc;

	scope_err_set(err, SCOPE_E_OK, "%s", "");
	if (s == NULL)
		len = 0;
	if (len > SCOPE_MAX_LEN) {
		scope_err_set(err, SCOPE_E_TOO_LONG, "scope longer than %d bytes", SCOPE_MAX_LEN);
		log_warn("refused: scope string of %zu bytes", len);
		return NULL;
	}
	for (i = 0; i < len; i++) {
		if (s[i] != ' ' && !scope_tokchar((unsigned char)s[i])) {
			scope_err_set(err, SCOPE_E_BAD_CHAR,
			    "scope has a forbidden byte 0x%02x at offset %zu",
			    (unsigned char)s[i], i);
			log_warn("refused: scope byte 0x%02x at offset %zu",
			    (unsigned char)s[i], i);
			return NULL;
		}
	}
	if ((set = scope_set_new()) == NULL)
		goto nomem;
	for (i = 0; i < len; ) {
		while (i < len && s[i] == ' ')
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && s[i] != ' ')
			i++;
		if (++ntok > SCOPE_MAX_TOKENS) {
			scope_err_set(err, SCOPE_E_TOO_MANY,
			    "more than %d scopes", SCOPE_MAX_TOKENS);
			log_warn("refused: more than %d scopes", SCOPE_MAX_TOKENS);
			scope_set_free(set);
			return NULL;
		}
		if (scope_set_contains_text(set, s + start, i - start))
			continue;
		rc = scope_parse_token(s + start, i - start, &sc);
		if (rc == -2)
			goto nomem;
		if (rc == 0 ? scope_set_push(set, &sc) != 0 :
		    scope_set_push_unknown(set, s + start, i - start) != 0)
			goto nomem;
	}
	return set;
nomem:
	scope_err_set(err, SCOPE_E_NOMEM, "out of memory");
	log_err("out of memory");
	scope_set_free(set);
	return NULL;
}

struct scope_set *
scope_parse(const char *s, struct scope_err *err)
{
	return scope_parse_n(s, s != NULL ? strlen(s) : 0, err);
}

char *
scope_set_format(const struct scope_set *set)
{
	size_t i, len = 1, o = 0, tl;
	char *out;

	for (i = 0; set != NULL && i < set->n; i++)
		len += strlen(set->v[i].text) + 1;
	if ((out = malloc(len)) == NULL) {
		log_err("out of memory");
		return NULL;
	}
	for (i = 0; set != NULL && i < set->n; i++) {
		if (o > 0)
			out[o++] = ' ';
		tl = strlen(set->v[i].text);
		memcpy(out + o, set->v[i].text, tl);
		o += tl;
	}
	out[o] = '\0';
	return out;
}

/* Does resource scope sc apply to (ctx, type)?  ctx NONE = any. */
static int
scope_applies(const struct scope *sc, enum scope_context ctx, const char *type)
{
	if (sc->kind != SCOPE_RESOURCE)
		return 0;
	if (ctx != SCOPE_CTX_NONE && sc->context != ctx)
		return 0;
	return strcmp(sc->type, "*") == 0 || strcmp(sc->type, type) == 0;
}

/* Resolves the caller's context string; -1 when given but unknown. */
static int
scope_ctx_arg(const char *context, enum scope_context *ctx)
{
	*ctx = SCOPE_CTX_NONE;
	if (context == NULL)
		return 0;
	if ((*ctx = scope_context_parse(context)) == SCOPE_CTX_NONE)
		return -1;
	return 0;
}

int
scope_set_allows(const struct scope_set *set, const char *context,
    const char *type, unsigned perm)
{
	enum scope_context ctx;
	unsigned got = 0;
	size_t i;

	if (set == NULL || type == NULL || perm == 0 || (perm & ~SCOPE_CRUDS) != 0)
		return 0;
	if (scope_ctx_arg(context, &ctx) != 0)
		return 0;
	for (i = 0; i < set->n; i++)
		if (scope_applies(&set->v[i], ctx, type))
			got |= set->v[i].perm;
	return (got & perm) == perm;
}

const struct scope *
scope_set_next_match(const struct scope_set *set, size_t *pos,
    const char *context, const char *type, unsigned perm)
{
	enum scope_context ctx;
	const struct scope *sc;

	if (set == NULL || pos == NULL || type == NULL || perm == 0 ||
	    (perm & ~SCOPE_CRUDS) != 0 || scope_ctx_arg(context, &ctx) != 0)
		return NULL;
	while (*pos < set->n) {
		sc = &set->v[(*pos)++];
		if (scope_applies(sc, ctx, type) && (sc->perm & perm) == perm)
			return sc;
	}
	return NULL;
}

enum scope_access
scope_set_access(const struct scope_set *set, const char *context,
    const char *type, unsigned perm)
{
	const struct scope *sc;
	enum scope_access a = SCOPE_ACCESS_NONE;
	size_t pos = 0;

	while ((sc = scope_set_next_match(set, &pos, context, type, perm)) != NULL) {
		if (sc->nparams == 0)
			return SCOPE_ACCESS_ALL;
		a = SCOPE_ACCESS_FILTERED;
	}
	return a;
}

int
scope_set_has(const struct scope_set *set, enum scope_kind kind)
{
	size_t i;

	for (i = 0; set != NULL && i < set->n; i++)
		if (set->v[i].kind == kind)
			return 1;
	return 0;
}

/* Every constraint of a is also a constraint of b (a is no narrower). */
static int
scope_params_subset(const struct scope *a, const struct scope *b)
{
	size_t i, j;

	for (i = 0; i < a->nparams; i++) {
		for (j = 0; j < b->nparams; j++)
			if (strcmp(a->params[i].name, b->params[j].name) == 0 &&
			    strcmp(a->params[i].value, b->params[j].value) == 0)
				break;
		if (j == b->nparams)
			return 0;
	}
	return 1;
}

/* Is the requested scope req covered by the allowed set? */
static int
scope_covered(const struct scope *req, const struct scope_set *allowed)
{
	const struct scope *al;
	unsigned got = 0;
	size_t i;

	for (i = 0; i < allowed->n; i++) {
		al = &allowed->v[i];
		if (al->kind != req->kind)
			continue;
		switch (req->kind) {
		case SCOPE_RESOURCE:
			/*
			 * Per-bit union over allowed scopes no narrower than
			 * req: Observation.r + Observation.s covers .rs.
			 */
			if (al->context == req->context &&
			    (strcmp(al->type, "*") == 0 ||
			    strcmp(al->type, req->type) == 0) &&
			    scope_params_subset(al, req))
				got |= al->perm;
			break;
		case SCOPE_LAUNCH_OTHER:
			if (strcmp(al->type, req->type) == 0 &&
			    scope_params_subset(al, req))
				return 1;
			break;
		case SCOPE_LAUNCH_PATIENT:
		case SCOPE_LAUNCH_ENCOUNTER:
			if (scope_params_subset(al, req))
				return 1;
			break;
		default:
			return 1;
		}
	}
	return req->kind == SCOPE_RESOURCE && (got & req->perm) == req->perm;
}

struct scope_set *
scope_set_intersect(const struct scope_set *requested,
    const struct scope_set *allowed)
{
	struct scope_set *out;
	struct scope copy;
	size_t i;

	if ((out = scope_set_new()) == NULL)
		return NULL;
	if (requested == NULL || allowed == NULL)
		return out;
	for (i = 0; i < requested->n; i++) {
		if (!scope_covered(&requested->v[i], allowed))
			continue;
		if (scope_copy(&copy, &requested->v[i]) != 0 ||
		    scope_set_push(out, &copy) != 0) {
			log_err("out of memory");
			scope_set_free(out);
			return NULL;
		}
	}
	return out;
}

/* ---- plain-words descriptions ---- */

static const struct {
	const char *type;
	const char *words;
} scope_type_words[] = {
	{ "AllergyIntolerance", "allergy and intolerance" },
	{ "Appointment", "appointment" },
	{ "CarePlan", "care plan" },
	{ "CareTeam", "care team" },
	{ "Condition", "condition (problems and diagnoses)" },
	{ "Coverage", "insurance coverage" },
	{ "Device", "device (such as implants)" },
	{ "DiagnosticReport", "diagnostic report (such as lab and imaging reports)" },
	{ "DocumentReference", "document (such as clinical notes)" },
	{ "Encounter", "visit (encounter)" },
	{ "ExplanationOfBenefit", "claims and benefits" },
	{ "FamilyMemberHistory", "family history" },
	{ "Goal", "health goal" },
	{ "Immunization", "immunization" },
	{ "Location", "location" },
	{ "Medication", "medication" },
	{ "MedicationDispense", "medication dispense" },
	{ "MedicationRequest", "prescription (medication request)" },
	{ "MedicationStatement", "medication history" },
	{ "Observation", "observation (lab results, vital signs and other measurements)" },
	{ "Organization", "organization" },
	{ "Patient", "demographic (name, birth date, contact details)" },
	{ "Practitioner", "clinician" },
	{ "PractitionerRole", "clinician role" },
	{ "Procedure", "procedure" },
	{ "Provenance", "record history (provenance)" },
	{ "QuestionnaireResponse", "questionnaire answer" },
	{ "RelatedPerson", "related person" },
	{ "ServiceRequest", "order (service request)" },
	{ "Specimen", "specimen" },
};

/* Appends printf output to buf at *o, never overflowing. */
static void
scope_cat(char *buf, size_t bufsz, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o + 1 >= bufsz)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *o, bufsz - *o, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*o = (size_t)n >= bufsz - *o ? bufsz - 1 : *o + (size_t)n;
}

/* "QuestionnaireResponse" -> "questionnaire response" for unknown types. */
static void
scope_cat_type(char *buf, size_t bufsz, size_t *o, const char *type)
{
	size_t i;
	const char *p;

	for (i = 0; i < sizeof(scope_type_words) / sizeof(scope_type_words[0]); i++) {
		if (strcmp(scope_type_words[i].type, type) == 0) {
			scope_cat(buf, bufsz, o, "%s", scope_type_words[i].words);
			return;
		}
	}
	for (p = type; *p != '\0'; p++) {
		if (scope_is_upper(*p) && p != type)
			scope_cat(buf, bufsz, o, " ");
		scope_cat(buf, bufsz, o, "%c", scope_is_upper(*p) ? *p - 'A' + 'a' : *p);
	}
}

/* "Read, search, create, update and delete" from the permission bits. */
static void
scope_cat_verbs(char *buf, size_t bufsz, size_t *o, unsigned perm)
{
	static const struct {
		unsigned bit;
		const char *verb;
	} order[] = {
		{ SCOPE_R, "read" }, { SCOPE_S, "search" }, { SCOPE_C, "create" },
		{ SCOPE_U, "update" }, { SCOPE_D, "delete" },
	};
	size_t i, n = 0, total = 0;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (perm & order[i].bit)
			total++;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(perm & order[i].bit))
			continue;
		if (n > 0)
			scope_cat(buf, bufsz, o, n + 1 == total ? " and " : ", ");
		if (n == 0)
			scope_cat(buf, bufsz, o, "%c%s", order[i].verb[0] - 'a' + 'A',
			    order[i].verb + 1);
		else
			scope_cat(buf, bufsz, o, "%s", order[i].verb);
		n++;
	}
}

/* " (only where category is laboratory)" for constrained scopes. */
static void
scope_cat_params(char *buf, size_t bufsz, size_t *o, const struct scope *sc)
{
	const char *v, *bar;
	size_t i;

	for (i = 0; i < sc->nparams; i++) {
		v = sc->params[i].value;
		/* A token "system|code" reads better as its code. */
		if ((bar = strrchr(v, '|')) != NULL && bar[1] != '\0')
			v = bar + 1;
		scope_cat(buf, bufsz, o, "%s%s is %s", i == 0 ? " (only where " : " and ",
		    sc->params[i].name, v);
	}
	if (sc->nparams > 0)
		scope_cat(buf, bufsz, o, ")");
}

const char *
scope_describe(const struct scope *sc, char *buf, size_t bufsz)
{
	size_t o = 0;
	int any;

	if (buf == NULL || bufsz == 0)
		return buf;
	buf[0] = '\0';
	if (sc == NULL)
		return buf;
	switch (sc->kind) {
	case SCOPE_OPENID:
		scope_cat(buf, bufsz, &o, "Know who you are (your identity)");
		break;
	case SCOPE_FHIRUSER:
		scope_cat(buf, bufsz, &o, "Know which record describes you (your FHIR user)");
		break;
	case SCOPE_PROFILE:
		scope_cat(buf, bufsz, &o, "See your name and profile");
		break;
	case SCOPE_OFFLINE:
		scope_cat(buf, bufsz, &o,
		    "Keep access when you are offline (until you revoke it)");
		break;
	case SCOPE_ONLINE:
		scope_cat(buf, bufsz, &o, "Keep access while you are signed in");
		break;
	case SCOPE_LAUNCH:
		scope_cat(buf, bufsz, &o, "Know which patient is open in the EHR");
		break;
	case SCOPE_LAUNCH_PATIENT:
		scope_cat(buf, bufsz, &o, "Pick a patient (know which patient you chose)");
		break;
	case SCOPE_LAUNCH_ENCOUNTER:
		scope_cat(buf, bufsz, &o, "Know which visit (encounter) is open");
		break;
	case SCOPE_LAUNCH_OTHER:
		scope_cat(buf, bufsz, &o, "Know which %s is open", sc->type);
		break;
	case SCOPE_RESOURCE:
		any = strcmp(sc->type, "*") == 0;
		scope_cat_verbs(buf, bufsz, &o, sc->perm);
		switch (sc->context) {
		case SCOPE_CTX_PATIENT:
			scope_cat(buf, bufsz, &o, any ? " all your" : " your ");
			break;
		case SCOPE_CTX_USER:
			scope_cat(buf, bufsz, &o, any ? " all" : " ");
			break;
		default:
			scope_cat(buf, bufsz, &o, any ? " all" : " all ");
			break;
		}
		if (!any)
			scope_cat_type(buf, bufsz, &o, sc->type);
		scope_cat(buf, bufsz, &o, " records");
		if (sc->context == SCOPE_CTX_USER)
			scope_cat(buf, bufsz, &o, " you can access");
		else if (sc->context == SCOPE_CTX_SYSTEM)
			scope_cat(buf, bufsz, &o, " on this server, with no user present");
		scope_cat_params(buf, bufsz, &o, sc);
		break;
	}
	return buf;
}
