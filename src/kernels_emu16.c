/*
** kernels_emu16.c: the AVX-512 level's algorithm in portable C: the
** primitives of kernels_driver.h on 16-lane vectors held in plain arrays,
** with the register tiles of kernels_avx512.c (6 × 4 vectors, 64 rows per
** Q·Kᵀ and Vᵀ·P tile).
**
** It exists for testing.  The driver as the AVX-512 level instantiates it
** (16 lanes, its masks, its tails, four row vectors per block) runs here
** on any machine, and like every level it computes the same bits as the
** scalar one, so a machine without AVX-512 still tests everything of that
** level but its primitives (which are one intrinsic each).  It is never
** chosen automatically (ATTN_KERNEL=emu16 selects it) and is slow.
*/
#include "kernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#define KD_LEVEL   emu16
#define KD_NAME    "emu16"
#define KD_W       16
#define KD_TARGET
#define KD_QK_MK   6
#define KD_QK_NZ   4
#define KD_PV_MJ   6
#define KD_PV_NZ   4
#define KD_GE_MR   6
#define KD_GE_NZ   4
#define KD_DC      96
#ifndef KD_NO_INLINE
# define KD_NO_INLINE      /* keep the code and compile time small */
#endif

/* Each primitive is one out-of-line function: inlined everywhere, 16-lane
** loops make the driver's unrolled tiles take minutes to compile. */
#define E16_FN __attribute__((noinline))

typedef struct E16v E16v;
struct E16v { float f[16]; };
typedef struct E16h E16h;
struct E16h { uint32_t u[16]; };
typedef struct E16m E16m;
struct E16m { unsigned char b[16]; };

#define E16_MAP(expr) { E16v r; int l; for(l=0; l<16; l++){ expr; } return r; }
static E16_FN E16v e16Set1(float x) E16_MAP(r.f[l] = x)
static E16_FN E16v e16Load(const void *p){
  E16v r;
  memcpy(r.f, p, sizeof(r.f));
  return r;
}
static E16_FN void e16Store(void *p, E16v v){ memcpy(p, v.f, sizeof(v.f)); }
static E16_FN E16v e16LoadM(const void *p, E16m m){
  E16v r;
  int l;
  for(l=0; l<16; l++){
    r.f[l] = 0.0f;
    if( m.b[l] ) memcpy(&r.f[l], (const char*)p + 4*l, 4);
  }
  return r;
}
static E16_FN void e16StoreM(void *p, E16m m, E16v v){
  int l;
  for(l=0; l<16; l++) if( m.b[l] ) memcpy((char*)p + 4*l, &v.f[l], 4);
}
static E16_FN E16m e16Range(int lo, int hi){
  E16m m;
  int l;
  for(l=0; l<16; l++) m.b[l] = lo<=l && l<hi;
  return m;
}
static E16_FN E16v e16Add(E16v a, E16v b) E16_MAP(r.f[l] = a.f[l]+b.f[l])
static E16_FN E16v e16Sub(E16v a, E16v b) E16_MAP(r.f[l] = a.f[l]-b.f[l])
static E16_FN E16v e16Mul(E16v a, E16v b) E16_MAP(r.f[l] = a.f[l]*b.f[l])
static E16_FN E16v e16Div(E16v a, E16v b) E16_MAP(r.f[l] = a.f[l]/b.f[l])
static E16_FN E16v e16Fma(E16v a, E16v b, E16v c)
  E16_MAP(r.f[l] = fmaf(a.f[l], b.f[l], c.f[l]))
static E16_FN E16v e16Fnma(E16v a, E16v b, E16v c)
  E16_MAP(r.f[l] = fmaf(-a.f[l], b.f[l], c.f[l]))
static E16_FN E16v e16Max(E16v a, E16v b)
  E16_MAP(r.f[l] = a.f[l]>b.f[l] ? a.f[l] : b.f[l])
static E16_FN E16v e16Abs(E16v a) E16_MAP(r.f[l] = fabsf(a.f[l]))
static E16_FN E16v e16CopySign(E16v a, E16v b)
  E16_MAP(r.f[l] = copysignf(a.f[l], b.f[l]))
static E16_FN E16v e16Select(E16m m, E16v a, E16v b)
  E16_MAP(r.f[l] = m.b[l] ? a.f[l] : b.f[l])
#define E16_CMP(name, op) static E16_FN E16m name(E16v a, E16v b){ \
  E16m m; int l; for(l=0; l<16; l++) m.b[l] = a.f[l] op b.f[l]; return m; }
