/* rules_text — see rules_text.h. */
#include "rules_text.h"

#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "rules_int.h"

/* The box that owns a parser while it runs: a Lua error raised inside a
 * callback (memory, nesting) unwinds through yajl, and the collector then
 * frees the handle that would otherwise leak. */
#define TEXT_BOX_MT "liud.yajl"

static int box_gc(lua_State *L)
{
	yajl_handle *h = luaL_checkudata(L, 1, TEXT_BOX_MT);
	if (*h) {
		yajl_free(*h);
		*h = NULL;
	}
	return 0;
}

void text_open(lua_State *L)
{
	luaL_newmetatable(L, TEXT_BOX_MT);
	lua_pushcfunction(L, box_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
}

/* Which top-level member a value belongs to. */
enum top { TOP_OTHER, TOP_ID, TOP_KIND, TOP_CREATED, TOP_REV, TOP_STATE, TOP_DATA };

/*
 * A container being read.  Its members wait on the Lua stack (key, value,
 * key, value, ... or the items) and go into a table sized for all of them
 * when it ends: the table conv_push() makes of the same JSON, with the
 * same size and the same insertion order, so that a rule iterating it with
 * pairs() meets the fields in the same order on both paths (and no table
 * rehashes as it fills: the statement's 261 controls would, nine times).
 * A container whose waiting members take more than 2 * TEXT_CHUNK stack
 * slots (2,048 fields, 4,096 items) is moved into its table then, and so
 * on, so that the stack stays small (there only may the table's size, and
 * so pairs()' order, differ from conv_push's).
 */
#define TEXT_CHUNK 2048

struct open {
	int base;           /* the stack's top when it opened */
	bool arr;           /* an array */
	bool tbl;           /* its table exists already, at base + 1 */
	lua_Integer cnt;    /* members so far, nulls included (conv_push's size) */
	lua_Integer placed; /* an array's items already in the table */
	bool twin;          /* inside data, for an action: a second table, equal and
			     * independent, is built alongside (text_push_record) */
	uint64_t serial;    /* an object's number, for its keys' hashes (strict) */
};

/*
 * The keys of a strict read (rules_rec's strict), to find one given twice
 * in an object: 32-bit hashes of (the object's serial, the key), each
 * stamped with the read's number, in a table kept in the state between
 * reads (a table made and zeroed per read cost a cold eval more CPU than
 * the scan it saved, in cache misses and the collector's work).  A slot of
 * an earlier read is free, so nothing is cleared.  A collision, true or
 * not, refuses the text: the caller then asks jansson, which says whether
 * the key was really there twice.  The table grows to stay under half
 * full; it is a userdata, freed by the collector with the state.
 */
struct keyset {
	uint32_t read;      /* this read's stamp: slots with another are free */
	size_t n, mask;     /* keys of this read; slots - 1 */
	uint64_t slot[];    /* stamp << 32 | hash */
};
struct parse {
	lua_State *L;
	struct rules_rec *rec;
	yajl_handle h;
	int depth;                          /* containers open */
	struct open open[RULES_MAX_DEPTH + 2];
	enum top top;                       /* the top-level member being read */
	size_t vstart;                      /* where its value starts */
	bool in_data;                       /* inside the top-level "data" */
	size_t data_end;                    /* where data's last member ended */
	bool want_twin;                     /* build data's twin */
	int twin_slot;                      /* stack index that receives it */
	int root;                           /* depth of the value read: 0 for a
					     * record, 2 for a member of data
					     * (text_push_value) */
	bool lazy;                          /* data's containers left as text */
	int skip;                           /* depth of the one being skipped, or 0 */
	size_t skip_off;                    /* where its text starts */
	int pend_slot;                      /* the table of those texts */
	struct keyset *keys;                /* strict: the keys seen, or NULL */
	uint64_t serial;                    /* objects opened */
};

static const char keyset_key = 'k'; /* the registry's key of the table */

/* A key set of at least `cap` slots (a power of two), stamped for a new
 * read; the one kept in the registry when it is big enough.  [-0, +0, m] */
static struct keyset *keyset_get(lua_State *L, size_t cap)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &keyset_key);
	struct keyset *k = lua_touserdata(L, -1);
	lua_pop(L, 1); /* still referenced by the registry */
	if (!k || k->mask + 1 < cap || k->read == UINT32_MAX) {
		k = lua_newuserdatauv(L, sizeof *k + cap * sizeof k->slot[0], 0);
		memset(k->slot, 0, cap * sizeof k->slot[0]);
		k->mask = cap - 1;
		k->read = 0;
		lua_rawsetp(L, LUA_REGISTRYINDEX, &keyset_key);
	}
	k->read++;
	k->n = 0;
	return k;
}

