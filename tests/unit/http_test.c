/*
 * http_test: the request abstraction filled from a CGI environment and a
 * stdin stream (no web server), body limits, and response serialisation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "t.h"

static FILE *
stream(const char *data, size_t len)
{
	FILE *fp = tmpfile();

	fwrite(data, 1, len, fp);
	rewind(fp);
	return fp;
}

static void
test_env(void)
{
	char *env[] = {
		"REQUEST_METHOD=POST", "REQUEST_URI=/smart/auth/token?x=1",
		"QUERY_STRING=x=1", "CONTENT_TYPE=application/x-www-form-urlencoded; charset=UTF-8",
		"CONTENT_LENGTH=27", "HTTP_AUTHORIZATION=Basic abc", "HTTPS=on",
		"REMOTE_ADDR=127.0.0.1", "HTTP_X_CUSTOM_THING=v", NULL
	};
	FILE *in = stream("grant_type=a&code=b&x=%2F+y", 27);
	struct req r;
	const char *why = NULL;

	T_EQ_INT(http_req_init(&r, env, NULL, in), 0, "request from CGI environment");
	T_EQ_STR(r.method, "POST", "method");
	T_EQ_STR(r.path, "/smart/auth/token", "path without query");
	T_EQ_STR(r.query, "x=1", "query string");
	T_OK(r.https, "HTTPS=on detected");
	T_EQ_STR(http_header(&r, "Authorization"), "Basic abc", "Authorization header");
	T_EQ_STR(http_header(&r, "x-custom-thing"), "v", "header names case-insensitive, dashes");
	T_OK(http_header(&r, "Cookie") == NULL, "absent header NULL");
	T_OK(http_content_type_is(&r, "application/x-www-form-urlencoded"), "content type with parameters");
	T_OK(!http_content_type_is(&r, "application/x-www"), "content type prefix is not a match");
	T_EQ_INT(http_parse_form(&r, 1024, &why), 0, "form body parsed");
	T_EQ_STR(form_get(&r.fparams, "x"), "/ y", "form value decoded once");
	T_EQ_INT(http_parse_query(&r), FORM_OK, "query parsed");
	T_EQ_STR(form_get(&r.qparams, "x"), "1", "query value");
	http_req_free(&r);
	fclose(in);
}

struct body_row {
	const char *name;
	const char *cl;		/* CONTENT_LENGTH value, NULL: absent */
	const char *data;
	size_t len;
	size_t max;
	int text;
	enum http_body_error want;
};

static const struct body_row body_rows[] = {
	{ "exact body", "5", "hello", 5, 10, 1, HTTP_BODY_OK },
	{ "reads no more than Content-Length", "3", "hello", 5, 10, 1, HTTP_BODY_OK },
	{ "no Content-Length is an empty body", NULL, "", 0, 10, 1, HTTP_BODY_OK },
	{ "over the cap refused before reading", "11", "hello world", 11, 10, 1, HTTP_BODY_TOO_LARGE },
	{ "huge length refused", "99999999999999999999", "", 0, 10, 1, HTTP_BODY_BAD_LENGTH },
	{ "negative length refused", "-1", "", 0, 10, 1, HTTP_BODY_BAD_LENGTH },
	{ "junk length refused", "5x", "hello", 5, 10, 1, HTTP_BODY_BAD_LENGTH },
	{ "leading space length refused", " 5", "hello", 5, 10, 1, HTTP_BODY_BAD_LENGTH },
	{ "short body detected", "10", "hello", 5, 20, 1, HTTP_BODY_SHORT },
	{ "NUL in text body refused", "5", "he\0lo", 5, 10, 1, HTTP_BODY_NUL },
	{ "NUL allowed in binary body", "5", "he\0lo", 5, 10, 0, HTTP_BODY_OK },
};

static void
test_bodies(void)
{
	size_t i;

	for (i = 0; i < sizeof(body_rows) / sizeof(body_rows[0]); i++) {
		const struct body_row *b = &body_rows[i];
		char clvar[64];
		char *env[3] = { "REQUEST_METHOD=POST", NULL, NULL };
		FILE *in = stream(b->data, b->len);
		struct req r;

		if (b->cl != NULL) {
			snprintf(clvar, sizeof(clvar), "CONTENT_LENGTH=%s", b->cl);
			env[1] = clvar;
		}
		http_req_init(&r, env, NULL, in);
		T_EQ_INT(http_read_body(&r, b->max, b->text), b->want, b->name);
		if (b->want == HTTP_BODY_OK && b->cl != NULL && strcmp(b->cl, "3") == 0)
			T_EQ_STR(r.body, "hel", "body stops at Content-Length");
		http_req_free(&r);
		fclose(in);
	}
}