E16_CMP(e16Lt, <)
E16_CMP(e16Le, <=)
E16_CMP(e16Eq, ==)
static E16_FN int e16All(E16m m){
  int l;
  for(l=0; l<16; l++) if( !m.b[l] ) return 0;
  return 1;
}
static E16_FN E16m e16AndM(E16m a, E16m b){
  int l;
  for(l=0; l<16; l++) a.b[l] = a.b[l] && b.b[l];
  return a;
}
#define E16_MAPH(expr) { E16h r; int l; for(l=0; l<16; l++){ expr; } return r; }
static E16_FN E16h e16Set1h(uint32_t x) E16_MAPH(r.u[l] = x)
static E16_FN E16h e16Loadh(const void *p){
  E16h r;
  memcpy(r.u, p, sizeof(r.u));
  return r;
}
static E16_FN void e16Storeh(void *p, E16h v){ memcpy(p, v.u, sizeof(v.u)); }
static E16_FN E16h e16Loadh16(const void *p){
  const unsigned char *z = (const unsigned char*)p;
  E16_MAPH(r.u[l] = (uint32_t)z[2*l] | (uint32_t)z[2*l+1]<<8)
}
static E16_FN E16h e16Bits(E16v v){
  E16h r;
  memcpy(r.u, v.f, sizeof(r.u));
  return r;
}
static E16_FN E16v e16Floats(E16h h){
  E16v r;
  memcpy(r.f, h.u, sizeof(r.f));
  return r;
}
static E16_FN E16h e16Addh(E16h a, E16h b) E16_MAPH(r.u[l] = a.u[l]+b.u[l])
static E16_FN E16h e16Andh(E16h a, E16h b) E16_MAPH(r.u[l] = a.u[l]&b.u[l])
static E16_FN E16h e16Orh(E16h a, E16h b) E16_MAPH(r.u[l] = a.u[l]|b.u[l])
static E16_FN E16h e16Srlh(E16h a, int n) E16_MAPH(r.u[l] = a.u[l]>>n)
static E16_FN E16h e16Sllh(E16h a, int n) E16_MAPH(r.u[l] = a.u[l]<<n)
static E16_FN E16v e16AddExp(E16v y, E16v t){
  int l;
  for(l=0; l<16; l++){
    uint32_t a, b;
    memcpy(&a, &y.f[l], 4);
    memcpy(&b, &t.f[l], 4);
    a += b << 23;
    memcpy(&y.f[l], &a, 4);
  }
  return y;
}

#define kd_v              E16v
#define kd_m              E16m
#define kd_zero()         e16Set1(0.0f)
#define kd_set1(x)        e16Set1(x)
#define kd_bcast(p)       e16Set1(*(p))
#define kd_load(p)        e16Load(p)
#define kd_store(p, v)    e16Store(p, v)
#define kd_loadm(p, m)    e16LoadM(p, m)
#define kd_storem(p, m, v) e16StoreM(p, m, v)
#define kd_first(n)       e16Range(0, n)
#define kd_range(lo, hi)  e16Range(lo, hi)
#define kd_add(a, b)      e16Add(a, b)
#define kd_sub(a, b)      e16Sub(a, b)
#define kd_mul(a, b)      e16Mul(a, b)
#define kd_div(a, b)      e16Div(a, b)
#define kd_fma(a, b, c)   e16Fma(a, b, c)
#define kd_fnma(a, b, c)  e16Fnma(a, b, c)
#define kd_max(a, b)      e16Max(a, b)
#define kd_abs(v)         e16Abs(v)
#define kd_copysign(m, s) e16CopySign(m, s)
#define kd_lt(a, b)       e16Lt(a, b)
#define kd_le(a, b)       e16Le(a, b)
#define kd_eq(a, b)       e16Eq(a, b)
#define kd_select(m, a, b) e16Select(m, a, b)
#define kd_all(m)         e16All(m)
#define kd_andm(a, b)     e16AndM(a, b)
#define kd_addexp(y, t)   e16AddExp(y, t)
#define kd_vh             E16h
#define kd_set1h(u)       e16Set1h(u)
#define kd_loadh(p)       e16Loadh(p)
#define kd_storeh(p, v)   e16Storeh(p, v)
#define kd_bcasth(p)      e16Set1h(*(const uint32_t*)(p))
#define kd_bits(v)        e16Bits(v)
#define kd_floats(h)      e16Floats(h)
#define kd_addh(a, b)     e16Addh(a, b)
#define kd_andh(a, b)     e16Andh(a, b)
#define kd_orh(a, b)      e16Orh(a, b)
#define kd_srlh(h, n)     e16Srlh(h, n)
#define kd_sllh(h, n)     e16Sllh(h, n)
#define kd_loadh16(p)     e16Loadh16(p)

#include "kernels_driver.h"

#undef E16_MAP
#undef E16_MAPH
#undef E16_FN
#undef E16_CMP
