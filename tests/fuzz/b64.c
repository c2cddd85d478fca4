/*
 * b64 fuzz harness: lib/crypto's strict decoders, b64url_decode
 * (RFC 4648 §5, unpadded) and b64_decode (RFC 4648 §4, padded).
 *
 * The whole input goes to both decoders.  Invariant (abort() when
 * broken): every accepted input is the one canonical encoding of what it
 * decodes to, i.e. encoding the output again gives back the input byte
 * for byte (b64url_encode, then for standard base64 '+' and '/' for '-'
 * and '_' and '=' padding to a multiple of 4).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *devnull;

	if ((devnull = fopen("/dev/null", "w")) != NULL)
		log_set_stream(devnull);
	log_set_level(LOGL_DEBUG);
	return 0;
}

/* Aborts unless out[0..outlen) re-encodes to in[0..inlen). */
static void
fuzz_canonical(const char *in, size_t inlen, const unsigned char *out,
    size_t outlen, int padded)
{
	char *enc;
	size_t elen, i;

	if (out[outlen] != '\0')	/* documented NUL terminator */
		abort();
	if ((enc = b64url_encode(out, outlen)) == NULL)
		return;
	elen = strlen(enc);
	if (padded) {
		for (i = 0; i < elen; i++)
			if (enc[i] == '-')
				enc[i] = '+';
			else if (enc[i] == '_')
				enc[i] = '/';
		if (elen > inlen || inlen - elen > 2 || inlen % 4 != 0)
			abort();
		for (i = elen; i < inlen; i++)
			if (in[i] != '=')
				abort();
	} else if (elen != inlen)
		abort();
	if (memcmp(enc, in, elen) != 0)
		abort();
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	unsigned char *out;
	size_t outlen;

	if ((out = b64url_decode(in, size, &outlen)) != NULL) {
		fuzz_canonical(in, size, out, outlen, 0);
		free(out);
	}
	if ((out = b64_decode(in, size, &outlen)) != NULL) {
		fuzz_canonical(in, size, out, outlen, 1);
		free(out);
	}
	return 0;
}
