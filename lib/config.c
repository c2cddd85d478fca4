/*
 * config: table-driven settings.  See config.h.
 *
 * Never logs values (the database string may hold a password); error
 * messages name the key and the rule broken.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

#ifndef SMARTAUTH_SYSCONFDIR
#define SMARTAUTH_SYSCONFDIR "/etc"
#endif

enum config_type { CT_URL, CT_STRING, CT_INT, CT_BOOL, CT_LEVEL, CT_BACKEND, CT_TENANT };

struct config_key {
	const char	*name;
	enum config_type type;
	size_t		 off;
	const char	*def;		/* NULL: no default */
	int		 required;
	long		 min, max;	/* CT_INT */
	const char	*doc;
};

#define S(f) offsetof(struct config, f)
static const struct config_key config_keys[] = {
	{ "fhir_base", CT_URL, S(fhir_base), "http://127.0.0.1:8080/fhir", 1, 0, 0,
	  "FHIR base URL given to apps (iss/aud); issuer of every token" },
	{ "auth_base", CT_URL, S(auth_base), NULL, 0, 0, 0,
	  "URL of the /auth endpoints (default: fhir_base with its last segment /fhir replaced by /auth)" },
	{ "database", CT_STRING, S(database), NULL, 1, 0, 0,
	  "libpq connection string of the smartauth database" },
	{ "key_dir", CT_STRING, S(key_dir), NULL, 1, 0, 0,
	  "directory of PEM private signing keys (RSA, EC); newest signs, all are published" },
	{ "fhir_backend", CT_BACKEND, S(fhir_backend), "builtin", 1, 0, 0,
	  "FHIR store: builtin (PostgreSQL) or the URL of an upstream FHIR server" },
	{ "tenant", CT_TENANT, S(tenant), NULL, 0, 0, 0,
	  "tenant identifier returned in token responses (optional)" },
	{ "log_level", CT_LEVEL, S(log_level), "info", 1, 0, 0,
	  "error, warn, info or debug" },
	{ "access_token_lifetime", CT_INT, S(access_token_lifetime), "3600", 1, 60, 86400,
	  "default access token lifetime in seconds (a client may set its own)" },
	{ "refresh_token_lifetime", CT_INT, S(refresh_token_lifetime), "7776000", 1, 300, 31536000,
	  "refresh token lifetime in seconds" },
	{ "code_lifetime", CT_INT, S(code_lifetime), "60", 1, 10, 600,
	  "authorization code lifetime in seconds" },
	{ "launch_lifetime", CT_INT, S(launch_lifetime), "300", 1, 10, 3600,
	  "EHR launch id lifetime in seconds" },
	{ "session_lifetime", CT_INT, S(session_lifetime), "28800", 1, 60, 604800,
	  "login session lifetime in seconds" },
	{ "backend_token_lifetime", CT_INT, S(backend_token_lifetime), "300", 1, 60, 3600,
	  "default client_credentials access token lifetime in seconds" },
	{ "max_body", CT_INT, S(max_body), "1048576", 1, 1024, 16777216,
	  "largest request body accepted, in bytes" },
	{ "db_connect_timeout", CT_INT, S(db_connect_timeout), "3", 1, 1, 60,
	  "seconds to wait for a database connection" },
	{ "allow_insecure_http", CT_BOOL, S(allow_insecure_http), "no", 1, 0, 0,
	  "yes: allow http:// URLs for hosts other than loopback (test networks only)" },
	{ "max_queue_wait_ms", CT_INT, S(max_queue_wait_ms), "5000", 1, 0, 600000,
	  "milliseconds a request may wait for a free worker before it is refused with 503 "
	  "and Retry-After (0: never)" },
};
#undef S
#define NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static char **
config_str(struct config *cfg, const struct config_key *k)
{
	return (char **)(void *)((char *)cfg + k->off);
}

static long *
config_long(struct config *cfg, const struct config_key *k)
{
	return (long *)(void *)((char *)cfg + k->off);
}

int
config_url_is_loopback(const char *url)
{
	const char *h, *end;
	size_t n;

	if ((h = strstr(url, "://")) == NULL)
		return 0;
	h += 3;
	if (*h == '[')
		return strncmp(h, "[::1]", 5) == 0 && (h[5] == '\0' || h[5] == ':' || h[5] == '/');
	for (end = h; *end != '\0' && *end != ':' && *end != '/'; end++)
		;
	n = (size_t)(end - h);
	if (n == 9 && strncmp(h, "localhost", 9) == 0)
		return 1;
	if (n < 7 || strncmp(h, "127.", 4) != 0)
		return 0;
	for (; h < end; h++)			/* 127.x.y.z, digits and dots only */
		if (!isdigit((unsigned char)*h) && *h != '.')
			return 0;
	return 1;
}

