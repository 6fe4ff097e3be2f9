/* commit — see commit.h. */
#include "commit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "log.h"

/* Doublings of the map one batch may ask for (1 MiB becomes 1 TiB in 20):
 * max_map_mib stops it sooner. */
#define COMMIT_MAX_GROWS 20
/* A written write owning more strings than this is freed on a worker. */
#define COMMIT_FREE_ON_WORKER 4096
/* ... or a value of more bytes than this (a rule pack's files). */
#define COMMIT_BIG_BYTES (1u << 20)

/* A write's operations and the strings it owns are kept in chunks that
 * double up to CHUNK_MAX entries, then stay at that size: an import's write
 * (300,000 operations, 700,000 strings) grows without ever copying what it
 * holds, where one array doubling to 20 MiB held the loop tens of ms in a
 * row's step. */
#define CHUNK_MAX 8192
struct op_chunk {
	struct op_chunk *next;
	size_t n, cap;
	struct store_op ops[];
};
struct own_chunk {
	struct own_chunk *next;
	size_t n, cap;
	char *s[];
};

struct commit_write {
	struct op_chunk *ops, *ops_tail;
	size_t nops;
	struct own_chunk *owned, *owned_tail; /* strings freed with the write */
	size_t nowned;
	bool big;               /* owns a value over COMMIT_BIG_BYTES */
	commit_cb cb;
	void *ud;
	struct commit_write *next;
};

struct commit {
	uv_loop_t *loop;
	struct store *st;
	struct commit_write *queue, *queue_tail;   /* waiting for the next batch */
	struct commit_write *flight;               /* the batch being committed */
	struct store_op *ops;                      /* the flight's ops, flattened */
	size_t nops, ops_cap;
	size_t nqueue, nflight;
	uv_work_t work;
	bool busy;
	int grown; /* doublings of the map for the batch in flight */
	int status;
	uint64_t took_us;                          /* the flight's transaction */
	struct commit_stats stats;
	/* Training the store's compression dictionary (store.h), once the
	 * database has enough records: on a worker, reads only; what it
	 * makes is then written like any other batch. */
	uv_work_t dict_work;
	bool training;
	char *dict;
	size_t dict_len, dict_samples;
	int dict_rc;
	const char *dict_why;
	uint64_t dict_us;
};

int commit_new(struct commit **out, uv_loop_t *loop, struct store *st)
{
	struct commit *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->st = st;
	c->work.data = c;
	c->dict_work.data = c;
	*out = c;
	return 0;
}

void commit_free(struct commit *c)
{
	if (!c)
		return;
	free(c->ops);
	free(c);
}

struct commit_write *commit_write_new(void)
{
	return calloc(1, sizeof(struct commit_write));
}

