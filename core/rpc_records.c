/* rpc_records — the record methods: record.get, record.list, act, import,
 * eval, view, history: their parameters, roles and replies.  Records are
 * read and written through the ledger (ledger.h), which owns their forms. */
#include "rpc_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "errors.h"
#include "evalcache.h"
#include "find.h"
#include "log.h"
#include "sheet.h"
#include "wire.h"

#define ID_MAX 128
#define NAME_MAX_LEN 64
#define LIST_DEFAULT 100
#define LIST_MAX 1000
#define VIEW_CHUNK 256

static void not_found(struct rpc_call *c, const char *id)
{
	char msg[200];
	/* "no such record" in the message: the client then prints the English
	 * reason once, in its first line, and the Japanese one under it. */
	snprintf(msg, sizeof msg, "not found: no such record %.128s", id);
	rpc_error(c, WIRE_NOT_FOUND, msg,
		  json_pack("{s:s, s:{s:s, s:s}}", "id", id, "reason", "ja", "該当する記録がありません",
			    "en", "no such record"));
}

/* record.get with `summary`: {record, summary}, the summary the record's
 * kind declares (null when none; {error} when the pack fails on it). */
static void record_with_summary(struct rpc_call *c, const char *text, size_t len)
{
	json_error_t e;
	json_t *rec = json_loadb(text, len, 0, &e), *lines = NULL;
	if (!rec) {
		rpc_fail(c, -EIO, NULL, NULL);
		return;
	}
	int rc = rules_summary(c->rpc->rules, rec, clock_now(), &lines);
	json_t *sum = rc > 0 ? lines : rc == 0 ? json_null() : json_pack("{s:O?}", "error",
		      json_object_get(lines, "error"));
	if (rc < 0)
		json_decref(lines);
	rpc_result(c, json_pack("{s:o, s:o}", "record", rec, "summary", sum));
}

enum rpc_status rpc_m_record_get(struct rpc_call *c)
{
	const char *id;
	if (!rpc_param_str(c, "id", true, ID_MAX, &id))
		return RPC_DONE;
	char *text;
	size_t len;
	int rc = ledger_get_sendable(c->rpc->ledger, id, &text, &len);
	if (rc == -ENOENT) {
		not_found(c, id);
	} else if (rc < 0) {
		rpc_fail(c, rc, NULL, NULL);
	} else if (json_is_true(json_object_get(c->params, "summary"))) {
		record_with_summary(c, text, len);
		free(text);
	} else {
		struct rpc_part part = { text, len };
		rpc_result_raw(c, &part, 1);
		free(text);
	}
	return RPC_DONE;
}

/*
 * record.list's filters (docs/PROTOCOL.md): the kind and state, checked
 * against the pack's declarations; a search text over the fields the kind
 * names for search (search_fields, else its summary_fields); a range of
 * created_at or updated_at; eval's decision now.  The page goes on in id
 * order until `limit` records match or LIST_SCAN records were looked at:
 * `next` is then the last one looked at, so a page may hold fewer than
 * `limit` (even none) and still say there is more.
 */
#define LIST_SCAN 5000
#define LIST_SCAN_EVAL 1000 /* when each record is evaluated for its decision */

struct list_filter {
	const char *kind, *state, *decision, *date_key;
	char *needle;          /* folded search text, or NULL */
	int64_t from, till;    /* the date range: [from, till) */
	bool ranged, decisions;
	int64_t now;
};

/* Whether `name` is in the pack's kinds (kind NULL) or one kind's states. */
static bool declared_in(json_t *list, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			return true;
	return false;
}

/* The names of a list, "a, b, c", for an error.  Caller frees. */
static char *names_of(json_t *obj_or_list)
{
	json_t *names = json_array(), *v;
	const char *k;
	size_t i;
	if (json_is_object(obj_or_list))
		json_object_foreach(obj_or_list, k, v)
			json_array_append_new(names, json_string(k));
	else
		json_array_foreach(obj_or_list, i, v)
			json_array_append(names, v);
	size_t len = 1;
	json_array_foreach(names, i, v)
		len += strlen(json_string_value(v)) + 2;
	char *out = malloc(len);
	if (out) {
		out[0] = '\0';
		json_array_foreach(names, i, v) {
			if (i)
				strcat(out, ", ");
			strcat(out, json_string_value(v));
		}
	}
	json_decref(names);
	return out;
}

static void unknown_name(struct rpc_call *c, const char *field, const char *what_ja, const char *what_en,
			 const char *given, json_t *known)
{
	char *k = names_of(known), ja[600], en[600];
	snprintf(ja, sizeof ja, "%.64s は規則パックにない%sです（使えるもの: %.400s）", given, what_ja,
		 k ? k : "");
	snprintf(en, sizeof en, "%.64s is not a %s of the rule pack (known: %.400s)", given, what_en,
		 k ? k : "");
	rpc_bad_param(c, field, ja, en);
	free(k);
}

/* The kind and state given are declared by the pack. */
static bool list_names_ok(struct rpc_call *c, json_t *kinds, const struct list_filter *f)
{
	if (f->kind && !json_object_get(kinds, f->kind)) {
		unknown_name(c, "kind", "種類", "kind", f->kind, kinds);
		return false;
	}
	if (!f->state)
		return true;
	json_t *all = json_array(), *k;
	const char *name;
	json_object_foreach(kinds, name, k) {
		if (f->kind && strcmp(name, f->kind) != 0)
			continue;
		json_t *st = json_object_get(k, "states"), *v;
		size_t i;
		json_array_foreach(st, i, v)
			if (!declared_in(all, json_string_value(v)))
				json_array_append(all, v);
	}
	bool ok = declared_in(all, f->state);
	if (!ok)
		unknown_name(c, "state", "状態", "state", f->state, all);
	json_decref(all);
	return ok;
}

/* A state given by its title (「確認済み」, "confirmed (listed)", as the pack
 * names it in words) is that state: params.state becomes its code. */
static void state_by_title(struct rpc_call *c, json_t *kinds)
{
	const char *given = json_string_value(json_object_get(c->params, "state")), *name, *code;
	json_t *k, *t;
	if (!given)
		return;
	json_object_foreach(kinds, name, k) {
		json_object_foreach(json_object_get(k, "state_titles"), code, t) {
			const char *ja = json_string_value(json_object_get(t, "ja"));
			const char *en = json_string_value(json_object_get(t, "en"));
			if ((ja && strcmp(ja, given) == 0) || (en && strcasecmp(en, given) == 0)) {
				json_object_set_new(c->params, "state", json_string(code));
				return;
			}
		}
	}
}

/* The filter's params, checked: false when an error was replied. */
static bool list_params(struct rpc_call *c, json_t *kinds, struct list_filter *f)
{
	state_by_title(c, kinds);
	const char *search = NULL, *date = NULL;
	json_t *to = json_object_get(c->params, "to");
	f->from = INT64_MIN;
	f->till = INT64_MAX;
	if (!rpc_param_str(c, "kind", false, NAME_MAX_LEN, &f->kind) ||
	    !rpc_param_str(c, "state", false, NAME_MAX_LEN, &f->state) ||
	    !rpc_param_str(c, "decision", false, NAME_MAX_LEN, &f->decision) ||
	    !rpc_param_str(c, "search", false, 256, &search) ||
	    !rpc_param_str(c, "date", false, NAME_MAX_LEN, &date) ||
	    !rpc_param_time(c, "from", &f->from) || !rpc_param_time(c, "to", &f->till))
		return false;
	if (!list_names_ok(c, kinds, f))
		return false;
	if (f->decision && strcmp(f->decision, "eligible") != 0 && strcmp(f->decision, "ineligible") != 0) {
		rpc_bad_param(c, "decision", "eligible か ineligible を指定してください",
			      "must be eligible or ineligible");
		return false;
	}
	f->date_key = "created_at";
	if (date && strcmp(date, "updated") == 0)
		f->date_key = "updated_at";
	else if (date && strcmp(date, "created") != 0) {
		rpc_bad_param(c, "date", "created か updated を指定してください", "must be created or updated");
		return false;
	}
	/* A date alone as `to` is its whole day: up to the next day's start. */
	if (json_is_string(to) && !strchr(json_string_value(to), ':'))
		f->till += 86400;
	else if (json_is_string(to))
		f->till += 1;
	f->ranged = f->from != INT64_MIN || f->till != INT64_MAX;
	if (f->ranged && f->from >= f->till) {
		rpc_bad_param(c, "to", "from より後の日時を指定してください", "must be after from");
		return false;
	}
	if (search && !(f->needle = find_fold(search))) {
		rpc_bad_param(c, "search", "UTF-8 の文字列を指定してください", "must be UTF-8 text");
		return false;
	}
	/* A decision is eval's: only for a peer that may call eval (asked
	 * for, it is refused; only shown, it is left out). */
	if (f->decision && !rpc_may_call(c, "eval", true))
		return false;
	f->decisions = f->decision ||
		       (json_is_true(json_object_get(c->params, "decisions")) && rpc_may_call(c, "eval", false));
	f->now = clock_now();
	return true;
}

/* eval's decision for a listed record now: from the memo, else the pack. */
static json_t *list_decision(struct rpc_call *c, const char *id, json_t *rec, int64_t at)
{
	struct rpc *r = c->rpc;
	const char *body;
	size_t len;
	json_t *out = NULL, *d = NULL;
	if (evalcache_get(r->ledger, r->rules, id, at, &body, &len)) {
		char *text = malloc(len + 2);
		if (text) {
			text[0] = '{';
			memcpy(text + 1, body, len);
			text[len + 1] = '\0';
			out = json_loads(text, 0, NULL);
			free(text);
		}
	}
	if (!out && rules_eval(r->rules, rec, at, &out) != 0) {
		json_decref(out);
		return json_string("error");
	}
	d = json_incref(json_object_get(out, "decision"));
	json_decref(out);
	return d ? d : json_string("error");
}

/* Whether a record passes the filter; its decision put in `decisions`. */
static bool list_keep(struct rpc_call *c, const struct list_filter *f, json_t *kinds, json_t *rec,
		      json_t *decisions)
{
	const char *k = json_string_value(json_object_get(rec, "kind"));
	json_t *kd = json_object_get(kinds, k ? k : "");
	if (f->needle) {
		json_t *fields = json_object_get(kd, "search_fields"), *ids = NULL;
		if (json_array_size(fields) == 0) {
			json_t *sf;
			size_t i;
			ids = json_array();
			json_array_foreach(json_object_get(kd, "summary_fields"), i, sf)
				json_array_append(ids, json_object_get(sf, "id"));
			fields = ids;
		}
		bool hit = find_match(rec, fields, f->needle);
		json_decref(ids);
		if (!hit)
			return false;
	}
	if (f->ranged && !find_in_range(rec, f->date_key, f->from, f->till))
		return false;
	if (!f->decisions)
		return true;
	const char *id = json_string_value(json_object_get(rec, "id"));
	json_t *d = list_decision(c, id ? id : "", rec, f->now);
	bool keep = !f->decision || strcmp(json_string_value(d), f->decision) == 0;
	if (keep && id)
		json_object_set(decisions, id, d);
	json_decref(d);
	return keep;
}

/* The columns, marking and state titles of an export, for every kind of
 * the pack (a kind's sheet, marking and state_titles): import reads the same labels as headers
 * before any record exists.  A new object. */
