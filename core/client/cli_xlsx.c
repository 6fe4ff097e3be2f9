/*
 * cli_xlsx — see cli_xlsx.h.  Writing is libxlsxwriter's; reading walks the
 * parts of the workbook the export writes and Excel and LibreOffice save:
 * xl/sharedStrings.xml, xl/styles.xml (which cell formats are dates) and
 * the first worksheet, each parsed with expat as it is unzipped.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>
#include <xlsxwriter.h>
#include <zip.h>

#include "cli_util.h"
#include "cli_xlsx.h"

#define XLSX_PART_MAX ((zip_uint64_t)1 << 30) /* largest part read: 1 GiB unzipped */
#define COLS_MAX 16384                        /* Excel's columns: A to XFD */

/* --- writing -------------------------------------------------------------------- */

/* Column widths in characters: wide enough for the longest cell's start,
 * never so wide that a 4 KB JSON cell makes the sheet unreadable. */
static double col_width(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xC0) != 0x80)
			n += *p >= 0xE0 ? 2 : 1; /* CJK: two columns */
	return n < 8 ? 8 : n > 40 ? 40 : (double)n + 1;
}

/* How the sheet prints from Excel, as the printed HTML list does: A4
 * landscape, as wide as one page, the marking and the header row repeated
 * on every page (and the marking in the page header, which stays when
 * someone hides the rows), page N / M in the footer. */
static void print_setup(lxw_worksheet *ws, const struct grid *g, lxw_row_t head_row)
{
	worksheet_set_landscape(ws);
	worksheet_set_paper(ws, 9); /* A4 */
	worksheet_fit_to_pages(ws, 1, 0);
	worksheet_repeat_rows(ws, 0, head_row);
	worksheet_set_footer(ws, "&C&P / &N");
	char hdr[256] = "&C&\"-,Bold\"";
	size_t n = strlen(hdr), i;
	json_t *v;
	json_array_foreach(g->marking, i, v) {
		for (const char *c = json_string_value(v); c && *c && n < sizeof hdr - 3; c++) {
			if (*c == '&')
				hdr[n++] = '&'; /* "&&" is a literal & in a header */
			hdr[n++] = *c;
		}
		if (n < sizeof hdr - 2)
			hdr[n++] = ' ';
	}
	hdr[n] = '\0';
	/* Excel's limit is 255 characters: a marking that long (cut, it could
	 * end inside a character) stays in the repeated rows alone. */
	if (json_array_size(g->marking) > 0 && n < sizeof hdr - 3)
		worksheet_set_header(ws, hdr);
}

