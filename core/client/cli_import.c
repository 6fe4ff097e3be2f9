/*
 * cli_import — records in bulk: `import` reads applications from JSON
 * lines or a spreadsheet's CSV and sends them in one `import` request (all
 * or nothing), or with --per-row in parts under the daemon's request line
 * limit (each row on its own); `export` writes every record out again, as
 * JSON lines or as CSV that `import` reads back.  Rows are reported by their
 * line in the file, which is what the person fixing the sheet sees.
 * Depends on liuctl_csv (files), liuctl_call (the daemon), liuctl_table (the
 * report), the wire module (the size of a request), jansson and libc.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_call.h"
#include "cli_data.h"
#include "cli_import.h"
#include "cli_label.h"
#include "cli_pattern.h"
#include "cli_print.h"
#include "cli_table.h"
#include "cli_util.h"
#include "cli_xlsx.h"
#include "sheet.h"
#include "wire.h"

#define IMPORT_ROWS_MAX 100000           /* rows the daemon takes in one import */
#define REQUEST_MAX_DEFAULT ((size_t)1 << 20) /* the daemon's default limits.request_bytes */
#define REQUEST_MIN 1024                 /* the smallest limits.request_bytes it accepts */
#define EXPORT_PAGE 1000                 /* records per record.list page: its most */
#define SKIPPED_SHOWN 5                  /* skipped rows named before "and N more" */
#define PROBLEMS_MAX 20                  /* problems of a file listed before "N more" */

/* A record's own fields: the daemon sets them.  export writes them first;
 * import skips them, so that an export reads back. */
static const char *const record_fields[] = { "id", "kind", "state", "rev", "created_at", "updated_at" };

static bool is_record_field(const char *s)
{
	for (size_t i = 0; i < sizeof record_fields / sizeof *record_fields; i++)
		if (strcmp(s, record_fields[i]) == 0)
			return true;
	return false;
}

/* --- the rows of a file ----------------------------------------------------------- */

struct rows {
	json_t *rows;  /* owned: the data objects, in the file's order */
	size_t *line;  /* owned: per row, the line of the file it starts on */
	size_t n, cap;
};

static void rows_add(struct rows *r, json_t *data, size_t line)
{
	json_array_append_new(r->rows, data);
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->line = cli_xrealloc(r->line, r->cap * sizeof *r->line);
	}
	r->line[r->n++] = line;
}

/* What is wrong with a file, line by line, the first PROBLEMS_MAX of them. */
struct problems {
	const char *file; /* borrowed: argv */
	size_t n;
	bool ignore_columns; /* --ignore-columns: a column no label names is left out */
};

__attribute__((format(printf, 3, 4)))
static void problem(struct problems *p, size_t line, const char *fmt, ...)
{
	if (p->n++ >= PROBLEMS_MAX)
		return;
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	fputs("liuctl: ", stderr);
	/* The file's text is anybody's: printed safely. */
	cli_put_text(stderr, p->file, false);
	if (line)
		fprintf(stderr, ": line %zu", line);
	fputs(": ", stderr);
	cli_put_text(stderr, n < 0 ? "?" : s, false);
	fputc('\n', stderr);
	if (n >= 0)
		free(s);
}

static int problems_end(struct problems *p)
{
	if (p->n > PROBLEMS_MAX)
		fprintf(stderr, "liuctl: ... and %zu more problems\n", p->n - PROBLEMS_MAX);
	if (p->n)
		fputs("liuctl: nothing was sent: fix the file and import it again\n", stderr);
	return p->n ? ST_USAGE : ST_OK;
}

/* JSON lines: one data object per line; blank lines skipped.  A line that
 * is a whole record, as export writes it, gives its data. */
static void read_jsonl(struct problems *p, const char *text, size_t len, struct rows *r)
{
	const char *s = text, *end = text + len;
	for (size_t line = 1; s < end; line++) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		const char *start = s, *b = s;
		s = nl ? nl + 1 : end;
		while (b < e && (*b == ' ' || *b == '\t' || *b == '\r'))
			b++;
		if (b == e)
			continue;
		json_error_t err;
		json_t *v = json_loadb(b, (size_t)(e - b), JSON_REJECT_DUPLICATES, &err);
		if (!v) {
			problem(p, line, "not JSON: %s (column %d)", err.text, err.column + (int)(b - start));
			continue;
		}
		if (!json_is_object(v)) {
			problem(p, line, "not a JSON object: give one data object per line");
			json_decref(v);
			continue;
		}
		json_t *data = json_object_get(v, "data");
		if (json_is_object(data) && json_is_string(json_object_get(v, "kind")) &&
		    json_is_string(json_object_get(v, "id"))) {
			json_incref(data);
			json_decref(v);
			v = data;
		}
		rows_add(r, v, line);
	}
}

/* A column's letters as a spreadsheet shows them: A, B, ..., Z, AA, ... */
static char *column_name(size_t i)
{
	char buf[16];
	size_t n = sizeof buf - 1;
	buf[n] = '\0';
	do {
		buf[--n] = (char)('A' + i % 26);
		i = i / 26;
	} while (i-- > 0 && n > 0);
	return cli_xstrdup(buf + n);
}

/* s without blanks at either end.  Caller frees. */
static char *trimmed(const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return strndup(s, n);
}

/* The field path a header cell names: "impact_assessment.result", or the
 * text in the last parentheses of a bilingual header such as
 * "影響度評価の結果 (impact_assessment.result)" (full-width ones too).
 * Caller frees. */
static char *header_path(const char *h)
{
	char *t = trimmed(h, strlen(h));
	size_t n = strlen(t);
	const char *open = NULL;
	size_t close = 0; /* bytes of the closing parenthesis */
	if (n > 0 && t[n - 1] == ')')
		close = 1;
	else if (n >= 3 && memcmp(t + n - 3, "\xEF\xBC\x89", 3) == 0) /* ） */
		close = 3;
	if (close) {
		for (const char *q = t + n - close; q > t; q--) {
			if (q[-1] == '(') {
				open = q;
				break;
			}
			if (q - t >= 3 && memcmp(q - 3, "\xEF\xBC\x88", 3) == 0) { /* （ */
				open = q;
				break;
			}
		}
	}
	if (open) {
		char *in = trimmed(open, (size_t)(t + n - close - open));
		free(t);
		t = in;
	}
	return t;
}

/* A path of names joined by dots, none of them empty. */
static bool path_ok(const char *p)
{
	if (!*p || *p == '.' || p[strlen(p) - 1] == '.' || strstr(p, ".."))
		return false;
	return true;
}

/* Whether every cell of the record is empty: a blank line, or a row a
 * spreadsheet wrote as ",,,,". */
static bool csv_blank(const struct sheet *c)
{
	for (size_t i = 0; i < sheet_nfield(c); i++)
		if (sheet_field(c, i, NULL)[0])
			return false;
	return true;
}

/* The rows of a CSV as the xlsx reader gives a sheet's: [{line, cells}],
 * blank rows left out.  A row longer than `max` bytes (the daemon's line
 * limit) could not be sent in any request, so the reader refuses it. */
static json_t *csv_grid(struct problems *p, const char *text, size_t len, size_t max)
{
	struct sheet *c = sheet_open(text, len, max);
	if (!c) {
		fputs("liuctl: out of memory\n", stderr);
		exit(ST_REPLY);
	}
	json_t *grid = json_array();
	int rc;
	while ((rc = sheet_next(c)) == 1) {
		if (csv_blank(c))
			continue;
		json_t *cells = json_array();
		for (size_t i = 0; i < sheet_nfield(c); i++)
			json_array_append_new(cells, json_string(sheet_field(c, i, NULL)));
		json_array_append_new(grid, json_pack("{s:I, s:o}", "line", (json_int_t)sheet_line(c), "cells", cells));
	}
	if (rc < 0)
		problem(p, 0, "%s", sheet_why(c));
	sheet_close(c);
	return grid;
}

/* The record's own columns in words, as export labels them. */
static const char *const record_labels[][2] = {
	{ "番号", "ID" }, { "種類", "Kind" }, { "状態", "State" },
	{ "版", "Revision" }, { "作成日時", "Created" }, { "更新日時", "Updated" },
};

