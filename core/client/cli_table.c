/*
 * cli_table — text for a terminal: the display width of UTF-8 text (East
 * Asian wide characters take two columns, combining marks none), text made
 * safe to print, tables whose columns line up by that width, and JSON values
 * as the text of a cell.  Record content is typed by people outside the
 * operator's control, so everything printed from it goes through here.
 * Depends on libunistring (decoding and the Unicode width tables, not the
 * locale's), jansson and libc.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistr.h>
#include <uniwidth.h>

#include "cli.h"
#include "cli_table.h"
#include "cli_util.h"

/* --- display width ------------------------------------------------------ */

/* Columns a printable character takes: the Unicode tables of libunistring
 * (East Asian Wide and Fullwidth two, nonspacing and enclosing marks and
 * format characters such as U+200B none), with the East Asian Ambiguous
 * ones as one column ("UTF-8" is not a CJK encoding), so that the output does
 * not depend on the locale the operator happens to run under. */
static int char_width(const char *s, size_t n)
{
	int w = u8_width((const uint8_t *)s, n, "UTF-8");
	return w < 0 ? 1 : w;
}

/*
 * Reads one character at *p for display and advances *p past it.  Sets
 * *out and *outn to the bytes to print and returns the columns they take.
 *
 * Record content is typed by people outside the operator's control, so
 * nothing from it reaches the terminal as a control: C0, DEL and C1 controls
 * and the bidirectional overrides become '?' (tab and line breaks a space,
 * or themselves when `lines` allows them), so data can neither move the
 * cursor, send escape sequences nor reorder what the operator reads.
 */
static int safe_char(const char **p, const char **out, size_t *outn, bool lines)
{
	ucs4_t c;
	/* A string ends at its NUL: at most 4 bytes of one character before it. */
	int len = u8_mbtoucr(&c, (const uint8_t *)*p, strnlen(*p, 4));
	size_t n = len > 0 ? (size_t)len : 1; /* an invalid or cut byte alone */
	*out = *p;
	*outn = n;
	*p += n;
	if (len < 0)
		c = 0xFFFD; /* not a character: printed as '?' below */
	if (lines && (c == '\n' || c == '\t'))
		return 0;
	if (c == '\n' || c == '\t' || c == '\r') {
		*out = " ";
		*outn = 1;
		return 1;
	}
	if (len < 0 || c < 0x20 || (c >= 0x7F && c < 0xA0) || c == 0x061C ||
	    (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069)) {
		*out = "?";
		*outn = 1;
		return 1;
	}
	return char_width(*out, n);
}

/* Display width of s as safe_char() prints it. */
/* Display width of s as cli_put_text() prints it (East Asian wide characters
 * take two columns; controls are replaced, see put_text). */
static int cli_text_width(const char *s)
{
	int w = 0;
	const char *out;
	size_t n;
	while (*s)
		w += safe_char(&s, &out, &n, false);
	return w;
}

/* Writes s made safe for a terminal (see safe_char). */
void cli_put_text(FILE *f, const char *s, bool lines)
{
	const char *out;
	size_t n;
	while (*s) {
		safe_char(&s, &out, &n, lines);
		fwrite(out, 1, n, f);
	}
}

/* Prints one formatted line on stdout, made safe for a terminal (a line
 * break in the text is data, and prints as a space). */
__attribute__((format(printf, 1, 2)))
void cli_say(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	cli_put_text(stdout, s, false);
	fputc('\n', stdout);
	free(s);
}

/*
 * Returns s made safe for a terminal and cut to at most `max` columns
 * (max <= 0: no limit), with *width set.  A cut falls between characters,
 * never inside one, and ends in "..." (ASCII: the ellipsis character has an
 * ambiguous width that CJK terminals draw as two).  Caller frees.
 */
char *cli_cell_text(const char *s, int max, int *width)
{
	int limit = max > 0 && cli_text_width(s) > max ? max - 3 : INT_MAX;
	size_t cap = strlen(s) + 4, len = 0;
	char *buf = cli_xrealloc(NULL, cap);
	int w = 0;
	bool cut = false;
	while (*s) {
		const char *out;
		size_t n;
		int cw = safe_char(&s, &out, &n, false);
		if (w + cw > limit) {
			cut = true;
			break;
		}
		memcpy(buf + len, out, n); /* n never exceeds the bytes read */
		len += n;
		w += cw;
	}
	if (cut) {
		memcpy(buf + len, "...", 3);
		len += 3;
		w += 3;
	}
	buf[len] = '\0';
	*width = w;
	return buf;
}

