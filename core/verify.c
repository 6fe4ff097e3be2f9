/* verify — see verify.h. */
#include "verify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "ledger.h"

/* Checks a stored entry's seal; returns its hash in `out`, or a reason. */
static const char *check_seal(const char *body, size_t len, char out[HASH_HEX])
{
	static const char tail[] = "\"hash\":\"";
	size_t tl = sizeof tail - 1;
	if (len < tl + HASH_HEX + 2 || body[len - 1] != '}' || body[len - 2] != '"')
		return "entry is not sealed (no hash at its end)";
	size_t at = len - 2 - (HASH_HEX - 1) - tl; /* where "hash":" starts */
	if (memcmp(body + at, tail, tl) != 0 || body[at - 1] != ',')
		return "entry is not sealed (no hash at its end)";
	if (hash_hex(body, at, out) < 0)
		return "entry's hash cannot be computed (the hash library failed)";
	if (memcmp(out, body + at + tl, HASH_HEX - 1) != 0)
		return "entry's content does not match its hash (changed)";
	return NULL;
}

static json_t *broken(json_t *report, uint64_t seq, const char *why)
{
	json_object_set_new(report, "ok", json_false());
	json_object_set_new(report, "first_bad_seq", json_integer((json_int_t)seq));
	json_object_set_new(report, "reason", json_string(why));
	return report;
}


