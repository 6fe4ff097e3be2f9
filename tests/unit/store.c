/* Unit tests of store: records and indexes, paging, counts, audit rows,
 * exclusive opening, a failing commit, a full map, and the droppable key
 * range. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "store.h"
#include "tap.h"

static char dir[] = "/tmp/liud-store-XXXXXX";

static int put(struct store *st, const char *id, const char *kind, const char *state,
	       const char *old_kind, const char *old_state, const char *body)
{
	struct store_op op = { .op = STORE_PUT_RECORD, .id = id, .kind = kind, .state = state,
			       .old_kind = old_kind, .old_state = old_state, .body = body,
			       .len = strlen(body) };
	return store_commit(st, &op, 1);
}

static uint64_t counted;
static void count_cb(void *ud, const char *kind, const char *state, uint64_t n)
{
	(void)ud;
	if (strcmp(kind, "app") == 0 && strcmp(state, "submitted") == 0)
		counted = n;
}

static int put_meta(struct store *st, const char *key, const char *val)
{
	struct store_op op = { .op = STORE_PUT_META, .id = key, .body = val, .len = strlen(val) };
	return store_commit(st, &op, 1);
}

static bool has_meta(struct store *st, const char *key)
{
	char *v = NULL;
	int rc = store_meta_get(st, key, &v, NULL);
	free(v);
	return rc == 0;
}

/* A caller-named range of metadata keys: read and written like the others,
 * dropped whole by STORE_DROP_RANGE, which leaves every other key; without
 * a range, STORE_DROP_RANGE drops nothing. */
