/* stage — see stage.h. */
#include "stage.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "evalcache.h"
#include "expiry.h"
#include "errors.h"
#include "log.h"

#define MAX_INFLIGHT 2  /* staging batches written but not yet durable */
#define STEP_MS 20      /* a step yields to other clients after this long */
#define STAGE_BATCH 64  /* rows a step writes at most */
#define RETRY_MS (60 * 1000) /* after a failed pass, staging waits this long */
/* Metadata: "<instant>\t<row key>", the staged rows applied so far at that
 * instant, written with each batch the run applies.  A row stays until the
 * run's end drops them all, so after a crash the catch-up goes on after
 * this key. */
#define CURSOR_KEY "stage-applied"

/* --- the row ------------------------------------------------------------------ */

#define ROW_FIELDS 11

/* A header field may hold no tab or newline (kinds and states are names). */
static bool plain_field(const char *v) { return v && !strpbrk(v, "\t\n"); }

int stage_row_format(const struct stage_row *r, char **out, size_t *len)
{
	if (!plain_field(r->pack) || !plain_field(r->kind) || !plain_field(r->state) ||
	    !plain_field(r->old_kind) || !plain_field(r->old_state) || r->n_audits == 0 ||
	    !r->frame || r->frame_len == 0 || (r->eval && strchr(r->eval, '\n')))
		return -EINVAL;
	for (size_t i = 0; i < r->n_audits; i++)
		if (!r->audits[i] || strchr(r->audits[i], '\n'))
			return -EINVAL;
	FILE *f = open_memstream(out, len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "%d\t%lld\t%s\t%s\t%s\t%lld\t%s\t%s\t%zu\t%d\t%zu\n", STAGE_ROW_VERSION,
		(long long)r->at, r->pack, r->kind, r->state, (long long)r->rev, r->old_kind,
		r->old_state, r->n_audits, r->eval != NULL, r->frame_len);
	for (size_t i = 0; i < r->n_audits; i++)
		fprintf(f, "%s\n", r->audits[i]);
	if (r->eval)
		fprintf(f, "%s\n", r->eval);
	fwrite(r->frame, 1, r->frame_len, f);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* A decimal field, whole: true with *v. */
static bool num_field(const char *s, bool sign, long long *v)
{
	char *end;
	if (!*s || (!sign && *s == '-'))
		return false;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return *end == '\0' && errno == 0;
}

/* Cuts the header line (NUL-terminated at `nl`) into its fields: 0, or the
 * version it names when that is not ours (> 0), or -EBADMSG. */
static long long parse_head(char *head, struct stage_row *r, size_t *eval)
{
	char *f[ROW_FIELDS];
	int n = 0;
	for (char *p = head; p && n < ROW_FIELDS + 1; n++) {
		if (n < ROW_FIELDS)
			f[n] = p;
		char *t = strchr(p, '\t');
		if (t)
			*t++ = '\0';
		p = t;
	}
	long long v, at, rev, audits, frame;
	if (!num_field(f[0], false, &v))
		return -EBADMSG;
	if (v != STAGE_ROW_VERSION)
		return v > 0 ? v : -EBADMSG; /* another format: not read as this one */
	if (n != ROW_FIELDS || !num_field(f[1], true, &at) || !num_field(f[5], true, &rev) ||
	    !num_field(f[8], false, &audits) || audits == 0 || (strcmp(f[9], "0") != 0 &&
	    strcmp(f[9], "1") != 0) || !num_field(f[10], false, &frame) || frame == 0)
		return -EBADMSG;
	*r = (struct stage_row){ .version = (unsigned)v, .at = at, .pack = f[2], .kind = f[3],
				 .state = f[4], .rev = rev, .old_kind = f[6], .old_state = f[7],
				 .n_audits = (size_t)audits, .frame_len = (size_t)frame };
	*eval = f[9][0] == '1';
	return 0;
}

/* Cuts the text lines between the header and the frame: the audit entries,
 * then eval's answer when there is one.  0 or -EBADMSG / -ENOMEM. */
static int parse_lines(char *p, char *end, size_t eval, struct stage_row *r)
{
	size_t want = r->n_audits + eval, k = 0;
	if (want > (size_t)(end - p))
		return -EBADMSG; /* each line has its newline at least */
	if (!(r->audits = calloc(r->n_audits, sizeof *r->audits)))
		return -ENOMEM;
	while (p < end && k < want) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl || memchr(p, '\0', (size_t)(nl - p)))
			break;
		*nl = '\0';
		if (k < r->n_audits)
			r->audits[k] = p;
		else
			r->eval = p;
		k++;
		p = nl + 1;
	}
	if (k != want || p != end || (r->eval && r->eval[0] != '{'))
		return -EBADMSG;
	return 0;
}

