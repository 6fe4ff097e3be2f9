/* rpc_rules — the rule lifecycle: rules.check, rules.reload (and SIGHUP),
 * rules.history, rules.rollback, rules.diff, and activation at start. */
#include "rpc_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "clock.h"
#include "log.h"
#include "packs.h"
#include "expiry.h"
#include "sched.h"
#include "wire.h"

#define PATH_MAX_LEN 4000
#define DIFF_CHUNK 500
#define DIFF_MAX_LISTED 1000

static struct rules_opts opts_of(const struct conf *cf, bool tests)
{
	return (struct rules_opts){ .mem_limit = cf->rule_memory,
				    .instr_limit = cf->rule_instructions,
				    .time_limit_ms = cf->rule_time_ms,
				    .load_tests = tests };
}

/* --- candidates, checked off the loop ------------------------------------------ */

/*
 * A candidate pack is loaded and its tests run on a worker thread: what a
 * pack does while it loads and what its tests do are the pack author's
 * choice, and the loop must answer everyone else meanwhile.  The candidate's
 * state is used by that thread only until the check ends; then it is handed
 * to the loop (rules_end_check).  One check runs at a time (a libuv worker
 * is shared with the commits: a second would take another), the others wait
 * in order; the whole of a check has a wall-clock cap (rule_budget.check_s),
 * and it is cancelled when the client that asked for it hangs up.
 */
#define CAND_QUEUE_MAX 8

typedef void (*cand_done_fn)(struct rpc *r, int rc, struct rules *cand, json_t *err, void *ud);

struct cand_job {
	uv_work_t work;
	struct rpc *r;
	char *dir;                 /* owned */
	bool tests;
	struct rules_opts o;
	atomic_bool cancel;        /* set on the loop, read by the worker's hook */
	const struct rpc_call *call; /* borrowed: whose hang-up cancels (or NULL) */
	cand_done_fn done;
	void *ud;
	int64_t t0;
	uv_timer_t poll;           /* looks for the client's hang-up */
	/* written by the worker */
	int rc, total, failed;
	struct rules *cand;
	char *msg, *report;
	struct cand_job *next;     /* the queue */
};

static void cand_work(uv_work_t *w)
{
	struct cand_job *j = w->data;
	j->rc = rules_load(&j->cand, j->dir, &j->o, &j->msg);
	if (j->rc == 0 && j->tests)
		j->failed = rules_test_report(j->cand, &j->report, &j->total);
}

static void cand_next(struct rpc *r);

/* The check's outcome: 0 with a pack and *err = {tests}, or an error code
 * with *err = {error, dir, ...}. */
static int cand_outcome(struct cand_job *j, struct rules **out, json_t **err)
{
	*out = NULL;
	*err = NULL;
	if (j->rc < 0) {
		*err = json_pack("{s:s, s:s}", "error", j->msg ? j->msg : liu_strerror(j->rc), "dir", j->dir);
		return j->rc;
	}
	if (j->failed != 0) {
		*err = json_pack("{s:s, s:s, s:s, s:i, s:i}", "error",
				 j->report ? j->report : "the pack's tests could not run", "dir", j->dir,
				 "version", rules_version(j->cand), "tests", j->total, "failed_tests", j->failed);
		rules_free(j->cand);
		j->cand = NULL;
		return LIU_ESCRIPT;
	}
	rules_end_check(j->cand);
	*err = json_pack("{s:i}", "tests", j->total);
	*out = j->cand;
	j->cand = NULL;
	return 0;
}

static void cand_free(uv_handle_t *h)
{
	struct cand_job *j = h->data;
	free(j->dir);
	free(j->msg);
	free(j->report);
	free(j);
}

/* While the check runs: a client that hung up cancels it (the worker's
 * hook sees the flag within its next budget check). */
static void cand_poll(uv_timer_t *t)
{
	struct cand_job *j = t->data;
	const struct rpc *r = j->r;
	if (j->call && r->stream && r->stream->backlog(j->call->slot) < 0 &&
	    !atomic_load(&j->cancel)) {
		log_info("rules: check cancelled, the client hung up dir=%s", j->dir);
		atomic_store(&j->cancel, true);
	}
}

