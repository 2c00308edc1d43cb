/*
** fuzz_matrix.c: matrix shapes and the attention engine (src/attention.c,
** src/kernels*.c, src/vecops.c), driven directly through its C API.
**
** The input chooses row counts, input widths, heads, kv_heads, every
** option, sequence ids and positions, and for each of W_Q, W_K, W_V, W_O
** and the four biases: absent, the right shape, or a wrong one.  Each
** weight's element count is then what the engine must check, so a shape
** the checks let through and the kernels read past is an ASan report.
**
** Behind a byte it peeks at (fmatExtra), the input also chooses
** window_left and window_right (either side, 0 to INT64_MAX, or a negative
** one), alibi_slopes, sinks (one logit per head, or a wrong count) and a
** bias per key, each finite, huge or not finite.
**
** Properties: attn_state_new() either fails with ATTN_ERROR or ATTN_TOOBIG
** and a message, or an output row is NULL exactly when no key is allowed
** (a sink is not a key), is an error only when its float64 output (or its
** Q, K or V) overflows float32, never has an Inf or NaN output element,
** and has an lse that is not finite only when its scores (or its sink, in
** their frame) are beyond float32; for score rows, the weights of each
** head of a query row are in [0, 1] and sum to 1 (with sinks, to at most
** 1); the same state built with 1 thread and with 3 threads gives the same
** output bits; for the first rows, within the kernels' error bound
** (fmatConsistent), the output is Σ weight·v over their score rows and,
** with sinks, the weights of each head sum to 1 − exp(sink_h − lse_h) (the
** scores, the sink and attention()'s lse all in the definition's frame); attn_transpose()
** twice is the identity, and the GEMM of each kernel set the CPU runs
** (scalar, avx2, avx512) matches a float64 product for random shapes and
** leading dimensions.
**
** Options and positions reach the ends of their ranges: windows of 2^54
** and INT64_MAX, softcaps of 1e-50 to 1e300, positions near ±2^53.
**
** Sizes are capped (40 rows, 16 input dims, 8 heads) so one run is fast;
** on 1 input in 8, up to 200 rows of up to 4 input dims instead (at most
** FMAT_BIG_SCORES scores), so that more than one query block and key tile
** of 64 is fuzzed.
*/
#include "fuzz.h"
#include <math.h>
#include "../../src/alloc.h"
#include "../../src/attention.h"
#include "../../src/kernels.h"
#include "../../src/position.h"
#include "../../src/vecops.h"

/* With many rows, at most this many scores (query rows × keys × heads) per
** state, which is at most 8 flash calls (query block × key tile × head;
** 90×90 is 2×2 blocks and tiles of 64, 200×40 is 4×1).  make fuzz runs one
** in about 2 ms (ASan and coverage, the SIMD sets at -O0) and each input
** builds two states, so a run stays under ~20 ms.  libFuzzer keeps many
** such inputs (they find new paths), so this sets the speed too. */
#define FMAT_BIG_SCORES 8192

/* A weight of nRow×nCol elements when well shaped; otherwise a count
** chosen by the input.  *pa is NULL when absent. */
static void fmatTensor(FuzzIn *p, attn_tensor *pT, float **pa, int64_t nGood){
  unsigned k = fuzzByte(p) & 7;
  int64_t n, i;
  *pa = 0;
  pT->a = 0;
  pT->n = 0;
  if( k<3 ) return;                               /* absent */
  if( k<6 ) n = nGood;                            /* right shape */
  else if( k==6 ) n = nGood + (int64_t)fuzzRange(p, 5) - 2;
  else n = (int64_t)fuzzRange(p, 300);
  if( n<=0 || n>4096 ){ pT->a = 0; pT->n = n<0 ? 0 : n; return; }
  *pa = malloc(4*(size_t)n);
  if( *pa==0 ) return;
  for(i=0; i<n; i++) (*pa)[i] = ((float)(int)fuzzByte(p) - 128.0f)/128.0f;
  pT->a = *pa;
  pT->n = n;
}

/* The kernel levels this CPU runs (attn_kernels_available() names them,
** attn_kernels_level() gives each).  Return how many were written to
** aSet[0..7]. */
static int fmatKernelSets(const attn_kernel_set **aSet){
  const char *z = attn_kernels_available();
  int n = 0;
  while( *z && n<8 ){
    char zName[32];
    int k = 0;
    while( z[k] && z[k]!=' ' ) k++;
    snprintf(zName, sizeof(zName), "%.*s", k, z);
    z += k;
    while( *z==' ' ) z++;
    if( (aSet[n] = attn_kernels_level(zName))!=0 ) n++;
  }
  return n;
}

/* C = A·B (or C += A·B when bAccum) by kernel set pSet, checked against a
** float64 product; the columns of C past n must stay untouched. */
static void fmatGemmCheck(const attn_kernel_set *pSet, int64_t m, int64_t n,
                          int64_t k, const float *A, int64_t lda,
                          const float *B, int64_t ldb, float *C, int64_t ldc,
                          int bAccum){
  int64_t i, j, t;
  for(i=0; i<m*ldc; i++) C[i] = bAccum ? 1.0f : -7.0f;
  pSet->xGemm(m, n, k, A, lda, B, ldb, C, ldc, bAccum);
  for(i=0; i<m; i++){
    for(j=0; j<ldc; j++){
      double s = bAccum ? 1.0 : 0.0, sAbs = 1.0;
      if( j>=n ){
        if( C[i*ldc+j]!=(bAccum ? 1.0f : -7.0f) ){
          fuzzFail("GEMM %s wrote past n", pSet->zName);
        }
        continue;
      }
      for(t=0; t<k; t++){
        s += (double)A[i*lda+t]*(double)B[t*ldb+j];
        sAbs += fabs((double)A[i*lda+t]*(double)B[t*ldb+j]);
      }
      if( fabs((double)C[i*ldc+j]-s)>1e-5*sAbs ){
        fuzzFail("GEMM %s m=%lld n=%lld k=%lld: C[%lld,%lld]=%.9g, expected "
                 "%.9g", pSet->zName, (long long)m, (long long)n,
                 (long long)k, (long long)i, (long long)j, C[i*ldc+j], s);
      }
    }
  }
}

