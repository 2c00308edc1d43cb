/*
** kernels_amxemu.c: the AMX level's bf16 tiling in portable C: the tile
** operations of kernels_driver.h's KD_AMX section (zero, load, store and
** TDPBF16PS on 8 tiles of 16 rows × 64 bytes) on arrays, with the
** one-lane primitives of the scalar level for everything else.
**
** It exists for testing, like kernels_emu16.c: the AMX tiling and packing
** (which rows and keys each tile takes, the padding, the rescaling of Ot
** before the tiles add onto it) run here on any machine.  Its dot product
** adds each pair's products in order with fmaf(), as the emulated levels
** do, so it computes the same bits as the scalar level.  Never chosen
** automatically (ATTN_KERNEL=amxemu selects it).
*/
#include "kernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#define KD_LEVEL   amxemu
#define KD_NAME    "amxemu"
#define KD_BF16_NAME "amx (emulated)"
#define KD_W       1
#define KD_TARGET
#define KD_QK_MK   4
#define KD_QK_NZ   4
#define KD_PV_MJ   4
#define KD_PV_NZ   4
#define KD_GE_MR   4
#define KD_GE_NZ   4
#define KD_DC      256

/* The tile registers, per thread. */
static _Thread_local unsigned char amxeTile[8][16][64];

static void amxeLoad(int t, const void *p, int64_t nStride){
  int r;
  for(r=0; r<16; r++) memcpy(amxeTile[t][r], (const char*)p + r*nStride, 64);
}
static void amxeStore(int t, void *p, int64_t nStride){
  int r;
  for(r=0; r<16; r++) memcpy((char*)p + r*nStride, amxeTile[t][r], 64);
}
static float amxeBf16(const unsigned char *z){
  uint32_t u = (uint32_t)z[0]<<16 | (uint32_t)z[1]<<24;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
/* C[m][n] += Σ_k A[m][2k]·B[k][2n] + A[m][2k+1]·B[k][2n+1], k ascending,
** the even product first, each added with one rounding. */
static void amxeDot(int c, int a, int b){
  int m, n, k;
  for(m=0; m<16; m++){
    for(n=0; n<16; n++){
      float acc;
      memcpy(&acc, &amxeTile[c][m][4*n], 4);
      for(k=0; k<16; k++){
        acc = fmaf(amxeBf16(&amxeTile[a][m][4*k]),
                   amxeBf16(&amxeTile[b][k][4*n]), acc);
        acc = fmaf(amxeBf16(&amxeTile[a][m][4*k+2]),
                   amxeBf16(&amxeTile[b][k][4*n+2]), acc);
      }
      memcpy(&amxeTile[c][m][4*n], &acc, 4);
    }
  }
}
#define KD_AMX 1
#define KD_TILE_BEGIN()      ((void)0)
#define KD_TILE_END()        ((void)0)
#define kd_tzero(t)          memset(amxeTile[t], 0, sizeof(amxeTile[t]))
#define kd_tload(t, p, s)    amxeLoad(t, p, s)
#define kd_tstore(t, p, s)   amxeStore(t, p, s)
#define kd_tdp(c, a, b)      amxeDot(c, a, b)
#define kd_storeh16(p, h)    (*(uint16_t*)(void*)(p) = (uint16_t)(h))

#include "kernels_scalar.h"
#include "kernels_driver.h"