/* "ja / en", or ja alone when the two are the same.  Caller frees. */
static char *both(const char *ja, const char *en)
{
	return !en || !*en || strcmp(ja, en) == 0 ? cli_xstrdup(ja) : cli_xasprintf("%s / %s", ja, en);
}

/*
 * What the pack's sheets say a header or a first line may be (record.list's
 * `sheets`): labels -> field path ("サービス名", "Service name" and
 * "サービス名 / Service name" -> service_name), and the handling markings
 * (as text -> true).  Asked of the daemon once; without an answer (an older
 * daemon, no role for record.list) headers are field paths only.
 */
struct labels {
	json_t *path, *marking;
	json_t *cols;   /* path -> true: the sheets' columns */
	json_t *folded; /* cli_label_fold(label, true) -> path */
	json_t *bare;   /* cli_label_fold(label, false) -> path, "" when two labels share it */
	json_t *names;  /* [label, path]: what the closest label is looked for in */
	json_t *codes;  /* path -> {folded code or label -> code}: an enumeration's */
	json_t *recorded; /* field -> true: what the pack records itself, labelled */
};

/* An enumeration's codes and labels of a sheet column, folded, into
 * l->codes: a cell is read as its code whether the clerk typed the code or
 * a label, in full-width letters or with spaces (ＬＯＷ, 低 位). */
static void codes_of(struct labels *l, const json_t *col)
{
	json_t *values = json_object_get(col, "values"), *v, *m = json_object();
	size_t i;
	json_array_foreach(values, i, v) {
		const char *names[] = { cli_jstr(v, "id"), cli_jstr(v, "ja"), cli_jstr(v, "en") };
		for (size_t k = 0; names[0] && k < 3; k++)
			if (names[k]) {
				char *f = cli_label_fold(names[k], true);
				if (*f && !json_object_get(m, f))
					json_object_set_new(m, f, json_string(names[0]));
				free(f);
			}
	}
	if (json_object_size(m))
		json_object_set(l->codes, cli_jstr(col, "id"), m);
	json_decref(m);
}

/* The code a cell names in the enumeration at path, or NULL (then the cell
 * goes as it is, and the daemon says what it accepts). */
static const char *code_named(const struct labels *l, const char *path, const json_t *v)
{
	json_t *m = path && json_is_string(v) ? json_object_get(l->codes, path) : NULL;
	if (!m)
		return NULL;
	char *f = cli_label_fold(json_string_value(v), true);
	const char *code = cli_jstr(m, f);
	free(f);
	return code;
}

static void label_one(struct labels *l, const char *label, const char *id)
{
	char *f = cli_label_fold(label, true), *b = cli_label_fold(label, false);
	json_object_set_new(l->folded, f, json_string(id));
	const char *was = cli_jstr(l->bare, b);
	if (*b)
		json_object_set_new(l->bare, b, json_string(was && strcmp(was, id) != 0 ? "" : id));
	json_array_append_new(l->names, json_pack("[s, s]", label, id));
	free(f);
	free(b);
}

static void label_add(struct labels *l, json_t *map, const char *ja, const char *en, const char *id)
{
	char *b = both(ja, en);
	json_object_set_new(map, ja, json_string(id));
	if (en)
		json_object_set_new(map, en, json_string(id));
	json_object_set_new(map, b, json_string(id));
	if (map == l->path) {
		label_one(l, ja, id);
		if (en)
			label_one(l, en, id);
		label_one(l, b, id);
	}
	free(b);
}

static void labels_of(const json_t *sheets, struct labels *l)
{
	l->path = json_object();
	l->marking = json_object();
	l->cols = json_object();
	l->folded = json_object();
	l->bare = json_object();
	l->names = json_array();
	l->codes = json_object();
	l->recorded = json_object();
	for (size_t k = 0; k < sizeof record_fields / sizeof *record_fields; k++)
		label_add(l, l->path, record_labels[k][0], record_labels[k][1], record_fields[k]);
	const char *kind;
	json_t *sh, *col;
	size_t i;
	json_object_foreach((json_t *)sheets, kind, sh) {
		json_array_foreach(json_object_get(sh, "columns"), i, col)
			if (cli_jstr(col, "id")) {
				label_add(l, l->path, cli_jstr_or(col, "ja", cli_jstr(col, "id")), cli_jstr(col, "en"),
					  cli_jstr(col, "id"));
				json_object_set_new(l->cols, cli_jstr(col, "id"), json_true());
				codes_of(l, col);
				label_one(l, cli_jstr(col, "id"), cli_jstr(col, "id"));
			}
		json_t *m = json_object_get(sh, "marking");
		if (cli_jstr(m, "ja"))
			label_add(l, l->marking, cli_jstr(m, "ja"), cli_jstr(m, "en"), "");
		const char *field;
		json_object_foreach(json_object_get(sh, "recorded"), field, m)
			json_object_set_new(l->recorded, field, json_true());
	}
}

/* Returns ST_OK (labels or none) or ST_CONNECT (no daemon: said why). */
static int labels_fetch(struct ctl *c, struct labels *l)
{
	json_t *params = json_pack("{s:i}", "limit", 1), *out = NULL;
	int st = cli_call(c, "record.list", params, &out);
	labels_of(st == ST_OK ? json_object_get(out, "sheets") : NULL, l);
	json_decref(out);
	json_decref(params);
	return st == ST_CONNECT ? ST_CONNECT : ST_OK;
}

/* The path a label names, compared folded (cli_label_fold): with its
 * notes, else without them ("法人番号（13桁）" is 法人番号).  NULL when none
 * or when two labels are the same without their notes. */
static const char *label_path(const struct labels *l, const char *h)
{
	char *f = cli_label_fold(h, true);
	const char *id = cli_jstr(l->folded, f);
	free(f);
	if (!id) {
		f = cli_label_fold(h, false);
		id = cli_jstr(l->bare, f);
		free(f);
	}
	return id && *id ? id : NULL;
}

/* The field path a header cell names: a label of the pack's sheet as a
 * whole ("サービス名", "ｻｰﾋﾞｽ名", "サービス 名"), else the path in its last
 * parentheses (header_path()) as a path or a label, else the label before
 * a note in brackets ("法人番号（13桁）"); else header_path() as it is.
 * Caller frees. */
static char *header_field(const char *h, const struct labels *l)
{
	char *t = trimmed(h, strlen(h));
	const char *id = cli_jstr(l->path, t);
	if (!id) {
		char *f = cli_label_fold(t, true);
		id = cli_jstr(l->folded, f);
		free(f);
	}
	if (!id) {
		char *p = header_path(t);
		if (strcmp(p, t) != 0 && (is_record_field(p) || json_object_get(l->cols, p)))
			id = p;
		else if (strcmp(p, t) != 0)
			id = label_path(l, p);
		if (!id)
			id = label_path(l, t);
		if (id) {
			char *r = cli_xstrdup(id);
			free(p);
			free(t);
			return r;
		}
		free(t);
		return p;
	}
	free(t);
	return cli_xstrdup(id);
}

/* The closest label of the pack's sheet to a header, and its path
 * (borrowed from l); NULL when the pack has none. */
static const char *closest_label(const struct labels *l, const char *h, const char **path)
{
	char *f = cli_label_fold(h, false);
	const char *best = NULL;
	size_t bd = (size_t)-1, i;
	json_t *e;
	json_array_foreach(l->names, i, e) {
		char *g = cli_label_fold(json_string_value(json_array_get(e, 0)), false);
		size_t d = cli_label_distance(f, g);
		if (d < bd) {
			bd = d;
			best = json_string_value(json_array_get(e, 0));
			*path = json_string_value(json_array_get(e, 1));
		}
		free(g);
	}
	free(f);
	return best;
}

/* How many cells of a row hold something. */
static size_t filled(const json_t *cells)
{
	size_t n = 0, i;
	json_t *v;
	json_array_foreach(cells, i, v)
		n += json_string_length(v) > 0;
	return n;
}

/* The index of the header row: the first row, unless that is a title line
 * above the table — one cell in the first column that is a handling
 * marking of the pack, or that a wider row follows (the marking line the
 * export writes, or a title a clerk typed). */
