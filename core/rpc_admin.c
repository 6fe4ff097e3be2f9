/* rpc_admin — status, rules.status, audit.verify, backup, clock.set,
 * deadlines, enforce, metrics. */
#include "rpc_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "audit.h"
#include "verify.h"
#include "clock.h"
#include "errors.h"
#include "log.h"
#include "metrics.h"
#include "sched.h"
#include "version.h"
#include "wire.h"

#define PATH_MAX_LEN 4000

static void count_cb(void *ud, const char *kind, const char *state, uint64_t n)
{
	json_t *by_kind = ud;
	json_t *k = json_object_get(by_kind, kind);
	if (!k) {
		k = json_object();
		json_object_set_new(by_kind, kind, k);
	}
	json_object_set_new(k, state, json_integer((json_int_t)n));
}

static json_t *clock_json(void)
{
	char iso[CLOCK_ISO_MAX];
	return json_pack("{s:s, s:s}", "now", clock_format(clock_now(), iso), "mode",
			 clock_is_test() ? "test" : "system");
}

/* status for a peer with no role: that the daemon is up, which version, and
 * its clock.  Not the rules folder, the record counts or the load, which
 * tell an outsider what the office holds and how busy it is. */
static enum rpc_status status_minimal(struct rpc_call *c)
{
	struct rpc *r = c->rpc;
	char started[CLOCK_ISO_MAX];
	rpc_result(c, json_pack("{s:s, s:s, s:I, s:o}", "version", LIUD_VERSION, "started_at",
				clock_format(r->started_at, started), "uptime_s",
				(json_int_t)((clock_mono_ms() - r->started_ms) / 1000), "clock",
				clock_json()));
	return RPC_DONE;
}

enum rpc_status rpc_m_status(struct rpc_call *c)
{
	struct rpc *r = c->rpc;
	if (c->peer.roles == 0)
		return status_minimal(c);
	json_t *counts = json_object();
	int rc = store_counts(r->d.store, count_cb, counts);
	if (rc < 0) {
		json_decref(counts);
		rpc_fail(c, rc, NULL, NULL);
		return RPC_DONE;
	}
	char started[CLOCK_ISO_MAX], loaded[CLOCK_ISO_MAX];
	json_t *d = rules_describe(r->rules);
	uint64_t used, map;
	store_usage(r->d.store, &used, &map);
	struct commit_stats cs;
	commit_stats(r->d.commit, &cs);
	json_t *res = json_pack(
		"{s:s, s:s, s:I, s:{s:O, s:s, s:O, s:s, s:s}, s:o, s:o, s:s?,"
		" s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I}, s:I}",
		"version", LIUD_VERSION, "started_at", clock_format(r->started_at, started),
		"uptime_s", (json_int_t)((clock_mono_ms() - r->started_ms) / 1000),
		"rules", "name", json_object_get(d, "name"), "version", rules_version(r->rules),
		"title", json_object_get(d, "title"), "dir", rules_dir(r->rules), "loaded_at",
		clock_format(r->rules_loaded_at, loaded),
		"records", counts, "clock", clock_json(), "next_deadline",
		r->d.sched ? sched_next(r->d.sched) : NULL,
		"writes", "pending", (json_int_t)commit_pending(r->d.commit), "batches",
		(json_int_t)cs.batches, "committed", (json_int_t)cs.writes, "failed_batches",
		(json_int_t)cs.failures, "busy_ms", (json_int_t)(cs.busy_us / 1000),
		"storage", "used_bytes", (json_int_t)used, "map_bytes", (json_int_t)map,
		"requests", "total", (json_int_t)r->requests, "errors", (json_int_t)r->errors,
		"connections", (json_int_t)(r->d.connections ? r->d.connections(r->d.connections_ud) : 0));
	size_t dict_len;
	unsigned dict_id = store_dict_current(r->d.store, &dict_len);
	json_object_set_new(json_object_get(res, "storage"), "dictionary",
			    dict_id ? json_pack("{s:I, s:I}", "id", (json_int_t)dict_id, "bytes",
						(json_int_t)dict_len)
				    : json_null());
	if (r->d.sched)
		json_object_set_new(res, "staging", sched_staging(r->d.sched));
	size_t memo_bytes, memo_bodies, memo_n = ledger_memo_size(r->ledger, &memo_bytes, &memo_bodies);
	json_object_set_new(res, "eval_memo",
			    json_pack("{s:I, s:I, s:I, s:I, s:I}", "entries", (json_int_t)memo_n,
				      "distinct", (json_int_t)memo_bodies, "bytes", (json_int_t)memo_bytes,
				      "hits", (json_int_t)r->eval_memo_hits, "misses",
				      (json_int_t)r->eval_memo_misses));
	rpc_result(c, res);
	return RPC_DONE;
}

