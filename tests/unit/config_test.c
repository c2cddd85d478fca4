/*
 * config_test: smartauth.conf parsing and validation, table-driven.
 * Each row writes a file, sets a fake environment and checks the outcome.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "t.h"

static const char *fake_env[16][2];

static const char *
fake_getenv(const char *name)
{
	size_t i;

	for (i = 0; fake_env[i][0] != NULL; i++)
		if (strcmp(fake_env[i][0], name) == 0)
			return fake_env[i][1];
	return NULL;
}

struct row {
	const char *name;
	const char *file;		/* NULL: no file at all */
	const char *env[3][2];
	int	    ok;
	const char *errpart;		/* substring of the error, or what to check on success */
};

#define BASE "database = dbname=x\nkey_dir = /tmp\n"

static const struct row rows[] = {
	{ "minimal file loads", BASE, { { NULL } }, 1, NULL },
	{ "comments and blank lines", "# c\n\n  " BASE "   # indented comment\n", { { NULL } }, 1, NULL },
	{ "missing database named", "key_dir = /tmp\n", { { NULL } }, 0, "database is not set" },
	{ "missing key_dir names its variable", "database = x\n", { { NULL } }, 0, "SMARTAUTH_KEY_DIR" },
	{ "unknown key named", BASE "colour = blue\n", { { NULL } }, 0, "unknown key \"colour\"" },
	{ "malformed line", BASE "just words\n", { { NULL } }, 0, "expected \"key = value\"" },
	{ "line number given", BASE "\nbogus\n", { { NULL } }, 0, ":4:" },
	{ "repeated key refused", BASE "key_dir = /x\n", { { NULL } }, 0, "key_dir given twice" },
	{ "integer with junk", BASE "code_lifetime = 60s\n", { { NULL } }, 0, "code_lifetime must be an integer" },
	{ "integer out of range", BASE "code_lifetime = 3600\n", { { NULL } }, 0, "from 10 to 600" },
	{ "negative integer", BASE "access_token_lifetime = -5\n", { { NULL } }, 0, "access_token_lifetime" },
	{ "queue wait bound of 0 turns shedding off", BASE "max_queue_wait_ms = 0\n", { { NULL } }, 1, NULL },
	{ "queue wait bound at its maximum", BASE "max_queue_wait_ms = 600000\n", { { NULL } }, 1, NULL },
	{ "queue wait bound over its maximum", BASE "max_queue_wait_ms = 600001\n", { { NULL } }, 0, "from 0 to 600000" },
	{ "negative queue wait bound", BASE "max_queue_wait_ms = -1\n", { { NULL } }, 0, "max_queue_wait_ms" },
	{ "queue wait bound with a unit", BASE "max_queue_wait_ms = 5s\n", { { NULL } }, 0, "max_queue_wait_ms must be an integer" },
	{ "empty value", BASE "tenant =\n", { { NULL } }, 0, "tenant must be" },
	{ "bad tenant", BASE "tenant = a b\n", { { NULL } }, 0, "tenant must be" },
	{ "http for a public host refused", BASE "fhir_base = http://ehr.example.org/fhir\n", { { NULL } }, 0, "must use https" },
	{ "https public host ok", BASE "fhir_base = https://ehr.example.org/smart/fhir\n", { { NULL } }, 1, NULL },
	{ "insecure http allowed when asked", BASE "allow_insecure_http = yes\nfhir_base = http://ehr.test/fhir\n", { { NULL } }, 1, NULL },
	{ "relative URL refused", BASE "fhir_base = /fhir\n", { { NULL } }, 0, "absolute http(s) URL" },
	{ "URL with query refused", BASE "fhir_base = https://h/fhir?x=1\n", { { NULL } }, 0, "must not contain" },
	{ "URL with userinfo refused", BASE "fhir_base = https://u@h/fhir\n", { { NULL } }, 0, "must not contain" },
	{ "fhir_base not ending in /fhir needs auth_base", BASE "fhir_base = https://h/r4\n", { { NULL } }, 0, "auth_base must be set" },
	{ "explicit auth_base accepted", BASE "fhir_base = https://h/r4\nauth_base = https://h/oauth\n", { { NULL } }, 1, NULL },
	{ "bad log level", BASE "log_level = loud\n", { { NULL } }, 0, "log_level" },
	{ "bad backend", BASE "fhir_backend = ftp://x\n", { { NULL } }, 0, "fhir_backend" },
	{ "environment supplies required keys", "", { { "SMARTAUTH_DATABASE", "dbname=y" }, { "SMARTAUTH_KEY_DIR", "/k" } }, 1, NULL },
	{ "bad environment value names the variable", BASE, { { "SMARTAUTH_CODE_LIFETIME", "abc" } }, 0, "SMARTAUTH_CODE_LIFETIME" },
	{ "no file and no environment", NULL, { { NULL } }, 0, "cannot open" },
};

