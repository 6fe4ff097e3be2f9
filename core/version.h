/* version — the one place the release is named. */
#ifndef LIU_VERSION_H
#define LIU_VERSION_H
#define LIUD_VERSION "0.1.0"
#endif
