/*
 * cli_table — text for a terminal: the display width of UTF-8 text (East
 * Asian wide characters take two columns, combining marks none), text made
 * safe to print, tables whose columns line up by that width (instants shown
 * in Japan time to the minute, the columns a pack ranks lowest left out
 * first when the terminal is narrow), and JSON values as the text of a
 * cell.  Record content is typed by people outside the
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

#include "sheet.h"

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

static char *take_cols(const char **p, int max, int *width);
static int out_width(void);

/* A line made safe for a terminal; fitted to a width when one is given,
 * wrapped between words, the lines after the first indented by two. */
static void put_line(FILE *f, const char *s)
{
	int width = out_width();
	if (width <= 8 || cli_text_width(s) <= width) {
		cli_put_text(f, s, false);
		fputc('\n', f);
		return;
	}
	for (bool first = true; *s; first = false) {
		int w;
		char *piece = take_cols(&s, first ? width : width - 2, &w);
		fprintf(f, "%s%s\n", first ? "" : "  ", piece);
		free(piece);
	}
}

/* Prints one formatted line on stdout, made safe for a terminal (a line
 * break in the text is data, and prints as a space), fitted to the width
 * tables are. */
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
	put_line(stdout, s);
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

/* How the tables of this run are printed (cli_table_output). */
static struct {
	enum cli_format format;
	char **names;      /* --columns, split; NULL: every column */
	bool *matched;     /* per name: some table printed had it */
	size_t nnames;
	int width;         /* columns to fit in; 0: no limit */
	bool bom_done;     /* CSV: the BOM is written once, before the first table */
} out;

void cli_table_output(enum cli_format f, const char *columns, int width)
{
	out.format = f;
	out.width = width;
	if (!columns)
		return;
	char *list = cli_xstrdup(columns), *save = NULL;
	for (char *n = strtok_r(list, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
		while (*n == ' ')
			n++;
		if (!*n)
			continue;
		out.names = cli_xrealloc(out.names, (out.nnames + 1) * sizeof *out.names);
		out.matched = cli_xrealloc(out.matched, (out.nnames + 1) * sizeof *out.matched);
		out.names[out.nnames] = cli_xstrdup(n);
		out.matched[out.nnames++] = false;
	}
	free(list);
}

/* The width tables are fitted to, for people's output only; 0: none. */
static int out_width(void)
{
	return out.format == CLI_TABLE ? out.width : 0;
}

enum cli_format cli_table_format(void)
{
	return out.format;
}

const char *cli_table_unmatched(void)
{
	for (size_t i = 0; i < out.nnames; i++)
		if (!out.matched[i])
			return out.names[i];
	return NULL;
}

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
	if (t->keys)
		for (size_t i = 0; i < t->ncols; i++)
			free(t->keys[i]);
	free(t->keys);
	free(t->prio);
	memset(t, 0, sizeof *t);
}

void cli_table_priority(struct table *t, size_t col, int p)
{
	if (!t->prio) {
		t->prio = cli_xrealloc(NULL, (t->ncols + 1) * sizeof *t->prio);
		memset(t->prio, 0, (t->ncols + 1) * sizeof *t->prio);
	}
	t->prio[col] = p;
}

void cli_table_keys(struct table *t, const char *const *keys)
{
	t->keys = cli_xrealloc(NULL, t->ncols * sizeof *t->keys);
	for (size_t i = 0; i < t->ncols; i++)
		t->keys[i] = keys[i] ? cli_xstrdup(keys[i]) : NULL;
}

/* Starts a new row of empty cells. */
void cli_table_row(struct table *t)
{
	t->cells = cli_xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof *t->cells);
	memset(t->cells + t->nrows * t->ncols, 0, t->ncols * sizeof *t->cells);
	t->nrows++;
}

/* --- instants for people --------------------------------------------- */

/* Days since 1970-01-01 of a civil date, and back (Howard Hinnant's
 * algorithms, exact for the proleptic Gregorian calendar). */
