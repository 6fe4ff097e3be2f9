/*
 * ledger — the one owner of records: every read and write of a record, its
 * next version, its audit entry, over the store and the committer.  Nobody
 * else reads records from the store or decides whether stored bytes are
 * JSON, a compressed frame or damaged: the methods (rpc), enforcement
 * (sched) and the rule lifecycle's diff ask the ledger.
 *
 * Why the ledger grew into this role rather than a new record module: the
 * ledger already was the only writer, and a read must see what the writer
 * holds (the overlay of writes in flight decides which version is the
 * latest; the cache of decoded records and the memo are coherent because
 * they are dropped by the write that commits).  A second module would need
 * those internals or a second copy of them; and the name stays, so that the
 * callers of its writes (sched's staging, evalcache, the rule lifecycle) did
 * not change.
 *
 * Forms of a record, all here: the decoded tree (json_t), its JSON text as
 * stored (which may be a zstd frame underneath: the store unpacks, compress.h),
 * the text of a new version spliced from the old one's (ledger_next_text),
 * and a version prepared ahead of a deadline (a frame and audit text).  A
 * write names which one it gives (struct ledger_change, tagged).
 *
 * Reads for replies (ledger_get_sendable, ledger_list, ledger_history) see
 * committed data only, so
 * nobody sees a change before it is durable.  Decisions about a new change
 * read the latest version (ledger_latest_text, ledger_page_latest): a
 * second write to a record must build on the first even while the first is
 * still being committed.
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

/* The committed record `id` when the record cache holds it decoded (a new
 * reference, shared with the cache: do not modify), else NULL. */
json_t *ledger_cached(struct ledger *l, const char *id);
/* The committed record `id` as JSON text, not decoded and not cached: 0
 * with *text (NUL-terminated, caller frees) and *len, -ENOENT, or a
 * negative errno.  eval reads a record the cache does not hold this way. */
int ledger_get_text(struct ledger *l, const char *id, char **text, size_t *len);
/* The committed record `id` as JSON text a reply can carry as it is: the
 * stored bytes when they are one JSON object on one line (they are as this
 * daemon wrote them), else the record decoded and encoded again, so that
 * damaged bytes never break a reply line.  0 with *text (NUL-terminated,
 * caller frees) and *len, -ENOENT, -EIO (damaged: logged), or -ENOMEM. */
int ledger_get_sendable(struct ledger *l, const char *id, char **text, size_t *len);

/*
 * A page of committed records in id order, filtered by kind and/or state
 * (NULL: any), after id `after` (NULL: from the start), at most `limit`.
 * Read in one short read transaction, which has ended when ledger_list()
 * returns: nothing is held while the caller runs rules over the page.
 * `lazy`: keep each record's stored form and unpack only the ones asked
 * for (a caller that skips most of what it lists); else unpack them all in
 * the read.  Returns 0 with *page (free with ledger_page_free()), or a
 * negative errno.
 */
struct ledger_page {
	size_t n;                /* records on the page */
	const char *next;        /* `after` for the next page, NULL at the end
				  * (borrowed: valid until ledger_page_free) */
	struct store_rows rows;  /* the ledger's: read through the functions below */
	bool lazy;
};
int ledger_list(struct ledger *l, const char *kind, const char *state, const char *after,
		size_t limit, bool lazy, struct ledger_page *page);
/* The id of record i of the page (borrowed: valid until ledger_page_free). */
const char *ledger_page_id(const struct ledger_page *page, size_t i);
/* Record i of the page as listed, decoded: a new reference (caller decrefs),
 * or NULL when its bytes do not unpack or parse (logged, naming it). */
json_t *ledger_page_get(struct ledger *l, const struct ledger_page *page, size_t i);
/* The latest version of record i: the one a write in flight will commit,
 * else the page's.  Same returns as ledger_page_get(). */
json_t *ledger_page_latest(struct ledger *l, const struct ledger_page *page, size_t i);
void ledger_page_free(struct ledger_page *page);

