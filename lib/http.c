/*
 * http: request and response for FastCGI and CGI.  See http.h.
 *
 * Owns the request's decoded copies and the response buffers; the
 * environment stays borrowed (libfcgi frees it at the next accept).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <fcgiapp.h>
#include <openssl/crypto.h>

#include "http.h"
#include "log.h"

const char *
http_env(const struct req *r, const char *name)
{
	size_t n = strlen(name);
	char **e;

	if (r->envp == NULL)
		return NULL;
	for (e = r->envp; *e != NULL; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

const char *
http_header(const struct req *r, const char *name)
{
	char var[128] = "HTTP_";
	size_t i, o = 5;

	if (strcasecmp(name, "Content-Type") == 0)
		return http_env(r, "CONTENT_TYPE");
	if (strcasecmp(name, "Content-Length") == 0)
		return http_env(r, "CONTENT_LENGTH");
	for (i = 0; name[i] != '\0' && o + 1 < sizeof(var); i++)
		var[o++] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
	var[o] = '\0';
	return http_env(r, var);
}

int
http_req_init(struct req *r, char **envp, struct FCGX_Request *fcgx, void *input)
{
	const char *uri, *q, *v;
	size_t plen;

	memset(r, 0, sizeof(*r));
	r->envp = envp;
	r->fcgx = fcgx;
	r->input = input;
	r->method = (v = http_env(r, "REQUEST_METHOD")) != NULL ? v : "";
	r->query = (v = http_env(r, "QUERY_STRING")) != NULL ? v : "";
	r->content_type = http_env(r, "CONTENT_TYPE");
	r->remote_addr = (v = http_env(r, "REMOTE_ADDR")) != NULL ? v : "";
	v = http_env(r, "HTTPS");
	r->https = v != NULL && (strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0);
	if (!r->https && (v = http_env(r, "REQUEST_SCHEME")) != NULL)
		r->https = strcasecmp(v, "https") == 0;

	/* The original request path: REQUEST_URI without its query. */
	if ((uri = http_env(r, "REQUEST_URI")) != NULL) {
		q = strchr(uri, '?');
		plen = q != NULL ? (size_t)(q - uri) : strlen(uri);
		r->path = strndup(uri, plen);
	} else {
		const char *sn = http_env(r, "SCRIPT_NAME"), *pi = http_env(r, "PATH_INFO");
		size_t a = sn ? strlen(sn) : 0, b = pi ? strlen(pi) : 0;

		if ((r->path = malloc(a + b + 1)) != NULL) {
			memcpy(r->path, sn ? sn : "", a);
			memcpy(r->path + a, pi ? pi : "", b);
			r->path[a + b] = '\0';
		}
	}
	if (r->path == NULL) {
		log_err("out of memory");
		return -1;
	}
	return 0;
}

void
http_req_free(struct req *r)
{
	free(r->path);
	if (r->body != NULL) {
		OPENSSL_cleanse(r->body, r->body_len);
		free(r->body);
	}
	form_clear(&r->qparams);
	form_clear(&r->fparams);
	memset(r, 0, sizeof(*r));
}

const char *
http_body_strerror(enum http_body_error e)
{
	switch (e) {
	case HTTP_BODY_OK:		return "no error";
	case HTTP_BODY_TOO_LARGE:	return "request body too large";
	case HTTP_BODY_BAD_LENGTH:	return "malformed Content-Length";
	case HTTP_BODY_SHORT:		return "request body shorter than Content-Length";
	case HTTP_BODY_NUL:		return "NUL byte in request body";
	case HTTP_BODY_ENOMEM:		return "out of memory";
	}
	return "unknown error";
}

int
http_body_status(enum http_body_error e)
{
	switch (e) {
	case HTTP_BODY_OK:		return 200;
	case HTTP_BODY_TOO_LARGE:	return 413;
	case HTTP_BODY_ENOMEM:		return 500;
	default:			return 400;
	}
}

