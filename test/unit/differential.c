/*
** differential.c: a random differential test of the attention engine and
** of attention()/attention_scores() against a float64 reference written
** here from the definition (docs/sql-attention.md), nothing of src/ used by
** the reference.
**
** kernels: all   (test/all.tcl runs this once per kernel level)
**
** Each case draws a configuration: heads and kv_heads (any divisor), head
** widths, self- or cross-attention, row counts across the 64-row blocks,
** sequences, causal, window or window_left/window_right (either side
** unbounded, 0, small or up to INT64_MAX), RoPE in both styles, ALiBi with
** the standard slopes or given ones (alibi_slopes), sinks (one logit per
** head), a bias per key (the keys' bias column), softcap, scale,
** each projection and bias present or not, and positions that are
** missing (the defaults), dense, duplicated, negative, gapped by up to a
** million, or near ±2^53 (distances up to 2^54), in any order.  The case
** runs through the C API with one and with two threads (the same bits),
** and one case in three through SQL too: the rows in tables, attention()
** for every output and lse by id, and attention_scores() for the weights of
** one query row (the qid filter and its default positions).  Every value
** is compared with the reference within a bound the reference derives for
** it from the float32 roundings of the computation (the model of
** docs/testing.md: g(n) = n·u/(1 − n·u), u = 2^-24, for each float32 sum
** of n terms, exp and tanh to a few ulp, one rescale per 16 keys), doubled
** for safety: a wrong mask, slope, rotation, head mapping or position is
** off by far more.  Rows with no allowed key must be NULL, and only they.
**
** The seed is fixed (ATTN_DIFF_SEED, default 20261202) and the number of
** cases is ATTN_DIFF_CASES (default 300, about a second per kernel level);
** with ATTN_DIFF_SECONDS=N it goes on drawing cases for N seconds, which
** make fuzz does (under ASan and UBSan, for FUZZ_SECONDS).  DIFF_WIDE adds the classes the kernel
** rewrite fixed (ALiBi at distances to 2^54, softcaps from 1e-50 to 1e300,
** windows to INT64_MAX); it is on (ATTN_DIFF_WIDE=0 turns it off).
**
** precision = 'bf16' (docs/sql-attention.md): every case runs again in
** bf16, with one and two threads (the same bits), against the same float64
** reference within the bound of the same model with a unit roundoff of
** 2^-8 instead of 2^-24 (it covers each operand's rounding to bf16, 2^-9,
** and the float32 arithmetic after it); rows with no key are NULL as in
** fp32, and the weights of the score rows sum to 1 within float64's
** rounding.  The worst error is printed against its bound and against the
** output scale (the case's largest |output|).
*/
#include "unit.h"
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "attention.h"

int sqlite3_attention_init(sqlite3*, char**, const sqlite3_api_routines*);

/* The unit roundoff of the bounds: float32's 2^-24, or 2^-8 for the bf16
** path (every operand rounding, 2^-9, and each float32 operation inside
** one 2^-8: the same model, a coarser unit). */
#define U_FP32 (1.0/16777216.0)
#define U_BF16 (1.0/256.0)
static double U = U_FP32;
#define U64    (1.0/1125899906842624.0)  /* 2^-50, room for float64's own */
#define SAFETY 2.0                       /* bounds are doubled */
#define MAXH   16

static double gam(double n){ return n*U/(1.0-n*U); }

/*
** Random numbers (xorshift64*), from the seed.
*/
static uint64_t dRand = 1;
static uint64_t dNext(void){
  dRand ^= dRand >> 12; dRand ^= dRand << 25; dRand ^= dRand >> 27;
  return dRand * 2685821657736338717ull;
}
static int64_t dRange(int64_t n){ return n>0 ? (int64_t)(dNext() % (uint64_t)n) : 0; }
static double dUniform(void){ return (double)(dNext()>>11)/9007199254740992.0; }
static float dValue(double mag){ return (float)((dUniform()*2.0-1.0)*mag); }
static int dChance(int nIn100){ return dRange(100)<nIn100; }

/*
** A case.
*/
typedef struct Side Side;
struct Side {                 /* the rows of one SELECT */
  int64_t n, dX;              /* rows, input width */
  float *x;                   /* n × dX */
  int64_t *seq, *pos;         /* NULL: none / the defaults */
};
typedef struct Case Case;
struct Case {
  int H, G, dh, dvh;          /* heads, kv heads, q·k and v widths per head */
  int bCross;                 /* keys are rows of their own */
  Side q, k;                  /* queries; keys and values (x of k side) */
  int64_t dXv;                /* value input width (= k.dX: one x per key) */
  float *wq, *wk, *wv, *wo, *bq, *bk, *bv, *bo;
  int64_t nOut;               /* output width */
  int bSlopes;                /* alibi_slopes given: aSlope */
  float aSlope[MAXH];
  int bSinks;                 /* sinks given: aSink */
  float aSink[MAXH];
  float *aBias;               /* per key row: its bias, or NULL */
  attn_options opt;
  char zDesc[300];
};

static float *dVec(int64_t n, double mag){
  float *a = malloc(sizeof(float)*(size_t)(n>0 ? n : 1));
  int64_t i;
  for(i=0; i<n; i++) a[i] = dValue(mag);
  return a;
}

/* Positions for n rows, by a mode drawn here (or none). */
static int64_t *dPositions(int64_t n, int bWide, const char **pzMode){
  int64_t *a, i, v = 0, base;
  int eMode = (int)dRange(7);
  if( eMode==0 ){ *pzMode = "default"; return 0; }
  a = malloc(sizeof(int64_t)*(size_t)(n>0 ? n : 1));
  base = ((int64_t)1<<53) - 3*n;
  for(i=0; i<n; i++){
    switch( eMode ){
      case 1: a[i] = i; *pzMode = "dense"; break;
      case 2: a[i] = dRange(n/3+1); *pzMode = "duplicates"; break;
      case 3: a[i] = dRange(2*n+1) - n; *pzMode = "negative"; break;
      case 4: v += 1 + dRange(1000000); a[i] = v; *pzMode = "gapped"; break;
      case 5:                            /* near ±2^53 */
        a[i] = dChance(50) ? base + dRange(3*n) : -base - dRange(3*n);
        if( !bWide ) a[i] = base + dRange(3*n);
        *pzMode = "near 2^53";
        break;
      default: a[i] = dRange(50) - 20; *pzMode = "small mixed"; break;
    }
  }
  /* Any order: shuffle some. */
  if( dChance(50) ){
    for(i=n-1; i>0; i--){
      int64_t j = dRange(i+1), t = a[i];
      a[i] = a[j]; a[j] = t;
    }
  }
  return a;
}

static int64_t *dSeqs(int64_t n, int nSeq){
  int64_t *a = malloc(sizeof(int64_t)*(size_t)(n>0 ? n : 1)), i;
  for(i=0; i<n; i++) a[i] = dRange(nSeq) - 1;        /* -1, 0, 1, ... */
  return a;
}

static void caseFree(Case *c){
  free(c->q.x); free(c->q.seq); free(c->q.pos);
  if( c->bCross ){ free(c->k.x); free(c->k.seq); free(c->k.pos); }
  free(c->wq); free(c->wk); free(c->wv); free(c->wo);
  free(c->bq); free(c->bk); free(c->bv); free(c->bo);
  free(c->aBias);
  memset(c, 0, sizeof(*c));
}

