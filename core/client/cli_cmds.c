/*
 * cli_cmds — the command table (see cli_cmds.h): one entry per method of
 * the socket protocol (docs/PROTOCOL.md), all of them in one table that
 * drives argument parsing, the mapping of arguments to params, and the usage
 * text, the way smtpctl's parser is driven by its cmd_install() patterns;
 * and the exec steps that tie a parse, a call and a printer together.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_call.h"
#include "cli_cmds.h"
#include "cli_doc.h"
#include "cli_import.h"
#include "cli_pager.h"
#include "cli_pattern.h"
#include "cli_print.h"
#include "cli_table.h"
#include "cli_util.h"

/* --- exec: parse, call, print -------------------------------------------- */

/*
 * A rules command refused because the daemon found no pack at a path that
 * exists here: the daemon sees another file system than the user, as under
 * the systemd unit's sandbox (its own /tmp, no /home or /root).  Says so and
 * where to put the candidate, after the error itself.
 */
static bool sandbox_hidden(const char *path)
{
	/* What the unit's PrivateTmp= and ProtectHome= take from the daemon; a
	 * path elsewhere that it cannot read is a plain permission problem,
	 * which the daemon's own message already names. */
	static const char *const hidden[] = { "/tmp/", "/var/tmp/", "/home/", "/root/", "/run/user/" };
	char real[PATH_MAX];
	const char *p = realpath(path, real) ? real : path;
	for (size_t i = 0; i < sizeof hidden / sizeof *hidden; i++)
		if (strncmp(p, hidden[i], strlen(hidden[i])) == 0)
			return true;
	return false;
}

static void hint_hidden_path(const char *method, const json_t *params, const json_t *err)
{
	const char *path = cli_jstr(params, "path");
	const char *msg = cli_jstr(err, "message");
	struct stat sb;
	if (strncmp(method, "rules.", 6) != 0 || !path || !msg || stat(path, &sb) < 0 ||
	    (!strstr(msg, strerror(ENOENT)) && !strstr(msg, strerror(EACCES))) || !sandbox_hidden(path))
		return;
	fputs("liuctl: ", stderr);
	cli_put_text(stderr, path, false);
	fputs(" exists here, but not for the daemon, which sees the file system its service gives "
	      "it: liud.service has its own /tmp (PrivateTmp=) and no /home or /root (ProtectHome=). "
	      "Copy the candidate beside the live pack, into " LIUCTL_RULES_DIR " (writable by "
	      "policy staff; docs/OPERATIONS.md), and give that path.\n"
	      "liuctl: このパスは利用者からは見えますが、デーモンからは見えません（liud.service は"
	      "独自の /tmp を持ち、/home 及び /root を参照できません）。候補のルールパックを稼働中の"
	      "パックと同じ " LIUCTL_RULES_DIR " に複製し、そのパスを指定してください。\n", stderr);
}

/* Whether `view --format F` is the daemon's to write (CSV, HTML), as it
 * is, rather than liuctl's table. */
static bool daemon_format(const struct args *a)
{
	const char *f = cli_arg(a, "format");
	return a->cmd->raw && f && (strcmp(f, "html") == 0 || (strcmp(f, "csv") == 0 && !cli_arg(a, "columns")));
}

/* The options that are liuctl's own (how a table prints), not params. */
static void strip_client_options(const struct args *a, json_t *params)
{
	if (!a->cmd->table)
		return;
	json_object_del(params, "columns");
	json_object_del(params, "sort");
	if (!daemon_format(a))
		json_object_del(params, "format");
}

/* The call with params built, its result printed.  Takes params. */
static int call_and_show(struct ctl *c, const struct args *a, json_t *params, int st)
{
	json_t *out = NULL;
	if (st == ST_OK)
		st = cli_call(c, a->cmd->method, params, &out);
	if (st == ST_OK) {
		if (a->cmd->raw && json_is_string(out) && (!a->cmd->table || daemon_format(a)))
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
		hint_hidden_path(a->cmd->method, params, out);
	}
	json_decref(out);
	json_decref(params);
	return st;
}

/* One call, its result printed; the common case. */
static int exec_default(struct ctl *c, const struct args *a)
{
	json_t *params = json_object();
	int st = cli_build_params(a, params);
	strip_client_options(a, params);
	if (st == ST_OK && a->cmd->build)
		st = a->cmd->build(a, params);
	return call_and_show(c, a, params, st);
}

/* The field of a kind's fields (rules.status) at the dotted path key, or
 * NULL: objects' fields and a list's items' fields are looked into. */