enum http_body_error
http_read_body(struct req *r, size_t max, int text)
{
	const char *cl = http_env(r, "CONTENT_LENGTH");
	unsigned long long want = 0;
	size_t got = 0;
	char *end;
	int n;

	if (r->body_read) {
		/* A refused body stays refused; a text read checks for NUL too. */
		if (r->body_status != HTTP_BODY_OK)
			return (enum http_body_error)r->body_status;
		if (text && memchr(r->body, '\0', r->body_len) != NULL)
			return HTTP_BODY_NUL;
		return HTTP_BODY_OK;
	}
	if (cl != NULL && *cl != '\0') {
		if (!isdigit((unsigned char)*cl))
			return HTTP_BODY_BAD_LENGTH;
		errno = 0;
		want = strtoull(cl, &end, 10);
		if (errno != 0 || *end != '\0' || strlen(cl) > 19)
			return HTTP_BODY_BAD_LENGTH;
	}
	if (want > max)
		return HTTP_BODY_TOO_LARGE;
	if ((r->body = malloc((size_t)want + 1)) == NULL)
		return HTTP_BODY_ENOMEM;
	while (got < want) {
		size_t chunk = (size_t)want - got;

		if (chunk > INT_MAX)
			chunk = INT_MAX;
		if (r->fcgx != NULL)
			n = FCGX_GetStr(r->body + got, (int)chunk, r->fcgx->in);
		else
			n = (int)fread(r->body + got, 1, chunk, (FILE *)r->input);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	r->body[got] = '\0';
	r->body_len = got;
	r->body_read = 1;
	if (got < want)
		r->body_status = HTTP_BODY_SHORT;
	if (r->body_status == HTTP_BODY_OK && text && memchr(r->body, '\0', got) != NULL)
		return HTTP_BODY_NUL;
	return (enum http_body_error)r->body_status;
}

enum form_error
http_parse_query(struct req *r)
{
	form_clear(&r->qparams);
	return form_parse(&r->qparams, r->query, strlen(r->query));
}

int
http_content_type_is(const struct req *r, const char *type)
{
	const char *ct = r->content_type;
	size_t n = strlen(type);

	if (ct == NULL)
		return 0;
	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, type, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int
http_parse_form(struct req *r, size_t max, const char **why)
{
	enum http_body_error be;
	enum form_error fe;

	if (!http_content_type_is(r, "application/x-www-form-urlencoded")) {
		*why = "Content-Type must be application/x-www-form-urlencoded";
		return 415;
	}
	if ((be = http_read_body(r, max, 1)) != HTTP_BODY_OK) {
		*why = http_body_strerror(be);
		return http_body_status(be);
	}
	form_clear(&r->fparams);
	if ((fe = form_parse(&r->fparams, r->body, r->body_len)) != FORM_OK) {
		*why = form_strerror(fe);
		return fe == FORM_ENOMEM ? 500 : 400;
	}
	return 0;
}

void
http_resp_init(struct resp *p)
{
	memset(p, 0, sizeof(*p));
	p->status = 200;
}

void
http_resp_free(struct resp *p)
{
	buf_free(&p->headers);
	buf_free(&p->body);
}

void
http_resp_status(struct resp *p, int status)
{
	p->status = status;
}

int
http_resp_header(struct resp *p, const char *name, const char *value)
{
	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL) {
		log_err("refused a response header: CR, LF or colon where not allowed");
		return -1;
	}
	/* Piece by piece, not buf_printf (two vsnprintf runs): a response has 6 to 10 headers. */
	buf_puts(&p->headers, name);
	buf_append(&p->headers, ": ", 2);
	buf_puts(&p->headers, value);
	return buf_append(&p->headers, "\r\n", 2);
}

int
http_resp_body(struct resp *p, int status, const char *type, const char *data, size_t len)
{
	p->status = status;
	buf_reset(&p->body);
	if (type != NULL && http_resp_header(p, "Content-Type", type) == -1)
		return -1;
	return buf_append(&p->body, data, len);
}

int
http_resp_json(struct resp *p, int status, const cJSON *v)
{
	return http_resp_json_as(p, status, v, "application/json");
}

int
http_resp_json_as(struct resp *p, int status, const cJSON *v, const char *type)
{
	char *s;
	int rc;

	if ((s = cJSON_PrintUnformatted(v)) == NULL) {
		log_err("out of memory");
		return -1;
	}
	rc = http_resp_body(p, status, type, s, strlen(s));
	cJSON_free(s);
	return rc;
}

int
http_html_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':  buf_puts(b, "&amp;"); break;
		case '<':  buf_puts(b, "&lt;"); break;
		case '>':  buf_puts(b, "&gt;"); break;
		case '"':  buf_puts(b, "&quot;"); break;
		case '\'': buf_puts(b, "&#39;"); break;
		default:   buf_append(b, s, 1); break;
		}
	}
	return b->failed ? -1 : 0;
}