static long long days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153u * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, int *y, int *m, int *d)
{
	z += 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* The number of n digits at s, or -1. */
static int num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

#define SHORT_ZONE (9 * 60) /* Japan time, UTC+9 with no DST: the product's zone */

/*
 * Whether s is a whole instant as the daemon writes them
 * (2025-03-31T23:59:59+09:00; seconds, a fraction and Z optional): then
 * buf (32 bytes) gets it to the minute in Japan time, "2025-03-31 23:59",
 * the form a person reads in a table.  The offset and the seconds tell a
 * program nothing a person needs at a glance, and the full value costs a
 * table ten columns (TSV, CSV and JSON keep it whole).
 */
static bool short_instant(const char *s, char *buf)
{
	size_t n = strlen(s);
	if (n < 17 || n > 40 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':')
		return false;
	int y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2), h = num(s + 11, 2), mi = num(s + 14, 2);
	const char *p = s + 16;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59)
		return false;
	if (*p == ':') {
		if (num(p + 1, 2) < 0)
			return false;
		p += 3;
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
	}
	int off;
	if (strcmp(p, "Z") == 0) {
		off = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' && num(p + 1, 2) >= 0 &&
		   num(p + 4, 2) >= 0) {
		off = (num(p + 1, 2) * 60 + num(p + 4, 2)) * (*p == '-' ? -1 : 1);
	} else {
		return false;
	}
	long long at = (days_from_civil(y, mo, d) * 24 + h) * 60 + mi - off + SHORT_ZONE;
	long long day = at >= 0 ? at / 1440 : -((-at + 1439) / 1440);
	int min = (int)(at - day * 1440);
	civil_from_days(day, &y, &mo, &d);
	if (y < 1 || y > 9999)
		return false;
	snprintf(buf, 32, "%04d-%02d-%02d %02d:%02d", y, mo, d, min / 60, min % 60);
	return true;
}

/* Sets a cell of the current row to a copy of s (NULL: empty), whole: it
 * is cut or wrapped when printed, to the width the table gets then.  On a
 * terminal, an instant shows in Japan time to the minute (short_instant)
 * unless the table is exact. */
