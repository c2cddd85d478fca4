/*
 * jwk: key files, JWKS documents, RFC 7638 thumbprints.  See jwk.h.
 *
 * Key material enters through two doors only: PEM files read whole into a
 * buffer that is wiped afterwards (jwk_set_load_dir), and public members
 * of a client JWKS rebuilt with OSSL_PARAM_BLD/EVP_PKEY_fromdata and
 * checked with EVP_PKEY_public_check (jwk_set_parse).  It leaves through
 * one: jwk_set_public_json, which reads the public parameters only.
 *
 * Never prompts for a passphrase (encrypted PEM is refused), never logs
 * key material or file contents.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "crypto.h"
#include "json.h"
#include "jwk.h"
#include "log.h"

#define JWK_RSA_MIN_BITS	2048
#define JWK_RSA_MAX_BITS	8192
#define JWK_FILE_MAX		(64 * 1024)

/* RFC 7518 §3.1: the JWS algorithms this server signs and verifies. */
static const struct jwk_alg {
	const char	*name;
	enum jwk_kty	 kty;
	int		 nid;
	const char	*digest;
} jwk_algs[] = {
	{ "RS256", JWK_KTY_RSA, NID_undef, "SHA256" },
	{ "RS384", JWK_KTY_RSA, NID_undef, "SHA384" },
	{ "RS512", JWK_KTY_RSA, NID_undef, "SHA512" },
	{ "ES256", JWK_KTY_EC, NID_X9_62_prime256v1, "SHA256" },
	{ "ES384", JWK_KTY_EC, NID_secp384r1, "SHA384" },
	{ "ES512", JWK_KTY_EC, NID_secp521r1, "SHA512" },
};

/* RFC 7518 §6.2.1.1 curve names. */
static const struct jwk_curve {
	int		 nid;
	const char	*crv;
	size_t		 size;
	const char	*alg;
} jwk_curves[] = {
	{ NID_X9_62_prime256v1, "P-256", 32, "ES256" },
	{ NID_secp384r1, "P-384", 48, "ES384" },
	{ NID_secp521r1, "P-521", 66, "ES512" },
};

/* Members that only a private or symmetric JWK has (RFC 7518 §6.2.2,
 * §6.3.2, §6.4.1). */
static const char *const jwk_private_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k"
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

int
jwk_alg_lookup(const char *alg, enum jwk_kty *kty, int *curve_nid,
    const char **digest)
{
	size_t i;

	if (alg == NULL)
		return -1;
	for (i = 0; i < NELEM(jwk_algs); i++)
		if (strcmp(alg, jwk_algs[i].name) == 0) {
			if (kty != NULL)
				*kty = jwk_algs[i].kty;
			if (curve_nid != NULL)
				*curve_nid = jwk_algs[i].nid;
			if (digest != NULL)
				*digest = jwk_algs[i].digest;
			return 0;
		}
	return -1;
}

static const struct jwk_curve *
jwk_curve_by_nid(int nid)
{
	size_t i;

	for (i = 0; i < NELEM(jwk_curves); i++)
		if (jwk_curves[i].nid == nid)
			return &jwk_curves[i];
	return NULL;
}

static const struct jwk_curve *
jwk_curve_by_crv(const char *crv)
{
	size_t i;

	for (i = 0; i < NELEM(jwk_curves); i++)
		if (strcmp(jwk_curves[i].crv, crv) == 0)
			return &jwk_curves[i];
	return NULL;
}

size_t
jwk_ec_coord_size(int curve_nid)
{
	const struct jwk_curve *c = jwk_curve_by_nid(curve_nid);

	return c == NULL ? 0 : c->size;
}

/* Curve of an EC key, NID_undef when it has none we can name (explicit
 * parameters included). */
static int
jwk_pkey_curve(const EVP_PKEY *pkey)
{
	char name[64];
	size_t len = 0;
	int nid;

	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    name, sizeof(name), &len) != 1) {
		ERR_clear_error();
		return NID_undef;
	}
	if ((nid = OBJ_sn2nid(name)) == NID_undef)
		nid = EC_curve_nist2nid(name);
	return nid;
}

/*
 * Classifies pkey; NULL when supported (kty and nid stored), else the
 * reason it is not.
 */
