/*
 * fuzz_text — differential libFuzzer target for an action on a record given
 * as text (core/rules_text.c): the daemon reads a stored record's bytes
 * straight into Lua with yajl, where every other call gives Lua a jansson
 * tree; the two must agree.  The pack is tests/packs/look, whose action
 * records what it saw.
 *
 * Each input is used twice:
 *   - its bytes as a stored record's text, as they are, through
 *     rules_act_text(): a damaged or hostile database must give an error
 *     (-EIO, the record damaged, saying why) or an outcome, never a crash or a leak;
 *   - when jansson reads it as JSON, a record of kind "thing" in state
 *     "new" built from it (the object itself when it has a "data" object,
 *     else the value as its data), given both as the text jansson writes
 *     for it (what the daemon stores) to rules_act_text() and as the tree
 *     to rules_act(), with params chosen from a hash of the input (trace,
 *     seen, set and clear some of its fields, refuse).
 *
 * Oracles: no crash and no sanitizer report; the same outcome both ways;
 * on success the same record seen by the action, the same pairs() order of
 * every table (when no object has more than rules_text's chunk of 2,048
 * members), and the new data as the bytes jansson writes for the tree's.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "fuzz_common.h"
#include "log.h"
#include "rules.h"

static struct rules *R;
static long inputs, same, text_errors;

static bool known_code(int rc)
{
	return rc == 0 || rc == LIU_EREFUSED || rc == LIU_EINVAL || rc == LIU_ESCRIPT || rc == -ENOMEM ||
	       rc == -EIO;
}

static void report(void)
{
	if (R)
		printf("fuzz_text: %ld inputs; %ld compared both ways; %ld texts refused\n", inputs, same,
		       text_errors);
	rules_free(R);
	R = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/tests/packs/look", fuzz_srcdir());
	struct rules_opts o = { .mem_limit = 256u << 20, .instr_limit = 20000000, .time_limit_ms = 5000 };
	char *err = NULL;
	int rc = rules_load(&R, dir, &o, &err);
	FUZZ_CHECK(rc == 0, "the pack %s does not load: %s (set FUZZ_SRCDIR)", dir, err ? err : "?");
	atexit(report);
	return 0;
}

/* The params of "look", from the hash and the record's data fields. */
static json_t *params_for(uint64_t h, json_t *data)
{
	json_t *p = json_object(), *set = json_object(), *clear = json_array();
	json_object_set_new(p, "trace", json_boolean(h & 1));
	json_object_set_new(p, "seen", json_boolean(h & 2));
	json_object_set_new(p, "refuse", json_boolean((h & 0x70) == 0x70));
	const char *k;
	json_t *v;
	int i = 0;
	json_object_foreach(data, k, v) {
		unsigned what = (unsigned)(h >> (8 + 2 * (i++ % 24))) & 3;
		if (what == 1)
			json_object_set_new(set, k, json_pack("[s, O]", "changed", v));
		else if (what == 2)
			json_array_append_new(clear, json_string(k));
		else if (what == 3) /* an equal value: not a change */
			json_object_set_new(set, k, json_deep_copy(v));
	}
	if (h & 4)
		json_object_set_new(set, "added", json_pack("{s:[i, s, n]}", "x", 1, "y"));
	json_object_set_new(p, "set", set);
	json_object_set_new(p, "clear", clear);
	return p;
}

