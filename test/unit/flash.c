/*
** flash.c: the flash-attention kernel of each level (xFlash of the kernel
** set attn_kernels() chooses, which ATTN_KERNEL forces) against a float64
** reference written here from the definition, one query block at a time.
**
** kernels: all   (test/all.tcl runs this once per kernel level)
**
** The reference: for each query row, the keys its mask allows, decided here
** from the positions (causal: key pos <= query pos; window w: |query pos -
** key pos| < w; an asymmetric window, either side given or not: query pos
** - left <= key pos <= query pos + right), not by kernels.h's tile or pair
** helpers; scores q·k in float64, then softcap c·tanh(s/c), then the ALiBi
** bias slope·(|distance| - the row's reference distance, which kernels.h
** has the caller pass), then the key's bias (aKBias); softmax and the
** weighted sum of v in float64, with a sink (bSink) one more term of value
** 0 and logit rSink + slope·(the reference distance) in the scores' frame.
** Rows with no allowed key must come back with lse = -inf and o = 0, sink
** or not.  Each o and lse element must be within the bound of
** test/reference.tcl's model (docs/testing.md): with q, k, v exact float32
** inputs, E(s) = g(dk)·Σ|q·k|, softcap and ALiBi as there, the bias one
** more rounding (u·|s|), each weight perturbed by e_i = E(s_i) + u·(m -
** s_i) + 5u·(R + 1) (exp held to 2 ulp, at most one rescale per 16 keys),
** and
**   E(o_j) = g(n + R)·(Σ w|v_j| + |o_j|) + 2u·|o_j| + Σ w_i·e_i·|v_ij - o_j|,
**   E(lse) = Σ w_i·e_i + g(n + R) + 2u·|log l| + u·|lse|;
** a sink is one more term (n + 1) and one more rescale (R + 1) of o, its
** weight w_s perturbed by e_s = 2u·|sink| + u·(m - sink) + 5u·(R + 1),
** adding w_s·e_s·|o_j| to E(o_j) (test/unit/differential.c's model); the
** lse is the keys' own, without the sink (kernels.h: the caller adds it),
** with E(lse) over the keys alone.
** Also: strided q, v, o and lse; scratch filled with NaN first; the
** columns after each o row and the lse gaps untouched.  The worst error as
** a fraction of its bound is printed (NOTE).
*/
#include "unit.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "kernels.h"

#define U        (1.0/16777216.0)      /* 2^-24 */
#define EXP_ULP  2.0
#define TANH_ULP 3.0   /* kernels_driver.h's tanh */
#define MIN_TILE 16

static double gam(double n){ return n*U/(1.0-n*U); }

static uint64_t fRand = 0x2545F4914F6CDD1Dull;
static uint32_t fNext(void){
  fRand ^= fRand << 13; fRand ^= fRand >> 7; fRand ^= fRand << 17;
  return (uint32_t)(fRand >> 32);
}
static int fInt(int lo, int hi){ return lo + (int)(fNext() % (uint32_t)(hi-lo+1)); }
static float fUniform(void){ return (float)((double)fNext()/4294967296.0*2.0 - 1.0); }

static double aWorst[2];
static long long anCmp[2];
static int within(int k, double got, double ref, double bound){
  double d = fabs(got-ref), f = d==0.0 ? 0.0 : (bound>0.0 ? d/bound : INFINITY);
  if( f>aWorst[k] ) aWorst[k] = f;
  anCmp[k]++;
  return d<=bound;
}

typedef struct Block Block;
struct Block {
  int nq, dk, dv;
  int64_t nKey;
  int bCausal;
  int64_t nWindow;
  int64_t nWinLeft, nWinRight;  /* the asymmetric window; -1: that side not
                                ** given (no bound) */
  float rSlope, rSoftcap;
  int bSink;       /* a sink of logit rSink */
  float rSink;
  int eBias;       /* keys' bias: 0 none, 1 small, 2 some of -1e30 and 60 */
  int ePos;        /* 0 the block's own rows, 1 gaps and repeats, 2 queries
                   ** before and after the keys, 3 queries at the first
                   ** positions */
  float rQ;        /* scale of the query values (large: big logits) */
};

/* Is key position kp allowed for query position qp? (The definition.) */
static int refAllowed(const Block *b, int64_t qp, int64_t kp){
  if( b->bCausal && kp>qp ) return 0;
  if( b->nWindow>0 && (qp>kp ? qp-kp : kp-qp)>=b->nWindow ) return 0;
  if( b->nWinLeft>=0 && kp<qp-b->nWinLeft ) return 0;
  if( b->nWinRight>=0 && kp>qp+b->nWinRight ) return 0;
  return 1;
}

