/*
 * ledger — records as JSON on top of the store and the committer: the
 * latest version of each record (the committed one, or the one a write in
 * flight will commit), record ids, and the audit chain.  Both the methods
 * (rpc) and enforcement (sched) write through here, so every change gets
 * its audit entry in the same transaction and the chain stays in order.
 *
 * Reads for replies use ledger_get(): committed data only, so nobody sees a
 * change before it is durable.  Decisions about a new change use
 * ledger_latest(): a second write to a record must build on the first even
 * while the first is still being committed.
 */
#ifndef LIU_LEDGER_H
#define LIU_LEDGER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "commit.h"
#include "store.h"

struct ledger;

int ledger_open(struct ledger **out, struct store *st, struct commit *c);
void ledger_close(struct ledger *l);

/* The committed record `id`: 0 with *rec (a reference: caller decrefs and
 * must not modify it, it may be shared with the cache), -ENOENT, or a
 * negative errno (-EIO when the stored JSON does not parse). */
int ledger_get(struct ledger *l, const char *id, json_t **rec);
/* The committed record `id` when the record cache holds it decoded (a new
 * reference, shared as ledger_get's: do not modify), else NULL. */
json_t *ledger_cached(struct ledger *l, const char *id);
/* The committed record `id` as JSON text, not decoded and not cached: 0
 * with *text (NUL-terminated, caller frees) and *len, -ENOENT, or a
 * negative errno.  eval reads a record the cache does not hold this way. */
int ledger_get_text(struct ledger *l, const char *id, char **text, size_t *len);

/* Sets the budget of the cache of decoded committed records (bytes of stored
 * JSON; 0 disables it).  Reads of hot records then decode nothing. */
void ledger_set_cache(struct ledger *l, size_t bytes);

/*
 * The memo: bytes a caller derived from the committed version of record
 * `id` (eval keeps its encoded answer there).  The ledger drops them when a
 * write to `id` commits, so they never outlive the version they came from;
 * what else they depend on (the pack, the time) the caller keeps inside the
 * bytes and checks.  An entry is a head, the record's own bytes, and a
 * body, which entries with equal bodies share (stored once).  Budget in
 * bytes (0: off); the oldest entries go first.
 *
 * ledger_memo_get() fills *out with borrowed bytes (valid until the next
 * ledger_memo_put/clear or write completion) and returns true, or returns
 * false; ledger_memo_put() copies them; ledger_memo_size() counts entries
 * (and the bytes charged and the distinct bodies).
 */
struct ledger_memo {
	const char *head;
	size_t head_len;
	const char *body; /* no NUL byte (bodies are interned by their bytes) */
	size_t body_len;
};
void ledger_set_memo(struct ledger *l, size_t bytes);
bool ledger_memo_get(struct ledger *l, const char *id, struct ledger_memo *out);
void ledger_memo_put(struct ledger *l, const char *id, const struct ledger_memo *m);
void ledger_memo_clear(struct ledger *l);
size_t ledger_memo_size(const struct ledger *l, size_t *bytes, size_t *bodies);
/* The latest record `id`, including writes in flight.  Same returns; the
 * record is likewise a shared reference that must not be modified. */
int ledger_latest(struct ledger *l, const char *id, json_t **rec);
/* The latest record `id` as JSON text, including writes in flight, without
 * decoding it: 0 with *text (NUL-terminated, caller frees) and *len, -ENOENT,
 * or a negative errno.  An action reads the record this way (rules_text.h). */
int ledger_latest_text(struct ledger *l, const char *id, char **text, size_t *len);

/* The version of `id` a write in flight will commit, or NULL (borrowed:
 * valid until the next loop turn; do not modify). */
json_t *ledger_pending(struct ledger *l, const char *id);
/* Whether a write of `id` is in flight (without decoding anything). */
bool ledger_is_pending(const struct ledger *l, const char *id);

/* A new record id "<prefix><number>" (caller frees).  Ids are never reused,
 * even when the write that took one fails. */
char *ledger_new_id(struct ledger *l, const char *prefix);

/* Metadata keys of enforcement staged ahead of a deadline (stage.h):
 * "stage/<id>".  Every write of a record deletes its key, but the write of
 * the staged outcome itself: the run drops them all at its end
 * (ledger_drop_staged).  The daemon opens the store with these keys as its
 * droppable range (store_opts), in a table of that name. */
#define LEDGER_STAGE_PREFIX "stage/"
#define LEDGER_STAGE_TABLE "staged"

/* One change of a write: the record's new version and its audit entry. */
struct ledger_change {
	json_t *record;        /* full new record; the ledger keeps a reference:
				* never modify it after ledger_write().  NULL
				* for a change given as text or prepared (below) */
	const char *old_kind;  /* NULL for a new record */
	const char *old_state;
	json_t *audit;         /* audit entry to seal; borrowed; sealed in place */
	char **encoded;        /* NULL, or set to a copy of the record's stored
				* JSON (caller frees): a reply can carry those
				* bytes instead of encoding the record again */
	/* Without `record`: the new version's id, kind, state and rev (all
	 * borrowed), and either its text or its prepared form. */
	const char *id, *kind, *state;
	json_int_t rev;
	/* A change given as text: the full new record's JSON (borrowed; it is
	 * stored as it is), assembled by an action from the text of the old
	 * version (rpc_records.c); its audit entry is `audit`, as above. */
	const char *text;
	size_t text_len;
	/* A prepared change: enforcement computed ahead of its deadline.  The
	 * record without "updated_at" (the ledger stamps the time of the
	 * write) as a zstd frame of its JSON text after the opening brace
	 * (store_frame(); the ledger splices the stamp in front, recz.h), and
	 * its audit entries' text for audit_seal_raw(), all borrowed. */
	const char *prep_frame;
	size_t prep_frame_len;
	const char *const *prep_audits;
	size_t n_prep_audits;
	/* NULL, or the memo entry of the prepared version (copied): put in
	 * the memo when the write commits, after what the old version had
	 * is dropped, unless a later write of the record is in flight. */
	const struct ledger_memo *prep_memo;
};

/*
 * Queues one durable write of `n` changes (n may be 0 with audit-only
 * entries in `audit_only`), plus metadata pairs (copied): `meta` is NULL or
 * a NULL-terminated list key, value, key, value, ...
 * cb(ud, status) runs once it is durable or failed.  Returns 0 (cb will
 * run) or a negative errno (cb will not run, nothing was queued).
 */
int ledger_write(struct ledger *l, struct ledger_change *changes, size_t n,
		 json_t **audit_only, size_t n_audit, const char *const *meta,
		 commit_cb cb, void *ud);

/* Queues one durable write of metadata only: keys[i] = vals[i], lens[i]
 * bytes each (they may hold NUL bytes; copied).  Same contract as
 * ledger_write(); ordered with it. */
int ledger_write_meta(struct ledger *l, const char *const *keys, const char *const *vals,
		      const size_t *lens, size_t n, commit_cb cb, void *ud);

/* Queues one durable write that deletes every staged row (the store's
 * droppable range) and metadata key `also` (NULL: none).  Same contract as
 * ledger_write(). */
int ledger_drop_staged(struct ledger *l, const char *also, commit_cb cb, void *ud);

/* Writes queued or in flight through this ledger. */
size_t ledger_inflight(const struct ledger *l);
/* Record changes committed since the ledger was opened. */
uint64_t ledger_changes(const struct ledger *l);

/* The audit head including writes in flight. */
const struct audit_head *ledger_audit_head(const struct ledger *l);

#endif
