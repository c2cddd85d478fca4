/*
 * buf: a growable byte buffer, always NUL-terminated.
 *
 * Used to assemble response headers and bodies so that a response is
 * written in one piece (never a partial write).  Growth checks for size_t
 * overflow before allocating.  A buffer that failed to grow remembers it
 * (b->failed) and ignores further appends, so callers may check once.
 */
#ifndef SMARTAUTH_BUF_H
#define SMARTAUTH_BUF_H

#include <stddef.h>

struct buf {
	char	*data;	/* owned; NULL until the first append */
	size_t	 len;
	size_t	 cap;
	int	 failed;
};

int	buf_append(struct buf *b, const void *data, size_t len);
int	buf_puts(struct buf *b, const char *s);
int	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Formats an explanation into the caller's fixed slot why[whysz]
 * (truncating); does nothing when why is NULL or whysz is 0.  Shared by
 * the modules that say why they refused an input.
 */
void	buf_why(char *why, size_t whysz, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Empties the buffer, keeping its memory. */
void	buf_reset(struct buf *b);
/* Frees the memory (wiping it first: bodies may hold tokens). */
void	buf_free(struct buf *b);

#endif