static json_t *field_at(json_t *fields, const char *key, size_t len)
{
	json_t *f = NULL;
	const char *p = key, *end = key + len;
	while (p < end && fields) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
		size_t i;
		json_t *x;
		f = NULL;
		json_array_foreach(fields, i, x) {
			const char *id = cli_jstr(x, "id");
			if (id && strlen(id) == n && strncmp(id, p, n) == 0)
				f = x;
		}
		if (!f || !dot)
			return f;
		fields = json_object_get(f, "fields");
		if (!fields)
			fields = json_object_get(json_object_get(f, "of"), "fields");
		p = dot + 1;
	}
	return NULL;
}

/* Sets params[a][b] = v for the dotted key (the objects exist: the pair
 * made them).  Takes ownership of v. */
static void set_typed(json_t *pp, const char *key, size_t len, json_t *v)
{
	const char *dot;
	while (pp && (dot = memchr(key, '.', len))) {
		char *part = strndup(key, (size_t)(dot - key));
		pp = json_object_get(pp, part);
		free(part);
		len -= (size_t)(dot - key) + 1;
		key = dot + 1;
	}
	char *last = strndup(key, len);
	if (json_is_object(pp) && last)
		json_object_set_new(pp, last, v);
	else
		json_decref(v);
	free(last);
}

/*
 * A pair typed by the kind's declared field: a field of text, date, month
 * or an enumeration gets the text typed (a 法人番号 or 0042 stays as
 * written), an integer field "0042" as 42; other fields as the pair reads.
 */
static void retype_by_field(json_t *pp, json_t *fields, const char *pair)
{
	const char *eq = strchr(pair, '=');
	if (!eq || !fields)
		return;
	json_t *f = field_at(fields, pair, (size_t)(eq - pair));
	const char *type = cli_jstr_or(f, "type", "");
	json_t *v = NULL;
	if (!strcmp(type, "text") || !strcmp(type, "date") || !strcmp(type, "month") || !strcmp(type, "enum")) {
		v = json_string(eq + 1);
	} else if (!strcmp(type, "integer")) {
		char *end;
		errno = 0;
		long long n = strtoll(eq + 1, &end, 10);
		if (!errno && end != eq + 1 && !*end)
			v = json_integer(n);
	}
	if (v)
		set_typed(pp, pair, (size_t)(eq - pair), v);
}

/* The length of the part of a dotted key (len bytes) that names a field
 * of type map (statement.controls in statement.controls.9.4.2.2), or 0
 * when no part before its last does. */
static size_t map_prefix(json_t *fields, const char *key, size_t len)
{
	for (const char *d = memchr(key, '.', len); d; d = memchr(d + 1, '.', len - (size_t)(d + 1 - key))) {
		json_t *f = field_at(fields, key, (size_t)(d - key));
		if (!f)
			return 0;
		if (strcmp(cli_jstr_or(f, "type", ""), "map") == 0)
			return (size_t)(d - key);
	}
	return 0;
}

/* The value at the dotted key (len bytes) under o, or NULL.  Borrowed. */
static json_t *value_at(json_t *o, const char *key, size_t len)
{
	const char *end = key + len;
	while (o && key < end) {
		const char *dot = memchr(key, '.', (size_t)(end - key));
		size_t n = dot ? (size_t)(dot - key) : (size_t)(end - key);
		char *part = strndup(key, n);
		o = part ? json_object_get(o, part) : NULL;
		free(part);
		key += n + 1;
	}
	return o;
}

/*
 * A map's keys are the pack's and may hold dots (a control's identifier,
 * 9.4.2.2): a pair whose dotted key reaches a field the kind declares as a
 * map takes the rest of the key as one key of that map, not as objects
 * inside it.  The pairs were nested part by part (cli_build_params); each
 * such value is moved up, the first nested object it made dropped (after
 * every value is taken: two pairs may share it).
 */
