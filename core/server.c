/* server — see server.h. */
#include "server.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "wire.h"

#define READ_CHUNK 65536
#define WRITE_HIGH (8u << 20)  /* stop reading a client that does not read */
#define WRITE_LOW (1u << 20)
/* A request line this long is decoded on a worker (a 16 MiB import takes
 * the loop most of a second to decode): the connection reads nothing more
 * meanwhile, the other clients are answered. */
#define DECODE_ON_WORKER (256u << 10)
/* A burst of connections is accepted this long per loop turn (each costs
 * its peer's credentials and user name); the rest wait for the next turn,
 * the clients' requests read between. */
#define ACCEPT_TURN_NS (5 * 1000000)

struct slot;

struct conn {
	uv_pipe_t pipe;           /* first: handles are cast back to the conn */
	uv_timer_t timer;         /* the idle or the request timeout, see timer_cb */
	uv_shutdown_t shutdown;   /* ends the connection after its last reply */
	struct server *srv;
	struct wire_buf in;
	struct auth_peer peer;
	struct slot *head, *tail; /* requests in order, replies not yet written */
	int async;                /* replies waiting for a commit */
	char *held;               /* a read waiting for this connection's writes */
	size_t held_len;
	int open_handles;
	uint64_t active_at;       /* loop ms: the last line taken or reply written */
	uint64_t line_since;      /* loop ms: a request line begun then (0: none) */
	bool reading, eof, closing, paused_for_writes, finishing;
	bool decoding;            /* a line being decoded on a worker */
	struct conn *prev, *next;
};

/* A long line being decoded on a worker (DECODE_ON_WORKER). */
struct decode {
	uv_work_t work;
	struct conn *conn;
	char *line;               /* a copy (owned) */
	size_t len;
	json_t *req;              /* what the worker read, or NULL with err */
	json_error_t err;
};

/* A piece of a reply streamed before its end (rpc_stream_ops). */
struct piece {
	struct piece *next;
	char *buf;                /* owned */
	size_t len;
};

struct slot {
	struct conn *conn;        /* NULL once the connection is gone */
	char *line;               /* the reply (its last bytes when streamed), owned */
	size_t len;
	struct piece *pieces, **pieces_tail; /* streamed, waiting for their turn */
	size_t pending;           /* their bytes */
	bool ready, async;
	struct slot *next;
};

struct server {
	uv_pipe_t listener;
	uv_loop_t *loop;
	struct rpc *rpc;
	struct auth *auth;
	struct server_opts o;
	char *path;
	struct conn *conns;
	size_t nconns;
	bool stopping;
	/* Accepting in this loop turn (uv_now) since turn_ns; a connection
	 * held by libuv for the next turn (struct accept_later), or NULL. */
	uint64_t turn_now, turn_ns;
	struct accept_later *later;
};

/* Accepts the held connection at the next loop turn (an idle handle of its
 * own, freed when closed: the server does not wait for it). */
struct accept_later {
	uv_idle_t idle;           /* first: the handle is cast back */
	struct server *s;
};

static void conn_close(struct conn *c);
static void conn_finish(struct conn *c);
static void process(struct conn *c);
static void read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf);
static void timer_cb(uv_timer_t *t);

size_t server_connections(void *ud)
{
	return ((struct server *)ud)->nconns;
}

/* --- writing -------------------------------------------------------------- */

/* One write of the replies ready at a connection's head: many replies in
 * one uv_write (one writev), so pipelined requests cost one syscall. */
#define FLUSH_MAX 64
struct wreq {
	uv_write_t req;
	struct conn *conn;
	unsigned n;
	char *lines[]; /* owned, freed when written */
};

static void write_cb(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct conn *c = w->conn;
	for (unsigned i = 0; i < w->n; i++)
		free(w->lines[i]);
	free(w);
	if (status < 0) {
		if (status != UV_ECANCELED)
			log_debug("server: write failed peer_pid=%d error=\"%s\"", (int)c->peer.pid,
				  uv_strerror(status));
		conn_close(c);
		return;
	}
	if (c->paused_for_writes && !c->closing &&
	    uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) < WRITE_LOW) {
		c->paused_for_writes = false;
		process(c);
	}
}

