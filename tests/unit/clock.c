/* Unit tests of clock: parsing every accepted form, refusing impossible dates. */
#include <errno.h>

#include "clock.h"
#include "tap.h"

static int64_t parse(const char *s, int *rc)
{
	int64_t t = 0;
	struct clock_why why;
	*rc = clock_parse(s, &t, &why);
	return t;
}

static void accepts(const char *s, const char *want)
{
	int rc;
	int64_t t = parse(s, &rc);
	char buf[CLOCK_ISO_MAX], desc[200];
	snprintf(desc, sizeof desc, "parses %s", s);
	if (is_int(rc, 0, desc)) {
		snprintf(desc, sizeof desc, "%s is %s", s, want);
		is_str(clock_format(t, buf), want, desc);
	}
}

static void refuses(const char *s)
{
	int rc;
	char desc[200];
	parse(s, &rc);
	snprintf(desc, sizeof desc, "refuses %s", s);
	is_int(rc, -EINVAL, desc);
}

int main(void)
{
	accepts("2025-03-31", "2025-03-31T00:00:00+09:00");
	accepts("2025-03-31T23:59:59+09:00", "2025-03-31T23:59:59+09:00");
	accepts("2025-03-31T15:00:00Z", "2025-04-01T00:00:00+09:00");
	accepts("2025-03-31T14:59:59.999Z", "2025-03-31T23:59:59+09:00");
	accepts("2025-04-01T00:00+09:00", "2025-04-01T00:00:00+09:00");
	accepts("2024-02-29", "2024-02-29T00:00:00+09:00");
	accepts("令和7年3月31日", "2025-03-31T00:00:00+09:00");
	accepts("令和元年5月1日", "2019-05-01T00:00:00+09:00");
	accepts("平成31年4月30日", "2019-04-30T00:00:00+09:00");
	accepts("令和５年５月１９日", "2023-05-19T00:00:00+09:00");
	accepts("2023-05-19T00:00:00-05:00", "2023-05-19T14:00:00+09:00");
	accepts("2024/6/1", "2024-06-01T00:00:00+09:00");   /* Excel's own */
	accepts("2024/06/02", "2024-06-02T00:00:00+09:00");
	refuses("2024/2/30");
	refuses("2024/13/1");
	refuses("2024/6/");
	refuses("2024/6/1/");
	refuses("2024/600/1");
	refuses("2023-02-30");
	refuses("2023-02-29");
	refuses("2023-13-01");
	refuses("2023-5-19");
	refuses("令和元年4月1日");
	refuses("平成32年1月1日");
	refuses("令和7年2月30日");
	refuses("2025-03-31T24:00:00+09:00");
	refuses("2025-03-31T23:59:59");
	refuses("2025-03-31T23:59:59+09:00x");
	refuses("");
	refuses("yesterday");
	refuses("9999-12-31T23:59:59-14:00"); /* year 10000 in JST */
	accepts("9999-12-31T14:59:59Z", "9999-12-31T23:59:59+09:00");
	{
		char buf[CLOCK_ISO_MAX];
		is_str(clock_format(INT64_MAX, buf), "9999-12-31T23:59:59+09:00", "formatting clamps, no overflow");
		is_str(clock_format_date(INT64_MIN, buf), "0001-01-01", "at both ends");
	}

	int y, m, d;
	struct clock_why why;
	is_int(clock_parse_date("令和5年6月1日", &y, &m, &d, &why), 0, "parse_date 和暦");
	is_int(y * 10000 + m * 100 + d, 20230601, "parse_date gives 2023-06-01");

	{
		char buf[32];
		is_int(clock_format_wareki(2024, 6, 1, buf, sizeof buf), 0, "format_wareki");
		is_str(buf, "令和6年6月1日", "a day in 和暦");
		clock_format_wareki(2019, 5, 0, buf, sizeof buf);
		is_str(buf, "令和元年5月", "a month, 元年");
		clock_format_wareki(2019, 4, 30, buf, sizeof buf);
		is_str(buf, "平成31年4月30日", "the last day of an era");
		clock_format_wareki(1950, 1, 1, buf, sizeof buf);
		is_str(buf, "昭和25年1月1日", "昭和");
		is_int(clock_format_wareki(1868, 1, 24, buf, sizeof buf), -ERANGE, "before 明治: none");
		is_int(clock_format_wareki(2024, 6, 1, buf, 8), -ENOSPC, "a buffer too small");
	}

	/* The test clock runs forward and can be set; the system clock cannot be set. */
	is_int(clock_set(0), -EPERM, "clock_set refused on the system clock");
	clock_use_test(1700000000);
	ok(clock_is_test(), "test clock in use");
	ok(clock_now() >= 1700000000 && clock_now() < 1700000005, "test clock starts at its instant");
	is_int(clock_set(1800000000), 0, "clock_set on the test clock");
	ok(clock_now() >= 1800000000 && clock_now() < 1800000005, "test clock moved");

	/* clock_watch sees a step back (of the test clock here; of the system
	 * clock on a host, by the same comparison with the monotonic clock). */
	is_int(clock_watch(), 0, "clock_watch: the first call only starts watching");
	is_int(clock_watch(), 0, "clock_watch: a clock running forward is no step");
	clock_set(1800000000 + 7200);
	is_int(clock_watch(), 0, "clock_watch: a step forward is not reported");
	clock_set(1800000000 + 3600);
	int64_t step = clock_watch();
	ok(step <= -3599000 && step >= -3601000, "clock_watch: a step back of an hour is reported");
	tap_diag("step %lld ms", (long long)step);
	is_int(clock_watch(), 0, "clock_watch: once");
	return tap_done();
}
