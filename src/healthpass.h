/*
 * healthpass.h
 *	  Declarations shared between healthpass's C files.
 */
#ifndef HEALTHPASS_H
#define HEALTHPASS_H

#ifndef HEALTHPASS_VERSION
#error "HEALTHPASS_VERSION must be defined by the Makefile"
#endif

/* keys.c: GUCs, libsodium and the key cache callback */
extern void hp_token_init(void);

#endif							/* HEALTHPASS_H */