static void pieces_free(struct slot *s)
{
	for (struct piece *p = s->pieces, *next; p; p = next) {
		next = p->next;
		free(p->buf);
		free(p);
	}
	s->pieces = NULL;
	s->pieces_tail = NULL;
	s->pending = 0;
}

/* Takes the head slot's next bytes into bufs: its streamed pieces, then its
 * line once it is ready (the slot is then done and freed).  Returns whether
 * the next slot may follow. */
static bool take_head(struct conn *c, uv_buf_t *bufs, char **lines, unsigned *n)
{
	struct slot *s = c->head;
	while (s->pieces && *n < FLUSH_MAX) {
		struct piece *p = s->pieces;
		s->pieces = p->next;
		if (!s->pieces)
			s->pieces_tail = NULL;
		s->pending -= p->len;
		if (!c->closing) {
			bufs[*n] = uv_buf_init(p->buf, (unsigned)p->len);
			lines[(*n)++] = p->buf;
		} else {
			free(p->buf);
		}
		free(p);
	}
	if (s->pieces || !s->ready || *n >= FLUSH_MAX)
		return false;
	c->head = s->next;
	if (!c->head)
		c->tail = NULL;
	if (s->line && !c->closing) {
		bufs[*n] = uv_buf_init(s->line, (unsigned)s->len);
		lines[(*n)++] = s->line;
	} else {
		free(s->line);
	}
	free(s);
	return true;
}

/* Writes every reply that is ready at the head, in request order, and the
 * pieces of a reply streamed at the head. */
static void flush(struct conn *c)
{
	for (;;) {
		uv_buf_t bufs[FLUSH_MAX];
		char *lines[FLUSH_MAX];
		unsigned n = 0;
		while (c->head && take_head(c, bufs, lines, &n))
			;
		if (n == 0)
			break;
		c->active_at = uv_now(c->srv->loop); /* idle counts from the last reply */
		struct wreq *w = malloc(sizeof *w + n * sizeof w->lines[0]);
		if (w) {
			w->conn = c;
			w->n = n;
			memcpy(w->lines, lines, n * sizeof lines[0]);
			if (uv_write(&w->req, (uv_stream_t *)&c->pipe, bufs, n, write_cb) == 0)
				continue;
			free(w);
		}
		for (unsigned i = 0; i < n; i++)
			free(lines[i]);
		conn_close(c); /* a reply lost in the middle: the line cannot go on */
		break;
	}
	if (!c->closing && uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) > WRITE_HIGH)
		c->paused_for_writes = true;
	/* A client that sent EOF gets its last replies, then the close. */
	if (c->eof && !c->head && !c->held && !c->closing && !c->decoding)
		conn_finish(c);
}

/* rpc's reply callback: the slot is done (line may be NULL: notification). */
static void on_reply(void *ud, char *line, size_t len)
{
	struct slot *s = ud;
	struct conn *c = s->conn;
	if (!c) { /* the connection went away while the write was in flight */
		free(line);
		free(s);
		return;
	}
	s->line = line;
	s->len = len;
	s->ready = true;
	if (s->async) {
		c->async--;
		flush(c);
		/* A read held back for this connection's writes may go now. */
		if (c->async == 0 && c->held)
			process(c);
		return;
	}
	/* Synchronous replies are flushed by process() after the batch. */
}

/* --- streamed replies (rpc_stream_ops) ------------------------------------ */

static void stream_piece(void *ud, char *buf, size_t len)
{
	struct slot *s = ud;
	struct piece *p = s->conn && !s->conn->closing ? malloc(sizeof *p) : NULL;
	if (!p) {
		free(buf);
		if (s->conn)
			conn_close(s->conn); /* the reply cannot be whole any more */
		return;
	}
	*p = (struct piece){ .buf = buf, .len = len };
	if (s->pieces_tail)
		*s->pieces_tail = p;
	else
		s->pieces = p;
	s->pieces_tail = &p->next;
	s->pending += len;
	if (s->conn->head == s)
		flush(s->conn);
}

/*
 * Whether the peer hung up.  A client that only shut down its sending side
 * (it sent its last request and waits for the replies) is still there; one
 * that closed its socket gets POLLHUP.  Checked between the slices of long
 * work, whose connection does not read meanwhile and so would not see EOF.
 */