static const char *
jwk_classify(const EVP_PKEY *pkey, enum jwk_kty *kty, int *nid)
{
	int bits;

	if (EVP_PKEY_is_a(pkey, "RSA")) {
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < JWK_RSA_MIN_BITS)
			return "RSA key shorter than 2048 bits";
		if (bits > JWK_RSA_MAX_BITS)
			return "RSA key longer than 8192 bits";
		*kty = JWK_KTY_RSA;
		*nid = NID_undef;
		return NULL;
	}
	if (EVP_PKEY_is_a(pkey, "EC")) {
		*nid = jwk_pkey_curve(pkey);
		if (jwk_curve_by_nid(*nid) == NULL)
			return "EC key not on P-256, P-384 or P-521";
		*kty = JWK_KTY_EC;
		return NULL;
	}
	return "not an RSA or EC key";
}

static int
jwk_pkey_has_private(const EVP_PKEY *pkey, enum jwk_kty kty)
{
	BIGNUM *d = NULL;
	int has;

	has = EVP_PKEY_get_bn_param(pkey, kty == JWK_KTY_RSA ?
	    OSSL_PKEY_PARAM_RSA_D : OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1;
	BN_clear_free(d);
	ERR_clear_error();
	return has;
}

/* Owned base64url of BIGNUM parameter name, left-padded with zeros to pad
 * bytes when pad > 0, minimal otherwise. */
static char *
jwk_bn_b64(const EVP_PKEY *pkey, const char *name, size_t pad)
{
	BIGNUM *bn = NULL;
	unsigned char *buf = NULL;
	char *out = NULL;
	int len;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) {
		log_openssl("EVP_PKEY_get_bn_param");
		return NULL;
	}
	len = pad > 0 ? (int)pad : BN_num_bytes(bn);
	if (len <= 0) {
		log_err("key parameter %s is zero", name);
		goto out;
	}
	if ((buf = malloc((size_t)len)) == NULL) {
		log_err("out of memory");
		goto out;
	}
	if (BN_bn2binpad(bn, buf, len) != len) {
		log_openssl("BN_bn2binpad");
		goto out;
	}
	out = b64url_encode(buf, (size_t)len);
out:
	free(buf);
	BN_free(bn);
	return out;
}

/*
 * Public members of a supported key in base64url: n and e for RSA, x and
 * y for EC.  Both owned; 0 or -1.
 */
static int
jwk_public_members(const EVP_PKEY *pkey, enum jwk_kty kty, int nid,
    char **a, char **b)
{
	size_t sz;

	*a = *b = NULL;
	if (kty == JWK_KTY_RSA) {
		*a = jwk_bn_b64(pkey, OSSL_PKEY_PARAM_RSA_N, 0);
		*b = jwk_bn_b64(pkey, OSSL_PKEY_PARAM_RSA_E, 0);
	} else {
		sz = jwk_ec_coord_size(nid);
		*a = jwk_bn_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_X, sz);
		*b = jwk_bn_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, sz);
	}
	if (*a == NULL || *b == NULL) {
		free(*a);
		free(*b);
		*a = *b = NULL;
		return -1;
	}
	return 0;
}

static int
jwk_thumbprint_of(const EVP_PKEY *pkey, enum jwk_kty kty, int nid,
    char *out, size_t outsz)
{
	cJSON *o = NULL;
	char *m1 = NULL, *m2 = NULL, *canon = NULL, *tp = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	int rc = -1;

	if (outsz < CRYPTO_TOKEN_LEN + 1) {
		log_err("thumbprint buffer too small");
		return -1;
	}
	if (jwk_public_members(pkey, kty, nid, &m1, &m2) == -1)
		return -1;
	/*
	 * RFC 7638 §3.2-3.3: the required members only, in lexicographic
	 * order, no whitespace.  cJSON keeps insertion order and base64url
	 * and the fixed names need no escaping, so its compact output is the
	 * canonical form.
	 */
	if ((o = cJSON_CreateObject()) == NULL)
		goto out;
	if (kty == JWK_KTY_RSA) {
		if (cJSON_AddStringToObject(o, "e", m2) == NULL ||
		    cJSON_AddStringToObject(o, "kty", "RSA") == NULL ||
		    cJSON_AddStringToObject(o, "n", m1) == NULL)
			goto out;
	} else {
		if (cJSON_AddStringToObject(o, "crv",
		    jwk_curve_by_nid(nid)->crv) == NULL ||
		    cJSON_AddStringToObject(o, "kty", "EC") == NULL ||
		    cJSON_AddStringToObject(o, "x", m1) == NULL ||
		    cJSON_AddStringToObject(o, "y", m2) == NULL)
			goto out;
	}
	if ((canon = json_print(o)) == NULL)
		goto out;
	if (crypto_digest(EVP_sha256(), canon, strlen(canon), md, NULL) == -1)
		goto out;
	if ((tp = b64url_encode(md, 32)) == NULL)
		goto out;
	memcpy(out, tp, strlen(tp) + 1);
	rc = 0;
out:
	if (rc == -1 && o == NULL)
		log_err("out of memory");
	cJSON_Delete(o);
	free(m1);
	free(m2);
	free(canon);
	free(tp);
	return rc;
}

