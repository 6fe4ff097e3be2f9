/*
 * rpc — JSON-RPC 2.0 decoding, role checks and dispatch to the methods of
 * docs/PROTOCOL.md.  Sits between the server (which frames lines and owns
 * connections) and the rules, store and committer below.  Runs on the loop
 * thread only.
 *
 * A request is answered synchronously (a record read, an eval) or later: a
 * write once its batch is durable, work whose size a client chooses (view,
 * import, audit.verify) as its last slice ends (rpc_int.h, struct rpc_job),
 * work on a worker thread (backup, a pack's check or reload) when the
 * worker is done.  The server keeps replies in request order per
 * connection; rpc only promises to call the reply function exactly once per
 * request that has an id.
 */
#ifndef LIU_RPC_H
#define LIU_RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "commit.h"
#include "conf.h"
#include "rules.h"
#include "store.h"

struct rpc;
struct sched;
struct ledger;

/* Receives the reply line of a request (malloc'd, '\n'-terminated; the
 * callee frees it), or NULL for a notification, which gets no reply. */
typedef void (*rpc_reply_fn)(void *slot, char *line, size_t len);

enum rpc_status {
	RPC_DONE,   /* the reply function has been called */
	RPC_ASYNC,  /* it will be called later (a write in flight, work in
		     * slices or on a worker), or it was
		     * called already during rpc_handle() when the method found
		     * nothing to wait for: the server checks which */
	RPC_WAIT,   /* not handled: the connection has a write in flight and this
		     * request reads; call again with the same line once the
		     * connection's writes are answered (read-your-writes) */
};

/* What the daemon hands to rpc; everything borrowed for rpc's lifetime,
 * except `rules`, which rpc owns and replaces on reload. */
struct rpc_deps {
	void *loop;                  /* the uv_loop_t, for work off the loop (backup) */
	struct store *store;
	struct commit *commit;
	struct ledger *ledger;
	struct sched *sched;         /* may be set later with rpc_set_sched() */
	struct auth *auth;
	const struct conf *conf;
	struct rules *rules;         /* taken over */
	const char *rules_path;      /* the pack folder reloads read by default */
	/* Counts for status: connections open (set by the server). */
	size_t (*connections)(void *ud);
	void *connections_ud;
};

/* Returns 0 with *out (free with rpc_free()), or a negative errno. */
int rpc_new(struct rpc **out, const struct rpc_deps *deps);
void rpc_free(struct rpc *r);

/*
 * Handles one request line (NUL-terminated, borrowed for the call) from
 * `peer` (copied when needed).  `conn_writing` says whether the connection
 * has a write in flight.  Returns how the reply will come.
 */
enum rpc_status rpc_handle(struct rpc *r, const struct auth_peer *peer, const char *line,
			   size_t len, bool conn_writing, void *slot, rpc_reply_fn fn);

/* A request line decoded (any thread: it touches nothing of the daemon):
 * the request, or NULL with `err` filled in.  A server decodes a long line
 * on a worker this way, then hands it to rpc_handle_decoded(). */
json_t *rpc_decode(const char *line, size_t len, json_error_t *err);
/* rpc_handle() of a line rpc_decode() read: `req` (taken) or NULL with the
 * `err` it gave. */
enum rpc_status rpc_handle_decoded(struct rpc *r, const struct auth_peer *peer, json_t *req,
				   const json_error_t *err, bool conn_writing, void *slot,
				   rpc_reply_fn fn);

/* Builds the error reply for a line that could not be read at all (too long,
 * bad UTF-8 at the framing level): id null.  Caller frees. */
char *rpc_error_line(int code, const char *message, size_t *len);

/* Receives the outcome of a reload: rc 0 with result {version, previous,
 * dir, how, files}, or an error code with result {error, ...}.  The callee
 * takes `result`. */
typedef void (*rpc_reload_cb)(void *ud, int rc, json_t *result);

/*
 * Reloads the rule pack from `path` (NULL: the current pack's folder):
 * builds it and runs its tests on the side; on success records the
 * activation durably (history, the pack's files, an audit entry) and only
 * then swaps.  On failure the old pack stays live.  `who` and `how`
 * ("reload", "SIGHUP", "watch") are logged and audited.  cb (may be NULL)
 * runs once, possibly before this returns.  Returns 0 or the error code.
 */
int rpc_reload(struct rpc *r, const char *path, const char *who, const char *how,
	       rpc_reload_cb cb, void *ud);

/* Records the pack rpc was created with as activated at start ("start"),
 * when the store has no record of it yet.  cb as above. */
int rpc_activate_initial(struct rpc *r, const char *folder_version, rpc_reload_cb cb, void *ud);

/* The live pack (borrowed: valid until the next reload). */
struct rules *rpc_rules(struct rpc *r);

/* Gives rpc the scheduler (created after rpc, with rpc's live rules). */
void rpc_set_sched(struct rpc *r, struct sched *s);

/* Tells rpc how to count open connections (for status). */
void rpc_set_connections(struct rpc *r, size_t (*fn)(void *ud), void *ud);

/* The daemon stops: work in slices (views, imports, audit.verify) ends at
 * its next slice with an error reply (-32004, nothing written), so that the
 * loop runs down well before the stop watchdog. */
void rpc_stop(struct rpc *r);

/* Writes in flight or queued. */
size_t rpc_pending_writes(struct rpc *r);

/*
 * How a long request (a view, an import: work in slices, slice.h) hands its
 * reply to the server piece by piece and learns that its client is gone.
 * `slot` is the one given to rpc_handle().  Without these (set by the
 * server), such a reply is held whole, up to limits.reply_mib, and given to
 * the reply function like any other.
 */
struct rpc_stream_ops {
	/* Takes `piece` (malloc'd): the next bytes of the slot's reply line,
	 * written in request order with the connection's other replies.  The
	 * reply function, called last, gives the line's end. */
	void (*piece)(void *slot, char *piece, size_t len);
	/* Bytes of the slot's reply handed over and not yet written to the
	 * socket, or -1 when the client is gone (its connection closed, or its
	 * peer hung up: the server then closes it). */
	long (*backlog)(void *slot);
	/* Ends a reply that cannot be finished after pieces went out: closes
	 * the connection, since its line cannot end validly, and consumes the
	 * slot as the reply function would. */
	void (*abort)(void *slot);
};
/* `ops` is borrowed for rpc's lifetime. */
void rpc_set_stream(struct rpc *r, const struct rpc_stream_ops *ops);

#endif