struct map_move {
	json_t *map;  /* borrowed: the map's object in params */
	char *first;  /* the first part of the rest, the object set_path made */
	char *key;    /* the rest, whole */
	json_t *v;    /* a reference */
};
static void map_keys(json_t *pp, json_t *fields, const struct args *a)
{
	struct map_move *mv = cli_xrealloc(NULL, (a->nlist + 1) * sizeof *mv);
	size_t n = 0;
	for (size_t k = 0; k < a->nlist; k++) {
		const char *pair = a->list[k], *eq = strchr(pair, '=');
		size_t len = eq ? (size_t)(eq - pair) : 0, at = eq ? map_prefix(fields, pair, len) : 0;
		const char *rest = pair + at + 1;
		size_t rlen = len - at - 1;
		if (at == 0 || !memchr(rest, '.', rlen))
			continue;
		json_t *map = value_at(pp, pair, at), *v = value_at(map, rest, rlen);
		if (!json_is_object(map) || !v)
			continue;
		mv[n].map = map;
		mv[n].first = strndup(rest, (size_t)((const char *)memchr(rest, '.', rlen) - rest));
		mv[n].key = strndup(rest, rlen);
		mv[n].v = json_incref(v);
		n++;
	}
	for (size_t i = 0; i < n; i++)
		if (mv[i].first)
			json_object_del(mv[i].map, mv[i].first);
	for (size_t i = 0; i < n; i++) {
		if (mv[i].key)
			json_object_set(mv[i].map, mv[i].key, mv[i].v);
		json_decref(mv[i].v);
		free(mv[i].first);
		free(mv[i].key);
	}
	free(mv);
}

/* "a, b,c" as ["a", "b", "c"]: empty parts left out.  A new array. */
static json_t *comma_list(const char *s)
{
	json_t *out = json_array();
	while (*s) {
		size_t n = strcspn(s, ",");
		const char *b = s, *e = s + n;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > b)
			json_array_append_new(out, json_stringn(b, (size_t)(e - b)));
		s += n + (s[n] == ',');
	}
	return out;
}

/*
 * act with key=value pairs: a pair whose key the action declares as text
 * (params = { { id = ..., type = "text" } } in the pack, from rules.status)
 * is sent as the text typed, whatever JSON it would read as: reason=404,
 * a 法人番号 of 9 digits or fewer, true as a word; a pair naming a field the
 * action's kind declares (kind{fields}) is typed by that field, and one
 * reaching into a map keeps the rest of its key whole (map_keys).  A daemon
 * that does not answer rules.status leaves the pairs as they read.
 */
static int retype_pairs(struct ctl *c, const struct args *a, json_t *params)
{
	json_t *st = NULL, *pp = json_object_get(params, "params");
	const char *action = json_string_value(json_object_get(params, "action"));
	if (a->nlist == 0 || !json_is_object(pp) || !action)
		return ST_OK;
	int rc = cli_call(c, "rules.status", NULL, &st);
	if (rc == ST_CONNECT)
		return rc;
	json_t *act = rc == ST_OK ? json_object_get(json_object_get(st, "actions"), action) : NULL;
	json_t *decl = json_object_get(act, "params");
	json_t *fields = json_object_get(json_object_get(json_object_get(st, "kinds"),
					 cli_jstr_or(act, "kind", "")), "fields");
	if (fields)
		map_keys(pp, fields, a);
	for (size_t k = 0; k < a->nlist; k++)
		retype_by_field(pp, fields, a->list[k]);
	size_t i;
	json_t *p;
	json_array_foreach(decl, i, p) {
		const char *id = cli_jstr(p, "id"), *type = cli_jstr_or(p, "type", "");
		bool text = strcmp(type, "text") == 0, list = strcmp(type, "list") == 0;
		if (!id || !(text || list))
			continue;
		for (size_t k = 0; k < a->nlist; k++) {
			const char *eq = strchr(a->list[k], '=');
			if (!eq || (size_t)(eq - a->list[k]) != strlen(id) || strncmp(a->list[k], id, strlen(id)) != 0)
				continue;
			/* A list typed as words: clear=certifications,pledge. */
			json_t *v = text ? json_string(eq + 1)
				 : json_is_string(json_object_get(pp, id)) ? comma_list(eq + 1) : NULL;
			if (v)
				json_object_set_new(pp, id, v);
		}
	}
	json_decref(st);
	return ST_OK;
}

/* Merges `from` into `into`, objects member by member, any other value
 * replacing the one there. */
static void merge_into(json_t *into, json_t *from)
{
	const char *k;
	json_t *v;
	json_object_foreach(from, k, v) {
		json_t *was = json_object_get(into, k);
		if (json_is_object(was) && json_is_object(v))
			merge_into(was, v);
		else
			json_object_set(into, k, v);
	}
}

/*
 * A dotted pair on a stored record changes that member only:
 * `act amend LIU-000327 impact_assessment.assessed_on=2023-07-01` sends
 * the stored impact_assessment with assessed_on replaced (the action
 * replaces a top-level field whole).  The record is read first and the
 * act sent with if_rev at the revision read (unless --if-rev was given),
 * so that a change made between is not lost but refused as a conflict.
 */
