/* Unit tests of wire: the line framer, including oversized and split lines;
 * a value encoded in pieces gives json_dumps()'s bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "tap.h"
#include "wire.h"

struct sink {
	char *buf;
	size_t len, cap;
	size_t calls;
};

static int sink_put(void *ud, const char *p, size_t n)
{
	struct sink *k = ud;
	if (k->len + n + 1 > k->cap) {
		k->cap = 2 * (k->len + n + 1);
		k->buf = realloc(k->buf, k->cap);
	}
	memcpy(k->buf + k->len, p, n);
	k->len += n;
	k->buf[k->len] = '\0';
	k->calls++;
	return 0;
}

/* `text` parsed, encoded in pieces of `n` values: json_dumps()'s bytes. */
static void stream_is(const char *text, size_t n, const char *desc)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
	char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	struct sink k = { 0 };
	struct wire_stream s;
	wire_stream_init(&s, v);
	int rc, steps = 0;
	while ((rc = wire_stream_next(&s, n, sink_put, &k)) == 0)
		steps++;
	is_int(rc, 1, desc);
	is_str(k.buf ? k.buf : "", want, desc);
	free(k.buf);
	free(want);
	json_decref(v);
}

static int diag_hex(const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", (unsigned char)t[i]);
	printf("\n");
	return 0;
}

static void streams(void)
{
	stream_is("{}", 1, "an empty object");
	stream_is("[]", 1, "an empty array");
	stream_is("\"a\\\"b\\u00e9\\u0001/\"", 1, "a string: jansson's escapes");
	stream_is("12", 1, "a number");
	stream_is("[1.5, -0.25, 1e300, null, true, false]", 2, "reals and literals");
	stream_is("{\"rows\":3,\"ids\":[\"I-1\",\"I-2\",\"I-3\"],\"failed\":[],\"e\":{}}", 1,
		  "an import's result, one value a step");
	stream_is("{\"k\\n\u00e9\":{\"a\":[[1,[2,[3,[4,[5,[6,[7,[8,[9,{\"x\":[]}]]]]]]]]]]}}", 3,
		  "nesting past the walked depth, and an escaped key");
	/* Every character below 0x80, and random text (controls, quotes,
	 * backslashes, 2- to 4-byte characters, NUL) as keys and values: the
	 * strings escaped as jansson escapes them. */
	char all[128];
	for (int i = 0; i < 128; i++)
		all[i] = (char)i;
	json_t *o = json_object();
	json_object_set_new(o, "all", json_stringn(all, 128));
	srand(18);
	for (int k = 0; k < 500; k++) {
		char t[64];
		size_t n = 0;
		while (n < 40) {
			unsigned cp = (unsigned)rand() % 7 == 0 ? (unsigned)rand() % 0x20
				    : (unsigned)rand() % 3 == 0 ? 0x80 + (unsigned)rand() % 0x10F000 : (unsigned)rand() % 0x80;
			if (cp >= 0xD800 && cp < 0xE000)
				continue;
			if (cp < 0x80) {
				t[n++] = (char)cp;
			} else if (cp < 0x800) {
				t[n++] = (char)(0xC0 | cp >> 6);
				t[n++] = (char)(0x80 | (cp & 63));
			} else if (cp < 0x10000) {
				t[n++] = (char)(0xE0 | cp >> 12);
				t[n++] = (char)(0x80 | (cp >> 6 & 63));
				t[n++] = (char)(0x80 | (cp & 63));
			} else {
				t[n++] = (char)(0xF0 | cp >> 18);
				t[n++] = (char)(0x80 | (cp >> 12 & 63));
				t[n++] = (char)(0x80 | (cp >> 6 & 63));
				t[n++] = (char)(0x80 | (cp & 63));
			}
		}
		t[n] = '\0';
		json_t *str = json_stringn(t, n);
		if (!ok(str != NULL, "random text is valid UTF-8"))
			diag_hex(t, n);
		if (strlen(t) == n)
			json_object_set_new(o, t, json_string("k"));
		char vk[8];
		snprintf(vk, sizeof vk, "v%d", k % 10);
		json_object_set_new(o, vk, str);
	}
	char *want_o = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
	struct sink ko = { 0 };
	struct wire_stream so;
	wire_stream_init(&so, o);
	while (wire_stream_next(&so, 7, sink_put, &ko) == 0)
		;
	ok(want_o && ko.buf && strcmp(ko.buf, want_o) == 0, "control characters and random text: jansson's escapes");
	free(ko.buf);
	free(want_o);
	json_decref(o);

	/* 10,000 ids a few at a time: many steps, the same bytes. */
	json_t *ids = json_array();
	char id[32];
	for (int i = 0; i < 10000; i++) {
		snprintf(id, sizeof id, "I-%06d", i);
		json_array_append_new(ids, json_string(id));
	}
	json_t *r = json_pack("{s:i, s:o}", "rows", 10000, "ids", ids);
	char *want = json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY);
	struct sink k = { 0 };
	struct wire_stream s;
	wire_stream_init(&s, r);
	int rc, steps = 0;
	while ((rc = wire_stream_next(&s, 256, sink_put, &k)) == 0)
		steps++;
	is_int(rc, 1, "10,000 ids: done");
	ok(steps > 10, "10,000 ids: in many steps");
	ok(k.buf && strcmp(k.buf, want) == 0, "10,000 ids: json_dumps()'s bytes");
	free(k.buf);
	free(want);
	json_decref(r);
}

