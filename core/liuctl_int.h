/*
 * liuctl_int — what the files of the client share; private to core/liuctl*.c.
 *
 *   liuctl.c        main, global options, the command table, the exec steps
 *                   (call, page, print) and small allocation helpers
 *   liuctl_args.c   patterns: parsing the table's patterns and a command
 *                   line against them, and turning arguments into params
 *   liuctl_call.c   the connection: one request, one reply, error replies
 *   liuctl_table.c  text for a terminal: display width, safe text, aligned
 *                   tables, JSON values as cell text
 *   liuctl_print.c  the result printers, one per method shape
 *   liuctl_doc.c    what the table says to people and shells: usage, help,
 *                   the bash completion script, the man page's commands
 *   liuctl_csv.c    spreadsheet files: UTF-8 or Shift_JIS text, CSV records
 *                   in and cells out, nested data <-> dotted columns
 *   liuctl_import.c import and export: a file's rows in requests under the
 *                   daemon's line limit, the report of failed rows, every
 *                   record out as JSON lines or CSV
 *
 * Data flows one way: main finds the table entry, args parses, call talks to
 * the daemon, print (through table) shows the result.  Only the wire module
 * is shared with the daemon.  Strings handed between these files are either
 * "caller frees" or borrowed from argv or the table (valid for the whole run),
 * as each declaration says.
 */
#ifndef LIU_LIUCTL_INT_H
#define LIU_LIUCTL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include "wire.h"

#define REPLY_MAX ((size_t)1 << 30) /* longest reply line we accept: 1 GiB */
#define CELL_MAX 48                 /* widest table cell but a row's last, in columns */
#define TOKS_MAX 16                 /* tokens in one command pattern */
#define NAME_MAX_LEN 24             /* longest word or argument name in a pattern */
#define VERSION_SHORT 12            /* characters of a version hash shown to people */

enum status {
	ST_OK = 0,
	ST_REPLY = 1,   /* the daemon answered with an error */
	ST_USAGE = 2,
	ST_CONNECT = 3, /* no daemon, or the exchange broke */
	ST_HELP = -1,   /* internal: --help given after a command */
};

/* --- the command table's types (liuctl.c holds the table) --------------- */

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
	/* Adds checks or params beyond the pattern's own: ST_OK or ST_USAGE. */
	int (*build)(const struct args *a, json_t *params);
	/* Prints a result for people; returns the exit status. */
	int (*show)(const struct args *a, json_t *result);
	/* Replaces the whole call-and-print (paging, raw calls, help). */
	int (*exec)(struct ctl *c, const struct args *a);
};

/* The table, ended by an entry whose pattern is NULL. */
extern const struct cmd ctl_commands[];

/* The connection and the global options. */
struct ctl {
	const char *socket; /* borrowed: argv or the environment */
	bool json;          /* --json: print the raw result */
	bool daemon_known;  /* daemon_uid is set (--daemon-user, or a user "liud") */
	uid_t daemon_uid;   /* a server running as this uid is trusted, as root is */
	int fd;             /* -1 until the first call */
	long long id;       /* of the last request */
	struct wire_buf in;
};

/* --- liuctl.c: helpers --------------------------------------------------- */

/* A command-line client has nothing to save when memory runs out: these say
 * so and exit(ST_REPLY) rather than return NULL.  Results: caller frees. */
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
__attribute__((format(printf, 1, 2)))
char *xasprintf(const char *fmt, ...);

/* Borrowed string member of an object, or NULL / `dflt` when the member is
 * missing or not a string. */
const char *jstr(const json_t *o, const char *key);
const char *jstr_or(const json_t *o, const char *key, const char *dflt);

/* --- liuctl_args.c: patterns and params ---------------------------------- */

/* Splits a pattern into tokens.  Patterns are the table's own constants,
 * so they are trusted to be well formed.  Returns the number of tokens. */
size_t pattern_parse(const char *p, struct tok *t, size_t max);
/* Parses argv (starting at the command's words) against a->cmd's pattern;
 * --json given there sets *json.  Returns ST_OK, ST_HELP or ST_USAGE (after
 * saying why).  a->list is owned by *a: free() it after. */
