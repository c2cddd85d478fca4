/*
 * jwksfetch: jwks_uri fetching and caching.  See jwksfetch.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "json.h"
#include "jwksfetch.h"
#include "log.h"

struct jwksfetch_slot {
	char		*url;		/* NULL: free slot */
	struct jwk_set	*set;		/* NULL: none (never fetched, or failed) */
	time_t		 expires;	/* set usable while now < expires */
	time_t		 last_attempt;	/* last fetch, successful or not */
	int		 failed;	/* the last fetch failed */
};

static struct jwksfetch_slot jwksfetch_cache[JWKSFETCH_CACHE_SLOTS];
static int jwksfetch_ready;

/* What one transfer collects. */
struct jwksfetch_xfer {
	char	*body;
	size_t	 len;
	int	 too_big;
	char	 cache_control[256];
	int	 has_cache_control;
};

int
jwksfetch_init(void)
{
	CURLcode rc;

	if (jwksfetch_ready)
		return 0;
	if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		log_err("curl_global_init failed: %s", curl_easy_strerror(rc));
		return -1;
	}
	jwksfetch_ready = 1;
	return 0;
}

/* 1 when host (as libcurl's URL parser gives it) is a loopback name or address. */
static int
jwksfetch_host_is_loopback(const char *host)
{
	struct in_addr a4;

	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
	    strcmp(host, "::1") == 0)
		return 1;
	/* 127.0.0.0/8 (RFC 1122 §3.2.1.3), dotted quad only. */
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return 0;
}

const char *
jwksfetch_url_allowed(const char *url)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *user = NULL;
	const char *why = NULL;
	const char *p;

	if (url == NULL || *url == '\0')
		return "no jwks_uri";
	for (p = url; *p != '\0'; p++)
		if (iscntrl((unsigned char)*p) || *p == ' ')
			return "jwks_uri contains spaces or control characters";
	if ((u = curl_url()) == NULL)
		return "out of memory";
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		why = "jwks_uri is not an absolute URL";
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		why = "jwks_uri must not carry user information";
		goto out;
	}
	if (strcasecmp(scheme, "https") == 0)
		goto out;
	if (strcasecmp(scheme, "http") == 0 && jwksfetch_host_is_loopback(host))
		goto out;
	why = "jwks_uri must use https (http only for loopback hosts)";
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(u);
	return why;
}

/* Parses a non-negative decimal of at most 9 digits at s; -1 otherwise. */
static long
jwksfetch_seconds(const char *s)
{
	long n = 0;
	int digits = 0;

	if (*s == '"')			/* RFC 9111 §5.2: senders must not quote, tolerate it */
		s++;
	for (; isdigit((unsigned char)*s); s++) {
		if (++digits > 9)
			return JWKSFETCH_MAX_TTL;	/* absurdly large: the cap */
		n = n * 10 + (*s - '0');
	}
	return digits > 0 ? n : -1;
}

long
jwksfetch_ttl(const char *cc)
{
	const char *p;
	long ttl = -1, n;
	size_t len;

	if (cc == NULL)
		return JWKSFETCH_DEFAULT_TTL;
	/* RFC 9111 §5.2: comma-separated directives, names case-insensitive. */
	for (p = cc; *p != '\0'; ) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		len = strcspn(p, ",");
		if (len >= 8 && strncasecmp(p, "no-store", 8) == 0 &&
		    (len == 8 || p[8] == ' ' || p[8] == '\t'))
			return JWKSFETCH_MIN_TTL;
		if (len >= 8 && strncasecmp(p, "no-cache", 8) == 0 &&
		    (len == 8 || p[8] == ' ' || p[8] == '\t' || p[8] == '='))
			return JWKSFETCH_MIN_TTL;
		if (len > 8 && strncasecmp(p, "max-age=", 8) == 0 &&
		    (n = jwksfetch_seconds(p + 8)) >= 0)
			ttl = n;
		p += len;
	}
	if (ttl < 0)
		return JWKSFETCH_DEFAULT_TTL;
	if (ttl < JWKSFETCH_MIN_TTL)
		return JWKSFETCH_MIN_TTL;
	if (ttl > JWKSFETCH_MAX_TTL)
		return JWKSFETCH_MAX_TTL;
	return ttl;
}

static size_t
jwksfetch_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct jwksfetch_xfer *x = arg;
	size_t n = size * nmemb;
	char *nb;

	if (n > JWKSFETCH_MAX_BYTES || x->len + n > JWKSFETCH_MAX_BYTES) {
		x->too_big = 1;
		return 0;		/* aborts the transfer */
	}
	if ((nb = realloc(x->body, x->len + n + 1)) == NULL)
		return 0;
	x->body = nb;
	memcpy(x->body + x->len, data, n);
	x->len += n;
	x->body[x->len] = '\0';
	return n;
}

static size_t
jwksfetch_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct jwksfetch_xfer *x = arg;
	size_t n = size * nmemb, len;
	const char *v;

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* A new response (after a redirect): forget the previous one's. */
		x->has_cache_control = 0;
		return n;
	}
	if (n > 14 && strncasecmp(data, "Cache-Control:", 14) == 0) {
		v = data + 14;
		len = n - 14;
		while (len > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			len--;
		}
		while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' ||
		    v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		if (len >= sizeof(x->cache_control))
			len = sizeof(x->cache_control) - 1;
		memcpy(x->cache_control, v, len);
		x->cache_control[len] = '\0';
		if (memchr(x->cache_control, '\0', len) == NULL)
			x->has_cache_control = 1;
	}
	return n;
}

