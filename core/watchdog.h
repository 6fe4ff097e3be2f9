/*
 * watchdog — a stop that cannot be held up.  SIGTERM and SIGINT reach the
 * loop thread's clean stop (liud.c) only when the loop is free; a rule call
 * or a long step in progress would make it wait.  The watchdog is a thread
 * with a libuv loop of its own that watches the same signals (libuv hands a
 * signal to every loop that watches it): at the first one it interrupts every
 * rule call at once (rules_interrupt_all), so the loop thread gets back to
 * its clean stop within milliseconds, and if the process is still there after
 * the grace period it logs why and exits, so that a stop never takes longer.
 * An acknowledged write is durable before it is answered, so the forced exit
 * loses nothing that was acknowledged.
 *
 * Uses libuv, rules (the interrupt) and log.
 */
#ifndef LIU_WATCHDOG_H
#define LIU_WATCHDOG_H

/* Starts the thread.  grace_ms: how long after the first stop signal the
 * process may still run.  Returns 0 or a negative errno. */
int watchdog_start(int grace_ms);
/* Stops and joins the thread (at the end of a clean stop).  A no-op when it
 * was not started. */
void watchdog_stop(void);

#endif
