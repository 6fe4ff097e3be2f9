/*
 * store — records, their indexes, the audit log and the daemon's metadata in
 * LMDB.  The only module that includes <lmdb.h>; LMDB's types and MDB_* codes
 * never leave it (errors come back as negative errno: MDB_MAP_FULL is
 * -ENOSPC, a corrupt file -EIO).
 *
 * The store knows no JSON and no Lua: a record is its id, kind, state and an
 * opaque body (the daemon stores the record's JSON text).  Indexes by kind,
 * by state and by kind+state give paged listings; per kind+state counters
 * give `status` its counts without a scan.
 *
 * Threads: reads run on the caller's thread in short read-only transactions
 * (never held across a call into Lua: listings copy items out).  Writes are
 * batches of operations committed in one durable transaction by
 * store_commit(), which may run on another thread while reads go on: LMDB
 * readers never wait for the writer.  Only one store_commit() at a time.
 *
 * Durability: the environment is opened with LMDB's default full sync; a
 * commit returns only after fsync.  Nothing here ever sets MDB_NOSYNC.
 */
#ifndef LIU_STORE_H
#define LIU_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

struct store_opts {
	size_t map_size;     /* initial map size in bytes (0: 64 MiB) */
	size_t max_map_size; /* the map grows up to this (0: 16 GiB) */
	/* A droppable range: metadata keys that start with `range_prefix`
	 * live in a table of their own, named `range_table`, so that a writer
	 * can drop them all at once (STORE_DROP_RANGE) instead of deleting
	 * them one by one: for many short-lived rows of one concern.  NULL:
	 * none (every key in meta).  Both copied. */
	const char *range_prefix, *range_table;
	/* Opens an existing data file to check it, not a daemon's database:
	 * `dir` names the file itself (a backup's copy before it is renamed
	 * into place), read only (MDB_RDONLY|MDB_NOLOCK|MDB_NOSUBDIR), with
	 * no liud.lock and no lock file of LMDB's left beside it.  Reads
	 * only; no store_commit(). */
	bool check_copy;
	/* Records before a compression dictionary is trained (below): 0,
	 * STORE_DICT_MIN_RECORDS; negative, none is (plain zstd; the
	 * dictionaries the database has are still read and used). */
	long dict_records;
};

/*
 * Opens (creating if needed) the database in directory `dir`, takes an
 * exclusive lock on it (a second daemon gets -EBUSY), clears stale reader
 * slots.  Returns 0 with *out set (caller closes with store_close()), or a
 * negative errno.
 */
int store_open(struct store **out, const char *dir, const struct store_opts *o);
/* Closes the environment; no store_commit() may be running. */
void store_close(struct store *st);

/* --- reads --- */

/* Fetches the body of record `id`.  Returns 0 with *body (malloc'd, caller
 * frees, NUL-terminated) and *len, -ENOENT, or another negative errno. */
int store_get(struct store *st, const char *id, char **body, size_t *len);

/* Records are stored compressed (compress.h).  store_unpack(): the JSON of a
 * stored form (a pending write's, say), NUL-terminated, caller frees: 0,
 * -EIO (damaged) or -ENOMEM.  store_frame(): `src` compressed, for a
 * stored form built ahead (compress_splice): 0 with *out (caller frees) or a
 * negative errno.  Both for any thread. */
int store_unpack(struct store *st, const void *val, size_t len, char **json, size_t *json_len);
int store_frame(struct store *st, const char *src, size_t len, char **out, size_t *out_len);

/* One row of a listing (a record, a metadata entry, an audit entry), and
 * the listing.  All strings owned by the listing.  Records are listed for
 * the ledger only (ledger.h owns their reads); metadata scans and the audit
 * chain's walk use the same rows. */
struct store_item {
	char *id;
	char *body;
	size_t len;
};
struct store_rows {
	struct store_item *items;
	size_t n;
	char *next;  /* id to pass as `after` for the next page, or NULL at the end */
};