/* Draw a case. */
static void caseDraw(Case *c, int bWide){
  static const int aHeads[] = {1, 1, 2, 2, 3, 4, 6, 8};
  static const double aBase[] = {10.0, 100.0, 10000.0, 1e6};
  int64_t dQ, dK, dV, nQ, nK;
  const char *zPosQ = "default", *zPosK = "default";
  int nSeq = dChance(40) ? (int)(2 + dRange(3)) : 0, d;
  memset(c, 0, sizeof(*c));
  attn_options_init(&c->opt);
  c->H = aHeads[dRange(8)];
  do{ c->G = (int)(1 + dRange(c->H)); }while( c->H%c->G );
  c->opt.nHead = c->H;
  c->opt.nKvHead = c->G;
  c->opt.bCausal = dChance(50);
  c->opt.bAlibi = dChance(30);
  if( dChance(40) ){
    c->opt.rRopeBase = aBase[dRange(4)];
    c->opt.eRopeStyle = dChance(50) ? 1 : 0;
  }
  c->dh = (int)(1 + dRange(8));
  if( c->opt.rRopeBase>0 && c->dh%2 ) c->dh++;
  c->dvh = (int)(1 + dRange(6));
  if( dChance(30) ){
    static const int64_t aW[] = {1, 2, 3, 5, 17, 64};
    c->opt.nWindow = aW[dRange(6)];
    if( bWide && dChance(30) ){
      static const int64_t aBig[] = {(int64_t)1<<40, (int64_t)1<<54,
                                     ((int64_t)1<<54)+1, INT64_MAX};
      c->opt.nWindow = aBig[dRange(4)];
    }
  }
  if( c->opt.nWindow==0 && dChance(30) ){
    /* window_left / window_right: each side unbounded (not given) or a
    ** bound, 0 included */
    static const int64_t aSide[] = {0, 1, 2, 3, 7, 40};
    static const int64_t aBig[] = {(int64_t)1<<40, ((int64_t)1<<54)-1,
                                   (int64_t)1<<54, INT64_MAX};
    int k;
    for(k=0; k<2; k++){
      int64_t v = bWide && dChance(25) ? aBig[dRange(4)] : aSide[dRange(6)];
      if( !dChance(75) ) continue;
      if( k==0 ){ c->opt.bWindowLeft = 1; c->opt.nWindowLeft = v; }
      else{ c->opt.bWindowRight = 1; c->opt.nWindowRight = v; }
    }
  }
  if( dChance(20) ){
    static const float aS[] = {0.0f, 0.125f, 0.5f, 1.5f, 3.0f, 0.0078125f};
    int h;
    c->bSlopes = 1;
    for(h=0; h<c->H; h++) c->aSlope[h] = aS[dRange(6)];
  }
  if( dChance(20) ){
    static const float aSk[] = {0.0f, -3.0f, 0.5f, 2.0f, 8.0f, -0.25f};
    int h;
    c->bSinks = 1;
    for(h=0; h<c->H; h++) c->aSink[h] = aSk[dRange(6)];
  }
  if( dChance(30) ){
    static const double aCap[] = {1.0, 5.0, 30.0, 0.3};
    static const double aWide[] = {1e-50, 1e-10, 1e39, 1e300};
    c->opt.rSoftcap = bWide && dChance(40) ? aWide[dRange(4)] : aCap[dRange(4)];
  }
  if( dChance(30) ){
    static const double aScale[] = {0.05, 0.5, 1.0, 2.0, -1.0, 0.0};
    c->opt.bScale = 1;
    c->opt.rScale = aScale[dRange(6)];
  }
  nQ = dChance(15) ? 65 + dRange(100) : 1 + dRange(40);
  c->bCross = dChance(40);
  nK = c->bCross ? (dChance(15) ? 65 + dRange(100) : 1 + dRange(40)) : nQ;
  dQ = (int64_t)c->H*c->dh;
  dK = (int64_t)c->G*c->dh;
  dV = (int64_t)c->G*c->dvh;
  /* Inputs: widths of their own when a weight maps them, else the
  ** projected widths (q and k must then agree per head). */
  c->q.n = nQ;
  c->q.dX = dChance(60) ? 1 + dRange(12) : dQ;
  if( c->q.dX!=dQ ) c->wq = dVec(c->q.dX*dQ, 1.0);
  c->k.n = nK;
  c->k.dX = dChance(60) ? 1 + dRange(12) : (c->bCross ? dK : c->q.dX);
  if( !c->bCross ) c->k.dX = c->q.dX;
  if( c->k.dX!=dK || dChance(20) ) c->wk = dVec(c->k.dX*dK, 1.0);
  c->dXv = c->k.dX;
  if( c->dXv!=dV || dChance(20) ) c->wv = dVec(c->dXv*dV, 1.0);
  if( c->wq==0 && c->q.dX==dQ && dChance(20) ) c->wq = dVec(c->q.dX*dQ, 1.0);
  if( dChance(40) ){
    c->nOut = 1 + dRange(10);
    c->wo = dVec((int64_t)c->H*c->dvh*c->nOut, 1.0);
  }else{
    c->nOut = (int64_t)c->H*c->dvh;
  }
  if( dChance(25) ) c->bq = dVec(dQ, 0.5);
  if( dChance(25) ) c->bk = dVec(dK, 0.5);
  if( dChance(25) ) c->bv = dVec(dV, 0.5);
  if( dChance(25) ) c->bo = dVec(c->nOut, 0.5);
  c->q.x = dVec(nQ*c->q.dX, dChance(20) ? 4.0 : 1.0);
  if( nSeq ) c->q.seq = dSeqs(nQ, nSeq);
  c->q.pos = dPositions(nQ, bWide, &zPosQ);
  if( c->bCross ){
    c->k.x = dVec(nK*c->k.dX, 1.0);
    if( nSeq ) c->k.seq = dSeqs(nK, nSeq);
    c->k.pos = dPositions(nK, bWide, &zPosK);
  }else{
    c->k.x = c->q.x; c->k.seq = c->q.seq; c->k.pos = c->q.pos;
  }
  if( dChance(20) ){
    int64_t j;
    c->aBias = malloc(sizeof(float)*(size_t)nK);
    for(j=0; j<nK; j++){
      c->aBias[j] = dChance(10) ? (dChance(50) ? -1e30f : 60.0f)
                  : (float)((double)dRange(9)*0.25 - 1.0);
    }
  }
  d = snprintf(c->zDesc, sizeof(c->zDesc), "H=%d G=%d dh=%d dvh=%d %s nQ=%lld "
      "nK=%lld seqs=%d pos=%s/%s causal=%d window=%lld left=%lld%s "
      "right=%lld%s alibi=%d slopes=%d sinks=%d bias=%d rope=%g/%d "
      "softcap=%g scale=%s%g w=%c%c%c%c b=%c%c%c%c", c->H, c->G, c->dh, c->dvh,
      c->bCross ? "cross" : "self", (long long)nQ, (long long)nK, nSeq,
      zPosQ, zPosK, c->opt.bCausal, (long long)c->opt.nWindow,
      (long long)c->opt.nWindowLeft, c->opt.bWindowLeft ? "" : "(off)",
      (long long)c->opt.nWindowRight, c->opt.bWindowRight ? "" : "(off)",
      c->opt.bAlibi, c->bSlopes, c->bSinks, c->aBias!=0,
      c->opt.rRopeBase, c->opt.eRopeStyle, c->opt.rSoftcap,
      c->opt.bScale ? "" : "default/", c->opt.bScale ? c->opt.rScale : 0.0,
      c->wq ? 'q' : '-', c->wk ? 'k' : '-', c->wv ? 'v' : '-', c->wo ? 'o' : '-',
      c->bq ? 'q' : '-', c->bk ? 'k' : '-', c->bv ? 'v' : '-', c->bo ? 'o' : '-');
  (void)d;
}

