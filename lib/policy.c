/*
 * policy: AccessPolicy parsing, binding and evaluation (Aidbox-compatible,
 * reference/matcho.md "When a policy applies", "Engines", "The request
 * object"; DESIGN §4 step 3).
 *
 * Where matcho.md is silent we chose the stricter reading:
 *   - a policy with both link and roleName applies only when a link
 *     names the caller AND the user holds the role;
 *   - an empty link array, an empty and/or, both and+or at one level,
 *     keys of another engine (an `allow` policy carrying `matcho`, say)
 *     and duplicate keys are refused at parse time, because each would
 *     otherwise widen access silently;
 *   - a rule error (regex limit, bad pattern) is "does not allow" and is
 *     logged with the policy id; other policies are still tried;
 *   - a Role whose "user" names someone else than user_id is skipped.
 *
 * Owns the policies of a set.  Never reads the database, never writes
 * the audit table, never logs request bodies, tokens or query strings.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "form.h"
#include "log.h"
#include "matcho.h"
#include "policy.h"

struct policy_set {
	struct policy	**v;
	size_t		  n;
};

void
policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nlinks; i++) {
		free(p->links[i].resource_type);
		free(p->links[i].id);
	}
	free(p->links);
	free(p->id);
	free(p->role_name);
	cJSON_Delete(p->rule);
	free(p);
}

/* 0 when no two members of obj share a name, else -1 with why. */
static int
policy_no_dup_keys(const cJSON *obj, const char *what, char *why, size_t whysz)
{
	const cJSON *a, *b;

	for (a = obj->child; a != NULL; a = a->next)
		for (b = a->next; b != NULL; b = b->next)
			if (a->string != NULL && b->string != NULL &&
			    strcmp(a->string, b->string) == 0) {
				buf_why(why, whysz, "%s has duplicate key \"%.40s\"",
				    what, a->string);
				return -1;
			}
	return 0;
}

static int
policy_engine_parse(const char *s, enum policy_engine *e)
{
	if (strcmp(s, "allow") == 0)
		*e = POLICY_ALLOW;
	else if (strcmp(s, "matcho") == 0)
		*e = POLICY_MATCHO;
	else if (strcmp(s, "complex") == 0)
		*e = POLICY_COMPLEX;
	else
		return -1;
	return 0;
}

/*
 * Checks one rule object (engine + that engine's keys), recursing into
 * complex rules.  0, or -1 with why.
 */
static int
policy_rule_check(const cJSON *rule, int depth, char *why, size_t whysz)
{
	const cJSON *engine, *pat, *and, *or, *list, *it;
	enum policy_engine e;
	char mwhy[256];
	int i = 0;

	if (depth > POLICY_MAX_NESTING) {
		buf_why(why, whysz, "complex rules nested deeper than %d",
		    POLICY_MAX_NESTING);
		return -1;
	}
	if (!cJSON_IsObject(rule)) {
		buf_why(why, whysz, "a rule must be an object");
		return -1;
	}
	if (policy_no_dup_keys(rule, "rule", why, whysz) != 0)
		return -1;
	engine = cJSON_GetObjectItemCaseSensitive(rule, "engine");
	if (!cJSON_IsString(engine)) {
		buf_why(why, whysz, "rule without a string \"engine\"");
		return -1;
	}
	if (policy_engine_parse(engine->valuestring, &e) != 0) {
		buf_why(why, whysz, "unsupported engine \"%.40s\"", engine->valuestring);
		return -1;
	}
	pat = cJSON_GetObjectItemCaseSensitive(rule, "matcho");
	and = cJSON_GetObjectItemCaseSensitive(rule, "and");
	or = cJSON_GetObjectItemCaseSensitive(rule, "or");
	switch (e) {
	case POLICY_ALLOW:
		if (pat != NULL || and != NULL || or != NULL) {
			buf_why(why, whysz, "engine allow takes no matcho/and/or");
			return -1;
		}
		return 0;
	case POLICY_MATCHO:
		if (and != NULL || or != NULL) {
			buf_why(why, whysz, "engine matcho takes no and/or");
			return -1;
		}
		if (pat == NULL) {
			buf_why(why, whysz, "engine matcho without \"matcho\"");
			return -1;
		}
		if (matcho_validate(pat, mwhy, sizeof(mwhy)) != 0) {
			buf_why(why, whysz, "matcho: %s", mwhy);
			return -1;
		}
		return 0;
	case POLICY_COMPLEX:
		if (pat != NULL) {
			buf_why(why, whysz, "engine complex takes no \"matcho\"");
			return -1;
		}
		if ((and != NULL) == (or != NULL)) {
			buf_why(why, whysz, "engine complex needs exactly one of and/or");
			return -1;
		}
		list = and != NULL ? and : or;
		if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0) {
			buf_why(why, whysz, "complex %s must be a non-empty array",
			    and != NULL ? "and" : "or");
			return -1;
		}
		cJSON_ArrayForEach(it, list) {
			if (policy_rule_check(it, depth + 1, mwhy, sizeof(mwhy)) != 0) {
				buf_why(why, whysz, "%s[%d]: %s",
				    and != NULL ? "and" : "or", i, mwhy);
				return -1;
			}
			i++;
		}
		return 0;
	}
	return -1;
}

