/*
 * liuctl — the operator's client for liud: one command per method of the
 * socket protocol (SPEC §4), all of them in one table that drives argument
 * parsing, the mapping of arguments to params, and the usage text, the way
 * smtpctl's parser is driven by its cmd_install() patterns.
 *
 * A command line is matched against the table, parsed against the entry's
 * pattern, turned into the method's params, sent as one JSON-RPC line over
 * the Unix socket, and the reply is printed for people (tables aligned by East
 * Asian display width) or, with --json, as the raw result.  The client links
 * only the wire module (framing, request lines, error codes), jansson and
 * libc: it shares nothing else with the daemon, so it can never depend on the
 * daemon's internals.
 *
 * Exit status: 0 success; 1 an error reply (or a result that says "ok":
 * false, such as a broken audit chain); 2 usage; 3 the daemon could not be
 * reached, or the connection broke before the reply came.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "version.h"
#include "wire.h"

#define REPLY_MAX ((size_t)1 << 30) /* longest reply line we accept: 1 GiB */
#define CELL_MAX 48                 /* widest table cell but a row's last, in columns */
#define TOKS_MAX 16                 /* tokens in one command pattern */
#define NAME_MAX_LEN 24             /* longest word or argument name in a pattern */
#define VERSION_SHORT 12            /* characters of a version hash shown to people */

enum status {
	ST_OK = 0,
	ST_REPLY = 1,   /* the daemon answered with an error */
	ST_USAGE = 2,
	ST_CONNECT = 3, /* no daemon, or the exchange broke */
	ST_HELP = -1,   /* internal: --help given after a command */
};

/* --- small helpers ------------------------------------------------------ */

/* A command-line client has nothing to save when memory runs out: say so and
 * stop, rather than thread ENOMEM through every printing function. */
static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fputs("liuctl: out of memory\n", stderr);
		exit(ST_REPLY);
	}
	return q;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xrealloc(NULL, n), s, n);
}

__attribute__((format(printf, 1, 2)))
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fputs("liuctl: out of memory\n", stderr);
		exit(ST_REPLY);
	}
	return s;
}

/* Borrowed string member of an object, or NULL. */
static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The same, or `dflt` when the member is missing or not a string. */
static const char *jstr_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = jstr(o, key);
	return s ? s : dflt;
}

static bool parse_int(const char *s, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

/* --- display width ------------------------------------------------------ */

#define UTF8_BAD 0xFFFFFFFFu /* a byte that does not start a valid sequence */

/* Decodes one UTF-8 character at s (NUL-terminated).  Returns its length,
 * 1 with *cp = UTF8_BAD for an invalid byte (overlong, surrogate, cut). */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2, v = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3, v = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		goto bad;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80) /* also stops at the terminating NUL */
			goto bad;
		v = v << 6 | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		goto bad;
	*cp = v;
	return n;
bad:
	*cp = UTF8_BAD;
	return 1;
}

struct range {
	uint32_t lo, hi;
};

/* Characters that take no column of their own: they combine with the one
 * before them (accents, kana voicing marks, variation selectors) or are
 * invisible joiners. */
static const struct range zero_width[] = {
	{ 0x0300, 0x036F }, { 0x0483, 0x0489 }, { 0x0591, 0x05BD }, { 0x0610, 0x061A },
	{ 0x064B, 0x065F }, { 0x0E31, 0x0E31 }, { 0x0E34, 0x0E3A }, { 0x0E47, 0x0E4E },
	{ 0x1160, 0x11FF }, { 0x1AB0, 0x1AFF }, { 0x1DC0, 0x1DFF }, { 0x200B, 0x200F },
	{ 0x2060, 0x2064 }, { 0x20D0, 0x20FF }, { 0x302A, 0x302D }, { 0x3099, 0x309A },
	{ 0xD7B0, 0xD7FF }, { 0xFE00, 0xFE0F }, { 0xFE20, 0xFE2F }, { 0xFEFF, 0xFEFF },
	{ 0xE0100, 0xE01EF },
};

/* East Asian Wide and Fullwidth characters: two columns on a terminal. */
static const struct range double_width[] = {
	{ 0x1100, 0x115F },   /* Hangul Jamo leading consonants */
	{ 0x2E80, 0x303E },   /* CJK radicals, Kangxi, CJK symbols and punctuation */
	{ 0x3041, 0x33FF },   /* kana, bopomofo, Hangul compatibility Jamo, enclosed CJK */
	{ 0x3400, 0x4DBF },   /* CJK extension A */
	{ 0x4E00, 0x9FFF },   /* CJK unified ideographs */
	{ 0xA000, 0xA4CF },   /* Yi */
	{ 0xA960, 0xA97F },   /* Hangul Jamo extended-A */
	{ 0xAC00, 0xD7A3 },   /* Hangul syllables */
	{ 0xF900, 0xFAFF },   /* CJK compatibility ideographs */
	{ 0xFE10, 0xFE19 },   /* vertical forms */
	{ 0xFE30, 0xFE6F },   /* CJK compatibility forms, small form variants */
	{ 0xFF00, 0xFF60 },   /* fullwidth ASCII and punctuation */
	{ 0xFFE0, 0xFFE6 },   /* fullwidth signs */
	{ 0x1F300, 0x1F64F }, /* pictographs, emoticons */
	{ 0x1F900, 0x1F9FF }, /* supplemental symbols and pictographs */
	{ 0x20000, 0x2FFFD }, /* CJK extensions B to F, compatibility supplement */
	{ 0x30000, 0x3FFFD }, /* CJK extension G and later */
};

static bool in_ranges(uint32_t c, const struct range *r, size_t n)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c < r[mid].lo)
			hi = mid;
		else if (c > r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* Columns a printable character takes (a small wcwidth() that does not
 * depend on the locale the operator happens to run under). */
static int cp_width(uint32_t c)
{
	if (in_ranges(c, zero_width, sizeof zero_width / sizeof *zero_width))
		return 0;
	if (in_ranges(c, double_width, sizeof double_width / sizeof *double_width))
		return 2;
	return 1;
}

/*
 * Reads one character at *p for display and advances *p past it.  Sets
 * *out and *outn to the bytes to print and returns the columns they take.
 *
 * Record content is typed by people outside the operator's control, so
 * nothing from it reaches the terminal as a control: C0, DEL and C1 controls
 * and the bidirectional overrides become '?' (tab and line breaks a space,
 * or themselves when `lines` allows them), so data can neither move the
 * cursor, send escape sequences nor reorder what the operator reads.
 */
static int safe_char(const char **p, const char **out, size_t *outn, bool lines)
{
	uint32_t c;
	size_t n = utf8_next((const unsigned char *)*p, &c);
	*out = *p;
	*outn = n;
	*p += n;
	if (lines && (c == '\n' || c == '\t'))
		return 0;
	if (c == '\n' || c == '\t' || c == '\r') {
		*out = " ";
		*outn = 1;
		return 1;
	}
	if (c == UTF8_BAD || c < 0x20 || (c >= 0x7F && c < 0xA0) || c == 0x061C ||
	    (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069)) {
		*out = "?";
		*outn = 1;
		return 1;
	}
	return cp_width(c);
}

/* Display width of s as safe_char() prints it. */
static int text_width(const char *s)
{
	int w = 0;
	const char *out;
	size_t n;
	while (*s)
		w += safe_char(&s, &out, &n, false);
	return w;
}

/* Writes s made safe for a terminal (see safe_char). */
static void put_text(FILE *f, const char *s, bool lines)
{
	const char *out;
	size_t n;
	while (*s) {
		safe_char(&s, &out, &n, lines);
		fwrite(out, 1, n, f);
	}
}

/* Prints one formatted line on stdout, made safe for a terminal (a line
 * break in the text is data, and prints as a space). */
__attribute__((format(printf, 1, 2)))
static void say(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	put_text(stdout, s, false);
	fputc('\n', stdout);
	free(s);
}

/*
 * Returns s made safe for a terminal and cut to at most `max` columns
 * (max <= 0: no limit), with *width set.  A cut falls between characters,
 * never inside one, and ends in "..." (ASCII: the ellipsis character has an
 * ambiguous width that CJK terminals draw as two).  Caller frees.
 */
static char *cell_text(const char *s, int max, int *width)
{
	int limit = max > 0 && text_width(s) > max ? max - 3 : INT_MAX;
	size_t cap = strlen(s) + 4, len = 0;
	char *buf = xrealloc(NULL, cap);
	int w = 0;
	bool cut = false;
	while (*s) {
		const char *out;
		size_t n;
		int cw = safe_char(&s, &out, &n, false);
		if (w + cw > limit) {
			cut = true;
			break;
		}
		memcpy(buf + len, out, n); /* n never exceeds the bytes read */
		len += n;
		w += cw;
	}
	if (cut) {
		memcpy(buf + len, "...", 3);
		len += 3;
		w += 3;
	}
	buf[len] = '\0';
	*width = w;
	return buf;
}

/* --- tables ------------------------------------------------------------- */

struct cell {
	char *text; /* owned, safe for a terminal; NULL: empty */
	int width;
};

/* Rows of cells printed in columns aligned by display width.  Every column
 * but a row's last is cut at CELL_MAX, so one long value cannot push the
 * others off the screen; the last is printed whole. */
struct table {
	size_t ncols, nrows;
	struct cell *cells; /* owned: nrows * ncols */
};

static void table_init(struct table *t, size_t ncols)
{
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i].text);
	free(t->cells);
	memset(t, 0, sizeof *t);
}

