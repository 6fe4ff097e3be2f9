/* ledger — see ledger.h. */
#include "ledger.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "clock.h"
#include "log.h"
#include "compress.h"

#define NEXT_ID_KEY "next_id"
/* A write's versions freed on a worker past this many (release()). */
#define RELEASE_ON_WORKER 1000
/* A slice of settling a big committed write (struct sweep). */
#define SWEEP_STEP_NS (5 * 1000000)
/* A batch's maps (its versions, their "kind\nstate", its metadata, its revs)
 * are split by key into this many objects, a JSON array of them (shards):
 * an object growing past 2^k entries rehashes all of them at once, and at
 * 65,536 an import's three maps held the loop 20 to 80 ms in one row's
 * step; a shard of 100,000 / 64 rehashes in well under a millisecond. */
#define BATCH_SHARDS 64

struct ledger {
	struct store *st;
	struct commit *commit;
	json_t *overlay;             /* id -> latest record of writes in flight */
	json_t *overlay_ks;          /* id -> "kind\nstate" of the overlay's version,
				      * which ledger_count reads without decoding */
	json_t *meta_overlay;        /* metadata key -> [value or null (deleted),
				      * writes in flight that put it] */
	/* Batches submitted and not yet durable (struct layer), newest first:
	 * read after the overlay, which holds nothing older than them. */
	struct layer *layers;
	uint64_t meta_generation;    /* writes of metadata made visible */
	size_t inflight;             /* writes queued or in flight */
	uint64_t changes;            /* record changes committed since start */
	struct audit_head head;      /* including writes in flight */
	struct audit_head committed; /* as on disk */
	uint64_t next_id;
	/* Decoded committed records: the versions written decoded (new
	 * records, imports) and those ledger_get() decoded, which eval uses
	 * as they are.  Actions and eval otherwise read a record's text
	 * straight into Lua (ledger_latest_text, ledger_get_text), which
	 * costs less than decoding it into this cache.  Coherent because this
	 * daemon is the database's only writer (store_open's lock): an entry
	 * is dropped when a write to its record commits. */
	json_t *cache;               /* id -> record, oldest first (jansson keeps order) */
	json_t *cache_cost;          /* id -> bytes charged for it */
	size_t cache_bytes, cache_max;
	/* Bytes callers derived from committed records (eval's encoded answer),
	 * dropped like the cache when a write to their record commits. */
	json_t *memo;                /* id -> [head, body], oldest first */
	json_t *memo_bodies;         /* body bytes -> the shared body string */
	size_t memo_bytes, memo_max;
	/* Writes waiting for their place in the audit chain, oldest first:
	 * while a batch's entries are sealed on a worker (sealing), the writes
	 * queued after it are built at once (visible to later decisions) but
	 * sealed and submitted only when it is through, in order. */
	struct held *held, *held_tail;
	bool sealing;
	/* Commit failures so far, and the last one's status: a write held
	 * across one was built on what failed, and fails with it. */
	uint64_t fails;
	int fail_status;
	uv_work_t seal_work;
	/* Big committed writes still to settle (struct sweep), oldest first. */
	struct sweep *sweeps, *sweeps_tail;
	uv_idle_t sweep_idle;
	bool sweep_open, sweep_closing;
};

/*
 * A batch's versions and metadata as the batch built them, row by row in
 * its caller's slices (ledger_batch_add): submitting it links this in front
 * of the older layers in one step, where putting 100,000 versions into the
 * overlay one by one held the loop about 0.1 s.  Reads look in the overlay,
 * then in the layers, newest first; for that to give the latest version,
 * the overlay never holds an entry older than a layer's of the same id or
 * key: the few a batch shares with writes in flight before it move from
 * the layer into the overlay when it is linked.  Unlinked when the batch is
 * durable (its versions are then the store's) or failed.
 */
struct layer {
	struct layer *next;          /* older */
	json_t *versions;            /* shards: id -> version, as the overlay's */
	json_t *ks;                  /* shards: id -> "kind\nstate", as overlay_ks */
	json_t *meta;                /* shards: metadata key -> value (a string), or NULL */
};

