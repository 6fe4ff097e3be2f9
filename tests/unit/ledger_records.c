/* Unit tests of the ledger as the owner of records: a new record and the
 * next version of a stored one, written in their tagged forms; reads as
 * text fit for a reply, as pages and as history; the latest version while
 * a write is in flight; a batch's versions and metadata, linked in one step,
 * as the latest beside writes in flight before and after it; a big
 * metadata value taken by the write, not copied (a pack's files); damaged bytes
 * named, not passed on; a change of an unknown kind refused with nothing
 * queued. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "commit.h"
#include "ledger.h"
#include "store.h"
#include "tap.h"

static char dir[] = "/tmp/liud-records-XXXXXX";
static uv_loop_t loop;
static int written_status = 1;

static void written(void *ud, int status)
{
	(void)ud;
	written_status = status;
}

/* Queues `ch` (with audit entry `audit`), runs the loop until it is
 * durable, and returns the write's status. */
static int write_one(struct ledger *l, struct ledger_change *ch)
{
	written_status = 1;
	int rc = ledger_write(l, ch, 1, NULL, 0, NULL, written, NULL);
	if (rc < 0)
		return rc;
	uv_run(&loop, UV_RUN_DEFAULT);
	return written_status;
}

/* The span of member `key`'s value in `text` (values without nesting). */
static struct ledger_span span_of(const char *text, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(text, pat);
	if (!p)
		return (struct ledger_span){ 0, 0 };
	p += strlen(pat);
	size_t n = strcspn(p, ",}");
	return (struct ledger_span){ (size_t)(p - text), n };
}

static int batch_status = 1;
static void batch_written(void *ud, int status)
{
	(void)ud;
	batch_status = status;
}

/* A change as text of note `id` in `state`, rev `rev`; *text is the JSON
 * (caller frees). */
static struct ledger_change note_text(const char *id, const char *state, int rev, char **text)
{
	if (asprintf(text, "{\"id\":\"%s\",\"kind\":\"note\",\"rev\":%d,\"state\":\"%s\",\"data\":{}}",
		     id, rev, state) < 0)
		*text = NULL;
	struct ledger_change ch = { .kind = LEDGER_CHANGE_TEXT };
	ch.text = (struct ledger_text){ .id = id, .kind = "note", .state = state, .rev = rev,
					.text = *text, .len = *text ? strlen(*text) : 0 };
	return ch;
}

static long long count_of(struct ledger *l, const char *state)
{
	uint64_t n = 0;
	return ledger_count(l, "note", state, &n) == 0 ? (long long)n : -1;
}

/* `id`'s latest text has state `state`. */
static void latest_is(struct ledger *l, const char *id, const char *state, const char *desc)
{
	char *text = NULL, want[64];
	size_t len;
	snprintf(want, sizeof want, "\"state\":\"%s\"", state);
	ok(ledger_latest_text(l, id, &text, &len) == 0 && strstr(text, want), desc);
	free(text);
}

static void meta_is(struct ledger *l, const char *key, const char *want, const char *desc)
{
	char *v = NULL;
	is_str(ledger_meta_latest(l, key, &v, NULL) == 0 ? v : "(none)", want, desc);
	free(v);
}

