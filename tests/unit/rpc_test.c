/*
 * rpc_test: the arguments of aidbox.smart/get-launch-uri: user and client
 * as ids or reference objects, iss as given, percent-encoded or with a
 * trailing slash (and the near misses: other hosts, prefixes, double
 * encoding, bad escapes), ctx members and their types, the stored launch
 * context, and the launch URL (query separator, fragment, encoding).
 * The database half is covered by tests/e2e/test_rpc.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "rpc.h"
#include "t.h"

#define BASE	"http://127.0.0.1:8080/smart/fhir"

static cJSON *
parse(const char *s)
{
	return json_parse_strict(s, strlen(s), NULL);
}

static void
test_ref_id(void)
{
	static const struct {
		const char *json;
		const char *type;
		const char *want;	/* NULL: refused */
	} rows[] = {
		{ "\"u1\"", "User", "u1" },
		{ "{\"id\": \"u1\", \"resourceType\": \"User\"}", "User", "u1" },
		{ "{\"id\": \"u1\"}", "User", "u1" },
		{ "{\"resourceType\": \"Client\", \"id\": \"ehr\"}", "Client", "ehr" },
		{ "{\"id\": \"u1\", \"resourceType\": \"Patient\"}", "User", NULL },
		{ "{\"id\": \"u1\", \"resourceType\": \"user\"}", "User", NULL },
		{ "{\"id\": \"u1\", \"resourceType\": 5}", "User", NULL },
		{ "{\"id\": 5, \"resourceType\": \"User\"}", "User", NULL },
		{ "{\"resourceType\": \"User\"}", "User", NULL },
		{ "{\"id\": \"\"}", "User", NULL },
		{ "\"\"", "User", NULL },
		{ "5", "User", NULL },
		{ "true", "User", NULL },
		{ "null", "User", NULL },
		{ "[\"u1\"]", "User", NULL },
		{ "\"a\\nb\"", "User", NULL },
		{ "\"a\\u007fb\"", "User", NULL },
	};
	const char *id;
	char name[160];
	cJSON *v;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "ref_id %s as %s", rows[i].json, rows[i].type);
		v = parse(rows[i].json);
		rc = rpc_ref_id(v, rows[i].type, &id);
		if (rows[i].want != NULL)
			T_OK(rc == 0 && id != NULL && strcmp(id, rows[i].want) == 0, name);
		else
			T_OK(rc == -1 && id == NULL, name);
		cJSON_Delete(v);
	}
	{
		char big[RPC_ID_MAX + 8];

		memset(big, 'a', sizeof(big));
		big[RPC_ID_MAX] = '\0';
		v = cJSON_CreateString(big);
		T_EQ_INT(rpc_ref_id(v, "User", &id), 0, "ref_id at RPC_ID_MAX");
		cJSON_Delete(v);
		big[RPC_ID_MAX] = 'a';
		big[RPC_ID_MAX + 1] = '\0';
		v = cJSON_CreateString(big);
		T_EQ_INT(rpc_ref_id(v, "User", &id), -1, "ref_id over RPC_ID_MAX");
		cJSON_Delete(v);
	}
}

static void
test_fhir_id(void)
{
	T_OK(rpc_fhir_id_ok("pt-1"), "fhir id pt-1");
	T_OK(rpc_fhir_id_ok("A.b-9"), "fhir id A.b-9");
	T_OK(!rpc_fhir_id_ok(""), "fhir id empty");
	T_OK(!rpc_fhir_id_ok("Patient/pt-1"), "fhir id with slash");
	T_OK(!rpc_fhir_id_ok("pt 1"), "fhir id with space");
	T_OK(!rpc_fhir_id_ok("pt_1"), "fhir id with underscore");
	T_OK(!rpc_fhir_id_ok(NULL), "fhir id NULL");
	T_OK(rpc_fhir_id_ok("0123456789012345678901234567890123456789012345678901234567890123"),
	    "fhir id of 64");
	T_OK(!rpc_fhir_id_ok("01234567890123456789012345678901234567890123456789012345678901234"),
	    "fhir id of 65");
}

