/*
 * fuzz_pack — libFuzzer target for record validation through a rule pack:
 * arbitrary data given to the ISMAP-LIU pack (rules/ismap-liu) through the
 * Lua host, as the daemon gives it what clients send.
 *
 * Each input becomes the params of the creating action "submit": a JSON
 * object as it is; any other JSON value, or bytes that are not JSON (made
 * valid UTF-8, NUL bytes kept), wrapped as one field of the application
 * chosen from a hash of the input.  Then, as the methods do:
 *   - rules_act("submit") on no record, params the input;
 *   - when it succeeds, rules_eval() of the new record, every view's row,
 *     the expiry hooks of every measure at its deadline, and "amend" with
 *     the input as params, given the record as a tree and as its text
 *     (rules_act_text, as the daemon does: the same outcome and new data);
 *   - rules_eval() of the input given inline, as the eval method takes a
 *     record that is not stored (a full record when it holds a "data"
 *     object, else the data), which no validation has seen.
 * The decision instant and the caller's role also come from the hash.
 *
 * Oracles: no crash and no sanitizer report; every call returns one of its
 * documented codes with *out set and shaped as rules.h says; and the state
 * keeps working: every FUZZ_CHECK_EVERY inputs (default 50) a known-good
 * application is submitted and evaluated again and must give exactly what
 * it gave after loading.  A rule script error (LIU_ESCRIPT: the pack raised
 * instead of refusing) is a fine outcome for the host but a flaw of the
 * pack: they are counted and printed at exit, and FUZZ_STRICT_SCRIPT=1
 * aborts on the first one (other than the host's "JSON nested deeper than"
 * refusal, and than errors containing $FUZZ_SCRIPT_IGNORE) so that libFuzzer
 * keeps the input.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errors.h"
#include "fuzz_common.h"
#include "log.h"
#include "rules.h"

static struct rules *R;
static json_t *good_params, *good_act, *good_eval; /* the baseline */
static json_t *measures;                            /* [{measure, at}] of the pack's deadlines */
static int64_t instants[4];
static long check_every, inputs;
static bool strict_script;
static const char *script_ignore; /* FUZZ_SCRIPT_IGNORE: a known error to go past */
struct counts {
	long calls, ok, refused, invalid, script, nomem;
};
static struct counts st_act, st_eval, st_inline, st_view, st_expire, st_amend;

static const char *const roles[] = { "secretariat", "admin", "agency", "policy", "none", "" };
static const char *const fields[] = {
	"service_name", "provider_name", "provider_corporate_number", "impact_assessment",
	"statement", "pledge", "planned_liu_application", "certifications", "confirmed_on",
	"liu_filings", "unknown_field",
};
#define NROLES (sizeof roles / sizeof roles[0])
#define NFIELDS (sizeof fields / sizeof fields[0])

/* The bytes as a JSON string: as they are when valid UTF-8, else each byte
 * over 0x7f read as Latin-1.  NUL bytes stay. */
static json_t *bytes_string(const uint8_t *p, size_t n)
{
	json_t *s = json_stringn((const char *)p, n);
	if (s)
		return s;
	char *u = malloc(n * 2 + 1);
	if (!u)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x80) {
			u[k++] = (char)p[i];
		} else {
			u[k++] = (char)(0xc0 | (p[i] >> 6));
			u[k++] = (char)(0x80 | (p[i] & 0x3f));
		}
	}
	s = json_stringn(u, k);
	free(u);
	FUZZ_CHECK(s, "Latin-1 to UTF-8 gave invalid UTF-8");
	return s;
}