int
jwk_thumbprint(EVP_PKEY *pkey, char *out, size_t outsz)
{
	enum jwk_kty kty;
	const char *why;
	int nid;

	if (pkey == NULL || out == NULL) {
		log_err("no key");
		return -1;
	}
	if ((why = jwk_classify(pkey, &kty, &nid)) != NULL) {
		log_err("%s", why);
		return -1;
	}
	return jwk_thumbprint_of(pkey, kty, nid, out, outsz);
}

/*
 * Owned jwk around pkey, whose reference it takes over (freed on
 * failure).  alg and kid may be NULL; kid NULL means the thumbprint.
 * Returns NULL with *why set (static, or "" after an internal error that
 * was logged already).
 */
static struct jwk *
jwk_make(EVP_PKEY *pkey, const char *alg, const char *kid, const char **why)
{
	struct jwk *k;

	*why = "";
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		log_err("out of memory");
		EVP_PKEY_free(pkey);
		return NULL;
	}
	k->pkey = pkey;
	if ((*why = jwk_classify(pkey, &k->kty, &k->curve_nid)) != NULL)
		goto fail;
	if (alg != NULL) {
		if (strlen(alg) >= sizeof(k->alg)) {
			*why = "alg too long";
			goto fail;
		}
		memcpy(k->alg, alg, strlen(alg) + 1);
	}
	if (kid != NULL) {
		if (strlen(kid) >= sizeof(k->kid)) {
			*why = "kid longer than 63 bytes";
			goto fail;
		}
		memcpy(k->kid, kid, strlen(kid) + 1);
	} else if (jwk_thumbprint_of(pkey, k->kty, k->curve_nid, k->kid,
	    sizeof(k->kid)) == -1) {
		*why = "";
		goto fail;
	}
	k->has_private = jwk_pkey_has_private(pkey, k->kty);
	*why = NULL;
	return k;
fail:
	jwk_free(k);
	return NULL;
}

struct jwk *
jwk_new(EVP_PKEY *pkey, const char *alg)
{
	struct jwk *k;
	const char *why;

	if (pkey == NULL) {
		log_err("no key");
		return NULL;
	}
	if (EVP_PKEY_up_ref(pkey) != 1) {
		log_openssl("EVP_PKEY_up_ref");
		return NULL;
	}
	if (alg != NULL && *alg == '\0')
		alg = NULL;
	if ((k = jwk_make(pkey, alg, NULL, &why)) == NULL && *why != '\0')
		log_err("%s", why);
	return k;
}

void
jwk_free(struct jwk *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k->path);
	free(k);
}

void
jwk_set_free(struct jwk_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		jwk_free(set->keys[i]);
	free(set->keys);
	free(set);
}

static int
jwk_set_add(struct jwk_set *set, struct jwk *k)
{
	struct jwk **nk;

	if (set->n >= SIZE_MAX / sizeof(*nk) - 1 ||
	    (nk = realloc(set->keys, (set->n + 1) * sizeof(*nk))) == NULL) {
		log_err("out of memory");
		return -1;
	}
	set->keys = nk;
	set->keys[set->n++] = k;
	return 0;
}