/*
** The reference.
*/

/* The position of row i of a side: given, or its rank in its sequence. */
static int64_t refPos(const Side *s, int64_t i){
  int64_t j, r = 0;
  if( s->pos ) return s->pos[i];
  for(j=0; j<i; j++) r += (s->seq ? s->seq[j] : 0)==(s->seq ? s->seq[i] : 0);
  return r;
}
static int64_t refSeq(const Side *s, int64_t i){ return s->seq ? s->seq[i] : 0; }

/* x·W + b (or x + b) for one row, with its float32 error bound. */
static void refProject(const float *x, int64_t din, const float *w,
                       const float *b, int64_t dout, double *y, double *e){
  int64_t i, j;
  for(j=0; j<dout; j++){
    double s = b ? b[j] : 0.0, a = b ? fabs(b[j]) : 0.0;
    if( w ){
      for(i=0; i<din; i++){
        double t = (double)x[i]*(double)w[i*dout+j];
        s += t; a += fabs(t);
      }
      e[j] = gam((double)din + 1)*a;
    }else{
      s += x[j];
      e[j] = U*fabs(s);
    }
    y[j] = s;
  }
}

/* RoPE by the definition: pair i of a head turns by θ = pos·base^(−2i/d),
** the angle computed in float64 as documented (position.h), the pairs (i,
** i + d/2) for neox and (2i, 2i+1) interleaved. */
static void refRope(double *x, double *e, int d, int64_t pos, double base,
                    int bInterleaved){
  int i;
  for(i=0; i<d/2; i++){
    double th = (double)pos*pow(base, -2.0*(double)i/(double)d);
    double c = cos(th), sn = sin(th);
    int a = bInterleaved ? 2*i : i, b = bInterleaved ? 2*i+1 : i + d/2;
    double x0 = x[a], x1 = x[b], e0 = e[a], e1 = e[b];
    x[a] = x0*c - x1*sn;
    x[b] = x1*c + x0*sn;
    e[a] = fabs(c)*e0 + fabs(sn)*e1 + U*fabs(x[a]) + U64*(fabs(x0)+fabs(x1));
    e[b] = fabs(c)*e1 + fabs(sn)*e0 + U*fabs(x[b]) + U64*(fabs(x0)+fabs(x1));
  }
}

/* The ALiBi slopes of Press et al.: 2^(−8k/H), k = 1..H, for H a power of
** two; else those of the largest power of two p below H, then 2^(−4k/p)
** for k = 1, 3, 5, ... */
static void refSlopes(int H, double *a){
  int p = 1, k, n = 0;
  while( p*2<=H ) p *= 2;
  for(k=1; k<=p; k++) a[n++] = pow(2.0, -8.0*k/p);
  for(k=1; n<H; k+=2) a[n++] = pow(2.0, -4.0*k/p);
}

/* May query row i attend to key j? */
static int refAllowed(const Case *c, int64_t i, int64_t j){
  int64_t qp = refPos(&c->q, i), kp = refPos(&c->k, j), d;
  if( refSeq(&c->q, i)!=refSeq(&c->k, j) ) return 0;
  if( c->opt.bCausal && kp>qp ) return 0;
  d = qp>kp ? qp-kp : kp-qp;
  if( c->opt.nWindow>0 && d>=c->opt.nWindow ) return 0;
  /* kp < qp − left, kp > qp + right: in long double (64-bit mantissa), so
  ** the bounds to INT64_MAX stay exact without int64 overflow */
  if( c->opt.bWindowLeft
   && (long double)kp < (long double)qp - (long double)c->opt.nWindowLeft ){
    return 0;
  }
  if( c->opt.bWindowRight
   && (long double)kp > (long double)qp + (long double)c->opt.nWindowRight ){
    return 0;
  }
  return 1;
}

/* What the reference gives: out, lse, weights and bounds; none[i] when row
** i has no allowed key. */
typedef struct Ref Ref;
struct Ref {
  double *out, *outE;         /* nQ × nOut */
  double *lse, *lseE;         /* nQ × H */
  double *w, *wE;             /* (i·H + h)·nK + j: weights of the score rows */
  double *sc, *scE;           /* and their scores, as returned */
  int *none;
};

static void refFree(Ref *r){
  free(r->out); free(r->outE); free(r->lse); free(r->lseE);
  free(r->w); free(r->wE); free(r->sc); free(r->scE); free(r->none);
}