int main(void)
{
	streams();

	struct wire_buf b;
	char *line;
	size_t len;
	wire_buf_init(&b, 16);

	is_int(wire_buf_next_line(&b, &line, &len), 0, "empty buffer has no line");
	wire_buf_append(&b, "abc\ndef", 7);
	is_int(wire_buf_next_line(&b, &line, &len), 1, "a complete line");
	is_str(line, "abc", "its text");
	is_int(wire_buf_next_line(&b, &line, &len), 0, "partial line waits");
	is_int((long long)wire_buf_pending(&b), 3, "partial bytes held");
	wire_buf_append(&b, "\r\n", 2);
	is_int(wire_buf_next_line(&b, &line, &len), 1, "line completed by a later chunk");
	is_str(line, "def", "CRLF is trimmed");

	/* A line over the limit is reported once, then skipped to its newline. */
	wire_buf_append(&b, "0123456789abcdefXYZ", 19);
	is_int(wire_buf_next_line(&b, &line, &len), -EMSGSIZE, "oversized line reported");
	wire_buf_append(&b, "more-of-it\nok\n", 14);
	is_int(wire_buf_next_line(&b, &line, &len), 1, "the next line after the oversized one");
	is_str(line, "ok", "oversized line skipped entirely");

	/* A long line in one chunk, with its newline. */
	wire_buf_append(&b, "01234567890123456789\nafter\n", 27);
	is_int(wire_buf_next_line(&b, &line, &len), -EMSGSIZE, "oversized complete line");
	is_int(wire_buf_next_line(&b, &line, &len), 1, "line after it");
	is_str(line, "after", "text after the oversized line");

	/* Many small appends of a line at exactly the limit. */
	for (int i = 0; i < 16; i++)
		wire_buf_append(&b, "x", 1);
	wire_buf_append(&b, "\n", 1);
	is_int(wire_buf_next_line(&b, &line, &len), 1, "a line of exactly max bytes is accepted");
	is_int((long long)len, 16, "its length");
	wire_buf_free(&b);

	is_int(wire_code_of(LIU_EREFUSED), WIRE_REFUSED, "refusal maps to -32004");
	is_int(wire_code_of(-ENOSPC), WIRE_STORAGE_FULL, "ENOSPC maps to -32006");
	is_int(wire_code_of(-ENOENT), WIRE_NOT_FOUND, "ENOENT maps to -32002");
	return tap_done();
}
