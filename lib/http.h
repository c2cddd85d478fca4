/*
 * http: one request abstraction and one response builder for every
 * program, whether it runs under FastCGI or as a plain CGI program
 * (environment + stdin), so tests and fuzzers can drive any endpoint
 * without a web server (the kcgi idea).
 *
 * A request borrows its environment (FastCGI envp or environ) and owns
 * what it reads or decodes: the body (read exactly to CONTENT_LENGTH,
 * capped), the path, and the parsed query and form parameters.
 *
 * A response is assembled in memory and written once by http_send(), so a
 * client never sees half a response.  Header values containing CR or LF
 * are refused (response splitting).  This module never logs bodies.
 */
#ifndef SMARTAUTH_HTTP_H
#define SMARTAUTH_HTTP_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "form.h"

struct FCGX_Request;

struct req {
	char		**envp;		/* borrowed */
	struct FCGX_Request *fcgx;	/* NULL under plain CGI */
	const char	*method;	/* "GET", ... ("" when missing) */
	char		*path;		/* owned: request path, no query */
	const char	*query;		/* raw query string ("" when none) */
	const char	*content_type;	/* NULL when none */
	const char	*remote_addr;	/* "" when unknown */
	int		 https;
	char		*body;		/* owned, NUL-terminated, after http_read_body */
	size_t		 body_len;
	int		 body_read;
	int		 body_status;	/* enum http_body_error of the first read */
	struct form	 qparams;	/* after http_parse_query */
	struct form	 fparams;	/* after http_parse_form */
	void		*input;		/* FILE * under CGI */
};

enum http_body_error {
	HTTP_BODY_OK = 0,
	HTTP_BODY_TOO_LARGE,	/* 413 */
	HTTP_BODY_BAD_LENGTH,	/* 400: malformed CONTENT_LENGTH */
	HTTP_BODY_SHORT,	/* 400: fewer bytes than announced */
	HTTP_BODY_NUL,		/* 400: NUL byte (only when text is asked for) */
	HTTP_BODY_ENOMEM	/* 500 */
};

struct resp {
	int		 status;
	struct buf	 headers;	/* "Name: value\r\n" lines */
	struct buf	 body;
	int		 head_only;	/* HEAD request: send no body */
};

/* Fills r from an environment; input is the FCGX stream or a FILE *. */
int	 http_req_init(struct req *r, char **envp, struct FCGX_Request *fcgx, void *input);
void	 http_req_free(struct req *r);

/* Borrowed CGI variable, NULL when absent. */
const char *http_env(const struct req *r, const char *name);
/* Borrowed request header by HTTP name ("Authorization"), NULL when absent. */
const char *http_header(const struct req *r, const char *name);

/*
 * Reads the body exactly to CONTENT_LENGTH (no more is read), refusing
 * bodies over max.  text: refuse NUL bytes.  Idempotent.
 */
enum http_body_error http_read_body(struct req *r, size_t max, int text);
/* Status code to answer a body error with. */
int	 http_body_status(enum http_body_error e);
const char *http_body_strerror(enum http_body_error e);

/* Parses the query string into r->qparams; FORM_OK or the error. */
enum form_error http_parse_query(struct req *r);
/*
 * Reads (capped at max) and parses an application/x-www-form-urlencoded
 * body into r->fparams.  Returns 0, or the HTTP status to answer with
 * (400, 413, 415, 500) and sets *why.
 */
int	 http_parse_form(struct req *r, size_t max, const char **why);

/* 1 when the media type of Content-Type equals type (parameters ignored). */
int	 http_content_type_is(const struct req *r, const char *type);

void	 http_resp_init(struct resp *p);
void	 http_resp_free(struct resp *p);
/* Adds a header; -1 (and nothing added) when the value holds CR, LF or NUL. */
int	 http_resp_header(struct resp *p, const char *name, const char *value);
void	 http_resp_status(struct resp *p, int status);
/* Sets status and body with the given content type. */
int	 http_resp_body(struct resp *p, int status, const char *type, const char *data, size_t len);
/* Serialises v (not consumed) as the JSON body. */
int	 http_resp_json(struct resp *p, int status, const cJSON *v);
/* Same with another JSON media type (application/fhir+json). */
int	 http_resp_json_as(struct resp *p, int status, const cJSON *v, const char *type);
/* A plain text or HTML error page for browsers: message is escaped. */
int	 http_resp_error_page(struct resp *p, int status, const char *title, const char *message);

/* RFC 6749 §5.2 error, JSON, no-store; 401 adds WWW-Authenticate. */
int	 http_resp_oauth_error(struct resp *p, int status, const char *error, const char *description);
/* 405 with Allow. */
int	 http_resp_method_not_allowed(struct resp *p, const char *allow);
/* 503 with Retry-After (database unavailable). */
int	 http_resp_unavailable(struct resp *p, int retry_after);

/* Cache-Control: no-store and Pragma: no-cache (RFC 6749 §5.1). */
void	 http_resp_no_store(struct resp *p);
/* Access-Control-Allow-Origin: * plus exposed headers. */
void	 http_resp_cors(struct resp *p);
/* Answers a CORS preflight (204) allowing methods (e.g. "GET, OPTIONS"). */
int	 http_resp_preflight(struct resp *p, const char *methods);

/* Reason phrase for a status code. */
const char *http_reason(int status);

/* Serialises headers and body into out, ready to write in one piece. */
int	 http_resp_serialize(const struct resp *p, struct buf *out);

/* Appends s to b with HTML escaping (& < > " '). */
int	 http_html_escape(struct buf *b, const char *s);

#endif