static void droppable_range(void)
{
	char d[] = "/tmp/liud-store-range-XXXXXX";
	if (!mkdtemp(d))
		return;
	struct store_opts o = { .range_prefix = "tmp/", .range_table = "tmp_rows" };
	struct store *st;
	struct store_opts bad = { .range_prefix = "tmp/" };
	is_int(store_open(&st, d, &bad), -EINVAL, "a range without a table is refused");
	is_int(store_open(&st, d, &o), 0, "open with a droppable range");
	put_meta(st, "tmp/a", "1");
	put_meta(st, "tmp/b", "2");
	put_meta(st, "keep", "3");
	ok(has_meta(st, "tmp/a") && has_meta(st, "tmp/b"), "keys of the range read back");
	struct store_rows l;
	is_int(store_meta_scan(st, "tmp/", false, NULL, 10, &l), 0, "scan the range");
	is_int((long long)l.n, 2, "its two keys");
	store_rows_free(&l);
	struct store_op drop = { .op = STORE_DROP_RANGE };
	is_int(store_commit(st, &drop, 1), 0, "drop the range");
	ok(!has_meta(st, "tmp/a") && !has_meta(st, "tmp/b"), "its keys are gone");
	ok(has_meta(st, "keep"), "a key outside it stays");
	store_close(st);
	is_int(store_open(&st, d, NULL), 0, "open without a range");
	put_meta(st, "tmp/c", "4");
	is_int(store_commit(st, &drop, 1), 0, "a drop without a range ...");
	ok(has_meta(st, "tmp/c") && has_meta(st, "keep"), "... drops nothing");
	store_close(st);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", d);
	if (system(cmd) != 0)
		tap_diag("cleanup failed");
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	struct store *st;
	is_int(store_open(&st, dir, NULL), 0, "open a new database");
	struct store *second;
	is_int(store_open(&second, dir, NULL), -EBUSY, "a second open of the same folder is refused");

	char id[16], body[64];
	for (int i = 1; i <= 25; i++) {
		snprintf(id, sizeof id, "A%03d", i);
		snprintf(body, sizeof body, "{\"n\":%d}", i);
		put(st, id, "app", i % 5 == 0 ? "confirmed" : "submitted", NULL, NULL, body);
	}
	char *got;
	size_t len;
	is_int(store_get(st, "A007", &got, &len), 0, "get a record");
	is_str(got, "{\"n\":7}", "its body");
	free(got);
	is_int(store_get(st, "nope", &got, &len), -ENOENT, "get a missing record");

	struct store_rows l;
	is_int(store_list(st, "app", "confirmed", NULL, 100, &l), 0, "list by kind and state");
	is_int((long long)l.n, 5, "five confirmed");
	is_str(l.items[0].id, "A005", "first in id order");
	store_rows_free(&l);

	/* Paging through everything, 10 at a time. */
	int total = 0, pages = 0;
	char *after = NULL;
	do {
		is_int(store_list(st, NULL, NULL, after, 10, &l), 0, "a page");
		free(after);
		after = l.next ? strdup(l.next) : NULL;
		total += (int)l.n;
		pages++;
		store_rows_free(&l);
	} while (after);
	is_int(total, 25, "paging sees every record once");
	is_int(pages, 3, "in three pages");

	/* A state change moves the record between index entries. */
	is_int(put(st, "A001", "app", "confirmed", "app", "submitted", "{\"n\":1}"), 0, "change state");
	store_list(st, "app", "submitted", NULL, 100, &l);
	is_int((long long)l.n, 19, "one fewer submitted");
	store_rows_free(&l);
	store_list(st, NULL, "confirmed", NULL, 100, &l);
	is_int((long long)l.n, 6, "one more confirmed (by state alone)");
	store_rows_free(&l);
	store_counts(st, count_cb, NULL);
	is_int((long long)counted, 19, "counts follow the change");

	/* Audit rows by record. */
	struct store_op ops[] = {
		{ .op = STORE_PUT_AUDIT, .seq = 1, .id = "A001", .body = "{\"a\":1}", .len = 7 },
		{ .op = STORE_PUT_AUDIT, .seq = 2, .id = "A002", .body = "{\"a\":2}", .len = 7 },
		{ .op = STORE_PUT_AUDIT, .seq = 3, .id = "A001", .body = "{\"a\":3}", .len = 7 },
		{ .op = STORE_PUT_META, .id = "k", .body = "v", .len = 1 },
	};
	is_int(store_commit(st, ops, 4), 0, "commit audit rows and meta together");
	store_audit_of(st, "A001", &l);
	is_int((long long)l.n, 2, "two audit rows for A001");
	is_str(l.items[1].id, "3", "oldest first");
	store_rows_free(&l);
	is_int(store_commit(st, ops, 1), -EEXIST, "an audit sequence number is never overwritten");
	store_audit_range(st, 1, 10, &l);
	is_int((long long)l.n, 3, "the failed commit added nothing");
	store_rows_free(&l);

	/* Fault injection: a failing commit leaves nothing behind. */
	store_fail_commits(st, 1, -EIO);
	is_int(put(st, "B001", "app", "submitted", NULL, NULL, "{}"), -EIO, "injected commit failure");
	is_int(store_get(st, "B001", &got, &len), -ENOENT, "nothing of it is visible");
	store_close(st);

	/* A tiny map fills up: -ENOSPC, then growing it lets the write through. */
	struct store_opts small = { .map_size = 256 << 10, .max_map_size = 4 << 20 };
	char dir2[] = "/tmp/liud-store2-XXXXXX";
	mkdtemp(dir2);
	is_int(store_open(&st, dir2, &small), 0, "open with a small map");
	char *big = malloc(200 << 10);
	memset(big, 'x', 200 << 10);
	big[(200 << 10) - 1] = '\0';
	int rc = 0, n;
	for (n = 0; n < 20 && rc == 0; n++) {
		snprintf(id, sizeof id, "C%03d", n);
		rc = put(st, id, "app", "submitted", NULL, NULL, big);
	}
	is_int(rc, -ENOSPC, "a full map answers -ENOSPC");
	is_int(store_get(st, "C000", &got, &len), 0, "earlier writes are intact");
	free(got);
	is_int(store_grow(st), 0, "the map grows");
	is_int(put(st, id, "app", "submitted", NULL, NULL, big), 0, "the refused write now fits");
	while (store_grow(st) == 0)
		;
	is_int(store_grow(st), -ENOSPC, "growth stops at max_map_size");
	free(big);
	store_close(st);
	is_int(store_open(&st, dir, NULL), 0, "reopen the first database");
	is_int(store_meta_get(st, "k", &got, &len), 0, "meta survived");
	free(got);
	store_close(st);
	droppable_range();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, dir2);
	if (system(cmd) != 0)
		tap_diag("cleanup failed");
	return tap_done();
}
