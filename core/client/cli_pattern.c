/*
 * cli_pattern — see cli_pattern.h.  A pattern split into tokens, one
 * command's usage (pattern, help lines, method and params), and the usage
 * error that prints it.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_pattern.h"
#include "cli_util.h"

static void copy_name(char *dst, const char *s, size_t n)
{
	if (n >= NAME_MAX_LEN)
		n = NAME_MAX_LEN - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Splits a pattern into tokens.  Patterns are the table's own constants,
 * so they are trusted to be well formed.  Returns the number of tokens. */
size_t cli_pattern_parse(const char *p, struct tok *t, size_t max)
{
	size_t n = 0;
	while (*p && n < max) {
		if (*p == ' ') {
			p++;
			continue;
		}
		bool opt = *p == '[';
		const char *s = opt ? p + 1 : p;
		const char *end = opt ? strchr(p, ']') : p + strcspn(p, " ");
		struct tok *k = &t[n++];
		memset(k, 0, sizeof *k);
		if (strncmp(s, "--", 2) == 0) {
			size_t w = strcspn(s + 2, " ]");
			copy_name(k->name, s + 2, w);
			k->type = s[2 + w] == ' ' ? T_OPT : T_FLAG;
			if (k->type == T_OPT) {
				const char *ph = s + 3 + w;
				ph += *ph == '<';
				copy_name(k->ph, ph, strcspn(ph, ">]"));
			}
		} else if (*s == '<') {
			copy_name(k->name, s + 1, strcspn(s + 1, ">"));
			memcpy(k->ph, k->name, sizeof k->ph);
			k->type = !opt ? T_ARG : memmem(s, (size_t)(end - s), "...", 3) ? T_REST : T_OPTARG;
		} else if (opt) {
			k->type = T_PAIRS;
		} else {
			copy_name(k->name, s, (size_t)(end - s));
			k->type = T_WORD;
		}
		p = opt ? end + 1 : end;
	}
	return n;
}

/* "{id, kind?, params?}": how a pattern's arguments become params. */
char *cli_params_doc(const struct cmd *cmd)
{
	struct tok t[TOKS_MAX];
	size_t n = cli_pattern_parse(cmd->pattern, t, TOKS_MAX);
	char *s = cli_xstrdup("");
	bool params = false;
	for (size_t i = 0; i < n; i++) {
		const char *name = t[i].name, *opt = "";
		if (t[i].type == T_WORD || t[i].type == T_FLAG || t[i].type == T_REST)
			continue;
		if (t[i].type != T_ARG)
			opt = "?";
		if (t[i].type == T_PAIRS || strcmp(name, "params") == 0) {
			if (params)
				continue;
			params = true;
			name = "params";
		}
		char *k = cli_xstrdup(name);
		for (char *p = k; *p; p++)
			if (*p == '-')
				*p = '_';
		char *x = cli_xasprintf("%s%s%s%s", s, *s ? ", " : "", k, opt);
		free(k);
		free(s);
		s = x;
	}
	char *x = cli_xasprintf("{%s}", s);
	free(s);
	return x;
}

/* One command: its pattern, its help lines, and the method with its params. */
void cli_cmd_usage(FILE *f, const struct cmd *cmd)
{
	fprintf(f, "  liuctl %s\n", cmd->pattern);
	for (const char *p = cmd->help; *p;) {
		size_t n = strcspn(p, "\n");
		fprintf(f, "        %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
	if (cmd->method || (cmd->params && *cmd->params)) {
		char *d = cmd->params ? cli_xstrdup(cmd->params) : cli_params_doc(cmd);
		fprintf(f, "        method %s %s\n", cmd->method ? cmd->method : "<method>", d);
		free(d);
	}
}

__attribute__((format(printf, 2, 3)))
int cli_usage_fail(const struct cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	fputs("liuctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nusage:\n", stderr);
	cli_cmd_usage(stderr, cmd);
	return ST_USAGE;
}
