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
void cli_table_print(const struct table *t, FILE *f);
/* A "key: value" row of a two-column table (key NULL: a continuation). */
void cli_kv(struct table *t, const char *key, const char *value);
void cli_kvj(struct table *t, const char *key, const json_t *v);

#endif