int stage_row_parse(char *buf, size_t len, const char *key, struct stage_row *r)
{
	*r = (struct stage_row){ 0 };
	struct stage_row h = { 0 };
	size_t eval = 0;
	char *nl = memchr(buf, '\n', len);
	long long v = -EBADMSG;
	int rc = -EBADMSG;
	if (nl && !memchr(buf, '\0', (size_t)(nl - buf))) {
		*nl = '\0';
		v = parse_head(buf, &h, &eval);
	}
	if (v > 0) {
		if (key)
			log_err("sched: a staged row of another format is not read key=%s version=%lld "
				"reads=%d; the run takes the record", key, v, STAGE_ROW_VERSION);
		return -EPROTONOSUPPORT;
	}
	size_t text = nl ? (size_t)(nl + 1 - buf) : 0;
	if (v == 0 && h.frame_len < len - text) {
		*r = h;
		h.frame = buf + len - h.frame_len;
		rc = parse_lines(nl + 1, (char *)h.frame, eval, r);
		r->frame = h.frame;
	}
	if (rc < 0) {
		if (rc == -EBADMSG && key)
			log_err("sched: a staged row is damaged key=%s; the run takes the record", key);
		stage_row_clear(r);
	}
	return rc;
}

void stage_row_clear(struct stage_row *r)
{
	free(r->audits);
	*r = (struct stage_row){ 0 };
}

/* --- staging -------------------------------------------------------------------- */

struct stage {
	uv_loop_t *loop;
	uv_idle_t timer;     /* runs the pass's next step at the next loop turn, after its
			      * I/O (not a timer: restarted at 0 it runs again at once) */
	bool closing, timer_closed;
	struct store *st;
	struct ledger *l;
	int64_t secs;        /* how long before a deadline staging starts (0: never) */
	/* The pass: the hooks of the next deadline run in idle time before it. */
	struct rules *rules; /* borrowed until stage_reset() */
	json_t *dls;         /* [[measure, hooks]] due at `at`, in the plan's order */
	bool active, done;
	int64_t at;          /* the instant being staged */
	json_t *lanes;       /* [[kind, state|null]] of every hook due at `at` */
	size_t lane;
	char *after;
	int inflight;
	uint64_t staged, ready, seen, failed;
	uint64_t changes_at_start; /* ledger_changes() when the pass began */
	int64_t started_ms, retry_ms, next_pass_ms;
	/* Applying, at the run */
	char *apply_after;   /* row key cursor */
	json_t *applied;     /* ids applied for the instant applied_at */
	int64_t applied_at;
};

int stage_new(struct stage **out, uv_loop_t *loop, struct store *st, struct ledger *l,
	      int64_t secs)
{
	struct stage *g = calloc(1, sizeof *g);
	if (!g || !(g->applied = json_object())) {
		free(g);
		return -ENOMEM;
	}
	g->loop = loop;
	g->st = st;
	g->l = l;
	g->secs = secs > 0 ? secs : 0;
	uv_idle_init(loop, &g->timer);
	g->timer.data = g;
	*out = g;
	return 0;
}

bool stage_enabled(const struct stage *g) { return g->secs > 0; }

/* Frees the stager once its timer is closed and no write of its is in
 * flight: a write's callback may come after stage_close(). */
static void maybe_free(struct stage *g)
{
	if (!g->timer_closed || g->inflight > 0)
		return;
	json_decref(g->dls);
	json_decref(g->lanes);
	free(g->after);
	json_decref(g->applied);
	free(g->apply_after);
	free(g);
}

static void timer_closed(uv_handle_t *h)
{
	struct stage *g = h->data;
	g->timer_closed = true;
	maybe_free(g);
}

void stage_close(struct stage *g)
{
	g->closing = true;
	uv_idle_stop(&g->timer);
	uv_close((uv_handle_t *)&g->timer, timer_closed);
}