/* GEMM of every kernel set against float64, then transpose twice. */
static void fmatGemm(FuzzIn *p){
  int64_t m = 1 + fuzzRange(p, 20), n = 1 + fuzzRange(p, 40);
  int64_t k = 1 + fuzzRange(p, 40);
  int64_t lda = k + fuzzRange(p, 3), ldb = n + fuzzRange(p, 3);
  int64_t ldc = n + fuzzRange(p, 3), i;
  int bAccum = fuzzByte(p) & 1, iSet, nSet;
  const attn_kernel_set *aSet[8];
  float *A = malloc(4*(size_t)(m*lda)), *B = malloc(4*(size_t)(k*ldb));
  float *C = malloc(4*(size_t)(m*ldc)), *T = malloc(4*(size_t)(k*n));
  float *T2 = malloc(4*(size_t)(k*n)), *T3 = malloc(4*(size_t)(k*n));
  if( A==0 || B==0 || C==0 || T==0 || T2==0 || T3==0 ) goto done;
  for(i=0; i<m*lda; i++) A[i] = ((float)(int)fuzzByte(p) - 128.0f)/64.0f;
  for(i=0; i<k*ldb; i++) B[i] = ((float)(int)fuzzByte(p) - 128.0f)/64.0f;
  nSet = fmatKernelSets(aSet);
  for(iSet=0; iSet<nSet; iSet++){
    fmatGemmCheck(aSet[iSet], m, n, k, A, lda, B, ldb, C, ldc, bAccum);
  }
  /* B's first k×n block (packed), transposed twice. */
  for(i=0; i<k; i++) memcpy(T+i*n, B+i*ldb, 4*(size_t)n);
  attn_transpose(T, k, n, T2);
  attn_transpose(T2, n, k, T3);
  if( memcmp(T, T3, 4*(size_t)(k*n))!=0 ) fuzzFail("transpose twice");
done:
  free(A); free(B); free(C); free(T); free(T2); free(T3);
}

/* The ALiBi slope of head h of nHead, written here from Press et al.:
** 2^(-8k/p), k = 1..p, for the largest power of two p <= nHead, then
** 2^(-4k/p) for k = 1, 3, 5, ...; or the given one (alibi_slopes); 0
** without ALiBi. */
static double fmatSlope(const attn_input *px, const attn_options *pOpt,
                        int nHead, int h){
  int p = 1;
  if( px->alibiSlopes.a ) return px->alibiSlopes.a[h];
  if( !pOpt->bAlibi ) return 0.0;
  while( p*2<=nHead ) p *= 2;
  if( h<p ) return pow(2.0, -8.0*(h+1)/p);
  return pow(2.0, -4.0*(2*(h-p)+1)/p);
}

/* The sink logit of head h in the kernels' frame for a query row whose
** nearest allowed key is dMin away (they compute ALiBi's scores relative to
** it, and the sink moves with them: docs/sql-attention.md), where its size
** is what float32 must hold; -inf without sinks. */
static double fmatSink(const attn_input *px, const attn_options *pOpt,
                       int nHead, int h, int64_t dMin){
  if( px->sinks.a==0 ) return -INFINITY;
  return (double)px->sinks.a[h] + fmatSlope(px, pOpt, nHead, h)*(double)dMin;
}

/* Do the score rows of query row i show magnitudes the float32 kernels
** cannot hold (|score| beyond 1e30, or not finite; or a sink beyond 1e30
** in their frame)?  Then the engine may give the row no output or a
** non-finite one, which the SQL layer turns into an error ("the attention
** scores overflow float32").  *pbAny: the row has at least one allowed
** key. */
static int fmatRowOverflows(attn_state *pState, const attn_input *px,
                            const attn_options *pOpt, int64_t i, int *pbAny){
  attn_score_iter *pIter = 0;
  attn_score s;
  attn_err err;
  int bHuge = 0, h, nHead = attn_state_heads(pState);
  int64_t dMin = INT64_MAX, qpos = attn_query_pos(pState, i), d;
  *pbAny = 0;
  attn_err_clear(&err);
  if( attn_scores_open(pState, i, -1, &pIter, &err) ){
    /* A Q or K that overflowed float32: the scores cannot be computed. */
    if( strstr(err.zMsg, "overflow float32")==0 ){
      fuzzFail("attn_scores_open: %s", err.zMsg);
    }
    *pbAny = 1;
    return 1;
  }
  while( attn_scores_next(pIter, &s) ){
    *pbAny = 1;
    if( !(s.rScore<=1e30 && s.rScore>=-1e30) ) bHuge = 1;
    d = attn_key_pos(pState, s.iKey) - qpos;
    if( d<0 ) d = -d;
    if( d<dMin ) dMin = d;
  }
  attn_scores_close(pIter);
  for(h=0; *pbAny && px->sinks.a && h<nHead; h++){
    if( fabs(fmatSink(px, pOpt, nHead, h, dMin))>1e30 ) bHuge = 1;
  }
  return bHuge;
}

