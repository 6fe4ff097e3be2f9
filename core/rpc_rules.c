/* rpc_rules — the rule lifecycle's methods: rules.check, rules.reload,
 * rules.history, rules.rollback and rules.diff decoded, and their outcomes
 * (lifecycle.h) turned into replies; rpc_reload() for SIGHUP and the
 * folder watch, and the activation at start. */
#include "rpc_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errors.h"
#include "lifecycle.h"
#include "packs.h"
#include "wire.h"

#define PATH_MAX_LEN 4000

/* An error message ends at its first line: the traceback that follows is in
 * the reply's data (error), not in the one-line message. */
static void cut_first_line(char *msg)
{
	char *nl = strstr(msg, "\nstack traceback:");
	if (nl)
		*nl = '\0';
}

/* Whether the client of call `ud` hung up: a check it asked for stops. */
static bool call_gone(void *ud)
{
	const struct rpc_call *c = ud;
	const struct rpc *r = c->rpc;
	return r->stream && r->stream->backlog(c->slot) < 0;
}

/* The message of a refusal: `what` and the outcome's error, on one line. */
static void refusal(char *msg, size_t n, const char *what, const json_t *res)
{
	snprintf(msg, n, "%s%.600s", what, json_string_value(json_object_get(res, "error")));
	cut_first_line(msg);
}

/* A pack folder that is not there (or not a folder): the reason in both
 * languages, as every refusal gives it; the English one is the message's. */
static void missing_reason(int rc, json_t *res)
{
	if ((rc != -ENOENT && rc != -ENOTDIR) || !json_is_object(res) || json_object_get(res, "reason"))
		return;
	json_object_set_new(res, "reason",
			    json_pack("{s:s, s:s}", "ja",
				      rc == -ENOENT ? "ルールパックのフォルダがありません。デーモンから見えるパスを指定してください"
						    : "ルールパックのフォルダがありません（そのパスはフォルダではありません）",
				      "en", strerror(-rc)));
}

static int load_code(int rc, int otherwise)
{
	return rc == -ENOENT || rc == -ENOTDIR ? WIRE_INVALID_PARAMS : otherwise;
}

int rpc_reload(struct rpc *r, const char *path, const char *who, const char *how,
	       rpc_reload_cb cb, void *ud)
{
	return life_reload(r->life, path, who, how, false, cb, ud);
}

int rpc_activate_initial(struct rpc *r, const char *folder_version, rpc_reload_cb cb, void *ud)
{
	/* Nothing is served yet: the live pack can be taken out and put back
	 * in by the activation, like any other. */
	struct rules *live = r->rules;
	r->rules = NULL;
	return life_activate_initial(r->life, live, folder_version, cb, ud);
}

/* --- methods -------------------------------------------------------------------------- */

static void reply_reload(void *ud, int rc, json_t *res)
{
	struct rpc_call *c = ud;
	if (rc < 0) {
		char what[64], msg[700];
		snprintf(what, sizeof what, "%s refused, the old rules stay live: ",
			 c->method ? c->method : "rules.reload");
		refusal(msg, sizeof msg, what, res);
		missing_reason(rc, res);
		rpc_error(c, load_code(rc, wire_code_of(rc)), msg, res);
	} else {
		rpc_result(c, res);
	}
	rpc_call_free(c);
}

enum rpc_status rpc_m_rules_reload(struct rpc_call *c)
{
	const char *path = NULL;
	if (!rpc_param_str(c, "path", false, PATH_MAX_LEN, &path))
		return RPC_DONE;
	json_t *fj = json_object_get(c->params, "force");
	if (fj && !json_is_boolean(fj)) {
		rpc_bad_param(c, "force", "true か false で指定してください", "give true or false");
		return RPC_DONE;
	}
	bool force = json_is_true(fj);
	char who[96];
	snprintf(who, sizeof who, "%s(uid=%u)", c->peer.user, (unsigned)c->peer.uid);
	struct rpc_call *k = rpc_call_keep(c);
	if (!k) {
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return RPC_DONE;
	}
	k->method = "rules.reload";
	life_reload(c->rpc->life, path, who, "reload", force, reply_reload, k);
	return RPC_ASYNC;
}

static void check_done(void *ud, int rc, json_t *res)
{
	struct rpc_call *c = ud;
	if (rc < 0) {
		char msg[700];
		refusal(msg, sizeof msg, "rule pack check failed: ", res);
		missing_reason(rc, res);
		rpc_error(c, load_code(rc, WIRE_SCRIPT_ERROR), msg, res);
	} else {
		rpc_result(c, res);
	}
	rpc_call_free(c);
}

