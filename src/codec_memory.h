/*
 * codec_memory.h
 *	  The HP1 codec's memory inside the server (codec_memory.c).
 */
#ifndef HP_CODEC_MEMORY_H
#define HP_CODEC_MEMORY_H

#include "hp1_codec.h"

/* installs the palloc-backed allocator into the codec; called by _PG_init */
extern void hp_codec_memory_init(void);

/* one of four per-backend reusable codec buffers (TopMemoryContext), 0..3 */
extern Hp1Buf *hp_scratch(int i);

#endif							/* HP_CODEC_MEMORY_H */
