/* store — see store.h. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "log.h"
#include "compress.h"

#define STORE_KEY_MAX 480 /* LMDB's default key limit is 511 bytes */
/* A filesystem with less room than this, when a commit fails with EIO, is
 * full (a transaction writes at least a few pages). */
#define FULL_FS_BYTES ((uint64_t)1 << 20)

struct store {
	MDB_env *env;
	MDB_dbi records, by_kind, by_state, by_ks, counts, meta, audit, audit_rec;
	MDB_dbi range;      /* the droppable range's keys (store_opts), when range_plen > 0 */
	char *range_prefix; /* owned */
	size_t range_plen;
	MDB_txn *rtxn;      /* the reader's transaction, reset between reads */
	size_t map_size, max_map_size;
	int lock_fd;
	int fail_n, fail_err; /* fault injection */
	/* LMDB may resize the map only while no transaction of the process is
	 * open; a hot backup holds a read transaction for its whole copy, on
	 * another thread, the dictionary's sampling a short one.  They hold
	 * this lock shared (store_map_hold), counted by kind so that growing,
	 * which takes it exclusively, can tell a backup (refuse: it may last
	 * minutes) from sampling (wait: it lasts milliseconds). */
	pthread_rwlock_t map_lock;
	_Atomic int map_backups, map_samplers;
	/* Records are stored compressed (compress.h): one context for the
	 * committer's puts (one transaction at a time), one for reads, which
	 * the loop thread makes but a lock keeps safe from any other. */
	struct compress *zput, *zget;
	pthread_mutex_t zget_lock;
	/* The compression dictionary (compress.h): the id of the one in use (0:
	 * none yet), its size, and how many records the last training that
	 * made none had (a new try waits for twice as many).  Set by the
	 * committer, read by the loop. */
	_Atomic unsigned dict_id, dict_count;
	_Atomic size_t dict_len;
	_Atomic size_t dict_tried_at;
	char datapath[4096]; /* data.mdb, for the messages */
	size_t dict_records;   /* from store_opts.dict_records; 0: none trained */
};

/* --- a file cut short under the running daemon ----------------------------
 * check_length() refuses a short data.mdb at open.  One cut while the
 * daemon runs (another program, a copy over the live file) makes the first
 * touch of a page past its end SIGBUS.  The reads and writes of the map are
 * guarded, per thread (the loop, the committer, a backup's worker): the
 * signal ends that one call with -EIO and a log line naming the file and
 * what to do, never the process.  A SIGBUS outside a guard (not ours) gets
 * the default action. */
static __thread sigjmp_buf *map_jmp;           /* armed while the map is read */
static __thread pthread_mutex_t *map_held;     /* a lock held across a read of it */

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	(void)si;
	(void)ctx;
	sigjmp_buf *j = map_jmp;
	if (j) {
		map_jmp = NULL;
		siglongjmp(*j, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void sigbus_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

/* After a guarded call was ended by SIGBUS: what it held is let go, and
 * the damage said.  Returns -EIO for the call. */
static int map_fault(struct store *st)
{
	/* The guards save no signal mask (that would be a system call per
	 * read): SIGBUS, blocked while its handler ran, is unblocked here. */
	sigset_t bus;
	sigemptyset(&bus);
	sigaddset(&bus, SIGBUS);
	pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
	map_jmp = NULL;
	if (map_held) {
		pthread_mutex_unlock(map_held);
		map_held = NULL;
	}
	log_err("store: %s is damaged: a page the database uses lies past the file's end (the "
		"file was cut short while the daemon ran); the request failed; stop the daemon and "
		"restore the last backup (liuctl backup writes one)", st->datapath);
	return -EIO;
}

/* mkdir -p: creates the missing folders of `path` with `mode`. */
static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * The one place LMDB's codes become ours.  `rc` is what an mdb_* call
 * returned: 0, an MDB_* code (negative, below -30000) or an errno LMDB
 * passes through (positive); never one of our negative errnos, which it
 * would take for an unknown LMDB code (-EIO).  So every mdb_* result goes
 * through here, or is compared with a named MDB_* code, where it is
 * returned, and the rest of this file handles only 0 / negative errno.
 */
static int store_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return 0;
	case MDB_NOTFOUND: return -ENOENT;
	case MDB_MAP_FULL: return -ENOSPC;
	case MDB_TXN_FULL: return -ENOSPC;
	case MDB_READERS_FULL: return -EAGAIN;
	case MDB_CORRUPTED: case MDB_PAGE_NOTFOUND: case MDB_INVALID:
	case MDB_VERSION_MISMATCH: case MDB_PANIC: case MDB_BAD_TXN:
		return -EIO;
	case MDB_MAP_RESIZED: return -EAGAIN;
	default:
		if (rc > 0)
			return -rc; /* LMDB passes errno values through */
		return -EIO;
	}
}

/* Moves cursor `cur` by `op`: 1 with *k and *v set, 0 when there is no
 * such entry (past the end), or a negative errno. */
static int cursor_step(MDB_cursor *cur, MDB_val *k, MDB_val *v, MDB_cursor_op op)
{
	int rc = mdb_cursor_get(cur, k, v, op);
	return rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : store_err(rc);
}

static int open_dbi(MDB_txn *txn, const char *name, MDB_dbi *dbi)
{
	/* A read-only environment (a copy being checked) cannot create one. */
	unsigned flags = 0;
	mdb_env_get_flags(mdb_txn_env(txn), &flags);
	return mdb_dbi_open(txn, name, flags & MDB_RDONLY ? 0 : MDB_CREATE, dbi);
}

/* The table a metadata key lives in. */
static MDB_dbi meta_dbi(const struct store *st, const void *key, size_t len)
{
	size_t pl = st->range_plen;
	return pl > 0 && len >= pl && memcmp(key, st->range_prefix, pl) == 0 ? st->range : st->meta;
}

/* Makes dictionary `dict` known to both compression contexts, and the one
 * new frames use.  The caller holds no lock. */
static int dict_install(struct store *st, const void *dict, size_t len)
{
	int rc = compress_dict_add(st->zput, dict, len, true);
	if (rc == 0 || rc == -EEXIST) {
		pthread_mutex_lock(&st->zget_lock);
		rc = compress_dict_add(st->zget, dict, len, true);
		pthread_mutex_unlock(&st->zget_lock);
	}
	if (rc == -EEXIST)
		rc = 0;
	if (rc == 0) {
		st->dict_len = len;
		st->dict_id = compress_dict_id(dict, len);
		st->dict_count++;
	}
	return rc;
}

