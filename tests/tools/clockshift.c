/*
 * clockshift — a test tool preloaded into liud (LD_PRELOAD) to step the
 * system clock of that one process, as an operator or NTP steps a host's:
 * CLOCK_REALTIME (and time(), gettimeofday()) read the real clock minus the
 * seconds written in the file $CLOCKSHIFT_FILE (read again every 50 ms of
 * the monotonic clock, which stays as it is, as on a real host).  Not part
 * of liud.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static int (*real_gettime)(clockid_t, struct timespec *);
static long long back_s, read_at_ms = -1000;

static void refresh(void)
{
	struct timespec m;
	real_gettime(CLOCK_MONOTONIC, &m);
	long long now = (long long)m.tv_sec * 1000 + m.tv_nsec / 1000000;
	if (now - read_at_ms < 50)
		return;
	read_at_ms = now;
	const char *path = getenv("CLOCKSHIFT_FILE");
	FILE *f = path ? fopen(path, "r") : NULL;
	if (!f)
		return;
	long long v;
	if (fscanf(f, "%lld", &v) == 1)
		back_s = v;
	fclose(f);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	if (!real_gettime)
		real_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	int rc = real_gettime(id, ts);
	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
		refresh();
		ts->tv_sec -= back_s;
	}
	return rc;
}

int gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec ts;
	int rc = clock_gettime(CLOCK_REALTIME, &ts);
	(void)tz;
	if (rc == 0) {
		tv->tv_sec = ts.tv_sec;
		tv->tv_usec = ts.tv_nsec / 1000;
	}
	return rc;
}

time_t time(time_t *t)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}
