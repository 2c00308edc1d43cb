/*
** vecops.c: element-wise vector operations and reductions (see vecops.h).
*/
#include "vecops.h"
#include <math.h>

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
