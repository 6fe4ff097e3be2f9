/* wire — see wire.h. */
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

enum wire_code wire_code_of(int err)
{
	switch (err) {
	case LIU_EREFUSED: return WIRE_REFUSED;
	case LIU_ESCRIPT: return WIRE_SCRIPT_ERROR;
	case LIU_ECONFLICT: return WIRE_CONFLICT;
	case LIU_EINVAL: case -EINVAL: return WIRE_INVALID_PARAMS;
	case LIU_EFORBID: case -EPERM: case -EACCES: return WIRE_FORBIDDEN;
	case LIU_ELIMIT: case -EMSGSIZE: case -E2BIG: return WIRE_OVER_LIMIT;
	case -ENOENT: return WIRE_NOT_FOUND;
	case -ENOSPC: case -EDQUOT: case LIU_EMAPBUSY: return WIRE_STORAGE_FULL;
	default: return WIRE_INTERNAL;
	}
}

void wire_buf_init(struct wire_buf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

void wire_buf_free(struct wire_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

int wire_buf_append(struct wire_buf *b, const char *p, size_t n)
{
	if (b->start > 0) {
		/* Slide the partial line down before growing: the buffer then never
		 * holds more than one partial line plus what just arrived. */
		memmove(b->data, b->data + b->start, b->len - b->start);
		b->len -= b->start;
		b->start = 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int wire_buf_next_line(struct wire_buf *b, char **line, size_t *len)
{
	for (;;) {
		char *s = b->data + b->start;
		size_t avail = b->len - b->start;
		char *nl = avail > b->scan ? memchr(s + b->scan, '\n', avail - b->scan) : NULL;
		if (b->skipping) {
			if (!nl) {
				b->start = b->len; /* drop what we hold of the long line */
				b->scan = 0;
				return 0;
			}
			b->start += (size_t)(nl - s) + 1;
			b->scan = 0;
			b->skipping = false;
			continue;
		}
		if (!nl) {
			b->scan = avail;
			if (avail > b->max) {
				b->skipping = true;
				b->start = b->len;
				b->scan = 0;
				return -EMSGSIZE;
			}
			return 0;
		}
		size_t l = (size_t)(nl - s);
		b->start += l + 1;
		b->scan = 0;
		if (l > b->max)
			return -EMSGSIZE;
		if (l > 0 && s[l - 1] == '\r')
			l--; /* tolerate CRLF from hand-typed clients */
		s[l] = '\0';
		*line = s;
		*len = l;
		return 1;
	}
}

size_t wire_buf_pending(const struct wire_buf *b)
{
	return b->len - b->start;
}

char *wire_encode_line(const json_t *obj, size_t *len)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *out = realloc(s, n + 2);
	if (!out) {
		free(s);
		return NULL;
	}
	out[n] = '\n';
	out[n + 1] = '\0';
	if (len)
		*len = n + 1;
	return out;
}

void wire_stream_init(struct wire_stream *s, json_t *v)
{
	memset(s, 0, sizeof *s);
	s->pending = v;
}

/* A string as jansson writes it without JSON_ENSURE_ASCII or
 * JSON_ESCAPE_SLASH: `"` and `\` escaped, control characters as \b \f \n
 * \r \t or \u00XX, every other byte as it is (a json_t string is valid
 * UTF-8).  jansson decodes each character to decide; this looks at bytes,
 * so that a 256 KiB text costs a scan, not a decoding (a view's row). */
static int stream_string(const char *s, size_t n, wire_put_fn put, void *ud)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = put(ud, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		char esc[6] = { '\\', (char)c, 0 };
		size_t el = 2;
		switch (c) {
		case '"': case '\\': break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			el = 6;
		}
		if (i > run)
			rc = put(ud, s + run, i - run);
		if (rc == 0)
			rc = put(ud, esc, el);
		run = i + 1;
	}
	if (rc == 0 && n > run)
		rc = put(ud, s + run, n - run);
	return rc == 0 ? put(ud, "\"", 1) : rc;
}

/* `v` whole: a string by stream_string(), anything else by jansson. */
static int stream_whole(json_t *v, wire_put_fn put, void *ud)
{
	if (json_is_string(v))
		return stream_string(json_string_value(v), json_string_length(v), put, ud);
	char *enc = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!enc)
		return -ENOMEM;
	int rc = put(ud, enc, strlen(enc));
	free(enc);
	return rc;
}

/* Begins `v`: a container is opened and walked from the next call on. */
static int stream_open(struct wire_stream *s, json_t *v, wire_put_fn put, void *ud)
{
	bool obj = json_is_object(v);
	if ((!obj && !json_is_array(v)) || s->depth == WIRE_STREAM_DEPTH)
		return stream_whole(v, put, ud);
	s->at[s->depth].v = v;
	s->at[s->depth].iter = obj ? json_object_iter(v) : NULL;
	s->at[s->depth].i = 0;
	s->at[s->depth].first = true;
	s->depth++;
	return put(ud, obj ? "{" : "[", 1);
}

/* One step inside the innermost container: its next member or its end. */
static int stream_step(struct wire_stream *s, wire_put_fn put, void *ud)
{
	struct wire_stream_at *t = &s->at[s->depth - 1];
	bool obj = json_is_object(t->v);
	if (obj ? !t->iter : t->i >= json_array_size(t->v)) {
		s->depth--;
		return put(ud, obj ? "}" : "]", 1);
	}
	int rc = t->first ? 0 : put(ud, ",", 1);
	t->first = false;
	if (rc < 0)
		return rc;
	if (!obj)
		return stream_open(s, json_array_get(t->v, t->i++), put, ud);
	/* The key as jansson writes it: a string, then the colon. */
	void *it = t->iter;
	rc = stream_string(json_object_iter_key(it), json_object_iter_key_len(it), put, ud);
	if (rc == 0)
		rc = put(ud, ":", 1);
	t->iter = json_object_iter_next(t->v, it);
	return rc < 0 ? rc : stream_open(s, json_object_iter_value(it), put, ud);
}

int wire_stream_next(struct wire_stream *s, size_t n, wire_put_fn put, void *ud)
{
	int rc = 0;
	if (s->pending) {
		rc = stream_open(s, s->pending, put, ud);
		s->pending = NULL;
	}
	for (size_t k = 0; rc == 0 && s->depth > 0 && k < n; k++)
		rc = stream_step(s, put, ud);
	return rc < 0 ? rc : s->depth == 0 ? 1 : 0;
}

char *wire_request(long long id, const char *method, json_t *params)
{
	json_t *req = json_pack("{s:s, s:I, s:s}", "jsonrpc", WIRE_VERSION, "id",
				(json_int_t)id, "method", method);
	if (!req)
		return NULL;
	if (params)
		json_object_set(req, "params", params);
	char *s = wire_encode_line(req, NULL);
	json_decref(req);
	return s;
}
