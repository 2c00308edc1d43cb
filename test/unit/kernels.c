/*
** kernels.c: unit tests of every kernel level (src/kernels_*.c).
**
** Every level this build has is tested when the CPU can run it and counted
** as skipped, by name, when it cannot (test/all.tcl runs this program once;
** the program itself takes each level from attn_kernels_level()).  Every
** level is built from the same driver (kernels_driver.h) and must compute
** the same bits as the scalar level, so the levels are compared bit for
** bit; the scalar level is compared with float64 references written here.
**   - xCopyNonFinite against isfinite() on each element: lengths 0..130
**     and a few long ones, sources misaligned by 0..3 bytes, finite edge
**     values (±0, denormals, ±FLT_MAX) and each kind of NaN and Inf at the
**     first, last or a random element; the copy must equal the source
**     bytes and leave the floats after it untouched; with no destination
**     the answer must be the same.
**   - xWidenHalf against the IEEE formula of each float16 and bfloat16
**     bit pattern, computed in double here: every finite pattern in one
**     vector, also with the FPU flushing denormals (x86 MXCSR FTZ and DAZ:
**     a widening through denormal floats would lose them), and lengths
**     0..130 and a few long ones at both alignments with an Inf or NaN of
**     the type at the first, last or a random element (or none); the
**     floats after the vector untouched; and each class (±0, denormals,
**     the smallest normal, 1, the largest finite, 65504 for float16) and
**     each Inf and NaN at every place of a 40-element vector, against
**     float32 bits written out by hand.
**   - xRoundBf16 against the float nearest each input in bfloat16 (ties
**     to even), computed from the format's definition in double: ±0,
**     denormals, ties of both parities, values near FLT_MAX that round to
**     Inf, ±Inf, lengths 0..130, 1000 and 4099, in place and not; the
**     floats after the result untouched.
**   - xExp over [-87, 0], both of them (the exp of float32 scores, within 2
**     ulp, and the bf16 path's P, within 4 and on to 8): the largest error
**     in ulp against exp() in double (every 61st float bit pattern in
**     [-87, 0], plus a uniform grid), exactly 0 below ATTN_EXP_FLUSH and
**     for -inf, 1 at 0, NaN for NaN, never a denormal.
**   - xGemm against a float64 product on awkward shapes (m 1..70, n and k
**     1..300, ragged leading dimensions, C = A·B and C += A·B), within the
**     bound of k FMA roundings; and bit for bit against the scalar level.
**   - xFlash on random blocks (nQuery 1..64, nKey 1..300, head widths 1,
**     3, 16, 17, 64, 100 and differing k/v widths, causal, window, both,
**     ALiBi, softcap from 1e-50 to 1e39, positions with gaps and repeats,
**     near ±2^53, windows up to ATTN_WINDOW_ALL, query blocks that see no
**     key, strided q, v, o and lse, scratch filled with NaN first): the
**     scalar level against a float64 reference within a bound derived from
**     the float32 roundings (printed as the largest fraction of it used),
**     every other level bit for bit against the scalar level; the columns
**     around each o row untouched; a non-finite score gives lse NaN.
*/
#include "unit.h"
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"
#include "alloc.h"

static uint64_t kRand = 0x9E3779B97F4A7C15ull;
static uint32_t kNext(void){
  kRand ^= kRand << 13; kRand ^= kRand >> 7; kRand ^= kRand << 17;
  return (uint32_t)(kRand >> 32);
}
static int kInt(int lo, int hi){ return lo + (int)(kNext() % (uint32_t)(hi-lo+1)); }
static float kUniform(void){ return (float)((double)kNext()/4294967296.0*2.0 - 1.0); }

/* Largest ulp error of xExp over [-87, 0] (bP: the bf16 path's, over
** [-87, 8]); checks flushing. */
static double expUlp(const attn_kernel_set *pK, int bP, int *pnBad){
  enum { NBUF = 4096 };
  static float aIn[NBUF], aOut[NBUF];
  const double xHi = bP ? 8.0 : 0.0;
  double mx = 0.0;
  int n = 0, i, nBad = 0;
  uint32_t u;
  double x;
  /* Every 61st bit pattern of [-87, -0] (sign bit set), then a uniform
  ** grid; under a sanitizer (ATTN_SANITIZER, the sanitizer pass of make
  ** test) every 997th, the plain pass having run them all. */
  union { float f; uint32_t u; } lo, cur;
  uint32_t nStep = getenv("ATTN_SANITIZER") ? 997 : 61;
  lo.f = -87.0f;
  for(u=0x80000000u; ; u+=nStep){
    int bLast = u>=lo.u;
    cur.u = bLast ? lo.u : u;
    aIn[n++] = cur.f;
    if( n==NBUF || bLast ){
      memcpy(aOut, aIn, sizeof(float)*(size_t)n);
      pK->xExp(aOut, n, bP);
      for(i=0; i<n; i++){
        double e = exp((double)aIn[i]);
        double ulp = ldexp(1.0, ilogb(e) - 23);
        double err = fabs((double)aOut[i] - e)/ulp;
        if( err>mx ) mx = err;
        if( aOut[i]<FLT_MIN ) nBad++;
      }
      n = 0;
    }
    if( bLast ) break;
  }
  /* the bf16 path's P also sees x in (0, 8] (kdRowMax keeps a row's max
  ** while a tile's is at most 8 above it) */
  for(x=-87.0; x<=xHi; x+=1.0/4096){
    aIn[n++] = (float)x;
    if( n==NBUF || x+1.0/4096>xHi ){
      memcpy(aOut, aIn, sizeof(float)*(size_t)n);
      pK->xExp(aOut, n, bP);
      for(i=0; i<n; i++){
        double e = exp((double)aIn[i]);
        double err = fabs((double)aOut[i] - e)/ldexp(1.0, ilogb(e) - 23);
        if( err>mx ) mx = err;
        if( aOut[i]<FLT_MIN ) nBad++;
      }
      n = 0;
    }
  }
  /* Below the flush threshold: exactly 0.  At 0: exactly 1.  NaN: NaN. */
  {
    float a[9] = { -87.0001f, -87.5f, -88.0f, -100.0f, -1e30f, -INFINITY,
                   0.0f, -0.0f, NAN };
    pK->xExp(a, 9, bP);
    for(i=0; i<6; i++) if( a[i]!=0.0f ) nBad++;
    if( a[6]!=1.0f || a[7]!=1.0f ) nBad++;
    if( !isnan(a[8]) ) nBad++;
  }
  *pnBad = nBad;
  return mx;
}

