/*
** kernels.h: the compute kernels and their one dispatch point.
**
** A kernel set is a table of function pointers implemented three times:
** portable C (kernels_scalar.c), AVX2+FMA (kernels_avx2.c) and AVX-512
** (kernels_avx512.c).  The SIMD files compile each function with a target
** attribute, never the whole library with -mavx2, so one binary runs on any
** x86-64.  attn_kernels_init() picks the best set the CPU supports (cpuid,
** once); the environment variable ATTN_KERNEL=scalar|avx2|avx512 forces a
** lower level, for tests.  Everything else calls attn_kernels().
*/
#ifndef ATTN_KERNELS_H
#define ATTN_KERNELS_H

#include <stdint.h>

typedef struct attn_kernel_set attn_kernel_set;
struct attn_kernel_set {
  const char *zName;     /* "scalar", "avx2" or "avx512" */

  /* C[m×n] = A[m×k]·B[k×n], row-major with leading dimensions (elements).
  ** If bAccum, C += A·B instead. */
  void (*xGemm)(int64_t m, int64_t n, int64_t k,
                const float *A, int64_t lda, const float *B, int64_t ldb,
                float *C, int64_t ldc, int bAccum);
};

/* Choose the kernel set (idempotent; the first call decides). */
void attn_kernels_init(void);

/* The chosen kernel set. */
const attn_kernel_set *attn_kernels(void);

/* Space-separated names of the levels this CPU supports, best last. */
const char *attn_kernels_available(void);

/* The kernel sets (kernels_*.c).  Those the build cannot provide are NULL. */
extern const attn_kernel_set attn_kernels_scalar;
const attn_kernel_set *attn_kernels_avx2(void);
const attn_kernel_set *attn_kernels_avx512(void);

#endif /* ATTN_KERNELS_H */
