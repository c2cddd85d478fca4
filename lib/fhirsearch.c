/*
 * fhirsearch: search parameter definitions and parsing.  See fhirsearch.h.
 *
 * Owns the registry and the parsed queries.  Every value a client sends
 * ends up as a JSON string inside the filter, never in SQL text; jsonpath
 * expressions come only from smart.search_params.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "fhirsearch.h"
#include "json.h"
#include "log.h"

/* ------------------------------------------------------------------ */
/* Registry                                                            */

static const struct {
	const char	*name;
	enum fs_type	 type;
} fs_types[] = {
	{ "token", FS_TOKEN }, { "reference", FS_REFERENCE }, { "string", FS_STRING },
	{ "date", FS_DATE }, { "number", FS_NUMBER }, { "quantity", FS_QUANTITY },
	{ "uri", FS_URI }
};

const char *
fs_type_name(enum fs_type t)
{
	size_t i;

	for (i = 0; i < sizeof(fs_types) / sizeof(fs_types[0]); i++)
		if (fs_types[i].type == t)
			return fs_types[i].name;
	return "unknown";
}

int
fs_valid_type(const char *s)
{
	size_t n;

	if (s == NULL || *s < 'A' || *s > 'Z')
		return 0;
	for (n = 1; s[n] != '\0'; n++)
		if (!((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z')))
			return 0;
	return n >= 2 && n <= 64;
}

int
fs_valid_id(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '-' && s[n] != '.')
			return 0;
	/* "." and ".." fit the R4 id pattern but are path segments in a URL. */
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	return n >= 1 && n <= 64;
}

struct fs_registry *
fs_registry_new(void)
{
	struct fs_registry *reg = calloc(1, sizeof(*reg));

	if (reg == NULL)
		log_err("out of memory");
	return reg;
}

static void
fs_def_clear(struct fs_def *d)
{
	free(d->rtype);
	free(d->name);
	cJSON_Delete(d->paths);
	free(d->target);
	memset(d, 0, sizeof(*d));
}

void
fs_registry_free(struct fs_registry *reg)
{
	size_t i;

	if (reg == NULL)
		return;
	for (i = 0; i < reg->n; i++)
		fs_def_clear(&reg->v[i]);
	free(reg->v);
	free(reg);
}

/* Parameter names: letters, digits, '-' and '_' (R4 SearchParameter.code). */
static int
fs_valid_pname(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '-' && s[n] != '_')
			return 0;
	return n >= 1 && n <= 64;
}

int
fs_registry_add(struct fs_registry *reg, const char *rtype, const char *name,
    const char *type, const char *paths, const char *target)
{
	struct fs_def d = { 0 }, *nv;
	const cJSON *e;
	const char *why = NULL;
	size_t i;

	if (!fs_valid_type(rtype) || !fs_valid_pname(name) || type == NULL ||
	    paths == NULL || (target != NULL && !fs_valid_type(target))) {
		log_err("search parameter %s.%s: malformed row", rtype ? rtype : "?",
		    name ? name : "?");
		return -1;
	}
	for (i = 0; i < sizeof(fs_types) / sizeof(fs_types[0]); i++)
		if (strcmp(fs_types[i].name, type) == 0)
			d.type = fs_types[i].type;
	if (d.type == 0) {
		log_err("search parameter %s.%s: unknown type", rtype, name);
		return -1;
	}
	if ((d.paths = json_parse_strict(paths, strlen(paths), &why)) == NULL ||
	    !cJSON_IsArray(d.paths) || cJSON_GetArraySize(d.paths) == 0) {
		log_err("search parameter %s.%s: paths are not a JSON array", rtype, name);
		goto fail;
	}
	cJSON_ArrayForEach(e, d.paths)
		if (!cJSON_IsString(e) || e->valuestring[0] != '$') {
			log_err("search parameter %s.%s: a path is not a jsonpath", rtype, name);
			goto fail;
		}
	if ((d.rtype = strdup(rtype)) == NULL || (d.name = strdup(name)) == NULL ||
	    (target != NULL && (d.target = strdup(target)) == NULL))
		goto oom;
	if ((nv = realloc(reg->v, (reg->n + 1) * sizeof(*nv))) == NULL)
		goto oom;
	reg->v = nv;
	reg->v[reg->n++] = d;
	return 0;
oom:
	log_err("out of memory");
fail:
	fs_def_clear(&d);
	return -1;
}

struct fs_registry *
fs_registry_load(void)
{
	struct fs_registry *reg;
	PGresult *res;
	int i, n;

	res = db_exec("SELECT resource_type, name, type, array_to_json(paths::text[])::text, target "
	    "FROM smart.search_params ORDER BY resource_type, name", 0, NULL);
	if (res == NULL)
		return NULL;
	if ((reg = fs_registry_new()) == NULL) {
		PQclear(res);
		return NULL;
	}
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		/* A bad row is logged and skipped: the others still work. */
		(void)fs_registry_add(reg, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
		    PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4));
	}
	PQclear(res);
	return reg;
}

