/*
** kernels_driver.h: the kernels, written once (see kernels.h).
**
** Each level file (kernels_scalar.c, kernels_emu16.c, kernels_avx2.c,
** kernels_avx512.c) defines the primitives below and then includes this
** file, which defines the level's kernel set, attn_kernels_<KD_LEVEL>().
** Nothing here knows an instruction set; the file must stay plain C.
**
** What a level defines (all names are #undef'd at the end of this file):
**   KD_LEVEL, KD_NAME      the level's token (avx2) and name ("avx2")
**   KD_W                   floats per vector: 1, 8 or 16
**   KD_TARGET              attribute for every function (target("..."))
**   kd_v, kd_m             a vector of KD_W floats; a mask of KD_W lanes
**   kd_zero() kd_set1(x) kd_bcast(p)            constants, broadcast *p
**   kd_load(p) kd_store(p, v)                   unaligned, KD_W floats
**   kd_loadm(p, m) kd_storem(p, m, v)           lanes of m only (others
**                                               read as 0, not touched,
**                                               never faulting)
**   kd_first(n)                                 mask of lanes [0, n)
**   kd_range(lo, hi)                            mask of lanes [lo, hi)
**                                               (any ints, clipped)
**   kd_add kd_sub kd_mul kd_div                 IEEE float32
**   kd_fma(a, b, c) = a·b + c,  kd_fnma(a, b, c) = c − a·b (one rounding)
**   kd_max(a, b)                                a > b ? a : b, per lane
**   kd_abs(v), kd_copysign(mag, sgn)
**   kd_lt(a, b) kd_le(a, b) kd_eq(a, b)         ordered compares → mask
**   kd_select(m, a, b)                          m ? a : b per lane
**   kd_all(m)                                   every lane of m is set
**   kd_andm(m1, m2)                             intersection of masks
**   kd_addexp(y, t)                             the float with the bits of
**                                               y plus (bits of t) << 23
**   KD_SCALE2(y, n, x, lo) optional: y·2^n (n integral, the result
**                          normal), 0 where x < lo (ordered: NaN x keeps
**                          it), in place of kd_addexp and kd_select
**                          (VSCALEFPS, zero-masked: two instructions less)
**   kd_vh                  a vector of KD_W 32-bit lanes (bf16 pairs)
**   kd_set1h(u) kd_loadh(p) kd_storeh(p, v) kd_bcasth(p)
**   kd_bits(v) kd_floats(h)                     reinterpret, both ways
**   kd_addh kd_andh kd_orh, kd_srlh(h, n) kd_sllh(h, n)   lane-wise, 32 bit
**   kd_loadh16(p)          KD_W little-endian uint16 at p (any alignment),
**                          zero-extended into the 32-bit lanes
**   KD_F16(p)              optional: KD_W float16 at p widened to float32
**                          by the hardware (VCVTPH2PS: exact, denormals
**                          kept whatever the flush modes); else kdHalf's
**                          integer rebias
**   KD_DOT2(acc, a, b)     optional: acc + the dot products of the bf16
**                          pairs of a and b (VDPBF16PS); else two FMAs
**   KD_AMX, KD_BF16_NAME   optional: bf16 products on AMX tiles (below)
**   KD_BF16_ONLY           optional: only the bf16 entries; kernels.c adds
**                          the float32 ones of the level it builds on
**   KD_QK_MK, KD_QK_NZ     register tile of Q·Kᵀ: keys × row vectors
**   KD_PV_MJ, KD_PV_NZ     register tile of P·V: v columns × row vectors
**   KD_GE_MR, KD_GE_NZ     register tile of the GEMM: rows × column vectors
**   KD_DC                  dimensions of q per pass of the Q·Kᵀ tile
**   KD_PV_KC               optional: keys per pass of Vᵀ·P (kdValues;
**                          default the whole tile, ATTN_TILE_K)
**   KD_TILE_UNROLL         optional: steps of kdTile's loop per iteration
**                          (#pragma GCC unroll), where the loop's own
**                          counter and pointer updates would take FMA slots
** with every tile at most KD_MAX_I = 6 by KD_MAX_Z = 4.
**
** Flash attention (kdFlash), one block of at most 64 query rows of one
** head.  The rows are the vector lanes everywhere: the block's q is
** transposed into scratch (Qt: d × 64), and the scores (S: key × row), the
** output (Ot: v column × row) and the statistics (m, l per row) are kept
** transposed too, so the online softmax needs no horizontal operation and
** both products are the same shape, one broadcast of a key (or v) element
** against row vectors of Qt (or P).  Per tile of ATTN_TILE_K keys:
**   1. S = K·Qᵀ over the keys some row may see (tiles the mask excludes are
**      skipped, mixed ones trimmed), keys in groups of at most KD_QK_MK
**      that never cross a packed panel, q in chunks of KD_DC dimensions so
**      the chunk of Qt stays in L1.  Without softcap, ALiBi, a bias or a
**      mask in the tile, the tile's row maxima are taken as the scores
**      leave the registers.
**   2. otherwise softcap, ALiBi, the keys' bias and the mask, then the
**      maxima: one pass.
**   3. per row vector: m' = max(m, tile max), alpha = exp(m − m'),
**      P = exp(S − m') over S, l = l·alpha + ΣP.  (bf16: m' = m while the
**      tile's max is at most m + 8; kdRowMax.)
**   4. Ot = Ot·alpha + Vᵀ·P.
** After the last tile a sink (kdSink) is one more step 3 of a key of
** value 0.  At the end o = Ot/l (transposed back) and lse = m + log(l); a
** row with
** no allowed key has l = 0: o = 0, lse = -inf.  A score that is NaN or
** +Inf makes l NaN (exp lets NaN through), and the row's lse NaN.
**
** exp (kdExp), for x <= 0: n = round(x·log2 e) by adding 1.5·2^23 (the
** integer lands in the low mantissa bits), r = x − n·ln2 in two parts
** (Cody-Waite, the high part exact), e^r by a degree-6 polynomial (Horner,
** FMA) and 2^n added to the exponent bits (or, where the level has
** KD_SCALE2, applied by it: the same bits).  Inputs below ATTN_EXP_FLUSH
** give exactly 0 (never a denormal), NaN stays NaN, exp(0) = 1.  At most
** 1.03 ulp over [-87, 0] (test/unit/kernels.c).  The P of the bf16 path,
** rounded to bf16 as it is stored, takes a degree-5 polynomial instead
** (kdExpP; at most 3 ulp over [-87, 8]: the lazy max of kdRowMax lets x
** reach 8; in float32 as the sum l needs).
**
** GEMM (kdGemm), C = A·B: B is packed per call in panels of KD_KC rows ×
** KD_GE_NZ·KD_W columns (zero-padded; with at most 4 rows of A it is read
** in place instead: packing would cost as much as the product), and a
** KD_GE_MR-row register tile walks each panel.
*/
#include <math.h>
#include <string.h>

#define KD_MAX_I 6
#define KD_MAX_Z 4
#define KD_KC    256                    /* rows of B per packed panel */
#ifndef KD_PV_KC
#define KD_PV_KC ATTN_TILE_K             /* keys per pass of Vᵀ·P */
#endif
#define KD_BQ    ATTN_BLOCK_Q           /* row stride of Qt, S and Ot */
/* The tiles and steps are inlined into their callers with constant shapes
** (their accumulators then live in registers); a level whose primitives
** are not single instructions (emu16) may define KD_NO_INLINE to keep its
** code, and its compile time, small. */
#ifdef KD_NO_INLINE
# define KD_INLINE static __attribute__((unused)) KD_TARGET
#else
# define KD_INLINE static inline __attribute__((always_inline)) KD_TARGET
#endif

/*
** exp and tanh.
*/
KD_INLINE kd_v KD_FN(kdExpDeg)(const int bP, kd_v x){
  const kd_v vMagic = kd_set1(12582912.0f);               /* 1.5·2^23 */
  kd_v t = kd_fma(x, kd_set1(1.44269504f), vMagic);
  kd_v n = kd_sub(t, vMagic), r, y;
  r = kd_fnma(n, kd_set1(0.693359375f), x);               /* exact */
  r = kd_fnma(n, kd_set1(-2.12194440e-4f), r);
  if( bP ){
    y = kd_set1(0.008312499f);
    y = kd_fma(y, r, kd_set1(0.04189012f));
    y = kd_fma(y, r, kd_set1(0.16667114f));
    y = kd_fma(y, r, kd_set1(0.4999923f));
  }else{
    y = kd_set1(0.0013859122f);
    y = kd_fma(y, r, kd_set1(0.0083746630f));
    y = kd_fma(y, r, kd_set1(0.041667730f));
    y = kd_fma(y, r, kd_set1(0.16666423f));
    y = kd_fma(y, r, kd_set1(0.49999994f));
  }
  y = kd_fma(y, r, kd_set1(1.0f));
  y = kd_fma(y, r, kd_set1(1.0f));
#ifdef KD_SCALE2
  (void)t;
  return KD_SCALE2(y, n, x, ATTN_EXP_FLUSH);
#else
  y = kd_addexp(y, t);
  return kd_select(kd_lt(x, kd_set1(ATTN_EXP_FLUSH)), kd_zero(), y);
#endif
}

/* exp, and the shorter one of the bf16 path's P (kdExpP). */
KD_INLINE kd_v KD_FN(kdExp)(kd_v x){ return KD_FN(kdExpDeg)(0, x); }
KD_INLINE kd_v KD_FN(kdExpP)(kd_v x){ return KD_FN(kdExpDeg)(1, x); }

/* The softcap of scores s (see attn_softcap in kernels.h): s·g(x) for
** |x| < 0.625 with g(x) = 1 + x²·P(x²) (tanh(x) = x + x³·P(x²), P fitted
** on [0, 0.625]), else ±(m·tanh|x|)·2^-e1·2^-e2 with tanh|x| =
** (1 − t)/(1 + t), t = exp(−2|x|).  About 3 ulp. */
KD_INLINE kd_v KD_FN(kdSoftcap)(kd_v s, const attn_softcap *c){
  kd_v x = kd_mul(kd_mul(kd_mul(s, kd_set1(c->rPre1)), kd_set1(c->rPre2)),
                  kd_set1(c->rInvM));
  kd_v ax = kd_abs(x), x2 = kd_mul(x, x), p, t, th, big, small;
  p = kd_set1(-0.0057049864f);
  p = kd_fma(p, x2, kd_set1(0.020639086f));
  p = kd_fma(p, x2, kd_set1(-0.053739715f));
  p = kd_fma(p, x2, kd_set1(0.13331442f));
  p = kd_fma(p, x2, kd_set1(-0.3333328f));
  small = kd_fma(s, kd_mul(x2, p), s);
  t = KD_FN(kdExp)(kd_mul(ax, kd_set1(-2.0f)));
  th = kd_div(kd_sub(kd_set1(1.0f), t), kd_add(kd_set1(1.0f), t));
  big = kd_mul(kd_mul(kd_mul(th, kd_set1(c->rM)), kd_set1(c->rPost1)),
               kd_set1(c->rPost2));
  big = kd_copysign(big, s);
  return kd_select(kd_lt(ax, kd_set1(0.625f)), small, big);
}

