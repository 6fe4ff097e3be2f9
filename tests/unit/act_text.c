/*
 * Unit tests of an action on a stored record given as text (rules_text.c):
 * the action must see the same Lua value as when the record is given as a
 * jansson tree (the path every other call takes), down to the order pairs()
 * meets the fields in, and the new version's data must be the bytes jansson
 * writes for the merged record.  Each record is run through both paths of
 * one pack and the two compared.
 */
#include <errno.h>
#include <stdlib.h>

#include "errors.h"
#include "rules.h"
#include "tap.h"

/* tests/packs/look: its action "look" records what it saw (see there). */
static struct rules *load(void)
{
	struct rules *r = NULL;
	char *err = NULL;
	struct rules_opts o = { .mem_limit = 64 << 20, .instr_limit = 20000000, .time_limit_ms = 2000 };
	if (rules_load(&r, "tests/packs/look", &o, &err) < 0)
		tap_diag("pack: %s", err ? err : "?");
	free(err);
	return r;
}

static json_t *record(const char *data_json)
{
	json_error_t e;
	json_t *data = json_loads(data_json, 0, &e);
	if (!data)
		tap_diag("bad test data: %s", e.text);
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:o, s:s}", "id", "T-1", "kind", "thing",
			 "created_at", "2024-06-01T10:00:00+09:00", "rev", (json_int_t)3, "state", "new",
			 "data", data, "updated_at", "2024-06-02T10:00:00+09:00");
}

static char *dump(json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* dump() into a buffer reused by the next call. */
static const char *dump_tmp(json_t *j)
{
	static char *last;
	free(last);
	return last = dump(j);
}

/* Texts equal; else says where they part (they can be 100 KB long). */
static void same_text(const char *got, const char *want, const char *desc)
{
	got = got ? got : "(none)";
	size_t i = 0;
	while (got[i] && got[i] == want[i])
		i++;
	if (!ok(got[i] == want[i], desc))
		tap_diag("differ at byte %zu: got \"%.60s\", want \"%.60s\"", i, got + (i > 20 ? i - 20 : 0),
			 want + (i > 20 ? i - 20 : 0));
}

/* The keys of the JSON object text `s` that `of` (an object) has, in
 * their order, as "k,k,k" (caller frees). */
static char *order_of(const char *s, json_t *of)
{
	json_t *o = json_loads(s ? s : "{}", 0, NULL);
	size_t cap = 64, len = 0;
	char *out = calloc(1, cap);
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		if (!json_object_get(of, k))
			continue;
		size_t kl = strlen(k);
		while (len + kl + 2 > cap)
			out = realloc(out, cap *= 2);
		len += (size_t)sprintf(out + len, "%s%s", len ? "," : "", k);
	}
	json_decref(o);
	return out;
}

/* A copy of `out`'s data without "trace" (pairs() order is not promised
 * when data is read as rules touch it). */
static json_t *seen_of(json_t *out)
{
	json_t *seen = json_deep_copy(json_object_get(json_object_get(json_object_get(out, "record"), "data"), "seen"));
	json_object_del(json_object_get(seen, "data"), "trace");
	return seen;
}

/*
 * Runs "look" with `params` on `data_json` three ways: as a tree, as text
 * read whole, as text read as the action touches it (TEXT_LAZY, what the
 * daemon does); checks the outcome, what the action saw and the new data.
 * `same_trace`: whether pairs() order must match between the tree and
 * the whole text (not for containers past rules_text's chunk; never for
 * the lazy read); `want_rc`: the outcome.
 */
