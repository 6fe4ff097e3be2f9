/* conf — see conf.h. */
#include "conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

void conf_set(char **field, const char *value)
{
	char *v = strdup(value);
	if (!v)
		return; /* keeps the old value */
	free(*field);
	*field = v;
}

void conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof *c);
	conf_set(&c->socket, LIUD_SOCKET);
	conf_set(&c->db, LIUD_DB);
	/* No measure's pack by default: the configuration names it (the
	 * repository's etc/liud.conf names rules/ismap-liu). */
	conf_set(&c->rules, LIUD_RULES);
	conf_set(&c->log_level, "info");
	conf_set(&c->log_time_zone, "JST");
	c->log_per_s = 20;
	c->log_burst = 100;
	c->socket_mode = 0660;
	c->roles = json_object();
	c->request_bytes = 1u << 20;
	c->connections = 1024;
	c->connections_per_uid = 64;
	c->admin_reserve = 16;
	c->idle_timeout_s = 60;
	c->request_timeout_s = 10;
	c->request_time_s = 30;
	c->reply_bytes = 64u << 20;
	c->rule_memory = 256u << 20;
	c->rule_instructions = 20000000;
	c->rule_time_ms = 1000;
	c->rule_check_s = 60;
	c->map_size = 64u << 20;
	c->max_map_size = (size_t)16 << 30;
	c->enforce_batch = 200;
	c->stage_hours = 24;
	c->cache_bytes = 32u << 20;
	c->memo_bytes = 32u << 20;
	c->dict_records = 1000;   /* STORE_DICT_MIN_RECORDS (store.h) */
	c->pack_versions = 10;
	c->audit_head_s = 3600;
	c->pack_bytes = 16u << 20;
}

void conf_free(struct conf *c)
{
	free(c->socket);
	free(c->db);
	free(c->rules);
	free(c->log_level);
	free(c->log_time_zone);
	json_decref(c->roles);
	memset(c, 0, sizeof *c);
}

static char *bad(const char *path, const char *what, const char *why)
{
	char *s = NULL;
	if (asprintf(&s, "%s: %s: %s", path, what, why) < 0)
		return NULL;
	return s;
}

static int get_str(json_t *o, const char *k, char **field, const char *path, char **err)
{
	json_t *v = json_object_get(o, k);
	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0) {
		*err = bad(path, k, "must be a non-empty string");
		return -EINVAL;
	}
	conf_set(field, json_string_value(v));
	return 0;
}

/* The integer `table`.`k`: 0 with *out, 1 when absent, or -EINVAL with
 * *err naming the setting as it is written in the file. */
static int get_int(json_t *o, const char *table, const char *k, long long min, long long max,
		   long long *out, const char *path, char **err)
{
	json_t *v = json_object_get(o, k);
	if (!v)
		return 1;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		char why[96], what[160];
		snprintf(why, sizeof why, "must be a whole number from %lld to %lld", min, max);
		snprintf(what, sizeof what, "%s.%.80s", table, k);
		*err = bad(path, what, why);
		return -EINVAL;
	}
	*out = json_integer_value(v);
	return 0;
}

/* Refuses a key of the table `table` that is not in `names` (a typo would
 * otherwise be ignored and its default used without a word). */
static int known_keys(json_t *o, const char *table, const char *const *names, const char *path,
		      char **err)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		bool known = false;
		for (size_t i = 0; names[i]; i++)
			known |= strcmp(k, names[i]) == 0;
		if (!known) {
			char what[160];
			snprintf(what, sizeof what, "%s.%.80s", table, k);
			*err = bad(path, what, "unknown setting (a typo?)");
			return -EINVAL;
		}
	}
	return 0;
}

/* A role id as a pack may declare it (prelude.lua, role): a-z first, then
 * a-z, 0-9, "_" and "-", at most 63.  Whether the live pack declares it is
 * checked once the pack is loaded (life_roles_missing). */
static bool role_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || *s < 'a' || *s > 'z')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

static int check_roles(json_t *roles, const char *path, char **err)
{
	if (!json_is_object(roles)) {
		*err = bad(path, "roles", "must be a table { admin = {...}, ... }");
		return -EINVAL;
	}
	const char *role;
	json_t *spec;
	size_t others = json_object_size(roles) - (json_object_get(roles, "admin") ? 1 : 0);
	/* A peer's roles are the bits of an unsigned, admin's the first
	 * (auth.h, AUTH_MAX_ROLES): a bound of the format, not a tunable. */
	if (others > 31) {
		*err = bad(path, "roles", "at most 31 roles besides admin may be mapped");
		return -EINVAL;
	}
	json_object_foreach(roles, role, spec) {
		char what[96];
		snprintf(what, sizeof what, "roles.%.80s", role);
		if (!role_id_ok(role)) {
			*err = bad(path, what, "is not a role id: 1 to 63 of a-z, 0-9, \"_\" and \"-\", starting with a letter");
			return -EINVAL;
		}
		if (!json_is_object(spec)) {
			*err = bad(path, what, "must be { users = {...}, groups = {...} }");
			return -EINVAL;
		}
		const char *k;
		json_t *list;
		json_object_foreach(spec, k, list) {
			if (strcmp(k, "users") != 0 && strcmp(k, "groups") != 0) {
				*err = bad(path, what, "only users and groups may be given");
				return -EINVAL;
			}
			size_t i;
			json_t *x;
			if (!json_is_array(list) && !(json_is_object(list) && json_object_size(list) == 0)) {
				*err = bad(path, what, "users/groups must be lists of names or ids");
				return -EINVAL;
			}
			json_array_foreach(list, i, x) {
				if (!json_is_string(x) && !json_is_integer(x)) {
					*err = bad(path, what, "users/groups must be names or numeric ids");
					return -EINVAL;
				}
			}
		}
	}
	return 0;
}