static bool peer_gone(struct conn *c)
{
	uv_os_fd_t fd;
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) < 0)
		return true;
	struct pollfd p = { .fd = fd, .events = 0 };
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static long stream_backlog(void *ud)
{
	struct slot *s = ud;
	struct conn *c = s->conn;
	if (!c || c->closing)
		return -1;
	if (peer_gone(c)) {
		log_debug("server: the peer hung up during long work peer_pid=%d", (int)c->peer.pid);
		conn_close(c);
		return -1;
	}
	return (long)(s->pending + uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe));
}

static void stream_abort(void *ud)
{
	struct slot *s = ud;
	if (s->conn)
		conn_close(s->conn);
	pieces_free(s);
	on_reply(s, NULL, 0);
}

static const struct rpc_stream_ops stream_ops = { stream_piece, stream_backlog, stream_abort };

static struct slot *slot_new(struct conn *c)
{
	struct slot *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->conn = c;
	if (c->tail)
		c->tail->next = s;
	else
		c->head = s;
	c->tail = s;
	return s;
}

/* --- reading -------------------------------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	static char chunk[READ_CHUNK]; /* one loop thread: one buffer */
	*buf = uv_buf_init(chunk, sizeof chunk);
}

static void handled(struct conn *c, struct slot *s, enum rpc_status st, char *line, size_t len);
static void handle_closed(uv_handle_t *h);

static void decode_work(uv_work_t *w)
{
	struct decode *d = w->data;
	d->req = rpc_decode(d->line, d->len, &d->err);
}

static void decode_done(uv_work_t *w, int status)
{
	struct decode *d = w->data;
	struct conn *c = d->conn;
	c->decoding = false;
	struct slot *s = status == 0 && !c->closing ? slot_new(c) : NULL;
	if (!s) {
		json_decref(d->req);
		if (!c->closing)
			conn_close(c);
	} else {
		enum rpc_status st = rpc_handle_decoded(c->srv->rpc, &c->peer, d->req, &d->err,
							c->async > 0, s, on_reply);
		handled(c, s, st, d->line, d->len);
	}
	free(d->line);
	free(d);
	/* The decode held the connection like a handle (handle_closed). */
	handle_closed((uv_handle_t *)&c->pipe);
	if (s && !c->closing)
		process(c);
}

/* A long line: copied and decoded on a worker; false when it cannot be. */
static bool decode_on_worker(struct conn *c, const char *line, size_t len)
{
	struct decode *d = calloc(1, sizeof *d);
	if (!d || !(d->line = malloc(len + 1))) {
		free(d);
		return false;
	}
	memcpy(d->line, line, len);
	d->line[len] = '\0';
	d->len = len;
	d->conn = c;
	d->work.data = d;
	if (uv_queue_work(c->srv->loop, &d->work, decode_work, decode_done) < 0) {
		free(d->line);
		free(d);
		return false;
	}
	c->decoding = true;
	c->open_handles++;
	return true;
}

static void handle_line(struct conn *c, char *line, size_t len)
{
	if (len >= DECODE_ON_WORKER && decode_on_worker(c, line, len))
		return;
	struct slot *s = slot_new(c);
	if (!s) {
		conn_close(c);
		return;
	}
	enum rpc_status st = rpc_handle(c->srv->rpc, &c->peer, line, len, c->async > 0, s, on_reply);
	handled(c, s, st, line, len);
}

/* What the server does with a request's slot once rpc has it. */
static void handled(struct conn *c, struct slot *s, enum rpc_status st, char *line, size_t len)
{
	if (st == RPC_ASYNC) {
		/* A method may finish at once after all (enforce with nothing
		 * due): then the reply is already in the slot, and counting it
		 * as in flight would hold this connection's reads for ever. */
		if (!s->ready) {
			s->async = true;
			c->async++;
		}
	} else if (st == RPC_WAIT) {
		/* Not handled: drop the slot again and keep the line until this
		 * connection's writes are answered. */
		struct slot **pp = &c->head;
		while (*pp != s)
			pp = &(*pp)->next;
		*pp = NULL;
		c->tail = NULL;
		for (struct slot *t = c->head; t; t = t->next)
			c->tail = t;
		free(s);
		c->held = malloc(len + 1);
		if (!c->held) {
			conn_close(c);
			return;
		}
		memcpy(c->held, line, len + 1);
		c->held_len = len;
	}
}