static json_t *list_sheets(json_t *kinds)
{
	json_t *sheets = json_object();
	const char *kn;
	json_t *kd;
	json_object_foreach(kinds, kn, kd) {
		json_t *cols = json_object_get(kd, "sheet"), *mark = json_object_get(kd, "marking"),
		       *titles = json_object_get(kd, "state_titles");
		if (json_array_size(cols) == 0 && !mark)
			continue;
		json_t *sh = json_object();
		json_object_set_new(sh, "columns", json_is_array(cols) ? json_incref(cols) : json_array());
		if (mark)
			json_object_set(sh, "marking", mark);
		if (json_is_object(titles)) /* the state column reads as the pack names it */
			json_object_set(sh, "state_titles", titles);
		/* What the pack records itself, labelled: the export's columns
		 * past the sheet's carry the pack's words too. */
		json_t *rec = json_object(), *f;
		size_t i;
		json_array_foreach(json_object_get(kd, "fields"), i, f)
			if (json_is_true(json_object_get(f, "recorded")) && json_is_string(json_object_get(f, "ja")))
				json_object_set_new(rec, json_string_value(json_object_get(f, "id")),
						    json_pack("{s:O, s:O*}", "ja", json_object_get(f, "ja"),
							      "en", json_object_get(f, "en")));
		json_object_set_new(sh, "recorded", rec);
		json_object_set_new(sheets, kn, sh);
	}
	return sheets;
}

enum rpc_status rpc_m_record_list(struct rpc_call *c)
{
	struct list_filter f = { 0 };
	const char *after = NULL;
	uint64_t limit = LIST_DEFAULT;
	json_t *kinds = json_object_get(rules_describe(c->rpc->rules), "kinds");
	if (!rpc_param_str(c, "after", false, ID_MAX, &after) ||
	    !rpc_param_uint(c, "limit", LIST_MAX, &limit) || !list_params(c, kinds, &f)) {
		free(f.needle);
		return RPC_DONE;
	}
	if (limit == 0)
		limit = LIST_DEFAULT;
	bool filtered = f.needle || f.ranged || f.decision;
	size_t scan_max = f.decisions ? LIST_SCAN_EVAL : LIST_SCAN, scanned = 0;
	struct ledger *lg = c->rpc->ledger;
	json_t *recs = json_array(), *damaged = json_array(), *fields = json_object();
	json_t *decisions = json_object(), *next = json_null();
	char *cursor = after ? strdup(after) : NULL;
	int rc = 0;
	for (;;) {
		struct ledger_page l;
		size_t want = filtered ? LIST_MAX : (size_t)limit;
		rc = ledger_list(lg, f.kind, f.state, cursor, want, false, &l);
		if (rc < 0)
			break;
		size_t i;
		bool full = false;
		for (i = 0; i < l.n && !full; i++) {
			json_t *r = ledger_page_get(lg, &l, i);
			scanned++;
			/* A damaged one is logged, left out and named, so that a
			 * client (export) can say which and go on. */
			if (!r) {
				json_array_append_new(damaged, json_string(ledger_page_id(&l, i)));
			} else if (list_keep(c, &f, kinds, r, decisions)) {
				/* The columns a client lists after id, kind,
				 * state and updated are the pack's to choose (a
				 * kind's summary_fields): the core knows no field
				 * of any record. */
				const char *k = json_string_value(json_object_get(r, "kind"));
				json_t *sf = json_object_get(json_object_get(kinds, k ? k : ""), "summary_fields");
				if (sf && !json_object_get(fields, k))
					json_object_set(fields, k, sf);
				json_array_append(recs, r);
			}
			json_decref(r);
			full = json_array_size(recs) >= limit || scanned >= scan_max;
		}
		bool more = i < l.n || l.next;
		free(cursor);
		cursor = more && i > 0 ? strdup(ledger_page_id(&l, i - 1)) : NULL;
		ledger_page_free(&l);
		if (!more || full || !filtered)
			break;
	}
	if (cursor) {
		json_decref(next);
		next = json_string(cursor);
	}
	free(cursor);
	free(f.needle);
	if (rc < 0) {
		json_decref(recs);
		json_decref(damaged);
		json_decref(fields);
		json_decref(decisions);
		json_decref(next);
		rpc_fail(c, rc, NULL, NULL);
		return RPC_DONE;
	}
	json_t *res = json_pack("{s:o, s:o, s:o, s:o}", "records", recs, "summary_fields", fields,
				"sheets", list_sheets(kinds), "next", next);
	if (f.decisions)
		json_object_set(res, "decisions", decisions);
	json_decref(decisions);
	if (json_array_size(damaged) > 0)
		json_object_set(res, "damaged", damaged);
	json_decref(damaged);
	rpc_result(c, res);
	return RPC_DONE;
}

/* --- act ---------------------------------------------------------------------- */

/* The first reason of a refusal, for the error message line. */
static const char *first_en(json_t *list, const char *key)
{
	json_t *f = json_array_get(list, 0);
	json_t *r = key ? json_object_get(f, key) : f;
	const char *en = json_string_value(json_object_get(r, "en"));
	return en ? en : "";
}

/* The error of a rule outcome that is not success: code, message, data
 * (new reference, may be NULL). */
static int outcome_error(struct rpc_call *c, int rc, json_t *out, char *msg, size_t n,
			 json_t **data)
{
	if (rc == LIU_EREFUSED) {
		json_t *reasons = json_object_get(out, "refused");
		snprintf(msg, n, "refused by a rule: %s", first_en(reasons, NULL));
		*data = json_pack("{s:O}", "reasons", reasons);
		return WIRE_REFUSED;
	}
	if (rc == LIU_EINVAL) {
		json_t *errs = json_object_get(out, "invalid");
		json_t *f = json_array_get(errs, 0);
		const char *field = json_string_value(json_object_get(f, "field"));
		snprintf(msg, n, "invalid params: %s: %s", field ? field : "?", first_en(errs, "reason"));
		*data = json_pack("{s:s?, s:O?, s:O}", "field", field, "reason",
				  json_object_get(f, "reason"), "errors", errs);
		return WIRE_INVALID_PARAMS;
	}
	if (rc == LIU_ESCRIPT || rc == -ENOMEM) {
		const char *e = json_string_value(json_object_get(out, "error"));
		snprintf(msg, n, "rule script error: %s", e ? e : "unknown");
		/* The message names file:line; record contents stay out of the log. */
		log_err("rules: script error method=%s", c->method ? c->method : "?");
		*data = json_pack("{s:s?, s:O?}", "error", e, "traceback",
				  json_object_get(out, "traceback"));
		return WIRE_SCRIPT_ERROR;
	}
	if (rc == -EIO) { /* rules_*_text(): the stored record is damaged */
		const char *e = json_string_value(json_object_get(out, "error"));
		snprintf(msg, n, "the stored record is damaged: %s", e ? e : liu_strerror(rc));
		*data = json_pack("{s:{s:s, s:s}}", "reason", "ja", "保存されている記録が壊れています",
				  "en", "the stored record is damaged");
		return wire_code_of(rc);
	}
	snprintf(msg, n, "%s", liu_strerror(rc));
	*data = NULL;
	return wire_code_of(rc);
}

/* A damaged stored record met by an action or eval: a log line naming it
 * (the reply says so too; the daemon goes on). */
static void log_damaged(const char *id, json_t *out)
{
	const char *e = json_string_value(json_object_get(out, "error"));
	log_err("rpc: a stored record does not parse id=%s error=\"%s\"", id, e ? e : "?");
}

/* Replies for a rule outcome that is not success. */
static void rule_outcome(struct rpc_call *c, int rc, json_t *out)
{
	char msg[600];
	json_t *data;
	int code = outcome_error(c, rc, out, msg, sizeof msg, &data);
	rpc_error(c, code, msg, data);
}

static json_t *peer_json(const struct auth_peer *p)
{
	return json_pack("{s:i, s:s, s:o}", "uid", (int)p->uid, "user", p->user, "roles",
			 auth_roles_json(p));
}

struct refusal_wait {
	struct rpc_call *call;
	int code;
	char *msg;
	json_t *data;
};

static void refusal_written(void *ud, int status)
{
	struct refusal_wait *w = ud;
	if (status < 0)
		log_err("audit: a refused write could not be recorded error=\"%s\"", liu_strerror(status));
	/* Refused either way: the reply does not depend on the audit write. */
	rpc_error(w->call, w->code, w->msg, w->data);
	rpc_call_free(w->call);
	free(w->msg);
	free(w);
}

/*
 * Replies with an error to a write attempt, after recording it in the audit
 * log when the peer holds a role: an action the caller may run that the
 * rules refuse, find invalid or fail, or a stale if_rev, on a record that
 * exists (or a create).  A call its roles do not allow never gets here.
 * Takes `data`.  Returns how the reply comes.
 */
static enum rpc_status refuse_write(struct rpc_call *c, const char *action, const char *id,
				    const char *outcome, int code, const char *msg, json_t *data)
{
	if (c->peer.roles == 0) {
		rpc_error(c, code, msg, data);
		return RPC_DONE;
	}
	char nowiso[CLOCK_ISO_MAX];
	clock_format(clock_now(), nowiso);
	json_t *reasons = json_object_get(data, "reasons");
	if (!reasons)
		reasons = json_object_get(data, "errors");
	json_t *entry = ledger_audit_refusal(&(struct ledger_audit){
		.time = nowiso, .peer = peer_json(&c->peer), .method = "act", .action = action,
		.id = id, .outcome = outcome, .code = code, .message = msg, .reasons = reasons,
		.rules_version = rules_version(c->rpc->rules) });
	struct refusal_wait *w = calloc(1, sizeof *w);
	int rc = entry && w ? 0 : -ENOMEM;
	if (rc == 0 && !(w->call = rpc_call_keep(c)))
		rc = -ENOMEM;
	if (rc == 0) {
		w->code = code;
		w->msg = strdup(msg);
		w->data = data;
		rc = ledger_write(c->rpc->ledger, NULL, 0, &entry, 1, NULL, refusal_written, w);
		if (rc < 0) {
			*c = *w->call;
			free(w->call);
			free(w->msg);
		}
	}
	json_decref(entry);
	if (rc < 0) {
		free(w);
		rpc_error(c, code, msg, data);
		return RPC_DONE;
	}
	return RPC_ASYNC;
}

/* A write whose reply waits for its commit (act, import). */
struct write_wait {
	struct rpc_call *call;
	json_t *result;   /* the reply once durable */
	char *record;     /* act: the record as stored (the reply's "record"
			   * member, not in result: sent as it is, not re-encoded) */
	char *what;       /* for the log: the record id, or "import" */
	bool sliced;      /* an import's result, of a size the client chose (its
			   * ids): encoded in slices (rpc_job_reply) */
};

/* {"record": <stored bytes>, <the rest of result>} */
static void reply_with_record(struct rpc_call *c, const char *record, json_t *rest)
{
	char *enc = json_dumps(rest, JSON_COMPACT);
	json_decref(rest);
	if (!enc) {
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return;
	}
	struct rpc_part parts[] = {
		{ "{\"record\":", 10 }, { record, strlen(record) },
		{ ",", enc[1] == '}' ? 0 : 1 }, { enc + 1, strlen(enc + 1) },
	};
	rpc_result_raw(c, parts, sizeof parts / sizeof parts[0]);
	free(enc);
}

static void write_replied(void *ud, int status)
{
	struct write_wait *w = ud;
	if (status == 0 && w->sliced) {
		rpc_job_reply(w->call, "import", w->result);
		w->call = NULL;
	} else if (status == 0 && w->record) {
		reply_with_record(w->call, w->record, w->result);
	} else if (status == 0) {
		rpc_result(w->call, w->result);
	} else {
		char msg[256];
		snprintf(msg, sizeof msg, "write failed, nothing was changed: %s", liu_strerror(status));
		log_err("rpc: not written what=%s error=\"%s\"", w->what, liu_strerror(status));
		json_decref(w->result);
		rpc_fail(w->call, status, msg, NULL);
	}
	if (w->call)
		rpc_call_free(w->call);
	free(w->record);
	free(w->what);
	free(w);
}

