/*
 * verify — proves the audit log and the records: the chain of entries
 * unbroken from the first to the head, every record as its last entry's
 * digest says (audit.h), and a head published earlier still an entry of
 * the chain.  Records are read as stored through the ledger's reads of a
 * store (ledger_stored_*), of the live database or of a backup's copy.
 */
#ifndef LIU_VERIFY_H
#define LIU_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hash.h"
#include "store.h"

/* A head published earlier ("audit: head=SEQ:HASH" in the log), to be
 * proved still a prefix of the chain. */
struct verify_head {
	uint64_t seq;
	char hash[HASH_HEX];
};

/* Parses "SEQ:HASH" (64 hex digits): 0, or -EINVAL. */
int verify_head_parse(const char *s, struct verify_head *p);

/*
 * Walks the whole log, then every record: work that grows with the
 * database, done in steps so that the daemon's loop serves its other
 * clients between them (the rpc layer runs it in slices; a backup's check
 * runs it on a worker thread and stops when its client hangs up).
 *
 * verify_start(): 0 with *out (free it with verify_free(),
 * done or not), or a negative errno.  `pub` is copied.  `records` false:
 * the chain only (a backup's check of its copy: a record edited before the
 * backup is the live database's finding, not the copy's).
 *
 * verify_step(): works until `until_us` (CLOCK_MONOTONIC, in
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
 * verify_progress(): entries walked and records checked so far (a
 * log line for a verify stopped before its end).
 */
struct verify;
int verify_start(struct store *st, const struct verify_head *pub, bool records,
		       struct verify **out);
int verify_step(struct verify *v, int64_t until_us, json_t **report);
void verify_progress(const struct verify *v, uint64_t *entries, size_t *records);
void verify_free(struct verify *v);

#endif
