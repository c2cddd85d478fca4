/*
 * gateway_auth_test: the SMART scope "lanes" of the gateway
 * (lib/gateway_auth): which scopes grant which interaction, v1 and v2,
 * v2 query constraints as OR-ed groups, patient/ compartments, backend
 * tokens.  Adversarial rows: user/ scopes on a backend token, patient/
 * scopes without (or with a malformed) launch patient, constraints on
 * parameters a type lacks, unknown constraint parameters, write-only v1
 * scopes asked to read.  Only tokens without user/ lanes are used, so no
 * database is needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_int.h"
#include "log.h"
#include "t.h"

#define LAB "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"

static struct fs_registry *
reg_new(void)
{
	struct fs_registry *reg = fs_registry_new();

	fs_registry_add(reg, "Resource", "_id", "token", "[\"$.id\"]", NULL);
	fs_registry_add(reg, "Observation", "patient", "reference", "[\"$.subject\"]", "Patient");
	fs_registry_add(reg, "Observation", "category", "token", "[\"$.category[*]\"]", NULL);
	fs_registry_add(reg, "Observation", "code", "token", "[\"$.code\"]", NULL);
	fs_registry_add(reg, "Patient", "gender", "token", "[\"$.gender\"]", NULL);
	return reg;
}

static const struct {
	const char	*scope;
	const char	*user;		/* NULL: backend token */
	const char	*patient;	/* launch context patient */
	const char	*type;
	unsigned	 perm;
	int		 allowed;
	int		 confined;	/* lane confined to the launch patient */
	int		 groups;	/* constraint groups, -1: unconstrained */
	const char	*in_filter;	/* substring of the filter */
} rows[] = {
	{ "system/Observation.rs", NULL, NULL, "Observation", SCOPE_R, 1, 0, -1, NULL },
	{ "system/Observation.rs", NULL, NULL, "Observation", SCOPE_S, 1, 0, -1, NULL },
	{ "system/Observation.rs", NULL, NULL, "Observation", SCOPE_C, 0, 0, 0, NULL },
	{ "system/Observation.rs", NULL, NULL, "Patient", SCOPE_R, 0, 0, 0, NULL },
	{ "system/*.read", NULL, NULL, "Patient", SCOPE_S, 1, 0, -1, NULL },
	{ "system/*.read", NULL, NULL, "Patient", SCOPE_U, 0, 0, 0, NULL },
	{ "user/*.rs", NULL, NULL, "Patient", SCOPE_R, 0, 0, 0, NULL },
	{ "patient/*.rs", NULL, NULL, "Patient", SCOPE_R, 0, 0, 0, NULL },
	{ "patient/*.rs", "alice", NULL, "Patient", SCOPE_R, 0, 0, 0, NULL },
	{ "patient/*.rs", "alice", "../pt-2", "Patient", SCOPE_R, 0, 0, 0, NULL },
	{ "patient/*.rs", "alice", "pt-1", "Patient", SCOPE_R, 1, 1, -1, NULL },
	{ "patient/*.rs", "alice", "pt-1", "Observation", SCOPE_S, 1, 1, -1, NULL },
	{ "patient/*.rs", "alice", "pt-1", "Observation", SCOPE_D, 0, 0, 0, NULL },
	{ "patient/Observation.read", "alice", "pt-1", "Observation", SCOPE_R, 1, 1, -1, NULL },
	{ "patient/Observation.read", "alice", "pt-1", "Observation", SCOPE_S, 1, 1, -1, NULL },
	{ "patient/Observation.read", "alice", "pt-1", "Observation", SCOPE_C, 0, 0, 0, NULL },
	{ "patient/Observation.write", "alice", "pt-1", "Observation", SCOPE_R, 0, 0, 0, NULL },
	{ "patient/Observation.write", "alice", "pt-1", "Observation", SCOPE_C, 1, 1, -1, NULL },
	{ "patient/Observation.write", "alice", "pt-1", "Observation", SCOPE_U, 1, 1, -1, NULL },
	{ "patient/Observation.write", "alice", "pt-1", "Observation", SCOPE_D, 1, 1, -1, NULL },
	{ "patient/Observation.*", "alice", "pt-1", "Observation", SCOPE_S, 1, 1, -1, NULL },
	{ "patient/Observation.r patient/Observation.s", "alice", "pt-1", "Observation", SCOPE_S,
	  1, 1, -1, NULL },
	{ "patient/Observation.rs?category=" LAB, "alice", "pt-1", "Observation", SCOPE_R, 1, 1, 1,
	  "\"c\":\"laboratory\"" },
	{ "patient/Observation.rs?category=" LAB " patient/Observation.rs?category=vital-signs",
	  "alice", "pt-1", "Observation", SCOPE_S, 1, 1, 2, "vital-signs" },
	{ "patient/Observation.rs?category=" LAB " patient/Observation.rs", "alice", "pt-1",
	  "Observation", SCOPE_S, 1, 1, -1, NULL },
	{ "patient/Observation.rs?category=laboratory&code=2339-0", "alice", "pt-1", "Observation",
	  SCOPE_R, 1, 1, 1, "2339-0" },
	{ "patient/Observation.rs?nosuch=1", "alice", "pt-1", "Observation", SCOPE_R, 0, 0, 0, NULL },
	{ "patient/Observation.rs?category=x", "alice", "pt-1", "Patient", SCOPE_R, 0, 0, 0, NULL },
	{ "patient/*.rs?category=x", "alice", "pt-1", "Patient", SCOPE_R, 0, 0, 0, NULL },
	{ "patient/*.rs?category=x", "alice", "pt-1", "Observation", SCOPE_R, 1, 1, 1, "\"c\":\"x\"" },
	{ "patient/Observation.rs?_count=1", "alice", "pt-1", "Observation", SCOPE_S, 0, 0, 0, NULL },
	{ "patient/Observation.dus", "alice", "pt-1", "Observation", SCOPE_D, 0, 0, 0, NULL },
	{ "openid fhirUser launch/patient", "alice", "pt-1", "Patient", SCOPE_R, 0, 0, 0, NULL },
	{ "", "alice", "pt-1", "Patient", SCOPE_R, 0, 0, 0, NULL },
};

