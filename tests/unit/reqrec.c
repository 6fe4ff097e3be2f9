/* Unit tests of reqrec: where eval's inline record is in a request line, and
 * every line it must leave to the ordinary path (jansson and its errors). */
#include <stdio.h>
#include <string.h>

#include "reqrec.h"
#include "tap.h"

/* A line of at least REQREC_MIN_LINE bytes: `head`, a record of `body`
 * padded with a long string member, and `tail`. */
static const char *line_of(const char *head, const char *body, const char *tail)
{
	static char buf[8192];
	char pad[REQREC_MIN_LINE + 1];
	memset(pad, 'x', REQREC_MIN_LINE);
	pad[REQREC_MIN_LINE] = '\0';
	snprintf(buf, sizeof buf, "%s{\"pad\":\"%s\"%s}%s", head, pad, body, tail);
	return buf;
}

static bool find(const char *line, struct reqrec *r)
{
	return reqrec_find(line, strlen(line), r);
}

int main(void)
{
	struct reqrec r;
	const char *head = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eval\",\"params\":{\"at\":\"2024-06-01\",\"record\":";
	const char *l = line_of(head, ",\"n\":[1,{\"a\":2}]", ",\"x\":1}}");
	ok(find(l, &r), "an eval with its record inline is found");
	is_int((long long)r.start, (long long)strlen(head), "the record starts at its brace");
	is_int(l[r.end - 1], '}', "and ends at its own closing brace");
	is_int(l[r.end], ',', "before the rest of params");
	ok(!r.full, "data alone (no data member)");

	l = line_of(head, ",\"kind\":\"application\",\"data\":{\"a\":1}", "}}");
	ok(find(l, &r) && r.full && r.has_kind, "a whole record with its kind");
	l = line_of(head, ",\"data\":{\"a\":1}", "}}");
	ok(!find(l, &r), "a whole record without a kind is left to the ordinary path");
	l = line_of(head, ",\"data\":\"text\"", "}}");
	ok(find(l, &r) && !r.full, "a data member that is not an object is a field of data");

	/* The method may come after params. */
	l = line_of("{\"params\":{\"record\":", "", "},\"method\":\"eval\",\"jsonrpc\":\"2.0\",\"id\":2}");
	ok(find(l, &r), "the method after params");
	l = line_of("{\"params\":{\"record\":", "", "},\"method\":\"status\",\"jsonrpc\":\"2.0\",\"id\":2}");
	ok(!find(l, &r), "another method is left alone");
	l = line_of("{\"method\":\"eval\",\"params\":{\"x\":{\"record\":", "", "}}}");
	ok(!find(l, &r), "a record deeper in params is not eval's");

	/* What jansson refuses inside the record, the rules' strict read of
	 * it refuses (tests/unit/act_text.c), and the line then goes to
	 * jansson: the walk only finds where the record is. */
	l = line_of(head, ",\"pad\":1", "}}");
	ok(find(l, &r) && l[r.end] == '}', "a key twice in the record is the reader's to refuse");
	l = line_of(head, ",\"n\":1e999", "}}");
	ok(find(l, &r), "so is a real out of range");
	l = line_of(head, ",\"s\":\"a}]\\\"{\"", "}}");
	ok(find(l, &r) && l[r.end] == '}' && l[r.end + 1] == '}' && !l[r.end + 2],
	   "brackets and an escaped quote in a string are no brackets");
	l = line_of(head, ",\"s\":[{\"a\":[1,2]},{}]", ",\"x\":[\"record\",{\"record\":{}}]}}");
	ok(find(l, &r) && l[r.end] == ',', "nested containers, and \"record\" elsewhere in params");
	l = line_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"m\\u0065thod\":\"eval\",\"params\":{\"record\":", "", "}}");
	ok(!find(l, &r), "a key on the way written with an escape");
	l = line_of(head, ",\"d\\u0061ta\":{}", "}}");
	ok(!find(l, &r), "a key of the record written with an escape");
	l = line_of(head, "", ",\"record\":{}}}");
	ok(!find(l, &r), "record given twice");
	l = line_of(head, "", "}");
	ok(!find(l, &r), "a line cut short");
	l = line_of(head, ",\"s\":\"a\\u0000b\"", "}}");
	ok(!find(l, &r), "a string holding \\u0000");
	l = line_of(head, ",\"a\\u0000\":1", "}}");
	ok(!find(l, &r), "a key holding \\u0000");
	l = line_of(head, ",\"s\":\"\\ud83d\\ude00\"", "}}");
	ok(!find(l, &r), "an escaped surrogate pair is left to jansson");
	l = line_of(head, ",\"s\":\"\\\\ud83d\"", "}}");
	ok(find(l, &r), "an escaped backslash before ud83d is no escape");
	ok(!find("{\"method\":\"eval\",\"params\":{\"record\":{}}}", &r), "a short line is not scanned");
	return tap_done();
}
