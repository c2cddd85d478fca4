/*
 * introspect_test: the database-free parts of introspection: the
 * introspection-scope test, the exact inactive answer (RFC 7662 §2.2)
 * and the members of an active answer (SMART 2.2 §5.9).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "introspect.h"
#include "json.h"
#include "log.h"
#include "t.h"

static void
test_scope_grants(void)
{
	static const struct {
		const char *scope;
		int want;
	} rows[] = {
		{ "smartauth/introspect", 1 },
		{ "system/*.rs smartauth/introspect", 1 },
		{ "smartauth/introspect system/*.rs", 1 },
		{ "  smartauth/introspect  ", 1 },
		{ "smartauth/introspectx", 0 },
		{ "xsmartauth/introspect", 0 },
		{ "smartauth/introspec", 0 },
		{ "Smartauth/introspect", 0 },
		{ "system/*.rs", 0 },
		{ "", 0 },
		{ NULL, 0 },
	};
	char name[96];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "scope \"%s\" %s", rows[i].scope ? rows[i].scope : "(null)",
		    rows[i].want ? "grants introspection" : "does not");
		T_EQ_INT(introspect_scope_grants(rows[i].scope), rows[i].want, name);
	}
}

static void
test_inactive(void)
{
	cJSON *o = introspect_inactive();
	char *s = cJSON_PrintUnformatted(o);

	T_EQ_STR(s, "{\"active\":false}", "inactive is exactly {\"active\": false}");
	cJSON_free(s);
	cJSON_Delete(o);
}

static void
test_active(void)
{
	struct config cfg;
	struct introspect_row row;
	cJSON *ctx, *o;
	const cJSON *fc;
	long long n;
	int b;

	memset(&cfg, 0, sizeof(cfg));
	cfg.fhir_base = "https://ehr.example/fhir";
	ctx = cJSON_Parse("{\"patient\": \"pt-1\", \"encounter\": \"enc-1\", "
	    "\"fhirContext\": [{\"reference\": \"DocumentReference/d1\"}, 7], "
	    "\"fhirUser\": \"Patient/pt-1\", \"need_patient_banner\": true}");
	memset(&row, 0, sizeof(row));
	row.access = 1;
	row.client_id = "app";
	row.user_id = "alice";
	row.scope = "openid fhirUser patient/*.rs";
	row.launch_context = ctx;
	row.iat = 1700000000;
	row.exp = 1700003600;
	o = introspect_active(&cfg, &row);
	T_OK(o != NULL && json_get_bool(o, "active", &b) == 0 && b == 1, "active true");
	T_EQ_STR(json_get_str(o, "scope"), row.scope, "scope");
	T_EQ_STR(json_get_str(o, "client_id"), "app", "client_id");
	T_EQ_STR(json_get_str(o, "sub"), "alice", "sub is the user (as in the id_token)");
	T_EQ_STR(json_get_str(o, "iss"), cfg.fhir_base, "iss is the FHIR base (as in the id_token)");
	T_EQ_STR(json_get_str(o, "aud"), cfg.fhir_base, "aud");
	T_EQ_STR(json_get_str(o, "token_type"), "Bearer", "token_type");
	T_OK(json_get_int(o, "exp", &n) == 0 && n == 1700003600, "exp");
	T_OK(json_get_int(o, "iat", &n) == 0 && n == 1700000000, "iat");
	T_EQ_STR(json_get_str(o, "patient"), "pt-1", "patient");
	T_EQ_STR(json_get_str(o, "encounter"), "enc-1", "encounter");
	T_EQ_STR(json_get_str(o, "fhirUser"), "https://ehr.example/fhir/Patient/pt-1",
	    "fhirUser absolute");
	fc = json_get_arr(o, "fhirContext");
	T_OK(fc != NULL && cJSON_GetArraySize(fc) == 1, "fhirContext keeps only objects");
	T_OK(cJSON_GetObjectItem(o, "need_patient_banner") == NULL, "no response-only members");
	cJSON_Delete(o);

	/* A backend token: sub is the client, no context. */
	row.user_id = NULL;
	row.launch_context = NULL;
	row.scope = "system/*.rs";
	o = introspect_active(&cfg, &row);
	T_EQ_STR(json_get_str(o, "sub"), "app", "backend token: sub is the client");
	T_OK(cJSON_GetObjectItem(o, "patient") == NULL && cJSON_GetObjectItem(o, "fhirUser") == NULL &&
	    cJSON_GetObjectItem(o, "fhirContext") == NULL, "backend token: no launch context");
	cJSON_Delete(o);

	/* A refresh token. */
	row.access = 0;
	o = introspect_active(&cfg, &row);
	T_EQ_STR(json_get_str(o, "token_type"), "refresh_token", "refresh token type");
	cJSON_Delete(o);

	/* A stored fhirUser that is no reference is left out. */
	cJSON_Delete(ctx);
	ctx = cJSON_Parse("{\"fhirUser\": \"javascript:alert(1)\", \"patient\": 5}");
	row.launch_context = ctx;
	o = introspect_active(&cfg, &row);
	T_OK(cJSON_GetObjectItem(o, "fhirUser") == NULL, "bad fhirUser left out");
	T_OK(cJSON_GetObjectItem(o, "patient") == NULL, "non-string patient left out");
	cJSON_Delete(o);
	cJSON_Delete(ctx);
}

