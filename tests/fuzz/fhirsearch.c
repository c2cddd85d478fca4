/*
 * fhirsearch fuzz harness: lib/fhirsearch, the parsing of FHIR search
 * parameters into the filter the built-in store evaluates
 * (fs_query_parse, fs_constraint_group, fs_split_values, fs_unescape,
 * fs_find_bar, fs_date_range, fs_valid_type, fs_valid_id).
 *
 * The input is "Type\nquery": a resource type on the first line (a
 * leading '~' asks for Prefer: handling=lenient), then a query string as
 * a client sends it, parsed with form_parse as the gateway does.  The
 * registry is fixed: rows like those of sql/003_fhir_store.sql, one of
 * each parameter type.  Invariants (abort() when broken):
 *   - a search parsed OK has a filter that is a JSON array, _count in
 *     [0, FS_COUNT_MAX], _offset in [0, FS_OFFSET_MAX], at most
 *     FS_MAX_INCLUDES includes, and every jsonpath in it is one of the
 *     registry's paths: a search never carries a path of the client's;
 *   - a refused search says why (a non-empty, terminated message);
 *   - lenient handling only ignores: what parses strictly parses the
 *     same leniently;
 *   - the self link is the same search: the accepted parameters,
 *     encoded again, parse to an equal filter;
 *   - splitting a value at unescaped commas and joining the parts with
 *     commas gives the value back; unescaping never lengthens a part;
 *   - a date range has lo < hi, both 20-byte UTC instants (hi may be
 *     "infinity").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fhirsearch.h"
#include "form.h"
#include "log.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_BASE	"http://127.0.0.1:8080/fhir"

static struct fs_registry *fuzz_reg;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const rows[][5] = {
		{ "Resource", "_id", "token", "[\"$.id\"]", NULL },
		{ "Resource", "_lastUpdated", "date", "[\"$.meta.lastUpdated\"]", NULL },
		{ "Observation", "patient", "reference", "[\"$.subject\"]", "Patient" },
		{ "Observation", "subject", "reference", "[\"$.subject\"]", NULL },
		{ "Observation", "encounter", "reference", "[\"$.encounter\"]", "Encounter" },
		{ "Observation", "category", "token", "[\"$.category[*]\"]", NULL },
		{ "Observation", "code", "token", "[\"$.code\"]", NULL },
		{ "Observation", "status", "token", "[\"$.status\"]", NULL },
		{ "Observation", "date", "date",
		    "[\"$.effectiveDateTime\", \"$.effectivePeriod\"]", NULL },
		{ "Observation", "value-quantity", "quantity", "[\"$.valueQuantity\"]", NULL },
		{ "Condition", "patient", "reference", "[\"$.subject\"]", "Patient" },
		{ "Condition", "code", "token", "[\"$.code\"]", NULL },
		{ "Patient", "name", "string", "[\"$.name[*].family\", \"$.name[*].given[*]\"]", NULL },
		{ "Patient", "family", "string", "[\"$.name[*].family\"]", NULL },
		{ "Patient", "birthdate", "date", "[\"$.birthDate\"]", NULL },
		{ "Patient", "gender", "token", "[\"$.gender\"]", NULL },
		{ "Patient", "identifier", "token", "[\"$.identifier[*]\"]", NULL },
		{ "Patient", "general-practitioner", "reference",
		    "[\"$.generalPractitioner[*]\"]", NULL },
		{ "Patient", "url", "uri", "[\"$.url\"]", NULL },
		{ "Encounter", "patient", "reference", "[\"$.subject\"]", "Patient" },
		{ "Encounter", "date", "date", "[\"$.period\"]", NULL },
	};
	FILE *devnull;
	size_t i;

	if ((devnull = fopen("/dev/null", "w")) != NULL)
		log_set_stream(devnull);
	log_set_level(LOGL_DEBUG);
	if ((fuzz_reg = fs_registry_new()) == NULL)
		abort();
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (fs_registry_add(fuzz_reg, rows[i][0], rows[i][1], rows[i][2],
		    rows[i][3], rows[i][4]) != 0)
			abort();
	return 0;
}

/* 1 when path is one of the registry's jsonpaths. */
static int
fuzz_known_path(const char *path)
{
	const cJSON *p;
	size_t i;

	for (i = 0; i < fuzz_reg->n; i++)
		cJSON_ArrayForEach(p, fuzz_reg->v[i].paths)
			if (cJSON_IsString(p) && strcmp(p->valuestring, path) == 0)
				return 1;
	return 0;
}

