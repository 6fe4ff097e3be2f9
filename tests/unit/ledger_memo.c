/* Unit tests of the ledger's memo: entries and shared bodies, the byte
 * budget (oldest first, bodies freed with their last entry), replacing an
 * entry, and an entry dropped when a write to its record commits. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "commit.h"
#include "ledger.h"
#include "store.h"
#include "tap.h"

static char dir[] = "/tmp/liud-memo-XXXXXX";

static void put(struct ledger *l, const char *id, const char *head, const char *body)
{
	struct ledger_memo m = { .head = head, .head_len = strlen(head), .body = body,
				 .body_len = strlen(body) };
	ledger_memo_put(l, id, &m);
}

/* The entry of `id` as "head|body", or "-" when there is none. */
static const char *get(struct ledger *l, const char *id)
{
	static char buf[512];
	struct ledger_memo m;
	if (!ledger_memo_get(l, id, &m))
		return "-";
	snprintf(buf, sizeof buf, "%.*s|%.*s", (int)m.head_len, m.head, (int)m.body_len, m.body);
	return buf;
}

static int written_status = 1;
static void written(void *ud, int status)
{
	(void)ud;
	written_status = status;
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct store *st;
	struct commit *cm;
	struct ledger *l;
	is_int(store_open(&st, dir, NULL), 0, "open a new database");
	is_int(commit_new(&cm, &loop, st), 0, "a committer");
	is_int(ledger_open(&l, st, cm), 0, "a ledger over them");

	ledger_set_memo(l, 4096);
	is_str(get(l, "A"), "-", "nothing kept at first");
	put(l, "A", "h1", "{\"x\":1}");
	put(l, "B", "h2", "{\"x\":1}");
	is_str(get(l, "A"), "h1|{\"x\":1}", "an entry comes back as it was put");
	is_str(get(l, "B"), "h2|{\"x\":1}", "a second record with the same body");
	size_t bytes, bodies;
	is_int((long long)ledger_memo_size(l, &bytes, &bodies), 2, "two entries");
	is_int((long long)bodies, 1, "sharing one body");
	size_t two = bytes;
	put(l, "C", "h3", "{\"x\":2}");
	ledger_memo_size(l, &bytes, &bodies);
	is_int((long long)bodies, 2, "a different body is kept apart");
	ok(bytes > two, "and charged");

	/* Replacing A's entry with another body: the shared body stays for B. */
	put(l, "A", "h4", "{\"x\":2}");
	is_str(get(l, "A"), "h4|{\"x\":2}", "an entry is replaced");
	is_str(get(l, "B"), "h2|{\"x\":1}", "the body it shared stays for the other record");
	ledger_memo_size(l, &bytes, &bodies);
	is_int((long long)bodies, 2, "still two bodies");

	/* The budget: fill with distinct bodies; the oldest go first, and a
	 * body goes with its last entry. */
	char id[16], body[64];
	for (int i = 0; i < 40; i++) {
		snprintf(id, sizeof id, "R%02d", i);
		snprintf(body, sizeof body, "{\"n\":%d,\"pad\":\"%040d\"}", i, i);
		put(l, id, "hh", body);
	}
	ledger_memo_size(l, &bytes, &bodies);
	ok(bytes <= 4096, "the memo stays within its budget");
	is_str(get(l, "B"), "-", "the oldest entry went first");
	is_str(get(l, "R39"), "hh|{\"n\":39,\"pad\":\"0000000000000000000000000000000000000039\"}",
	       "the newest is kept");
	size_t entries = ledger_memo_size(l, &bytes, &bodies);
	is_int((long long)bodies, (long long)entries, "no body outlives its entries (all distinct now)");

	char big[2048];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	put(l, "BIG", "h", big);
	is_str(get(l, "BIG"), "-", "an entry over a quarter of the budget is not kept");

	/* A write to a record drops its entry once it commits. */
	put(l, "N-000001", "h", "{\"ok\":true}");
	put(l, "N-000002", "h", "{\"ok\":true}");
	json_t *rec = json_pack("{s:s, s:s, s:s, s:i, s:{}}", "id", "N-000001", "kind", "note",
				"state", "open", "rev", 1, "data");
	struct ledger_change ch = { .kind = LEDGER_CHANGE_DECODED, .decoded = { .record = rec } };
	is_int(ledger_write(l, &ch, 1, NULL, 0, NULL, written, NULL), 0, "a write queued");
	is_str(get(l, "N-000001"), "h|{\"ok\":true}", "the entry stays while the write is in flight");
	uv_run(&loop, UV_RUN_DEFAULT);
	is_int(written_status, 0, "the write committed");
	is_str(get(l, "N-000001"), "-", "then the written record's entry is gone");
	is_str(get(l, "N-000002"), "h|{\"ok\":true}", "other records' entries stay");
	json_decref(rec);

	ledger_memo_clear(l);
	is_int((long long)ledger_memo_size(l, &bytes, &bodies), 0, "clear empties it");
	is_int((long long)bytes + (long long)bodies, 0, "bytes and bodies too");

	ledger_close(l);
	commit_free(cm);
	store_close(st);
	uv_loop_close(&loop);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
