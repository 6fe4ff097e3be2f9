/*
 * audit — the tamper-evident audit log.  Every entry carries its sequence
 * number and the SHA-256 of the entry before it ("prev"), and is sealed by
 * its own hash: the SHA-256 of the entry's stored bytes up to its last
 * field, which is the hash itself (`…,"hash":"<64 hex>"}`).  Hashing the
 * bytes as stored, rather than a re-encoding, makes the chain independent of
 * any JSON library's formatting and costs one encoding per entry.  The head
 * (last seq and hash) is kept in the store's metadata, written in the same
 * transaction as the entry, so that cutting entries off the end is caught
 * too.  Entries are written by the same transaction as the change they
 * record (see ledger).
 *
 * An entry that records a change of a record also carries "record_sha256":
 * the SHA-256 of the record's JSON text after the change, as record.get
 * answers it (decompressed, compress.h).  The chain alone proves the entries
 * were not edited; the digest ties each record to its last entry, so that
 * a record edited in place (a state, a name) no longer passes as intact.
 * Entries written before the digest existed have none: such a record is
 * vouched for by the chain only, and a verification's report says how many
 * there are.  The walk that checks all this is verify.h's.
 */
#ifndef LIU_AUDIT_H
#define LIU_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hash.h"
#include "store.h"

#define AUDIT_HEAD_KEY "audit_head"
#define AUDIT_DIGEST_KEY "record_sha256" /* the member an entry's digest is in */
/* The "prev" of the first entry, and the hash of an empty log's head. */
#define AUDIT_ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

struct audit_head {
	uint64_t seq;            /* last sealed entry, 0 for none */
	char hash[HASH_HEX];     /* its hash, or 64 zeros */
};

/* Reads the committed head from the store (zero head when there is none). */
int audit_load_head(struct store *st, struct audit_head *h);

/*
 * Seals `entry` as the entry after *h: sets "seq" and "prev" in it, encodes
 * it, appends the hash, and advances *h.  Returns the bytes to store
 * (malloc'd, caller frees) or NULL (out of memory).  `entry` gets "hash" too.
 */
char *audit_seal(json_t *entry, struct audit_head *h);

/*
 * The same for an entry already encoded: `rest` is a JSON object's text
 * (its members but "seq", "prev", "time" and "hash"), and the sealed entry
 * is {"seq":…,"prev":…,"time":`time`,<rest's members>,"hash":…}.  Enforcement
 * prepared ahead of a deadline seals its entries this way, without encoding
 * them again.  `time` NULL: `rest` holds the entry's "time" itself (an
 * import's entries, encoded in slices before the write).  `digest` (HASH_HEX,
 * or NULL for none) goes in as "record_sha256" after rest's members.
 * Returns the bytes (malloc'd) or NULL.
 */
char *audit_seal_raw(const char *rest, size_t len, const char *time, const char *digest,
		     struct audit_head *h);

/* The head as the metadata value (malloc'd, caller frees). */
char *audit_head_encode(const struct audit_head *h);

/* The digest an entry carries for a record whose JSON text is `json`:
 * 0, or -EIO (the hash library failed). */
int audit_record_digest(const char *json, size_t len, char out[HASH_HEX]);

#endif
