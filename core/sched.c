/* sched — see sched.h. */
#include "sched.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "errors.h"
#include "evalcache.h"
#include "expiry.h"
#include "log.h"
#include "stage.h"

#define TICK_MS 1000      /* the longest the timer sleeps before looking again */
#define MAX_INFLIGHT 2    /* batches written but not yet durable */
#define BUSY_RETRY_MS 5   /* writes in flight at a deadline: look again soon */
#define FAIL_RETRY_MS 1000
#define STEP_MS 20        /* a step yields to other clients after this long */
/* A staged record costs the loop about 15 µs: a step (STEP_MS) applies up
 * to 1,000 (5 × enforce_batch), in larger transactions than a run's, and
 * fewer of them write less (each rewrites the pages batches share: the free
 * list, branch pages, the audit log's last leaf): 1,000 MiB written at 1,000
 * a transaction, 680 MiB at 4,000.  Not more: a batch's completion is one
 * loop turn (the memo, the overlay) that readers wait behind: their p99
 * during the bench's sweep was 28 ms at 1,000 and 69 ms at 2,000. */
#define APPLY_BATCH_FACTOR 5

struct deadline {
	char *measure;
	int64_t at;
	json_t *hooks;    /* [{kind, states}] */
	json_t *title;
	bool enforced;
	int64_t changed;  /* records its enforcement changed; -1: not said (an older marker) */
	char done_at[CLOCK_ISO_MAX]; /* when it was enforced, or "" */
};

struct waiter {
	sched_done_fn fn;
	void *ud;
	struct waiter *next;
};

struct sched {
	uv_loop_t *loop;
	uv_timer_t timer;   /* wakes for the next deadline (at most TICK_MS away) */
	uv_idle_t step;     /* runs the next batch at the next loop turn, after its I/O
			     * (a timer restarted at 0 from its callback runs again
			     * in the same turn, before any client is read) */
	int open_handles;
	struct store *st;
	struct ledger *l;
	struct rules *rules;
	int batch;
	struct deadline *dl;
	size_t ndl;
	/* the run in progress */
	bool running, stopping, replan;
	size_t cur;         /* deadline being enforced */
	json_t *lanes;      /* [[kind, state|null]] of cur */
	size_t lane;
	char *after;        /* id cursor within the lane */
	json_t *seen;       /* ids already handled in this run */
	bool lanes_done, final_sent;
	int inflight;
	uint64_t changed, visited;
	uint64_t changes; /* audit entries staged enforcement applied (a record may have several) */
	int64_t started_ms;
	json_t *report;     /* {enforced:[...]} of this run */
	struct waiter *waiters;
	char next_iso[CLOCK_ISO_MAX];
	struct sched_stats stats;
	/* Staging (stage.h): the hooks of the next deadline run in idle time
	 * before it; a run applies what was staged first. */
	struct stage *stg;   /* owned */
	bool applying;       /* the run is applying staged rows */
	int reopening;       /* marker deletions not yet durable (reopen()) */
};

static void arm(struct sched *s);
static void step_cb(uv_idle_t *t);
static bool apply_step(struct sched *s);

static void timer_cb(uv_timer_t *t)
{
	arm(t->data);
}

static void marker_key(char *buf, size_t n, const struct deadline *d)
{
	snprintf(buf, n, "enforced/%s@%" PRId64, d->measure, d->at);
}

static void free_deadlines(struct sched *s)
{
	for (size_t i = 0; i < s->ndl; i++) {
		free(s->dl[i].measure);
		json_decref(s->dl[i].hooks);
		json_decref(s->dl[i].title);
	}
	free(s->dl);
	s->dl = NULL;
	s->ndl = 0;
}

