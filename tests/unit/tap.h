/*
 * tap.h — a small TAP producer for the C unit tests, after libuv's runner:
 * each assertion prints both values when it fails.  Header-only; a test
 * file includes it once and ends main() with `return tap_done();`.
 */
#ifndef LIU_TAP_H
#define LIU_TAP_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static void tap_result(int ok, const char *desc)
{
	tap_n++;
	if (!ok)
		tap_failed++;
	printf("%sok %d - %s\n", ok ? "" : "not ", tap_n, desc);
}

__attribute__((unused, format(printf, 1, 2)))
static void tap_diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("#   ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

__attribute__((unused))
static int ok(int cond, const char *desc)
{
	tap_result(cond, desc);
	return cond;
}

__attribute__((unused))
static int is_int(long long got, long long want, const char *desc)
{
	tap_result(got == want, desc);
	if (got != want)
		tap_diag("got %lld, want %lld", got, want);
	return got == want;
}

__attribute__((unused))
static int is_str(const char *got, const char *want, const char *desc)
{
	int same = got && want ? strcmp(got, want) == 0 : got == want;
	tap_result(same, desc);
	if (!same)
		tap_diag("got \"%s\", want \"%s\"", got ? got : "(null)", want ? want : "(null)");
	return same;
}

__attribute__((unused))
static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif
