/*
 * cli — the client's types, shared by the files of core/client/ (and by
 * nothing else): the command table's entries, a command line parsed against
 * one, the connection with the global options, and the exit statuses.  No
 * functions: each file declares its own in its header, and the files are in
 * floors, each using only those below it (no circle):
 *
 *   liuctl.c      main: global options, finding the command, running it
 *   cli_cmds      the command table and the exec steps tying a parse, a
 *                 call and a printer together
 *   cli_import    import and export: a file's rows in requests under the
 *                 daemon's line limit, the report of failed rows, every
 *                 record out as JSON lines, CSV or a workbook; a view as a
 *                 workbook
 *   cli_doc       what the table says to people and shells: --help, help,
 *                 the bash completion script, the man page's commands
 *   cli_print     the result printers, one per method shape
 *   cli_pager     the terminal's width, and a pager for long output
 *   cli_call      the connection: one request, one reply, error replies
 *   cli_args      a command line parsed against its pattern, into params
 *   cli_data      spreadsheet files: UTF-8 or Shift_JIS text, nested data
 *                 <-> dotted columns (the CSV itself is the sheet module's)
 *   cli_xlsx      Excel workbooks: a grid written (libxlsxwriter), the first
 *                 sheet read back (libzip, expat)
 *   cli_table     text for a terminal: display width, safe text, tables
 *                 fitted to a width (or as TSV or CSV), JSON values as
 *                 cell text
 *   cli_pattern   a pattern's tokens, and one command's usage for people
 *   cli_util      memory that never fails (exit instead), JSON members
 *
 * The client shares only the wire module (framing, request lines, error
 * codes) and the sheet module (CSV) with the daemon.  Strings handed between
 * these files are either "caller frees" or borrowed from argv or the table
 * (valid for the whole run), as each declaration says.
 */
#ifndef LIU_CLI_H
#define LIU_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include "wire.h"

/* The socket liuctl connects to without --socket or $LIUD_SOCKET: a checkout
 * build's is the checkout's (WIRE_DEFAULT_SOCKET, relative, as `make run`
 * serves it); `make install` builds the liuctl it installs with
 * -DLIUCTL_SOCKET set to the installed daemon's socket (mk/install.mk). */
#ifndef LIUCTL_SOCKET
#define LIUCTL_SOCKET WIRE_DEFAULT_SOCKET
#endif
/* The installed folder of live rule packs, where a candidate goes that the
 * daemon's sandbox must see (named in a hint; `make install` sets it too). */
#ifndef LIUCTL_RULES_DIR
#define LIUCTL_RULES_DIR "/etc/liud/rules"
#endif

#define REPLY_MAX ((size_t)1 << 30) /* longest reply line we accept: 1 GiB */
#define CELL_MAX 48                 /* widest table cell but a row's last, in columns */
#define TOKS_MAX 16                 /* tokens in one command pattern */
#define NAME_MAX_LEN 48             /* longest word or argument name in a pattern */
#define VERSION_SHORT 12            /* characters of a version hash shown to people */

enum status {
	ST_OK = 0,
	ST_REPLY = 1,   /* the daemon answered with an error */
	ST_USAGE = 2,
	ST_CONNECT = 3, /* no daemon, or the exchange broke */
	ST_HELP = -1,   /* internal: --help given after a command */
};

/* --- the command table's types (cli_cmds.c holds the table) --------------- */

/*
 * A pattern is a sequence of tokens:
 *   word            a literal word of the command name ("rules", "check")
 *   <name>          a required argument, sent as param `name`
 *   [<name>]        an optional argument
 *   [--opt <ph>]    an option with a value, sent as param `opt` (dashes
 *                   become underscores); the placeholder types it: <n> a
 *                   whole number, <path> made absolute, <json...> JSON text,
 *                   @file or - (stdin); anything else a string
 *   [--flag]        a flag for liuctl itself (not sent)
 *   [key=value ...] pairs merged into params.params; the value is JSON if
 *                   it parses as JSON, else a string
 *   [<name> ...]    the remaining words (help only)
 */
enum tok_type { T_WORD, T_ARG, T_OPTARG, T_OPT, T_FLAG, T_PAIRS, T_REST };

struct tok {
	enum tok_type type;
	char name[NAME_MAX_LEN];  /* word, argument or option name */
	char ph[NAME_MAX_LEN];    /* placeholder of an argument or option */
};

struct cmd;

/* A command line parsed against its pattern.  Strings are borrowed from argv
 * (valid for the whole run); names from the table. */
struct args {
	const struct cmd *cmd;
	struct tok tok[TOKS_MAX];
	size_t ntok, nwords;
	const char *value[TOKS_MAX]; /* per token: the value given, "" for a flag */
	const char **list;           /* owned array: key=value pairs or rest words */
	size_t nlist;
};

struct ctl;

struct cmd {
	const char *pattern;
	const char *method;  /* NULL: not one method (call, help) */
	const char *help;    /* one line, for people */
	const char *params;  /* how arguments map to params; NULL: from the pattern */
	bool raw;            /* a string result is printed as it is, even with --json */
	bool hidden;         /* for the build, not for people: left out of --help,
			      * the completion script and the man page */
	bool table;          /* prints tables: its pattern has --format and
			      * --columns (liuctl's, not sent), and it is paged */
	bool paged;          /* long output for people: paged on a terminal */
	/* Adds checks or params beyond the pattern's own: ST_OK or ST_USAGE. */
	int (*build)(const struct args *a, json_t *params);
	/* Prints a result for people; returns the exit status. */
	int (*show)(const struct args *a, json_t *result);
	/* Replaces the whole call-and-print (paging, raw calls, help). */
	int (*exec)(struct ctl *c, const struct args *a);
};

/* The connection and the global options. */
struct ctl {
	const char *socket; /* borrowed: argv or the environment */
	bool json;          /* --json: print the raw result */
	bool no_pager;      /* --no-pager: never start a pager */
	bool daemon_known;  /* daemon_uid is set (--daemon-user, or a user "liud") */
	uid_t daemon_uid;   /* a server running as this uid is trusted, as root is */
	int fd;             /* -1 until the first call */
	long long id;       /* of the last request */
	struct wire_buf in;
	const struct cmd *commands; /* borrowed: the table (cli_cmds.h), for help */
};


#endif
