/*
** vecops.c: element-wise vector operations and reductions (see vecops.h).
*/
#include "vecops.h"
#include "utf8.h"
#include <math.h>
#include <string.h>

double attn_dot(const float *a, const float *b, int64_t n){
  double s = 0.0;
  int64_t i;
  for(i=0; i<n; i++) s += (double)a[i]*(double)b[i];
  return s;
}

double attn_norm(const float *a, int64_t n){
  /* float64 has room for the square of any float32 (max 3.4e38² = 1.2e77,
  ** sum over 2^31 elements < 1e87) and of the smallest denormal (1.4e-45² =
  ** 2e-90), so plain accumulation is exact enough. */
  double s = 0.0;
  int64_t i;
  for(i=0; i<n; i++) s += (double)a[i]*(double)a[i];
  return sqrt(s);
}

void attn_softmax(const float *a, int64_t n, double t, float *out){
  double mx = -INFINITY, sum = 0.0;
  int64_t i;
  for(i=0; i<n; i++){
    if( a[i]>mx ) mx = a[i];
  }
  for(i=0; i<n; i++) sum += exp(((double)a[i] - mx)/t);
  for(i=0; i<n; i++) out[i] = (float)(exp(((double)a[i] - mx)/t)/sum);
}

void attn_transpose(const float *w, int64_t rows, int64_t cols, float *out){
  int64_t r, c;
  for(r=0; r<rows; r++){
    for(c=0; c<cols; c++) out[c*rows + r] = w[r*cols + c];
  }
}

int attn_matrix_cols(int64_t nElem, int64_t nRow, int64_t *pnCol,
                     attn_err *pErr){
  if( nRow<1 || nElem%nRow!=0 ){
    return attn_err_set(pErr, ATTN_ERROR, "matrix has %lld elements, which "
        "%lld rows cannot divide, expected rows to be a divisor of %lld",
        (long long)nElem, (long long)nRow, (long long)nElem);
  }
  *pnCol = nElem/nRow;
  return ATTN_OK;
}

int attn_cols_check(int64_t nRow, int64_t nCol, int64_t iStart,
                    int64_t nCount, attn_err *pErr){
  /* Compared without adding start and count, so no value overflows. */
  if( iStart<0 || iStart>=nCol ){
    return attn_err_set(pErr, ATTN_ERROR, "start %lld is outside the %lld "
        "columns of a %lld × %lld matrix, expected 0 to %lld",
        (long long)iStart, (long long)nCol, (long long)nRow, (long long)nCol,
        (long long)nCol-1);
  }
  if( nCount<1 || nCount>nCol-iStart ){
    return attn_err_set(pErr, ATTN_ERROR, "count %lld from start %lld does "
        "not fit the %lld columns of a %lld × %lld matrix, expected 1 to %lld",
        (long long)nCount, (long long)iStart, (long long)nCol,
        (long long)nRow, (long long)nCol, (long long)(nCol-iStart));
  }
  return ATTN_OK;
}

void attn_cols(const float *w, int64_t nRow, int64_t nCol, int64_t iStart,
               int64_t nCount, float *out){
  int64_t r;
  for(r=0; r<nRow; r++){
    memcpy(out + r*nCount, w + r*nCol + iStart, sizeof(float)*(size_t)nCount);
  }
}

/* The checks the two norms share: the length of a parameter vector (zName,
** nP elements) and eps. */
static int normCheck(const char *zName, int64_t nP, int64_t n, double eps,
                     attn_err *pErr){
  if( nP!=n ){
    return attn_err_set(pErr, ATTN_ERROR, "%s has %lld elements, expected "
        "%lld (the dimension of x)", zName, (long long)nP, (long long)n);
  }
  if( !(eps>0.0) ){
    return attn_err_set(pErr, ATTN_ERROR, "eps is %g, expected a number "
        "greater than 0 (it keeps a constant x from dividing by 0)", eps);
  }
  return ATTN_OK;
}

int attn_layernorm(const float *x, int64_t n, const float *g, int64_t nG,
                   const float *b, int64_t nB, double eps, float *out,
                   attn_err *pErr){
  double mean = 0.0, var = 0.0, r;
  int64_t i;
  if( normCheck("gamma", nG, n, eps, pErr) ) return pErr->rc;
  if( normCheck("beta", nB, n, eps, pErr) ) return pErr->rc;
  /* Two passes: no float32 value overflows a float64 square or sum. */
  for(i=0; i<n; i++) mean += x[i];
  mean /= (double)n;
  for(i=0; i<n; i++) var += ((double)x[i] - mean)*((double)x[i] - mean);
  r = 1.0/sqrt(var/(double)n + eps);
  for(i=0; i<n; i++){
    out[i] = (float)(((double)x[i] - mean)*r*(double)g[i] + (double)b[i]);
  }
  return ATTN_OK;
}

int attn_rmsnorm(const float *x, int64_t n, const float *g, int64_t nG,
                 double eps, float *out, attn_err *pErr){
  double ms = 0.0, r;
  int64_t i;
  if( normCheck("gamma", nG, n, eps, pErr) ) return pErr->rc;
  for(i=0; i<n; i++) ms += (double)x[i]*(double)x[i];
  r = 1.0/sqrt(ms/(double)n + eps);
  for(i=0; i<n; i++) out[i] = (float)((double)x[i]*r*(double)g[i]);
  return ATTN_OK;
}

void attn_activation(const float *x, int64_t n, int eAct, float *out){
  /* √(2/π) for the tanh form of GELU, 1/√2 for the erf form. */
  const double rK = 0.79788456080286535588, rS = 0.70710678118654752440;
  int64_t i;
  for(i=0; i<n; i++){
    double v = x[i], y;
    switch( eAct ){
      case ATTN_ACT_RELU:      y = v<0.0 ? 0.0 : v;                     break;
      case ATTN_ACT_GELU_ERF:  y = 0.5*v*erfc(-v*rS);                   break;
      case ATTN_ACT_GELU_TANH:
        /* ½(1 + tanh z) = 1/(1 + e^(−2z)); e^(−2z) = Infinity gives −0. */
        y = v/(1.0 + exp(-2.0*rK*(v + 0.044715*v*v*v)));
        break;
      default:                 y = v/(1.0 + exp(-v));                   break;
    }
    out[i] = (float)y;
  }
}

int attn_gelu_form(int eKind, const char *z, int64_t n, int *peAct,
                   attn_err *pErr){
  static const char *const azForm[] = { "erf", "tanh" };
  static const int aForm[] = { ATTN_ACT_GELU_ERF, ATTN_ACT_GELU_TANH };
  return attn_word_choice(eKind, z, n, azForm, aForm, 2, peAct, pErr);
}
