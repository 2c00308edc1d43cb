/*
** kernels_avx512.c: the AVX-512 (F, BW, DQ, VL) + FMA kernel set.
**
** Every function carries K5_TARGET, the features kernels.c checks with cpuid
** before it hands this set out; the file is compiled with the library's
** plain flags (no -m options), so one binary runs on any x86-64.
**
** xGemm, C = A·B (the projections and W_O): B is packed per call into
** panels of K5_KC rows × 64 columns (zero-padded), and a 6×64 register tile
** (24 zmm accumulators) walks each panel: per k, four zmm loads of B and six
** broadcasts of A feed 24 FMAs (with m <= 4, B is read in place instead:
** packing would cost as much as the product).  Edge tiles use the same code
** with fewer rows and a masked last column vector, so every element of C is
** computed by the same sequence of FMAs whatever its place in the matrix or
** the number of rows in the call.  About 165-175 GFLOP/s on the 64 × 384 ×
** 384 products of the projections (one core, ~3.4 GHz).
**
** xFlash, one block of up to 64 query rows of one head: the block's q is
** transposed into scratch (Qt: d × 64, rows as the fast dimension) so that
** the scores of a tile come out transposed, S[key][row], 16 rows per zmm.
** Then all the softmax bookkeeping is vertical: the row max of a tile is a
** lane-wise max over keys, the running max m, sum l and the rescale factor
** alpha are vectors of 16 rows, and no horizontal reduction is needed
** anywhere.  Per key tile (ATTN_TILE_K = 64 keys):
**   1. S = K·Qᵀ: a register tile of 6 keys × 4 zmm (64 rows), broadcasting
**      K from its packed panel (16 keys contiguous per dimension; key groups
**      of 6, 5, 5 never cross a panel, so one pointer walks them) against
**      Qt: per dimension 4 loads + 6 broadcasts feed 24 FMAs.  Wide heads
**      go in chunks of K5_DC dimensions so the chunk of Qt stays in L1.
**   2. softcap (vector tanh) and ALiBi, only when set, then the mask:
**      causal/window tiles classified by attn_tile_class() are skipped or
**      taken whole; mixed tiles are first trimmed to the keys some row may
**      see (most of the tile past the diagonal), and per key the allowed
**      rows are one contiguous range (positions ascend) applied as a 16-bit
**      mask per zmm.
**   3. one pass for the tile max and alpha = exp(m_old - m_new), one pass
**      for P = exp(S - m_new) (stored over S) and l = l·alpha + ΣP.
**   4. O = O·alpha + P·V: a register tile of 6 rows × 4 zmm of v-columns
**      (64), broadcasting P against V rows (masked loads at the v-width
**      tail), a 64-column chunk of the V tile at a time.
** At the end O /= l and lse = m + log(l); a row that saw no allowed key
** keeps l = 0, so o = 0 and lse = -inf.  Measured on one core of the
** development machine (back-to-back AVX-512 FMAs: 264 GFLOP/s): about
** 175-190 GFLOP/s at d = 64 and 130-150 at d = 384 with K and V out of
** cache.
**
** exp (k5Exp): n = round(x·log2 e), r = x - n·ln2 in two parts (Cody-Waite
** with the high part exact), e^r by a degree-6 polynomial (Horner, FMA,
** coefficients fitted for relative error on [-ln2/2, ln2/2]) and the
** result scaled by 2^n with vscalefps.  Inputs below ATTN_EXP_FLUSH (and
** NaN) give exactly 0, so no denormal ever reaches P·V; exp(0) is exactly
** 1.  Accuracy, measured by test/unit/kernels.c against exp() in double
** over [-87, 0] (every 61st float and a 1/4096 grid): at most 1.03 ulp (the
** test fails above 2).
*/
#include "kernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define K5_TARGET \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define K5_INLINE static inline __attribute__((always_inline)) K5_TARGET

