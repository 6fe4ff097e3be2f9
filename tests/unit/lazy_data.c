/*
 * Unit tests of an action's data read as rules touch it (rules_text.h,
 * TEXT_LAZY): the members of data that are objects or arrays stay text
 * until read, and every way of reaching them — a field read or written,
 * pairs(), the sandbox's next and rawget, copy, equal, conversion to JSON —
 * sees the same value as a record read whole.  A bare Lua state with the
 * host's pieces, no pack: what each access does to data and its twin.
 */
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "rules_conv.h"
#include "rules_text.h"
#include "tap.h"

static const char *REC =
	"{\"id\":\"T-1\",\"kind\":\"thing\",\"rev\":2,\"state\":\"new\",\"data\":{"
	"\"name\":\"x\",\"n\":1,"
	"\"statement\":{\"controls\":{\"5.1.1\":\"met\",\"5.1.2\":{\"excluded\":\"why\"}},\"on\":\"2023-06-01\"},"
	"\"list\":[1,null,[2],{}],"
	"\"empty\":{}}}";

static struct rules_rec rec;

/* Pushes REC read lazily: [record, twin].  In a protected call. */
static int push(lua_State *L)
{
	text_push_record(L, &rec, TEXT_TWIN | TEXT_LAZY);
	return 2;
}

/* A fresh state with REC read; globals rec, data, twin; host functions as
 * the prelude gives them to packs. */
static lua_State *fresh(void)
{
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	text_open(L);
	luaL_newmetatable(L, RULES_ARRAY_MT);
	lua_pop(L, 1);
	rules_rec_clear(&rec);
	rec = (struct rules_rec){ .text = REC, .len = strlen(REC) };
	lua_pushcfunction(L, push);
	if (lua_pcall(L, 0, 2, 0) != LUA_OK) {
		tap_diag("read: %s", lua_tostring(L, -1));
		return L;
	}
	lua_setglobal(L, "twin");
	lua_getfield(L, -1, "data");
	lua_setglobal(L, "data");
	lua_setglobal(L, "rec");
	static const luaL_Reg f[] = {
		{ "lnext", text_l_next }, { "lrawget", text_l_rawget },
		{ "force", text_l_force }, { "detach", text_l_detach }, { NULL, NULL },
	};
	for (const luaL_Reg *r = f; r->name; r++) {
		lua_pushcfunction(L, r->func);
		lua_setglobal(L, r->name);
	}
	return L;
}

/* Runs `code` (returns one value); its result as a string (caller frees),
 * or "error: ..." */
static char *run(lua_State *L, const char *code)
{
	char *res;
	if (luaL_dostring(L, code) != LUA_OK) {
		const char *e = lua_tostring(L, -1);
		res = malloc(strlen(e ? e : "?") + 8);
		sprintf(res, "error: %s", e ? e : "?");
	} else {
		const char *s = luaL_tolstring(L, -1, NULL);
		res = strdup(s);
		lua_pop(L, 1);
	}
	lua_settop(L, 0);
	return res;
}

static void is_run(lua_State *L, const char *code, const char *want, const char *desc)
{
	char *got = run(L, code);
	is_str(got, want, desc);
	free(got);
}

/* Lua helpers: the raw members of a table, sorted, as "k,k,k". */
static const char *RAWKEYS =
	"local function rawkeys(t) local ks = {} for k in next, t do ks[#ks+1] = tostring(k) end "
	"table.sort(ks) return table.concat(ks, ',') end ";

/* conv_to_json of the global `name`, compact and sorted. */
static char *json_of(lua_State *L, const char *name)
{
	lua_getglobal(L, name);
	char err[200] = "";
	json_t *j = conv_to_json(L, -1, err, sizeof err);
	lua_pop(L, 1);
	if (!j)
		return strdup(err);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_decref(j);
	return s;
}

