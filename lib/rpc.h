/*
 * rpc: the Aidbox-compatible launch RPC, aidbox.smart/get-launch-uri
 * (DESIGN §2; SMART App Launch 2.2 §"EHR launch": the EHR opens the app's
 * launch URL with iss and an opaque launch id that the app passes back to
 * the authorization endpoint).
 *
 * Pure parts (unit-tested without a database): reading the request body
 * ({"method", "params": {"user", "iss", "client", "ctx"}}) into struct
 * rpc_launch, where user and client may be ids or reference objects
 * ({"id": "u1", "resourceType": "User"}) and iss may be percent-encoded;
 * building the launch context stored with the launch id and the result
 * with the app's launch URL.  Database parts: existence checks of the
 * target user, client, Patient and Encounter, and storing the launch.
 *
 * A launch id is crypto_token_new() (256 bits, base64url), stored only as
 * its SHA-256 hex in smart.launch_contexts with the client, the user, the
 * context and expires_at = now + launch_lifetime; authorize consumes it
 * once.  Never logs a launch id.
 */
#ifndef SMARTAUTH_RPC_H
#define SMARTAUTH_RPC_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* The only method this endpoint serves. */
#define RPC_METHOD_LAUNCH	"aidbox.smart/get-launch-uri"
/* Largest body accepted (also bounded by the max_body setting). */
#define RPC_MAX_BODY		65536
/* Longest user or client id, and longest fhirContext reference. */
#define RPC_ID_MAX		256
#define RPC_REF_MAX		1024
/* Most fhirContext entries. */
#define RPC_FHIR_CONTEXT_MAX	32

/* What a get-launch-uri call asks for. */
struct rpc_launch {
	const char	*user_id;	/* borrowed from the body */
	const char	*client_id;	/* borrowed from the body */
	const char	*patient;	/* borrowed, NULL when not given */
	const char	*encounter;	/* borrowed, NULL when not given */
	cJSON		*context;	/* owned: the launch context to store */
};

/*
 * Reads a user or client argument: a non-empty string, or a reference
 * object with a string "id" (and, when present, "resourceType" equal to
 * type).  Ids longer than RPC_ID_MAX or holding control characters are
 * refused.  0 with *id borrowed from v, or -1.
 */
int		 rpc_ref_id(const cJSON *v, const char *type, const char **id);

/* 1 when s is a FHIR id ([A-Za-z0-9-.]{1,64}). */
int		 rpc_fhir_id_ok(const char *s);

/*
 * 1 when iss names fhir_base: equal as given or after one percent-decoding
 * (application/x-www-form-urlencoded style, as callers encode it), with a
 * single trailing '/' tolerated on either side.  0 otherwise.
 */
int		 rpc_iss_matches(const char *iss, const char *fhir_base);

/*
 * Reads a parsed request body into out (zeroed first).  Returns 0, or -1
 * with why (static text or a formatted message) for a 400: body not an
 * object, method missing or unknown, params not an object, user/client
 * missing or malformed, iss missing or not this server, ctx not an object,
 * ctx.patient/encounter not an id (or a Patient/Encounter reference
 * object), fhirContext not an array of objects with a string "reference",
 * intent not a string, need_patient_banner not a boolean.  The stored
 * context keeps patient, encounter, fhirContext (reference and, when a
 * string, role), intent and need_patient_banner; other members are not
 * kept.  Release with rpc_launch_clear.
 */
int		 rpc_launch_parse(const cJSON *body, const char *fhir_base,
		    struct rpc_launch *out, char *why, size_t whysz);
void		 rpc_launch_clear(struct rpc_launch *l);

/*
 * Owned URL: launch_uri with iss (percent-encoded) and launch appended as
 * query parameters, with '?' or '&' as launch_uri already has a query,
 * and before any "#fragment".  NULL when out of memory.
 */
char		*rpc_launch_url(const char *launch_uri, const char *fhir_base,
		    const char *launch);

/*
 * Owned {"result": {"uri", "launch", "iss", "launch-uri"}}; NULL when out
 * of memory.
 */
cJSON		*rpc_result(const char *launch_uri, const char *fhir_base,
		    const char *launch);

/* Owned {"error": {"message": message}}; NULL when out of memory. */
cJSON		*rpc_error(const char *message);

/* ---- database ---- */

enum rpc_lookup {
	RPC_FOUND = 0,
	RPC_NOT_FOUND,
	RPC_DB_ERROR		/* db_unavailable() tells 503 from 500 */
};

/* An active smart.users row with this id. */
enum rpc_lookup	 rpc_user_exists(const char *user_id);

/*
 * A Patient or Encounter (type) in smart.fhir_resources, not deleted.
 * When patient_of is not NULL it receives the resource's patient (owned;
 * NULL when it has none).
 */
enum rpc_lookup	 rpc_fhir_exists(const char *type, const char *id, char **patient_of);

/*
 * Stores a new launch: smart.launch_contexts row with the SHA-256 hex of
 * launch, bound to client_id and user_id, context, expiring lifetime
 * seconds from now (database clock).  0, or -1 (logged; db_unavailable()
 * tells 503).
 */
int		 rpc_launch_store(const char *launch, const char *client_id,
		    const char *user_id, const cJSON *context, long lifetime);

#endif
