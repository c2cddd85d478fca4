/*
 * client: registered clients (smart.clients) and client authentication
 * at the token-family endpoints (RFC 6749 §2.3, §3.2.1).
 *
 * Methods: HTTP Basic (client_secret_basic; id and secret are
 * form-urlencoded inside the base64, RFC 6749 §2.3.1), client_id and
 * client_secret in the body (client_secret_post), a signed JWT assertion
 * (private_key_jwt, RFC 7523 §2.2: client_assertion_type and
 * client_assertion; checked by lib/clientjwt), and public clients
 * (client_id only).  Using two methods at once is invalid_request.  A
 * client with registered keys (jwks or jwks_uri) and no secret is
 * confidential: it must send an assertion.
 *
 * Secrets are checked against bcrypt hashes in constant time; never
 * logged.  Because bcrypt is deliberately slow, a successful check is
 * remembered per process (client id, the stored hash it matched, and an
 * HMAC-SHA256 of the presented secret under a random per-process key; the
 * secret itself is never kept): a later request presenting the same
 * secret against the same stored hash skips bcrypt, and a changed secret
 * (new hash) misses.  struct client is owned by the caller (client_free).
 */
#ifndef SMARTAUTH_CLIENT_H
#define SMARTAUTH_CLIENT_H

#include <cjson/cJSON.h>

#include "config.h"
#include "db.h"
#include "form.h"
#include "http.h"
#include "oauth.h"

struct client {
	char	*id;
	cJSON	*resource;		/* Aidbox shape without secret */
	char	*secret_hash;		/* NULL: no secret */
	int	 secret_required;
	int	 active;
	cJSON	*grant_types;		/* array of strings (borrowed from parsed row, owned here) */
	cJSON	*redirect_uris;		/* array of strings */
	char	*launch_uri;		/* NULL when none */
	char	*scope;			/* NULL: any scope the server knows */
	cJSON	*jwks;			/* NULL when none */
	char	*jwks_uri;		/* NULL when none */
	long	 access_token_expiration;	/* 0: server default */
	long	 refresh_token_expiration;	/* 0: server default */
	int	 refresh_token;		/* auth.authorization_code.refresh_token */
	/* CLIENT_DEFER_JTI: the verified assertion's jti, not yet recorded,
	 * and until when it must be kept (epoch seconds); NULL otherwise. */
	char	*assertion_jti;
	long long assertion_until;
};

enum client_auth_method {
	CLIENT_AUTH_NONE = 0,		/* public client */
	CLIENT_AUTH_BASIC,
	CLIENT_AUTH_POST,
	CLIENT_AUTH_JWT
};

/*
 * Loads a client by id.  Returns the client, or NULL: *missing is set when
 * it does not exist (or is inactive), otherwise the database failed
 * (db_unavailable() tells whether to answer 503).
 */
struct client	*client_load(const char *id, int *missing);

/*
 * client_load's statement for id (params: an array of one, which must
 * outlive the statement), for a caller that runs it in a batch with
 * others (one round trip); it then hands the result to client_preload.
 */
void		 client_load_stmt(const char *id, const char **params, struct db_stmt *s);
/*
 * Gives client_load the owned result res of client_load_stmt(id): the
 * next client_load of that same id uses it instead of a query, once.  Any
 * result held before is freed; client_preload(NULL, NULL) just frees it
 * (at the end of every request).
 */
void		 client_preload(const char *id, PGresult *res);
void		 client_free(struct client *c);

int		 client_has_grant(const struct client *c, const char *grant);
/* 1 when uri equals a registered redirect URI exactly (RFC 9700 §4.1.3). */
int		 client_redirect_registered(const struct client *c, const char *uri);
/* 1 when secret matches the stored hash (bcrypt, constant-time compare;
 * successful checks cached as described above). */
int		 client_secret_ok(const struct client *c, const char *secret);

/* Hits of the secret cache since the program started (tests, stats). */
unsigned long	 client_secret_cache_hits(void);

/*
 * Remembers the token endpoint URL (cfg->auth_base + "/token", as
 * discovery advertises it), the "aud" client assertions must carry, and
 * initialises libcurl for jwks_uri fetching.  Call once at program start;
 * without it the configuration is loaded on the first assertion.  0, or
 * -1 (logged).
 */
int		 client_auth_init(const struct config *cfg);

/*
 * Authenticates the client of a token-endpoint request whose form body is
 * in r->fparams.  On success *out holds the client (owned), *method how it
 * authenticated, and OAUTH_OK is returned.  Otherwise the OAuth error to
 * answer with and *why a description (static text); OAUTH_INVALID_CLIENT
 * means 401.  OAUTH_TEMPORARILY_UNAVAILABLE when the database is down.
 */
enum oauth_error client_authenticate(struct req *r, struct client **out,
		    enum client_auth_method *method, const char **why);

/*
 * client_authenticate with flags.  CLIENT_DEFER_JTI: a client assertion's
 * jti is not recorded here but left in (*out)->assertion_jti, so that the
 * token endpoint records it in the same statement that writes the grant
 * (one write transaction per token response); the caller must record it
 * before answering, whatever the outcome (lib/grant.c does on success,
 * cgi-bin/token.c otherwise), and must refuse the request as a replay
 * when it was already there.
 */
#define CLIENT_DEFER_JTI	0x1
enum oauth_error client_authenticate_flags(struct req *r, struct client **out,
		    enum client_auth_method *method, int flags, const char **why);

/*
 * Owned id of the client a token-family request claims to be, for the
 * audit trail of a refused request only (nothing is verified): the body's
 * client_id, else the Basic user, else the iss of an (unverified)
 * client_assertion.  NULL when none.
 */
char		*client_claimed_id(struct req *r);

/*
 * Parses an "Authorization: Basic" value into owned id and secret
 * (percent-decoded).  0 on success, -1 when malformed.
 */
int		 client_parse_basic(const char *header, char **id, char **secret);

#endif
