/*
 * cli_print — results for people, one printer per method shape, used as
 * the table's `show`.  Uses cli_table and cli_util.
 */
#ifndef LIU_CLI_PRINT_H
#define LIU_CLI_PRINT_H

#include <jansson.h>

#include "cli.h"

/* The raw result, pretty, for --json and shapes with no printer. */
void cli_print_json(const json_t *v);
/* A byte count for people ("1.5 MiB").  Caller frees. */
char *cli_bytes_text(long long n);

/* Printers for the table's `show`: each returns the exit status. */
int cli_show_status(const struct args *a, json_t *r);
int cli_show_record(const struct args *a, json_t *r);
/* record get's summary: the record's own fields, the summary `lines` of
 * its kind ([{ja, en, value}], or null), then eval's answer `ev` (NULL: not
 * answered, `why` says so): the decision and the checks not met, the pack's
 * eval summaries. */
int cli_show_record_summary(const struct args *a, json_t *rec, json_t *lines, json_t *ev,
			    const char *why);
int cli_show_record_list(const struct args *a, json_t *r);
/* Orders the records of a record.list reply (r's "records", in place) by a
 * column of its table, by its key or header ("-updated": descending);
 * ST_OK, or ST_USAGE naming the columns there are. */
int cli_record_list_sort(const char *by, json_t *r);
int cli_show_act(const struct args *a, json_t *r);
int cli_show_eval(const struct args *a, json_t *r);
int cli_show_view(const struct args *a, json_t *r);
int cli_show_history(const struct args *a, json_t *r);
int cli_show_rules_status(const struct args *a, json_t *r);
int cli_show_rules_check(const struct args *a, json_t *r);
int cli_show_rules_reload(const struct args *a, json_t *r);
int cli_show_rules_diff(const struct args *a, json_t *r);
int cli_show_audit(const struct args *a, json_t *r);
int cli_show_backup(const struct args *a, json_t *r);
int cli_show_clock(const struct args *a, json_t *r);
int cli_show_deadlines(const struct args *a, json_t *r);
int cli_show_enforce(const struct args *a, json_t *r);
/* act --help: the actions of rules.status (borrowed) with their params,
 * said to come from the daemon at `socket`. */
int cli_show_actions(const char *socket, json_t *status);
/* act <action> --help: that action's usage and params; ST_USAGE (said on
 * stderr) when the live pack has no such action. */
int cli_show_action(json_t *status, const char *action);
/* Shapes that may still grow: scalars as "key: value", the first list of
 * objects as a table, anything else as JSON. */
int cli_show_auto(const struct args *a, json_t *r);

#endif
