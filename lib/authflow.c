/*
 * authflow: the authorization endpoint's flow.  See authflow.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "authflow.h"
#include "authreq.h"
#include "authstore.h"
#include "client.h"
#include "crypto.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "login.h"
#include "pages.h"
#include "session.h"

#define FLOW_PICKER_LIMIT	50	/* patients or encounters listed at once */
#define FLOW_SEARCH_ABOVE	20	/* more patients than this: offer a search box */
#define FLOW_RETRY_AFTER	5	/* seconds, on 503 */
#define FLOW_BROWSER_MAX_AGE	86400

/* One request through the endpoint. */
struct flow {
	struct req			*r;
	struct resp			*p;
	const struct authflow_cfg	*ac;
	const struct config		*cfg;
	int				 post;		/* answer redirects with 303 */
	struct client			*client;
	const char			*client_name;
	const char			*redirect_uri;	/* trusted once set */
	const char			*state;
	char				 origin[300];
	const char			*originp;	/* NULL or origin */
	struct authstore_req		 row;
	int				 have_row;
	char				*request_id;	/* plaintext, for the pages */
	char				*csrf;		/* plaintext, for the pages */
	struct authstore_user		 user;
	int				 have_user;
	struct scope_set		*offered;
};

static void
flow_free(struct flow *f)
{
	client_free(f->client);
	authstore_req_clear(&f->row);
	if (f->request_id != NULL)
		crypto_wipe(f->request_id, strlen(f->request_id));
	free(f->request_id);
	if (f->csrf != NULL)
		crypto_wipe(f->csrf, strlen(f->csrf));
	free(f->csrf);
	authstore_user_clear(&f->user);
	scope_set_free(f->offered);
}

/* ---- small helpers ---- */

static void
flow_audit(struct flow *f, const char *event, const char *outcome, const char *k1,
    const char *v1, const char *k2, const char *v2)
{
	cJSON *d = cJSON_CreateObject();
	const char *user = f->have_row ? f->row.user_id : NULL;

	if (d != NULL && k1 != NULL && v1 != NULL)
		cJSON_AddStringToObject(d, k1, v1);
	if (d != NULL && k2 != NULL && v2 != NULL)
		cJSON_AddStringToObject(d, k2, v2);
	audit_event(event, outcome, user, f->client != NULL ? f->client->id : NULL,
	    f->r->remote_addr, d);
	cJSON_Delete(d);
}

static const char *
pget_str(const struct flow *f, const char *key)
{
	return json_get_str(f->row.params, key);
}

static int
pget_bool(const struct flow *f, const char *key)
{
	int b = 0;

	return json_get_bool(f->row.params, key, &b) == 0 && b;
}

static long long
pget_int(const struct flow *f, const char *key, long long def)
{
	long long v;

	return json_get_int(f->row.params, key, &v) == 0 ? v : def;
}

static int
pset(struct flow *f, const char *key, cJSON *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(f->row.params, key);
	if (v == NULL)
		return 0;
	return cJSON_AddItemToObject(f->row.params, key, v) ? 0 : -1;
}

static int
pset_str(struct flow *f, const char *key, const char *s)
{
	cJSON *v;

	if (s == NULL)
		return pset(f, key, NULL);
	if ((v = cJSON_CreateString(s)) == NULL)
		return -1;
	return pset(f, key, v);
}

static int
pset_bool(struct flow *f, const char *key, int b)
{
	cJSON *v;

	if ((v = cJSON_CreateBool(b)) == NULL)
		return -1;
	return pset(f, key, v);
}

static int
replace(char **dst, const char *src)
{
	char *n = NULL;

	if (src != NULL && (n = strdup(src)) == NULL)
		return -1;
	free(*dst);
	*dst = n;
	return 0;
}

static char *
flow_cookie(struct flow *f, const char *name)
{
	return session_cookie_get(http_header(f->r, "Cookie"), name);
}

static int
flow_set_cookie(struct flow *f, const char *name, const char *value, long max_age)
{
	char *h;
	int rc;

	if ((h = session_cookie_header(name, value, f->ac->cookie_path, f->r->https,
	    max_age)) == NULL)
		return -1;
	rc = http_resp_header(f->p, "Set-Cookie", h);
	free(h);
	return rc;
}

/* The browser id cookie: existing, or a new one set on this response.  Owned. */
static char *
flow_browser_id(struct flow *f)
{
	char *id;

	if ((id = flow_cookie(f, SESSION_BROWSER_COOKIE)) != NULL)
		return id;
	if ((id = crypto_token_new()) == NULL)
		return NULL;
	if (flow_set_cookie(f, SESSION_BROWSER_COOKIE, id, FLOW_BROWSER_MAX_AGE) == -1) {
		free(id);
		return NULL;
	}
	return id;
}

/* Binds the request to this browser's id cookie (set now when missing). */
static int
flow_bind_browser(struct flow *f)
{
	char *id, *h = NULL;
	int rc = -1;

	if ((id = flow_browser_id(f)) != NULL && (h = crypto_sha256_hex(id)) != NULL)
		rc = pset_str(f, "browser", h);
	free(id);
	free(h);
	return rc;
}

static void
flow_trust(struct flow *f, const char *redirect_uri)
{
	f->redirect_uri = redirect_uri;
	f->originp = authreq_origin(redirect_uri, f->origin, sizeof(f->origin)) == 0 ?
	    f->origin : NULL;
}

static const char *
flow_client_name(const struct client *c)
{
	const char *n = json_get_str(c->resource, "name");

	return n != NULL && *n != '\0' ? n : c->id;
}

/* ---- responses ---- */

static int
flow_page_error(struct flow *f, int status, const char *title, const char *message)
{
	return pages_error(f->p, status, title, message, f->originp);
}

