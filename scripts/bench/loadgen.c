/*
 * loadgen — the benchmark's load generator (scripts/bench/loadgen.c).
 *
 * Speaks liud's protocol (JSON-RPC 2.0, one object per line) or Redis's RESP
 * over a Unix stream socket, keeps N connections each with D requests in
 * flight (pipelining), and records the latency of every request (time from
 * the request being handed to the socket to its reply being parsed) in a
 * log-linear histogram (relative error < 0.8 %).  One epoll loop per thread.
 *
 * Requests come from templates: one template per line of a file (or per
 * --request); request SEQ uses template (SEQ-1) mod K, whatever --seq-start
 * is, so that a template's variant is a function of SEQ.  Placeholders:
 *   {{SEQ}}  the request's sequence number (--seq-start, +1 each request),
 *            printed with --seq-fmt (printf, e.g. %06lu)
 *   {{ID}}   a random integer in [--id-min, --id-max], printed with --id-fmt
 * For RESP a template line is the command's arguments separated by TAB.
 *
 * Modes
 *   run (default)   --duration S [--warmup S]  or  --count N
 *   --during REQ    (repeatable) once --warmup has passed, a separate control
 *                   connection sends these one after the other; the window
 *                   measured is from the first one sent to the last reply;
 *                   the load keeps going until then.  Prints each reply's time.
 *   --spawn -- CMD  forks CMD (the daemon), polls the socket until it accepts
 *                   and answers --request, prints startup_ms and the pid, then
 *                   stays CMD's parent until it exits (so it is reaped).
 *
 * Output: one line of key=value on stdout (see report()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		die("out of memory");
	return p;
}

struct buf {
	char *p;
	size_t len, cap, off; /* off: bytes already consumed/sent from the front */
};

static void buf_reserve(struct buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return;
	if (b->off > 0) { /* compact first */
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->len + more <= b->cap)
			return;
	}
	size_t cap = b->cap ? b->cap : 16384;
	while (cap < b->len + more)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

