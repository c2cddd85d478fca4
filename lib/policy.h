/*
 * policy: AccessPolicy resources and their evaluation, Aidbox-compatible
 * (reference/matcho.md; DESIGN §4 step 3).
 *
 * A policy has an engine (allow, matcho, complex), an optional binding
 * (link to Clients/Users, or roleName), and is evaluated against the
 * request object built by policy_request_new.  A policy_set answers the
 * one question the gateway asks: does ANY applicable policy allow this
 * request?  Default deny.
 *
 * Owns: the parsed policies and a private copy of each rule.  Never:
 * reads the database (the caller loads AccessPolicy rows and roles),
 * writes the audit table (the caller audits denials), or evaluates SMART
 * scopes (lib/scope does; both must allow).
 */
#ifndef SMARTAUTH_POLICY_H
#define SMARTAUTH_POLICY_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* complex rules nested deeper than this are refused. */
#define POLICY_MAX_NESTING	16
/* Request-object limits for policy_request_new. */
#define POLICY_QUERY_MAX	32768
#define POLICY_PARAMS_MAX	256

enum policy_engine {
	POLICY_ALLOW = 1,
	POLICY_MATCHO,
	POLICY_COMPLEX
};

struct policy_link {
	char	*resource_type;		/* "Client" or "User" */
	char	*id;
};

struct policy {
	char			*id;
	enum policy_engine	 engine;
	cJSON			*rule;		/* owned copy of the resource */
	char			*role_name;	/* NULL when not role-bound */
	struct policy_link	*links;		/* none when not link-bound */
	size_t			 nlinks;
};

/*
 * Parses and validates an AccessPolicy resource: id, engine (allow,
 * matcho, complex; anything else refused), the engine's keys and nothing
 * from another engine, a valid matcho pattern, roleName, link entries
 * naming a Client or User.  Returns an owned policy (policy_free), or NULL
 * with the reason in why (may be NULL) and logged.
 */
struct policy	*policy_parse(const cJSON *resource, char *why, size_t whysz);
void		 policy_free(struct policy *p);

/*
 * Link binding only: 1 when p has no link, or a link names the Client
 * client_id or the User user_id (NULL ids never match); else 0.
 */
int		 policy_applies(const struct policy *p, const char *client_id,
		    const char *user_id);

/*
 * Evaluates p's rule against request (its "role" member, if any, is what
 * roleName policies see).  Returns 1 (allows), 0 (does not), -1 (rule
 * error, logged with the policy id: callers treat it as 0).
 */
int		 policy_eval(const struct policy *p, const cJSON *request);

struct policy_set;

struct policy_set	*policy_set_new(void);
void			 policy_set_free(struct policy_set *set);
/* Adds p, taking ownership even on failure.  0, or -1 (out of memory). */
int			 policy_set_add(struct policy_set *set, struct policy *p);
size_t			 policy_set_count(const struct policy_set *set);
/*
 * Parses a JSON array of AccessPolicy resources into a new set.  Strict:
 * any invalid policy refuses the whole array (why names it).  NULL on
 * error, logged.
 */
struct policy_set	*policy_set_parse(const cJSON *resources, char *why,
			    size_t whysz);

/*
 * Is request allowed?  A linked policy applies when a link names
 * client_id or user_id; a roleName policy is evaluated once per element
 * of roles (the user's Role resources) whose "name" equals it (and whose
 * "user", if stated, is user_id), with a copy of that Role set as
 * request["role"] meanwhile; a policy with neither applies always.
 * Returns 1 when any applicable policy evaluates true (*matched_policy_id,
 * if given, borrows its id), 0 otherwise (default deny), -1 on bad
 * arguments or out of memory (deny).  request is restored on return: a
 * "role" it carried is hidden while policies run, then put back (a second,
 * duplicate "role" member is dropped).
 */
int			 policy_set_allows(const struct policy_set *set,
			    cJSON *request, const cJSON *roles,
			    const char *client_id, const char *user_id,
			    const char **matched_policy_id);

/* What the gateway knows about a request besides its line. */
struct policy_request_info {
	const char	*resource_type;	/* route: params["resource/type"] */
	const char	*resource_id;	/* route: params["resource/id"] and ["id"] */
	const cJSON	*route_params;	/* more route params (object), or NULL */
	const cJSON	*body;		/* parsed JSON body, or NULL */
	const cJSON	*user;		/* User resource, or NULL */
	const cJSON	*client;	/* Client resource, or NULL */
	const cJSON	*jwt;		/* access-token claims, or NULL */
	const char	*scheme;	/* "http" or "https" */
	const char	*remote_addr;
	/*
	 * 1: body, user, client and jwt are referenced rather than copied
	 * (a user or client holding a member that must be dropped is still
	 * copied), so they must outlive the request object; 0: copies.
	 */
	int		 borrow;
};

/*
 * Builds the request object of reference/matcho.md: uri (without query),
 * request-method (lower case), params (query parameters, decoded once,
 * '+' as space, a repeated one becoming an array, then overridden by the
 * route parameters so a query string can never fake "id"), query-string,
 * body, user, client, jwt (copies, or references with info->borrow;
 * top-level password, password_hash, secret and client_secret members
 * are dropped either way), scheme, remote-addr.
 * info may be NULL.  Returns an owned object, or NULL (malformed or
 * oversized query, NUL in a parameter, bad method, out of memory), logged.
 */
cJSON		*policy_request_new(const char *uri, const char *method,
		    const char *query_string, const struct policy_request_info *info);

#endif
