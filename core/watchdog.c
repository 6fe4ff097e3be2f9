/* watchdog — see watchdog.h. */
#include "watchdog.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "log.h"
#include "rules.h"

static struct {
	uv_loop_t loop;
	uv_thread_t thread;
	uv_signal_t term, intr;
	uv_timer_t grace;
	uv_async_t quit;
	int grace_ms;
	bool started, signalled;
} wd;

static void on_grace(uv_timer_t *t)
{
	(void)t;
	/* The loop thread did not finish its clean stop in time: whatever it
	 * is doing (a step of C code no budget reaches), the stop is not to
	 * wait for it. */
	log_err("liud: not stopped %d ms after the signal; exiting now (acknowledged writes are durable)",
		wd.grace_ms);
	_exit(1);
}

static void on_signal(uv_signal_t *h, int sig)
{
	(void)h;
	rules_interrupt_all();
	if (wd.signalled)
		return;
	wd.signalled = true;
	log_info("liud: stop signal received signal=%s; rule calls interrupted, %d ms to stop",
		 sig == SIGTERM ? "SIGTERM" : "SIGINT", wd.grace_ms);
	uv_timer_start(&wd.grace, on_grace, (uint64_t)wd.grace_ms, 0);
}

static void on_quit(uv_async_t *a)
{
	(void)a;
	uv_close((uv_handle_t *)&wd.term, NULL);
	uv_close((uv_handle_t *)&wd.intr, NULL);
	uv_close((uv_handle_t *)&wd.grace, NULL);
	uv_close((uv_handle_t *)&wd.quit, NULL);
}

static void run(void *arg)
{
	(void)arg;
	uv_run(&wd.loop, UV_RUN_DEFAULT);
}

int watchdog_start(int grace_ms)
{
	int rc = uv_loop_init(&wd.loop);
	if (rc < 0)
		return rc;
	wd.grace_ms = grace_ms;
	uv_signal_init(&wd.loop, &wd.term);
	uv_signal_init(&wd.loop, &wd.intr);
	uv_timer_init(&wd.loop, &wd.grace);
	uv_async_init(&wd.loop, &wd.quit, on_quit);
	uv_signal_start(&wd.term, on_signal, SIGTERM);
	uv_signal_start(&wd.intr, on_signal, SIGINT);
	rc = uv_thread_create(&wd.thread, run, NULL);
	if (rc < 0) {
		on_quit(&wd.quit);
		uv_run(&wd.loop, UV_RUN_DEFAULT);
		uv_loop_close(&wd.loop);
		return rc;
	}
	wd.started = true;
	return 0;
}

void watchdog_stop(void)
{
	if (!wd.started)
		return;
	uv_async_send(&wd.quit);
	uv_thread_join(&wd.thread);
	uv_loop_close(&wd.loop);
	wd.started = false;
}
