/* rules — see rules.h.  The Lua host: state, sandbox, budget, calls. */
#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "errors.h"
#include "hash.h"
#include "ident.h"
#include "log.h"
#include "rules_conv.h"
#include "rules_mem.h"
#include "rules_text.h"
#include "sheet.h"

extern const char rules_prelude[];
extern const size_t rules_prelude_len;

#define HOOK_EVERY 10000         /* instructions between budget checks (~50 µs) */
#define PACK_MAX_FILES 4096 /* named in rules_load()'s error */
#define PACK_MAX_BYTES (16u << 20) /* default of all of a pack's files (storage.pack_mib): each
				    * version is kept in the store */
#define LOAD_BUDGET_FACTOR 20    /* loading a file may take this many call budgets */
#define TEST_BUDGET_FACTOR 20

static int load_span(struct rules *r);

struct rules {
	lua_State *L;
	int api_ref;               /* registry ref of the prelude's api table */
	char *dir;                 /* owned */
	char *name;                /* pack folder's base name, owned */
	char version[HASH_HEX];
	uint64_t serial;           /* unique to this load in this process */
	json_t *describe;          /* owned */
	json_t *files;             /* owned: array of relative paths */
	json_t *contents;          /* owned: {path: {text}|{hex}}, what the version hashes */
	/* memory */
	struct rules_mem mem;      /* the state's bytes and their cap (rules_mem.h) */
	/* budget of the call in progress */
	uint64_t instr, instr_limit, call_instr_limit;
	int64_t deadline_ms;
	int time_limit_ms;
	int factor;                /* budget multiplier of the call in progress */
	bool killed;
	char kill_why[64];         /* why the call in progress was killed */
	const atomic_bool *cancel; /* rules_opts.cancel until rules_end_check() */
	int64_t total_deadline_ms; /* monotonic ms every call must end by (0: none) */
	bool loading;              /* file()/csv() allowed */
	struct rules_stats stats;
	/* eval memoisation (rules_eval_span): the pack declared eval_by_date,
	 * and the starts and ends of its measures cut the days */
	bool eval_by_date;
	int64_t *bounds;           /* owned */
	size_t nbounds;
};

/* --- budget --------------------------------------------------------------- */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct rules *self(lua_State *L)
{
	return *(struct rules **)lua_getextraspace(L);
}

/* Set once the daemon is stopping (rules_interrupt_all, from any thread or
 * a signal handler): every call in every state ends at its next check. */
static atomic_bool interrupted;

void rules_interrupt_all(void)
{
	atomic_store(&interrupted, true);
}

void rules_end_check(struct rules *r)
{
	r->total_deadline_ms = 0;
	r->cancel = NULL;
}

/* Why the call in progress must stop, or NULL while it may run on. */
static const char *over_budget(struct rules *r)
{
	if (atomic_load_explicit(&interrupted, memory_order_relaxed))
		return "the daemon is stopping";
	if (r->cancel && atomic_load_explicit(r->cancel, memory_order_relaxed))
		return "cancelled: the client hung up";
	int64_t now = mono_ms();
	if (r->total_deadline_ms && now > r->total_deadline_ms)
		return "over the total time allowed for a check";
	if (r->instr > r->call_instr_limit || now > r->deadline_ms)
		return "over its budget";
	return NULL;
}

/* Marks the call killed for `why`; from now on the hook fires at every
 * instruction, so a handler that catches the error gets no further. */
static void budget_hook(lua_State *L, lua_Debug *ar);
static void budget_kill(lua_State *L, struct rules *r, const char *why)
{
	r->killed = true;
	snprintf(r->kill_why, sizeof r->kill_why, "%s", why);
	lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
}

/* Raises the kill's error (lua_pushfstring knows no %llu: formatted here). */
static void budget_raise(lua_State *L, struct rules *r)
{
	char msg[200];
	snprintf(msg, sizeof msg, "rule call stopped: %s (%llu instructions or %d ms)", r->kill_why,
		 (unsigned long long)r->call_instr_limit, r->time_limit_ms * (r->factor ? r->factor : 1));
	luaL_error(L, "%s", msg);
}

/*
 * The count hook.  Once a call is over budget, the hook is re-armed to fire on
 * every instruction, so a rule that wraps its runaway loop in pcall gets the
 * error again at its next instruction and can never run on (Redis does the
 * same for scripts it kills).  Lua runs a message handler with hooks off when
 * the error came from a hook, as this one does: the sandbox's xpcall
 * therefore never runs a rule's handler once the call is killed (l_xpcall).
 */
static void budget_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	struct rules *r = self(L);
	r->instr += r->killed ? 1 : HOOK_EVERY;
	if (!r->killed) {
		const char *why = over_budget(r);
		if (!why)
			return;
		budget_kill(L, r, why);
	}
	budget_raise(L, r);
}

static void budget_arm(struct rules *r, int factor)
{
	r->instr = 0;
	r->killed = false;
	r->factor = factor;
	r->call_instr_limit = r->instr_limit * (uint64_t)factor;
	r->deadline_ms = mono_ms() + (int64_t)r->time_limit_ms * factor;
	lua_sethook(r->L, budget_hook, LUA_MASKCOUNT, HOOK_EVERY);
}

static void budget_disarm(struct rules *r)
{
	lua_sethook(r->L, NULL, 0, 0);
	if (r->killed)
		r->stats.budget_kills++;
	r->killed = false;
}

/*
 * The count hook sees VM instructions only, and one instruction can be a C
 * call that works through a 200 MB string: ("x"):rep(5e7):upper() in a loop
 * ran for minutes between two hooks.  The library functions that take time
 * in proportion to the bytes they read or make (string, utf8,
 * table.concat) charge those bytes to the call as instructions
 * (STRING_BYTES_PER_INSTR to one) and check the budget at once when a
 * charge is large, so a call still ends within its time limit.
 */
#define STRING_BYTES_PER_INSTR 4   /* a byte of C string work, in VM instructions */
#define CHARGE_CHECK_BYTES 65536   /* charges this large check the clock at once */

static void budget_charge(lua_State *L, size_t bytes)
{
	struct rules *r = self(L);
	if (!lua_gethook(L) || r->killed) /* no call budgeted, or already killed */
		return;
	r->instr += bytes / STRING_BYTES_PER_INSTR;
	if (bytes < CHARGE_CHECK_BYTES)
		return;
	const char *why = over_budget(r);
	if (!why)
		return;
	budget_kill(L, r, why);
	budget_raise(L, r);
}

/* The bytes of the strings at stack slots from..top. */
static size_t string_bytes(lua_State *L, int from)
{
	size_t sum = 0;
	for (int i = from; i <= lua_gettop(L); i++)
		if (lua_type(L, i) == LUA_TSTRING)
			sum += lua_rawlen(L, i);
	return sum;
}

/* Raises the budget's error again when the call was killed while a
 * protected call of the rule's ran: nothing a rule catches outlives a kill. */
static void rethrow_if_killed(lua_State *L)
{
	struct rules *r = self(L);
	if (r->killed)
		luaL_error(L, "rule call stopped: %s", r->kill_why);
}

/* pcall(f, ...) as Lua's, except that a killed call's error goes on up. */
static int l_pcall(lua_State *L)
{
	luaL_checkany(L, 1);
	int st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
	rethrow_if_killed(L);
	lua_pushboolean(L, st == LUA_OK);
	lua_insert(L, 1);
	return lua_gettop(L);
}

/* The message handler xpcall installs: the rule's own handler (upvalue 1),
 * run only while the call may still run.  Once it is killed the error is
 * left as it is, since Lua would run the handler with hooks off and nothing
 * could stop it.  While the call runs, the rule's handler runs with hooks on:
 * an error raised by error() is not raised from a hook. */
