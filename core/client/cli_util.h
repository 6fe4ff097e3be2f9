/*
 * cli_util — what every file of the client uses: allocation that never
 * returns NULL (a command-line client has nothing to save when memory runs
 * out, so it says so and exits) and borrowed string members of JSON
 * objects.  Depends on jansson and libc only; the floor under all the rest.
 */
#ifndef LIU_CLI_UTIL_H
#define LIU_CLI_UTIL_H

#include <stddef.h>

#include <jansson.h>

/* A command-line client has nothing to save when memory runs out: these say
 * so and exit(ST_REPLY) rather than return NULL.  Results: caller frees. */
void *cli_xrealloc(void *p, size_t n);
char *cli_xstrdup(const char *s);
__attribute__((format(printf, 1, 2)))
char *cli_xasprintf(const char *fmt, ...);

/* Borrowed string member of an object, or NULL / `dflt` when the member is
 * missing or not a string. */
const char *cli_jstr(const json_t *o, const char *key);
const char *cli_jstr_or(const json_t *o, const char *key, const char *dflt);

#endif
