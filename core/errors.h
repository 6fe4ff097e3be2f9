/*
 * errors — the project's error codes and their words.  Functions of the
 * project return 0 or a negative errno; what errno has no word for lives in
 * a band of its own, beyond every errno, defined here once and named by
 * liu_strerror().  Every module may include this (the Lua host and the store
 * among them) without the protocol: which JSON-RPC error a client gets for
 * a code is the protocol's business (wire_code_of() in wire.h).  libc only.
 */
#ifndef LIU_ERRORS_H
#define LIU_ERRORS_H

#define LIU_EBASE 20000
#define LIU_EREFUSED  (-(LIU_EBASE + 1)) /* a rule refused the change */
#define LIU_ESCRIPT   (-(LIU_EBASE + 2)) /* a rule script failed */
#define LIU_ECONFLICT (-(LIU_EBASE + 3)) /* if_rev did not match */
#define LIU_EINVAL    (-(LIU_EBASE + 4)) /* invalid params, with a field */
#define LIU_EFORBID   (-(LIU_EBASE + 5)) /* the role may not do that */
#define LIU_ELIMIT    (-(LIU_EBASE + 6)) /* over a configured limit */
#define LIU_EMAPBUSY  (-(LIU_EBASE + 7)) /* the map is full and a backup keeps it from growing */

/* Returns a description of a negative errno or LIU_E* code (0: "success").
 * Borrowed: static, or strerror()'s buffer (valid until the next call). */
const char *liu_strerror(int err);

#endif
