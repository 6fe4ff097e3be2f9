/*
 * evalcache — eval's answers kept in the ledger's memo (ledger.h).
 *
 * A pack that declares eval_by_date answers the same for a stored record all
 * through a span of instants (rules_eval_span), but for the answer's `at`.
 * Its answer is kept encoded without `at` and `id` (rules_eval_memo_text),
 * with the pack's serial and the span.  An entry may hold two answers for
 * the same version: the span of now, and the span that starts at the next
 * deadline (staged enforcement computes it in the hour before, so that the
 * reads of records not yet rewritten when the deadline comes find it).  The
 * ledger drops an entry when a write of its record commits.
 *
 * All on the loop thread.
 */
#ifndef LIU_EVALCACHE_H
#define LIU_EVALCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "rules.h"

/* An entry's head (the ledger's memo head); its body is the first answer's
 * text followed by the second's. */
struct evalcache_head {
	uint64_t serial;      /* rules_serial() of the pack that answered */
	int64_t from, till;   /* the first answer's span (from == till: none) */
	int64_t from2, till2; /* the second answer's span (from2 == till2: none) */
	uint64_t split;       /* bytes of the first answer */
};

/* The answer kept for `id` at `at` under pack `r`: true with the borrowed
 * text (valid until the memo changes), or false. */
bool evalcache_get(struct ledger *l, struct rules *r, const char *id, int64_t at, const char **body,
		size_t *len);

/* Keeps `body` as the answer for [from, till), and an answer the entry holds
 * for a later span of the same pack with it. */
void evalcache_put(struct ledger *l, struct rules *r, const char *id, int64_t from, int64_t till,
		const char *body, size_t len);

/* Keeps `body` as the answer for the later span [from, till) (the next
 * deadline's), with the entry's answer for an earlier span of the same
 * pack. */
void evalcache_put_next(struct ledger *l, struct rules *r, const char *id, int64_t from, int64_t till,
		     const char *body, size_t len);

/* The head of a one-answer entry, for a memo entry built elsewhere (a
 * prepared change's, ledger.h). */
struct evalcache_head evalcache_head1(struct rules *r, int64_t from, int64_t till, size_t len);

#endif
