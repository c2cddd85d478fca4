/*
 * issue: minting what the token endpoint hands out, for every grant.
 *
 *   - access tokens: RFC 9068 JWTs (header typ "at+jwt"), RS256 with the
 *     newest RSA key, claims iss = aud = FHIR base, sub (user, or client
 *     for backend tokens), exp, iat, jti, client_id, scope, and patient,
 *     encounter and an absolute fhirUser from the launch context
 *     (DESIGN §5, "The contract between the programs");
 *   - id_tokens: OpenID Connect Core §2 / SMART App Launch 2.2 §5.8, RS256,
 *     iss, sub, aud = client_id, exp, iat, auth_time, nonce when one was
 *     sent, fhirUser (and the SMART v1 "profile" claim) as an absolute URL
 *     when fhirUser or profile was granted;
 *   - refresh tokens: 256 random bits (crypto_token_new), stored only as
 *     their SHA-256 hex in smart.refresh_tokens;
 *   - the RFC 6749 §5.1 response with the SMART launch context members
 *     (App Launch 2.2 §5.6: patient, encounter, fhirContext,
 *     need_patient_banner, smart_style_url, intent, tenant).
 *
 * The claim and response builders are pure functions of a struct
 * issue_grant (unit-tested without a database); issue_mint signs and
 * issue_record writes the rows, inside the caller's transaction, or
 * issue_commit writes them with the consume and the audit row as one
 * statement (the grant's only write transaction).  The
 * grant handlers (lib/grant.c) decide *whether* a grant may be issued;
 * this module only decides *what* the issued tokens say.
 *
 * Never logs a token, a refresh token or a claim value.
 */
#ifndef SMARTAUTH_ISSUE_H
#define SMARTAUTH_ISSUE_H

#include <time.h>

#include <cjson/cJSON.h>

#include "client.h"
#include "config.h"
#include "jwk.h"
#include "scope.h"

/* The JWS algorithm of access tokens and id_tokens (DESIGN §5). */
#define ISSUE_ALG	"RS256"

/*
 * Everything one token response is minted from.  Pointers are borrowed
 * and must outlive the calls that use them.
 */
struct issue_grant {
	const char	*client_id;
	const char	*user_id;	/* NULL: backend token, sub = client_id */
	const char	*family_id;	/* grant family (uuid text); NULL: none */
	const char	*scope;		/* scope of the access token, as granted */
	const cJSON	*launch_context; /* object (contract members), or NULL */
	const char	*session_hash;	/* login session; NULL when none */
	time_t		 now;
	long		 lifetime;	/* access token (and id_token) seconds */

	/* id_token: issued when id_token is set (openid granted). */
	int		 id_token;
	int		 fhir_user_claim; /* fhirUser (or v1 profile) granted */
	int		 profile_claim;	 /* the v1 "profile" scope granted */
	long long	 auth_time;	/* epoch seconds; 0: unknown */
	const char	*nonce;		/* NULL: none (always NULL on refresh) */

	/* refresh token: issued when refresh is set. */
	int		 refresh;
	const char	*refresh_scope;	/* scope the refresh token carries */
	long long	 refresh_expires_at;	/* absolute, epoch seconds */
	int		 online_only;
	const char	*refresh_nonce;	/* nonce remembered for the family */

	/* The jti of the client assertion that authenticated the request, to
	 * record (smart.jwt_ids) with the grant; NULL when none or recorded. */
	const char	*assertion_jti;
	long long	 assertion_until;	/* keep it until then, epoch seconds */
};

/* The minted tokens; owned, release with issue_tokens_clear(). */
struct issue_tokens {
	char	*jti;
	char	*access_token;
	char	*id_token;		/* NULL when none */
	char	*refresh_token;		/* NULL when none */
	char	*refresh_hash;		/* SHA-256 hex of refresh_token */
};

/* Lifetimes: the client's own setting, else the server default. */
long		 issue_access_lifetime(const struct config *cfg, const struct client *c);
long		 issue_refresh_lifetime(const struct config *cfg, const struct client *c);

/*
 * 1 when the client may hold refresh tokens: grant_types lists
 * refresh_token, or auth.authorization_code.refresh_token is true.
 */
int		 issue_client_may_refresh(const struct client *c);

/*
 * Fills the scope-derived switches of g from the granted scope set:
 * id_token (openid), fhir_user_claim (fhirUser or profile), profile_claim,
 * refresh (offline_access or online_access, and may_refresh) and
 * online_only (online_access without offline_access).
 */
void		 issue_grant_from_scope(struct issue_grant *g, const struct scope_set *s,
		    int may_refresh);