static void cand_after(uv_work_t *w, int status)
{
	struct cand_job *j = w->data;
	struct rpc *r = j->r;
	(void)status;
	r->cand_running = NULL;
	struct rules *cand;
	json_t *err;
	int rc = cand_outcome(j, &cand, &err);
	log_info("rules: check done dir=%s tests=%d failed=%d ms=%lld outcome=%s", j->dir, j->total,
		 j->failed, (long long)(clock_now_ms() - j->t0), rc < 0 ? "refused" : "ok");
	j->done(r, rc, cand, err, j->ud);
	uv_timer_stop(&j->poll);
	uv_close((uv_handle_t *)&j->poll, cand_free);
	cand_next(r);
}

static void cand_next(struct rpc *r)
{
	struct cand_job *j = r->cand_head;
	if (r->cand_running || !j)
		return;
	r->cand_head = j->next;
	if (!r->cand_head)
		r->cand_tail = NULL;
	r->cand_queued--;
	r->cand_running = j;
	j->t0 = clock_now_ms();
	j->o.total_ms = r->d.conf->rule_check_s * 1000;
	j->work.data = j;
	if (j->call)
		uv_timer_start(&j->poll, cand_poll, 200, 200);
	int rc = uv_queue_work(r->d.loop, &j->work, cand_work, cand_after);
	if (rc < 0) {
		j->rc = -ENOMEM;
		cand_after(&j->work, rc);
	}
}

/* Loads the pack in `dir` (and runs its tests) off the loop, then calls
 * done(r, rc, cand, info, ud) on the loop: 0 with cand and info = {tests},
 * or an error code with info = {error, ...}; the callee owns both.  `call`,
 * when not NULL, is the request whose client's hang-up cancels the check
 * (borrowed: it must outlive the check).  Returns 0, or LIU_ELIMIT when too
 * many checks wait (done is then not called). */
static int cand_start(struct rpc *r, const char *dir, bool tests, const struct rpc_call *call,
		      cand_done_fn done, void *ud)
{
	if (r->cand_queued >= CAND_QUEUE_MAX)
		return LIU_ELIMIT;
	struct cand_job *j = calloc(1, sizeof *j);
	if (!j || !(j->dir = strdup(dir))) {
		free(j);
		return -ENOMEM;
	}
	j->r = r;
	j->tests = tests;
	j->o = opts_of(r->d.conf, tests);
	atomic_init(&j->cancel, false);
	j->o.cancel = &j->cancel;
	j->call = call;
	uv_timer_init(r->d.loop, &j->poll);
	j->poll.data = j;
	j->done = done;
	j->ud = ud;
	if (r->cand_tail)
		r->cand_tail->next = j;
	else
		r->cand_head = j;
	r->cand_tail = j;
	r->cand_queued++;
	cand_next(r);
	return 0;
}

/* The reply when cand_start() refused to queue a check. */
static const char *cand_busy = "too many rule checks are waiting; try again when they end";

/* An error message ends at its first line: the traceback that follows is in
 * the reply's data (error), not in the one-line message. */
static void cut_first_line(char *msg)
{
	char *nl = strstr(msg, "\nstack traceback:");
	if (nl)
		*nl = '\0';
}

/* --- activation ------------------------------------------------------------------ */

struct activation {
	struct rpc *r;
	struct rules *next;
	char *kv[9];
	char *who, *how;
	rpc_reload_cb cb;
	void *ud;
	int gen;
};

