/*
 * replay: a main() for the fuzz harnesses, so that `make check` feeds
 * every committed corpus file to LLVMFuzzerTestOneInput with the normal
 * compiler and no libFuzzer.
 *
 * The corpus directory is argv[1] when given, else
 * $top_srcdir/tests/fuzz/corpus/<name>, where <name> is this program's
 * base name without its "_replay" suffix (tests/fuzz/json_replay replays
 * tests/fuzz/corpus/json).  Files are fed in name order.  Each one runs in
 * a child process, so a crash is reported against its file and does not
 * hide the rest; the output is TAP, one "ok N - <file>" line per file.
 *
 * A file named crash-* is the reproducer of a bug fuzzing found (see
 * tests/fuzz/README); it is replayed like any other file, so the bug
 * cannot come back unnoticed.
 *
 * Owns nothing beyond one input buffer at a time; writes nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/t.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
/* Present in builds with AddressSanitizer (--enable-sanitizers). */
void	__lsan_do_leak_check(void) __attribute__((weak));

/* Largest corpus file replayed; libFuzzer's default -max_len is far less. */
#define REPLAY_MAX_FILE	(4 * 1024 * 1024)

/* The sorted file names; global so that a leak check run in a child
 * (which inherits them) still sees them referenced. */
static char	**replay_names;
static size_t	  replay_n;

static int
replay_namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Owned contents of path in *buf, its length in *len; 0 or -1. */
static int
replay_read(const char *path, uint8_t **buf, size_t *len)
{
	FILE *fp;
	struct stat st;
	int rc = -1;

	*buf = NULL;
	*len = 0;
	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	if (fstat(fileno(fp), &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > REPLAY_MAX_FILE)
		goto out;
	/* Exactly the file's size (1 for an empty file), so that a read past
	 * the end is caught by ASan or valgrind. */
	if ((*buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL)
		goto out;
	if (st.st_size > 0 &&
	    fread(*buf, 1, (size_t)st.st_size, fp) != (size_t)st.st_size) {
		free(*buf);
		*buf = NULL;
		goto out;
	}
	*len = (size_t)st.st_size;
	rc = 0;
out:
	fclose(fp);
	return rc;
}

/* Runs one input in a child; 0 when it returned normally. */
static int
replay_one(const char *path, char *diag, size_t diagsz)
{
	uint8_t *buf;
	size_t len;
	pid_t pid;
	int status;

	*diag = '\0';
	fflush(stdout);
	if ((pid = fork()) == -1) {
		snprintf(diag, diagsz, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (replay_read(path, &buf, &len) == -1)
			_exit(2);
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
		/* _exit skips LeakSanitizer's exit-time check: ask for it. */
		if (__lsan_do_leak_check != NULL)
			__lsan_do_leak_check();
		_exit(0);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			snprintf(diag, diagsz, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (WIFSIGNALED(status)) {
		snprintf(diag, diagsz, "killed by signal %d", WTERMSIG(status));
		return -1;
	}
	if (WEXITSTATUS(status) == 2) {
		snprintf(diag, diagsz, "cannot read the file");
		return -1;
	}
	if (WEXITSTATUS(status) != 0) {
		snprintf(diag, diagsz, "exit status %d", WEXITSTATUS(status));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char dirpath[4096], path[4096 + 256], diag[128], name[128];
	const char *base, *top;
	size_t cap = 0, i, blen;
	struct dirent *de;
	DIR *d;
	int rc = 1;

	if (argc > 1)
		snprintf(dirpath, sizeof(dirpath), "%s", argv[1]);
	else {
		base = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 : argv[0];
		blen = strlen(base);
		if (blen > 7 && strcmp(base + blen - 7, "_replay") == 0)
			blen -= 7;
		snprintf(name, sizeof(name), "%.*s", (int)blen, base);
		top = getenv("top_srcdir");
		snprintf(dirpath, sizeof(dirpath), "%s/tests/fuzz/corpus/%s",
		    top != NULL && *top != '\0' ? top : ".", name);
	}
	if ((d = opendir(dirpath)) == NULL) {
		printf("Bail out! %s: %s\n", dirpath, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (replay_n == cap) {
			char **nv;

			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(replay_names, cap * sizeof(*replay_names))) == NULL)
				goto out;
			replay_names = nv;
		}
		if ((replay_names[replay_n] = strdup(de->d_name)) == NULL)
			goto out;
		replay_n++;
	}
	if (replay_n > 0)
		qsort(replay_names, replay_n, sizeof(*replay_names), replay_namecmp);

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 0; i < replay_n; i++) {
		int ok;

		snprintf(path, sizeof(path), "%s/%s", dirpath, replay_names[i]);
		ok = replay_one(path, diag, sizeof(diag)) == 0;
		T_OK(ok, replay_names[i]);
		if (!ok)
			printf("#   %s: %s\n", path, diag);
	}
	if (replay_n == 0)
		T_OK(0, "corpus is not empty");
	rc = t_done();
out:
	closedir(d);
	for (i = 0; i < replay_n; i++)
		free(replay_names[i]);
	free(replay_names);
	return rc;
}