/* #pragma GCC unroll N with N a macro (the pragma does not expand it). */
#define KD_PRAGMA(x) _Pragma(#x)
#define KD_UNROLL(n) KD_PRAGMA(GCC unroll n)

/*
** The register tile: acc[i][z] += Σ_{t<n} b[t·sbT + i·sbI] · v[t·svT + z·KD_W]
** for i < MI, z < NZ: one broadcast element of b per i against NZ vectors
** of v per step.  Q·Kᵀ (b = a packed key panel, v = Qt), Vᵀ·P (b = V rows,
** v = P) and the GEMM (b = A rows, v = packed B) are all this loop.  With
** bMask the last vector of v is loaded under mLast.
*/
KD_INLINE void KD_FN(kdTile)(const int MI, const int NZ, const int bMask,
                             int64_t n, const float *b, int64_t sbT,
                             int64_t sbI, const float *v, int64_t svT,
                             kd_m mLast, kd_v acc[KD_MAX_I][KD_MAX_Z]){
  int64_t t;
  int i, z;
#ifdef KD_TILE_UNROLL
  KD_UNROLL(KD_TILE_UNROLL)
#endif
  for(t=0; t<n; t++){
    kd_v w[KD_MAX_Z], e;
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      w[z] = bMask && z==NZ-1 ? kd_loadm(v + t*svT + z*KD_W, mLast)
                              : kd_load(v + t*svT + z*KD_W);
    }
#pragma GCC unroll 6
    for(i=0; i<MI; i++){
      e = kd_bcast(b + t*sbT + i*sbI);
#pragma GCC unroll 4
      for(z=0; z<NZ; z++) acc[i][z] = kd_fma(e, w[z], acc[i][z]);
    }
  }
}

#ifndef KD_DOT2
/* acc + lo(a)·lo(b) + hi(a)·hi(b): the even element, then the odd one. */
KD_INLINE kd_v KD_FN(kdDot2)(kd_v acc, kd_vh a, kd_vh b){
  const kd_vh vHi = kd_set1h(0xffff0000u);
  acc = kd_fma(kd_floats(kd_sllh(a, 16)), kd_floats(kd_sllh(b, 16)), acc);
  return kd_fma(kd_floats(kd_andh(a, vHi)), kd_floats(kd_andh(b, vHi)), acc);
}
# define KD_DOT2(acc, a, b) KD_FN(kdDot2)(acc, a, b)
#endif

/* bf16 of each lane of lo and hi (to nearest, ties to even), interleaved:
** lane r holds bf16(lo[r]) in its low 16 bits and bf16(hi[r]) above. */
KD_INLINE kd_vh KD_FN(kdPack2)(kd_v lo, kd_v hi){
  const kd_vh vOne = kd_set1h(1), vHalf = kd_set1h(0x7fffu);
  kd_vh a = kd_bits(lo), b = kd_bits(hi);
  a = kd_addh(a, kd_addh(vHalf, kd_andh(kd_srlh(a, 16), vOne)));
  b = kd_addh(b, kd_addh(vHalf, kd_andh(kd_srlh(b, 16), vOne)));
  return kd_orh(kd_srlh(a, 16), kd_andh(b, kd_set1h(0xffff0000u)));
}

/* kdPack2 of lanes that are never denormal (P = exp(S − m): 0, a normal
** float or NaN), where a level with AVX512-BF16 may convert in one
** instruction, whose rounding is the same for those (KD_PACK2P; it treats
** denormals as zero, so it is not kdPack2). */
#ifndef KD_PACK2P
# define KD_PACK2P(lo, hi) KD_FN(kdPack2)(lo, hi)
#endif

/* acc[i][z] += Σ_{t<n} dot2(b[t·sbT + i·sbI], v[t·svT + z·KD_W]): kdTile on
** pairs. */
KD_INLINE void KD_FN(kdTile2)(const int MI, const int NZ, int64_t n,
                              const uint32_t *b, int64_t sbT, int64_t sbI,
                              const uint32_t *v, int64_t svT,
                              kd_v acc[KD_MAX_I][KD_MAX_Z]){
  int64_t t;
  int i, z;
  for(t=0; t<n; t++){
    kd_vh w[KD_MAX_Z], e;
#pragma GCC unroll 4
    for(z=0; z<NZ; z++) w[z] = kd_loadh(v + t*svT + z*KD_W);
#pragma GCC unroll 6
    for(i=0; i<MI; i++){
      e = kd_bcasth(b + t*sbT + i*sbI);
#pragma GCC unroll 4
      for(z=0; z<NZ; z++) acc[i][z] = KD_DOT2(acc[i][z], e, w[z]);
    }
  }
}

/* The (MI, NZ) cases of a dispatch switch: X(MI, NZ) for each tile shape up
** to (KD_MAX_I, KD_MAX_Z); a level's shapes never exceed them. */
#define KD_CASES(X) \
  X(1,1) X(1,2) X(1,3) X(1,4) X(2,1) X(2,2) X(2,3) X(2,4) \
  X(3,1) X(3,2) X(3,3) X(3,4) X(4,1) X(4,2) X(4,3) X(4,4) \
  X(5,1) X(5,2) X(5,3) X(5,4) X(6,1) X(6,2) X(6,3) X(6,4)

/*
** GEMM.
*/

/* C[MR×(NZ·KD_W)] (=, or += when bLoad) A[MR×kc]·B[kc×(NZ·KD_W)], B rows
** ldb floats apart; with bMask the last column vector of B and C is read
** and written under mLast. */
KD_INLINE void KD_FN(kdGemmTile)(const int MR, const int NZ, const int bMask,
                                 int64_t kc, const float *A, int64_t lda,
                                 const float *B, int64_t ldb, float *C,
                                 int64_t ldc, int bLoad, kd_m mLast){
  kd_v acc[KD_MAX_I][KD_MAX_Z];
  int r, z;
#pragma GCC unroll 6
  for(r=0; r<MR; r++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      const float *c = C + r*ldc + z*KD_W;
      acc[r][z] = !bLoad ? kd_zero()
                : (z==NZ-1 ? kd_loadm(c, mLast) : kd_load(c));
    }
  }
  KD_FN(kdTile)(MR, NZ, bMask, kc, A, 1, lda, B, ldb, mLast, acc);
#pragma GCC unroll 6
  for(r=0; r<MR; r++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      float *c = C + r*ldc + z*KD_W;
      if( z==NZ-1 ) kd_storem(c, mLast, acc[r][z]);
      else kd_store(c, acc[r][z]);
    }
  }
}

/* Rows [0, m) of one panel of columns (nc of them, nz vectors): the row
** tiles, in place (bMask) or from packed B. */
KD_INLINE void KD_FN(kdGemmPanel)(const int bMask, int64_t m, int nz,
                                  int64_t kc, const float *A, int64_t lda,
                                  const float *B, int64_t ldb, float *C,
                                  int64_t ldc, int bLoad, kd_m mLast){
  int64_t i0;
  for(i0=0; i0<m; i0+=KD_GE_MR){
    int mr = (int)(m-i0 < KD_GE_MR ? m-i0 : KD_GE_MR);
    const float *a = A + i0*lda;
    float *c = C + i0*ldc;
    switch( mr*8+nz ){
#define X(MR,NZ) case MR*8+NZ: if( MR<=KD_GE_MR && NZ<=KD_GE_NZ ){ \
      KD_FN(kdGemmTile)(MR, NZ, bMask, kc, a, lda, B, ldb, c, ldc, bLoad, \
                        mLast); } break;
      KD_CASES(X)
#undef X
    }
  }
}

#ifndef KD_BF16_ONLY
KD_TARGET static void KD_FN(kdGemm)(int64_t m, int64_t n, int64_t k,
                                    const float *A, int64_t lda,
                                    const float *B, int64_t ldb,
                                    float *C, int64_t ldc, int bAccum){
  enum { NB = KD_GE_NZ*KD_W };                   /* columns per panel */
  float aPack[KD_KC*NB] __attribute__((aligned(64)));
  int64_t i0, j0, p0, pk;
  if( m<=0 || n<=0 ) return;
  if( k<=0 ){
    if( !bAccum ){
      for(i0=0; i0<m; i0++) memset(C + i0*ldc, 0, sizeof(float)*(size_t)n);
    }
    return;
  }
  for(j0=0; j0<n; j0+=NB){
    int nc = (int)(n-j0 < NB ? n-j0 : NB);
    int nz = (nc + KD_W-1)/KD_W;
    kd_m mLast = kd_first(nc - KD_W*(nz-1));
    for(p0=0; p0<k; p0+=KD_KC){
      int64_t kc = k-p0 < KD_KC ? k-p0 : KD_KC;
      int bLoad = bAccum || p0>0;
      if( m<=4 ){
        KD_FN(kdGemmPanel)(1, m, nz, kc, A + p0, lda, B + p0*ldb + j0, ldb,
                           C + j0, ldc, bLoad, mLast);
        continue;
      }
      for(pk=0; pk<kc; pk++){
        const float *b = B + (p0+pk)*ldb + j0;
        float *d = aPack + pk*NB;
        int z;
        for(z=0; z<KD_GE_NZ; z++){
          kd_store(d + z*KD_W, z<nz-1 ? kd_load(b + z*KD_W)
                   : z==nz-1 ? kd_loadm(b + z*KD_W, mLast) : kd_zero());
        }
      }
      KD_FN(kdGemmPanel)(0, m, nz, kc, A + p0, lda, aPack, NB, C + j0, ldc,
                         bLoad, mLast);
    }
  }
}

#endif /* !KD_BF16_ONLY */


/* The GEMM on bf16 pairs: A's rows and B's columns packed as pairs of k
** (2i, 2i+1), zero past k, then a register tile (kdTile2), or on AMX a
** tile block (KD_AMX: kdAmxBlock).  The packing is shared. */

/* The bits of KD_W floats rounded to bf16 (to nearest even, as attn_bf16)
** in the high 16 bits of each lane; the low 16 bits are not zero. */
KD_INLINE kd_vh KD_FN(kdBf16Hi)(kd_vh u){
  return kd_addh(kd_addh(u, kd_set1h(0x7fffu)),
                 kd_andh(kd_srlh(u, 16), kd_set1h(1u)));
}