/* Counts an outcome and checks that *out is set and shaped per rules.h. */
static void outcome(const char *what, int rc, json_t *out, struct counts *s)
{
	s->calls++;
	FUZZ_CHECK(out, "%s: *out not set (rc %d)", what, rc);
	switch (rc) {
	case 0:
		s->ok++;
		break;
	case LIU_EREFUSED:
		s->refused++;
		FUZZ_CHECK(json_is_array(json_object_get(out, "refused")) &&
				   json_array_size(json_object_get(out, "refused")) > 0,
			   "%s: refused without reasons", what);
		break;
	case LIU_EINVAL:
		s->invalid++;
		FUZZ_CHECK(json_is_array(json_object_get(out, "invalid")) &&
				   json_array_size(json_object_get(out, "invalid")) > 0,
			   "%s: invalid without fields", what);
		break;
	case LIU_ESCRIPT:
		s->script++;
		FUZZ_CHECK(json_is_string(json_object_get(out, "error")), "%s: script error without a message",
			   what);
		/* Too deep a value is refused by the host's conversion, by design. */
		if (strict_script && !strstr(json_string_value(json_object_get(out, "error")),
					     "JSON nested deeper than") &&
		    !(script_ignore && strstr(json_string_value(json_object_get(out, "error")),
					      script_ignore))) {
			char *d = json_dumps(out, JSON_COMPACT);
			fuzz_fail("%s: rule script error (FUZZ_STRICT_SCRIPT): %.600s", what, d ? d : "?");
		}
		break;
	case -ENOMEM:
		s->nomem++;
		break;
	default:
		fuzz_fail("%s: unexpected return code %d", what, rc);
	}
}

/* The record a creating action's outcome stands for, as rpc_m_act stores it. */
static json_t *stored_record(json_t *out)
{
	json_t *r = json_object_get(out, "record");
	FUZZ_CHECK(json_is_object(r) && json_is_string(json_object_get(r, "kind")) &&
			   json_is_string(json_object_get(r, "state")),
		   "act succeeded without record {kind, state}");
	FUZZ_CHECK(json_is_array(json_object_get(out, "events")), "act succeeded without events");
	json_t *data = json_object_get(r, "data");
	return json_pack("{s:s, s:O, s:O, s:i, s:o, s:s, s:s}", "id", "A-1", "kind",
			 json_object_get(r, "kind"), "state", json_object_get(r, "state"), "rev", 1,
			 "data", data ? json_incref(data) : json_object(),
			 "created_at", "2024-01-01T09:00:00+09:00", "updated_at",
			 "2024-01-01T09:00:00+09:00");
}

/* As rpc_records.c's inline_record(): a full record, or just its data. */
static json_t *inline_record(json_t *given)
{
	json_t *rec;
	if (json_is_object(json_object_get(given, "data"))) {
		rec = json_deep_copy(given);
	} else {
		rec = json_object();
		json_object_set(rec, "data", given);
	}
	if (!json_is_string(json_object_get(rec, "kind")))
		json_object_set_new(rec, "kind", json_string("application"));
	return rec;
}

/* Submits and evaluates the known-good application; *act and *ev new. */
static void run_good(json_t **act, json_t **ev)
{
	struct rules_ctx ctx = { .at = instants[0], .role = "secretariat" };
	int rc = rules_act(R, "submit", NULL, good_params, &ctx, act);
	FUZZ_CHECK(rc == 0, "the known-good submit fails (rc %d): %.300s", rc,
		   json_string_value(json_object_get(*act, "error")));
	json_t *rec = stored_record(*act);
	rc = rules_eval(R, rec, instants[0], ev);
	FUZZ_CHECK(rc == 0, "the known-good eval fails (rc %d)", rc);
	json_decref(rec);
}

static void report(void)
{
	if (!R)
		return;
	printf("fuzz_pack: %ld inputs; outcomes (calls ok refused invalid script-error nomem):\n", inputs);
#define LINE(n, s) printf("  %-8s %ld %ld %ld %ld %ld %ld\n", n, s.calls, s.ok, s.refused, s.invalid, s.script, s.nomem)
	LINE("submit", st_act);
	LINE("eval", st_eval);
	LINE("inline", st_inline);
	LINE("view", st_view);
	LINE("expire", st_expire);
	LINE("amend", st_amend);
#undef LINE
	struct rules_stats s;
	rules_stats(R, &s);
	printf("  rules: calls %llu errors %llu budget_kills %llu mem %zu\n", (unsigned long long)s.calls,
	       (unsigned long long)s.errors, (unsigned long long)s.budget_kills, s.mem_used);
	rules_free(R);
	R = NULL;
	json_decref(good_params);
	json_decref(good_act);
	json_decref(good_eval);
	json_decref(measures);
}