/* rules_ctx.lookup: an identity's entry as the writes in flight leave it. */
static int ident_lookup(void *ud, const char *key, char **text, size_t *len)
{
	return ledger_meta_latest(ud, key, text, len);
}

/* rules_ctx.state_of: the latest state of a record (including writes in
 * flight).  `ud` is the ledger. */
static int latest_state(struct ledger *l, const char *id, char **state)
{
	char *text = NULL;
	size_t len = 0;
	int rc = ledger_latest_text(l, id, &text, &len);
	if (rc < 0)
		return rc;
	json_t *rec = json_loadb(text, len, 0, NULL);
	free(text);
	const char *s = json_string_value(json_object_get(rec, "state"));
	*state = s ? strdup(s) : NULL;
	json_decref(rec);
	return *state ? 0 : -EIO;
}

static int ident_state_of(void *ud, const char *id, char **state)
{
	return latest_state(ud, id, state);
}

/* rules_ctx.record_of: the latest version of a record (writes in flight
 * included).  `ud` is the ledger. */
static int ident_record_of(void *ud, const char *id, char **text, size_t *len)
{
	return ledger_latest_text(ud, id, text, len);
}

/*
 * The identity entry an action's outcome carries ({key, entry}, and when
 * the record moved to it from another, {was_key, was_entry}: the prelude's
 * act), made ready to write with the record `rid`: the entry's
 * `true` (the record being written, whose id the prelude did not know) is
 * that id.  Returns 0 with *key (borrowed from out) and *text (caller
 * frees), or with both NULL when the outcome has none; -ENOMEM.
 */
static int ident_entry(json_t *out, const char *rid, const char *member, const char *key_member,
		       const char **key, char **text)
{
	json_t *idn = json_object_get(out, "identity");
	json_t *entry = json_object_get(idn, member);
	*key = json_string_value(json_object_get(idn, key_member));
	*text = NULL;
	if (!*key || !json_is_object(entry) || !rid) {
		*key = NULL;
		return 0;
	}
	if (json_is_true(json_object_get(entry, "live")))
		json_object_set_new(entry, "live", json_string(rid));
	/* `records`, and `also` (the live records of the same thing under its
	 * other keys, at a fallback key). */
	static const char *const lists[] = { "records", "also" };
	for (size_t k = 0; k < 2; k++) {
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(entry, lists[k]), i, v)
			if (json_is_true(v))
				json_array_set_new(json_object_get(entry, lists[k]), i, json_string(rid));
	}
	*text = json_dumps(entry, JSON_COMPACT);
	return *text ? 0 : -ENOMEM;
}

/* The id prefix of records of `kind` ("" when the pack gives none). */
static const char *id_prefix(struct rules *rules, const char *kind)
{
	json_t *k = json_object_get(json_object_get(rules_describe(rules), "kinds"), kind);
	const char *prefix = json_string_value(json_object_get(k, "id_prefix"));
	return prefix ? prefix : "";
}

/* count(kind, state) for a rule (rules_ctx.count): the ledger's latest
 * versions.  ud: the ledger. */
static int count_latest(void *ud, const char *kind, const char *state, uint64_t *n)
{
	return ledger_count(ud, kind, state, n);
}

/* A new record named by its kind's key field (the pack's outcome has
 * record.id): refused, *out replaced, when a record of that id exists,
 * committed or in flight; `also` (NULL or an object of ids) holds ids taken
 * by the same import.  Returns 0, LIU_EREFUSED or a negative errno. */
static int act_keyed(struct ledger *l, json_t **out, json_t *also)
{
	json_t *res = json_object_get(*out, "record");
	const char *id = json_string_value(json_object_get(res, "id"));
	if (!id)
		return 0;
	int rc = also && json_object_get(also, id) ? 1 : ledger_exists(l, id);
	if (rc <= 0)
		return rc;
	const char *field = json_string_value(json_object_get(*out, "key"));
	json_t *v = json_object_get(json_object_get(res, "data"), field ? field : "");
	char *value = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
	const char *shown = json_is_string(v) ? json_string_value(v) : value ? value : "";
	char ja[400], en[400];
	snprintf(ja, sizeof ja, "%s が「%.128s」の記録は既にあります（%.128s）", field ? field : "id", shown, id);
	snprintf(en, sizeof en, "a record with %s %.128s already exists (%.128s)", field ? field : "id", shown, id);
	free(value);
	json_decref(*out);
	*out = json_pack("{s:[{s:s, s:s}]}", "refused", "ja", ja, "en", en);
	return *out ? LIU_EREFUSED : -ENOMEM;
}

/* An action's call as it goes: what was asked (borrowed from the call),
 * the stored record it read, what the pack said. */
struct act {
	struct rpc_call *c;
	const char *action, *id;
	json_t *params, *if_rev;
	char *text;               /* the stored record's text (owned) */
	struct rules_rec was;     /* what the action read of it */
	json_t *out;              /* the pack's outcome (owned) */
	int64_t now;
};

static void act_clear(struct act *a)
{
	json_decref(a->out);
	rules_rec_clear(&a->was);
	free(a->text);
}

/* The params and the caller's roles: false after replying. */
static bool act_allowed(struct act *a)
{
	struct rpc_call *c = a->c;
	if (!rpc_param_str(c, "action", true, NAME_MAX_LEN, &a->action) ||
	    !rpc_param_str(c, "id", false, ID_MAX, &a->id))
		return false;
	a->params = json_object_get(c->params, "params");
	if (a->params && !json_is_object(a->params) && !json_is_null(a->params)) {
		rpc_bad_param(c, "params", "params はオブジェクトで指定してください", "must be an object");
		return false;
	}
	a->if_rev = json_object_get(c->params, "if_rev");
	if (a->if_rev && !json_is_integer(a->if_rev) && !json_is_null(a->if_rev)) {
		rpc_bad_param(c, "if_rev", "整数で指定してください", "must be an integer (the rev you read)");
		return false;
	}
	json_t *roles = rules_action_roles(c->rpc->rules, a->action);
	if (!roles) {
		char ja[160], en[160];
		snprintf(ja, sizeof ja, "アクション「%.64s」はありません", a->action);
		snprintf(en, sizeof en, "no action `%.64s` in the rule pack", a->action);
		rpc_bad_param(c, "action", ja, en);
		return false;
	}
	if ((c->peer.roles & ROLE_ADMIN) || auth_holds_any(&c->peer, roles))
		return true;
	char msg[200];
	snprintf(msg, sizeof msg, "forbidden: action %.64s is not allowed for your roles", a->action);
	log_limited(LOG_KIND_FORBIDDEN_CALL, LOG_WARN,
		    "rpc: forbidden peer_uid=%u peer_user=%s peer_pid=%d what=\"action %s\"",
		    (unsigned)c->peer.uid, c->peer.user, (int)c->peer.pid, a->action);
	/* Nothing durable: a caller without the role could otherwise grow any
	 * record's history, or make one for an id that does not exist, at the
	 * rate it can send.  The refusal is in the log (rate-limited) and the
	 * metrics. */
	rpc_error(c, WIRE_FORBIDDEN, msg,
		  json_pack("{s:s, s:o, s:o}", "what", a->action, "roles",
			    auth_roles_json(&c->peer), "reason", rpc_forbid_reason(c, roles)));
	return false;
}

/* The latest version of the record the action is on, as text: it is read
 * straight into Lua, and its new version reuses the text of what the
 * action kept (rules_text.h).  False after replying. */
static bool act_read(struct act *a)
{
	size_t len = 0;
	int rc = ledger_latest_text(a->c->rpc->ledger, a->id, &a->text, &len);
	if (rc == -ENOENT)
		not_found(a->c, a->id);
	else if (rc < 0)
		rpc_fail(a->c, rc, NULL, NULL);
	a->was.text = a->text;
	a->was.len = len;
	return rc == 0;
}

/* A stale if_rev (`stale`), or an outcome `rc` that is not success:
 * refused, and audited (refuse_write). */
static enum rpc_status act_refuse(struct act *a, bool stale, int rc)
{
	char msg[600];
	json_t *data;
	int code;
	const char *what;
	if (stale) {
		snprintf(msg, sizeof msg, "conflict: record %.128s is at rev %lld, not %lld", a->id,
			 (long long)a->was.rev, (long long)json_integer_value(a->if_rev));
		data = json_pack("{s:s, s:I, s:O, s:{s:s, s:s}}", "id", a->id, "rev",
				 (json_int_t)a->was.rev, "if_rev", a->if_rev, "reason", "ja",
				 "他の更新と競合しました。読み直してください", "en",
				 "the record changed since you read it; read it again");
		code = WIRE_CONFLICT;
		what = "conflict";
	} else {
		if (rc == -EIO)
			log_damaged(a->id, a->out);
		code = outcome_error(a->c, rc, a->out, msg, sizeof msg, &data);
		what = rc == LIU_EREFUSED ? "refused" : rc == LIU_EINVAL ? "invalid" : "error";
	}
	act_clear(a);
	return refuse_write(a->c, a->action, a->id, what, code, msg, data);
}

/* The new version as the ledger takes it (*ch), built from the outcome:
 * the pack decides state and data, the core owns id, kind, rev and the
 * timestamps.  *next: a new record (caller decrefs), *text: a stored
 * record's next version (caller frees).  Returns 0 or a negative errno. */
static int act_version(struct act *a, const char *nowiso, struct ledger_change *ch,
		       json_t **next, char **text)
{
	json_t *res = json_object_get(a->out, "record");
	json_t *state = json_object_get(res, "state");
	*ch = (struct ledger_change){ .old_kind = a->was.kind_s, .old_state = a->was.state_s };
	if (!a->id) {
		const char *kind = json_string_value(json_object_get(res, "kind"));
		const char *keyed = json_string_value(json_object_get(res, "id"));
		*next = keyed ? ledger_keyed_record(keyed, kind, state, json_object_get(res, "data"), nowiso)
			      : ledger_new_record(a->c->rpc->ledger, id_prefix(a->c->rpc->rules, kind), kind,
						  state, json_object_get(res, "data"), nowiso);
		ch->kind = LEDGER_CHANGE_DECODED;
		ch->decoded.record = *next;
		return *next ? 0 : -ENOMEM;
	}
	const struct rules_rec *w = &a->was;
	struct ledger_next n = {
		.was = w->text, .id = { w->id.off, w->id.len }, .kind = { w->kind.off, w->kind.len },
		.created_at = { w->created_at.off, w->created_at.len }, .state = state,
		.data = w->new_data, .data_len = w->new_data_len, .rev = (json_int_t)w->rev + 1,
		.now = nowiso, .read_as = a->id,
	};
	size_t len = 0;
	int rc = ledger_next_text(&n, text, &len);
	ch->kind = LEDGER_CHANGE_TEXT;
	ch->text = (struct ledger_text){ .id = a->id, .kind = w->kind_s, .state = json_string_value(state),
					 .rev = n.rev, .text = *text, .len = len };
	return rc;
}

/* Record `id` is created now (visible to later decisions): noted for the
 * imports running, which did not see it when they read their rows
 * (import_clash).  Nothing to do when none runs. */
static void note_made(struct rpc *r, const char *id)
{
	if (!r->imports)
		return;
	if ((!r->made_during && !(r->made_during = json_object())) ||
	    json_object_set_new(r->made_during, id, json_integer((json_int_t)++r->made_seq)) < 0)
		/* Not noted: every import running is refused at its end rather
		 * than risk writing over it. */
		r->made_lost = ++r->made_seq;
}

/* Writes the new version and its audit entry; the reply waits for the
 * commit (write_replied).  Takes what `a` holds. */