/* Found by fuzzing: a refused body must stay refused on a second read. */
static void
test_body_reread(void)
{
	char *env[] = { "REQUEST_METHOD=POST", "CONTENT_LENGTH=10", NULL };
	char *env2[] = { "REQUEST_METHOD=POST", "CONTENT_LENGTH=5", NULL };
	FILE *in = stream("hello", 5);
	struct req r;

	http_req_init(&r, env, NULL, in);
	T_EQ_INT(http_read_body(&r, 100, 1), HTTP_BODY_SHORT, "short body refused");
	T_EQ_INT(http_read_body(&r, 100, 1), HTTP_BODY_SHORT, "short body still refused when read again");
	http_req_free(&r);
	fclose(in);
	in = stream("he\0lo", 5);
	http_req_init(&r, env2, NULL, in);
	T_EQ_INT(http_read_body(&r, 100, 0), HTTP_BODY_OK, "binary read accepts NUL");
	T_EQ_INT(http_read_body(&r, 100, 1), HTTP_BODY_NUL, "later text read still refuses NUL");
	http_req_free(&r);
	fclose(in);
}

static void
test_form_content_type(void)
{
	char *env[] = { "REQUEST_METHOD=POST", "CONTENT_TYPE=application/json", "CONTENT_LENGTH=2", NULL };
	FILE *in = stream("{}", 2);
	struct req r;
	const char *why;

	http_req_init(&r, env, NULL, in);
	T_EQ_INT(http_parse_form(&r, 100, &why), 415, "form parse refuses a JSON body with 415");
	http_req_free(&r);
	fclose(in);
}

static void
test_response(void)
{
	struct resp p;
	struct buf out = { 0 };

	http_resp_init(&p);
	T_EQ_INT(http_resp_header(&p, "X-Evil", "a\r\nSet-Cookie: x=1"), -1, "CRLF in header value refused");
	T_EQ_INT(http_resp_header(&p, "X-Evil", "a\nb"), -1, "LF in header value refused");
	T_EQ_INT(http_resp_header(&p, "Bad:Name", "v"), -1, "colon in header name refused");
	http_resp_oauth_error(&p, 401, "invalid_client", "bad \"secret\"");
	http_resp_serialize(&p, &out);
	T_OK(strncmp(out.data, "Status: 401 Unauthorized\r\n", 26) == 0, "status line first");
	T_OK(strstr(out.data, "Set-Cookie") == NULL, "refused header never written");
	T_OK(strstr(out.data, "WWW-Authenticate: Basic") != NULL, "401 carries WWW-Authenticate");
	T_OK(strstr(out.data, "Cache-Control: no-store") != NULL, "OAuth errors are no-store");
	T_OK(strstr(out.data, "{\"error\":\"invalid_client\",\"error_description\":\"bad \\\"secret\\\"\"}") != NULL,
	    "OAuth error JSON escaped by cJSON");
	T_OK(strstr(out.data, "Content-Length: ") != NULL, "Content-Length present");
	buf_free(&out);
	http_resp_free(&p);

	http_resp_init(&p);
	http_resp_error_page(&p, 400, "Bad <request>", "redirect_uri \"<script>alert(1)</script>\"");
	T_OK(strstr(p.body.data, "<script>") == NULL, "error page escapes its message");
	T_OK(strstr(p.body.data, "&lt;script&gt;") != NULL, "error page shows escaped text");
	http_resp_serialize(&p, &out);
	T_OK(strstr(out.data, "X-Frame-Options: DENY") != NULL, "error page not frameable");
	buf_free(&out);
	http_resp_free(&p);

	http_resp_init(&p);
	http_resp_preflight(&p, "GET, OPTIONS");
	http_resp_serialize(&p, &out);
	T_OK(strncmp(out.data, "Status: 204", 11) == 0, "preflight is 204");
	T_OK(strstr(out.data, "Access-Control-Allow-Origin: *") != NULL, "preflight allows any origin");
	T_OK(strstr(out.data, "Content-Length") == NULL, "204 carries no Content-Length");
	buf_free(&out);
	http_resp_free(&p);

	http_resp_init(&p);
	p.head_only = 1;
	http_resp_body(&p, 200, "application/json", "{}", 2);
	http_resp_serialize(&p, &out);
	T_OK(strstr(out.data, "\r\n\r\n") != NULL && strcmp(strstr(out.data, "\r\n\r\n"), "\r\n\r\n") == 0,
	    "HEAD response has no body");
	buf_free(&out);
	http_resp_free(&p);
}

int
main(void)
{
	test_env();
	test_bodies();
	test_body_reread();
	test_form_content_type();
	test_response();
	return t_done();
}
