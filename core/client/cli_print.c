/*
 * cli_print — results for people, one printer per shape of result: the
 * table's `show` functions.  Each takes the result (borrowed) and returns the
 * exit status; all text goes through liuctl_table, so nothing a record holds
 * reaches the terminal as a control.  With --json none of this runs: the
 * result is printed as it came (print_json).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_print.h"
#include "cli_table.h"
#include "cli_util.h"

/* --- JSON and text for people --------------------------------------------- */

/* The raw result for --json and for shapes with no table of their own:
 * pretty, two-space indent, UTF-8 as it is (jansson escapes controls). */
void cli_print_json(const json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	fputc('\n', stdout);
}

/* The same for a person: through put_text, which also catches the C1
 * controls and bidi overrides that JSON carries unescaped. */
static void print_json_text(const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	if (s) {
		cli_put_text(stdout, s, true);
		fputc('\n', stdout);
	}
	free(s);
}

/* A version hash cut for people: the full one is in --json. */
static char *short_version(const char *v)
{
	int w;
	if (!v)
		return cli_xstrdup("-");
	char *s = cli_cell_text(v, 0, &w);
	/* Hashes are ASCII, but never cut inside a character all the same. */
	if (strlen(s) > VERSION_SHORT && ((unsigned char)s[VERSION_SHORT] & 0xC0) != 0x80)
		s[VERSION_SHORT] = '\0';
	return s;
}

/* A {ja, en} text as "ja / en" (either may be missing).  Caller frees. */
static char *bilingual(const json_t *t)
{
	const char *ja = cli_jstr(t, "ja"), *en = cli_jstr(t, "en");
	if (json_is_string(t))
		return cli_xstrdup(json_string_value(t));
	if (ja && en)
		return cli_xasprintf("%s / %s", ja, en);
	return cli_xstrdup(ja ? ja : en ? en : "-");
}

/* Seconds as "2d 3h 4m" and the like.  Caller frees. */
static char *duration(long long s)
{
	if (s >= 86400)
		return cli_xasprintf("%lldd %lldh %lldm", s / 86400, s % 86400 / 3600, s % 3600 / 60);
	if (s >= 3600)
		return cli_xasprintf("%lldh %lldm %llds", s / 3600, s % 3600 / 60, s % 60);
	if (s >= 60)
		return cli_xasprintf("%lldm %llds", s / 60, s % 60);
	return cli_xasprintf("%llds", s);
}

/* A byte count for people ("1.5 MiB").  Caller frees. */
char *cli_bytes_text(long long n)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	if (n < 1024)
		return cli_xasprintf("%lld B", n);
	double v = (double)n / 1024;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof unit / sizeof *unit) {
		v /= 1024;
		u++;
	}
	return cli_xasprintf("%.1f %s", v, unit[u]);
}

/* --- the printers --------------------------------------------------------- */

/* Counts by kind, one line each: "application: submitted 3, confirmed 1". */
static void status_records(struct table *t, json_t *r)
{
	char *s;
	json_t *records = json_object_get(r, "records");
	const char *kind;
	json_t *states;
	bool first = true;
	json_object_foreach(records, kind, states) {
		const char *state;
		json_t *n;
		json_int_t total = 0;
		char *line = cli_xasprintf("%s:", kind);
		json_object_foreach(states, state, n) {
			char *l = cli_xasprintf("%s %s %" JSON_INTEGER_FORMAT ",", line, state,
					    json_integer_value(n));
			free(line);
			line = l;
			total += json_integer_value(n);
		}
		line[strlen(line) - (line[strlen(line) - 1] == ',')] = '\0';
		s = cli_xasprintf("%s (total %" JSON_INTEGER_FORMAT ")", line, total);
		cli_kv(t, first ? "records" : NULL, s);
		free(s);
		free(line);
		first = false;
	}
	if (first)
		cli_kv(t, "records", "none");

}

/* The next deadline: the scheduler's shape may grow; the common fields, else JSON. */
static void status_deadline(struct table *t, json_t *r)
{
	char *s;
	json_t *nd = json_object_get(r, "next_deadline");
	if (!nd || json_is_null(nd)) {
		cli_kv(t, "next deadline", "none");
	} else if (json_is_object(nd) && (cli_jstr(nd, "time") || cli_jstr(nd, "at"))) {
		json_t *recs = json_object_get(nd, "records");
		char *m = bilingual(json_object_get(nd, "measure"));
		char *n = json_is_array(recs) ? cli_xasprintf(", %zu records", json_array_size(recs)) :
			  json_is_integer(recs) ? cli_xasprintf(", %" JSON_INTEGER_FORMAT " records",
							    json_integer_value(recs)) : cli_xstrdup("");
		s = cli_xasprintf("%s %s%s", cli_jstr(nd, "time") ? cli_jstr(nd, "time") : cli_jstr(nd, "at"), m, n);
		cli_kv(t, "next deadline", s);
		free(s);
		free(m);
		free(n);
	} else {
		cli_kvj(t, "next deadline", nd);
	}
}

/* Storage, staging and the eval memo. */
static void status_storage(struct table *t, json_t *r)
{
	char *s;
	json_t *st = json_object_get(r, "storage");
	if (st) {
		char *u = cli_bytes_text(json_integer_value(json_object_get(st, "used_bytes")));
		char *m = cli_bytes_text(json_integer_value(json_object_get(st, "map_bytes")));
		json_t *dict = json_object_get(st, "dictionary");
		char *db = dict ? cli_bytes_text(json_integer_value(json_object_get(dict, "bytes"))) : NULL;
		if (db)
			s = cli_xasprintf("%s of %s; records compressed with dictionary %" JSON_INTEGER_FORMAT " (%s)", u,
				      m, json_integer_value(json_object_get(dict, "id")), db);
		else
			s = cli_xasprintf("%s of %s", u, m);
		free(db);
		cli_kv(t, "storage", s);
		free(s);
		free(u);
		free(m);
	}
	json_t *stg = json_object_get(r, "staging");
	if (stg && json_is_true(json_object_get(stg, "enabled")) && cli_jstr(stg, "at")) {
		s = cli_xasprintf("deadline %s: %" JSON_INTEGER_FORMAT " records ready%s",
			      cli_jstr(stg, "at"), json_integer_value(json_object_get(stg, "records_ready")),
			      json_is_true(json_object_get(stg, "done")) ? "" : " (a pass is running)");
		cli_kv(t, "staged", s);
		free(s);
	}
	json_t *memo = json_object_get(r, "eval_memo");
	if (memo) {
		json_int_t hits = json_integer_value(json_object_get(memo, "hits"));
		json_int_t misses = json_integer_value(json_object_get(memo, "misses"));
		char *b = cli_bytes_text(json_integer_value(json_object_get(memo, "bytes")));
		s = cli_xasprintf("%" JSON_INTEGER_FORMAT " answers (%" JSON_INTEGER_FORMAT " distinct), %s; "
			      "%.1f%% of %" JSON_INTEGER_FORMAT " evals answered from it",
			      json_integer_value(json_object_get(memo, "entries")),
			      json_integer_value(json_object_get(memo, "distinct")), b,
			      hits + misses ? 100.0 * (double)hits / (double)(hits + misses) : 0.0,
			      hits + misses);
		cli_kv(t, "eval memo", s);
		free(s);
		free(b);
	}
}

