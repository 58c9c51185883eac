/*
 * hp1_buf.c
 *	  The codec's memory: the injected allocator (hp1_set_allocator) and the
 *	  growable byte buffer (Hp1Buf) every writer of the codec fills.
 *	  PostgreSQL-free (see hp1_codec.h); the extension installs palloc-backed
 *	  functions (src/codec_memory.c), stand-alone programs malloc-backed ones.
 */
#include <stdint.h>
#include <string.h>

#include "hp1_codec.h"

/* the installed allocator; none until hp1_set_allocator, so every allocation fails */
static Hp1AllocFn hp1_alloc = NULL;
static Hp1ReallocFn hp1_realloc = NULL;
static Hp1FreeFn hp1_free = NULL;

/* hp1_set_allocator: the functions the codec allocates with from now on */
void
hp1_set_allocator(Hp1AllocFn alloc, Hp1ReallocFn realloc_fn, Hp1FreeFn free_fn)
{
	hp1_alloc = alloc;
	hp1_realloc = realloc_fn;
	hp1_free = free_fn;
}

/* Grow: b->data to newcap bytes, keeping its contents; false when the allocator gave none */
static bool
Grow(Hp1Buf *b, size_t newcap)
{
	void	   *p;

	if (b->data == NULL)
		p = hp1_alloc ? hp1_alloc(newcap, b->cxt) : NULL;
	else
		p = hp1_realloc ? hp1_realloc(b->data, newcap) : NULL;
	if (p == NULL)
		return false;			/* b->data, if any, is still valid */
	b->data = p;
	b->cap = newcap;
	return true;
}

/* hp1_buf_reserve: room for extra more bytes */
bool
hp1_buf_reserve(Hp1Buf *b, size_t extra)
{
	if (b->failed)
		return false;
	if (extra > SIZE_MAX / 4 - b->len)
	{
		b->failed = true;		/* no allocator could give this much */
		return false;
	}
	if (b->len + extra > b->cap)
	{
		size_t		newcap = b->cap ? b->cap * 2 : 256;

		while (newcap < b->len + extra)
			newcap *= 2;
		if (!Grow(b, newcap))
		{
			b->failed = true;
			return false;
		}
	}
	return true;
}

/* hp1_buf_append: appends n bytes (p may be NULL when n is 0) */
void
hp1_buf_append(Hp1Buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;					/* memcpy from NULL is undefined even for 0 bytes */
	if (!hp1_buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* hp1_buf_reset: empty, keeping the memory, and no longer failed */
void
hp1_buf_reset(Hp1Buf *b)
{
	b->len = 0;
	b->failed = false;
}

/* hp1_buf_free: the memory back to the allocator */
void
hp1_buf_free(Hp1Buf *b)
{
	if (b->data != NULL && hp1_free != NULL)
		hp1_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = false;
}
