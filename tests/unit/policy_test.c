/*
 * policy_test: table-driven tests of lib/policy: AccessPolicy parsing
 * (engines, binding keys, refusals that would widen access), rule
 * evaluation (allow, matcho, complex), the request object, and whole
 * policy sets: the three seed patient policies of reference/matcho.md
 * verbatim, the shipped defaults, link binding, roleName binding with two
 * roles, errors counted as deny, and default deny.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "matcho.h"
#include "policy.h"
#include "t.h"

/* reference/matcho.md, "The seed's patient policies", verbatim. */
static const char seed_json[] =
    "[{\"resourceType\": \"AccessPolicy\", \"id\": \"patient-smart\", \"engine\": \"matcho\", \"roleName\": \"patient\",\n"
    "  \"matcho\": {\"uri\": \"#/fhir/.*\", \"params\": {\"patient\": \".role.links.patient.id\"}}},\n"
    " {\"resourceType\": \"AccessPolicy\", \"id\": \"smart-patient-read\", \"engine\": \"matcho\", \"roleName\": \"patient\",\n"
    "  \"matcho\": {\"uri\": \"#/fhir/Patient/.*\", \"params\": {\"id\": \".role.links.patient.id\"}}},\n"
    " {\"resourceType\": \"AccessPolicy\", \"id\": \"smart-patient-search-self\", \"engine\": \"matcho\", \"roleName\": \"patient\",\n"
    "  \"matcho\": {\"uri\": \"#/fhir/Patient\", \"params\": {\"_id\": \".role.links.patient.id\"}}}]";

/* reference/matcho.md, "Defaults shipped in sql/" 2-4. */
static const char defaults_json[] =
    "[{\"resourceType\": \"AccessPolicy\", \"id\": \"patient-read-own\", \"engine\": \"matcho\", \"roleName\": \"patient\","
    "  \"matcho\": {\"request-method\": \"get\", \"uri\": \"#^/fhir/[A-Za-z]+/[^/]+(/_history(/[^/]+)?)?$\"}},"
    " {\"resourceType\": \"AccessPolicy\", \"id\": \"practitioner-all\", \"engine\": \"allow\", \"roleName\": \"practitioner\"},"
    " {\"resourceType\": \"AccessPolicy\", \"id\": \"backend-clients\", \"engine\": \"matcho\","
    "  \"matcho\": {\"client\": {\"grant_types\": {\"$contains\": \"client_credentials\"}}, \"uri\": \"#^/fhir/\"}}]";

static const char roles_pt1[] =
    "[{\"resourceType\": \"Role\", \"id\": \"r1\", \"name\": \"patient\", \"user\": {\"id\": \"u1\"},"
    "  \"links\": {\"patient\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}}]";
static const char roles_two[] =
    "[{\"resourceType\": \"Role\", \"id\": \"r1\", \"name\": \"patient\", \"user\": {\"id\": \"u1\"},"
    "  \"links\": {\"patient\": {\"resourceType\": \"Patient\", \"id\": \"pt-1\"}}},"
    " {\"resourceType\": \"Role\", \"id\": \"r2\", \"name\": \"patient\", \"user\": {\"reference\": \"User/u1\"},"
    "  \"links\": {\"patient\": {\"resourceType\": \"Patient\", \"id\": \"pt-2\"}}}]";
static const char roles_nolink[] =
    "[{\"resourceType\": \"Role\", \"name\": \"patient\", \"user\": {\"id\": \"u1\"}}]";
static const char roles_other_user[] =
    "[{\"resourceType\": \"Role\", \"name\": \"patient\", \"user\": {\"id\": \"u9\"},"
    "  \"links\": {\"patient\": {\"id\": \"pt-1\"}}}]";
static const char roles_prac[] =
    "[{\"resourceType\": \"Role\", \"name\": \"practitioner\", \"user\": {\"id\": \"u1\"}}]";

/* ---- policy_parse ---- */

