/* rpc — see rpc.h.  Decoding, the method table, roles, parameters, replies. */
#include "rpc_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "errors.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "reqrec.h"
#include "sched.h"
#include "wire.h"

/* Who may call a method at all (admin may call every one). */
#define R_ADMIN 0x1u /* admin only: the database, the clock, the counters */
#define R_PACK  0x2u /* the pack's roles that name it (role "x" { methods = {...} }) */
#define R_ANY   0x4u /* every peer holding a role */
#define R_NONE  0x8u /* a peer holding none, too */

/*
 * The method table (docs/PROTOCOL.md).  `roles` is who may call the method at all;
 * `act` and `view` then check the action's or view's own roles from the
 * pack.  The core knows admin only: an R_PACK method is given to a pack role
 * by the pack (prelude.lua, ROLE_METHODS lists the same ones).  A peer
 * holding no role (anyone who can open the socket) gets only what R_NONE
 * opens: a minimal `status`, nothing of the pack's names or the records'
 * counts.  `writes` marks methods whose reply waits for a commit: a read that
 * follows one on the same connection waits for it (read-your-writes).
 */
static const struct method {
	const char *name;
	rpc_method_fn fn;
	unsigned roles;
	bool writes;
} methods[] = {
	{ "status", rpc_m_status, R_ANY | R_NONE, false },
	{ "record.get", rpc_m_record_get, R_PACK, false },
	{ "record.list", rpc_m_record_list, R_PACK, false },
	{ "act", rpc_m_act, R_ANY, true },
	{ "import", rpc_m_import, R_ANY, true },
	{ "eval", rpc_m_eval, R_PACK, false },
	{ "view", rpc_m_view, R_ANY, false },
	{ "history", rpc_m_history, R_PACK, false },
	{ "deadlines", rpc_m_deadlines, R_PACK, false },
	{ "enforce", rpc_m_enforce, R_ADMIN, true },
	{ "rules.status", rpc_m_rules_status, R_ANY, false },
	{ "rules.check", rpc_m_rules_check, R_PACK, false },
	{ "rules.diff", rpc_m_rules_diff, R_PACK, false },
	{ "rules.reload", rpc_m_rules_reload, R_PACK, true },
	{ "rules.history", rpc_m_rules_history, R_PACK, false },
	{ "rules.rollback", rpc_m_rules_rollback, R_PACK, true },
	{ "audit.verify", rpc_m_audit_verify, R_ADMIN, false },
	{ "backup", rpc_m_backup, R_ADMIN, false },
	{ "clock.set", rpc_m_clock_set, R_ADMIN, false },
	{ "metrics", rpc_m_metrics, R_ADMIN, false },
	{ NULL, NULL, 0, false },
};

#define N_METHODS (sizeof methods / sizeof methods[0] - 1)
#define M_INVALID ((int)N_METHODS) /* requests that named no method we know */

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct rules *live_rules(void *ud)
{
	struct rpc *r = ud;
	return r->rules;
}

/* The lifecycle's swap (lifecycle.h): the next pack is live from here on. */
static struct rules *swap_rules(void *ud, struct rules *next)
{
	struct rpc *r = ud;
	struct rules *old = r->rules;
	r->rules = next;
	r->rules_gen++;
	r->rules_loaded_at = clock_now();
	return old;
}

int rpc_new(struct rpc **out, const struct rpc_deps *deps)
{
	struct rpc *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->d = *deps;
	r->rules = deps->rules;
	r->ledger = deps->ledger;
	struct life_deps ld = { .loop = deps->loop, .store = deps->store, .ledger = deps->ledger,
				.conf = deps->conf, .rules_path = deps->rules_path,
				.live = live_rules, .swap = swap_rules, .ud = r };
	if (life_new(&r->life, &ld) < 0) {
		free(r);
		return -ENOMEM;
	}
	life_set_sched(r->life, deps->sched);
	r->started_ms = clock_mono_ms();
	for (size_t i = 0; i < N_METHODS; i++)
		metrics_name((int)i, methods[i].name);
	metrics_name(M_INVALID, "(invalid)");
	r->started_at = clock_now();
	r->rules_loaded_at = r->started_at;
	*out = r;
	return 0;
}

void rpc_free(struct rpc *r)
{
	if (!r)
		return;
	rules_free(r->rules);
	life_free(r->life);
	slicer_free(r->slicer);
	json_decref(r->made_during);
	free(r);
}

struct rules *rpc_rules(struct rpc *r) { return r->rules; }

/* --- replies ---------------------------------------------------------------- */

