/*
 * packs — the rule packs that have been live: every activated version's
 * files kept in the store (so a rollback re-activates exactly those bytes,
 * and survives restarts), and the history of activations.  Knows JSON and
 * the store; no Lua.
 *
 * Metadata keys:
 *   pack/<version>        {version, name, files: {path: {text}|{hex}}}
 *   rules_hist/<seq 12>   {seq, version, activated_at, by, how, dir}
 *   rules_active          the newest history entry, plus folder_version: the
 *                         version of the pack folder when it was activated
 */
#ifndef LIU_PACKS_H
#define LIU_PACKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#define PACKS_ACTIVE_KEY "rules_active"

/* The active entry: 0 with *out (caller decrefs), -ENOENT, or an errno. */
int packs_active(struct store *st, json_t **out);

/* History, newest first, at most `limit` entries (caller decrefs); each
 * entry says whether its version's files are still kept ("kept"). */
json_t *packs_history(struct store *st, size_t limit);

/* Finds a kept version by its full hash or a unique prefix (8+ hex digits).
 * Returns 0 with *version (malloc'd, caller frees), -ENOENT, or -EINVAL
 * (too short or not unique). */
int packs_find(struct store *st, const char *prefix, char **version);

/* Writes the files of kept `version` under a new folder
 * <root>/<version>.<n>/<name>/ (relative to descriptors, no links followed,
 * no file overwritten) and
 * returns that folder (malloc'd, caller frees).  Returns 0 or an errno. */
int packs_materialize(struct store *st, const char *root, const char *version, char **dir);

/* Whether the files of `version` are kept in the store already. */
bool packs_stored(struct store *st, const char *version);
/* The kept form of a pack's files (what packs_activation() stores for a
 * version not kept yet): malloc'd, NULL on ENOMEM.  Reads only `contents`,
 * so it may run on a worker while the loop goes on (a 15 MiB file takes
 * the best part of a second to encode). */
char *packs_encode(const char *version, const char *name, json_t *contents);

/*
 * The metadata pairs that record an activation, for one ledger_write():
 * *kv is a NULL-terminated list key, value, ... (free with packs_kv_free()).
 * `contents` are the pack's files (rules_contents()).  The same write drops
 * the kept files of versions older than the `keep` activated last
 * (storage.pack_versions; the live one and the one before it are always
 * among them); *dropped says how many.  The history entries stay.
 * `encoded`: packs_encode()'s text made ahead (taken), or NULL.  When the
 * version's files are not kept yet, *files_key and *files_text (caller frees;
 * else both NULL) are the pair that keeps them, apart from *kv so that the
 * write takes the text instead of copying it (ledger_write_blob()).
 */
int packs_activation(struct store *st, const char *version, const char *name,
		     json_t *contents, char *encoded, const char *by, const char *how,
		     const char *dir, const char *folder_version, int keep, char ***kv,
		     int *dropped, char **files_key, char **files_text);
void packs_kv_free(char **kv);

/* Removes every folder under `root` (where kept versions are written out)
 * but the one `keep_dir` lies in (NULL: all), without following links.
 * Returns how many went, or a negative errno. */
int packs_prune(const char *root, const char *keep_dir);

#endif