static const struct {
	const char	*name;
	const char	*json;
	int		 ok;
	const char	*why;
} parse_rows[] = {
	{ "allow", "{\"id\": \"a\", \"engine\": \"allow\"}", 1, NULL },
	{ "matcho", "{\"resourceType\": \"AccessPolicy\", \"id\": \"m\", \"engine\": \"matcho\", \"matcho\": {\"uri\": \"#^/fhir/\"}}", 1, NULL },
	{ "complex and", "{\"id\": \"c\", \"engine\": \"complex\", \"and\": [{\"engine\": \"allow\"}, {\"engine\": \"matcho\", \"matcho\": {\"a\": 1}}]}", 1, NULL },
	{ "complex nested", "{\"id\": \"c\", \"engine\": \"complex\", \"or\": [{\"engine\": \"complex\", \"and\": [{\"engine\": \"allow\"}]}]}", 1, NULL },
	{ "link by reference", "{\"id\": \"l\", \"engine\": \"allow\", \"link\": [{\"reference\": \"Client/c1\"}]}", 1, NULL },
	{ "link and roleName", "{\"id\": \"l\", \"engine\": \"allow\", \"roleName\": \"x\", \"link\": [{\"resourceType\": \"User\", \"id\": \"u1\"}]}", 1, NULL },
	{ "extra descriptive keys", "{\"id\": \"a\", \"engine\": \"allow\", \"description\": \"d\", \"meta\": {}}", 1, NULL },
	/* refusals */
	{ "not an object", "[]", 0, "object" },
	{ "no id", "{\"engine\": \"allow\"}", 0, "id" },
	{ "empty id", "{\"id\": \"\", \"engine\": \"allow\"}", 0, "id" },
	{ "numeric id", "{\"id\": 5, \"engine\": \"allow\"}", 0, "id" },
	{ "wrong resourceType", "{\"resourceType\": \"Patient\", \"id\": \"a\", \"engine\": \"allow\"}", 0, "resourceType" },
	{ "no engine", "{\"id\": \"a\"}", 0, "engine" },
	{ "engine not a string", "{\"id\": \"a\", \"engine\": 1}", 0, "engine" },
	{ "engine sql not supported", "{\"id\": \"a\", \"engine\": \"sql\", \"sql\": {\"query\": \"select true\"}}", 0, "unsupported engine" },
	{ "engine unknown", "{\"id\": \"a\", \"engine\": \"json-schema\"}", 0, "unsupported engine" },
	{ "engine case", "{\"id\": \"a\", \"engine\": \"Allow\"}", 0, "unsupported engine" },
	{ "matcho missing", "{\"id\": \"a\", \"engine\": \"matcho\"}", 0, "without" },
	{ "matcho bad regex", "{\"id\": \"a\", \"engine\": \"matcho\", \"matcho\": {\"uri\": \"#(\"}}", 0, "regex" },
	{ "matcho one-of mixed", "{\"id\": \"a\", \"engine\": \"matcho\", \"matcho\": {\"uri\": {\"$one-of\": [\"a\"], \"b\": 1}}}", 0, "mixed" },
	{ "allow carrying matcho", "{\"id\": \"a\", \"engine\": \"allow\", \"matcho\": {\"uri\": \"x\"}}", 0, "allow" },
	{ "matcho carrying and", "{\"id\": \"a\", \"engine\": \"matcho\", \"matcho\": {}, \"and\": [{\"engine\": \"allow\"}]}", 0, "and/or" },
	{ "complex both and and or", "{\"id\": \"a\", \"engine\": \"complex\", \"and\": [{\"engine\": \"allow\"}], \"or\": [{\"engine\": \"allow\"}]}", 0, "exactly one" },
	{ "complex neither", "{\"id\": \"a\", \"engine\": \"complex\"}", 0, "exactly one" },
	{ "complex empty and", "{\"id\": \"a\", \"engine\": \"complex\", \"and\": []}", 0, "non-empty" },
	{ "complex or not array", "{\"id\": \"a\", \"engine\": \"complex\", \"or\": {\"engine\": \"allow\"}}", 0, "non-empty" },
	{ "complex sub-rule without engine", "{\"id\": \"a\", \"engine\": \"complex\", \"or\": [{\"matcho\": {}}]}", 0, "or[0]" },
	{ "complex sub-rule sql", "{\"id\": \"a\", \"engine\": \"complex\", \"and\": [{\"engine\": \"allow\"}, {\"engine\": \"sql\"}]}", 0, "and[1]" },
	{ "complex sub-rule not object", "{\"id\": \"a\", \"engine\": \"complex\", \"and\": [\"allow\"]}", 0, "object" },
	{ "complex with matcho", "{\"id\": \"a\", \"engine\": \"complex\", \"matcho\": {}, \"or\": [{\"engine\": \"allow\"}]}", 0, "matcho" },
	{ "duplicate engine key", "{\"id\": \"a\", \"engine\": \"matcho\", \"matcho\": {\"uri\": \"#^/x\"}, \"engine\": \"allow\"}", 0, "duplicate" },
	{ "duplicate matcho key", "{\"id\": \"a\", \"engine\": \"matcho\", \"matcho\": {\"uri\": \"#^/x\"}, \"matcho\": {}}", 0, "duplicate" },
	{ "duplicate key inside pattern", "{\"id\": \"a\", \"engine\": \"matcho\", \"matcho\": {\"uri\": \"#^/x\", \"uri\": \"#\"}}", 0, "duplicate" },
	{ "empty link array", "{\"id\": \"a\", \"engine\": \"allow\", \"link\": []}", 0, "non-empty" },
	{ "link not array", "{\"id\": \"a\", \"engine\": \"allow\", \"link\": {\"resourceType\": \"Client\", \"id\": \"c\"}}", 0, "non-empty" },
	{ "link to a Patient", "{\"id\": \"a\", \"engine\": \"allow\", \"link\": [{\"resourceType\": \"Patient\", \"id\": \"p\"}]}", 0, "Client or a User" },
	{ "link without id", "{\"id\": \"a\", \"engine\": \"allow\", \"link\": [{\"resourceType\": \"Client\"}]}", 0, "link" },
	{ "link empty id", "{\"id\": \"a\", \"engine\": \"allow\", \"link\": [{\"resourceType\": \"Client\", \"id\": \"\"}]}", 0, "bad id" },
	{ "link reference with slash id", "{\"id\": \"a\", \"engine\": \"allow\", \"link\": [{\"reference\": \"Client/a/b\"}]}", 0, "bad id" },
	{ "link entry not object", "{\"id\": \"a\", \"engine\": \"allow\", \"link\": [\"Client/c\"]}", 0, "objects" },
	{ "empty roleName", "{\"id\": \"a\", \"engine\": \"allow\", \"roleName\": \"\"}", 0, "roleName" },
	{ "roleName not string", "{\"id\": \"a\", \"engine\": \"allow\", \"roleName\": [\"patient\"]}", 0, "roleName" },
};