/* Rows of a query block (4 zmm) and keys of a tile. */
#define K5_BQ ATTN_BLOCK_Q
#define K5_TK ATTN_TILE_K
/* Rows of B per packed GEMM panel. */
#define K5_KC 128
/* Dimensions of Qt per pass of the score micro-kernel (64 rows × 96 floats
** = 24 KiB, half of L1). */
#define K5_DC 96

/*
** The vector exp.
*/
#define K5_EXP_C1 1.0f
#define K5_EXP_C2 0.49999994f
#define K5_EXP_C3 0.16666423f
#define K5_EXP_C4 0.041667730f
#define K5_EXP_C5 0.0083746630f
#define K5_EXP_C6 0.0013859122f

K5_INLINE __m512 k5Exp(__m512 x){
  const __mmask16 bKeep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(ATTN_EXP_FLUSH),
                                             _CMP_GE_OQ);
  __m512 n, r, y;
  n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                           _MM_FROUND_TO_NEAREST_INT|_MM_FROUND_NO_EXC);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);   /* exact */
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  y = _mm512_set1_ps(K5_EXP_C6);
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(K5_EXP_C5));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(K5_EXP_C4));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(K5_EXP_C3));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(K5_EXP_C2));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(K5_EXP_C1));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.0f));
  return _mm512_maskz_scalef_ps(bKeep, y, n);
}

/* tanh(x) on 16 lanes (softcap), within about 3 ulp: x + x³·P(x²) with a
** degree-4 P fitted on [0, 0.625] below 0.625, (1 - t)/(1 + t) with
** t = exp(-2|x|) and the sign of x above. */
K5_INLINE __m512 k5Tanh(__m512 x){
  __m512 ax = _mm512_abs_ps(x), x2 = _mm512_mul_ps(x, x), p, t, big;
  p = _mm512_set1_ps(-0.0057049864f);
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(0.020639086f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-0.053739715f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(0.13331442f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-0.3333328f));
  p = _mm512_fmadd_ps(_mm512_mul_ps(x, x2), p, x);
  t = k5Exp(_mm512_mul_ps(ax, _mm512_set1_ps(-2.0f)));
  big = _mm512_div_ps(_mm512_sub_ps(_mm512_set1_ps(1.0f), t),
                      _mm512_add_ps(_mm512_set1_ps(1.0f), t));
  big = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(big),
          _mm512_and_si512(_mm512_castps_si512(x),
                           _mm512_set1_epi32((int)0x80000000u))));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f),
                                                 _CMP_LT_OQ), big, p);
}

K5_TARGET static void k5ExpArray(float *a, int64_t n){
  int64_t i;
  for(i=0; i+16<=n; i+=16){
    _mm512_storeu_ps(a+i, k5Exp(_mm512_loadu_ps(a+i)));
  }
  if( i<n ){
    __mmask16 m = (__mmask16)((1u<<(n-i))-1);
    _mm512_mask_storeu_ps(a+i, m, k5Exp(_mm512_maskz_loadu_ps(m, a+i)));
  }
}

/* The first n (1..16) lanes. */
static inline __mmask16 k5Lanes(int64_t n){
  return (__mmask16)(n>=16 ? 0xffffu : (1u<<n)-1);
}

/*
** GEMM.
*/

/* C[MR×(16·NZ)] (=|+=) A[MR×kc]·Bp[kc×(16·NZ)], Bp rows ldbp floats apart
** (64 when packed).  The last column vector is loaded and stored under
** mLast. */
K5_INLINE void k5GemmTile(const int MR, const int NZ, int64_t kc,
                          const float *A, int64_t lda, const float *Bp,
                          int64_t ldbp, float *C, int64_t ldc, int bLoad,
                          __mmask16 mLast){
  __m512 acc[6][4];
  const float *a0 = A, *a1 = A+lda, *a2 = A+2*lda, *a3 = A+3*lda,
              *a4 = A+4*lda, *a5 = A+5*lda;
  int64_t pk;
  int r, z;
#pragma GCC unroll 6
  for(r=0; r<MR; r++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      if( bLoad ){
        acc[r][z] = _mm512_maskz_loadu_ps(z==NZ-1 ? mLast : 0xffff,
                                          C + r*ldc + 16*z);
      }else{
        acc[r][z] = _mm512_setzero_ps();
      }
    }
  }
  for(pk=0; pk<kc; pk++){
    __m512 b[4], t;
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      b[z] = z==NZ-1 ? _mm512_maskz_loadu_ps(mLast, Bp + pk*ldbp + 16*z)
                     : _mm512_loadu_ps(Bp + pk*ldbp + 16*z);
    }
