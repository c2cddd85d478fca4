/*
 * authreq: authorization request rules.  See authreq.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authreq.h"
#include "buf.h"
#include "log.h"

static void	authreq_fail(struct authreq_error *, enum oauth_error, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

static void
authreq_fail(struct authreq_error *e, enum oauth_error err, const char *fmt, ...)
{
	va_list ap;

	e->error = err;
	e->name = oauth_error_name(err);
	va_start(ap, fmt);
	vsnprintf(e->description, sizeof(e->description), fmt, ap);
	va_end(ap);
}

int
authreq_token_syntax_ok(const char *s, size_t max)
{
	size_t n;

	if (s == NULL || *s == '\0')
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];

		if (n >= max)
			return 0;
		if (!isalnum(c) && c != '-' && c != '.' && c != '_' && c != '~')
			return 0;
	}
	return 1;
}

int
authreq_read_client(const struct form *f, struct authreq *a, struct authreq_error *e)
{
	memset(a, 0, sizeof(*a));
	a->max_age = -1;
	memset(e, 0, sizeof(*e));
	if (form_count(f, "client_id") > 1) {
		authreq_fail(e, OAUTH_INVALID_REQUEST, "client_id is given more than once");
		return -1;
	}
	if ((a->client_id = form_get_nonempty(f, "client_id")) == NULL) {
		authreq_fail(e, OAUTH_INVALID_REQUEST, "client_id is required");
		return -1;
	}
	if (strlen(a->client_id) > AUTHREQ_MAX_CLIENT_ID) {
		authreq_fail(e, OAUTH_INVALID_CLIENT, "unknown client");
		return -1;
	}
	if (form_count(f, "redirect_uri") > 1) {
		authreq_fail(e, OAUTH_INVALID_REQUEST, "redirect_uri is given more than once");
		return -1;
	}
	if ((a->redirect_uri = form_get_nonempty(f, "redirect_uri")) == NULL) {
		authreq_fail(e, OAUTH_INVALID_REQUEST, "redirect_uri is required");
		return -1;
	}
	return 0;
}

int
authreq_aud_ok(const char *aud, const char *fhir_base)
{
	size_t a, b;

	if (aud == NULL || fhir_base == NULL || *fhir_base == '\0')
		return 0;
	if (strcmp(aud, fhir_base) == 0)
		return 1;
	/* One trailing slash difference, either way, and nothing else. */
	a = strlen(aud);
	b = strlen(fhir_base);
	if (a == b + 1 && aud[a - 1] == '/' && strncmp(aud, fhir_base, b) == 0)
		return b == 0 || fhir_base[b - 1] != '/';
	if (b == a + 1 && fhir_base[b - 1] == '/' && strncmp(aud, fhir_base, a) == 0)
		return a == 0 || aud[a - 1] != '/';
	return 0;
}

int
authreq_challenge_ok(const char *challenge)
{
	size_t n;

	if (challenge == NULL)
		return 0;
	for (n = 0; challenge[n] != '\0'; n++) {
		unsigned char c = (unsigned char)challenge[n];

		if (n >= 128 || (!isalnum(c) && c != '-' && c != '_'))
			return 0;
	}
	return n >= 43;
}

int
authreq_prompt_parse(const char *s, unsigned *flags)
{
	const char *p = s, *end;
	size_t n;

	*flags = 0;
	if (s == NULL)
		return 0;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, ' ');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n == 4 && strncmp(p, "none", 4) == 0)
			*flags |= AUTHREQ_PROMPT_NONE;
		else if (n == 5 && strncmp(p, "login", 5) == 0)
			*flags |= AUTHREQ_PROMPT_LOGIN;
		else if (n == 7 && strncmp(p, "consent", 7) == 0)
			*flags |= AUTHREQ_PROMPT_CONSENT;
		else
			return -1;
		p += n;
	}
	/* OIDC Core §3.1.2.1: none with any other value is an error. */
	if ((*flags & AUTHREQ_PROMPT_NONE) && *flags != AUTHREQ_PROMPT_NONE)
		return -1;
	return 0;
}

static const char *const authreq_single[] = {
	"client_id", "redirect_uri", "response_type", "state", "scope", "aud",
	"code_challenge", "code_challenge_method", "nonce", "launch", "prompt",
	"max_age", "login_hint", "response_mode", "request", "request_uri",
	"id_token_hint", "display", "ui_locales", "claims", "acr_values", "resource",
	NULL
};

int
authreq_validate(const struct form *f, const char *fhir_base, struct authreq *a,
    struct authreq_error *e)
{
	const char *rep, *v, *method;
	struct scope_set *set;
	struct scope_err serr;
	size_t i;