/*
 * Owned absolute fhirUser URL: a relative reference ("Patient/pt-1") is
 * appended to the FHIR base; an absolute http(s) URL is kept.  NULL when
 * ref is NULL, empty, not a "Type/id" reference, or out of memory.
 */
char		*issue_fhir_user_url(const struct config *cfg, const char *ref);

/* Owned RFC 9068 claims of the access token with this jti; NULL on OOM. */
cJSON		*issue_access_claims(const struct config *cfg, const struct issue_grant *g,
		    const char *jti);

/* Owned id_token claims; NULL on OOM or when g has no user. */
cJSON		*issue_id_token_claims(const struct config *cfg, const struct issue_grant *g);

/*
 * Makes a new refresh token and its hash in t (zeroed), for a grant that
 * must know the successor's hash before minting (rotation).  0, or -1.
 */
int		 issue_refresh_new(struct issue_tokens *t);

/*
 * Mints the tokens of g into t, which must be zeroed or hold only what
 * issue_refresh_new made: a fresh jti, the signed access token, the
 * id_token when g->id_token, and a refresh token with its hash when
 * g->refresh (kept when already made).  0, or -1 (logged; t cleared).
 */
int		 issue_mint(const struct config *cfg, const struct jwk *signer,
		    const struct issue_grant *g, struct issue_tokens *t);

/*
 * Records t: the access token row (smart.access_tokens, by jti) and the
 * refresh token row (smart.refresh_tokens, by hash) when there is one.
 * Runs inside the caller's transaction.  0, or -1 (db_unavailable()
 * tells whether the database is down).
 */
int		 issue_record(const struct issue_grant *g, const struct issue_tokens *t);

/*
 * SQL condition on smart.refresh_tokens r: the row of token hash H (a
 * parameter such as "$1") and client C is live: not used, not revoked, not
 * expired, its user active and, for online_access, its login session
 * alive.  The grant's read and issue_commit's consume both use it, so that
 * what reads as redeemable is exactly what the consume accepts.
 */
#define ISSUE_REFRESH_LIVE(H, C) \
	"token_hash = " H " AND client_id = " C " AND used_at IS NULL " \
	"AND revoked_at IS NULL AND expires_at > now() " \
	"AND EXISTS (SELECT 1 FROM smart.users u WHERE u.id = r.user_id AND u.active) " \
	"AND (NOT online_only OR EXISTS (SELECT 1 FROM smart.sessions s " \
	"WHERE s.session_hash = r.session_hash AND s.revoked_at IS NULL " \
	"AND s.expires_at > now())) "

/* What issue_commit consumes in the statement that records the grant. */
enum issue_consume {
	ISSUE_CONSUME_NONE,	/* client_credentials */
	ISSUE_CONSUME_CODE,	/* an authorization code (its SHA-256 hex) */
	ISSUE_CONSUME_REFRESH	/* a refresh token (its SHA-256 hex), rotated into t's */
};

/*
 * The whole write of a grant in ONE statement and ONE round trip, outside
 * any explicit transaction (PostgreSQL commits it at the protocol Sync):
 * consumes the code or refresh token consume_hash, unless it stopped being
 * redeemable for g->client_id since it was read (used, revoked, expired,
 * user disabled, login session ended), inserts the token rows as
 * issue_record does and the audit row (event, outcome "success", detail a
 * JSON object text).  With g->assertion_jti, the statement also records
 * that jti for g->client_id (RFC 7523 §3 item 7) and writes nothing else
 * when it was already recorded (a replay).  *outcome gets the flags:
 * ISSUE_WROTE_GRANT when everything was written and committed (without
 * it the consume matched nothing and the caller takes its transactional
 * path, which finds out why), ISSUE_WROTE_JTI when the jti was recorded,
 * ISSUE_JTI_REPLAYED when it was there already.  0, or -1 on a database
 * failure (nothing written; db_unavailable()).
 */
#define ISSUE_WROTE_GRANT	0x1
#define ISSUE_WROTE_JTI		0x2
#define ISSUE_JTI_REPLAYED	0x4
int		 issue_commit(enum issue_consume kind, const char *consume_hash,
		    const struct issue_grant *g, const struct issue_tokens *t, const char *event,
		    const char *address, const char *detail, int *outcome);


/*
 * Owned RFC 6749 §5.1 response: access_token, token_type "Bearer",
 * expires_in, scope, refresh_token and id_token when minted, the launch
 * context members of g->launch_context (each only with its contract type)
 * and tenant when configured.  NULL on OOM.
 */
cJSON		*issue_response(const struct config *cfg, const struct issue_grant *g,
		    const struct issue_tokens *t);

/* Frees and wipes t; NULL-safe. */
void		 issue_tokens_clear(struct issue_tokens *t);

#endif