/* Rebuilds the deadline list from the live pack and the markers on disk. */
static void plan(struct sched *s)
{
	free_deadlines(s);
	json_t *list = rules_deadlines(s->rules);
	json_t *measures = json_object_get(rules_describe(s->rules), "measures");
	size_t n = json_array_size(list);
	s->dl = calloc(n ? n : 1, sizeof *s->dl);
	if (!s->dl) {
		json_decref(list);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(list, i);
		struct deadline *d = &s->dl[s->ndl];
		d->measure = strdup(json_string_value(json_object_get(e, "measure")));
		d->at = json_integer_value(json_object_get(e, "at"));
		d->hooks = json_incref(json_object_get(e, "hooks"));
		size_t j;
		json_t *m;
		json_array_foreach(measures, j, m)
			if (strcmp(json_string_value(json_object_get(m, "id")), d->measure) == 0)
				d->title = json_incref(json_object_get(m, "title"));
		char key[512], *v;
		size_t vlen;
		marker_key(key, sizeof key, d);
		d->changed = -1;
		if (store_meta_get(s->st, key, &v, &vlen) == 0) {
			/* {"at", "changed"}; an older marker is the time alone */
			json_t *mk = json_loadb(v, vlen, 0, NULL);
			const char *at = json_string_value(json_object_get(mk, "at"));
			d->enforced = true;
			if (json_is_integer(json_object_get(mk, "changed")))
				d->changed = json_integer_value(json_object_get(mk, "changed"));
			snprintf(d->done_at, sizeof d->done_at, "%s", at ? at : "");
			json_decref(mk);
			free(v);
		}
		s->ndl++;
	}
	json_decref(list);
}

int sched_new(struct sched **out, uv_loop_t *loop, struct store *st, struct ledger *l,
	      struct rules *rules, int batch, int64_t stage_secs)
{
	struct sched *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->st = st;
	s->l = l;
	s->rules = rules;
	s->batch = batch > 0 ? batch : 2000;
	if (stage_new(&s->stg, loop, st, l, stage_secs) < 0) {
		free(s);
		return -ENOMEM;
	}
	uv_timer_init(loop, &s->timer);
	uv_idle_init(loop, &s->step);
	s->timer.data = s->step.data = s;
	s->open_handles = 2;
	plan(s);
	arm(s);
	*out = s;
	return 0;
}

/* Frees the scheduler once its handles are closed and no write of its is
 * in flight: a write's callback comes after sched_close() when a stop finds
 * a batch being committed (the loop runs until it is durable). */
static void maybe_free(struct sched *s)
{
	if (s->open_handles > 0 || s->inflight > 0 || s->reopening > 0)
		return;
	free_deadlines(s);
	json_decref(s->lanes);
	json_decref(s->seen);
	json_decref(s->report);
	free(s->after);
	free(s);
}

static void closed(uv_handle_t *h)
{
	struct sched *s = h->data;
	s->open_handles--;
	maybe_free(s);
}

void sched_close(struct sched *s)
{
	s->stopping = true;
	uv_timer_stop(&s->timer);
	uv_idle_stop(&s->step);
	stage_close(s->stg);
	uv_close((uv_handle_t *)&s->timer, closed);
	uv_close((uv_handle_t *)&s->step, closed);
}

void sched_stats(const struct sched *s, struct sched_stats *out) { *out = s->stats; }

/* The earliest deadline not yet enforced, or NULL. */
static struct deadline *next_due(struct sched *s)
{
	struct deadline *best = NULL;
	for (size_t i = 0; i < s->ndl; i++)
		if (!s->dl[i].enforced && (!best || s->dl[i].at < best->at))
			best = &s->dl[i];
	return best;
}

const char *sched_next(struct sched *s)
{
	struct deadline *d = next_due(s);
	if (!d)
		return NULL;
	return clock_format(d->at, s->next_iso);
}

static void notify(struct sched *s, json_t *report)
{
	struct waiter *w = s->waiters;
	s->waiters = NULL;
	while (w) {
		struct waiter *next = w->next;
		w->fn(w->ud, json_deep_copy(report));
		free(w);
		w = next;
	}
	json_decref(report);
}

/* --- a run --------------------------------------------------------------- */

