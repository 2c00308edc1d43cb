/*
** random.c: deterministic standard-normal samples (see random.h).
*/
#include "random.h"
#include <math.h>

/* splitmix64 (Steele, Lea, Flood 2014): a full-period 64-bit generator. */
static uint64_t randNext(uint64_t *pState){
  uint64_t z = (*pState += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* A uniform double in (-1, 1) with 53 random bits. */
static double randUniformPm1(uint64_t *pState){
  uint64_t u = randNext(pState) >> 11;               /* 53 bits */
  return ((double)u + 0.5) * (2.0/9007199254740992.0) - 1.0;
}

/* Natural logarithm of x in (0, 1], from basic operations only:
** x = m·2^e with m in [√½, √2), then ln m = 2·atanh(z), z = (m-1)/(m+1),
** |z| < 0.172, summed to z^29 (error far below one float64 ulp). */
static double randLog(double x){
  int e;
  double m = frexp(x, &e);            /* exact: m in [0.5, 1) */
  double z, z2, s, t;
  int k;
  if( m<0.70710678118654752440 ){ m *= 2.0; e -= 1; }
  z = (m - 1.0)/(m + 1.0);
  z2 = z*z;
  s = 0.0;
  for(k=29; k>=1; k-=2){              /* Horner: Σ z^k / k */
    s = s*z2 + 1.0/(double)k;
  }
  t = 2.0*z*s;
  return t + (double)e*0.69314718055994530942;
}

void attn_random_normal(int64_t seed, double stddev, float *a, int64_t n){
  uint64_t state = (uint64_t)seed;
  int64_t i = 0;
  while( i<n ){
    double u, v, s, f;
    do{
      u = randUniformPm1(&state);
      v = randUniformPm1(&state);
      s = u*u + v*v;
    }while( s>=1.0 || s==0.0 );
    f = sqrt(-2.0*randLog(s)/s);      /* sqrt is correctly rounded */
    a[i++] = (float)(u*f*stddev);
    if( i<n ) a[i++] = (float)(v*f*stddev);
  }
}
