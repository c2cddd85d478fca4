/*
 * json_test: json_parse_strict() against what RFC 8259 allows and what we
 * refuse on purpose (duplicates, NUL, depth), and the typed accessors.
 * Rows are named after the trick they try.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "t.h"

struct parse_row {
	const char	*name;
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	int		 ok;
	const char	*why;		/* expected reason when refused, or NULL */
};

static const struct parse_row parse_rows[] = {
	{ "object", "{\"a\":1,\"b\":[true,false,null],\"c\":\"x\"}", 0, 1, NULL },
	{ "scalar top level", "42", 0, 1, NULL },
	{ "string top level", "\"s\"", 0, 1, NULL },
	{ "surrounding whitespace", " \t\r\n{}\n\n ", 0, 1, NULL },
	{ "empty object and array", "{\"a\":{},\"b\":[]}", 0, 1, NULL },
	{ "escapes", "{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}", 0, 1, NULL },
	{ "utf-8 in string", "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", 0, 1, NULL },
	{ "numbers", "[0,-0,1.5,-1e10,2E+3,3e-2,123456789012]", 0, 1, NULL },
	{ "same name in sibling objects", "[{\"a\":1},{\"a\":2}]", 0, 1, NULL },
	{ "same name at two depths", "{\"a\":{\"a\":1}}", 0, 1, NULL },
	{ "names differing in case", "{\"sub\":1,\"Sub\":2}", 0, 1, NULL },
	{ "len stops before garbage", "{}garbage", 2, 1, NULL },

	{ "empty input", "", 0, 0, "empty input" },
	{ "whitespace only", "  \n", 0, 0, "empty input" },
	{ "duplicate member", "{\"sub\":\"alice\",\"sub\":\"admin\"}", 0, 0, "duplicate member name" },
	{ "duplicate nested", "{\"a\":{\"x\":1,\"y\":2,\"x\":3}}", 0, 0, "duplicate member name" },
	{ "duplicate in array element", "[{},{\"k\":1,\"k\":1}]", 0, 0, "duplicate member name" },
	{ "duplicate via escape", "{\"alg\":\"RS256\",\"\\u0061lg\":\"none\"}", 0, 0, "duplicate member name" },
	{ "embedded NUL", "{\"a\":\"x\0y\"}", 11, 0, "NUL byte" },
	{ "NUL after value", "{}\0", 3, 0, "NUL byte" },
	{ "escaped NUL", "{\"sub\":\"alice\\u0000admin\"}", 0, 0, "escaped NUL in string" },
	{ "raw control char", "{\"a\":\"x\ty\"}", 0, 0, "control character in string" },
	{ "raw newline in string", "{\"a\":\"x\ny\"}", 0, 0, "control character in string" },
	{ "bad escape", "{\"a\":\"\\x41\"}", 0, 0, "bad escape in string" },
	{ "short \\u escape", "{\"a\":\"\\u12\"}", 0, 0, "bad \\u escape" },
	{ "lone low surrogate", "{\"a\":\"\\udc00\"}", 0, 0, "malformed JSON" },
	{ "overlong utf-8", "{\"a\":\"\xc0\xaf\"}", 0, 0, "invalid UTF-8 in string" },
	{ "utf-8 surrogate", "{\"a\":\"\xed\xa0\x80\"}", 0, 0, "invalid UTF-8 in string" },
	{ "truncated utf-8", "{\"a\":\"\xe2\x82\"}", 0, 0, "invalid UTF-8 in string" },
	{ "above U+10FFFF", "{\"a\":\"\xf4\x90\x80\x80\"}", 0, 0, "invalid UTF-8 in string" },
	{ "BOM", "\xef\xbb\xbf{}", 0, 0, "unexpected character" },
	{ "vertical tab as space", "{\v}", 0, 0, "unexpected character" },
	{ "leading zero", "{\"exp\":01}", 0, 0, "malformed number" },
	{ "plus sign", "[+1]", 0, 0, "unexpected character" },
	{ "bare minus", "[-]", 0, 0, "malformed number" },
	{ "trailing dot", "[1.]", 0, 0, "malformed number" },
	{ "leading dot", "[.5]", 0, 0, "unexpected character" },
	{ "two dots", "[1.2.3]", 0, 0, "malformed number" },
	{ "empty exponent", "[1e]", 0, 0, "malformed number" },
	{ "hex number", "[0x10]", 0, 0, "malformed JSON" },
	{ "NaN", "[NaN]", 0, 0, "unexpected character" },
	{ "Infinity", "[Infinity]", 0, 0, "unexpected character" },
	{ "overflow to infinity", "{\"exp\":1e999}", 0, 0, "number out of range" },
	{ "number too long", "[1.000000000000000000000000000000000000000000000000000000000000001]", 0, 0, "number too long" },
	{ "trailing garbage", "{}x", 0, 0, "trailing data after the value" },
	{ "second value", "{} {}", 0, 0, "trailing data after the value" },
	{ "trailing comma", "{\"a\":1,}", 0, 0, "malformed JSON" },
	{ "single quotes", "{'a':1}", 0, 0, "unexpected character" },
	{ "unterminated string", "{\"a\":\"x", 0, 0, "unterminated string" },
	{ "unterminated object", "{\"a\":1", 0, 0, "malformed JSON" },
	{ "comment", "{}/**/", 0, 0, "unexpected character" },
	{ "bad literal", "[tru]", 0, 0, "malformed JSON" },
	{ "capital literal", "[True]", 0, 0, "unexpected character" },
	{ "len cuts the value", "{\"a\":1}", 5, 0, "malformed JSON" },
};

