/*
 * hash — SHA-256 for the pack version and the audit chain, from libsodium.
 * The only module that includes <sodium.h>.
 */
#ifndef LIU_HASH_H
#define LIU_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_BYTES 32
#define HASH_HEX (HASH_BYTES * 2 + 1)

/* Opaque streaming state, sized to hold libsodium's. */
struct hash_ctx {
	_Alignas(16) unsigned char opaque[128];
};

/* Returns 0, or -EIO when the library cannot be initialised. */
int hash_init(struct hash_ctx *h);
void hash_update(struct hash_ctx *h, const void *p, size_t n);
void hash_final(struct hash_ctx *h, unsigned char out[HASH_BYTES]);
/* One-shot, to lowercase hex (HASH_HEX bytes with the NUL). */
void hash_hex(const void *p, size_t n, char out[HASH_HEX]);
void hash_to_hex(const unsigned char in[HASH_BYTES], char out[HASH_HEX]);

#endif