/*
 * Starts the request timeout when bytes of a line are held and none were
 * before.  The clock starts at a line's first byte and stops at its end, not
 * at each byte: a client trickling a byte at a time (or a line that never
 * ends) would otherwise hold its connection for ever.
 */
static void watch_line(struct conn *c)
{
	bool in_line = wire_buf_pending(&c->in) > 0 || c->in.skipping;
	if (!in_line) {
		c->line_since = 0;
	} else if (c->line_since == 0) {
		c->line_since = uv_now(c->srv->loop);
		uv_timer_start(&c->timer, timer_cb, (uint64_t)c->srv->o.request_timeout_s * 1000, 0);
	}
}

/* Handles the complete lines held, in order, until one must wait. */
static void process(struct conn *c)
{
	/* While a line is decoded on a worker, replies still go out; the
	 * lines after it wait for decode_done. */
	if (c->held && !c->decoding) {
		if (c->async > 0 || c->closing)
			return;
		char *line = c->held;
		size_t len = c->held_len;
		c->held = NULL;
		handle_line(c, line, len);
		free(line);
		if (c->closing)
			return;
	}
	while (!c->held && !c->closing && !c->paused_for_writes && !c->decoding) {
		char *line;
		size_t len;
		int rc = wire_buf_next_line(&c->in, &line, &len);
		if (rc == 0)
			break;
		if (rc == -EMSGSIZE) {
			struct slot *s = slot_new(c);
			if (!s) {
				conn_close(c);
				return;
			}
			char msg[128];
			snprintf(msg, sizeof msg, "request line longer than %zu bytes (limit request_bytes)",
				 c->srv->o.request_bytes);
			s->line = rpc_error_line(WIRE_OVER_LIMIT, msg, &s->len);
			s->ready = true;
			log_limited(LOG_KIND_OVERSIZE, LOG_WARN,
				    "server: request over the limit peer_uid=%u peer_pid=%d limit=%zu",
				    (unsigned)c->peer.uid, (int)c->peer.pid, c->srv->o.request_bytes);
			continue;
		}
		/* A line ended: whatever follows begins a new request. */
		c->active_at = uv_now(c->srv->loop);
		c->line_since = 0;
		if (len == 0)
			continue; /* blank lines are keep-alives */
		handle_line(c, line, len);
	}
	if (!c->closing) {
		watch_line(c);
		flush(c);
		/* Reading resumes only when nothing is held back. */
		bool want = !c->held && !c->paused_for_writes && !c->eof && !c->decoding;
		if (want && !c->reading && !c->closing) {
			if (uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb) == 0)
				c->reading = true;
		} else if (!want && c->reading) {
			uv_read_stop((uv_stream_t *)&c->pipe);
			c->reading = false;
		}
	}
}

static void read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = (struct conn *)stream;
	if (n == 0)
		return;
	if (n < 0) {
		if (n != UV_EOF) {
			conn_close(c);
			return;
		}
		c->eof = true;
		uv_read_stop(stream);
		c->reading = false;
		process(c);
		if (!c->closing && !c->head && !c->held && !c->decoding)
			conn_finish(c);
		return;
	}
	if (wire_buf_append(&c->in, buf->base, (size_t)n) < 0) {
		conn_close(c);
		return;
	}
	process(c);
}

/* --- connections ---------------------------------------------------------- */

/* A request line begun and not ended in time: the peer is told which limit
 * closed it, then the connection ends. */
static void request_timeout(struct conn *c)
{
	struct server *s = c->srv;
	/* A client causes this at will, on every connection it may hold:
	 * rate-limited, as refused connections are. */
	log_limited(LOG_KIND_REQUEST_TIMEOUT, LOG_WARN,
		    "server: request timeout, connection closed peer_uid=%u peer_user=%s peer_pid=%d "
		    "limit_s=%d bytes=%zu",
		    (unsigned)c->peer.uid, c->peer.user, (int)c->peer.pid, s->o.request_timeout_s,
		    wire_buf_pending(&c->in));
	struct slot *sl = slot_new(c);
	char msg[200];
	snprintf(msg, sizeof msg, "request not completed within %d s (limit request_timeout_s); "
		 "send each request as one line, ended by a newline", s->o.request_timeout_s);
	if (!sl || !(sl->line = rpc_error_line(WIRE_OVER_LIMIT, msg, &sl->len))) {
		conn_close(c);
		return;
	}
	sl->ready = true;
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = false;
	}
	c->eof = true; /* nothing more is read: flush() ends the connection */
	flush(c);
}