static void
test_parse_rows(void)
{
	size_t i;

	for (i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
		const struct parse_row *r = &parse_rows[i];
		const char *why = NULL;
		size_t len = r->len ? r->len : strlen(r->in);
		cJSON *v = json_parse_strict(r->in, len, &why);

		T_EQ_INT(v != NULL, r->ok, r->name);
		if (!r->ok)
			T_EQ_STR(why, r->why, r->name);
		cJSON_Delete(v);
	}
}

/* n nested arrays. */
static char *
nested(int n)
{
	char *s = malloc((size_t)n * 2 + 1);
	int i;

	for (i = 0; i < n; i++) {
		s[i] = '[';
		s[n + i] = ']';
	}
	s[2 * n] = '\0';
	return s;
}

static void
test_depth(void)
{
	const char *why = NULL;
	char *s;
	cJSON *v;

	s = nested(JSON_MAX_DEPTH);
	v = json_parse_strict(s, strlen(s), &why);
	T_OK(v != NULL, "depth 64 accepted");
	cJSON_Delete(v);
	free(s);

	s = nested(JSON_MAX_DEPTH + 1);
	v = json_parse_strict(s, strlen(s), &why);
	T_OK(v == NULL, "depth 65 refused");
	T_EQ_STR(why, "nesting too deep", "depth 65 reason");
	free(s);

	s = nested(100000);
	v = json_parse_strict(s, strlen(s), NULL);
	T_OK(v == NULL, "depth 100000 refused without recursion");
	free(s);

	/* Brackets inside strings do not count. */
	v = json_parse_strict("[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]",
	    strlen("[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]"), NULL);
	T_OK(v != NULL, "brackets in strings are not nesting");
	cJSON_Delete(v);
}

/* Objects large enough for the sorted duplicate check. */
static void
test_many_members(void)
{
	char buf[4096];
	size_t o;
	int i;
	cJSON *v;
	const char *why = NULL;

	o = (size_t)snprintf(buf, sizeof(buf), "{");
	for (i = 0; i < 200; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\"m%03d\":%d",
		    i ? "," : "", i, i);
	snprintf(buf + o, sizeof(buf) - o, "}");
	v = json_parse_strict(buf, strlen(buf), NULL);
	T_OK(v != NULL, "200 distinct members accepted");
	cJSON_Delete(v);

	/* Duplicate of the first member at the very end. */
	o = strlen(buf) - 1;
	snprintf(buf + o, sizeof(buf) - o, ",\"m000\":7}");
	v = json_parse_strict(buf, strlen(buf), &why);
	T_OK(v == NULL, "duplicate among 201 members refused");
	T_EQ_STR(why, "duplicate member name", "duplicate among 201 reason");
}

