/*
 * matcho_test: table-driven tests of lib/matcho, the Aidbox-compatible
 * AccessPolicy pattern language (reference/matcho.md).  One or more
 * positive and negative rows per rule, plus adversarial rows: paths to
 * absent or null values, string/number confusion, nested arrays, deep
 * nesting, invalid and catastrophic regexes, special keys mixed with
 * other keys, unknown special keys, duplicate keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "matcho.h"
#include "t.h"

#define ABSENT	NULL

/* The request every ".path" row resolves against. */
static const char root_json[] =
    "{\"uri\": \"/fhir/Patient/pt-1\", \"request-method\": \"get\","
    " \"params\": {\"id\": \"pt-1\", \"patient\": \"pt-1\", \"n\": \"1\"},"
    " \"user\": {\"id\": \"u1\", \"data\": {\"patient_id\": \"pt-1\"}},"
    " \"role\": {\"name\": \"patient\", \"links\": {\"patient\": {\"id\": \"pt-1\"}}},"
    " \"jwt\": {\"nul\": null, \"zero\": 0},"
    " \"arr\": [{\"x\": \"a\"}, {\"x\": \"b\"}], \"num\": 1,"
    " \"nested\": [[1, 2], [3]], \"empty\": \"\"}";

static const struct {
	const char	*pattern;
	const char	*subject;	/* JSON text, or ABSENT */
	int		 want;
} rows[] = {
	/* scalars: equality without coercion */
	{ "\"abc\"", "\"abc\"", 1 },
	{ "\"abc\"", "\"abd\"", 0 },
	{ "\"abc\"", "\"ABC\"", 0 },
	{ "\"abc\"", "\"abc \"", 0 },
	{ "\"1\"", "1", 0 },
	{ "1", "\"1\"", 0 },
	{ "1", "1.0", 1 },
	{ "1", "2", 0 },
	{ "0", "false", 0 },
	{ "1.5", "1.5", 1 },
	{ "true", "true", 1 },
	{ "true", "false", 0 },
	{ "false", "false", 1 },
	{ "true", "\"true\"", 0 },
	{ "true", "1", 0 },
	{ "\"abc\"", ABSENT, 0 },
	{ "\"abc\"", "null", 0 },
	{ "\"abc\"", "[\"abc\"]", 0 },
	{ "\"\"", "\"\"", 1 },
	{ "\"\"", ABSENT, 0 },
	{ "null", "null", 1 },
	{ "null", ABSENT, 1 },
	{ "null", "\"x\"", 0 },
	{ "null", "0", 0 },
	{ "\"present\"", "\"present\"", 1 },
	{ "\"Nil?\"", "\"Nil?\"", 1 },
	{ "\"Nil?\"", ABSENT, 0 },
	{ "\"$enum\"", "\"$enum\"", 1 },
	/* objects: every key, extra subject keys ignored, case-sensitive keys */
	{ "{\"a\": 1}", "{\"a\": 1, \"b\": 2}", 1 },
	{ "{\"a\": 1}", "{\"b\": 2}", 0 },
	{ "{\"a\": 1}", "{\"a\": 2}", 0 },
	{ "{\"a\": 1, \"b\": 2}", "{\"a\": 1}", 0 },
	{ "{}", "{}", 1 },
	{ "{}", "{\"a\": 1}", 1 },
	{ "{}", "[]", 0 },
	{ "{}", ABSENT, 0 },
	{ "{\"a\": 1}", "\"a\"", 0 },
	{ "{\"a\": 1}", "null", 0 },
	{ "{\"a\": 1}", ABSENT, 0 },
	{ "{\"a\": \"nil?\"}", "{}", 1 },
	{ "{\"a\": \"nil?\"}", "{\"a\": null}", 1 },
	{ "{\"a\": \"nil?\"}", "{\"a\": 0}", 0 },
	{ "{\"a\": \"nil?\"}", ABSENT, 0 },
	{ "{\"a\": null}", "{}", 1 },
	{ "{\"a\": {\"b\": {\"c\": \"x\"}}}", "{\"a\": {\"b\": {\"c\": \"x\", \"d\": 1}}}", 1 },
	{ "{\"a\": {\"b\": {\"c\": \"x\"}}}", "{\"a\": {\"b\": {\"c\": \"y\"}}}", 0 },
	{ "{\"a\": {\"b\": {\"c\": \"x\"}}}", "{\"a\": {\"b\": \"c\"}}", 0 },
	{ "{\"uri\": \"x\"}", "{\"URI\": \"x\"}", 0 },
	{ "{\"uri\": \"x\"}", "{\"uri\": \"y\", \"uri\": \"x\"}", 0 },	/* first key wins */
	/* arrays: in order, subject may be longer */
	{ "[1, 2]", "[1, 2, 3]", 1 },
	{ "[1, 2]", "[1, 2]", 1 },
	{ "[1, 2]", "[2, 1]", 0 },
	{ "[1, 2]", "[1]", 0 },
	{ "[]", "[]", 1 },
	{ "[]", "[1]", 1 },
	{ "[]", "{}", 0 },
	{ "[]", ABSENT, 0 },
	{ "[1]", "\"1\"", 0 },
	{ "[1]", "[\"1\"]", 0 },
	{ "[{\"a\": 1}]", "[{\"a\": 1, \"b\": 2}]", 1 },
	{ "[[1], [3]]", "[[1, 2], [3]]", 1 },
	{ "[[2]]", "[[1, 2]]", 0 },
	{ "[[1, 2, 3]]", "[[1, 2]]", 0 },
	{ "[\"nil?\"]", "[null]", 1 },
	{ "[\"nil?\"]", "[]", 0 },
	/* regex: searched, not anchored; strings only */
	{ "\"#^/fhir/\"", "\"/fhir/Patient\"", 1 },
	{ "\"#^/fhir/\"", "\"/x/fhir/\"", 0 },
	{ "\"#fhir\"", "\"/x/fhir/\"", 1 },
	{ "\"#^a$\"", "\"ab\"", 0 },
	{ "\"#^a$\"", "\"a\"", 1 },
	{ "\"#\\\\d+\"", "\"x12\"", 1 },
	{ "\"#\\\\d+\"", "\"xy\"", 0 },
	{ "\"#(?i)^GET$\"", "\"get\"", 1 },
	{ "\"#^get$\"", "\"GET\"", 0 },
	{ "\"#1\"", "1", 0 },
	{ "\"#abc\"", ABSENT, 0 },
	{ "\"#abc\"", "null", 0 },
	{ "\"#abc\"", "[\"abc\"]", 0 },
	{ "\"#\"", "\"anything\"", 1 },
	{ "\"#^$\"", "\"\"", 1 },
	{ "\"#^.$\"", "\"\xff\"", 0 },		/* invalid UTF-8 never matches, no error */
	{ "\"#^.$\"", "\"\xc3\xa9\"", 1 },	/* one UTF-8 character */
	{ "\"#^/fhir/[A-Za-z]+/[^/]+(/_history(/[^/]+)?)?$\"", "\"/fhir/Observation/o1/_history/2\"", 1 },
	{ "\"#^/fhir/[A-Za-z]+/[^/]+(/_history(/[^/]+)?)?$\"", "\"/fhir/Observation/o1/$everything\"", 0 },
	{ "\"#[\"", "\"x\"", -1 },
	{ "\"#[\"", ABSENT, -1 },
	{ "\"#(?<n\"", "\"x\"", -1 },
	{ "\"#\\\\C\"", "\"x\"", -1 },		/* \C refused: it splits UTF-8 */
	/* paths into the request */
	{ "\".user.id\"", "\"u1\"", 1 },
	{ "\".user.id\"", "\"u2\"", 0 },
	{ "\".role.links.patient.id\"", "\"pt-1\"", 1 },
	{ "\".role.links.patient.id\"", "\"pt-2\"", 0 },
	{ "\".missing\"", "\"x\"", 0 },
	{ "\".missing\"", ABSENT, 0 },
	{ "\".missing\"", "null", 0 },
	{ "\".missing.deeper\"", ABSENT, 0 },
	{ "\".jwt.nul\"", "null", 0 },
	{ "\".jwt.nul\"", ABSENT, 0 },
	{ "\".jwt.zero\"", "0", 1 },
	{ "\".jwt.zero\"", "false", 0 },
	{ "\".empty\"", "\"\"", 1 },
	{ "\".arr.1.x\"", "\"b\"", 1 },
	{ "\".arr.0.x\"", "\"b\"", 0 },
	{ "\".arr.5.x\"", "\"b\"", 0 },
	{ "\".arr.x\"", "\"a\"", 0 },
	{ "\".arr.-1.x\"", "\"b\"", 0 },
	{ "\".arr.1x.x\"", "\"b\"", 0 },
	{ "\".arr.99999999999999999999.x\"", "\"b\"", 0 },
	{ "\".nested.0.1\"", "2", 1 },
	{ "\".nested.1\"", "[3]", 1 },
	{ "\".num\"", "1", 1 },
	{ "\".num\"", "\"1\"", 0 },
	{ "\".params.n\"", "1", 0 },
	{ "\".user.data\"", "{\"patient_id\": \"pt-1\"}", 1 },
	{ "\".user.data\"", "{\"patient_id\": \"pt-1\", \"x\": 1}", 0 },
	{ "\".uri.x\"", "\"x\"", 0 },
	{ "\".\"", "\"x\"", -1 },
	{ "\"..user\"", "\"x\"", -1 },
	{ "\".user.\"", "\"x\"", -1 },
	{ "\".user..id\"", "\"u1\"", -1 },
	/* keywords */
	{ "\"present?\"", "\"x\"", 1 },
	{ "\"present?\"", "0", 1 },
	{ "\"present?\"", "false", 1 },
	{ "\"present?\"", "\"\"", 1 },
	{ "\"present?\"", "[]", 1 },
	{ "\"present?\"", "null", 0 },
	{ "\"present?\"", ABSENT, 0 },
	{ "\"nil?\"", ABSENT, 1 },
	{ "\"nil?\"", "null", 1 },
	{ "\"nil?\"", "\"\"", 0 },
	{ "\"nil?\"", "false", 0 },
	{ "\"not-blank?\"", "\"x\"", 1 },
	{ "\"not-blank?\"", "\" x \"", 1 },
	{ "\"not-blank?\"", "\"\"", 0 },
	{ "\"not-blank?\"", "\" \\t\\n\"", 0 },
	{ "\"not-blank?\"", "1", 0 },
	{ "\"not-blank?\"", "[\"x\"]", 0 },
	{ "\"not-blank?\"", ABSENT, 0 },
	{ "\"not-blank?\"", "null", 0 },
	/* $enum: literal scalars */
	{ "{\"$enum\": [\"get\", \"post\"]}", "\"post\"", 1 },
	{ "{\"$enum\": [\"get\", \"post\"]}", "\"put\"", 0 },
	{ "{\"$enum\": [\"get\", \"post\"]}", ABSENT, 0 },
	{ "{\"$enum\": [\"get\", \"post\"]}", "[\"get\"]", 0 },
	{ "{\"$enum\": [1, 2]}", "2", 1 },
	{ "{\"$enum\": [1, 2]}", "\"2\"", 0 },
	{ "{\"$enum\": [true]}", "true", 1 },
	{ "{\"$enum\": [\"#.*\"]}", "\"x\"", 0 },
	{ "{\"$enum\": [\".user.id\"]}", "\"u1\"", 0 },
	{ "{\"$enum\": []}", "\"x\"", -1 },
	{ "{\"$enum\": \"get\"}", "\"get\"", -1 },
	{ "{\"$enum\": [{\"a\": 1}]}", "{\"a\": 1}", -1 },
	{ "{\"$enum\": [null]}", "null", -1 },
	/* $one-of */
	{ "{\"$one-of\": [\"#^/a\", \"#^/b\"]}", "\"/b/c\"", 1 },
	{ "{\"$one-of\": [\"#^/a\", \"#^/b\"]}", "\"/c\"", 0 },
	{ "{\"$one-of\": [{\"a\": 1}, {\"b\": 2}]}", "{\"b\": 2}", 1 },
	{ "{\"$one-of\": [{\"a\": 1}, {\"b\": 2}]}", "{\"c\": 3}", 0 },
	{ "{\"$one-of\": [\"nil?\", \"x\"]}", ABSENT, 1 },
	{ "{\"$one-of\": [\"a\"], \"x\": 1}", "{\"x\": 1}", -1 },
	{ "{\"x\": 1, \"$one-of\": [\"a\"]}", "\"a\"", -1 },
	{ "{\"$one-of\": []}", "\"a\"", -1 },
	{ "{\"$one-of\": \"a\"}", "\"a\"", -1 },
	{ "{\"$one-of\": [\"x\"], \"$not\": \"y\"}", "\"x\"", -1 },
	{ "{\"$one-of\": [\"x\", \"#[\"]}", "\"x\"", 1 },	/* short-circuit */
	{ "{\"$one-of\": [\"#[\", \"x\"]}", "\"x\"", -1 },
	/* $contains */
	{ "{\"$contains\": \"client_credentials\"}", "[\"authorization_code\", \"client_credentials\"]", 1 },
	{ "{\"$contains\": \"client_credentials\"}", "[\"authorization_code\"]", 0 },
	{ "{\"$contains\": \"client_credentials\"}", "\"client_credentials\"", 0 },
	{ "{\"$contains\": \"client_credentials\"}", "[]", 0 },
	{ "{\"$contains\": \"client_credentials\"}", ABSENT, 0 },
	{ "{\"$contains\": \"client_credentials\"}", "{\"a\": \"client_credentials\"}", 0 },
	{ "{\"$contains\": {\"x\": \"b\"}}", "[{\"x\": \"a\"}, {\"x\": \"b\"}]", 1 },
	{ "{\"$contains\": [1]}", "[[2], [1, 3]]", 1 },
	{ "{\"$contains\": \"#[\"}", "[\"a\"]", -1 },
	/* $every */
	{ "{\"$every\": \"#^a\"}", "[\"ab\", \"ac\"]", 1 },
	{ "{\"$every\": \"#^a\"}", "[\"ab\", \"b\"]", 0 },
	{ "{\"$every\": \"#^a\"}", "[]", 1 },
	{ "{\"$every\": \"#^a\"}", "\"ab\"", 0 },
	{ "{\"$every\": \"#^a\"}", ABSENT, 0 },
	{ "{\"$every\": {\"$every\": 1}}", "[[1, 1], [1]]", 1 },
	{ "{\"$every\": {\"$every\": 1}}", "[[1, 1], [1, 2]]", 0 },
	/* $not: errors are never inverted */
	{ "{\"$not\": \"get\"}", "\"post\"", 1 },
	{ "{\"$not\": \"get\"}", "\"get\"", 0 },
	{ "{\"$not\": \"#[\"}", "\"x\"", -1 },
	{ "{\"$not\": \"nil?\"}", ABSENT, 0 },
	{ "{\"$not\": {\"$not\": \"a\"}}", "\"a\"", 1 },
	{ "{\"$not\": {\"$enum\": [\"delete\", \"put\"]}}", "\"get\"", 1 },
	{ "{\"$not\": {\"$enum\": []}}", "\"get\"", -1 },
	/* $reference */
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "{\"reference\": \"Patient/pt-1\"}", 1 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "\"Patient/pt-1\"", 1 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "{\"resourceType\": \"Patient\", \"id\": \"pt-1\"}", 1 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "{\"reference\": \"Patient/pt-1/_history/3\"}", 1 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "{\"reference\": \"Patient/pt-2\"}", 0 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "{\"reference\": \"Group/pt-1\"}", 0 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "{\"reference\": \"http://evil/fhir/Patient/pt-1\"}", 0 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "{\"reference\": \"#pt-1\"}", 0 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "\"urn:uuid:9d4c3c1e-0000-4000-8000-000000000001\"", 0 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "{\"reference\": \"Patient/pt-1/extra\"}", 0 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "{\"reference\": \"Patient/pt-1/_history/\"}", 0 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "{\"reference\": \"patient/pt-1\"}", 0 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "{\"reference\": \"Patient/\"}", 0 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "{\"reference\": \"Patient/pt 1\"}", 0 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "{\"reference\": 5}", 0 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "{\"reference\": \"Patient/pt-2\", \"resourceType\": \"Patient\", \"id\": \"pt-1\"}", 0 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", "5", 0 },
	{ "{\"$reference\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}", ABSENT, 0 },
	{ "{\"$reference\": {\"id\": \".role.links.patient.id\"}}", "{\"reference\": \"Patient/pt-1\"}", 1 },
	{ "{\"$reference\": {\"id\": \".role.links.patient.id\"}}", "{\"reference\": \"Patient/pt-9\"}", 0 },
	{ "{\"$reference\": \"#[\"}", "\"Patient/1\"", -1 },
	/* $present-all (+ $length) */
	{ "{\"$present-all\": [\"a\", \"b\"]}", "[\"b\", \"c\", \"a\"]", 1 },
	{ "{\"$present-all\": [\"a\", \"b\"]}", "[\"a\", \"c\"]", 0 },
	{ "{\"$present-all\": [\"a\", \"a\"]}", "[\"a\"]", 1 },
	{ "{\"$present-all\": []}", "[]", 1 },
	{ "{\"$present-all\": [\"a\", \"b\"], \"$length\": 2}", "[\"b\", \"a\"]", 1 },
	{ "{\"$present-all\": [\"a\", \"b\"], \"$length\": 2}", "[\"a\", \"b\", \"c\"]", 0 },
	{ "{\"$length\": 0, \"$present-all\": []}", "[]", 1 },
	{ "{\"$length\": 0, \"$present-all\": []}", "[1]", 0 },
	{ "{\"$present-all\": [\"a\"]}", "\"a\"", 0 },
	{ "{\"$present-all\": [\"a\"]}", ABSENT, 0 },
	{ "{\"$present-all\": [{\"x\": \"b\"}]}", "[{\"x\": \"a\"}, {\"x\": \"b\"}]", 1 },
	{ "{\"$length\": 2}", "[1, 2]", -1 },
	{ "{\"$present-all\": [\"a\"], \"$length\": -1}", "[\"a\"]", -1 },
	{ "{\"$present-all\": [\"a\"], \"$length\": 1.5}", "[\"a\"]", -1 },
	{ "{\"$present-all\": [\"a\"], \"$length\": \"1\"}", "[\"a\"]", -1 },
	{ "{\"$present-all\": [\"a\"], \"$length\": 1e300}", "[\"a\"]", -1 },
	{ "{\"$present-all\": \"a\"}", "[\"a\"]", -1 },
	{ "{\"$present-all\": [\"a\"], \"x\": 1}", "[\"a\"]", -1 },
	/* unknown or combined special keys are errors, not literals */
	{ "{\"$one_of\": [\"a\"]}", "\"a\"", -1 },
	{ "{\"$foo\": 1}", "{\"$foo\": 1}", -1 },
	{ "{\"$contains\": \"a\", \"$every\": \"a\"}", "[\"a\"]", -1 },
	{ "{\"a\": {\"$regex\": \"x\"}}", "{\"a\": \"x\"}", -1 },
	/* special keys compose inside plain objects */
	{ "{\"client\": {\"grant_types\": {\"$contains\": \"client_credentials\"}}, \"uri\": \"#^/fhir/\"}",
	  "{\"client\": {\"grant_types\": [\"client_credentials\"]}, \"uri\": \"/fhir/Observation\"}", 1 },
	{ "{\"client\": {\"grant_types\": {\"$contains\": \"client_credentials\"}}, \"uri\": \"#^/fhir/\"}",
	  "{\"client\": {\"grant_types\": \"client_credentials\"}, \"uri\": \"/fhir/Observation\"}", 0 },
	{ "{\"client\": {\"grant_types\": {\"$contains\": \"client_credentials\"}}, \"uri\": \"#^/fhir/\"}",
	  "{\"client\": null, \"uri\": \"/fhir/Observation\"}", 0 },
};