const struct fs_def *
fs_registry_find(const struct fs_registry *reg, const char *rtype, const char *name)
{
	const struct fs_def *common = NULL;
	size_t i;

	if (reg == NULL)
		return NULL;
	for (i = 0; i < reg->n; i++) {
		if (strcmp(reg->v[i].name, name) != 0)
			continue;
		if (strcmp(reg->v[i].rtype, rtype) == 0)
			return &reg->v[i];
		if (strcmp(reg->v[i].rtype, "Resource") == 0)
			common = &reg->v[i];
	}
	return common;
}

int
fs_registry_has_type(const struct fs_registry *reg, const char *rtype)
{
	size_t i;

	for (i = 0; reg != NULL && i < reg->n; i++)
		if (strcmp(reg->v[i].rtype, rtype) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Values: escapes, commas, dates                                      */

int
fs_split_values(const char *s, char **out, size_t max)
{
	size_t n = 0, start = 0, i;

	for (i = 0;; i++) {
		if (s[i] == '\\') {
			if (s[i + 1] == '\0')
				goto fail;
			i++;
			continue;
		}
		if (s[i] != ',' && s[i] != '\0')
			continue;
		if (i == start || n == max)
			goto fail;
		if ((out[n] = strndup(s + start, i - start)) == NULL)
			goto fail;
		n++;
		if (s[i] == '\0')
			break;
		start = i + 1;
	}
	return (int)n;
fail:
	fs_free_values(out, n);
	return -1;
}

void
fs_free_values(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i]);
		v[i] = NULL;
	}
}

int
fs_unescape(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		if (*s == '\\') {
			s++;
			if (*s != ',' && *s != '|' && *s != '$' && *s != '\\')
				return -1;
		}
		*o++ = *s;
	}
	*o = '\0';
	return 0;
}

char *
fs_find_bar(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '|')
			return s;
	}
	return NULL;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long long
fs_days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static void
fs_civil_from_days(long long z, long long *y, unsigned *m, unsigned *d)
{
	long long era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	*y = (long long)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y += *m <= 2;
}