/* BATCH_SHARDS empty objects (a new reference), or NULL on ENOMEM. */
static json_t *shards_new(void)
{
	json_t *a = json_array();
	for (int i = 0; a && i < BATCH_SHARDS; i++)
		if (json_array_append_new(a, json_object()) < 0 ||
		    !json_is_object(json_array_get(a, (size_t)i))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The shard of `shards` that holds `key` (borrowed; NULL when shards is). */
static json_t *shard_of(const json_t *shards, const char *key)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return json_array_get(shards, h % BATCH_SHARDS);
}

/* Entries of an object, or of all the shards of an array. */
static size_t entries(const json_t *v)
{
	if (!json_is_array(v))
		return json_object_size(v);
	size_t n = 0, i;
	json_t *o;
	json_array_foreach(v, i, o)
		n += json_object_size(o);
	return n;
}

/* Per write: what to undo or confirm once the commit is known. */
struct pending {
	struct ledger *l;
	json_t *revs;                /* id -> [rev this write puts, bytes stored,
				      * the version, and for a prepared change
				      * with a memo entry: its head, its body] */
	struct audit_head head;      /* head after this write */
	json_t *meta_keys;           /* the metadata keys it writes, or NULL */
	struct layer *layer;         /* a batch's, linked until it is durable */
	commit_cb cb;
	void *ud;
};

/* An audit entry of a write, sealed when the write takes its place in the
 * chain: at once, or, behind a batch being sealed, when its turn comes. */
struct seal_req {
	json_t *entry;               /* audit_seal()'s form (a reference), or */
	char *raw;                   /* audit_seal_raw()'s (owned) */
	char time[CLOCK_ISO_MAX];    /* its time ("" for none) */
	char digest[HASH_HEX];       /* the record's digest ("" for none) */
	char *id;                    /* the record's (owned), or NULL */
};

/* How a write seals its entries: now after *head, or kept (defer). */
struct sealer {
	struct audit_head *head;
	bool defer;
	struct seal_req *reqs;
	size_t n, cap;
};

/* A big committed write being settled (settle_all). */
struct sweep {
	struct sweep *next;
	json_t *revs;   /* owned */
	void *at;       /* the next entry of revs */
};

/* A write waiting for its place in the chain (struct ledger's held). */
struct held {
	struct held *next;
	struct commit_write *w;
	struct pending *p;
	struct sealer s;             /* a write's entries, not yet sealed, or */
	struct ledger_batch *b;      /* a batch, sealed on a worker */
	bool head_meta;              /* the write stores the chain's head */
	uint64_t fails;              /* struct ledger's when it was held */
	bool sealed;                 /* the batch's worker is through */
	int rc;                      /* and how it went */
	struct audit_head after;     /* the head after the batch */
	uint64_t t0;                 /* when its sealing began */
};

int ledger_open(struct ledger **out, struct store *st, struct commit *c)
{
	struct ledger *l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	l->st = st;
	l->commit = c;
	l->overlay = json_object();
	l->overlay_ks = json_object();
	l->meta_overlay = json_object();
	l->cache = json_object();
	l->cache_cost = json_object();
	l->cache_max = 32u << 20;
	l->memo = json_object();
	l->memo_bodies = json_object();
	l->memo_max = 32u << 20;
	int rc = audit_load_head(st, &l->committed);
	if (rc < 0) {
		json_decref(l->overlay);
		json_decref(l->overlay_ks);
		free(l);
		return rc;
	}
	l->head = l->committed;
	char *v;
	l->next_id = 1;
	if (store_meta_get(st, NEXT_ID_KEY, &v, NULL) == 0) {
		l->next_id = strtoull(v, NULL, 10);
		free(v);
		if (l->next_id == 0)
			l->next_id = 1;
	}
	*out = l;
	return 0;
}

void ledger_close(struct ledger *l)
{
	if (!l)
		return;
	/* The loop has run down, so no sweep is left; a harness that stops
	 * its loop early loses only the settling (the writes are durable). */
	for (struct sweep *w = l->sweeps, *next; w; w = next) {
		next = w->next;
		json_decref(w->revs);
		free(w);
	}
	json_decref(l->overlay);
	json_decref(l->overlay_ks);
	json_decref(l->meta_overlay);
	json_decref(l->cache);
	json_decref(l->cache_cost);
	json_decref(l->memo);
	json_decref(l->memo_bodies);
	free(l);
}

void ledger_set_cache(struct ledger *l, size_t bytes)
{
	l->cache_max = bytes;
	json_object_clear(l->cache);
	json_object_clear(l->cache_cost);
	l->cache_bytes = 0;
}

/* A decoded record takes about ten times its JSON in memory (jansson's
 * nodes, hash tables and strings, measured on application records), and
 * that is what the budget is for. */
#define CACHE_DECODED_FACTOR 10

/* The first key of `o` (jansson keeps insertion order: the oldest), copied
 * into buf because dropping the entry frees the key; false when empty. */
static bool oldest_key(json_t *o, char *buf, size_t n)
{
	void *it = json_object_iter(o);
	if (!it)
		return false;
	snprintf(buf, n, "%s", json_object_iter_key(it));
	return true;
}

/* --- memo ---------------------------------------------------------------- */

/*
 * An entry is [head, body]: the head is the record's own bytes (small), the
 * body a string shared by every entry with the same body (eval's answers
 * are mostly alike: all the eligible ones of a day are one body), interned
 * in l->memo_bodies keyed by its own bytes.  A body lives while an entry
 * holds it: the interning table's reference is the last one then.
 * Charged: the id, the head and jansson's nodes per entry; each distinct
 * body once.
 */
#define MEMO_ENTRY_OVERHEAD 160
#define MEMO_BODY_OVERHEAD 96

static size_t entry_cost(const char *id, size_t head_len)
{
	return strlen(id) + head_len + MEMO_ENTRY_OVERHEAD;
}

static void memo_drop(struct ledger *l, const char *id)
{
	json_t *e = json_object_get(l->memo, id);
	if (!e)
		return;
	json_t *body = json_array_get(e, 1);
	l->memo_bytes -= entry_cost(id, json_string_length(json_array_get(e, 0)));
	if (body->refcount == 2) { /* this entry and the interning table */
		l->memo_bytes -= json_string_length(body) + MEMO_BODY_OVERHEAD;
		json_object_deln(l->memo_bodies, json_string_value(body), json_string_length(body));
	}
	json_object_del(l->memo, id);
}

void ledger_set_memo(struct ledger *l, size_t bytes)
{
	l->memo_max = bytes;
	ledger_memo_clear(l);
}

void ledger_memo_clear(struct ledger *l)
{
	json_object_clear(l->memo);
	json_object_clear(l->memo_bodies);
	l->memo_bytes = 0;
}

bool ledger_memo_get(struct ledger *l, const char *id, struct ledger_memo *out)
{
	json_t *e = json_object_get(l->memo, id);
	if (!e)
		return false;
	json_t *head = json_array_get(e, 0), *body = json_array_get(e, 1);
	out->head = json_string_value(head);
	out->head_len = json_string_length(head);
	out->body = json_string_value(body);
	out->body_len = json_string_length(body);
	return true;
}

void ledger_memo_put(struct ledger *l, const char *id, const struct ledger_memo *m)
{
	size_t cost = entry_cost(id, m->head_len) + m->body_len + MEMO_BODY_OVERHEAD;
	/* A body with a NUL cannot be a key; eval's answers (JSON) never have one. */
	if (cost > l->memo_max / 4 || memchr(m->body, '\0', m->body_len))
		return;
	memo_drop(l, id);
	char old[512];
	while (l->memo_bytes + cost > l->memo_max && oldest_key(l->memo, old, sizeof old))
		memo_drop(l, old);
	json_t *body = json_object_getn(l->memo_bodies, m->body, m->body_len);
	bool fresh = !body;
	if (fresh) {
		/* Any bytes: a jansson string with no UTF-8 check is a byte buffer. */
		body = json_stringn_nocheck(m->body, m->body_len);
		if (!body || json_object_setn_new_nocheck(l->memo_bodies, m->body, m->body_len, body) < 0)
			return;
	}
	json_t *e = json_array();
	if (!e || json_array_append_new(e, json_stringn_nocheck(m->head, m->head_len)) < 0 ||
	    json_array_append(e, body) < 0 || json_object_set_new(l->memo, id, e) < 0) {
		if (fresh)
			json_object_deln(l->memo_bodies, m->body, m->body_len);
		return;
	}
	l->memo_bytes += entry_cost(id, m->head_len);
	if (fresh)
		l->memo_bytes += m->body_len + MEMO_BODY_OVERHEAD;
}

size_t ledger_memo_size(const struct ledger *l, size_t *bytes, size_t *bodies)
{
	if (bytes)
		*bytes = l->memo_bytes;
	if (bodies)
		*bodies = json_object_size(l->memo_bodies);
	return json_object_size(l->memo);
}

/* --- decoded-record cache ----------------------------------------------- */

static void cache_drop(struct ledger *l, const char *id)
{
	json_t *cost = json_object_get(l->cache_cost, id);
	if (!cost)
		return;
	l->cache_bytes -= (size_t)json_integer_value(cost);
	json_object_del(l->cache_cost, id);
	json_object_del(l->cache, id);
}

/* Makes room for `need` bytes by dropping the oldest entries first. */
static void cache_evict(struct ledger *l, size_t need)
{
	char id[512];
	while (l->cache_bytes + need > l->cache_max && oldest_key(l->cache_cost, id, sizeof id))
		cache_drop(l, id);
}

/* Keeps `rec` (a reference), stored as `len` bytes of JSON, as the decoded
 * committed version of `id`. */
static void cache_put(struct ledger *l, const char *id, json_t *rec, size_t len)
{
	size_t cost = len * CACHE_DECODED_FACTOR;
	if (l->cache_max == 0 || cost > l->cache_max / 4)
		return;
	cache_drop(l, id);
	cache_evict(l, cost);
	if (json_object_set(l->cache, id, rec) == 0 &&
	    json_object_set_new(l->cache_cost, id, json_integer((json_int_t)cost)) == 0)
		l->cache_bytes += cost;
	else
		json_object_del(l->cache, id);
}

json_t *ledger_cached(struct ledger *l, const char *id)
{
	return json_incref(json_object_get(l->cache, id));
}

int ledger_get_text(struct ledger *l, const char *id, char **text, size_t *len)
{
	return store_get(l->st, id, text, len);
}

/* The committed record `id`: 0 with *rec (a reference: caller decrefs and
 * must not modify it, it may be shared with the cache), -ENOENT, or a
 * negative errno (-EIO when the stored JSON does not parse). */
static int ledger_get(struct ledger *l, const char *id, json_t **rec)
{
	json_t *hit = json_object_get(l->cache, id);
	if (hit) {
		*rec = json_incref(hit);
		return 0;
	}
	char *body;
	size_t len;
	int rc = store_get(l->st, id, &body, &len);
	if (rc < 0)
		return rc;
	json_error_t e;
	*rec = json_loadb(body, len, 0, &e);
	free(body);
	if (!*rec) {
		log_err("ledger: a stored record does not parse id=%s error=\"%s\"", id, e.text);
		return -EIO;
	}
	cache_put(l, id, *rec, len);
	return 0;
}

static json_t *overlay_get(struct ledger *l, const char *id);

static char *dump(json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}

static bool has_control(const char *s, size_t len)
{
	unsigned char bad = 0;
	for (size_t i = 0; i < len; i++)
		bad |= (unsigned char)s[i] < 0x20;
	return bad;
}

int ledger_get_sendable(struct ledger *l, const char *id, char **text, size_t *len)
{
	/* The stored bytes are the record's JSON as this daemon encoded it:
	 * sent as they are, with no decoding and encoding again.  Bytes that
	 * do not look like one JSON object on one line (a damaged file:
	 * jansson never writes a raw control character) take the decoding
	 * path, which says what is wrong instead of breaking the reply. */
	int rc = store_get(l->st, id, text, len);
	if (rc == 0 && *len >= 2 && (*text)[0] == '{' && (*text)[*len - 1] == '}' &&
	    !has_control(*text, *len))
		return 0;
	if (rc == 0)
		free(*text);
	*text = NULL;
	json_t *rec;
	if ((rc = ledger_get(l, id, &rec)) < 0)
		return rc;
	*text = dump(rec);
	json_decref(rec);
	if (!*text)
		return -ENOMEM;
	*len = strlen(*text);
	return 0;
}

/* --- listings and history ------------------------------------------------ */

int ledger_list(struct ledger *l, const char *kind, const char *state, const char *after,
		size_t limit, bool lazy, struct ledger_page *page)
{
	memset(page, 0, sizeof *page);
	page->lazy = lazy;
	int rc = lazy ? store_list_raw(l->st, kind, state, after, limit, &page->rows)
		      : store_list(l->st, kind, state, after, limit, &page->rows);
	if (rc < 0)
		return rc;
	page->n = page->rows.n;
	page->next = page->rows.next;
	return 0;
}

const char *ledger_page_id(const struct ledger_page *page, size_t i)
{
	return i < page->n ? page->rows.items[i].id : NULL;
}

json_t *ledger_page_get(struct ledger *l, const struct ledger_page *page, size_t i)
{
	if (i >= page->n)
		return NULL;
	const struct store_item *it = &page->rows.items[i];
	char *text = NULL;
	size_t len = it->len;
	json_t *rec = NULL;
	json_error_t e = { .text = "it does not unpack" };
	/* A lazy page holds stored forms (compress.h): only what is read is
	 * unpacked, which a caller that skips most of its page needs. */
	if (!page->lazy && !it->body)
		return NULL; /* did not unpack: the store said so */
	if (!page->lazy || store_unpack(l->st, it->body, it->len, &text, &len) == 0)
		rec = json_loadb(page->lazy ? text : it->body, len, 0, &e);
	free(text);
	if (!rec)
		log_err("ledger: a stored record does not parse id=%s error=\"%s\"", it->id, e.text);
	return rec;
}

json_t *ledger_page_latest(struct ledger *l, const struct ledger_page *page, size_t i)
{
	/* No copy: records are never modified once written or cached, and
	 * every caller builds a new version instead of changing this one. */
	json_t *pending = i < page->n ? overlay_get(l, page->rows.items[i].id) : NULL;
	return pending ? json_incref(pending) : ledger_page_get(l, page, i);
}

void ledger_page_free(struct ledger_page *page)
{
	store_rows_free(&page->rows);
	page->n = 0;
	page->next = NULL;
}

int ledger_history(struct ledger *l, const char *id, json_t **entries)
{
	struct store_rows rows;
	int rc = store_audit_of(l->st, id, &rows);
	if (rc < 0)
		return rc;
	*entries = rows.n ? json_array() : NULL;
	for (size_t i = 0; *entries && i < rows.n; i++) {
		json_t *e = json_loadb(rows.items[i].body, rows.items[i].len, 0, NULL);
		if (e)
			json_array_append_new(*entries, e);
	}
	rc = rows.n == 0 ? -ENOENT : *entries ? 0 : -ENOMEM;
	store_rows_free(&rows);
	return rc;
}

/* The latest version of `id` among writes in flight (borrowed), or NULL:
 * the overlay's, else the newest layer's; *home (when given) is the object
 * holding it. */
static json_t *inflight_get(const struct ledger *l, const char *id, json_t **home)
{
	json_t *r = json_object_get(l->overlay, id), *h = l->overlay;
	for (const struct layer *y = l->layers; !r && y; y = y->next)
		r = json_object_get(h = shard_of(y->versions, id), id);
	if (home)
		*home = h;
	return r;
}

/* The version in flight of `id`, decoded: a prepared change or a batch
 * puts its stored form there (compress.h), decoded the first time somebody
 * asks (most never are). */
static json_t *overlay_get(struct ledger *l, const char *id)
{
	json_t *home;
	json_t *r = inflight_get(l, id, &home);
	if (!r || !json_is_string(r))
		return r;
	char *text = NULL;
	size_t len = 0;
	json_t *dec = NULL;
	if (store_unpack(l->st, json_string_value(r), json_string_length(r), &text, &len) == 0)
		dec = json_loadb(text, len, 0, NULL);
	free(text);
	if (!dec || json_object_set_new(home, id, dec) < 0) {
		log_err("ledger: a prepared version does not parse id=%s", id);
		return NULL;
	}
	return dec;
}

int ledger_latest_text(struct ledger *l, const char *id, char **text, size_t *len)
{
	json_t *r = inflight_get(l, id, NULL);
	if (json_is_string(r)) /* a stored form: plain JSON or compressed */
		return store_unpack(l->st, json_string_value(r), json_string_length(r), text, len);
	if (r) { /* a decoded version in flight (a new record, most often) */
		if (!(*text = dump(r)))
			return -ENOMEM;
		*len = strlen(*text);
		return 0;
	}
	/* Not the record cache: unpacking the stored text costs less than
	 * encoding a cached tree again. */
	return store_get(l->st, id, text, len);
}

bool ledger_is_pending(const struct ledger *l, const char *id)
{
	return inflight_get(l, id, NULL) != NULL;
}

/* Whether the "kind\nstate" `ks` is kind, state (kl, sl bytes). */
static bool ks_is(const json_t *ks, const char *kind, size_t kl, const char *state, size_t sl)
{
	const char *v = json_string_value(ks);
	return json_string_length(ks) == kl + 1 + sl && memcmp(v, kind, kl) == 0 && v[kl] == '\n' &&
	       memcmp(v + kl + 1, state, sl) == 0;
}

int ledger_count(struct ledger *l, const char *kind, const char *state, uint64_t *n)
{
	/* The overlay's ids replace whatever the store holds of them, read in
	 * the same transaction as the counter: exact whether a write's commit
	 * has landed or not (its callback may not have run yet). */
	size_t nids = json_object_size(l->overlay_ks), i = 0;
	for (const struct layer *y = l->layers; y; y = y->next)
		nids += entries(y->ks);
	const char **ids = nids ? malloc(nids * sizeof *ids) : NULL;
	if (nids && !ids)
		return -ENOMEM;
	size_t kl = strlen(kind), sl = strlen(state);
	uint64_t newer = 0, among = 0;
	const char *id;
	json_t *ks;
	json_object_foreach(l->overlay_ks, id, ks) {
		ids[i++] = id;
		newer += ks_is(ks, kind, kl, state, sl);
	}
	/* A layer's versions, but those a newer write replaced (counted once,
	 * as the newest). */
	for (const struct layer *y = l->layers; y; y = y->next) {
		size_t si;
		json_t *shard;
		json_array_foreach(y->ks, si, shard) {
			json_object_foreach(shard, id, ks) {
				bool replaced = json_object_get(l->overlay_ks, id) != NULL;
				for (const struct layer *z = l->layers; !replaced && z != y; z = z->next)
					replaced = json_object_get(shard_of(z->ks, id), id) != NULL;
				if (replaced)
					continue;
				ids[i++] = id;
				newer += ks_is(ks, kind, kl, state, sl);
			}
		}
	}
	int rc = store_count_ks(l->st, kind, state, ids, i, n, &among);
	free(ids);
	if (rc == 0)
		*n = *n - among + newer;
	return rc;
}

int ledger_exists(struct ledger *l, const char *id)
{
	if (inflight_get(l, id, NULL))
		return 1;
	char *text = NULL;
	size_t len;
	int rc = store_get(l->st, id, &text, &len);
	free(text);
	return rc == 0 || rc == -EIO ? 1 : rc == -ENOENT ? 0 : rc;
}

char *ledger_new_id(struct ledger *l, const char *prefix)
{
	char *s;
	if (asprintf(&s, "%s%06" PRIu64, prefix, l->next_id) < 0)
		return NULL;
	l->next_id++;
	return s;
}

/* The metadata a write puts, visible to ledger_meta_latest() until it is
 * durable: returns the list of its keys (NULL when none or out of memory:
 * then later decisions read the store, as before the write). */
static json_t *meta_visible(struct ledger *l, const char *const *meta, json_t *batch_meta)
{
	json_t *keys = json_array();
	for (size_t i = 0; keys && meta && meta[i] && meta[i + 1]; i += 2) {
		json_t *v = meta[i + 1] == LEDGER_META_DELETE ? json_null() : json_string(meta[i + 1]);
		json_t *o = json_object_get(l->meta_overlay, meta[i]);
		json_int_t n = o ? json_integer_value(json_array_get(o, 1)) : 0;
		json_object_set_new(l->meta_overlay, meta[i], json_pack("[o, I]", v, n + 1));
		json_array_append_new(keys, json_string(meta[i]));
	}
	const char *k;
	json_t *v;
	json_object_foreach(batch_meta, k, v) {
		json_t *o = json_object_get(l->meta_overlay, k);
		json_int_t n = o ? json_integer_value(json_array_get(o, 1)) : 0;
		json_object_set_new(l->meta_overlay, k, json_pack("[O, I]", v, n + 1));
		json_array_append_new(keys, json_string(k));
	}
	if (keys && json_array_size(keys) == 0) {
		json_decref(keys);
		return NULL;
	}
	l->meta_generation++;
	return keys;
}

/* A write of `keys` is durable or failed: its values leave the overlay once
 * no later write in flight puts the key (a failure drops them at once: the
 * committer fails every write not yet durable). */
static void meta_release(struct ledger *l, json_t *keys, int status)
{
	size_t i;
	json_t *k;
	json_array_foreach(keys, i, k) {
		json_t *o = json_object_get(l->meta_overlay, json_string_value(k));
		json_int_t n = o ? json_integer_value(json_array_get(o, 1)) - 1 : 0;
		if (!o)
			continue;
		if (n <= 0 || status != 0)
			json_object_del(l->meta_overlay, json_string_value(k));
		else
			json_array_set_new(o, 1, json_integer(n));
	}
}

uint64_t ledger_meta_generation(const struct ledger *l) { return l->meta_generation; }

int ledger_meta_latest(struct ledger *l, const char *key, char **val, size_t *len)
{
	json_t *o = json_object_get(l->meta_overlay, key);
	json_t *v = o ? json_array_get(o, 0) : NULL;
	for (const struct layer *y = l->layers; !o && y; y = y->next)
		o = v = json_object_get(shard_of(y->meta, key), key);
	if (o) {
		if (!json_is_string(v))
			return -ENOENT;
		if (!(*val = strdup(json_string_value(v))))
			return -ENOMEM;
		if (len)
			*len = json_string_length(v);
		return 0;
	}
	return store_meta_get(l->st, key, val, len);
}

/* Frees `v`, a big one (a batch's 100,000 versions) on a worker: the last
 * references go there (jansson counts them atomically), not on the loop. */
static void release_work(uv_work_t *req) { json_decref(req->data); }
static void release_done(uv_work_t *req, int status)
{
	(void)status;
	free(req);
}
static void release(struct ledger *l, json_t *v)
{
	uv_work_t *req = entries(v) > RELEASE_ON_WORKER ? malloc(sizeof *req) : NULL;
	if (req) {
		req->data = v;
		if (uv_queue_work(commit_loop(l->commit), req, release_work, release_done) == 0)
			return;
		free(req);
	}
	json_decref(v);
}

/* Unlinks layer `y` (durable or failed: the store or nobody has its
 * versions now) when it is linked still, and frees it, its big objects on a
 * worker.  Only the write `y` belongs to (struct pending) drops it. */
static void layer_drop(struct ledger *l, struct layer *y)
{
	if (!y)
		return;
	struct layer **at = &l->layers;
	while (*at && *at != y)
		at = &(*at)->next;
	if (*at)
		*at = y->next;
	release(l, y->versions);
	release(l, y->ks);
	release(l, y->meta);
	free(y);
}

/* A committed write's version of record `id` (its entry of revs): what
 * was derived from the old one goes; the overlay entry goes, unless a later
 * write in flight has replaced it already. */
static void settle(struct ledger *l, const char *id, json_t *rev)
{
	/* The new version, when this write was the last to it, is the decoded
	 * record the overlay holds: it moves to the cache, so the next read
	 * or write of it decodes nothing. */
	cache_drop(l, id);
	memo_drop(l, id);
	json_t *o = json_object_get(l->overlay, id);
	bool last = o && (json_is_string(o) ? o == json_array_get(rev, 2)
		    : json_equal(json_object_get(o, "rev"), json_array_get(rev, 0)));
	if (!last)
		return;
	if (json_is_object(o))
		cache_put(l, id, o, (size_t)json_integer_value(json_array_get(rev, 1)));
	json_object_del(l->overlay, id);
	json_object_del(l->overlay_ks, id);
	json_t *mh = json_array_get(rev, 3), *mb = json_array_get(rev, 4);
	if (mh && mb) {
		struct ledger_memo m = {
			.head = json_string_value(mh), .head_len = json_string_length(mh),
			.body = json_string_value(mb), .body_len = json_string_length(mb),
		};
		ledger_memo_put(l, id, &m);
	}
}

/* A big committed write (an import of 100,000 records) is settled a slice
 * of about 5 ms per loop turn (an idle handle, opened while there is some to
 * do): meanwhile its versions are still read from the overlay, the same as
 * those committed, and a later write to one of them settles as usual. */
static void sweep_start(struct ledger *l);
static void settle_shard(struct ledger *l, json_t *revs, bool slices);


static void sweep_closed(uv_handle_t *h)
{
	struct ledger *l = h->data;
	l->sweep_open = false;
	if (l->sweeps)
		sweep_start(l);
}

static void sweep_step(uv_idle_t *h)
{
	struct ledger *l = h->data;
	uint64_t until = uv_hrtime() + SWEEP_STEP_NS;
	while (l->sweeps && uv_hrtime() < until) {
		struct sweep *w = l->sweeps;
		for (int i = 0; w->at && i < 256; i++) {
			settle(l, json_object_iter_key(w->at), json_object_iter_value(w->at));
			w->at = json_object_iter_next(w->revs, w->at);
		}
		if (w->at)
			continue;
		l->sweeps = w->next;
		if (!l->sweeps)
			l->sweeps_tail = NULL;
		release(l, w->revs);
		free(w);
	}
	if (!l->sweeps && !l->sweep_closing) {
		l->sweep_closing = true;
		uv_close((uv_handle_t *)&l->sweep_idle, sweep_closed);
	}
}

static void sweep_start(struct ledger *l)
{
	if (l->sweep_open)
		return; /* running, or closing: sweep_closed starts it again */
	uv_idle_init(commit_loop(l->commit), &l->sweep_idle);
	l->sweep_idle.data = l;
	l->sweep_open = true;
	l->sweep_closing = false;
	uv_idle_start(&l->sweep_idle, sweep_step);
}

/* Settles `revs` (taken): now, or in slices when it is big (a batch's
 * shards are each queued, whatever their size). */
static void settle_all(struct ledger *l, json_t *revs)
{
	if (json_is_array(revs)) {
		size_t i;
		json_t *shard;
		json_array_foreach(revs, i, shard)
			settle_shard(l, json_incref(shard), true);
		json_decref(revs);
		return;
	}
	settle_shard(l, revs, json_object_size(revs) > RELEASE_ON_WORKER);
}

/* Settles `revs` (taken, an object): in slices when `slices`. */
static void settle_shard(struct ledger *l, json_t *revs, bool slices)
{
	struct sweep *w = slices ? calloc(1, sizeof *w) : NULL;
	if (!w) {
		const char *id;
		json_t *rev;
		json_object_foreach(revs, id, rev)
			settle(l, id, rev);
		release(l, revs);
		return;
	}
	*w = (struct sweep){ .revs = revs, .at = json_object_iter(revs) };
	if (l->sweeps_tail)
		l->sweeps_tail->next = w;
	else
		l->sweeps = w;
	l->sweeps_tail = w;
	sweep_start(l);
}

static void written(void *ud, int status)
{
	struct pending *p = ud;
	struct ledger *l = p->l;
	l->inflight--;
	json_t *revs = p->revs;
	if (status == 0) {
		l->changes += entries(revs);
		l->committed = p->head;
		layer_drop(l, p->layer); /* the store has its versions now */
		settle_all(l, revs); /* a big write: queued, settled after the reply */
		revs = NULL;
	} else {
		/* The committer fails every write not yet durable: nothing in the
		 * overlay survives, and the chain restarts from what is on disk. */
		json_object_clear(l->overlay);
		json_object_clear(l->overlay_ks);
		/* The layers too: each is freed by its own write, which fails. */
		l->layers = NULL;
		layer_drop(l, p->layer);
		l->head = l->committed;
		l->fails++;
		l->fail_status = status;
	}
	meta_release(l, p->meta_keys, status);
	if (p->cb)
		p->cb(p->ud, status);
	json_decref(revs);
	json_decref(p->meta_keys);
	free(p);
}

/* --- writes waiting for their place in the chain -------------------------- */

static void release_held(struct ledger *l);

/* Queues `h` behind the writes held already; it goes when it is first. */
static void hold(struct ledger *l, struct held *h)
{
	h->fails = l->fails;
	if (l->held_tail)
		l->held_tail->next = h;
	else
		l->held = h;
	l->held_tail = h;
	release_held(l);
}

/* A write that could not be sealed: its versions leave the overlay (those
 * a later write replaced stay) and its caller hears why. */
static void fail_held(struct ledger *l, struct pending *p, int rc)
{
	const char *id;
	json_t *rev, *shard;
	size_t i, n = json_is_array(p->revs) ? json_array_size(p->revs) : 1;
	for (i = 0; i < n; i++) {
		shard = json_is_array(p->revs) ? json_array_get(p->revs, i) : p->revs;
		json_object_foreach(shard, id, rev) {
			if (json_object_get(l->overlay, id) == json_array_get(rev, 2)) {
				json_object_del(l->overlay, id);
				json_object_del(l->overlay_ks, id);
			}
		}
	}
	layer_drop(l, p->layer);
	meta_release(l, p->meta_keys, rc);
	l->inflight--;
	if (p->cb)
		p->cb(p->ud, rc);
	json_decref(p->revs);
	json_decref(p->meta_keys);
	free(p);
}

static int batch_rest(struct ledger *l, struct held *h, struct audit_head *head);
static int seal_kept(struct sealer *s, struct commit_write *w, struct audit_head *head);
static void sealer_clear(struct sealer *s);

/* Seals the first held write after the chain's head and submits it. */
static void submit_held(struct ledger *l, struct held *h)
{
	struct audit_head head = l->head;
	int rc = h->b ? batch_rest(l, h, &head) : seal_kept(&h->s, h->w, &head);
	/* As the committer fails every write queued after a failed one (it
	 * was decided on what failed; a batch was sealed after its entries). */
	if (rc == 0 && h->fails != l->fails)
		rc = l->fail_status;
	if (rc == 0 && h->head_meta)
		rc = commit_put_meta(h->w, AUDIT_HEAD_KEY, audit_head_encode(&head));
	sealer_clear(&h->s);
	if (rc < 0) {
		if (h->w)
			commit_write_free(h->w);
		fail_held(l, h->p, rc);
	} else {
		l->head = head;
		h->p->head = head;
		commit_submit(l->commit, h->w, written, h->p);
	}
	free(h);
}

static void start_sealing(struct ledger *l, struct held *h);

/* Submits the held writes in order, up to a batch still to be sealed. */
static void release_held(struct ledger *l)
{
	while (l->held && !l->sealing) {
		struct held *h = l->held;
		if (h->b && !h->sealed) {
			start_sealing(l, h);
			continue;
		}
		l->held = h->next;
		if (!l->held)
			l->held_tail = NULL;
		submit_held(l, h);
	}
}

/* Queues `w` (taken, also on failure) when rc is 0: a write of metadata
 * only, ordered with the others. */
static int submit_meta(struct ledger *l, struct commit_write *w, int rc, commit_cb cb, void *ud)
{
	struct pending *p = rc == 0 ? calloc(1, sizeof *p) : NULL;
	json_t *revs = p ? json_object() : NULL;
	if (!revs) {
		commit_write_free(w);
		free(p);
		return rc < 0 ? rc : -ENOMEM;
	}
	/* Nothing of the audit chain changes: the head after it is the head
	 * after the writes queued before it. */
	*p = (struct pending){ .l = l, .revs = revs, .head = l->head, .cb = cb, .ud = ud };
	l->inflight++;
	if (l->held) {
		struct held *h = calloc(1, sizeof *h);
		if (!h) {
			l->inflight--;
			json_decref(revs);
			free(p);
			commit_write_free(w);
			return -ENOMEM;
		}
		*h = (struct held){ .w = w, .p = p };
		hold(l, h);
		return 0;
	}
	commit_submit(l->commit, w, written, p);
	return 0;
}

int ledger_drop_staged(struct ledger *l, const char *also, commit_cb cb, void *ud)
{
	struct commit_write *w = commit_write_new();
	int rc = w ? commit_drop_range(w) : -ENOMEM;
	if (rc == 0 && also)
		rc = commit_del_meta(w, also);
	return submit_meta(l, w, rc, cb, ud);
}

int ledger_write_meta(struct ledger *l, const char *const *keys, const char *const *vals,
		      const size_t *lens, size_t n, commit_cb cb, void *ud)
{
	struct commit_write *w = commit_write_new();
	int rc = w ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char *v = malloc(lens[i] + 1);
		if (!v) {
			rc = -ENOMEM;
			break;
		}
		memcpy(v, vals[i], lens[i]);
		v[lens[i]] = '\0';
		rc = commit_put_meta_n(w, keys[i], v, lens[i]);
	}
	return submit_meta(l, w, rc, cb, ud);
}

