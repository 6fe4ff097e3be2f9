/*
 * cli_call — the connection to the daemon: connect to the Unix socket,
 * make sure the daemon is on the other end, send one JSON-RPC request line
 * (built by the wire module), read the reply line, and tell a result from an
 * error reply; and print an error reply for people, with its reasons in both
 * languages.  Only one request is ever in flight.  Depends on the wire
 * module, jansson and libc.
 */
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "cli_call.h"
#include "cli_table.h"
#include "cli_util.h"

/* --- who is on the other end -------------------------------------------- */

int cli_daemon_user(struct ctl *c, const char *name, const char *from)
{
	c->daemon_known = false;
	if (!name) {
		struct passwd *pw = getpwnam("liud");
		if (pw) {
			c->daemon_uid = pw->pw_uid;
			c->daemon_known = true;
		}
		return ST_OK;
	}
	char *end;
	errno = 0;
	unsigned long id = strtoul(name, &end, 10);
	struct passwd *pw = NULL;
	if (*name && !*end && errno == 0 && id == (uid_t)id) {
		c->daemon_uid = (uid_t)id;
	} else if ((pw = getpwnam(name))) {
		c->daemon_uid = pw->pw_uid;
	} else {
		fprintf(stderr, "liuctl: %s: no such user on this machine: ", from);
		cli_put_text(stderr, name, false);
		fputs("; give the user liud runs as, by name or uid\n", stderr);
		return ST_USAGE;
	}
	c->daemon_known = true;
	return ST_OK;
}

/*
 * Whoever binds the socket path first answers on it: a squatter could tell
 * us an audit chain holds, or read the params we send.  So the server must
 * run as root, as the daemon user, or as ourselves (a daemon of our own in a
 * checkout; a process of our own uid could impersonate us anyway), and this
 * is checked before anything is sent.  The kernel gives the listener's
 * credentials (SO_PEERCRED), which the other end cannot forge.
 */
static int check_peer(struct ctl *c)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		fprintf(stderr, "liuctl: %s: cannot read the server's credentials: %s\n", c->socket,
			strerror(errno));
		return ST_CONNECT;
	}
	if (cred.uid == 0 || cred.uid == geteuid() || (c->daemon_known && cred.uid == c->daemon_uid))
		return ST_OK;
	struct passwd *pw = getpwuid(cred.uid);
	fprintf(stderr, "liuctl: refusing %s: the server there runs as uid %u (%s), not as root or the "
		"daemon user", c->socket, (unsigned)cred.uid, pw ? pw->pw_name : "no user name");
	if (c->daemon_known) {
		struct passwd *dpw = getpwuid(c->daemon_uid);
		fprintf(stderr, " (uid %u%s%s)", (unsigned)c->daemon_uid, dpw ? " " : "",
			dpw ? dpw->pw_name : "");
	}
	fputs("; someone else may have bound the socket path. If liud really runs as that user, "
	      "say so with --daemon-user or $LIUCTL_DAEMON_USER\n", stderr);
	return ST_CONNECT;
}

/* --- talking to the daemon ---------------------------------------------- */

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
	if (check_peer(c) != ST_OK) {
		close(fd);
		c->fd = -1;
		return ST_CONNECT;
	}
	return ST_OK;
err_socket:
	close(fd);
err:
	if (err == EACCES) {
		/* The daemon runs; the socket's mode or its folder keeps us out,
		 * which only the operator can change. */
		fprintf(stderr, "liuctl: cannot connect to %s: %s: the socket's permissions do not let "
			"this user in (ls -l shows them). The operator decides: socket_mode = \"0666\" "
			"in liud.conf lets everyone connect and the roles decide what each may do, or "
			"a group that may connect, which you then need (and a new login)\n",
			c->socket, strerror(err));
		return ST_CONNECT;
	}
	fprintf(stderr, "liuctl: cannot connect to %s: %s; is liud running?\n", c->socket,
		strerror(err));
	return ST_CONNECT;
}

