/*
 * pages: HTML of the authorization endpoint.  See pages.h.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "http.h"
#include "log.h"
#include "pages.h"

/* Palette shared by the pages and the style document (contrast >= 7:1 for text). */
#define PAGES_BG	"#f6f7f9"
#define PAGES_TEXT	"#1b1f24"
#define PAGES_ACCENT	"#0b5394"
#define PAGES_ERROR	"#a3121c"
#define PAGES_SUCCESS	"#1e6b35"

static const char pages_css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;background:" PAGES_BG ";color:" PAGES_TEXT ";"
    "font:1rem/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}"
    "main{max-width:34rem;margin:0 auto;padding:1.5rem 1rem 3rem}"
    ".card{background:#fff;border:1px solid #d0d5dc;border-radius:8px;padding:1.25rem 1.25rem 1.5rem}"
    "h1{font-size:1.5rem;margin:0 0 .75rem;line-height:1.25}"
    "h2{font-size:1.15rem;margin:1.25rem 0 .25rem}"
    "a{color:" PAGES_ACCENT "}"
    "p{margin:.5rem 0}"
    "label{display:block;font-weight:600;margin:1rem 0 .25rem}"
    "input[type=text],input[type=password],input[type=search]{width:100%;font:inherit;"
    "padding:.6rem .7rem;border:1px solid #6b7480;border-radius:6px;background:#fff;color:inherit}"
    "input:focus-visible,button:focus-visible{outline:3px solid " PAGES_ACCENT ";outline-offset:2px}"
    "fieldset{border:0;margin:1rem 0 0;padding:0}"
    "legend{font-weight:600;margin-bottom:.25rem;padding:0}"
    ".choice{display:flex;gap:.75rem;align-items:flex-start;padding:.6rem .25rem;"
    "border-top:1px solid #e3e6ea}"
    ".choice:first-of-type{border-top:0}"
    ".choice input{margin-top:.3rem;width:1.2rem;height:1.2rem;flex:none}"
    ".choice label{font-weight:400;margin:0}"
    ".meta{display:block;color:#4a525c;font-size:.9rem}"
    "code{font-size:.85rem;color:#4a525c;word-break:break-all}"
    ".actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.5rem}"
    "button{font:inherit;font-weight:600;padding:.65rem 1.3rem;border-radius:6px;cursor:pointer;"
    "border:2px solid " PAGES_ACCENT ";background:" PAGES_ACCENT ";color:#fff;min-height:2.75rem}"
    "button.secondary{background:#fff;color:" PAGES_ACCENT "}"
    ".error{color:" PAGES_ERROR ";font-weight:600}"
    ".notice{background:#eef4fb;border-left:4px solid " PAGES_ACCENT ";padding:.5rem .75rem}"
    ".hint{color:#4a525c;font-size:.9rem}"
    "ul{padding-left:1.25rem}"
    "@media (max-width:30rem){main{padding:.75rem .5rem}.card{padding:1rem}"
    ".actions button{flex:1 1 auto}}";

void
pages_headers(struct resp *p, const char *origin)
{
	char csp[512];

	snprintf(csp, sizeof(csp),
	    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
	    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'%s%s",
	    origin != NULL ? " " : "", origin != NULL ? origin : "");
	http_resp_header(p, "X-Frame-Options", "DENY");
	if (http_resp_header(p, "Content-Security-Policy", csp) == -1)
		http_resp_header(p, "Content-Security-Policy",
		    "default-src 'none'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
		    "base-uri 'none'; form-action 'self'");
	http_resp_header(p, "Cache-Control", "no-store");
	http_resp_header(p, "Pragma", "no-cache");
	http_resp_header(p, "Referrer-Policy", "no-referrer");
	http_resp_header(p, "X-Content-Type-Options", "nosniff");
}

static void
esc(struct buf *b, const char *s)
{
	http_html_escape(b, s != NULL ? s : "");
}

static void
page_open(struct buf *b, const char *title)
{
	buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<meta name=\"referrer\" content=\"no-referrer\"><title>");
	esc(b, title);
	buf_puts(b, "</title><style>");
	buf_puts(b, pages_css);
	buf_puts(b, "</style></head><body><main><div class=\"card\"><h1>");
	esc(b, title);
	buf_puts(b, "</h1>\n");
}

/* Finishes the page and puts it into the response with the headers. */
static int
page_close(struct resp *p, struct buf *b, int status, const char *origin)
{
	int rc;

	buf_puts(b, "</div></main></body></html>\n");
	if (b->failed) {
		log_err("out of memory rendering a page");
		buf_free(b);
		return -1;
	}
	pages_headers(p, origin);
	rc = http_resp_body(p, status, "text/html; charset=utf-8", b->data, b->len);
	buf_free(b);
	return rc;
}

