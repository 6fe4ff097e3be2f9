/* compress — see compress.h. */
#include "compress.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zdict.h>
#include <zstd.h>

/* zstd's fastest levels: a record compresses in about 10 µs to about a
 * third (level 3 gains a few percent more for twice the time). */
#define COMPRESS_LEVEL (-1)

/* A dictionary as both directions need it: digested once, since digesting
 * one costs more than packing a record with it. */
struct compress_dict {
	unsigned id;
	ZSTD_CDict *fast;  /* COMPRESS_LEVEL */
	ZSTD_CDict *ahead; /* COMPRESS_AHEAD_LEVEL, made on first use */
	ZSTD_DDict *d;
	char *bytes;
	size_t len;
};

struct compress {
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
	struct compress_dict *dicts; /* every dictionary known, in the order added */
	size_t ndicts;
	size_t use;              /* the index of the one new frames use, if ndicts > 0
				  * (an index: adding one moves the array) */
	bool using;
};

struct compress *compress_new(void)
{
	struct compress *z = calloc(1, sizeof *z);
	if (!z)
		return NULL;
	z->c = ZSTD_createCCtx();
	z->d = ZSTD_createDCtx();
	if (!z->c || !z->d ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, COMPRESS_LEVEL)) ||
	    /* the frame says how long the JSON is: one allocation to unpack */
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->c, ZSTD_c_contentSizeFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->c, ZSTD_c_checksumFlag, 1))) {
		compress_free(z);
		return NULL;
	}
	return z;
}

void compress_free(struct compress *z)
{
	if (!z)
		return;
	for (size_t i = 0; i < z->ndicts; i++) {
		ZSTD_freeCDict(z->dicts[i].fast);
		ZSTD_freeCDict(z->dicts[i].ahead);
		ZSTD_freeDDict(z->dicts[i].d);
		free(z->dicts[i].bytes);
	}
	free(z->dicts);
	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z);
}

unsigned compress_dict_id(const void *dict, size_t len)
{
	return ZDICT_getDictID(dict, len);
}

unsigned compress_dict_current(const struct compress *z)
{
	return z->using ? z->dicts[z->use].id : 0;
}

static struct compress_dict *dict_find(struct compress *z, unsigned id)
{
	for (size_t i = 0; i < z->ndicts; i++)
		if (z->dicts[i].id == id)
			return &z->dicts[i];
	return NULL;
}

int compress_dict_add(struct compress *z, const void *dict, size_t len, bool use)
{
	unsigned id = compress_dict_id(dict, len);
	if (id == 0)
		return -EINVAL;
	if (dict_find(z, id))
		return -EEXIST;
	struct compress_dict *more = realloc(z->dicts, (z->ndicts + 1) * sizeof *more);
	if (!more)
		return -ENOMEM;
	z->dicts = more;
	struct compress_dict *d = &z->dicts[z->ndicts];
	*d = (struct compress_dict){ .id = id, .len = len, .bytes = malloc(len) };
	if (d->bytes) {
		memcpy(d->bytes, dict, len);
		d->fast = ZSTD_createCDict(d->bytes, len, COMPRESS_LEVEL);
		d->d = ZSTD_createDDict(d->bytes, len);
	}
	if (!d->bytes || !d->fast || !d->d) {
		ZSTD_freeCDict(d->fast);
		ZSTD_freeDDict(d->d);
		free(d->bytes);
		return -ENOMEM;
	}
	if (use) {
		z->use = z->ndicts;
		z->using = true;
	}
	z->ndicts++;
	return 0;
}

