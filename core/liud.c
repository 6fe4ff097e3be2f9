/*
 * liud — the daemon's main: command line, configuration, start-up in
 * dependency order (store, rules, committer, rpc, server), signals, and a
 * clean shutdown.  Also the `liud test` and `liud check` commands that run a
 * rule pack without a daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "auth.h"
#include "clock.h"
#include "commit.h"
#include "conf.h"
#include "errors.h"
#include "hash.h"
#include "log.h"
#include "lifecycle.h"
#include "notify.h"
#include "rpc.h"
#include "rules.h"
#include "ledger.h"
#include "packs.h"
#include "sched.h"
#include "server.h"
#include "store.h"
#include "version.h"
#include "watchdog.h"

static const char usage[] =
	"usage: liud [-c FILE] [--socket PATH] [--db DIR] [--rules DIR]\n"
	"            [--test-clock ISO-8601] [--log-level LEVEL]\n"
	"       liud test [RULES-DIR]     run the pack's tests, TAP on stdout\n"
	"       liud check [RULES-DIR]    compile and validate the pack only\n"
	"                                 (default: the rules of " LIUD_CONFIG ",\n"
	"                                 else " LIUD_RULES ")\n"
	"\n"
	"Keeps the records of a special measure and enforces its rules, which a rule\n"
	"pack (a folder of Lua files) declares: records, actions, views, deadlines, roles.\n"
	"\n"
	"  -c, --config FILE      configuration (declarative Lua, see liud.conf(5))\n"
	"      --socket PATH      control socket (default " LIUD_SOCKET ")\n"
	"      --db DIR           LMDB database folder (default " LIUD_DB ")\n"
	"      --rules DIR        rule pack folder (default " LIUD_RULES ")\n"
	"      --test-clock TIME  start the clock at TIME and let clock.set move it\n"
	"                         (drills and tests only; never in production)\n"
	"      --log-level LEVEL  error, warn, info (default) or debug\n"
	"  -h, --help             this text\n"
	"  -V, --version          the version\n"
	"\n"
	"Signals: SIGTERM/SIGINT stop cleanly (writes in flight finish), SIGHUP reloads\n"
	"the rules (validated and tested first; on failure the old rules stay live).\n"
	"Exit status: 0 clean stop, 1 start-up or configuration error, 2 usage.\n";

struct daemon {
	uv_loop_t *loop;
	struct conf conf;
	struct store *store;
	struct commit *commit;
	struct ledger *ledger;
	struct sched *sched;
	struct auth *auth;
	struct rpc *rpc;
	struct server *server;
	uv_signal_t sig_term, sig_int, sig_hup;
	/* rules_watch: the pack folder and its subfolders, and a debounce timer */
	uv_fs_event_t watch[8];
	int nwatch;
	uv_timer_t debounce;
	bool watching;
	uv_timer_t audit_head;  /* publishes the audit head (conf audit_head_s) */
	bool stopping;
};

static void watch_stop(struct daemon *d);

static struct rules_opts rule_opts(const struct conf *c, bool tests)
{
	return (struct rules_opts){ .mem_limit = c->rule_memory,
				    .instr_limit = c->rule_instructions,
				    .time_limit_ms = c->rule_time_ms,
				    .load_tests = tests, .pack_bytes = c->pack_bytes };
}

/* --- liud test / liud check ---------------------------------------------- */

