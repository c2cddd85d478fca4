/*
 * config: smartauth.conf plus SMARTAUTH_<KEY> environment overrides.
 *
 * The file is found through SMARTAUTH_CONF, else SYSCONFDIR/smartauth.conf
 * (a missing default file is fine: settings may all come from the
 * environment).  Lines are "key = value"; '#' starts a comment line.
 * Every setting is validated when the program starts; the first bad,
 * unknown, repeated or missing one stops the program with one line that
 * names it (DESIGN §6).  The table of keys in config.c is the single
 * source for README's list and smartauth.conf(5).
 *
 * Owns every string in struct config; config_free releases them.
 */
#ifndef SMARTAUTH_CONFIG_H
#define SMARTAUTH_CONFIG_H

#include <stddef.h>

struct config {
	char	*fhir_base;		/* absolute URL, no trailing slash */
	char	*auth_base;		/* absolute URL of /auth, no trailing slash */
	char	*rpc_url;		/* absolute URL of /rpc */
	char	*fhir_path;		/* path part of fhir_base ("/fhir") */
	char	*database;		/* libpq connection string */
	char	*key_dir;
	char	*fhir_backend;		/* "builtin" or an upstream URL */
	char	*tenant;		/* NULL when unset */
	char	*log_level;
	long	 access_token_lifetime;
	long	 refresh_token_lifetime;
	long	 code_lifetime;
	long	 launch_lifetime;
	long	 session_lifetime;
	long	 backend_token_lifetime;
	long	 max_body;
	long	 db_connect_timeout;
	long	 allow_insecure_http;	/* 0/1: permit http:// for non-loopback hosts */
	long	 max_queue_wait_ms;	/* 0: off; see serve_shed_setup() */
};

/*
 * Loads the configuration.  path: the file to read (NULL: SMARTAUTH_CONF
 * or the default).  getenv_fn: environment lookup (NULL: getenv), so
 * tests can pass their own.  Returns 0, or -1 with one line in err.
 */
int	config_load(struct config *cfg, const char *path,
	    const char *(*getenv_fn)(const char *), char *err, size_t errsz);
void	config_free(struct config *cfg);

/* Prints every key with its default and meaning (for --help and docs). */
void	config_describe(void *fp);

/* 1 when the URL's host is a loopback name or address. */
int	config_url_is_loopback(const char *url);

#endif
