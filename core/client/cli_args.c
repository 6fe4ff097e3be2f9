/*
 * cli_args — the table's patterns at work: a command line parsed against
 * its command's tokens (options anywhere after the command's words, "--"
 * ending them, key=value pairs, --json and --help), and the arguments turned
 * into the method's params, typed by their placeholders.  Usage errors are
 * reported here, with the command's usage (cli_pattern), as ST_USAGE.
 * Depends on cli_pattern, cli_util, jansson and libc.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_pattern.h"
#include "cli_util.h"

/* --- patterns and command lines ------------------------------------------ */

/* The value given for the token named `name`, or NULL. */
const char *cli_arg(const struct args *a, const char *name)
{
	for (size_t i = 0; i < a->ntok; i++)
		if (a->tok[i].type != T_WORD && strcmp(a->tok[i].name, name) == 0)
			return a->value[i];
	return NULL;
}

/* "key=value" with a key of letters, digits, '_', '-' or '.'. */
static bool is_pair(const char *s)
{
	size_t k = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.");
	return k > 0 && s[k] == '=' && s[0] != '-';
}

/*
 * Parses argv (starting at the command's words) against the pattern of
 * a->cmd.  Options may come anywhere after the words; "--" ends them.
 * --json is accepted there too, and --help asks for the command's usage.
 * Returns ST_OK, ST_HELP or ST_USAGE (after saying why).
 */
int cli_args_parse(struct args *a, int argc, char **argv, bool *json)
{
	const struct cmd *cmd = a->cmd;
	a->ntok = cli_pattern_parse(cmd->pattern, a->tok, TOKS_MAX);
	a->list = cli_xrealloc(NULL, (size_t)argc * sizeof *a->list);
	while (a->nwords < a->ntok && a->tok[a->nwords].type == T_WORD)
		a->nwords++;
	size_t pos = a->nwords; /* the next positional token to fill */
	bool pairs = false, rest = false, dashdash = false;
	for (size_t i = 0; i < a->ntok; i++) {
		pairs |= a->tok[i].type == T_PAIRS;
		rest |= a->tok[i].type == T_REST;
	}
	for (int i = (int)a->nwords; i < argc; i++) {
		const char *s = argv[i];
		if (!dashdash && strcmp(s, "--") == 0) {
			dashdash = true;
			continue;
		}
		/* -o: the one short option, --output's (export, view). */
		if (!dashdash && strcmp(s, "-o") == 0)
			s = "--output";
		if (!dashdash && strncmp(s, "--", 2) == 0) {
			const char *eq = strchr(s, '=');
			size_t nl = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
			if (strcmp(s, "--json") == 0) {
				*json = true;
				continue;
			}
			if (strcmp(s, "--help") == 0)
				return ST_HELP;
			size_t k;
			for (k = 0; k < a->ntok; k++)
				if ((a->tok[k].type == T_OPT || a->tok[k].type == T_FLAG) &&
				    strlen(a->tok[k].name) == nl && strncmp(a->tok[k].name, s + 2, nl) == 0)
					break;
			if (k == a->ntok)
				return cli_usage_fail(cmd, "unknown option %.*s", (int)nl + 2, s);
			if (a->value[k])
				return cli_usage_fail(cmd, "--%s given twice", a->tok[k].name);
			if (a->tok[k].type == T_FLAG) {
				if (eq)
					return cli_usage_fail(cmd, "--%s takes no value", a->tok[k].name);
				a->value[k] = "";
			} else if (eq) {
				a->value[k] = eq + 1;
			} else if (i + 1 < argc) {
				a->value[k] = argv[++i];
			} else {
				return cli_usage_fail(cmd, "--%s needs a value <%s>", a->tok[k].name, a->tok[k].ph);
			}
			continue;
		}
		if (pairs && is_pair(s)) {
			a->list[a->nlist++] = s;
			continue;
		}
		while (pos < a->ntok && a->tok[pos].type != T_ARG && a->tok[pos].type != T_OPTARG)
			pos++;
		if (pos < a->ntok) {
			a->value[pos++] = s;
		} else if (rest) {
			a->list[a->nlist++] = s;
		} else {
			return cli_usage_fail(cmd, "unexpected argument: %s", s);
		}
	}
	for (size_t k = 0; k < a->ntok; k++)
		if (a->tok[k].type == T_ARG && !a->value[k])
			return cli_usage_fail(cmd, "missing <%s>", a->tok[k].name);
	return ST_OK;
}

/* --- params --------------------------------------------------------------- */

/* Loads JSON given inline, as @file, or as - (standard input).  Returns a
 * new reference or NULL after saying why. */
json_t *cli_load_json(const struct cmd *cmd, const char *what, const char *s)
{
	json_error_t e;
	json_t *v;
	const int flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY;
	if (strcmp(s, "-") == 0)
		v = json_loadf(stdin, flags, &e);
	else if (s[0] == '@')
		v = json_load_file(s + 1, flags, &e);
	else
		v = json_loads(s, flags, &e);
	if (!v && e.line < 0) /* the file could not be read: no position */
		cli_usage_fail(cmd, "%s: %s", what, e.text);
	else if (!v)
		cli_usage_fail(cmd, "%s: %s (line %d, column %d)", what, e.text, e.line, e.column);
	return v;
}

