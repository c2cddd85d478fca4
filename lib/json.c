/*
 * json: strict JSON parsing around cJSON.  See json.h.
 *
 * The pre-scan (json_scan) runs before cJSON sees the input and refuses
 * everything RFC 8259 does not allow but cJSON would accept, plus the
 * things we refuse on purpose (NUL, depth).  It also bounds cJSON's
 * recursion.  The post-parse walk (json_check) refuses duplicate member
 * names (RFC 8259 §4 leaves them undefined; RFC 7515 §5.2 and RFC 7519 §4
 * say a JOSE parser must reject them or take the last, and cJSON takes
 * the first) and numbers that overflowed to infinity.
 *
 * Owns nothing beyond the returned tree.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"

/* cJSON copies a number into a 64-byte buffer before strtod(). */
#define JSON_MAX_NUMBER	63

static int
json_is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
json_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
json_is_hex(unsigned char c)
{
	return json_is_digit(c) || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/*
 * Length of the well-formed UTF-8 sequence (RFC 3629 §4) starting at p,
 * at most n bytes available; 0 when malformed (overlong forms, surrogates
 * and code points above U+10FFFF included).
 */
static size_t
json_utf8_len(const unsigned char *p, size_t n)
{
	size_t need, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 1;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 2;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 3;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < need + 1)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i <= need; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return need + 1;
}

/*
 * Scans the string starting at the opening quote p[*i]; leaves *i after
 * the closing quote.  Returns NULL or the reason for refusal.
 */
static const char *
json_scan_string(const unsigned char *p, size_t len, size_t *i)
{
	size_t k = *i + 1, u;

	while (k < len) {
		if (p[k] == '"') {
			*i = k + 1;
			return NULL;
		}
		if (p[k] < 0x20)
			return "control character in string";
		if (p[k] == '\\') {
			if (k + 1 >= len)
				break;
			switch (p[k + 1]) {
			case '"': case '\\': case '/': case 'b':
			case 'f': case 'n': case 'r': case 't':
				k += 2;
				continue;
			case 'u':
				if (k + 6 > len)
					return "bad \\u escape";
				for (u = 2; u < 6; u++)
					if (!json_is_hex(p[k + u]))
						return "bad \\u escape";
				if (memcmp(p + k + 2, "0000", 4) == 0)
					return "escaped NUL in string";
				k += 6;
				continue;
			default:
				return "bad escape in string";
			}
		}
		if (p[k] >= 0x80) {
			if ((u = json_utf8_len(p + k, len - k)) == 0)
				return "invalid UTF-8 in string";
			k += u;
			continue;
		}
		k++;
	}
	return "unterminated string";
}

/* RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static const char *
json_scan_number(const unsigned char *p, size_t len, size_t *i)
{
	size_t k = *i, start = *i;

	if (p[k] == '-')
		k++;
	if (k >= len || !json_is_digit(p[k]))
		return "malformed number";
	if (p[k] == '0')
		k++;
	else
		while (k < len && json_is_digit(p[k]))
			k++;
	if (k < len && p[k] == '.') {
		k++;
		if (k >= len || !json_is_digit(p[k]))
			return "malformed number";
		while (k < len && json_is_digit(p[k]))
			k++;
	}
	if (k < len && (p[k] == 'e' || p[k] == 'E')) {
		k++;
		if (k < len && (p[k] == '+' || p[k] == '-'))
			k++;
		if (k >= len || !json_is_digit(p[k]))
			return "malformed number";
		while (k < len && json_is_digit(p[k]))
			k++;
	}
	/* "01", "1.2.3", "1e5e5": cJSON would read on. */
	if (k < len && (json_is_digit(p[k]) || p[k] == '.' || p[k] == 'e' ||
	    p[k] == 'E' || p[k] == '+' || p[k] == '-'))
		return "malformed number";
	if (k - start > JSON_MAX_NUMBER)
		return "number too long";
	*i = k;
	return NULL;
}

/*
 * Lexical pre-scan of the whole input.  The structure itself is left to
 * cJSON; this only has to be right for the tokens of valid JSON and to
 * refuse what cJSON would wrongly accept.
 */
static const char *
json_scan(const unsigned char *p, size_t len)
{
	const char *why;
	size_t i = 0;
	int depth = 0, any = 0;

	while (i < len) {
		unsigned char c = p[i];

		if (json_is_ws(c)) {
			i++;
			continue;
		}
		any = 1;
		if (c == '"') {
			if ((why = json_scan_string(p, len, &i)) != NULL)
				return why;
		} else if (c == '-' || json_is_digit(c)) {
			if ((why = json_scan_number(p, len, &i)) != NULL)
				return why;
		} else if (c == '{' || c == '[') {
			if (++depth > JSON_MAX_DEPTH)
				return "nesting too deep";
			i++;
		} else if (c == '}' || c == ']') {
			if (depth > 0)
				depth--;
			i++;
		} else if (c == ':' || c == ',' || (c >= 'a' && c <= 'z'))
			i++;
		else if (c == '\0')
			return "NUL byte";
		else
			return "unexpected character";
	}
	return any ? NULL : "empty input";
}