static int
fs_leap(long long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
fs_mdays(long long y, unsigned m)
{
	static const unsigned days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && fs_leap(y) ? 29 : days[m - 1];
}

/* Reads exactly n digits; -1 when they are not there. */
static long
fs_digits(const char **p, int n)
{
	long v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v;
}

static void
fs_format_instant(long long secs, char *out, size_t outsz)
{
	long long y, days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	long long rem = secs - days * 86400;
	unsigned m, d;

	fs_civil_from_days(days, &y, &m, &d);
	if (y > 9999) {
		snprintf(out, outsz, "infinity");
		return;
	}
	snprintf(out, outsz, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", y, m, d,
	    rem / 3600, rem % 3600 / 60, rem % 60);
}

int
fs_date_range(const char *s, char *lo, size_t losz, char *hi, size_t hisz)
{
	const char *p = s;
	long y, mo = 1, d = 1, hh = 0, mi = 0, ss = 0, tzh = 0, tzm = 0;
	int prec, sign = 1;
	long long start, end;

	if ((y = fs_digits(&p, 4)) < 1)
		return -1;
	prec = 0;				/* year */
	if (*p == '-') {
		p++;
		if ((mo = fs_digits(&p, 2)) < 1 || mo > 12)
			return -1;
		prec = 1;			/* month */
		if (*p == '-') {
			p++;
			if ((d = fs_digits(&p, 2)) < 1 || d > (long)fs_mdays(y, (unsigned)mo))
				return -1;
			prec = 2;		/* day */
			if (*p == 'T') {
				p++;
				if ((hh = fs_digits(&p, 2)) < 0 || hh > 23 || *p++ != ':' ||
				    (mi = fs_digits(&p, 2)) < 0 || mi > 59)
					return -1;
				prec = 3;	/* minute */
				if (*p == ':') {
					p++;
					if ((ss = fs_digits(&p, 2)) < 0 || ss > 59)
						return -1;
					prec = 4;	/* second */
					if (*p == '.') {
						int nd = 0;

						for (p++; isdigit((unsigned char)*p); p++)
							nd++;
						if (nd == 0 || nd > 9)
							return -1;
					}
				}
				if (*p == 'Z')
					p++;
				else if (*p == '+' || *p == '-' || *p == ' ') {
					sign = *p == '-' ? -1 : 1;
					p++;
					if ((tzh = fs_digits(&p, 2)) < 0 || tzh > 14 || *p++ != ':' ||
					    (tzm = fs_digits(&p, 2)) < 0 || tzm > 59)
						return -1;
				}
			}
		}
	}
	if (*p != '\0')
		return -1;
	start = fs_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    hh * 3600 + mi * 60 + ss - sign * (tzh * 3600 + tzm * 60);
	switch (prec) {
	case 0:
		end = fs_days_from_civil(y + 1, 1, 1) * 86400;
		break;
	case 1:
		end = mo == 12 ? fs_days_from_civil(y + 1, 1, 1) * 86400 :
		    fs_days_from_civil(y, (unsigned)mo + 1, 1) * 86400;
		break;
	case 2:
		end = start + 86400;
		break;
	case 3:
		end = start + 60;
		break;
	default:
		end = start + 1;
		break;
	}
	fs_format_instant(start, lo, losz);
	fs_format_instant(end, hi, hisz);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Conditions                                                          */

/* A new condition of kind k on d's paths; owned, NULL on OOM. */
static cJSON *
fs_cond_new(const char *k, const struct fs_def *d, int neg, cJSON **values)
{
	cJSON *c, *paths;

	if ((c = cJSON_CreateObject()) == NULL)
		return NULL;
	if (cJSON_AddStringToObject(c, "k", k) == NULL ||
	    (paths = cJSON_Duplicate(d->paths, 1)) == NULL)
		goto fail;
	if (!cJSON_AddItemToObject(c, "p", paths)) {
		cJSON_Delete(paths);
		goto fail;
	}
	if ((*values = cJSON_AddArrayToObject(c, "v")) == NULL ||
	    cJSON_AddBoolToObject(c, "n", neg) == NULL)
		goto fail;
	return c;
fail:
	cJSON_Delete(c);
	return NULL;
}

static int
fs_add_obj(cJSON *arr, cJSON **out)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return -1;
	if (!cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return -1;
	}
	*out = o;
	return 0;
}

/* A token value ("code", "system|code", "|code", "system|"). */
static enum fs_result
fs_token_value(cJSON *values, char *part, const char *pname, char *why, size_t whysz)
{
	char *bar = fs_find_bar(part);
	cJSON *o;

	if (fs_add_obj(values, &o) == -1)
		return FS_ENOMEM;
	if (bar != NULL) {
		*bar = '\0';
		if (fs_unescape(part) == -1 || fs_unescape(bar + 1) == -1)
			goto bad;
		if (part[0] == '\0' && bar[1] == '\0')
			goto bad;
		if (part[0] == '\0') {
			if (cJSON_AddNullToObject(o, "s") == NULL)
				return FS_ENOMEM;
		} else if (cJSON_AddStringToObject(o, "s", part) == NULL)
			return FS_ENOMEM;
		if (bar[1] != '\0' && cJSON_AddStringToObject(o, "c", bar + 1) == NULL)
			return FS_ENOMEM;
		return FS_OK;
	}
	if (fs_unescape(part) == -1)
		goto bad;
	if (cJSON_AddStringToObject(o, "c", part) == NULL)
		return FS_ENOMEM;
	return FS_OK;
bad:
	buf_why(why, whysz, "search parameter '%s': malformed token (use code, system|code, "
	    "|code or system|)", pname);
	return FS_BAD;
}

/* A reference value ("Type/id", "id", an absolute URL). */
static enum fs_result
fs_ref_value(cJSON *values, char *part, const struct fs_def *d, const char *modtype,
    const char *fhir_base, const char *pname, char *why, size_t whysz)
{
	size_t bl = fhir_base != NULL ? strlen(fhir_base) : 0;
	char *v = part, *slash;
	const char *t;
	cJSON *o;

	if (fs_unescape(part) == -1)
		goto bad;
	if (bl > 0 && strncmp(v, fhir_base, bl) == 0 && v[bl] == '/')
		v += bl + 1;
	if (fs_add_obj(values, &o) == -1)
		return FS_ENOMEM;
	if (strstr(v, "://") != NULL) {
		/* Someone else's server: only an exact reference can match. */
		if (cJSON_AddStringToObject(o, "u", v) == NULL)
			return FS_ENOMEM;
		return FS_OK;
	}
	if ((slash = strchr(v, '/')) != NULL) {
		*slash = '\0';
		if (!fs_valid_type(v) || !fs_valid_id(slash + 1))
			goto bad;
		if (cJSON_AddStringToObject(o, "t", v) == NULL ||
		    cJSON_AddStringToObject(o, "i", slash + 1) == NULL)
			return FS_ENOMEM;
		/* Patient/x against a subject:Group search matches nothing. */
		if (modtype != NULL && strcmp(modtype, v) != 0 &&
		    cJSON_AddStringToObject(o, "u", "") == NULL)
			return FS_ENOMEM;
		return FS_OK;
	}
	if (!fs_valid_id(v))
		goto bad;
	t = modtype != NULL ? modtype : d->target;
	if (t != NULL && cJSON_AddStringToObject(o, "t", t) == NULL)
		return FS_ENOMEM;
	if (cJSON_AddStringToObject(o, "i", v) == NULL)
		return FS_ENOMEM;
	return FS_OK;
bad:
	buf_why(why, whysz, "search parameter '%s': malformed reference (use Type/id or id)",
	    pname);
	return FS_BAD;
}

static const char *const fs_date_prefixes[] = {
	"eq", "ne", "lt", "gt", "le", "ge", "sa", "eb", "ap", NULL
};

static enum fs_result
fs_date_value(cJSON *values, char *part, const char *pname, char *why, size_t whysz)
{
	char lo[32], hi[32], op[3] = "eq";
	const char *v = part;
	cJSON *o;
	size_t i;

	if (fs_unescape(part) == -1)
		goto bad;
	if (isalpha((unsigned char)part[0])) {
		for (i = 0; fs_date_prefixes[i] != NULL; i++)
			if (strncmp(part, fs_date_prefixes[i], 2) == 0)
				break;
		if (fs_date_prefixes[i] == NULL)
			goto bad;
		memcpy(op, part, 2);
		v = part + 2;
	}
	if (fs_date_range(v, lo, sizeof(lo), hi, sizeof(hi)) == -1)
		goto bad;
	if (fs_add_obj(values, &o) == -1)
		return FS_ENOMEM;
	if (cJSON_AddStringToObject(o, "o", op) == NULL ||
	    cJSON_AddStringToObject(o, "lo", lo) == NULL ||
	    cJSON_AddStringToObject(o, "hi", hi) == NULL)
		return FS_ENOMEM;
	return FS_OK;
bad:
	buf_why(why, whysz, "search parameter '%s': malformed date "
	    "(use [eq|ne|lt|gt|le|ge|sa|eb|ap]YYYY[-MM[-DD[Thh:mm[:ss][Z|+hh:mm]]]])", pname);
	return FS_BAD;
}

static enum fs_result
fs_string_value(cJSON *values, char *part, const char *mode, const char *pname,
    char *why, size_t whysz)
{
	cJSON *o;

	if (fs_unescape(part) == -1) {
		buf_why(why, whysz, "search parameter '%s': malformed escape", pname);
		return FS_BAD;
	}
	if (fs_add_obj(values, &o) == -1)
		return FS_ENOMEM;
	if (cJSON_AddStringToObject(o, "s", part) == NULL ||
	    cJSON_AddStringToObject(o, "m", mode) == NULL)
		return FS_ENOMEM;
	return FS_OK;
}

/*
 * Builds the condition for name[:modifier]=value on type.  Returns FS_OK
 * with *out set, FS_OK with *out NULL when the parameter is to be ignored
 * (lenient), FS_BAD or FS_ENOMEM.
 */
static enum fs_result
fs_condition(const struct fs_registry *reg, const char *type, const char *fullname,
    const char *value, int lenient, const char *fhir_base, cJSON **out,
    char *why, size_t whysz)
{
	char name[72], *mod, *parts[FS_MAX_VALUES];
	const struct fs_def *d;
	const char *kind, *strmode = "prefix", *modtype = NULL;
	enum fs_result rc = FS_OK;
	cJSON *c = NULL, *values;
	int neg = 0, n = 0, i;

	*out = NULL;
	if (strlen(fullname) >= sizeof(name)) {
		buf_why(why, whysz, "search parameter name too long");
		return lenient ? FS_OK : FS_BAD;
	}
	snprintf(name, sizeof(name), "%s", fullname);
	if ((mod = strchr(name, ':')) != NULL)
		*mod++ = '\0';
	if (!fs_valid_pname(name) || (d = fs_registry_find(reg, type, name)) == NULL) {
		buf_why(why, whysz, "unknown search parameter '%s' for %s", fullname, type);
		return lenient ? FS_OK : FS_BAD;
	}

	if (mod != NULL && strcmp(mod, "missing") == 0) {
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
			buf_why(why, whysz, "search parameter '%s': use true or false", fullname);
			return FS_BAD;
		}
		if ((c = fs_cond_new("any", d, strcmp(value, "true") == 0, &values)) == NULL ||
		    !cJSON_AddItemToArray(values, cJSON_CreateTrue()))
			goto oom;
		*out = c;
		return FS_OK;
	}

	switch (d->type) {
	case FS_TOKEN:
		kind = "token";
		if (mod != NULL && strcmp(mod, "not") == 0)
			neg = 1;
		else if (mod != NULL)
			goto badmod;
		break;
	case FS_REFERENCE:
		kind = "ref";
		if (mod != NULL && fs_valid_type(mod))
			modtype = mod;
		else if (mod != NULL)
			goto badmod;
		break;
	case FS_STRING:
		kind = "str";
		if (mod != NULL && strcmp(mod, "exact") == 0)
			strmode = "exact";
		else if (mod != NULL && strcmp(mod, "contains") == 0)
			strmode = "contains";
		else if (mod != NULL)
			goto badmod;
		break;
	case FS_URI:
		kind = "str";
		strmode = "exact";
		if (mod != NULL)
			goto badmod;
		break;
	case FS_DATE:
		kind = "date";
		if (mod != NULL)
			goto badmod;
		break;
	default:
		buf_why(why, whysz, "search parameter '%s': %s parameters are not supported",
		    fullname, fs_type_name(d->type));
		return lenient ? FS_OK : FS_BAD;
	}

	if ((n = fs_split_values(value, parts, FS_MAX_VALUES)) < 0) {
		buf_why(why, whysz, "search parameter '%s': empty or malformed value list "
		    "(at most %d values)", fullname, FS_MAX_VALUES);
		return FS_BAD;
	}
	if ((c = fs_cond_new(kind, d, neg, &values)) == NULL)
		goto oom;
	for (i = 0; i < n && rc == FS_OK; i++) {
		switch (d->type) {
		case FS_TOKEN:
			rc = fs_token_value(values, parts[i], fullname, why, whysz);
			break;
		case FS_REFERENCE:
			rc = fs_ref_value(values, parts[i], d, modtype, fhir_base, fullname,
			    why, whysz);
			break;
		case FS_DATE:
			rc = fs_date_value(values, parts[i], fullname, why, whysz);
			break;
		default:
			rc = fs_string_value(values, parts[i], strmode, fullname, why, whysz);
			break;
		}
	}
	fs_free_values(parts, (size_t)n);
	if (rc != FS_OK) {
		cJSON_Delete(c);
		if (rc == FS_ENOMEM)
			log_err("out of memory");
		return rc;
	}
	*out = c;
	return FS_OK;
badmod:
	buf_why(why, whysz, "search parameter '%s': modifier ':%s' is not supported",
	    fullname, mod);
	return lenient ? FS_OK : FS_BAD;
oom:
	cJSON_Delete(c);
	log_err("out of memory");
	return FS_ENOMEM;
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */

int
fs_filter_add_clause(cJSON *filter, cJSON *groups)
{
	if (groups == NULL)
		return -1;
	if (!cJSON_AddItemToArray(filter, groups)) {
		cJSON_Delete(groups);
		return -1;
	}
	return 0;
}

void
fs_query_clear(struct fs_query *q)
{
	size_t i;

	free(q->type);
	cJSON_Delete(q->filter);
	for (i = 0; i < q->ninc; i++) {
		free(q->inc[i].source);
		free(q->inc[i].target);
	}
	form_clear(&q->link);
	memset(q, 0, sizeof(*q));
}

static int
fs_link_add(struct form *f, const char *name, const char *value)
{
	struct form_param *nv;
	size_t cap;

	if (f->n == f->cap) {
		cap = f->cap ? f->cap * 2 : 8;
		if ((nv = realloc(f->v, cap * sizeof(*nv))) == NULL)
			return -1;
		f->v = nv;
		f->cap = cap;
	}
	if ((f->v[f->n].name = strdup(name)) == NULL)
		return -1;
	if ((f->v[f->n].value = strdup(value)) == NULL) {
		free(f->v[f->n].name);
		return -1;
	}
	f->n++;
	return 0;
}

/* Strict non-negative decimal number, at most max. */
static int
fs_parse_long(const char *s, long max, long *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)s[0]) || strlen(s) > 9)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		return -1;
	*out = v > max ? max : v;
	return 0;
}

