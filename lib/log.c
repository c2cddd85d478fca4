/*
 * log: stderr event lines with escaping.  See log.h.
 *
 * Owns only the program name pointer and the level.  Never allocates, so
 * it is safe to call on out-of-memory paths; a line is cut at 1 KiB.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>

#include "log.h"

static const char	*log_prog = "smartauth";
static enum log_level	 log_level = LOGL_INFO;
static FILE		*log_stream;

static const char *const log_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

void
log_init(const char *progname)
{
	if (progname != NULL && *progname != '\0')
		log_prog = progname;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

void
log_set_stream(void *fp)
{
	log_stream = fp;
}

int
log_level_parse(const char *name)
{
	static const char *const lower[] = { "error", "warn", "info", "debug" };
	size_t i;

	for (i = 0; i < sizeof(lower) / sizeof(lower[0]); i++)
		if (strcasecmp(name, lower[i]) == 0)
			return (int)i;
	return -1;
}

/* Copies src into dst escaping control and non-ASCII bytes; always NUL-terminates. */
static void
log_escape(char *dst, size_t dstsz, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	const unsigned char *p;

	for (p = (const unsigned char *)src; *p != '\0'; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			if (o + 1 >= dstsz)
				break;
			dst[o++] = (char)*p;
		} else {
			if (o + 4 >= dstsz)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[*p >> 4];
			dst[o++] = hex[*p & 0xf];
		}
	}
	dst[o] = '\0';
}

void
log_msg(enum log_level level, const char *func, const char *fmt, ...)
{
	char raw[1024], esc[1024];
	va_list ap;
	FILE *out = log_stream != NULL ? log_stream : stderr;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	log_escape(esc, sizeof(esc), raw);
	fprintf(out, "%s[%ld] %s %s: %s\n", log_prog, (long)getpid(),
	    log_names[level], func != NULL ? func : "-", esc);
	fflush(out);
}

void
log_ossl(const char *func, const char *call)
{
	char buf[256] = "";
	char all[768] = "";
	unsigned long e;
	size_t len;

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		len = strlen(all);
		snprintf(all + len, sizeof(all) - len, "%s%s", len ? "; " : "", buf);
	}
	log_msg(LOGL_ERROR, func, "%s failed: %s", call, all[0] ? all : "no detail");
}