static void
test_rows(const cJSON *root)
{
	char name[512];
	struct matcho_err err;
	cJSON *p, *s;
	size_t i;
	int got;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "match %s against %s", rows[i].pattern,
		    rows[i].subject != NULL ? rows[i].subject : "(absent)");
		p = cJSON_Parse(rows[i].pattern);
		s = rows[i].subject != NULL ? cJSON_Parse(rows[i].subject) : NULL;
		if (!T_OK(p != NULL && (rows[i].subject == NULL || s != NULL), name)) {
			cJSON_Delete(p);
			cJSON_Delete(s);
			continue;
		}
		got = matcho_match(p, s, root, &err);
		T_EQ_INT(got, rows[i].want, name);
		if (rows[i].want == -1)
			T_OK(err.why[0] != '\0', name);
		cJSON_Delete(p);
		cJSON_Delete(s);
	}
}

/* matcho_validate on its own: shape errors found without a subject. */
static const struct {
	const char	*pattern;
	int		 want;
	const char	*why;		/* expected substring of the reason */
} vrows[] = {
	{ "{\"uri\": \"#/fhir/.*\", \"params\": {\"patient\": \".role.links.patient.id\"}}", 0, NULL },
	{ "{\"request-method\": \"get\", \"uri\": \"#^/fhir/[A-Za-z]+/[^/]+(/_history(/[^/]+)?)?$\"}", 0, NULL },
	{ "{\"a\": [1, \"x\", null, true, {\"$not\": \"nil?\"}]}", 0, NULL },
	{ "{\"$present-all\": [\"a\"], \"$length\": 1}", 0, NULL },
	{ "\"plain\"", 0, NULL },
	{ "{\"a\": \"#[\"}", -1, "regex" },
	{ "{\"a\": [{\"b\": \"#(\"}]}", -1, "regex" },
	{ "{\"a\": \"..x\"}", -1, "path" },
	{ "{\"a\": 1, \"a\": 2}", -1, "duplicate" },
	{ "{\"a\": {\"b\": 1, \"b\": 1}}", -1, "duplicate" },
	{ "{\"$one-of\": [\"a\"], \"b\": 1}", -1, "mixed" },
	{ "{\"$one-of\": []}", -1, "non-empty" },
	{ "{\"$one-of\": [\"#[\"]}", -1, "regex" },
	{ "{\"$enum\": [[1]]}", -1, "non-scalar" },
	{ "{\"$enum\": {}}", -1, "$enum" },
	{ "{\"$length\": 1}", -1, "$length" },
	{ "{\"$present-all\": [], \"$length\": \"x\"}", -1, "$length" },
	{ "{\"$nope\": 1}", -1, "unknown special key" },
	{ "{\"$not\": \"#[\"}", -1, "regex" },
	{ "{\"$contains\": {\"$every\": {\"$reference\": {\"id\": \"#(\"}}}}", -1, "regex" },
};

