/*
 * policydb: the AccessPolicy decision of a request, with its inputs read
 * from the database (DESIGN §4 step 3, reference/matcho.md).
 *
 * lib/policy evaluates policies but never reads the database; this module
 * feeds it.  It loads smart.access_policies into a policy_set, a user's
 * smart.roles rows as Role resources, the User resource (without password)
 * and the Client resource (without secret), and keeps them in a
 * per-process cache that is dropped whenever smart.config_version changes
 * (smart.put and smart.delete bump it in the same transaction as the
 * change).  policydb_check polls that version once per call (or uses the
 * poll its program batched at the start of the request), so a policy
 * change is seen by the next request on every node.
 *
 * Paths: policies see the request path relative to the mount prefix
 * (DESIGN "Mount prefix": config fhir_path minus its last segment, "/fhir"
 * -> "", "/smart/fhir" -> "/smart"), after normalisation: percent-escapes
 * decoded once, "//" and "." segments collapsed, ".." resolved (never
 * above the root), and an encoded '/' or '\', a raw '\', control bytes or
 * NUL refused.  So "/smart/%72pc", "/smart//rpc" and "/smart/x/../rpc" are
 * all "/rpc", and "/smart/fhir/Patient%2Fpt-2" is refused: an unanchored
 * "#/fhir/..." regex cannot be fooled by spelling.  Normalising is
 * idempotent (a normalised path holds no '%'), so a program that routes on
 * the path must route on the same normalised path and may pass either
 * form here.
 *
 * Owns the cache (policies, roles, users, clients).  Denials are audited
 * here (event "denied"); allows are not.  Never logs bodies, query
 * strings or tokens; never writes anything but the audit row.
 */
#ifndef SMARTAUTH_POLICYDB_H
#define SMARTAUTH_POLICYDB_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "policy.h"

/* Longest request path accepted, in bytes (before decoding). */
#define POLICYDB_PATH_MAX	8192

/*
 * Owned normalised form of a raw request path (REQUEST_URI without its
 * query): see the header comment.  NULL when refused, with *why (static)
 * when why is not NULL, or out of memory (*why "out of memory").
 */
char		*policydb_path_normalize(const char *raw, const char **why);

/*
 * Owned mount prefix for fhir_path: fhir_path without its last segment
 * and without a trailing '/' ("/fhir" -> "", "/smart/fhir" -> "/smart",
 * "/" or "" -> "").  NULL when out of memory.
 */
char		*policydb_mount_prefix(const char *fhir_path);

/*
 * Owned path relative to the mount prefix of fhir_path: raw is normalised
 * first, then the prefix is removed ("/smart/rpc" -> "/rpc"; the prefix
 * itself -> "/").  NULL when the path is refused or lies outside the
 * prefix ("/smartx/rpc" under "/smart"), with *why set.
 */
char		*policydb_relative_path(const char *fhir_path, const char *raw,
		    const char **why);

/*
 * Polls smart.config_version and reloads the policies when it changed
 * (or on first use), dropping the cached roles, users and clients.
 * Policies that fail policy_parse are skipped with a warning (skipping
 * can only narrow access).  0, or -1 on a database failure (logged;
 * db_unavailable() tells 503).
 */
int		 policydb_sync(void);

/*
 * The version poll batched with a program's other statements (one round
 * trip per request, db_exec_batch): policydb_request_begin at the start
 * of each request, policydb_sync_stmt into the batch, and its result
 * (borrowed; NULL when the batch failed) to policydb_sync_result, which
 * reloads like policydb_sync.  After a successful policydb_sync_result,
 * policydb_sync and policydb_check use that poll until the next
 * policydb_request_begin, so the whole request sees one configuration;
 * without it, every call polls.  0, or -1 (logged).
 *
 * A statement of the program's own may carry the poll as a column instead
 * (POLICYDB_VERSION_EXPR, NULL when there is no version row) and hand the
 * result to policydb_sync_result_at with that column's number.
 */
void		 policydb_request_begin(void);
void		 policydb_sync_stmt(struct db_stmt *s);
int		 policydb_sync_result(PGresult *res);
int		 policydb_sync_result_at(PGresult *res, int col);

#define POLICYDB_VERSION_EXPR \
	"(SELECT version FROM smart.config_version WHERE id = 1)"

/* Borrowed policy set as of the last successful policydb_sync (NULL before). */
const struct policy_set *policydb_policies(void);

/*
 * Owned JSON array of the user's Role resources ({resourceType "Role",
 * id, name, user {id, resourceType}, links} over the stored resource);
 * [] when none.  NULL on a database failure or out of memory.
 */
cJSON		*policydb_roles_load(const char *user_id);

/*
 * Owned User resource (resourceType, id, stored members; never the
 * password hash) of an active user.  NULL with *missing = 1 when the user
 * does not exist or is inactive; NULL with *missing = 0 on failure.
 */
cJSON		*policydb_user_load(const char *user_id, int *missing);

/* Same for an active Client (never the secret). */
cJSON		*policydb_client_load(const char *client_id, int *missing);

/* A request to decide, as the program knows it. */
struct policydb_request {
	const char	*path;		/* raw request path, REQUEST_URI without query */
	const char	*method;	/* "POST", ... */
	const char	*query;		/* raw query string, or NULL */
	const cJSON	*body;		/* parsed JSON body, or NULL */
	const char	*client_id;	/* calling client, or NULL */
	const char	*user_id;	/* acting user, or NULL */
	const cJSON	*jwt;		/* access-token claims, or NULL */
	const char	*resource_type;	/* gateway route params, or NULL */
	const char	*resource_id;
	const cJSON	*route_params;
	const char	*scheme;	/* "http" / "https" */
	const char	*remote_addr;
};

enum policydb_outcome {
	POLICYDB_DENY = 0,	/* no policy allows it: 403 (audited) */
	POLICYDB_ALLOW,		/* decision->policy_id names the policy */
	POLICYDB_BAD_PATH,	/* path refused by normalisation or outside the mount (audited) */
	POLICYDB_UNAVAILABLE,	/* database down: 503 */
	POLICYDB_ERROR		/* out of memory, statement error: 500 */
};

struct policydb_decision {
	char		 policy_id[128];	/* allowing policy ("" otherwise) */
	char		 uri[256];		/* relative path evaluated (truncated) */
	const char	*why;			/* static reason when not allowed */
};

/*
 * Decides q: syncs the cache, normalises the path relative to the mount
 * prefix of fhir_path, loads the client resource (client_id), the user
 * resource and Roles (user_id) — an unknown or inactive client or user
 * counts as absent — builds the request object (policy_request_new) and
 * asks policy_set_allows.  Denials and refused paths are audited as
 * event "denied" with the uri and method.  d may be NULL.
 */
enum policydb_outcome policydb_check(const char *fhir_path,
		    const struct policydb_request *q, struct policydb_decision *d);

/* Drops the cache (tests, shutdown). */
void		 policydb_reset(void);

#endif
