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

/* The hash of an entry: SHA-256 over its canonical JSON without "hash". */
static int entry_hash(json_t *entry, char out[HASH_HEX])
{
	/* Take "hash" out for the dump and put it back: no copy of the entry. */
	json_t *h = json_incref(json_object_get(entry, "hash"));
	if (h)
		json_object_del(entry, "hash");
	char *s = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (h)
		json_object_set_new(entry, "hash", h);
	if (!s)
		return -ENOMEM;
	hash_hex(s, strlen(s), out);
	free(s);
	return 0;
}

int audit_seal(json_t *entry, struct audit_head *h)
{
	char hash[HASH_HEX];
	json_object_set_new(entry, "seq", json_integer((json_int_t)(h->seq + 1)));
	json_object_set_new(entry, "prev", json_string(h->hash));
	if (entry_hash(entry, hash) < 0)
		return -ENOMEM;
	json_object_set_new(entry, "hash", json_string(hash));
	h->seq++;
	memcpy(h->hash, hash, HASH_HEX);
	return 0;
}

static json_t *broken(json_t *report, uint64_t seq, const char *why)
{
	json_object_set_new(report, "ok", json_false());
	json_object_set_new(report, "first_bad_seq", json_integer((json_int_t)seq));
	json_object_set_new(report, "reason", json_string(why));
	return report;
}

int audit_verify(struct store *st, json_t **out)
{
	struct audit_head head, walk;
	int rc = audit_load_head(st, &head);
	if (rc < 0)
		return rc;
	memset(&walk, 0, sizeof walk);
	memcpy(walk.hash, ZERO_HASH, HASH_HEX);
	json_t *report = json_object();
	uint64_t next = 1;
	for (;;) {
		struct store_list l;
		if ((rc = store_audit_range(st, next, 1024, &l)) < 0) {
			json_decref(report);
			return rc;
		}
		for (size_t i = 0; i < l.n; i++) {
			uint64_t seq = strtoull(l.items[i].id, NULL, 10);
			json_t *e = json_loadb(l.items[i].body, l.items[i].len, 0, NULL);
			char hash[HASH_HEX];
			const char *why = NULL;
			if (seq != walk.seq + 1)
				why = "entries are missing before this one (sequence gap)";
			else if (!e || !json_is_object(e))
				why = "entry is not valid JSON";
			else if ((uint64_t)json_integer_value(json_object_get(e, "seq")) != seq)
				why = "entry's sequence number differs from its position (moved)";
			else if (!json_is_string(json_object_get(e, "prev")) ||
				 strcmp(json_string_value(json_object_get(e, "prev")), walk.hash) != 0)
				why = "entry does not chain to the one before it (reordered or replaced)";
			else if (entry_hash(e, hash) < 0 || !json_is_string(json_object_get(e, "hash")) ||
				 strcmp(hash, json_string_value(json_object_get(e, "hash"))) != 0)
				why = "entry's content does not match its hash (changed)";
			if (why) {
				json_decref(e);
				store_list_free(&l);
				*out = broken(report, walk.seq + 1 < seq ? walk.seq + 1 : seq, why);
				return 0;
			}
			walk.seq = seq;
			memcpy(walk.hash, hash, HASH_HEX);
			json_decref(e);
		}
		bool done = l.n < 1024;
		store_list_free(&l);
		next = walk.seq + 1;
		if (done)
			break;
	}
	if (walk.seq != head.seq || strcmp(walk.hash, head.hash) != 0) {
		*out = broken(report, walk.seq + 1 <= head.seq ? walk.seq + 1 : head.seq,
			      "the log ends before its recorded head (entries cut off the end)");
		return 0;
	}
	json_object_set_new(report, "ok", json_true());
	json_object_set_new(report, "entries", json_integer((json_int_t)walk.seq));
	json_object_set_new(report, "head", json_string(walk.hash));
	*out = report;
	return 0;
}