/* Adds one link entry ({resourceType, id} or {reference: "Type/id"}). */
static int
policy_link_parse(struct policy *p, const cJSON *l, char *why, size_t whysz)
{
	const cJSON *rt, *id, *ref;
	const char *type, *ident, *slash;
	struct policy_link *lk;
	size_t tn;

	if (!cJSON_IsObject(l)) {
		buf_why(why, whysz, "link entries must be objects");
		return -1;
	}
	rt = cJSON_GetObjectItemCaseSensitive(l, "resourceType");
	id = cJSON_GetObjectItemCaseSensitive(l, "id");
	ref = cJSON_GetObjectItemCaseSensitive(l, "reference");
	if (cJSON_IsString(rt) && cJSON_IsString(id) && ref == NULL) {
		type = rt->valuestring;
		tn = strlen(type);
		ident = id->valuestring;
	} else if (cJSON_IsString(ref) && rt == NULL && id == NULL &&
	    (slash = strchr(ref->valuestring, '/')) != NULL) {
		type = ref->valuestring;
		tn = (size_t)(slash - type);
		ident = slash + 1;
	} else {
		buf_why(why, whysz, "a link needs resourceType and id, or a reference");
		return -1;
	}
	if (!((tn == 6 && strncmp(type, "Client", 6) == 0) ||
	    (tn == 4 && strncmp(type, "User", 4) == 0))) {
		buf_why(why, whysz, "links may name only a Client or a User");
		return -1;
	}
	if (*ident == '\0' || strchr(ident, '/') != NULL) {
		buf_why(why, whysz, "link with a bad id");
		return -1;
	}
	lk = realloc(p->links, (p->nlinks + 1) * sizeof(*lk));
	if (lk == NULL)
		goto nomem;
	p->links = lk;
	lk = &p->links[p->nlinks];
	lk->resource_type = strndup(type, tn);
	lk->id = strdup(ident);
	p->nlinks++;
	if (lk->resource_type == NULL || lk->id == NULL)
		goto nomem;
	return 0;
nomem:
	buf_why(why, whysz, "out of memory");
	return -1;
}

struct policy *
policy_parse(const cJSON *resource, char *why, size_t whysz)
{
	const cJSON *rt, *id, *engine, *role, *link, *it;
	struct policy *p = NULL;
	char lwhy[256] = "";

	if (!cJSON_IsObject(resource)) {
		buf_why(lwhy, sizeof(lwhy), "an AccessPolicy must be an object");
		goto fail;
	}
	rt = cJSON_GetObjectItemCaseSensitive(resource, "resourceType");
	if (rt != NULL && !(cJSON_IsString(rt) &&
	    strcmp(rt->valuestring, "AccessPolicy") == 0)) {
		buf_why(lwhy, sizeof(lwhy), "resourceType is not AccessPolicy");
		goto fail;
	}
	id = cJSON_GetObjectItemCaseSensitive(resource, "id");
	if (!cJSON_IsString(id) || id->valuestring[0] == '\0' ||
	    strlen(id->valuestring) > 64) {
		buf_why(lwhy, sizeof(lwhy), "AccessPolicy without a usable id");
		goto fail;
	}
	if (policy_rule_check(resource, 0, lwhy, sizeof(lwhy)) != 0)
		goto fail;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->id = strdup(id->valuestring)) == NULL ||
	    (p->rule = cJSON_Duplicate(resource, 1)) == NULL) {
		buf_why(lwhy, sizeof(lwhy), "out of memory");
		goto fail;
	}
	engine = cJSON_GetObjectItemCaseSensitive(resource, "engine");
	(void)policy_engine_parse(engine->valuestring, &p->engine);
	if ((role = cJSON_GetObjectItemCaseSensitive(resource, "roleName")) != NULL) {
		if (!cJSON_IsString(role) || role->valuestring[0] == '\0') {
			buf_why(lwhy, sizeof(lwhy), "roleName must be a non-empty string");
			goto fail;
		}
		if ((p->role_name = strdup(role->valuestring)) == NULL) {
			buf_why(lwhy, sizeof(lwhy), "out of memory");
			goto fail;
		}
	}
	if ((link = cJSON_GetObjectItemCaseSensitive(resource, "link")) != NULL) {
		/* An empty list would silently make the policy global. */
		if (!cJSON_IsArray(link) || cJSON_GetArraySize(link) == 0) {
			buf_why(lwhy, sizeof(lwhy), "link must be a non-empty array");
			goto fail;
		}
		cJSON_ArrayForEach(it, link)
			if (policy_link_parse(p, it, lwhy, sizeof(lwhy)) != 0)
				goto fail;
	}
	return p;