/* xCopyNonFinite on one length and source alignment; returns mismatches. */
static int copyCase(const attn_kernel_set *pK, int n, int iAlign, int eBad){
  static const uint32_t aFinite[] = { 0x00000000u, 0x80000000u, 0x00000001u,
    0x807fffffu, 0x7f7fffffu, 0xff7fffffu, 0x3f800000u, 0x00800000u };
  static const uint32_t aNonFinite[] = { 0x7f800000u, 0xff800000u,
    0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xffffffffu };
  unsigned char *zSrc = malloc((size_t)n*4 + 8);
  float *aDst = malloc(sizeof(float)*(size_t)(n + 16));
  unsigned char *z = zSrc + iAlign;
  int i, nBad = 0, bWant = 0, rc;
  for(i=0; i<n; i++){
    uint32_t u;
    float f = kUniform()*1e3f;
    memcpy(&u, &f, 4);
    if( kInt(0, 7)==0 ) u = aFinite[kInt(0, 7)];
    memcpy(z + 4*i, &u, 4);
  }
  if( eBad && n>0 ){
    int j = eBad==1 ? 0 : eBad==2 ? n-1 : kInt(0, n-1);
    memcpy(z + 4*j, &aNonFinite[kInt(0, 5)], 4);
  }
  for(i=0; i<n; i++){
    float f;
    memcpy(&f, z + 4*i, 4);
    if( !isfinite(f) ) bWant = 1;
  }
  for(i=0; i<n+16; i++) aDst[i] = -12345.0f;
  rc = pK->xCopyNonFinite(aDst, z, n);
  if( (rc!=0)!=bWant ) nBad++;
  if( n>0 && memcmp(aDst, z, (size_t)n*4)!=0 ) nBad++;
  for(i=n; i<n+16; i++) if( aDst[i]!=-12345.0f ) nBad++;
  if( (pK->xCopyNonFinite(0, z, n)!=0)!=bWant ) nBad++;
  free(zSrc);
  free(aDst);
  return nBad;
}

static void testCopy(const attn_kernel_set *pK){
  int n, nBad = 0, nCase = 0;
  for(n=0; n<=130; n++){
    int iAlign;
    for(iAlign=0; iAlign<4; iAlign++){
      int eBad;
      for(eBad=0; eBad<4; eBad++){
        nBad += copyCase(pK, n, iAlign, eBad);
        nCase++;
      }
    }
  }
  for(n=0; n<8; n++){
    nBad += copyCase(pK, (int[]){191, 192, 193, 1000, 4099, 65536, 64, 16}[n],
                     n%4, n%4);
    nCase++;
  }
  printf("%s: copy-and-check %d cases, %d mismatches\n", pK->zName, nCase,
         nBad);
  CHECK(nBad==0);
}