/*
 * The connection's one timer, re-armed for whichever timeout applies now: the
 * request timeout while a line is begun, else the idle timeout.  Deadlines
 * move without touching the timer (a line ends, a reply is written); it
 * fires, finds its deadline later, and sleeps again.
 */
static void timer_cb(uv_timer_t *t)
{
	struct conn *c = t->data;
	struct server *s = c->srv;
	uint64_t now = uv_now(s->loop);
	uint64_t idle = (uint64_t)s->o.idle_timeout_s * 1000;
	uint64_t req = (uint64_t)s->o.request_timeout_s * 1000;
	if (c->finishing) {
		/* Its last replies were not taken in a whole period: the peer
		 * does not read.  Close without them. */
		conn_close(c);
		return;
	}
	if (c->head || c->held || c->async > 0) {
		/* Waiting for its own replies (a commit, a backup): the wait is
		 * the daemon's, not the peer's; count from now. */
		c->active_at = now;
		if (c->line_since)
			c->line_since = now;
	}
	/* A peer that does not read its replies was stopped being read: the
	 * line it was sending is not late, the connection may be idle. */
	bool in_line = c->line_since && !c->paused_for_writes;
	uint64_t due = in_line ? c->line_since + req : c->active_at + idle;
	if (now < due) {
		uv_timer_start(t, timer_cb, due - now, 0);
	} else if (in_line) {
		request_timeout(c);
	} else {
		log_debug("server: idle connection closed peer_uid=%u peer_pid=%d", (unsigned)c->peer.uid,
			  (int)c->peer.pid);
		conn_close(c);
	}
}

static void handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->open_handles > 0)
		return;
	struct server *s = c->srv;
	/* Replies still owed go nowhere; their slots free themselves. */
	for (struct slot *sl = c->head, *next; sl; sl = next) {
		next = sl->next;
		pieces_free(sl);
		if (sl->async && !sl->ready) {
			sl->conn = NULL;
		} else {
			free(sl->line);
			free(sl);
		}
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	wire_buf_free(&c->in);
	free(c->held);
	free(c);
	if (s->stopping && s->nconns == 0 && !uv_is_active((uv_handle_t *)&s->listener) &&
	    uv_is_closing((uv_handle_t *)&s->listener) && s->listener.data == NULL) {
		free(s->path);
		free(s);
	}
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	(void)status;
	conn_close(req->data);
}

/*
 * Ends a connection whose replies are all handed to libuv: uv_shutdown waits
 * for the writes still queued (a pipelining client may not have read them
 * yet), then the connection closes.  Closing at once would cancel them.
 */
static void conn_finish(struct conn *c)
{
	if (c->closing || c->finishing)
		return;
	c->finishing = true;
	/* A peer gets one idle period to take its last replies. */
	uv_timer_start(&c->timer, timer_cb, (uint64_t)c->srv->o.idle_timeout_s * 1000, 0);
	c->shutdown.data = c;
	if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->pipe, shutdown_cb) < 0)
		conn_close(c);
}

static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, handle_closed);
	uv_close((uv_handle_t *)&c->pipe, handle_closed);
}

/* Frees a connection that never joined the list (refused, or no peer). */
static void conn_free(uv_handle_t *h)
{
	free(h->data);
}

static void refuse_cb(uv_write_t *req, int status)
{
	(void)status;
	struct wreq *w = (struct wreq *)req;
	free(w->lines[0]);
	uv_close((uv_handle_t *)req->handle, conn_free);
	free(w);
}

/*
 * Whether `p` may open one more connection.  Returns NULL, or the name of the
 * limit that refuses it with `why` (for the peer) filled in.  Admin is held
 * only by the total: the reserve is for it, and an operator who must look at
 * a daemon under a flood is the last one to lock out.
 */
