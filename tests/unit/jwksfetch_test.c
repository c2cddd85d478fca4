/*
 * jwksfetch_test: the jwks_uri policy (https, or http to loopback only;
 * no userinfo), Cache-Control handling within bounds, and real fetches
 * from a forked one-shot HTTP server on 127.0.0.1: a set is served from
 * the cache while fresh (the server is gone by then), a refresh inside the
 * 10 s gap does not refetch, a rotated kid is picked up after it, junk,
 * non-200, oversized, stalled and redirected-to-http responses all fail,
 * and a failure is remembered for the gap.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "jwk.h"
#include "jwksfetch.h"
#include "log.h"
#include "t.h"

#define T0	((time_t)1750000000)

static char *jwks_a, *jwks_b;		/* JSON texts: one key, kid "a" / "b" */

/* ---- policy --------------------------------------------------------------- */

static const struct url_row {
	const char	*url;
	int		 ok;
} url_rows[] = {
	{ "https://keys.example/jwks", 1 },
	{ "https://keys.example:8443/a/jwks.json?v=1", 1 },
	{ "http://127.0.0.1:8080/jwks", 1 },
	{ "http://127.1.2.3/jwks", 1 },
	{ "http://localhost/jwks", 1 },
	{ "http://[::1]:9000/jwks", 1 },
	{ "HTTPS://keys.example/jwks", 1 },
	{ "http://keys.example/jwks", 0 },
	{ "http://128.0.0.1/jwks", 0 },
	{ "http://10.0.0.1/jwks", 0 },
	{ "http://127.0.0.1.evil.example/jwks", 0 },
	{ "http://localhost.evil.example/jwks", 0 },
	{ "http://127.0.0.1@evil.example/jwks", 0 },
	{ "https://user:pw@keys.example/jwks", 0 },
	{ "http://[::2]/jwks", 0 },
	{ "ftp://127.0.0.1/jwks", 0 },
	{ "file:///etc/passwd", 0 },
	{ "gopher://127.0.0.1/", 0 },
	{ "/relative/jwks", 0 },
	{ "", 0 },
	{ "https://keys.example/jw ks", 0 },
	{ "https://keys.example/jwks\r\nX: y", 0 },
};

static void
test_policy(void)
{
	char name[160];
	size_t i;

	for (i = 0; i < sizeof(url_rows) / sizeof(url_rows[0]); i++) {
		snprintf(name, sizeof(name), "url %s %s", url_rows[i].url,
		    url_rows[i].ok ? "allowed" : "refused");
		T_EQ_INT(jwksfetch_url_allowed(url_rows[i].url) == NULL, url_rows[i].ok, name);
	}
	T_OK(jwksfetch_url_allowed(NULL) != NULL, "url NULL refused");

	T_EQ_INT(jwksfetch_ttl(NULL), JWKSFETCH_DEFAULT_TTL, "ttl: no header, default");
	T_EQ_INT(jwksfetch_ttl("max-age=600"), 600, "ttl: max-age");
	T_EQ_INT(jwksfetch_ttl("public, max-age=900, must-revalidate"), 900, "ttl: among others");
	T_EQ_INT(jwksfetch_ttl("MAX-AGE=120"), 120, "ttl: case-insensitive");
	T_EQ_INT(jwksfetch_ttl("max-age=5"), JWKSFETCH_MIN_TTL, "ttl: raised to the minimum");
	T_EQ_INT(jwksfetch_ttl("max-age=0"), JWKSFETCH_MIN_TTL, "ttl: zero raised");
	T_EQ_INT(jwksfetch_ttl("max-age=86400"), JWKSFETCH_MAX_TTL, "ttl: capped");
	T_EQ_INT(jwksfetch_ttl("max-age=99999999999999999999"), JWKSFETCH_MAX_TTL,
	    "ttl: overflow capped");
	T_EQ_INT(jwksfetch_ttl("max-age=-5"), JWKSFETCH_DEFAULT_TTL, "ttl: negative ignored");
	T_EQ_INT(jwksfetch_ttl("max-age="), JWKSFETCH_DEFAULT_TTL, "ttl: empty ignored");
	T_EQ_INT(jwksfetch_ttl("max-age=\"300\""), 300, "ttl: quoted tolerated");
	T_EQ_INT(jwksfetch_ttl("no-store"), JWKSFETCH_MIN_TTL, "ttl: no-store, minimum");
	T_EQ_INT(jwksfetch_ttl("max-age=600, no-cache"), JWKSFETCH_MIN_TTL, "ttl: no-cache wins");
	T_EQ_INT(jwksfetch_ttl("s-maxage=900"), JWKSFETCH_DEFAULT_TTL, "ttl: s-maxage ignored");
	T_EQ_INT(jwksfetch_ttl("no-storex, max-age=700"), 700, "ttl: unknown directive ignored");
}

