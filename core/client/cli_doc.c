/*
 * cli_doc — what the command table says to people and to shells, all of
 * it generated from the table so that none of it can drift from what liuctl
 * accepts: the usage (--help, help WORDS, a command's usage after a usage
 * error), the bash completion script (`liuctl completion bash`, committed as
 * contrib/completion/liuctl.bash) and the COMMANDS section of liuctl(1)
 * (`liuctl manual scdoc`, spliced into contrib/man/liuctl.1.scd).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_doc.h"
#include "cli_pattern.h"
#include "cli_util.h"
#include "wire.h"

/* The command table, borrowed from the caller (c->commands, or cli_usage's
 * argument) by each entry point before anything else runs: this file
 * describes the table but does not hold it, so that the table, whose
 * entries name these execs, and this file do not need each other. */
static const struct cmd *table;

/* --- usage and help --------------------------------------------------------- */

void cli_usage(FILE *f, const struct cmd *commands)
{
	table = commands;
	fputs("usage: liuctl [--socket PATH] [--daemon-user USER] [--json] COMMAND [ARG ...]\n"
	      "\n"
	      "The operator's client for liud: one command per method of its control socket.\n"
	      "\n"
	      "options:\n"
	      "  -s, --socket PATH  the daemon's socket (default $LIUD_SOCKET, else " LIUCTL_SOCKET ")\n"
	      "  -u, --daemon-user USER\n"
	      "                     the user liud runs as (default $LIUCTL_DAEMON_USER, else liud);\n"
	      "                     a server on the socket running as anyone but root, this user\n"
	      "                     or yourself is refused\n"
	      "  -j, --json         print the raw JSON result instead of tables (also after COMMAND)\n"
	      "  -h, --help         this text; `liuctl help COMMAND` or `COMMAND --help` for one\n"
	      "  -V, --version      liuctl's version\n"
	      "\n"
	      "commands:\n", f);
	for (const struct cmd *cmd = table; cmd->pattern; cmd++)
		if (!cmd->hidden)
			cli_cmd_usage(f, cmd);
	fputs("\n"
	      "<time>: ISO-8601 with offset (2025-03-31T23:59:59+09:00), a date meaning that day in\n"
	      "JST (2025-03-31), or 和暦 (令和7年3月31日).  <path>: made absolute before sending.\n"
	      "<json|@file|->: JSON text, a file holding it, or standard input.\n"
	      "key=value: the value is JSON if it parses (5, true, \"007\"), else a string.\n"
	      "\n"
	      "exit status: 0 ok, 1 error reply (printed on stderr), 2 usage,\n"
	      "3 cannot reach the daemon, the server is not the daemon, or the connection broke.\n", f);
}

/* help [WORDS]: the usage of every command starting with those words (a
 * hidden one too, since its words were given). */
int cli_exec_help(struct ctl *c, const struct args *a)
{
	table = c->commands;
	if (a->nlist == 0) {
		cli_usage(stdout, c->commands);
		return ST_OK;
	}
	bool any = false;
	for (const struct cmd *cmd = table; cmd->pattern; cmd++) {
		struct tok t[TOKS_MAX];
		size_t n = cli_pattern_parse(cmd->pattern, t, TOKS_MAX), i;
		for (i = 0; i < a->nlist && i < n && t[i].type == T_WORD; i++)
			if (strcmp(t[i].name, a->list[i]) != 0)
				break;
		if (i == a->nlist) {
			cli_cmd_usage(stdout, cmd);
			any = true;
		}
	}
	if (!any) {
		fputs("liuctl: no command starts with that; see liuctl --help\n", stderr);
		return ST_USAGE;
	}
	return ST_OK;
}

/* --- bash completion ------------------------------------------------------- */

/*
 * The script is data from the table plus fixed functions.  The data: the
 * first words of the commands, the second words of each group ("rules
 * status", ...), the methods, and for each command its options and what each
 * argument is completed with.  The fixed part (completion_body) reads the
 * line being completed and looks those up, so a command added to the table
 * is completed with no edit to the script's logic.
 *
 * Table strings are written inside single quotes: they are our own
 * constants, words and placeholders with no quote in them.
 */

/* Arguments whose values the live pack names: completed from the daemon's
 * `rules status` when it answers, else not at all. */
