/* errors — see errors.h. */
#include "errors.h"

#include <string.h>

const char *liu_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case LIU_EREFUSED: return "refused by a rule";
	case LIU_ESCRIPT: return "rule script error";
	case LIU_ECONFLICT: return "revision conflict";
	case LIU_EINVAL: return "invalid params";
	case LIU_EFORBID: return "forbidden";
	case LIU_ELIMIT: return "over a limit";
	case LIU_EMAPBUSY: return "the database map is full and cannot grow while a backup "
				  "copies it; retry when the backup ends";
	default: return strerror(-err);
	}
}
