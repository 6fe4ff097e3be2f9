/* lifecycle — see lifecycle.h. */
#include "lifecycle.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "expiry.h"
#include "hash.h"
#include "log.h"
#include "packs.h"
#include "sched.h"
#include "errors.h"

#define DIFF_CHUNK 500   /* records a step reads at most */
#define DIFF_STEP_NS (5 * 1000000) /* what a step aims at: its records per step follow */
#define DIFF_MAX_LISTED 1000

struct cand_job;

struct life {
	struct life_deps d;
	char *rules_path;        /* owned */
	struct sched *sched;     /* may be NULL */
	int gen;                 /* bumped at every swap: a diff started before one is void */
	bool reloading;          /* an activation is being checked or written */
	bool diffing;            /* a rules.diff is running */
	/* candidate packs checked off the loop: the one running and those
	 * waiting, in order */
	struct cand_job *cand_running, *cand_head, *cand_tail;
	size_t cand_queued;
};

static struct rules *live(struct life *l) { return l->d.live(l->d.ud); }

int life_new(struct life **out, const struct life_deps *deps)
{
	struct life *l = calloc(1, sizeof *l);
	if (!l || !(l->rules_path = strdup(deps->rules_path))) {
		free(l);
		return -ENOMEM;
	}
	l->d = *deps;
	l->d.rules_path = l->rules_path;
	*out = l;
	return 0;
}

void life_free(struct life *l)
{
	if (!l)
		return;
	free(l->rules_path);
	free(l);
}

void life_set_sched(struct life *l, struct sched *s) { l->sched = s; }
bool life_reloading(const struct life *l) { return l->reloading; }