fail:
	id = cJSON_IsObject(resource) ?
	    cJSON_GetObjectItemCaseSensitive(resource, "id") : NULL;
	log_warn("AccessPolicy %.64s refused: %s",
	    cJSON_IsString(id) ? id->valuestring : "(no id)", lwhy);
	buf_why(why, whysz, "%s", lwhy);
	policy_free(p);
	return NULL;
}

int
policy_applies(const struct policy *p, const char *client_id, const char *user_id)
{
	size_t i;

	if (p == NULL)
		return 0;
	if (p->nlinks == 0)
		return 1;
	for (i = 0; i < p->nlinks; i++) {
		if (client_id != NULL && strcmp(p->links[i].resource_type, "Client") == 0 &&
		    strcmp(p->links[i].id, client_id) == 0)
			return 1;
		if (user_id != NULL && strcmp(p->links[i].resource_type, "User") == 0 &&
		    strcmp(p->links[i].id, user_id) == 0)
			return 1;
	}
	return 0;
}

/* Evaluates a checked rule object: 1, 0 or -1 with why. */
static int
policy_rule_eval(const cJSON *rule, const cJSON *request, int depth, char *why,
    size_t whysz)
{
	const cJSON *engine, *list, *it;
	struct matcho_err merr;
	enum policy_engine e;
	int rc, is_and;

	engine = cJSON_GetObjectItemCaseSensitive(rule, "engine");
	if (depth > POLICY_MAX_NESTING || !cJSON_IsString(engine) ||
	    policy_engine_parse(engine->valuestring, &e) != 0) {
		buf_why(why, whysz, "malformed rule");
		return -1;
	}
	switch (e) {
	case POLICY_ALLOW:
		return 1;
	case POLICY_MATCHO:
		rc = matcho_match(cJSON_GetObjectItemCaseSensitive(rule, "matcho"),
		    request, request, &merr);
		if (rc < 0)
			buf_why(why, whysz, "matcho: %s", merr.why);
		return rc;
	case POLICY_COMPLEX:
		list = cJSON_GetObjectItemCaseSensitive(rule, "and");
		is_and = list != NULL;
		if (list == NULL)
			list = cJSON_GetObjectItemCaseSensitive(rule, "or");
		if (!cJSON_IsArray(list) || list->child == NULL) {
			buf_why(why, whysz, "malformed complex rule");
			return -1;
		}
		cJSON_ArrayForEach(it, list) {
			rc = policy_rule_eval(it, request, depth + 1, why, whysz);
			if (rc < 0 || rc == !is_and)
				return rc;	/* error, first false of and, first true of or */
		}
		return is_and;
	}
	return -1;
}

int
policy_eval(const struct policy *p, const cJSON *request)
{
	char why[300];
	int rc;

	if (p == NULL || p->rule == NULL)
		return -1;
	rc = policy_rule_eval(p->rule, request, 0, why, sizeof(why));
	if (rc < 0)
		log_warn("AccessPolicy %s failed, counted as deny: %s", p->id, why);
	return rc;
}

struct policy_set *
policy_set_new(void)
{
	struct policy_set *set;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		log_err("out of memory");
	return set;
}

void
policy_set_free(struct policy_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		policy_free(set->v[i]);
	free(set->v);
	free(set);
}