int cli_show_status(const struct args *a, json_t *r)
{
	struct table t;
	cli_table_init(&t, 2);
	t.exact = true; /* the instants as the clock line shows them: to the second */
	cli_kvj(&t, "version", json_object_get(r, "version"));
	char *up = duration(json_integer_value(json_object_get(r, "uptime_s")));
	char *s = cli_xasprintf("%s (since %s)", up, cli_jstr_or(r, "started_at", "?"));
	cli_kv(&t, "uptime", s);
	free(s);
	free(up);

	json_t *rules = json_object_get(r, "rules");
	if (rules) {
		char *ver = short_version(cli_jstr(rules, "version"));
		s = cli_xasprintf("%s version %s, loaded %s", cli_jstr_or(rules, "name", "?"),
			      ver, cli_jstr_or(rules, "loaded_at", "?"));
		cli_kv(&t, "rules", s);
		free(s);
		free(ver);
	}

	json_t *clock = json_object_get(r, "clock");
	s = cli_xasprintf("%s (%s)", cli_jstr_or(clock, "now", "?"),
		      cli_jstr_or(clock, "mode", "?"));
	cli_kv(&t, "clock", s);
	free(s);
	/* A peer holding no role is told only the above. */
	if (!rules && !json_object_get(r, "records")) {
		cli_kv(&t, "more", "only for peers holding a role");
		goto out;
	}

	status_records(&t, r);
	status_deadline(&t, r);
	json_t *w = json_object_get(r, "writes");
	if (w)
		cli_kvj(&t, "writes pending", json_object_get(w, "pending"));
	cli_kvj(&t, "connections", json_object_get(r, "connections"));
	json_t *req = json_object_get(r, "requests");
	if (req) {
		s = cli_xasprintf("%" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT " errors)",
			      json_integer_value(json_object_get(req, "total")),
			      json_integer_value(json_object_get(req, "errors")));
		cli_kv(&t, "requests", s);
		free(s);
	}
	status_storage(&t, r);
out:
	cli_table_print(&t, stdout);
	cli_table_free(&t);
	return ST_OK;
}

int cli_show_record(const struct args *a, json_t *r)
{
	static const char *const order[] = { "id", "kind", "state", "rev", "created_at", "updated_at" };
	struct table t;
	cli_table_init(&t, 2);
	t.exact = true; /* the whole record: its instants to the second, with their offset */
	for (size_t i = 0; i < sizeof order / sizeof *order; i++)
		if (json_object_get(r, order[i]))
			cli_kvj(&t, order[i], json_object_get(r, order[i]));
	const char *key;
	json_t *v;
	json_object_foreach(r, key, v) {
		bool known = false;
		for (size_t i = 0; i < sizeof order / sizeof *order; i++)
			known |= strcmp(key, order[i]) == 0;
		if (!known && !json_is_object(v) && !json_is_array(v))
			cli_kvj(&t, key, v);
	}
	cli_table_print(&t, stdout);
	cli_table_free(&t);
	json_object_foreach(r, key, v) {
		if (json_is_object(v) || json_is_array(v)) {
			cli_put_text(stdout, key, false);
			fputs(":\n", stdout);
			print_json_text(v);
		}
	}
	return ST_OK;
}

/* A summary line's value: a text, a {ja, en} text, else as JSON.  Caller
 * frees. */
static char *summary_value(const json_t *v)
{
	if (json_is_object(v) && (json_object_get(v, "ja") || json_object_get(v, "en")))
		return bilingual(v);
	return cli_json_text(v);
}

static int key_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* An eval summary: {name: {available, used_on}} and the like as one
 * "name: key value, ..." line each, names and keys in sorted order (a
 * stable order, as --json's); an entry the pack words ({title, text}, each
 * {ja, en}) as "title: text"; anything else as JSON. */
static void summary_other(struct table *t, const char *key, const json_t *v)
{
	if (!json_is_object(v)) {
		cli_kvj(t, key, v);
		return;
	}
	size_t n = json_object_size(v), i = 0, j;
	const char **names = cli_xrealloc(NULL, (n + 1) * sizeof *names);
	const char *name;
	json_t *x;
	json_object_foreach((json_t *)v, name, x)
		names[i++] = name;
	qsort(names, n, sizeof *names, key_cmp);
	for (i = 0; i < n; i++) {
		x = json_object_get(v, names[i]);
		char *line;
		if (json_is_object(json_object_get(x, "title")) && json_is_object(json_object_get(x, "text"))) {
			/* In the pack's words: "title: text", each in both languages. */
			char *ti = bilingual(json_object_get(x, "title")), *tx = bilingual(json_object_get(x, "text"));
			line = cli_xasprintf("%s: %s", ti, tx);
			free(ti);
			free(tx);
		} else if (json_is_object(x)) {
			size_t m = json_object_size(x), k = 0;
			const char **ks = cli_xrealloc(NULL, (m + 1) * sizeof *ks);
			const char *kk;
			json_t *y;
			json_object_foreach(x, kk, y)
				ks[k++] = kk;
			qsort(ks, m, sizeof *ks, key_cmp);
			line = cli_xasprintf("%s:", names[i]);
			for (j = 0; j < m; j++) {
				char *s = cli_json_text(json_object_get(x, ks[j]));
				char *l = cli_xasprintf("%s%s %s %s", line, j ? "," : "", ks[j], s);
				free(s);
				free(line);
				line = l;
			}
			free(ks);
		} else {
			char *s = cli_json_text(x);
			line = cli_xasprintf("%s: %s", names[i], s);
			free(s);
		}
		cli_kv(t, i ? NULL : key, line);
		free(line);
	}
	free(names);
}

/*
 * record get without --full: the record's own fields, the lines its kind's
 * summary gives ({ja, en, value}, in the pack's order), then what eval says
 * (`ev`, NULL when eval was not answered): the decision with the checks not
 * met, then the pack's eval summaries.  Which fields a record has is the
 * pack's to say: the client names none of them.
 */
int cli_show_record_summary(const struct args *a, json_t *rec, json_t *lines, json_t *ev,
			    const char *why)
{
	static const char *const order[] = { "id", "kind", "state", "rev", "created_at", "updated_at" };
	struct table t;
	cli_table_init(&t, 2);
	for (size_t i = 0; i < sizeof order / sizeof *order; i++)
		if (json_object_get(rec, order[i]))
			cli_kvj(&t, order[i], json_object_get(rec, order[i]));
	const char *key;
	json_t *v, *x;
	size_t i;
	json_array_foreach(lines, i, x) {
		char *label = bilingual(x), *val = summary_value(json_object_get(x, "value"));
		cli_kv(&t, label, val);
		free(label);
		free(val);
	}
	if (json_object_get(lines, "error"))
		cli_kvj(&t, "summary", json_object_get(lines, "error"));
	if (ev) {
		cli_kvj(&t, "decision", json_object_get(ev, "decision"));
		bool any = false;
		json_array_foreach(json_object_get(ev, "checks"), i, x) {
			if (json_is_true(json_object_get(x, "ok")))
				continue;
			char *r = bilingual(json_object_get(x, "reason"));
			char *s = cli_xasprintf("%s: %s", cli_jstr_or(x, "id", "?"), r);
			cli_kv(&t, any ? NULL : "checks not met", s);
			free(s);
			free(r);
			any = true;
		}
		static const char *const known[] = { "decision", "checks", "measures_in_force", "at", "id",
						     "rules_version" };
		json_object_foreach(ev, key, v) {
			bool k = false;
			for (size_t j = 0; j < sizeof known / sizeof *known; j++)
				k |= strcmp(key, known[j]) == 0;
			if (!k)
				summary_other(&t, key, v);
		}
	} else {
		cli_kv(&t, "decision", why ? why : "not evaluated");
	}
	cli_table_print(&t, stdout);
	cli_table_free(&t);
	cli_say("the whole record: liuctl record get %s --full",
		cli_jstr_or(rec, "id", "ID"));
	return ST_OK;
}