/* The first value of an output row (aOut[0..nOut)) or of its lse
** (aLse[0..nHead)) that is not finite: its name ("output" or "lse"), with
** its index in *piAt; NULL when every value is finite. */
static const char *fmatNonFinite(const float *aOut, int64_t nOut,
                                 const float *aLse, int nHead, int64_t *piAt){
  int64_t j;
  for(j=0; j<nOut; j++){
    if( !isfinite(aOut[j]) ){ *piAt = j; return "output"; }
  }
  for(j=0; j<nHead; j++){
    if( !isfinite(aLse[j]) ){ *piAt = j; return "lse"; }
  }
  return 0;
}

/* Compute every output of a state; return a hash of the bits, checking
** each row on the way (attention.h's contract of attn_output): a NULL
** output exactly for a row with no allowed key; otherwise every output
** element finite, or an error saying what overflows float32 for a row that
** has keys; an lse that is not finite only for a row whose scores are
** beyond float32. */
static uint64_t fmatOutputs(attn_state *pState, const attn_input *px,
                            const attn_options *pOpt, int64_t nQ){
  uint64_t h = 1469598103934665603ULL;
  int64_t i, j, iAt, nOut = attn_state_out_dim(pState);
  int nHead = attn_state_heads(pState);
  const char *zBad;
  attn_err err;
  attn_err_clear(&err);
  if( attn_forward(pState, &err) ) fuzzFail("attn_forward: %s", err.zMsg);
  for(i=0; i<nQ; i++){
    const float *aOut = 0, *aLse = 0;
    int bAny, bHuge;
    if( attn_output(pState, i, &aOut, &aLse, &err) ){
      if( strstr(err.zMsg, "overflows float32")==0
       && strstr(err.zMsg, "beyond float32's range")==0 ){
        fuzzFail("attn_output: %s", err.zMsg);
      }
      fmatRowOverflows(pState, px, pOpt, i, &bAny);
      if( !bAny ) fuzzFail("row %lld: an overflow error without a key: %s",
                           (long long)i, err.zMsg);
      h = (h ^ 0xee)*1099511628211ULL;
      continue;
    }
    if( (aOut==0)!=(aLse==0) ) fuzzFail("output and lse disagree on NULL");
    bHuge = fmatRowOverflows(pState, px, pOpt, i, &bAny);
    if( aOut==0 ){
      if( bAny ) fuzzFail("row %lld has allowed keys but no output", (long long)i);
      h = (h ^ 0xff)*1099511628211ULL;
      continue;
    }
    if( !bAny ) fuzzFail("row %lld has no allowed key but an output", (long long)i);
    for(j=0; j<nOut; j++){
      const unsigned char *b = (const unsigned char*)&aOut[j];
      int t;
      for(t=0; t<4; t++) h = (h ^ b[t])*1099511628211ULL;
    }
    zBad = fmatNonFinite(aOut, nOut, aLse, nHead, &iAt);
    if( zBad && (zBad[0]=='o' || !bHuge) ){
      fuzzFail("%s %lld of row %lld is %g%s", zBad, (long long)iAt,
               (long long)i, zBad[0]=='o' ? aOut[iAt] : aLse[iAt],
               zBad[0]=='o' ? "" : ", the scores are not huge");
    }
  }
  return h;
}

/* Row r of a projection x·W + b in float64 (W: nIn × nOut, row-major; NULL
** W: y = x + b), into y[0..nOut), with Σ|x_i·W_ij| + |b_j| in yAbs. */
static void fmatProject(const float *x, int64_t nIn, const attn_tensor *pW,
                        const attn_tensor *pB, int64_t nOut, double *y,
                        double *yAbs){
  int64_t i, j;
  for(j=0; j<nOut; j++){
    double s = 0.0, a = 0.0;
    if( pW->a ){
      for(i=0; i<nIn; i++){
        s += (double)x[i]*(double)pW->a[i*nOut + j];
        a += fabs((double)x[i]*(double)pW->a[i*nOut + j]);
      }
    }else{
      s = x[j];
      a = fabs(s);
    }
    if( pB->a ){ s += pB->a[j]; a += fabs((double)pB->a[j]); }
    y[j] = s;
    yAbs[j] = a;
  }
}

