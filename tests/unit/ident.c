/* Unit tests of ident: the normalisation a kind's identity uses (width,
 * case and white space do not make another identity; anything else does)
 * and the key it gives. */
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "tap.h"

static char *norm(const char *s, const char *how)
{
	const char *err = NULL;
	char *out = ident_normalize(s, strlen(s), how, &err);
	return out ? out : strdup(err);
}

static char *key(const char *a, const char *b)
{
	const char *vals[] = { a, b };
	size_t lens[] = { strlen(a), strlen(b) };
	const char *err = NULL;
	char *k = ident_key("application", vals, lens, 2, "nfkc-space-case", &err);
	return k ? k : strdup(err);
}

int main(void)
{
	char *n = norm("ｸﾗｳﾄﾞ会計　ＳａａＳ ", "nfkc-space-case");
	is_str(n, "クラウド会計saas", "half-width kana, full-width letters, spaces and case are one name");
	free(n);
	n = norm("Cloud\tLedger\n", "nfkc-space-case");
	is_str(n, "cloudledger", "tabs and new lines are white space too");
	free(n);
	n = norm("ＡＢＣ", "exact");
	is_str(n, "ＡＢＣ", "exact keeps the text as it is");
	free(n);
	n = norm("x", "soundex");
	is_str(n, "unknown normalisation (exact or nfkc-space-case)", "an unknown mode is an error that says which there are");
	free(n);
	n = norm("\xff", "nfkc-space-case");
	is_str(n, "not UTF-8", "bytes that are not UTF-8 are an error");
	free(n);

	char *k1 = key("7000012050002", "クラウド会計SaaS"), *k2 = key("７０００ ０１２０５０００２", "クラウド会計ｓａａｓ");
	char *k3 = key("7000012050002", "クラウド会計SaaS2"), *k4 = key("7000012050002クラウド", "会計SaaS");
	is_str(k1, k2, "the same service written otherwise has the same key");
	ok(strcmp(k1, k3) != 0, "another name, another key");
	ok(strcmp(k1, k4) != 0, "values are kept apart: moving text between fields is another key");
	ok(strncmp(k1, IDENT_PREFIX "application/", strlen(IDENT_PREFIX "application/")) == 0,
	   "the key names the kind under the identity prefix");
	is_int((int)strlen(k1), (int)strlen(IDENT_PREFIX "application/") + 64, "and ends in a SHA-256 in hex");
	free(k1), free(k2), free(k3), free(k4);
	return tap_done();
}
