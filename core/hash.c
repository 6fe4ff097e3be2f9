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

/* One context per thread, kept: EVP_Digest() allocates and frees one per
 * call, which costs about as much as hashing an audit entry.  Freed when
 * the thread ends. */
static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void ctx_free(void *c) { EVP_MD_CTX_free(c); }
static void ctx_key_make(void) { pthread_key_create(&ctx_key, ctx_free); }

static EVP_MD_CTX *thread_ctx(void)
{
	pthread_once(&ctx_once, ctx_key_make);
	EVP_MD_CTX *c = pthread_getspecific(ctx_key);
	if (!c && (c = EVP_MD_CTX_new()) && pthread_setspecific(ctx_key, c) != 0) {
		EVP_MD_CTX_free(c);
		c = NULL;
	}
	return c;
}

int hash_hex(const void *p, size_t n, char out[HASH_HEX])
{
	unsigned char d[HASH_BYTES];
	unsigned len = 0;
	EVP_MD_CTX *c = md() ? thread_ctx() : NULL;
	if (!c || EVP_DigestInit_ex2(c, md(), NULL) != 1 || EVP_DigestUpdate(c, p, n) != 1 ||
	    EVP_DigestFinal_ex(c, d, &len) != 1 || len != HASH_BYTES) {
		out[0] = '\0';
		return -EIO;
	}
	hash_to_hex(d, out);
	return 0;
}
