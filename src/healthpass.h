/*
 * healthpass.h
 *	  The module's build-time facts (the version, from healthpass.control).
 *	  Each concern declares its own interface in its header: codec_memory.h,
 *	  guc.h, key_cache.h, master_key.h, token.h, identity.h, quote.h, and the
 *	  PostgreSQL-free codec's hp1_codec.h.
 */
#ifndef HEALTHPASS_H
#define HEALTHPASS_H

#ifndef HEALTHPASS_VERSION
#error "HEALTHPASS_VERSION must be defined by the Makefile"
#endif

#endif							/* HEALTHPASS_H */
