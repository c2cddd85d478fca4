/*
 * session: the login session of a browser (single sign-on across apps)
 * and the cookies of the authorization endpoint.
 *
 * Two cookies, both HttpOnly, SameSite=Lax, Path = the auth mount path,
 * Secure when the request came over HTTPS (DESIGN §2a):
 *   smartauth_session  a crypto_token_new() value naming a row of
 *                      smart.sessions, stored there only as its SHA-256;
 *                      a NEW value at every login (no session fixation);
 *   smartauth_req      a random browser id; each authorization request
 *                      remembers its SHA-256, so that the forms of one
 *                      request can only be posted from the browser that
 *                      started it (login CSRF).
 *
 * Owns: the rows of smart.sessions.  Never logs a cookie value or a hash
 * of one.  Logout revokes the session and the online_access refresh
 * tokens bound to it (SMART 2.2 "online_access").
 */
#ifndef SMARTAUTH_SESSION_H
#define SMARTAUTH_SESSION_H

#define SESSION_COOKIE		"smartauth_session"
#define SESSION_BROWSER_COOKIE	"smartauth_req"

/*
 * Owned copy of the value of the first cookie called name in a Cookie
 * header (RFC 6265 §5.4 sends the most specific path first), or NULL when
 * absent or when the value is not a token we could have issued.
 */
char	*session_cookie_get(const char *header, const char *name);

/*
 * The value of a Set-Cookie header (owned): HttpOnly, SameSite=Lax, the
 * path, Secure when secure; max_age > 0 sets Max-Age, 0 deletes the
 * cookie, < 0 makes a browser-session cookie.  NULL on out of memory or
 * when value or path holds a character a cookie cannot carry.
 */
char	*session_cookie_header(const char *name, const char *value, const char *path,
	    int secure, long max_age);

struct session {
	char		*hash;		/* sha256 hex of the cookie value */
	char		*user_id;
	long long	 auth_time;	/* epoch seconds of the password check */
};

/*
 * Creates a session for user_id lasting lifetime seconds.  *token gets the
 * owned cookie value, out the row.  0, or -1 (database or memory; logged).
 */
int	session_create(const char *user_id, const char *addr, const char *user_agent,
	    long lifetime, char **token, struct session *out);

/*
 * Looks up a live session (not revoked, not expired, active user) by the
 * hash of its cookie value.  1 found (out filled), 0 none, -1 database.
 */
int	session_find(const char *hash, struct session *out);

/*
 * Ends the session: revoked_at, and revoked_at on the refresh tokens with
 * online_only bound to it.  *user_id (may be NULL) gets the owner.
 * 1 ended, 0 there was no live session, -1 database.
 */
int	session_end(const char *hash, char **user_id);

void	session_clear(struct session *s);

#endif
