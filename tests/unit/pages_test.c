/*
 * pages_test: the authorization pages escape every value, carry the
 * hidden request id and CSRF token, and send the security headers; the
 * session cookies are parsed and built strictly.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "http.h"
#include "log.h"
#include "pages.h"
#include "session.h"
#include "t.h"

#define EVIL "\"><script>alert('x')</script>&"
#define EVIL_ESC "&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"

static const char *
header(const struct resp *p, const char *name)
{
	static char v[1024];
	const char *h = p->headers.data, *e;
	size_t n = strlen(name);

	for (; h != NULL && *h != '\0'; h = e + 2) {
		if ((e = strstr(h, "\r\n")) == NULL)
			break;
		if (strncmp(h, name, n) == 0 && h[n] == ':') {
			snprintf(v, sizeof(v), "%.*s", (int)(e - h - n - 2), h + n + 2);
			return v;
		}
	}
	return NULL;
}

static int
has(const struct resp *p, const char *s)
{
	return p->body.data != NULL && strstr(p->body.data, s) != NULL;
}

static void
check_headers(const struct resp *p, const char *what, const char *origin)
{
	char cspbuf[1024], name[160];
	const char *csp = header(p, "Content-Security-Policy");

	snprintf(cspbuf, sizeof(cspbuf), "%s", csp != NULL ? csp : "");
	csp = csp != NULL ? cspbuf : NULL;

	snprintf(name, sizeof(name), "%s: X-Frame-Options DENY", what);
	T_EQ_STR(header(p, "X-Frame-Options"), "DENY", name);
	snprintf(name, sizeof(name), "%s: CSP frame-ancestors and default-src", what);
	T_OK(csp != NULL && strstr(csp, "frame-ancestors 'none'") != NULL &&
	    strstr(csp, "default-src 'none'") != NULL, name);
	snprintf(name, sizeof(name), "%s: CSP form-action", what);
	if (origin != NULL) {
		char want[300];

		snprintf(want, sizeof(want), "form-action 'self' %s", origin);
		T_OK(csp != NULL && strstr(csp, want) != NULL, name);
	} else
		T_OK(csp != NULL && strstr(csp, "form-action 'self'") != NULL, name);
	snprintf(name, sizeof(name), "%s: no-store", what);
	T_EQ_STR(header(p, "Cache-Control"), "no-store", name);
	snprintf(name, sizeof(name), "%s: no-referrer", what);
	T_EQ_STR(header(p, "Referrer-Policy"), "no-referrer", name);
	snprintf(name, sizeof(name), "%s: nosniff", what);
	T_EQ_STR(header(p, "X-Content-Type-Options"), "nosniff", name);
	snprintf(name, sizeof(name), "%s: no CORS", what);
	T_OK(header(p, "Access-Control-Allow-Origin") == NULL, name);
	snprintf(name, sizeof(name), "%s: viewport meta", what);
	T_OK(has(p, "name=\"viewport\""), name);
	snprintf(name, sizeof(name), "%s: no script", what);
	T_OK(!has(p, "<script"), name);
}

static void
test_login(void)
{
	struct pages_frame fr = { "/auth/authorize", "REQ-1", "CSRF-1", EVIL, "https://app.example" };
	struct resp p;

	http_resp_init(&p);
	T_EQ_INT(pages_login(&p, 200, &fr, EVIL, EVIL, EVIL), 0, "login renders");
	T_EQ_INT(p.status, 200, "login status");
	check_headers(&p, "login", "https://app.example");
	T_OK(has(&p, EVIL_ESC), "hostile values escaped");
	T_OK(!has(&p, "<script>alert"), "no raw script");
	T_OK(has(&p, "name=\"request\" value=\"REQ-1\""), "hidden request id");
	T_OK(has(&p, "name=\"csrf\" value=\"CSRF-1\""), "hidden CSRF token");
	T_OK(has(&p, "name=\"username\"") && has(&p, "name=\"password\""), "username and password");
	T_OK(has(&p, "type=\"password\""), "password masked");
	T_OK(has(&p, "for=\"username\"") && has(&p, "for=\"password\""), "labelled inputs");
	http_resp_free(&p);
}

static void
test_pickers(void)
{
	struct authstore_item items[2] = {
		{ "pt-1", "Alice " EVIL, "1987-04-12" },
		{ EVIL, "Bob", "" },
	};
	struct authstore_list l = { items, 2, 30 };
	struct authstore_list none = { NULL, 0, 0 };
	struct pages_frame fr = { "/auth/authorize", "R", "C", "App", NULL };
	struct resp p;

	http_resp_init(&p);
	pages_patients(&p, &fr, &l, EVIL, 1, NULL);
	check_headers(&p, "patient picker", NULL);
	T_OK(has(&p, "type=\"radio\" id=\"patient-0\" name=\"patient\" value=\"pt-1\""), "radio per patient");
	T_OK(has(&p, "name=\"patient\" value=\"" EVIL_ESC "\""), "hostile id escaped in value");
	T_OK(has(&p, "born 1987-04-12"), "birth date shown");
	T_OK(has(&p, "name=\"q\""), "search box when searchable");
	T_OK(has(&p, "value=\"" EVIL_ESC "\""), "search text escaped");
	T_OK(has(&p, "Showing 2 of 30"), "truncation said");
	T_OK(!has(&p, "<script>alert"), "no raw script in picker");
	http_resp_free(&p);

	http_resp_init(&p);
	pages_patients(&p, &fr, &l, NULL, 0, NULL);
	T_OK(!has(&p, "name=\"q\""), "no search box for a short list");
	http_resp_free(&p);

	http_resp_init(&p);
	pages_patients(&p, &fr, &none, NULL, 0, NULL);
	T_OK(has(&p, "no patients"), "empty list said");
	T_OK(!has(&p, "name=\"patient\""), "no radio when empty");
	http_resp_free(&p);

	http_resp_init(&p);
	pages_encounters(&p, &fr, "Alice", &l, "Choose");
	T_OK(has(&p, "name=\"encounter\" value=\"pt-1\""), "radio per encounter");
	check_headers(&p, "encounter picker", NULL);
	http_resp_free(&p);
}

static void
test_consent(void)
{
	struct scope_set *offered = scope_parse("openid patient/Observation.rs offline_access", NULL);
	struct pages_dropped dropped[1] = { { "<b>bogus</b>", "not a permission this server knows" } };
	struct pages_frame fr = { "/auth/authorize", "R", "C", EVIL, "com.example.app:" };
	struct pages_consent c = { offered, dropped, 1, EVIL, "Alice", NULL, "/auth/consents", NULL, 0 };
	struct resp p;

	http_resp_init(&p);
	T_EQ_INT(pages_consent(&p, &fr, &c), 0, "consent renders");
	check_headers(&p, "consent", "com.example.app:");
	T_OK(has(&p, "name=\"scope\" value=\"openid\" checked"), "checkbox per scope, checked");
	T_OK(has(&p, "name=\"scope\" value=\"patient/Observation.rs\" checked"), "resource scope checkbox");
	T_OK(has(&p, "name=\"decision\" value=\"allow\""), "allow button");
	T_OK(has(&p, "name=\"decision\" value=\"deny\""), "deny button");
	T_OK(has(&p, "&lt;b&gt;bogus&lt;/b&gt;"), "dropped scope shown, escaped");
	T_OK(has(&p, "observation"), "scope described in words");
	T_OK(!has(&p, "<script>alert"), "no raw script in consent");
	T_OK(has(&p, "your observation"), "a patient reads \"your\" records");
	http_resp_free(&p);

	/* A clinician choosing for a patient reads "the patient's" records. */
	c.for_patient = 1;
	http_resp_init(&p);
	T_EQ_INT(pages_consent(&p, &fr, &c), 0, "consent for a patient renders");
	T_OK(has(&p, "the patient&#39;s observation") || has(&p, "the patient's observation"),
	    "clinician reads \"the patient's\" records");
	T_OK(!has(&p, "your observation"), "no \"your\" for a clinician");
	T_OK(has(&p, "Know who you are"), "identity scopes still speak to the user");
	http_resp_free(&p);
	scope_set_free(offered);
}