/* Every dictionary the database has (meta "zdict/<n>", oldest first): the
 * records written with each of them read; the newest packs new ones.
 * Returns 0, -ENOMEM, -EIO (a dictionary that does not load) or another
 * negative errno. */
static int load_dicts(struct store *st)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	int rc = store_err(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn));
	if (rc < 0)
		return rc;
	if ((rc = store_err(mdb_cursor_open(txn, st->meta, &cur))) < 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	size_t plen = sizeof STORE_DICT_PREFIX - 1;
	MDB_val k = { plen, (void *)STORE_DICT_PREFIX }, v;
	for (rc = cursor_step(cur, &k, &v, MDB_SET_RANGE); rc == 1;
	     rc = cursor_step(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < plen || memcmp(k.mv_data, STORE_DICT_PREFIX, plen) != 0)
			break;
		int r = dict_install(st, v.mv_data, v.mv_size);
		if (r < 0) {
			log_err("store: a compression dictionary does not load key=%.*s bytes=%zu error=\"%s\"",
				(int)k.mv_size, (const char *)k.mv_data, v.mv_size, strerror(-r));
			rc = r == -ENOMEM ? -ENOMEM : -EIO;
			break;
		}
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc < 0 ? rc : 0;
}

/*
 * The data file must hold every page its meta page says is in use.  LMDB
 * maps the file and reads pages through the map: a page past the end of a
 * file cut short (a disk that filled, a half-written copy) is SIGBUS at the
 * first read that reaches it, not an error.  Checked once at open, before
 * any page but the two meta pages (read with pread) is touched.
 */
static int check_length(struct store *st, const char *file, const char *dir)
{
	MDB_envinfo info;
	MDB_stat ms;
	mdb_env_info(st->env, &info);
	mdb_env_stat(st->env, &ms);
	int fd;
	struct stat sb;
	if (mdb_env_get_fd(st->env, &fd) != 0 || fstat(fd, &sb) < 0)
		return -EIO;
	uint64_t need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	if ((uint64_t)sb.st_size >= need)
		return 0;
	log_err("store: %s is damaged: it holds %lld bytes but its meta page says the "
		"database uses %llu (the file was cut short: a full disk, or an unfinished copy); "
		"the daemon will not start on it; restore the last backup into %s "
		"(liuctl backup writes one)", file, (long long)sb.st_size, (unsigned long long)need, dir);
	return -EUCLEAN;
}

/* The droppable range of `o` (store_opts), if any: 0, -EINVAL (a prefix
 * without a table) or -ENOMEM. */
static int range_init(struct store *st, const struct store_opts *o)
{
	if (!o || !o->range_prefix || !*o->range_prefix)
		return 0;
	if (!o->range_table || !*o->range_table)
		return -EINVAL;
	if (!(st->range_prefix = strdup(o->range_prefix)))
		return -ENOMEM;
	st->range_plen = strlen(st->range_prefix);
	return 0;
}

/* Creates folder `dir` and takes liud.lock in it: 0, -EBUSY (another
 * daemon holds it) or a negative errno; st->lock_fd is set on success. */
static int lock_dir(struct store *st, const char *dir)
{
	int rc;
	if ((rc = mkdir_p(dir, 0700)) < 0)
		return rc;
	/* LMDB itself allows several processes; two daemons on one database
	 * would each believe their schedule and counters, so refuse. */
	char lockpath[4096];
	if ((size_t)snprintf(lockpath, sizeof lockpath, "%s/liud.lock", dir) >= sizeof lockpath)
		return -ENAMETOOLONG;
	st->lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->lock_fd < 0)
		return -errno;
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(st->lock_fd);
		st->lock_fd = -1;
		return rc;
	}
	return 0;
}

/* The store's tables, created when new (a copy is only read). */
static int open_tables(struct store *st, const struct store_opts *o, bool copy)
{
	MDB_txn *txn;
	int rc = store_err(mdb_txn_begin(st->env, NULL, copy ? MDB_RDONLY : 0, &txn));
	if (rc < 0)
		return rc;
	if ((rc = open_dbi(txn, "records", &st->records)) ||
	    (rc = open_dbi(txn, "by_kind", &st->by_kind)) ||
	    (rc = open_dbi(txn, "by_state", &st->by_state)) ||
	    (rc = open_dbi(txn, "by_ks", &st->by_ks)) ||
	    (rc = open_dbi(txn, "counts", &st->counts)) ||
	    (rc = open_dbi(txn, "meta", &st->meta)) ||
	    (rc = open_dbi(txn, "audit", &st->audit)) ||
	    (rc = open_dbi(txn, "audit_rec", &st->audit_rec)) ||
	    (st->range_plen > 0 && (rc = open_dbi(txn, o->range_table, &st->range)))) {
		mdb_txn_abort(txn);
		return store_err(rc); /* LMDB's code, from the first that failed */
	}
	return store_err(mdb_txn_commit(txn));
}