static void
test_parse(void)
{
	char name[256], why[256];
	struct policy *p;
	cJSON *j;
	size_t i;

	for (i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
		snprintf(name, sizeof(name), "parse: %s", parse_rows[i].name);
		j = cJSON_Parse(parse_rows[i].json);
		if (!T_OK(j != NULL, name))
			continue;
		why[0] = '\0';
		p = policy_parse(j, why, sizeof(why));
		T_EQ_INT(p != NULL, parse_rows[i].ok, name);
		if (parse_rows[i].why != NULL && !T_OK(strstr(why, parse_rows[i].why) != NULL, name))
			printf("#   why \"%s\"\n", why);
		policy_free(p);
		cJSON_Delete(j);
	}
	T_OK(policy_parse(NULL, why, sizeof(why)) == NULL, "parse: NULL resource");
	policy_free(NULL);
}

/* complex rules nested past POLICY_MAX_NESTING are refused. */
static void
test_parse_nesting(void)
{
	cJSON *rule, *outer, *arr;
	struct policy *p;
	char why[256];
	int i;

	rule = cJSON_CreateObject();
	cJSON_AddStringToObject(rule, "engine", "allow");
	for (i = 0; i < POLICY_MAX_NESTING + 2; i++) {
		outer = cJSON_CreateObject();
		cJSON_AddStringToObject(outer, "engine", "complex");
		arr = cJSON_AddArrayToObject(outer, "or");
		cJSON_AddItemToArray(arr, rule);
		rule = outer;
	}
	cJSON_AddStringToObject(rule, "id", "deep");
	p = policy_parse(rule, why, sizeof(why));
	T_OK(p == NULL && strstr(why, "nested") != NULL, "parse: complex nested too deep");
	policy_free(p);
	cJSON_Delete(rule);
}

/* ---- the request object ---- */

static cJSON *
mkreq(const char *uri, const char *method, const char *qs, const char *rtype,
    const char *rid, const char *client, const char *user)
{
	struct policy_request_info info;
	cJSON *c = client ? cJSON_Parse(client) : NULL;
	cJSON *u = user ? cJSON_Parse(user) : NULL;
	cJSON *r;

	memset(&info, 0, sizeof(info));
	info.resource_type = rtype;
	info.resource_id = rid;
	info.client = c;
	info.user = u;
	info.scheme = "https";
	info.remote_addr = "127.0.0.1";
	r = policy_request_new(uri, method, qs, &info);
	cJSON_Delete(c);
	cJSON_Delete(u);
	return r;
}

/* Value at path as compact JSON text (owned), or "(absent)". */
static char *
at(const cJSON *req, const char *path)
{
	const cJSON *v = matcho_path_get(req, path);

	return v != NULL ? cJSON_PrintUnformatted(v) : strdup("(absent)");
}

static const struct {
	const char	*name;
	const char	*uri;
	const char	*method;
	const char	*qs;
	const char	*rid;
	const char	*path;
	const char	*want;		/* JSON text; NULL: request refused */
} req_rows[] = {
	{ "method lower-cased", "/fhir/Patient", "GET", NULL, NULL, ".request-method", "\"get\"" },
	{ "uri kept", "/fhir/Patient", "GET", NULL, NULL, ".uri", "\"/fhir/Patient\"" },
	{ "uri cut at ?", "/fhir/Patient?x=1", "GET", NULL, NULL, ".uri", "\"/fhir/Patient\"" },
	{ "no query: null query-string", "/fhir/Patient", "GET", NULL, NULL, ".query-string", "null" },
	{ "query-string raw", "/fhir/Patient", "GET", "a=%2F&b", NULL, ".query-string", "\"a=%2F&b\"" },
	{ "param decoded", "/fhir/Patient", "GET", "a=%2Fx%7Cy", NULL, ".params.a", "\"/x|y\"" },
	{ "plus is space", "/fhir/Patient", "GET", "name=John+Smith", NULL, ".params.name", "\"John Smith\"" },
	{ "name decoded", "/fhir/Patient", "GET", "_i%64=pt-1", NULL, ".params._id", "\"pt-1\"" },
	{ "flag without value", "/fhir/Patient", "GET", "_summary", NULL, ".params._summary", "\"\"" },
	{ "repeated becomes array", "/fhir/Observation", "GET", "patient=a&patient=b&patient=c", NULL, ".params.patient", "[\"a\",\"b\",\"c\"]" },
	{ "empty pieces skipped", "/fhir/Observation", "GET", "&a=1&&b=2&", NULL, ".params.b", "\"2\"" },
	{ "empty name skipped", "/fhir/Observation", "GET", "=x&a=1", NULL, ".params.a", "\"1\"" },
	{ "route id", "/fhir/Patient/pt-1", "GET", NULL, "pt-1", ".params.id", "\"pt-1\"" },
	{ "route resource/id", "/fhir/Patient/pt-1", "GET", NULL, "pt-1", ".params.resource/id", "\"pt-1\"" },
	{ "route id beats query id", "/fhir/Patient/pt-2", "GET", "id=pt-1", "pt-2", ".params.id", "\"pt-2\"" },
	{ "route id beats repeated query id", "/fhir/Patient/pt-2", "GET", "id=pt-1&id=pt-1", "pt-2", ".params.id", "\"pt-2\"" },
	{ "scheme", "/fhir/Patient", "GET", NULL, NULL, ".scheme", "\"https\"" },
	{ "remote-addr", "/fhir/Patient", "GET", NULL, NULL, ".remote-addr", "\"127.0.0.1\"" },
	{ "body null when absent", "/fhir/Patient", "POST", NULL, NULL, ".body", "null" },
	{ "jwt null when absent", "/fhir/Patient", "GET", NULL, NULL, ".jwt", "null" },
	{ "no role member", "/fhir/Patient", "GET", NULL, NULL, ".role", "(absent)" },
	/* refused */
	{ "bad escape", "/fhir/Patient", "GET", "a=%zz", NULL, NULL, NULL },
	{ "truncated escape", "/fhir/Patient", "GET", "a=%2", NULL, NULL, NULL },
	{ "NUL escape", "/fhir/Patient", "GET", "a=x%00y", NULL, NULL, NULL },
	{ "NUL in name", "/fhir/Patient", "GET", "a%00=x", NULL, NULL, NULL },
	{ "method with space", "/fhir/Patient", "G ET", NULL, NULL, NULL, NULL },
	{ "empty method", "/fhir/Patient", "", NULL, NULL, NULL, NULL },
	{ "overlong method", "/fhir/Patient", "GETGETGETGETGETGET", NULL, NULL, NULL, NULL },
};

