/* Unit tests of rules_conv's UTF-8 check: it accepts exactly what jansson's
 * json_stringn() accepts (every 1- to 4-byte sequence of chosen bytes, and
 * random texts), so that a Lua string becomes a JSON string only when it
 * is valid. */
#include <stdlib.h>
#include <string.h>

#include "rules_conv.h"
#include "tap.h"

static int agree(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	int same = (j != NULL) == conv_utf8_valid(s, n);
	json_decref(j);
	return same;
}

int main(void)
{
	/* Bytes that matter at each position: ASCII, NUL, continuation bytes at
	 * their edges, every kind of lead byte and the ones never valid. */
	static const unsigned char b[] = { 0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0,
					   0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF };
	size_t nb = sizeof b, bad = 0, tried = 0;
	char s[4];
	for (size_t i = 0; i < nb; i++)
		for (size_t j = 0; j < nb; j++)
			for (size_t k = 0; k < nb; k++)
				for (size_t l = 0; l < nb; l++) {
					s[0] = (char)b[i], s[1] = (char)b[j], s[2] = (char)b[k], s[3] = (char)b[l];
					for (size_t n = 1; n <= 4; n++, tried++)
						bad += !agree(s, n);
				}
	is_int((long long)bad, 0, "every sequence of up to 4 chosen bytes: the same verdict as jansson");
	ok(tried > 600000, "over 600,000 sequences tried");
	/* Random texts, mostly ASCII with a byte of anything now and then, at
	 * every offset from an 8-byte boundary. */
	srand(18);
	char t[80];
	bad = 0;
	for (int r = 0; r < 200000; r++) {
		size_t n = (size_t)(rand() % 70);
		for (size_t i = 0; i < n; i++)
			t[i] = rand() % 9 == 0 ? (char)(rand() % 256) : (char)(0x20 + rand() % 0x5F);
		bad += !agree(t, n);
	}
	is_int((long long)bad, 0, "200,000 random texts: the same verdict");
	const char *ok_text = "ascii, 日本語, é, \xF0\x9F\x98\x80, NUL:";
	ok(conv_utf8_valid(ok_text, strlen(ok_text) + 1), "valid text with a NUL at its end");
	ok(!conv_utf8_valid("\xED\xA0\x80", 3), "a surrogate is refused");
	ok(!conv_utf8_valid("\xC0\xAF", 2), "an overlong slash is refused");
	ok(!conv_utf8_valid("\xF4\x90\x80\x80", 4), "past U+10FFFF is refused");
	ok(!conv_utf8_valid("abcdefgh\xE6\x97", 10), "a character cut at the end is refused");
	return tap_done();
}
