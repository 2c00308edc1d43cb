/*
** kernels_avx512.c: the AVX-512 (F, BW, DQ, VL) + FMA kernel level: the
** primitives of kernels_driver.h on 16-lane zmm vectors
** (kernels_avx512.h), and the driver.
**
** Every function carries KD_TARGET, the features kernels.c checks with
** cpuid before it hands this level out; the file is compiled with the
** library's plain flags (no -m options), so one binary runs on any x86-64.
** With 32 zmm registers the tiles are 24 accumulators: Q·Kᵀ 6 keys × 4 row
** vectors (all 64 rows of a block), Vᵀ·P 6 v columns × 4 row vectors, the
** GEMM 6 rows × 4 column vectors (64 columns); per step 4 vector loads and
** 6 broadcasts feed 24 FMAs.  Masks are __mmask16, so masked loads and
** stores are the native ones.  kernels_emu16.c runs the same driver with
** the same tiles in portable C, so all of this but the primitives is
** tested on machines without AVX-512 too.
*/
#include "kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#define KD_LEVEL   avx512
#define KD_NAME    "avx512"
#define KD_TARGET  \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#include "kernels_avx512.h"
#include "kernels_driver.h"

#else  /* not x86-64 with GCC or Clang */
const attn_kernel_set *attn_kernels_avx512(void){ return 0; }
#endif
