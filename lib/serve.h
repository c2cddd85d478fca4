/*
 * serve: the request loop shared by every program.
 *
 * Under a FastCGI server it accepts requests until told to stop; run as
 * a plain CGI program (no FastCGI socket on stdin) it serves exactly one
 * request from the environment and stdin, which is how the unit and fuzz
 * tests drive programs without a web server.
 *
 * Start-up work (configuration, keys, documents) happens in the program
 * before serve_run(), never per request.  SIGTERM while idle exits at
 * once; during a request it exits after the response is written, so a
 * web server recycling its workers never cuts a response in half.
 */
#ifndef SMARTAUTH_SERVE_H
#define SMARTAUTH_SERVE_H

#include "http.h"

/*
 * A handler fills the response.  It returns 0, or -1 after an internal
 * failure (out of memory...), in which case a generic 500 replaces
 * whatever it had built.
 */
typedef int (*serve_handler)(struct req *, struct resp *, void *ctx);

/* Runs the loop; returns the process exit status. */
int	serve_run(serve_handler handler, void *ctx);

/*
 * Called from a handler: answer with a response serialised in advance
 * (CGI header lines, a blank line, the body; see http_resp_serialize)
 * instead of the one the handler filled, which is then ignored.  For
 * documents that do not change while the process lives; wire is borrowed
 * and must outlive the request.
 */
void	serve_prebuilt(const char *wire, size_t len);

/*
 * Load shedding.  The web server stamps the time it received a request
 * into SERVE_RECEIVED_HEADER, overwriting whatever a client sent (the
 * shipped Apache snippets: RequestHeader set ... "%t", which is
 * "t=<microseconds since the epoch>").  A request that reaches a worker
 * after waiting longer than the configured bound (max_queue_wait_ms) is
 * answered 503 with Retry-After at once, before the handler runs and
 * without touching the database: its client has waited long already,
 * and answering the backlog quickly is what lets a pool recover when a
 * burst or a database stall ends.  A request without the stamp (lighttpd,
 * plain CGI) or with a malformed or future one is served normally, so a
 * forged stamp can at worst refuse its own request.
 *
 * The shape says how the program answers errors: OAuth JSON (RFC 6749
 * §5.2 temporarily_unavailable), an OperationOutcome (FHIR), an HTML page
 * (browsers), the RPC's {"error":{"message":...}}, or none: discovery
 * never sheds, because its prebuilt documents cost no more to send than
 * a refusal, and its health check must keep telling the load balancer the
 * truth about the database rather than about the queue.
 */
#define SERVE_RECEIVED_HEADER	"X-Smartauth-Received"
#define SERVE_RECEIVED_ENV	"HTTP_X_SMARTAUTH_RECEIVED"
#define SERVE_RETRY_AFTER	2	/* seconds, sent with a shed 503 */

enum serve_shape {
	SERVE_SHAPE_NONE = 0,	/* never shed */
	SERVE_SHAPE_OAUTH,
	SERVE_SHAPE_FHIR,
	SERVE_SHAPE_PAGE,
	SERVE_SHAPE_RPC
};

/*
 * Sets the bound (milliseconds, 0 = off) and the refusal's shape for the
 * requests this process serves.  Call once, before serve_run().
 */
void	serve_shed_setup(long max_wait_ms, enum serve_shape shape);

/*
 * How long a request stamped with stamp ("t=<microseconds>") has waited
 * at now_us (microseconds since the epoch), in whole milliseconds; -1
 * when the stamp is missing, malformed or lies in the future.
 */
long	serve_queue_wait_ms(const char *stamp, long long now_us);

/* 1 when a request that waited wait_ms (-1: unknown) must be refused. */
int	serve_shed_due(long wait_ms, long max_wait_ms);

/* Builds the 503 + Retry-After refusal in shape; 0, or -1 on out of memory. */
int	serve_shed_respond(struct resp *p, enum serve_shape shape);

/*
 * Common command line: --help prints usage (with the config keys),
 * --version the version, --check-config loads the configuration and
 * exits.  Returns -1 when the program should continue, else an exit code.
 */
int	serve_cli(int argc, char **argv, const char *prog, const char *summary,
	    int (*check)(void));

#endif