/* Starts a new row of empty cells. */
static void table_row(struct table *t)
{
	t->cells = xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof *t->cells);
	memset(t->cells + t->nrows * t->ncols, 0, t->ncols * sizeof *t->cells);
	t->nrows++;
}

/* Sets a cell of the current row to a copy of s (NULL: empty). */
static void table_set(struct table *t, size_t col, const char *s)
{
	struct cell *c = &t->cells[(t->nrows - 1) * t->ncols + col];
	free(c->text);
	c->text = s ? cell_text(s, col + 1 < t->ncols ? CELL_MAX : 0, &c->width) : NULL;
	if (!s)
		c->width = 0;
}

/* Adds a whole row at once; `row` holds ncols strings (NULL: empty). */
static void table_add(struct table *t, const char *const *row)
{
	table_row(t);
	for (size_t i = 0; i < t->ncols; i++)
		table_set(t, i, row[i]);
}

static char *json_text(const json_t *v);

static void table_setj(struct table *t, size_t col, const json_t *v)
{
	char *s = json_text(v);
	table_set(t, col, s);
	free(s);
}

__attribute__((format(printf, 3, 4)))
static void table_setf(struct table *t, size_t col, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	table_set(t, col, s ? s : "?");
	free(s);
}

static void table_print(const struct table *t, FILE *f)
{
	int *w = xrealloc(NULL, t->ncols * sizeof *w);
	memset(w, 0, t->ncols * sizeof *w);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			if (t->cells[r * t->ncols + c].width > w[c])
				w[c] = t->cells[r * t->ncols + c].width;
	for (size_t r = 0; r < t->nrows; r++) {
		const struct cell *row = &t->cells[r * t->ncols];
		size_t last = 0; /* no padding after a row's last text */
		for (size_t c = 0; c < t->ncols; c++)
			if (row[c].text && row[c].text[0])
				last = c;
		for (size_t c = 0; c <= last; c++) {
			if (row[c].text)
				fputs(row[c].text, f);
			if (c < last)
				fprintf(f, "%*s", w[c] - row[c].width + 2, "");
		}
		fputc('\n', f);
	}
	free(w);
}

/* A "key: value" line in a two-column table. */
static void kv(struct table *t, const char *key, const char *value)
{
	table_row(t);
	if (key) {
		char *k = xasprintf("%s:", key);
		table_set(t, 0, k);
		free(k);
	}
	table_set(t, 1, value ? value : "-");
}

static void kvj(struct table *t, const char *key, const json_t *v)
{
	char *s = json_text(v);
	kv(t, key, s);
	free(s);
}

/* --- JSON for people ---------------------------------------------------- */

/* The text of a JSON value for a cell or a "key: value" line: strings as
 * they are, null as "-", lists of scalars joined with ", ", anything else as
 * compact JSON.  Caller frees. */
static char *json_text(const json_t *v)
{
	if (!v || json_is_null(v))
		return xstrdup("-");
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_real(v))
		return xasprintf("%g", json_real_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "true" : "false");
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		bool flat = true;
		json_array_foreach(v, i, x)
			flat = flat && !json_is_object(x) && !json_is_array(x);
		if (flat) {
			char *s = xstrdup("");
			json_array_foreach(v, i, x) {
				char *e = json_text(x);
				char *n = xasprintf("%s%s%s", s, i ? ", " : "", e);
				free(e);
				free(s);
				s = n;
			}
			return s;
		}
	}
	char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	char *s = xstrdup(d ? d : "?");
	free(d);
	return s;
}

/* The raw result for --json and for shapes with no table of their own:
 * pretty, two-space indent, UTF-8 as it is (jansson escapes controls). */
static void print_json(const json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', stdout);
}

/* The same for a person: through put_text, which also catches the C1
 * controls and bidi overrides that JSON carries unescaped. */
static void print_json_text(const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
	if (s) {
		put_text(stdout, s, true);
		fputc('\n', stdout);
	}
	free(s);
}

/* A version hash cut for people: the full one is in --json. */
static char *short_version(const char *v)
{
	int w;
	if (!v)
		return xstrdup("-");
	char *s = cell_text(v, 0, &w);
	/* Hashes are ASCII, but never cut inside a character all the same. */
	if (strlen(s) > VERSION_SHORT && ((unsigned char)s[VERSION_SHORT] & 0xC0) != 0x80)
		s[VERSION_SHORT] = '\0';
	return s;
}

/* A {ja, en} text as "ja / en" (either may be missing).  Caller frees. */
static char *bilingual(const json_t *t)
{
	const char *ja = jstr(t, "ja"), *en = jstr(t, "en");
	if (json_is_string(t))
		return xstrdup(json_string_value(t));
	if (ja && en)
		return xasprintf("%s / %s", ja, en);
	return xstrdup(ja ? ja : en ? en : "-");
}

static char *duration(long long s)
{
	if (s >= 86400)
		return xasprintf("%lldd %lldh %lldm", s / 86400, s % 86400 / 3600, s % 3600 / 60);
	if (s >= 3600)
		return xasprintf("%lldh %lldm %llds", s / 3600, s % 3600 / 60, s % 60);
	if (s >= 60)
		return xasprintf("%lldm %llds", s / 60, s % 60);
	return xasprintf("%llds", s);
}

static char *bytes_text(long long n)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	if (n < 1024)
		return xasprintf("%lld B", n);
	double v = (double)n / 1024;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof unit / sizeof *unit) {
		v /= 1024;
		u++;
	}
	return xasprintf("%.1f %s", v, unit[u]);
}

/* --- the command table's types ------------------------------------------ */

/*
 * A pattern is a sequence of tokens:
 *   word            a literal word of the command name ("rules", "check")
 *   <name>          a required argument, sent as param `name`
 *   [<name>]        an optional argument
 *   [--opt <ph>]    an option with a value, sent as param `opt` (dashes
 *                   become underscores); the placeholder types it: <n> a
 *                   whole number, <path> made absolute, <json...> JSON text,
 *                   @file or - (stdin); anything else a string
 *   [--flag]        a flag for liuctl itself (not sent)
 *   [key=value ...] pairs merged into params.params; the value is JSON if
 *                   it parses as JSON, else a string
 *   [<name> ...]    the remaining words (help only)
 */
enum tok_type { T_WORD, T_ARG, T_OPTARG, T_OPT, T_FLAG, T_PAIRS, T_REST };

struct tok {
	enum tok_type type;
	char name[NAME_MAX_LEN];  /* word, argument or option name */
	char ph[NAME_MAX_LEN];    /* placeholder of an argument or option */
};

struct cmd;

/* A command line parsed against its pattern.  Strings are borrowed from argv
 * (valid for the whole run); names from the table. */
struct args {
	const struct cmd *cmd;
	struct tok tok[TOKS_MAX];
	size_t ntok, nwords;
	const char *value[TOKS_MAX]; /* per token: the value given, "" for a flag */
	const char **list;           /* owned array: key=value pairs or rest words */
	size_t nlist;
};

struct ctl;

struct cmd {
	const char *pattern;
	const char *method;  /* NULL: not one method (call, help) */
	const char *help;    /* one line, for people */
	const char *params;  /* how arguments map to params; NULL: from the pattern */
	bool raw;            /* a string result is printed as it is, even with --json */
	/* Adds checks or params beyond the pattern's own: ST_OK or ST_USAGE. */
	int (*build)(const struct args *a, json_t *params);
	/* Prints a result for people; returns the exit status. */
	int (*show)(const struct args *a, json_t *result);
	/* Replaces the whole call-and-print (paging, raw calls, help). */
	int (*exec)(struct ctl *c, const struct args *a);
};

/* --- talking to the daemon ---------------------------------------------- */

struct ctl {
	const char *socket; /* borrowed: argv or the environment */
	bool json;          /* --json: print the raw result */
	int fd;             /* -1 until the first call */
	long long id;       /* of the last request */
	struct wire_buf in;
};

static int ctl_connect(struct ctl *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;
	if (strlen(c->socket) >= sizeof sa.sun_path) {
		err = ENAMETOOLONG;
		goto err;
	}
	memcpy(sa.sun_path, c->socket, strlen(c->socket) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		goto err;
	}
	while (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		/* A signal may interrupt the connect; the connection then
		 * completes on its own, which a second connect reports. */
		if (errno == EINTR)
			continue;
		if (errno == EISCONN)
			break;
		err = errno;
		goto err_socket;
	}
	c->fd = fd;
	return ST_OK;
err_socket:
	close(fd);
err:
	fprintf(stderr, "liuctl: cannot connect to %s: %s; is liud running?\n", c->socket,
		strerror(err));
	return ST_CONNECT;
}

