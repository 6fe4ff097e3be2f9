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
#include "evmemo.h"
#include "log.h"

#define TICK_MS 1000      /* the longest the timer sleeps before looking again */
#define MAX_INFLIGHT 2    /* batches written but not yet durable */
#define BUSY_RETRY_MS 5   /* writes in flight at a deadline: look again soon */
#define FAIL_RETRY_MS 1000
/* Metadata: "<instant>\t<row key>", the staged rows applied so far at that
 * instant, written with each batch.  A row stays until the run's end drops
 * them all, so after a crash the catch-up goes on after this key. */
#define STAGE_CURSOR_KEY "stage-applied"
#define STEP_MS 20        /* a step yields to other clients after this long */

struct deadline {
	char *measure;
	int64_t at;
	json_t *hooks;    /* [{kind, states}] */
	json_t *title;
	bool enforced;
};

struct waiter {
	sched_done_fn fn;
	void *ud;
	struct waiter *next;
};

struct sched {
	uv_loop_t *loop;
	uv_timer_t timer;   /* wakes for the next deadline (at most TICK_MS away) */
	uv_timer_t step;    /* runs the next batch on a later loop turn */
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
	int64_t started_ms;
	json_t *report;     /* {enforced:[...]} of this run */
	struct waiter *waiters;
	char next_iso[CLOCK_ISO_MAX];
	struct sched_stats stats;
	/* Staging (see "staging" below): the hooks of the next deadline run in
	 * idle time before it, their results kept in the store. */
	int64_t stage_secs;  /* how long before a deadline staging starts (0: never) */
	uv_timer_t stage_timer;
	struct {
		bool active, done;
		int64_t at;         /* the instant being staged */
		json_t *lanes;      /* [[kind, state|null]] of every hook due at `at` */
		size_t lane;
		char *after;
		int inflight;
		uint64_t staged, ready, seen, failed;
		uint64_t changes_at_start; /* ledger_changes() when the pass began */
		int64_t started_ms, retry_ms, next_pass_ms;
	} stg;
	/* Applying what was staged, at the start of a run */
	bool applying;
	char *apply_after;     /* metadata key cursor */
	json_t *applied;       /* ids applied for the instant applied_at */
	int64_t applied_at;
};

static void arm(struct sched *s);
static void step_cb(uv_timer_t *t);
static void stage_maybe_start(struct sched *s, struct deadline *d);
static void stage_reset(struct sched *s);
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
		marker_key(key, sizeof key, d);
		if (store_meta_get(s->st, key, &v, NULL) == 0) {
			d->enforced = true;
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
	s->stage_secs = stage_secs > 0 ? stage_secs : 0;
	uv_timer_init(loop, &s->timer);
	uv_timer_init(loop, &s->step);
	uv_timer_init(loop, &s->stage_timer);
	s->timer.data = s->step.data = s->stage_timer.data = s;
	s->open_handles = 3;
	s->applied = json_object();
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
	if (s->open_handles > 0 || s->inflight > 0 || s->stg.inflight > 0)
		return;
	free_deadlines(s);
	json_decref(s->lanes);
	json_decref(s->seen);
	json_decref(s->report);
	json_decref(s->stg.lanes);
	json_decref(s->applied);
	free(s->stg.after);
	free(s->apply_after);
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
	uv_timer_stop(&s->step);
	uv_timer_stop(&s->stage_timer);
	uv_close((uv_handle_t *)&s->timer, closed);
	uv_close((uv_handle_t *)&s->step, closed);
	uv_close((uv_handle_t *)&s->stage_timer, closed);
}

bool sched_running(const struct sched *s) { return s->running; }
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
	s->changed = s->visited = 0;
	s->started_ms = clock_now_ms();
	free(s->after);
	s->after = NULL;
	json_decref(s->lanes);
	s->lanes = json_array();
	json_decref(s->seen);
	s->seen = json_object();
	size_t j;
	json_t *h;
	json_array_foreach(d->hooks, j, h) {
		json_t *kind = json_object_get(h, "kind"), *states = json_object_get(h, "states");
		if (json_array_size(states) == 0) {
			json_array_append_new(s->lanes, json_pack("[O, n]", kind));
		} else {
			size_t k;
			json_t *st;
			json_array_foreach(states, k, st)
				json_array_append_new(s->lanes, json_pack("[O, O]", kind, st));
		}
	}
	if (!s->report)
		s->report = json_pack("{s:[]}", "enforced");
	/* What was staged for this instant goes first (each staged record gets
	 * all its deadlines of the instant at once); the lanes then see only
	 * the records that were not staged. */
	stage_reset(s);
	if (s->applied_at != d->at) {
		json_object_clear(s->applied);
		s->applied_at = d->at;
	}
	s->applying = s->stage_secs > 0;
	free(s->apply_after);
	s->apply_after = NULL;
	char *cursor = NULL;
	if (s->applying && store_meta_get(s->st, STAGE_CURSOR_KEY, &cursor, NULL) == 0) {
		char *tab = strchr(cursor, '\t');
		if (tab && strtoll(cursor, NULL, 10) == d->at)
			s->apply_after = strdup(tab + 1); /* a run cut short: go on after it */
	}
	free(cursor);
	char iso[CLOCK_ISO_MAX];
	log_info("sched: enforcing measure=%s deadline=%s lanes=%zu", d->measure,
		 clock_format(d->at, iso), json_array_size(s->lanes));
	uv_timer_start(&s->step, step_cb, 0, 0);
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

