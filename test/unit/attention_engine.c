/*
** attention_engine.c: unit tests of src/attention.c against a float64
** reference written from the definition in attention.h (no tiles, no
** online softmax, no packing: a direct triple loop), whose ALiBi slopes,
** RoPE and masks are written here from the formulas too (nothing of
** src/ is called by the reference).
**
** kernels: all   (test/all.tcl runs this once per kernel level)
**
** Bounds: each output, lse, score-row weight is compared with the
** reference within the bound the reference derives for that element from
** the float32 roundings of the computation, the model of
** test/reference.tcl (documented in docs/testing.md): g(n) = n·u/(1-n·u),
** u = 2^-24, for every float32 sum of n terms (projections, scores, the
** softmax sums), the kernels' exp held to 2 ulp, the rescales of the online
** softmax at most one per 16 keys; weights relatively, down to the
** smallest.  The worst error as a fraction of its bound is printed (NOTE).
*/
#include "unit.h"
#include <stdlib.h>
#include <string.h>
#include "attention.h"
#include "position.h"     /* ATTN_ROPE_NEOX, _INTERLEAVED only */

#define U      (1.0/16777216.0)          /* 2^-24: float32 unit roundoff */
#define U64    (1.0/1125899906842624.0)  /* 2^-50: room for float64 error */
#define EXP_ULP   2.0                     /* exp error, unit/kernels.c */
#define TANH_ULP  3.0                     /* kernels_driver.h's tanh */
#define MIN_TILE  16

static double gam(double n){ return n*U/(1.0-n*U); }

/* Worst |ours - ref|/bound of each kind, for the NOTE lines. */
enum { K_OUT, K_LSE, K_WEIGHT, K_SCORESUM, K_N };
static const char *azKind[K_N] = { "attention output", "attention lse",
  "score-row weight (relative)", "score-row weights sum to 1" };
static double aWorst[K_N];
static long long anCmp[K_N];
static int withinBound(int eKind, double got, double ref, double bound){
  double d = fabs(got-ref);
  double f = d==0.0 ? 0.0 : (bound>0.0 ? d/bound : INFINITY);
  if( f>aWorst[eKind] ) aWorst[eKind] = f;
  anCmp[eKind]++;
  return d<=bound;
}