int args_parse(struct args *a, int argc, char **argv, bool *json);
/* The value given for the token named `name`, or NULL.  Borrowed from argv. */
const char *arg(const struct args *a, const char *name);
/* Adds the params the pattern gives to `params`.  Returns ST_OK or ST_USAGE. */
int build_params(const struct args *a, json_t *params);
/* Loads JSON given inline, as @file, or as - (standard input).  Returns a
 * new reference or NULL after a usage message naming `what`. */
json_t *load_json(const struct cmd *cmd, const char *what, const char *s);
/* Prints "liuctl: <why>" and the command's usage on stderr; returns ST_USAGE. */
__attribute__((format(printf, 2, 3)))
int usage_fail(const struct cmd *cmd, const char *fmt, ...);

/* --- liuctl_call.c: the connection --------------------------------------- */

/*
 * Sends one request (connecting first if need be) and waits for its reply.
 * `params` is borrowed and may be NULL.  Returns ST_OK with *out = the
 * result, ST_REPLY with *out = the error object (caller decrefs either), or
 * ST_CONNECT after saying why on stderr.
 */
int ctl_call(struct ctl *c, const char *method, json_t *params, json_t **out);
/* Sets the daemon user from a name or a numeric uid (`name` NULL: the user
 * "liud" if this machine has one, else none).  Returns ST_OK, or ST_USAGE
 * after saying on stderr that `from` names no user. */
int ctl_daemon_user(struct ctl *c, const char *name, const char *from);
void ctl_close(struct ctl *c);
/* An error reply on stderr: code, message, fields, reasons in both languages. */
void print_error(const json_t *err);

/* --- liuctl_table.c: text for a terminal --------------------------------- */

/* Display width of s as put_text() prints it (East Asian wide characters
 * take two columns; controls are replaced, see put_text). */
int text_width(const char *s);
/* Writes s made safe for a terminal: no control, escape sequence or bidi
 * override of the data reaches it; tabs and line breaks become spaces unless
 * `lines`. */
void put_text(FILE *f, const char *s, bool lines);
/* Prints one formatted line on stdout through put_text(). */
__attribute__((format(printf, 1, 2)))
void say(const char *fmt, ...);
/* s made safe and cut to at most `max` columns (<= 0: no limit), ending in
 * "..." when cut; *width set.  Caller frees. */
char *cell_text(const char *s, int max, int *width);
/* The text of a JSON value for a cell: strings as they are, null as "-",
 * lists of scalars joined with ", ", anything else compact JSON.  Caller
 * frees. */
char *json_text(const json_t *v);

struct cell {
	char *text; /* owned, safe for a terminal; NULL: empty */
	int width;
};

/* Rows of cells printed in columns aligned by display width.  Every column
 * but a row's last is cut at CELL_MAX, so one long value cannot push the
 * others off the screen; the last is printed whole. */
struct table {
	size_t ncols, nrows;
	struct cell *cells; /* owned: nrows * ncols */
};

void table_init(struct table *t, size_t ncols);
void table_free(struct table *t);
/* Starts a new row of empty cells. */
void table_row(struct table *t);
/* Sets a cell of the current row to a copy of s (NULL: empty). */
void table_set(struct table *t, size_t col, const char *s);
void table_setj(struct table *t, size_t col, const json_t *v);
__attribute__((format(printf, 3, 4)))
void table_setf(struct table *t, size_t col, const char *fmt, ...);
/* Adds a whole row at once; `row` holds ncols strings (NULL: empty). */
void table_add(struct table *t, const char *const *row);
void table_print(const struct table *t, FILE *f);
/* A "key: value" row of a two-column table (key NULL: a continuation). */
void kv(struct table *t, const char *key, const char *value);
void kvj(struct table *t, const char *key, const json_t *v);

/* --- liuctl_print.c: results for people ---------------------------------- */

/* The raw result, pretty, for --json and shapes with no printer. */
void print_json(const json_t *v);
/* A byte count for people ("1.5 MiB").  Caller frees. */
char *bytes_text(long long n);

/* Printers for the table's `show`: each returns the exit status. */
int show_status(const struct args *a, json_t *r);
int show_record(const struct args *a, json_t *r);
int show_record_list(const struct args *a, json_t *r);
int show_act(const struct args *a, json_t *r);
int show_eval(const struct args *a, json_t *r);
int show_view(const struct args *a, json_t *r);
int show_history(const struct args *a, json_t *r);
int show_rules_status(const struct args *a, json_t *r);
int show_rules_check(const struct args *a, json_t *r);
int show_rules_reload(const struct args *a, json_t *r);
int show_audit(const struct args *a, json_t *r);
int show_backup(const struct args *a, json_t *r);
int show_clock(const struct args *a, json_t *r);
int show_deadlines(const struct args *a, json_t *r);
int show_enforce(const struct args *a, json_t *r);
/* Shapes that may still grow: scalars as "key: value", the first list of
 * objects as a table, anything else as JSON. */
