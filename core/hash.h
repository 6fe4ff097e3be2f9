/*
 * hash — SHA-256 for the pack version and the audit chain, from OpenSSL's
 * libcrypto (it uses the CPU's SHA extensions where there are: an audit
 * entry is sealed in under a microsecond).  The only module that includes
 * <openssl/...>.
 */
#ifndef LIU_HASH_H
#define LIU_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_BYTES 32
#define HASH_HEX (HASH_BYTES * 2 + 1)

/* Streaming state: hash_init() allocates it, hash_final() frees it (call
 * it on every path after a successful init). */
struct hash_ctx {
	void *ctx;
};

/* Returns 0, or -EIO when the library cannot be initialised. */
int hash_init(struct hash_ctx *h);
void hash_update(struct hash_ctx *h, const void *p, size_t n);
/* Returns 0, or -EIO (then *out is not a digest). */
int hash_final(struct hash_ctx *h, unsigned char out[HASH_BYTES]);
/* One-shot, to lowercase hex (HASH_HEX bytes with the NUL).  Returns 0, or
 * -EIO with out empty. */
int hash_hex(const void *p, size_t n, char out[HASH_HEX]);
void hash_to_hex(const unsigned char in[HASH_BYTES], char out[HASH_HEX]);

#endif