/* Deterministic test data in [-1, 1). */
static uint64_t testRand = 88172645463325252ull;
static float testUniform(void){
  testRand ^= testRand << 13; testRand ^= testRand >> 7; testRand ^= testRand << 17;
  return (float)((double)(testRand >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static float *testMatrix(int64_t n, float scale){
  float *a = malloc(sizeof(float)*(size_t)(n>0 ? n : 1));
  int64_t i;
  for(i=0; i<n; i++) a[i] = testUniform()*scale;
  return a;
}

/* A test case: inputs plus options. */
typedef struct Case Case;
struct Case {
  int64_t nQ, nK, dXq, dXk, dXv;
  float *xq, *xk, *xv;
  int64_t *seqQ, *seqK, *posQ, *posK;
  float *wq, *wk, *wv, *wo, *bq, *bk, *bv, *bo;
  int64_t nQDim, nKDim, nVDim, nOut;   /* projected widths (0 = no weight) */
  attn_options opt;
};

/* x·W + b for one row, in double, with the bound of a float32 computation
** of it: g(din + 1)·(Σ|x·W| + |b|); x + b alone: u·|x + b|. */
static void refProject(const float *x, int64_t din, const float *w,
                       const float *b, int64_t dout, double *out,
                       double *outE){
  int64_t i, j;
  for(j=0; j<dout; j++){
    double s = b ? b[j] : 0.0, a = b ? fabs(b[j]) : 0.0;
    if( w ){
      for(i=0; i<din; i++){
        double t = (double)x[i]*(double)w[i*dout+j];
        s += t; a += fabs(t);
      }
      outE[j] = gam((double)din + (b ? 1 : 0))*a;
    }else{
      s += x[j];
      outE[j] = b ? U*fabs(s) : 0.0;
    }
    out[j] = s;
  }
}

static int64_t refPos(const int64_t *seq, const int64_t *pos, int64_t i){
  int64_t k, r = 0;
  if( pos ) return pos[i];
  for(k=0; k<i; k++) if( (seq ? seq[k] : 0)==(seq ? seq[i] : 0) ) r++;
  return r;
}

/* RoPE (Su et al., RoFormer): pair (a, b) turns by pos·base^(-2i/d); the
** bound: |cos|·E(x_a) + |sin|·E(x_b) + u·|y| (float64, rounded once). */
static void refRope(double *x, double *xE, int64_t d, double pos, double base,
                    int style){
  int64_t i;
  for(i=0; i<d/2; i++){
    double th = pos*pow(base, -2.0*i/(double)d), c = cos(th), sn = sin(th);
    int64_t a = style==ATTN_ROPE_NEOX ? i : 2*i;
    int64_t b = style==ATTN_ROPE_NEOX ? i+d/2 : 2*i+1;
    double x0 = x[a], x1 = x[b], e0 = xE[a], e1 = xE[b];
    x[a] = x0*c - x1*sn;
    x[b] = x1*c + x0*sn;
    xE[a] = fabs(c)*e0 + fabs(sn)*e1 + U*fabs(x[a]) + U64*(fabs(x0*c)+fabs(x1*sn));
    xE[b] = fabs(c)*e1 + fabs(sn)*e0 + U*fabs(x[b]) + U64*(fabs(x1*c)+fabs(x0*sn));
  }
}

/* ALiBi slopes (Press et al., "Train Short, Test Long"): for H a power of
** two 2^(-8k/H), k = 1..H; otherwise those of the largest power of two
** p < H, then 2^(-8k/(2p)) for k = 1, 3, 5, ... */
static void refAlibiSlopes(int H, double *aSlope){
  int p = 1, k, n = 0;
  while( p*2<=H ) p *= 2;
  for(k=1; k<=p; k++) aSlope[n++] = pow(2.0, -8.0*k/p);
  for(k=1; n<H; k+=2) aSlope[n++] = pow(2.0, -8.0*k/(2.0*p));
}

static int refPow2(double x){
  int e;
  return x!=0.0 && fabs(frexp(x, &e))==0.5;
}

/* The reference: out (nQ × nOut) and lse (nQ × H) in double with their
** bounds outE, lseE; empty[i] set for rows with no allowed key; the weight
** matrix per head for the score rows, wgt[(h*nQ + i)*nK + j] (0 where
** masked), with the bound of attn_scores' weight in wgtE. */
static void refAttention(const Case *c, double *out, double *outE,
                         double *lse, double *lseE, int *empty, double *wgt,
                         double *wgtE){
  int H = c->opt.nHead, G = c->opt.nKvHead ? c->opt.nKvHead : H;
  int64_t dQ = c->wq ? c->nQDim : c->dXq, dK = c->wk ? c->nKDim : c->dXk;
  int64_t dV = c->wv ? c->nVDim : c->dXv;
  int64_t dh = dQ/H, dvh = dV/G, nOut = c->wo ? c->nOut : H*dvh;
  double *Q = calloc((size_t)(c->nQ*dQ+1), sizeof(double));
  double *QE = calloc((size_t)(c->nQ*dQ+1), sizeof(double));
  double *K = calloc((size_t)(c->nK*dK+1), sizeof(double));
  double *KE = calloc((size_t)(c->nK*dK+1), sizeof(double));
  double *V = calloc((size_t)(c->nK*dV+1), sizeof(double));
  double *VE = calloc((size_t)(c->nK*dV+1), sizeof(double));
  double *cat = calloc((size_t)(H*dvh), sizeof(double));
  double *catE = calloc((size_t)(H*dvh), sizeof(double));
  double *s = calloc((size_t)(c->nK+1), sizeof(double));
  double *ef = calloc((size_t)(c->nK+1), sizeof(double));   /* flash E(s) */
  double *es = calloc((size_t)(c->nK+1), sizeof(double));   /* scores E(s) */
  double *wt = calloc((size_t)(c->nK+1), sizeof(double));
  double *eps = calloc((size_t)(c->nK+1), sizeof(double));
  double scale = c->opt.bScale ? c->opt.rScale : 1.0/sqrt((double)dh);
  int bExact = refPow2(scale);
  double slopes[1024];
  int64_t i, j, d;
  int h;
  refAlibiSlopes(H, slopes);
  for(i=0; i<c->nQ; i++){
    refProject(c->xq + i*c->dXq, c->dXq, c->wq, c->bq, dQ, Q + i*dQ, QE + i*dQ);
    if( c->opt.rRopeBase>0 ){
      for(h=0; h<H; h++){
        refRope(Q+i*dQ+h*dh, QE+i*dQ+h*dh, dh, (double)refPos(c->seqQ, c->posQ, i),
                c->opt.rRopeBase, c->opt.eRopeStyle);
      }
    }
    /* The scale, folded into the float32 query. */
    for(d=0; d<dQ; d++){
      QE[i*dQ+d] = fabs(scale)*QE[i*dQ+d] + (bExact ? 0.0 : U*fabs(scale*Q[i*dQ+d]));
      Q[i*dQ+d] *= scale;
    }
  }
  for(j=0; j<c->nK; j++){
    refProject(c->xk + j*c->dXk, c->dXk, c->wk, c->bk, dK, K + j*dK, KE + j*dK);
    refProject(c->xv + j*c->dXv, c->dXv, c->wv, c->bv, dV, V + j*dV, VE + j*dV);
    if( c->opt.rRopeBase>0 ){
      for(h=0; h<G; h++){
        refRope(K+j*dK+h*dh, KE+j*dK+h*dh, dh, (double)refPos(c->seqK, c->posK, j),
                c->opt.rRopeBase, c->opt.eRopeStyle);
      }
    }
  }
  for(i=0; i<c->nQ; i++){
    int64_t qs = c->seqQ ? c->seqQ[i] : 0, qp = refPos(c->seqQ, c->posQ, i);
    int64_t nSeq = 0;
    for(j=0; j<c->nK; j++) nSeq += (c->seqK ? c->seqK[j] : 0)==qs;
    empty[i] = 1;
    for(h=0; h<H; h++){
      int g = h/(H/G);
      double mx = -INFINITY, sum = 0.0, esum = 0.0, gn, eexp, le;
      int64_t n = 0, R;
      for(j=0; j<c->nK; j++){
        int64_t ks = c->seqK ? c->seqK[j] : 0, kp = refPos(c->seqK, c->posK, j);
        int ok = ks==qs;
        double mag = 0.0, ein = 0.0;
        if( c->opt.bCausal && kp>qp ) ok = 0;
        if( c->opt.nWindow>0 && llabs(qp-kp)>=c->opt.nWindow ) ok = 0;
        if( !ok ){ s[j] = -INFINITY; continue; }
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
          double t = tanh(s[j]/c->opt.rSoftcap), sech2 = 1.0 - t*t;
          double sc = c->opt.rSoftcap*t;
          ef[j] = sech2*(ef[j] + 3*U*fabs(s[j])) + (2*TANH_ULP + 2)*U*fabs(sc);
          es[j] = sech2*es[j] + U64*(fabs(s[j]) + fabs(sc));
          s[j] = sc;
        }
        if( c->opt.bAlibi ){
          double a = slopes[h]*(double)llabs(qp-kp);
          s[j] -= a;
          ef[j] += 3*U*a + U*fabs(s[j]);
          es[j] += U64*(a + fabs(s[j]));
        }
        if( s[j]>mx ) mx = s[j];
        n++;
      }
      for(d=0; d<dvh; d++){ cat[h*dvh+d] = 0.0; catE[h*dvh+d] = 0.0; }
      if( mx==-INFINITY ){
        lse[i*H+h] = -INFINITY;
        for(j=0; j<c->nK; j++) wgt[((int64_t)h*c->nQ+i)*c->nK+j] = 0.0;
        continue;
      }
      empty[i] = 0;
      R = (nSeq + MIN_TILE - 1)/MIN_TILE;
      if( R>n-1 ) R = n-1;
      gn = gam((double)(n + R));
      eexp = (2*EXP_ULP + 1)*U*(double)(R + 1);
      for(j=0; j<c->nK; j++) if( s[j]>-INFINITY ) sum += exp(s[j]-mx);
      lse[i*H+h] = mx + log(sum);
      le = gn + 2*U*fabs(log(sum)) + (U + U64)*fabs(lse[i*H+h]) + 1e-300;
      for(j=0; j<c->nK; j++){
        if( s[j]==-INFINITY ){ wt[j] = 0.0; continue; }
        wt[j] = exp(s[j]-mx)/sum;
        eps[j] = ef[j] + U*(mx - s[j]) + eexp;
        esum += wt[j]*es[j];
        le += wt[j]*eps[j];
      }
      lseE[i*H+h] = le;
      for(j=0; j<c->nK; j++){
        int64_t iw = ((int64_t)h*c->nQ+i)*c->nK+j;
        wgt[iw] = wt[j];
        wgtE[iw] = s[j]==-INFINITY ? 0.0
                 : wt[j]*(es[j] + esum + U64*((double)n + 4 + 2*(mx - s[j]))) + 1e-300;
        for(d=0; d<dvh; d++) cat[h*dvh+d] += wt[j]*V[j*dV+g*dvh+d];
      }
      for(d=0; d<dvh; d++){
        double o = cat[h*dvh+d], A = 0.0, P = 0.0, EV = 0.0;
        for(j=0; j<c->nK; j++){
          double v;
          if( s[j]==-INFINITY ) continue;
          v = V[j*dV+g*dvh+d];
          A += wt[j]*fabs(v);
          P += wt[j]*eps[j]*fabs(v - o);
          EV += wt[j]*VE[j*dV+g*dvh+d];
          if( mx - s[j]>86 ) P += wt[j]*(fabs(v) + fabs(o));
        }
        catE[h*dvh+d] = gn*(A + fabs(o)) + 2*U*fabs(o) + P + EV;
      }
    }
    for(j=0; j<nOut; j++){
      double v = c->bo ? c->bo[j] : 0.0, a = c->bo ? fabs(c->bo[j]) : 0.0;
      double e = 0.0;
      if( c->wo ){
        for(d=0; d<H*dvh; d++){
          v += cat[d]*(double)c->wo[d*nOut+j];
          a += fabs(cat[d]*(double)c->wo[d*nOut+j]);
          e += fabs((double)c->wo[d*nOut+j])*catE[d];
        }
        e += gam((double)(H*dvh) + (c->bo ? 1 : 0))*a;
      }else{
        v += cat[j];
        e = catE[j] + (c->bo ? U*fabs(v) : 0.0);
      }
      out[i*nOut+j] = v;
      outE[i*nOut+j] = e + U64*fabs(v) + 1e-300;
    }
  }
  free(Q); free(QE); free(K); free(KE); free(V); free(VE); free(cat);
  free(catE); free(s); free(ef); free(es); free(wt); free(eps);
}

static void caseInput(const Case *c, attn_input *in){
  memset(in, 0, sizeof(*in));
  in->nQuery = c->nQ; in->nKey = c->nK;
  in->aXq = c->xq; in->nXq = c->dXq;
  in->aXk = c->xk; in->nXk = c->dXk;
  in->aXv = c->xv; in->nXv = c->dXv;
  in->aSeqQ = c->seqQ; in->aSeqK = c->seqK;
  in->aPosQ = c->posQ; in->aPosK = c->posK;
  if( c->wq ){ in->wq.a = c->wq; in->wq.n = c->dXq*c->nQDim; }
  if( c->wk ){ in->wk.a = c->wk; in->wk.n = c->dXk*c->nKDim; }
  if( c->wv ){ in->wv.a = c->wv; in->wv.n = c->dXv*c->nVDim; }
  {
    int H = c->opt.nHead ? c->opt.nHead : 1;
    int G = c->opt.nKvHead ? c->opt.nKvHead : H;
    int64_t dV = c->wv ? c->nVDim : c->dXv;
    int64_t nCat = H*(dV/G);
    if( c->wo ){ in->wo.a = c->wo; in->wo.n = nCat*c->nOut; }
  }
  if( c->bq ){ in->bq.a = c->bq; in->bq.n = c->wq ? c->nQDim : c->dXq; }
  if( c->bk ){ in->bk.a = c->bk; in->bk.n = c->wk ? c->nKDim : c->dXk; }
  if( c->bv ){ in->bv.a = c->bv; in->bv.n = c->wv ? c->nVDim : c->dXv; }
  if( c->bo ){ in->bo.a = c->bo; in->bo.n = c->nOut; }
}

/* Row pointers to a copy of the n rows of x (d wide) stored back to front,
** so no two consecutive rows are adjacent in memory (the engine must
** gather them).  *paCopy receives the copy, to free. */
static const float **rowPointers(const float *x, int64_t n, int64_t d,
                                 float **paCopy){
  const float **ap = malloc(sizeof(float*)*(size_t)(n+1));
  float *a = malloc(sizeof(float)*(size_t)(n*d+1));
  int64_t i;
  for(i=0; i<n; i++){
    float *row = a + (n-1-i)*d;
    memcpy(row, x + i*d, sizeof(float)*(size_t)d);
    ap[i] = row;
  }
  *paCopy = a;
  return ap;
}

/* Run a case through the engine with nThread threads (given the inputs as
** row pointers when bRowPtr); compare with the reference; return the
** outputs (malloc'd, nQ × nOut) for bitwise checks. */
static float *runCase(const char *zName, Case *c, int nThread, int bRowPtr){
  attn_input in;
  attn_state *st = 0;
  attn_err err;
  int H = c->opt.nHead, G = c->opt.nKvHead ? c->opt.nKvHead : H;
  int64_t dV = c->wv ? c->nVDim : c->dXv, nOut = c->wo ? c->nOut : H*(dV/G);
  double *out = calloc((size_t)(c->nQ*nOut+1), sizeof(double));
  double *outE = calloc((size_t)(c->nQ*nOut+1), sizeof(double));
  double *lse = calloc((size_t)(c->nQ*H+1), sizeof(double));
  double *lseE = calloc((size_t)(c->nQ*H+1), sizeof(double));
  double *wgt = calloc((size_t)(H*c->nQ*c->nK+1), sizeof(double));
  double *wgtE = calloc((size_t)(H*c->nQ*c->nK+1), sizeof(double));
  int *empty = calloc((size_t)(c->nQ+1), sizeof(int));
  float *res = calloc((size_t)(c->nQ*nOut+1), sizeof(float));
  int64_t i, j;
  int nBad = 0, nBadW = 0, rc;
  const float **apRow[3] = {0, 0, 0};
  float *aCopy[3] = {0, 0, 0};
  caseInput(c, &in);
  if( bRowPtr ){
    in.apXq = apRow[0] = rowPointers(c->xq, c->nQ, c->dXq, &aCopy[0]);
    in.apXk = apRow[1] = rowPointers(c->xk, c->nK, c->dXk, &aCopy[1]);
    in.apXv = apRow[2] = rowPointers(c->xv, c->nK, c->dXv, &aCopy[2]);
    in.aXq = in.aXk = in.aXv = 0;
  }
  c->opt.nThread = nThread;
  refAttention(c, out, outE, lse, lseE, empty, wgt, wgtE);
  rc = attn_state_new(&in, &c->opt, &st, &err);
  CHECK(rc==ATTN_OK);
  if( rc ){
    fprintf(stderr, "%s: %s\n", zName, err.zMsg);
    goto done;
  }
  CHECK(attn_state_out_dim(st)==nOut);
  /* Read rows back to front, to exercise out-of-order block computation. */
  for(i=c->nQ-1; i>=0; i--){
    const float *o, *l;
    CHECK(attn_output(st, i, &o, &l, &err)==ATTN_OK);
    if( empty[i] ){
      if( o!=0 ) nBad++;
      continue;
    }
    if( o==0 ){ nBad++; continue; }
    memcpy(res + i*nOut, o, sizeof(float)*(size_t)nOut);
    for(j=0; j<nOut; j++){
      double r = out[i*nOut+j], e = outE[i*nOut+j];
      if( !withinBound(K_OUT, o[j], r, e) ){
        if( nBad<3 ) fprintf(stderr, "%s: row %lld col %lld: %.9g vs %.9g, bound %.3g\n", zName, (long long)i, (long long)j, o[j], r, e);
        nBad++;
      }
    }
    for(j=0; j<H; j++){
      if( !withinBound(K_LSE, l[j], lse[i*H+j], lseE[i*H+j]) ){
        if( nBad<3 ) fprintf(stderr, "%s: row %lld lse %lld: %.9g vs %.9g, bound %.3g\n", zName, (long long)i, (long long)j, l[j], lse[i*H+j], lseE[i*H+j]);
        nBad++;
      }
    }
  }
  /* Score rows: weights match the reference, sum to 1, and scores are
  ** consistent with weights (w = exp(score - lse)). */
  for(i=0; i<c->nQ; i++){
    attn_score_iter *it;
    attn_score sc;
    double sum[64] = {0};
    int64_t nSeen = 0, nExpect = 0;
    int h;
    CHECK(attn_scores_open(st, i, -1, &it, &err)==ATTN_OK);
    while( attn_scores_next(it, &sc) ){
      int64_t iw = ((int64_t)sc.iHead*c->nQ+i)*c->nK+sc.iKey;
      double w = wgt[iw];
      if( !withinBound(K_WEIGHT, sc.rWeight, w, wgtE[iw]) ){
        if( nBadW<3 ) fprintf(stderr, "%s: weight q%lld k%lld h%d: %.17g vs %.17g, bound %.3g\n", zName, (long long)i, (long long)sc.iKey, sc.iHead, sc.rWeight, w, wgtE[iw]);
        nBadW++;
      }
      sum[sc.iHead] += sc.rWeight;
      nSeen++;
    }
    attn_scores_close(it);
    for(h=0; h<H; h++){
      for(j=0; j<c->nK; j++) nExpect += wgt[((int64_t)h*c->nQ+i)*c->nK+j]>0 || (!empty[i] && 0);
      /* n float64 weights, each within (n + 4)·2^-53 relative of its sum,
      ** summed here in float64: (2n + 8)·2^-53. */
      if( !empty[i] && !withinBound(K_SCORESUM, sum[h], 1.0,
                                    (2.0*(double)c->nK + 8)*U64/8) ) nBadW++;
    }
    if( nSeen<nExpect ) nBadW++;   /* weights can underflow to 0 only if seen */
  }
  CHECK(nBad==0);
  CHECK(nBadW==0);
  if( nBad || nBadW ) fprintf(stderr, "  in case %s (threads %d)\n", zName, nThread);
done:
  attn_state_free(st);
  for(i=0; i<3; i++){ free(apRow[i]); free(aCopy[i]); }
  free(out); free(outE); free(lse); free(lseE); free(wgt); free(wgtE); free(empty);
  return res;
}

/* Run with 1, 2 and 3 threads, and with the inputs as row pointers;
** outputs must be bit-identical. */
static void checkCase(const char *zName, Case *c){
  int64_t nOut;
  float *r1 = runCase(zName, c, 1, 0);
  float *r2 = runCase(zName, c, 2, 0);
  float *r3 = runCase(zName, c, 3, 1);
  int H = c->opt.nHead, G = c->opt.nKvHead ? c->opt.nKvHead : H;
  int64_t dV = c->wv ? c->nVDim : c->dXv;
  nOut = c->wo ? c->nOut : H*(dV/G);
  CHECK(memcmp(r1, r2, sizeof(float)*(size_t)(c->nQ*nOut))==0);
  CHECK(memcmp(r1, r3, sizeof(float)*(size_t)(c->nQ*nOut))==0);
  free(r1); free(r2); free(r3);
}

static void freeCase(Case *c){
  free(c->xq); if( c->xk!=c->xq ) free(c->xk); if( c->xv!=c->xk && c->xv!=c->xq ) free(c->xv);
  free(c->seqQ); if( c->seqK!=c->seqQ ) free(c->seqK);
  free(c->posQ); if( c->posK!=c->posQ ) free(c->posK);
  free(c->wq); free(c->wk); free(c->wv); free(c->wo);
  free(c->bq); free(c->bk); free(c->bv); free(c->bo);
  memset(c, 0, sizeof(*c));
}

/* Self-attention of n rows of width d, with projections to D. */
static void selfCase(Case *c, int64_t n, int64_t d, int64_t D, int bProj,
                     int bBias){
  memset(c, 0, sizeof(*c));
  c->nQ = c->nK = n;
  c->dXq = c->dXk = c->dXv = d;
  c->xq = c->xk = c->xv = testMatrix(n*d, 1.0f);
  if( bProj ){
    c->nQDim = c->nKDim = c->nVDim = c->nOut = D;
    c->wq = testMatrix(d*D, 0.5f); c->wk = testMatrix(d*D, 0.5f);
    c->wv = testMatrix(d*D, 0.5f); c->wo = testMatrix(D*D, 0.5f);
  }
  if( bBias ){
    int64_t w = bProj ? D : d;
    c->bq = testMatrix(w, 0.3f); c->bk = testMatrix(w, 0.3f);
    c->bv = testMatrix(w, 0.3f);
    if( bProj ) c->bo = testMatrix(D, 0.3f);
  }
}

/* An xPoll that says "interrupt" at call nStopAt (never when -1), and then
** every nEvery calls when nEvery > 0. */
typedef struct TestPoll TestPoll;
struct TestPoll { int nCall, nStopAt, nEvery; };
static int testPoll(void *pArg){
  TestPoll *p = (TestPoll*)pArg;
  p->nCall++;
  if( p->nStopAt<0 || p->nCall<p->nStopAt ) return 0;
  if( p->nEvery>0 ) p->nStopAt += p->nEvery;
  return 1;
}

/* Self-attention of n rows of width 16 with nHead heads on nThread
** threads: *pStRef plain, *pSt polled through tp (which says nothing yet). */
static void pollStates(Case *c, int64_t n, int nHead, int nThread,
                       TestPoll *tp, attn_state **pSt, attn_state **pStRef){
  attn_input in;
  attn_err err;
  selfCase(c, n, 16, 0, 0, 0);
  caseInput(c, &in);
  c->opt.nHead = nHead;
  c->opt.nThread = nThread;
  CHECK(attn_state_new(&in, &c->opt, pStRef, &err)==ATTN_OK);
  memset(tp, 0, sizeof(*tp));
  tp->nStopAt = -1;
  c->opt.xPoll = testPoll;
  c->opt.pPollArg = tp;
  CHECK(attn_state_new(&in, &c->opt, pSt, &err)==ATTN_OK);
}

/* Rows whose output or lse differ, bit for bit, between st and stRef (read
** from the last row to the first). */
static int differentRows(attn_state *st, attn_state *stRef, const Case *c){
  int64_t i;
  int nBad = 0, nHead = attn_state_heads(st);
  size_t nb = sizeof(float)*(size_t)attn_state_out_dim(st);
  attn_err err;
  for(i=c->nQ-1; i>=0; i--){
    const float *o, *l, *oRef, *lRef;
    if( attn_output(st, i, &o, &l, &err) || attn_output(stRef, i, &oRef, &lRef, &err)
     || memcmp(o, oRef, nb) || memcmp(l, lRef, sizeof(float)*(size_t)nHead) ){
      nBad++;
    }
  }
  return nBad;
}

int main(void){
  Case c;
  int64_t i;

  /* Plain single head, every tile shape: 1, 15, 16, 17, 64, 65, 150 rows. */
  {
    int64_t aN[] = {1, 15, 16, 17, 64, 65, 150};
    for(i=0; i<7; i++){
      selfCase(&c, aN[i], 8, 0, 0, 0);
      c.opt.nHead = 1;
      checkCase("plain", &c);
      freeCase(&c);
    }
  }
  /* Multi-head with projections and biases; also without biases. */
  selfCase(&c, 70, 12, 16, 1, 1); c.opt.nHead = 4; checkCase("mha", &c); freeCase(&c);
  selfCase(&c, 33, 16, 24, 1, 0); c.opt.nHead = 3; checkCase("mha-nobias", &c); freeCase(&c);
  /* Causal, window, both; with sequences and unsorted explicit positions. */
  selfCase(&c, 130, 8, 0, 0, 0); c.opt.nHead = 2; c.opt.bCausal = 1;
  checkCase("causal", &c); freeCase(&c);
  selfCase(&c, 130, 8, 0, 0, 0); c.opt.nHead = 2; c.opt.nWindow = 5;
  checkCase("window", &c); freeCase(&c);
  selfCase(&c, 130, 8, 0, 0, 0); c.opt.nHead = 1; c.opt.nWindow = 70; c.opt.bCausal = 1;
  checkCase("causal-window", &c); freeCase(&c);
  selfCase(&c, 200, 8, 0, 0, 0); c.opt.nHead = 2; c.opt.bCausal = 1;
  c.seqQ = malloc(sizeof(int64_t)*200); c.posQ = malloc(sizeof(int64_t)*200);
  for(i=0; i<200; i++){ c.seqQ[i] = (i*7)%5; c.posQ[i] = (i*37)%101 - 20; }
  c.seqK = c.seqQ; c.posK = c.posQ;
  checkCase("seq-pos", &c); freeCase(&c);
  /* Sequences with default positions (order within each sequence). */
  selfCase(&c, 90, 4, 0, 0, 0); c.opt.nHead = 1; c.opt.bCausal = 1;
  c.seqQ = malloc(sizeof(int64_t)*90);
  for(i=0; i<90; i++) c.seqQ[i] = i%3;
  c.seqK = c.seqQ;
  checkCase("seq-default-pos", &c); freeCase(&c);
  /* ALiBi (power-of-two and not), softcap, explicit scale. */
  selfCase(&c, 40, 12, 0, 0, 0); c.opt.nHead = 4; c.opt.bAlibi = 1; c.opt.bCausal = 1;
  checkCase("alibi4", &c); freeCase(&c);
  selfCase(&c, 40, 12, 0, 0, 0); c.opt.nHead = 6; c.opt.bAlibi = 1;
  checkCase("alibi6", &c); freeCase(&c);
  selfCase(&c, 40, 8, 0, 0, 0); c.opt.nHead = 2; c.opt.rSoftcap = 0.5;
  c.opt.bScale = 1; c.opt.rScale = 3.0;
  checkCase("softcap", &c); freeCase(&c);
  /* RoPE, both styles. */
  selfCase(&c, 50, 16, 16, 1, 0); c.opt.nHead = 2; c.opt.rRopeBase = 10000; c.opt.bCausal = 1;
  checkCase("rope-neox", &c); freeCase(&c);
  selfCase(&c, 50, 16, 16, 1, 0); c.opt.nHead = 2; c.opt.rRopeBase = 500;
  c.opt.eRopeStyle = ATTN_ROPE_INTERLEAVED;
  checkCase("rope-interleaved", &c); freeCase(&c);
  /* Grouped-query: 8 query heads on 2 kv heads; and multi-query (1). */
  memset(&c, 0, sizeof(c));
  c.nQ = c.nK = 75; c.dXq = c.dXk = c.dXv = 10;
  c.xq = c.xk = c.xv = testMatrix(75*10, 1.0f);
  c.nQDim = 32; c.nKDim = 8; c.nVDim = 12; c.nOut = 7;
  c.wq = testMatrix(10*32, 0.5f); c.wk = testMatrix(10*8, 0.5f);
  c.wv = testMatrix(10*12, 0.5f); c.wo = testMatrix(8*6*7, 0.5f);
  c.opt.nHead = 8; c.opt.nKvHead = 2;
  checkCase("gqa", &c); freeCase(&c);
  selfCase(&c, 20, 16, 0, 0, 0); c.opt.nHead = 4; c.opt.nKvHead = 1;
  c.wk = testMatrix(16*4, 0.5f); c.nKDim = 4;
  c.wv = testMatrix(16*6, 0.5f); c.nVDim = 6;
  checkCase("mqa", &c); freeCase(&c);
  /* Cross-attention: 9 queries, 140 keys, value width differs from key. */
  memset(&c, 0, sizeof(c));
  c.nQ = 9; c.nK = 140; c.dXq = 6; c.dXk = 6; c.dXv = 5;
  c.xq = testMatrix(9*6, 1.0f); c.xk = testMatrix(140*6, 1.0f); c.xv = testMatrix(140*5, 1.0f);
  c.opt.nHead = 1;
  checkCase("cross", &c); freeCase(&c);
  /* Cross with causal positions: queries 0..8 at positions 100.., keys
  ** 0..139 at positions 0..139: later queries see more keys. */
  memset(&c, 0, sizeof(c));
  c.nQ = 9; c.nK = 140; c.dXq = c.dXk = c.dXv = 4;
  c.xq = testMatrix(9*4, 1.0f); c.xk = testMatrix(140*4, 1.0f); c.xv = c.xk;
  c.posQ = malloc(sizeof(int64_t)*9); c.posK = malloc(sizeof(int64_t)*140);
  for(i=0; i<9; i++) c.posQ[i] = 100+5*i - 110*(i==0);    /* row 0: pos -10 */
  for(i=0; i<140; i++) c.posK[i] = i;
  c.opt.nHead = 2; c.opt.bCausal = 1;
  checkCase("cross-causal", &c); freeCase(&c);
  /* Query sequences without keys, and rows with no allowed key. */
  memset(&c, 0, sizeof(c));
  c.nQ = 6; c.nK = 4; c.dXq = c.dXk = c.dXv = 3;
  c.xq = testMatrix(6*3, 1.0f); c.xk = testMatrix(4*3, 1.0f); c.xv = c.xk;
  c.seqQ = malloc(sizeof(int64_t)*6); c.seqK = malloc(sizeof(int64_t)*4);
  for(i=0; i<6; i++) c.seqQ[i] = i%3;       /* seq 2 has no keys */
  for(i=0; i<4; i++) c.seqK[i] = i%2;
  c.opt.nHead = 1;
  checkCase("no-keys", &c); freeCase(&c);
  /* Large logits (scale 50) must not overflow. */
  selfCase(&c, 30, 8, 0, 0, 0); c.opt.nHead = 1; c.opt.bScale = 1; c.opt.rScale = 50;
  checkCase("large-logits", &c); freeCase(&c);

  /* attn_forward() polls between the tasks of its run: stopped at the
  ** third poll, it returns ATTN_INTERRUPT without polling again (the caller
  ** took no further task), and the blocks it left are computed on demand
  ** later, equal bit for bit to an uninterrupted state's. */
  {
    int nThread;
    for(nThread=1; nThread<=2; nThread++){
      attn_state *st, *stRef; attn_err err; int rc;
      TestPoll tp;
      pollStates(&c, 1000, 2, nThread, &tp, &st, &stRef);
      tp.nStopAt = tp.nCall + 3;
      rc = attn_forward(st, &err);
      if( nThread==1 || tp.nCall==tp.nStopAt ){
        CHECK(rc==ATTN_INTERRUPT && strcmp(err.zMsg, "interrupted")==0);
        CHECK(tp.nCall==tp.nStopAt);
      }else{
        /* With a worker, the caller may have taken fewer than three tasks
        ** (a busy machine can keep it off the CPU while the worker takes
        ** the rest): then it never reached the poll that says stop, and
        ** the run completed. */
        CHECK(rc==ATTN_OK && tp.nCall<tp.nStopAt);
      }
      tp.nStopAt = -1;
      CHECK(differentRows(st, stRef, &c)==0);
      CHECK(attn_forward(st, &err)==ATTN_OK);
      attn_state_free(st);
      attn_state_free(stRef);
      freeCase(&c);
    }
  }

  /* A caller whose poll says stop again and again (every third call) still
  ** gets to the end: each attn_forward() computes at least the group of
  ** blocks its calling thread was in.  4 heads, 47 blocks: 6 groups of 8
  ** blocks on one thread, 3 of 16 on two; at most one call per group and
  ** one more, then the outputs equal an uninterrupted state's. */
  {
    int nThread;
    for(nThread=1; nThread<=2; nThread++){
      attn_state *st, *stRef; attn_err err;
      TestPoll tp;
      int nCall = 0, rc = ATTN_INTERRUPT;
      pollStates(&c, 3000, 4, nThread, &tp, &st, &stRef);
      tp.nEvery = 3;
      tp.nStopAt = tp.nCall + 3;
      while( rc==ATTN_INTERRUPT && nCall<20 ){
        rc = attn_forward(st, &err);
        nCall++;
      }
      CHECK(rc==ATTN_OK);
      CHECK(nCall<=(nThread==1 ? 7 : 4));
      CHECK(differentRows(st, stRef, &c)==0);
      attn_state_free(st);
      attn_state_free(stRef);
      freeCase(&c);
    }
  }

  /* States can share one attn_threads (opt.pThreads), one at a time, with
  ** different thread counts: two states read row by row in turn (so their
  ** lazily computed chunks alternate on the same workers, 2 and 4 threads),
  ** then 3 threads for a forward; all bit for bit equal to one thread. */
  {
    attn_input in; attn_state *stRef, *stA, *stB, *stC; attn_err err;
    attn_threads *pThreads = attn_threads_new();
    int nBad = 0;
    CHECK(pThreads!=0);
    selfCase(&c, 700, 24, 32, 1, 1);
    caseInput(&c, &in);
    c.opt.nHead = 4;
    CHECK(attn_state_new(&in, &c.opt, &stRef, &err)==ATTN_OK);
    c.opt.pThreads = pThreads;
    c.opt.nThread = 2;
    CHECK(attn_state_new(&in, &c.opt, &stA, &err)==ATTN_OK);
    c.opt.nThread = 4;
    CHECK(attn_state_new(&in, &c.opt, &stB, &err)==ATTN_OK);
    c.opt.nThread = 3;
    CHECK(attn_state_new(&in, &c.opt, &stC, &err)==ATTN_OK);
    CHECK(attn_forward(stC, &err)==ATTN_OK);
    for(i=0; i<c.nQ; i++){
      const float *o, *l, *oA, *lA, *oB, *lB, *oC, *lC;
      size_t nb = sizeof(float)*(size_t)c.nOut;
      if( attn_output(stRef, i, &o, &l, &err) || attn_output(stA, i, &oA, &lA, &err)
       || attn_output(stB, c.nQ-1-i, &oB, &lB, &err)
       || attn_output(stC, i, &oC, &lC, &err) ){
        nBad++;
        continue;
      }
      if( memcmp(o, oA, nb) || memcmp(l, lA, 16) || memcmp(o, oC, nb) ) nBad++;
    }
    for(i=0; i<c.nQ; i++){
      const float *o, *l, *oB, *lB;
      if( attn_output(stRef, i, &o, &l, &err) || attn_output(stB, i, &oB, &lB, &err)
       || memcmp(o, oB, sizeof(float)*(size_t)c.nOut) || memcmp(l, lB, 16) ){
        nBad++;
      }
    }
    CHECK(nBad==0);
    attn_state_free(stA);
    attn_state_free(stB);
    attn_state_free(stC);
    attn_state_free(stRef);
    attn_threads_free(pThreads);
    freeCase(&c);
  }

  /* Configuration errors, with their messages. */
  {
    attn_input in; attn_state *st; attn_err err; int rc;
    selfCase(&c, 4, 6, 0, 0, 0);
    caseInput(&c, &in);
    c.opt.nHead = 4;
    rc = attn_state_new(&in, &c.opt, &st, &err);
    CHECK(rc==ATTN_ERROR && strcmp(err.zMsg, "heads (4) does not divide the query dimension 6 (of the query inputs, with no wq): expected a wq with a multiple of 4 columns, or heads dividing 6")==0);
    c.opt.nHead = 3; c.opt.nKvHead = 2;
    rc = attn_state_new(&in, &c.opt, &st, &err);
    CHECK(rc==ATTN_ERROR && strcmp(err.zMsg, "kv_heads is 2, expected a divisor of heads (3)")==0);
    c.opt.nHead = 2; c.opt.nKvHead = 0; c.opt.rRopeBase = 10000;
    rc = attn_state_new(&in, &c.opt, &st, &err);
    CHECK(rc==ATTN_ERROR && strcmp(err.zMsg, "rope needs an even head dimension, found 3 (query dimension 6 ÷ heads 2)")==0);
    c.opt.rRopeBase = 0; c.opt.nWindow = -1;
    rc = attn_state_new(&in, &c.opt, &st, &err);
    CHECK(rc==ATTN_ERROR);
    c.opt.nWindow = 0;
    in.wq.a = c.xq; in.wq.n = 7;
    rc = attn_state_new(&in, &c.opt, &st, &err);
    CHECK(rc==ATTN_ERROR && strcmp(err.zMsg, "wq has 7 elements, not a multiple of the input dimension 6 (wq must have 6 rows)")==0);
    in.wq.a = 0;
    in.bk.a = c.xq; in.bk.n = 5;
    rc = attn_state_new(&in, &c.opt, &st, &err);
    CHECK(rc==ATTN_ERROR && strcmp(err.zMsg, "bk has 5 elements, expected 6 (the key dimension)")==0);
    freeCase(&c);
  }
  {
    int k;
    for(k=0; k<K_N; k++){
      printf("NOTE precision %s: worst error %.3f of the bound (%lld values)\n",
             azKind[k], aWorst[k], anCmp[k]);
    }
  }
  return UNIT_DONE();
}