/* Refuses to prompt: encrypted key files are not supported. */
static int
jwk_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Reads the whole regular file at fd (at most JWK_FILE_MAX bytes). */
static unsigned char *
jwk_read_fd(int fd, size_t size, size_t *len, const char **why)
{
	unsigned char *buf;
	size_t got = 0;
	ssize_t r;

	if ((buf = malloc(size + 1)) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	while (got <= size) {
		r = read(fd, buf + got, size + 1 - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			*why = strerror(errno);
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got > size) {
		*why = "file grew while being read";
		goto fail;
	}
	*len = got;
	return buf;
fail:
	crypto_wipe(buf, size + 1);
	free(buf);
	return NULL;
}

/* Loads one key file; NULL after one log line naming it. */
static struct jwk *
jwk_load_file(const char *path)
{
	struct stat st;
	struct jwk *k = NULL;
	unsigned char *buf = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	const char *why = NULL;
	const struct jwk_curve *c;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		log_err("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		why = strerror(errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		why = "not a regular file";
		goto out;
	}
	if (st.st_size <= 0 || st.st_size > JWK_FILE_MAX) {
		why = st.st_size <= 0 ? "empty file" : "too large for a key file";
		goto out;
	}
	if ((buf = jwk_read_fd(fd, (size_t)st.st_size, &len, &why)) == NULL)
		goto out;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		why = "out of memory";
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, jwk_no_passphrase, NULL,
	    NULL, NULL);
	if (pkey == NULL) {
		ERR_clear_error();
		why = "not an unencrypted PEM private key";
		goto out;
	}
	/* Server keys are restricted to what the JWKS document says. */
	if ((k = jwk_make(pkey, NULL, NULL, &why)) == NULL) {
		pkey = NULL;
		goto out;
	}
	pkey = NULL;
	if (!k->has_private) {
		why = "no private key";
		goto out;
	}
	if (k->kty == JWK_KTY_RSA)
		memcpy(k->alg, "RS256", sizeof("RS256"));
	else if ((c = jwk_curve_by_nid(k->curve_nid)) != NULL)
		memcpy(k->alg, c->alg, strlen(c->alg) + 1);
	k->mtime = st.st_mtime;
	if ((k->path = strdup(path)) == NULL) {
		why = "out of memory";
		goto out;
	}
	if (st.st_mode & S_IROTH)
		log_warn("%s: key file is world-readable", path);
	why = NULL;
out:
	if (why != NULL) {
		if (*why != '\0')
			log_err("%s: %s", path, why);
		else
			log_err("%s: cannot use this key", path);
		jwk_free(k);
		k = NULL;
	}
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	if (buf != NULL) {
		crypto_wipe(buf, (size_t)st.st_size + 1);
		free(buf);
	}
	close(fd);
	return k;
}

static int
jwk_is_key_name(const char *name)
{
	size_t len = strlen(name);

	if (name[0] == '.')
		return 0;
	return (len > 4 && strcmp(name + len - 4, ".pem") == 0) ||
	    (len > 4 && strcmp(name + len - 4, ".key") == 0);
}

/* Newest first; equal times by path, descending. */
static int
jwk_cmp_age(const void *a, const void *b)
{
	const struct jwk *ka = *(const struct jwk *const *)a;
	const struct jwk *kb = *(const struct jwk *const *)b;

	if (ka->mtime != kb->mtime)
		return ka->mtime > kb->mtime ? -1 : 1;
	return -strcmp(ka->path, kb->path);
}

struct jwk_set *
jwk_set_load_dir(const char *dir)
{
	struct jwk_set *set = NULL;
	struct dirent *de;
	struct jwk *k;
	DIR *d = NULL;
	char *path = NULL;
	size_t i, j, plen;

	if (dir == NULL) {
		log_err("no key directory");
		return NULL;
	}
	if ((d = opendir(dir)) == NULL) {
		log_err("%s: %s", dir, strerror(errno));
		return NULL;
	}
	if ((set = calloc(1, sizeof(*set))) == NULL) {
		log_err("out of memory");
		goto fail;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				log_err("%s: %s", dir, strerror(errno));
				goto fail;
			}
			break;
		}
		if (!jwk_is_key_name(de->d_name))
			continue;
		plen = strlen(dir) + 1 + strlen(de->d_name) + 1;
		if ((path = malloc(plen)) == NULL) {
			log_err("out of memory");
			goto fail;
		}
		snprintf(path, plen, "%s/%s", dir, de->d_name);
		if ((k = jwk_load_file(path)) == NULL)
			goto fail;
		free(path);
		path = NULL;
		if (jwk_set_add(set, k) == -1) {
			jwk_free(k);
			goto fail;
		}
	}
	closedir(d);
	d = NULL;
	if (set->n == 0) {
		log_err("no signing keys in %s", dir);
		goto fail;
	}
	qsort(set->keys, set->n, sizeof(*set->keys), jwk_cmp_age);
	/* The same key twice would publish one kid twice. */
	for (i = 1; i < set->n; ) {
		for (j = 0; j < i; j++)
			if (strcmp(set->keys[i]->kid, set->keys[j]->kid) == 0)
				break;
		if (j == i) {
			i++;
			continue;
		}
		log_warn("%s: same key as %s, ignored", set->keys[i]->path,
		    set->keys[j]->path);
		jwk_free(set->keys[i]);
		memmove(&set->keys[i], &set->keys[i + 1],
		    (set->n - i - 1) * sizeof(*set->keys));
		set->n--;
	}
	return set;