enum rpc_status rpc_m_rules_status(struct rpc_call *c)
{
	struct rpc *r = c->rpc;
	json_t *d = json_deep_copy(rules_describe(r->rules));
	char loaded[CLOCK_ISO_MAX];
	json_object_set_new(d, "loaded_at", json_string(clock_format(r->rules_loaded_at, loaded)));
	struct rules_stats s;
	rules_stats(r->rules, &s);
	json_object_set_new(d, "counters", rules_counters(r->rules));
	json_object_set_new(d, "stats", json_pack("{s:I, s:I, s:I, s:I}", "calls", (json_int_t)s.calls,
						  "errors", (json_int_t)s.errors, "budget_kills",
						  (json_int_t)s.budget_kills, "memory_bytes",
						  (json_int_t)s.mem_used));
	/* A peer with no role never gets here (rpc.c: only status is open to
	 * it): the counters name every action and view. */
	rpc_result(c, d);
	return RPC_DONE;
}

/*
 * audit.verify reads every entry and every record (about 0.85 s for 20,000
 * records): it runs in slices (struct rpc_job), and other clients are
 * answered between its steps.  It stops when its client hangs up and at
 * limits.request_time_s; a pack swapped meanwhile does not concern it.
 */
struct verify_job {
	struct rpc_job job;
	struct verify *v; /* owned */
};

static const char *verify_done(const struct verify_job *vj, char *buf, size_t n)
{
	uint64_t entries;
	size_t records;
	verify_progress(vj->v, &entries, &records);
	snprintf(buf, n, "entries_walked=%llu records_checked=%zu", (unsigned long long)entries,
		 records);
	return buf;
}

static void vjob_free(struct verify_job *vj)
{
	verify_free(vj->v);
	free(vj);
}

static enum slice_next vjob_step(void *ud, int64_t until_us)
{
	struct verify_job *vj = ud;
	char done[100];
	/* Nothing is streamed (the report is sent whole): never 1, "wait". */
	int rc = rpc_job_check(&vj->job);
	if (rc < 0) {
		rpc_job_stop(&vj->job, rc, verify_done(vj, done, sizeof done));
		vjob_free(vj);
		return SLICE_DONE;
	}
	json_t *report = NULL;
	rc = verify_step(vj->v, until_us, &report);
	if (rc == 1)
		return SLICE_MORE;
	struct rpc_call *c = vj->job.call;
	vj->job.call = NULL;
	if (rc < 0) {
		char msg[200];
		snprintf(msg, sizeof msg, "audit.verify could not read the store: %s", liu_strerror(rc));
		log_err("audit: verify failed error=\"%s\" %s", liu_strerror(rc),
			verify_done(vj, done, sizeof done));
		rpc_fail(c, rc, msg, NULL);
	} else {
		rpc_result(c, report);
	}
	rpc_call_free(c);
	vjob_free(vj);
	return SLICE_DONE;
}

enum rpc_status rpc_m_audit_verify(struct rpc_call *c)
{
	const char *head = NULL;
	struct verify_head pub;
	if (!rpc_param_str(c, "head", false, 100, &head))
		return RPC_DONE;
	if (head && verify_head_parse(head, &pub) < 0) {
		rpc_bad_param(c, "head", "head は「通番:ハッシュ値」の形式で指定してください（ハッシュ値は16進数小文字64桁）",
			      "must be SEQ:HASH as the log publishes it (\"audit: head=SEQ:HASH\"), "
			      "the hash in 64 lowercase hex digits");
		return RPC_DONE;
	}
	struct verify_job *vj = calloc(1, sizeof *vj);
	int rc = vj ? verify_start(c->rpc->d.store, head ? &pub : NULL, true, &vj->v) : -ENOMEM;
	if (rc == 0) {
		vj->job.whole = true;
		rc = rpc_job_start(&vj->job, c, "audit.verify", vjob_step, vj);
	}
	if (rc < 0) {
		if (vj)
			vjob_free(vj);
		rpc_fail(c, rc, NULL, NULL);
		return RPC_DONE;
	}
	return RPC_ASYNC;
}

