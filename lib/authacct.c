/*
 * authacct: the signed-in user's own pages under the auth mount.
 *
 *   {auth}/logout    GET: a confirmation form; POST (with its CSRF token):
 *                    ends the login session (sessions.revoked_at), revokes
 *                    the online_access refresh tokens bound to it and
 *                    clears the cookie;
 *   {auth}/consents  GET: the apps the user allowed, with their scopes in
 *                    plain words; POST (with its CSRF token): withdraws one
 *                    (consents.revoked_at), so the next request asks again.
 *
 * These forms belong to no authorization request, so their CSRF token is
 * derived from the session cookie: SHA-256 of "<purpose>:<cookie>", which
 * only a page served to that browser can show (the cookie is HttpOnly).
 * A POST without it, or with another one, is refused with 403 and changes
 * nothing.
 *
 * Owns nothing.  Never logs or stores a cookie value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "authacct.h"
#include "authstore.h"
#include "buf.h"
#include "crypto.h"
#include "db.h"
#include "pages.h"
#include "session.h"

#define ACCT_RETRY_AFTER	5	/* seconds, on 503 */

/* CSRF token of a page bound to the session: SHA-256 of purpose and cookie. */
static char *
account_csrf(const char *purpose, const char *cookie)
{
	struct buf b = { 0 };
	char *h;

	buf_printf(&b, "%s:%s", purpose, cookie);
	if (b.failed) {
		buf_free(&b);
		return NULL;
	}
	h = crypto_sha256_hex(b.data);
	buf_free(&b);
	return h;
}

/*
 * Common part of logout and consents: reads the session cookie and, for a
 * POST, checks the form's CSRF token.  Returns 1 with the session (and
 * *cookie, *csrf owned), 0 when nobody is signed in, -1 after answering.
 */
static int
account_open(struct req *r, struct resp *p, const struct authflow_cfg *ac, const char *purpose,
    struct session *s, char **cookie, char **csrf)
{
	const char *why, *posted = NULL;
	char *hash = NULL;
	int status, found;

	memset(s, 0, sizeof(*s));
	*cookie = *csrf = NULL;
	if (strcmp(r->method, "POST") == 0) {
		const char *cl = http_env(r, "CONTENT_LENGTH");

		/* An empty POST is simply a form without its token. */
		if (cl != NULL && *cl != '\0' && strcmp(cl, "0") != 0 &&
		    (status = http_parse_form(r, (size_t)ac->cfg->max_body, &why)) != 0) {
			pages_error(p, status, "Malformed request", why, NULL);
			return -1;
		}
		if ((posted = form_get_nonempty(&r->fparams, "csrf")) == NULL) {
			pages_error(p, 403, "Form expired",
			    "This form was not sent by this service.", NULL);
			return -1;
		}
	} else if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		http_resp_header(p, "Allow", "GET, POST");
		pages_error(p, 405, "Method not allowed", "Use GET or POST.", NULL);
		return -1;
	}
	if ((*cookie = session_cookie_get(http_header(r, "Cookie"), SESSION_COOKIE)) == NULL)
		return 0;
	if ((hash = crypto_sha256_hex(*cookie)) == NULL ||
	    (*csrf = account_csrf(purpose, *cookie)) == NULL)
		goto fail;
	if (posted != NULL && !crypto_ct_streq(posted, *csrf)) {
		free(hash);
		pages_error(p, 403, "Form expired",
		    "This form is out of date or was not sent by this service.", NULL);
		return -1;
	}
	if ((found = session_find(hash, s)) == -1) {
		free(hash);
		if (db_unavailable())
			pages_unavailable(p, ACCT_RETRY_AFTER);
		else
			pages_error(p, 500, "Something went wrong", "Please try again.", NULL);
		return -1;
	}
	free(hash);
	return found;
fail:
	free(hash);
	return -1;
}

static void
account_close(struct session *s, char **cookie, char **csrf)
{
	session_clear(s);
	if (*cookie != NULL)
		crypto_wipe(*cookie, strlen(*cookie));
	free(*cookie);
	free(*csrf);
}