static void ctl_close(struct ctl *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	wire_buf_free(&c->in);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads until one complete line.  Returns 0 with *reply (caller decrefs) or
 * a negative errno: -ECONNRESET when the daemon closed first, -EMSGSIZE
 * past REPLY_MAX, -EPROTO for a line that is not JSON. */
static int read_reply(struct ctl *c, json_t **reply)
{
	static char chunk[1 << 16];
	for (;;) {
		char *line;
		size_t len;
		int rc = wire_buf_next_line(&c->in, &line, &len);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			*reply = json_loadb(line, len, 0, NULL);
			return *reply ? 0 : -EPROTO;
		}
		ssize_t n = read(c->fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		if (wire_buf_append(&c->in, chunk, (size_t)n) < 0)
			return -ENOMEM;
	}
}

/*
 * Sends one request and waits for its reply (no timeout: a write is
 * answered once durable, and a long rules check may take its time).
 * Returns ST_OK with *out = the result, ST_REPLY with *out = the error
 * object (caller decrefs either), or ST_CONNECT after saying why.
 */
static int ctl_call(struct ctl *c, const char *method, json_t *params, json_t **out)
{
	*out = NULL;
	if (c->fd < 0 && ctl_connect(c) != ST_OK)
		return ST_CONNECT;
	char *line = wire_request(++c->id, method, params);
	if (!line) {
		fputs("liuctl: out of memory\n", stderr);
		return ST_REPLY;
	}
	int rc = write_all(c->fd, line, strlen(line));
	free(line);
	json_t *reply = NULL;
	if (rc == 0)
		rc = read_reply(c, &reply);
	if (rc < 0) {
		fprintf(stderr, "liuctl: %s: %s\n", c->socket,
			rc == -ECONNRESET ? "the daemon closed the connection before replying" :
			rc == -EMSGSIZE ? "the reply is longer than 1 GiB" :
			rc == -EPROTO ? "the reply is not JSON" : strerror(-rc));
		return ST_CONNECT;
	}
	/* Only one request is ever in flight, so the reply is ours if it
	 * carries our id, or a null id on an error the daemon could not tie
	 * to a request. */
	json_t *id = json_object_get(reply, "id");
	json_t *result = json_object_get(reply, "result");
	json_t *error = json_object_get(reply, "error");
	bool ours = json_is_integer(id) ? json_integer_value(id) == c->id : json_is_null(id) && error;
	if (!ours || (!result && !json_is_object(error))) {
		fprintf(stderr, "liuctl: %s: the reply does not answer the request\n", c->socket);
		json_decref(reply);
		return ST_CONNECT;
	}
	int st = result ? ST_OK : ST_REPLY;
	*out = json_incref(result ? result : error);
	json_decref(reply);
	return st;
}

/* A reason {ja, en} on stderr, one line per language, after `prefix` (a
 * field name, which may echo what someone typed: printed safely too). */
static void print_reason(const char *prefix, const json_t *r)
{
	const char *text[2] = { jstr(r, "ja"), jstr(r, "en") };
	if (json_is_string(r))
		text[0] = json_string_value(r);
	for (size_t i = 0; i < 2; i++) {
		if (!text[i])
			continue;
		fputs("  ", stderr);
		put_text(stderr, prefix, false);
		put_text(stderr, text[i], false);
		fputc('\n', stderr);
	}
}

/* An error reply on stderr: the code and message, then what data explains,
 * every reason in both languages, one per line. */
static void print_error(const json_t *err)
{
	const char *msg = jstr(err, "message");
	json_t *data = json_object_get(err, "data");
	json_int_t code = json_integer_value(json_object_get(err, "code"));
	fprintf(stderr, "liuctl: error %" JSON_INTEGER_FORMAT ": ", code);
	if (msg) {
		/* A message may end in a report's line break: keep the line tidy. */
		char *m = xstrdup(msg);
		size_t n = strlen(m);
		while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' ' || m[n - 1] == '\r'))
			m[--n] = '\0';
		put_text(stderr, m, false);
		free(m);
	} else {
		fputs("(no message)", stderr);
	}
	fputc('\n', stderr);
	json_t *errors = json_object_get(data, "errors");
	json_t *reasons = json_object_get(data, "reasons");
	size_t i;
	json_t *e;
	if (json_array_size(errors) > 0) {
		/* Invalid params from a rule: every field, each with its reason. */
		json_array_foreach(errors, i, e) {
			const char *f = jstr(e, "field");
			char *prefix = xasprintf("%s: ", f ? f : "?");
			print_reason(prefix, json_object_get(e, "reason"));
			free(prefix);
		}
	} else {
		const char *field = jstr(data, "field");
		if (field || code == WIRE_INVALID_PARAMS) {
			fputs("  field: ", stderr);
			put_text(stderr, field ? field : "(not named)", false);
			fputc('\n', stderr);
		}
		print_reason("", json_object_get(data, "reason"));
	}
	json_array_foreach(reasons, i, e)
		print_reason("", e);
	/* A failing pack's test report or a script's error and traceback, for
	 * the policy staff who must fix it; the message holds only a cut. */
	const char *more[] = { "error", "report", "traceback" };
	for (i = 0; i < sizeof more / sizeof *more; i++) {
		const char *s = jstr(data, more[i]);
		if (!s || (msg && strstr(msg, s)))
			continue;
		put_text(stderr, s, true);
		if (s[0] && s[strlen(s) - 1] != '\n')
			fputc('\n', stderr);
	}
	const char *live = jstr(data, "live_version");
	if (live)
		fprintf(stderr, "  the live rules stay at version %.*s\n", VERSION_SHORT, live);
}

/* --- argument parsing ---------------------------------------------------- */