void stage_reset(struct stage *g)
{
	uv_idle_stop(&g->timer);
	g->active = g->done = false;
	g->at = 0;
	g->rules = NULL;
	json_decref(g->dls);
	g->dls = NULL;
	json_decref(g->lanes);
	g->lanes = NULL;
	g->lane = 0;
	free(g->after);
	g->after = NULL;
}

json_t *stage_status(const struct stage *g)
{
	char iso[CLOCK_ISO_MAX];
	if (g->secs == 0)
		return json_pack("{s:b}", "enabled", 0);
	return json_pack("{s:b, s:s?, s:b, s:b, s:I, s:I, s:I, s:I}", "enabled", 1, "at",
			 g->at ? clock_format(g->at, iso) : NULL, "active", g->active,
			 /* done: the pass ended and its last rows are durable */
			 "done", g->done && g->inflight == 0, "records_seen", (json_int_t)g->seen,
			 "records_staged", (json_int_t)g->staged, "records_ready", (json_int_t)g->ready,
			 "hook_failures", (json_int_t)g->failed);
}

/* Whether a row was staged for `at` under `rules`. */
static bool row_valid(const struct stage_row *r, struct rules *rules, int64_t at)
{
	return r->at == at && strcmp(r->pack, rules_version(rules)) == 0;
}

/* eval's answer for `rec` at `at` as the memo keeps it (rules_eval_memo_text),
 * with its span, or NULL: the pack does not memoise eval, or eval failed
 * (the read that needs it computes it, and says why). */
static char *eval_text(struct rules *rules, json_t *rec, int64_t at, int64_t *from, int64_t *till)
{
	json_t *out = NULL;
	if (!rules_eval_span(rules, at, from, till))
		return NULL;
	if (rules_eval(rules, rec, at, &out) != 0) {
		json_decref(out);
		return NULL;
	}
	return rules_eval_memo_text(rules, out); /* takes out */
}

/* eval's answer for staged version `fin` (without "updated_at") at `at`, for
 * its row: the run puts it in the memo as it writes the version. */
static char *stage_eval(struct rules *rules, json_t *fin, int64_t at)
{
	/* The run stamps the time it writes.  A pack that declares
	 * eval_by_date promises an answer that does not depend on it (liud test
	 * checks that), so the deadline stands in for it. */
	char iso[CLOCK_ISO_MAX];
	int64_t from, till;
	json_t *rec = json_copy(fin);
	char *text = NULL;
	if (rec && json_object_set_new(rec, "updated_at", json_string(clock_format(at, iso))) == 0)
		text = eval_text(rules, rec, at, &from, &till);
	json_decref(rec);
	return text;
}

/* Keeps in the memo eval's answer for stored version `rec` from `at` on
 * (evalcache_put_next): the reads of the deadline that come before the run has
 * rewritten the record find it there. */
static void stage_eval_now(struct stage *g, json_t *rec, int64_t at)
{
	int64_t from, till;
	const char *id = json_string_value(json_object_get(rec, "id"));
	char *text = id ? eval_text(g->rules, rec, at, &from, &till) : NULL;
	if (text)
		evalcache_put_next(g->l, g->rules, id, from, till, text + 1, strlen(text + 1));
	free(text);
}

/* Runs `rec` through every hook due at the pass's instant, in order:
 * *fin, its last version (new), and *audits, one entry per change (new).
 * Returns the number of changes, or a negative code (a hook failed). */
static int chain_hooks(struct stage *g, json_t *rec, json_t **fin, json_t **audits)
{
	json_t *cur = json_incref(rec), *dl;
	size_t i;
	int rc = 0;
	*audits = json_array();
	json_array_foreach(g->dls, i, dl) {
		const char *measure = json_string_value(json_array_get(dl, 0));
		if (!expiry_hooks_match(json_array_get(dl, 1),
					json_string_value(json_object_get(cur, "kind")),
					json_string_value(json_object_get(cur, "state"))))
			continue;
		json_t *out, *next, *a;
		int st = rules_expire(g->rules, measure, cur, g->at, &out);
		if (st < 0) {
			rc = st;
		} else if (st == 1) {
			if (expiry_change(g->rules, measure, g->at, cur, out, &next, &a) < 0 ||
			    json_array_append_new(*audits, a) < 0) {
				rc = -ENOMEM;
			} else {
				json_decref(cur);
				cur = next;
			}
		}
		json_decref(out);
		if (rc < 0)
			break;
	}
	*fin = cur;
	return rc < 0 ? rc : (int)json_array_size(*audits);
}

