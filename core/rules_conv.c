/* rules_conv — see rules_conv.h. */
#include "rules_conv.h"

#include <lauxlib.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rules_text.h"

/* How many bytes a character led by `c` has (1 to 4), 0 for a byte no
 * character begins with (a continuation, 0xC0, 0xC1, 0xF5 and over). */
static int utf8_lead(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
}

bool conv_utf8_valid(const char *text, size_t n)
{
	const unsigned char *s = (const unsigned char *)text, *end = s + n;
	while (s < end) {
		/* ASCII eight bytes at a time: the common case costs a scan. */
		while (end - s >= 8) {
			uint64_t w;
			memcpy(&w, s, 8);
			if (w & 0x8080808080808080u)
				break;
			s += 8;
		}
		if (s == end)
			break;
		int k = utf8_lead(*s);
		if (k == 0 || end - s < k)
			return false;
		uint32_t cp = k == 1 ? *s : *s & (0x7F >> k);
		for (int i = 1; i < k; i++) {
			if ((s[i] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3F);
		}
		/* Overlong forms, UTF-16 surrogates, past U+10FFFF: refused, as
		 * jansson refuses them. */
		if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		s += k;
	}
	return true;
}

static void push_depth(lua_State *L, const json_t *j, int depth)
{
	if (depth > RULES_MAX_DEPTH)
		luaL_error(L, "JSON nested deeper than %d levels", RULES_MAX_DEPTH);
	luaL_checkstack(L, 4, "JSON nesting");
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		lua_createtable(L, 0, (int)json_object_size(j));
		const char *k;
		size_t klen;
		json_t *v;
		void *it;
		for (it = json_object_iter((json_t *)j); it; it = json_object_iter_next((json_t *)j, it)) {
			k = json_object_iter_key(it);
			klen = json_object_iter_key_len(it);
			v = json_object_iter_value(it);
			if (json_is_null(v))
				continue; /* nil in Lua: absent */
			lua_pushlstring(L, k, klen);
			push_depth(L, v, depth + 1);
			lua_rawset(L, -3);
		}
		break;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(j);
		lua_createtable(L, (int)n, 0);
		for (size_t i = 0; i < n; i++) {
			push_depth(L, json_array_get(j, i), depth + 1);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		luaL_setmetatable(L, RULES_ARRAY_MT);
		break;
	}
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(j));
		break;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(j));
		break;
	case JSON_TRUE:
		lua_pushboolean(L, 1);
		break;
	case JSON_FALSE:
		lua_pushboolean(L, 0);
		break;
	case JSON_NULL:
		lua_pushnil(L);
		break;
	}
}

void conv_push(lua_State *L, const json_t *j)
{
	push_depth(L, j, 0);
}

static bool is_array_mt(lua_State *L, int idx)
{
	if (!lua_getmetatable(L, idx))
		return false;
	luaL_getmetatable(L, RULES_ARRAY_MT);
	bool same = lua_rawequal(L, -1, -2);
	lua_pop(L, 2);
	return same;
}

static json_t *to_json(lua_State *L, int idx, int depth, char *err, size_t errlen);

static json_t *table_to_json(lua_State *L, int idx, int depth, char *err, size_t errlen)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
	bool arr = is_array_mt(L, idx);
	if (!arr && n > 0) {
		/* A pure sequence 1..n is an array; anything more is an object. */
		lua_Integer count = 0;
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			count++;
			lua_pop(L, 1);
		}
		arr = count == n;
	}
	if (arr) {
		json_t *a = json_array();
		if (!a)
			goto oom;
		for (lua_Integer i = 1; i <= n; i++) {
			lua_rawgeti(L, idx, i);
			json_t *v = to_json(L, lua_gettop(L), depth + 1, err, errlen);
			lua_pop(L, 1);
			if (!v || json_array_append_new(a, v) < 0) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	}
	json_t *o = json_object();
	if (!o)
		goto oom;
	if (text_lazy_json(L, idx, o, err, errlen) < 0) {
		json_decref(o);
		return NULL;
	}
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		if (lua_type(L, -2) != LUA_TSTRING) {
			snprintf(err, errlen, "a table mixes list items and named fields (key of type %s)",
				 luaL_typename(L, -2));
			lua_pop(L, 2);
			json_decref(o);
			return NULL;
		}
		size_t kl;
		const char *k = lua_tolstring(L, -2, &kl);
		json_t *v = to_json(L, lua_gettop(L), depth + 1, err, errlen);
		if (!v) {
			lua_pop(L, 2);
			json_decref(o);
			return NULL;
		}
		if (json_object_setn_new(o, k, kl, v) < 0) {
			snprintf(err, errlen, "field name is not UTF-8 or out of memory");
			lua_pop(L, 2);
			json_decref(o);
			return NULL;
		}
		lua_pop(L, 1);
	}
	return o;
oom:
	snprintf(err, errlen, "out of memory");
	return NULL;
}

