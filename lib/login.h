/*
 * login: password sign-in for the authorization endpoint's login page,
 * with throttling of failed attempts (RFC 6819 §4.4.1.11, OWASP ASVS
 * V6 brute-force protection).
 *
 * A user signs in with the User id or the e-mail address and the
 * password, checked with crypto_password_verify() against
 * users.password_hash (bcrypt).  Unknown users cost a bcrypt check too,
 * so timing does not tell which names exist; inactive users and users
 * without a password are refused like a wrong password.
 *
 * Every attempt is a row of smart.login_attempts (user name lower-cased,
 * address, success).  A name with LOGIN_MAX_USER_FAILURES failures, or an
 * address with LOGIN_MAX_ADDR_FAILURES, within LOGIN_WINDOW is throttled:
 * no password is checked at all until the window slides past them.  A
 * successful sign-in clears the count for the name (not the address).
 *
 * Never logs or stores a password; never says which of name and
 * password was wrong.
 */
#ifndef SMARTAUTH_LOGIN_H
#define SMARTAUTH_LOGIN_H

#define LOGIN_MAX_USER_FAILURES	5
#define LOGIN_MAX_ADDR_FAILURES	20
#define LOGIN_WINDOW_SECONDS	900
#define LOGIN_MAX_USERNAME	256
#define LOGIN_MAX_PASSWORD	1024

enum login_result {
	LOGIN_OK = 0,
	LOGIN_BAD,		/* unknown user, wrong password, no password */
	LOGIN_INACTIVE,		/* right password, user deactivated */
	LOGIN_ERROR		/* database: see db_unavailable() */
};

/* Lower-cased (ASCII) owned copy: the throttling key of a user name. */
char	*login_key(const char *username);

/* 1 when throttled (by name or by address), 0 when not, -1 database. */
int	login_throttled(const char *username, const char *address);

/* Records an attempt.  0, or -1 (logged). */
int	login_record(const char *username, const char *address, int success);

/*
 * Checks a user name (User id or e-mail) and password.  On LOGIN_OK
 * *user_id gets the owned User id.
 */
enum login_result login_check(const char *username, const char *password, char **user_id);

#endif
