/*
 * jwk_test: RFC 7638 thumbprints, the key directory (good keys, empty,
 * garbage, weak and unsupported keys, ordering), the published JWKS (no
 * private member), client JWKS parsing (unknown and private members,
 * off-curve points, duplicate kids) and algorithm fitting.
 *
 * Keys are generated here with OpenSSL; key files live in a temporary
 * directory removed at the end.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include "crypto.h"
#include "json.h"
#include "jwk.h"
#include "log.h"
#include "t.h"

/* RFC 7638 §3.1. */
static const char rfc7638_n[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7a"
    "PFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArw"
    "l93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0z"
    "gdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2N"
    "cRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
static const char rfc7638_tp[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

static EVP_PKEY *rsa2048, *rsa2048b, *rsa1024, *p256, *p384, *p521, *k256,
    *ed25519;

/* ---- helpers ---------------------------------------------------------- */

static FILE *log_capture;

static void
capture_start(void)
{
	log_capture = tmpfile();
	log_set_stream(log_capture);
}

/* Stops capturing; returns the captured text (static buffer). */
static const char *
capture_stop(void)
{
	static char buf[8192];
	size_t n = 0;

	buf[0] = '\0';
	log_set_stream(NULL);
	if (log_capture != NULL) {
		rewind(log_capture);
		n = fread(buf, 1, sizeof(buf) - 1, log_capture);
		buf[n] = '\0';
		fclose(log_capture);
		log_capture = NULL;
	}
	return buf;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

static cJSON *
parse(const char *s)
{
	return json_parse_strict(s, strlen(s), NULL);
}

static char dirs[16][64];
static size_t ndirs;

static const char *
dir_new(void)
{
	char *d;

	if (ndirs >= sizeof(dirs) / sizeof(dirs[0]))
		exit(99);
	d = dirs[ndirs++];
	const char *tmp = getenv("TMPDIR");

	snprintf(d, 64, "%s/jwk_test.XXXXXX", tmp && *tmp && strlen(tmp) < 40 ?
	    tmp : "/tmp");
	if (mkdtemp(d) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	return d;
}

static void
dirs_remove(void)
{
	char path[256];
	struct dirent *de;
	size_t i;
	DIR *dp;

	for (i = 0; i < ndirs; i++) {
		if ((dp = opendir(dirs[i])) == NULL)
			continue;
		while ((de = readdir(dp)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", dirs[i],
			    de->d_name) < (int)sizeof(path))
				unlink(path);
		}
		closedir(dp);
		if (rmdir(dirs[i]) == -1)
			fprintf(stderr, "could not remove %s\n", dirs[i]);
	}
}

/* Writes pkey (PKCS#8, or traditional) or text to dir/name with mode and
 * modification time mtime (0: leave). */
static void
put_file(const char *dir, const char *name, EVP_PKEY *pkey, int trad,
    const char *text, mode_t mode, time_t mtime)
{
	char path[256];
	struct timespec ts[2];
	BIO *b;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((b = BIO_new_file(path, "w")) == NULL)
		exit(99);
	if (pkey != NULL)
		ok = trad ? PEM_write_bio_PrivateKey_traditional(b, pkey, NULL,
		    NULL, 0, NULL, NULL) : PEM_write_bio_PrivateKey(b, pkey,
		    NULL, NULL, 0, NULL, NULL);
	else
		ok = BIO_puts(b, text) >= 0;
	BIO_free(b);
	if (!ok || chmod(path, mode) == -1)
		exit(99);
	if (mtime != 0) {
		ts[0].tv_sec = ts[1].tv_sec = mtime;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		if (utimensat(AT_FDCWD, path, ts, 0) == -1)
			exit(99);
	}
}

static const char *
basename_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* ---- thumbprints ------------------------------------------------------ */

static void
test_rfc7638(void)
{
	char buf[1024], tp[64];
	struct jwk_set *set;
	cJSON *j;

	snprintf(buf, sizeof(buf),
	    "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}]}",
	    rfc7638_n);
	j = parse(buf);
	set = jwk_set_parse(j);
	T_OK(set != NULL && set->n == 1, "RFC 7638 key parses");
	if (set != NULL && set->n == 1) {
		T_EQ_STR(set->keys[0]->kid, rfc7638_tp,
		    "RFC 7638 §3.1 thumbprint as kid");
		T_EQ_INT(jwk_thumbprint(set->keys[0]->pkey, tp, sizeof(tp)), 0,
		    "jwk_thumbprint");
		T_EQ_STR(tp, rfc7638_tp, "jwk_thumbprint RFC 7638 §3.1");
		T_EQ_INT(jwk_thumbprint(set->keys[0]->pkey, tp, 43), -1,
		    "thumbprint buffer too small");
		T_EQ_INT(set->keys[0]->has_private, 0, "public only");
		T_EQ_STR(set->keys[0]->alg, "", "no alg given: unrestricted");
	}
	jwk_set_free(set);
	cJSON_Delete(j);

	/* The RFC's full example: kid and alg kept as given. */
	snprintf(buf, sizeof(buf),
	    "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\","
	    "\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}]}", rfc7638_n);
	j = parse(buf);
	set = jwk_set_parse(j);
	T_OK(set != NULL && set->n == 1, "RFC 7638 key with kid parses");
	if (set != NULL && set->n == 1) {
		T_EQ_STR(set->keys[0]->kid, "2011-04-29", "given kid kept");
		T_EQ_STR(set->keys[0]->alg, "RS256", "given alg kept");
		T_EQ_INT(jwk_thumbprint(set->keys[0]->pkey, tp, sizeof(tp)), 0,
		    "thumbprint ignores kid and alg");
		T_EQ_STR(tp, rfc7638_tp, "thumbprint ignores kid and alg value");
	}
	jwk_set_free(set);
	cJSON_Delete(j);

	T_EQ_INT(jwk_thumbprint(ed25519, tp, sizeof(tp)), -1,
	    "thumbprint of Ed25519 refused");
	T_EQ_INT(jwk_thumbprint(k256, tp, sizeof(tp)), -1,
	    "thumbprint of secp256k1 refused");
}

/* ---- key directory ---------------------------------------------------- */

static void
test_load_dir(void)
{
	struct jwk_set *set;
	const struct jwk *k;
	const char *d, *log;
	char tp[64];
	size_t i;
	time_t t0 = 1700000000;

	/* Good keys, both PEM flavours, mtimes out of name order. */
	d = dir_new();
	put_file(d, "a-rsa.pem", rsa2048, 0, NULL, 0600, t0 + 100);
	put_file(d, "b-p256.key", p256, 1, NULL, 0600, t0 + 300);
	put_file(d, "c-p384.pem", p384, 0, NULL, 0600, t0 + 200);
	put_file(d, "d-p521.pem", p521, 1, NULL, 0600, t0);
	put_file(d, "e-rsa-newer.pem", rsa2048b, 1, NULL, 0600, t0 + 300);
	put_file(d, "README", NULL, 0, "not a key, not a key name\n", 0644, 0);
	put_file(d, ".hidden.pem", NULL, 0, "garbage\n", 0600, 0);
	put_file(d, "notes.pem.txt", NULL, 0, "garbage\n", 0600, 0);
	set = jwk_set_load_dir(d);
	T_OK(set != NULL, "load_dir with good keys");
	T_EQ_INT(set ? set->n : 0, 5, "load_dir loads the five keys only");
	if (set != NULL && set->n == 5) {
		/* t0+300 twice: name descending breaks the tie. */
		T_EQ_STR(basename_of(set->keys[0]->path), "e-rsa-newer.pem",
		    "newest first (tie broken by name)");
		T_EQ_STR(basename_of(set->keys[1]->path), "b-p256.key",
		    "second newest");
		T_EQ_STR(basename_of(set->keys[2]->path), "c-p384.pem",
		    "third");
		T_EQ_STR(basename_of(set->keys[3]->path), "a-rsa.pem",
		    "fourth");
		T_EQ_STR(basename_of(set->keys[4]->path), "d-p521.pem",
		    "oldest last");
		T_EQ_INT(set->keys[4]->mtime, t0, "mtime recorded");
		for (i = 0; i < set->n; i++) {
			T_OK(set->keys[i]->has_private, "loaded key is private");
			T_EQ_INT(jwk_thumbprint(set->keys[i]->pkey, tp,
			    sizeof(tp)), 0, "thumbprint of loaded key");
			T_EQ_STR(set->keys[i]->kid, tp, "kid is the thumbprint");
		}
		T_EQ_STR(set->keys[0]->alg, "RS256", "RSA key restricted to RS256");
		T_EQ_STR(set->keys[1]->alg, "ES256", "P-256 key restricted to ES256");
		T_EQ_INT(set->keys[2]->curve_nid, NID_secp384r1, "P-384 curve");

		k = jwk_set_signer(set, "RS256");
		T_OK(k == set->keys[0], "RS256 signer is the newest RSA key");
		k = jwk_set_signer(set, "ES256");
		T_OK(k == set->keys[1], "ES256 signer is the P-256 key");
		k = jwk_set_signer(set, "ES384");
		T_OK(k == set->keys[2], "ES384 signer is the P-384 key");
		k = jwk_set_signer(set, "ES512");
		T_OK(k == set->keys[4], "ES512 signer is the P-521 key");
		T_OK(jwk_set_signer(set, "RS384") == NULL,
		    "no RS384 signer: RSA keys are published as RS256");
		T_OK(jwk_set_signer(set, "none") == NULL, "no signer for none");
		T_OK(jwk_set_signer(set, "HS256") == NULL, "no signer for HS256");
		T_OK(jwk_set_signer(set, NULL) == NULL, "no signer for NULL");
	}
	jwk_set_free(set);

	/* Empty directory. */
	d = dir_new();
	capture_start();
	set = jwk_set_load_dir(d);
	log = capture_stop();
	T_OK(set == NULL, "empty directory refused");
	T_OK(strstr(log, "no signing keys in") != NULL,
	    "empty directory reason logged");

	/* Only non-key names: still empty. */
	put_file(d, "README", NULL, 0, "hello\n", 0644, 0);
	set = jwk_set_load_dir(d);
	T_OK(set == NULL, "directory without key names refused");

	/* Garbage next to a good key. */
	d = dir_new();
	put_file(d, "good.pem", p256, 0, NULL, 0600, 0);
	put_file(d, "garbage.pem", NULL, 0, "-----BEGIN PRIVATE KEY-----\n"
	    "bm90IGEga2V5\n-----END PRIVATE KEY-----\n", 0600, 0);
	capture_start();
	set = jwk_set_load_dir(d);
	log = capture_stop();
	T_OK(set == NULL, "garbage key file refuses the load");
	T_EQ_INT(count_lines(log), 1, "garbage: one log line");
	T_OK(strstr(log, "garbage.pem") != NULL, "garbage: line names the file");

	/* A certificate or public key is not a private key. */
	d = dir_new();
	{
		BIO *b = BIO_new(BIO_s_mem());
		char *pem = NULL;
		long n;

		PEM_write_bio_PUBKEY(b, p256);
		n = BIO_get_mem_data(b, &pem);
		pem[n - 1] = '\0';
		put_file(d, "pub.pem", NULL, 0, pem, 0600, 0);
		BIO_free(b);
	}
	set = jwk_set_load_dir(d);
	T_OK(set == NULL, "public key file refused");

	/* Weak RSA. */
	d = dir_new();
	put_file(d, "good.pem", rsa2048, 0, NULL, 0600, 0);
	put_file(d, "weak.pem", rsa1024, 0, NULL, 0600, 0);
	capture_start();
	set = jwk_set_load_dir(d);
	log = capture_stop();
	T_OK(set == NULL, "1024-bit RSA key refused");
	T_OK(strstr(log, "weak.pem") != NULL &&
	    strstr(log, "2048") != NULL, "1024-bit reason names file and size");
	T_EQ_INT(count_lines(log), 1, "1024-bit: one log line");

	/* Unsupported curve and key type. */
	d = dir_new();
	put_file(d, "k1.pem", k256, 0, NULL, 0600, 0);
	set = jwk_set_load_dir(d);
	T_OK(set == NULL, "secp256k1 key refused");
	d = dir_new();
	put_file(d, "ed.pem", ed25519, 0, NULL, 0600, 0);
	set = jwk_set_load_dir(d);
	T_OK(set == NULL, "Ed25519 key refused");

	/* Encrypted key: refused, never prompts. */
	d = dir_new();
	{
		char path[256];
		BIO *b;

		snprintf(path, sizeof(path), "%s/enc.pem", d);
		b = BIO_new_file(path, "w");
		PEM_write_bio_PKCS8PrivateKey(b, p256, EVP_aes_128_cbc(), NULL,
		    0, NULL, (void *)(uintptr_t)"passphrase");
		BIO_free(b);
		chmod(path, 0600);
	}
	set = jwk_set_load_dir(d);
	T_OK(set == NULL, "encrypted key refused without prompting");

	/* World-readable: loaded with a warning.  The same key twice: the
	 * older copy is dropped. */
	d = dir_new();
	put_file(d, "open.pem", p256, 0, NULL, 0644, t0 + 10);
	put_file(d, "copy.pem", p256, 1, NULL, 0600, t0);
	capture_start();
	set = jwk_set_load_dir(d);
	log = capture_stop();
	T_OK(set != NULL && set->n == 1, "world-readable key loads; copy dropped");
	T_OK(strstr(log, "world-readable") != NULL, "world-readable warned");
	T_OK(strstr(log, "same key") != NULL, "duplicate key warned");
	jwk_set_free(set);

	T_OK(jwk_set_load_dir("/nonexistent/smartauth-keys") == NULL,
	    "missing directory refused");
	T_OK(jwk_set_load_dir(NULL) == NULL, "NULL directory refused");
}

/* ---- published JWKS --------------------------------------------------- */

static void
test_public_json(void)
{
	static const char *const private_members[] = {
		"d", "p", "q", "dp", "dq", "qi", "oth", "k"
	};
	struct jwk_set set, *back;
	struct jwk *keys[4];
	const cJSON *arr, *el;
	cJSON *j;
	char *s;
	size_t i, m;
	int leak = 0;

	keys[0] = jwk_new(rsa2048, NULL);
	keys[1] = jwk_new(p256, NULL);
	keys[2] = jwk_new(p384, NULL);
	keys[3] = jwk_new(p521, NULL);
	set.keys = keys;
	set.n = 4;
	j = jwk_set_public_json(&set);
	T_OK(j != NULL, "public JSON");
	arr = json_get_arr(j, "keys");
	T_EQ_INT(cJSON_GetArraySize(arr), 4, "public JSON has four keys");
	cJSON_ArrayForEach(el, arr)
		for (m = 0; m < sizeof(private_members) /
		    sizeof(private_members[0]); m++)
			if (cJSON_GetObjectItemCaseSensitive(el,
			    private_members[m]) != NULL)
				leak = 1;
	T_OK(!leak, "public JSON has no private member");
	el = cJSON_GetArrayItem(arr, 0);
	T_EQ_STR(json_get_str(el, "kty"), "RSA", "RSA kty");
	T_EQ_STR(json_get_str(el, "use"), "sig", "RSA use");
	T_EQ_STR(json_get_str(el, "alg"), "RS256", "RSA alg");
	T_EQ_STR(json_get_str(el, "e"), "AQAB", "RSA e");
	T_EQ_INT(strlen(json_get_str(el, "n") ? json_get_str(el, "n") : ""),
	    342, "RSA n is 256 bytes");
	T_EQ_STR(json_get_str(el, "kid"), keys[0]->kid, "RSA kid");
	el = cJSON_GetArrayItem(arr, 1);
	T_EQ_STR(json_get_str(el, "crv"), "P-256", "P-256 crv");
	T_EQ_STR(json_get_str(el, "alg"), "ES256", "P-256 alg");
	T_EQ_INT(strlen(json_get_str(el, "x")), 43, "P-256 x full length");
	T_EQ_INT(strlen(json_get_str(el, "y")), 43, "P-256 y full length");
	el = cJSON_GetArrayItem(arr, 2);
	T_EQ_STR(json_get_str(el, "alg"), "ES384", "P-384 alg");
	T_EQ_INT(strlen(json_get_str(el, "x")), 64, "P-384 x full length");
	el = cJSON_GetArrayItem(arr, 3);
	T_EQ_STR(json_get_str(el, "crv"), "P-521", "P-521 crv");
	T_EQ_STR(json_get_str(el, "alg"), "ES512", "P-521 alg");
	T_EQ_INT(strlen(json_get_str(el, "x")), 88, "P-521 x full length");
	T_EQ_INT(strlen(json_get_str(el, "y")), 88, "P-521 y full length");

	/* What we publish parses back to the same keys and kids. */
	s = json_print(j);
	cJSON_Delete(j);
	j = parse(s);
	free(s);
	back = jwk_set_parse(j);
	T_OK(back != NULL && back->n == 4, "published JWKS parses back");
	for (i = 0; back != NULL && i < back->n && i < 4; i++) {
		T_EQ_STR(back->keys[i]->kid, keys[i]->kid, "kid round trip");
		T_OK(EVP_PKEY_eq(back->keys[i]->pkey, keys[i]->pkey) == 1,
		    "public key round trip");
		T_EQ_INT(back->keys[i]->has_private, 0, "parsed key is public");
	}
	jwk_set_free(back);
	cJSON_Delete(j);
	for (i = 0; i < 4; i++)
		jwk_free(keys[i]);
}

/* ---- client JWKS ------------------------------------------------------ */

/* Public members of pkey as a JSON object string body, for building
 * adversarial documents. */
static void
pub_members(EVP_PKEY *pkey, char *out, size_t outsz)
{
	struct jwk *k = jwk_new(pkey, NULL);
	struct jwk_set set = { &k, 1 };
	cJSON *j = jwk_set_public_json(&set);
	cJSON *el = cJSON_GetArrayItem(json_get_arr(j, "keys"), 0);
	char *s;

	cJSON_DeleteItemFromObjectCaseSensitive(el, "kid");
	cJSON_DeleteItemFromObjectCaseSensitive(el, "alg");
	cJSON_DeleteItemFromObjectCaseSensitive(el, "use");
	s = json_print(el);
	/* Drop the braces. */
	snprintf(out, outsz, "%.*s", (int)strlen(s) - 2, s + 1);
	free(s);
	cJSON_Delete(j);
	jwk_free(k);
}

/* n and e of any RSA key, weak ones included (jwk_new refuses those). */
static void
rsa_members(EVP_PKEY *pkey, char *out, size_t outsz)
{
	BIGNUM *n = NULL, *e = NULL;
	unsigned char buf[1024];
	char *n64, *e64;
	int len;

	EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n);
	EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e);
	len = BN_bn2bin(n, buf);
	n64 = b64url_encode(buf, (size_t)len);
	len = BN_bn2bin(e, buf);
	e64 = b64url_encode(buf, (size_t)len);
	snprintf(out, outsz, "\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"",
	    n64, e64);
	free(n64);
	free(e64);
	BN_free(n);
	BN_free(e);
}

/* The P-256 x and y with y's last bit flipped: off the curve. */
static void
off_curve(EVP_PKEY *pkey, char *out, size_t outsz)
{
	struct jwk *k = jwk_new(pkey, NULL);
	struct jwk_set set = { &k, 1 };
	cJSON *j = jwk_set_public_json(&set);
	cJSON *el = cJSON_GetArrayItem(json_get_arr(j, "keys"), 0);
	const char *y = json_get_str(el, "y");
	unsigned char *raw;
	size_t len = 0;
	char *y2;

	raw = b64url_decode(y, strlen(y), &len);
	raw[len - 1] ^= 1;
	y2 = b64url_encode(raw, len);
	snprintf(out, outsz, "\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\","
	    "\"y\":\"%s\"", json_get_str(el, "x"), y2);
	free(raw);
	free(y2);
	cJSON_Delete(j);
	jwk_free(k);
}

struct parse_row {
	const char	*name;
	char		 doc[4096];
	int		 set_ok;	/* jwk_set_parse returns a set */
	size_t		 n;		/* keys kept */
};

static void
test_parse(void)
{
	static struct parse_row rows[24];
	char rsa[1024], ec[512], ec384[512], weak[512], bad[512], k1[512];
	struct jwk_set *set;
	size_t i, nrows = 0;
	cJSON *j;

	pub_members(rsa2048, rsa, sizeof(rsa));
	pub_members(p256, ec, sizeof(ec));
	pub_members(p384, ec384, sizeof(ec384));
	rsa_members(rsa1024, weak, sizeof(weak));
	off_curve(p256, bad, sizeof(bad));
	snprintf(k1, sizeof(k1), "\"kty\":\"EC\",\"crv\":\"secp256k1\","
	    "\"x\":\"AAAA\",\"y\":\"AAAA\"");

#define ROW(nm, ok, cnt, ...) do { \
	rows[nrows].name = (nm); \
	snprintf(rows[nrows].doc, sizeof(rows[nrows].doc), __VA_ARGS__); \
	rows[nrows].set_ok = (ok); \
	rows[nrows].n = (cnt); \
	nrows++; \
} while (0)

	ROW("RSA and EC", 1, 2, "{\"keys\":[{%s},{%s}]}", rsa, ec);
	ROW("unknown members ignored", 1, 2, "{\"keys\":[{%s,\"key_ops\":"
	    "[\"verify\"],\"ext\":true,\"x5c\":[\"MIIB\"],\"whatever\":{}},"
	    "{%s,\"use\":\"sig\",\"alg\":\"ES256\",\"kid\":\"k1\"}],"
	    "\"other\":1}", rsa, ec);
	ROW("private member d skipped", 1, 1,
	    "{\"keys\":[{%s,\"d\":\"AAAA\"},{%s}]}", ec, rsa);
	ROW("private member p skipped", 1, 1,
	    "{\"keys\":[{%s,\"p\":\"AAAA\",\"q\":\"AAAA\"},{%s}]}", rsa, ec);
	ROW("private member qi skipped", 1, 0, "{\"keys\":[{%s,\"qi\":\"AA\"}]}",
	    rsa);
	ROW("symmetric key skipped", 1, 1, "{\"keys\":[{\"kty\":\"oct\","
	    "\"k\":\"c2VjcmV0\"},{%s}]}", ec);
	ROW("off-curve EC point refused", 1, 0, "{\"keys\":[{%s}]}", bad);
	ROW("off-curve next to good key", 1, 1, "{\"keys\":[{%s},{%s}]}", bad,
	    ec);
	ROW("use enc skipped", 1, 1, "{\"keys\":[{%s,\"use\":\"enc\"},{%s}]}",
	    rsa, ec);
	ROW("use not a string skipped", 1, 0, "{\"keys\":[{%s,\"use\":1}]}",
	    ec);
	ROW("kty OKP skipped", 1, 1, "{\"keys\":[{\"kty\":\"OKP\","
	    "\"crv\":\"Ed25519\",\"x\":\"AAAA\"},{%s}]}", ec);
	ROW("no kty skipped", 1, 0, "{\"keys\":[{\"n\":\"AQAB\",\"e\":\"AQAB\"}]}");
	ROW("secp256k1 skipped", 1, 0, "{\"keys\":[{%s}]}", k1);
	ROW("1024-bit RSA skipped", 1, 0, "{\"keys\":[{%s}]}", weak);
	ROW("kid not a string skipped", 1, 0, "{\"keys\":[{%s,\"kid\":7}]}", ec);
	ROW("kid too long skipped", 1, 0, "{\"keys\":[{%s,\"kid\":\"%064d\"}]}",
	    ec, 0);
	ROW("RSA e missing skipped", 1, 0,
	    "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\"}]}");
	ROW("entry not an object skipped", 1, 1, "{\"keys\":[1,\"x\",{%s}]}", ec);
	ROW("empty keys", 1, 0, "{\"keys\":[]}");
	ROW("keys not an array", 0, 0, "{\"keys\":{%s}}", ec);
	ROW("no keys member", 0, 0, "{\"key\":[{%s}]}", ec);
	ROW("not an object", 0, 0, "[{%s}]", ec);
#undef ROW

	for (i = 0; i < nrows; i++) {
		j = parse(rows[i].doc);
		if (j == NULL) {
			T_OK(0, rows[i].name);
			continue;
		}
		set = jwk_set_parse(j);
		T_EQ_INT(set != NULL, rows[i].set_ok, rows[i].name);
		if (set != NULL)
			T_EQ_INT(set->n, rows[i].n, rows[i].name);
		jwk_set_free(set);
		cJSON_Delete(j);
	}
	T_OK(jwk_set_parse(NULL) == NULL, "NULL JWKS");
	/* P-384 coordinates (48 bytes) under crv P-256. */
	{
		char doc[1024];

		snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"EC\","
		    "\"crv\":\"P-256\",%s}]}", ec384 +
		    strlen("\"kty\":\"EC\",\"crv\":\"P-384\","));
		j = parse(doc);
		set = jwk_set_parse(j);
		T_OK(set != NULL && set->n == 0,
		    "48-byte coordinates on P-256 skipped");
		jwk_set_free(set);
		cJSON_Delete(j);
	}
}

