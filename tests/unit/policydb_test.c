/*
 * policydb_test: path normalisation (dot segments, doubled slashes,
 * percent-escapes, encoded slashes and backslashes, double encoding,
 * control bytes, climbing above the root, overlong paths), the mount
 * prefix and the path relative to it, and that an unanchored "#regex"
 * policy sees the normalised path and so cannot be fooled by spelling.
 * The database half (loading, caching, version polling, auditing) is
 * covered by tests/e2e/test_rpc.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "policy.h"
#include "policydb.h"
#include "t.h"

static void
test_normalize(void)
{
	static const struct {
		const char *in;
		const char *want;	/* NULL: refused */
	} rows[] = {
		{ "/rpc", "/rpc" },
		{ "/", "/" },
		{ "//rpc", "/rpc" },
		{ "///rpc//", "/rpc/" },
		{ "/rpc/", "/rpc/" },
		{ "/./rpc", "/rpc" },
		{ "/x/../rpc", "/rpc" },
		{ "/x/y/../../rpc", "/rpc" },
		{ "/a/b/..", "/a/" },
		{ "/a/.", "/a/" },
		{ "/a/..", "/" },
		{ "/%72pc", "/rpc" },
		{ "/x/%2e%2e/rpc", "/rpc" },
		{ "/x/%2E%2E/rpc", "/rpc" },
		{ "/x/.%2e/rpc", "/rpc" },
		{ "/%2e/rpc", "/rpc" },
		{ "/fhir//Patient///pt-1", "/fhir/Patient/pt-1" },
		{ "/fhir/Patient/pt-1/../pt-2", "/fhir/Patient/pt-2" },
		{ "/fhir/Patient/pt%2D1", "/fhir/Patient/pt-1" },
		{ "/fhir/Patient/..a", "/fhir/Patient/..a" },
		{ "/fhir/Patient/a..", "/fhir/Patient/a.." },
		{ "/fhir/Patient/...", "/fhir/Patient/..." },
		{ "/caf%C3%A9", "/caf\xc3\xa9" },
		/* refused */
		{ NULL, NULL },
		{ "", NULL },
		{ "rpc", NULL },
		{ "%2Frpc", NULL },
		{ "/..", NULL },
		{ "/../rpc", NULL },
		{ "/a/../..", NULL },
		{ "/%2e%2e/rpc", NULL },
		{ "/a/%2e%2e/%2e%2e/etc", NULL },
		{ "/fhir/Patient%2Fpt-2", NULL },
		{ "/fhir/Patient%2fpt-2", NULL },
		{ "/fhir/..%2Frpc", NULL },
		{ "/a%5Cb", NULL },
		{ "/a%5cb", NULL },
		{ "/a\\b", NULL },
		{ "/a%00b", NULL },
		{ "/a%0Ab", NULL },
		{ "/a%0db", NULL },
		{ "/a\tb", NULL },
		{ "/a%7Fb", NULL },
		{ "/a%", NULL },
		{ "/a%4", NULL },
		{ "/a%zz", NULL },
		{ "/a%%41", NULL },
		{ "/a%252Fb", NULL },
		{ "/a%25", NULL },
	};
	char name[160], *got, *big;
	const char *why;
	size_t i, k;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "normalize %s", rows[i].in ? rows[i].in : "(null)");
		for (k = 0; name[k] != '\0'; k++)
			if ((unsigned char)name[k] < 0x20)
				name[k] = '?';
		why = NULL;
		got = policydb_path_normalize(rows[i].in, &why);
		T_EQ_STR(got, rows[i].want, name);
		if (rows[i].want == NULL)
			T_OK(why != NULL && *why != '\0', "refusal says why");
		free(got);
	}
	/* Length cap. */
	big = malloc(POLICYDB_PATH_MAX + 2);
	memset(big, 'a', POLICYDB_PATH_MAX + 1);
	big[0] = '/';
	big[POLICYDB_PATH_MAX] = '\0';
	got = policydb_path_normalize(big, NULL);
	T_OK(got != NULL && strlen(got) == POLICYDB_PATH_MAX, "normalize at the length cap");
	free(got);
	big[POLICYDB_PATH_MAX] = 'a';
	big[POLICYDB_PATH_MAX + 1] = '\0';
	T_OK(policydb_path_normalize(big, NULL) == NULL, "normalize over the length cap");
	free(big);
	/* Many ".." segments in a row stay bounded. */
	got = policydb_path_normalize("/a/b/c/d/../../../../rpc", NULL);
	T_EQ_STR(got, "/rpc", "normalize: four levels back");
	free(got);
}