static void
test_misc_pages(void)
{
	struct authstore_consent one = { "app", EVIL, "openid patient/*.rs", "2026-01-01 10:00 UTC" };
	struct authstore_consents list = { &one, 1 };
	struct resp p;
	cJSON *doc;
	static const char *const keys[] = { "color_background", "color_error", "color_highlight",
	    "color_modal_backdrop", "color_success", "color_text", "dim_border_radius",
	    "dim_font_size", "dim_spacing_size", "font_family_body", "font_family_heading", NULL };
	size_t i;

	http_resp_init(&p);
	pages_error(&p, 400, "Bad " EVIL, EVIL, NULL);
	T_EQ_INT(p.status, 400, "error page status");
	check_headers(&p, "error page", NULL);
	T_OK(!has(&p, "<script>alert"), "error page escapes");
	http_resp_free(&p);

	http_resp_init(&p);
	pages_unavailable(&p, 5);
	T_EQ_INT(p.status, 503, "unavailable status");
	T_EQ_STR(header(&p, "Retry-After"), "5", "Retry-After");
	http_resp_free(&p);

	http_resp_init(&p);
	pages_logout(&p, "/auth/logout", "TOKEN", EVIL);
	T_OK(has(&p, "name=\"csrf\" value=\"TOKEN\""), "logout form has CSRF");
	T_OK(has(&p, EVIL_ESC), "logout escapes the name");
	check_headers(&p, "logout", NULL);
	http_resp_free(&p);

	http_resp_init(&p);
	pages_consents(&p, "/auth/consents", "TOK", "alice", &list, NULL);
	T_OK(has(&p, "name=\"client\" value=\"app\""), "revoke form per app");
	T_OK(has(&p, "name=\"csrf\" value=\"TOK\""), "revoke form has CSRF");
	T_OK(!has(&p, "<script>alert"), "consents page escapes");
	http_resp_free(&p);

	http_resp_init(&p);
	pages_style(&p);
	doc = cJSON_ParseWithLength(p.body.data, p.body.len);
	for (i = 0; keys[i] != NULL; i++)
		T_OK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc, keys[i])), keys[i]);
	T_EQ_STR(header(&p, "Access-Control-Allow-Origin"), "*", "style is public (CORS)");
	cJSON_Delete(doc);
	http_resp_free(&p);
}