/* ---- find and alg fitting --------------------------------------------- */

static void
test_find(void)
{
	char rsa[1024], rsab[1024], ec[512], doc[4096];
	struct jwk_set *set;
	const struct jwk *k;
	cJSON *j;
	int amb;

	pub_members(rsa2048, rsa, sizeof(rsa));
	pub_members(rsa2048b, rsab, sizeof(rsab));
	pub_members(p256, ec, sizeof(ec));

	/* Two keys share kid "dup". */
	snprintf(doc, sizeof(doc), "{\"keys\":[{%s,\"kid\":\"dup\"},"
	    "{%s,\"kid\":\"dup\"},{%s,\"kid\":\"ec\",\"alg\":\"ES256\"}]}",
	    rsa, rsab, ec);
	j = parse(doc);
	set = jwk_set_parse(j);
	T_OK(set != NULL && set->n == 3, "duplicate kids both kept");
	amb = 0;
	T_OK(jwk_set_find(set, "dup", "RS256", &amb) == NULL,
	    "duplicate kid: no key");
	T_EQ_INT(amb, 1, "duplicate kid: ambiguous");
	amb = 7;
	k = jwk_set_find(set, "ec", "ES256", &amb);
	T_OK(k != NULL && k->kty == JWK_KTY_EC, "find by kid");
	T_EQ_INT(amb, 0, "find by kid: not ambiguous");
	T_OK(jwk_set_find(set, "ec", "ES384", &amb) == NULL,
	    "kid found, alg of another curve");
	T_OK(jwk_set_find(set, "ec", "RS256", &amb) == NULL,
	    "kid found, alg of another kty");
	T_OK(jwk_set_find(set, "nope", "ES256", &amb) == NULL && amb == 0,
	    "wrong kid");
	T_OK(jwk_set_find(set, "EC", "ES256", &amb) == NULL,
	    "kid compared case-sensitively");
	T_OK(jwk_set_find(set, "", "ES256", &amb) == NULL, "empty kid");
	k = jwk_set_find(set, NULL, "ES256", &amb);
	T_OK(k != NULL && strcmp(k->kid, "ec") == 0,
	    "no kid: the single ES256 key");
	T_OK(jwk_set_find(set, NULL, "RS256", &amb) == NULL && amb == 1,
	    "no kid: two RSA keys are ambiguous");
	T_OK(jwk_set_find(set, NULL, "ES512", &amb) == NULL && amb == 0,
	    "no kid: nothing fits ES512");
	T_OK(jwk_set_find(NULL, "ec", "ES256", NULL) == NULL, "NULL set");
	jwk_set_free(set);
	cJSON_Delete(j);
}

