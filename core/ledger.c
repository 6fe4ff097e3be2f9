/* ledger — see ledger.h. */
#include "ledger.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "recz.h"

#define NEXT_ID_KEY "next_id"

struct ledger {
	struct store *st;
	struct commit *commit;
	json_t *overlay;             /* id -> latest record of writes in flight */
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
};

/* Per write: what to undo or confirm once the commit is known. */
struct pending {
	struct ledger *l;
	json_t *revs;                /* id -> [rev this write puts, bytes stored,
				      * the version, and for a prepared change
				      * with a memo entry: its head, its body] */
	struct audit_head head;      /* head after this write */
	commit_cb cb;
	void *ud;
};

int ledger_open(struct ledger **out, struct store *st, struct commit *c)
{
	struct ledger *l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	l->st = st;
	l->commit = c;
	l->overlay = json_object();
	l->cache = json_object();
	l->cache_cost = json_object();
	l->cache_max = 32u << 20;
	l->memo = json_object();
	l->memo_bodies = json_object();
	l->memo_max = 32u << 20;
	int rc = audit_load_head(st, &l->committed);
	if (rc < 0) {
		json_decref(l->overlay);
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
	json_decref(l->overlay);
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

int ledger_get(struct ledger *l, const char *id, json_t **rec)
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
		log_err("ledger: stored record does not parse id=%s error=\"%s\"", id, e.text);
		return -EIO;
	}
	cache_put(l, id, *rec, len);
	return 0;
}