static json_t *to_json(lua_State *L, int idx, int depth, char *err, size_t errlen)
{
	if (depth > RULES_MAX_DEPTH) {
		snprintf(err, errlen, "value nested deeper than %d levels (a cycle?)", RULES_MAX_DEPTH);
		return NULL;
	}
	if (!lua_checkstack(L, 4)) {
		snprintf(err, errlen, "value nested too deep");
		return NULL;
	}
	json_t *v = NULL;
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		v = json_null();
		break;
	case LUA_TBOOLEAN:
		v = json_boolean(lua_toboolean(L, idx));
		break;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			v = json_integer((json_int_t)lua_tointeger(L, idx));
		} else {
			double d = lua_tonumber(L, idx);
			if (!isfinite(d)) {
				snprintf(err, errlen, "number is not finite (%g)", d);
				return NULL;
			}
			v = json_real(d);
		}
		break;
	case LUA_TSTRING: {
		size_t l;
		const char *s = lua_tolstring(L, idx, &l);
		if (!conv_utf8_valid(s, l)) {
			snprintf(err, errlen, "text is not valid UTF-8");
			return NULL;
		}
		v = json_stringn_nocheck(s, l); /* checked as jansson would */
		break;
	}
	case LUA_TTABLE:
		return table_to_json(L, idx, depth, err, errlen);
	default:
		snprintf(err, errlen, "a %s cannot be part of a result", luaL_typename(L, idx));
		return NULL;
	}
	if (!v)
		snprintf(err, errlen, "out of memory");
	return v;
}

json_t *conv_to_json(lua_State *L, int idx, char *err, size_t errlen)
{
	return to_json(L, lua_absindex(L, idx), 0, err, errlen);
}

/* --- copy and equality ----------------------------------------------------- */

static void copy_depth(lua_State *L, int idx, int depth)
{
	if (lua_type(L, idx) != LUA_TTABLE) {
		lua_pushvalue(L, idx);
		return;
	}
	if (depth > CONV_COPY_MAX_DEPTH)
		luaL_error(L, "copy: tables nested deeper than %d levels (a cycle?)", CONV_COPY_MAX_DEPTH);
	luaL_checkstack(L, 6, "copy");
	idx = lua_absindex(L, idx);
	text_lazy_force(L, idx);
	/* Sized once from a first pass: filling an empty table rehashes it at
	 * every power of two, which was most of the cost. */
	int narr = (int)lua_rawlen(L, idx), total = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		total++;
		lua_pop(L, 1);
	}
	lua_createtable(L, narr, total > narr ? total - narr : 0);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pushvalue(L, -2);
		copy_depth(L, -2, depth + 1);
		lua_rawset(L, -5);
		lua_pop(L, 1);
	}
	if (is_array_mt(L, idx))
		luaL_setmetatable(L, RULES_ARRAY_MT);
}

void conv_copy(lua_State *L, int idx)
{
	copy_depth(L, idx, 0);
}

static bool equal_depth(lua_State *L, int a, int b, int depth)
{
	if (lua_rawequal(L, a, b))
		return true;
	if (lua_type(L, a) != LUA_TTABLE || lua_type(L, b) != LUA_TTABLE)
		return false;
	if (depth > CONV_COPY_MAX_DEPTH)
		luaL_error(L, "equal: tables nested deeper than %d levels (a cycle?)", CONV_COPY_MAX_DEPTH);
	luaL_checkstack(L, 4, "equal");
	a = lua_absindex(L, a);
	b = lua_absindex(L, b);
	text_lazy_force(L, a);
	text_lazy_force(L, b);
	/* Every entry of a is in b with an equal value, and b has no more. */
	long na = 0, nb = 0;
	lua_pushnil(L);
	while (lua_next(L, a)) {
		na++;
		lua_pushvalue(L, -2);
		lua_rawget(L, b);
		bool same = !lua_isnil(L, -1) && equal_depth(L, -2, -1, depth + 1);
		lua_pop(L, 2);
		if (!same) {
			lua_pop(L, 1);
			return false;
		}
	}
	lua_pushnil(L);
	while (lua_next(L, b)) {
		nb++;
		lua_pop(L, 1);
	}
	return na == nb;
}

bool conv_equal(lua_State *L, int a, int b)
{
	return equal_depth(L, a, b, 0);
}

void conv_unstated(lua_State *L, int ids, int stated, int as)
{
	ids = lua_absindex(L, ids);
	stated = lua_absindex(L, stated);
	as = lua_absindex(L, as);
	bool any = lua_isnil(L, as);
	luaL_checkstack(L, 4, "unstated");
	lua_newtable(L);
	luaL_setmetatable(L, RULES_ARRAY_MT);
	lua_Integer n = 0;
	for (lua_Integer i = 1; lua_geti(L, ids, i) != LUA_TNIL; i++) {
		lua_pushvalue(L, -1);
		lua_gettable(L, stated); /* ... out id v */
		if (lua_isnil(L, -1) || (!any && !equal_depth(L, -1, as, 0))) {
			lua_pop(L, 1);
			lua_rawseti(L, -2, ++n);
		} else {
			lua_pop(L, 2);
		}
	}
	lua_pop(L, 1); /* the nil that ended the list */
}