/* The audit entries of record `id`, oldest first, decoded: 0 with
 * *entries (a new array, caller decrefs), -ENOENT when it has none, or a
 * negative errno.  Entries that do not parse are left out. */
int ledger_history(struct ledger *l, const char *id, json_t **entries);

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
/* The latest record `id` as JSON text, including writes in flight, without
 * decoding it: 0 with *text (NUL-terminated, caller frees) and *len, -ENOENT,
 * or a negative errno.  An action reads the record this way (rules_text.h). */
int ledger_latest_text(struct ledger *l, const char *id, char **text, size_t *len);

/* Metadata value `key` as the writes queued or in flight leave it (the
 * metadata of ledger_write and ledger_batch_meta), else as stored: 0 with
 * *val (NUL-terminated, caller frees) and *len (may be NULL), -ENOENT, or a
 * negative errno.  A decision that a later write must not contradict (an
 * identity's live record, ident.h) reads it this way. */
int ledger_meta_latest(struct ledger *l, const char *key, char **val, size_t *len);
/* Grows with every write that puts metadata (ledger_write's, a batch's): a
 * decision that read metadata earlier knows nothing changed since when it
 * has not grown. */
uint64_t ledger_meta_generation(const struct ledger *l);

/* Whether a write of `id` is in flight (without decoding anything). */
bool ledger_is_pending(const struct ledger *l, const char *id);

/* The number of records of `kind` in `state`, as the latest versions say:
 * committed ones, less those a write in flight moves away, plus those it
 * moves there (a decision never counts what a write before it undid).
 * Costs a counter read and one index lookup per record in flight; decodes
 * nothing.  0 with *n, or a negative errno. */
int ledger_count(struct ledger *l, const char *kind, const char *state, uint64_t *n);
/* Whether record `id` exists, committed or in flight: 1, 0, or a negative
 * errno. */
int ledger_exists(struct ledger *l, const char *id);

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

/*
 * One change of a write: a record's new version and its audit entry, in
 * one of three forms, named by `kind`.
 */
enum ledger_change_kind {
	LEDGER_CHANGE_DECODED,  /* struct ledger_decoded */
	LEDGER_CHANGE_TEXT,     /* struct ledger_text */
	LEDGER_CHANGE_PREPARED, /* struct ledger_prepared */
};

/* A decoded record: a new one, or enforcement's next version. */
struct ledger_decoded {
	json_t *record;  /* the full new record; the ledger keeps a reference:
			  * never modify it after ledger_write() */
	json_t *audit;   /* NULL, or the entry to seal (borrowed; sealed in
			  * place, "rev_after" added) */
	char **encoded;  /* NULL, or set to a copy of the stored JSON (caller
			  * frees): a reply carries those bytes instead of
			  * encoding the record again */
};

/* The record's JSON text, stored as it is: an action on a stored record
 * (ledger_next_text), an import's rows. */
struct ledger_text {
	const char *id, *kind, *state; /* the new version's (borrowed) */
	json_int_t rev;
	const char *text;  /* its JSON (borrowed) */
	size_t len;
	json_t *audit;     /* as in struct ledger_decoded */
	char **encoded;
};

/* Enforcement computed ahead of its deadline (sched.c's staging). */
struct ledger_prepared {
	const char *id, *kind, *state; /* the new version's (borrowed) */
	json_int_t rev;
	/* The record without "updated_at" (the ledger stamps the time of the
	 * write) as a zstd frame of its JSON text after the opening brace
	 * (store_frame(); the ledger splices the stamp in front, compress.h), and
	 * its audit entries' text for audit_seal_raw(), all borrowed. */
	const char *frame;
	size_t frame_len;
	const char *const *audits;
	size_t n_audits;
	/* NULL, or the memo entry of this version (copied): put in the memo
	 * when the write commits, after what the old version had is dropped,
	 * unless a later write of the record is in flight. */
	const struct ledger_memo *memo;
};

struct ledger_change {
	enum ledger_change_kind kind; /* which member of the union is set */
	const char *old_kind;   /* the version it replaces (borrowed); NULL for */
	const char *old_state;  /* a new record */
	union {
		struct ledger_decoded decoded;
		struct ledger_text text;
		struct ledger_prepared prepared;
	};
};