void cli_close(struct ctl *c)
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
int cli_call(struct ctl *c, const char *method, json_t *params, json_t **out)
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
	/* A daemon over its connection limits writes why and closes, maybe
	 * before our request went out: read its reason all the same. */
	if (rc == 0 || rc == -EPIPE || rc == -ECONNRESET) {
		int wrc = rc;
		rc = read_reply(c, &reply);
		if (rc < 0 && wrc < 0)
			rc = wrc;
	}
	if (rc < 0) {
		fprintf(stderr, "liuctl: %s: %s\n", c->socket,
			rc == -ECONNRESET ? "the daemon closed the connection before its reply was complete "
					    "(a long view stops so past limits.reply_mib or limits.request_time_s, "
					    "or at a rule error, once part of it was sent: see the daemon's log)" :
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

/* --- error replies ------------------------------------------------------ */

/* A reason {ja, en} on stderr, one line per language, after `prefix` (a
 * field name, which may echo what someone typed: printed safely too).  The
 * English line is left out when the message (msg, may be NULL) already
 * says it, prefix and all: the first line of the error said it once. */
static void print_reason(const char *prefix, const json_t *r, const char *msg)
{
	const char *text[2] = { cli_jstr(r, "ja"), cli_jstr(r, "en") };
	if (json_is_string(r))
		text[0] = json_string_value(r);
	if (text[1] && msg) {
		char *said = cli_xasprintf("%s%s", prefix, text[1]);
		if (strstr(msg, said))
			text[1] = NULL;
		free(said);
	}
	for (size_t i = 0; i < 2; i++) {
		if (!text[i])
			continue;
		fputs("  ", stderr);
		cli_put_text(stderr, prefix, false);
		cli_put_text(stderr, text[i], false);
		fputc('\n', stderr);
	}
}

/* An error reply on stderr: the code and message, then what data explains,
 * every reason in both languages, one per line. */
void cli_print_error(const json_t *err)
{
	const char *msg = cli_jstr(err, "message");
	json_t *data = json_object_get(err, "data");
	json_int_t code = json_integer_value(json_object_get(err, "code"));
	fprintf(stderr, "liuctl: error %" JSON_INTEGER_FORMAT ": ", code);
	if (msg) {
		/* A message may end in a report's line break: keep the line tidy. */
		char *m = cli_xstrdup(msg);
		size_t n = strlen(m);
		while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' ' || m[n - 1] == '\r'))
			m[--n] = '\0';
		cli_put_text(stderr, m, false);
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
			const char *f = cli_jstr(e, "field");
			char *prefix = cli_xasprintf("%s: ", f ? f : "?");
			print_reason(prefix, json_object_get(e, "reason"), msg);
			free(prefix);
		}
	} else {
		/* A field only when one is named: the message says the rest. */
		const char *field = cli_jstr(data, "field");
		if (field) {
			fputs("  field: ", stderr);
			cli_put_text(stderr, field, false);
			fputc('\n', stderr);
		}
		print_reason("", json_object_get(data, "reason"), msg);
	}
	json_array_foreach(reasons, i, e)
		print_reason("", e, msg);
	/* A failing pack's test report or a script's error and traceback, for
	 * the policy staff who must fix it; the message holds only a cut. */
	const char *more[] = { "error", "report", "traceback" };
	for (i = 0; i < sizeof more / sizeof *more; i++) {
		const char *s = cli_jstr(data, more[i]);
		if (!s || (msg && strstr(msg, s)))
			continue;
		cli_put_text(stderr, s, true);
		if (s[0] && s[strlen(s) - 1] != '\n')
			fputc('\n', stderr);
	}
	const char *live = cli_jstr(data, "live_version");
	if (live)
		fprintf(stderr, "  the live rules stay at version %.*s\n", VERSION_SHORT, live);
}
