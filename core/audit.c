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

char *audit_seal_raw(const char *rest, size_t len, const char *time, struct audit_head *h)
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
	/* head + ("," + members) + "," : what the hash covers, as audit_seal */
	size_t members = len - 2;
	size_t n = (size_t)hl + (members ? 1 + members : 0) + 1;
	char *out = malloc(n + HASH_TAIL_LEN + 1);
	if (!out)
		return NULL;
	char *p = mempcpy(out, head, (size_t)hl);
	if (members) {
		*p++ = ',';
		p = mempcpy(p, rest + 1, members);
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
		struct store_rows l;
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
			else if ((why = check_seal(l.items[i].body, l.items[i].len, hash)) != NULL)
				;
			else if ((uint64_t)json_integer_value(json_object_get(e, "seq")) != seq)
				why = "entry's sequence number differs from its position (moved)";
			else if (!json_is_string(json_object_get(e, "prev")) ||
				 strcmp(json_string_value(json_object_get(e, "prev")), walk.hash) != 0)
				why = "entry does not chain to the one before it (reordered or replaced)";
			if (why) {
				json_decref(e);
				store_rows_free(&l);
				*out = broken(report, walk.seq + 1 < seq ? walk.seq + 1 : seq, why);
				return 0;
			}
			walk.seq = seq;
			memcpy(walk.hash, hash, HASH_HEX);
			json_decref(e);
		}
		bool done = l.n < 1024;
		store_rows_free(&l);
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