static void start_run(struct sched *s, size_t i)
{
	struct deadline *d = &s->dl[i];
	s->running = true;
	s->cur = i;
	s->lane = 0;
	s->lanes_done = false;
	s->final_sent = false;
	s->changed = s->visited = s->changes = 0;
	s->started_ms = clock_now_ms();
	free(s->after);
	s->after = NULL;
	json_decref(s->lanes);
	s->lanes = json_array();
	json_decref(s->seen);
	s->seen = json_object();
	expiry_add_lanes(s->lanes, d->hooks);
	if (!s->report)
		s->report = json_pack("{s:[]}", "enforced");
	/* What was staged for this instant goes first (each staged record gets
	 * all its deadlines of the instant at once); the lanes then see only
	 * the records that were not staged. */
	stage_apply_begin(s->stg, d->at);
	s->applying = stage_enabled(s->stg);
	char iso[CLOCK_ISO_MAX];
	log_info("sched: enforcing measure=%s deadline=%s lanes=%zu", d->measure,
		 clock_format(d->at, iso), json_array_size(s->lanes));
	uv_idle_start(&s->step, step_cb);
}

struct batch_ctx {
	struct sched *s;
	bool final;
	size_t n;
};

static void end_run(struct sched *s, bool ok)
{
	s->running = false;
	json_decref(s->lanes);
	s->lanes = NULL;
	json_decref(s->seen);
	s->seen = NULL;
	if (s->replan) {
		s->replan = false;
		plan(s);
	}
	if (!ok) {
		json_t *rep = s->report;
		s->report = NULL;
		json_object_set_new(rep, "error", json_string("an enforcement batch could not be written; it will be retried"));
		notify(s, rep);
		uv_timer_start(&s->timer, timer_cb, FAIL_RETRY_MS, 0);
		return;
	}
	arm(s);
}

static void batch_written(void *ud, int status)
{
	struct batch_ctx *b = ud;
	struct sched *s = b->s;
	s->inflight--;
	if (s->stopping) {
		free(b);
		maybe_free(s);
		return;
	}
	if (status < 0) {
		log_err("sched: enforcement batch failed records=%zu error=\"%s\"", b->n,
			liu_strerror(status));
		free(b);
		if (s->inflight == 0)
			end_run(s, false);
		return;
	}
	s->stats.batches++;
	if (b->final) {
		struct deadline *d = &s->dl[s->cur];
		d->enforced = true;
		d->changed = (int64_t)s->changed;
		clock_format(clock_now(), d->done_at);
		/* Every staged row is applied or stale now: all go at once. */
		stage_drop(s->stg);
		s->stats.runs++;
		s->stats.records_changed += s->changed; /* liud_enforced_records_total */
		char iso[CLOCK_ISO_MAX];
		log_info("sched: enforced measure=%s deadline=%s records_seen=%" PRIu64
			 " records_changed=%" PRIu64 " ms=%" PRId64,
			 d->measure, clock_format(d->at, iso), s->visited, s->changed,
			 clock_now_ms() - s->started_ms);
		json_array_append_new(json_object_get(s->report, "enforced"),
				      json_pack("{s:s, s:s, s:I, s:I}", "measure", d->measure, "at", iso,
						"seen", (json_int_t)s->visited, "changed",
						(json_int_t)s->changed));
		free(b);
		end_run(s, true);
		return;
	}
	free(b);
	if (s->replan && s->inflight == 0) {
		end_run(s, true); /* re-planned under the new pack, then runs again */
		return;
	}
	if (!s->final_sent && s->inflight < MAX_INFLIGHT)
		uv_idle_start(&s->step, step_cb);
}

/* One change of the run: the record's next version and its audit entry. */
static int add_change(struct sched *s, json_t *rec, json_t *out, json_t *records, json_t *audits,
		      json_t *olds)
{
	json_t *next, *audit;
	const struct deadline *d = &s->dl[s->cur];
	if (expiry_change(s->rules, d->measure, d->at, rec, out, &next, &audit) < 0)
		return -ENOMEM;
	char now[CLOCK_ISO_MAX];
	clock_format(clock_now(), now);
	json_object_set_new(next, "updated_at", json_string(now));
	json_object_set_new(audit, "time", json_string(now));
	json_array_append_new(records, next);
	json_array_append_new(audits, audit);
	json_array_append_new(olds, json_pack("[O, O]", json_object_get(rec, "kind"),
					      json_object_get(rec, "state")));
	return 0;
}