/* The value of half h (float16 if bF16, else bfloat16) by the IEEE
** formula, in double; 0 (and *pbFinite = 0) for Inf and NaN. */
static double halfRef(uint16_t h, int bF16, int *pbFinite){
  int nMan = bF16 ? 10 : 7, nBias = bF16 ? 15 : 127;
  int eMax = bF16 ? 31 : 255;
  int e = (h & 0x7fff) >> nMan, m = h & ((1<<nMan) - 1);
  double x;
  *pbFinite = e!=eMax;
  if( e==eMax ) return 0.0;
  x = e==0 ? ldexp((double)m, 1 - nBias - nMan)
           : ldexp((double)((1<<nMan) + m), e - nBias - nMan);
  return (h & 0x8000) ? -x : x;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
# include <xmmintrin.h>
# define WIDEN_FLUSH 1
#else
# define WIDEN_FLUSH 0
#endif

/* xWidenHalf on z[0..n) (n elements), with the FPU flushing denormals
** during the call if bFlush; returns mismatches. */
static int widenCheck(const attn_kernel_set *pK, const unsigned char *z,
                      int n, int bF16, int bFlush){
  float *aDst = malloc(sizeof(float)*(size_t)(n + 16));
  int i, nBad = 0, bWant = 0, rc;
  for(i=0; i<n+16; i++) aDst[i] = -12345.0f;
#if WIDEN_FLUSH
  if( bFlush ){
    unsigned int uCsr = _mm_getcsr();
    _mm_setcsr(uCsr | 0x8040);                     /* FTZ | DAZ */
    rc = pK->xWidenHalf(aDst, z, n, bF16);
    _mm_setcsr(uCsr);
  }else
#endif
  rc = pK->xWidenHalf(aDst, z, n, bF16);
  (void)bFlush;
  for(i=0; i<n; i++){
    int bFinite;
    float want = (float)halfRef((uint16_t)(z[2*i] | z[2*i+1]<<8), bF16,
                                &bFinite);           /* exact in float */
    if( !bFinite ){ bWant = 1; continue; }
    if( memcmp(&aDst[i], &want, 4)!=0 ){
      if( nBad<3 ) fprintf(stderr, "%s widen %s: element %d of %d is %.9g, "
                           "expected %.9g\n", pK->zName, bF16 ? "f16" : "bf16",
                           i, n, aDst[i], want);
      nBad++;
    }
  }
  if( (rc!=0)!=bWant ) nBad++;
  for(i=n; i<n+16; i++) if( aDst[i]!=-12345.0f ) nBad++;
  free(aDst);
  return nBad;
}

/* Each class of float16 and bfloat16, with the float32 bits written out by
** hand (not from halfRef): ±0, the smallest and largest denormals, the
** smallest normal, 1, the largest finite (65504 for float16), alone and at
** every place of a vector long enough for each level's main loop; the
** refusal of each Inf and a NaN at the same places. */
static int widenClasses(const attn_kernel_set *pK){
  static const struct { uint16_t h; int bF16; uint32_t u; } aCase[] = {
    { 0x0000, 1, 0x00000000u }, { 0x8000, 1, 0x80000000u },
    { 0x0001, 1, 0x33800000u },          /* 2^-24 */
    { 0x8001, 1, 0xb3800000u },
    { 0x03ff, 1, 0x387fc000u },          /* 1023·2^-24 */
    { 0x0400, 1, 0x38800000u },          /* 2^-14 */
    { 0x3c00, 1, 0x3f800000u }, { 0xc000, 1, 0xc0000000u },
    { 0x3555, 1, 0x3eaaa000u },          /* 0.33325195 */
    { 0x7bff, 1, 0x477fe000u },          /* 65504 */
    { 0xfbff, 1, 0xc77fe000u },
    { 0x0000, 0, 0x00000000u }, { 0x8000, 0, 0x80000000u },
    { 0x0001, 0, 0x00010000u },          /* the smallest denormal */
    { 0x007f, 0, 0x007f0000u }, { 0x0080, 0, 0x00800000u },
    { 0x3f80, 0, 0x3f800000u },
    { 0x7f7f, 0, 0x7f7f0000u },          /* 3.38953139e38 */
    { 0xff7f, 0, 0xff7f0000u },
  };
  static const struct { uint16_t h; int bF16; } aBad[] = {
    { 0x7c00, 1 }, { 0xfc00, 1 }, { 0x7e00, 1 }, { 0x7c01, 1 }, { 0xffff, 1 },
    { 0x7f80, 0 }, { 0xff80, 0 }, { 0x7fc0, 0 }, { 0x7f81, 0 }, { 0xffff, 0 },
  };
  unsigned char z[2*40];
  float a[40];
  int c, j, i, nBad = 0;
  for(c=0; c<(int)(sizeof(aCase)/sizeof(aCase[0])); c++){
    for(j=0; j<40; j++){
      int n = j+1 + (j%3)*3;        /* element j of vectors of j+1 .. 40 */
      uint32_t u;
      if( n>40 ) n = 40;
      memset(z, 0, sizeof(z));
      z[2*j] = (unsigned char)aCase[c].h;
      z[2*j+1] = (unsigned char)(aCase[c].h>>8);
      if( pK->xWidenHalf(a, z, n, aCase[c].bF16)!=0 ) nBad++;
      memcpy(&u, &a[j], 4);
      if( u!=aCase[c].u ){
        if( nBad<3 ) fprintf(stderr, "%s widen %s 0x%04x at %d of %d: "
                             "0x%08x, expected 0x%08x\n", pK->zName,
                             aCase[c].bF16 ? "f16" : "bf16", aCase[c].h, j,
                             n, u, aCase[c].u);
        nBad++;
      }
      for(i=0; i<n; i++){
        memcpy(&u, &a[i], 4);
        if( i!=j && u!=0 ) nBad++;
      }
    }
  }
  for(c=0; c<(int)(sizeof(aBad)/sizeof(aBad[0])); c++){
    for(j=0; j<40; j++){
      memset(z, 0, sizeof(z));
      z[2*j] = (unsigned char)aBad[c].h;
      z[2*j+1] = (unsigned char)(aBad[c].h>>8);
      if( pK->xWidenHalf(a, z, 40, aBad[c].bF16)==0 ){
        if( nBad<3 ) fprintf(stderr, "%s widen: 0x%04x at %d not refused\n",
                             pK->zName, aBad[c].h, j);
        nBad++;
      }
    }
  }
  return nBad;
}

static void testWiden(const attn_kernel_set *pK){
  static unsigned char aAll[2*65536 + 1];
  int bF16, nBad = 0, nCase = 0;
  nBad += widenClasses(pK);
  nCase++;
  for(bF16=0; bF16<2; bF16++){
    uint16_t hBad = bF16 ? 0x7c00 : 0x7f80;        /* the exponent field */
    int i, k = 0, n, iAlign;
    /* every finite pattern, at an odd address */
    for(i=0; i<65536; i++){
      if( (i & hBad)==hBad ) continue;
      aAll[1 + 2*k] = (unsigned char)i;
      aAll[2 + 2*k] = (unsigned char)(i>>8);
      k++;
    }
    nBad += widenCheck(pK, aAll + 1, k, bF16, 0);
    nBad += widenCheck(pK, aAll + 1, k, bF16, 1);
    nCase += 2;
    /* lengths, alignments, an Inf or NaN anywhere */
    for(n=0; n<=130; n++){
      for(iAlign=0; iAlign<2; iAlign++){
        int eBad;
        for(eBad=0; eBad<4; eBad++){
          unsigned char *z = aAll + iAlign;
          for(i=0; i<n; i++){
            uint16_t h = (uint16_t)kNext();
            if( (h & hBad)==hBad ) h ^= 0x4000;    /* finite */
            z[2*i] = (unsigned char)h;
            z[2*i+1] = (unsigned char)(h>>8);
          }
          if( eBad && n>0 ){
            int j = eBad==1 ? 0 : eBad==2 ? n-1 : kInt(0, n-1);
            uint16_t h = (uint16_t)(hBad | (kNext() & 0x8000)
                                    | (kInt(0, 1) ? kNext() & ~hBad & 0x7fff : 0));
            z[2*j] = (unsigned char)h;
            z[2*j+1] = (unsigned char)(h>>8);
          }
          nBad += widenCheck(pK, z, n, bF16, 0);
          nCase++;
        }
      }
    }
    for(i=0; i<6; i++){
      n = (int[]){191, 192, 193, 1000, 4099, 65000}[i];
      nBad += widenCheck(pK, aAll + 1 + 2*(i%3), n, bF16, 0);
      nCase++;
    }
  }
#if !WIDEN_FLUSH
  UNIT_SKIP("unit/kernels widen with flushing", "the FPU's flush modes are "
            "only set here on x86-64");
#endif
  printf("%s: widening %d cases, %d mismatches\n", pK->zName, nCase, nBad);
  CHECK(nBad==0);
}

/* The float nearest x in bfloat16 (ties to even), from the format's
** definition in double: 8 significant bits, the quantum of the smallest
** normal below it, Inf past the largest. */
static float roundBf16Ref(float x){
  double a = fabs((double)x), q, r;
  int e;
  if( isinf(x) || a==0.0 ) return x;
  (void)frexp(a, &e);                       /* a in [2^(e-1), 2^e) */
  q = ldexp(1.0, (e-1 < -126 ? -126 : e-1) - 7);
  r = nearbyint(a/q)*q;                     /* ties to even */
  if( r>=ldexp(1.0, 128) ) r = INFINITY;
  return (float)copysign(r, (double)x);
}

/* A float of every class: ±0, denormals, normals of any exponent, ties
** (the 16 low bits 0x8000, with either parity), near FLT_MAX, ±Inf. */
static float roundInput(void){
  uint32_t u = kNext(), sign = u & 0x80000000u;
  float x;
  switch( kInt(0, 7) ){
    case 0: u = sign; break;
    case 1: u = sign | (u & 0x007fffffu); break;           /* denormal */
    case 2:                                                /* a tie */
      u = (u & 0xffff0000u) | 0x8000u;
      if( (u & 0x7f800000u)==0x7f800000u ) u ^= 0x40000000u;
      break;
    case 3: u = sign | (0x7f7f0000u + (kNext() & 0xffffu)); break;
    case 4: u = sign | 0x7f800000u; break;                 /* ±Inf */
    default: if( (u & 0x7f800000u)==0x7f800000u ) u ^= 0x40000000u;
  }
  memcpy(&x, &u, 4);
  return x;
}

/* xRoundBf16 against roundBf16Ref: lengths 0..130 and long ones, in place
** and into another buffer, the floats after the result untouched. */
static void testRound(const attn_kernel_set *pK){
  enum { NMAX = 4099 };
  static float aSrc[NMAX + 16], aDst[NMAX + 16];
  int n, i, nBad = 0, nCase = 0, bInPlace;
  for(n=0; n<=NMAX; n = n<130 ? n+1 : n==130 ? 1000 : NMAX+1){
    for(bInPlace=0; bInPlace<2; bInPlace++){
      float *pOut = bInPlace ? aSrc : aDst;
      float aRef[NMAX];
      for(i=0; i<n; i++) aRef[i] = roundBf16Ref(aSrc[i] = roundInput());
      for(i=n; i<n+16; i++) aSrc[i] = aDst[i] = -12345.0f;
      pK->xRoundBf16(pOut, aSrc, n);
      for(i=0; i<n; i++){
        if( memcmp(&pOut[i], &aRef[i], 4)!=0 ){
          if( nBad++<3 ){
            fprintf(stderr, "%s: round %.9g gave %.9g, expected %.9g\n",
                    pK->zName, (double)aSrc[i], (double)pOut[i],
                    (double)aRef[i]);
          }
        }
      }
      for(i=n; i<n+16; i++) if( pOut[i]!=-12345.0f ) nBad++;
      nCase++;
    }
  }
  printf("%s: bf16 rounding %d cases, %d mismatches\n", pK->zName, nCase,
         nBad);
  CHECK(nBad==0);
}

/* xGemm on one shape against float64. */
static int gemmCase(const attn_kernel_set *pK, int m, int n, int k, int bAccum){
  int lda = k + kInt(0, 3), ldb = n + kInt(0, 3), ldc = n + kInt(0, 3);
  float *A = malloc(sizeof(float)*(size_t)(m*lda + 1));
  float *B = malloc(sizeof(float)*(size_t)(k*ldb + 1));
  float *C = malloc(sizeof(float)*(size_t)(m*ldc + 1));
  float *C0 = malloc(sizeof(float)*(size_t)(m*ldc + 1));
  int i, j, p, nBad = 0;
  for(i=0; i<m*lda; i++) A[i] = kUniform();
  for(i=0; i<k*ldb; i++) B[i] = kUniform();
  for(i=0; i<m*ldc; i++) C0[i] = C[i] = kUniform();
  pK->xGemm(m, n, k, A, lda, B, ldb, C, ldc, bAccum);
  if( pK!=attn_kernels_scalar() ){
    float *C1 = malloc(sizeof(float)*(size_t)(m*ldc + 1));
    memcpy(C1, C0, sizeof(float)*(size_t)(m*ldc));
    attn_kernels_scalar()->xGemm(m, n, k, A, lda, B, ldb, C1, ldc, bAccum);
    if( memcmp(C1, C, sizeof(float)*(size_t)(m*ldc))!=0 ){
      if( nBad<3 ) fprintf(stderr, "%s gemm %dx%dx%d acc %d: not the bits of "
                           "the scalar level\n", pK->zName, m, n, k, bAccum);
      nBad++;
    }
    free(C1);
  }
  for(i=0; i<m; i++){
    for(j=0; j<ldc; j++){
      double s = bAccum ? C0[i*ldc+j] : 0.0, mag = fabs(s);
      if( j>=n ){
        if( C[i*ldc+j]!=C0[i*ldc+j] ) nBad++;     /* padding untouched */
        continue;
      }
      for(p=0; p<k; p++){
        s += (double)A[i*lda+p]*(double)B[p*ldb+j];
        mag += fabs((double)A[i*lda+p]*(double)B[p*ldb+j]);
      }
      /* k FMA roundings of partial sums at most mag: k·2^-24·mag */
      if( fabs(C[i*ldc+j]-s) > (k+1)*ldexp(mag, -24) + 1e-37 ){
        if( nBad<3 ){
          fprintf(stderr, "%s gemm %dx%dx%d acc %d: C[%d][%d] = %.9g, "
                  "expected %.9g\n", pK->zName, m, n, k, bAccum, i, j,
                  C[i*ldc+j], s);
        }
        nBad++;
      }
    }
  }
  /* bf16: against float64 of the rounded inputs, and the scalar bits */
  {
    float *C2 = malloc(sizeof(float)*(size_t)(m*ldc + 1));
    memcpy(C2, C0, sizeof(float)*(size_t)(m*ldc));
    pK->xGemmBf16(m, n, k, A, lda, B, ldb, C2, ldc, bAccum);
    if( pK!=attn_kernels_scalar() && strstr(pK->zBf16, "emulated") ){
      memcpy(C, C0, sizeof(float)*(size_t)(m*ldc));
      attn_kernels_scalar()->xGemmBf16(m, n, k, A, lda, B, ldb, C, ldc, bAccum);
      if( memcmp(C, C2, sizeof(float)*(size_t)(m*ldc))!=0 ){
        if( nBad<3 ) fprintf(stderr, "%s gemm bf16: not the bits of the "
                             "scalar level\n", pK->zName);
        nBad++;
      }
    }
    for(i=0; i<m; i++){
      for(j=0; j<ldc; j++){
        double s = bAccum ? C0[i*ldc+j] : 0.0, mag = fabs(s);
        if( j>=n ){
          if( C2[i*ldc+j]!=C0[i*ldc+j] ) nBad++;
          continue;
        }
        for(p=0; p<k; p++){
          double t = (double)attn_bf16_f32(attn_bf16(A[i*lda+p]))
                   * (double)attn_bf16_f32(attn_bf16(B[p*ldb+j]));
          s += t;
          mag += fabs(t);
        }
        if( fabs(C2[i*ldc+j]-s) > (k+1)*ldexp(mag, -24) + 1e-37 ){
          if( nBad<3 ){
            fprintf(stderr, "%s gemm bf16 %dx%dx%d: C[%d][%d] = %.9g, "
                    "expected %.9g\n", pK->zName, m, n, k, i, j,
                    C2[i*ldc+j], s);
          }
          nBad++;
        }
      }
    }
    free(C2);
  }
  free(A); free(B); free(C); free(C0);
  return nBad;
}

/*
** Flash attention.
*/
typedef struct FlashCase FlashCase;
struct FlashCase {
  int nq, dk, dv;
  int64_t nKey;
  int bCausal;
  int64_t nWindow;
  int bSides;        /* instead: keys from nL before to nR after the query */
  int64_t nL, nR;
  float rSlope;
  double rSoftcap;
  int ePos;          /* 0 the block's own rows 0..n, 1 gaps and repeats,
                     ** 2 queries before the keys, 3 near +2^53 with gaps,
                     ** 4 near -2^53 with gaps */
  int bOverflow;     /* one key so large that its scores are +Inf */
  int bBias;         /* a bias per key (aBias, filled by flashCase) */
  float *aBias;
  int bSink;         /* a sink of logit rSink */
  float rSink;
};

/* Is key position kpos allowed for query position qpos? (written here, not
** taken from kernels.h) */
static int refAllowed(const FlashCase *fc, int64_t qpos, int64_t kpos){
  if( fc->bSides ) return kpos>=qpos-fc->nL && kpos<=qpos+fc->nR;
  if( fc->bCausal && kpos>qpos ) return 0;
  if( fc->nWindow>0 ){
    int64_t dd = qpos>kpos ? qpos-kpos : kpos-qpos;
    if( dd>=fc->nWindow ) return 0;
  }
  return 1;
}

static double flashWorst = 0.0;     /* largest error / bound seen */

/* The float64 reference of one row against what the kernel gave; returns
** mismatches. */
static int flashRefRow(const FlashCase *fc, const float *q, const float *kp,
                       const float *v, int64_t ldv, const int64_t *aKPos,
                       int64_t qpos, int64_t ref, const float *o, float lse,
                       double uP, const char *zLevel, int r){
  const double u = ldexp(1.0, -24);
  const int dk = fc->dk, dv = fc->dv;
  const int64_t n = fc->nKey;
  double *s = malloc(sizeof(double)*(size_t)n), mx = -INFINITY, mn = INFINITY;
  double sAbs = 0.0, bMax = 0.0, sMaxAbs = 0.0, l = 0.0, dS, gk, gn, xr;
  double sBiasAbs = 0.0, sk = 0.0;
  int64_t j;
  int d, nBad = 0, nAllowed = 0;
  for(j=0; j<n; j++){
    double x = 0.0, a = 0.0;
    if( !refAllowed(fc, qpos, aKPos[j]) ){ s[j] = -INFINITY; continue; }
    nAllowed++;
    for(d=0; d<dk; d++){
      double t = (double)q[d]*(double)kp[(j/ATTN_PANEL)*ATTN_PANEL*dk
                                          + d*ATTN_PANEL + j%ATTN_PANEL];
      x += t;
      a += fabs(t);
    }
    if( a>sAbs ) sAbs = a;
    if( fc->rSoftcap>0.0 ) x = fc->rSoftcap*tanh(x/fc->rSoftcap);
    if( fabs(x)>sMaxAbs ) sMaxAbs = fabs(x);
    if( fc->rSlope!=0.0f ){
      int64_t dd = qpos>aKPos[j] ? qpos-aKPos[j] : aKPos[j]-qpos;
      double b = (double)fc->rSlope*(double)(dd - ref);
      x -= b;
      if( fabs(b)>bMax ) bMax = fabs(b);
    }
    if( fc->bBias ){
      x += (double)fc->aBias[j];      /* one more rounding, of |x| */
      if( fabs(x)>sBiasAbs ) sBiasAbs = fabs(x);
    }
    s[j] = x;
    if( x>mx ) mx = x;
  }
  if( nAllowed==0 ){
    if( lse!=-INFINITY ) nBad++;
    for(d=0; d<dv; d++) if( o[d]!=0.0f ) nBad++;
    if( nBad ) fprintf(stderr, "%s flash: row %d has no key, lse %g\n", zLevel,
                       r, lse);
    free(s);
    return nBad;
  }
  if( fc->bSink ){
    /* the sink: one more term of value 0, in the rows' ALiBi frame */
    sk = (double)fc->rSink + (double)fc->rSlope*(double)ref;
    if( sk>mx ) mx = sk;
    l += exp(sk-mx);
    if( sk-mx>-104.0 && sk<mn ) mn = sk;
  }
  for(j=0; j<n; j++){
    if( s[j]>-INFINITY ){
      l += exp(s[j]-mx);
      if( s[j]-mx>-104.0 && s[j]<mn ) mn = s[j];
    }
  }
  /* The bound (see the file's header in test/unit/kernels.c and
  ** docs/testing.md): a score is a dk-term FMA dot product (gk·sAbs), the
  ** softcap and ALiBi add a few roundings of their sizes; exp(s − m) is
  ** off by the rounding of its argument (xr) and 1.03 ulp; each weight is
  ** off by at most dS + xr relative, so o by twice that times Σ w|v|, and
  ** the n-term sums of P·V and l add gn each. */
  gk = dk*u/(1.0-dk*u);
  gn = (double)n*u/(1.0-(double)n*u);
  xr = (mx-mn + 4.0)*u;
  dS = gk*sAbs + (fc->rSoftcap>0.0 ? 4.0*u*sMaxAbs : 0.0) + 3.0*u*bMax
     + u*(fabs(mx)+sMaxAbs) + u*sBiasAbs
     + (fc->bSink ? 3.0*u*fabs(sk) : 0.0);   /* the sink rounded once, and
                                              ** its rescale */
  for(d=0; d<dv; d++){
    double acc = 0.0, accAbs = 0.0, bound, err;
    for(j=0; j<n; j++){
      if( s[j]>-INFINITY ){
        double w = exp(s[j]-mx)/l;
        acc += w*(double)v[j*ldv + d];
        accAbs += w*fabs((double)v[j*ldv + d]);
      }
    }
    /* uP: each P rounded (bf16: 2^-8 relative) before P·V, l not */
    bound = (2.0*(dS + xr) + 2.0*gn + 6.0*u + uP)*accAbs + 1e-37;
    err = fabs((double)o[d] - acc);
    if( !(err<=bound) ){
      if( nBad<3 ) fprintf(stderr, "%s flash: row %d o[%d] = %.9g, float64 "
          "%.9g, error %.3g > bound %.3g\n", zLevel, r, d, o[d], acc, err,
          bound);
      nBad++;
    }else if( accAbs>0.0 && err/bound>flashWorst ){
      flashWorst = err/bound;
    }
  }
  {
    /* the lse of the keys alone: the kernel leaves the sink to the caller
    ** (kernels.h) */
    double mxK = -INFINITY, lK = 0.0, want, bound, err;
    for(j=0; j<n; j++) if( s[j]>mxK ) mxK = s[j];
    for(j=0; j<n; j++) if( s[j]>-INFINITY ) lK += exp(s[j]-mxK);
    want = mxK + log(lK);
    bound = dS + xr + 2.0*gn + u*fabs(want) + 1e-30;
    err = fabs((double)lse - want);
    if( !(err<=bound) ){
      fprintf(stderr, "%s flash: row %d lse = %.9g, float64 %.9g, error %.3g "
              "> bound %.3g\n", zLevel, r, lse, want, err, bound);
      nBad++;
    }
  }
  free(s);
  return nBad;
}

/* The distance from qpos to its nearest allowed key (the ALiBi reference
** the engine passes; any per-row constant gives the same softmax). */
static int64_t refNearest(const FlashCase *fc, const int64_t *aKPos,
                          int64_t qpos){
  int64_t j, best = -1;
  for(j=0; j<fc->nKey; j++){
    if( refAllowed(fc, qpos, aKPos[j]) ){
      int64_t dd = qpos>aKPos[j] ? qpos-aKPos[j] : aKPos[j]-qpos;
      if( best<0 || dd<best ) best = dd;
    }
  }
  return best<0 ? 0 : best;
}

/* Where row r of a call's outputs goes (kernels.h: blocks of 64 rows). */
#define OROW(r) (((r)/ATTN_BLOCK_Q)*ldoBlock + ((r)%ATTN_BLOCK_Q)*ldo)
#define LROW(r) (((r)/ATTN_BLOCK_Q)*ldLseBlock + ((r)%ATTN_BLOCK_Q)*ldLse)

/* The bf16 kernel on the call a (set up for float32): q, k and v rounded
** to bf16 in the layouts of kernels.h, against the float64 reference of the
** rounded inputs (P's rounding allowed for) and the scalar level's bits. */
static int flashBf16(const attn_kernel_set *pK, const FlashCase *fc,
                     const attn_flash_args *a, const float *q, int64_t ldq,
                     const float *kp, const float *v, int64_t ldv,
                     const int64_t *aQPos, const int64_t *aKPos,
                     const int64_t *aRef){
  const attn_kernel_set *pScalar = attn_kernels_scalar();
  const int nq = fc->nq, dk = fc->dk, dv = fc->dv;
  const int64_t nKey = fc->nKey, ldo = a->ldo, ldLse = a->ldLse;
  const int64_t ldoBlock = a->ldoBlock, ldLseBlock = a->ldLseBlock;
  int64_t nPanel = (nKey + ATTN_PANEL-1)/ATTN_PANEL;
  int64_t ldk = attn_round_up(dk, ATTN_BF16_DIM_PAD);
  int64_t nKPad = attn_round_up(nKey, ATTN_BF16_KEY_PAD);
  int64_t nVRow = attn_round_up(dv, ATTN_BF16_VROW_PAD), ldvt = nKPad;
  int nBlk = (nq + ATTN_BLOCK_Q-1)/ATTN_BLOCK_Q;
  int64_t nO = nBlk*ldoBlock + 4, nL = nBlk*ldLseBlock, j;
  float *qr = malloc(sizeof(float)*(size_t)(nq*ldq));
  float *kr = calloc((size_t)(nPanel*ATTN_PANEL*dk), sizeof(float));
  float *vr = malloc(sizeof(float)*(size_t)(nKey*ldv));
  uint16_t *kb = calloc((size_t)(nKPad*ldk), 2);
  uint16_t *vt = calloc((size_t)(nVRow*ldvt), 2);
  float *o1 = malloc(sizeof(float)*(size_t)nO), *o2 = malloc(sizeof(float)*(size_t)nO);
  float *l1 = malloc(sizeof(float)*(size_t)nL), *l2 = malloc(sizeof(float)*(size_t)nL);
  attn_flash_args b = *a;
  int r, d, nBad = 0;
  for(j=0; j<nq*ldq; j++) qr[j] = attn_bf16_f32(attn_bf16(q[j]));
  for(j=0; j<nKey; j++){
    for(d=0; d<dk; d++){
      int64_t i = (j/ATTN_PANEL)*ATTN_PANEL*dk + d*ATTN_PANEL + j%ATTN_PANEL;
      uint16_t h = attn_bf16(kp[i]);
      kr[i] = attn_bf16_f32(h);
      kb[j*ldk + d] = h;
    }
    for(d=0; d<dv; d++){
      uint16_t h = attn_bf16(v[j*ldv + d]);
      vr[j*ldv + d] = attn_bf16_f32(h);
      vt[d*ldvt + j] = h;
    }
  }
  b.kBf16 = kb; b.ldk = ldk; b.vtBf16 = vt; b.ldvt = ldvt;
  b.kPacked = 0; b.v = 0;
  for(j=0; j<nO; j++) o1[j] = o2[j] = 12345.0f;
  for(j=0; j<nL; j++) l1[j] = l2[j] = 777.0f;
  b.o = o2; b.aLse = l2;
  pK->xFlashBf16(&b);
  /* levels that compute bf16 pairs in hardware round their sums their own
  ** way: only the reference bound holds for them, not the scalar bits */
  if( pK!=pScalar && strstr(pK->zBf16, "emulated") ){
    b.o = o1; b.aLse = l1;
    pScalar->xFlashBf16(&b);
    if( memcmp(o1, o2, sizeof(float)*(size_t)nO)!=0
     || memcmp(l1, l2, sizeof(float)*(size_t)nL)!=0 ){
      fprintf(stderr, "%s flash bf16: not the bits of the scalar level\n",
              pK->zName);
      nBad++;
    }
  }
  for(r=0; r<nq && !fc->bOverflow; r++){
    nBad += flashRefRow(fc, qr + r*ldq, kr, vr, ldv, aKPos, aQPos[r], aRef[r],
                        o2 + OROW(r), l2[LROW(r)], ldexp(1.0, -8), "bf16", r);
  }
  free(qr); free(kr); free(vr); free(kb); free(vt);
  free(o1); free(o2); free(l1); free(l2);
  return nBad;
}

/* One random flash call (up to ATTN_FLASH_BLOCKS blocks) at level pK: the
** reference, the scalar level's bits, and each block's bits when it is
** computed alone. */
static int flashCase(const attn_kernel_set *pK, const FlashCase *fc,
                     int *pnEmpty){
  const attn_kernel_set *pScalar = attn_kernels_scalar();
  int nq = fc->nq, dk = fc->dk, dv = fc->dv, r, d;
  int64_t nKey = fc->nKey, nPanel = (nKey + ATTN_PANEL-1)/ATTN_PANEL, j;
  int64_t ldq = dk + kInt(0, 5), ldv = dv + kInt(0, 5);
  int64_t ldo = dv + 4 + kInt(0, 5), ldLse = 1 + kInt(0, 2);
  int64_t ldoBlock = ATTN_BLOCK_Q*ldo + kInt(0, 7);
  int64_t ldLseBlock = ATTN_BLOCK_Q*ldLse + kInt(0, 3);
  int nBlk = (nq + ATTN_BLOCK_Q-1)/ATTN_BLOCK_Q;
  int64_t nO = nBlk*ldoBlock + 4, nL = nBlk*ldLseBlock;
  int64_t nScratch = ATTN_FLASH_SCRATCH(dk, dv, nBlk);
  const int64_t P53 = (int64_t)1<<53;
  float *q = malloc(sizeof(float)*(size_t)(nq*ldq));
  float *kp = calloc((size_t)(nPanel*ATTN_PANEL*dk), sizeof(float));
  float *v = malloc(sizeof(float)*(size_t)(nKey*ldv));
  float *o1 = malloc(sizeof(float)*(size_t)nO);
  float *o2 = malloc(sizeof(float)*(size_t)nO);
  float *l1 = malloc(sizeof(float)*(size_t)nL);
  float *l2 = malloc(sizeof(float)*(size_t)nL);
  float *aScratch = attn_malloc_aligned(sizeof(float)*(uint64_t)nScratch);
  int64_t *aQPos = malloc(sizeof(int64_t)*(size_t)nq);
  int64_t *aKPos = malloc(sizeof(int64_t)*(size_t)nKey);
  int64_t *aRef = malloc(sizeof(int64_t)*(size_t)nq);
  attn_flash_args a;
  FlashCase fcBias;
  float *aBias = 0;
  int nBad = 0;
  float rScale = (float)(2.0/sqrt((double)dk));
  for(r=0; r<nq*ldq; r++) q[r] = kUniform()*rScale;
  for(j=0; j<nKey; j++){
    for(d=0; d<dk; d++){
      kp[(j/ATTN_PANEL)*ATTN_PANEL*dk + d*ATTN_PANEL + j%ATTN_PANEL] = kUniform()*2.0f;
    }
  }
  if( fc->bOverflow ){
    for(r=0; r<nq*ldq; r++) q[r] = 0.5f;
    j = nKey/2;
    for(d=0; d<dk; d++){
      kp[(j/ATTN_PANEL)*ATTN_PANEL*dk + d*ATTN_PANEL + j%ATTN_PANEL] = 3e38f;
    }
  }
  for(j=0; j<nKey*ldv; j++) v[j] = kUniform();
  if( fc->bBias ){
    /* biases of a few units, and now and then a huge negative one */
    fcBias = *fc;
    fcBias.aBias = aBias = malloc(sizeof(float)*(size_t)nKey);
    for(j=0; j<nKey; j++) aBias[j] = kInt(0, 9)==0 ? -1e30f : kUniform()*3.0f;
    fc = &fcBias;
  }
  /* Positions, ascending on both sides. */
  for(j=0; j<nKey; j++){
    switch( fc->ePos ){
      case 1: aKPos[j] = (j ? aKPos[j-1] : -5) + kInt(0, 3); break;
      case 3: aKPos[j] = (j ? aKPos[j-1] : P53 - 4000) + kInt(0, 9); break;
      case 4: aKPos[j] = (j ? aKPos[j-1] : -P53) + kInt(0, 9); break;
      default: aKPos[j] = j; break;
    }
  }
  for(r=0; r<nq; r++){
    switch( fc->ePos ){
      case 0: aQPos[r] = nKey>nq ? nKey-nq+r : r; break;
      case 1: aQPos[r] = (r ? aQPos[r-1] : aKPos[0] - 3) + kInt(0, 4); break;
      case 2: aQPos[r] = -(int64_t)nq + r + (r>nq/2 ? nKey/2+r : 0); break;
      case 3: aQPos[r] = r ? aQPos[r-1] + kInt(0, 30) : P53 - 3000; break;
      default: aQPos[r] = r ? aQPos[r-1] + kInt(0, 30) : -P53 + kInt(0, 50);
    }
    if( aQPos[r]>P53 ) aQPos[r] = P53;
  }
  for(r=0; r<nq; r++) aRef[r] = refNearest(fc, aKPos, aQPos[r]);
  memset(&a, 0, sizeof(a));
  a.nQuery = nq; a.nKey = nKey; a.nDimK = dk; a.nDimV = dv;
  a.q = q; a.ldq = ldq; a.kPacked = kp; a.v = v; a.ldv = ldv;
  a.aQPos = aQPos; a.aKPos = aKPos;
  /* the kernel's bounds (kernels.h) */
  a.nLeft = a.nRight = ATTN_WINDOW_ALL;
  if( fc->nWindow>0 ) a.nLeft = a.nRight = fc->nWindow-1;
  if( fc->bCausal ) a.nRight = 0;
  if( fc->bSides ){ a.nLeft = fc->nL; a.nRight = fc->nR; }
  a.rSlope = fc->rSlope; a.aAlibiRef = aRef;
  a.aKBias = fc->bBias ? fc->aBias : 0;
  a.bSink = fc->bSink; a.rSink = fc->rSink;
  attn_softcap_init(&a.cap, fc->rSoftcap);
  a.ldo = ldo; a.ldLse = ldLse; a.aScratch = aScratch;
  a.ldoBlock = ldoBlock; a.ldLseBlock = ldLseBlock;
  for(j=0; j<nO; j++) o1[j] = o2[j] = 12345.0f;
  for(j=0; j<nL; j++) l1[j] = l2[j] = 777.0f;
  for(j=0; j<nScratch; j++) aScratch[j] = NAN;
  a.o = o2; a.aLse = l2;
  pK->xFlash(&a);
  if( pK!=pScalar ){
    for(j=0; j<nScratch; j++) aScratch[j] = NAN;
    a.o = o1; a.aLse = l1;
    pScalar->xFlash(&a);
    if( memcmp(o1, o2, sizeof(float)*(size_t)nO)!=0
     || memcmp(l1, l2, sizeof(float)*(size_t)nL)!=0 ){
      if( nBad<3 ) fprintf(stderr, "%s flash: not the bits of the scalar "
                           "level\n", pK->zName);
      nBad++;
    }
  }
  /* Each block alone, into o1/l1: the same bits as in the call. */
  if( nBlk>1 ){
    int b;
    for(j=0; j<nO; j++) o1[j] = 12345.0f;
    for(j=0; j<nL; j++) l1[j] = 777.0f;
    for(b=0; b<nBlk; b++){
      attn_flash_args a1 = a;
      a1.nQuery = nq-b*ATTN_BLOCK_Q < ATTN_BLOCK_Q ? nq-b*ATTN_BLOCK_Q
                                                   : ATTN_BLOCK_Q;
      a1.q = q + (int64_t)b*ATTN_BLOCK_Q*ldq;
      a1.aQPos = aQPos + b*ATTN_BLOCK_Q;
      a1.aAlibiRef = aRef + b*ATTN_BLOCK_Q;
      a1.o = o1 + b*ldoBlock;
      a1.aLse = l1 + b*ldLseBlock;
      pK->xFlash(&a1);
    }
    if( memcmp(o1, o2, sizeof(float)*(size_t)nO)!=0
     || memcmp(l1, l2, sizeof(float)*(size_t)nL)!=0 ){
      if( nBad<3 ) fprintf(stderr, "%s flash: %d blocks in one call are not "
                           "the bits of each block alone\n", pK->zName, nBlk);
      nBad++;
    }
  }
  for(j=0; j<nO; j++){
    /* the padding between rows and blocks is untouched */
    int64_t rb = j/ldoBlock, ro = (j%ldoBlock)/ldo, c = (j%ldoBlock)%ldo;
    int bRow = j<nBlk*ldoBlock && ro<ATTN_BLOCK_Q && rb*ATTN_BLOCK_Q+ro<nq;
    if( (!bRow || c>=dv) && o2[j]!=12345.0f ){ nBad++; break; }
  }
  for(r=0; r<nq; r++){
    float e2 = l2[LROW(r)];
    if( fc->bOverflow ){
      if( !isnan(e2) ){
        if( nBad<3 ) fprintf(stderr, "%s flash: row %d saw a score of +Inf "
                             "but has lse %g\n", pK->zName, r, e2);
        nBad++;
      }
      continue;
    }
    if( e2==-INFINITY ) (*pnEmpty)++;
    nBad += flashRefRow(fc, q + r*ldq, kp, v, ldv, aKPos, aQPos[r], aRef[r],
                        o2 + OROW(r), e2, 0.0, pK->zName, r);
  }
  nBad += flashBf16(pK, fc, &a, q, ldq, kp, v, ldv, aQPos, aKPos, aRef);
  if( nBad ){
    fprintf(stderr, "  in flash case nq %d nKey %lld dk %d dv %d causal %d "
            "window %lld sides %d (%lld, %lld) slope %g softcap %g pos %d "
            "overflow %d bias %d sink %d (%g)\n", nq, (long long)nKey, dk, dv,
            fc->bCausal, (long long)fc->nWindow, fc->bSides,
            (long long)fc->nL, (long long)fc->nR, fc->rSlope, fc->rSoftcap,
            fc->ePos, fc->bOverflow, fc->bBias, fc->bSink, fc->rSink);
  }
  free(q); free(kp); free(v); free(o1); free(o2); free(l1); free(l2);
  attn_free_aligned(aScratch); free(aQPos); free(aKPos); free(aRef);
  free(aBias);
  return nBad;
}

static void testFlash(const attn_kernel_set *pK){
  static const int aDim[] = { 1, 3, 16, 17, 64, 100 };
  static const double aCap[] = { 1e-50, 1e-3, 0.5, 5.0, 30.0, 1e3, 1e20,
                                 1e39 };
  /* 400 cases; under a sanitizer 120 (every class, fewer draws: the plain
  ** pass ran all 400 at every level). */
  int i, nBad = 0, nEmpty = 0, nCase = getenv("ATTN_SANITIZER") ? 120 : 400;
  for(i=0; i<nCase; i++){
    FlashCase fc;
    int e = i%10;
    memset(&fc, 0, sizeof(fc));
    fc.nq = i<9 ? (int[]){1, 64, 15, 16, 17, 63, 65, 128, 256}[i]
          : i%4==0 ? kInt(65, ATTN_BLOCK_Q*ATTN_FLASH_BLOCKS) : kInt(1, 64);
    fc.nKey = i%5==0 ? kInt(1, 20) : kInt(1, 300);
    fc.dk = aDim[kInt(0, 5)];
    fc.dv = (i%3==0) ? aDim[kInt(0, 5)] : fc.dk;
    fc.ePos = i%5;
    if( e==1 || e==3 || e==8 ) fc.bCausal = 1;
    if( e==2 || e==3 ) fc.nWindow = kInt(1, 70);
    if( e==4 ) fc.rSlope = 0.0625f*(float)kInt(1, 8);
    if( e==5 ){ fc.rSoftcap = aCap[kInt(0, 7)]; fc.bCausal = i&1; }
    if( e==6 ){ fc.rSlope = 0.5f; fc.rSoftcap = 5.0f; fc.nWindow = kInt(1, 9); }
    if( e==7 ) fc.nWindow = ATTN_WINDOW_ALL - kInt(1, 3);
    if( e==8 ){ fc.nWindow = ATTN_WINDOW_ALL - 1; fc.rSlope = 0.25f; }
    if( (e==0 || e==5 || e==6) && i%20>=10 ) fc.bBias = 1;
    if( (e==1 || e==4 || e==6) && i%3==0 ){
      fc.bSink = 1;
      fc.rSink = (float)kInt(-8, 8)*0.5f;
    }
    if( (e==2 || e==4) && i%20>=10 ){
      /* asymmetric: either side 0 to 70, or unbounded */
      fc.bSides = 1;
      fc.nL = kInt(0, 3)==0 ? ATTN_WINDOW_ALL : kInt(0, 70);
      fc.nR = kInt(0, 3)==0 ? ATTN_WINDOW_ALL : kInt(0, 70);
    }
    if( e==9 && i%20==9 ){ fc.bOverflow = 1; fc.dk = 64; fc.dv = 16; }
    nBad += flashCase(pK, &fc, &nEmpty);
  }
  CHECK(nBad==0);
  CHECK(nEmpty>0);        /* the -inf rows were exercised */
  if( nBad ) fprintf(stderr, "%s: %d flash mismatches\n", pK->zName, nBad);
}

static void testGemm(const attn_kernel_set *pK){
  int i, nBad = 0;
  for(i=0; i<60; i++){
    int m = kInt(1, 70), n = kInt(1, 300), k = kInt(1, 300);
    nBad += gemmCase(pK, m, n, k, i&1);
  }
  nBad += gemmCase(pK, 64, 384, 384, 0);
  nBad += gemmCase(pK, 13, 64, 129, 1);
  nBad += gemmCase(pK, 1, 1, 1, 0);
  nBad += gemmCase(pK, 1, 384, 384, 0);      /* few rows: B not packed */
  nBad += gemmCase(pK, 3, 17, 100, 1);
  nBad += gemmCase(pK, 4, 300, 7, 0);
  nBad += gemmCase(pK, 5, 33, 130, 1);
  nBad += gemmCase(pK, 7, 16, 256, 0);
  nBad += gemmCase(pK, 7, 64, 600, 1);       /* several panels of k */
  CHECK(nBad==0);
  if( nBad ) fprintf(stderr, "%s: %d gemm mismatches\n", pK->zName, nBad);
}

static void testLevel(const attn_kernel_set *pK){
  int nBad;
  double ulp;
  testCopy(pK);
  testWiden(pK);
  testRound(pK);
  ulp = expUlp(pK, 0, &nBad);
  printf("NOTE %s: exp max error %.3f ulp over [-87, 0], %.2f of the bound "
         "2 ulp\n", pK->zName, ulp, ulp/2.0);
  CHECK(nBad==0);
  CHECK(ulp<=2.0);
  ulp = expUlp(pK, 1, &nBad);
  printf("NOTE %s: bf16 P's exp max error %.3f ulp over [-87, 8], %.2f of "
         "the bound 4 ulp\n", pK->zName, ulp, ulp/4.0);
  CHECK(nBad==0);
  CHECK(ulp<=4.0);
  testGemm(pK);
  flashWorst = 0.0;
  testFlash(pK);
  printf("NOTE %s: flash worst error %.3g of its float64 bound\n", pK->zName,
         flashWorst);
}

int main(void){
  const char *z = attn_kernels_built();
  printf("kernels built: %s; this CPU runs: %s\n", z,
         attn_kernels_available());
  while( *z ){
    char zName[32];
    int n = 0;
    const attn_kernel_set *pK;
    while( z[n] && z[n]!=' ' ) n++;
    snprintf(zName, sizeof(zName), "%.*s", n, z);
    z += n;
    while( *z==' ' ) z++;
    pK = attn_kernels_level(zName);
    if( pK ){
      testLevel(pK);
    }else{
      char zLabel[64], zWhy[96];
      snprintf(zLabel, sizeof(zLabel), "unit/kernels [%s]", zName);
      snprintf(zWhy, sizeof(zWhy), "this CPU cannot run the %s level "
               "(it is built)", zName);
      UNIT_SKIP(zLabel, zWhy);
    }
  }
  return UNIT_DONE();
}
