/*
 * cli_util — see cli_util.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_util.h"

/* A command-line client has nothing to save when memory runs out: say so and
 * stop, rather than thread ENOMEM through every printing function. */
void *cli_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fputs("liuctl: out of memory\n", stderr);
		exit(ST_REPLY);
	}
	return q;
}

char *cli_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(cli_xrealloc(NULL, n), s, n);
}

__attribute__((format(printf, 1, 2)))
char *cli_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fputs("liuctl: out of memory\n", stderr);
		exit(ST_REPLY);
	}
	return s;
}

/* Borrowed string member of an object, or NULL. */
const char *cli_jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The same, or `dflt` when the member is missing or not a string. */
const char *cli_jstr_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = cli_jstr(o, key);
	return s ? s : dflt;
}
