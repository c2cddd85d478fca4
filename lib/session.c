/*
 * session: login sessions and cookies.  See session.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authreq.h"
#include "buf.h"
#include "crypto.h"
#include "db.h"
#include "log.h"
#include "session.h"

char *
session_cookie_get(const char *header, const char *name)
{
	const char *p = header, *eq, *end;
	size_t n = strlen(name), vlen;
	char *v;

	if (header == NULL)
		return NULL;
	while (*p != '\0') {
		while (*p == ' ' || *p == ';' || *p == '\t')
			p++;
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL && (size_t)(eq - p) == n && strncmp(p, name, n) == 0) {
			vlen = (size_t)(end - eq - 1);
			while (vlen > 0 && (eq[vlen] == ' ' || eq[vlen] == '\t'))
				vlen--;
			if ((v = strndup(eq + 1, vlen)) == NULL)
				return NULL;
			/* Only values we could have issued (base64url tokens). */
			if (!authreq_token_syntax_ok(v, 64)) {
				free(v);
				return NULL;
			}
			return v;
		}
		p = end;
	}
	return NULL;
}

static int
session_cookie_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == ';' ||
		    *s == ',' || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

char *
session_cookie_header(const char *name, const char *value, const char *path, int secure,
    long max_age)
{
	struct buf b = { 0 };

	if (!session_cookie_safe(name) || !session_cookie_safe(value) || !session_cookie_safe(path))
		return NULL;
	buf_printf(&b, "%s=%s; Path=%s", name, value, path);
	if (max_age >= 0)
		buf_printf(&b, "; Max-Age=%ld", max_age);
	buf_puts(&b, "; HttpOnly; SameSite=Lax");
	if (secure)
		buf_puts(&b, "; Secure");
	if (b.failed) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

void
session_clear(struct session *s)
{
	if (s == NULL)
		return;
	free(s->hash);
	free(s->user_id);
	memset(s, 0, sizeof(*s));
}

int
session_create(const char *user_id, const char *addr, const char *user_agent, long lifetime,
    char **token, struct session *out)
{
	static const char sql[] =
	    "INSERT INTO smart.sessions (session_hash, user_id, expires_at, remote_addr, user_agent) "
	    "VALUES ($1, $2, now() + make_interval(secs => $3::int), $4, left($5, 512)) "
	    "RETURNING floor(extract(epoch FROM auth_time))::bigint";
	char life[24];
	const char *params[5];
	PGresult *res = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	*token = NULL;
	if ((*token = crypto_token_new()) == NULL ||
	    (out->hash = crypto_sha256_hex(*token)) == NULL ||
	    (out->user_id = strdup(user_id)) == NULL)
		goto out;
	snprintf(life, sizeof(life), "%ld", lifetime);
	params[0] = out->hash;
	params[1] = user_id;
	params[2] = life;
	params[3] = addr != NULL && *addr != '\0' ? addr : NULL;
	params[4] = user_agent;
	if ((res = db_exec(sql, 5, params)) == NULL || PQntuples(res) != 1)
		goto out;
	out->auth_time = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	rc = 0;
out:
	PQclear(res);
	if (rc == -1) {
		log_err("could not create a login session");
		if (*token != NULL)
			crypto_wipe(*token, strlen(*token));
		free(*token);
		*token = NULL;
		session_clear(out);
	}
	return rc;
}

int
session_find(const char *hash, struct session *out)
{
	static const char sql[] =
	    "UPDATE smart.sessions s SET last_seen_at = now() FROM smart.users u "
	    "WHERE s.session_hash = $1 AND u.id = s.user_id AND u.active "
	    "AND s.revoked_at IS NULL AND s.expires_at > now() "
	    "RETURNING s.user_id, floor(extract(epoch FROM s.auth_time))::bigint";
	const char *params[1] = { hash };
	PGresult *res;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (hash == NULL)
		return 0;
	if ((res = db_exec(sql, 1, params)) == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		rc = 0;
		goto out;
	}
	if ((out->hash = strdup(hash)) == NULL ||
	    (out->user_id = strdup(PQgetvalue(res, 0, 0))) == NULL) {
		log_err("out of memory");
		session_clear(out);
		goto out;
	}
	out->auth_time = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	rc = 1;
out:
	PQclear(res);
	return rc;
}

int
session_end(const char *hash, char **user_id)
{
	static const char end_sql[] =
	    "UPDATE smart.sessions SET revoked_at = now() "
	    "WHERE session_hash = $1 AND revoked_at IS NULL RETURNING user_id";
	static const char rt_sql[] =
	    "UPDATE smart.refresh_tokens SET revoked_at = now() "
	    "WHERE session_hash = $1 AND online_only AND revoked_at IS NULL";
	const char *params[1] = { hash };
	PGresult *res = NULL;
	int rc = -1;

	if (user_id != NULL)
		*user_id = NULL;
	if (db_begin() == -1)
		return -1;
	if ((res = db_exec(end_sql, 1, params)) == NULL)
		goto out;
	rc = PQntuples(res) == 1 ? 1 : 0;
	if (rc == 1 && user_id != NULL && (*user_id = strdup(PQgetvalue(res, 0, 0))) == NULL) {
		rc = -1;
		goto out;
	}
	PQclear(res);
	if ((res = db_exec(rt_sql, 1, params)) == NULL) {
		rc = -1;
		goto out;
	}
	if (db_commit() == -1)
		rc = -1;
out:
	PQclear(res);
	if (rc == -1) {
		db_rollback();
		if (user_id != NULL) {
			free(*user_id);
			*user_id = NULL;
		}
	}
	return rc;
}
