/*
 * auth — who is on the other end of a connection, and which roles that
 * gives them.  Peer credentials come from the kernel (SO_PEERCRED for uid,
 * gid and pid, SO_PEERGROUPS for the supplementary groups), never from what
 * the client says; the configuration maps users and groups to roles.  A peer
 * may hold several roles; a method, action or view is allowed when any of
 * them is.  The daemon's own user is always admin.
 */
#ifndef LIU_AUTH_H
#define LIU_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#define ROLE_ADMIN       0x1u
#define ROLE_POLICY      0x2u
#define ROLE_SECRETARIAT 0x4u
#define ROLE_AGENCY      0x8u
#define ROLE_ANY         0x10u /* pseudo-role of methods open to every peer holding a role */
#define ROLE_NONE        0x20u /* pseudo-role of methods open to a peer holding none */

struct auth;

struct auth_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char user[64];    /* user name, or the uid in decimal */
	unsigned roles;   /* ROLE_* bits */
};

/* Resolves the role table of the configuration (names to ids).  Names that
 * do not exist on this machine are logged and skipped.  Returns 0 with *out
 * (free with auth_free()), or -EINVAL / -ENOMEM. */
int auth_new(struct auth **out, const json_t *roles_conf, uid_t daemon_uid);
void auth_free(struct auth *a);

/* Reads the credentials of the peer on connected socket `fd` and maps them to
 * roles.  Returns 0 or a negative errno. */
int auth_peer(const struct auth *a, int fd, struct auth_peer *out);

/* Role names: the mask of a JSON array of names (unknown names are
 * ignored); a new JSON array of the names in a mask. */
unsigned auth_mask_of(const json_t *names);
json_t *auth_roles_json(unsigned mask);
/* The first role in the order admin, policy, secretariat, agency, or "none". */
const char *auth_primary(unsigned mask);

#endif
