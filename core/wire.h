/*
 * wire — the protocol between liud and its clients, defined once and shared by
 * the daemon and liuctl (as smtpd and smtpctl share theirs).
 *
 * JSON-RPC 2.0 over a Unix stream socket, one JSON object per line, UTF-8.
 * This module holds the JSON-RPC error codes and which of them a project
 * error code (errors.h) gives, the line framer both sides read with, and
 * helpers that build request and reply lines.  Depends on jansson and libc.
 */
#ifndef LIU_WIRE_H
#define LIU_WIRE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define WIRE_VERSION "2.0"
#define WIRE_DEFAULT_SOCKET "run/liud.sock"

/* JSON-RPC error codes (docs/PROTOCOL.md). */
enum wire_code {
	WIRE_PARSE_ERROR = -32700,
	WIRE_INVALID_REQUEST = -32600,
	WIRE_UNKNOWN_METHOD = -32601,
	WIRE_INVALID_PARAMS = -32602,
	WIRE_INTERNAL = -32603,
	WIRE_FORBIDDEN = -32001,
	WIRE_NOT_FOUND = -32002,
	WIRE_CONFLICT = -32003,
	WIRE_REFUSED = -32004,
	WIRE_SCRIPT_ERROR = -32005,
	WIRE_STORAGE_FULL = -32006,
	WIRE_OVER_LIMIT = -32007,
};

/* Maps a negative errno or LIU_E* code (errors.h) to the JSON-RPC code a
 * client gets. */
enum wire_code wire_code_of(int err);

/*
 * The line framer.  Bytes go in with wire_buf_append(); complete lines come
 * out of wire_buf_next_line().  A line longer than `max` bytes is reported
 * once (-EMSGSIZE) and then skipped up to its newline, so one oversized
 * request costs the client an error reply, not its connection.
 */
struct wire_buf {
	char *data;       /* owned */
	size_t len;       /* bytes held */
	size_t cap;
	size_t start;     /* first byte not yet returned as a line */
	size_t scan;      /* bytes from start already known to hold no '\n' */
	size_t max;       /* longest accepted line, without its '\n' */
	bool skipping;    /* inside an oversized line: drop until '\n' */
};

void wire_buf_init(struct wire_buf *b, size_t max);
void wire_buf_free(struct wire_buf *b);
/* Copies n bytes in.  Returns 0 or -ENOMEM. */
int wire_buf_append(struct wire_buf *b, const char *p, size_t n);
/*
 * Returns 1 with *line and *len set to the next complete line (without '\n', NUL
 * terminated in place; borrowed: valid until the next append), 0 when no
 * complete line is held, or -EMSGSIZE once per oversized line.
 */
int wire_buf_next_line(struct wire_buf *b, char **line, size_t *len);
/* Bytes held that are not part of a returned line (a partial line). */
size_t wire_buf_pending(const struct wire_buf *b);

/* Builds a request line: {"jsonrpc":"2.0","id":id,"method":m,"params":p}\n.
 * `params` is borrowed (may be NULL); returns a malloc'd string, caller frees. */
char *wire_request(long long id, const char *method, json_t *params);

/* Encodes `obj` compactly followed by '\n'; returns a malloc'd string
 * (caller frees) or NULL. */
char *wire_encode_line(const json_t *obj, size_t *len);

/*
 * The same bytes as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), made a
 * few values at a time: a reply of 100,000 ids is encoded in slices between
 * other clients' requests (the daemon's import) instead of in one go.  Each
 * container down to WIRE_STREAM_DEPTH levels is walked member by member;
 * values deeper than that, and scalars, are encoded whole by jansson, whose
 * escaping and number formats are thereby the ones used.
 */
#define WIRE_STREAM_DEPTH 8 /* containers walked piecewise; deeper ones encoded whole */
typedef int (*wire_put_fn)(void *ud, const char *s, size_t n); /* 0, or a negative errno */
struct wire_stream_at {
	json_t *v;        /* the container (borrowed) */
	void *iter;       /* an object's next member */
	size_t i;         /* an array's next element */
	bool first;       /* nothing of it written yet but its bracket */
};
struct wire_stream {
	json_t *pending;  /* the value not yet started (borrowed) */
	int depth;        /* containers open */
	struct wire_stream_at at[WIRE_STREAM_DEPTH];
};
/* Starts encoding `v` (borrowed: alive and unchanged until the end). */
void wire_stream_init(struct wire_stream *s, json_t *v);
/* Gives the next pieces of the encoding to put(ud, ...), about `n` values'
 * worth.  Returns 1 once all of it went out, 0 when there is more, or a
 * negative errno (put's, or -ENOMEM). */
int wire_stream_next(struct wire_stream *s, size_t n, wire_put_fn put, void *ud);

#endif