fail:
	free(path);
	if (d != NULL)
		closedir(d);
	jwk_set_free(set);
	return NULL;
}

int
jwk_alg_fits(const struct jwk *k, const char *alg)
{
	enum jwk_kty kty;
	int nid;

	if (k == NULL || k->pkey == NULL ||
	    jwk_alg_lookup(alg, &kty, &nid, NULL) == -1)
		return 0;
	if (k->alg[0] != '\0' && strcmp(k->alg, alg) != 0)
		return 0;
	if (k->kty != kty)
		return 0;
	if (kty == JWK_KTY_RSA)
		return EVP_PKEY_is_a(k->pkey, "RSA") &&
		    EVP_PKEY_get_bits(k->pkey) >= JWK_RSA_MIN_BITS;
	return EVP_PKEY_is_a(k->pkey, "EC") && k->curve_nid == nid;
}

const struct jwk *
jwk_set_signer(const struct jwk_set *set, const char *alg)
{
	size_t i;

	if (set == NULL)
		return NULL;
	for (i = 0; i < set->n; i++)
		if (set->keys[i]->has_private &&
		    jwk_alg_fits(set->keys[i], alg))
			return set->keys[i];
	return NULL;
}

cJSON *
jwk_set_public_json(const struct jwk_set *set)
{
	cJSON *root, *arr, *o;
	const struct jwk_curve *c;
	const struct jwk *k;
	char *m1 = NULL, *m2 = NULL;
	const char *alg;
	size_t i;

	if (set == NULL)
		return NULL;
	if ((root = cJSON_CreateObject()) == NULL ||
	    (arr = cJSON_AddArrayToObject(root, "keys")) == NULL)
		goto oom;
	for (i = 0; i < set->n; i++) {
		k = set->keys[i];
		c = jwk_curve_by_nid(k->curve_nid);
		if (k->alg[0] != '\0')
			alg = k->alg;
		else
			alg = k->kty == JWK_KTY_RSA ? "RS256" : c->alg;
		if (jwk_public_members(k->pkey, k->kty, k->curve_nid,
		    &m1, &m2) == -1)
			goto fail;
		if ((o = cJSON_CreateObject()) == NULL)
			goto oom;
		cJSON_AddItemToArray(arr, o);
		if (cJSON_AddStringToObject(o, "kty",
		    k->kty == JWK_KTY_RSA ? "RSA" : "EC") == NULL ||
		    cJSON_AddStringToObject(o, "use", "sig") == NULL ||
		    cJSON_AddStringToObject(o, "kid", k->kid) == NULL ||
		    cJSON_AddStringToObject(o, "alg", alg) == NULL)
			goto oom;
		if (k->kty == JWK_KTY_RSA) {
			if (cJSON_AddStringToObject(o, "n", m1) == NULL ||
			    cJSON_AddStringToObject(o, "e", m2) == NULL)
				goto oom;
		} else if (cJSON_AddStringToObject(o, "crv", c->crv) == NULL ||
		    cJSON_AddStringToObject(o, "x", m1) == NULL ||
		    cJSON_AddStringToObject(o, "y", m2) == NULL)
			goto oom;
		free(m1);
		free(m2);
		m1 = m2 = NULL;
	}
	return root;
oom:
	log_err("out of memory");
fail:
	free(m1);
	free(m2);
	cJSON_Delete(root);
	return NULL;
}

