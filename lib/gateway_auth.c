/*
 * gateway_auth: who is asking and what they may do (DESIGN §4 steps 2
 * and 3; SMART App Launch 2.2 §scopes).  See gateway_int.h.
 *
 * A lane is the answer of the scopes to one interaction (a permission
 * letter on a type).  Backend tokens use system/ scopes, user tokens
 * user/ scopes, and either may fall back to patient/ scopes confined to
 * the launch patient.  The first context that grants the interaction is
 * used (never a union across contexts: that can only narrow access).
 * Within it, scopes union: an unconstrained scope grants everything,
 * otherwise each constrained scope is one group of the lane's clause.
 * A constraint the server cannot evaluate grants nothing.
 *
 * Compartments: a patient/ lane is confined to the launch patient; a
 * user/ lane of a patient user (fhirUser Patient/x, or a "patient" Role
 * linking a patient) is confined to that user's own patients, because
 * the shipped policies let patient users read "by id" and rely on the
 * gateway for the rest (reference/matcho.md, defaults).
 *
 * Never: reads resources, or logs tokens and claim values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_int.h"
#include "json.h"
#include "log.h"
#include "outcome.h"
#include "policydb.h"

int
gw_principal_new(struct bearer *tok, struct gw_principal *pr)
{
	struct scope_err err;
	const char *p;

	memset(pr, 0, sizeof(*pr));
	pr->tok = tok;
	pr->client_id = tok->client_id;
	pr->user_id = tok->user_id;
	if ((pr->scopes = scope_parse(tok->scope != NULL ? tok->scope : "", &err)) == NULL) {
		/* A recorded scope string we cannot parse grants nothing. */
		if ((pr->scopes = scope_set_new()) == NULL)
			return -1;
	}
	p = json_get_str(tok->launch_context, "patient");
	if (p != NULL && fs_valid_id(p) && (pr->launch_patient = strdup(p)) == NULL) {
		log_err("out of memory");
		return -1;
	}
	return 0;
}

void
gw_principal_clear(struct gw_principal *pr)
{
	size_t i;

	bearer_free(pr->tok);
	scope_set_free(pr->scopes);
	free(pr->launch_patient);
	for (i = 0; i < pr->nupat; i++)
		free(pr->upat[i]);
	free(pr->upat);
	memset(pr, 0, sizeof(*pr));
}

static int
gw_upat_add(struct gw_principal *pr, const char *id)
{
	char **nv;
	size_t i;

	if (id == NULL || !fs_valid_id(id))
		return 0;
	for (i = 0; i < pr->nupat; i++)
		if (strcmp(pr->upat[i], id) == 0)
			return 0;
	if ((nv = realloc(pr->upat, (pr->nupat + 1) * sizeof(*nv))) == NULL)
		return -1;
	pr->upat = nv;
	if ((pr->upat[pr->nupat] = strdup(id)) == NULL)
		return -1;
	pr->nupat++;
	return 0;
}

/*
 * The patients a patient user stands for: the User's fhirUser when it is
 * a Patient reference, and the patient linked by each of their Roles
 * named "patient"; pr->patient_user tells whether the user is one at all
 * (a patient Role without a link makes a patient user with no patient).
 * 0, or -1 on a database failure.
 */
int
gw_user_patients(struct gw_principal *pr)
{
	cJSON *user = NULL, *roles = NULL;
	const cJSON *r;
	const char *fu;
	int missing, rc = -1;

	if (pr->upat_loaded || pr->user_id == NULL)
		return 0;
	if (policydb_sync() == -1)
		return -1;
	if ((user = policydb_user_load(pr->user_id, &missing)) == NULL && !missing)
		goto out;
	fu = json_get_str(user, "fhirUser");
	if (fu != NULL && strncmp(fu, "Patient/", 8) == 0) {
		pr->patient_user = 1;
		if (gw_upat_add(pr, fu + 8) == -1)
			goto oom;
	}
	if ((roles = policydb_roles_load(pr->user_id)) == NULL)
		goto out;
	cJSON_ArrayForEach(r, roles) {
		const char *name = json_get_str(r, "name");
		const cJSON *links = json_get_obj(r, "links");

		if (name == NULL || strcmp(name, "patient") != 0)
			continue;
		/* A patient Role without a linked patient still confines: to nothing. */
		pr->patient_user = 1;
		if (gw_upat_add(pr, json_get_str(json_get_obj(links, "patient"), "id")) == -1)
			goto oom;
	}
	pr->upat_loaded = 1;
	rc = 0;
	goto out;
oom:
	log_err("out of memory");
out:
	cJSON_Delete(user);
	cJSON_Delete(roles);
	return rc;
}