static int merge_dotted(struct ctl *c, const struct args *a, json_t *params)
{
	json_t *pp = json_object_get(params, "params");
	const char *id = cli_jstr(params, "id");
	json_t *tops = json_object();
	for (size_t k = 0; k < a->nlist; k++) {
		const char *eq = strchr(a->list[k], '='), *dot = strchr(a->list[k], '.');
		if (eq && dot && dot < eq) {
			char *top = strndup(a->list[k], (size_t)(dot - a->list[k]));
			if (top)
				json_object_set_new(tops, top, json_true());
			free(top);
		}
	}
	int st = ST_OK;
	json_t *got = NULL;
	if (id && json_is_object(pp) && json_object_size(tops) > 0) {
		json_t *q = json_pack("{s:s}", "id", id);
		st = cli_call(c, "record.get", q, &got);
		json_decref(q);
		if (st == ST_REPLY) {
			cli_print_error(got);
		} else if (st == ST_OK) {
			json_t *data = json_object_get(got, "data"), *v;
			const char *top;
			json_object_foreach(tops, top, v) {
				json_t *stored = json_object_get(data, top), *given = json_object_get(pp, top);
				if (!json_is_object(stored) || !json_is_object(given))
					continue;
				json_t *merged = json_deep_copy(stored);
				merge_into(merged, given);
				json_object_set_new(pp, top, merged);
			}
			if (!json_object_get(params, "if_rev") && json_is_integer(json_object_get(got, "rev")))
				json_object_set(params, "if_rev", json_object_get(got, "rev"));
		}
	}
	json_decref(got);
	json_decref(tops);
	return st;
}

static int exec_act(struct ctl *c, const struct args *a)
{
	json_t *params = json_object();
	int st = cli_build_params(a, params);
	if (st == ST_OK)
		st = retype_pairs(c, a, params);
	if (st == ST_OK)
		st = merge_dotted(c, a, params);
	return call_and_show(c, a, params, st);
}

/* --output is the client's: not a param of the view. */
static int build_view(const struct args *a, json_t *params)
{
	json_object_del(params, "output");
	return ST_OK;
}

/* view: --format xlsx is the client's own (cli_xlsx_view); --output
 * writes the other formats to a file. */
static int exec_view(struct ctl *c, const struct args *a)
{
	const char *format = cli_arg(a, "format"), *output = cli_arg(a, "output");
	if (format && strcmp(format, "xlsx") == 0)
		return cli_exec_view_xlsx(c, a);
	if (output && !freopen(output, "w", stdout)) {
		fputs("liuctl: cannot write ", stderr);
		cli_put_text(stderr, output, false);
		fprintf(stderr, ": %s\n", strerror(errno));
		return ST_USAGE;
	}
	return exec_default(c, a);
}

/* Cuts a sorted list to --limit: the reply's "matched" says how many
 * there were. */
static int cut_to_limit(const struct args *a, json_t *all)
{
	const char *lim = cli_arg(a, "limit");
	json_t *records = json_object_get(all, "records");
	long n = lim ? strtol(lim, NULL, 10) : 0;
	if (n <= 0 || (size_t)n >= json_array_size(records))
		return ST_OK;
	json_object_set_new(all, "matched", json_integer((json_int_t)json_array_size(records)));
	while (json_array_size(records) > (size_t)n)
		json_array_remove(records, json_array_size(records) - 1);
	return ST_OK;
}

/* record list, following `next` through every page with --all.  With
 * --sort: every matching record, in pages of the most the daemon gives,
 * sorted (table and --json alike), then the first --limit of them. */