static void refCompute(const Case *c, Ref *r){
  int H = c->H, G = c->G, dh = c->dh, dvh = c->dvh, h;
  int64_t nQ = c->q.n, nK = c->k.n, dQ = (int64_t)H*dh, dK = (int64_t)G*dh;
  int64_t dV = (int64_t)G*dvh, nCat = (int64_t)H*dvh, i, j, t;
  double *Q = calloc((size_t)(nQ*dQ), sizeof(double));
  double *QE = calloc((size_t)(nQ*dQ), sizeof(double));
  double *K = calloc((size_t)(nK*dK), sizeof(double));
  double *KE = calloc((size_t)(nK*dK), sizeof(double));
  double *V = calloc((size_t)(nK*dV), sizeof(double));
  double *VE = calloc((size_t)(nK*dV), sizeof(double));
  double *s = calloc((size_t)nK, sizeof(double));
  double *ef = calloc((size_t)nK, sizeof(double));   /* float32 kernels */
  double *es = calloc((size_t)nK, sizeof(double));   /* float64 score rows */
  double *cat = calloc((size_t)nCat, sizeof(double));
  double *catE = calloc((size_t)nCat, sizeof(double));
  double slope[MAXH];
  double scale = c->opt.bScale ? c->opt.rScale : 1.0/sqrt((double)dh);
  r->out = calloc((size_t)(nQ*c->nOut), sizeof(double));
  r->outE = calloc((size_t)(nQ*c->nOut), sizeof(double));
  r->lse = calloc((size_t)(nQ*H), sizeof(double));
  r->lseE = calloc((size_t)(nQ*H), sizeof(double));
  r->w = calloc((size_t)(nQ*H*nK), sizeof(double));
  r->wE = calloc((size_t)(nQ*H*nK), sizeof(double));
  r->sc = calloc((size_t)(nQ*H*nK), sizeof(double));
  r->scE = calloc((size_t)(nQ*H*nK), sizeof(double));
  r->none = calloc((size_t)nQ, sizeof(int));
  refSlopes(H, slope);
  for(h=0; c->bSlopes && h<H; h++) slope[h] = c->aSlope[h];
  for(i=0; i<nQ; i++){
    refProject(c->q.x + i*c->q.dX, c->q.dX, c->wq, c->bq, dQ, Q+i*dQ, QE+i*dQ);
    for(h=0; h<H && c->opt.rRopeBase>0; h++){
      refRope(Q+i*dQ+h*dh, QE+i*dQ+h*dh, dh, refPos(&c->q, i),
              c->opt.rRopeBase, c->opt.eRopeStyle);
    }
    for(t=0; t<dQ; t++){                   /* the scale, folded into Q */
      QE[i*dQ+t] = fabs(scale)*QE[i*dQ+t] + U*fabs(scale*Q[i*dQ+t]);
      Q[i*dQ+t] *= scale;
    }
  }
  for(j=0; j<nK; j++){
    refProject(c->k.x + j*c->k.dX, c->k.dX, c->wk, c->bk, dK, K+j*dK, KE+j*dK);
    refProject(c->k.x + j*c->dXv, c->dXv, c->wv, c->bv, dV, V+j*dV, VE+j*dV);
    for(h=0; h<G && c->opt.rRopeBase>0; h++){
      refRope(K+j*dK+h*dh, KE+j*dK+h*dh, dh, refPos(&c->k, j),
              c->opt.rRopeBase, c->opt.eRopeStyle);
    }
  }
  for(i=0; i<nQ; i++){
    int64_t qp = refPos(&c->q, i), ref = -1, nSeq = 0, nAllowed = 0;
    /* ALiBi's reference distance: to the nearest allowed key (0 if none). */
    for(j=0; j<nK; j++){
      int64_t kp = refPos(&c->k, j), dd = qp>kp ? qp-kp : kp-qp;
      nSeq += refSeq(&c->q, i)==refSeq(&c->k, j);
      if( refAllowed(c, i, j) ){
        nAllowed++;
        if( ref<0 || dd<ref ) ref = dd;
      }
    }
    r->none[i] = nAllowed==0;
    if( ref<0 ) ref = 0;
    for(h=0; h<H; h++){
      int g = h/(H/G), d;
      double mx = -INFINITY, sum = 0.0, gn, eexp, le, esum = 0.0;
      double sk = -INFINITY, wsk = 0.0, esk = 0.0;
      int64_t R, nTerm;
      for(j=0; j<nK; j++){
        double mag = 0.0, ein = 0.0;
        if( !refAllowed(c, i, j) ){ s[j] = -INFINITY; continue; }
        s[j] = 0.0;
        for(d=0; d<dh; d++){
          double x = Q[i*dQ+h*dh+d], y = K[j*dK+g*dh+d];
          s[j] += x*y;
          mag += fabs(x*y);
          ein += fabs(y)*QE[i*dQ+h*dh+d] + fabs(x)*KE[j*dK+g*dh+d];
        }
        ef[j] = gam((double)dh)*mag + ein;
        es[j] = ein + U64*(double)(dh+4)*mag;
        if( c->opt.rSoftcap>0 ){
          double x = s[j]/c->opt.rSoftcap, th = tanh(x), sc = c->opt.rSoftcap*th;
          double sech2 = 1.0 - th*th;
          ef[j] = sech2*(ef[j] + 3*U*fabs(s[j])) + 12*U*fabs(sc);
          es[j] = sech2*es[j] + U64*(fabs(s[j]) + fabs(sc));
          s[j] = sc;
        }
        if( c->opt.bAlibi || c->bSlopes ){
          int64_t kp = refPos(&c->k, j), dd = qp>kp ? qp-kp : kp-qp;
          double a = slope[h]*(double)(dd - ref);
          s[j] -= a;
          ef[j] += 3*U*a + U*fabs(s[j]);
          es[j] += U64*(a + fabs(s[j]));
        }
        if( c->aBias ){
          s[j] += c->aBias[j];
          ef[j] += U*fabs(s[j]);
          es[j] += U64*fabs(s[j]);
        }
        if( s[j]>mx ) mx = s[j];
      }
      for(d=0; d<dvh; d++){ cat[h*dvh+d] = 0.0; catE[h*dvh+d] = 0.0; }
      if( mx==-INFINITY ){ r->lse[i*H+h] = -INFINITY; continue; }
      /* A sink: one more term, of value 0, in the scores' frame (ALiBi's is
      ** relative to the nearest key: the sink moves by slope·ref), added
      ** after the last tile (one more rescale). */
      nTerm = nAllowed;
      R = (nSeq + 15)/16;
      if( c->bSinks ){
        sk = c->aSink[h]
           + ((c->opt.bAlibi || c->bSlopes) ? slope[h]*(double)ref : 0.0);
        if( sk>mx ) mx = sk;
        nTerm++;
        R++;
      }
      if( R>nTerm-1 ) R = nTerm-1;
      gn = gam((double)(nTerm + R));
      eexp = 5*U*(double)(R + 1);
      for(j=0; j<nK; j++) if( s[j]>-INFINITY ) sum += exp(s[j]-mx);
      if( c->bSinks ) sum += exp(sk - mx);
      r->lse[i*H+h] = mx + log(sum);
      le = gn + 2*U*fabs(log(sum)) + (U + U64)*fabs(r->lse[i*H+h]);
      if( c->bSinks ){
        wsk = exp(sk - mx)/sum;
        esk = 2*U*fabs(sk) + U*(mx - sk) + eexp;
        le += wsk*esk;
        esum += wsk*U64*fabs(sk);
      }
      for(j=0; j<nK; j++){
        double wt, eps;
        if( s[j]==-INFINITY ) continue;
        wt = exp(s[j]-mx)/sum;
        eps = ef[j] + U*(mx - s[j]) + eexp;
        le += wt*eps;
        esum += wt*es[j];
        r->w[(i*H+h)*nK+j] = wt;
        for(d=0; d<dvh; d++) cat[h*dvh+d] += wt*V[j*dV+g*dvh+d];
      }
      /* The lse as returned: the keys' own log-sum-exp in the frame above
      ** (the kernels leave the sink out of it), slope·ref below it in the
      ** definition's frame, in float64, with the sink added there (which
      ** scales that error by the keys' share), rounded once to float32. */
      {
        double sh = (c->opt.bAlibi || c->bSlopes) ? slope[h]*(double)ref : 0;
        double mxK = -INFINITY, sumK = 0.0, lK, leK, eexpK;
        int64_t RK = (nSeq + 15)/16;
        if( RK>nAllowed-1 ) RK = nAllowed-1;
        eexpK = 5*U*(double)(RK + 1);
        for(j=0; j<nK; j++) if( s[j]>mxK ) mxK = s[j];
        for(j=0; j<nK; j++) if( s[j]>-INFINITY ) sumK += exp(s[j]-mxK);
        lK = mxK + log(sumK);
        leK = gam((double)(nAllowed + RK)) + 2*U*fabs(log(sumK)) + U*fabs(lK);
        for(j=0; j<nK; j++){
          if( s[j]==-INFINITY ) continue;
          leK += exp(s[j]-lK)*(ef[j] + U*(mxK - s[j]) + eexpK);
        }
        lK -= sh;
        leK += U64*(sh + fabs(lK));
        if( c->bSinks ){
          double a = lK>c->aSink[h] ? lK : c->aSink[h];
          double tot = a + log1p(exp(-fabs(lK - c->aSink[h])));
          leK *= exp(lK - tot);
          lK = tot;
        }
        r->lse[i*H+h] = lK;
        le = leK + (U + U64)*fabs(lK);
      }
      r->lseE[i*H+h] = le;
      for(j=0; j<nK; j++){
        double wt = r->w[(i*H+h)*nK+j];
        double sh = (c->opt.bAlibi || c->bSlopes) ? slope[h]*(double)ref : 0.0;
        if( s[j]==-INFINITY ) continue;
        /* The score as returned: in the definition's frame (see the lse). */
        r->sc[(i*H+h)*nK+j] = s[j] - sh;
        r->scE[(i*H+h)*nK+j] = es[j] + U64*(sh + fabs(s[j] - sh)) + 1e-300;
        r->wE[(i*H+h)*nK+j] = wt*(es[j] + esum
                              + U64*((double)nTerm + 4 + 2*(mx - s[j])))
                              + 1e-300;
      }
      for(d=0; d<dvh; d++){
        double o = cat[h*dvh+d], A = 0.0, P = 0.0, EV = 0.0;
        for(j=0; j<nK; j++){
          double v, wt, eps;
          if( s[j]==-INFINITY ) continue;
          v = V[j*dV+g*dvh+d];
          wt = r->w[(i*H+h)*nK+j];
          eps = ef[j] + U*(mx - s[j]) + eexp;
          A += wt*fabs(v);
          P += wt*eps*fabs(v - o);
          EV += wt*VE[j*dV+g*dvh+d];
          if( mx - s[j]>86 ) P += wt*(fabs(v) + fabs(o));   /* exp flushed */
        }
        P += wsk*esk*fabs(o);                   /* the sink, of value 0 */
        catE[h*dvh+d] = gn*(A + fabs(o)) + 2*U*fabs(o) + P + EV;
      }
    }
    for(t=0; t<c->nOut; t++){
      double v = c->bo ? c->bo[t] : 0.0, a = c->bo ? fabs(c->bo[t]) : 0.0;
      double e = 0.0;
      int64_t u;
      if( c->wo ){
        for(u=0; u<nCat; u++){
          v += cat[u]*(double)c->wo[u*c->nOut+t];
          a += fabs(cat[u]*(double)c->wo[u*c->nOut+t]);
          e += fabs((double)c->wo[u*c->nOut+t])*catE[u];
        }
        e += gam((double)nCat + 1)*a;
      }else{
        v += cat[t];
        e = catE[t] + (c->bo ? U*fabs(v) : 0.0);
      }
      r->out[i*c->nOut+t] = v;
      r->outE[i*c->nOut+t] = e + U64*fabs(v) + 1e-30;
    }
  }
  free(Q); free(QE); free(K); free(KE); free(V); free(VE);
  free(s); free(ef); free(es); free(cat); free(catE);
}