static size_t header_row(const json_t *grid, const struct labels *l)
{
	size_t h = 0;
	while (h + 1 < json_array_size(grid)) {
		json_t *cells = json_object_get(json_array_get(grid, h), "cells");
		const char *first = json_string_value(json_array_get(cells, 0));
		if (filled(cells) != 1 || !first || !*first)
			break;
		char *t = trimmed(first, strlen(first));
		bool mark = json_object_get(l->marking, t) != NULL;
		free(t);
		if (!mark && filled(json_object_get(json_array_get(grid, h + 1), "cells")) < 2)
			break;
		h++;
	}
	return h;
}

/* Whether a path is a column of the pack's sheets, or inside or around
 * one (certifications, impact_assessment.result and impact_assessment):
 * true for any path when no kind declares a sheet. */
static bool in_sheet(const struct labels *l, const char *path)
{
	const char *id;
	json_t *v;
	if (json_object_size(l->cols) == 0 || json_object_get(l->cols, path))
		return true;
	size_t n = strlen(path);
	json_object_foreach(l->cols, id, v) {
		size_t k = strlen(id);
		if ((k < n && strncmp(path, id, k) == 0 && path[k] == '.') ||
		    (n < k && strncmp(id, path, n) == 0 && id[n] == '.'))
			return true;
	}
	return false;
}

/* Whether a header is a field path as export writes the columns past the
 * sheet's (what the pack records itself, such as confirmed_on): the path
 * alone, not a misspelt column of the sheet. */
static bool pack_recorded(const struct labels *l, const char *header, const char *h)
{
	/* Labelled by the pack as it writes it: "確認日 / Confirmed on (confirmed_on)". */
	char *top = cli_xasprintf("%.*s", (int)strcspn(h, "."), h);
	bool labelled = json_object_get(l->recorded, top) != NULL;
	free(top);
	if (labelled)
		return true;
	char *t = trimmed(header, strlen(header));
	bool bare = strcmp(t, h) == 0 && path_ok(h) && h[strspn(h, "abcdefghijklmnopqrstuvwxyz0123456789_.")] == '\0';
	free(t);
	const char *id;
	json_t *v;
	json_object_foreach(l->cols, id, v)
		if (bare && cli_label_distance(id, h) <= 2)
			return false;
	return bare;
}

/* A column that no path or label of the pack's sheet names: the import is
 * refused (its data would be lost without a word) unless --ignore-columns
 * said to leave such columns out; a column of what the pack records
 * itself, as export writes it, is left out with a note. */
static void unread_column(struct problems *p, size_t line, const char *col, const char *header, const char *h,
			  const struct labels *l)
{
	if (path_ok(h) && pack_recorded(l, header, h)) {
		fprintf(stderr, "liuctl: ");
		cli_put_text(stderr, p->file, false);
		fprintf(stderr, ": column %s (", col);
		cli_put_text(stderr, h, false);
		fputs(") is recorded by the pack, not a column of its sheet: not read\n", stderr);
		return;
	}
	if (p->ignore_columns) {
		fprintf(stderr, "liuctl: ");
		cli_put_text(stderr, p->file, false);
		fprintf(stderr, ": column %s (", col);
		cli_put_text(stderr, header, false);
		fputs(") not read (--ignore-columns)\n", stderr);
		return;
	}
	const char *path = NULL, *near = closest_label(l, header, &path);
	if (near)
		problem(p, line, "column %s 「%s」 is not read: no column of the pack's sheet has this name; "
			"the closest is 「%s」 (%s).  Name the column so, or give --ignore-columns to import "
			"the file without it", col, header, near, path);
	else
		problem(p, line, "column %s \"%s\" is not read: it is not a field path (names joined by dots, "
			"such as impact_assessment.result); give --ignore-columns to import the file without it",
			col, header);
}

/* The header's cells as field paths: per column its path, NULL when the
 * column is skipped (the record's own, one the pack records itself that
 * the export writes after the sheet's, or unnamed: unnamed[i]).  An
 * enumeration named twice is one column per language, as export writes
 * it: twin[i] is then 1 + the first's index (grid_row reads the first). */
static char **header_paths(struct problems *p, const json_t *row, const struct labels *l, bool **unnamed,
			   size_t **twin)
{
	json_t *cells = json_object_get(row, "cells");
	size_t ncols = json_array_size(cells), line = (size_t)json_integer_value(json_object_get(row, "line"));
	char **path = cli_xrealloc(NULL, (ncols + 1) * sizeof *path);
	*unnamed = cli_xrealloc(NULL, (ncols + 1) * sizeof **unnamed);
	*twin = cli_xrealloc(NULL, (ncols + 1) * sizeof **twin);
	for (size_t i = 0; i < ncols; i++) {
		char *h = header_field(json_string_value(json_array_get(cells, i)), l);
		char *col = column_name(i);
		path[i] = NULL;
		(*twin)[i] = 0;
		(*unnamed)[i] = !*h;
		if (!*h || is_record_field(h)) {
			free(h);
		} else if (!path_ok(h) || !in_sheet(l, h)) {
			unread_column(p, line, col, json_string_value(json_array_get(cells, i)), h, l);
			free(h);
		} else {
			size_t k = 0;
			while (k < i && !(path[k] && strcmp(path[k], h) == 0))
				k++;
			if (k < i && json_object_get(l->codes, h) && !(*twin)[k]) {
				(*twin)[i] = k + 1;
				free(h);
			} else if (k < i) {
				char *first = column_name(k);
				problem(p, line, "column %s: %s is named twice (column %s too)", col, h, first);
				free(first);
				free(h);
			} else {
				path[i] = h;
			}
		}
		free(col);
	}
	return path;
}

/* One row's cells as a data object (added to r), or problems. */
/* A value's column in the other language (twin): read where the first is
 * empty; where both are given and differ, the first is read, with a note. */
static json_t *twin_value(const struct problems *p, const json_t *cells, size_t line, const char *path,
			  size_t first, size_t i, json_t *v, const struct labels *l)
{
	json_t *f = cli_value_of_cell(json_string_value(json_array_get(cells, first)));
	if (!f)
		return v;
	const char *a = code_named(l, path, f), *b = code_named(l, path, v);
	if (!a || !b || strcmp(a, b) != 0) {
		char *ca = column_name(first), *cb = column_name(i);
		fprintf(stderr, "liuctl: ");
		cli_put_text(stderr, p->file, false);
		fprintf(stderr, ": line %zu: columns %s and %s give %s differently: column %s is read\n", line, ca, cb,
			path, ca);
		free(ca);
		free(cb);
	}
	json_decref(f);
	json_decref(v);
	return NULL;
}

static void grid_row(struct problems *p, const json_t *row, char **path, const bool *unnamed, const size_t *twin,
		     size_t ncols, const struct labels *l, struct rows *r)
{
	json_t *cells = json_object_get(row, "cells");
	size_t line = (size_t)json_integer_value(json_object_get(row, "line"));
	if (json_array_size(cells) > ncols) {
		/* Cells past the header's that are empty are no data. */
		for (size_t i = ncols; i < json_array_size(cells); i++)
			if (json_string_length(json_array_get(cells, i)) > 0) {
				problem(p, line, "%zu cells, but the header names %zu columns",
					json_array_size(cells), ncols);
				return;
			}
	}
	json_t *data = json_object();
	bool bad = false;
	for (size_t i = 0; i < json_array_size(cells) && i < ncols; i++) {
		json_t *v = cli_value_of_cell(json_string_value(json_array_get(cells, i)));
		if (!v)
			continue;
		const char *at = twin[i] ? path[twin[i] - 1] : path[i];
		if (twin[i] && !(v = twin_value(p, cells, line, at, twin[i] - 1, i, v, l)))
			continue;
		char *col = column_name(i);
		if (unnamed[i]) {
			problem(p, line, "column %s has a value but no name in the header", col);
			bad = true;
			json_decref(v);
		} else if (at) {
			const char *code = code_named(l, at, v);
			if (code) {
				json_decref(v);
				v = json_string(code);
			}
			int e = cli_data_set(data, at, v);
			if (e == -EEXIST)
				problem(p, line, "column %s: %s is given twice (by another column too)", col, at);
			else if (e == -ENOTDIR)
				problem(p, line, "column %s: %s: another column gives a part of it a value "
					"that is not an object", col, at);
			bad |= e < 0;
		} else {
			json_decref(v);
		}
		free(col);
	}
	if (bad)
		json_decref(data);
	else
		rows_add(r, data, line);
}

