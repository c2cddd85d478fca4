/*
 * matcho: Aidbox-compatible pattern matching for AccessPolicies.
 *
 * Implements the "Pattern language (matcho)" section of
 * reference/matcho.md.  Where that note is silent we chose, and the
 * tests pin down:
 *   - a JSON null in a pattern matches a null or absent subject;
 *   - an object pattern matches only an object subject, an array pattern
 *     only an array subject (never a null/absent one);
 *   - "#regex" and not-blank? match only strings ("not-blank?" also
 *     refuses whitespace-only strings); numbers are never stringified,
 *     so "1" never equals 1;
 *   - ".path" compares by deep JSON equality with the value found;
 *   - $every over an empty array is true (vacuous), $contains false;
 *   - $present-all lets one element satisfy several patterns;
 *   - $reference accepts "Type/id", "Type/id/_history/v", a Reference
 *     whose "reference" is one of those, or {resourceType, id}; absolute
 *     URLs, contained ("#x") and urn: references never match;
 *   - keys starting with '$' that are not special keys are errors, so a
 *     typo ("$one_of") cannot silently turn into a literal key.
 * Regexes are PCRE2 (the Java-like dialect Aidbox policies are written
 * in), UTF-8 tolerant of invalid input, run with match, depth and heap
 * limits; hitting a limit is an error (-1), which callers treat as deny.
 *
 * Owns the per-thread regex cache.  Never logs and never modifies its
 * inputs; the one allocation per $reference is freed before returning.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "buf.h"
#include "matcho.h"

#define MATCHO_CACHE_SIZE	64
#define MATCHO_MATCH_LIMIT	100000
#define MATCHO_DEPTH_LIMIT	2000
#define MATCHO_HEAP_LIMIT_KIB	2048
#define MATCHO_SEG_MAX		128
#define MATCHO_LENGTH_MAX	1000000

struct matcho_re {
	char		*src;
	pcre2_code	*code;
};

/* FastCGI programs are single-threaded, but per-thread costs nothing. */
static _Thread_local struct matcho_re		 matcho_cache[MATCHO_CACHE_SIZE];
static _Thread_local size_t			 matcho_cache_next;
static _Thread_local pcre2_match_context	*matcho_mctx;

struct matcho_ctx {
	const cJSON		*root;
	struct matcho_err	*err;
};

#define MERR(c, ...) do {						\
	if ((c)->err != NULL)						\
		buf_why((c)->err->why, sizeof((c)->err->why), __VA_ARGS__); \
} while (0)

void
matcho_cache_clear(void)
{
	size_t i;

	for (i = 0; i < MATCHO_CACHE_SIZE; i++) {
		free(matcho_cache[i].src);
		pcre2_code_free(matcho_cache[i].code);
		matcho_cache[i].src = NULL;
		matcho_cache[i].code = NULL;
	}
	matcho_cache_next = 0;
	pcre2_match_context_free(matcho_mctx);
	matcho_mctx = NULL;
}

/*
 * Compiled form of regex src (without the '#'), from the cache or newly
 * compiled into it.  Returns a borrowed code, or NULL with why filled.
 */