/*
 * Lists up to `limit` records in id order, filtered by kind and/or state
 * (NULL: any), starting after id `after` (NULL: from the start).  Returns 0
 * with *out filled (free with store_rows_free()), or a negative errno.  A
 * record that does not unpack (damaged) is listed with body NULL, said in
 * the log, so that one damaged record does not hide the others.
 */
int store_list(struct store *st, const char *kind, const char *state,
	       const char *after, size_t limit, struct store_rows *out);
/* The same with the records' stored forms (compress.h), for a caller that
 * skips most of what it lists: store_unpack() the ones it reads. */
int store_list_raw(struct store *st, const char *kind, const char *state,
		   const char *after, size_t limit, struct store_rows *out);
void store_rows_free(struct store_rows *l);

/* Calls fn for each (kind, state, count) with a non-zero count.  Strings are
 * borrowed for the duration of the call.  Returns 0 or a negative errno. */
int store_counts(struct store *st,
		 void (*fn)(void *ud, const char *kind, const char *state, uint64_t n),
		 void *ud);

/* The number of records of `kind` in `state` (*n) and, of the `nids` ids
 * given, how many are among them (*among), read in one transaction: a
 * caller that knows newer versions of those ids (the ledger's writes in
 * flight) counts them itself, whether or not their commit has landed.
 * Returns 0 or a negative errno. */
int store_count_ks(struct store *st, const char *kind, const char *state,
		   const char *const *ids, size_t nids, uint64_t *n, uint64_t *among);

/* Reads a metadata value.  Returns 0 with *val (malloc'd, NUL-terminated,
 * caller frees), -ENOENT, or a negative errno.  With val NULL, only tells
 * whether the key exists (and its length, when len is not NULL). */
int store_meta_get(struct store *st, const char *key, char **val, size_t *len);

/* Metadata entries whose key starts with `prefix`, in key order (reverse:
 * newest last key first), at most `limit`; going forward, after key `after`
 * when it is not NULL.  Items carry the key as id and the value as body. */
int store_meta_scan(struct store *st, const char *prefix, bool reverse, const char *after,
		    size_t limit, struct store_rows *out);

/* Audit entries of record `id` (ids of audit rows, oldest first), and rows by
 * sequence.  Both fill a store_rows whose items carry the entry as body and
 * the sequence number (decimal) as id. */
int store_audit_of(struct store *st, const char *id, struct store_rows *out);
int store_audit_range(struct store *st, uint64_t from_seq, size_t limit,
		      struct store_rows *out);

/* --- writes --- */

enum store_op_kind {
	STORE_PUT_RECORD, /* id, kind, state, body; old_kind/old_state if it existed */
	STORE_PUT_META,   /* key = id, value = body */
	STORE_DEL_META,   /* key = id */
	STORE_DROP_RANGE, /* every key of the droppable range (store_opts); none: nothing */
	STORE_PUT_AUDIT,  /* seq, body; id = the record it concerns, or NULL */
	STORE_PUT_DICT,   /* body = a compression dictionary (store_dict_train) */
};

/* One operation of a batch.  All pointers are borrowed by store_commit(). */
struct store_op {
	enum store_op_kind op;
	const char *id;
	const char *kind, *state;         /* new */
	const char *old_kind, *old_state; /* NULL for a new record */
	const char *body;
	size_t len;
	uint64_t seq;
};

/*
 * Applies the operations in one transaction and commits it durably.  All or
 * nothing: on failure nothing of the batch is visible.  Returns 0, -ENOSPC
 * when the map is full (see store_grow()), or a negative errno.  May run on
 * any one thread while others read.
 */
int store_commit(struct store *st, const struct store_op *ops, size_t n);

