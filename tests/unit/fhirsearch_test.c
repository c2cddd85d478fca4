/*
 * fhirsearch_test: table-driven tests of lib/fhirsearch (FHIR R4 search
 * parameter parsing into the JSON filter the store evaluates).  Rows
 * cover every parameter type with its prefixes, partial dates, token
 * forms, modifiers and escapes, and adversarial input: impossible dates,
 * overlong names, dangling escapes, empty values, unknown parameters and
 * modifiers, repeated paging parameters, too many values, includes that
 * name the wrong type, and registry rows that are malformed.
 * No database, no network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhirsearch.h"
#include "log.h"
#include "t.h"

#define LAB "http://terminology.hl7.org/CodeSystem/observation-category"

static struct fs_registry *
reg_new(void)
{
	struct fs_registry *reg = fs_registry_new();
	static const char *const rows[][5] = {
		{ "Resource", "_id", "token", "[\"$.id\"]", NULL },
		{ "Resource", "_lastUpdated", "date", "[\"$.meta.lastUpdated\"]", NULL },
		{ "Observation", "patient", "reference", "[\"$.subject\"]", "Patient" },
		{ "Observation", "subject", "reference", "[\"$.subject\"]", NULL },
		{ "Observation", "category", "token", "[\"$.category[*]\"]", NULL },
		{ "Observation", "code", "token", "[\"$.code\"]", NULL },
		{ "Observation", "date", "date", "[\"$.effectiveDateTime\", \"$.effectivePeriod\"]", NULL },
		{ "Observation", "value-quantity", "quantity", "[\"$.valueQuantity\"]", NULL },
		{ "Patient", "name", "string", "[\"$.name[*].family\"]", NULL },
		{ "Patient", "birthdate", "date", "[\"$.birthDate\"]", NULL },
		{ "Patient", "gender", "token", "[\"$.gender\"]", NULL },
		{ "Patient", "url", "uri", "[\"$.url\"]", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (fs_registry_add(reg, rows[i][0], rows[i][1], rows[i][2], rows[i][3], rows[i][4]) != 0)
			printf("# registry row %zu refused\n", i);
	return reg;
}

static void
test_registry(void)
{
	struct fs_registry *reg = reg_new();
	static const char *const bad[][5] = {
		{ "observation", "x", "token", "[\"$.a\"]", NULL },	/* lowercase type */
		{ "Observation", "x y", "token", "[\"$.a\"]", NULL },	/* space in name */
		{ "Observation", "x", "tokens", "[\"$.a\"]", NULL },	/* unknown type */
		{ "Observation", "x", "token", "[]", NULL },		/* no path */
		{ "Observation", "x", "token", "\"$.a\"", NULL },	/* not an array */
		{ "Observation", "x", "token", "[1]", NULL },		/* not a string */
		{ "Observation", "x", "token", "[\"a.b\"]", NULL },	/* not a jsonpath */
		{ "Observation", "x", "token", "[\"$.a\", \"$.a\"", NULL },	/* broken JSON */
		{ "Observation", "x", "reference", "[\"$.a\"]", "patient" },	/* bad target */
		{ "Observation", "", "token", "[\"$.a\"]", NULL },	/* empty name */
	};
	size_t i;
	const struct fs_def *d;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_EQ_INT(fs_registry_add(reg, bad[i][0], bad[i][1], bad[i][2], bad[i][3], bad[i][4]), -1,
		    "malformed registry row refused");
	d = fs_registry_find(reg, "Observation", "_id");
	T_OK(d != NULL && strcmp(d->rtype, "Resource") == 0, "_id falls back to Resource");
	d = fs_registry_find(reg, "Observation", "category");
	T_OK(d != NULL && d->type == FS_TOKEN, "own row found");
	T_OK(fs_registry_find(reg, "Patient", "category") == NULL, "other type's row not found");
	T_OK(fs_registry_has_type(reg, "Patient"), "has Patient");
	T_OK(!fs_registry_has_type(reg, "Practitioner"), "no Practitioner");
	fs_registry_free(reg);
}

