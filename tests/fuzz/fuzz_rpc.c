/*
 * fuzz_rpc — libFuzzer target for what a client controls: the bytes of one
 * connection.  They go through the line framer (wire_buf_append and
 * wire_buf_next_line, in uneven chunks), and every complete line through
 * rpc_handle() of a real rpc over a real LMDB store, committer, ledger and
 * scheduler, with the core's test pack tests/packs/mini live: what
 * server.c does for a connection, minus the socket.  After each input the
 * loop runs until every write is answered, so the replies that come from
 * the committer's callbacks are checked as well.
 *
 * Oracles (an abort makes libFuzzer keep the input as a crash):
 *   - each reply is one line ending in '\n': a JSON object with "jsonrpc":
 *     "2.0", an "id", and exactly one of "result" and "error", the error an
 *     object with an integer code of wire.h and a string message;
 *   - a request with a usable id gets that id back, one whose id is unusable
 *     gets null; a notification gets no line, every other request exactly one;
 *     a line that is not JSON gets -32700;
 *   - RPC_DONE means the reply has been given, RPC_ASYNC that it has not yet
 *     (server.c counts replies in flight by it), RPC_WAIT only while a write
 *     is in flight; an async reply comes within FUZZ_REPLY_MS (default 20 s);
 *   - AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer.
 *   FUZZ_VERBOSE=1 prints every request and reply line on stdout.
 *   FUZZ_STRICT_ASYNC=1 fails on RPC_ASYNC after the reply (allowed by rpc.h)
 *   printed once, for campaigns that must go past that known bug.
 *
 * Input: the connection's bytes.  When the first byte is a control byte
 * other than tab, newline and CR (0x01-0x08, 0x0b-0x0c, 0x0e-0x1f), its low
 * four bits are the peer's roles (0x1 admin, 0x2 policy, 0x4 secretariat,
 * 0x8 agency) and it is not sent; otherwise the peer is admin.  Plain text
 * seeds therefore run as admin.
 *
 * Containment: the fuzzer may call backup and rules.* with any "path".  Such
 * a path is moved into a sandbox folder of the run's temporary directory
 * (absolute paths under it, relative ones through a relative path to it,
 * ".." made harmless) so that nothing outside is written, and nothing
 * outside is read as a pack.  The sandbox holds copies of the mini pack at
 * /mini and of the ISMAP-LIU pack at /ismap.  The line is re-encoded only
 * then; every other line reaches rpc exactly as framed.
 *
 * State: the world (temporary folder, store, pack, committer, ledger,
 * scheduler, rpc) is rebuilt every FUZZ_RESET inputs (default 20) and when
 * the data file passes 4 MiB, so the store stays small and fast.  The test
 * clock is set back to 2024-06-01 (inside the mini pack's window) before
 * every input.  FUZZ_RESET=1 makes every input independent: use it to
 * reproduce a crash that needed the inputs before it.  FUZZ_LOG sets the log
 * level (default debug: formatting is part of what runs).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "auth.h"
#include "clock.h"
#include "commit.h"
#include "conf.h"
#include "errors.h"
#include "fuzz_common.h"
#include "ledger.h"
#include "log.h"
#include "rpc.h"
#include "rules.h"
#include "sched.h"
#include "store.h"
#include "wire.h"

#define LINE_MAX_BYTES 16384        /* the framer's limit: small, so oversize runs */
#define STORE_RESET_BYTES (4u << 20) /* rebuild the world past this data file size */

static struct world {
	bool up;
	char root[512];                 /* the world's temporary folder */
	char sandbox[600];              /* root/sandbox: where paths are moved */
	char rel_sandbox[4096];         /* the same, relative to the working folder */
	uv_loop_t loop;
	struct conf conf;
	struct store *store;
	struct commit *commit;
	struct ledger *ledger;
	struct auth *auth;
	struct sched *sched;
	struct rpc *rpc;
	unsigned inputs;                /* since the world was built */
} W;

static struct auth_peer peer;
static int64_t t0;                  /* the test clock's instant at each input */
static long reset_every, reply_ms;
static bool lax_async, verbose;
static int async_pending;           /* replies owed after RPC_ASYNC */

/* --- one request --------------------------------------------------------- */

struct req {
	bool replied, async;
	bool silent;      /* a notification: no reply line */
	bool parses;      /* the line is JSON (with rpc's flags) */
	json_t *want_id;  /* the id the reply must carry, or NULL: not known */
	char *sent;       /* the re-encoded line when a path was moved, owned */
};

