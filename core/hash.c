/* hash — see hash.h. */
#include "hash.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>

/* The algorithm, fetched once: fetching per call costs more than hashing
 * an audit entry. */
static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch(void) { sha256 = EVP_MD_fetch(NULL, "SHA256", NULL); }

static const EVP_MD *md(void)
{
	pthread_once(&sha256_once, fetch);
	return sha256;
}

int hash_init(struct hash_ctx *h)
{
	h->ctx = NULL;
	EVP_MD_CTX *c = md() ? EVP_MD_CTX_new() : NULL;
	if (!c || EVP_DigestInit_ex(c, md(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		return -EIO;
	}
	h->ctx = c;
	return 0;
}

void hash_update(struct hash_ctx *h, const void *p, size_t n)
{
	if (h->ctx)
		EVP_DigestUpdate(h->ctx, p, n);
}

int hash_final(struct hash_ctx *h, unsigned char out[HASH_BYTES])
{
	unsigned n = 0;
	int ok = h->ctx && EVP_DigestFinal_ex(h->ctx, out, &n) == 1 && n == HASH_BYTES;
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
	return ok ? 0 : -EIO;
}

void hash_to_hex(const unsigned char in[HASH_BYTES], char out[HASH_HEX])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < HASH_BYTES; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[HASH_HEX - 1] = '\0';
}

int hash_hex(const void *p, size_t n, char out[HASH_HEX])
{
	unsigned char d[HASH_BYTES];
	unsigned len = 0;
	if (!md() || EVP_Digest(p, n, d, &len, md(), NULL) != 1 || len != HASH_BYTES) {
		out[0] = '\0';
		return -EIO;
	}
	hash_to_hex(d, out);
	return 0;
}