static void
test_request(void)
{
	char name[256], *got, *big;
	cJSON *r, *body;
	struct policy_request_info info;
	size_t i;

	for (i = 0; i < sizeof(req_rows) / sizeof(req_rows[0]); i++) {
		snprintf(name, sizeof(name), "request: %s", req_rows[i].name);
		r = mkreq(req_rows[i].uri, req_rows[i].method, req_rows[i].qs,
		    req_rows[i].rid ? "Patient" : NULL, req_rows[i].rid, NULL, NULL);
		if (req_rows[i].want == NULL) {
			T_OK(r == NULL, name);
			cJSON_Delete(r);
			continue;
		}
		if (!T_OK(r != NULL, name))
			continue;
		got = at(r, req_rows[i].path);
		T_EQ_STR(got, req_rows[i].want, name);
		free(got);
		cJSON_Delete(r);
	}

	/* Secrets never reach policies. */
	r = mkreq("/fhir/Patient", "GET", NULL, NULL, NULL,
	    "{\"id\": \"c1\", \"secret\": \"s\", \"client_secret\": \"s\", \"grant_types\": [\"client_credentials\"]}",
	    "{\"id\": \"u1\", \"password\": \"h\", \"password_hash\": \"h\", \"password\": \"h2\"}");
	T_OK(r != NULL && matcho_path_get(r, ".client.secret") == NULL &&
	    matcho_path_get(r, ".client.client_secret") == NULL &&
	    matcho_path_get(r, ".client.grant_types.0") != NULL, "request: client secret dropped");
	T_OK(r != NULL && matcho_path_get(r, ".user.password") == NULL &&
	    matcho_path_get(r, ".user.password_hash") == NULL &&
	    matcho_path_get(r, ".user.id") != NULL, "request: user password dropped (even repeated)");
	cJSON_Delete(r);

	/* Body, jwt and extra route params are copied. */
	memset(&info, 0, sizeof(info));
	body = cJSON_Parse("{\"b\": {\"resourceType\": \"Observation\"}, \"jwt\": {\"sub\": \"u1\"},"
	    " \"route\": {\"patient\": \"pt-1\"}}");
	info.body = cJSON_GetObjectItemCaseSensitive(body, "b");
	info.jwt = cJSON_GetObjectItemCaseSensitive(body, "jwt");
	info.route_params = cJSON_GetObjectItemCaseSensitive(body, "route");
	r = policy_request_new("/fhir/Observation", "post", "patient=pt-9", &info);
	got = at(r, ".body.resourceType");
	T_EQ_STR(got, "\"Observation\"", "request: body copied");
	free(got);
	got = at(r, ".jwt.sub");
	T_EQ_STR(got, "\"u1\"", "request: jwt copied");
	free(got);
	got = at(r, ".params.patient");
	T_EQ_STR(got, "\"pt-1\"", "request: route param beats query param");
	free(got);
	cJSON_Delete(r);
	cJSON_Delete(body);

	/* borrow: references instead of copies, secrets still dropped. */
	{
		cJSON *cl = cJSON_Parse("{\"id\": \"c1\", \"grant_types\": [\"x\"]}");
		cJSON *us = cJSON_Parse("{\"id\": \"u1\", \"password\": \"h\", \"name\": \"n\"}");
		cJSON *jw = cJSON_Parse("{\"sub\": \"u1\", \"scope\": \"a b\"}");

		memset(&info, 0, sizeof(info));
		info.client = cl;
		info.user = us;
		info.jwt = jw;
		info.borrow = 1;
		r = policy_request_new("/fhir/Patient", "get", NULL, &info);
		got = at(r, ".client.grant_types.0");
		T_EQ_STR(got, "\"x\"", "request borrow: client seen");
		free(got);
		got = at(r, ".jwt.scope");
		T_EQ_STR(got, "\"a b\"", "request borrow: jwt seen");
		free(got);
		T_OK(r != NULL && matcho_path_get(r, ".user.password") == NULL &&
		    matcho_path_get(r, ".user.name") != NULL, "request borrow: user password dropped");
		T_OK(r != NULL && matcho_path_get(r, ".client") != cl &&
		    cJSON_Compare(matcho_path_get(r, ".client"), cl, 1), "request borrow: client equal");
		cJSON_Delete(r);
		/* The sources survive the request object (valgrind checks no double free). */
		T_OK(cJSON_GetObjectItemCaseSensitive(us, "password") != NULL &&
		    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cl, "grant_types")) == 1 &&
		    cJSON_GetObjectItemCaseSensitive(jw, "sub") != NULL, "request borrow: sources intact");
		cJSON_Delete(cl);
		cJSON_Delete(us);
		cJSON_Delete(jw);
	}

	T_OK(policy_request_new(NULL, "get", NULL, NULL) == NULL, "request: NULL uri");
	T_OK(policy_request_new("/x", NULL, NULL, NULL) == NULL, "request: NULL method");
	r = policy_request_new("/x", "get", NULL, NULL);
	T_OK(r != NULL, "request: NULL info");
	cJSON_Delete(r);

	/* Oversized query strings and too many parameters are refused. */
	big = malloc(POLICY_QUERY_MAX + 2);
	memset(big, 'a', POLICY_QUERY_MAX + 1);
	big[POLICY_QUERY_MAX + 1] = '\0';
	T_OK(policy_request_new("/x", "get", big, NULL) == NULL, "request: overlong query");
	for (i = 0; i < (POLICY_PARAMS_MAX + 1) * 2; i += 2) {
		big[i] = 'a';
		big[i + 1] = '&';
	}
	big[i] = '\0';
	T_OK(policy_request_new("/x", "get", big, NULL) == NULL, "request: too many params");
	free(big);
}