/* Pair rows [0, kc2p) of B's rows [0, kc) × columns [0, nc) as bf16 pairs,
** nb columns a row: zero past column nc and past row kc. */
KD_INLINE void KD_FN(kdPackB2)(const float *B, int64_t ldb, int64_t kc,
                               int64_t kc2p, int nc, int nb, uint32_t *out){
  int64_t k2;
  int j;
  for(k2=0; k2<kc2p; k2++){
    uint32_t *o = out + k2*nb;
    const float *b0 = B + 2*k2*ldb, *b1 = b0 + ldb;
    j = 0;
    if( 2*k2+1<kc ){
      for(; j+KD_W<=nc; j+=KD_W){
        kd_vh r0 = KD_FN(kdBf16Hi)(kd_loadh(b0 + j));
        kd_vh r1 = KD_FN(kdBf16Hi)(kd_loadh(b1 + j));
        kd_storeh(o + j, kd_orh(kd_srlh(r0, 16),
                                kd_andh(r1, kd_set1h(0xffff0000u))));
      }
      for(; j<nc; j++){
        o[j] = attn_bf16(b0[j]) | (uint32_t)attn_bf16(b1[j]) << 16;
      }
    }else if( 2*k2<kc ){
      for(; j<nc; j++) o[j] = attn_bf16(b0[j]);
    }
    for(; j<nb; j++) o[j] = 0;
  }
}

/* Row a[0, kc) as kc2p bf16 pairs, zero past kc. */
KD_INLINE void KD_FN(kdPackA2)(const float *a, int64_t kc, int64_t kc2p,
                               uint32_t *out){
  int64_t k2;
  for(k2=0; k2<kc/2; k2++){
    out[k2] = attn_bf16(a[2*k2]) | (uint32_t)attn_bf16(a[2*k2+1]) << 16;
  }
  if( kc%2 ) out[k2++] = attn_bf16(a[kc-1]);
  for(; k2<kc2p; k2++) out[k2] = 0;
}

#ifndef KD_AMX
KD_INLINE void KD_FN(kdGemmTileBf16)(const int MR, const int NZ, int64_t kc2,
                                     const uint32_t *A2, int64_t lda2,
                                     const uint32_t *B2, int64_t ldb2,
                                     float *C, int64_t ldc, int bLoad,
                                     kd_m mLast){
  kd_v acc[KD_MAX_I][KD_MAX_Z];
  int r, z;
#pragma GCC unroll 6
  for(r=0; r<MR; r++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      const float *c = C + r*ldc + z*KD_W;
      acc[r][z] = !bLoad ? kd_zero()
                : (z==NZ-1 ? kd_loadm(c, mLast) : kd_load(c));
    }
  }
  KD_FN(kdTile2)(MR, NZ, kc2, A2, 1, lda2, B2, ldb2, acc);
#pragma GCC unroll 6
  for(r=0; r<MR; r++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      float *c = C + r*ldc + z*KD_W;
      if( z==NZ-1 ) kd_storem(c, mLast, acc[r][z]);
      else kd_store(c, acc[r][z]);
    }
  }
}

KD_TARGET static void KD_FN(kdGemmBf16)(int64_t m, int64_t n, int64_t k,
                                        const float *A, int64_t lda,
                                        const float *B, int64_t ldb,
                                        float *C, int64_t ldc, int bAccum){
  enum { NB = KD_GE_NZ*KD_W, KC2 = KD_KC/2 };
  uint32_t aPackB[KC2*NB] __attribute__((aligned(64)));
  uint32_t aPackA[KD_GE_MR*KC2] __attribute__((aligned(64)));
  int64_t i0, j0, p0, i;
  if( m<=0 || n<=0 ) return;
  if( k<=0 ){
    if( !bAccum ){
      for(i0=0; i0<m; i0++) memset(C + i0*ldc, 0, sizeof(float)*(size_t)n);
    }
    return;
  }
  for(j0=0; j0<n; j0+=NB){
    int nc = (int)(n-j0 < NB ? n-j0 : NB);
    int nz = (nc + KD_W-1)/KD_W;
    kd_m mLast = kd_first(nc - KD_W*(nz-1));
    for(p0=0; p0<k; p0+=KD_KC){
      int64_t kc = k-p0 < KD_KC ? k-p0 : KD_KC, kc2 = (kc+1)/2;
      int bLoad = bAccum || p0>0;
      KD_FN(kdPackB2)(B + p0*ldb + j0, ldb, kc, kc2, nc, NB, aPackB);
      for(i0=0; i0<m; i0+=KD_GE_MR){
        int mr = (int)(m-i0 < KD_GE_MR ? m-i0 : KD_GE_MR);
        float *c = C + i0*ldc + j0;
        for(i=0; i<mr; i++){
          KD_FN(kdPackA2)(A + (i0+i)*lda + p0, kc, kc2, aPackA + i*KC2);
        }
        switch( mr*8+nz ){
#define X(MR,NZ) case MR*8+NZ: if( MR<=KD_GE_MR && NZ<=KD_GE_NZ ){ \
          KD_FN(kdGemmTileBf16)(MR, NZ, kc2, aPackA, KC2, aPackB, NB, c, \
                                ldc, bLoad, mLast); } break;
          KD_CASES(X)
#undef X
        }
      }
    }
  }
}

#else /* KD_AMX */
/* The one AMX block of every bf16 product (the GEMM's, S = K·Qᵀ and
** Ot += Vᵀ·P): 32 × 32 outputs in C tiles 0-3 (rows 0-15 and 16-31 by
** columns 0-15 and 16-31; nr, nt = 1 or 2 tiles of rows and columns) from
** A tiles 4-5 (rows of bf16 pairs at a, sa bytes apart) and B tiles 6-7
** (the pairs of 16 columns at b, ldb uint32 a pair row), n2 pairs (a
** multiple of 16).  C comes from c (ldc floats a row) when bLoad, else
** starts at zero. */
KD_INLINE void KD_FN(kdAmxBlock)(int64_t n2, const void *a, int64_t sa,
                                 const uint32_t *b, int64_t ldb, float *c,
                                 int64_t ldc, int nr, int nt, int bLoad){
  const char *a1 = (const char*)a + 16*sa;
  const int64_t sc = ldc*4;
  int64_t d2;
  if( bLoad ){
    kd_tload(0, c, sc);
    if( nt>1 ) kd_tload(1, c + 16, sc);
    if( nr>1 ){
      kd_tload(2, c + 16*ldc, sc);
      if( nt>1 ) kd_tload(3, c + 16*ldc + 16, sc);
    }
  }else{
    kd_tzero(0); kd_tzero(1); kd_tzero(2); kd_tzero(3);
  }
  for(d2=0; d2<n2; d2+=16){
    kd_tload(4, (const char*)a + 4*d2, sa);
    if( nr>1 ) kd_tload(5, a1 + 4*d2, sa);
    kd_tload(6, b + d2*ldb, ldb*4);
    if( nt>1 ) kd_tload(7, b + d2*ldb + 16, ldb*4);
    kd_tdp(0, 4, 6);
    if( nt>1 ) kd_tdp(1, 4, 7);
    if( nr>1 ){
      kd_tdp(2, 5, 6);
      if( nt>1 ) kd_tdp(3, 5, 7);
    }
  }
  kd_tstore(0, c, sc);
  if( nt>1 ) kd_tstore(1, c + 16, sc);
  if( nr>1 ){
    kd_tstore(2, c + 16*ldc, sc);
    if( nt>1 ) kd_tstore(3, c + 16*ldc + 16, sc);
  }
}

/* Row a[0, kc) as kc2p bf16 pairs, zero past kc: the pair (2i, 2i+1) is
** bf16 elements 2i and 2i+1 of the row, so this is the row rounded to bf16
** in order (kd_storeh16 narrows KD_W lanes). */
KD_INLINE void KD_FN(kdAmxPackA)(const float *a, int64_t kc, int64_t kc2p,
                                 uint32_t *out){
  uint16_t *o = (uint16_t*)(void*)out;
  int64_t i = 0;
  for(; i+KD_W<=kc; i+=KD_W){
    kd_storeh16(o + i, kd_srlh(KD_FN(kdBf16Hi)(kd_loadh(a + i)), 16));
  }
  for(; i<kc; i++) o[i] = attn_bf16(a[i]);
  for(; i<2*kc2p; i++) o[i] = 0;
}

/* Blocks of 32 rows of A by 32 columns of a 64-column panel of B, KD_KC
** rows of B a panel (pairs padded with zeros to a multiple of 16); a block
** at the edge of C goes through aC (its rows and columns past C's zero),
** so no tile reads or writes outside C.  Each element's pairs are added in
** k order onto C, as the other levels do. */
KD_TARGET static void KD_FN(kdGemmBf16)(int64_t m, int64_t n, int64_t k,
                                        const float *A, int64_t lda,
                                        const float *B, int64_t ldb,
                                        float *C, int64_t ldc, int bAccum){
  enum { NB = 128, KC2 = KD_KC/2 };
  uint32_t aPackB[KC2*NB] __attribute__((aligned(64)));
  uint32_t aPackA[32*KC2] __attribute__((aligned(64)));
  float aC[32*32] __attribute__((aligned(64)));
  int64_t i0, j0, p0, i;
  if( m<=0 || n<=0 ) return;
  if( k<=0 ){
    if( !bAccum ){
      for(i0=0; i0<m; i0++) memset(C + i0*ldc, 0, sizeof(float)*(size_t)n);
    }
    return;
  }
  KD_TILE_BEGIN();
  for(j0=0; j0<n; j0+=NB){
    int nc = (int)(n-j0 < NB ? n-j0 : NB);
    for(p0=0; p0<k; p0+=KD_KC){
      int64_t kc = k-p0 < KD_KC ? k-p0 : KD_KC;
      int64_t kc2p = attn_round_up((kc+1)/2, 16);
      int bLoad = bAccum || p0>0;
      KD_FN(kdPackB2)(B + p0*ldb + j0, ldb, kc, kc2p, nc, NB, aPackB);
      for(i0=0; i0<m; i0+=32){
        int mr = (int)(m-i0 < 32 ? m-i0 : 32), nr = mr>16 ? 2 : 1, jj;
        for(i=0; i<16*nr; i++){
          if( i<mr ){
            KD_FN(kdAmxPackA)(A + (i0+i)*lda + p0, kc, kc2p, aPackA + i*KC2);
          }else{
            memset(aPackA + i*KC2, 0, 4*(size_t)kc2p);
          }
        }
        for(jj=0; jj<nc; jj+=32){
          int ncc = nc-jj < 32 ? nc-jj : 32, nt = ncc>16 ? 2 : 1;
          float *c = C + i0*ldc + j0 + jj;
          if( mr==16*nr && ncc==16*nt ){
            KD_FN(kdAmxBlock)(kc2p, aPackA, 4*KC2, aPackB + jj, NB, c, ldc,
                              nr, nt, bLoad);
            continue;
          }
          if( bLoad ){
            memset(aC, 0, sizeof(aC));
            for(i=0; i<mr; i++) memcpy(aC + 32*i, c + i*ldc, 4*(size_t)ncc);
          }
          KD_FN(kdAmxBlock)(kc2p, aPackA, 4*KC2, aPackB + jj, NB, aC, 32,
                            nr, nt, bLoad);
          for(i=0; i<mr; i++) memcpy(c + i*ldc, aC + 32*i, 4*(size_t)ncc);
        }
      }
    }
  }
  KD_TILE_END();
}
#endif /* KD_AMX */