void
gw_lane_clear(struct gw_lane *lane)
{
	cJSON_Delete(lane->clause);
	free(lane->filter);
	memset(lane, 0, sizeof(*lane));
}

int
gw_lane_sees(const struct gw_lane *lane, const char *patient)
{
	size_t i;

	if (!lane->confined)
		return 1;
	if (patient == NULL)
		return 0;
	for (i = 0; i < lane->npats; i++)
		if (strcmp(lane->pats[i], patient) == 0)
			return 1;
	return 0;
}

/* The constraint clause of the scopes granting perm on type in ctx. */
static int
gw_constraints(const struct fs_registry *reg, const struct scope_set *set, const char *ctx,
    const char *type, unsigned perm, cJSON **clause)
{
	const struct scope *sc;
	const char *names[16], *values[16];
	char why[200];
	size_t pos = 0, i;
	cJSON *group;

	if ((*clause = cJSON_CreateArray()) == NULL)
		return -1;
	while ((sc = scope_set_next_match(set, &pos, ctx, type, perm)) != NULL) {
		if (sc->nparams == 0 || sc->nparams > 16)
			continue;	/* unconstrained is handled by the caller */
		for (i = 0; i < sc->nparams; i++) {
			names[i] = sc->params[i].name;
			values[i] = sc->params[i].value;
		}
		/* The constrained type is the scope's; "*" constraints apply per type. */
		if ((group = fs_constraint_group(reg, type, names, values, sc->nparams,
		    why, sizeof(why))) == NULL) {
			log_info("scope %s grants nothing here: %s", sc->text, why);
			continue;
		}
		if (!cJSON_AddItemToArray(*clause, group)) {
			cJSON_Delete(group);
			return -1;
		}
	}
	return 0;
}

int
gw_lane_for(const struct fs_registry *reg, struct gw_principal *pr, const char *type,
    unsigned perm, struct gw_lane *lane, const char **why)
{
	const char *ctxs[2];
	size_t nctx = 0, i;
	enum scope_access acc;
	cJSON *clause = NULL, *wrap;

	memset(lane, 0, sizeof(*lane));
	*why = "the token's scopes do not allow this interaction";
	/* system/ belongs to backend tokens, user/ to user tokens (SMART 2.2 §scopes). */
	ctxs[nctx++] = pr->user_id == NULL ? "system" : "user";
	if (pr->launch_patient != NULL)
		ctxs[nctx++] = "patient";
	for (i = 0; i < nctx; i++) {
		acc = scope_set_access(pr->scopes, ctxs[i], type, perm);
		if (acc == SCOPE_ACCESS_NONE)
			continue;
		clause = NULL;
		if (acc == SCOPE_ACCESS_FILTERED) {
			if (gw_constraints(reg, pr->scopes, ctxs[i], type, perm, &clause) == -1) {
				cJSON_Delete(clause);
				goto oom;
			}
			if (cJSON_GetArraySize(clause) == 0) {
				cJSON_Delete(clause);
				*why = "the token's scope constraints cannot be applied to this type";
				continue;
			}
		}
		lane->ctx = scope_context_parse(ctxs[i]);
		lane->clause = clause;
		if (clause != NULL) {
			if ((wrap = cJSON_CreateArray()) == NULL)
				goto oom;
			/*
			 * Print [clause] without giving up ownership of clause.
			 * Never print "[]" by accident: an empty filter allows all.
			 */
			if (!cJSON_AddItemReferenceToArray(wrap, clause)) {
				cJSON_Delete(wrap);
				goto oom;
			}
			lane->filter = cJSON_PrintUnformatted(wrap);
			cJSON_Delete(wrap);
			if (lane->filter == NULL)
				goto oom;
		}
		if (lane->ctx == SCOPE_CTX_PATIENT) {
			lane->confined = 1;
			lane->pats = (const char *const *)&pr->launch_patient;
			lane->npats = 1;
			lane->one = pr->launch_patient;
		} else if (lane->ctx == SCOPE_CTX_USER) {
			if (gw_user_patients(pr) == -1) {
				gw_lane_clear(lane);
				return -2;
			}
			lane->confined = pr->patient_user;
			lane->pats = (const char *const *)pr->upat;
			lane->npats = pr->nupat;
		}
		return 0;
	}
	return 1;
oom:
	log_err("out of memory");
	gw_lane_clear(lane);
	return -1;
}