/*
 * A backup runs on a worker thread: the copy, then the check of the copy's
 * chain.  Its client may hang up meanwhile: the loop looks every
 * BACKUP_WATCH_MS (the server's stream_ops tell) and raises `gone`, and
 * the check stops at its next step; the copy is then not kept.  LMDB's
 * copy itself cannot be stopped: it runs to its end first.
 */
#define BACKUP_WATCH_MS 50
#define BACKUP_STEP_US 20000 /* the check looks at `gone` this often */

struct backup_job {
	uv_work_t work;
	uv_timer_t watch;        /* on the loop: is the client still there? */
	struct rpc_call *call;
	struct store *st;
	char *path;
	int rc;
	int64_t t0;
	atomic_bool gone;        /* the client hung up: raised on the loop, read by the worker */
	json_t *verified; /* the check's report on the copy; owned */
	const char *why;  /* why the copy was refused, or NULL; static */
};

/* store_backup's check: the copy opens as a database (read only, nothing
 * left beside it) and its audit chain holds, or it is not kept. */
static int backup_check(const char *file, void *arg)
{
	struct backup_job *j = arg;
	struct store *copy;
	struct store_opts o = { .check_copy = true };
	int rc = store_open(&copy, file, &o);
	if (rc < 0) {
		j->why = "the copy does not open as a database";
		return rc;
	}
	struct verify *v = NULL;
	rc = atomic_load(&j->gone) ? -ECANCELED : verify_start(copy, NULL, false, &v);
	while (rc == 0 && (rc = verify_step(v, slice_now_us() + BACKUP_STEP_US,
						   &j->verified)) == 1)
		rc = atomic_load(&j->gone) ? -ECANCELED : 0;
	verify_free(v);
	store_close(copy);
	if (rc == -ECANCELED)
		return rc;
	if (rc < 0) {
		j->why = "the copy's audit chain could not be read";
		return rc;
	}
	if (!json_is_true(json_object_get(j->verified, "ok"))) {
		j->why = "the copy's audit chain does not hold (see audit verify on the daemon)";
		return -EUCLEAN;
	}
	return 0;
}

static void backup_work(uv_work_t *w)
{
	struct backup_job *j = w->data;
	/* Off the loop: a compacting copy of a large database takes seconds,
	 * and readers and the committer go on meanwhile (LMDB copies from a
	 * read transaction's snapshot).  The check reads the whole chain. */
	j->rc = store_backup(j->st, j->path, backup_check, j);
}

static void backup_watch(uv_timer_t *t)
{
	struct backup_job *j = t->data;
	struct rpc_call *c = j->call;
	if (c->rpc->stream->backlog(c->slot) < 0) {
		atomic_store(&j->gone, true);
		uv_timer_stop(t);
	}
}

static void backup_free(uv_handle_t *h)
{
	struct backup_job *j = h->data;
	json_decref(j->verified);
	free(j->path);
	free(j);
}