static void
test_accessors(void)
{
	static const char doc[] = "{\"s\":\"str\",\"n\":42,\"neg\":-7,"
	    "\"f\":1.5,\"big\":1e300,\"two53\":9007199254740992,"
	    "\"over53\":9007199254740994,\"whole\":3.0,\"b\":true,"
	    "\"o\":{},\"a\":[],\"nul\":null,\"Key\":\"upper\"}";
	long long ll = -1;
	int b = -1;
	cJSON *v = json_parse_strict(doc, strlen(doc), NULL);
	char *p;

	T_OK(v != NULL, "accessor document parses");
	T_EQ_STR(json_get_str(v, "s"), "str", "get_str string");
	T_EQ_STR(json_get_str(v, "n"), NULL, "get_str on number");
	T_EQ_STR(json_get_str(v, "missing"), NULL, "get_str absent");
	T_EQ_STR(json_get_str(v, "nul"), NULL, "get_str on null");
	T_EQ_STR(json_get_str(v, "key"), NULL, "get_str is case-sensitive");
	T_EQ_STR(json_get_str(v, "Key"), "upper", "get_str exact case");
	T_EQ_STR(json_get_str(NULL, "s"), NULL, "get_str NULL object");
	T_EQ_STR(json_get_str(cJSON_GetObjectItemCaseSensitive(v, "a"), "s"),
	    NULL, "get_str on array");

	T_EQ_INT(json_get_int(v, "n", &ll), 0, "get_int integer");
	T_EQ_INT(ll, 42, "get_int value");
	T_EQ_INT(json_get_int(v, "neg", &ll), 0, "get_int negative");
	T_EQ_INT(ll, -7, "get_int negative value");
	T_EQ_INT(json_get_int(v, "whole", &ll), 0, "get_int 3.0");
	T_EQ_INT(ll, 3, "get_int 3.0 value");
	T_EQ_INT(json_get_int(v, "two53", &ll), 0, "get_int 2^53");
	T_EQ_INT(json_get_int(v, "f", &ll), -1, "get_int fraction");
	T_EQ_INT(json_get_int(v, "big", &ll), -1, "get_int 1e300");
	T_EQ_INT(json_get_int(v, "over53", &ll), -1, "get_int beyond 2^53");
	T_EQ_INT(json_get_int(v, "s", &ll), -1, "get_int on string");
	T_EQ_INT(json_get_int(v, "missing", &ll), -1, "get_int absent");

	T_EQ_INT(json_get_bool(v, "b", &b), 0, "get_bool");
	T_EQ_INT(b, 1, "get_bool value");
	T_EQ_INT(json_get_bool(v, "n", &b), -1, "get_bool on number");
	T_OK(json_get_obj(v, "o") != NULL, "get_obj");
	T_OK(json_get_obj(v, "a") == NULL, "get_obj on array");
	T_OK(json_get_arr(v, "a") != NULL, "get_arr");
	T_OK(json_get_arr(v, "o") == NULL, "get_arr on object");

	p = json_print(json_get_obj(v, "o"));
	T_EQ_STR(p, "{}", "print empty object");
	free(p);
	cJSON_Delete(v);

	v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "iss", "https://as.example/");
	cJSON_AddNumberToObject(v, "exp", 1700000000);
	cJSON_AddStringToObject(v, "q", "a\"b\n");
	p = json_print(v);
	T_EQ_STR(p, "{\"iss\":\"https://as.example/\",\"exp\":1700000000,"
	    "\"q\":\"a\\\"b\\n\"}", "print compact with escapes");
	free(p);
	cJSON_Delete(v);
	T_OK(json_print(NULL) == NULL, "print NULL");
}

int main(void);

int
main(void)
{
	log_set_level(LOGL_ERROR);
	test_parse_rows();
	test_depth();
	test_many_members();
	test_accessors();
	return t_done();
}
