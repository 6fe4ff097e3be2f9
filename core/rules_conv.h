/*
 * rules_conv — JSON values to Lua values and back, for the Lua host.
 * Private to rules*.c (it includes <lua.h>).
 *
 * JSON arrays become Lua tables with the shared array metatable (registry key
 * RULES_ARRAY_MT) so that an empty array survives the round trip; a Lua
 * table without it is an array when its keys are exactly 1..n, else an
 * object whose keys must all be strings.
 */
#ifndef LIU_RULES_CONV_H
#define LIU_RULES_CONV_H

#include <jansson.h>
#include <lua.h>
#include <stdbool.h>

#include "rules_int.h" /* RULES_ARRAY_MT, RULES_MAX_DEPTH */

/* Pushes `j` onto L's stack.  Raises a Lua error (memory, too deep), so call
 * it only inside a protected call.  [-0, +1, m] */
void conv_push(lua_State *L, const json_t *j);

/*
 * Converts the value at `idx` to a new JSON value (caller decrefs).  Never
 * raises (uses raw access only, so hostile metamethods never run).  Returns
 * NULL with a message in err when the value is not JSON: a function, a
 * cycle or nesting beyond RULES_MAX_DEPTH, NaN, non-UTF-8 text, mixed keys.
 */
json_t *conv_to_json(lua_State *L, int idx, char *err, size_t errlen);

/* Whether `n` bytes are UTF-8 as jansson accepts it (json_stringn()): no
 * overlong forms, surrogates or characters past U+10FFFF; NUL allowed.  A
 * view's row of 256 KiB of text is checked in a scan of its ASCII, where
 * jansson's check decoded each byte (a third of a millisecond). */
bool conv_utf8_valid(const char *s, size_t n);

/*
 * Deep copy and deep equality of Lua values, in C: the prelude compares a
 * record's data before and after every action, and in Lua a copy of a full
 * application (some 300 tables and strings, grown by rehashing) cost more
 * than the rule itself.  Same meaning as the Lua helpers they replace:
 * tables are copied (keys are not), the array metatable is kept and any
 * other is dropped; equality is raw and ignores metatables.  Both raise a
 * Lua error past CONV_COPY_MAX_DEPTH levels (a cycle), so call them inside a
 * protected call.
 */
#define CONV_COPY_MAX_DEPTH 128

/* Pushes a deep copy of the value at idx.  [-0, +1, m] */
void conv_copy(lua_State *L, int idx);

/* Whether the values at a and b are deeply equal.  [-0, +0, e] */
bool conv_equal(lua_State *L, int a, int b);

/* The prelude's unstated(ids, stated, as) for a table `ids`: pushes an
 * array of ids[1], ids[2], ... (up to the first nil, as ipairs reads them)
 * whose stated[id] is nil, or, when `as` is not nil, not equal to it.  Both
 * tables are indexed as Lua indexes them (a lazy member is read).  In C
 * because R3 of a statement compares 261 controls on every eval, and in Lua
 * each item cost a dozen VM instructions under the budget's count hook.
 * [-0, +1, e] */
void conv_unstated(lua_State *L, int ids, int stated, int as);

#endif