static const struct fit_row {
	const char	*name;
	int		 key;		/* index into fit_keys */
	const char	*alg;
	int		 fits;
} fit_rows[] = {
	{ "RSA RS256", 0, "RS256", 1 },
	{ "RSA RS384", 0, "RS384", 1 },
	{ "RSA RS512", 0, "RS512", 1 },
	{ "RSA ES256", 0, "ES256", 0 },
	{ "RSA PS256", 0, "PS256", 0 },
	{ "RSA HS256", 0, "HS256", 0 },
	{ "RSA none", 0, "none", 0 },
	{ "RSA empty alg", 0, "", 0 },
	{ "RSA NULL alg", 0, NULL, 0 },
	{ "RSA lowercase rs256", 0, "rs256", 0 },
	{ "RSA alg with suffix", 0, "RS256 ", 0 },
	{ "P-256 ES256", 1, "ES256", 1 },
	{ "P-256 ES384", 1, "ES384", 0 },
	{ "P-256 RS256", 1, "RS256", 0 },
	{ "P-384 ES384", 2, "ES384", 1 },
	{ "P-384 ES256", 2, "ES256", 0 },
	{ "P-521 ES512", 3, "ES512", 1 },
	{ "P-521 ES384", 3, "ES384", 0 },
	{ "RSA restricted to RS384: RS384", 4, "RS384", 1 },
	{ "RSA restricted to RS384: RS256", 4, "RS256", 0 },
	{ "P-256 restricted to ES384 (mismatch)", 5, "ES256", 0 },
	{ "P-256 restricted to ES384: ES384", 5, "ES384", 0 },
};