int store_open(struct store **out, const char *dir, const struct store_opts *o)
{
	int rc;
	struct store *st = calloc(1, sizeof *st);
	if (!st)
		return -ENOMEM;
	st->lock_fd = -1;
	long dr = o ? o->dict_records : 0;
	st->dict_records = dr < 0 ? 0 : dr > 0 ? (size_t)dr : STORE_DICT_MIN_RECORDS;
	pthread_rwlock_init(&st->map_lock, NULL);
	pthread_mutex_init(&st->zget_lock, NULL);
	st->zput = compress_new();
	st->zget = compress_new();
	if (!st->zput || !st->zget) {
		rc = -ENOMEM;
		goto err_free;
	}
	st->map_size = o && o->map_size ? o->map_size : (size_t)64 << 20;
	st->max_map_size = o && o->max_map_size ? o->max_map_size : (size_t)16 << 30;
	if (st->max_map_size < st->map_size)
		st->max_map_size = st->map_size;
	if ((rc = range_init(st, o)) < 0)
		goto err_free;

	bool copy = o && o->check_copy;
	if (!copy && (rc = lock_dir(st, dir)) < 0)
		goto err_free;

	if ((rc = store_err(mdb_env_create(&st->env))) < 0)
		goto err_lock;
	mdb_env_set_maxdbs(st->env, 16);
	mdb_env_set_maxreaders(st->env, 126);
	/* An existing larger map keeps its size: LMDB adopts the file's size
	 * when it is bigger than what we ask. */
	mdb_env_set_mapsize(st->env, st->map_size);
	/* LMDB takes an empty data file for a new database: one that holds
	 * nothing where a database was is refused rather than started afresh. */
	char datapath[4096];
	struct stat dsb;
	snprintf(datapath, sizeof datapath, copy ? "%s" : "%s/data.mdb", dir);
	if (stat(datapath, &dsb) == 0 && dsb.st_size == 0) {
		log_err("store: %s is empty: the database it held is gone; restore the last backup into "
			"%s, or remove the file to start a new, empty database", datapath, dir);
		rc = -EUCLEAN;
		goto err_env;
	}
	/* MDB_NOTLS: our read transaction belongs to the loop, not to a thread's
	 * slot; the writer thread has its own write transaction. */
	rc = mdb_env_open(st->env, dir,
			  copy ? MDB_NOTLS | MDB_RDONLY | MDB_NOLOCK | MDB_NOSUBDIR : MDB_NOTLS, 0600);
	if (rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_VERSION_MISMATCH)
		log_err("store: %s is not a database this build can read error=\"%s\"; restore "
			"the last backup into %s (liuctl backup writes one)", datapath, mdb_strerror(rc), dir);
	rc = store_err(rc);
	if (rc < 0)
		goto err_env;
	if ((rc = check_length(st, datapath, dir)) < 0)
		goto err_env;
	snprintf(st->datapath, sizeof st->datapath, "%s", datapath);
	static pthread_once_t bus_once = PTHREAD_ONCE_INIT;
	pthread_once(&bus_once, sigbus_install);
	MDB_envinfo info;
	mdb_env_info(st->env, &info);
	st->map_size = info.me_mapsize;

	int dead = 0;
	if (!copy)
		mdb_reader_check(st->env, &dead);
	if (dead > 0)
		log_info("store: cleared stale reader slots count=%d", dead);

	if ((rc = open_tables(st, o, copy)) < 0 || (rc = load_dicts(st)) < 0)
		goto err_env;
	if ((rc = store_err(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &st->rtxn))) < 0)
		goto err_env;
	mdb_txn_reset(st->rtxn);
	*out = st;
	return 0;

err_env:
	mdb_env_close(st->env);
err_lock:
	if (st->lock_fd >= 0)
		close(st->lock_fd);
err_free:
	compress_free(st->zput);
	compress_free(st->zget);
	free(st->range_prefix);
	free(st);
	return rc;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	mdb_txn_abort(st->rtxn);
	mdb_env_close(st->env);
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* releases the flock */
	pthread_rwlock_destroy(&st->map_lock);
	pthread_mutex_destroy(&st->zget_lock);
	compress_free(st->zput);
	compress_free(st->zget);
	free(st->range_prefix);
	free(st);
}

/* A record's JSON from its stored value (compressed or not), copied out of
 * LMDB's memory.  A frame that does not unpack is damage: said once here,
 * -EIO to the caller. */
static int record_out(struct store *st, const void *key, size_t klen, const MDB_val *v, char **json,
		      size_t *len)
{
	pthread_mutex_lock(&st->zget_lock);
	map_held = &st->zget_lock;
	int rc = compress_unpack(st->zget, v->mv_data, v->mv_size, json, len);
	map_held = NULL;
	pthread_mutex_unlock(&st->zget_lock);
	if (rc == -EIO)
		log_err("store: a stored record does not decompress id=%.*s bytes=%zu", (int)klen,
			(const char *)key, v->mv_size);
	if (rc == -ENOKEY) { /* lost, or a damaged frame header */
		log_err("store: a stored record does not decompress id=%.*s bytes=%zu "
			"reason=\"it names compression dictionary %u, which the database does not have\"",
			(int)klen, (const char *)key, v->mv_size, compress_dict_of(v->mv_data, v->mv_size));
		rc = -EIO;
	}
	return rc;
}

/* Begins a read on the reused read-only transaction.  Every rbegin() is
 * paired with rend() before the function returns. */
static int rbegin(struct store *st, MDB_txn **txn)
{
	int rc = mdb_txn_renew(st->rtxn);
	if (rc == 0)
		*txn = st->rtxn;
	return store_err(rc);
}

static void rend(struct store *st) { mdb_txn_reset(st->rtxn); }

static char *dupmem(const void *p, size_t n)
{
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

int store_unpack(struct store *st, const void *val, size_t len, char **json, size_t *json_len)
{
	MDB_val v = { len, (void *)val };
	return record_out(st, "(pending)", 9, &v, json, json_len);
}

int store_frame(struct store *st, const char *src, size_t len, char **out, size_t *out_len)
{
	pthread_mutex_lock(&st->zget_lock);
	int rc = compress_frame(st->zget, src, len, out, out_len);
	pthread_mutex_unlock(&st->zget_lock);
	return rc;
}

int store_get(struct store *st, const char *id, char **body, size_t *len)
{
	sigjmp_buf jb;
	if (sigsetjmp(jb, 0)) {
		rend(st);
		return map_fault(st);
	}
	MDB_txn *txn = NULL;
	int rc = rbegin(st, &txn);
	if (rc < 0)
		return rc;
	MDB_val k = { strlen(id), (void *)id }, v;
	map_jmp = &jb;
	rc = store_err(mdb_get(txn, st->records, &k, &v));
	if (rc == 0)
		/* LMDB's memory is only valid inside the transaction: copy out. */
		rc = record_out(st, id, strlen(id), &v, body, len);
	map_jmp = NULL;
	rend(st);
	return rc;
}

int store_meta_get(struct store *st, const char *key, char **val, size_t *len)
{
	sigjmp_buf jb;
	if (sigsetjmp(jb, 0)) {
		rend(st);
		return map_fault(st);
	}
	MDB_txn *txn = NULL;
	int rc = rbegin(st, &txn);
	if (rc < 0)
		return rc;
	MDB_val k = { strlen(key), (void *)key }, v;
	map_jmp = &jb;
	rc = store_err(mdb_get(txn, meta_dbi(st, key, k.mv_size), &k, &v));
	if (rc == 0) {
		if (len)
			*len = v.mv_size;
		if (val && !(*val = dupmem(v.mv_data, v.mv_size)))
			rc = -ENOMEM;
	}
	map_jmp = NULL;
	rend(st);
	return rc;
}

/* Builds "a\0b\0c" keys; returns the length or -EINVAL when too long. */
static int mkkey(char *buf, const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0, lc = c ? strlen(c) : 0;
	size_t n = la + (b ? lb + 1 : 0) + (c ? lc + 1 : 0);
	if (n > STORE_KEY_MAX)
		return -EINVAL;
	char *p = buf;
	memcpy(p, a, la), p += la;
	if (b)
		*p++ = '\0', memcpy(p, b, lb), p += lb;
	if (c)
		*p++ = '\0', memcpy(p, c, lc), p += lc;
	return (int)n;
}

void store_rows_free(struct store_rows *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].id);
		free(l->items[i].body);
	}
	free(l->items);
	free(l->next);
	memset(l, 0, sizeof *l);
}

