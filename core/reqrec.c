/* reqrec — eval's inline record found in its request line (reqrec.h). */
#include "reqrec.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

enum key { K_OTHER, K_METHOD, K_PARAMS, K_RECORD, K_DATA, K_KIND };

struct scan {
	yajl_handle h;
	int depth;              /* open containers, the request's object being 1 */
	enum key key;           /* the last key read at depth 1, 2 (in params) or 3 (in record) */
	bool in_params, in_record;
	int params_seen, record_seen, data_seen, kind_seen;
	bool eval, full, has_kind, bad;
	size_t start, end;
	/* Keys seen, as hashes of (the object's serial, the key), to find a
	 * key given twice in one object, which the ordinary path refuses:
	 * a collision, true or not, sends the line there. */
	uint64_t *keys;
	size_t nkeys, capkeys;
	uint64_t serial, open[64]; /* the serial of each open object, by depth */
};

/* Adds a key of the innermost object; false when it may be there already
 * (or memory ran out). */
static bool key_new(struct scan *s, const unsigned char *k, size_t l)
{
	if (2 * (s->nkeys + 1) > s->capkeys) {
		size_t cap = s->capkeys ? 2 * s->capkeys : 1024;
		uint64_t *t = calloc(cap, sizeof *t);
		if (!t)
			return false;
		for (size_t i = 0; i < s->capkeys; i++) {
			uint64_t h = s->keys[i];
			if (!h)
				continue;
			size_t j = h & (cap - 1);
			while (t[j])
				j = (j + 1) & (cap - 1);
			t[j] = h;
		}
		free(s->keys);
		s->keys = t;
		s->capkeys = cap;
	}
	uint64_t h = 1469598103934665603ULL ^ s->open[s->depth < 64 ? s->depth : 63];
	for (size_t i = 0; i < l; i++)
		h = (h ^ k[i]) * 1099511628211ULL;
	h |= 1; /* 0 marks a free slot */
	size_t j = h & (s->capkeys - 1);
	for (; s->keys[j]; j = (j + 1) & (s->capkeys - 1))
		if (s->keys[j] == h)
			return false;
	s->keys[j] = h;
	s->nkeys++;
	return true;
}

static bool is(const unsigned char *s, size_t l, const char *w)
{
	return strlen(w) == l && memcmp(s, w, l) == 0;
}

/* A scalar or a container's start: what it means where it is. */
static void value(struct scan *s, bool map, bool str, const unsigned char *v, size_t l)
{
	if (s->depth == 1 && s->key == K_METHOD)
		s->eval = str && is(v, l, "eval");
	else if (s->depth == 1 && s->key == K_PARAMS && map)
		s->in_params = true;
	else if (s->depth == 2 && s->in_params && s->key == K_RECORD && map) {
		s->in_record = true;
		s->start = yajl_get_bytes_consumed(s->h) - 1; /* its '{' */
	} else if (s->depth == 3 && s->in_record && s->key == K_DATA)
		s->full = map;
	else if (s->depth == 3 && s->in_record && s->key == K_KIND)
		s->has_kind = str;
	s->key = K_OTHER;
}

static int c_null(void *u)
{
	value(u, false, false, NULL, 0);
	return 1;
}
static int c_bool(void *u, int b)
{
	(void)b;
	value(u, false, false, NULL, 0);
	return 1;
}
/* A number jansson would refuse (a real out of range, an integer past
 * 64 bits) stops the scan: the ordinary path says why. */