static const struct {
	const char *method, *arg, *kind;
} from_pack[] = {
	{ "act", "action", "actions" },
	{ "view", "name", "views" },
	{ "import", "action", "actions" },
};

/* Whether a placeholder is a choice of plain words, such as json|csv or
 * utf-8|shift_jis. */
static bool is_choice(const char *ph)
{
	return strchr(ph, '|') && ph[strspn(ph, "abcdefghijklmnopqrstuvwxyz0123456789_-|")] == '\0';
}

/* Writes how the value of an argument or option is completed: a kind that
 * the script's _liuctl_value knows; "-" is nothing of its own. */
static void put_kind(FILE *f, const struct cmd *cmd, const struct tok *t)
{
	for (size_t i = 0; i < sizeof from_pack / sizeof *from_pack; i++) {
		if (cmd->method && strcmp(cmd->method, from_pack[i].method) == 0 &&
		    strcmp(t->name, from_pack[i].arg) == 0) {
			fputs(from_pack[i].kind, f);
			return;
		}
	}
	if (!cmd->method && t->type == T_REST)
		fputs("commands", f); /* help's words name a command */
	else if (!cmd->method && strcmp(t->name, "method") == 0)
		fputs("methods", f);  /* call's method */
	else if (strcmp(t->ph, "path") == 0)
		fputs("dir", f);      /* every <path> of the table is a folder */
	else if (strcmp(t->ph, "file") == 0)
		fputs("file", f);     /* a file liuctl reads itself */
	else if (strstr(t->ph, "@file"))
		fputs("file@", f);
	else if (is_choice(t->ph))
		fprintf(f, "words:%s", t->ph);
	else
		fputs("-", f);
}

/* Tokenises cmd's pattern into t (TOKS_MAX) and returns how many of the
 * tokens are its words; *ntok is set to the number of tokens. */
static size_t cmd_tokens(const struct cmd *cmd, struct tok *t, size_t *ntok)
{
	size_t n = cli_pattern_parse(cmd->pattern, t, TOKS_MAX), w = 0;
	while (w < n && t[w].type == T_WORD)
		w++;
	*ntok = n;
	return w;
}

/* Whether a visible entry before `cmd` has the same first word. */
static bool first_word_seen(const struct cmd *cmd)
{
	size_t n = strcspn(cmd->pattern, " ");
	for (const struct cmd *c = table; c < cmd; c++)
		if (!c->hidden && strcspn(c->pattern, " ") == n && strncmp(c->pattern, cmd->pattern, n) == 0)
			return true;
	return false;
}

/* _liuctl_sub '': the first words; _liuctl_sub GROUP: a group's second words.
 * Then the methods, for `liuctl call`. */
static void put_words(FILE *f)
{
	fputs("# _liuctl_sub '': the commands' first words; _liuctl_sub GROUP: the second\n"
	      "# words of a group of commands.\n"
	      "_liuctl_sub()\n{\n\tcase $1 in\n\t'') echo '", f);
	const char *sep = "";
	for (const struct cmd *cmd = table; cmd->pattern; cmd++) {
		if (cmd->hidden || first_word_seen(cmd))
			continue;
		fprintf(f, "%s%.*s", sep, (int)strcspn(cmd->pattern, " "), cmd->pattern);
		sep = " ";
	}
	fputs("' ;;\n", f);
	for (const struct cmd *g = table; g->pattern; g++) {
		struct tok t[TOKS_MAX];
		size_t n;
		if (g->hidden || first_word_seen(g) || cmd_tokens(g, t, &n) < 2)
			continue;
		fprintf(f, "\t'%s') echo '", t[0].name);
		sep = "";
		for (const struct cmd *cmd = g; cmd->pattern; cmd++) {
			struct tok u[TOKS_MAX];
			if (cmd->hidden || cmd_tokens(cmd, u, &n) < 2 || strcmp(u[0].name, t[0].name) != 0)
				continue;
			fprintf(f, "%s%s", sep, u[1].name);
			sep = " ";
		}
		fputs("' ;;\n", f);
	}
	fputs("\tesac\n}\n\n", f);

	fputs("# The methods the commands call, for `liuctl call`.\n_liuctl_methods='", f);
	sep = "";
	for (const struct cmd *cmd = table; cmd->pattern; cmd++) {
		if (cmd->hidden || !cmd->method)
			continue;
		/* export calls record.list too: each method once. */
		bool seen = false;
		for (const struct cmd *c = table; c < cmd; c++)
			seen |= !c->hidden && c->method && strcmp(c->method, cmd->method) == 0;
		if (!seen) {
			fprintf(f, "%s%s", sep, cmd->method);
			sep = " ";
		}
	}
	fputs("'\n\n", f);
}

