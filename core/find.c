/*
 * find — record.list's search and date range (find.h).  Text is folded with
 * libunistring's u8_casefold under NFKC, so "ＡＢＣ", "abc" and "ABC" match,
 * as do 全角 and ﾊﾝｶｸ katakana; the needle is folded once by the caller,
 * each field as it is looked at.
 */
#include "find.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <uninorm.h>

#include "clock.h"

char *find_fold(const char *s)
{
	size_t n = 0;
	uint8_t *f = u8_casefold((const uint8_t *)s, strlen(s), NULL, UNINORM_NFKC, NULL, &n);
	if (!f)
		return NULL;
	char *out = realloc(f, n + 1);
	if (!out) {
		free(f);
		return NULL;
	}
	out[n] = '\0';
	return out;
}

/* Whether the folded text of `s` holds `needle`. */
static bool text_has(const char *s, const char *needle)
{
	char *f = find_fold(s);
	bool yes = f && strstr(f, needle) != NULL;
	free(f);
	return yes;
}

static bool value_has(const json_t *v, const char *needle)
{
	char buf[32];
	size_t i;
	json_t *x;
	if (json_is_string(v))
		return text_has(json_string_value(v), needle);
	if (json_is_integer(v)) {
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return strstr(buf, needle) != NULL;
	}
	if (json_is_array(v))
		json_array_foreach(v, i, x)
			if (!json_is_array(x) && value_has(x, needle))
				return true;
	return false;
}

/* The data field at a dotted path ("provider.name"), or NULL.  Borrowed. */
static const json_t *at_path(const json_t *data, const char *path)
{
	const char *p = path;
	while (data && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		data = json_object_getn(data, p, n);
		p += n + (dot != NULL);
	}
	return data;
}

bool find_match(const json_t *rec, const json_t *fields, const char *needle)
{
	size_t i;
	json_t *f;
	if (value_has(json_object_get(rec, "id"), needle))
		return true;
	const json_t *data = json_object_get(rec, "data");
	json_array_foreach(fields, i, f)
		if (json_is_string(f) && value_has(at_path(data, json_string_value(f)), needle))
			return true;
	return false;
}

bool find_in_range(const json_t *rec, const char *key, int64_t from, int64_t till)
{
	const char *s = json_string_value(json_object_get(rec, key));
	int64_t t;
	struct clock_why why;
	if (!s || clock_parse(s, &t, &why) < 0)
		return false;
	return t >= from && t < till;
}
