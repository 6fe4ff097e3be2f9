/*
 * liuctl — the operator's client for liud: one command per method of the
 * socket protocol, in the table of cli_cmds.c.
 *
 * A command line is matched against the table, parsed against the entry's
 * pattern (cli_args), turned into the method's params, sent as one JSON-RPC
 * line over the Unix socket (cli_call), and the reply is printed for people
 * (cli_print, with tables aligned by display width, cli_table) or, with
 * --json, as the raw result.  The usage text, the bash completion script and
 * the man page's list of commands are all generated from the same table
 * (cli_doc).  The client shares only the wire module (framing, request
 * lines, error codes) and the sheet module (CSV) with the daemon, so it can
 * never depend on the daemon's internals.  cli.h draws the floors.
 *
 * This file: main, the global options, finding the command and running it.
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

#include "cli.h"
#include "cli_args.h"
#include "cli_call.h"
#include "cli_cmds.h"
#include "cli_doc.h"
#include "cli_pattern.h"
#include "cli_table.h"
#include "cli_util.h"
#include "version.h"
#include "wire.h"

/* --- main ----------------------------------------------------------------- */

/* The entry whose words start argv, the longest such; NULL if none. */
static const struct cmd *cmd_find(int argc, char **argv)
{
	const struct cmd *best = NULL;
	size_t best_words = 0;
	for (const struct cmd *cmd = cli_commands; cmd->pattern; cmd++) {
		struct tok t[TOKS_MAX];
		size_t n = cli_pattern_parse(cmd->pattern, t, TOKS_MAX), w = 0;
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
		cli_put_text(stderr, argv[i], false);
	}
	fputc('\n', stderr);
	/* `liuctl rules` alone: show the rules commands rather than all. */
	bool any = false;
	for (const struct cmd *cmd = cli_commands; cmd->pattern; cmd++) {
		size_t n = strcspn(cmd->pattern, " ");
		if (strlen(argv[0]) == n && strncmp(cmd->pattern, argv[0], n) == 0) {
			if (!any)
				fputs("usage:\n", stderr);
			cli_cmd_usage(stderr, cmd);
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
		{ "no-pager", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { .fd = -1, .commands = cli_commands };
	c.socket = getenv("LIUD_SOCKET");
	if (!c.socket || !*c.socket)
		c.socket = LIUCTL_SOCKET;
	const char *daemon_user = getenv("LIUCTL_DAEMON_USER"), *daemon_from = "$LIUCTL_DAEMON_USER";
	if (daemon_user && !*daemon_user)
		daemon_user = NULL;
	int ch;
	/* "+": stop at the command, whose own options come after it. */
	while ((ch = getopt_long(argc, argv, "+s:u:jPhV", longopts, NULL)) != -1) {
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
		case 'P':
			c.no_pager = true;
			break;
		case 'h':
			cli_usage(stdout, cli_commands);
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
		cli_usage(stderr, cli_commands);
		return ST_USAGE;
	}
	if (cli_daemon_user(&c, daemon_user, daemon_from) != ST_OK)
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
		st = cli_args_parse(&a, argc, argv, &c.json);
		bool act = cmd && cmd->method && strcmp(cmd->method, "act") == 0;
		/* act <action> [<id>] --help: that action alone. */
		const char *action = act && argc > 1 && argv[1][0] != '-' && !strchr(argv[1], '=') ? argv[1] : NULL;
		if (st == ST_HELP && action) {
			st = cli_act_help(&c, action);
		} else if (st == ST_HELP) {
			fputs("usage:\n", stdout);
			cli_cmd_usage(stdout, cmd);
			st = ST_OK;
			if (act)
				st = cli_act_help(&c, NULL);
		} else if (st == ST_OK) {
			st = cli_exec(&c, &a);
		}
	}
	free(a.list);
	cli_close(&c);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			fprintf(stderr, "liuctl: writing the output: %s\n", strerror(errno));
		if (st == ST_OK)
			st = ST_REPLY;
	}
	return st;
}