static void activated(void *ud, int status)
{
	struct activation *a = ud;
	struct rpc *r = a->r;
	r->reloading = false;
	if (status < 0) {
		log_err("rules: activation not written, the old rules stay live error=\"%s\"",
			liu_strerror(status));
		rules_free(a->next);
		if (a->cb)
			a->cb(a->ud, status, json_pack("{s:s}", "error", "the activation could not be written"));
		goto out;
	}
	/* The swap: every call runs on this thread, so no call is inside the
	 * old pack now; writes in flight were decided by it and say so. */
	struct rules *old = r->rules;
	r->rules = a->next;
	r->rules_gen++;
	ledger_memo_clear(r->ledger); /* answers of the old pack (their pack serial guards them too) */
	r->rules_loaded_at = clock_now();
	if (r->d.sched)
		sched_set_rules(r->d.sched, a->next); /* the schedule follows the pack */
	log_info("rules: activated how=%s by=%s version=%s previous=%s dir=%s", a->how, a->who,
		 rules_version(a->next), old ? rules_version(old) : "none", rules_dir(a->next));
	json_t *res = json_pack("{s:s, s:s?, s:s, s:s, s:O}", "version", rules_version(a->next),
				"previous", old ? rules_version(old) : NULL, "dir", rules_dir(a->next),
				"how", a->how, "files",
				json_object_get(rules_describe(a->next), "files"));
	rules_free(old);
	if (a->cb)
		a->cb(a->ud, 0, res);
	else
		json_decref(res);
out:
	packs_kv_free(a->kv);
	free(a->who);
	free(a->how);
	free(a);
}

/* Records the activation of `next` durably (history, files, audit entry),
 * then swaps it in.  Takes `next`.  cb may be NULL. */
static int activate(struct rpc *r, struct rules *next, const char *who, const char *how,
		    const char *folder_version, rpc_reload_cb cb, void *ud)
{
	struct activation *a = calloc(1, sizeof *a);
	if (!a) {
		rules_free(next);
		return -ENOMEM;
	}
	a->r = r;
	a->next = next;
	a->who = strdup(who);
	a->how = strdup(how);
	a->cb = cb;
	a->ud = ud;
	json_t *d = rules_describe(next);
	int rc = packs_activation(r->d.store, rules_version(next),
				  json_string_value(json_object_get(d, "name")), rules_contents(next),
				  who, how, rules_dir(next), folder_version, a->kv);
	char nowiso[CLOCK_ISO_MAX];
	json_t *entry = json_pack("{s:s, s:{s:s, s:i}, s:s, s:s, s:s, s:s?, s:O, s:s}", "time",
				  clock_format(clock_now(), nowiso), "peer", "user", who, "uid",
				  (int)getuid(), "method", "rules.activate", "how", how, "version",
				  rules_version(next), "previous",
				  r->rules ? rules_version(r->rules) : NULL, "files",
				  json_object_get(d, "files"), "outcome", "ok");
	if (rc == 0 && !entry)
		rc = -ENOMEM;
	if (rc == 0) {
		r->reloading = true;
		rc = ledger_write(r->ledger, NULL, 0, &entry, 1, (const char *const *)a->kv, activated, a);
		if (rc < 0)
			r->reloading = false;
	}
	json_decref(entry);
	if (rc < 0) {
		rules_free(next);
		packs_kv_free(a->kv);
		free(a->who);
		free(a->how);
		free(a);
	}
	return rc;
}

/* Audits a refused reload or rollback (fire and forget). */
static void refused_written(void *ud, int status)
{
	(void)ud;
	if (status < 0)
		log_err("audit: a refused reload could not be recorded");
}

static void audit_refused(struct rpc *r, const char *who, const char *how, const char *dir,
			  json_t *err)
{
	char nowiso[CLOCK_ISO_MAX];
	json_t *entry = json_pack("{s:s, s:{s:s}, s:s, s:s, s:s?, s:s, s:O?}", "time",
				  clock_format(clock_now(), nowiso), "peer", "user", who, "method",
				  "rules.activate", "how", how, "dir", dir, "outcome", "refused",
				  "error", json_object_get(err, "error"));
	if (entry && ledger_write(r->ledger, NULL, 0, &entry, 1, NULL, refused_written, NULL) < 0)
		log_err("audit: a refused reload could not be recorded");
	json_decref(entry);
}

struct reload_ctx {
	char *path, *dir, *who, *how; /* owned; path may be NULL */
	rpc_reload_cb cb;
	void *ud;
};

static void reload_ctx_free(struct reload_ctx *x)
{
	free(x->path);
	free(x->dir);
	free(x->who);
	free(x->how);
	free(x);
}