/* ---- single-rule evaluation ---- */

static const struct {
	const char	*name;
	const char	*policy;
	const char	*uri;
	const char	*method;
	int		 want;
} eval_rows[] = {
	{ "allow", "{\"id\": \"x\", \"engine\": \"allow\"}", "/anything", "get", 1 },
	{ "matcho yes", "{\"id\": \"x\", \"engine\": \"matcho\", \"matcho\": {\"uri\": \"#^/fhir/\", \"request-method\": \"get\"}}", "/fhir/Patient", "GET", 1 },
	{ "matcho no", "{\"id\": \"x\", \"engine\": \"matcho\", \"matcho\": {\"uri\": \"#^/fhir/\", \"request-method\": \"get\"}}", "/fhir/Patient", "DELETE", 0 },
	{ "matcho method enum", "{\"id\": \"x\", \"engine\": \"matcho\", \"matcho\": {\"request-method\": {\"$enum\": [\"get\", \"post\"]}}}", "/", "POST", 1 },
	{ "and all true", "{\"id\": \"x\", \"engine\": \"complex\", \"and\": [{\"engine\": \"allow\"}, {\"engine\": \"matcho\", \"matcho\": {\"uri\": \"#^/fhir/\"}}]}", "/fhir/x", "get", 1 },
	{ "and one false", "{\"id\": \"x\", \"engine\": \"complex\", \"and\": [{\"engine\": \"allow\"}, {\"engine\": \"matcho\", \"matcho\": {\"uri\": \"#^/fhir/\"}}]}", "/rpc", "get", 0 },
	{ "or one true", "{\"id\": \"x\", \"engine\": \"complex\", \"or\": [{\"engine\": \"matcho\", \"matcho\": {\"uri\": \"#^/fhir/\"}}, {\"engine\": \"allow\"}]}", "/rpc", "get", 1 },
	{ "or none true", "{\"id\": \"x\", \"engine\": \"complex\", \"or\": [{\"engine\": \"matcho\", \"matcho\": {\"uri\": \"#^/a\"}}, {\"engine\": \"matcho\", \"matcho\": {\"uri\": \"#^/b\"}}]}", "/c", "get", 0 },
	{ "nested complex", "{\"id\": \"x\", \"engine\": \"complex\", \"and\": [{\"engine\": \"complex\", \"or\": [{\"engine\": \"matcho\", \"matcho\": {\"request-method\": \"put\"}}, {\"engine\": \"matcho\", \"matcho\": {\"request-method\": \"get\"}}]}, {\"engine\": \"matcho\", \"matcho\": {\"uri\": \"#^/fhir/\"}}]}", "/fhir/x", "get", 1 },
	{ "nested complex false", "{\"id\": \"x\", \"engine\": \"complex\", \"and\": [{\"engine\": \"complex\", \"or\": [{\"engine\": \"matcho\", \"matcho\": {\"request-method\": \"put\"}}, {\"engine\": \"matcho\", \"matcho\": {\"request-method\": \"get\"}}]}, {\"engine\": \"matcho\", \"matcho\": {\"uri\": \"#^/fhir/\"}}]}", "/fhir/x", "delete", 0 },
	{ "regex limit is an error", "{\"id\": \"x\", \"engine\": \"matcho\", \"matcho\": {\"uri\": \"#^(a+)+$\"}}", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "get", -1 },
	{ "error inside or is an error", "{\"id\": \"x\", \"engine\": \"complex\", \"or\": [{\"engine\": \"matcho\", \"matcho\": {\"uri\": \"#^(a+)+$\"}}, {\"engine\": \"allow\"}]}", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "get", -1 },
	{ "not around a limit stays an error", "{\"id\": \"x\", \"engine\": \"matcho\", \"matcho\": {\"uri\": {\"$not\": \"#^(a+)+$\"}}}", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "get", -1 },
};

static void
test_eval(void)
{
	char name[256], why[256];
	struct policy *p;
	cJSON *j, *r;
	size_t i;

	for (i = 0; i < sizeof(eval_rows) / sizeof(eval_rows[0]); i++) {
		snprintf(name, sizeof(name), "eval: %s", eval_rows[i].name);
		j = cJSON_Parse(eval_rows[i].policy);
		p = policy_parse(j, why, sizeof(why));
		r = mkreq(eval_rows[i].uri, eval_rows[i].method, NULL, NULL, NULL, NULL, NULL);
		if (T_OK(p != NULL && r != NULL, name))
			T_EQ_INT(policy_eval(p, r), eval_rows[i].want, name);
		policy_free(p);
		cJSON_Delete(j);
		cJSON_Delete(r);
	}
	T_EQ_INT(policy_eval(NULL, NULL), -1, "eval: NULL policy");
}