static struct rules_opts opts_of(const struct conf *cf, bool tests)
{
	return (struct rules_opts){ .mem_limit = cf->rule_memory,
				    .instr_limit = cf->rule_instructions,
				    .time_limit_ms = cf->rule_time_ms,
				    .load_tests = tests, .pack_bytes = cf->pack_bytes };
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

typedef void (*cand_done_fn)(struct life *l, int rc, struct rules *cand, json_t *err, void *ud);

struct cand_job {
	uv_work_t work;
	struct life *l;
	char *dir;                 /* owned */
	bool tests;
	struct rules_opts o;
	atomic_bool cancel;        /* set on the loop, read by the worker's hook */
	life_gone_fn gone;         /* whose hang-up cancels (or NULL) */
	void *gone_ud;
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

static void cand_next(struct life *l);

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
	if (j->gone && j->gone(j->gone_ud) && !atomic_load(&j->cancel)) {
		log_info("rules: check cancelled, the client hung up dir=%s", j->dir);
		atomic_store(&j->cancel, true);
	}
}

static void cand_after(uv_work_t *w, int status)
{
	struct cand_job *j = w->data;
	struct life *l = j->l;
	(void)status;
	l->cand_running = NULL;
	struct rules *cand;
	json_t *err;
	int rc = cand_outcome(j, &cand, &err);
	log_info("rules: check done dir=%s tests=%d failed=%d ms=%lld outcome=%s", j->dir, j->total,
		 j->failed, (long long)(clock_now_ms() - j->t0), rc < 0 ? "refused" : "ok");
	j->done(l, rc, cand, err, j->ud);
	uv_timer_stop(&j->poll);
	uv_close((uv_handle_t *)&j->poll, cand_free);
	cand_next(l);
}

static void cand_next(struct life *l)
{
	struct cand_job *j = l->cand_head;
	if (l->cand_running || !j)
		return;
	l->cand_head = j->next;
	if (!l->cand_head)
		l->cand_tail = NULL;
	l->cand_queued--;
	l->cand_running = j;
	j->t0 = clock_now_ms();
	j->o.total_ms = l->d.conf->rule_check_s * 1000;
	j->work.data = j;
	if (j->gone)
		uv_timer_start(&j->poll, cand_poll, 200, 200);
	int rc = uv_queue_work(l->d.loop, &j->work, cand_work, cand_after);
	if (rc < 0) {
		j->rc = -ENOMEM;
		cand_after(&j->work, rc);
	}
}

/* Loads the pack in `dir` (and runs its tests) off the loop, then calls
 * done(l, rc, cand, info, ud) on the loop: 0 with cand and info = {tests},
 * or an error code with info = {error, ...}; the callee owns both.  `gone`,
 * when not NULL, says whether the client that asked hung up (the check is
 * then cancelled).  Returns 0, or LIU_ELIMIT when too many checks wait
 * (done is then not called). */
static int cand_start(struct life *l, const char *dir, bool tests, life_gone_fn gone,
		      void *gone_ud, cand_done_fn done, void *ud)
{
	if (l->cand_queued >= CAND_QUEUE_MAX)
		return LIU_ELIMIT;
	struct cand_job *j = calloc(1, sizeof *j);
	if (!j || !(j->dir = strdup(dir))) {
		free(j);
		return -ENOMEM;
	}
	j->l = l;
	j->tests = tests;
	j->o = opts_of(l->d.conf, tests);
	atomic_init(&j->cancel, false);
	j->o.cancel = &j->cancel;
	j->gone = gone;
	j->gone_ud = gone_ud;
	uv_timer_init(l->d.loop, &j->poll);
	j->poll.data = j;
	j->done = done;
	j->ud = ud;
	if (l->cand_tail)
		l->cand_tail->next = j;
	else
		l->cand_head = j;
	l->cand_tail = j;
	l->cand_queued++;
	cand_next(l);
	return 0;
}

/* --- check ------------------------------------------------------------------------- */

struct check_ctx {
	life_cb cb;
	void *ud;
};

static void check_checked(struct life *l, int rc, struct rules *cand, json_t *err, void *ud)
{
	struct check_ctx x = *(struct check_ctx *)ud;
	free(ud);
	if (rc < 0) {
		x.cb(x.ud, rc, err);
		return;
	}
	json_t *d = rules_describe(cand);
	int total = (int)json_integer_value(json_object_get(err, "tests"));
	json_decref(err);
	x.cb(x.ud, 0, json_pack("{s:b, s:s, s:s, s:i, s:O, s:O, s:b}", "ok", 1, "dir", rules_dir(cand),
				"version", rules_version(cand), "tests", total, "files",
				json_object_get(d, "files"), "measures", json_object_get(d, "measures"),
				"live", strcmp(rules_version(cand), rules_version(live(l))) == 0));
	rules_free(cand);
}

int life_check(struct life *l, const char *path, life_gone_fn gone, void *gone_ud, life_cb cb,
	       void *ud)
{
	struct check_ctx *x = malloc(sizeof *x);
	if (!x)
		return -ENOMEM;
	*x = (struct check_ctx){ cb, ud };
	int rc = cand_start(l, path ? path : l->rules_path, true, gone, gone_ud, check_checked, x);
	if (rc < 0)
		free(x);
	return rc;
}

/* --- activation ------------------------------------------------------------------ */

struct activation {
	struct life *l;
	struct rules *next;
	char **kv;             /* the activation's metadata writes */
	char *files_key, *files; /* the files' pair when not kept yet (owned until written) */
	int dropped;           /* kept versions the write drops */
	int tests;             /* pack tests the candidate passed; -1: none ran */
	char *folder_version;  /* what the reload folder holds (a rollback), or NULL */
	char *who, *how;
	life_cb cb;
	void *ud;
	/* The pack's files encoded on a worker, when not kept yet. */
	uv_work_t work;
	char *fv;              /* activate()'s folder_version (owned), or NULL */
	char *encoded;         /* packs_encode()'s (owned until written) */
	size_t encoded_len;    /* its length, measured on the worker too */
};

static void activation_free(struct activation *a)
{
	packs_kv_free(a->kv);
	free(a->files_key);
	free(a->files);
	free(a->folder_version);
	free(a->fv);
	free(a->encoded);
	free(a->who);
	free(a->how);
	free(a);
}

/* The folders rollbacks and starts wrote kept versions to: only the live
 * one is still needed. */
static void prune_written_out(struct life *l, const char *live_dir)
{
	char root[4200];
	snprintf(root, sizeof root, "%s/packs", l->d.conf->db);
	int rc = packs_prune(root, live_dir);
	if (rc < 0)
		log_warn("rules: written-out versions could not be removed dir=%s error=\"%s\"", root,
			 liu_strerror(rc));
}

static void activated(void *ud, int status)
{
	struct activation *a = ud;
	struct life *l = a->l;
	l->reloading = false;
	if (status < 0) {
		log_err("rules: activation not written, the old rules stay live error=\"%s\"",
			liu_strerror(status));
		rules_free(a->next);
		if (a->cb)
			a->cb(a->ud, status, json_pack("{s:s}", "error", "the activation could not be written"));
		activation_free(a);
		return;
	}
	/* The swap: every call runs on this thread, so no call is inside the
	 * old pack now; writes in flight were decided by it and say so. */
	struct rules *old = l->d.swap(l->d.ud, a->next);
	l->gen++;
	ledger_memo_clear(l->d.ledger); /* answers of the old pack (their pack serial guards them too) */
	if (l->sched)
		sched_set_rules(l->sched, a->next); /* the schedule follows the pack */
	log_info("rules: activated how=%s by=%s version=%s previous=%s dir=%s", a->how, a->who,
		 rules_version(a->next), old ? rules_version(old) : "none", rules_dir(a->next));
	if (a->dropped > 0)
		log_info("rules: dropped the kept files of %d version(s) storage.pack_versions=%d",
			 a->dropped, l->d.conf->pack_versions);
	prune_written_out(l, rules_dir(a->next));
	json_t *res = json_pack("{s:s, s:s?, s:s, s:s, s:O, s:s}", "version", rules_version(a->next),
				"previous", old ? rules_version(old) : NULL, "dir", rules_dir(a->next),
				"how", a->how, "files",
				json_object_get(rules_describe(a->next), "files"), "reload_folder",
				l->rules_path);
	if (a->tests >= 0)
		json_object_set_new(res, "tests", json_integer(a->tests));
	if (a->folder_version)
		json_object_set_new(res, "folder_version", json_string(a->folder_version));
	rules_free(old);
	if (a->cb)
		a->cb(a->ud, 0, res);
	else
		json_decref(res);
	activation_free(a);
}

/* The activation's write: history, files, audit entry (store reads here,
 * on the loop).  Returns 0 (activated() will run) or an errno (the caller
 * still owns `a`). */
static int activate_write(struct activation *a)
{
	struct life *l = a->l;
	struct rules *next = a->next;
	json_t *d = rules_describe(next);
	struct rules *cur = live(l);
	bool made = a->encoded != NULL; /* then a->files, when set, is that text */
	int rc = packs_activation(l->d.store, rules_version(next),
				  json_string_value(json_object_get(d, "name")), rules_contents(next),
				  a->encoded, a->who, a->how, rules_dir(next), a->fv,
				  l->d.conf->pack_versions, &a->kv, &a->dropped, &a->files_key,
				  &a->files);
	a->encoded = NULL; /* taken */
	char nowiso[CLOCK_ISO_MAX];
	json_t *entry = json_pack("{s:s, s:{s:s, s:i}, s:s, s:s, s:s, s:s?, s:O, s:s}", "time",
				  clock_format(clock_now(), nowiso), "peer", "user", a->who, "uid",
				  (int)getuid(), "method", "rules.activate", "how", a->how, "version",
				  rules_version(next), "previous", cur ? rules_version(cur) : NULL,
				  "files", json_object_get(d, "files"), "outcome", "ok");
	if (rc == 0 && !entry)
		rc = -ENOMEM;
	if (rc == 0) {
		l->reloading = true;
		/* The files' text (up to storage.pack_mib, several times that
		 * once escaped) is taken by the write, not copied on the loop. */
		struct ledger_blob files = { a->files_key, a->files,
					     !a->files ? 0 : made ? a->encoded_len : strlen(a->files) };
		a->files = NULL;
		rc = ledger_write_blob(l->d.ledger, NULL, 0, &entry, 1, (const char *const *)a->kv,
				       files.value ? &files : NULL, activated, a);
		if (rc < 0)
			l->reloading = false;
	}
	json_decref(entry);
	return rc;
}

/* On a worker: the candidate's files encoded (only this activation holds
 * the candidate, so nothing else reads or changes it meanwhile). */
static void encode_work(uv_work_t *w)
{
	struct activation *a = w->data;
	json_t *d = rules_describe(a->next);
	a->encoded = packs_encode(rules_version(a->next), json_string_value(json_object_get(d, "name")),
				  rules_contents(a->next));
	a->encoded_len = a->encoded ? strlen(a->encoded) : 0;
}

static void encode_done(uv_work_t *w, int status)
{
	struct activation *a = w->data;
	a->l->reloading = false;
	int rc = status < 0 ? -ECANCELED : a->encoded ? activate_write(a) : -ENOMEM;
	if (rc < 0)
		activated(a, rc); /* refuses: the old rules stay live */
}

/* Records the activation of `next` durably (history, files, audit entry),
 * then swaps it in.  Takes `next`.  `tests`: the pack tests it passed (-1:
 * none ran), said in the result.  cb may be NULL.  A pack whose files are
 * not kept yet has them encoded on a worker first (a reload of a pack with
 * a 15 MiB file does not hold other clients up); the rest is on the loop. */
static int activate(struct life *l, struct rules *next, const char *who, const char *how,
		    const char *folder_version, int tests, life_cb cb, void *ud)
{
	struct activation *a = calloc(1, sizeof *a);
	if (!a) {
		rules_free(next);
		return -ENOMEM;
	}
	a->l = l;
	a->next = next;
	a->who = strdup(who);
	a->how = strdup(how);
	a->tests = tests;
	if (strcmp(how, "rollback") == 0 && folder_version && *folder_version)
		a->folder_version = strdup(folder_version);
	if (folder_version)
		a->fv = strdup(folder_version);
	a->cb = cb;
	a->ud = ud;
	a->work.data = a;
	int rc;
	if (strcmp(how, "start") != 0 && !packs_stored(l->d.store, rules_version(next)) &&
	    uv_queue_work(l->d.loop, &a->work, encode_work, encode_done) == 0) {
		l->reloading = true; /* as during the write: one activation at a time */
		return 0;
	}
	rc = activate_write(a);
	if (rc < 0) {
		rules_free(next);
		activation_free(a);
	}
	return rc;
}

int life_activate_initial(struct life *l, struct rules *pack, const char *folder_version,
			  life_cb cb, void *ud)
{
	return activate(l, pack, "liud", "start", folder_version, -1, cb, ud);
}

int life_roles_missing(const struct conf *cf, struct rules *pack, char *msg, size_t n)
{
	json_t *declared = json_object_get(rules_describe(pack), "roles");
	const char *role;
	json_t *spec, *r;
	json_object_foreach(cf->roles, role, spec) {
		bool found = strcmp(role, "admin") == 0;
		size_t i;
		json_array_foreach(declared, i, r)
			found |= strcmp(role, json_string_value(json_object_get(r, "id"))) == 0;
		if (found)
			continue;
		char ids[512] = "";
		size_t len = 0;
		json_array_foreach(declared, i, r)
			len += (size_t)snprintf(ids + len, len < sizeof ids ? sizeof ids - len : 0, "%s%s",
						i ? ", " : "", json_string_value(json_object_get(r, "id")));
		snprintf(msg, n, "role \"%.63s\" is mapped in liud.conf (roles) but pack %s does not declare it "
			 "(it declares: %.400s); declare it in the pack (role \"%.63s\" { ... }) or remove it "
			 "from roles in liud.conf", role,
			 json_string_value(json_object_get(rules_describe(pack), "name")),
			 len ? ids : "none", role);
		return LIU_EINVAL;
	}
	return 0;
}

/* The refusal of a candidate that drops a role liud.conf maps: NULL when it
 * declares them all, else a new {error, role_mapped_in} (caller frees). */
static json_t *drops_role(struct life *l, struct rules *next)
{
	char msg[1200];
	if (life_roles_missing(l->d.conf, next, msg, sizeof msg) == 0)
		return NULL;
	return json_pack("{s:s, s:s}", "error", msg, "role_mapped_in", "liud.conf");
}

/* Audits a refused reload or rollback (fire and forget). */
static void refused_written(void *ud, int status)
{
	(void)ud;
	if (status < 0)
		log_err("audit: a refused reload could not be recorded");
}

static void audit_refused(struct life *l, const char *who, const char *how, const char *dir,
			  json_t *err)
{
	char nowiso[CLOCK_ISO_MAX];
	json_t *entry = json_pack("{s:s, s:{s:s}, s:s, s:s, s:s?, s:s, s:O?}", "time",
				  clock_format(clock_now(), nowiso), "peer", "user", who, "method",
				  "rules.activate", "how", how, "dir", dir, "outcome", "refused",
				  "error", json_object_get(err, "error"));
	if (entry && ledger_write(l->d.ledger, NULL, 0, &entry, 1, NULL, refused_written, NULL) < 0)
		log_err("audit: a refused reload could not be recorded");
	json_decref(entry);
}

/* --- reload ---------------------------------------------------------------------- */

struct reload_ctx {
	char *path, *dir, *who, *how; /* owned; path may be NULL */
	bool force;                   /* even the version a rollback took out */
	life_cb cb;
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

/*
 * The version the rollback in effect took out, into out ("": none).  A
 * rollback is in effect while the live version is the one the newest
 * rollback activated (restarts that kept it add "start" entries of the same
 * version); the version it took out is the entry before that rollback.
 */
static void rolled_back_version(struct life *l, char out[HASH_HEX])
{
	const char *lv = rules_version(live(l));
	json_t *h = packs_history(l->d.store, 32);
	size_t i;
	json_t *e;
	*out = '\0';
	json_array_foreach(h, i, e) {
		const char *v = json_string_value(json_object_get(e, "version"));
		if (!v || strcmp(v, lv) != 0)
			break;
		const char *how = json_string_value(json_object_get(e, "how"));
		const char *took = json_string_value(json_object_get(json_array_get(h, i + 1), "version"));
		if (how && strcmp(how, "rollback") == 0) {
			if (took && strcmp(took, lv) != 0)
				snprintf(out, HASH_HEX, "%s", took);
			break;
		}
	}
	json_decref(h);
}

/* A reload that would put back the version a rollback took out, not asked
 * for on purpose: refused, naming the folder.  Returns NULL or the refusal
 * ({error, dir, version, rolled_back}; caller frees). */
static json_t *refuse_rolled_back(struct life *l, const struct reload_ctx *x, struct rules *next)
{
	char took[HASH_HEX];
	if (x->force)
		return NULL;
	rolled_back_version(l, took);
	if (!*took || strcmp(took, rules_version(next)) != 0)
		return NULL;
	if (x->path) {
		/* A folder named in the request is asked for on purpose: only a
		 * plain reload (the last folder, SIGHUP, rules_watch) refuses. */
		log_info("rules: %s by=%s of folder %s puts back version %.12s, the one rolled back "
			 "(the folder was named, so it is taken as asked for)",
			 x->how, x->who, x->dir, took);
		return NULL;
	}
	char msg[4400];
	snprintf(msg, sizeof msg,
		 "the folder %s holds version %.12s, the one rolled back (live: %.12s); "
		 "change the folder, or ask for that version again with force: true "
		 "(liuctl rules reload --force)",
		 x->dir, took, rules_version(live(l)));
	return json_pack("{s:s, s:s, s:s, s:b}", "error", msg, "dir", x->dir, "version", took,
			 "rolled_back", 1);
}

/* A reload of the version already live, from the folder it was read from
 * (or a plain one): nothing changes, no history row is added; the reply
 * says so (unchanged: true).  Takes `next` when it returns true. */
static bool already_live(struct life *l, struct reload_ctx *x, struct rules *next, int tests)
{
	struct rules *cur = live(l);
	if (!cur || strcmp(rules_version(cur), rules_version(next)) != 0 ||
	    (x->path && strcmp(x->dir, rules_dir(cur)) != 0))
		return false;
	log_info("rules: %s by=%s dir=%s: version %s is already live, nothing changed", x->how,
		 x->who, x->dir, rules_version(cur));
	json_t *res = json_pack("{s:s, s:s, s:s, s:s, s:b, s:O, s:s, s:i}", "version",
				rules_version(cur), "previous", rules_version(cur), "dir", rules_dir(cur),
				"how", x->how, "unchanged", 1, "files",
				json_object_get(rules_describe(cur), "files"), "reload_folder",
				l->rules_path, "tests", tests);
	rules_free(next);
	if (x->cb)
		x->cb(x->ud, 0, res);
	else
		json_decref(res);
	return true;
}

static void reload_checked(struct life *l, int rc, struct rules *next, json_t *err, void *ud)
{
	struct reload_ctx *x = ud;
	l->reloading = false;
	json_t *again = rc == 0 ? refuse_rolled_back(l, x, next) : NULL;
	json_t *dropped = rc == 0 && !again ? drops_role(l, next) : NULL;
	if (again || dropped) {
		rules_free(next);
		json_decref(err);
		err = again ? again : dropped;
		rc = again ? LIU_ECONFLICT : LIU_EINVAL;
	}
	if (rc < 0) {
		const char *lv = rules_version(live(l));
		log_err("rules: %s refused by=%s dir=%s live=%s error=\"%.300s\"", x->how, x->who, x->dir,
			lv, json_string_value(json_object_get(err, "error")));
		json_object_set_new(err, "live_version", json_string(lv));
		audit_refused(l, x->who, x->how, x->dir, err);
		if (x->cb)
			x->cb(x->ud, rc, err);
		else
			json_decref(err);
		reload_ctx_free(x);
		return;
	}
	if (x->path) {
		free(l->rules_path);
		l->rules_path = x->path;
		x->path = NULL;
	}
	int tests = (int)json_integer_value(json_object_get(err, "tests"));
	json_decref(err);
	if (already_live(l, x, next, tests)) {
		reload_ctx_free(x);
		return;
	}
	char fv[HASH_HEX];
	snprintf(fv, sizeof fv, "%s", rules_version(next));
	rc = activate(l, next, x->who, x->how, fv, tests, x->cb, x->ud);
	if (rc < 0 && x->cb)
		x->cb(x->ud, rc, json_pack("{s:s}", "error", liu_strerror(rc)));
	reload_ctx_free(x);
}

int life_reload(struct life *l, const char *path, const char *who, const char *how, bool force,
		life_cb cb, void *ud)
{
	int rc = LIU_ECONFLICT;
	const char *why = "another reload is in progress";
	struct reload_ctx *x = NULL;
	if (l->reloading)
		goto refuse;
	const char *dir = path ? path : l->rules_path;
	rc = -ENOMEM;
	why = "out of memory";
	x = calloc(1, sizeof *x);
	if (!x || !(x->dir = strdup(dir)) || !(x->who = strdup(who)) || !(x->how = strdup(how)) ||
	    (path && !(x->path = strdup(path))))
		goto refuse;
	x->force = force;
	x->cb = cb;
	x->ud = ud;
	l->reloading = true;
	/* Not cancelled by a hang-up: SIGHUP and rules_watch have no client,
	 * and a client that asked gets its reply only if it stays. */
	if ((rc = cand_start(l, dir, true, NULL, NULL, reload_checked, x)) < 0) {
		l->reloading = false;
		why = rc == LIU_ELIMIT ? LIFE_BUSY : liu_strerror(rc);
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

/* --- rollback -------------------------------------------------------------------- */

/* A rollback: the kept version is written out and checked like a reload,
 * then the folder's own version is read (so that a restart keeps the
 * rollback as long as nobody changed the folder since), then activation. */
struct rollback {
	char *version, *dir, *who; /* owned */
	struct rules *next;        /* the checked kept version, owned */
	int tests;                 /* its pack tests, passed */
	life_cb refused, done;
	void *ud;
};

static void rollback_free(struct rollback *b)
{
	rules_free(b->next);
	free(b->version);
	free(b->dir);
	free(b->who);
	free(b);
}

static void rollback_refused(struct life *l, struct rollback *b, int rc, json_t *err)
{
	l->reloading = false;
	audit_refused(l, b->who, "rollback", b->dir, err);
	b->refused(b->ud, rc, err);
	rollback_free(b);
}

static void rollback_folder_read(struct life *l, int rc, struct rules *folder, json_t *info, void *ud)
{
	struct rollback *b = ud;
	char fv[HASH_HEX] = "";
	if (rc == 0)
		snprintf(fv, sizeof fv, "%s", rules_version(folder));
	rules_free(folder);
	json_decref(info);
	struct rules *next = b->next;
	b->next = NULL;
	l->reloading = false;
	rc = activate(l, next, b->who, "rollback", fv, b->tests, b->done, b->ud);
	if (rc < 0)
		b->done(b->ud, rc, json_pack("{s:s}", "error", liu_strerror(rc)));
	rollback_free(b);
}

static void rollback_checked(struct life *l, int rc, struct rules *next, json_t *info, void *ud)
{
	struct rollback *b = ud;
	if (rc == 0 && strcmp(rules_version(next), b->version) != 0) {
		rules_free(next);
		json_decref(info);
		info = json_pack("{s:s}", "error", "the kept files do not hash to their version");
		rc = -EIO;
	}
	json_t *dropped = rc == 0 ? drops_role(l, next) : NULL;
	if (dropped) {
		rules_free(next);
		json_decref(info);
		info = dropped;
		rc = LIU_EINVAL;
	}
	if (rc < 0) {
		rollback_refused(l, b, rc, info);
		return;
	}
	b->tests = (int)json_integer_value(json_object_get(info, "tests"));
	json_decref(info);
	b->next = next;
	if ((rc = cand_start(l, l->rules_path, false, NULL, NULL, rollback_folder_read, b)) < 0)
		rollback_folder_read(l, rc, NULL, NULL, b);
}

int life_rollback(struct life *l, const char *version, const char *who, life_gone_fn gone,
		  void *gone_ud, life_cb refused, life_cb done, void *ud)
{
	if (l->reloading)
		return LIU_ECONFLICT;
	char root[4200], *dir = NULL;
	snprintf(root, sizeof root, "%s/packs", l->d.conf->db);
	int rc = packs_materialize(l->d.store, root, version, &dir);
	if (rc < 0)
		return rc;
	struct rollback *b = calloc(1, sizeof *b);
	if (!b || !(b->version = strdup(version)) || !(b->who = strdup(who))) {
		if (b)
			free(b->version);
		free(b);
		free(dir);
		return -ENOMEM;
	}
	b->dir = dir;
	b->refused = refused;
	b->done = done;
	b->ud = ud;
	l->reloading = true;
	/* Validated like a reload: tests included. */
	if ((rc = cand_start(l, dir, true, gone, gone_ud, rollback_checked, b)) < 0)
		rollback_refused(l, b, rc, json_pack("{s:s}", "error",
						      rc == LIU_ELIMIT ? LIFE_BUSY : liu_strerror(rc)));
	return 0;
}

/* --- rules.diff ------------------------------------------------------------------------ */

struct diff_job {
	struct life *l;
	struct rules *cand;
	int gen;              /* the live generation the diff started on */
	int64_t at, t0;
	char *after;
	uint64_t seen, changed, reworded;
	size_t chunk;         /* records the next step reads (1 to DIFF_CHUNK) */
	json_t *diffs;        /* outcome changes: decision, failing checks, state, deadlines */
	json_t *wording;      /* wording-only changes: a check's reason reworded */
	json_t *live_dl, *cand_dl;  /* deadlines of each pack */
	/* A step per loop turn: an idle handle, not a timer restarted at 0,
	 * which libuv runs again in the same turn, before any I/O. */
	uv_idle_t timer;
	life_cb refused, done;
	void *ud;
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
	json_decref(j->wording);
	json_decref(j->live_dl);
	json_decref(j->cand_dl);
	free(j->after);
	free(j);
}

static void diff_finish(struct diff_job *j, int rc, const char *why)
{
	j->l->diffing = false;
	if (rc < 0) {
		j->done(j->ud, rc, json_pack("{s:s}", "error", why));
	} else {
		char iso[CLOCK_ISO_MAX];
		log_info("rules: diff done candidate=%.12s records=%llu changed=%llu wording_changed=%llu ms=%lld",
			 rules_version(j->cand), (unsigned long long)j->seen,
			 (unsigned long long)j->changed, (unsigned long long)j->reworded,
			 (long long)(clock_now_ms() - j->t0));
		j->done(j->ud, 0, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:O, s:O, s:I}", "live",
					    rules_version(live(j->l)), "candidate", rules_version(j->cand),
					    "at", clock_format(j->at, iso), "records", (json_int_t)j->seen,
					    "changed", (json_int_t)j->changed, "wording_changed",
					    (json_int_t)j->reworded, "truncated",
					    j->changed > DIFF_MAX_LISTED || j->reworded > DIFF_MAX_LISTED,
					    "differences", j->diffs, "wording", j->wording, "ms",
					    (json_int_t)(clock_now_ms() - j->t0)));
	}
	uv_close((uv_handle_t *)&j->timer, diff_closed);
}

/* The checks whose wording differs between two evaluations with the same
 * outcome: [{id, before, after}] (a reason, or null where the check gave
 * none or is absent); empty when the wording is the same too. */
static json_t *reworded_checks(json_t *before, json_t *after)
{
	json_t *out = json_array();
	json_t *lists[2] = { json_object_get(before, "checks"), json_object_get(after, "checks") };
	for (int side = 0; side < 2; side++) {
		size_t i, k;
		json_t *c, *o;
		json_array_foreach(lists[side], i, c) {
			json_t *id = json_object_get(c, "id"), *twin = NULL;
			json_array_foreach(lists[!side], k, o)
				if (json_equal(json_object_get(o, "id"), id))
					twin = o;
			if (json_equal(c, twin) || (side == 1 && twin))
				continue; /* the same, or already listed from the first side */
			json_t *bc = side == 0 ? c : twin, *ac = side == 0 ? twin : c;
			json_array_append_new(out, json_pack("{s:O, s:O?, s:O?}", "id", id, "before",
							     json_object_get(bc, "reason"), "after",
							     json_object_get(ac, "reason")));
		}
	}
	return out;
}

/* Compares one record under both packs: an outcome change (decision,
 * failing checks, state after enforcement, deadlines, error) is counted in
 * changed and listed in differences; a change of wording only (a check's
 * reason) in wording_changed and wording; each list up to DIFF_MAX_LISTED.
 * A record whose evaluations are equal is in neither. */
static void diff_record(struct diff_job *j, json_t *rec, int64_t now)
{
	j->seen++;
	bool e1 = false, e2 = false;
	json_t *before = summary(live(j->l), j->live_dl, rec, j->at, now, &e1);
	json_t *after = summary(j->cand, j->cand_dl, rec, j->at, now, &e2);
	json_t *what = json_array();
	static const char *const fields[] = { "decision", "failing", "state_after_enforcement",
					      "deadlines", "error" };
	for (int f = 0; f < 5; f++)
		if (!json_equal(json_object_get(before, fields[f]), json_object_get(after, fields[f])) &&
		    (json_object_get(before, fields[f]) || json_object_get(after, fields[f])))
			json_array_append_new(what, json_string(fields[f]));
	json_t *words = json_array_size(what) ? NULL : reworded_checks(before, after);
	json_object_del(before, "checks");
	json_object_del(after, "checks");
	if (json_array_size(what) > 0) {
		if (j->changed++ < DIFF_MAX_LISTED)
			json_array_append_new(j->diffs,
					      json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "id",
							json_object_get(rec, "id"), "kind",
							json_object_get(rec, "kind"), "state",
							json_object_get(rec, "state"), "what", what,
							"before", before, "after", after));
	} else if (json_array_size(words) > 0) {
		if (j->reworded++ < DIFF_MAX_LISTED)
			json_array_append_new(j->wording,
					      json_pack("{s:O, s:O, s:O, s:O}", "id",
							json_object_get(rec, "id"), "kind",
							json_object_get(rec, "kind"), "state",
							json_object_get(rec, "state"), "checks", words));
	}
	json_decref(words);
	json_decref(what);
	json_decref(before);
	json_decref(after);
}

/* One chunk of records per loop turn: other clients are served between. */
static void diff_step(uv_idle_t *t)
{
	struct diff_job *j = t->data;
	struct life *l = j->l;
	if (l->gen != j->gen) {
		diff_finish(j, LIU_ECONFLICT, "the live rules changed during the diff; run it again");
		return;
	}
	struct ledger_page sl;
	uint64_t t0 = uv_hrtime();
	int rc = ledger_list(l->d.ledger, NULL, NULL, j->after, j->chunk, false, &sl);
	if (rc < 0) {
		diff_finish(j, rc, "the records could not be read");
		return;
	}
	int64_t now = clock_now();
	size_t got = sl.n;
	for (size_t i = 0; i < sl.n; i++) {
		json_t *rec = ledger_page_get(l->d.ledger, &sl, i);
		if (!rec)
			continue; /* damaged: logged by the ledger */
		diff_record(j, rec, now);
		json_decref(rec);
	}
	free(j->after);
	j->after = sl.next ? strdup(sl.next) : NULL;
	ledger_page_free(&sl);
	/* Each record runs both packs' hooks, at a cost the packs choose: the
	 * next step reads as many as fit in about DIFF_STEP_NS, so the other
	 * clients are answered between steps however slow the packs are. */
	uint64_t took = uv_hrtime() - t0;
	if (took < DIFF_STEP_NS / 2 && j->chunk < DIFF_CHUNK)
		j->chunk *= 2;
	else if (took > DIFF_STEP_NS && j->chunk > 1)
		j->chunk /= 2;
	if (j->seen / 10000 != (j->seen - got) / 10000 && j->after)
		log_info("rules: diff progress records=%llu changed=%llu", (unsigned long long)j->seen,
			 (unsigned long long)j->changed);
	if (!j->after) {
		diff_finish(j, 0, NULL);
		return;
	}
	/* the idle handle calls again at the next turn */
}

struct diff_start {
	int64_t at;
	char *path, *who;       /* owned */
	life_cb refused, done;
	void *ud;
};

static void diff_start_free(struct diff_start *ds)
{
	free(ds->path);
	free(ds->who);
	free(ds);
}

static void diff_loaded(struct life *l, int rc, struct rules *cand, json_t *info, void *ud)
{
	struct diff_start *ds = ud;
	struct diff_job *j = NULL;
	if (rc < 0) {
		l->diffing = false;
		ds->refused(ds->ud, rc, info);
		diff_start_free(ds);
		return;
	}
	json_decref(info);
	if (!(j = calloc(1, sizeof *j))) {
		l->diffing = false;
		rules_free(cand);
		ds->done(ds->ud, -ENOMEM, json_pack("{s:s}", "error", liu_strerror(-ENOMEM)));
		diff_start_free(ds);
		return;
	}
	j->l = l;
	j->cand = cand;
	j->gen = l->gen;
	j->at = ds->at;
	j->t0 = clock_now_ms();
	j->diffs = json_array();
	j->wording = json_array();
	j->live_dl = rules_deadlines(live(l));
	j->cand_dl = rules_deadlines(cand);
	j->refused = ds->refused;
	j->done = ds->done;
	j->ud = ds->ud;
	uv_idle_init(l->d.loop, &j->timer);
	j->timer.data = j;
	j->chunk = 16;
	log_info("rules: diff started candidate=%.12s dir=%s by=%s", rules_version(cand), ds->path,
		 ds->who);
	uv_idle_start(&j->timer, diff_step);
	diff_start_free(ds);
}

int life_diff(struct life *l, const char *path, int64_t at, const char *who, life_gone_fn gone,
	      void *gone_ud, life_cb refused, life_cb done, void *ud)
{
	if (l->diffing)
		return -EBUSY;
	struct diff_start *ds = calloc(1, sizeof *ds);
	if (!ds || !(ds->path = strdup(path)) || !(ds->who = strdup(who))) {
		if (ds)
			free(ds->path);
		free(ds);
		return -ENOMEM;
	}
	ds->at = at;
	ds->refused = refused;
	ds->done = done;
	ds->ud = ud;
	l->diffing = true;
	int rc = cand_start(l, path, false, gone, gone_ud, diff_loaded, ds);
	if (rc < 0) {
		l->diffing = false;
		diff_start_free(ds);
	}
	return rc;
}