/* The row of `rec`'s last version `cur` after its `audits`: 0 with *row,
 * or a negative errno. */
static int build_row(struct stage *g, json_t *rec, json_t *cur, json_t *audits, char **row,
		     size_t *row_len)
{
	json_t *fin = json_copy(cur); /* the first change took "updated_at" off */
	size_t n = json_array_size(audits);
	const char **texts = calloc(n, sizeof *texts);
	char *ev = fin ? stage_eval(g->rules, fin, g->at) : NULL, *z = NULL;
	char *r = fin ? json_dumps(fin, JSON_COMPACT) : NULL;
	size_t zlen = 0;
	int rc = texts && r && strlen(r) >= 3 ? 0 : -ENOMEM;
	/* The members after the opening brace: the run puts the stamp first. */
	if (rc == 0 && store_frame(g->st, r + 1, strlen(r + 1), &z, &zlen) < 0)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (!(texts[i] = json_dumps(json_array_get(audits, i), JSON_COMPACT)))
			rc = -ENOMEM;
	struct stage_row row_in = {
		.at = g->at, .pack = rules_version(g->rules),
		.kind = json_string_value(json_object_get(cur, "kind")),
		.state = json_string_value(json_object_get(cur, "state")),
		.rev = json_integer_value(json_object_get(cur, "rev")),
		.old_kind = json_string_value(json_object_get(rec, "kind")),
		.old_state = json_string_value(json_object_get(rec, "state")),
		.audits = texts, .n_audits = n, .eval = ev, .frame = z, .frame_len = zlen,
	};
	if (rc == 0)
		rc = stage_row_format(&row_in, row, row_len);
	for (size_t i = 0; texts && i < n; i++)
		free((char *)texts[i]);
	free(texts);
	free(r);
	free(z);
	free(ev);
	json_decref(fin);
	return rc;
}

/* Runs record `rec` through every hook due at the pass's instant.  Returns
 * 1 with *row (*row_len bytes, binary), 0 when nothing changes or it cannot
 * be staged, or a negative code (a hook failed: the run will meet the
 * record again and say so). */
static int stage_record(struct stage *g, json_t *rec, char **row, size_t *row_len)
{
	json_t *cur, *audits;
	int rc = chain_hooks(g, rec, &cur, &audits);
	if (rc > 0) {
		json_object_del(cur, "updated_at");
		/* A name with a tab or newline cannot be in a row's header: the
		 * run takes such a record. */
		if (!plain_field(json_string_value(json_object_get(cur, "kind"))) ||
		    !plain_field(json_string_value(json_object_get(cur, "state"))) ||
		    !plain_field(json_string_value(json_object_get(rec, "kind"))) ||
		    !plain_field(json_string_value(json_object_get(rec, "state"))))
			rc = 0;
		else
			rc = build_row(g, rec, cur, audits, row, row_len) < 0 ? -ENOMEM : 1;
	}
	json_decref(cur);
	json_decref(audits);
	return rc;
}

static void step_cb(uv_idle_t *t);

static void pass_failed(struct stage *g)
{
	stage_reset(g);
	g->retry_ms = clock_now_ms() + RETRY_MS;
}

static void rows_written(void *ud, int status)
{
	struct stage *g = ud;
	g->inflight--;
	if (g->closing) {
		maybe_free(g);
		return;
	}
	if (status < 0) {
		log_err("sched: staging batch failed error=\"%s\"; staging again later",
			liu_strerror(status));
		pass_failed(g);
		return;
	}
	if (g->active && g->inflight < MAX_INFLIGHT)
		uv_idle_start(&g->timer, step_cb);
}