/* limits = { ... }: each key checked, then the reserve against the total. */
static int load_limits(struct conf *c, json_t *lim, const char *path, char **err)
{
	struct {
		const char *key;
		long long min, max;
		int *val;
	} const keys[] = {
		{ "connections", 1, 1000000, &c->connections },
		{ "connections_per_uid", 1, 1000000, &c->connections_per_uid },
		{ "admin_reserve", 0, 1000000, &c->admin_reserve },
		{ "idle_timeout_s", 1, 86400 * 7, &c->idle_timeout_s },
		{ "request_timeout_s", 1, 86400, &c->request_timeout_s },
		{ "request_time_s", 1, 86400, &c->request_time_s },
	};
	const size_t nkeys = sizeof keys / sizeof keys[0];
	const char *k;
	json_t *v;
	json_object_foreach(lim, k, v) {
		bool known = strcmp(k, "request_bytes") == 0 || strcmp(k, "reply_mib") == 0;
		for (size_t i = 0; i < nkeys; i++)
			known |= strcmp(k, keys[i].key) == 0;
		if (!known) {
			char what[96];
			snprintf(what, sizeof what, "limits.%.80s", k);
			*err = bad(path, what, "unknown limit (a typo?)");
			return -EINVAL;
		}
	}
	long long n;
	int rc;
	if ((rc = get_int(lim, "limits", "request_bytes", 1024, 1 << 30, &n, path, err)) < 0)
		return rc;
	if (rc == 0)
		c->request_bytes = (size_t)n;
	if ((rc = get_int(lim, "limits", "reply_mib", 1, 65536, &n, path, err)) < 0)
		return rc;
	if (rc == 0)
		c->reply_bytes = (size_t)n << 20;
	for (size_t i = 0; i < nkeys; i++) {
		if ((rc = get_int(lim, "limits", keys[i].key, keys[i].min, keys[i].max, &n, path, err)) < 0)
			return rc;
		if (rc == 0)
			*keys[i].val = (int)n;
	}
	/* A reserve as large as the total would leave nothing for anyone but
	 * admin: say so at start rather than refuse every other peer. */
	if (c->admin_reserve >= c->connections) {
		char why[160];
		snprintf(why, sizeof why, "%d must be less than limits.connections (%d); lower it or raise "
			 "limits.connections", c->admin_reserve, c->connections);
		*err = bad(path, "limits.admin_reserve", why);
		return -EINVAL;
	}
	return 0;
}

/* log_rate = { lines_per_s, burst } */
static int load_log_rate(struct conf *c, json_t *lr, const char *path, char **err)
{
	long long n;
	int rc = 0;
	static const char *const lr_keys[] = { "lines_per_s", "burst", NULL };
	if (lr && (rc = known_keys(lr, "log_rate", lr_keys, path, err)) < 0)
		return rc;
	if (lr) {
		if ((rc = get_int(lr, "log_rate", "lines_per_s", 0, 1000000, &n, path, err)) < 0)
			return rc;
		if (rc == 0)
			c->log_per_s = (unsigned)n;
		if ((rc = get_int(lr, "log_rate", "burst", 1, 1000000, &n, path, err)) < 0)
			return rc;
		if (rc == 0)
			c->log_burst = (unsigned)n;
	}
	return 0;
}

/* rule_budget = { memory_mib, instructions, time_ms, check_s } */
static int load_rule_budget(struct conf *c, json_t *rb, const char *path, char **err)
{
	long long n;
	int rc = 0;
	static const char *const rb_keys[] = { "memory_mib", "instructions", "time_ms", "check_s", NULL };
	if (rb && (rc = known_keys(rb, "rule_budget", rb_keys, path, err)) < 0)
		return rc;
	if (rb) {
		if ((rc = get_int(rb, "rule_budget", "memory_mib", 4, 65536, &n, path, err)) < 0)
			return rc;
		if (rc == 0)
			c->rule_memory = (size_t)n << 20;
		if ((rc = get_int(rb, "rule_budget", "instructions", 10000, 10000000000LL, &n, path, err)) < 0)
			return rc;
		if (rc == 0)
			c->rule_instructions = (uint64_t)n;
		if ((rc = get_int(rb, "rule_budget", "time_ms", 1, 600000, &n, path, err)) < 0)
			return rc;
		if (rc == 0)
			c->rule_time_ms = (int)n;
		if ((rc = get_int(rb, "rule_budget", "check_s", 1, 3600, &n, path, err)) < 0)
			return rc;
		if (rc == 0)
			c->rule_check_s = (int)n;
	}
	return 0;
}