/*
 * A sheet (CSV or the first sheet of a workbook): a title line or the
 * handling marking may come first; then a header row of field paths or of
 * the pack's labels; then one application per row.  Empty cells are absent
 * fields; the record's own columns (id, ...) are skipped.
 */
static void read_grid(struct problems *p, const json_t *grid, const struct labels *l, struct rows *r)
{
	if (json_array_size(grid) == 0) {
		if (p->n == 0)
			problem(p, 0, "no header row: the first line names the fields, e.g. service_name,provider_name");
		return;
	}
	size_t h = header_row(grid, l);
	bool *unnamed = NULL;
	size_t *twin = NULL;
	json_t *head = json_array_get(grid, h);
	size_t ncols = json_array_size(json_object_get(head, "cells"));
	char **path = header_paths(p, head, l, &unnamed, &twin);
	for (size_t k = h + 1; k < json_array_size(grid); k++)
		grid_row(p, json_array_get(grid, k), path, unnamed, twin, ncols, l, r);
	free(twin);
	for (size_t i = 0; i < ncols; i++)
		free(path[i]);
	free(path);
	free(unnamed);
}

/* --- the report --------------------------------------------------------------------- */

/* Adds a reason to the failure table: ROW and FIELD, the Japanese text,
 * then the English one on a line of its own under it. */
static void reason_rows(struct table *t, size_t line, const char *field, const json_t *reason,
			const char *fallback)
{
	const char *ja = json_is_string(reason) ? json_string_value(reason) : cli_jstr(reason, "ja");
	const char *en = cli_jstr(reason, "en");
	cli_table_row(t);
	cli_table_setf(t, 0, "%zu", line);
	cli_table_set(t, 1, field ? field : "-");
	cli_table_set(t, 2, ja ? ja : en ? en : fallback);
	if (ja && en) {
		cli_table_row(t);
		cli_table_set(t, 2, en);
	}
}

/* The failed rows, one line per reason, by their line in the file. */
static void failed_table(FILE *f, const json_t *failed, const struct rows *r)
{
	struct table t;
	cli_table_init(&t, 3);
	cli_table_add(&t, (const char *[]){ "ROW", "FIELD", "REASON (ja) / (en)" });
	size_t i, k;
	json_t *fe, *e;
	json_array_foreach(failed, i, fe) {
		json_int_t row = json_integer_value(json_object_get(fe, "row"));
		size_t line = row >= 0 && (size_t)row < r->n ? r->line[row] : 0;
		json_t *data = json_object_get(fe, "data");
		json_t *errors = json_object_get(data, "errors"), *reasons = json_object_get(data, "reasons");
		const char *msg = cli_jstr_or(fe, "message", "failed");
		if (json_array_size(errors)) {
			json_array_foreach(errors, k, e)
				reason_rows(&t, line, cli_jstr(e, "field"), json_object_get(e, "reason"), msg);
		} else if (json_array_size(reasons)) {
			json_array_foreach(reasons, k, e)
				reason_rows(&t, line, cli_jstr(data, "field"), e, msg);
		} else {
			reason_rows(&t, line, cli_jstr(data, "field"), json_object_get(data, "reason"), msg);
		}
	}
	cli_table_print(&t, f);
	cli_table_free(&t);
}

/* "skipped 2 rows already recorded with the same content: line 2 (LIU-000001), …":
 * rows whose record (by the kind's identity) is live with the same data,
 * so that importing a file again writes nothing new. */
static void say_skipped(FILE *f, const json_t *skipped, const struct rows *r)
{
	size_t k = json_array_size(skipped);
	if (k == 0)
		return;
	fprintf(f, "skipped %zu row%s already recorded with the same content:", k, k == 1 ? "" : "s");
	size_t i;
	json_t *e;
	json_array_foreach(skipped, i, e) {
		if (i == SKIPPED_SHOWN) {
			/* 325 ids on one line help nobody: the rest with --json. */
			fprintf(f, ", and %zu more (--json lists them all)", k - i);
			break;
		}
		json_int_t row = json_integer_value(json_object_get(e, "row"));
		const char *id = json_string_value(json_object_get(e, "id"));
		fprintf(f, "%s line %zu (", i ? "," : "", row >= 0 && (size_t)row < r->n ? r->line[row] : (size_t)row + 1);
		cli_put_text(f, id ? id : "?", false);
		fputc(')', f);
	}
	fputc('\n', f);
}

/* "imported N of M rows (LIU-000001 to LIU-000020)". */
static void say_imported(FILE *f, json_int_t created, size_t n, const json_t *ids)
{
	fprintf(f, "imported %" JSON_INTEGER_FORMAT " of %zu row%s", created, n, n == 1 ? "" : "s");
	size_t k = json_array_size(ids);
	if (k > 0) {
		const char *first = json_string_value(json_array_get(ids, 0));
		const char *last = json_string_value(json_array_get(ids, k - 1));
		fputs(" (", f);
		cli_put_text(f, first ? first : "?", false);
		if (k > 1) {
			fputs(" to ", f);
			cli_put_text(f, last ? last : "?", false);
		}
		fputc(')', f);
	}
	fputc('\n', f);
}

/* The result for --json: each failed row with its line in the file too. */
static void print_result_json(json_t *res, const struct rows *r)
{
	size_t i;
	json_t *fe;
	json_array_foreach(json_object_get(res, "failed"), i, fe) {
		json_int_t row = json_integer_value(json_object_get(fe, "row"));
		if (row >= 0 && (size_t)row < r->n)
			json_object_set_new(fe, "line", json_integer((json_int_t)r->line[row]));
	}
	cli_print_json(res);
}

/* An error reply to an import; after -32007, what to do about it. */
static void import_error(const json_t *err, size_t max)
{
	cli_print_error(err);
	if (json_integer_value(json_object_get(err, "code")) == WIRE_OVER_LIMIT)
		fprintf(stderr, "  the daemon's limits.request_bytes is below %zu: give it with --max-bytes\n", max);
}

/* --- import --------------------------------------------------------------------------- */

/* The bytes of the request line liuctl would send for `params` next. */
static size_t request_size(const struct ctl *c, json_t *params)
{
	char *line = wire_request(c->id + 1, "import", params);
	if (!line) {
		fputs("liuctl: out of memory\n", stderr);
		exit(ST_REPLY);
	}
	size_t n = strlen(line);
	free(line);
	return n;
}

/* All rows in one request: all or nothing. */
static int import_checked(struct ctl *c, const char *action, const struct rows *r, size_t max);

static int import_atomic(struct ctl *c, const char *action, const struct rows *r, size_t max)
{
	json_t *params = json_pack("{s:s, s:O, s:b}", "action", action, "rows", r->rows, "atomic", 1);
	size_t size = request_size(c, params);
	if (size > max || r->n > IMPORT_ROWS_MAX) {
		/* Too large for one request: checked whole, then sent in parts
		 * (the size of a file is no limit a clerk should meet). */
		if (isatty(STDERR_FILENO)) {
			char *have = cli_bytes_text((long long)size), *lim = cli_bytes_text((long long)max);
			fprintf(stderr, "liuctl: import: %zu rows, %s, over the daemon's request limit of %s: "
				"every row is checked first, then they are sent in parts\n", r->n, have, lim);
			free(have);
			free(lim);
		}
		json_decref(params);
		return import_checked(c, action, r, max);
	}
	json_t *out = NULL;
	int st = cli_call(c, "import", params, &out);
	json_decref(params);
	if (st == ST_OK) {
		if (c->json)
			print_result_json(out, r);
		else {
			say_imported(stdout, json_integer_value(json_object_get(out, "created")), r->n,
				     json_object_get(out, "ids"));
			say_skipped(stdout, json_object_get(out, "skipped"), r);
		}
	} else if (st == ST_REPLY) {
		json_t *data = json_object_get(out, "data");
		json_t *failed = json_object_get(data, "failed");
		if (json_is_array(failed)) {
			/* Not the daemon's message: it counts rows from 0, the
			 * report counts the file's lines. */
			fprintf(stderr, "liuctl: error %" JSON_INTEGER_FORMAT ": import refused, nothing was "
				"written: %zu of %zu row%s fail\n",
				json_integer_value(json_object_get(out, "code")), json_array_size(failed), r->n,
				r->n == 1 ? "" : "s");
			failed_table(stderr, failed, r);
			fprintf(stderr, "imported 0 of %zu row%s: the import is all or nothing; fix the rows "
				"above, or import the others with --per-row\n", r->n, r->n == 1 ? "" : "s");
		} else {
			import_error(out, max);
		}
	}
	json_decref(out);
	return st;
}