const char ledger_meta_delete[] = "";

size_t ledger_inflight(const struct ledger *l) { return l->inflight; }
uint64_t ledger_changes(const struct ledger *l) { return l->changes; }
struct audit_head ledger_committed_head(const struct ledger *l) { return l->committed; }

/* Every write of a record drops what was staged for it ahead of a deadline
 * (stage.c), in the same transaction: a staged version is only ever applied
 * to the version it was computed from. */
static int drop_staged(struct commit_write *w, const char *id)
{
	char key[600];
	if (snprintf(key, sizeof key, "%s%s", LEDGER_STAGE_PREFIX, id) >= (int)sizeof key)
		return -EINVAL;
	return commit_del_meta(w, key);
}

/* What each change of a write puts in the overlay once nothing can fail. */
struct visible {
	const char *id;  /* borrowed from the change */
	json_t *version; /* a reference: the decoded record, or its stored form */
	json_t *ks;      /* "kind\nstate" of the version (overlay_ks) */
};

/* A visible version's "kind\nstate" (a new reference), or NULL on ENOMEM. */
static json_t *ks_of(const char *kind, const char *state)
{
	char *s = NULL;
	if (asprintf(&s, "%s\n%s", kind, state) < 0)
		return NULL;
	json_t *j = json_string_nocheck(s);
	free(s);
	return j;
}