/* attention() against attention_scores() (issue 13, findings 4 and 5: a
** softcap or an ALiBi bias read one way by the kernels and another by the
** score rows): the output of query row i must be Σ weight·v over its score
** rows, head by head, within the error the float32 kernels may make.  The
** score rows are float64 from the same float32 Q and K, so the bound is
** that of the kernel's scores against float64 ones (docs/testing.md:
** g(d)·Σ|s·q·k|, here bounded by 2·|s|·Σ|q|·Σ|k| to allow for RoPE; the
** softcap's 3u·|x| + 8u·|result|; ALiBi's 3u·slope·distance from the
** nearest key + u·|result|, the slope the given one or at most 1, the
** result relative to the nearest key: the scores stay exact relative to
** each other; the keys' bias one more rounding, u·|score|), carried
** through the softmax and the sums of the output, with V projected here in
** float64 and its float32 rounding g(d_in + 1)·Σ|x·W|, all doubled.
** A sink is one more term and one more rescale (test/unit/differential.c's
** model): its weight w_s (from the score rows' scores, here) perturbed by
** e_s = 2u·(|sink| + slope·distance) + u·(m − sink) + the exp's adds
** w_s·e_s·|o| to the output's bound; and the weights of the head's score
** rows must sum to 1 − exp(sink − lse), with attention()'s lse within
** Σ w·e + w_s·e_s + g(2(n + 1)) + 2u·log(n + 2) + u·|lse|.  A key (or the
** sink) more than FMAT_FLUSH below the largest score, beyond both their
** errors, has its exp flushed to 0 by the kernels (its error does not
** count): it adds its weight, and at most e^-100, times |v| + |o|.  Only
** where the bound is below 10 %; the output only without W_O and b_O (the
** heads' outputs are then the output). */
#define FMAT_U 0x1p-24
#define FMAT_FLUSH 100.0
static double fmatGamma(double n){ return n*FMAT_U/(1.0 - n*FMAT_U); }
static void fmatConsistent(attn_state *pState, const attn_input *px,
                           const attn_options *pOpt, int64_t i){
  int nHead = attn_state_heads(pState), nKv = pOpt->nKvHead, h, bOut;
  int bAli = pOpt->bAlibi || px->alibiSlopes.a!=0, nSk = px->sinks.a!=0;
  int64_t nQd = px->wq.a ? px->wq.n/px->nXq : px->nXq;
  int64_t nVd = px->wv.a ? px->wv.n/px->nXv : px->nXv;
  int64_t nK = px->nKey, dh, dvh, j, t, n, iTop;
  double *q = 0, *qAbs = 0, *kk = 0, *kAbs = 0, *v = 0, *vAbs = 0;
  double *aW = 0, *aS = 0, *aE = 0, rScale;
  int64_t *aKey = 0;
  const float *aOut = 0, *aLse = 0;
  attn_score_iter *pIter = 0;
  attn_score sc;
  attn_err err;
  if( nHead<=0 || nKv<=0 || nK==0 ) return;
  dh = nQd/nHead;
  dvh = nVd/nKv;
  bOut = !px->wo.a && !px->bo.a && dvh>0
      && attn_state_out_dim(pState)==(int64_t)nHead*dvh;
  if( dh<=0 || (!bOut && !nSk) ) return;
  attn_err_clear(&err);
  if( attn_output(pState, i, &aOut, &aLse, &err) || aOut==0 ) return;
  rScale = pOpt->bScale ? pOpt->rScale : 1.0/sqrt((double)dh);
  q = malloc(8*(size_t)nQd); qAbs = malloc(8*(size_t)nQd);
  kk = malloc(8*(size_t)(nQd*nK/nHead*nKv + 1));
  kAbs = malloc(8*(size_t)(nQd*nK/nHead*nKv + 1));
  v = malloc(8*(size_t)(nVd*nK)); vAbs = malloc(8*(size_t)(nVd*nK));
  aW = malloc(8*(size_t)nK); aS = malloc(8*(size_t)nK);
  aE = malloc(8*(size_t)nK); aKey = malloc(8*(size_t)nK);
  if( !q || !qAbs || !kk || !kAbs || !v || !vAbs || !aW || !aS || !aE
   || !aKey ) goto done;
  fmatProject(px->aXq + i*px->nXq, px->nXq, &px->wq, &px->bq, nQd, q, qAbs);
  for(t=0; t<nK; t++){
    fmatProject(px->aXk + t*px->nXk, px->nXk, &px->wk, &px->bk, dh*nKv,
                kk + t*dh*nKv, kAbs + t*dh*nKv);
    fmatProject(px->aXv + t*px->nXv, px->nXv, &px->wv, &px->bv, nVd,
                v + t*nVd, vAbs + t*nVd);
  }
  for(h=0; h<nHead; h++){
    int g = h/(nHead/nKv);
    double qa = 0.0, mx = -INFINITY, rMaxE = 0.0, slope, sk, mxAll, esTop;
    double sum = 0.0, wsk = 0.0, esk = 0.0, skE;
    int64_t dMin = INT64_MAX, dI;
    int64_t qpos = attn_query_pos(pState, i);
    for(t=0; t<dh; t++) qa += qAbs[h*dh + t];
    if( attn_scores_open(pState, i, h, &pIter, &err) ) goto done;
    n = 0;
    iTop = 0;
    while( attn_scores_next(pIter, &sc) ){
      if( sc.iHead!=h || n>=nK ) fuzzFail("score rows of head %d", h);
      aKey[n] = sc.iKey; aW[n] = sc.rWeight; aS[n] = sc.rScore;
      if( sc.rScore>mx ){ mx = sc.rScore; iTop = n; }
      dI = attn_key_pos(pState, sc.iKey) - qpos;
      if( dI<0 ) dI = -dI;
      if( dI<dMin ) dMin = dI;
      n++;
    }
    attn_scores_close(pIter);
    pIter = 0;
    if( n==0 ) continue;
    slope = bAli ? fmatSlope(px, pOpt, nHead, h) : 0.0;
    /* the scores and the lse are in the definition's frame (ALiBi's not
    ** relative to the nearest key), so the sink is its logit as given */
    sk = nSk ? (double)px->sinks.a[h] : -INFINITY;
    mxAll = sk>mx ? sk : mx;
    /* aE[t]: first the error of the kernel's score of key t. */
    for(t=0; t<n; t++){
      double ka = 0.0, M, e;
      int64_t c;
      for(c=0; c<dh; c++) ka += kAbs[aKey[t]*dh*nKv + g*dh + c];
      M = 2.0*fabs(rScale)*qa*ka;
      e = (fmatGamma((double)dh) + FMAT_U)*M;
      /* |softcap(x)| <= |x| <= M; the biased score, relative to the
      ** nearest key, is at most M + distance beyond the nearest. */
      if( pOpt->rSoftcap>0.0 ) e += 11*FMAT_U*M;
      if( bAli ){
        dI = attn_key_pos(pState, aKey[t]) - qpos;
        if( dI<0 ) dI = -dI;
        e += 4*FMAT_U*slope*(double)(dI - dMin) + FMAT_U*M;
      }
      if( px->aBiasK ) e += FMAT_U*fabs(aS[t]);
      aE[t] = e;
    }
    /* the sink's own error: its float32 rounding, and the float32 slope
    ** the kernels move it by */
    skE = nSk ? 2*FMAT_U*(fabs(px->sinks.a[h]) + slope*(double)dMin) : 0.0;
    esTop = sk>mx ? skE : aE[iTop];
    for(t=0; t<n; t++) sum += exp(aS[t] - mxAll);
    if( nSk ){
      sum += exp(sk - mxAll);
      wsk = exp(sk - mxAll)/sum;
      esk = skE + FMAT_U*(mxAll - sk) + 5*FMAT_U*(double)(n + 2);
      if( mxAll - sk>FMAT_FLUSH + esk + esTop ) esk = 1.0;   /* flushed */
      else if( esk>rMaxE ) rMaxE = esk;
    }
    /* Then e_t, the relative error of the kernel's weight of key t, or -1
    ** for a key whose exp the kernels flush to 0. */
    for(t=0; t<n; t++){
      if( mxAll - aS[t]>FMAT_FLUSH + aE[t] + esTop ){ aE[t] = -1.0; continue; }
      aE[t] += FMAT_U*(mxAll - aS[t]) + 5*FMAT_U*(double)(n + 1 + nSk);
      if( aE[t]>rMaxE ) rMaxE = aE[t];
    }
    if( !(rMaxE<0.1) ) continue;
    if( nSk ){
      /* The keys' weights sum to 1 − the sink's, exp(sink − lse). */
      double lse = aLse[h], rSum = 0.0, rLseE = 0.0, want, tol;
      for(t=0; t<n; t++){
        rSum += aW[t];
        rLseE += aE[t]>=0.0 ? aW[t]*aE[t] : aW[t];
      }
      rLseE += wsk*esk + fmatGamma(2.0*(double)(n + 1))
             + 2*FMAT_U*log((double)n + 2.0) + FMAT_U*fabs(lse);
      if( rLseE<0.1 ){
        want = 1.0 - exp(sk - lse);
        tol = 2.0*(1.06*wsk*rLseE + 0x1p-48*((double)n + 8.0 + fabs(mxAll)
              + fabs(sk))) + 1e-300;
        if( !(fabs(rSum - want)<=tol) ){
          fuzzFail("row %lld head %d: the score rows' weights sum to %.12g, "
                   "1 - exp(sink %.9g - lse %.9g) is %.12g (bound %.3g)",
                   (long long)i, h, rSum, sk, lse, want, tol);
        }
      }
    }
    for(j=0; bOut && j<dvh; j++){
      double ref = 0.0, A = 0.0, P = 0.0, EV = 0.0, o = aOut[h*dvh + j], E;
      int64_t c = g*dvh + j;
      for(t=0; t<n; t++) ref += aW[t]*v[aKey[t]*nVd + c];
      for(t=0; t<n; t++){
        double vt = v[aKey[t]*nVd + c];
        A += aW[t]*fabs(vt);
        if( aE[t]>=0.0 ) P += aW[t]*aE[t]*fabs(vt - ref);
        else P += (aW[t] + 1e-43)*(fabs(vt) + fabs(ref));
        EV += aW[t]*fmatGamma((double)px->nXv + 1)*vAbs[aKey[t]*nVd + c];
      }
      P += wsk*esk*fabs(ref);                    /* the sink, of value 0 */
      E = 2.0*(fmatGamma(2.0*(double)(n + nSk))*(A + fabs(o)) + 2*FMAT_U*fabs(o)
               + P + EV) + 1e-30;
      if( !(fabs(o - ref)<=E) ){
        fuzzFail("row %lld head %d: attention() output %d is %.9g, the score "
                 "rows give %.9g (bound %.3g)", (long long)i, h, (int)j, o,
                 ref, E);
      }
    }
  }
done:
  free(q); free(qAbs); free(kk); free(kAbs); free(v); free(vAbs);
  free(aW); free(aS); free(aE); free(aKey);
}