	memset(e, 0, sizeof(*e));
	/* state first, so that every later error can echo it. */
	if (form_count(f, "state") == 1 && (v = form_get_nonempty(f, "state")) != NULL &&
	    strlen(v) <= AUTHREQ_MAX_STATE)
		a->state = v;
	if ((rep = form_first_repeated(f, authreq_single)) != NULL) {
		authreq_fail(e, OAUTH_INVALID_REQUEST, "%s is given more than once", rep);
		return -1;
	}

	if ((a->response_type = form_get_nonempty(f, "response_type")) == NULL) {
		authreq_fail(e, OAUTH_INVALID_REQUEST, "response_type is required");
		return -1;
	}
	if (strcmp(a->response_type, "code") != 0) {
		authreq_fail(e, OAUTH_UNSUPPORTED_RESPONSE_TYPE,
		    "only response_type=code is supported");
		return -1;
	}

	if ((v = form_get_nonempty(f, "state")) == NULL) {
		authreq_fail(e, OAUTH_INVALID_REQUEST, "state is required");
		return -1;
	}
	if (a->state == NULL) {
		authreq_fail(e, OAUTH_INVALID_REQUEST, "state is longer than %d bytes",
		    AUTHREQ_MAX_STATE);
		return -1;
	}

	if ((a->aud = form_get_nonempty(f, "aud")) == NULL) {
		authreq_fail(e, OAUTH_INVALID_REQUEST,
		    "aud is required: the FHIR base URL the app will call");
		return -1;
	}
	if (!authreq_aud_ok(a->aud, fhir_base)) {
		authreq_fail(e, OAUTH_INVALID_REQUEST,
		    "aud does not name this server's FHIR base URL");
		return -1;
	}

	/* RFC 7636 §4.3, SMART 2.2: PKCE with S256 is required; plain is refused. */
	if ((a->code_challenge = form_get_nonempty(f, "code_challenge")) == NULL) {
		authreq_fail(e, OAUTH_INVALID_REQUEST, "code_challenge is required (PKCE, S256)");
		return -1;
	}
	if ((method = form_get_nonempty(f, "code_challenge_method")) == NULL) {
		authreq_fail(e, OAUTH_INVALID_REQUEST,
		    "code_challenge_method is required and must be S256");
		return -1;
	}
	if (strcmp(method, "S256") != 0) {
		authreq_fail(e, OAUTH_INVALID_REQUEST,
		    "code_challenge_method must be S256 (plain is not supported)");
		return -1;
	}
	a->code_challenge_method = method;
	if (!authreq_challenge_ok(a->code_challenge)) {
		authreq_fail(e, OAUTH_INVALID_REQUEST,
		    "code_challenge must be 43 to 128 base64url characters");
		return -1;
	}

	if ((a->scope = form_get_nonempty(f, "scope")) == NULL) {
		authreq_fail(e, OAUTH_INVALID_SCOPE, "scope is required");
		return -1;
	}
	if ((set = scope_parse(a->scope, &serr)) == NULL) {
		if (serr.code == SCOPE_E_NOMEM) {
			authreq_fail(e, OAUTH_SERVER_ERROR, "out of memory");
			return -1;
		}
		authreq_fail(e, OAUTH_INVALID_SCOPE, "scope is malformed: %s", serr.why);
		return -1;
	}
	scope_set_free(set);

	if ((v = form_get_nonempty(f, "nonce")) != NULL) {
		if (strlen(v) > AUTHREQ_MAX_NONCE) {
			authreq_fail(e, OAUTH_INVALID_REQUEST, "nonce is longer than %d bytes",
			    AUTHREQ_MAX_NONCE);
			return -1;
		}
		a->nonce = v;
	}

	if ((v = form_get_nonempty(f, "launch")) != NULL) {
		if (!authreq_token_syntax_ok(v, AUTHREQ_MAX_LAUNCH)) {
			authreq_fail(e, OAUTH_INVALID_REQUEST,
			    "launch id is unknown, expired or already used");
			return -1;
		}
		a->launch = v;
	}

	if (authreq_prompt_parse(form_get_nonempty(f, "prompt"), &a->prompt) == -1) {
		authreq_fail(e, OAUTH_INVALID_REQUEST,
		    "prompt must be none, or any of login and consent");
		return -1;
	}

	if ((v = form_get_nonempty(f, "max_age")) != NULL) {
		long n = 0;

		for (i = 0; v[i] != '\0'; i++) {
			if (!isdigit((unsigned char)v[i]) || i >= 9) {
				authreq_fail(e, OAUTH_INVALID_REQUEST,
				    "max_age must be a number of seconds");
				return -1;
			}
			n = n * 10 + (v[i] - '0');
		}
		a->max_age = n;
	}

	if ((v = form_get_nonempty(f, "response_mode")) != NULL && strcmp(v, "query") != 0) {
		authreq_fail(e, OAUTH_INVALID_REQUEST, "only response_mode=query is supported");
		return -1;
	}