int
policy_set_add(struct policy_set *set, struct policy *p)
{
	struct policy **v;

	if (set == NULL || p == NULL) {
		policy_free(p);
		return -1;
	}
	if ((v = realloc(set->v, (set->n + 1) * sizeof(*v))) == NULL) {
		log_err("out of memory");
		policy_free(p);
		return -1;
	}
	set->v = v;
	set->v[set->n++] = p;
	return 0;
}

size_t
policy_set_count(const struct policy_set *set)
{
	return set != NULL ? set->n : 0;
}

struct policy_set *
policy_set_parse(const cJSON *resources, char *why, size_t whysz)
{
	struct policy_set *set;
	struct policy *p;
	const cJSON *it;
	char pwhy[256];
	int i = 0;

	if (!cJSON_IsArray(resources)) {
		buf_why(why, whysz, "AccessPolicies must come as an array");
		log_warn("AccessPolicies must come as an array");
		return NULL;
	}
	if ((set = policy_set_new()) == NULL) {
		buf_why(why, whysz, "out of memory");
		return NULL;
	}
	cJSON_ArrayForEach(it, resources) {
		if ((p = policy_parse(it, pwhy, sizeof(pwhy))) == NULL ||
		    policy_set_add(set, p) != 0) {
			buf_why(why, whysz, "policy %d: %s", i,
			    p == NULL ? pwhy : "out of memory");
			policy_set_free(set);
			return NULL;
		}
		i++;
	}
	return set;
}

/* The id a Role's "user" names ({id} or {reference: "User/x"}), or NULL. */
static const char *
policy_role_user(const cJSON *role)
{
	const cJSON *u, *v;

	u = cJSON_GetObjectItemCaseSensitive(role, "user");
	if (!cJSON_IsObject(u))
		return NULL;
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(u, "id")))
		return v->valuestring;
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(u, "reference")) &&
	    strncmp(v->valuestring, "User/", 5) == 0)
		return v->valuestring + 5;
	return "";	/* stated but unreadable: never ours */
}

/* Evaluates a roleName policy once per matching Role; 1, 0 or -1 (memory). */
static int
policy_eval_roles(const struct policy *p, cJSON *request, const cJSON *roles,
    const char *user_id)
{
	const cJSON *role, *name;
	const char *ru;
	cJSON *copy;
	int rc;

	cJSON_ArrayForEach(role, roles) {
		name = cJSON_GetObjectItemCaseSensitive(role, "name");
		if (!cJSON_IsString(name) || strcmp(name->valuestring, p->role_name) != 0)
			continue;
		if ((ru = policy_role_user(role)) != NULL &&
		    (user_id == NULL || strcmp(ru, user_id) != 0)) {
			log_warn("Role \"%s\" of another user skipped", p->role_name);
			continue;
		}
		/* A reference: roles outlives the evaluation, which only reads. */
		if ((copy = cJSON_CreateObjectReference(role->child)) == NULL) {
			log_err("out of memory");
			return -1;
		}
		if (!cJSON_AddItemToObject(request, "role", copy)) {
			cJSON_Delete(copy);
			log_err("out of memory");
			return -1;
		}
		rc = policy_eval(p, request);
		cJSON_DeleteItemFromObjectCaseSensitive(request, "role");
		if (rc == 1)
			return 1;
	}
	return 0;
}

int
policy_set_allows(const struct policy_set *set, cJSON *request, const cJSON *roles,
    const char *client_id, const char *user_id, const char **matched_policy_id)
{
	const struct policy *p = NULL;
	cJSON *saved_role, *extra;
	size_t i;
	int rc = 0;

	if (matched_policy_id != NULL)
		*matched_policy_id = NULL;
	if (set == NULL || !cJSON_IsObject(request)) {
		log_err("no policies or no request object: deny");
		return -1;
	}
	if (roles != NULL && !cJSON_IsArray(roles))
		roles = NULL;
	/* Only roleName policies may see a role, and only the one evaluated. */
	saved_role = cJSON_DetachItemFromObjectCaseSensitive(request, "role");
	while ((extra = cJSON_DetachItemFromObjectCaseSensitive(request, "role")) != NULL)
		cJSON_Delete(extra);	/* a duplicate "role" is dropped for good */
	for (i = 0; i < set->n && rc == 0; i++) {
		p = set->v[i];
		if (!policy_applies(p, client_id, user_id))
			continue;
		if (p->role_name != NULL)
			rc = roles != NULL ? policy_eval_roles(p, request, roles, user_id) : 0;
		else
			rc = policy_eval(p, request) == 1;
	}
	if (rc == 1 && matched_policy_id != NULL)
		*matched_policy_id = p->id;
	if (saved_role != NULL)
		cJSON_AddItemToObject(request, "role", saved_role);
	if (rc == 1)
		log_debug("allowed by AccessPolicy %s", p->id);
	else if (rc == 0)
		log_info("denied: no AccessPolicy allows the request (client %s, user %s)",
		    client_id != NULL ? client_id : "-", user_id != NULL ? user_id : "-");
	return rc;
}

