/*
 * log — one line per event, key=value fields, to stderr (journald takes it).
 *
 * A line looks like
 *     2026-11-27T01:50:00.123+09:00 info  liud: started socket=run/liud.sock records=12
 * with the time in the zone of log_set_zone() (JST unless liud.conf's
 * log_time_zone says otherwise).  On a test clock the time is the test
 * clock's, and says so, with the real time beside it:
 *     2025-04-01T00:00:05.000+09:00 test-clock real=2026-11-27T01:50:00.123+09:00 info  ...
 * Under journald (JOURNAL_STREAM names stderr) a line starts with its
 * syslog priority instead ("<4>warn  clock: ...", so that journalctl -p
 * warning picks the warnings out) and has no timestamp of its own: journald
 * stamps it.  The level filters; the rest of the daemon never formats
 * timestamps itself.
 *
 * Client text cannot forge a line or a field: every string argument (%s)
 * is escaped here, so that no caller can forget.  Control characters (C0,
 * DEL), C1 controls, bidirectional controls, line and paragraph separators
 * and bytes that are not UTF-8 are written as \xNN or \uNNNN, a backslash
 * as \\.  A %s right after `="` is a quoted value: its `"` is written \".
 * A %s right after `=` is a bare value: when it is empty or holds a space
 * or a `"`, it is written quoted, so a client cannot add a `key=value` of
 * its own.  Only the format string (our text) is written as it is.
 *
 * Events a client can cause at will (a refused connection, a forbidden
 * call, a request line left unfinished) go through log_limited(): a token bucket per kind of event, with a
 * line "log: N similar lines suppressed in the last S s kind=K" when it lets
 * lines through again.
 *
 * Depends on nothing but libc.
 */
#ifndef LIU_LOG_H
#define LIU_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the lowest level that is printed (default LOG_INFO). */
void log_set_level(enum log_level lvl);
/* Parses "error", "warn", "info", "debug"; returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *out);

/* The zone of the timestamps: "JST" (or "Asia/Tokyo"), "UTC" (or "Z"), or
 * an offset "+HH:MM" / "-HH:MM".  Returns 0 or -EINVAL (the zone is kept). */
int log_set_zone(const char *zone);
/* Lines carry the time of `now_ms` (the test clock's "now" in ms), labelled
 * as test time, beside the real time; NULL: the real time alone.  The
 * function is called for every line, from any thread. */
void log_set_test_clock(int64_t (*now_ms)(void));

/* printf-style, string arguments escaped (above); a trailing newline is
 * added.  %n is not supported. */
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Formats as log_msg() does, without the timestamp, level and newline,
 * into `out` (cap bytes, always terminated).  Returns the length written.
 * For the unit tests. */
size_t log_format(char *out, size_t cap, const char *fmt, va_list ap);

#define log_err(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* The kinds of rate-limited events; each has a bucket of its own. */
enum log_kind {
	LOG_KIND_REFUSED_CONNECTION = 0, /* over the connection limit, no credentials */
	LOG_KIND_FORBIDDEN_CALL,         /* a method or action the roles do not allow */
	LOG_KIND_OVERSIZE,               /* a request line over request_bytes */
	LOG_KIND_REQUEST_TIMEOUT,        /* a request line begun and not ended in time */
	LOG_KINDS
};

/* Sets the buckets: `per_s` lines a second on average, `burst` at once.
 * per_s == 0 turns the limit off.  Loop thread only, as log_limited(). */
void log_set_rate(unsigned per_s, unsigned burst);

/* log_msg() when the bucket of `kind` has a token; otherwise the line is
 * counted and left out.  Call from the loop thread only. */
void log_limited(enum log_kind kind, enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Lines of `kind` left out since the start (for metrics). */
uint64_t log_suppressed(enum log_kind kind);
/* The name of `kind` in log lines and metrics ("forbidden_call"). */
const char *log_kind_name(enum log_kind kind);
/* Writes the summary lines of the lines left out and not yet reported (at
 * a clean stop). */
void log_flush_suppressed(void);

#endif