static int
flow_db_error(struct flow *f)
{
	if (db_unavailable())
		return pages_unavailable(f->p, FLOW_RETRY_AFTER);
	return flow_page_error(f, 500, "Something went wrong",
	    "The sign-in service could not complete this step. Please go back to the app "
	    "and try again.");
}

static int
flow_location(struct flow *f, const char *url)
{
	pages_headers(f->p, f->originp);
	if (url == NULL || http_resp_header(f->p, "Location", url) == -1)
		return -1;
	/* RFC 9700 §4.12: 303 after a form POST, so the browser GETs the target. */
	http_resp_status(f->p, f->post ? 303 : 302);
	buf_reset(&f->p->body);
	return 0;
}

/* RFC 6749 §4.1.2.1 error response to the trusted redirect URI, with iss (RFC 9207). */
static int
flow_error_redirect(struct flow *f, const char *error, const char *description)
{
	const char *kv[] = { "error", error, "error_description", description,
	    "state", f->state, "iss", f->cfg->fhir_base, NULL };
	char *url;
	int rc;

	flow_audit(f, "authorize", "failure", "error", error, "error_description", description);
	if (f->have_row && authstore_req_finish(f->row.hash) == -1)
		log_warn("could not mark an authorization request completed");
	url = authreq_redirect_url(f->redirect_uri, kv);
	rc = flow_location(f, url);
	free(url);
	return rc;
}

static int
flow_oauth_redirect(struct flow *f, enum oauth_error e, const char *description)
{
	return flow_error_redirect(f, oauth_error_name(e), description);
}

static void
flow_frame(struct flow *f, struct pages_frame *fr)
{
	fr->action = f->ac->action;
	fr->request_id = f->request_id;
	fr->csrf = f->csrf;
	fr->client_name = f->client_name;
	fr->origin = f->originp;
}

/* Records the page being shown and saves the request; -1 after answering. */
static int
flow_save(struct flow *f, const char *page)
{
	int rc;

	if (page != NULL && pset_str(f, "page", page) == -1)
		return -1;
	if ((rc = authstore_req_save(&f->row)) == 1)
		return 0;
	if (rc == 0)
		flow_page_error(f, 400, "Sign-in already finished",
		    "This sign-in request was already completed. Go back to the app and start again.");
	else
		flow_db_error(f);
	return -1;
}

/* ---- pages ---- */

static int
flow_show_login(struct flow *f, int status, const char *username, const char *notice,
    const char *error)
{
	struct pages_frame fr;

	if (flow_save(f, "login") == -1)
		return 0;
	flow_frame(f, &fr);
	if (username == NULL)
		username = pget_str(f, "login_hint");
	return pages_login(f->p, status, &fr, username, notice, error);
}

static int
flow_show_patients(struct flow *f, const char *q, const char *error)
{
	struct authstore_list l;
	struct pages_frame fr;
	int rc;

	if (authstore_patients(q, FLOW_PICKER_LIMIT, &l) == -1)
		return flow_db_error(f);
	if (flow_save(f, "patient") == -1) {
		authstore_list_clear(&l);
		return 0;
	}
	flow_frame(f, &fr);
	rc = pages_patients(f->p, &fr, &l, q, l.total > FLOW_SEARCH_ABOVE || (q != NULL && *q != '\0'),
	    error);
	authstore_list_clear(&l);
	return rc;
}

static int
flow_show_encounters(struct flow *f, const struct authstore_list *l, const char *error)
{
	struct authstore_item pt;
	struct pages_frame fr;
	int rc;

	if ((rc = authstore_patient_get(f->row.patient_id, &pt)) == -1)
		return flow_db_error(f);
	if (flow_save(f, "encounter") == -1) {
		authstore_item_clear(&pt);
		return 0;
	}
	flow_frame(f, &fr);
	rc = pages_encounters(f->p, &fr, rc == 1 ? pt.label : f->row.patient_id, l, error);
	authstore_item_clear(&pt);
	return rc;
}

static int
flow_show_consent(struct flow *f, const char *error)
{
	struct pages_dropped *dropped = NULL;
	const cJSON *arr = json_get_arr(f->row.params, "dropped"), *e;
	struct authstore_item pt = { 0 };
	struct pages_consent c;
	struct pages_frame fr;
	char pt_label[300], enc_label[300], pt_ref[300];
	const char *enc;
	size_t n = 0;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	if (arr != NULL && cJSON_GetArraySize(arr) > 0 &&
	    (dropped = calloc((size_t)cJSON_GetArraySize(arr), sizeof(*dropped))) == NULL)
		goto out;
	cJSON_ArrayForEach(e, arr) {
		const char *s = json_get_str(e, "scope"), *w = json_get_str(e, "why");

		if (s == NULL || w == NULL)
			continue;
		dropped[n].scope = s;
		dropped[n].why = w;
		n++;
	}
	if (f->row.patient_id != NULL) {
		if (authstore_patient_get(f->row.patient_id, &pt) == -1) {
			rc = flow_db_error(f);
			goto out;
		}
		if (pt.label != NULL && pt.date != NULL && *pt.date != '\0')
			snprintf(pt_label, sizeof(pt_label), "%s (born %s)", pt.label, pt.date);
		else
			snprintf(pt_label, sizeof(pt_label), "%s", pt.label != NULL ? pt.label :
			    f->row.patient_id);
		c.patient_label = pt_label;
		/* A clinician (or anyone but the patient) chooses for the patient. */
		snprintf(pt_ref, sizeof(pt_ref), "Patient/%s", f->row.patient_id);
		c.for_patient = !(f->have_user && f->user.fhir_user != NULL &&
		    strcmp(f->user.fhir_user, pt_ref) == 0);
		/* The visit: picked (standalone), or given by the EHR's launch. */
		if ((enc = pget_str(f, "encounter")) == NULL && pget_bool(f, "ehr") &&
		    (enc = json_get_str(json_get_obj(f->row.params, "launch"), "encounter")) != NULL &&
		    strncmp(enc, "Encounter/", 10) == 0)
			enc += 10;
		if (enc != NULL && *enc != '\0') {
			struct authstore_list l;
			size_t i;

			snprintf(enc_label, sizeof(enc_label), "%s", enc);
			if (authstore_encounters(f->row.patient_id, FLOW_PICKER_LIMIT, &l) == 0) {
				for (i = 0; i < l.n; i++)
					if (strcmp(l.v[i].id, enc) == 0)
						snprintf(enc_label, sizeof(enc_label), "%s%s%s (%s)",
						    l.v[i].label, *l.v[i].date != '\0' ? ", " : "",
						    l.v[i].date, enc);
				authstore_list_clear(&l);
			}
			c.encounter_label = enc_label;
		}
	}
	if (flow_save(f, "consent") == -1) {
		rc = 0;
		goto out;
	}
	c.offered = f->offered;
	c.dropped = dropped;
	c.ndropped = n;
	c.user_name = f->have_user ? f->user.name : f->row.user_id;
	c.consents_path = f->ac->consents_path;
	c.error = error;
	flow_frame(f, &fr);
	rc = pages_consent(f->p, &fr, &c);
out:
	authstore_item_clear(&pt);
	free(dropped);
	return rc;
}