/* Maps a policydb outcome into o; 1 allowed, 0 answered, -1 OOM. */
static int
gw_policy_outcome(enum policydb_outcome po, const struct policydb_decision *d, struct gw_out *o)
{
	switch (po) {
	case POLICYDB_ALLOW:
		return 1;
	case POLICYDB_DENY:
		o->bearer_error = "insufficient_scope";
		return gw_error(o, 403, "forbidden", "no AccessPolicy allows this request") == -1 ? -1 : 0;
	case POLICYDB_BAD_PATH:
		return gw_error(o, 400, "invalid", d->why != NULL ? d->why : "malformed request") == -1 ? -1 : 0;
	case POLICYDB_UNAVAILABLE:
		o->retry_after = 5;
		return gw_error(o, 503, "transient", "the database is unavailable; retry later") == -1 ? -1 : 0;
	default:
		return gw_error(o, 500, "exception", "internal error") == -1 ? -1 : 0;
	}
}

int
gw_policy(struct gateway *g, struct gw_principal *pr, struct gw_call *c,
    const cJSON *route_params, struct gw_out *o)
{
	struct policydb_request q;
	struct policydb_decision d;

	memset(&q, 0, sizeof(q));
	q.path = c->path;
	q.method = c->method;
	q.query = c->query;
	q.body = c->body;
	q.client_id = pr->client_id;
	q.user_id = pr->user_id;
	q.jwt = pr->tok->claims;
	q.resource_type = c->rt.type[0] != '\0' ? c->rt.type : NULL;
	q.resource_id = c->rt.id[0] != '\0' ? c->rt.id : NULL;
	q.route_params = route_params;
	q.scheme = strncmp(g->cfg->fhir_base, "https:", 6) == 0 ? "https" : "http";
	q.remote_addr = "";
	return gw_policy_outcome(policydb_check(g->cfg->fhir_path, &q, &d), &d, o);
}

/* 1 when the policies let this caller GET [base]/type/id (includes). */
int
gw_policy_read(struct gateway *g, struct gw_principal *pr, const char *type, const char *id)
{
	struct policydb_request q;
	char *path;
	int rc;

	if (asprintf(&path, "%s/%s/%s", g->cfg->fhir_path, type, id) < 0)
		return 0;
	memset(&q, 0, sizeof(q));
	q.path = path;
	q.method = "GET";
	q.query = "";
	q.client_id = pr->client_id;
	q.user_id = pr->user_id;
	q.jwt = pr->tok->claims;
	q.resource_type = type;
	q.resource_id = id;
	q.scheme = strncmp(g->cfg->fhir_base, "https:", 6) == 0 ? "https" : "http";
	q.remote_addr = "";
	rc = policydb_check(g->cfg->fhir_path, &q, NULL) == POLICYDB_ALLOW;
	free(path);
	return rc;
}

/*
 * Scopes then policies for an interaction that needs no confined request
 * (reads, writes, history).  1 allowed (lane filled, owned), 0 answered
 * in o, -1 out of memory.
 */
int
gw_authorize(struct gateway *g, struct gw_principal *pr, struct gw_call *c,
    const struct fs_registry *reg, unsigned perm, struct gw_lane *lane, struct gw_out *o)
{
	const char *why;
	int rc;

	rc = gw_lane_for(reg, pr, c->rt.type, perm, lane, &why);
	if (rc == -1)
		return -1;
	if (rc == -2) {
		o->retry_after = 5;
		return gw_db_error(o) == -1 ? -1 : 0;
	}
	if (rc == 1) {
		o->bearer_error = "insufficient_scope";
		return gw_error(o, 403, "forbidden", why) == -1 ? -1 : 0;
	}
	if ((rc = gw_policy(g, pr, c, NULL, o)) != 1)
		gw_lane_clear(lane);
	return rc;
}
