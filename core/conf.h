/*
 * conf — the daemon's configuration: defaults, the declarative Lua file of
 * liud.conf(5) (read through rules_read_conf(), so this module knows no Lua), and
 * the command-line overrides applied on top.
 */
#ifndef LIU_CONF_H
#define LIU_CONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The defaults of a build: a checkout's paths, relative to where it runs;
 * `make install` compiles liud again with the installed ones (mk/install.mk).
 * LIUD_CONFIG is the configuration `liud test` and `liud check` read for the
 * rules folder when none is given. */
#ifndef LIUD_SOCKET
#define LIUD_SOCKET "run/liud.sock"
#endif
#ifndef LIUD_DB
#define LIUD_DB "var/db"
#endif
#ifndef LIUD_RULES
#define LIUD_RULES "rules"
#endif
#ifndef LIUD_CONFIG
#define LIUD_CONFIG "etc/liud.conf"
#endif

struct conf {
	char *socket;           /* owned strings */
	char *db;
	char *rules;
	char *log_level;
	char *log_time_zone;    /* of the log's timestamps (log_set_zone()) */
	unsigned log_per_s;     /* rate-limited log lines (log.h): a second, 0: no limit */
	unsigned log_burst;     /* ... and at once */
	mode_t socket_mode;
	json_t *roles;          /* owned: {role: {users:[...], groups:[...]}} */
	/* limits */
	size_t request_bytes;
	int connections;
	int connections_per_uid; /* a peer without admin: its uid's share */
	int admin_reserve;      /* the last slots of `connections`, admin only */
	int idle_timeout_s;
	int request_timeout_s;  /* a request line begun must end within this */
	int request_time_s;     /* wall clock of one view, import or audit.verify, all its slices */
	size_t reply_bytes;     /* the most bytes a view's reply may have */
	/* rule budget */
	size_t rule_memory;
	uint64_t rule_instructions;
	int rule_time_ms;
	int rule_check_s;          /* a whole check (load and tests of a candidate) */
	/* storage */
	size_t map_size;
	size_t max_map_size;
	/* batches */
	int enforce_batch;      /* records per enforcement transaction */
	int stage_hours;        /* enforcement staged this long before a deadline (0: off) */
	size_t cache_bytes;     /* decoded-record cache of the ledger (0: off) */
	int pack_versions;      /* activated pack versions whose files are kept (>= 2) */
	size_t pack_bytes;      /* all of a pack's files (storage.pack_mib) */
	size_t memo_bytes;      /* eval's memo of encoded answers (0: off) */
	int audit_head_s;       /* log the audit head this often, seconds (0: at start and stop only) */
	int dict_records;       /* records before a zstd dictionary is trained (0: never) */
	/* rules */
	bool rules_watch;       /* reload when the pack folder changes (debounced) */
};

/* Fills *c with the defaults. */
void conf_defaults(struct conf *c);
/* Reads `path` over the defaults in *c.  Returns 0, or a negative errno with
 * *err (malloc'd, caller frees) naming the setting and why. */
int conf_load(struct conf *c, const char *path, char **err);
/* Replaces a string setting (`field` points into *c). */
void conf_set(char **field, const char *value);
void conf_free(struct conf *c);

#endif
