/*
 * server — the control socket: a Unix stream socket served by libuv,
 * connections, line framing, per-connection reply order, limits and idle
 * timeouts.  Knows nothing of methods: complete lines go to rpc_handle().
 *
 * Start-up follows OpenSMTPD's control.c: refuse when a live daemon already
 * answers on the path, unlink only a stale socket, create it with a tight
 * umask in a directory only the daemon writes, then set the configured mode.
 * Peer credentials are read once at accept; the roles are fixed for the
 * life of the connection.
 *
 * Containment: no peer may take the socket from the others.  A peer without
 * admin holds at most per_uid connections, and all of them together leave
 * the last admin_reserve slots to admin, so an operator can always get in to
 * see what is going on.  A connection that has begun a request line must end
 * it within request_timeout_s (a client trickling a byte at a time holds no
 * slot for long); one silent between requests is closed after idle_timeout_s.
 */
#ifndef LIU_SERVER_H
#define LIU_SERVER_H

#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "auth.h"
#include "rpc.h"

struct server;

struct server_opts {
	const char *path;
	mode_t mode;
	size_t request_bytes;
	int max_connections;
	int per_uid;           /* connections of one uid, for peers without admin */
	int admin_reserve;     /* the last slots of max_connections: admin only */
	int idle_timeout_s;    /* between requests */
	int request_timeout_s; /* from a request line's first byte to its end */
};

/* Whether a live daemon answers on `path` (1) or not (0): checked before
 * anything else at start-up, so a second daemon says the clearest thing. */
int server_probe(const char *path);

/* Binds and listens.  Returns 0 with *out, -EADDRINUSE when a live daemon
 * answers on the path, or another negative errno; after a failure past the
 * listener's creation, what was allocated is freed by the loop's next turn
 * (run it before closing the loop). */
int server_start(struct server **out, uv_loop_t *loop, const struct server_opts *o,
		 struct rpc *rpc, struct auth *auth);
/* Stops accepting; connections close once their replies are written.  The
 * socket file is removed.  The struct is freed when the last handle closed
 * (run the loop until then). */
void server_stop(struct server *s);
/* Connections open (for status); `ud` is the server. */
size_t server_connections(void *ud);

#endif