static int c_number(void *u, const char *v, size_t l)
{
	char buf[64];
	if (l >= sizeof buf)
		return 0;
	memcpy(buf, v, l);
	buf[l] = 0;
	errno = 0;
	if (strpbrk(buf, ".eE")) {
		if (!isfinite(strtod(buf, NULL)) || errno == ERANGE)
			return 0;
	} else {
		(void)strtoll(buf, NULL, 10);
		if (errno == ERANGE)
			return 0;
	}
	value(u, false, false, NULL, 0);
	return 1;
}
/* A string or key holding \u0000: jansson refuses it (no JSON_ALLOW_NUL). */
static int c_string(void *u, const unsigned char *v, size_t l)
{
	if (memchr(v, 0, l))
		return 0;
	value(u, false, true, v, l);
	return 1;
}
static int c_start_map(void *u)
{
	struct scan *s = u;
	value(s, true, false, NULL, 0);
	s->depth++;
	if (s->depth < 64)
		s->open[s->depth] = ++s->serial;
	return 1;
}
static int c_start_array(void *u)
{
	struct scan *s = u;
	value(s, false, false, NULL, 0);
	s->depth++;
	return 1;
}
static int c_end(void *u)
{
	struct scan *s = u;
	s->depth--;
	if (s->depth == 2 && s->in_record) {
		s->in_record = false;
		s->end = yajl_get_bytes_consumed(s->h);
	} else if (s->depth == 1) {
		s->in_params = false;
	}
	return 1;
}
static int c_key(void *u, const unsigned char *k, size_t l)
{
	struct scan *s = u;
	if (memchr(k, 0, l) || s->depth >= 64 || !key_new(s, k, l))
		return 0;
	s->key = K_OTHER;
	if (s->depth == 1) {
		if (is(k, l, "method"))
			s->key = K_METHOD;
		else if (is(k, l, "params") && ++s->params_seen)
			s->key = K_PARAMS;
	} else if (s->depth == 2 && s->in_params) {
		if (is(k, l, "record") && ++s->record_seen)
			s->key = K_RECORD;
	} else if (s->depth == 3 && s->in_record) {
		if (is(k, l, "data") && ++s->data_seen)
			s->key = K_DATA;
		else if (is(k, l, "kind") && ++s->kind_seen)
			s->key = K_KIND;
	}
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = c_null,
	.yajl_boolean = c_bool,
	.yajl_number = c_number,
	.yajl_string = c_string,
	.yajl_start_map = c_start_map,
	.yajl_map_key = c_key,
	.yajl_end_map = c_end,
	.yajl_start_array = c_start_array,
	.yajl_end_array = c_end,
};

/* Whether the text holds an escaped UTF-16 surrogate (\uD800-\uDFFF):
 * jansson checks that they pair, yajl does not, so such a line is left to
 * jansson.  (Rare: JSON writers send the characters as UTF-8.) */
static bool has_surrogate(const char *t, size_t len)
{
	const char *end = t + len, *p = t;
	while ((p = memchr(p, '\\', (size_t)(end - p))) && end - p >= 4) {
		if (p[1] == 'u' && (p[2] == 'd' || p[2] == 'D') && strchr("89abcdefABCDEF", p[3]) && p[3])
			return true;
		p += 2; /* past the escaped character: "\\" is one */
	}
	return false;
}

bool reqrec_find(const char *line, size_t len, struct reqrec *out)
{
	if (len < REQREC_MIN_LINE)
		return false;
	struct scan s = { 0 };
	if (!(s.h = yajl_alloc(&callbacks, NULL, &s)))
		return false;
	yajl_status st = yajl_parse(s.h, (const unsigned char *)line, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(s.h);
	yajl_free(s.h);
	free(s.keys);
	/* One params, one record in it, and in a whole record one data and one
	 * kind: a key given twice is the ordinary path's refusal to make. */
	if (st != yajl_status_ok || !s.eval || s.params_seen != 1 || s.record_seen != 1 ||
	    !s.end || s.data_seen > 1 || s.kind_seen > 1)
		return false;
	if (s.full && !s.has_kind)
		return false; /* the ordinary path puts the kind in */
	if (has_surrogate(line + s.start, s.end - s.start))
		return false;
	*out = (struct reqrec){ .start = s.start, .end = s.end, .full = s.full, .has_kind = s.has_kind };
	return true;
}