/* The changes a step collects: the records' next versions, their audit
 * entries and their kind and state before, in the same order. */
struct step_batch {
	json_t *records, *audits, *olds;
};

static void step_batch_free(struct step_batch *sb)
{
	json_decref(sb->records);
	json_decref(sb->audits);
	json_decref(sb->olds);
}

/* Runs one listed record through the deadline's hook.  Returns 0 (changed,
 * unchanged, or its hook failed, said loudly) or a negative errno. */
static int run_record(struct sched *s, const struct ledger_page *page, size_t i,
		      struct step_batch *sb)
{
	struct deadline *d = &s->dl[s->cur];
	const char *id = ledger_page_id(page, i);
	if (json_object_get(s->seen, id) || stage_applied(s->stg, id))
		return 0;
	json_object_set_new(s->seen, id, json_true());
	s->visited++;
	json_t *out;
	/* The latest version: a write still in flight, else the bytes the
	 * listing already holds (no second read). */
	json_t *rec = ledger_page_latest(s->l, page, i);
	if (!rec)
		return -EIO;
	int rc = 0, st = rules_expire(s->rules, d->measure, rec, d->at, &out);
	if (st == 1) {
		rc = add_change(s, rec, out, sb->records, sb->audits, sb->olds);
		s->changed++;
	} else if (st < 0) {
		/* A hook that fails leaves that record as it was, said loudly;
		 * the rest of the deadline still goes through. */
		log_err("sched: expiry hook failed measure=%s id=%s error=\"%s\"", d->measure, id,
			json_string_value(json_object_get(out, "error")));
	}
	json_decref(out);
	json_decref(rec);
	return rc;
}

/* Lists the current lanes and runs up to `batch` records through the hook,
 * until `step_end`.  Returns 0 or a negative errno. */
static int run_collect(struct sched *s, struct step_batch *sb, int64_t step_end)
{
	int budget = s->batch, rc = 0;
	bool out_of_time = false;
	while (budget > 0 && !s->lanes_done && !out_of_time) {
		json_t *lane = json_array_get(s->lanes, s->lane);
		if (!lane) {
			s->lanes_done = true;
			break;
		}
		struct ledger_page list;
		rc = ledger_list(s->l, json_string_value(json_array_get(lane, 0)),
				 json_string_value(json_array_get(lane, 1)), s->after,
				 (size_t)(budget < 16 ? budget : 16), true, &list);
		if (rc < 0)
			break;
		size_t handled = 0;
		for (size_t i = 0; i < list.n && rc == 0; i++) {
			/* The time bound is checked per record: one record of a large
			 * pack can cost a millisecond. */
			if (i > 0 && clock_now_ms() >= step_end) {
				out_of_time = true;
				break;
			}
			handled = i + 1;
			budget--;
			rc = run_record(s, &list, i, sb);
		}
		/* Resume after the last record handled; a lane ends when its
		 * listing ended and every record of it was handled. */
		free(s->after);
		s->after = NULL;
		if (handled < list.n || list.next)
			s->after = strdup(ledger_page_id(&list, handled - 1)); /* handled >= 1 here */
		else
			s->lane++;
		ledger_page_free(&list);
		if (clock_now_ms() >= step_end)
			out_of_time = true;
	}
	return rc;
}

/* Queues the step's batch (with the deadline's marker when it is the last).
 * Returns 0 with *final, or a negative errno. */