static int xpcall_msgh(lua_State *L)
{
	if (self(L)->killed)
		return 1;
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

/* xpcall(f, msgh, ...) as Lua's, through xpcall_msgh. */
static int l_xpcall(lua_State *L)
{
	int n = lua_gettop(L);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushvalue(L, 2);
	lua_pushcclosure(L, xpcall_msgh, 1);
	lua_replace(L, 2);          /* f, msgh, args... */
	lua_pushvalue(L, 1);
	lua_rotate(L, 3, 1);        /* f, msgh, f, args... */
	int st = lua_pcall(L, n - 2, LUA_MULTRET, 2);
	rethrow_if_killed(L);
	lua_pushboolean(L, st == LUA_OK);
	lua_replace(L, 2);          /* f, ok, results... */
	return lua_gettop(L) - 1;
}

/* Message handler: adds a traceback to string errors, passes others through. */
static int msgh(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (msg == NULL)
		return 1;
	luaL_traceback(L, L, msg, 1);
	return 1;
}

/* The message alone: for errors whose message says where (a pack's file
 * and line). */
static int msgh_plain(lua_State *L)
{
	(void)L;
	return 1;
}

/* --- host functions for the prelude (never visible to packs) -------------- */

static int l_parse_time(lua_State *L)
{
	const char *s = luaL_checkstring(L, 1);
	int64_t t;
	struct clock_why why;
	if (clock_parse(s, &t, &why) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, why.ja);
		lua_pushstring(L, why.en);
		return 3;
	}
	lua_pushinteger(L, (lua_Integer)t);
	return 1;
}

static int l_parse_date(lua_State *L)
{
	const char *s = luaL_checkstring(L, 1);
	int y, m, d;
	struct clock_why why;
	int64_t t;
	/* A date-time names a day too: its JST date. */
	if (strchr(s, 'T')) {
		if (clock_parse(s, &t, &why) < 0)
			goto bad;
		char buf[16];
		lua_pushstring(L, clock_format_date(t, buf));
		return 1;
	}
	if (clock_parse_date(s, &y, &m, &d, &why) < 0)
		goto bad;
	char buf[16];
	snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
	lua_pushstring(L, buf);
	return 1;
bad:
	lua_pushnil(L);
	lua_pushstring(L, why.ja);
	lua_pushstring(L, why.en);
	return 3;
}

static int l_format_time(lua_State *L)
{
	char buf[CLOCK_ISO_MAX];
	lua_pushstring(L, clock_format((int64_t)luaL_checkinteger(L, 1), buf));
	return 1;
}

static int l_format_date(lua_State *L)
{
	char buf[16];
	lua_pushstring(L, clock_format_date((int64_t)luaL_checkinteger(L, 1), buf));
	return 1;
}

/* host.wareki("2024-06-01" | "2024-06") -> "令和6年6月1日" | "令和6年6月", or
 * nil for a text that is neither or a day before 明治. */
static int l_wareki(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	int y, m, d = 0, n = -1;
	char buf[32];
	if (len == 10)
		sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n);
	else if (len == 7)
		sscanf(s, "%4d-%2d%n", &y, &m, &n);
	if (n != (int)len || m < 1 || m > 12 || d < 0 || d > 31 ||
	    clock_format_wareki(y, m, d, buf, sizeof buf) < 0)
		return 0;
	lua_pushstring(L, buf);
	return 1;
}

/* The bytes of `rel` as the pack's version hashed them (r->contents).
 * Returns 0 with *buf (malloc'd, caller frees) and *len, or -ENOENT /
 * -ENOMEM.  Loading and file() read this snapshot, never the folder again:
 * the version is exactly the code that runs, and a file swapped after the
 * pack was read (for a link, a FIFO, other bytes) is never seen. */