static void
test_validate(void)
{
	char name[512], why[256];
	cJSON *p;
	size_t i;

	for (i = 0; i < sizeof(vrows) / sizeof(vrows[0]); i++) {
		snprintf(name, sizeof(name), "validate %s", vrows[i].pattern);
		p = cJSON_Parse(vrows[i].pattern);
		if (!T_OK(p != NULL, name))
			continue;
		T_EQ_INT(matcho_validate(p, why, sizeof(why)), vrows[i].want, name);
		if (vrows[i].why != NULL) {
			if (!T_OK(strstr(why, vrows[i].why) != NULL, name))
				printf("#   why \"%s\"\n", why);
		}
		cJSON_Delete(p);
	}
	T_EQ_INT(matcho_validate(NULL, why, sizeof(why)), -1, "validate NULL pattern");
	T_EQ_INT(matcho_validate(NULL, NULL, 0), -1, "validate with no reason buffer");
}

/* {"a": {"a": ... "x" ...}} n levels deep. */
static cJSON *
nest(int n, const char *leaf)
{
	cJSON *v = cJSON_CreateString(leaf), *o;

	while (n-- > 0) {
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "a", v);
		v = o;
	}
	return v;
}

static void
test_depth(void)
{
	char why[256];
	cJSON *p, *s;

	p = nest(MATCHO_MAX_DEPTH - 1, "x");
	s = nest(MATCHO_MAX_DEPTH - 1, "x");
	T_EQ_INT(matcho_match(p, s, NULL, NULL), 1, "nesting at the limit matches");
	T_EQ_INT(matcho_validate(p, why, sizeof(why)), 0, "nesting at the limit is valid");
	cJSON_Delete(p);
	cJSON_Delete(s);

	p = nest(200, "x");
	s = nest(200, "x");
	T_EQ_INT(matcho_match(p, s, NULL, NULL), -1, "pattern nested 200 deep is an error");
	T_EQ_INT(matcho_validate(p, why, sizeof(why)), -1, "pattern nested 200 deep is invalid");
	T_EQ_INT(matcho_match(p, NULL, NULL, NULL), 0, "deep pattern against absent: no match");
	cJSON_Delete(p);
	cJSON_Delete(s);

	/* A shallow pattern against a deep subject is fine. */
	p = cJSON_Parse("{\"a\": \"present?\"}");
	s = nest(500, "x");
	T_EQ_INT(matcho_match(p, s, NULL, NULL), 1, "shallow pattern, deep subject");
	cJSON_Delete(p);
	cJSON_Delete(s);
}

