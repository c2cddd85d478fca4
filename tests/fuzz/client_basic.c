/*
 * client_basic fuzz harness: lib/client's "Authorization: Basic" parser
 * (client_parse_basic: RFC 7617 §2 base64 around RFC 6749 §2.3.1
 * form-urlencoded id and secret).
 *
 * The input, cut at its first NUL (a header value never holds one), is
 * the header value.  Invariants (abort() when broken):
 *   - on success id and secret are owned strings and id is not empty;
 *   - on failure both are NULL.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *header, *id = NULL, *secret = NULL;

	if ((header = strndup((const char *)data, size)) == NULL)
		return 0;
	if (client_parse_basic(header, &id, &secret) == 0) {
		if (id == NULL || secret == NULL || id[0] == '\0')
			abort();
		crypto_wipe(secret, strlen(secret));
	} else if (id != NULL || secret != NULL)
		abort();
	free(secret);
	free(id);
	free(header);
	return 0;
}