static void copy_name(char *dst, const char *s, size_t n)
{
	if (n >= NAME_MAX_LEN)
		n = NAME_MAX_LEN - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Splits a pattern into tokens.  Patterns are the table's own constants,
 * so they are trusted to be well formed.  Returns the number of tokens. */
static size_t pattern_parse(const char *p, struct tok *t, size_t max)
{
	size_t n = 0;
	while (*p && n < max) {
		if (*p == ' ') {
			p++;
			continue;
		}
		bool opt = *p == '[';
		const char *s = opt ? p + 1 : p;
		const char *end = opt ? strchr(p, ']') : p + strcspn(p, " ");
		struct tok *k = &t[n++];
		memset(k, 0, sizeof *k);
		if (strncmp(s, "--", 2) == 0) {
			size_t w = strcspn(s + 2, " ]");
			copy_name(k->name, s + 2, w);
			k->type = s[2 + w] == ' ' ? T_OPT : T_FLAG;
			if (k->type == T_OPT) {
				const char *ph = s + 3 + w;
				ph += *ph == '<';
				copy_name(k->ph, ph, strcspn(ph, ">]"));
			}
		} else if (*s == '<') {
			copy_name(k->name, s + 1, strcspn(s + 1, ">"));
			memcpy(k->ph, k->name, sizeof k->ph);
			k->type = !opt ? T_ARG : memmem(s, (size_t)(end - s), "...", 3) ? T_REST : T_OPTARG;
		} else if (opt) {
			k->type = T_PAIRS;
		} else {
			copy_name(k->name, s, (size_t)(end - s));
			k->type = T_WORD;
		}
		p = opt ? end + 1 : end;
	}
	return n;
}

/* The value given for the token named `name`, or NULL. */
static const char *arg(const struct args *a, const char *name)
{
	for (size_t i = 0; i < a->ntok; i++)
		if (a->tok[i].type != T_WORD && strcmp(a->tok[i].name, name) == 0)
			return a->value[i];
	return NULL;
}

static void cmd_usage(FILE *f, const struct cmd *cmd);

__attribute__((format(printf, 2, 3)))
static int usage_fail(const struct cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	fputs("liuctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nusage:\n", stderr);
	cmd_usage(stderr, cmd);
	return ST_USAGE;
}

/* "key=value" with a key of letters, digits, '_', '-' or '.'. */
static bool is_pair(const char *s)
{
	size_t k = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.");
	return k > 0 && s[k] == '=' && s[0] != '-';
}

/*
 * Parses argv (starting at the command's words) against the pattern of
 * a->cmd.  Options may come anywhere after the words; "--" ends them.
 * --json is accepted there too, and --help asks for the command's usage.
 * Returns ST_OK, ST_HELP or ST_USAGE (after saying why).
 */
static int args_parse(struct args *a, int argc, char **argv, bool *json)
{
	const struct cmd *cmd = a->cmd;
	a->ntok = pattern_parse(cmd->pattern, a->tok, TOKS_MAX);
	a->list = xrealloc(NULL, (size_t)argc * sizeof *a->list);
	while (a->nwords < a->ntok && a->tok[a->nwords].type == T_WORD)
		a->nwords++;
	size_t pos = a->nwords; /* the next positional token to fill */
	bool pairs = false, rest = false, dashdash = false;
	for (size_t i = 0; i < a->ntok; i++) {
		pairs |= a->tok[i].type == T_PAIRS;
		rest |= a->tok[i].type == T_REST;
	}
	for (int i = (int)a->nwords; i < argc; i++) {
		const char *s = argv[i];
		if (!dashdash && strcmp(s, "--") == 0) {
			dashdash = true;
			continue;
		}
		if (!dashdash && strncmp(s, "--", 2) == 0) {
			const char *eq = strchr(s, '=');
			size_t nl = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
			if (strcmp(s, "--json") == 0) {
				*json = true;
				continue;
			}
			if (strcmp(s, "--help") == 0)
				return ST_HELP;
			size_t k;
			for (k = 0; k < a->ntok; k++)
				if ((a->tok[k].type == T_OPT || a->tok[k].type == T_FLAG) &&
				    strlen(a->tok[k].name) == nl && strncmp(a->tok[k].name, s + 2, nl) == 0)
					break;
			if (k == a->ntok)
				return usage_fail(cmd, "unknown option %.*s", (int)nl + 2, s);
			if (a->value[k])
				return usage_fail(cmd, "--%s given twice", a->tok[k].name);
			if (a->tok[k].type == T_FLAG) {
				if (eq)
					return usage_fail(cmd, "--%s takes no value", a->tok[k].name);
				a->value[k] = "";
			} else if (eq) {
				a->value[k] = eq + 1;
			} else if (i + 1 < argc) {
				a->value[k] = argv[++i];
			} else {
				return usage_fail(cmd, "--%s needs a value <%s>", a->tok[k].name, a->tok[k].ph);
			}
			continue;
		}
		if (pairs && is_pair(s)) {
			a->list[a->nlist++] = s;
			continue;
		}
		while (pos < a->ntok && a->tok[pos].type != T_ARG && a->tok[pos].type != T_OPTARG)
			pos++;
		if (pos < a->ntok) {
			a->value[pos++] = s;
		} else if (rest) {
			a->list[a->nlist++] = s;
		} else {
			return usage_fail(cmd, "unexpected argument: %s", s);
		}
	}
	for (size_t k = 0; k < a->ntok; k++)
		if (a->tok[k].type == T_ARG && !a->value[k])
			return usage_fail(cmd, "missing <%s>", a->tok[k].name);
	return ST_OK;
}

/* Loads JSON given inline, as @file, or as - (standard input).  Returns a
 * new reference or NULL after saying why. */
static json_t *load_json(const struct cmd *cmd, const char *what, const char *s)
{
	json_error_t e;
	json_t *v;
	const int flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY;
	if (strcmp(s, "-") == 0)
		v = json_loadf(stdin, flags, &e);
	else if (s[0] == '@')
		v = json_load_file(s + 1, flags, &e);
	else
		v = json_loads(s, flags, &e);
	if (!v && e.line < 0) /* the file could not be read: no position */
		usage_fail(cmd, "%s: %s", what, e.text);
	else if (!v)
		usage_fail(cmd, "%s: %s (line %d, column %d)", what, e.text, e.line, e.column);
	return v;
}

/* The daemon runs in its own folder, so a relative path would name some
 * other place there.  Caller frees. */
static char *abs_path(const char *p)
{
	if (p[0] == '/')
		return xstrdup(p);
	char *r = realpath(p, NULL);
	if (r)
		return r;
	char *cwd = getcwd(NULL, 0); /* the path may not exist yet (a backup) */
	if (!cwd)
		return xstrdup(p);
	r = xasprintf("%s/%s", cwd, p);
	free(cwd);
	return r;
}

/*
 * Builds params from the pattern: every argument and option with a value
 * under its own name, typed by its placeholder, then key=value pairs merged
 * into params.params.  Returns ST_OK or ST_USAGE.
 */
static int build_params(const struct args *a, json_t *params)
{
	const struct cmd *cmd = a->cmd;
	for (size_t i = 0; i < a->ntok; i++) {
		const struct tok *k = &a->tok[i];
		const char *v = a->value[i];
		if (!v || k->type == T_FLAG || k->type == T_WORD)
			continue;
		char key[NAME_MAX_LEN];
		memcpy(key, k->name, sizeof key);
		for (char *p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		json_t *j;
		long long n;
		if (strcmp(k->ph, "n") == 0) {
			if (!parse_int(v, &n))
				return usage_fail(cmd, "%s: not a whole number: %s", k->name, v);
			j = json_integer(n);
		} else if (strcmp(k->ph, "path") == 0) {
			char *p = abs_path(v);
			j = json_string(p);
			free(p);
		} else if (strcmp(k->ph, "json") == 0 || strncmp(k->ph, "json|@", 6) == 0) {
			if (!(j = load_json(cmd, k->name, v)))
				return ST_USAGE;
		} else {
			j = json_string(v);
		}
		if (!j) /* not UTF-8: the daemon would refuse it anyway */
			return usage_fail(cmd, "%s: not valid UTF-8 text", k->name);
		json_object_set_new(params, key, j);
	}
	bool pairs = false;
	for (size_t i = 0; i < a->ntok; i++)
		pairs |= a->tok[i].type == T_PAIRS;
	if (!pairs || a->nlist == 0)
		return ST_OK;
	json_t *pp = json_object_get(params, "params");
	if (pp && !json_is_object(pp))
		return usage_fail(cmd, "--params must be a JSON object");
	if (!pp) {
		pp = json_object();
		json_object_set_new(params, "params", pp);
	}
	json_t *given = json_object();
	for (size_t i = 0; i < a->nlist; i++) {
		const char *eq = strchr(a->list[i], '=');
		char *key = strndup(a->list[i], (size_t)(eq - a->list[i]));
		/* A value that reads as JSON is JSON (5, true, {"a":1}, "007");
		 * anything else, such as 書類不備 or 2024-04-01, is a string. */
		json_t *v = json_loads(eq + 1, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
		if (!v)
			v = json_string(eq + 1);
		int st = ST_OK;
		if (!key || !v)
			st = usage_fail(cmd, "%s: not valid UTF-8 text", a->list[i]);
		else if (json_object_get(given, key))
			st = usage_fail(cmd, "%s given twice", key);
		if (st == ST_OK) {
			json_object_set_new(given, key, json_true());
			json_object_set_new(pp, key, v);
		} else {
			json_decref(v);
		}
		free(key);
		if (st != ST_OK) {
			json_decref(given);
			return st;
		}
	}
	json_decref(given);
	return ST_OK;
}

/* --- results for people -------------------------------------------------- */

static int show_status(const struct args *a, json_t *r)
{
	struct table t;
	table_init(&t, 2);
	kvj(&t, "version", json_object_get(r, "version"));
	char *up = duration(json_integer_value(json_object_get(r, "uptime_s")));
	char *s = xasprintf("%s (since %s)", up, jstr_or(r, "started_at", "?"));
	kv(&t, "uptime", s);
	free(s);
	free(up);

	json_t *rules = json_object_get(r, "rules");
	char *ver = short_version(jstr(rules, "version"));
	s = xasprintf("%s version %s, loaded %s", jstr_or(rules, "name", "?"),
		      ver, jstr_or(rules, "loaded_at", "?"));
	kv(&t, "rules", s);
	free(s);
	free(ver);

	json_t *clock = json_object_get(r, "clock");
	s = xasprintf("%s (%s)", jstr_or(clock, "now", "?"),
		      jstr_or(clock, "mode", "?"));
	kv(&t, "clock", s);
	free(s);

	/* Counts by kind, one line each: "application: submitted 3, confirmed 1". */
	json_t *records = json_object_get(r, "records");
	const char *kind;
	json_t *states;
	bool first = true;
	json_object_foreach(records, kind, states) {
		const char *state;
		json_t *n;
		json_int_t total = 0;
		char *line = xasprintf("%s:", kind);
		json_object_foreach(states, state, n) {
			char *l = xasprintf("%s %s %" JSON_INTEGER_FORMAT ",", line, state,
					    json_integer_value(n));
			free(line);
			line = l;
			total += json_integer_value(n);
		}
		line[strlen(line) - (line[strlen(line) - 1] == ',')] = '\0';
		s = xasprintf("%s (total %" JSON_INTEGER_FORMAT ")", line, total);
		kv(&t, first ? "records" : NULL, s);
		free(s);
		free(line);
		first = false;
	}
	if (first)
		kv(&t, "records", "none");

	/* The scheduler's shape may grow; show the common fields, else JSON. */
	json_t *nd = json_object_get(r, "next_deadline");
	if (!nd || json_is_null(nd)) {
		kv(&t, "next deadline", "none");
	} else if (json_is_object(nd) && (jstr(nd, "time") || jstr(nd, "at"))) {
		json_t *recs = json_object_get(nd, "records");
		char *m = bilingual(json_object_get(nd, "measure"));
		char *n = json_is_array(recs) ? xasprintf(", %zu records", json_array_size(recs)) :
			  json_is_integer(recs) ? xasprintf(", %" JSON_INTEGER_FORMAT " records",
							    json_integer_value(recs)) : xstrdup("");
		s = xasprintf("%s %s%s", jstr(nd, "time") ? jstr(nd, "time") : jstr(nd, "at"), m, n);
		kv(&t, "next deadline", s);
		free(s);
		free(m);
		free(n);
	} else {
		kvj(&t, "next deadline", nd);
	}
	json_t *w = json_object_get(r, "writes");
	if (w)
		kvj(&t, "writes pending", json_object_get(w, "pending"));
	kvj(&t, "connections", json_object_get(r, "connections"));
	json_t *req = json_object_get(r, "requests");
	if (req) {
		s = xasprintf("%" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT " errors)",
			      json_integer_value(json_object_get(req, "total")),
			      json_integer_value(json_object_get(req, "errors")));
		kv(&t, "requests", s);
		free(s);
	}
	json_t *st = json_object_get(r, "storage");
	if (st) {
		char *u = bytes_text(json_integer_value(json_object_get(st, "used_bytes")));
		char *m = bytes_text(json_integer_value(json_object_get(st, "map_bytes")));
		s = xasprintf("%s of %s", u, m);
		kv(&t, "storage", s);
		free(s);
		free(u);
		free(m);
	}
	table_print(&t, stdout);
	table_free(&t);
	return ST_OK;
}

static int show_record(const struct args *a, json_t *r)
{
	static const char *const order[] = { "id", "kind", "state", "rev", "created_at", "updated_at" };
	struct table t;
	table_init(&t, 2);
	for (size_t i = 0; i < sizeof order / sizeof *order; i++)
		if (json_object_get(r, order[i]))
			kvj(&t, order[i], json_object_get(r, order[i]));
	const char *key;
	json_t *v;
	json_object_foreach(r, key, v) {
		bool known = false;
		for (size_t i = 0; i < sizeof order / sizeof *order; i++)
			known |= strcmp(key, order[i]) == 0;
		if (!known && !json_is_object(v) && !json_is_array(v))
			kvj(&t, key, v);
	}
	table_print(&t, stdout);
	table_free(&t);
	json_object_foreach(r, key, v) {
		if (json_is_object(v) || json_is_array(v)) {
			put_text(stdout, key, false);
			fputs(":\n", stdout);
			print_json_text(v);
		}
	}
	return ST_OK;
}

static int show_record_list(const struct args *a, json_t *r)
{
	json_t *records = json_object_get(r, "records");
	if (json_array_size(records) == 0) {
		puts("no records");
		return ST_OK;
	}
	struct table t;
	table_init(&t, 6);
	table_add(&t, (const char *[]){ "ID", "KIND", "STATE", "REV", "UPDATED", "SERVICE" });
	size_t i;
	json_t *rec;
	json_array_foreach(records, i, rec) {
		table_row(&t);
		table_setj(&t, 0, json_object_get(rec, "id"));
		table_setj(&t, 1, json_object_get(rec, "kind"));
		table_setj(&t, 2, json_object_get(rec, "state"));
		table_setj(&t, 3, json_object_get(rec, "rev"));
		table_setj(&t, 4, json_object_get(rec, "updated_at"));
		/* The core knows no record kind; a service name is simply the
		 * most telling field the bundled pack's records carry. */
		table_set(&t, 5, jstr(json_object_get(rec, "data"), "service_name"));
	}
	table_print(&t, stdout);
	table_free(&t);
	const char *next = jstr(r, "next");
	if (next)
		say("more after %s: use --after %s or --all", next, next);
	return ST_OK;
}

static void print_events(const json_t *events)
{
	size_t i;
	json_t *e;
	json_array_foreach(events, i, e) {
		const char *type = jstr(e, "type");
		char *line = xasprintf("  %s:", type ? type : "event");
		if (json_object_get(e, "from") || json_object_get(e, "to")) {
			/* A created record comes from no state: "-> submitted". */
			json_t *from = json_object_get(e, "from");
			char *f = from && !json_is_null(from) ? json_text(from) : xstrdup("");
			char *t = json_text(json_object_get(e, "to"));
			char *l = xasprintf("%s %s%s-> %s", line, f, *f ? " " : "", t);
			free(f);
			free(t);
			free(line);
			line = l;
		}
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)e, key, v) {
			if (!strcmp(key, "type") || !strcmp(key, "from") || !strcmp(key, "to"))
				continue;
			char *s = json_text(v);
			char *l = xasprintf("%s %s=%s", line, key, s);
			free(s);
			free(line);
			line = l;
		}
		say("%s", line);
		free(line);
	}
}

static int show_act(const struct args *a, json_t *r)
{
	json_t *rec = json_object_get(r, "record");
	char *id = json_text(json_object_get(rec, "id"));
	char *rev = json_text(json_object_get(rec, "rev"));
	char *state = json_text(json_object_get(rec, "state"));
	say("ok: %s rev %s state %s", id, rev, state);
	free(id);
	free(rev);
	free(state);
	print_events(json_object_get(r, "events"));
	return ST_OK;
}

static int show_eval(const struct args *a, json_t *r)
{
	char *ver = short_version(jstr(r, "rules_version"));
	say("decision: %s  (%s at %s, rules %s)", jstr_or(r, "decision", "?"),
	    jstr_or(r, "id", "record given"), jstr_or(r, "at", "now"), ver);
	fputc('\n', stdout);
	free(ver);

	/* Both languages, one line each, so neither reader is left out. */
	struct table t;
	table_init(&t, 3);
	table_add(&t, (const char *[]){ "CHECK", "OK", "REASON (ja) / (en)" });
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(r, "checks"), i, c) {
		json_t *reason = json_object_get(c, "reason");
		table_row(&t);
		table_setj(&t, 0, json_object_get(c, "id"));
		table_set(&t, 1, json_is_true(json_object_get(c, "ok")) ? "yes" : "NO");
		table_set(&t, 2, jstr(reason, "ja") ? jstr(reason, "ja") : json_string_value(reason));
		if (jstr(reason, "en")) {
			table_row(&t);
			table_set(&t, 2, jstr(reason, "en"));
		}
	}
	table_print(&t, stdout);
	table_free(&t);

	char *m = json_array_size(json_object_get(r, "measures_in_force")) ?
		  json_text(json_object_get(r, "measures_in_force")) : xstrdup("none");
	fputc('\n', stdout);
	say("measures in force: %s", m);
	free(m);

	json_t *inc = json_object_get(r, "incentives");
	if (json_is_object(inc)) {
		table_init(&t, 3);
		table_add(&t, (const char *[]){ "INCENTIVE", "AVAILABLE", "USED ON" });
		const char *name;
		json_t *v;
		json_object_foreach(inc, name, v) {
			table_row(&t);
			table_set(&t, 0, name);
			if (json_is_object(v)) {
				table_set(&t, 1, json_is_true(json_object_get(v, "available")) ? "yes" : "no");
				table_setj(&t, 2, json_object_get(v, "used_on"));
			} else {
				table_setj(&t, 1, v);
			}
		}
		fputs("\nincentives:\n", stdout);
		table_print(&t, stdout);
		table_free(&t);
	}
	/* Anything else the pack summarises, as it comes. */
	static const char *const known[] = { "decision", "checks", "measures_in_force", "incentives",
					     "at", "id", "rules_version" };
	const char *key;
	json_t *v;
	table_init(&t, 2);
	json_object_foreach(r, key, v) {
		bool k = false;
		for (i = 0; i < sizeof known / sizeof *known; i++)
			k |= strcmp(key, known[i]) == 0;
		if (!k)
			kvj(&t, key, v);
	}
	if (t.nrows) {
		fputc('\n', stdout);
		table_print(&t, stdout);
	}
	table_free(&t);
	return ST_OK;
}