/*
** Flash attention.
*/

/* The state of one block of a call, in scratch (ATTN_FLASH_SCRATCH). */
typedef struct KD_FN(KdFlash) KD_FN(KdFlash);
struct KD_FN(KdFlash) {
  float *aQt;      /* dk × 64: q transposed, rows past nq zero */
  float *aS;       /* ATTN_TILE_K keys × 64 rows: scores, then P (shared) */
  float *aOt;      /* dv × 64: output transposed */
  float *aM;       /* 64: running max per row */
  float *aL;       /* 64: running sum per row */
  float *aA;       /* 64: alpha of this tile */
  float *aTMax;    /* 64: max of this tile */
  int nz;          /* row vectors: ceil(nq/KD_W) */
  int nq;          /* rows */
  uint32_t *aQt2;  /* bf16 calls: ldk/2 × 64 pairs of q (dims 2i, 2i+1) */
  uint32_t *aP2;   /* bf16 calls: ATTN_TILE_K/2 × 64 pairs of P (keys 2i,
                   ** 2i+1), shared */
};

/* Scores of keys [c0, c0+MK) of the tile (in one panel, from lane iLane of
** kp) against row vectors [z0, z0+NZ), over dimensions [d0, d1).  bFirst:
** start from 0, else from S; bMax: take the maxima into aTMax. */
KD_INLINE void KD_FN(kdQkTile)(const int MK, const int NZ,
                               const KD_FN(KdFlash) *f, const float *kp,
                               int iLane, int c0, int z0, int d0, int d1,
                               int bFirst, int bMax){
  kd_v acc[KD_MAX_I][KD_MAX_Z];
  float *s = f->aS + c0*KD_BQ + z0*KD_W;
  int i, z;
#pragma GCC unroll 6
  for(i=0; i<MK; i++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      acc[i][z] = bFirst ? kd_zero() : kd_load(s + i*KD_BQ + z*KD_W);
    }
  }
  KD_FN(kdTile)(MK, NZ, 0, d1-d0, kp + (int64_t)d0*ATTN_PANEL + iLane,
                ATTN_PANEL, 1, f->aQt + (int64_t)d0*KD_BQ + z0*KD_W, KD_BQ,
                kd_first(KD_W), acc);
#pragma GCC unroll 6
  for(i=0; i<MK; i++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++) kd_store(s + i*KD_BQ + z*KD_W, acc[i][z]);
  }
  if( bMax ){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      float *pm = f->aTMax + (z0+z)*KD_W;
      kd_v mx = kd_load(pm);
#pragma GCC unroll 6
      for(i=0; i<MK; i++) mx = kd_max(acc[i][z], mx);
      kd_store(pm, mx);
    }
  }
}

/* Ot columns [j0, j0+MJ) of row vectors [z0, z0+NZ):
** Ot = Ot·alpha (only with bAlpha) + Σ_{c in [cLo, cHi)} V[c][j]·P[c][rows]. */
KD_INLINE void KD_FN(kdPvTile)(const int MJ, const int NZ,
                               const KD_FN(KdFlash) *f, const float *aV,
                               int64_t ldv, int cLo, int cHi, int j0, int z0,
                               int bAlpha){
  kd_v acc[KD_MAX_I][KD_MAX_Z];
  float *ot = f->aOt + (int64_t)j0*KD_BQ + z0*KD_W;
  int i, z;
#pragma GCC unroll 6
  for(i=0; i<MJ; i++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      acc[i][z] = kd_load(ot + i*KD_BQ + z*KD_W);
      if( bAlpha ) acc[i][z] = kd_mul(acc[i][z], kd_load(f->aA + (z0+z)*KD_W));
    }
  }
  KD_FN(kdTile)(MJ, NZ, 0, cHi-cLo, aV + cLo*ldv + j0, ldv, 1,
                f->aS + cLo*KD_BQ + z0*KD_W, KD_BQ, kd_first(KD_W), acc);
#pragma GCC unroll 6
  for(i=0; i<MJ; i++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++) kd_store(ot + i*KD_BQ + z*KD_W, acc[i][z]);
  }
}

/* May some row of the block attend to key position kpos? (conservative:
** the per-row mask follows) */
static inline int KD_FN(kdKeyUseful)(const attn_flash_args *p, int64_t kpos){
  int64_t qLo = p->aQPos[0], qHi = p->aQPos[p->nQuery-1];
  return kpos-qHi<=p->nRight && qLo-kpos<=p->nLeft;
}

/* Step 1: S = K·Qᵀ for keys [cLo, cHi) of the tile at k0. */
KD_INLINE void KD_FN(kdScores)(const attn_flash_args *p,
                               const KD_FN(KdFlash) *f, int64_t k0, int cLo,
                               int cHi, int bMax){
  const int dk = p->nDimK;
  int d0, c;
  for(d0=0; d0<dk; d0+=KD_DC){
    int d1 = dk-d0 < KD_DC ? dk : d0+KD_DC;
    int bLast = d1==dk;
    for(c=cLo; c<cHi; ){
      int64_t kc = k0+c;
      int iLane = (int)(kc%ATTN_PANEL);
      int nLeft = ATTN_PANEL-iLane < cHi-c ? ATTN_PANEL-iLane : cHi-c;
      int mk = nLeft>KD_QK_MK ? (nLeft>=2*KD_QK_MK ? KD_QK_MK
                                 : (nLeft+1)/2) : nLeft;
      const float *kp = p->kPacked + (kc/ATTN_PANEL)*(int64_t)dk*ATTN_PANEL;
      int z0;
      for(z0=0; z0<f->nz; z0+=KD_QK_NZ){
        int nzr = f->nz-z0 < KD_QK_NZ ? f->nz-z0 : KD_QK_NZ;
        switch( mk*8+nzr ){
#define X(MK,NZ) case MK*8+NZ: if( MK<=KD_QK_MK && NZ<=KD_QK_NZ ){ \
          KD_FN(kdQkTile)(MK, NZ, f, kp, iLane, c, z0, d0, d1, d0==0, \
                          bLast && bMax); } break;
          KD_CASES(X)
#undef X
        }
      }
      c += mk;
    }
  }
}

/* The maxima of S rows [c0, c1) for row vectors [z0, z1), folded into
** aTMax (-inf at the start of a tile): four chains, as kd_max's latency
** bounds one. */
KD_INLINE void KD_FN(kdTileMax)(const KD_FN(KdFlash) *f, int c0, int c1,
                                int z0, int z1){
  int z, c;
  for(z=z0; z<z1; z++){
    const float *s = f->aS + z*KD_W;
    kd_v m0 = kd_load(f->aTMax + z*KD_W), m1 = kd_set1(-INFINITY);
    kd_v m2 = m1, m3 = m1;
    for(c=c0; c+4<=c1; c+=4){
      m0 = kd_max(kd_load(s + c*KD_BQ), m0);
      m1 = kd_max(kd_load(s + (c+1)*KD_BQ), m1);
      m2 = kd_max(kd_load(s + (c+2)*KD_BQ), m2);
      m3 = kd_max(kd_load(s + (c+3)*KD_BQ), m3);
    }
    for(; c<c1; c++) m0 = kd_max(kd_load(s + c*KD_BQ), m0);
    kd_store(f->aTMax + z*KD_W, kd_max(kd_max(m0, m1), kd_max(m2, m3)));
  }
}

/* Step 2: softcap, ALiBi, the keys' bias and the mask of keys [cLo, cHi),
** then the maxima.
** eTile says whether the tile needs the per-pair mask.  The rows allowed
** to see each key are found first (as keys ascend, so do their bounds);
** then each row vector walks the keys with its maximum in a register.
** With nothing to apply (the AMX path takes every tile's maxima here) the
** scores are only read. */
KD_INLINE void KD_FN(kdTransform)(const attn_flash_args *p,
                                  const KD_FN(KdFlash) *f, int64_t k0,
                                  int cLo, int cHi, int eTile){
  const int nq = p->nQuery, bCap = p->cap.bOn;
  const int bMixed = eTile==ATTN_TILE_MIXED;
  const float rSlope = p->rSlope;
  const float *aBias = p->aKBias ? p->aKBias + k0 : 0;
  const int bStore = bCap || rSlope!=0.0f || aBias || bMixed;
  const int64_t *aQPos = p->aQPos, *aKPos = p->aKPos + k0;
  float *aQf = f->aTMax + KD_BQ;   /* ALiBi: (qpos − base) as floats */
  float *aRf = aQf + KD_BQ;        /*        the row's reference distance */
  int aLo[ATTN_TILE_K], aHi[ATTN_TILE_K];
  int64_t base = aQPos[0];
  int bFloat = 0, rLo = 0, rHi = 0, c, z, r;
  if( rSlope!=0.0f ){
    /* Distances as floats are exact when every position of the block and
    ** of these keys is within 2^24 of the block's first (and so is each
    ** row's reference): then the vector path, else one score at a time in
    ** int64.  Both give the same bits. */
    int64_t kLo = aKPos[cLo], kHi = aKPos[cHi-1];
    const int64_t lim = (int64_t)1<<24;
    bFloat = aQPos[nq-1]-base<lim && kHi-base<lim && base-kLo<lim;
    for(r=0; bFloat && r<nq; r++) bFloat = p->aAlibiRef[r]<lim;
    if( bFloat ){
      for(r=0; r<f->nz*KD_W; r++){
        int rr = r<nq ? r : nq-1;
        aQf[r] = (float)(aQPos[rr]-base);
        aRf[r] = (float)p->aAlibiRef[rr];
      }
    }
  }
  for(c=cLo; bMixed && c<cHi; c++){
    int64_t kpos = aKPos[c];
    /* the rows allowed to see this key: [rLo, rHi), the rows with kpos −
    ** nRight <= qpos <= kpos + nLeft */
    while( rLo<nq && kpos-aQPos[rLo]>p->nRight ) rLo++;
    if( rHi<rLo ) rHi = rLo;
    while( rHi<nq && aQPos[rHi]-kpos<=p->nLeft ) rHi++;
    aLo[c] = rLo;
    aHi[c] = rHi;
  }
  if( !bStore ) KD_FN(kdTileMax)(f, cLo, cHi, 0, f->nz);
  for(z=0; bStore && z<f->nz; z++){
    kd_v mx = kd_set1(-INFINITY), qf = kd_zero(), rf = kd_zero();
    float *s = f->aS + z*KD_W;
    if( bFloat ){
      qf = kd_load(aQf + z*KD_W);
      rf = kd_load(aRf + z*KD_W);
    }
    for(c=cLo; c<cHi; c++){
      kd_v x = kd_load(s + c*KD_BQ);
      if( bCap ) x = KD_FN(kdSoftcap)(x, &p->cap);
      if( rSlope!=0.0f ){
        kd_v dist;
        if( bFloat ){
          kd_v kf = kd_set1((float)(aKPos[c]-base));
          dist = kd_sub(kd_abs(kd_sub(qf, kf)), rf);
        }else{
          float aD[KD_W];
          int l;
          for(l=0; l<KD_W; l++){
            int rr = z*KD_W+l < nq ? z*KD_W+l : nq-1;
            int64_t kpos = aKPos[c];
            int64_t d = aQPos[rr]>kpos ? aQPos[rr]-kpos : kpos-aQPos[rr];
            aD[l] = (float)(d - p->aAlibiRef[rr]);
          }
          dist = kd_load(aD);
        }
        x = kd_fnma(kd_set1(rSlope), dist, x);
      }
      if( aBias ) x = kd_add(x, kd_set1(aBias[c]));
      if( bMixed ){
        x = kd_select(kd_range(aLo[c] - z*KD_W, aHi[c] - z*KD_W), x,
                      kd_set1(-INFINITY));
      }
      if( bStore ) kd_store(s + c*KD_BQ, x);
      mx = kd_max(x, mx);
    }
    kd_store(f->aTMax + z*KD_W, mx);
  }
}