static enum rpc_status act_write(struct act *a)
{
	struct rpc_call *c = a->c;
	struct rules *rules = c->rpc->rules;
	char nowiso[CLOCK_ISO_MAX];
	clock_format(a->now, nowiso);
	struct ledger_change ch;
	json_t *next = NULL, *events = json_object_get(a->out, "events");
	json_t *state = json_object_get(json_object_get(a->out, "record"), "state");
	char *text = NULL;
	int built = act_version(a, nowiso, &ch, &next, &text);
	const char *rid = a->id ? a->id : json_string_value(json_object_get(next, "id"));
	const char *ikey = NULL, *wkey = NULL;
	char *itext = NULL, *wtext = NULL;
	if (built == 0)
		built = ident_entry(a->out, rid, "entry", "key", &ikey, &itext);
	if (built == 0)
		built = ident_entry(a->out, rid, "was_entry", "was_key", &wkey, &wtext);
	const char *meta[] = { ikey, itext, wkey, wtext, NULL };
	if (!ikey) /* a key of its own: the list ends at the first NULL */
		meta[0] = NULL;
	json_t *audit = ledger_audit_entry(&(struct ledger_audit){
		.time = nowiso, .peer = peer_json(&c->peer), .method = "act", .action = a->action,
		.id = rid, .rev_before = a->id ? (json_int_t)a->was.rev : 0,
		.state_before = a->was.state_s, .state_after = state,
		.rules_version = rules_version(rules), .events = events, .row = -1 });
	struct write_wait *w = calloc(1, sizeof *w);
	json_t *result = json_pack("{s:O, s:s}", "events", events, "rules_version", rules_version(rules));
	int rc = built < 0 ? built : w && result && rid && audit ? 0 : -ENOMEM;
	if (rc == 0 && !(w->call = rpc_call_keep(c)))
		rc = -ENOMEM;
	if (rc == 0) {
		if (ch.kind == LEDGER_CHANGE_TEXT) {
			ch.text.audit = audit;
			ch.text.encoded = &w->record;
		} else {
			ch.decoded.audit = audit;
			ch.decoded.encoded = &w->record;
		}
		w->result = result;
		w->what = strdup(rid);
		rc = ledger_write(c->rpc->ledger, &ch, 1, NULL, 0, ikey ? meta : NULL, write_replied, w);
		if (rc < 0) { /* give the call back to reply synchronously */
			*c = *w->call;
			free(w->call);
		} else if (!a->id) {
			note_made(c->rpc, rid);
		}
	}
	json_decref(audit);
	json_decref(next);
	act_clear(a);
	free(text);
	free(itext);
	free(wtext);
	if (rc == 0)
		return RPC_ASYNC;
	json_decref(result);
	if (w) {
		free(w->what);
		free(w->record);
	}
	free(w);
	if (built == -EIO)
		rpc_fail(c, rc, "the stored record is damaged: it has no id or kind",
			 json_pack("{s:{s:s, s:s}}", "reason", "ja", "保存されている記録が壊れています",
				   "en", "the stored record is damaged"));
	else
		rpc_fail(c, rc, NULL, NULL);
	return RPC_DONE;
}

enum rpc_status rpc_m_act(struct rpc_call *c)
{
	struct act a = { .c = c };
	if (!act_allowed(&a) || (a.id && !act_read(&a))) {
		act_clear(&a);
		return RPC_DONE;
	}
	struct rules *rules = c->rpc->rules;
	a.now = clock_now();
	struct rules_ctx ctx = { .at = a.now, .role = rpc_role(c), .count = count_latest,
				 .count_ud = c->rpc->ledger, .lookup = ident_lookup,
				 .state_of = ident_state_of, .record_of = ident_record_of,
				 .lookup_ud = c->rpc->ledger };
	int rc = a.id ? rules_act_text(rules, a.action, &a.was, a.params, &ctx, &a.out)
		      : rules_act(rules, a.action, NULL, a.params, &ctx, &a.out);
	if (rc == 0 && !a.id)
		rc = act_keyed(c->rpc->ledger, &a.out, NULL);
	/* The rev is known once the record is read, which the action's call
	 * does: a stale if_rev is refused before anything the action said
	 * (but that the record is damaged). */
	bool stale = a.id && json_is_integer(a.if_rev) && rc != -EIO &&
		     (!a.was.has_rev || a.was.rev != json_integer_value(a.if_rev));
	if (stale || rc != 0)
		return act_refuse(&a, stale, rc);
	return act_write(&a);
}

/* --- import ------------------------------------------------------------------- */

#define IMPORT_MAX_ROWS 100000

/*
 * import {action, rows:[data...], atomic?, dry_run?}: the pack's creating action once
 * per row, every row validated by the pack.  atomic (the default): all rows
 * or none, in one durable transaction.  Otherwise the rows that pass are
 * written (also in one transaction) and the others reported by index.
 * dry_run: every row through the pack, nothing written and no id taken; the
 * reply says how many would be written and which fail.
 *
 * The rows go through the pack in slices (struct rpc_job): an import of
 * 100,000 rows does not hold up other clients, and so is the building of
 * its write (struct ledger_batch: each row's record and audit entry are
 * encoded and queued as it passes).  Nothing is written before
 * every row has been through, so an import whose client hangs up, that runs
 * past limits.request_time_s or that sees the pack change writes nothing.
 */
struct import_job {
	struct rpc_job job;
	char *action;            /* owned */
	bool atomic;
	bool dry_run;            /* every row through the pack, nothing written, no id taken */
	json_t *rows;            /* borrowed from job.call->params */
	size_t n, i;             /* rows, next row */
	json_t *made_ids, *failed; /* the created records' ids (a record itself
				    * is freed in its row's slice), the failures */
	/* Rows that passed, [row, outcome] each, and the next of them to
	 * write (phase two, in slices like the first): ids are taken only once
	 * every row is through, and then only for rows that will be written,
	 * so that a refused import takes none. */
	json_t *passed;
	size_t w;
	/* Rows whose service (kind{identity}) already has a live record of the
	 * same content: {row, id}, not written (an import run twice writes
	 * nothing new the second time). */
	json_t *skipped;
	/* Identities as this import leaves them: key -> entry, where "row N"
	 * stands for the record row N will be; and key -> the entry's text as
	 * the import first read it (null: none), checked again at the end. */
	json_t *idents, *ident_base;
	uint64_t meta_gen;       /* ledger_meta_generation() at the start */
	/* struct rpc's made_seq at the start, and whether the import is
	 * counted in its imports (until it ends). */
	uint64_t made_seq0;
	bool counted;
	/* The write, built as the rows are given ids: each row's record and
	 * audit entry are encoded and queued in its slice, so that the end of
	 * an import of 100,000 rows only seals and submits (ledger_batch). */
	struct ledger_batch *batch;
	struct rules_ctx ctx;
	/* The import's own records, which its later rows' rules must see:
	 * "kind\nstate" -> how many (count()), and the ids keys gave. */
	json_t *made, *ids;
	char nowiso[CLOCK_ISO_MAX];
};

static void import_free(struct import_job *m)
{
	ledger_batch_free(m->batch);
	free(m->action);
	json_decref(m->made_ids);
	json_decref(m->failed);
	json_decref(m->made);
	json_decref(m->ids);
	json_decref(m->passed);
	json_decref(m->skipped);
	json_decref(m->idents);
	json_decref(m->ident_base);
	free(m);
}

/* rules_ctx.lookup for an import: an identity as the rows before left it. */
static int import_lookup(void *ud, const char *key, char **text, size_t *len)
{
	struct import_job *m = ud;
	json_t *e = json_object_get(m->idents, key);
	if (e) {
		if (!(*text = json_dumps(e, JSON_COMPACT)))
			return -ENOMEM;
		*len = strlen(*text);
		return 0;
	}
	int rc = ledger_meta_latest(m->job.call->rpc->ledger, key, text, len);
	if (rc == 0 || rc == -ENOENT)
		json_object_set_new(m->ident_base, key, rc == 0 ? json_string(*text) : json_null());
	return rc;
}

/* rules_ctx.state_of for an import: a row of the import has no state yet
 * (-ENOENT: the prelude then holds it live). */
static int import_state_of(void *ud, const char *id, char **state)
{
	struct import_job *m = ud;
	if (strncmp(id, "row ", 4) == 0)
		return -ENOENT;
	return latest_state(m->job.call->rpc->ledger, id, state);
}

/* rules_ctx.record_of for an import: a row of the import is no record
 * yet. */
static int import_record_of(void *ud, const char *id, char **text, size_t *len)
{
	struct import_job *m = ud;
	if (strncmp(id, "row ", 4) == 0)
		return -ENOENT;
	return ledger_latest_text(m->job.call->rpc->ledger, id, text, len);
}

/* In an identity entry, each `from` (NULL: JSON true, the record being
 * made) in live, records and also becomes `to`. */
static void entry_swap(json_t *entry, const char *from, const char *to)
{
	json_t *live = json_object_get(entry, "live");
	if (from ? json_is_string(live) && strcmp(json_string_value(live), from) == 0 : json_is_true(live))
		json_object_set_new(entry, "live", json_string(to));
	static const char *const lists[] = { "records", "also" };
	for (size_t k = 0; k < 2; k++) {
		json_t *list = json_object_get(entry, lists[k]), *v;
		size_t j;
		json_array_foreach(list, j, v)
			if (from ? json_is_string(v) && strcmp(json_string_value(v), from) == 0 : json_is_true(v))
				json_array_set_new(list, j, json_string(to));
	}
}

/* The two entries an outcome may name: its key's, and the other key's
 * (a fallback, written with it). */
static const char *const ident_members[][2] = { { "key", "entry" }, { "was_key", "was_entry" } };

/* Row i's outcome names an identity: the import keeps its entries, with
 * "row i" for the record the row will be. */
static void import_ident(struct import_job *m, json_t *out, size_t i)
{
	json_t *idn = json_object_get(out, "identity");
	char mark[32];
	snprintf(mark, sizeof mark, "row %zu", i);
	for (size_t k = 0; k < 2; k++) {
		const char *key = json_string_value(json_object_get(idn, ident_members[k][0]));
		json_t *entry = json_object_get(idn, ident_members[k][1]);
		if (!key || !json_is_object(entry))
			continue;
		entry_swap(entry, NULL, mark);
		json_object_set(m->idents, key, entry);
	}
}

/* Row i (its mark "row i") is record `id`: in every entry that names it. */
static void import_ident_id(struct import_job *m, json_t *out, size_t i, const char *id)
{
	char mark[32];
	snprintf(mark, sizeof mark, "row %zu", i);
	for (size_t k = 0; k < 2; k++) {
		const char *key = json_string_value(json_object_get(json_object_get(out, "identity"), ident_members[k][0]));
		json_t *entry = json_object_get(m->idents, key ? key : "");
		if (entry)
			entry_swap(entry, mark, id);
	}
}

/* Queues record `rec` (the pack's result `res`, outcome `out`) and its
 * audit entry on the import's write. */
static int import_add(struct import_job *m, struct rpc_call *c, json_t *rec, json_t *res,
		      json_t *out, size_t i)
{
	struct rules *rules = c->rpc->rules;
	char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	json_t *audit = ledger_audit_entry(&(struct ledger_audit){
		.time = m->nowiso, .peer = peer_json(&c->peer), .method = "import", .action = m->action,
		.id = json_string_value(json_object_get(rec, "id")), .rev_before = 0,
		.state_after = json_object_get(res, "state"), .rules_version = rules_version(rules),
		.events = json_object_get(out, "events"), .row = (json_int_t)i });
	int rc = -ENOMEM;
	if (text && audit) {
		struct ledger_change ch = { .kind = LEDGER_CHANGE_TEXT };
		ch.text = (struct ledger_text){
			.id = json_string_value(json_object_get(rec, "id")),
			.kind = json_string_value(json_object_get(rec, "kind")),
			.state = json_string_value(json_object_get(rec, "state")), .rev = 1,
			.text = text, .len = strlen(text), .audit = audit,
		};
		rc = ledger_batch_add(m->batch, &ch);
	}
	free(text);
	json_decref(audit);
	return rc;
}

