/*
 * buf: growable NUL-terminated byte buffer.  See buf.h.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"

static int
buf_grow(struct buf *b, size_t extra)
{
	size_t need, ncap;
	char *n;

	if (b->failed)
		return -1;
	/* No object may exceed PTRDIFF_MAX bytes (C11 §6.5.6): refuse such a
	 * size here rather than hand it to realloc. */
	if (b->len >= (size_t)PTRDIFF_MAX || extra > (size_t)PTRDIFF_MAX - b->len - 1)
		goto fail;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need) {
		if (ncap > (size_t)PTRDIFF_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	if ((n = realloc(b->data, ncap)) == NULL)
		goto fail;
	b->data = n;
	b->cap = ncap;
	return 0;
fail:
	b->failed = 1;
	return -1;
}

int
buf_append(struct buf *b, const void *data, size_t len)
{
	if (buf_grow(b, len) == -1)
		return -1;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_grow(b, (size_t)n) == -1) {
		b->failed = 1;
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void
buf_why(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whysz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
}

void
buf_reset(struct buf *b)
{
	if (b->data != NULL) {
		OPENSSL_cleanse(b->data, b->len);
		b->data[0] = '\0';
	}
	b->len = 0;
	b->failed = 0;
}

void
buf_free(struct buf *b)
{
	if (b->data != NULL)
		OPENSSL_cleanse(b->data, b->cap);
	free(b->data);
	memset(b, 0, sizeof(*b));
}