int
http_resp_error_page(struct resp *p, int status, const char *title, const char *message)
{
	struct buf b = { 0 };
	int rc;

	buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
	http_html_escape(&b, title);
	buf_puts(&b, "</title><style>body{font-family:system-ui,sans-serif;max-width:36rem;"
	    "margin:3rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.5}"
	    "h1{font-size:1.4rem;color:#8a1c1c}</style></head><body><h1>");
	http_html_escape(&b, title);
	buf_puts(&b, "</h1><p>");
	http_html_escape(&b, message);
	buf_puts(&b, "</p></body></html>\n");
	if (b.failed) {
		buf_free(&b);
		return -1;
	}
	http_resp_no_store(p);
	http_resp_header(p, "X-Frame-Options", "DENY");
	http_resp_header(p, "Content-Security-Policy",
	    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
	http_resp_header(p, "Referrer-Policy", "no-referrer");
	http_resp_header(p, "X-Content-Type-Options", "nosniff");
	rc = http_resp_body(p, status, "text/html; charset=utf-8", b.data, b.len);
	buf_free(&b);
	return rc;
}

int
http_resp_oauth_error(struct resp *p, int status, const char *error, const char *description)
{
	cJSON *o;
	int rc = -1;

	if ((o = cJSON_CreateObject()) == NULL)
		return -1;
	if (cJSON_AddStringToObject(o, "error", error) == NULL)
		goto out;
	if (description != NULL &&
	    cJSON_AddStringToObject(o, "error_description", description) == NULL)
		goto out;
	http_resp_no_store(p);
	/* RFC 6749 §5.2: 401 invalid_client carries WWW-Authenticate. */
	if (status == 401)
		http_resp_header(p, "WWW-Authenticate", "Basic realm=\"smartauth\"");
	rc = http_resp_json(p, status, o);
out:
	cJSON_Delete(o);
	return rc;
}

int
http_resp_method_not_allowed(struct resp *p, const char *allow)
{
	char desc[128];

	http_resp_header(p, "Allow", allow);
	snprintf(desc, sizeof(desc), "method not allowed; use %s", allow);
	return http_resp_oauth_error(p, 405, "invalid_request", desc);
}

int
http_resp_unavailable(struct resp *p, int retry_after)
{
	char ra[16];

	snprintf(ra, sizeof(ra), "%d", retry_after);
	http_resp_header(p, "Retry-After", ra);
	return http_resp_oauth_error(p, 503, "temporarily_unavailable",
	    "the service is temporarily unavailable; retry later");
}

void
http_resp_no_store(struct resp *p)
{
	http_resp_header(p, "Cache-Control", "no-store");
	http_resp_header(p, "Pragma", "no-cache");
}

void
http_resp_cors(struct resp *p)
{
	http_resp_header(p, "Access-Control-Allow-Origin", "*");
	http_resp_header(p, "Access-Control-Expose-Headers",
	    "Location, ETag, Content-Location, WWW-Authenticate, Retry-After");
}

int
http_resp_preflight(struct resp *p, const char *methods)
{
	http_resp_cors(p);
	http_resp_header(p, "Access-Control-Allow-Methods", methods);
	http_resp_header(p, "Access-Control-Allow-Headers",
	    "Authorization, Content-Type, Accept, If-Match, If-None-Match, Prefer");
	http_resp_header(p, "Access-Control-Max-Age", "86400");
	http_resp_header(p, "Allow", methods);
	p->status = 204;
	buf_reset(&p->body);
	return 0;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	}
	return "Status";
}

int
http_resp_serialize(const struct resp *p, struct buf *out)
{
	buf_printf(out, "Status: %d %s\r\n", p->status, http_reason(p->status));
	if (p->headers.len > 0)
		buf_append(out, p->headers.data, p->headers.len);
	/* 204 and 304 carry no body and no length (RFC 9110 §8.6). */
	if (p->status != 204 && p->status != 304)
		buf_printf(out, "Content-Length: %zu\r\n", p->body.len);
	buf_puts(out, "\r\n");
	if (!p->head_only && p->body.len > 0)
		buf_append(out, p->body.data, p->body.len);
	if (p->headers.failed || p->body.failed || out->failed)
		return -1;
	return 0;
}
