/*
 * cli_data — spreadsheet files in and out: the bytes of a file turned into
 * UTF-8 text (with or without a BOM, or Shift_JIS as Japanese Excel saves
 * it, converted with iconv(3) from CP932), and the mapping between a
 * record's nested `data` and the flat columns of a sheet (dotted paths such
 * as impact_assessment.result).  The CSV itself, and the formula guard of a
 * text cell, are the sheet module's.  Depends on sheet, jansson, iconv and
 * libc.
 *
 * Everything read here comes from a file someone filled in by hand, so each
 * problem is reported with the line it is on, and nothing is guessed: a cell
 * is text unless it is plainly JSON (it starts with { or [ and parses), and
 * digits stay text (a 法人番号 of 13 digits is not a number).
 */
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_data.h"
#include "cli_table.h"
#include "cli_util.h"
#include "sheet.h"

/* --- reading a file ----------------------------------------------------------- */

int cli_file_read(const char *path, char **buf, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return -errno;
	size_t cap = 1 << 16, n = 0;
	char *b = cli_xrealloc(NULL, cap);
	int rc = 0;
	for (;;) {
		if (cap - n < 2) {
			cap *= 2;
			b = cli_xrealloc(b, cap);
		}
		size_t got = fread(b + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				rc = errno ? -errno : -EIO;
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (rc < 0) {
		free(b);
		return rc;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* --- text encodings ----------------------------------------------------------- */

/* The offset of the first byte of s[0..len) that does not belong to a valid
 * UTF-8 sequence, or len when all do.  A NUL byte counts as invalid: a file
 * of text has none, and C strings would stop at it. */
static size_t utf8_check(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */
		if (c == 0)
			return i;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
		else
			return i;
		if (i + n > len || s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t k = 2; k < n; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
		i += n;
	}
	return len;
}

/* The 1-based line of the byte at offset `at`.  Counting '\n' bytes is right
 * for CP932 too: its second bytes are never below 0x40. */
static size_t line_at(const char *s, size_t at)
{
	size_t line = 1;
	for (const char *p = s; (p = memchr(p, '\n', (size_t)(s + at - p))) != NULL; p++)
		line++;
	return line;
}

/* Shift_JIS as Windows and Excel write it (CP932: with the NEC and IBM
 * extensions, ① and 髙 among them) converted to UTF-8.  Returns the text
 * (caller frees) or NULL with *why (caller frees) naming the line of the
 * first byte that does not convert. */
static char *from_cp932(const char *in, size_t len, size_t *outlen, char **why)
{
	iconv_t cd = iconv_open("UTF-8", "CP932");
	if (cd == (iconv_t)-1) {
		*why = cli_xasprintf("cannot convert from Shift_JIS (iconv CP932): %s", strerror(errno));
		return NULL;
	}
	size_t cap = len * 3 / 2 + 16; /* two bytes of CP932 are three of UTF-8 at most */
	char *out = cli_xrealloc(NULL, cap + 1);
	char *ip = (char *)in, *op = out;
	size_t il = len, ol = cap;
	char *res = out;
	while (il > 0) {
		if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1)
			continue;
		if (errno == E2BIG) { /* cannot happen with that cap; grow all the same */
			size_t used = (size_t)(op - out);
			cap *= 2;
			out = res = cli_xrealloc(out, cap + 1);
			op = out + used;
			ol = cap - used;
			continue;
		}
		size_t at = (size_t)(ip - in);
		*why = cli_xasprintf("line %zu: byte 0x%02X is not Shift_JIS (CP932)%s", line_at(in, at),
				 (unsigned char)in[at], errno == EINVAL ? " (a character is cut off at the end)" : "");
		free(out);
		res = NULL;
		break;
	}
	iconv_close(cd);
	if (!res)
		return NULL;
	*op = '\0';
	*outlen = (size_t)(op - out);
	/* A NUL in the file converts to a NUL: refuse it as in UTF-8. */
	size_t nul = strlen(out);
	if (nul < *outlen) {
		*why = cli_xasprintf("line %zu: a NUL byte (is this a text file?)", line_at(out, nul));
		free(out);
		return NULL;
	}
	return out;
}

char *cli_text_decode(const char *in, size_t len, enum text_enc enc, size_t *outlen, char **why)
{
	*why = NULL;
	bool bom = len >= 3 && memcmp(in, "\xEF\xBB\xBF", 3) == 0;
	/* Excel's "Unicode text" is UTF-16: say so rather than fail on its
	 * first byte as Shift_JIS. */
	if (len >= 2 && (memcmp(in, "\xFF\xFE", 2) == 0 || memcmp(in, "\xFE\xFF", 2) == 0)) {
		*why = cli_xstrdup("the file is UTF-16 (Excel's \"Unicode text\"): save it as "
			       "\"CSV UTF-8\" or \"CSV\" (Shift_JIS)");
		return NULL;
	}
	if (enc == ENC_SJIS && !bom)
		return from_cp932(in, len, outlen, why);
	if (bom) {
		in += 3;
		len -= 3;
	}
	size_t bad = utf8_check((const unsigned char *)in, len);
	if (bad == len) {
		char *out = cli_xrealloc(NULL, len + 1);
		memcpy(out, in, len);
		out[len] = '\0';
		*outlen = len;
		return out;
	}
	/* Not UTF-8: Shift_JIS, unless the file or the operator said UTF-8. */
	if (enc == ENC_AUTO && !bom && in[bad] != '\0')
		return from_cp932(in, len, outlen, why);
	if (in[bad] == '\0')
		*why = cli_xasprintf("line %zu: a NUL byte (is this a text file?)", line_at(in, bad));
	else
		*why = cli_xasprintf("line %zu: byte 0x%02X is not UTF-8%s", line_at(in, bad),
				 (unsigned char)in[bad], bom ? " (the file starts with a UTF-8 BOM)" : "");
	return NULL;
}

/* --- data and cells -------------------------------------------------------------- */

/* The text of a cell for a data value: strings as they are (but with the '
 * mark of sheet_guard() before one starting with a character of
 * SHEET_GUARD: no formula for a spreadsheet, no JSON on the way back),
 * objects and arrays as compact JSON with sorted keys (the same records
 * give the same file), anything
 * else as text.  *exact is false when cli_value_of_cell() will not give back the
 * same value (a number, a boolean, null, an empty string).  Caller frees. */
static char *cli_cell_of_value(const json_t *v, bool *exact)
{
	*exact = true;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		*exact = s[0] != '\0'; /* an empty cell is an absent field */
		/* The one guard (sheet.h): no formula for a spreadsheet,
		 * no JSON on the way back. */
		char *g = sheet_guard(s);
		if (!g) {
			fputs("liuctl: out of memory\n", stderr);
			exit(ST_REPLY);
		}
		return g;
	}
	if (json_is_object(v) || json_is_array(v)) {
		char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
		char *s = cli_xstrdup(d ? d : "");
		free(d);
		return s;
	}
	/* Numbers, true, false and null come back as text. */
	*exact = false;
	return cli_json_text(v);
}

json_t *cli_value_of_cell(const char *s)
{
	if (s[0] == '\0')
		return NULL;
	/* ="2024-10": how the export keeps a number-like text a text. */
	char *kept = sheet_untext_cell(s);
	if (kept) {
		json_t *v = json_string(kept);
		free(kept);
		return v;
	}
	if (sheet_unguard(s) != s)
		return json_string(sheet_unguard(s));
	if (s[0] == '{' || s[0] == '[') {
		json_t *v = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
		if (v)
			return v;
	}
	return json_string(s);
}

/* Whether an object's members can each be a column of their own: names
 * that are neither empty nor dotted (a dot would split them on the way
 * back), and at least one member (an empty object is one "{}" cell). */
static bool flattens(const json_t *o)
{
	const char *k;
	json_t *v;
	if (!json_is_object(o) || json_object_size(o) == 0)
		return false;
	json_object_foreach((json_t *)o, k, v)
		if (!k[0] || strchr(k, '.'))
			return false;
	return true;
}

void cli_data_flatten(const json_t *data, json_t *row, json_t *inexact)
{
	const char *k, *k2;
	json_t *v, *v2;
	bool exact;
	json_object_foreach((json_t *)data, k, v) {
		if (flattens(v)) {
			json_object_foreach(v, k2, v2) {
				char *path = cli_xasprintf("%s.%s", k, k2);
				char *cell = cli_cell_of_value(v2, &exact);
				json_object_set_new(row, path, json_string(cell));
				if (!exact)
					json_object_set_new(inexact, path, json_true());
				free(cell);
				free(path);
			}
			continue;
		}
		char *cell = cli_cell_of_value(v, &exact);
		json_object_set_new(row, k, json_string(cell));
		free(cell);
		if (!exact || !k[0] || strchr(k, '.'))
			json_object_set_new(inexact, k, json_true());
	}
}

/* Merges `v` into `into` (both objects); a member both give fails. */
static int merge(json_t *into, json_t *v)
{
	const char *k;
	json_t *x;
	json_object_foreach(v, k, x) {
		json_t *old = json_object_get(into, k);
		if (!old) {
			json_object_set(into, k, x);
		} else if (json_is_object(old) && json_is_object(x)) {
			if (merge(old, x) < 0)
				return -EEXIST;
		} else {
			return -EEXIST;
		}
	}
	return 0;
}

int cli_data_set(json_t *data, const char *path, json_t *v)
{
	json_t *o = data;
	int rc = 0;
	const char *p = path;
	for (;;) {
		size_t n = strcspn(p, ".");
		char *key = strndup(p, n);
		if (!key) {
			json_decref(v);
			return -ENOMEM;
		}
		json_t *cur = json_object_get(o, key);
		if (p[n] == '\0') {
			/* The field itself: new, or an object merged with one the
			 * sheet built from other columns (pledge and pledge.x). */
			if (!cur)
				json_object_set(o, key, v);
			else if (json_is_object(cur) && json_is_object(v))
				rc = merge(cur, v);
			else
				rc = -EEXIST;
			free(key);
			break;
		}
		if (!cur) {
			cur = json_object();
			json_object_set_new(o, key, cur);
		}
		free(key);
		if (!json_is_object(cur)) {
			rc = -ENOTDIR;
			break;
		}
		o = cur;
		p += n + 1;
	}
	json_decref(v);
	return rc;
}