/* Every "p" member anywhere in v holds registry paths only. */
static void
fuzz_check_paths(const cJSON *v)
{
	const cJSON *e, *p;

	if (v == NULL)
		return;
	if (cJSON_IsObject(v) && (p = cJSON_GetObjectItemCaseSensitive(v, "p")) != NULL) {
		if (!cJSON_IsArray(p))
			abort();
		cJSON_ArrayForEach(e, p)
			if (!cJSON_IsString(e) || !fuzz_known_path(e->valuestring)) {
				fprintf(stderr, "fhirsearch: a filter path is not the registry's\n");
				abort();
			}
	}
	if (cJSON_IsArray(v) || cJSON_IsObject(v))
		cJSON_ArrayForEach(e, v)
			fuzz_check_paths(e);
}

static void
fuzz_check_why(const char *why, size_t whysz)
{
	if (memchr(why, '\0', whysz) == NULL || why[0] == '\0')
		abort();
}

/* The accepted parameters as a query string again (the self link). */
static int
fuzz_link_query(const struct form *link, struct buf *b)
{
	char *n, *v;
	size_t i;

	for (i = 0; i < link->n; i++) {
		n = form_encode(link->v[i].name);
		v = form_encode(link->v[i].value);
		if (n == NULL || v == NULL) {
			free(n);
			free(v);
			return -1;
		}
		buf_printf(b, "%s%s=%s", i > 0 ? "&" : "", n, v);
		free(n);
		free(v);
	}
	return b->failed ? -1 : 0;
}

static void
fuzz_search(const char *type, const struct form *params, int lenient)
{
	struct fs_query q, q2;
	struct form again;
	struct buf link;
	char why[256];
	enum fs_result rc;
	size_t i;

	memset(why, 'x', sizeof(why));
	rc = fs_query_parse(fuzz_reg, type, params, lenient, FUZZ_BASE, &q, why, sizeof(why));
	if (rc == FS_BAD) {
		fuzz_check_why(why, sizeof(why));
		return;
	}
	if (rc != FS_OK)
		return;
	if (!cJSON_IsArray(q.filter) || q.count < 0 || q.count > FS_COUNT_MAX ||
	    q.offset < 0 || q.offset > FS_OFFSET_MAX || q.ninc > FS_MAX_INCLUDES ||
	    strcmp(q.type, type) != 0)
		abort();
	fuzz_check_paths(q.filter);
	for (i = 0; i < q.ninc; i++)
		if (q.inc[i].def == NULL || q.inc[i].def->type != FS_REFERENCE)
			abort();

	if (!lenient) {
		if (fs_query_parse(fuzz_reg, type, params, 1, FUZZ_BASE, &q2, why,
		    sizeof(why)) == FS_OK) {
			if (!cJSON_Compare(q.filter, q2.filter, 1)) {
				fprintf(stderr, "fhirsearch: lenient parse differs\n");
				abort();
			}
			fs_query_clear(&q2);
		} else {
			fprintf(stderr, "fhirsearch: lenient refused a strict search\n");
			abort();
		}
	}

	memset(&link, 0, sizeof(link));
	memset(&again, 0, sizeof(again));
	if (fuzz_link_query(&q.link, &link) == 0 &&
	    form_parse(&again, link.data != NULL ? link.data : "", link.len) == FORM_OK) {
		rc = fs_query_parse(fuzz_reg, type, &again, lenient, FUZZ_BASE, &q2, why,
		    sizeof(why));
		if (rc == FS_BAD) {
			fprintf(stderr, "fhirsearch: the self link is refused: %s\n", why);
			abort();
		}
		if (rc == FS_OK) {
			if (!cJSON_Compare(q.filter, q2.filter, 1)) {
				fprintf(stderr, "fhirsearch: the self link is another search\n");
				abort();
			}
			fs_query_clear(&q2);
		}
	}
	form_clear(&again);
	buf_free(&link);
	fs_query_clear(&q);
}