/* A value in ledger_write()'s `meta` list that deletes its key instead (the
 * address counts, not the text). */
extern const char ledger_meta_delete[];
#define LEDGER_META_DELETE ledger_meta_delete

/*
 * Queues one durable write of `n` changes (n may be 0 with audit-only
 * entries in `audit_only`), plus metadata pairs (copied): `meta` is NULL or
 * a NULL-terminated list key, value, key, value, ... (a value of
 * LEDGER_META_DELETE deletes the key).
 * cb(ud, status) runs once it is durable or failed.  Returns 0 (cb will
 * run) or a negative errno (cb will not run, nothing was queued).
 */
int ledger_write(struct ledger *l, struct ledger_change *changes, size_t n,
		 json_t **audit_only, size_t n_audit, const char *const *meta,
		 commit_cb cb, void *ud);

/*
 * ledger_write() with one more metadata value, taken instead of copied: a
 * rule pack's files (up to storage.pack_mib, several times that once
 * escaped), encoded on a worker, cost the loop no copy.  The value is
 * written with the rest, in the same transaction, but is not put where
 * ledger_meta_latest() sees writes in flight: that is for what decisions
 * read (identities), and such a key is read from the store once durable.
 * `blob->value` is taken in every case (NULL after the call).
 */
struct ledger_blob {
	const char *key;  /* borrowed */
	char *value;      /* taken: malloc'd, `len` bytes (it may hold NUL bytes) */
	size_t len;
};
int ledger_write_blob(struct ledger *l, struct ledger_change *changes, size_t n,
		      json_t **audit_only, size_t n_audit, const char *const *meta,
		      struct ledger_blob *blob, commit_cb cb, void *ud);

/*
 * A write prepared in slices, for one whose size a client chooses (an import
 * of 100,000 rows): each ledger_batch_add() queues one change's operations
 * and encodes its audit entry, a few per slice between other clients'
 * requests; ledger_batch_submit() queues them all as one durable write,
 * with ledger_write()'s contract.  Only the sealing of the audit entries
 * waits for the submit, because the chain's head is known only then (other
 * writes may be queued meanwhile); it runs on a worker, and the writes that
 * come meanwhile (ledger_write, the metadata writes) are built and visible
 * at once but sealed and queued after the batch, in order.  Nothing of a
 * batch is visible to reads or decisions before it is submitted; a batch
 * freed instead writes nothing.  Each change's version (and the batch's
 * metadata) goes into the batch's own layer as it is added; the submit
 * links that layer in front of the writes in flight in one step, whatever
 * its size, and the commit drops it (ledger.c, struct layer).  A committed
 * write of over 1,000 changes is settled in slices of about 5 ms (an idle
 * handle on the loop) and freed on a worker.
 */
struct ledger_batch;
/* A new, empty batch: 0 with *out (submit or free it), or -ENOMEM. */
int ledger_batch_new(struct ledger *l, struct ledger_batch **out);
/* Adds a change given as text (LEDGER_CHANGE_TEXT; its audit entry gets
 * "rev_after" and is encoded now; its text and id are copied).  0, -EINVAL
 * or -ENOMEM: the batch is then unusable (free it). */
int ledger_batch_add(struct ledger_batch *b, const struct ledger_change *ch);
/* Changes added so far. */
size_t ledger_batch_size(const struct ledger_batch *b);
/* Whether the batch writes record `id` (true or false; constant time). */
bool ledger_batch_has(const struct ledger_batch *b, const char *id);
/* Adds metadata key = val (copied) to the batch's write; visible to
 * ledger_meta_latest() from the submit.  0 or -ENOMEM. */
int ledger_batch_meta(struct ledger_batch *b, const char *key, const char *val);
/* Queues the batch (taken, also on failure): 0 (cb will run) or a negative
 * errno (cb will not run, nothing was queued). */
