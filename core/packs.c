/* packs — see packs.h. */
#include "packs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"

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
	struct store_list l;
	if (store_meta_scan(st, HIST_PREFIX, true, NULL, limit, &l) < 0)
		return out;
	for (size_t i = 0; i < l.n; i++) {
		json_t *e = json_loadb(l.items[i].body, l.items[i].len, 0, NULL);
		if (e)
			json_array_append_new(out, e);
	}
	store_list_free(&l);
	return out;
}

int packs_find(struct store *st, const char *prefix, char **version)
{
	size_t n = strlen(prefix);
	if (n < 8 || n > 64 || strspn(prefix, "0123456789abcdef") != n)
		return -EINVAL;
	char key[96];
	snprintf(key, sizeof key, PACK_PREFIX "%s", prefix);
	struct store_list l;
	int rc = store_meta_scan(st, key, false, NULL, 2, &l);
	if (rc < 0)
		return rc;
	if (l.n == 0)
		rc = -ENOENT;
	else if (l.n > 1)
		rc = -EINVAL;
	else
		*version = strdup(l.items[0].id + strlen(PACK_PREFIX));
	store_list_free(&l);
	return rc;
}

static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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

/* mkdir -p of the folders leading to `path` (a file). */
static int parents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
		*p = '/';
		if (rc < 0)
			return rc;
	}
	return 0;
}

int packs_materialize(struct store *st, const char *root, const char *version, char **dir)
{
	char key[96], *v;
	size_t len;
	snprintf(key, sizeof key, PACK_PREFIX "%s", version);
	int rc = store_meta_get(st, key, &v, &len);
	if (rc < 0)
		return rc;
	json_t *pack = json_loadb(v, len, 0, NULL);
	free(v);
	if (!pack)
		return -EIO;
	const char *name = json_string_value(json_object_get(pack, "name"));
	char *base = NULL;
	if (asprintf(&base, "%s/%s/%s", root, version, name ? name : "pack") < 0) {
		json_decref(pack);
		return -ENOMEM;
	}
	const char *rel;
	json_t *f;
	json_object_foreach(json_object_get(pack, "files"), rel, f) {
		if (rel[0] == '/' || strstr(rel, "..")) {
			rc = -EINVAL; /* never write outside the folder */
			break;
		}
		char path[8192];
		snprintf(path, sizeof path, "%s/%s", base, rel);
		if ((rc = parents(path)) < 0)
			break;
		json_t *text = json_object_get(f, "text");
		if (text) {
			rc = write_file(path, json_string_value(text), json_string_length(text));
		} else {
			const char *hex = json_string_value(json_object_get(f, "hex"));
			size_t n = hex ? strlen(hex) / 2 : 0;
			char *bin = malloc(n + 1);
			for (size_t i = 0; bin && i < n; i++)
				sscanf(hex + 2 * i, "%2hhx", (unsigned char *)&bin[i]);
			rc = bin ? write_file(path, bin, n) : -ENOMEM;
			free(bin);
		}
		if (rc < 0)
			break;
	}
	json_decref(pack);
	if (rc < 0) {
		free(base);
		return rc;
	}
	*dir = base;
	return 0;
}

int packs_activation(struct store *st, const char *version, const char *name,
		     json_t *contents, const char *by, const char *how, const char *dir,
		     const char *folder_version, char *kv[9])
{
	memset(kv, 0, 9 * sizeof *kv);
	/* The next history number: after the newest one kept. */
	uint64_t seq = 1;
	json_t *last = packs_history(st, 1);
	json_t *e = json_array_get(last, 0);
	if (e)
		seq = (uint64_t)json_integer_value(json_object_get(e, "seq")) + 1;
	json_decref(last);

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
	/* The files, once per version. */
	char key[96], *v;
	snprintf(key, sizeof key, PACK_PREFIX "%s", version);
	if (store_meta_get(st, key, &v, NULL) == 0) {
		free(v);
	} else {
		json_t *pack = json_pack("{s:s, s:s, s:O}", "version", version, "name", name,
					 "files", contents);
		kv[4] = strdup(key);
		kv[5] = json_dumps(pack, JSON_COMPACT);
		json_decref(pack);
		if (!kv[4] || !kv[5])
			goto out;
	}
	rc = 0;
out:
	json_decref(entry);
	json_decref(active);
	if (rc < 0)
		packs_kv_free(kv);
	return rc;
}

void packs_kv_free(char *kv[9])
{
	for (int i = 0; i < 9; i++) {
		free(kv[i]);
		kv[i] = NULL;
	}
}