void stage_maybe_start(struct stage *g, struct rules *rules, const struct stage_deadline *dl,
		       size_t n, int64_t at)
{
	if (g->secs == 0 || g->closing || g->active || clock_now_ms() < g->retry_ms ||
	    at - clock_now() > g->secs)
		return;
	/* Staged already: pass again over the lanes once records were written
	 * since (new records, and those whose staged outcome a write dropped),
	 * at most every 10 times as long as a pass takes. */
	if (g->done && g->at == at &&
	    (ledger_changes(g->l) == g->changes_at_start || clock_now_ms() < g->next_pass_ms))
		return;
	stage_reset(g);
	g->active = true;
	g->at = at;
	g->rules = rules;
	g->lanes = json_array();
	g->dls = json_array();
	for (size_t i = 0; i < n; i++) {
		expiry_add_lanes(g->lanes, dl[i].hooks);
		json_array_append_new(g->dls, json_pack("[s, O]", dl[i].measure, dl[i].hooks));
	}
	g->staged = g->ready = g->seen = g->failed = 0;
	g->started_ms = clock_now_ms();
	g->changes_at_start = ledger_changes(g->l);
	char iso[CLOCK_ISO_MAX];
	log_info("sched: staging deadline=%s lanes=%zu", clock_format(at, iso),
		 json_array_size(g->lanes));
	uv_idle_start(&g->timer, step_cb);
}

/* One listed record of the pass: staged by an earlier pass and still
 * valid, or run through its hooks, its row added to `rows` (key, value,
 * key, value, ...). */
static void stage_item(struct stage *g, const struct ledger_page *page, size_t i, json_t *rows)
{
	const char *id = ledger_page_id(page, i);
	g->seen++;
	if (ledger_is_pending(g->l, id))
		return; /* a write in flight: the run takes this one */
	char key[600], *old;
	size_t olen;
	snprintf(key, sizeof key, "%s%s", LEDGER_STAGE_PREFIX, id);
	if (store_meta_get(g->st, key, &old, &olen) == 0) {
		struct stage_row r;
		/* Quietly: a row this build cannot read is simply staged again. */
		bool valid = stage_row_parse(old, olen, NULL, &r) == 0 && row_valid(&r, g->rules, g->at);
		stage_row_clear(&r);
		free(old);
		if (valid) {
			g->ready++;
			return; /* staged by an earlier pass */
		}
	}
	json_t *rec = ledger_page_get(g->l, page, i);
	char *row = NULL;
	size_t row_len = 0;
	int st = rec ? stage_record(g, rec, &row, &row_len) : -EIO;
	if (rec)
		stage_eval_now(g, rec, g->at);
	json_decref(rec);
	if (st < 0) {
		g->failed++;
	} else if (st == 1) {
		json_array_append_new(rows, json_string(key));
		json_array_append_new(rows, json_stringn_nocheck(row, row_len));
		free(row);
		g->staged++;
		g->ready++;
	}
}

/* Writes the rows a step collected.  Returns 0 or a negative errno. */
static int write_rows(struct stage *g, json_t *rows)
{
	/* Rows are binary (the compressed record at their end). */
	size_t m = json_array_size(rows) / 2;
	const char **keys = calloc(m, sizeof *keys), **vals = calloc(m, sizeof *vals);
	size_t *lens = calloc(m, sizeof *lens);
	for (size_t i = 0; keys && vals && lens && i < m; i++) {
		keys[i] = json_string_value(json_array_get(rows, 2 * i));
		vals[i] = json_string_value(json_array_get(rows, 2 * i + 1));
		lens[i] = json_string_length(json_array_get(rows, 2 * i + 1));
	}
	int rc = keys && vals && lens ? ledger_write_meta(g->l, keys, vals, lens, m, rows_written, g)
				      : -ENOMEM;
	free(keys);
	free(vals);
	free(lens);
	if (rc == 0)
		g->inflight++;
	return rc;
}

/* Lists the next records of the pass's lanes and stages them, until the
 * step has STAGE_BATCH rows or its time is up.  Returns 0 or a negative
 * errno. */
