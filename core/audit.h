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
 * answers it (decompressed, recz.h).  The chain alone proves the entries
 * were not edited; the digest ties each record to its last entry, so that
 * a record edited in place (a state, a name) no longer passes as intact.
 * Entries written before the digest existed have none: such a record is
 * vouched for by the chain only, and a verification's report says how many
 * there are.
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

/* A head published earlier ("audit: head=SEQ:HASH" in the log), to be
 * proved still a prefix of the chain. */
struct audit_published {
	uint64_t seq;
	char hash[HASH_HEX];
};

/* Parses "SEQ:HASH" (64 hex digits): 0, or -EINVAL. */
int audit_published_parse(const char *s, struct audit_published *p);

/*
 * Walks the whole log, then every record: work that grows with the
 * database, done in steps so that the daemon's loop serves its other
 * clients between them (the rpc layer runs it in slices; a backup's check
 * runs it on a worker thread and stops when its client hangs up).
 *
 * audit_verify_start(): 0 with *out (free it with audit_verify_free(),
 * done or not), or a negative errno.  `pub` is copied.  `records` false:
 * the chain only (a backup's check of its copy: a record edited before the
 * backup is the live database's finding, not the copy's).
 *
 * audit_verify_step(): works until `until_us` (CLOCK_MONOTONIC, in
 * microseconds: the clock slice.h gives its steps; one entry or record is
 * checked at least) and returns 1 when there is more to do, a negative
 * errno when the store cannot be read, or 0 with *report (caller decrefs):
 * {ok, entries, head, first_bad_seq and reason when the chain is broken,
 * records: {checked, without_digest, differ: [{id, reason}], differ_count},
 * published: {seq, hash, ok, reason} when `pub` is given}; ok is false when
 * the chain is broken, a record differs from its last entry, or `pub` is
 * not an entry of the chain.  Each step reads in its own short read
 * transactions, on the thread that calls it; entries and records written
 * between two steps are told apart from changes made outside the daemon.
 *
 * audit_verify_progress(): entries walked and records checked so far (a
 * log line for a verify stopped before its end).
 */
struct audit_verify;
int audit_verify_start(struct store *st, const struct audit_published *pub, bool records,
		       struct audit_verify **out);
int audit_verify_step(struct audit_verify *v, int64_t until_us, json_t **report);
void audit_verify_progress(const struct audit_verify *v, uint64_t *entries, size_t *records);
void audit_verify_free(struct audit_verify *v);

#endif