static void
test_cookies(void)
{
	static const struct {
		const char *header;
		const char *want;
	} rows[] = {
		{ "smartauth_session=abc", "abc" },
		{ "a=1; smartauth_session=abc; b=2", "abc" },
		{ "a=1;smartauth_session=abc", "abc" },
		{ "smartauth_session=first; smartauth_session=second", "first" },
		{ "xsmartauth_session=abc", NULL },
		{ "smartauth_sessionx=abc", NULL },
		{ "smartauth_session=", NULL },
		{ "smartauth_session=a;b", "a" },
		{ "smartauth_session=\"abc\"", NULL },
		{ "smartauth_session=a b", NULL },
		{ "smartauth_session=abc%00", NULL },
		{ "smartauth_session", NULL },
		{ "", NULL },
		{ "smartauth_session=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL },
	};
	char *v;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		v = session_cookie_get(rows[i].header, SESSION_COOKIE);
		T_EQ_STR(v, rows[i].want, rows[i].header);
		free(v);
	}
	T_OK(session_cookie_get(NULL, SESSION_COOKIE) == NULL, "no Cookie header");

	v = session_cookie_header(SESSION_COOKIE, "tok", "/auth", 1, 3600);
	T_EQ_STR(v, "smartauth_session=tok; Path=/auth; Max-Age=3600; HttpOnly; SameSite=Lax; Secure",
	    "session cookie over HTTPS");
	free(v);
	v = session_cookie_header(SESSION_COOKIE, "tok", "/smart/auth", 0, -1);
	T_EQ_STR(v, "smartauth_session=tok; Path=/smart/auth; HttpOnly; SameSite=Lax",
	    "browser-session cookie over HTTP");
	free(v);
	v = session_cookie_header(SESSION_COOKIE, "", "/auth", 0, 0);
	T_EQ_STR(v, "smartauth_session=; Path=/auth; Max-Age=0; HttpOnly; SameSite=Lax", "deletion");
	free(v);
	T_OK(session_cookie_header(SESSION_COOKIE, "a;b", "/auth", 0, 0) == NULL, "semicolon refused");
	T_OK(session_cookie_header(SESSION_COOKIE, "a\r\nb", "/auth", 0, 0) == NULL, "CRLF refused");
	T_OK(session_cookie_header(SESSION_COOKIE, "a", "/auth; Domain=evil", 0, 0) == NULL,
	    "attribute injection through the path refused");
}

int
main(void)
{
	log_set_level(LOGL_ERROR);
	test_login();
	test_pickers();
	test_consent();
	test_misc_pages();
	test_cookies();
	return t_done();
}
