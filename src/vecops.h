/*
** vecops.h: element-wise vector operations and reductions behind the scalar
** SQL functions.  Plain loops with float64 accumulation, where accuracy
** matters more than speed; the heavy work lives in kernels.h.
*/
#ifndef ATTN_VECOPS_H
#define ATTN_VECOPS_H

#include <stdint.h>

/* Σ a[i]·b[i], accumulated in float64. */
double attn_dot(const float *a, const float *b, int64_t n);

/* √Σ a[i]², accumulated in float64 with scaling, so it neither overflows
** nor underflows for any finite float32 input. */
double attn_norm(const float *a, int64_t n);

/* out[i] = exp(a[i]/t) / Σ exp(a[j]/t), computed stably (max subtracted,
** float64 sum).  t>0.  out may equal a. */
void attn_softmax(const float *a, int64_t n, double t, float *out);

/* out (cols × rows) = transpose of W (rows × cols), both row-major. */
void attn_transpose(const float *w, int64_t rows, int64_t cols, float *out);

#endif /* ATTN_VECOPS_H */
