/*
 * tamper — a test tool that damages a stopped daemon's audit log the way an
 * attacker with write access to the database file would, so that the tests
 * can show audit.verify catches it.  Not part of liud; the one program
 * besides store.c that opens LMDB directly, on purpose.
 *
 *   tamper DBDIR change SEQ     rewrite entry SEQ's outcome
 *   tamper DBDIR delete SEQ     remove entry SEQ
 *   tamper DBDIR swap A B       exchange entries A and B
 *   tamper DBDIR truncate       remove the last entry
 *   tamper DBDIR cut            remove the last entry and rewrite the head to
 *                               the one before it (what verify alone misses)
 *   tamper DBDIR record ID TEXT replace record ID's stored bytes with TEXT
 *                               (or add record ID)
 *   tamper DBDIR unrecord ID    remove record ID (its indexes stay)
 *   tamper DBDIR strip          rewrite the chain without the entries' record
 *                               digests, sealed again: a database written
 *                               before entries carried them
 *   tamper DBDIR nodict         remove the compression dictionaries
 *   tamper DBDIR frame ID       (reads only) print how record ID is stored:
 *                               "plain", or "frame N" / "spliced N" where N
 *                               is the dictionary its zstd frame names (0: none)
 */
#include <lmdb.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

static void key(unsigned char k[8], uint64_t seq)
{
	for (int i = 7; i >= 0; i--, seq >>= 8)
		k[i] = (unsigned char)(seq & 0xff);
}

/* strip: every entry without ,"record_sha256":"<hex>", chained and sealed
 * again as audit.c seals (the hash covers the bytes before "hash":"). */
static int strip(MDB_txn *txn, MDB_dbi dbi)
{
	static const char dk[] = ",\"record_sha256\":\"";
	MDB_cursor *cur;
	MDB_val k, v;
	char prev[65], *head = NULL;
	memset(prev, '0', 64);
	prev[64] = '\0';
	/* Read every entry first: a put of another size moves the cursor. */
	size_t n = 0, cap = 0;
	char **bodies = NULL;
	unsigned long long *seqs = NULL;
	int rc = mdb_cursor_open(txn, dbi, &cur);
	for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			bodies = realloc(bodies, cap * sizeof *bodies);
			seqs = realloc(seqs, cap * sizeof *seqs);
		}
		bodies[n] = malloc(v.mv_size + 1);
		memcpy(bodies[n], v.mv_data, v.mv_size);
		bodies[n][v.mv_size] = '\0';
		const unsigned char *kp = k.mv_data;
		seqs[n] = 0;
		for (int i = 0; i < 8; i++)
			seqs[n] = seqs[n] << 8 | kp[i];
		n++;
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return rc;
	rc = 0;
	for (size_t j = 0; rc == 0 && j < n; j++) {
		char *b = bodies[j];
		char *d = strstr(b, dk);
		if (d)
			memmove(d, d + sizeof dk - 1 + 65, strlen(d + sizeof dk - 1 + 65) + 1);
		char *p = strstr(b, "\"prev\":\"");
		if (p)
			memcpy(p + 8, prev, 64);
		size_t len = strlen(b), at = len - 2 - 64 - 8; /* "hash":"<64>"} */
		unsigned char md[32];
		SHA256((unsigned char *)b, at, md);
		for (int i = 0; i < 32; i++)
			sprintf(prev + 2 * i, "%02x", md[i]);
		memcpy(b + at + 8, prev, 64);
		unsigned char kb[8];
		key(kb, seqs[j]);
		MDB_val nk = { 8, kb }, nv = { len, b };
		rc = mdb_put(txn, dbi, &nk, &nv, 0);
	}
	MDB_dbi mdbi;
	if (rc == 0 && (rc = mdb_dbi_open(txn, "meta", 0, &mdbi)) == 0) {
		head = malloc(100);
		int hl = snprintf(head, 100, "%llu %s", n ? seqs[n - 1] : 0ULL, prev);
		MDB_val hk = { 10, (void *)"audit_head" }, hv = { (size_t)hl, head };
		rc = mdb_put(txn, mdbi, &hk, &hv, 0);
		free(head);
	}
	for (size_t j = 0; j < n; j++)
		free(bodies[j]);
	free(bodies);
	free(seqs);
	return rc;
}

