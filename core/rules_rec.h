/*
 * rules_rec — a stored record's JSON text as the Lua host reads it
 * (rules_act_text and rules_eval_text in rules.h): where its members lie and
 * what the core needs of it, filled by the reader (rules_text.c) in the same
 * pass that gives the record to Lua.  Callers include rules.h, which
 * includes this; it is a header of its own so that the reader, which the
 * host calls, needs these types and not the host's contract (no include
 * cycle between rules and rules_text: tests/03-layers.t).  libc only.
 */
#ifndef LIU_RULES_REC_H
#define LIU_RULES_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a value lies in a record's text: `len` bytes from `off` (len 0:
 * the record has no such member). */
struct rules_span {
	size_t off, len;
};

/* One member of a stored record's "data": its whole text ("key":value)
 * and its name decoded. */
struct rules_member {
	struct rules_span text;
	char *key;              /* owned by the rules_rec */
	size_t key_len;
	bool lazy;              /* left as text for Lua (rules_text.h, TEXT_LAZY) */
};

/*
 * A stored record given to an action as its JSON text (rules_act_text),
 * and what the core needs of it, read in the same pass that gives it to
 * Lua (rules_text.h says why).  The caller sets `text` and `len` and zeroes
 * the rest; rules_rec_clear() (rules.h) frees what the read allocated,
 * whatever the outcome.
 */
struct rules_rec {
	const char *text;       /* borrowed: valid until rules_rec_clear() */
	size_t len;
	bool whole;             /* an action reads all of data into Lua first,
				 * not as rules touch it (rules_text.h,
				 * TEXT_LAZY): tests that compare pairs() order */
	bool strict;            /* a record sent inline (reqrec.h): a key given
				 * twice in an object is refused, as jansson
				 * refuses it, not read as the last one */
	/* Filled by the read: */
	struct rules_span id, kind, created_at; /* the values as written */
	char *kind_s, *state_s; /* the kind and the state decoded, or NULL */
	int64_t rev;            /* valid when has_rev */
	bool has_rev;
	struct rules_member *data; /* the members of "data", in their order */
	size_t ndata, capdata;
	char *new_data;         /* the new version's "data" (rules_act_text) */
	size_t new_data_len;
	bool damaged;           /* the text is not a record (rules.h,
				 * rules_act_text) */
	bool refused;           /* with damaged: for what jansson refuses too
				 * (a syntax error, a number out of range, a key
				 * given twice when strict), not only for nesting
				 * past RULES_MAX_DEPTH */
};

#endif