/* Touches nothing of the scheduler: it may run after sched_close(). */
static void staged_dropped(void *ud, int status)
{
	(void)ud;
	if (status < 0)
		log_err("sched: the staged rows were not dropped error=\"%s\"; the next run drops them",
			liu_strerror(status));
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
		/* Every staged row is applied or stale now: all go at once. */
		if (s->stage_secs > 0 && ledger_drop_staged(s->l, STAGE_CURSOR_KEY, staged_dropped, NULL) < 0)
			log_err("sched: the staged rows could not be dropped; the next run drops them");
		s->stats.runs++;
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
		uv_timer_start(&s->step, step_cb, 0, 0);
}

/*
 * What a hook's outcome `out` makes of `rec` at deadline `d`: *next, the
 * record's next version (without "updated_at": the writer stamps it), and
 * *entry, its audit entry (without "time").  Shared by a run and by
 * staging, so that both write the same.  Returns 0 or -ENOMEM.
 */
static int expire_change(struct sched *s, const struct deadline *d, json_t *rec, json_t *out,
			 json_t **next, json_t **entry)
{
	json_t *res = json_object_get(out, "record");
	char dl[CLOCK_ISO_MAX];
	clock_format(d->at, dl);
	json_int_t rev = json_integer_value(json_object_get(rec, "rev"));
	*next = json_copy(rec);
	if (*next) {
		json_object_set_new(*next, "rev", json_integer(rev + 1));
		json_object_set(*next, "state", json_object_get(res, "state"));
		json_object_set(*next, "data", json_object_get(res, "data"));
		json_object_del(*next, "updated_at");
	}
	*entry = json_pack(
		"{s:{s:i, s:s, s:[s]}, s:s, s:s, s:s, s:s, s:O, s:I, s:O, s:O, s:s, s:s, s:O, s:I}",
		"peer", "uid", (int)getuid(), "user", "liud", "roles", "admin", "method", "enforce",
		"action", "expire", "measure", d->measure, "deadline", dl, "id",
		json_object_get(rec, "id"), "rev_before", rev, "state_before",
		json_object_get(rec, "state"), "state_after", json_object_get(res, "state"),
		"rules_version", rules_version(s->rules), "outcome", "ok", "events",
		json_object_get(out, "events"), "rev_after", rev + 1);
	if (!*next || !*entry) {
		json_decref(*next);
		json_decref(*entry);
		return -ENOMEM;
	}
	return 0;
}