/* Decodes a base64url member; NULL when absent, not a string or bad. */
static unsigned char *
jwk_member_bytes(const cJSON *o, const char *name, size_t *len)
{
	const char *s = json_get_str(o, name);

	if (s == NULL)
		return NULL;
	return b64url_decode(s, strlen(s), len);
}

static EVP_PKEY *
jwk_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
		log_openssl("OSSL_PARAM_BLD_to_param");
		goto out;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL) {
		log_openssl("EVP_PKEY_CTX_new_from_name");
		goto out;
	}
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		/* A point off the curve ends here: the caller says so. */
		ERR_clear_error();
		pkey = NULL;
	}
out:
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* RSA public key from n and e; NULL with *why. */
static EVP_PKEY *
jwk_rsa_from_json(const cJSON *o, const char **why)
{
	OSSL_PARAM_BLD *bld = NULL;
	unsigned char *n = NULL, *e = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	EVP_PKEY *pkey = NULL;
	size_t nlen = 0, elen = 0;

	if ((n = jwk_member_bytes(o, "n", &nlen)) == NULL ||
	    (e = jwk_member_bytes(o, "e", &elen)) == NULL) {
		*why = "RSA key without valid n and e";
		goto out;
	}
	if (nlen == 0 || nlen > JWK_RSA_MAX_BITS / 8 || elen == 0 ||
	    elen > 32) {
		*why = "RSA n or e out of range";
		goto out;
	}
	if ((bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)elen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1) {
		log_openssl("OSSL_PARAM_BLD_push_BN");
		*why = "";
		goto out;
	}
	if ((pkey = jwk_fromdata("RSA", bld)) == NULL)
		*why = "RSA key refused by OpenSSL";
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return pkey;
}

/* EC public key from crv, x and y; NULL with *why. */
static EVP_PKEY *
jwk_ec_from_json(const cJSON *o, const char **why)
{
	const struct jwk_curve *c;
	OSSL_PARAM_BLD *bld = NULL;
	unsigned char *x = NULL, *y = NULL, *pt = NULL;
	EVP_PKEY *pkey = NULL;
	const char *crv;
	size_t xlen = 0, ylen = 0;

	if ((crv = json_get_str(o, "crv")) == NULL ||
	    (c = jwk_curve_by_crv(crv)) == NULL) {
		*why = "unsupported crv";
		return NULL;
	}
	if ((x = jwk_member_bytes(o, "x", &xlen)) == NULL ||
	    (y = jwk_member_bytes(o, "y", &ylen)) == NULL) {
		*why = "EC key without valid x and y";
		goto out;
	}
	/* RFC 7518 §6.2.1.2-3: full-length coordinates. */
	if (xlen != c->size || ylen != c->size) {
		*why = "EC coordinate of the wrong length";
		goto out;
	}
	if ((pt = malloc(1 + 2 * c->size)) == NULL) {
		log_err("out of memory");
		*why = "";
		goto out;
	}
	pt[0] = 0x04;	/* SEC 1 §2.3.3 uncompressed point */
	memcpy(pt + 1, x, c->size);
	memcpy(pt + 1 + c->size, y, c->size);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    OBJ_nid2sn(c->nid), 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pt, 1 + 2 * c->size) != 1) {
		log_openssl("OSSL_PARAM_BLD_push");
		*why = "";
		goto out;
	}
	if ((pkey = jwk_fromdata("EC", bld)) == NULL)
		*why = "EC point not on the curve";
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	free(pt);
	return pkey;
}

/* EVP_PKEY_public_check: EC point on the curve and not at infinity; RSA
 * modulus odd, composite, without small factors, e odd (SP 800-56B). */
static int
jwk_public_check(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx;
	int ok;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL) {
		log_openssl("EVP_PKEY_CTX_new_from_pkey");
		return -1;
	}
	ok = EVP_PKEY_public_check(ctx) == 1;
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

/*
 * One entry of a client JWKS.  Returns 0 with *out set, 1 when the entry
 * is skipped (logged), -1 on an internal failure.
 */