enum var { V_OPTS, V_VALS, V_ARGS };

/* Writes ` name='item item ...'` for the tokens of t[w..n) that go into the
 * variable, or nothing when none does. */
static void put_var(FILE *f, const struct cmd *cmd, const struct tok *t, size_t w, size_t n,
		    enum var var)
{
	static const char *const names[] = { "opts", "vals", "args" };
	bool any = false;
	for (size_t i = w; i < n; i++) {
		enum tok_type y = t[i].type;
		bool in = var == V_OPTS ? y == T_OPT || y == T_FLAG :
			  var == V_VALS ? y == T_OPT : y == T_ARG || y == T_OPTARG || y == T_REST;
		if (!in)
			continue;
		if (any)
			fputc(' ', f);
		else
			fprintf(f, " %s='", names[var]);
		any = true;
		if (var != V_ARGS)
			fprintf(f, "--%s%s", t[i].name, var == V_VALS ? "=" : "");
		if (var != V_OPTS)
			put_kind(f, cmd, &t[i]);
	}
	if (any)
		fputc('\'', f);
}

/* One command's entry of _liuctl_cmd (see put_cmds). */
static void put_cmd(FILE *f, const struct cmd *cmd)
{
	struct tok t[TOKS_MAX];
	size_t n, w = cmd_tokens(cmd, t, &n);
	bool pairs = false, rest = false;
	fputs("\t'", f);
	for (size_t i = 0; i < w; i++)
		fprintf(f, "%s%s", i ? " " : "", t[i].name);
	fputs("')", f);
	put_var(f, cmd, t, w, n, V_OPTS);
	put_var(f, cmd, t, w, n, V_VALS);
	put_var(f, cmd, t, w, n, V_ARGS);
	for (size_t i = w; i < n; i++) {
		pairs |= t[i].type == T_PAIRS;
		rest |= t[i].type == T_REST;
	}
	fprintf(f, "%s%s ;;\n", pairs ? " pairs=1" : "", rest ? " rest=1" : "");
}

/*
 * _liuctl_cmd KEY: whether KEY (a command's words) names a command; if so it
 * sets, in the caller's scope, opts (its options), vals (--opt=kind for those
 * that take a value), args (the kind of each positional argument, in order),
 * pairs (key=value accepted) and rest (the last argument repeats).
 */
static void put_cmds(FILE *f)
{
	fputs("# _liuctl_cmd WORDS: whether WORDS name a command; if so, sets opts (its\n"
	      "# options), vals (--option=kind for those taking a value), args (the kind of\n"
	      "# each positional argument), pairs (key=value accepted), rest (the last\n"
	      "# argument repeats).  Kinds: see _liuctl_value.\n"
	      "_liuctl_cmd()\n{\n\topts='' vals='' args='' pairs=0 rest=0\n\tcase $1 in\n", f);
	for (const struct cmd *cmd = table; cmd->pattern; cmd++)
		if (!cmd->hidden)
			put_cmd(f, cmd);
	fputs("\t*) return 1 ;;\n\tesac\n}\n\n", f);
}

