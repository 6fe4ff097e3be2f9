/*
 * Unit tests of rules_mem, the one capped allocator every Lua state of the
 * daemon is made with (the pack's, rules.c; the configuration's,
 * rules_conf.c): what it counts, that it refuses to grow past the cap, and
 * that shrinking and freeing always work.  And that it is the only one: no
 * other file of core/ defines a lua_Alloc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_mem.h"
#include "tap.h"

/* How many files of core/ define a function with lua_Alloc's parameters
 * (prove runs the unit tests from the top of the tree). */
static int allocators(void)
{
	FILE *p = popen("grep -l 'void \\*[a-z_]*(void \\*ud, void \\*ptr, size_t osize, size_t nsize)$' "
			"core/*.c", "r");
	if (!p)
		return -1;
	int n = 0;
	char line[512];
	while (fgets(line, sizeof line, p)) {
		n++;
		printf("#   %s", line);
	}
	pclose(p);
	return n;
}

int main(void)
{
	struct rules_mem m = { .limit = 1000 };
	void *a = rules_mem_alloc(&m, NULL, 0, 600);
	ok(a != NULL, "an allocation under the cap");
	is_int((long long)m.used, 600, "counted");
	void *b = rules_mem_alloc(&m, NULL, 3, 500); /* osize of a new block is its type */
	ok(b == NULL, "one that would pass the cap is refused");
	is_int((long long)m.used, 600, "and not counted");
	a = rules_mem_alloc(&m, a, 600, 1000);
	ok(a != NULL, "growing up to the cap exactly");
	is_int((long long)m.used, 1000, "counted");
	ok(rules_mem_alloc(&m, a, 1000, 1001) == NULL, "growing past it is refused");
	is_int((long long)m.used, 1000, "the block keeps its size");
	a = rules_mem_alloc(&m, a, 1000, 10);
	ok(a != NULL, "shrinking works at the cap");
	is_int((long long)m.used, 10, "counted");
	ok(rules_mem_alloc(&m, a, 10, 0) == NULL, "freeing returns NULL");
	is_int((long long)m.used, 0, "and gives the bytes back");
	is_int(allocators(), 1, "one file of core/ defines a Lua allocator");
	return tap_done();
}