/* Appends a copy of (id, body); `st` non-NULL: body is a stored record,
 * unpacked (compress.h). */
static int list_push(struct store *st, struct store_rows *l, size_t *cap, const char *id,
		     size_t idlen, const void *body, size_t len)
{
	if (l->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct store_item *it = realloc(l->items, nc * sizeof *it);
		if (!it)
			return -ENOMEM;
		l->items = it;
		*cap = nc;
	}
	struct store_item *it = &l->items[l->n];
	it->id = dupmem(id, idlen);
	it->body = NULL;
	int rc = -ENOMEM;
	if (st) {
		MDB_val v = { len, (void *)body };
		rc = it->id ? record_out(st, id, idlen, &v, &it->body, &it->len) : -ENOMEM;
	} else if ((it->body = dupmem(body, len))) {
		it->len = len;
		rc = 0;
	}
	if (rc == -EIO && st && it->id) {
		/* Damaged (said by record_out): listed without a body, so the
		 * reader names it and goes on to the next. */
		it->body = NULL;
		it->len = 0;
		rc = 0;
	}
	if (rc < 0 || !it->id) {
		free(it->id);
		free(it->body);
		return rc < 0 ? rc : -ENOMEM;
	}
	l->n++;
	return 0;
}

static int list_records(struct store *st, const char *kind, const char *state, const char *after,
			size_t limit, bool unpack, struct store_rows *out);

int store_list(struct store *st, const char *kind, const char *state,
	       const char *after, size_t limit, struct store_rows *out)
{
	return list_records(st, kind, state, after, limit, true, out);
}

int store_list_raw(struct store *st, const char *kind, const char *state,
		   const char *after, size_t limit, struct store_rows *out)
{
	return list_records(st, kind, state, after, limit, false, out);
}

static int list_records(struct store *st, const char *kind, const char *state, const char *after,
			size_t limit, bool unpack, struct store_rows *out)
{
	memset(out, 0, sizeof *out);
	char prefix[STORE_KEY_MAX + 1], seek[STORE_KEY_MAX * 2 + 2];
	/* volatile: live across the sigsetjmp below (the map's guard) */
	volatile int plen = 0;
	volatile MDB_dbi dbi = st->records;
	if (kind && state) {
		dbi = st->by_ks;
		plen = mkkey(prefix, kind, state, "");
	} else if (kind) {
		dbi = st->by_kind;
		plen = mkkey(prefix, kind, "", NULL);
	} else if (state) {
		dbi = st->by_state;
		plen = mkkey(prefix, state, "", NULL);
	}
	if (plen < 0)
		return plen;
	size_t alen = after ? strlen(after) : 0;
	if (alen > STORE_KEY_MAX)
		return -EINVAL;
	memcpy(seek, prefix, (size_t)plen);
	memcpy(seek + plen, after ? after : "", alen);

	MDB_txn *txn = NULL;
	int rc = rbegin(st, &txn);
	if (rc < 0)
		return rc;
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		rend(st);
		return store_err(rc);
	}
	sigjmp_buf jb;
	if (sigsetjmp(jb, 0)) {
		mdb_cursor_close(cur);
		rend(st);
		store_rows_free(out);
		return map_fault(st);
	}
	map_jmp = &jb;
	size_t cap = 0;
	MDB_val k = { (size_t)plen + alen, seek }, v;
	/* LMDB refuses a zero-length key: no prefix and no `after` is "first". */
	rc = cursor_step(cur, &k, &v, k.mv_size ? MDB_SET_RANGE : MDB_FIRST);
	/* `after` is exclusive: skip the key itself. */
	if (rc == 1 && after && k.mv_size == (size_t)plen + alen &&
	    memcmp(k.mv_data, seek, k.mv_size) == 0)
		rc = cursor_step(cur, &k, &v, MDB_NEXT);
	while (rc == 1) {
		if (k.mv_size < (size_t)plen || memcmp(k.mv_data, prefix, (size_t)plen) != 0)
			break;
		const char *id = (const char *)k.mv_data + plen;
		size_t idlen = k.mv_size - (size_t)plen;
		if (out->n == limit) {
			out->next = dupmem(out->items[out->n - 1].id, strlen(out->items[out->n - 1].id));
			break;
		}
		MDB_val body = v;
		if (dbi != st->records) {
			MDB_val rk = { idlen, (void *)id };
			int g = mdb_get(txn, st->records, &rk, &body);
			if (g != 0) {
				/* An index entry without its record (corrupt):
				 * the list ends there, as at the index's end. */
				rc = g == MDB_NOTFOUND ? 0 : store_err(g);
				break;
			}
		}
		int e = list_push(unpack ? st : NULL, out, &cap, id, idlen, body.mv_data, body.mv_size);
		if (e < 0) {
			rc = e;
			break;
		}
		rc = cursor_step(cur, &k, &v, MDB_NEXT);
	}
	map_jmp = NULL;
	mdb_cursor_close(cur);
	rend(st);
	if (rc < 0) {
		store_rows_free(out);
		return rc;
	}
	return 0;
}