static char *dump(json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* The overlay's version of `id`, decoded: a prepared change puts its
 * stored form there (recz.h), decoded the first time somebody asks (most
 * never are). */
static json_t *overlay_get(struct ledger *l, const char *id)
{
	json_t *r = json_object_get(l->overlay, id);
	if (!r || !json_is_string(r))
		return r;
	char *text = NULL;
	size_t len = 0;
	json_t *dec = NULL;
	if (store_unpack(l->st, json_string_value(r), json_string_length(r), &text, &len) == 0)
		dec = json_loadb(text, len, 0, NULL);
	free(text);
	if (!dec || json_object_set_new(l->overlay, id, dec) < 0) {
		log_err("ledger: a prepared version does not parse id=%s", id);
		return NULL;
	}
	return dec;
}

int ledger_latest(struct ledger *l, const char *id, json_t **rec)
{
	/* No copies: records are never modified once written or cached, and
	 * every caller builds a new version instead of changing this one. */
	json_t *r = overlay_get(l, id);
	if (r) {
		*rec = json_incref(r);
		return 0;
	}
	return ledger_get(l, id, rec);
}

int ledger_latest_text(struct ledger *l, const char *id, char **text, size_t *len)
{
	json_t *r = json_object_get(l->overlay, id);
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

json_t *ledger_pending(struct ledger *l, const char *id)
{
	return overlay_get(l, id);
}

bool ledger_is_pending(const struct ledger *l, const char *id)
{
	return json_object_get(l->overlay, id) != NULL;
}

char *ledger_new_id(struct ledger *l, const char *prefix)
{
	char *s;
	if (asprintf(&s, "%s%06" PRIu64, prefix, l->next_id) < 0)
		return NULL;
	l->next_id++;
	return s;
}

const struct audit_head *ledger_audit_head(const struct ledger *l) { return &l->head; }

static void written(void *ud, int status)
{
	struct pending *p = ud;
	struct ledger *l = p->l;
	l->inflight--;
	if (status == 0) {
		/* The overlay entry is now on disk, unless a later write in flight
		 * has replaced it already. */
		const char *id;
		json_t *rev;
		l->changes += json_object_size(p->revs);
		json_object_foreach(p->revs, id, rev) {
			/* The committed version changed: what was derived from the old
			 * one goes.  The new one, when this write was the last to it,
			 * is the decoded record the overlay holds: it moves to the
			 * cache, so the next read or write of it decodes nothing. */
			cache_drop(l, id);
			memo_drop(l, id);
			json_t *o = json_object_get(l->overlay, id);
			bool last = o && (json_is_string(o) ? o == json_array_get(rev, 2)
				    : json_equal(json_object_get(o, "rev"), json_array_get(rev, 0)));
			if (last) {
				if (json_is_object(o))
					cache_put(l, id, o, (size_t)json_integer_value(json_array_get(rev, 1)));
				json_object_del(l->overlay, id);
				json_t *mh = json_array_get(rev, 3), *mb = json_array_get(rev, 4);
				if (mh && mb) {
					struct ledger_memo m = {
						.head = json_string_value(mh), .head_len = json_string_length(mh),
						.body = json_string_value(mb), .body_len = json_string_length(mb),
					};
					ledger_memo_put(l, id, &m);
				}
			}
		}
		l->committed = p->head;
	} else {
		/* The committer fails every write not yet durable: nothing in the
		 * overlay survives, and the chain restarts from what is on disk. */
		json_object_clear(l->overlay);
		l->head = l->committed;
	}
	if (p->cb)
		p->cb(p->ud, status);
	json_decref(p->revs);
	free(p);
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

size_t ledger_inflight(const struct ledger *l) { return l->inflight; }
uint64_t ledger_changes(const struct ledger *l) { return l->changes; }

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

/* A prepared change: stamp the record with the time of the write, seal its
 * audit entries, queue both; *text is the stored form for the overlay. */
static int write_prepared(struct ledger *l, struct commit_write *w, const struct ledger_change *c,
			  const char *now, struct audit_head *head, json_t *revs, json_t **text)
{
	(void)l;
	if (!c->id || !c->kind || !c->state || !c->prep_frame || !c->prep_frame_len)
		return -EINVAL;
	/* Its staged row stays: the run drops them all at its end (stage.c),
	 * which writes far less than deleting each one here. */
	int rc;
	for (size_t i = 0; i < c->n_prep_audits; i++) {
		const char *a = c->prep_audits[i];
		char *sealed = audit_seal_raw(a, strlen(a), now, head);
		if (!sealed)
			return -ENOMEM;
		if ((rc = commit_put_audit(w, head->seq, c->id, sealed)) < 0)
			return rc;
	}
	/* {"updated_at":"<now>", then the frame's <members>} */
	char prefix[64];
	int pl = snprintf(prefix, sizeof prefix, "{\"updated_at\":\"%s\",", now);
	size_t len = 0;
	char *body = pl > 0 && (size_t)pl < sizeof prefix
		? recz_splice(prefix, (size_t)pl, c->prep_frame, c->prep_frame_len, &len) : NULL;
	if (!body)
		return -ENOMEM;
	*text = json_stringn_nocheck(body, len);
	if (!*text) {
		free(body);
		return -ENOMEM;
	}
	if ((rc = commit_put_record_n(w, c->id, c->kind, c->state, c->old_kind,
				      c->old_state, body, len)) < 0)
		return rc;
	json_t *rev = json_pack("[I, I, O]", c->rev, (json_int_t)len, *text);
	if (rev && c->prep_memo) {
		json_array_append_new(rev, json_stringn_nocheck(c->prep_memo->head, c->prep_memo->head_len));
		json_array_append_new(rev, json_stringn_nocheck(c->prep_memo->body, c->prep_memo->body_len));
	}
	if (!rev || json_object_set_new(revs, c->id, rev) < 0)
		return -ENOMEM;
	return 0;
}

/* A change given as text: seal its audit entry, queue both; *text is the
 * stored form for the overlay (the JSON as it is). */
static int write_text(struct commit_write *w, const struct ledger_change *c,
		      struct audit_head *head, json_t *revs, json_t **text)
{
	if (!c->id || !c->kind || !c->state || !c->text || !c->text_len || c->text[0] != '{')
		return -EINVAL;
	int rc = drop_staged(w, c->id);
	if (rc < 0)
		return rc;
	if (c->audit) {
		json_object_set_new(c->audit, "rev_after", json_integer(c->rev));
		char *sealed = audit_seal(c->audit, head);
		if ((rc = commit_put_audit(w, head->seq, c->id, sealed)) < 0)
			return rc;
	}
	char *body = malloc(c->text_len + 1);
	if (!body)
		return -ENOMEM;
	memcpy(body, c->text, c->text_len);
	body[c->text_len] = '\0';
	if ((rc = commit_put_record_n(w, c->id, c->kind, c->state, c->old_kind, c->old_state,
				      body, c->text_len)) < 0)
		return rc;
	if (!(*text = json_stringn_nocheck(c->text, c->text_len)))
		return -ENOMEM;
	if (c->encoded && !(*c->encoded = strndup(c->text, c->text_len)))
		return -ENOMEM;
	json_t *rev = json_pack("[I, I, O]", c->rev, (json_int_t)c->text_len, *text);
	if (!rev || json_object_set_new(revs, c->id, rev) < 0)
		return -ENOMEM;
	return 0;
}

int ledger_write(struct ledger *l, struct ledger_change *changes, size_t n,
		 json_t **audit_only, size_t n_audit, const char *const *meta,
		 commit_cb cb, void *ud)
{
	struct commit_write *w = commit_write_new();
	struct pending *p = calloc(1, sizeof *p);
	json_t *revs = json_object(), *prepared = NULL;
	struct audit_head head = l->head;
	int rc = -ENOMEM;
	if (!w || !p || !revs)
		goto err;
	prepared = json_array(); /* the overlay's text of each change without `record` */
	if (!prepared)
		goto err;
	/* One instant for the whole write: its prepared changes are stamped
	 * with it (formatted once, not per record of a 1,000-record batch). */
	char now[CLOCK_ISO_MAX];
	clock_format(clock_now(), now);
	for (size_t i = 0; i < n; i++) {
		struct ledger_change *c = &changes[i];
		if (!c->record) {
			json_t *text = NULL;
			rc = c->text ? write_text(w, c, &head, revs, &text)
				     : write_prepared(l, w, c, now, &head, revs, &text);
			if (text)
				json_array_append_new(prepared, text);
			if (rc < 0)
				goto err;
			continue;
		}
		const char *id = json_string_value(json_object_get(c->record, "id"));
		const char *kind = json_string_value(json_object_get(c->record, "kind"));
		const char *state = json_string_value(json_object_get(c->record, "state"));
		if (!id || !kind || !state) {
			rc = -EINVAL;
			goto err;
		}
		if ((rc = drop_staged(w, id)) < 0)
			goto err;
		if (c->audit) {
			json_object_set_new(c->audit, "rev_after", json_incref(json_object_get(c->record, "rev")));
			char *sealed = audit_seal(c->audit, &head);
			if ((rc = commit_put_audit(w, head.seq, id, sealed)) < 0)
				goto err;
		}
		char *body = dump(c->record);
		size_t body_len = body ? strlen(body) : 0;
		if (c->encoded && body && !(*c->encoded = strdup(body))) {
			free(body);
			rc = -ENOMEM;
			goto err;
		}
		if ((rc = commit_put_record(w, id, kind, state, c->old_kind, c->old_state, body)) < 0)
			goto err;
		json_object_set_new(revs, id, json_pack("[O, I, O]", json_object_get(c->record, "rev"),
							(json_int_t)body_len, c->record));
	}
	for (size_t i = 0; i < n_audit; i++) {
		const char *id = json_string_value(json_object_get(audit_only[i], "id"));
		char *sealed = audit_seal(audit_only[i], &head);
		if ((rc = commit_put_audit(w, head.seq, id, sealed)) < 0)
			goto err;
	}
	for (size_t i = 0; meta && meta[i] && meta[i + 1]; i += 2)
		if ((rc = commit_put_meta(w, meta[i], strdup(meta[i + 1]))) < 0)
			goto err;
	char *num;
	if (asprintf(&num, "%" PRIu64, l->next_id) < 0)
		goto err;
	if ((rc = commit_put_meta(w, NEXT_ID_KEY, num)) < 0 ||
	    (rc = commit_put_meta(w, AUDIT_HEAD_KEY, audit_head_encode(&head))) < 0)
		goto err;
	/* Only now, with nothing left to fail, does the write become visible
	 * to later decisions. */
	for (size_t i = 0, k = 0; i < n; i++) {
		/* A reference, not a copy: callers never change a record once
		 * written (see ledger.h). */
		if (!changes[i].record) {
			json_object_set(l->overlay, changes[i].id, json_array_get(prepared, k++));
			continue;
		}
		const char *id = json_string_value(json_object_get(changes[i].record, "id"));
		json_object_set(l->overlay, id, changes[i].record);
	}
	json_decref(prepared);
	l->head = head;
	p->l = l;
	p->revs = revs;
	p->head = head;
	p->cb = cb;
	p->ud = ud;
	l->inflight++;
	commit_submit(l->commit, w, written, p);
	return 0;
err:
	commit_write_free(w);
	json_decref(revs);
	json_decref(prepared);
	free(p);
	return rc;
}