static void backup_done(uv_work_t *w, int status)
{
	struct backup_job *j = w->data;
	struct rpc_call *c = j->call;
	uv_timer_stop(&j->watch);
	uv_close((uv_handle_t *)&j->watch, backup_free); /* frees j at the loop's next turn */
	if (status < 0)
		j->rc = -ECANCELED;
	if (j->rc == -ECANCELED && atomic_load(&j->gone)) {
		c->rpc->jobs_cancelled++;
		log_info("backup: cancelled, the client hung up path=%s ms=%lld: nothing kept by=%s",
			 j->path, (long long)(clock_now_ms() - j->t0), c->peer.user);
		c->fn(c->slot, NULL, 0); /* nobody hears of it; the slot is freed */
	} else if (j->rc < 0) {
		char msg[400];
		snprintf(msg, sizeof msg, "backup failed, nothing kept in %s: %s%s%s", j->path,
			 j->why ? j->why : "", j->why ? ": " : "", liu_strerror(j->rc));
		log_err("backup: failed path=%s error=\"%s\"%s%s%s", j->path, liu_strerror(j->rc),
			j->why ? " why=\"" : "", j->why ? j->why : "", j->why ? "\"" : "");
		rpc_fail(c, j->rc, msg, NULL);
		c->rpc->backups_failed++;
	} else {
		char probe[PATH_MAX_LEN + 16];
		struct stat sb = { 0 };
		snprintf(probe, sizeof probe, "%s/data.mdb", j->path);
		stat(probe, &sb);
		int64_t ms = clock_now_ms() - j->t0;
		json_int_t entries = json_integer_value(json_object_get(j->verified, "entries"));
		c->rpc->last_backup_at = clock_now(); /* the daemon's clock, as the other gauges */
		c->rpc->last_backup_bytes = (int64_t)sb.st_size;
		log_info("backup: written and verified path=%s bytes=%lld ms=%lld audit_entries=%lld "
			 "by=%s", j->path, (long long)sb.st_size, (long long)ms, (long long)entries,
			 c->peer.user);
		rpc_result(c, json_pack("{s:s, s:I, s:I, s:{s:I, s:O}}", "path", j->path, "bytes",
					(json_int_t)sb.st_size, "ms", (json_int_t)ms, "verified",
					"audit_entries", entries, "audit_head",
					json_object_get(j->verified, "head")));
	}
	rpc_call_free(c);
}

/*
 * The backup folder could not be made.  Only the last component is created:
 * a missing parent is named rather than made, since a typo in it would
 * otherwise leave a backup where nobody looks for it.
 */
static void backup_mkdir_failed(struct rpc_call *c, const char *path, int err)
{
	char parent[PATH_MAX_LEN + 1], ja[PATH_MAX_LEN + 300], en[PATH_MAX_LEN + 300];
	snprintf(parent, sizeof parent, "%s", path);
	char *slash = strrchr(parent, '/');
	if (slash)
		*(slash == parent ? slash + 1 : slash) = '\0';
	if (err == ENOENT) {
		snprintf(ja, sizeof ja, "バックアップ先の親フォルダ %s が存在しません。作成してから"
			 "再度実行してください（バックアップはその中に作成されます）", parent);
		snprintf(en, sizeof en, "the parent folder %s does not exist: create it first (the "
			 "backup makes only its own folder inside it)", parent);
	} else if (err == EROFS || err == EACCES || err == EPERM) {
		snprintf(ja, sizeof ja, "デーモンは %s に書き込めません（%s）。デーモンが書き込める"
			 "フォルダを指定してください（systemd のサービスでは ReadWritePaths= に列挙された"
			 "フォルダ）", parent, strerror(err));
		snprintf(en, sizeof en, "the daemon may not write in %s (%s): give a folder it may "
			 "write in (under its systemd unit, one that ReadWritePaths= lists)", parent,
			 strerror(err));
	} else {
		snprintf(ja, sizeof ja, "バックアップ先のフォルダを作成できません（%s）", strerror(err));
		snprintf(en, sizeof en, "cannot create the backup folder: %s", strerror(err));
	}
	rpc_bad_param(c, "path", ja, en);
}

