/*
 * expiry — a deadline's expiry hooks: which records they apply to, and what
 * an expiry makes of a record.  Shared by the run at the deadline (sched),
 * staging ahead of it (stage) and rules.diff's projection (lifecycle), so
 * that the three agree.  Uses rules and jansson; touches no store.
 */
#ifndef LIU_EXPIRY_H
#define LIU_EXPIRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "rules.h"

/* Whether one of a deadline's hooks ([{kind, states}], as rules_deadlines()
 * gives them) applies to a record of `kind` in `state`. */
bool expiry_hooks_match(const json_t *hooks, const char *kind, const char *state);

/* Adds to `lanes` the listings the hooks need, [kind, state] (state null:
 * every state of the kind), each once: the store's kind+state index gives
 * them without a scan. */
void expiry_add_lanes(json_t *lanes, const json_t *hooks);

/*
 * What a hook's outcome `out` (rules_expire()) makes of `rec` at deadline
 * `at` of `measure` under `rules`: *next, the record's next version (without
 * "updated_at": the writer stamps it), and *entry, its audit entry (without
 * "time").  Both new (caller decrefs).  Returns 0 or -ENOMEM.
 */
int expiry_change(struct rules *rules, const char *measure, int64_t at, json_t *rec,
		  json_t *out, json_t **next, json_t **entry);

#endif