/* A data field by its dotted path ("provider.name"), or NULL.  Borrowed. */
static json_t *field_at(json_t *data, const char *path)
{
	char *p = cli_xstrdup(path), *save = NULL;
	for (char *k = strtok_r(p, ".", &save); k && data; k = strtok_r(NULL, ".", &save))
		data = json_object_get(data, k);
	free(p);
	return data;
}

/*
 * The columns of `record list`: id, kind, state and updated, then the
 * summary fields the pack declares for the kinds on the page (the reply's
 * summary_fields: {kind: [{id, ja, en}]}), each once, in the order first
 * met.  The core knows no field of any pack's records.  A new array.
 */
static json_t *list_fields(json_t *r)
{
	json_t *out = json_array(), *list, *f, *g;
	const char *kind;
	size_t i, j;
	json_object_foreach(json_object_get(r, "summary_fields"), kind, list) {
		json_array_foreach(list, i, f) {
			bool seen = false;
			json_array_foreach(out, j, g)
				seen |= strcmp(cli_jstr_or(g, "id", ""), cli_jstr_or(f, "id", "")) == 0;
			if (!seen && cli_jstr(f, "id"))
				json_array_append(out, f);
		}
	}
	return out;
}

/* The table of a record list: the record's columns, the kinds' summary
 * fields, eval's DECISION when the reply has decisions.  t is new. */
static void records_table(json_t *r, struct table *t)
{
	json_t *records = json_object_get(r, "records");
	json_t *decisions = json_object_get(r, "decisions");
	json_t *fields = list_fields(r), *f, *rec;
	size_t nf = json_array_size(fields), i, j, nd = decisions ? 1 : 0;
	cli_table_init(t, 4 + nf + nd);
	const char **head = cli_xrealloc(NULL, t->ncols * sizeof *head);
	const char **keys = cli_xrealloc(NULL, t->ncols * sizeof *keys);
	char **upper = cli_xrealloc(NULL, (nf + 1) * sizeof *upper);
	static const char *const fixed[] = { "ID", "KIND", "STATE", "UPDATED" };
	static const char *const fixed_keys[] = { "id", "kind", "state", "updated" };
	/* What a narrow terminal leaves out first (cli_table_priority): the
	 * kind (a list is mostly of one) and the update time before the
	 * pack's fields, which have the default unless the pack says; the
	 * state and the decision last. */
	static const int fixed_prio[] = { 1, 8, 2, 7 };
	for (j = 0; j < 4; j++) {
		head[j] = fixed[j];
		keys[j] = fixed_keys[j];
		cli_table_priority(t, j, fixed_prio[j]);
	}
	json_array_foreach(fields, j, f) {
		/* headers in capitals, as the fixed ones: the English title,
		 * the pack's short one on a terminal */
		const char *en = cli_jstr_or(f, "en", cli_jstr(f, "id"));
		if (cli_table_format() == CLI_TABLE)
			en = cli_jstr_or(json_object_get(f, "short"), "en", en);
		upper[j] = cli_xstrdup(en);
		for (char *c = upper[j]; *c; c++)
			if (*c >= 'a' && *c <= 'z')
				*c = (char)(*c - 'a' + 'A');
		head[4 + j] = upper[j];
		keys[4 + j] = cli_jstr(f, "id");
		if (json_is_integer(json_object_get(f, "priority")))
			cli_table_priority(t, 4 + j, (int)json_integer_value(json_object_get(f, "priority")));
	}
	if (nd) {
		head[4 + nf] = "DECISION";
		keys[4 + nf] = "decision";
		cli_table_priority(t, 4 + nf, 3);
	}
	cli_table_head(t, head);
	cli_table_keys(t, keys);
	for (j = 0; j < nf; j++)
		free(upper[j]);
	free(upper);
	free(head);
	free(keys);
	json_array_foreach(records, i, rec) {
		cli_table_row(t);
		cli_table_setj(t, 0, json_object_get(rec, "id"));
		cli_table_setj(t, 1, json_object_get(rec, "kind"));
		cli_table_setj(t, 2, json_object_get(rec, "state"));
		cli_table_setj(t, 3, json_object_get(rec, "updated_at"));
		json_array_foreach(fields, j, f) {
			json_t *v = field_at(json_object_get(rec, "data"), cli_jstr(f, "id"));
			if (v && !json_is_null(v))
				cli_table_setj(t, 4 + j, v);
		}
		if (nd)
			cli_table_setj(t, 4 + nf, json_object_get(decisions, cli_jstr_or(rec, "id", "")));
	}
	json_decref(fields);
}

/* A row of the list by its sort column's text (bytes compared: ids, ISO
 * dates and numbers of equal width sort as they read), then its id, so
 * that equal texts keep one order. */
struct sort_row {
	const char *key, *id;
	json_t *rec;
};
static bool sort_desc;
static int row_cmp(const void *x, const void *y)
{
	const struct sort_row *a = x, *b = y;
	int d = strcmp(a->key, b->key);
	if (d == 0)
		d = strcmp(a->id, b->id);
	return sort_desc ? -d : d;
}

int cli_record_list_sort(const char *by, json_t *r)
{
	struct table t;
	records_table(r, &t);
	sort_desc = by[0] == '-';
	by += sort_desc;
	int col = cli_table_column(&t, by);
	if (col < 0) {
		fprintf(stderr, "liuctl: record list: --sort: no column ");
		cli_put_text(stderr, by, false);
		fputs(" (columns:", stderr);
		for (size_t c = 0; c < t.ncols; c++) {
			fputc(' ', stderr);
			cli_put_text(stderr, t.keys ? t.keys[c] : "?", false);
		}
		fputs(")\n", stderr);
		cli_table_free(&t);
		return ST_USAGE;
	}
	json_t *records = json_object_get(r, "records");
	size_t n = json_array_size(records);
	struct sort_row *rows = cli_xrealloc(NULL, (n + 1) * sizeof *rows);
	for (size_t i = 0; i < n; i++) {
		const struct cell *c = t.cells + (t.nhead + i) * t.ncols;
		rows[i] = (struct sort_row){ c[col].text ? c[col].text : "", c[0].text ? c[0].text : "",
					     json_incref(json_array_get(records, i)) };
	}
	qsort(rows, n, sizeof *rows, row_cmp);
	json_array_clear(records);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(records, rows[i].rec);
	free(rows);
	cli_table_free(&t);
	return ST_OK;
}