/* ---- the request object ---- */

/* params[name] = value, turning a repeated name into an array.  0 / -1. */
static int
policy_param_add(cJSON *params, const char *name, const char *value)
{
	cJSON *old, *arr, *v;

	if ((v = cJSON_CreateString(value)) == NULL)
		return -1;
	old = cJSON_GetObjectItemCaseSensitive(params, name);
	if (old == NULL) {
		if (!cJSON_AddItemToObject(params, name, v))
			goto fail;
		return 0;
	}
	if (cJSON_IsArray(old)) {
		if (!cJSON_AddItemToArray(old, v))
			goto fail;
		return 0;
	}
	if ((arr = cJSON_CreateArray()) == NULL)
		goto fail;
	old = cJSON_DetachItemFromObjectCaseSensitive(params, name);
	cJSON_AddItemToArray(arr, old);
	cJSON_AddItemToArray(arr, v);
	if (!cJSON_AddItemToObject(params, name, arr)) {
		cJSON_Delete(arr);
		return -1;
	}
	return 0;
fail:
	cJSON_Delete(v);
	return -1;
}

/* Parses a query string into params.  0, -1 malformed, -2 out of memory. */
static int
policy_query_parse(cJSON *params, const char *qs)
{
	const char *p = qs, *amp, *eq;
	char *name = NULL, *value = NULL;
	size_t count = 0;
	enum form_error fe;

	if (strlen(qs) > POLICY_QUERY_MAX) {
		log_warn("query string over %d bytes", POLICY_QUERY_MAX);
		return -1;
	}
	while (*p != '\0') {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		if (amp == p) {		/* "a=1&&b=2": skip the empty piece */
			p++;
			continue;
		}
		if (++count > POLICY_PARAMS_MAX) {
			log_warn("more than %d query parameters", POLICY_PARAMS_MAX);
			return -1;
		}
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL)
			eq = amp;
		/* The query string holds no raw NUL, so only %00 is refused here. */
		name = form_decode(p, (size_t)(eq - p), 1, &fe);
		value = name == NULL ? NULL : form_decode(eq < amp ? eq + 1 : amp,
		    eq < amp ? (size_t)(amp - eq - 1) : 0, 1, &fe);
		if (name == NULL || value == NULL) {
			free(name);
			free(value);
			if (fe == FORM_ENOMEM)
				return -2;
			log_warn("malformed query parameter");
			return -1;
		}
		if (name[0] != '\0' && policy_param_add(params, name, value) != 0) {
			free(name);
			free(value);
			return -2;
		}
		free(name);
		free(value);
		p = *amp == '&' ? amp + 1 : amp;
	}
	return 0;
}

/* Route parameters replace query parameters of the same name. */
static int
policy_param_set(cJSON *params, const char *name, cJSON *v)
{
	if (v == NULL)
		return -1;
	cJSON_DeleteItemFromObjectCaseSensitive(params, name);
	if (!cJSON_AddItemToObject(params, name, v)) {
		cJSON_Delete(v);
		return -1;
	}
	return 0;
}

/* A copy of a resource without its top-level secret members, or JSON null. */
static const char *const policy_drop[] = {
	"password", "password_hash", "secret", "client_secret",
};

/* The value for a request member: a reference to src (borrow), or a deep copy. */
static cJSON *
policy_copy_or_ref(const cJSON *src, int borrow)
{
	if (src == NULL)
		return cJSON_CreateNull();
	if (!borrow)
		return cJSON_Duplicate(src, 1);
	if (cJSON_IsObject(src))
		return cJSON_CreateObjectReference(src->child);
	if (cJSON_IsArray(src))
		return cJSON_CreateArrayReference(src->child);
	return cJSON_Duplicate(src, 1);		/* a scalar: nothing to save */
}