	/* OIDC Core §6: request objects are not supported. */
	if (form_get_nonempty(f, "request") != NULL) {
		authreq_fail(e, OAUTH_INVALID_REQUEST, "request objects are not supported");
		e->name = "request_not_supported";
		return -1;
	}
	if (form_get_nonempty(f, "request_uri") != NULL) {
		authreq_fail(e, OAUTH_INVALID_REQUEST, "request_uri is not supported");
		e->name = "request_uri_not_supported";
		return -1;
	}

	if ((v = form_get_nonempty(f, "login_hint")) != NULL && strlen(v) <= AUTHREQ_MAX_HINT)
		a->login_hint = v;
	return 0;
}

/* ---- scope negotiation ---- */

static int
authreq_drop(struct authreq_offer *o, const char *scope, const char *why)
{
	struct authreq_dropped *nv;

	if ((nv = realloc(o->dropped, (o->ndropped + 1) * sizeof(*nv))) == NULL)
		return -1;
	o->dropped = nv;
	if ((nv[o->ndropped].scope = strdup(scope)) == NULL)
		return -1;
	nv[o->ndropped].why = why;
	o->ndropped++;
	return 0;
}

static int
authreq_set_has_text(const struct scope_set *set, const char *text)
{
	size_t i;

	for (i = 0; set != NULL && i < set->n; i++)
		if (strcmp(set->v[i].text, text) == 0)
			return 1;
	return 0;
}

/* Parses the texts collected in b (space-separated) into an owned set. */
static struct scope_set *
authreq_set_from(struct buf *b)
{
	struct scope_err err;

	if (b->failed)
		return NULL;
	return scope_parse(b->data != NULL ? b->data : "", &err);
}

int
authreq_negotiate(const struct scope_set *requested, const char *client_scope,
    int may_refresh, int ehr_launch, struct authreq_offer *out)
{
	struct scope_set *allowed = NULL, *covered = NULL;
	struct buf keep = { 0 };
	const struct scope *sc;
	struct scope_err err;
	const char *why;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < requested->nunknown; i++)
		if (authreq_drop(out, requested->unknown[i],
		    "not a permission this server knows") == -1)
			goto out;
	if (client_scope != NULL) {
		if ((allowed = scope_parse(client_scope, &err)) == NULL) {
			if (err.code == SCOPE_E_NOMEM)
				goto out;
			log_warn("the client's registered scope is malformed; nothing is allowed");
			if ((allowed = scope_set_new()) == NULL)
				goto out;
		}
		if ((covered = scope_set_intersect(requested, allowed)) == NULL)
			goto out;
	}
	for (i = 0; i < requested->n; i++) {
		sc = &requested->v[i];
		why = NULL;
		if (sc->kind == SCOPE_RESOURCE && sc->context == SCOPE_CTX_SYSTEM)
			why = "system permissions are for backend services only";
		else if ((sc->kind == SCOPE_OFFLINE || sc->kind == SCOPE_ONLINE) && !may_refresh)
			why = "this app may not keep access after the session";
		else if (sc->kind == SCOPE_LAUNCH && !ehr_launch)
			why = "the app was not launched from an EHR";
		else if (covered != NULL && !authreq_set_has_text(covered, sc->text))
			why = "not allowed for this app";
		if (why != NULL) {
			if (authreq_drop(out, sc->text, why) == -1)
				goto out;
			continue;
		}
		if (keep.len > 0)
			buf_puts(&keep, " ");
		buf_puts(&keep, sc->text);
	}
	if ((out->offered = authreq_set_from(&keep)) == NULL)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		log_err("out of memory");
		authreq_offer_free(out);
	}
	buf_free(&keep);
	scope_set_free(allowed);
	scope_set_free(covered);
	return rc;
}

void
authreq_offer_free(struct authreq_offer *o)
{
	size_t i;

	if (o == NULL)
		return;
	scope_set_free(o->offered);
	for (i = 0; i < o->ndropped; i++)
		free(o->dropped[i].scope);
	free(o->dropped);
	memset(o, 0, sizeof(*o));
}

struct scope_set *
authreq_narrow(const struct scope_set *offered, const struct form *f)
{
	struct buf keep = { 0 };
	struct scope_set *out;
	size_t i, j;

	for (i = 0; offered != NULL && i < offered->n; i++) {
		for (j = 0; j < f->n; j++)
			if (strcmp(f->v[j].name, "scope") == 0 &&
			    strcmp(f->v[j].value, offered->v[i].text) == 0)
				break;
		if (j == f->n)
			continue;
		if (keep.len > 0)
			buf_puts(&keep, " ");
		buf_puts(&keep, offered->v[i].text);
	}
	out = authreq_set_from(&keep);
	buf_free(&keep);
	return out;
}