static void
test_iss(void)
{
	static const struct {
		const char *iss;
		int want;
	} rows[] = {
		{ BASE, 1 },
		{ BASE "/", 1 },
		{ "http%3A%2F%2F127.0.0.1%3A8080%2Fsmart%2Ffhir", 1 },
		{ "http%3a%2f%2f127.0.0.1%3a8080%2fsmart%2ffhir", 1 },
		{ "http%3A%2F%2F127.0.0.1%3A8080%2Fsmart%2Ffhir%2F", 1 },
		{ "http://127.0.0.1%3A8080/smart/fhir", 1 },
		{ BASE "//", 0 },
		{ BASE "x", 0 },
		{ BASE "/Patient", 0 },
		{ "http://127.0.0.1:8080/smart/fhi", 0 },
		{ "http://127.0.0.1:8080/smart", 0 },
		{ "https://127.0.0.1:8080/smart/fhir", 0 },
		{ "http://127.0.0.1:8081/smart/fhir", 0 },
		{ "HTTP://127.0.0.1:8080/smart/fhir", 0 },
		{ "http://evil.example/?u=http://127.0.0.1:8080/smart/fhir", 0 },
		{ "http%253A%252F%252F127.0.0.1%253A8080%252Fsmart%252Ffhir", 0 },
		{ "http%3A%2F%2F127.0.0.1%3A8080%2Fsmart%2Ffhir%", 0 },
		{ "http%3A%2F%2F127.0.0.1%3A8080%2Fsmart%2Ffhir%00", 0 },
		{ "http+%3A%2F%2F127.0.0.1%3A8080%2Fsmart%2Ffhir", 0 },
		{ "", 0 },
		{ "/", 0 },
		{ NULL, 0 },
	};
	char name[160];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "iss %s", rows[i].iss ? rows[i].iss : "(null)");
		T_EQ_INT(rpc_iss_matches(rows[i].iss, BASE), rows[i].want, name);
	}
	T_EQ_INT(rpc_iss_matches("/", "/"), 0, "iss: bare slashes never match");
}

/* Parses body_json; returns 0/-1 and fills l (caller clears). */
static int
launch_parse(const char *body_json, struct rpc_launch *l, char *why, size_t whysz)
{
	cJSON *b = parse(body_json);
	int rc;

	if (b == NULL) {
		snprintf(why, whysz, "test body does not parse");
		memset(l, 0, sizeof(*l));
		return -2;
	}
	rc = rpc_launch_parse(b, BASE, l, why, whysz);
	/* l borrows user/client ids from b: keep copies of what the test reads. */
	if (rc == 0) {
		static char user[64], client[64];

		snprintf(user, sizeof(user), "%s", l->user_id);
		snprintf(client, sizeof(client), "%s", l->client_id);
		l->user_id = user;
		l->client_id = client;
	}
	cJSON_Delete(b);
	return rc;
}

#define HEAD	"{\"method\": \"aidbox.smart/get-launch-uri\", \"params\": "