/* How a file goes in parts (send_parts). */
enum parts_mode {
	PARTS_PER_ROW, /* each part atomic: false, each row on its own (--per-row) */
	PARTS_CHECK,   /* each part dry_run: through the pack, nothing written */
	PARTS_SEND,    /* each part atomic, after PARTS_CHECK found every row good */
};

/* "checked 120 of 300 rows" on a terminal, over itself, and the line ended
 * at the end (when there was one); nothing in a pipe. */
static void progress(enum parts_mode mode, size_t done, size_t n, bool end)
{
	if (!isatty(STDERR_FILENO) || n == 0 || (end && done == 0))
		return;
	if (end)
		fputc('\n', stderr);
	else
		fprintf(stderr, "\rliuctl: import: %s %zu of %zu rows", mode == PARTS_CHECK ? "checked" : "sent",
			done, n);
	fflush(stderr);
}

/*
 * The rows in parts, each as large as the limit allows; a row too large to
 * go alone is reported as failed.  The parts' results are merged into
 * `all` ({created, ids, failed}: `created` counts the valid rows of a
 * check), row indexes counted over the whole file.  Returns the status of
 * the last call, with *stop the row it stopped at.
 */
static int send_parts(struct ctl *c, const char *action, const struct rows *r, size_t max,
		      enum parts_mode mode, json_t *all, size_t *stop)
{
	json_t *ids = json_object_get(all, "ids"), *failed = json_object_get(all, "failed");
	json_t *params = json_pack("{s:s, s:[], s:b}", "action", action, "rows", "atomic", mode == PARTS_SEND);
	if (mode == PARTS_CHECK)
		json_object_set_new(params, "dry_run", json_true());
	json_t *skipped = json_object_get(all, "skipped");
	/* The request without rows, and room for a longer request id. */
	size_t base = request_size(c, params) + 24;
	int st = ST_OK;
	size_t i = 0;
	while (i < r->n && st == ST_OK) {
		size_t size = base, j = i;
		for (; j < r->n && j - i < IMPORT_ROWS_MAX; j++) {
			size_t rs = json_dumpb(json_array_get(r->rows, j), NULL, 0,
					       JSON_COMPACT | JSON_ENCODE_ANY) + (j > i);
			if (size + rs > max)
				break;
			size += rs;
		}
		if (j == i) {
			char ja[160], en[160];
			snprintf(ja, sizeof ja, "この行だけで要求の上限（%zu バイト）を超えるため、送りませんでした", max);
			snprintf(en, sizeof en, "not sent: this row alone is over the request limit (%zu bytes)", max);
			json_array_append_new(failed, json_pack("{s:I, s:i, s:s, s:{s:{s:s, s:s}}}", "row",
				(json_int_t)i, "code", WIRE_OVER_LIMIT, "message", en, "data", "reason", "ja", ja,
				"en", en));
			i++;
			continue;
		}
		json_t *part = json_array(), *out = NULL;
		for (size_t k = i; k < j; k++)
			json_array_append(part, json_array_get(r->rows, k));
		json_object_set_new(params, "rows", part);
		st = cli_call(c, "import", params, &out);
		if (st == ST_OK) {
			json_int_t made = json_integer_value(json_object_get(out, mode == PARTS_CHECK ? "valid" : "created"));
			json_object_set_new(all, "created", json_integer(json_integer_value(json_object_get(all, "created")) + made));
			json_array_extend(ids, json_object_get(out, "ids"));
			size_t k;
			json_t *fe;
			json_array_foreach(json_object_get(out, "failed"), k, fe) {
				json_object_set_new(fe, "row", json_integer(json_integer_value(json_object_get(fe, "row")) +
					(json_int_t)i));
				json_array_append(failed, fe);
			}
			json_array_foreach(json_object_get(out, "skipped"), k, fe) {
				json_object_set_new(fe, "row", json_integer(json_integer_value(json_object_get(fe, "row")) +
					(json_int_t)i));
				json_array_append(skipped, fe);
			}
			json_object_set(all, "rules_version", json_object_get(out, "rules_version"));
			i = j;
			progress(mode, i, r->n, false);
		} else if (st == ST_REPLY) {
			import_error(out, max);
		}
		json_decref(out);
	}
	progress(mode, i, r->n, true);
	json_decref(params);
	*stop = i;
	return st;
}

static json_t *parts_result(const struct rows *r)
{
	return json_pack("{s:I, s:I, s:[], s:[], s:[]}", "rows", (json_int_t)r->n, "created", (json_int_t)0, "ids",
			 "failed", "skipped");
}

/* --per-row: the rows in parts, each row written on its own. */
static int import_parts(struct ctl *c, const char *action, const struct rows *r, size_t max)
{
	json_t *all = parts_result(r), *failed = json_object_get(all, "failed");
	size_t stop;
	int st = send_parts(c, action, r, max, PARTS_PER_ROW, all, &stop);
	json_int_t created = json_integer_value(json_object_get(all, "created"));
	if (st != ST_OK) {
		/* Parts before this one are written: say how far it got. */
		fprintf(stderr, "liuctl: stopped at the row on line %zu: ", r->line[stop]);
		say_imported(stderr, created, r->n, json_object_get(all, "ids"));
	} else if (c->json) {
		print_result_json(all, r);
	} else {
		say_imported(stdout, created, r->n, json_object_get(all, "ids"));
		say_skipped(stdout, json_object_get(all, "skipped"), r);
		if (json_array_size(failed)) {
			printf("%zu row%s failed:\n", json_array_size(failed), json_array_size(failed) == 1 ? "" : "s");
			failed_table(stdout, failed, r);
		}
	}
	if (st == ST_OK && json_array_size(failed))
		st = ST_REPLY;
	json_decref(all);
	return st;
}

/*
 * A file too large for one request, all or nothing as far as the pack can
 * tell: every row checked first (dry_run, in parts), nothing sent while
 * any fails; then sent in parts.  Only what changes between the check and
 * the sending (another client, a rule reload) can stop it part way, and
 * then the parts before are written and the message says so.
 */
static int import_checked(struct ctl *c, const char *action, const struct rows *r, size_t max)
{
	json_t *check = parts_result(r), *failed = json_object_get(check, "failed");
	size_t stop;
	int st = send_parts(c, action, r, max, PARTS_CHECK, check, &stop);
	if (st == ST_OK && json_array_size(failed) > 0) {
		fprintf(stderr, "liuctl: import refused, nothing was written: %zu of %zu row%s fail\n",
			json_array_size(failed), r->n, r->n == 1 ? "" : "s");
		failed_table(stderr, failed, r);
		fprintf(stderr, "imported 0 of %zu row%s: the import is all or nothing; fix the rows "
			"above, or import the others with --per-row\n", r->n, r->n == 1 ? "" : "s");
		st = ST_REPLY;
	}
	json_decref(check);
	if (st != ST_OK)
		return st;
	json_t *all = parts_result(r);
	st = send_parts(c, action, r, max, PARTS_SEND, all, &stop);
	json_int_t created = json_integer_value(json_object_get(all, "created"));
	if (st != ST_OK) {
		fprintf(stderr, "liuctl: stopped at the row on line %zu (the rows before it are written): ",
			r->line[stop]);
		say_imported(stderr, created, r->n, json_object_get(all, "ids"));
	} else if (c->json) {
		print_result_json(all, r);
	} else {
		say_imported(stdout, created, r->n, json_object_get(all, "ids"));
		say_skipped(stdout, json_object_get(all, "skipped"), r);
	}
	json_decref(all);
	return st;
}

/* Whether `s` names one of the choices, case aside ("UTF-8", "sjis"). */
static bool one_of(const char *s, const char *const *choices)
{
	for (; *choices; choices++)
		if (strcasecmp(s, *choices) == 0)
			return true;
	return false;
}