/* The kernel's bound of one side (attn_flash_args: 0 to ATTN_WINDOW_ALL)
** from the block's masks: the smallest of those given. */
static int64_t kernelBound(int64_t nWindow, int64_t nSide, int bCausal){
  int64_t n = ATTN_WINDOW_ALL;
  if( nWindow>0 && nWindow-1<n ) n = nWindow-1;
  if( nSide>=0 && nSide<n ) n = nSide;
  if( bCausal ) n = 0;
  return n;
}

/* One block: returns the number of elements outside their bounds. */
static int runBlock(const Block *b, int *pnEmpty){
  const attn_kernel_set *pK = attn_kernels();
  int nq = b->nq, dk = b->dk, dv = b->dv, r, d, nBad = 0;
  int64_t nKey = b->nKey, nPanel = (nKey + ATTN_PANEL-1)/ATTN_PANEL, j;
  int64_t ldq = dk + fInt(0, 5), ldv = dv + fInt(0, 5);
  int64_t ldo = dv + 3 + fInt(0, 5), ldLse = 1 + fInt(0, 2);
  int64_t nScratch = ATTN_FLASH_SCRATCH(dk, dv, 1);
  float *q = malloc(sizeof(float)*(size_t)(nq*ldq));
  float *kp = calloc((size_t)(nPanel*ATTN_PANEL*dk), sizeof(float));
  float *kr = malloc(sizeof(float)*(size_t)(nKey*dk));      /* keys, rows */
  float *v = malloc(sizeof(float)*(size_t)(nKey*ldv));
  float *o = malloc(sizeof(float)*(size_t)(nq*ldo));
  float *lse = malloc(sizeof(float)*(size_t)(nq*ldLse));
  float *aScratch = attn_malloc_aligned(sizeof(float)*(uint64_t)nScratch);
  int64_t *aQPos = malloc(sizeof(int64_t)*(size_t)nq);
  int64_t *aKPos = malloc(sizeof(int64_t)*(size_t)nKey);
  int64_t *aRef = malloc(sizeof(int64_t)*(size_t)nq);
  double *s = malloc(sizeof(double)*(size_t)nKey);
  double *es = malloc(sizeof(double)*(size_t)nKey);
  double *w = malloc(sizeof(double)*(size_t)nKey);
  float *aBias = b->eBias ? malloc(sizeof(float)*(size_t)nKey) : 0;
  attn_flash_args a;

  for(r=0; r<nq*ldq; r++) q[r] = fUniform()*b->rQ;
  for(j=0; j<nKey; j++){
    for(d=0; d<dk; d++){
      float x = fUniform()*2.0f;
      kr[j*dk+d] = x;
      kp[(j/ATTN_PANEL)*ATTN_PANEL*dk + d*ATTN_PANEL + j%ATTN_PANEL] = x;
    }
  }
  for(j=0; j<nKey*ldv; j++) v[j] = fUniform();
  for(j=0; aBias && j<nKey; j++){
    aBias[j] = b->eBias==2 && fInt(0, 9)==0 ? (fInt(0, 1) ? -1e30f : 60.0f)
             : 0.25f*(float)fInt(0, 8) - 1.0f;
  }
  for(j=0; j<nKey; j++){
    aKPos[j] = b->ePos==1 ? (j ? aKPos[j-1] : -5) + fInt(0, 3) : j;
  }
  for(r=0; r<nq; r++){
    if( b->ePos==0 ) aQPos[r] = nKey>nq ? nKey-nq+r : r;
    else if( b->ePos==1 ) aQPos[r] = (r ? aQPos[r-1] : aKPos[0] - 3) + fInt(0, 4);
    else if( b->ePos==2 ) aQPos[r] = -(int64_t)nq + r + (r>nq/2 ? nKey/2+r : 0);
    else aQPos[r] = r;
  }
  /* ALiBi's per-row reference distance (kernels.h: the distance to the
  ** nearest allowed key, which the caller supplies; a constant per row). */
  for(r=0; r<nq; r++){
    aRef[r] = -1;
    for(j=0; j<nKey; j++){
      int64_t dist = aQPos[r]>aKPos[j] ? aQPos[r]-aKPos[j] : aKPos[j]-aQPos[r];
      if( refAllowed(b, aQPos[r], aKPos[j]) && (aRef[r]<0 || dist<aRef[r]) ){
        aRef[r] = dist;
      }
    }
    if( aRef[r]<0 ) aRef[r] = 0;
  }
  memset(&a, 0, sizeof(a));
  a.nQuery = nq; a.nKey = nKey; a.nDimK = dk; a.nDimV = dv;
  a.q = q; a.ldq = ldq; a.kPacked = kp; a.v = v; a.ldv = ldv;
  a.aQPos = aQPos; a.aKPos = aKPos;
  a.nLeft = kernelBound(b->nWindow, b->nWinLeft, 0);   /* kernels.h's */
  a.nRight = kernelBound(b->nWindow, b->nWinRight, b->bCausal);
  a.rSlope = b->rSlope; a.aAlibiRef = aRef;
  attn_softcap_init(&a.cap, b->rSoftcap);
  a.aKBias = aBias;
  a.bSink = b->bSink; a.rSink = b->rSink;
  a.o = o; a.ldo = ldo; a.aLse = lse; a.ldLse = ldLse; a.aScratch = aScratch;
  for(r=0; r<nq*ldo; r++) o[r] = 12345.0f;
  for(r=0; r<nq*ldLse; r++) lse[r] = 777.0f;
  for(j=0; j<nScratch; j++) aScratch[j] = NAN;
  pK->xFlash(&a);

  for(r=0; r<nq; r++){
    double mx = -INFINITY, sum = 0.0, gn, eexp;
    double sk = -INFINITY, wsk = 0.0, esk = 0.0, lseK = 0.0, leK = 0.0;
    int64_t n = 0, R, nTerm;
    for(j=0; j<nKey; j++){
      double x = 0.0, mag = 0.0;
      if( !refAllowed(b, aQPos[r], aKPos[j]) ){ s[j] = -INFINITY; continue; }
      for(d=0; d<dk; d++){
        double t = (double)q[r*ldq+d]*(double)kr[j*dk+d];
        x += t; mag += fabs(t);
      }
      es[j] = gam((double)dk)*mag;
      if( b->rSoftcap>0.0f ){
        double c = b->rSoftcap, t = tanh(x/c), sech2 = 1.0 - t*t;
        es[j] = sech2*(es[j] + 3*U*fabs(x)) + (2*TANH_ULP + 2)*U*fabs(c*t);
        x = c*t;
      }
      if( b->rSlope!=0.0f ){
        int64_t dist = aQPos[r]>aKPos[j] ? aQPos[r]-aKPos[j] : aKPos[j]-aQPos[r];
        double al = (double)b->rSlope*(double)(dist - aRef[r]);
        x -= al;
        es[j] += 2*U*fabs(al) + U*fabs(x);
      }
      if( aBias ){
        x += aBias[j];
        es[j] += U*fabs(x);
      }
      s[j] = x;
      if( x>mx ) mx = x;
      n++;
    }
    if( n==0 ){
      (*pnEmpty)++;
      if( lse[r*ldLse]!=-INFINITY ) nBad++;
      for(d=0; d<dv; d++) if( o[r*ldo+d]!=0.0f ) nBad++;
    }else{
      /* A sink: one more term of value 0, in the frame of the row's scores
      ** (ALiBi's are relative to the nearest key), after the last tile:
      ** one more rescale. */
      nTerm = n;
      R = (nKey + MIN_TILE - 1)/MIN_TILE;
      if( b->bSink ){
        sk = (double)b->rSink + (double)b->rSlope*(double)aRef[r];
        if( sk>mx ) mx = sk;
        nTerm++;
        R++;
      }
      if( R>nTerm-1 ) R = nTerm-1;
      gn = gam((double)(nTerm + R));
      eexp = (2*EXP_ULP + 1)*U*(double)(R + 1);
      for(j=0; j<nKey; j++) if( s[j]>-INFINITY ) sum += exp(s[j]-mx);
      if( b->bSink ) sum += exp(sk - mx);
      if( b->bSink ){
        wsk = exp(sk - mx)/sum;
        esk = 2*U*fabs(sk) + U*(mx - sk) + eexp;
        if( mx - sk>86 ) esk += 1.0;               /* its exp flushed */
      }
      {
        /* The lse the kernel returns is the keys' own (kernels.h: the
        ** caller adds the sink): the same bound over the keys alone. */
        double mxK = -INFINITY, sumK = 0.0, eexpK;
        int64_t RK = (nKey + MIN_TILE - 1)/MIN_TILE;
        if( RK>n-1 ) RK = n-1;
        eexpK = (2*EXP_ULP + 1)*U*(double)(RK + 1);
        for(j=0; j<nKey; j++) if( s[j]>mxK ) mxK = s[j];
        for(j=0; j<nKey; j++) if( s[j]>-INFINITY ) sumK += exp(s[j]-mxK);
        lseK = mxK + log(sumK);
        leK = gam((double)(n + RK)) + 2*U*fabs(log(sumK)) + U*fabs(lseK)
            + 1e-300;
        for(j=0; j<nKey; j++){
          if( s[j]>-INFINITY ){
            leK += exp(s[j]-lseK)*(es[j] + U*(mxK - s[j]) + eexpK);
          }
        }
      }
      for(j=0; j<nKey; j++){
        if( s[j]==-INFINITY ){ w[j] = 0.0; continue; }
        w[j] = exp(s[j]-mx)/sum;
        es[j] += U*(mx - s[j]) + eexp;          /* now e_j of the weight */
      }
      if( !within(1, lse[r*ldLse], lseK, leK) ){
        if( nBad<3 ) fprintf(stderr, "%s flash: lse row %d: %.9g vs %.9g, "
                             "bound %.3g\n", pK->zName, r, lse[r*ldLse],
                             lseK, leK);
        nBad++;
      }
      for(d=0; d<dv; d++){
        double ref = 0.0, A = 0.0, P = 0.0, e;
        for(j=0; j<nKey; j++) if( w[j]>0.0 ) ref += w[j]*v[j*ldv+d];
        for(j=0; j<nKey; j++){
          double x;
          if( s[j]==-INFINITY ) continue;
          x = v[j*ldv+d];
          A += w[j]*fabs(x);
          P += w[j]*es[j]*fabs(x - ref);
          if( mx - s[j]>86 ) P += w[j]*(fabs(x) + fabs(ref));
        }
        P += wsk*esk*fabs(ref);                  /* the sink, of value 0 */
        e = gn*(A + fabs(ref)) + 2*U*fabs(ref) + P + 1e-300;
        if( !within(0, o[r*ldo+d], ref, e) ){
          if( nBad<3 ) fprintf(stderr, "%s flash: o[%d][%d]: %.9g vs %.9g, "
                               "bound %.3g\n", pK->zName, r, d, o[r*ldo+d],
                               ref, e);
          nBad++;
        }
      }
    }
    for(d=dv; d<ldo; d++) if( o[r*ldo+d]!=12345.0f ) nBad++;
    for(d=1; d<ldLse; d++) if( lse[r*ldLse+d]!=777.0f ) nBad++;
  }
  if( nBad ){
    fprintf(stderr, "  in block nq %d nKey %lld dk %d dv %d causal %d window "
            "%lld left %lld right %lld slope %g softcap %g sink %d %g bias %d "
            "pos %d q scale %g\n", nq, (long long)nKey, dk, dv, b->bCausal,
            (long long)b->nWindow, (long long)b->nWinLeft,
            (long long)b->nWinRight, b->rSlope, b->rSoftcap, b->bSink,
            b->rSink, b->eBias, b->ePos, b->rQ);
  }
  free(q); free(kp); free(kr); free(v); free(o); free(lse);
  attn_free_aligned(aScratch); free(aQPos); free(aKPos); free(aRef); free(s); free(es);
  free(w); free(aBias);
  return nBad;
}

