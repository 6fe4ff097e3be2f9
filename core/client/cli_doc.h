/*
 * cli_doc — what the command table says to people and shells, generated
 * from it: --help and help WORDS, the bash completion script, the COMMANDS
 * section of liuctl(1).  Uses cli_pattern and
 * cli_util; the table is the caller's (cli_usage's argument, c->commands).
 */
#ifndef LIU_CLI_DOC_H
#define LIU_CLI_DOC_H

#include <stdio.h>

#include "cli.h"

/* The whole --help text, from `commands` (borrowed: the table). */
void cli_usage(FILE *f, const struct cmd *commands);
/* Execs of the table: help [WORDS], completion bash, manual scdoc.  They
 * read the table from c->commands, so that this file needs none of its own. */
int cli_exec_help(struct ctl *c, const struct args *a);
int cli_exec_completion(struct ctl *c, const struct args *a);
int cli_exec_manual(struct ctl *c, const struct args *a);

#endif