int cli_show_record_list(const struct args *a, json_t *r)
{
	(void)a;
	if (json_array_size(json_object_get(r, "records")) == 0 && cli_table_format() == CLI_TABLE) {
		puts("no records");
		return ST_OK;
	}
	struct table t;
	records_table(r, &t);
	cli_table_print(&t, stdout);
	cli_table_free(&t);
	const char *next = cli_jstr(r, "next");
	if (next) {
		/* Not in the rows of a TSV or CSV a program reads. */
		FILE *to = cli_table_format() == CLI_TABLE ? stdout : stderr;
		fputs("more after ", to);
		cli_put_text(to, next, false);
		fputs(": use --after ", to);
		cli_put_text(to, next, false);
		fputs(" or --all\n", to);
	}
	json_int_t of = json_integer_value(json_object_get(r, "matched"));
	if (of > (json_int_t)json_array_size(json_object_get(r, "records"))) {
		FILE *to = cli_table_format() == CLI_TABLE ? stdout : stderr;
		fprintf(to, "%zu of %lld records shown (--limit)\n", json_array_size(json_object_get(r, "records")),
			(long long)of);
	}
	return ST_OK;
}

static void print_events(const json_t *events)
{
	size_t i;
	json_t *e;
	json_array_foreach(events, i, e) {
		const char *type = cli_jstr(e, "type");
		char *line = cli_xasprintf("  %s:", type ? type : "event");
		if (json_object_get(e, "from") || json_object_get(e, "to")) {
			/* A created record comes from no state: "-> submitted". */
			json_t *from = json_object_get(e, "from");
			char *f = from && !json_is_null(from) ? cli_json_text(from) : cli_xstrdup("");
			char *t = cli_json_text(json_object_get(e, "to"));
			char *l = cli_xasprintf("%s %s%s-> %s", line, f, *f ? " " : "", t);
			free(f);
			free(t);
			free(line);
			line = l;
		}
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)e, key, v) {
			if (!strcmp(key, "type") || !strcmp(key, "from") || !strcmp(key, "to"))
				continue;
			char *s = cli_json_text(v);
			char *l = cli_xasprintf("%s %s=%s", line, key, s);
			free(s);
			free(line);
			line = l;
		}
		cli_say("%s", line);
		free(line);
	}
}

int cli_show_act(const struct args *a, json_t *r)
{
	json_t *rec = json_object_get(r, "record");
	char *id = cli_json_text(json_object_get(rec, "id"));
	char *rev = cli_json_text(json_object_get(rec, "rev"));
	char *state = cli_json_text(json_object_get(rec, "state"));
	cli_say("ok: %s rev %s state %s", id, rev, state);
	free(id);
	free(rev);
	free(state);
	print_events(json_object_get(r, "events"));
	return ST_OK;
}

int cli_show_eval(const struct args *a, json_t *r)
{
	char *ver = short_version(cli_jstr(r, "rules_version"));
	cli_say("decision: %s  (%s at %s, rules %s)", cli_jstr_or(r, "decision", "?"),
	    cli_jstr_or(r, "id", "record given"), cli_jstr_or(r, "at", "now"), ver);
	fputc('\n', stdout);
	free(ver);

	/* Both languages, one line each, so neither reader is left out. */
	struct table t;
	cli_table_init(&t, 3);
	cli_table_head(&t, (const char *[]){ "CHECK", "OK", "REASON (ja) / (en)" });
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(r, "checks"), i, c) {
		json_t *reason = json_object_get(c, "reason");
		cli_table_row(&t);
		cli_table_setj(&t, 0, json_object_get(c, "id"));
		cli_table_set(&t, 1, json_is_true(json_object_get(c, "ok")) ? "yes" : "NO");
		cli_table_set(&t, 2, cli_jstr(reason, "ja") ? cli_jstr(reason, "ja") : json_string_value(reason));
		if (cli_jstr(reason, "en")) {
			cli_table_row(&t);
			cli_table_set(&t, 2, cli_jstr(reason, "en"));
		}
	}
	cli_table_print(&t, stdout);
	cli_table_free(&t);

	char *m = json_array_size(json_object_get(r, "measures_in_force")) ?
		  cli_json_text(json_object_get(r, "measures_in_force")) : cli_xstrdup("none");
	fputc('\n', stdout);
	cli_say("measures in force: %s", m);
	free(m);

	json_t *inc = json_object_get(r, "incentives");
	if (json_is_object(inc)) {
		cli_table_init(&t, 3);
		cli_table_head(&t, (const char *[]){ "INCENTIVE", "AVAILABLE", "USED ON" });
		const char *name;
		json_t *v;
		json_object_foreach(inc, name, v) {
			cli_table_row(&t);
			cli_table_set(&t, 0, name);
			if (json_is_object(v)) {
				cli_table_set(&t, 1, json_is_true(json_object_get(v, "available")) ? "yes" : "no");
				cli_table_setj(&t, 2, json_object_get(v, "used_on"));
			} else {
				cli_table_setj(&t, 1, v);
			}
		}
		fputs("\nincentives:\n", stdout);
		cli_table_print(&t, stdout);
		cli_table_free(&t);
	}
	/* Anything else the pack summarises, as it comes. */
	static const char *const known[] = { "decision", "checks", "measures_in_force", "incentives",
					     "at", "id", "rules_version" };
	const char *key;
	json_t *v;
	cli_table_init(&t, 2);
	json_object_foreach(r, key, v) {
		bool k = false;
		for (i = 0; i < sizeof known / sizeof *known; i++)
			k |= strcmp(key, known[i]) == 0;
		if (!k)
			cli_kvj(&t, key, v);
	}
	if (t.nrows) {
		fputc('\n', stdout);
		cli_table_print(&t, stdout);
	}
	cli_table_free(&t);
	return ST_OK;
}

int cli_show_view(const struct args *a, json_t *r)
{
	json_t *cols = json_object_get(r, "columns");
	if (!json_is_array(cols) || json_array_size(cols) == 0) {
		print_json_text(r);
		return ST_OK;
	}
	char *title = bilingual(json_object_get(r, "title"));
	json_int_t n = json_integer_value(json_object_get(r, "count"));
	bool people = cli_table_format() == CLI_TABLE;
	if (people)
		cli_say("%s: %" JSON_INTEGER_FORMAT " row%s", title, n, n == 1 ? "" : "s");
	json_t *marking = json_object_get(r, "marking");
	if (marking) { /* the pack's handling marking, above the table as on the page
			* (and as the first line of the daemon's CSV) */
		char *m = bilingual(marking);
		cli_table_line(stdout, m);
		free(m);
	}
	if (people)
		fputc('\n', stdout);
	free(title);

	/* Headers in Japanese over English, so each column is as wide as the
	 * longer of the two rather than both side by side; the columns' ids
	 * are their keys (--columns, the TSV and CSV header). */
	size_t nc = json_array_size(cols), i, j;
	json_t *c, *row;
	struct table t;
	cli_table_init(&t, nc);
	const char **ids = cli_xrealloc(NULL, nc * sizeof *ids);
	cli_table_row(&t);
	json_array_foreach(cols, i, c) {
		/* on a terminal, the pack's short title where it gives one */
		const json_t *sh = people ? json_object_get(c, "short") : NULL;
		cli_table_set(&t, i, cli_jstr_or(sh, "ja", cli_jstr_or(c, "ja", cli_jstr(c, "id"))));
		ids[i] = cli_jstr(c, "id");
		if (json_is_integer(json_object_get(c, "priority")))
			cli_table_priority(&t, i, (int)json_integer_value(json_object_get(c, "priority")));
	}
	cli_table_row(&t);
	json_array_foreach(cols, i, c) {
		const json_t *sh = people ? json_object_get(c, "short") : NULL;
		cli_table_set(&t, i, cli_jstr_or(sh, "en", cli_jstr(c, "en")));
	}
	t.nhead = 2;
	cli_table_keys(&t, ids);
	free(ids);
	json_array_foreach(json_object_get(r, "rows"), j, row) {
		cli_table_row(&t);
		json_array_foreach(cols, i, c) {
			json_t *v = json_object_get(row, cli_jstr_or(c, "id", ""));
			if (v && !json_is_null(v))
				cli_table_setj(&t, i, v);
		}
	}
	cli_table_print(&t, stdout);
	cli_table_free(&t);
	return ST_OK;
}