static int snapshot_file(const struct rules *r, const char *rel, char **buf, size_t *len)
{
	json_t *f = json_object_get(r->contents, rel);
	if (!f)
		return -ENOENT;
	json_t *text = json_object_get(f, "text");
	const char *hex = json_string_value(json_object_get(f, "hex"));
	size_t n = text ? json_string_length(text) : hex ? strlen(hex) / 2 : 0;
	char *b = malloc(n + 1);
	if (!b)
		return -ENOMEM;
	if (text)
		memcpy(b, json_string_value(text), n);
	else
		for (size_t i = 0; i < n; i++)
			sscanf(hex + 2 * i, "%2hhx", (unsigned char *)&b[i]);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* Reads a file of the pack, only while it loads, from the snapshot the
 * version was made of: regular files inside the folder, reached without
 * links (walk), never a FIFO or a device, never outside. */
static int l_read(lua_State *L)
{
	struct rules *r = self(L);
	const char *path = luaL_checkstring(L, 1);
	if (!r->loading)
		return luaL_error(L, "files can only be read while the pack loads");
	/* Pushed from the snapshot straight into Lua: nothing of C's to free
	 * if that raises (memory). */
	json_t *f = json_object_get(r->contents, path);
	json_t *text = json_object_get(f, "text");
	const char *hex = json_string_value(json_object_get(f, "hex"));
	if (!text && !hex) {
		lua_pushnil(L);
		lua_pushfstring(L, "file \"%s\": not a regular file of the pack (links, FIFOs, devices "
				   "and paths outside the pack are never read)", path);
		return 2;
	}
	if (text) {
		lua_pushlstring(L, json_string_value(text), json_string_length(text));
		return 1;
	}
	size_t n = strlen(hex) / 2;
	luaL_Buffer b;
	char *p = luaL_buffinitsize(L, &b, n);
	for (size_t i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", (unsigned char *)&p[i]);
	luaL_pushresultsize(&b, n);
	return 1;
}

/* The reader of host.csv, in a userdata that Lua frees (__gc): pushing the
 * rows can raise (memory), and the reader must not leak when it does. */
static int l_csv_gc(lua_State *L)
{
	struct sheet **box = lua_touserdata(L, 1);
	sheet_close(*box);
	*box = NULL;
	return 0;
}

/* host.csv(text) -> list of rows, each a list of fields; or nil, why.  The
 * packs' csv() reads its files with the product's one CSV reader (sheet.h).
 * The text is already in memory, so no row is longer than it: the row
 * limit is the text's own length.  [-1, +1 or +2, m] */
static int l_csv(lua_State *L)
{
	size_t len;
	const char *text = luaL_checklstring(L, 1, &len);
	struct sheet **box = lua_newuserdatauv(L, sizeof *box, 0);
	*box = NULL;
	if (luaL_newmetatable(L, "liud.sheet")) {
		lua_pushcfunction(L, l_csv_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	if (!(*box = sheet_open(text, len, len + 1)))
		return luaL_error(L, "not enough memory");
	lua_newtable(L);
	lua_Integer nrows = 0;
	int rc;
	while ((rc = sheet_next(*box)) == 1) {
		size_t nf = sheet_nfield(*box);
		lua_createtable(L, nf < INT_MAX ? (int)nf : 0, 0);
		for (size_t i = 0; i < nf; i++) {
			size_t flen;
			const char *f = sheet_field(*box, i, &flen);
			lua_pushlstring(L, f, flen);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		lua_rawseti(L, -2, ++nrows);
	}
	if (rc < 0) {
		lua_pushnil(L);
		lua_pushstring(L, sheet_why(*box));
		rc = 2;
	} else {
		rc = 1;
	}
	sheet_close(*box);
	*box = NULL;
	return rc;
}

static int l_traceback(lua_State *L)
{
	const char *msg = luaL_optstring(L, 1, "");
	luaL_traceback(L, L, msg, (int)luaL_optinteger(L, 2, 1));
	return 1;
}

/* "file:line" of the function `level` frames up, for declaration sites. */
static int l_where(lua_State *L)
{
	lua_Debug ar;
	int level = (int)luaL_optinteger(L, 1, 2);
	if (!lua_getstack(L, level, &ar) || !lua_getinfo(L, "Sl", &ar) || ar.currentline < 0) {
		lua_pushnil(L);
		return 1;
	}
	lua_pushfstring(L, "%s:%d", ar.short_src, ar.currentline);
	return 1;
}

static int l_clock_us(lua_State *L)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	lua_pushinteger(L, (lua_Integer)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	return 1;
}

static int l_rawmt(lua_State *L)
{
	if (!lua_getmetatable(L, 1))
		lua_pushnil(L);
	return 1;
}

/* copy(v) / equal(a, b): the prelude's helpers, in C (see rules_conv.h). */
static int l_copy(lua_State *L)
{
	lua_settop(L, 1);
	conv_copy(L, 1);
	return 1;
}

static int l_equal(lua_State *L)
{
	lua_settop(L, 2);
	lua_pushboolean(L, conv_equal(L, 1, 2));
	return 1;
}

/* unstated(ids, stated, as) for the prelude's helper of that name, ids a
 * table (rules_conv.h). */
static int l_unstated(lua_State *L)
{
	lua_settop(L, 3);
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checktype(L, 2, LUA_TTABLE);
	conv_unstated(L, 1, 2, 3);
	return 1;
}

/* identity_key(kind, {values...}, how) -> key | nil, reason (ident.h).
 * A value is a string or a number; anything else counts as empty. */
static int l_identity_key(lua_State *L)
{
	const char *kind = luaL_checkstring(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	const char *how = luaL_optstring(L, 3, "exact");
	lua_Integer n = luaL_len(L, 2);
	if (n < 1 || n > 16)
		return luaL_error(L, "identity_key: 1 to 16 values");
	luaL_checkstack(L, (int)n + 2, "identity_key");
	const char *vals[16];
	size_t lens[16];
	for (lua_Integer i = 0; i < n; i++) {
		lua_rawgeti(L, 2, i + 1);
		int t = lua_type(L, -1);
		vals[i] = t == LUA_TSTRING || t == LUA_TNUMBER ? lua_tolstring(L, -1, &lens[i]) : "";
		if (t != LUA_TSTRING && t != LUA_TNUMBER)
			lens[i] = 0;
		/* left on the stack, so that the strings stay alive */
	}
	const char *err = NULL;
	char *key = ident_key(kind, vals, lens, (size_t)n, how, &err);
	if (!key) {
		lua_pushnil(L);
		lua_pushstring(L, err);
		return 2;
	}
	lua_pushstring(L, key);
	free(key);
	return 1;
}

/* digest(value) -> SHA-256 hex of the value as JSON with sorted keys: equal
 * data, equal digest, whatever the order its fields were set in. */
static int l_digest(lua_State *L)
{
	lua_settop(L, 1);
	char err[160];
	json_t *j = conv_to_json(L, 1, err, sizeof err);
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	if (!text)
		return luaL_error(L, "digest: %s", j ? "out of memory" : err);
	char hex[HASH_HEX];
	int rc = hash_hex(text, strlen(text), hex);
	free(text);
	if (rc < 0)
		return luaL_error(L, "digest: no SHA-256");
	lua_pushstring(L, hex);
	return 1;
}

/* ctx.lookup(key) -> the identity entry under `key` (a table), or nil: the
 * rules read no metadata but identities' (ident.h). */
static int l_ctx_lookup(lua_State *L)
{
	const struct rules_ctx *ctx = lua_touserdata(L, lua_upvalueindex(1));
	size_t klen;
	const char *key = luaL_checklstring(L, 1, &klen);
	if (!ctx || !ctx->lookup || strncmp(key, IDENT_PREFIX, strlen(IDENT_PREFIX)) != 0)
		return 0;
	char *text = NULL;
	size_t len = 0;
	int rc = ctx->lookup(ctx->lookup_ud, key, &text, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return luaL_error(L, "identity %s: cannot be read (%s)", key, strerror(-rc));
	json_t *j = json_loadb(text, len, 0, NULL);
	free(text);
	if (!j)
		return luaL_error(L, "identity %s: stored entry does not parse", key);
	conv_push(L, j);
	json_decref(j);
	return 1;
}

/* ctx.state_of(id) -> the latest state of record `id`, or nil. */
static int l_ctx_state_of(lua_State *L)
{
	const struct rules_ctx *ctx = lua_touserdata(L, lua_upvalueindex(1));
	const char *id = luaL_checkstring(L, 1);
	char *state = NULL;
	if (!ctx || !ctx->state_of || ctx->state_of(ctx->lookup_ud, id, &state) < 0)
		return 0;
	lua_pushstring(L, state);
	free(state);
	return 1;
}

/* ctx.data_of(id) -> the data of record `id` as its latest version has
 * it, or nil. */
static int l_ctx_data_of(lua_State *L)
{
	const struct rules_ctx *ctx = lua_touserdata(L, lua_upvalueindex(1));
	const char *id = luaL_checkstring(L, 1);
	char *text = NULL;
	size_t len = 0;
	if (!ctx || !ctx->record_of || ctx->record_of(ctx->lookup_ud, id, &text, &len) < 0)
		return 0;
	json_t *j = json_loadb(text, len, 0, NULL);
	free(text);
	json_t *data = json_object_get(j, "data");
	if (!json_is_object(data)) {
		json_decref(j);
		return 0;
	}
	conv_push(L, data);
	json_decref(j);
	return 1;
}

static int as_stored_push(lua_State *L)
{
	text_push_record(L, lua_touserdata(L, 1), TEXT_TWIN | TEXT_LAZY);
	return 2;
}

/* as_stored(rec) -> rec, twin: a record as the daemon gives a stored one
 * to an action — encoded as JSON and read back, data's objects and arrays
 * left as text until touched (rules_text.h) — so that a pack's scenario
 * tests run its actions the daemon's way.  rec itself and nil when it is
 * not JSON (the daemon could not have stored it). */
static int l_as_stored(lua_State *L)
{
	lua_settop(L, 1);
	char err[160];
	json_t *j = conv_to_json(L, 1, err, sizeof err);
	char *text = json_is_object(j) ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text) {
		lua_pushnil(L);
		return 2;
	}
	struct rules_rec rec = { .text = text, .len = strlen(text) };
	lua_pushcfunction(L, as_stored_push);
	lua_pushlightuserdata(L, &rec);
	int st = lua_pcall(L, 1, 2, 0);
	rules_rec_clear(&rec);
	free(text);
	if (st != LUA_OK)
		return lua_error(L);
	return 2;
}

static const luaL_Reg host_funcs[] = {
	{ "parse_time", l_parse_time },
	{ "parse_date", l_parse_date },
	{ "format_time", l_format_time },
	{ "format_date", l_format_date },
	{ "wareki", l_wareki },
	{ "read", l_read },
	{ "csv", l_csv },
	{ "traceback", l_traceback },
	{ "where", l_where },
	{ "rawmt", l_rawmt },
	{ "clock_us", l_clock_us },
	{ "copy", l_copy },
	{ "equal", l_equal },
	{ "unstated", l_unstated },
	{ "identity_key", l_identity_key },
	{ "digest", l_digest },
	/* data read as rules touch it (rules_text.h, TEXT_LAZY) */
	{ "next", text_l_next },
	{ "rawget", text_l_rawget },
	{ "lazy_force", text_l_force },
	{ "lazy_detach", text_l_detach },
	{ "as_stored", l_as_stored },
	{ NULL, NULL },
};

/* A library function (upvalue 1) called with the bytes of its string
 * arguments and results charged to the call (budget_charge).  A gsub's
 * replacement function runs as Lua, under the hook as ever. */
static int charged(lua_State *L)
{
	size_t in = string_bytes(L, 1);
	lua_Integer per_elem = lua_tointeger(L, lua_upvalueindex(2));
	if (per_elem && lua_type(L, 1) == LUA_TTABLE) { /* concat, sort: the whole list */
		in += lua_rawlen(L, 1) * (size_t)per_elem;
		if (lua_isinteger(L, 2) && lua_isinteger(L, 3) && lua_tointeger(L, 3) > lua_tointeger(L, 2))
			in += (size_t)(lua_tointeger(L, 3) - lua_tointeger(L, 2)) * (size_t)per_elem; /* move */
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	budget_charge(L, in + string_bytes(L, 1));
	return lua_gettop(L);
}

/* Wraps every function of the library table on the stack top in charged(),
 * in the real table so that method calls ("x"):upper() are charged too;
 * `skip` (NULL-ended) are left as they are.  `per_elem`: bytes charged for
 * each element of a table first argument (table.sort's n log n work, a
 * move's range), 0 for none. */
static void charge_library(lua_State *L, const char *const *skip, int per_elem)
{
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		bool keep = lua_type(L, -2) != LUA_TSTRING || !lua_iscfunction(L, -1);
		for (int i = 0; !keep && skip && skip[i]; i++)
			keep = strcmp(lua_tostring(L, -2), skip[i]) == 0;
		if (keep) {
			lua_pop(L, 1);
			continue;
		}
		lua_pushinteger(L, per_elem);
		lua_pushcclosure(L, charged, 2);
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, -4); /* replacing an existing key's value: next goes on */
	}
}

/*
 * Pattern matching runs in C, where the instruction hook never fires: a
 * pattern like ".-.-.-.-.-b" on a long subject backtracks for hours.  The
 * matcher's work grows like n^k for a subject of n bytes and k repetition
 * items, times n again when the pattern is not anchored (every start is
 * tried), so a call is refused when that exponent times log10(n) passes
 * PATTERN_BUDGET (some 3 * 10^8 steps, under a second).  Patterns without
 * repetition and plain finds are linear and always allowed.
 */
#define PATTERN_BUDGET 8.5

static int pattern_items(const char *p, size_t len)
{
	int k = 0;
	bool in_set = false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (c == '%' && i + 1 < len) {
			i++; /* an escape or a class: one item, not a quantifier */
			continue;
		}
		if (in_set) {
			if (c == ']')
				in_set = false;
			continue;
		}
		if (c == '[') {
			in_set = true;
			if (i + 1 < len && p[i + 1] == ']')
				i++;
			continue;
		}
		if (c == '*' || c == '+' || c == '-' || c == '?')
			k++;
	}
	return k;
}

static int guarded(lua_State *L)
{
	size_t n = 0, pl = 0;
	const char *subject = lua_tolstring(L, 1, &n);
	const char *pat = lua_tolstring(L, 2, &pl);
	bool plain = lua_toboolean(L, lua_upvalueindex(2)) && lua_toboolean(L, 4);
	int k = subject && pat && !plain ? pattern_items(pat, pl) : 0;
	if (k > 0) { /* no logarithm for the plain patterns of most calls */
		int exponent = k + (pl > 0 && pat[0] == '^' ? 0 : 1);
		double cost = exponent * (n > 10 ? log10((double)n) : 1.0);
		if (cost > PATTERN_BUDGET)
			return luaL_error(L, "pattern too costly for a subject of %d bytes (%d repetition "
					  "items): simplify it, or search plainly", (int)n, k);
	}
	return charged(L);
}

/* The libraries a state gets: a copy of linit.c's table, less io, os, debug,
 * package and coroutine.  The prelude copies a safer subset into the sandbox. */
static const luaL_Reg state_libs[] = {
	{ LUA_GNAME, luaopen_base },
	{ LUA_STRLIBNAME, luaopen_string },
	{ LUA_TABLIBNAME, luaopen_table },
	{ LUA_MATHLIBNAME, luaopen_math },
	{ LUA_UTF8LIBNAME, luaopen_utf8 },
	{ NULL, NULL },
};

/* Sets up the state: libraries, hardening of shared metatables, the array
 * metatable, and the prelude.  Runs inside a protected call. [-0, +0] */
static int setup_state(lua_State *L)
{
	for (const luaL_Reg *lib = state_libs; lib->func; lib++) {
		luaL_requiref(L, lib->name, lib->func, 1);
		lua_pop(L, 1);
	}
	/* The prelude and packs see these in place of Lua's (see l_xpcall). */
	lua_pushcfunction(L, l_pcall);
	lua_setglobal(L, "pcall");
	lua_pushcfunction(L, l_xpcall);
	lua_setglobal(L, "xpcall");
	/* Gone from the state itself, not only hidden from packs. */
	static const char *const drop[] = { "dofile", "loadfile", "load", "print",
					    "collectgarbage", "require", NULL };
	for (int i = 0; drop[i]; i++) {
		lua_pushnil(L);
		lua_setglobal(L, drop[i]);
	}
	lua_getglobal(L, "string");
	lua_pushnil(L);
	lua_setfield(L, -2, "dump"); /* no way to bytecode from any string */
	static const char *const matchers[] = { "find", "match", "gmatch", "gsub", NULL };
	charge_library(L, matchers, 0); /* the matchers are charged through guarded() */
	for (int i = 0; matchers[i]; i++) {
		/* Replaced in the real table, so that ("x"):find(...) is guarded too. */
		lua_getfield(L, -1, matchers[i]);
		lua_pushboolean(L, i == 0); /* only find has a `plain` argument */
		lua_pushcclosure(L, guarded, 2);
		lua_setfield(L, -2, matchers[i]);
	}
	lua_pop(L, 1);
	/* insert and remove are left out: a list built by appends would pay its
	 * length on every append. */
	static const char *const whole_list[] = { "insert", "remove", "pack", "unpack", NULL };
	lua_getglobal(L, LUA_TABLIBNAME);
	charge_library(L, whole_list, 64);
	lua_pop(L, 1);
	lua_getglobal(L, LUA_UTF8LIBNAME);
	charge_library(L, NULL, 0);
	lua_pop(L, 1);
	/* Strings share one metatable: protect it so a rule can neither read it
	 * (getmetatable("") is false) nor reach the real string table through it. */
	lua_pushliteral(L, "");
	lua_getmetatable(L, -1);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 2);

	luaL_newmetatable(L, RULES_ARRAY_MT);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);
	text_open(L);

	if (luaL_loadbufferx(L, rules_prelude, rules_prelude_len, "=prelude", "t") != LUA_OK)
		return lua_error(L);
	luaL_newlib(L, host_funcs);
	luaL_getmetatable(L, RULES_ARRAY_MT);
	lua_setfield(L, -2, "array_mt");
	lua_call(L, 1, 1);
	return 1; /* the api table */
}

/* --- pack files ----------------------------------------------------------- */

/* One file of the pack as it was read: its path in the pack and its bytes. */
struct packfile {
	char *rel;
	char *buf;
	size_t len;
};

static int cmp_packfile(const void *a, const void *b)
{
	return strcmp(((const struct packfile *)a)->rel, ((const struct packfile *)b)->rel);
}

struct filelist {
	struct packfile *f;
	size_t n, cap;
	size_t bytes; /* all of them so far, against max_bytes */
	size_t max_bytes;
	char *bad;    /* the path of a file or folder that could not be read */
};

static void filelist_free(struct filelist *fl)
{
	for (size_t i = 0; i < fl->n; i++) {
		free(fl->f[i].rel);
		free(fl->f[i].buf);
	}
	free(fl->f);
	free(fl->bad);
}

/* Reads the regular file open on `fd` (closed here) whole, within what is
 * left of the pack's cap. */
static int read_fd(int fd, size_t left, char **buf, size_t *len)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return -EPERM;
	}
	if ((uint64_t)sb.st_size > left) {
		close(fd);
		return -E2BIG;
	}
	char *p = malloc((size_t)sb.st_size + 1);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, p + got, (size_t)sb.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	p[got] = '\0';
	*buf = p;
	*len = got;
	return 0;
}