enum rpc_status rpc_m_backup(struct rpc_call *c)
{
	const char *path;
	if (!rpc_param_str(c, "path", true, PATH_MAX_LEN, &path))
		return RPC_DONE;
	if (path[0] != '/') {
		rpc_bad_param(c, "path", "絶対パスで指定してください", "must be an absolute path");
		return RPC_DONE;
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		backup_mkdir_failed(c, path, errno);
		return RPC_DONE;
	}
	char probe[PATH_MAX_LEN + 16];
	snprintf(probe, sizeof probe, "%s/data.mdb", path);
	struct stat sb;
	if (stat(probe, &sb) == 0) {
		rpc_bad_param(c, "path", "バックアップ先に既にデータベースがあります",
			      "the folder already holds a database; give a new or empty folder");
		return RPC_DONE;
	}
	struct backup_job *j = calloc(1, sizeof *j);
	if (!j || !(j->path = strdup(path)) || !(j->call = rpc_call_keep(c))) {
		if (j)
			free(j->path);
		free(j);
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return RPC_DONE;
	}
	j->st = c->rpc->d.store;
	j->t0 = clock_now_ms();
	j->work.data = j;
	atomic_init(&j->gone, false);
	int rc = uv_queue_work(c->rpc->d.loop, &j->work, backup_work, backup_done);
	if (rc < 0) {
		*c = *j->call;
		free(j->call);
		free(j->path);
		free(j);
		rpc_fail(c, -EIO, "backup could not be started", NULL);
		return RPC_DONE;
	}
	uv_timer_init(c->rpc->d.loop, &j->watch);
	j->watch.data = j;
	if (c->rpc->stream) /* without a server (a harness), nobody can hang up */
		uv_timer_start(&j->watch, backup_watch, BACKUP_WATCH_MS, BACKUP_WATCH_MS);
	return RPC_ASYNC;
}

/*
 * A clock set back before deadlines already enforced: what they did stays
 * done (records expired stay expired); each runs again when the clock
 * passes it, for the records that would have lapsed since.  The reply warns
 * and the log says so.  Adds {warning, enforced_ahead} to res.
 */
static void clock_set_warn(struct sched *s, json_t *res)
{
	json_t *all = sched_deadlines(s, 10000, true), *ahead = json_array();
	size_t i;
	json_t *d;
	json_array_foreach(all, i, d)
		if (json_is_true(json_object_get(d, "enforced")) && !json_is_true(json_object_get(d, "due")))
			json_array_append(ahead, d);
	if (json_array_size(ahead) > 0) {
		json_t *first = json_array_get(ahead, 0);
		char msg[400];
		snprintf(msg, sizeof msg,
			 "the clock is now before %zu deadline(s) already enforced, the first %s "
			 "(measure %s): what they changed stays changed, and each runs again when the clock passes it",
			 json_array_size(ahead), json_string_value(json_object_get(first, "at")),
			 json_string_value(json_object_get(first, "measure")));
		log_warn("clock: set back past enforced deadline measure=%s deadline=%s count=%zu",
			 json_string_value(json_object_get(first, "measure")),
			 json_string_value(json_object_get(first, "at")), json_array_size(ahead));
		const char *back = json_string_value(json_object_get(res, "warning"));
		char *both = NULL;
		if (back && asprintf(&both, "%s; %s", back, msg) >= 0)
			json_object_set_new(res, "warning", json_string(both));
		else
			json_object_set_new(res, "warning", json_string(msg));
		free(both);
		json_object_set(res, "enforced_ahead", ahead);
	}
	json_decref(ahead);
	json_decref(all);
}

enum rpc_status rpc_m_clock_set(struct rpc_call *c)
{
	int64_t now = 0;
	if (!json_object_get(c->params, "now")) {
		rpc_bad_param(c, "now", "必須です", "is required");
		return RPC_DONE;
	}
	if (!rpc_param_time(c, "now", &now))
		return RPC_DONE;
	int64_t before = clock_now();
	if (clock_set(now) < 0) {
		rpc_error(c, WIRE_FORBIDDEN, "forbidden: clock.set works only in a daemon started with --test-clock",
			  json_pack("{s:{s:s, s:s}}", "reason", "ja",
				    "テスト用時計（--test-clock）で起動したときだけ時計を設定できます",
				    "en", "the clock can be set only when started with --test-clock"));
		return RPC_DONE;
	}
	log_info("clock: set now=%s by=%s", json_string_value(json_object_get(c->params, "now")),
		 c->peer.user);
	json_t *res = clock_json();
	if (now < before) {
		/* Back in time: instants already passed come again.  Said even
		 * with no deadline enforced in between (clock_set_warn() says more
		 * when there is one). */
		char was[CLOCK_ISO_MAX], to[CLOCK_ISO_MAX], msg[200];
		snprintf(msg, sizeof msg, "the clock went back from %s to %s",
			 clock_format(before, was), clock_format(now, to));
		json_object_set_new(res, "warning", json_string(msg));
		json_object_set_new(res, "was", json_string(was));
	}
	if (c->rpc->d.sched) {
		/* Before the kick: the kick reopens the deadlines now ahead. */
		clock_set_warn(c->rpc->d.sched, res);
		sched_kick(c->rpc->d.sched); /* a deadline may now be due, or ahead again */
	}
	rpc_result(c, res);
	return RPC_DONE;
}