/*
** Checks.
*/
static double dWorst = 0.0;          /* the largest |error|/bound seen */
static long long dCompared = 0;
static int dFailed = 0;              /* cases with a failure, to report */

static int dClose(double got, double want, double bound){
  double e = fabs(got - want), f;
  dCompared++;
  if( !(e<=SAFETY*bound) ) return 0;
  f = bound>0 ? e/bound : 0.0;
  if( f>dWorst ) dWorst = f;
  return 1;
}

static void dReport(const Case *c, int iCase, const char *zWhat){
  unitFail++;
  if( dFailed++<8 ){
    fprintf(stderr, "FAIL differential case %d (%s): %s\n", iCase, c->zDesc,
            zWhat);
  }
}

/* The engine's input for case c. */
static void caseInput(const Case *c, attn_input *in){
  int64_t dQ = (int64_t)c->H*c->dh, dK = (int64_t)c->G*c->dh;
  int64_t dV = (int64_t)c->G*c->dvh;
  memset(in, 0, sizeof(*in));
  in->nQuery = c->q.n; in->nKey = c->k.n;
  in->aXq = c->q.x; in->nXq = c->q.dX;
  in->aXk = c->k.x; in->nXk = c->k.dX;
  in->aXv = c->k.x; in->nXv = c->dXv;
  in->aSeqQ = c->q.seq; in->aSeqK = c->k.seq;
  in->aPosQ = c->q.pos; in->aPosK = c->k.pos;
  if( c->wq ){ in->wq.a = c->wq; in->wq.n = c->q.dX*dQ; }
  if( c->wk ){ in->wk.a = c->wk; in->wk.n = c->k.dX*dK; }
  if( c->wv ){ in->wv.a = c->wv; in->wv.n = c->dXv*dV; }
  if( c->wo ){ in->wo.a = c->wo; in->wo.n = (int64_t)c->H*c->dvh*c->nOut; }
  if( c->bq ){ in->bq.a = c->bq; in->bq.n = dQ; }
  if( c->bk ){ in->bk.a = c->bk; in->bk.n = dK; }
  if( c->bv ){ in->bv.a = c->bv; in->bv.n = dV; }
  if( c->bo ){ in->bo.a = c->bo; in->bo.n = c->nOut; }
  if( c->bSlopes ){ in->alibiSlopes.a = c->aSlope; in->alibiSlopes.n = c->H; }
  if( c->bSinks ){ in->sinks.a = c->aSink; in->sinks.n = c->H; }
  in->aBiasK = c->aBias;
}

