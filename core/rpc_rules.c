/* rpc_rules — the rule lifecycle: rules.check, rules.reload (and SIGHUP),
 * rules.history, rules.rollback, rules.diff, and activation at start. */
#include "rpc_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "clock.h"
#include "log.h"
#include "packs.h"
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

/* Loads a candidate pack and runs its tests.  Returns 0 with *out, or an
 * error code with *err = {error, ...} (caller decrefs). */
static int candidate(struct rpc *r, const char *dir, bool tests, struct rules **out, json_t **err)
{
	struct rules_opts o = opts_of(r->d.conf, tests);
	char *msg = NULL;
	int rc = rules_load(out, dir, &o, &msg);
	if (rc < 0) {
		*err = json_pack("{s:s, s:s}", "error", msg ? msg : liu_strerror(rc), "dir", dir);
		free(msg);
		return rc;
	}
	if (!tests)
		return 0;
	char *report = NULL;
	int total = 0;
	int failed = rules_test_report(*out, &report, &total);
	if (failed != 0) {
		*err = json_pack("{s:s, s:s, s:s, s:i, s:i}", "error",
				 report ? report : "the pack's tests could not run", "dir", dir, "version",
				 rules_version(*out), "tests", total, "failed_tests", failed);
		free(report);
		rules_free(*out);
		*out = NULL;
		return LIU_ESCRIPT;
	}
	return 0;
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

int rpc_reload(struct rpc *r, const char *path, const char *who, const char *how,
	       rpc_reload_cb cb, void *ud)
{
	if (r->reloading) {
		if (cb)
			cb(ud, LIU_ECONFLICT, json_pack("{s:s}", "error", "another reload is in progress"));
		return LIU_ECONFLICT;
	}
	const char *dir = path ? path : r->rules_path;
	struct rules *next;
	json_t *err;
	int rc = candidate(r, dir, true, &next, &err);
	if (rc < 0) {
		log_err("rules: %s refused by=%s dir=%s live=%s error=\"%.300s\"", how, who, dir,
			rules_version(r->rules), json_string_value(json_object_get(err, "error")));
		json_object_set_new(err, "live_version", json_string(rules_version(r->rules)));
		audit_refused(r, who, how, dir, err);
		if (cb)
			cb(ud, rc, err);
		else
			json_decref(err);
		return rc;
	}
	if (path) {
		free(r->rules_path);
		r->rules_path = strdup(path);
	}
	char fv[HASH_HEX];
	snprintf(fv, sizeof fv, "%s", rules_version(next));
	return activate(r, next, who, how, fv, cb, ud);
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

enum rpc_status rpc_m_rules_check(struct rpc_call *c)
{
	struct rpc *r = c->rpc;
	const char *path = NULL;
	if (!rpc_param_str(c, "path", false, PATH_MAX_LEN, &path))
		return RPC_DONE;
	const char *dir = path ? path : r->rules_path;
	struct rules *cand;
	json_t *err;
	int rc = candidate(r, dir, true, &cand, &err);
	if (rc < 0) {
		char msg[700];
		snprintf(msg, sizeof msg, "rule pack check failed: %.600s",
			 json_string_value(json_object_get(err, "error")));
		rpc_error(c, rc == -ENOENT || rc == -ENOTDIR ? WIRE_INVALID_PARAMS : WIRE_SCRIPT_ERROR,
			  msg, err);
		return RPC_DONE;
	}
	json_t *d = rules_describe(cand);
	char *report = NULL;
	int total = 0;
	rules_test_report(cand, &report, &total); /* passed: candidate() ran them */
	free(report);
	rpc_result(c, json_pack("{s:b, s:s, s:s, s:i, s:O, s:O, s:b}", "ok", 1, "dir", dir,
				"version", rules_version(cand), "tests", total, "files",
				json_object_get(d, "files"), "measures", json_object_get(d, "measures"),
				"live", strcmp(rules_version(cand), rules_version(r->rules)) == 0));
	rules_free(cand);
	return RPC_DONE;
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

enum rpc_status rpc_m_rules_rollback(struct rpc_call *c)
{
	struct rpc *r = c->rpc;
	const char *prefix;
	if (!rpc_param_str(c, "version", true, 64, &prefix))
		return RPC_DONE;
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
	char who[96];
	snprintf(who, sizeof who, "%s(uid=%u)", c->peer.user, (unsigned)c->peer.uid);
	struct rules *next;
	json_t *err;
	/* Validated like a reload: tests included. */
	rc = candidate(r, dir, true, &next, &err);
	if (rc == 0 && strcmp(rules_version(next), version) != 0) {
		rules_free(next);
		err = json_pack("{s:s}", "error", "the kept files do not hash to their version");
		rc = -EIO;
	}
	if (rc < 0) {
		audit_refused(r, who, "rollback", dir, err);
		char msg[700];
		snprintf(msg, sizeof msg, "rollback refused, the current rules stay live: %.600s",
			 json_string_value(json_object_get(err, "error")));
		rpc_error(c, WIRE_SCRIPT_ERROR, msg, err);
		free(version);
		free(dir);
		return RPC_DONE;
	}
	/* The folder's own version, so that a restart keeps the rollback as
	 * long as nobody changed the folder since. */
	struct rules *folder;
	char fv[HASH_HEX] = "";
	struct rules_opts o = opts_of(r->d.conf, false);
	char *ferr = NULL;
	if (rules_load(&folder, r->rules_path, &o, &ferr) == 0) {
		snprintf(fv, sizeof fv, "%s", rules_version(folder));
		rules_free(folder);
	}
	free(ferr);
	struct rpc_call *k = rpc_call_keep(c);
	free(version);
	free(dir);
	if (!k) {
		rules_free(next);
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return RPC_DONE;
	}
	k->method = "rules.rollback";
	if (r->reloading) {
		rules_free(next);
		reply_reload(k, LIU_ECONFLICT, json_pack("{s:s}", "error", "another reload is in progress"));
		return RPC_ASYNC;
	}
	rc = activate(r, next, who, "rollback", fv, reply_reload, k);
	if (rc < 0)
		reply_reload(k, rc, json_pack("{s:s}", "error", liu_strerror(rc)));
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
			if (sched_hooks_match(json_object_get(d, "hooks"),
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
	struct rules *cand;
	json_t *err;
	int rc = candidate(r, path, false, &cand, &err);
	if (rc < 0) {
		char msg[700];
		snprintf(msg, sizeof msg, "the candidate pack does not load: %.600s",
			 json_string_value(json_object_get(err, "error")));
		rpc_error(c, rc == -ENOENT || rc == -ENOTDIR ? WIRE_INVALID_PARAMS : WIRE_SCRIPT_ERROR,
			  msg, err);
		return RPC_DONE;
	}
	struct diff_job *j = calloc(1, sizeof *j);
	if (!j || !(j->call = rpc_call_keep(c))) {
		free(j);
		rules_free(cand);
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return RPC_DONE;
	}
	j->r = r;
	j->cand = cand;
	j->gen = r->rules_gen;
	j->at = at;
	j->t0 = clock_now_ms();
	j->diffs = json_array();
	j->live_dl = rules_deadlines(r->rules);
	j->cand_dl = rules_deadlines(cand);
	uv_timer_init(r->d.loop, &j->timer);
	j->timer.data = j;
	r->diffing = true;
	log_info("rules: diff started candidate=%.12s dir=%s by=%s", rules_version(cand), path,
		 j->call->peer.user);
	uv_timer_start(&j->timer, diff_step, 0, 0);
	return RPC_ASYNC;
}