/* ---- whole sets ---- */

struct set_row {
	const char	*name;
	const char	*uri;
	const char	*method;
	const char	*qs;
	const char	*rid;		/* route id (type taken from the uri) */
	const char	*client;	/* Client JSON or NULL */
	const char	*client_id;
	const char	*user_id;
	const char	*roles;		/* Role array JSON or NULL */
	int		 want;
	const char	*by;		/* policy expected to allow */
};

static const char cc_client[] = "{\"id\": \"bulk\", \"grant_types\": [\"client_credentials\"]}";
static const char ac_client[] = "{\"id\": \"app\", \"grant_types\": [\"authorization_code\", \"refresh_token\"]}";
static const char str_client[] = "{\"id\": \"odd\", \"grant_types\": \"client_credentials\"}";

static const struct set_row seed_rows[] = {
	{ "seed: search inside the patient", "/fhir/Observation", "get", "patient=pt-1&code=x", NULL, NULL, "app", "u1", roles_pt1, 1, "patient-smart" },
	{ "seed: search another patient", "/fhir/Observation", "get", "patient=pt-2", NULL, NULL, "app", "u1", roles_pt1, 0, NULL },
	{ "seed: search without patient", "/fhir/Observation", "get", "code=x", NULL, NULL, "app", "u1", roles_pt1, 0, NULL },
	{ "seed: search with patient twice", "/fhir/Observation", "get", "patient=pt-1&patient=pt-2", NULL, NULL, "app", "u1", roles_pt1, 0, NULL },
	{ "seed: search outside /fhir", "/rpc", "post", "patient=pt-1", NULL, NULL, "app", "u1", roles_pt1, 0, NULL },
	{ "seed: read own Patient", "/fhir/Patient/pt-1", "get", NULL, "pt-1", NULL, "app", "u1", roles_pt1, 1, "smart-patient-read" },
	{ "seed: read another Patient", "/fhir/Patient/pt-2", "get", NULL, "pt-2", NULL, "app", "u1", roles_pt1, 0, NULL },
	{ "seed: query id cannot fake the route id", "/fhir/Patient/pt-2", "get", "id=pt-1", "pt-2", NULL, "app", "u1", roles_pt1, 0, NULL },
	{ "seed: search self by _id", "/fhir/Patient", "get", "_id=pt-1", NULL, NULL, "app", "u1", roles_pt1, 1, "smart-patient-search-self" },
	{ "seed: search other by _id", "/fhir/Patient", "get", "_id=pt-2", NULL, NULL, "app", "u1", roles_pt1, 0, NULL },
	{ "seed: role without links", "/fhir/Observation", "get", "patient=pt-1", NULL, NULL, "app", "u1", roles_nolink, 0, NULL },
	{ "seed: role of another user", "/fhir/Observation", "get", "patient=pt-1", NULL, NULL, "app", "u1", roles_other_user, 0, NULL },
	{ "seed: no roles", "/fhir/Observation", "get", "patient=pt-1", NULL, NULL, "app", "u1", NULL, 0, NULL },
	{ "seed: no user", "/fhir/Observation", "get", "patient=pt-1", NULL, NULL, "app", NULL, roles_pt1, 0, NULL },
	{ "seed: practitioner role", "/fhir/Observation", "get", "patient=pt-1", NULL, NULL, "app", "u1", roles_prac, 0, NULL },
	{ "seed: second role grants pt-2", "/fhir/Observation", "get", "patient=pt-2", NULL, NULL, "app", "u1", roles_two, 1, "patient-smart" },
	{ "seed: two roles, neither pt-3", "/fhir/Observation", "get", "patient=pt-3", NULL, NULL, "app", "u1", roles_two, 0, NULL },
	{ "seed: second role reads Patient pt-2", "/fhir/Patient/pt-2", "get", NULL, "pt-2", NULL, "app", "u1", roles_two, 1, "smart-patient-read" },
};

static const struct set_row default_rows[] = {
	{ "defaults: patient reads by id", "/fhir/Observation/o1", "get", NULL, "o1", NULL, "app", "u1", roles_pt1, 1, "patient-read-own" },
	{ "defaults: patient vread", "/fhir/Observation/o1/_history/2", "get", NULL, "o1", NULL, "app", "u1", roles_pt1, 1, "patient-read-own" },
	{ "defaults: patient history", "/fhir/Observation/o1/_history", "get", NULL, "o1", NULL, "app", "u1", roles_pt1, 1, "patient-read-own" },
	{ "defaults: patient operation refused", "/fhir/Patient/pt-2/$everything", "get", NULL, "pt-2", NULL, "app", "u1", roles_pt1, 0, NULL },
	{ "defaults: patient delete refused", "/fhir/Observation/o1", "delete", NULL, "o1", NULL, "app", "u1", roles_pt1, 0, NULL },
	{ "defaults: patient type search needs patient=", "/fhir/Observation", "get", NULL, NULL, NULL, "app", "u1", roles_pt1, 0, NULL },
	{ "defaults: patient own compartment search", "/fhir/Observation", "get", "patient=pt-1", NULL, NULL, "app", "u1", roles_pt1, 1, "patient-smart" },
	{ "defaults: practitioner deletes", "/fhir/Patient/pt-9", "delete", NULL, "pt-9", NULL, "app", "u1", roles_prac, 1, "practitioner-all" },
	{ "defaults: backend client reads", "/fhir/Observation", "get", NULL, NULL, cc_client, "bulk", NULL, NULL, 1, "backend-clients" },
	{ "defaults: backend client outside /fhir", "/rpc", "post", NULL, NULL, cc_client, "bulk", NULL, NULL, 0, NULL },
	{ "defaults: code client without user", "/fhir/Observation", "get", NULL, NULL, ac_client, "app", NULL, NULL, 0, NULL },
	{ "defaults: grant_types as a string", "/fhir/Observation", "get", NULL, NULL, str_client, "odd", NULL, NULL, 0, NULL },
	{ "defaults: nobody", "/fhir/Observation", "get", NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL },
	{ "defaults: nobody calls /rpc", "/rpc", "post", NULL, NULL, ac_client, "app", "u1", roles_pt1, 0, NULL },
};

