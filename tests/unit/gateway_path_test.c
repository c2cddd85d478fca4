/*
 * gateway_path_test: table-driven tests of FHIR URL routing
 * (lib/gateway_path).  Adversarial rows: dot segments raw and
 * percent-encoded, encoded slashes, empty segments, NUL, bad escapes,
 * lowercase and admin types (Client, User, Role, AccessPolicy), overlong
 * ids, mount-prefix tricks, operations and version ids with signs or
 * leading zeros.  No database, no network.
 */
#include <stdio.h>
#include <string.h>

#include "gateway_path.h"
#include "t.h"

static const struct {
	const char	*path;
	const char	*mount;
	int		 status;
	enum gw_route_kind kind;
	const char	*type;
	const char	*id;
	long long	 vid;
} rows[] = {
	{ "/fhir", "/fhir", 0, GW_R_BASE, "", "", 0 },
	{ "/fhir/", "/fhir", 0, GW_R_BASE, "", "", 0 },
	{ "/fhir/metadata", "/fhir", 0, GW_R_METADATA, "", "", 0 },
	{ "/fhir/Patient", "/fhir", 0, GW_R_TYPE, "Patient", "", 0 },
	{ "/fhir/Observation/_search", "/fhir", 0, GW_R_TYPE_SEARCH, "Observation", "", 0 },
	{ "/fhir/Observation/_history", "/fhir", 0, GW_R_TYPE_HISTORY, "Observation", "", 0 },
	{ "/fhir/Patient/pt-1", "/fhir", 0, GW_R_INSTANCE, "Patient", "pt-1", 0 },
	{ "/fhir/Patient/pt-1/_history", "/fhir", 0, GW_R_HISTORY, "Patient", "pt-1", 0 },
	{ "/fhir/Patient/pt-1/_history/12", "/fhir", 0, GW_R_VREAD, "Patient", "pt-1", 12 },
	{ "/fhir/Patient/pt%2D1", "/fhir", 0, GW_R_INSTANCE, "Patient", "pt-1", 0 },
	{ "/fhir/%50atient/a.b", "/fhir", 0, GW_R_INSTANCE, "Patient", "a.b", 0 },
	{ "/smart/fhir/Patient/pt-1", "/smart/fhir", 0, GW_R_INSTANCE, "Patient", "pt-1", 0 },
	{ "/fhir/Patient/0123456789012345678901234567890123456789012345678901234567890123", "/fhir",
	  0, GW_R_INSTANCE, "Patient", "0123456789012345678901234567890123456789012345678901234567890123", 0 },
	/* adversarial */
	{ "/fhir/Patient/..", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/.", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/%2e%2e", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/%2E", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/../auth/token", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/pt-1%2F..%2Fpt-2", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient%2Fpt-2", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir//Patient", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient//pt-1", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/pt-1/", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/pt%001", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/pt%zz", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/pt%", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/pt_1", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/pt%201", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/01234567890123456789012345678901234567890123456789012345678901234", "/fhir",
	  400, 0, "", "", 0 },
	{ "/fhir/patient/pt-1", "/fhir", 404, 0, "", "", 0 },
	{ "/fhir/Client/sample-app", "/fhir", 404, 0, "", "", 0 },
	{ "/fhir/User/alice", "/fhir", 404, 0, "", "", 0 },
	{ "/fhir/Role/alice-patient", "/fhir", 404, 0, "", "", 0 },
	{ "/fhir/AccessPolicy/x", "/fhir", 404, 0, "", "", 0 },
	{ "/fhir/Foo/1", "/fhir", 404, 0, "", "", 0 },
	{ "/fhir/P/1", "/fhir", 404, 0, "", "", 0 },
	{ "/fhir/$export", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/$everything", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/pt-1/$everything", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/_foo", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/pt-1/_history/0", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/pt-1/_history/01", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/pt-1/_history/-1", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/pt-1/_history/1x", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/pt-1/_history/1234567890123456789", "/fhir", 400, 0, "", "", 0 },
	{ "/fhir/Patient/pt-1/_history/1/x", "/fhir", 404, 0, "", "", 0 },
	{ "/fhir/Patient/pt-1/x", "/fhir", 404, 0, "", "", 0 },
	{ "/fhirx/Patient", "/fhir", 404, 0, "", "", 0 },
	{ "/fhi", "/fhir", 404, 0, "", "", 0 },
	{ "/other/fhir/Patient", "/fhir", 404, 0, "", "", 0 },
	{ "/fhir/Patient", "/smart/fhir", 404, 0, "", "", 0 },
	{ "/fhir/metadata/x", "/fhir", 404, 0, "", "", 0 },
	{ "/fhir/.well-known/smart-configuration", "/fhir", 404, 0, "", "", 0 },
};

static const struct {
	const char	*rel;
	int		 status;
	enum gw_route_kind kind;
} rel_rows[] = {
	{ "Patient/pt-1", 0, GW_R_INSTANCE },
	{ "Observation", 0, GW_R_TYPE },
	{ "Patient/pt-1/_history/2", 0, GW_R_VREAD },
	{ "", 400, 0 },
	{ "../Patient/pt-1", 400, 0 },
	{ "Patient/../../auth", 400, 0 },
	{ "User/alice", 404, 0 },
};

int
main(void)
{
	struct gw_route rt;
	const char *why;
	char name[200];
	size_t i;
	int st;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		why = NULL;
		st = gw_route_parse(rows[i].path, rows[i].mount, &rt, &why);
		snprintf(name, sizeof(name), "%s under %s -> %d", rows[i].path, rows[i].mount,
		    rows[i].status);
		T_EQ_INT(st, rows[i].status, name);
		if (rows[i].status == 0 && st == 0) {
			T_EQ_INT(rt.kind, rows[i].kind, name);
			T_EQ_STR(rt.type, rows[i].type, name);
			T_EQ_STR(rt.id, rows[i].id, name);
			T_EQ_INT(rt.vid, rows[i].vid, name);
		} else if (rows[i].status != 0)
			T_OK(why != NULL && rt.type[0] == '\0', name);
	}
	for (i = 0; i < sizeof(rel_rows) / sizeof(rel_rows[0]); i++) {
		st = gw_route_parse_rel(rel_rows[i].rel, 1, &rt, &why);
		snprintf(name, sizeof(name), "relative '%s' -> %d", rel_rows[i].rel, rel_rows[i].status);
		T_EQ_INT(st, rel_rows[i].status, name);
		if (st == 0)
			T_EQ_INT(rt.kind, rel_rows[i].kind, name);
	}
	T_OK(gw_known_type("Observation") && gw_known_type("VisionPrescription") &&
	    gw_known_type("Account"), "R4 types known");
	T_OK(!gw_known_type("Client") && !gw_known_type("AccessPolicy") && !gw_known_type("") &&
	    !gw_known_type("observation"), "admin and malformed types unknown");
	return t_done();
}