static void buf_add(struct buf *b, const void *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* ---------------------------------------------------------------- histogram */

/* Log-linear: values below 2^SUB_BITS are exact; above, 2^SUB_BITS
 * sub-buckets per power of two. */
#define SUB_BITS 7
#define NSUB (1u << SUB_BITS)
#define NBUCKETS (64 * NSUB)

struct hist {
	uint64_t n[NBUCKETS];
	uint64_t count, max, sum;
};

static unsigned hist_index(uint64_t v)
{
	if (v < NSUB)
		return (unsigned)v;
	unsigned e = 63 - (unsigned)__builtin_clzll(v); /* >= SUB_BITS */
	unsigned shift = e - SUB_BITS;
	return shift * NSUB + (unsigned)(v >> shift); /* v >> shift in [NSUB, 2 NSUB) */
}

/* The middle of the values that fall into bucket i. */
static double hist_value(unsigned i)
{
	if (i < NSUB)
		return (double)i;
	unsigned shift = i / NSUB - 1;
	uint64_t m = i - shift * NSUB;
	uint64_t lo = m << shift, width = (uint64_t)1 << shift;
	return (double)lo + (double)(width - 1) / 2.0;
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->n[hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

static void hist_merge(struct hist *to, const struct hist *from)
{
	for (unsigned i = 0; i < NBUCKETS; i++)
		to->n[i] += from->n[i];
	to->count += from->count;
	to->sum += from->sum;
	if (from->max > to->max)
		to->max = from->max;
}

static double hist_pct(const struct hist *h, double p)
{
	if (!h->count)
		return 0;
	uint64_t want = (uint64_t)ceil(p / 100.0 * (double)h->count);
	if (want == 0)
		want = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < NBUCKETS; i++) {
		seen += h->n[i];
		if (seen >= want) {
			double v = hist_value(i);
			return v > (double)h->max ? (double)h->max : v;
		}
	}
	return (double)h->max;
}

/* ---------------------------------------------------------------- templates */

enum seg_kind { SEG_LIT, SEG_SEQ, SEG_ID };
struct seg {
	enum seg_kind kind;
	const char *s;
	size_t len;
};
struct arg { /* one RESP argument, or the whole JSON line */
	struct seg *segs;
	size_t nsegs;
};
struct tmpl {
	struct arg *args;
	size_t nargs;
};

enum proto { P_LIUD, P_RESP };

static struct {
	const char *socket;
	enum proto proto;
	int conns, depth, threads;
	double duration, warmup, drain, control_timeout;
	uint64_t count;
	uint64_t seq_start;
	uint64_t id_min, id_max;
	const char *id_fmt, *seq_fmt;
	struct tmpl *tmpls;
	size_t ntmpls;
	char **during;
	size_t nduring;
	int show_errors;
	const char *label;
	char **spawn_argv;
	const char *spawn_log;
	double spawn_timeout;
	const char *ready_request;
	bool quiet_replies;
} opt = {
	.proto = P_LIUD, .conns = 1, .depth = 1, .threads = 1, .drain = 30, .control_timeout = 600, .seq_start = 1,
	.id_min = 1, .id_max = 1, .id_fmt = "%" PRIu64, .seq_fmt = "%" PRIu64, .label = "run", .spawn_timeout = 120,
};

static void parse_arg(struct arg *a, const char *s, size_t len)
{
	a->segs = NULL;
	a->nsegs = 0;
	size_t i = 0, lit = 0;
	while (i <= len) {
		enum seg_kind k = SEG_LIT;
		size_t skip = 0;
		if (i + 7 <= len && memcmp(s + i, "{{SEQ}}", 7) == 0)
			k = SEG_SEQ, skip = 7;
		else if (i + 6 <= len && memcmp(s + i, "{{ID}}", 6) == 0)
			k = SEG_ID, skip = 6;
		if (skip || i == len) {
			if (i > lit) {
				a->segs = xrealloc(a->segs, (a->nsegs + 1) * sizeof *a->segs);
				a->segs[a->nsegs++] = (struct seg){ SEG_LIT, s + lit, i - lit };
			}
			if (skip) {
				a->segs = xrealloc(a->segs, (a->nsegs + 1) * sizeof *a->segs);
				a->segs[a->nsegs++] = (struct seg){ k, NULL, 0 };
				i += skip;
				lit = i;
				continue;
			}
			break;
		}
		i++;
	}
}

static void add_template(const char *line, size_t len)
{
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 0)
		return;
	char *copy = malloc(len + 1);
	if (!copy)
		die("out of memory");
	memcpy(copy, line, len);
	copy[len] = 0;
	opt.tmpls = xrealloc(opt.tmpls, (opt.ntmpls + 1) * sizeof *opt.tmpls);
	struct tmpl *t = &opt.tmpls[opt.ntmpls++];
	t->args = NULL;
	t->nargs = 0;
	if (opt.proto == P_LIUD) {
		t->args = xrealloc(NULL, sizeof *t->args);
		t->nargs = 1;
		parse_arg(&t->args[0], copy, len);
		return;
	}
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || copy[i] == '\t') {
			t->args = xrealloc(t->args, (t->nargs + 1) * sizeof *t->args);
			parse_arg(&t->args[t->nargs++], copy + start, i - start);
			start = i + 1;
		}
	}
}

