/*
 * serve: FastCGI/CGI request loop and queue-time load shedding.  See
 * serve.h.
 *
 * Shedding reads one stamp the web server wrote and the clock, and never
 * the body or the database; its log line is rate-limited (one per second
 * per process at most, with a count), so an overload does not turn into
 * a flood of the error log as well.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "config.h"
#include "log.h"
#include "outcome.h"
#include "serve.h"

extern char **environ;

static volatile sig_atomic_t serve_busy;
static volatile sig_atomic_t serve_stop;

static const char *serve_wire;			/* serve_prebuilt(), this request */
static size_t serve_wire_len;

static long serve_max_wait_ms;			/* 0: no shedding */
static enum serve_shape serve_shape = SERVE_SHAPE_NONE;
static unsigned long serve_shed_count;		/* refusals not logged yet */
static time_t serve_shed_logged;		/* when the last line was written */

void
serve_shed_setup(long max_wait_ms, enum serve_shape shape)
{
	serve_max_wait_ms = max_wait_ms > 0 ? max_wait_ms : 0;
	serve_shape = shape;
}

long
serve_queue_wait_ms(const char *stamp, long long now_us)
{
	long long t = 0;
	const char *s;

	/* mod_headers' %t: "t=" and the request's arrival in microseconds. */
	if (stamp == NULL || stamp[0] != 't' || stamp[1] != '=')
		return -1;
	for (s = stamp + 2; *s >= '0' && *s <= '9'; s++) {
		if (s - stamp >= 2 + 18)	/* more digits than any sane time */
			return -1;
		t = t * 10 + (*s - '0');
	}
	if (s == stamp + 2 || *s != '\0' || t > now_us)
		return -1;
	return (long)((now_us - t) / 1000 < 0x7fffffffL ? (now_us - t) / 1000 : 0x7fffffffL);
}

int
serve_shed_due(long wait_ms, long max_wait_ms)
{
	return max_wait_ms > 0 && wait_ms > max_wait_ms;
}

int
serve_shed_respond(struct resp *p, enum serve_shape shape)
{
	static const char why[] = "the server is overloaded; retry later";
	/* The RPC's error shape (DESIGN §2); a constant, no input in it. */
	static const char rpc[] = "{\"error\":{\"message\":\"the server is overloaded; retry later\"}}";
	char ra[16];

	snprintf(ra, sizeof(ra), "%d", SERVE_RETRY_AFTER);
	switch (shape) {
	case SERVE_SHAPE_OAUTH:
		/* RFC 6749 §5.2 temporarily_unavailable, RFC 9110 §10.2.3 Retry-After. */
		http_resp_cors(p);
		return http_resp_unavailable(p, SERVE_RETRY_AFTER);
	case SERVE_SHAPE_FHIR:
		http_resp_header(p, "Retry-After", ra);
		return outcome_respond(p, 503, "transient", why);
	case SERVE_SHAPE_PAGE:
		http_resp_header(p, "Retry-After", ra);
		return http_resp_error_page(p, 503, "Temporarily unavailable",
		    "The sign-in service is busy right now. Please try again in a few seconds.");
	case SERVE_SHAPE_RPC:
	default:
		http_resp_cors(p);
		http_resp_no_store(p);
		http_resp_header(p, "Retry-After", ra);
		return http_resp_body(p, 503, "application/json", rpc, sizeof(rpc) - 1);
	}
}

/*
 * 1 when r waited too long for a worker; counts it and logs now and then.
 * Only the wait is logged: the stamp is no secret, but nothing else of
 * the request belongs in the log.
 */
static int
serve_shed_check(const struct req *r)
{
	struct timespec now;
	long waited;

	if (serve_max_wait_ms == 0 || serve_shape == SERVE_SHAPE_NONE)
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	waited = serve_queue_wait_ms(http_env(r, SERVE_RECEIVED_ENV),
	    (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000);
	if (!serve_shed_due(waited, serve_max_wait_ms))
		return 0;
	serve_shed_count++;
	if (now.tv_sec != serve_shed_logged) {
		log_warn("overload: refused %lu request(s) with 503 that had waited over "
		    "%ld ms for a worker (latest %ld ms)", serve_shed_count,
		    serve_max_wait_ms, waited);
		serve_shed_count = 0;
		serve_shed_logged = now.tv_sec;
	}
	return 1;
}

static void
serve_on_term(int sig)
{
	(void)sig;
	serve_stop = 1;
	if (!serve_busy)
		_exit(0);
}

void
serve_prebuilt(const char *wire, size_t len)
{
	serve_wire = wire;
	serve_wire_len = len;
}

/* Writes len bytes of data as the response; 0, or -1 when the client left. */
static int
serve_write(const char *data, size_t len, FCGX_Stream *out)
{
	int rc;

	if (out != NULL)
		rc = FCGX_PutStr(data, (int)len, out) == (int)len ? 0 : -1;
	else
		rc = fwrite(data, 1, len, stdout) == len ? 0 : -1;
	if (rc == -1)
		log_info("client went away before the response was written");
	return rc;
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
	serve_wire = NULL;
	if (serve_shed_check(r))
		rc = serve_shed_respond(&p, serve_shape);
	else
		rc = handler(r, &p, ctx);
	if (rc == 0 && serve_wire != NULL) {
		serve_write(serve_wire, serve_wire_len, out);
		serve_wire = NULL;
		http_resp_free(&p);
		return 0;
	}
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
	serve_write(wire.data, wire.len, out);
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