static int
jwk_from_json(const cJSON *o, size_t idx, struct jwk **out)
{
	const char *kty, *use, *kid = NULL, *alg = NULL, *why = NULL;
	EVP_PKEY *pkey = NULL;
	size_t i;

	*out = NULL;
	if (!cJSON_IsObject(o)) {
		log_debug("JWKS key #%zu: not an object, skipped", idx);
		return 1;
	}
	if ((kty = json_get_str(o, "kty")) == NULL) {
		log_debug("JWKS key #%zu: no kty, skipped", idx);
		return 1;
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "use") != NULL &&
	    ((use = json_get_str(o, "use")) == NULL || strcmp(use, "sig") != 0)) {
		log_debug("JWKS key #%zu: use is not \"sig\", skipped", idx);
		return 1;
	}
	for (i = 0; i < NELEM(jwk_private_members); i++)
		if (cJSON_GetObjectItemCaseSensitive(o,
		    jwk_private_members[i]) != NULL) {
			log_warn("JWKS key #%zu: carries private member "
			    "\"%s\", skipped", idx, jwk_private_members[i]);
			return 1;
		}
	if (cJSON_GetObjectItemCaseSensitive(o, "kid") != NULL &&
	    ((kid = json_get_str(o, "kid")) == NULL || strlen(kid) > 63)) {
		log_debug("JWKS key #%zu: kid not a string of at most 63 "
		    "bytes, skipped", idx);
		return 1;
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "alg") != NULL &&
	    ((alg = json_get_str(o, "alg")) == NULL || strlen(alg) > 7)) {
		log_debug("JWKS key #%zu: unsupported alg, skipped", idx);
		return 1;
	}
	if (strcmp(kty, "RSA") == 0)
		pkey = jwk_rsa_from_json(o, &why);
	else if (strcmp(kty, "EC") == 0) {
		pkey = jwk_ec_from_json(o, &why);
		if (pkey == NULL && why != NULL &&
		    strcmp(why, "unsupported crv") == 0) {
			log_debug("JWKS key #%zu: %s, skipped", idx, why);
			return 1;
		}
	} else {
		log_debug("JWKS key #%zu: unsupported kty, skipped", idx);
		return 1;
	}
	if (pkey == NULL) {
		if (why != NULL && *why == '\0')
			return -1;
		log_warn("JWKS key #%zu: %s, skipped", idx, why);
		return 1;
	}
	if (jwk_public_check(pkey) == -1) {
		log_warn("JWKS key #%zu: public key check failed, skipped",
		    idx);
		EVP_PKEY_free(pkey);
		return 1;
	}
	if ((*out = jwk_make(pkey, alg, kid, &why)) == NULL) {
		if (*why == '\0')
			return -1;
		log_warn("JWKS key #%zu: %s, skipped", idx, why);
		return 1;
	}
	return 0;
}

struct jwk_set *
jwk_set_parse(const cJSON *jwks)
{
	const cJSON *keys, *el;
	struct jwk_set *set;
	struct jwk *k;
	size_t idx = 0;
	int rc;

	if ((keys = json_get_arr(jwks, "keys")) == NULL) {
		log_info("JWKS is not an object with a \"keys\" array");
		return NULL;
	}
	if ((set = calloc(1, sizeof(*set))) == NULL) {
		log_err("out of memory");
		return NULL;
	}
	cJSON_ArrayForEach(el, keys) {
		if ((rc = jwk_from_json(el, idx++, &k)) == -1)
			goto fail;
		if (rc == 1)
			continue;
		if (jwk_set_add(set, k) == -1) {
			jwk_free(k);
			goto fail;
		}
	}
	return set;
fail:
	jwk_set_free(set);
	return NULL;
}

const struct jwk *
jwk_set_find(const struct jwk_set *set, const char *kid, const char *alg,
    int *ambiguous)
{
	const struct jwk *found = NULL;
	size_t i, hits = 0;

	if (ambiguous != NULL)
		*ambiguous = 0;
	if (set == NULL)
		return NULL;
	for (i = 0; i < set->n; i++) {
		if (kid != NULL ? strcmp(set->keys[i]->kid, kid) != 0 :
		    !jwk_alg_fits(set->keys[i], alg))
			continue;
		hits++;
		found = set->keys[i];
	}
	if (hits > 1) {
		if (ambiguous != NULL)
			*ambiguous = 1;
		log_info("%s matches %zu keys", kid != NULL ? "kid" : "alg",
		    hits);
		return NULL;
	}
	if (found == NULL || !jwk_alg_fits(found, alg))
		return NULL;
	return found;
}