static int exec_record_list(struct ctl *c, const struct args *a)
{
	json_t *params = json_object(), *all = NULL, *out = NULL;
	int st = cli_build_params(a, params);
	strip_client_options(a, params);
	const char *by = cli_arg(a, "sort");
	/* A sort is of every record that matches: all the pages. */
	bool every = cli_arg(a, "all") != NULL || by != NULL;
	if (by)
		json_object_set_new(params, "limit", json_integer(1000));
	/* The DECISION column: eval's, which the daemon adds per record. */
	if (!c->json)
		json_object_set_new(params, "decisions", json_true());
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
			json_t *dec = json_object_get(out, "decisions");
			if (json_is_object(dec) && json_is_object(json_object_get(all, "decisions")))
				json_object_update(json_object_get(all, "decisions"), dec);
			json_object_set(all, "next", next);
		}
		/* A filtered page may hold none and still say "more"; one
		 * that says "more" after where it started would loop
		 * forever. */
		const char *was = cli_jstr(params, "after");
		if (!every || !json_is_string(next) || (got == 0 && was && !strcmp(was, json_string_value(next))))
			break;
		json_object_set(params, "after", next);
		json_decref(out);
		out = NULL;
	}
	if (st == ST_OK && by) {
		json_object_del(all, "next");
		st = cli_record_list_sort(by, all);
		if (st == ST_OK)
			st = cut_to_limit(a, all);
	}
	if (st == ST_OK)
		st = c->json ? (json_object_del(all, "matched"), cli_print_json(all), ST_OK)
			     : cli_show_record_list(a, all);
	else if (st == ST_REPLY)
		cli_print_error(out);
	json_decref(out);
	json_decref(all);
	json_decref(params);
	return st;
}

/*
 * record get: without --full (and --json), a summary: the record with the
 * lines its kind's summary gives (record.get with summary), then eval's
 * answer for it.  The pack writes both; the client names no field.  A
 * peer not allowed eval, or a pack that fails on the record, still gets
 * the rest, and the reason eval gave.
 */
