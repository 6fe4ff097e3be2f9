/*
 * slice — work whose size a client or a pack chooses (a view over every
 * record, an import of 100,000 rows), run on the loop thread in bounded
 * slices so that other clients are served between them.
 *
 * A job is a step function and its state.  The slicer runs one step of one
 * job per loop turn, round robin (an idle handle: the loop polls its sockets
 * without waiting between two steps), so a client's status waits for at most
 * one step however many jobs there are.  A step works until the instant it
 * is given (SLICE_STEP_US from its start) and says whether it has more to do
 * now, must wait (its client reads slowly: tried again after SLICE_WAIT_MS,
 * without spinning), or is done.  Cancelling, caps and the reply are the
 * job's business (rpc_job.c); this module only takes turns.  Depends on
 * libuv; loop thread only.
 */
#ifndef LIU_SLICE_H
#define LIU_SLICE_H

#include <stddef.h>
#include <stdint.h>

#define SLICE_STEP_US 5000 /* one step's work: the longest another client waits for it */
#define SLICE_WAIT_MS 5    /* a waiting job is tried again after this */

enum slice_next {
	SLICE_MORE, /* run me again at my next turn */
	SLICE_WAIT, /* nothing to do now (my client has not read what I wrote) */
	SLICE_DONE, /* finished: the job freed its state; the slicer forgets it */
};

/* Does work until monotonic microsecond `until_us`, then returns. */
typedef enum slice_next (*slice_fn)(void *ud, int64_t until_us);

struct slicer;

/* Returns 0 with *out, or -ENOMEM.  `loop` is the uv_loop_t. */
int slicer_new(struct slicer **out, void *loop);
/* Frees the slicer.  Jobs still queued are dropped without a call (the loop
 * has stopped; their clients are gone): free only after the loop ran down. */
void slicer_free(struct slicer *s);

/* Queues a job; its first step runs at a later loop turn, never inside this
 * call.  Returns 0 or -ENOMEM (nothing queued). */
int slicer_add(struct slicer *s, slice_fn fn, void *ud);

/* Monotonic microseconds, the clock the steps are given. */
int64_t slice_now_us(void);

#endif