static const char *const path_methods[] = { "backup", "rules.reload", "rules.check",
					    "rules.diff", NULL };

/* `p` moved into the sandbox, ".." neutralised.  Returns a new string. */
static json_t *contain_path(const char *p, size_t n)
{
	const char *prefix = p[0] == '/' ? W.sandbox : W.rel_sandbox;
	size_t pl = strlen(prefix);
	char *s = malloc(pl + 1 + n + 1);
	if (!s)
		abort();
	memcpy(s, prefix, pl);
	size_t k = pl;
	if (p[0] != '/')
		s[k++] = '/';
	memcpy(s + k, p, n);
	k += n;
	for (size_t i = pl; i + 1 < k; i++)
		if (s[i] == '.' && s[i + 1] == '.')
			s[i] = '_';
	json_t *j = json_stringn(s, k);
	free(s);
	return j;
}

/* What a reply to this line must look like; moves a path into the sandbox
 * (setting q->sent) when the line names one. */
static struct req *req_new(const char *line, size_t len)
{
	struct req *q = calloc(1, sizeof *q);
	if (!q)
		abort();
	json_error_t e;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &e);
	if (!req)
		return q;
	q->parses = true;
	if (!json_is_object(req)) {
		q->want_id = json_null();
		json_decref(req);
		return q;
	}
	json_t *id = json_object_get(req, "id");
	json_t *ver = json_object_get(req, "jsonrpc");
	json_t *method = json_object_get(req, "method");
	if (!id)
		q->silent = json_is_string(ver) && strcmp(json_string_value(ver), WIRE_VERSION) == 0 &&
			    json_is_string(method);
	else if (json_is_string(id) || json_is_integer(id) || json_is_null(id))
		q->want_id = json_incref(id);
	else
		q->want_id = json_null();
	if (!id && !q->silent)
		q->want_id = json_null(); /* an invalid request is answered anyway */

	json_t *params = json_object_get(req, "params");
	json_t *path = json_object_get(params, "path");
	if (json_is_string(method) && json_is_string(path)) {
		for (int i = 0; path_methods[i]; i++) {
			if (strcmp(json_string_value(method), path_methods[i]) != 0)
				continue;
			json_object_set_new(params, "path",
					    contain_path(json_string_value(path), json_string_length(path)));
			q->sent = json_dumps(req, JSON_COMPACT);
			if (!q->sent)
				abort();
			break;
		}
	}
	json_decref(req);
	return q;
}

static void req_free(struct req *q)
{
	json_decref(q->want_id);
	free(q->sent);
	free(q);
}

static bool known_code(json_int_t c)
{
	static const int codes[] = { WIRE_PARSE_ERROR, WIRE_INVALID_REQUEST, WIRE_UNKNOWN_METHOD,
				     WIRE_INVALID_PARAMS, WIRE_INTERNAL, WIRE_FORBIDDEN,
				     WIRE_NOT_FOUND, WIRE_CONFLICT, WIRE_REFUSED,
				     WIRE_SCRIPT_ERROR, WIRE_STORAGE_FULL, WIRE_OVER_LIMIT };
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (c == codes[i])
			return true;
	return false;
}

/* Checks one reply line against the protocol; `q` NULL for a framing error. */
static void check_line(const struct req *q, const char *line, size_t len)
{
	FUZZ_CHECK(line, "a request with an id (or an invalid one) got no reply line");
	FUZZ_CHECK(len > 0 && line[len - 1] == '\n', "reply does not end in a newline: %.*s",
		   (int)(len > 200 ? 200 : len), line);
	FUZZ_CHECK(!memchr(line, '\n', len - 1), "reply holds a newline inside: %.200s", line);
	json_error_t e;
	json_t *r = json_loadb(line, len - 1, JSON_REJECT_DUPLICATES, &e);
	FUZZ_CHECK(r, "reply is not JSON (%s at %d): %.300s", e.text, e.position, line);
	FUZZ_CHECK(json_is_object(r), "reply is not an object: %.300s", line);
	json_t *ver = json_object_get(r, "jsonrpc");
	FUZZ_CHECK(json_is_string(ver) && strcmp(json_string_value(ver), "2.0") == 0,
		   "reply without \"jsonrpc\":\"2.0\": %.300s", line);
	json_t *id = json_object_get(r, "id");
	FUZZ_CHECK(id, "reply without an id: %.300s", line);
	json_t *res = json_object_get(r, "result"), *err = json_object_get(r, "error");
	FUZZ_CHECK(!res != !err, "reply must hold exactly one of result and error: %.300s", line);
	if (err) {
		json_t *code = json_object_get(err, "code");
		FUZZ_CHECK(json_is_object(err) && json_is_integer(code) &&
				   json_is_string(json_object_get(err, "message")),
			   "error without an integer code and a string message: %.300s", line);
		FUZZ_CHECK(known_code(json_integer_value(code)), "error code %lld is not one of wire.h: %.300s",
			   (long long)json_integer_value(code), line);
	}
	if (!q) {
		FUZZ_CHECK(json_is_null(id) && err, "framing error reply must be an error with id null");
	} else {
		if (q->want_id)
			FUZZ_CHECK(json_equal(id, q->want_id), "reply carries another id than the request: %.300s",
				   line);
		if (!q->parses)
			FUZZ_CHECK(err && json_integer_value(json_object_get(err, "code")) == WIRE_PARSE_ERROR,
				   "a line that is not JSON must get -32700: %.300s", line);
	}
	json_decref(r);
}