static int
account_user_name(const char *user_id, struct authstore_user *u)
{
	int found = authstore_user_load(user_id, u);

	return found == -1 ? -1 : 0;
}

int
authacct_logout(struct req *r, struct resp *p, const struct authflow_cfg *ac)
{
	struct authstore_user u = { 0 };
	struct session s;
	char *cookie, *csrf, *h;
	int rc, open;

	if ((open = account_open(r, p, ac, "logout", &s, &cookie, &csrf)) == -1) {
		account_close(&s, &cookie, &csrf);
		return 0;
	}
	if (strcmp(r->method, "POST") != 0) {
		if (open == 1 && account_user_name(s.user_id, &u) == -1)
			rc = pages_unavailable(p, ACCT_RETRY_AFTER);
		else
			rc = pages_logout(p, ac->logout_path, csrf, open == 1 ?
			    (u.name != NULL ? u.name : s.user_id) : NULL);
		goto out;
	}
	if (cookie != NULL && (h = crypto_sha256_hex(cookie)) != NULL) {
		char *user = NULL;

		if (session_end(h, &user) == -1) {
			free(h);
			rc = db_unavailable() ? pages_unavailable(p, ACCT_RETRY_AFTER) :
			    pages_error(p, 500, "Something went wrong", "Please try again.", NULL);
			goto out;
		}
		if (user != NULL)
			audit_event("logout", "success", user, NULL, r->remote_addr, NULL);
		free(user);
		free(h);
	}
	if (cookie != NULL) {
		char *sc = session_cookie_header(SESSION_COOKIE, "", ac->cookie_path, r->https, 0);

		if (sc != NULL)
			http_resp_header(p, "Set-Cookie", sc);
		free(sc);
	}
	rc = pages_message(p, 200, "Signed out", open == 1 ? "You are signed out." :
	    "You are not signed in.");
out:
	authstore_user_clear(&u);
	account_close(&s, &cookie, &csrf);
	return rc;
}

int
authacct_consents(struct req *r, struct resp *p, const struct authflow_cfg *ac)
{
	struct authstore_consents list = { 0 };
	struct authstore_user u = { 0 };
	struct session s;
	char *cookie, *csrf, notice[300];
	const char *client, *note = NULL;
	int rc, open, done;

	if ((open = account_open(r, p, ac, "consents", &s, &cookie, &csrf)) == -1) {
		account_close(&s, &cookie, &csrf);
		return 0;
	}
	if (open == 0) {
		rc = pages_message(p, 200, "Apps you allowed",
		    "You are not signed in. Sign in through an app first, then come back here.");
		goto out;
	}
	if (strcmp(r->method, "POST") == 0) {
		if ((client = form_get_nonempty(&r->fparams, "client")) == NULL) {
			rc = pages_error(p, 400, "Unexpected form", "No app was named.", NULL);
			goto out;
		}
		if ((done = authstore_consent_revoke(s.user_id, client)) == -1)
			goto dberr;
		if (done == 1) {
			cJSON *d = cJSON_CreateObject();

			audit_event("consent", "revoked", s.user_id, client, r->remote_addr, d);
			cJSON_Delete(d);
			snprintf(notice, sizeof(notice), "Permission withdrawn for %s.", client);
			note = notice;
		}
	}
	if (account_user_name(s.user_id, &u) == -1 || authstore_consents_list(s.user_id, &list) == -1)
		goto dberr;
	rc = pages_consents(p, ac->consents_path, csrf, u.name != NULL ? u.name : s.user_id, &list,
	    note);
	goto out;
dberr:
	rc = db_unavailable() ? pages_unavailable(p, ACCT_RETRY_AFTER) :
	    pages_error(p, 500, "Something went wrong", "Please try again.", NULL);
out:
	authstore_consents_clear(&list);
	authstore_user_clear(&u);
	account_close(&s, &cookie, &csrf);
	return rc;
}