#define K5_ROW(R, AP) if( MR>R ){ \
      t = _mm512_set1_ps(AP[pk]); \
      if( NZ>0 ) acc[R][0] = _mm512_fmadd_ps(t, b[0], acc[R][0]); \
      if( NZ>1 ) acc[R][1] = _mm512_fmadd_ps(t, b[1], acc[R][1]); \
      if( NZ>2 ) acc[R][2] = _mm512_fmadd_ps(t, b[2], acc[R][2]); \
      if( NZ>3 ) acc[R][3] = _mm512_fmadd_ps(t, b[3], acc[R][3]); }
    K5_ROW(0, a0) K5_ROW(1, a1) K5_ROW(2, a2)
    K5_ROW(3, a3) K5_ROW(4, a4) K5_ROW(5, a5)
#undef K5_ROW
  }
#pragma GCC unroll 6
  for(r=0; r<MR; r++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      _mm512_mask_storeu_ps(C + r*ldc + 16*z, z==NZ-1 ? mLast : 0xffff,
                            acc[r][z]);
    }
  }
}

#define K5_CASES(X) \
  X(1,1) X(1,2) X(1,3) X(1,4) X(2,1) X(2,2) X(2,3) X(2,4) \
  X(3,1) X(3,2) X(3,3) X(3,4) X(4,1) X(4,2) X(4,3) X(4,4) \
  X(5,1) X(5,2) X(5,3) X(5,4) X(6,1) X(6,2) X(6,3) X(6,4)

K5_TARGET static void k5Gemm(int64_t m, int64_t n, int64_t k,
                             const float *A, int64_t lda,
                             const float *B, int64_t ldb,
                             float *C, int64_t ldc, int bAccum){
  float aPack[K5_KC*64] __attribute__((aligned(64)));
  int64_t i0, j0, p0, pk;
  if( m<=0 || n<=0 ) return;
  if( k<=0 ){
    if( !bAccum ){
      for(i0=0; i0<m; i0++) memset(C + i0*ldc, 0, sizeof(float)*(size_t)n);
    }
    return;
  }
  for(j0=0; j0<n; j0+=64){
    int64_t nc = n-j0 < 64 ? n-j0 : 64;
    int nz = (int)((nc+15)/16), z;
    __mmask16 mLast = k5Lanes(nc - 16*(nz-1));
    for(p0=0; p0<k; p0+=K5_KC){
      int64_t kc = k-p0 < K5_KC ? k-p0 : K5_KC;
      int bLoad = bAccum || p0>0;
      const float *aB = aPack;
      int64_t ldbp = 64;
      if( m<=4 ){
        /* Few rows: packing would cost as much as the product. */
        aB = B + p0*ldb + j0;
        ldbp = ldb;
      }else for(pk=0; pk<kc; pk++){
        const float *b = B + (p0+pk)*ldb + j0;
        for(z=0; z<4; z++){
          __mmask16 mz = z<nz-1 ? 0xffff : (z==nz-1 ? mLast : 0);
          _mm512_store_ps(aPack + pk*64 + 16*z,
                          _mm512_maskz_loadu_ps(mz, b + 16*z));
        }
      }
      for(i0=0; i0<m; i0+=6){
        int mr = (int)(m-i0 < 6 ? m-i0 : 6);
        const float *a = A + i0*lda + p0;
        float *c = C + i0*ldc + j0;
        switch( mr*8+nz ){
#define X(R,Z) case R*8+Z: \
          k5GemmTile(R, Z, kc, a, lda, aB, ldbp, c, ldc, bLoad, mLast); break;
          K5_CASES(X)
#undef X
        }
      }
    }
  }
}