static const struct {
	const char	*in;
	int		 ok;
	const char	*lo;
	const char	*hi;
} date_rows[] = {
	{ "2023", 1, "2023-01-01T00:00:00Z", "2024-01-01T00:00:00Z" },
	{ "2023-02", 1, "2023-02-01T00:00:00Z", "2023-03-01T00:00:00Z" },
	{ "2023-12", 1, "2023-12-01T00:00:00Z", "2024-01-01T00:00:00Z" },
	{ "2024-02-29", 1, "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z" },
	{ "2023-03-14T09:00", 1, "2023-03-14T09:00:00Z", "2023-03-14T09:01:00Z" },
	{ "2023-03-14T09:00:00Z", 1, "2023-03-14T09:00:00Z", "2023-03-14T09:00:01Z" },
	{ "2023-03-14T09:00:00+02:00", 1, "2023-03-14T07:00:00Z", "2023-03-14T07:00:01Z" },
	{ "2023-03-14T09:00:00 02:00", 1, "2023-03-14T07:00:00Z", "2023-03-14T07:00:01Z" },
	{ "2023-03-14T01:00:00-05:30", 1, "2023-03-14T06:30:00Z", "2023-03-14T06:30:01Z" },
	{ "2023-03-14T00:30:00+01:00", 1, "2023-03-13T23:30:00Z", "2023-03-13T23:30:01Z" },
	{ "2023-03-14T09:00:00.123456Z", 1, "2023-03-14T09:00:00Z", "2023-03-14T09:00:01Z" },
	{ "1969-12-31", 1, "1969-12-31T00:00:00Z", "1970-01-01T00:00:00Z" },
	{ "9999", 1, "9999-01-01T00:00:00Z", "infinity" },
	{ "0001-01-01", 1, "0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z" },
	/* adversarial */
	{ "2023-02-29", 0, NULL, NULL },		/* not a leap year */
	{ "2023-02-30", 0, NULL, NULL },
	{ "2023-04-31", 0, NULL, NULL },
	{ "2023-13", 0, NULL, NULL },
	{ "2023-00", 0, NULL, NULL },
	{ "0000", 0, NULL, NULL },
	{ "2023-03-14T24:00", 0, NULL, NULL },
	{ "2023-03-14T09:60", 0, NULL, NULL },
	{ "2023-03-14T09:00:60Z", 0, NULL, NULL },
	{ "2023-03-14T09:00:00+15:00", 0, NULL, NULL },
	{ "2023-03-14T09", 0, NULL, NULL },
	{ "2023-03-14T", 0, NULL, NULL },
	{ "2023-03-14Z", 0, NULL, NULL },
	{ "2023-3-14", 0, NULL, NULL },
	{ "23", 0, NULL, NULL },
	{ "", 0, NULL, NULL },
	{ "2023-03-14T09:00:00.Z", 0, NULL, NULL },
	{ "2023-03-14T09:00:00.1234567890Z", 0, NULL, NULL },
	{ "2023-03-14 junk", 0, NULL, NULL },
	{ "2023-03-14T09:00:00Z'; DROP TABLE x;--", 0, NULL, NULL },
	{ "+2023", 0, NULL, NULL },
	{ "-2023", 0, NULL, NULL },
};

static void
test_dates(void)
{
	char lo[32], hi[32], name[120];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(date_rows) / sizeof(date_rows[0]); i++) {
		rc = fs_date_range(date_rows[i].in, lo, sizeof(lo), hi, sizeof(hi));
		snprintf(name, sizeof(name), "date '%s' %s", date_rows[i].in,
		    date_rows[i].ok ? "accepted" : "refused");
		T_EQ_INT(rc, date_rows[i].ok ? 0 : -1, name);
		if (date_rows[i].ok && rc == 0) {
			T_EQ_STR(lo, date_rows[i].lo, name);
			T_EQ_STR(hi, date_rows[i].hi, name);
		}
	}
}