static void reload_checked(struct rpc *r, int rc, struct rules *next, json_t *err, void *ud)
{
	struct reload_ctx *x = ud;
	r->reloading = false;
	if (rc < 0) {
		log_err("rules: %s refused by=%s dir=%s live=%s error=\"%.300s\"", x->how, x->who, x->dir,
			rules_version(r->rules), json_string_value(json_object_get(err, "error")));
		json_object_set_new(err, "live_version", json_string(rules_version(r->rules)));
		audit_refused(r, x->who, x->how, x->dir, err);
		if (x->cb)
			x->cb(x->ud, rc, err);
		else
			json_decref(err);
		reload_ctx_free(x);
		return;
	}
	if (x->path) {
		free(r->rules_path);
		r->rules_path = x->path;
		x->path = NULL;
	}
	json_decref(err);
	char fv[HASH_HEX];
	snprintf(fv, sizeof fv, "%s", rules_version(next));
	rc = activate(r, next, x->who, x->how, fv, x->cb, x->ud);
	if (rc < 0 && x->cb)
		x->cb(x->ud, rc, json_pack("{s:s}", "error", liu_strerror(rc)));
	reload_ctx_free(x);
}

int rpc_reload(struct rpc *r, const char *path, const char *who, const char *how,
	       rpc_reload_cb cb, void *ud)
{
	int rc = LIU_ECONFLICT;
	const char *why = "another reload is in progress";
	struct reload_ctx *x = NULL;
	if (r->reloading)
		goto refuse;
	const char *dir = path ? path : r->rules_path;
	rc = -ENOMEM;
	why = "out of memory";
	x = calloc(1, sizeof *x);
	if (!x || !(x->dir = strdup(dir)) || !(x->who = strdup(who)) || !(x->how = strdup(how)) ||
	    (path && !(x->path = strdup(path))))
		goto refuse;
	x->cb = cb;
	x->ud = ud;
	r->reloading = true;
	/* The request that asked for it, if any, is ud: a reload is not
	 * cancelled by a hang-up (SIGHUP and rules_watch have no client). */
	if ((rc = cand_start(r, dir, true, NULL, reload_checked, x)) < 0) {
		r->reloading = false;
		why = rc == LIU_ELIMIT ? cand_busy : liu_strerror(rc);
		goto refuse;
	}
	return 0;
refuse:
	if (x)
		reload_ctx_free(x);
	if (cb)
		cb(ud, rc, json_pack("{s:s}", "error", why));
	return rc;
}

int rpc_activate_initial(struct rpc *r, const char *folder_version, rpc_reload_cb cb, void *ud)
{
	/* Nothing is served yet: the live pack can be taken out and put back
	 * in by the activation, like any other. */
	struct rules *live = r->rules;
	r->rules = NULL;
	return activate(r, live, "liud", "start", folder_version, cb, ud);
}

/* --- methods -------------------------------------------------------------------------- */

static void reply_reload(void *ud, int rc, json_t *res)
{
	struct rpc_call *c = ud;
	if (rc < 0) {
		char msg[700];
		snprintf(msg, sizeof msg, "%s refused, the old rules stay live: %.600s",
			 c->method ? c->method : "rules.reload",
			 json_string_value(json_object_get(res, "error")));
		cut_first_line(msg);
		rpc_error(c, rc == -ENOENT || rc == -ENOTDIR ? WIRE_INVALID_PARAMS : wire_code_of(rc), msg, res);
	} else {
		rpc_result(c, res);
	}
	rpc_call_free(c);
}

enum rpc_status rpc_m_rules_reload(struct rpc_call *c)
{
	const char *path = NULL;
	if (!rpc_param_str(c, "path", false, PATH_MAX_LEN, &path))
		return RPC_DONE;
	char who[96];
	snprintf(who, sizeof who, "%s(uid=%u)", c->peer.user, (unsigned)c->peer.uid);
	struct rpc_call *k = rpc_call_keep(c);
	if (!k) {
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return RPC_DONE;
	}
	k->method = "rules.reload";
	rpc_reload(c->rpc, path, who, "reload", reply_reload, k);
	return RPC_ASYNC;
}