static int run_write(struct sched *s, struct step_batch *sb, bool *final)
{
	struct deadline *d = &s->dl[s->cur];
	size_t n = json_array_size(sb->records);
	struct ledger_change *ch = calloc(n ? n : 1, sizeof *ch);
	struct batch_ctx *b = calloc(1, sizeof *b);
	char key[512];
	marker_key(key, sizeof key, d);
	char done_at[CLOCK_ISO_MAX], marker[160];
	clock_format(clock_now(), done_at);
	/* The marker says when and how many records changed (this batch's are
	 * counted already), for `deadlines` once it has lapsed. */
	snprintf(marker, sizeof marker, "{\"at\":\"%s\",\"changed\":%" PRIu64 "}", done_at,
		 s->changed);
	for (size_t i = 0; ch && i < n; i++) {
		ch[i] = (struct ledger_change){
			.kind = LEDGER_CHANGE_DECODED,
			.old_kind = json_string_value(json_array_get(json_array_get(sb->olds, i), 0)),
			.old_state = json_string_value(json_array_get(json_array_get(sb->olds, i), 1)),
			.decoded = { .record = json_array_get(sb->records, i),
				     .audit = json_array_get(sb->audits, i) },
		};
	}
	int rc = ch && b ? 0 : -ENOMEM;
	if (rc == 0) {
		b->s = s;
		b->final = *final = s->lanes_done;
		b->n = n;
		const char *meta[] = { key, marker, NULL };
		rc = ledger_write(s->l, ch, n, NULL, 0, b->final ? meta : NULL, batch_written, b);
	}
	free(ch);
	if (rc < 0)
		free(b);
	else
		s->inflight++;
	return rc;
}

/* Handles up to `batch` records of the current lanes and writes them. */
static void step_cb(uv_idle_t *t)
{
	uv_idle_stop(t); /* one step per start: started again when wanted */
	struct sched *s = t->data;
	if (!s->running || s->stopping || s->final_sent)
		return;
	if (s->replan) {
		if (s->inflight == 0)
			end_run(s, true);
		return;
	}
	if (s->applying && apply_step(s))
		return;
	struct deadline *d = &s->dl[s->cur];
	struct step_batch sb = { json_array(), json_array(), json_array() };
	/* Bounded by count (one transaction's size) and by time, whichever
	 * comes first: readers never wait for more than about one step. */
	int64_t step_end = clock_now_ms() + STEP_MS;
	int rc = run_collect(s, &sb, step_end);
	if (rc < 0) {
		log_err("sched: enforcement stopped measure=%s error=\"%s\"", d->measure, liu_strerror(rc));
		step_batch_free(&sb);
		if (s->inflight == 0)
			end_run(s, false);
		return;
	}
	size_t n = json_array_size(sb.records);
	if (n == 0 && !s->lanes_done) {
		step_batch_free(&sb);
		uv_idle_start(&s->step, step_cb);
		return;
	}
	int64_t t_collect = clock_now_ms();
	bool final = false;
	rc = run_write(s, &sb, &final);
	step_batch_free(&sb);
	if (rc < 0) {
		log_err("sched: enforcement batch not queued error=\"%s\"", liu_strerror(rc));
		if (s->inflight == 0)
			end_run(s, false);
		return;
	}
	log_debug("sched: step records=%zu collect_ms=%lld write_ms=%lld", n,
		  (long long)(t_collect - (step_end - STEP_MS)), (long long)(clock_now_ms() - t_collect));
	if (final) {
		s->final_sent = true;
		return;
	}
	if (s->visited % 10000 < (uint64_t)s->batch)
		log_info("sched: progress measure=%s records_seen=%" PRIu64 " records_changed=%" PRIu64,
			 d->measure, s->visited, s->changed);
	/* Reads get their turn before the next batch. */
	if (s->inflight < MAX_INFLIGHT)
		uv_idle_start(&s->step, step_cb);
}

/*
 * One step of applying staged rows at the start of a run.  Returns true when
 * it handled the step (a batch written or queued), false when nothing is
 * left to apply (the run goes on with its lanes).
 */