static void
test_values(void)
{
	char *v[8], s1[] = "a\\,b\\|c\\$d\\\\e", s2[] = "bad\\x", s3[] = "sys\\|x|code";
	char many[200];
	int n;

	n = fs_split_values("a,b\\,c,d", v, 8);
	T_EQ_INT(n, 3, "split at unescaped commas");
	if (n == 3) {
		T_EQ_STR(v[1], "b\\,c", "escapes kept in parts");
		fs_free_values(v, 3);
	}
	T_EQ_INT(fs_split_values("a,,b", v, 8), -1, "empty part refused");
	T_EQ_INT(fs_split_values(",a", v, 8), -1, "leading comma refused");
	T_EQ_INT(fs_split_values("a,", v, 8), -1, "trailing comma refused");
	T_EQ_INT(fs_split_values("", v, 8), -1, "empty value refused");
	T_EQ_INT(fs_split_values("a\\", v, 8), -1, "dangling backslash refused");
	snprintf(many, sizeof(many), "1,2,3,4,5,6,7,8,9");
	T_EQ_INT(fs_split_values(many, v, 8), -1, "too many values refused");
	T_EQ_INT(fs_unescape(s1), 0, "unescape");
	T_EQ_STR(s1, "a,b|c$d\\e", "unescaped text");
	T_EQ_INT(fs_unescape(s2), -1, "unknown escape refused");
	T_OK(fs_find_bar(s3) == s3 + 6, "escaped bar skipped");
	T_OK(fs_valid_id("pt-1.x") && !fs_valid_id("pt_1") && !fs_valid_id("") &&
	    !fs_valid_id("a/b") && !fs_valid_id(".."), "id syntax");
	T_OK(fs_valid_type("Patient") && !fs_valid_type("patient") && !fs_valid_type("P") &&
	    !fs_valid_type("Pat1ent"), "type syntax");
}

/* Parses one query string; returns the conds group printed, or NULL. */
static char *
parse(struct fs_registry *reg, const char *type, const char *qs, int lenient, enum fs_result *rc,
    struct fs_query *out, char *why, size_t whysz)
{
	struct form f = { 0 };
	char *s = NULL;

	why[0] = '\0';
	if (form_parse(&f, qs, strlen(qs)) != FORM_OK) {
		*rc = FS_BAD;
		return NULL;
	}
	*rc = fs_query_parse(reg, type, &f, lenient, "http://h/fhir", out, why, whysz);
	if (*rc == FS_OK)
		s = cJSON_PrintUnformatted(out->conds);
	form_clear(&f);
	return s;
}

