/*
 * ident — a record's identity among the records of its kind: the values of
 * the fields its kind declares (`identity` on kind{}, docs/RULES.md),
 * normalised, hashed into one metadata key.  The entry under that key (kept
 * by the prelude's act, written by the ledger in the record's own write)
 * says which record of the identity is live and what belongs to the
 * identity rather than to any one record.  No knowledge of any pack.
 */
#ifndef LIU_IDENT_H
#define LIU_IDENT_H

#include <stddef.h>

/* Every identity key starts with this; nothing else may be read through
 * the rules' lookup. */
#define IDENT_PREFIX "identity/"

/*
 * `s` (len bytes of UTF-8) normalised by `how`:
 *   "exact"           as it is;
 *   "nfkc-space-case" NFKC (full-width and half-width forms alike), case
 *                     folded, every white space removed (「ＳａａＳ　Ａ」 and
 *                     "saasa" are one name).
 * Returns a malloc'd NUL-terminated string, or NULL with *err set to a
 * reason (an unknown mode, text that is not UTF-8, out of memory).
 */
char *ident_normalize(const char *s, size_t len, const char *how, const char **err);

/*
 * The metadata key of an identity: "identity/<kind>/<sha256 hex of the
 * normalised values, each ended by a 0x1f byte>".  Returns a malloc'd key,
 * or NULL with *err set.
 */
char *ident_key(const char *kind, const char *const *vals, const size_t *lens, size_t n,
		const char *how, const char **err);

#endif