enum rpc_status rpc_m_deadlines(struct rpc_call *c)
{
	uint64_t limit = 100;
	if (!rpc_param_uint(c, "limit", 10000, &limit))
		return RPC_DONE;
	json_t *all = json_object_get(c->params, "all");
	rpc_result(c, json_pack("{s:o, s:o}", "deadlines",
				sched_deadlines(c->rpc->d.sched, (size_t)limit, json_is_true(all)),
				"clock", clock_json()));
	return RPC_DONE;
}

static void enforced(void *ud, json_t *report)
{
	struct rpc_call *c = ud;
	if (json_object_get(report, "error")) {
		char msg[300];
		snprintf(msg, sizeof msg, "enforcement failed: %s",
			 json_string_value(json_object_get(report, "error")));
		rpc_error(c, WIRE_STORAGE_FULL, msg, report);
	} else {
		json_object_set_new(report, "clock", clock_json());
		rpc_result(c, report);
	}
	rpc_call_free(c);
}

enum rpc_status rpc_m_enforce(struct rpc_call *c)
{
	struct rpc_call *k = rpc_call_keep(c);
	if (!k) {
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return RPC_DONE;
	}
	log_info("sched: enforce requested by=%s", k->peer.user);
	/* The reply comes when everything due is durable (maybe at once). */
	sched_enforce_now(c->rpc->d.sched, enforced, k);
	return RPC_ASYNC;
}

static void prom_counts(void *ud, const char *kind, const char *state, uint64_t n)
{
	fprintf(ud, "liud_records{kind=\"%s\",state=\"%s\"} %llu\n", kind, state,
		(unsigned long long)n);
}

/* Label values are pack names (ASCII identifiers in practice); escape the
 * three characters the format reserves anyway. */
static void prom_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

/* The database, the committer and enforcement, for rpc_m_metrics(). */
static void metrics_storage(struct rpc *r, FILE *f)
{
	uint64_t used, map;
	store_usage(r->d.store, &used, &map);
	fprintf(f, "# HELP liud_db_used_bytes Bytes of the database file in use.\n# TYPE liud_db_used_bytes gauge\n"
		"liud_db_used_bytes %llu\n", (unsigned long long)used);
	fprintf(f, "# HELP liud_db_map_bytes Size of the LMDB map (the most the file may grow to without a resize).\n"
		"# TYPE liud_db_map_bytes gauge\nliud_db_map_bytes %llu\n", (unsigned long long)map);
	struct commit_stats cs;
	commit_stats(r->d.commit, &cs);
	fprintf(f, "# HELP liud_commits_total Durable transactions (group commits).\n# TYPE liud_commits_total counter\n"
		"liud_commits_total %llu\n", (unsigned long long)cs.batches);
	fprintf(f, "# HELP liud_commit_seconds_total Time spent in durable transactions, fsync included.\n"
		"# TYPE liud_commit_seconds_total counter\nliud_commit_seconds_total %.6f\n", (double)cs.busy_us / 1e6);
	fprintf(f, "# HELP liud_committed_writes_total Writes made durable.\n# TYPE liud_committed_writes_total counter\n"
		"liud_committed_writes_total %llu\n", (unsigned long long)cs.writes);
	fprintf(f, "# HELP liud_commit_failures_total Transactions that failed (nothing of them was written).\n"
		"# TYPE liud_commit_failures_total counter\nliud_commit_failures_total %llu\n",
		(unsigned long long)cs.failures);
	fprintf(f, "# HELP liud_writes_pending Writes queued or being committed.\n# TYPE liud_writes_pending gauge\n"
		"liud_writes_pending %zu\n", commit_pending(r->d.commit));
	fputs("# HELP liud_records Stored records by kind and state.\n# TYPE liud_records gauge\n", f);
	store_counts(r->d.store, prom_counts, f);
	struct sched_stats ss = { 0 };
	if (r->d.sched)
		sched_stats(r->d.sched, &ss);
	fprintf(f, "# HELP liud_enforcement_runs_total Deadlines enforced.\n# TYPE liud_enforcement_runs_total counter\n"
		"liud_enforcement_runs_total %llu\n", (unsigned long long)ss.runs);
	fprintf(f, "# HELP liud_enforcement_batches_total Enforcement transactions written.\n"
		"# TYPE liud_enforcement_batches_total counter\nliud_enforcement_batches_total %llu\n",
		(unsigned long long)ss.batches);
	fprintf(f, "# HELP liud_enforced_records_total Records changed by enforcement.\n"
		"# TYPE liud_enforced_records_total counter\nliud_enforced_records_total %llu\n",
		(unsigned long long)ss.records_changed);
}