static bool apply_step(struct sched *s)
{
	struct deadline *d = &s->dl[s->cur];
	struct stage_batch sb;
	/* A staged record costs the loop little (no decoding, no Lua): its
	 * transactions are larger than a run's, so fewer fsyncs. */
	int rc = stage_apply_next(s->stg, s->rules, d->at, (size_t)s->batch * APPLY_BATCH_FACTOR,
				  clock_now_ms() + STEP_MS, &sb);
	if (rc == 0 && sb.n > 0) {
		struct batch_ctx *b = calloc(1, sizeof *b);
		rc = b ? ledger_write(s->l, sb.ch, sb.n, NULL, 0, sb.meta, batch_written, b) : -ENOMEM;
		if (rc == 0) {
			b->s = s;
			b->n = sb.n;
			s->inflight++;
			s->visited += sb.n;
			/* records, as a run counts them: each staged record is
			 * changed, whatever its number of audit entries */
			s->changed += sb.n;
			s->changes += sb.changes;
		} else {
			free(b);
		}
	}
	bool done = sb.done;
	size_t n = sb.n;
	stage_batch_free(&sb);
	if (rc < 0) {
		log_err("sched: applying staged enforcement failed error=\"%s\"; the run takes the records",
			liu_strerror(rc));
		s->applying = false;
		return false;
	}
	if (done) {
		s->applying = false;
		if (s->visited > 0)
			log_info("sched: applied staged enforcement measure=%s records=%" PRIu64
				 " changes=%" PRIu64, d->measure, s->visited, s->changes);
		if (n == 0)
			return false;
	}
	if (s->inflight < MAX_INFLIGHT)
		uv_idle_start(&s->step, step_cb);
	return true;
}

/* Tells staging the next deadline `d`: every deadline not enforced at its
 * instant goes into the same pass. */
static void stage_next(struct sched *s, const struct deadline *d)
{
	if (!stage_enabled(s->stg))
		return;
	struct stage_deadline *due = calloc(s->ndl, sizeof *due);
	size_t n = 0;
	for (size_t i = 0; due && i < s->ndl; i++)
		if (s->dl[i].at == d->at && !s->dl[i].enforced)
			due[n++] = (struct stage_deadline){ s->dl[i].measure, s->dl[i].at, s->dl[i].hooks };
	if (due)
		stage_maybe_start(s->stg, s->rules, due, n, d->at);
	free(due);
}

static void reopened(void *ud, int status)
{
	struct sched *s = ud;
	s->reopening--;
	if (status < 0)
		log_err("sched: a deadline's marker could not be removed error=\"%s\"; a restart "
			"past the deadline will not enforce it again", liu_strerror(status));
	if (s->stopping)
		maybe_free(s);
}

/*
 * "Enforced" means "every record its hooks apply to was handled once the
 * deadline had passed".  It stays true only while the clock stays past it:
 * a clock stepped back before an enforced deadline (a test clock set, a
 * system clock corrected) lets writes in at times before the deadline, new
 * applications among them, which the deadline must catch when it passes
 * again.  So such a deadline is open again, its marker removed (durably,
 * queued before any write the step lets in, so a restart past the deadline
 * runs it too); the run is idempotent, records it already changed no longer
 * match their hooks.
 */
static void reopen(struct sched *s)
{
	int64_t now_ms = clock_now_ms();
	for (size_t i = 0; i < s->ndl; i++) {
		struct deadline *d = &s->dl[i];
		if (!d->enforced || d->at * 1000 <= now_ms)
			continue;
		d->enforced = false;
		char key[512], iso[CLOCK_ISO_MAX], now_iso[CLOCK_ISO_MAX];
		marker_key(key, sizeof key, d);
		log_warn("sched: clock is before an enforced deadline, which runs again when it passes "
			 "measure=%s deadline=%s now=%s clock=%s enforced_at=%s", d->measure,
			 clock_format(d->at, iso), clock_format(now_ms / 1000, now_iso),
			 clock_is_test() ? "test" : "system", *d->done_at ? d->done_at : "unknown");
		const char *meta[] = { key, LEDGER_META_DELETE, NULL };
		if (ledger_write(s->l, NULL, 0, NULL, 0, meta, reopened, s) == 0)
			s->reopening++;
		else
			log_err("sched: a deadline's marker could not be removed measure=%s", d->measure);
	}
}