static int filelist_add(struct filelist *fl, const char *rel, char *buf, size_t len)
{
	if (fl->n == PACK_MAX_FILES)
		return -E2BIG;
	if (fl->n == fl->cap) {
		size_t cap = fl->cap ? fl->cap * 2 : 32;
		struct packfile *f = realloc(fl->f, cap * sizeof *f);
		if (!f)
			return -ENOMEM;
		fl->f = f;
		fl->cap = cap;
	}
	if (!(fl->f[fl->n].rel = strdup(rel)))
		return -ENOMEM;
	fl->f[fl->n].buf = buf;
	fl->f[fl->n].len = len;
	fl->n++;
	fl->bytes += len;
	return 0;
}

/*
 * Reads the pack under the folder open on `dirfd` (rel: its path in the
 * pack): every regular file, whole, into fl; hidden names skipped.  Every
 * name is opened relative to its folder's descriptor without following a
 * link, and checked after it is open: a folder swapped for a link, or a
 * file for a FIFO, while the pack is read is never followed or waited on,
 * so nothing outside the folder becomes part of the pack.  This is the only
 * place a pack's files are read: the version hashes these bytes and the code
 * loads from them.
 */
static int walk(int dirfd, const char *rel, struct filelist *fl, int depth)
{
	int dfd = dup(dirfd);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		int e = errno;
		if (dfd >= 0)
			close(dfd);
		return -e;
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char sub[4096];
		if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >= sizeof sub) {
			rc = -ENAMETOOLONG;
			break;
		}
		/* Links, FIFOs and devices are left out without being opened. */
		struct stat sb;
		if (fstatat(dirfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue; /* gone since */
			rc = -errno; /* a folder that lists names it does not let us look at */
			fl->bad = strdup(sub);
			break;
		}
		if (!(S_ISDIR(sb.st_mode) || S_ISREG(sb.st_mode)) || (S_ISDIR(sb.st_mode) && depth >= 8))
			continue;
		int fd = openat(dirfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 && (errno == ENOENT || errno == ELOOP))
			continue; /* gone, or swapped for a link, since */
		if (fd < 0) {
			/* A file the author can read and the daemon cannot would
			 * make the live pack differ from the one tested: refuse. */
			rc = -errno;
			fl->bad = strdup(sub);
			break;
		}
		struct stat now;
		if (fstat(fd, &now) < 0 || now.st_ino != sb.st_ino || now.st_dev != sb.st_dev) {
			close(fd); /* swapped since: not what the listing showed */
			continue;
		}
		if (S_ISDIR(now.st_mode)) {
			rc = walk(fd, sub, fl, depth + 1);
			close(fd);
			continue;
		}
		char *buf;
		size_t len;
		rc = read_fd(fd, fl->max_bytes - fl->bytes, &buf, &len);
		if (rc == -EPERM) { /* not regular any more */
			rc = 0;
			continue;
		}
		if (rc == 0 && (rc = filelist_add(fl, sub, buf, len)) < 0)
			free(buf);
	}
	closedir(d);
	return rc;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