static void reply_send(struct rpc_call *c, json_t *msg, int code)
{
	metrics_observe(c->midx, code, mono_us() - c->t0_us);
	if (!c->id) { /* a notification: the work is done, nobody hears of it */
		json_decref(msg);
		c->fn(c->slot, NULL, 0);
		return;
	}
	size_t len;
	char *line = wire_encode_line(msg, &len);
	json_decref(msg);
	if (!line) /* could not encode (memory): say so rather than go silent */
		line = rpc_error_line(WIRE_INTERNAL, "out of memory encoding the reply", &len);
	c->fn(c->slot, line, len);
}

void rpc_result(struct rpc_call *c, json_t *result)
{
	json_t *msg = json_object();
	json_object_set_new(msg, "jsonrpc", json_string(WIRE_VERSION));
	json_object_set(msg, "id", c->id ? c->id : json_null());
	json_object_set_new(msg, "result", result ? result : json_null());
	reply_send(c, msg, 0);
}

void rpc_result_raw(struct rpc_call *c, const struct rpc_part *parts, size_t n)
{
	metrics_observe(c->midx, 0, mono_us() - c->t0_us);
	if (!c->id) {
		c->fn(c->slot, NULL, 0);
		return;
	}
	/* The id as JSON: integers by hand, anything else (a string) by jansson. */
	char num[32], *dumped = NULL;
	const char *id = num;
	if (json_is_integer(c->id))
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(c->id));
	else
		id = dumped = json_dumps(c->id, JSON_ENCODE_ANY | JSON_COMPACT);
	static const char head[] = "{\"jsonrpc\":\"" WIRE_VERSION "\",\"id\":";
	static const char mid[] = ",\"result\":";
	size_t len = id ? sizeof head - 1 + strlen(id) + sizeof mid - 1 + 2 : 0;
	for (size_t i = 0; i < n; i++)
		len += parts[i].len;
	char *line = id ? malloc(len + 1) : NULL;
	if (!line) {
		free(dumped);
		line = rpc_error_line(WIRE_INTERNAL, "out of memory encoding the reply", &len);
		c->fn(c->slot, line, len);
		return;
	}
	char *p = line;
	p = mempcpy(p, head, sizeof head - 1);
	p = mempcpy(p, id, strlen(id));
	p = mempcpy(p, mid, sizeof mid - 1);
	for (size_t i = 0; i < n; i++)
		p = mempcpy(p, parts[i].s, parts[i].len);
	*p++ = '}';
	*p++ = '\n';
	*p = '\0';
	free(dumped);
	c->fn(c->slot, line, len);
}

void rpc_error(struct rpc_call *c, int code, const char *message, json_t *data)
{
	c->rpc->errors++;
	json_t *err = json_pack("{s:i, s:s}", "code", code, "message", message);
	if (data)
		json_object_set_new(err, "data", data);
	json_t *msg = json_object();
	json_object_set_new(msg, "jsonrpc", json_string(WIRE_VERSION));
	json_object_set(msg, "id", c->id ? c->id : json_null());
	json_object_set_new(msg, "error", err);
	reply_send(c, msg, code);
}

void rpc_parse_error(struct rpc_call *c, const json_error_t *err)
{
	char msg[300];
	snprintf(msg, sizeof msg, "parse error at byte %d: %s", err->position, err->text);
	json_decref(c->id);
	c->id = json_null();
	c->midx = M_INVALID;
	rpc_error(c, WIRE_PARSE_ERROR, msg, NULL);
}

void rpc_bad_param(struct rpc_call *c, const char *field, const char *ja, const char *en)
{
	char msg[512];
	snprintf(msg, sizeof msg, "invalid params: %s: %s", field, en);
	rpc_error(c, WIRE_INVALID_PARAMS, msg,
		  json_pack("{s:s, s:{s:s, s:s}}", "field", field, "reason", "ja", ja, "en", en));
}

void rpc_fail(struct rpc_call *c, int err, const char *message, json_t *data)
{
	char buf[256];
	if (!message) {
		snprintf(buf, sizeof buf, "%s", liu_strerror(err));
		message = buf;
	}
	if (err == -ENOSPC && !data)
		data = json_pack("{s:s, s:s}", "ja", "記憶領域が一杯のため書き込めません",
				 "en", "storage is full; nothing was written");
	rpc_error(c, wire_code_of(err), message, data);
}

char *rpc_error_line(int code, const char *message, size_t *len)
{
	json_t *msg = json_pack("{s:s, s:n, s:{s:i, s:s}}", "jsonrpc", WIRE_VERSION, "id",
				"error", "code", code, "message", message);
	char *s = msg ? wire_encode_line(msg, len) : NULL;
	json_decref(msg);
	return s;
}

