/*
** kernels_scalar.c: the portable C kernel set, the reference the SIMD sets
** are tested against, and the fallback on any CPU.
*/
#include "kernels.h"
#include <math.h>
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

/* exp(x) for x <= 0, flushed to 0 where it would be a denormal. */
static float scalarExp(float x){
  return x<ATTN_EXP_FLUSH ? 0.0f : expf(x);
}

/* Flash attention of one block (see attn_flash_args): for each tile of
** keys, S = Q·Kᵀ, then softcap, ALiBi and the mask, then the online
** softmax update of the running max m, sum l and output o of every row. */
static void scalarFlash(const attn_flash_args *p){
  const int nq = p->nQuery, dk = p->nDimK, dv = p->nDimV;
  float *S = p->aScratch;                       /* nq × ATTN_TILE_K */
  float *m = S + ATTN_BLOCK_Q*ATTN_TILE_K;      /* running max per row */
  float *l = m + ATTN_BLOCK_Q;                  /* running sum per row */
  int64_t k0;
  int r, c, d;
  for(r=0; r<nq; r++){
    m[r] = -INFINITY;
    l[r] = 0.0f;
    memset(p->o + r*p->ldo, 0, sizeof(float)*(size_t)dv);
  }
  for(k0=0; k0<p->nKey; k0+=ATTN_TILE_K){
    int nc = (int)(p->nKey-k0 < ATTN_TILE_K ? p->nKey-k0 : ATTN_TILE_K);
    int eTile = attn_tile_class(p, k0, k0+nc);
    if( eTile==ATTN_TILE_STOP ) break;
    if( eTile==ATTN_TILE_SKIP ) continue;
    for(r=0; r<nq; r++){
      const float *q = p->q + r*p->ldq;
      for(c=0; c<nc; c++){
        const float *kp = p->kPacked + ((k0+c)/ATTN_PANEL)*dk*ATTN_PANEL
                        + (k0+c)%ATTN_PANEL;
        float s = 0.0f;
        for(d=0; d<dk; d++) s += q[d]*kp[d*ATTN_PANEL];
        S[r*ATTN_TILE_K + c] = s;
      }
    }
    for(r=0; r<nq; r++){
      float *srow = S + r*ATTN_TILE_K;
      float *o = p->o + r*p->ldo;
      float mx = -INFINITY, mNew, alpha, sum = 0.0f;
      for(c=0; c<nc; c++){
        float s = srow[c];
        int64_t qpos = p->aQPos[r], kpos = p->aKPos[k0+c];
        if( p->rSoftcap>0.0f ) s = p->rSoftcap*tanhf(s/p->rSoftcap);
        if( p->rSlope!=0.0f ){
          s -= p->rSlope*(float)(qpos>kpos ? qpos-kpos : kpos-qpos);
        }
        if( eTile==ATTN_TILE_MIXED && !attn_pair_allowed(p, qpos, kpos) ){
          s = -INFINITY;
        }
        srow[c] = s;
        if( s>mx ) mx = s;
      }
      if( mx==-INFINITY ) continue;           /* nothing allowed in this tile */
      mNew = mx>m[r] ? mx : m[r];
      alpha = scalarExp(m[r]-mNew);            /* 0 on the first tile */
      if( alpha!=1.0f ){
        for(d=0; d<dv; d++) o[d] *= alpha;
      }
      for(c=0; c<nc; c++){
        float e = scalarExp(srow[c]-mNew);
        if( e!=0.0f ){
          const float *v = p->v + (k0+c)*p->ldv;
          for(d=0; d<dv; d++) o[d] += e*v[d];
          sum += e;
        }
      }
      l[r] = l[r]*alpha + sum;
      m[r] = mNew;
    }
  }
  for(r=0; r<nq; r++){
    float *o = p->o + r*p->ldo;
    if( l[r]>0.0f ){
      float inv = 1.0f/l[r];
      for(d=0; d<dv; d++) o[d] *= inv;
      p->aLse[r*p->ldLse] = m[r] + logf(l[r]);
    }else{
      p->aLse[r*p->ldLse] = -INFINITY;
    }
  }
}

static void scalarExpArray(float *a, int64_t n){
  int64_t i;
  for(i=0; i<n; i++) a[i] = scalarExp(a[i]);
}

/* Branch-free, two floats per 64-bit word: an exponent of all ones is NaN
** or Inf; (u & 0x7f800000) + 0x00800000 reaches bit 31 exactly then, and
** cannot carry out of its 32-bit lane, so both lanes of a word are tested
** with one add. */
static int scalarCopyNonFinite(float *dst, const void *src, int64_t n){
  const unsigned char *z = (const unsigned char*)src;
  uint64_t bad = 0, w;
  int64_t i;
  if( dst ){
    for(i=0; i+2<=n; i+=2){
      memcpy(&w, z + 4*i, 8);
      memcpy(dst + i, &w, 8);
      bad |= (w & 0x7f8000007f800000ull) + 0x0080000000800000ull;
    }
  }else{
    for(i=0; i+2<=n; i+=2){
      memcpy(&w, z + 4*i, 8);
      bad |= (w & 0x7f8000007f800000ull) + 0x0080000000800000ull;
    }
  }
  if( i<n ){
    uint32_t u;
    memcpy(&u, z + 4*i, 4);
    if( dst ) memcpy(dst + i, &u, 4);
    bad |= (uint64_t)((u & 0x7f800000u) + 0x00800000u);
  }
  return (bad & 0x8000000080000000ull)!=0;
}

const attn_kernel_set attn_kernels_scalar = {
  "scalar",
  scalarGemm,
  scalarFlash,
  scalarExpArray,
  scalarCopyNonFinite,
};