/* Catastrophic backtracking must stop at the match limit: an error. */
static void
test_catastrophic(void)
{
	static const struct {
		const char	*re;
		char		 fill;	/* subject: 40 of these, then the tail */
		const char	*tail;
	} evil[] = {
		{ "#^(a+)+$", 'a', "!" },
		{ "#^(a|a)*$", 'a', "!" },
		{ "#^(a|aa)+$", 'a', "!" },
		{ "#(x+x+)+[yz]", 'x', "" },
		{ "#^(\\w+\\s?)*$", 'a', "!" },
		{ "#(*NO_START_OPT)(x+x+)+y", 'x', "" },
	};
	char subj[64], name[128];
	struct matcho_err err;
	cJSON *p, *s;
	size_t i;

	for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		memset(subj, evil[i].fill, 40);
		snprintf(subj + 40, sizeof(subj) - 40, "%s", evil[i].tail);
		p = cJSON_CreateString(evil[i].re);
		s = cJSON_CreateString(subj);
		snprintf(name, sizeof(name), "catastrophic %s stops with an error", evil[i].re);
		T_EQ_INT(matcho_match(p, s, NULL, &err), -1, name);
		if (!T_OK(strstr(err.why, "limit") != NULL, name))
			printf("#   why \"%s\"\n", err.why);
		cJSON_Delete(p);
		cJSON_Delete(s);
	}
	/* The same regex on a short subject still works. */
	p = cJSON_CreateString("#^(a+)+$");
	s = cJSON_CreateString("aaaa");
	T_EQ_INT(matcho_match(p, s, NULL, NULL), 1, "evil regex on a short subject matches");
	cJSON_Delete(p);
	cJSON_Delete(s);
}