/* Looks at the clock and the next deadline: start, or sleep (<= TICK_MS). */
static void arm(struct sched *s)
{
	if (s->stopping || s->running)
		return;
	clock_watch();
	reopen(s);
	struct deadline *d = next_due(s);
	if (!d) {
		/* All enforced: still look at the clock every TICK_MS, for a
		 * step back before one of them (reopen()). */
		if (s->ndl > 0)
			uv_timer_start(&s->timer, timer_cb, TICK_MS, 0);
		else
			uv_timer_stop(&s->timer);
		if (s->report) {
			json_t *rep = s->report;
			s->report = NULL;
			notify(s, rep);
		} else if (s->waiters) {
			notify(s, json_pack("{s:[]}", "enforced"));
		}
		return;
	}
	int64_t wait = d->at * 1000 - clock_now_ms();
	if (wait > 0) {
		/* Not due: nothing pending for anyone waiting on "now". */
		if (s->waiters || s->report) {
			json_t *rep = s->report ? s->report : json_pack("{s:[]}", "enforced");
			s->report = NULL;
			notify(s, rep);
		}
		stage_next(s, d);
		uv_timer_start(&s->timer, timer_cb, (uint64_t)(wait < TICK_MS ? wait : TICK_MS), 0);
		return;
	}
	/* Due.  Writes decided before the deadline may still be in flight: let
	 * them land first, so that the run sees them. */
	if (ledger_inflight(s->l) > 0) {
		uv_timer_start(&s->timer, timer_cb, BUSY_RETRY_MS, 0);
		return;
	}
	start_run(s, (size_t)(d - s->dl));
}

void sched_set_rules(struct sched *s, struct rules *rules)
{
	s->rules = rules;
	stage_reset(s->stg); /* staged under the old pack: staged again under the new one */
	if (s->running) {
		/* The run's batch in flight finishes; the rest is planned again
		 * under the new pack.  Idempotence makes the restart safe. */
		s->replan = true;
		return;
	}
	plan(s);
	arm(s);
}

void sched_kick(struct sched *s)
{
	if (!s->running)
		arm(s);
}

int sched_enforce_now(struct sched *s, sched_done_fn done, void *ud)
{
	struct waiter *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->fn = done;
	w->ud = ud;
	w->next = s->waiters;
	s->waiters = w;
	if (s->running)
		return -EBUSY;
	arm(s);
	return 0;
}

struct affected {
	json_t *hooks;
	uint64_t n;
};

static void count_hook(void *ud, const char *kind, const char *state, uint64_t n)
{
	struct affected *a = ud;
	if (expiry_hooks_match(a->hooks, kind, state))
		a->n += n;
}

json_t *sched_deadlines(struct sched *s, size_t limit, bool include_done)
{
	json_t *out = json_array();
	int64_t now = clock_now();
	/* In time order; the list is short (one entry per temporary measure). */
	bool *taken = calloc(s->ndl ? s->ndl : 1, sizeof *taken);
	for (size_t n = 0; n < s->ndl && json_array_size(out) < limit; n++) {
		struct deadline *d = NULL;
		size_t di = 0;
		for (size_t i = 0; i < s->ndl; i++)
			if (!taken[i] && (!d || s->dl[i].at < d->at))
				d = &s->dl[i], di = i;
		taken[di] = true;
		if (d->enforced && !include_done)
			continue;
		struct affected a = { .hooks = d->hooks };
		if (!d->enforced)
			store_counts(s->st, count_hook, &a);
		/* An enforced deadline: the records its run changed (a marker
		 * older than that count says null). */
		json_t *cnt = !d->enforced ? json_integer((json_int_t)a.n) :
			    d->changed >= 0 ? json_integer(d->changed) : json_null();
		char iso[CLOCK_ISO_MAX];
		json_array_append_new(out, json_pack("{s:s, s:O?, s:s, s:b, s:b, s:o, s:s?}", "measure",
						     d->measure, "title", d->title, "at",
						     clock_format(d->at, iso), "due", d->at <= now,
						     "enforced", d->enforced, "records_affected", cnt,
						     "enforced_at", *d->done_at ? d->done_at : NULL));
	}
	free(taken);
	return out;
}

json_t *sched_staging(struct sched *s)
{
	return stage_status(s->stg);
}