int cli_show_history(const struct args *a, json_t *r)
{
	struct table t;
	cli_table_init(&t, 6);
	cli_table_head(&t, (const char *[]){ "SEQ", "TIME", "WHO", "ACTION", "REV", "STATE" });
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(r, "entries"), i, e) {
		cli_table_row(&t);
		cli_table_setj(&t, 0, json_object_get(e, "seq"));
		cli_table_setj(&t, 1, json_object_get(e, "time"));
		/* A person acts through a peer; the daemon's own enforcement
		 * names itself some other way. */
		const char *who = cli_jstr(json_object_get(e, "peer"), "user");
		who = who ? who : cli_jstr(e, "by") ? cli_jstr(e, "by") : cli_jstr(e, "who");
		cli_table_set(&t, 2, who ? who : "-");
		const char *act = cli_jstr(e, "action") ? cli_jstr(e, "action") : cli_jstr(e, "method");
		const char *measure = cli_jstr(e, "measure"); /* an enforcement names its measure */
		if (act && measure)
			cli_table_setf(&t, 3, "%s %s", act, measure);
		else
			cli_table_set(&t, 3, act ? act : cli_jstr_or(e, "type", "-"));
		json_t *rev = json_object_get(e, "rev_after"), *before = json_object_get(e, "rev_before");
		if (!rev)
			rev = json_object_get(e, "rev");
		if (json_is_integer(rev))
			cli_table_setj(&t, 4, rev);
		else if (json_is_integer(before))
			cli_table_setf(&t, 4, "%" JSON_INTEGER_FORMAT, json_integer_value(before) + 1);
		else
			cli_table_set(&t, 4, "-");
		const char *sb = cli_jstr(e, "state_before"), *sa = cli_jstr(e, "state_after");
		sa = sa ? sa : cli_jstr(e, "state");
		if (sb && sa && strcmp(sb, sa) != 0)
			cli_table_setf(&t, 5, "%s -> %s", sb, sa);
		else
			cli_table_set(&t, 5, sa ? sa : "-");
	}
	cli_table_print(&t, stdout);
	cli_table_free(&t);
	return ST_OK;
}

/* One table of a list of objects: the named keys, with headers (the keys
 * name the columns for --columns and TSV/CSV headers). */
static void list_table(const json_t *list, const char *const *keys, const char *const *heads,
		       size_t n)
{
	struct table t;
	cli_table_init(&t, n);
	cli_table_head(&t, heads);
	cli_table_keys(&t, keys);
	size_t i;
	json_t *o;
	json_array_foreach(list, i, o) {
		cli_table_row(&t);
		for (size_t k = 0; k < n; k++) {
			json_t *v = json_object_get(o, keys[k]);
			if (json_is_object(v) && (json_object_get(v, "ja") || json_object_get(v, "en"))) {
				char *s = bilingual(v);
				cli_table_set(&t, k, s);
				free(s);
			} else {
				cli_table_setj(&t, k, v);
			}
		}
	}
	cli_table_print(&t, stdout);
	cli_table_free(&t);
}

/* The ids of an object keyed by id, in the order `order` lists them (the
 * pack's), else the object's own order; caller decrefs. */
static json_t *ids_in_order(const json_t *obj, const json_t *order)
{
	json_t *out = json_array();
	size_t i;
	json_t *v;
	const char *k;
	json_array_foreach(order, i, v)
		if (json_is_string(v) && json_object_get(obj, json_string_value(v)))
			json_array_append(out, v);
	if (json_array_size(out) == 0)
		json_object_foreach((json_t *)obj, k, v)
			json_array_append_new(out, json_string(k));
	return out;
}

/* The kinds a pack declares: states, id prefix, title. */
static void kinds_table(json_t *r)
{
	json_t *kinds = json_object_get(r, "kinds");
	if (!json_object_size(kinds))
		return;
	struct table t;
	cli_table_init(&t, 4);
	cli_table_head(&t, (const char *[]){ "KIND", "STATES", "ID PREFIX", "TITLE" });
	json_t *ids = ids_in_order(kinds, json_object_get(r, "kind_order"));
	size_t i;
	json_t *id;
	json_array_foreach(ids, i, id) {
		json_t *k = json_object_get(kinds, json_string_value(id));
		cli_table_row(&t);
		cli_table_setj(&t, 0, id);
		cli_table_setj(&t, 1, json_object_get(k, "states"));
		cli_table_setj(&t, 2, json_object_get(k, "id_prefix"));
		char *tt = bilingual(json_object_get(k, "title"));
		cli_table_set(&t, 3, tt);
		free(tt);
	}
	json_decref(ids);
	fputc('\n', stdout);
	cli_table_print(&t, stdout);
	cli_table_free(&t);
}

/* rules status: the pack, its version and its use so far. */
static void pack_table(json_t *r)
{
	struct table t;
	cli_table_init(&t, 2);
	char *title = bilingual(json_object_get(r, "title"));
	char *s = cli_xasprintf("%s  %s", cli_jstr_or(r, "name", "?"), title);
	cli_kv(&t, "pack", s);
	free(s);
	free(title);
	if (json_object_get(r, "version_label"))
		cli_kvj(&t, "label", json_object_get(r, "version_label"));
	cli_kvj(&t, "version", json_object_get(r, "version"));
	if (json_object_get(r, "dir"))
		cli_kvj(&t, "dir", json_object_get(r, "dir"));
	cli_kvj(&t, "loaded_at", json_object_get(r, "loaded_at"));
	cli_kvj(&t, "files", json_object_get(r, "files"));
	json_t *st = json_object_get(r, "stats");
	if (st) {
		char *mem = cli_bytes_text(json_integer_value(json_object_get(st, "memory_bytes")));
		s = cli_xasprintf("%" JSON_INTEGER_FORMAT " calls, %" JSON_INTEGER_FORMAT " errors, %"
			      JSON_INTEGER_FORMAT " over budget, %s of memory",
			      json_integer_value(json_object_get(st, "calls")),
			      json_integer_value(json_object_get(st, "errors")),
			      json_integer_value(json_object_get(st, "budget_kills")), mem);
		cli_kv(&t, "stats", s);
		free(s);
		free(mem);
	}
	/* --format tsv|csv: the tables alone on stdout, these facts on stderr. */
	cli_table_print(&t, cli_table_format() == CLI_TABLE ? stdout : stderr);
	cli_table_free(&t);

}

