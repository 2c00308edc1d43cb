/*
** kernels.c: unit tests of the SIMD kernel sets against the scalar one.
**
** The program itself loops over every kernel set the CPU supports (from
** attn_kernels_available(); ATTN_KERNEL is ignored), so test/all.tcl runs
** it once.  For each SIMD set:
**   - xGemm against a float64 product on awkward shapes (m 1..70, n and k
**     1..300, ragged leading dimensions, C = A·B and C += A·B);
**   - xFlash against the scalar xFlash on random blocks: nQuery 1..64,
**     nKey 1..300, head widths 1, 3, 16, 17, 64, 100 (and differing k/v
**     widths), causal, window, both, ALiBi, softcap, positions with gaps
**     and repeats, query blocks that see no key (lse = -inf, o = 0),
**     strided q, v, o and lse; scratch filled with NaN first, and the
**     columns around each o row checked untouched;
**   - xExp over [-87, 0]: the largest error in ulp against exp() in double
**     (every 61st float bit pattern in the range, plus a uniform grid),
**     exactly 0 below ATTN_EXP_FLUSH and for -inf, never a denormal.
** For every set, the scalar one included:
**   - xCopyNonFinite against isfinite() on each element: lengths 0..130
**     and a few long ones, sources misaligned by 0..3 bytes, finite edge
**     values (±0, denormals, ±FLT_MAX) and each kind of NaN and Inf at the
**     first, last or a random element; the copy must equal the source
**     bytes and leave the floats after it untouched; with no destination
**     the answer must be the same.
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

/* Largest ulp error of xExp over [-87, 0]; checks flushing. */
static double expUlp(const attn_kernel_set *pK, int *pnBad){
  enum { NBUF = 4096 };
  static float aIn[NBUF], aOut[NBUF];
  double mx = 0.0;
  int n = 0, i, nBad = 0;
  uint32_t u;
  double x;
  /* Every 61st bit pattern of [-87, -0] (sign bit set), then a uniform grid. */
  union { float f; uint32_t u; } lo, cur;
  lo.f = -87.0f;
  for(u=0x80000000u; ; u+=61){
    int bLast = u>=lo.u;
    cur.u = bLast ? lo.u : u;
    aIn[n++] = cur.f;
    if( n==NBUF || bLast ){
      memcpy(aOut, aIn, sizeof(float)*(size_t)n);
      pK->xExp(aOut, n);
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
  for(x=-87.0; x<=0.0; x+=1.0/4096){
    aIn[n++] = (float)x;
    if( n==NBUF || x+1.0/4096>0.0 ){
      memcpy(aOut, aIn, sizeof(float)*(size_t)n);
      pK->xExp(aOut, n);
      for(i=0; i<n; i++){
        double e = exp((double)aIn[i]);
        double err = fabs((double)aOut[i] - e)/ldexp(1.0, ilogb(e) - 23);
        if( err>mx ) mx = err;
        if( aOut[i]<FLT_MIN ) nBad++;
      }
      n = 0;
    }
  }
  /* Below the flush threshold: exactly 0.  At 0: exactly 1. */
  {
    float a[8] = { -87.0001f, -87.5f, -88.0f, -100.0f, -1e30f, -INFINITY,
                   0.0f, -0.0f };
    pK->xExp(a, 8);
    for(i=0; i<6; i++) if( a[i]!=0.0f ) nBad++;
    if( a[6]!=1.0f || a[7]!=1.0f ) nBad++;
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
      if( fabs(C[i*ldc+j]-s) > 1e-6*mag + 1e-30 ){
        if( nBad<3 ){
          fprintf(stderr, "%s gemm %dx%dx%d acc %d: C[%d][%d] = %.9g, "
                  "expected %.9g\n", pK->zName, m, n, k, bAccum, i, j,
                  C[i*ldc+j], s);
        }
        nBad++;
      }
    }
  }
  free(A); free(B); free(C); free(C0);
  return nBad;
}

/* One random flash block, SIMD set pK against scalar. */
typedef struct FlashCase FlashCase;
struct FlashCase {
  int nq, dk, dv;
  int64_t nKey;
  int bCausal;
  int64_t nWindow;
  float rSlope, rSoftcap;
  int ePos;            /* 0 self 0..n, 1 gaps/repeats, 2 queries before keys */
};

static int flashCase(const attn_kernel_set *pK, const FlashCase *fc,
                     int *pnEmpty){
  int nq = fc->nq, dk = fc->dk, dv = fc->dv, r, d;
  int64_t nKey = fc->nKey, nPanel = (nKey + ATTN_PANEL-1)/ATTN_PANEL, j;
  int64_t ldq = dk + kInt(0, 5), ldv = dv + kInt(0, 5);
  int64_t ldo = dv + 4 + kInt(0, 5), ldLse = 1 + kInt(0, 2);
  int64_t nScratch = ATTN_FLASH_SCRATCH(dk);
  float *q = malloc(sizeof(float)*(size_t)(nq*ldq));
  float *kp = calloc((size_t)(nPanel*ATTN_PANEL*dk), sizeof(float));
  float *v = malloc(sizeof(float)*(size_t)(nKey*ldv));
  float *o1 = malloc(sizeof(float)*(size_t)(nq*ldo + 4));
  float *o2 = malloc(sizeof(float)*(size_t)(nq*ldo + 4));
  float *l1 = malloc(sizeof(float)*(size_t)(nq*ldLse));
  float *l2 = malloc(sizeof(float)*(size_t)(nq*ldLse));
  float *aScratch = attn_malloc_aligned(sizeof(float)*(uint64_t)nScratch);
  int64_t *aQPos = malloc(sizeof(int64_t)*(size_t)nq);
  int64_t *aKPos = malloc(sizeof(int64_t)*(size_t)nKey);
  attn_flash_args a;
  int nBad = 0;
  float rScale = (float)(2.0/sqrt((double)dk));
  for(r=0; r<nq*ldq; r++) q[r] = kUniform()*rScale;
  for(j=0; j<nKey; j++){
    for(d=0; d<dk; d++){
      kp[(j/ATTN_PANEL)*ATTN_PANEL*dk + d*ATTN_PANEL + j%ATTN_PANEL] = kUniform()*2.0f;
    }
  }
  for(j=0; j<nKey*ldv; j++) v[j] = kUniform();
  /* Positions, ascending on both sides. */
  for(j=0; j<nKey; j++){
    if( fc->ePos==1 ) aKPos[j] = (j ? aKPos[j-1] : -5) + kInt(0, 3);
    else aKPos[j] = j;
  }
  for(r=0; r<nq; r++){
    if( fc->ePos==0 ){
      aQPos[r] = nKey>nq ? nKey-nq+r : r;          /* the block's own rows */
    }else if( fc->ePos==1 ){
      aQPos[r] = (r ? aQPos[r-1] : aKPos[0] - 3) + kInt(0, 4);
    }else{
      aQPos[r] = -(int64_t)nq + r + (r>nq/2 ? nKey/2+r : 0);
    }
  }
  memset(&a, 0, sizeof(a));
  a.nQuery = nq; a.nKey = nKey; a.nDimK = dk; a.nDimV = dv;
  a.q = q; a.ldq = ldq; a.kPacked = kp; a.v = v; a.ldv = ldv;
  a.aQPos = aQPos; a.aKPos = aKPos;
  a.bCausal = fc->bCausal; a.nWindow = fc->nWindow;
  a.rSlope = fc->rSlope; a.rSoftcap = fc->rSoftcap;
  a.ldo = ldo; a.ldLse = ldLse; a.aScratch = aScratch;
  for(r=0; r<nq*ldo+4; r++) o1[r] = o2[r] = 12345.0f;
  for(r=0; r<nq*ldLse; r++) l1[r] = l2[r] = 777.0f;
  for(j=0; j<nScratch; j++) aScratch[j] = NAN;
  a.o = o1; a.aLse = l1;
  attn_kernels_scalar.xFlash(&a);
  for(j=0; j<nScratch; j++) aScratch[j] = NAN;
  a.o = o2; a.aLse = l2;
  pK->xFlash(&a);
  for(r=0; r<nq; r++){
    float e1 = l1[r*ldLse], e2 = l2[r*ldLse];
    if( e1==-INFINITY ){
      (*pnEmpty)++;
      if( e2!=-INFINITY ) nBad++;
    }else if( !(fabsf(e1-e2) <= 2e-5f + 2e-5f*fabsf(e1)) ){
      if( nBad<3 ) fprintf(stderr, "%s flash: lse row %d: %.9g vs %.9g\n",
                           pK->zName, r, e2, e1);
      nBad++;
    }
    for(d=0; d<ldo; d++){
      float x1 = o1[r*ldo+d], x2 = o2[r*ldo+d];
      if( d>=dv ){
        if( x2!=12345.0f ) nBad++;
      }else if( e1==-INFINITY ){
        if( x2!=0.0f ) nBad++;
      }else if( !(fabsf(x1-x2) <= 2e-5f + 2e-5f*fabsf(x1)) ){
        if( nBad<3 ) fprintf(stderr, "%s flash: o[%d][%d]: %.9g vs %.9g\n",
                             pK->zName, r, d, x2, x1);
        nBad++;
      }
    }
  }
  if( nBad ){
    fprintf(stderr, "  in flash case nq %d nKey %lld dk %d dv %d causal %d "
            "window %lld slope %g softcap %g pos %d\n", nq, (long long)nKey,
            dk, dv, fc->bCausal, (long long)fc->nWindow, fc->rSlope,
            fc->rSoftcap, fc->ePos);
  }
  free(q); free(kp); free(v); free(o1); free(o2); free(l1); free(l2);
  attn_free_aligned(aScratch); free(aQPos); free(aKPos);
  return nBad;
}

static void testSet(const attn_kernel_set *pK){
  static const int aDim[] = { 1, 3, 16, 17, 64, 100 };
  int i, nBad, nEmpty = 0;
  double ulp;

  /* GEMM. */
  nBad = 0;
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
  CHECK(nBad==0);
  if( nBad ) fprintf(stderr, "%s: %d gemm mismatches\n", pK->zName, nBad);

  /* Flash. */
  nBad = 0;
  for(i=0; i<400; i++){
    FlashCase fc;
    int e = i%8;
    memset(&fc, 0, sizeof(fc));
    fc.nq = i<6 ? (int[]){1, 64, 15, 16, 17, 63}[i] : kInt(1, 64);
    fc.nKey = i%5==0 ? kInt(1, 20) : kInt(1, 300);
    fc.dk = aDim[kInt(0, 5)];
    fc.dv = (i%3==0) ? aDim[kInt(0, 5)] : fc.dk;
    fc.ePos = i%3;
    if( e==1 || e==3 ) fc.bCausal = 1;
    if( e==2 || e==3 ) fc.nWindow = kInt(1, 70);
    if( e==4 ) fc.rSlope = 0.0625f*(float)kInt(1, 8);
    if( e==5 ){ fc.rSoftcap = 1.0f + (float)kInt(0, 30); fc.bCausal = 1; }
    if( e==6 ){ fc.rSlope = 0.5f; fc.rSoftcap = 5.0f; fc.nWindow = kInt(1, 9); }
    nBad += flashCase(pK, &fc, &nEmpty);
  }
  CHECK(nBad==0);
  CHECK(nEmpty>0);        /* the -inf rows were exercised */
  if( nBad ) fprintf(stderr, "%s: %d flash mismatches\n", pK->zName, nBad);

  /* exp. */
  ulp = expUlp(pK, &nBad);
  printf("NOTE %s: exp max error %.3f ulp over [-87, 0], %.2f of the bound "
         "2 ulp\n", pK->zName, ulp, ulp/2.0);
  CHECK(nBad==0);
  CHECK(ulp<=2.0);
}

/* Is zName one of the space-separated words of zList? */
static int kernHas(const char *zList, const char *zName){
  size_t n = strlen(zName);
  const char *z = zList;
  while( (z = strstr(z, zName))!=0 ){
    if( (z==zList || z[-1]==' ') && (z[n]==' ' || z[n]==0) ) return 1;
    z += n;
  }
  return 0;
}

int main(void){
  const char *zAvail = attn_kernels_available();
  const attn_kernel_set *pSet;
  const char *zTested[8];
  int nSet = 0;
  printf("kernels available: %s\n", zAvail);
  /* The scalar set's exp is libm's expf (flushed): check the harness. */
  {
    int nBad;
    double ulp = expUlp(&attn_kernels_scalar, &nBad);
    printf("NOTE scalar: exp max error %.3f ulp over [-87, 0], %.2f of the "
           "bound 1 ulp\n", ulp, ulp/1.0);
    CHECK(nBad==0);
    CHECK(ulp<=1.0);
  }
  testCopy(&attn_kernels_scalar);
  if( kernHas(zAvail, "avx2") && (pSet = attn_kernels_avx2())!=0 ){
    testCopy(pSet);
    testSet(pSet);
    zTested[nSet++] = "avx2";
  }
  if( kernHas(zAvail, "avx512") && (pSet = attn_kernels_avx512())!=0 ){
    testCopy(pSet);
    testSet(pSet);
    zTested[nSet++] = "avx512";
  }
  /* Every other level this build has is counted as skipped, by name. */
  {
    const char *z = attn_kernels_built();
    while( *z ){
      char zName[32], zLabel[64], zWhy[160];
      int n = 0, i, bDone = strncmp(z, "scalar", 6)==0 && (z[6]==' ' || !z[6]);
      while( z[n] && z[n]!=' ' ) n++;
      snprintf(zName, sizeof(zName), "%.*s", n, z);
      z += n;
      while( *z==' ' ) z++;
      for(i=0; i<nSet; i++) if( strcmp(zTested[i], zName)==0 ) bDone = 1;
      if( bDone ) continue;
      snprintf(zLabel, sizeof(zLabel), "unit/kernels [%s]", zName);
      snprintf(zWhy, sizeof(zWhy), "the %s kernel set is built, but %s",
               zName, kernHas(zAvail, zName) ? "this program has no test of it"
               : "this CPU cannot run it");
      UNIT_SKIP(zLabel, zWhy);
    }
  }
  return UNIT_DONE();
}