int store_counts(struct store *st,
		 void (*fn)(void *ud, const char *kind, const char *state, uint64_t n),
		 void *ud)
{
	MDB_txn *txn = NULL;
	int rc = rbegin(st, &txn);
	if (rc < 0)
		return rc;
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(txn, st->counts, &cur)) != 0) {
		rend(st);
		return store_err(rc);
	}
	sigjmp_buf jb;
	if (sigsetjmp(jb, 0)) {
		mdb_cursor_close(cur);
		rend(st);
		return map_fault(st);
	}
	map_jmp = &jb;
	MDB_val k, v;
	while ((rc = cursor_step(cur, &k, &v, MDB_NEXT)) == 1) {
		char key[STORE_KEY_MAX + 1];
		uint64_t n;
		if (k.mv_size > STORE_KEY_MAX || v.mv_size != sizeof n)
			continue;
		memcpy(key, k.mv_data, k.mv_size);
		key[k.mv_size] = '\0';
		memcpy(&n, v.mv_data, sizeof n);
		const char *state = key + strlen(key) + 1;
		if (n > 0 && (size_t)(state - key) < k.mv_size)
			fn(ud, key, state, n);
	}
	map_jmp = NULL;
	mdb_cursor_close(cur);
	rend(st);
	return rc;
}

int store_count_ks(struct store *st, const char *kind, const char *state,
		   const char *const *ids, size_t nids, uint64_t *n, uint64_t *among)
{
	char key[STORE_KEY_MAX + 1];
	int kl = mkkey(key, kind, state, NULL);
	*n = *among = 0;
	if (kl < 0)
		return kl;
	MDB_txn *txn = NULL;
	int rc = rbegin(st, &txn);
	if (rc < 0)
		return rc;
	MDB_val k = { (size_t)kl, key }, v;
	rc = mdb_get(txn, st->counts, &k, &v);
	if (rc == 0 && v.mv_size == sizeof *n)
		memcpy(n, v.mv_data, sizeof *n);
	rc = rc == MDB_NOTFOUND ? 0 : store_err(rc);
	for (size_t i = 0; rc == 0 && i < nids; i++) {
		int il = mkkey(key, kind, state, ids[i]);
		if (il < 0)
			continue; /* too long to be stored: not among them */
		MDB_val ik = { (size_t)il, key };
		int g = mdb_get(txn, st->by_ks, &ik, &v);
		if (g == 0)
			(*among)++;
		else if (g != MDB_NOTFOUND)
			rc = store_err(g);
	}
	rend(st);
	return rc;
}

static void seq_key(unsigned char out[8], uint64_t seq)
{
	for (int i = 7; i >= 0; i--, seq >>= 8)
		out[i] = (unsigned char)(seq & 0xff);
}

static uint64_t seq_of(const unsigned char *p)
{
	uint64_t s = 0;
	for (int i = 0; i < 8; i++)
		s = s << 8 | p[i];
	return s;
}

/* Appends one audit row: its sequence number (decimal) as id, the entry. */
static int push_audit(struct store_rows *out, size_t *cap, const void *key8, const void *body,
		      size_t len)
{
	char num[24];
	int nl = snprintf(num, sizeof num, "%llu", (unsigned long long)seq_of(key8));
	return list_push(NULL, out, cap, num, (size_t)nl, body, len);
}

int store_audit_range(struct store *st, uint64_t from_seq, size_t limit,
		      struct store_rows *out)
{
	memset(out, 0, sizeof *out);
	MDB_txn *txn = NULL;
	int rc = rbegin(st, &txn);
	if (rc < 0)
		return rc;
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(txn, st->audit, &cur)) != 0) {
		rend(st);
		return store_err(rc);
	}
	sigjmp_buf jb;
	if (sigsetjmp(jb, 0)) {
		mdb_cursor_close(cur);
		rend(st);
		store_rows_free(out);
		return map_fault(st);
	}
	map_jmp = &jb;
	unsigned char sk[8];
	seq_key(sk, from_seq);
	MDB_val k = { 8, sk }, v;
	size_t cap = 0;
	rc = cursor_step(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 1 && out->n < limit) {
		int e = push_audit(out, &cap, k.mv_data, v.mv_data, v.mv_size);
		if (e < 0) {
			rc = e;
			break;
		}
		rc = cursor_step(cur, &k, &v, MDB_NEXT);
	}
	map_jmp = NULL;
	mdb_cursor_close(cur);
	rend(st);
	if (rc < 0) {
		store_rows_free(out);
		return rc;
	}
	return 0;
}

int store_audit_of(struct store *st, const char *id, struct store_rows *out)
{
	memset(out, 0, sizeof *out);
	char prefix[STORE_KEY_MAX + 2];
	int plen = mkkey(prefix, id, "", NULL);
	if (plen < 0)
		return plen;
	MDB_txn *txn = NULL;
	int rc = rbegin(st, &txn);
	if (rc < 0)
		return rc;
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(txn, st->audit_rec, &cur)) != 0) {
		rend(st);
		return store_err(rc);
	}
	sigjmp_buf jb;
	if (sigsetjmp(jb, 0)) {
		mdb_cursor_close(cur);
		rend(st);
		store_rows_free(out);
		return map_fault(st);
	}
	map_jmp = &jb;
	size_t cap = 0;
	MDB_val k = { (size_t)plen, prefix }, v;
	rc = cursor_step(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 1) {
		if (k.mv_size != (size_t)plen + 8 || memcmp(k.mv_data, prefix, (size_t)plen) != 0)
			break;
		MDB_val ak = { 8, (char *)k.mv_data + plen }, av;
		int g = mdb_get(txn, st->audit, &ak, &av);
		if (g != 0) {
			/* A record's entry whose audit row is missing: the
			 * history ends there. */
			rc = g == MDB_NOTFOUND ? 0 : store_err(g);
			break;
		}
		int e = push_audit(out, &cap, ak.mv_data, av.mv_data, av.mv_size);
		if (e < 0) {
			rc = e;
			break;
		}
		rc = cursor_step(cur, &k, &v, MDB_NEXT);
	}
	map_jmp = NULL;
	mdb_cursor_close(cur);
	rend(st);
	if (rc < 0) {
		store_rows_free(out);
		return rc;
	}
	return 0;
}