static int show_view(const struct args *a, json_t *r)
{
	json_t *cols = json_object_get(r, "columns");
	if (!json_is_array(cols) || json_array_size(cols) == 0) {
		print_json_text(r);
		return ST_OK;
	}
	char *title = bilingual(json_object_get(r, "title"));
	json_int_t n = json_integer_value(json_object_get(r, "count"));
	say("%s: %" JSON_INTEGER_FORMAT " row%s", title, n, n == 1 ? "" : "s");
	fputc('\n', stdout);
	free(title);

	/* Headers in Japanese over English, so each column is as wide as the
	 * longer of the two rather than both side by side. */
	size_t nc = json_array_size(cols), i, j;
	json_t *c, *row;
	struct table t;
	table_init(&t, nc);
	table_row(&t);
	json_array_foreach(cols, i, c)
		table_set(&t, i, jstr(c, "ja") ? jstr(c, "ja") : jstr(c, "id"));
	table_row(&t);
	json_array_foreach(cols, i, c)
		table_set(&t, i, jstr(c, "en"));
	json_array_foreach(json_object_get(r, "rows"), j, row) {
		table_row(&t);
		json_array_foreach(cols, i, c) {
			json_t *v = json_object_get(row, jstr_or(c, "id", ""));
			if (v && !json_is_null(v))
				table_setj(&t, i, v);
		}
	}
	table_print(&t, stdout);
	table_free(&t);
	return ST_OK;
}