/* The value helpers on one parameter value. */
static void
fuzz_value(const char *v)
{
	char *parts[FS_MAX_VALUES], lo[32], hi[32], *copy, *bar;
	struct buf joined;
	size_t len;
	int n, i;

	if ((n = fs_split_values(v, parts, FS_MAX_VALUES)) >= 0) {
		if ((n == 0 && v[0] != '\0') || n > FS_MAX_VALUES)
			abort();
		memset(&joined, 0, sizeof(joined));
		for (i = 0; i < n; i++) {
			if (parts[i][0] == '\0')
				abort();
			buf_printf(&joined, "%s%s", i > 0 ? "," : "", parts[i]);
		}
		if (!joined.failed && strcmp(joined.data, v) != 0) {
			fprintf(stderr, "fhirsearch: split and join differ\n");
			abort();
		}
		buf_free(&joined);
		for (i = 0; i < n; i++) {
			len = strlen(parts[i]);
			bar = fs_find_bar(parts[i]);
			if (bar != NULL && (*bar != '|' || bar < parts[i] || bar >= parts[i] + len))
				abort();
			if (fs_unescape(parts[i]) == 0 && strlen(parts[i]) > len)
				abort();
		}
		fs_free_values(parts, (size_t)n);
	}

	if (fs_date_range(v, lo, sizeof(lo), hi, sizeof(hi)) == 0) {
		if (strlen(lo) != 20 || (strcmp(hi, "infinity") != 0 && strlen(hi) != 20) ||
		    strcmp(lo, hi) >= 0) {
			fprintf(stderr, "fhirsearch: bad date range\n");
			abort();
		}
	}
	if ((copy = strdup(v)) != NULL) {
		(void)fs_valid_type(copy);
		(void)fs_valid_id(copy);
		free(copy);
	}
}

/* The parameters as a v2 scope constraint ("?a=b&c=d" of a scope). */
static void
fuzz_constraint(const char *type, const struct form *params)
{
	const char *names[8], *values[8];
	char why[256];
	size_t i, n = params->n < 8 ? params->n : 8;
	cJSON *g;

	for (i = 0; i < n; i++) {
		names[i] = params->v[i].name;
		values[i] = params->v[i].value;
	}
	memset(why, 'x', sizeof(why));
	if ((g = fs_constraint_group(fuzz_reg, type, names, values, n, why, sizeof(why))) != NULL) {
		if (!cJSON_IsArray(g))
			abort();
		fuzz_check_paths(g);
		cJSON_Delete(g);
	} else if (memchr(why, '\0', sizeof(why)) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char *type = NULL, *query = NULL;
	struct form params;
	size_t tlen, i;
	int lenient = 0;

	memset(&params, 0, sizeof(params));
	tlen = nl != NULL ? (size_t)(nl - data) : size;
	if (tlen > 0 && data[0] == '~') {
		lenient = 1;
		data++;
		tlen--;
		size--;
	}
	if ((type = strndup((const char *)data, tlen)) == NULL)
		goto out;
	if (strlen(type) != tlen || !fs_valid_type(type))
		goto out;	/* the gateway's router admits only type names */
	if ((query = strndup(nl != NULL ? (const char *)nl + 1 : "",
	    nl != NULL ? size - tlen - 1 : 0)) == NULL)
		goto out;
	if (form_parse(&params, query, strlen(query)) != FORM_OK)
		goto out;
	fuzz_search(type, &params, lenient);
	if (!lenient)
		fuzz_search(type, &params, 1);
	for (i = 0; i < params.n && i < 16; i++)
		fuzz_value(params.v[i].value);
	fuzz_constraint(type, &params);
out:
	form_clear(&params);
	free(type);
	free(query);
	return 0;
}