static const struct {
	const char	*type;
	const char	*qs;
	int		 lenient;
	int		 ok;
	const char	*conds;		/* expected conditions JSON (ok rows), or a substring of why */
} query_rows[] = {
	/* token forms */
	{ "Observation", "category=laboratory", 0, 1,
	  "[{\"k\":\"token\",\"p\":[\"$.category[*]\"],\"v\":[{\"c\":\"laboratory\"}],\"n\":false}]" },
	{ "Observation", "category=" LAB "|laboratory", 0, 1,
	  "[{\"k\":\"token\",\"p\":[\"$.category[*]\"],\"v\":[{\"s\":\"" LAB "\",\"c\":\"laboratory\"}],\"n\":false}]" },
	{ "Observation", "category=|laboratory", 0, 1,
	  "[{\"k\":\"token\",\"p\":[\"$.category[*]\"],\"v\":[{\"s\":null,\"c\":\"laboratory\"}],\"n\":false}]" },
	{ "Observation", "category=" LAB "|", 0, 1,
	  "[{\"k\":\"token\",\"p\":[\"$.category[*]\"],\"v\":[{\"s\":\"" LAB "\"}],\"n\":false}]" },
	{ "Observation", "category=a,b", 0, 1,
	  "[{\"k\":\"token\",\"p\":[\"$.category[*]\"],\"v\":[{\"c\":\"a\"},{\"c\":\"b\"}],\"n\":false}]" },
	{ "Observation", "category:not=a", 0, 1,
	  "[{\"k\":\"token\",\"p\":[\"$.category[*]\"],\"v\":[{\"c\":\"a\"}],\"n\":true}]" },
	{ "Observation", "code=a%5C%7Cb", 0, 1,
	  "[{\"k\":\"token\",\"p\":[\"$.code\"],\"v\":[{\"c\":\"a|b\"}],\"n\":false}]" },
	{ "Observation", "category=a&category=b", 0, 1,
	  "[{\"k\":\"token\",\"p\":[\"$.category[*]\"],\"v\":[{\"c\":\"a\"}],\"n\":false},"
	  "{\"k\":\"token\",\"p\":[\"$.category[*]\"],\"v\":[{\"c\":\"b\"}],\"n\":false}]" },
	{ "Observation", "_id=x,y", 0, 1,
	  "[{\"k\":\"token\",\"p\":[\"$.id\"],\"v\":[{\"c\":\"x\"},{\"c\":\"y\"}],\"n\":false}]" },
	{ "Observation", "category=|", 0, 0, "malformed token" },
	{ "Observation", "category:text=lab", 0, 0, "modifier ':text'" },
	{ "Observation", "category:text=lab", 1, 1, "[]" },
	{ "Observation", "category:missing=true", 0, 1,
	  "[{\"k\":\"any\",\"p\":[\"$.category[*]\"],\"v\":[true],\"n\":true}]" },
	{ "Observation", "category:missing=false", 0, 1,
	  "[{\"k\":\"any\",\"p\":[\"$.category[*]\"],\"v\":[true],\"n\":false}]" },
	{ "Observation", "category:missing=yes", 0, 0, "true or false" },
	/* references */
	{ "Observation", "patient=pt-1", 0, 1,
	  "[{\"k\":\"ref\",\"p\":[\"$.subject\"],\"v\":[{\"t\":\"Patient\",\"i\":\"pt-1\"}],\"n\":false}]" },
	{ "Observation", "patient=Patient/pt-1", 0, 1,
	  "[{\"k\":\"ref\",\"p\":[\"$.subject\"],\"v\":[{\"t\":\"Patient\",\"i\":\"pt-1\"}],\"n\":false}]" },
	{ "Observation", "patient=http://h/fhir/Patient/pt-1", 0, 1,
	  "[{\"k\":\"ref\",\"p\":[\"$.subject\"],\"v\":[{\"t\":\"Patient\",\"i\":\"pt-1\"}],\"n\":false}]" },
	{ "Observation", "subject=pt-1", 0, 1,
	  "[{\"k\":\"ref\",\"p\":[\"$.subject\"],\"v\":[{\"i\":\"pt-1\"}],\"n\":false}]" },
	{ "Observation", "subject:Patient=pt-1", 0, 1,
	  "[{\"k\":\"ref\",\"p\":[\"$.subject\"],\"v\":[{\"t\":\"Patient\",\"i\":\"pt-1\"}],\"n\":false}]" },
	{ "Observation", "subject=https://other/fhir/Patient/1", 0, 1,
	  "[{\"k\":\"ref\",\"p\":[\"$.subject\"],\"v\":[{\"u\":\"https://other/fhir/Patient/1\"}],\"n\":false}]" },
	{ "Observation", "patient=Patient/pt-1/_history/2", 0, 0, "malformed reference" },
	{ "Observation", "patient=../Patient/pt-2", 0, 0, "malformed reference" },
	{ "Observation", "patient=pt 1", 0, 0, "malformed reference" },
	{ "Observation", "patient=patient/pt-1", 0, 0, "malformed reference" },
	{ "Observation", "subject:identifier=x", 0, 0, "modifier" },
	{ "Observation", "subject.name=x", 0, 0, "unknown search parameter" },
	/* strings */
	{ "Patient", "name=joh", 0, 1,
	  "[{\"k\":\"str\",\"p\":[\"$.name[*].family\"],\"v\":[{\"s\":\"joh\",\"m\":\"prefix\"}],\"n\":false}]" },
	{ "Patient", "name:exact=Johnson", 0, 1,
	  "[{\"k\":\"str\",\"p\":[\"$.name[*].family\"],\"v\":[{\"s\":\"Johnson\",\"m\":\"exact\"}],\"n\":false}]" },
	{ "Patient", "name:contains=hns", 0, 1,
	  "[{\"k\":\"str\",\"p\":[\"$.name[*].family\"],\"v\":[{\"s\":\"hns\",\"m\":\"contains\"}],\"n\":false}]" },
	{ "Patient", "name=O%27Brien", 0, 1,
	  "[{\"k\":\"str\",\"p\":[\"$.name[*].family\"],\"v\":[{\"s\":\"O'Brien\",\"m\":\"prefix\"}],\"n\":false}]" },
	{ "Patient", "url=http://x/y", 0, 1,
	  "[{\"k\":\"str\",\"p\":[\"$.url\"],\"v\":[{\"s\":\"http://x/y\",\"m\":\"exact\"}],\"n\":false}]" },
	{ "Patient", "name:below=x", 0, 0, "modifier" },
	/* dates */
	{ "Patient", "birthdate=1987", 0, 1,
	  "[{\"k\":\"date\",\"p\":[\"$.birthDate\"],\"v\":[{\"o\":\"eq\",\"lo\":\"1987-01-01T00:00:00Z\","
	  "\"hi\":\"1988-01-01T00:00:00Z\"}],\"n\":false}]" },
	{ "Patient", "birthdate=ge1987-04&birthdate=lt1988", 0, 1,
	  "[{\"k\":\"date\",\"p\":[\"$.birthDate\"],\"v\":[{\"o\":\"ge\",\"lo\":\"1987-04-01T00:00:00Z\","
	  "\"hi\":\"1987-05-01T00:00:00Z\"}],\"n\":false},{\"k\":\"date\",\"p\":[\"$.birthDate\"],"
	  "\"v\":[{\"o\":\"lt\",\"lo\":\"1988-01-01T00:00:00Z\",\"hi\":\"1989-01-01T00:00:00Z\"}],\"n\":false}]" },
	{ "Observation", "date=ne2023-03-14", 0, 1, "\"o\":\"ne\"" },
	{ "Observation", "date=sa2023", 0, 1, "\"o\":\"sa\"" },
	{ "Observation", "date=eb2023", 0, 1, "\"o\":\"eb\"" },
	{ "Observation", "date=ap2023", 0, 1, "\"o\":\"ap\"" },
	{ "Observation", "_lastUpdated=gt2024-01-01T00:00:00Z", 0, 1, "\"o\":\"gt\"" },
	{ "Observation", "date=xx2023", 0, 0, "malformed date" },
	{ "Observation", "date=gt", 0, 0, "malformed date" },
	{ "Observation", "date=2023-02-30", 0, 0, "malformed date" },
	{ "Observation", "date:exact=2023", 0, 0, "modifier" },
	/* unsupported types, unknown parameters */
	{ "Observation", "value-quantity=5", 0, 0, "not supported" },
	{ "Observation", "value-quantity=5", 1, 1, "[]" },
	{ "Observation", "foo=bar", 0, 0, "unknown search parameter 'foo'" },
	{ "Observation", "foo=bar&category=x", 1, 1,
	  "[{\"k\":\"token\",\"p\":[\"$.category[*]\"],\"v\":[{\"c\":\"x\"}],\"n\":false}]" },
	{ "Observation", "_summary=count", 0, 0, "unknown search parameter '_summary'" },
	{ "Observation", "_format=xml", 0, 0, "JSON only" },
	{ "Observation", "_format=json&_pretty=true", 0, 1, "[]" },
	{ "Observation", "category=", 0, 1, "[]" },		/* empty value: not given */
	{ "Observation", "categoryxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=1",
	  0, 0, "too long" },
	/* paging and sorting */
	{ "Observation", "_count=x", 0, 0, "_count" },
	{ "Observation", "_count=-1", 0, 0, "_count" },
	{ "Observation", "_count=1&_count=2", 0, 0, "_count" },
	{ "Observation", "_offset=1e3", 0, 0, "_offset" },
	{ "Observation", "_sort=date", 0, 1, "[]" },
	{ "Observation", "_sort=-_lastUpdated", 0, 1, "[]" },
	{ "Observation", "_sort=code", 0, 0, "date parameters" },
	{ "Observation", "_sort=date,code", 0, 0, "one sort key" },
	{ "Observation", "_sort=date&_sort=date", 0, 0, "twice" },
	/* includes */
	{ "Observation", "_include=Observation:patient", 0, 1, "[]" },
	{ "Observation", "_include=Observation:subject:Patient", 0, 1, "[]" },
	{ "Observation", "_include=Patient:name", 0, 0, "source type" },
	{ "Observation", "_include=Observation:code", 0, 0, "not a reference" },
	{ "Observation", "_include=Observation", 0, 0, "_include" },
	{ "Observation", "_include=*", 0, 0, "_include" },
	{ "Patient", "_revinclude=Observation:patient", 0, 1, "[]" },
	{ "Patient", "_revinclude=Observation:subject:Patient", 0, 1, "[]" },
	{ "Patient", "_revinclude=Observation:subject:Group", 0, 0, "cannot point" },
	{ "Patient", "_revinclude=Observation:nosuch", 0, 0, "not a reference" },
};

