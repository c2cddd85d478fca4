/*
 * serve: FastCGI/CGI request loop.  See serve.h.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "config.h"
#include "log.h"
#include "serve.h"

extern char **environ;

static volatile sig_atomic_t serve_busy;
static volatile sig_atomic_t serve_stop;

static void
serve_on_term(int sig)
{
	(void)sig;
	serve_stop = 1;
	if (!serve_busy)
		_exit(0);
}

/* Builds, serialises and writes the response in one piece. */
static int
serve_one(struct req *r, serve_handler handler, void *ctx, FCGX_Stream *out)
{
	struct resp p;
	struct buf wire = { 0 };
	int rc;

	http_resp_init(&p);
	p.head_only = strcmp(r->method, "HEAD") == 0;
	rc = handler(r, &p, ctx);
	if (rc == -1 || p.headers.failed || p.body.failed) {
		http_resp_free(&p);
		http_resp_init(&p);
		http_resp_body(&p, 500, "application/json",
		    "{\"error\":\"server_error\",\"error_description\":\"internal error\"}", 62);
		http_resp_no_store(&p);
	}
	if (http_resp_serialize(&p, &wire) == -1) {
		static const char oom[] = "Status: 500 Internal Server Error\r\n"
		    "Content-Type: text/plain\r\nContent-Length: 15\r\n\r\ninternal error\n";

		buf_free(&wire);
		buf_append(&wire, oom, sizeof(oom) - 1);
	}
	if (out != NULL)
		rc = FCGX_PutStr(wire.data, (int)wire.len, out) == (int)wire.len ? 0 : -1;
	else
		rc = fwrite(wire.data, 1, wire.len, stdout) == wire.len ? 0 : -1;
	if (rc == -1)
		log_info("client went away before the response was written");
	buf_free(&wire);
	http_resp_free(&p);
	return 0;
}

int
serve_run(serve_handler handler, void *ctx)
{
	FCGX_Request fr;
	struct req r;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = serve_on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);	/* mod_fcgid / lighttpd graceful stop */

	if (FCGX_IsCGI()) {
		if (http_req_init(&r, environ, NULL, stdin) == -1)
			return 1;
		serve_one(&r, handler, ctx, NULL);
		http_req_free(&r);
		fflush(stdout);
		return 0;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, 0) != 0) {
		log_err("cannot initialise FastCGI");
		return 1;
	}
	while (!serve_stop) {
		serve_busy = 0;
		if (serve_stop || FCGX_Accept_r(&fr) < 0)
			break;
		serve_busy = 1;
		if (http_req_init(&r, fr.envp, &fr, NULL) == 0) {
			serve_one(&r, handler, ctx, fr.out);
			http_req_free(&r);
		}
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
	return 0;
}

int
serve_cli(int argc, char **argv, const char *prog, const char *summary, int (*check)(void))
{
	if (argc < 2)
		return -1;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		printf("usage: %s [--help | --version | --check-config]\n\n%s\n\n"
		    "Runs as a FastCGI program under Apache (mod_fcgid, mod_proxy_fcgi with\n"
		    "spawn-fcgi) or lighttpd; started as plain CGI it serves one request.\n"
		    "Settings come from the file named by SMARTAUTH_CONF (default\n"
		    "%s/smartauth.conf); each key can be overridden by SMARTAUTH_<KEY>:\n\n",
		    prog, summary, SMARTAUTH_SYSCONFDIR);
		config_describe(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("%s (smartauth) %s\n", prog, SMARTAUTH_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--check-config") == 0)
		return check() == 0 ? 0 : 1;
	fprintf(stderr, "%s: unknown option %s (try --help)\n", prog, argv[1]);
	return 2;
}
