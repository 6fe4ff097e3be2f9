/*
 * rules_text — a stored record's JSON text straight into a Lua table, and
 * the new version's "data" written back by reusing that text.  Private to
 * rules*.c (it includes <lua.h>); what callers see is struct rules_rec
 * (rules_rec.h, which is all this module needs of the host's contract) and
 * rules_act_text() in rules.h.
 *
 * Why a second JSON library (Debian's yajl, a callback parser, beside
 * jansson): an action on a stored record decoded its 5 KB of text into a
 * jansson tree only to convert the tree into Lua and free it (≈160 µs for
 * an application), then encoded the whole new version again (≈105 µs),
 * although an amend changes one field of eight and the statement of 261
 * controls is 90 % of the text.  yajl hands us each value as it reads it
 * (≈55 µs into Lua), and the offsets it reports let the new version copy
 * the text of every member the action kept instead of encoding it
 * (docs/PERFORMANCE.md).
 *
 * The Lua value is the one conv_push() makes of the same text: objects are
 * tables, arrays tables with the array metatable, null a missing field (a
 * hole in an array), integers integers; nesting past RULES_MAX_DEPTH is an
 * error.  tests/unit/sandbox.c holds the two to the same results.
 */
#ifndef LIU_RULES_TEXT_H
#define LIU_RULES_TEXT_H

#include <jansson.h>
#include <lua.h>

#include "rules_rec.h"

/* Registers the metatable of the parser's box (once per state).  [-0, +0, m] */
void text_open(lua_State *L);

/*
 * Pushes the record `rec->text` as a Lua table and fills the rest of `rec`
 * (rules.h).  Raises a Lua error when the text is not a JSON object, is
 * nested too deep, or memory runs out, so call it inside a protected call;
 * whatever it allocated is then freed by rules_rec_clear() and the garbage
 * collector.  [-0, +1 or +2, m]
 *
 * TEXT_TWIN: also pushes a second copy of its "data", equal and sharing no
 * table with it (nil when data is not an object), built in the same pass:
 * what an action's changes are found against, instead of the prelude's
 * copy() of data before the action (one walk of every table less).
 *
 * TEXT_LAZY: the members of data that are objects or arrays (an
 * application's statement of 261 controls is 90 % of its text) stay text
 * until a rule touches them: data gets a metatable (protected) whose
 * __index reads a member on first access — into data, and its copy into
 * the twin — and whose __newindex and __pairs read it (or all) first.  A
 * member never read is unchanged by construction: not converted, copied
 * or compared, and kept as written (the prelude lists it with the kept
 * fields, text_l_detach).  Its text is checked all the same (syntax,
 * depth, numbers), so a damaged record is found as without the flag.
 * What a rule can no longer see: a member not yet read is missed by raw
 * access from C (lua_next, lua_rawget), so everything of the host that
 * walks tables reads those members first (text_lazy_force in conv_copy and
 * conv_equal, text_lazy_json in conv_to_json), and the sandbox's next and
 * rawget are text_l_next and text_l_rawget.  pairs() order then differs from conv_push()'s.
 *
 * rec->strict (a record sent inline, reqrec.h): a key given twice in an
 * object raises, as jansson refuses it, instead of the last one winning;
 * TEXT_LAZY is then ignored (every key is seen).  Every raise for what
 * jansson refuses too (a syntax error, a number out of range, that key)
 * sets rec->refused besides rec->damaged; nesting past RULES_MAX_DEPTH sets
 * only damaged.
 */
enum { TEXT_TWIN = 1, TEXT_LAZY = 2 };
void text_push_record(lua_State *L, struct rules_rec *rec, unsigned flags);

/* Whether the table at idx is data with members still text.  [-0, +0, -] */
bool text_is_lazy(lua_State *L, int idx);

/* Reads every member of the table at idx still text (nothing for any
 * other value).  [-0, +0, m] */
void text_lazy_force(lua_State *L, int idx);

/* Adds the members of the table at idx still text to `obj`, decoded by
 * jansson (conv_to_json never raises).  0, or -1 with a message. */
int text_lazy_json(lua_State *L, int idx, json_t *obj, char *err, size_t errlen);

/* For the host table: next(t, k) and rawget(t, k) that read first what
 * is still text (the sandbox's next and rawget); force(t); detach(t): the
 * names of the members never read, as a list, and the metatable removed
 * (nothing when t is not lazy) — the prelude's api.act, after the action. */
int text_l_next(lua_State *L);
int text_l_rawget(lua_State *L);
int text_l_force(lua_State *L);
int text_l_detach(lua_State *L);

/*
 * The new version's "data" as JSON text: the members of `was` in their
 * order, each as it was written when its key is in `kept` (a JSON array of
 * names) and encoded from `now` (an object, borrowed) when the action
 * changed it, dropped when it is in neither; then the members of `now`
 * that `was` did not have, in now's order.  The same bytes jansson would
 * write for the merged object, when `was` was written by jansson.
 * Returns the text (NUL-terminated, caller frees) with *len, or NULL when
 * out of memory.
 */
char *text_data(const struct rules_rec *was, json_t *now, json_t *kept, size_t *len);

#endif