int store_meta_scan(struct store *st, const char *prefix, bool reverse, const char *after,
		    size_t limit, struct store_rows *out)
{
	memset(out, 0, sizeof *out);
	size_t plen = strlen(prefix);
	if (plen == 0 || plen > STORE_KEY_MAX - 1)
		return -EINVAL;
	MDB_txn *txn = NULL;
	int rc = rbegin(st, &txn);
	if (rc < 0)
		return rc;
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(txn, meta_dbi(st, prefix, plen), &cur)) != 0) {
		rend(st);
		return store_err(rc);
	}
	sigjmp_buf jb;
	if (sigsetjmp(jb, 0)) {
		mdb_cursor_close(cur);
		rend(st);
		store_rows_free(out);
		return map_fault(st);
	}
	map_jmp = &jb;
	char seek[STORE_KEY_MAX + 1];
	memcpy(seek, prefix, plen);
	MDB_val k = { plen, seek }, v;
	size_t cap = 0;
	if (reverse) {
		/* One past the prefix range, then step back. */
		seek[plen - 1]++;
		rc = cursor_step(cur, &k, &v, MDB_SET_RANGE);
		rc = cursor_step(cur, &k, &v, rc == 1 ? MDB_PREV : MDB_LAST);
		seek[plen - 1]--;
	} else {
		size_t alen = after ? strlen(after) : 0;
		if (alen > plen && alen < STORE_KEY_MAX && memcmp(after, prefix, plen) == 0) {
			memcpy(seek, after, alen);
			k.mv_size = alen;
		}
		rc = cursor_step(cur, &k, &v, MDB_SET_RANGE);
		if (rc == 1 && alen > plen && k.mv_size == alen && memcmp(k.mv_data, after, alen) == 0)
			rc = cursor_step(cur, &k, &v, MDB_NEXT);
	}
	while (rc == 1 && out->n < limit) {
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		int e = list_push(NULL, out, &cap, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
		if (e < 0) {
			map_jmp = NULL;
			mdb_cursor_close(cur);
			rend(st);
			store_rows_free(out);
			return e;
		}
		rc = cursor_step(cur, &k, &v, reverse ? MDB_PREV : MDB_NEXT);
	}
	map_jmp = NULL;
	mdb_cursor_close(cur);
	rend(st);
	if (rc < 0) {
		store_rows_free(out);
		return rc;
	}
	return 0;
}

/* Adds `delta` to the kind+state counter inside the write transaction. */
static int count_add(struct store *st, MDB_txn *txn, const char *kind, const char *state,
		     int delta)
{
	char key[STORE_KEY_MAX + 1];
	int kl = mkkey(key, kind, state, NULL);
	if (kl < 0)
		return kl;
	MDB_val k = { (size_t)kl, key }, v;
	uint64_t n = 0;
	int rc = mdb_get(txn, st->counts, &k, &v);
	if (rc == 0 && v.mv_size == sizeof n)
		memcpy(&n, v.mv_data, sizeof n);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return store_err(rc);
	n = delta < 0 && n == 0 ? 0 : n + (uint64_t)(int64_t)delta;
	v.mv_size = sizeof n;
	v.mv_data = &n;
	return store_err(mdb_put(txn, st->counts, &k, &v, 0));
}

/* Moves a record's index entries from (old_kind, old_state) to (kind,
 * state); old_kind NULL: a new record.  Entries whose key does not change
 * (the kind, when only the state does) are left alone. */
static int index_move(struct store *st, MDB_txn *txn, const char *id, const char *old_kind,
		      const char *old_state, const char *kind, const char *state)
{
	char okey[STORE_KEY_MAX + 1], nkey[STORE_KEY_MAX + 1];
	MDB_val empty = { 0, NULL };
	const char *oparts[3][3] = { { old_kind, id, NULL }, { old_state, id, NULL }, { old_kind, old_state, id } };
	const char *nparts[3][3] = { { kind, id, NULL }, { state, id, NULL }, { kind, state, id } };
	MDB_dbi dbis[3] = { st->by_kind, st->by_state, st->by_ks };
	for (int i = 0; i < 3; i++) {
		int nl = mkkey(nkey, nparts[i][0], nparts[i][1], nparts[i][2]), ol = 0, rc;
		if (nl < 0)
			return nl;
		if (old_kind) {
			if ((ol = mkkey(okey, oparts[i][0], oparts[i][1], oparts[i][2])) < 0)
				return ol;
			if (ol == nl && memcmp(okey, nkey, (size_t)nl) == 0)
				continue;
			MDB_val k = { (size_t)ol, okey };
			if ((rc = mdb_del(txn, dbis[i], &k, NULL)) != 0 && rc != MDB_NOTFOUND)
				return store_err(rc);
		}
		MDB_val k = { (size_t)nl, nkey };
		if ((rc = mdb_put(txn, dbis[i], &k, &empty, 0)) != 0)
			return store_err(rc);
	}
	int rc = old_kind ? count_add(st, txn, old_kind, old_state, -1) : 0;
	return rc < 0 ? rc : count_add(st, txn, kind, state, 1);
}