static cJSON *
policy_copy_scrubbed(const cJSON *src, int borrow)
{
	const char *const *drop = policy_drop;
	cJSON *c;
	size_t i, n = sizeof(policy_drop) / sizeof(policy_drop[0]);

	if (src == NULL)
		return cJSON_CreateNull();
	if (borrow) {
		for (i = 0; i < n; i++)
			if (cJSON_GetObjectItemCaseSensitive(src, drop[i]) != NULL)
				break;
		if (i == n)
			return policy_copy_or_ref(src, 1);	/* nothing to drop */
	}
	if ((c = cJSON_Duplicate(src, 1)) == NULL)
		return NULL;
	if (cJSON_IsObject(c))
		for (i = 0; i < n; i++)
			while (cJSON_GetObjectItemCaseSensitive(c, drop[i]) != NULL)
				cJSON_DeleteItemFromObjectCaseSensitive(c, drop[i]);
	return c;
}

static cJSON *
policy_str_or_null(const char *s)
{
	return s != NULL ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/*
 * cJSON_AddItemToObject that frees item when it cannot be added.  name
 * must be a string literal: it is referenced, not copied.
 */
static int
policy_add(cJSON *obj, const char *name, cJSON *item)
{
	if (item == NULL)
		return -1;
	if (!cJSON_AddItemToObjectCS(obj, name, item)) {
		cJSON_Delete(item);
		return -1;
	}
	return 0;
}

cJSON *
policy_request_new(const char *uri, const char *method, const char *query_string,
    const struct policy_request_info *info)
{
	static const struct policy_request_info none;
	const cJSON *it;
	cJSON *req = NULL, *params;
	char m[16], *q;
	size_t i, ulen;
	int rc;

	if (info == NULL)
		info = &none;
	if (uri == NULL || method == NULL) {
		log_err("request without uri or method");
		return NULL;
	}
	for (i = 0; method[i] != '\0'; i++) {
		if (i + 1 >= sizeof(m) || !isalpha((unsigned char)method[i])) {
			log_warn("bad request method");
			return NULL;
		}
		m[i] = (char)tolower((unsigned char)method[i]);
	}
	m[i] = '\0';
	if (i == 0) {
		log_warn("empty request method");
		return NULL;
	}
	/* The uri never carries the query string. */
	q = strchr(uri, '?');
	ulen = q != NULL ? (size_t)(q - uri) : strlen(uri);
	if ((q = strndup(uri, ulen)) == NULL || (req = cJSON_CreateObject()) == NULL) {
		free(q);
		goto nomem;
	}
	rc = policy_add(req, "uri", cJSON_CreateString(q));
	free(q);
	if (rc != 0 ||
	    policy_add(req, "request-method", cJSON_CreateString(m)) != 0 ||
	    policy_add(req, "params", params = cJSON_CreateObject()) != 0)
		goto nomem;
	/* From here req owns params. */
	if (query_string != NULL && (rc = policy_query_parse(params, query_string)) != 0) {
		if (rc == -2)
			goto nomem;
		goto fail;
	}
	if (info->resource_type != NULL &&
	    policy_param_set(params, "resource/type", cJSON_CreateString(info->resource_type)) != 0)
		goto nomem;
	if (info->resource_id != NULL &&
	    (policy_param_set(params, "resource/id", cJSON_CreateString(info->resource_id)) != 0 ||
	    policy_param_set(params, "id", cJSON_CreateString(info->resource_id)) != 0))
		goto nomem;
	if (cJSON_IsObject(info->route_params))
		cJSON_ArrayForEach(it, info->route_params)
			if (it->string != NULL &&
			    policy_param_set(params, it->string, cJSON_Duplicate(it, 1)) != 0)
				goto nomem;
	if (policy_add(req, "query-string", policy_str_or_null(query_string)) != 0 ||
	    policy_add(req, "body", policy_copy_or_ref(info->body, info->borrow)) != 0 ||
	    policy_add(req, "user", policy_copy_scrubbed(info->user, info->borrow)) != 0 ||
	    policy_add(req, "client", policy_copy_scrubbed(info->client, info->borrow)) != 0 ||
	    policy_add(req, "jwt", policy_copy_or_ref(info->jwt, info->borrow)) != 0 ||
	    policy_add(req, "scheme", policy_str_or_null(info->scheme)) != 0 ||
	    policy_add(req, "remote-addr", policy_str_or_null(info->remote_addr)) != 0)
		goto nomem;
	return req;
nomem:
	log_err("out of memory");
fail:
	cJSON_Delete(req);
	return NULL;
}
