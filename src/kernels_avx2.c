/*
** kernels_avx2.c: the AVX2+FMA kernel set.  Each function carries
** K2_TARGET (target("avx2,fma")); the file is compiled like the rest of the
** library, so it only runs after cpuid said it may (kernels.c).
**
** The algorithms are those of kernels_avx512.c (read its header comment
** first), cut to 8-lane ymm vectors and 16 registers:
**   xGemm: B packed per call in panels of K2_KC rows × 16 columns; a 6×16
**     register tile (12 ymm accumulators, 2 B vectors, 1 broadcast).
**   xFlash: q transposed into scratch (64 rows = 8 ymm); scores come out
**     transposed, S[key][row], so the softmax bookkeeping is vertical.  The
**     score micro-kernel is 6 keys × 16 rows (12 accumulators), the P·V
**     micro-kernel 6 rows × 16 v-columns; tails use fewer keys/rows and
**     masked loads and stores (vmaskmovps) at the column edge.
**   exp (k2Exp): as k5Exp, with 2^n built in the exponent bits instead of
**     vscalefps (inputs are first clamped to at most 88, where 2^n is still
**     finite); 0 below ATTN_EXP_FLUSH and for NaN, never a denormal; at
**     most 1.03 ulp over [-87, 0] (test/unit/kernels.c).
**   softcap uses a vector tanh (k2Tanh); ALiBi is applied one score at a
**     time (AVX2 has no int64 → float conversion).
*/
#include "kernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define K2_TARGET __attribute__((target("avx2,fma")))
#define K2_INLINE static inline __attribute__((always_inline)) K2_TARGET

#define K2_BQ ATTN_BLOCK_Q        /* rows of a query block: 8 ymm */
#define K2_TK ATTN_TILE_K         /* keys of a tile */
#define K2_KC 256                 /* rows of B per packed GEMM panel */
#define K2_DC 96                  /* dimensions of Qt per score pass */

/*
** The vector exp (same constants as kernels_avx512.c).
*/
K2_INLINE __m256 k2Exp(__m256 x){
  const __m256 bKeep = _mm256_cmp_ps(x, _mm256_set1_ps(ATTN_EXP_FLUSH),
                                     _CMP_GE_OQ);
  __m256 n, r, y, s;
  x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
  n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                      _MM_FROUND_TO_NEAREST_INT|_MM_FROUND_NO_EXC);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);   /* exact */
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  y = _mm256_set1_ps(0.0013859122f);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(0.0083746630f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(0.041667730f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(0.16666423f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(0.49999994f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.0f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.0f));
  /* 2^n for n in [-127, 127] (lanes below the flush are masked off). */
  s = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(
        _mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
  return _mm256_and_ps(bKeep, _mm256_mul_ps(y, s));
}

/* tanh(x) on 8 lanes, as k5Tanh (kernels_avx512.c). */
K2_INLINE __m256 k2Tanh(__m256 x){
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 ax = _mm256_andnot_ps(sign, x), x2 = _mm256_mul_ps(x, x), p, t, big;
  p = _mm256_set1_ps(-0.0057049864f);
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(0.020639086f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-0.053739715f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(0.13331442f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-0.3333328f));
  p = _mm256_fmadd_ps(_mm256_mul_ps(x, x2), p, x);
  t = k2Exp(_mm256_mul_ps(ax, _mm256_set1_ps(-2.0f)));
  big = _mm256_div_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), t),
                      _mm256_add_ps(_mm256_set1_ps(1.0f), t));
  big = _mm256_or_ps(big, _mm256_and_ps(sign, x));
  return _mm256_blendv_ps(big, p, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f),
                                                _CMP_LT_OQ));
}

/* Mask vector of the first n (0..8) lanes, for vmaskmovps. */
K2_INLINE __m256i k2Lanes(int64_t n){
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n>8 ? 8 : n)), idx);
}

K2_TARGET static void k2ExpArray(float *a, int64_t n){
  int64_t i;
  for(i=0; i+8<=n; i+=8){
    _mm256_storeu_ps(a+i, k2Exp(_mm256_loadu_ps(a+i)));
  }
  if( i<n ){
    __m256i m = k2Lanes(n-i);
    _mm256_maskstore_ps(a+i, m, k2Exp(_mm256_maskload_ps(a+i, m)));
  }
}