/* The memo of secret-authenticated callers. */
static void
test_memo(void)
{
	static const char basic[] = "Basic aW4tYXBwOnNlY3JldA==";
	static const char other[] = "Basic aW4tYXBwOnNlY3JldB==";
	struct introspect_caller in = { "in-app", 1 }, out;
	time_t now = 1700000000;
	long long v = -1;
	char name[64];
	int i;

	memset(&out, 0, sizeof(out));
	T_OK(!introspect_memo_get(basic, strlen(basic), now, &out, &v), "empty memo: miss");
	T_OK(!introspect_memo_get(NULL, 0, now, &out, &v), "no credential: miss");
	introspect_memo_put(basic, strlen(basic), now, &in, 7);
	T_OK(introspect_memo_get(basic, strlen(basic), now + 1, &out, &v) &&
	    strcmp(out.client_id, "in-app") == 0 && out.any_client == 1 && v == 7,
	    "hit returns the caller and the version");
	T_OK(!introspect_memo_get(other, strlen(other), now + 1, &out, &v),
	    "another secret (one byte differs): miss");
	T_OK(!introspect_memo_get(basic, strlen(basic) - 1, now + 1, &out, &v),
	    "a prefix of the credential: miss");
	T_OK(!introspect_memo_get(basic, strlen(basic), now + INTROSPECT_MEMO_TTL, &out, &v),
	    "expired after the TTL");
	T_OK(!introspect_memo_get(basic, strlen(basic), now + 1, &out, &v),
	    "an expired entry is gone");
	introspect_memo_put(basic, strlen(basic), now, &in, 7);
	T_OK(!introspect_memo_get(basic, strlen(basic), now - 10, &out, &v),
	    "a clock that went back: miss");
	introspect_memo_put(basic, strlen(basic), now, &in, 7);
	introspect_memo_forget(basic, strlen(basic));
	T_OK(!introspect_memo_get(basic, strlen(basic), now, &out, &v), "forgotten: miss");
	introspect_memo_put(basic, strlen(basic), now, &in, -1);
	T_OK(!introspect_memo_get(basic, strlen(basic), now, &out, &v),
	    "an unknown version is never remembered");
	/* More callers than slots: the memo stays bounded and the newest hit. */
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "Basic caller-%d", i);
		introspect_memo_put(name, strlen(name), now, &in, i);
	}
	T_OK(introspect_memo_get(name, strlen(name), now, &out, &v) && v == 19,
	    "newest of many callers remembered");
	snprintf(name, sizeof(name), "Basic caller-%d", 0);
	T_OK(!introspect_memo_get(name, strlen(name), now, &out, &v), "oldest evicted");
}

int
main(void)
{
	log_set_level(LOGL_ERROR);
	test_scope_grants();
	test_inactive();
	test_active();
	test_memo();
	return t_done();
}
