/*
 * rpc_int — what the files of the rpc layer (rpc.c, rpc_records.c,
 * rpc_admin.c, rpc_rules.c, rpc_job.c) share: the rpc struct, one request
 * in progress (struct rpc_call), reply and parameter helpers, a request run
 * in slices (struct rpc_job) and the method table's entries.  Private to
 * rpc*.c.
 */
#ifndef LIU_RPC_INT_H
#define LIU_RPC_INT_H

#include "ledger.h"
#include "rpc.h"
#include "slice.h"

struct rpc {
	struct rpc_deps d;
	struct rules *rules;     /* live pack, owned; swapped by the lifecycle */
	struct life *life;       /* owned: checks, activation, reload, rollback, diff */
	struct ledger *ledger;
	int64_t started_ms;      /* clock_mono_ms() at start: uptime never runs back */
	int64_t started_at;      /* wall instant, seconds */
	int64_t rules_loaded_at; /* instant of the last (re)load */
	int64_t last_backup_at;  /* daemon clock (s) of the last backup written and verified, 0: none yet */
	int64_t last_backup_bytes;
	uint64_t backups_failed; /* since the start */
	uint64_t requests, errors;
	uint64_t eval_memo_hits, eval_memo_misses;
	int rules_gen;           /* bumped at every swap */
	const struct rpc_stream_ops *stream; /* the server's, may be NULL */
	struct slicer *slicer;   /* owned: views and imports run in slices */
	uint64_t jobs_cancelled; /* work stopped because its client hung up */
	bool stopping;           /* the daemon stops: jobs end at their next slice */
	/* Imports running, and the records created while any runs (id -> the
	 * sequence of its creation; NULL when none was): an import checks
	 * the ids it writes against those created since it began, at its end
	 * (rpc_records.c, import_clash).  Emptied when no import runs. */
	unsigned imports;
	uint64_t made_seq;
	uint64_t made_lost;      /* made_seq when a creation could not be noted */
	json_t *made_during;
};

/* One request.  Lives on the stack for synchronous methods; copied to the
 * heap (rpc_call_keep) when the reply comes later. */
struct rpc_call {
	struct rpc *rpc;
	struct auth_peer peer;
	const char *method;      /* borrowed from the request (valid during the call) */
	json_t *id;              /* owned reference, NULL for a notification */
	json_t *params;          /* owned reference, an object */
	void *slot;
	rpc_reply_fn fn;
	int midx;                /* method index for metrics (-1: not a method) */
	int64_t t0_us;           /* arrival, monotonic microseconds */
	/* eval's record given inline, as text in the request line (reqrec.h):
	 * then params' "record" is {} and this is the record (borrowed, valid
	 * during the call). */
	const char *rec_text;
	size_t rec_len;
	bool rec_full;           /* a whole record, with its kind; else just its data */
	const char *line;        /* with rec_text: the whole request line (borrowed,
				  * valid during the call), for jansson when the
				  * rules refuse the record's text */
	size_t line_len;
};

typedef enum rpc_status (*rpc_method_fn)(struct rpc_call *c);

/* Sends a result (stolen) / an error (data stolen, may be NULL).  Both
 * consume the call's reply: call exactly one, once. */
void rpc_result(struct rpc_call *c, json_t *result);
void rpc_error(struct rpc_call *c, int code, const char *message, json_t *data);
/* The reply to a line jansson refuses (its id null, as the request's is
 * unknown; c->id released). */
void rpc_parse_error(struct rpc_call *c, const json_error_t *err);
/* Sends a result already encoded, given as pieces that together are one
 * JSON value (borrowed; copied into the reply line).  For answers kept
 * encoded (eval's memo): the reply costs a copy, not an encoding. */
struct rpc_part {
	const char *s;
	size_t len;
};
void rpc_result_raw(struct rpc_call *c, const struct rpc_part *parts, size_t n);
/* An invalid-params error naming the field, with a bilingual reason. */
void rpc_bad_param(struct rpc_call *c, const char *field, const char *ja, const char *en);
/* Maps a negative errno / LIU_E* code and an optional message to an error. */
void rpc_fail(struct rpc_call *c, int err, const char *message, json_t *data);