/* The C API: outputs, lse and score rows against the reference; the same
** bits with two threads.  Returns the outputs (nQ × nOut, NaN for NULL). */
static float *runEngine(const Case *c, const Ref *r, int iCase, int nThread){
  attn_input in;
  attn_options opt = c->opt;
  attn_state *st = 0;
  attn_err err;
  int64_t i, j, nQ = c->q.n, nK = c->k.n;
  float *res = malloc(sizeof(float)*(size_t)(nQ*c->nOut));
  char z[800];
  int bBad = 0;
  caseInput(c, &in);
  opt.nThread = nThread;
  if( attn_state_new(&in, &opt, &st, &err) ){
    snprintf(z, sizeof(z), "attn_state_new: %s", err.zMsg);
    dReport(c, iCase, z);
    free(res);
    return 0;
  }
  for(i=nQ-1; i>=0 && !bBad; i--){           /* back to front */
    const float *o, *l;
    if( attn_output(st, i, &o, &l, &err) ){
      snprintf(z, sizeof(z), "row %lld: %s", (long long)i, err.zMsg);
      dReport(c, iCase, z); bBad = 1; break;
    }
    if( (o==0)!=(r->none[i]!=0) ){
      snprintf(z, sizeof(z), "row %lld: output %s, but the row has %s key",
               (long long)i, o ? "given" : "NULL", r->none[i] ? "no" : "a");
      dReport(c, iCase, z); bBad = 1; break;
    }
    if( o==0 ){
      for(j=0; j<c->nOut; j++) res[i*c->nOut+j] = NAN;
      continue;
    }
    memcpy(res + i*c->nOut, o, sizeof(float)*(size_t)c->nOut);
    for(j=0; j<c->nOut && !bBad; j++){
      if( !dClose(o[j], r->out[i*c->nOut+j], r->outE[i*c->nOut+j]) ){
        snprintf(z, sizeof(z), "row %lld output %lld: %.9g, reference %.9g, "
                 "bound %.3g", (long long)i, (long long)j, o[j],
                 r->out[i*c->nOut+j], SAFETY*r->outE[i*c->nOut+j]);
        dReport(c, iCase, z); bBad = 1;
      }
    }
    for(j=0; j<c->H && !bBad; j++){
      if( !dClose(l[j], r->lse[i*c->H+j], r->lseE[i*c->H+j]) ){
        snprintf(z, sizeof(z), "row %lld lse %lld: %.9g, reference %.9g, "
                 "bound %.3g", (long long)i, (long long)j, l[j],
                 r->lse[i*c->H+j], SAFETY*r->lseE[i*c->H+j]);
        dReport(c, iCase, z); bBad = 1;
      }
    }
  }
  /* Score rows of a few query rows: every allowed key once, the weights. */
  for(i=0; i<nQ && !bBad; i += 1 + nQ/4){
    attn_score_iter *it;
    attn_score sc;
    int64_t nSeen = 0, nWant = 0;
    for(j=0; j<nK; j++) nWant += refAllowed(c, i, j);
    nWant *= c->H;
    if( attn_scores_open(st, i, -1, &it, &err) ){
      snprintf(z, sizeof(z), "scores of row %lld: %s", (long long)i, err.zMsg);
      dReport(c, iCase, z); bBad = 1; break;
    }
    while( attn_scores_next(it, &sc) && !bBad ){
      int64_t iw = (i*c->H + sc.iHead)*nK + sc.iKey;
      nSeen++;
      if( !refAllowed(c, i, sc.iKey) || !dClose(sc.rWeight, r->w[iw], r->wE[iw]) ){
        snprintf(z, sizeof(z), "row %lld key %lld head %d: weight %.17g, "
                 "reference %.17g%s", (long long)i, (long long)sc.iKey,
                 sc.iHead, sc.rWeight, r->w[iw],
                 refAllowed(c, i, sc.iKey) ? "" : " (not allowed)");
        dReport(c, iCase, z); bBad = 1;
      }else if( !dClose(sc.rScore, r->sc[iw], r->scE[iw]) ){
        snprintf(z, sizeof(z), "row %lld key %lld head %d: score %.17g, "
                 "reference %.17g, bound %.3g", (long long)i,
                 (long long)sc.iKey, sc.iHead, sc.rScore, r->sc[iw],
                 SAFETY*r->scE[iw]);
        dReport(c, iCase, z); bBad = 1;
      }
    }
    attn_scores_close(it);
    if( !bBad && nSeen!=nWant ){
      snprintf(z, sizeof(z), "row %lld: %lld score rows, expected %lld",
               (long long)i, (long long)nSeen, (long long)nWant);
      dReport(c, iCase, z); bBad = 1;
    }
  }
  attn_state_free(st);
  if( bBad ){ free(res); return 0; }
  unitPass++;
  return res;
}

/*
** The same case through SQL: the rows in tables q and k (id, x, seq, pos,
** the columns a case does not have left out), the weights bound.
*/
static int sqlExec(sqlite3 *db, const char *z){
  return sqlite3_exec(db, z, 0, 0, 0);
}

static void sqlBindVec(sqlite3_stmt *p, int i, const float *a, int64_t n){
  if( a ) sqlite3_bind_blob(p, i, a, (int)(4*n), SQLITE_TRANSIENT);
  else sqlite3_bind_null(p, i);
}

static void sqlLoad(sqlite3 *db, const char *zTab, const Side *s,
                    const float *aBias){
  char *zSql = sqlite3_mprintf("CREATE TABLE %s(id INTEGER PRIMARY KEY, x BLOB,"
                               " seq INTEGER, pos INTEGER, b REAL)", zTab);
  sqlite3_stmt *p = 0;
  int64_t i;
  sqlExec(db, zSql);
  sqlite3_free(zSql);
  zSql = sqlite3_mprintf("INSERT INTO %s VALUES(?1, ?2, ?3, ?4, ?5)", zTab);
  sqlite3_prepare_v2(db, zSql, -1, &p, 0);
  sqlite3_free(zSql);
  for(i=0; i<s->n; i++){
    sqlite3_bind_int64(p, 1, i+1);
    sqlite3_bind_blob(p, 2, s->x + i*s->dX, (int)(4*s->dX), SQLITE_TRANSIENT);
    if( s->seq ) sqlite3_bind_int64(p, 3, s->seq[i]); else sqlite3_bind_null(p, 3);
    if( s->pos ) sqlite3_bind_int64(p, 4, s->pos[i]); else sqlite3_bind_null(p, 4);
    if( aBias ) sqlite3_bind_double(p, 5, aBias[i]); else sqlite3_bind_null(p, 5);
    sqlite3_step(p);
    sqlite3_reset(p);
  }
  sqlite3_finalize(p);
}

/* The SELECT of a side: id, x, and seq, pos when the case has them. */
static char *sqlSelect(const char *zTab, const Side *s, int bBias){
  return sqlite3_mprintf("SELECT id, x%s%s%s FROM %s ORDER BY id",
                         s->seq ? ", seq" : "", s->pos ? ", pos" : "",
                         bBias ? ", b AS bias" : "", zTab);
}