/* One side of an asymmetric window: not given (-1), or a bound from 0 to
** no bound at all (ATTN_WINDOW_ALL), tile and panel edges among them. */
static int64_t drawSide(void){
  static const int64_t aSide[] = { -1, 0, 1, 2, 15, 16, 17, 63, 64, 65, 127,
                                   128, 129, ATTN_WINDOW_ALL };
  int k = fInt(0, 15);
  return k<14 ? aSide[k] : fInt(0, 300);
}

int main(void){
  static const int aDim[] = { 1, 3, 8, 16, 17, 64, 100 };
  static const float aSink[] = { 0.0f, -3.0f, 0.5f, 2.0f, 8.0f, -0.25f,
                                 30.0f, -30.0f };
  int i, nEmpty = 0, nSink = 0, nBias = 0, nAsym = 0;
  printf("kernel %s\n", attn_kernels()->zName);
  for(i=0; i<600; i++){
    Block b;
    int e = i%8;
    memset(&b, 0, sizeof(b));
    b.nWinLeft = b.nWinRight = -1;
    b.nq = i<8 ? (int[]){1, 64, 15, 16, 17, 63, 2, 33}[i] : fInt(1, ATTN_BLOCK_Q);
    b.nKey = i%5==0 ? fInt(1, 20) : fInt(1, 300);
    b.dk = aDim[fInt(0, 6)];
    b.dv = i%3==0 ? aDim[fInt(0, 6)] : b.dk;
    b.ePos = i%4;
    b.rQ = (float)(2.0/sqrt((double)b.dk)) * (i%11==0 ? 20.0f : 1.0f);
    if( e==1 || e==3 ) b.bCausal = 1;
    if( e==2 || e==3 ) b.nWindow = fInt(1, 70);
    if( e==4 ) b.rSlope = 0.0625f*(float)fInt(1, 8);
    if( e==5 ){ b.rSoftcap = 1.0f + (float)fInt(0, 30); b.bCausal = 1; }
    if( e==6 ){ b.rSlope = 0.5f; b.rSoftcap = 5.0f; b.nWindow = fInt(1, 9); }
    if( e==7 ){
      /* window_left / window_right, with causal (the right bound 0) and
      ** ALiBi now and then */
      b.nWinLeft = drawSide();
      b.nWinRight = drawSide();
      b.bCausal = fInt(0, 3)==0;
      if( fInt(0, 1) ) b.rSlope = 0.125f*(float)fInt(1, 8);
      nAsym++;
    }
    /* Sinks and the keys' bias, with any of the above. */
    if( fInt(0, 3)==0 ){ b.bSink = 1; b.rSink = aSink[fInt(0, 7)]; nSink++; }
    if( fInt(0, 3)==0 ){ b.eBias = fInt(1, 2); nBias++; }
    CHECK(runBlock(&b, &nEmpty)==0);
  }
  /* Windows and causal masks exactly at tile edges: keys 0..383, queries
  ** at the last row of a tile, windows reaching exactly to a tile start. */
  {
    static const int64_t aW[] = { 1, 63, 64, 65, 128 };
    int k;
    for(k=0; k<5; k++){
      Block b;
      memset(&b, 0, sizeof(b));
      b.nWinLeft = b.nWinRight = -1;
      b.nq = ATTN_BLOCK_Q; b.nKey = 3*ATTN_TILE_K; b.dk = 16; b.dv = 8;
      b.bCausal = k%2; b.nWindow = aW[k]; b.rQ = 0.5f;
      CHECK(runBlock(&b, &nEmpty)==0);
    }
  }
  /* Asymmetric windows at tile edges, keys at 0..383: the left bound from
  ** queries at 320..383 reaching the last key of a tile (255, 127) or one
  ** short of it, the right bound from queries at 0..63 reaching the first
  ** key of a tile (128, 256) or one short; with a sink and biases. */
  {
    static const int64_t aL[] = { 64, 65, 192, 193 };
    int k;
    for(k=0; k<8; k++){
      Block b;
      memset(&b, 0, sizeof(b));
      b.nq = ATTN_BLOCK_Q; b.nKey = 3*ATTN_TILE_K; b.dk = 16; b.dv = 8;
      b.rQ = 0.5f;
      b.nWinLeft = b.nWinRight = -1;
      if( k<4 ){ b.ePos = 0; b.nWinLeft = aL[k]; b.nWinRight = k%2 ? 0 : -1; }
      else{ b.ePos = 3; b.nWinRight = aL[k-4]; b.nWinLeft = k%2 ? 0 : -1; }
      b.bSink = k%2; b.rSink = 1.0f; b.eBias = k%2;
      CHECK(runBlock(&b, &nEmpty)==0);
    }
  }
  CHECK(nEmpty>0);            /* rows with no allowed key were exercised */
  printf("NOTE flash: %d random blocks with asymmetric windows, %d with a "
         "sink, %d with the keys' bias\n", nAsym, nSink, nBias);
  printf("NOTE precision flash output (%s): worst error %.4f of the bound "
         "(%lld values)\n", attn_kernels()->zName, aWorst[0], anCmp[0]);
  printf("NOTE precision flash lse (%s): worst error %.4f of the bound "
         "(%lld values)\n", attn_kernels()->zName, aWorst[1], anCmp[1]);
  return UNIT_DONE();
}