static void both_ways(json_t *rec, uint64_t h)
{
	struct rules_ctx ctx = { .at = 1717200000, .role = "secretariat" };
	json_t *params = params_for(h, json_object_get(rec, "data"));
	char *text = json_dumps(rec, JSON_COMPACT | JSON_ENCODE_ANY);
	FUZZ_CHECK(text && params, "out of memory building the input");
	json_t *ot = NULL, *ox = NULL;
	int rt = rules_act(R, "look", rec, params, &ctx, &ot);
	struct rules_rec was = { .text = text, .len = strlen(text), .whole = true };
	int rx = rules_act_text(R, "look", &was, params, &ctx, &ox);
	FUZZ_CHECK(ot && ox && known_code(rt) && known_code(rx), "unexpected codes %d / %d", rt, rx);
	/* Nesting past the limit: a script error for a tree (it came from a
	 * client), damage for a stored text. */
	if (rt == LIU_ESCRIPT && rx == -EIO && was.damaged)
		rx = rt;
	if (rt != -ENOMEM && rx != -ENOMEM) {
		FUZZ_CHECK(rt == rx, "outcome: %d from the tree, %d from the text (%s / %s)", rt, rx,
			   json_string_value(json_object_get(ot, "error")),
			   json_string_value(json_object_get(ox, "error")));
		same++;
	}
	if (rt == 0 && rx == 0) {
		json_t *dt = json_object_get(json_object_get(ot, "record"), "data");
		json_t *dx = json_object_get(json_object_get(ox, "record"), "data");
		(void)dx; /* without the fields kept as written: those are in was.new_data */
		FUZZ_CHECK(was.has_rev && was.rev == json_integer_value(json_object_get(rec, "rev")),
			   "rev not read");
		/* The new data both ways, as values: what the action saw (seen),
		 * the pairs() order of every table (trace: only where rules_text
		 * promises it), everything it kept or changed. */
		json_t *nx = was.new_data ? json_loadb(was.new_data, was.new_data_len, 0, NULL) : NULL;
		FUZZ_CHECK(nx, "the new data is not JSON: %s", was.new_data ? was.new_data : "(none)");
		bool ordered = fuzz_widest(rec) <= 2048;
		json_t *want = json_deep_copy(dt);
		if (!ordered) {
			json_object_del(want, "trace");
			json_object_del(nx, "trace");
		}
		FUZZ_CHECK(json_equal(want, nx), "the action saw or left another record");
		json_decref(want);
		json_decref(nx);
		if (ordered) {
			char *bytes = json_dumps(dt, JSON_COMPACT | JSON_ENCODE_ANY);
			FUZZ_CHECK(bytes && strcmp(bytes, was.new_data) == 0 && was.new_data_len == strlen(bytes),
				   "the new data is not the bytes jansson writes:\n%s\n%s", bytes, was.new_data);
			free(bytes);
		}
	}
	rules_rec_clear(&was);
	json_decref(ox);
	/* Read as the daemon reads it, as the action touches it: the same
	 * outcome and values; pairs() order is not promised, the record's
	 * members keep their order. */
	struct rules_rec lazy = { .text = text, .len = strlen(text) };
	json_t *ol = NULL;
	int rl = rules_act_text(R, "look", &lazy, params, &ctx, &ol);
	FUZZ_CHECK(ol && known_code(rl), "lazy: code %d", rl);
	if (rt == LIU_ESCRIPT && rl == -EIO && lazy.damaged)
		rl = rt;
	if (rt != -ENOMEM && rl != -ENOMEM)
		FUZZ_CHECK(rt == rl, "outcome: %d from the tree, %d read lazily (%s / %s)", rt, rl,
			   json_string_value(json_object_get(ot, "error")),
			   json_string_value(json_object_get(ol, "error")));
	if (rt == 0 && rl == 0) {
		json_t *dt = json_object_get(json_object_get(ot, "record"), "data");
		json_t *nl = lazy.new_data ? json_loadb(lazy.new_data, lazy.new_data_len, 0, NULL) : NULL;
		FUZZ_CHECK(nl, "lazy: the new data is not JSON: %s", lazy.new_data ? lazy.new_data : "(none)");
		json_t *want = json_deep_copy(dt);
		/* pairs() order (trace) may differ; what it records, not. */
		json_object_del(want, "trace");
		json_object_del(nl, "trace");
		json_object_del(json_object_get(json_object_get(want, "seen"), "data"), "trace");
		json_object_del(json_object_get(json_object_get(nl, "seen"), "data"), "trace");
		FUZZ_CHECK(json_equal(want, nl), "read lazily, the action saw or left another record:\n%s",
			   lazy.new_data);
		json_t *nl2 = json_loadb(lazy.new_data, lazy.new_data_len, 0, NULL);
		FUZZ_CHECK(fuzz_kept_order(nl2, json_object_get(rec, "data")),
			   "read lazily, the record's members reordered:\n%s", lazy.new_data);
		json_decref(nl2);
		json_decref(want);
		json_decref(nl);
	}
	rules_rec_clear(&lazy);
	json_decref(ol);
	json_decref(ot);
	json_decref(params);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	inputs++;
	uint64_t h = fuzz_hash(data, size);
	struct rules_ctx ctx = { .at = 1717200000, .role = "secretariat" };

	/* The bytes as a stored record. */
	json_t *out = NULL, *params = json_object();
	struct rules_rec raw = { .text = (const char *)data, .len = size };
	int rc = rules_act_text(R, "look", &raw, params, &ctx, &out);
	FUZZ_CHECK(out && known_code(rc), "raw text: code %d", rc);
	text_errors += rc == -EIO;
	FUZZ_CHECK(rc != -EIO || raw.damaged, "-EIO without the record marked damaged");
	rules_rec_clear(&raw);
	json_decref(out);
	json_decref(params);

	/* As a record both ways. */
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!j)
		return 0;
	json_t *rec;
	if (json_is_object(j) && json_is_object(json_object_get(j, "data"))) {
		rec = json_deep_copy(j);
	} else {
		rec = json_object();
		json_object_set_new(rec, "data", json_is_object(j) ? json_incref(j)
								   : json_pack("{s:O}", "value", j));
	}
	json_object_set_new(rec, "id", json_string("T-1"));
	json_object_set_new(rec, "kind", json_string("thing"));
	json_object_set_new(rec, "state", json_string("new"));
	json_object_set_new(rec, "rev", json_integer((json_int_t)(h % 1000)));
	json_object_set_new(rec, "created_at", json_string("2024-06-01T10:00:00+09:00"));
	both_ways(rec, h);
	json_decref(rec);
	json_decref(j);
	return 0;
}
