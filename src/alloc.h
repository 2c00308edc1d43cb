/*
** alloc.h: the allocator hook and checked size arithmetic of the engine.
**
** The engine never calls malloc() directly.  Every allocation goes through
** the hook installed with attn_set_allocator(); the SQLite layer routes it to
** sqlite3_malloc64()/sqlite3_free(), so heap limits, memory accounting and
** fault injection see every byte.  Without a hook, malloc()/free() are used
** (for the C unit tests and for programs that use src/ on its own).
**
** Sizes are 64-bit and every product or sum that sizes a buffer is computed
** with attn_size_mul()/attn_size_add(), which refuse to overflow.
*/
#ifndef ATTN_ALLOC_H
#define ATTN_ALLOC_H

#include <stddef.h>
#include <stdint.h>

/* The largest buffer the engine will ask for (the limit of sqlite3_malloc64). */
#define ATTN_MAX_ALLOC ((uint64_t)2147483391)

typedef void *(*attn_malloc_fn)(uint64_t nByte);
typedef void (*attn_free_fn)(void *p);

/* Install the allocator (NULL, NULL restores malloc/free).  Not thread-safe:
** call it once, before any other engine function. */
void attn_set_allocator(attn_malloc_fn xMalloc, attn_free_fn xFree);

/* Allocate nByte bytes (NULL when nByte is 0, too large, or memory is out). */
void *attn_malloc(uint64_t nByte);
/* Allocate nByte zeroed bytes. */
void *attn_malloc_zero(uint64_t nByte);
/* Free memory from attn_malloc/attn_malloc_zero.  NULL is a no-op. */
void attn_free(void *p);

/* Allocate nByte bytes aligned to 64 bytes, for SIMD kernels.  Free with
** attn_free_aligned(). */
void *attn_malloc_aligned(uint64_t nByte);
void attn_free_aligned(void *p);

/* *pOut = a*b or a+b; return 0 on success, 1 if the result would exceed
** ATTN_MAX_ALLOC (the caller reports the error). */
int attn_size_mul(uint64_t a, uint64_t b, uint64_t *pOut);
int attn_size_add(uint64_t a, uint64_t b, uint64_t *pOut);

#endif /* ATTN_ALLOC_H */