enum rpc_status rpc_m_rules_check(struct rpc_call *c)
{
	const char *path = NULL;
	if (!rpc_param_str(c, "path", false, PATH_MAX_LEN, &path))
		return RPC_DONE;
	struct rpc_call *k = rpc_call_keep(c);
	if (!k) {
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return RPC_DONE;
	}
	int rc = life_check(k->rpc->life, path, call_gone, k, check_done, k);
	if (rc < 0) {
		rpc_fail(k, rc, rc == LIU_ELIMIT ? LIFE_BUSY : NULL, NULL);
		rpc_call_free(k);
	}
	return RPC_ASYNC;
}

enum rpc_status rpc_m_rules_history(struct rpc_call *c)
{
	uint64_t limit = 100;
	if (!rpc_param_uint(c, "limit", 10000, &limit))
		return RPC_DONE;
	json_t *h = packs_history(c->rpc->d.store, (size_t)limit);
	rpc_result(c, json_pack("{s:s, s:o}", "live", rules_version(c->rpc->rules), "history", h));
	return RPC_DONE;
}

static void rollback_refused(void *ud, int rc, json_t *err)
{
	struct rpc_call *c = ud;
	char msg[700];
	refusal(msg, sizeof msg, "rollback refused, the current rules stay live: ", err);
	rpc_error(c, rc == LIU_ELIMIT ? WIRE_OVER_LIMIT : WIRE_SCRIPT_ERROR, msg, err);
	rpc_call_free(c);
}

enum rpc_status rpc_m_rules_rollback(struct rpc_call *c)
{
	struct rpc *r = c->rpc;
	const char *prefix;
	if (!rpc_param_str(c, "version", true, 64, &prefix))
		return RPC_DONE;
	if (life_reloading(r->life)) {
		rpc_error(c, WIRE_CONFLICT, "rollback refused: another reload is in progress", NULL);
		return RPC_DONE;
	}
	char *version = NULL;
	int rc = packs_find(r->d.store, prefix, &version);
	if (rc < 0) {
		rpc_bad_param(c, "version",
			      rc == -ENOENT ? "その版は保存されていません（直近に有効化した storage.pack_versions 個の版を保存しています。rules history で確認できます）" : "版は 8 桁以上の一意な16進数で指定してください",
			      rc == -ENOENT ? "no kept version starts with this (the files of the last "
					      "storage.pack_versions activated versions are kept; see rules history)" :
					      "give 8 or more hex digits that name exactly one kept version");
		return RPC_DONE;
	}
	char who[96];
	snprintf(who, sizeof who, "%s(uid=%u)", c->peer.user, (unsigned)c->peer.uid);
	struct rpc_call *k = rpc_call_keep(c);
	if (!k) {
		free(version);
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return RPC_DONE;
	}
	k->method = "rules.rollback";
	rc = life_rollback(r->life, version, who, call_gone, k, rollback_refused, reply_reload, k);
	free(version);
	if (rc < 0) {
		rpc_fail(k, rc, rc == -ENOMEM ? NULL : "the kept version could not be written out", NULL);
		rpc_call_free(k);
	}
	return RPC_ASYNC;
}

static void diff_refused(void *ud, int rc, json_t *info)
{
	struct rpc_call *c = ud;
	char msg[700];
	snprintf(msg, sizeof msg, "the candidate pack does not load: %.600s",
		 json_string_value(json_object_get(info, "error")));
	rpc_error(c, load_code(rc, WIRE_SCRIPT_ERROR), msg, info);
	rpc_call_free(c);
}

static void diff_done(void *ud, int rc, json_t *res)
{
	struct rpc_call *c = ud;
	if (rc < 0) {
		rpc_error(c, wire_code_of(rc), json_string_value(json_object_get(res, "error")), NULL);
		json_decref(res);
	} else {
		rpc_result(c, res);
	}
	rpc_call_free(c);
}

enum rpc_status rpc_m_rules_diff(struct rpc_call *c)
{
	struct rpc *r = c->rpc;
	const char *path;
	int64_t at = clock_now();
	if (!rpc_param_str(c, "path", true, PATH_MAX_LEN, &path) || !rpc_param_time(c, "at", &at))
		return RPC_DONE;
	struct rpc_call *k = rpc_call_keep(c);
	if (!k) {
		rpc_fail(c, -ENOMEM, NULL, NULL);
		return RPC_DONE;
	}
	int rc = life_diff(r->life, path, at, k->peer.user, call_gone, k, diff_refused, diff_done, k);
	if (rc == -EBUSY)
		rpc_error(k, WIRE_OVER_LIMIT, "a rules.diff is already running; try again when it ends", NULL);
	else if (rc < 0)
		rpc_fail(k, rc, rc == LIU_ELIMIT ? LIFE_BUSY : NULL, NULL);
	if (rc < 0)
		rpc_call_free(k);
	return RPC_ASYNC;
}