static const char *admit(const struct server *s, const struct auth_peer *p, char *why, size_t n)
{
	size_t max = (size_t)s->o.max_connections;
	if (s->nconns >= max) {
		snprintf(why, n, "too many connections: all %zu are in use (limit limits.connections); "
			 "try again later, or raise limits.connections", max);
		return "connections";
	}
	if (p->roles & ROLE_ADMIN)
		return NULL;
	if (s->nconns >= max - (size_t)s->o.admin_reserve) {
		snprintf(why, n, "too many connections: the last %d of %zu are kept for admin "
			 "(limit limits.admin_reserve); try again later", s->o.admin_reserve, max);
		return "admin_reserve";
	}
	/* A walk of at most limits.connections entries, once per accept: less
	 * to get wrong than a table of counts kept beside the list. */
	size_t mine = 0;
	for (const struct conn *c = s->conns; c; c = c->next)
		mine += c->peer.uid == p->uid;
	if (mine >= (size_t)s->o.per_uid) {
		snprintf(why, n, "too many connections from user %s: %zu open (limit "
			 "limits.connections_per_uid); close some, or ask to raise "
			 "limits.connections_per_uid", p->user, mine);
		return "connections_per_uid";
	}
	return NULL;
}

/* Over a limit: the client is told why in one error line, then closed. */
static void refuse(struct server *s, struct conn *c, const char *limit, const char *why)
{
	/* A peer may connect in a loop: the log is rate-limited, with a count
	 * of what it left out (log_limited). */
	log_limited(LOG_KIND_REFUSED_CONNECTION, LOG_WARN,
		    "server: connection refused peer_uid=%u peer_user=%s peer_pid=%d limit=%s "
		    "connections=%zu",
		    (unsigned)c->peer.uid, c->peer.user, (int)c->peer.pid, limit, s->nconns);
	struct wreq *w = malloc(sizeof *w + sizeof w->lines[0]);
	size_t len = 0;
	char *line = rpc_error_line(WIRE_OVER_LIMIT, why, &len);
	if (!w || !line) {
		free(w);
		free(line);
		uv_close((uv_handle_t *)&c->pipe, conn_free);
		return;
	}
	w->conn = c;
	w->n = 1;
	w->lines[0] = line;
	uv_buf_t b = uv_buf_init(line, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, refuse_cb) < 0) {
		free(line);
		free(w);
		uv_close((uv_handle_t *)&c->pipe, conn_free);
	}
}

static void accept_cb(uv_stream_t *ls, int status);

static void later_closed(uv_handle_t *h) { free(h); }

static void accept_resume(uv_idle_t *h)
{
	struct server *s = ((struct accept_later *)h)->s;
	s->later = NULL;
	uv_close((uv_handle_t *)h, later_closed);
	accept_cb((uv_stream_t *)&s->listener, 0);
}

/* True when this turn's accepting is over: the connection libuv holds is
 * taken at the next turn (libuv watches the listener again only then). */
static bool accept_later(struct server *s)
{
	uint64_t now = uv_hrtime();
	if (uv_now(s->loop) != s->turn_now) {
		s->turn_now = uv_now(s->loop);
		s->turn_ns = now;
	}
	if (now - s->turn_ns < ACCEPT_TURN_NS || s->later)
		return false;
	struct accept_later *a = malloc(sizeof *a);
	if (!a || uv_idle_init(s->loop, &a->idle) < 0) {
		free(a);
		return false;
	}
	a->s = s;
	s->later = a;
	uv_idle_start(&a->idle, accept_resume);
	return true;
}

