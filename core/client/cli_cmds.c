/*
 * cli_cmds — the command table (see cli_cmds.h): one entry per method of
 * the socket protocol (docs/PROTOCOL.md), all of them in one table that
 * drives argument parsing, the mapping of arguments to params, and the usage
 * text, the way smtpctl's parser is driven by its cmd_install() patterns;
 * and the exec steps that tie a parse, a call and a printer together.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_call.h"
#include "cli_cmds.h"
#include "cli_doc.h"
#include "cli_import.h"
#include "cli_pattern.h"
#include "cli_print.h"
#include "cli_util.h"

/* --- exec: parse, call, print -------------------------------------------- */

/* One call, its result printed; the common case. */
static int exec_default(struct ctl *c, const struct args *a)
{
	json_t *params = json_object(), *out = NULL;
	int st = cli_build_params(a, params);
	if (st == ST_OK && a->cmd->build)
		st = a->cmd->build(a, params);
	if (st == ST_OK)
		st = cli_call(c, a->cmd->method, params, &out);
	if (st == ST_OK) {
		if (a->cmd->raw && json_is_string(out))
			/* CSV (with its BOM and CRLF) and Prometheus text are
			 * already in their final form, for --json too: add
			 * nothing, not even a newline. */
			fwrite(json_string_value(out), 1, json_string_length(out), stdout);
		else if (c->json || !a->cmd->show)
			cli_print_json(out);
		else
			st = a->cmd->show(a, out);
		/* A result that reports its own failure ("ok": false, a broken
		 * audit chain) fails the command, with --json too, so that a
		 * script checking the exit status is not misled. */
		if (json_is_false(json_object_get(out, "ok")))
			st = ST_REPLY;
	} else if (st == ST_REPLY) {
		cli_print_error(out);
	}
	json_decref(out);
	json_decref(params);
	return st;
}