static void check_checked(struct rpc *r, int rc, struct rules *cand, json_t *err, void *ud)
{
	struct rpc_call *c = ud;
	if (rc < 0) {
		char msg[700];
		snprintf(msg, sizeof msg, "rule pack check failed: %.600s",
			 json_string_value(json_object_get(err, "error")));
		cut_first_line(msg);
		rpc_error(c, rc == -ENOENT || rc == -ENOTDIR ? WIRE_INVALID_PARAMS : WIRE_SCRIPT_ERROR,
			  msg, err);
		rpc_call_free(c);
		return;
	}
	json_t *d = rules_describe(cand);
	int total = (int)json_integer_value(json_object_get(err, "tests"));
	json_decref(err);
	rpc_result(c, json_pack("{s:b, s:s, s:s, s:i, s:O, s:O, s:b}", "ok", 1, "dir", rules_dir(cand),
				"version", rules_version(cand), "tests", total, "files",
				json_object_get(d, "files"), "measures", json_object_get(d, "measures"),
				"live", strcmp(rules_version(cand), rules_version(r->rules)) == 0));
	rules_free(cand);
	rpc_call_free(c);
}

enum rpc_status rpc_m_rules_check(struct rpc_call *c)
{
	struct rpc *r = c->rpc;
	const char *path = NULL;
	if (!rpc_param_str(c, "path", false, PATH_MAX_LEN, &path))
		return RPC_DONE;
	const char *dir = path ? path : r->rules_path;
	struct rpc_call *k = rpc_call_keep(c);
	if (!k) {
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return RPC_DONE;
	}
	int rc = cand_start(r, dir, true, k, check_checked, k);
	if (rc < 0) {
		rpc_fail(k, rc, rc == LIU_ELIMIT ? cand_busy : NULL, NULL);
		rpc_call_free(k);
	}
	return RPC_ASYNC;
}

enum rpc_status rpc_m_rules_history(struct rpc_call *c)
{
	uint64_t limit = 100;
	if (!rpc_param_uint(c, "limit", 10000, &limit))
		return RPC_DONE;
	json_t *h = packs_history(c->rpc->d.store, (size_t)limit);
	rpc_result(c, json_pack("{s:s, s:o}", "live", rules_version(c->rpc->rules), "history", h));
	return RPC_DONE;
}

/* A rollback: the kept version is written out and checked like a reload,
 * then the folder's own version is read (so that a restart keeps the
 * rollback as long as nobody changed the folder since), then activation. */
struct rollback {
	struct rpc_call *call;  /* owned */
	char *version, *dir;    /* owned */
	char who[96];
	struct rules *next;     /* the checked kept version, owned */
};

static void rollback_end(struct rollback *b, int rc, json_t *err)
{
	struct rpc *r = b->call->rpc;
	r->reloading = false;
	if (rc < 0) {
		audit_refused(r, b->who, "rollback", b->dir, err);
		char msg[700];
		snprintf(msg, sizeof msg, "rollback refused, the current rules stay live: %.600s",
			 json_string_value(json_object_get(err, "error")));
		cut_first_line(msg);
		rpc_error(b->call, rc == LIU_ELIMIT ? WIRE_OVER_LIMIT : WIRE_SCRIPT_ERROR, msg, err);
		rpc_call_free(b->call);
	}
	rules_free(b->next);
	free(b->version);
	free(b->dir);
	free(b);
}

static void rollback_folder_read(struct rpc *r, int rc, struct rules *folder, json_t *info, void *ud)
{
	struct rollback *b = ud;
	char fv[HASH_HEX] = "";
	if (rc == 0)
		snprintf(fv, sizeof fv, "%s", rules_version(folder));
	rules_free(folder);
	json_decref(info);
	struct rules *next = b->next;
	b->next = NULL;
	b->call->method = "rules.rollback";
	struct rpc_call *k = b->call;
	char who[sizeof b->who];
	memcpy(who, b->who, sizeof who);
	rollback_end(b, 0, NULL);
	rc = activate(r, next, who, "rollback", fv, reply_reload, k);
	if (rc < 0)
		reply_reload(k, rc, json_pack("{s:s}", "error", liu_strerror(rc)));
}

