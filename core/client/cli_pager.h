/*
 * cli_pager — the terminal liuctl prints to: its width, and a pager for
 * long output, as git does.  Uses libc only.
 */
#ifndef LIU_CLI_PAGER_H
#define LIU_CLI_PAGER_H

#include <stdbool.h>

/* The columns of the terminal standard output is, else $COLUMNS when it is
 * a number (a script or a test may ask for a width), else 0 (no limit). */
int cli_term_width(void);

/* When standard output is a terminal, sends it through a pager from here
 * on: $LIUCTL_PAGER, else $PAGER, else less (run by sh -c); with $LESS
 * unset, LESS=FRX (one screen is printed as it is, colours pass, the
 * screen is not cleared).  An empty pager or "cat" is none.  Returns
 * whether a pager was started. */
bool cli_pager_start(void);
/* Flushes standard output to the pager, closes it and waits for the pager
 * to end.  Nothing when none was started. */
void cli_pager_end(void);

#endif