/* --- tables ------------------------------------------------------------- */

void cli_table_init(struct table *t, size_t ncols)
{
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
}

void cli_table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i].text);
	free(t->cells);
	memset(t, 0, sizeof *t);
}

/* Starts a new row of empty cells. */
void cli_table_row(struct table *t)
{
	t->cells = cli_xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof *t->cells);
	memset(t->cells + t->nrows * t->ncols, 0, t->ncols * sizeof *t->cells);
	t->nrows++;
}

/* Sets a cell of the current row to a copy of s (NULL: empty). */
void cli_table_set(struct table *t, size_t col, const char *s)
{
	struct cell *c = &t->cells[(t->nrows - 1) * t->ncols + col];
	free(c->text);
	c->text = s ? cli_cell_text(s, col + 1 < t->ncols ? CELL_MAX : 0, &c->width) : NULL;
	if (!s)
		c->width = 0;
}

/* Adds a whole row at once; `row` holds ncols strings (NULL: empty). */
void cli_table_add(struct table *t, const char *const *row)
{
	cli_table_row(t);
	for (size_t i = 0; i < t->ncols; i++)
		cli_table_set(t, i, row[i]);
}

void cli_table_setj(struct table *t, size_t col, const json_t *v)
{
	char *s = cli_json_text(v);
	cli_table_set(t, col, s);
	free(s);
}

__attribute__((format(printf, 3, 4)))
void cli_table_setf(struct table *t, size_t col, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	cli_table_set(t, col, s ? s : "?");
	free(s);
}

void cli_table_print(const struct table *t, FILE *f)
{
	int *w = cli_xrealloc(NULL, t->ncols * sizeof *w);
	memset(w, 0, t->ncols * sizeof *w);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			if (t->cells[r * t->ncols + c].width > w[c])
				w[c] = t->cells[r * t->ncols + c].width;
	for (size_t r = 0; r < t->nrows; r++) {
		const struct cell *row = &t->cells[r * t->ncols];
		size_t last = 0; /* no padding after a row's last text */
		for (size_t c = 0; c < t->ncols; c++)
			if (row[c].text && row[c].text[0])
				last = c;
		for (size_t c = 0; c <= last; c++) {
			if (row[c].text)
				fputs(row[c].text, f);
			if (c < last)
				fprintf(f, "%*s", w[c] - row[c].width + 2, "");
		}
		fputc('\n', f);
	}
	free(w);
}

/* A "key: value" line in a two-column table. */
void cli_kv(struct table *t, const char *key, const char *value)
{
	cli_table_row(t);
	if (key) {
		char *k = cli_xasprintf("%s:", key);
		cli_table_set(t, 0, k);
		free(k);
	}
	cli_table_set(t, 1, value ? value : "-");
}

void cli_kvj(struct table *t, const char *key, const json_t *v)
{
	char *s = cli_json_text(v);
	cli_kv(t, key, s);
	free(s);
}

/* --- JSON for people ---------------------------------------------------- */

/* The text of a JSON value for a cell or a "key: value" line: strings as
 * they are, null as "-", lists of scalars joined with ", ", anything else as
 * compact JSON.  Caller frees. */
char *cli_json_text(const json_t *v)
{
	if (!v || json_is_null(v))
		return cli_xstrdup("-");
	if (json_is_string(v))
		return cli_xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return cli_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_real(v))
		return cli_xasprintf("%g", json_real_value(v));
	if (json_is_boolean(v))
		return cli_xstrdup(json_is_true(v) ? "true" : "false");
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		bool flat = true;
		json_array_foreach(v, i, x)
			flat = flat && !json_is_object(x) && !json_is_array(x);
		if (flat) {
			char *s = cli_xstrdup("");
			json_array_foreach(v, i, x) {
				char *e = cli_json_text(x);
				char *n = cli_xasprintf("%s%s%s", s, i ? ", " : "", e);
				free(e);
				free(s);
				s = n;
			}
			return s;
		}
	}
	char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	char *s = cli_xstrdup(d ? d : "?");
	free(d);
	return s;
}
