/*
 * liuctl — the operator's client for liud: one command per method of the
 * socket protocol (docs/PROTOCOL.md), all of them in one table that drives argument
 * parsing, the mapping of arguments to params, and the usage text, the way
 * smtpctl's parser is driven by its cmd_install() patterns.
 *
 * A command line is matched against the table, parsed against the entry's
 * pattern (liuctl_args.c), turned into the method's params, sent as one
 * JSON-RPC line over the Unix socket (liuctl_call.c), and the reply is
 * printed for people (liuctl_print.c, with tables aligned by East Asian
 * display width, liuctl_table.c) or, with --json, as the raw result.  The
 * usage text, the bash completion script and the man page's list of commands
 * are all generated from the same table (liuctl_doc.c).  The client links
 * only the wire module (framing, request lines, error codes), jansson and
 * libc: it shares nothing else with the daemon, so it can never depend on the
 * daemon's internals.
 *
 * This file: main, the global options, the table, and the exec steps that
 * tie a parse, a call and a printer together.
 *
 * Exit status: 0 success; 1 an error reply (or a result that says "ok":
 * false, such as a broken audit chain); 2 usage; 3 the daemon could not be
 * reached, or the connection broke before the reply came.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "liuctl_int.h"
#include "version.h"
#include "wire.h"

/* --- small helpers ------------------------------------------------------ */

/* A command-line client has nothing to save when memory runs out: say so and
 * stop, rather than thread ENOMEM through every printing function. */
void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fputs("liuctl: out of memory\n", stderr);
		exit(ST_REPLY);
	}
	return q;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xrealloc(NULL, n), s, n);
}

__attribute__((format(printf, 1, 2)))
char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fputs("liuctl: out of memory\n", stderr);
		exit(ST_REPLY);
	}
	return s;
}

/* Borrowed string member of an object, or NULL. */
const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The same, or `dflt` when the member is missing or not a string. */
const char *jstr_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = jstr(o, key);
	return s ? s : dflt;
}

/* --- exec: parse, call, print -------------------------------------------- */

/* One call, its result printed; the common case. */
static int exec_default(struct ctl *c, const struct args *a)
{
	json_t *params = json_object(), *out = NULL;
	int st = build_params(a, params);
	if (st == ST_OK && a->cmd->build)
		st = a->cmd->build(a, params);
	if (st == ST_OK)
		st = ctl_call(c, a->cmd->method, params, &out);
	if (st == ST_OK) {
		if (a->cmd->raw && json_is_string(out))
			/* CSV (with its BOM and CRLF) and Prometheus text are
			 * already in their final form, for --json too: add
			 * nothing, not even a newline. */
			fwrite(json_string_value(out), 1, json_string_length(out), stdout);
		else if (c->json || !a->cmd->show)
			print_json(out);
		else
			st = a->cmd->show(a, out);
		/* A result that reports its own failure ("ok": false, a broken
		 * audit chain) fails the command, with --json too, so that a
		 * script checking the exit status is not misled. */
		if (json_is_false(json_object_get(out, "ok")))
			st = ST_REPLY;
	} else if (st == ST_REPLY) {
		print_error(out);
	}
	json_decref(out);
	json_decref(params);
	return st;
}

/* record list, following `next` through every page with --all. */
static int exec_record_list(struct ctl *c, const struct args *a)
{
	json_t *params = json_object(), *all = NULL, *out = NULL;
	int st = build_params(a, params);
	bool every = arg(a, "all") != NULL;
	while (st == ST_OK) {
		st = ctl_call(c, "record.list", params, &out);
		if (st != ST_OK)
			break;
		json_t *next = json_object_get(out, "next");
		size_t got = json_array_size(json_object_get(out, "records"));
		if (!all) {
			all = json_incref(out);
		} else {
			json_array_extend(json_object_get(all, "records"), json_object_get(out, "records"));
			json_object_set(all, "next", next);
		}
		/* An empty page that still says "more" would loop forever. */
		if (!every || !json_is_string(next) || got == 0)
			break;
		json_object_set(params, "after", next);
		json_decref(out);
		out = NULL;
	}
	if (st == ST_OK)
		st = c->json ? (print_json(all), ST_OK) : show_record_list(a, all);
	else if (st == ST_REPLY)
		print_error(out);
	json_decref(out);
	json_decref(all);
	json_decref(params);
	return st;
}

