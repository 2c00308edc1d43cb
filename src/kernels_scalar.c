/*
** kernels_scalar.c: the portable C kernel set, the reference the SIMD sets
** are tested against, and the fallback on any CPU.
*/
#include "kernels.h"
#include <string.h>

/* C = A·B (or C += A·B): i-k-j order, so the inner loop streams rows of B
** and C. */
static void scalarGemm(int64_t m, int64_t n, int64_t k,
                       const float *A, int64_t lda, const float *B, int64_t ldb,
                       float *C, int64_t ldc, int bAccum){
  int64_t i, j, p;
  for(i=0; i<m; i++){
    float *c = C + i*ldc;
    if( !bAccum ) memset(c, 0, sizeof(float)*(size_t)n);
    for(p=0; p<k; p++){
      const float a = A[i*lda + p];
      const float *b = B + p*ldb;
      for(j=0; j<n; j++) c[j] += a*b[j];
    }
  }
}

const attn_kernel_set attn_kernels_scalar = {
  "scalar",
  scalarGemm,
};
