/*
 * codec_memory.c
 *	  The HP1 codec's memory inside the server: the palloc-backed allocator
 *	  that _PG_init installs into the PostgreSQL-free codec
 *	  (hp1_set_allocator, see hp1_codec.h), and the four per-backend scratch
 *	  buffers that issuing and verifying reuse.
 *
 * A buffer's cxt is the memory context its first allocation goes to (the
 * current one when NULL); growing keeps the chunk's context. The functions
 * raise an ERROR when memory runs out or a buffer would pass 1 GB, so the
 * codec never sees NULL in the server.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "codec_memory.h"

static Hp1Buf scratch[4];

/* CheckSize: a codec buffer stays within what palloc gives */
static void
CheckSize(size_t size)
{
	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("token buffer of %zu bytes is too large", size),
				 errdetail("A buffer holds at most 1 GB.")));
}

/* CodecAlloc: palloc in the buffer's context */
static void *
CodecAlloc(size_t size, void *cxt)
{
	CheckSize(size);
	return MemoryContextAlloc(cxt ? (MemoryContext) cxt : CurrentMemoryContext, size);
}

/* CodecRealloc: repalloc, in the chunk's own context */
static void *
CodecRealloc(void *ptr, size_t size)
{
	CheckSize(size);
	return repalloc(ptr, size);
}

/* CodecFree: pfree */
static void
CodecFree(void *ptr)
{
	pfree(ptr);
}

/* hp_codec_memory_init: the codec allocates with palloc from now on */
void
hp_codec_memory_init(void)
{
	hp1_set_allocator(CodecAlloc, CodecRealloc, CodecFree);
}

/* hp_scratch: one of four reusable buffers in TopMemoryContext */
Hp1Buf *
hp_scratch(int i)
{
	scratch[i].cxt = TopMemoryContext;
	return &scratch[i];
}
