/* clock — see clock.h. */
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static bool clock_test;
static int64_t clock_test_base_ms;  /* test instant at clock_test_mono_ms */
static int64_t clock_test_mono_ms;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_use_test(int64_t start)
{
	clock_test = true;
	clock_test_base_ms = start * 1000;
	clock_test_mono_ms = mono_ms();
}

bool clock_is_test(void) { return clock_test; }

int64_t clock_mono_ms(void) { return mono_ms(); }

int clock_set(int64_t now)
{
	if (!clock_test)
		return -EPERM;
	clock_use_test(now);
	return 0;
}

int64_t clock_now_ms(void)
{
	if (clock_test)
		return clock_test_base_ms + (mono_ms() - clock_test_mono_ms);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_now(void)
{
	int64_t ms = clock_now_ms();
	return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

static bool watch_started;
static int64_t watch_now_ms, watch_mono_ms; /* at the last clock_watch() */

int64_t clock_watch(void)
{
	int64_t now = clock_now_ms(), mono = mono_ms();
	int64_t step = (now - watch_now_ms) - (mono - watch_mono_ms);
	bool first = !watch_started;
	int64_t was = watch_now_ms + (mono - watch_mono_ms); /* where now would be */
	watch_started = true;
	watch_now_ms = now;
	watch_mono_ms = mono;
	if (first || step > -CLOCK_STEP_NOISE_MS)
		return 0;
	/* A clock stepped back makes the instants already passed come again:
	 * the scheduler opens the deadlines enforced since (sched.c). */
	char from[CLOCK_ISO_MAX], to[CLOCK_ISO_MAX];
	log_warn("clock: stepped back by %lld ms from=%s to=%s clock=%s", (long long)-step,
		 clock_format(was / 1000, from), clock_format(now / 1000, to),
		 clock_test ? "test" : "system");
	return step;
}

/* Days since 1970-01-01 of a proleptic Gregorian date: Howard Hinnant's
 * days_from_civil, exact for the whole proleptic calendar. */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153u * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Whether the date exists, in years 1 to 9999. */
static bool valid_date(int y, int m, int d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
		return false;
	int max = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		max = 29;
	return d <= max;
}

#define WHY(j, e) (*why = (struct clock_why){ (j), (e) }, -EINVAL)

/* Reads exactly n ASCII digits; returns the value or -1. */
static int digits(const char **p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	return v;
}

/* Reads 1..4 digits, ASCII or full-width (U+FF10..FF19, EF BC 90..99).
 * Returns the value or -1. */
static int wide_number(const char **p)
{
	const unsigned char *s = (const unsigned char *)*p;
	int v = 0, n = 0;
	for (;;) {
		if (*s >= '0' && *s <= '9') {
			v = v * 10 + (*s - '0');
			s += 1;
		} else if (s[0] == 0xEF && s[1] == 0xBC && s[2] >= 0x90 && s[2] <= 0x99) {
			v = v * 10 + (s[2] - 0x90);
			s += 3;
		} else {
			break;
		}
		if (++n > 4)
			return -1;
	}
	if (n == 0)
		return -1;
	*p = (const char *)s;
	return v;
}

static bool eat(const char **p, const char *lit)
{
	size_t n = strlen(lit);
	if (strncmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

/* 和暦: era start (inclusive) and end (inclusive) as y*10000+m*100+d. */
static const struct {
	const char *name;
	int first_year; /* Gregorian year of 元年 */
	int from, to;
} eras[] = {
	{ "令和", 2019, 20190501, 99991231 },
	{ "平成", 1989, 19890108, 20190430 },
	{ "昭和", 1926, 19261225, 19890107 },
	{ "大正", 1912, 19120730, 19261224 },
	{ "明治", 1868, 18680125, 19120729 },
};

static int parse_wareki(const char *s, int *y, int *m, int *d, struct clock_why *why)
{
	const char *p = s;
	size_t e;
	for (e = 0; e < sizeof eras / sizeof eras[0]; e++)
		if (eat(&p, eras[e].name))
			break;
	if (e == sizeof eras / sizeof eras[0])
		return WHY("日付の形式が不正です（例: 2025-03-31、令和7年3月31日）",
			   "not a date (use 2025-03-31 or 令和7年3月31日)");
	int ey = eat(&p, "元") ? 1 : wide_number(&p);
	if (ey < 1 || !eat(&p, "年"))
		return WHY("和暦の年が不正です", "bad 和暦 year");
	int mm = wide_number(&p);
	if (mm < 0 || !eat(&p, "月"))
		return WHY("和暦の月が不正です", "bad 和暦 month");
	int dd = wide_number(&p);
	if (dd < 0 || !eat(&p, "日") || *p != '\0')
		return WHY("和暦の日が不正です", "bad 和暦 day");
	int yy = eras[e].first_year + ey - 1;
	if (!valid_date(yy, mm, dd))
		return WHY("存在しない日付です", "no such date");
	int key = yy * 10000 + mm * 100 + dd;
	if (key < eras[e].from || key > eras[e].to)
		return WHY("その元号の期間外の日付です", "date outside that era");
	*y = yy, *m = mm, *d = dd;
	return 0;
}

int clock_format_wareki(int y, int m, int d, char *buf, size_t len)
{
	/* The era of the day, or of the month's first day for a month. */
	int key = y * 10000 + m * 100 + (d > 0 ? d : 1);
	for (size_t e = 0; e < sizeof eras / sizeof eras[0]; e++) {
		if (key < eras[e].from || key > eras[e].to)
			continue;
		char year[16];
		int ey = y - eras[e].first_year + 1;
		if (ey == 1)
			snprintf(year, sizeof year, "元");
		else
			snprintf(year, sizeof year, "%d", ey);
		int n = d > 0 ? snprintf(buf, len, "%s%s年%d月%d日", eras[e].name, year, m, d)
			      : snprintf(buf, len, "%s%s年%d月", eras[e].name, year, m);
		return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
	}
	return -ERANGE;
}

/* Reads one or two ASCII digits; returns the value or -1. */
static int one_or_two(const char **p)
{
	int v = digits(p, 2);
	return v >= 0 ? v : digits(p, 1);
}

/* The rest of Excel's own date, 2024/6/1 (month and day of one or two
 * digits), after "YYYY/". */
static int slash_date(int yy, const char *p, int *y, int *m, int *d, struct clock_why *why)
{
	int mm = one_or_two(&p);
	if (mm < 0 || !eat(&p, "/"))
		return WHY("日付の形式が不正です（例: 2025-03-31、2025/3/31）", "not a date (use 2025-03-31 or 2025/3/31)");
	int dd = one_or_two(&p);
	if (dd < 0 || *p != '\0')
		return WHY("日付の形式が不正です（例: 2025-03-31、2025/3/31）", "not a date (use 2025-03-31 or 2025/3/31)");
	if (!valid_date(yy, mm, dd))
		return WHY("存在しない日付です", "no such date");
	*y = yy, *m = mm, *d = dd;
	return 0;
}

int clock_parse_date(const char *s, int *y, int *m, int *d, struct clock_why *why)
{
	const char *p = s;
	if (*p < '0' || *p > '9')
		return parse_wareki(s, y, m, d, why);
	int yy = digits(&p, 4);
	if (yy >= 0 && eat(&p, "/"))
		return slash_date(yy, p, y, m, d, why);
	if (yy < 0 || !eat(&p, "-"))
		return WHY("日付の形式が不正です（例: 2025-03-31）", "not a date (use YYYY-MM-DD)");
	int mm = digits(&p, 2);
	if (mm < 0 || !eat(&p, "-"))
		return WHY("日付の形式が不正です（例: 2025-03-31）", "not a date (use YYYY-MM-DD)");
	int dd = digits(&p, 2);
	if (dd < 0 || *p != '\0')
		return WHY("日付の形式が不正です（例: 2025-03-31）", "not a date (use YYYY-MM-DD)");
	if (!valid_date(yy, mm, dd))
		return WHY("存在しない日付です", "no such date");
	*y = yy, *m = mm, *d = dd;
	return 0;
}

int clock_parse(const char *s, int64_t *out, struct clock_why *why)
{
	int y, m, d;
	const char *t = strchr(s, 'T');
	if (!t) {
		int rc = clock_parse_date(s, &y, &m, &d, why);
		if (rc < 0)
			return rc;
		*out = days_from_civil(y, m, d) * 86400 - CLOCK_JST_OFFSET;
		return 0;
	}
	/* ISO-8601 date-time: the date part, then HH:MM[:SS[.frac]] and a zone. */
	char date[16];
	size_t dl = (size_t)(t - s);
	if (dl >= sizeof date)
		return WHY("日時の形式が不正です（例: 2025-03-31T23:59:59+09:00）",
			   "not an instant (use 2025-03-31T23:59:59+09:00)");
	memcpy(date, s, dl);
	date[dl] = '\0';
	if (date[0] < '0' || date[0] > '9' || clock_parse_date(date, &y, &m, &d, why) < 0)
		return WHY("日時の日付部分が不正です", "bad date in the instant");
	const char *p = t + 1;
	int hh = digits(&p, 2), mi = -1, ss = 0;
	if (hh >= 0 && eat(&p, ":"))
		mi = digits(&p, 2);
	if (hh < 0 || mi < 0 || hh > 23 || mi > 59)
		return WHY("時刻が不正です", "bad time of day");
	if (eat(&p, ":")) {
		ss = digits(&p, 2);
		if (ss < 0 || ss > 60)
			return WHY("秒が不正です", "bad seconds");
		if (ss == 60)
			ss = 59; /* a leap second is the last second of its minute */
		if (eat(&p, ".") || eat(&p, ",")) {
			if (*p < '0' || *p > '9')
				return WHY("秒の小数部が不正です", "bad fraction of a second");
			while (*p >= '0' && *p <= '9')
				p++; /* sub-second precision is dropped: rules work in seconds */
		}
	}
	int off;
	if (eat(&p, "Z") || eat(&p, "z")) {
		off = 0;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		p++;
		int oh = digits(&p, 2);
		eat(&p, ":");
		int om = digits(&p, 2);
		if (oh < 0 || om < 0 || oh > 14 || om > 59)
			return WHY("時差（タイムゾーン）が不正です", "bad UTC offset");
		off = sign * (oh * 3600 + om * 60);
	} else {
		return WHY("時差（+09:00 など）がありません", "the instant has no UTC offset (add +09:00)");
	}
	if (*p != '\0')
		return WHY("日時の後ろに余分な文字があります", "trailing characters after the instant");
	int64_t at = days_from_civil(y, m, d) * 86400 + hh * 3600 + mi * 60 + ss - off;
	if (at < CLOCK_MIN || at > CLOCK_MAX)
		return WHY("日本時間で西暦1年から9999年の範囲外です", "outside the years 0001 to 9999 in JST");
	*out = at;
	return 0;
}

static int64_t clamp(int64_t t)
{
	return t < CLOCK_MIN ? CLOCK_MIN : t > CLOCK_MAX ? CLOCK_MAX : t;
}

char *clock_format(int64_t t, char *buf)
{
	int64_t j = clamp(t) + CLOCK_JST_OFFSET;
	int64_t days = j >= 0 ? j / 86400 : -((-j + 86399) / 86400);
	int64_t sod = j - days * 86400;
	int y, m, d;
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, CLOCK_ISO_MAX, "%04d-%02d-%02dT%02d:%02d:%02d+09:00", y, m, d,
		 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
	return buf;
}

char *clock_format_date(int64_t t, char *buf)
{
	int64_t j = clamp(t) + CLOCK_JST_OFFSET;
	int64_t days = j >= 0 ? j / 86400 : -((-j + 86399) / 86400);
	int y, m, d;
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, 11, "%04d-%02d-%02d", y, m, d);
	return buf;
}
