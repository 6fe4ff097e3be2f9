/*
 * lifecycle — the rule pack's lifecycle: candidate packs loaded and tested
 * off the loop, activation (recorded durably, then swapped in), reload,
 * rollback to a kept version, and rules.diff's walk over the records.  Below
 * rpc, which decodes the methods' parameters, checks roles and turns these
 * outcomes into replies.  Uses rules, packs, ledger, store, sched, expiry
 * and libuv; never <lua.h>.  Loop thread only.
 *
 * The live pack belongs to lifecycle's owner (rpc reads it on every call):
 * lifecycle asks for it (deps.live) and hands the next one over (deps.swap)
 * once its activation is durable, then tells the scheduler and drops the
 * eval memo of the old pack.
 *
 * Outcomes come back through a life_cb: rc 0 with a result, or an error code
 * (negative errno or LIU_E*) with {error, ...}; the callee takes `res`.
 */
#ifndef LIU_LIFECYCLE_H
#define LIU_LIFECYCLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "conf.h"
#include "ledger.h"
#include "rules.h"
#include "store.h"

struct life;
struct sched;

typedef void (*life_cb)(void *ud, int rc, json_t *res);
/* Whether the client that asked has hung up (a check it asked for is then
 * cancelled). */
typedef bool (*life_gone_fn)(void *gone_ud);

/* The refusal when too many checks wait (LIU_ELIMIT). */
#define LIFE_BUSY "too many rule checks are waiting; try again when they end"

struct life_deps {
	uv_loop_t *loop;
	struct store *store;
	struct ledger *ledger;
	const struct conf *conf;
	const char *rules_path;  /* the pack folder reloads read by default (copied) */
	/* The owner's live pack (borrowed), and its swap: takes `next`, returns
	 * the pack it replaces (lifecycle frees it; NULL: none). */
	struct rules *(*live)(void *ud);
	struct rules *(*swap)(void *ud, struct rules *next);
	void *ud;
};

/* Returns 0 with *out (free with life_free()) or -ENOMEM.  deps copied. */
int life_new(struct life **out, const struct life_deps *deps);
void life_free(struct life *l);
/* The scheduler (created later) that follows the live pack; may be NULL. */
void life_set_sched(struct life *l, struct sched *s);
/* Whether `pack` declares every role the configuration maps (but admin, the
 * core's): 0, or LIU_EINVAL with a message naming the first role it does
 * not, in msg.  A reload or rollback to such a pack is refused with that
 * message; the daemon does not start on one (liud.c). */
int life_roles_missing(const struct conf *cf, struct rules *pack, char *msg, size_t n);
/* Whether an activation (reload, rollback) is under way. */
bool life_reloading(const struct life *l);

/*
 * Reloads the pack from `path` (NULL: the folder given last, or at start):
 * loads it and runs its tests off the loop; on success records the
 * activation durably (history, the pack's files, an audit entry) and only
 * then swaps.  On failure the old pack stays live and the refusal is
 * audited.  Unless `force`, a candidate that is the version the rollback in
 * effect took out is refused (LIU_ECONFLICT, naming the folder).  `who` and
 * `how` are logged and audited.  cb (may be NULL) runs once with {version,
 * previous, dir, how, files, tests, reload_folder}, possibly before this
 * returns.  Returns 0 or the error code.
 */
int life_reload(struct life *l, const char *path, const char *who, const char *how, bool force,
		life_cb cb, void *ud);

/* Records `pack` (taken over) as activated at start ("start", by liud) and
 * swaps it in; nothing is served meanwhile.  cb as for life_reload(). */
int life_activate_initial(struct life *l, struct rules *pack, const char *folder_version,
			  life_cb cb, void *ud);

/* Loads the pack in `path` (NULL: the current folder) and runs its tests;
 * cb gets {ok, dir, version, tests, files, measures, live}.  gone(gone_ud)
 * is asked while it runs (may be NULL).  Returns 0, or LIU_ELIMIT when too
 * many checks wait, -ENOMEM (cb is then not called). */
int life_check(struct life *l, const char *path, life_gone_fn gone, void *gone_ud, life_cb cb,
	       void *ud);

/*
 * Rolls back to kept version `version` (the whole hash, packs_find()): its
 * files are written out and checked like a reload, then activated.
 * refused(ud, rc, {error, ...}) when it is refused before activation (the
 * refusal audited), else done(ud, ...) with the activation's outcome as for
 * life_reload(), plus folder_version (what the reload folder holds).
 * Returns 0 (one of them will run), LIU_ECONFLICT while
 * another activation runs, or a negative errno when the kept files could
 * not be written out (neither runs).
 */
int life_rollback(struct life *l, const char *version, const char *who, life_gone_fn gone,
		  void *gone_ud, life_cb refused, life_cb done, void *ud);

/*
 * What the candidate pack in `path` would change, at `at`, for every record:
 * decision, checks, the state after enforcement, the deadlines ahead.  The
 * walk runs a chunk of records per loop turn.  refused(ud, rc, {error, ...})
 * when the candidate does not load; else done(ud, rc, res): 0 with {live,
 * candidate, at, records, changed, truncated, differences, ms}, or an error
 * code with {error} (the live pack changed meanwhile, a read failed).
 * Returns 0, -EBUSY while another diff runs, LIU_ELIMIT when too many checks
 * wait, or -ENOMEM (neither runs).
 */
int life_diff(struct life *l, const char *path, int64_t at, const char *who, life_gone_fn gone,
	      void *gone_ud, life_cb refused, life_cb done, void *ud);

#endif