/* storage = { ... }: sizes in MiB, counts, hours */
static int load_storage(struct conf *c, json_t *sto, const char *path, char **err)
{
	long long n;
	int rc = 0;
	if (sto) {
		/* Sizes in MiB go to bytes; counts and hours are kept as they are. */
		struct {
			const char *key;
			long long min, max;
			size_t *bytes; /* set from MiB, or */
			int *count;    /* set as is */
		} const keys[] = {
			{ "map_mib", 1, 1 << 20, &c->map_size, NULL },
			{ "max_map_mib", 1, 1 << 24, &c->max_map_size, NULL },
			{ "enforce_batch", 1, 1000000, NULL, &c->enforce_batch },
			{ "stage_hours", 0, 8760, NULL, &c->stage_hours },
			{ "cache_mib", 0, 65536, &c->cache_bytes, NULL },
			{ "memo_mib", 0, 65536, &c->memo_bytes, NULL },
			{ "pack_versions", 2, 1000000, NULL, &c->pack_versions },
			{ "audit_head_s", 0, 31536000, NULL, &c->audit_head_s },
			{ "pack_mib", 1, 1024, &c->pack_bytes, NULL },
			{ "dict_records", 0, 1000000000, NULL, &c->dict_records },
		};
		static const char *const sto_keys[] = { "map_mib", "max_map_mib", "enforce_batch",
							"stage_hours", "cache_mib", "memo_mib",
							"pack_versions", "audit_head_s", "pack_mib",
							"dict_records", NULL };
		if ((rc = known_keys(sto, "storage", sto_keys, path, err)) < 0)
			return rc;
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
			if ((rc = get_int(sto, "storage", keys[i].key, keys[i].min, keys[i].max, &n, path, err)) < 0)
				return rc;
			if (rc == 0 && keys[i].bytes)
				*keys[i].bytes = (size_t)n << 20;
			else if (rc == 0)
				*keys[i].count = (int)n;
		}
	}
	return 0;
}

int conf_load(struct conf *c, const char *path, char **err)
{
	json_t *o;
	int rc = rules_read_conf(path, &o, err);
	if (rc < 0)
		return rc;
	static const char *const known[] = { "socket", "db", "rules", "socket_mode", "roles",
					     "limits", "log_level", "rule_budget", "storage",
					     "rules_watch", "log_rate", "log_time_zone", NULL };
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		bool ok = false;
		for (int i = 0; known[i]; i++)
			ok |= strcmp(k, known[i]) == 0;
		if (!ok) {
			*err = bad(path, k, "unknown setting (a typo?)");
			rc = -EINVAL;
			goto out;
		}
	}
	if ((rc = get_str(o, "socket", &c->socket, path, err)) < 0 ||
	    (rc = get_str(o, "db", &c->db, path, err)) < 0 ||
	    (rc = get_str(o, "rules", &c->rules, path, err)) < 0 ||
	    (rc = get_str(o, "log_level", &c->log_level, path, err)) < 0 ||
	    (rc = get_str(o, "log_time_zone", &c->log_time_zone, path, err)) < 0)
		goto out;
	if ((v = json_object_get(o, "rules_watch"))) {
		if (!json_is_boolean(v)) {
			*err = bad(path, "rules_watch", "must be true or false");
			rc = -EINVAL;
			goto out;
		}
		c->rules_watch = json_is_true(v);
	}
	if ((v = json_object_get(o, "socket_mode"))) {
		char *end;
		long m = json_is_string(v) ? strtol(json_string_value(v), &end, 8) : -1;
		if (m < 0 || m > 0777 || *end) {
			*err = bad(path, "socket_mode", "must be an octal string such as \"0660\"");
			rc = -EINVAL;
			goto out;
		}
		c->socket_mode = (mode_t)m;
	}
	if ((v = json_object_get(o, "roles"))) {
		if ((rc = check_roles(v, path, err)) < 0)
			goto out;
		json_decref(c->roles);
		c->roles = json_incref(v);
	}
	json_t *lim = json_object_get(o, "limits");
	if (lim && (rc = load_limits(c, lim, path, err)) < 0)
		goto out;
	if ((rc = load_log_rate(c, json_object_get(o, "log_rate"), path, err)) < 0 ||
	    (rc = load_rule_budget(c, json_object_get(o, "rule_budget"), path, err)) < 0 ||
	    (rc = load_storage(c, json_object_get(o, "storage"), path, err)) < 0)
		goto out;
	rc = 0;
out:
	json_decref(o);
	return rc;
}