static uint32_t keyset_hash(uint64_t serial, const unsigned char *s, size_t l)
{
	uint32_t h = 2166136261u ^ (uint32_t)(serial * 0x9e3779b9u);
	for (size_t i = 0; i < l; i++)
		h = (h ^ s[i]) * 16777619u;
	return h;
}

/* Adds a key of the object `serial`; false when it may be there already. */
static bool keyset_add(lua_State *L, struct keyset **kp, uint64_t serial, const unsigned char *s, size_t l)
{
	struct keyset *k = *kp;
	if (2 * (k->n + 1) > k->mask + 1) { /* grow: this read's keys moved */
		struct keyset *old = k;
		luaL_checkstack(L, 2, "keys");
		lua_rawgetp(L, LUA_REGISTRYINDEX, &keyset_key); /* old, alive while copied */
		k = *kp = keyset_get(L, 2 * (old->mask + 1));
		k->read = old->read;
		for (size_t i = 0; i <= old->mask; i++) {
			uint64_t v = old->slot[i];
			if ((uint32_t)(v >> 32) != old->read)
				continue;
			size_t j = (uint32_t)v & k->mask;
			while ((uint32_t)(k->slot[j] >> 32) == k->read)
				j = (j + 1) & k->mask;
			k->slot[j] = v;
			k->n++;
		}
		lua_pop(L, 1);
	}
	uint32_t h = keyset_hash(serial, s, l);
	uint64_t v = (uint64_t)k->read << 32 | h;
	size_t j = h & k->mask;
	for (; (uint32_t)(k->slot[j] >> 32) == k->read; j = (j + 1) & k->mask)
		if (k->slot[j] == v)
			return false;
	k->slot[j] = v;
	k->n++;
	return true;
}

/* Refuses the text for what jansson refuses too (rules_rec's refused). */
static int refuse(struct parse *p, const char *why)
{
	p->rec->damaged = true;
	p->rec->refused = true;
	return luaL_error(p->L, "the stored record does not parse: %s", why);
}

static size_t here(const struct parse *p)
{
	return yajl_get_bytes_consumed(p->h);
}

/* The first byte at or after `at` that is not white space or `skip`. */
static size_t skip_to(const struct parse *p, size_t at, char skip)
{
	const char *t = p->rec->text;
	while (at < p->rec->len && (t[at] == ' ' || t[at] == '\t' || t[at] == '\n' ||
				    t[at] == '\r' || t[at] == skip))
		at++;
	return at;
}

static char *dup_n(const unsigned char *s, size_t l)
{
	char *d = malloc(l + 1);
	if (d) {
		memcpy(d, s, l);
		d[l] = '\0';
	}
	return d;
}

/* A value just ended at depth p->depth: note where, when it is one we
 * track. */
static void ended(struct parse *p)
{
	struct rules_rec *rec = p->rec;
	size_t end = here(p);
	if (p->depth == 1) {
		struct rules_span s = { p->vstart, end - p->vstart };
		switch (p->top) {
		case TOP_ID: rec->id = s; break;
		case TOP_KIND: rec->kind = s; break;
		case TOP_CREATED: rec->created_at = s; break;
		case TOP_DATA: p->in_data = false; break;
		default: break;
		}
	} else if (p->depth == 2 && p->in_data && rec->ndata) {
		struct rules_member *m = &rec->data[rec->ndata - 1];
		m->text.len = end - m->text.off;
		p->data_end = end;
	}
}

