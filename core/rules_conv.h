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

#define RULES_ARRAY_MT "liud.array"
#define CONV_MAX_DEPTH 64

/* Pushes `j` onto L's stack.  Raises a Lua error (memory, too deep), so call
 * it only inside a protected call.  [-0, +1, m] */
void conv_push(lua_State *L, const json_t *j);

/*
 * Converts the value at `idx` to a new JSON value (caller decrefs).  Never
 * raises (uses raw access only, so hostile metamethods never run).  Returns
 * NULL with a message in err when the value is not JSON: a function, a
 * cycle or nesting beyond CONV_MAX_DEPTH, NaN, non-UTF-8 text, mixed keys.
 */
json_t *conv_to_json(lua_State *L, int idx, char *err, size_t errlen);

#endif