/* count() in an import's rows: the ledger's records and the rows before. */
static int import_count(void *ud, const char *kind, const char *state, uint64_t *n)
{
	struct import_job *m = ud;
	int rc = ledger_count(m->job.call->rpc->ledger, kind, state, n);
	char key[300];
	snprintf(key, sizeof key, "%.140s\n%.140s", kind, state);
	if (rc == 0)
		*n += (uint64_t)json_integer_value(json_object_get(m->made, key));
	return rc;
}

/* Notes a row that passed, for the rows after it (import_count, act_keyed). */
static void import_made(struct import_job *m, const char *kind, const char *state, const char *id)
{
	char key[300];
	if (!kind || !state)
		return;
	snprintf(key, sizeof key, "%.140s\n%.140s", kind, state);
	json_object_set_new(m->made, key,
			    json_integer(json_integer_value(json_object_get(m->made, key)) + 1));
	if (id)
		json_object_set_new(m->ids, id, json_true());
}

/* Row m->i through the pack: passed (its outcome kept), skipped (its
 * service has a live record of the same content), or a failure. */
static void import_row(struct import_job *m, struct rpc *r)
{
	struct rpc_call *c = m->job.call;
	struct rules *rules = r->rules;
	size_t i = m->i;
	json_t *row = json_array_get(m->rows, i), *out;
	int rc = json_is_object(row) ? rules_act(rules, m->action, NULL, row, &m->ctx, &out) : LIU_EINVAL;
	if (rc == 0)
		rc = act_keyed(r->ledger, &out, m->ids);
	if (!json_is_object(row))
		out = json_pack("{s:[{s:s, s:{s:s, s:s}}]}", "invalid", "field", "row", "reason", "ja",
				"行がオブジェクトではありません", "en", "the row is not an object");
	json_t *dup = json_object_get(out, "duplicate");
	if (rc == LIU_EREFUSED && json_is_string(dup)) {
		json_array_append_new(m->skipped, json_pack("{s:I, s:O}", "row", (json_int_t)i, "id", dup));
		json_decref(out);
		return;
	}
	if (rc != 0) {
		char msg[600];
		json_t *data;
		int code = outcome_error(c, rc, out, msg, sizeof msg, &data);
		json_array_append_new(m->failed, json_pack("{s:I, s:i, s:s, s:o*}", "row", (json_int_t)i,
							   "code", code, "message", msg, "data", data));
		json_decref(out);
		return;
	}
	json_t *res = json_object_get(out, "record");
	import_made(m, json_string_value(json_object_get(res, "kind")),
		    json_string_value(json_object_get(res, "state")), json_string_value(json_object_get(res, "id")));
	import_ident(m, out, i);
	json_array_append_new(m->passed, json_pack("[I, o]", (json_int_t)i, out));
}

/* Passed row m->w gets its id: its record and audit entry are queued on the
 * import's write. */
static void import_take_id(struct import_job *m, struct rpc *r)
{
	struct rpc_call *c = m->job.call;
	json_t *p = json_array_get(m->passed, m->w);
	size_t i = (size_t)json_integer_value(json_array_get(p, 0));
	json_t *out = json_array_get(p, 1);
	json_t *res = json_object_get(out, "record");
	const char *kind = json_string_value(json_object_get(res, "kind"));
	const char *keyed = json_string_value(json_object_get(res, "id"));
	json_t *rec = keyed ? ledger_keyed_record(keyed, kind, json_object_get(res, "state"),
						  json_object_get(res, "data"), m->nowiso)
		    : ledger_new_record(r->ledger, id_prefix(r->rules, kind), kind,
					json_object_get(res, "state"), json_object_get(res, "data"),
					m->nowiso);
	json_t *idj = json_object_get(rec, "id");
	json_array_append(m->made_ids, idj ? idj : json_null());
	const char *id = json_string_value(idj);
	if (id)
		import_ident_id(m, out, i, id);
	/* Its identity's entry is final (a later row of the same identity was
	 * refused or skipped): written with the batch. */
	for (size_t k = 0; k < 2; k++) {
		const char *key = json_string_value(json_object_get(json_object_get(out, "identity"), ident_members[k][0]));
		json_t *entry = key ? json_object_get(m->idents, key) : NULL;
		char *text = entry ? json_dumps(entry, JSON_COMPACT) : NULL;
		if (entry && m->batch && (!text || ledger_batch_meta(m->batch, key, text) < 0)) {
			ledger_batch_free(m->batch);
			m->batch = NULL;
		}
		free(text);
	}
	if (m->batch && import_add(m, c, rec, res, out, i) < 0) {
		/* Out of memory: the write cannot be built; finish refuses it. */
		ledger_batch_free(m->batch);
		m->batch = NULL;
	}
	/* Written into the batch: the record and the row's outcome go now,
	 * not at the end of a 100,000-row import. */
	json_decref(rec);
	json_array_set_new(m->passed, m->w, json_null());
}

/* Whether the identities the import read are as it read them: -EAGAIN
 * when one changed (another write in the meantime).  Only looked at when
 * some metadata was written since the import began. */
static int import_idents(struct import_job *m, struct ledger *l)
{
	if (ledger_meta_generation(l) == m->meta_gen)
		return 0;
	const char *key;
	json_t *base;
	json_object_foreach(m->ident_base, key, base) {
		char *now = NULL;
		size_t len = 0;
		int rc = ledger_meta_latest(l, key, &now, &len);
		bool same = rc == -ENOENT ? json_is_null(base)
			  : rc == 0 && json_is_string(base) && strcmp(now, json_string_value(base)) == 0;
		free(now);
		if (rc < 0 && rc != -ENOENT)
			return rc;
		if (!same)
			return -EAGAIN;
	}
	return 0;
}

/* Whether a record the import writes was created by another request
 * since the import began (its row read before, so the pack did not refuse
 * it): -EAGAIN then.  A keyed id (kind{key}) is the case: written over, the
 * other record would lose its history.  Walks the records created while
 * imports ran (other clients' writes, a few per second), not the import's
 * rows: the check is as short as the rows are many. */
static int import_clash(const struct import_job *m, const struct rpc *r)
{
	if (r->made_lost > m->made_seq0)
		return -EAGAIN;
	const char *id;
	json_t *seq;
	json_object_foreach(r->made_during, id, seq)
		if ((uint64_t)json_integer_value(seq) > m->made_seq0 && ledger_batch_has(m->batch, id))
			return -EAGAIN;
	return 0;
}

/* The import ends (written, refused or stopped): no longer counted in the
 * imports running; the last one empties what was noted for them. */
static void import_uncount(struct import_job *m, struct rpc *r)
{
	if (!m->counted)
		return;
	m->counted = false;
	if (--r->imports == 0) {
		json_decref(r->made_during);
		r->made_during = NULL;
	}
}

/* Every row is through: refuse, or write what passed (the reply comes when
 * it is durable).  Releases the job's call. */
static void import_finish(struct import_job *m)
{
	struct rpc_call *c = m->job.call;
	struct rpc *r = c->rpc;
	size_t n = m->n;
	m->job.call = NULL;
	if (m->dry_run) {
		/* What an import of these rows would do, now: a client checks a
		 * whole file this way before it sends it in parts. */
		rpc_job_reply(c, "import", json_pack("{s:I, s:I, s:O, s:O, s:b, s:s}", "rows", (json_int_t)n,
						     "valid", (json_int_t)json_array_size(m->passed), "failed",
						     m->failed, "skipped", m->skipped, "dry_run", 1,
						     "rules_version", rules_version(r->rules)));
		return;
	}
	if (m->atomic && json_array_size(m->failed) > 0) {
		char msg[700];
		json_t *f0 = json_array_get(m->failed, 0);
		snprintf(msg, sizeof msg, "import refused, nothing was written: %zu of %zu rows fail; row %lld: %.500s",
			 json_array_size(m->failed), n, (long long)json_integer_value(json_object_get(f0, "row")),
			 json_string_value(json_object_get(f0, "message")));
		rpc_job_reply_error(c, "import", json_integer_value(json_object_get(f0, "code")) ==
				    WIRE_INVALID_PARAMS ? WIRE_INVALID_PARAMS : WIRE_REFUSED, msg,
				    json_pack("{s:I, s:I, s:O}", "rows", (json_int_t)n, "failed_count",
					      (json_int_t)json_array_size(m->failed), "failed", m->failed));
		return;
	}
	size_t ok = json_array_size(m->made_ids);
	json_t *result = json_pack("{s:I, s:I, s:O, s:O, s:I, s:O, s:s}", "rows", (json_int_t)n, "created",
				   (json_int_t)ok, "ids", m->made_ids, "failed", m->failed, "skipped_count",
				   (json_int_t)json_array_size(m->skipped), "skipped", m->skipped,
				   "rules_version", rules_version(r->rules));
	if (ok == 0) {
		rpc_job_reply(c, "import", result);
		return;
	}
	struct write_wait *w = calloc(1, sizeof *w);
	int rc = w && m->batch && ledger_batch_size(m->batch) == ok ? 0 : -ENOMEM;
	/* Checked in the step that links the import's records: a write after
	 * this sees them (ledger_batch_submit), one before is in made_during. */
	if (rc == 0 && (rc = import_idents(m, r->ledger)) == 0)
		rc = import_clash(m, r);
	if (rc == -EAGAIN) {
		free(w);
		json_decref(result);
		rpc_error(c, WIRE_CONFLICT, "import refused, nothing was written: a record of the same "
			  "identity or id as a row was written while the import ran; import again",
			  json_pack("{s:{s:s, s:s}}", "reason", "ja",
				    "取込み中に同じ記録（同一性または番号が同じもの）が書き込まれました。取り込み直してください", "en",
				    "a record of the same identity or id as a row was written while the import ran: import again"));
		rpc_call_free(c);
		return;
	}
	if (rc == 0) {
		w->call = c;
		w->result = result;
		w->what = strdup("import");
		w->sliced = true;
		rc = ledger_batch_submit(m->batch, write_replied, w);
		m->batch = NULL; /* taken */
	}
	/* Another import running did not see these records when it read its
	 * rows (a rare overlap: this walk is as long as the import). */
	for (size_t k = 0; rc == 0 && r->imports > 1 && k < ok; k++)
		if (json_is_string(json_array_get(m->made_ids, k)))
			note_made(r, json_string_value(json_array_get(m->made_ids, k)));
	if (rc < 0) {
		if (w)
			free(w->what);
		free(w);
		json_decref(result);
		rpc_fail(c, rc, NULL, NULL);
		rpc_call_free(c);
		return;
	}
	log_info("import: rows=%zu created=%zu skipped=%zu failed=%zu by=%s ms=%lld", n, ok,
		 json_array_size(m->skipped), json_array_size(m->failed), c->peer.user,
		 (long long)(slice_now_us() - m->job.t0_us) / 1000);
}

/* Empties `v` (an array or object) piece by piece until `until_us`: true
 * once it is empty.  What an import of 100,000 rows held (its rows, its
 * lookups) is freed in slices, not in one wait at its end. */
static bool drain(json_t *v, int64_t until_us)
{
	for (unsigned k = 1;; k++) {
		if (json_is_array(v) && json_array_size(v) > 0) {
			json_array_remove(v, json_array_size(v) - 1);
		} else if (json_is_object(v) && json_object_size(v) > 0) {
			char *key = strdup(json_object_iter_key(json_object_iter(v)));
			if (!key)
				return false;
			json_object_del(v, key);
			free(key);
		} else {
			return true;
		}
		if (k % 256 == 0 && slice_now_us() >= until_us)
			return false;
	}
}

