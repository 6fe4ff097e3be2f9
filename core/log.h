/*
 * log — one line per event, key=value fields, to stderr (journald takes it).
 *
 * A line looks like
 *     2026-11-26T16:50:00.123Z info  liud: started socket=run/liud.sock records=12
 * The level filters; the rest of the daemon never formats timestamps itself.
 * Depends on nothing but libc.
 */
#ifndef LIU_LOG_H
#define LIU_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the lowest level that is printed (default LOG_INFO). */
void log_set_level(enum log_level lvl);
/* Parses "error", "warn", "info", "debug"; returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *out);

/* printf-style; a trailing newline is added. */
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