static pcre2_code *
matcho_regex(const char *src, char *why, size_t whysz)
{
	struct matcho_re *slot;
	pcre2_code *code;
	PCRE2_UCHAR msg[128];
	PCRE2_SIZE off;
	size_t i, len = strlen(src);
	int ec;

	for (i = 0; i < MATCHO_CACHE_SIZE; i++)
		if (matcho_cache[i].src != NULL && strcmp(matcho_cache[i].src, src) == 0)
			return matcho_cache[i].code;
	if (len > MATCHO_REGEX_MAX) {
		buf_why(why, whysz, "regex longer than %d bytes", MATCHO_REGEX_MAX);
		return NULL;
	}
	code = pcre2_compile((PCRE2_SPTR)src, len,
	    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C,
	    &ec, &off, NULL);
	if (code == NULL) {
		if (pcre2_get_error_message(ec, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", ec);
		buf_why(why, whysz, "bad regex \"#%.60s\" at offset %zu: %s",
		    src, (size_t)off, (const char *)msg);
		return NULL;
	}
	slot = &matcho_cache[matcho_cache_next];
	matcho_cache_next = (matcho_cache_next + 1) % MATCHO_CACHE_SIZE;
	free(slot->src);
	pcre2_code_free(slot->code);
	slot->code = NULL;
	if ((slot->src = strdup(src)) == NULL) {
		pcre2_code_free(code);
		buf_why(why, whysz, "out of memory");
		return NULL;
	}
	slot->code = code;
	return code;
}

/* Searches regex src in subject: 1, 0, or -1 (bad regex, limit, memory). */
static int
matcho_regex_search(struct matcho_ctx *c, const char *src, const char *subject)
{
	pcre2_code *code;
	pcre2_match_data *md;
	char why[sizeof(c->err->why)];
	int rc;

	if ((code = matcho_regex(src, why, sizeof(why))) == NULL) {
		MERR(c, "%s", why);
		return -1;
	}
	if (matcho_mctx == NULL) {
		if ((matcho_mctx = pcre2_match_context_create(NULL)) == NULL) {
			MERR(c, "out of memory");
			return -1;
		}
		pcre2_set_match_limit(matcho_mctx, MATCHO_MATCH_LIMIT);
		pcre2_set_depth_limit(matcho_mctx, MATCHO_DEPTH_LIMIT);
		pcre2_set_heap_limit(matcho_mctx, MATCHO_HEAP_LIMIT_KIB);
	}
	if ((md = pcre2_match_data_create_from_pattern(code, NULL)) == NULL) {
		MERR(c, "out of memory");
		return -1;
	}
	rc = pcre2_match(code, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md,
	    matcho_mctx);
	pcre2_match_data_free(md);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	MERR(c, "regex \"#%.60s\" gave up (pcre2 error %d%s)", src, rc,
	    rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT ? ", match limit" : "");
	return -1;
}

/* Checks ".a.b.0" syntax: non-empty segments, bounded.  0 or -1. */
static int
matcho_path_ok(const char *path)
{
	const char *p, *dot;

	if (path[0] != '.' || strlen(path) > MATCHO_PATH_MAX)
		return -1;
	for (p = path + 1; ; p = dot + 1) {
		dot = strchr(p, '.');
		if ((dot != NULL ? (size_t)(dot - p) : strlen(p)) == 0)
			return -1;
		if (dot == NULL)
			return 0;
	}
}

const cJSON *
matcho_path_get(const cJSON *root, const char *path)
{
	char seg[MATCHO_SEG_MAX + 1], *end;
	const cJSON *cur = root;
	const char *p, *dot;
	size_t n;
	unsigned long idx;

	if (root == NULL || path == NULL || matcho_path_ok(path) != 0)
		return NULL;
	for (p = path + 1; cur != NULL; p = dot + 1) {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (n > MATCHO_SEG_MAX)
			return NULL;
		memcpy(seg, p, n);
		seg[n] = '\0';
		if (cJSON_IsObject(cur)) {
			cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
		} else if (cJSON_IsArray(cur) && seg[0] >= '0' && seg[0] <= '9') {
			idx = strtoul(seg, &end, 10);
			if (*end != '\0' || idx >= (unsigned long)cJSON_GetArraySize(cur))
				return NULL;
			cur = cJSON_GetArrayItem(cur, (int)idx);
		} else
			return NULL;
		if (dot == NULL)
			break;
	}
	return cur;
}

static int
matcho_is_scalar(const cJSON *v)
{
	return cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v);
}

/* Scalar equality without coercion: "1" is not 1, true is not "true". */
static int
matcho_scalar_eq(const cJSON *a, const cJSON *b)
{
	if (a == NULL || b == NULL)
		return 0;
	if (cJSON_IsString(a) && cJSON_IsString(b))
		return strcmp(a->valuestring, b->valuestring) == 0;
	if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
		return a->valuedouble == b->valuedouble;
	if (cJSON_IsBool(a) && cJSON_IsBool(b))
		return cJSON_IsTrue(a) == cJSON_IsTrue(b);
	return 0;
}

static int
matcho_absent(const cJSON *s)
{
	return s == NULL || cJSON_IsNull(s);
}

static int
matcho_not_blank(const cJSON *s)
{
	const char *p;

	if (!cJSON_IsString(s))
		return 0;
	for (p = s->valuestring; *p != '\0'; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' &&
		    *p != '\f' && *p != '\v')
			return 1;
	return 0;
}

static int
matcho_string(struct matcho_ctx *c, const char *pat, const cJSON *s)
{
	char why[sizeof(c->err->why)];
	const cJSON *want;

	if (strcmp(pat, "present?") == 0)
		return !matcho_absent(s);
	if (strcmp(pat, "nil?") == 0)
		return matcho_absent(s);
	if (strcmp(pat, "not-blank?") == 0)
		return matcho_not_blank(s);
	if (pat[0] == '#') {
		if (cJSON_IsString(s))
			return matcho_regex_search(c, pat + 1, s->valuestring);
		/* Still report a bad regex, whatever the subject. */
		if (matcho_regex(pat + 1, why, sizeof(why)) == NULL) {
			MERR(c, "%s", why);
			return -1;
		}
		return 0;
	}
	if (pat[0] == '.') {
		if (matcho_path_ok(pat) != 0) {
			MERR(c, "bad path \"%.60s\"", pat);
			return -1;
		}
		want = matcho_path_get(c->root, pat);
		if (matcho_absent(want) || s == NULL)
			return 0;
		return cJSON_Compare(want, s, 1) ? 1 : 0;
	}
	return cJSON_IsString(s) && strcmp(pat, s->valuestring) == 0;
}

/* Is id a FHIR id ([A-Za-z0-9.-]{1,64})? */
static int
matcho_fhir_id(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

static int
matcho_fhir_type(const char *s, size_t n)
{
	size_t i;

	if (n < 2 || n > 64 || !(s[0] >= 'A' && s[0] <= 'Z'))
		return 0;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
			return 0;
	return 1;
}

/*
 * "Type/id" or "Type/id/_history/vid" into a new {resourceType, id}
 * object.  Returns 1 (made), 0 (not a relative reference), -1 (memory).
 */
static int
matcho_ref_split(const char *ref, cJSON **out)
{
	const char *slash, *id, *rest;
	char type[65], idb[65];
	size_t tn, in;

	*out = NULL;
	if ((slash = strchr(ref, '/')) == NULL)
		return 0;
	tn = (size_t)(slash - ref);
	id = slash + 1;
	rest = strchr(id, '/');
	in = rest != NULL ? (size_t)(rest - id) : strlen(id);
	if (!matcho_fhir_type(ref, tn) || !matcho_fhir_id(id, in))
		return 0;
	if (rest != NULL && (strncmp(rest, "/_history/", 10) != 0 ||
	    !matcho_fhir_id(rest + 10, strlen(rest + 10))))
		return 0;
	memcpy(type, ref, tn);
	type[tn] = '\0';
	memcpy(idb, id, in);
	idb[in] = '\0';
	if ((*out = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(*out, "resourceType", type) == NULL ||
	    cJSON_AddStringToObject(*out, "id", idb) == NULL) {
		cJSON_Delete(*out);
		*out = NULL;
		return -1;
	}
	return 1;
}

/* Subject of $reference into {resourceType, id}; 1, 0 or -1 as above. */
static int
matcho_ref_parse(const cJSON *s, cJSON **out)
{
	const cJSON *ref, *rt, *id;

	*out = NULL;
	if (cJSON_IsString(s))
		return matcho_ref_split(s->valuestring, out);
	if (!cJSON_IsObject(s))
		return 0;
	if ((ref = cJSON_GetObjectItemCaseSensitive(s, "reference")) != NULL)
		return cJSON_IsString(ref) ? matcho_ref_split(ref->valuestring, out) : 0;
	rt = cJSON_GetObjectItemCaseSensitive(s, "resourceType");
	id = cJSON_GetObjectItemCaseSensitive(s, "id");
	if (!cJSON_IsString(rt) || !cJSON_IsString(id) ||
	    !matcho_fhir_type(rt->valuestring, strlen(rt->valuestring)) ||
	    !matcho_fhir_id(id->valuestring, strlen(id->valuestring)))
		return 0;
	if ((*out = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(*out, "resourceType", rt->valuestring) == NULL ||
	    cJSON_AddStringToObject(*out, "id", id->valuestring) == NULL) {
		cJSON_Delete(*out);
		*out = NULL;
		return -1;
	}
	return 1;
}

enum matcho_special {
	MS_NONE = 0,
	MS_ENUM,
	MS_ONE_OF,
	MS_CONTAINS,
	MS_EVERY,
	MS_NOT,
	MS_REFERENCE,
	MS_PRESENT_ALL,
	MS_LENGTH
};

static const struct {
	const char		*key;
	enum matcho_special	 kind;
} matcho_specials[] = {
	{ "$enum", MS_ENUM },
	{ "$one-of", MS_ONE_OF },
	{ "$contains", MS_CONTAINS },
	{ "$every", MS_EVERY },
	{ "$not", MS_NOT },
	{ "$reference", MS_REFERENCE },
	{ "$present-all", MS_PRESENT_ALL },
	{ "$length", MS_LENGTH },
};

static enum matcho_special
matcho_special_kind(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(matcho_specials) / sizeof(matcho_specials[0]); i++)
		if (strcmp(key, matcho_specials[i].key) == 0)
			return matcho_specials[i].kind;
	return MS_NONE;
}

/*
 * Classifies an object pattern.  Returns MS_NONE for a plain object, the
 * special kind (with *val its value and *len the $length item or NULL),
 * or -1 with why filled when the object is malformed.
 */
static int
matcho_classify(const cJSON *obj, const cJSON **val, const cJSON **len,
    char *why, size_t whysz)
{
	const cJSON *it;
	enum matcho_special k, found = MS_NONE;
	int nspecial = 0, nplain = 0;

	*val = NULL;
	*len = NULL;
	cJSON_ArrayForEach(it, obj) {
		if (it->string == NULL) {
			buf_why(why, whysz, "object member without a name");
			return -1;
		}
		if (it->string[0] != '$') {
			nplain++;
			continue;
		}
		if ((k = matcho_special_kind(it->string)) == MS_NONE) {
			buf_why(why, whysz, "unknown special key \"%.40s\"", it->string);
			return -1;
		}
		nspecial++;
		if (k == MS_LENGTH) {
			*len = it;
			continue;
		}
		if (found != MS_NONE) {
			buf_why(why, whysz, "\"%.40s\" shares its object with another special key",
			    it->string);
			return -1;
		}
		found = k;
		*val = it;
	}
	if (nspecial == 0)
		return MS_NONE;
	if (nplain > 0) {
		buf_why(why, whysz, "special key %s mixed with other keys",
		    *val != NULL ? (*val)->string : "$length");
		return -1;
	}
	if (*len != NULL && found != MS_PRESENT_ALL) {
		buf_why(why, whysz, "$length without $present-all");
		return -1;
	}
	return found;
}

static int matcho_rec(struct matcho_ctx *, const cJSON *, const cJSON *, int);

/* The value of $length, or -1 unless an integer in [0, MATCHO_LENGTH_MAX]. */
static int
matcho_length(const cJSON *len)
{
	double d;

	if (!cJSON_IsNumber(len))
		return -1;
	d = len->valuedouble;
	if (!(d >= 0 && d <= MATCHO_LENGTH_MAX) || d != (double)(int)d)
		return -1;
	return (int)d;
}

static int
matcho_special_match(struct matcho_ctx *c, enum matcho_special kind,
    const cJSON *val, const cJSON *len, const cJSON *s, int depth)
{
	const cJSON *it, *el;
	cJSON *ref;
	int rc, any, n = 0;

	switch (kind) {
	case MS_ENUM:
		if (!cJSON_IsArray(val) || cJSON_GetArraySize(val) == 0) {
			MERR(c, "$enum needs a non-empty array");
			return -1;
		}
		cJSON_ArrayForEach(it, val) {
			if (!matcho_is_scalar(it)) {
				MERR(c, "$enum holds a non-scalar");
				return -1;
			}
			if (matcho_scalar_eq(it, s))
				return 1;
		}
		return 0;
	case MS_ONE_OF:
		if (!cJSON_IsArray(val) || cJSON_GetArraySize(val) == 0) {
			MERR(c, "$one-of needs a non-empty array");
			return -1;
		}
		cJSON_ArrayForEach(it, val)
			if ((rc = matcho_rec(c, it, s, depth + 1)) != 0)
				return rc;
		return 0;
	case MS_CONTAINS:
		if (!cJSON_IsArray(s))
			return 0;
		cJSON_ArrayForEach(el, s)
			if ((rc = matcho_rec(c, val, el, depth + 1)) != 0)
				return rc;
		return 0;
	case MS_EVERY:
		if (!cJSON_IsArray(s))
			return 0;
		cJSON_ArrayForEach(el, s)
			if ((rc = matcho_rec(c, val, el, depth + 1)) != 1)
				return rc;
		return 1;
	case MS_NOT:
		rc = matcho_rec(c, val, s, depth + 1);
		return rc < 0 ? rc : !rc;
	case MS_REFERENCE:
		if ((rc = matcho_ref_parse(s, &ref)) <= 0) {
			if (rc < 0)
				MERR(c, "out of memory");
			return rc;
		}
		rc = matcho_rec(c, val, ref, depth + 1);
		cJSON_Delete(ref);
		return rc;
	case MS_PRESENT_ALL:
		if (!cJSON_IsArray(val)) {
			MERR(c, "$present-all needs an array");
			return -1;
		}
		if (len != NULL && (n = matcho_length(len)) < 0) {
			MERR(c, "$length needs an integer from 0 to %d", MATCHO_LENGTH_MAX);
			return -1;
		}
		if (!cJSON_IsArray(s))
			return 0;
		if (len != NULL && cJSON_GetArraySize(s) != n)
			return 0;
		cJSON_ArrayForEach(it, val) {
			any = 0;
			cJSON_ArrayForEach(el, s) {
				if ((rc = matcho_rec(c, it, el, depth + 1)) < 0)
					return rc;
				if (rc == 1) {
					any = 1;
					break;
				}
			}
			if (!any)
				return 0;
		}
		return 1;
	case MS_NONE:
	case MS_LENGTH:
		break;
	}
	MERR(c, "internal: bad special kind");
	return -1;
}

static int
matcho_rec(struct matcho_ctx *c, const cJSON *p, const cJSON *s, int depth)
{
	const cJSON *it, *val, *len, *el;
	char why[sizeof(c->err->why)];
	int rc, kind;

	if (depth > MATCHO_MAX_DEPTH) {
		MERR(c, "pattern nested deeper than %d", MATCHO_MAX_DEPTH);
		return -1;
	}
	if (p == NULL) {
		MERR(c, "missing pattern");
		return -1;
	}
	switch (p->type & 0xff) {
	case cJSON_NULL:
		return matcho_absent(s);
	case cJSON_True:
	case cJSON_False:
	case cJSON_Number:
		return matcho_scalar_eq(p, s);
	case cJSON_String:
		return matcho_string(c, p->valuestring, s);
	case cJSON_Array:
		if (!cJSON_IsArray(s) || cJSON_GetArraySize(s) < cJSON_GetArraySize(p))
			return 0;
		el = s->child;
		cJSON_ArrayForEach(it, p) {
			if ((rc = matcho_rec(c, it, el, depth + 1)) != 1)
				return rc;
			el = el->next;
		}
		return 1;
	case cJSON_Object:
		if ((kind = matcho_classify(p, &val, &len, why, sizeof(why))) < 0) {
			MERR(c, "%s", why);
			return -1;
		}
		if (kind != MS_NONE)
			return matcho_special_match(c, (enum matcho_special)kind, val,
			    len, s, depth);
		if (!cJSON_IsObject(s))
			return 0;
		cJSON_ArrayForEach(it, p)
			if ((rc = matcho_rec(c, it,
			    cJSON_GetObjectItemCaseSensitive(s, it->string), depth + 1)) != 1)
				return rc;
		return 1;
	default:
		MERR(c, "unsupported JSON value in pattern");
		return -1;
	}
}

int
matcho_match(const cJSON *pattern, const cJSON *subject,
    const cJSON *request_root, struct matcho_err *err)
{
	struct matcho_ctx c;

	if (err != NULL)
		err->why[0] = '\0';
	c.root = request_root;
	c.err = err;
	return matcho_rec(&c, pattern, subject, 0);
}

static int
matcho_valid_rec(const cJSON *p, int depth, char *why, size_t whysz)
{
	const cJSON *it, *jt, *val, *len;
	int kind;

	if (depth > MATCHO_MAX_DEPTH) {
		buf_why(why, whysz, "pattern nested deeper than %d", MATCHO_MAX_DEPTH);
		return -1;
	}
	switch (p->type & 0xff) {
	case cJSON_NULL:
	case cJSON_True:
	case cJSON_False:
	case cJSON_Number:
		return 0;
	case cJSON_String:
		if (p->valuestring[0] == '#')
			return matcho_regex(p->valuestring + 1, why, whysz) == NULL ? -1 : 0;
		if (p->valuestring[0] == '.' && matcho_path_ok(p->valuestring) != 0) {
			buf_why(why, whysz, "bad path \"%.60s\"", p->valuestring);
			return -1;
		}
		return 0;
	case cJSON_Array:
		cJSON_ArrayForEach(it, p)
			if (matcho_valid_rec(it, depth + 1, why, whysz) != 0)
				return -1;
		return 0;
	case cJSON_Object:
		/* Duplicate keys would make the pattern mean two things. */
		cJSON_ArrayForEach(it, p)
			for (jt = it->next; jt != NULL; jt = jt->next)
				if (it->string != NULL && jt->string != NULL &&
				    strcmp(it->string, jt->string) == 0) {
					buf_why(why, whysz, "duplicate key \"%.40s\"",
					    it->string);
					return -1;
				}
		if ((kind = matcho_classify(p, &val, &len, why, whysz)) < 0)
			return -1;
		switch (kind) {
		case MS_NONE:
			cJSON_ArrayForEach(it, p)
				if (matcho_valid_rec(it, depth + 1, why, whysz) != 0)
					return -1;
			return 0;
		case MS_ENUM:
			if (!cJSON_IsArray(val) || cJSON_GetArraySize(val) == 0) {
				buf_why(why, whysz, "$enum needs a non-empty array");
				return -1;
			}
			cJSON_ArrayForEach(it, val)
				if (!matcho_is_scalar(it)) {
					buf_why(why, whysz, "$enum holds a non-scalar");
					return -1;
				}
			return 0;
		case MS_ONE_OF:
		case MS_PRESENT_ALL:
			if (!cJSON_IsArray(val) ||
			    (kind == MS_ONE_OF && cJSON_GetArraySize(val) == 0)) {
				buf_why(why, whysz, "%s needs a%s array", val->string,
				    kind == MS_ONE_OF ? " non-empty" : "n");
				return -1;
			}
			if (len != NULL && matcho_length(len) < 0) {
				buf_why(why, whysz, "$length needs an integer from 0 to %d",
				    MATCHO_LENGTH_MAX);
				return -1;
			}
			return matcho_valid_rec(val, depth + 1, why, whysz);
		default:
			return matcho_valid_rec(val, depth + 1, why, whysz);
		}
	default:
		buf_why(why, whysz, "unsupported JSON value in pattern");
		return -1;
	}
}

int
matcho_validate(const cJSON *pattern, char *why, size_t whysz)
{
	if (why != NULL && whysz > 0)
		why[0] = '\0';
	if (pattern == NULL) {
		buf_why(why, whysz, "missing pattern");
		return -1;
	}
	return matcho_valid_rec(pattern, 0, why, whysz);
}