/* The format a file is in, from its name or its first bytes. */
static const char *guess_format(const char *file, const char *bytes, size_t len)
{
	const char *dot = strrchr(file, '.');
	if ((dot && strcasecmp(dot, ".xlsx") == 0) || cli_xlsx_is_zip(bytes, len))
		return "xlsx";
	if (dot && strcasecmp(dot, ".csv") == 0)
		return "csv";
	if (dot && (strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0 ||
		    strcasecmp(dot, ".json") == 0))
		return "jsonl";
	size_t k = 0;
	if (len >= 3 && memcmp(bytes, "\xEF\xBB\xBF", 3) == 0)
		k = 3;
	while (k < len && strchr(" \t\r\n", bytes[k]) && bytes[k])
		k++;
	return k < len && bytes[k] == '{' ? "jsonl" : "csv";
}

/* The rows of the file's bytes, by its format; a sheet's headers read with
 * the pack's labels.  Returns ST_OK (the file's problems in p) or
 * ST_CONNECT. */
static int read_file(struct ctl *c, struct problems *p, const char *bytes, size_t len, enum text_enc enc,
		     const char *format, size_t max, struct rows *r)
{
	char *why = NULL;
	json_t *grid = NULL;
	if (!format)
		format = guess_format(p->file, bytes, len);
	if (strcmp(format, "xlsx") == 0) {
		if (cli_xlsx_read(bytes, len, &grid, &why) < 0) {
			problem(p, 0, "%s", why);
			free(why);
			return ST_OK;
		}
	} else {
		size_t tlen;
		char *text = cli_text_decode(bytes, len, enc, &tlen, &why);
		if (!text) {
			problem(p, 0, "%s", why);
			free(why);
			return ST_OK;
		}
		if (strcmp(format, "jsonl") == 0)
			read_jsonl(p, text, tlen, r);
		else
			grid = csv_grid(p, text, tlen, max);
		free(text);
	}
	if (!grid)
		return ST_OK;
	struct labels l;
	int st = labels_fetch(c, &l);
	if (st == ST_OK)
		read_grid(p, grid, &l, r);
	json_decref(l.path);
	json_decref(l.marking);
	json_decref(l.cols);
	json_decref(l.folded);
	json_decref(l.bare);
	json_decref(l.names);
	json_decref(l.codes);
	json_decref(l.recorded);
	json_decref(grid);
	return st;
}

int cli_exec_import(struct ctl *c, const struct args *a)
{
	static const char *const utf8[] = { "utf-8", "utf8", NULL };
	static const char *const sjis[] = { "shift_jis", "shift-jis", "sjis", "cp932", "windows-31j", NULL };
	const char *file = cli_arg(a, "file"), *action = cli_arg(a, "action"), *format = cli_arg(a, "format");
	const char *encoding = cli_arg(a, "encoding"), *maxs = cli_arg(a, "max-bytes");
	bool per_row = cli_arg(a, "per-row") != NULL;
	enum text_enc enc = ENC_AUTO;
	size_t max = REQUEST_MAX_DEFAULT;
	if (!action)
		action = "submit";
	if (format && strcmp(format, "jsonl") != 0 && strcmp(format, "csv") != 0 && strcmp(format, "xlsx") != 0)
		return cli_usage_fail(a->cmd, "--format: jsonl, csv or xlsx, not %s", format);
	if (encoding && one_of(encoding, utf8))
		enc = ENC_UTF8;
	else if (encoding && one_of(encoding, sjis))
		enc = ENC_SJIS;
	else if (encoding)
		return cli_usage_fail(a->cmd, "--encoding: utf-8 or shift_jis, not %s", encoding);
	if (maxs) {
		char *end;
		errno = 0;
		unsigned long long m = strtoull(maxs, &end, 10);
		if (errno || end == maxs || *end || maxs[0] == '-' || m < REQUEST_MIN || m > (1ull << 30))
			return cli_usage_fail(a->cmd, "--max-bytes: a whole number from %d to %llu, not %s",
					  REQUEST_MIN, 1ull << 30, maxs);
		max = (size_t)m;
	}

	char *bytes;
	size_t len;
	int rc = cli_file_read(file, &bytes, &len);
	if (rc < 0) {
		fputs("liuctl: cannot read ", stderr);
		cli_put_text(stderr, file, false);
		fprintf(stderr, ": %s\n", strerror(-rc));
		return ST_USAGE;
	}
	struct problems p = { .file = file, .ignore_columns = cli_arg(a, "ignore-columns") != NULL };
	struct rows r = { .rows = json_array() };
	int st = read_file(c, &p, bytes, len, enc, format, max, &r);
	free(bytes);
	if (st == ST_OK)
		st = problems_end(&p);
	if (st == ST_OK && r.n == 0) {
		fputs("liuctl: ", stderr);
		cli_put_text(stderr, file, false);
		fputs(": no rows to import\n", stderr);
		st = ST_USAGE;
	}
	if (st == ST_OK)
		st = per_row ? import_parts(c, action, &r, max) : import_atomic(c, action, &r, max);
	json_decref(r.rows);
	free(r.line);
	return st;
}

/* --- export ------------------------------------------------------------------------------ */

/*
 * The table of an export, the same for CSV and .xlsx: the kinds' handling
 * markings above it; the record's own columns, then the columns of the
 * kinds' sheets in the pack's order, then any other data field in the order
 * of its path; headers "日本語 / English (path)" where the pack labels the
 * column (the record's own are labelled with them), else the path.
 */
struct export_table {
	json_t *marking, *head, *rows; /* struct grid's */
	json_t *cols;                  /* per column: its path */
	json_t *lang;                  /* per column: "ja" or "en" for a labelled value's, else null */
	json_t *inexact;               /* path -> true: not carried exactly */
	json_t *sheet_cols;            /* path -> true: named by a kind's sheet */
	json_t *labels;                /* path -> {code -> label}: an enumeration's */
};

/* The labels of a sheet column's enumeration ({code -> {ja, en}}), into
 * t->labels: an export writes what a clerk reads, 低位 for low; import
 * takes either back. */
static void enum_labels(struct export_table *t, const json_t *col)
{
	json_t *values = json_object_get(col, "values"), *v, *m = json_object();
	size_t i;
	json_array_foreach(values, i, v)
		if (cli_jstr(v, "id") && cli_jstr(v, "ja"))
			json_object_set(m, cli_jstr(v, "id"), v);
	if (json_object_size(m))
		json_object_set(t->labels, cli_jstr(col, "id"), m);
	json_decref(m);
}