/* ---- a one-shot HTTP server ------------------------------------------------- */

struct canned {
	const char	*head;		/* status line and headers, without the blank line */
	const char	*body;
	size_t		 body_len;	/* 0: strlen(body) */
	int		 delay;		/* seconds before answering */
};

static pid_t children[16];
static int nchildren;

/* Forks a server answering each canned response to one connection, in
 * order, then exiting.  Returns its port, 0 on failure. */
static int
serve(const struct canned *c, int n)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	char req[4096], hdr[256];
	int s, fd, i, one = 1;
	size_t blen;
	pid_t pid;

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(s, 4) == -1 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) == -1) {
		close(s);
		return 0;
	}
	fflush(stdout);
	if ((pid = fork()) == -1) {
		close(s);
		return 0;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		for (i = 0; i < n; i++) {
			if ((fd = accept(s, NULL, NULL)) == -1)
				_exit(1);
			if (read(fd, req, sizeof(req)) <= 0) {
				close(fd);
				continue;
			}
			if (c[i].delay)
				sleep((unsigned)c[i].delay);
			blen = c[i].body_len ? c[i].body_len : strlen(c[i].body);
			snprintf(hdr, sizeof(hdr), "%s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			    c[i].head, blen);
			if (write(fd, hdr, strlen(hdr)) < 0 || write(fd, c[i].body, blen) < 0) {
				/* the client gave up: fine */
			}
			close(fd);
		}
		_exit(0);
	}
	close(s);
	if (nchildren < 16)
		children[nchildren++] = pid;
	return ntohs(sa.sin_port);
}

static void
reap(void)
{
	int i;

	for (i = 0; i < nchildren; i++) {
		kill(children[i], SIGKILL);
		waitpid(children[i], NULL, 0);
	}
	nchildren = 0;
}

static const struct jwk *
only_key(const struct jwk_set *set)
{
	return set != NULL && set->n == 1 ? set->keys[0] : NULL;
}