/* --- calling the prelude's api -------------------------------------------- */

enum arg_type { ARG_NIL, ARG_STR, ARG_INT, ARG_JSON, ARG_TEXT, ARG_TEXT_TWIN, ARG_TWIN, ARG_CTX };

struct arg {
	enum arg_type t;
	const char *s;
	int64_t i;
	const json_t *j;
	struct rules_rec *rec;  /* ARG_TEXT: read into Lua, filled (rules_text.h) */
	const struct rules_ctx *ctx;
};

struct call {
	const char *fn;
	const struct arg *args;
	int nargs;
	json_t *result;     /* out: the converted result */
	char err[256];      /* out: why the result could not be converted */
};

/* Where ARG_TEXT_TWIN leaves data's twin for ARG_TWIN (registry key). */
static const char twin_key = 0;

/* count(kind, state) -> n, through the caller's rules_ctx (its upvalue). */
static int l_count(lua_State *L)
{
	const struct rules_ctx *ctx = lua_touserdata(L, lua_upvalueindex(1));
	const char *kind = luaL_checkstring(L, 1), *state = luaL_checkstring(L, 2);
	uint64_t n = 0;
	int rc = ctx->count(ctx->count_ud, kind, state, &n);
	if (rc < 0)
		return luaL_error(L, "count(%s, %s): %s", kind, state, strerror(-rc));
	lua_pushinteger(L, (lua_Integer)n);
	return 1;
}

/*
 * LIU_PLAIN_RECORDS (a build switch for `make bench-mechanisms`, never a
 * product build): a stored record reaches the rules by the plain path the
 * yajl reader replaced — eval decodes the text with jansson and converts
 * the tree (conv_push, the same Lua value: rules_text.h), and an action
 * reads all of data at once (no TEXT_LAZY).  What the reader saves is
 * measured against this (docs/PERFORMANCE.md).
 */
#ifdef LIU_PLAIN_RECORDS
#define TEXT_LAZY_UNLESS_PLAIN 0
/* Raises on a text that is not a JSON object (rec->damaged, as the
 * reader) or when memory runs out (the tree then leaks: a measurement
 * build). */
static void plain_push_record(lua_State *L, struct rules_rec *rec)
{
	json_error_t e;
	json_t *j = json_loadb(rec->text, rec->len, 0, &e);
	if (!json_is_object(j)) {
		json_decref(j);
		rec->damaged = true;
		luaL_error(L, "the stored record is not a JSON object: %s", e.text);
	}
	conv_push(L, j);
	json_decref(j);
}
#else
#define TEXT_LAZY_UNLESS_PLAIN TEXT_LAZY
#endif

/* Runs in protected mode: pushes the arguments (conversions may raise),
 * calls api[fn], converts the result (never raises). */
static int call_tramp(lua_State *L)
{
	struct call *c = lua_touserdata(L, 1);
	struct rules *r = self(L);
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->api_ref);
	lua_getfield(L, -1, c->fn);
	for (int i = 0; i < c->nargs; i++) {
		const struct arg *a = &c->args[i];
		switch (a->t) {
		case ARG_NIL: lua_pushnil(L); break;
		case ARG_STR: lua_pushstring(L, a->s); break;
		case ARG_INT: lua_pushinteger(L, (lua_Integer)a->i); break;
		case ARG_JSON:
			if (a->j)
				conv_push(L, a->j);
			else
				lua_pushnil(L);
			break;
		case ARG_TEXT:
#ifdef LIU_PLAIN_RECORDS
			plain_push_record(L, a->rec);
#else
			text_push_record(L, a->rec, 0);
#endif
			break;
		case ARG_TEXT_TWIN: /* the record, its data's twin kept for ARG_TWIN */
			text_push_record(L, a->rec, TEXT_TWIN | (a->rec->whole ? 0 : TEXT_LAZY_UNLESS_PLAIN));
			lua_rawsetp(L, LUA_REGISTRYINDEX, &twin_key);
			break;
		case ARG_TWIN:
			lua_rawgetp(L, LUA_REGISTRYINDEX, &twin_key);
			lua_pushnil(L);
			lua_rawsetp(L, LUA_REGISTRYINDEX, &twin_key);
			break;
		case ARG_CTX:
			lua_createtable(L, 0, 2);
			lua_pushinteger(L, (lua_Integer)a->ctx->at);
			lua_setfield(L, -2, "at");
			lua_pushstring(L, a->ctx->role ? a->ctx->role : "");
			lua_setfield(L, -2, "role");
			if (a->ctx->count) {
				/* Valid for this call only: the prelude drops it when
				 * the action returns, and no rule ever holds it. */
				lua_pushlightuserdata(L, (void *)a->ctx);
				lua_pushcclosure(L, l_count, 1);
				lua_setfield(L, -2, "count");
			}
			if (a->ctx->lookup) {
				lua_pushlightuserdata(L, (void *)a->ctx);
				lua_pushcclosure(L, l_ctx_lookup, 1);
				lua_setfield(L, -2, "lookup");
			}
			if (a->ctx->state_of) {
				lua_pushlightuserdata(L, (void *)a->ctx);
				lua_pushcclosure(L, l_ctx_state_of, 1);
				lua_setfield(L, -2, "state_of");
			}
			if (a->ctx->record_of) {
				lua_pushlightuserdata(L, (void *)a->ctx);
				lua_pushcclosure(L, l_ctx_data_of, 1);
				lua_setfield(L, -2, "data_of");
			}
			break;
		}
	}
	lua_call(L, c->nargs, 1);
	c->result = conv_to_json(L, -1, c->err, sizeof c->err);
	return 0;
}

/*
 * Calls api[fn](args...) under the budget.  Returns 0 with *out (caller
 * decrefs), or LIU_ESCRIPT / -ENOMEM with *out = {error, traceback}.
 */
static int api_call(struct rules *r, const char *fn, const struct arg *args, int nargs,
		    int budget_factor, json_t **out)
{
	lua_State *L = r->L;
	struct call c = { .fn = fn, .args = args, .nargs = nargs };
	int top = lua_gettop(L);
	r->stats.calls++;
	lua_pushcfunction(L, msgh);
	lua_pushcfunction(L, call_tramp);
	lua_pushlightuserdata(L, &c);
	budget_arm(r, budget_factor);
	int st = lua_pcall(L, 1, 0, top + 1);
	bool killed = r->killed;
	budget_disarm(r);
	int rc = 0;
	if (st != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		char first[512];
		/* The first line is "file:line: message"; the rest is the traceback. */
		snprintf(first, sizeof first, "%s", msg ? msg : "error object is not a string");
		char *nl = strchr(first, '\n');
		if (nl)
			*nl = '\0';
		if (st == LUA_ERRMEM)
			snprintf(first, sizeof first, "rule call stopped: out of memory (limit %zu bytes)",
				 r->mem.limit);
		*out = json_pack("{s:s, s:s}", "error", first, "traceback", msg ? msg : "");
		rc = st == LUA_ERRMEM ? -ENOMEM : LIU_ESCRIPT;
		(void)killed;
		json_decref(c.result);
	} else if (!c.result) {
		*out = json_pack("{s:s}", "error", c.err);
		rc = LIU_ESCRIPT;
	} else {
		*out = c.result;
		/* A script error reported by the prelude itself, as a value. */
		json_t *e = json_object_get(c.result, "error");
		if (json_is_string(e))
			rc = LIU_ESCRIPT;
	}
	lua_settop(L, top);
	if (rc < 0) {
		r->stats.errors++;
		/* A failed call may have left garbage up to the limit: reclaim it
		 * now so the next call starts with its full allowance. */
		lua_gc(L, LUA_GCCOLLECT);
	}
	if (!*out)
		rc = -ENOMEM;
	return rc;
}