/*
 * Doubles the map, up to max_map_size.  Must be called with no transaction
 * active in the process (LMDB's rule): the daemon calls it on the loop thread
 * between batches.  Others' read transactions that last (store_map_hold)
 * keep it from growing: a backup's copy makes it refuse, the dictionary's
 * sampling (short) is waited for, up to STORE_GROW_WAIT_MS.  Returns 0,
 * -ENOSPC at the ceiling (max_map_size), LIU_EMAPBUSY while a backup runs,
 * or -ETIMEDOUT when sampling held the map longer than the wait.
 */
#define STORE_GROW_WAIT_MS 5000
int store_grow(struct store *st);

/*
 * Who holds a read transaction across many reads on another thread, during
 * which the map must not be resized (LMDB's rule).  store_map_hold() takes
 * the map's lock shared and counts the holder, store_map_release() gives it
 * back; store_backup() and store_dict_train() use them, and tests hold the
 * map with them to see store_grow() name the holder.
 */
enum store_map_holder {
	STORE_HOLD_BACKUP, /* a backup's copy: as long as the database takes */
	STORE_HOLD_SAMPLE, /* the dictionary's sampling: a few thousand reads */
};
void store_map_hold(struct store *st, enum store_map_holder who);
void store_map_release(struct store *st, enum store_map_holder who);

/*
 * The compression dictionary (compress.h).  Records of one pack share most of
 * their text; a zstd dictionary trained on the database's own records packs
 * each into about two thirds of the bytes, faster both ways.  Once there
 * are STORE_DICT_MIN_RECORDS records, the committer trains one (from up to
 * STORE_DICT_SAMPLES of them) and writes it with STORE_PUT_DICT into meta
 * "zdict/<n>"; it packs every record written after that transaction
 * commits.  Records written before read as they are, and a restored
 * backup carries its dictionaries with it.
 *
 * store_dict_wanted(): whether to train one now (none yet, enough records:
 * store_opts.dict_records, STORE_DICT_MIN_RECORDS by default;
 * a training that made none waits for twice as many: short records, as
 * a small pack's, are stored as they are and need none).  Loop thread; one
 * LMDB stat.  store_dict_train(): any thread, reads only: 0 with *dict
 * (malloc'd) and *len, -EAGAIN when the records make none (*why: zstd's
 * reason), or a negative errno; *samples: how many records it read.
 * store_dict_current(): the id in use (0: none) and its size.
 */
#define STORE_DICT_PREFIX "zdict/"
#define STORE_DICT_MIN_RECORDS 1000
#define STORE_DICT_SAMPLES 2000
#define STORE_DICT_MIN_SAMPLES 100 /* records big enough to be compressed */
#define STORE_DICT_SAMPLE_BYTES ((size_t)32 << 20)
bool store_dict_wanted(struct store *st);
int store_dict_train(struct store *st, char **dict, size_t *len, size_t *samples, const char **why);
unsigned store_dict_current(struct store *st, size_t *len);

/* Fault injection for tests: the next `n` commits fail with `err`. */
void store_fail_commits(struct store *st, int n, int err);

/* Bytes used by the data file and the map size, for status and metrics. */
void store_usage(struct store *st, uint64_t *used, uint64_t *map);

/*
 * Writes a compacted consistent copy of the database into directory `path`
 * (which must exist) as `path`/data.mdb, so that a file of that name is
 * only ever a complete, checked copy: the copy is written to
 * `path`/STORE_BACKUP_PARTIAL (created O_EXCL, mode 0600 whatever the
 * umask), fsync'd, handed to `check` (its file name; `check` opens it with
 * store_opts.check_copy), and renamed into place (never over an existing
 * data.mdb) only when `check` returns 0; then the folder is fsync'd.  On
 * any failure the partial file is removed.  Runs on any thread, alongside
 * readers and the writer.  Returns 0, -EEXIST (a data.mdb or a partial
 * copy is there already), `check`'s error, or a negative errno.
 */
#define STORE_BACKUP_PARTIAL "data.mdb.partial"
int store_backup(struct store *st, const char *path,
		 int (*check)(const char *file, void *arg), void *arg);

#endif
