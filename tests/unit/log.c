/* log: string arguments escaped by where they stand (a client's text
 * cannot end a line, add a field or hide itself), other conversions as
 * printf writes them, and the rate limit of a kind of event. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static char got[4096];

__attribute__((format(printf, 1, 2)))
static const char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	log_format(got, sizeof got, f, ap);
	va_end(ap);
	return got;
}

/* The same conversion through printf, to compare with. */
__attribute__((format(printf, 1, 2)))
static const char *ref(const char *f, ...)
{
	static char want[4096];
	va_list ap;
	va_start(ap, f);
	vsnprintf(want, sizeof want, f, ap);
	va_end(ap);
	return want;
}

/* Runs log lines with stderr in a file; returns what was written (static). */
static FILE *cap_file;
static int saved_err;
static void capture(void)
{
	fflush(stderr);
	cap_file = tmpfile();
	saved_err = dup(2);
	dup2(fileno(cap_file), 2);
}
static const char *captured(void)
{
	static char buf[65536];
	fflush(stderr);
	dup2(saved_err, 2);
	close(saved_err);
	rewind(cap_file);
	size_t n = fread(buf, 1, sizeof buf - 1, cap_file);
	buf[n] = '\0';
	fclose(cap_file);
	return buf;
}
static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

int main(void)
{
	/* Quoted values: " and \ escaped, controls written out. */
	is_str(fmt("rules: refused dir=\"%s\" live=x", "a\" by=root \\x"),
	       "rules: refused dir=\"a\\\" by=root \\\\x\" live=x", "a quote cannot end a quoted value");
	is_str(fmt("e=\"%s\"", "a\nb\rc\td\x1b[2Ke\x7f"), "e=\"a\\x0Ab\\x0Dc\\x09d\\x1B[2Ke\\x7F\"",
	       "newline, CR, TAB, ESC and DEL as \\xNN");
	/* Bare values: quoted when they would end the field. */
	is_str(fmt("dir=%s live=1", "/tmp/x by=root"), "dir=\"/tmp/x by=root\" live=1",
	       "a bare value with a space is quoted");
	is_str(fmt("dir=%s", "/tmp/\"x"), "dir=\"/tmp/\\\"x\"", "a bare value with a quote is quoted");
	is_str(fmt("by=%s id=%s", "", "N-1"), "by=\"\" id=N-1", "an empty bare value is \"\"");
	is_str(fmt("dir=%s", "/tmp/a\nb"), "dir=/tmp/a\\x0Ab", "a bare value's newline is escaped");
	/* Text outside a value: escaped too. */
	is_str(fmt("rules: %s refused", "reload\n2026 info  x"), "rules: reload\\x0A2026 info  x refused",
	       "text in the message is escaped");
	/* Unicode: controls that rewrite a line as \uNNNN, other text as it is. */
	is_str(fmt("t=\"%s\"", "evil\xe2\x80\xae" "live\xc2\x85" "x\xe2\x81\xa6" "y\xd8\x9c" "z\xe2\x80\xa8"),
	       "t=\"evil\\u202Elive\\u0085x\\u2066y\\u061Cz\\u2028\"", "bidi, C1 and separators as \\uNNNN");
	is_str(fmt("t=%s", "申請書-令和6年"), "t=申請書-令和6年", "Japanese text as it is");
	is_str(fmt("t=%s", "a\xff\xc0\x80\xed\xa0\x80z"), "t=a\\xFF\\xC0\\x80\\xED\\xA0\\x80z",
	       "bytes that are not UTF-8 (invalid, overlong, surrogate) as \\xNN");
	/* Precision counts bytes and never cuts a character in two. */
	is_str(fmt("t=%.5s|", "あいう"), "t=あ|", "%.5s of 3-byte characters keeps whole ones");
	is_str(fmt("t=%.6s|", "あいう"), "t=あい|", "%.6s: two of them");
	is_str(fmt("t=%.*s|", 3, "abcdef"), "t=abc|", "%.*s");
	is_str(fmt("[%-5s][%5s]", "ab", "cd"), "[ab   ][   cd]", "widths of strings");
	const char *volatile nul = NULL; /* hidden from the compiler's format check */
	is_str(fmt("%s", nul), "(null)", "a NULL string");
	/* Everything else as printf. */
	uint64_t big = UINT64_MAX;
	is_str(fmt("%d %u %zu %lld %llu %x %o %5.2f %c %% %-4d| %" PRIu64 " %" PRId64 " %hhu %ld %.3e",
		   -42, 42u, (size_t)7, -1234567890123LL, 99ULL, 255u, 8u, 3.14159, 'Q', 3, big,
		   INT64_MIN, (unsigned char)200, -5L, 12345.678),
	       ref("%d %u %zu %lld %llu %x %o %5.2f %c %% %-4d| %" PRIu64 " %" PRId64 " %hhu %ld %.3e",
		   -42, 42u, (size_t)7, -1234567890123LL, 99ULL, 255u, 8u, 3.14159, 'Q', 3, big,
		   INT64_MIN, (unsigned char)200, -5L, 12345.678),
	       "numbers as printf writes them");
	is_str(fmt("%*d|%-*d|%.*f", 6, 12, -6, 34, 2, 1.23456), ref("%*d|%-*d|%.*f", 6, 12, -6, 34, 2, 1.23456),
	       "* widths and precisions");
	is_str(fmt("a=%s b=%d c=\"%s\" d=%zu", "x", 1, "y", (size_t)2), "a=x b=1 c=\"y\" d=2",
	       "arguments stay in step across conversions");
	/* A value longer than the buffer is cut, and the buffer terminated. */
	char *lng = malloc(5000);
	memset(lng, 'a', 4999);
	lng[4999] = '\0';
	fmt("x=%s", lng);
	is_int((long long)strlen(got), (long long)sizeof got - 1, "a long value fills the buffer, no more");
	free(lng);

	/* The rate limit: a burst, then lines are counted and said once. */
	log_set_rate(20, 3);   /* a token every 50 ms: the loop below takes far less, even under ASan */
	capture();
	for (int i = 0; i < 10; i++)
		log_limited(LOG_KIND_FORBIDDEN_CALL, LOG_WARN, "rpc: forbidden n=%d", i);
	const char *out = captured();
	is_int(count(out, "rpc: forbidden"), 3, "a burst of 3 lines of 10");
	is_int((long long)log_suppressed(LOG_KIND_FORBIDDEN_CALL), 7, "7 left out, counted");
	is_int(count(out, "\n"), 3, "and nothing else written yet");
	usleep(200000); /* 20 a second: the bucket has tokens again */
	capture();
	log_limited(LOG_KIND_FORBIDDEN_CALL, LOG_WARN, "rpc: forbidden n=%d", 10);
	log_limited(LOG_KIND_REFUSED_CONNECTION, LOG_WARN, "server: refused");
	out = captured();
	ok(strstr(out, "warn  log: 7 similar lines suppressed in the last ") != NULL &&
	   strstr(out, " s kind=forbidden_call\n") != NULL, "the summary line when lines pass again");
	ok(strstr(out, "log: 7") < strstr(out, "rpc: forbidden n=10"), "before the line that passes");
	ok(strstr(out, "server: refused") != NULL, "each kind has a bucket of its own");
	is_int(count(out, "suppressed"), 1, "one summary");
	log_set_rate(0, 1);
	capture();
	for (int i = 0; i < 500; i++)
		log_limited(LOG_KIND_OVERSIZE, LOG_WARN, "server: over n=%d", i);
	out = captured();
	is_int(count(out, "server: over"), 500, "lines_per_s = 0: no limit");

	/* The zone of the timestamps (log_time_zone). */
	static const char *const zones_ok[] = { "JST", "Asia/Tokyo", "UTC", "Z", "+09:00", "-03:30",
						"+00:00", "+14:00" };
	static const char *const zones_bad[] = { "", "jst", "Mars/Olympus", "+9", "+09:0", "+09:00x",
						 "+15:00", "+09:60", "09:00" };
	for (size_t i = 0; i < sizeof zones_ok / sizeof *zones_ok; i++)
		is_int(log_set_zone(zones_ok[i]), 0, fmt("zone %s is taken", zones_ok[i]));
	for (size_t i = 0; i < sizeof zones_bad / sizeof *zones_bad; i++)
		is_int(log_set_zone(zones_bad[i]), -EINVAL, fmt("zone \"%s\" is refused", zones_bad[i]));
	log_set_zone("-03:30");
	capture();
	log_msg(LOG_INFO, "liud: zone");
	out = captured();
	ok(strlen(out) > 30 && memcmp(out + 23, "-03:30 info  liud: zone", 23) == 0, "a line stamped -03:30");
	log_set_zone("UTC");
	capture();
	log_msg(LOG_WARN, "liud: zone");
	out = captured();
	ok(strlen(out) > 25 && memcmp(out + 23, "Z warn  liud: zone", 18) == 0, "and in UTC with Z");
	return tap_done();
}
