/*
 * gateway_int: what the lib/gateway*.c files share and nothing else
 * includes.  The pieces:
 *
 *   gateway.c         the request: CORS, routing, token, dispatch, reply
 *   gateway_auth.c    who is asking and what they may do: the principal
 *                     (token, scopes, launch patient, the user's own
 *                     patients), the SMART scope "lane" of an interaction,
 *                     compartments, and the AccessPolicy decision
 *   gateway_ops.c     the interactions on the built-in store, each
 *                     authorised on its own (read, vread, history, search
 *                     with _include/_revinclude, create, update, delete)
 *   gateway_bundle.c  batch and transaction bundles, entry by entry
 *
 * Interactions write a struct gw_out rather than an HTTP response, so a
 * bundle entry and a plain request share every line of authorisation.
 */
#ifndef SMARTAUTH_GATEWAY_INT_H
#define SMARTAUTH_GATEWAY_INT_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "bearer.h"
#include "buf.h"
#include "config.h"
#include "fhirsearch.h"
#include "form.h"
#include "gateway_path.h"
#include "jwk.h"
#include "scope.h"
#include "store.h"

/* Most entries in one batch or transaction bundle. */
#define GW_BUNDLE_MAX		100
/* How often the search parameter registry is re-read, in seconds. */
#define GW_REGISTRY_TTL		60

struct gateway {
	const struct config	*cfg;
	struct jwk_set		*keys;		/* public halves only */
	struct fs_registry	*reg;		/* NULL until the database answered */
	time_t			 reg_at;
	char			*cap;		/* CapabilityStatement JSON, NULL until built */
	char			 cap_etag[40];
};

/* The caller: a verified token and what follows from it. */
struct gw_principal {
	struct bearer		*tok;		/* owned */
	struct scope_set	*scopes;	/* owned */
	const char		*client_id;	/* borrowed from tok */
	const char		*user_id;	/* NULL: backend token */
	char			*launch_patient; /* launch context patient, NULL when none */
	char			**upat;		/* the user's own patients (patient users) */
	size_t			 nupat;
	int			 upat_loaded;
	int			 patient_user;	/* fhirUser Patient/x or a "patient" Role */
};

/* How one interaction is allowed (SMART 2.2 §scopes). */
struct gw_lane {
	enum scope_context	 ctx;
	/*
	 * Compartment: when confined, only resources of these patients (maybe
	 * none at all) are visible; unconfined lanes see every resource.
	 */
	int			 confined;
	const char *const	*pats;
	size_t			 npats;
	const char		*one;		/* launch-patient lanes: the patient */
	cJSON			*clause;	/* owned constraint clause, NULL = none */
	char			*filter;	/* owned JSON text of [clause], NULL = none */
};

/* One interaction, from the HTTP request or from a bundle entry. */
struct gw_call {
	const char		*method;	/* "GET", "HEAD", "POST", "PUT", "DELETE" */
	struct gw_route		 rt;
	char			*path;		/* owned raw path, for policies */
	const char		*query;		/* raw query string for policies ("" none) */
	struct form		*params;	/* decoded search parameters */
	const cJSON		*body;		/* parsed resource (create, update) */
	const char		*body_text;	/* its text as received; NULL: print body */
	const char		*if_match;
	const char		*if_none_match;
	int			 lenient;	/* Prefer: handling=lenient */
	int			 minimal;	/* Prefer: return=minimal */
	int			 in_tx;		/* inside a transaction bundle */
	const char		*assign_id;	/* transaction: the id of a create */
	PGresult		*pre_read;	/* plain read: the resource, unfiltered, fetched
						 * with the token (borrowed; NULL: read it) */
	int			 pre_col;	/* its first column (STORE_READ_COLUMNS) */
};

/* The outcome of one interaction. */
struct gw_out {
	int			 status;
	struct buf		 body;		/* JSON text, or empty */
	int			 is_outcome;	/* body is an OperationOutcome */
	const char		*bearer_error;	/* "invalid_token" / "insufficient_scope" */
	int			 retry_after;	/* 503 */
	char			 etag[32];
	char			 location[700];
	char			 last_modified[40];
	char			 version[24];
	long long		 updated;	/* lastUpdated of a version written or read */
};

/* gateway.c */
int	gw_registry(struct gateway *g, const struct fs_registry **reg, struct gw_out *o);
int	gw_error(struct gw_out *o, int status, const char *code, const char *why);
int	gw_store_error(struct gw_out *o, enum store_status st);
/* gw_store_error for a failed database call: 503 when the database went away. */
int	gw_db_error(struct gw_out *o);
void	gw_out_init(struct gw_out *o);
void	gw_out_free(struct gw_out *o);
/* s as a JSON string (quoted), or its characters escaped without the quotes. */
int	gw_json_str(struct buf *b, const char *s);
int	gw_json_chars(struct buf *b, const char *s);
/* Opens a Bundle's JSON text up to its "type" (and "total" when >= 0). */
int	gw_bundle_open(struct buf *b, const char *type, long long total);
void	gw_http_date(long long t, char *out, size_t outsz);
void	gw_iso_date(long long t, char *out, size_t outsz);
int	gw_dispatch(struct gateway *g, struct gw_principal *pr, struct gw_call *c,
	    struct gw_out *o);

/* gateway_auth.c */
int	gw_principal_new(struct bearer *tok, struct gw_principal *pr);
void	gw_principal_clear(struct gw_principal *pr);
int	gw_user_patients(struct gw_principal *pr);
int	gw_lane_for(const struct fs_registry *reg, struct gw_principal *pr, const char *type,
	    unsigned perm, struct gw_lane *lane, const char **why);
void	gw_lane_clear(struct gw_lane *lane);
int	gw_lane_sees(const struct gw_lane *lane, const char *patient);
int	gw_authorize(struct gateway *g, struct gw_principal *pr, struct gw_call *c,
	    const struct fs_registry *reg, unsigned perm, struct gw_lane *lane,
	    struct gw_out *o);
int	gw_policy(struct gateway *g, struct gw_principal *pr, struct gw_call *c,
	    const cJSON *route_params, struct gw_out *o);
int	gw_policy_read(struct gateway *g, struct gw_principal *pr, const char *type,
	    const char *id);

/* gateway_ops.c */
int	gw_read(struct gateway *g, struct gw_principal *pr, struct gw_call *c, struct gw_out *o);
int	gw_vread(struct gateway *g, struct gw_principal *pr, struct gw_call *c, struct gw_out *o);
int	gw_history(struct gateway *g, struct gw_principal *pr, struct gw_call *c, struct gw_out *o);
int	gw_search(struct gateway *g, struct gw_principal *pr, struct gw_call *c, struct gw_out *o);
int	gw_create(struct gateway *g, struct gw_principal *pr, struct gw_call *c, struct gw_out *o);
int	gw_update(struct gateway *g, struct gw_principal *pr, struct gw_call *c, struct gw_out *o);
int	gw_delete(struct gateway *g, struct gw_principal *pr, struct gw_call *c, struct gw_out *o);

/* gateway_bundle.c */
int	gw_bundle(struct gateway *g, struct gw_principal *pr, const cJSON *bundle,
	    struct gw_out *o);

#endif