/* record list, following `next` through every page with --all. */
static int exec_record_list(struct ctl *c, const struct args *a)
{
	json_t *params = json_object(), *all = NULL, *out = NULL;
	int st = cli_build_params(a, params);
	bool every = cli_arg(a, "all") != NULL;
	while (st == ST_OK) {
		st = cli_call(c, "record.list", params, &out);
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
		st = c->json ? (cli_print_json(all), ST_OK) : cli_show_record_list(a, all);
	else if (st == ST_REPLY)
		cli_print_error(out);
	json_decref(out);
	json_decref(all);
	json_decref(params);
	return st;
}

/* call METHOD [PARAMS]: the raw protocol, for methods liuctl does not know. */
static int exec_call(struct ctl *c, const struct args *a)
{
	json_t *params = NULL, *out = NULL;
	const char *p = cli_arg(a, "params");
	if (p && !(params = cli_load_json(a->cmd, "params", p)))
		return ST_USAGE;
	int st = cli_call(c, cli_arg(a, "method"), params, &out);
	if (st == ST_OK)
		cli_print_json(out);
	else if (st == ST_REPLY)
		cli_print_error(out);
	json_decref(out);
	json_decref(params);
	return st;
}

/* eval needs exactly one of a stored record and an inline one. */
static int build_eval(const struct args *a, json_t *params)
{
	if (!cli_arg(a, "id") == !cli_arg(a, "record"))
		return cli_usage_fail(a->cmd, "give a record id or --record, not both and not neither");
	return ST_OK;
}

/* The deadlines already enforced are left out unless --all asks. */
static int build_deadlines(const struct args *a, json_t *params)
{
	if (cli_arg(a, "all"))
		json_object_set_new(params, "all", json_true());
	return ST_OK;
}

/* --force asks for the version a rollback took out, on purpose. */
static int build_reload(const struct args *a, json_t *params)
{
	if (cli_arg(a, "force"))
		json_object_set_new(params, "force", json_true());
	return ST_OK;
}

/* --- the command table --------------------------------------------------- */

/*
 * One entry per command, in the order --help lists them.  The pattern says
 * the words, arguments and options (see cli.h); everything else about
 * a command is derived from it: parsing, params, usage, help, the bash
 * completion script and the man page's COMMANDS section.
 */
const struct cmd cli_commands[] = {
	{ .pattern = "status", .method = "status",
	  .help = "Show the daemon: version, uptime, rule pack, clock, record counts, next deadline.",
	  .show = cli_show_status },
	{ .pattern = "record get <id>", .method = "record.get",
	  .help = "Show one record: its fields, then its data.",
	  .show = cli_show_record },
	{ .pattern = "record list [--kind <kind>] [--state <state>] [--limit <n>] [--after <id>] [--all]",
	  .method = "record.list",
	  .help = "List records in id order (id, kind, state, updated, then the kind's summary fields),\n"
		 "one page (--limit, at most 1000), or every page with --all.",
	  .show = cli_show_record_list, .exec = exec_record_list },
	{ .pattern = "act <action> [<id>] [key=value ...] [--params <json|@file|->] [--if-rev <n>]",
	  .method = "act",
	  .help = "Run a rule-pack action in one durable write, e.g. `act submit --params @app.json`,\n"
		  "`act reject LIU-000001 reason=書類不備`; key=value pairs are merged over --params.",
	  .show = cli_show_act },
	{ .pattern = "eval [<id>] [--record <json|@file|->] [--at <time>]", .method = "eval",
	  .help = "Evaluate the requirements for a stored record, or one given with --record (read-only).",
	  .build = build_eval, .show = cli_show_eval },
	{ .pattern = "view <name> [--format json|csv|html] [key=value ...]", .method = "view",
	  .help = "Run a view of the rule pack; with --format csv the CSV (UTF-8 with BOM, CRLF), ready\n"
		  "for Excel, or with --format html a whole HTML page, is written as it is.",
	  .raw = true, .show = cli_show_view },
	{ .pattern = "history <id>", .method = "history",
	  .help = "Show the audit entries of one record, oldest first.",
	  .show = cli_show_history },
	{ .pattern = "deadlines [--limit <n>] [--all]", .method = "deadlines",
	  .help = "List the upcoming enforcements: time, measure, records affected\n"
		  "(--all: the enforced ones too).",
	  .params = "{limit?, all?}", .build = build_deadlines, .show = cli_show_deadlines },
	{ .pattern = "enforce", .method = "enforce",
	  .help = "Enforce what is due now (idempotent).",
	  .show = cli_show_enforce },
	{ .pattern = "rules status", .method = "rules.status",
	  .help = "Show the live rule pack: version, files, measures and their periods, actions, views.",
	  .show = cli_show_rules_status },
	{ .pattern = "rules check [<path>]", .method = "rules.check",
	  .help = "Compile a rule pack and run its tests in the sandbox; activates nothing.",
	  .show = cli_show_rules_check },
	{ .pattern = "rules diff <path> [--at <time>]", .method = "rules.diff",
	  .help = "Show the records whose decision, state or deadlines would change under a candidate\n"
		  "pack, then, apart, those whose checks would only be worded differently.",
	  .show = cli_show_rules_diff },
	{ .pattern = "rules reload [<path>] [--force]", .method = "rules.reload",
	  .help = "Validate, test and activate a rule pack (default: the folder given last, or at\n"
		  "start); on failure the old rules stay live.  After a rollback, the version it took\n"
		  "out is refused unless --force asks for it again.",
	  .params = "{path?, force?}", .build = build_reload, .show = cli_show_rules_reload },
	{ .pattern = "rules history", .method = "rules.history",
	  .help = "List the activated rule-pack versions, newest first.",
	  .show = cli_show_auto },
	{ .pattern = "rules rollback <version>", .method = "rules.rollback",
	  .help = "Re-activate a kept rule-pack version (validated like a reload).",
	  .show = cli_show_rules_reload },
	{ .pattern = "audit verify", .method = "audit.verify",
	  .help = "Check the hash chain of the audit log; exits 1 when it is broken.",
	  .show = cli_show_audit },
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
		  "by their line in the file (the header is line 1); exits 1 unless all were imported.\n"
		  "A row whose record is already there with the same content (the same service: the\n"
		  "kind's identity) is skipped and reported with that record's id, so that importing\n"
		  "a file again writes nothing new.",
	  .params = "{action, rows, atomic?}", .exec = cli_exec_import },
	{ .pattern = "export [--kind <kind>] [--state <state>] [--format jsonl|csv]",
	  .method = "record.list",
	  .help = "Write every record (of --kind, in --state) to standard output: JSON lines, one\n"
		  "whole record per line (the default), or CSV (UTF-8 with BOM, CRLF): the columns id,\n"
		  "kind, state, rev, created_at, updated_at, then a column per data field, one level\n"
		  "down (impact_assessment.result), lists and deeper objects as JSON cells.  `import`\n"
		  "reads either back and recreates the data; the ids, states and history belong to\n"
		  "the daemon (for a whole copy, use backup).  A stored record the daemon cannot read\n"
		  "is skipped: its id is named on standard error, the export goes on, and liuctl exits\n"
		  "1 at the end (0 when every record was written).",
	  .params = "{kind?, state?, limit, after?}, every page", .exec = cli_exec_export },
	{ .pattern = "backup <path>", .method = "backup",
	  .help = "Write a consistent hot copy of the database into a new or empty folder.",
	  .show = cli_show_backup },
	{ .pattern = "metrics", .method = "metrics",
	  .help = "Print the Prometheus text exposition.",
	  .raw = true },
	{ .pattern = "clock set <now>", .method = "clock.set",
	  .help = "Set the clock of a daemon started with --test-clock to <now>, a <time>\n"
		  "(drills and tests only).",
	  .show = cli_show_clock },
	{ .pattern = "call <method> [<params>]",
	  .help = "Call any method with params as JSON text, @file or - and print the raw result.",
	  .params = "params as given", .exec = exec_call },
	{ .pattern = "help [<command> ...]",
	  .help = "Show the usage of the commands that start with the given words.",
	  .params = "", .exec = cli_exec_help },
	/* Hidden: what the build generates from this table (mk/completion.mk,
	 * mk/man.mk).  Only `liuctl help completion` and the like show them. */
	{ .pattern = "completion bash",
	  .help = "Print the bash completion script for liuctl, generated from its command table.",
	  .params = "", .hidden = true, .exec = cli_exec_completion },
	{ .pattern = "manual scdoc",
	  .help = "Print the COMMANDS section of liuctl(1) in scdoc, generated from the command table.",
	  .params = "", .hidden = true, .exec = cli_exec_manual },
	{ .pattern = NULL },
};

int cli_exec(struct ctl *c, const struct args *a)
{
	return a->cmd->exec ? a->cmd->exec(c, a) : exec_default(c, a);
}
