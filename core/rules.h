/*
 * rules — the Lua 5.4 host: loads a rule pack into a sandboxed state and
 * calls its declarations.  Only rules*.c include <lua.h>; what crosses this
 * header is jansson values, C strings and errno-style codes.
 *
 * A `struct rules` is one pack generation: a fresh lua_State created with a
 * capped allocator, the libraries we choose (never io/os/debug/package), the
 * DSL of core/prelude.lua, then every `*.lua` file at the top of the pack
 * folder in name order, each a text chunk ("t" mode) whose _ENV is the pack's
 * environment.  Its version is the SHA-256 of every file in the folder.  A
 * reload builds a new generation on the side; the caller swaps pointers.
 *
 * Every call into Lua runs under lua_pcall with an instruction budget (a
 * count hook that, once exceeded, fires on every instruction so no pcall in
 * a rule can swallow it), a wall-clock limit checked from the same hook, and
 * the memory cap.  An error or overrun fails that call with file:line and
 * leaves the state usable.
 *
 * Not thread-safe: one generation is used by one thread at a time.  A
 * candidate is loaded and tested on a worker thread, then handed to the loop
 * (lifecycle.c); rules_interrupt_all() is the one call safe from anywhere.
 */
#ifndef LIU_RULES_H
#define LIU_RULES_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "rules_rec.h"

struct rules;

struct rules_opts {
	size_t mem_limit;       /* bytes for the whole state (0: 256 MiB) */
	uint64_t instr_limit;   /* VM instructions per call (0: 20 million) */
	int time_limit_ms;      /* wall-clock per call (0: 1000 ms) */
	bool load_tests;        /* also load tests/ *.lua (liud test, rules.check, reload) */
	size_t pack_bytes;      /* all of the pack's files (0: 16 MiB): each version is kept */
	/* For a check (load and tests) that runs off the loop: the whole of it
	 * ends within total_ms (0: no total), and when *cancel becomes true
	 * (borrowed: must outlive the check; NULL: none).  Both end with
	 * rules_end_check(). */
	int total_ms;
	const atomic_bool *cancel;
};

/*
 * Loads the pack in directory `dir`.  Returns 0 with *out (free with
 * rules_free()), or a negative errno with *err set to a malloc'd message
 * naming file:line (caller frees): -ENOENT (no such folder), LIU_ESCRIPT
 * (compile, load or validation error), -ENOMEM.
 */
int rules_load(struct rules **out, const char *dir, const struct rules_opts *o, char **err);
void rules_free(struct rules *r);

/* Makes every call in progress or to come, in every state of the process,
 * end at its next budget check with "the daemon is stopping".  Safe from any
 * thread and from a signal handler (one atomic store); for a clean stop that
 * must not wait for a long rule call. */
void rules_interrupt_all(void);
/* Ends the check's limits (rules_opts.total_ms, .cancel): from now on only
 * the per-call budget applies.  Call before the pack goes live, on the
 * thread that is to use it. */
void rules_end_check(struct rules *r);

/* The version: 64 hex digits of the content hash.  Borrowed: valid until
 * rules_free(). */
const char *rules_version(const struct rules *r);
/* A number no other pack loaded by this process has: what a value derived
 * from this pack's answers is kept with (a reload, even of the same files,
 * gets a new one). */
uint64_t rules_serial(const struct rules *r);
/* The pack folder as given to rules_load().  Borrowed, likewise. */
const char *rules_dir(const struct rules *r);
/* What the pack declares ({name, title, measures, kinds, actions, views,
 * checks, files, version}).  Borrowed, likewise; do not modify. */
json_t *rules_describe(struct rules *r);

/* The pack's files as hashed: {path: {text: "..."} or {hex: "..."}}.
 * Borrowed, valid until rules_free(). */
json_t *rules_contents(struct rules *r);
/* Per-rule counters: {check|action|hook|view: {name: {calls, failures,
 * time_us}}}.  A new object; caller decrefs. */
json_t *rules_counters(struct rules *r);

/* Roles allowed to run action `name` / read view `name`: a borrowed JSON
 * array, or NULL when there is no such action/view. */
json_t *rules_action_roles(struct rules *r, const char *name);
json_t *rules_view(struct rules *r, const char *name);

/* The context a rule call sees. */
struct rules_ctx {
	int64_t at;        /* the decision instant */
	const char *role;  /* the caller's role */
	/* What a rule's count(kind, states) asks, one state at a time: the
	 * records of `kind` in `state` as the latest versions say, writes in
	 * flight included.  0 with *n or a negative errno.  NULL: count() is
	 * an error (a call that is not an action). */
	int (*count)(void *ud, const char *kind, const char *state, uint64_t *n);
	void *count_ud;
	/* NULL, or how an action reads an identity's entry (ident.h): 0 with
	 * *text (caller frees) and *len, -ENOENT, or a negative errno. */
	int (*lookup)(void *ud, const char *key, char **text, size_t *len);
	/* NULL, or the latest state of record `id` (*state: caller frees):
	 * whether an identity's live record is still live (a deadline may have
	 * moved it).  0, -ENOENT or a negative errno. */
	int (*state_of)(void *ud, const char *id, char **state);
	/* NULL, or the latest version of record `id` as JSON text (*text:
	 * caller frees): whether an identity's live record holds the data a
	 * row of an import gives, as it is now (amends included).  0,
	 * -ENOENT or a negative errno. */
	int (*record_of)(void *ud, const char *id, char **text, size_t *len);
	void *lookup_ud;
};