int
authreq_consent_covers(const struct scope_set *offered, const char *remembered)
{
	struct scope_set *rem, *cov;
	struct scope_err err;
	int ok;

	if (offered == NULL || remembered == NULL)
		return 0;
	if ((rem = scope_parse(remembered, &err)) == NULL)
		return 0;
	if ((cov = scope_set_intersect(offered, rem)) == NULL) {
		scope_set_free(rem);
		return 0;
	}
	ok = cov->n == offered->n;
	scope_set_free(cov);
	scope_set_free(rem);
	return ok;
}

int
authreq_needs_patient(const struct scope_set *set)
{
	size_t i;

	if (scope_set_has(set, SCOPE_LAUNCH_PATIENT))
		return 1;
	for (i = 0; set != NULL && i < set->n; i++)
		if (set->v[i].kind == SCOPE_RESOURCE && set->v[i].context == SCOPE_CTX_PATIENT)
			return 1;
	return 0;
}

int
authreq_online_only(const struct scope_set *set)
{
	return scope_set_has(set, SCOPE_ONLINE) && !scope_set_has(set, SCOPE_OFFLINE);
}

/* ---- URLs ---- */

char *
authreq_redirect_url(const char *redirect_uri, const char *const *kv)
{
	struct buf b = { 0 };
	size_t base, i;
	const char *hash, *q;
	char *enc;
	int first = 1;

	/* A fragment never belongs to a redirect URI (RFC 6749 §3.1.2); drop it. */
	hash = strchr(redirect_uri, '#');
	base = hash != NULL ? (size_t)(hash - redirect_uri) : strlen(redirect_uri);
	buf_append(&b, redirect_uri, base);
	q = memchr(redirect_uri, '?', base);
	for (i = 0; kv[i] != NULL; i += 2) {
		if (kv[i + 1] == NULL)
			continue;
		if (first) {
			if (q == NULL)
				buf_puts(&b, "?");
			else if (base > 0 && redirect_uri[base - 1] != '?' &&
			    redirect_uri[base - 1] != '&')
				buf_puts(&b, "&");
			first = 0;
		} else
			buf_puts(&b, "&");
		if ((enc = form_encode(kv[i])) == NULL)
			goto fail;
		buf_puts(&b, enc);
		free(enc);
		buf_puts(&b, "=");
		if ((enc = form_encode(kv[i + 1])) == NULL)
			goto fail;
		buf_puts(&b, enc);
		free(enc);
	}
	if (b.failed)
		goto fail;
	if (b.data == NULL)
		return strdup("");
	return b.data;
fail:
	log_err("out of memory");
	buf_free(&b);
	return NULL;
}

int
authreq_origin(const char *uri, char *out, size_t outsz)
{
	size_t i, s, a;
	int web;

	if (uri == NULL || !isalpha((unsigned char)uri[0]))
		return -1;
	for (s = 1; uri[s] != '\0' && uri[s] != ':'; s++)
		if (!isalnum((unsigned char)uri[s]) && uri[s] != '+' && uri[s] != '-' &&
		    uri[s] != '.')
			return -1;
	if (uri[s] != ':' || s > 64)
		return -1;
	web = (s == 4 && strncasecmp(uri, "http", 4) == 0) ||
	    (s == 5 && strncasecmp(uri, "https", 5) == 0);
	if (!web) {
		/* A private-use scheme (RFC 8252 §7.1): the scheme source "x:". */
		if (s + 2 > outsz)
			return -1;
		for (i = 0; i < s; i++)
			out[i] = (char)tolower((unsigned char)uri[i]);
		out[s] = ':';
		out[s + 1] = '\0';
		return 0;
	}
	if (strncmp(uri + s, "://", 3) != 0)
		return -1;
	a = s + 3;
	for (i = a; uri[i] != '\0' && uri[i] != '/' && uri[i] != '?' && uri[i] != '#'; i++) {
		unsigned char c = (unsigned char)uri[i];

		/* host, port, IPv6 brackets; no userinfo, nothing a header could misread */
		if (!isalnum(c) && c != '.' && c != '-' && c != ':' && c != '[' && c != ']')
			return -1;
	}
	if (i == a || i - a > 255 || s + 3 + (i - a) + 1 > outsz)
		return -1;
	for (i = 0; i < s; i++)
		out[i] = (char)tolower((unsigned char)uri[i]);
	memcpy(out + s, "://", 3);
	for (i = a; uri[i] != '\0' && uri[i] != '/' && uri[i] != '?' && uri[i] != '#'; i++)
		out[s + 3 + (i - a)] = (char)tolower((unsigned char)uri[i]);
	out[s + 3 + (i - a)] = '\0';
	return 0;
}