static int cmd_pack(bool tests, const char *dir)
{
	struct conf c;
	conf_defaults(&c);
	/* No folder given: the one the configuration names, as the daemon
	 * would run it. */
	if (!dir && access(LIUD_CONFIG, F_OK) == 0) {
		char *cerr = NULL;
		if (conf_load(&c, LIUD_CONFIG, &cerr) < 0) {
			if (tests)
				printf("1..0 # the configuration does not load\n");
			fprintf(stderr, "liud: configuration error: %s\n", cerr ? cerr : "unreadable");
			free(cerr);
			conf_free(&c);
			return 1;
		}
	}
	if (!dir)
		fprintf(stderr, "liud: %s the rules folder %s\n", tests ? "testing" : "checking", c.rules);
	struct rules_opts o = rule_opts(&c, tests);
	struct rules *r;
	char *err = NULL;
	int rc = rules_load(&r, dir ? dir : c.rules, &o, &err);
	if (rc < 0) {
		if (tests)
			printf("1..0 # the pack does not load\nBail out! %s\n", err ? err : liu_strerror(rc));
		fprintf(stderr, "liud: %s\n", err ? err : liu_strerror(rc));
		free(err);
		conf_free(&c);
		return 1;
	}
	int status = 0;
	if (tests) {
		int failed = rules_run_tests(r, stdout);
		status = failed != 0;
	} else {
		json_t *d = rules_describe(r);
		printf("ok: %s version %s, %zu files, %zu measures, %zu actions, %zu views\n",
		       json_string_value(json_object_get(d, "name")), rules_version(r),
		       json_array_size(json_object_get(d, "files")),
		       json_array_size(json_object_get(d, "measures")),
		       json_object_size(json_object_get(d, "actions")),
		       json_object_size(json_object_get(d, "views")));
	}
	rules_free(r);
	conf_free(&c);
	return status;
}

/* A stop signal ends the process within this, clean or not (watchdog.h):
 * under the 5 s a service manager or an operator waits before SIGKILL. */
#define STOP_GRACE_MS 4000

/* --- the audit head, published ---------------------------------------- */

/* The head cannot vouch for itself (someone who can write the database
 * can cut the chain's end and rewrite the head): logged, it lands in the
 * system journal, out of their reach, and `audit verify --head` proves a
 * head logged earlier is still a prefix of the chain. */
static void publish_head(struct daemon *d, const char *when)
{
	struct audit_head h = ledger_committed_head(d->ledger);
	log_info("audit: head=%llu:%s when=%s", (unsigned long long)h.seq, h.hash, when);
}

static void audit_head_tick(uv_timer_t *t)
{
	publish_head(t->data, "interval");
}

/* --- signals ------------------------------------------------------------- */

static void stop(struct daemon *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = true;
	uv_close((uv_handle_t *)&d->audit_head, NULL);
	log_info("liud: stopping reason=%s writes_in_flight=%zu", why, rpc_pending_writes(d->rpc));
	notify_stopping();
	server_stop(d->server);
	rpc_stop(d->rpc);
	sched_close(d->sched);
	watch_stop(d);
	uv_close((uv_handle_t *)&d->sig_term, NULL);
	uv_close((uv_handle_t *)&d->sig_int, NULL);
	uv_close((uv_handle_t *)&d->sig_hup, NULL);
	/* The loop now runs until the last write is committed and the last
	 * reply written: nothing acknowledged is cut short. */
}

/* --- rules_watch --------------------------------------------------------- */

#define WATCH_DEBOUNCE_MS 500 /* editors write several times per save */

static void watch_fire(uv_timer_t *t)
{
	struct daemon *d = t->data;
	log_info("rules: the pack folder changed, reloading dir=%s", d->conf.rules);
	rpc_reload(d->rpc, NULL, "watch", "watch", NULL, NULL);
}

static void watch_event(uv_fs_event_t *h, const char *file, int events, int status)
{
	(void)file;
	(void)events;
	struct daemon *d = h->data;
	if (status < 0 || d->stopping)
		return;
	uv_timer_start(&d->debounce, watch_fire, WATCH_DEBOUNCE_MS, 0);
}

/* Watches the pack folder and its direct subfolders (tests/, data/). */
static void watch_start(struct daemon *d)
{
	uv_timer_init(d->loop, &d->debounce);
	d->debounce.data = d;
	d->watching = true;
	const char *subs[] = { "", "/tests", "/data", NULL };
	for (int i = 0; subs[i] && d->nwatch < 8; i++) {
		char path[4200];
		snprintf(path, sizeof path, "%s%s", d->conf.rules, subs[i]);
		uv_fs_event_t *h = &d->watch[d->nwatch];
		uv_fs_event_init(d->loop, h);
		h->data = d;
		if (uv_fs_event_start(h, watch_event, path, 0) == 0) {
			d->nwatch++;
		} else {
			uv_close((uv_handle_t *)h, NULL);
		}
	}
	log_info("rules: watching the pack folder dir=%s folders=%d", d->conf.rules, d->nwatch);
}

