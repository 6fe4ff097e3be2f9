/*
 * clock — the daemon's notion of "now", and the one parser/formatter of
 * instants that the whole daemon (and, through the Lua host, every rule pack)
 * uses.
 *
 * Instants are int64 seconds since the Unix epoch.  All civil dates are Japan
 * time (JST, UTC+9, no DST), as the notice is.  Accepted text forms:
 *   - ISO-8601 with an offset:  2025-03-31T23:59:59+09:00, 2025-04-01T00:00Z
 *   - a date, meaning 00:00 JST that day:  2025-03-31
 *   - a 和暦 date, likewise:  令和7年3月31日, 令和元年5月1日, 平成31年4月30日
 *     (full-width digits too)
 * Impossible dates (2023-02-30, 平成32年, 令和元年4月1日) are refused.
 *
 * The clock is the system clock, or, for drills and tests, a test clock that
 * starts from a fixed instant, runs forward with the monotonic clock and can
 * be set.  Depends on libc only.
 */
#ifndef LIU_CLOCK_H
#define LIU_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLOCK_JST_OFFSET (9 * 3600)
#define CLOCK_ISO_MAX 40 /* buffer size for clock_format() */
/* The instants the daemon handles: the years 0001 to 9999 in JST.  Outside,
 * parsing refuses and formatting clamps (no overflow, no five-digit year). */
#define CLOCK_MIN (-62135596800LL - CLOCK_JST_OFFSET)  /* 0001-01-01T00:00:00+09:00 */
#define CLOCK_MAX (253402300799LL - CLOCK_JST_OFFSET)  /* 9999-12-31T23:59:59+09:00 */

/* A reason for a refused time, in both languages.  Static strings. */
struct clock_why {
	const char *ja;
	const char *en;
};

/* Parses `s` (NUL-terminated) into *out.  Returns 0, or -EINVAL with *why
 * set to a static reason. */
int clock_parse(const char *s, int64_t *out, struct clock_why *why);

/* Parses a civil date "YYYY-MM-DD", Excel's "YYYY/M/D" (or 和暦) into year/month/day, checking
 * that the day exists.  Returns 0 or -EINVAL (with *why). */
int clock_parse_date(const char *s, int *y, int *m, int *d, struct clock_why *why);

/* Formats a day (d > 0) or a month (d == 0) in 和暦 into buf: "令和6年6月1日",
 * "令和元年5月" (a month in the era of its first day).  Returns 0, -ERANGE
 * for a day before 明治 (1868-01-25), or -ENOSPC when buf is too small
 * (32 bytes always suffice). */
int clock_format_wareki(int y, int m, int d, char *buf, size_t len);

/* Formats t as ISO-8601 in JST ("2025-04-01T00:00:00+09:00") into buf
 * (CLOCK_ISO_MAX bytes).  Returns buf. */
char *clock_format(int64_t t, char *buf);
/* Formats the JST date of t ("2025-03-31") into buf (11+ bytes).  Returns buf. */
char *clock_format_date(int64_t t, char *buf);

/* --- the clock --- */

/* Switches to a test clock that reads `start` now and runs forward. */
void clock_use_test(int64_t start);
bool clock_is_test(void);
/* Sets the test clock; returns 0, or -EPERM when not in test-clock mode. */
int clock_set(int64_t now);
/* The current instant, seconds. */
int64_t clock_now(void);
/* The current instant in milliseconds (for timers). */
int64_t clock_now_ms(void);
/* The monotonic clock in milliseconds, from an unspecified start: for
 * durations (uptime), which neither clock.set nor a system clock step moves. */
int64_t clock_mono_ms(void);

/* A step back smaller than this is noise, not a step: reading the two
 * clocks an instant apart, or NTP slewing (at most 0.5 ms a second). */
#define CLOCK_STEP_NOISE_MS 100

/*
 * Looks for a step of the clock since the last call: how far "now" moved
 * against how far the monotonic clock moved.  A step back of more than
 * CLOCK_STEP_NOISE_MS (the system clock corrected, or the test clock set)
 * is logged as a warning with its size.  Returns the step in milliseconds
 * (negative: back), or 0 when there was none or on the first call.  Loop
 * thread only: its memory of the last call is not locked.
 */
int64_t clock_watch(void);

#endif