static int collect(struct stage *g, json_t *rows, int64_t step_end)
{
	bool out_of_time = false;
	while (json_array_size(rows) < 2 * STAGE_BATCH && !out_of_time) {
		json_t *lane = json_array_get(g->lanes, g->lane);
		if (!lane) {
			g->active = false;
			g->done = true;
			return 0;
		}
		struct ledger_page list;
		int rc = ledger_list(g->l, json_string_value(json_array_get(lane, 0)),
				     json_string_value(json_array_get(lane, 1)), g->after, 16, true, &list);
		if (rc < 0)
			return rc;
		size_t handled = 0;
		for (size_t i = 0; i < list.n; i++) {
			if (i > 0 && clock_now_ms() >= step_end) {
				out_of_time = true;
				break;
			}
			handled = i + 1;
			stage_item(g, &list, i, rows);
		}
		free(g->after);
		g->after = NULL;
		if (handled < list.n || list.next)
			g->after = handled ? strdup(ledger_page_id(&list, handled - 1)) : NULL;
		else
			g->lane++;
		ledger_page_free(&list);
		if (clock_now_ms() >= step_end)
			out_of_time = true;
	}
	return 0;
}

/* One idle step of staging: like a run's step, bounded by count and time. */
static void step_cb(uv_idle_t *t)
{
	uv_idle_stop(t); /* one step per start: started again when wanted */
	struct stage *g = t->data;
	if (!g->active || g->closing)
		return;
	if (clock_now() >= g->at) {
		stage_reset(g); /* the deadline came: the run takes over */
		return;
	}
	json_t *rows = json_array(); /* key, value, key, value, ... */
	int rc = collect(g, rows, clock_now_ms() + STEP_MS);
	if (rc < 0) {
		log_err("sched: staging stopped error=\"%s\"", liu_strerror(rc));
		pass_failed(g);
	} else if (json_array_size(rows) > 0 && (rc = write_rows(g, rows)) < 0) {
		log_err("sched: staging batch not queued error=\"%s\"", liu_strerror(rc));
		pass_failed(g);
	}
	json_decref(rows);
	if (g->done) {
		char iso[CLOCK_ISO_MAX];
		int64_t ms = clock_now_ms() - g->started_ms;
		g->next_pass_ms = clock_now_ms() + (ms * 10 > 1000 ? ms * 10 : 1000);
		log_info("sched: staged deadline=%s records_seen=%" PRIu64 " records_staged=%" PRIu64
			 " records_ready=%" PRIu64 " hook_failures=%" PRIu64 " ms=%" PRId64,
			 clock_format(g->at, iso), g->seen, g->staged, g->ready, g->failed, ms);
	} else if (g->active && g->inflight < MAX_INFLIGHT) {
		uv_idle_start(&g->timer, step_cb);
	}
}

/* --- applying, at the run ------------------------------------------------------ */

void stage_apply_begin(struct stage *g, int64_t at)
{
	stage_reset(g);
	if (g->applied_at != at) {
		json_object_clear(g->applied);
		g->applied_at = at;
	}
	free(g->apply_after);
	g->apply_after = NULL;
	char *cursor = NULL;
	if (g->secs > 0 && store_meta_get(g->st, CURSOR_KEY, &cursor, NULL) == 0) {
		char *tab = strchr(cursor, '\t');
		if (tab && strtoll(cursor, NULL, 10) == at)
			g->apply_after = strdup(tab + 1); /* a run cut short: go on after it */
	}
	free(cursor);
}

bool stage_applied(const struct stage *g, const char *id)
{
	return json_object_get(g->applied, id) != NULL;
}

void stage_batch_free(struct stage_batch *b)
{
	for (size_t j = 0; j < b->n; j++) {
		free(b->bufs[j]);
		free(b->ids[j]);
		free(b->auds[j]);
	}
	free(b->ch);
	free(b->bufs);
	free(b->ids);
	free(b->auds);
	free(b->memos);
	free(b->heads);
	free(b->cursor);
	*b = (struct stage_batch){ 0 };
}

/* Eval's staged answer holds for [from, till) under the live pack. */
struct memo_span {
	bool ok;
	int64_t from, till;
};

/* Takes listed row `it` (its body taken over) into the batch as a
 * prepared change when it is valid for `at` under `rules`.  Returns 0
 * (taken or skipped) or -ENOMEM. */
