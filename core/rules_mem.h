/*
 * rules_mem — the capped allocator every Lua state of the daemon is made
 * with (lua_newstate(rules_mem_alloc, &mem)): the pack's states (rules.c)
 * and the configuration file's (rules_conf.c).  Every byte a state holds
 * counts against its cap, so a memory bomb in a pack or a configuration
 * fails its own call (Lua raises a memory error) instead of the daemon.
 * Depends on libc only: its signature is lua_Alloc's, without <lua.h>.
 */
#ifndef LIU_RULES_MEM_H
#define LIU_RULES_MEM_H

#include <stddef.h>

/* What one state may hold, and holds.  Owned by whoever owns the state; it
 * must outlive the state (lua_close frees through it). */
struct rules_mem {
	size_t used;  /* bytes the state holds now */
	size_t limit; /* bytes it may hold */
};

/*
 * lua_Alloc over realloc/free, `ud` a struct rules_mem.  Frees (nsize 0:
 * returns NULL) and shrinks always; refuses (NULL, nothing changed) a
 * growth that would take `used` past `limit`.  A new block has ptr NULL
 * (osize is then Lua's type tag, not a size).
 */
void *rules_mem_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

#endif
