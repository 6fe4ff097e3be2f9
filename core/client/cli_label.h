/*
 * cli_label — a header a person typed, against the labels of the pack's
 * sheet: compared folded (NFKC, case and white space left out, as
 * record.list's search compares), with or without notes in brackets
 * (「法人番号（13桁）」 is 法人番号 with a note), and the closest label when
 * none is the same.  Uses libunistring only.
 */
#ifndef LIU_CLI_LABEL_H
#define LIU_CLI_LABEL_H

#include <stdbool.h>
#include <stddef.h>

/* s under NFKC and case folding, without white space; with `notes` false,
 * also without what is in brackets ( ), [ ] or 【 】 (nested too).
 * "ｻｰﾋﾞｽ名" and "サービス 名" both give "サービス名".  Text that is not
 * UTF-8 is returned as it is, white space left out.  Caller frees. */
char *cli_label_fold(const char *s, bool notes);

/* The edit distance of two UTF-8 texts in characters (insertions,
 * deletions, substitutions), for the closest label. */
size_t cli_label_distance(const char *a, const char *b);

#endif