/* The live pack: its calls, budgets, memo and per-rule counters. */
static void metrics_rules(struct rpc *r, FILE *f)
{
	struct rules_stats rs;
	rules_stats(r->rules, &rs);
	fputs("# HELP liud_rules_info The live rule pack.\n# TYPE liud_rules_info gauge\nliud_rules_info{name=\"", f);
	prom_label(f, json_string_value(json_object_get(rules_describe(r->rules), "name")));
	fprintf(f, "\",version=\"%s\"} 1\n", rules_version(r->rules));
	fprintf(f, "# HELP liud_rule_calls_total Calls into the rule pack since it was loaded.\n"
		"# TYPE liud_rule_calls_total counter\nliud_rule_calls_total %llu\n",
		(unsigned long long)rs.calls);
	fprintf(f, "# HELP liud_rule_failures_total Rule calls that ended in a script error or overrun.\n"
		"# TYPE liud_rule_failures_total counter\nliud_rule_failures_total %llu\n",
		(unsigned long long)rs.errors);
	fprintf(f, "# HELP liud_rule_budget_kills_total Rule calls stopped by the instruction or time budget.\n"
		"# TYPE liud_rule_budget_kills_total counter\nliud_rule_budget_kills_total %llu\n",
		(unsigned long long)rs.budget_kills);
	fprintf(f, "# HELP liud_rules_memory_bytes Memory of the live pack's Lua state.\n"
		"# TYPE liud_rules_memory_bytes gauge\nliud_rules_memory_bytes %zu\n", rs.mem_used);
	size_t memo_bytes, memo_n = ledger_memo_size(r->ledger, &memo_bytes, NULL);
	fprintf(f, "# HELP liud_eval_memo_hits_total Evals answered from the memo (no decoding, no Lua).\n"
		"# TYPE liud_eval_memo_hits_total counter\nliud_eval_memo_hits_total %llu\n"
		"# HELP liud_eval_memo_misses_total Evals of stored records computed and kept in the memo.\n"
		"# TYPE liud_eval_memo_misses_total counter\nliud_eval_memo_misses_total %llu\n"
		"# HELP liud_eval_memo_entries Answers kept in the eval memo.\n"
		"# TYPE liud_eval_memo_entries gauge\nliud_eval_memo_entries %zu\n"
		"# HELP liud_eval_memo_bytes Bytes charged to the eval memo.\n"
		"# TYPE liud_eval_memo_bytes gauge\nliud_eval_memo_bytes %zu\n",
		(unsigned long long)r->eval_memo_hits, (unsigned long long)r->eval_memo_misses, memo_n,
		memo_bytes);
	json_t *cn = rules_counters(r->rules);
	static const struct { const char *fam, *key, *help; double scale; } fams[] = {
		{ "liud_rule_invocations_total", "calls", "Calls per check, action, expiry hook and view.", 1 },
		{ "liud_rule_invocation_failures_total", "failures", "Failed calls per check, action, expiry hook and view.", 1 },
		{ "liud_rule_invocation_seconds_total", "time_us", "Time spent per check, action, expiry hook and view.", 1e-6 },
	};
	for (int i = 0; i < 3; i++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", fams[i].fam, fams[i].help, fams[i].fam);
		const char *class;
		json_t *byname;
		json_object_foreach(cn, class, byname) {
			const char *name;
			json_t *v;
			json_object_foreach(byname, name, v) {
				fprintf(f, "%s{class=\"%s\",rule=\"", fams[i].fam, class);
				prom_label(f, name);
				fprintf(f, "\"} %.6g\n",
					(double)json_integer_value(json_object_get(v, fams[i].key)) * fams[i].scale);
			}
		}
	}
	json_decref(cn);
}