static int
json_cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Refuses duplicate member names in obj (an object).  Small objects are
 * checked pairwise; larger ones sorted, so that a hostile object with many
 * members costs n log n rather than n^2.
 */
static const char *
json_check_names(const cJSON *obj)
{
	const cJSON *a, *b;
	const char **names;
	const char *why = NULL;
	size_t n = 0, k;

	for (a = obj->child; a != NULL; a = a->next)
		n++;
	if (n <= 8) {
		for (a = obj->child; a != NULL; a = a->next)
			for (b = a->next; b != NULL; b = b->next)
				if (strcmp(a->string, b->string) == 0)
					return "duplicate member name";
		return NULL;
	}
	if ((names = calloc(n, sizeof(*names))) == NULL)
		return "out of memory";
	for (k = 0, a = obj->child; a != NULL; a = a->next)
		names[k++] = a->string;
	qsort(names, n, sizeof(*names), json_cmp_names);
	for (k = 1; k < n; k++)
		if (strcmp(names[k - 1], names[k]) == 0) {
			why = "duplicate member name";
			break;
		}
	free(names);
	return why;
}

/* Post-parse walk; depth is bounded by the pre-scan. */
static const char *
json_check(const cJSON *v)
{
	const cJSON *c;
	const char *why;

	if (cJSON_IsNumber(v) && !isfinite(v->valuedouble))
		return "number out of range";
	if (cJSON_IsObject(v)) {
		for (c = v->child; c != NULL; c = c->next)
			if (c->string == NULL)
				return "member without a name";
		if ((why = json_check_names(v)) != NULL)
			return why;
	}
	if (cJSON_IsObject(v) || cJSON_IsArray(v))
		for (c = v->child; c != NULL; c = c->next)
			if ((why = json_check(c)) != NULL)
				return why;
	return NULL;
}

cJSON *
json_parse_strict(const char *buf, size_t len, const char **why)
{
	cJSON *root = NULL;
	const char *end = NULL, *reason;
	size_t used;

	if (buf == NULL) {
		reason = "no input";
		goto fail;
	}
	if (memchr(buf, '\0', len) != NULL) {
		reason = "NUL byte";
		goto fail;
	}
	if ((reason = json_scan((const unsigned char *)buf, len)) != NULL)
		goto fail;
	if ((root = cJSON_ParseWithLengthOpts(buf, len, &end, 0)) == NULL) {
		reason = "malformed JSON";
		goto fail;
	}
	if (end == NULL || end < buf || (used = (size_t)(end - buf)) > len) {
		reason = "malformed JSON";
		goto fail;
	}
	for (; used < len; used++)
		if (!json_is_ws((unsigned char)buf[used])) {
			reason = "trailing data after the value";
			goto fail;
		}
	if ((reason = json_check(root)) != NULL)
		goto fail;
	return root;
fail:
	cJSON_Delete(root);
	log_debug("JSON refused: %s", reason);
	if (why != NULL)
		*why = reason;
	return NULL;
}

static const cJSON *
json_member(const cJSON *obj, const char *key)
{
	if (obj == NULL || key == NULL || !cJSON_IsObject(obj))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

const char *
json_get_str(const cJSON *obj, const char *key)
{
	const cJSON *v = json_member(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
json_get_int(const cJSON *obj, const char *key, long long *out)
{
	const cJSON *v = json_member(obj, key);
	const double lim = 9007199254740992.0;	/* 2^53 */
	double d;
	long long ll;

	if (v == NULL || !cJSON_IsNumber(v))
		return -1;
	d = v->valuedouble;
	if (!isfinite(d) || d < -lim || d > lim)
		return -1;
	ll = (long long)d;
	if ((double)ll != d)
		return -1;
	if (out != NULL)
		*out = ll;
	return 0;
}

int
json_get_bool(const cJSON *obj, const char *key, int *out)
{
	const cJSON *v = json_member(obj, key);

	if (v == NULL || !cJSON_IsBool(v))
		return -1;
	if (out != NULL)
		*out = cJSON_IsTrue(v) ? 1 : 0;
	return 0;
}

const cJSON *
json_get_obj(const cJSON *obj, const char *key)
{
	const cJSON *v = json_member(obj, key);

	return cJSON_IsObject(v) ? v : NULL;
}

const cJSON *
json_get_arr(const cJSON *obj, const char *key)
{
	const cJSON *v = json_member(obj, key);

	return cJSON_IsArray(v) ? v : NULL;
}

char *
json_print(const cJSON *v)
{
	char *s;

	if (v == NULL)
		return NULL;
	if ((s = cJSON_PrintUnformatted(v)) == NULL)
		log_err("cJSON_PrintUnformatted failed");
	return s;
}