/* The daemon gives amend the record's stored text (rules_act_text), not the
 * tree: the same outcome as `arc`/`am` from the tree, and on success the new
 * data as the bytes jansson writes for the tree's (objects past rules_text's
 * chunk of 2,048 members may meet pairs() in another order: not compared). */
static void amend_text(json_t *rec, json_t *params, const struct rules_ctx *ctx, int arc, json_t *am)
{
	char *text = json_dumps(rec, JSON_COMPACT | JSON_ENCODE_ANY);
	FUZZ_CHECK(text, "dump of the record");
	struct rules_rec was = { .text = text, .len = strlen(text), .whole = true };
	json_t *ax = NULL;
	int xrc = rules_act_text(R, "amend", &was, params, ctx, &ax);
	FUZZ_CHECK(ax, "amend as text: *out not set");
	if (arc == LIU_ESCRIPT && xrc == -EIO && was.damaged) /* nested too deep */
		xrc = arc;
	if (xrc != -ENOMEM && arc != -ENOMEM)
		FUZZ_CHECK(xrc == arc, "amend: %d from the tree, %d from the text (%s)", arc, xrc,
			   json_string_value(json_object_get(ax, "error")));
	if (xrc == 0 && arc == 0 && fuzz_widest(rec) <= 2048) {
		char *want = json_dumps(json_object_get(json_object_get(am, "record"), "data"),
					JSON_COMPACT | JSON_ENCODE_ANY);
		FUZZ_CHECK(want && was.new_data && strcmp(want, was.new_data) == 0,
			   "amend: the new data differs between the tree and the text");
		free(want);
	}
	rules_rec_clear(&was);
	json_decref(ax);
	/* As the daemon reads it (TEXT_LAZY): the same outcome and values,
	 * the record's members in its order. */
	struct rules_rec lazy = { .text = text, .len = strlen(text) };
	json_t *al = NULL;
	int lrc = rules_act_text(R, "amend", &lazy, params, ctx, &al);
	FUZZ_CHECK(al, "amend read lazily: *out not set");
	if (arc == LIU_ESCRIPT && lrc == -EIO && lazy.damaged)
		lrc = arc;
	if (lrc != -ENOMEM && arc != -ENOMEM)
		FUZZ_CHECK(lrc == arc, "amend: %d from the tree, %d read lazily (%s)", arc, lrc,
			   json_string_value(json_object_get(al, "error")));
	if (lrc == 0 && arc == 0) {
		json_t *got = json_loadb(lazy.new_data, lazy.new_data_len, 0, NULL);
		FUZZ_CHECK(got && json_equal(got, json_object_get(json_object_get(am, "record"), "data")),
			   "amend: the new data differs between the tree and the lazy read");
		FUZZ_CHECK(fuzz_kept_order(got, json_object_get(rec, "data")),
			   "amend read lazily: the record's members reordered");
		json_decref(got);
	}
	rules_rec_clear(&lazy);
	json_decref(al);
	free(text);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	check_every = fuzz_env_long("FUZZ_CHECK_EVERY", 50);
	if (check_every < 1)
		check_every = 1;
	strict_script = fuzz_env_long("FUZZ_STRICT_SCRIPT", 0) != 0;
	script_ignore = getenv("FUZZ_SCRIPT_IGNORE");
	if (script_ignore && !*script_ignore)
		script_ignore = NULL;
	const char *lvl = getenv("FUZZ_LOG");
	enum log_level level = LOG_DEBUG;
	if (lvl && log_parse_level(lvl, &level) < 0)
		level = LOG_DEBUG;
	log_set_level(level);

	static const char *const at[] = { "2024-01-01T10:00:00+09:00", "2023-05-18T23:59:59+09:00",
					  "2025-04-01T00:00:00+09:00", "2023-05-19T00:00:00+09:00" };
	struct clock_why why;
	for (int i = 0; i < 4; i++)
		FUZZ_CHECK(clock_parse(at[i], &instants[i], &why) == 0, "clock_parse %s", at[i]);

	char dir[4096];
	snprintf(dir, sizeof dir, "%s/rules/ismap-liu", fuzz_srcdir());
	/* The daemon's budgets, with more time: the sanitizers slow Lua down. */
	struct rules_opts o = { .mem_limit = 256u << 20, .instr_limit = 20000000, .time_limit_ms = 5000 };
	char *err = NULL;
	int rc = rules_load(&R, dir, &o, &err);
	FUZZ_CHECK(rc == 0, "the pack %s does not load: %s (set FUZZ_SRCDIR)", dir, err ? err : "?");

	json_t *dl = rules_deadlines(R);
	FUZZ_CHECK(json_is_array(dl), "rules_deadlines");
	measures = dl;

	good_params = json_pack("{s:s, s:s, s:s, s:s}", "service_name", "クラウド会計SaaS",
				"provider_name", "株式会社テスト", "provider_corporate_number",
				"7000012050002", "planned_liu_application", "2024-10");
	run_good(&good_act, &good_eval);
	atexit(report);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	inputs++;
	uint64_t h = fuzz_hash(data, size);
	json_error_t e;
	json_t *in = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
	json_t *params;
	if (json_is_object(in)) {
		params = in;
	} else {
		params = json_object();
		json_object_set_new(params, fields[h % NFIELDS], in ? in : bytes_string(data, size));
	}
	/* Mostly inside the period, as a secretariat; sometimes not. */
	unsigned pick = (unsigned)(h >> 8) & 0xff;
	struct rules_ctx ctx = { .at = instants[pick < 200 ? 0 : pick % 4],
				 .role = roles[pick < 160 ? 0 : (h >> 16) % NROLES] };

	json_t *out = NULL;
	int rc = rules_act(R, "submit", NULL, params, &ctx, &out);
	outcome("submit", rc, out, &st_act);
	if (rc == 0) {
		json_t *rec = stored_record(out);
		json_t *ev = NULL;
		int erc = rules_eval(R, rec, ctx.at, &ev);
		outcome("eval", erc, ev, &st_eval);
		if (erc == 0)
			FUZZ_CHECK(json_is_string(json_object_get(ev, "decision")) &&
					   json_is_array(json_object_get(ev, "checks")),
				   "eval without decision and checks");
		json_decref(ev);

		const char *name;
		json_t *v;
		json_object_foreach(json_object_get(rules_describe(R), "views"), name, v) {
			json_t *row = NULL;
			int vrc = rules_view_row(R, name, rec, NULL, ctx.at, &row);
			FUZZ_CHECK(vrc == 1 || vrc == 0 || vrc == LIU_ESCRIPT || vrc == -ENOMEM,
				   "view %s: unexpected return code %d", name, vrc);
			if (vrc < 0)
				outcome("view", vrc, row, &st_view);
			else
				outcome("view", 0, json_null(), &st_view);
			json_decref(row);
		}

		size_t i;
		json_t *d;
		json_array_foreach(measures, i, d) {
			json_t *x = NULL;
			int xrc = rules_expire(R, json_string_value(json_object_get(d, "measure")), rec,
					       json_integer_value(json_object_get(d, "at")), &x);
			FUZZ_CHECK(xrc == 1 || xrc == 0 || xrc < 0, "expire: unexpected return code %d", xrc);
			outcome("expire", xrc > 0 ? 0 : xrc, x ? x : json_null(), &st_expire);
			if (xrc == 1)
				FUZZ_CHECK(json_is_object(json_object_get(x, "record")), "expire changed nothing");
			json_decref(x);
		}

		json_t *am = NULL;
		int arc = rules_act(R, "amend", rec, params, &ctx, &am);
		outcome("amend", arc, am, &st_amend);
		amend_text(rec, params, &ctx, arc, am);
		json_decref(am);
		json_decref(rec);
	}
	json_decref(out);

	json_t *rec = inline_record(params);
	json_t *ev = NULL;
	rc = rules_eval(R, rec, ctx.at, &ev);
	outcome("inline eval", rc, ev, &st_inline);
	json_decref(ev);
	json_decref(rec);
	json_decref(params);

	/* The state must keep working, and give what it gave at the start. */
	if (inputs % check_every == 0) {
		json_t *a, *g;
		run_good(&a, &g);
		FUZZ_CHECK(json_equal(a, good_act), "the known-good submit gives another result than at load");
		FUZZ_CHECK(json_equal(g, good_eval), "the known-good eval gives another result than at load");
		json_decref(a);
		json_decref(g);
	}
	return 0;
}