struct rpc_call *rpc_call_keep(struct rpc_call *c)
{
	struct rpc_call *k = malloc(sizeof *k);
	if (!k)
		return NULL;
	*k = *c;
	k->method = NULL; /* the request line is gone by then */
	c->id = NULL;
	c->params = NULL;
	return k;
}

void rpc_call_free(struct rpc_call *c)
{
	json_decref(c->id);
	json_decref(c->params);
	free(c);
}

/* --- parameters --------------------------------------------------------------- */

bool rpc_param_str(struct rpc_call *c, const char *key, bool required, size_t max,
		   const char **out)
{
	json_t *v = json_object_get(c->params, key);
	if (!v || json_is_null(v)) {
		if (!required)
			return true;
		rpc_bad_param(c, key, "必須です", "is required");
		return false;
	}
	if (!json_is_string(v) || json_string_length(v) == 0) {
		rpc_bad_param(c, key, "空でない文字列を指定してください", "must be a non-empty string");
		return false;
	}
	if (json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v)) {
		rpc_bad_param(c, key, "長すぎるか、NUL 文字を含んでいます", "is too long or contains NUL");
		return false;
	}
	*out = json_string_value(v);
	return true;
}

bool rpc_param_time(struct rpc_call *c, const char *key, int64_t *out)
{
	json_t *v = json_object_get(c->params, key);
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v)) {
		rpc_bad_param(c, key, "日時は文字列で指定してください（例: 2025-03-31、令和7年3月31日）",
			      "must be a string such as 2025-03-31T23:59:59+09:00, 2025-03-31 or 令和7年3月31日");
		return false;
	}
	struct clock_why why;
	if (clock_parse(json_string_value(v), out, &why) < 0) {
		rpc_bad_param(c, key, why.ja, why.en);
		return false;
	}
	return true;
}

bool rpc_param_uint(struct rpc_call *c, const char *key, uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(c->params, key);
	if (!v || json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max) {
		char en[96], ja[128];
		snprintf(en, sizeof en, "must be a whole number from 0 to %llu", (unsigned long long)max);
		snprintf(ja, sizeof ja, "0 から %llu までの整数で指定してください", (unsigned long long)max);
		rpc_bad_param(c, key, ja, en);
		return false;
	}
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/* --- roles ------------------------------------------------------------------ */

json_t *rpc_forbid_reason(const struct rpc_call *c, const json_t *allowed)
{
	char names[256] = "admin";
	size_t i, n = strlen(names);
	json_t *v;
	json_array_foreach(allowed, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), "admin") != 0 && n + 3 < sizeof names)
			n += (size_t)snprintf(names + n, sizeof names - n, ", %s", json_string_value(v));
	if (n >= sizeof names)
		n = sizeof names - 1;
	if (c->peer.roles == 0)
		return json_pack("{s:s++, s:s++}",
				 "ja", "ロールが割り当てられていないため、この操作はできません。この操作ができるロール: ", names,
				 "（liud.conf の roles で利用者またはグループをロールに対応付けます）",
				 "en", "you hold no role, so this is not allowed; roles that may: ", names,
				 " (liud.conf's roles map users and groups to roles)");
	return json_pack("{s:s++, s:s++}", "ja", "この操作を行う権限がありません。この操作ができるロール: ", names, "",
			 "en", "your roles do not allow this; roles that may: ", names, "");
}

/* The roles that may call method m: the pack's roles that name it, or
 * every role.  A new array (admin left out: always allowed). */
static json_t *method_roles(const struct method *m, struct rules *live)
{
	json_t *out = json_array(), *role, *name;
	size_t i, j;
	json_array_foreach(json_object_get(rules_describe(live), "roles"), i, role) {
		const char *id = json_string_value(json_object_get(role, "id"));
		bool named = m && (m->roles & R_ANY);
		json_array_foreach(json_object_get(role, "methods"), j, name)
			named |= m && strcmp(json_string_value(name), m->name) == 0;
		if (id && named)
			json_array_append_new(out, json_string(id));
	}
	return out;
}

static const struct method *find(const char *name);

/* Replies -32001 naming what was asked and the roles that may (allowed,
 * or when NULL the method's), and logs it. */