/* rules status: the measures, with when each starts and ends. */
static void measures_table(json_t *r)
{
	struct table t;
	json_t *ms = json_object_get(r, "measures");
	if (json_array_size(ms)) {
		cli_table_init(&t, 5);
		cli_table_head(&t, (const char *[]){ "MEASURE", "TYPE", "STARTS", "ENDS", "TITLE" });
		size_t i;
		json_t *m;
		json_array_foreach(ms, i, m) {
			cli_table_row(&t);
			cli_table_setj(&t, 0, json_object_get(m, "id"));
			cli_table_set(&t, 1, json_is_true(json_object_get(m, "temporary")) ? "temporary" : "permanent");
			cli_table_set(&t, 2, cli_jstr_or(m, "starts", "-"));
			cli_table_set(&t, 3, cli_jstr_or(m, "ends", "-"));
			char *tt = bilingual(json_object_get(m, "title"));
			cli_table_set(&t, 4, tt);
			free(tt);
		}
		if (cli_table_format() == CLI_TABLE) /* else the first table on stdout */
			fputc('\n', stdout);
		cli_table_print(&t, stdout);
		cli_table_free(&t);
	}
}

/* rules status: the actions, in the pack's order. */
static void actions_table(json_t *r)
{
	struct table t;
	/* actions and views are objects keyed by name */
	json_t *acts = json_object_get(r, "actions");
	if (json_object_size(acts)) {
		cli_table_init(&t, 4);
		cli_table_head(&t, (const char *[]){ "ACTION", "ROLES", "FROM -> TO", "TITLE" });
		json_t *ids = ids_in_order(acts, json_object_get(r, "action_order")), *idj;
		size_t i;
		json_array_foreach(ids, i, idj) {
			const char *name = json_string_value(idj);
			json_t *v = json_object_get(acts, name);
			cli_table_row(&t);
			cli_table_set(&t, 0, name);
			cli_table_setj(&t, 1, json_object_get(v, "roles"));
			char *from = json_is_true(json_object_get(v, "creates")) ? cli_xstrdup("(new)") :
				     cli_json_text(json_object_get(v, "from"));
			json_t *jto = json_object_get(v, "to");
			char *to = jto && !json_is_null(jto) ? cli_json_text(jto) : cli_xstrdup("(same)");
			cli_table_setf(&t, 2, "%s -> %s", from, to);
			free(from);
			free(to);
			char *tt = bilingual(json_object_get(v, "title"));
			cli_table_set(&t, 3, tt);
			free(tt);
		}
		json_decref(ids);
		fputc('\n', stdout);
		cli_table_print(&t, stdout);
		cli_table_free(&t);
	}
}

/* rules status: the views, in the pack's order. */
static void views_table(json_t *r)
{
	struct table t;
	json_t *views = json_object_get(r, "views");
	if (json_object_size(views)) {
		cli_table_init(&t, 3);
		cli_table_head(&t, (const char *[]){ "VIEW", "ROLES", "TITLE" });
		json_t *ids = ids_in_order(views, json_object_get(r, "view_order")), *idj;
		size_t i;
		json_array_foreach(ids, i, idj) {
			const char *name = json_string_value(idj);
			json_t *v = json_object_get(views, name);
			cli_table_row(&t);
			cli_table_set(&t, 0, name);
			cli_table_setj(&t, 1, json_object_get(v, "roles"));
			char *tt = bilingual(json_object_get(v, "title"));
			cli_table_set(&t, 2, tt);
			free(tt);
		}
		json_decref(ids);
		fputc('\n', stdout);
		cli_table_print(&t, stdout);
		cli_table_free(&t);
	}
}

int cli_show_rules_status(const struct args *a, json_t *r)
{
	(void)a;
	pack_table(r);
	measures_table(r);
	kinds_table(r);
	json_t *roles = json_object_get(r, "roles");
	if (json_array_size(roles)) {
		fputc('\n', stdout);
		list_table(roles, (const char *[]){ "id", "title", "methods" },
			   (const char *[]){ "ROLE", "TITLE", "MAY CALL" }, 3);
	}
	json_t *cs = json_object_get(r, "checks");
	if (json_array_size(cs)) {
		fputc('\n', stdout);
		list_table(cs, (const char *[]){ "id", "title" }, (const char *[]){ "CHECK", "TITLE" }, 2);
	}
	actions_table(r);
	views_table(r);
	return ST_OK;
}

int cli_show_rules_check(const struct args *a, json_t *r)
{
	char *ver = short_version(cli_jstr(r, "version"));
	cli_say("ok: %s version %s: %" JSON_INTEGER_FORMAT " tests pass%s", cli_jstr_or(r, "dir", "?"), ver,
	    json_integer_value(json_object_get(r, "tests")),
	    json_is_true(json_object_get(r, "live")) ? " (this is the live version)" :
	    " (not live; `liuctl rules reload` activates it)");
	free(ver);
	return ST_OK;
}

/* A reload or a rollback: what went live, from where, the tests it passed;
 * after a rollback, what a plain reload would read. */
int cli_show_rules_reload(const struct args *a, json_t *r)
{
	char *ver = short_version(cli_jstr(r, "version")), *prev = short_version(cli_jstr(r, "previous"));
	bool rollback = strcmp(cli_jstr_or(r, "how", ""), "rollback") == 0;
	json_t *tests = json_object_get(r, "tests");
	char *passed = tests ? cli_xasprintf(", %" JSON_INTEGER_FORMAT " test%s pass",
					     json_integer_value(tests),
					     json_integer_value(tests) == 1 ? "" : "s")
			     : cli_xstrdup("");
	if (rollback)
		cli_say("ok: rolled back to version %s (was %s)%s", ver, prev, passed);
	else if (json_is_true(json_object_get(r, "unchanged")))
		cli_say("ok: %s holds version %s, already live: nothing changed%s",
			cli_jstr_or(r, "reload_folder", cli_jstr_or(r, "dir", "?")), ver, passed);
	else
		cli_say("ok: reloaded %s: version %s (was %s)%s", cli_jstr_or(r, "dir", "?"), ver, prev,
			passed);
	const char *folder = cli_jstr(r, "reload_folder"), *fv = cli_jstr(r, "folder_version");
	if (rollback && folder) {
		bool took = fv && cli_jstr(r, "previous") && strcmp(fv, cli_jstr(r, "previous")) == 0;
		cli_say("a plain `liuctl rules reload` reads %s%s", folder,
			took ? ", which still holds the version rolled back: refused there unless --force" : "");
	}
	free(passed);
	free(ver);
	free(prev);
	return ST_OK;
}

/* One side of an outcome change: "decision, state, next deadline". */
static char *diff_side(json_t *x)
{
	if (json_object_get(x, "error"))
		return cli_xasprintf("error: %s", cli_jstr_or(x, "error", "?"));
	json_t *dl = json_array_get(json_object_get(x, "deadlines"), 0);
	return cli_xasprintf("%s, %s%s%s", cli_jstr_or(x, "decision", "?"),
			     cli_jstr_or(x, "state_after_enforcement", "?"), dl ? ", deadline " : "",
			     dl ? cli_jstr_or(dl, "at", "?") : "");
}

static const char *plural(json_int_t n) { return n == 1 ? "" : "s"; }

/* One row of a diff table: id, what, and the two sides (taken, freed). */
static void diff_row(struct table *t, json_t *id, json_t *what, char *before, char *after)
{
	cli_table_row(t);
	cli_table_setj(t, 0, id);
	cli_table_setj(t, 1, what);
	cli_table_set(t, 2, before);
	cli_table_set(t, 3, after);
	free(before);
	free(after);
}