static void rollback_checked(struct rpc *r, int rc, struct rules *next, json_t *info, void *ud)
{
	struct rollback *b = ud;
	if (rc == 0 && strcmp(rules_version(next), b->version) != 0) {
		rules_free(next);
		json_decref(info);
		info = json_pack("{s:s}", "error", "the kept files do not hash to their version");
		rc = -EIO;
	}
	if (rc < 0) {
		rollback_end(b, rc, info);
		return;
	}
	json_decref(info);
	b->next = next;
	if ((rc = cand_start(r, r->rules_path, false, NULL, rollback_folder_read, b)) < 0)
		rollback_folder_read(r, rc, NULL, NULL, b);
}

enum rpc_status rpc_m_rules_rollback(struct rpc_call *c)
{
	struct rpc *r = c->rpc;
	const char *prefix;
	if (!rpc_param_str(c, "version", true, 64, &prefix))
		return RPC_DONE;
	if (r->reloading) {
		rpc_error(c, WIRE_CONFLICT, "rollback refused: another reload is in progress", NULL);
		return RPC_DONE;
	}
	char *version = NULL, *dir = NULL;
	int rc = packs_find(r->d.store, prefix, &version);
	if (rc < 0) {
		rpc_bad_param(c, "version",
			      rc == -ENOENT ? "その版は保存されていません" : "版は 8 桁以上の一意な16進数で指定してください",
			      rc == -ENOENT ? "no kept version starts with this" :
					      "give 8 or more hex digits that name exactly one kept version");
		return RPC_DONE;
	}
	char root[4200];
	snprintf(root, sizeof root, "%s/packs", r->d.conf->db);
	rc = packs_materialize(r->d.store, root, version, &dir);
	if (rc < 0) {
		free(version);
		rpc_fail(c, rc, "the kept version could not be written out", NULL);
		return RPC_DONE;
	}
	struct rollback *b = calloc(1, sizeof *b);
	if (!b || !(b->call = rpc_call_keep(c))) {
		free(b);
		free(version);
		free(dir);
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return RPC_DONE;
	}
	b->version = version;
	b->dir = dir;
	snprintf(b->who, sizeof b->who, "%s(uid=%u)", c->peer.user, (unsigned)c->peer.uid);
	r->reloading = true;
	/* Validated like a reload: tests included. */
	if ((rc = cand_start(r, dir, true, b->call, rollback_checked, b)) < 0)
		rollback_end(b, rc, json_pack("{s:s}", "error", rc == LIU_ELIMIT ? cand_busy : liu_strerror(rc)));
	return RPC_ASYNC;
}

/* --- rules.diff ------------------------------------------------------------------------ */

struct diff_job {
	struct rpc_call *call;
	struct rpc *r;
	struct rules *cand;
	int gen;              /* the live generation the diff started on */
	int64_t at, t0;
	char *after;
	uint64_t seen, changed;
	json_t *diffs;
	json_t *live_dl, *cand_dl;  /* deadlines of each pack */
	uv_timer_t timer;
};

/* The failing checks, as ids. */
static json_t *failing(json_t *ev)
{
	json_t *out = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(ev, "checks"), i, c)
		if (!json_is_true(json_object_get(c, "ok")))
			json_array_append(out, json_object_get(c, "id"));
	return out;
}

/* The state after every deadline up to `at`, and the deadlines still ahead
 * that would touch the record, under one pack. */
static void project(struct rules *p, json_t *dls, json_t *rec, int64_t at, int64_t now,
		    json_t **state, json_t **ahead)
{
	json_t *cur = json_deep_copy(rec);
	*ahead = json_array();
	size_t i;
	json_t *d;
	json_array_foreach(dls, i, d) {
		int64_t t = json_integer_value(json_object_get(d, "at"));
		const char *m = json_string_value(json_object_get(d, "measure"));
		if (t <= at) {
			json_t *out;
			if (rules_expire(p, m, cur, t, &out) == 1) {
				json_t *nr = json_object_get(out, "record");
				json_object_set(cur, "state", json_object_get(nr, "state"));
				json_object_set(cur, "data", json_object_get(nr, "data"));
			}
			json_decref(out);
		}
		if (t > now) {
			/* Ahead, and one of its hooks matches the record as it stands. */
			if (expiry_hooks_match(json_object_get(d, "hooks"),
					      json_string_value(json_object_get(rec, "kind")),
					      json_string_value(json_object_get(rec, "state")))) {
				char iso[CLOCK_ISO_MAX];
				json_array_append_new(*ahead, json_pack("{s:s, s:s}", "measure", m, "at",
									 clock_format(t, iso)));
			}
		}
	}
	*state = json_incref(json_object_get(cur, "state"));
	json_decref(cur);
}

