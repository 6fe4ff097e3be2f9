/*
 * cli_table — text for a terminal: display width (libunistring's tables),
 * text made safe to print, tables whose columns line up by that width, and
 * JSON values as the text of a cell.  Uses cli_util.
 */
#ifndef LIU_CLI_TABLE_H
#define LIU_CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "cli.h"

/* Writes s made safe for a terminal: no control, escape sequence or bidi
 * override of the data reaches it; tabs and line breaks become spaces unless
 * `lines`. */
void cli_put_text(FILE *f, const char *s, bool lines);
/* Prints one formatted line on stdout through cli_put_text(). */
__attribute__((format(printf, 1, 2)))
void cli_say(const char *fmt, ...);
/* s made safe and cut to at most `max` columns (<= 0: no limit), ending in
 * "..." when cut; *width set.  Caller frees. */
char *cli_cell_text(const char *s, int max, int *width);
/* The text of a JSON value for a cell: strings as they are, null as "-",
 * lists of scalars joined with ", ", anything else compact JSON.  Caller
 * frees. */
char *cli_json_text(const json_t *v);

/* How tables are printed: aligned for people, or as TSV or CSV. */
enum cli_format { CLI_TABLE, CLI_TSV, CLI_CSV };

/* Sets, for the rest of the run, how every table prints: the format, the
 * columns asked for (a comma list of column keys or header texts, case and
 * '_'/'-'/' ' aside; NULL: all), the width to fit in (0: no limit: every
 * column but a row's last cut at CELL_MAX).  A table with headers and none
 * of the columns asked for is left out; one without (key: value lines) is
 * printed whole. */
void cli_table_output(enum cli_format f, const char *columns, int width);
enum cli_format cli_table_format(void);
/* The first name given to cli_table_output() that no table printed had, or
 * NULL.  Borrowed. */
const char *cli_table_unmatched(void);

struct cell {
	char *text; /* owned, safe for a terminal; NULL: empty */
	int width;
};

/* Rows of cells printed in columns aligned by display width, fitted to the
 * width cli_table_output() gives: columns of free text are narrowed first
 * (ids, dates and one-word codes keep their width) and a cell wider than
 * its column wraps under itself, a header takes at most two lines, and
 * the columns that still cannot fit are left out with a note naming them
 * (not when --columns chose them); with no width, every column
 * but a row's last is cut at CELL_MAX with "...", so one long value cannot
 * push the others off the screen. */
struct table {
	size_t ncols, nrows;
	struct cell *cells; /* owned: nrows * ncols */
	size_t nhead;       /* the first rows are headers (cli_table_head) */
	char **keys;        /* owned, ncols: the columns' names for --columns,
			     * TSV and CSV headers (NULL: the header's text) */
	int *prio;          /* owned, ncols, or NULL: cli_table_priority */
	bool exact;         /* instants as they are, not to the minute (the
			     * whole record); set before cells are */
};

/* The priority of a column without one (cli_table_priority). */
#define PRIO_DEFAULT 5

void cli_table_init(struct table *t, size_t ncols);
void cli_table_free(struct table *t);
/* Starts a new row of empty cells. */
void cli_table_row(struct table *t);
/* Sets a cell of the current row to a copy of s (NULL: empty). */
void cli_table_set(struct table *t, size_t col, const char *s);
void cli_table_setj(struct table *t, size_t col, const json_t *v);
__attribute__((format(printf, 3, 4)))
void cli_table_setf(struct table *t, size_t col, const char *fmt, ...);
/* Adds a whole row at once; `row` holds ncols strings (NULL: empty). */
void cli_table_add(struct table *t, const char *const *row);
/* Adds a header row: this row and those before it are headers. */
void cli_table_head(struct table *t, const char *const *row);
/* Names the columns (ncols strings, copied), for --columns and as the
 * header of TSV and CSV. */
void cli_table_keys(struct table *t, const char *const *keys);
/* Sets which columns a table too wide for the terminal leaves out first:
 * those of the highest priority number, 1 (kept longest) to 9; a column
 * without one counts as PRIO_DEFAULT, and the first column always stays. */
void cli_table_priority(struct table *t, size_t col, int prio);
/* A line of text above a table (a view's handling marking): in CSV a row
 * of one cell. */
void cli_table_line(FILE *f, const char *text);
/* The column a --columns or --sort name names (as cli_table_output says),
 * or -1. */
int cli_table_column(const struct table *t, const char *name);
void cli_table_print(const struct table *t, FILE *f);
/* A "key: value" row of a two-column table (key NULL: a continuation). */
void cli_kv(struct table *t, const char *key, const char *value);
void cli_kvj(struct table *t, const char *key, const json_t *v);

#endif