/* ---- the code ---- */

/* The token endpoint's launch context (the brief's contract). */
static cJSON *
flow_launch_context(struct flow *f, const struct scope_set *granted)
{
	const cJSON *ctx = json_get_obj(f->row.params, "launch");
	const cJSON *v;
	const char *enc = NULL;
	cJSON *o;
	int ehr = pget_bool(f, "ehr"), banner = 1, patient = 0;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	if (f->row.patient_id != NULL && (ehr || authreq_needs_patient(granted))) {
		cJSON_AddStringToObject(o, "patient", f->row.patient_id);
		patient = 1;
	}
	if (ehr) {
		if ((v = cJSON_GetObjectItemCaseSensitive(ctx, "encounter")) != NULL &&
		    cJSON_IsString(v) && *v->valuestring != '\0')
			enc = strncmp(v->valuestring, "Encounter/", 10) == 0 ?
			    v->valuestring + 10 : v->valuestring;
		if ((v = json_get_arr(ctx, "fhirContext")) != NULL)
			cJSON_AddItemToObject(o, "fhirContext", cJSON_Duplicate(v, 1));
		if ((v = cJSON_GetObjectItemCaseSensitive(ctx, "intent")) != NULL &&
		    cJSON_IsString(v))
			cJSON_AddStringToObject(o, "intent", v->valuestring);
		if ((v = cJSON_GetObjectItemCaseSensitive(ctx, "need_patient_banner")) != NULL &&
		    cJSON_IsBool(v))
			banner = cJSON_IsTrue(v);
	} else if (scope_set_has(granted, SCOPE_LAUNCH_ENCOUNTER))
		enc = pget_str(f, "encounter");
	if (enc != NULL)
		cJSON_AddStringToObject(o, "encounter", enc);
	if (patient)
		cJSON_AddBoolToObject(o, "need_patient_banner", banner);
	cJSON_AddStringToObject(o, "smart_style_url", f->ac->style_url);
	if (f->have_user && f->user.fhir_user != NULL)
		cJSON_AddStringToObject(o, "fhirUser", f->user.fhir_user);
	return o;
}

static int
flow_issue_code(struct flow *f)
{
	struct scope_set *granted = NULL;
	struct authstore_code c;
	struct scope_err serr;
	char *code = NULL, *code_hash = NULL, *ctx_text = NULL, *url = NULL;
	cJSON *ctx = NULL;
	const char *kv[9];
	int rc = -1, issued;

	if ((granted = scope_parse(f->row.granted_scope, &serr)) == NULL ||
	    (ctx = flow_launch_context(f, granted)) == NULL ||
	    (ctx_text = json_print(ctx)) == NULL ||
	    (code = crypto_token_new()) == NULL ||
	    (code_hash = crypto_sha256_hex(code)) == NULL)
		goto out;
	memset(&c, 0, sizeof(c));
	c.client_id = f->row.client_id;
	c.user_id = f->row.user_id;
	c.redirect_uri = f->row.redirect_uri;
	c.scope = f->row.granted_scope;
	c.launch_context = ctx_text;
	c.nonce = f->row.nonce;
	c.code_challenge = f->row.code_challenge;
	c.code_challenge_method = f->row.code_challenge_method;
	c.session_hash = f->row.session_hash;
	c.online_only = authreq_online_only(granted);
	c.lifetime = f->cfg->code_lifetime;
	if ((issued = authstore_code_issue(f->row.hash, &c, code_hash)) == -1) {
		rc = flow_db_error(f);
		goto out;
	}
	if (issued == 0) {
		rc = flow_page_error(f, 400, "Sign-in already finished",
		    "This sign-in request was already completed or has expired. Go back to the app "
		    "and start again.");
		goto out;
	}
	flow_audit(f, "code", "success", "scope", f->row.granted_scope,
	    f->row.patient_id != NULL ? "patient" : NULL, f->row.patient_id);
	kv[0] = "code";
	kv[1] = code;
	kv[2] = "state";
	kv[3] = f->state;
	kv[4] = "iss";
	kv[5] = f->cfg->fhir_base;
	kv[6] = NULL;
	url = authreq_redirect_url(f->redirect_uri, kv);
	rc = flow_location(f, url);
out:
	if (rc == -1)
		log_err("could not issue an authorization code");
	scope_set_free(granted);
	cJSON_Delete(ctx);
	free(ctx_text);
	if (code != NULL)
		crypto_wipe(code, strlen(code));
	free(code);
	free(code_hash);
	if (url != NULL)
		crypto_wipe(url, strlen(url));
	free(url);
	return rc;
}