/* A rescale factor exp(x), x <= 0 (alpha, and the sink's).  With bLazy
** (the bf16 path, whose reference m may be kept up to KD_LAZY_M below the
** true max, kdRowMax) exp(x/2)², so it reaches down to x = −174 (a
** denormal below −87) where kdExp gives 0 from −87: the lower reference
** never flushes a factor the true max would not. */
KD_INLINE kd_v KD_FN(kdRescale)(const int bLazy, kd_v x){
  kd_v h;
  if( !bLazy ) return KD_FN(kdExp)(x);
  h = KD_FN(kdExp)(kd_mul(x, kd_set1(0.5f)));
  return kd_mul(h, h);
}

/* Row vector z of step 3, before its keys: m' = max(m, tile max) and
** alpha = exp(m − m') stored; returns what P subtracts (m', or 0 for rows
** that have seen no allowed key yet, not -inf).  *pAl: alpha.  bLazy (the
** bf16 path): a row keeps its m while the tile's max is at most m +
** KD_LAZY_M (alpha = 1 exactly, so kdValuesBf16 leaves Ot as it is); its
** P are then at most e^KD_LAZY_M (2981), and o = Ot/l and lse = m + log(l)
** the same quantities from another reference. */
#define KD_LAZY_M 8.0f
KD_INLINE kd_v KD_FN(kdRowMax)(const int bLazy, const KD_FN(KdFlash) *f,
                               int z, kd_v *pAl){
  kd_v mOld = kd_load(f->aM + z*KD_W);
  kd_v mNew = kd_max(kd_load(f->aTMax + z*KD_W), mOld), mSub;
  if( bLazy ){
    /* mOld = -inf keeps only a tile with no allowed key (mNew = -inf) */
    mNew = kd_select(kd_le(mNew, kd_add(mOld, kd_set1(KD_LAZY_M))), mOld,
                     mNew);
  }
  mSub = kd_select(kd_eq(mNew, kd_set1(-INFINITY)), kd_zero(), mNew);
  *pAl = KD_FN(kdRescale)(bLazy, kd_sub(mOld, mSub));
  kd_store(f->aM + z*KD_W, mNew);
  kd_store(f->aA + z*KD_W, *pAl);
  return mSub;
}

/* Step 3: m, alpha, P = exp(S − m), l, for keys [cLo, cHi). */
KD_INLINE void KD_FN(kdSoftmax)(const KD_FN(KdFlash) *f, int cLo, int cHi){
  int z, c;
  for(z=0; z<f->nz; z++){
    kd_v al, mSub = KD_FN(kdRowMax)(0, f, z, &al), sum = kd_zero();
    float *s = f->aS + cLo*KD_BQ + z*KD_W;
    for(c=cLo; c<cHi; c++, s+=KD_BQ){
      kd_v e = KD_FN(kdExp)(kd_sub(kd_load(s), mSub));
      kd_store(s, e);
      sum = kd_add(sum, e);
    }
    kd_store(f->aL + z*KD_W, kd_fma(kd_load(f->aL + z*KD_W), al, sum));
  }
}

/* Step 4: Ot = Ot·alpha + Vᵀ·P for keys [cLo, cHi) of the tile at v, in
** passes of KD_PV_KC keys (alpha in the first): each pass reads its part of
** P once per column group, so a level whose L1 cannot hold all of P along
** with the rows of V makes the part smaller.  Ot goes out as float32 and
** comes back exactly, and each sum takes its keys in the same order: the
** same bits for any KD_PV_KC. */
KD_INLINE void KD_FN(kdValues)(const attn_flash_args *p,
                               const KD_FN(KdFlash) *f, const float *aV,
                               int cLo, int cHi){
  const int dv = p->nDimV;
  int j0, z0, c0;
  for(c0=cLo; c0<cHi; c0+=KD_PV_KC){
    int c1 = cHi-c0 < KD_PV_KC ? cHi : c0+KD_PV_KC;
    for(j0=0; j0<dv; ){
      int mj = dv-j0 < KD_PV_MJ ? dv-j0 : KD_PV_MJ;
      for(z0=0; z0<f->nz; z0+=KD_PV_NZ){
        int nzr = f->nz-z0 < KD_PV_NZ ? f->nz-z0 : KD_PV_NZ;
        switch( mj*8+nzr ){
#define X(MJ,NZ) case MJ*8+NZ: if( MJ<=KD_PV_MJ && NZ<=KD_PV_NZ ){ \
          KD_FN(kdPvTile)(MJ, NZ, f, aV, p->ldv, c0, c1, j0, z0, c0==cLo); } \
          break;
          KD_CASES(X)
#undef X
        }
      }
      j0 += mj;
    }
  }
}

/*
** bfloat16: the same steps on bf16 pairs.  Q·Kᵀ and Vᵀ·P are the register
** tile of kdTile with a dot product of bf16 pairs for the FMA (a level with
** VDPBF16PS defines KD_DOT2; otherwise two float32 FMAs of the unpacked
** halves, whose products are exact), or AMX tiles (KD_AMX, below).  The
** softmax is the float32 one; P is rounded to bf16 pairs for Vᵀ·P.
*/
/* Step 3 of a bf16 call: kdSoftmax with P written straight to bf16 pairs
** of keys (2i, 2i+1), 0 for the keys outside [cLo, cHi); the same sums in
** the same order.  AMX tiles read whole groups of 16 pairs and of 16 rows. */
KD_INLINE void KD_FN(kdSoftmaxBf16)(const KD_FN(KdFlash) *f, int cLo,
                                    int cHi){
#ifdef KD_AMX
  const int c2Lo = cLo/32*16, c2Hi = (int)attn_round_up((cHi+1)/2, 16);
  const int nzP = (int)(attn_round_up(f->nq, 16) + KD_W-1)/KD_W;
#else
  const int c2Lo = cLo/2, c2Hi = (cHi+1)/2, nzP = f->nz;
#endif
  /* pairs [c2In0, c2In1) have both keys in [cLo, cHi): no checks */
  const int c2In0 = (cLo+1)/2, c2In1 = cHi/2 > c2In0 ? cHi/2 : c2In0;
  int z, c2;
  for(z=0; z<f->nz; z++){
    kd_v al, mSub = KD_FN(kdRowMax)(1, f, z, &al), sum = kd_zero();
    const float *s = f->aS + z*KD_W;
    uint32_t *p2 = f->aP2 + z*KD_W;
    for(c2=c2Lo; c2<c2Hi; c2++){
      const int c = 2*c2;
      kd_v e0 = kd_zero(), e1 = kd_zero();
      if( c2>=c2In0 && c2<c2In1 ){
        e0 = KD_FN(kdExpP)(kd_sub(kd_load(s + c*KD_BQ), mSub));
        e1 = KD_FN(kdExpP)(kd_sub(kd_load(s + (c+1)*KD_BQ), mSub));
        sum = kd_add(kd_add(sum, e0), e1);
      }else{
        if( c>=cLo && c<cHi ){
          e0 = KD_FN(kdExpP)(kd_sub(kd_load(s + c*KD_BQ), mSub));
          sum = kd_add(sum, e0);
        }
        if( c+1>=cLo && c+1<cHi ){
          e1 = KD_FN(kdExpP)(kd_sub(kd_load(s + (c+1)*KD_BQ), mSub));
          sum = kd_add(sum, e1);
        }
      }
      kd_storeh(p2 + c2*KD_BQ, KD_PACK2P(e0, e1));
    }
    kd_store(f->aL + z*KD_W, kd_fma(kd_load(f->aL + z*KD_W), al, sum));
  }
  for(; z<nzP; z++){
    for(c2=c2Lo; c2<c2Hi; c2++){
      kd_storeh(f->aP2 + c2*KD_BQ + z*KD_W, kd_set1h(0));
    }
  }
}

#ifndef KD_AMX
/* Scores of keys [c0, c0+MK) of the tile at k0 against row vectors
** [z0, z0+NZ): every dimension in one pass (pairs of them). */
KD_INLINE void KD_FN(kdQkTileBf16)(const int MK, const int NZ,
                                   const attn_flash_args *p,
                                   const KD_FN(KdFlash) *f, int64_t k0,
                                   int c0, int z0, int bMax){
  kd_v acc[KD_MAX_I][KD_MAX_Z];
  const uint32_t *k = (const uint32_t*)(p->kBf16 + (k0+c0)*p->ldk);
  float *s = f->aS + c0*KD_BQ + z0*KD_W;
  int i, z;
#pragma GCC unroll 6
  for(i=0; i<MK; i++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++) acc[i][z] = kd_zero();
  }
  KD_FN(kdTile2)(MK, NZ, p->ldk/2, k, 1, p->ldk/2, f->aQt2 + z0*KD_W, KD_BQ,
                 acc);
#pragma GCC unroll 6
  for(i=0; i<MK; i++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++) kd_store(s + i*KD_BQ + z*KD_W, acc[i][z]);
  }
  if( bMax ){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      float *pm = f->aTMax + (z0+z)*KD_W;
      kd_v mx = kd_load(pm);
#pragma GCC unroll 6
      for(i=0; i<MK; i++) mx = kd_max(acc[i][z], mx);
      kd_store(pm, mx);
    }
  }
}