int main(void)
{
	const char *want_data =
		"{\"empty\":{},\"list\":[1,null,[2],{}],\"n\":1,\"name\":\"x\","
		"\"statement\":{\"controls\":{\"5.1.1\":\"met\",\"5.1.2\":{\"excluded\":\"why\"}},\"on\":\"2023-06-01\"}}";
	lua_State *L = fresh();

	/* As read: the scalars only, in data and in the twin. */
	is_run(L, "return type(rec) .. type(data) .. type(twin)", "tabletabletable", "the record reads");
	char code[1024];
	snprintf(code, sizeof code, "%s return rawkeys(data) .. '|' .. rawkeys(twin)", RAWKEYS);
	is_run(L, code, "n,name|n,name", "containers stay text: neither data nor its twin has them");
	is_run(L, "return getmetatable(data)", "false", "  data's metatable is protected");
	is_run(L, "return rawequal(rec.data, data) and type(rec.id)", "string", "  the record around it as ever");

	/* A read: into data and a separate copy into the twin. */
	is_run(L, "return data.statement.controls['5.1.2'].excluded", "why", "a field read gives its value");
	snprintf(code, sizeof code,
		 "%s return rawkeys(data) .. '|' .. rawkeys(twin) .. '|' .. tostring(rawequal(data.statement, twin.statement))",
		 RAWKEYS);
	is_run(L, code, "n,name,statement|n,name,statement|false", "  into data, and a copy into the twin");
	is_run(L, "return data.statement == data.statement", "true", "  read once: the same table after");
	is_run(L, "return tostring(data.missing) .. tostring(data[1])", "nilnil", "an absent field is nil");
	is_run(L, "return #data.list .. ',' .. tostring(data.list[2]) .. ',' .. getmetatable(data.list).__name",
	       "4,nil,liud.array", "a list as conv_push makes it (holes, the array mark)");

	/* A write: what it replaces is read first, so the twin has it. */
	lua_close(L);
	L = fresh();
	is_run(L, "data.statement = 'gone'; return data.statement .. ',' .. type(twin.statement)",
	       "gone,table", "a field written: the twin keeps what it replaced");
	is_run(L, "data.empty = nil; return tostring(rawget(data, 'empty')) .. ',' .. type(twin.empty)",
	       "nil,table", "a field removed: the twin keeps it, data does not");
	is_run(L, "data.new = 1; return data.new", "1", "a new field is a plain field");
	is_run(L, "local d = detach(data) table.sort(d) return table.concat(d, ',')", "list",
	       "detach: the one member never touched");
	is_run(L, "return tostring(getmetatable(data)) .. ',' .. tostring(data.list)", "nil,nil",
	       "  and data is a plain table after it");
	lua_close(L);

	/* pairs, next, rawget: everything read first. */
	L = fresh();
	is_run(L, "local n = 0 for k, v in pairs(data) do n = n + 1 end return n", "5", "pairs() meets every member");
	is_run(L, "local d = detach(data) return #d", "0", "  all read after it");
	lua_close(L);
	L = fresh();
	is_run(L, "local n, k = 0 repeat k = lnext(data, k) if k then n = n + 1 end until not k return n", "5",
	       "the sandbox's next meets every member");
	lua_close(L);
	L = fresh();
	is_run(L, "return type(lrawget(data, 'list')) .. ',' .. type(rawget(data, 'statement'))", "table,nil",
	       "the sandbox's rawget reads the member asked for (Lua's does not)");
	is_run(L, "return type(lrawget({a = {}}, 'a')) .. ',' .. tostring(lnext({}))", "table,nil",
	       "  on any other table they are Lua's");
	lua_close(L);

	/* The host's walks of tables. */
	L = fresh();
	char *j = json_of(L, "data");
	is_str(j, want_data, "conv_to_json of data untouched: the members still text decoded");
	free(j);
	is_run(L, "return tostring(rawget(data, 'statement'))", "nil", "  without reading them into Lua");
	lua_close(L);
	L = fresh();
	lua_getglobal(L, "data");
	conv_copy(L, -1);
	lua_setglobal(L, "c");
	lua_pop(L, 1);
	j = json_of(L, "c");
	is_str(j, want_data, "conv_copy of data: every member");
	free(j);
	is_run(L, "return tostring(getmetatable(c))", "nil", "  a plain table");
	lua_close(L);
	L = fresh();
	lua_pushcfunction(L, push);
	lua_call(L, 0, 2);
	lua_pop(L, 1);
	lua_getfield(L, -1, "data");
	lua_getglobal(L, "data");
	ok(conv_equal(L, -1, -2), "conv_equal of two lazy readings of one record: equal");
	lua_pop(L, 3);
	is_run(L, "data.n = 2 return 1", "1", "  (one changed)");
	lua_pushcfunction(L, push);
	lua_call(L, 0, 2);
	lua_pop(L, 1);
	lua_getfield(L, -1, "data");
	lua_getglobal(L, "data");
	ok(!conv_equal(L, -1, -2), "  then not equal");
	lua_pop(L, 3);
	lua_close(L);

	/* Read whole (no TEXT_LAZY): no metatable, every member there. */
	L = luaL_newstate();
	text_open(L);
	luaL_newmetatable(L, RULES_ARRAY_MT);
	lua_pop(L, 1);
	rules_rec_clear(&rec);
	rec = (struct rules_rec){ .text = REC, .len = strlen(REC) };
	text_push_record(L, &rec, TEXT_TWIN);
	lua_pop(L, 1);
	lua_getfield(L, -1, "data");
	ok(!text_is_lazy(L, -1), "without TEXT_LAZY data is a plain table");
	j = NULL;
	char err[100];
	json_t *jj = conv_to_json(L, -1, err, sizeof err);
	j = json_dumps(jj, JSON_COMPACT | JSON_SORT_KEYS);
	is_str(j, want_data, "  holding every member");
	free(j);
	json_decref(jj);
	lua_close(L);

	/* The member spans the new version is built from are those of a whole
	 * read: a member never read is copied as written. */
	struct rules_rec whole = { .text = REC, .len = strlen(REC) };
	L = luaL_newstate();
	text_open(L);
	luaL_newmetatable(L, RULES_ARRAY_MT);
	lua_pop(L, 1);
	text_push_record(L, &whole, TEXT_TWIN);
	lua_close(L);
	bool same = whole.ndata == rec.ndata;
	for (size_t i = 0; same && i < whole.ndata; i++)
		same = whole.data[i].text.off == rec.data[i].text.off &&
		       whole.data[i].text.len == rec.data[i].text.len &&
		       strcmp(whole.data[i].key, rec.data[i].key) == 0;
	ok(same, "the members' spans are those of a whole read");
	rules_rec_clear(&whole);
	rules_rec_clear(&rec);
	return tap_done();
}