/* call METHOD [PARAMS]: the raw protocol, for methods liuctl does not know. */
static int exec_call(struct ctl *c, const struct args *a)
{
	json_t *params = NULL, *out = NULL;
	const char *p = arg(a, "params");
	if (p && !(params = load_json(a->cmd, "params", p)))
		return ST_USAGE;
	int st = ctl_call(c, arg(a, "method"), params, &out);
	if (st == ST_OK)
		print_json(out);
	else if (st == ST_REPLY)
		print_error(out);
	json_decref(out);
	json_decref(params);
	return st;
}

/* eval needs exactly one of a stored record and an inline one. */
static int build_eval(const struct args *a, json_t *params)
{
	if (!arg(a, "id") == !arg(a, "record"))
		return usage_fail(a->cmd, "give a record id or --record, not both and not neither");
	return ST_OK;
}

/* The deadlines already enforced are left out unless --all asks. */
static int build_deadlines(const struct args *a, json_t *params)
{
	if (arg(a, "all"))
		json_object_set_new(params, "all", json_true());
	return ST_OK;
}

/* --- the command table --------------------------------------------------- */

/*
 * One entry per command, in the order --help lists them.  The pattern says
 * the words, arguments and options (see liuctl_int.h); everything else about
 * a command is derived from it: parsing, params, usage, help, the bash
 * completion script and the man page's COMMANDS section.
 */