/*
** Flash attention.
*/

/* Transposed scores of MK keys that sit in one packed panel, from lane
** iLane on (panel at kp, dk × 16), against the rows of NZ zmm of Qt, over
** dimensions [d0, d1): aST[i·64 + r] (+)= Σ_d Qt[d][r]·K[lane+i][d]; the
** sum starts from aST when bLoad (the later dimension chunks). */
K5_INLINE void k5QkTile(const int MK, const int NZ, const float *aQt,
                        const float *kp, int iLane, int d0, int d1,
                        float *aST, int bLoad){
  __m512 acc[6][4];
  const float *k = kp + (int64_t)d0*ATTN_PANEL + iLane;
  const float *qt = aQt + (int64_t)d0*K5_BQ;
  int i, z, d;
#pragma GCC unroll 6
  for(i=0; i<MK; i++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      acc[i][z] = bLoad ? _mm512_load_ps(aST + i*K5_BQ + 16*z)
                        : _mm512_setzero_ps();
    }
  }
  for(d=d0; d<d1; d++){
    __m512 q[4], t;
#pragma GCC unroll 4
    for(z=0; z<NZ; z++) q[z] = _mm512_load_ps(qt + 16*z);
#pragma GCC unroll 6
    for(i=0; i<MK; i++){
      t = _mm512_set1_ps(k[i]);
#pragma GCC unroll 4
      for(z=0; z<NZ; z++) acc[i][z] = _mm512_fmadd_ps(t, q[z], acc[i][z]);
    }
    k += ATTN_PANEL;
    qt += K5_BQ;
  }
#pragma GCC unroll 6
  for(i=0; i<MK; i++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++) _mm512_store_ps(aST + i*K5_BQ + 16*z, acc[i][z]);
  }
}

/* Rows [r0, r0+MR) of O, columns [j0, j0+16·NZ) (last vector under mLast):
** O = O·alpha[r] + Σ_{c in [cLo,cHi)} P[c][r]·V[c][:], with P transposed
** in aPT (64 floats per key) and aV column j0 of the tile's first key. */
K5_INLINE void k5PvTile(const int MR, const int NZ, __mmask16 mLast,
                        const float *aPT, const float *aV, int64_t ldv,
                        int cLo, int cHi, const float *aAlpha, float *aO,
                        int64_t ldo, int r0, int64_t j0){
  __m512 acc[6][4];
  int r, z, c;
#pragma GCC unroll 6
  for(r=0; r<MR; r++){
    __m512 al = _mm512_set1_ps(aAlpha[r0+r]);
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      const float *o = aO + (int64_t)(r0+r)*ldo + j0 + 16*z;
      acc[r][z] = _mm512_mul_ps(al, z==NZ-1 ? _mm512_maskz_loadu_ps(mLast, o)
                                            : _mm512_loadu_ps(o));
    }
  }
  for(c=cLo; c<cHi; c++){
    const float *v = aV + (int64_t)c*ldv;
    const float *pp = aPT + c*K5_BQ + r0;
    __m512 vv[4], t;
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      vv[z] = z==NZ-1 ? _mm512_maskz_loadu_ps(mLast, v + 16*z)
                      : _mm512_loadu_ps(v + 16*z);
    }
#pragma GCC unroll 6
    for(r=0; r<MR; r++){
      t = _mm512_set1_ps(pp[r]);
#pragma GCC unroll 4
      for(z=0; z<NZ; z++) acc[r][z] = _mm512_fmadd_ps(t, vv[z], acc[r][z]);
    }
  }
