/*
 * cli_label — headers against labels, folded; see cli_label.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

#include "cli_label.h"
#include "cli_util.h"

static bool is_open(ucs4_t c)
{
	return c == '(' || c == '[' || c == 0x3010; /* 【 */
}

static bool is_close(ucs4_t c)
{
	return c == ')' || c == ']' || c == 0x3011; /* 】 */
}

static bool is_blank(ucs4_t c)
{
	/* NFKC made U+3000 and the other wide spaces U+0020. */
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xA0;
}

char *cli_label_fold(const char *s, bool notes)
{
	size_t n = 0;
	uint8_t *f = u8_casefold((const uint8_t *)s, strlen(s), NULL, UNINORM_NFKC, NULL, &n);
	const uint8_t *in = f ? f : (const uint8_t *)s;
	if (!f)
		n = strlen(s);
	char *out = cli_xrealloc(NULL, n + 1);
	size_t k = 0, depth = 0;
	for (size_t i = 0; i < n;) {
		ucs4_t c;
		int len = u8_mbtoucr(&c, in + i, n - i);
		if (len <= 0) { /* not UTF-8: the byte as it is */
			c = in[i];
			len = 1;
		}
		bool keep = !is_blank(c);
		if (!notes && is_open(c)) {
			depth++;
			keep = false;
		} else if (!notes && depth > 0) {
			depth -= is_close(c);
			keep = false;
		}
		if (keep) {
			memcpy(out + k, in + i, (size_t)len);
			k += (size_t)len;
		}
		i += (size_t)len;
	}
	out[k] = '\0';
	free(f);
	return out;
}

/* The characters of a UTF-8 text (bytes that are not UTF-8 one each).
 * Caller frees. */
static ucs4_t *chars(const char *s, size_t *n)
{
	size_t len = strlen(s);
	ucs4_t *u = cli_xrealloc(NULL, (len + 1) * sizeof *u);
	*n = 0;
	for (size_t i = 0; i < len;) {
		int k = u8_mbtoucr(&u[*n], (const uint8_t *)s + i, len - i);
		if (k <= 0) {
			u[*n] = (uint8_t)s[i];
			k = 1;
		}
		(*n)++;
		i += (size_t)k;
	}
	return u;
}

size_t cli_label_distance(const char *a, const char *b)
{
	size_t na, nb;
	ucs4_t *ua = chars(a, &na), *ub = chars(b, &nb);
	size_t *row = cli_xrealloc(NULL, (nb + 1) * sizeof *row);
	for (size_t j = 0; j <= nb; j++)
		row[j] = j;
	for (size_t i = 1; i <= na; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t up = row[j], best = diag + (ua[i - 1] != ub[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	size_t d = row[nb];
	free(row);
	free(ua);
	free(ub);
	return d;
}
