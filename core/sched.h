/*
 * sched — deadlines and their enforcement.  Sits beside rpc and uses the
 * same rules and ledger.
 *
 * The deadlines are the ends of the live pack's temporary measures.  Each
 * one is enforced once the clock passes it, and again if the clock steps
 * back before it and passes it again (sched.c, reopen()): its expiry hooks run over the records of the
 * kinds and states they name (found through the store's kind+state index,
 * never by scanning every record), in batches of `enforce_batch` records,
 * each batch one durable write with an audit entry per changed record.  A
 * marker "enforced/<measure>@<instant>" is written with the last batch; a
 * run cut short by a crash simply runs again, and records already changed no
 * longer match their hooks' states.
 *
 * Staging: from `stage_secs` before a deadline the same hooks run in idle
 * steps and each record's outcome is kept in the store; the run at the
 * deadline writes those first (stage.h).
 *
 * The timer never trusts a long sleep: it wakes at least once a second and
 * compares the deadline with the (wall or test) clock, so a clock stepped
 * forwards or backwards neither expires anything early nor more than a
 * second late.  Between batches the loop serves other clients.
 */
#ifndef LIU_SCHED_H
#define LIU_SCHED_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "ledger.h"
#include "rules.h"
#include "store.h"

struct sched;

typedef void (*sched_done_fn)(void *ud, json_t *report /* stolen */);

/* Creates the scheduler for `rules` (borrowed; see sched_set_rules()),
 * enforcing in batches of `batch` records, staging from `stage_secs` before
 * each deadline (0: never; stage.h).  Returns 0 with *out (close with
 * sched_close()) or -ENOMEM. */
int sched_new(struct sched **out, uv_loop_t *loop, struct store *st, struct ledger *l,
	      struct rules *rules, int batch, int64_t stage_secs);
/* Stops the timer; the struct is freed once its handles are closed. */
void sched_close(struct sched *s);

/* The live pack changed (reload): re-plans; a run in progress stops after
 * its batch in flight and starts again under the new pack. */
void sched_set_rules(struct sched *s, struct rules *rules);
/* The clock was set (test clock): look again now. */
void sched_kick(struct sched *s);

/*
 * Enforces everything due now.  done(ud, report) runs once all of it is
 * durable: report = {enforced:[{measure, at, changed, seen}], pending:[...]}.
 * Returns 0, or -EBUSY when a run is already going (done is then called when
 * that run ends).
 */
int sched_enforce_now(struct sched *s, sched_done_fn done, void *ud);

/* Upcoming (and overdue, not yet enforced) deadlines: a new array of
 * {measure, title, at, due, enforced, records_affected}, at most `limit`. */
json_t *sched_deadlines(struct sched *s, size_t limit, bool include_done);
/* The next deadline not yet enforced as ISO text, or NULL. (borrowed until
 * the next call) */
const char *sched_next(struct sched *s);
/* {enabled, at, active, done, records_seen, records_staged (this pass),
 * records_ready (staged and valid), hook_failures} of the last or current
 * pass (new). */
json_t *sched_staging(struct sched *s);

struct sched_stats {
	uint64_t runs, records_changed, batches;
};
void sched_stats(const struct sched *s, struct sched_stats *out);

#endif