static void runSql(const Case *c, const Ref *r, int iCase){
  sqlite3 *db = 0;
  sqlite3_stmt *p = 0;
  sqlite3_str *pStr;
  char *zSrc, *zKeys = 0, *zSql, z[800];
  const char *zKeysArg;
  int rc, bBad = 0, k;
  int64_t nRows = 0;
  if( sqlite3_open(":memory:", &db) ) return;
  sqlLoad(db, "q", &c->q, c->bCross ? 0 : c->aBias);
  zSrc = sqlSelect("q", &c->q, !c->bCross && c->aBias);
  if( c->bCross ){
    sqlLoad(db, "k", &c->k, c->aBias);
    zKeys = sqlSelect("k", &c->k, c->aBias!=0);
  }
  zKeysArg = zKeys ? sqlite3_mprintf(", %Q", zKeys) : "";
  pStr = sqlite3_str_new(db);
  sqlite3_str_appendf(pStr, "SELECT id, output, lse FROM attention(%Q%s) "
      "WHERE wq = ?1 AND wk = ?2 AND wv = ?3 AND wo = ?4 AND bq = ?5 AND "
      "bk = ?6 AND bv = ?7 AND bo = ?8 AND heads = %d AND kv_heads = %d AND "
      "causal = %d AND alibi = %d", zSrc, zKeysArg, c->H, c->G,
      c->opt.bCausal, c->opt.bAlibi);
  if( c->opt.nWindow ){
    sqlite3_str_appendf(pStr, " AND window = %lld", (long long)c->opt.nWindow);
  }
  if( c->opt.bWindowLeft ){
    sqlite3_str_appendf(pStr, " AND window_left = %lld",
                        (long long)c->opt.nWindowLeft);
  }
  if( c->opt.bWindowRight ){
    sqlite3_str_appendf(pStr, " AND window_right = %lld",
                        (long long)c->opt.nWindowRight);
  }
  if( c->bSlopes ){
    int h;
    sqlite3_str_appendf(pStr, " AND alibi_slopes = '[");
    for(h=0; h<c->H; h++){
      sqlite3_str_appendf(pStr, "%s%!.17g", h ? "," : "", (double)c->aSlope[h]);
    }
    sqlite3_str_appendf(pStr, "]'");
  }
  if( c->bSinks ){
    int h;
    sqlite3_str_appendf(pStr, " AND sinks = '[");
    for(h=0; h<c->H; h++){
      sqlite3_str_appendf(pStr, "%s%!.17g", h ? "," : "", (double)c->aSink[h]);
    }
    sqlite3_str_appendf(pStr, "]'");
  }
  if( c->opt.rRopeBase>0 ){
    sqlite3_str_appendf(pStr, " AND rope = %!.17g AND rope_style = '%s'",
                        c->opt.rRopeBase,
                        c->opt.eRopeStyle ? "interleaved" : "neox");
  }
  if( c->opt.rSoftcap>0 ){
    sqlite3_str_appendf(pStr, " AND softcap = %!.17g", c->opt.rSoftcap);
  }
  if( c->opt.bScale ) sqlite3_str_appendf(pStr, " AND scale = %!.17g", c->opt.rScale);
  zSql = sqlite3_str_finish(pStr);
  rc = sqlite3_prepare_v2(db, zSql, -1, &p, 0);
  if( rc ){
    snprintf(z, sizeof(z), "SQL: %s", sqlite3_errmsg(db));
    dReport(c, iCase, z);
    goto sql_done;
  }
  {
    int64_t dQ = (int64_t)c->H*c->dh, dK = (int64_t)c->G*c->dh;
    int64_t dV = (int64_t)c->G*c->dvh;
    sqlBindVec(p, 1, c->wq, c->q.dX*dQ);
    sqlBindVec(p, 2, c->wk, c->k.dX*dK);
    sqlBindVec(p, 3, c->wv, c->dXv*dV);
    sqlBindVec(p, 4, c->wo, (int64_t)c->H*c->dvh*c->nOut);
    sqlBindVec(p, 5, c->bq, dQ);
    sqlBindVec(p, 6, c->bk, dK);
    sqlBindVec(p, 7, c->bv, dV);
    sqlBindVec(p, 8, c->bo, c->nOut);
  }
  while( !bBad && (rc = sqlite3_step(p))==SQLITE_ROW ){
    int64_t i = sqlite3_column_int64(p, 0) - 1;
    const float *o = sqlite3_column_blob(p, 1);
    const float *l = sqlite3_column_blob(p, 2);
    nRows++;
    if( (o==0)!=(r->none[i]!=0) || (l==0)!=(o==0) ){
      snprintf(z, sizeof(z), "SQL row %lld: output %s, but the row has %s key",
               (long long)i+1, o ? "given" : "NULL", r->none[i] ? "no" : "a");
      dReport(c, iCase, z); bBad = 1; break;
    }
    for(k=0; o && k<c->nOut && !bBad; k++){
      if( !dClose(o[k], r->out[i*c->nOut+k], r->outE[i*c->nOut+k]) ){
        snprintf(z, sizeof(z), "SQL row %lld output %d: %.9g, reference %.9g",
                 (long long)i+1, k, o[k], r->out[i*c->nOut+k]);
        dReport(c, iCase, z); bBad = 1;
      }
    }
    for(k=0; l && k<c->H && !bBad; k++){
      if( !dClose(l[k], r->lse[i*c->H+k], r->lseE[i*c->H+k]) ){
        snprintf(z, sizeof(z), "SQL row %lld lse %d: %.9g, reference %.9g",
                 (long long)i+1, k, l[k], r->lse[i*c->H+k]);
        dReport(c, iCase, z); bBad = 1;
      }
    }
  }
  if( !bBad && rc!=SQLITE_DONE ){
    snprintf(z, sizeof(z), "SQL: %s", sqlite3_errmsg(db));
    dReport(c, iCase, z); bBad = 1;
  }
  if( !bBad && nRows!=c->q.n ){
    snprintf(z, sizeof(z), "SQL: %lld rows, expected %lld", (long long)nRows,
             (long long)c->q.n);
    dReport(c, iCase, z); bBad = 1;
  }
  sqlite3_finalize(p);
  p = 0;
  /* attention_scores for one query row, by qid (the filter's subset, with
  ** the default positions counted over every row). */
  if( !bBad ){
    int64_t iq = dRange(c->q.n), nSeen = 0, nWant = 0, j;
    char *zScores = sqlite3_mprintf("SELECT kid, head, weight, qpos, kpos, "
        "score FROM "
        "attention_scores(%Q%s) WHERE qid = %lld AND %s", zSrc, zKeysArg,
        (long long)iq+1, strstr(zSql, "wq = ?1"));
    for(j=0; j<c->k.n; j++) nWant += refAllowed(c, iq, j);
    nWant *= c->H;
    rc = sqlite3_prepare_v2(db, zScores, -1, &p, 0);
    sqlite3_free(zScores);
    if( rc==SQLITE_OK ){
      int64_t dQ = (int64_t)c->H*c->dh, dK = (int64_t)c->G*c->dh;
      int64_t dV = (int64_t)c->G*c->dvh;
      sqlBindVec(p, 1, c->wq, c->q.dX*dQ);
      sqlBindVec(p, 2, c->wk, c->k.dX*dK);
      sqlBindVec(p, 3, c->wv, c->dXv*dV);
      sqlBindVec(p, 4, c->wo, (int64_t)c->H*c->dvh*c->nOut);
      sqlBindVec(p, 5, c->bq, dQ);
      sqlBindVec(p, 6, c->bk, dK);
      sqlBindVec(p, 7, c->bv, dV);
      sqlBindVec(p, 8, c->bo, c->nOut);
      while( !bBad && (rc = sqlite3_step(p))==SQLITE_ROW ){
        int64_t jk = sqlite3_column_int64(p, 0) - 1;
        int h = sqlite3_column_int(p, 1);
        double w = sqlite3_column_double(p, 2);
        int64_t iw = (iq*c->H + h)*c->k.n + jk;
        nSeen++;
        if( sqlite3_column_int64(p, 3)!=refPos(&c->q, iq)
         || sqlite3_column_int64(p, 4)!=refPos(&c->k, jk) ){
          snprintf(z, sizeof(z), "SQL scores row %lld: qpos %lld kpos %lld, "
                   "expected %lld and %lld", (long long)iq+1,
                   (long long)sqlite3_column_int64(p, 3),
                   (long long)sqlite3_column_int64(p, 4),
                   (long long)refPos(&c->q, iq), (long long)refPos(&c->k, jk));
          dReport(c, iCase, z); bBad = 1;
        }else if( !refAllowed(c, iq, jk) || !dClose(w, r->w[iw], r->wE[iw]) ){
          snprintf(z, sizeof(z), "SQL scores row %lld key %lld head %d: "
                   "weight %.17g, reference %.17g", (long long)iq+1,
                   (long long)jk+1, h, w, r->w[iw]);
          dReport(c, iCase, z); bBad = 1;
        }else if( !dClose(sqlite3_column_double(p, 5), r->sc[iw], r->scE[iw]) ){
          snprintf(z, sizeof(z), "SQL scores row %lld key %lld head %d: "
                   "score %.17g, reference %.17g", (long long)iq+1,
                   (long long)jk+1, h, sqlite3_column_double(p, 5), r->sc[iw]);
          dReport(c, iCase, z); bBad = 1;
        }
      }
    }
    if( !bBad && rc!=SQLITE_DONE ){
      snprintf(z, sizeof(z), "SQL scores: %s", sqlite3_errmsg(db));
      dReport(c, iCase, z); bBad = 1;
    }
    if( !bBad && nSeen!=nWant ){
      snprintf(z, sizeof(z), "SQL scores row %lld: %lld rows, expected %lld",
               (long long)iq+1, (long long)nSeen, (long long)nWant);
      dReport(c, iCase, z); bBad = 1;
    }
  }
  if( !bBad ) unitPass++;
sql_done:
  sqlite3_finalize(p);
  sqlite3_free(zSql);
  sqlite3_free(zSrc);
  sqlite3_free(zKeys);
  if( zKeys ) sqlite3_free((char*)zKeysArg);
  sqlite3_close(db);
}