const struct cmd ctl_commands[] = {
	{ .pattern = "status", .method = "status",
	  .help = "Show the daemon: version, uptime, rule pack, clock, record counts, next deadline.",
	  .show = show_status },
	{ .pattern = "record get <id>", .method = "record.get",
	  .help = "Show one record: its fields, then its data.",
	  .show = show_record },
	{ .pattern = "record list [--kind <kind>] [--state <state>] [--limit <n>] [--after <id>] [--all]",
	  .method = "record.list",
	  .help = "List records in id order, one page (--limit, at most 1000), or every page with --all.",
	  .show = show_record_list, .exec = exec_record_list },
	{ .pattern = "act <action> [<id>] [key=value ...] [--params <json|@file|->] [--if-rev <n>]",
	  .method = "act",
	  .help = "Run a rule-pack action in one durable write, e.g. `act submit --params @app.json`,\n"
		  "`act reject LIU-000001 reason=書類不備`; key=value pairs are merged over --params.",
	  .show = show_act },
	{ .pattern = "eval [<id>] [--record <json|@file|->] [--at <time>]", .method = "eval",
	  .help = "Evaluate the requirements for a stored record, or one given with --record (read-only).",
	  .build = build_eval, .show = show_eval },
	{ .pattern = "view <name> [--format json|csv|html] [key=value ...]", .method = "view",
	  .help = "Run a view of the rule pack; with --format csv the CSV (UTF-8 with BOM, CRLF), ready\n"
		  "for Excel, or with --format html a whole HTML page, is written as it is.",
	  .raw = true, .show = show_view },
	{ .pattern = "history <id>", .method = "history",
	  .help = "Show the audit entries of one record, oldest first.",
	  .show = show_history },
	{ .pattern = "deadlines [--limit <n>] [--all]", .method = "deadlines",
	  .help = "List the upcoming enforcements: time, measure, records affected\n"
		  "(--all: the enforced ones too).",
	  .params = "{limit?, all?}", .build = build_deadlines, .show = show_deadlines },
	{ .pattern = "enforce", .method = "enforce",
	  .help = "Enforce what is due now (idempotent).",
	  .show = show_enforce },
	{ .pattern = "rules status", .method = "rules.status",
	  .help = "Show the live rule pack: version, files, measures and their periods, actions, views.",
	  .show = show_rules_status },
	{ .pattern = "rules check [<path>]", .method = "rules.check",
	  .help = "Compile a rule pack and run its tests in the sandbox; activates nothing.",
	  .show = show_rules_check },
	{ .pattern = "rules diff <path> [--at <time>]", .method = "rules.diff",
	  .help = "Show the records whose decision, state or deadlines would change under a candidate pack.",
	  .show = show_auto },
	{ .pattern = "rules reload [<path>]", .method = "rules.reload",
	  .help = "Validate, test and activate a rule pack (default: the live pack's folder);\n"
		  "on failure the old rules stay live.",
	  .show = show_rules_reload },
	{ .pattern = "rules history", .method = "rules.history",
	  .help = "List the activated rule-pack versions, newest first.",
	  .show = show_auto },
	{ .pattern = "rules rollback <version>", .method = "rules.rollback",
	  .help = "Re-activate a kept rule-pack version (validated like a reload).",
	  .show = show_auto },
	{ .pattern = "audit verify", .method = "audit.verify",
	  .help = "Check the hash chain of the audit log; exits 1 when it is broken.",
	  .show = show_audit },
	{ .pattern = "import <file> [--action <action>] [--per-row] [--format jsonl|csv] "
		     "[--encoding utf-8|shift_jis] [--max-bytes <n>]",
	  .method = "import",
	  .help = "Create records from a file (- for standard input), one per row, through the pack's\n"
		  "creating action (--action, default submit), in one request: all or nothing.  With\n"
		  "--per-row the good rows are written and the others reported.  The file is JSON lines\n"
		  "(one data object per line) or CSV: UTF-8 with or without BOM, or Shift_JIS as Excel\n"
		  "saves it; a header row of field paths (impact_assessment.result) or of headers\n"
		  "ending in one in parentheses (影響度評価の結果 (impact_assessment.result)); an empty\n"
		  "cell is an absent field, a cell {...} or [...] is that JSON, any other cell is text.\n"
		  "The columns id, kind, state, rev, created_at and updated_at are ignored: they belong\n"
		  "to the daemon.  A request over the daemon's line limit (--max-bytes, default 1 MiB)\n"
		  "is not sent; --per-row sends the rows in parts under it.  Failed rows are reported\n"
		  "by their line in the file (the header is line 1); exits 1 unless all were imported.",
	  .params = "{action, rows, atomic?}", .exec = exec_import },
	{ .pattern = "export [--kind <kind>] [--state <state>] [--format jsonl|csv]",
	  .method = "record.list",
	  .help = "Write every record (of --kind, in --state) to standard output: JSON lines, one\n"
		  "whole record per line (the default), or CSV (UTF-8 with BOM, CRLF): the columns id,\n"
		  "kind, state, rev, created_at, updated_at, then a column per data field, one level\n"
		  "down (impact_assessment.result), lists and deeper objects as JSON cells.  `import`\n"
		  "reads either back and recreates the data; the ids, states and history belong to\n"
		  "the daemon (for a whole copy, use backup).",
	  .params = "{kind?, state?, limit, after?}, every page", .exec = exec_export },
	{ .pattern = "backup <path>", .method = "backup",
	  .help = "Write a consistent hot copy of the database into a new or empty folder.",
	  .show = show_backup },
	{ .pattern = "metrics", .method = "metrics",
	  .help = "Print the Prometheus text exposition.",
	  .raw = true },
	{ .pattern = "clock set <now>", .method = "clock.set",
	  .help = "Set the clock of a daemon started with --test-clock to <now>, a <time>\n"
		  "(drills and tests only).",
	  .show = show_clock },
	{ .pattern = "call <method> [<params>]",
	  .help = "Call any method with params as JSON text, @file or - and print the raw result.",
	  .params = "params as given", .exec = exec_call },
	{ .pattern = "help [<command> ...]",
	  .help = "Show the usage of the commands that start with the given words.",
	  .params = "", .exec = exec_help },
	/* Hidden: what the build generates from this table (mk/completion.mk,
	 * mk/man.mk).  Only `liuctl help completion` and the like show them. */
	{ .pattern = "completion bash",
	  .help = "Print the bash completion script for liuctl, generated from its command table.",
	  .params = "", .hidden = true, .exec = exec_completion },
	{ .pattern = "manual scdoc",
	  .help = "Print the COMMANDS section of liuctl(1) in scdoc, generated from the command table.",
	  .params = "", .hidden = true, .exec = exec_manual },
	{ .pattern = NULL },
};