static void
test_fits(void)
{
	struct jwk *fit_keys[6];
	size_t i;

	fit_keys[0] = jwk_new(rsa2048, NULL);
	fit_keys[1] = jwk_new(p256, "");
	fit_keys[2] = jwk_new(p384, NULL);
	fit_keys[3] = jwk_new(p521, NULL);
	fit_keys[4] = jwk_new(rsa2048, "RS384");
	fit_keys[5] = jwk_new(p256, "ES384");
	for (i = 0; i < sizeof(fit_rows) / sizeof(fit_rows[0]); i++)
		T_EQ_INT(jwk_alg_fits(fit_keys[fit_rows[i].key],
		    fit_rows[i].alg), fit_rows[i].fits, fit_rows[i].name);
	T_EQ_INT(jwk_alg_fits(NULL, "RS256"), 0, "NULL key");
	T_OK(fit_keys[0]->has_private, "jwk_new on a private key");
	T_OK(jwk_new(rsa1024, NULL) == NULL, "jwk_new refuses 1024-bit RSA");
	T_OK(jwk_new(ed25519, NULL) == NULL, "jwk_new refuses Ed25519");
	T_OK(jwk_new(p256, "TOOLONGALG") == NULL, "jwk_new refuses long alg");
	for (i = 0; i < 6; i++)
		jwk_free(fit_keys[i]);
	jwk_free(NULL);
	jwk_set_free(NULL);
}

int main(void);

int
main(void)
{
	log_set_level(LOGL_WARN);
	rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	rsa2048b = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	k256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!rsa2048 || !rsa2048b || !rsa1024 || !p256 || !p384 || !p521 ||
	    !k256 || !ed25519) {
		printf("Bail out! key generation failed\n");
		return 99;
	}
	test_rfc7638();
	test_load_dir();
	test_public_json();
	test_parse();
	test_find();
	test_fits();
	dirs_remove();
	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(rsa2048b);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(k256);
	EVP_PKEY_free(ed25519);
	return t_done();
}
