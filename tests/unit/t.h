/*
 * t.h: the whole unit-test "framework".  Each test binary includes this,
 * calls T_OK()/T_EQ_STR()/T_EQ_INT() for every row of its tables, and ends
 * main() with "return t_done();".  Output is TAP, which `make check`
 * reads through automake's tap-driver and ./check counts.
 */
#ifndef SMARTAUTH_T_H
#define SMARTAUTH_T_H

#include <stdio.h>
#include <string.h>

static int t_count, t_failed;

static int
t_ok(int ok, const char *file, int line, const char *name)
{
	t_count++;
	if (ok)
		printf("ok %d - %s\n", t_count, name);
	else {
		t_failed++;
		printf("not ok %d - %s\n# at %s:%d\n", t_count, name, file, line);
	}
	fflush(stdout);
	return ok;
}

#define T_OK(cond, name) t_ok(!!(cond), __FILE__, __LINE__, (name))
#define T_EQ_INT(got, want, name) do { \
	long long t_g_ = (long long)(got), t_w_ = (long long)(want); \
	if (!t_ok(t_g_ == t_w_, __FILE__, __LINE__, (name))) \
		printf("#   got %lld, want %lld\n", t_g_, t_w_); \
} while (0)
#define T_EQ_STR(got, want, name) do { \
	const char *t_g_ = (got), *t_w_ = (want); \
	int t_e_ = (t_g_ == NULL || t_w_ == NULL) ? t_g_ == t_w_ : strcmp(t_g_, t_w_) == 0; \
	if (!t_ok(t_e_, __FILE__, __LINE__, (name))) \
		printf("#   got \"%s\", want \"%s\"\n", t_g_ ? t_g_ : "(null)", t_w_ ? t_w_ : "(null)"); \
} while (0)

static int
t_done(void)
{
	printf("1..%d\n", t_count);
	return t_failed == 0 ? 0 : 1;
}

#endif