/*
** GEMM.
*/

/* C[MR×(8·NZ)] (=|+=) A[MR×kc]·Bp[kc×(8·NZ)], Bp rows ldbp floats apart
** (16 when packed); the last column vector loaded and stored under mLast. */
K2_INLINE void k2GemmTile(const int MR, const int NZ, int64_t kc,
                          const float *A, int64_t lda, const float *Bp,
                          int64_t ldbp, float *C, int64_t ldc, int bLoad,
                          __m256i mLast){
  __m256 acc[6][2];
  const float *a0 = A, *a1 = A+lda, *a2 = A+2*lda, *a3 = A+3*lda,
              *a4 = A+4*lda, *a5 = A+5*lda;
  int64_t pk;
  int r, z;
#pragma GCC unroll 6
  for(r=0; r<MR; r++){
#pragma GCC unroll 2
    for(z=0; z<NZ; z++){
      if( !bLoad ) acc[r][z] = _mm256_setzero_ps();
      else if( z==NZ-1 ) acc[r][z] = _mm256_maskload_ps(C + r*ldc + 8*z, mLast);
      else acc[r][z] = _mm256_loadu_ps(C + r*ldc + 8*z);
    }
  }
  for(pk=0; pk<kc; pk++){
    __m256 b0, b1, t;
    if( NZ==1 ){
      b0 = b1 = _mm256_maskload_ps(Bp + pk*ldbp, mLast);
    }else{
      b0 = _mm256_loadu_ps(Bp + pk*ldbp);
      b1 = _mm256_maskload_ps(Bp + pk*ldbp + 8, mLast);
    }
#define K2_ROW(R, AP) if( MR>R ){ \
      t = _mm256_broadcast_ss(AP + pk); \
      acc[R][0] = _mm256_fmadd_ps(t, b0, acc[R][0]); \
      if( NZ>1 ) acc[R][1] = _mm256_fmadd_ps(t, b1, acc[R][1]); }
    K2_ROW(0, a0) K2_ROW(1, a1) K2_ROW(2, a2)
    K2_ROW(3, a3) K2_ROW(4, a4) K2_ROW(5, a5)
#undef K2_ROW
  }
#pragma GCC unroll 6
  for(r=0; r<MR; r++){
#pragma GCC unroll 2
    for(z=0; z<NZ; z++){
      if( z==NZ-1 ) _mm256_maskstore_ps(C + r*ldc + 8*z, mLast, acc[r][z]);
      else _mm256_storeu_ps(C + r*ldc + 8*z, acc[r][z]);
    }
  }
}

#define K2_CASES(X) \
  X(1,1) X(1,2) X(2,1) X(2,2) X(3,1) X(3,2) \
  X(4,1) X(4,2) X(5,1) X(5,2) X(6,1) X(6,2)

K2_TARGET static void k2Gemm(int64_t m, int64_t n, int64_t k,
                             const float *A, int64_t lda,
                             const float *B, int64_t ldb,
                             float *C, int64_t ldc, int bAccum){
  float aPack[K2_KC*16] __attribute__((aligned(32)));
  int64_t i0, j0, p0, pk;
  if( m<=0 || n<=0 ) return;
  if( k<=0 ){
    if( !bAccum ){
      for(i0=0; i0<m; i0++) memset(C + i0*ldc, 0, sizeof(float)*(size_t)n);
    }
    return;
  }
  for(j0=0; j0<n; j0+=16){
    int64_t nc = n-j0 < 16 ? n-j0 : 16;
    int nz = nc>8 ? 2 : 1;
    __m256i mLast = k2Lanes(nc - 8*(nz-1));
    __m256i m0 = k2Lanes(nc), m1 = k2Lanes(nc-8);
    for(p0=0; p0<k; p0+=K2_KC){
      int64_t kc = k-p0 < K2_KC ? k-p0 : K2_KC;
      int bLoad = bAccum || p0>0;
      const float *aB = aPack;
      int64_t ldbp = 16;
      if( m<=4 ){
        /* Few rows: packing would cost as much as the product. */
        aB = B + p0*ldb + j0;
        ldbp = ldb;
      }else for(pk=0; pk<kc; pk++){
        const float *b = B + (p0+pk)*ldb + j0;
        if( nc==16 ){
          _mm256_store_ps(aPack + pk*16, _mm256_loadu_ps(b));
          _mm256_store_ps(aPack + pk*16 + 8, _mm256_loadu_ps(b + 8));
        }else{
          _mm256_store_ps(aPack + pk*16, _mm256_maskload_ps(b, m0));
          _mm256_store_ps(aPack + pk*16 + 8, _mm256_maskload_ps(b + 8, m1));
        }
      }
      for(i0=0; i0<m; i0+=6){
        int mr = (int)(m-i0 < 6 ? m-i0 : 6);
        const float *a = A + i0*lda + p0;
        float *c = C + i0*ldc + j0;
        switch( mr*8+nz ){
#define X(R,Z) case R*8+Z: \
          k2GemmTile(R, Z, kc, a, lda, aB, ldbp, c, ldc, bLoad, mLast); break;
          K2_CASES(X)
#undef X
        }
      }
    }
  }
}