static enum slice_next import_step(void *ud, int64_t until_us)
{
	struct import_job *m = ud;
	int rc = rpc_job_check(&m->job);
	if (rc < 0) {
		char done[160];
		snprintf(done, sizeof done, "action=%s rows=%zu rows_done=%zu", m->action, m->n, m->i);
		import_uncount(m, m->job.call->rpc);
		rpc_job_stop(&m->job, rc, done);
		import_free(m);
		return SLICE_DONE;
	}
	struct rpc *r = m->job.call->rpc;
	if (m->i < m->n) {
		do
			import_row(m, r);
		while (++m->i < m->n && slice_now_us() < until_us);
		if (m->i < m->n)
			return SLICE_MORE;
	}
	/* Every row is through: ids for the rows that will be written (none
	 * when an all-or-nothing import has a failure). */
	bool writes = !m->dry_run && (!m->atomic || json_array_size(m->failed) == 0);
	while (writes && m->w < json_array_size(m->passed)) {
		import_take_id(m, r);
		if (++m->w < json_array_size(m->passed) && slice_now_us() >= until_us)
			return SLICE_MORE;
	}
	/* The rows and the lookups are no longer read (the reply counts rows
	 * with m->n): freed now, in slices. */
	if (!drain(m->rows, until_us) || !drain(m->made, until_us) || !drain(m->ids, until_us))
		return SLICE_MORE;
	import_finish(m);
	import_uncount(m, r);
	import_free(m);
	return SLICE_DONE;
}

enum rpc_status rpc_m_import(struct rpc_call *c)
{
	struct rpc *r = c->rpc;
	const char *action;
	if (!rpc_param_str(c, "action", true, NAME_MAX_LEN, &action))
		return RPC_DONE;
	json_t *rows = json_object_get(c->params, "rows");
	if (!json_is_array(rows) || json_array_size(rows) == 0 || json_array_size(rows) > IMPORT_MAX_ROWS) {
		rpc_bad_param(c, "rows", "1 行以上 100000 行以下のデータの配列を指定してください",
			      "must be a list of 1 to 100000 records' data");
		return RPC_DONE;
	}
	json_t *atomic_p = json_object_get(c->params, "atomic");
	struct rules *rules = r->rules;
	json_t *a = json_object_get(json_object_get(rules_describe(rules), "actions"), action);
	if (!a || !json_is_true(json_object_get(a, "creates"))) {
		rpc_bad_param(c, "action", "新しい記録を作るアクションを指定してください（例: submit）",
			      "must name an action that creates records (e.g. submit)");
		return RPC_DONE;
	}
	char what[128];
	snprintf(what, sizeof what, "action %.64s", action);
	if (!rpc_allow(c, json_object_get(a, "roles"), what))
		return RPC_DONE;

	struct import_job *m = calloc(1, sizeof *m);
	if (!m) {
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return RPC_DONE;
	}
	int64_t now = clock_now();
	clock_format(now, m->nowiso);
	m->ctx = (struct rules_ctx){ .at = now, .role = rpc_role(c), .count = import_count, .count_ud = m };
	m->action = strdup(action);
	m->atomic = !json_is_false(atomic_p);
	m->dry_run = json_is_true(json_object_get(c->params, "dry_run"));
	m->rows = rows; /* c->params is kept with the call */
	m->n = json_array_size(rows);
	m->made_ids = json_array();
	m->failed = json_array();
	m->made = json_object();
	m->ids = json_object();
	m->passed = json_array();
	m->skipped = json_array();
	m->idents = json_object();
	m->ident_base = json_object();
	m->meta_gen = ledger_meta_generation(r->ledger);
	m->ctx.lookup = import_lookup;
	m->ctx.state_of = import_state_of;
	m->ctx.record_of = import_record_of;
	m->ctx.lookup_ud = m;
	int rc = m->action && m->made_ids && m->failed && m->passed && m->skipped && m->idents && m->ident_base && m->made && m->ids
		 ? ledger_batch_new(r->ledger, &m->batch) : -ENOMEM;
	if (rc == 0)
		rc = rpc_job_start(&m->job, c, "import", import_step, m);
	if (rc == 0 && !m->dry_run) {
		m->made_seq0 = r->made_seq;
		m->counted = true;
		r->imports++;
	}
	if (rc < 0) {
		import_free(m);
		rpc_fail(c, rc, NULL, NULL);
		return RPC_DONE;
	}
	return RPC_ASYNC;
}

/* --- eval --------------------------------------------------------------------- */

/* A record given inline to eval: a full record, or just its data. */
static json_t *inline_record(struct rules *rules, json_t *given)
{
	json_t *rec;
	if (json_is_object(json_object_get(given, "data"))) {
		rec = json_deep_copy(given);
	} else {
		rec = json_object();
		json_object_set(rec, "data", given);
	}
	if (!json_is_string(json_object_get(rec, "kind"))) {
		/* The pack's first kind, when the record does not say. */
		const char *k = NULL;
		json_t *v;
		json_object_foreach(json_object_get(rules_describe(rules), "kinds"), k, v)
			break;
		if (k)
			json_object_set_new(rec, "kind", json_string(k));
	}
	return rec;
}

/* The text of a record given inline (rpc_call's rec_text) as rules_text
 * reads it: a whole record as it is, just its data inside one of the pack's
 * first kind (as inline_record does).  Sets stored->text; returns what to
 * free, or NULL with stored->text NULL when memory ran out. */
static char *inline_text(struct rules *rules, const struct rpc_call *c, struct rules_rec *stored)
{
	stored->text = NULL;
	if (c->rec_full) {
		stored->text = c->rec_text;
		stored->len = c->rec_len;
		return NULL;
	}
	const char *k = NULL;
	json_t *v;
	json_object_foreach(json_object_get(rules_describe(rules), "kinds"), k, v)
		break;
	json_t *kj = k ? json_string(k) : NULL;
	char *kind = kj ? json_dumps(kj, JSON_ENCODE_ANY) : NULL;
	json_decref(kj);
	char *t = NULL;
	size_t klen = kind ? strlen(kind) : 0;
	if ((kind || !k) && (t = malloc(klen + c->rec_len + 20))) {
		/* No kind in a pack without kinds, as inline_record. */
		int n = kind ? sprintf(t, "{\"kind\":%s,\"data\":", kind) : sprintf(t, "{\"data\":");
		memcpy(t + n, c->rec_text, c->rec_len);
		t[n + c->rec_len] = '}';
		stored->text = t;
		stored->len = (size_t)n + c->rec_len + 1;
	}
	free(kind);
	return t;
}

/*
 * The text of a record sent inline refused by its strict read (rules_rec's
 * damaged): the whole line given to jansson, as the ordinary path gives it.
 * When jansson refuses it too, answers its parse error and returns false.
 * Otherwise returns true with *rec the record as the ordinary path makes
 * it (caller frees) for a text refused for what jansson takes after all (a
 * collision of the reader's key hashes); or with *rec NULL for one nested
 * deeper than the rules read, which is answered as before.
 */
static bool inline_refused(struct rpc_call *c, const struct rules_rec *stored, json_t **rec)
{
	json_error_t err;
	json_t *line = rpc_decode(c->line, c->line_len, &err);
	if (!line) {
		rpc_parse_error(c, &err);
		return false;
	}
	json_t *given = json_object_get(json_object_get(line, "params"), "record");
	if (stored->refused && json_is_object(given))
		*rec = inline_record(c->rpc->rules, given);
	json_decref(line);
	return true;
}

/*
 * eval's memo.  A pack that declares eval_by_date gives the same answer for
 * a stored record all through a span of instants (rules_eval_span: a JST
 * day, cut at the measures' starts and ends), except for the answer's `at`.
 * So the answer is kept encoded, without `at`, in the ledger's memo, which
 * drops it when the record changes; the pack's serial and the span are
 * kept with it (evalcache.h) and checked.  A hit is a lookup and
 * a copy: no decoding, no Lua, no encoding.  Staged enforcement (sched.c)
 * puts the answers of the versions it writes at a deadline.
 */

/* Whether `s` can go into a JSON string as it is (no quote, backslash or
 * control character): record ids always can. */
static bool json_plain(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return false;
	return true;
}

/* Answers {"at": at, "id": id, <rest>}, where rest is the answer's other
 * members after its opening brace (or just "}"). */
static void eval_reply(struct rpc_call *c, const char *id, int64_t at, const char *rest,
		       size_t rest_len)
{
	char when[64];
	clock_format(at, when);
	char *enc = NULL;
	const char *idj = id;
	size_t idj_len;
	if (json_plain(id)) {
		idj_len = strlen(id);
	} else {
		json_t *j = json_string(id);
		idj = enc = json_dumps(j, JSON_ENCODE_ANY);
		json_decref(j);
		if (!enc) {
			rpc_fail(c, -ENOMEM, NULL, NULL);
			return;
		}
		idj++; /* without its quotes: they are in the parts below */
		idj_len = strlen(idj) - 1;
	}
	struct rpc_part parts[] = {
		{ "{\"at\":\"", 7 }, { when, strlen(when) }, { "\",\"id\":\"", 8 }, { idj, idj_len },
		{ "\"", 1 }, { ",", rest[0] == '}' ? 0 : 1 }, { rest, rest_len },
	};
	rpc_result_raw(c, parts, sizeof parts / sizeof parts[0]);
	free(enc);
}

static bool eval_memo_hit(struct rpc_call *c, const char *id, int64_t at)
{
	struct rpc *r = c->rpc;
	const char *body;
	size_t len;
	if (!evalcache_get(r->ledger, r->rules, id, at, &body, &len))
		return false;
	r->eval_memo_hits++;
	eval_reply(c, id, at, body, len);
	return true;
}

/* Answers with `out` (taken), keeping it in the memo when the pack allows:
 * the answer without `at` and `id`, which are put back at each reply, so
 * that records with the same answer share it. */
static void eval_answer(struct rpc_call *c, const char *id, int64_t at, json_t *out)
{
	struct rpc *r = c->rpc;
	int64_t from, till;
	if (!id || !rules_eval_span(r->rules, at, &from, &till)) {
		if (id)
			json_object_set_new(out, "id", json_string(id));
		rpc_result(c, out);
		return;
	}
	char *enc = rules_eval_memo_text(r->rules, out);
	if (!enc) {
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return;
	}
	evalcache_put(r->ledger, r->rules, id, from, till, enc + 1, strlen(enc + 1));
	r->eval_memo_misses++;
	eval_reply(c, id, at, enc + 1, strlen(enc + 1));
	free(enc);
}