/* A whole number in base 10 that is all of s. */
static bool parse_int(const char *s, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

/* The daemon runs in its own folder, so a relative path would name some
 * other place there.  Caller frees. */
static char *abs_path(const char *p)
{
	if (p[0] == '/')
		return cli_xstrdup(p);
	char *r = realpath(p, NULL);
	if (r)
		return r;
	char *cwd = getcwd(NULL, 0); /* the path may not exist yet (a backup) */
	if (!cwd)
		return cli_xstrdup(p);
	r = cli_xasprintf("%s/%s", cwd, p);
	free(cwd);
	return r;
}

/*
 * The value of a key=value pair.  A value that reads as JSON is JSON (5,
 * true, {"a":1}, "007"); anything else, such as 書類不備 or 2024-04-01, is a
 * string.  But digits alone longer than PAIR_NUMBER_DIGITS are an
 * identifier, not a quantity (a 13-digit 法人番号, a telephone number):
 * a string, so that no digit is lost to a float and the pack sees the text
 * it validates.  Returns a new reference, or NULL when not UTF-8.
 */
#define PAIR_NUMBER_DIGITS 9
static json_t *pair_value(const char *s)
{
	size_t d = s[0] == '-' ? 1 : 0;
	size_t digits = strspn(s + d, "0123456789");
	if (digits > PAIR_NUMBER_DIGITS && s[d + digits] == '\0')
		return json_string(s);
	json_t *v = json_loads(s, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	return v ? v : json_string(s);
}

/*
 * Sets params[a][b][c] = v for the key "a.b.c", making the objects on the
 * way.  Takes ownership of v.  A part that is empty, or a path through a
 * value that is not an object (a=1 a.b=2), is a usage error naming the key.
 */
static int set_path(const struct cmd *cmd, json_t *obj, const char *key, json_t *v)
{
	const char *p = key;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char *part = strndup(p, n);
		int st = ST_OK;
		json_t *next = NULL;
		if (n == 0)
			st = cli_usage_fail(cmd, "%s: an empty part in a dotted key", key);
		else if (!dot)
			json_object_set_new(obj, part, v);
		else if (!(next = json_object_get(obj, part))) {
			next = json_object();
			json_object_set_new(obj, part, next);
		} else if (!json_is_object(next))
			st = cli_usage_fail(cmd, "%s: %s is already given a value that is not an object",
					    key, part);
		free(part);
		if (st != ST_OK || !dot) {
			if (st != ST_OK)
				json_decref(v);
			return st;
		}
		obj = next;
		p = dot + 1;
	}
}

/*
 * Builds params from the pattern: every argument and option with a value
 * under its own name, typed by its placeholder, then key=value pairs merged
 * into params.params.  Returns ST_OK or ST_USAGE.
 */
int cli_build_params(const struct args *a, json_t *params)
{
	const struct cmd *cmd = a->cmd;
	for (size_t i = 0; i < a->ntok; i++) {
		const struct tok *k = &a->tok[i];
		const char *v = a->value[i];
		if (!v || k->type == T_FLAG || k->type == T_WORD)
			continue;
		char key[NAME_MAX_LEN];
		memcpy(key, k->name, sizeof key);
		for (char *p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		json_t *j;
		long long n;
		if (strcmp(k->ph, "n") == 0) {
			if (!parse_int(v, &n))
				return cli_usage_fail(cmd, "%s: not a whole number: %s", k->name, v);
			j = json_integer(n);
		} else if (strcmp(k->ph, "path") == 0) {
			char *p = abs_path(v);
			j = json_string(p);
			free(p);
		} else if (strcmp(k->ph, "json") == 0 || strncmp(k->ph, "json|@", 6) == 0) {
			if (!(j = cli_load_json(cmd, k->name, v)))
				return ST_USAGE;
		} else {
			j = json_string(v);
		}
		if (!j) /* not UTF-8: the daemon would refuse it anyway */
			return cli_usage_fail(cmd, "%s: not valid UTF-8 text", k->name);
		json_object_set_new(params, key, j);
	}
	bool pairs = false;
	for (size_t i = 0; i < a->ntok; i++)
		pairs |= a->tok[i].type == T_PAIRS;
	if (!pairs || a->nlist == 0)
		return ST_OK;
	json_t *pp = json_object_get(params, "params");
	if (pp && !json_is_object(pp))
		return cli_usage_fail(cmd, "--params must be a JSON object");
	if (!pp) {
		pp = json_object();
		json_object_set_new(params, "params", pp);
	}
	json_t *given = json_object();
	int st = ST_OK;
	for (size_t i = 0; i < a->nlist && st == ST_OK; i++) {
		const char *eq = strchr(a->list[i], '=');
		char *key = strndup(a->list[i], (size_t)(eq - a->list[i]));
		json_t *v = pair_value(eq + 1);
		if (!key || !v)
			st = cli_usage_fail(cmd, "%s: not valid UTF-8 text", a->list[i]);
		else if (json_object_get(given, key))
			st = cli_usage_fail(cmd, "%s given twice", key);
		else
			st = set_path(cmd, pp, key, v);
		if (st == ST_OK)
			json_object_set_new(given, key, json_true());
		v = NULL; /* set_path took it */
		free(key);
	}
	json_decref(given);
	return st;
}