static json_t *summary(struct rules *p, json_t *dls, json_t *rec, int64_t at, int64_t now,
		       bool *err)
{
	json_t *ev;
	if (rules_eval(p, rec, at, &ev) != 0) {
		*err = true;
		json_t *e = json_pack("{s:O?}", "error", json_object_get(ev, "error"));
		json_decref(ev);
		return e;
	}
	json_t *state, *ahead;
	project(p, dls, rec, at, now, &state, &ahead);
	json_t *s = json_pack("{s:O, s:o, s:O, s:o, s:o}", "decision", json_object_get(ev, "decision"),
			      "failing", failing(ev), "checks", json_object_get(ev, "checks"),
			      "state_after_enforcement", state, "deadlines", ahead);
	json_decref(ev);
	return s;
}

static void diff_closed(uv_handle_t *h)
{
	struct diff_job *j = h->data;
	rules_free(j->cand);
	json_decref(j->diffs);
	json_decref(j->live_dl);
	json_decref(j->cand_dl);
	free(j->after);
	free(j);
}

static void diff_finish(struct diff_job *j, int rc, const char *why)
{
	struct rpc_call *c = j->call;
	j->r->diffing = false;
	if (rc < 0) {
		rpc_error(c, wire_code_of(rc), why, NULL);
	} else {
		char iso[CLOCK_ISO_MAX];
		log_info("rules: diff done candidate=%.12s records=%llu changed=%llu ms=%lld",
			 rules_version(j->cand), (unsigned long long)j->seen,
			 (unsigned long long)j->changed, (long long)(clock_now_ms() - j->t0));
		rpc_result(c, json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:O, s:I}", "live",
					rules_version(j->r->rules), "candidate", rules_version(j->cand),
					"at", clock_format(j->at, iso), "records", (json_int_t)j->seen,
					"changed", (json_int_t)j->changed, "truncated",
					j->changed > DIFF_MAX_LISTED, "differences", j->diffs, "ms",
					(json_int_t)(clock_now_ms() - j->t0)));
	}
	rpc_call_free(c);
	uv_close((uv_handle_t *)&j->timer, diff_closed);
}

/* One chunk of records per loop turn: other clients are served between. */
static void diff_step(uv_timer_t *t)
{
	struct diff_job *j = t->data;
	struct rpc *r = j->r;
	if (r->rules_gen != j->gen) {
		diff_finish(j, LIU_ECONFLICT, "the live rules changed during the diff; run it again");
		return;
	}
	struct store_list l;
	int rc = store_list(r->d.store, NULL, NULL, j->after, DIFF_CHUNK, &l);
	if (rc < 0) {
		diff_finish(j, rc, "the records could not be read");
		return;
	}
	int64_t now = clock_now();
	for (size_t i = 0; i < l.n; i++) {
		json_t *rec = json_loadb(l.items[i].body, l.items[i].len, 0, NULL);
		if (!rec)
			continue;
		j->seen++;
		bool e1 = false, e2 = false;
		json_t *before = summary(r->rules, j->live_dl, rec, j->at, now, &e1);
		json_t *after = summary(j->cand, j->cand_dl, rec, j->at, now, &e2);
		json_t *what = json_array();
		static const char *const fields[] = { "decision", "checks", "state_after_enforcement",
						      "deadlines", "error" };
		for (int f = 0; f < 5; f++)
			if (!json_equal(json_object_get(before, fields[f]), json_object_get(after, fields[f])) &&
			    (json_object_get(before, fields[f]) || json_object_get(after, fields[f])))
				json_array_append_new(what, json_string(fields[f]));
		if (json_array_size(what) > 0) {
			j->changed++;
			if (json_array_size(j->diffs) < DIFF_MAX_LISTED) {
				json_object_del(before, "checks");
				json_object_del(after, "checks");
				json_array_append_new(j->diffs,
						      json_pack("{s:O, s:O, s:O, s:o, s:o, s:o}", "id",
								json_object_get(rec, "id"), "kind",
								json_object_get(rec, "kind"), "state",
								json_object_get(rec, "state"), "what", what,
								"before", before, "after", after));
				what = before = after = NULL;
			}
		}
		json_decref(what);
		json_decref(before);
		json_decref(after);
		json_decref(rec);
	}
	free(j->after);
	j->after = l.next ? strdup(l.next) : NULL;
	store_list_free(&l);
	if (j->seen % 10000 < DIFF_CHUNK && j->after)
		log_info("rules: diff progress records=%llu changed=%llu", (unsigned long long)j->seen,
			 (unsigned long long)j->changed);
	if (!j->after) {
		diff_finish(j, 0, NULL);
		return;
	}
	uv_timer_start(&j->timer, diff_step, 0, 0);
}