/* A batch of 2,000 notes (an import's write), between writes in flight. */
static void batches(struct ledger *l)
{
	long long open0 = count_of(l, "open"), done0 = count_of(l, "done");
	/* Before it, in flight: a version of B-000001 and an identity entry the
	 * batch writes again. */
	char *t0;
	struct ledger_change ch = note_text("B-000001", "open", 1, &t0);
	is_int(ledger_write(l, &ch, 1, NULL, 0, NULL, written, NULL), 0, "a write in flight before the batch");
	const char *k = "ident:x", *v0 = "v0";
	size_t l0 = 2;
	is_int(ledger_write_meta(l, &k, &v0, &l0, 1, written, NULL), 0, "and metadata in flight");
	struct ledger_batch *b;
	is_int(ledger_batch_new(l, &b), 0, "a batch");
	int rc = 0;
	static char ids[2001][16]; /* borrowed by the batch until it is submitted */
	for (int i = 1; i <= 2000 && rc == 0; i++) {
		char *id = ids[i], *t;
		snprintf(id, sizeof ids[i], "B-%06d", i);
		ch = note_text(id, i == 1 ? "done" : "open", 1, &t);
		if (i == 1) { /* it replaces the version in flight */
			ch.old_kind = "note";
			ch.old_state = "open";
		}
		rc = ledger_batch_add(b, &ch);
		free(t);
	}
	is_int(rc, 0, "2,000 changes added");
	is_int(ledger_batch_meta(b, "ident:x", "v1") | ledger_batch_meta(b, "ident:y", "y1"), 0,
	       "two metadata keys added");
	ok(ledger_batch_has(b, "B-000002") && ledger_batch_has(b, "B-002000") && !ledger_batch_has(b, "B-002001"),
	   "the batch says which records it writes");
	ok(ledger_exists(l, "B-000002") == 0, "nothing of a batch is visible before it is submitted");
	meta_is(l, "ident:y", "(none)", "nor its metadata");
	is_int(ledger_batch_submit(b, batch_written, NULL), 0, "the batch submitted");
	latest_is(l, "B-000001", "done", "a record a write before it has in flight: the batch's version");
	latest_is(l, "B-001500", "open", "a record of the batch alone: its version");
	is_int(ledger_exists(l, "B-002000"), 1, "its last record exists");
	ok(ledger_is_pending(l, "B-000002"), "and is pending");
	is_int(count_of(l, "open"), open0 + 1999, "count() sees the batch's open records");
	is_int(count_of(l, "done"), done0 + 1, "and its done one (the write before it replaced)");
	meta_is(l, "ident:x", "v1", "metadata a write before it puts: the batch's value");
	meta_is(l, "ident:y", "y1", "metadata of the batch alone: its value");
	/* After it, in flight: a newer version of one of its records. */
	char *t2;
	ch = note_text("B-000003", "done", 2, &t2);
	ch.old_kind = "note";
	ch.old_state = "open";
	is_int(ledger_write(l, &ch, 1, NULL, 0, NULL, written, NULL), 0, "a write after the batch");
	latest_is(l, "B-000003", "done", "its version is the latest");
	is_int(count_of(l, "open"), open0 + 1998, "counted once, in its new state");
	is_int(count_of(l, "done"), done0 + 2, "the state it moved to");
	batch_status = 1;
	uv_run(&loop, UV_RUN_DEFAULT);
	is_int(batch_status, 0, "the batch is durable");
	latest_is(l, "B-000003", "done", "once durable: the write after it holds");
	latest_is(l, "B-001500", "open", "a batch's record read from the store");
	ok(!ledger_is_pending(l, "B-001500"), "and no longer pending");
	is_int(count_of(l, "open"), open0 + 1998, "the same counts from the store");
	is_int(count_of(l, "done"), done0 + 2, "done too");
	meta_is(l, "ident:x", "v1", "the batch's metadata as stored");
	free(t0);
	free(t2);
}

/* A pack's files, 3 MiB with NUL bytes in them, written with other
 * metadata: taken by the write (no copy), stored byte for byte. */
static void blob(struct store *st, struct ledger *l)
{
	size_t n = 3u << 20;
	char *v = malloc(n), *want = malloc(n);
	for (size_t i = 0; v && want && i < n; i++)
		v[i] = want[i] = (char)(i % 251);
	const char *meta[] = { "blob:other", "small", NULL };
	struct ledger_blob b = { "blob:files", v, n };
	written_status = 1;
	is_int(ledger_write_blob(l, NULL, 0, NULL, 0, meta, &b, written, NULL), 0, "a write with a blob");
	ok(b.value == NULL, "its value is the write's now");
	uv_run(&loop, UV_RUN_DEFAULT);
	is_int(written_status, 0, "durable");
	char *got = NULL, *small = NULL;
	size_t len = 0;
	is_int(store_meta_get(st, "blob:files", &got, &len), 0, "the value is stored");
	ok(len == n && memcmp(got, want, n) == 0, "byte for byte (3 MiB, NUL bytes included)");
	is_int(ledger_meta_latest(l, "blob:other", &small, NULL), 0, "with the rest of the write");
	free(got);
	free(small);
	/* A write that cannot be queued still takes (frees) the value. */
	struct ledger_change bad = { .kind = (enum ledger_change_kind)42 };
	b = (struct ledger_blob){ "blob:never", malloc(16), 16 };
	is_int(ledger_write_blob(l, &bad, 1, NULL, 0, NULL, &b, written, NULL), -EINVAL,
	       "a refused write with a blob");
	ok(b.value == NULL, "took its value all the same");
	is_int(store_meta_get(st, "blob:never", NULL, NULL), -ENOENT, "and wrote nothing");
	free(want);
}

