/*
 * sheet — CSV, the one way the product reads and writes it: the daemon's
 * view --format csv, the packs' csv() helper (through rules.c), and the
 * client's import and export.  RFC 4180 as spreadsheets write it (quoted
 * fields with commas, quotes and line breaks; CRLF or LF; a UTF-8 BOM), read
 * with libcsv (Debian's libcsv-dev, in strict mode), and one formula guard.
 * Depends on libcsv and libc; its types stay inside sheet.c.
 *
 * The guard: a text cell that starts with one of SHEET_GUARD is written with
 * a ' before it (and quoted), so that a spreadsheet never runs it as a
 * formula (= + - @, and TAB or CR before one: OWASP's list), the mark itself
 * can be told from text (a text starting with '), and import does not read
 * it back as JSON ({ [).  Reading drops the mark again (sheet_unguard).
 */
#ifndef LIU_SHEET_H
#define LIU_SHEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SHEET_GUARD "=+-@\t\r'{[" /* first characters that get the ' mark */

/* Whether s starts with a character of SHEET_GUARD. */
bool sheet_guarded(const char *s);
/* s with the ' mark before it when sheet_guarded(s), else a copy.  Caller
 * frees; NULL when out of memory. */
char *sheet_guard(const char *s);
/* The text a cell holds: the cell without its ' mark when the mark is
 * followed by a character of SHEET_GUARD, else the cell itself.  Borrowed:
 * points into `cell`. */
const char *sheet_unguard(const char *cell);
/*
 * Whether a spreadsheet opening the CSV would turn the text s into a number
 * or a date: a 法人番号 (13 digits, shown as 8.70011E+12), "2024-10" (a
 * date), "1,000", "10:30", "1e5", "50%".  The rule: s starts with a digit
 * or a dot and holds only ASCII digits, the separators - / . : , and
 * spaces, a % at its end, or one e or E between digits.  Such a text is
 * written as the formula ="…" (sheet_text_cell), which every spreadsheet
 * shows as the text itself and import reads back as it.
 */
bool sheet_numberlike(const char *s);
/* The cell for the text s: sheet_guard(s), or ="s" when sheet_numberlike(s).
 * Caller frees; NULL when out of memory. */
char *sheet_text_cell(const char *s);
/* When cell is ="…" around a text of sheet_numberlike, that text (caller
 * frees); else NULL. */
char *sheet_untext_cell(const char *cell);
/* Writes one cell (already guarded: sheet_guard) as RFC 4180 wants it:
 * quoted, with its quotes doubled, when it holds a comma, a quote, CR or LF
 * or starts with the ' mark; else as it is.  Returns 0 or -EIO. */
int sheet_put_cell(FILE *f, const char *cell);

/* A reader over CSV text, row by row.  Opaque. */
struct sheet;

/* Starts reading `text` (borrowed: valid until sheet_close); a UTF-8 BOM at
 * its start is skipped.  A row (its bytes in the text, line breaks inside
 * quotes included) longer than row_max bytes is an error.  Returns the
 * reader (caller closes) or NULL when out of memory. */
struct sheet *sheet_open(const char *text, size_t len, size_t row_max);
void sheet_close(struct sheet *s);
/*
 * Reads the next row; blank lines are skipped.  Returns 1 with the row's
 * fields (sheet_nfield, sheet_field) and the line it starts on
 * (sheet_line); 0 at the end of the text; or, with sheet_why() saying what
 * and on which line, -EINVAL for a quote out of place (in an unquoted field,
 * or text after a closing quote) or a quoted field never closed, -E2BIG for
 * a row over row_max, -ENOMEM.  After an error, the reader is done.
 */
int sheet_next(struct sheet *s);
size_t sheet_nfield(const struct sheet *s);
/* Field i of the last row, NUL-terminated, its length in *len (if len is
 * not NULL; a field may hold NUL bytes).  Borrowed: valid until the next
 * sheet_next or sheet_close. */
const char *sheet_field(const struct sheet *s, size_t i, size_t *len);
/* The 1-based line of the text the last row starts on. */
size_t sheet_line(const struct sheet *s);
/* What the last error was, with its line; NULL when none.  Borrowed. */
const char *sheet_why(const struct sheet *s);

#endif