/* --- loading -------------------------------------------------------------- */

static char *errf(const char *fmt, const char *a, const char *b)
{
	size_t n = strlen(fmt) + (a ? strlen(a) : 0) + (b ? strlen(b) : 0) + 1;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, fmt, a ? a : "", b ? b : "");
	return s;
}

/* Loads and runs one file of the pack with the given env. */
static int load_file(struct rules *r, const char *rel, int env_ref, char **err)
{
	lua_State *L = r->L;
	char chunkname[4096];
	snprintf(chunkname, sizeof chunkname, "@%s/%s", r->name, rel);
	char *buf;
	size_t len;
	int rc = snapshot_file(r, rel, &buf, &len);
	if (rc < 0) {
		*err = errf("%s: %s", rel, strerror(-rc));
		return rc;
	}
	/* The times of day the file writes: the self-check of eval_by_date
	 * looks at each side of them (api.note_source). */
	struct arg src = { .t = ARG_STR, .s = buf };
	json_t *noted = NULL;
	rc = api_call(r, "note_source", &src, 1, LOAD_BUDGET_FACTOR, &noted);
	json_decref(noted);
	if (rc < 0) {
		free(buf);
		*err = errf("%s: %s", rel, "cannot read the times of day it writes");
		return rc;
	}
	int top = lua_gettop(L);
	/* No traceback: a loading error names the pack's file and line, and the
	 * prelude's frames are nothing to an author. */
	lua_pushcfunction(L, msgh_plain);
	/* "t": text only — a binary chunk is refused before it runs. */
	int st = luaL_loadbufferx(L, buf, len, chunkname, "t");
	free(buf);
	if (st != LUA_OK) {
		*err = errf("%s%s", lua_tostring(L, -1), "");
		lua_settop(L, top);
		return LIU_ESCRIPT;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, env_ref);
	if (!lua_setupvalue(L, -2, 1)) /* the chunk's _ENV */
		lua_pop(L, 1);
	r->loading = true;
	budget_arm(r, LOAD_BUDGET_FACTOR);
	st = lua_pcall(L, 0, 0, top + 1);
	budget_disarm(r);
	r->loading = false;
	if (st != LUA_OK) {
		const char *m = lua_tostring(L, -1);
		*err = errf("%s%s", m ? m : "error while loading", "");
		lua_settop(L, top);
		return st == LUA_ERRMEM ? -ENOMEM : LIU_ESCRIPT;
	}
	lua_settop(L, top);
	return 0;
}

/* Calls api.<fn>() that returns an env table, and refs it. */
static int env_ref_of(struct rules *r, const char *fn)
{
	lua_State *L = r->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->api_ref);
	lua_getfield(L, -1, fn);
	lua_remove(L, -2);
	if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
		lua_pop(L, 1);
		return LUA_NOREF;
	}
	return luaL_ref(L, LUA_REGISTRYINDEX);
}

static int hash_pack(struct rules *r, struct filelist *fl, char **err)
{
	struct hash_ctx h;
	if (hash_init(&h) < 0)
		return -EIO;
	unsigned char d[HASH_BYTES];
	int rc = 0;
	r->files = json_array();
	r->contents = json_object();
	for (size_t i = 0; i < fl->n; i++) {
		const char *buf = fl->f[i].buf, *rel = fl->f[i].rel;
		size_t len = fl->f[i].len;
		/* Name and length frame each file, so moving bytes between files
		 * changes the version. */
		char frame[64];
		int fn = snprintf(frame, sizeof frame, "\n%zu\n", len);
		hash_update(&h, rel, strlen(rel));
		hash_update(&h, frame, (size_t)fn);
		hash_update(&h, buf, len);
		/* Kept, so that the exact bytes this version was made of can be
		 * stored and re-activated later (rules.rollback). */
		json_t *txt = json_stringn(buf, len);
		if (txt) {
			json_object_set_new(r->contents, rel, json_pack("{s:o}", "text", txt));
		} else {
			char *hex = malloc(len * 2 + 1);
			for (size_t k = 0; hex && k < len; k++)
				snprintf(hex + k * 2, 3, "%02x", (unsigned char)buf[k]);
			if (hex) {
				hex[len * 2] = '\0';
				json_object_set_new(r->contents, rel, json_pack("{s:s}", "hex", hex));
			}
			free(hex);
		}
		json_array_append_new(r->files, json_string(rel));
	}
	/* hash_final() frees the state on every path. */
	if (hash_final(&h, d) < 0 && rc == 0) {
		*err = errf("%s%s", "cannot compute the pack's SHA-256", "");
		rc = -EIO;
	}
	if (rc == 0)
		hash_to_hex(d, r->version);
	return rc;
}

/* Reads the pack in folder `dir` into fl (sorted by path), and makes its
 * version (hash_pack).  Returns 0 or an errno with *err. */
static int read_pack(struct rules *r, const char *dir, struct filelist *fl, char **err)
{
	/* The folder itself may be a link (the operator's choice); nothing in
	 * it is followed (walk). */
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;
	if (dirfd < 0) {
		rc = errno == ENOTDIR ? -ENOTDIR : -errno;
		*err = errf("rule pack %s: %s", dir, strerror(-rc));
		return rc;
	}
	/* Keep the path as given: it is what people typed and what logs show. */
	size_t dl = strlen(dir);
	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	r->dir = strndup(dir, dl);
	const char *base = strrchr(r->dir, '/');
	r->name = strdup(base ? base + 1 : r->dir);
	rc = r->dir && r->name ? walk(dirfd, "", fl, 0) : -ENOMEM;
	close(dirfd);
	if (rc == -E2BIG) {
		char cap[64];
		snprintf(cap, sizeof cap, "%zu MiB or %d files", fl->max_bytes >> 20, PACK_MAX_FILES);
		*err = errf("rule pack %s: larger than %s: keep large data out of the pack folder "
			    "(or raise storage.pack_mib)", dir, cap);
		return rc;
	} else if (rc < 0 && fl->bad) {
		char why[4200];
		snprintf(why, sizeof why, "cannot read %s: %s", fl->bad, strerror(-rc));
		*err = errf("rule pack %s: %s", dir, why);
		return rc;
	} else if (rc < 0) {
		*err = errf("rule pack %s: %s", dir, strerror(-rc));
		return rc;
	}
	qsort(fl->f, fl->n, sizeof *fl->f, cmp_packfile);
	return hash_pack(r, fl, err);
}

/* Runs the pack's top-level *.lua files (the rest is data), then the
 * prelude's checks of what they declared.  Returns 0 or an errno with *err. */
static int run_pack_files(struct rules *r, const char *dir, const struct filelist *fl, char **err)
{
	int env = env_ref_of(r, "env");
	int nlua = 0, rc;
	for (size_t i = 0; i < fl->n; i++) {
		const char *rel = fl->f[i].rel;
		if (strchr(rel, '/') || !ends_with(rel, ".lua"))
			continue; /* the pack is its top-level *.lua; the rest is data */
		nlua++;
		if ((rc = load_file(r, rel, env, err)) < 0)
			return rc;
	}
	if (nlua == 0) {
		*err = errf("rule pack %s: no .lua files%s", dir, "");
		return LIU_ESCRIPT;
	}
	json_t *res;
	rc = api_call(r, "finish", NULL, 0, LOAD_BUDGET_FACTOR, &res);
	if (rc == 0 && json_is_string(res)) {
		*err = errf("%s%s", json_string_value(res), "");
		rc = LIU_ESCRIPT;
	} else if (rc < 0) {
		*err = errf("%s%s", json_string_value(json_object_get(res, "error")), "");
	}
	json_decref(res);
	return rc < 0 ? rc : *err ? LIU_ESCRIPT : 0;
}