static void both(const char *name, struct rules *r, const char *data_json, const char *params_json,
		 bool same_trace, int want_rc)
{
	char desc[200];
	json_t *rec = record(data_json), *params = json_loads(params_json, 0, NULL);
	char *text = dump(rec);
	struct rules_ctx ctx = { .at = 1717200000, .role = "secretariat" };
	json_t *out_tree = NULL, *out_text = NULL, *out_lazy = NULL;
	int rc_tree = rules_act(r, "look", rec, params, &ctx, &out_tree);
	struct rules_rec was = { .text = text, .len = strlen(text), .whole = true };
	int rc_text = rules_act_text(r, "look", &was, params, &ctx, &out_text);
	struct rules_rec lazy = { .text = text, .len = strlen(text) };
	int rc_lazy = rules_act_text(r, "look", &lazy, params, &ctx, &out_lazy);
	snprintf(desc, sizeof desc, "%s: the outcome expected", name);
	if (!is_int(rc_tree, want_rc, desc))
		tap_diag("%s", json_string_value(json_object_get(out_tree, "error")));
	snprintf(desc, sizeof desc, "%s: the same outcome both ways", name);
	if (!is_int(rc_text, rc_tree, desc))
		tap_diag("text: %s", json_string_value(json_object_get(out_text, "error")));
	snprintf(desc, sizeof desc, "%s: the same outcome read lazily", name);
	if (!is_int(rc_lazy, rc_tree, desc))
		tap_diag("lazy: %s", json_string_value(json_object_get(out_lazy, "error")));
	if (rc_tree == 0 && rc_text == 0) {
		json_t *dt = json_object_get(json_object_get(out_tree, "record"), "data");
		json_t *dx = json_object_get(json_object_get(out_text, "record"), "data");
		if (json_object_get(dt, "seen")) {
			snprintf(desc, sizeof desc, "%s: the action saw the same record", name);
			ok(json_equal(json_object_get(dt, "seen"), json_object_get(dx, "seen")), desc);
		}
		if (same_trace && json_object_get(dt, "trace")) {
			snprintf(desc, sizeof desc, "%s: pairs() met the same fields in the same order", name);
			const char *tx = json_string_value(json_object_get(dx, "trace"));
			same_text(tx, json_string_value(json_object_get(dt, "trace")), desc);
		}
		/* What the action saw goes into the data in its pairs() order. */
		if (same_trace) {
			char *want = dump(dt);
			snprintf(desc, sizeof desc, "%s: the new data is the bytes jansson writes", name);
			same_text(was.new_data, want, desc);
			is_int((long long)was.new_data_len, (long long)strlen(want), "  and its length");
			free(want);
		}
		snprintf(desc, sizeof desc, "%s: rev, kind and state read on the way", name);
		ok(was.has_rev && was.rev == 3 && was.kind_s && strcmp(was.kind_s, "thing") == 0 &&
		   was.state_s && strcmp(was.state_s, "new") == 0 && was.id.len == 5 &&
		   memcmp(text + was.id.off, "\"T-1\"", 5) == 0 &&
		   memcmp(text + was.created_at.off, "\"2024-06-01T10:00:00+09:00\"", was.created_at.len) == 0,
		   desc);
	}
	if (rc_tree == 0 && rc_lazy == 0) {
		/* Read lazily: the same values, the record's members in the
		 * record's order; only pairs() order may differ. */
		json_t *dt = json_object_get(json_object_get(out_tree, "record"), "data");
		if (json_object_get(dt, "seen")) {
			json_t *a = seen_of(out_tree), *b = seen_of(out_lazy);
			snprintf(desc, sizeof desc, "%s: read lazily, the action saw the same record", name);
			ok(json_equal(a, b), desc);
			json_decref(a);
			json_decref(b);
		}
		json_t *nd = json_loads(lazy.new_data ? lazy.new_data : "", 0, NULL);
		json_t *want = json_deep_copy(dt);
		if (json_object_get(want, "trace")) {
			json_object_set(want, "trace", json_object_get(nd, "trace"));
			json_t *sd = json_object_get(json_object_get(want, "seen"), "data");
			if (json_object_get(sd, "trace"))
				json_object_set(sd, "trace", json_object_get(nd, "trace"));
		}
		snprintf(desc, sizeof desc, "%s: read lazily, the same new data", name);
		if (!ok(nd && json_equal(nd, want), desc))
			tap_diag("got %s", lazy.new_data ? lazy.new_data : "(none)");
		json_t *old = json_object_get(rec, "data");
		char *o1 = order_of(lazy.new_data, old), *o2 = order_of(dump_tmp(old), nd);
		snprintf(desc, sizeof desc, "%s: read lazily, the record's fields in its order", name);
		is_str(o1, o2, desc);
		free(o1);
		free(o2);
		json_decref(nd);
		json_decref(want);
	}
	rules_rec_clear(&was);
	rules_rec_clear(&lazy);
	json_decref(out_tree);
	json_decref(out_text);
	json_decref(out_lazy);
	json_decref(params);
	json_decref(rec);
	free(text);
}