static void
test_prefix(void)
{
	static const struct {
		const char *fhir_path;
		const char *want;
	} rows[] = {
		{ "/fhir", "" },
		{ "/smart/fhir", "/smart" },
		{ "/a/b/fhir", "/a/b" },
		{ "/smart/fhir/", "/smart" },
		{ "/r4", "" },
		{ "/", "" },
		{ "", "" },
		{ NULL, "" },
	};
	char name[96], *got;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "mount prefix of %s", rows[i].fhir_path ? rows[i].fhir_path : "(null)");
		got = policydb_mount_prefix(rows[i].fhir_path);
		T_EQ_STR(got, rows[i].want, name);
		free(got);
	}
}

static void
test_relative(void)
{
	static const struct {
		const char *fhir_path;
		const char *path;
		const char *want;	/* NULL: refused */
	} rows[] = {
		{ "/fhir", "/rpc", "/rpc" },
		{ "/fhir", "/fhir/Patient/pt-1", "/fhir/Patient/pt-1" },
		{ "/smart/fhir", "/smart/rpc", "/rpc" },
		{ "/smart/fhir", "/smart//rpc", "/rpc" },
		{ "/smart/fhir", "/smart/%72pc", "/rpc" },
		{ "/smart/fhir", "/smart/x/../rpc", "/rpc" },
		{ "/smart/fhir", "/x/../smart/rpc", "/rpc" },
		{ "/smart/fhir", "//smart/rpc", "/rpc" },
		{ "/smart/fhir", "/smart/fhir/Observation", "/fhir/Observation" },
		{ "/smart/fhir", "/smart", "/" },
		{ "/smart/fhir", "/smart/", "/" },
		{ "/smart/fhir", "/smartx/rpc", NULL },
		{ "/smart/fhir", "/rpc", NULL },
		{ "/smart/fhir", "/smart/../rpc", NULL },
		{ "/smart/fhir", "/smart/%2e%2e/rpc", NULL },
		{ "/smart/fhir", "/Smart/rpc", NULL },
		{ "/smart/fhir", "/smart%2Frpc", NULL },
		{ "/a/b/fhir", "/a/b/rpc", "/rpc" },
		{ "/a/b/fhir", "/a/rpc", NULL },
	};
	char name[160], *got;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "relative %s under %s", rows[i].path, rows[i].fhir_path);
		why = NULL;
		got = policydb_relative_path(rows[i].fhir_path, rows[i].path, &why);
		T_EQ_STR(got, rows[i].want, name);
		if (rows[i].want == NULL)
			T_OK(why != NULL, "relative refusal says why");
		free(got);
	}
}

/* Evaluates policy (JSON text) against the request object of path. */
static int
allows(const char *policy_json, const char *path)
{
	cJSON *res, *req;
	struct policy *p;
	int rc = -1;

	res = json_parse_strict(policy_json, strlen(policy_json), NULL);
	p = policy_parse(res, NULL, 0);
	req = path != NULL ? policy_request_new(path, "GET", "", NULL) : NULL;
	if (p != NULL && req != NULL)
		rc = policy_eval(p, req);
	cJSON_Delete(req);
	policy_free(p);
	cJSON_Delete(res);
	return rc;
}

/*
 * The point of normalising: an unanchored regex written for pt-1 matches a
 * raw path that only mentions pt-1 on its way to pt-2.
 */
static void
test_unanchored_regex(void)
{
	static const char pol[] =
	    "{\"resourceType\": \"AccessPolicy\", \"id\": \"pt1\", \"engine\": \"matcho\","
	    " \"matcho\": {\"uri\": \"#/fhir/Patient/pt-1\"}}";
	static const char *tricks[] = {
		"/fhir/Patient/pt-1/../pt-2",
		"/fhir/Patient/pt-1/%2e%2e/pt-2",
		"/fhir/Patient/pt-1/./../pt-2",
		"/x/fhir/Patient/pt-1/../../../../fhir/Patient/pt-2",
	};
	char *norm, name[160];
	size_t i;

	T_EQ_INT(allows(pol, "/fhir/Patient/pt-1"), 1, "regex control: pt-1 allowed");
	for (i = 0; i < sizeof(tricks) / sizeof(tricks[0]); i++) {
		snprintf(name, sizeof(name), "raw %s fools the regex", tricks[i]);
		T_EQ_INT(allows(pol, tricks[i]), 1, name);
		norm = policydb_path_normalize(tricks[i], NULL);
		snprintf(name, sizeof(name), "normalised %s does not", tricks[i]);
		T_OK(norm != NULL && strcmp(norm, "/fhir/Patient/pt-2") == 0, name);
		T_EQ_INT(allows(pol, norm), 0, name);
		free(norm);
	}
	/* The encoded-slash spelling is refused outright. */
	T_OK(policydb_path_normalize("/fhir/Patient/pt-1%2F..%2Fpt-2", NULL) == NULL,
	    "encoded slash trick refused");
}

int main(void);

int
main(void)
{
	log_init("policydb_test");
	log_set_level(LOGL_ERROR);
	test_normalize();
	test_prefix();
	test_relative();
	test_unanchored_regex();
	policydb_reset();
	T_OK(policydb_policies() == NULL, "no policies before the first sync");
	return t_done();
}
