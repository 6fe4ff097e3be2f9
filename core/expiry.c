/* expiry — see expiry.h. */
#include "expiry.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"

bool expiry_hooks_match(const json_t *hooks, const char *kind, const char *state)
{
	size_t i, j;
	json_t *h, *st;
	json_array_foreach(hooks, i, h) {
		const char *hk = json_string_value(json_object_get(h, "kind"));
		if (!hk || !kind || strcmp(hk, kind) != 0)
			continue;
		json_t *states = json_object_get(h, "states");
		if (json_array_size(states) == 0)
			return true;
		json_array_foreach(states, j, st)
			if (state && json_is_string(st) && strcmp(json_string_value(st), state) == 0)
				return true;
	}
	return false;
}

static void add_lane(json_t *lanes, json_t *want)
{
	size_t k;
	json_t *l;
	json_array_foreach(lanes, k, l)
		if (json_equal(l, want)) {
			json_decref(want);
			return;
		}
	json_array_append_new(lanes, want);
}

void expiry_add_lanes(json_t *lanes, const json_t *hooks)
{
	size_t i, j;
	json_t *h, *st;
	json_array_foreach(hooks, i, h) {
		json_t *kind = json_object_get(h, "kind"), *states = json_object_get(h, "states");
		if (json_array_size(states) == 0)
			add_lane(lanes, json_pack("[O, n]", kind));
		json_array_foreach(states, j, st)
			add_lane(lanes, json_pack("[O, O]", kind, st));
	}
}

int expiry_change(struct rules *rules, const char *measure, int64_t at, json_t *rec,
		  json_t *out, json_t **next, json_t **entry)
{
	json_t *res = json_object_get(out, "record");
	char dl[CLOCK_ISO_MAX];
	clock_format(at, dl);
	json_int_t rev = json_integer_value(json_object_get(rec, "rev"));
	*next = json_copy(rec);
	if (*next) {
		json_object_set_new(*next, "rev", json_integer(rev + 1));
		json_object_set(*next, "state", json_object_get(res, "state"));
		json_object_set(*next, "data", json_object_get(res, "data"));
		json_object_del(*next, "updated_at");
	}
	*entry = json_pack(
		"{s:{s:i, s:s, s:[s]}, s:s, s:s, s:s, s:s, s:O, s:I, s:O, s:O, s:s, s:s, s:O, s:I}",
		"peer", "uid", (int)getuid(), "user", "liud", "roles", "admin", "method", "enforce",
		"action", "expire", "measure", measure, "deadline", dl, "id",
		json_object_get(rec, "id"), "rev_before", rev, "state_before",
		json_object_get(rec, "state"), "state_after", json_object_get(res, "state"),
		"rules_version", rules_version(rules), "outcome", "ok", "events",
		json_object_get(out, "events"), "rev_after", rev + 1);
	if (!*next || !*entry) {
		json_decref(*next);
		json_decref(*entry);
		return -ENOMEM;
	}
	return 0;
}