static void
run_set_rows(const struct policy_set *set, const struct set_row *rows, size_t n)
{
	char name[256];
	const char *by;
	cJSON *req, *roles;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s", rows[i].name);
		req = mkreq(rows[i].uri, rows[i].method, rows[i].qs,
		    rows[i].rid ? "X" : NULL, rows[i].rid, rows[i].client, NULL);
		roles = rows[i].roles ? cJSON_Parse(rows[i].roles) : NULL;
		if (!T_OK(req != NULL && (rows[i].roles == NULL || roles != NULL), name)) {
			cJSON_Delete(req);
			cJSON_Delete(roles);
			continue;
		}
		rc = policy_set_allows(set, req, roles, rows[i].client_id, rows[i].user_id, &by);
		T_EQ_INT(rc, rows[i].want, name);
		T_EQ_STR(by, rows[i].by, name);
		T_OK(matcho_path_get(req, ".role") == NULL, name);	/* role removed again */
		cJSON_Delete(req);
		cJSON_Delete(roles);
	}
}

static struct policy_set *
set_from(const char *a, const char *b)
{
	char why[256];
	struct policy_set *set;
	struct policy *p;
	cJSON *ja, *jb, *it;

	ja = cJSON_Parse(a);
	set = policy_set_parse(ja, why, sizeof(why));
	if (set != NULL && b != NULL) {
		jb = cJSON_Parse(b);
		cJSON_ArrayForEach(it, jb) {
			p = policy_parse(it, why, sizeof(why));
			policy_set_add(set, p);
		}
		cJSON_Delete(jb);
	}
	cJSON_Delete(ja);
	return set;
}

static void
test_seed_and_defaults(void)
{
	struct policy_set *set;

	set = set_from(seed_json, NULL);
	if (T_OK(set != NULL && policy_set_count(set) == 3, "seed policies parse verbatim"))
		run_set_rows(set, seed_rows, sizeof(seed_rows) / sizeof(seed_rows[0]));
	policy_set_free(set);

	set = set_from(seed_json, defaults_json);
	if (T_OK(set != NULL && policy_set_count(set) == 6, "seed + defaults parse"))
		run_set_rows(set, default_rows, sizeof(default_rows) / sizeof(default_rows[0]));
	policy_set_free(set);
}

static const char linked_json[] =
    "[{\"id\": \"ehr-rpc\", \"engine\": \"matcho\", \"link\": [{\"resourceType\": \"Client\", \"id\": \"ehr\"}],"
    "  \"matcho\": {\"uri\": \"#^/rpc$\"}},"
    " {\"id\": \"admin-user\", \"engine\": \"allow\", \"link\": [{\"reference\": \"User/admin\"}]},"
    " {\"id\": \"nurse-on-ward\", \"engine\": \"allow\", \"roleName\": \"nurse\","
    "  \"link\": [{\"resourceType\": \"Client\", \"id\": \"ward-app\"}]}]";

static const char roles_nurse[] = "[{\"name\": \"nurse\", \"user\": {\"id\": \"n1\"}}]";

static const struct set_row link_rows[] = {
	{ "link: EHR client calls /rpc", "/rpc", "post", NULL, NULL, NULL, "ehr", NULL, NULL, 1, "ehr-rpc" },
	{ "link: other client calls /rpc", "/rpc", "post", NULL, NULL, NULL, "app", NULL, NULL, 0, NULL },
	{ "link: client id equal to a User link", "/fhir/x", "get", NULL, NULL, NULL, "admin", NULL, NULL, 0, NULL },
	{ "link: linked user", "/fhir/x", "delete", NULL, NULL, NULL, "app", "admin", NULL, 1, "admin-user" },
	{ "link: user id equal to a Client link", "/rpc", "post", NULL, NULL, NULL, "app", "ehr", NULL, 0, NULL },
	{ "link: EHR client, wrong uri", "/rpc/x", "post", NULL, NULL, NULL, "ehr", NULL, NULL, 0, NULL },
	{ "link+role: nurse via the ward app", "/fhir/x", "get", NULL, NULL, NULL, "ward-app", "n1", roles_nurse, 1, "nurse-on-ward" },
	{ "link+role: nurse via another app", "/fhir/x", "get", NULL, NULL, NULL, "app", "n1", roles_nurse, 0, NULL },
	{ "link+role: ward app without the role", "/fhir/x", "get", NULL, NULL, NULL, "ward-app", "u1", roles_pt1, 0, NULL },
};

static void
test_links(void)
{
	struct policy_set *set;

	set = set_from(linked_json, NULL);
	if (T_OK(set != NULL, "linked policies parse"))
		run_set_rows(set, link_rows, sizeof(link_rows) / sizeof(link_rows[0]));
	policy_set_free(set);
}