/* rules diff: the outcome changes, then the wording-only ones, apart. */
int cli_show_rules_diff(const struct args *a, json_t *r)
{
	json_int_t changed = json_integer_value(json_object_get(r, "changed"));
	json_int_t reworded = json_integer_value(json_object_get(r, "wording_changed"));
	char *cand = short_version(cli_jstr(r, "candidate")), *lv = short_version(cli_jstr(r, "live"));
	cli_say("rules diff at %s: candidate %s against live %s, %" JSON_INTEGER_FORMAT " records looked at",
		cli_jstr_or(r, "at", "?"), cand, lv, json_integer_value(json_object_get(r, "records")));
	free(cand);
	free(lv);
	cli_say("%" JSON_INTEGER_FORMAT " record%s change in decision, state or deadlines%s", changed,
		plural(changed), changed ? ":" : "");
	struct table t;
	size_t i, k;
	json_t *d, *c;
	if (changed) {
		cli_table_init(&t, 4);
		cli_table_head(&t, (const char *[]){ "ID", "WHAT", "BEFORE", "AFTER" });
		json_array_foreach(json_object_get(r, "differences"), i, d) {
			diff_row(&t, json_object_get(d, "id"), json_object_get(d, "what"),
				 diff_side(json_object_get(d, "before")), diff_side(json_object_get(d, "after")));
		}
		cli_table_print(&t, stdout);
		cli_table_free(&t);
	}
	cli_say("%" JSON_INTEGER_FORMAT " record%s change in wording only%s", reworded, plural(reworded),
		reworded ? " (a check's reason):" : "");
	if (reworded) {
		cli_table_init(&t, 4);
		cli_table_head(&t, (const char *[]){ "ID", "CHECK", "BEFORE", "AFTER" });
		json_array_foreach(json_object_get(r, "wording"), i, d)
			json_array_foreach(json_object_get(d, "checks"), k, c)
				diff_row(&t, json_object_get(d, "id"), json_object_get(c, "id"),
					 bilingual(json_object_get(c, "before")),
					 bilingual(json_object_get(c, "after")));
		cli_table_print(&t, stdout);
		cli_table_free(&t);
	}
	if (json_is_true(json_object_get(r, "truncated")))
		cli_say("(the lists stop at 1000 records each; the counts are whole)");
	return ST_OK;
}

/* audit verify's records part: a count, then each record that differs. */
static bool show_audit_records(const json_t *rec)
{
	if (!rec)
		return true;
	json_int_t without = json_integer_value(json_object_get(rec, "without_digest"));
	printf("records: %" JSON_INTEGER_FORMAT " checked against the digest in their last audit entry",
	       json_integer_value(json_object_get(rec, "checked")) - without);
	if (without)
		printf("; %" JSON_INTEGER_FORMAT " last written before entries carried digests "
		       "(vouched for by the chain only)", without);
	putchar('\n');
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(rec, "differ"), i, d) {
		fputs("liuctl: record ", stderr);
		cli_put_text(stderr, cli_jstr_or(d, "id", "?"), false);
		fputs(": ", stderr);
		cli_put_text(stderr, cli_jstr_or(d, "reason", "(no reason given)"), false);
		fputc('\n', stderr);
	}
	json_int_t n = json_integer_value(json_object_get(rec, "differ_count"));
	if ((size_t)n > json_array_size(json_object_get(rec, "differ")))
		fprintf(stderr, "liuctl: ... %" JSON_INTEGER_FORMAT " records differ in all\n", n);
	return n == 0;
}

int cli_show_audit(const struct args *a, json_t *r)
{
	bool ok = true;
	if (!json_object_get(r, "first_bad_seq")) {
		char *h = short_version(cli_jstr(r, "head"));
		printf("ok: the audit chain holds: %" JSON_INTEGER_FORMAT " entries, head %s\n",
		       json_integer_value(json_object_get(r, "entries")), h);
		free(h);
	} else {
		ok = false;
		fprintf(stderr, "liuctl: the audit chain is BROKEN at entry %" JSON_INTEGER_FORMAT ": ",
			json_integer_value(json_object_get(r, "first_bad_seq")));
		cli_put_text(stderr, cli_jstr_or(r, "reason", "(no reason given)"), false);
		fputc('\n', stderr);
	}
	ok &= show_audit_records(json_object_get(r, "records"));
	json_t *p = json_object_get(r, "published");
	if (p && json_is_true(json_object_get(p, "ok"))) {
		printf("ok: the published head %" JSON_INTEGER_FORMAT ":%s is entry %" JSON_INTEGER_FORMAT
		       " of the chain\n", json_integer_value(json_object_get(p, "seq")),
		       cli_jstr_or(p, "hash", "?"), json_integer_value(json_object_get(p, "seq")));
	} else if (p) {
		ok = false;
		fprintf(stderr, "liuctl: the published head %" JSON_INTEGER_FORMAT ":%s does NOT hold: ",
			json_integer_value(json_object_get(p, "seq")), cli_jstr_or(p, "hash", "?"));
		cli_put_text(stderr, cli_jstr_or(p, "reason", "(no reason given)"), false);
		fputc('\n', stderr);
	}
	return ok && !json_is_false(json_object_get(r, "ok")) ? ST_OK : ST_REPLY;
}

int cli_show_backup(const struct args *a, json_t *r)
{
	char *b = cli_bytes_text(json_integer_value(json_object_get(r, "bytes")));
	cli_say("ok: backup written to %s (%s in %" JSON_INTEGER_FORMAT " ms)", cli_jstr_or(r, "path", "?"), b,
	    json_integer_value(json_object_get(r, "ms")));
	free(b);
	return ST_OK;
}

int cli_show_clock(const struct args *a, json_t *r)
{
	cli_say("clock: %s (%s)", cli_jstr_or(r, "now", "?"), cli_jstr_or(r, "mode", "?"));
	if (cli_jstr(r, "warning"))
		cli_say("warning: %s", cli_jstr(r, "warning"));
	return ST_OK;
}

int cli_show_deadlines(const struct args *a, json_t *r)
{
	json_t *list = json_object_get(r, "deadlines");
	if (json_array_size(list) == 0) {
		puts("no deadlines ahead");
		return ST_OK;
	}
	struct table t;
	cli_table_init(&t, 5);
	cli_table_head(&t, (const char *[]){ "AT", "MEASURE", "RECORDS", "STATUS", "TITLE" });
	cli_table_keys(&t, (const char *[]){ "at", "measure", "records_affected", "status", "title" });
	size_t i;
	json_t *d;
	json_array_foreach(list, i, d) {
		cli_table_row(&t);
		cli_table_setj(&t, 0, json_object_get(d, "at"));
		cli_table_setj(&t, 1, json_object_get(d, "measure"));
		cli_table_setj(&t, 2, json_object_get(d, "records_affected"));
		cli_table_set(&t, 3, json_is_true(json_object_get(d, "enforced")) ? "enforced" :
				 json_is_true(json_object_get(d, "due")) ? "due" : "ahead");
		char *title = bilingual(json_object_get(d, "title"));
		cli_table_set(&t, 4, title);
		free(title);
	}
	cli_table_print(&t, stdout);
	cli_table_free(&t);
	return ST_OK;
}

