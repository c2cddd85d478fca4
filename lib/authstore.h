/*
 * authstore: the database side of the authorization endpoint.
 *
 *   - authorization requests in progress (smart.authorize_requests): the
 *     request id and CSRF token of the login, picker and consent forms are
 *     stored only as SHA-256; a request lives AUTHSTORE_REQUEST_LIFETIME
 *     seconds and is completed exactly once (code, error or denial);
 *   - EHR launch contexts (smart.launch_contexts), consumed atomically;
 *   - users (fhirUser, linked patient), the patients and encounters the
 *     pickers offer (smart.fhir_resources);
 *   - remembered consents (smart.consents);
 *   - authorization codes (smart.authorization_codes), issued in the same
 *     transaction that completes the request, so a form posted twice can
 *     never yield two codes.
 *
 * Functions returning int answer 1 (found / done), 0 (not found / not
 * done) or -1 (database failure, logged; db_unavailable() tells 503).
 * Strings in the structs are owned and freed by the *_clear functions.
 * Never stores or logs a plaintext request id, CSRF token, launch id or
 * code.
 */
#ifndef SMARTAUTH_AUTHSTORE_H
#define SMARTAUTH_AUTHSTORE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define AUTHSTORE_REQUEST_LIFETIME	600

struct authstore_req {
	char	*hash;			/* request_hash */
	char	*client_id;
	char	*redirect_uri;
	char	*scope;			/* as requested */
	char	*state;
	char	*nonce;
	char	*aud;
	char	*code_challenge;
	char	*code_challenge_method;
	char	*launch_hash;
	char	*csrf_hash;
	char	*session_hash;		/* bound login session */
	char	*user_id;
	char	*patient_id;
	char	*granted_scope;		/* after consent */
	cJSON	*params;		/* owned object: the rest of the flow's state */
	int	 completed;
	int	 expired;
};

/* Inserts a new request (hash, client, redirect URI, csrf_hash, params...). 0 or -1. */
int	authstore_req_create(const struct authstore_req *r);
/* Loads by hash. */
int	authstore_req_load(const char *hash, struct authstore_req *out);
/* Writes back csrf_hash, session_hash, user_id, patient_id, granted_scope and
 * params while the request is not completed.  1, 0 (completed), -1. */
int	authstore_req_save(const struct authstore_req *r);
/* Marks the request completed (error or denial).  1, 0 (already), -1. */
int	authstore_req_finish(const char *hash);
void	authstore_req_clear(struct authstore_req *r);

/*
 * Consumes a live, unused launch issued for client_id: sets used_at in
 * the same statement that checks it.  1 with *user_id (owned, NULL when
 * the launch names no user) and *context (owned object), 0 when unknown,
 * expired, used or issued for another client, -1.
 */
int	authstore_launch_consume(const char *launch_hash, const char *client_id,
	    char **user_id, cJSON **context);

struct authstore_user {
	char	*id;
	char	*name;		/* display name (name.formatted, else the id) */
	char	*fhir_user;	/* "Patient/pt-1", NULL when none */
	char	*patient_id;	/* linked patient: Role "patient" links.patient.id, else fhirUser Patient/x */
};
int	authstore_user_load(const char *id, struct authstore_user *out);
void	authstore_user_clear(struct authstore_user *u);

/* A patient or an encounter as the pickers show it. */
struct authstore_item {
	char	*id;
	char	*label;		/* patient name / encounter description */
	char	*date;		/* birth date / encounter start, "" when unknown */
};
struct authstore_list {
	struct authstore_item	*v;
	size_t			 n;
	long			 total;		/* matches before the limit */
};
/* Patients not deleted whose id or name contains q ("" or NULL: all), by name. */
int	authstore_patients(const char *q, size_t limit, struct authstore_list *out);
/* One patient (not deleted); 1 with out filled, 0 unknown. */
int	authstore_patient_get(const char *id, struct authstore_item *out);
/* Encounters (not deleted) of a patient, newest first. */
int	authstore_encounters(const char *patient_id, size_t limit, struct authstore_list *out);
/* 1 when encounter exists, is not deleted and belongs to patient_id. */
int	authstore_encounter_of(const char *encounter_id, const char *patient_id);
void	authstore_item_clear(struct authstore_item *it);
void	authstore_list_clear(struct authstore_list *l);

/* Remembered (unrevoked) consent: *scopes gets the owned space-separated scopes. */
int	authstore_consent_get(const char *user_id, const char *client_id, char **scopes);
/* Adds scopes (space-separated) to the remembered consent (a revoked one starts anew). 0 or -1. */
int	authstore_consent_save(const char *user_id, const char *client_id, const char *scopes);
/* Revokes; 1 revoked, 0 there was none. */
int	authstore_consent_revoke(const char *user_id, const char *client_id);

struct authstore_consent {
	char	*client_id;
	char	*client_name;
	char	*scopes;		/* space-separated */
	char	*updated_at;		/* "YYYY-MM-DD HH:MM UTC" */
};
struct authstore_consents {
	struct authstore_consent	*v;
	size_t				 n;
};
int	authstore_consents_list(const char *user_id, struct authstore_consents *out);
void	authstore_consents_clear(struct authstore_consents *c);

/* Everything the token endpoint needs about a code (see the brief's contract). */
struct authstore_code {
	const char	*client_id;
	const char	*user_id;
	const char	*redirect_uri;
	const char	*scope;			/* granted, as requested */
	const char	*launch_context;	/* JSON object text */
	const char	*nonce;
	const char	*code_challenge;
	const char	*code_challenge_method;
	const char	*session_hash;
	int		 online_only;
	long		 lifetime;		/* seconds */
};

/*
 * In one transaction: completes the request (it must be live and not
 * completed) with granted_scope, and inserts the code under code_hash
 * with auth_time taken from the session.  1 issued, 0 the request was
 * already completed or expired (nothing written), -1.
 */
int	authstore_code_issue(const char *request_hash, const struct authstore_code *c,
	    const char *code_hash);

#endif
