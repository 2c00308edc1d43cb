/*
** kernels_scalar.h: the primitives of kernels_driver.h on one float (plain
** C, any CPU), shared by kernels_scalar.c and kernels_amxemu.c.  A file
** that includes it defines the level's names and tile shapes (KD_W 1);
** kernels_driver.h #undefs every kd_ name.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Helpers: each level that includes this file gets its own copies (KD_FN
** names). */
/* Loads and stores through memcpy: the copy-and-check reads floats at any
** alignment. */
static inline float KD_FN(k1Load)(const void *p){
  float f;
  memcpy(&f, p, 4);
  return f;
}
static inline void KD_FN(k1Store)(void *p, float f){ memcpy(p, &f, 4); }
static inline uint32_t KD_FN(k1Bits)(float f){
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
static inline float KD_FN(k1Floats)(uint32_t u){
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* The float whose bits are those of y plus (bits of t) << 23. */
static inline float KD_FN(k1AddExp)(float y, float t){
  uint32_t a, b;
  memcpy(&a, &y, 4);
  memcpy(&b, &t, 4);
  a += b << 23;
  memcpy(&y, &a, 4);
  return y;
}


#define kd_v              float
#define kd_m              int
#define kd_zero()         0.0f
#define kd_set1(x)        ((float)(x))
#define kd_bcast(p)       (*(p))
#define kd_load(p)        KD_FN(k1Load)(p)
#define kd_store(p, v)    KD_FN(k1Store)(p, v)
#define kd_loadm(p, m)    ((m) ? KD_FN(k1Load)(p) : 0.0f)
#define kd_storem(p, m, v) do{ if( m ) KD_FN(k1Store)(p, v); }while(0)
#define kd_first(n)       ((n)>0)
#define kd_range(lo, hi)  ((lo)<=0 && 0<(hi))
#define kd_add(a, b)      ((a)+(b))
#define kd_sub(a, b)      ((a)-(b))
#define kd_mul(a, b)      ((a)*(b))
#define kd_div(a, b)      ((a)/(b))
#define kd_fma(a, b, c)   fmaf(a, b, c)
#define kd_fnma(a, b, c)  fmaf(-(a), b, c)
#define kd_max(a, b)      ((a)>(b) ? (a) : (b))
#define kd_abs(v)         fabsf(v)
#define kd_copysign(m, s) copysignf(m, s)
#define kd_lt(a, b)       ((a)<(b))
#define kd_le(a, b)       ((a)<=(b))
#define kd_eq(a, b)       ((a)==(b))
#define kd_select(m, a, b) ((m) ? (a) : (b))
#define kd_all(m)         (m)
#define kd_andm(a, b)     ((a) && (b))
#define kd_addexp(y, t)   KD_FN(k1AddExp)(y, t)
#define kd_vh             uint32_t
#define kd_set1h(u)       ((uint32_t)(u))
#define kd_loadh(p)       (*(const uint32_t*)(p))
#define kd_storeh(p, v)   (*(uint32_t*)(p) = (v))
#define kd_bcasth(p)      (*(const uint32_t*)(p))
#define kd_bits(v)        KD_FN(k1Bits)(v)
#define kd_floats(h)      KD_FN(k1Floats)(h)
#define kd_addh(a, b)     ((a)+(b))
#define kd_andh(a, b)     ((a)&(b))
#define kd_orh(a, b)      ((a)|(b))
#define kd_srlh(h, n)     ((h)>>(n))
#define kd_sllh(h, n)     ((h)<<(n))
#define kd_loadh16(p)     ((uint32_t)((const unsigned char*)(p))[0] \
                           | (uint32_t)((const unsigned char*)(p))[1]<<8)

