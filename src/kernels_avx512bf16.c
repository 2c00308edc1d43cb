/*
** kernels_avx512bf16.c: the AVX-512 level with AVX512-BF16: float32 as in
** kernels_avx512.c, and the bf16 products of precision = 'bf16' on
** VDPBF16PS (KD_DOT2: one instruction takes a pair of bf16 products per
** float32 lane, 32 multiply-adds per zmm).  Found on AMD Zen 4 and 5 and
** Intel since Cooper Lake.  The other levels compute the same pairs with
** two float32 FMAs of exact products; VDPBF16PS adds them with its own
** rounding (and treats denormal operands as zero), so this level matches
** them within float32 rounding rather than bit for bit.
*/
#include "kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#define KD_LEVEL   avx512bf16
#define KD_NAME    "avx512bf16"
#define KD_BF16_NAME "avx512bf16"
#define KD_TARGET  __attribute__((target( \
  "avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,fma")))
#define KD_BF16_ONLY       /* float32: the avx512 level's */
#define K5_BF16            /* k5Pack2P */
#include "kernels_avx512.h"
#define KD_DOT2(acc, a, b) \
  _mm512_dpbf16_ps(acc, (__m512bh)(a), (__m512bh)(b))
#include "kernels_driver.h"

#else  /* not x86-64 with GCC or Clang */
const attn_kernel_set *attn_kernels_avx512bf16(void){ return 0; }
#endif