static const char *const completion_body[] = {
	"# The names the live pack gives (actions or views), from the daemon's",
	"# `rules status` if it answers within a second; nothing otherwise.",
	"# $1: actions or views; the rest: the liuctl command and its --socket.",
	"_liuctl_pack_names()",
	"{",
	"\tlocal key=$1 l in=0",
	"\tshift",
	"\ttimeout 1 \"$@\" --json rules status 2>/dev/null | while IFS= read -r l; do",
	"\t\tif (( !in )); then",
	"\t\t\t[[ $l == \"  \\\"$key\\\": {\" ]] && in=1",
	"\t\telif [[ $l == \"  }\"* ]]; then",
	"\t\t\tbreak",
	"\t\telif [[ $l =~ ^\\ {4}\\\"([^\\\"]+)\\\":\\ \\{ ]]; then",
	"\t\t\tprintf '%s\\n' \"${BASH_REMATCH[1]}\"",
	"\t\tfi",
	"\tdone",
	"}",
	"",
	"# COMPREPLY: the words of $1 that start with $cur.",
	"_liuctl_reply()",
	"{",
	"\tmapfile -t COMPREPLY < <(IFS=$' \\t\\n' compgen -W \"$1\" -- \"$cur\")",
	"}",
	"",
	"# Completes $cur as a value of the kind $1 (see _liuctl_cmd).",
	"_liuctl_value()",
	"{",
	"\tlocal k=$1",
	"\tcase $k in",
	"\tdir)",
	"\t\tcompopt -o filenames 2>/dev/null",
	"\t\tmapfile -t COMPREPLY < <(compgen -d -- \"$cur\") ;;",
	"\tfile)",
	"\t\tcompopt -o filenames 2>/dev/null",
	"\t\tmapfile -t COMPREPLY < <(compgen -f -- \"$cur\") ;;",
	"\tfile@)",
	"\t\t[[ $cur == @* ]] || return 0",
	"\t\tcompopt -o filenames 2>/dev/null",
	"\t\tmapfile -t COMPREPLY < <(compgen -f -P @ -- \"${cur#@}\") ;;",
	"\twords:*) k=${k#words:}; _liuctl_reply \"${k//|/ }\" ;;",
	"\tactions|views) _liuctl_reply \"$(_liuctl_pack_names \"$k\" \"${ctl[@]}\")\" ;;",
	"\tcommands) (( pos < 2 )) && _liuctl_reply \"$(_liuctl_sub \"${given[@]:0:pos}\")\" ;;",
	"\tmethods) _liuctl_reply \"$_liuctl_methods\" ;;",
	"\tesac",
	"}",
	"",
	"# Fills COMPREPLY for the line up to the cursor.  Words are split on blanks",
	"# only: a quoted argument with a space in it counts as two.",
	"_liuctl_line()",
	"{",
	"\tlocal i j n k key at",
	"\tlocal opts vals args pairs rest pos=0 prev=",
	"\tlocal -a w ctl given kinds",
	"\tCOMPREPLY=()",
	"\tread -ra w <<< \"$line\"",
	"\tn=${#w[@]}",
	"\tif (( n > 0 )) && [[ $line != *[[:blank:]] ]]; then",
	"\t\tunset 'w[n-1]'",
	"\t\t(( n-- ))",
	"\tfi",
	"\t(( n > 0 )) || return 0",
	"\tctl=(\"${w[0]/#\\~/$HOME}\")",
	"\t# Global options come before the command; --socket and --daemon-user",
	"\t# are kept for the calls that ask the daemon for names.",
	"\tfor (( i = 1; i < n; i++ )); do",
	"\t\tcase ${w[i]} in",
	"\t\t-s|--socket)",
	"\t\t\tif (( i + 1 == n )); then",
	"\t\t\t\tcompopt -o filenames 2>/dev/null",
	"\t\t\t\tmapfile -t COMPREPLY < <(compgen -f -- \"$cur\")",
	"\t\t\t\treturn 0",
	"\t\t\tfi",
	"\t\t\tctl+=(--socket \"${w[i+1]}\")",
	"\t\t\t(( i++ )) ;;",
	"\t\t--socket=*) ctl+=(\"${w[i]}\") ;;",
	"\t\t-u|--daemon-user)",
	"\t\t\tif (( i + 1 == n )); then",
	"\t\t\t\tmapfile -t COMPREPLY < <(compgen -u -- \"$cur\")",
	"\t\t\t\treturn 0",
	"\t\t\tfi",
	"\t\t\tctl+=(--daemon-user \"${w[i+1]}\")",
	"\t\t\t(( i++ )) ;;",
	"\t\t--daemon-user=*) ctl+=(\"${w[i]}\") ;;",
	"\t\t-*) ;;",
	"\t\t*) break ;;",
	"\t\tesac",
	"\tdone",
	"\tif (( i == n )); then",
	"\t\tif [[ $cur == -* ]]; then",
	"\t\t\t_liuctl_reply '--socket --daemon-user --json --help --version'",
	"\t\telse",
	"\t\t\t_liuctl_reply \"$(_liuctl_sub '')\"",
	"\t\tfi",
	"\t\treturn 0",
	"\tfi",
	"\t# The command: its two words, else its one, else a group's second word.",
	"\tif (( i + 1 < n )) && _liuctl_cmd \"${w[i]} ${w[i+1]}\"; then",
	"\t\tk=2",
	"\telif _liuctl_cmd \"${w[i]}\"; then",
	"\t\tk=1",
	"\telse",
	"\t\t(( i + 1 == n )) && _liuctl_reply \"$(_liuctl_sub \"${w[i]}\")\"",
	"\t\treturn 0",
	"\tfi",
	"\t# Its arguments so far: option values are skipped, positionals counted.",
	"\tfor (( j = i + k; j < n; j++ )); do",
	"\t\tif [[ $j -eq $(( n - 1 )) && \" $vals \" == *\" ${w[j]}=\"* ]]; then",
	"\t\t\tprev=${w[j]}",
	"\t\telif [[ \" $vals \" == *\" ${w[j]}=\"* ]]; then",
	"\t\t\t(( j++ ))",
	"\t\telif [[ ${w[j]} == -* ]] || { (( pairs )) && [[ ${w[j]} =~ ^[A-Za-z0-9_.][A-Za-z0-9_.-]*= ]]; }; then",
	"\t\t\t:",
	"\t\telse",
	"\t\t\tgiven+=(\"${w[j]}\")",
	"\t\t\t(( pos++ ))",
	"\t\tfi",
	"\tdone",
	"\tif [[ -n $prev ]]; then",
	"\t\tkey=\" $vals \"",
	"\t\tkey=${key#*\" $prev=\"}",
	"\t\t_liuctl_value \"${key%% *}\"",
	"\t\treturn 0",
	"\tfi",
	"\tif [[ $cur == --*=* && \" $vals \" == *\" ${cur%%=*}=\"* ]]; then",
	"\t\t# --option=value: the value, given back with its option.",
	"\t\tkey=\" $vals \"",
	"\t\tkey=${key#*\" ${cur%%=*}=\"}",
	"\t\tprev=${cur%%=*}=",
	"\t\tcur=${cur#*=}",
	"\t\t_liuctl_value \"${key%% *}\"",
	"\t\tcur=$prev$cur",
	"\t\t(( ${#COMPREPLY[@]} )) && COMPREPLY=(\"${COMPREPLY[@]/#/$prev}\")",
	"\t\treturn 0",
	"\tfi",
	"\tif [[ $cur == -* ]]; then",
	"\t\t_liuctl_reply \"$opts --json --help\"",
	"\t\treturn 0",
	"\tfi",
	"\tread -ra kinds <<< \"$args\"",
	"\t# The next positional argument; where it has no values of its own, the",
	"\t# command's options.",
	"\tat=$pos",
	"\t(( rest && at >= ${#kinds[@]} )) && at=$(( ${#kinds[@]} - 1 ))",
	"\tif (( at >= 0 && at < ${#kinds[@]} )) && [[ ${kinds[at]} != - ]]; then",
	"\t\t_liuctl_value \"${kinds[at]}\"",
	"\telse",
	"\t\t_liuctl_reply \"$opts\"",
	"\tfi",
	"}",
	"",
	"_liuctl()",
	"{",
	"\tlocal line=${COMP_LINE:0:COMP_POINT} cur=",
	"\t[[ $line == *[[:blank:]] ]] || cur=${line##*[[:blank:]]}",
	"\t_liuctl_line",
	"\t# Bash replaces only what follows the last word break (= or :) in cur.",
	"\tif [[ $cur == *[=:]* && $COMP_WORDBREAKS == *[=:]* ]]; then",
	"\t\tlocal pre=${cur%\"${cur##*[=:]}\"}",
	"\t\tCOMPREPLY=(\"${COMPREPLY[@]#\"$pre\"}\")",
	"\tfi",
	"\treturn 0",
	"}",
	"",
	"complete -F _liuctl liuctl",
	NULL,
};