int compress_train(const void *samples, const size_t *sizes, unsigned n, unsigned id, char **out,
	       size_t *out_len, const char **why)
{
	char *buf = malloc(COMPRESS_DICT_MAX);
	if (!buf)
		return -ENOMEM;
	/* zstd's default trainer (fastCover) picks the content; finalizing it
	 * again gives the dictionary our id instead of a random one, and
	 * tunes its statistics to the level records are packed at. */
	size_t n1 = ZDICT_trainFromBuffer(buf, COMPRESS_DICT_MAX, samples, sizes, n);
	size_t n2 = n1;
	if (!ZDICT_isError(n1)) {
		size_t head = ZDICT_getDictHeaderSize(buf, n1);
		ZDICT_params_t p = { .compressionLevel = COMPRESS_LEVEL, .dictID = id };
		n2 = ZDICT_isError(head) ? head
					 : ZDICT_finalizeDictionary(buf, COMPRESS_DICT_MAX, buf + head, n1 - head,
								    samples, sizes, n, p);
	}
	if (ZDICT_isError(n2)) {
		if (why)
			*why = ZDICT_getErrorName(n2);
		free(buf);
		return -EAGAIN;
	}
	*out = buf;
	*out_len = n2;
	return 0;
}

#define SPLICED 0x01

static bool is_frame(const void *val, size_t len)
{
	static const unsigned char magic[4] = { 0x28, 0xb5, 0x2f, 0xfd }; /* ZSTD_MAGICNUMBER, LE */
	return len >= 4 && memcmp(val, magic, 4) == 0;
}

bool compress_packed(const void *val, size_t len)
{
	return is_frame(val, len) || (len >= 2 && *(const unsigned char *)val == SPLICED);
}

unsigned compress_dict_of(const void *val, size_t len)
{
	const unsigned char *v = val;
	if (len >= 2 && v[0] == SPLICED && len > 2u + v[1]) {
		len -= 2u + v[1];
		v += 2u + v[1];
	}
	return is_frame(v, len) ? ZSTD_getDictID_fromFrame(v, len) : 0;
}

int compress_frame(struct compress *z, const char *src, size_t len, char **out, size_t *out_len)
{
	size_t cap = ZSTD_compressBound(len);
	char *buf = len <= COMPRESS_MAX ? malloc(cap) : NULL;
	if (!buf)
		return -ENOMEM;
	struct compress_dict *d = z->using ? &z->dicts[z->use] : NULL;
	if (d && !d->ahead)
		d->ahead = ZSTD_createCDict(d->bytes, d->len, COMPRESS_AHEAD_LEVEL);
	size_t n = d ? ZSTD_CCtx_refCDict(z->c, d->ahead)
		     : ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, COMPRESS_AHEAD_LEVEL);
	if (d && !d->ahead)
		n = (size_t)-1; /* out of memory: ZSTD_isError() of it holds */
	if (!ZSTD_isError(n))
		n = ZSTD_compress2(z->c, buf, cap, src, len);
	ZSTD_CCtx_refCDict(z->c, NULL);
	ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, COMPRESS_LEVEL);
	if (ZSTD_isError(n)) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

char *compress_splice(const char *prefix, size_t plen, const char *frame, size_t flen, size_t *out_len)
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

int compress_pack(struct compress *z, const char *json, size_t len, char **out, size_t *out_len)
{
	if (len < COMPRESS_MIN || len > COMPRESS_MAX || json[0] != '{')
		return 0;
	size_t cap = ZSTD_compressBound(len);
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	/* refCDict only points at the digested dictionary: nothing to undo */
	size_t n = ZSTD_CCtx_refCDict(z->c, z->using ? z->dicts[z->use].fast : NULL);
	if (!ZSTD_isError(n))
		n = ZSTD_compress2(z->c, buf, cap, json, len);
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

int compress_unpack(struct compress *z, const void *val, size_t len, char **json, size_t *json_len)
{
	if (!compress_packed(val, len)) {
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
	if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR || size > COMPRESS_MAX)
		return -EIO;
	char *p = malloc(plen + (size_t)size + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, (const unsigned char *)val + 2, plen);
	unsigned id = ZSTD_getDictID_fromFrame(v, len);
	struct compress_dict *d = id ? dict_find(z, id) : NULL;
	if (id && !d) {
		free(p);
		return -ENOKEY;
	}
	size_t n = d ? ZSTD_decompress_usingDDict(z->d, p + plen, (size_t)size, v, len, d->d)
		     : ZSTD_decompressDCtx(z->d, p + plen, (size_t)size, v, len);
	if (ZSTD_isError(n) || n != size) {
		free(p);
		return -EIO;
	}
	p[plen + n] = '\0';
	*json = p;
	*json_len = plen + n;
	return 0;
}