static void
para(struct buf *b, const char *cls, const char *role, const char *text)
{
	if (text == NULL)
		return;
	buf_puts(b, "<p");
	if (cls != NULL)
		buf_printf(b, " class=\"%s\"", cls);
	if (role != NULL)
		buf_printf(b, " role=\"%s\"", role);
	buf_puts(b, ">");
	esc(b, text);
	buf_puts(b, "</p>\n");
}

static void
form_open(struct buf *b, const struct pages_frame *f, const char *extra)
{
	buf_puts(b, "<form method=\"post\" action=\"");
	esc(b, f->action);
	buf_puts(b, "\"");
	if (extra != NULL)
		buf_puts(b, extra);
	buf_puts(b, "><input type=\"hidden\" name=\"request\" value=\"");
	esc(b, f->request_id);
	buf_puts(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	esc(b, f->csrf);
	buf_puts(b, "\">\n");
}

static void
cancel_button(struct buf *b, const char *label)
{
	buf_puts(b, "<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\" "
	    "formnovalidate>");
	esc(b, label);
	buf_puts(b, "</button>");
}

int
pages_error(struct resp *p, int status, const char *title, const char *message,
    const char *origin)
{
	struct buf b = { 0 };

	page_open(&b, title);
	para(&b, "error", "alert", message);
	para(&b, "hint", NULL, "You can close this window and go back to the app.");
	return page_close(p, &b, status, origin);
}

int
pages_unavailable(struct resp *p, int retry_after)
{
	char ra[16];

	snprintf(ra, sizeof(ra), "%d", retry_after);
	http_resp_header(p, "Retry-After", ra);
	return pages_error(p, 503, "Temporarily unavailable",
	    "The sign-in service cannot reach its database right now. Please try again in a "
	    "few seconds.", NULL);
}

int
pages_message(struct resp *p, int status, const char *title, const char *message)
{
	struct buf b = { 0 };

	page_open(&b, title);
	para(&b, NULL, "status", message);
	return page_close(p, &b, status, NULL);
}

int
pages_login(struct resp *p, int status, const struct pages_frame *f, const char *username,
    const char *notice, const char *error)
{
	struct buf b = { 0 };

	page_open(&b, "Sign in");
	buf_puts(&b, "<p>Sign in to continue to <strong>");
	esc(&b, f->client_name);
	buf_puts(&b, "</strong>.</p>\n");
	para(&b, "notice", "status", notice);
	para(&b, "error", "alert", error);
	form_open(&b, f, NULL);
	buf_puts(&b, "<label for=\"username\">User name or e-mail</label>"
	    "<input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" "
	    "autocapitalize=\"none\" spellcheck=\"false\" required maxlength=\"256\" value=\"");
	esc(&b, username);
	buf_puts(&b, "\"><label for=\"password\">Password</label>"
	    "<input id=\"password\" name=\"password\" type=\"password\" "
	    "autocomplete=\"current-password\" required maxlength=\"1024\">"
	    "<div class=\"actions\"><button type=\"submit\">Sign in</button>");
	cancel_button(&b, "Cancel");
	buf_puts(&b, "</div></form>\n");
	return page_close(p, &b, status, f->origin);
}

static void
item_label(struct buf *b, const struct authstore_item *it, const char *date_word)
{
	buf_puts(b, "<strong>");
	esc(b, it->label);
	buf_puts(b, "</strong>");
	if (it->date != NULL && *it->date != '\0') {
		buf_printf(b, "<span class=\"meta\">%s ", date_word);
		esc(b, it->date);
		buf_puts(b, "</span>");
	}
	buf_puts(b, "<span class=\"meta\">id ");
	esc(b, it->id);
	buf_puts(b, "</span>");
}

static void
choices(struct buf *b, const char *name, const char *legend, const struct authstore_list *l,
    const char *date_word)
{
	size_t i;

	buf_puts(b, "<fieldset><legend>");
	esc(b, legend);
	buf_puts(b, "</legend>\n");
	for (i = 0; i < l->n; i++) {
		buf_printf(b, "<div class=\"choice\"><input type=\"radio\" id=\"%s-%zu\" name=\"%s\" "
		    "value=\"", name, i, name);
		esc(b, l->v[i].id);
		buf_printf(b, "\" required><label for=\"%s-%zu\">", name, i);
		item_label(b, &l->v[i], date_word);
		buf_puts(b, "</label></div>\n");
	}
	buf_puts(b, "</fieldset>\n");
}

int
pages_patients(struct resp *p, const struct pages_frame *f, const struct authstore_list *l,
    const char *q, int searchable, const char *error)
{
	struct buf b = { 0 };

	page_open(&b, "Choose a patient");
	buf_puts(&b, "<p><strong>");
	esc(&b, f->client_name);
	buf_puts(&b, "</strong> works with one patient's records. Choose the patient.</p>\n");
	para(&b, "error", "alert", error);
	if (searchable) {
		form_open(&b, f, " role=\"search\"");
		buf_puts(&b, "<label for=\"q\">Search by name or id</label>"
		    "<input id=\"q\" name=\"q\" type=\"search\" maxlength=\"100\" value=\"");
		esc(&b, q);
		buf_puts(&b, "\"><div class=\"actions\"><button type=\"submit\" class=\"secondary\">"
		    "Search</button></div></form>\n");
	}
	if (l->n == 0) {
		para(&b, NULL, "status", q != NULL && *q != '\0' ?
		    "No patient matches this search." : "There are no patients to choose from.");
		form_open(&b, f, NULL);
		buf_puts(&b, "<div class=\"actions\">");
		cancel_button(&b, "Cancel");
		buf_puts(&b, "</div></form>\n");
		return page_close(p, &b, 200, f->origin);
	}
	form_open(&b, f, NULL);
	choices(&b, "patient", "Patients", l, "born");
	if ((long)l->n < l->total)
		buf_printf(&b, "<p class=\"hint\">Showing %zu of %ld patients: search to find "
		    "others.</p>\n", l->n, l->total);
	buf_puts(&b, "<div class=\"actions\"><button type=\"submit\">Continue</button>");
	cancel_button(&b, "Cancel");
	buf_puts(&b, "</div></form>\n");
	return page_close(p, &b, 200, f->origin);
}

int
pages_encounters(struct resp *p, const struct pages_frame *f, const char *patient_label,
    const struct authstore_list *l, const char *error)
{
	struct buf b = { 0 };

	page_open(&b, "Choose a visit");
	buf_puts(&b, "<p><strong>");
	esc(&b, f->client_name);
	buf_puts(&b, "</strong> works with one visit (encounter) of <strong>");
	esc(&b, patient_label);
	buf_puts(&b, "</strong>. Choose the visit.</p>\n");
	para(&b, "error", "alert", error);
	form_open(&b, f, NULL);
	choices(&b, "encounter", "Visits", l, "started");
	buf_puts(&b, "<div class=\"actions\"><button type=\"submit\">Continue</button>");
	cancel_button(&b, "Cancel");
	buf_puts(&b, "</div></form>\n");
	return page_close(p, &b, 200, f->origin);
}

/*
 * The words for one scope on the consent page.  scope_describe speaks to
 * the patient ("your observation records"); a clinician choosing for a
 * patient reads "the patient's observation records" instead.
 */
static void
consent_words(const struct scope *sc, int for_patient, char *buf, size_t bufsz)
{
	char tmp[512];
	const char *at;

	scope_describe(sc, buf, bufsz);
	if (!for_patient || sc->kind != SCOPE_RESOURCE || sc->context != SCOPE_CTX_PATIENT ||
	    (at = strstr(buf, "your ")) == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%.*sthe patient's %s", (int)(at - buf), buf, at + 5);
	snprintf(buf, bufsz, "%s", tmp);
}

int
pages_consent(struct resp *p, const struct pages_frame *f, const struct pages_consent *c)
{
	struct buf b = { 0 };
	char words[512];
	size_t i;

	page_open(&b, "Allow access?");
	buf_puts(&b, "<p><strong>");
	esc(&b, f->client_name);
	buf_puts(&b, "</strong> asks for permission to:</p>\n");
	if (c->patient_label != NULL) {
		buf_puts(&b, "<p>Patient: <strong>");
		esc(&b, c->patient_label);
		buf_puts(&b, "</strong>");
		if (c->encounter_label != NULL) {
			buf_puts(&b, "<span class=\"meta\">Visit: ");
			esc(&b, c->encounter_label);
			buf_puts(&b, "</span>");
		}
		buf_puts(&b, "</p>\n");
	}
	para(&b, "error", "alert", c->error);
	form_open(&b, f, NULL);
	buf_puts(&b, "<fieldset><legend>Permissions</legend>\n");
	for (i = 0; c->offered != NULL && i < c->offered->n; i++) {
		consent_words(&c->offered->v[i], c->for_patient, words, sizeof(words));
		buf_printf(&b, "<div class=\"choice\"><input type=\"checkbox\" id=\"scope-%zu\" "
		    "name=\"scope\" value=\"", i);
		esc(&b, c->offered->v[i].text);
		buf_printf(&b, "\" checked><label for=\"scope-%zu\">", i);
		esc(&b, words);
		buf_puts(&b, "<span class=\"meta\"><code>");
		esc(&b, c->offered->v[i].text);
		buf_puts(&b, "</code></span></label></div>\n");
	}
	buf_puts(&b, "</fieldset>\n");
	if (c->ndropped > 0) {
		buf_puts(&b, "<p>Also requested, but not available to this app:</p><ul>\n");
		for (i = 0; i < c->ndropped; i++) {
			buf_puts(&b, "<li><code>");
			esc(&b, c->dropped[i].scope);
			buf_puts(&b, "</code>: ");
			esc(&b, c->dropped[i].why);
			buf_puts(&b, "</li>\n");
		}
		buf_puts(&b, "</ul>\n");
	}
	buf_puts(&b, "<p class=\"hint\">Untick what you do not want to share. Signed in as <strong>");
	esc(&b, c->user_name);
	buf_puts(&b, "</strong>. Your choice is remembered for this app");
	if (c->consents_path != NULL) {
		buf_puts(&b, "; you can withdraw it on <a href=\"");
		esc(&b, c->consents_path);
		buf_puts(&b, "\">your permissions page</a>");
	}
	buf_puts(&b, ".</p>\n<div class=\"actions\">"
	    "<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>"
	    "<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button>"
	    "</div></form>\n");
	return page_close(p, &b, 200, f->origin);
}

int
pages_logout(struct resp *p, const char *action, const char *csrf, const char *user_name)
{
	struct buf b = { 0 };

	if (user_name == NULL)
		return pages_message(p, 200, "Sign out", "You are not signed in.");
	page_open(&b, "Sign out");
	buf_puts(&b, "<p>You are signed in as <strong>");
	esc(&b, user_name);
	buf_puts(&b, "</strong>. Signing out ends your session for every app that uses it; "
	    "apps that may only stay connected while you are signed in lose access.</p>\n"
	    "<form method=\"post\" action=\"");
	esc(&b, action);
	buf_puts(&b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	esc(&b, csrf);
	buf_puts(&b, "\"><div class=\"actions\"><button type=\"submit\">Sign out</button></div>"
	    "</form>\n");
	return page_close(p, &b, 200, NULL);
}

int
pages_consents(struct resp *p, const char *action, const char *csrf, const char *user_name,
    const struct authstore_consents *list, const char *notice)
{
	struct buf b = { 0 };
	struct scope_set *set;
	struct scope_err err;
	char words[512];
	size_t i, j;

	page_open(&b, "Apps you allowed");
	buf_puts(&b, "<p>Signed in as <strong>");
	esc(&b, user_name);
	buf_puts(&b, "</strong>.</p>\n");
	para(&b, "notice", "status", notice);
	if (list->n == 0)
		para(&b, NULL, NULL, "You have not allowed any app yet.");
	for (i = 0; i < list->n; i++) {
		buf_puts(&b, "<h2>");
		esc(&b, list->v[i].client_name);
		buf_puts(&b, "</h2><p class=\"hint\">Allowed or changed ");
		esc(&b, list->v[i].updated_at);
		buf_puts(&b, "</p><ul>\n");
		if ((set = scope_parse(list->v[i].scopes, &err)) != NULL) {
			for (j = 0; j < set->n; j++) {
				scope_describe(&set->v[j], words, sizeof(words));
				buf_puts(&b, "<li>");
				esc(&b, words);
				buf_puts(&b, " <code>");
				esc(&b, set->v[j].text);
				buf_puts(&b, "</code></li>\n");
			}
			scope_set_free(set);
		}
		buf_puts(&b, "</ul><form method=\"post\" action=\"");
		esc(&b, action);
		buf_puts(&b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
		esc(&b, csrf);
		buf_puts(&b, "\"><input type=\"hidden\" name=\"client\" value=\"");
		esc(&b, list->v[i].client_id);
		buf_puts(&b, "\"><button type=\"submit\" class=\"secondary\">Withdraw permission"
		    "</button></form>\n");
	}
	return page_close(p, &b, 200, NULL);
}

int
pages_style(struct resp *p)
{
	/* SMART App Launch 2.2 "Styling": the same palette as these pages. */
	static const char doc[] =
	    "{\"color_background\":\"" PAGES_BG "\","
	    "\"color_error\":\"" PAGES_ERROR "\","
	    "\"color_highlight\":\"" PAGES_ACCENT "\","
	    "\"color_modal_backdrop\":\"rgba(27,31,36,0.5)\","
	    "\"color_success\":\"" PAGES_SUCCESS "\","
	    "\"color_text\":\"" PAGES_TEXT "\","
	    "\"dim_border_radius\":\"8px\","
	    "\"dim_font_size\":\"16px\","
	    "\"dim_spacing_size\":\"16px\","
	    "\"font_family_body\":\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\","
	    "\"font_family_heading\":\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\"}";

	/* Apps fetch this document from their own origin: it is public. */
	http_resp_cors(p);
	http_resp_header(p, "Cache-Control", "public, max-age=3600");
	http_resp_header(p, "X-Content-Type-Options", "nosniff");
	return http_resp_body(p, 200, "application/json", doc, sizeof(doc) - 1);
}
