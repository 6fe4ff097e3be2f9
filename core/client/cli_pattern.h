/*
 * cli_pattern — a command's pattern (see struct tok in cli.h) split into
 * tokens, and one command's usage as people read it, which a usage error
 * prints after saying what is wrong.  Uses cli_util.
 */
#ifndef LIU_CLI_PATTERN_H
#define LIU_CLI_PATTERN_H

#include <stddef.h>
#include <stdio.h>

#include "cli.h"

/* Splits a pattern into tokens.  Patterns are the table's own constants,
 * so they are trusted to be well formed.  Returns the number of tokens. */
size_t cli_pattern_parse(const char *p, struct tok *t, size_t max);
/* "{id, kind?, params?}": how a pattern's arguments become params.  Caller
 * frees. */
char *cli_params_doc(const struct cmd *cmd);
/* One command's usage: pattern, help lines, method and params. */
void cli_cmd_usage(FILE *f, const struct cmd *cmd);
/* Prints "liuctl: <why>" and the command's usage on stderr; returns ST_USAGE. */
__attribute__((format(printf, 2, 3)))
int cli_usage_fail(const struct cmd *cmd, const char *fmt, ...);

#endif
