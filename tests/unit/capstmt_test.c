/*
 * capstmt_test: the CapabilityStatement (lib/capstmt) against the SMART
 * discovery document (lib/wellknown) built from the same configuration:
 * the oauth-uris extension must name exactly the endpoints discovery
 * names (introspect and revoke only when advertised), the security
 * service must be SMART-on-FHIR, and the resource list must hold the
 * types of the search parameters and of the data, once each, with their
 * search parameters, includes and revincludes.  No database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capstmt.h"
#include "json.h"
#include "supported.h"
#include "t.h"
#include "wellknown.h"

/* The valueUri of the oauth-uris member named name, or NULL. */
static const char *
oauth_uri(const cJSON *cs, const char *name)
{
	const cJSON *rest = cJSON_GetArrayItem(json_get_arr(cs, "rest"), 0);
	const cJSON *sec = json_get_obj(rest, "security"), *e, *x;

	cJSON_ArrayForEach(e, json_get_arr(sec, "extension")) {
		const char *url = json_get_str(e, "url");

		if (url == NULL || strcmp(url, CAPSTMT_OAUTH_URIS) != 0)
			continue;
		cJSON_ArrayForEach(x, json_get_arr(e, "extension"))
			if (json_get_str(x, "url") != NULL && strcmp(json_get_str(x, "url"), name) == 0)
				return json_get_str(x, "valueUri");
	}
	return NULL;
}

static const cJSON *
resource(const cJSON *cs, const char *type, int *count)
{
	const cJSON *rest = cJSON_GetArrayItem(json_get_arr(cs, "rest"), 0), *r, *found = NULL;

	*count = 0;
	cJSON_ArrayForEach(r, json_get_arr(rest, "resource"))
		if (json_get_str(r, "type") != NULL && strcmp(json_get_str(r, "type"), type) == 0) {
			found = r;
			(*count)++;
		}
	return found;
}

static int
has_string(const cJSON *arr, const char *s)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, arr)
		if (cJSON_IsString(e) && strcmp(e->valuestring, s) == 0)
			return 1;
	return 0;
}

static int
has_param(const cJSON *res, const char *name, const char *type)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, json_get_arr(res, "searchParam"))
		if (strcmp(json_get_str(p, "name"), name) == 0 && strcmp(json_get_str(p, "type"), type) == 0)
			return 1;
	return 0;
}

int
main(void)
{
	struct config cfg;
	struct fs_registry *reg = fs_registry_new();
	const char *data[] = { "Patient", "Organization", "Observation", "Patient" };
	cJSON *cs, *wk;
	const cJSON *rest, *svc, *res;
	int n;

	memset(&cfg, 0, sizeof(cfg));
	cfg.fhir_base = (char *)(unsigned long)"https://ehr.example/smart/fhir";
	cfg.auth_base = (char *)(unsigned long)"https://ehr.example/smart/auth";
	fs_registry_add(reg, "Resource", "_id", "token", "[\"$.id\"]", NULL);
	fs_registry_add(reg, "Observation", "patient", "reference", "[\"$.subject\"]", "Patient");
	fs_registry_add(reg, "Observation", "category", "token", "[\"$.category[*]\"]", NULL);
	fs_registry_add(reg, "Observation", "value-quantity", "quantity", "[\"$.valueQuantity\"]", NULL);
	fs_registry_add(reg, "Condition", "subject", "reference", "[\"$.subject\"]", NULL);
	fs_registry_add(reg, "Patient", "birthdate", "date", "[\"$.birthDate\"]", NULL);

	cs = capstmt_new(&cfg, reg, data, 4, "2025-01-01T00:00:00Z");
	wk = wellknown_smart(&cfg);
	T_OK(cs != NULL && wk != NULL, "built");
	T_EQ_STR(json_get_str(cs, "resourceType"), "CapabilityStatement", "resourceType");
	T_EQ_STR(json_get_str(cs, "fhirVersion"), "4.0.1", "fhirVersion 4.0.1");
	T_OK(has_string(json_get_arr(cs, "format"), "json"), "format json");
	T_EQ_STR(json_get_str(cs, "kind"), "instance", "kind");

	/* oauth-uris equal discovery, exactly. */
	T_EQ_STR(oauth_uri(cs, "authorize"), json_get_str(wk, "authorization_endpoint"),
	    "authorize = authorization_endpoint");
	T_EQ_STR(oauth_uri(cs, "token"), json_get_str(wk, "token_endpoint"), "token = token_endpoint");
	T_EQ_STR(oauth_uri(cs, "authorize"), "https://ehr.example/smart/auth/authorize", "authorize URL");
	T_EQ_STR(oauth_uri(cs, "introspect"), json_get_str(wk, "introspection_endpoint"),
	    "introspect present exactly when discovery has it");
	T_EQ_STR(oauth_uri(cs, "revoke"), json_get_str(wk, "revocation_endpoint"),
	    "revoke present exactly when discovery has it");
	T_OK((oauth_uri(cs, "introspect") != NULL) == (supported_introspection != 0),
	    "introspect follows supported_introspection");
	T_OK((oauth_uri(cs, "revoke") != NULL) == (supported_revocation != 0),
	    "revoke follows supported_revocation");

	rest = cJSON_GetArrayItem(json_get_arr(cs, "rest"), 0);
	T_EQ_STR(json_get_str(rest, "mode"), "server", "rest.mode");
	svc = cJSON_GetArrayItem(json_get_arr(json_get_obj(rest, "security"), "service"), 0);
	svc = cJSON_GetArrayItem(json_get_arr(svc, "coding"), 0);
	T_EQ_STR(json_get_str(svc, "system"), "http://terminology.hl7.org/CodeSystem/restful-security-service",
	    "service system");
	T_EQ_STR(json_get_str(svc, "code"), "SMART-on-FHIR", "service code");

	res = resource(cs, "Patient", &n);
	T_EQ_INT(n, 1, "Patient listed once (search params and data)");
	T_OK(has_param(res, "birthdate", "date") && has_param(res, "_id", "token"),
	    "Patient parameters incl. Resource-level _id");
	T_OK(has_string(json_get_arr(res, "searchRevInclude"), "Observation:patient") &&
	    has_string(json_get_arr(res, "searchRevInclude"), "Condition:subject"),
	    "Patient revincludes");
	res = resource(cs, "Observation", &n);
	T_EQ_INT(n, 1, "Observation listed once");
	T_OK(has_param(res, "category", "token") && has_param(res, "patient", "reference"),
	    "Observation parameters");
	T_OK(!has_param(res, "value-quantity", "quantity"), "unsupported quantity not advertised");
	T_OK(has_string(json_get_arr(res, "searchInclude"), "Observation:patient"), "Observation include");
	T_OK(!has_string(json_get_arr(res, "searchRevInclude"), "Observation:patient"),
	    "patient parameter targets Patient only");
	res = resource(cs, "Organization", &n);
	T_EQ_INT(n, 1, "a type with data only is listed");
	resource(cs, "Resource", &n);
	T_EQ_INT(n, 0, "the Resource pseudo-type is not listed");
	res = cJSON_GetArrayItem(json_get_arr(rest, "interaction"), 1);
	T_EQ_STR(json_get_str(res, "code"), "transaction", "transaction interaction");

	cJSON_Delete(cs);
	cJSON_Delete(wk);
	fs_registry_free(reg);
	return t_done();
}