#pragma GCC unroll 6
  for(r=0; r<MR; r++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      float *o = aO + (int64_t)(r0+r)*ldo + j0 + 16*z;
      if( z==NZ-1 ) _mm512_mask_storeu_ps(o, mLast, acc[r][z]);
      else _mm512_storeu_ps(o, acc[r][z]);
    }
  }
}

/* May some row of the block attend to key position kpos?  (Conservative:
** true may still leave every row masked; the per-row mask follows.) */
static inline int k5KeyUseful(const attn_flash_args *p, int64_t kpos){
  int64_t qLo = p->aQPos[0], qHi = p->aQPos[p->nQuery-1];
  if( p->bCausal && kpos>qHi ) return 0;
  if( p->nWindow>0 && (kpos-qHi>=p->nWindow || qLo-kpos>=p->nWindow) ){
    return 0;
  }
  return 1;
}

/* Rows [lo, hi) as the mask of the zmm holding rows 16z..16z+15. */
static inline __mmask16 k5RowMask(int lo, int hi, int z){
  int a = lo - 16*z, b = hi - 16*z;
  if( a<0 ) a = 0;
  if( b>16 ) b = 16;
  if( b<=a ) return 0;
  return (__mmask16)(((1u<<b)-1) & ~((1u<<a)-1));
}

