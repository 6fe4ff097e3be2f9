/*
 * fuzz_common.h — what the libFuzzer harnesses of tests/fuzz/ share: finding
 * the source tree, a fast temporary folder, copying and removing trees, and
 * the check that turns a broken promise into an abort libFuzzer records, a
 * hash of the input, the widest object of a JSON value.  Header-only (each
 * harness is one program); libc, jansson and libFuzzer only.
 */
#ifndef LIU_FUZZ_COMMON_H
#define LIU_FUZZ_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

/* libFuzzer's entry points (it supplies main). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FUZZ_SRCDIR
#define FUZZ_SRCDIR "." /* set by mk/fuzz.mk to the source tree */
#endif

/* Aborts with a message: libFuzzer then saves the input as a crash. */
__attribute__((noreturn, format(printf, 1, 2), unused))
static void fuzz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	/* stderr may be /dev/null (-close_fd_mask=2): say it on stdout too. */
	fputs("FUZZ ORACLE FAILED: ", stdout);
	vfprintf(stdout, fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
	abort();
}

#define FUZZ_CHECK(cond, ...) do { if (!(cond)) fuzz_fail(__VA_ARGS__); } while (0)

/* FNV-1a of the input: what a harness derives its choices from. */
__attribute__((unused))
static uint64_t fuzz_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* The most members any object in `j` has. */
__attribute__((unused))
static size_t fuzz_widest(json_t *j)
{
	size_t w = json_is_object(j) ? json_object_size(j) : 0, i;
	const char *k;
	json_t *v;
	if (json_is_object(j))
		json_object_foreach(j, k, v) {
			size_t x = fuzz_widest(v);
			w = x > w ? x : w;
		}
	if (json_is_array(j))
		json_array_foreach(j, i, v) {
			size_t x = fuzz_widest(v);
			w = x > w ? x : w;
		}
	return w;
}

/* Whether the members `got` shares with `was` (objects) come in was's
 * order: what an action's new data keeps of the record, however it was
 * read (rules_text.h, TEXT_LAZY promises no more than that). */
__attribute__((unused))
static bool fuzz_kept_order(json_t *got, json_t *was)
{
	void *w = json_object_iter(was);
	const char *k;
	json_t *v;
	json_object_foreach(got, k, v) {
		if (!json_object_get(was, k))
			continue;
		while (w && strcmp(json_object_iter_key(w), k) != 0)
			w = json_object_iter_next(was, w);
		if (!w)
			return false;
	}
	return true;
}

/* The source tree: $FUZZ_SRCDIR, else where the harness was built from. */
__attribute__((unused))
static const char *fuzz_srcdir(void)
{
	const char *s = getenv("FUZZ_SRCDIR");
	return s && *s ? s : FUZZ_SRCDIR;
}

/* Where temporary worlds live: $FUZZ_TMPDIR, else /dev/shm (LMDB's fsync
 * costs nothing on tmpfs, which keeps a campaign fast), else $TMPDIR or /tmp. */
__attribute__((unused))
static const char *fuzz_tmpbase(void)
{
	const char *s = getenv("FUZZ_TMPDIR");
	if (s && *s)
		return s;
	if (access("/dev/shm", W_OK | X_OK) == 0)
		return "/dev/shm";
	s = getenv("TMPDIR");
	return s && *s ? s : "/tmp";
}

static int fuzz_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Removes a tree (never following links).  Returns 0 or -1. */
__attribute__((unused))
static int fuzz_rmtree(const char *path)
{
	return nftw(path, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Copies the regular files and folders of src into dst (created).
 * Returns 0 or -1. */
__attribute__((unused))
static int fuzz_copytree(const char *src, const char *dst)
{
	if (mkdir(dst, 0700) < 0 && errno != EEXIST)
		return -1;
	DIR *d = opendir(src);
	if (!d)
		return -1;
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char from[4096], to[4096];
		snprintf(from, sizeof from, "%s/%s", src, e->d_name);
		snprintf(to, sizeof to, "%s/%s", dst, e->d_name);
		struct stat sb;
		if (lstat(from, &sb) < 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			rc = fuzz_copytree(from, to);
		} else if (S_ISREG(sb.st_mode)) {
			int in = open(from, O_RDONLY | O_CLOEXEC);
			int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			char buf[65536];
			ssize_t n;
			while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
				if (write(out, buf, (size_t)n) != n) {
					rc = -1;
					break;
				}
			if (in < 0 || out < 0)
				rc = -1;
			if (in >= 0)
				close(in);
			if (out >= 0)
				close(out);
		}
	}
	closedir(d);
	return rc;
}

/* Removes the folders <base>/<prefix><pid>-* of processes that are gone. */
__attribute__((unused))
static void fuzz_clear_stale(const char *base, const char *prefix)
{
	DIR *d = opendir(base);
	if (!d)
		return;
	struct dirent *e;
	size_t pl = strlen(prefix);
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, pl) != 0)
			continue;
		char *end;
		long pid = strtol(e->d_name + pl, &end, 10);
		if (pid <= 0 || *end != '-' || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", base, e->d_name);
		fuzz_rmtree(path);
	}
	closedir(d);
}

/* An environment variable as a number, or `def`. */
__attribute__((unused))
static long fuzz_env_long(const char *name, long def)
{
	const char *s = getenv(name);
	return s && *s ? strtol(s, NULL, 10) : def;
}

#endif
