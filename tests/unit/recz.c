/* Unit tests of recz: records round-trip through their stored form; short
 * and incompressible values stay as they are; a damaged or lying frame is
 * refused, never trusted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recz.h"
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

int main(void)
{
	struct recz *z = recz_new();
	ok(z != NULL, "a context");
	char *json = record(261), *packed = NULL, *back = NULL;
	size_t len = strlen(json), plen = 0, blen = 0;
	is_int(recz_pack(z, json, len, &packed, &plen), 1, "a 261-entry record is compressed");
	ok(plen < len / 3, "to under a third of its bytes");
	ok(recz_packed(packed, plen), "the stored form is recognised as a frame");
	ok(!recz_packed(json, len), "JSON is not");
	is_int(recz_unpack(z, packed, plen, &back, &blen), 0, "the frame unpacks");
	ok(blen == len && memcmp(back, json, len) == 0 && back[blen] == '\0',
	   "to the same bytes, NUL-terminated");
	free(back);

	/* Stored JSON as it is (records written before compression). */
	is_int(recz_unpack(z, json, len, &back, &blen), 0, "plain JSON unpacks");
	ok(blen == len && memcmp(back, json, len) == 0, "as a copy of itself");
	free(back);

	char *none = NULL;
	size_t nlen = 0;
	is_int(recz_pack(z, "{\"a\":1}", 7, &none, &nlen), 0, "a short record is kept as it is");
	/* Incompressible: every byte different. */
	char noise[4096];
	noise[0] = '{';
	unsigned x = 12345;
	for (size_t i = 1; i < sizeof noise; i++) {
		x = x * 1103515245 + 12345;
		noise[i] = (char)(' ' + (x >> 16) % 90);
	}
	is_int(recz_pack(z, noise, sizeof noise, &none, &nlen), 0, "a record that does not shrink is kept");

	/* Damage: a flipped byte in the middle, a cut frame. */
	char *bad = malloc(plen);
	memcpy(bad, packed, plen);
	bad[plen / 2] ^= 0x5a;
	is_int(recz_unpack(z, bad, plen, &back, &blen), -EIO, "a damaged frame is refused (checksum)");
	is_int(recz_unpack(z, packed, plen / 2, &back, &blen), -EIO, "a cut frame is refused");
	/* A frame that claims to expand past RECZ_MAX is refused before any
	 * allocation: a 5-byte header saying 2^40 bytes. */
	unsigned char lie[] = { 0x28, 0xb5, 0x2f, 0xfd, 0xc0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	is_int(recz_unpack(z, lie, sizeof lie, &back, &blen), -EIO, "a frame claiming 1 TiB is refused");
	free(bad);

	/* Spliced: a JSON prefix, then a frame of the rest (what staged
	 * enforcement writes: the stamp in front of the compressed members). */
	const char *members = "\"id\":\"LIU-000001\",\"state\":\"lapsed\"}";
	char *frame = NULL, *sp = NULL;
	size_t flen = 0, splen = 0;
	is_int(recz_frame(z, members, strlen(members), &frame, &flen), 0, "a frame of any size");
	const char *prefix = "{\"updated_at\":\"2025-04-01T00:00:01+09:00\",";
	sp = recz_splice(prefix, strlen(prefix), frame, flen, &splen);
	ok(sp != NULL && recz_packed(sp, splen), "a spliced form, recognised as compressed");
	is_int(recz_unpack(z, sp, splen, &back, &blen), 0, "it unpacks");
	is_str(back, "{\"updated_at\":\"2025-04-01T00:00:01+09:00\",\"id\":\"LIU-000001\",\"state\":\"lapsed\"}",
	       "to the prefix followed by the frame's content");
	free(back);
	ok(recz_splice(prefix, strlen(prefix), members, strlen(members), &splen) == NULL,
	   "only a frame can be spliced");
	is_int(recz_unpack(z, sp, 2 + strlen(prefix) + 3, &back, &blen), -EIO, "a spliced form cut short is refused");
	sp[1] = (char)250; /* a prefix length that runs past the frame */
	is_int(recz_unpack(z, sp, 2 + strlen(prefix) + flen, &back, &blen), -EIO,
	       "a spliced form whose prefix length lies is refused");
	free(sp);
	free(frame);
	free(packed);
	free(json);
	recz_free(z);
	recz_free(NULL);
	return tap_done();
}
