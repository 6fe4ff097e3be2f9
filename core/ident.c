/* ident — see ident.h. */
#include "ident.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "hash.h"

/* NFKC, case folded (libunistring folds and normalises in one pass), white
 * space dropped. */
static char *fold(const char *s, size_t len, const char **err)
{
	if (u8_check((const uint8_t *)s, len)) {
		*err = "not UTF-8";
		return NULL;
	}
	size_t n = 0;
	uint8_t *f = u8_casefold((const uint8_t *)s, len, NULL, UNINORM_NFKC, NULL, &n);
	if (!f) {
		*err = "out of memory";
		return NULL;
	}
	char *out = malloc(n + 1);
	if (!out) {
		free(f);
		*err = "out of memory";
		return NULL;
	}
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		ucs4_t uc;
		int k = u8_mbtouc(&uc, f + i, n - i);
		if (!uc_is_space(uc) && !uc_is_property_white_space(uc))
			memcpy(out + o, f + i, (size_t)k), o += (size_t)k;
		i += (size_t)k;
	}
	out[o] = '\0';
	free(f);
	return out;
}

char *ident_normalize(const char *s, size_t len, const char *how, const char **err)
{
	if (how == NULL || strcmp(how, "exact") == 0) {
		char *out = strndup(s, len);
		if (!out)
			*err = "out of memory";
		return out;
	}
	if (strcmp(how, "nfkc-space-case") == 0)
		return fold(s, len, err);
	*err = "unknown normalisation (exact or nfkc-space-case)";
	return NULL;
}

char *ident_key(const char *kind, const char *const *vals, const size_t *lens, size_t n,
		const char *how, const char **err)
{
	struct hash_ctx h;
	if (hash_init(&h) < 0) {
		*err = "no SHA-256";
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		char *v = ident_normalize(vals[i], lens[i], how, err);
		if (!v) {
			unsigned char skip[HASH_BYTES];
			hash_final(&h, skip);
			return NULL;
		}
		hash_update(&h, v, strlen(v));
		hash_update(&h, "\x1f", 1);
		free(v);
	}
	unsigned char d[HASH_BYTES];
	char hex[HASH_HEX];
	if (hash_final(&h, d) < 0) {
		*err = "no SHA-256";
		return NULL;
	}
	hash_to_hex(d, hex);
	char *key;
	if (asprintf(&key, "%s%s/%s", IDENT_PREFIX, kind, hex) < 0) {
		*err = "out of memory";
		return NULL;
	}
	return key;
}