/* _include / _revinclude value: "Source:param[:Target]". */
static enum fs_result
fs_include(const struct fs_registry *reg, struct fs_query *q, const char *value, int rev,
    int lenient, char *why, size_t whysz)
{
	char buf[200], *src, *pname, *target;
	const struct fs_def *d;
	struct fs_include *inc;

	if (strlen(value) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", value);
	src = buf;
	if ((pname = strchr(src, ':')) == NULL)
		goto bad;
	*pname++ = '\0';
	if ((target = strchr(pname, ':')) != NULL)
		*target++ = '\0';
	if (!fs_valid_type(src) || !fs_valid_pname(pname) ||
	    (target != NULL && !fs_valid_type(target)))
		goto bad;
	if (!rev && strcmp(src, q->type) != 0) {
		buf_why(why, whysz, "_include=%s: the source type must be %s", value, q->type);
		return lenient ? FS_OK : FS_BAD;
	}
	d = fs_registry_find(reg, src, pname);
	if (d == NULL || d->type != FS_REFERENCE) {
		buf_why(why, whysz, "%s=%s: %s is not a reference search parameter of %s",
		    rev ? "_revinclude" : "_include", value, pname, src);
		return lenient ? FS_OK : FS_BAD;
	}
	if (rev && ((target != NULL && strcmp(target, q->type) != 0) ||
	    (d->target != NULL && strcmp(d->target, q->type) != 0))) {
		buf_why(why, whysz, "_revinclude=%s cannot point at %s", value, q->type);
		return lenient ? FS_OK : FS_BAD;
	}
	if (q->ninc == FS_MAX_INCLUDES) {
		buf_why(why, whysz, "at most %d _include and _revinclude parameters",
		    FS_MAX_INCLUDES);
		return FS_BAD;
	}
	inc = &q->inc[q->ninc];
	memset(inc, 0, sizeof(*inc));
	inc->def = d;
	inc->rev = rev;
	if ((inc->source = strdup(src)) == NULL ||
	    (target != NULL && (inc->target = strdup(target)) == NULL)) {
		free(inc->source);
		inc->source = NULL;
		return FS_ENOMEM;
	}
	q->ninc++;
	return FS_OK;
bad:
	buf_why(why, whysz, "%s: use Type:parameter[:TargetType]",
	    rev ? "_revinclude" : "_include");
	return FS_BAD;
}

static enum fs_result
fs_sort(const struct fs_registry *reg, struct fs_query *q, const char *value,
    char *why, size_t whysz)
{
	const char *key = value;
	const struct fs_def *d;

	if (q->sort_given) {
		buf_why(why, whysz, "_sort given twice");
		return FS_BAD;
	}
	if (*key == '-') {
		q->sort_desc = 1;
		key++;
	}
	if (strchr(key, ',') != NULL) {
		buf_why(why, whysz, "_sort: only one sort key is supported");
		return FS_BAD;
	}
	if (strcmp(key, "_lastUpdated") == 0) {
		q->sort = NULL;
	} else if ((d = fs_registry_find(reg, q->type, key)) != NULL && d->type == FS_DATE) {
		q->sort = d;
	} else {
		buf_why(why, whysz, "_sort=%s: sorting is supported on date parameters and "
		    "_lastUpdated only", value);
		return FS_BAD;
	}
	q->sort_given = 1;
	return FS_OK;
}

static int
fs_is_json_format(const char *v)
{
	return strcmp(v, "json") == 0 || strcmp(v, "application/json") == 0 ||
	    strcmp(v, "application/fhir+json") == 0 || strcmp(v, "application/fhir json") == 0;
}

enum fs_result
fs_query_parse(const struct fs_registry *reg, const char *type, const struct form *params,
    int lenient, const char *fhir_base, struct fs_query *q, char *why, size_t whysz)
{
	enum fs_result rc = FS_OK;
	cJSON *groups, *cond;
	int have_count = 0, have_offset = 0;
	size_t i, nconds = 0;

	memset(q, 0, sizeof(*q));
	q->count = FS_COUNT_DEFAULT;
	if ((q->type = strdup(type)) == NULL || (q->filter = cJSON_CreateArray()) == NULL ||
	    (groups = cJSON_CreateArray()) == NULL)
		goto oom;
	if (fs_filter_add_clause(q->filter, groups) == -1 ||
	    (q->conds = cJSON_CreateArray()) == NULL)
		goto oom;
	if (!cJSON_AddItemToArray(groups, q->conds)) {
		cJSON_Delete(q->conds);
		q->conds = NULL;
		goto oom;
	}

	for (i = 0; i < params->n && rc == FS_OK; i++) {
		const char *n = params->v[i].name, *v = params->v[i].value;
		int keep = 1;

		/* An empty value means the parameter was not given. */
		if (v[0] == '\0')
			continue;
		if (strcmp(n, "_count") == 0) {
			if (have_count++ || fs_parse_long(v, FS_COUNT_MAX, &q->count) == -1) {
				buf_why(why, whysz, "_count must be given once, as a number");
				rc = FS_BAD;
			}
			keep = 0;	/* links carry the effective value */
		} else if (strcmp(n, "_offset") == 0) {
			if (have_offset++ || fs_parse_long(v, FS_OFFSET_MAX, &q->offset) == -1) {
				buf_why(why, whysz, "_offset must be given once, as a number");
				rc = FS_BAD;
			}
			keep = 0;
		} else if (strcmp(n, "_sort") == 0) {
			rc = fs_sort(reg, q, v, why, whysz);
		} else if (strcmp(n, "_include") == 0 || strcmp(n, "_revinclude") == 0) {
			size_t before = q->ninc;

			rc = fs_include(reg, q, v, n[1] == 'r', lenient, why, whysz);
			keep = q->ninc > before;
		} else if (strcmp(n, "_format") == 0) {
			if (!fs_is_json_format(v)) {
				buf_why(why, whysz, "_format: this server speaks JSON only");
				rc = FS_BAD;
			}
			keep = 0;
		} else if (strcmp(n, "_pretty") == 0) {
			keep = 0;
		} else {
			if ((rc = fs_condition(reg, type, n, v, lenient, fhir_base, &cond,
			    why, whysz)) != FS_OK)
				break;
			if (cond == NULL) {
				keep = 0;	/* ignored (lenient) */
			} else if (nconds == FS_MAX_CONDITIONS) {
				cJSON_Delete(cond);
				buf_why(why, whysz, "at most %d search parameters",
				    FS_MAX_CONDITIONS);
				rc = FS_BAD;
			} else if (!cJSON_AddItemToArray(q->conds, cond)) {
				cJSON_Delete(cond);
				goto oom;
			} else
				nconds++;
		}
		if (rc == FS_OK && keep && fs_link_add(&q->link, n, v) == -1)
			goto oom;
	}
	if (rc != FS_OK) {
		fs_query_clear(q);
		return rc;
	}
	return FS_OK;
oom:
	log_err("out of memory");
	fs_query_clear(q);
	return FS_ENOMEM;
}

cJSON *
fs_constraint_group(const struct fs_registry *reg, const char *type,
    const char *const *names, const char *const *values, size_t n, char *why, size_t whysz)
{
	cJSON *group, *cond;
	size_t i;

	if ((group = cJSON_CreateArray()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		/* Paging and result parameters constrain nothing: refuse them. */
		if (names[i][0] == '_' && strcmp(names[i], "_id") != 0 &&
		    strcmp(names[i], "_lastUpdated") != 0) {
			buf_why(why, whysz, "scope constraint '%s' is not supported", names[i]);
			goto fail;
		}
		if (fs_condition(reg, type, names[i], values[i], 0, NULL, &cond, why,
		    whysz) != FS_OK || cond == NULL)
			goto fail;
		if (!cJSON_AddItemToArray(group, cond)) {
			cJSON_Delete(cond);
			goto fail;
		}
	}
	return group;
fail:
	cJSON_Delete(group);
	return NULL;
}