/* Moves the members waiting on the stack into the container's table (and
 * its twin's), creating them first (sized for the members counted so
 * far), and leaves the table at o->base + 1 (the twin at o->base + 2), the
 * top.  Waiting: key, value[, twin] for an object; value[, twin] for an
 * array (a scalar's twin is the value itself). */
static void fill(struct parse *p, struct open *o)
{
	lua_State *L = p->L;
	int ntbl = o->twin ? 2 : 1;
	if (!o->tbl) {
		int n = o->cnt > INT32_MAX ? INT32_MAX : (int)o->cnt;
		for (int k = 1; k <= ntbl; k++) {
			lua_createtable(L, o->arr ? n : 0, o->arr ? 0 : n);
			if (o->arr)
				luaL_setmetatable(L, RULES_ARRAY_MT);
			lua_insert(L, o->base + k);
		}
		o->tbl = true;
	}
	int t = o->base + 1, w = o->base + 2, top = lua_gettop(L);
	if (o->arr) {
		for (int i = o->base + ntbl + 1; i + ntbl - 1 <= top; i += ntbl) {
			lua_pushvalue(L, i);
			lua_rawseti(L, t, ++o->placed);
			if (o->twin) {
				lua_pushvalue(L, i + 1);
				lua_rawseti(L, w, o->placed);
			}
		}
	} else {
		for (int i = o->base + ntbl + 1; i + ntbl <= top; i += ntbl + 1) {
			lua_pushvalue(L, i);
			lua_pushvalue(L, i + 1);
			lua_rawset(L, t);
			if (o->twin) {
				lua_pushvalue(L, i);
				lua_pushvalue(L, i + 2);
				lua_rawset(L, w);
			}
		}
	}
	lua_settop(L, o->base + ntbl);
}

/* A value was pushed (or, for a null, counted) for the open container;
 * inside data, for an action, its twin too. */
static void member(struct parse *p)
{
	if (p->depth <= p->root)
		return;
	struct open *o = &p->open[p->depth - 1];
	o->cnt++;
	int ntbl = o->twin ? 2 : 1;
	int waiting = lua_gettop(p->L) - o->base - (o->tbl ? ntbl : 0);
	int per = o->arr ? ntbl : ntbl + 1;
	if (waiting / per > (o->arr ? 2 * TEXT_CHUNK : TEXT_CHUNK))
		fill(p, o);
}

/* A scalar was pushed: inside data, for an action, its twin is itself. */
static void scalar(struct parse *p)
{
	if (p->depth > p->root && p->open[p->depth - 1].twin)
		lua_pushvalue(p->L, -1);
	member(p);
	ended(p);
}

/* Before a value: its depth, and room on the stack for it and a key. */
static void before(struct parse *p)
{
	if (p->depth > RULES_MAX_DEPTH) {
		p->rec->damaged = true;
		luaL_error(p->L, "the stored record is nested deeper than %d levels", RULES_MAX_DEPTH);
	}
	luaL_checkstack(p->L, 4, "JSON value");
}

static int t_null(void *u)
{
	struct parse *p = u;
	before(p);
	if (p->skip)
		return 1;
	/* nil: a hole in an array (it keeps its place), a missing field in an
	 * object (the key pushed for it goes; conv_push counts it too). */
	if (p->depth > 0 && p->open[p->depth - 1].arr) {
		lua_pushnil(p->L);
		if (p->open[p->depth - 1].twin)
			lua_pushnil(p->L);
	} else if (p->depth > 0) {
		lua_pop(p->L, 1);
	}
	member(p);
	ended(p);
	return 1;
}

static int t_bool(void *u, int b)
{
	struct parse *p = u;
	before(p);
	if (p->skip)
		return 1;
	lua_pushboolean(p->L, b);
	scalar(p);
	return 1;
}