static void
test_fetch(void)
{
	struct canned c[2];
	const struct jwk_set *set, *again;
	const char *why;
	char url[128], *big;
	struct timespec t0, t1;
	double secs;
	int port;

	/* Cached while fresh; the server answers only once. */
	memset(c, 0, sizeof(c));
	c[0].head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: max-age=120";
	c[0].body = jwks_a;
	port = serve(c, 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/jwks", port);
	set = jwksfetch_get(url, 0, T0, &why);
	T_OK(only_key(set) != NULL && strcmp(only_key(set)->kid, "a") == 0, "fetch: set served");
	again = jwksfetch_get(url, 0, T0 + 100, &why);
	T_OK(again == set, "fetch: cached within max-age");
	again = jwksfetch_get(url, 1, T0 + 5, &why);
	T_OK(again == set, "fetch: refresh inside the gap uses the cache");
	again = jwksfetch_get(url, 0, T0 + 121, &why);
	T_OK(again == NULL && strstr(why, "could not be fetched") != NULL,
	    "fetch: expired set refetched; server gone: failure");
	again = jwksfetch_get(url, 0, T0 + 125, &why);
	T_OK(again == NULL && strstr(why, "failed recently") != NULL,
	    "fetch: failure remembered for the gap");

	/* Key rotation: a refresh after the gap refetches. */
	c[0].head = "HTTP/1.1 200 OK\r\nCache-Control: max-age=3600";
	c[0].body = jwks_a;
	c[1].head = "HTTP/1.1 200 OK\r\nCache-Control: max-age=3600";
	c[1].body = jwks_b;
	port = serve(c, 2);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/rotating", port);
	set = jwksfetch_get(url, 0, T0, &why);
	T_OK(only_key(set) && strcmp(only_key(set)->kid, "a") == 0, "rotation: first set");
	set = jwksfetch_get(url, 1, T0 + 9, &why);
	T_OK(only_key(set) && strcmp(only_key(set)->kid, "a") == 0, "rotation: no refetch inside gap");
	set = jwksfetch_get(url, 1, T0 + 10, &why);
	T_OK(only_key(set) && strcmp(only_key(set)->kid, "b") == 0, "rotation: new kid after gap");
	set = jwksfetch_get(url, 1, T0 + 30, &why);
	T_OK(only_key(set) && strcmp(only_key(set)->kid, "b") == 0,
	    "rotation: failed refresh keeps the fresh set");

	/* Junk, status, size. */
	memset(c, 0, sizeof(c));
	c[0].head = "HTTP/1.1 200 OK\r\nContent-Type: text/html";
	c[0].body = "<html>not a key set</html>";
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/junk", serve(c, 1));
	T_OK(jwksfetch_get(url, 0, T0, &why) == NULL && strstr(why, "did not serve a JWKS"),
	    "junk: HTML refused");
	c[0].body = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}";
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/oct", serve(c, 1));
	T_OK(jwksfetch_get(url, 0, T0, &why) == NULL && strstr(why, "no usable key"),
	    "junk: symmetric key only refused");
	c[0].body = "{\"keys\":[],\"keys\":[]}";
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/dup", serve(c, 1));
	T_OK(jwksfetch_get(url, 0, T0, &why) == NULL, "junk: duplicate members refused");
	c[0].head = "HTTP/1.1 404 Not Found";
	c[0].body = jwks_a;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/404", serve(c, 1));
	T_OK(jwksfetch_get(url, 0, T0, &why) == NULL && strstr(why, "did not answer 200"),
	    "status 404 refused");
	big = malloc(JWKSFETCH_MAX_BYTES + 100);
	memset(big, ' ', JWKSFETCH_MAX_BYTES + 100);
	memcpy(big, jwks_a, strlen(jwks_a));
	c[0].head = "HTTP/1.1 200 OK";
	c[0].body = big;
	c[0].body_len = JWKSFETCH_MAX_BYTES + 100;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/big", serve(c, 1));
	T_OK(jwksfetch_get(url, 0, T0, &why) == NULL && strstr(why, "too large"),
	    "body over 64 KiB refused");
	free(big);
	c[0].body_len = 0;

	/* Redirect to plain http is not followed. */
	c[0].head = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/jwks";
	c[0].body = "";
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/redirect", serve(c, 1));
	T_OK(jwksfetch_get(url, 0, T0, &why) == NULL, "redirect to http refused");

	/* A stalled server: bounded by the timeout. */
	c[0].head = "HTTP/1.1 200 OK";
	c[0].body = jwks_a;
	c[0].delay = 5;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", serve(c, 1));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	set = jwksfetch_get(url, 0, T0, &why);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	T_OK(set == NULL && strstr(why, "in time") != NULL, "stalled server: timeout");
	T_OK(secs < 4.0, "stalled server: answered within the bound");

	/* Policy applies before any connection. */
	T_OK(jwksfetch_get("http://keys.example/jwks", 0, T0, &why) == NULL &&
	    strstr(why, "https"), "http to a remote host refused");
	jwksfetch_flush();
	reap();
}

/* ---- setup ------------------------------------------------------------------ */

static char *
one_key_jwks(EVP_PKEY *pk, const char *kid)
{
	struct jwk *k = jwk_new(pk, NULL);
	struct jwk *ks[1] = { k };
	struct jwk_set tmp = { ks, 1 };
	cJSON *doc = jwk_set_public_json(&tmp), *key;
	char *s;

	key = cJSON_GetArrayItem(json_get_arr(doc, "keys"), 0);
	cJSON_ReplaceItemInObjectCaseSensitive(key, "kid", cJSON_CreateString(kid));
	s = json_print(doc);
	cJSON_Delete(doc);
	jwk_free(k);
	return s;
}

int main(void);

int
main(void)
{
	EVP_PKEY *pa, *pb;

	log_set_level(LOGL_ERROR);
	pa = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	pb = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (pa == NULL || pb == NULL || (jwks_a = one_key_jwks(pa, "a")) == NULL ||
	    (jwks_b = one_key_jwks(pb, "b")) == NULL || jwksfetch_init() == -1) {
		printf("Bail out! setup\n");
		return 99;
	}
	test_policy();
	test_fetch();
	free(jwks_a);
	free(jwks_b);
	EVP_PKEY_free(pa);
	EVP_PKEY_free(pb);
	return t_done();
}