static int show_history(const struct args *a, json_t *r)
{
	struct table t;
	table_init(&t, 6);
	table_add(&t, (const char *[]){ "SEQ", "TIME", "WHO", "ACTION", "REV", "STATE" });
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(r, "entries"), i, e) {
		table_row(&t);
		table_setj(&t, 0, json_object_get(e, "seq"));
		table_setj(&t, 1, json_object_get(e, "time"));
		/* A person acts through a peer; the daemon's own enforcement
		 * names itself some other way. */
		const char *who = jstr(json_object_get(e, "peer"), "user");
		who = who ? who : jstr(e, "by") ? jstr(e, "by") : jstr(e, "who");
		table_set(&t, 2, who ? who : "-");
		const char *act = jstr(e, "action") ? jstr(e, "action") : jstr(e, "method");
		const char *measure = jstr(e, "measure"); /* an enforcement names its measure */
		if (act && measure)
			table_setf(&t, 3, "%s %s", act, measure);
		else
			table_set(&t, 3, act ? act : jstr_or(e, "type", "-"));
		json_t *rev = json_object_get(e, "rev_after"), *before = json_object_get(e, "rev_before");
		if (!rev)
			rev = json_object_get(e, "rev");
		if (json_is_integer(rev))
			table_setj(&t, 4, rev);
		else if (json_is_integer(before))
			table_setf(&t, 4, "%" JSON_INTEGER_FORMAT, json_integer_value(before) + 1);
		else
			table_set(&t, 4, "-");
		const char *sb = jstr(e, "state_before"), *sa = jstr(e, "state_after");
		sa = sa ? sa : jstr(e, "state");
		if (sb && sa && strcmp(sb, sa) != 0)
			table_setf(&t, 5, "%s -> %s", sb, sa);
		else
			table_set(&t, 5, sa ? sa : "-");
	}
	table_print(&t, stdout);
	table_free(&t);
	return ST_OK;
}

/* One table of a list of objects: the named keys, with headers. */
static void list_table(const json_t *list, const char *const *keys, const char *const *heads,
		       size_t n)
{
	struct table t;
	table_init(&t, n);
	table_add(&t, heads);
	size_t i;
	json_t *o;
	json_array_foreach(list, i, o) {
		table_row(&t);
		for (size_t k = 0; k < n; k++) {
			json_t *v = json_object_get(o, keys[k]);
			if (json_is_object(v) && (json_object_get(v, "ja") || json_object_get(v, "en"))) {
				char *s = bilingual(v);
				table_set(&t, k, s);
				free(s);
			} else {
				table_setj(&t, k, v);
			}
		}
	}
	table_print(&t, stdout);
	table_free(&t);
}

static int show_rules_status(const struct args *a, json_t *r)
{
	struct table t;
	table_init(&t, 2);
	char *title = bilingual(json_object_get(r, "title"));
	char *s = xasprintf("%s  %s", jstr_or(r, "name", "?"), title);
	kv(&t, "pack", s);
	free(s);
	free(title);
	if (json_object_get(r, "version_label"))
		kvj(&t, "label", json_object_get(r, "version_label"));
	kvj(&t, "version", json_object_get(r, "version"));
	if (json_object_get(r, "dir"))
		kvj(&t, "dir", json_object_get(r, "dir"));
	kvj(&t, "loaded_at", json_object_get(r, "loaded_at"));
	kvj(&t, "files", json_object_get(r, "files"));
	json_t *st = json_object_get(r, "stats");
	if (st) {
		char *mem = bytes_text(json_integer_value(json_object_get(st, "memory_bytes")));
		s = xasprintf("%" JSON_INTEGER_FORMAT " calls, %" JSON_INTEGER_FORMAT " errors, %"
			      JSON_INTEGER_FORMAT " over budget, %s of memory",
			      json_integer_value(json_object_get(st, "calls")),
			      json_integer_value(json_object_get(st, "errors")),
			      json_integer_value(json_object_get(st, "budget_kills")), mem);
		kv(&t, "stats", s);
		free(s);
		free(mem);
	}
	table_print(&t, stdout);
	table_free(&t);

	json_t *ms = json_object_get(r, "measures");
	if (json_array_size(ms)) {
		table_init(&t, 5);
		table_add(&t, (const char *[]){ "MEASURE", "TYPE", "STARTS", "ENDS", "TITLE" });
		size_t i;
		json_t *m;
		json_array_foreach(ms, i, m) {
			table_row(&t);
			table_setj(&t, 0, json_object_get(m, "id"));
			table_set(&t, 1, json_is_true(json_object_get(m, "temporary")) ? "temporary" : "permanent");
			table_set(&t, 2, jstr_or(m, "starts", "-"));
			table_set(&t, 3, jstr_or(m, "ends", "-"));
			char *tt = bilingual(json_object_get(m, "title"));
			table_set(&t, 4, tt);
			free(tt);
		}
		fputc('\n', stdout);
		table_print(&t, stdout);
		table_free(&t);
	}
	json_t *cs = json_object_get(r, "checks");
	if (json_array_size(cs)) {
		fputc('\n', stdout);
		list_table(cs, (const char *[]){ "id", "title" }, (const char *[]){ "CHECK", "TITLE" }, 2);
	}
	/* actions and views are objects keyed by name */
	json_t *acts = json_object_get(r, "actions");
	if (json_object_size(acts)) {
		table_init(&t, 4);
		table_add(&t, (const char *[]){ "ACTION", "ROLES", "FROM -> TO", "TITLE" });
		const char *name;
		json_t *v;
		json_object_foreach(acts, name, v) {
			table_row(&t);
			table_set(&t, 0, name);
			table_setj(&t, 1, json_object_get(v, "roles"));
			char *from = json_is_true(json_object_get(v, "creates")) ? xstrdup("(new)") :
				     json_text(json_object_get(v, "from"));
			json_t *jto = json_object_get(v, "to");
			char *to = jto && !json_is_null(jto) ? json_text(jto) : xstrdup("(same)");
			table_setf(&t, 2, "%s -> %s", from, to);
			free(from);
			free(to);
			char *tt = bilingual(json_object_get(v, "title"));
			table_set(&t, 3, tt);
			free(tt);
		}
		fputc('\n', stdout);
		table_print(&t, stdout);
		table_free(&t);
	}
	json_t *views = json_object_get(r, "views");
	if (json_object_size(views)) {
		table_init(&t, 3);
		table_add(&t, (const char *[]){ "VIEW", "ROLES", "TITLE" });
		const char *name;
		json_t *v;
		json_object_foreach(views, name, v) {
			table_row(&t);
			table_set(&t, 0, name);
			table_setj(&t, 1, json_object_get(v, "roles"));
			char *tt = bilingual(json_object_get(v, "title"));
			table_set(&t, 2, tt);
			free(tt);
		}
		fputc('\n', stdout);
		table_print(&t, stdout);
		table_free(&t);
	}
	return ST_OK;
}

static int show_rules_check(const struct args *a, json_t *r)
{
	char *ver = short_version(jstr(r, "version"));
	say("ok: %s version %s: %" JSON_INTEGER_FORMAT " tests pass%s", jstr_or(r, "dir", "?"), ver,
	    json_integer_value(json_object_get(r, "tests")),
	    json_is_true(json_object_get(r, "live")) ? " (this is the live version)" :
	    " (not live; `liuctl rules reload` activates it)");
	free(ver);
	return ST_OK;
}

static int show_rules_reload(const struct args *a, json_t *r)
{
	char *ver = short_version(jstr(r, "version")), *prev = short_version(jstr(r, "previous"));
	say("ok: reloaded %s: version %s (was %s), %" JSON_INTEGER_FORMAT " tests pass",
	    jstr_or(r, "dir", "?"), ver, prev, json_integer_value(json_object_get(r, "tests")));
	free(ver);
	free(prev);
	return ST_OK;
}

static int show_audit(const struct args *a, json_t *r)
{
	if (json_is_true(json_object_get(r, "ok"))) {
		char *h = short_version(jstr(r, "head"));
		printf("ok: the audit chain holds: %" JSON_INTEGER_FORMAT " entries, head %s\n",
		       json_integer_value(json_object_get(r, "entries")), h);
		free(h);
		return ST_OK;
	}
	fprintf(stderr, "liuctl: the audit chain is BROKEN at entry %" JSON_INTEGER_FORMAT ": ",
		json_integer_value(json_object_get(r, "first_bad_seq")));
	put_text(stderr, jstr_or(r, "reason", "(no reason given)"), false);
	fputc('\n', stderr);
	return ST_REPLY;
}

static int show_backup(const struct args *a, json_t *r)
{
	char *b = bytes_text(json_integer_value(json_object_get(r, "bytes")));
	say("ok: backup written to %s (%s in %" JSON_INTEGER_FORMAT " ms)", jstr_or(r, "path", "?"), b,
	    json_integer_value(json_object_get(r, "ms")));
	free(b);
	return ST_OK;
}

static int show_clock(const struct args *a, json_t *r)
{
	say("clock: %s (%s)", jstr_or(r, "now", "?"), jstr_or(r, "mode", "?"));
	return ST_OK;
}