static void load_templates(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die("%s: %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0)
		add_template(line, (size_t)n);
	free(line);
	fclose(f);
}

/* A number format such as "%06d" or "LIU-%06lu": text, one integer
 * conversion (flag 0, a width), text.  Parsed once; printed as uint64. */
struct numfmt {
	char pre[32], post[32];
	int width;
	bool zero;
};

static void numfmt_parse(struct numfmt *f, const char *s)
{
	memset(f, 0, sizeof *f);
	const char *p = strchr(s, '%');
	if (!p || (size_t)(p - s) >= sizeof f->pre)
		die("bad number format %s (want e.g. %%06d)", s);
	memcpy(f->pre, s, (size_t)(p - s));
	p++;
	if (*p == '0')
		f->zero = true, p++;
	while (*p >= '0' && *p <= '9')
		f->width = f->width * 10 + (*p++ - '0');
	while (*p == 'l' || *p == 'j' || *p == 'z' || *p == 'h')
		p++;
	if (*p != 'd' && *p != 'u' && *p != 'i')
		die("bad number format %s (want e.g. %%06d)", s);
	p++;
	if (strchr(p, '%') || strlen(p) >= sizeof f->post)
		die("bad number format %s (one conversion only)", s);
	strcpy(f->post, p);
}

static int numfmt_print(const struct numfmt *f, char *buf, size_t n, uint64_t v)
{
	return f->zero ? snprintf(buf, n, "%s%0*" PRIu64 "%s", f->pre, f->width, v, f->post)
		       : snprintf(buf, n, "%s%*" PRIu64 "%s", f->pre, f->width, v, f->post);
}

static struct numfmt g_seq_fmt, g_id_fmt;

static uint64_t rng_next(uint64_t *s)
{ /* xorshift64* */
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Appends segment values of `a` to out. */
static void emit_arg(struct buf *out, const struct arg *a, uint64_t seq, uint64_t *rng)
{
	char num[64];
	for (size_t i = 0; i < a->nsegs; i++) {
		const struct seg *s = &a->segs[i];
		int n;
		switch (s->kind) {
		case SEG_LIT:
			buf_add(out, s->s, s->len);
			break;
		case SEG_SEQ:
			n = numfmt_print(&g_seq_fmt, num, sizeof num, seq);
			buf_add(out, num, (size_t)n);
			break;
		case SEG_ID: {
			uint64_t span = opt.id_max - opt.id_min + 1;
			uint64_t id = opt.id_min + (span ? rng_next(rng) % span : 0);
			n = numfmt_print(&g_id_fmt, num, sizeof num, id);
			buf_add(out, num, (size_t)n);
			break;
		}
		}
	}
}

/* Appends request `seq` to out. */
static void emit_request(struct buf *out, uint64_t seq, uint64_t *rng, struct buf *scratch)
{
	const struct tmpl *t = &opt.tmpls[(seq ? seq - 1 : 0) % opt.ntmpls];
	if (opt.proto == P_LIUD) {
		emit_arg(out, &t->args[0], seq, rng);
		buf_add(out, "\n", 1);
		return;
	}
	char head[32];
	int n = snprintf(head, sizeof head, "*%zu\r\n", t->nargs);
	buf_add(out, head, (size_t)n);
	for (size_t i = 0; i < t->nargs; i++) {
		scratch->len = scratch->off = 0;
		emit_arg(scratch, &t->args[i], seq, rng);
		n = snprintf(head, sizeof head, "$%zu\r\n", scratch->len);
		buf_add(out, head, (size_t)n);
		buf_add(out, scratch->p, scratch->len);
		buf_add(out, "\r\n", 2);
	}
}

/* ---------------------------------------------------------------- reply parsing */

/* RESP: returns the length of one complete reply at p, 0 if incomplete, -1 if
 * malformed.  *err is set when the reply (or an element) is an error. */
static long resp_one(const char *p, size_t len, bool *err, int depth)
{
	if (len < 3)
		return 0;
	if (depth > 32)
		return -1;
	const char *nl = memchr(p, '\n', len);
	if (!nl)
		return 0;
	size_t line = (size_t)(nl - p) + 1;
	switch (p[0]) {
	case '-':
		*err = true;
		/* fallthrough */
	case '+':
	case ':':
		return (long)line;
	case '$': {
		long n = strtol(p + 1, NULL, 10);
		if (n < 0)
			return (long)line;
		if (len < line + (size_t)n + 2)
			return 0;
		return (long)(line + (size_t)n + 2);
	}
	case '*': {
		long n = strtol(p + 1, NULL, 10);
		size_t at = line;
		for (long i = 0; i < n; i++) {
			long k = resp_one(p + at, len - at, err, depth + 1);
			if (k <= 0)
				return k;
			at += (size_t)k;
		}
		return (long)at;
	}
	default:
		return -1;
	}
}

/* liud: a reply is an error when its top-level "error" member comes right
 * after the id (jansson keeps insertion order: jsonrpc, id, result|error). */
static bool liud_is_error(const char *p, size_t len)
{
	size_t lim = len < 160 ? len : 160;
	return memmem(p, lim, "\"error\":{\"code\"", 15) != NULL;
}

/* ---------------------------------------------------------------- connections */

struct conn {
	int fd;
	struct buf in, out;
	size_t scan;       /* liud: bytes of `in` already searched for '\n' */
	uint64_t *sent;    /* ring of send times */
	unsigned head, n;  /* oldest outstanding, outstanding count */
	bool want_out;
	struct worker *w;
};

struct worker {
	pthread_t th;
	int ep;
	struct conn *conns;
	int nconns;
	struct hist before, window, after;
	uint64_t errors, replies, window_ops;
	uint64_t rng;
	struct buf scratch;
	int shown;
	bool failed;
	char why[200];
};

static atomic_uint_fast64_t g_seq;
static atomic_bool g_stop;          /* stop sending */
static atomic_uint_fast64_t g_win_start, g_win_end; /* 0: not yet known */
static uint64_t g_t0;
static pthread_mutex_t g_print = PTHREAD_MUTEX_INITIALIZER;

static int connect_unix(const char *path, bool nonblock)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		die("socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	int sz = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	return fd;
}

/* Should a new request be sent?  Takes its sequence number. */
static bool next_seq(uint64_t *seq)
{
	if (atomic_load_explicit(&g_stop, memory_order_relaxed))
		return false;
	uint64_t k = atomic_fetch_add(&g_seq, 1);
	if (opt.count && k >= opt.count) {
		atomic_store(&g_stop, true);
		return false;
	}
	*seq = opt.seq_start + k;
	return true;
}

static void conn_fill(struct conn *c)
{
	uint64_t seq;
	while (c->n < (unsigned)opt.depth && next_seq(&seq)) {
		emit_request(&c->out, seq, &c->w->rng, &c->w->scratch);
		c->sent[(c->head + c->n) % (unsigned)opt.depth] = now_ns();
		c->n++;
	}
}

static int conn_flush(struct conn *c)
{
	while (c->out.off < c->out.len) {
		ssize_t k = write(c->fd, c->out.p + c->out.off, c->out.len - c->out.off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -1;
		}
		c->out.off += (size_t)k;
	}
	if (c->out.off == c->out.len)
		c->out.off = c->out.len = 0;
	bool want = c->out.len > 0;
	if (want != c->want_out) {
		struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c };
		epoll_ctl(c->w->ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->want_out = want;
	}
	return 0;
}

static void reply_done(struct conn *c, const char *p, size_t len, bool err, uint64_t t)
{
	struct worker *w = c->w;
	uint64_t sent = c->sent[c->head];
	c->head = (c->head + 1) % (unsigned)opt.depth;
	c->n--;
	uint64_t lat = t - sent;
	uint64_t ws = atomic_load_explicit(&g_win_start, memory_order_relaxed);
	uint64_t we = atomic_load_explicit(&g_win_end, memory_order_relaxed);
	w->replies++;
	if (ws == 0 || t < ws) {
		hist_add(&w->before, lat);
	} else if (we == 0 || t < we) {
		hist_add(&w->window, lat);
		w->window_ops++;
	} else {
		hist_add(&w->after, lat);
	}
	if (err) {
		w->errors++;
		if (w->shown < opt.show_errors) {
			w->shown++;
			pthread_mutex_lock(&g_print);
			fprintf(stderr, "loadgen: error reply: %.*s\n", (int)(len > 600 ? 600 : len), p);
			pthread_mutex_unlock(&g_print);
		}
	}
}

/* Parses the complete replies in c->in. */
static int conn_parse(struct conn *c)
{
	uint64_t t = now_ns();
	for (;;) {
		char *p = c->in.p + c->in.off;
		size_t len = c->in.len - c->in.off;
		if (len == 0)
			break;
		if (c->n == 0)
			return -1; /* a reply nobody asked for */
		if (opt.proto == P_LIUD) {
			char *nl = memchr(p + c->scan, '\n', len - c->scan);
			if (!nl) {
				c->scan = len;
				break;
			}
			size_t l = (size_t)(nl - p) + 1;
			reply_done(c, p, l, liud_is_error(p, l), t);
			c->in.off += l;
			c->scan = 0;
		} else {
			bool err = false;
			long l = resp_one(p, len, &err, 0);
			if (l < 0)
				return -1;
			if (l == 0)
				break;
			reply_done(c, p, (size_t)l, err, t);
			c->in.off += (size_t)l;
		}
	}
	if (c->in.off == c->in.len)
		c->in.off = c->in.len = 0;
	return 0;
}

static int conn_read(struct conn *c)
{
	for (;;) {
		buf_reserve(&c->in, 65536);
		ssize_t k = read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		if (k == 0)
			return -1; /* closed by the server */
		c->in.len += (size_t)k;
		if (conn_parse(c) < 0)
			return -1;
		if ((size_t)k < 65536)
			return 0;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[256];
	int open = w->nconns;
	for (int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];
		conn_fill(c);
		if (conn_flush(c) < 0) {
			snprintf(w->why, sizeof w->why, "write: %s", strerror(errno));
			w->failed = true;
			return NULL;
		}
	}
	uint64_t drain_deadline = 0;
	while (open > 0) {
		int outstanding = 0;
		for (int i = 0; i < w->nconns; i++)
			outstanding += w->conns[i].fd >= 0 ? (int)w->conns[i].n : 0;
		bool stopping = atomic_load(&g_stop);
		if (stopping && outstanding == 0)
			break;
		if (stopping && !drain_deadline)
			drain_deadline = now_ns() + (uint64_t)(opt.drain * 1e9);
		if (drain_deadline && now_ns() > drain_deadline) {
			snprintf(w->why, sizeof w->why, "%d replies still missing after %.0f s", outstanding,
				 opt.drain);
			w->failed = true;
			break;
		}
		int n = epoll_wait(w->ep, evs, 256, 50);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c->fd < 0)
				continue;
			int rc = 0;
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				rc = conn_read(c);
			if (rc == 0) {
				conn_fill(c);
				rc = conn_flush(c);
			}
			if (rc < 0) {
				snprintf(w->why, sizeof w->why, "connection lost (%s) with %u replies missing",
					 errno ? strerror(errno) : "closed", c->n);
				w->failed = true;
				close(c->fd);
				c->fd = -1;
				open--;
				atomic_store(&g_stop, true);
			}
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------- control connection */

/* Sends one line on a blocking fd and reads one reply line (liud) or one RESP
 * reply; returns the reply (malloc'ed) or NULL. */
static char *roundtrip(int fd, const char *req)
{
	struct buf out = { 0 };
	if (opt.proto == P_LIUD) {
		buf_add(&out, req, strlen(req));
		buf_add(&out, "\n", 1);
	} else {
		/* TAB-separated arguments */
		size_t n = 1;
		for (const char *p = req; *p; p++)
			n += *p == '\t';
		char head[32];
		int k = snprintf(head, sizeof head, "*%zu\r\n", n);
		buf_add(&out, head, (size_t)k);
		const char *s = req;
		for (;;) {
			const char *e = strchr(s, '\t');
			size_t l = e ? (size_t)(e - s) : strlen(s);
			k = snprintf(head, sizeof head, "$%zu\r\n", l);
			buf_add(&out, head, (size_t)k);
			buf_add(&out, s, l);
			buf_add(&out, "\r\n", 2);
			if (!e)
				break;
			s = e + 1;
		}
	}
	size_t off = 0;
	while (off < out.len) {
		ssize_t k = write(fd, out.p + off, out.len - off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			free(out.p);
			return NULL;
		}
		off += (size_t)k;
	}
	free(out.p);
	struct buf in = { 0 };
	for (;;) {
		buf_reserve(&in, 65536);
		ssize_t k = read(fd, in.p + in.len, in.cap - in.len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			free(in.p);
			return NULL;
		}
		in.len += (size_t)k;
		long l;
		if (opt.proto == P_LIUD) {
			char *nl = memchr(in.p, '\n', in.len);
			l = nl ? nl - in.p + 1 : 0;
		} else {
			bool err;
			l = resp_one(in.p, in.len, &err, 0);
		}
		if (l > 0) {
			buf_reserve(&in, 1);
			in.p[l] = 0;
			return in.p;
		}
		if (l < 0) {
			free(in.p);
			return NULL;
		}
	}
}

struct control {
	pthread_t th;
	double *ms;
	char **replies;
	bool failed;
};

static void *control_main(void *arg)
{
	struct control *ct = arg;
	uint64_t start = g_t0 + (uint64_t)(opt.warmup * 1e9);
	while (now_ns() < start)
		usleep(1000);
	int fd = connect_unix(opt.socket, false);
	if (fd < 0) {
		ct->failed = true;
		atomic_store(&g_stop, true);
		return NULL;
	}
	struct timeval tv = { .tv_sec = (time_t)opt.control_timeout };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	atomic_store(&g_win_start, now_ns());
	for (size_t i = 0; i < opt.nduring; i++) {
		uint64_t t = now_ns();
		ct->replies[i] = roundtrip(fd, opt.during[i]);
		ct->ms[i] = (double)(now_ns() - t) / 1e6;
		if (!ct->replies[i]) {
			ct->failed = true;
			break;
		}
	}
	atomic_store(&g_win_end, now_ns());
	atomic_store(&g_stop, true);
	close(fd);
	return NULL;
}

/* ---------------------------------------------------------------- spawn (start-up time) */

static int spawn_mode(void)
{
	if (!opt.ready_request)
		opt.ready_request = opt.proto == P_LIUD ? "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}" : "PING";
	unlink(opt.socket); /* a stale socket file must not count as ready */
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (opt.spawn_log) {
			int fd = open(opt.spawn_log, O_WRONLY | O_CREAT | O_APPEND, 0644);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
				close(fd);
			}
		}
		execvp(opt.spawn_argv[0], opt.spawn_argv);
		_exit(127);
	}
	uint64_t t_conn = 0;
	char *reply = NULL;
	uint64_t limit = t0 + (uint64_t)(opt.spawn_timeout * 1e9);
	int status;
	while (now_ns() < limit) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			printf("startup_ms=fail pid=%d exit=%d\n", (int)pid,
			       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			return 1;
		}
		int fd = connect_unix(opt.socket, false);
		if (fd < 0) {
			struct timespec ts = { 0, 200000 }; /* 0.2 ms */
			nanosleep(&ts, NULL);
			continue;
		}
		t_conn = now_ns();
		reply = roundtrip(fd, opt.ready_request);
		close(fd);
		if (reply)
			break;
	}
	uint64_t t1 = now_ns();
	if (!reply) {
		printf("startup_ms=fail pid=%d\n", (int)pid);
		fflush(stdout);
	} else {
		bool err = opt.proto == P_LIUD ? liud_is_error(reply, strlen(reply)) : reply[0] == '-';
		printf("startup_ms=%.2f connect_ms=%.2f pid=%d reply_error=%d\n", (double)(t1 - t0) / 1e6,
		       (double)(t_conn - t0) / 1e6, (int)pid, err ? 1 : 0);
		fflush(stdout);
		free(reply);
	}
	/* Stay the daemon's parent so that it is reaped when it stops. */
	fclose(stdout);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return 0;
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
	fputs("usage: loadgen --socket PATH [--proto liud|resp] [--conns N] [--depth D] [--threads T]\n"
	      "               (--duration S [--warmup S] | --count N | --during REQ ...)\n"
	      "               (--template FILE | --request REQ) [--seq-start N]\n"
	      "               [--id-min N --id-max N --id-fmt FMT] [--seq-fmt FMT]\n"
	      "               [--show-errors N] [--label L] [--drain S] [--control-timeout S]\n"
	      "       loadgen --socket PATH [--proto P] [--request REQ] [--spawn-log F] --spawn -- CMD...\n",
	      stderr);
	exit(2);
}

