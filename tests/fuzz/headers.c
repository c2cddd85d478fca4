/*
 * headers fuzz harness: the request headers smartauth reads itself and
 * the cookies of the authorization endpoint: lib/http (http_header, the
 * CGI name of a header), lib/session (session_cookie_get,
 * session_cookie_header), lib/bearer (bearer_is_bearer,
 * bearer_parse_header, bearer_challenge), lib/client
 * (client_parse_basic) and lib/authreq (authreq_origin, the CSP source of
 * a URI).
 *
 * The input is an HTTP header block, one "Name: value" per line, as a
 * browser or client sends it; each line becomes the CGI variable the web
 * server would make of it (RFC 3875 §4.1.18: HTTP_ + upper case, '-' to
 * '_').  Invariants (abort() when broken):
 *   - a session or browser cookie read from Cookie is 1..64 characters of
 *     [A-Za-z0-9-._~], and the header holds "name=value";
 *   - a cookie value we read can be set again: session_cookie_header
 *     gives "name=value; Path=...; ...; HttpOnly; SameSite=Lax" (Secure
 *     exactly when asked), and reading that back gives the same value;
 *   - a Set-Cookie value built from any header value holds no CR, LF or
 *     control byte, and starts with exactly "name=value;";
 *   - a bearer token split from Authorization lies inside it, ends it,
 *     is 1..JWT_MAX_LEN characters of [A-Za-z0-9-_.]; "missing" means the
 *     scheme is not Bearer and the other way round;
 *   - a WWW-Authenticate challenge fits its buffer or is refused, never
 *     holds CR or LF;
 *   - Basic credentials, when parsed, come with both parts (owned);
 *   - a CSP origin is lower case, holds no blank, quote, ';' or ',' and
 *     nothing of the URI past its authority;
 *   - a header is found whatever the case of the name asked for.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authreq.h"
#include "bearer.h"
#include "client.h"
#include "http.h"
#include "jwt.h"
#include "log.h"
#include "session.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_HEADERS	32

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *devnull;

	if ((devnull = fopen("/dev/null", "w")) != NULL)
		log_set_stream(devnull);
	log_set_level(LOGL_DEBUG);
	return 0;
}

/* "Name: value" as the web server's CGI variable; owned, or NULL. */
static char *
fuzz_cgi_var(const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len), *v;
	char *out;
	size_t i, o = 5;

	if (colon == NULL || colon == line)
		return NULL;
	if ((out = malloc(len + 6)) == NULL)
		return NULL;
	memcpy(out, "HTTP_", 5);
	for (i = 0; line + i < colon; i++) {
		unsigned char c = (unsigned char)line[i];

		if (!isalnum(c) && c != '-' && c != '_') {
			free(out);
			return NULL;	/* not a header name a server passes on */
		}
		out[o++] = c == '-' ? '_' : (char)toupper(c);
	}
	out[o++] = '=';
	for (v = colon + 1; v < line + len && (*v == ' ' || *v == '\t'); v++)
		;
	memcpy(out + o, v, (size_t)(line + len - v));
	o += (size_t)(line + len - v);
	out[o] = '\0';
	return out;
}

static int
fuzz_has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static void
fuzz_cookie_set(const char *name, const char *value, int secure, long max_age)
{
	char *h, prefix[128], *back;
	size_t plen;

	/* Names are ours (constants): a token, never '=' or ';'. */
	if (!authreq_token_syntax_ok(name, 100) ||
	    (h = session_cookie_header(name, value, "/auth", secure, max_age)) == NULL)
		return;
	if (fuzz_has_ctl(h))
		abort();
	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s=", name);
	if (strncmp(h, prefix, plen) != 0 || strncmp(h + plen, value, strlen(value)) != 0 ||
	    h[plen + strlen(value)] != ';' || strstr(h, "; HttpOnly") == NULL ||
	    strstr(h, "; SameSite=Lax") == NULL ||
	    (strstr(h, "; Secure") != NULL) != (secure != 0)) {
		fprintf(stderr, "headers: Set-Cookie value malformed\n");
		abort();
	}
	/* What a browser sends back is what we set. */
	h[plen + strlen(value)] = '\0';
	back = session_cookie_get(h, name);
	if (authreq_token_syntax_ok(value, 64) &&
	    (back == NULL || strcmp(back, value) != 0)) {
		fprintf(stderr, "headers: a cookie we set does not read back\n");
		abort();
	}
	free(back);
	free(h);
}

