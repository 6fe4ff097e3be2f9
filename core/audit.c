/* audit — see audit.h. */
#include "audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

int audit_load_head(struct store *st, struct audit_head *h)
{
	memset(h, 0, sizeof *h);
	memcpy(h->hash, ZERO_HASH, HASH_HEX);
	char *v;
	size_t len;
	int rc = store_meta_get(st, AUDIT_HEAD_KEY, &v, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	unsigned long long seq;
	char hash[HASH_HEX];
	if (sscanf(v, "%llu %64s", &seq, hash) != 2 || strlen(hash) != HASH_HEX - 1) {
		free(v);
		return -EIO;
	}
	free(v);
	h->seq = seq;
	memcpy(h->hash, hash, HASH_HEX);
	return 0;
}

char *audit_head_encode(const struct audit_head *h)
{
	char *s;
	if (asprintf(&s, "%llu %s", (unsigned long long)h->seq, h->hash) < 0)
		return NULL;
	return s;
}

#define HASH_TAIL_LEN (sizeof ",\"hash\":\"\"}" - 1 + HASH_HEX - 1)

char *audit_seal(json_t *entry, struct audit_head *h)
{
	json_object_set_new(entry, "seq", json_integer((json_int_t)(h->seq + 1)));
	json_object_set_new(entry, "prev", json_string(h->hash));
	json_object_del(entry, "hash");
	char *s = json_dumps(entry, JSON_COMPACT);
	if (!s)
		return NULL;
	size_t n = strlen(s); /* "{...}" */
	char *out = realloc(s, n + HASH_TAIL_LEN + 1);
	if (!out) {
		free(s);
		return NULL;
	}
	/* The hash covers the bytes up to the hash field: "{...," */
	out[n - 1] = ',';
	char hash[HASH_HEX];
	if (hash_hex(out, n, hash) < 0) {
		free(out);
		return NULL;
	}
	snprintf(out + n, HASH_TAIL_LEN + 1, "\"hash\":\"%s\"}", hash);
	json_object_set_new(entry, "hash", json_string(hash));
	h->seq++;
	memcpy(h->hash, hash, HASH_HEX);
	return out;
}

char *audit_seal_raw(const char *rest, size_t len, const char *time, const char *digest,
		     struct audit_head *h)
{
	if (len < 2 || rest[0] != '{' || rest[len - 1] != '}')
		return NULL;
	char head[200];
	int hl = time ? snprintf(head, sizeof head, "{\"seq\":%llu,\"prev\":\"%s\",\"time\":\"%s\"",
				 (unsigned long long)(h->seq + 1), h->hash, time)
		      : snprintf(head, sizeof head, "{\"seq\":%llu,\"prev\":\"%s\"",
				 (unsigned long long)(h->seq + 1), h->hash);
	if (hl < 0 || (size_t)hl >= sizeof head)
		return NULL;
	/* head + ("," + members) [+ ',"record_sha256":"<hex>"'] + "," : what
	 * the hash covers, as audit_seal */
	static const char dkey[] = ",\"" AUDIT_DIGEST_KEY "\":\"";
	size_t members = len - 2;
	size_t dlen = digest ? sizeof dkey - 1 + HASH_HEX - 1 + 1 : 0;
	size_t n = (size_t)hl + (members ? 1 + members : 0) + dlen + 1;
	char *out = malloc(n + HASH_TAIL_LEN + 1);
	if (!out)
		return NULL;
	char *p = mempcpy(out, head, (size_t)hl);
	if (members) {
		*p++ = ',';
		p = mempcpy(p, rest + 1, members);
	}
	if (digest) {
		p = mempcpy(p, dkey, sizeof dkey - 1);
		p = mempcpy(p, digest, HASH_HEX - 1);
		*p++ = '"';
	}
	*p++ = ',';
	char hash[HASH_HEX];
	if (hash_hex(out, n, hash) < 0) {
		free(out);
		return NULL;
	}
	/* "hash":"<64 hex>"} */
	p = mempcpy(out + n, "\"hash\":\"", 8);
	p = mempcpy(p, hash, HASH_HEX - 1);
	memcpy(p, "\"}", 3);
	h->seq++;
	memcpy(h->hash, hash, HASH_HEX);
	return out;
}

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

int audit_record_digest(const char *json, size_t len, char out[HASH_HEX])
{
	return hash_hex(json, len, out);
}

int audit_published_parse(const char *s, struct audit_published *p)
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
	const struct audit_published *pub;
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

/* The chain from entry 1 to the recorded head: 0 (a break is put in
 * report) or a negative errno.  Entries committed while it walks (the
 * daemon goes on writing) lie past the head it loaded first: not walked. */
static int walk_chain(struct store *st, const struct audit_head *head, struct walk *w,
		      json_t *report)
{
	for (;;) {
		uint64_t left = head->seq - w->at.seq;
		if (left == 0)
			return 0;
		struct store_rows l;
		size_t page = left < 1024 ? (size_t)left : 1024;
		int rc = store_audit_range(st, w->at.seq + 1, page, &l);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < l.n; i++) {
			uint64_t seq = strtoull(l.items[i].id, NULL, 10);
			const char *why = walk_entry(w, seq, l.items[i].body, l.items[i].len);
			if (why) {
				store_rows_free(&l);
				broken(report, w->at.seq + 1 < seq ? w->at.seq + 1 : seq, why);
				return 0;
			}
		}
		bool done = l.n < page;
		store_rows_free(&l);
		if (done)
			return 0;
	}
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
	if (!raw || store_unpack(st, raw, raw_len, &json, &len) < 0)
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
	if (store_audit_of(st, id, &l) < 0)
		return false;
	if (store_get(st, id, &body, &len) == 0 && audit_record_digest(body, len, dg) == 0) {
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

/* Every record against the digest of its last entry, then the records
 * the log has that the store has not. */
static int check_records(struct store *st, struct walk *w, json_t *report)
{
	json_t *list = json_array();
	size_t checked = 0, unchecked = 0, count = 0;
	char *after = NULL;
	int rc = 0;
	do {
		struct store_rows l;
		if ((rc = store_list_raw(st, NULL, NULL, after, 512, &l)) < 0)
			break;
		for (size_t i = 0; i < l.n; i++, checked++) {
			const char *why = check_record(st, w, &l.items[i], &unchecked);
			if (why)
				differ(list, &count, l.items[i].id, why);
		}
		free(after);
		after = l.next ? strdup(l.next) : NULL;
		store_rows_free(&l);
	} while (after);
	free(after);
	const char *id;
	json_t *v;
	json_object_foreach(w->last, id, v) {
		char *body = NULL;
		size_t len;
		/* Not listed but still there: created after the listing passed. */
		if (store_get(st, id, &body, &len) == -ENOENT)
			differ(list, &count, id, "the audit log records this record, the store has "
						 "it no more (removed outside the daemon)");
		free(body);
	}
	json_object_set_new(report, "records",
			    json_pack("{s:I, s:I, s:o, s:I}", "checked", (json_int_t)checked,
				      "without_digest", (json_int_t)unchecked, "differ", list,
				      "differ_count", (json_int_t)count));
	if (count)
		json_object_set_new(report, "ok", json_false());
	return rc;
}

static void report_published(const struct walk *w, bool chain_ok, json_t *report)
{
	const char *why = w->pub_why;
	if (!why && !w->pub_seen)
		why = chain_ok ? "the chain ends before the published sequence number: entries "
				 "were cut off its end"
			       : "the chain breaks before the published sequence number";
	json_object_set_new(report, "published",
			    json_pack("{s:I, s:s, s:b, s:s?}", "seq", (json_int_t)w->pub->seq,
				      "hash", w->pub->hash, "ok", why == NULL, "reason", why));
	if (why)
		json_object_set_new(report, "ok", json_false());
}

int audit_verify(struct store *st, const struct audit_published *pub, bool records,
		 json_t **out)
{
	struct audit_head head;
	int rc = audit_load_head(st, &head);
	if (rc < 0)
		return rc;
	struct walk w = { .pub = pub, .last = records ? json_object() : NULL };
	memcpy(w.at.hash, ZERO_HASH, HASH_HEX);
	json_t *report = json_object();
	json_object_set_new(report, "ok", json_true());
	if ((rc = walk_chain(st, &head, &w, report)) < 0)
		goto done;
	bool chain_ok = !json_object_get(report, "first_bad_seq");
	if (chain_ok && (w.at.seq != head.seq || strcmp(w.at.hash, head.hash) != 0))
		broken(report, w.at.seq + 1 <= head.seq ? w.at.seq + 1 : head.seq,
		       "the log ends before its recorded head (entries cut off the end)");
	else if (chain_ok && past_head(st, &head))
		broken(report, head.seq + 1, "entries lie past the recorded head (the head was "
					     "rewritten back)");
	w.chain_ok = chain_ok = !json_object_get(report, "first_bad_seq");
	json_object_set_new(report, "entries", json_integer((json_int_t)w.at.seq));
	json_object_set_new(report, "head", json_string(w.at.hash));
	if (records && (rc = check_records(st, &w, report)) < 0)
		goto done;
	if (pub)
		report_published(&w, chain_ok, report);
done:
	json_decref(w.last);
	if (rc < 0) {
		json_decref(report);
		return rc;
	}
	*out = report;
	return 0;
}