/*
** Flash attention.
*/

/* Transposed scores of MK keys of one panel (from lane iLane) against 8·NZ
** rows of Qt from row r0, over dimensions [d0, d1); starts from aST when
** bLoad.  aST points at the first key's row of 64 floats. */
K2_INLINE void k2QkTile(const int MK, const int NZ, const float *aQt,
                        const float *kp, int iLane, int r0, int d0, int d1,
                        float *aST, int bLoad){
  __m256 acc[6][2];
  const float *k = kp + (int64_t)d0*ATTN_PANEL + iLane;
  const float *qt = aQt + (int64_t)d0*K2_BQ + r0;
  int i, z, d;
#pragma GCC unroll 6
  for(i=0; i<MK; i++){
#pragma GCC unroll 2
    for(z=0; z<NZ; z++){
      acc[i][z] = bLoad ? _mm256_load_ps(aST + i*K2_BQ + r0 + 8*z)
                        : _mm256_setzero_ps();
    }
  }
  for(d=d0; d<d1; d++){
    __m256 q0 = _mm256_load_ps(qt), q1, t;
    q1 = NZ>1 ? _mm256_load_ps(qt + 8) : q0;
#pragma GCC unroll 6
    for(i=0; i<MK; i++){
      t = _mm256_broadcast_ss(k + i);
      acc[i][0] = _mm256_fmadd_ps(t, q0, acc[i][0]);
      if( NZ>1 ) acc[i][1] = _mm256_fmadd_ps(t, q1, acc[i][1]);
    }
    k += ATTN_PANEL;
    qt += K2_BQ;
  }
#pragma GCC unroll 6
  for(i=0; i<MK; i++){
#pragma GCC unroll 2
    for(z=0; z<NZ; z++) _mm256_store_ps(aST + i*K2_BQ + r0 + 8*z, acc[i][z]);
  }
}

/* Rows [r0, r0+MR) of O, columns [j0, j0+8·NZ) (last vector under mLast):
** O = O·alpha[r] + Σ_{c in [cLo,cHi)} P[c][r]·V[c][:]. */
K2_INLINE void k2PvTile(const int MR, const int NZ, __m256i mLast,
                        const float *aPT, const float *aV, int64_t ldv,
                        int cLo, int cHi, const float *aAlpha, float *aO,
                        int64_t ldo, int r0, int64_t j0){
  __m256 acc[6][2];
  int r, z, c;
#pragma GCC unroll 6
  for(r=0; r<MR; r++){
    __m256 al = _mm256_broadcast_ss(aAlpha + r0 + r);
#pragma GCC unroll 2
    for(z=0; z<NZ; z++){
      const float *o = aO + (int64_t)(r0+r)*ldo + j0 + 8*z;
      acc[r][z] = _mm256_mul_ps(al, z==NZ-1 ? _mm256_maskload_ps(o, mLast)
                                            : _mm256_loadu_ps(o));
    }
  }
  for(c=cLo; c<cHi; c++){
    const float *v = aV + (int64_t)c*ldv + j0;
    const float *pp = aPT + c*K2_BQ + r0;
    __m256 v0, v1, t;
    if( NZ==1 ){
      v0 = _mm256_maskload_ps(v, mLast);
      v1 = v0;
    }else{
      v0 = _mm256_loadu_ps(v);
      v1 = _mm256_maskload_ps(v + 8, mLast);
    }
#pragma GCC unroll 6
    for(r=0; r<MR; r++){
      t = _mm256_broadcast_ss(pp + r);
      acc[r][0] = _mm256_fmadd_ps(t, v0, acc[r][0]);
      if( NZ>1 ) acc[r][1] = _mm256_fmadd_ps(t, v1, acc[r][1]);
    }
  }
#pragma GCC unroll 6
  for(r=0; r<MR; r++){
#pragma GCC unroll 2
    for(z=0; z<NZ; z++){
      float *o = aO + (int64_t)(r0+r)*ldo + j0 + 8*z;
      if( z==NZ-1 ) _mm256_maskstore_ps(o, mLast, acc[r][z]);
      else _mm256_storeu_ps(o, acc[r][z]);
    }
  }
}