/* ---- the state machine ---- */

/*
 * Decides the next step of a loaded (or new) request and answers with its
 * page, an error redirect or the code.
 */
static int
flow_advance(struct flow *f)
{
	unsigned prompt = (unsigned)pget_int(f, "prompt", 0);
	long long max_age = pget_int(f, "max_age", -1);
	const char *launch_user = pget_str(f, "launch_user");
	struct session s = { 0 };
	struct authstore_list l = { 0 };
	char *cookie = NULL, *hash = NULL, *remembered = NULL;
	const char *notice = NULL;
	int rc = -1, found, need_login = 0;

	/* 1. Who is signing in. */
	if (f->row.session_hash != NULL) {
		if ((found = session_find(f->row.session_hash, &s)) == -1)
			goto dberr;
		if (found == 0) {
			/* Signed out meanwhile (another tab): sign in again. */
			free(f->row.session_hash);
			free(f->row.user_id);
			f->row.session_hash = f->row.user_id = NULL;
			pset_bool(f, "fresh_login", 0);
			need_login = 1;
		}
	} else if ((prompt & AUTHREQ_PROMPT_LOGIN) && !pget_bool(f, "fresh_login")) {
		need_login = 1;
	} else if ((cookie = flow_cookie(f, SESSION_COOKIE)) == NULL ||
	    (hash = crypto_sha256_hex(cookie)) == NULL) {
		need_login = 1;
	} else if ((found = session_find(hash, &s)) == -1) {
		goto dberr;
	} else if (found == 0) {
		need_login = 1;
	} else if (max_age >= 0 && (long long)time(NULL) - s.auth_time > max_age) {
		need_login = 1;
	} else if (launch_user != NULL && strcmp(launch_user, s.user_id) != 0) {
		notice = "The EHR opened this app for another user. Sign in as that user.";
		need_login = 1;
	} else if (replace(&f->row.session_hash, s.hash) == -1 ||
	    replace(&f->row.user_id, s.user_id) == -1) {
		goto out;
	}
	if (need_login) {
		if (prompt & AUTHREQ_PROMPT_NONE) {
			rc = flow_oauth_redirect(f, OAUTH_LOGIN_REQUIRED, "the user is not signed in");
			goto out;
		}
		rc = flow_show_login(f, 200, NULL, notice, NULL);
		goto out;
	}

	/* 2. An EHR launch is for one user only. */
	if (launch_user != NULL && strcmp(launch_user, f->row.user_id) != 0) {
		rc = flow_oauth_redirect(f, OAUTH_ACCESS_DENIED,
		    "the signed-in user is not the user the EHR launched the app for");
		goto out;
	}
	if (!f->have_user) {
		if ((found = authstore_user_load(f->row.user_id, &f->user)) == -1)
			goto dberr;
		if (found == 0) {
			rc = flow_oauth_redirect(f, OAUTH_ACCESS_DENIED, "the user account is not active");
			goto out;
		}
		f->have_user = 1;
	}

	/* 3. The patient: from the EHR, the user's own record, or the picker. */
	if (f->row.patient_id == NULL && authreq_needs_patient(f->offered)) {
		if (f->user.patient_id != NULL) {
			if (replace(&f->row.patient_id, f->user.patient_id) == -1)
				goto out;
		} else if (prompt & AUTHREQ_PROMPT_NONE) {
			rc = flow_oauth_redirect(f, OAUTH_INTERACTION_REQUIRED,
			    "a patient must be chosen");
			goto out;
		} else {
			rc = flow_show_patients(f, NULL, NULL);
			goto out;
		}
	}

	/* 4. The encounter of a standalone launch/encounter. */
	if (!pget_bool(f, "ehr") && f->row.patient_id != NULL &&
	    scope_set_has(f->offered, SCOPE_LAUNCH_ENCOUNTER) &&
	    pget_str(f, "encounter") == NULL && !pget_bool(f, "encounter_none")) {
		if (authstore_encounters(f->row.patient_id, FLOW_PICKER_LIMIT, &l) == -1)
			goto dberr;
		if (l.n == 0) {
			if (pset_bool(f, "encounter_none", 1) == -1)
				goto out;
		} else if (prompt & AUTHREQ_PROMPT_NONE) {
			rc = flow_oauth_redirect(f, OAUTH_INTERACTION_REQUIRED,
			    "a visit (encounter) must be chosen");
			goto out;
		} else {
			rc = flow_show_encounters(f, &l, NULL);
			goto out;
		}
	}

	/* 5. Consent: remembered, or asked. */
	if (f->row.granted_scope == NULL && !(prompt & AUTHREQ_PROMPT_CONSENT)) {
		if ((found = authstore_consent_get(f->row.user_id, f->row.client_id,
		    &remembered)) == -1)
			goto dberr;
		if (found == 1 && authreq_consent_covers(f->offered, remembered)) {
			if (replace(&f->row.granted_scope, pget_str(f, "offered")) == -1)
				goto out;
			flow_audit(f, "consent", "success", "scope", f->row.granted_scope,
			    "source", "remembered");
		}
	}
	if (f->row.granted_scope == NULL) {
		if (prompt & AUTHREQ_PROMPT_NONE) {
			rc = flow_oauth_redirect(f, OAUTH_CONSENT_REQUIRED,
			    "the user has not allowed this app these permissions");
			goto out;
		}
		rc = flow_show_consent(f, NULL);
		goto out;
	}

	/* 6. Done. */
	rc = flow_issue_code(f);
	goto out;
dberr:
	rc = flow_db_error(f);
out:
	session_clear(&s);
	authstore_list_clear(&l);
	if (cookie != NULL)
		crypto_wipe(cookie, strlen(cookie));
	free(cookie);
	free(hash);
	free(remembered);
	return rc;
}

