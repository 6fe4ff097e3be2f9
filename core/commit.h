/*
 * commit — group commit.  Writes are queued on the loop thread; one batch at
 * a time is committed by store_commit() on a libuv worker thread, so the
 * fsync never blocks the loop and reads go on meanwhile.  Writes that arrive
 * while a batch is in flight go together into the next one: 50 concurrent
 * writers share one fsync instead of paying for 50.
 *
 * A write's callback runs on the loop thread once its batch is durable
 * (status 0), or failed (negative errno).  Failure is total: when a batch
 * fails, every write not yet committed fails with it, so the layer above
 * can drop everything it had built on top of them and start again from what
 * is on disk.  A batch that hits a full map is retried once after growing it.
 *
 * The committer also trains the store's compression dictionary when the
 * store wants one (store.h: once there are enough records): on a worker,
 * reading only, then written as a batch of its own.
 */
#ifndef LIU_COMMIT_H
#define LIU_COMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store.h"

struct commit;
struct commit_write;

typedef void (*commit_cb)(void *ud, int status);

int commit_new(struct commit **out, uv_loop_t *loop, struct store *st);
/* Frees the committer; nothing may be queued or in flight. */
void commit_free(struct commit *c);

/* A new, empty write (caller submits or frees it).  NULL on ENOMEM. */
struct commit_write *commit_write_new(void);
void commit_write_free(struct commit_write *w);

/* Adds operations to a write.  Strings passed as `char *` are taken over
 * (the write frees them, also on failure); `const char *` ones are copied.
 * Each returns 0 or -ENOMEM. */
int commit_put_record(struct commit_write *w, const char *id, const char *kind,
		      const char *state, const char *old_kind, const char *old_state,
		      char *body);
/* The same with `len` bytes of body: JSON, or a stored form built ahead
 * (compress.h), which may hold NUL bytes. */
int commit_put_record_n(struct commit_write *w, const char *id, const char *kind,
			const char *state, const char *old_kind, const char *old_state,
			char *body, size_t len);
int commit_put_meta(struct commit_write *w, const char *key, char *value);
/* The same with `len` bytes of value (it may hold NUL bytes). */
int commit_put_meta_n(struct commit_write *w, const char *key, char *value, size_t len);
int commit_del_meta(struct commit_write *w, const char *key);
/* Deletes every key of the store's droppable range (store_opts) at once. */
int commit_drop_range(struct commit_write *w);
int commit_put_audit(struct commit_write *w, uint64_t seq, const char *rec_id, char *body);

/* Queues the write (the committer takes ownership); cb(ud, status) runs on
 * the loop thread once it is durable or failed. */
void commit_submit(struct commit *c, struct commit_write *w, commit_cb cb, void *ud);

/* True when nothing is queued, in flight or being trained (a dictionary is
 * a write to come): for a harness that drains the loop (tests/fuzz). */
bool commit_idle(const struct commit *c);
/* The loop the committer runs on (its callbacks' thread). */
uv_loop_t *commit_loop(const struct commit *c);
/* Writes queued or in flight. */
size_t commit_pending(const struct commit *c);

struct commit_stats {
	uint64_t batches, writes, failures, grows;
	uint64_t busy_us; /* time spent in transactions, fsync included */
};
void commit_stats(const struct commit *c, struct commit_stats *s);

#endif