/* What an operator alerts on: the build, the next deadline (on the
 * daemon's clock, a test clock's under one), the last backup (real time). */
static void metrics_ops(struct rpc *r, FILE *f)
{
	fputs("# HELP liud_build_info The daemon's version and the live rule pack's, as labels.\n"
	      "# TYPE liud_build_info gauge\nliud_build_info{version=\"", f);
	prom_label(f, LIUD_VERSION);
	fputs("\",rules_version=\"", f);
	prom_label(f, rules_version(r->rules));
	fprintf(f, "\",clock=\"%s\"} 1\n", clock_is_test() ? "test" : "system");
	fprintf(f, "# HELP liud_clock_seconds The daemon's clock (a test clock's under one), Unix time.\n"
		"# TYPE liud_clock_seconds gauge\nliud_clock_seconds %lld\n", (long long)clock_now());
	const char *next = r->d.sched ? sched_next(r->d.sched) : NULL;
	int64_t at;
	struct clock_why why;
	if (next && clock_parse(next, &at, &why) == 0)
		fprintf(f, "# HELP liud_next_deadline_timestamp_seconds The next deadline not yet enforced, Unix time.\n"
			"# TYPE liud_next_deadline_timestamp_seconds gauge\n"
			"liud_next_deadline_timestamp_seconds %lld\n"
			"# HELP liud_next_deadline_seconds Seconds from the daemon's clock to the next deadline "
			"(negative: overdue, not yet enforced).\n"
			"# TYPE liud_next_deadline_seconds gauge\nliud_next_deadline_seconds %lld\n",
			(long long)at, (long long)(at - clock_now()));
	fprintf(f, "# HELP liud_last_backup_timestamp_seconds When the last backup since the start was "
		"written and verified, Unix time (0: none yet).\n"
		"# TYPE liud_last_backup_timestamp_seconds gauge\n"
		"liud_last_backup_timestamp_seconds %lld\n"
		"# HELP liud_last_backup_bytes The size of that backup.\n"
		"# TYPE liud_last_backup_bytes gauge\nliud_last_backup_bytes %lld\n"
		"# HELP liud_backup_failures_total Backups that failed since the start.\n"
		"# TYPE liud_backup_failures_total counter\nliud_backup_failures_total %llu\n",
		(long long)r->last_backup_at, (long long)r->last_backup_bytes,
		(unsigned long long)r->backups_failed);
}

enum rpc_status rpc_m_metrics(struct rpc_call *c)
{
	struct rpc *r = c->rpc;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return RPC_DONE;
	}
	metrics_write_requests(f);
	fprintf(f, "# HELP liud_up_seconds Seconds since the daemon started.\n# TYPE liud_up_seconds gauge\n"
		"liud_up_seconds %lld\n", (long long)((clock_mono_ms() - r->started_ms) / 1000));
	fputs("# HELP liud_log_suppressed_total Log lines left out by the rate limit (log_rate), by kind.\n"
	      "# TYPE liud_log_suppressed_total counter\n", f);
	for (int k = 0; k < LOG_KINDS; k++)
		fprintf(f, "liud_log_suppressed_total{kind=\"%s\"} %llu\n", log_kind_name((enum log_kind)k),
			(unsigned long long)log_suppressed((enum log_kind)k));
	fprintf(f, "# HELP liud_connections Open client connections.\n# TYPE liud_connections gauge\n"
		"liud_connections %zu\n", r->d.connections ? r->d.connections(r->d.connections_ud) : 0);
	metrics_storage(r, f);
	metrics_rules(r, f);
	metrics_ops(r, f);
	fclose(f);
	rpc_result(c, json_stringn(buf, len));
	free(buf);
	return RPC_DONE;
}