/* A record text that must be refused as damaged (-EIO), saying `want`. */
static void refused_text(const char *name, struct rules *r, const char *text, const char *want)
{
	struct rules_ctx ctx = { .at = 1717200000, .role = "secretariat" };
	json_t *out = NULL, *params = json_object();
	struct rules_rec was = { .text = text, .len = strlen(text) };
	int rc = rules_act_text(r, "look", &was, params, &ctx, &out);
	is_int(rc, -EIO, name);
	ok(was.damaged, "  marked damaged");
	const char *e = json_string_value(json_object_get(out, "error"));
	if (!ok(e && strstr(e, want), "  with the reason"))
		tap_diag("error: %s", e ? e : "(none)");
	rules_rec_clear(&was);
	json_decref(out);
	json_decref(params);
	/* The state answers the next call. */
	json_t *rec = record("{\"a\":1}");
	rc = rules_act(r, "look", rec, NULL, &ctx, &out);
	is_int(rc, 0, "  and the state answers the next call");
	json_decref(out);
	json_decref(rec);
}

/* eval of `text` read strictly, as a record sent inline is (rules_rec's
 * strict): refused as jansson refuses it when `refuse`, else read. */
static void strict_text(const char *name, struct rules *r, const char *text, bool refuse)
{
	json_t *out = NULL;
	struct rules_rec rec = { .text = text, .len = strlen(text), .strict = true };
	int rc = rules_eval_text(r, &rec, 1717200000, &out);
	if (refuse) {
		is_int(rc, -EIO, name);
		ok(rec.damaged && rec.refused, "  refused for what jansson refuses");
	} else {
		is_int(rc, 0, name);
	}
	rules_rec_clear(&rec);
	json_decref(out);
}

static char *big(int n, bool object)
{
	size_t cap = (size_t)n * 24 + 16;
	char *s = malloc(cap), *p = s;
	p += sprintf(p, "{\"big\":%c", object ? '{' : '[');
	for (int i = 0; i < n; i++)
		p += object ? sprintf(p, "%s\"k%d\":%d", i ? "," : "", i, i)
			    : sprintf(p, "%s%d", i ? "," : "", i);
	sprintf(p, "%c,\"small\":1}", object ? '}' : ']');
	return s;
}

static char *nested(int levels)
{
	char *s = malloc((size_t)levels * 8 + 32), *p = s;
	p += sprintf(p, "{\"deep\":");
	for (int i = 0; i < levels; i++)
		p += sprintf(p, "{\"a\":");
	p += sprintf(p, "1");
	for (int i = 0; i < levels; i++)
		*p++ = '}';
	sprintf(p, "}");
	return s;
}