void commit_write_free(struct commit_write *w)
{
	if (!w)
		return;
	for (struct own_chunk *c = w->owned, *next; c; c = next) {
		next = c->next;
		for (size_t i = 0; i < c->n; i++)
			free(c->s[i]);
		free(c);
	}
	for (struct op_chunk *c = w->ops, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(w);
}

/* The size of the chunk after one of `cap` entries (0: the first). */
static size_t chunk_next(size_t cap, size_t first)
{
	return !cap ? first : cap < CHUNK_MAX ? 2 * cap : CHUNK_MAX;
}

static char *own(struct commit_write *w, char *s)
{
	if (!s)
		return NULL;
	struct own_chunk *t = w->owned_tail;
	if (!t || t->n == t->cap) {
		size_t nc = chunk_next(t ? t->cap : 0, 8);
		struct own_chunk *c = malloc(sizeof *c + nc * sizeof c->s[0]);
		if (!c) {
			free(s);
			return NULL;
		}
		*c = (struct own_chunk){ .cap = nc };
		if (t)
			t->next = c;
		else
			w->owned = c;
		w->owned_tail = t = c;
	}
	t->s[t->n++] = s;
	w->nowned++;
	return s;
}

static char *own_copy(struct commit_write *w, const char *s)
{
	return s ? own(w, strdup(s)) : NULL;
}

static struct store_op *add_op(struct commit_write *w)
{
	struct op_chunk *t = w->ops_tail;
	if (!t || t->n == t->cap) {
		size_t nc = chunk_next(t ? t->cap : 0, 4);
		struct op_chunk *c = malloc(sizeof *c + nc * sizeof c->ops[0]);
		if (!c)
			return NULL;
		*c = (struct op_chunk){ .cap = nc };
		if (t)
			t->next = c;
		else
			w->ops = c;
		w->ops_tail = t = c;
	}
	struct store_op *op = &t->ops[t->n++];
	w->nops++;
	memset(op, 0, sizeof *op);
	return op;
}

int commit_put_record(struct commit_write *w, const char *id, const char *kind,
		      const char *state, const char *old_kind, const char *old_state,
		      char *body)
{
	return commit_put_record_n(w, id, kind, state, old_kind, old_state, body,
				   body ? strlen(body) : 0);
}

int commit_put_record_n(struct commit_write *w, const char *id, const char *kind,
			const char *state, const char *old_kind, const char *old_state,
			char *body, size_t len)
{
	char *b = own(w, body);
	struct store_op *op = b ? add_op(w) : NULL;
	if (!op)
		return -ENOMEM;
	op->op = STORE_PUT_RECORD;
	w->big |= len > COMMIT_BIG_BYTES;
	op->id = own_copy(w, id);
	op->kind = own_copy(w, kind);
	op->state = own_copy(w, state);
	op->old_kind = own_copy(w, old_kind);
	op->old_state = own_copy(w, old_state);
	op->body = b;
	op->len = len;
	if (!op->id || !op->kind || !op->state || (old_kind && (!op->old_kind || !op->old_state)))
		return -ENOMEM;
	return 0;
}

int commit_put_meta(struct commit_write *w, const char *key, char *value)
{
	return commit_put_meta_n(w, key, value, value ? strlen(value) : 0);
}

int commit_put_meta_n(struct commit_write *w, const char *key, char *value, size_t len)
{
	char *v = own(w, value);
	struct store_op *op = v ? add_op(w) : NULL;
	if (!op)
		return -ENOMEM;
	op->op = STORE_PUT_META;
	w->big |= len > COMMIT_BIG_BYTES;
	op->id = own_copy(w, key);
	op->body = v;
	op->len = len;
	return op->id ? 0 : -ENOMEM;
}

int commit_del_meta(struct commit_write *w, const char *key)
{
	struct store_op *op = add_op(w);
	if (!op)
		return -ENOMEM;
	op->op = STORE_DEL_META;
	op->id = own_copy(w, key);
	return op->id ? 0 : -ENOMEM;
}

int commit_drop_range(struct commit_write *w)
{
	struct store_op *op = add_op(w);
	if (!op)
		return -ENOMEM;
	op->op = STORE_DROP_RANGE;
	return 0;
}

int commit_put_audit(struct commit_write *w, uint64_t seq, const char *rec_id, char *body)
{
	char *b = own(w, body);
	struct store_op *op = b ? add_op(w) : NULL;
	if (!op)
		return -ENOMEM;
	op->op = STORE_PUT_AUDIT;
	op->seq = seq;
	op->id = rec_id ? own_copy(w, rec_id) : NULL;
	op->body = b;
	op->len = strlen(b);
	return rec_id && !op->id ? -ENOMEM : 0;
}

static void start(struct commit *c);
static void maybe_train(struct commit *c);

/* The flight's operations in one array (c->ops), on the worker: the
 * writes of the flight are the worker's until after_cb (the loop only
 * appends to the queue), and an import of 100,000 rows has 300,000 of them,
 * whose copy (tens of MiB, faulted in when the array grows) took 0.1 s of
 * the loop when it was made there.  Returns 0 or -ENOMEM. */
static int flatten(struct commit *c)
{
	size_t n = 0;
	for (struct commit_write *w = c->flight; w; w = w->next)
		n += w->nops;
	if (n > c->ops_cap) {
		struct store_op *o = realloc(c->ops, n * sizeof *o);
		if (!o)
			return -ENOMEM;
		c->ops = o;
		c->ops_cap = n;
	}
	c->nops = 0;
	for (struct commit_write *w = c->flight; w; w = w->next) {
		for (struct op_chunk *k = w->ops; k; k = k->next) {
			memcpy(c->ops + c->nops, k->ops, k->n * sizeof k->ops[0]);
			c->nops += k->n;
		}
	}
	return 0;
}

static void work_cb(uv_work_t *req)
{
	struct commit *c = req->data;
	/* The only code that runs off the loop thread: one LMDB write
	 * transaction, committed with fsync (and its operations gathered). */
	uint64_t t0 = uv_hrtime();
	c->status = c->grown ? 0 : flatten(c); /* a retry after growing has them */
	if (c->status == 0)
		c->status = store_commit(c->st, c->ops, c->nops);
	c->took_us = (uv_hrtime() - t0) / 1000;
}

static void free_work(uv_work_t *req) { commit_write_free(req->data); }
static void free_done(uv_work_t *req, int status)
{
	(void)status;
	free(req);
}

/* Frees `w`: on a worker when it owns many strings (an import's 100,000
 * records, audit entries and their keys: 700,000 frees) or a big one (a
 * pack's files), else now. */
static void write_release(struct commit *c, struct commit_write *w)
{
	uv_work_t *req = w->nowned > COMMIT_FREE_ON_WORKER || w->big ? malloc(sizeof *req) : NULL;
	if (req) {
		req->data = w;
		if (uv_queue_work(c->loop, req, free_work, free_done) == 0)
			return;
		free(req);
	}
	commit_write_free(w);
}

/* Calls back and frees a detached list of writes. */
static void finish_list(struct commit *c, struct commit_write *w, int status)
{
	while (w) {
		struct commit_write *next = w->next;
		if (w->cb)
			w->cb(w->ud, status);
		write_release(c, w);
		w = next;
	}
}

static void after_cb(uv_work_t *req, int uvstatus)
{
	struct commit *c = req->data;
	int status = uvstatus < 0 ? -ECANCELED : c->status;
	/* A full map: grow it (here, between batches, no transaction of ours is
	 * open, which LMDB requires) and try the same batch again.  One batch
	 * may need several doublings (an import of 100,000 rows into a young
	 * database); each one doubles, so max_map_mib ends it in a few. */
	if (status == -ENOSPC && c->grown < COMMIT_MAX_GROWS) {
		int grow = store_grow(c->st);
		if (grow == 0) {
			c->grown++;
			c->stats.grows++;
			uv_queue_work(c->loop, &c->work, work_cb, after_cb);
			return;
		}
		status = grow; /* why it could not grow: a backup, the ceiling */
	}
	struct commit_write *done = c->flight, *rest = NULL;
	c->flight = NULL;
	c->busy = false;
	c->stats.batches++;
	c->stats.busy_us += uvstatus < 0 ? 0 : c->took_us;
	if (status < 0) {
		/* Everything queued was built on the failed batch: fail it too. */
		rest = c->queue;
		c->queue = c->queue_tail = NULL;
		c->nqueue = 0;
		c->stats.failures++;
		log_err("commit: batch failed writes=%zu error=\"%s\"", c->nflight,
			liu_strerror(status));
	} else {
		c->stats.writes += c->nflight;
	}
	c->nflight = 0;
	finish_list(c, done, status);
	finish_list(c, rest, status);
	if (c->queue && !c->busy)
		start(c);
	if (status == 0)
		maybe_train(c);
}

static void start(struct commit *c)
{
	c->flight = c->queue;
	c->nflight = c->nqueue;
	c->queue = c->queue_tail = NULL;
	c->nqueue = 0;
	c->busy = true;
	c->grown = 0;
	uv_queue_work(c->loop, &c->work, work_cb, after_cb);
}

static void train_cb(uv_work_t *req)
{
	struct commit *c = req->data;
	uint64_t t0 = uv_hrtime();
	c->dict_rc = store_dict_train(c->st, &c->dict, &c->dict_len, &c->dict_samples, &c->dict_why);
	c->dict_us = (uv_hrtime() - t0) / 1000;
}

static void dict_written(void *ud, int status)
{
	struct commit *c = ud;
	c->training = false;
	if (status < 0) /* the next batch's completion asks again */
		log_warn("commit: compression dictionary not written error=\"%s\"", strerror(-status));
}

static void trained_cb(uv_work_t *req, int uvstatus)
{
	struct commit *c = req->data;
	c->training = false;
	char *dict = c->dict;
	c->dict = NULL;
	if (uvstatus < 0) {
		free(dict);
		return;
	}
	if (c->dict_rc == -EAGAIN) {
		log_info("commit: no compression dictionary from the records yet samples=%zu reason=\"%s\"",
			 c->dict_samples, c->dict_why ? c->dict_why : "?");
		return;
	}
	if (c->dict_rc < 0) {
		log_warn("commit: compression dictionary not trained samples=%zu error=\"%s\"", c->dict_samples,
			 strerror(-c->dict_rc));
		return;
	}
	log_info("commit: compression dictionary trained samples=%zu bytes=%zu ms=%llu", c->dict_samples,
		 c->dict_len, (unsigned long long)(c->dict_us / 1000));
	struct commit_write *w = commit_write_new();
	struct store_op *op = w ? add_op(w) : NULL;
	if (!op || !own(w, dict)) {
		if (op)
			dict = NULL; /* own() freed it */
		free(dict);
		commit_write_free(w);
		return;
	}
	op->op = STORE_PUT_DICT;
	op->body = dict;
	op->len = c->dict_len;
	/* Still "training" until the dictionary is written: a batch that
	 * completes meanwhile must not start a second one. */
	c->training = true;
	commit_submit(c, w, dict_written, c);
}

/* After a batch is durable: train a dictionary when the store wants one
 * (one that failed to be written is wanted again at the next batch). */
static void maybe_train(struct commit *c)
{
	if (c->training || !store_dict_wanted(c->st))
		return;
	c->training = true;
	if (uv_queue_work(c->loop, &c->dict_work, train_cb, trained_cb) != 0)
		c->training = false;
}

void commit_submit(struct commit *c, struct commit_write *w, commit_cb cb, void *ud)
{
	w->cb = cb;
	w->ud = ud;
	w->next = NULL;
	if (c->queue_tail)
		c->queue_tail->next = w;
	else
		c->queue = w;
	c->queue_tail = w;
	c->nqueue++;
	if (!c->busy)
		start(c);
}

bool commit_idle(const struct commit *c) { return !c->busy && !c->queue && !c->training; }
uv_loop_t *commit_loop(const struct commit *c) { return c->loop; }
size_t commit_pending(const struct commit *c) { return c->nqueue + c->nflight; }
void commit_stats(const struct commit *c, struct commit_stats *s) { *s = c->stats; }