/* A value of the new options: mostly k·rStep from the byte (k - nMid,
** or k alone when nMid is 0), on 1 byte in 16 fuzzFloat's (huge, denormal,
** NaN, Inf). */
static float fmatValue(FuzzIn *p, int nMid, float rStep){
  unsigned k = fuzzByte(p);
  if( k>=240 ) return fuzzFloat(p);
  return (float)((int)k - nMid)*rStep;
}

/* nGood values of fmatValue (on 1 input in 16, a count off by one) into a
** tensor of its own (*pa, freed by the caller). */
static void fmatValues(FuzzIn *p, attn_tensor *pT, float **pa, int64_t nGood,
                       int nMid, float rStep){
  int64_t n = nGood, i;
  if( (fuzzByte(p)&15)==0 ) n += (fuzzByte(p)&1) ? 1 : -1;
  *pa = malloc(4*(size_t)(n>0 ? n : 1));
  if( *pa==0 ) return;
  for(i=0; i<n; i++) (*pa)[i] = fmatValue(p, nMid, rStep);
  pT->a = *pa;
  pT->n = n>0 ? n : 0;
}

/* The options of docs/sql-attention.md added after the saved inputs:
** window_left, window_right, alibi_slopes, sinks and the keys' bias.  Read
** only when the next byte's low two bits are 01 (fuzzPeek), so an input
** saved before them, which has other bits there (or ends), is read as it
** was.  That byte's bits 2-5 say which are given: each window side from 0
** to INT64_MAX, 2^54 - 1 and 2^54 among them, or -1 (an error); slopes of
** 0 to 6; sink logits of -14 to 14; biases of -8 to 7 (each now and then
** huge or not finite, an error too).  Bit 6 moves the given key positions
** by -32 to 31, so that a block's keys can lie wholly before or after its
** queries (the tiles an asymmetric window skips, or stops at). */
static void fmatExtra(FuzzIn *p, attn_input *px, attn_options *pOpt,
                      int64_t *aPosK, float **paSlope, float **paSink,
                      float **paBias){
  static const int64_t aSide[] = { 0, 1, 2, 3, 5, 11, 19, 63, 64,
    ((int64_t)1<<54) - 1, (int64_t)1<<54, INT64_MAX, -1 };
  int64_t nHead = pOpt->nHead>0 && pOpt->nHead<=ATTN_MAX_HEADS ? pOpt->nHead : 1;
  unsigned k;
  if( fuzzPeek(p)<0 || (fuzzPeek(p)&3)!=1 ) return;
  k = fuzzByte(p);
  if( k&4 ){
    unsigned l = fuzzByte(p), r = fuzzByte(p);
    if( l&1 ){ pOpt->bWindowLeft = 1; pOpt->nWindowLeft = aSide[(l>>1)%13]; }
    if( r&1 ){ pOpt->bWindowRight = 1; pOpt->nWindowRight = aSide[(r>>1)%13]; }
    /* window and window_left/right exclude each other (an error): mostly
    ** not both */
    if( (l&r&2)==0 && (pOpt->bWindowLeft || pOpt->bWindowRight) ){
      pOpt->nWindow = 0;
    }
  }
  if( k&8 ) fmatValues(p, &px->alibiSlopes, paSlope, nHead, 0, 1.0f/40);
  if( k&16 ) fmatValues(p, &px->sinks, paSink, nHead, 112, 1.0f/8);
  if( (k&64) && px->aPosK ){
    int64_t i, nMove = ((int64_t)fuzzByte(p) - 128)/4;
    for(i=0; i<px->nKey; i++) aPosK[i] += nMove;
  }
  if( k&32 ){
    int64_t i;
    *paBias = malloc(4*(size_t)(px->nKey>0 ? px->nKey : 1));
    if( *paBias==0 ) return;
    for(i=0; i<px->nKey; i++) (*paBias)[i] = fmatValue(p, 128, 1.0f/16);
    px->aBiasK = *paBias;
  }
}

