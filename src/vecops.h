/*
** vecops.h: element-wise vector operations and reductions behind the scalar
** SQL functions.  Plain loops with float64 accumulation, where accuracy
** matters more than speed; the heavy work lives in kernels.h.
*/
#ifndef ATTN_VECOPS_H
#define ATTN_VECOPS_H

#include <stdint.h>
#include "error.h"

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

/* The columns of a matrix of nElem elements and nRow rows into *pnCol; an
** error when nRow is not a positive divisor of nElem. */
int attn_matrix_cols(int64_t nElem, int64_t nRow, int64_t *pnCol,
                     attn_err *pErr);

/* Check that columns iStart .. iStart+nCount-1 exist in a nRow × nCol
** matrix (nCount ≥ 1).  The result, nRow × nCount, is never larger than
** the matrix, so its size needs no further check. */
int attn_cols_check(int64_t nRow, int64_t nCol, int64_t iStart,
                    int64_t nCount, attn_err *pErr);

/* out (nRow × nCount) = columns iStart .. iStart+nCount-1 of W (nRow ×
** nCol), both row-major, as checked by attn_cols_check(). */
void attn_cols(const float *w, int64_t nRow, int64_t nCol, int64_t iStart,
               int64_t nCount, float *out);

/* LayerNorm: out = (x − mean)/√(var + eps)·g + b, with the mean and the
** biased variance of x (as torch.nn.LayerNorm).  RMSNorm: out =
** x/√(mean(x²) + eps)·g.  In float64, each element rounded once; a constant
** x has var 0 and gives b.  g and b must have n elements and eps must be
** greater than 0 (so nothing divides by 0); the error names the argument.
** An element beyond float32 becomes ±Infinity in out (the caller's finite
** check reports it).  out may equal x. */
int attn_layernorm(const float *x, int64_t n, const float *g, int64_t nG,
                   const float *b, int64_t nB, double eps, float *out,
                   attn_err *pErr);
int attn_rmsnorm(const float *x, int64_t n, const float *g, int64_t nG,
                 double eps, float *out, attn_err *pErr);

/* Element-wise activations, in float64, each element rounded once:
**   ATTN_ACT_RELU       x < 0 ? +0 : x (as torch.relu: -0 stays -0)
**   ATTN_ACT_GELU_ERF   x·Φ(x) = ½·x·erfc(−x/√2)
**   ATTN_ACT_GELU_TANH  ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))),
**                       computed as x/(1 + exp(−2z)) with z the tanh argument
**   ATTN_ACT_SILU       x·sigmoid(x) = x/(1 + exp(−x))
** (erfc and the exp forms avoid the cancellation of 1 + erf, 1 + tanh for
** negative x).  Each is x times a factor in [0, 1], so |result| ≤ |x|:
** none overflows.  out may equal x. */
#define ATTN_ACT_RELU       0
#define ATTN_ACT_GELU_ERF   1
#define ATTN_ACT_GELU_TANH  2
#define ATTN_ACT_SILU       3
void attn_activation(const float *x, int64_t n, int eAct, float *out);

/* The form of GELU named by z[0..n), of kind eKind (utf8.h): 'erf' or
** 'tanh', any case. */
int attn_gelu_form(int eKind, const char *z, int64_t n, int *peAct,
                   attn_err *pErr);

#endif /* ATTN_VECOPS_H */
