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
 * Common command line: --help prints usage (with the config keys),
 * --version the version, --check-config loads the configuration and
 * exits.  Returns -1 when the program should continue, else an exit code.
 */
int	serve_cli(int argc, char **argv, const char *prog, const char *summary,
	    int (*check)(void));

#endif
