/* Unit tests of wire: the line framer, including oversized and split lines. */
#include <errno.h>

#include "errors.h"
#include "tap.h"
#include "wire.h"

int main(void)
{
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