/* Returns bMax: whether the maxima were taken. */
KD_INLINE int KD_FN(kdScoresBf16)(const attn_flash_args *p,
                                  const KD_FN(KdFlash) *f, int64_t k0,
                                  int cLo, int cHi, int bMax){
  int c, z0;
  for(c=cLo; c<cHi; ){
    int mk = cHi-c < KD_QK_MK ? cHi-c : KD_QK_MK;
    for(z0=0; z0<f->nz; z0+=KD_QK_NZ){
      int nzr = f->nz-z0 < KD_QK_NZ ? f->nz-z0 : KD_QK_NZ;
      switch( mk*8+nzr ){
#define X(MK,NZ) case MK*8+NZ: if( MK<=KD_QK_MK && NZ<=KD_QK_NZ ){ \
        KD_FN(kdQkTileBf16)(MK, NZ, p, f, k0, c, z0, bMax); } break;
        KD_CASES(X)
#undef X
      }
    }
    c += mk;
  }
  return bMax;
}

/* Ot columns [j0, j0+MJ) of row vectors [z0, z0+NZ): Ot·alpha + Vᵀ·P over
** the key pairs [c2Lo, c2Hi) of the tile at k0. */
KD_INLINE void KD_FN(kdPvTileBf16)(const int MJ, const int NZ,
                                   const attn_flash_args *p,
                                   const KD_FN(KdFlash) *f, int64_t k0,
                                   int c2Lo, int c2Hi, int j0, int z0){
  kd_v acc[KD_MAX_I][KD_MAX_Z];
  float *ot = f->aOt + (int64_t)j0*KD_BQ + z0*KD_W;
  int i, z;
#pragma GCC unroll 6
  for(i=0; i<MJ; i++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++){
      acc[i][z] = kd_mul(kd_load(ot + i*KD_BQ + z*KD_W),
                         kd_load(f->aA + (z0+z)*KD_W));
    }
  }
  KD_FN(kdTile2)(MJ, NZ, c2Hi-c2Lo,
                 (const uint32_t*)(p->vtBf16 + j0*p->ldvt + k0) + c2Lo, 1,
                 p->ldvt/2, f->aP2 + c2Lo*KD_BQ + z0*KD_W, KD_BQ, acc);
#pragma GCC unroll 6
  for(i=0; i<MJ; i++){
#pragma GCC unroll 4
    for(z=0; z<NZ; z++) kd_store(ot + i*KD_BQ + z*KD_W, acc[i][z]);
  }
}

KD_INLINE void KD_FN(kdValuesBf16)(const attn_flash_args *p,
                                   const KD_FN(KdFlash) *f, int64_t k0,
                                   int cLo, int cHi){
  const int dv = p->nDimV;
  int j0, z0;
  for(j0=0; j0<dv; ){
    int mj = dv-j0 < KD_PV_MJ ? dv-j0 : KD_PV_MJ;
    for(z0=0; z0<f->nz; z0+=KD_PV_NZ){
      int nzr = f->nz-z0 < KD_PV_NZ ? f->nz-z0 : KD_PV_NZ;
      switch( mj*8+nzr ){
#define X(MJ,NZ) case MJ*8+NZ: if( MJ<=KD_PV_MJ && NZ<=KD_PV_NZ ){ \
        KD_FN(kdPvTileBf16)(MJ, NZ, p, f, k0, cLo/2, (cHi+1)/2, j0, z0); } \
        break;
        KD_CASES(X)
#undef X
      }
    }
    j0 += mj;
  }
}
#else /* KD_AMX */
/*
** The bf16 products on AMX tiles: a level defines KD_AMX and the tile
** operations kd_tzero(t), kd_tload(t, p, bytes), kd_tstore(t, p, bytes)
** and kd_tdp(c, a, b) (C += A·B, TDPBF16PS) on tiles 0..7 configured as
** 16 rows of 64 bytes by KD_TILE_BEGIN() (and KD_TILE_END() after a call).
** kd_storeh16(p, h) stores the low 16 bits of h's lanes at p (KD_W uint16,
** any alignment), for packing rows to bf16.
** Tiles 0-3 hold C (float32, 16 × 16), 4-5 A (16 rows × 32 bf16), 6-7 B
** (16 rows × 16 bf16 pairs).  S = K·Qᵀ takes A from K's rows and B from
** Qt's pairs, Ot = Vᵀ·P A from V's transposed rows and B from P's pairs:
** 32 × 32 outputs per pass of 4 C tiles, 16-key (16-column) groups at the
** edges with 2; the maxima are taken from each 32 × 32 block of S as it is
** stored (kdTileMax), or after the transform when there is one.  The
** projections' GEMM (kdGemmBf16, above) takes A from A's rows rounded to
** bf16 and B from B's column pairs (kdPackB2): 32 × 32 outputs a block,
** A packed once per 128 columns of B.
*/

/* S rows [c0, c0 + 16·nk) (nk = 1 or 2) by Qt rows [r0, r0 + 16·nr). */
KD_INLINE void KD_FN(kdAmxScores)(const attn_flash_args *p,
                                  const KD_FN(KdFlash) *f, int64_t k0,
                                  int c0, int nk, int r0, int nr){
  KD_FN(kdAmxBlock)(p->ldk/2, p->kBf16 + (k0+c0)*p->ldk, p->ldk*2,
                    f->aQt2 + r0, KD_BQ, f->aS + c0*KD_BQ + r0, KD_BQ,
                    nk, nr, 0);
}

/* Returns bMax: the maxima are taken here when asked, else left to
** kdTransform. */
KD_INLINE int KD_FN(kdScoresBf16)(const attn_flash_args *p,
                                  const KD_FN(KdFlash) *f, int64_t k0,
                                  int cLo, int cHi, int bMax){
  int nRow = (int)attn_round_up(f->nq, 16), c0, r0;
  for(c0=cLo/16*16; c0<cHi; c0+=32){
    int nk = c0+16<cHi ? 2 : 1;
    for(r0=0; r0<nRow; r0+=32){
      int nr = r0+16<nRow ? 2 : 1, z1 = (r0 + 16*nr)/KD_W;
      KD_FN(kdAmxScores)(p, f, k0, c0, nk, r0, nr);
      if( bMax ){
        /* as the scores leave the tiles (in L1) */
        KD_FN(kdTileMax)(f, c0>cLo ? c0 : cLo, c0+16*nk<cHi ? c0+16*nk : cHi,
                         r0/KD_W, z1<f->nz ? z1 : f->nz);
      }
    }
  }
  return bMax;
}

/* Ot rows [j0, j0 + 16·nj) by rows [r0, r0 + 16·nr), adding the key pairs
** [c2Lo, c2Hi) (multiples of 16) of the tile at k0. */
KD_INLINE void KD_FN(kdAmxValues)(const attn_flash_args *p,
                                  const KD_FN(KdFlash) *f, int64_t k0,
                                  int c2Lo, int c2Hi, int j0, int nj, int r0,
                                  int nr){
  KD_FN(kdAmxBlock)(c2Hi - c2Lo, p->vtBf16 + j0*p->ldvt + k0 + 2*c2Lo,
                    p->ldvt*2, f->aP2 + c2Lo*KD_BQ + r0, KD_BQ,
                    f->aOt + (int64_t)j0*KD_BQ + r0, KD_BQ, nj, nr, 1);
}

KD_INLINE void KD_FN(kdValuesBf16)(const attn_flash_args *p,
                                   const KD_FN(KdFlash) *f, int64_t k0,
                                   int cLo, int cHi){
  const int nRowV = (int)attn_round_up(p->nDimV, ATTN_BF16_VROW_PAD);
  const int nRow = (int)attn_round_up(f->nq, 16);
  const int c2Lo = cLo/32*16, c2Hi = (int)attn_round_up((cHi+1)/2, 16);
  int j, z, j0, r0;
  /* Ot·alpha in place first: the tiles accumulate onto Ot as it is (a row
  ** vector whose maxima did not move has alpha = 1: nothing to do) */
  for(z=0; z<f->nz; z++){
    kd_v al = kd_load(f->aA + z*KD_W);
    if( kd_all(kd_eq(al, kd_set1(1.0f))) ) continue;
    for(j=0; j<p->nDimV; j++){
      float *ot = f->aOt + (int64_t)j*KD_BQ + z*KD_W;
      kd_store(ot, kd_mul(kd_load(ot), al));
    }
  }
  for(j0=0; j0<nRowV; j0+=32){
    for(r0=0; r0<nRow; r0+=32){
      KD_FN(kdAmxValues)(p, f, k0, c2Lo, c2Hi, j0, j0+16<nRowV ? 2 : 1,
                         r0, r0+16<nRow ? 2 : 1);
    }
  }
}
#endif /* KD_AMX */

/* Block b of a call: its rows as a call of their own (a view of p), and
** its state in scratch. */
KD_INLINE void KD_FN(kdBlockStart)(const int bBf16, const attn_flash_args *p,
                                   int b, attn_flash_args *pB,
                                   KD_FN(KdFlash) *f, float *aScratch,
                                   float *aS){
  const int dk = p->nDimK, dv = p->nDimV;
  int r, d, z, nq;
  *pB = *p;
  pB->nQuery = nq = p->nQuery-b*KD_BQ < KD_BQ ? p->nQuery-b*KD_BQ : KD_BQ;
  pB->q = p->q + (int64_t)b*KD_BQ*p->ldq;
  pB->aQPos = p->aQPos + b*KD_BQ;
  if( p->aAlibiRef ) pB->aAlibiRef = p->aAlibiRef + b*KD_BQ;
  pB->o = p->o + b*p->ldoBlock;
  pB->aLse = p->aLse + b*p->ldLseBlock;
  f->nz = (nq + KD_W-1)/KD_W;
  f->nq = nq;
  f->aS = aS;
  f->aP2 = (uint32_t*)(aS + KD_BQ*ATTN_TILE_K);
  f->aQt = aScratch;
  f->aQt2 = (uint32_t*)aScratch;
  f->aOt = f->aQt + (int64_t)KD_BQ*(dk + ATTN_BF16_DIM_PAD/2);
  f->aM = f->aOt + (int64_t)KD_BQ*(dv + ATTN_BF16_VROW_PAD);
  f->aL = f->aM + KD_BQ;
  f->aA = f->aL + KD_BQ;
  f->aTMax = f->aA + KD_BQ;          /* then 2 × KD_BQ floats for ALiBi */
  /* Qt (or its bf16 pairs, every row of 64 and the padded dimensions), zero
  ** past the last row; Ot = 0, m = -inf, l = 0.  Qt row by row of q (read
  ** in order, written down a column). */
  if( bBf16 ){
    const int n2 = (int)(p->ldk/2);
    for(r=0; r<nq; r++){
      const float *q = pB->q + r*p->ldq;
      for(d=0; d<2*n2; d+=2){
        f->aQt2[(int64_t)(d/2)*KD_BQ + r] = (d<dk ? attn_bf16(q[d]) : 0)
            | (d+1<dk ? (uint32_t)attn_bf16(q[d+1]) << 16 : 0);
      }
    }
    for(d=0; d<n2; d++){
      for(r=nq; r<KD_BQ; r++) f->aQt2[(int64_t)d*KD_BQ + r] = 0;
    }
  }else{
    for(r=0; r<nq; r++){
      const float *q = pB->q + r*p->ldq;
      for(d=0; d<dk; d++) f->aQt[(int64_t)d*KD_BQ + r] = q[d];
    }
    for(d=0; d<dk; d++){
      for(r=nq; r<f->nz*KD_W; r++) f->aQt[(int64_t)d*KD_BQ + r] = 0.0f;
    }
  }
  for(d=0; d<(bBf16 ? attn_round_up(dv, ATTN_BF16_VROW_PAD) : dv); d++){
    for(z=0; z<(bBf16 ? KD_BQ/KD_W : f->nz); z++){
      kd_store(f->aOt + (int64_t)d*KD_BQ + z*KD_W, kd_zero());
    }
  }
  for(z=0; z<f->nz; z++){
    kd_store(f->aM + z*KD_W, kd_set1(-INFINITY));
    kd_store(f->aL + z*KD_W, kd_zero());
  }
}

