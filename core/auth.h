/*
 * auth — who is on the other end of a connection, and which roles that
 * gives them.  Peer credentials come from the kernel (SO_PEERCRED for uid,
 * gid and pid, SO_PEERGROUPS for the supplementary groups), never from what
 * the client says; the configuration maps users and groups to roles.  A peer
 * may hold several roles; a method, action or view is allowed when any of
 * them is.  The daemon's own user is always admin.  The core knows `admin`
 * only: every other role is the live pack's (`role "id" { ... }`), and this
 * module keeps their names as the configuration spells them, so a role is a
 * bit of `auth_peer.roles` indexed by its place in that table.
 */
#ifndef LIU_AUTH_H
#define LIU_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#define ROLE_ADMIN 0x1u /* bit 0 of auth_peer.roles, whatever the configuration */
#define AUTH_MAX_ROLES 32 /* admin and 31 more: the bits of auth_peer.roles */

struct auth;

struct auth_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char user[64];    /* user name, or the uid in decimal */
	unsigned roles;   /* bit i: the configuration's role i (auth_roles_json names them); ROLE_ADMIN */
	const struct auth *auth; /* borrowed: the daemon's, valid while it runs */
};

/* Resolves the role table of the configuration (role names to user and
 * group ids; conf.c has checked its shape and size).  Users and groups that
 * do not exist on this machine are logged and skipped.  Returns 0 with *out
 * (free with auth_free()), or -EINVAL / -ENOMEM. */
int auth_new(struct auth **out, const json_t *roles_conf, uid_t daemon_uid);
void auth_free(struct auth *a);

/* Reads the credentials of the peer on connected socket `fd` and maps them to
 * roles.  Returns 0 or a negative errno. */
int auth_peer(const struct auth *a, int fd, struct auth_peer *out);

/* Whether peer `p` holds role `name`: its name as the configuration holds it
 * (borrowed: valid until auth_free(), so it may outlive a pack), or NULL.
 * auth_holds_any: any role named in JSON array `names`.  Admin is held only
 * by those it is given to: callers let admin through. */
const char *auth_holds(const struct auth_peer *p, const char *name);
bool auth_holds_any(const struct auth_peer *p, const json_t *names);
/* A new JSON array of the names of the roles `p` holds (caller frees). */
json_t *auth_roles_json(const struct auth_peer *p);

#endif