/* The write's versions become the latest (nothing left to fail). */
static void make_visible(struct ledger *l, struct visible *vis, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_object_set_new(l->overlay, vis[i].id, vis[i].version);
		json_object_set_new(l->overlay_ks, vis[i].id, vis[i].ks);
		vis[i].version = vis[i].ks = NULL;
	}
}

/* Seals `entry` as record `id`'s entry after *s->head and queues it, or
 * keeps it (a reference) for its turn. */
static int seal_entry(struct sealer *s, struct commit_write *w, json_t *entry, const char *id)
{
	if (!s->defer) {
		char *sealed = audit_seal(entry, s->head);
		return commit_put_audit(w, s->head->seq, id, sealed);
	}
	if (s->n == s->cap) {
		size_t nc = s->cap ? 2 * s->cap : 4;
		struct seal_req *r = realloc(s->reqs, nc * sizeof *r);
		if (!r)
			return -ENOMEM;
		s->reqs = r;
		s->cap = nc;
	}
	struct seal_req *r = &s->reqs[s->n];
	*r = (struct seal_req){ .entry = json_incref(entry), .id = id ? strdup(id) : NULL };
	s->n++;
	return id && !r->id ? -ENOMEM : 0;
}

/* The same for an entry given as text (audit_seal_raw), with `time`. */
static int seal_text(struct sealer *s, struct commit_write *w, const char *a, const char *time,
		     const char *digest, const char *id)
{
	if (!s->defer) {
		char *sealed = audit_seal_raw(a, strlen(a), time, digest, s->head);
		if (!sealed)
			return -ENOMEM;
		return commit_put_audit(w, s->head->seq, id, sealed);
	}
	int rc = seal_entry(s, w, NULL, id);
	if (rc < 0)
		return rc;
	struct seal_req *r = &s->reqs[s->n - 1];
	snprintf(r->time, sizeof r->time, "%s", time ? time : "");
	snprintf(r->digest, sizeof r->digest, "%s", digest ? digest : "");
	return (r->raw = strdup(a)) ? 0 : -ENOMEM;
}