static void
test_launch_parse(void)
{
	static const struct {
		const char *name;
		const char *body;
		const char *ctx;	/* expected stored context, NULL: refused */
		const char *why;	/* substring of the reason when refused */
	} rows[] = {
		{ "strings, no ctx",
		  HEAD "{\"user\": \"alice\", \"iss\": \"" BASE "\", \"client\": \"app\"}}", "{}", NULL },
		{ "reference objects and encoded iss",
		  HEAD "{\"user\": {\"id\": \"alice\", \"resourceType\": \"User\"}, "
		  "\"iss\": \"http%3A%2F%2F127.0.0.1%3A8080%2Fsmart%2Ffhir\", "
		  "\"client\": {\"id\": \"app\", \"resourceType\": \"Client\"}}}", "{}", NULL },
		{ "full ctx",
		  HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", \"ctx\": "
		  "{\"patient\": \"pt-1\", \"encounter\": \"enc-1\", \"fhirContext\": "
		  "[{\"reference\": \"DocumentReference/x\"}, {\"reference\": \"Task/t\", \"role\": \"x\", \"extra\": 1}], "
		  "\"intent\": \"reconcile\", \"need_patient_banner\": false}}}",
		  "{\"patient\":\"pt-1\",\"encounter\":\"enc-1\",\"fhirContext\":"
		  "[{\"reference\":\"DocumentReference/x\"},{\"reference\":\"Task/t\",\"role\":\"x\"}],"
		  "\"intent\":\"reconcile\",\"need_patient_banner\":false}", NULL },
		{ "ctx references of several shapes",
		  HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", \"ctx\": "
		  "{\"patient\": {\"reference\": \"Patient/pt-1\"}, "
		  "\"encounter\": {\"id\": \"e1\", \"resourceType\": \"Encounter\"}}}}",
		  "{\"patient\":\"pt-1\",\"encounter\":\"e1\"}", NULL },
		{ "Patient/id string",
		  HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", \"ctx\": "
		  "{\"patient\": \"Patient/pt-1\"}}}", "{\"patient\":\"pt-1\"}", NULL },
		{ "nulls count as absent, unknown members dropped",
		  HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", \"ctx\": "
		  "{\"patient\": null, \"encounter\": null, \"fhirContext\": null, \"smart_style_url\": \"x\"}}}",
		  "{}", NULL },
		{ "null ctx", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", \"ctx\": null}}",
		  "{}", NULL },
		{ "banner true", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", \"ctx\": "
		  "{\"need_patient_banner\": true}}}", "{\"need_patient_banner\":true}", NULL },

		{ "array body", "[]", NULL, "object" },
		{ "no method", "{\"params\": {}}", NULL, "method" },
		{ "method not a string", "{\"method\": 1, \"params\": {}}", NULL, "method" },
		{ "unknown method", "{\"method\": \"aidbox.smart/other\", \"params\": {}}", NULL, "unknown method" },
		{ "method case", "{\"method\": \"Aidbox.smart/get-launch-uri\", \"params\": {}}", NULL, "unknown method" },
		{ "params missing", "{\"method\": \"aidbox.smart/get-launch-uri\"}", NULL, "params" },
		{ "params array", HEAD "[]}", NULL, "params" },
		{ "user missing", HEAD "{\"iss\": \"" BASE "\", \"client\": \"c\"}}", NULL, "params.user" },
		{ "user null", HEAD "{\"user\": null, \"iss\": \"" BASE "\", \"client\": \"c\"}}", NULL, "params.user" },
		{ "user number", HEAD "{\"user\": 1, \"iss\": \"" BASE "\", \"client\": \"c\"}}", NULL, "params.user" },
		{ "user typed Client", HEAD "{\"user\": {\"id\": \"u\", \"resourceType\": \"Client\"}, "
		  "\"iss\": \"" BASE "\", \"client\": \"c\"}}", NULL, "params.user" },
		{ "client missing", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\"}}", NULL, "params.client" },
		{ "client empty", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"\"}}", NULL, "params.client" },
		{ "iss missing", HEAD "{\"user\": \"u\", \"client\": \"c\"}}", NULL, "params.iss" },
		{ "iss number", HEAD "{\"user\": \"u\", \"iss\": 1, \"client\": \"c\"}}", NULL, "params.iss" },
		{ "iss other", HEAD "{\"user\": \"u\", \"iss\": \"https://evil.example/fhir\", \"client\": \"c\"}}",
		  NULL, "params.iss" },
		{ "ctx array", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", \"ctx\": []}}",
		  NULL, "params.ctx" },
		{ "patient number", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", \"ctx\": "
		  "{\"patient\": 1}}}", NULL, "params.ctx.patient" },
		{ "patient bad id", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", \"ctx\": "
		  "{\"patient\": \"pt/1\"}}}", NULL, "params.ctx.patient" },
		{ "patient as Encounter reference", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", "
		  "\"ctx\": {\"patient\": {\"reference\": \"Encounter/e1\"}}}}", NULL, "params.ctx.patient" },
		{ "patient typed Encounter", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", "
		  "\"ctx\": {\"patient\": {\"id\": \"e1\", \"resourceType\": \"Encounter\"}}}}", NULL, "params.ctx.patient" },
		{ "encounter empty", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", \"ctx\": "
		  "{\"encounter\": \"\"}}}", NULL, "params.ctx.encounter" },
		{ "fhirContext string", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", \"ctx\": "
		  "{\"fhirContext\": \"DocumentReference/x\"}}}", NULL, "fhirContext" },
		{ "fhirContext of strings", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", \"ctx\": "
		  "{\"fhirContext\": [\"DocumentReference/x\"]}}}", NULL, "fhirContext[0]" },
		{ "fhirContext without reference", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", "
		  "\"ctx\": {\"fhirContext\": [{\"reference\": \"A/b\"}, {\"type\": \"x\"}]}}}", NULL, "fhirContext[1]" },
		{ "fhirContext reference number", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", "
		  "\"ctx\": {\"fhirContext\": [{\"reference\": 1}]}}}", NULL, "fhirContext[0]" },
		{ "fhirContext role number", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", "
		  "\"ctx\": {\"fhirContext\": [{\"reference\": \"A/b\", \"role\": 1}]}}}", NULL, "role" },
		{ "intent number", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", \"ctx\": "
		  "{\"intent\": 1}}}", NULL, "intent" },
		{ "banner string", HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", \"client\": \"c\", \"ctx\": "
		  "{\"need_patient_banner\": \"false\"}}}", NULL, "need_patient_banner" },
	};
	struct rpc_launch l;
	char why[256], name[192], *got;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		why[0] = '\0';
		rc = launch_parse(rows[i].body, &l, why, sizeof(why));
		snprintf(name, sizeof(name), "launch_parse: %s", rows[i].name);
		if (rows[i].ctx != NULL) {
			got = rc == 0 ? json_print(l.context) : NULL;
			T_EQ_STR(got, rows[i].ctx, name);
			if (rc != 0)
				printf("#   why: %s\n", why);
			free(got);
		} else {
			T_OK(rc == -1 && l.context == NULL, name);
			snprintf(name, sizeof(name), "launch_parse: %s says %s", rows[i].name, rows[i].why);
			T_OK(strstr(why, rows[i].why) != NULL, name);
		}
		rpc_launch_clear(&l);
	}

	/* The parsed members. */
	rc = launch_parse(HEAD "{\"user\": {\"id\": \"dr\", \"resourceType\": \"User\"}, \"iss\": \"" BASE "/\", "
	    "\"client\": \"app\", \"ctx\": {\"patient\": \"Patient/pt-9\", \"encounter\": \"e9\"}}}",
	    &l, why, sizeof(why));
	T_EQ_INT(rc, 0, "launch_parse members: ok");
	T_EQ_STR(l.user_id, "dr", "launch_parse members: user");
	T_EQ_STR(l.client_id, "app", "launch_parse members: client");
	T_EQ_STR(l.patient, "pt-9", "launch_parse members: bare patient id");
	T_EQ_STR(l.encounter, "e9", "launch_parse members: encounter");
	rpc_launch_clear(&l);
	T_OK(l.context == NULL && l.patient == NULL, "launch_clear empties");
	rpc_launch_clear(NULL);

	/* Too many fhirContext entries. */
	{
		char body[8192];
		size_t o, k;

		o = (size_t)snprintf(body, sizeof(body), HEAD "{\"user\": \"u\", \"iss\": \"" BASE "\", "
		    "\"client\": \"c\", \"ctx\": {\"fhirContext\": [");
		for (k = 0; k <= RPC_FHIR_CONTEXT_MAX; k++)
			o += (size_t)snprintf(body + o, sizeof(body) - o, "%s{\"reference\": \"A/%zu\"}",
			    k ? "," : "", k);
		snprintf(body + o, sizeof(body) - o, "]}}}");
		rc = launch_parse(body, &l, why, sizeof(why));
		T_OK(rc == -1 && strstr(why, "more than") != NULL, "launch_parse: too many fhirContext");
		rpc_launch_clear(&l);
	}
}

