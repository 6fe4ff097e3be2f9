/* audit — see audit.h. */
#include "audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


int audit_load_head(struct store *st, struct audit_head *h)
{
	memset(h, 0, sizeof *h);
	memcpy(h->hash, AUDIT_ZERO_HASH, HASH_HEX);
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

int audit_record_digest(const char *json, size_t len, char out[HASH_HEX])
{
	return hash_hex(json, len, out);
}
