/*
 * authflow: the authorization endpoint's flow (RFC 6749 §4.1, SMART App
 * Launch 2.2 standalone and EHR launch, OpenID Connect Core §3.1.2):
 *
 *   request  --validate-->  [login]  -->  [patient picker]  -->
 *   [encounter picker]  -->  [consent]  -->  303 redirect_uri?code&state&iss
 *
 * A request arrives by GET (query) or POST (form body, "authorize-post"),
 * never both.  client_id and redirect_uri are checked first and failures
 * there are error pages, never redirects; every later failure is an
 * error redirect carrying state and iss (RFC 6749 §4.1.2.1, RFC 9207),
 * 302 after a GET and 303 after a form POST (RFC 9700 §4.12: never 307).
 *
 * The request then lives in smart.authorize_requests (authstore) under
 * the SHA-256 of a random request id; the pages carry the id and a CSRF
 * token as hidden fields.  A request started by POST answers 303 to
 * GET ?request=<id>, so that the browser's SameSite=Lax cookies (login
 * session, browser id) are sent.  Each request is bound to the browser
 * that started it (smartauth_req cookie) and completed exactly once.
 *
 * Steps are skipped when they have nothing to ask: a live login session
 * (single sign-on; not with prompt=login or an exceeded max_age), a
 * patient-linked user or an EHR launch (no picker), a remembered consent
 * covering every offered scope (not with prompt=consent).  prompt=none
 * never shows a page: it ends with login_required, interaction_required
 * or consent_required instead.
 *
 * Owns: the struct authflow_cfg it fills at start.  Never logs or stores
 * a password, code, request id, CSRF token or cookie value.
 */
#ifndef SMARTAUTH_AUTHFLOW_H
#define SMARTAUTH_AUTHFLOW_H

#include "config.h"
#include "http.h"

struct authflow_cfg {
	const struct config	*cfg;
	char			 auth_path[256];	/* path of auth_base ("/auth"), "" at the root */
	char			 cookie_path[256];	/* auth_path, or "/" */
	char			 action[300];		/* auth_path + "/authorize" */
	char			 consents_path[300];	/* auth_path + "/consents" */
	char			 logout_path[300];	/* auth_path + "/logout" */
	char			 style_url[600];	/* auth_base + "/style" */
};

/* Derives the paths from cfg (kept by pointer).  0, or -1 (logged). */
int	authflow_init(struct authflow_cfg *ac, const struct config *cfg);

/* GET/POST .../authorize. */
int	authflow_authorize(struct req *r, struct resp *p, const struct authflow_cfg *ac);

#endif