int cli_xlsx_write(const char *path, const char *name, const struct grid *g, char **why)
{
	/* Our own words for a file that cannot be made, before the library
	 * prints its own on stderr. */
	FILE *probe = fopen(path, "wb");
	if (!probe) {
		*why = cli_xasprintf("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	fclose(probe);
	lxw_workbook_options opt = { .constant_memory = LXW_FALSE, .tmpdir = NULL };
	lxw_workbook *wb = workbook_new_opt(path, &opt);
	if (!wb) {
		*why = cli_xasprintf("cannot create %s: %s", path, strerror(errno ? errno : EIO));
		return -1;
	}
	lxw_worksheet *ws = workbook_add_worksheet(wb, name);
	/* "@": the cell is text; what is typed into it later stays text too. */
	lxw_format *text = workbook_add_format(wb);
	format_set_num_format(text, "@");
	format_set_text_wrap(text);
	format_set_align(text, LXW_ALIGN_VERTICAL_TOP);
	lxw_format *head = workbook_add_format(wb);
	format_set_bold(head);
	format_set_num_format(head, "@");
	format_set_text_wrap(head);
	format_set_bg_color(head, 0xDDEBF7);
	format_set_border(head, LXW_BORDER_THIN);
	lxw_format *mark = workbook_add_format(wb);
	format_set_bold(mark);
	format_set_font_color(mark, LXW_COLOR_RED);
	lxw_row_t r = 0;
	size_t i, j;
	json_t *v, *row;
	int rc = 0;
	json_array_foreach(g->marking, i, v)
		worksheet_write_string(ws, r++, 0, json_string_value(v), mark);
	lxw_row_t head_row = r;
	json_array_foreach(g->head, i, v) {
		worksheet_write_string(ws, r, (lxw_col_t)i, json_string_value(v), head);
		worksheet_set_column(ws, (lxw_col_t)i, (lxw_col_t)i, col_width(json_string_value(v)), text);
	}
	r++;
	worksheet_freeze_panes(ws, r, 0);
	json_array_foreach(g->rows, j, row) {
		json_array_foreach(row, i, v) {
			lxw_error e = LXW_NO_ERROR;
			if (json_is_string(v))
				e = worksheet_write_string(ws, r, (lxw_col_t)i, json_string_value(v), text);
			else if (json_is_number(v))
				e = worksheet_write_number(ws, r, (lxw_col_t)i, json_number_value(v), NULL);
			if (e != LXW_NO_ERROR && rc == 0) {
				*why = cli_xasprintf("row %u, column %zu: %s", (unsigned)r + 1, i + 1, lxw_strerror(e));
				rc = -1;
			}
		}
		r++;
	}
	print_setup(ws, g, head_row);
	if (json_array_size(g->head) > 0)
		worksheet_autofilter(ws, head_row, 0, r > head_row + 1 ? r - 1 : head_row,
				     (lxw_col_t)(json_array_size(g->head) - 1));
	lxw_error e = workbook_close(wb);
	if (e != LXW_NO_ERROR && rc == 0) {
		*why = cli_xasprintf("cannot write %s: %s", path, lxw_strerror(e));
		rc = -1;
	}
	return rc;
}

/* --- reading: the parts ----------------------------------------------------------- */

int cli_xlsx_is_zip(const char *bytes, size_t len)
{
	return len >= 4 && memcmp(bytes, "PK\x03\x04", 4) == 0;
}

/* A member of the archive, whole.  Returns the bytes (caller frees; *len
 * set), or NULL: *missing when there is no such member, else *why. */
static char *part(zip_t *z, const char *name, size_t *len, bool *missing, char **why)
{
	zip_stat_t st;
	*missing = false;
	if (zip_stat(z, name, 0, &st) < 0 || !(st.valid & ZIP_STAT_SIZE)) {
		*missing = true;
		return NULL;
	}
	if (st.size > XLSX_PART_MAX) {
		*why = cli_xasprintf("%s is over 1 GiB unzipped", name);
		return NULL;
	}
	zip_file_t *f = zip_fopen(z, name, 0);
	if (!f) {
		*why = cli_xasprintf("%s: %s", name, zip_strerror(z));
		return NULL;
	}
	char *b = cli_xrealloc(NULL, (size_t)st.size + 1);
	zip_int64_t got = zip_fread(f, b, st.size);
	zip_fclose(f);
	if (got < 0 || (zip_uint64_t)got != st.size) {
		*why = cli_xasprintf("%s: cannot unzip it (a damaged workbook?)", name);
		free(b);
		return NULL;
	}
	b[st.size] = '\0';
	*len = (size_t)st.size;
	return b;
}

/* A growing text. */
struct buf {
	char *s;
	size_t n, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->s = cli_xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

/* The local part of an element's name ("x:t" and "t" alike). */
static const char *local(const char *name)
{
	const char *c = strrchr(name, ':');
	return c ? c + 1 : name;
}

static const char *attr(const char **a, const char *name)
{
	for (; a && a[0]; a += 2)
		if (strcmp(local(a[0]), name) == 0)
			return a[1];
	return NULL;
}

/* What the three parsers share: the text being gathered and where. */
struct rd {
	XML_Parser p;
	struct buf text;
	bool in_text;   /* inside a <t> (or a <v>) whose text counts */
	int skip;       /* depth inside <rPh> (furigana) or <f>: not the cell's text */
	/* sharedStrings.xml */
	json_t *strings;
	/* styles.xml */
	json_t *date_fmts; /* custom numFmtId -> DATE_DAY or DATE_MONTH */
	json_t *xf_date;   /* per cellXfs index: DATE_DAY, DATE_MONTH or 0 */
	bool in_xfs;
	/* the sheet */
	json_t *rows, *cells;
	long row_no;
	size_t col;
	const char *type;   /* borrowed: the cell's t, interned below */
	char ctype[16];
	long style;
	bool have_v, have_is;
	char *err;
};

static void XMLCALL on_text(void *u, const char *s, int n)
{
	struct rd *r = u;
	if (r->in_text && r->skip == 0)
		buf_add(&r->text, s, (size_t)n);
}

/* --- sharedStrings.xml: <si> with <t>, or runs <r><t>, minus <rPh> ------- */

static void XMLCALL ss_start(void *u, const char *name, const char **a)
{
	struct rd *r = u;
	const char *n = local(name);
	if (strcmp(n, "si") == 0) {
		r->text.n = 0;
		buf_add(&r->text, "", 0);
	} else if (strcmp(n, "rPh") == 0) {
		r->skip++;
	} else if (strcmp(n, "t") == 0) {
		r->in_text = true;
	}
}

static void XMLCALL ss_end(void *u, const char *name)
{
	struct rd *r = u;
	const char *n = local(name);
	if (strcmp(n, "si") == 0)
		json_array_append_new(r->strings, json_string(r->text.s ? r->text.s : ""));
	else if (strcmp(n, "rPh") == 0)
		r->skip--;
	else if (strcmp(n, "t") == 0)
		r->in_text = false;
}

/* --- styles.xml: which cell formats show a date ---------------------------- */

/* What a number format's code shows, by its y, m and d outside quotes and
 * brackets ([Red], [$-411]): DATE_DAY, DATE_MONTH (a year and a month, no
 * day: 2024年10月), or 0. */
enum { DATE_DAY = 1, DATE_MONTH = 2 };
static int date_code(const char *c)
{
	bool q = false, y = false, m = false, d = false;
	int br = 0;
	for (; *c; c++) {
		if (*c == '"')
			q = !q;
		else if (!q && *c == '[')
			br++;
		else if (!q && *c == ']' && br)
			br--;
		else if (!q && !br && *c == '\\' && c[1])
			c++;
		else if (!q && !br && (*c == 'y' || *c == 'Y'))
			y = true;
		else if (!q && !br && (*c == 'm' || *c == 'M'))
			m = true;
		else if (!q && !br && (*c == 'd' || *c == 'D'))
			d = true;
	}
	return d ? DATE_DAY : y && m ? DATE_MONTH : 0; /* m alone: minutes, h:mm */
}

/* Excel's built-in date formats: 14 to 22, 27 to 36 (East Asian), 45 to 47,
 * 50 to 58; 17 (mmm-yy) shows a month. */
static int builtin_date(long id)
{
	if (id == 17)
		return DATE_MONTH;
	return (id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 45 && id <= 47) ||
	       (id >= 50 && id <= 58) ? DATE_DAY : 0;
}

static void XMLCALL st_start(void *u, const char *name, const char **a)
{
	struct rd *r = u;
	const char *n = local(name);
	if (strcmp(n, "numFmt") == 0 && attr(a, "numFmtId") && attr(a, "formatCode")) {
		int k = date_code(attr(a, "formatCode"));
		if (k)
			json_object_set_new(r->date_fmts, attr(a, "numFmtId"), json_integer(k));
	} else if (strcmp(n, "cellXfs") == 0) {
		r->in_xfs = true;
	} else if (strcmp(n, "xf") == 0 && r->in_xfs) {
		const char *id = attr(a, "numFmtId");
		long k = id ? strtol(id, NULL, 10) : 0;
		json_int_t date = id && json_object_get(r->date_fmts, id) ?
			json_integer_value(json_object_get(r->date_fmts, id)) : builtin_date(k);
		json_array_append_new(r->xf_date, json_integer(date));
	}
}

static void XMLCALL st_end(void *u, const char *name)
{
	struct rd *r = u;
	if (strcmp(local(name), "cellXfs") == 0)
		r->in_xfs = false;
}

/* --- the sheet ---------------------------------------------------------------- */

/* "AB12" -> the 0-based column 27; -1 when not a reference. */
static long ref_col(const char *ref)
{
	long c = 0;
	const char *p = ref;
	for (; *p >= 'A' && *p <= 'Z'; p++)
		c = c * 26 + (*p - 'A' + 1);
	return p == ref || c > COLS_MAX ? -1 : c - 1;
}

/* Serial days of the 1900 system as YYYY-MM-DD (YYYY-MM for a month's
 * format: `month`): day 1 is 1900-01-01, and
 * Excel counts a 1900-02-29 that never was (serial 60), so from 61 on the
 * days are counted from 1899-12-30. */
static char *serial_date(double v, bool month)
{
	long days = (long)floor(v);
	if (days < 1 || days > 2958465) /* 9999-12-31 */
		return NULL;
	if (days < 61)
		days += 1; /* before the false leap day: from 1899-12-31 */
	/* Civil from days since 1970-01-01 (H. Hinnant's algorithm). */
	long z = days - 25569 + 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	long d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
	if (month)
		return cli_xasprintf("%04ld-%02ld", y + (m <= 2), m);
	return cli_xasprintf("%04ld-%02ld-%02ld", y + (m <= 2), m, d);
}

/* The text of a number cell: its date in a date format, else the shortest
 * decimal that reads back as the same double. */
static char *number_text(struct rd *r, const char *v)
{
	char *end;
	double d = strtod(v, &end);
	if (end == v || *end)
		return cli_xstrdup(v);
	json_int_t kind = r->style >= 0 ? json_integer_value(json_array_get(r->xf_date, (size_t)r->style)) : 0;
	if (kind) {
		char *s = serial_date(d, kind == DATE_MONTH);
		if (s)
			return s;
	}
	if (d == floor(d) && fabs(d) < 1e15)
		return cli_xasprintf("%.0f", d);
	for (int prec = 1; prec <= 17; prec++) {
		char *s = cli_xasprintf("%.*g", prec, d);
		if (strtod(s, NULL) == d)
			return s;
		free(s);
	}
	return cli_xstrdup(v);
}

/* The cell ended: its text, by its type, into its column of the row. */
static void cell_end(struct rd *r)
{
	const char *t = r->ctype, *v = r->text.s ? r->text.s : "";
	char *s;
	if (!r->have_v && !r->have_is)
		return;
	if (strcmp(t, "s") == 0) {
		char *end;
		long k = strtol(v, &end, 10);
		json_t *x = json_array_get(r->strings, end != v && k >= 0 ? (size_t)k : (size_t)-1);
		if (!x) {
			if (!r->err)
				r->err = cli_xasprintf("row %ld: a shared string %s that the workbook does not have",
						       r->row_no, v);
			return;
		}
		s = cli_xstrdup(json_string_value(x));
	} else if (strcmp(t, "b") == 0) {
		s = cli_xstrdup(strcmp(v, "1") == 0 ? "true" : "false");
	} else if (strcmp(t, "inlineStr") == 0 || strcmp(t, "str") == 0 || strcmp(t, "e") == 0) {
		s = cli_xstrdup(v);
	} else {
		s = number_text(r, v);
	}
	while (json_array_size(r->cells) < r->col)
		json_array_append_new(r->cells, json_string(""));
	if (json_array_size(r->cells) == r->col)
		json_array_append_new(r->cells, json_string(s));
	else
		json_array_set_new(r->cells, r->col, json_string(s));
	free(s);
}

static void XMLCALL sh_start(void *u, const char *name, const char **a)
{
	struct rd *r = u;
	const char *n = local(name);
	if (strcmp(n, "row") == 0) {
		const char *no = attr(a, "r");
		r->row_no = no ? strtol(no, NULL, 10) : r->row_no + 1;
		r->cells = json_array();
		r->col = 0;
	} else if (strcmp(n, "c") == 0 && r->cells) {
		const char *ref = attr(a, "r"), *t = attr(a, "t"), *s = attr(a, "s");
		long c = ref ? ref_col(ref) : (long)json_array_size(r->cells);
		r->col = c >= 0 ? (size_t)c : json_array_size(r->cells);
		snprintf(r->ctype, sizeof r->ctype, "%s", t ? t : "n");
		r->style = s ? strtol(s, NULL, 10) : -1;
		r->have_v = r->have_is = false;
		r->text.n = 0;
		buf_add(&r->text, "", 0);
	} else if (strcmp(n, "v") == 0) {
		r->have_v = true;
		r->in_text = true;
	} else if (strcmp(n, "is") == 0) {
		r->have_is = true;
	} else if (strcmp(n, "t") == 0 && r->have_is) {
		r->in_text = true;
	} else if (strcmp(n, "rPh") == 0 || strcmp(n, "f") == 0) {
		r->skip++;
	}
}

static void XMLCALL sh_end(void *u, const char *name)
{
	struct rd *r = u;
	const char *n = local(name);
	if (strcmp(n, "row") == 0 && r->cells) {
		if (json_array_size(r->cells) > 0)
			json_array_append_new(r->rows, json_pack("{s:I, s:o}", "line", (json_int_t)r->row_no,
								 "cells", r->cells));
		else
			json_decref(r->cells);
		r->cells = NULL;
	} else if (strcmp(n, "c") == 0 && r->cells) {
		cell_end(r);
	} else if (strcmp(n, "v") == 0 || strcmp(n, "t") == 0) {
		r->in_text = false;
	} else if (strcmp(n, "rPh") == 0 || strcmp(n, "f") == 0) {
		r->skip--;
	}
}

/* Parses one part with the handlers.  Returns 0, or -1 with *why. */
static int parse(struct rd *r, const char *name, const char *xml, size_t len,
		 XML_StartElementHandler s, XML_EndElementHandler e, char **why)
{
	r->p = XML_ParserCreate("UTF-8");
	if (!r->p) {
		*why = cli_xstrdup("out of memory");
		return -1;
	}
	XML_SetUserData(r->p, r);
	XML_SetElementHandler(r->p, s, e);
	XML_SetCharacterDataHandler(r->p, on_text);
	int rc = 0;
	if (XML_Parse(r->p, xml, (int)len, 1) == XML_STATUS_ERROR) {
		*why = cli_xasprintf("%s: not XML: %s (line %lu)", name, XML_ErrorString(XML_GetErrorCode(r->p)),
				     (unsigned long)XML_GetCurrentLineNumber(r->p));
		rc = -1;
	}
	XML_ParserFree(r->p);
	r->in_text = false;
	r->skip = 0;
	return rc;
}

/* The name of the first worksheet: sheet1.xml as Excel, LibreOffice and
 * the export write it, else the first of xl/worksheets/ in the archive. */
static char *first_sheet(zip_t *z)
{
	if (zip_name_locate(z, "xl/worksheets/sheet1.xml", 0) >= 0)
		return cli_xstrdup("xl/worksheets/sheet1.xml");
	zip_int64_t n = zip_get_num_entries(z, 0);
	for (zip_int64_t i = 0; i < n; i++) {
		const char *nm = zip_get_name(z, (zip_uint64_t)i, 0);
		size_t l = nm ? strlen(nm) : 0;
		if (nm && strncmp(nm, "xl/worksheets/", 14) == 0 && !strchr(nm + 14, '/') && l > 18 &&
		    strcmp(nm + l - 4, ".xml") == 0)
			return cli_xstrdup(nm);
	}
	return NULL;
}

int cli_xlsx_read(const char *bytes, size_t blen, json_t **rows, char **why)
{
	zip_error_t ze;
	*why = NULL;
	zip_error_init(&ze);
	zip_source_t *src = zip_source_buffer_create(bytes, blen, 0, &ze);
	zip_t *z = src ? zip_open_from_source(src, ZIP_RDONLY, &ze) : NULL;
	if (!z) {
		*why = cli_xasprintf("not a workbook (.xlsx) that can be opened: %s", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		if (src)
			zip_source_free(src);
		return -1;
	}
	zip_error_fini(&ze);
	struct rd r = { .strings = json_array(), .date_fmts = json_object(), .xf_date = json_array(),
			.rows = json_array(), .style = -1 };
	char *sheet = first_sheet(z), *x = NULL;
	size_t len;
	bool missing;
	int rc = -1;
	if (!sheet) {
		*why = cli_xstrdup("the workbook has no worksheet (is it an .xlsx?)");
		goto out;
	}
	if ((x = part(z, "xl/sharedStrings.xml", &len, &missing, why)) != NULL) {
		if (parse(&r, "xl/sharedStrings.xml", x, len, ss_start, ss_end, why) < 0)
			goto out;
	} else if (!missing) {
		goto out;
	}
	free(x);
	x = NULL;
	if ((x = part(z, "xl/styles.xml", &len, &missing, why)) != NULL) {
		if (parse(&r, "xl/styles.xml", x, len, st_start, st_end, why) < 0)
			goto out;
	} else if (!missing) {
		goto out;
	}
	free(x);
	x = NULL;
	if (!(x = part(z, sheet, &len, &missing, why))) {
		if (missing)
			*why = cli_xasprintf("%s cannot be read", sheet);
		goto out;
	}
	if (parse(&r, sheet, x, len, sh_start, sh_end, why) < 0)
		goto out;
	if (r.err) {
		*why = r.err;
		r.err = NULL;
		goto out;
	}
	*rows = json_incref(r.rows);
	rc = 0;
out:
	free(x);
	free(sheet);
	free(r.text.s);
	free(r.err);
	json_decref(r.cells);
	json_decref(r.strings);
	json_decref(r.date_fmts);
	json_decref(r.xf_date);
	json_decref(r.rows);
	zip_close(z);
	return rc;
}