struct diff_start {
	struct rpc_call *call;  /* owned */
	int64_t at;
	char *path;             /* owned */
};

static void diff_loaded(struct rpc *r, int rc, struct rules *cand, json_t *info, void *ud)
{
	struct diff_start *ds = ud;
	struct rpc_call *c = ds->call;
	struct diff_job *j = NULL;
	if (rc < 0) {
		r->diffing = false;
		char msg[700];
		snprintf(msg, sizeof msg, "the candidate pack does not load: %.600s",
			 json_string_value(json_object_get(info, "error")));
		rpc_error(c, rc == -ENOENT || rc == -ENOTDIR ? WIRE_INVALID_PARAMS : WIRE_SCRIPT_ERROR,
			  msg, info);
		rpc_call_free(c);
		goto out;
	}
	json_decref(info);
	if (!(j = calloc(1, sizeof *j))) {
		r->diffing = false;
		rules_free(cand);
		rpc_fail(c, -ENOMEM, NULL, NULL);
		rpc_call_free(c);
		goto out;
	}
	j->call = c;
	j->r = r;
	j->cand = cand;
	j->gen = r->rules_gen;
	j->at = ds->at;
	j->t0 = clock_now_ms();
	j->diffs = json_array();
	j->live_dl = rules_deadlines(r->rules);
	j->cand_dl = rules_deadlines(cand);
	uv_timer_init(r->d.loop, &j->timer);
	j->timer.data = j;
	log_info("rules: diff started candidate=%.12s dir=%s by=%s", rules_version(cand), ds->path,
		 c->peer.user);
	uv_timer_start(&j->timer, diff_step, 0, 0);
out:
	free(ds->path);
	free(ds);
}

enum rpc_status rpc_m_rules_diff(struct rpc_call *c)
{
	struct rpc *r = c->rpc;
	const char *path;
	int64_t at = clock_now();
	if (!rpc_param_str(c, "path", true, PATH_MAX_LEN, &path) || !rpc_param_time(c, "at", &at))
		return RPC_DONE;
	if (r->diffing) {
		rpc_error(c, WIRE_OVER_LIMIT, "a rules.diff is already running; try again when it ends", NULL);
		return RPC_DONE;
	}
	struct diff_start *ds = calloc(1, sizeof *ds);
	if (!ds || !(ds->path = strdup(path)) || !(ds->call = rpc_call_keep(c))) {
		if (ds)
			free(ds->path);
		free(ds);
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return RPC_DONE;
	}
	ds->at = at;
	r->diffing = true;
	int rc = cand_start(r, path, false, ds->call, diff_loaded, ds);
	if (rc < 0) {
		r->diffing = false;
		rpc_fail(ds->call, rc, rc == LIU_ELIMIT ? cand_busy : NULL, NULL);
		rpc_call_free(ds->call);
		free(ds->path);
		free(ds);
	}
	return RPC_ASYNC;
}