/* Checks an absolute http(s) URL: no userinfo, query, fragment or spaces. */
static const char *
config_check_url(const char *v, int insecure_ok)
{
	const char *h, *p;

	if (strncmp(v, "https://", 8) == 0)
		h = v + 8;
	else if (strncmp(v, "http://", 7) == 0) {
		h = v + 7;
		if (!insecure_ok && !config_url_is_loopback(v))
			return "must use https (http only for loopback hosts)";
	} else
		return "must be an absolute http(s) URL";
	if (*h == '\0' || *h == '/' || *h == ':')
		return "has no host";
	for (p = v; *p != '\0'; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p) ||
		    *p == '?' || *p == '#' || *p == '@')
			return "must not contain spaces, '?', '#' or '@'";
	return NULL;
}

static int
config_set(struct config *cfg, const struct config_key *k, const char *v,
    char *err, size_t errsz)
{
	char *end, **sp;
	const char *c;
	long n;
	int lvl;

	switch (k->type) {
	case CT_INT:
		errno = 0;
		n = strtol(v, &end, 10);
		if (!isdigit((unsigned char)*v) || *end != '\0' || errno != 0 ||
		    n < k->min || n > k->max) {
			snprintf(err, errsz, "%s must be an integer from %ld to %ld",
			    k->name, k->min, k->max);
			return -1;
		}
		*config_long(cfg, k) = n;
		return 0;
	case CT_BOOL:
		if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
			*config_long(cfg, k) = 1;
		else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
			*config_long(cfg, k) = 0;
		else {
			snprintf(err, errsz, "%s must be yes or no", k->name);
			return -1;
		}
		return 0;
	case CT_LEVEL:
		if ((lvl = log_level_parse(v)) < 0) {
			snprintf(err, errsz, "%s must be error, warn, info or debug", k->name);
			return -1;
		}
		break;
	case CT_TENANT:
		for (c = v; *c != '\0'; c++)
			if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.' && *c != '_')
				break;
		if (*v == '\0' || *c != '\0' || strlen(v) > 64) {
			snprintf(err, errsz, "%s must be 1-64 letters, digits, '-', '.' or '_'", k->name);
			return -1;
		}
		break;
	case CT_BACKEND:
	case CT_URL:
	case CT_STRING:
		if (*v == '\0') {
			snprintf(err, errsz, "%s must not be empty", k->name);
			return -1;
		}
		break;
	}
	sp = config_str(cfg, k);
	free(*sp);
	if ((*sp = strdup(v)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	return 0;
}

static const struct config_key *
config_find(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

static char *
config_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int
config_read_file(struct config *cfg, const char *path, int must_exist,
    unsigned char *seen, char *err, size_t errsz)
{
	FILE *fp;
	char *line = NULL, *k, *v, *eq;
	size_t cap = 0;
	ssize_t n;
	const struct config_key *key;
	int lineno = 0, rc = -1;
	size_t len;

	if ((fp = fopen(path, "r")) == NULL) {
		if (!must_exist && errno == ENOENT)
			return 0;
		snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		len = (size_t)n;
		if (len > 4095) {
			snprintf(err, errsz, "%s:%d: line too long", path, lineno);
			goto out;
		}
		/* getline reports what it read, so a NUL cannot hide the rest. */
		if (memchr(line, '\0', len) != NULL) {
			snprintf(err, errsz, "%s:%d: NUL byte", path, lineno);
			goto out;
		}
		k = config_trim(line);
		if (*k == '\0' || *k == '#')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			snprintf(err, errsz, "%s:%d: expected \"key = value\"", path, lineno);
			goto out;
		}
		*eq = '\0';
		k = config_trim(k);
		v = config_trim(eq + 1);
		if ((key = config_find(k)) == NULL) {
			snprintf(err, errsz, "%s:%d: unknown key \"%.64s\"", path, lineno, k);
			goto out;
		}
		if (seen[key - config_keys]) {
			snprintf(err, errsz, "%s:%d: %s given twice", path, lineno, k);
			goto out;
		}
		seen[key - config_keys] = 1;
		if (config_set(cfg, key, v, err, errsz) == -1) {
			/* prefix with the location */
			char tmp[512];

			snprintf(tmp, sizeof(tmp), "%s:%d: %s", path, lineno, err);
			snprintf(err, errsz, "%s", tmp);
			goto out;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errsz, "%s: read error", path);
		goto out;
	}
	rc = 0;
out:
	free(line);
	fclose(fp);
	return rc;
}

/* SMARTAUTH_<KEY>: the environment variable overriding a key. */
static void
config_envname(const struct config_key *k, char *out, size_t outsz)
{
	size_t j, o = (size_t)snprintf(out, outsz, "SMARTAUTH_");

	for (j = 0; k->name[j] != '\0' && o + 1 < outsz; j++)
		out[o++] = (char)toupper((unsigned char)k->name[j]);
	out[o] = '\0';
}

static const char *
config_plain_getenv(const char *name)
{
	return getenv(name);
}

/* Derives auth_base, rpc_url and fhir_path and checks the URLs. */
static int
config_derive(struct config *cfg, char *err, size_t errsz)
{
	const char *why, *host, *slash;
	size_t n;

	n = strlen(cfg->fhir_base);
	while (n > 0 && cfg->fhir_base[n - 1] == '/')
		cfg->fhir_base[--n] = '\0';
	if ((why = config_check_url(cfg->fhir_base, (int)cfg->allow_insecure_http)) != NULL) {
		snprintf(err, errsz, "fhir_base %s", why);
		return -1;
	}
	host = strstr(cfg->fhir_base, "://") + 3;
	slash = strchr(host, '/');
	if ((cfg->fhir_path = strdup(slash != NULL ? slash : "/")) == NULL)
		goto nomem;
	if (cfg->auth_base == NULL) {
		if (n < 5 || strcmp(cfg->fhir_base + n - 5, "/fhir") != 0) {
			snprintf(err, errsz, "auth_base must be set when fhir_base does not end in /fhir");
			return -1;
		}
		if ((cfg->auth_base = malloc(n + 1)) == NULL)
			goto nomem;
		memcpy(cfg->auth_base, cfg->fhir_base, n - 5);
		strcpy(cfg->auth_base + n - 5, "/auth");
	}
	n = strlen(cfg->auth_base);
	while (n > 0 && cfg->auth_base[n - 1] == '/')
		cfg->auth_base[--n] = '\0';
	if ((why = config_check_url(cfg->auth_base, (int)cfg->allow_insecure_http)) != NULL) {
		snprintf(err, errsz, "auth_base %s", why);
		return -1;
	}
	/* /rpc sits beside /auth under the same mount prefix. */
	if (n >= 5 && strcmp(cfg->auth_base + n - 5, "/auth") == 0) {
		if ((cfg->rpc_url = malloc(n + 1)) == NULL)
			goto nomem;
		memcpy(cfg->rpc_url, cfg->auth_base, n - 5);
		strcpy(cfg->rpc_url + n - 5, "/rpc");
	} else if (asprintf(&cfg->rpc_url, "%s/rpc", cfg->auth_base) < 0) {
		cfg->rpc_url = NULL;
		goto nomem;
	}
	return 0;
nomem:
	snprintf(err, errsz, "out of memory");
	return -1;
}

int
config_load(struct config *cfg, const char *path,
    const char *(*getenv_fn)(const char *), char *err, size_t errsz)
{
	unsigned char seen[NKEYS];
	char envname[96];
	const char *v;
	size_t i;
	int must_exist = 1;

	memset(cfg, 0, sizeof(*cfg));
	memset(seen, 0, sizeof(seen));
	if (getenv_fn == NULL)
		getenv_fn = config_plain_getenv;
	for (i = 0; i < NKEYS; i++)
		if (config_keys[i].def != NULL &&
		    config_set(cfg, &config_keys[i], config_keys[i].def, err, errsz) == -1)
			goto fail;
	if (path == NULL && (path = getenv_fn("SMARTAUTH_CONF")) != NULL && *path == '\0') {
		snprintf(err, errsz, "SMARTAUTH_CONF is empty");
		goto fail;
	}
	if (path == NULL) {
		path = SMARTAUTH_SYSCONFDIR "/smartauth.conf";
		must_exist = 0;
	}
	if (config_read_file(cfg, path, must_exist, seen, err, errsz) == -1)
		goto fail;
	for (i = 0; i < NKEYS; i++) {
		config_envname(&config_keys[i], envname, sizeof(envname));
		if ((v = getenv_fn(envname)) == NULL)
			continue;
		if (config_set(cfg, &config_keys[i], v, err, errsz) == -1) {
			char tmp[512];

			snprintf(tmp, sizeof(tmp), "%s (from %s)", err, envname);
			snprintf(err, errsz, "%s", tmp);
			goto fail;
		}
		seen[i] = 1;
	}
	for (i = 0; i < NKEYS; i++)
		if (config_keys[i].required && *config_str(cfg, &config_keys[i]) == NULL &&
		    config_keys[i].type != CT_INT && config_keys[i].type != CT_BOOL) {
			config_envname(&config_keys[i], envname, sizeof(envname));
			snprintf(err, errsz, "%s is not set (in %s or %s)",
			    config_keys[i].name, path, envname);
			goto fail;
		}
	if (strcmp(cfg->fhir_backend, "builtin") != 0) {
		const char *why = config_check_url(cfg->fhir_backend, (int)cfg->allow_insecure_http);

		if (why != NULL) {
			snprintf(err, errsz, "fhir_backend must be builtin or an upstream URL (the URL %s)", why);
			goto fail;
		}
	}
	if (config_derive(cfg, err, errsz) == -1)
		goto fail;
	log_set_level((enum log_level)log_level_parse(cfg->log_level));
	return 0;
fail:
	config_free(cfg);
	return -1;
}

void
config_free(struct config *cfg)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		const struct config_key *k = &config_keys[i];

		if (k->type != CT_INT && k->type != CT_BOOL) {
			free(*config_str(cfg, k));
			*config_str(cfg, k) = NULL;
		}
	}
	free(cfg->rpc_url);
	free(cfg->fhir_path);
	cfg->rpc_url = cfg->fhir_path = NULL;
}

void
config_describe(void *fp)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		fprintf((FILE *)fp, "  %-24s %s%s%s%s\n", config_keys[i].name, config_keys[i].doc,
		    config_keys[i].def ? " [default: " : "",
		    config_keys[i].def ? config_keys[i].def : "",
		    config_keys[i].def ? "]" : "");
}