enum rpc_status rpc_m_eval(struct rpc_call *c)
{
	struct rpc *r = c->rpc;
	const char *id = NULL;
	int64_t at = clock_now();
	json_t *given = json_object_get(c->params, "record");
	if (!rpc_param_str(c, "id", false, ID_MAX, &id) || !rpc_param_time(c, "at", &at))
		return RPC_DONE;
	if (!id == !given) {
		rpc_bad_param(c, "id", "id か record のどちらか一方を指定してください",
			      "give either id (a stored record) or record (one not stored yet)");
		return RPC_DONE;
	}
	if (given && !json_is_object(given)) {
		rpc_bad_param(c, "record", "record はオブジェクトで指定してください", "must be an object");
		return RPC_DONE;
	}
	if (id && eval_memo_hit(c, id, at))
		return RPC_DONE;
	/* A stored record is read as text straight into Lua (rules_text.h),
	 * unless the record cache holds it decoded. */
	json_t *rec = NULL, *out;
	char *text = NULL;
	size_t len = 0;
	struct rules_rec stored = { 0 };
	int rc = 0;
	if (id && !(rec = ledger_cached(r->ledger, id))) {
		rc = ledger_get_text(r->ledger, id, &text, &len);
		if (rc == -ENOENT) {
			not_found(c, id);
			return RPC_DONE;
		}
		if (rc < 0) {
			rpc_fail(c, rc, NULL, NULL);
			return RPC_DONE;
		}
		stored.text = text;
		stored.len = len;
	} else if (!id && c->rec_text) {
		if (!(text = inline_text(r->rules, c, &stored)) && !stored.text) {
			rpc_fail(c, -ENOMEM, NULL, NULL);
			return RPC_DONE;
		}
		stored.strict = true;
	} else if (!id) {
		rec = inline_record(r->rules, given);
	}
	rc = rec ? rules_eval(r->rules, rec, at, &out) : rules_eval_text(r->rules, &stored, at, &out);
	if (rc == -EIO && !id && !rec) {
		json_decref(out);
		if (!inline_refused(c, &stored, &rec))
			goto end;
		/* jansson takes what the text's reader refused: the ordinary
		 * path's eval of the tree. */
		rc = rules_eval(r->rules, rec, at, &out);
	}
	if (rc == -EIO && !id) {
		json_decref(out);
		rpc_bad_param(c, "record", "record を読み取れません（入れ子が深すぎるか、数値が範囲外です）",
			      "cannot be read: nested too deep or a number out of range");
	} else if (rc != 0) {
		if (rc == -EIO)
			log_damaged(id, out);
		rule_outcome(c, rc, out);
		json_decref(out);
	} else {
		json_object_set_new(out, "rules_version", json_string(rules_version(r->rules)));
		eval_answer(c, id, at, out);
	}
end:
	json_decref(rec);
	rules_rec_clear(&stored);
	free(text);
	return RPC_DONE;
}

/* --- view --------------------------------------------------------------------- */

/* One cell as text for CSV: strings as they are, lists joined, the rest JSON. */
static void csv_cell(FILE *f, json_t *v)
{
	char *text = NULL;
	const char *s = "";
	if (json_is_string(v)) {
		s = json_string_value(v);
	} else if (json_is_array(v)) {
		size_t i, len = 0;
		json_t *x;
		FILE *m = open_memstream(&text, &len);
		json_array_foreach(v, i, x) {
			if (i)
				fputs("; ", m);
			if (json_is_string(x)) {
				fputs(json_string_value(x), m);
			} else {
				char *d = json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY);
				fputs(d ? d : "", m);
				free(d);
			}
		}
		fclose(m);
		s = text;
	} else if (v && !json_is_null(v)) {
		text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		s = text ? text : "";
	}
	/* The one guard and RFC 4180 quoting (sheet.h): a spreadsheet never
	 * runs a cell as a formula, nor turns a text such as 2024-10 into a
	 * date (sheet_text_cell). */
	char *g = json_is_string(v) ? sheet_text_cell(s) : sheet_guard(s);
	sheet_put_cell(f, g ? g : ""); /* out of memory: an empty cell, never an unguarded one */
	free(g);
	free(text);
}

/* "ja / en", or one of them when the other is missing or the same. */
static char *bilingual(json_t *t)
{
	const char *ja = json_string_value(json_object_get(t, "ja"));
	const char *en = json_string_value(json_object_get(t, "en"));
	char *s = NULL;
	if (ja && en && strcmp(ja, en) != 0) {
		if (asprintf(&s, "%s / %s", ja, en) < 0)
			s = NULL;
	} else {
		s = strdup(ja ? ja : en ? en : "");
	}
	return s;
}

/* The CSV of a view: the pack's handling marking, if the view declares one,
 * alone on the first line (a spreadsheet shows it above the table, and it
 * travels with every copy of the file), then the header and the rows. */
static char *to_csv(json_t *view, json_t *rows)
{
	json_t *columns = json_object_get(view, "columns");
	json_t *marking = json_object_get(view, "marking");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputs("\xEF\xBB\xBF", f); /* BOM: Excel then reads UTF-8 */
	if (marking) {
		char *m = bilingual(marking);
		json_t *cell = json_string(m ? m : "");
		csv_cell(f, cell);
		json_decref(cell);
		free(m);
		fputs("\r\n", f);
	}
	size_t i, j;
	json_t *col, *row;
	json_array_foreach(columns, i, col) {
		char head[512];
		snprintf(head, sizeof head, "%s (%s)", json_string_value(json_object_get(col, "ja")),
			 json_string_value(json_object_get(col, "en")));
		if (i)
			fputc(',', f);
		json_t *h = json_string(head);
		csv_cell(f, h);
		json_decref(h);
	}
	fputs("\r\n", f);
	json_array_foreach(rows, j, row) {
		json_array_foreach(columns, i, col) {
			if (i)
				fputc(',', f);
			csv_cell(f, json_object_get(row, json_string_value(json_object_get(col, "id"))));
		}
		fputs("\r\n", f);
	}
	fclose(f);
	return buf;
}

static void html_text(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* A word of a cell that must not break across lines: one with a digit (a
 * date, 2024-06-01 or 令和6年6月1日; an instant; an id; a 法人番号), as
 * long as it is short enough to fit a column anyway. */
#define HTML_NOBREAK_MAX 48

/* Cell text, escaped, its digit-bearing words kept whole (class nw). */
static void html_words(FILE *f, const char *s)
{
	while (s && *s) {
		size_t sp = strspn(s, " \t\n");
		if (sp) {
			fwrite(s, 1, sp, f);
			s += sp;
			continue;
		}
		size_t n = strcspn(s, " \t\n");
		char *w = strndup(s, n);
		bool digit = w && strpbrk(w, "0123456789") != NULL;
		if (digit && n <= HTML_NOBREAK_MAX)
			fputs("<span class=\"nw\">", f);
		html_text(f, w);
		if (digit && n <= HTML_NOBREAK_MAX)
			fputs("</span>", f);
		free(w);
		s += n;
	}
}

static void html_cell(FILE *f, json_t *v)
{
	if (json_is_string(v)) {
		html_words(f, json_string_value(v));
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) {
			if (i)
				fputs("<br>", f);
			html_cell(f, x);
		}
	} else if (v && !json_is_null(v)) {
		char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		html_words(f, d);
		free(d);
	}
}

/* Rows on one printed page (A4 landscape): a page a clerk can read, and one
 * that holds its rows even when each has a few lines of filings. */
#define HTML_ROWS_PER_PAGE 12

static const char html_style[] =
	"body{font-family:\"Noto Sans CJK JP\",\"Hiragino Sans\",\"Yu Gothic\",Meiryo,sans-serif;"
	"margin:2em;color:#1a1a1a}\n"
	"h1{font-size:1.4em;margin:0}h1 small{display:block;font-size:.65em;color:#555;font-weight:normal}\n"
	".notice{border:2px solid #b00020;color:#b00020;padding:.4em .8em;margin:1em 0;font-weight:bold}\n"
	".meta{color:#555;font-size:.85em}\n"
	".pagehead{display:flex;gap:1em;align-items:baseline;margin-top:1.2em;font-size:.8em;color:#555}\n"
	".pagehead .mark{border:1.5px solid #b00020;color:#b00020;font-weight:bold;padding:0 .4em}\n"
	".pagehead .pageno{margin-left:auto}.pagehead .when,.pagehead .pageno{white-space:nowrap}\n"
	"table{border-collapse:collapse;width:100%;margin-top:.4em;font-size:.9em}\n"
	"th,td{border:1px solid #999;padding:.35em .5em;vertical-align:top;text-align:left}\n"
	"th{background:#eef2f7}th small{display:block;font-weight:normal;color:#555}\n"
	"tbody tr:nth-child(even){background:#f8f8f8}\n"
	"td:first-child{white-space:nowrap}.nw{white-space:nowrap}\n"
	/* Print: a page per sheet of HTML_ROWS_PER_PAGE rows, each with the
	 * marking, the title and its number; the heading block of the screen
	 * gives way to them. */
	"@media print{@page{size:A4 landscape;margin:8mm 10mm}"
	"body{margin:0;font-size:7pt;line-height:1.25;-webkit-print-color-adjust:exact;"
	"print-color-adjust:exact}"
	"h1,.notice,.meta{display:none}"
	".sheet{break-after:page}.sheet:last-child{break-after:auto}"
	".pagehead{margin-top:0;font-size:8pt;color:#1a1a1a}"
	"table{font-size:7pt;margin-top:.3em}th,td{padding:.15em .3em}"
	"thead{display:table-header-group}tr{break-inside:avoid}}\n";

/* The head of one printed page: the marking, the title, when, which page. */
static void html_pagehead(FILE *f, const char *marking, const char *tja, const char *ten,
			  const char *now, size_t page, size_t pages)
{
	fputs("<div class=\"pagehead\">", f);
	if (marking) {
		fputs("<span class=\"mark\">", f);
		html_text(f, marking);
		fputs("</span>", f);
	}
	fputs("<span class=\"title\">", f);
	html_text(f, tja);
	fputs(" / ", f);
	html_text(f, ten);
	fputs("</span><span class=\"when\">", f);
	html_text(f, now);
	fprintf(f, "</span><span class=\"pageno\">%zu / %zu 頁 (page %zu of %zu)</span></div>\n", page,
		pages, page, pages);
}

/*
 * One self-contained page (no external assets, no script): tables with
 * Japanese headers and English labels under them, readable on screen and
 * printable: A4 landscape, HTML_ROWS_PER_PAGE rows a page, the handling
 * marking the view declares and the page number on every page.  The pages
 * are cut here, not left to the browser, so that every browser prints the
 * same pages with the same numbers.
 */
static char *to_html(json_t *view, json_t *rows, const char *name)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	json_t *title = json_object_get(view, "title"), *cols = json_object_get(view, "columns");
	const char *tja = json_string_value(json_object_get(title, "ja"));
	const char *ten = json_string_value(json_object_get(title, "en"));
	tja = tja ? tja : name;
	ten = ten ? ten : name;
	char now[CLOCK_ISO_MAX];
	clock_format(clock_now(), now);
	fputs("<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"robots\" content=\"noindex, nofollow\">\n<title>", f);
	html_text(f, tja);
	/* The marking in the title too: a browser's tab, its bookmarks and the
	 * header it prints name the page by its title alone. */
	const char *mja = json_string_value(json_object_get(json_object_get(view, "marking"), "ja"));
	if (mja) {
		fputs("\xe3\x80\x90", f); /* 【 */
		html_text(f, mja);
		fputs("\xe3\x80\x91", f); /* 】 */
	}
	fputs("</title>\n<style>\n", f);
	fputs(html_style, f);
	fputs("</style>\n</head>\n<body>\n<h1>", f);
	html_text(f, tja);
	fputs("<small>", f);
	html_text(f, ten);
	fputs("</small></h1>\n", f);
	json_t *marking = json_object_get(view, "marking");
	char *m = marking ? bilingual(marking) : NULL; /* the pack's; none of the core's own */
	if (m) {
		fputs("<p class=\"notice\">", f);
		html_text(f, m);
		fputs("</p>\n", f);
	}
	/* Japanese reads its date in words, not ISO: 「作成日時 2024年6月1日 10:00」. */
	int y, mo, d, h, mi;
	fputs("<p class=\"meta\">作成日時 ", f);
	if (sscanf(now, "%d-%d-%dT%d:%d", &y, &mo, &d, &h, &mi) == 5)
		fprintf(f, "%d年%d月%d日 %02d:%02d / ", y, mo, d, h, mi);
	fputs("Generated: ", f);
	html_text(f, now);
	fprintf(f, " &middot; 件数 / Rows: <span id=\"count\">%zu</span></p>\n", json_array_size(rows));
	size_t nrows = json_array_size(rows);
	size_t pages = nrows == 0 ? 1 : (nrows + HTML_ROWS_PER_PAGE - 1) / HTML_ROWS_PER_PAGE;
	for (size_t p = 0; p < pages; p++) {
		fputs("<section class=\"sheet\">\n", f);
		html_pagehead(f, m, tja, ten, now, p + 1, pages);
		fputs("<table>\n<thead><tr>", f);
		size_t i;
		json_t *c;
		json_array_foreach(cols, i, c) {
			fputs("<th scope=\"col\">", f);
			html_text(f, json_string_value(json_object_get(c, "ja")));
			fputs("<small>", f);
			html_text(f, json_string_value(json_object_get(c, "en")));
			fputs("</small></th>", f);
		}
		fputs("</tr></thead>\n<tbody>\n", f);
		for (size_t j = p * HTML_ROWS_PER_PAGE; j < nrows && j < (p + 1) * HTML_ROWS_PER_PAGE; j++) {
			json_t *row = json_array_get(rows, j);
			fputs("<tr>", f);
			json_array_foreach(cols, i, c) {
				fputs("<td>", f);
				html_cell(f, json_object_get(row, json_string_value(json_object_get(c, "id"))));
				fputs("</td>", f);
			}
			fputs("</tr>\n", f);
		}
		if (nrows == 0)
			fprintf(f, "<tr><td colspan=\"%zu\">該当なし / none</td></tr>\n", json_array_size(cols));
		fputs("</tbody>\n</table>\n</section>\n", f);
	}
	free(m);
	fputs("</body>\n</html>\n", f);
	fclose(f);
	return buf;
}