/* precision = 'bf16': the outputs within the bf16 bounds of rb, NULL
** exactly where fp32 is, the weights of a few score rows summing to 1.
** Returns the outputs (NaN for NULL) to compare across thread counts. */
static double dWorstBf16 = 0.0;      /* the largest error / output scale */
static double dWorstBf16Bound = 0.0; /* the largest error / its bound */

static float *runBf16(const Case *c, const Ref *r, const Ref *rb, int iCase,
                      int nThread){
  attn_input in;
  attn_options opt = c->opt;
  attn_state *st = 0;
  attn_err err;
  int64_t i, j, nQ = c->q.n, nOut = c->nOut;
  float *res = malloc(sizeof(float)*(size_t)(nQ*nOut));
  double rScale = 0.0;
  char z[800];
  int bBad = 0;
  for(i=0; i<nQ*nOut; i++){
    if( !r->none[i/nOut] && fabs(r->out[i])>rScale ) rScale = fabs(r->out[i]);
  }
  caseInput(c, &in);
  opt.nThread = nThread;
  opt.ePrecision = ATTN_PRECISION_BF16;
  if( attn_state_new(&in, &opt, &st, &err) ){
    snprintf(z, sizeof(z), "bf16 attn_state_new: %s", err.zMsg);
    dReport(c, iCase, z);
    free(res);
    return 0;
  }
  for(i=0; i<nQ && !bBad; i++){
    const float *o, *l;
    if( attn_output(st, i, &o, &l, &err) ){
      snprintf(z, sizeof(z), "bf16 row %lld: %s", (long long)i, err.zMsg);
      dReport(c, iCase, z); bBad = 1; break;
    }
    if( (o==0)!=(r->none[i]!=0) ){
      snprintf(z, sizeof(z), "bf16 row %lld: output %s, but the row has %s "
               "key", (long long)i, o ? "given" : "NULL",
               r->none[i] ? "no" : "a");
      dReport(c, iCase, z); bBad = 1; break;
    }
    for(j=0; j<nOut; j++){
      double e;
      res[i*nOut+j] = o ? o[j] : NAN;
      if( o==0 ) continue;
      e = fabs(o[j] - r->out[i*nOut+j]);
      if( rScale>0 && e/rScale>dWorstBf16 ) dWorstBf16 = e/rScale;
      if( e/rb->outE[i*nOut+j]>dWorstBf16Bound ){
        dWorstBf16Bound = e/rb->outE[i*nOut+j];
      }
      dCompared++;
      if( !(e<=SAFETY*rb->outE[i*nOut+j]) ){
        snprintf(z, sizeof(z), "bf16 row %lld output %lld: %.9g, reference "
                 "%.9g, bound %.3g (output scale %.3g)", (long long)i,
                 (long long)j, o[j], r->out[i*nOut+j],
                 SAFETY*rb->outE[i*nOut+j], rScale);
        dReport(c, iCase, z); bBad = 1; break;
      }
    }
  }
  for(i=0; i<nQ && !bBad; i += 1 + nQ/3){
    attn_score_iter *it;
    attn_score sc;
    double aSum[MAXH] = {0};
    int h, bAny[MAXH] = {0};
    if( attn_scores_open(st, i, -1, &it, &err) ){
      snprintf(z, sizeof(z), "bf16 scores of row %lld: %s", (long long)i,
               err.zMsg);
      dReport(c, iCase, z); bBad = 1; break;
    }
    while( attn_scores_next(it, &sc) ){
      aSum[sc.iHead] += sc.rWeight;
      bAny[sc.iHead] = 1;
    }
    attn_scores_close(it);
    for(h=0; h<c->H && !bBad; h++){
      /* (with sinks they sum to 1 − the sink's weight, which the fp32
      ** comparison of each weight with the reference covers) */
      if( bAny[h] && !c->bSinks
       && !(fabs(aSum[h]-1.0)<=(double)c->k.n*1.2e-16) ){
        snprintf(z, sizeof(z), "bf16 row %lld head %d: the weights sum to "
                 "%.17g", (long long)i, h, aSum[h]);
        dReport(c, iCase, z); bBad = 1;
      }
    }
  }
  attn_state_free(st);
  if( bBad ){ free(res); return 0; }
  unitPass++;
  return res;
}

int main(void){
  const char *zCases = getenv("ATTN_DIFF_CASES");
  const char *zSeed = getenv("ATTN_DIFF_SEED");
  const char *zWide = getenv("ATTN_DIFF_WIDE");
  const char *zSecs = getenv("ATTN_DIFF_SECONDS");
  int nCase = zCases ? atoi(zCases) : 300;
  int bWide = zWide ? atoi(zWide)!=0 : 1;
  double rSecs = zSecs ? atof(zSecs) : 0.0;
  time_t t0 = time(0);
  int i;
  dRand = zSeed ? strtoull(zSeed, 0, 10) : 20261202ull;
  if( dRand==0 ) dRand = 1;
  sqlite3_auto_extension((void(*)(void))sqlite3_attention_init);
  for(i=0; i<nCase || difftime(time(0), t0)<rSecs; i++){
    Case c;
    Ref r, rb;
    float *a1, *a2;
    caseDraw(&c, bWide);
    refCompute(&c, &r);
    a1 = runEngine(&c, &r, i, 1);
    a2 = a1 ? runEngine(&c, &r, i, 2) : 0;
    if( a1 && a2 ){
      if( memcmp(a1, a2, sizeof(float)*(size_t)(c.q.n*c.nOut))==0 ) unitPass++;
      else dReport(&c, i, "one and two threads give different bits");
    }
    free(a1);
    free(a2);
    U = U_BF16;
    refCompute(&c, &rb);
    U = U_FP32;
    a1 = runBf16(&c, &r, &rb, i, 1);
    a2 = a1 ? runBf16(&c, &r, &rb, i, 2) : 0;
    if( a1 && a2 ){
      if( memcmp(a1, a2, sizeof(float)*(size_t)(c.q.n*c.nOut))==0 ) unitPass++;
      else dReport(&c, i, "bf16: one and two threads give different bits");
    }
    free(a1);
    free(a2);
    if( i%3==0 ) runSql(&c, &r, i);
    refFree(&r);
    refFree(&rb);
    caseFree(&c);
  }
  printf("NOTE differential: %d cases (seed %llu%s), %lld values, worst error "
         "%.3f of its bound; bf16: worst error %.3f of its bound, %.2e of "
         "the output scale\n", i, (unsigned long long)(zSeed ?
         strtoull(zSeed, 0, 10) : 20261202ull), bWide ? ", wide classes" : "",
         dCompared, dWorst, dWorstBf16Bound, dWorstBf16);
  return UNIT_DONE();
}