static void
test_queries(void)
{
	struct fs_registry *reg = reg_new();
	struct fs_query q;
	enum fs_result rc;
	char why[300], name[300], *s;
	size_t i;

	for (i = 0; i < sizeof(query_rows) / sizeof(query_rows[0]); i++) {
		s = parse(reg, query_rows[i].type, query_rows[i].qs, query_rows[i].lenient, &rc, &q,
		    why, sizeof(why));
		snprintf(name, sizeof(name), "%s?%s%s", query_rows[i].type, query_rows[i].qs,
		    query_rows[i].lenient ? " (lenient)" : "");
		T_EQ_INT(rc, query_rows[i].ok ? FS_OK : FS_BAD, name);
		if (query_rows[i].ok && s != NULL) {
			if (query_rows[i].conds[0] == '[')
				T_EQ_STR(s, query_rows[i].conds, name);
			else
				T_OK(strstr(s, query_rows[i].conds) != NULL, name);
		} else if (!query_rows[i].ok) {
			if (!T_OK(strstr(why, query_rows[i].conds) != NULL, name))
				printf("#   why: %s\n", why);
		}
		free(s);
		if (rc == FS_OK)
			fs_query_clear(&q);
	}
	fs_registry_free(reg);
}

static void
test_paging(void)
{
	struct fs_registry *reg = reg_new();
	struct fs_query q;
	enum fs_result rc;
	char why[200], *s;

	s = parse(reg, "Observation", "_count=100000&_offset=20&category=a", 0, &rc, &q, why, sizeof(why));
	T_EQ_INT(rc, FS_OK, "paging parsed");
	T_EQ_INT(q.count, FS_COUNT_MAX, "_count capped at the maximum");
	T_EQ_INT(q.offset, 20, "_offset");
	T_EQ_INT(q.link.n, 1, "links keep search parameters only");
	free(s);
	fs_query_clear(&q);

	s = parse(reg, "Observation", "category=a", 0, &rc, &q, why, sizeof(why));
	T_EQ_INT(q.count, FS_COUNT_DEFAULT, "default _count");
	T_OK(q.sort == NULL && !q.sort_given, "default order: lastUpdated");
	free(s);
	fs_query_clear(&q);

	s = parse(reg, "Observation", "_sort=-date&_include=Observation:patient", 0, &rc, &q, why,
	    sizeof(why));
	T_OK(q.sort != NULL && q.sort_desc && strcmp(q.sort->name, "date") == 0, "_sort=-date");
	T_OK(q.ninc == 1 && !q.inc[0].rev && strcmp(q.inc[0].def->name, "patient") == 0, "_include");
	free(s);
	fs_query_clear(&q);

	/* Filter layout: one clause holding one group of conditions. */
	s = parse(reg, "Observation", "category=a", 0, &rc, &q, why, sizeof(why));
	free(s);
	s = cJSON_PrintUnformatted(q.filter);
	T_EQ_STR(s, "[[[{\"k\":\"token\",\"p\":[\"$.category[*]\"],\"v\":[{\"c\":\"a\"}],\"n\":false}]]]",
	    "filter is clauses of groups of conditions");
	free(s);
	fs_query_clear(&q);
	fs_registry_free(reg);
}