/* The kept entries, sealed after *head and queued on `w`, in order. */
static int seal_kept(struct sealer *s, struct commit_write *w, struct audit_head *head)
{
	struct sealer now = { .head = head };
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < s->n; i++) {
		struct seal_req *r = &s->reqs[i];
		rc = r->raw ? seal_text(&now, w, r->raw, r->time[0] ? r->time : NULL,
					r->digest[0] ? r->digest : NULL, r->id)
			    : seal_entry(&now, w, r->entry, r->id);
	}
	return rc;
}

static void sealer_clear(struct sealer *s)
{
	for (size_t i = 0; i < s->n; i++) {
		json_decref(s->reqs[i].entry);
		free(s->reqs[i].raw);
		free(s->reqs[i].id);
	}
	free(s->reqs);
	s->reqs = NULL;
	s->n = s->cap = 0;
}

/* Seals `audit` (when given) as record `id`'s entry, with "rev_after" set
 * to `rev` (taken) and the digest of `json`, the record's text after the
 * change, and queues it (or keeps it for its turn). */
static int put_audit(struct commit_write *w, json_t *audit, const char *id, json_t *rev,
		     const char *json, size_t len, struct sealer *head)
{
	if (!audit) {
		json_decref(rev);
		return 0;
	}
	char digest[HASH_HEX];
	if (audit_record_digest(json, len, digest) < 0) {
		json_decref(rev);
		return -EIO;
	}
	json_object_set_new(audit, "rev_after", rev);
	json_object_set_new(audit, AUDIT_DIGEST_KEY, json_string(digest));
	return seal_entry(head, w, audit, id);
}

/* The digest of a prepared change's record: its text, unpacked from the
 * spliced form (the frame was made ahead, without the stamp). */