int ledger_batch_submit(struct ledger_batch *b, commit_cb cb, void *ud);
void ledger_batch_free(struct ledger_batch *b);

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
/* The audit chain's head as committed (writes in flight not included). */
struct audit_head ledger_committed_head(const struct ledger *l);

/* --- versions and audit entries ---------------------------------------- */

/*
 * A new record: {id, kind, created_at, rev 1, state, data, updated_at},
 * with a new id "<id_prefix><number>" (ledger_new_id) unless id_prefix is
 * NULL (a row that will not be written: no id is taken).  state and data
 * are borrowed (referenced); now is the ISO time of the write.  Returns a
 * new reference, or NULL (out of memory).
 */
/* The same with the id given (a kind's key field, copied); NULL on ENOMEM. */
json_t *ledger_keyed_record(const char *id, const char *kind, json_t *state, json_t *data,
			    const char *now);
json_t *ledger_new_record(struct ledger *l, const char *id_prefix, const char *kind,
			  json_t *state, json_t *data, const char *now);

/*
 * The next version of a stored record as JSON text, built from the old
 * version's text (what an action read, rules_text.h): the members the core
 * owns (id, kind and created_at as they were written, rev, updated_at)
 * around the new state and data, in a new record's member order and as
 * jansson writes them.  Spans are offsets into `was`; created_at's len is 0
 * when the old version has none.
 */
struct ledger_span {
	size_t off, len;
};
struct ledger_next {
	const char *was;                      /* the old version's text (borrowed) */
	struct ledger_span id, kind, created_at;
	json_t *state;                        /* the new state (borrowed) */
	const char *data;                     /* the new "data" as JSON text (borrowed) */
	size_t data_len;
	json_int_t rev;                       /* the new version's */
	const char *now;                      /* ISO time of the write */
	const char *read_as;                  /* the id it was read by, for the log */
};
/* Returns 0 with *out (caller frees) and *len; -EIO when the old version
 * has no id or kind (logged), -EINVAL when state is not a string, -ENOMEM. */
int ledger_next_text(const struct ledger_next *n, char **out, size_t *len);

/*
 * A record's audit entry.  ledger_audit_entry(): a change that went
 * through (outcome "ok"): {time, peer, method, action, id, rev_before,
 * state_before, state_after, rules_version, outcome, events[, row]};
 * ledger_audit_refusal(): an attempt the rules refused or failed:
 * {time, peer, method, action, id, outcome, code, message, reasons,
 * rules_version}.  The write seals it (ledger_write).  Both return a new
 * reference or NULL (out of memory, or events missing).
 */
struct ledger_audit {
	const char *time, *method, *action, *id; /* id NULL: a create that failed */
	json_t *peer;             /* taken */
	const char *rules_version;
	/* a change: */
	json_int_t rev_before;
	const char *state_before; /* NULL for a new record */
	json_t *state_after, *events; /* borrowed */
	json_int_t row;           /* an import's row, or -1 */
	/* a refusal: */
	const char *outcome, *message;
	int code;
	json_t *reasons;          /* borrowed, may be NULL */
};
json_t *ledger_audit_entry(const struct ledger_audit *a);
json_t *ledger_audit_refusal(const struct ledger_audit *a);

/*
 * Records as stored, in any store: what verify.h reads, of the live
 * database (committed versions only, the overlay aside: the check is of the
 * storage) or of a backup's copy, which has no ledger.  How a record is
 * stored (compressed or not, compress.h) is this module's to know.
 * ledger_stored_get: the record's JSON text (caller frees); ledger_stored_text:
 * the JSON text of a stored value as a page lists it; ledger_stored_page:
 * stored values of every kind in id order after `after`; ledger_stored_audit_of:
 * a record's audit entries.  0, -ENOENT, or a negative errno.
 */
int ledger_stored_get(struct store *st, const char *id, char **json, size_t *len);
int ledger_stored_text(struct store *st, const void *raw, size_t len, char **json, size_t *jlen);
int ledger_stored_page(struct store *st, const char *after, size_t n, struct store_rows *out);
int ledger_stored_audit_of(struct store *st, const char *id, struct store_rows *out);

#endif