void cli_table_set(struct table *t, size_t col, const char *s)
{
	char shown[32];
	if (s && out.format == CLI_TABLE && !t->exact && short_instant(s, shown))
		s = shown;
	struct cell *c = &t->cells[(t->nrows - 1) * t->ncols + col];
	free(c->text);
	c->text = s ? cli_cell_text(s, 0, &c->width) : NULL;
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

/* A header row (cli_table_head): the rows added before it are headers. */
void cli_table_head(struct table *t, const char *const *row)
{
	cli_table_add(t, row);
	t->nhead = t->nrows;
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

/* Whether a --columns name names column c: its key or a header's text,
 * without regard to case, and with '_', '-' and ' ' the same. */
static bool names_column(const struct table *t, size_t c, const char *name)
{
	for (size_t r = 0; r <= t->nhead; r++) {
		const char *h = r < t->nhead ? t->cells[r * t->ncols + c].text : t->keys ? t->keys[c] : NULL;
		if (!h)
			continue;
		size_t i = 0;
		for (; h[i] && name[i]; i++) {
			char a = h[i], b = name[i];
			a = a == '_' || a == '-' ? ' ' : a >= 'A' && a <= 'Z' ? (char)(a - 'A' + 'a') : a;
			b = b == '_' || b == '-' ? ' ' : b >= 'A' && b <= 'Z' ? (char)(b - 'A' + 'a') : b;
			if (a != b)
				break;
		}
		if (!h[i] && !name[i])
			return true;
	}
	return false;
}

int cli_table_column(const struct table *t, const char *name)
{
	for (size_t c = 0; c < t->ncols; c++)
		if (names_column(t, c, name))
			return (int)c;
	return -1;
}

/* The columns printed, in order, into sel (t->ncols long): every one, or
 * those --columns names in its order.  Returns how many; 0 when a table
 * with headers has none of them (it is then left out). */
static size_t selected(const struct table *t, size_t *sel)
{
	size_t n = 0;
	if (!out.nnames || (!t->nhead && !t->keys)) {
		for (size_t c = 0; c < t->ncols; c++)
			sel[n++] = c;
		return n;
	}
	for (size_t i = 0; i < out.nnames; i++)
		for (size_t c = 0; c < t->ncols && n < t->ncols; c++)
			if (names_column(t, c, out.names[i])) {
				out.matched[i] = true;
				sel[n++] = c;
				break;
			}
	return n;
}

/* The next piece of s at most `max` columns wide (at least one character),
 * broken after the last space in it when there is one past its first
 * third, so that words stay whole, or before a space that does not fit:
 * a copy, *p moved past it (and past the space it broke at).  Caller frees. */
static char *take_cols(const char **p, int max, int *width)
{
	size_t cap = strlen(*p) + 1, len = 0, sp_len = 0;
	const char *sp_at = NULL;
	char *buf = cli_xrealloc(NULL, cap);
	int w = 0, sp_w = 0;
	while (**p) {
		const char *q = *p, *o;
		size_t n;
		int cw = safe_char(&q, &o, &n, false);
		if (w + cw > max && len > 0) {
			if (n == 1 && *o == ' ') {
				*p = q; /* the piece ends at a word: the space is the break */
			} else if (sp_at && sp_w * 3 >= max) {
				len = sp_len;
				w = sp_w;
				*p = sp_at;
			}
			break;
		}
		memcpy(buf + len, o, n);
		len += n;
		w += cw;
		*p = q;
		if (n == 1 && *o == ' ') {
			sp_at = q;        /* the next piece starts after the space */
			sp_len = len - 1; /* and this one ends before it */
			sp_w = w - 1;
		}
	}
	buf[len] = '\0';
	*width = w;
	return buf;
}

/*
 * The widths the selected columns get: each its widest cell, every
 * column but the last at most CELL_MAX (a pipe or a file gets that much),
 * and at most half the width to fit; then, when the row is still too
 * wide, the last column (which wraps, losing nothing) narrowed first, down
 * to WRAP_MIN, then the widest of the others (whose cells are cut), down
 * to MIN_COL, then the last again.
 */
#define MIN_COL 6
#define WRAP_MIN 24

#define CODE_MAX 24 /* the longest code kept whole */

/* Whether a cell reads as an id, a date or a code (LIU-000001,
 * 2024-06-01, 2025-03, confirmed): one broken is misread, so its column
 * keeps its width while free text gives way. */
static bool whole_value(const char *s)
{
	size_t n = strlen(s), i = 0;
	if (n == 0 || n > CODE_MAX)
		return n == 0;
	while (i < n && s[i] >= 'A' && s[i] <= 'Z')
		i++;
	if (i > 0 && i < n && s[i] == '-' && strspn(s + i + 1, "0123456789") == n - i - 1 && n - i - 1 > 0)
		return true; /* an id: letters, '-', digits */
	if ((n == 10 || n == 7) && strspn(s, "0123456789-") == n && s[4] == '-')
		return true; /* a date or a month */
	if (n == 16 && s[10] == ' ' && s[13] == ':' && strspn(s, "0123456789-") == 10)
		return true; /* an instant as short_instant() shows it */
	/* a code of one word, a name to type: application, confirmed,
	 * file_liu_application, special-measure */
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

/* Whether every cell of column c under the headers is whole_value(). */
static bool whole_column(const struct table *t, size_t c)
{
	bool any = false;
	for (size_t r = t->nhead; r < t->nrows; r++) {
		const char *s = t->cells[r * t->ncols + c].text;
		if (s && !whole_value(s))
			return false;
		any |= s && *s;
	}
	return any;
}

/* Whether every cell of column c under the headers starts with a date
 * and a 'T' (an instant: 2024-06-01T10:00:00+09:00). */
static bool instant_column(const struct table *t, size_t c)
{
	bool any = false;
	for (size_t r = t->nhead; r < t->nrows; r++) {
		const char *s = t->cells[r * t->ncols + c].text;
		if (s && *s && !(strlen(s) > 10 && s[10] == 'T' && whole_value((char[11]){ s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], 0 })))
			return false;
		any |= s && *s;
	}
	return any;
}

/* The widest cell of column c under the headers. */
static int data_width(const struct table *t, size_t c)
{
	int w = 0;
	for (size_t r = t->nhead; r < t->nrows; r++)
		if (t->cells[r * t->ncols + c].width > w)
			w = t->cells[r * t->ncols + c].width;
	return w;
}

static void fit(const struct table *t, const size_t *sel, size_t n, int *w)
{
	int total = 2 * ((int)n - 1);
	for (size_t k = 0; k < n; k++) {
		w[k] = 0;
		for (size_t r = 0; r < t->nrows; r++)
			if (t->cells[r * t->ncols + sel[k]].width > w[k])
				w[k] = t->cells[r * t->ncols + sel[k]].width;
		/* no column but the last wider than CELL_MAX, nor than half
		 * the width to fit */
		int cap = out.width && out.width / 2 < CELL_MAX ? out.width / 2 : CELL_MAX;
		if (k + 1 < n && w[k] > cap)
			w[k] = cap;
		total += w[k];
	}
	if (!out.width || total <= out.width)
		return;
	int over = total - out.width, cut = w[n - 1] - WRAP_MIN;
	if (cut > 0) {
		cut = cut < over ? cut : over;
		w[n - 1] -= cut;
		over -= cut;
	}
	/* Ids and dates keep their width (a header wider than them is cut):
	 * the others, free text, give way. */
	int *floor = cli_xrealloc(NULL, (n + 1) * sizeof *floor);
	for (size_t k = 0; k < n; k++) {
		floor[k] = MIN_COL;
		if (whole_column(t, sel[k])) {
			floor[k] = data_width(t, sel[k]);
			if (floor[k] > w[k])
				floor[k] = w[k];
		} else if (instant_column(t, sel[k])) {
			floor[k] = 10; /* the date whole on its first line */
		}
	}
	while (over > 0) {
		size_t widest = n;
		for (size_t k = 0; k + 1 < n; k++)
			if (w[k] > floor[k] && (widest == n || w[k] > w[widest]))
				widest = k;
		if (widest == n)
			widest = n - 1;
		if (w[widest] <= floor[widest])
			break;
		w[widest]--;
		over--;
	}
	free(floor);
}

/*
 * Columns left out of a table fitted to a width, as ps and kubectl do
 * rather than wrap every cell to a few characters: while the columns'
 * least widths (an id or a date whole, free text NEED_TEXT) do not fit,
 * the columns of the highest priority number go first (a pack says which
 * of its columns matter: cli_table_priority), and among them a column of
 * long text that would wrap over more than WRAP_LINES lines, the longest
 * first, then the rightmost other column of text (a pack puts what
 * matters most to the left; ids and dates stay while text can go), the
 * first two columns last (an id and a name); the first never.  Only a
 * table with headers and no --columns: what was asked for is printed.
 * Moves the left-out columns from sel to left; returns how many stay.
 */
#define NEED_TEXT 16
#define HEAD_LINES 2
#define WRAP_LINES 12
static int need(const struct table *t, size_t c)
{
	int d = data_width(t, c);
	if (whole_column(t, c))
		return d > MIN_COL ? d : MIN_COL;
	if (instant_column(t, c))
		return 10;
	return d < MIN_COL ? MIN_COL : d < NEED_TEXT ? d : NEED_TEXT;
}

/* A column's priority (cli_table_priority): PRIO_DEFAULT when not set. */
static int prio(const struct table *t, size_t c)
{
	return t->prio && t->prio[c] > 0 ? t->prio[c] : PRIO_DEFAULT;
}

/* The column leave_out() drops next, among sel[1..n) of the highest
 * priority number there: a column of text too long to wrap well, else the
 * rightmost other text column past the second, else the rightmost. */
static size_t drop_next(const struct table *t, const size_t *sel, size_t n)
{
	int p = 0;
	for (size_t k = 1; k < n; k++)
		p = prio(t, sel[k]) > p ? prio(t, sel[k]) : p;
	size_t drop = n - 1;
	while (drop > 1 && prio(t, sel[drop]) != p)
		drop--;
	for (size_t k = n - 1; k > 1; k--)
		if (prio(t, sel[k]) == p && !whole_column(t, sel[k]) && !instant_column(t, sel[k])) {
			drop = k;
			break;
		}
	int most = 0;
	for (size_t k = 1; k < n; k++) {
		int lines = (data_width(t, sel[k]) + NEED_TEXT - 1) / NEED_TEXT;
		if (prio(t, sel[k]) == p && !whole_column(t, sel[k]) && lines > WRAP_LINES && lines > most) {
			most = lines;
			drop = k;
		}
	}
	return drop;
}

static size_t leave_out(const struct table *t, size_t *sel, size_t n, size_t *left, size_t *nleft)
{
	*nleft = 0;
	if (!out.width || !t->nhead || out.nnames || n < 2)
		return n;
	for (;;) {
		int total = 2 * ((int)n - 1);
		for (size_t k = 0; k < n; k++)
			total += need(t, sel[k]);
		if (total <= out.width || n == 1)
			return n;
		size_t drop = drop_next(t, sel, n);
		left[(*nleft)++] = sel[drop];
		memmove(sel + drop, sel + drop + 1, (n - drop - 1) * sizeof *sel);
		n--;
	}
}

/* The note under a table that left columns out: which, and how to see
 * them, in both languages. */
static void left_out_note(const struct table *t, const size_t *left, size_t nleft, FILE *f)
{
	char *names = cli_xstrdup("");
	for (size_t i = 0; i < nleft; i++) {
		size_t c = left[i];
		const char *name = t->keys && t->keys[c] ? t->keys[c] : t->cells[c].text ? t->cells[c].text : "?";
		char *s = cli_xasprintf("%s%s%s", names, i ? ", " : "", name);
		free(names);
		names = s;
	}
	char *ja = cli_xasprintf("（%d桁に収まらない列を省略: %s。--columns で選ぶか、--format tsv で全列を表示）",
				 out.width, names);
	char *en = cli_xasprintf("(left out to fit %d columns: %s; pick columns with --columns, or see all "
				 "with --format tsv)", out.width, names);
	put_line(f, ja);
	put_line(f, en);
	free(ja);
	free(en);
	free(names);
}

/* One row of a table for people.  Fitted to a width, a cell wider than
 * its column wraps under itself (words kept whole where they can be),
 * the row taking as many lines as its tallest cell: nothing is cut.
 * Without a width, every cell but the row's last is cut at its column
 * with "...". */
static void print_row(const struct table *t, size_t r, const size_t *sel, size_t n, const int *w,
		      FILE *f)
{
	const struct cell *row = &t->cells[r * t->ncols];
	size_t last = 0; /* no padding after a row's last text */
	for (size_t k = 0; k < n; k++)
		if (row[sel[k]].text && row[sel[k]].text[0])
			last = k;
	const char **rest = cli_xrealloc(NULL, (n + 1) * sizeof *rest);
	for (size_t k = 0; k < n; k++)
		rest[k] = row[sel[k]].text ? row[sel[k]].text : "";
	bool more = true;
	/* A header (a title the pack wrote for a wide sheet) takes at most
	 * HEAD_LINES lines, its last cut with "...": the data keeps the screen. */
	int lines_left = r < t->nhead ? HEAD_LINES : INT_MAX;
	for (bool first = true; more; first = false) {
		more = false;
		bool cut_here = --lines_left == 0;
		size_t end = 0; /* the last cell with text on this line */
		for (size_t k = 0; k <= last; k++)
			if (*rest[k])
				end = k;
		for (size_t k = 0; k <= end; k++) {
			int cw = 0;
			if (!*rest[k]) {
				/* nothing left of this cell */
			} else if (out.width && cut_here) {
				char *c = cli_cell_text(rest[k], w[k], &cw);
				fputs(c, f);
				free(c);
				rest[k] = "";
			} else if (out.width) {
				char *piece = take_cols(&rest[k], w[k], &cw);
				fputs(piece, f);
				free(piece);
			} else if (k < last) {
				char *c = cli_cell_text(rest[k], w[k], &cw);
				fputs(c, f);
				free(c);
				rest[k] = "";
			} else {
				fputs(rest[k], f);
				rest[k] = "";
			}
			more |= *rest[k] != '\0';
			if (k < end)
				fprintf(f, "%*s", w[k] - cw + 2, "");
		}
		(void)first;
		fputc('\n', f);
	}
	free(rest);
}

/* A row as TSV (a tab between cells; the cells hold none) or CSV (RFC
 * 4180, with the sheet module's formula guard), the header once: the
 * columns' keys, else the first header row. */
static void print_sheet_row(const struct table *t, size_t r, const size_t *sel, size_t n, FILE *f)
{
	for (size_t k = 0; k < n; k++) {
		const char *s = r == SIZE_MAX ? t->keys[sel[k]] : t->cells[r * t->ncols + sel[k]].text;
		if (k)
			fputc(out.format == CLI_CSV ? ',' : '\t', f);
		if (out.format == CLI_CSV)
			sheet_put_cell(f, s ? s : "");
		else if (s)
			fputs(s, f);
	}
	fputs(out.format == CLI_CSV ? "\r\n" : "\n", f);
}

/* The BOM, before anything else of a CSV output (stdout's: not before
 * what goes to stderr). */
static void csv_start(FILE *f)
{
	if (f != stdout)
		return;
	if (out.format == CLI_CSV && !out.bom_done)
		fputs("\xEF\xBB\xBF", f); /* for Excel, as the daemon's CSV */
	out.bom_done = true;
}

void cli_table_line(FILE *f, const char *text)
{
	csv_start(f);
	if (out.format == CLI_CSV) {
		sheet_put_cell(f, text);
		fputs("\r\n", f);
	} else {
		put_line(f, text);
	}
}

void cli_table_print(const struct table *t, FILE *f)
{
	size_t *sel = cli_xrealloc(NULL, (t->ncols + 1) * sizeof *sel);
	int *w = cli_xrealloc(NULL, (t->ncols + 1) * sizeof *w);
	size_t n = selected(t, sel);
	if (n == 0) {
		/* nothing asked for is in this table */
	} else if (out.format == CLI_TABLE) {
		size_t *left = cli_xrealloc(NULL, (t->ncols + 1) * sizeof *left), nleft;
		n = leave_out(t, sel, n, left, &nleft);
		fit(t, sel, n, w);
		for (size_t r = 0; r < t->nrows; r++)
			print_row(t, r, sel, n, w, f);
		if (nleft)
			left_out_note(t, left, nleft, f);
		free(left);
	} else {
		csv_start(f);
		size_t r = 0;
		if (t->keys && t->nhead) {
			print_sheet_row(t, SIZE_MAX, sel, n, f);
			r = t->nhead;
		} else if (t->nhead) {
			print_sheet_row(t, 0, sel, n, f);
			r = t->nhead;
		}
		for (; r < t->nrows; r++)
			print_sheet_row(t, r, sel, n, f);
	}
	free(w);
	free(sel);
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
