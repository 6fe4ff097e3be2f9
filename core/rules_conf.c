/* rules_conf — the configuration file, read as declarative Lua.  See
 * rules_read_conf() in rules.h. */
#include "rules.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "rules_conv.h"
#include "rules_mem.h"

#define CONF_MEM (8u << 20)
#define CONF_INSTR 1000000
#define CONF_MAX_BYTES (1u << 20)

static void conf_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	luaL_error(L, "configuration takes too long to evaluate (a loop?)");
}

static char *dupmsg(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 3;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s%s%s", a, *b ? ": " : "", b);
	return s;
}

int rules_read_conf(const char *path, json_t **out, char **err)
{
	*out = NULL;
	*err = NULL;
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		*err = dupmsg(path, strerror(e));
		return -e;
	}
	char *buf = malloc(CONF_MAX_BYTES + 1);
	size_t len = buf ? fread(buf, 1, CONF_MAX_BYTES + 1, f) : 0;
	fclose(f);
	if (!buf)
		return -ENOMEM;
	if (len > CONF_MAX_BYTES) {
		free(buf);
		*err = dupmsg(path, "larger than 1 MiB");
		return -E2BIG;
	}
	struct rules_mem mem = { .limit = CONF_MEM };
	lua_State *L = lua_newstate(rules_mem_alloc, &mem);
	if (!L) {
		free(buf);
		return -ENOMEM;
	}
	char chunk[4096];
	snprintf(chunk, sizeof chunk, "@%s", path);
	int rc = 0;
	/* Text only, and an empty environment: the file can only assign values. */
	if (luaL_loadbufferx(L, buf, len, chunk, "t") != LUA_OK) {
		*err = dupmsg(lua_tostring(L, -1), "");
		rc = -EINVAL;
		goto out;
	}
	lua_newtable(L);
	lua_pushvalue(L, -1);
	lua_setupvalue(L, -3, 1);
	lua_insert(L, -2); /* env below the chunk */
	lua_sethook(L, conf_hook, LUA_MASKCOUNT, CONF_INSTR);
	if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
		*err = dupmsg(lua_tostring(L, -1) ? lua_tostring(L, -1) : "error", "");
		rc = -EINVAL;
		goto out;
	}
	lua_sethook(L, NULL, 0, 0);
	char why[256];
	*out = conv_to_json(L, -1, why, sizeof why);
	if (!*out) {
		*err = dupmsg(path, why);
		rc = -EINVAL;
	}
out:
	lua_close(L);
	free(buf);
	return rc;
}
