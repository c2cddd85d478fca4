/*
 * config fuzz harness: lib/config (config_load of a whole file).
 *
 * The input is written to a temporary file made once in
 * LLVMFuzzerInitialize (under /tmp; unlinked at once and read through
 * /proc/self/fd where there is /proc, else removed at exit) and loaded
 * with an environment lookup that finds nothing, so only the file
 * decides.  The first line is also given to config_url_is_loopback.
 * Invariants (abort() when broken):
 *   - a refusal leaves a non-empty message and a cleared struct config;
 *   - a loaded config has every derived URL and path;
 *   - a file holding a NUL byte is refused (crash-config-nul-*: a NUL
 *     used to cut a line short, and the tail of an overlong line was
 *     read as a line of its own; tests/fuzz/README, finding 1).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char	fuzz_path[] = "/tmp/smartauth-fuzz-config-XXXXXX";
static char	fuzz_proc[64];
static const char *fuzz_load_path = fuzz_path;
static int	fuzz_fd = -1;

static void
fuzz_cleanup(void)
{
	unlink(fuzz_path);
}

static const char *
fuzz_getenv(const char *name)
{
	return NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *devnull;

	if ((devnull = fopen("/dev/null", "w")) != NULL)
		log_set_stream(devnull);
	if ((fuzz_fd = mkstemp(fuzz_path)) == -1)
		abort();
	/*
	 * libFuzzer may end without running atexit handlers: where /proc
	 * allows, the file is removed at once and loaded through its
	 * descriptor, so nothing is left behind whatever the exit.
	 */
	snprintf(fuzz_proc, sizeof(fuzz_proc), "/proc/self/fd/%d", fuzz_fd);
	if (access(fuzz_proc, R_OK) == 0) {
		unlink(fuzz_path);
		fuzz_load_path = fuzz_proc;
	} else
		atexit(fuzz_cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[512], *first;
	size_t off = 0, flen;
	ssize_t n;
	int rc;

	if (ftruncate(fuzz_fd, 0) == -1)
		abort();
	while (off < size) {
		if ((n = pwrite(fuzz_fd, data + off, size - off, (off_t)off)) <= 0)
			abort();
		off += (size_t)n;
	}

	err[0] = '\0';
	rc = config_load(&cfg, fuzz_load_path, fuzz_getenv, err, sizeof(err));
	if (rc == -1) {
		if (err[0] == '\0' || cfg.fhir_base != NULL || cfg.database != NULL ||
		    cfg.rpc_url != NULL || cfg.fhir_path != NULL)
			abort();
	} else {
		if (cfg.fhir_base == NULL || cfg.auth_base == NULL ||
		    cfg.rpc_url == NULL || cfg.fhir_path == NULL ||
		    cfg.database == NULL || cfg.key_dir == NULL ||
		    cfg.fhir_backend == NULL || cfg.log_level == NULL)
			abort();
		(void)config_url_is_loopback(cfg.fhir_base);
		(void)config_url_is_loopback(cfg.auth_base);
		if (memchr(data, '\0', size) != NULL) {
			fprintf(stderr, "config: a file with a NUL byte was loaded\n");
			abort();
		}
	}
	config_free(&cfg);
	log_set_level(LOGL_DEBUG);

	flen = size;
	if (memchr(data, '\n', size) != NULL)
		flen = (size_t)((const uint8_t *)memchr(data, '\n', size) - data);
	if ((first = strndup((const char *)data, flen)) != NULL) {
		(void)config_url_is_loopback(first);
		free(first);
	}
	return 0;
}