/* One tile of keys for one block; returns 0 when this and every later tile
** is masked for the block. */
KD_INLINE int KD_FN(kdBlockTile)(const int bBf16, const attn_flash_args *p,
                                 const KD_FN(KdFlash) *f, int64_t k0){
  const int bTransform = p->cap.bOn || p->rSlope!=0.0f || p->aKBias!=0;
  int nc = (int)(p->nKey-k0 < ATTN_TILE_K ? p->nKey-k0 : ATTN_TILE_K);
  int eTile = attn_tile_class(p, k0, k0+nc);
  int cLo = 0, cHi = nc, z;
  if( eTile==ATTN_TILE_STOP ) return 0;
  if( eTile==ATTN_TILE_SKIP ) return 1;
  if( eTile==ATTN_TILE_MIXED ){
    while( cHi>cLo && !KD_FN(kdKeyUseful)(p, p->aKPos[k0+cHi-1]) ) cHi--;
    while( cLo<cHi && !KD_FN(kdKeyUseful)(p, p->aKPos[k0+cLo]) ) cLo++;
    if( cLo>=cHi ) return 1;
  }
  for(z=0; z<f->nz; z++) kd_store(f->aTMax + z*KD_W, kd_set1(-INFINITY));
  if( bBf16 ){
    int bMax = !bTransform && eTile!=ATTN_TILE_MIXED;
    if( !KD_FN(kdScoresBf16)(p, f, k0, cLo, cHi, bMax) ){
      KD_FN(kdTransform)(p, f, k0, cLo, cHi, eTile);
    }
    KD_FN(kdSoftmaxBf16)(f, cLo, cHi);
    KD_FN(kdValuesBf16)(p, f, k0, cLo, cHi);
  }else if( bTransform || eTile==ATTN_TILE_MIXED ){
    KD_FN(kdScores)(p, f, k0, cLo, cHi, 0);
    KD_FN(kdTransform)(p, f, k0, cLo, cHi, eTile);
    KD_FN(kdSoftmax)(f, cLo, cHi);
    KD_FN(kdValues)(p, f, p->v + k0*p->ldv, cLo, cHi);
  }else{
    KD_FN(kdScores)(p, f, k0, cLo, cHi, 1);
    KD_FN(kdSoftmax)(f, cLo, cHi);
    KD_FN(kdValues)(p, f, p->v + k0*p->ldv, cLo, cHi);
  }
  return 1;
}

/* The sink of a block's rows, after its last tile (bSink): per row vector
** m' = max(m, sink), alpha = exp(m − m'), Ot·alpha and the denominator
** l·alpha + exp(sink − m') in aA (kdBlockEnd divides by it); m and l stay
** the keys' own, for the lse.  A row with no allowed key (l = 0) keeps
** l. */
KD_INLINE void KD_FN(kdSink)(const int bBf16, const attn_flash_args *pB,
                             const KD_FN(KdFlash) *f){
  const int dv = pB->nDimV;
  float aSink[KD_BQ];
  int r, z, d;
  for(r=0; r<f->nz*KD_W; r++){
    int rr = r<f->nq ? r : f->nq-1;
    double ref = pB->rSlope!=0.0f ? (double)pB->aAlibiRef[rr] : 0.0;
    aSink[r] = (float)((double)pB->rSink + (double)pB->rSlope*ref);
  }
  for(z=0; z<f->nz; z++){
    kd_v m = kd_load(f->aM + z*KD_W), l = kd_load(f->aL + z*KD_W);
    kd_v sk = kd_load(aSink + z*KD_W);
    kd_v mNew = kd_max(sk, m);
    kd_m live = kd_lt(kd_zero(), l);        /* l > 0 (NaN: not live) */
    kd_v al = KD_FN(kdRescale)(bBf16, kd_sub(m, mNew));
    kd_v es = KD_FN(kdExp)(kd_sub(sk, mNew));
    kd_store(f->aA + z*KD_W, kd_select(live, kd_fma(l, al, es), l));
    al = kd_select(live, al, kd_set1(1.0f));
    for(d=0; d<dv; d++){
      float *ot = f->aOt + (int64_t)d*KD_BQ + z*KD_W;
      kd_store(ot, kd_mul(kd_load(ot), al));
    }
  }
}

/* o = Ot/l (with a sink, over kdSink's denominator), lse = m + log(l)
** for the rows of one block. */
KD_INLINE void KD_FN(kdBlockEnd)(const attn_flash_args *pB,
                                 const KD_FN(KdFlash) *f){
  const int dv = pB->nDimV;
  int r, d;
  for(r=0; r<pB->nQuery; r++){
    float *o = pB->o + r*pB->ldo;
    float l = f->aL[r];
    if( l>0.0f ){
      float inv = 1.0f/(pB->bSink ? f->aA[r] : l);
      for(d=0; d<dv; d++) o[d] = f->aOt[(int64_t)d*KD_BQ + r]*inv;
      pB->aLse[r*pB->ldLse] = f->aM[r] + logf(l);
    }else{
      memset(o, 0, sizeof(float)*(size_t)dv);
      pB->aLse[r*pB->ldLse] = l==0.0f ? -INFINITY : NAN;
    }
  }
}

/* The blocks of a call take each tile of keys in turn, so a tile is read
** from memory once for all of them (K and V of long sequences outgrow the
** caches); each block sees the same tiles in the same order as it would
** alone. */
KD_INLINE void KD_FN(kdFlashCall)(const int bBf16, const attn_flash_args *p){
  attn_flash_args aB[ATTN_FLASH_BLOCKS];
  KD_FN(KdFlash) aF[ATTN_FLASH_BLOCKS];
  int aLive[ATTN_FLASH_BLOCKS];
  const int64_t nPer = ATTN_FLASH_SCRATCH_BLOCK(p->nDimK, p->nDimV);
  float *aS = p->aScratch;
  int nBlock = (p->nQuery + KD_BQ-1)/KD_BQ, nLive = nBlock, b;
  int64_t k0;
  for(b=0; b<nBlock; b++){
    KD_FN(kdBlockStart)(bBf16, p, b, &aB[b], &aF[b],
                        aS + ATTN_FLASH_SCRATCH_S + b*nPer, aS);
    aLive[b] = 1;
  }
  for(k0=0; k0<p->nKey && nLive>0; k0+=ATTN_TILE_K){
    for(b=0; b<nBlock; b++){
      if( aLive[b] && !KD_FN(kdBlockTile)(bBf16, &aB[b], &aF[b], k0) ){
        aLive[b] = 0;
        nLive--;
      }
    }
  }
  for(b=0; b<nBlock; b++){
    if( p->bSink ) KD_FN(kdSink)(bBf16, &aB[b], &aF[b]);
    KD_FN(kdBlockEnd)(&aB[b], &aF[b]);
  }
}

#ifndef KD_BF16_ONLY
KD_TARGET static void KD_FN(kdFlash)(const attn_flash_args *p){
  KD_FN(kdFlashCall)(0, p);
}
#endif /* !KD_BF16_ONLY */

KD_TARGET static void KD_FN(kdFlashBf16)(const attn_flash_args *p){
#ifdef KD_AMX
  KD_TILE_BEGIN();
  KD_FN(kdFlashCall)(1, p);
  KD_TILE_END();
#else
  KD_FN(kdFlashCall)(1, p);
#endif
}

#ifndef KD_BF16_ONLY
/*
** exp of an array, and copy-and-check.
*/
KD_TARGET static void KD_FN(kdExpArray)(float *a, int64_t n, int bP){
  int64_t i;
  for(i=0; i+KD_W<=n; i+=KD_W){
    kd_v x = kd_load(a+i);
    kd_store(a+i, bP ? KD_FN(kdExpP)(x) : KD_FN(kdExp)(x));
  }
  if( i<n ){
    kd_m m = kd_first((int)(n-i));
    kd_v x = kd_loadm(a+i, m);
    kd_storem(a+i, m, bP ? KD_FN(kdExpP)(x) : KD_FN(kdExp)(x));
  }
}

/* dst[i] = src[i] rounded to bfloat16 (as attn_bf16), as a float, for
** i < n; dst may be src. */
KD_TARGET static void KD_FN(kdRoundBf16)(float *dst, const float *src,
                                         int64_t n){
  int64_t i;
  for(i=0; i+KD_W<=n; i+=KD_W){
    kd_storeh(dst+i, kd_andh(KD_FN(kdBf16Hi)(kd_loadh(src+i)),
                             kd_set1h(0xffff0000u)));
  }
  for(; i<n; i++) dst[i] = attn_bf16_f32(attn_bf16(src[i]));
}

/* Is each lane finite (|x| <= FLT_MAX; NaN compares false)? */
KD_INLINE kd_m KD_FN(kdFinite)(kd_v x){
  return kd_le(kd_abs(x), kd_set1(3.40282347e38f));
}

