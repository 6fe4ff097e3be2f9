/*
 * cli_xlsx — Excel workbooks (.xlsx) in and out, for export, view and
 * import: a grid of cells written with libxlsxwriter (text cells formatted
 * as text, so that Excel keeps a 法人番号 or 2024-10 as typed), and the
 * first sheet of a workbook read back with libzip and expat (shared and
 * inline strings, numbers, dates in a date format as YYYY-MM-DD).  Uses
 * cli_util and libc besides those libraries.
 */
#ifndef LIU_CLI_XLSX_H
#define LIU_CLI_XLSX_H

#include <stddef.h>

#include <jansson.h>

/*
 * A sheet to write: `marking` (array of strings: lines above the table, in
 * bold; may be empty), `head` (array of strings: the header row), `rows`
 * (array of arrays, a cell each: a string is a text cell, an integer or a
 * real a number, null or absent an empty cell).  All borrowed.
 */
struct grid {
	json_t *marking, *head, *rows;
};

/* Writes the grid as the only sheet (named `name`, at most 31 characters)
 * of a new workbook at `path`.  Returns 0, or -1 with *why (caller frees). */
int cli_xlsx_write(const char *path, const char *name, const struct grid *g, char **why);

/*
 * Reads the first sheet of the workbook in bytes[0..len): *rows (new reference) is
 * an array of {line, cells}, one per row that has a cell, `line` its row
 * number in Excel (1-based) and `cells` an array of strings ("" for an
 * empty cell).  A number in a date format is its date (2023-06-01; Excel's
 * serial days, the 1900 system), in a format of a year and a month its
 * month (2024-10); another number its shortest decimal
 * (8700110005901 as typed, never 8.70011E+12); TRUE and FALSE as "true"
 * and "false".  Returns 0, or -1 with *why (caller frees).
 */
int cli_xlsx_read(const char *bytes, size_t len, json_t **rows, char **why);

/* Whether the bytes begin as a zip archive does (an .xlsx is one). */
int cli_xlsx_is_zip(const char *bytes, size_t len);

#endif
