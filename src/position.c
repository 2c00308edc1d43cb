/*
** position.c: RoPE, ALiBi slopes and sinusoidal encodings (see position.h).
*/
#include "position.h"
#include "utf8.h"
#include "attention.h"
#include <math.h>

int attn_rope_style(int eKind, const char *z, int64_t n, int *peStyle,
                    attn_err *pErr){
  static const char *const azStyle[] = { "neox", "interleaved" };
  static const int aStyle[] = { ATTN_ROPE_NEOX, ATTN_ROPE_INTERLEAVED };
  return attn_word_choice(eKind, z, n, azStyle, aStyle, 2, peStyle, pErr);
}

int attn_rope_check(int64_t n, int64_t nHead, attn_err *pErr){
  if( nHead<1 || nHead>ATTN_MAX_HEADS ){
    return attn_err_set(pErr, ATTN_ERROR, "heads is %lld, expected 1 to %d",
                        (long long)nHead, ATTN_MAX_HEADS);
  }
  if( n%nHead!=0 ){
    return attn_err_set(pErr, ATTN_ERROR, "heads (%lld) does not divide the "
                        "vector's %lld dimensions", (long long)nHead,
                        (long long)n);
  }
  if( (n/nHead)%2!=0 ){
    if( nHead==1 ){
      return attn_err_set(pErr, ATTN_ERROR, "vector has %lld dimensions, "
                          "expected an even number (RoPE turns pairs of "
                          "elements)", (long long)n);
    }
    return attn_err_set(pErr, ATTN_ERROR, "heads (%lld) splits the vector's "
                        "%lld dimensions into heads of %lld, expected an even "
                        "number per head (RoPE turns pairs of elements)",
                        (long long)nHead, (long long)n, (long long)(n/nHead));
  }
  return ATTN_OK;
}

void attn_rope_angles(double pos, int64_t d, double base, double *aCos,
                      double *aSin){
  int64_t i;
  for(i=0; i<d/2; i++){
    double theta = pos * pow(base, -2.0*(double)i/(double)d);
    aCos[i] = cos(theta);
    aSin[i] = sin(theta);
  }
}

void attn_rope_rotate(float *x, int64_t d, const double *aCos,
                      const double *aSin, int eStyle){
  int64_t i, nHalf = d/2;
  for(i=0; i<nHalf; i++){
    int64_t i0 = eStyle==ATTN_ROPE_NEOX ? i : 2*i;
    int64_t i1 = eStyle==ATTN_ROPE_NEOX ? i+nHalf : 2*i+1;
    double x0 = x[i0], x1 = x[i1];
    x[i0] = (float)(x0*aCos[i] - x1*aSin[i]);
    x[i1] = (float)(x1*aCos[i] + x0*aSin[i]);
  }
}

void attn_alibi_slopes(int nHead, double *aSlope){
  int nPow2 = 1, i, k;
  while( nPow2*2<=nHead ) nPow2 *= 2;
  /* For n a power of two: start^1 .. start^n with start = 2^(-8/n). */
  for(i=0; i<nPow2; i++) aSlope[i] = pow(2.0, -8.0*(double)(i+1)/(double)nPow2);
  /* The paper's rule for the other heads: every other slope of the next
  ** power of two, 2^(-4/nPow2)^(1,3,5,...). */
  for(i=0, k=nPow2; k<nHead; i+=2, k++){
    aSlope[k] = pow(2.0, -4.0*(double)(i+1)/(double)nPow2);
  }
}

void attn_sinusoid(double pos, int64_t d, double base, float *out){
  int64_t i;
  for(i=0; i<d; i++){
    double theta = pos / pow(base, (double)(i - i%2)/(double)d);
    out[i] = (float)((i%2)==0 ? sin(theta) : cos(theta));
  }
}