/* May some row of the block attend to key position kpos? (conservative) */
static inline int k2KeyUseful(const attn_flash_args *p, int64_t kpos){
  int64_t qLo = p->aQPos[0], qHi = p->aQPos[p->nQuery-1];
  if( p->bCausal && kpos>qHi ) return 0;
  if( p->nWindow>0 && (kpos-qHi>=p->nWindow || qLo-kpos>=p->nWindow) ){
    return 0;
  }
  return 1;
}

K2_TARGET static void k2Flash(const attn_flash_args *p){
  const int nq = p->nQuery, dk = p->nDimK, dv = p->nDimV;
  const int nz = (nq+7)/8;                        /* ymm of rows */
  float *aQt = p->aScratch;                       /* dk × 64 */
  float *aST = aQt + (int64_t)K2_BQ*dk;           /* 64 keys × 64 rows */
  float *aM = aST + K2_BQ*K2_TK;
  float *aL = aM + K2_BQ;
  float *aA = aL + K2_BQ;
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  int64_t k0;
  int r, z, d, c;

  for(r=0; r<nq; r++){
    const float *q = p->q + r*p->ldq;
    for(d=0; d<dk; d++) aQt[(int64_t)d*K2_BQ + r] = q[d];
  }
  if( nq<8*nz ){
    for(d=0; d<dk; d++){
      for(r=nq; r<8*nz; r++) aQt[(int64_t)d*K2_BQ + r] = 0.0f;
    }
  }
  for(z=0; z<8; z++){
    _mm256_store_ps(aM + 8*z, _mm256_set1_ps(-INFINITY));
    _mm256_store_ps(aL + 8*z, _mm256_setzero_ps());
  }
  for(r=0; r<nq; r++) memset(p->o + r*p->ldo, 0, sizeof(float)*(size_t)dv);

  for(k0=0; k0<p->nKey; k0+=K2_TK){
    int nc = (int)(p->nKey-k0 < K2_TK ? p->nKey-k0 : K2_TK);
    int eTile = attn_tile_class(p, k0, k0+nc);
    int cLo = 0, cHi = nc, d0;
    const float *aV = p->v + k0*p->ldv;
    if( eTile==ATTN_TILE_STOP ) break;
    if( eTile==ATTN_TILE_SKIP ) continue;
    if( eTile==ATTN_TILE_MIXED ){
      while( cHi>cLo && !k2KeyUseful(p, p->aKPos[k0+cHi-1]) ) cHi--;
      while( cLo<cHi && !k2KeyUseful(p, p->aKPos[k0+cLo]) ) cLo++;
      if( cLo>=cHi ) continue;
    }

    /* 1. S = K·Qᵀ: key groups within panels × row groups of 16. */
    for(d0=0; d0<dk; d0+=K2_DC){
      int d1 = dk-d0 < K2_DC ? dk : d0+K2_DC;
      for(c=cLo; c<cHi; ){
        int64_t kc = k0+c;
        int iLane = (int)(kc%ATTN_PANEL);
        int nLeft = ATTN_PANEL-iLane < cHi-c ? ATTN_PANEL-iLane : cHi-c;
        int mk = nLeft>6 ? (nLeft>=12 ? 6 : (nLeft+1)/2) : nLeft;
        const float *kp = p->kPacked + (kc/ATTN_PANEL)*(int64_t)dk*ATTN_PANEL;
        for(r=0; r<8*nz; r+=16){
          int nzr = 8*nz-r>=16 ? 2 : 1;
          switch( mk*8+nzr ){
#define X(MK,NZ) case MK*8+NZ: \
            k2QkTile(MK, NZ, aQt, kp, iLane, r, d0, d1, aST + c*K2_BQ, d0>0); \
            break;
            K2_CASES(X)
#undef X
          }
        }
        c += mk;
      }
    }

    /* 2. Softcap, ALiBi, the mask. */
    if( p->rSoftcap>0.0f ){
      const __m256 vCap = _mm256_set1_ps(p->rSoftcap);
      for(c=cLo; c<cHi; c++){
        float *s = aST + c*K2_BQ;
        for(z=0; z<nz; z++){
          __m256 x = _mm256_div_ps(_mm256_load_ps(s + 8*z), vCap);
          _mm256_store_ps(s + 8*z, _mm256_mul_ps(vCap, k2Tanh(x)));
        }
      }
    }
    if( p->rSlope!=0.0f ){
      /* (no int64 → float conversion in AVX2: one score at a time) */
      for(c=cLo; c<cHi; c++){
        float *s = aST + c*K2_BQ;
        int64_t kpos = p->aKPos[k0+c];
        for(r=0; r<nq; r++){
          int64_t qpos = p->aQPos[r];
          s[r] -= p->rSlope*(float)(qpos>kpos ? qpos-kpos : kpos-qpos);
        }
      }
    }
    if( eTile==ATTN_TILE_MIXED ){
      int rLo = 0, rHi = 0;
      for(c=cLo; c<cHi; c++){
        int64_t kpos = p->aKPos[k0+c];
        float *s = aST + c*K2_BQ;
        while( rLo<nq && ((p->bCausal && p->aQPos[rLo]<kpos)
               || (p->nWindow>0 && p->aQPos[rLo]-kpos<=-p->nWindow)) ){
          rLo++;
        }
        if( p->nWindow>0 ){
          while( rHi<nq && p->aQPos[rHi]-kpos<p->nWindow ) rHi++;
        }else{
          rHi = nq;
        }
        for(z=0; z<nz; z++){
          /* lanes r with rLo <= 8z+r < rHi keep their score */
          __m256i lo = _mm256_set1_epi32(rLo - 8*z - 1);
          __m256i hi = _mm256_set1_epi32(rHi - 8*z);
          __m256 keep = _mm256_castsi256_ps(_mm256_and_si256(
              _mm256_cmpgt_epi32(idx, lo), _mm256_cmpgt_epi32(hi, idx)));
          _mm256_store_ps(s + 8*z, _mm256_blendv_ps(
              _mm256_set1_ps(-INFINITY), _mm256_load_ps(s + 8*z), keep));
        }
      }
    }

    /* 3. Tile max, alpha, P = exp(S - m_new), l. */
    for(z=0; z<nz; z++){
      __m256 mx = _mm256_set1_ps(-INFINITY), mOld, mNew, al, sum;
      for(c=cLo; c<cHi; c++){
        mx = _mm256_max_ps(mx, _mm256_load_ps(aST + c*K2_BQ + 8*z));
      }
      mOld = _mm256_load_ps(aM + 8*z);
      mNew = _mm256_max_ps(mOld, mx);
      al = k2Exp(_mm256_sub_ps(mOld, mNew));
      _mm256_store_ps(aM + 8*z, mNew);
      _mm256_store_ps(aA + 8*z, al);
      sum = _mm256_setzero_ps();
      for(c=cLo; c<cHi; c++){
        float *s = aST + c*K2_BQ + 8*z;
        __m256 e = k2Exp(_mm256_sub_ps(_mm256_load_ps(s), mNew));
        _mm256_store_ps(s, e);
        sum = _mm256_add_ps(sum, e);
      }
      _mm256_store_ps(aL + 8*z,
                      _mm256_fmadd_ps(_mm256_load_ps(aL + 8*z), al, sum));
    }

    /* 4. O = O·alpha + P·V, 16 v-columns at a time. */
    {
      int64_t j0;
      for(j0=0; j0<dv; j0+=16){
        int64_t ncol = dv-j0 < 16 ? dv-j0 : 16;
        int nzv = ncol>8 ? 2 : 1;
        __m256i mLast = k2Lanes(ncol - 8*(nzv-1));
        for(r=0; r<nq; r+=6){
          int mr = nq-r < 6 ? nq-r : 6;
          switch( mr*8+nzv ){
#define X(MR,NZ) case MR*8+NZ: \
            k2PvTile(MR, NZ, mLast, aST, aV, p->ldv, cLo, cHi, aA, p->o, \
                     p->ldo, r, j0); break;
            K2_CASES(X)
#undef X
          }
        }
      }
    }
  }

  /* o /= l, lse = m + log(l). */
  for(r=0; r<nq; r++){
    float *o = p->o + r*p->ldo;
    float l = aL[r];
    if( l>0.0f ){
      __m256 inv = _mm256_set1_ps(1.0f/l);
      for(d=0; d+8<=dv; d+=8){
        _mm256_storeu_ps(o+d, _mm256_mul_ps(_mm256_loadu_ps(o+d), inv));
      }
      if( d<dv ){
        __m256i m = k2Lanes(dv-d);
        _mm256_maskstore_ps(o+d, m, _mm256_mul_ps(_mm256_maskload_ps(o+d, m),
                                                  inv));
      }
      p->aLse[r*p->ldLse] = aM[r] + logf(l);
    }else{
      p->aLse[r*p->ldLse] = -INFINITY;
    }
  }
}

