/* log — see log.h. */
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_level = LOG_INFO;
static const char *const log_names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level lvl) { log_level = lvl; }

int log_parse_level(const char *s, enum log_level *out)
{
	for (int i = 0; i <= LOG_DEBUG; i++)
		if (strcmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -EINVAL;
}

/* --- escaping ------------------------------------------------------------------ */

/* Output into a fixed buffer: what does not fit is dropped, the buffer is
 * always terminated (cap >= 1). */
struct log_out {
	char *p;
	size_t n, cap;
};

static void out_put(struct log_out *o, const char *s, size_t len)
{
	size_t room = o->cap - 1 - o->n;
	if (len > room)
		len = room;
	memcpy(o->p + o->n, s, len);
	o->n += len;
	o->p[o->n] = '\0';
}

static void out_ch(struct log_out *o, char c) { out_put(o, &c, 1); }

/* Where a %s stands in the format, which decides how its value is written. */
enum log_ctx {
	CTX_TEXT,   /* in the message: escaped */
	CTX_QUOTED, /* after `="`: escaped, `"` too */
	CTX_BARE,   /* after `=`: escaped, and quoted when it would end the field */
};

/* The length of the well-formed UTF-8 sequence at s (at most len bytes)
 * with *cp its code point, or 0 when the bytes are not one (overlong,
 * surrogate, cut short, past U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
	if (c >= 0xF5 || n == 0 || n > len)
		return 0;
	uint32_t v = c & (0x7F >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3F);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10FFFF ||
	    (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return n;
}

/* Code points that would let text rewrite how a line reads: C1 controls
 * (U+0085 is a newline to some readers), bidirectional controls (U+202E
 * makes "evil" display as "live"), line and paragraph separators. */
static bool cp_unsafe(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
	       (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Writes s[0..len) escaped for `ctx`. */
static void out_escaped(struct log_out *o, const char *s, size_t len, enum log_ctx ctx)
{
	if (ctx == CTX_BARE) {
		if (len == 0 || memchr(s, ' ', len) || memchr(s, '"', len)) {
			out_ch(o, '"');
			out_escaped(o, s, len, CTX_QUOTED);
			out_ch(o, '"');
			return;
		}
	}
	const unsigned char *u = (const unsigned char *)s;
	char esc[16];
	size_t i = 0;
	while (i < len) {
		size_t run = i; /* plain bytes go out in one copy */
		while (run < len && u[run] >= 0x20 && u[run] < 0x7F && u[run] != '\\' &&
		       !(u[run] == '"' && ctx == CTX_QUOTED))
			run++;
		out_put(o, s + i, run - i);
		if ((i = run) >= len)
			break;
		uint32_t cp;
		size_t n = u[i] >= 0x80 ? utf8_seq(u + i, len - i, &cp) : 0;
		if (u[i] == '\\' || u[i] == '"') {
			esc[0] = '\\';
			esc[1] = (char)u[i];
			out_put(o, esc, 2);
			n = 1;
		} else if (n == 0) { /* C0, DEL, or a byte that is not UTF-8 */
			snprintf(esc, sizeof esc, "\\x%02X", u[i]);
			out_put(o, esc, 4);
			n = 1;
		} else if (cp_unsafe(cp)) {
			snprintf(esc, sizeof esc, "\\u%04X", (unsigned)cp);
			out_put(o, esc, 6);
		} else {
			out_put(o, s + i, n);
		}
		i += n;
	}
}

/* The length of s cut to `max` bytes, backed off so that a UTF-8 sequence
 * is not cut in two (a %.300s of Japanese text). */
static size_t cut_utf8(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	if (n < max || s[n] == '\0')
		return n;
	size_t k = n;
	while (k > 0 && n - k < 3 && ((unsigned char)s[k - 1] & 0xC0) == 0x80)
		k--;
	if (k > 0 && (unsigned char)s[k - 1] >= 0xC0) {
		unsigned char c = (unsigned char)s[k - 1];
		size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
		if (n - (k - 1) < want)
			return k - 1;
	}
	return n;
}

/* --- formatting -------------------------------------------------------------------- */

/* One conversion spec, parsed. */
struct log_spec {
	char flags[8];
	int width, prec;   /* -1: none */
	char len[3];       /* hh h l ll z j t L */
	char conv;
};

/* Parses the spec at p (after the '%'), taking * arguments from *ap.
 * Returns the character after it. */
static const char *spec_parse(const char *p, struct log_spec *sp, va_list *ap)
{
	size_t nf = 0;
	*sp = (struct log_spec){ .width = -1, .prec = -1 };
	while (*p && strchr("-+ #0", *p) && nf < sizeof sp->flags - 2)
		sp->flags[nf++] = *p++;
	if (*p == '*') {
		sp->width = va_arg(*ap, int);
		p++;
		if (sp->width < 0) { /* a negative width is a '-' flag */
			sp->flags[nf++] = '-';
			sp->width = -sp->width;
		}
	} else if (*p >= '0' && *p <= '9') {
		for (sp->width = 0; *p >= '0' && *p <= '9'; p++)
			sp->width = sp->width * 10 + (*p - '0');
	}
	if (*p == '.') {
		p++;
		if (*p == '*') {
			sp->prec = va_arg(*ap, int);
			p++;
			if (sp->prec < 0)
				sp->prec = -1;
		} else {
			for (sp->prec = 0; *p >= '0' && *p <= '9'; p++)
				sp->prec = sp->prec * 10 + (*p - '0');
		}
	}
	size_t nl = 0;
	while (*p && strchr("hlzjtL", *p) && nl < 2)
		sp->len[nl++] = *p++;
	sp->conv = *p ? *p++ : '\0';
	return p;
}

/* A number (or pointer) through snprintf, the spec rebuilt with the
 * * arguments written out. */
static void out_number(struct log_out *o, const struct log_spec *sp, va_list *ap)
{
	char fmt[48], buf[512];
	int k = snprintf(fmt, sizeof fmt, "%%%s", sp->flags);
	if (sp->width >= 0)
		k += snprintf(fmt + k, sizeof fmt - (size_t)k, "%d", sp->width);
	if (sp->prec >= 0)
		k += snprintf(fmt + k, sizeof fmt - (size_t)k, ".%d", sp->prec);
	snprintf(fmt + k, sizeof fmt - (size_t)k, "%s%c", sp->len, sp->conv);
	const char *l = sp->len;
	int n = 0;
	bool sgn = sp->conv == 'd' || sp->conv == 'i';
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	switch (sp->conv) {
	case 'd': case 'i': case 'u': case 'o': case 'x': case 'X':
		if (strcmp(l, "l") == 0)
			n = sgn ? snprintf(buf, sizeof buf, fmt, va_arg(*ap, long))
				: snprintf(buf, sizeof buf, fmt, va_arg(*ap, unsigned long));
		else if (strcmp(l, "ll") == 0)
			n = sgn ? snprintf(buf, sizeof buf, fmt, va_arg(*ap, long long))
				: snprintf(buf, sizeof buf, fmt, va_arg(*ap, unsigned long long));
		else if (strcmp(l, "z") == 0)
			n = sgn ? snprintf(buf, sizeof buf, fmt, va_arg(*ap, ssize_t))
				: snprintf(buf, sizeof buf, fmt, va_arg(*ap, size_t));
		else if (strcmp(l, "j") == 0)
			n = sgn ? snprintf(buf, sizeof buf, fmt, va_arg(*ap, intmax_t))
				: snprintf(buf, sizeof buf, fmt, va_arg(*ap, uintmax_t));
		else if (strcmp(l, "t") == 0)
			n = snprintf(buf, sizeof buf, fmt, va_arg(*ap, ptrdiff_t));
		else /* int, and the short ones, promoted */
			n = sgn ? snprintf(buf, sizeof buf, fmt, va_arg(*ap, int))
				: snprintf(buf, sizeof buf, fmt, va_arg(*ap, unsigned));
		break;
	case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A':
		if (strcmp(l, "L") == 0)
			n = snprintf(buf, sizeof buf, fmt, va_arg(*ap, long double));
		else
			n = snprintf(buf, sizeof buf, fmt, va_arg(*ap, double));
		break;
	case 'p':
		n = snprintf(buf, sizeof buf, fmt, va_arg(*ap, void *));
		break;
	default:
		break;
	}
#pragma GCC diagnostic pop
	if (n > 0)
		out_put(o, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* A string argument: cut to its precision, escaped for where it stands,
 * padded to its width. */
static void out_string(struct log_out *o, const struct log_spec *sp, const char *s,
		       size_t len, enum log_ctx ctx)
{
	size_t at = o->n;
	bool left = strchr(sp->flags, '-') != NULL;
	out_escaped(o, s, len, ctx);
	size_t w = o->n - at;
	if (sp->width < 0 || w >= (size_t)sp->width)
		return;
	size_t pad = (size_t)sp->width - w;
	for (size_t i = 0; i < pad; i++)
		out_ch(o, ' ');
	if (!left && o->n == at + w + pad) { /* right-aligned: move the text after the pad */
		memmove(o->p + at + pad, o->p + at, w);
		memset(o->p + at, ' ', pad);
	}
}

size_t log_format(char *out, size_t cap, const char *fmt, va_list ap)
{
	struct log_out o = { out, 0, cap };
	va_list aq;
	va_copy(aq, ap);
	out[0] = '\0';
	const char *p = fmt;
	while (*p) {
		const char *pct = strchr(p, '%');
		if (!pct) {
			out_put(&o, p, strlen(p));
			break;
		}
		out_put(&o, p, (size_t)(pct - p));
		if (pct[1] == '%') {
			out_ch(&o, '%');
			p = pct + 2;
			continue;
		}
		enum log_ctx ctx = pct - fmt >= 2 && pct[-2] == '=' && pct[-1] == '"' ? CTX_QUOTED
				 : pct - fmt >= 1 && pct[-1] == '=' ? CTX_BARE : CTX_TEXT;
		struct log_spec sp;
		p = spec_parse(pct + 1, &sp, &aq);
		if (sp.conv == 's') {
			const char *s = va_arg(aq, const char *);
			if (!s)
				s = "(null)";
			size_t len = sp.prec >= 0 ? cut_utf8(s, (size_t)sp.prec) : strlen(s);
			out_string(&o, &sp, s, len, ctx);
		} else if (sp.conv == 'c') {
			char ch = (char)va_arg(aq, int);
			out_string(&o, &sp, &ch, 1, ctx);
		} else if (sp.conv == 'n') {
			(void)va_arg(aq, int *); /* never written to */
		} else if (sp.conv == '\0') {
			break;
		} else {
			out_number(&o, &sp, &aq);
		}
	}
	va_end(aq);
	return o.n;
}

/* --- the line's head -------------------------------------------------------------- */

/* The zone of the timestamps: seconds east of UTC, JST by default, as every
 * other time the daemon shows. */
static int log_zone_s = 9 * 3600;
/* The test clock's "now" in ms, when the daemon runs on one (NULL: none). */
static int64_t (*log_test_now_ms)(void);
/* -1: not looked at yet; 0: a file or terminal; 1: journald's stream. */
static int log_journal = -1;

int log_set_zone(const char *zone)
{
	int sign = 1, hh, mm;
	char tail;
	if (strcmp(zone, "JST") == 0 || strcmp(zone, "Asia/Tokyo") == 0) {
		log_zone_s = 9 * 3600;
		return 0;
	}
	if (strcmp(zone, "UTC") == 0 || strcmp(zone, "Z") == 0) {
		log_zone_s = 0;
		return 0;
	}
	if (zone[0] != '+' && zone[0] != '-')
		return -EINVAL;
	sign = zone[0] == '-' ? -1 : 1;
	if (strlen(zone) != 6 || sscanf(zone + 1, "%2d:%2d%c", &hh, &mm, &tail) != 2 || hh > 14 ||
	    mm > 59 || zone[3] != ':')
		return -EINVAL;
	log_zone_s = sign * (hh * 3600 + mm * 60);
	return 0;
}

void log_set_test_clock(int64_t (*now_ms)(void)) { log_test_now_ms = now_ms; }

/* journald's stream is stderr when JOURNAL_STREAM names stderr's device and
 * inode (systemd.exec(5)): a redirection to a file under the unit keeps the
 * variable but not the stream. */
static bool under_journal(void)
{
	if (log_journal < 0) {
		const char *js = getenv("JOURNAL_STREAM");
		unsigned long long dev, ino;
		struct stat st;
		log_journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
			      fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
			      (unsigned long long)st.st_ino == ino;
	}
	return log_journal == 1;
}

/* An instant in ms as ISO-8601 in the log's zone, milliseconds included:
 * "2026-11-27T01:50:00.123+09:00" (or "...Z" in UTC). */
static int stamp(char *buf, size_t cap, int64_t ms)
{
	int64_t s = (ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
	time_t t = (time_t)(s + log_zone_s);
	struct tm tm;
	char zone[16] = "Z";
	gmtime_r(&t, &tm);
	if (log_zone_s != 0)
		snprintf(zone, sizeof zone, "%c%02d:%02d", log_zone_s < 0 ? '-' : '+',
			 abs(log_zone_s) / 3600, abs(log_zone_s) / 60 % 60);
	return snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s", tm.tm_year + 1900,
			tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			(int)(ms - s * 1000), zone);
}

/* The head of a line.  Under journald: the priority as sd-daemon(3)'s
 * "<N>" prefix (journalctl -p filters on it) and no timestamp, journald
 * stamps each line itself.  Elsewhere: the time in the configured zone.
 * On a test clock the time is the test clock's, labelled so, with the real
 * time beside it: a line never passes a test instant off as a real one. */
static int line_head(char *buf, size_t cap, enum log_level lvl)
{
	static const int prio[] = { 3, 4, 6, 7 }; /* err, warning, info, debug */
	char real[48], test[48];
	struct timeval tv;
	gettimeofday(&tv, NULL);
	int64_t real_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	int n = 0;
	if (under_journal()) {
		n = snprintf(buf, cap, "<%d>", prio[lvl]);
		if (log_test_now_ms) {
			stamp(test, sizeof test, log_test_now_ms());
			n += snprintf(buf + n, cap - (size_t)n, "test-clock=%s ", test);
		}
	} else {
		stamp(real, sizeof real, real_ms);
		if (log_test_now_ms) {
			stamp(test, sizeof test, log_test_now_ms());
			n = snprintf(buf, cap, "%s test-clock real=%s ", test, real);
		} else {
			n = snprintf(buf, cap, "%s ", real);
		}
	}
	return n + snprintf(buf + n, cap - (size_t)n, "%-5s ", log_names[lvl]);
}

/* The line: its head, the escaped message, a newline; one write. */
static void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	/* One buffer, one write: lines from concurrent writers never interleave. */
	char line[4096];
	int n = line_head(line, 256, lvl);
	size_t len = (size_t)n + log_format(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
	fflush(stderr);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	if (lvl > log_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

/* --- rate limits ----------------------------------------------------------------- */

/*
 * A client can cause as many refused connections and forbidden calls as it
 * likes: a line each let one client write 9,055 lines in 80 s, drowning the
 * rest of the log and the disk under it.  A token bucket per kind lets
 * `burst` lines through at once and `per_s` a second after that; what it
 * leaves out is counted and said in one line when lines pass again.
 */
struct log_bucket {
	double tokens;
	uint64_t last_ns;       /* 0: not used yet (full) */
	uint64_t dropped;       /* left out since the last summary */
	uint64_t first_drop_ns; /* when the first of them was */
	uint64_t total;         /* left out since the start */
	enum log_level lvl;     /* of the lines left out */
};

static struct log_bucket log_buckets[LOG_KINDS];
static unsigned log_per_s = 20, log_burst = 100;
static const char *const log_kind_names[LOG_KINDS] = { "refused_connection", "forbidden_call",
							"oversize_request", "request_timeout" };

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void log_set_rate(unsigned per_s, unsigned burst)
{
	log_per_s = per_s;
	log_burst = burst ? burst : 1;
	for (int k = 0; k < LOG_KINDS; k++)
		log_buckets[k].last_ns = 0;
}

const char *log_kind_name(enum log_kind kind) { return log_kind_names[kind]; }
uint64_t log_suppressed(enum log_kind kind) { return log_buckets[kind].total; }

static void summary(enum log_kind kind, uint64_t now)
{
	struct log_bucket *b = &log_buckets[kind];
	if (b->dropped == 0)
		return;
	log_msg(b->lvl, "log: %llu similar lines suppressed in the last %.1f s kind=%s",
		(unsigned long long)b->dropped, (double)(now - b->first_drop_ns) / 1e9,
		log_kind_names[kind]);
	b->dropped = 0;
}

void log_limited(enum log_kind kind, enum log_level lvl, const char *fmt, ...)
{
	if (lvl > log_level || (unsigned)kind >= LOG_KINDS)
		return;
	struct log_bucket *b = &log_buckets[kind];
	uint64_t now = mono_ns();
	if (log_per_s > 0) {
		if (b->last_ns == 0)
			b->tokens = log_burst;
		else
			b->tokens += (double)(now - b->last_ns) / 1e9 * log_per_s;
		if (b->tokens > log_burst)
			b->tokens = log_burst;
		b->last_ns = now;
		if (b->tokens < 1) {
			if (b->dropped++ == 0)
				b->first_drop_ns = now;
			b->total++;
			b->lvl = lvl;
			return;
		}
		b->tokens -= 1;
	}
	summary(kind, now);
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

void log_flush_suppressed(void)
{
	uint64_t now = mono_ns();
	for (int k = 0; k < LOG_KINDS; k++)
		summary((enum log_kind)k, now);
}
