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

#include "cli.h"
#include "cli_args.h"
#include "cli_call.h"
#include "cli_data.h"
#include "cli_import.h"
#include "cli_pattern.h"
#include "cli_print.h"
#include "cli_table.h"
#include "cli_util.h"
#include "sheet.h"
#include "wire.h"

#define IMPORT_ROWS_MAX 100000           /* rows the daemon takes in one import */
#define REQUEST_MAX_DEFAULT ((size_t)1 << 20) /* the daemon's default limits.request_bytes */
#define REQUEST_MIN 1024                 /* the smallest limits.request_bytes it accepts */
#define EXPORT_PAGE 1000                 /* records per record.list page: its most */
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

/*
 * CSV: a header row of field paths, then one application per row.  Empty
 * cells are absent fields; the record's own columns (id, ...) are skipped.
 * A row longer than `max` bytes (the daemon's line limit) could not be sent
 * in any request, so the reader refuses it.
 */
static void read_csv(struct problems *p, const char *text, size_t len, size_t max, struct rows *r)
{
	struct sheet *c = sheet_open(text, len, max);
	if (!c) {
		fputs("liuctl: out of memory\n", stderr);
		exit(ST_REPLY);
	}
	int rc;
	size_t ncols = 0;
	char **path = NULL; /* per column: its path, NULL when skipped */
	bool *unnamed = NULL;
	/* The header: the first record that is not blank. */
	while ((rc = sheet_next(c)) == 1 && csv_blank(c))
		;
	if (rc == 0) {
		problem(p, 0, "no header row: the first line names the fields, e.g. service_name,provider_name");
		goto out;
	}
	if (rc < 0) {
		problem(p, 0, "%s", sheet_why(c));
		goto out;
	}
	ncols = sheet_nfield(c);
	path = cli_xrealloc(NULL, ncols * sizeof *path);
	unnamed = cli_xrealloc(NULL, ncols * sizeof *unnamed);
	for (size_t i = 0; i < ncols; i++) {
		char *h = header_path(sheet_field(c, i, NULL));
		char *col = column_name(i);
		path[i] = NULL;
		unnamed[i] = !*h;
		if (!*h || is_record_field(h)) {
			free(h);
		} else if (!path_ok(h)) {
			problem(p, sheet_line(c), "column %s: \"%s\" is not a field path (names joined by dots, "
				"such as impact_assessment.result)", col, h);
			free(h);
		} else {
			size_t k = 0;
			while (k < i && !(path[k] && strcmp(path[k], h) == 0))
				k++;
			if (k < i) {
				char *first = column_name(k);
				problem(p, sheet_line(c), "column %s: %s is named twice (column %s too)", col, h, first);
				free(first);
				free(h);
			} else {
				path[i] = h;
			}
		}
		free(col);
	}
	while ((rc = sheet_next(c)) == 1) {
		if (csv_blank(c))
			continue;
		if (sheet_nfield(c) > ncols) {
			problem(p, sheet_line(c), "%zu cells, but the header names %zu columns", sheet_nfield(c), ncols);
			continue;
		}
		json_t *data = json_object();
		bool bad = false;
		for (size_t i = 0; i < sheet_nfield(c); i++) {
			json_t *v = cli_value_of_cell(sheet_field(c, i, NULL));
			if (!v)
				continue;
			char *col = column_name(i);
			if (unnamed[i]) {
				problem(p, sheet_line(c), "column %s has a value but no name in the header", col);
				bad = true;
				json_decref(v);
			} else if (path[i]) {
				int e = cli_data_set(data, path[i], v);
				if (e == -EEXIST)
					problem(p, sheet_line(c), "column %s: %s is given twice (by another column too)", col, path[i]);
				else if (e == -ENOTDIR)
					problem(p, sheet_line(c), "column %s: %s: another column gives a part of it a value "
						"that is not an object", col, path[i]);
				bad |= e < 0;
			} else {
				json_decref(v);
			}
			free(col);
		}
		if (bad)
			json_decref(data);
		else
			rows_add(r, data, sheet_line(c));
	}
	if (rc < 0)
		problem(p, 0, "%s", sheet_why(c));
out:
	for (size_t i = 0; i < ncols; i++)
		free(path[i]);
	free(path);
	free(unnamed);
	sheet_close(c);
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
static int import_atomic(struct ctl *c, const char *action, const struct rows *r, size_t max)
{
	json_t *params = json_pack("{s:s, s:O, s:b}", "action", action, "rows", r->rows, "atomic", 1);
	size_t size = request_size(c, params);
	if (size > max || r->n > IMPORT_ROWS_MAX) {
		char *have = cli_bytes_text((long long)size), *lim = cli_bytes_text((long long)max);
		if (r->n > IMPORT_ROWS_MAX)
			fprintf(stderr, "liuctl: %zu rows are more than the daemon takes in one import (%d): "
				"nothing was sent.\n", r->n, IMPORT_ROWS_MAX);
		else
			fprintf(stderr, "liuctl: the %zu rows make a request of %s (%zu bytes), over the "
				"daemon's limit of %s (%zu bytes, limits.request_bytes): nothing was sent.\n",
				r->n, have, size, lim, max);
		fputs("  --per-row sends them in parts under the limit; each row is then written on\n"
		      "  its own (not all or nothing), and the rows that fail are reported.\n"
		      "  Or raise limits.request_bytes in liud.conf and give it with --max-bytes.\n", stderr);
		free(have);
		free(lim);
		json_decref(params);
		return ST_REPLY;
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

/*
 * --per-row: the rows in parts, each as large as the limit allows, each
 * written on its own; a row too large to go alone is reported as failed.
 * The parts' results are merged into one of the same shape, row indexes
 * counted over the whole file.
 */
static int import_parts(struct ctl *c, const char *action, const struct rows *r, size_t max)
{
	json_t *all = json_pack("{s:I, s:I, s:[], s:[], s:[]}", "rows", (json_int_t)r->n, "created",
				(json_int_t)0, "ids", "failed", "skipped");
	json_t *ids = json_object_get(all, "ids"), *failed = json_object_get(all, "failed");
	json_t *skipped = json_object_get(all, "skipped");
	json_t *params = json_pack("{s:s, s:[], s:b}", "action", action, "rows", "atomic", 0);
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
			json_object_set_new(all, "created", json_integer(json_integer_value(json_object_get(all, "created")) +
				json_integer_value(json_object_get(out, "created"))));
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
		} else if (st == ST_REPLY) {
			import_error(out, max);
		}
		json_decref(out);
		if (st == ST_OK)
			i = j;
	}
	json_decref(params);
	json_int_t created = json_integer_value(json_object_get(all, "created"));
	if (st != ST_OK) {
		/* Parts before this one are written: say how far it got. */
		fprintf(stderr, "liuctl: stopped at the row on line %zu: ", r->line[i]);
		say_imported(stderr, created, r->n, ids);
	} else if (c->json) {
		print_result_json(all, r);
	} else {
		say_imported(stdout, created, r->n, ids);
		say_skipped(stdout, skipped, r);
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

/* Whether `s` names one of the choices, case aside ("UTF-8", "sjis"). */
static bool one_of(const char *s, const char *const *choices)
{
	for (; *choices; choices++)
		if (strcasecmp(s, *choices) == 0)
			return true;
	return false;
}

/* The format a file is in, from --format, its name, or its first character. */
static const char *guess_format(const char *file, const char *text)
{
	const char *dot = strrchr(file, '.');
	if (dot && strcasecmp(dot, ".csv") == 0)
		return "csv";
	if (dot && (strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0 ||
		    strcasecmp(dot, ".json") == 0))
		return "jsonl";
	text += strspn(text, " \t\r\n");
	return *text == '{' ? "jsonl" : "csv";
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
	if (format && strcmp(format, "jsonl") != 0 && strcmp(format, "csv") != 0)
		return cli_usage_fail(a->cmd, "--format: jsonl or csv, not %s", format);
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

	char *bytes, *why, *text;
	size_t len, tlen;
	int rc = cli_file_read(file, &bytes, &len);
	if (rc < 0) {
		fputs("liuctl: cannot read ", stderr);
		cli_put_text(stderr, file, false);
		fprintf(stderr, ": %s\n", strerror(-rc));
		return ST_USAGE;
	}
	text = cli_text_decode(bytes, len, enc, &tlen, &why);
	free(bytes);
	struct problems p = { .file = file };
	if (!text) {
		problem(&p, 0, "%s", why);
		free(why);
		return problems_end(&p);
	}
	if (!format)
		format = guess_format(file, text);
	struct rows r = { .rows = json_array() };
	if (strcmp(format, "csv") == 0)
		read_csv(&p, text, tlen, max, &r);
	else
		read_jsonl(&p, text, tlen, &r);
	free(text);
	int st = problems_end(&p);
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

/* The CSV of the records: a BOM, CRLF, the record's own columns, then the
 * union of the data columns in the order they first appear. */
static void write_csv(const json_t *records)
{
	json_t *cols = json_object(), *inexact = json_object(), *flat = json_array();
	size_t i, k;
	json_t *rec;
	const char *key;
	json_t *v;
	for (k = 0; k < sizeof record_fields / sizeof *record_fields; k++)
		json_object_set_new(cols, record_fields[k], json_true());
	json_array_foreach(records, i, rec) {
		json_t *row = json_object();
		cli_data_flatten(json_object_get(rec, "data"), row, inexact);
		json_object_foreach(row, key, v) {
			if (is_record_field(key))
				/* Its column is the record's: the data's value is left out. */
				json_object_set_new(inexact, key, json_true());
			else if (!json_object_get(cols, key))
				json_object_set_new(cols, key, json_true());
		}
		json_array_append_new(flat, row);
	}
	fputs("\xEF\xBB\xBF", stdout); /* BOM: Excel then reads UTF-8 */
	const char *sep = "";
	json_object_foreach(cols, key, v) {
		fputs(sep, stdout);
		sheet_put_cell(stdout, key);
		sep = ",";
	}
	fputs("\r\n", stdout);
	json_array_foreach(records, i, rec) {
		json_t *row = json_array_get(flat, i);
		sep = "";
		json_object_foreach(cols, key, v) {
			fputs(sep, stdout);
			sep = ",";
			json_t *cell = is_record_field(key) ? json_object_get(rec, key) : json_object_get(row, key);
			if (!cell || json_is_null(cell))
				continue;
			char *s = cli_json_text(cell);
			sheet_put_cell(stdout, s);
			free(s);
		}
		fputs("\r\n", stdout);
	}
	json_object_foreach(inexact, key, v) {
		fputs("liuctl: export: the CSV cannot carry ", stderr);
		cli_put_text(stderr, key, false);
		fputs(" exactly (a number, true, false, null, an empty text, a dotted or a record's own "
		      "name): --format jsonl keeps it as it is\n", stderr);
	}
	json_decref(flat);
	json_decref(inexact);
	json_decref(cols);
}

int cli_exec_export(struct ctl *c, const struct args *a)
{
	const char *format = cli_arg(a, "format");
	if (!format)
		format = "jsonl";
	if (strcmp(format, "jsonl") != 0 && strcmp(format, "csv") != 0)
		return cli_usage_fail(a->cmd, "--format: jsonl or csv, not %s", format);
	bool csv = strcmp(format, "csv") == 0;
	json_t *params = json_pack("{s:i}", "limit", EXPORT_PAGE);
	if (cli_arg(a, "kind"))
		json_object_set_new(params, "kind", json_string(cli_arg(a, "kind")));
	if (cli_arg(a, "state"))
		json_object_set_new(params, "state", json_string(cli_arg(a, "state")));
	json_t *all = json_array(), *out = NULL;
	size_t n = 0, damaged = 0;
	int st;
	for (;;) {
		st = cli_call(c, "record.list", params, &out);
		if (st != ST_OK)
			break;
		json_t *records = json_object_get(out, "records"), *rec;
		size_t i;
		json_array_foreach(records, i, rec) {
			if (csv) {
				json_array_append(all, rec);
			} else {
				/* Streamed: a page at a time, however many records. */
				json_dumpf(rec, stdout, JSON_COMPACT);
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
	if (st == ST_OK && csv)
		write_csv(all);
	if (st == ST_REPLY)
		cli_print_error(out);
	if (st != ST_OK && n > 0)
		fprintf(stderr, "liuctl: the export is incomplete: it stopped after %zu records\n", n);
	if (st == ST_OK && damaged > 0) {
		/* Every readable record is out; the exit status says some are not. */
		fprintf(stderr, "liuctl: the export is incomplete: %zu records written, %zu damaged "
			"left out\n", n, damaged);
		st = ST_REPLY;
	}
	json_decref(out);
	json_decref(all);
	json_decref(params);
	return st;
}