static int by_path(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A column; a labelled value's (an enumeration, the state) is two, one per
 * language, headed "ja (path)" and "en (path)" as the service list's
 * sheets head theirs; else one headed "ja / en (path)", or the path alone
 * (label NULL). */
static void export_column(struct export_table *t, const char *path, const char *ja, const char *en, bool per_lang)
{
	if (per_lang && ja && en && strcmp(ja, en) != 0) {
		json_array_append_new(t->cols, json_string(path));
		json_array_append_new(t->head, json_sprintf("%s (%s)", ja, path));
		json_array_append_new(t->lang, json_string("ja"));
		json_array_append_new(t->cols, json_string(path));
		json_array_append_new(t->head, json_sprintf("%s (%s)", en, path));
		json_array_append_new(t->lang, json_string("en"));
		return;
	}
	char *b = ja ? both(ja, en) : NULL;
	json_array_append_new(t->cols, json_string(path));
	json_array_append_new(t->head, b ? json_sprintf("%s (%s)", b, path) : json_string(path));
	json_array_append_new(t->lang, per_lang ? json_string("ja") : json_null());
	free(b);
}

/* The label of a column past the sheet's: its top-level field's, when the
 * pack labels what it records itself (sheets' `recorded`); NULL if none. */
static const json_t *recorded_label(const json_t *records, const json_t *sheets, const char *path)
{
	size_t n = strcspn(path, "."), i;
	char *top = cli_xasprintf("%.*s", (int)n, path);
	const json_t *rec, *found = NULL;
	json_array_foreach(records, i, rec) {
		json_t *sh = json_object_get(sheets, cli_jstr_or(rec, "kind", ""));
		found = json_object_get(json_object_get(sh, "recorded"), top);
		if (found)
			break;
	}
	free(top);
	return found;
}

/* The columns and their headers, from the records and the pack's sheets. */
static void export_columns(struct export_table *t, const json_t *records, const json_t *flat, const json_t *sheets)
{
	json_t *seen = json_object(), *kinds = json_object(), *rec, *row, *col, *v;
	size_t i, k;
	const char *key;
	json_array_foreach(records, i, rec)
		json_object_set_new(kinds, cli_jstr_or(rec, "kind", ""), json_true());
	bool labelled = false;
	json_object_foreach(kinds, key, v) {
		json_t *sh = json_object_get(sheets, key);
		labelled |= json_array_size(json_object_get(sh, "columns")) > 0;
		json_t *m = json_object_get(sh, "marking");
		if (cli_jstr(m, "ja")) {
			char *b = both(cli_jstr(m, "ja"), cli_jstr(m, "en"));
			bool dup = false;
			json_array_foreach(t->marking, k, v)
				dup |= strcmp(json_string_value(v), b) == 0;
			if (!dup)
				json_array_append_new(t->marking, json_string(b));
			free(b);
		}
	}
	for (k = 0; k < sizeof record_fields / sizeof *record_fields; k++) {
		export_column(t, record_fields[k], labelled ? record_labels[k][0] : NULL, record_labels[k][1],
			      labelled && strcmp(record_fields[k], "state") == 0);
		json_object_set_new(seen, record_fields[k], json_true());
	}
	json_object_foreach(kinds, key, v) {
		json_array_foreach(json_object_get(json_object_get(sheets, key), "columns"), i, col) {
			const char *id = cli_jstr(col, "id");
			if (!id || json_object_get(seen, id))
				continue;
			export_column(t, id, cli_jstr_or(col, "ja", id), cli_jstr(col, "en"),
				      json_array_size(json_object_get(col, "values")) > 0);
			json_object_set_new(seen, id, json_true());
			json_object_set_new(t->sheet_cols, id, json_true());
			enum_labels(t, col);
		}
	}
	/* The rest, in the order of their paths: the same file for the same
	 * records, whatever order the daemon kept their members in. */
	json_t *rest = json_object();
	json_array_foreach(flat, i, row)
		json_object_foreach(row, key, v)
			if (!json_object_get(seen, key))
				json_object_set_new(rest, key, json_true());
	size_t n = json_object_size(rest), j = 0;
	const char **names = cli_xrealloc(NULL, (n + 1) * sizeof *names);
	json_object_foreach(rest, key, v)
		names[j++] = key;
	qsort(names, n, sizeof *names, by_path);
	for (j = 0; j < n; j++) {
		const json_t *lb = recorded_label(records, sheets, names[j]);
		export_column(t, names[j], cli_jstr(lb, "ja"), cli_jstr(lb, "en"), false);
	}
	free(names);
	json_decref(rest);
	json_decref(kinds);
	json_decref(seen);
}

/* The table of the records (t's members new; export_table_free). */
static void export_table(struct export_table *t, const json_t *records, const json_t *sheets)
{
	*t = (struct export_table){ json_array(), json_array(), json_array(), json_array(), json_array(),
				    json_object(), json_object(), json_object() };
	json_t *flat = json_array(), *rec, *row, *col;
	const char *key;
	json_t *v;
	size_t i, k;
	json_array_foreach(records, i, rec) {
		row = json_object();
		cli_data_flatten(json_object_get(rec, "data"), row, t->inexact);
		json_object_foreach(row, key, v)
			if (is_record_field(key))
				/* Its column is the record's: the data's value is left out. */
				json_object_set_new(t->inexact, key, json_true());
		json_array_append_new(flat, row);
	}
	export_columns(t, records, flat, sheets);
	json_array_foreach(records, i, rec) {
		json_t *out = json_array(), *fr = json_array_get(flat, i);
		json_array_foreach(t->cols, k, col) {
			const char *path = json_string_value(col), *lang = json_string_value(json_array_get(t->lang, k));
			json_t *cell = is_record_field(path) ? json_object_get(rec, path) : json_object_get(fr, path);
			json_t *label = json_is_string(cell) && lang ? json_object_get(json_object_get(json_object_get(
				t->labels, path), json_string_value(cell)), lang) : NULL;
			if (strcmp(path, "state") == 0 && json_is_string(cell) && lang)
				label = json_object_get(json_object_get(json_object_get(json_object_get(sheets,
					cli_jstr_or(rec, "kind", "")), "state_titles"), json_string_value(cell)), lang);
			if (label)
				cell = label;
			if (!cell || json_is_null(cell))
				json_array_append_new(out, json_null());
			else if (json_is_integer(cell) || json_is_string(cell))
				json_array_append(out, cell);
			else
				json_array_append_new(out, json_string_nocheck(""));
		}
		json_array_append_new(t->rows, out);
	}
	json_decref(flat);
}

static void export_table_free(struct export_table *t)
{
	json_decref(t->marking);
	json_decref(t->head);
	json_decref(t->rows);
	json_decref(t->cols);
	json_decref(t->lang);
	json_decref(t->inexact);
	json_decref(t->sheet_cols);
	json_decref(t->labels);
}

/* One CSV cell: a text guarded (sheet_text_cell: no formula, and a
 * number-like text kept a text), a number as it is. */
static void csv_put(FILE *f, const json_t *v)
{
	if (json_is_integer(v)) {
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return;
	}
	if (!json_is_string(v))
		return;
	const char *s = json_string_value(v);
	/* The data's cells are guarded already (cli_data_flatten). */
	char *g = sheet_guarded(s) || s[0] == '\'' ? cli_xstrdup(s) : sheet_text_cell(s);
	if (!g) {
		fputs("liuctl: out of memory\n", stderr);
		exit(ST_REPLY);
	}
	sheet_put_cell(f, g);
	free(g);
}

/* The CSV: a BOM (Excel then reads UTF-8), CRLF, the markings each a line
 * of one cell, the header, a line per record. */
static void write_csv(FILE *f, const struct export_table *t)
{
	size_t i, j;
	json_t *v, *row;
	fputs("\xEF\xBB\xBF", f);
	json_array_foreach(t->marking, i, v) {
		csv_put(f, v);
		fputs("\r\n", f);
	}
	json_array_foreach(t->head, i, v) {
		if (i)
			fputc(',', f);
		csv_put(f, v);
	}
	fputs("\r\n", f);
	json_array_foreach(t->rows, j, row) {
		json_array_foreach(row, i, v) {
			if (i)
				fputc(',', f);
			csv_put(f, v);
		}
		fputs("\r\n", f);
	}
}

/* The fields a sheet cannot carry exactly, of those import would send back:
 * the columns of the kinds' sheets (or every column, when no kind has one).
 * What the pack records itself (after a deadline too) is for reading. */
static void say_inexact(const struct export_table *t)
{
	const char *key;
	json_t *v;
	bool sheets = json_object_size(t->sheet_cols) > 0;
	json_object_foreach(t->inexact, key, v) {
		if (sheets && !json_object_get(t->sheet_cols, key))
			continue;
		fputs("liuctl: export: note: the sheet cannot carry ", stderr);
		cli_put_text(stderr, key, false);
		fputs(" exactly (a number, true, false, null, an empty text, a dotted or a record's own "
		      "name): --format jsonl keeps it as it is\n", stderr);
	}
}

/* Writes the table in `format` to `out` (NULL: standard output).  Returns
 * ST_OK, or ST_USAGE after saying why the file cannot be written. */
static int export_write(const json_t *records, const json_t *sheets, const char *format, const char *out)
{
	struct export_table t;
	export_table(&t, records, sheets);
	int st = ST_OK;
	if (strcmp(format, "xlsx") == 0) {
		struct grid g = { t.marking, t.head, t.rows };
		char *why = NULL;
		if (cli_xlsx_write(out, "records", &g, &why) < 0) {
			fputs("liuctl: export: ", stderr);
			cli_put_text(stderr, why, false);
			fputc('\n', stderr);
			free(why);
			st = ST_USAGE;
		}
	} else {
		write_csv(stdout, &t);
	}
	if (st == ST_OK)
		say_inexact(&t);
	export_table_free(&t);
	return st;
}

int cli_exec_export(struct ctl *c, const struct args *a)
{
	const char *format = cli_arg(a, "format"), *output = cli_arg(a, "output");
	if (!format)
		format = "jsonl";
	if (strcmp(format, "jsonl") != 0 && strcmp(format, "csv") != 0 && strcmp(format, "xlsx") != 0)
		return cli_usage_fail(a->cmd, "--format: jsonl, csv or xlsx, not %s", format);
	bool sheet = strcmp(format, "jsonl") != 0;
	if (strcmp(format, "xlsx") == 0 && !output)
		return cli_usage_fail(a->cmd, "--format xlsx writes a file: give it with --output (-o) FILE.xlsx");
	if (output && strcmp(format, "xlsx") != 0 && !freopen(output, "w", stdout)) {
		fputs("liuctl: cannot write ", stderr);
		cli_put_text(stderr, output, false);
		fprintf(stderr, ": %s\n", strerror(errno));
		return ST_USAGE;
	}
	json_t *params = json_pack("{s:i}", "limit", EXPORT_PAGE);
	if (cli_arg(a, "kind"))
		json_object_set_new(params, "kind", json_string(cli_arg(a, "kind")));
	if (cli_arg(a, "state"))
		json_object_set_new(params, "state", json_string(cli_arg(a, "state")));
	json_t *all = json_array(), *out = NULL, *sheets = NULL;
	size_t n = 0, damaged = 0;
	int st;
	for (;;) {
		st = cli_call(c, "record.list", params, &out);
		if (st != ST_OK)
			break;
		if (!sheets)
			sheets = json_incref(json_object_get(out, "sheets"));
		json_t *records = json_object_get(out, "records"), *rec;
		size_t i;
		json_array_foreach(records, i, rec) {
			if (sheet) {
				json_array_append(all, rec);
			} else {
				/* Streamed: a page at a time, however many records. */
				json_dumpf(rec, stdout, JSON_COMPACT | JSON_SORT_KEYS);
				fputc('\n', stdout);
			}
		}
		n += json_array_size(records);
		json_t *id;
		json_array_foreach(json_object_get(out, "damaged"), i, id) {
			fputs("liuctl: export: record ", stderr);
			cli_put_text(stderr, json_string_value(id), false);
			fputs(" is damaged in the database and was left out (the daemon's log says "
			      "why; restore it from a backup)\n", stderr);
			damaged++;
		}
		json_t *next = json_object_get(out, "next");
		/* An empty page that still says "more" would loop forever. */
		if (!json_is_string(next) || json_array_size(records) == 0)
			break;
		json_object_set(params, "after", next);
		json_decref(out);
		out = NULL;
	}
	if (st == ST_OK && sheet)
		st = export_write(all, sheets, format, output);
	if (st == ST_REPLY)
		cli_print_error(out);
	if (st != ST_OK && st != ST_USAGE && n > 0)
		fprintf(stderr, "liuctl: the export is incomplete: it stopped after %zu records\n", n);
	if (st == ST_OK && damaged > 0) {
		/* Every readable record is out; the exit status says some are not. */
		fprintf(stderr, "liuctl: the export is incomplete: %zu records written, %zu damaged "
			"left out\n", n, damaged);
		st = ST_REPLY;
	}
	json_decref(out);
	json_decref(all);
	json_decref(sheets);
	json_decref(params);
	return st;
}

/* --- a view as a workbook ------------------------------------------------------------------ */

/* The view in one language (params.lang), or NULL after saying why. */
static json_t *view_in(struct ctl *c, const json_t *base, const char *lang, int *st)
{
	json_t *params = json_deep_copy(base), *out = NULL;
	json_t *pp = json_object_get(params, "params");
	if (!pp) {
		pp = json_object();
		json_object_set_new(params, "params", pp);
	}
	if (lang)
		json_object_set_new(pp, "lang", json_string(lang));
	*st = cli_call(c, "view", params, &out);
	json_decref(params);
	if (*st == ST_OK && json_is_array(json_object_get(out, "columns")))
		return out;
	if (*st == ST_REPLY)
		cli_print_error(out);
	else if (*st == ST_OK) {
		fputs("liuctl: view: the reply has no columns to put in a sheet\n", stderr);
		*st = ST_REPLY;
	}
	json_decref(out);
	return NULL;
}

/* A cell of a view: text as text, numbers as numbers, the rest as text. */
static json_t *view_cell(json_t *v)
{
	if (!v || json_is_null(v))
		return json_null();
	if (json_is_string(v) || json_is_number(v))
		return json_incref(v);
	char *s = cli_json_text(v);
	json_t *r = json_string(s);
	free(s);
	return r;
}

/* Whether column `id` reads differently in the two languages on some row. */
static bool differs(const json_t *ja, const json_t *en, const char *id)
{
	size_t i;
	json_t *row;
	json_array_foreach(json_object_get(ja, "rows"), i, row) {
		json_t *b = json_object_get(json_array_get(json_object_get(en, "rows"), i), id);
		if (!json_equal(json_object_get(row, id), b))
			return true;
	}
	return false;
}

int cli_exec_view_xlsx(struct ctl *c, const struct args *a)
{
	const char *output = cli_arg(a, "output");
	if (!output)
		return cli_usage_fail(a->cmd, "--format xlsx writes a file: give it with --output (-o) FILE.xlsx");
	json_t *params = json_object();
	int st = cli_build_params(a, params);
	if (st != ST_OK) {
		json_decref(params);
		return st;
	}
	json_object_del(params, "output");
	json_object_del(params, "format");
	/* Both languages, unless the caller chose one (lang=ja). */
	bool one = json_object_get(json_object_get(params, "params"), "lang") != NULL;
	json_t *ja = view_in(c, params, one ? NULL : "ja", &st);
	json_t *en = ja && !one ? view_in(c, params, "en", &st) : NULL;
	json_decref(params);
	if (!ja || (!one && !en)) {
		json_decref(ja);
		return st;
	}
	struct grid g = { json_array(), json_array(), json_array() };
	json_t *m = json_object_get(ja, "marking"), *col, *row;
	if (cli_jstr(m, "ja")) {
		char *b = both(cli_jstr(m, "ja"), cli_jstr(m, "en"));
		json_array_append_new(g.marking, json_string(b));
		free(b);
	}
	/* Per sheet column: the view's column and the language it shows. */
	json_t *plan = json_array();
	size_t i, j;
	json_array_foreach(json_object_get(ja, "columns"), i, col) {
		const char *id = cli_jstr_or(col, "id", ""), *lja = cli_jstr_or(col, "ja", id);
		const char *len = cli_jstr_or(col, "en", lja);
		if (en && differs(ja, en, id)) {
			json_array_append_new(g.head, json_string(lja));
			json_array_append_new(plan, json_pack("{s:s, s:b}", "id", id, "en", 0));
			json_array_append_new(g.head, json_string(len));
			json_array_append_new(plan, json_pack("{s:s, s:b}", "id", id, "en", 1));
		} else {
			char *b = both(lja, len);
			json_array_append_new(g.head, json_string(b));
			json_array_append_new(plan, json_pack("{s:s, s:b}", "id", id, "en", 0));
			free(b);
		}
	}
	json_array_foreach(json_object_get(ja, "rows"), j, row) {
		json_t *out = json_array(), *p;
		json_t *erow = en ? json_array_get(json_object_get(en, "rows"), j) : NULL;
		json_array_foreach(plan, i, p) {
			json_t *src = json_is_true(json_object_get(p, "en")) ? erow : row;
			json_array_append_new(out, view_cell(json_object_get(src, cli_jstr(p, "id"))));
		}
		json_array_append_new(g.rows, out);
	}
	char *why = NULL;
	char name[32];
	snprintf(name, sizeof name, "%.31s", cli_arg(a, "name"));
	for (char *q = name; *q; q++)
		if (strchr("[]:*?/\\", *q))
			*q = '-';
	if (cli_xlsx_write(output, name, &g, &why) < 0) {
		fputs("liuctl: view: ", stderr);
		cli_put_text(stderr, why, false);
		fputc('\n', stderr);
		free(why);
		st = ST_USAGE;
	}
	json_decref(plan);
	json_decref(g.marking);
	json_decref(g.head);
	json_decref(g.rows);
	json_decref(ja);
	json_decref(en);
	return st;
}