int main(void)
{
	struct rules *r = load();
	if (!ok(r != NULL, "the test pack loads"))
		return tap_done();

	const char *app =
		"{\"name\":\"株式会社テスト\",\"statement\":{\"controls\":{\"5.1.1\":\"met\",\"5.1.2\":"
		"{\"excluded\":\"理由\"},\"6.1.1\":\"met\"},\"stated_on\":\"2023-06-01\"},\"n\":42,"
		"\"r\":1.5,\"neg\":-7,\"big\":1e300,\"yes\":true,\"no\":false,\"list\":[1,\"two\",[3],{}],"
		"\"empty_list\":[],\"empty_obj\":{}}";
	both("nothing changed", r, app, "{\"trace\":true,\"seen\":true}", true, 0);
	both("one field set", r, app, "{\"set\":{\"n\":43}}", true, 0);
	both("fields set, added and removed", r, app,
	     "{\"set\":{\"r\":2.25,\"new\":[1,{\"x\":null}],\"name\":\"別名\"},\"clear\":[\"list\",\"yes\"]}", true, 0);
	both("the statement replaced by an equal one", r, app,
	     "{\"set\":{\"statement\":{\"controls\":{\"5.1.1\":\"met\",\"5.1.2\":{\"excluded\":\"理由\"},"
	     "\"6.1.1\":\"met\"},\"stated_on\":\"2023-06-01\"}}}", true, 0);
	both("every field removed", r, "{\"a\":1,\"b\":[2]}", "{\"clear\":[\"a\",\"b\"]}", true, 0);
	both("empty data, a field added", r, "{}", "{\"set\":{\"x\":\"y\"}}", true, 0);
	both("nulls: missing fields and holes in lists", r,
	     "{\"gone\":null,\"holes\":[1,null,3,null],\"inner\":{\"a\":null,\"b\":2},\"tail\":[null]}",
	     "{\"trace\":true,\"seen\":true,\"set\":{\"z\":1}}", true, 0);
	both("escapes in keys and values", r,
	     "{\"q\\\"uote\":\"a\\\\b\\n\\u0001\",\"\\u00e9t\\u00e9\":\"\\ud83d\\ude00\",\"slash/\":\"/\"}",
	     "{\"trace\":true,\"seen\":true,\"set\":{\"new\\\"key\":\"x\\ty\"}}", true, 0);
	both("numbers at the limits of 64 bits", r,
	     "{\"min\":-9223372036854775808,\"max\":9223372036854775807,\"tiny\":5e-324,"
	     "\"huge\":1.7976931348623157e308,\"neg0\":-0.0,\"zero\":-0}",
	     "{\"trace\":true,\"seen\":true,\"set\":{\"x\":1}}", true, 0);
	both("a refusal", r, app, "{\"refuse\":true}", true, LIU_EREFUSED);
	/* What Lua's raw access would not see of data read lazily: the
	 * sandbox's rawget and next read it first. */
	both("rawget of a container", r, app, "{\"raw\":\"statement\"}", true, 0);
	both("next over data", r, app, "{\"count\":true}", true, 0);
	both("data replaced: the members never read are gone", r, app,
	     "{\"replace\":{\"name\":\"別\",\"n\":1,\"note_changed\":true}}", true, 0);
	char *b = big(2047, true);
	both("an object just under the chunk", r, b, "{\"trace\":true,\"seen\":true,\"set\":{\"small\":2}}", true, 0);
	free(b);
	b = big(5000, true);
	both("an object of 5,000 fields", r, b, "{\"seen\":true,\"set\":{\"small\":2}}", false, 0);
	both("an object of 5,000 fields, kept", r, b, "{\"set\":{\"small\":2}}", true, 0);
	free(b);
	b = big(5000, false);
	both("a list of 5,000 items", r, b, "{\"trace\":true,\"seen\":true,\"set\":{\"small\":2}}", true, 0);
	free(b);
	/* RULES_MAX_DEPTH is 64: a value 64 levels under the record (record,
	 * data, deep, then 62 objects) is the last allowed. */
	b = nested(62);
	both("nested as deep as allowed", r, b, "{\"set\":{\"x\":1}}", true, 0);
	free(b);

	/* A key twice in data (a hand-made text: jansson never writes one):
	 * the last wins, whether it is a container left as text or not. */
	const char *dups[][2] = {
		{ "{\"a\":2,\"a\":{\"x\":1}}", "{\"x\":1}" },
		{ "{\"a\":{\"x\":1},\"a\":2}", "2" },
		{ "{\"a\":{\"x\":1},\"a\":[3]}", "[3]" },
	};
	for (size_t i = 0; i < sizeof dups / sizeof dups[0]; i++) {
		char t[300];
		snprintf(t, sizeof t, "{\"id\":\"T-1\",\"kind\":\"thing\",\"rev\":3,\"state\":\"new\",\"data\":%s}",
			 dups[i][0]);
		json_t *params = json_pack("{s:s}", "raw", "a"), *out = NULL;
		struct rules_ctx ctx = { .at = 1717200000, .role = "secretariat" };
		struct rules_rec dup = { .text = t, .len = strlen(t) };
		int rc = rules_act_text(r, "look", &dup, params, &ctx, &out);
		json_t *raw = json_object_get(json_object_get(json_object_get(out, "record"), "data"), "raw");
		char *got = raw ? json_dumps(raw, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		char desc[120];
		snprintf(desc, sizeof desc, "a key twice in data (%s): the last one wins", dups[i][0]);
		ok(rc == 0 && got && strcmp(got, dups[i][1]) == 0, desc);
		if (rc || !got || strcmp(got, dups[i][1]))
			tap_diag("rc %d, got %s", rc, got ? got : "(none)");
		free(got);
		rules_rec_clear(&dup);
		json_decref(out);
		json_decref(params);
	}

	refused_text("a damaged record", r, "{\"id\":\"T-1\",\"kind\":\"thi", "does not parse");
	refused_text("a record that is not an object", r, "[1,2]", "not a JSON object");
	refused_text("trailing bytes", r, "{\"id\":\"T-1\"} x", "does not parse");
	refused_text("an integer past 64 bits", r, "{\"rev\":9223372036854775808}", "out of range");
	refused_text("a real past the double's range", r, "{\"x\":1e400}", "out of range");
	refused_text("invalid UTF-8", r, "{\"id\":\"\xff\"}", "does not parse");
	/* A record sent inline is read strictly: a key twice is refused, as
	 * jansson refuses it, where a stored one has the last win. */
	const char *rec_of = "{\"kind\":\"thing\",\"data\":{\"s\":{\"a\":1,\"b\":{\"a\":2}%s}}}";
	char strict[256];
	snprintf(strict, sizeof strict, rec_of, "");
	strict_text("strict: the same key in two objects", r, strict, false);
	snprintf(strict, sizeof strict, rec_of, ",\"a\":3");
	strict_text("strict: a key twice in an object", r, strict, true);
	snprintf(strict, sizeof strict, rec_of, ",\"b\":null");
	strict_text("strict: a key twice, the second null", r, strict, true);
	strict_text("strict: a key twice at the top", r, "{\"kind\":\"thing\",\"data\":{},\"kind\":\"thing\"}", true);
	strict_text("strict: a number out of range", r, "{\"kind\":\"thing\",\"data\":{\"x\":1e400}}", true);
	strict_text("strict: broken text", r, "{\"kind\":\"thing\",\"data\":{\"x\":1,}}", true);
	strict_text("strict: invalid UTF-8", r, "{\"kind\":\"thing\",\"data\":{\"x\":\"\xff\"}}", true);
	{
		/* Enough keys to grow the key set, the last one a key given twice. */
		char *many = malloc(40000);
		size_t n = (size_t)sprintf(many, "{\"kind\":\"thing\",\"data\":{");
		for (int i = 0; i < 2000; i++)
			n += (size_t)sprintf(many + n, "\"k%d\":%d,", i, i);
		sprintf(many + n, "\"k0\":1}}");
		strict_text("strict: a key twice after 2,000 others", r, many, true);
		sprintf(many + n, "\"z\":1}}");
		strict_text("strict: 2,001 keys, none twice", r, many, false);
		free(many);
	}
	{
		json_t *out = NULL;
		snprintf(strict, sizeof strict, rec_of, ",\"a\":3");
		struct rules_rec rec = { .text = strict, .len = strlen(strict) };
		is_int(rules_eval_text(r, &rec, 1717200000, &out), 0, "not strict: the last key wins");
		rules_rec_clear(&rec);
		json_decref(out);
	}
	json_t *rec = record("{}");
	json_object_set_new(rec, "data", json_loads((b = nested(63)), 0, NULL));
	free(b);
	char *deep = dump(rec);
	json_decref(rec);
	refused_text("nested one level deeper than allowed", r, deep, "nested deeper than");
	{
		struct rules_rec sr = { .text = deep, .len = strlen(deep), .strict = true };
		json_t *o = NULL;
		is_int(rules_eval_text(r, &sr, 1717200000, &o), -EIO, "strict: nested too deep");
		ok(sr.damaged && !sr.refused, "  damaged, but not for what jansson refuses");
		rules_rec_clear(&sr);
		json_decref(o);
	}
	json_t *out = NULL;
	struct rules_ctx ctx = { .at = 1717200000, .role = "secretariat" };
	rec = json_loads(deep, 0, NULL);
	is_int(rules_act(r, "look", rec, NULL, &ctx, &out), LIU_ESCRIPT,
	       "  as the tree path refuses it (a script error there: it comes from a client)");
	json_decref(out);
	json_decref(rec);
	free(deep);

	rules_free(r);

	/* Memory running out while the text is read (a callback raising inside
	 * yajl): that call fails with -ENOMEM, nothing leaks (the parser is
	 * freed by the collector: the sanitizers' and valgrind's runs say so),
	 * and the state answers the next call. */
	struct rules *small = NULL;
	char *err = NULL;
	struct rules_opts o = { .mem_limit = 3 << 20, .instr_limit = 20000000, .time_limit_ms = 2000 };
	if (ok(rules_load(&small, "tests/packs/look", &o, &err) == 0, "the pack loads with 3 MiB")) {
		b = big(60000, true);
		rec = record("{}");
		json_object_set_new(rec, "data", json_loads(b, 0, NULL));
		free(b);
		char *huge = dump(rec);
		json_decref(rec);
		json_t *params = json_object();
		struct rules_rec was = { .text = huge, .len = strlen(huge), .whole = true };
		int rc = rules_act_text(small, "look", &was, params, &ctx, &out);
		is_int(rc, -ENOMEM, "a record too large for the state's memory: -ENOMEM");
		ok(!was.damaged, "  not called damaged");
		rules_rec_clear(&was);
		json_decref(out);
		/* Read as the action touches it, the 60,000 fields no rule
		 * reads cost no memory of the state, and are kept as written. */
		was = (struct rules_rec){ .text = huge, .len = strlen(huge) };
		is_int(rules_act_text(small, "look", &was, params, &ctx, &out), 0,
		       "read lazily, the same record is fine when no rule reads that field");
		ok(was.new_data && strstr(huge, was.new_data + 1) != NULL && strlen(was.new_data) > 500000,
		   "  and kept as written");
		rules_rec_clear(&was);
		json_decref(out);
		json_t *trace = json_pack("{s:b}", "trace", 1);
		was = (struct rules_rec){ .text = huge, .len = strlen(huge) };
		rc = rules_act_text(small, "look", &was, trace, &ctx, &out);
		const char *e = json_string_value(json_object_get(out, "error"));
		if (!ok(rc == LIU_ESCRIPT && !was.damaged && e && strstr(e, "memory"),
			"  but out of memory when one does, inside the rule (as any rule allocating past the limit)"))
			tap_diag("rc %d: %s", rc, e ? e : "(none)");
		rules_rec_clear(&was);
		json_decref(out);
		json_decref(trace);
		rec = record("{\"a\":1}");
		char *fine = dump(rec);
		was = (struct rules_rec){ .text = fine, .len = strlen(fine) };
		is_int(rules_act_text(small, "look", &was, params, &ctx, &out), 0, "  and the next call works");
		rules_rec_clear(&was);
		json_decref(out);
		json_decref(rec);
		json_decref(params);
		free(fine);
		free(huge);
	} else {
		tap_diag("%s", err ? err : "?");
	}
	free(err);
	rules_free(small);
	return tap_done();
}
