/*
** kernels_amx.c: the AVX-512 level with AMX: float32 as in
** kernels_avx512.c, and the bf16 flash attention of precision = 'bf16' on
** AMX tiles (TDPBF16PS: a 16 × 16 float32 tile += a 16 × 32 bf16 tile
** times a 32 × 16 one, 8,192 multiply-adds per instruction), with the
** tiling of kernels_driver.h's KD_AMX section, which also has the bf16
** GEMM of the projections on tiles (32 × 32 outputs a block).
** Found on Intel Xeon since Sapphire Rapids.
**
** Linux hands out the tile state only on request: kernels.c asks with
** arch_prctl(ARCH_REQ_XCOMP_PERM) before it offers this level, and falls
** back to the next one when the kernel refuses.  The tile operations here
** are GCC's inline-assembly intrinsics, which tell the compiler nothing of
** the memory they touch, so each is fenced with a compiler barrier.
** kernels_amxemu.c implements the same operations in C, so the tiling is
** tested on every machine.
*/
#include "kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#define KD_LEVEL   amx
#define KD_NAME    "amx"
#define KD_BF16_NAME "amx"
#define KD_TARGET  __attribute__((target( \
  "avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,fma,amx-tile,amx-bf16")))
#define KD_BF16_ONLY       /* float32: the avx512 level's */
#define K5_BF16            /* k5Pack2P */
#include "kernels_avx512.h"
#define KD_DOT2(acc, a, b) \
  _mm512_dpbf16_ps(acc, (__m512bh)(a), (__m512bh)(b))

/* Palette 1, tiles 0..7 of 16 rows × 64 bytes. */
typedef struct AmxConfig AmxConfig;
struct AmxConfig {
  unsigned char palette, startRow, reserved[14];
  unsigned short colsb[16];
  unsigned char rows[16];
};
static const AmxConfig amxConfig = {
  1, 0, {0},
  {64, 64, 64, 64, 64, 64, 64, 64},
  {16, 16, 16, 16, 16, 16, 16, 16},
};
#define AMX_FENCE() __asm__ __volatile__("" ::: "memory")
#define KD_AMX 1
#define KD_TILE_BEGIN()      _tile_loadconfig(&amxConfig)
#define KD_TILE_END()        _tile_release()
#define kd_tzero(t)          _tile_zero(t)
#define kd_tload(t, p, s)    do{ AMX_FENCE(); _tile_loadd(t, p, s); }while(0)
#define kd_tstore(t, p, s)   do{ _tile_stored(t, p, s); AMX_FENCE(); }while(0)
#define kd_tdp(c, a, b)      _tile_dpbf16ps(c, a, b)
#define kd_storeh16(p, h)    _mm256_storeu_si256((__m256i*)(void*)(p), _mm512_cvtepi32_epi16(h))
#include "kernels_driver.h"
#undef AMX_FENCE

#else  /* not x86-64 with GCC or Clang */
const attn_kernel_set *attn_kernels_amx(void){ return 0; }
#endif