/* Heap copy of a call for an asynchronous reply (fields taken over); free
 * with rpc_call_free() after replying. */
struct rpc_call *rpc_call_keep(struct rpc_call *c);
void rpc_call_free(struct rpc_call *c);

/*
 * A request whose work is a loop over records (view, import, audit.verify), run in slices
 * on the loop (slice.h) under the request's caps: its client may hang up (the
 * work stops and frees what it held), it may run limits.request_time_s at
 * most, and its reply may reach limits.reply_mib at most.  The reply is held
 * until it passes RPC_STREAM_WINDOW, then handed to the server in pieces as
 * it is built; an error after that closes the connection (the line cannot
 * end validly) instead of replying.
 */
#define RPC_STREAM_WINDOW (1u << 20) /* held whole below this; and the most a slow reader is sent ahead */
struct rpc_job {
	struct rpc_call *call;   /* owned until the job replies (rpc_call_keep) */
	const char *what;        /* static: "view", "import", "audit.verify", for logs and errors */
	int64_t t0_us, deadline_us;
	int gen;                 /* the rules generation it started with */
	size_t max;              /* limits.reply_mib, in bytes */
	char *buf;               /* owned: reply bytes not yet handed over */
	size_t len, cap;
	size_t last_cap;         /* the size of the buffer handed over last: the
				  * next starts there, not doubling up to it again */
	size_t total;            /* bytes of the reply built so far */
	bool streaming;          /* pieces went out: no error reply is possible */
	bool whole;              /* reads no rule and has no params to narrow it (audit.verify):
				  * a pack swapped meanwhile does not stop it, and over the
				  * time cap the error says to raise the limit */
	int code;                /* the reply's error code for the metrics, 0 for a result */
	bool replying;           /* only the reply is left, its work done (an import
				  * durable): no cap, time, stop or pack change ends it,
				  * only a hang-up (rpc_job_reply) */
};
/* Starts a job for `c` (taken over: c is emptied as by rpc_call_keep) and
 * queues `fn(j's container, ...)` with the slicer.  Returns 0, or -ENOMEM
 * with c intact for a synchronous reply. */
int rpc_job_start(struct rpc_job *j, struct rpc_call *c, const char *what,
		  enum slice_next (*fn)(void *, int64_t), void *ud);
/* Before each step: 0 to go on, 1 to wait (the client has not read what it
 * was sent), or why to stop: -ECANCELED (the client hung up; the slot is
 * released: the job frees its state and ends), -ETIMEDOUT (over
 * limits.request_time_s), -ESHUTDOWN (the daemon stops), LIU_ECONFLICT (the
 * rule pack changed; never for a job that is `whole`). */
int rpc_job_check(struct rpc_job *j);
/* Appends to the reply.  Returns 0, or -EMSGSIZE over limits.reply_mib
 * (nothing appended). */
int rpc_job_put(struct rpc_job *j, const char *s, size_t n);
/* Appends `sep` and then `v` encoded (json_dumps()'s bytes, by wire_stream)
 * straight into the reply, without a text of it made apart.  Returns 0, or
 * -EMSGSIZE over limits.reply_mib, -ENOMEM (nothing appended either way). */
int rpc_job_put_json(struct rpc_job *j, const char *sep, const json_t *v);
/* The start of a result line: {"jsonrpc":"2.0","id":..,"result": */
int rpc_job_put_head(struct rpc_job *j);
/* Hands what is held to the server once streaming (end of a step). */
void rpc_job_flush(struct rpc_job *j);
/* Ends the reply with what is held (the line's last bytes are in: "}\n")
 * and releases the call. */
void rpc_job_end(struct rpc_job *j);
/* Replies with an error, or closes the connection when pieces went out;
 * takes `data`; releases the call. */