static int prepared_digest(struct ledger *l, const char *body, size_t len, char out[HASH_HEX])
{
	char *json;
	size_t jlen;
	int rc = store_unpack(l->st, body, len, &json, &jlen);
	if (rc < 0)
		return rc;
	rc = audit_record_digest(json, jlen, out);
	free(json);
	return rc;
}

/* A prepared change: stamp the record with the time of the write, seal its
 * audit entries, queue both. */
static int write_prepared(struct ledger *l, struct commit_write *w, const struct ledger_change *ch,
			  const char *now, struct sealer *head, json_t *revs, struct visible *vis)
{
	const struct ledger_prepared *c = &ch->prepared;
	if (!c->id || !c->kind || !c->state || !c->frame || !c->frame_len)
		return -EINVAL;
	/* {"updated_at":"<now>", then the frame's <members>} */
	char prefix[64];
	int pl = snprintf(prefix, sizeof prefix, "{\"updated_at\":\"%s\",", now);
	size_t len = 0;
	char *body = pl > 0 && (size_t)pl < sizeof prefix
		? compress_splice(prefix, (size_t)pl, c->frame, c->frame_len, &len) : NULL;
	if (!body)
		return -ENOMEM;
	/* Its staged row stays: the run drops them all at its end (stage.c),
	 * which writes far less than deleting each one here.  The last entry
	 * carries the digest of the version written (the ones before it
	 * record steps never stored). */
	char digest[HASH_HEX];
	int rc = c->n_audits ? prepared_digest(l, body, len, digest) : 0;
	for (size_t i = 0; rc == 0 && i < c->n_audits; i++) {
		rc = seal_text(head, w, c->audits[i], now, i + 1 == c->n_audits ? digest : NULL, c->id);
	}
	if (rc < 0) {
		free(body);
		return rc;
	}
	json_t *text = json_stringn_nocheck(body, len);
	if (!text) {
		free(body);
		return -ENOMEM;
	}
	*vis = (struct visible){ c->id, text, ks_of(c->kind, c->state) };
	if (!vis->ks) {
		free(body);
		return -ENOMEM;
	}
	if ((rc = commit_put_record_n(w, c->id, c->kind, c->state, ch->old_kind,
				      ch->old_state, body, len)) < 0)
		return rc;
	json_t *rev = json_pack("[I, I, O]", c->rev, (json_int_t)len, text);
	if (rev && c->memo) {
		json_array_append_new(rev, json_stringn_nocheck(c->memo->head, c->memo->head_len));
		json_array_append_new(rev, json_stringn_nocheck(c->memo->body, c->memo->body_len));
	}
	if (!rev || json_object_set_new(revs, c->id, rev) < 0)
		return -ENOMEM;
	return 0;
}

/* A change given as text: seal its audit entry, queue both; the overlay
 * holds the text as it is. */
static int put_text_record(struct commit_write *w, const struct ledger_change *ch,
			   json_t *revs, struct visible *vis);
static int write_text(struct commit_write *w, const struct ledger_change *ch,
		      struct sealer *head, json_t *revs, struct visible *vis)
{
	const struct ledger_text *c = &ch->text;
	if (!c->id || !c->kind || !c->state || !c->text || !c->len || c->text[0] != '{')
		return -EINVAL;
	int rc = drop_staged(w, c->id);
	if (rc < 0 || (rc = put_audit(w, c->audit, c->id, json_integer(c->rev), c->text, c->len,
				      head)) < 0)
		return rc;
	return put_text_record(w, ch, revs, vis);
}

/* write_text()'s record: queued, and what the overlay and revs get. */
static int put_text_record(struct commit_write *w, const struct ledger_change *ch,
			   json_t *revs, struct visible *vis)
{
	const struct ledger_text *c = &ch->text;
	int rc;
	char *body = malloc(c->len + 1);
	if (!body)
		return -ENOMEM;
	memcpy(body, c->text, c->len);
	body[c->len] = '\0';
	if ((rc = commit_put_record_n(w, c->id, c->kind, c->state, ch->old_kind, ch->old_state,
				      body, c->len)) < 0)
		return rc;
	json_t *text = json_stringn_nocheck(c->text, c->len);
	if (!text)
		return -ENOMEM;
	*vis = (struct visible){ c->id, text, ks_of(c->kind, c->state) };
	if (!vis->ks || (c->encoded && !(*c->encoded = strndup(c->text, c->len))))
		return -ENOMEM;
	json_t *rev = json_pack("[I, I, O]", c->rev, (json_int_t)c->len, text);
	if (!rev || json_object_set_new(revs, c->id, rev) < 0)
		return -ENOMEM;
	return 0;
}

/* A change given decoded: the same, encoding the record; the overlay holds
 * the record itself (a reference, not a copy: callers never change a
 * record once written, see ledger.h). */
static int write_decoded(struct commit_write *w, const struct ledger_change *ch,
			 struct sealer *head, json_t *revs, struct visible *vis)
{
	const struct ledger_decoded *c = &ch->decoded;
	const char *id = json_string_value(json_object_get(c->record, "id"));
	const char *kind = json_string_value(json_object_get(c->record, "kind"));
	const char *state = json_string_value(json_object_get(c->record, "state"));
	if (!id || !kind || !state)
		return -EINVAL;
	json_t *rev = json_object_get(c->record, "rev");
	char *body = dump(c->record);
	size_t body_len = body ? strlen(body) : 0;
	if (!body)
		return -ENOMEM;
	int rc = drop_staged(w, id);
	if (rc < 0 || (rc = put_audit(w, c->audit, id, json_incref(rev), body, body_len, head)) < 0) {
		free(body);
		return rc;
	}
	if (c->encoded && !(*c->encoded = strdup(body))) {
		free(body);
		return -ENOMEM;
	}
	if ((rc = commit_put_record(w, id, kind, state, ch->old_kind, ch->old_state, body)) < 0)
		return rc;
	*vis = (struct visible){ id, json_incref(c->record), ks_of(kind, state) };
	if (!vis->ks)
		return -ENOMEM;
	json_object_set_new(revs, id, json_pack("[O, I, O]", rev, (json_int_t)body_len, c->record));
	return 0;
}

