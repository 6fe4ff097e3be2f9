/* scripts/bench/hookcost.c — what the rule budget's count hook costs the Lua
 * 5.4 VM (docs/PERFORMANCE.md, section 6).  liud arms a count hook on every
 * rule call (core/rules.c, budget_arm) so that a call is stopped at its
 * instruction budget; in Lua 5.4 any count hook makes the VM call
 * luaG_traceexec before every instruction, whatever the hook's interval.
 * This times a loop of R3's shape (261 identifiers looked up, two fields
 * compared) without the hook, with it every 10,000 instructions, and
 * without it again, in the same liblua5.4 the daemon links.
 *
 *   cc -O2 scripts/bench/hookcost.c -o /tmp/hookcost -llua5.4 && /tmp/hookcost
 */
#include <lua5.4/lauxlib.h>
#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>
#include <stdio.h>

static const char walk[] =
	"local ids = {} for i = 1, 261 do ids[i] = 'id' .. i end\n"
	"local rec = {} for i = 1, 261 do rec['id' .. i] = { status = 'implemented', date = '2024-01-01' } end\n"
	"function walk()\n"
	"  local t, n = os.clock(), 0\n"
	"  for _ = 1, 4000 do\n"
	"    for _, id in ipairs(ids) do\n"
	"      local c = rec[id]\n"
	"      if c and c.status == 'implemented' and c.date <= '2025' then n = n + 1 end\n"
	"    end\n"
	"  end\n"
	"  return os.clock() - t\n"
	"end\n";

static void hook(lua_State *L, lua_Debug *ar)
{
	(void)L;
	(void)ar;
}

int main(void)
{
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	if (luaL_dostring(L, walk)) {
		fprintf(stderr, "hookcost: %s\n", lua_tostring(L, -1));
		return 1;
	}
	for (int round = 0; round < 3; round++) {
		double t[3];
		for (int k = 0; k < 3; k++) {
			lua_sethook(L, k == 1 ? hook : NULL, k == 1 ? LUA_MASKCOUNT : 0, 10000);
			lua_getglobal(L, "walk");
			lua_call(L, 0, 1);
			t[k] = lua_tonumber(L, -1);
			lua_pop(L, 1);
		}
		printf("no hook %.3f s, count hook every 10000 %.3f s, no hook %.3f s: x%.2f\n", t[0], t[1], t[2],
		       t[1] / ((t[0] + t[2]) / 2));
	}
	lua_close(L);
	return 0;
}
