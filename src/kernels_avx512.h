/*
** kernels_avx512.h: the primitives of kernels_driver.h on 16-lane zmm
** vectors (AVX-512 F/BW/DQ/VL + FMA), shared by the levels that run on
** AVX-512: kernels_avx512.c (float32), kernels_avx512bf16.c (adds
** VDPBF16PS) and kernels_amx.c (adds AMX tiles).  A file that includes it
** defines KD_LEVEL, KD_NAME and KD_TARGET first (the target must include
** AVX-512 F/BW/DQ/VL and FMA); kernels_driver.h #undefs every kd_ name.
** A level whose target has AVX512-BF16 also defines K5_BF16, which packs
** the softmax's P to bf16 pairs in one conversion (KD_PACK2P).
*/
#include <immintrin.h>

#define KD_W       16
#define KD_QK_MK   6
#define KD_QK_NZ   4
#define KD_PV_MJ   6
#define KD_PV_NZ   4
#define KD_GE_MR   6
#define KD_GE_NZ   4
#define KD_DC      96

/* Helpers: each level that includes this file gets its own copies
** (KD_FN names), compiled with its target. */
#define K5_INLINE static inline __attribute__((always_inline)) KD_TARGET

/* Lanes l with lo <= l < hi. */
K5_INLINE __mmask16 KD_FN(k5Range)(int lo, int hi){
  if( lo<0 ) lo = 0;
  if( hi>16 ) hi = 16;
  if( hi<=lo ) return 0;
  return (__mmask16)(((1u<<hi)-1) & ~((1u<<lo)-1));
}
K5_INLINE __m512 KD_FN(k5CopySign)(__m512 mag, __m512 sgn){
  const __m512i s = _mm512_set1_epi32((int)0x80000000u);
  return _mm512_castsi512_ps(_mm512_or_si512(
      _mm512_andnot_si512(s, _mm512_castps_si512(mag)),
      _mm512_and_si512(s, _mm512_castps_si512(sgn))));
}
#ifdef K5_BF16
/* For the levels with AVX512-BF16 (K5_BF16): kdPack2 of lanes that are
** never denormal in one VCVTNE2PS2BF16 (lo's bf16 in words 0-15, hi's in
** 16-31, to nearest even) and a permute that interleaves them. */
K5_INLINE __m512i KD_FN(k5Pack2P)(__m512 lo, __m512 hi){
  static const unsigned short aIdx[32] = {
    0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
    8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31 };
  return _mm512_permutexvar_epi16(_mm512_loadu_si512((const void*)aIdx),
                                  (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}
# define KD_PACK2P(lo, hi) KD_FN(k5Pack2P)(lo, hi)
#endif
K5_INLINE __m512 KD_FN(k5AddExp)(__m512 y, __m512 t){
  return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(y),
                              _mm512_slli_epi32(_mm512_castps_si512(t), 23)));
}


#undef K5_INLINE
#undef K5_BF16

#define kd_v              __m512
#define kd_m              __mmask16
#define kd_zero()         _mm512_setzero_ps()
#define kd_set1(x)        _mm512_set1_ps(x)
#define kd_bcast(p)       _mm512_set1_ps(*(p))
#define kd_load(p)        _mm512_loadu_ps(p)
#define kd_store(p, v)    _mm512_storeu_ps(p, v)
#define kd_loadm(p, m)    _mm512_maskz_loadu_ps(m, p)
#define kd_storem(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define kd_first(n)       KD_FN(k5Range)(0, n)
#define kd_range(lo, hi)  KD_FN(k5Range)(lo, hi)
#define kd_add(a, b)      _mm512_add_ps(a, b)
#define kd_sub(a, b)      _mm512_sub_ps(a, b)
#define kd_mul(a, b)      _mm512_mul_ps(a, b)
#define kd_div(a, b)      _mm512_div_ps(a, b)
#define kd_fma(a, b, c)   _mm512_fmadd_ps(a, b, c)
#define kd_fnma(a, b, c)  _mm512_fnmadd_ps(a, b, c)
#define kd_max(a, b)      _mm512_max_ps(a, b)
#define kd_abs(v)         _mm512_abs_ps(v)
#define kd_copysign(m, s) KD_FN(k5CopySign)(m, s)
#define kd_lt(a, b)       _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ)
#define kd_le(a, b)       _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ)
#define kd_eq(a, b)       _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ)
#define kd_select(m, a, b) _mm512_mask_blend_ps(m, b, a)
#define kd_all(m)         ((m)==0xffff)
#define kd_andm(a, b)     ((__mmask16)((a) & (b)))
#define kd_addexp(y, t)   KD_FN(k5AddExp)(y, t)
#define KD_SCALE2(y, n, x, lo) _mm512_maskz_scalef_ps( \
                              _mm512_cmp_ps_mask(x, _mm512_set1_ps(lo), \
                                                 _CMP_NLT_UQ), y, n)
#define kd_vh             __m512i
#define kd_set1h(u)       _mm512_set1_epi32((int)(u))
#define kd_loadh(p)       _mm512_loadu_si512((const void*)(p))
#define kd_storeh(p, v)   _mm512_storeu_si512((void*)(p), v)
#define kd_bcasth(p)      _mm512_set1_epi32(*(const int*)(const void*)(p))
#define kd_bits(v)        _mm512_castps_si512(v)
#define kd_floats(h)      _mm512_castsi512_ps(h)
#define kd_addh(a, b)     _mm512_add_epi32(a, b)
#define kd_andh(a, b)     _mm512_and_si512(a, b)
#define kd_orh(a, b)      _mm512_or_si512(a, b)
#define kd_srlh(h, n)     _mm512_srli_epi32(h, n)
#define kd_sllh(h, n)     _mm512_slli_epi32(h, n)
#define kd_loadh16(p)     _mm512_cvtepu16_epi32( \
                              _mm256_loadu_si256((const __m256i*)(const void*)(p)))
/* VCVTPH2PS (AVX512F): exact, denormals kept whatever MXCSR's DAZ says. */
#define KD_F16(p)         _mm512_cvtph_ps( \
                              _mm256_loadu_si256((const __m256i*)(const void*)(p)))

