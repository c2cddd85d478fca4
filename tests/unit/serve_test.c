/*
 * serve_test: the load-shedding decision (how long a request waited,
 * from the web server's "t=<microseconds>" stamp, and whether it must be
 * refused) and the shape of each refusal: status, Retry-After, body type.
 * Stamps a client could forge (future, malformed, overlong) never shed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "serve.h"
#include "t.h"

#define NOW 1795000000123456LL	/* microseconds since the epoch */

static const struct {
	const char *stamp;
	long	 want;		/* milliseconds, -1: unusable */
	const char *name;
} waits[] = {
	{ "t=1795000000123456", 0, "stamp equal to now: no wait" },
	{ "t=1795000000122457", 0, "999 us: rounds down to 0 ms" },
	{ "t=1795000000023456", 100, "100 ms" },
	{ "t=1794999998123456", 2000, "2 s" },
	{ "t=1794996400123456", 3600000, "an hour" },
	{ "t=0", 0x7fffffffL, "the epoch: a huge wait, clamped" },
	{ "t=1795000000123457", -1, "future by 1 us: unusable (a forged stamp never helps)" },
	{ "t=9999999999999999", -1, "far future: unusable" },
	{ NULL, -1, "missing header" },
	{ "", -1, "empty" },
	{ "t=", -1, "no digits" },
	{ "1795000000023456", -1, "no t= prefix" },
	{ "T=1795000000023456", -1, "upper-case T" },
	{ "t= 1795000000023456", -1, "space before digits" },
	{ "t=1795000000023456 ", -1, "trailing space" },
	{ "t=1795000000023456, t=1", -1, "two stamps joined (a forged header beside ours)" },
	{ "t=-1795000000023456", -1, "negative" },
	{ "t=17950000000234x6", -1, "letter inside" },
	{ "t=0000000000000000001", -1, "19 digits: overlong" },
	{ "t=99999999999999999999999", -1, "overflowing digits" },
	{ "D=1234 t=1795000000023456", -1, "other mod_headers fields first" },
};

static const struct {
	long	 wait, max;
	int	 want;
	const char *name;
} dues[] = {
	{ 2001, 2000, 1, "over the bound: shed" },
	{ 2000, 2000, 0, "exactly the bound: served" },
	{ 10, 2000, 0, "short wait: served" },
	{ -1, 2000, 0, "unknown wait: served" },
	{ 999999, 0, 0, "bound 0 (off): served" },
	{ 1, 0, 0, "bound 0, tiny wait: served" },
	{ 5, -3, 0, "negative bound: treated as off" },
};

static int
has_header(const struct resp *p, const char *line)
{
	return p->headers.data != NULL && strstr(p->headers.data, line) != NULL;
}

static int
count(const char *s, const char *what)
{
	int n = 0;

	while (s != NULL && (s = strstr(s, what)) != NULL) {
		n++;
		s++;
	}
	return n;
}

static void
check_shape(enum serve_shape shape, const char *type, const char *body_has, const char *name)
{
	struct resp p;
	char label[160];

	http_resp_init(&p);
	T_EQ_INT(serve_shed_respond(&p, shape), 0, name);
	snprintf(label, sizeof(label), "%s: status 503", name);
	T_EQ_INT(p.status, 503, label);
	snprintf(label, sizeof(label), "%s: Retry-After", name);
	T_OK(has_header(&p, "Retry-After: 2\r\n"), label);
	snprintf(label, sizeof(label), "%s: one Retry-After only", name);
	T_EQ_INT(count(p.headers.data, "Retry-After:"), 1, label);
	snprintf(label, sizeof(label), "%s: content type", name);
	T_OK(has_header(&p, type), label);
	snprintf(label, sizeof(label), "%s: body", name);
	T_OK(p.body.data != NULL && strstr(p.body.data, body_has) != NULL, label);
	snprintf(label, sizeof(label), "%s: not cached", name);
	T_OK(has_header(&p, "Cache-Control: no-store"), label);
	http_resp_free(&p);
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(waits) / sizeof(waits[0]); i++)
		T_EQ_INT(serve_queue_wait_ms(waits[i].stamp, NOW), waits[i].want, waits[i].name);
	for (i = 0; i < sizeof(dues) / sizeof(dues[0]); i++)
		T_EQ_INT(serve_shed_due(dues[i].wait, dues[i].max), dues[i].want, dues[i].name);

	check_shape(SERVE_SHAPE_OAUTH, "Content-Type: application/json",
	    "\"error\":\"temporarily_unavailable\"", "oauth refusal");
	check_shape(SERVE_SHAPE_FHIR, "Content-Type: application/fhir+json",
	    "\"resourceType\":\"OperationOutcome\"", "fhir refusal");
	check_shape(SERVE_SHAPE_FHIR, "Content-Type: application/fhir+json",
	    "\"code\":\"transient\"", "fhir refusal code");
	check_shape(SERVE_SHAPE_PAGE, "Content-Type: text/html", "Temporarily unavailable",
	    "page refusal");
	check_shape(SERVE_SHAPE_RPC, "Content-Type: application/json",
	    "{\"error\":{\"message\":", "rpc refusal");
	return t_done();
}
