/*
 * reqrec — eval's inline record found in its request line, so that the
 * record is read from its text straight into Lua (rules_text.h), as a
 * stored record is, instead of by jansson into a tree that is converted
 * into Lua and freed.  A 5 KB application parsed by jansson cost a third
 * of a cold eval, its conversion another sixth (docs/PERFORMANCE.md).
 *
 * The record's text is read once, by the rules (rules_text.h): reqrec_find()
 * only walks the line's brackets outside strings (no value decoded, nothing
 * allocated) and, when the request is {"method":"eval", …, "params":{…,
 * "record":{…}}}, says where the record's text is.  The caller then parses
 * the line with that object written as {} (the envelope is checked by the
 * same code as any request) and hands the text to the rules, which read it
 * strictly (rules_rec's strict): what jansson refuses in it — broken JSON,
 * a key given twice, a number out of range — they refuse too, and the
 * caller then gives the whole line to jansson, whose error the client gets
 * as on the ordinary path.  What the walk sees itself — another method, no
 * record or two, a record that is not an object, a whole record without
 * its kind, a key on the way written with an escape, \u0000 or an escaped
 * surrogate in the record (jansson refuses the one, checks that the other
 * pairs; yajl does neither) — it says no to, and the line takes the
 * ordinary path with its ordinary errors.
 */
#ifndef LIU_REQREC_H
#define LIU_REQREC_H

#include <stdbool.h>
#include <stddef.h>

struct reqrec {
	size_t start, end;  /* the record's text: line[start, end) */
	bool full;          /* a whole record ("data" an object), else just its data */
	bool has_kind;      /* a whole record's "kind", a string */
};

/* Lines shorter than this take the ordinary path: the scan pays for itself
 * only on a record of some size. */
#define REQREC_MIN_LINE 1024

/* Whether `line` is an eval request with its record inline as an object
 * (and, for a whole record, a string "kind"); fills `out` then. */
bool reqrec_find(const char *line, size_t len, struct reqrec *out);

#endif