int cli_show_enforce(const struct args *a, json_t *r)
{
	json_t *list = json_object_get(r, "enforced");
	if (json_array_size(list) == 0) {
		cli_say("nothing was due at %s", cli_jstr_or(json_object_get(r, "clock"), "now", "this time"));
		return ST_OK;
	}
	list_table(list, (const char *[]){ "measure", "at", "seen", "changed" },
		   (const char *[]){ "MEASURE", "DEADLINE", "RECORDS SEEN", "CHANGED" }, 4);
	return ST_OK;
}

/*
 * Results whose shape belongs to other modules and may still grow
 * (deadlines, enforce, rules diff and history): the scalar members as
 * "key: value" lines, then the first list of objects as a table of its
 * scalar keys.  Anything else is printed as JSON.
 */
int cli_show_auto(const struct args *a, json_t *r)
{
	json_t *list = json_is_array(r) ? r : NULL;
	struct table t;
	cli_table_init(&t, 2);
	const char *key, *lname = NULL;
	json_t *v;
	json_object_foreach(r, key, v) {
		if (!list && json_is_array(v) && json_is_object(json_array_get(v, 0))) {
			list = v;
			lname = key;
		} else if (!json_is_object(v) && !json_is_array(v)) {
			cli_kvj(&t, key, v);
		} else if (json_is_array(v) && json_array_size(v) == 0) {
			cli_kv(&t, key, "none");
		}
	}
	bool tabular = true;
	size_t i;
	json_t *o;
	json_array_foreach(list, i, o)
		tabular = tabular && json_is_object(o);
	if (!list || !tabular || json_array_size(list) == 0) {
		cli_table_free(&t);
		print_json_text(r);
		return ST_OK;
	}
	/* --format tsv|csv: the table alone on stdout, the facts around it
	 * (rules history's live version) on stderr. */
	FILE *facts = cli_table_format() == CLI_TABLE ? stdout : stderr;
	cli_table_print(&t, facts);
	cli_table_free(&t);
	/* Columns: the keys of the first object, in order. */
	const char *keys[TOKS_MAX] = { NULL }, *heads[TOKS_MAX] = { NULL };
	char *upper[TOKS_MAX];
	size_t n = 0;
	json_object_foreach(json_array_get(list, 0), key, v) {
		if (n == TOKS_MAX)
			break;
		keys[n] = key;
		upper[n] = cli_xstrdup(key);
		for (char *p = upper[n]; *p; p++)
			*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p == '_' ? ' ' : *p);
		heads[n] = upper[n];
		n++;
	}
	if (lname && facts == stdout) {
		cli_put_text(stdout, lname, false);
		fputs(":\n", stdout);
	}
	list_table(list, keys, heads, n);
	for (i = 0; i < n; i++)
		free(upper[i]);
	return ST_OK;
}

/* --- the pack's actions (act --help) ----------------------------------------------- */

/* A JSON list of names as "a, b, c" (caller frees). */
static char *names_text(const json_t *list)
{
	char *s = cli_xstrdup("");
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		char *t = cli_xasprintf("%s%s%s", s, i ? ", " : "", json_is_string(v) ? json_string_value(v) : "?");
		free(s);
		s = t;
	}
	return s;
}

/* One action of rules.status: its name and title, what it runs on, who
 * may, and the params it declares. */
static void show_action(const char *name, const json_t *a)
{
	json_t *title = json_object_get(a, "title");
	bool creates = json_is_true(json_object_get(a, "creates"));
	cli_say("  %s%s  %s / %s", name, creates ? "" : " <id>", cli_jstr_or(title, "ja", ""),
		cli_jstr_or(title, "en", ""));
	char *from = names_text(json_object_get(a, "from"));
	char *roles = names_text(json_object_get(a, "roles"));
	const char *to = cli_jstr(a, "to");
	if (creates)
		cli_say("      creates %s records in state %s; roles: %s", cli_jstr_or(a, "kind", "?"),
			to ? to : "?", roles);
	else
		cli_say("      on %s records in state %s%s%s; roles: %s", cli_jstr_or(a, "kind", "?"), from,
			to ? " -> " : "", to ? to : "", roles);
	free(from);
	free(roles);
	json_t *params = json_object_get(a, "params");
	if (!json_is_array(params)) {
		cli_say("      params: not declared by the pack (see its documentation)");
		return;
	}
	if (json_array_size(params) == 0) {
		cli_say("      params: none");
		return;
	}
	size_t i;
	json_t *p;
	json_array_foreach(params, i, p) {
		const char *ja = cli_jstr(p, "ja"), *en = cli_jstr(p, "en");
		const char *type = cli_jstr(p, "type");
		char *t = type ? cli_xasprintf(" (%s)", type) : cli_xstrdup("");
		cli_say("      %s=...%s%s%s%s%s%s", cli_jstr_or(p, "id", "?"),
			json_is_true(json_object_get(p, "required")) ? " (required)" : "",
			ja || en ? "  " : "", ja ? ja : "", ja && en ? " / " : "", en ? en : "", t);
		free(t);
	}
}

static int cmp_names(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

int cli_show_action(json_t *status, const char *action)
{
	json_t *actions = json_object_get(status, "actions"), *a = json_object_get(actions, action);
	if (!a) {
		size_t n = json_object_size(actions), k = 0;
		const char **names = cli_xrealloc(NULL, (n ? n : 1) * sizeof *names);
		const char *name;
		json_t *v;
		json_object_foreach(actions, name, v)
			names[k++] = name;
		qsort(names, n, sizeof *names, cmp_names);
		fputs("liuctl: act: no action ", stderr);
		cli_put_text(stderr, action, false);
		fprintf(stderr, " in the live rule pack %s; its actions:", cli_jstr_or(status, "name", "?"));
		for (k = 0; k < n; k++)
			fprintf(stderr, "%s %s", k ? "," : "", names[k]);
		fputs(n ? "\n" : " none\n", stderr);
		free(names);
		return ST_USAGE;
	}
	bool creates = json_is_true(json_object_get(a, "creates"));
	cli_say("usage:");
	cli_say("  liuctl act %s%s [key=value ...] [--params <json|@file|->]%s", action, creates ? "" : " <id>",
		creates ? "" : " [--if-rev <n>]");
	show_action(action, a);
	cli_say("params are given as key=value (a.b=v for a nested field) or --params JSON.");
	return ST_OK;
}

int cli_show_actions(const char *socket, json_t *status)
{
	json_t *actions = json_object_get(status, "actions");
	cli_say("actions of the live rule pack %s (version %.12s), from the daemon at %s:",
		cli_jstr_or(status, "name", "?"), cli_jstr_or(status, "version", "?"), socket);
	/* by name: the reply's object has no order of its own */
	size_t n = json_object_size(actions), k = 0;
	const char **names = cli_xrealloc(NULL, (n ? n : 1) * sizeof *names);
	const char *name;
	json_t *a;
	json_object_foreach(actions, name, a)
		names[k++] = name;
	qsort(names, n, sizeof *names, cmp_names);
	for (k = 0; k < n; k++)
		show_action(names[k], json_object_get(actions, names[k]));
	free(names);
	if (n == 0)
		cli_say("  (none)");
	cli_say("params are given as key=value (a.b=v for a nested field) or --params JSON.");
	return ST_OK;
}
