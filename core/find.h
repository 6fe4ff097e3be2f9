/*
 * find — what record.list's search and date range match, apart from the
 * method: text folded for a search that ignores case and full/half width
 * (libunistring: NFKC, then case folding), and whether a record holds a
 * search text in the fields its kind names.  Knows no field of any pack:
 * the fields come from the pack's declarations (a kind's search_fields).
 */
#ifndef LIU_FIND_H
#define LIU_FIND_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

/* s folded for comparison: NFKC (full width ASCII to half width, half
 * width katakana to full width, U+3000 to a space) then case folding.  A
 * NUL-terminated copy (caller frees), or NULL when libunistring fails (out
 * of memory).  s is UTF-8: JSON strings are, as jansson decodes them. */
char *find_fold(const char *s);

/* Whether `needle` (folded by find_fold) is in the record's id or in one of
 * `fields` (a JSON array of dotted data paths, borrowed) of its data: text,
 * numbers and lists of them. */
bool find_match(const json_t *rec, const json_t *fields, const char *needle);

/* Whether the record's `key` timestamp ("created_at", "updated_at") is in
 * [from, till) (instants, unix seconds).  A record without it is not. */
bool find_in_range(const json_t *rec, const char *key, int64_t from, int64_t till);

#endif
