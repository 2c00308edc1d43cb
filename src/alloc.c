/*
** alloc.c: the allocator hook and checked size arithmetic (see alloc.h).
**
** The hook is a pair of atomic pointers: the SQLite binding installs it
** from the extension's entry point, which runs for every connection opened,
** possibly in several threads at once while other threads allocate.  Every
** install writes the same values, so relaxed loads and stores suffice; being
** atomic, they are not a data race (ThreadSanitizer agrees).
*/
#include "alloc.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static void *allocLibcMalloc(uint64_t n){ return malloc((size_t)n); }
static void allocLibcFree(void *p){ free(p); }

static _Atomic(attn_malloc_fn) allocMalloc = allocLibcMalloc;
static _Atomic(attn_free_fn) allocFree = allocLibcFree;

void attn_set_allocator(attn_malloc_fn xMalloc, attn_free_fn xFree){
  atomic_store_explicit(&allocMalloc, xMalloc ? xMalloc : allocLibcMalloc,
                        memory_order_relaxed);
  atomic_store_explicit(&allocFree, xFree ? xFree : allocLibcFree,
                        memory_order_relaxed);
}

void *attn_malloc(uint64_t nByte){
  if( nByte==0 || nByte>ATTN_MAX_ALLOC ) return 0;
  return atomic_load_explicit(&allocMalloc, memory_order_relaxed)(nByte);
}

void *attn_malloc_zero(uint64_t nByte){
  void *p = attn_malloc(nByte);
  if( p ) memset(p, 0, (size_t)nByte);
  return p;
}

void attn_free(void *p){
  if( p ) atomic_load_explicit(&allocFree, memory_order_relaxed)(p);
}

/* The aligned block keeps the pointer returned by the allocator in the
** 8 bytes just before the address it hands out. */
void *attn_malloc_aligned(uint64_t nByte){
  unsigned char *pRaw;
  uintptr_t iAligned;
  if( nByte==0 || nByte>ATTN_MAX_ALLOC-72 ) return 0;
  pRaw = attn_malloc(nByte + 72);
  if( pRaw==0 ) return 0;
  iAligned = ((uintptr_t)pRaw + 8 + 63) & ~(uintptr_t)63;
  memcpy((unsigned char*)iAligned - sizeof(void*), &pRaw, sizeof(void*));
  return (void*)iAligned;
}

void attn_free_aligned(void *p){
  if( p ){
    void *pRaw;
    memcpy(&pRaw, (unsigned char*)p - sizeof(void*), sizeof(void*));
    attn_free(pRaw);
  }
}

int attn_size_mul(uint64_t a, uint64_t b, uint64_t *pOut){
  if( a!=0 && b>ATTN_MAX_ALLOC/a ) return 1;
  *pOut = a*b;
  return 0;
}

int attn_size_add(uint64_t a, uint64_t b, uint64_t *pOut){
  if( a>ATTN_MAX_ALLOC || b>ATTN_MAX_ALLOC-a ) return 1;
  *pOut = a+b;
  return 0;
}
