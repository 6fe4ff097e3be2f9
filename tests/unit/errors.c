/* Unit tests of errors: the project's codes lie outside errno's range, and
 * liu_strerror() names every one of them and every errno. */
#include <errno.h>
#include <string.h>

#include "errors.h"
#include "tap.h"

int main(void)
{
	static const struct { int code; const char *word; } codes[] = {
		{ LIU_EREFUSED, "refused by a rule" },
		{ LIU_ESCRIPT, "rule script error" },
		{ LIU_ECONFLICT, "revision conflict" },
		{ LIU_EINVAL, "invalid params" },
		{ LIU_EFORBID, "forbidden" },
		{ LIU_ELIMIT, "over a limit" },
	};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		is_str(liu_strerror(codes[i].code), codes[i].word, codes[i].word);
		/* A code that errno also used would be named twice. */
		ok(codes[i].code < -4095, "the code is beyond every errno (the kernel's are under 4096)");
		for (size_t j = 0; j < i; j++)
			if (codes[j].code == codes[i].code)
				ok(0, "two codes are the same number");
	}
	is_str(liu_strerror(0), "success", "0 is success");
	is_str(liu_strerror(-ENOENT), strerror(ENOENT), "an errno is named as strerror names it");
	is_str(liu_strerror(-ENOSPC), strerror(ENOSPC), "ENOSPC likewise");
	return tap_done();
}
