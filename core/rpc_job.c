/* rpc_job — a request run in slices under its caps, and its reply built as
 * it goes (rpc_int.h, struct rpc_job).  Used by view, import and
 * audit.verify. */
#include "rpc_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "log.h"
#include "metrics.h"
#include "wire.h"

void rpc_set_stream(struct rpc *r, const struct rpc_stream_ops *ops) { r->stream = ops; }

int rpc_job_start(struct rpc_job *j, struct rpc_call *c, const char *what,
		  enum slice_next (*fn)(void *, int64_t), void *ud)
{
	struct rpc *r = c->rpc;
	const struct conf *cf = r->d.conf;
	j->what = what;
	j->t0_us = slice_now_us();
	j->deadline_us = j->t0_us + (int64_t)cf->request_time_s * 1000000;
	j->gen = r->rules_gen;
	j->max = cf->reply_bytes;
	if (!r->slicer && slicer_new(&r->slicer, r->d.loop) < 0)
		return -ENOMEM;
	if (!(j->call = rpc_call_keep(c)))
		return -ENOMEM;
	if (slicer_add(r->slicer, fn, ud) < 0) {
		*c = *j->call; /* give the call back for a synchronous reply */
		free(j->call);
		j->call = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void release(struct rpc_job *j)
{
	rpc_call_free(j->call);
	j->call = NULL;
	free(j->buf);
	j->buf = NULL;
	j->len = j->cap = 0;
}

int rpc_job_check(struct rpc_job *j)
{
	struct rpc_call *c = j->call;
	struct rpc *r = c->rpc;
	long backlog = r->stream ? r->stream->backlog(c->slot) : 0;
	if (backlog < 0)
		return -ECANCELED;
	if (j->replying) /* a stop waits for the reply: sent without waiting */
		return !r->stopping && j->streaming && backlog > (long)RPC_STREAM_WINDOW ? 1 : 0;
	if (r->stopping)
		return -ESHUTDOWN;
	if (slice_now_us() >= j->deadline_us)
		return -ETIMEDOUT;
	if (!j->whole && r->rules_gen != j->gen)
		return LIU_ECONFLICT;
	/* A client that reads slowly is sent at most a window ahead: the rest
	 * is not built until it reads (the time cap still runs). */
	return j->streaming && backlog > (long)RPC_STREAM_WINDOW ? 1 : 0;
}

int rpc_job_put(struct rpc_job *j, const char *s, size_t n)
{
	if (j->total + n > j->max)
		return -EMSGSIZE;
	if (j->len + n > j->cap) {
		size_t cap = j->cap ? j->cap : j->last_cap > 4096 ? j->last_cap : 4096;
		while (cap < j->len + n)
			cap *= 2;
		char *b = realloc(j->buf, cap);
		if (!b)
			return -ENOMEM;
		j->buf = b;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->total += n;
	return 0;
}

static int reply_put(void *ud, const char *s, size_t n) { return rpc_job_put(ud, s, n); }

int rpc_job_put_json(struct rpc_job *j, const char *sep, const json_t *v)
{
	size_t len = j->len, total = j->total;
	struct wire_stream ws;
	wire_stream_init(&ws, (json_t *)v);
	int rc = rpc_job_put(j, sep, strlen(sep));
	if (rc == 0) /* all of it: 1, or why not */
		rc = wire_stream_next(&ws, SIZE_MAX, reply_put, j);
	if (rc < 0) { /* what went in of it goes: the reply ends at the last whole value */
		j->len = len;
		j->total = total;
	}
	return rc < 0 ? rc : 0;
}

int rpc_job_put_head(struct rpc_job *j)
{
	json_t *id = j->call->id;
	char *enc = id ? json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	char head[160];
	int n = snprintf(head, sizeof head, "{\"jsonrpc\":\"" WIRE_VERSION "\",\"id\":%s,\"result\":",
			 enc ? enc : "null");
	free(enc);
	if (n < 0 || (size_t)n >= sizeof head)
		return -EINVAL; /* an id string this long is refused before (ID_MAX) */
	return rpc_job_put(j, head, (size_t)n);
}

void rpc_job_flush(struct rpc_job *j)
{
	struct rpc_call *c = j->call;
	const struct rpc_stream_ops *ops = c->rpc->stream;
	if (!ops || j->len == 0 || (!j->streaming && j->total <= RPC_STREAM_WINDOW))
		return;
	/* The buffer itself goes to the server; a new one starts. */
	ops->piece(c->slot, j->buf, j->len);
	j->buf = NULL;
	j->last_cap = j->cap;
	j->len = j->cap = 0;
	j->streaming = true;
}

void rpc_job_end(struct rpc_job *j)
{
	struct rpc_call *c = j->call;
	metrics_observe(c->midx, j->code, slice_now_us() - c->t0_us);
	if (!c->id) {
		c->fn(c->slot, NULL, 0);
	} else {
		c->fn(c->slot, j->buf, j->len);
		j->buf = NULL;
	}
	release(j);
}

void rpc_job_fail(struct rpc_job *j, int code, const char *message, json_t *data)
{
	struct rpc_call *c = j->call;
	if (!j->streaming) {
		rpc_error(c, code, message, data);
		release(j);
		return;
	}
	/* Bytes of a result went out: an error line now would follow half a
	 * line.  The client sees the connection end without a newline. */
	json_decref(data);
	c->rpc->errors++;
	metrics_observe(c->midx, code, slice_now_us() - c->t0_us);
	log_warn("rpc: %s stopped mid-reply code=%d error=\"%s\" sent_bytes=%zu: connection closed "
		 "peer_uid=%u peer_pid=%d", j->what, code, message, j->total - j->len,
		 (unsigned)c->peer.uid, (int)c->peer.pid);
	c->rpc->stream->abort(c->slot);
	release(j);
}

static json_t *limit_data(const char *limit, long long value, const char *ja, const char *en)
{
	return json_pack("{s:s, s:I, s:{s:s, s:s}}", "limit", limit, "value", (json_int_t)value,
			 "reason", "ja", ja, "en", en);
}

void rpc_job_stop(struct rpc_job *j, int why, const char *done)
{
	struct rpc_call *c = j->call;
	long long ms = (slice_now_us() - j->t0_us) / 1000;
	if (why == -ECANCELED) {
		c->rpc->jobs_cancelled++;
		log_info("rpc: %s %s, the client hung up peer_uid=%u peer_pid=%d ms=%lld %s", j->what,
			 j->replying ? "done, its reply dropped" : "cancelled", (unsigned)c->peer.uid,
			 (int)c->peer.pid, ms, done);
		c->fn(c->slot, NULL, 0); /* nobody hears of it; the slot is freed */
		release(j);
		return;
	}
	char msg[400];
	if (why == -ESHUTDOWN) {
		bool writes = strcmp(j->what, "import") == 0;
		log_info("rpc: %s stopped, the daemon is stopping peer_uid=%u peer_pid=%d ms=%lld %s",
			 j->what, (unsigned)c->peer.uid, (int)c->peer.pid, ms, done);
		snprintf(msg, sizeof msg, "the daemon is stopping: the %s was stopped%s; send it again once "
			 "the daemon is back", j->what, writes ? " and nothing was written" : "");
		rpc_job_fail(j, WIRE_REFUSED, msg,
			     json_pack("{s:{s:s, s:s}}", "reason", "ja",
				       "サービスが停止処理中のため中断しました。再開後にもう一度送ってください", "en",
				       "the service is stopping; send it again once it is back"));
		return;
	}
	if (why == -ETIMEDOUT) {
		int s = c->rpc->d.conf->request_time_s;
		if (j->whole)
			snprintf(msg, sizeof msg, "%s stopped: it ran longer than limits.request_time_s (%d s); "
				 "it reads the whole database and cannot be narrowed: raise the limit",
				 j->what, s);
		else
			snprintf(msg, sizeof msg, "%s stopped: it ran longer than limits.request_time_s (%d s); "
				 "ask for less (a narrower %s, or its params) or raise the limit", j->what, s,
				 j->what);
		log_warn("rpc: %s over limits.request_time_s peer_uid=%u peer_pid=%d ms=%lld %s", j->what,
			 (unsigned)c->peer.uid, (int)c->peer.pid, ms, done);
		rpc_job_fail(j, WIRE_OVER_LIMIT, msg,
			     j->whole ? limit_data("limits.request_time_s", s,
						   "処理時間の上限を超えました。上限（limits.request_time_s）を"
						   "引き上げてから再度実行してください",
						   "it took too long; raise the limit and run it again")
				      : limit_data("limits.request_time_s", s,
						   "処理時間の上限を超えました。対象を絞ってください",
						   "it took too long; ask for less"));
		return;
	}
	bool writes = strcmp(j->what, "import") == 0;
	snprintf(msg, sizeof msg, "conflict: the rule pack changed during the %s; %s", j->what,
		 writes ? "nothing was written, send it again" : "run it again");
	log_info("rpc: %s stopped, the rule pack changed %s", j->what, done);
	rpc_job_fail(j, WIRE_CONFLICT, msg,
		     json_pack("{s:{s:s, s:s}}", "reason", "ja", "途中でルールが更新されました。もう一度送ってください",
			       "en", "the rules changed meanwhile; send it again"));
}

void rpc_job_over_reply(struct rpc_job *j, const char *done)
{
	struct rpc_call *c = j->call;
	size_t mib = c->rpc->d.conf->reply_bytes >> 20;
	char msg[400];
	snprintf(msg, sizeof msg, "the %s's reply is larger than limits.reply_mib (%zu MiB); ask for less "
		 "with the %s's params (a filter) or a narrower %s, or raise the limit", j->what, mib,
		 j->what, j->what);
	log_warn("rpc: %s over limits.reply_mib peer_uid=%u peer_pid=%d %s", j->what,
		 (unsigned)c->peer.uid, (int)c->peer.pid, done);
	rpc_job_fail(j, WIRE_OVER_LIMIT, msg,
		     limit_data("limits.reply_mib", (long long)mib, "結果が大きすぎます。条件で絞ってください",
				"the reply is too large; ask for less"));
}

/* --- a reply made in slices ---------------------------------------------------- */

#define REPLY_VALUES 256         /* values encoded between two looks at the clock */
#define REPLY_SLICE_VALUES 16384 /* and at most this many in one slice, however fast */

struct job_reply {
	struct rpc_job job;
	json_t *msg;             /* owned: {"jsonrpc", "id", "result"} */
	struct wire_stream ws;
	size_t slices;
	bool sent;               /* then the message is freed, in slices too */
};

static void reply_free(struct job_reply *jr)
{
	json_decref(jr->msg);
	free(jr);
}

/* Empties `v` (an array or object) from its end until `until_us`: true once
 * it is empty.  What a reply of 100,000 ids held goes in slices too. */
static bool reply_drain(json_t *v, int64_t until_us)
{
	for (unsigned k = 1;; k++) {
		if (json_is_array(v) && json_array_size(v) > 0) {
			json_array_remove(v, json_array_size(v) - 1);
		} else if (json_is_object(v) && json_object_size(v) > 0) {
			void *it = json_object_iter(v); /* its key goes with it: copied */
			json_t *key = json_stringn_nocheck(json_object_iter_key(it), json_object_iter_key_len(it));
			if (!key)
				return true; /* freed whole, with the message */
			json_object_deln(v, json_string_value(key), json_string_length(key));
			json_decref(key);
		} else {
			return true;
		}
		if (k % REPLY_VALUES == 0 && slice_now_us() >= until_us)
			return false;
	}
}

/* The result's (or the error's data's) big members emptied, then the
 * message freed. */
static enum slice_next reply_release(struct job_reply *jr, int64_t until_us)
{
	json_t *res = json_object_get(jr->msg, "result"), *v;
	if (!res)
		res = json_object_get(json_object_get(jr->msg, "error"), "data");
	const char *k;
	json_object_foreach(res, k, v)
		if (!reply_drain(v, until_us))
			return SLICE_MORE;
	reply_free(jr);
	return SLICE_DONE;
}

static enum slice_next reply_step(void *ud, int64_t until_us)
{
	struct job_reply *jr = ud;
	if (jr->sent)
		return reply_release(jr, until_us);
	int rc = rpc_job_check(&jr->job);
	if (rc == 1)
		return SLICE_WAIT;
	char done[96];
	snprintf(done, sizeof done, "reply_bytes=%zu slices=%zu", jr->job.total, jr->slices);
	if (rc < 0) {
		rpc_job_stop(&jr->job, rc, done);
		jr->sent = true;
		return SLICE_MORE;
	}
	jr->slices++;
	size_t k = 0;
	do
		rc = wire_stream_next(&jr->ws, REPLY_VALUES, reply_put, &jr->job);
	while (rc == 0 && slice_now_us() < until_us && (k += REPLY_VALUES) < REPLY_SLICE_VALUES);
	if (rc == 0) {
		rpc_job_flush(&jr->job);
		return SLICE_MORE;
	}
	if (rc == 1)
		rc = rpc_job_put(&jr->job, "\n", 1);
	if (rc < 0) {
		rpc_job_fail(&jr->job, WIRE_INTERNAL, "out of memory encoding the reply", NULL);
	} else {
		log_info("rpc: %s replied in slices reply_bytes=%zu slices=%zu", jr->job.what,
			 jr->job.total, jr->slices);
		rpc_job_end(&jr->job);
	}
	jr->sent = true;
	return SLICE_MORE;
}

/* Starts the reply `msg` (taken) in slices for `c` (taken); false when it
 * cannot (no memory): then nothing is taken. */
static bool reply_start(struct rpc_call *c, const char *what, json_t *msg, int code)
{
	struct job_reply *jr = msg ? calloc(1, sizeof *jr) : NULL;
	if (!jr || rpc_job_start(&jr->job, c, what, reply_step, jr) < 0) {
		free(jr);
		return false;
	}
	free(c); /* emptied: rpc_job_start keeps its own copy */
	jr->msg = msg;
	jr->job.replying = true;
	jr->job.code = code;
	jr->job.max = SIZE_MAX;
	wire_stream_init(&jr->ws, msg);
	return true;
}

void rpc_job_reply(struct rpc_call *c, const char *what, json_t *result)
{
	json_t *msg = c->id ? json_pack("{s:s, s:O, s:O}", "jsonrpc", WIRE_VERSION, "id", c->id,
					"result", result) : NULL;
	if (reply_start(c, what, msg, 0)) {
		json_decref(result); /* msg holds it */
		return;
	}
	/* A notification, or no memory for the slices: in one go. */
	json_decref(msg);
	rpc_result(c, result);
	rpc_call_free(c);
}

void rpc_job_reply_error(struct rpc_call *c, const char *what, int code, const char *message,
			 json_t *data)
{
	json_t *msg = c->id ? json_pack("{s:s, s:O, s:{s:i, s:s, s:O*}}", "jsonrpc", WIRE_VERSION, "id",
					c->id, "error", "code", code, "message", message, "data", data)
			    : NULL;
	struct rpc *r = c->rpc;
	if (reply_start(c, what, msg, code)) {
		r->errors++; /* as rpc_error() counts it */
		json_decref(data); /* msg holds it */
		return;
	}
	json_decref(msg);
	rpc_error(c, code, message, data);
	rpc_call_free(c);
}
