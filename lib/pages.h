/*
 * pages: the HTML pages of the authorization endpoint (DESIGN §2a):
 * login, patient picker, encounter picker, consent, error, logout and
 * the list of remembered consents, plus the smart_style_url document.
 *
 * Plain HTML forms with inline CSS: no JavaScript, no external resource,
 * readable on a phone (viewport meta), labels on every input, WCAG AA
 * contrast.  Every interpolated value goes through http_html_escape().
 * Every form carries the hidden fields "request" and "csrf" (logout and
 * consents pages: "csrf") that the endpoint checks on POST.
 *
 * Every page, error pages and redirects included, gets the headers of
 * pages_headers(): X-Frame-Options DENY, a restrictive CSP whose
 * form-action allows the client's redirect-URI origin (Chromium applies
 * form-action to the redirect that follows a form POST, DESIGN §2a),
 * Cache-Control no-store, Referrer-Policy no-referrer, nosniff.  No CORS
 * header is ever set here (RFC 9700 §2.6).
 *
 * Owns nothing beyond the response it fills; never reads the database.
 */
#ifndef SMARTAUTH_PAGES_H
#define SMARTAUTH_PAGES_H

#include <stddef.h>

#include "authreq.h"
#include "authstore.h"
#include "http.h"
#include "scope.h"

/* What every page of one authorization request shares. */
struct pages_frame {
	const char	*action;	/* path the forms post to (".../auth/authorize") */
	const char	*request_id;	/* hidden "request" */
	const char	*csrf;		/* hidden "csrf" */
	const char	*client_name;
	const char	*origin;	/* extra CSP form-action source, NULL for 'self' only */
};

/* The security headers above; origin as in struct pages_frame. */
void	pages_headers(struct resp *p, const char *origin);

/* An error page (never a redirect). */
int	pages_error(struct resp *p, int status, const char *title, const char *message,
	    const char *origin);
/* 503 page with Retry-After (database unavailable). */
int	pages_unavailable(struct resp *p, int retry_after);
/* A page with a title and one paragraph (signed out, nothing to do...). */
int	pages_message(struct resp *p, int status, const char *title, const char *message);

/* Login: username prefilled (may be NULL); notice/error paragraphs may be NULL. */
int	pages_login(struct resp *p, int status, const struct pages_frame *f, const char *username,
	    const char *notice, const char *error);

/* Patient picker; searchable adds the search box "q". */
int	pages_patients(struct resp *p, const struct pages_frame *f, const struct authstore_list *l,
	    const char *q, int searchable, const char *error);

/* Encounter picker for one patient. */
int	pages_encounters(struct resp *p, const struct pages_frame *f, const char *patient_label,
	    const struct authstore_list *l, const char *error);

/* A requested scope the consent page lists as not available, and why. */
struct pages_dropped {
	const char	*scope;
	const char	*why;
};

struct pages_consent {
	const struct scope_set		*offered;
	const struct pages_dropped	*dropped;
	size_t				 ndropped;
	const char			*user_name;
	const char			*patient_label;	/* NULL: no patient */
	const char			*encounter_label; /* NULL: no encounter */
	const char			*consents_path;	/* where consents can be withdrawn */
	const char			*error;
	int				 for_patient;	/* 1: the user is not the patient (a
							 * clinician): "the patient's records",
							 * not "your records" */
};
int	pages_consent(struct resp *p, const struct pages_frame *f, const struct pages_consent *c);

/* Logout confirmation (user_name NULL: not signed in, no form). */
int	pages_logout(struct resp *p, const char *action, const char *csrf, const char *user_name);

/* Remembered consents of a signed-in user, each with a revoke form. */
int	pages_consents(struct resp *p, const char *action, const char *csrf, const char *user_name,
	    const struct authstore_consents *list, const char *notice);

/* The smart_style_url document (SMART 2.2 "Styling"), with CORS for apps. */
int	pages_style(struct resp *p);

#endif
