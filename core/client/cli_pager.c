/*
 * cli_pager — the terminal's width, and the pager (cli_pager.h).  The pager
 * reads a pipe that becomes liuctl's standard output; errors still go to
 * the terminal on standard error.  A pager the user quits early makes
 * later writes fail with EPIPE (SIGPIPE is ignored), which main does not
 * report.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_pager.h"

static pid_t pager_pid = -1;

int cli_term_width(void)
{
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	const char *cols = getenv("COLUMNS");
	char *end;
	long n = cols ? strtol(cols, &end, 10) : 0;
	return cols && *cols && !*end && n > 0 && n < 10000 ? (int)n : 0;
}

bool cli_pager_start(void)
{
	if (!isatty(STDOUT_FILENO))
		return false;
	const char *pager = getenv("LIUCTL_PAGER");
	if (!pager)
		pager = getenv("PAGER");
	if (!pager)
		pager = "less";
	if (!*pager || strcmp(pager, "cat") == 0)
		return false;
	int fd[2];
	if (pipe(fd) < 0)
		return false;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return false;
	}
	if (pid == 0) {
		dup2(fd[0], STDIN_FILENO);
		close(fd[0]);
		close(fd[1]);
		setenv("LESS", "FRX", 0);
		setenv("LV", "-c", 0);
		execl("/bin/sh", "sh", "-c", pager, (char *)NULL);
		fprintf(stderr, "liuctl: cannot run the pager %s: %s\n", pager, strerror(errno));
		_exit(127);
	}
	dup2(fd[1], STDOUT_FILENO);
	close(fd[0]);
	close(fd[1]);
	pager_pid = pid;
	return true;
}

void cli_pager_end(void)
{
	if (pager_pid < 0)
		return;
	fflush(stdout);
	close(STDOUT_FILENO); /* the pager sees the end of its input */
	while (waitpid(pager_pid, NULL, 0) < 0 && errno == EINTR)
		;
	pager_pid = -1;
}
