/* recz — see recz.h. */
#include "recz.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* zstd's fastest levels: a record compresses in about 10 µs to about a
 * third (level 3 gains a few percent more for twice the time). */
#define RECZ_LEVEL (-1)

struct recz {
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
};

struct recz *recz_new(void)
{
	struct recz *z = calloc(1, sizeof *z);
	if (!z)
		return NULL;
	z->c = ZSTD_createCCtx();
	z->d = ZSTD_createDCtx();
	if (!z->c || !z->d ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, RECZ_LEVEL)) ||
	    /* the frame says how long the JSON is: one allocation to unpack */
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->c, ZSTD_c_contentSizeFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->c, ZSTD_c_checksumFlag, 1))) {
		recz_free(z);
		return NULL;
	}
	return z;
}

void recz_free(struct recz *z)
{
	if (!z)
		return;
	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z);
}

#define SPLICED 0x01

static bool is_frame(const void *val, size_t len)
{
	static const unsigned char magic[4] = { 0x28, 0xb5, 0x2f, 0xfd }; /* ZSTD_MAGICNUMBER, LE */
	return len >= 4 && memcmp(val, magic, 4) == 0;
}

bool recz_packed(const void *val, size_t len)
{
	return is_frame(val, len) || (len >= 2 && *(const unsigned char *)val == SPLICED);
}

int recz_frame(struct recz *z, const char *src, size_t len, char **out, size_t *out_len)
{
	size_t cap = ZSTD_compressBound(len);
	char *buf = len <= RECZ_MAX ? malloc(cap) : NULL;
	if (!buf)
		return -ENOMEM;
	size_t n = ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, RECZ_AHEAD_LEVEL);
	if (!ZSTD_isError(n))
		n = ZSTD_compress2(z->c, buf, cap, src, len);
	ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, RECZ_LEVEL);
	if (ZSTD_isError(n)) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

char *recz_splice(const char *prefix, size_t plen, const char *frame, size_t flen, size_t *out_len)
{
	if (plen > 255 || !is_frame(frame, flen))
		return NULL;
	char *v = malloc(2 + plen + flen);
	if (!v)
		return NULL;
	v[0] = SPLICED;
	v[1] = (char)(unsigned char)plen;
	memcpy(v + 2, prefix, plen);
	memcpy(v + 2 + plen, frame, flen);
	*out_len = 2 + plen + flen;
	return v;
}

int recz_pack(struct recz *z, const char *json, size_t len, char **out, size_t *out_len)
{
	if (len < RECZ_MIN || len > RECZ_MAX || json[0] != '{')
		return 0;
	size_t cap = ZSTD_compressBound(len);
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	size_t n = ZSTD_compress2(z->c, buf, cap, json, len);
	/* Not worth it unless it saves a tenth: reading a frame costs a few
	 * microseconds. */
	if (ZSTD_isError(n) || n > len - len / 10) {
		free(buf);
		return 0;
	}
	*out = buf;
	*out_len = n;
	return 1;
}

int recz_unpack(struct recz *z, const void *val, size_t len, char **json, size_t *json_len)
{
	if (!recz_packed(val, len)) {
		char *p = malloc(len + 1);
		if (!p)
			return -ENOMEM;
		memcpy(p, val, len);
		p[len] = '\0';
		*json = p;
		*json_len = len;
		return 0;
	}
	const unsigned char *v = val;
	size_t plen = 0;
	if (v[0] == SPLICED) {
		plen = v[1];
		if (len < 2 + plen || !is_frame(v + 2 + plen, len - 2 - plen))
			return -EIO;
		v += 2 + plen;
		len -= 2 + plen;
	}
	unsigned long long size = ZSTD_getFrameContentSize(v, len);
	if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR || size > RECZ_MAX)
		return -EIO;
	char *p = malloc(plen + (size_t)size + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, (const unsigned char *)val + 2, plen);
	size_t n = ZSTD_decompressDCtx(z->d, p + plen, (size_t)size, v, len);
	if (ZSTD_isError(n) || n != size) {
		free(p);
		return -EIO;
	}
	p[plen + n] = '\0';
	*json = p;
	*json_len = plen + n;
	return 0;
}
