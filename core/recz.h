/*
 * recz — the stored form of a record: its JSON, compressed with zstd when
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
 */
#ifndef LIU_RECZ_H
#define LIU_RECZ_H

#include <stdbool.h>
#include <stddef.h>

/* Values shorter than this are kept as they are. */
#define RECZ_MIN 512
/* The most a frame may expand to (a damaged or hostile frame must not make
 * the daemon allocate without bound). */
#define RECZ_MAX ((size_t)64 << 20)

struct recz;

/* NULL when out of memory.  recz_free(NULL) does nothing. */
struct recz *recz_new(void);
void recz_free(struct recz *z);

/* Whether stored value `val` is compressed (a frame or spliced). */
bool recz_packed(const void *val, size_t len);

/* The stored form of `json`: returns 1 with *out (malloc'd, caller frees)
 * when compressing pays, 0 when the value is to be stored as it is, or a
 * negative errno. */
int recz_pack(struct recz *z, const char *json, size_t len, char **out, size_t *out_len);

/* A frame of `src`, compressed whatever its size: 0 with *out (malloc'd),
 * or a negative errno.  For values built ahead of their write (staging has
 * time): a slower level that packs a record of the real pack into a third
 * of an LMDB page, where the default level needs half of one. */
#define RECZ_AHEAD_LEVEL 6
int recz_frame(struct recz *z, const char *src, size_t len, char **out, size_t *out_len);

/* The spliced stored form of JSON `prefix` (at most 255 bytes) followed by
 * the content of `frame`: returns it malloc'd with its length, or NULL. */
char *recz_splice(const char *prefix, size_t plen, const char *frame, size_t flen, size_t *out_len);

/* The JSON of stored value `val`, NUL-terminated (malloc'd, caller frees):
 * 0, -EIO when a frame is damaged (or claims more than RECZ_MAX), -ENOMEM. */
int recz_unpack(struct recz *z, const void *val, size_t len, char **json, size_t *json_len);

#endif