/* completion bash: the script on stdout (mk/completion.mk commits it as
 * contrib/completion/liuctl.bash). */
int cli_exec_completion(struct ctl *c, const struct args *a)
{
	table = c->commands;
	fputs("# bash completion for liuctl(1).\n"
	      "#\n"
	      "# Generated by `liuctl completion bash` from liuctl's command table\n"
	      "# (core/client/cli_cmds.c): do not edit.  `make completion` regenerates it and\n"
	      "# tests/15-liuctl.t fails when it is out of date.\n"
	      "#\n"
	      "# Install: copy to /usr/share/bash-completion/completions/liuctl, or source\n"
	      "# it from ~/.bashrc.  Action and view names are asked of the daemon\n"
	      "# (`liuctl --json rules status`) when it answers within a second.\n"
	      "\n", stdout);
	put_words(stdout);
	put_cmds(stdout);
	for (size_t i = 0; completion_body[i]; i++) {
		fputs(completion_body[i], stdout);
		fputc('\n', stdout);
	}
	return ST_OK;
}

/* --- the man page ----------------------------------------------------------- */

/* Writes s for scdoc: its markup characters escaped, so that if_rev or a
 * `*` in a help line prints as it is. */
static void put_scdoc(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i]; i++) {
		if (s[i] == '\\' || s[i] == '*' || s[i] == '_')
			fputc('\\', f);
		fputc(s[i], f);
	}
}