/* The changes of one write, queued on `w`, in order. */
static int write_changes(struct ledger *l, struct commit_write *w,
			 const struct ledger_change *changes, size_t n, struct sealer *head,
			 json_t *revs, struct visible *vis)
{
	/* One instant for the whole write: its prepared changes are stamped
	 * with it (formatted once, not per record of a 1,000-record batch). */
	char now[CLOCK_ISO_MAX];
	clock_format(clock_now(), now);
	for (size_t i = 0; i < n; i++) {
		const struct ledger_change *c = &changes[i];
		int rc;
		switch (c->kind) {
		case LEDGER_CHANGE_DECODED:
			rc = write_decoded(w, c, head, revs, &vis[i]);
			break;
		case LEDGER_CHANGE_TEXT:
			rc = write_text(w, c, head, revs, &vis[i]);
			break;
		case LEDGER_CHANGE_PREPARED:
			rc = write_prepared(l, w, c, now, head, revs, &vis[i]);
			break;
		default:
			rc = -EINVAL;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The audit-only entries, the metadata (and the blob's value, taken), the
 * next id and (unless the entries wait for their turn) the audit head. */
static int write_rest(struct ledger *l, struct commit_write *w, json_t **audit_only,
		      size_t n_audit, const char *const *meta, struct ledger_blob *blob,
		      struct sealer *head)
{
	int rc;
	if (blob && blob->value) {
		char *v = blob->value;
		blob->value = NULL; /* the write's now, also on failure */
		if ((rc = commit_put_meta_n(w, blob->key, v, blob->len)) < 0)
			return rc;
	}
	for (size_t i = 0; i < n_audit; i++) {
		const char *id = json_string_value(json_object_get(audit_only[i], "id"));
		if ((rc = seal_entry(head, w, audit_only[i], id)) < 0)
			return rc;
	}
	for (size_t i = 0; meta && meta[i] && meta[i + 1]; i += 2)
		if ((rc = meta[i + 1] == LEDGER_META_DELETE ? commit_del_meta(w, meta[i])
							     : commit_put_meta(w, meta[i], strdup(meta[i + 1]))) < 0)
			return rc;
	char *num;
	if (asprintf(&num, "%" PRIu64, l->next_id) < 0)
		return -ENOMEM;
	if ((rc = commit_put_meta(w, NEXT_ID_KEY, num)) < 0 || head->defer)
		return rc;
	return commit_put_meta(w, AUDIT_HEAD_KEY, audit_head_encode(head->head));
}

int ledger_write(struct ledger *l, struct ledger_change *changes, size_t n,
		 json_t **audit_only, size_t n_audit, const char *const *meta,
		 commit_cb cb, void *ud)
{
	return ledger_write_blob(l, changes, n, audit_only, n_audit, meta, NULL, cb, ud);
}

int ledger_write_blob(struct ledger *l, struct ledger_change *changes, size_t n,
		      json_t **audit_only, size_t n_audit, const char *const *meta,
		      struct ledger_blob *blob, commit_cb cb, void *ud)
{
	struct commit_write *w = commit_write_new();
	struct pending *p = calloc(1, sizeof *p);
	struct visible *vis = calloc(n ? n : 1, sizeof *vis);
	json_t *revs = json_object();
	struct audit_head head = l->head;
	/* Behind a batch being sealed, the entries wait for their turn. */
	struct sealer s = { .head = &head, .defer = l->held != NULL };
	struct held *h = s.defer ? calloc(1, sizeof *h) : NULL;
	int rc = -ENOMEM;
	if (!w || !p || !vis || !revs || (s.defer && !h))
		goto err;
	if ((rc = write_changes(l, w, changes, n, &s, revs, vis)) < 0 ||
	    (rc = write_rest(l, w, audit_only, n_audit, meta, blob, &s)) < 0)
		goto err;
	/* Only now, with nothing left to fail, does the write become visible
	 * to later decisions. */
	make_visible(l, vis, n);
	free(vis);
	*p = (struct pending){ .l = l, .revs = revs, .head = head, .cb = cb, .ud = ud,
			       .meta_keys = meta_visible(l, meta, NULL) };
	l->inflight++;
	if (s.defer) {
		*h = (struct held){ .w = w, .p = p, .s = s, .head_meta = true };
		hold(l, h);
		return 0;
	}
	l->head = head;
	commit_submit(l->commit, w, written, p);
	return 0;
err:
	if (blob) {
		free(blob->value);
		blob->value = NULL;
	}
	sealer_clear(&s);
	free(h);
	for (size_t i = 0; vis && i < n; i++) {
		json_decref(vis[i].version);
		json_decref(vis[i].ks);
	}
	free(vis);
	commit_write_free(w);
	json_decref(revs);
	free(p);
	return rc;
}

/* --- a write prepared in slices ------------------------------------------ */

struct ledger_batch {
	struct ledger *l;
	struct commit_write *w;  /* the operations so far, but the audit entries */
	json_t *revs;            /* as struct pending's, in shards */
	struct layer *layer;     /* owned until the submit links it: the
				  * versions, "kind\nstate" and metadata */
	size_t n, cap;
	/* Each change's audit entry, encoded but not sealed (owned), and its
	 * record id (owned); NULL when the change has none. */
	char **audits, **audit_ids;
};

int ledger_batch_new(struct ledger *l, struct ledger_batch **out)
{
	struct ledger_batch *b = calloc(1, sizeof *b);
	if (!b || !(b->w = commit_write_new()) || !(b->revs = shards_new()) ||
	    !(b->layer = calloc(1, sizeof *b->layer)) || !(b->layer->versions = shards_new()) ||
	    !(b->layer->ks = shards_new())) {
		ledger_batch_free(b);
		return -ENOMEM;
	}
	b->l = l;
	*out = b;
	return 0;
}

size_t ledger_batch_size(const struct ledger_batch *b) { return b->n; }

bool ledger_batch_has(const struct ledger_batch *b, const char *id)
{
	return b->layer && json_object_get(shard_of(b->layer->versions, id), id) != NULL;
}

void ledger_batch_free(struct ledger_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->audits[i]);
		free(b->audit_ids[i]);
	}
	free(b->audits);
	free(b->audit_ids);
	commit_write_free(b->w);
	json_decref(b->revs);
	if (b->layer) {
		json_decref(b->layer->versions);
		json_decref(b->layer->ks);
		json_decref(b->layer->meta);
		free(b->layer);
	}
	free(b);
}

int ledger_batch_meta(struct ledger_batch *b, const char *key, const char *val)
{
	char *v = strdup(val);
	json_t **meta = &b->layer->meta;
	if (!v || (!*meta && !(*meta = shards_new()))) {
		free(v);
		return -ENOMEM;
	}
	int rc = commit_put_meta(b->w, key, v);
	if (rc == 0)
		rc = json_object_set_new(shard_of(*meta, key), key, json_string(val)) < 0 ? -ENOMEM : 0;
	return rc;
}

static int batch_grow(struct ledger_batch *b)
{
	if (b->n < b->cap)
		return 0;
	size_t nc = b->cap ? 2 * b->cap : 64;
	char **a = realloc(b->audits, nc * sizeof *a);
	if (a)
		b->audits = a;
	char **ai = a ? realloc(b->audit_ids, nc * sizeof *ai) : NULL;
	if (!ai)
		return -ENOMEM;
	b->audit_ids = ai;
	b->cap = nc;
	return 0;
}

int ledger_batch_add(struct ledger_batch *b, const struct ledger_change *ch)
{
	const struct ledger_text *c = &ch->text;
	if (ch->kind != LEDGER_CHANGE_TEXT || !c->id || !c->kind || !c->state || !c->text ||
	    !c->len || c->text[0] != '{')
		return -EINVAL;
	int rc = batch_grow(b);
	if (rc < 0)
		return rc;
	/* Encoded now, in the caller's slice; sealed at the submit, which then
	 * only hashes it (audit_seal_raw). */
	char *audit = NULL, *audit_id = NULL;
	char digest[HASH_HEX];
	if (c->audit && audit_record_digest(c->text, c->len, digest) < 0)
		return -EIO;
	if (c->audit) {
		json_object_set_new(c->audit, "rev_after", json_integer(c->rev));
		json_object_set_new(c->audit, AUDIT_DIGEST_KEY, json_string(digest));
		json_object_del(c->audit, "seq");
		json_object_del(c->audit, "prev");
		json_object_del(c->audit, "hash");
		audit = json_dumps(c->audit, JSON_COMPACT);
		audit_id = strdup(c->id);
		if (!audit || !audit_id) {
			free(audit);
			free(audit_id);
			return -ENOMEM;
		}
	}
	/* Its version goes into the batch's layer now, in the caller's slice:
	 * the submit then links the layer, whatever its size. */
	struct visible vis = { 0 };
	if ((rc = drop_staged(b->w, c->id)) == 0)
		rc = put_text_record(b->w, ch, shard_of(b->revs, c->id), &vis);
	if (rc == 0) { /* both take their reference, also on failure */
		rc = json_object_set_new(shard_of(b->layer->versions, c->id), c->id, vis.version) < 0
			? -ENOMEM : 0;
		if (json_object_set_new(shard_of(b->layer->ks, c->id), c->id, vis.ks) < 0)
			rc = -ENOMEM;
		vis.version = vis.ks = NULL;
	}
	if (rc < 0) {
		json_decref(vis.version);
		json_decref(vis.ks);
		free(audit);
		free(audit_id);
		return rc;
	}
	b->audits[b->n] = audit;
	b->audit_ids[b->n] = audit_id;
	b->n++;
	return 0;
}

/* On a worker: the batch's entries sealed after h->after, in order (an
 * import of 100,000 rows hashes 100,000 entries: seconds on a loaded
 * machine, which the loop does not wait for).  Touches the batch's own
 * strings and write only; the loop holds every later write meanwhile. */
static void seal_work(uv_work_t *req)
{
	struct held *h = req->data;
	struct ledger_batch *b = h->b;
	struct audit_head head = h->after;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < b->n; i++) {
		if (!b->audits[i])
			continue;
		char *sealed = audit_seal_raw(b->audits[i], strlen(b->audits[i]), NULL, NULL, &head);
		rc = sealed ? commit_put_audit(b->w, head.seq, b->audit_ids[i], sealed) : -ENOMEM;
		/* Sealed and copied: freed here, not by the loop with the batch. */
		free(b->audits[i]);
		free(b->audit_ids[i]);
		b->audits[i] = b->audit_ids[i] = NULL;
	}
	h->rc = rc;
	h->after = head;
}

static void seal_done(uv_work_t *req, int status)
{
	struct held *h = req->data;
	struct ledger *l = h->p->l;
	l->sealing = false;
	h->sealed = true;
	if (status < 0 && h->rc == 0)
		h->rc = -ECANCELED;
	log_info("ledger: batch sealed on a worker changes=%zu seal_ms=%lld", h->b->n,
		 (long long)((uv_hrtime() - h->t0) / 1000000));
	release_held(l);
}

/* The batch first in line: sealed on a worker, after the chain's head
 * (every write before it is submitted, none after it is). */
static void start_sealing(struct ledger *l, struct held *h)
{
	h->after = l->head;
	h->t0 = uv_hrtime();
	l->sealing = true;
	l->seal_work.data = h;
	if (uv_queue_work(commit_loop(l->commit), &l->seal_work, seal_work, seal_done) < 0) {
		seal_work(&l->seal_work);
		seal_done(&l->seal_work, 0);
	}
}

/* A sealed batch's write, its next id and head added: h->w (the batch is
 * freed), *head the head after it. */
static int batch_rest(struct ledger *l, struct held *h, struct audit_head *head)
{
	struct ledger_batch *b = h->b;
	int rc = h->rc;
	*head = h->after;
	struct sealer s = { .head = head };
	if (rc == 0)
		rc = write_rest(l, b->w, NULL, 0, NULL, NULL, &s);
	h->w = b->w;
	b->w = NULL;
	ledger_batch_free(b);
	h->b = NULL;
	return rc;
}

/* The keys of `shards` that object `in` holds too (a new array), by
 * walking the smaller of the two; NULL on ENOMEM. */
static json_t *shared_keys(const json_t *shards, json_t *in)
{
	json_t *keys = json_array(), *v, *shard;
	const char *k;
	size_t i;
	if (json_object_size(in) <= entries(shards)) {
		json_object_foreach(in, k, v)
			if (keys && json_object_get(shard_of(shards, k), k))
				json_array_append_new(keys, json_string(k));
		return keys;
	}
	json_array_foreach(shards, i, shard)
		json_object_foreach(shard, k, v)
			if (keys && json_object_get(in, k))
				json_array_append_new(keys, json_string(k));
	return keys;
}

/* Links the batch's layer `y` in front of the others (visible from now on).
 * The versions and keys it shares with writes in flight before it (none in
 * an import of new records, as a rule) move into the overlay, so that the
 * overlay holds nothing older than a layer; *moved_meta (a new object, or
 * NULL) gets the keys moved, for meta_visible().  Returns how many moved,
 * or -ENOMEM (nothing linked). */
static long layer_link(struct ledger *l, struct layer *y, json_t **moved_meta)
{
	json_t *ids = shared_keys(y->versions, l->overlay);
	json_t *keys = y->meta ? shared_keys(y->meta, l->meta_overlay) : json_array();
	*moved_meta = json_array_size(keys) ? json_object() : NULL;
	if (!ids || !keys || (json_array_size(keys) && !*moved_meta)) {
		json_decref(ids);
		json_decref(keys);
		return -ENOMEM;
	}
	size_t i;
	json_t *k;
	json_array_foreach(ids, i, k) {
		const char *id = json_string_value(k);
		json_object_set(l->overlay, id, json_object_get(shard_of(y->versions, id), id));
		json_object_set(l->overlay_ks, id, json_object_get(shard_of(y->ks, id), id));
		json_object_del(shard_of(y->versions, id), id);
		json_object_del(shard_of(y->ks, id), id);
	}
	json_array_foreach(keys, i, k) {
		const char *key = json_string_value(k);
		json_object_set(*moved_meta, key, json_object_get(shard_of(y->meta, key), key));
		json_object_del(shard_of(y->meta, key), key);
	}
	if (entries(y->meta) > 0)
		l->meta_generation++;
	y->next = l->layers;
	l->layers = y;
	long moved = (long)(json_array_size(ids) + json_array_size(keys));
	json_decref(ids);
	json_decref(keys);
	return moved;
}

int ledger_batch_submit(struct ledger_batch *b, commit_cb cb, void *ud)
{
	struct ledger *l = b->l;
	struct pending *p = calloc(1, sizeof *p);
	struct held *h = p ? calloc(1, sizeof *h) : NULL;
	json_t *moved_meta = NULL;
	long moved = h ? layer_link(l, b->layer, &moved_meta) : -ENOMEM;
	if (moved < 0) {
		free(p);
		free(h);
		ledger_batch_free(b);
		return -ENOMEM;
	}
	/* As in ledger_write: visible to later decisions from now on (its
	 * layer, linked in one step); sealed on a worker, then submitted, the
	 * writes after it held meanwhile. */
	log_info("ledger: batch visible changes=%zu moved_to_overlay=%ld", b->n, moved);
	*p = (struct pending){ .l = l, .revs = b->revs, .cb = cb, .ud = ud, .layer = b->layer,
			       .meta_keys = meta_visible(l, NULL, moved_meta) };
	json_decref(moved_meta);
	b->revs = NULL;
	b->layer = NULL;
	l->inflight++;
	*h = (struct held){ .b = b, .p = p };
	hold(l, h);
	return 0;
}

/* --- versions and audit entries ------------------------------------------ */

json_t *ledger_new_record(struct ledger *l, const char *id_prefix, const char *kind,
			  json_t *state, json_t *data, const char *now)
{
	char *id = id_prefix ? ledger_new_id(l, id_prefix) : NULL;
	if (id_prefix && !id)
		return NULL;
	json_t *rec = ledger_keyed_record(id, kind, state, data, now);
	free(id);
	return rec;
}

json_t *ledger_keyed_record(const char *id, const char *kind, json_t *state, json_t *data,
			    const char *now)
{
	json_t *rec = json_object();
	if (!rec)
		return NULL;
	/* The member order every version keeps (ledger_next_text). */
	if (id)
		json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "kind", json_string(kind));
	json_object_set_new(rec, "created_at", json_string(now));
	json_object_set_new(rec, "rev", json_integer(1));
	json_object_set(rec, "state", state);
	json_object_set(rec, "data", data);
	json_object_set_new(rec, "updated_at", json_string(now));
	return rec;
}

