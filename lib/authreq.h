/*
 * authreq: the pure rules of the authorization endpoint (RFC 6749 §4.1.1,
 * §4.1.2.1, RFC 7636 §4.3, RFC 9207, OpenID Connect Core §3.1.2.1, SMART
 * App Launch 2.2 §"Authorize request"), kept apart from the database and
 * the pages so that each rule is driven by a table in the unit tests.
 *
 * Validation happens in two phases, because what may be done with an
 * error depends on whether the redirect URI can be trusted yet:
 *
 *   1. authreq_read_client(): client_id and redirect_uri are present and
 *      given once.  Errors here (and an unknown client or an unregistered
 *      redirect URI, which the caller checks next) are shown as an error
 *      page and NEVER redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.11.2).
 *   2. authreq_validate(): with the redirect URI trusted, every other rule
 *      in this order: repeated parameters, response_type, state, aud,
 *      PKCE, scope, nonce, launch, prompt, max_age, response_mode, request
 *      objects.  Errors here go back to the client as error redirects.
 *
 * Then authreq_negotiate() decides which requested scopes can be offered
 * and says why the others were dropped, and the helpers below build the
 * redirect URL, the CSP source of the client's origin and the granted
 * scope after the user narrowed it on the consent page.
 *
 * Owns: nothing global; each function documents what it returns.  Never
 * does: talk to the database, log parameter values (they may be hostile),
 * or decide who the user is.
 *
 * Choices: aud may differ from the FHIR base by one trailing slash
 * (clients derive it from "iss", and some append "/"); nothing else is
 * normalised.  state is echoed byte for byte and capped at
 * AUTHREQ_MAX_STATE bytes.
 */
#ifndef SMARTAUTH_AUTHREQ_H
#define SMARTAUTH_AUTHREQ_H

#include <stddef.h>

#include "form.h"
#include "oauth.h"
#include "scope.h"

#define AUTHREQ_MAX_STATE	2048
#define AUTHREQ_MAX_NONCE	512
#define AUTHREQ_MAX_LAUNCH	256
#define AUTHREQ_MAX_HINT	256
#define AUTHREQ_MAX_CLIENT_ID	256

/* prompt values (OpenID Connect Core §3.1.2.1) */
#define AUTHREQ_PROMPT_NONE	0x1u
#define AUTHREQ_PROMPT_LOGIN	0x2u
#define AUTHREQ_PROMPT_CONSENT	0x4u

/* The parameters of one authorization request; strings borrowed from the form. */
struct authreq {
	const char	*client_id;
	const char	*redirect_uri;
	const char	*response_type;
	const char	*state;		/* NULL when absent or ambiguous */
	const char	*scope;
	const char	*aud;
	const char	*code_challenge;
	const char	*code_challenge_method;
	const char	*nonce;		/* NULL when absent */
	const char	*launch;	/* NULL: standalone launch */
	const char	*login_hint;	/* NULL when absent */
	unsigned	 prompt;	/* AUTHREQ_PROMPT_* bits */
	long		 max_age;	/* -1 when absent */
};

/* Why a request was refused: an OAuth error (or an OIDC one by name). */
struct authreq_error {
	enum oauth_error error;
	const char	*name;		/* wire name: oauth_error_name() or an OIDC one */
	char		 description[200];
};

/*
 * Phase 1.  Fills a->client_id and a->redirect_uri from f.  Returns 0, or
 * -1 with e filled: the caller shows an error page (status 400).
 */
int	authreq_read_client(const struct form *f, struct authreq *a, struct authreq_error *e);

/*
 * Phase 2, once the redirect URI is trusted.  fhir_base is the server's
 * FHIR base (no trailing slash).  Returns 0, or -1 with e filled; a->state
 * is set as early as possible so the error redirect can echo it.
 */
int	authreq_validate(const struct form *f, const char *fhir_base, struct authreq *a,
	    struct authreq_error *e);

/* 1 when aud names fhir_base (exactly, or with one extra trailing '/'). */
int	authreq_aud_ok(const char *aud, const char *fhir_base);
/* 1 when challenge is 43..128 characters of the base64url alphabet. */
int	authreq_challenge_ok(const char *challenge);
/* Parses a space-separated prompt value; 0, or -1 (unknown value, or none with others). */
int	authreq_prompt_parse(const char *s, unsigned *flags);

/* A requested scope that will not be offered, and why (static text). */
struct authreq_dropped {
	char		*scope;		/* owned */
	const char	*why;
};

/* The outcome of negotiation; free with authreq_offer_free. */
struct authreq_offer {
	struct scope_set	*offered;	/* what the consent page may grant */
	struct authreq_dropped	*dropped;
	size_t			 ndropped;
};

/*
 * Which of the requested scopes can be offered: unknown tokens, scopes
 * outside client_scope (when not NULL: scope_set_intersect), system/
 * scopes (no user flow grants them), offline_access/online_access when
 * the client may not refresh, and launch without an EHR launch are
 * dropped.  Returns 0 and fills out, or -1 on out of memory.
 */
int	authreq_negotiate(const struct scope_set *requested, const char *client_scope,
	    int may_refresh, int ehr_launch, struct authreq_offer *out);
void	authreq_offer_free(struct authreq_offer *o);

/*
 * The offered scopes whose text is among the values of the form's
 * "scope" fields (what stayed checked on the consent page), in offered
 * order.  Owned set (possibly empty), NULL on out of memory.
 */
struct scope_set *authreq_narrow(const struct scope_set *offered, const struct form *f);

/* 1 when remembered (space-separated scopes) covers every offered scope. */
int	authreq_consent_covers(const struct scope_set *offered, const char *remembered);

/* 1 when the grant needs a patient in context (launch/patient or a patient/ scope). */
int	authreq_needs_patient(const struct scope_set *set);
/* 1 when online_access is granted without offline_access. */
int	authreq_online_only(const struct scope_set *set);

/*
 * redirect_uri with the given parameters appended (names and values
 * percent-encoded): "?" when it has no query yet, "&" otherwise (nothing
 * when it already ends in "?" or "&").  kv is name, value, ..., NULL; a
 * NULL value skips its pair.  Owned string, NULL on out of memory.
 */
char	*authreq_redirect_url(const char *redirect_uri, const char *const *kv);

/*
 * The CSP source naming the origin of uri ("https://app.example:8443",
 * or "com.example.app:" for a private-use scheme) into out.  0, or -1
 * when uri has no usable origin or holds characters that could break the
 * header (then the caller allows 'self' only).
 */
int	authreq_origin(const char *uri, char *out, size_t outsz);

/* 1 when s is 1..max characters of [A-Za-z0-9-._~] (opaque ids we issue or accept). */
int	authreq_token_syntax_ok(const char *s, size_t max);

#endif