/* Roles are placed one at a time, removed after, and a caller's role is kept. */
static void
test_role_binding(void)
{
	static const char role_policy[] =
	    "[{\"id\": \"count-roles\", \"engine\": \"matcho\", \"roleName\": \"patient\","
	    "  \"matcho\": {\"role\": {\"id\": \"r2\"}}},"
	    " {\"id\": \"global-sees-no-role\", \"engine\": \"matcho\","
	    "  \"matcho\": {\"role\": \"present?\"}}]";
	struct policy_set *set;
	const char *by;
	cJSON *req, *roles, *own;

	set = set_from(role_policy, NULL);
	roles = cJSON_Parse(roles_two);
	req = mkreq("/fhir/x", "get", NULL, NULL, NULL, NULL, NULL);
	T_EQ_INT(policy_set_allows(set, req, roles, "app", "u1", &by), 1,
	    "roleName: the second Role is evaluated too");
	T_EQ_STR(by, "count-roles", "roleName: allowed by the role policy");
	cJSON_Delete(roles);

	/* A role already in the request is hidden from policies, then restored. */
	own = cJSON_CreateObject();
	cJSON_AddStringToObject(own, "id", "caller");
	cJSON_AddItemToObject(req, "role", own);
	T_EQ_INT(policy_set_allows(set, req, NULL, "app", "u1", &by), 0,
	    "roleName: a caller-supplied role is not seen");
	T_OK(matcho_path_get(req, ".role.id") != NULL &&
	    strcmp(matcho_path_get(req, ".role.id")->valuestring, "caller") == 0,
	    "roleName: caller's role restored");
	/* Two "role" members: neither is seen, the first is kept. */
	own = cJSON_CreateObject();
	cJSON_AddStringToObject(own, "id", "dup");
	cJSON_AddItemToObject(req, "role", own);
	T_EQ_INT(policy_set_allows(set, req, NULL, "app", "u1", &by), 0,
	    "roleName: duplicate caller roles are not seen");
	T_OK(cJSON_GetArraySize(req) == 11 &&
	    strcmp(matcho_path_get(req, ".role.id")->valuestring, "caller") == 0,
	    "roleName: first caller role kept, duplicate dropped");
	cJSON_Delete(req);
	policy_set_free(set);
}

static void
test_default_deny(void)
{
	static const char broken_then_ok[] =
	    "[{\"id\": \"evil\", \"engine\": \"matcho\", \"matcho\": {\"uri\": \"#^(a+)+$\"}},"
	    " {\"id\": \"fallback\", \"engine\": \"matcho\", \"matcho\": {\"request-method\": \"get\"}}]";
	struct policy_set *set;
	const char *by = "x";
	cJSON *req, *j;
	char why[256];

	req = mkreq("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "get", NULL, NULL, NULL, NULL, NULL);
	set = policy_set_new();
	T_EQ_INT(policy_set_allows(set, req, NULL, "app", "u1", &by), 0, "empty set denies");
	T_OK(by == NULL, "empty set: no policy named");
	policy_set_free(set);

	set = set_from(broken_then_ok, NULL);
	T_EQ_INT(policy_set_allows(set, req, NULL, "app", "u1", &by), 1,
	    "a failing policy does not stop the others");
	T_EQ_STR(by, "fallback", "allowed by the fallback");
	cJSON_Delete(req);
	req = mkreq("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "post", NULL, NULL, NULL, NULL, NULL);
	T_EQ_INT(policy_set_allows(set, req, NULL, "app", "u1", &by), 0,
	    "a failing policy alone denies");
	policy_set_free(set);

	T_EQ_INT(policy_set_allows(NULL, req, NULL, NULL, NULL, NULL), -1, "NULL set: deny");
	cJSON_Delete(req);

	j = cJSON_Parse("[{\"id\": \"ok\", \"engine\": \"allow\"}, {\"id\": \"bad\", \"engine\": \"sql\"}]");
	T_OK(policy_set_parse(j, why, sizeof(why)) == NULL && strstr(why, "policy 1") != NULL,
	    "set parse is strict and names the bad policy");
	cJSON_Delete(j);
	j = cJSON_Parse("{}");
	T_OK(policy_set_parse(j, why, sizeof(why)) == NULL, "set parse wants an array");
	cJSON_Delete(j);
	T_EQ_INT(policy_set_add(NULL, NULL), -1, "add to NULL set");
	T_EQ_INT(policy_set_count(NULL), 0, "count of NULL set");

	/* applies(): link binding alone. */
	j = cJSON_Parse("{\"id\": \"l\", \"engine\": \"allow\", \"link\": [{\"resourceType\": \"Client\", \"id\": \"c1\"}]}");
	{
		struct policy *p = policy_parse(j, why, sizeof(why));

		T_EQ_INT(policy_applies(p, "c1", NULL), 1, "applies: linked client");
		T_EQ_INT(policy_applies(p, "c2", "c1"), 0, "applies: user id equal to client link");
		T_EQ_INT(policy_applies(p, NULL, NULL), 0, "applies: anonymous");
		T_EQ_INT(policy_applies(NULL, "c1", NULL), 0, "applies: NULL policy");
		policy_free(p);
	}
	cJSON_Delete(j);
}

int
main(void)
{
	log_set_level(LOGL_ERROR);
	test_parse();
	test_parse_nesting();
	test_request();
	test_eval();
	test_seed_and_defaults();
	test_links();
	test_role_binding();
	test_default_deny();
	matcho_cache_clear();
	return t_done();
}