/* Numbers come as their text, read as jansson reads them: an integer when
 * there is no fraction or exponent (beyond 64 bits an error, where yajl's
 * own reading also refuses -2^63, which jansson takes and writes), else a
 * double (an overflow an error). */
static int t_number(void *u, const char *s, size_t l)
{
	struct parse *p = u;
	before(p);
	char small[64], *buf = l < sizeof small ? small : malloc(l + 1);
	if (!buf)
		luaL_error(p->L, "not enough memory");
	memcpy(buf, s, l);
	buf[l] = '\0';
	bool real = strpbrk(buf, ".eE") != NULL;
	char *end;
	errno = 0;
	long long i = 0;
	double d = 0;
	if (real)
		d = strtod(buf, &end);
	else
		i = strtoll(buf, &end, 10);
	bool bad = *end != '\0' || (errno == ERANGE && (!real || d == HUGE_VAL || d == -HUGE_VAL));
	if (buf != small)
		free(buf);
	if (bad)
		refuse(p, "number out of range");
	if (p->skip)
		return 1; /* checked all the same: a damaged record is found now */
	if (real) {
		lua_pushnumber(p->L, d);
	} else {
		if (p->depth == 1 && p->top == TOP_REV) {
			p->rec->rev = i;
			p->rec->has_rev = true;
		}
		lua_pushinteger(p->L, (lua_Integer)i);
	}
	scalar(p);
	return 1;
}

static int t_string(void *u, const unsigned char *s, size_t l)
{
	struct parse *p = u;
	before(p);
	if (p->skip)
		return 1;
	if (p->depth == 1 && (p->top == TOP_KIND || p->top == TOP_STATE)) {
		char **dst = p->top == TOP_KIND ? &p->rec->kind_s : &p->rec->state_s;
		free(*dst);
		if (!(*dst = dup_n(s, l)))
			luaL_error(p->L, "not enough memory");
	}
	lua_pushlstring(p->L, (const char *)s, l);
	scalar(p);
	return 1;
}

static void open_container(struct parse *p, bool arr)
{
	before(p);
	if (p->skip) {
		p->depth++;
		return;
	}
	if (p->lazy && p->depth == 2 && p->in_data) {
		/* A container in data, left as its text until a rule reads it
		 * (text_lazy_*): only its depth is followed from here. */
		p->skip = p->depth;
		p->skip_off = here(p) - 1; /* yajl has read its bracket */
		p->depth++;
		return;
	}
	if (p->depth == 1 && p->top == TOP_DATA && !arr) {
		p->in_data = true;
		p->data_end = here(p);
	}
	p->open[p->depth] = (struct open){ .base = lua_gettop(p->L), .arr = arr,
					   .twin = p->want_twin && p->in_data,
					   .serial = ++p->serial };
	p->depth++;
}

static int t_start_map(void *u)
{
	open_container(u, false);
	return 1;
}

static int t_start_array(void *u)
{
	open_container(u, true);
	return 1;
}

/* The end of a container left as text: its key, waiting on the stack,
 * goes with the text into the pending table instead of into data. */
static void skipped(struct parse *p)
{
	lua_State *L = p->L;
	const char *t = p->rec->text;
	lua_pushlstring(L, t + p->skip_off, here(p) - p->skip_off);
	lua_rawset(L, p->pend_slot);
	p->open[p->depth - 1].cnt++; /* data is sized for it all the same */
	p->rec->data[p->rec->ndata - 1].lazy = true;
	p->skip = 0;
	ended(p);
}

/* A key twice in data (only a damaged or hand-made text has that: jansson
 * never writes it): the last one wins, as on every other path, whether it
 * was left as text or read.  data at di, the twin at wi (or 0), the
 * pending texts at pi. */
