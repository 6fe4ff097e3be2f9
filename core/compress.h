/*
 * compress — the stored form of a record: its JSON, compressed with zstd when
 * that pays.
 *
 * A record of the real pack is about 5 KB of JSON (the statement of 261
 * control identifiers is most of it); compressed it is about 1.5 KB, which
 * fits in an LMDB leaf page instead of two overflow pages: a deadline that
 * rewrites 100,000 records writes a third of the bytes.  A stored value is
 * one of:
 *   - JSON as it is (it starts with '{': every record written before
 *     compression, short ones, and those that do not shrink);
 *   - one zstd frame (it starts with zstd's magic number, which no JSON
 *     text can);
 *   - spliced: byte 0x01, one byte P, P bytes of JSON text, then a zstd
 *     frame: the JSON is those P bytes followed by the frame's content.
 *     Enforcement staged ahead of a deadline compresses a record's new
 *     version without its "updated_at" (unknown until the write) and the
 *     deadline puts {"updated_at":"…", in front: no compressing then.
 * Readers tell them apart by the first byte, so databases of any of the
 * forms, or all, read the same.
 *
 * A context is used by one thread at a time (the caller's promise); it
 * keeps zstd's state between calls, which costs more to set up than to
 * compress a record.
 *
 * Dictionaries: records of one pack share most of their text (field names,
 * the control identifiers, the same statuses), which zstd cannot exploit
 * within a single 5 KB record.  A dictionary trained on the database's own
 * records (compress_train) holds that shared text once: a record then packs to
 * about two thirds of the bytes, and packs and unpacks about twice as fast.
 * A frame names its dictionary (zstd's frame header carries the id), so a
 * context knows every dictionary the database ever had (compress_dict_add) and
 * compresses new frames with the newest; frames without one read as before.
 */
#ifndef LIU_COMPRESS_H
#define LIU_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

/* Values shorter than this are kept as they are. */
#define COMPRESS_MIN 512
/* The most a frame may expand to (a damaged or hostile frame must not make
 * the daemon allocate without bound). */
#define COMPRESS_MAX ((size_t)64 << 20)

struct compress;

/* NULL when out of memory.  compress_free(NULL) does nothing. */
struct compress *compress_new(void);
void compress_free(struct compress *z);

/* Whether stored value `val` is compressed (a frame or spliced). */
bool compress_packed(const void *val, size_t len);

/* The stored form of `json`: returns 1 with *out (malloc'd, caller frees)
 * when compressing pays, 0 when the value is to be stored as it is, or a
 * negative errno. */
int compress_pack(struct compress *z, const char *json, size_t len, char **out, size_t *out_len);

/* A frame of `src`, compressed whatever its size: 0 with *out (malloc'd),
 * or a negative errno.  For values built ahead of their write (staging has
 * time): a slower level that packs a record of the real pack into a third
 * of an LMDB page, where the default level needs half of one. */
#define COMPRESS_AHEAD_LEVEL 6
int compress_frame(struct compress *z, const char *src, size_t len, char **out, size_t *out_len);

/* The spliced stored form of JSON `prefix` (at most 255 bytes) followed by
 * the content of `frame`: returns it malloc'd with its length, or NULL. */
char *compress_splice(const char *prefix, size_t plen, const char *frame, size_t flen, size_t *out_len);

/* Dictionary ids are above COMPRESS_DICT_ID_BASE and below 2^31: zstd leaves
 * the ids outside to a public registry. */
#define COMPRESS_DICT_ID_BASE 32768u
/* The most bytes of a trained dictionary. */
#define COMPRESS_DICT_MAX ((size_t)32 << 10)

/* A dictionary trained on `n` samples (concatenated in `samples`, their
 * lengths in `sizes`), with id `id`: 0 with *out (malloc'd, caller frees)
 * and *out_len; -EAGAIN when the samples do not make one (too few, too
 * alike, too small: zstd's verdict, kept in *why when not NULL, a static
 * string); -ENOMEM. */
int compress_train(const void *samples, const size_t *sizes, unsigned n, unsigned id, char **out,
	       size_t *out_len, const char **why);

/* The id a dictionary carries (0: not a zstd dictionary). */
unsigned compress_dict_id(const void *dict, size_t len);

/* Makes dictionary `dict` known to the context (copied): frames naming it
 * unpack; with `use`, new frames are compressed with it.  0, -EINVAL (not a
 * dictionary), -EEXIST (its id is known already), -ENOMEM. */
int compress_dict_add(struct compress *z, const void *dict, size_t len, bool use);

/* The dictionary stored value `val` names (0: none, or not a frame). */
unsigned compress_dict_of(const void *val, size_t len);

/* The id new frames are compressed with (0: none). */
unsigned compress_dict_current(const struct compress *z);

/* The JSON of stored value `val`, NUL-terminated (malloc'd, caller frees):
 * 0, -EIO when a frame is damaged (or claims more than COMPRESS_MAX), -ENOKEY
 * when it names a dictionary the context does not know, -ENOMEM. */
int compress_unpack(struct compress *z, const void *val, size_t len, char **json, size_t *json_len);

#endif