static void
fuzz_cookies(const char *cookie)
{
	static const char *const names[] = { SESSION_COOKIE, SESSION_BROWSER_COOKIE };
	char pair[256];
	char *v;
	size_t i;

	for (i = 0; i < 2; i++) {
		if ((v = session_cookie_get(cookie, names[i])) == NULL)
			continue;
		snprintf(pair, sizeof(pair), "%s=%s", names[i], v);
		if (cookie == NULL || !authreq_token_syntax_ok(v, 64) ||
		    strstr(cookie, pair) == NULL) {
			fprintf(stderr, "headers: cookie value not as sent\n");
			abort();
		}
		fuzz_cookie_set(names[i], v, (int)i, i ? -1 : 3600);
		free(v);
	}
	if (cookie != NULL) {
		fuzz_cookie_set(SESSION_COOKIE, cookie, 1, 0);
		fuzz_cookie_set(cookie, "x", 0, 60);
	}
}

static void
fuzz_bearer(const char *authz)
{
	static const char jws[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
	const char *tok;
	char ch[256], tiny[24];
	size_t len, i;
	enum bearer_error e;

	e = bearer_parse_header(authz, &tok, &len);
	if (e == BEARER_OK) {
		if (authz == NULL || tok == NULL || len == 0 || len > JWT_MAX_LEN ||
		    tok < authz || tok + len != authz + strlen(authz) ||
		    strspn(tok, jws) != len || !bearer_is_bearer(authz)) {
			fprintf(stderr, "headers: bearer token split wrongly\n");
			abort();
		}
	} else if ((e == BEARER_MISSING) != !bearer_is_bearer(authz)) {
		fprintf(stderr, "headers: bearer scheme and missing disagree\n");
		abort();
	} else if (e != BEARER_MISSING && e != BEARER_MALFORMED)
		abort();
	for (i = 0; i <= (size_t)BEARER_INTERNAL; i++) {
		if (bearer_challenge((enum bearer_error)i, ch, sizeof(ch)) == 0 &&
		    (strpbrk(ch, "\r\n") != NULL || strncmp(ch, "Bearer realm=", 13) != 0))
			abort();
		(void)bearer_challenge((enum bearer_error)i, tiny, sizeof(tiny));
		if (memchr(tiny, '\0', sizeof(tiny)) == NULL)
			abort();
		(void)bearer_status((enum bearer_error)i);
		(void)bearer_strerror((enum bearer_error)i);
	}
}

static void
fuzz_basic(const char *authz)
{
	char *id = NULL, *secret = NULL;

	if (authz == NULL)
		return;
	if (client_parse_basic(authz, &id, &secret) == 0 && (id == NULL || secret == NULL))
		abort();
	free(id);
	free(secret);
}

static void
fuzz_origin(const char *uri)
{
	char out[300];
	const char *auth, *c;

	if (uri == NULL || authreq_origin(uri, out, sizeof(out)) != 0)
		return;
	/* "scheme://authority" or "scheme:", nothing else */
	auth = strstr(out, "://");
	auth = auth != NULL ? auth + 3 : out;
	for (c = out; *c != '\0'; c++)
		if (isupper((unsigned char)*c) || (unsigned char)*c <= 0x20 ||
		    (unsigned char)*c >= 0x7f || strchr("\"';,?#\\", *c) != NULL ||
		    (c >= auth && *c == '/')) {
			fprintf(stderr, "headers: CSP origin holds 0x%02x\n", (unsigned char)*c);
			abort();
		}
	if (auth == out && out[strlen(out) - 1] != ':')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const asked[][2] = {
		{ "Cookie", "cOOKIE" }, { "Authorization", "authorization" },
		{ "User-Agent", "user-agent" }, { "If-None-Match", "IF-NONE-MATCH" },
		{ "Prefer", "prefer" }, { "Origin", "ORIGIN" },
	};
	const uint8_t *p = data, *end = data + size, *nl;
	char *envp[FUZZ_MAX_HEADERS + 2];
	size_t nenv = 0, i;
	struct req r;

	if (memchr(data, '\0', size) != NULL)
		return 0;	/* a CGI environment cannot hold NUL */
	envp[nenv++] = strdup("REQUEST_METHOD=GET");
	if (envp[0] == NULL)
		return 0;
	while (p < end && nenv < FUZZ_MAX_HEADERS + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((envp[nenv] = fuzz_cgi_var((const char *)p, (size_t)(nl - p))) != NULL)
			nenv++;
		p = nl < end ? nl + 1 : end;
	}
	envp[nenv] = NULL;
	if (http_req_init(&r, envp, NULL, NULL) == -1)
		goto out;
	for (i = 0; i < sizeof(asked) / sizeof(asked[0]); i++)
		if (http_header(&r, asked[i][0]) != http_header(&r, asked[i][1]))
			abort();
	fuzz_cookies(http_header(&r, "Cookie"));
	fuzz_bearer(http_header(&r, "Authorization"));
	fuzz_basic(http_header(&r, "Authorization"));
	fuzz_origin(http_header(&r, "Origin"));
	fuzz_origin(http_header(&r, "Referer"));
	http_req_free(&r);
out:
	for (i = 0; i < nenv; i++)
		free(envp[i]);
	return 0;
}
