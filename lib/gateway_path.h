/*
 * gateway_path: routing of FHIR RESTful URLs (FHIR R4 §3.1.0 "RESTful
 * API") for the gateway: which interaction a request path names.
 *
 *   [base]                          batch/transaction (POST)
 *   [base]/metadata                 capabilities
 *   [base]/Type                     search (GET), create (POST)
 *   [base]/Type/_search             search (POST, form body)
 *   [base]/Type/_history            type history (refused: not supported)
 *   [base]/Type/id                  read, update, delete
 *   [base]/Type/id/_history         instance history
 *   [base]/Type/id/_history/vid     vread
 *
 * The path is the raw request path (REQUEST_URI without its query).  It
 * must start with the mount (config fhir_path) exactly; each segment is
 * percent-decoded exactly once and then checked: types are FHIR R4
 * resource type names (^[A-Z][A-Za-z]+$ and on the R4 list, so the
 * admin types Client, User, Role and AccessPolicy are never reachable),
 * ids ^[A-Za-z0-9.-]{1,64}$, version ids decimal.  Empty segments, "."
 * and "..", encoded slashes and anything else are refused.  A single
 * trailing slash is accepted on the base only.
 *
 * Pure functions; owns nothing.
 */
#ifndef SMARTAUTH_GATEWAY_PATH_H
#define SMARTAUTH_GATEWAY_PATH_H

enum gw_route_kind {
	GW_R_BASE = 1,
	GW_R_METADATA,
	GW_R_TYPE,
	GW_R_TYPE_SEARCH,
	GW_R_TYPE_HISTORY,
	GW_R_INSTANCE,
	GW_R_HISTORY,
	GW_R_VREAD
};

struct gw_route {
	enum gw_route_kind	kind;
	char			type[72];
	char			id[72];
	long long		vid;		/* GW_R_VREAD */
};

/*
 * Parses a request path under mount.  Returns 0, or the HTTP status to
 * answer (400 malformed, 404 unknown) with *why a static explanation.
 */
int	gw_route_parse(const char *path, const char *mount, struct gw_route *rt,
	    const char **why);

/* The same for the part after the mount ("" or "/..."), or for a
 * relative URL without its leading slash when relative is set (bundle
 * entries: "Patient/pt-1"). */
int	gw_route_parse_rel(const char *rest, int relative, struct gw_route *rt,
	    const char **why);

/* 1 when type is a FHIR R4 resource type. */
int	gw_known_type(const char *type);

#endif
