/* hash — see hash.h. */
#include "hash.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

_Static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(((struct hash_ctx *)0)->opaque),
	       "hash_ctx too small for libsodium's state");

int hash_init(struct hash_ctx *h)
{
	if (sodium_init() < 0)
		return -EIO;
	crypto_hash_sha256_init((crypto_hash_sha256_state *)h->opaque);
	return 0;
}

void hash_update(struct hash_ctx *h, const void *p, size_t n)
{
	crypto_hash_sha256_update((crypto_hash_sha256_state *)h->opaque, p, n);
}

void hash_final(struct hash_ctx *h, unsigned char out[HASH_BYTES])
{
	crypto_hash_sha256_final((crypto_hash_sha256_state *)h->opaque, out);
}

void hash_to_hex(const unsigned char in[HASH_BYTES], char out[HASH_HEX])
{
	sodium_bin2hex(out, HASH_HEX, in, HASH_BYTES);
}

void hash_hex(const void *p, size_t n, char out[HASH_HEX])
{
	struct hash_ctx h;
	unsigned char d[HASH_BYTES];
	hash_init(&h);
	hash_update(&h, p, n);
	hash_final(&h, d);
	hash_to_hex(d, out);
}