/* Writes one op in `txn`.  Returns 0 or a negative errno. */
static int apply(struct store *st, MDB_txn *txn, const struct store_op *op)
{
	MDB_val k = { op->id ? strlen(op->id) : 0, (void *)op->id };
	MDB_val v = { op->len, (void *)op->body };
	int rc;
	switch (op->op) {
	case STORE_PUT_RECORD:
		if (k.mv_size == 0 || k.mv_size > STORE_KEY_MAX)
			return -EINVAL;
		if ((!op->old_kind || strcmp(op->old_kind, op->kind) != 0 ||
		     strcmp(op->old_state, op->state) != 0) &&
		    (rc = index_move(st, txn, op->id, op->old_kind, op->old_state, op->kind, op->state)) < 0)
			return rc;
	{
		/* Compressed when it pays (compress.h); mdb_put copies the bytes. */
		char *z = NULL;
		size_t zlen;
		if ((rc = compress_pack(st->zput, op->body, op->len, &z, &zlen)) < 0)
			return rc;
		if (rc == 1)
			v = (MDB_val){ zlen, z };
		/* A new record's id is mostly the largest yet (ids count up):
		 * appending fills leaf pages instead of splitting them in
		 * half, so a deadline that rewrites every record dirties half
		 * as many pages.  LMDB refuses an append that is not the last
		 * key (MDB_KEYEXIST): then a plain put. */
		rc = op->old_kind ? MDB_KEYEXIST : mdb_put(txn, st->records, &k, &v, MDB_APPEND);
		if (rc == MDB_KEYEXIST)
			rc = mdb_put(txn, st->records, &k, &v, 0);
		free(z);
		return store_err(rc);
	}
	case STORE_PUT_META:
		return store_err(mdb_put(txn, meta_dbi(st, k.mv_data, k.mv_size), &k, &v, 0));
	case STORE_DEL_META:
		rc = mdb_del(txn, meta_dbi(st, k.mv_data, k.mv_size), &k, NULL);
		return rc == MDB_NOTFOUND ? 0 : store_err(rc);
	case STORE_PUT_DICT: {
		/* Installed once the transaction commits (store_commit): no
		 * frame names a dictionary before the dictionary is durable. */
		char key[sizeof STORE_DICT_PREFIX + 10];
		if (compress_dict_id(op->body, op->len) == 0)
			return -EINVAL;
		/* numbered in the order they came: the last one is used */
		snprintf(key, sizeof key, STORE_DICT_PREFIX "%010u", st->dict_count + 1);
		MDB_val dk = { strlen(key), key };
		return store_err(mdb_put(txn, st->meta, &dk, &v, 0));
	}
	case STORE_DROP_RANGE:
		/* Empties the table: its pages go to the free list unwritten. */
		return st->range_plen > 0 ? store_err(mdb_drop(txn, st->range, 0)) : 0;
	case STORE_PUT_AUDIT: {
		unsigned char sk[8];
		seq_key(sk, op->seq);
		MDB_val ak = { 8, sk };
		/* Sequence numbers only grow: appended, pages fill up.  A
		 * number not past the last is refused (MDB_KEYEXIST), as a
		 * duplicate was before. */
		if ((rc = mdb_put(txn, st->audit, &ak, &v, MDB_APPEND)) != 0)
			return rc == MDB_KEYEXIST ? -EEXIST : store_err(rc);
		if (op->id) {
			char key[STORE_KEY_MAX + 10];
			int kl = mkkey(key, op->id, "", NULL);
			if (kl < 0)
				return kl;
			memcpy(key + kl, sk, 8);
			MDB_val rk = { (size_t)kl + 8, key }, empty = { 0, NULL };
			return store_err(mdb_put(txn, st->audit_rec, &rk, &empty, 0));
		}
		return 0;
	}
	}
	return -EINVAL;
}

int store_commit(struct store *st, const struct store_op *ops, size_t n)
{
	if (st->fail_n > 0) {
		st->fail_n--;
		return st->fail_err;
	}
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc != 0)
		return store_err(rc);
	/* A write transaction cut short by a fault cannot be ended safely
	 * (LMDB's state in it is half changed; aborting it was seen to crash):
	 * the daemon stops, saying why, with nothing of this write
	 * acknowledged, rather than die of the signal with no word. */
	sigjmp_buf jb;
	if (sigsetjmp(jb, 0)) {
		map_fault(st);
		log_err("store: stopping: a write cannot go on on a damaged database file=%s",
			st->datapath);
		_exit(1);
	}
	map_jmp = &jb;
	for (size_t i = 0; i < n; i++)
		if ((rc = apply(st, txn, &ops[i])) < 0) {
			map_jmp = NULL;
			mdb_txn_abort(txn);
			return rc;
		}
	/* The commit fsyncs (LMDB's default): when it returns 0 the batch is
	 * on disk, and only then are its writes acknowledged. */
	rc = store_err(mdb_txn_commit(txn));
	map_jmp = NULL;
	/* LMDB reports a short write as EIO: on a filesystem with no room
	 * left that is "storage full", which the client can act on. */
	struct statvfs fs;
	if (rc == -EIO && fstatvfs(st->lock_fd, &fs) == 0 &&
	    (uint64_t)fs.f_bavail * fs.f_frsize < FULL_FS_BYTES)
		rc = -ENOSPC;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (ops[i].op != STORE_PUT_DICT)
			continue;
		int r = dict_install(st, ops[i].body, ops[i].len);
		if (r < 0) /* durable, so the next start loads it */
			log_err("store: compression dictionary written but not taken up: %s", strerror(-r));
		else
			log_info("store: compression dictionary in use id=%u bytes=%zu", compress_dict_id(ops[i].body, ops[i].len),
				 ops[i].len);
	}
	return rc;
}

bool store_dict_wanted(struct store *st)
{
	if (st->dict_id != 0 || st->dict_records == 0)
		return false;
	MDB_txn *txn = NULL;
	MDB_stat s;
	if (rbegin(st, &txn) != 0)
		return false;
	int rc = mdb_stat(txn, st->records, &s);
	rend(st);
	return rc == 0 && st->dict_records > 0 && s.ms_entries >= st->dict_records &&
	       s.ms_entries >= 2 * st->dict_tried_at;
}

unsigned store_dict_current(struct store *st, size_t *len)
{
	if (len)
		*len = st->dict_len;
	return st->dict_id;
}

int store_dict_train(struct store *st, char **dict, size_t *len, size_t *samples, const char **why)
{
	*why = NULL;
	/* A read transaction for the whole sampling: the map must not grow
	 * meanwhile (see store_grow), as for a backup. */
	store_map_hold(st, STORE_HOLD_SAMPLE);
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	int rc = store_err(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn));
	if (rc < 0) {
		store_map_release(st, STORE_HOLD_SAMPLE);
		return rc;
	}
	char *buf = NULL;
	size_t *sizes = malloc(STORE_DICT_SAMPLES * sizeof *sizes), used = 0, cap = 0, records = 0;
	unsigned n = 0;
	if (!sizes) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = store_err(mdb_cursor_open(txn, st->records, &cur))) < 0)
		goto out;
	/* The first records by id: a pack's records share their shape, so
	 * any few thousand of them show what they have in common. */
	MDB_val k, v;
	for (rc = cursor_step(cur, &k, &v, MDB_FIRST); rc == 1 && n < STORE_DICT_SAMPLES;
	     rc = cursor_step(cur, &k, &v, MDB_NEXT)) {
		char *json;
		size_t jl;
		if ((rc = record_out(st, k.mv_data, k.mv_size, &v, &json, &jl)) == -EIO)
			continue; /* damaged (said by record_out): not a sample */
		if (rc < 0)
			goto out;
		if (jl < COMPRESS_MIN) { /* stored as it is: nothing to learn from */
			free(json);
			continue;
		}
		if (used + jl > cap) {
			size_t ncap = cap ? cap * 2 : (size_t)1 << 20;
			while (ncap < used + jl)
				ncap *= 2;
			char *more = ncap <= STORE_DICT_SAMPLE_BYTES ? realloc(buf, ncap) : NULL;
			if (!more) {
				free(json);
				break; /* enough bytes: train on what there is */
			}
			buf = more;
			cap = ncap;
		}
		memcpy(buf + used, json, jl);
		used += jl;
		sizes[n++] = jl;
		free(json);
	}
	if (rc > 0) /* stopped at STORE_DICT_SAMPLES */
		rc = 0;
	MDB_stat ms;
	if (rc == 0 && mdb_stat(txn, st->records, &ms) == 0)
		records = ms.ms_entries;
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	store_map_release(st, STORE_HOLD_SAMPLE);
	if (rc == 0) {
		/* A random id: one the database had before must not come back
		 * (were a dictionary ever lost, its records must fail to
		 * unpack, not unpack with another). */
		unsigned id = 0;
		if (getrandom(&id, sizeof id, 0) != (ssize_t)sizeof id)
			id = (unsigned)time(NULL) ^ (unsigned)getpid();
		id = COMPRESS_DICT_ID_BASE + 1 + id % (0x7fffffffu - COMPRESS_DICT_ID_BASE - 1);
		if (n < STORE_DICT_MIN_SAMPLES) {
			*why = "too few records long enough to be compressed";
			rc = -EAGAIN;
		} else {
			rc = compress_train(buf, sizes, n, id, dict, len, why);
		}
		if (rc == -EAGAIN) /* try again when there are twice as many */
			st->dict_tried_at = records ? records : STORE_DICT_MIN_RECORDS;
	}
	*samples = n;
	free(buf);
	free(sizes);
	return rc;
}

