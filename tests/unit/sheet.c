/*
 * Unit tests of sheet, the one CSV module (daemon and client): reading
 * (quotes, embedded newlines, CRLF, a BOM, the line a row starts on, a row
 * over the limit, malformed quoting) and writing (RFC 4180 quoting and the
 * one formula guard, with every leading character of the rule).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sheet.h"
#include "tap.h"

/* The fields of the next row joined with '|', or "END" / "ERR <rc>". */
static const char *next_row(struct sheet *s)
{
	static char buf[512];
	int rc = sheet_next(s);
	if (rc == 0)
		return "END";
	if (rc < 0) {
		snprintf(buf, sizeof buf, "ERR %d", rc);
		return buf;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < sheet_nfield(s); i++) {
		size_t len;
		const char *f = sheet_field(s, i, &len);
		if (i)
			strcat(buf, "|");
		strncat(buf, f, len);
	}
	return buf;
}

static struct sheet *open_text(const char *t, size_t row_max)
{
	return sheet_open(t, strlen(t), row_max);
}

static void test_read(void)
{
	struct sheet *s = open_text("\xEF\xBB\xBFname,note\r\n"
				    "a,\"x, y\"\r\n"
				    "\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
				    "\r\n"
				    " b ,\tc\n"
				    "last,\"\"", 1 << 20);
	is_str(next_row(s), "name|note", "a BOM is dropped; the header row");
	is_int((long long)sheet_line(s), 1, "on line 1");
	is_str(next_row(s), "a|x, y", "a quoted comma");
	is_int((long long)sheet_line(s), 2, "on line 2");
	is_str(next_row(s), "say \"hi\"|two\nlines", "doubled quotes; a line break inside quotes");
	is_int((long long)sheet_line(s), 3, "starting on line 3");
	is_str(next_row(s), " b |\tc", "a blank line skipped; spaces and tabs kept as they are; LF alone");
	is_int((long long)sheet_line(s), 6, "counted by the lines of the file (the quoted break and the blank line too)");
	is_str(next_row(s), "last|", "a last row without a line break, an empty quoted field");
	is_str(next_row(s), "END", "then the end");
	sheet_close(s);

	s = open_text("a,b\r\n\"open,c\r\n", 1 << 20);
	is_str(next_row(s), "a|b", "a good row before a bad one");
	is_str(next_row(s), "ERR -22", "a quoted field never closed is -EINVAL");
	ok(sheet_why(s) && strstr(sheet_why(s), "line 2") && strstr(sheet_why(s), "never closed"),
	   "saying so, with its line");
	sheet_close(s);

	s = open_text("x\n\"a\"b,c\n", 1 << 20);
	next_row(s);
	is_str(next_row(s), "ERR -22", "text after a closing quote is -EINVAL");
	ok(sheet_why(s) && strstr(sheet_why(s), "line 2") && strstr(sheet_why(s), "\"\""),
	   "saying how a quote is written");
	sheet_close(s);

	s = open_text("short,row\nthis row is longer than the limit,x\nok\n", 20);
	is_str(next_row(s), "short|row", "a row under the limit");
	is_str(next_row(s), "ERR -7", "a row longer than the limit is -E2BIG");
	ok(sheet_why(s) && strstr(sheet_why(s), "line 2") && strstr(sheet_why(s), "20 bytes"),
	   "naming the line and the limit");
	sheet_close(s);

	s = open_text("", 10);
	is_str(next_row(s), "END", "an empty text has no rows");
	sheet_close(s);
}

/* The CSV text sheet_put_cell() writes for s. */
static const char *cell(const char *s)
{
	static char out[256];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	sheet_put_cell(f, s);
	fclose(f);
	snprintf(out, sizeof out, "%s", buf);
	free(buf);
	return out;
}

