/*
 * cli_call — the connection to the daemon: connect (trusting only a server
 * run by root, the daemon's user or ourselves), one request, one reply, and
 * error replies printed for people.  Uses wire, cli_table and cli_util.
 */
#ifndef LIU_CLI_CALL_H
#define LIU_CLI_CALL_H

#include <jansson.h>

#include "cli.h"

/*
 * Sends one request (connecting first if need be) and waits for its reply.
 * `params` is borrowed and may be NULL.  Returns ST_OK with *out = the
 * result, ST_REPLY with *out = the error object (caller decrefs either), or
 * ST_CONNECT after saying why on stderr.
 */
int cli_call(struct ctl *c, const char *method, json_t *params, json_t **out);
/* Sets the daemon user from a name or a numeric uid (`name` NULL: the user
 * "liud" if this machine has one, else none).  Returns ST_OK, or ST_USAGE
 * after saying on stderr that `from` names no user. */
int cli_daemon_user(struct ctl *c, const char *name, const char *from);
void cli_close(struct ctl *c);
/* An error reply on stderr: code, message, fields, reasons in both languages. */
void cli_print_error(const json_t *err);

#endif
