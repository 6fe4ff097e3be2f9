/* evalcache — see evalcache.h. */
#include "evalcache.h"

#include <stdlib.h>
#include <string.h>

/* The entry of `id` under pack `r`, or false. */
static bool entry(struct ledger *l, struct rules *r, const char *id, struct evalcache_head *h,
		  struct ledger_memo *m)
{
	if (!ledger_memo_get(l, id, m) || m->head_len != sizeof *h)
		return false;
	memcpy(h, m->head, sizeof *h);
	return h->serial == rules_serial(r) && h->split <= m->body_len;
}

bool evalcache_get(struct ledger *l, struct rules *r, const char *id, int64_t at, const char **body,
		size_t *len)
{
	struct evalcache_head h;
	struct ledger_memo m;
	if (!entry(l, r, id, &h, &m))
		return false;
	if (at >= h.from && at < h.till && h.split > 0) {
		*body = m.body;
		*len = h.split;
		return true;
	}
	if (at >= h.from2 && at < h.till2 && m.body_len > h.split) {
		*body = m.body + h.split;
		*len = m.body_len - h.split;
		return true;
	}
	return false;
}

/* Puts the entry of two answers (either may be empty). */
static void put2(struct ledger *l, const char *id, const struct evalcache_head *h, const char *a,
		 size_t alen, const char *b, size_t blen)
{
	char *body = malloc(alen + blen + 1);
	if (!body)
		return; /* a memo entry is an optimisation: none is kept */
	memcpy(body, a, alen);
	memcpy(body + alen, b, blen);
	struct ledger_memo m = { .head = (const char *)h, .head_len = sizeof *h, .body = body,
				 .body_len = alen + blen };
	ledger_memo_put(l, id, &m);
	free(body);
}

void evalcache_put(struct ledger *l, struct rules *r, const char *id, int64_t from, int64_t till,
		const char *body, size_t len)
{
	struct evalcache_head old, h = evalcache_head1(r, from, till, len);
	struct ledger_memo m;
	const char *next = "";
	size_t next_len = 0;
	if (entry(l, r, id, &old, &m) && old.from2 >= till && old.till2 > old.from2) {
		h.from2 = old.from2;
		h.till2 = old.till2;
		next = m.body + old.split;
		next_len = m.body_len - old.split;
	}
	/* The borrowed bytes of the old entry are copied before it goes. */
	char *keep = next_len ? strndup(next, next_len) : NULL;
	put2(l, id, &h, body, len, keep ? keep : "", keep ? next_len : 0);
	free(keep);
}

void evalcache_put_next(struct ledger *l, struct rules *r, const char *id, int64_t from, int64_t till,
		     const char *body, size_t len)
{
	struct evalcache_head old, h = { .serial = rules_serial(r), .from2 = from, .till2 = till };
	struct ledger_memo m;
	char *keep = NULL;
	if (entry(l, r, id, &old, &m) && old.till <= from && old.till > old.from && old.split > 0 &&
	    (keep = strndup(m.body, old.split))) {
		h.from = old.from;
		h.till = old.till;
		h.split = old.split;
	}
	put2(l, id, &h, keep ? keep : "", keep ? h.split : 0, body, len);
	free(keep);
}

struct evalcache_head evalcache_head1(struct rules *r, int64_t from, int64_t till, size_t len)
{
	return (struct evalcache_head){ .serial = rules_serial(r), .from = from, .till = till, .split = len };
}