static void test_write(void)
{
	is_str(cell("plain"), "plain", "plain text as it is");
	is_str(cell("日本語"), "日本語", "UTF-8 as it is");
	is_str(cell("a,b"), "\"a,b\"", "a comma: quoted");
	is_str(cell("say \"hi\""), "\"say \"\"hi\"\"\"", "a quote: quoted and doubled");
	is_str(cell("two\r\nlines"), "\"two\r\nlines\"", "a line break: quoted");
	is_str(cell(""), "", "empty");

	/* The one guard, each of its characters. */
	const char *lead = SHEET_GUARD;
	is_str(lead, "=+-@\t\r'{[", "the guard's characters: formulas (= + - @, TAB, CR), the ' mark, JSON ({ [)");
	for (const char *p = lead; *p; p++) {
		char in[8] = { *p, 'x', '\0' }, want[16], desc[64];
		char *g = sheet_guard(in);
		snprintf(want, sizeof want, "'%s", in);
		snprintf(desc, sizeof desc, "a text starting with 0x%02X gets the ' mark", (unsigned char)*p);
		is_str(g, want, desc);
		snprintf(want, sizeof want, "\"'%s\"", in);
		snprintf(desc, sizeof desc, "and is written quoted (0x%02X)", (unsigned char)*p);
		is_str(cell(g), want, desc);
		snprintf(desc, sizeof desc, "and reads back as it was (0x%02X)", (unsigned char)*p);
		is_str(sheet_unguard(g), in, desc);
		free(g);
	}
	char *g = sheet_guard("x=1");
	is_str(g, "x=1", "a guard character later in the text: nothing added");
	free(g);
	is_str(sheet_unguard("'plain"), "'plain", "a ' before an unguarded character is text");
	ok(!sheet_guarded("") && sheet_guarded("-1") && !sheet_guarded("1-"), "sheet_guarded looks at the first character");

	/* Round trip: what the writer writes, the reader reads. */
	const char *texts[] = { "=SUM(1,2)", "\tcmd|' /C calc'!A0", "\r=1+2", "{\"a\":1}", "'", "a\"b" };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		char *t = sheet_guard(texts[i]);
		if (i)
			fputc(',', f);
		sheet_put_cell(f, t);
		free(t);
	}
	fputs("\r\n", f);
	fclose(f);
	struct sheet *s = sheet_open(buf, len, 1 << 20);
	is_int(sheet_next(s), 1, "the written row reads back");
	is_int((long long)sheet_nfield(s), (long long)(sizeof texts / sizeof *texts), "with every cell");
	for (size_t i = 0; i < sheet_nfield(s) && i < sizeof texts / sizeof *texts; i++)
		is_str(sheet_unguard(sheet_field(s, i, NULL)), texts[i], "a cell reads back to its text");
	sheet_close(s);
	free(buf);
}

/* Texts Excel would make numbers or dates are written ="…", and read back. */
static void test_numberlike(void)
{
	const char *yes[] = { "7000012050002", "2024-10", "2023-06-01", "2023/6/1", "1,000", "10:30", "1e5",
			      "50%", ".5", "1 2" };
	const char *no[] = { "", "LIU-000001", "2024-06-01T10:00:00+09:00", "-1", "e5", "1e", "第1版", "１２３",
			     "ISO/IEC 27001", "5%%" };
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		char want[64], desc[96];
		ok(sheet_numberlike(yes[i]), "number-like");
		char *c = sheet_text_cell(yes[i]);
		snprintf(want, sizeof want, "=\"%s\"", yes[i]);
		snprintf(desc, sizeof desc, "%s is written as =\"%s\"", yes[i], yes[i]);
		is_str(c, want, desc);
		char *back = sheet_untext_cell(c);
		is_str(back, yes[i], "and reads back as the text");
		free(back);
		free(c);
	}
	for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
		ok(!sheet_numberlike(no[i]), "not number-like");
		char *c = sheet_text_cell(no[i]), *g = sheet_guard(no[i]);
		is_str(c, g, "written as sheet_guard() writes it");
		free(c);
		free(g);
	}
	ok(sheet_untext_cell("=\"SUM(1)\"") == NULL, "a formula around other text is not undone");
	ok(sheet_untext_cell("=1+2") == NULL, "nor any other formula");
}

int main(void)
{
	test_read();
	test_write();
	test_numberlike();
	return tap_done();
}