static void report(struct worker *ws, int nw, double secs, const struct hist *win, uint64_t ops,
		   uint64_t errors, const char *prefix)
{
	printf("%s ops=%" PRIu64 " errors=%" PRIu64 " secs=%.3f rps=%.1f p50_us=%.1f p90_us=%.1f "
	       "p99_us=%.1f p999_us=%.1f max_us=%.1f mean_us=%.1f",
	       prefix, ops, errors, secs, secs > 0 ? (double)ops / secs : 0, hist_pct(win, 50) / 1e3,
	       hist_pct(win, 90) / 1e3, hist_pct(win, 99) / 1e3, hist_pct(win, 99.9) / 1e3,
	       (double)win->max / 1e3, win->count ? (double)win->sum / (double)win->count / 1e3 : 0);
	(void)ws;
	(void)nw;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (usage(), (char *)NULL))
		if (!strcmp(a, "--socket")) opt.socket = NEXT();
		else if (!strcmp(a, "--proto")) {
			const char *p = NEXT();
			if (!strcmp(p, "liud")) opt.proto = P_LIUD;
			else if (!strcmp(p, "resp")) opt.proto = P_RESP;
			else usage();
		}
		else if (!strcmp(a, "--conns")) opt.conns = atoi(NEXT());
		else if (!strcmp(a, "--depth")) opt.depth = atoi(NEXT());
		else if (!strcmp(a, "--threads")) opt.threads = atoi(NEXT());
		else if (!strcmp(a, "--duration")) opt.duration = atof(NEXT());
		else if (!strcmp(a, "--warmup")) opt.warmup = atof(NEXT());
		else if (!strcmp(a, "--drain")) opt.drain = atof(NEXT());
		else if (!strcmp(a, "--control-timeout")) opt.control_timeout = atof(NEXT());
		else if (!strcmp(a, "--count")) opt.count = strtoull(NEXT(), NULL, 10);
		else if (!strcmp(a, "--seq-start")) opt.seq_start = strtoull(NEXT(), NULL, 10);
		else if (!strcmp(a, "--id-min")) opt.id_min = strtoull(NEXT(), NULL, 10);
		else if (!strcmp(a, "--id-max")) opt.id_max = strtoull(NEXT(), NULL, 10);
		else if (!strcmp(a, "--id-fmt")) opt.id_fmt = NEXT();
		else if (!strcmp(a, "--seq-fmt")) opt.seq_fmt = NEXT();
		else if (!strcmp(a, "--template")) load_templates(NEXT());
		else if (!strcmp(a, "--request")) { const char *r = NEXT(); add_template(r, strlen(r)); opt.ready_request = r; }
		else if (!strcmp(a, "--during")) {
			opt.during = xrealloc(opt.during, (opt.nduring + 1) * sizeof *opt.during);
			opt.during[opt.nduring++] = NEXT();
		}
		else if (!strcmp(a, "--show-errors")) opt.show_errors = atoi(NEXT());
		else if (!strcmp(a, "--label")) opt.label = NEXT();
		else if (!strcmp(a, "--spawn-log")) opt.spawn_log = NEXT();
		else if (!strcmp(a, "--spawn-timeout")) opt.spawn_timeout = atof(NEXT());
		else if (!strcmp(a, "--spawn")) {
			if (i + 2 > argc || strcmp(argv[i + 1], "--")) usage();
			opt.spawn_argv = argv + i + 2;
			break;
		}
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage();
		else die("unknown option %s", a);