static int take_row(struct stage *g, struct rules *rules, int64_t at, struct store_item *it,
		    const struct memo_span *span, struct stage_batch *b)
{
	const char *id = it->id + strlen(LEDGER_STAGE_PREFIX);
	if (ledger_is_pending(g->l, id) || stage_applied(g, id))
		return 0; /* a write in flight: the lanes take it */
	/* The listing's copy is taken over (it goes before the write): its
	 * lines are cut into strings in place; the frame stays binary. */
	size_t n = b->n;
	char *buf = it->body;
	it->body = NULL;
	struct stage_row r;
	int rc = stage_row_parse(buf, it->len, it->id, &r);
	if (rc < 0 || !row_valid(&r, rules, at)) {
		stage_row_clear(&r);
		free(buf);
		return rc == -ENOMEM ? rc : 0; /* stale or unreadable: the lanes take the record */
	}
	if (!(b->ids[n] = strdup(id))) {
		stage_row_clear(&r);
		free(buf);
		return -ENOMEM;
	}
	if (r.eval && span->ok) {
		b->heads[n] = evalcache_head1(rules, span->from, span->till, strlen(r.eval + 1));
		b->memos[n] = (struct ledger_memo){ .head = (const char *)&b->heads[n],
						    .head_len = sizeof b->heads[n],
						    .body = r.eval + 1, .body_len = strlen(r.eval + 1) };
	}
	b->bufs[n] = buf;
	b->auds[n] = r.audits; /* taken over */
	b->ch[n] = (struct ledger_change){
		.kind = LEDGER_CHANGE_PREPARED, .old_kind = r.old_kind, .old_state = r.old_state,
		.prepared = { .frame = r.frame, .frame_len = r.frame_len, .id = b->ids[n],
			      .kind = r.kind, .state = r.state, .rev = r.rev, .audits = r.audits,
			      .n_audits = r.n_audits, .memo = b->memos[n].body ? &b->memos[n] : NULL },
	};
	json_object_set_new(g->applied, id, json_true());
	b->changes += r.n_audits;
	b->n++;
	return 0;
}

static int batch_alloc(struct stage_batch *b, size_t cap)
{
	*b = (struct stage_batch){ 0 };
	b->ch = calloc(cap, sizeof *b->ch);
	b->bufs = calloc(cap, sizeof *b->bufs);
	b->ids = calloc(cap, sizeof *b->ids);
	b->auds = calloc(cap, sizeof *b->auds);
	b->memos = calloc(cap, sizeof *b->memos);
	b->heads = calloc(cap, sizeof *b->heads);
	return b->ch && b->bufs && b->ids && b->auds && b->memos && b->heads ? 0 : -ENOMEM;
}

int stage_apply_next(struct stage *g, struct rules *rules, int64_t at, size_t cap,
		     int64_t until_ms, struct stage_batch *b)
{
	/* Staged answers hold for the span of the deadline under the live pack
	 * (a row names the pack version it was staged with: the same files). */
	struct memo_span span;
	span.ok = rules_eval_span(rules, at, &span.from, &span.till);
	int rc = batch_alloc(b, cap ? cap : 1);
	while (rc == 0 && b->n < cap && clock_now_ms() < until_ms) {
		struct store_rows list;
		if ((rc = store_meta_scan(g->st, LEDGER_STAGE_PREFIX, false, g->apply_after, 64, &list)) < 0)
			break;
		if (list.n == 0) {
			store_rows_free(&list);
			b->done = true;
			break;
		}
		size_t i;
		for (i = 0; i < list.n && b->n < cap && rc == 0; i++)
			rc = take_row(g, rules, at, &list.items[i], &span, b);
		free(g->apply_after);
		g->apply_after = strdup(list.items[i ? i - 1 : 0].id);
		store_rows_free(&list);
	}
	if (rc == 0 && b->n > 0) {
		if (asprintf(&b->cursor, "%lld\t%s", (long long)at, g->apply_after ? g->apply_after : "") < 0) {
			b->cursor = NULL;
			rc = -ENOMEM;
		}
		b->meta[0] = CURSOR_KEY;
		b->meta[1] = b->cursor;
	}
	if (rc < 0)
		stage_batch_free(b);
	return rc;
}

/* Touches nothing of the stager: it may run after stage_close(). */
static void rows_dropped(void *ud, int status)
{
	(void)ud;
	if (status < 0)
		log_err("sched: the staged rows were not dropped error=\"%s\"; the next run drops them",
			liu_strerror(status));
}

void stage_drop(struct stage *g)
{
	if (g->secs > 0 && ledger_drop_staged(g->l, CURSOR_KEY, rows_dropped, NULL) < 0)
		log_err("sched: the staged rows could not be dropped; the next run drops them");
}