/* ---- a new request ---- */

static cJSON *
flow_dropped_json(const struct authreq_offer *o)
{
	cJSON *a, *e;
	size_t i;

	if ((a = cJSON_CreateArray()) == NULL)
		return NULL;
	for (i = 0; i < o->ndropped; i++) {
		if ((e = cJSON_CreateObject()) == NULL ||
		    !cJSON_AddItemToArray(a, e) ||
		    cJSON_AddStringToObject(e, "scope", o->dropped[i].scope) == NULL ||
		    cJSON_AddStringToObject(e, "why", o->dropped[i].why) == NULL) {
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

/* Copies what the EHR launch supplied into the request. */
static int
flow_take_launch(struct flow *f, const char *launch_user, cJSON *ctx)
{
	const char *pt = json_get_str(ctx, "patient");
	cJSON *copy;

	if (pset_bool(f, "ehr", 1) == -1 || pset_str(f, "launch_user", launch_user) == -1)
		return -1;
	if (pt != NULL && strncmp(pt, "Patient/", 8) == 0)
		pt += 8;
	if (pt != NULL && *pt != '\0' && replace(&f->row.patient_id, pt) == -1)
		return -1;
	if ((copy = cJSON_Duplicate(ctx, 1)) == NULL)
		return -1;
	return pset(f, "launch", copy);
}

static int
flow_start(struct flow *f, const struct form *form)
{
	struct authreq a;
	struct authreq_error e;
	struct authreq_offer offer = { 0 };
	struct scope_set *requested = NULL;
	struct scope_err serr;
	struct authstore_req *row = &f->row;
	char *launch_user = NULL, *offered = NULL, *url = NULL;
	cJSON *ctx = NULL, *dropped;
	int rc = -1, missing, found;

	/* Phase 1: client and redirect URI; failures are pages, never redirects. */
	if (authreq_read_client(form, &a, &e) == -1)
		return flow_page_error(f, 400, "This app cannot sign you in", e.description);
	if ((f->client = client_load(a.client_id, &missing)) == NULL) {
		if (!missing)
			return flow_db_error(f);
		audit_event("authorize", "failure", NULL, NULL, f->r->remote_addr, NULL);
		return flow_page_error(f, 400, "Unknown app",
		    "This app is not registered with this server (unknown client_id).");
	}
	f->client_name = flow_client_name(f->client);
	if (!client_redirect_registered(f->client, a.redirect_uri)) {
		flow_audit(f, "authorize", "failure", "error", "redirect_uri not registered",
		    NULL, NULL);
		return flow_page_error(f, 400, "Wrong return address",
		    "The redirect_uri of this request is not registered for this app, so this "
		    "server will not send you back to it.");
	}
	flow_trust(f, a.redirect_uri);
	if (form_count(form, "state") == 1 && (f->state = form_get_nonempty(form, "state")) != NULL &&
	    strlen(f->state) > AUTHREQ_MAX_STATE)
		f->state = NULL;

	/* Phase 2: errors go back to the app. */
	if (f->post && *f->r->query != '\0')
		return flow_oauth_redirect(f, OAUTH_INVALID_REQUEST,
		    "send the parameters either in the query (GET) or in the form body (POST), "
		    "not both");
	if (cJSON_GetArraySize(f->client->grant_types) > 0 &&
	    !client_has_grant(f->client, "authorization_code") &&
	    !client_has_grant(f->client, "code"))
		return flow_oauth_redirect(f, OAUTH_UNAUTHORIZED_CLIENT,
		    "this app may not use the authorization code grant");
	if (authreq_validate(form, f->cfg->fhir_base, &a, &e) == -1) {
		f->state = a.state;
		return flow_error_redirect(f, e.name, e.description);
	}
	f->state = a.state;
	if ((requested = scope_parse(a.scope, &serr)) == NULL)
		goto out;
	if (authreq_negotiate(requested, f->client->scope,
	    client_has_grant(f->client, "refresh_token") || f->client->refresh_token,
	    a.launch != NULL, &offer) == -1)
		goto out;
	if (offer.offered->n == 0) {
		rc = flow_oauth_redirect(f, OAUTH_INVALID_SCOPE,
		    "none of the requested scopes can be granted to this app");
		goto out;
	}

	/* The request row. */
	if ((f->request_id = crypto_token_new()) == NULL || (f->csrf = crypto_token_new()) == NULL ||
	    (row->hash = crypto_sha256_hex(f->request_id)) == NULL ||
	    (row->csrf_hash = crypto_sha256_hex(f->csrf)) == NULL ||
	    replace(&row->client_id, f->client->id) == -1 ||
	    replace(&row->redirect_uri, a.redirect_uri) == -1 ||
	    replace(&row->scope, a.scope) == -1 || replace(&row->state, a.state) == -1 ||
	    replace(&row->nonce, a.nonce) == -1 || replace(&row->aud, a.aud) == -1 ||
	    replace(&row->code_challenge, a.code_challenge) == -1 ||
	    replace(&row->code_challenge_method, a.code_challenge_method) == -1 ||
	    (row->params = cJSON_CreateObject()) == NULL ||
	    (offered = scope_set_format(offer.offered)) == NULL ||
	    (dropped = flow_dropped_json(&offer)) == NULL)
		goto out;
	if (pset(f, "dropped", dropped) == -1 || pset_str(f, "offered", offered) == -1 ||
	    cJSON_AddNumberToObject(row->params, "prompt", (double)a.prompt) == NULL ||
	    (a.max_age >= 0 && cJSON_AddNumberToObject(row->params, "max_age",
	    (double)a.max_age) == NULL) ||
	    pset_str(f, "login_hint", a.login_hint) == -1 || pset_bool(f, "ehr", 0) == -1)
		goto out;
	f->offered = offer.offered;
	offer.offered = NULL;
	f->state = row->state;

	/* EHR launch: the launch id is consumed here, once (SMART 2.2 §EHR launch). */
	if (a.launch != NULL) {
		if ((row->launch_hash = crypto_sha256_hex(a.launch)) == NULL)
			goto out;
		if ((found = authstore_launch_consume(row->launch_hash, f->client->id,
		    &launch_user, &ctx)) == -1) {
			rc = flow_db_error(f);
			goto out;
		}
		if (found == 0) {
			flow_audit(f, "launch", "failure", "reason",
			    "unknown, expired, used, or issued for another client", NULL, NULL);
			rc = flow_oauth_redirect(f, OAUTH_INVALID_REQUEST,
			    "launch id is unknown, expired or already used");
			goto out;
		}
		audit_event("launch", "success", launch_user, f->client->id, f->r->remote_addr, NULL);
		if (flow_take_launch(f, launch_user, ctx) == -1)
			goto out;
	}

	/* Bind to this browser; a POSTed request binds at its first GET. */
	if (!f->post && flow_bind_browser(f) == -1)
		goto out;
	if (authstore_req_create(row) == -1) {
		rc = flow_db_error(f);
		goto out;
	}
	f->have_row = 1;
	if (f->post) {
		const char *kv[] = { "request", f->request_id, NULL };

		url = authreq_redirect_url(f->ac->action, kv);
		rc = flow_location(f, url);
		goto out;
	}
	rc = flow_advance(f);
out:
	if (rc == -1)
		log_err("could not start an authorization request");
	scope_set_free(requested);
	authreq_offer_free(&offer);
	free(launch_user);
	cJSON_Delete(ctx);
	free(offered);
	free(url);
	return rc;
}

/* ---- an existing request ---- */

/* Loads the request named by request_id and its client; answers and returns -1 on failure. */
static int
flow_load(struct flow *f, const char *request_id)
{
	struct scope_err serr;
	char *hash;
	int found, missing;

	if (!authreq_token_syntax_ok(request_id, 64) || (hash = crypto_sha256_hex(request_id)) == NULL) {
		flow_page_error(f, 400, "Sign-in request not found",
		    "This sign-in request is not known here. Go back to the app and start again.");
		return -1;
	}
	found = authstore_req_load(hash, &f->row);
	free(hash);
	if (found == -1) {
		flow_db_error(f);
		return -1;
	}
	if (found == 0 || f->row.expired || f->row.completed) {
		flow_page_error(f, 400, found == 0 ? "Sign-in request not found" :
		    f->row.completed ? "Sign-in already finished" : "Sign-in request expired",
		    "This sign-in request has expired or was already completed. Go back to the app "
		    "and start again.");
		return -1;
	}
	f->have_row = 1;
	if ((f->client = client_load(f->row.client_id, &missing)) == NULL) {
		if (missing)
			flow_page_error(f, 400, "Unknown app", "This app is no longer registered.");
		else
			flow_db_error(f);
		return -1;
	}
	f->client_name = flow_client_name(f->client);
	flow_trust(f, f->row.redirect_uri);
	f->state = f->row.state;
	if ((f->offered = scope_parse(pget_str(f, "offered"), &serr)) == NULL)
		return -1;
	if ((f->request_id = strdup(request_id)) == NULL)
		return -1;
	return 0;
}

/* 1 when the browser cookie is the one this request is bound to. */
static int
flow_same_browser(struct flow *f)
{
	const char *bound = pget_str(f, "browser");
	char *id, *h = NULL;
	int ok;

	if (bound == NULL || (id = flow_cookie(f, SESSION_BROWSER_COOKIE)) == NULL)
		return 0;
	h = crypto_sha256_hex(id);
	ok = crypto_ct_streq(h, bound);
	free(id);
	free(h);
	return ok;
}

/* GET ?request=<id>: continues a request (after authorize-post). */
static int
flow_resume(struct flow *f, const char *request_id)
{
	int rc = -1;

	if (flow_load(f, request_id) == -1)
		return 0;
	if (pget_str(f, "browser") == NULL) {
		if (flow_bind_browser(f) == -1)
			goto out;
	} else if (!flow_same_browser(f)) {
		flow_audit(f, "authorize", "denied", "reason", "request resumed from another browser",
		    NULL, NULL);
		rc = flow_page_error(f, 403, "Wrong browser",
		    "This sign-in request was started in another browser. Go back to the app and "
		    "start again.");
		goto out;
	}
	/* A fresh CSRF token: only its hash is stored, so the old one cannot be shown. */
	if ((f->csrf = crypto_token_new()) == NULL ||
	    replace(&f->row.csrf_hash, NULL) == -1 ||
	    (f->row.csrf_hash = crypto_sha256_hex(f->csrf)) == NULL)
		goto out;
	rc = flow_advance(f);
out:
	return rc;
}

static int
flow_deny(struct flow *f)
{
	const char *page = pget_str(f, "page");
	int login = page != NULL && strcmp(page, "login") == 0;

	flow_audit(f, "consent", "denied", "scope", pget_str(f, "offered"), NULL, NULL);
	return flow_oauth_redirect(f, OAUTH_ACCESS_DENIED,
	    login ? "the user cancelled the sign-in" : "the user denied the request");
}

static int
flow_login(struct flow *f, const struct form *form)
{
	const char *username = form_get_nonempty(form, "username");
	const char *password = form_get_nonempty(form, "password");
	const char *launch_user = pget_str(f, "launch_user");
	const char *addr = f->r->remote_addr;
	enum login_result lr;
	struct session s = { 0 }, old = { 0 };
	char *user_id = NULL, *token = NULL, *cookie = NULL, *old_hash = NULL;
	int rc = -1, t;

	if (username == NULL || password == NULL || strlen(username) > LOGIN_MAX_USERNAME ||
	    strlen(password) > LOGIN_MAX_PASSWORD)
		return flow_show_login(f, 200, username != NULL && strlen(username) <=
		    LOGIN_MAX_USERNAME ? username : NULL, NULL,
		    "Enter your user name and password.");
	if ((t = login_throttled(username, addr)) == -1)
		return flow_db_error(f);
	if (t == 1) {
		/* No password check at all while throttled. */
		login_record(username, addr, 0);
		flow_audit(f, "login", "denied", "username", username, "reason", "throttled");
		return flow_show_login(f, 429, username, NULL,
		    "Too many attempts, try again in a few minutes.");
	}
	lr = login_check(username, password, &user_id);
	if (lr == LOGIN_ERROR)
		return flow_db_error(f);
	if (login_record(username, addr, lr == LOGIN_OK) == -1 && db_unavailable())
		return flow_db_error(f);
	if (lr != LOGIN_OK) {
		flow_audit(f, "login", "failure", "username", username, "reason",
		    lr == LOGIN_INACTIVE ? "inactive user" : "bad credentials");
		return flow_show_login(f, 200, username, NULL,
		    "The user name or password is incorrect.");
	}

	/* A new session id at every login; a session of someone else in this browser ends. */
	if ((cookie = flow_cookie(f, SESSION_COOKIE)) != NULL &&
	    (old_hash = crypto_sha256_hex(cookie)) != NULL &&
	    session_find(old_hash, &old) == 1 && strcmp(old.user_id, user_id) != 0)
		session_end(old_hash, NULL);
	if (session_create(user_id, addr, http_header(f->r, "User-Agent"),
	    f->cfg->session_lifetime, &token, &s) == -1) {
		rc = flow_db_error(f);
		goto out;
	}
	if (flow_set_cookie(f, SESSION_COOKIE, token, f->cfg->session_lifetime) == -1)
		goto out;
	if (replace(&f->row.user_id, user_id) == -1 ||
	    replace(&f->row.session_hash, s.hash) == -1 || pset_bool(f, "fresh_login", 1) == -1)
		goto out;
	/* Whatever an earlier user of this request chose does not carry over. */
	if (!pget_bool(f, "ehr") && replace(&f->row.patient_id, NULL) == -1)
		goto out;
	if (pset(f, "encounter", NULL) == -1 || pset(f, "encounter_none", NULL) == -1 ||
	    replace(&f->row.granted_scope, NULL) == -1)
		goto out;
	flow_audit(f, "login", "success", NULL, NULL, NULL, NULL);
	if (launch_user != NULL && strcmp(launch_user, user_id) != 0) {
		rc = flow_oauth_redirect(f, OAUTH_ACCESS_DENIED,
		    "the signed-in user is not the user the EHR launched the app for");
		goto out;
	}
	rc = flow_advance(f);
out:
	session_clear(&s);
	session_clear(&old);
	free(user_id);
	if (token != NULL)
		crypto_wipe(token, strlen(token));
	free(token);
	if (cookie != NULL)
		crypto_wipe(cookie, strlen(cookie));
	free(cookie);
	free(old_hash);
	return rc;
}

static int
flow_pick_patient(struct flow *f, const struct form *form)
{
	const char *id = form_get_nonempty(form, "patient");
	struct authstore_item pt;
	int found;

	if (id == NULL)
		return flow_show_patients(f, form_get(form, "q"), NULL);
	if ((found = authstore_patient_get(id, &pt)) == -1)
		return flow_db_error(f);
	authstore_item_clear(&pt);
	if (found == 0)
		return flow_show_patients(f, NULL, "Choose a patient from the list.");
	if (replace(&f->row.patient_id, id) == -1)
		return -1;
	return flow_advance(f);
}

static int
flow_pick_encounter(struct flow *f, const struct form *form)
{
	const char *id = form_get_nonempty(form, "encounter");
	struct authstore_list l;
	int found, rc;

	if (id != NULL && f->row.patient_id != NULL) {
		if ((found = authstore_encounter_of(id, f->row.patient_id)) == -1)
			return flow_db_error(f);
		if (found == 1) {
			if (pset_str(f, "encounter", id) == -1)
				return -1;
			return flow_advance(f);
		}
	}
	if (f->row.patient_id == NULL ||
	    authstore_encounters(f->row.patient_id, FLOW_PICKER_LIMIT, &l) == -1)
		return flow_db_error(f);
	rc = flow_show_encounters(f, &l, "Choose a visit from the list.");
	authstore_list_clear(&l);
	return rc;
}

static int
flow_consent(struct flow *f, const struct form *form)
{
	struct scope_set *granted;
	char *text = NULL;
	int rc = -1;

	if ((granted = authreq_narrow(f->offered, form)) == NULL)
		return -1;
	if (granted->n == 0) {
		scope_set_free(granted);
		return flow_show_consent(f, "Choose at least one permission, or Deny.");
	}
	if ((text = scope_set_format(granted)) == NULL)
		goto out;
	if (authstore_consent_save(f->row.user_id, f->row.client_id, text) == -1) {
		rc = flow_db_error(f);
		goto out;
	}
	flow_audit(f, "consent", "success", "scope", text, "source", "user");
	if (replace(&f->row.granted_scope, text) == -1)
		goto out;
	rc = flow_advance(f);
out:
	scope_set_free(granted);
	free(text);
	return rc;
}

/* POST with "csrf": a form of a request in progress. */
static int
flow_step(struct flow *f, const struct form *form)
{
	const char *request_id = form_get_nonempty(form, "request");
	const char *csrf = form_get_nonempty(form, "csrf");
	const char *decision = form_get(form, "decision");
	const char *page;
	char *h;
	int ok;

	if (request_id == NULL) {
		return flow_page_error(f, 400, "Sign-in request not found",
		    "This form is incomplete. Go back to the app and start again.");
	}
	if (flow_load(f, request_id) == -1)
		return 0;
	/* Nothing changes before both checks pass (login CSRF, RFC 6749 §10.12). */
	if (!flow_same_browser(f)) {
		flow_audit(f, "authorize", "denied", "reason", "form posted from another browser",
		    NULL, NULL);
		return flow_page_error(f, 403, "Wrong browser",
		    "This form was not started in this browser. Go back to the app and start again.");
	}
	h = csrf != NULL ? crypto_sha256_hex(csrf) : NULL;
	ok = h != NULL && crypto_ct_streq(h, f->row.csrf_hash);
	free(h);
	if (!ok) {
		flow_audit(f, "authorize", "denied", "reason", "missing or wrong CSRF token", NULL, NULL);
		return flow_page_error(f, 403, "Form expired",
		    "This form is out of date or was not sent by this service. Go back to the app "
		    "and start again.");
	}
	if ((f->csrf = strdup(csrf)) == NULL)
		return -1;
	if (form_count(form, "decision") > 1 || form_count(form, "patient") > 1 ||
	    form_count(form, "encounter") > 1 || form_count(form, "username") > 1 ||
	    form_count(form, "password") > 1)
		return flow_page_error(f, 400, "Unexpected form", "This form was sent twice over.");
	page = pget_str(f, "page");
	if (page == NULL)
		page = "";
	if (decision != NULL && strcmp(decision, "deny") == 0)
		return flow_deny(f);
	if (strcmp(page, "login") == 0 && form_get(form, "username") != NULL)
		return flow_login(f, form);
	if (strcmp(page, "patient") == 0 &&
	    (form_get(form, "patient") != NULL || form_get(form, "q") != NULL))
		return flow_pick_patient(f, form);
	if (strcmp(page, "encounter") == 0 && form_get(form, "encounter") != NULL)
		return flow_pick_encounter(f, form);
	if (strcmp(page, "consent") == 0 && decision != NULL && strcmp(decision, "allow") == 0)
		return flow_consent(f, form);
	return flow_page_error(f, 400, "Unexpected form",
	    "This form does not belong to the current step of the sign-in. Go back to the app "
	    "and start again.");
}

/* ---- entry points ---- */

int
authflow_init(struct authflow_cfg *ac, const struct config *cfg)
{
	const char *s = cfg->auth_base, *path;

	memset(ac, 0, sizeof(*ac));
	ac->cfg = cfg;
	if ((s = strstr(s, "://")) == NULL) {
		log_err("auth_base is not an absolute URL");
		return -1;
	}
	path = strchr(s + 3, '/');
	if (path == NULL)
		path = "";
	if (strlen(path) >= sizeof(ac->auth_path) ||
	    strlen(cfg->auth_base) + 6 >= sizeof(ac->style_url)) {
		log_err("auth_base is too long");
		return -1;
	}
	snprintf(ac->auth_path, sizeof(ac->auth_path), "%s", path);
	snprintf(ac->cookie_path, sizeof(ac->cookie_path), "%s", *path != '\0' ? path : "/");
	snprintf(ac->action, sizeof(ac->action), "%s/authorize", path);
	snprintf(ac->consents_path, sizeof(ac->consents_path), "%s/consents", path);
	snprintf(ac->logout_path, sizeof(ac->logout_path), "%s/logout", path);
	snprintf(ac->style_url, sizeof(ac->style_url), "%s/style", cfg->auth_base);
	return 0;
}

int
authflow_authorize(struct req *r, struct resp *p, const struct authflow_cfg *ac)
{
	struct flow f;
	const struct form *form;
	const char *why;
	enum form_error fe;
	int rc, status;

	memset(&f, 0, sizeof(f));
	f.r = r;
	f.p = p;
	f.ac = ac;
	f.cfg = ac->cfg;
	if (strcmp(r->method, "GET") == 0) {
		if ((fe = http_parse_query(r)) != FORM_OK)
			return pages_error(p, fe == FORM_ENOMEM ? 500 : 400, "Malformed request",
			    form_strerror(fe), NULL);
		form = &r->qparams;
		if (form_get(form, "client_id") == NULL && form_get_nonempty(form, "request") != NULL &&
		    form->n == 1)
			rc = flow_resume(&f, form_get_nonempty(form, "request"));
		else
			rc = flow_start(&f, form);
	} else if (strcmp(r->method, "POST") == 0) {
		f.post = 1;
		if ((status = http_parse_form(r, (size_t)ac->cfg->max_body, &why)) != 0) {
			rc = pages_error(p, status, "Malformed request", why, NULL);
			goto out;
		}
		form = &r->fparams;
		if (form_get(form, "csrf") != NULL)
			rc = flow_step(&f, form);
		else
			rc = flow_start(&f, form);
	} else {
		http_resp_header(p, "Allow", "GET, POST");
		return pages_error(p, 405, "Method not allowed",
		    "The authorization endpoint answers GET and POST only.", NULL);
	}
out:
	flow_free(&f);
	return rc;
}
