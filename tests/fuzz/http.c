/*
 * http fuzz harness: lib/http request parsing (http_req_init,
 * http_read_body, http_parse_query, http_parse_form), and the request
 * object lib/policy builds from it (policy_request_new).
 *
 * The input is a CGI environment, one NAME=VALUE per line, then an empty
 * line, then the body:
 *
 *	REQUEST_METHOD=POST
 *	CONTENT_TYPE=application/x-www-form-urlencoded
 *	CONTENT_LENGTH=9
 *
 *	a=1&b=%41
 *
 * The body is served from one temporary file (tmpfile(), made once and
 * rewritten for every input).  Invariants (abort() when broken):
 *   - a body read OK has exactly CONTENT_LENGTH bytes, NUL-terminated, and
 *     no NUL inside when text was asked for; no more than that is read;
 *   - a form parsed OK came with an urlencoded Content-Type;
 *   - a response header value holding CR, LF or NUL is refused;
 *   - the query parameters the endpoint reads are those the policy
 *     request object holds (decoded once, the same way).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"
#include "log.h"
#include "policy.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_ENV	64
#define FUZZ_MAX_BODY	4096

static FILE	*fuzz_body;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *devnull;

	if ((devnull = fopen("/dev/null", "w")) != NULL)
		log_set_stream(devnull);
	log_set_level(LOGL_DEBUG);
	if ((fuzz_body = tmpfile()) == NULL)
		abort();
	return 0;
}

/* Serves body[0..len) from the start of the temporary file. */
static void
fuzz_set_body(const uint8_t *body, size_t len)
{
	rewind(fuzz_body);
	if (ftruncate(fileno(fuzz_body), 0) == -1 ||
	    (len > 0 && fwrite(body, 1, len, fuzz_body) != len) ||
	    fflush(fuzz_body) != 0)
		abort();
	rewind(fuzz_body);
}

static void
fuzz_check_body(const struct req *r, enum http_body_error e, int text)
{
	const char *cl = http_env(r, "CONTENT_LENGTH");

	if (e != HTTP_BODY_OK)
		return;
	if (r->body == NULL || r->body[r->body_len] != '\0' ||
	    strtoull(cl != NULL && *cl != '\0' ? cl : "0", NULL, 10) != r->body_len ||
	    (text && memchr(r->body, '\0', r->body_len) != NULL))
		abort();
}

/* A header value from the request must not split a response. */
static void
fuzz_response(const struct req *r)
{
	const char *v = http_header(r, "X-Fuzz");
	struct resp p;
	struct buf out;

	http_resp_init(&p);
	if (v != NULL && http_resp_header(&p, "X-Fuzz", v) == 0 &&
	    strpbrk(v, "\r\n") != NULL)
		abort();
	(void)http_resp_error_page(&p, 400, r->method, r->query);
	memset(&out, 0, sizeof(out));
	(void)http_resp_serialize(&p, &out);
	buf_free(&out);
	http_resp_free(&p);
}

/*
 * Parameters are decoded once: what the endpoint reads from the query
 * (form_parse) is what an AccessPolicy sees in the request object's
 * "params" (policy_request_new decodes the query on its own).
 */
static void
fuzz_same_params(struct req *r, const cJSON *ro)
{
	const cJSON *params, *v, *e;
	size_t i;
	int found;

	if (http_parse_query(r) != FORM_OK)
		return;
	if ((params = cJSON_GetObjectItemCaseSensitive(ro, "params")) == NULL)
		abort();
	for (i = 0; i < r->qparams.n; i++) {
		v = cJSON_GetObjectItemCaseSensitive(params, r->qparams.v[i].name);
		found = 0;
		if (cJSON_IsString(v))
			found = strcmp(v->valuestring, r->qparams.v[i].value) == 0;
		else if (cJSON_IsArray(v))
			cJSON_ArrayForEach(e, v)
				if (cJSON_IsString(e) &&
				    strcmp(e->valuestring, r->qparams.v[i].value) == 0)
					found = 1;
		if (!found) {
			fprintf(stderr, "http: query parameter \"%s\" differs in "
			    "the policy request object\n", r->qparams.v[i].name);
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *nl;
	char *envp[FUZZ_MAX_ENV + 1];
	size_t nenv = 0, i;
	struct req r, r2;
	enum http_body_error be;
	const char *why;
	cJSON *ro;

	/* Environment lines up to the first empty line. */
	while (p < end && *p != '\n' && nenv < FUZZ_MAX_ENV) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((envp[nenv] = strndup((const char *)p, (size_t)(nl - p))) == NULL)
			goto out;
		nenv++;
		p = nl < end ? nl + 1 : end;
	}
	if (p < end && *p == '\n')
		p++;
	envp[nenv] = NULL;

	fuzz_set_body(p, (size_t)(end - p));
	if (http_req_init(&r, envp, NULL, fuzz_body) == -1)
		goto out;
	(void)http_header(&r, "Authorization");
	(void)http_header(&r, "Content-Length");
	(void)http_content_type_is(&r, "application/json");
	(void)http_parse_query(&r);
	why = NULL;
	if (http_parse_form(&r, FUZZ_MAX_BODY, &why) == 0) {
		if (!http_content_type_is(&r, "application/x-www-form-urlencoded"))
			abort();
		fuzz_check_body(&r, HTTP_BODY_OK, 1);
	} else if (why == NULL)
		abort();
	/*
	 * Idempotent: a second read must not accept what the first refused
	 * (crash-http-reread-*: it used to answer OK to a short body or a
	 * body with NUL; tests/fuzz/README, finding 2).
	 */
	be = http_read_body(&r, FUZZ_MAX_BODY, 1);
	fuzz_check_body(&r, be, 1);
	fuzz_response(&r);
	if ((ro = policy_request_new(r.path, r.method, r.query, NULL)) != NULL) {
		fuzz_same_params(&r, ro);
		cJSON_Delete(ro);
	}
	http_req_free(&r);

	/* The same request read as binary. */
	rewind(fuzz_body);
	if (http_req_init(&r2, envp, NULL, fuzz_body) == -1)
		goto out;
	be = http_read_body(&r2, FUZZ_MAX_BODY, 0);
	fuzz_check_body(&r2, be, 0);
	if (be == HTTP_BODY_OK && ftell(fuzz_body) != (long)r2.body_len)
		abort();	/* read past CONTENT_LENGTH */
	(void)http_body_status(be);
	(void)http_body_strerror(be);
	http_req_free(&r2);
out:
	for (i = 0; i < nenv; i++)
		free(envp[i]);
	return 0;
}
