/* Unit tests of compress: records round-trip through their stored form; short
 * and incompressible values stay as they are; a damaged or lying frame is
 * refused, never trusted; a dictionary trained on records packs them
 * smaller, and frames name it: a context without it refuses them, frames
 * from before it still read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "compress.h"
#include "tap.h"

/* A record like the pack's: a statement of many similar entries. */
static char *record(size_t entries)
{
	size_t cap = 64 + entries * 64, n = 0;
	char *s = malloc(cap);
	n += (size_t)snprintf(s + n, cap - n, "{\"id\":\"LIU-000001\",\"controls\":[");
	for (size_t i = 0; i < entries; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s{\"id\":\"5.%zu.%zu.B\",\"status\":\"yes\"}",
				      i ? "," : "", i / 10, i % 10);
	snprintf(s + n, cap - n, "]}");
	return s;
}

/* Records that differ as real ones do: their id, a name, some statuses. */
static char *varied(unsigned seq)
{
	size_t cap = 64 + 261 * 64, n = 0;
	char *s = malloc(cap);
	n += (size_t)snprintf(s + n, cap - n, "{\"id\":\"LIU-%06u\",\"name\":\"service %u\",\"controls\":[",
			      seq, seq * 7919 % 1000);
	for (size_t i = 0; i < 261; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s{\"id\":\"5.%zu.%zu.B\",\"status\":\"%s\"}",
				      i ? "," : "", i / 10, i % 10,
				      (seq * 31 + i * 17) % 23 == 0 ? "no" : "yes");
	snprintf(s + n, cap - n, "]}");
	return s;
}

static void dictionaries(void)
{
	/* 300 samples, concatenated as zstd's trainer wants them. */
	unsigned n = 300;
	size_t sizes[300], total = 0;
	char *all = malloc((size_t)n * 64 * 270);
	for (unsigned i = 0; i < n; i++) {
		char *r = varied(i);
		sizes[i] = strlen(r);
		memcpy(all + total, r, sizes[i]);
		total += sizes[i];
		free(r);
	}
	char *dict = NULL;
	size_t dlen = 0;
	const char *why = NULL;
	is_int(compress_train(all, sizes, n, COMPRESS_DICT_ID_BASE + 1, &dict, &dlen, &why), 0,
	       "a dictionary is trained on 300 records");
	ok(dlen > 0 && dlen <= COMPRESS_DICT_MAX, "of at most COMPRESS_DICT_MAX bytes");
	is_int(compress_dict_id(dict, dlen), COMPRESS_DICT_ID_BASE + 1, "carrying the id asked for");
	is_int(compress_dict_id("{\"a\":1}", 7), 0, "JSON is not a dictionary");
	is_int(compress_train(all, sizes, 3, COMPRESS_DICT_ID_BASE + 2, &(char *){ NULL }, &(size_t){ 0 }, &why),
	       -EAGAIN, "three samples make none");
	ok(why && *why, "and zstd says why");

	struct compress *with = compress_new(), *without = compress_new();
	char *json = varied(1000), *plain = NULL, *packed = NULL, *back = NULL;
	size_t len = strlen(json), plen = 0, dplen = 0, blen = 0;
	is_int(compress_pack(without, json, len, &plain, &plen), 1, "without a dictionary: packed");
	/* A frame from before the dictionary, to read after it came. */
	is_int(compress_dict_current(with), 0, "a new context uses none");
	is_int(compress_dict_add(with, dict, dlen, true), 0, "the dictionary is added and used");
	is_int(compress_dict_add(with, dict, dlen, true), -EEXIST, "a second time: refused");
	is_int(compress_dict_add(with, "{}", 2, false), -EINVAL, "a non-dictionary: refused");
	is_int(compress_dict_current(with), COMPRESS_DICT_ID_BASE + 1, "new frames name it");
	is_int(compress_pack(with, json, len, &packed, &dplen), 1, "with it: packed");
	ok(dplen < plen * 3 / 4, "into fewer bytes than without");
	tap_diag("record %zu bytes: packed %zu alone, %zu with a %zu-byte dictionary", len, plen, dplen, dlen);
	is_int(compress_dict_of(packed, dplen), COMPRESS_DICT_ID_BASE + 1, "the stored form names it");
	is_int(compress_dict_of(plain, plen), 0, "one from before names none");
	is_int(compress_dict_of(json, len), 0, "nor does JSON");
	is_int(compress_unpack(with, packed, dplen, &back, &blen), 0, "it unpacks with the dictionary");
	ok(blen == len && memcmp(back, json, len) == 0, "to the same bytes");
	free(back);
	is_int(compress_unpack(without, packed, dplen, &back, &blen), -ENOKEY,
	       "a context that lacks the dictionary refuses the frame");
	is_int(compress_unpack(with, plain, plen, &back, &blen), 0, "a frame from before the dictionary still unpacks");
	ok(blen == len && memcmp(back, json, len) == 0, "to the same bytes");
	free(back);

	/* Frames built ahead (level COMPRESS_AHEAD_LEVEL) use it too, and splice. */
	char *frame = NULL, *sp = NULL;
	size_t flen = 0, splen = 0;
	is_int(compress_frame(with, json + 1, len - 1, &frame, &flen), 0, "a frame built ahead");
	is_int(ZSTD_getDictID_fromFrame(frame, flen), COMPRESS_DICT_ID_BASE + 1, "names the dictionary");
	sp = compress_splice("{", 1, frame, flen, &splen);
	is_int(compress_dict_of(sp, splen), COMPRESS_DICT_ID_BASE + 1, "a spliced form names it too");
	is_int(compress_unpack(with, sp, splen, &back, &blen), 0, "spliced, it unpacks");
	ok(blen == len && memcmp(back, json, len) == 0, "to the record");
	free(back);

	/* A second dictionary: new frames use it, the first still reads. */
	char *dict2 = NULL;
	size_t dlen2 = 0;
	is_int(compress_train(all, sizes, n, COMPRESS_DICT_ID_BASE + 2, &dict2, &dlen2, NULL), 0, "a second dictionary");
	is_int(compress_dict_add(with, dict2, dlen2, true), 0, "added and used");
	char *packed2 = NULL;
	size_t plen2 = 0;
	is_int(compress_pack(with, json, len, &packed2, &plen2), 1, "packed with the second");
	is_int(compress_unpack(with, packed2, plen2, &back, &blen), 0, "unpacks");
	free(back);
	is_int(compress_unpack(with, packed, dplen, &back, &blen), 0, "a frame of the first still unpacks");
	ok(blen == len && memcmp(back, json, len) == 0, "to the same bytes");
	free(back);
	free(packed2);
	free(dict2);
	free(sp);
	free(frame);
	free(packed);
	free(plain);
	free(json);
	free(dict);
	free(all);
	compress_free(with);
	compress_free(without);
}

int main(void)
{
	struct compress *z = compress_new();
	ok(z != NULL, "a context");
	char *json = record(261), *packed = NULL, *back = NULL;
	size_t len = strlen(json), plen = 0, blen = 0;
	is_int(compress_pack(z, json, len, &packed, &plen), 1, "a 261-entry record is compressed");
	ok(plen < len / 3, "to under a third of its bytes");
	ok(compress_packed(packed, plen), "the stored form is recognised as a frame");
	ok(!compress_packed(json, len), "JSON is not");
	is_int(compress_unpack(z, packed, plen, &back, &blen), 0, "the frame unpacks");
	ok(blen == len && memcmp(back, json, len) == 0 && back[blen] == '\0',
	   "to the same bytes, NUL-terminated");
	free(back);

	/* Stored JSON as it is (records written before compression). */
	is_int(compress_unpack(z, json, len, &back, &blen), 0, "plain JSON unpacks");
	ok(blen == len && memcmp(back, json, len) == 0, "as a copy of itself");
	free(back);

	char *none = NULL;
	size_t nlen = 0;
	is_int(compress_pack(z, "{\"a\":1}", 7, &none, &nlen), 0, "a short record is kept as it is");
	/* Incompressible: every byte different. */
	char noise[4096];
	noise[0] = '{';
	unsigned x = 12345;
	for (size_t i = 1; i < sizeof noise; i++) {
		x = x * 1103515245 + 12345;
		noise[i] = (char)(' ' + (x >> 16) % 90);
	}
	is_int(compress_pack(z, noise, sizeof noise, &none, &nlen), 0, "a record that does not shrink is kept");

	/* Damage: a flipped byte in the middle, a cut frame. */
	char *bad = malloc(plen);
	memcpy(bad, packed, plen);
	bad[plen / 2] ^= 0x5a;
	is_int(compress_unpack(z, bad, plen, &back, &blen), -EIO, "a damaged frame is refused (checksum)");
	is_int(compress_unpack(z, packed, plen / 2, &back, &blen), -EIO, "a cut frame is refused");
	/* A frame that claims to expand past COMPRESS_MAX is refused before any
	 * allocation: a 5-byte header saying 2^40 bytes. */
	unsigned char lie[] = { 0x28, 0xb5, 0x2f, 0xfd, 0xc0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	is_int(compress_unpack(z, lie, sizeof lie, &back, &blen), -EIO, "a frame claiming 1 TiB is refused");
	free(bad);

	/* Spliced: a JSON prefix, then a frame of the rest (what staged
	 * enforcement writes: the stamp in front of the compressed members). */
	const char *members = "\"id\":\"LIU-000001\",\"state\":\"lapsed\"}";
	char *frame = NULL, *sp = NULL;
	size_t flen = 0, splen = 0;
	is_int(compress_frame(z, members, strlen(members), &frame, &flen), 0, "a frame of any size");
	const char *prefix = "{\"updated_at\":\"2025-04-01T00:00:01+09:00\",";
	sp = compress_splice(prefix, strlen(prefix), frame, flen, &splen);
	ok(sp != NULL && compress_packed(sp, splen), "a spliced form, recognised as compressed");
	is_int(compress_unpack(z, sp, splen, &back, &blen), 0, "it unpacks");
	is_str(back, "{\"updated_at\":\"2025-04-01T00:00:01+09:00\",\"id\":\"LIU-000001\",\"state\":\"lapsed\"}",
	       "to the prefix followed by the frame's content");
	free(back);
	ok(compress_splice(prefix, strlen(prefix), members, strlen(members), &splen) == NULL,
	   "only a frame can be spliced");
	is_int(compress_unpack(z, sp, 2 + strlen(prefix) + 3, &back, &blen), -EIO, "a spliced form cut short is refused");
	sp[1] = (char)250; /* a prefix length that runs past the frame */
	is_int(compress_unpack(z, sp, 2 + strlen(prefix) + flen, &back, &blen), -EIO,
	       "a spliced form whose prefix length lies is refused");
	free(sp);
	free(frame);
	free(packed);
	free(json);
	compress_free(z);
	compress_free(NULL);
	dictionaries();
	return tap_done();
}
