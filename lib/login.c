/*
 * login: password check and throttling.  See login.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "db.h"
#include "log.h"
#include "login.h"

/* A well-formed bcrypt hash no password we accept matches: checked for
 * unknown users so that they cost the same time as known ones. */
static const char login_decoy_hash[] =
    "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

char *
login_key(const char *username)
{
	char *k;
	size_t i;

	if (username == NULL || (k = strdup(username)) == NULL)
		return NULL;
	for (i = 0; k[i] != '\0'; i++)
		k[i] = (char)tolower((unsigned char)k[i]);
	return k;
}

int
login_throttled(const char *username, const char *address)
{
	static const char sql[] =
	    "SELECT "
	    " (SELECT count(*) FROM smart.login_attempts a WHERE a.username = $1 AND NOT a.success "
	    "   AND a.at > greatest(now() - make_interval(secs => $3::int), "
	    "     coalesce((SELECT max(b.at) FROM smart.login_attempts b "
	    "       WHERE b.username = $1 AND b.success), '-infinity'))), "
	    " (SELECT count(*) FROM smart.login_attempts WHERE address = $2 AND NOT success "
	    "   AND at > now() - make_interval(secs => $3::int))";
	char window[16];
	const char *params[3];
	PGresult *res;
	char *key;
	long by_user, by_addr;

	if ((key = login_key(username)) == NULL)
		return -1;
	snprintf(window, sizeof(window), "%d", LOGIN_WINDOW_SECONDS);
	params[0] = key;
	params[1] = address != NULL ? address : "";
	params[2] = window;
	res = db_exec(sql, 3, params);
	free(key);
	if (res == NULL || PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	by_user = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	by_addr = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return by_user >= LOGIN_MAX_USER_FAILURES || by_addr >= LOGIN_MAX_ADDR_FAILURES;
}

int
login_record(const char *username, const char *address, int success)
{
	static const char sql[] =
	    "INSERT INTO smart.login_attempts (username, address, success) VALUES ($1, $2, $3)";
	const char *params[3];
	PGresult *res;
	char *key;

	if ((key = login_key(username)) == NULL)
		return -1;
	params[0] = key;
	params[1] = address != NULL ? address : "";
	params[2] = success ? "true" : "false";
	res = db_exec(sql, 3, params);
	free(key);
	if (res == NULL) {
		log_err("could not record a login attempt");
		return -1;
	}
	PQclear(res);
	return 0;
}

enum login_result
login_check(const char *username, const char *password, char **user_id)
{
	/* The User id wins over somebody else's e-mail address. */
	static const char sql[] =
	    "SELECT id, password_hash, active FROM smart.users "
	    "WHERE id = $1 OR lower(email) = lower($1) ORDER BY (id = $1) DESC, id LIMIT 1";
	const char *params[1] = { username };
	PGresult *res;
	enum login_result r = LOGIN_BAD;
	int ok;

	*user_id = NULL;
	if ((res = db_exec(sql, 1, params)) == NULL)
		return LOGIN_ERROR;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 1)) {
		(void)crypto_password_verify(password, login_decoy_hash);
		goto out;
	}
	ok = crypto_password_verify(password, PQgetvalue(res, 0, 1));
	if (!ok)
		goto out;
	if (strcmp(PQgetvalue(res, 0, 2), "t") != 0) {
		r = LOGIN_INACTIVE;
		goto out;
	}
	if ((*user_id = strdup(PQgetvalue(res, 0, 0))) == NULL) {
		log_err("out of memory");
		r = LOGIN_ERROR;
		goto out;
	}
	r = LOGIN_OK;
out:
	PQclear(res);
	return r;
}