/* More distinct regexes than the cache holds: eviction keeps answers right. */
static void
test_cache(void)
{
	char re[32], str[32];
	cJSON *p, *s;
	int i, ok = 1;

	for (i = 0; i < 200 && ok; i++) {
		snprintf(re, sizeof(re), "#^n%d$", i % 150);
		snprintf(str, sizeof(str), "n%d", i % 150);
		p = cJSON_CreateString(re);
		s = cJSON_CreateString(str);
		ok = matcho_match(p, s, NULL, NULL) == 1;
		cJSON_SetValuestring(s, "n-none");
		ok = ok && matcho_match(p, s, NULL, NULL) == 0;
		cJSON_Delete(p);
		cJSON_Delete(s);
	}
	T_OK(ok, "regex cache eviction keeps results right");
	p = cJSON_CreateString("#^over");
	s = cJSON_CreateString("overflow");
	{
		char big[MATCHO_REGEX_MAX + 3];

		memset(big, 'a', sizeof(big) - 1);
		big[0] = '#';
		big[sizeof(big) - 1] = '\0';
		cJSON_SetValuestring(p, big);
		T_EQ_INT(matcho_match(p, s, NULL, NULL), -1, "overlong regex refused");
	}
	cJSON_Delete(p);
	cJSON_Delete(s);
	matcho_cache_clear();
	matcho_cache_clear();
	p = cJSON_CreateString("#^n1$");
	s = cJSON_CreateString("n1");
	T_EQ_INT(matcho_match(p, s, NULL, NULL), 1, "cache works again after clear");
	cJSON_Delete(p);
	cJSON_Delete(s);
}

