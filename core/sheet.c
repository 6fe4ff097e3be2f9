/* sheet — see sheet.h.  CSV over libcsv, and the one formula guard. */
#include "sheet.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* --- the guard and cells out ------------------------------------------------ */

bool sheet_guarded(const char *s)
{
	return s[0] != '\0' && strchr(SHEET_GUARD, s[0]) != NULL;
}

char *sheet_guard(const char *s)
{
	size_t n = strlen(s), mark = sheet_guarded(s);
	char *g = malloc(n + mark + 1);
	if (!g)
		return NULL;
	g[0] = '\'';
	memcpy(g + mark, s, n + 1);
	return g;
}

const char *sheet_unguard(const char *cell)
{
	return cell[0] == '\'' && sheet_guarded(cell + 1) ? cell + 1 : cell;
}

bool sheet_numberlike(const char *s)
{
	if (!((s[0] >= '0' && s[0] <= '9') || s[0] == '.'))
		return false;
	bool digit = false, exp = false;
	for (const char *p = s; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digit = true;
		else if (*p == '%' && p[1] == '\0')
			;
		else if ((*p == 'e' || *p == 'E') && !exp && p > s && p[-1] >= '0' && p[-1] <= '9' &&
			 p[1] >= '0' && p[1] <= '9')
			exp = true;
		else if (!strchr("-/.:, ", *p))
			return false;
	}
	return digit;
}

char *sheet_text_cell(const char *s)
{
	if (!sheet_numberlike(s))
		return sheet_guard(s);
	size_t n = strlen(s);
	char *g = malloc(n + 4);
	if (!g)
		return NULL;
	memcpy(g, "=\"", 2);
	memcpy(g + 2, s, n);
	memcpy(g + 2 + n, "\"", 2);
	return g;
}

char *sheet_untext_cell(const char *cell)
{
	size_t n = strlen(cell);
	if (n < 4 || cell[0] != '=' || cell[1] != '"' || cell[n - 1] != '"')
		return NULL;
	char *t = strndup(cell + 2, n - 3);
	if (t && !sheet_numberlike(t)) {
		free(t);
		return NULL;
	}
	return t;
}

int sheet_put_cell(FILE *f, const char *cell)
{
	size_t n = strlen(cell);
	/* A marked cell is quoted too, so that every spreadsheet reads the
	 * mark and the TAB or CR after it as one text field. */
	if (cell[0] != '\'' && !strpbrk(cell, ",\"\r\n"))
		return fwrite(cell, 1, n, f) == n ? 0 : -EIO;
	return csv_fwrite(f, cell, n) == 0 ? 0 : -EIO;
}

/* --- reading ---------------------------------------------------------------- */

struct sheet {
	struct csv_parser p;
	const char *pos, *end;  /* borrowed: what is left of the text */
	size_t row_max;
	size_t line;            /* the line of *pos */
	size_t row_line;        /* the line the row being read starts on */
	size_t row_fed;         /* bytes of that row given to the parser so far */
	bool in_row;            /* a row is begun and not ended */
	bool row_done;          /* the parser ended a row (cb_row) */
	bool failed;
	char *buf;              /* owned: the row's fields, each NUL-terminated */
	size_t len, cap;
	size_t *start;          /* owned: each field's offset in buf */
	size_t nfield, fcap;
	bool nomem;
	char why[160];
};

/* libcsv skips spaces and tabs around unquoted fields unless told that
 * nothing is a space: a cell's text is kept exactly as it was written. */
static int no_space(unsigned char c)
{
	(void)c;
	return 0;
}

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * size);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

/* libcsv's field callback: copies the field into the row. */
static void cb_field(void *field, size_t n, void *data)
{
	struct sheet *s = data;
	if (s->nomem || !grow((void **)&s->buf, &s->cap, s->len + n + 1, 1) ||
	    !grow((void **)&s->start, &s->fcap, s->nfield + 1, sizeof *s->start)) {
		s->nomem = true;
		return;
	}
	s->start[s->nfield++] = s->len;
	if (n)
		memcpy(s->buf + s->len, field, n);
	s->len += n;
	s->buf[s->len++] = '\0';
}

/* libcsv's end-of-row callback. */
static void cb_row(int c, void *data)
{
	(void)c;
	((struct sheet *)data)->row_done = true;
}

__attribute__((format(printf, 3, 4)))
static int fail(struct sheet *s, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof s->why, fmt, ap);
	va_end(ap);
	s->failed = true;
	return rc;
}

struct sheet *sheet_open(const char *text, size_t len, size_t row_max)
{
	struct sheet *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	if (csv_init(&s->p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		free(s);
		return NULL;
	}
	csv_set_space_func(&s->p, no_space);
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		text += 3;
		len -= 3;
	}
	s->pos = text;
	s->end = text + len;
	s->row_max = row_max;
	s->line = 1;
	return s;
}

void sheet_close(struct sheet *s)
{
	if (!s)
		return;
	csv_free(&s->p);
	free(s->buf);
	free(s->start);
	free(s);
}

/* The parser's error, said for people. */
static int parse_failed(struct sheet *s)
{
	if (csv_error(&s->p) != CSV_EPARSE)
		return fail(s, -ENOMEM, "out of memory reading CSV");
	return fail(s, -EINVAL, "line %zu: a quote out of place (a field with a quote in it is quoted "
			       "whole, and the quote inside written twice: \"\")", s->line);
}

/*
 * Gives the parser the text up to and including the next CR or LF, so that
 * at most one row ends in each piece (a row ends only at a line break), and
 * the line the row starts on is known: the line of the first piece that is
 * more than a blank line's break.
 */
int sheet_next(struct sheet *s)
{
	if (s->failed)
		return -EINVAL;
	s->len = s->nfield = 0;
	s->row_done = false;
	while (!s->row_done) {
		if (s->pos == s->end) {
			if (csv_fini(&s->p, cb_field, cb_row, s) != 0)
				return fail(s, -EINVAL, "line %zu: a quoted field is never closed", s->row_line);
			if (!s->row_done)
				return 0;
			break;
		}
		const char *eol = s->pos;
		while (eol < s->end && *eol != '\n' && *eol != '\r')
			eol++;
		size_t n = (size_t)(eol - s->pos) + (eol < s->end);
		bool blank = n == 1 && (*s->pos == '\n' || *s->pos == '\r');
		if (!s->in_row) {
			s->row_line = s->line;
			s->row_fed = 0;
		}
		if (s->row_fed + n > s->row_max)
			return fail(s, -E2BIG, "line %zu: a row longer than %zu bytes", s->row_line, s->row_max);
		if (csv_parse(&s->p, s->pos, n, cb_field, cb_row, s) != n)
			return parse_failed(s);
		s->row_fed += n;
		s->in_row = (s->in_row || !blank) && !s->row_done;
		if (s->pos[n - 1] == '\n')
			s->line++;
		s->pos += n;
	}
	s->in_row = false;
	if (s->nomem)
		return fail(s, -ENOMEM, "out of memory reading CSV");
	return 1;
}

size_t sheet_nfield(const struct sheet *s)
{
	return s->nfield;
}

const char *sheet_field(const struct sheet *s, size_t i, size_t *len)
{
	const char *f = s->buf + s->start[i];
	if (len)
		*len = (i + 1 < s->nfield ? s->start[i + 1] - 1 : s->len - 1) - s->start[i];
	return f;
}

size_t sheet_line(const struct sheet *s)
{
	return s->row_line;
}

const char *sheet_why(const struct sheet *s)
{
	return s->failed ? s->why : NULL;
}