static int exec_record_get(struct ctl *c, const struct args *a)
{
	json_t *params = json_object(), *got = NULL, *ev = NULL;
	int st = cli_build_params(a, params);
	json_object_del(params, "full");
	bool whole = c->json || cli_arg(a, "full");
	if (!whole)
		json_object_set_new(params, "summary", json_true());
	if (st == ST_OK)
		st = cli_call(c, "record.get", params, &got);
	if (st == ST_REPLY)
		cli_print_error(got);
	if (st == ST_OK && whole) {
		if (c->json)
			cli_print_json(got);
		else
			st = cli_show_record(a, got);
	} else if (st == ST_OK) {
		json_object_del(params, "summary");
		int est = cli_call(c, "eval", params, &ev);
		const char *why = NULL;
		if (est == ST_REPLY)
			why = cli_jstr(ev, "message");
		else if (est != ST_OK)
			st = est;
		if (st == ST_OK)
			st = cli_show_record_summary(a, json_object_get(got, "record"),
						     json_object_get(got, "summary"),
						     est == ST_OK ? ev : NULL, why ? why : "not evaluated");
	}
	json_decref(ev);
	json_decref(got);
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
	{ .pattern = "record get <id> [--full]", .method = "record.get",
	  .help = "Show one record: a summary first (its id, state and dates, the lines the rule\n"
		  "pack sums it up in, then eval's decision, the checks not met and the pack's eval\n"
		  "summaries); --full shows every field and the whole data, keys in sorted order\n"
		  "(--json: the record as JSON).",
	  .params = "{id, summary: true}, then eval {id}", .paged = true, .show = cli_show_record, .exec = exec_record_get },
	{ .pattern = "record list [--kind <kind>] [--state <state>] [--search <text>] [--decision eligible|ineligible] "
		     "[--from <time>] [--to <time>] [--date created|updated] [--sort <column>] [--limit <n>] "
		     "[--after <id>] [--all] [--format table|tsv|csv|json] [--columns <list>]",
	  .method = "record.list",
	  .help = "List records in id order (id, kind, state, updated, then the kind's summary fields,\n"
		  "and eval's decision now), one page (--limit, at most 1000), or every page with --all.\n"
		  "--search finds a text in the id and the data fields the pack names for search\n"
		  "(a kind's search_fields), without regard to case or full and half width;\n"
		  "--decision, --from and --to (days included: 2024-06-01, 2024/6/1 or 和暦) on the\n"
		  "date the record was created (--date updated: last changed) narrow the list\n"
		  "further.  --state takes a state or its title (確認済み).  --sort orders every\n"
		  "matching record by a column (-updated: newest first), then keeps the first\n"
		  "--limit.  An unknown kind or state is an error.",
	  .params = "{kind?, state?, search?, decision?, from?, to?, date?, limit?, after?, decisions}",
	  .table = true, .show = cli_show_record_list, .exec = exec_record_list },
	{ .pattern = "act <action> [<id>] [key=value ...] [--params <json|@file|->] [--if-rev <n>]",
	  .method = "act",
	  .help = "Run a rule-pack action in one durable write, e.g. `act submit --params @app.json`,\n"
		  "`act reject LIU-000001 reason=書類不備`; key=value pairs are merged over --params.\n"
		  "A dotted key sets a nested field (impact_assessment.result=low); on a stored\n"
		  "record it changes that member only: liuctl reads the record, sends the stored\n"
		  "object with the member replaced, and --if-rev at the revision read (a change\n"
		  "made in between is refused as a conflict, not lost).  Digits alone longer than 9\n"
		  "(a 13-digit 法人番号) stay text.  `act --help` also lists the live pack's actions\n"
		  "and their params, asked of the daemon (`act <action> --help`: that action alone,\n"
		  "its params with their labels and types); a param the pack declares as text is sent\n"
		  "as typed, one declared as a list may be given as words with commas (clear=a,b),\n"
		  "and a field its kind declares is typed by the declaration (code=0042 stays text\n"
		  "for a text field, is 42 for an integer).  Past a field declared as a map, the\n"
		  "rest of a dotted key is one key of the map, dots and all:\n"
		  "statement.controls.9.4.2.2=met sets the control 9.4.2.2.",
	  .show = cli_show_act, .exec = exec_act },
	{ .pattern = "eval [<id>] [--record <json|@file|->] [--at <time>]", .method = "eval",
	  .help = "Evaluate the requirements for a stored record, or one given with --record (read-only).",
	  .paged = true, .build = build_eval, .show = cli_show_eval },
	{ .pattern = "view <name> [--format table|tsv|csv|json|html|xlsx] [--columns <list>] [--output <file>] [key=value ...]",
	  .method = "view",
	  .help = "Run a view of the rule pack; with --format csv the daemon's CSV (UTF-8 with BOM,\n"
		  "CRLF), ready for Excel, or with --format html a whole HTML page, is written as it\n"
		  "is; --columns (by column id or header) picks columns of the table, TSV or CSV.  With\n"
		  "--format xlsx --output FILE, an Excel workbook: the handling marking, a column per\n"
		  "language where the view's cells differ (Japanese, then English), text cells as text.",
	  .params = "{name, format? (csv, html), params?} (--format xlsx: the view in each language, as JSON)",
	  .raw = true, .table = true, .show = cli_show_view, .build = build_view, .exec = exec_view },
	{ .pattern = "history <id>", .method = "history",
	  .help = "Show the audit entries of one record, oldest first.",
	  .paged = true, .show = cli_show_history },
	{ .pattern = "deadlines [--limit <n>] [--all] [--format table|tsv|csv|json] [--columns <list>]", .method = "deadlines",
	  .help = "List the upcoming enforcements: time, measure, records affected\n"
		  "(--all: the enforced ones too).",
	  .params = "{limit?, all?}", .table = true, .build = build_deadlines, .show = cli_show_deadlines },
	{ .pattern = "enforce", .method = "enforce",
	  .help = "Enforce what is due now (idempotent).",
	  .show = cli_show_enforce },
	{ .pattern = "rules status [--format table|tsv|csv|json] [--columns <list>]", .method = "rules.status",
	  .help = "Show the live rule pack: version, files, measures and their periods, actions, views.\n"
		  "With --format tsv|csv the tables alone are on standard output (each with its header\n"
		  "row, a blank line between them), the pack's version, files and stats on standard error.",
	  .params = "", .table = true, .show = cli_show_rules_status },
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
	{ .pattern = "rules history [--format table|tsv|csv|json] [--columns <list>]", .method = "rules.history",
	  .help = "List the activated rule-pack versions, newest first.  With --format tsv|csv the\n"
		  "table alone is on standard output, the live version on standard error.",
	  .params = "", .table = true, .show = cli_show_auto },
	{ .pattern = "rules rollback <version>", .method = "rules.rollback",
	  .help = "Re-activate a kept rule-pack version (validated like a reload).",
	  .show = cli_show_rules_reload },
	{ .pattern = "audit verify [--head <seq:hash>]", .method = "audit.verify",
	  .help = "Check the hash chain of the audit log, then every record against the digest in its\n"
		  "last audit entry (records whose entries predate digests are counted, checked by the\n"
		  "chain only).  --head takes a head the daemon logged earlier (\"audit: head=SEQ:HASH\")\n"
		  "and proves that entry is still in the chain with that hash: cutting entries off the\n"
		  "end and rewriting the head is caught this way only.  Exits 1 when anything fails.",
	  .show = cli_show_audit },
	{ .pattern = "import <file> [--action <action>] [--per-row] [--format jsonl|csv|xlsx] "
		     "[--encoding utf-8|shift_jis] [--max-bytes <n>] [--ignore-columns]",
	  .method = "import",
	  .help = "Create records from a file (- for standard input), one per row, through the pack's\n"
		  "creating action (--action, default submit): all or nothing.  With --per-row the\n"
		  "good rows are written and the others reported.  The file is JSON lines (one data\n"
		  "object per line), CSV (UTF-8 with or without BOM, or Shift_JIS as Excel saves it) or\n"
		  "an Excel workbook (.xlsx: its first sheet).  A sheet may start with the handling\n"
		  "marking the export writes; then a header row of field paths\n"
		  "(impact_assessment.result), of the labels of the pack's sheet (影響度評価の結果), or\n"
		  "of headers ending in a path in parentheses, as export writes them.  Labels are\n"
		  "compared width-, case- and space-insensitively (NFKC: ｻｰﾋﾞｽ名 is サービス名), and a\n"
		  "label may carry a note in brackets (法人番号（13桁）).  A column that names nothing\n"
		  "of the pack's sheet refuses the import, naming the closest label, unless\n"
		  "--ignore-columns leaves such columns out (a path the pack records itself, as\n"
		  "export writes it after the sheet's columns, is left out with a note).  An empty cell is\n"
		  "an absent field, a cell {...} or [...] is that JSON, any other cell is text (digits\n"
		  "too); a field of the pack's choices takes its code or either label, compared as\n"
		  "labels are (ＬＯＷ and 低位 are low).  The columns id, kind, state, rev, created_at\n"
		  "and updated_at are ignored: they\n"
		  "belong to the daemon.  A file over the daemon's line limit (--max-bytes, default\n"
		  "1 MiB) is checked whole first, then sent in parts (progress on a terminal); nothing\n"
		  "is written while any row fails.  Failed rows are reported by their line in the file\n"
		  "(the header's line counted); exits 1 unless all were imported.  A row whose record\n"
		  "is already there with the same content (the same service: the kind's identity) is\n"
		  "skipped and reported with that record's id, so that importing a file again writes\n"
		  "nothing new.",
	  .params = "{action, rows, atomic?}", .exec = cli_exec_import },
	{ .pattern = "export [--kind <kind>] [--state <state>] [--format jsonl|csv|xlsx] [--output <file>]",
	  .method = "record.list",
	  .help = "Write every record (of --kind, in --state) to standard output or --output (-o):\n"
		  "JSON lines, one whole record per line (the default); CSV (UTF-8 with BOM, CRLF); or an\n"
		  "Excel workbook (--format xlsx, needs --output).  A sheet starts with the kind's\n"
		  "handling marking, then a header row \"日本語 / English (path)\": the columns id, kind,\n"
		  "state, rev, created_at, updated_at, then the columns of the kind's sheet in the\n"
		  "pack's order, then any other data field by its path, labelled as the pack labels\n"
		  "what it records itself (確認日 / Confirmed on (confirmed_on)); a field one level\n"
		  "down is a column (impact_assessment.result), lists and deeper objects JSON cells.  A\n"
		  "labelled value has a column per language, side by side: a field of the pack's\n"
		  "choices its Japanese label (低位) headed \"影響度評価の結果 (impact_assessment.result)\"\n"
		  "and its English one (low) headed \"Result of the impact assessment\n"
		  "(impact_assessment.result)\"; the state its titles likewise.  import reads the first\n"
		  "and the other where the first is empty (both given and different: the first, with a\n"
		  "note on standard error).  Text stays text: in the workbook every text cell is formatted as text, and in the CSV a text\n"
		  "Excel would turn into a number or a date (a 法人番号, 2024-10) is written =\"…\".\n"
		  "`import` reads each back and recreates the data; the ids, states and history belong\n"
		  "to the daemon (for a whole copy, use backup).  A stored record the daemon cannot\n"
		  "read is skipped: its id is named on standard error, the export goes on, and liuctl\n"
		  "exits 1 at the end (0 when every record was written).",
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

/* How a table command prints (--format, --columns): into the table
 * module's settings, or --format json as --json.  ST_OK or ST_USAGE. */
static int table_output(struct ctl *c, const struct args *a)
{
	const char *f = cli_arg(a, "format"), *cols = cli_arg(a, "columns");
	enum cli_format fmt = CLI_TABLE;
	if (!f || strcmp(f, "table") == 0)
		fmt = CLI_TABLE;
	else if (strcmp(f, "tsv") == 0)
		fmt = CLI_TSV;
	else if (strcmp(f, "csv") == 0)
		fmt = CLI_CSV;
	else if (strcmp(f, "json") == 0)
		c->json = true;
	else if (!(a->cmd->raw && (strcmp(f, "html") == 0 || strcmp(f, "xlsx") == 0)))
		return a->cmd->raw ? cli_usage_fail(a->cmd, "--format %s: use table, tsv, csv, json, html or xlsx", f)
				   : cli_usage_fail(a->cmd, "--format %s: use table, tsv, csv or json", f);
	if (cols && daemon_format(a))
		return cli_usage_fail(a->cmd, "--columns does not apply to --format %s", f);
	/* JSON is the daemon's whole result, typed: nothing to pick columns
	 * from, and an option silently ignored reads as one obeyed. */
	if (cols && c->json)
		return cli_usage_fail(a->cmd, "--columns does not apply to JSON (the whole result); "
					      "pick columns with --format tsv or csv");
	cli_table_output(fmt, c->json ? NULL : cols, fmt == CLI_TABLE ? cli_term_width() : 0);
	return ST_OK;
}

/* Standard output held back in a temporary file while a command runs
 * with --columns: whether every name given is a column is known only once
 * its tables are printed, and a name that is none is a usage error with
 * nothing printed, not a partial table a redirect would keep as the list
 * asked for.  NULL when it cannot be held (it is then printed as it goes). */
static FILE *hold_output(int *saved)
{
	fflush(stdout);
	FILE *t = tmpfile();
	if (!t)
		return NULL;
	*saved = dup(STDOUT_FILENO);
	if (*saved < 0 || dup2(fileno(t), STDOUT_FILENO) < 0) {
		if (*saved >= 0)
			close(*saved);
		fclose(t);
		return NULL;
	}
	return t;
}

/* Standard output back where it was; what was held written to it if keep. */
static void release_output(FILE *t, int saved, bool keep)
{
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	if (keep) {
		char buf[65536];
		size_t n;
		rewind(t);
		while ((n = fread(buf, 1, sizeof buf, t)) > 0)
			fwrite(buf, 1, n, stdout);
		fflush(stdout);
	}
	fclose(t);
}

int cli_exec(struct ctl *c, const struct args *a)
{
	int st = ST_OK;
	if (a->cmd->table)
		st = table_output(c, a);
	else
		cli_table_output(CLI_TABLE, NULL, c->json ? 0 : cli_term_width());
	if (st != ST_OK)
		return st;
	/* A pager for people, not for JSON or a format another program reads. */
	if ((a->cmd->table || a->cmd->paged) && !c->no_pager && !c->json &&
	    cli_table_format() == CLI_TABLE && !daemon_format(a))
		cli_pager_start();
	int saved = -1;
	FILE *held = a->cmd->table && cli_arg(a, "columns") && !c->json ? hold_output(&saved) : NULL;
	st = a->cmd->exec ? a->cmd->exec(c, a) : exec_default(c, a);
	const char *miss = cli_table_unmatched();
	if (st == ST_OK && miss && !c->json) {
		fprintf(stderr, "liuctl: --columns: no column ");
		cli_put_text(stderr, miss, false);
		fprintf(stderr, " in what %s prints\n", a->cmd->method ? a->cmd->method : "the command");
		st = ST_USAGE;
	}
	if (held)
		release_output(held, saved, st != ST_USAGE);
	cli_pager_end();
	return st;
}

/* act --help: the pack's actions; act <action> --help: that one (NULL:
 * all), or ST_USAGE when the live pack has none of that name. */
int cli_act_help(struct ctl *c, const char *action)
{
	json_t *r = NULL;
	fflush(stdout); /* the usage first, whatever cli_call says on stderr */
	int st = cli_call(c, "rules.status", NULL, &r);
	if (st == ST_OK && action) {
		st = cli_show_action(r, action);
		json_decref(r);
		return st;
	}
	if (st == ST_OK)
		cli_show_actions(c->socket, r);
	else if (action)
		printf("usage:\n  liuctl act %s [<id>] [key=value ...]\nthe action's params come from the daemon, which did not "
		       "answer at %s:\nstart it (or give --socket) to list them, or read the pack's documentation.\n",
		       action, c->socket);
	else
		printf("the pack's actions and their params come from the daemon, which did not answer at %s:\n"
		       "start it (or give --socket) to list them, or read the pack's documentation.\n",
		       c->socket);
	json_decref(r);
	return ST_OK;
}