int
main(void)
{
	struct fs_registry *reg = reg_new();
	struct gw_principal pr;
	struct gw_lane lane;
	struct bearer *b;
	const char *why;
	char name[300];
	FILE *null = fopen("/dev/null", "w");
	size_t i;
	int rc;

	log_set_stream(null);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		b = calloc(1, sizeof(*b));
		b->client_id = strdup("app");
		b->user_id = rows[i].user != NULL ? strdup(rows[i].user) : NULL;
		b->scope = strdup(rows[i].scope);
		b->launch_context = cJSON_CreateObject();
		if (rows[i].patient != NULL)
			cJSON_AddStringToObject(b->launch_context, "patient", rows[i].patient);
		snprintf(name, sizeof(name), "[%s] %s %s perm %u", rows[i].scope,
		    rows[i].user ? rows[i].user : "backend", rows[i].type, rows[i].perm);
		if (gw_principal_new(b, &pr) != 0) {
			T_OK(0, name);
			continue;
		}
		rc = gw_lane_for(reg, &pr, rows[i].type, rows[i].perm, &lane, &why);
		T_EQ_INT(rc, rows[i].allowed ? 0 : 1, name);
		if (rc == 0) {
			T_EQ_INT(lane.one != NULL, rows[i].confined, name);
			T_EQ_INT(lane.confined, rows[i].confined, name);
			if (rows[i].confined)
				T_OK(gw_lane_sees(&lane, rows[i].patient) && !gw_lane_sees(&lane, "pt-2") &&
				    !gw_lane_sees(&lane, NULL), name);
			else
				T_OK(gw_lane_sees(&lane, NULL) && gw_lane_sees(&lane, "pt-2"), name);
			T_EQ_INT(lane.clause != NULL ? cJSON_GetArraySize(lane.clause) : -1,
			    rows[i].groups, name);
			T_OK((lane.filter != NULL) == (rows[i].groups > 0), name);
			if (rows[i].in_filter != NULL)
				T_OK(lane.filter != NULL && strstr(lane.filter, rows[i].in_filter) != NULL, name);
			gw_lane_clear(&lane);
		}
		gw_principal_clear(&pr);
	}
	fs_registry_free(reg);
	log_set_stream(NULL);
	if (null != NULL)
		fclose(null);
	return t_done();
}