static void watch_stop(struct daemon *d)
{
	if (!d->watching)
		return;
	for (int i = 0; i < d->nwatch; i++)
		uv_close((uv_handle_t *)&d->watch[i], NULL);
	uv_close((uv_handle_t *)&d->debounce, NULL);
	d->watching = false;
}

/* The end of a SIGHUP reload, good or bad: the service is ready again. */
static void reloaded(void *ud, int rc, json_t *res)
{
	struct daemon *d = ud;
	char status[160];
	snprintf(status, sizeof status, "serving; rules %.12s%s", rules_version(rpc_rules(d->rpc)),
		 rc < 0 ? " (the last reload was refused)" : "");
	notify_ready(status);
	json_decref(res);
}

static void on_signal(uv_signal_t *h, int sig)
{
	struct daemon *d = h->data;
	if (sig == SIGHUP) {
		notify_reloading();
		rpc_reload(d->rpc, NULL, "SIGHUP", "SIGHUP", reloaded, d);
		return;
	}
	stop(d, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* --- the daemon ------------------------------------------------------------ */

/*
 * Which pack goes live at start.  The store remembers the last activated
 * version.  The folder wins when it still is that version, or when it
 * changed since and its tests pass (a start is then recorded like a
 * reload); a rollback stays live while the folder is as it was when the
 * rollback happened; a folder that fails falls back to the kept version.
 */
static int choose_rules(struct daemon *d, struct rules **out, bool *record, char *fv)
{
	struct conf *c = &d->conf;
	struct rules_opts plain = rule_opts(c, false), tested = rule_opts(c, true);
	struct rules *folder = NULL;
	char *err = NULL;
	char root[4200];
	snprintf(root, sizeof root, "%s/packs", c->db);
	packs_prune(root, NULL); /* kept versions earlier runs wrote out */
	int frc = rules_load(&folder, c->rules, &plain, &err);
	if (frc < 0)
		log_err("liud: the rule pack folder does not load dir=%s error=\"%s\"", c->rules, err);
	free(err);
	err = NULL;
	if (folder)
		snprintf(fv, HASH_HEX, "%s", rules_version(folder));
	json_t *active = NULL;
	packs_active(d->store, &active);
	const char *av = json_string_value(json_object_get(active, "version"));
	const char *how = json_string_value(json_object_get(active, "how"));
	const char *afv = json_string_value(json_object_get(active, "folder_version"));
	int rc = 0;
	if (folder && av && strcmp(rules_version(folder), av) == 0) {
		*out = folder; /* as activated last time */
		goto done;
	}
	if (folder && av && how && strcmp(how, "rollback") == 0 && afv &&
	    strcmp(rules_version(folder), afv) == 0) {
		log_info("liud: keeping the rolled-back rules version=%.12s (the folder is unchanged since)", av);
		rules_free(folder);
		folder = NULL;
	} else if (folder) {
		/* New to the store: it must pass its tests, like a reload. */
		rules_free(folder);
		folder = NULL;
		rc = rules_load(&folder, c->rules, &tested, &err);
		char *report = NULL;
		int total = 0;
		if (rc == 0 && rules_test_report(folder, &report, &total) == 0) {
			*out = folder;
			*record = true;
			goto done;
		}
		log_err("liud: the rule pack folder fails its tests dir=%s report=\"%.500s\"", c->rules,
			report ? report : err ? err : "");
		free(report);
		free(err);
		rules_free(folder);
		folder = NULL;
	}
	if (!av) {
		log_err("liud: no rule pack can go live (the folder fails and none was activated before)");
		rc = -EINVAL;
		goto done;
	}
	/* The kept version, exactly as it was activated. */
	char *dir = NULL;
	if ((rc = packs_materialize(d->store, root, av, &dir)) < 0 ||
	    (rc = rules_load(out, dir, &plain, &err)) < 0) {
		log_err("liud: the kept rules version=%.12s cannot be loaded error=\"%s\"", av,
			err ? err : liu_strerror(rc));
	} else {
		log_warn("liud: serving the kept rules version=%.12s from %s", av, dir);
	}
	free(err);
	free(dir);
done:
	json_decref(active);
	return rc;
}

static void recorded(void *ud, int rc, json_t *res)
{
	int *out = ud;
	*out = rc < 0 ? rc : 1;
	json_decref(res);
}

/* Writes the activation of the start-up pack before anything is served. */
static int record_activation(struct daemon *d, const char *folder_version)
{
	int done = 0;
	int rc = rpc_activate_initial(d->rpc, folder_version, recorded, &done);
	if (rc < 0)
		return rc;
	while (done == 0)
		uv_run(d->loop, UV_RUN_ONCE);
	if (done < 0)
		log_err("liud: the rules activation could not be written error=\"%s\"", liu_strerror(done));
	return done < 0 ? done : 0;
}

static void caught_up(void *ud, json_t *report)
{
	json_t **out = ud;
	*out = report;
}

/*
 * Enforces what became due while the daemon was down, before the socket
 * opens: no write is served on rules whose measures have already ended.
 */
static int catch_up(struct daemon *d)
{
	const char *next = sched_next(d->sched);
	if (!next)
		return 0;
	json_t *report = NULL;
	sched_enforce_now(d->sched, caught_up, &report);
	while (!report)
		uv_run(d->loop, UV_RUN_ONCE);
	int rc = json_object_get(report, "error") ? -EIO : 0;
	size_t n = json_array_size(json_object_get(report, "enforced"));
	if (n > 0)
		log_info("liud: caught up with deadlines passed while down count=%zu", n);
	if (rc < 0)
		log_err("liud: catch-up enforcement failed; not serving");
	json_decref(report);
	return rc;
}

/* Everything is open and caught up: the test fault (drills only), the
 * signals, the start line and readiness; then the loop runs until a stop. */
static void serve(struct daemon *d)
{
	struct conf *c = &d->conf;
	/* Drills and tests only: the first N commits after start fail, to show
	 * that a failed write changes nothing and is never acknowledged. */
	const char *fault = getenv("LIUD_TEST_FAIL_COMMITS");
	if (fault && clock_is_test()) {
		log_warn("liud: TEST FAULT: the next %d commits will fail", atoi(fault));
		store_fail_commits(d->store, atoi(fault), -EIO);
	}

	uv_signal_init(d->loop, &d->sig_term);
	uv_signal_init(d->loop, &d->sig_int);
	uv_signal_init(d->loop, &d->sig_hup);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	uv_signal_start(&d->sig_term, on_signal, SIGTERM);
	uv_signal_start(&d->sig_int, on_signal, SIGINT);
	uv_signal_start(&d->sig_hup, on_signal, SIGHUP);

	char now[CLOCK_ISO_MAX];
	log_info("liud: started version=%s socket=%s db=%s rules=%s rules_version=%.12s clock=%s now=%s pid=%d",
		 LIUD_VERSION, c->socket, c->db, c->rules, rules_version(rpc_rules(d->rpc)),
		 clock_is_test() ? "test" : "system", clock_format(clock_now(), now), (int)getpid());
	publish_head(d, "start");
	uv_timer_init(d->loop, &d->audit_head);
	d->audit_head.data = d;
	if (c->audit_head_s > 0)
		uv_timer_start(&d->audit_head, audit_head_tick, (uint64_t)c->audit_head_s * 1000,
			       (uint64_t)c->audit_head_s * 1000);
	if (c->rules_watch)
		watch_start(d);
	char status[160];
	snprintf(status, sizeof status, "serving; rules %.12s", rules_version(rpc_rules(d->rpc)));
	notify_ready(status);
	uv_run(d->loop, UV_RUN_DEFAULT);
}

/*
 * On the system clock, once every deadline of the pack has passed, its
 * measures are over and what they limit is refused: said in the first lines,
 * with the pack's own title, so that someone trying the daemon today learns
 * why, and how to see the measures in force (a drill: a test clock inside a
 * period, on a database of its own).  The words about the measures are the
 * pack's; the core's are generic.
 */
static void note_periods_over(struct rules *r)
{
	if (clock_is_test())
		return;
	json_t *dl = rules_deadlines(r);
	int64_t now = clock_now(), last = 0;
	size_t i;
	json_t *e;
	json_array_foreach(dl, i, e) {
		int64_t at = json_integer_value(json_object_get(e, "at"));
		if (at > now) {
			json_decref(dl);
			return;
		}
		if (at > last)
			last = at;
	}
	size_t n = json_array_size(dl);
	json_decref(dl);
	if (n == 0)
		return;
	json_t *title = json_object_get(rules_describe(r), "title");
	const char *ja = json_string_value(json_object_get(title, "ja"));
	const char *en = json_string_value(json_object_get(title, "en"));
	char iso[CLOCK_ISO_MAX];
	log_warn("liud: every period of the rule pack is over; what it limits to its periods is "
		 "refused, as it says pack=%s title=\"%s%s%s\" last_deadline=%s",
		 json_string_value(json_object_get(rules_describe(r), "name")), ja ? ja : "", ja && en ? " / " : "", en ? en : "", clock_format(last, iso));
	log_warn("liud: to see the pack in force, run a drill on a database of its own with a test "
		 "clock inside a period (--db, --test-clock; README.md, the tour)");
}

static int run(struct daemon *d)
{
	struct conf *c = &d->conf;
	int rc;
	d->loop = uv_default_loop();
	if (server_probe(c->socket)) {
		log_err("liud: cannot serve the socket path=%s error=\"a live daemon already answers on it\"",
			c->socket);
		return 1;
	}

	struct store_opts so = { .map_size = c->map_size, .max_map_size = c->max_map_size,
				 .range_prefix = LEDGER_STAGE_PREFIX, .range_table = LEDGER_STAGE_TABLE,
				 .dict_records = c->dict_records ? c->dict_records : -1 };
	if ((rc = store_open(&d->store, c->db, &so)) < 0) {
		log_err("liud: cannot open the database db=%s error=\"%s\"%s", c->db, liu_strerror(rc),
			rc == -EBUSY ? " (another liud uses it)" : "");
		return 1;
	}
	struct rules *rules;
	bool record = false;
	char folder_version[HASH_HEX] = "";
	if ((rc = choose_rules(d, &rules, &record, folder_version)) < 0)
		goto err_store;
	note_periods_over(rules);
	char why[1200];
	if ((rc = life_roles_missing(c, rules, why, sizeof why)) < 0) {
		log_err("liud: cannot start error=\"%s\"", why);
		rules_free(rules);
		goto err_store;
	}
	if ((rc = commit_new(&d->commit, d->loop, d->store)) < 0 ||
	    (rc = auth_new(&d->auth, c->roles, getuid())) < 0) {
		log_err("liud: start-up failed error=\"%s\"", liu_strerror(rc));
		rules_free(rules);
		goto err_commit;
	}
	if ((rc = ledger_open(&d->ledger, d->store, d->commit)) < 0) {
		log_err("liud: cannot read the audit head error=\"%s\"", liu_strerror(rc));
		rules_free(rules);
		goto err_commit;
	}
	ledger_set_cache(d->ledger, c->cache_bytes);
	ledger_set_memo(d->ledger, c->memo_bytes);
	struct rpc_deps deps = { .loop = d->loop, .store = d->store, .commit = d->commit, .ledger = d->ledger,
				 .auth = d->auth, .conf = c, .rules = rules, .rules_path = c->rules };
	if ((rc = rpc_new(&d->rpc, &deps)) < 0) {
		log_err("liud: start-up failed error=\"%s\"", liu_strerror(rc));
		rules_free(rules);
		goto err_ledger;
	}
	if (record && (rc = record_activation(d, folder_version)) < 0)
		goto err_rpc;
	if ((rc = sched_new(&d->sched, d->loop, d->store, d->ledger, rpc_rules(d->rpc),
			    c->enforce_batch, (int64_t)c->stage_hours * 3600)) < 0) {
		log_err("liud: start-up failed error=\"%s\"", liu_strerror(rc));
		goto err_rpc;
	}
	rpc_set_sched(d->rpc, d->sched);
	if (catch_up(d) < 0)
		goto err_sched;
	struct server_opts sv = { .path = c->socket, .mode = c->socket_mode,
				  .request_bytes = c->request_bytes,
				  .max_connections = c->connections,
				  .per_uid = c->connections_per_uid,
				  .admin_reserve = c->admin_reserve,
				  .idle_timeout_s = c->idle_timeout_s,
				  .request_timeout_s = c->request_timeout_s };
	if ((rc = server_start(&d->server, d->loop, &sv, d->rpc, d->auth)) < 0) {
		log_err("liud: cannot serve the socket path=%s error=\"%s\"", c->socket,
			rc == -EADDRINUSE ? "a live daemon already answers on it" : liu_strerror(rc));
		goto err_sched;
	}
	rpc_set_connections(d->rpc, server_connections, d->server);
	serve(d);
	log_flush_suppressed();
	publish_head(d, "stop"); /* every write is committed: the head is final */
	log_info("liud: stopped");
	rpc_free(d->rpc);
	ledger_close(d->ledger);
	commit_free(d->commit);
	auth_free(d->auth);
	store_close(d->store);
	uv_loop_close(d->loop);
	return 0;

err_sched:
	sched_close(d->sched);
	uv_run(d->loop, UV_RUN_DEFAULT); /* lets the scheduler's handles close */
err_rpc:
	rpc_free(d->rpc);
err_ledger:
	ledger_close(d->ledger);
err_commit:
	commit_free(d->commit);
	auth_free(d->auth);
err_store:
	store_close(d->store);
	return 1;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && (strcmp(argv[1], "test") == 0 || strcmp(argv[1], "check") == 0)) {
		if (argc > 3 || (argc == 3 && argv[2][0] == '-')) {
			fputs(usage, stderr);
			return 2;
		}
		return cmd_pack(strcmp(argv[1], "test") == 0, argc == 3 ? argv[2] : NULL);
	}
	enum { O_SOCKET = 256, O_DB, O_RULES, O_CLOCK, O_LOG };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "db", required_argument, NULL, O_DB },
		{ "rules", required_argument, NULL, O_RULES },
		{ "test-clock", required_argument, NULL, O_CLOCK },
		{ "log-level", required_argument, NULL, O_LOG },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *socket = NULL, *db = NULL, *rules = NULL, *tclock = NULL,
		   *level = NULL;
	int ch;
	while ((ch = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case O_SOCKET: socket = optarg; break;
		case O_DB: db = optarg; break;
		case O_RULES: rules = optarg; break;
		case O_CLOCK: tclock = optarg; break;
		case O_LOG: level = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': printf("liud %s\n", LIUD_VERSION); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "liud: unexpected argument '%s'\n%s", argv[optind], usage);
		return 2;
	}
	static struct daemon d;
	conf_defaults(&d.conf);
	char *err = NULL;
	if (config && conf_load(&d.conf, config, &err) < 0) {
		fprintf(stderr, "liud: configuration error: %s\n", err ? err : "unreadable");
		free(err);
		conf_free(&d.conf);
		return 1;
	}
	if (socket)
		conf_set(&d.conf.socket, socket);
	if (db)
		conf_set(&d.conf.db, db);
	if (rules)
		conf_set(&d.conf.rules, rules);
	if (level)
		conf_set(&d.conf.log_level, level);
	enum log_level lvl;
	if (log_parse_level(d.conf.log_level, &lvl) < 0) {
		fprintf(stderr, "liud: log level '%s': use error, warn, info or debug\n", d.conf.log_level);
		conf_free(&d.conf);
		return 1;
	}
	if (log_set_zone(d.conf.log_time_zone) < 0) {
		fprintf(stderr, "liud: log_time_zone '%s': use JST, UTC or an offset such as +09:00\n",
			d.conf.log_time_zone);
		conf_free(&d.conf);
		return 1;
	}
	log_set_level(lvl);
	log_set_rate(d.conf.log_per_s, d.conf.log_burst);
	if (tclock) {
		int64_t t;
		struct clock_why why;
		if (clock_parse(tclock, &t, &why) < 0) {
			fprintf(stderr, "liud: --test-clock '%s': %s\n", tclock, why.en);
			conf_free(&d.conf);
			return 1;
		}
		clock_use_test(t);
		log_set_test_clock(clock_now_ms);
		log_warn("liud: TEST CLOCK in use, starting at %s: not for production", tclock);
	}
	/* From here on a stop signal ends the process within STOP_GRACE_MS,
	 * whatever the loop thread is doing (watchdog.h). */
	if (watchdog_start(STOP_GRACE_MS) < 0)
		log_warn("liud: cannot start the stop watchdog; a stop waits for the loop");
	int status = run(&d);
	watchdog_stop();
	conf_free(&d.conf);
	return status;
}