static void last_wins(lua_State *L, const struct rules_rec *rec, int di, int wi, int pi)
{
	lua_pushnil(L);
	while (lua_next(L, pi)) {
		lua_pop(L, 1);
		lua_pushvalue(L, -1);
		if (lua_rawget(L, di) == LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		lua_pop(L, 1);
		size_t kl;
		const char *k = lua_tolstring(L, -1, &kl);
		bool lazy = false;
		for (size_t i = 0; i < rec->ndata; i++)
			if (rec->data[i].key_len == kl && memcmp(rec->data[i].key, k, kl) == 0)
				lazy = rec->data[i].lazy;
		if (lazy) { /* the text: the value read goes */
			lua_pushvalue(L, -1);
			lua_pushnil(L);
			lua_rawset(L, di);
			if (wi) {
				lua_pushvalue(L, -1);
				lua_pushnil(L);
				lua_rawset(L, wi);
			}
		} else { /* the value read: the text goes (next() may go on
			  * after its own key is cleared) */
			lua_pushvalue(L, -1);
			lua_pushnil(L);
			lua_rawset(L, pi);
		}
	}
}

static int t_end(void *u)
{
	struct parse *p = u;
	if (p->skip) {
		if (--p->depth == p->skip)
			skipped(p);
		return 1;
	}
	struct open *o = &p->open[p->depth - 1];
	fill(p, o);
	/* data's twin (the record around it has none) goes to its slot. */
	if (o->twin && (p->depth < 2 || !p->open[p->depth - 2].twin))
		lua_replace(p->L, p->twin_slot);
	p->depth--;
	member(p);
	ended(p);
	return 1;
}

static int t_key(void *u, const unsigned char *s, size_t l)
{
	struct parse *p = u;
	struct rules_rec *rec = p->rec;
	if (p->skip)
		return 1;
	if (p->keys && !keyset_add(p->L, &p->keys, p->open[p->depth - 1].serial, s, l))
		refuse(p, "duplicate object key");
	if (p->depth == 1) {
		static const struct { const char *name; enum top top; } tops[] = {
			{ "id", TOP_ID }, { "kind", TOP_KIND }, { "created_at", TOP_CREATED },
			{ "rev", TOP_REV }, { "state", TOP_STATE }, { "data", TOP_DATA },
		};
		p->top = TOP_OTHER;
		for (size_t i = 0; i < sizeof tops / sizeof tops[0]; i++)
			if (strlen(tops[i].name) == l && memcmp(tops[i].name, s, l) == 0)
				p->top = tops[i].top;
		p->vstart = skip_to(p, here(p), ':');
	} else if (p->depth == 2 && p->in_data) {
		if (rec->ndata == rec->capdata) {
			size_t cap = rec->capdata ? 2 * rec->capdata : 16;
			struct rules_member *m = realloc(rec->data, cap * sizeof *m);
			if (!m)
				luaL_error(p->L, "not enough memory");
			rec->data = m;
			rec->capdata = cap;
		}
		/* The member starts at its key's opening quote: after the last
		 * member's end, past white space and the comma. */
		struct rules_member *m = &rec->data[rec->ndata];
		*m = (struct rules_member){ .text = { skip_to(p, p->data_end, ','), 0 } };
		if (!(m->key = dup_n(s, l)))
			luaL_error(p->L, "not enough memory");
		m->key_len = l;
		rec->ndata++;
	}
	luaL_checkstack(p->L, 4, "JSON value");
	lua_pushlstring(p->L, (const char *)s, l);
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = t_null,
	.yajl_boolean = t_bool,
	.yajl_number = t_number,
	.yajl_string = t_string,
	.yajl_start_map = t_start_map,
	.yajl_map_key = t_key,
	.yajl_end_map = t_end,
	.yajl_start_array = t_start_array,
	.yajl_end_array = t_end,
};

/* Runs the parser `p` over `text`; on success leaves the stack as it was
 * plus what the callbacks left (the value read, at the top). */
static void run(struct parse *p, const char *text, size_t len)
{
	lua_State *L = p->L;
	yajl_handle *box = lua_newuserdatauv(L, sizeof *box, 0);
	*box = NULL;
	luaL_setmetatable(L, TEXT_BOX_MT);
	int box_at = lua_gettop(L);
	if (!(*box = p->h = yajl_alloc(&callbacks, NULL, p)))
		luaL_error(L, "not enough memory");
	yajl_status st = yajl_parse(p->h, (const unsigned char *)text, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(p->h);
	if (st != yajl_status_ok) {
		unsigned char *why = yajl_get_error(p->h, 0, NULL, 0);
		lua_pushfstring(L, "the stored record does not parse: %s", why ? (char *)why : "?");
		if (why)
			yajl_free_error(p->h, why);
		yajl_free(p->h);
		*box = NULL;
		p->rec->damaged = true;
		p->rec->refused = true;
		lua_error(L);
	}
	yajl_free(p->h);
	*box = NULL;
	lua_remove(L, box_at);
}

static int lazy_index(lua_State *L);
static int lazy_newindex(lua_State *L);
static int lazy_pairs(lua_State *L);

void text_push_record(lua_State *L, struct rules_rec *rec, unsigned flags)
{
	if (rec->len == 0 || rec->text[0] != '{') {
		rec->damaged = true;
		luaL_error(L, "the stored record is not a JSON object");
	}
	bool twin = flags & TEXT_TWIN;
	struct parse p = { .L = L, .rec = rec, .want_twin = twin,
			   .lazy = (flags & TEXT_LAZY) && !rec->strict };
	luaL_checkstack(L, 8, "record");
	int base = lua_gettop(L);
	if (rec->strict)
		p.keys = keyset_get(L, 1024);
	if (twin) {
		lua_pushnil(L); /* [twin slot] */
		p.twin_slot = lua_gettop(L);
	}
	if (p.lazy) {
		lua_newtable(L); /* [twin slot, pending] */
		p.pend_slot = lua_gettop(L);
	}
	run(&p, rec->text, rec->len);
	if (lua_type(L, -1) != LUA_TTABLE)
		luaL_error(L, "the stored record is not a JSON object");
	/* [twin?, pending?, record] */
	if (p.lazy) {
		lua_pushnil(L);
		bool any = lua_next(L, p.pend_slot);
		if (any)
			lua_pop(L, 2);
		if (any && lua_getfield(L, -1, "data") == LUA_TTABLE) {
			last_wins(L, rec, lua_gettop(L), twin ? p.twin_slot : 0, p.pend_slot);
			/* data's metatable: the pending texts, and the twin that
			 * receives a copy of each as it is read. */
			lua_createtable(L, 0, 6);
			lua_pushcfunction(L, lazy_index);
			lua_setfield(L, -2, "__index");
			lua_pushcfunction(L, lazy_newindex);
			lua_setfield(L, -2, "__newindex");
			lua_pushcfunction(L, lazy_pairs);
			lua_setfield(L, -2, "__pairs");
			lua_pushboolean(L, 0);
			lua_setfield(L, -2, "__metatable");
			lua_pushvalue(L, p.pend_slot);
			lua_setfield(L, -2, "pending");
			if (twin) {
				lua_pushvalue(L, p.twin_slot);
				lua_setfield(L, -2, "twin");
			}
			lua_setmetatable(L, -2);
		}
		if (any)
			lua_pop(L, 1);
		lua_remove(L, p.pend_slot);
	}
	if (twin) /* [twin, record] -> [record, twin] */
		lua_rotate(L, base + 1, 1);
}

/* --- data's containers read when a rule first touches them ----------------- */

/* Pushes the value of a member of data from its text `s` (a container, as
 * text_push_record left it), and its twin with `twin`.  [-0, +1 or +2, m] */
static void text_push_value(lua_State *L, const char *s, size_t len, bool twin)
{
	/* Read as the member it is: at depth 2 inside data, so that the
	 * nesting limit and the twin's building are those of the record's
	 * read.  The text passed that read: only memory can fail. */
	struct rules_rec whole = { .text = s, .len = len };
	struct parse p = { .L = L, .rec = &whole, .want_twin = twin, .in_data = true,
			   .root = 2, .depth = 2 };
	luaL_checkstack(L, 8, "record");
	int base = lua_gettop(L);
	if (twin) {
		lua_pushnil(L);
		p.twin_slot = lua_gettop(L);
	}
	run(&p, s, len);
	if (twin)
		lua_rotate(L, base + 1, 1);
}

/* Whether the table at idx has data's metatable; if so leaves it pushed. */
static bool lazy_mt(lua_State *L, int idx)
{
	if (!lua_getmetatable(L, idx))
		return false;
	lua_pushliteral(L, "__index");
	lua_rawget(L, -2);
	bool is = lua_tocfunction(L, -1) == lazy_index;
	lua_pop(L, is ? 1 : 2);
	return is;
}

bool text_is_lazy(lua_State *L, int idx)
{
	if (!lazy_mt(L, idx))
		return false;
	lua_pop(L, 1);
	return true;
}

/* Reads the member `k` (at ki) of the data table t (at ti, metatable at mi)
 * if it is still text: into t, its twin into the twin.  [-0, +0, m] */
static void materialize(lua_State *L, int ti, int mi, int ki)
{
	lua_getfield(L, mi, "pending");
	int pi = lua_gettop(L);
	lua_pushvalue(L, ki);
	if (lua_rawget(L, pi) != LUA_TSTRING) {
		lua_settop(L, pi - 1);
		return;
	}
	size_t len;
	const char *s = lua_tolstring(L, -1, &len); /* held on the stack */
	bool twin = lua_getfield(L, mi, "twin") == LUA_TTABLE;
	int wi = lua_gettop(L);
	text_push_value(L, s, len, twin); /* [.., value, twin?] */
	if (twin) {
		lua_pushvalue(L, ki);
		lua_insert(L, -2);
		lua_rawset(L, wi);
	}
	lua_pushvalue(L, ki);
	lua_insert(L, -2);
	lua_rawset(L, ti);
	lua_pushvalue(L, ki);
	lua_pushnil(L);
	lua_rawset(L, pi);
	lua_settop(L, pi - 1);
}

/* Every member still text read (the metatable at mi).  [-0, +0, m] */
static void force(lua_State *L, int ti, int mi)
{
	lua_getfield(L, mi, "pending");
	int pi = lua_gettop(L);
	for (;;) {
		lua_pushnil(L);
		if (!lua_next(L, pi))
			break;
		lua_pop(L, 1);
		materialize(L, ti, mi, lua_gettop(L));
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

void text_lazy_force(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	if (!lazy_mt(L, idx))
		return;
	force(L, idx, lua_gettop(L));
	lua_pop(L, 1);
}

int text_lazy_json(lua_State *L, int idx, json_t *obj, char *err, size_t errlen)
{
	if (!lazy_mt(L, idx))
		return 0;
	lua_getfield(L, -1, "pending");
	int pi = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, pi)) {
		size_t kl, sl;
		const char *k = lua_tolstring(L, -2, &kl), *s = lua_tolstring(L, -1, &sl);
		json_error_t e;
		json_t *v = json_loadb(s, sl, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
		if (!v || json_object_setn_new(obj, k, kl, v) < 0) {
			snprintf(err, errlen, "%s: %s", k, v ? "out of memory" : e.text);
			lua_pop(L, 4);
			return -1;
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 2);
	return 0;
}

/* __index(t, k): a member still text is read now. */
static int lazy_index(lua_State *L)
{
	lua_settop(L, 2);
	lua_getmetatable(L, 1);
	materialize(L, 1, 3, 2);
	lua_pushvalue(L, 2);
	lua_rawget(L, 1);
	return 1;
}

/* __newindex(t, k, v): a member still text is read first, so that the
 * twin has what it replaces (the change is then found as any other). */
static int lazy_newindex(lua_State *L)
{
	lua_settop(L, 3);
	lua_getmetatable(L, 1);
	materialize(L, 1, 4, 2);
	lua_settop(L, 3);
	lua_rawset(L, 1);
	return 0;
}

int text_l_next(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 2);
	if (lazy_mt(L, 1)) {
		force(L, 1, 3);
		lua_pop(L, 1);
	}
	if (lua_next(L, 1))
		return 2;
	lua_pushnil(L);
	return 1;
}

int text_l_rawget(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checkany(L, 2);
	lua_settop(L, 2);
	if (lazy_mt(L, 1)) {
		materialize(L, 1, 3, 2);
		lua_pop(L, 1);
	}
	lua_rawget(L, 1); /* [t, k] */
	return 1;
}

/* __pairs(t): everything read, then the table's own order. */
static int lazy_pairs(lua_State *L)
{
	text_lazy_force(L, 1);
	lua_pushcfunction(L, text_l_next);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

int text_l_force(lua_State *L)
{
	if (lua_type(L, 1) == LUA_TTABLE)
		text_lazy_force(L, 1);
	return 0;
}

int text_l_detach(lua_State *L)
{
	if (lua_type(L, 1) != LUA_TTABLE || !lazy_mt(L, 1))
		return 0;
	lua_getfield(L, -1, "pending");
	int pi = lua_gettop(L);
	lua_newtable(L);
	lua_Integer n = 0;
	lua_pushnil(L);
	while (lua_next(L, pi)) {
		lua_pop(L, 1);
		lua_pushvalue(L, -1);
		lua_rawseti(L, pi + 1, ++n);
	}
	lua_pushnil(L);
	lua_setmetatable(L, 1);
	return 1;
}

/* --- the new version's data ------------------------------------------------ */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static int buf_add(const char *s, size_t n, void *ud)
{
	struct buf *b = ud;
	if (b->oom)
		return -1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->oom = true;
			return -1;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* "key":value with the value encoded as jansson's dump() in ledger.c does
 * (compact): the bytes jansson writes for the member inside an object. */
static void add_member(struct buf *b, const char *key, size_t key_len, json_t *v)
{
	json_t *k = json_stringn_nocheck(key, key_len);
	if (!k) {
		b->oom = true;
		return;
	}
	json_dump_callback(k, buf_add, b, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(k);
	buf_add(":", 1, b);
	json_dump_callback(v, buf_add, b, JSON_COMPACT | JSON_ENCODE_ANY);
}

static bool is_kept(json_t *kept, const char *key, size_t key_len)
{
	size_t i;
	json_t *k;
	json_array_foreach(kept, i, k)
		if (json_string_length(k) == key_len && memcmp(json_string_value(k), key, key_len) == 0)
			return true;
	return false;
}

char *text_data(const struct rules_rec *was, json_t *now, json_t *kept, size_t *len)
{
	struct buf b = { 0 };
	bool first = true;
	buf_add("{", 1, &b);
	for (size_t i = 0; i < was->ndata; i++) {
		const struct rules_member *m = &was->data[i];
		json_t *v;
		if (is_kept(kept, m->key, m->key_len)) {
			buf_add(first ? "" : ",", first ? 0 : 1, &b);
			buf_add(was->text + m->text.off, m->text.len, &b);
		} else if ((v = json_object_getn(now, m->key, m->key_len))) {
			buf_add(first ? "" : ",", first ? 0 : 1, &b);
			add_member(&b, m->key, m->key_len, v);
		} else {
			continue; /* removed by the action */
		}
		first = false;
	}
	const char *key;
	size_t key_len;
	json_t *v;
	json_object_keylen_foreach(now, key, key_len, v) {
		bool had = false;
		for (size_t i = 0; i < was->ndata && !had; i++)
			had = was->data[i].key_len == key_len && memcmp(was->data[i].key, key, key_len) == 0;
		if (had)
			continue;
		buf_add(first ? "" : ",", first ? 0 : 1, &b);
		add_member(&b, key, key_len, v);
		first = false;
	}
	buf_add("}", 1, &b);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