int verify_head_parse(const char *s, struct verify_head *p)
{
	char *end;
	errno = 0;
	unsigned long long seq = strtoull(s, &end, 10);
	if (errno || end == s || *end != ':' || seq == 0 || strlen(end + 1) != HASH_HEX - 1)
		return -EINVAL;
	for (const char *c = end + 1; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return -EINVAL;
	p->seq = seq;
	memcpy(p->hash, end + 1, HASH_HEX);
	return 0;
}

/* The state of one walk: the chain so far, and per record its last change. */
struct walk {
	struct audit_head at;          /* the last entry checked */
	const struct verify_head *pub;
	bool pub_seen;                 /* entry pub->seq was reached */
	const char *pub_why;           /* why it does not hold, or NULL */
	bool chain_ok;                 /* the walk reached the head unbroken */
	json_t *last;                  /* id -> [seq, digest or null]; NULL: not kept */
};

/* One entry: NULL when it holds (the walk advanced), or why not. */
static const char *walk_entry(struct walk *w, uint64_t seq, const char *body, size_t len)
{
	json_t *e = json_loadb(body, len, 0, NULL);
	char hash[HASH_HEX];
	const char *why = NULL;
	if (seq != w->at.seq + 1)
		why = "entries are missing before this one (sequence gap)";
	else if (!e || !json_is_object(e))
		why = "entry is not valid JSON";
	else if ((why = check_seal(body, len, hash)) != NULL)
		;
	else if ((uint64_t)json_integer_value(json_object_get(e, "seq")) != seq)
		why = "entry's sequence number differs from its position (moved)";
	else if (!json_is_string(json_object_get(e, "prev")) ||
		 strcmp(json_string_value(json_object_get(e, "prev")), w->at.hash) != 0)
		why = "entry does not chain to the one before it (reordered or replaced)";
	if (!why) {
		w->at.seq = seq;
		memcpy(w->at.hash, hash, HASH_HEX);
		if (w->pub && seq == w->pub->seq) {
			w->pub_seen = true;
			if (strcmp(hash, w->pub->hash) != 0)
				w->pub_why = "the chain's entry at the published sequence number has "
					     "another hash: the log was rewritten from there or before";
		}
		/* An entry that changed a record ("rev_after") is its last so far. */
		const char *id = json_string_value(json_object_get(e, "id"));
		json_t *digest = json_object_get(e, AUDIT_DIGEST_KEY);
		if (w->last && id && json_object_get(e, "rev_after"))
			json_object_set_new(w->last, id,
					    json_pack("[I, O]", (json_int_t)seq,
						      json_is_string(digest) ? digest : json_null()));
	}
	json_decref(e);
	return why;
}

/* Whether an entry past the recorded head exists while the head is still
 * the one loaded: the head was rewritten back (entries would otherwise be
 * left out of the walk). */
static bool past_head(struct store *st, const struct audit_head *head)
{
	struct audit_head now;
	struct store_rows l;
	if (audit_load_head(st, &now) < 0 || now.seq != head->seq ||
	    store_audit_range(st, head->seq + 1, 1, &l) < 0)
		return false;
	bool past = l.n > 0;
	store_rows_free(&l);
	return past;
}

/* The digest of record `id` as stored now, or why it has none. */
static const char *stored_digest(struct store *st, const char *raw, size_t raw_len,
				 char out[HASH_HEX])
{
	char *json;
	size_t len;
	if (!raw || ledger_stored_text(st, raw, raw_len, &json, &len) < 0)
		return "the stored record cannot be read (damaged)";
	int rc = audit_record_digest(json, len, out);
	free(json);
	return rc < 0 ? "the record's digest cannot be computed (the hash library failed)" : NULL;
}

/* Whether a record that differs from its last walked entry (seq `since`)
 * was only written meanwhile: its entries now, from `since` on, hold its
 * current digest. */
static bool written_meanwhile(struct store *st, const char *id, uint64_t since)
{
	struct store_rows l;
	char *body = NULL, dg[HASH_HEX];
	size_t len;
	bool ok = false;
	if (ledger_stored_audit_of(st, id, &l) < 0)
		return false;
	if (ledger_stored_get(st, id, &body, &len) == 0 && audit_record_digest(body, len, dg) == 0) {
		for (size_t i = 0; !ok && i < l.n; i++) {
			if (strtoull(l.items[i].id, NULL, 10) <= since)
				continue;
			json_t *e = json_loadb(l.items[i].body, l.items[i].len, 0, NULL);
			const char *d = json_string_value(json_object_get(e, AUDIT_DIGEST_KEY));
			ok = d && strcmp(d, dg) == 0;
			json_decref(e);
		}
	}
	free(body);
	store_rows_free(&l);
	return ok;
}

#define DIFFER_LISTED 1000 /* names listed in a report; the count is whole */

/* One record against its last entry: NULL when it matches (or has no
 * digest: *unchecked is counted), or what is wrong. */
static const char *check_record(struct store *st, struct walk *w, const struct store_item *it,
				size_t *unchecked)
{
	json_t *last = json_object_get(w->last, it->id);
	/* A broken chain was walked only up to the break: the records of
	 * the entries past it cannot be told from records added outside. */
	if (!last)
		return !w->chain_ok || written_meanwhile(st, it->id, 0)
			? NULL : "no audit entry records this record (added outside the daemon)";
	uint64_t since = (uint64_t)json_integer_value(json_array_get(last, 0));
	const char *want = json_string_value(json_array_get(last, 1));
	char got[HASH_HEX];
	const char *why = stored_digest(st, it->body, it->len, got);
	bool old = !want && !why, same = !why && want && strcmp(got, want) == 0;
	/* What is left in w->last had its record removed (`want` goes with it). */
	json_object_del(w->last, it->id);
	if (old) {
		(*unchecked)++;
		return NULL;
	}
	if (same || written_meanwhile(st, it->id, since))
		return NULL;
	return why ? why : "the record differs from the digest in its last audit entry "
			   "(changed outside the daemon)";
}

static void differ(json_t *list, size_t *count, const char *id, const char *why)
{
	if ((*count)++ < DIFFER_LISTED)
		json_array_append_new(list, json_pack("{s:s, s:s}", "id", id, "reason", why));
}

/* A verification in progress: the phase it is in and where it is in it. */
struct verify {
	struct store *st;
	struct audit_head head;        /* loaded at the start: the walk ends there */
	struct verify_head pub;
	bool has_pub, records;
	enum { V_CHAIN, V_RECORDS, V_GONE, V_END } phase;
	struct walk w;
	json_t *report;                /* built as it goes; handed over at the end */
	struct store_rows page;        /* the page of entries or records being checked */
	size_t at;                     /* its next item */
	bool page_last;                /* no page comes after this one */
	char *after;                   /* records: the listing goes on after this id */
	bool listed;                   /* records: the first page was read */
	json_t *differ;                /* records: [{id, reason}], the first DIFFER_LISTED */
	size_t checked, unchecked, count;
	void *gone;                    /* V_GONE: iterator over w.last */
};

#define CHAIN_PAGE 256   /* entries read at once: a page is read in well under a step */
#define RECORDS_PAGE 256

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The chain from entry 1 to the head loaded at the start, until `until_us`:
 * 1 (time is up), 0 (the walk ended; a break is put in the report) or a
 * negative errno.  Entries committed while it walks (the daemon goes on
 * writing) lie past that head: not walked. */
static int chain_more(struct verify *v, int64_t until_us)
{
	for (;;) {
		if (v->at == v->page.n) {
			uint64_t left = v->head.seq - v->w.at.seq;
			bool last = v->page_last;
			store_rows_free(&v->page);
			v->at = 0;
			if (left == 0 || last)
				return 0;
			size_t want = left < CHAIN_PAGE ? (size_t)left : CHAIN_PAGE;
			int rc = store_audit_range(v->st, v->w.at.seq + 1, want, &v->page);
			if (rc < 0)
				return rc;
			v->page_last = v->page.n < want;
			continue;
		}
		const struct store_item *it = &v->page.items[v->at++];
		uint64_t seq = strtoull(it->id, NULL, 10);
		const char *why = walk_entry(&v->w, seq, it->body, it->len);
		if (why) {
			broken(v->report, v->w.at.seq + 1 < seq ? v->w.at.seq + 1 : seq, why);
			store_rows_free(&v->page);
			v->at = 0;
			return 0;
		}
		if (mono_us() >= until_us)
			return 1;
	}
}

/* The walk's end against the head: entries cut off the end, or past it. */
static void chain_end(struct verify *v)
{
	json_t *report = v->report;
	bool chain_ok = !json_object_get(report, "first_bad_seq");
	if (chain_ok && (v->w.at.seq != v->head.seq || strcmp(v->w.at.hash, v->head.hash) != 0))
		broken(report, v->w.at.seq + 1 <= v->head.seq ? v->w.at.seq + 1 : v->head.seq,
		       "the log ends before its recorded head (entries cut off the end)");
	else if (chain_ok && past_head(v->st, &v->head))
		broken(report, v->head.seq + 1, "entries lie past the recorded head (the head was "
						"rewritten back)");
	v->w.chain_ok = !json_object_get(report, "first_bad_seq");
	json_object_set_new(report, "entries", json_integer((json_int_t)v->w.at.seq));
	json_object_set_new(report, "head", json_string(v->w.at.hash));
}

/* Every record against the digest of its last entry, a page at a time,
 * until `until_us`: 1, 0 (all listed) or a negative errno. */
static int records_more(struct verify *v, int64_t until_us)
{
	for (;;) {
		if (v->at == v->page.n) {
			store_rows_free(&v->page);
			v->at = 0;
			if (v->listed && !v->after)
				return 0;
			int rc = ledger_stored_page(v->st, v->after, RECORDS_PAGE, &v->page);
			if (rc < 0)
				return rc;
			v->listed = true;
			if (v->page.n == 0)
				return 0;
			free(v->after);
			v->after = NULL;
			if (v->page.next && !(v->after = strdup(v->page.next)))
				return -ENOMEM;
			continue;
		}
		const struct store_item *it = &v->page.items[v->at++];
		v->checked++;
		const char *why = check_record(v->st, &v->w, it, &v->unchecked);
		if (why)
			differ(v->differ, &v->count, it->id, why);
		if (mono_us() >= until_us)
			return 1;
	}
}

/* The records the log has that the store has not (what check_record left
 * in w.last), until `until_us`: 1 or 0. */
static int gone_more(struct verify *v, int64_t until_us)
{
	for (; v->gone; v->gone = json_object_iter_next(v->w.last, v->gone)) {
		const char *id = json_object_iter_key(v->gone);
		char *body = NULL;
		size_t len;
		/* Not listed but still there: created after the listing passed. */
		if (ledger_stored_get(v->st, id, &body, &len) == -ENOENT)
			differ(v->differ, &v->count, id, "the audit log records this record, the store "
							 "has it no more (removed outside the daemon)");
		free(body);
		if (mono_us() >= until_us) {
			v->gone = json_object_iter_next(v->w.last, v->gone);
			return 1;
		}
	}
	return 0;
}

static void records_end(struct verify *v)
{
	json_object_set_new(v->report, "records",
			    json_pack("{s:I, s:I, s:O, s:I}", "checked", (json_int_t)v->checked,
				      "without_digest", (json_int_t)v->unchecked, "differ", v->differ,
				      "differ_count", (json_int_t)v->count));
	if (v->count)
		json_object_set_new(v->report, "ok", json_false());
}

static void report_published(const struct verify *v)
{
	const char *why = v->w.pub_why;
	if (!why && !v->w.pub_seen)
		why = v->w.chain_ok ? "the chain ends before the published sequence number: entries "
				      "were cut off its end"
				    : "the chain breaks before the published sequence number";
	json_object_set_new(v->report, "published",
			    json_pack("{s:I, s:s, s:b, s:s?}", "seq", (json_int_t)v->pub.seq,
				      "hash", v->pub.hash, "ok", why == NULL, "reason", why));
	if (why)
		json_object_set_new(v->report, "ok", json_false());
}

int verify_start(struct store *st, const struct verify_head *pub, bool records,
		       struct verify **out)
{
	struct verify *v = calloc(1, sizeof *v);
	if (!v)
		return -ENOMEM;
	v->st = st;
	v->records = records;
	if (pub) {
		v->pub = *pub;
		v->has_pub = true;
		v->w.pub = &v->pub;
	}
	memcpy(v->w.at.hash, AUDIT_ZERO_HASH, HASH_HEX);
	int rc = audit_load_head(st, &v->head);
	v->report = json_pack("{s:b}", "ok", true);
	if (records) {
		v->w.last = json_object();
		v->differ = json_array();
	}
	if (rc == 0 && (!v->report || (records && (!v->w.last || !v->differ))))
		rc = -ENOMEM;
	if (rc < 0) {
		verify_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

int verify_step(struct verify *v, int64_t until_us, json_t **report)
{
	for (;;) {
		int rc = 0;
		switch (v->phase) {
		case V_CHAIN:
			if ((rc = chain_more(v, until_us)) != 0)
				return rc;
			chain_end(v);
			v->phase = v->records ? V_RECORDS : V_END;
			break;
		case V_RECORDS:
			if ((rc = records_more(v, until_us)) != 0)
				return rc;
			v->gone = json_object_iter(v->w.last);
			v->phase = V_GONE;
			break;
		case V_GONE:
			if ((rc = gone_more(v, until_us)) != 0)
				return rc;
			records_end(v);
			v->phase = V_END;
			break;
		case V_END:
			if (v->has_pub)
				report_published(v);
			*report = v->report;
			v->report = NULL;
			return 0;
		}
		if (mono_us() >= until_us)
			return 1;
	}
}

void verify_progress(const struct verify *v, uint64_t *entries, size_t *records)
{
	*entries = v->w.at.seq;
	*records = v->checked;
}

void verify_free(struct verify *v)
{
	if (!v)
		return;
	store_rows_free(&v->page);
	free(v->after);
	json_decref(v->differ);
	json_decref(v->w.last);
	json_decref(v->report);
	free(v);
}
