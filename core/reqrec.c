/* reqrec — eval's inline record found in its request line (reqrec.h). */
#include "reqrec.h"

#include <string.h>

/* The scan's position in the line: the text, where it is, where it ends. */
struct cur {
	const char *t;
	size_t i, len;
};

static void skip_ws(struct cur *c)
{
	while (c->i < c->len && (c->t[c->i] == ' ' || c->t[c->i] == '\t' || c->t[c->i] == '\n' ||
				 c->t[c->i] == '\r'))
		c->i++;
}

/* Whether the four hex digits at u make an escape the ordinary path must
 * see (skip_string says which). */
static bool odd_escape(const char *u)
{
	return ((u[0] == 'd' || u[0] == 'D') && u[1] && strchr("89abcdefABCDEF", u[1])) ||
	       (u[0] == '0' && u[1] == '0' && u[2] == '0' && u[3] == '0');
}

/*
 * Steps over the string whose quote is at c->i; false when it does not
 * end.  *esc says whether it holds an escape, *odd whether one of them is
 * what the ordinary path must see: \u0000 (jansson refuses it, the rules'
 * strings could not hold it) or an escaped UTF-16 surrogate (jansson checks
 * that they pair, yajl does not; JSON writers send the characters as UTF-8).
 */
static bool skip_string(struct cur *c, bool *esc, bool *odd)
{
	const char *t = c->t;
	size_t i = c->i + 1;
	for (;;) {
		const char *q = memchr(t + i, '"', c->len - i);
		if (!q)
			return false;
		size_t e = (size_t)(q - t);
		const char *b = memchr(t + i, '\\', e - i);
		if (!b) {
			c->i = e + 1;
			return true;
		}
		/* An escape before the quote: step over it, then look again. */
		*esc = true;
		i = (size_t)(b - t);
		if (i + 1 >= c->len)
			return false;
		if (t[i + 1] == 'u' && i + 5 < c->len && odd_escape(t + i + 2))
			*odd = true;
		i += 2;
	}
}

/*
 * Steps over the value at c->i without reading it: strings by their
 * quotes, containers by their brackets outside strings, anything else up
 * to the next comma or bracket.  Whether the value is well formed is for
 * its reader to say (jansson for the envelope, rules_text for the record):
 * this only needs to end where they would on a line they accept.  The
 * record is most of the line: one loop, the bytes that do not matter
 * passed over by a table.
 */
static bool skip_value(struct cur *c, bool *odd)
{
	/* The bytes that matter: 1 in a string, 2 outside one as well. */
	static const unsigned char special[256] = {
		['"'] = 3, ['\\'] = 1, ['{'] = 2, ['['] = 2, ['}'] = 2, [']'] = 2, [','] = 2,
	};
	const unsigned char *t = (const unsigned char *)c->t;
	size_t i = c->i, n = c->len;
	int depth = 0;
	while (i < n) {
		while (i < n && !(special[t[i]] & 2))
			i++;
		if (i >= n)
			break;
		unsigned char ch = t[i++];
		if (ch == '"') {
			for (;;) {
				while (i < n && !special[t[i]])
					i++;
				if (i >= n)
					return false;
				ch = t[i++];
				if (ch == '"')
					break;
				if (ch != '\\')
					continue;
				if (i >= n)
					return false;
				if (t[i] == 'u' && n - i > 4 && odd_escape(c->t + i + 1))
					*odd = true;
				i++; /* the escaped character: "\\" is one */
			}
			if (depth == 0)
				break;
		} else if (ch == '{' || ch == '[') {
			depth++;
		} else if (ch == '}' || ch == ']') {
			if (depth == 0) {
				i--;
				break;
			}
			if (--depth == 0)
				break;
		} else if (ch == ',' && depth == 0) {
			i--;
			break;
		}
	}
	c->i = i;
	return depth == 0;
}

/* What the walk has found. */
struct walk {
	bool eval, full, has_kind;
	bool odd;               /* the record holds an escape reqrec.h leaves to jansson */
	bool other;             /* the same, outside the record: jansson reads it anyway */
	int params, record;
	size_t start, end;
};

/* Called with the cursor at a member's value, its key (as written, without
 * escapes) in k, kl; steps over the value.  False to give up. */
typedef bool (*member_fn)(struct walk *w, struct cur *c, const char *k, size_t kl);

static bool is(const char *k, size_t kl, const char *w)
{
	return strlen(w) == kl && memcmp(k, w, kl) == 0;
}

/*
 * Walks the members of the object whose brace is at c->i, calling `each`
 * at each value, and steps past its closing brace.  False when the text is
 * not an object's shape here or a key holds an escape (it may then be any
 * name: the line takes the ordinary path).
 */
static bool walk_object(struct walk *w, struct cur *c, member_fn each)
{
	c->i++; /* '{' */
	for (;;) {
		skip_ws(c);
		if (c->i >= c->len)
			return false;
		if (c->t[c->i] == '}') {
			c->i++;
			return true;
		}
		if (c->t[c->i] != '"')
			return false;
		size_t k = c->i;
		bool esc = false, odd = false;
		if (!skip_string(c, &esc, &odd) || esc)
			return false;
		size_t kl = c->i - k - 2;
		skip_ws(c);
		if (c->i >= c->len || c->t[c->i] != ':')
			return false;
		c->i++;
		skip_ws(c);
		if (c->i >= c->len || !each(w, c, c->t + k + 1, kl))
			return false;
		skip_ws(c);
		if (c->i < c->len && c->t[c->i] == ',')
			c->i++;
	}
}

/* A member of the record: "data" an object makes it a whole record, which
 * must then say its kind. */
static bool in_record(struct walk *w, struct cur *c, const char *k, size_t kl)
{
	if (is(k, kl, "data"))
		w->full = c->t[c->i] == '{';
	else if (is(k, kl, "kind"))
		w->has_kind = c->t[c->i] == '"';
	return skip_value(c, &w->odd);
}

static bool in_params(struct walk *w, struct cur *c, const char *k, size_t kl)
{
	if (!is(k, kl, "record") || c->t[c->i] != '{')
		return skip_value(c, &w->other);
	if (w->record++)
		return false; /* twice: jansson's to refuse */
	w->start = c->i;
	if (!walk_object(w, c, in_record))
		return false;
	w->end = c->i;
	return true;
}

static bool in_request(struct walk *w, struct cur *c, const char *k, size_t kl)
{
	if (is(k, kl, "method")) {
		w->eval = c->len - c->i >= 6 && memcmp(c->t + c->i, "\"eval\"", 6) == 0;
	} else if (is(k, kl, "params") && c->t[c->i] == '{') {
		if (w->params++)
			return false;
		return walk_object(w, c, in_params);
	}
	return skip_value(c, &w->other);
}

bool reqrec_find(const char *line, size_t len, struct reqrec *out)
{
	if (len < REQREC_MIN_LINE)
		return false;
	struct cur c = { .t = line, .len = len };
	struct walk w = { 0 };
	skip_ws(&c);
	if (c.i >= len || line[c.i] != '{' || !walk_object(&w, &c, in_request))
		return false;
	if (!w.eval || w.record != 1 || w.odd)
		return false;
	if (w.full && !w.has_kind)
		return false; /* the ordinary path puts the kind in */
	*out = (struct reqrec){ .start = w.start, .end = w.end, .full = w.full, .has_kind = w.has_kind };
	return true;
}