/* A pattern in man page style: the command's words and its options in bold,
 * placeholders underlined, brackets and the rest as they are. */
static void put_scdoc_pattern(FILE *f, const char *p)
{
	size_t n = 0; /* the command's words: up to the first argument */
	while (p[n] && p[n] != '<' && p[n] != '[')
		n++;
	while (n > 0 && p[n - 1] == ' ')
		n--;
	fputc('*', f);
	put_scdoc(f, p, n);
	fputc('*', f);
	for (p += n; *p;) {
		if (*p == '<') {
			n = strcspn(p + 1, ">");
			fputc('_', f);
			put_scdoc(f, p + 1, n);
			fputc('_', f);
			p += n + 1 + (p[n + 1] == '>');
		} else if (strncmp(p, "--", 2) == 0) {
			n = strcspn(p, " ]");
			fputc('*', f);
			put_scdoc(f, p, n);
			fputc('*', f);
			p += n;
		} else {
			put_scdoc(f, p, 1);
			p++;
		}
	}
}

/* manual scdoc: the COMMANDS section of liuctl(1), without its heading
 * (mk/man.mk splices it into contrib/man/liuctl.1.scd). */
int cli_exec_manual(struct ctl *c, const struct args *a)
{
	table = c->commands;
	const char *sep = "";
	for (const struct cmd *cmd = table; cmd->pattern; cmd++) {
		if (cmd->hidden)
			continue;
		fputs(sep, stdout);
		sep = "\n";
		put_scdoc_pattern(stdout, cmd->pattern);
		fputc('\n', stdout);
		for (const char *p = cmd->help; *p;) {
			size_t n = strcspn(p, "\n");
			fputc('\t', stdout);
			/* What would open a literal block, a list, a table, a
			 * heading or a comment at the start of a line. */
			if (strchr("`-.[]|#;:", *p))
				fputc('\\', stdout);
			put_scdoc(stdout, p, n);
			fputc('\n', stdout);
			p += n + (p[n] == '\n');
		}
		if (cmd->method || (cmd->params && *cmd->params)) {
			char *d = cmd->params ? cli_xstrdup(cmd->params) : cli_params_doc(cmd);
			fputs("\n\tMethod ", stdout);
			if (cmd->method) {
				fputc('*', stdout);
				put_scdoc(stdout, cmd->method, strlen(cmd->method));
				fputc('*', stdout);
			} else {
				fputs("_method_", stdout);
			}
			/* "{id, at?}", or a description such as "params as given". */
			fputs(d[0] == '{' ? ", params " : ", ", stdout);
			put_scdoc(stdout, d, strlen(d));
			fputs(".\n", stdout);
			free(d);
		}
	}
	return ST_OK;
}