static void
test_limits(void)
{
	struct fs_registry *reg = reg_new();
	struct fs_query q;
	enum fs_result rc;
	char why[200], qs[4096], *s;
	size_t i, o = 0;

	for (i = 0; i < FS_MAX_CONDITIONS + 1; i++)
		o += (size_t)snprintf(qs + o, sizeof(qs) - o, "%scategory=c%zu", i ? "&" : "", i);
	s = parse(reg, "Observation", qs, 0, &rc, &q, why, sizeof(why));
	T_EQ_INT(rc, FS_BAD, "too many conditions refused");
	free(s);

	o = (size_t)snprintf(qs, sizeof(qs), "category=");
	for (i = 0; i < FS_MAX_VALUES + 1; i++)
		o += (size_t)snprintf(qs + o, sizeof(qs) - o, "%sv%zu", i ? "," : "", i);
	s = parse(reg, "Observation", qs, 0, &rc, &q, why, sizeof(why));
	T_EQ_INT(rc, FS_BAD, "too many values refused");
	free(s);

	o = 0;
	for (i = 0; i < FS_MAX_INCLUDES + 1; i++)
		o += (size_t)snprintf(qs + o, sizeof(qs) - o, "%s_include=Observation:patient",
		    i ? "&" : "");
	s = parse(reg, "Observation", qs, 0, &rc, &q, why, sizeof(why));
	T_EQ_INT(rc, FS_BAD, "too many includes refused");
	free(s);
	fs_registry_free(reg);
}

