/*
 * jwt fuzz harness: lib/jwt (jwt_parse, jwt_verify, jwt_check_claims).
 *
 * The input is one compact JWS.  Two fixed public keys are loaded once in
 * LLVMFuzzerInitialize (an RSA-2048 key and a P-256 key; the seed tokens
 * in tests/fuzz/corpus/jwt were signed with their private halves, which
 * are not kept anywhere, so signatures in the corpus verify).  Every
 * parsed token is verified against the key jwk_set_find picks and against
 * each key directly, then its claims are checked under a strict and a
 * lax expectation with a fixed clock.  Invariants (abort() when broken):
 *   - a parsed token has an "alg" string, header and claims objects;
 *   - a signature verifies only when the alg is one of RS256/384/512 or
 *     ES256/384/512 and fits the key (never "none", HS*, PS*);
 *   - a failed claims check names its reason.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "jwk.h"
#include "jwt.h"
#include "log.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_rsa_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtIGdZWsg9nN4+S0IDPs5\n"
    "SYNTFOvaerO7BqlVr06L2zMwVkphaRhjT89U9fmf2+D0hqkyZ1Pepq4j7Jldf9Ec\n"
    "+gfsnj/XVK6lAtVz27A89xHIogP7hsgEnFH3D6gWEFL8hZ4uY4pR/3gzG7MgOGUL\n"
    "geypgWGEhJZiFofi87pnXvqWRC0Q3qCLWnL1EBB6YSinex0dvlA09qsTmTlway3n\n"
    "vmf4Cbmm0x6jjKOxboaxPhHXZAwWUvcEBgUlgDbqKO91QAIDQSVnNlqs/RStWqg8\n"
    "CSsrRjXsHdH5Pj7pYULZrqoJE2aKb5mUnTuFDGhTcwhAcQys5pMTQtPT6wc7FDra\n"
    "BQIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

static const char fuzz_p256_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPP4BONJM3XxAX+gkGzIgz4J/jiXU\n"
    "y911cJMC/YyJOWWYpBpcyH23zARhne9X6mAqomyB2py2REIH9R7o/T2gxQ==\n"
    "-----END PUBLIC KEY-----\n";

/* Both keys unrestricted, and the RSA key again restricted to RS384. */
static struct jwk_set	 fuzz_keys;
static struct jwk	*fuzz_keyv[3];

static struct jwk *
fuzz_key(const char *pem, const char *alg)
{
	BIO *bio;
	EVP_PKEY *pkey;
	struct jwk *k;

	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL ||
	    (pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL)
		abort();
	BIO_free(bio);
	if ((k = jwk_new(pkey, alg)) == NULL)
		abort();
	EVP_PKEY_free(pkey);
	return k;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *devnull;

	if ((devnull = fopen("/dev/null", "w")) != NULL)
		log_set_stream(devnull);
	log_set_level(LOGL_DEBUG);
	fuzz_keyv[0] = fuzz_key(fuzz_rsa_pub, NULL);
	fuzz_keyv[1] = fuzz_key(fuzz_p256_pub, NULL);
	fuzz_keyv[2] = fuzz_key(fuzz_rsa_pub, "RS384");
	fuzz_keys.keys = fuzz_keyv;
	fuzz_keys.n = 3;
	return 0;
}

static int
fuzz_alg_allowed(const char *alg)
{
	static const char *const ok[] = { "RS256", "RS384", "RS512",
	    "ES256", "ES384", "ES512", NULL };
	size_t i;

	for (i = 0; ok[i] != NULL; i++)
		if (strcmp(alg, ok[i]) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwt_expect strict = {
		.iss = "https://client.example/app",
		.sub = "https://client.example/app",
		.aud = "https://smartauth.example/auth/token",
		.now = 1700000000,
		.skew = 60,
		.max_future_exp = 300,
		.require_exp = 1,
		.require_jti = 1,
	};
	struct jwt_expect lax = { .now = 1700000000 };
	const struct jwk *k;
	const char *why;
	struct jwt *jwt;
	size_t i;
	int amb;

	if ((jwt = jwt_parse((const char *)data, size)) == NULL)
		return 0;
	if (jwt->alg == NULL || !cJSON_IsObject(jwt->header) ||
	    !cJSON_IsObject(jwt->claims))
		abort();

	if ((k = jwk_set_find(&fuzz_keys, jwt->kid, jwt->alg, &amb)) != NULL &&
	    jwt_verify(jwt, k) == 0 && !jwk_alg_fits(k, jwt->alg))
		abort();
	for (i = 0; i < fuzz_keys.n; i++)
		if (jwt_verify(jwt, fuzz_keyv[i]) == 0 &&
		    (!fuzz_alg_allowed(jwt->alg) ||
		    !jwk_alg_fits(fuzz_keyv[i], jwt->alg)))
			abort();

	why = NULL;
	if (jwt_check_claims(jwt, &strict, &why) == -1 && why == NULL)
		abort();
	why = NULL;
	if (jwt_check_claims(jwt, &lax, &why) == -1 && why == NULL)
		abort();
	jwt_free(jwt);
	return 0;
}