static void forbid(struct rpc_call *c, const char *what, const json_t *allowed)
{
	json_t *roles = auth_roles_json(&c->peer);
	json_t *may = allowed ? json_deep_copy(allowed) : method_roles(find(what), c->rpc->rules);
	char *rs = json_dumps(roles, JSON_COMPACT);
	log_limited(LOG_KIND_FORBIDDEN_CALL, LOG_WARN,
		    "rpc: forbidden peer_uid=%u peer_user=%s peer_pid=%d roles=%s what=\"%s\"",
		    (unsigned)c->peer.uid, c->peer.user, (int)c->peer.pid, rs ? rs : "[]", what);
	char msg[300];
	snprintf(msg, sizeof msg, "forbidden: %s is not allowed for your roles", what);
	/* Only names what was asked and who asked: never any record content. */
	rpc_error(c, WIRE_FORBIDDEN, msg,
		  json_pack("{s:s, s:o, s:o}", "what", what, "roles", roles, "reason",
			    rpc_forbid_reason(c, may)));
	json_decref(may);
	free(rs);
}

bool rpc_allow(struct rpc_call *c, const json_t *allowed, const char *what)
{
	if ((c->peer.roles & ROLE_ADMIN) || auth_holds_any(&c->peer, allowed))
		return true;
	forbid(c, what, allowed);
	return false;
}

const char *rpc_role(const struct rpc_call *c)
{
	if (c->peer.roles & ROLE_ADMIN)
		return "admin";
	size_t i;
	json_t *role;
	json_array_foreach(json_object_get(rules_describe(c->rpc->rules), "roles"), i, role) {
		const char *id = json_string_value(json_object_get(role, "id"));
		const char *held = id ? auth_holds(&c->peer, id) : NULL;
		if (held)
			return held;
	}
	return "none";
}

/* --- dispatch ----------------------------------------------------------------- */

/* Whether `peer` may call `m` at all: an R_PACK method when one of the
 * live pack's roles it holds names the method. */
static bool method_open(const struct method *m, const struct auth_peer *peer, struct rules *live)
{
	if (peer->roles == 0)
		return m->roles & R_NONE;
	if ((peer->roles & ROLE_ADMIN) || (m->roles & R_ANY))
		return true;
	if (!(m->roles & R_PACK))
		return false;
	size_t i, j;
	json_t *role, *name;
	json_array_foreach(json_object_get(rules_describe(live), "roles"), i, role) {
		const char *id = json_string_value(json_object_get(role, "id"));
		if (!id || !auth_holds(peer, id))
			continue;
		json_array_foreach(json_object_get(role, "methods"), j, name) {
			if (strcmp(json_string_value(name), m->name) == 0)
				return true;
		}
	}
	return false;
}