int rules_load(struct rules **out, const char *dir, const struct rules_opts *o, char **err)
{
	*err = NULL;
	struct rules *r = calloc(1, sizeof *r);
	struct filelist fl = { .max_bytes = o && o->pack_bytes ? o->pack_bytes : PACK_MAX_BYTES };
	int rc = -ENOMEM;
	if (!r)
		return -ENOMEM;
	r->api_ref = LUA_NOREF;
	static atomic_uint_fast64_t loads;
	r->serial = atomic_fetch_add(&loads, 1) + 1;
	r->mem.limit = o && o->mem_limit ? o->mem_limit : (size_t)256 << 20;
	r->instr_limit = o && o->instr_limit ? o->instr_limit : 20000000;
	r->time_limit_ms = o && o->time_limit_ms ? o->time_limit_ms : 1000;
	if (o && o->total_ms > 0)
		r->total_deadline_ms = mono_ms() + o->total_ms;
	r->cancel = o ? o->cancel : NULL;

	if ((rc = read_pack(r, dir, &fl, err)) < 0)
		goto fail;

	r->L = lua_newstate(rules_mem_alloc, &r->mem);
	if (!r->L) {
		rc = -ENOMEM;
		goto fail;
	}
	*(struct rules **)lua_getextraspace(r->L) = r;
	lua_pushcfunction(r->L, msgh);
	lua_pushcfunction(r->L, setup_state);
	if (lua_pcall(r->L, 0, 1, 1) != LUA_OK) {
		*err = errf("prelude: %s%s", lua_tostring(r->L, -1), "");
		rc = LIU_ESCRIPT;
		goto fail;
	}
	r->api_ref = luaL_ref(r->L, LUA_REGISTRYINDEX);
	lua_pop(r->L, 1);

	if ((rc = run_pack_files(r, dir, &fl, err)) < 0)
		goto fail;

	if (o && o->load_tests) {
		int tenv = env_ref_of(r, "test_env");
		for (size_t i = 0; i < fl.n; i++) {
			const char *rel = fl.f[i].rel;
			if (strncmp(rel, "tests/", 6) != 0 || !ends_with(rel, ".lua") || strchr(rel + 6, '/'))
				continue;
			if ((rc = load_file(r, rel, tenv, err)) < 0)
				goto fail;
		}
	}

	rc = api_call(r, "describe", NULL, 0, 1, &r->describe);
	if (rc < 0) {
		*err = errf("describe: %s%s", json_string_value(json_object_get(r->describe, "error")), "");
		goto fail;
	}
	json_object_set_new(r->describe, "version", json_string(r->version));
	json_object_set(r->describe, "files", r->files);
	json_object_set_new(r->describe, "dir", json_string(r->dir));
	if ((rc = load_span(r)) < 0)
		goto fail_rc;
	lua_gc(r->L, LUA_GCCOLLECT);
	filelist_free(&fl);
	*out = r;
	return 0;

fail_rc:
	if (rc == 0)
		rc = LIU_ESCRIPT;
fail:
	filelist_free(&fl);
	if (!*err)
		*err = errf("rule pack %s: %s", dir, liu_strerror(rc));
	rules_free(r);
	return rc;
}

void rules_free(struct rules *r)
{
	if (!r)
		return;
	if (r->L)
		lua_close(r->L);
	json_decref(r->describe);
	json_decref(r->files);
	json_decref(r->contents);
	free(r->bounds);
	free(r->dir);
	free(r->name);
	free(r);
}

const char *rules_version(const struct rules *r) { return r->version; }
uint64_t rules_serial(const struct rules *r) { return r->serial; }
const char *rules_dir(const struct rules *r) { return r->dir; }
json_t *rules_contents(struct rules *r) { return r->contents; }

json_t *rules_counters(struct rules *r)
{
	json_t *res;
	if (api_call(r, "stats", NULL, 0, 1, &res) < 0) {
		json_decref(res);
		return json_object();
	}
	return res;
}
json_t *rules_describe(struct rules *r) { return r->describe; }

json_t *rules_action_roles(struct rules *r, const char *name)
{
	json_t *a = json_object_get(json_object_get(r->describe, "actions"), name);
	return a ? json_object_get(a, "roles") : NULL;
}

json_t *rules_view(struct rules *r, const char *name)
{
	return json_object_get(json_object_get(r->describe, "views"), name);
}

/* Maps a prelude result to our codes: {refused}, {invalid}, {error}. */
static int outcome_of(json_t *res)
{
	if (json_object_get(res, "refused"))
		return LIU_EREFUSED;
	if (json_object_get(res, "invalid"))
		return LIU_EINVAL;
	if (json_object_get(res, "error"))
		return LIU_ESCRIPT;
	return 0;
}

/*
 * Puts back the fields the prelude left out of an action's result as still
 * equal to the record's (`kept`, see api.act in prelude.lua), taking them
 * from `rec`, in the record's order, then the new fields.  Converting an
 * unchanged statement of 261 controls back from Lua was a tenth of an amend.
 */
static int merge_kept(json_t *out, json_t *rec)
{
	json_t *kept = json_object_get(out, "kept");
	if (!kept)
		return 0;
	json_t *res_rec = json_object_get(out, "record");
	json_t *now = json_object_get(res_rec, "data");
	json_t *was = json_object_get(rec, "data");
	json_t *data = json_object();
	if (!data)
		return -ENOMEM;
	size_t i;
	json_t *k;
	json_array_foreach(kept, i, k) {
		const char *key = json_string_value(k);
		json_t *v = key ? json_object_get(was, key) : NULL;
		if (v && json_object_set(now, key, v) < 0)
			goto oom;
	}
	/* The record's order first, so that an amend does not reorder it. */
	const char *key;
	json_t *v;
	json_object_foreach(was, key, v) {
		json_t *n = json_object_get(now, key);
		if (n && json_object_set(data, key, n) < 0)
			goto oom;
	}
	json_object_foreach(now, key, v) {
		if (!json_object_get(data, key) && json_object_set(data, key, v) < 0)
			goto oom;
	}
	if (json_object_set_new(res_rec, "data", data) < 0)
		return -ENOMEM;
	json_object_del(out, "kept");
	return 0;
oom:
	json_decref(data);
	return -ENOMEM;
}

int rules_act(struct rules *r, const char *name, json_t *rec, json_t *params,
	      const struct rules_ctx *ctx, json_t **out)
{
	struct arg args[] = {
		{ .t = ARG_STR, .s = name },
		{ .t = ARG_JSON, .j = rec },
		{ .t = ARG_JSON, .j = params },
		{ .t = ARG_CTX, .ctx = ctx },
	};
	int rc = api_call(r, "act", args, 4, 1, out);
	if (rc < 0)
		return rc;
	rc = outcome_of(*out);
	if (rc == 0 && (rc = merge_kept(*out, rec)) < 0) {
		json_decref(*out);
		*out = json_pack("{s:s}", "error", "out of memory");
	}
	return rc;
}

void rules_rec_clear(struct rules_rec *rec)
{
	for (size_t i = 0; i < rec->ndata; i++)
		free(rec->data[i].key);
	free(rec->data);
	free(rec->kind_s);
	free(rec->state_s);
	free(rec->new_data);
	*rec = (struct rules_rec){ .text = rec->text, .len = rec->len, .whole = rec->whole,
				    .strict = rec->strict };
}

int rules_act_text(struct rules *r, const char *name, struct rules_rec *rec, json_t *params,
		   const struct rules_ctx *ctx, json_t **out)
{
	/* The 5th argument, `before`: the record's data as read, built
	 * alongside it (rules_text.h), which the prelude would otherwise copy. */
	struct arg args[] = {
		{ .t = ARG_STR, .s = name },
		{ .t = ARG_TEXT_TWIN, .rec = rec },
		{ .t = ARG_JSON, .j = params },
		{ .t = ARG_CTX, .ctx = ctx },
		{ .t = ARG_TWIN },
	};
	int rc = api_call(r, "act", args, 5, 1, out);
	/* A call that failed before ARG_TWIN leaves the twin in the registry. */
	lua_pushnil(r->L);
	lua_rawsetp(r->L, LUA_REGISTRYINDEX, &twin_key);
	if (rc < 0)
		return rec->damaged ? -EIO : rc;
	if ((rc = outcome_of(*out)) != 0)
		return rc;
	/* The kept members as they were written; the rest encoded. */
	json_t *now = json_object_get(json_object_get(*out, "record"), "data");
	rec->new_data = text_data(rec, now, json_object_get(*out, "kept"), &rec->new_data_len);
	if (!rec->new_data) {
		json_decref(*out);
		*out = json_pack("{s:s}", "error", "out of memory");
		return -ENOMEM;
	}
	json_object_del(*out, "kept");
	return 0;
}

