/* rules_mem — see rules_mem.h.  The one capped Lua allocator. */
#include "rules_mem.h"

#include <stdlib.h>

void *rules_mem_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct rules_mem *m = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		m->used -= old;
		return NULL;
	}
	if (nsize > old && m->used + (nsize - old) > m->limit)
		return NULL; /* Lua raises a memory error */
	void *p = realloc(ptr, nsize);
	if (p)
		m->used = m->used - old + nsize;
	return p;
}