static void accept_cb(uv_stream_t *ls, int status)
{
	struct server *s = ls->data;
	if (status < 0) {
		/* EMFILE: libuv keeps a spare descriptor to accept-and-close with,
		 * so a flood cannot spin the loop. */
		log_limited(LOG_KIND_REFUSED_CONNECTION, LOG_WARN, "server: accept failed error=\"%s\"",
			    uv_strerror(status));
		return;
	}
	if (s->stopping || accept_later(s))
		return;
	struct conn *c = calloc(1, sizeof *c);
	if (!c)
		return;
	c->srv = s;
	uv_pipe_init(s->loop, &c->pipe, 0);
	c->pipe.data = c;
	if (uv_accept(ls, (uv_stream_t *)&c->pipe) < 0) {
		uv_close((uv_handle_t *)&c->pipe, conn_free);
		return;
	}
	/* Who it is decides which limits apply: credentials first. */
	uv_os_fd_t fd;
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) < 0 || auth_peer(s->auth, fd, &c->peer) < 0) {
		log_limited(LOG_KIND_REFUSED_CONNECTION, LOG_WARN,
			    "server: no peer credentials, connection closed");
		uv_close((uv_handle_t *)&c->pipe, conn_free);
		return;
	}
	char why[300];
	const char *limit = admit(s, &c->peer, why, sizeof why);
	if (limit) {
		refuse(s, c, limit, why);
		return;
	}
	uv_timer_init(s->loop, &c->timer);
	c->timer.data = c;
	c->open_handles = 2;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	wire_buf_init(&c->in, s->o.request_bytes);
	log_debug("server: connected peer_uid=%u peer_user=%s peer_pid=%d roles=0x%x",
		  (unsigned)c->peer.uid, c->peer.user, (int)c->peer.pid, c->peer.roles);
	c->active_at = uv_now(s->loop);
	uv_timer_start(&c->timer, timer_cb, (uint64_t)s->o.idle_timeout_s * 1000, 0);
	process(c);
}

/* --- start and stop ------------------------------------------------------- */

/* Is a daemon answering on path?  Returns 1 (live), 0 (no socket or stale). */
int server_probe(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int live = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return live;
}

static int ensure_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	/* Only the daemon may write where its socket lives: nobody can swap
	 * the socket for their own. */
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	struct stat sb;
	if (stat(dir, &sb) < 0)
		return -errno;
	if (sb.st_mode & (S_IWGRP | S_IWOTH))
		log_warn("server: socket directory is writable by others dir=%s mode=%o", dir,
			 (unsigned)(sb.st_mode & 0777));
	return 0;
}

/* The listener's close callback: the server, which holds the handle, is
 * freed here or, while connections remain, when the last one closes
 * (handle_closed); never before libuv is done with the handle. */
static void listener_closed(uv_handle_t *h)
{
	struct server *s = h->data;
	h->data = NULL;
	if (s->nconns == 0) {
		free(s->path);
		free(s);
	}
}

int server_start(struct server **out, uv_loop_t *loop, const struct server_opts *o,
		 struct rpc *rpc, struct auth *auth)
{
	if (strlen(o->path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	if (server_probe(o->path))
		return -EADDRINUSE;
	struct stat sb;
	if (lstat(o->path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode))
			return -EEXIST; /* never unlink what is not a socket */
		log_info("server: removing stale socket path=%s", o->path);
		unlink(o->path);
	}
	int rc = ensure_dir(o->path);
	if (rc < 0)
		return rc;
	struct server *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->rpc = rpc;
	s->auth = auth;
	s->o = *o;
	s->path = strdup(o->path);
	s->o.path = s->path;
	uv_pipe_init(loop, &s->listener, 0);
	s->listener.data = s;
	/* Created owner-only, then opened up to socket_mode: no window in
	 * which anyone else may connect. */
	mode_t old = umask(0177);
	rc = uv_pipe_bind(&s->listener, s->path);
	umask(old);
	if (rc == 0 && chmod(s->path, o->mode) < 0)
		rc = -errno;
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->listener, 511, accept_cb);
	if (rc < 0) {
		/* libuv holds the handle until its close callback has run, at the
		 * loop's next turn: the server is freed there, not now. */
		uv_close((uv_handle_t *)&s->listener, listener_closed);
		return rc;
	}
	rpc_set_stream(rpc, &stream_ops);
	*out = s;
	return 0;
}

void server_stop(struct server *s)
{
	s->stopping = true;
	unlink(s->path);
	for (struct conn *c = s->conns; c; c = c->next) {
		/* Let replies in flight be written; stop taking requests. */
		if (c->reading) {
			uv_read_stop((uv_stream_t *)&c->pipe);
			c->reading = false;
		}
		c->eof = true;
		if (!c->head && !c->held && !c->decoding)
			conn_finish(c);
	}
	if (s->later) {
		uv_close((uv_handle_t *)&s->later->idle, later_closed);
		s->later = NULL;
	}
	uv_close((uv_handle_t *)&s->listener, listener_closed);
}