static const struct method *find(const char *name)
{
	for (const struct method *m = methods; m->name; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

bool rpc_may_call(struct rpc_call *c, const char *method, bool reply)
{
	const struct method *m = find(method);
	if (m && method_open(m, &c->peer, c->rpc->rules))
		return true;
	if (reply)
		forbid(c, method, NULL);
	return false;
}

json_t *rpc_decode(const char *line, size_t len, json_error_t *err)
{
	/* Duplicate keys are refused: two "id"s or two "params" would make the
	 * request mean whatever the last one says. */
	return json_loadb(line, len, JSON_REJECT_DUPLICATES, err);
}

/* Eval's inline record as text in the request line (reqrec.h), or none. */
struct inline_rec {
	const char *text;
	size_t len;
	bool full;
	const char *line;
	size_t line_len;
};

/* The request line parsed; eval's inline record is left as text for the
 * rules to read (reqrec.h) and the rest parsed with {} in its place. */
static json_t *rpc_parse(const char *line, size_t len, json_error_t *jerr, struct inline_rec *ir)
{
	struct reqrec rr;
	char *rest;
	if (!reqrec_find(line, len, &rr) || !(rest = malloc(len - (rr.end - rr.start) + 2)))
		return json_loadb(line, len, JSON_REJECT_DUPLICATES, jerr);
	size_t n = rr.start;
	memcpy(rest, line, n);
	memcpy(rest + n, "{}", 2);
	memcpy(rest + n + 2, line + rr.end, len - rr.end);
	n += 2 + len - rr.end;
	json_t *req = json_loadb(rest, n, JSON_REJECT_DUPLICATES, jerr);
	free(rest);
	if (!req) /* the error where the whole line has it */
		return json_loadb(line, len, JSON_REJECT_DUPLICATES, jerr);
	*ir = (struct inline_rec){ .text = line + rr.start, .len = rr.end - rr.start, .full = rr.full,
				   .line = line, .line_len = len };
	return req;
}

static enum rpc_status handle(struct rpc *r, const struct auth_peer *peer, json_t *req,
			     const json_error_t *err, const struct inline_rec *ir, bool conn_writing,
			     void *slot, rpc_reply_fn fn);

enum rpc_status rpc_handle(struct rpc *r, const struct auth_peer *peer, const char *line,
			   size_t len, bool conn_writing, void *slot, rpc_reply_fn fn)
{
	json_error_t jerr;
	struct inline_rec ir = { 0 };
	json_t *req = rpc_parse(line, len, &jerr, &ir);
	return handle(r, peer, req, &jerr, ir.text ? &ir : NULL, conn_writing, slot, fn);
}

/* A line decoded on a worker (a long one, server.c) takes the plain path:
 * its inline record, if any, is read from the tree. */
enum rpc_status rpc_handle_decoded(struct rpc *r, const struct auth_peer *peer, json_t *req,
				   const json_error_t *err, bool conn_writing, void *slot,
				   rpc_reply_fn fn)
{
	return handle(r, peer, req, err, NULL, conn_writing, slot, fn);
}

static enum rpc_status handle(struct rpc *r, const struct auth_peer *peer, json_t *req,
			     const json_error_t *err, const struct inline_rec *ir, bool conn_writing,
			     void *slot, rpc_reply_fn fn)
{
	struct rpc_call c = { .rpc = r, .peer = *peer, .slot = slot, .fn = fn, .midx = M_INVALID,
			      .t0_us = mono_us() };
	r->requests++;
	if (ir) {
		c.rec_text = ir->text;
		c.rec_len = ir->len;
		c.rec_full = ir->full;
		c.line = ir->line;
		c.line_len = ir->line_len;
	}
	if (!req) {
		rpc_parse_error(&c, err);
		json_decref(c.id);
		return RPC_DONE;
	}
	if (!json_is_object(req)) {
		c.id = json_null();
		rpc_error(&c, WIRE_INVALID_REQUEST,
			  json_is_array(req) ? "invalid request: batches are not supported; send one object per line"
					     : "invalid request: not a JSON object", NULL);
		goto done;
	}
	json_t *id = json_object_get(req, "id");
	if (id && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id)) {
		c.id = json_null();
		rpc_error(&c, WIRE_INVALID_REQUEST, "invalid request: id must be a string, an integer or null", NULL);
		goto done;
	}
	c.id = id ? json_incref(id) : NULL;
	json_t *ver = json_object_get(req, "jsonrpc");
	json_t *method = json_object_get(req, "method");
	if (!json_is_string(ver) || strcmp(json_string_value(ver), WIRE_VERSION) != 0) {
		if (!c.id)
			c.id = json_null(); /* an invalid request is answered even without id */
		rpc_error(&c, WIRE_INVALID_REQUEST, "invalid request: jsonrpc must be \"2.0\"", NULL);
		goto done;
	}
	if (!json_is_string(method)) {
		if (!c.id)
			c.id = json_null();
		rpc_error(&c, WIRE_INVALID_REQUEST, "invalid request: method must be a string", NULL);
		goto done;
	}
	c.method = json_string_value(method);
	const struct method *m = find(c.method);
	if (m)
		c.midx = (int)(m - methods);
	if (!m) {
		char msg[200];
		snprintf(msg, sizeof msg, "unknown method: %.100s", c.method);
		rpc_error(&c, WIRE_UNKNOWN_METHOD, msg, NULL);
		goto done;
	}
	if (conn_writing && !m->writes) {
		json_decref(req);
		json_decref(c.id);
		r->requests--;
		return RPC_WAIT;
	}
	json_t *params = json_object_get(req, "params");
	if (params && !json_is_object(params) && !json_is_null(params)) {
		rpc_bad_param(&c, "params", "params はオブジェクトで指定してください",
			      "params must be an object (named parameters)");
		goto done;
	}
	c.params = params && json_is_object(params) ? json_incref(params) : json_object();
	if (!method_open(m, &c.peer, r->rules)) {
		forbid(&c, c.method, NULL);
		goto done;
	}
	enum rpc_status st = m->fn(&c);
	json_decref(req);
	if (st == RPC_DONE) {
		json_decref(c.id);
		json_decref(c.params);
	}
	return st;
done:
	json_decref(req);
	json_decref(c.id);
	json_decref(c.params);
	return RPC_DONE;
}

void rpc_stop(struct rpc *r) { r->stopping = true; }

size_t rpc_pending_writes(struct rpc *r) { return commit_pending(r->d.commit); }

void rpc_set_connections(struct rpc *r, size_t (*fn)(void *ud), void *ud)
{
	r->d.connections = fn;
	r->d.connections_ud = ud;
}

void rpc_set_sched(struct rpc *r, struct sched *s)
{
	r->d.sched = s;
	life_set_sched(r->life, s);
}