static int show_deadlines(const struct args *a, json_t *r)
{
	json_t *list = json_object_get(r, "deadlines");
	if (json_array_size(list) == 0) {
		puts("no deadlines ahead");
		return ST_OK;
	}
	struct table t;
	table_init(&t, 5);
	table_add(&t, (const char *[]){ "AT", "MEASURE", "RECORDS", "STATUS", "TITLE" });
	size_t i;
	json_t *d;
	json_array_foreach(list, i, d) {
		table_row(&t);
		table_setj(&t, 0, json_object_get(d, "at"));
		table_setj(&t, 1, json_object_get(d, "measure"));
		table_setj(&t, 2, json_object_get(d, "records_affected"));
		table_set(&t, 3, json_is_true(json_object_get(d, "enforced")) ? "enforced" :
				 json_is_true(json_object_get(d, "due")) ? "due" : "ahead");
		char *title = bilingual(json_object_get(d, "title"));
		table_set(&t, 4, title);
		free(title);
	}
	table_print(&t, stdout);
	table_free(&t);
	return ST_OK;
}

static int show_enforce(const struct args *a, json_t *r)
{
	json_t *list = json_object_get(r, "enforced");
	if (json_array_size(list) == 0) {
		say("nothing was due at %s", jstr_or(json_object_get(r, "clock"), "now", "this time"));
		return ST_OK;
	}
	list_table(list, (const char *[]){ "measure", "at", "seen", "changed" },
		   (const char *[]){ "MEASURE", "DEADLINE", "RECORDS SEEN", "CHANGED" }, 4);
	return ST_OK;
}

/* The deadlines already enforced are left out unless --all asks. */
static int build_deadlines(const struct args *a, json_t *params)
{
	if (arg(a, "all"))
		json_object_set_new(params, "all", json_true());
	return ST_OK;
}

/*
 * Results whose shape belongs to other modules and may still grow
 * (deadlines, enforce, rules diff and history): the scalar members as
 * "key: value" lines, then the first list of objects as a table of its
 * scalar keys.  Anything else is printed as JSON.
 */
static int show_auto(const struct args *a, json_t *r)
{
	json_t *list = json_is_array(r) ? r : NULL;
	struct table t;
	table_init(&t, 2);
	const char *key, *lname = NULL;
	json_t *v;
	json_object_foreach(r, key, v) {
		if (!list && json_is_array(v) && json_is_object(json_array_get(v, 0))) {
			list = v;
			lname = key;
		} else if (!json_is_object(v) && !json_is_array(v)) {
			kvj(&t, key, v);
		} else if (json_is_array(v) && json_array_size(v) == 0) {
			kv(&t, key, "none");
		}
	}
	bool tabular = true;
	size_t i;
	json_t *o;
	json_array_foreach(list, i, o)
		tabular = tabular && json_is_object(o);
	if (!list || !tabular || json_array_size(list) == 0) {
		table_free(&t);
		print_json_text(r);
		return ST_OK;
	}
	table_print(&t, stdout);
	table_free(&t);
	/* Columns: the keys of the first object, in order. */
	const char *keys[TOKS_MAX] = { NULL }, *heads[TOKS_MAX] = { NULL };
	char *upper[TOKS_MAX];
	size_t n = 0;
	json_object_foreach(json_array_get(list, 0), key, v) {
		if (n == TOKS_MAX)
			break;
		keys[n] = key;
		upper[n] = xstrdup(key);
		for (char *p = upper[n]; *p; p++)
			*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p == '_' ? ' ' : *p);
		heads[n] = upper[n];
		n++;
	}
	if (lname) {
		put_text(stdout, lname, false);
		fputs(":\n", stdout);
	}
	list_table(list, keys, heads, n);
	for (i = 0; i < n; i++)
		free(upper[i]);
	return ST_OK;
}

/* --- commands that are more than one call ------------------------------- */

/* One call, its result printed; the common case. */
static int exec_default(struct ctl *c, const struct args *a)
{
	json_t *params = json_object(), *out = NULL;
	int st = build_params(a, params);
	if (st == ST_OK && a->cmd->build)
		st = a->cmd->build(a, params);
	if (st == ST_OK)
		st = ctl_call(c, a->cmd->method, params, &out);
	if (st == ST_OK) {
		if (a->cmd->raw && json_is_string(out))
			/* CSV (with its BOM and CRLF) and Prometheus text are
			 * already in their final form, for --json too: add
			 * nothing, not even a newline. */
			fwrite(json_string_value(out), 1, json_string_length(out), stdout);
		else if (c->json || !a->cmd->show)
			print_json(out);
		else
			st = a->cmd->show(a, out);
		/* A result that reports its own failure ("ok": false, a broken
		 * audit chain) fails the command, with --json too, so that a
		 * script checking the exit status is not misled. */
		if (json_is_false(json_object_get(out, "ok")))
			st = ST_REPLY;
	} else if (st == ST_REPLY) {
		print_error(out);
	}
	json_decref(out);
	json_decref(params);
	return st;
}

/* record list, following `next` through every page with --all. */
static int exec_record_list(struct ctl *c, const struct args *a)
{
	json_t *params = json_object(), *all = NULL, *out = NULL;
	int st = build_params(a, params);
	bool every = arg(a, "all") != NULL;
	while (st == ST_OK) {
		st = ctl_call(c, "record.list", params, &out);
		if (st != ST_OK)
			break;
		json_t *next = json_object_get(out, "next");
		size_t got = json_array_size(json_object_get(out, "records"));
		if (!all) {
			all = json_incref(out);
		} else {
			json_array_extend(json_object_get(all, "records"), json_object_get(out, "records"));
			json_object_set(all, "next", next);
		}
		/* An empty page that still says "more" would loop forever. */
		if (!every || !json_is_string(next) || got == 0)
			break;
		json_object_set(params, "after", next);
		json_decref(out);
		out = NULL;
	}
	if (st == ST_OK)
		st = c->json ? (print_json(all), ST_OK) : show_record_list(a, all);
	else if (st == ST_REPLY)
		print_error(out);
	json_decref(out);
	json_decref(all);
	json_decref(params);
	return st;
}

/* call METHOD [PARAMS]: the raw protocol, for methods liuctl does not know. */
static int exec_call(struct ctl *c, const struct args *a)
{
	json_t *params = NULL, *out = NULL;
	const char *p = arg(a, "params");
	if (p && !(params = load_json(a->cmd, "params", p)))
		return ST_USAGE;
	int st = ctl_call(c, arg(a, "method"), params, &out);
	if (st == ST_OK)
		print_json(out);
	else if (st == ST_REPLY)
		print_error(out);
	json_decref(out);
	json_decref(params);
	return st;
}

/* eval needs exactly one of a stored record and an inline one. */
static int build_eval(const struct args *a, json_t *params)
{
	if (!arg(a, "id") == !arg(a, "record"))
		return usage_fail(a->cmd, "give a record id or --record, not both and not neither");
	return ST_OK;
}

/* --- the command table --------------------------------------------------- */

static int exec_help(struct ctl *c, const struct args *a);