/*
 * A view runs in slices (slice.h, struct rpc_job): a page of records at a
 * time, each step until its time is up, so that a view over every record
 * never holds up other clients; it stops when its client hangs up, at
 * limits.request_time_s, and at limits.reply_mib.  In JSON its rows are
 * written out as they are built (the reply's members in the order view,
 * title, marking if the view declares one, columns, rows, count); CSV and
 * HTML are made from the rows at the end, so their rows are held, within
 * limits.reply_mib.
 */
#define VIEW_PAGE 64 /* records read per page: a step stops inside one when its time is up */

struct view_job {
	struct rpc_job job;
	char *name;              /* owned */
	char format;             /* 'j', 'c' or 'h' */
	json_t *view;            /* owned reference: the pack's declaration */
	json_t *vparams;         /* owned reference, may be NULL */
	const char *kind;        /* borrowed from view */
	size_t state_i, nstates; /* the states to scan (0: any state, in one pass) */
	char *after;             /* owned: the last record id done, NULL at a state's start */
	int64_t at;
	json_t *rows;            /* csv/html: the rows, held */
	size_t count, seen;
};

static void view_free(struct view_job *v)
{
	free(v->name);
	json_decref(v->view);
	json_decref(v->vparams);
	free(v->after);
	json_decref(v->rows);
	free(v);
}

static const char *view_done(struct view_job *v, char *buf, size_t n)
{
	snprintf(buf, n, "view=%s records_seen=%zu rows_done=%zu", v->name, v->seen, v->count);
	return buf;
}

/* One row, put into the reply (JSON) or held (CSV, HTML).  Returns 0, or
 * -EMSGSIZE over limits.reply_mib, -ENOMEM. */
static int view_put_row(struct view_job *v, json_t *row)
{
	if (v->format != 'j') {
		size_t n = json_dumpb(row, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
		if (v->job.total + n > v->job.max)
			return -EMSGSIZE;
		v->job.total += n;
		json_array_append(v->rows, row);
		v->count++;
		return 0;
	}
	/* Encoded straight into the reply: no text of the row made apart, then
	 * measured and copied (a 256 KiB row: three passes over it fewer). */
	int rc = rpc_job_put_json(&v->job, v->count > 0 ? "," : "", row);
	if (rc == 0)
		v->count++;
	return rc;
}

/* The reply's end: JSON's tail, or the whole CSV / HTML result. */
static void view_finish(struct view_job *v)
{
	char tail[64];
	if (v->format == 'j') {
		int n = snprintf(tail, sizeof tail, "],\"count\":%zu}}\n", v->count);
		if (rpc_job_put(&v->job, tail, (size_t)n) == 0) {
			rpc_job_end(&v->job);
			return;
		}
		char done[200];
		rpc_job_over_reply(&v->job, view_done(v, done, sizeof done));
		return;
	}
	char *text = v->format == 'h' ? to_html(v->view, v->rows, v->name)
				      : to_csv(v->view, v->rows);
	if (!text) {
		rpc_job_fail(&v->job, WIRE_INTERNAL, "out of memory building the view", NULL);
		return;
	}
	struct rpc_call *c = v->job.call;
	rpc_result(c, json_string(text));
	free(text);
	rpc_call_free(c);
	v->job.call = NULL;
}

/* Reads one page of the current state from v->after and runs the view's
 * row over it until `until_us`.  Returns 1 when the view is done, 0 when
 * there is more, or < 0 after replying. */
static int view_page(struct view_job *v, int64_t until_us)
{
	struct rpc *r = v->job.call->rpc;
	json_t *states = json_object_get(v->view, "states");
	const char *state = v->nstates ? json_string_value(json_array_get(states, v->state_i)) : NULL;
	struct ledger_page l;
	/* The read transaction ends inside ledger_list(): no LMDB transaction
	 * is open while the pack runs, nor between two steps. */
	int rc = ledger_list(r->ledger, v->kind, state, v->after, VIEW_PAGE, false, &l);
	if (rc < 0) {
		rpc_job_fail(&v->job, wire_code_of(rc), "the records could not be read", NULL);
		return -1;
	}
	size_t i;
	for (i = 0; i < l.n && rc == 0; i++) {
		if (i > 0 && slice_now_us() >= until_us)
			break;
		v->seen++;
		json_t *rec = ledger_page_get(r->ledger, &l, i);
		if (!rec)
			continue;
		json_t *row;
		int st = rules_view_row(r->rules, v->name, rec, v->vparams, v->at, &row);
		json_decref(rec);
		if (st == 1) {
			rc = view_put_row(v, row);
		} else if (st < 0) {
			char msg[600];
			json_t *data;
			int code = outcome_error(v->job.call, st, row, msg, sizeof msg, &data);
			rpc_job_fail(&v->job, code, msg, data);
			rc = -1;
		}
		json_decref(row);
	}
	if (rc == 0) {
		bool page_done = i == l.n;
		free(v->after);
		v->after = !page_done ? strdup(ledger_page_id(&l, i - 1)) : l.next ? strdup(l.next) : NULL;
		if (!v->after && (!page_done || l.next))
			rc = -ENOMEM;
	}
	ledger_page_free(&l);
	if (rc == -EMSGSIZE) {
		char done[200];
		rpc_job_over_reply(&v->job, view_done(v, done, sizeof done));
	} else if (rc == -ENOMEM) {
		rpc_job_fail(&v->job, WIRE_INTERNAL, "out of memory running the view", NULL);
	}
	if (rc != 0)
		return -1;
	if (v->after)
		return 0;
	return ++v->state_i >= (v->nstates ? v->nstates : 1) ? 1 : 0;
}

static enum slice_next view_step(void *ud, int64_t until_us)
{
	struct view_job *v = ud;
	char done[200];
	int rc = rpc_job_check(&v->job);
	if (rc == 1)
		return SLICE_WAIT;
	if (rc < 0) {
		rpc_job_stop(&v->job, rc, view_done(v, done, sizeof done));
		view_free(v);
		return SLICE_DONE;
	}
	do {
		rc = view_page(v, until_us);
	} while (rc == 0 && slice_now_us() < until_us);
	if (rc == 0) {
		rpc_job_flush(&v->job);
		return SLICE_MORE;
	}
	if (rc == 1)
		view_finish(v);
	view_free(v);
	return SLICE_DONE;
}

/* The reply's start, up to the first row: {"jsonrpc":..,"result":{"view":
 * name,"title":..,"marking":.. (when the view declares one),"columns":..,
 * "rows":[ */
static int view_head(struct view_job *v)
{
	json_t *h = json_pack("{s:s, s:O, s:O*, s:O}", "view", v->name, "title",
			      json_object_get(v->view, "title"), "marking",
			      json_object_get(v->view, "marking"), "columns",
			      json_object_get(v->view, "columns"));
	char *enc = h ? json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(h);
	int rc = enc ? rpc_job_put_head(&v->job) : -ENOMEM;
	if (rc == 0) /* without its closing brace: the rows follow */
		rc = rpc_job_put(&v->job, enc, strlen(enc) - 1);
	if (rc == 0)
		rc = rpc_job_put(&v->job, ",\"rows\":[", 9);
	free(enc);
	return rc;
}

enum rpc_status rpc_m_view(struct rpc_call *c)
{
	struct rpc *r = c->rpc;
	const char *name, *format = "json";
	if (!rpc_param_str(c, "name", true, NAME_MAX_LEN, &name) ||
	    !rpc_param_str(c, "format", false, 16, &format))
		return RPC_DONE;
	if (strcmp(format, "json") != 0 && strcmp(format, "csv") != 0 && strcmp(format, "html") != 0) {
		rpc_bad_param(c, "format", "json、csv、html のいずれかを指定してください",
			      "must be json, csv or html");
		return RPC_DONE;
	}
	json_t *vparams = json_object_get(c->params, "params");
	if (vparams && !json_is_object(vparams)) {
		rpc_bad_param(c, "params", "params はオブジェクトで指定してください", "must be an object");
		return RPC_DONE;
	}
	json_t *view = rules_view(r->rules, name);
	if (!view) {
		char ja[160], en[160];
		snprintf(ja, sizeof ja, "ビュー「%.64s」はありません", name);
		snprintf(en, sizeof en, "no view `%.64s` in the rule pack", name);
		rpc_bad_param(c, "name", ja, en);
		return RPC_DONE;
	}
	char what[128];
	snprintf(what, sizeof what, "view %.64s", name);
	if (!rpc_allow(c, json_object_get(view, "roles"), what))
		return RPC_DONE;
	if (!c->id) { /* a notification: nobody would read the rows */
		c->fn(c->slot, NULL, 0);
		return RPC_DONE;
	}
	struct view_job *v = calloc(1, sizeof *v);
	if (!v) {
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return RPC_DONE;
	}
	v->name = strdup(name);
	v->format = format[0];
	v->view = json_incref(view);
	v->vparams = vparams ? json_incref(vparams) : NULL;
	v->kind = json_string_value(json_object_get(view, "kind"));
	v->nstates = json_array_size(json_object_get(view, "states"));
	v->at = clock_now();
	v->rows = v->format == 'j' ? NULL : json_array();
	v->job.call = c; /* for view_head(); rpc_job_start() keeps it */
	v->job.max = r->d.conf->reply_bytes;
	int rc = v->name && (v->format != 'j' || view_head(v) == 0) ? 0 : -ENOMEM;
	v->job.call = NULL;
	if (rc == 0 && v->job.total > v->job.max)
		rc = -EMSGSIZE;
	if (rc == 0)
		rc = rpc_job_start(&v->job, c, "view", view_step, v);
	if (rc < 0) {
		view_free(v);
		rpc_fail(c, rc, NULL, NULL);
		return RPC_DONE;
	}
	return RPC_ASYNC;
}

/* --- history ------------------------------------------------------------------ */

enum rpc_status rpc_m_history(struct rpc_call *c)
{
	const char *id;
	if (!rpc_param_str(c, "id", true, ID_MAX, &id))
		return RPC_DONE;
	json_t *entries;
	int rc = ledger_history(c->rpc->ledger, id, &entries);
	if (rc == -ENOENT)
		not_found(c, id);
	else if (rc < 0)
		rpc_fail(c, rc, NULL, NULL);
	else
		rpc_result(c, json_pack("{s:s, s:o}", "id", id, "entries", entries));
	return RPC_DONE;
}
