/*
 * cli_args — a command line parsed against its command's pattern (options
 * anywhere after the words, "--", key=value pairs, --json and --help), and
 * the arguments turned into the method's params, typed by their
 * placeholders.  Uses cli_pattern and cli_util.
 */
#ifndef LIU_CLI_ARGS_H
#define LIU_CLI_ARGS_H

#include <stdbool.h>

#include <jansson.h>

#include "cli.h"

/* Parses argv (starting at the command's words) against a->cmd's pattern;
 * --json given there sets *json.  Returns ST_OK, ST_HELP or ST_USAGE (after
 * saying why).  a->list is owned by *a: free() it after. */
int cli_args_parse(struct args *a, int argc, char **argv, bool *json);
/* The value given for the token named `name`, or NULL.  Borrowed from argv. */
const char *cli_arg(const struct args *a, const char *name);
/* Adds the params the pattern gives to `params`.  Returns ST_OK or ST_USAGE. */
int cli_build_params(const struct args *a, json_t *params);
/* Loads JSON given inline, as @file, or as - (standard input).  Returns a
 * new reference or NULL after a usage message naming `what`. */
json_t *cli_load_json(const struct cmd *cmd, const char *what, const char *s);

#endif
