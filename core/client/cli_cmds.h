/*
 * cli_cmds — the command table: one entry per command, in the order --help
 * lists them, with the exec steps that tie a parse, a call and a printer
 * together.  The top floor under main: it uses every other file.
 */
#ifndef LIU_CLI_CMDS_H
#define LIU_CLI_CMDS_H

#include "cli.h"

/* The table, ended by an entry whose pattern is NULL. */
extern const struct cmd cli_commands[];

/* Runs a parsed command: its own exec, else one call with the params of its
 * pattern (and its build step) and the result printed by its show (or as
 * JSON).  Returns the exit status. */
int cli_exec(struct ctl *c, const struct args *a);
/* After act's usage (act --help): the live pack's actions and their params,
 * asked of the daemon, or that it did not answer.  Returns ST_OK. */
int cli_act_help(struct ctl *c, const char *action);

#endif
