/*
 * cli_import — import and export, the table's execs for them: a file's rows
 * in requests under the daemon's line limit, the report of failed rows,
 * every record out as JSON lines or CSV.  Uses cli_data, cli_call,
 * cli_args, cli_print, cli_table, cli_util and wire.
 */
#ifndef LIU_CLI_IMPORT_H
#define LIU_CLI_IMPORT_H

#include "cli.h"

int cli_exec_import(struct ctl *c, const struct args *a);
int cli_exec_export(struct ctl *c, const struct args *a);
/* view --format xlsx --output FILE: the view's rows as a workbook. */
int cli_exec_view_xlsx(struct ctl *c, const struct args *a);

#endif