/*
 * Fetches and parses the set at url.  Owned set and its TTL, or NULL with
 * *why set (the URL and the cause are logged, never the body).
 */
static struct jwk_set *
jwksfetch_fetch(const char *url, long *ttl, const char **why)
{
	struct jwksfetch_xfer x;
	struct curl_slist *hdrs = NULL;
	struct jwk_set *set = NULL;
	cJSON *doc = NULL;
	CURL *h = NULL;
	CURLcode rc;
	long status = 0;
	const char *jwhy;

	memset(&x, 0, sizeof(x));
	*why = "the client's jwks_uri could not be fetched";
	if (jwksfetch_init() == -1)
		return NULL;
	if ((h = curl_easy_init()) == NULL ||
	    (hdrs = curl_slist_append(NULL,
	    "Accept: application/jwk-set+json, application/json")) == NULL) {
		log_err("out of memory");
		goto out;
	}
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)JWKSFETCH_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)JWKSFETCH_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)JWKSFETCH_MAX_BYTES) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "smartauth/" SMARTAUTH_VERSION) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, jwksfetch_write) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, jwksfetch_header) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x) != CURLE_OK) {
		log_err("curl_easy_setopt failed");
		goto out;
	}
	if ((rc = curl_easy_perform(h)) != CURLE_OK) {
		if (x.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
			log_warn("jwks_uri %s: response larger than %d bytes", url, JWKSFETCH_MAX_BYTES);
			*why = "the client's jwks_uri response is too large";
		} else if (rc == CURLE_OPERATION_TIMEDOUT) {
			log_warn("jwks_uri %s: timed out", url);
			*why = "the client's jwks_uri did not answer in time";
		} else
			log_warn("jwks_uri %s: %s", url, curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		log_warn("jwks_uri %s: HTTP status %ld", url, status);
		*why = "the client's jwks_uri did not answer 200";
		goto out;
	}
	if (x.body == NULL || (doc = json_parse_strict(x.body, x.len, &jwhy)) == NULL) {
		log_warn("jwks_uri %s: not JSON", url);
		*why = "the client's jwks_uri did not serve a JWKS";
		goto out;
	}
	if ((set = jwk_set_parse(doc)) == NULL) {
		log_warn("jwks_uri %s: not a JWKS", url);
		*why = "the client's jwks_uri did not serve a JWKS";
		goto out;
	}
	if (set->n == 0) {
		log_warn("jwks_uri %s: no usable key", url);
		*why = "the client's jwks_uri serves no usable key";
		jwk_set_free(set);
		set = NULL;
		goto out;
	}
	*ttl = jwksfetch_ttl(x.has_cache_control ? x.cache_control : NULL);
	log_debug("jwks_uri %s: %zu keys, cached for %ld s", url, set->n, *ttl);
out:
	cJSON_Delete(doc);
	free(x.body);
	curl_slist_free_all(hdrs);
	if (h != NULL)
		curl_easy_cleanup(h);
	return set;
}

static void
jwksfetch_slot_clear(struct jwksfetch_slot *s)
{
	free(s->url);
	jwk_set_free(s->set);
	memset(s, 0, sizeof(*s));
}

/* The slot for url, or a free or the least recently attempted one (cleared). */
static struct jwksfetch_slot *
jwksfetch_slot_get(const char *url, int *found)
{
	struct jwksfetch_slot *s, *victim = NULL;
	size_t i;

	*found = 0;
	for (i = 0; i < JWKSFETCH_CACHE_SLOTS; i++) {
		s = &jwksfetch_cache[i];
		if (s->url != NULL && strcmp(s->url, url) == 0) {
			*found = 1;
			return s;
		}
		if (victim == NULL || (victim->url != NULL &&
		    (s->url == NULL || s->last_attempt < victim->last_attempt)))
			victim = s;
	}
	jwksfetch_slot_clear(victim);
	return victim;
}

/* 1 when the last attempt was less than the refetch gap ago. */
static int
jwksfetch_recent(const struct jwksfetch_slot *s, time_t now)
{
	return now >= s->last_attempt && now - s->last_attempt < JWKSFETCH_REFETCH_GAP;
}

const struct jwk_set *
jwksfetch_get(const char *url, int refresh, time_t now, const char **why)
{
	struct jwksfetch_slot *s;
	struct jwk_set *set;
	long ttl = JWKSFETCH_DEFAULT_TTL;
	int found;

	if ((*why = jwksfetch_url_allowed(url)) != NULL)
		return NULL;
	s = jwksfetch_slot_get(url, &found);
	if (found) {
		if (s->set != NULL && now < s->expires &&
		    (!refresh || jwksfetch_recent(s, now)))
			return s->set;
		if (s->set == NULL && s->failed && jwksfetch_recent(s, now)) {
			*why = "the client's jwks_uri failed recently; retry later";
			return NULL;
		}
	} else if ((s->url = strdup(url)) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	s->last_attempt = now;
	if ((set = jwksfetch_fetch(url, &ttl, why)) == NULL) {
		s->failed = 1;
		/* A failed refresh keeps a set that is still fresh; an expired one goes. */
		if (s->set != NULL && now < s->expires)
			return s->set;
		jwk_set_free(s->set);
		s->set = NULL;
		return NULL;
	}
	jwk_set_free(s->set);
	s->set = set;
	s->failed = 0;
	s->expires = now + ttl;
	return s->set;
}

void
jwksfetch_flush(void)
{
	size_t i;

	for (i = 0; i < JWKSFETCH_CACHE_SLOTS; i++)
		jwksfetch_slot_clear(&jwksfetch_cache[i]);
}