KD_TARGET static int KD_FN(kdCopyNonFinite)(float *dst, const void *src,
                                            int64_t n){
  const char *z = (const char*)src;
  kd_m good = kd_first(KD_W);
  int64_t i = 0;
  for(; i+4*KD_W<=n; i+=4*KD_W){
    kd_v x0 = kd_load((const float*)(z + 4*i));
    kd_v x1 = kd_load((const float*)(z + 4*i + 4*KD_W));
    kd_v x2 = kd_load((const float*)(z + 4*i + 8*KD_W));
    kd_v x3 = kd_load((const float*)(z + 4*i + 12*KD_W));
    if( dst ){
      kd_store(dst + i, x0);
      kd_store(dst + i + KD_W, x1);
      kd_store(dst + i + 2*KD_W, x2);
      kd_store(dst + i + 3*KD_W, x3);
    }
    good = kd_andm(good, kd_andm(
        kd_andm(KD_FN(kdFinite)(x0), KD_FN(kdFinite)(x1)),
        kd_andm(KD_FN(kdFinite)(x2), KD_FN(kdFinite)(x3))));
  }
  for(; i<n; i+=KD_W){
    kd_m m = kd_first((int)(n-i < KD_W ? n-i : KD_W));
    kd_v x = kd_loadm((const float*)(z + 4*i), m);   /* 0 past the end */
    if( dst ) kd_storem(dst + i, m, x);
    good = kd_andm(good, KD_FN(kdFinite)(x));
  }
  return !kd_all(good);
}

/*
** Widening float16 and bfloat16 to float32 (the decoder of half BLOBs,
** vector.c), exactly.  bfloat16 is its bits shifted up 16.  float16 is
** KD_F16 where the level has it, else Giesen's rebias: the exponent and
** mantissa bits shifted up 13 plus 112 in the exponent (127 − 15) give a
** normal x; a zero or denormal (exponent bits 0, so the result is below
** 2^-14) gets one more exponent step, 2^-14·(1 + m/1024), and loses 2^-14
** by one exact subtraction: m·2^-24, a normal float32, so no denormal is
** read or made and the FPU's flush modes do not matter.  An Inf or NaN
** half becomes a float of magnitude 65536 or more (the rebias) or Inf or
** NaN (KD_F16): every finite float16 is below 65536, so one compare finds
** them both ways.
*/
KD_INLINE kd_v KD_FN(kdHalf)(const unsigned char *p, int bF16){
  kd_vh h;
  kd_v x, xDen;
  const kd_v vMin = kd_set1(6.103515625e-05f);            /* 2^-14 */
#ifdef KD_F16
  if( bF16 ) return KD_F16(p);
#endif
  h = kd_loadh16(p);
  if( !bF16 ) return kd_floats(kd_sllh(h, 16));
  x = kd_floats(kd_addh(kd_sllh(kd_andh(h, kd_set1h(0x7fffu)), 13),
                        kd_set1h(112u<<23)));
  xDen = kd_sub(kd_floats(kd_addh(kd_bits(x), kd_set1h(1u<<23))), vMin);
  x = kd_select(kd_lt(x, vMin), xDen, x);
  return kd_floats(kd_orh(kd_bits(x),
                          kd_sllh(kd_andh(h, kd_set1h(0x8000u)), 16)));
}

/* Widen n elements of z into dst; non-zero if one is Inf or NaN.  The
** last few go through a zero-padded copy (0 is finite), stored masked. */
KD_INLINE int KD_FN(kdWidenLoop)(float *dst, const unsigned char *z,
                                 int64_t n, int bF16){
  const kd_v vLimit = kd_set1(bF16 ? 65536.0f : INFINITY);
  kd_m good = kd_first(KD_W);
  int64_t i = 0;
  for(; i+2*KD_W<=n; i+=2*KD_W){
    kd_v x0 = KD_FN(kdHalf)(z + 2*i, bF16);
    kd_v x1 = KD_FN(kdHalf)(z + 2*i + 2*KD_W, bF16);
    kd_store(dst + i, x0);
    kd_store(dst + i + KD_W, x1);
    good = kd_andm(good, kd_andm(kd_lt(kd_abs(x0), vLimit),
                                 kd_lt(kd_abs(x1), vLimit)));
  }
  for(; i<n; i+=KD_W){
    unsigned char aTail[2*KD_W];
    int nTail = n-i < KD_W ? (int)(n-i) : KD_W;
    kd_m m = kd_first(nTail);
    kd_v x;
    memset(aTail, 0, sizeof(aTail));
    memcpy(aTail, z + 2*i, 2*(size_t)nTail);
    x = KD_FN(kdHalf)(aTail, bF16);
    kd_storem(dst + i, m, x);
    good = kd_andm(good, kd_lt(kd_abs(x), vLimit));
  }
  return !kd_all(good);
}

#if KD_W==1
/* The scalar levels (one float a vector): kdHalf's rebias, written for the
** compiler rather than through the one-lane primitives, which cost about
** 2.4 ns an element (a float compare, a branch and a mask per element).
** Here each element is integer operations and one exact float subtraction,
** its denormal result chosen by an integer mask (a zero or denormal is an
** exponent field of 0, em < 0x400), in blocks of 8 whose uint16 loads,
** stores and per-element flags compilers at -O2 turn into SIMD code
** (about 0.7 ns an element on the Xeon of docs/performance.md; the same
** bits either way).  The Inf and NaN patterns are found by their exponent
** field: all ones plus its lowest bit carries into bit 15, which no finite
** pattern reaches, so the OR of these sums has bit 15 set exactly when an
** element is not finite. */
KD_INLINE uint32_t KD_FN(kdHalf1)(uint32_t h, uint32_t mExp, int bF16,
                                  uint32_t *puBad){
  const uint32_t em = h & 0x7fffu;
  uint32_t u, uDen, mDen;
  *puBad |= (h & mExp) + (mExp & (0u - mExp));
  if( !bF16 ) return h<<16;
  u = (em<<13) + (112u<<23);
  uDen = kd_bits(kd_sub(kd_floats(u + (1u<<23)),
                        kd_set1(6.103515625e-05f)));      /* 2^-14 */
  mDen = 0u - (uint32_t)(em<0x400u);
  return ((uDen & mDen) | (u & ~mDen)) | (h & 0x8000u)<<16;
}

/* 8 little-endian uint16 at z into a[] (one copy where the CPU is
** little-endian, which compilers see; bytes elsewhere). */
KD_INLINE void KD_FN(kdLoad8x16)(uint16_t *a, const unsigned char *z){
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__==__ORDER_LITTLE_ENDIAN__
  memcpy(a, z, 16);
#else
  int k;
  for(k=0; k<8; k++) a[k] = (uint16_t)(z[2*k] | z[2*k+1]<<8);
#endif
}

KD_INLINE int KD_FN(kdWiden1)(float *dst, const unsigned char *z, int64_t n,
                              uint32_t mExp, int bF16){
  uint32_t aBad[8] = {0}, uBad = 0, a[8];
  uint16_t aH[8];
  int64_t i = 0;
  int k;
  for(; i+8<=n; i+=8){
    KD_FN(kdLoad8x16)(aH, z + 2*i);
    for(k=0; k<8; k++) a[k] = KD_FN(kdHalf1)(aH[k], mExp, bF16, &aBad[k]);
    memcpy(dst + i, a, sizeof(a));
  }
  for(; i<n; i++){
    a[0] = KD_FN(kdHalf1)((uint32_t)z[2*i] | (uint32_t)z[2*i+1]<<8, mExp,
                          bF16, &uBad);
    memcpy(dst + i, a, 4);
  }
  for(k=0; k<8; k++) uBad |= aBad[k];
  return (uBad & 0x8000u)!=0;
}
#endif

KD_TARGET static int KD_FN(kdWidenHalf)(float *dst, const void *src,
                                        int64_t n, int bF16){
  const unsigned char *z = (const unsigned char*)src;
#if KD_W==1
  return bF16 ? KD_FN(kdWiden1)(dst, z, n, 0x7c00u, 1)
              : KD_FN(kdWiden1)(dst, z, n, 0x7f80u, 0);
#else
  return bF16 ? KD_FN(kdWidenLoop)(dst, z, n, 1)
              : KD_FN(kdWidenLoop)(dst, z, n, 0);
#endif
}

#endif /* !KD_BF16_ONLY */

#ifndef KD_BF16_NAME
# define KD_BF16_NAME "emulated"
#endif
#ifdef KD_BF16_ONLY
/* A level that adds bf16 to another: kernels.c takes the rest from that
** one (so its float32 code is compiled once). */
static const attn_kernel_set KD_FN(kdSet) = {
  KD_NAME, 0, 0, KD_FN(kdFlashBf16), KD_FN(kdGemmBf16), KD_BF16_NAME, 0, 0, 0,
  0,
};
#else
static const attn_kernel_set KD_FN(kdSet) = {
  KD_NAME,
  KD_FN(kdGemm),
  KD_FN(kdFlash),
  KD_FN(kdFlashBf16),
  KD_FN(kdGemmBf16),
  KD_BF16_NAME,
  KD_FN(kdExpArray),
  KD_FN(kdCopyNonFinite),
  KD_FN(kdWidenHalf),
  KD_FN(kdRoundBf16),
};
#endif

const attn_kernel_set *KD_FN(attn_kernels)(void){ return &KD_FN(kdSet); }

/* The level's names and this file's own. */
#undef KD_LEVEL
#undef KD_NAME
#undef KD_W
#undef KD_TARGET
#undef KD_QK_MK
#undef KD_QK_NZ
#undef KD_PV_MJ
#undef KD_PV_NZ
#undef KD_GE_MR
#undef KD_GE_NZ
#undef KD_DC
#undef KD_PV_KC
#undef KD_TILE_UNROLL
#undef KD_PRAGMA
#undef KD_UNROLL
#undef kd_v
#undef kd_m
#undef kd_zero
#undef kd_set1
#undef kd_bcast
#undef kd_load
#undef kd_store
#undef kd_loadm
#undef kd_storem
#undef kd_first
#undef kd_range
#undef kd_add
#undef kd_sub
#undef kd_mul
#undef kd_div
#undef kd_fma
#undef kd_fnma
#undef kd_max
#undef kd_abs
#undef kd_copysign
#undef kd_lt
#undef kd_le
#undef kd_eq
#undef kd_select
#undef kd_all
#undef kd_andm
#undef kd_addexp
#undef KD_SCALE2
#undef KD_LAZY_M
#undef kd_vh
#undef kd_set1h
#undef kd_loadh
#undef kd_storeh
#undef kd_bcasth
#undef kd_bits
#undef kd_floats
#undef kd_addh
#undef kd_andh
#undef kd_orh
#undef kd_srlh
#undef kd_sllh
#undef kd_loadh16
#undef KD_F16
#undef KD_DOT2
#undef KD_AMX
#undef KD_TILE_BEGIN
#undef KD_TILE_END
#undef kd_storeh16
#undef kd_tzero
#undef kd_tload
#undef kd_tstore
#undef kd_tdp
#undef KD_BF16_NAME
#undef KD_BF16_ONLY
#undef KD_MAX_I
#undef KD_MAX_Z
#undef KD_KC
#undef KD_BQ
#undef KD_INLINE
#undef KD_NO_INLINE
#undef KD_CASES
#undef KD_PACK2P