static int die(const char *what, int rc)
{
	fprintf(stderr, "tamper: %s: %s\n", what, mdb_strerror(rc));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: tamper DBDIR change|delete|swap|truncate [SEQ [SEQ]] | record ID TEXT | nodict | frame ID\n");
		return 2;
	}
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc;
	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 16);
	mdb_env_set_mapsize(env, (size_t)1 << 30);
	bool rec = strcmp(argv[2], "record") == 0 || strcmp(argv[2], "frame") == 0 ||
		   strcmp(argv[2], "unrecord") == 0;
	bool meta = strcmp(argv[2], "nodict") == 0;
	MDB_dbi mdbi;
	if ((rc = mdb_env_open(env, argv[1], 0, 0600)) || (rc = mdb_txn_begin(env, NULL, 0, &txn)) ||
	    (rc = mdb_dbi_open(txn, rec ? "records" : meta ? "meta" : "audit", 0, &dbi)))
		return die("open", rc);
	unsigned char ka[8], kb[8];
	MDB_val k = { 8, ka }, v, k2 = { 8, kb }, v2;
	const char *op = argv[2];
	char *buf = NULL, *a = NULL, *b = NULL; /* freed at the end */
	if (strcmp(op, "change") == 0 && argc == 4) {
		key(ka, strtoull(argv[3], NULL, 10));
		if ((rc = mdb_get(txn, dbi, &k, &v)))
			return die("get", rc);
		buf = malloc(v.mv_size + 1);
		memcpy(buf, v.mv_data, v.mv_size);
		buf[v.mv_size] = '\0';
		char *p = strstr(buf, "\"outcome\":\"");
		if (!p)
			return die("no outcome field", 0);
		p[11] = p[11] == 'X' ? 'Y' : 'X'; /* same length, different content */
		v.mv_data = buf;
		rc = mdb_put(txn, dbi, &k, &v, 0);
	} else if (strcmp(op, "frame") == 0 && argc == 4) {
		MDB_val rk = { strlen(argv[3]), argv[3] };
		if ((rc = mdb_get(txn, dbi, &rk, &v)))
			return die("get", rc);
		const unsigned char *p = v.mv_data;
		if (v.mv_size > 2 && p[0] == 0x01 && v.mv_size > 2u + p[1])
			printf("spliced %u\n", ZSTD_getDictID_fromFrame(p + 2 + p[1], v.mv_size - 2 - p[1]));
		else if (v.mv_size >= 4 && memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0)
			printf("frame %u\n", ZSTD_getDictID_fromFrame(p, v.mv_size));
		else
			printf("plain\n");
	} else if (meta && argc == 3) {
		MDB_cursor *cur;
		mdb_cursor_open(txn, dbi, &cur);
		MDB_val dk = { 6, (void *)"zdict/" };
		for (rc = mdb_cursor_get(cur, &dk, &v, MDB_SET_RANGE);
		     rc == 0 && dk.mv_size > 6 && memcmp(dk.mv_data, "zdict/", 6) == 0;
		     rc = mdb_cursor_get(cur, &dk, &v, MDB_NEXT))
			if ((rc = mdb_cursor_del(cur, 0)))
				break;
		if (rc == MDB_NOTFOUND || rc == 0)
			rc = 0;
	} else if (strcmp(op, "unrecord") == 0 && argc == 4) {
		MDB_val rk = { strlen(argv[3]), argv[3] };
		rc = mdb_del(txn, dbi, &rk, NULL);
	} else if (rec && argc == 5) {
		MDB_val rk = { strlen(argv[3]), argv[3] }, rv = { strlen(argv[4]), argv[4] };
		rc = mdb_put(txn, dbi, &rk, &rv, 0);
	} else if (strcmp(op, "delete") == 0 && argc == 4) {
		key(ka, strtoull(argv[3], NULL, 10));
		rc = mdb_del(txn, dbi, &k, NULL);
	} else if (strcmp(op, "swap") == 0 && argc == 5) {
		key(ka, strtoull(argv[3], NULL, 10));
		key(kb, strtoull(argv[4], NULL, 10));
		if ((rc = mdb_get(txn, dbi, &k, &v)) || (rc = mdb_get(txn, dbi, &k2, &v2)))
			return die("get", rc);
		a = malloc(v.mv_size);
		b = malloc(v2.mv_size);
		memcpy(a, v.mv_data, v.mv_size);
		memcpy(b, v2.mv_data, v2.mv_size);
		MDB_val va = { v.mv_size, a }, vb = { v2.mv_size, b };
		if (!(rc = mdb_put(txn, dbi, &k, &vb, 0)))
			rc = mdb_put(txn, dbi, &k2, &va, 0);
	} else if (strcmp(op, "strip") == 0) {
		rc = strip(txn, dbi);
	} else if (strcmp(op, "cut") == 0) {
		MDB_cursor *cur;
		mdb_cursor_open(txn, dbi, &cur);
		if (!(rc = mdb_cursor_get(cur, &k, &v, MDB_LAST)) && !(rc = mdb_cursor_del(cur, 0)) &&
		    !(rc = mdb_cursor_get(cur, &k, &v, MDB_LAST)) &&
		    !(rc = mdb_dbi_open(txn, "meta", 0, &mdbi))) {
			/* the entry now last: {"seq":N,...,"hash":"<64 hex>"} */
			const unsigned char *kp = k.mv_data;
			unsigned long long seq = 0;
			for (int i = 0; i < 8; i++)
				seq = seq << 8 | kp[i];
			const char *body = v.mv_data;
			if (v.mv_size < 66)
				return die("last entry too short", 0);
			buf = malloc(100);
			int n = snprintf(buf, 100, "%llu %.64s", seq, body + v.mv_size - 66);
			MDB_val hk = { 10, (void *)"audit_head" }, hv = { (size_t)n, buf };
			rc = mdb_put(txn, mdbi, &hk, &hv, 0);
		}
	} else if (strcmp(op, "truncate") == 0) {
		MDB_cursor *cur;
		mdb_cursor_open(txn, dbi, &cur);
		if (!(rc = mdb_cursor_get(cur, &k, &v, MDB_LAST)))
			rc = mdb_cursor_del(cur, 0);
	} else {
		fprintf(stderr, "tamper: bad arguments\n");
		return 2;
	}
	if (rc)
		return die(op, rc);
	if ((rc = mdb_txn_commit(txn)))
		return die("commit", rc);
	mdb_env_close(env);
	free(buf);
	free(a);
	free(b);
	return 0;
}