/*
** Copy and check: 32 floats per step, the exponent test on the integer
** lanes, masked loads and stores (vpmaskmovd) for the tail.
*/
K2_INLINE __m256i k2NonFinite(__m256i x){
  const __m256i vExp = _mm256_set1_epi32(0x7f800000);
  return _mm256_cmpeq_epi32(_mm256_and_si256(x, vExp), vExp);
}

K2_TARGET static int k2CopyNonFinite(float *dst, const void *src, int64_t n){
  const char *z = (const char*)src;
  __m256i bad = _mm256_setzero_si256();
  int64_t i = 0;
  for(; i+32<=n; i+=32){
    __m256i x0 = _mm256_loadu_si256((const __m256i*)(z + 4*i));
    __m256i x1 = _mm256_loadu_si256((const __m256i*)(z + 4*i + 32));
    __m256i x2 = _mm256_loadu_si256((const __m256i*)(z + 4*i + 64));
    __m256i x3 = _mm256_loadu_si256((const __m256i*)(z + 4*i + 96));
    if( dst ){
      _mm256_storeu_si256((__m256i*)(dst + i), x0);
      _mm256_storeu_si256((__m256i*)(dst + i + 8), x1);
      _mm256_storeu_si256((__m256i*)(dst + i + 16), x2);
      _mm256_storeu_si256((__m256i*)(dst + i + 24), x3);
    }
    bad = _mm256_or_si256(bad, _mm256_or_si256(
            _mm256_or_si256(k2NonFinite(x0), k2NonFinite(x1)),
            _mm256_or_si256(k2NonFinite(x2), k2NonFinite(x3))));
  }
  for(; i<n; i+=8){
    __m256i m = k2Lanes(n-i);
    __m256i x = _mm256_maskload_epi32((const int*)(z + 4*i), m);
    if( dst ) _mm256_maskstore_epi32((int*)(dst + i), m, x);
    bad = _mm256_or_si256(bad, _mm256_and_si256(k2NonFinite(x), m));
  }
  return !_mm256_testz_si256(bad, bad);
}

static const attn_kernel_set k2Set = {
  "avx2",
  k2Gemm,
  k2Flash,
  k2ExpArray,
  k2CopyNonFinite,
};

const attn_kernel_set *attn_kernels_avx2(void){ return &k2Set; }

#else  /* not x86-64 with GCC or Clang */
const attn_kernel_set *attn_kernels_avx2(void){ return 0; }
#endif
