/*
** kernels_avx2.c: the AVX2 + FMA kernel level: the primitives of
** kernels_driver.h on 8-lane ymm vectors, and its register tiles.
**
** Every function carries KD_TARGET (target("avx2,fma,f16c")); the file is
** compiled like the rest of the library, so it only runs after cpuid said
** it may (kernels.c: AVX2, FMA and F16C, which every CPU with AVX2 has;
** without F16C the level is not loaded).  float16 BLOBs widen with F16C's
** VCVTPH2PS (KD_F16), as at the AVX-512 levels.  With 16 ymm registers
** the tiles are 12 accumulators: Q·Kᵀ 6 keys × 2 row vectors (16 rows),
** Vᵀ·P 6 v columns × 2 row vectors, the GEMM 6 rows × 2 column vectors;
** per step 2 vector loads and 6 broadcasts feed 12 FMAs.  The tile's loop
** runs two steps an iteration (KD_TILE_UNROLL): with one, its three
** pointer and counter updates and the branch per 12 FMAs share the FMA
** ports often enough to cost about 6 % of the flash kernel
** (docs/performance.md).  Vᵀ·P takes a tile's keys 64 at a time
** (KD_PV_KC): the part of P each column group reads again is then 16 KiB,
** which the 32 KiB L1 of AMD Zen 2 and 3 keeps with the rows of V; the
** whole tile's 32 KiB did not (3-9 % slower on a Zen 3, d = 64 to 384).
** Masks are compare results (all-ones lanes), the masked loads and stores
** vmaskmovps.
*/
#include "kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define KD_LEVEL   avx2
#define KD_NAME    "avx2"
#define KD_W       8
#define KD_TARGET  __attribute__((target("avx2,fma,f16c")))
#define KD_QK_MK   6
#define KD_QK_NZ   2
#define KD_PV_MJ   6
#define KD_PV_NZ   2
#define KD_GE_MR   6
#define KD_GE_NZ   2
#define KD_DC      96
#define KD_PV_KC   64
#define KD_TILE_UNROLL 2

#define K2_INLINE static inline __attribute__((always_inline)) KD_TARGET

/* Lanes l with lo <= l < hi. */
K2_INLINE __m256 k2Range(int lo, int hi){
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_castsi256_ps(_mm256_and_si256(
      _mm256_cmpgt_epi32(idx, _mm256_set1_epi32(lo < -1 ? -1 : lo-1)),
      _mm256_cmpgt_epi32(_mm256_set1_epi32(hi > 8 ? 8 : hi), idx)));
}
K2_INLINE __m256 k2CopySign(__m256 mag, __m256 sgn){
  const __m256 s = _mm256_set1_ps(-0.0f);
  return _mm256_or_ps(_mm256_andnot_ps(s, mag), _mm256_and_ps(s, sgn));
}
K2_INLINE __m256 k2AddExp(__m256 y, __m256 t){
  return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(y),
                              _mm256_slli_epi32(_mm256_castps_si256(t), 23)));
}

#define kd_v              __m256
#define kd_m              __m256
#define kd_zero()         _mm256_setzero_ps()
#define kd_set1(x)        _mm256_set1_ps(x)
#define kd_bcast(p)       _mm256_broadcast_ss(p)
#define kd_load(p)        _mm256_loadu_ps(p)
#define kd_store(p, v)    _mm256_storeu_ps(p, v)
#define kd_loadm(p, m)    _mm256_maskload_ps(p, _mm256_castps_si256(m))
#define kd_storem(p, m, v) _mm256_maskstore_ps(p, _mm256_castps_si256(m), v)
#define kd_first(n)       k2Range(0, n)
#define kd_range(lo, hi)  k2Range(lo, hi)
#define kd_add(a, b)      _mm256_add_ps(a, b)
#define kd_sub(a, b)      _mm256_sub_ps(a, b)
#define kd_mul(a, b)      _mm256_mul_ps(a, b)
#define kd_div(a, b)      _mm256_div_ps(a, b)
#define kd_fma(a, b, c)   _mm256_fmadd_ps(a, b, c)
#define kd_fnma(a, b, c)  _mm256_fnmadd_ps(a, b, c)
#define kd_max(a, b)      _mm256_max_ps(a, b)
#define kd_abs(v)         _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v)
#define kd_copysign(m, s) k2CopySign(m, s)
#define kd_lt(a, b)       _mm256_cmp_ps(a, b, _CMP_LT_OQ)
#define kd_le(a, b)       _mm256_cmp_ps(a, b, _CMP_LE_OQ)
#define kd_eq(a, b)       _mm256_cmp_ps(a, b, _CMP_EQ_OQ)
#define kd_select(m, a, b) _mm256_blendv_ps(b, a, m)
#define kd_all(m)         (_mm256_movemask_ps(m)==0xff)
#define kd_andm(a, b)     _mm256_and_ps(a, b)
#define kd_addexp(y, t)   k2AddExp(y, t)
#define kd_vh             __m256i
#define kd_set1h(u)       _mm256_set1_epi32((int)(u))
#define kd_loadh(p)       _mm256_loadu_si256((const __m256i*)(const void*)(p))
#define kd_storeh(p, v)   _mm256_storeu_si256((__m256i*)(void*)(p), v)
#define kd_bcasth(p)      _mm256_set1_epi32(*(const int*)(const void*)(p))
#define kd_bits(v)        _mm256_castps_si256(v)
#define kd_floats(h)      _mm256_castsi256_ps(h)
#define kd_addh(a, b)     _mm256_add_epi32(a, b)
#define kd_andh(a, b)     _mm256_and_si256(a, b)
#define kd_orh(a, b)      _mm256_or_si256(a, b)
#define kd_srlh(h, n)     _mm256_srli_epi32(h, n)
#define kd_sllh(h, n)     _mm256_slli_epi32(h, n)
#define kd_loadh16(p)     _mm256_cvtepu16_epi32( \
                              _mm_loadu_si128((const __m128i*)(const void*)(p)))
#define KD_F16(p)         _mm256_cvtph_ps( \
                              _mm_loadu_si128((const __m128i*)(const void*)(p)))

#include "kernels_driver.h"

#undef K2_INLINE

#else  /* not x86-64 with GCC or Clang */
const attn_kernel_set *attn_kernels_avx2(void){ return 0; }
#endif