static void
test_constraints(void)
{
	struct fs_registry *reg = reg_new();
	const char *n1[] = { "category" }, *v1[] = { LAB "|laboratory" };
	const char *n2[] = { "category", "code" }, *v2[] = { "vital-signs", "8867-4" };
	const char *n3[] = { "nosuch" }, *v3[] = { "x" };
	const char *n4[] = { "_count" }, *v4[] = { "1" };
	const char *n5[] = { "date" }, *v5[] = { "bad" };
	char why[200], *s;
	cJSON *g;

	g = fs_constraint_group(reg, "Observation", n1, v1, 1, why, sizeof(why));
	s = g != NULL ? cJSON_PrintUnformatted(g) : NULL;
	T_EQ_STR(s, "[{\"k\":\"token\",\"p\":[\"$.category[*]\"],\"v\":[{\"s\":\"" LAB
	    "\",\"c\":\"laboratory\"}],\"n\":false}]", "category constraint");
	free(s);
	cJSON_Delete(g);
	g = fs_constraint_group(reg, "Observation", n2, v2, 2, why, sizeof(why));
	T_EQ_INT(g != NULL ? cJSON_GetArraySize(g) : -1, 2, "two-parameter constraint: both hold");
	cJSON_Delete(g);
	T_OK(fs_constraint_group(reg, "Observation", n3, v3, 1, why, sizeof(why)) == NULL,
	    "unknown constraint parameter grants nothing");
	T_OK(fs_constraint_group(reg, "Patient", n1, v1, 1, why, sizeof(why)) == NULL,
	    "constraint on a parameter the type lacks grants nothing");
	T_OK(fs_constraint_group(reg, "Observation", n4, v4, 1, why, sizeof(why)) == NULL,
	    "paging parameter as a constraint refused");
	T_OK(fs_constraint_group(reg, "Observation", n5, v5, 1, why, sizeof(why)) == NULL,
	    "malformed constraint value refused");
	fs_registry_free(reg);
}

int
main(void)
{
	FILE *null = fopen("/dev/null", "w");
	int rc;

	log_set_stream(null);	/* the rows log on purpose */
	test_registry();
	test_dates();
	test_values();
	test_queries();
	test_paging();
	test_limits();
	test_constraints();
	rc = t_done();
	log_set_stream(NULL);
	if (null != NULL)
		fclose(null);
	return rc;
}