/* One change of the run: the record's next version and its audit entry. */
static int add_change(struct sched *s, json_t *rec, json_t *out, json_t *records, json_t *audits,
		      json_t *olds)
{
	json_t *next, *audit;
	if (expire_change(s, &s->dl[s->cur], rec, out, &next, &audit) < 0)
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

/* Reads the current lanes from where the run is, up to `s->batch` records
 * and until `step_end`, adding each record's change to the arrays.
 * Returns 0, or a negative errno that stops the run. */
static int step_collect(struct sched *s, const struct deadline *d, int64_t step_end,
			json_t *records, json_t *audits, json_t *olds)
{
	int budget = s->batch, rc = 0;
	bool out_of_time = false;
	while (budget > 0 && !s->lanes_done && !out_of_time) {
		json_t *lane = json_array_get(s->lanes, s->lane);
		if (!lane) {
			s->lanes_done = true;
			break;
		}
		/* Lazy: lanes skip most of what they list (applied, staged,
		 * seen), so only what is read is unpacked. */
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
			const char *id = ledger_page_id(&list, i);
			budget--;
			if (json_object_get(s->seen, id) || json_object_get(s->applied, id))
				continue;
			json_object_set_new(s->seen, id, json_true());
			s->visited++;
			json_t *out;
			/* The latest version: a write still in flight, else the bytes
			 * the listing already holds (no second read). */
			json_t *rec = ledger_page_latest(s->l, &list, i);
			if (!rec) {
				rc = -EIO;
				break;
			}
			int st = rules_expire(s->rules, d->measure, rec, d->at, &out);
			if (st == 1) {
				rc = add_change(s, rec, out, records, audits, olds);
				s->changed++;
			} else if (st < 0) {
				/* A hook that fails leaves that record as it was, said loudly;
				 * the rest of the deadline still goes through. */
				log_err("sched: expiry hook failed measure=%s id=%s error=\"%s\"", d->measure,
					id, json_string_value(json_object_get(out, "error")));
			}
			json_decref(out);
			json_decref(rec);
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

/* Handles up to `batch` records of the current lanes and writes them. */
static void step_cb(uv_timer_t *t)
{
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
	json_t *records = json_array(), *audits = json_array(), *olds = json_array();
	/* Bounded by count (one transaction's size) and by time, whichever
	 * comes first: readers never wait for more than about one step. */
	int64_t step_end = clock_now_ms() + STEP_MS;
	int rc = step_collect(s, d, step_end, records, audits, olds);
	if (rc < 0) {
		log_err("sched: enforcement stopped measure=%s error=\"%s\"", d->measure, liu_strerror(rc));
		json_decref(records);
		json_decref(audits);
		json_decref(olds);
		if (s->inflight == 0)
			end_run(s, false);
		return;
	}
	size_t n = json_array_size(records);
	if (n == 0 && !s->lanes_done) {
		json_decref(records);
		json_decref(audits);
		json_decref(olds);
		uv_timer_start(&s->step, step_cb, 0, 0);
		return;
	}
	int64_t t_collect = clock_now_ms();
	struct ledger_change *ch = calloc(n ? n : 1, sizeof *ch);
	struct batch_ctx *b = calloc(1, sizeof *b);
	char key[512];
	marker_key(key, sizeof key, d);
	char done_at[CLOCK_ISO_MAX];
	clock_format(clock_now(), done_at);
	for (size_t i = 0; ch && i < n; i++) {
		ch[i] = (struct ledger_change){
			.kind = LEDGER_CHANGE_DECODED,
			.old_kind = json_string_value(json_array_get(json_array_get(olds, i), 0)),
			.old_state = json_string_value(json_array_get(json_array_get(olds, i), 1)),
			.decoded = { .record = json_array_get(records, i), .audit = json_array_get(audits, i) },
		};
	}
	rc = ch && b ? 0 : -ENOMEM;
	if (rc == 0) {
		b->s = s;
		b->final = s->lanes_done;
		b->n = n;
		const char *meta[] = { key, done_at, NULL };
		rc = ledger_write(s->l, ch, n, NULL, 0, b->final ? meta : NULL, batch_written, b);
	}
	free(ch);
	json_decref(records);
	json_decref(audits);
	json_decref(olds);
	if (rc < 0) {
		free(b);
		log_err("sched: enforcement batch not queued error=\"%s\"", liu_strerror(rc));
		if (s->inflight == 0)
			end_run(s, false);
		return;
	}
	log_debug("sched: step records=%zu collect_ms=%lld write_ms=%lld", n,
		  (long long)(t_collect - (step_end - STEP_MS)), (long long)(clock_now_ms() - t_collect));
	s->inflight++;
	if (b->final) {
		s->final_sent = true;
		return;
	}
	if (s->visited % 10000 < (uint64_t)s->batch)
		log_info("sched: progress measure=%s records_seen=%" PRIu64 " records_changed=%" PRIu64,
			 d->measure, s->visited, s->changed);
	/* Reads get their turn before the next batch. */
	if (s->inflight < MAX_INFLIGHT)
		uv_timer_start(&s->step, step_cb, 0, 0);
}

/* Looks at the clock and the next deadline: start, or sleep (<= TICK_MS). */
static void arm(struct sched *s)
{
	if (s->stopping || s->running)
		return;
	struct deadline *d = next_due(s);
	if (!d) {
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
		stage_maybe_start(s, d);
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
	stage_reset(s); /* staged under the old pack: staged again under the new one */
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

bool sched_hooks_match(const json_t *hooks, const char *kind, const char *state)
{
	size_t i, j;
	json_t *h, *st;
	json_array_foreach(hooks, i, h) {
		const char *hk = json_string_value(json_object_get(h, "kind"));
		if (!hk || !kind || strcmp(hk, kind) != 0)
			continue;
		json_t *states = json_object_get(h, "states");
		if (json_array_size(states) == 0)
			return true;
		json_array_foreach(states, j, st)
			if (state && json_is_string(st) && strcmp(json_string_value(st), state) == 0)
				return true;
	}
	return false;
}

static void count_hook(void *ud, const char *kind, const char *state, uint64_t n)
{
	struct affected *a = ud;
	if (sched_hooks_match(a->hooks, kind, state))
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
		char iso[CLOCK_ISO_MAX];
		json_array_append_new(out, json_pack("{s:s, s:O?, s:s, s:b, s:b, s:I}", "measure",
						     d->measure, "title", d->title, "at",
						     clock_format(d->at, iso), "due", d->at <= now,
						     "enforced", d->enforced, "records_affected",
						     (json_int_t)a.n));
	}
	free(taken);
	return out;
}

/* --- staging: enforcement computed ahead of its deadline ------------------ */

/*
 * An expiry hook's result depends only on the record and the deadline, so
 * it can be computed before the deadline.  From `stage_secs` before the next
 * deadline, in idle steps like a run's, every record its hooks apply to
 * (all the deadlines at that instant, chained in order) is run through them
 * and the outcome is kept in the store under "stage/<id>": the new version
 * as JSON text without "updated_at", and the audit entries as text without
 * their time and seal.  At the deadline the run applies these first, with
 * no decoding, no Lua and no encoding: stamp, seal, write.
 *
 * A staged outcome is only ever applied to the version it came from: every
 * write of a record deletes its key in the same transaction (ledger.c), a
 * record with a write in flight is not staged, and a row names the instant
 * and the pack version it was computed for (a reload or a moved deadline
 * makes it stale: the run then takes the record through its hooks as
 * usual).  The rows are durable hints: after a restart, staging goes on
 * where they are missing and a catch-up run applies them.
 *
 * Row: header (struct row_head) "\n" audit text ("\n" audit text)... and,
 * when the header says so, "\n" eval's answer for the new version at the
 * deadline as the memo keeps it (rules_eval_memo_text): the run puts it in
 * the memo as it writes the version, so the first reads after the deadline
 * find their answer ready.  Then "\n" and, to the end, the new version's
 * JSON text without "updated_at" and its opening brace, compressed
 * (store_frame(); binary, its length in the header): the run puts the
 * stamp in front (recz.h) and writes it as it is.  JSON text never holds a
 * raw newline.
 */

#define STAGE_BATCH 64
/* A staged record costs the loop about 15 µs: a step (STEP_MS) applies up
 * to 1,000 (5 × enforce_batch), in larger transactions than a run's, and
 * fewer of them write less (each rewrites the pages batches share: the free
 * list, branch pages, the audit log's last leaf): 1,000 MiB written at 1,000
 * a transaction, 680 MiB at 4,000.  Not more: a batch's completion is one
 * loop turn (the memo, the overlay) that readers wait behind: their p99
 * during the bench's sweep was 28 ms at 1,000 and 69 ms at 2,000. */
#define APPLY_BATCH_FACTOR 5

static void stage_reset(struct sched *s)
{
	uv_timer_stop(&s->stage_timer);
	s->stg.active = s->stg.done = false;
	s->stg.at = 0;
	json_decref(s->stg.lanes);
	s->stg.lanes = NULL;
	s->stg.lane = 0;
	free(s->stg.after);
	s->stg.after = NULL;
}

static void add_lane(json_t *lanes, json_t *want)
{
	size_t k;
	json_t *l;
	json_array_foreach(lanes, k, l)
		if (json_equal(l, want)) {
			json_decref(want);
			return;
		}
	json_array_append_new(lanes, want);
}

/* The lanes of `hooks`, added to `lanes` once each. */
static void add_lanes(json_t *lanes, const json_t *hooks)
{
	size_t i, j;
	json_t *h, *st;
	json_array_foreach(hooks, i, h) {
		json_t *kind = json_object_get(h, "kind"), *states = json_object_get(h, "states");
		if (json_array_size(states) == 0)
			add_lane(lanes, json_pack("[O, n]", kind));
		json_array_foreach(states, j, st)
			add_lane(lanes, json_pack("[O, O]", kind, st));
	}
}

/* A row's header:
 * "at\tpack\tkind\tstate\trev\told_kind\told_state\tchanges\teval\tframe"
 * (plain text: it is read for every staged record at the deadline). */
#define ROW_FIELDS 10
struct row_head {
	int64_t at, rev;
	const char *pack, *kind, *state, *old_kind, *old_state;
	size_t changes;
	bool eval;        /* eval's answer follows the audit entries */
	size_t frame_len; /* bytes of the compressed record at the end */
};

/* Parses the header at the start of `buf` (mutable, NUL-terminated: the
 * fields are cut in place); returns the rest after its newline, or NULL. */
static char *row_head_parse(char *buf, struct row_head *h)
{
	char *nl = strchr(buf, '\n');
	if (!nl)
		return NULL;
	*nl = '\0';
	char *f[ROW_FIELDS];
	int n = 0;
	for (char *p = buf; n < ROW_FIELDS; n++) {
		f[n] = p;
		char *t = strchr(p, '\t');
		if (!t) {
			n++;
			break;
		}
		*t = '\0';
		p = t + 1;
	}
	if (n != ROW_FIELDS)
		return NULL; /* a row of an older build: stale, the run takes the record */
	h->at = strtoll(f[0], NULL, 10);
	h->pack = f[1];
	h->kind = f[2];
	h->state = f[3];
	h->rev = strtoll(f[4], NULL, 10);
	h->old_kind = f[5];
	h->old_state = f[6];
	h->changes = (size_t)strtoull(f[7], NULL, 10);
	h->eval = strcmp(f[8], "1") == 0;
	h->frame_len = (size_t)strtoull(f[9], NULL, 10);
	return nl + 1;
}

/* Whether a row was staged for `at` under the live pack. */
static bool row_valid(struct sched *s, const struct row_head *h, int64_t at)
{
	return h->at == at && strcmp(h->pack, rules_version(s->rules)) == 0;
}

/* A header field may hold no tab or newline (kinds and states are names). */
static bool plain_field(const char *v) { return v && !strpbrk(v, "\t\n"); }

/* eval's answer for `rec` at `at` as the memo keeps it (rules_eval_memo_text),
 * with its span, or NULL: the pack does not memoise eval, or eval failed
 * (the read that needs it computes it, and says why). */
static char *eval_text(struct sched *s, json_t *rec, int64_t at, int64_t *from, int64_t *till)
{
	json_t *out = NULL;
	if (!rules_eval_span(s->rules, at, from, till))
		return NULL;
	if (rules_eval(s->rules, rec, at, &out) != 0) {
		json_decref(out);
		return NULL;
	}
	return rules_eval_memo_text(s->rules, out); /* takes out */
}

/* eval's answer for staged version `fin` (without "updated_at") at `at`, for
 * its row: the run puts it in the memo as it writes the version. */
static char *stage_eval(struct sched *s, json_t *fin, int64_t at)
{
	/* The run stamps the time it writes.  A pack that declares
	 * eval_by_date promises an answer that does not depend on it (liud test
	 * checks that), so the deadline stands in for it. */
	char iso[CLOCK_ISO_MAX];
	int64_t from, till;
	json_t *rec = json_copy(fin);
	char *text = NULL;
	if (rec && json_object_set_new(rec, "updated_at", json_string(clock_format(at, iso))) == 0)
		text = eval_text(s, rec, at, &from, &till);
	json_decref(rec);
	return text;
}

/* Keeps in the memo eval's answer for stored version `rec` from `at` on
 * (evmemo_put_next): the reads of the deadline that come before the run has
 * rewritten the record find it there. */
static void stage_eval_now(struct sched *s, json_t *rec, int64_t at)
{
	int64_t from, till;
	const char *id = json_string_value(json_object_get(rec, "id"));
	char *text = id ? eval_text(s, rec, at, &from, &till) : NULL;
	if (text)
		evmemo_put_next(s->l, s->rules, id, from, till, text + 1, strlen(text + 1));
	free(text);
}

/* Runs record `rec` through every hook due at `at`, in order.  Returns 1
 * with *row (*row_len bytes, binary), 0 when nothing changes, or a negative
 * code (a hook failed: the run will meet the record again and say so). */
static int stage_record(struct sched *s, json_t *rec, int64_t at, char **row, size_t *row_len)
{
	json_t *cur = json_incref(rec), *audits = json_array();
	int rc = 0;
	for (size_t i = 0; i < s->ndl && rc >= 0; i++) {
		struct deadline *d = &s->dl[i];
		if (d->at != at || d->enforced ||
		    !sched_hooks_match(d->hooks, json_string_value(json_object_get(cur, "kind")),
				       json_string_value(json_object_get(cur, "state"))))
			continue;
		json_t *out;
		int st = rules_expire(s->rules, d->measure, cur, at, &out);
		if (st < 0) {
			rc = st;
		} else if (st == 1) {
			json_t *next, *a;
			if (expire_change(s, d, cur, out, &next, &a) < 0 ||
			    json_array_append_new(audits, a) < 0) {
				rc = -ENOMEM;
			} else {
				json_decref(cur);
				cur = next;
			}
		}
		json_decref(out);
	}
	if (rc < 0 || json_array_size(audits) == 0) {
		json_decref(cur);
		json_decref(audits);
		return rc;
	}
	json_t *fin = json_copy(cur); /* the first change took "updated_at" off */
	json_object_del(fin, "updated_at");
	const char *kind = json_string_value(json_object_get(cur, "kind")),
		   *state = json_string_value(json_object_get(cur, "state")),
		   *old_kind = json_string_value(json_object_get(rec, "kind")),
		   *old_state = json_string_value(json_object_get(rec, "state"));
	if (!plain_field(kind) || !plain_field(state) || !plain_field(old_kind) || !plain_field(old_state)) {
		json_decref(fin);
		json_decref(cur);
		json_decref(audits);
		return 0; /* not stageable: the run takes it */
	}
	char *ev = fin ? stage_eval(s, fin, at) : NULL, *h = NULL, *z = NULL;
	char *r = fin ? json_dumps(fin, JSON_COMPACT) : NULL;
	size_t zlen = 0;
	/* The members after the opening brace: the run puts the stamp first. */
	if (!r || strlen(r) < 3 || store_frame(s->st, r + 1, strlen(r + 1), &z, &zlen) < 0)
		rc = -ENOMEM;
	if (rc == 0 &&
	    asprintf(&h, "%lld\t%s\t%s\t%s\t%lld\t%s\t%s\t%zu\t%d\t%zu", (long long)at,
		     rules_version(s->rules), kind, state,
		     (long long)json_integer_value(json_object_get(cur, "rev")), old_kind, old_state,
		     json_array_size(audits), ev != NULL, zlen) < 0)
		h = NULL;
	FILE *f = h && z ? open_memstream(row, row_len) : NULL;
	if (f) {
		fputs(h, f);
		size_t i;
		json_t *a;
		json_array_foreach(audits, i, a) {
			char *t = json_dumps(a, JSON_COMPACT);
			fprintf(f, "\n%s", t ? t : "");
			rc = t ? rc : -ENOMEM;
			free(t);
		}
		if (ev)
			fprintf(f, "\n%s", ev);
		fputc('\n', f);
		fwrite(z, 1, zlen, f);
		fclose(f);
	} else {
		rc = -ENOMEM;
	}
	if (rc < 0 && f)
		free(*row);
	free(h);
	free(r);
	free(z);
	free(ev);
	json_decref(fin);
	json_decref(cur);
	json_decref(audits);
	return rc < 0 ? rc : 1;
}

static void stage_step_cb(uv_timer_t *t);

static void stage_written(void *ud, int status)
{
	struct sched *s = ud;
	s->stg.inflight--;
	if (s->stopping) {
		maybe_free(s);
		return;
	}
	if (status < 0) {
		log_err("sched: staging batch failed error=\"%s\"; staging again later",
			liu_strerror(status));
		stage_reset(s);
		s->stg.retry_ms = clock_now_ms() + 60 * 1000;
		return;
	}
	if (s->stg.active && s->stg.inflight < MAX_INFLIGHT)
		uv_timer_start(&s->stage_timer, stage_step_cb, 0, 0);
}

static void stage_maybe_start(struct sched *s, struct deadline *d)
{
	if (s->stage_secs == 0 || s->stopping || s->running || s->stg.active ||
	    clock_now_ms() < s->stg.retry_ms || d->at - clock_now() > s->stage_secs)
		return;
	/* Staged already: pass again over the lanes once records were written
	 * since (new records, and those whose staged outcome a write dropped),
	 * at most every 10 times as long as a pass takes. */
	if (s->stg.done && s->stg.at == d->at &&
	    (ledger_changes(s->l) == s->stg.changes_at_start || clock_now_ms() < s->stg.next_pass_ms))
		return;
	stage_reset(s);
	s->stg.active = true;
	s->stg.at = d->at;
	s->stg.lanes = json_array();
	for (size_t i = 0; i < s->ndl; i++)
		if (s->dl[i].at == d->at && !s->dl[i].enforced)
			add_lanes(s->stg.lanes, s->dl[i].hooks);
	s->stg.staged = s->stg.ready = s->stg.seen = s->stg.failed = 0;
	s->stg.started_ms = clock_now_ms();
	s->stg.changes_at_start = ledger_changes(s->l);
	char iso[CLOCK_ISO_MAX];
	log_info("sched: staging deadline=%s lanes=%zu", clock_format(d->at, iso),
		 json_array_size(s->stg.lanes));
	uv_timer_start(&s->stage_timer, stage_step_cb, 0, 0);
}

/* One idle step of staging: like a run's step, bounded by count and time. */
static void stage_step_cb(uv_timer_t *t)
{
	struct sched *s = t->data;
	if (!s->stg.active || s->running || s->stopping)
		return;
	struct deadline *d = next_due(s);
	if (!d || d->at != s->stg.at || clock_now() >= d->at) {
		stage_reset(s); /* the plan moved, or the deadline came: the run takes over */
		return;
	}
	int64_t step_end = clock_now_ms() + STEP_MS;
	json_t *rows = json_array(); /* key, value, key, value, ... */
	int rc = 0;
	bool out_of_time = false;
	while (json_array_size(rows) < 2 * STAGE_BATCH && !out_of_time && rc == 0) {
		json_t *lane = json_array_get(s->stg.lanes, s->stg.lane);
		if (!lane) {
			s->stg.active = false;
			s->stg.done = true;
			break;
		}
		struct ledger_page list;
		if ((rc = ledger_list(s->l, json_string_value(json_array_get(lane, 0)),
				      json_string_value(json_array_get(lane, 1)), s->stg.after, 16, true, &list)) < 0)
			break;
		size_t handled = 0;
		for (size_t i = 0; i < list.n; i++) {
			if (i > 0 && clock_now_ms() >= step_end) {
				out_of_time = true;
				break;
			}
			handled = i + 1;
			const char *id = ledger_page_id(&list, i);
			s->stg.seen++;
			if (ledger_is_pending(s->l, id))
				continue; /* a write in flight: the run takes this one */
			char key[600], *old;
			size_t olen;
			snprintf(key, sizeof key, "%s%s", LEDGER_STAGE_PREFIX, id);
			if (store_meta_get(s->st, key, &old, &olen) == 0) {
				struct row_head h;
				bool valid = row_head_parse(old, &h) && row_valid(s, &h, s->stg.at);
				free(old);
				if (valid) {
					s->stg.ready++;
					continue; /* staged by an earlier pass */
				}
			}
			json_t *rec = ledger_page_get(s->l, &list, i);
			char *row = NULL;
			size_t row_len = 0;
			int st = rec ? stage_record(s, rec, s->stg.at, &row, &row_len) : -EIO;
			if (rec)
				stage_eval_now(s, rec, s->stg.at);
			json_decref(rec);
			if (st < 0) {
				s->stg.failed++;
				continue;
			}
			if (st == 1) {
				json_array_append_new(rows, json_string(key));
				json_array_append_new(rows, json_stringn_nocheck(row, row_len));
				free(row);
				s->stg.staged++;
				s->stg.ready++;
			}
		}
		free(s->stg.after);
		s->stg.after = NULL;
		if (handled < list.n || list.next)
			s->stg.after = handled ? strdup(ledger_page_id(&list, handled - 1)) : NULL;
		else
			s->stg.lane++;
		ledger_page_free(&list);
		if (clock_now_ms() >= step_end)
			out_of_time = true;
	}
	size_t n = json_array_size(rows);
	if (rc < 0) {
		log_err("sched: staging stopped error=\"%s\"", liu_strerror(rc));
		stage_reset(s);
		s->stg.retry_ms = clock_now_ms() + 60 * 1000;
	} else if (n > 0) {
		/* Rows are binary (the compressed record at their end). */
		size_t m = n / 2;
		const char **keys = calloc(m, sizeof *keys), **vals = calloc(m, sizeof *vals);
		size_t *lens = calloc(m, sizeof *lens);
		for (size_t i = 0; keys && vals && lens && i < m; i++) {
			keys[i] = json_string_value(json_array_get(rows, 2 * i));
			vals[i] = json_string_value(json_array_get(rows, 2 * i + 1));
			lens[i] = json_string_length(json_array_get(rows, 2 * i + 1));
		}
		rc = keys && vals && lens ? ledger_write_meta(s->l, keys, vals, lens, m, stage_written, s)
					  : -ENOMEM;
		free(keys);
		free(vals);
		free(lens);
		if (rc < 0) {
			log_err("sched: staging batch not queued error=\"%s\"", liu_strerror(rc));
			stage_reset(s);
			s->stg.retry_ms = clock_now_ms() + 60 * 1000;
		} else {
			s->stg.inflight++;
		}
	}
	json_decref(rows);
	if (s->stg.done) {
		char iso[CLOCK_ISO_MAX];
		int64_t ms = clock_now_ms() - s->stg.started_ms;
		s->stg.next_pass_ms = clock_now_ms() + (ms * 10 > 1000 ? ms * 10 : 1000);
		log_info("sched: staged deadline=%s records_seen=%" PRIu64 " records_staged=%" PRIu64
			 " records_ready=%" PRIu64 " hook_failures=%" PRIu64 " ms=%" PRId64,
			 clock_format(s->stg.at, iso), s->stg.seen, s->stg.staged, s->stg.ready,
			 s->stg.failed, ms);
	} else if (s->stg.active && s->stg.inflight < MAX_INFLIGHT) {
		uv_timer_start(&s->stage_timer, stage_step_cb, 0, 0);
	}
}

/*
 * One step of applying staged rows at the start of a run.  Returns true when
 * it handled the step (a batch written or queued), false when nothing is
 * left to apply (the run goes on with its lanes).
 */
static bool apply_step(struct sched *s)
{
	struct deadline *d = &s->dl[s->cur];
	int64_t step_end = clock_now_ms() + STEP_MS;
	/* A staged record costs the loop little (no decoding, no Lua): its
	 * transactions are larger than a run's, so fewer fsyncs. */
	size_t cap = (size_t)s->batch * APPLY_BATCH_FACTOR;
	struct ledger_change *ch = calloc(cap, sizeof *ch);
	char **bufs = calloc(cap, sizeof *bufs), **ids = calloc(cap, sizeof *ids);
	const char ***auds = calloc(cap, sizeof *auds);
	struct ledger_memo *memos = calloc(cap, sizeof *memos);
	struct evmemo_head *heads = calloc(cap, sizeof *heads);
	/* Staged answers hold for the span of the deadline under the live pack
	 * (a row names the pack version it was staged with: the same files). */
	int64_t from, till;
	bool memo_ok = rules_eval_span(s->rules, d->at, &from, &till);
	size_t n = 0;
	uint64_t changes = 0;
	bool more = true;
	int rc = ch && bufs && ids && auds && memos && heads ? 0 : -ENOMEM;
	while (rc == 0 && n < cap && clock_now_ms() < step_end) {
		struct store_rows list;
		if ((rc = store_meta_scan(s->st, LEDGER_STAGE_PREFIX, false, s->apply_after, 64, &list)) < 0)
			break;
		if (list.n == 0) {
			store_rows_free(&list);
			more = false;
			break;
		}
		size_t i;
		for (i = 0; i < list.n && n < cap; i++) {
			const char *id = list.items[i].id + strlen(LEDGER_STAGE_PREFIX);
			if (ledger_is_pending(s->l, id) || json_object_get(s->applied, id))
				continue; /* a write in flight: the lanes take it */
			/* The listing's copy is taken over (it goes before the
			 * write): header, audit and eval lines are cut into
			 * strings in place; the frame stays binary at the end. */
			size_t len = list.items[i].len;
			char *b = list.items[i].body, *bid = strdup(id);
			list.items[i].body = NULL;
			if (!bid) {
				free(b);
				rc = -ENOMEM;
				break;
			}
			struct row_head h;
			char *rec = row_head_parse(b, &h);
			if (!rec || !row_valid(s, &h, d->at)) {
				free(b);
				free(bid);
				continue; /* stale: the lanes take the record */
			}
			size_t text_len = len - h.frame_len; /* up to the frame's newline */
			if (h.frame_len == 0 || h.frame_len >= len || b[text_len - 1] != '\n' ||
			    rec > b + text_len - 1) {
				log_err("sched: a staged row is damaged id=%s; the run takes the record", id);
				free(b);
				free(bid);
				continue;
			}
			b[text_len - 1] = '\0';
			const char *frame = b + text_len;
			const char **a = calloc(h.changes ? h.changes : 1, sizeof *a);
			if (!a) {
				free(b);
				free(bid);
				rc = -ENOMEM;
				break;
			}
			/* The audit lines, then eval's answer when there is one. */
			char *p = rec;
			size_t k = 0;
			while (p && k < h.changes) {
				a[k++] = p;
				if ((p = strchr(p, '\n')))
					*p++ = '\0';
			}
			char *ev = h.eval ? p : NULL;
			if (k != h.changes || h.changes == 0 || (h.eval && (!ev || ev[0] != '{'))) {
				log_err("sched: a staged row is damaged id=%s; the run takes the record", id);
				free(b);
				free(bid);
				free(a);
				continue;
			}
			if (ev && memo_ok) {
				heads[n] = evmemo_head1(s->rules, from, till, strlen(ev + 1));
				memos[n] = (struct ledger_memo){ .head = (const char *)&heads[n],
								 .head_len = sizeof heads[n],
								 .body = ev + 1, .body_len = strlen(ev + 1) };
			}
			bufs[n] = b;
			ids[n] = bid;
			auds[n] = a;
			ch[n] = (struct ledger_change){
				.kind = LEDGER_CHANGE_PREPARED, .old_kind = h.old_kind, .old_state = h.old_state,
				.prepared = { .frame = frame, .frame_len = h.frame_len, .id = bid, .kind = h.kind,
					      .state = h.state, .rev = h.rev, .audits = a, .n_audits = h.changes,
					      .memo = memos[n].body ? &memos[n] : NULL },
			};
			json_object_set_new(s->applied, id, json_true());
			json_object_set_new(s->seen, id, json_true());
			changes += h.changes;
			n++;
		}
		free(s->apply_after);
		s->apply_after = strdup(list.items[i ? i - 1 : 0].id);
		store_rows_free(&list);
	}
	if (rc == 0 && n > 0) {
		struct batch_ctx *b = calloc(1, sizeof *b);
		char *cursor = NULL;
		if (asprintf(&cursor, "%lld\t%s", (long long)d->at, s->apply_after ? s->apply_after : "") < 0)
			cursor = NULL;
		const char *meta[] = { STAGE_CURSOR_KEY, cursor, NULL };
		rc = b && cursor ? ledger_write(s->l, ch, n, NULL, 0, meta, batch_written, b) : -ENOMEM;
		free(cursor);
		if (rc == 0) {
			b->s = s;
			b->n = n;
			s->inflight++;
			s->visited += n;
			s->changed += changes;
		} else {
			free(b);
		}
	}
	for (size_t j = 0; j < n; j++) {
		free(bufs[j]);
		free(ids[j]);
		free(auds[j]);
	}
	free(ch);
	free(bufs);
	free(ids);
	free(auds);
	free(memos);
	free(heads);
	if (rc < 0) {
		log_err("sched: applying staged enforcement failed error=\"%s\"; the run takes the records",
			liu_strerror(rc));
		s->applying = false;
		return false;
	}
	if (!more) {
		s->applying = false;
		if (s->visited > 0)
			log_info("sched: applied staged enforcement measure=%s records=%" PRIu64
				 " changes=%" PRIu64, d->measure, s->visited, s->changed);
		if (n == 0)
			return false;
	}
	if (s->inflight < MAX_INFLIGHT)
		uv_timer_start(&s->step, step_cb, 0, 0);
	return true;
}

json_t *sched_staging(struct sched *s)
{
	char iso[CLOCK_ISO_MAX];
	if (s->stage_secs == 0)
		return json_pack("{s:b}", "enabled", 0);
	return json_pack("{s:b, s:s?, s:b, s:b, s:I, s:I, s:I, s:I}", "enabled", 1, "at",
			 s->stg.at ? clock_format(s->stg.at, iso) : NULL, "active", s->stg.active,
			 /* done: the pass ended and its last rows are durable */
			 "done", s->stg.done && s->stg.inflight == 0, "records_seen", (json_int_t)s->stg.seen,
			 "records_staged", (json_int_t)s->stg.staged, "records_ready",
			 (json_int_t)s->stg.ready, "hook_failures", (json_int_t)s->stg.failed);
}