K5_TARGET static void k5Flash(const attn_flash_args *p){
  const int nq = p->nQuery, dk = p->nDimK, dv = p->nDimV;
  const int nz = (nq+15)/16;
  float *aQt = p->aScratch;                       /* dk × 64 */
  float *aST = aQt + (int64_t)K5_BQ*dk;           /* 64 keys × 64 rows */
  float *aM = aST + K5_BQ*K5_TK;                  /* running max per row */
  float *aL = aM + K5_BQ;                         /* running sum per row */
  float *aA = aL + K5_BQ;                         /* alpha of this tile */
  const int bExtra = p->rSoftcap>0.0f || p->rSlope!=0.0f;
  int64_t k0;
  int r, z, d, c;

  /* Qt, zero past the last row; m = -inf, l = 0, o = 0. */
  for(r=0; r<nq; r++){
    const float *q = p->q + r*p->ldq;
    for(d=0; d<dk; d++) aQt[(int64_t)d*K5_BQ + r] = q[d];
  }
  if( nq<16*nz ){
    for(d=0; d<dk; d++){
      for(r=nq; r<16*nz; r++) aQt[(int64_t)d*K5_BQ + r] = 0.0f;
    }
  }
  for(z=0; z<4; z++){
    _mm512_store_ps(aM + 16*z, _mm512_set1_ps(-INFINITY));
    _mm512_store_ps(aL + 16*z, _mm512_setzero_ps());
  }
  for(r=0; r<nq; r++) memset(p->o + r*p->ldo, 0, sizeof(float)*(size_t)dv);

  for(k0=0; k0<p->nKey; k0+=K5_TK){
    int nc = (int)(p->nKey-k0 < K5_TK ? p->nKey-k0 : K5_TK);
    int eTile = attn_tile_class(p, k0, k0+nc);
    int cLo = 0, cHi = nc;
    const float *aV = p->v + k0*p->ldv;
    __m512 mNew[4];
    if( eTile==ATTN_TILE_STOP ) break;
    if( eTile==ATTN_TILE_SKIP ) continue;
    if( eTile==ATTN_TILE_MIXED ){
      while( cHi>cLo && !k5KeyUseful(p, p->aKPos[k0+cHi-1]) ) cHi--;
      while( cLo<cHi && !k5KeyUseful(p, p->aKPos[k0+cLo]) ) cLo++;
      if( cLo>=cHi ) continue;
    }

    /* 1. S = K·Qᵀ for keys [cLo, cHi) of the tile, in groups of at most 6
    ** keys that never cross a panel, over chunks of K5_DC dimensions (so
    ** the chunk of Qt stays in L1 while the key groups walk it). */
    {
      int d0;
      for(d0=0; d0<dk; d0+=K5_DC){
        int d1 = dk-d0 < K5_DC ? dk : d0+K5_DC;
        for(c=cLo; c<cHi; ){
          int64_t kc = k0+c;
          int iLane = (int)(kc%ATTN_PANEL);
          int nLeft = ATTN_PANEL-iLane < cHi-c ? ATTN_PANEL-iLane : cHi-c;
          int mk = nLeft>6 ? (nLeft>=12 ? 6 : (nLeft+1)/2) : nLeft;
          const float *kp = p->kPacked + (kc/ATTN_PANEL)*(int64_t)dk*ATTN_PANEL;
          switch( mk*8+nz ){
#define X(MK,NZ) case MK*8+NZ: \
            k5QkTile(MK, NZ, aQt, kp, iLane, d0, d1, aST + c*K5_BQ, d0>0); \
            break;
            K5_CASES(X)
#undef X
          }
          c += mk;
        }
      }
    }

    /* 2. Softcap, ALiBi, the mask. */
    if( bExtra ){
      const __m512 vCap = _mm512_set1_ps(p->rSoftcap);
      const __m512 vSlope = _mm512_set1_ps(p->rSlope);
      for(c=cLo; c<cHi; c++){
        float *s = aST + c*K5_BQ;
        const __m512i vK = _mm512_set1_epi64(p->aKPos[k0+c]);
        for(z=0; z<nz; z++){
          __m512 x = _mm512_load_ps(s + 16*z);
          if( p->rSoftcap>0.0f ){
            x = _mm512_mul_ps(vCap, k5Tanh(_mm512_div_ps(x, vCap)));
          }
          if( p->rSlope!=0.0f ){
            /* |qpos - kpos| as float, rows past nq read as position 0 */
            __mmask16 mRow = k5Lanes(nq - 16*z);
            __m512i q0 = _mm512_maskz_loadu_epi64((__mmask8)(mRow & 0xff),
                                                  p->aQPos + 16*z);
            __m512i q1 = _mm512_maskz_loadu_epi64((__mmask8)(mRow >> 8),
                                                  p->aQPos + 16*z + 8);
            __m512 dist = _mm512_insertf32x8(_mm512_castps256_ps512(
                _mm512_cvtepi64_ps(_mm512_abs_epi64(_mm512_sub_epi64(q0, vK)))),
                _mm512_cvtepi64_ps(_mm512_abs_epi64(_mm512_sub_epi64(q1, vK))),
                1);
            x = _mm512_sub_ps(x, _mm512_mul_ps(vSlope, dist));
          }
          _mm512_store_ps(s + 16*z, x);
        }
      }
    }
    if( eTile==ATTN_TILE_MIXED ){
      int rLo = 0, rHi = 0;
      for(c=cLo; c<cHi; c++){
        int64_t kpos = p->aKPos[k0+c];
        float *s = aST + c*K5_BQ;
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
          __mmask16 m = k5RowMask(rLo, rHi, z);
          _mm512_store_ps(s + 16*z, _mm512_mask_blend_ps(m,
              _mm512_set1_ps(-INFINITY), _mm512_load_ps(s + 16*z)));
        }
      }
    }

    /* 3. Tile max, alpha = exp(m_old - m_new), P = exp(S - m_new), l. */
    for(z=0; z<nz; z++){
      __m512 mx = _mm512_set1_ps(-INFINITY), mOld, al, sum;
      for(c=cLo; c<cHi; c++){
        mx = _mm512_max_ps(mx, _mm512_load_ps(aST + c*K5_BQ + 16*z));
      }
      mOld = _mm512_load_ps(aM + 16*z);
      mNew[z] = _mm512_max_ps(mOld, mx);
      al = k5Exp(_mm512_sub_ps(mOld, mNew[z]));
      _mm512_store_ps(aM + 16*z, mNew[z]);
      _mm512_store_ps(aA + 16*z, al);
      sum = _mm512_setzero_ps();
      for(c=cLo; c<cHi; c++){
        float *s = aST + c*K5_BQ + 16*z;
        __m512 e = k5Exp(_mm512_sub_ps(_mm512_load_ps(s), mNew[z]));
        _mm512_store_ps(s, e);
        sum = _mm512_add_ps(sum, e);
      }
      _mm512_store_ps(aL + 16*z,
                      _mm512_fmadd_ps(_mm512_load_ps(aL + 16*z), al, sum));
    }

    /* 4. O = O·alpha + P·V, a chunk of 64 v-columns at a time (so that
    ** chunk of the V tile stays in L1 while the row groups walk it). */
    {
      int64_t j0;
      for(j0=0; j0<dv; j0+=64){
        int64_t ncol = dv-j0 < 64 ? dv-j0 : 64;
        int nzv = (int)((ncol+15)/16);
        __mmask16 mLast = k5Lanes(ncol - 16*(nzv-1));
        for(r=0; r<nq; r+=6){
          int mr = nq-r < 6 ? nq-r : 6;
          switch( mr*8+nzv ){
#define X(MR,NZ) case MR*8+NZ: \
            k5PvTile(MR, NZ, mLast, aST, aV + j0, p->ldv, cLo, cHi, aA, \
                     p->o, p->ldo, r, j0); break;
            K5_CASES(X)
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
      __m512 inv = _mm512_set1_ps(1.0f/l);
      for(d=0; d+16<=dv; d+=16){
        _mm512_storeu_ps(o+d, _mm512_mul_ps(_mm512_loadu_ps(o+d), inv));
      }
      if( d<dv ){
        __mmask16 m = k5Lanes(dv-d);
        _mm512_mask_storeu_ps(o+d, m,
                              _mm512_mul_ps(_mm512_maskz_loadu_ps(m, o+d), inv));
      }
      p->aLse[r*p->ldLse] = aM[r] + logf(l);
    }else{
      p->aLse[r*p->ldLse] = -INFINITY;
    }
  }
}

/*
** Copy and check: 64 floats per step, the exponent test on the integer
** lanes, masked loads and stores for the tail.
*/
K5_INLINE __mmask16 k5NonFinite(__m512i x){
  const __m512i vExp = _mm512_set1_epi32(0x7f800000);
  return _mm512_cmpeq_epi32_mask(_mm512_and_si512(x, vExp), vExp);
}

K5_TARGET static int k5CopyNonFinite(float *dst, const void *src, int64_t n){
  const char *z = (const char*)src;
  __mmask16 bad = 0;
  int64_t i = 0;
  for(; i+64<=n; i+=64){
    __m512i x0 = _mm512_loadu_si512(z + 4*i);
    __m512i x1 = _mm512_loadu_si512(z + 4*i + 64);
    __m512i x2 = _mm512_loadu_si512(z + 4*i + 128);
    __m512i x3 = _mm512_loadu_si512(z + 4*i + 192);
    if( dst ){
      _mm512_storeu_si512(dst + i, x0);
      _mm512_storeu_si512(dst + i + 16, x1);
      _mm512_storeu_si512(dst + i + 32, x2);
      _mm512_storeu_si512(dst + i + 48, x3);
    }
    bad |= k5NonFinite(x0) | k5NonFinite(x1) | k5NonFinite(x2)
         | k5NonFinite(x3);
  }
  for(; i<n; i+=16){
    __mmask16 m = k5Lanes(n-i);
    __m512i x = _mm512_maskz_loadu_epi32(m, z + 4*i);
    if( dst ) _mm512_mask_storeu_epi32(dst + i, m, x);
    bad |= k5NonFinite(x) & m;
  }
  return bad!=0;
}

static const attn_kernel_set k5Set = {
  "avx512",
  k5Gemm,
  k5Flash,
  k5ExpArray,
  k5CopyNonFinite,
};

const attn_kernel_set *attn_kernels_avx512(void){ return &k5Set; }

#else  /* not x86-64 with GCC or Clang */
const attn_kernel_set *attn_kernels_avx512(void){ return 0; }
#endif