static const struct cmd commands[] = {
	{ "status", "status",
	  "Show the daemon: version, uptime, rule pack, clock, record counts, next deadline.",
	  NULL, false, NULL, show_status, NULL },
	{ "record get <id>", "record.get",
	  "Show one record: its fields, then its data.",
	  NULL, false, NULL, show_record, NULL },
	{ "record list [--kind <kind>] [--state <state>] [--limit <n>] [--after <id>] [--all]",
	  "record.list",
	  "List records in id order, one page (--limit, at most 1000), or every page with --all.",
	  NULL, false, NULL, show_record_list, exec_record_list },
	{ "act <action> [<id>] [key=value ...] [--params <json|@file|->] [--if-rev <n>]", "act",
	  "Run a rule-pack action in one durable write, e.g. `act submit --params @app.json`,\n"
	  "`act reject LIU-000001 reason=書類不備`; key=value pairs are merged over --params.",
	  NULL, false, NULL, show_act, NULL },
	{ "eval [<id>] [--record <json|@file|->] [--at <time>]", "eval",
	  "Evaluate the requirements for a stored record, or one given with --record (read-only).",
	  NULL, false, build_eval, show_eval, NULL },
	{ "view <name> [--format json|csv] [key=value ...]", "view",
	  "Run a view of the rule pack; with --format csv the CSV (UTF-8 with BOM, CRLF) is\n"
	  "written as it is, ready for Excel.",
	  NULL, true, NULL, show_view, NULL },
	{ "history <id>", "history",
	  "Show the audit entries of one record, oldest first.",
	  NULL, false, NULL, show_history, NULL },
	{ "deadlines [--limit <n>] [--all]", "deadlines",
	  "List the upcoming enforcements: time, measure, records affected\n"
	  "(--all: the enforced ones too).",
	  "{limit?, all?}", false, build_deadlines, show_deadlines, NULL },
	{ "enforce", "enforce",
	  "Enforce what is due now (idempotent).",
	  NULL, false, NULL, show_enforce, NULL },
	{ "rules status", "rules.status",
	  "Show the live rule pack: version, files, measures and their periods, actions, views.",
	  NULL, false, NULL, show_rules_status, NULL },
	{ "rules check [<path>]", "rules.check",
	  "Compile a rule pack and run its tests in the sandbox; activates nothing.",
	  NULL, false, NULL, show_rules_check, NULL },
	{ "rules diff <path> [--at <time>]", "rules.diff",
	  "Show the records whose decision, state or deadlines would change under a candidate pack.",
	  NULL, false, NULL, show_auto, NULL },
	{ "rules reload [<path>]", "rules.reload",
	  "Validate, test and activate a rule pack (default: the live pack's folder);\n"
	  "on failure the old rules stay live.",
	  NULL, false, NULL, show_rules_reload, NULL },
	{ "rules history", "rules.history",
	  "List the activated rule-pack versions, newest first.",
	  NULL, false, NULL, show_auto, NULL },
	{ "rules rollback <version>", "rules.rollback",
	  "Re-activate a kept rule-pack version (validated like a reload).",
	  NULL, false, NULL, show_auto, NULL },
	{ "audit verify", "audit.verify",
	  "Check the hash chain of the audit log; exits 1 when it is broken.",
	  NULL, false, NULL, show_audit, NULL },
	{ "backup <path>", "backup",
	  "Write a consistent hot copy of the database into a new or empty folder.",
	  NULL, false, NULL, show_backup, NULL },
	{ "metrics", "metrics",
	  "Print the Prometheus text exposition.",
	  NULL, true, NULL, NULL, NULL },
	{ "clock set <now>", "clock.set",
	  "Set the clock of a daemon started with --test-clock to <now>, a <time>\n(drills and tests only).",
	  NULL, false, NULL, show_clock, NULL },
	{ "call <method> [<params>]", NULL,
	  "Call any method with params as JSON text, @file or - and print the raw result.",
	  "params as given", false, NULL, NULL, exec_call },
	{ "help [<command> ...]", NULL,
	  "Show the usage of the commands that start with the given words.",
	  "", false, NULL, NULL, exec_help },
	{ NULL, NULL, NULL, NULL, false, NULL, NULL, NULL },
};

/* --- usage --------------------------------------------------------------- */

/* "{id, kind?, params?}": how a pattern's arguments become params. */
static char *params_doc(const struct cmd *cmd)
{
	struct tok t[TOKS_MAX];
	size_t n = pattern_parse(cmd->pattern, t, TOKS_MAX);
	char *s = xstrdup("");
	bool params = false;
	for (size_t i = 0; i < n; i++) {
		const char *name = t[i].name, *opt = "";
		if (t[i].type == T_WORD || t[i].type == T_FLAG || t[i].type == T_REST)
			continue;
		if (t[i].type != T_ARG)
			opt = "?";
		if (t[i].type == T_PAIRS || strcmp(name, "params") == 0) {
			if (params)
				continue;
			params = true;
			name = "params";
		}
		char *k = xstrdup(name);
		for (char *p = k; *p; p++)
			if (*p == '-')
				*p = '_';
		char *x = xasprintf("%s%s%s%s", s, *s ? ", " : "", k, opt);
		free(k);
		free(s);
		s = x;
	}
	char *x = xasprintf("{%s}", s);
	free(s);
	return x;
}

static void cmd_usage(FILE *f, const struct cmd *cmd)
{
	fprintf(f, "  liuctl %s\n", cmd->pattern);
	for (const char *p = cmd->help; *p;) {
		size_t n = strcspn(p, "\n");
		fprintf(f, "        %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
	if (cmd->method || (cmd->params && *cmd->params)) {
		char *d = cmd->params ? xstrdup(cmd->params) : params_doc(cmd);
		fprintf(f, "        method %s %s\n", cmd->method ? cmd->method : "<method>", d);
		free(d);
	}
}

static void usage(FILE *f)
{
	fputs("usage: liuctl [--socket PATH] [--json] COMMAND [ARG ...]\n"
	      "\n"
	      "The operator's client for liud: one command per method of its control socket.\n"
	      "\n"
	      "options:\n"
	      "  -s, --socket PATH  the daemon's socket (default $LIUD_SOCKET, else " WIRE_DEFAULT_SOCKET ")\n"
	      "  -j, --json         print the raw JSON result instead of tables (also after COMMAND)\n"
	      "  -h, --help         this text; `liuctl help COMMAND` or `COMMAND --help` for one\n"
	      "  -V, --version      liuctl's version\n"
	      "\n"
	      "commands:\n", f);
	for (const struct cmd *cmd = commands; cmd->pattern; cmd++)
		cmd_usage(f, cmd);
	fputs("\n"
	      "<time>: ISO-8601 with offset (2025-03-31T23:59:59+09:00), a date meaning that day in\n"
	      "JST (2025-03-31), or 和暦 (令和7年3月31日).  <path>: made absolute before sending.\n"
	      "<json|@file|->: JSON text, a file holding it, or standard input.\n"
	      "key=value: the value is JSON if it parses (5, true, \"007\"), else a string.\n"
	      "\n"
	      "exit status: 0 ok, 1 error reply (printed on stderr), 2 usage,\n"
	      "3 cannot reach the daemon or the connection broke.\n", f);
}

/* help [WORDS]: the usage of every command starting with those words. */
static int exec_help(struct ctl *c, const struct args *a)
{
	if (a->nlist == 0) {
		usage(stdout);
		return ST_OK;
	}
	bool any = false;
	for (const struct cmd *cmd = commands; cmd->pattern; cmd++) {
		struct tok t[TOKS_MAX];
		size_t n = pattern_parse(cmd->pattern, t, TOKS_MAX), i;
		for (i = 0; i < a->nlist && i < n && t[i].type == T_WORD; i++)
			if (strcmp(t[i].name, a->list[i]) != 0)
				break;
		if (i == a->nlist) {
			cmd_usage(stdout, cmd);
			any = true;
		}
	}
	if (!any) {
		fputs("liuctl: no command starts with that; see liuctl --help\n", stderr);
		return ST_USAGE;
	}
	return ST_OK;
}

/* The entry whose words start argv, the longest such; NULL if none. */
static const struct cmd *cmd_find(int argc, char **argv)
{
	const struct cmd *best = NULL;
	size_t best_words = 0;
	for (const struct cmd *cmd = commands; cmd->pattern; cmd++) {
		struct tok t[TOKS_MAX];
		size_t n = pattern_parse(cmd->pattern, t, TOKS_MAX), w = 0;
		while (w < n && t[w].type == T_WORD && (int)w < argc && strcmp(t[w].name, argv[w]) == 0)
			w++;
		if (w > 0 && (w == n || t[w].type != T_WORD) && w > best_words) {
			best = cmd;
			best_words = w;
		}
	}
	return best;
}

static int unknown_command(int argc, char **argv)
{
	fputs("liuctl: unknown command:", stderr);
	for (int i = 0; i < argc && i < 3; i++) {
		fputc(' ', stderr);
		put_text(stderr, argv[i], false);
	}
	fputc('\n', stderr);
	/* `liuctl rules` alone: show the rules commands rather than all. */
	bool any = false;
	for (const struct cmd *cmd = commands; cmd->pattern; cmd++) {
		size_t n = strcspn(cmd->pattern, " ");
		if (strlen(argv[0]) == n && strncmp(cmd->pattern, argv[0], n) == 0) {
			if (!any)
				fputs("usage:\n", stderr);
			cmd_usage(stderr, cmd);
			any = true;
		}
	}
	if (!any)
		fputs("see liuctl --help for the commands\n", stderr);
	return ST_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { .fd = -1 };
	c.socket = getenv("LIUD_SOCKET");
	if (!c.socket || !*c.socket)
		c.socket = WIRE_DEFAULT_SOCKET;
	int ch;
	/* "+": stop at the command, whose own options come after it. */
	while ((ch = getopt_long(argc, argv, "+s:jhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			c.socket = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return ST_OK;
		case 'V':
			puts("liuctl " LIUD_VERSION);
			return ST_OK;
		default:
			fputs("see liuctl --help\n", stderr);
			return ST_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return ST_USAGE;
	}
	/* A daemon that goes away mid-request must give us EPIPE to report,
	 * not kill us silently. */
	signal(SIGPIPE, SIG_IGN);
	wire_buf_init(&c.in, REPLY_MAX);

	int st;
	const struct cmd *cmd = cmd_find(argc, argv);
	struct args a = { .cmd = cmd };
	if (!cmd) {
		st = unknown_command(argc, argv);
	} else {
		st = args_parse(&a, argc, argv, &c.json);
		if (st == ST_HELP) {
			fputs("usage:\n", stdout);
			cmd_usage(stdout, cmd);
			st = ST_OK;
		} else if (st == ST_OK) {
			st = cmd->exec ? cmd->exec(&c, &a) : exec_default(&c, &a);
		}
	}
	free(a.list);
	ctl_close(&c);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			fprintf(stderr, "liuctl: writing the output: %s\n", strerror(errno));
		if (st == ST_OK)
			st = ST_REPLY;
	}
	return st;
}