int show_auto(const struct args *a, json_t *r);

/* --- liuctl_csv.c: spreadsheet files -------------------------------------- */

/* Reads a whole file ("-": standard input).  Returns 0 with *buf (caller
 * frees; NUL-terminated after its *len bytes) or a negative errno. */
int file_read(const char *path, char **buf, size_t *len);

enum text_enc {
	ENC_AUTO, /* UTF-8 if the bytes are UTF-8 (or start with its BOM), else Shift_JIS */
	ENC_UTF8,
	ENC_SJIS, /* Shift_JIS as Windows writes it: CP932 */
};

/* The bytes of a file as UTF-8 text: a UTF-8 BOM dropped, Shift_JIS
 * converted.  Returns the text (caller frees; NUL-terminated, *outlen bytes,
 * no NUL inside) or NULL with *why (caller frees) naming the line of the
 * first byte that is not text in the encoding. */
char *text_decode(const char *in, size_t len, enum text_enc enc, size_t *outlen, char **why);

/* A CSV reader (RFC 4180) over text it borrows. */
struct csv {
	const char *p, *end;  /* borrowed: the rest of the text */
	size_t next_line;     /* the line of *p */
	size_t line;          /* the line the last record starts on */
	char **field;         /* owned: the last record's fields, into buf */
	size_t nfield;
	char *buf;            /* owned: the fields, each NUL-terminated */
	size_t len, cap;
	char *why;            /* owned: what csv_next() found wrong */
};

void csv_init(struct csv *c, const char *text, size_t len);
void csv_free(struct csv *c);
/* Reads the next record: 1 with c->field[0 .. c->nfield) (borrowed: valid
 * until the next call) and c->line; 0 at the end; -EINVAL with c->why. */
int csv_next(struct csv *c);
/* Writes s as one CSV cell, quoted (RFC 4180) when it holds a comma, a
 * quote or a line break. */
void csv_cell(FILE *f, const char *s);

/* The text of a cell for a data value: strings as they are (but for a '
 * before one starting with = + - @ ' { or [: no formula for a spreadsheet,
 * no JSON on the way back), objects and arrays as compact JSON, anything
 * else as text.  *exact is false when value_of_cell() will not give back the
 * same value (a number, a boolean, null, an empty string).  Caller frees. */
char *cell_of_value(const json_t *v, bool *exact);
/* The value of a cell: NULL when empty (the field is absent); JSON when it
 * starts with { or [ and parses; else a string (digits stay text), the '
 * escape of cell_of_value() dropped.  New reference. */
json_t *value_of_cell(const char *s);
/* Adds `data`'s columns to `row` (path -> cell text): a member that is an
 * object of its own gets a column per member ("impact_assessment.result");
 * deeper structure and lists are one JSON cell.  The paths whose value the
 * sheet cannot carry exactly are added to `inexact` (path -> true). */
void data_flatten(const json_t *data, json_t *row, json_t *inexact);
/* Sets `v` (takes the reference) at a dotted path of `data`, making the
 * objects on the way.  Returns 0, -EEXIST when the field is given twice, or
 * -ENOTDIR when the path goes through a field that is not an object. */
int data_set(json_t *data, const char *path, json_t *v);

/* --- liuctl_import.c: import and export ----------------------------------- */

int exec_import(struct ctl *c, const struct args *a);
int exec_export(struct ctl *c, const struct args *a);

/* --- liuctl_doc.c: the table for people and shells ----------------------- */

/* One command's usage: pattern, help lines, method and params. */
void cmd_usage(FILE *f, const struct cmd *cmd);
/* The whole --help text. */
void usage(FILE *f);
/* Execs of the table: help [WORDS], completion bash, manual scdoc. */
int exec_help(struct ctl *c, const struct args *a);
int exec_completion(struct ctl *c, const struct args *a);
int exec_manual(struct ctl *c, const struct args *a);

#endif