/* rpc's reply function. */
static void on_reply(void *slot, char *line, size_t len)
{
	struct req *q = slot;
	FUZZ_CHECK(!q->replied, "the reply function was called twice for one request");
	q->replied = true;
	if (verbose)
		printf("<- %.*s", line ? (int)len : 7, line ? line : "(none)\n");
	if (q->silent)
		FUZZ_CHECK(!line, "a notification got a reply line: %.300s", line);
	else
		check_line(q, line, len);
	free(line);
	if (q->async) {
		async_pending--;
		req_free(q);
	}
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the loop until every async reply has come and, with `idle`, until
 * the committer is idle too (refused reloads are audited without a reply). */
static void drain(bool idle)
{
	int64_t until = mono_ms() + reply_ms;
	while (async_pending > 0 || (idle && !commit_idle(W.commit))) {
		FUZZ_CHECK(mono_ms() < until, "%d async replies never came (waited %ld ms)",
			   async_pending, reply_ms);
		uv_run(&W.loop, UV_RUN_ONCE);
	}
	uv_run(&W.loop, UV_RUN_NOWAIT);
}

static void handle_line(char *line, size_t len)
{
	struct req *q = req_new(line, len);
	const char *send = q->sent ? q->sent : line;
	size_t slen = q->sent ? strlen(q->sent) : len;
	if (verbose)
		printf("-> %.*s\n", (int)(slen > 300 ? 300 : slen), send);
	for (;;) {
		enum rpc_status st = rpc_handle(W.rpc, &peer, send, slen, async_pending > 0, q, on_reply);
		if (st == RPC_WAIT) {
			FUZZ_CHECK(async_pending > 0, "RPC_WAIT although no write is in flight");
			FUZZ_CHECK(!q->replied, "RPC_WAIT after replying");
			drain(false); /* as server.c: until the connection's replies are in */
			continue; /* then the same line again */
		}
		if (st == RPC_DONE) {
			FUZZ_CHECK(q->replied, "RPC_DONE but the reply function was not called");
		} else if (q->replied) {
			/* Allowed by rpc.h: a method that could wait may answer at
			 * once (server.c then does not count it as in flight).  This
			 * once hung connections; FUZZ_STRICT_ASYNC=1 flags it again. */
			static bool noted;
			if (!lax_async)
				fuzz_fail("RPC_ASYNC returned after the reply was already given: "
					  "server.c's count of replies in flight never returns to 0 "
					  "and the connection's later reads wait for ever (line: %.200s)",
					  send);
			if (!noted)
				printf("fuzz_rpc: note: RPC_ASYNC after the reply (allowed by rpc.h): %.200s\n", send);
			noted = true;
		} else {
			q->async = true;
			async_pending++;
			return; /* on_reply frees q */
		}
		break;
	}
	req_free(q);
}

/* Handles the complete lines held, as server.c's process() does. */
static void process(struct wire_buf *b)
{
	for (;;) {
		char *line;
		size_t len;
		int rc = wire_buf_next_line(b, &line, &len);
		if (rc == 0)
			return;
		if (rc == -EMSGSIZE) {
			size_t n;
			char *e = rpc_error_line(WIRE_OVER_LIMIT, "request line longer than the limit", &n);
			check_line(NULL, e, n);
			free(e);
			continue;
		}
		FUZZ_CHECK(rc == 1, "wire_buf_next_line returned %d", rc);
		FUZZ_CHECK(len <= LINE_MAX_BYTES, "a line of %zu bytes passed a %d byte limit", len,
			   LINE_MAX_BYTES);
		FUZZ_CHECK(line[len] == '\0' && !memchr(line, '\n', len),
			   "a framed line is not NUL-terminated or holds a newline");
		if (len == 0)
			continue; /* blank lines are keep-alives */
		handle_line(line, len);
	}
}

/* --- the world ------------------------------------------------------------ */

static void activated(void *ud, int rc, json_t *res)
{
	*(int *)ud = rc < 0 ? rc : 1;
	json_decref(res);
}

static void world_up(void)
{
	snprintf(W.root, sizeof W.root, "%s/liud-fuzz-rpc-%d-XXXXXX", fuzz_tmpbase(), (int)getpid());
	FUZZ_CHECK(mkdtemp(W.root), "mkdtemp %s: %s", W.root, strerror(errno));
	snprintf(W.sandbox, sizeof W.sandbox, "%s/sandbox", W.root);
	FUZZ_CHECK(mkdir(W.sandbox, 0700) == 0, "mkdir %s", W.sandbox);
	/* The sandbox relative to the working folder: "../" up to / and down. */
	char cwd[2048];
	FUZZ_CHECK(getcwd(cwd, sizeof cwd), "getcwd");
	size_t k = 0;
	for (const char *p = cwd; *p; p++)
		if (*p == '/' && p[1])
			k += (size_t)snprintf(W.rel_sandbox + k, sizeof W.rel_sandbox - k, "../");
	snprintf(W.rel_sandbox + k, sizeof W.rel_sandbox - k, "%s", W.sandbox + 1);

	char src[4096], dst[4096];
	snprintf(src, sizeof src, "%s/tests/packs/mini", fuzz_srcdir());
	snprintf(dst, sizeof dst, "%s/mini", W.sandbox);
	FUZZ_CHECK(fuzz_copytree(src, dst) == 0, "cannot copy %s (set FUZZ_SRCDIR)", src);
	snprintf(src, sizeof src, "%s/rules/ismap-liu", fuzz_srcdir());
	snprintf(dst, sizeof dst, "%s/ismap", W.sandbox);
	FUZZ_CHECK(fuzz_copytree(src, dst) == 0, "cannot copy %s (set FUZZ_SRCDIR)", src);

	conf_defaults(&W.conf);
	char db[600];
	snprintf(db, sizeof db, "%s/db", W.root);
	conf_set(&W.conf.db, db);
	snprintf(dst, sizeof dst, "%s/mini", W.sandbox);
	conf_set(&W.conf.rules, dst);
	W.conf.map_size = 256u << 10;    /* small: the map has to grow, and that runs too */
	W.conf.max_map_size = 64u << 20;
	W.conf.enforce_batch = 3;        /* several batches from few records */
	W.conf.rule_time_ms = 2000;      /* sanitizers slow Lua down */

	FUZZ_CHECK(uv_loop_init(&W.loop) == 0, "uv_loop_init");
	struct store_opts so = { .map_size = W.conf.map_size, .max_map_size = W.conf.max_map_size,
				 .range_prefix = LEDGER_STAGE_PREFIX, .range_table = LEDGER_STAGE_TABLE };
	int rc = store_open(&W.store, W.conf.db, &so);
	FUZZ_CHECK(rc == 0, "store_open: %s", liu_strerror(rc));
	struct rules_opts ro = { .mem_limit = W.conf.rule_memory, .instr_limit = W.conf.rule_instructions,
				 .time_limit_ms = W.conf.rule_time_ms };
	struct rules *rules;
	char *err = NULL;
	rc = rules_load(&rules, W.conf.rules, &ro, &err);
	FUZZ_CHECK(rc == 0, "the mini pack does not load: %s", err ? err : liu_strerror(rc));
	FUZZ_CHECK(commit_new(&W.commit, &W.loop, W.store) == 0, "commit_new");
	FUZZ_CHECK(auth_new(&W.auth, W.conf.roles, getuid()) == 0, "auth_new");
	FUZZ_CHECK(ledger_open(&W.ledger, W.store, W.commit) == 0, "ledger_open");
	struct rpc_deps deps = { .loop = &W.loop, .store = W.store, .commit = W.commit,
				 .ledger = W.ledger, .auth = W.auth, .conf = &W.conf,
				 .rules = rules, .rules_path = W.conf.rules };
	FUZZ_CHECK(rpc_new(&W.rpc, &deps) == 0, "rpc_new");
	/* As a first start of the daemon: the pack's activation is recorded. */
	char version[80];
	snprintf(version, sizeof version, "%s", rules_version(rules));
	int done = 0;
	FUZZ_CHECK(rpc_activate_initial(W.rpc, version, activated, &done) == 0, "rpc_activate_initial");
	while (done == 0)
		uv_run(&W.loop, UV_RUN_ONCE);
	FUZZ_CHECK(done > 0, "the initial activation was not written");
	FUZZ_CHECK(sched_new(&W.sched, &W.loop, W.store, W.ledger, rpc_rules(W.rpc),
			     W.conf.enforce_batch, (int64_t)W.conf.stage_hours * 3600) == 0, "sched_new");
	rpc_set_sched(W.rpc, W.sched);
	W.inputs = 0;
	W.up = true;
}

static void world_down(void)
{
	if (!W.up)
		return;
	drain(true);
	sched_close(W.sched);
	uv_run(&W.loop, UV_RUN_DEFAULT); /* the scheduler's timers close */
	rpc_free(W.rpc);
	ledger_close(W.ledger);
	FUZZ_CHECK(commit_idle(W.commit), "the committer is not idle at the end");
	commit_free(W.commit);
	auth_free(W.auth);
	store_close(W.store);
	FUZZ_CHECK(uv_loop_close(&W.loop) == 0, "handles left open on the loop");
	conf_free(&W.conf);
	fuzz_rmtree(W.root);
	W.up = false;
}

static void at_exit(void)
{
	/* Leaves no temporary folder behind; leaks show as LeakSanitizer reports. */
	world_down();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	reset_every = fuzz_env_long("FUZZ_RESET", 20);
	if (reset_every < 1)
		reset_every = 1;
	reply_ms = fuzz_env_long("FUZZ_REPLY_MS", 20000);
	lax_async = fuzz_env_long("FUZZ_STRICT_ASYNC", 0) == 0;
	verbose = fuzz_env_long("FUZZ_VERBOSE", 0) != 0;
	const char *lvl = getenv("FUZZ_LOG");
	enum log_level level = LOG_DEBUG;
	if (lvl && log_parse_level(lvl, &level) < 0)
		level = LOG_DEBUG;
	log_set_level(level);
	struct clock_why why;
	FUZZ_CHECK(clock_parse("2024-06-01T09:00:00+09:00", &t0, &why) == 0, "clock_parse");
	clock_use_test(t0);
	peer.uid = getuid();
	peer.gid = getgid();
	peer.pid = getpid();
	snprintf(peer.user, sizeof peer.user, "fuzz");
	/* A crash or an interrupt leaves its world behind: clear those of
	 * runs that are gone. */
	fuzz_clear_stale(fuzz_tmpbase(), "liud-fuzz-rpc-");
	atexit(at_exit);
	world_up();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (W.up) {
		uint64_t used = 0, map = 0;
		store_usage(W.store, &used, &map);
		if (W.inputs >= (unsigned long)reset_every || used > STORE_RESET_BYTES)
			world_down();
	}
	clock_use_test(t0);
	if (!W.up)
		world_up();
	W.inputs++;

	peer.roles = ROLE_ADMIN;
	if (size > 0 && data[0] < 0x20 && data[0] != '\t' && data[0] != '\n' && data[0] != '\r' &&
	    data[0] != 0) {
		peer.roles = data[0] & 0x0f;
		data++;
		size--;
	}

	struct wire_buf b;
	wire_buf_init(&b, LINE_MAX_BYTES);
	/* Uneven chunks, as reads from a socket come: the framer's partial
	 * scans and its oversize skipping cross chunk borders. */
	static const size_t chunks[] = { 1, 3, 17, 64, 509, 4096, 65536 };
	size_t off = 0, i = size % 7;
	while (off < size) {
		size_t n = chunks[i++ % 7];
		if (n > size - off)
			n = size - off;
		FUZZ_CHECK(wire_buf_append(&b, (const char *)data + off, n) == 0, "wire_buf_append");
		off += n;
		process(&b);
		/* A real loop turns between reads: writes may complete. */
		uv_run(&W.loop, UV_RUN_NOWAIT);
	}
	FUZZ_CHECK(wire_buf_pending(&b) <= size, "wire_buf_pending larger than what came in");
	wire_buf_free(&b);
	drain(true);
	return 0;
}