/* The most heads to choose from: 8, fewer with many rows (at most
** FMAT_BIG_SCORES scores, at least one head). */
static unsigned fmatHeadMax(int bBig, int64_t nQ, int64_t nK){
  int64_t nMax = 8;
  if( bBig ){
    nMax = FMAT_BIG_SCORES/((nQ>0 ? nQ : 1)*(nK>0 ? nK : 1));
    if( nMax<1 ) nMax = 1;
    if( nMax>8 ) nMax = 8;
  }
  return (unsigned)nMax;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size){
  FuzzIn in = { data, size, 0 };
  attn_input x;
  attn_options opt;
  attn_state *pState = 0;
  attn_err err;
  float *aOwn[8], *aXq = 0, *aXk = 0, *aXv = 0;
  float *aSlope = 0, *aSink = 0, *aBias = 0;
  int64_t *aSeqQ = 0, *aSeqK = 0, *aPosQ = 0, *aPosK = 0;
  attn_tensor *apT[8];
  int64_t i, nHeadDim, nQ, nK;
  int bCross, bBig, nXMax, rc, t;
  static int bInit = 0;
  if( !bInit ){ attn_kernels_init(); bInit = 1; }

  if( fuzzByte(&in)&1 ) fmatGemm(&in);

  memset(&x, 0, sizeof(x));
  memset(&opt, 0, sizeof(opt));
  memset(aOwn, 0, sizeof(aOwn));
  /* Mostly up to 40 rows of up to 16 input dims.  On 1 input in 8 (bits
  ** 1-3 of the byte that chooses bCross are 010: a pattern none of the
  ** saved regressions has, so they still mean what they meant), 41 to 200
  ** query rows and up to 200 keys of up to 4 dims, with fewer keys and
  ** heads the more rows (FMAT_BIG_SCORES, fmatHeadMax): more than one
  ** query block or key tile (ATTN_BLOCK_Q, ATTN_TILE_K: 64), so that the
  ** split into blocks, tiles and threads is fuzzed too. */
  t = (int)fuzzByte(&in);
  bCross = t & 1;
  bBig = (t & 0x0e)==0x04;
  nXMax = bBig ? 4 : 16;
  if( !bBig ){
    nQ = fuzzRange(&in, 41);
    nK = bCross ? (int64_t)fuzzRange(&in, 41) : nQ;
  }else{
    /* At most FMAT_BIG_SCORES query-key pairs: up to 90 rows, or up to
    ** 200 queries, or keys, with fewer of the other. */
    nQ = 41 + (int64_t)fuzzRange(&in, bCross ? 160 : 50);
    nK = nQ;
    if( bCross ){
      int64_t nKMax = FMAT_BIG_SCORES/nQ;
      nK = fuzzRange(&in, (unsigned)(nKMax<200 ? nKMax : 200) + 1);
    }
  }
  x.nQuery = nQ;
  x.nKey = nK;
  x.nXq = 1 + fuzzRange(&in, nXMax);
  x.nXk = bCross ? 1 + (int64_t)fuzzRange(&in, nXMax) : x.nXq;
  x.nXv = (fuzzByte(&in)&3)==0 ? 1 + (int64_t)fuzzRange(&in, nXMax) : x.nXk;
  opt.nHead = 1 + fuzzRange(&in, fmatHeadMax(bBig, nQ, nK));
  opt.nKvHead = (fuzzByte(&in)&1) ? 1 + (int)fuzzRange(&in, opt.nHead) : 0;
  if( fuzzByte(&in)==255 && !bBig ) opt.nHead = (int)fuzzRange(&in, 2000) - 10;
  opt.bCausal = fuzzByte(&in)&1;
  opt.nWindow = (fuzzByte(&in)&3)==0 ? (int64_t)fuzzRange(&in, 12) : 0;
  /* Windows at the ends of their range (finding 8: qpos + window
  ** overflowed int64): wider than any two positions are apart. */
  if( opt.nWindow==11 ) opt.nWindow = INT64_MAX;
  if( opt.nWindow==10 ) opt.nWindow = (int64_t)1<<54;
  opt.bAlibi = (fuzzByte(&in)&3)==0;
  if( (fuzzByte(&in)&3)==0 ){
    opt.rRopeBase = (fuzzByte(&in)&1) ? 10000.0 : (double)fuzzFloat(&in);
    opt.eRopeStyle = fuzzByte(&in)&1;
  }
  if( (fuzzByte(&in)&3)==0 ){
    /* Softcaps at the ends of their range too (findings 4 and 7: 1e-50
    ** read as off, 1e39 as Infinity), which no float32 can hold. */
    static const double aWideCap[] = { 1e-50, 1e-10, 1e39, 1e300 };
    t = (int)fuzzByte(&in);
    opt.rSoftcap = (t&1) ? 30.0 : (t&6)==6 ? aWideCap[(t>>3)&3] : fuzzFloat(&in);
  }
  if( (fuzzByte(&in)&3)==0 ){ opt.bScale = 1; opt.rScale = fuzzFloat(&in); }
  opt.nThread = 1;
  opt.bNoValues = (fuzzByte(&in)&7)==0;
  if( opt.nKvHead==0 ) opt.nKvHead = opt.nHead;

  /* Weights: the good shapes follow from the options. */
  nHeadDim = 1 + fuzzRange(&in, 6);
  apT[0] = &x.wq; apT[1] = &x.wk; apT[2] = &x.wv; apT[3] = &x.wo;
  apT[4] = &x.bq; apT[5] = &x.bk; apT[6] = &x.bv; apT[7] = &x.bo;
  {
    int64_t h = opt.nHead>0 ? opt.nHead : 1, kv = opt.nKvHead>0 ? opt.nKvHead : 1;
    int64_t aGood[8];
    aGood[0] = x.nXq*h*nHeadDim;          /* wq */
    aGood[1] = x.nXk*kv*nHeadDim;         /* wk */
    aGood[2] = x.nXv*kv*nHeadDim;         /* wv */
    aGood[3] = h*nHeadDim*x.nXq;          /* wo */
    aGood[4] = h*nHeadDim;                /* bq */
    aGood[5] = kv*nHeadDim;               /* bk */
    aGood[6] = kv*nHeadDim;               /* bv */
    aGood[7] = x.nXq;                     /* bo */
    for(t=0; t<8; t++) fmatTensor(&in, apT[t], &aOwn[t], aGood[t]);
  }

  /* Rows. */
  aXq = malloc(4*(size_t)(nQ*x.nXq+1));
  aXk = malloc(4*(size_t)(nK*x.nXk+1));
  aXv = malloc(4*(size_t)(nK*x.nXv+1));
  aSeqQ = malloc(8*(size_t)(nQ+1)); aPosQ = malloc(8*(size_t)(nQ+1));
  aSeqK = malloc(8*(size_t)(nK+1)); aPosK = malloc(8*(size_t)(nK+1));
  if( !aXq || !aXk || !aXv || !aSeqQ || !aPosQ || !aSeqK || !aPosK ) goto done;
  for(i=0; i<nQ*x.nXq; i++) aXq[i] = ((float)(int)fuzzByte(&in) - 128.0f)/32.0f;
  for(i=0; i<nK*x.nXk; i++) aXk[i] = ((float)(int)fuzzByte(&in) - 128.0f)/32.0f;
  for(i=0; i<nK*x.nXv; i++) aXv[i] = ((float)(int)fuzzByte(&in) - 128.0f)/32.0f;
  {
    int bSeq = fuzzByte(&in)&1, kPos = (int)fuzzByte(&in), bPos = kPos&1;
    /* Positions near ±2^53 (finding 5: ALiBi at distant positions; 8:
    ** position arithmetic at the ends): on 1 input in 8, keys near 2^53,
    ** and queries there too or (cross-attention) near -2^53, 2^54 away. */
    int64_t nFar = ((int64_t)1<<53) - 24, nFarQ = nFar, nFarK = nFar;
    if( (kPos&0x0e)!=0x0e ) nFarQ = nFarK = 0;
    else if( bCross && (kPos&0x10) ) nFarQ = -nFar;
    for(i=0; i<nQ; i++){ aSeqQ[i] = fuzzRange(&in, 3); aPosQ[i] = nFarQ + (int64_t)fuzzRange(&in, 20) - 3; }
    for(i=0; i<nK; i++){ aSeqK[i] = fuzzRange(&in, 3); aPosK[i] = nFarK + (int64_t)fuzzRange(&in, 20) - 3; }
    if( fuzzByte(&in)==7 ) aPosQ[0] = ((int64_t)1<<53) + 5;   /* out of range */
    if( !bCross ){ memcpy(aSeqK, aSeqQ, 8*(size_t)nQ); memcpy(aPosK, aPosQ, 8*(size_t)nQ); }
    x.aSeqQ = bSeq ? aSeqQ : 0;
    x.aSeqK = bSeq ? aSeqK : 0;
    x.aPosQ = bPos ? aPosQ : 0;
    x.aPosK = bPos ? aPosK : 0;
  }
  fmatExtra(&in, &x, &opt, aPosK, &aSlope, &aSink, &aBias);
  x.aXq = aXq;
  x.aXk = bCross ? aXk : aXq;
  x.aXv = bCross || x.nXv!=x.nXq ? aXv : aXq;
  if( !bCross ){ x.nXk = x.nXq; }

  attn_err_clear(&err);
  rc = attn_state_new(&x, &opt, &pState, &err);
  if( rc ){
    if( (rc!=ATTN_ERROR && rc!=ATTN_TOOBIG) || err.zMsg[0]==0 ){
      fuzzFail("attn_state_new failed with rc=%d '%s'", rc, err.zMsg);
    }
    goto done;
  }
  if( attn_state_rows(pState)!=nQ ) fuzzFail("rows");
  if( !opt.bNoValues ){
    uint64_t h1 = fmatOutputs(pState, &x, &opt, nQ), h3;
    attn_state *p3 = 0;
    for(i=0; i<nQ && i<3; i++) fmatConsistent(pState, &x, &opt, i);
    opt.nThread = 3;
    if( attn_state_new(&x, &opt, &p3, &err) ) fuzzFail("threads=3: %s", err.zMsg);
    h3 = fmatOutputs(p3, &x, &opt, nQ);
    attn_state_free(p3);
    if( h1!=h3 ) fuzzFail("threads=1 and threads=3 give different bits");
  }
  /* Score rows of up to 3 query rows. */
  for(i=0; i<nQ && i<3; i++){
    attn_score_iter *pIter = 0;
    attn_score s;
    double aSum[8] = {0}, aMax[8] = {0};
    int aAny[8] = {0}, iHead = (fuzzByte(&in)&3)==0 ? (int)fuzzRange(&in, 9) - 1 : -1;
    if( attn_scores_open(pState, i, iHead, &pIter, &err) ){
      /* Only a Q or K that overflowed float32 may stop the score rows. */
      if( strstr(err.zMsg, "overflow float32")==0 ){
        fuzzFail("attn_scores_open: %s", err.zMsg);
      }
      continue;
    }
    while( attn_scores_next(pIter, &s) ){
      if( s.iKey<0 || s.iKey>=nK || s.iHead<0
       || s.iHead>=attn_state_heads(pState) ){
        fuzzFail("score row: key %lld, head %d", (long long)s.iKey, s.iHead);
      }
      if( FUZZ_KNOWN_SCORES_OVERFLOW && (!isfinite(s.rScore) || isnan(s.rWeight)) ){
        if( s.iHead<8 ) aAny[s.iHead] = -1;     /* see fuzz.h */
        continue;
      }
      if( !(s.rWeight>=0.0 && s.rWeight<=1.0) || !isfinite(s.rScore) ){
        fuzzFail("score %g, weight %g", s.rScore, s.rWeight);
      }
      if( s.iHead<8 && aAny[s.iHead]>=0 ){
        aSum[s.iHead] += s.rWeight;
        aAny[s.iHead] = 1;
        if( fabs(s.rScore)>aMax[s.iHead] ) aMax[s.iHead] = fabs(s.rScore);
      }
    }
    attn_scores_close(pIter);
    for(t=0; t<8; t++){
      /* While FUZZ_KNOWN_SCORES_PRECISION (fuzz.h): a weight exp(score -
      ** lse) carries an error of about ulp(lse) ~ |score|*1.1e-16, which
      ** the bound allows, no more.  With sinks the weights sum to 1 - the
      ** sink's weight (fmatConsistent checks how much): at most 1. */
      double rTol = 1e-6*(double)(nK+1);
      if( FUZZ_KNOWN_SCORES_PRECISION ) rTol += 4e-16*aMax[t]*(double)(nK+1);
      if( aAny[t]>0 && x.sinks.a && !(aSum[t]<=1.0+rTol) ){
        fuzzFail("weights of row %lld head %d sum to %.12g, more than 1",
                 (long long)i, t, aSum[t]);
      }
      if( aAny[t]>0 && !x.sinks.a && fabs(aSum[t]-1.0)>rTol ){
        fuzzFail("weights of row %lld head %d sum to %.12g", (long long)i, t, aSum[t]);
      }
    }
  }

done:
  attn_state_free(pState);
  for(t=0; t<8; t++) free(aOwn[t]);
  free(aSlope); free(aSink); free(aBias);
  free(aXq); free(aXk); free(aXv);
  free(aSeqQ); free(aSeqK); free(aPosQ); free(aPosK);
  return 0;
}
