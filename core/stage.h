/*
 * stage — enforcement computed ahead of its deadline.  Owned by sched, which
 * tells it the next deadline and applies what it staged at the run; uses
 * expiry, rules, ledger, evalcache, the store's reads and libuv.
 *
 * An expiry hook's result depends only on the record and the deadline, so
 * it can be computed before the deadline.  From `secs` before the next
 * deadline, in idle steps bounded by count and time, every record its hooks
 * apply to (all the deadlines at that instant, chained in order) is run
 * through them and the outcome is kept in the store as a row under
 * "stage/<id>" (LEDGER_STAGE_PREFIX; the store keeps those keys in a range
 * of their own, store_opts.range, dropped at once when the run ends).  At
 * the deadline the run applies the rows first, with no decoding, no Lua and
 * no encoding: stamp, seal, write.
 *
 * A staged outcome is only ever applied to the version it came from: every
 * write of a record deletes its row in the same transaction (ledger.c), a
 * record with a write in flight is not staged, and a row names the instant
 * and the pack version it was computed for (a reload or a moved deadline
 * makes it stale: the run then takes the record through its hooks as
 * usual).  Rows are durable hints: after a restart, staging goes on where
 * they are missing and a catch-up run applies them.  A row this build cannot
 * read (another format version, or damaged) is a hint lost, never guessed at:
 * the run takes the record.
 *
 * Its log lines say "sched:": to an operator, staging is the scheduler's.
 */
#ifndef LIU_STAGE_H
#define LIU_STAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ledger.h"
#include "rules.h"
#include "store.h"

/* --- the row ------------------------------------------------------------------ */

/*
 * A row, version 1, is text lines and then binary:
 *
 *   1 \t at \t pack \t kind \t state \t rev \t old_kind \t old_state \t
 *     audits \t eval \t frame_len \n              (the header: plain text)
 *   audit entry \n  (× audits: JSON text without "time" and the seal)
 *   eval's answer \n                               (when eval is 1)
 *   frame                                          (frame_len bytes)
 *
 * The first field is the format version: a row of another version is
 * recognised as such and refused, never read as this one.  Names hold no tab
 * or newline, and JSON text holds no raw newline.  The frame is the new
 * version's JSON text without "updated_at" and its opening brace, compressed
 * (store_frame()): the run puts the stamp in front (compress.h).
 */
#define STAGE_ROW_VERSION 1

struct stage_row {
	unsigned version;                 /* STAGE_ROW_VERSION once parsed */
	int64_t at;                       /* the deadline's instant */
	const char *pack;                 /* the pack version it was computed with */
	const char *kind, *state;         /* of the new version */
	int64_t rev;                      /* of the new version */
	const char *old_kind, *old_state; /* of the version it came from */
	const char **audits;              /* n_audits audit entries' text */
	size_t n_audits;                  /* one per deadline that changed it: >= 1 */
	const char *eval;                 /* eval's answer as the memo keeps it
					   * (rules_eval_memo_text), or NULL */
	const char *frame;                /* binary, frame_len > 0 bytes */
	size_t frame_len;
};

/* Formats `r` (its version is ignored: rows are written in
 * STAGE_ROW_VERSION).  Returns 0 with *out (caller frees; binary) and *len,
 * -EINVAL when a name is missing or holds a tab or newline, a text holds a
 * newline, there is no audit entry or no frame, or -ENOMEM. */
int stage_row_format(const struct stage_row *r, char **out, size_t *len);

/*
 * Parses the row in `buf` (`len` bytes, modified: its lines and fields are
 * cut in place, and *r borrows from it).  Returns 0 with *r filled (release
 * with stage_row_clear()), -EPROTONOSUPPORT for a row of another format
 * version, -EBADMSG for a damaged one, or -ENOMEM.  When `key` is not NULL,
 * a row refused is logged with its key.
 */
int stage_row_parse(char *buf, size_t len, const char *key, struct stage_row *r);
void stage_row_clear(struct stage_row *r);

/* --- staging -------------------------------------------------------------------- */

struct stage;
struct evalcache_head;

/* A deadline as staging sees it (borrowed for the call). */
struct stage_deadline {
	const char *measure;
	int64_t at;
	const json_t *hooks; /* [{kind, states}], as rules_deadlines() gives them */
};

/* Creates the stager: it stages from `secs` before a deadline (0: never).
 * Returns 0 with *out (close with stage_close()) or -ENOMEM.  All borrowed
 * for its lifetime. */
int stage_new(struct stage **out, uv_loop_t *loop, struct store *st, struct ledger *l,
	      int64_t secs);
/* Stops staging; the struct is freed once its timer is closed and no
 * write of its is in flight. */
void stage_close(struct stage *g);
/* Whether staging is on (secs > 0). */
bool stage_enabled(const struct stage *g);

/* The next deadline not yet enforced is at `at`, with the deadlines `dl`
 * (n of them, every one not enforced at that instant), under `rules`
 * (borrowed until stage_reset()).  Starts a pass when it is time and none
 * runs; passes again once records were written since the last. */
void stage_maybe_start(struct stage *g, struct rules *rules, const struct stage_deadline *dl,
		       size_t n, int64_t at);
/* Forgets the pass in progress (a run starts, the pack or the plan changed). */
void stage_reset(struct stage *g);
/* {enabled, at, active, done, records_seen, records_staged, records_ready,
 * hook_failures} of the last or current pass (new). */
json_t *stage_status(const struct stage *g);

/* --- applying, at the run ------------------------------------------------------ */

/* The run at instant `at` begins: what was staged for it goes first, after
 * the rows a run cut short already applied. */
void stage_apply_begin(struct stage *g, int64_t at);
/* Whether record `id` was applied from its row at this instant (the run's
 * lanes skip it). */
bool stage_applied(const struct stage *g, const char *id);

/* One batch of staged outcomes, ready for ledger_write() with `meta` (the
 * apply cursor): everything owned by the batch (stage_batch_free()). */
struct stage_batch {
	struct ledger_change *ch;
	size_t n;            /* records */
	uint64_t changes;    /* audit entries: a record may change at several deadlines */
	bool done;           /* nothing is left to apply after this batch */
	const char *meta[3]; /* key, value, NULL */
	/* owned, per record: the row's bytes, the id, the audit pointers, the memo */
	char **bufs, **ids, *cursor;
	const char ***auds;
	struct ledger_memo *memos;
	struct evalcache_head *heads;
};

/* Collects up to `cap` staged records still valid for `at` under `rules`,
 * until clock_now_ms() reaches `until_ms`.  Returns 0 with *b filled (b->n
 * may be 0), or a negative errno (*b empty). */
int stage_apply_next(struct stage *g, struct rules *rules, int64_t at, size_t cap,
		     int64_t until_ms, struct stage_batch *b);
void stage_batch_free(struct stage_batch *b);
/* After the run's last batch: every row is applied or stale, and all go at
 * once, with the apply cursor (a write of its own; a failure is logged and
 * the next run drops them). */
void stage_drop(struct stage *g);

#endif