#undef NEXT
	}
	if (!opt.socket)
		usage();
	numfmt_parse(&g_seq_fmt, opt.seq_fmt);
	numfmt_parse(&g_id_fmt, opt.id_fmt);
	if (opt.spawn_argv)
		return spawn_mode();
	if (opt.ntmpls == 0)
		die("no request template (--template or --request)");
	if (opt.conns < 1 || opt.depth < 1 || opt.threads < 1)
		die("conns, depth and threads must be at least 1");
	if (!opt.count && opt.duration <= 0 && !opt.nduring)
		die("give --duration, --count or --during");
	if (opt.threads > opt.conns)
		opt.threads = opt.conns;

	struct worker *ws = calloc((size_t)opt.threads, sizeof *ws);
	struct conn *conns = calloc((size_t)opt.conns, sizeof *conns);
	if (!ws || !conns)
		die("out of memory");
	for (int t = 0; t < opt.threads; t++) {
		ws[t].ep = epoll_create1(EPOLL_CLOEXEC);
		ws[t].rng = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)(t + 1) * 0x100000001B3ULL) ^ (uint64_t)getpid();
		ws[t].conns = conns + (opt.conns * t) / opt.threads;
		ws[t].nconns = (opt.conns * (t + 1)) / opt.threads - (opt.conns * t) / opt.threads;
	}
	for (int i = 0; i < opt.conns; i++) {
		struct conn *c = &conns[i];
		struct worker *w = &ws[(i * opt.threads) / opt.conns];
		c->w = w;
		c->fd = connect_unix(opt.socket, true);
		if (c->fd < 0)
			die("connect %s: %s", opt.socket, strerror(errno));
		c->sent = calloc((size_t)opt.depth, sizeof *c->sent);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev);
	}

	g_t0 = now_ns();
	if (opt.duration > 0 && !opt.nduring) {
		atomic_store(&g_win_start, g_t0 + (uint64_t)(opt.warmup * 1e9));
		atomic_store(&g_win_end, g_t0 + (uint64_t)((opt.warmup + opt.duration) * 1e9));
	} else if (!opt.nduring) {
		atomic_store(&g_win_start, g_t0); /* --count: everything counts */
	}
	for (int t = 0; t < opt.threads; t++)
		pthread_create(&ws[t].th, NULL, worker_main, &ws[t]);

	struct control ct = { 0 };
	if (opt.nduring) {
		ct.ms = calloc(opt.nduring, sizeof *ct.ms);
		ct.replies = calloc(opt.nduring, sizeof *ct.replies);
		pthread_create(&ct.th, NULL, control_main, &ct);
	} else if (opt.duration > 0) {
		uint64_t end = g_t0 + (uint64_t)((opt.warmup + opt.duration) * 1e9);
		while (now_ns() < end && !atomic_load(&g_stop))
			usleep(2000);
		atomic_store(&g_stop, true);
	}
	if (opt.nduring)
		pthread_join(ct.th, NULL);
	for (int t = 0; t < opt.threads; t++)
		pthread_join(ws[t].th, NULL);
	uint64_t t_end = now_ns();

	struct hist *before = calloc(1, sizeof *before), *win = calloc(1, sizeof *win);
	uint64_t errors = 0, win_ops = 0, replies = 0;
	bool failed = false;
	for (int t = 0; t < opt.threads; t++) {
		hist_merge(before, &ws[t].before);
		hist_merge(win, &ws[t].window);
		errors += ws[t].errors;
		win_ops += ws[t].window_ops;
		replies += ws[t].replies;
		if (ws[t].failed) {
			fprintf(stderr, "loadgen: %s: %s\n", opt.label, ws[t].why);
			failed = true;
		}
	}
	double secs;
	uint64_t ws0 = atomic_load(&g_win_start), we0 = atomic_load(&g_win_end);
	if (opt.nduring || (opt.duration > 0))
		secs = we0 > ws0 ? (double)(we0 - ws0) / 1e9 : 0;
	else
		secs = (double)(t_end - g_t0) / 1e9;
	char prefix[300];
	snprintf(prefix, sizeof prefix, "%s proto=%s conns=%d depth=%d", opt.label,
		 opt.proto == P_LIUD ? "liud" : "resp", opt.conns, opt.depth);
	report(ws, opt.threads, secs, win, win_ops, errors, prefix);
	if (opt.nduring) {
		printf(" before_ops=%" PRIu64 " before_p50_us=%.1f before_p99_us=%.1f", before->count,
		       hist_pct(before, 50) / 1e3, hist_pct(before, 99) / 1e3);
		for (size_t i = 0; i < opt.nduring; i++)
			printf(" during%zu_ms=%.1f", i + 1, ct.ms[i]);
		if (ct.failed)
			printf(" control=failed");
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf(" replies=%" PRIu64 " client_cpu_pct=%.0f%s\n", replies,
	       100.0 * cpu / ((double)(t_end - g_t0) / 1e9), failed ? " failed=1" : "");
	if (opt.nduring) {
		for (size_t i = 0; i < opt.nduring; i++)
			if (ct.replies[i])
				fprintf(stderr, "loadgen: control reply %zu: %.400s\n", i + 1, ct.replies[i]);
	}
	fflush(stdout);
	return failed || ct.failed ? 1 : 0;
}
