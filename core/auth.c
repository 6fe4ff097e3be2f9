/* auth — see auth.h. */
#include "auth.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define AUTH_MAX_GROUPS 256

struct idlist {
	unsigned *v;
	size_t n;
};

/* Role i: names[i], held by users[i] and groups[i]; names[0] is admin. */
struct auth {
	char *names[AUTH_MAX_ROLES];
	struct idlist users[AUTH_MAX_ROLES], groups[AUTH_MAX_ROLES];
	unsigned n;
	uid_t daemon_uid;
};

const char *auth_holds(const struct auth_peer *p, const char *name)
{
	for (unsigned i = 0; p->auth && i < p->auth->n; i++)
		if ((p->roles & (1u << i)) && strcmp(p->auth->names[i], name) == 0)
			return p->auth->names[i];
	return NULL;
}

bool auth_holds_any(const struct auth_peer *p, const json_t *names)
{
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v) {
		if (json_is_string(v) && auth_holds(p, json_string_value(v)))
			return true;
	}
	return false;
}

json_t *auth_roles_json(const struct auth_peer *p)
{
	json_t *a = json_array();
	for (unsigned i = 0; p->auth && i < p->auth->n; i++)
		if (p->roles & (1u << i))
			json_array_append_new(a, json_string(p->auth->names[i]));
	return a;
}

static int resolve(const json_t *list, bool users, struct idlist *out, const char *role)
{
	size_t i, n = json_array_size(list);
	json_t *v;
	out->v = calloc(n ? n : 1, sizeof *out->v);
	if (!out->v)
		return -ENOMEM;
	json_array_foreach(list, i, v) {
		long long id = -1;
		if (json_is_integer(v)) {
			id = json_integer_value(v);
		} else {
			const char *s = json_string_value(v);
			char *end;
			long long num = strtoll(s, &end, 10);
			if (*s && !*end) {
				id = num;
			} else if (users) {
				struct passwd *pw = getpwnam(s);
				if (pw)
					id = pw->pw_uid;
			} else {
				struct group *gr = getgrnam(s);
				if (gr)
					id = gr->gr_gid;
			}
			if (id < 0)
				log_warn("auth: no such %s on this machine, skipped role=%s name=%s",
					 users ? "user" : "group", role, s);
		}
		if (id >= 0)
			out->v[out->n++] = (unsigned)id;
	}
	return 0;
}

int auth_new(struct auth **out, const json_t *roles_conf, uid_t daemon_uid)
{
	struct auth *a = calloc(1, sizeof *a);
	if (!a)
		return -ENOMEM;
	a->daemon_uid = daemon_uid;
	/* admin first (bit 0, ROLE_ADMIN), then the others as configured. */
	int rc = -ENOMEM;
	if (!(a->names[a->n++] = strdup("admin")))
		goto err;
	const char *name;
	json_t *spec;
	json_object_foreach((json_t *)roles_conf, name, spec) {
		if (strcmp(name, "admin") == 0)
			continue;
		rc = -EINVAL; /* conf.c refuses more; a caller that did not check */
		if (a->n == AUTH_MAX_ROLES)
			goto err;
		rc = -ENOMEM;
		if (!(a->names[a->n++] = strdup(name)))
			goto err;
	}
	for (unsigned r = 0; r < a->n; r++) {
		spec = json_object_get(roles_conf, a->names[r]);
		if ((rc = resolve(json_object_get(spec, "users"), true, &a->users[r], a->names[r])) < 0 ||
		    (rc = resolve(json_object_get(spec, "groups"), false, &a->groups[r], a->names[r])) < 0)
			goto err;
	}
	*out = a;
	return 0;
err:
	auth_free(a);
	return rc;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	for (unsigned r = 0; r < a->n; r++) {
		free(a->names[r]);
		free(a->users[r].v);
		free(a->groups[r].v);
	}
	free(a);
}

static bool has(const struct idlist *l, unsigned id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == id)
			return true;
	return false;
}

/* The roles of credentials already read (auth_peer). */
static unsigned roles_of(const struct auth *a, uid_t uid, gid_t gid, const gid_t *groups,
			 int ngroups)
{
	unsigned m = uid == a->daemon_uid ? ROLE_ADMIN : 0;
	for (unsigned r = 0; r < a->n; r++) {
		bool in = has(&a->users[r], uid) || has(&a->groups[r], gid);
		for (int g = 0; !in && g < ngroups; g++)
			in = has(&a->groups[r], groups[g]);
		if (in)
			m |= 1u << r;
	}
	return m;
}

int auth_peer(const struct auth *a, int fd, struct auth_peer *out)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	memset(out, 0, sizeof *out);
	out->uid = cred.uid;
	out->gid = cred.gid;
	out->pid = cred.pid;
	gid_t groups[AUTH_MAX_GROUPS];
	int ngroups = 0;
	len = sizeof groups;
	/* The supplementary groups as the kernel saw them at connect time. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		ngroups = (int)(len / sizeof(gid_t));
	} else {
		/* Older kernels: the group database's view of the user. */
		struct passwd *pw = getpwuid(cred.uid);
		ngroups = AUTH_MAX_GROUPS;
		if (!pw || getgrouplist(pw->pw_name, cred.gid, groups, &ngroups) < 0)
			ngroups = 0;
	}
	struct passwd *pw = getpwuid(cred.uid);
	if (pw)
		snprintf(out->user, sizeof out->user, "%s", pw->pw_name);
	else
		snprintf(out->user, sizeof out->user, "%u", (unsigned)cred.uid);
	out->roles = roles_of(a, cred.uid, cred.gid, groups, ngroups);
	out->auth = a;
	return 0;
}