/*
 * Runs action `name` on `rec` (a full record, borrowed; NULL for a creating
 * action) with `params` (borrowed).  Returns 0 with *out = {record:{kind,
 * state, data}, events:[...]} or an error code with *out describing it:
 * LIU_EREFUSED {refused:[{ja,en}]}, LIU_EINVAL {invalid:[{field,reason}]},
 * LIU_ESCRIPT {error, traceback}.  *out is always set; caller decrefs.
 */
int rules_act(struct rules *r, const char *name, json_t *rec, json_t *params,
	      const struct rules_ctx *ctx, json_t **out);

/* Frees what reading `rec` allocated (struct rules_rec, rules_rec.h) and
 * zeroes it but for text, len and whole, whatever the outcome of the call. */
void rules_rec_clear(struct rules_rec *rec);

/*
 * rules_act() for a stored record given as text: the same action, the same
 * *out (without the unchanged fields of "data": they are in rec->new_data
 * as they were written), and rec->new_data, the new version's "data" as
 * JSON text, when it returns 0.  A text that is not a JSON object nested
 * within 64 levels (RULES_MAX_DEPTH; a damaged database) is -EIO with
 * rec->damaged and *out = {error} saying why.
 */
int rules_act_text(struct rules *r, const char *name, struct rules_rec *rec, json_t *params,
		   const struct rules_ctx *ctx, json_t **out);

/* Evaluates the pack's checks on `rec` at `at`.  Returns 0 with *out =
 * {decision, checks, measures_in_force, ...summaries}, or LIU_ESCRIPT with
 * *out = {error, traceback}.  Caller decrefs *out. */
int rules_eval(struct rules *r, json_t *rec, int64_t at, json_t **out);
/* The same for a stored record given as text (struct rules_rec above; only
 * its text is used): -EIO as rules_act_text() when it is damaged. */
int rules_eval_text(struct rules *r, struct rules_rec *rec, int64_t at, json_t **out);

/*
 * Whether eval's answer may be kept and reused: true when the pack declares
 * eval_by_date (its tests check that eval then depends on the time only
 * through the JST date and the measures in force), with [*from, *till) the
 * instants around `at` that get the same answer but for its `at` field: the
 * JST day of `at`, cut at every start and end of a measure and at every
 * instant the pack declares (pack { instants }).
 */
bool rules_eval_span(const struct rules *r, int64_t at, int64_t *from, int64_t *till);

/* eval's answer `out` (taken) as the memo keeps it: the pack's version
 * added, `at` and `id` left out (a reply puts them back), encoded compactly
 * as "{...}".  Caller frees; NULL when out of memory. */
char *rules_eval_memo_text(struct rules *r, json_t *out);

/* One row of view `name` for `rec`: returns 1 with *row (caller decrefs), 0
 * when the record is left out, LIU_ESCRIPT with *row = {error}. */
int rules_view_row(struct rules *r, const char *name, json_t *rec, json_t *params,
		   int64_t at, json_t **row);

/* The summary of `rec` (a full record, borrowed) its kind declares, for
 * people: 1 with *lines = [{ja, en, value}] (caller decrefs), 0 when the
 * kind declares none, LIU_ESCRIPT with *lines = {error}. */
int rules_summary(struct rules *r, json_t *rec, int64_t at, json_t **lines);

/* The pack's deadlines: a new array of {measure, at, hooks:[{kind,states}]}
 * sorted by time (caller decrefs), or NULL on a script error. */
json_t *rules_deadlines(struct rules *r);

/* Runs measure `measure`'s expiry hooks on `rec`: 1 with *out = {record,
 * events} when the record changed, 0 when nothing applies, LIU_ESCRIPT with
 * *out = {error}. */
int rules_expire(struct rules *r, const char *measure, json_t *rec, int64_t at, json_t **out);

/* Runs the pack's tests (loaded with load_tests), printing TAP to `out`.
 * Returns the number of failed tests, or a negative errno. */
int rules_run_tests(struct rules *r, FILE *out);
/* Like rules_run_tests() but collects the failures as text (caller frees
 * *report; NULL when all passed).  Returns the number of failures. */
int rules_test_report(struct rules *r, char **report, int *total);

/* Counters since load: calls, failures, instruction-budget kills. */
struct rules_stats {
	uint64_t calls, errors, budget_kills;
	size_t mem_used;
};
void rules_stats(const struct rules *r, struct rules_stats *s);



/*
 * Reads a declarative Lua configuration file (etc/liud.conf) in a bare
 * sandbox: no libraries, no functions kept, a small instruction and memory
 * budget.  Returns 0 with *out = the file's globals as a JSON object (caller
 * decrefs), or a negative errno with *err (malloc'd, caller frees) naming
 * file:line.  Lives in rules_conf.c.
 */
int rules_read_conf(const char *path, json_t **out, char **err);
#endif
