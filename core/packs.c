/* packs — see packs.h. */
#include "packs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "ledger.h"

#define HIST_PREFIX "rules_hist/"
#define PACK_PREFIX "pack/"

int packs_active(struct store *st, json_t **out)
{
	char *v;
	size_t len;
	int rc = store_meta_get(st, PACKS_ACTIVE_KEY, &v, &len);
	if (rc < 0)
		return rc;
	*out = json_loadb(v, len, 0, NULL);
	free(v);
	return *out ? 0 : -EIO;
}

json_t *packs_history(struct store *st, size_t limit)
{
	json_t *out = json_array();
	struct store_rows l;
	if (store_meta_scan(st, HIST_PREFIX, true, NULL, limit, &l) < 0)
		return out;
	for (size_t i = 0; i < l.n; i++) {
		json_t *e = json_loadb(l.items[i].body, l.items[i].len, 0, NULL);
		const char *v = json_string_value(json_object_get(e, "version"));
		if (!e)
			continue;
		char key[96];
		snprintf(key, sizeof key, PACK_PREFIX "%.64s", v ? v : "");
		/* whether a rollback to it is still possible */
		json_object_set_new(e, "kept", json_boolean(v && store_meta_get(st, key, NULL, NULL) == 0));
		json_array_append_new(out, e);
	}
	store_rows_free(&l);
	return out;
}

int packs_find(struct store *st, const char *prefix, char **version)
{
	size_t n = strlen(prefix);
	if (n < 8 || n > 64 || strspn(prefix, "0123456789abcdef") != n)
		return -EINVAL;
	char key[96];
	snprintf(key, sizeof key, PACK_PREFIX "%s", prefix);
	struct store_rows l;
	int rc = store_meta_scan(st, key, false, NULL, 2, &l);
	if (rc < 0)
		return rc;
	if (l.n == 0)
		rc = -ENOENT;
	else if (l.n > 1)
		rc = -EINVAL;
	else
		*version = strdup(l.items[0].id + strlen(PACK_PREFIX));
	store_rows_free(&l);
	return rc;
}

/* A pack name as pack{} allows it: it names a folder, never a path. */
static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 63 || s[0] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* One component of a file's path inside a pack: no "", ".", ".." or "/". */
static bool component_ok(const char *s, size_t n)
{
	if (n == 0 || n > 255 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	return memchr(s, '\0', n) == NULL;
}

/* Creates the file `name` in the folder `dirfd`: it must not exist before,
 * and a link in its place is not followed. */
static int write_at(int dirfd, const char *name, const char *data, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		off += (size_t)w;
	}
	return close(fd) < 0 ? -errno : 0;
}

/* Makes (or, for the folders a file path shares with another, opens) the
 * folder `name` in `dirfd`, never through a link.  Returns its descriptor
 * or a negative errno. */