int ledger_next_text(const struct ledger_next *n, char **out, size_t *len)
{
	if (!n->id.len || !n->kind.len) {
		log_err("ledger: a stored record has no id or kind id=%s", n->read_as ? n->read_as : "?");
		return -EIO;
	}
	if (!json_is_string(n->state))
		return -EINVAL;
	char *st = n->data ? json_dumps(n->state, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	char *buf = NULL;
	FILE *f = st ? open_memstream(&buf, len) : NULL;
	if (!f) {
		free(st);
		return -ENOMEM;
	}
	const char *t = n->was;
	fputs("{\"id\":", f);
	fwrite(t + n->id.off, 1, n->id.len, f);
	fputs(",\"kind\":", f);
	fwrite(t + n->kind.off, 1, n->kind.len, f);
	if (n->created_at.len) {
		fputs(",\"created_at\":", f);
		fwrite(t + n->created_at.off, 1, n->created_at.len, f);
	}
	fprintf(f, ",\"rev\":%lld,\"state\":%s,\"data\":", (long long)n->rev, st);
	fwrite(n->data, 1, n->data_len, f);
	fprintf(f, ",\"updated_at\":\"%s\"}", n->now);
	bool bad = ferror(f);
	free(st);
	if (fclose(f) != 0 || bad) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	return 0;
}

json_t *ledger_audit_entry(const struct ledger_audit *a)
{
	json_t *e = json_pack("{s:s, s:o, s:s, s:s, s:s?, s:I, s:s?, s:O?, s:s, s:s, s:O}", "time",
			      a->time, "peer", a->peer, "method", a->method, "action", a->action,
			      "id", a->id, "rev_before", a->rev_before, "state_before",
			      a->state_before, "state_after", a->state_after, "rules_version",
			      a->rules_version, "outcome", "ok", "events", a->events);
	if (e && a->row >= 0 && json_object_set_new(e, "row", json_integer(a->row)) < 0) {
		json_decref(e);
		return NULL;
	}
	return e;
}

json_t *ledger_audit_refusal(const struct ledger_audit *a)
{
	return json_pack("{s:s, s:o, s:s, s:s, s:s?, s:s, s:i, s:s, s:O?, s:s}", "time", a->time,
			 "peer", a->peer, "method", a->method, "action", a->action, "id", a->id,
			 "outcome", a->outcome, "code", a->code, "message", a->message, "reasons",
			 a->reasons, "rules_version", a->rules_version);
}

/* --- records as stored, in any store ------------------------------------- */

int ledger_stored_get(struct store *st, const char *id, char **json, size_t *len)
{
	return store_get(st, id, json, len);
}

int ledger_stored_text(struct store *st, const void *raw, size_t len, char **json, size_t *jlen)
{
	return store_unpack(st, raw, len, json, jlen);
}

int ledger_stored_page(struct store *st, const char *after, size_t n, struct store_rows *out)
{
	return store_list_raw(st, NULL, NULL, after, n, out);
}

int ledger_stored_audit_of(struct store *st, const char *id, struct store_rows *out)
{
	return store_audit_of(st, id, out);
}
