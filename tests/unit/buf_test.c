/*
 * buf_test: growth, formatting, and the sticky failure flag.
 */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "t.h"

int
main(void)
{
	struct buf b = { 0 };
	size_t i;

	T_EQ_INT(buf_puts(&b, "abc"), 0, "append to an empty buffer");
	T_EQ_STR(b.data, "abc", "contents NUL-terminated");
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%03zu", i % 1000);
	T_EQ_INT(b.len, 3 + 3000, "grows across many appends");
	T_OK(memcmp(b.data + 3 + 3 * 999, "999", 3) == 0, "last formatted value in place");
	buf_reset(&b);
	T_EQ_INT(b.len, 0, "reset empties");
	T_EQ_STR(b.data, "", "reset leaves an empty string");
	T_EQ_INT(buf_append(&b, "x", SIZE_MAX - 1), -1, "overflowing size refused before allocating");
	T_OK(b.failed, "failure is remembered");
	T_EQ_INT(buf_puts(&b, "more"), -1, "appends after a failure refused");
	buf_free(&b);
	T_OK(b.data == NULL && b.len == 0 && !b.failed, "free resets the buffer");
	T_EQ_INT(buf_append(&b, "", 0), 0, "empty append allocates a terminator");
	T_EQ_STR(b.data, "", "empty append yields an empty string");
	buf_free(&b);
	return t_done();
}