void store_map_hold(struct store *st, enum store_map_holder who)
{
	pthread_rwlock_rdlock(&st->map_lock);
	if (who == STORE_HOLD_BACKUP)
		st->map_backups++;
	else
		st->map_samplers++;
}

void store_map_release(struct store *st, enum store_map_holder who)
{
	if (who == STORE_HOLD_BACKUP)
		st->map_backups--;
	else
		st->map_samplers--;
	pthread_rwlock_unlock(&st->map_lock);
}

/* Takes the map's lock exclusively: 0, LIU_EMAPBUSY as soon as a backup
 * is seen holding it, or -ETIMEDOUT after STORE_GROW_WAIT_MS of others
 * (sampling) holding it.  Waits in short steps so that a backup that
 * starts meanwhile is seen and refused rather than waited for. */
static int map_lock_excl(struct store *st)
{
	struct timespec step = { 0, 10 * 1000 * 1000 };
	bool said = false;
	for (int waited = 0;; waited += 10) {
		if (pthread_rwlock_trywrlock(&st->map_lock) == 0)
			return 0;
		if (st->map_backups > 0) {
			log_warn("store: map full while a backup runs; not grown until it ends "
				 "map=%zu", st->map_size);
			return LIU_EMAPBUSY;
		}
		if (waited >= STORE_GROW_WAIT_MS) {
			log_err("store: map full and not grown: the dictionary's sampling held it "
				"for over %d ms map=%zu", STORE_GROW_WAIT_MS, st->map_size);
			return -ETIMEDOUT;
		}
		if (!said && st->map_samplers > 0) {
			log_info("store: map full while the dictionary's sampling reads; growing "
				 "when it ends map=%zu", st->map_size);
			said = true;
		}
		nanosleep(&step, NULL);
	}
}

int store_grow(struct store *st)
{
	if (st->map_size >= st->max_map_size) {
		log_err("store: map full at its ceiling map=%zu; raise max_map_mib in liud.conf", st->map_size);
		return -ENOSPC;
	}
	int rc = map_lock_excl(st);
	if (rc < 0)
		return rc;
	size_t next = st->map_size * 2;
	if (next > st->max_map_size)
		next = st->max_map_size;
	rc = mdb_env_set_mapsize(st->env, next);
	pthread_rwlock_unlock(&st->map_lock);
	if (rc != 0)
		return store_err(rc);
	log_info("store: map grown from=%zu to=%zu", st->map_size, next);
	st->map_size = next;
	return 0;
}

void store_fail_commits(struct store *st, int n, int err)
{
	st->fail_n = n;
	st->fail_err = err;
}

void store_usage(struct store *st, uint64_t *used, uint64_t *map)
{
	MDB_envinfo info;
	MDB_stat s;
	mdb_env_info(st->env, &info);
	mdb_env_stat(st->env, &s);
	*used = (uint64_t)(info.me_last_pgno + 1) * s.ms_psize;
	*map = info.me_mapsize;
}

/* fsync()s folder `dir`, so that a rename in it lasts: 0 or a negative errno. */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* Copies the database into `fd` and makes it durable: 0 or a negative errno. */
static int copy_to(struct store *st, int fd)
{
	/* Mode 0600 whatever the umask: a backup holds every record. */
	if (fchmod(fd, 0600) < 0)
		return -errno;
	store_map_hold(st, STORE_HOLD_BACKUP);
	/* A fault leaves LMDB's copy (its writer thread, its snapshot) where
	 * it was: the database is damaged and must be restored anyway. */
	sigjmp_buf jb;
	if (sigsetjmp(jb, 0)) {
		store_map_release(st, STORE_HOLD_BACKUP);
		return map_fault(st);
	}
	map_jmp = &jb;
	int rc = store_err(mdb_env_copyfd2(st->env, fd, MDB_CP_COMPACT));
	map_jmp = NULL;
	store_map_release(st, STORE_HOLD_BACKUP);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	return rc;
}

int store_backup(struct store *st, const char *path,
		 int (*check)(const char *file, void *arg), void *arg)
{
	char tmp[4096], dst[4096];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s/" STORE_BACKUP_PARTIAL, path) >= sizeof tmp ||
	    (size_t)snprintf(dst, sizeof dst, "%s/data.mdb", path) >= sizeof dst)
		return -ENAMETOOLONG;
	/* O_EXCL: two backups into one folder must not write one file; a
	 * partial copy left by a daemon killed mid-copy is named in the
	 * error rather than silently replaced. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int rc = -errno;
		if (rc == -EEXIST)
			log_err("store: %s exists: an unfinished backup (or one running); remove it, "
				"or back up into another folder", tmp);
		return rc;
	}
	int rc = copy_to(st, fd);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && check)
		rc = check(tmp, arg);
	/* Never over a database: renameat2 refuses when data.mdb exists. */
	if (rc == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	return sync_dir(path);
}