/* --- main ----------------------------------------------------------------- */

/* The entry whose words start argv, the longest such; NULL if none. */
static const struct cmd *cmd_find(int argc, char **argv)
{
	const struct cmd *best = NULL;
	size_t best_words = 0;
	for (const struct cmd *cmd = ctl_commands; cmd->pattern; cmd++) {
		struct tok t[TOKS_MAX];
		size_t n = pattern_parse(cmd->pattern, t, TOKS_MAX), w = 0;
		while (w < n && t[w].type == T_WORD && (int)w < argc && strcmp(t[w].name, argv[w]) == 0)
			w++;
		if (w > 0 && (w == n || t[w].type != T_WORD) && w > best_words) {
			best = cmd;
			best_words = w;
		}
	}
	return best;
}

static int unknown_command(int argc, char **argv)
{
	fputs("liuctl: unknown command:", stderr);
	for (int i = 0; i < argc && i < 3; i++) {
		fputc(' ', stderr);
		put_text(stderr, argv[i], false);
	}
	fputc('\n', stderr);
	/* `liuctl rules` alone: show the rules commands rather than all. */
	bool any = false;
	for (const struct cmd *cmd = ctl_commands; cmd->pattern; cmd++) {
		size_t n = strcspn(cmd->pattern, " ");
		if (strlen(argv[0]) == n && strncmp(cmd->pattern, argv[0], n) == 0) {
			if (!any)
				fputs("usage:\n", stderr);
			cmd_usage(stderr, cmd);
			any = true;
		}
	}
	if (!any)
		fputs("see liuctl --help for the commands\n", stderr);
	return ST_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "daemon-user", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { .fd = -1 };
	c.socket = getenv("LIUD_SOCKET");
	if (!c.socket || !*c.socket)
		c.socket = WIRE_DEFAULT_SOCKET;
	const char *daemon_user = getenv("LIUCTL_DAEMON_USER"), *daemon_from = "$LIUCTL_DAEMON_USER";
	if (daemon_user && !*daemon_user)
		daemon_user = NULL;
	int ch;
	/* "+": stop at the command, whose own options come after it. */
	while ((ch = getopt_long(argc, argv, "+s:u:jhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			c.socket = optarg;
			break;
		case 'u':
			daemon_user = optarg;
			daemon_from = "--daemon-user";
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return ST_OK;
		case 'V':
			puts("liuctl " LIUD_VERSION);
			return ST_OK;
		default:
			fputs("see liuctl --help\n", stderr);
			return ST_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return ST_USAGE;
	}
	if (ctl_daemon_user(&c, daemon_user, daemon_from) != ST_OK)
		return ST_USAGE;
	/* A daemon that goes away mid-request must give us EPIPE to report,
	 * not kill us silently. */
	signal(SIGPIPE, SIG_IGN);
	wire_buf_init(&c.in, REPLY_MAX);

	int st;
	const struct cmd *cmd = cmd_find(argc, argv);
	struct args a = { .cmd = cmd };
	if (!cmd) {
		st = unknown_command(argc, argv);
	} else {
		st = args_parse(&a, argc, argv, &c.json);
		if (st == ST_HELP) {
			fputs("usage:\n", stdout);
			cmd_usage(stdout, cmd);
			st = ST_OK;
		} else if (st == ST_OK) {
			st = cmd->exec ? cmd->exec(&c, &a) : exec_default(&c, &a);
		}
	}
	free(a.list);
	ctl_close(&c);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			fprintf(stderr, "liuctl: writing the output: %s\n", strerror(errno));
		if (st == ST_OK)
			st = ST_REPLY;
	}
	return st;
}