static void damaged(struct store *st, struct ledger *l)
{
	/* Bytes put straight into the store, as a damaged file would hold. */
	const char *cut = "{\"id\":\"D-1\",\"kind\":\"note\",\"data\":{";
	const char *lines = "{\"id\":\"D-2\",\n\"kind\":\"note\",\"rev\":1,\"state\":\"open\",\"data\":{}}";
	struct store_op ops[] = {
		{ .op = STORE_PUT_RECORD, .id = "D-1", .kind = "note", .state = "open", .body = cut,
		  .len = strlen(cut) },
		{ .op = STORE_PUT_RECORD, .id = "D-2", .kind = "note", .state = "open", .body = lines,
		  .len = strlen(lines) },
	};
	is_int(store_commit(st, ops, 2), 0, "two damaged records put in the store");
	char *text = NULL;
	size_t len;
	is_int(ledger_get_sendable(l, "D-1", &text, &len), -EIO, "a record cut off: -EIO, not its bytes");
	is_int(ledger_get_sendable(l, "D-2", &text, &len), 0, "a record over two lines parses");
	ok(text && !strchr(text, '\n'), "and is sent encoded again, on one line");
	free(text);
	struct ledger_page p;
	is_int(ledger_list(l, "note", NULL, "D-0", 2, true, &p), 0, "a lazy page of them");
	is_int((long long)p.n, 2, "both are listed");
	json_t *r = ledger_page_get(l, &p, 0);
	ok(r == NULL, "the cut one reads as damaged (NULL)");
	r = ledger_page_get(l, &p, 1);
	is_str(json_string_value(json_object_get(r, "id")), "D-2", "the other decodes");
	json_decref(r);
	ledger_page_free(&p);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	uv_loop_init(&loop);
	struct store *st;
	struct commit *cm;
	struct ledger *l;
	is_int(store_open(&st, dir, NULL), 0, "open a new database");
	is_int(commit_new(&cm, &loop, st), 0, "a committer");
	is_int(ledger_open(&l, st, cm), 0, "a ledger over them");

	/* A new record, decoded, with its audit entry. */
	const char *now = "2024-06-01T10:00:00+09:00";
	json_t *state = json_string("open"), *data = json_pack("{s:s}", "text", "hello");
	json_t *events = json_array();
	json_t *rec = ledger_new_record(l, "N-", "note", state, data, now);
	is_str(json_string_value(json_object_get(rec, "id")), "N-000001", "a new record takes a new id");
	json_t *audit = ledger_audit_entry(&(struct ledger_audit){
		.time = now, .peer = json_pack("{s:s}", "user", "t"), .method = "act", .action = "create",
		.id = "N-000001", .state_after = state, .rules_version = "v", .events = events,
		.row = -1 });
	ok(audit != NULL, "an audit entry for it");
	char *enc = NULL;
	struct ledger_change ch = { .kind = LEDGER_CHANGE_DECODED,
				    .decoded = { .record = rec, .audit = audit, .encoded = &enc } };
	is_int(write_one(l, &ch), 0, "written");
	const char *want1 = "{\"id\":\"N-000001\",\"kind\":\"note\",\"created_at\":\"2024-06-01T10:00:00+09:00\","
			    "\"rev\":1,\"state\":\"open\",\"data\":{\"text\":\"hello\"},"
			    "\"updated_at\":\"2024-06-01T10:00:00+09:00\"}";
	is_str(enc, want1, "the stored JSON, in a new record's member order");
	free(enc);
	char *text = NULL;
	size_t len = 0;
	is_int(ledger_get_sendable(l, "N-000001", &text, &len), 0, "read back as text for a reply");
	is_str(text, want1, "the bytes as stored");
	char *missing = NULL;
	is_int(ledger_get_sendable(l, "N-000009", &missing, &len), -ENOENT, "a missing record: -ENOENT");

	/* Its next version as text, spliced from the stored one. */
	struct ledger_next n = { .was = text, .id = span_of(text, "id"), .kind = span_of(text, "kind"),
				 .created_at = span_of(text, "created_at"), .state = json_string("done"),
				 .data = "{\"text\":\"bye\"}", .data_len = 14, .rev = 2,
				 .now = "2024-06-02T10:00:00+09:00", .read_as = "N-000001" };
	char *next = NULL;
	size_t next_len = 0;
	is_int(ledger_next_text(&n, &next, &next_len), 0, "the next version as text");
	is_str(next, "{\"id\":\"N-000001\",\"kind\":\"note\",\"created_at\":\"2024-06-01T10:00:00+09:00\","
		     "\"rev\":2,\"state\":\"done\",\"data\":{\"text\":\"bye\"},"
		     "\"updated_at\":\"2024-06-02T10:00:00+09:00\"}", "the core's members kept as written");
	struct ledger_next bad = n;
	bad.id.len = 0;
	char *none = NULL;
	is_int(ledger_next_text(&bad, &none, &next_len), -EIO, "no id in the old version: -EIO");
	bad = n;
	bad.state = data;
	is_int(ledger_next_text(&bad, &none, &next_len), -EINVAL, "a state that is not a string: -EINVAL");
	json_t *audit2 = json_pack("{s:s, s:s}", "method", "act", "id", "N-000001");
	ch = (struct ledger_change){ .kind = LEDGER_CHANGE_TEXT, .old_kind = "note", .old_state = "open",
				     .text = { .id = "N-000001", .kind = "note", .state = "done", .rev = 2,
					       .text = next, .len = strlen(next), .audit = audit2 } };
	written_status = 1;
	is_int(ledger_write(l, &ch, 1, NULL, 0, NULL, written, NULL), 0, "the next version queued");
	/* count(): the latest versions, the one in flight included. */
	uint64_t cnt = 9;
	is_int(ledger_count(l, "note", "open", &cnt), 0, "count while the change is in flight");
	is_int((long long)cnt, 0, "no note open: the write in flight moved it");
	is_int(ledger_count(l, "note", "done", &cnt), 0, "count the state it moves to");
	is_int((long long)cnt, 1, "one note done, not yet committed");
	is_int(ledger_exists(l, "N-000001"), 1, "the record exists");
	is_int(ledger_exists(l, "N-000077"), 0, "another does not");
	struct ledger_page p;
	is_int(ledger_list(l, "note", NULL, NULL, 10, false, &p), 0, "a page while it is in flight");
	is_int((long long)p.n, 1, "one record");
	json_t *r = ledger_page_get(l, &p, 0), *latest = ledger_page_latest(l, &p, 0);
	is_int(json_integer_value(json_object_get(r, "rev")), 1, "the page holds the committed version");
	is_int(json_integer_value(json_object_get(latest, "rev")), 2, "the latest is the one in flight");
	json_decref(r);
	json_decref(latest);
	ledger_page_free(&p);
	uv_run(&loop, UV_RUN_DEFAULT);
	is_int(written_status, 0, "then it is durable");
	is_int(ledger_count(l, "note", "done", &cnt), 0, "count once committed");
	is_int((long long)cnt, 1, "still one note done (counted once)");
	is_int(ledger_count(l, "note", "open", &cnt), 0, "and open");
	is_int((long long)cnt, 0, "none open");
	is_int(ledger_count(l, "memo", "open", &cnt), 0, "a kind with no records");
	is_int((long long)cnt, 0, "counts none");
	json_t *keyed = ledger_keyed_record("K-7", "note", state, data, now);
	is_str(json_string_value(json_object_get(keyed, "id")), "K-7", "a keyed record has the id given");
	is_str(json_object_iter_key(json_object_iter(keyed)), "id", "first, in the member order of every record");
	json_decref(keyed);
	free(text);
	is_int(ledger_get_sendable(l, "N-000001", &text, &len), 0, "read again");
	is_str(text, next, "the stored text is the spliced one");
	free(text);
	free(next);
	json_t *h = NULL;
	is_int(ledger_history(l, "N-000001", &h), 0, "its history");
	is_int((long long)json_array_size(h), 2, "two entries");
	is_int(json_integer_value(json_object_get(json_array_get(h, 1), "rev_after")), 2,
	       "the second sealed with rev_after 2");
	json_decref(h);
	is_int(ledger_history(l, "N-000009", &h), -ENOENT, "no history: -ENOENT");

	/* A row that will not be written takes no id. */
	json_t *noid = ledger_new_record(l, NULL, "note", state, data, now);
	ok(noid && !json_object_get(noid, "id"), "a record without an id prefix has no id");
	char *id2 = ledger_new_id(l, "N-");
	is_str(id2, "N-000002", "and took no number");
	free(id2);
	json_decref(noid);

	/* A change of a kind the ledger does not know: nothing queued. */
	ch = (struct ledger_change){ .kind = (enum ledger_change_kind)42 };
	is_int(ledger_write(l, &ch, 1, NULL, 0, NULL, written, NULL), -EINVAL,
	       "an unknown kind of change is refused");
	is_int((long long)ledger_inflight(l), 0, "and nothing is in flight");

	batches(l);
	blob(st, l);
	damaged(st, l);

	json_decref(audit);
	json_decref(events);
	json_decref(audit2);
	json_decref(rec);
	json_decref(state);
	json_decref(data);
	json_decref(n.state);
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