static void
test_path_get(const cJSON *root)
{
	const cJSON *v;

	v = matcho_path_get(root, ".role.links.patient.id");
	T_OK(cJSON_IsString(v) && strcmp(v->valuestring, "pt-1") == 0, "path_get patient id");
	T_OK(matcho_path_get(root, ".nope") == NULL, "path_get absent");
	T_OK(matcho_path_get(root, "role") == NULL, "path_get without leading dot");
	T_OK(matcho_path_get(NULL, ".a") == NULL, "path_get NULL root");
	v = matcho_path_get(root, ".nested.0.1");
	T_OK(cJSON_IsNumber(v) && v->valuedouble == 2, "path_get array index");
	T_OK(matcho_path_get(root, ".params.id") != NULL, "path_get params.id");
	/* Path with no root: never matches. */
	{
		cJSON *p = cJSON_CreateString(".user.id"), *s = cJSON_CreateString("u1");

		T_EQ_INT(matcho_match(p, s, NULL, NULL), 0, "path without a request root");
		cJSON_Delete(p);
		cJSON_Delete(s);
	}
}

int
main(void)
{
	cJSON *root;

	log_set_level(LOGL_ERROR);
	root = cJSON_Parse(root_json);
	if (!T_OK(root != NULL, "request root parses"))
		return t_done();
	test_rows(root);
	test_validate();
	test_depth();
	test_catastrophic();
	test_cache();
	test_path_get(root);
	cJSON_Delete(root);
	matcho_cache_clear();
	return t_done();
}
