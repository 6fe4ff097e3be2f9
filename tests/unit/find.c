/* Unit tests of find: record.list's search folds case and full/half width,
 * looks in the id and the fields given (dotted paths, numbers, lists), and
 * its date range is [from, till). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "find.h"
#include "tap.h"

static void folds(const char *s, const char *want)
{
	char *f = find_fold(s), desc[200];
	snprintf(desc, sizeof desc, "%s folds to %s", s, want);
	is_str(f, want, desc);
	free(f);
}

static int matches(const json_t *rec, const json_t *fields, const char *needle)
{
	char *n = find_fold(needle);
	int yes = find_match(rec, fields, n);
	free(n);
	return yes;
}

int main(void)
{
	folds("ABC", "abc");
	folds("ＡＢＣ", "abc");
	folds("ｶﾌﾞｼｷｶﾞｲｼｬ", "カブシキガイシャ");
	folds("株式会社　テスト", "株式会社 テスト");
	folds("８７００", "8700");

	json_t *rec = json_pack("{s:s, s:s, s:{s:s, s:I, s:{s:s}, s:[s, s]}}",
				"id", "LIU-000007", "created_at", "2024-06-01T09:00:00+09:00",
				"data", "service_name", "ＡＢＣクラウド", "number", (json_int_t)8700110005901,
				"provider", "name", "ｶﾌﾞｼｷｶﾞｲｼｬ Example", "tags", "Alpha", "ベータ");
	json_t *fields = json_pack("[s, s, s, s, s]", "service_name", "number", "provider.name", "tags",
				   "absent.path");
	ok(matches(rec, fields, "abc"), "a half-width search finds full-width text");
	ok(matches(rec, fields, "クラウド"), "a part of a field");
	ok(matches(rec, fields, "カブシキ"), "full-width kana find half-width kana, through a dotted path");
	ok(matches(rec, fields, "EXAMPLE"), "case does not matter");
	ok(matches(rec, fields, "0011000"), "a number is searched as its digits");
	ok(matches(rec, fields, "ALPHA"), "a list of texts is searched item by item");
	ok(matches(rec, fields, "liu-000007"), "the id is searched too");
	ok(!matches(rec, fields, "zzz"), "a text in no field is not found");
	json_t *none = json_array();
	ok(!matches(rec, none, "abc"), "no search fields: only the id");
	json_decref(none);

	ok(find_in_range(rec, "created_at", 1717200000, 1717200001), "created_at at from is in");
	ok(!find_in_range(rec, "created_at", 1717200001, 1717300000), "before from is out");
	ok(!find_in_range(rec, "created_at", 0, 1717200000), "at till is out");
	ok(!find_in_range(rec, "updated_at", 0, INT64_MAX), "a record without the timestamp is out");
	json_decref(fields);
	json_decref(rec);
	return tap_done();
}