/* What rules_eval_span needs, read from describe once the pack is built. */
static int load_span(struct rules *r)
{
	r->eval_by_date = json_is_true(json_object_get(r->describe, "eval_by_date"));
	json_t *ms = json_object_get(r->describe, "measures");
	/* and the instants the pack declares (pack { instants }) */
	json_t *ins = json_object_get(r->describe, "instants_at");
	r->bounds = calloc(2 * json_array_size(ms) + json_array_size(ins) + 1, sizeof *r->bounds);
	if (!r->bounds)
		return -ENOMEM;
	size_t i;
	json_t *m;
	json_array_foreach(ins, i, m) {
		if (json_is_integer(m))
			r->bounds[r->nbounds++] = (int64_t)json_integer_value(m);
	}
	json_array_foreach(ms, i, m) {
		const char *keys[] = { "starts_at", "ends_at" };
		for (int k = 0; k < 2; k++) {
			json_t *b = json_object_get(m, keys[k]);
			if (json_is_integer(b))
				r->bounds[r->nbounds++] = (int64_t)json_integer_value(b);
		}
	}
	return 0;
}

bool rules_eval_span(const struct rules *r, int64_t at, int64_t *from, int64_t *till)
{
	if (!r->eval_by_date)
		return false;
	/* The JST day of `at` (floor division: instants before 1970 too). */
	int64_t local = at + 9 * 3600;
	int64_t day = local / 86400 - (local % 86400 < 0);
	int64_t f = day * 86400 - 9 * 3600, t = f + 86400;
	for (size_t i = 0; i < r->nbounds; i++) {
		int64_t b = r->bounds[i];
		if (b <= at && b > f)
			f = b;
		if (b > at && b < t)
			t = b;
	}
	*from = f;
	*till = t;
	return true;
}

int rules_eval(struct rules *r, json_t *rec, int64_t at, json_t **out)
{
	struct arg args[] = { { .t = ARG_JSON, .j = rec }, { .t = ARG_INT, .i = at } };
	int rc = api_call(r, "eval", args, 2, 1, out);
	return rc < 0 ? rc : outcome_of(*out);
}

int rules_eval_text(struct rules *r, struct rules_rec *rec, int64_t at, json_t **out)
{
	struct arg args[] = { { .t = ARG_TEXT, .rec = rec }, { .t = ARG_INT, .i = at } };
	int rc = api_call(r, "eval", args, 2, 1, out);
	if (rc < 0)
		return rec->damaged ? -EIO : rc;
	return outcome_of(*out);
}

char *rules_eval_memo_text(struct rules *r, json_t *out)
{
	json_object_set_new(out, "rules_version", json_string(r->version));
	json_object_del(out, "at");
	json_object_del(out, "id");
	char *enc = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	if (enc && enc[0] != '{') {
		free(enc);
		return NULL;
	}
	return enc;
}

int rules_view_row(struct rules *r, const char *name, json_t *rec, json_t *params,
		   int64_t at, json_t **row)
{
	struct arg args[] = {
		{ .t = ARG_STR, .s = name }, { .t = ARG_JSON, .j = rec },
		{ .t = ARG_JSON, .j = params }, { .t = ARG_INT, .i = at },
	};
	json_t *res;
	int rc = api_call(r, "view_row", args, 4, 1, &res);
	if (rc < 0) {
		*row = res;
		return rc;
	}
	json_t *v = json_object_get(res, "row");
	if (!v) {
		json_decref(res);
		*row = NULL;
		return 0;
	}
	*row = json_incref(v);
	json_decref(res);
	return 1;
}

int rules_summary(struct rules *r, json_t *rec, int64_t at, json_t **lines)
{
	struct arg args[] = { { .t = ARG_JSON, .j = rec }, { .t = ARG_INT, .i = at } };
	json_t *res;
	int rc = api_call(r, "summary", args, 2, 1, &res);
	if (rc < 0) {
		*lines = res;
		return rc;
	}
	json_t *v = json_object_get(res, "lines");
	*lines = v ? json_incref(v) : NULL;
	json_decref(res);
	return v ? 1 : 0;
}

json_t *rules_deadlines(struct rules *r)
{
	json_t *res;
	if (api_call(r, "deadlines", NULL, 0, 1, &res) < 0) {
		log_err("rules: deadlines failed error=\"%s\"",
			json_string_value(json_object_get(res, "error")));
		json_decref(res);
		return NULL;
	}
	return res;
}

int rules_expire(struct rules *r, const char *measure, json_t *rec, int64_t at, json_t **out)
{
	struct arg args[] = {
		{ .t = ARG_STR, .s = measure }, { .t = ARG_JSON, .j = rec }, { .t = ARG_INT, .i = at },
	};
	int rc = api_call(r, "expire", args, 3, 1, out);
	if (rc < 0)
		return rc;
	return json_object_get(*out, "record") ? 1 : 0;
}

static int test_count(struct rules *r)
{
	json_t *res;
	if (api_call(r, "test_count", NULL, 0, 1, &res) < 0) {
		json_decref(res);
		return -EIO;
	}
	int n = (int)json_integer_value(res);
	json_decref(res);
	return n;
}

/* Runs test i (1-based); returns 1 passed, 0 failed, with *name and *diag
 * borrowed from *res (caller decrefs *res). */
static int test_one(struct rules *r, int i, json_t **res, const char **name, const char **diag)
{
	struct arg args[] = { { .t = ARG_INT, .i = i } };
	int rc = api_call(r, "test_run", args, 1, TEST_BUDGET_FACTOR, res);
	if (rc < 0) {
		*name = "?";
		*diag = json_string_value(json_object_get(*res, "error"));
		return 0;
	}
	*name = json_string_value(json_object_get(*res, "name"));
	*diag = json_string_value(json_object_get(*res, "diag"));
	return json_is_true(json_object_get(*res, "ok"));
}

static void reset_stats(struct rules *r)
{
	json_t *res;
	api_call(r, "reset_stats", NULL, 0, 1, &res);
	json_decref(res);
}

static void tap_diag(FILE *out, const char *diag)
{
	const char *p = diag;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);
		fprintf(out, "#   %.*s\n", n, p);
		p = nl ? nl + 1 : NULL;
	}
}

/* A TAP comment saying at which instants the eval_by_date self-check
 * compared eval (prelude.lua, api.test_selfcheck), if it ran. */
static void selfcheck_note(struct rules *r, FILE *out)
{
	json_t *res;
	if (api_call(r, "test_selfcheck", NULL, 0, 1, &res) == 0 && json_is_string(res))
		fprintf(out, "# %s\n", json_string_value(res));
	json_decref(res);
}

int rules_run_tests(struct rules *r, FILE *out)
{
	int n = test_count(r), failed = 0;
	if (n < 0)
		return n;
	fprintf(out, "1..%d\n", n);
	for (int i = 1; i <= n; i++) {
		json_t *res;
		const char *name, *diag;
		int ok = test_one(r, i, &res, &name, &diag);
		fprintf(out, "%sok %d - %s\n", ok ? "" : "not ", i, name ? name : "?");
		if (!ok) {
			failed++;
			tap_diag(out, diag ? diag : "failed");
		}
		json_decref(res);
	}
	selfcheck_note(r, out);
	fflush(out);
	reset_stats(r);
	return failed;
}

int rules_test_report(struct rules *r, char **report, int *total)
{
	*report = NULL;
	int n = test_count(r), failed = 0;
	if (n < 0)
		return n;
	*total = n;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	for (int i = 1; i <= n; i++) {
		json_t *res;
		const char *name, *diag;
		if (!test_one(r, i, &res, &name, &diag)) {
			failed++;
			fprintf(f, "test %d (%s) failed: %s\n", i, name ? name : "?", diag ? diag : "");
		}
		json_decref(res);
	}
	fclose(f);
	reset_stats(r);
	if (failed)
		*report = buf;
	else
		free(buf);
	return failed;
}

void rules_stats(const struct rules *r, struct rules_stats *s)
{
	*s = r->stats;
	s->mem_used = r->mem.used;
}