void rpc_job_fail(struct rpc_job *j, int code, const char *message, json_t *data);
/* Replies for a stop reason of rpc_job_check() (-ECANCELED: nothing, the
 * slot released) with `done` ("rows_done=12") for the log; releases the
 * call. */
void rpc_job_stop(struct rpc_job *j, int why, const char *done);
/* Replies with `result` (taken) encoded in slices, the same bytes as
 * rpc_result(), for a result of a size a client chose (an import's 100,000
 * ids); the call `c` is taken (a kept call, rpc_call_keep) and released
 * when the reply is out or its client hung up.  `what` names the request
 * in the log. */
void rpc_job_reply(struct rpc_call *c, const char *what, json_t *result);
/* The same for an error (rpc_error()'s bytes; `data` taken): an import
 * refused whole lists up to 100,000 failures. */
void rpc_job_reply_error(struct rpc_call *c, const char *what, int code, const char *message,
			 json_t *data);
/* -32007 for limits.reply_mib, naming the limit and how to ask for less. */
void rpc_job_over_reply(struct rpc_job *j, const char *done);

/* Parameter helpers: return true when present and valid, false after
 * replying with -32602 (or when absent and optional: *out untouched, true). */
bool rpc_param_str(struct rpc_call *c, const char *key, bool required, size_t max,
		   const char **out);
bool rpc_param_time(struct rpc_call *c, const char *key, int64_t *out);
bool rpc_param_uint(struct rpc_call *c, const char *key, uint64_t max, uint64_t *out);

/* The reason of a -32001 ({ja, en}, a new object): the roles that may
 * (admin and `allowed`, names), and for a peer holding no role, that it
 * holds none and that liud.conf maps users and groups to roles. */
json_t *rpc_forbid_reason(const struct rpc_call *c, const json_t *allowed);

/* Whether the peer's roles include any in `allowed` (a JSON array of names);
 * admin always may.  On false, replies -32001 and logs. */
bool rpc_allow(struct rpc_call *c, const json_t *allowed, const char *what);
/* Whether the peer may call `method` itself (a method one answer draws on,
 * as record.list draws on eval's decisions).  On false with `reply`,
 * replies -32001 and logs. */
bool rpc_may_call(struct rpc_call *c, const char *method, bool reply);
/* The caller's role as a rule sees it (ctx.role): "admin", else the first of
 * the live pack's roles, in the pack's order, that it holds, else "none".
 * Borrowed: a static string or the configuration's (auth_holds), valid while
 * the daemon runs, whatever pack is live then. */
const char *rpc_role(const struct rpc_call *c);

/* Methods, by file. */
enum rpc_status rpc_m_record_get(struct rpc_call *c);
enum rpc_status rpc_m_record_list(struct rpc_call *c);
enum rpc_status rpc_m_act(struct rpc_call *c);
enum rpc_status rpc_m_import(struct rpc_call *c);
enum rpc_status rpc_m_eval(struct rpc_call *c);
enum rpc_status rpc_m_view(struct rpc_call *c);
enum rpc_status rpc_m_history(struct rpc_call *c);
enum rpc_status rpc_m_status(struct rpc_call *c);
enum rpc_status rpc_m_rules_status(struct rpc_call *c);
enum rpc_status rpc_m_rules_check(struct rpc_call *c);
enum rpc_status rpc_m_rules_reload(struct rpc_call *c);
enum rpc_status rpc_m_audit_verify(struct rpc_call *c);
enum rpc_status rpc_m_backup(struct rpc_call *c);
enum rpc_status rpc_m_clock_set(struct rpc_call *c);
enum rpc_status rpc_m_deadlines(struct rpc_call *c);
enum rpc_status rpc_m_rules_history(struct rpc_call *c);
enum rpc_status rpc_m_rules_rollback(struct rpc_call *c);
enum rpc_status rpc_m_rules_diff(struct rpc_call *c);
enum rpc_status rpc_m_metrics(struct rpc_call *c);
enum rpc_status rpc_m_enforce(struct rpc_call *c);

#endif
