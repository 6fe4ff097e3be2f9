/*
 * cli_data — spreadsheet files in and out: a file read whole, its bytes as
 * UTF-8 text (or Shift_JIS converted), and the mapping between a record's
 * nested `data` and the flat columns of a sheet.  Uses cli_table (cell
 * text), cli_util, the sheet module (CSV) and iconv.
 */
#ifndef LIU_CLI_DATA_H
#define LIU_CLI_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "cli.h"

/* Reads a whole file ("-": standard input).  Returns 0 with *buf (caller
 * frees; NUL-terminated after its *len bytes) or a negative errno. */
int cli_file_read(const char *path, char **buf, size_t *len);

enum text_enc {
	ENC_AUTO, /* UTF-8 if the bytes are UTF-8 (or start with its BOM), else Shift_JIS */
	ENC_UTF8,
	ENC_SJIS, /* Shift_JIS as Windows writes it: CP932 */
};

/* The bytes of a file as UTF-8 text: a UTF-8 BOM dropped, Shift_JIS
 * converted.  Returns the text (caller frees; NUL-terminated, *outlen bytes,
 * no NUL inside) or NULL with *why (caller frees) naming the line of the
 * first byte that is not text in the encoding. */
char *cli_text_decode(const char *in, size_t len, enum text_enc enc, size_t *outlen, char **why);

/* The value of a cell: NULL when empty (the field is absent); JSON when it
 * starts with { or [ and parses; else a string (digits stay text), the '
 * mark of cli_cell_of_value() dropped (sheet_unguard), a ="…" around a
 * number-like text too (sheet_untext_cell).  New reference. */
json_t *cli_value_of_cell(const char *s);
/* Adds `data`'s columns to `row` (path -> cell text): a member that is an
 * object of its own gets a column per member ("impact_assessment.result");
 * deeper structure and lists are one JSON cell.  The paths whose value the
 * sheet cannot carry exactly are added to `inexact` (path -> true). */
void cli_data_flatten(const json_t *data, json_t *row, json_t *inexact);
/* Sets `v` (takes the reference) at a dotted path of `data`, making the
 * objects on the way.  Returns 0, -EEXIST when the field is given twice, or
 * -ENOTDIR when the path goes through a field that is not an object. */
int cli_data_set(json_t *data, const char *path, json_t *v);

#endif