static void
test_launch_url(void)
{
	static const struct {
		const char *launch_uri;
		const char *want;
	} rows[] = {
		{ "https://app.example/launch",
		  "https://app.example/launch?iss=http%3A%2F%2F127.0.0.1%3A8080%2Fsmart%2Ffhir&launch=L-1_x" },
		{ "https://app.example/launch?tenant=a",
		  "https://app.example/launch?tenant=a&iss=http%3A%2F%2F127.0.0.1%3A8080%2Fsmart%2Ffhir&launch=L-1_x" },
		{ "https://app.example/launch?",
		  "https://app.example/launch?iss=http%3A%2F%2F127.0.0.1%3A8080%2Fsmart%2Ffhir&launch=L-1_x" },
		{ "https://app.example/launch?a=1&",
		  "https://app.example/launch?a=1&iss=http%3A%2F%2F127.0.0.1%3A8080%2Fsmart%2Ffhir&launch=L-1_x" },
		{ "https://app.example/launch#/start",
		  "https://app.example/launch?iss=http%3A%2F%2F127.0.0.1%3A8080%2Fsmart%2Ffhir&launch=L-1_x#/start" },
		{ "https://app.example/launch?a=1#/s?x",
		  "https://app.example/launch?a=1&iss=http%3A%2F%2F127.0.0.1%3A8080%2Fsmart%2Ffhir&launch=L-1_x#/s?x" },
	};
	char name[160], *got;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "launch url of %s", rows[i].launch_uri);
		got = rpc_launch_url(rows[i].launch_uri, BASE, "L-1_x");
		T_EQ_STR(got, rows[i].want, name);
		free(got);
	}
}

static void
test_result(void)
{
	cJSON *o = rpc_result("https://app.example/launch", BASE, "L1");
	const cJSON *r = json_get_obj(o, "result");
	char *s;

	T_EQ_STR(json_get_str(r, "uri"),
	    "https://app.example/launch?iss=http%3A%2F%2F127.0.0.1%3A8080%2Fsmart%2Ffhir&launch=L1",
	    "result uri");
	T_EQ_STR(json_get_str(r, "launch"), "L1", "result launch");
	T_EQ_STR(json_get_str(r, "iss"), BASE, "result iss");
	T_EQ_STR(json_get_str(r, "launch-uri"), "https://app.example/launch", "result launch-uri");
	T_EQ_INT(cJSON_GetArraySize(r), 4, "result has four members");
	cJSON_Delete(o);

	o = rpc_error("a \"quoted\" <message>");
	s = json_print(o);
	T_EQ_STR(s, "{\"error\":{\"message\":\"a \\\"quoted\\\" <message>\"}}", "error shape, escaped");
	free(s);
	cJSON_Delete(o);
}

int main(void);

int
main(void)
{
	log_init("rpc_test");
	log_set_level(LOGL_ERROR);
	test_ref_id();
	test_fhir_id();
	test_iss();
	test_launch_parse();
	test_launch_url();
	test_result();
	return t_done();
}