static int subdir_at(int dirfd, const char *name)
{
	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Writes one file of the pack at `rel` under the folder `base`. */
static int write_rel(int base, const char *rel, const char *data, size_t len)
{
	int dfd = dup(base);
	if (dfd < 0)
		return -errno;
	int rc = 0;
	const char *p = rel;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		char comp[256];
		if (!component_ok(p, n)) {
			rc = -EINVAL; /* never write outside the folder */
			break;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (!slash) {
			rc = write_at(dfd, comp, data, len);
			break;
		}
		int sub = subdir_at(dfd, comp);
		close(dfd);
		if (sub < 0)
			return sub;
		dfd = sub;
		p = slash + 1;
	}
	close(dfd);
	return rc;
}

/* The bytes of a stored file ({text} or {hex}); caller frees. */
static char *file_bytes(json_t *f, size_t *n)
{
	json_t *text = json_object_get(f, "text");
	if (text) {
		*n = json_string_length(text);
		char *b = malloc(*n + 1);
		if (b)
			memcpy(b, json_string_value(text), *n);
		return b;
	}
	const char *hex = json_string_value(json_object_get(f, "hex"));
	*n = hex ? strlen(hex) / 2 : 0;
	char *bin = malloc(*n + 1);
	for (size_t i = 0; bin && i < *n; i++)
		sscanf(hex + 2 * i, "%2hhx", (unsigned char *)&bin[i]);
	return bin;
}

/*
 * A kept version is written to a folder of its own that did not exist
 * before (<root>/<version>.<n>/<name>/), every folder and file created
 * relative to its parent's descriptor, never through a link, each file new
 * (O_EXCL): whatever the store holds, nothing outside that folder is
 * written, and nothing already there is overwritten.
 */
int packs_materialize(struct store *st, const char *root, const char *version, char **dir)
{
	char key[96], *v;
	size_t len;
	if (strspn(version, "0123456789abcdef") != strlen(version) || strlen(version) > 64)
		return -EINVAL;
	snprintf(key, sizeof key, PACK_PREFIX "%s", version);
	int rc = store_meta_get(st, key, &v, &len);
	if (rc < 0)
		return rc;
	json_t *pack = json_loadb(v, len, 0, NULL);
	free(v);
	if (!pack)
		return -EIO;
	const char *name = json_string_value(json_object_get(pack, "name"));
	if (!name_ok(name))
		name = "pack"; /* a version kept before names were checked */
	int rootfd = -1, verfd = -1, base = -1;
	char vdir[96];
	if (mkdir(root, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		goto out;
	}
	if ((rootfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = -errno;
		goto out;
	}
	for (unsigned n = 1;; n++) {
		snprintf(vdir, sizeof vdir, "%s.%u", version, n);
		if (mkdirat(rootfd, vdir, 0700) == 0)
			break;
		if (errno != EEXIST || n == 10000) {
			rc = -errno;
			goto out;
		}
	}
	if ((verfd = openat(rootfd, vdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    (base = subdir_at(verfd, name)) < 0) {
		rc = verfd < 0 ? -errno : base;
		goto out;
	}
	const char *rel;
	json_t *f;
	json_object_foreach(json_object_get(pack, "files"), rel, f) {
		size_t n;
		char *bytes = file_bytes(f, &n);
		rc = bytes ? write_rel(base, rel, bytes, n) : -ENOMEM;
		free(bytes);
		if (rc < 0)
			goto out;
	}
	if (asprintf(dir, "%s/%s/%s", root, vdir, name) < 0)
		rc = -ENOMEM;
out:
	if (base >= 0)
		close(base);
	if (verfd >= 0)
		close(verfd);
	if (rootfd >= 0)
		close(rootfd);
	json_decref(pack);
	return rc;
}

/*
 * Retention: the files of the `keep` versions activated last (counting
 * `version`, about to be, as the newest) stay; every older version still
 * held is deleted in the same write as the activation.  The live version and
 * the one before it (a rollback's usual target) are the first two, so
 * `keep` >= 2 never drops them.  Appends key, LEDGER_META_DELETE pairs to
 * kv from *n on; returns how many versions go, or -ENOMEM.
 */
static int retention(json_t *hist, const char *version, int keep, char **kv, size_t *n, size_t cap)
{
	json_t *seen = json_object(), *e;
	size_t i;
	int dropped = 0;
	json_object_set_new(seen, version, json_true());
	json_array_foreach(hist, i, e) {
		const char *v = json_string_value(json_object_get(e, "version"));
		if (!v || json_object_get(seen, v))
			continue;
		json_object_set_new(seen, v, json_true());
		if ((int)json_object_size(seen) <= keep || !json_is_true(json_object_get(e, "kept")))
			continue;
		if (*n + 2 >= cap || asprintf(&kv[*n], PACK_PREFIX "%s", v) < 0) {
			dropped = -ENOMEM;
			break;
		}
		kv[*n + 1] = (char *)LEDGER_META_DELETE;
		*n += 2;
		dropped++;
		json_object_set_new(e, "kept", json_false()); /* listed once */
	}
	json_decref(seen);
	return dropped;
}

bool packs_stored(struct store *st, const char *version)
{
	char key[96];
	snprintf(key, sizeof key, PACK_PREFIX "%s", version);
	return store_meta_get(st, key, NULL, NULL) == 0;
}

char *packs_encode(const char *version, const char *name, json_t *contents)
{
	json_t *pack = json_pack("{s:s, s:s, s:O}", "version", version, "name", name, "files", contents);
	char *s = pack ? json_dumps(pack, JSON_COMPACT) : NULL;
	json_decref(pack);
	return s;
}

int packs_activation(struct store *st, const char *version, const char *name,
		     json_t *contents, char *encoded, const char *by, const char *how,
		     const char *dir, const char *folder_version, int keep, char ***kvp,
		     int *dropped, char **files_key, char **files_text)
{
	*files_key = *files_text = NULL;
	/* At most: history, active, files, and a deletion per past activation. */
	json_t *hist = packs_history(st, SIZE_MAX);
	size_t cap = 8 + 2 * json_array_size(hist);
	char **kv = calloc(cap, sizeof *kv);
	*kvp = kv;
	*dropped = 0;
	if (!kv) {
		json_decref(hist);
		free(encoded);
		return -ENOMEM;
	}
	/* The next history number: after the newest one kept. */
	uint64_t seq = 1;
	json_t *e = json_array_get(hist, 0);
	if (e)
		seq = (uint64_t)json_integer_value(json_object_get(e, "seq")) + 1;

	char now[CLOCK_ISO_MAX];
	clock_format(clock_now(), now);
	json_t *files = json_array();
	const char *path;
	json_t *f;
	json_object_foreach(contents, path, f)
		json_array_append_new(files, json_string(path));
	json_t *entry = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s?, s:o}", "seq", (json_int_t)seq,
				  "version", version, "name", name, "activated_at", now, "by", by,
				  "how", how, "dir", dir, "files", files);
	json_t *active = json_deep_copy(entry);
	json_object_set_new(active, "folder_version", json_string(folder_version));
	int rc = -ENOMEM;
	if (asprintf(&kv[0], HIST_PREFIX "%012" PRIu64, seq) < 0)
		goto out;
	kv[1] = json_dumps(entry, JSON_COMPACT);
	kv[2] = strdup(PACKS_ACTIVE_KEY);
	kv[3] = json_dumps(active, JSON_COMPACT);
	if (!kv[1] || !kv[2] || !kv[3])
		goto out;
	size_t n = 4;
	/* The files, once per version. */
	char key[96];
	snprintf(key, sizeof key, PACK_PREFIX "%s", version);
	if (store_meta_get(st, key, NULL, NULL) != 0) {
		*files_key = strdup(key);
		*files_text = encoded ? encoded : packs_encode(version, name, contents);
		encoded = NULL;
		if (!*files_key || !*files_text)
			goto out;
	}
	int d = retention(hist, version, keep, kv, &n, cap);
	if (d < 0)
		goto out;
	*dropped = d;
	rc = 0;
out:
	free(encoded);
	json_decref(hist);
	json_decref(entry);
	json_decref(active);
	if (rc < 0) {
		packs_kv_free(kv);
		*kvp = NULL;
		free(*files_key);
		free(*files_text);
		*files_key = *files_text = NULL;
	}
	return rc;
}

void packs_kv_free(char **kv)
{
	for (size_t i = 0; kv && kv[i]; i++)
		if (kv[i] != LEDGER_META_DELETE)
			free(kv[i]);
	free(kv);
}

/* Removes `name` in `dirfd` and, for a folder, all it holds; links are
 * removed, never followed. */
static int remove_at(int dirfd, const char *name, int depth)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if ((errno != EISDIR && errno != EPERM) || depth > 64)
		return -errno;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			rc = remove_at(fd, de->d_name, depth + 1);
	closedir(d);
	if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		rc = -errno;
	return rc;
}

int packs_prune(const char *root, const char *keep_dir)
{
	/* The entry of root that keep_dir lies in, if it does. */
	size_t rl = strlen(root), kl = 0;
	const char *keep = NULL;
	if (keep_dir && strncmp(keep_dir, root, rl) == 0 && keep_dir[rl] == '/') {
		keep = keep_dir + rl + 1;
		kl = strcspn(keep, "/");
	}
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
		return errno == ENOENT ? 0 : -errno;
	DIR *d = fdopendir(rootfd);
	if (!d) {
		close(rootfd);
		return -errno;
	}
	int rc = 0, n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 ||
		    (keep && strlen(nm) == kl && strncmp(nm, keep, kl) == 0))
			continue;
		int r = remove_at(dirfd(d), nm, 0);
		if (r < 0 && rc == 0)
			rc = r;
		n += r == 0;
	}
	closedir(d);
	return rc < 0 ? rc : n;
}
