/* Unit tests of audit's verification in steps: a verification cut into
 * steps of one entry or record each (a step given an instant already past)
 * reports what one step given all the time it wants reports, across pages
 * and phases; a record changed outside, a published head. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "audit.h"
#include "verify.h"
#include "store.h"
#include "tap.h"

#define N 700 /* records: more than two pages of entries and of records */

static char dir[] = "/tmp/liud-audit-XXXXXX";

/* A record and the entry that created it (sealed after *h), in one commit. */
static int create(struct store *st, struct audit_head *h, int i)
{
	char id[32], body[128], digest[HASH_HEX];
	snprintf(id, sizeof id, "R%05d", i);
	snprintf(body, sizeof body, "{\"id\":\"%s\",\"n\":%d,\"text\":\"item %d\"}", id, i, i);
	if (audit_record_digest(body, strlen(body), digest) < 0)
		return -EIO;
	json_t *e = json_pack("{s:s, s:s, s:i, s:s}", "action", "create", "id", id, "rev_after", 1,
			      AUDIT_DIGEST_KEY, digest);
	uint64_t seq = h->seq + 1;
	char *sealed = audit_seal(e, h);
	json_decref(e);
	char *head = audit_head_encode(h);
	if (!sealed || !head)
		return -ENOMEM;
	struct store_op ops[] = {
		{ .op = STORE_PUT_RECORD, .id = id, .kind = "item", .state = "open", .body = body,
		  .len = strlen(body) },
		{ .op = STORE_PUT_AUDIT, .seq = seq, .id = id, .body = sealed, .len = strlen(sealed) },
		{ .op = STORE_PUT_META, .id = AUDIT_HEAD_KEY, .body = head, .len = strlen(head) },
	};
	int rc = store_commit(st, ops, 3);
	free(sealed);
	free(head);
	return rc;
}

/* A whole verification with steps that end at `until_us`; *steps counts them. */
static json_t *verify(struct store *st, const struct verify_head *pub, int64_t until_us,
		      size_t *steps)
{
	struct verify *v;
	json_t *report = NULL;
	if (verify_start(st, pub, true, &v) < 0)
		return NULL;
	int rc;
	*steps = 0;
	do
		(*steps)++;
	while ((rc = verify_step(v, until_us, &report)) == 1);
	verify_free(v);
	return rc == 0 ? report : NULL;
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	struct store *st;
	is_int(store_open(&st, dir, &(struct store_opts){ 0 }), 0, "open a store");
	struct audit_head h;
	audit_load_head(st, &h);
	int rc = 0;
	for (int i = 1; i <= N && rc == 0; i++)
		rc = create(st, &h, i);
	is_int(rc, 0, "700 records, each with its entry");

	size_t whole_steps, cut_steps;
	json_t *whole = verify(st, NULL, INT64_MAX, &whole_steps);
	json_t *cut = verify(st, NULL, 0, &cut_steps);
	ok(whole && json_is_true(json_object_get(whole, "ok")), "the chain and the records verify");
	is_int((long long)whole_steps, 1, "in one step given all the time it wants");
	is_int(json_integer_value(json_object_get(json_object_get(whole, "records"), "checked")), N,
	       "every record is checked");
	ok(cut_steps >= 2 * N, "cut into a step per entry and per record");
	ok(whole && cut && json_equal(whole, cut), "both report the same");
	json_decref(whole);
	json_decref(cut);

	/* A record changed outside the daemon: its body, not its entry. */
	const char *forged = "{\"id\":\"R00300\",\"n\":300,\"text\":\"forged\"}";
	struct store_op op = { .op = STORE_PUT_RECORD, .id = "R00300", .kind = "item", .state = "open",
			       .old_kind = "item", .old_state = "open", .body = forged,
			       .len = strlen(forged) };
	is_int(store_commit(st, &op, 1), 0, "a record changed outside");
	whole = verify(st, NULL, INT64_MAX, &whole_steps);
	cut = verify(st, NULL, 0, &cut_steps);
	json_t *differ = json_object_get(json_object_get(cut, "records"), "differ");
	ok(cut && json_is_false(json_object_get(cut, "ok")), "the verification in steps fails");
	is_int((long long)json_array_size(differ), 1, "... naming one record");
	is_str(json_string_value(json_object_get(json_array_get(differ, 0), "id")), "R00300",
	       "... the one changed");
	ok(whole && cut && json_equal(whole, cut), "both report the same");
	json_decref(whole);
	json_decref(cut);

	/* A published head: entry 5 as it was sealed. */
	struct store_rows l;
	store_audit_range(st, 5, 1, &l);
	json_t *e5 = l.n ? json_loadb(l.items[0].body, l.items[0].len, 0, NULL) : NULL;
	struct verify_head pub = { .seq = 5 };
	snprintf(pub.hash, sizeof pub.hash, "%s", json_string_value(json_object_get(e5, "hash")));
	store_rows_free(&l);
	json_decref(e5);
	cut = verify(st, &pub, 0, &cut_steps);
	ok(cut && json_is_true(json_object_get(json_object_get(cut, "published"), "ok")),
	   "a published head is proved in steps");
	json_decref(cut);
	pub.hash[0] = pub.hash[0] == '0' ? '1' : '0';
	cut = verify(st, &pub, 0, &cut_steps);
	ok(cut && json_is_false(json_object_get(json_object_get(cut, "published"), "ok")),
	   "a head with another hash is not");
	json_decref(cut);

	store_close(st);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	return tap_done();
}