static void
test_rows(void)
{
	char path[] = "/tmp/smartauth-conf-XXXXXX";
	struct config cfg;
	char err[512];
	size_t i, j;
	int fd, rc;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		const char *file = path;

		memset(fake_env, 0, sizeof(fake_env));
		for (j = 0; j < 3 && r->env[j][0] != NULL; j++) {
			fake_env[j][0] = r->env[j][0];
			fake_env[j][1] = r->env[j][1];
		}
		strcpy(path, "/tmp/smartauth-conf-XXXXXX");
		if (r->file != NULL) {
			fd = mkstemp(path);
			if (write(fd, r->file, strlen(r->file)) < 0)
				perror("write");
			close(fd);
		} else
			file = "/nonexistent/smartauth.conf";
		err[0] = '\0';
		rc = config_load(&cfg, file, fake_getenv, err, sizeof(err));
		T_EQ_INT(rc, r->ok ? 0 : -1, r->name);
		if (!r->ok) {
			if (!T_OK(strstr(err, r->errpart) != NULL, r->name))
				printf("#   error was: %s\n", err);
			T_OK(strchr(err, '\n') == NULL, "error is one line");
		} else
			config_free(&cfg);
		if (r->file != NULL)
			unlink(path);
	}
}

/* Found by fuzzing: a NUL byte must refuse the file, never cut or split a line. */
static void
test_nul_bytes(void)
{
	static const char truncates[] = "database = x\0y\nkey_dir = /k\n";
	char hides[5000];
	char path[] = "/tmp/smartauth-conf-XXXXXX";
	struct config cfg;
	char err[512];
	size_t n;
	int fd;

	fd = mkstemp(path);
	if (write(fd, truncates, sizeof(truncates) - 1) < 0)
		perror("write");
	close(fd);
	memset(fake_env, 0, sizeof(fake_env));
	T_EQ_INT(config_load(&cfg, path, fake_getenv, err, sizeof(err)), -1, "NUL inside a value refused");
	T_OK(strstr(err, "NUL byte") != NULL, "NUL error names the problem");
	unlink(path);

	/* A comment line with a NUL, long enough that the tail would be read as a line. */
	memset(hides, 'c', sizeof(hides));
	hides[0] = '#';
	hides[1] = '\0';
	n = 4100;
	memcpy(hides + n, "database = hidden\nkey_dir = /k\n", 31);
	n += 31;
	strcpy(path, "/tmp/smartauth-conf-XXXXXX");
	fd = mkstemp(path);
	if (write(fd, hides, n) < 0)
		perror("write");
	close(fd);
	T_EQ_INT(config_load(&cfg, path, fake_getenv, err, sizeof(err)), -1,
	    "comment hiding a setting behind a NUL refused");
	unlink(path);
}

static void
test_derived(void)
{
	char path[] = "/tmp/smartauth-conf-XXXXXX";
	static const char body[] = BASE "fhir_base = https://ehr.example.org/smart/fhir/\n";
	struct config cfg;
	char err[512];
	int fd = mkstemp(path);

	if (write(fd, body, sizeof(body) - 1) < 0)
		perror("write");
	close(fd);
	memset(fake_env, 0, sizeof(fake_env));
	fake_env[0][0] = "SMARTAUTH_ACCESS_TOKEN_LIFETIME";
	fake_env[0][1] = "900";
	T_EQ_INT(config_load(&cfg, path, fake_getenv, err, sizeof(err)), 0, "derived config loads");
	T_EQ_STR(cfg.fhir_base, "https://ehr.example.org/smart/fhir", "trailing slash stripped");
	T_EQ_STR(cfg.auth_base, "https://ehr.example.org/smart/auth", "auth_base derived under the prefix");
	T_EQ_STR(cfg.rpc_url, "https://ehr.example.org/smart/rpc", "rpc_url derived under the prefix");
	T_EQ_STR(cfg.fhir_path, "/smart/fhir", "fhir_path is the path of fhir_base");
	T_EQ_INT(cfg.access_token_lifetime, 900, "environment overrides default");
	T_EQ_INT(cfg.code_lifetime, 60, "code lifetime defaults to 60 s");
	T_EQ_INT(cfg.max_queue_wait_ms, 5000, "queue wait bound defaults to 5000 ms");
	T_EQ_STR(cfg.fhir_backend, "builtin", "builtin backend by default");
	T_OK(cfg.tenant == NULL, "tenant unset by default");
	config_free(&cfg);
	unlink(path);

	T_OK(config_url_is_loopback("http://127.0.0.1:8080/fhir"), "127.0.0.1 is loopback");
	T_OK(config_url_is_loopback("http://localhost/fhir"), "localhost is loopback");
	T_OK(config_url_is_loopback("http://[::1]:80/"), "[::1] is loopback");
	T_OK(!config_url_is_loopback("http://localhost.evil.com/"), "localhost.evil.com is not loopback");
	T_OK(!config_url_is_loopback("http://127x.example/"), "127x. host is not loopback");
	T_OK(!config_url_is_loopback("http://127.evil.com/"), "127.evil.com is not loopback");
	T_OK(config_url_is_loopback("http://127.0.0.2/"), "127.0.0.2 is loopback");
}

int
main(void)
{
	test_rows();
	test_nul_bytes();
	test_derived();
	return t_done();
}
