/*
** attention.c: the attention engine (see attention.h for what it computes).
**
** attn_state_new() does all the O((N+M)·d) work up front:
**
**   1. check the configuration and derive the dimensions;
**   2. sort query rows and key rows by (seq, pos, input order), filling in
**      default positions, and match each run of query rows with the run of
**      key rows of the same sequence; cut query runs into blocks of at most
**      ATTN_BLOCK_Q rows;
**   3. project the rows in sorted order, one blocked matrix multiply per
**      weight (in parallel chunks of rows), apply RoPE to Q and K, fold the
**      scale into Q, and pack K per kv-head into panels (kernels.h).
**
** Blocks are then computed on demand: a chunk of blocks is split into
** (block, head) tasks for the thread pool, each one call of the kernel's
** flash routine; then each block's concatenated heads go through W_O and are
** scattered to their rows in input order.  The output of a row does not
** depend on which thread or chunk computed it.
**
** Score rows (attn_scores_*) are computed directly from the packed Q and K of
** one query row, with the same softcap, ALiBi and mask rules as the kernels,
** accumulated in float64.
*/
#include "attention.h"
#include "alloc.h"
#include "kernels.h"
#include "position.h"
#include "threads.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Positions are limited so that differences and ALiBi distances are exact. */
#define ATTN_MAX_POS ((int64_t)1<<53)

/* Buffer budget for a chunk of blocks computed together. */
#define ATTN_CHUNK_BYTES ((uint64_t)16<<20)

/* A block of query rows: sorted rows [iRow, iRow+nRow) and the keys of their
** sequence: sorted keys [iKey, iKey+nKey), whose packed panels start at
** panel iPanel. */
typedef struct AttnBlock AttnBlock;
struct AttnBlock {
  int64_t iRow;
  int64_t iKey;
  int64_t nKey;
  int64_t iPanel;
  int nRow;
};

struct attn_state {
  attn_options opt;
  const attn_kernel_set *pKern;
  int nHead, nKvHead;          /* query heads, K/V heads */
  int nDimK, nDimV;            /* per-head widths of q·k and of v */
  int64_t nQ, nK;              /* rows */
  int64_t nQDim, nKDim, nVDim; /* projected widths: heads × per-head width */
  int64_t nCat;                /* nHead × nDimV: the concatenated heads */
  int64_t nOut;                /* output width (after W_O) */
  int64_t *aQOrder, *aQRank;   /* sorted → input, input → sorted */
  int64_t *aKOrder, *aKRank;
  int64_t *aQSeq, *aQPos;      /* per sorted query row */
  int64_t *aKPos;              /* per sorted key row */
  float *aQ;                   /* sorted nQ × nQDim, RoPE'd and scaled */
  float *aKPacked;             /* per kv head: nPanel panels of nDimK×16 */
  int64_t nPanel;              /* panels per kv head */
  float *aV;                   /* sorted nK × nVDim */
  float *aWo, *aBo;            /* copies of W_O (nCat × nOut) and b_O */
  double *aSlope;              /* ALiBi slope per head */
  AttnBlock *aBlock;           /* blocks in sorted order */
  int64_t nBlock;
  unsigned char *aDone;        /* per block: outputs computed */
  int64_t nChunk;              /* blocks per parallel chunk */
  float *aOut;                 /* input order nQ × nOut */
  float *aLse;                 /* input order nQ × nHead */
  float *aCat;                 /* nChunk × ATTN_BLOCK_Q × nCat */
  float *aCatLse;              /* nChunk × ATTN_BLOCK_Q × nHead */
  float *aScratch;             /* per worker: ATTN_FLASH_SCRATCH floats */
  float *aWork;                /* per worker: ATTN_BLOCK_Q × nWork floats */
  int64_t nWork;
  attn_pool *pPool;
};

/*
** Small helpers.
*/
static int attnPoll(attn_state *p, attn_err *pErr){
  if( p->opt.xPoll && p->opt.xPoll(p->opt.pPollArg) ){
    return attn_err_set(pErr, ATTN_INTERRUPT, "interrupted");
  }
  return ATTN_OK;
}

/* Allocate nElem elements of szElem bytes each (aligned), or report. */
static void *attnAlloc(uint64_t nElem, uint64_t szElem, int *pRc,
                       attn_err *pErr){
  uint64_t n;
  void *pOut;
  if( *pRc ) return 0;
  if( attn_size_mul(nElem, szElem, &n) ){
    *pRc = attn_err_set(pErr, ATTN_TOOBIG, "needs a buffer of %llu × %llu "
        "bytes, more than the %llu-byte limit", (unsigned long long)nElem,
        (unsigned long long)szElem, (unsigned long long)ATTN_MAX_ALLOC);
    return 0;
  }
  if( n==0 ) n = 64;
  pOut = attn_malloc_aligned(n);
  if( pOut==0 ) *pRc = attn_err_nomem(pErr);
  return pOut;
}

/*
** Step 1: configuration.
*/

/* The output width of weight w applied to nIn-wide rows (nIn when absent). */
static int attnWeightCols(const attn_tensor *w, int64_t nIn, const char *zName,
                          int64_t *pnCol, attn_err *pErr){
  if( w->a==0 ){
    *pnCol = nIn;
    return ATTN_OK;
  }
  if( w->n<=0 || w->n%nIn!=0 ){
    return attn_err_set(pErr, ATTN_ERROR, "%s has %lld elements, not a "
        "multiple of the input dimension %lld (%s must have %lld rows)",
        zName, (long long)w->n, (long long)nIn, zName, (long long)nIn);
  }
  *pnCol = w->n/nIn;
  if( *pnCol>ATTN_MAX_DIM ){
    return attn_err_set(pErr, ATTN_ERROR, "%s has %lld columns, more than "
        "the maximum %d", zName, (long long)*pnCol, ATTN_MAX_DIM);
  }
  return ATTN_OK;
}

static int attnBiasCheck(const attn_tensor *b, int64_t nCol, const char *zName,
                         const char *zWhat, attn_err *pErr){
  if( b->a && b->n!=nCol ){
    return attn_err_set(pErr, ATTN_ERROR, "%s has %lld elements, expected "
        "%lld (the %s dimension)", zName, (long long)b->n, (long long)nCol,
        zWhat);
  }
  return ATTN_OK;
}

static int attnConfigure(attn_state *p, const attn_input *pIn, attn_err *pErr){
  const attn_options *o = &p->opt;
  int64_t nCol;
  int rc;
  if( pIn->nQuery<0 || pIn->nQuery>ATTN_MAX_ROWS
   || pIn->nKey<0 || pIn->nKey>ATTN_MAX_ROWS ){
    return attn_err_set(pErr, ATTN_TOOBIG, "has %lld query rows and %lld key "
        "rows, expected at most %lld of each", (long long)pIn->nQuery,
        (long long)pIn->nKey, (long long)ATTN_MAX_ROWS);
  }
  if( pIn->nXq<1 || pIn->nXq>ATTN_MAX_DIM || pIn->nXk<1 || pIn->nXk>ATTN_MAX_DIM
   || pIn->nXv<1 || pIn->nXv>ATTN_MAX_DIM ){
    return attn_err_set(pErr, ATTN_ERROR, "has input dimensions %lld, %lld "
        "and %lld, expected 1 to %d", (long long)pIn->nXq, (long long)pIn->nXk,
        (long long)pIn->nXv, ATTN_MAX_DIM);
  }
  if( o->nHead<1 || o->nHead>ATTN_MAX_HEADS ){
    return attn_err_set(pErr, ATTN_ERROR, "heads is %d, expected 1 to %d",
                        o->nHead, ATTN_MAX_HEADS);
  }
  if( o->nKvHead<1 || o->nKvHead>o->nHead || o->nHead%o->nKvHead!=0 ){
    return attn_err_set(pErr, ATTN_ERROR, "kv_heads is %d, expected a "
        "divisor of heads (%d)", o->nKvHead, o->nHead);
  }
  if( o->nThread<1 || o->nThread>ATTN_MAX_THREADS ){
    return attn_err_set(pErr, ATTN_ERROR, "threads is %d, expected 1 to %d",
                        o->nThread, ATTN_MAX_THREADS);
  }
  if( o->bScale && !isfinite(o->rScale) ){
    return attn_err_set(pErr, ATTN_ERROR, "scale is not finite, expected a "
                        "finite number");
  }
  if( o->nWindow<0 ){
    return attn_err_set(pErr, ATTN_ERROR, "window is %lld, expected 1 or more",
                        (long long)o->nWindow);
  }
  if( !(o->rSoftcap>=0.0) || !isfinite(o->rSoftcap) ){
    return attn_err_set(pErr, ATTN_ERROR, "softcap is %g, expected a "
                        "positive number (or none)", o->rSoftcap);
  }
  if( o->rRopeBase!=0.0 && (!(o->rRopeBase>0.0) || !isfinite(o->rRopeBase)) ){
    return attn_err_set(pErr, ATTN_ERROR, "rope base is %g, expected a "
                        "positive number", o->rRopeBase);
  }
  if( o->eRopeStyle!=ATTN_ROPE_NEOX && o->eRopeStyle!=ATTN_ROPE_INTERLEAVED ){
    return attn_err_set(pErr, ATTN_ERROR, "rope style %d is unknown",
                        o->eRopeStyle);
  }
  p->nHead = o->nHead;
  p->nKvHead = o->nKvHead;
  p->nQ = pIn->nQuery;
  p->nK = pIn->nKey;

  if( (rc = attnWeightCols(&pIn->wq, pIn->nXq, "wq", &p->nQDim, pErr))!=0 ) return rc;
  if( (rc = attnWeightCols(&pIn->wk, pIn->nXk, "wk", &p->nKDim, pErr))!=0 ) return rc;
  if( (rc = attnWeightCols(&pIn->wv, pIn->nXv, "wv", &p->nVDim, pErr))!=0 ) return rc;
  if( p->nQDim%p->nHead!=0 ){
    return attn_err_set(pErr, ATTN_ERROR, "heads (%d) does not divide the "
        "query dimension %lld", p->nHead, (long long)p->nQDim);
  }
  p->nDimK = (int)(p->nQDim/p->nHead);
  if( p->nKDim!=(int64_t)p->nDimK*p->nKvHead ){
    return attn_err_set(pErr, ATTN_ERROR, "the key dimension is %lld, "
        "expected %lld: %d kv_heads of the query head dimension %d",
        (long long)p->nKDim, (long long)p->nDimK*p->nKvHead, p->nKvHead,
        p->nDimK);
  }
  if( p->nVDim%p->nKvHead!=0 ){
    return attn_err_set(pErr, ATTN_ERROR, "kv_heads (%d) does not divide the "
        "value dimension %lld", p->nKvHead, (long long)p->nVDim);
  }
  p->nDimV = (int)(p->nVDim/p->nKvHead);
  p->nCat = (int64_t)p->nHead*p->nDimV;
  if( o->rRopeBase!=0.0 && p->nDimK%2!=0 ){
    return attn_err_set(pErr, ATTN_ERROR, "rope needs an even head "
        "dimension, found %d", p->nDimK);
  }
  if( (rc = attnBiasCheck(&pIn->bq, p->nQDim, "bq", "query", pErr))!=0 ) return rc;
  if( (rc = attnBiasCheck(&pIn->bk, p->nKDim, "bk", "key", pErr))!=0 ) return rc;
  if( (rc = attnBiasCheck(&pIn->bv, p->nVDim, "bv", "value", pErr))!=0 ) return rc;
  if( o->bNoValues ){
    p->nOut = p->nCat;
    return ATTN_OK;
  }
  if( pIn->wo.a && p->nCat>ATTN_MAX_DIM ){
    return attn_err_set(pErr, ATTN_ERROR, "the concatenated heads have %lld "
        "elements, more than the maximum %d", (long long)p->nCat, ATTN_MAX_DIM);
  }
  if( (rc = attnWeightCols(&pIn->wo, p->nCat, "wo", &nCol, pErr))!=0 ) return rc;
  p->nOut = nCol;
  return attnBiasCheck(&pIn->bo, p->nOut, "bo", "output", pErr);
}

/*
** Step 2: order.
*/
typedef struct AttnKey AttnKey;
struct AttnKey { int64_t iSeq, iPos, iRow; };

static int attnKeyCompare(const void *a, const void *b){
  const AttnKey *x = (const AttnKey*)a, *y = (const AttnKey*)b;
  if( x->iSeq!=y->iSeq ) return x->iSeq<y->iSeq ? -1 : 1;
  if( x->iPos!=y->iPos ) return x->iPos<y->iPos ? -1 : 1;
  return x->iRow<y->iRow ? -1 : (x->iRow>y->iRow);
}

/* Sort n rows by (seq, pos, row) into aOrder (sorted → row), aRank (row →
** sorted), aSeqOut and aPosOut (per sorted row; either may be NULL).
** Missing positions are the rank within the sequence in input order. */
static int attnSortRows(int64_t n, const int64_t *aSeq, const int64_t *aPos,
                        const char *zSide, int64_t *aOrder, int64_t *aRank,
                        int64_t *aSeqOut, int64_t *aPosOut, attn_err *pErr){
  AttnKey *a;
  int64_t i;
  int rc = ATTN_OK;
  if( n==0 ) return ATTN_OK;
  a = attnAlloc((uint64_t)n, sizeof(AttnKey), &rc, pErr);
  if( a==0 ) return rc;
  for(i=0; i<n; i++){
    a[i].iSeq = aSeq ? aSeq[i] : 0;
    a[i].iPos = aPos ? aPos[i] : 0;
    a[i].iRow = i;
    if( a[i].iPos>ATTN_MAX_POS || a[i].iPos<-ATTN_MAX_POS ){
      attn_free_aligned(a);
      return attn_err_set(pErr, ATTN_ERROR, "%s row %lld has position %lld, "
          "expected -2^53 to 2^53", zSide, (long long)i, (long long)aPos[i]);
    }
  }
  qsort(a, (size_t)n, sizeof(AttnKey), attnKeyCompare);
  for(i=0; i<n; i++){
    if( aPos==0 ){
      a[i].iPos = (i>0 && a[i-1].iSeq==a[i].iSeq) ? a[i-1].iPos+1 : 0;
    }
    aOrder[i] = a[i].iRow;
    aRank[a[i].iRow] = i;
    if( aSeqOut ) aSeqOut[i] = a[i].iSeq;
    if( aPosOut ) aPosOut[i] = a[i].iPos;
  }
  attn_free_aligned(a);
  return ATTN_OK;
}

int attn_default_positions(int64_t n, const int64_t *aSeq, int64_t *aPos,
                           attn_err *pErr){
  int rc = ATTN_OK;
  int64_t *aOrder = attnAlloc((uint64_t)n, sizeof(int64_t), &rc, pErr);
  int64_t *aRank = attnAlloc((uint64_t)n, sizeof(int64_t), &rc, pErr);
  int64_t *aSorted = attnAlloc((uint64_t)n, sizeof(int64_t), &rc, pErr);
  int64_t i;
  if( rc==ATTN_OK ){
    rc = attnSortRows(n, aSeq, 0, "", aOrder, aRank, 0, aSorted, pErr);
  }
  if( rc==ATTN_OK ){
    for(i=0; i<n; i++) aPos[aOrder[i]] = aSorted[i];
  }
  attn_free_aligned(aOrder);
  attn_free_aligned(aRank);
  attn_free_aligned(aSorted);
  return rc;
}

/* Cut the sorted query rows into blocks, each with the key range of its
** sequence.  aKSeq holds the seq of each sorted key.  Also counts panels. */
static int attnMakeBlocks(attn_state *p, const int64_t *aKSeq, attn_err *pErr){
  int64_t iQ = 0, iK = 0, nBlock = 0, iPanel = 0;
  int rc = ATTN_OK;
  /* Worst case: every row its own sequence, plus ceil(n/64) blocks. */
  uint64_t nMax = (uint64_t)p->nQ + (uint64_t)p->nQ/ATTN_BLOCK_Q + 1;
  p->aBlock = attnAlloc(nMax, sizeof(AttnBlock), &rc, pErr);
  if( rc ) return rc;
  /* Count the panels of every key sequence. */
  p->nPanel = 0;
  {
    int64_t j = 0;
    while( j<p->nK ){
      int64_t j2 = j;
      while( j2<p->nK && aKSeq[j2]==aKSeq[j] ) j2++;
      p->nPanel += (j2-j + ATTN_PANEL-1)/ATTN_PANEL;
      j = j2;
    }
  }
  while( iQ<p->nQ ){
    int64_t iSeq = p->aQSeq[iQ], iQEnd = iQ, iKey = 0, nKey = 0, iP = 0;
    while( iQEnd<p->nQ && p->aQSeq[iQEnd]==iSeq ) iQEnd++;
    /* Advance the key cursor past smaller sequences, counting panels. */
    while( iK<p->nK && aKSeq[iK]<iSeq ){
      int64_t j2 = iK;
      while( j2<p->nK && aKSeq[j2]==aKSeq[iK] ) j2++;
      iPanel += (j2-iK + ATTN_PANEL-1)/ATTN_PANEL;
      iK = j2;
    }
    if( iK<p->nK && aKSeq[iK]==iSeq ){
      int64_t j2 = iK;
      while( j2<p->nK && aKSeq[j2]==iSeq ) j2++;
      iKey = iK;
      nKey = j2-iK;
      iP = iPanel;
    }
    while( iQ<iQEnd ){
      AttnBlock *b = &p->aBlock[nBlock++];
      b->iRow = iQ;
      b->nRow = (int)(iQEnd-iQ < ATTN_BLOCK_Q ? iQEnd-iQ : ATTN_BLOCK_Q);
      b->iKey = iKey;
      b->nKey = nKey;
      b->iPanel = iP;
      iQ += b->nRow;
    }
  }
  p->nBlock = nBlock;
  return ATTN_OK;
}

/*
** Step 3: projections.
*/
typedef struct AttnProject AttnProject;
struct AttnProject {
  attn_state *p;
  const float *aX;             /* input rows, nIn wide, input order */
  int64_t nIn;
  const int64_t *aOrder;       /* sorted → input row */
  int64_t iFirst, nRow;        /* sorted rows [iFirst, iFirst+nRow) */
  const attn_tensor *pW, *pB;
  float *aOut;                 /* sorted rows, nCol wide */
  int64_t nCol;
};

/* Task: project ATTN_BLOCK_Q sorted rows (gather, multiply, add bias). */
static void attnProjectTask(void *pArg, int64_t iTask, int iWorker){
  AttnProject *t = (AttnProject*)pArg;
  attn_state *p = t->p;
  int64_t i0 = t->iFirst + iTask*ATTN_BLOCK_Q;
  int64_t n = t->iFirst + t->nRow - i0, i, j;
  float *aGather = p->aWork + (int64_t)iWorker*ATTN_BLOCK_Q*p->nWork;
  float *aOut = t->aOut + i0*t->nCol;
  if( n>ATTN_BLOCK_Q ) n = ATTN_BLOCK_Q;
  if( t->pW->a==0 ){
    for(i=0; i<n; i++){
      memcpy(aOut + i*t->nCol, t->aX + t->aOrder[i0+i]*t->nIn,
             sizeof(float)*(size_t)t->nIn);
    }
  }else{
    for(i=0; i<n; i++){
      memcpy(aGather + i*t->nIn, t->aX + t->aOrder[i0+i]*t->nIn,
             sizeof(float)*(size_t)t->nIn);
    }
    p->pKern->xGemm(n, t->nCol, t->nIn, aGather, t->nIn, t->pW->a, t->nCol,
                    aOut, t->nCol, 0);
  }
  if( t->pB->a ){
    for(i=0; i<n; i++){
      for(j=0; j<t->nCol; j++) aOut[i*t->nCol + j] += t->pB->a[j];
    }
  }
}

/* Project all nRow rows of aX (input order, gathered by aOrder) into aOut
** (sorted order), in parallel chunks, polling between chunks. */
static int attnProjectRows(attn_state *p, const float *aX, int64_t nIn,
                           const int64_t *aOrder, int64_t nRow,
                           const attn_tensor *pW, const attn_tensor *pB,
                           float *aOut, int64_t nCol, attn_err *pErr){
  AttnProject t;
  int64_t nStep = (int64_t)ATTN_BLOCK_Q*16*attn_pool_size(p->pPool);
  int rc;
  t.p = p; t.aX = aX; t.nIn = nIn; t.aOrder = aOrder;
  t.pW = pW; t.pB = pB; t.aOut = aOut; t.nCol = nCol;
  for(t.iFirst=0; t.iFirst<nRow; t.iFirst+=nStep){
    t.nRow = nRow-t.iFirst < nStep ? nRow-t.iFirst : nStep;
    attn_pool_run(p->pPool, (t.nRow+ATTN_BLOCK_Q-1)/ATTN_BLOCK_Q,
                  attnProjectTask, &t);
    if( (rc = attnPoll(p, pErr))!=0 ) return rc;
  }
  return ATTN_OK;
}

/* Apply RoPE to every head of nRow sorted rows (nHeads heads of nDimK). */
static int attnRopeRows(attn_state *p, float *aRows, int64_t nRow,
                        int64_t nCol, int nHeads, const int64_t *aPos,
                        attn_err *pErr){
  int rc = ATTN_OK;
  double *aCos = attnAlloc((uint64_t)p->nDimK, sizeof(double), &rc, pErr);
  double *aSin = attnAlloc((uint64_t)p->nDimK, sizeof(double), &rc, pErr);
  int64_t i;
  int h;
  for(i=0; rc==ATTN_OK && i<nRow; i++){
    attn_rope_angles((double)aPos[i], p->nDimK, p->opt.rRopeBase, aCos, aSin);
    for(h=0; h<nHeads; h++){
      attn_rope_rotate(aRows + i*nCol + (int64_t)h*p->nDimK, p->nDimK,
                       aCos, aSin, p->opt.eRopeStyle);
    }
  }
  attn_free_aligned(aCos);
  attn_free_aligned(aSin);
  return rc;
}

/* Pack the sorted keys aK (nK × nKDim) into panels, per kv head, each key
** sequence starting a new panel. */
static void attnPackKeys(attn_state *p, const float *aK, const int64_t *aKSeq){
  int64_t nPanelFloats = (int64_t)p->nDimK*ATTN_PANEL;
  int g;
  memset(p->aKPacked, 0, sizeof(float)*(size_t)(p->nPanel*nPanelFloats
                                                 *p->nKvHead));
  for(g=0; g<p->nKvHead; g++){
    float *aDst = p->aKPacked + (int64_t)g*p->nPanel*nPanelFloats;
    int64_t j = 0, iPanel = 0;
    while( j<p->nK ){
      int64_t j0 = j, c;
      while( j<p->nK && aKSeq[j]==aKSeq[j0] ) j++;
      for(c=0; c<j-j0; c++){
        const float *k = aK + (j0+c)*p->nKDim + (int64_t)g*p->nDimK;
        float *pan = aDst + (iPanel + c/ATTN_PANEL)*nPanelFloats + c%ATTN_PANEL;
        int d;
        for(d=0; d<p->nDimK; d++) pan[d*ATTN_PANEL] = k[d];
      }
      iPanel += (j-j0 + ATTN_PANEL-1)/ATTN_PANEL;
    }
  }
}

static int attnPrepare(attn_state *p, const attn_input *pIn, attn_err *pErr){
  int rc = ATTN_OK;
  int64_t *aKSeq = 0;
  float *aK = 0;
  int64_t i, nThread = p->opt.nThread;
  double rScale;

  p->aQOrder = attnAlloc((uint64_t)p->nQ, sizeof(int64_t), &rc, pErr);
  p->aQRank  = attnAlloc((uint64_t)p->nQ, sizeof(int64_t), &rc, pErr);
  p->aQSeq   = attnAlloc((uint64_t)p->nQ, sizeof(int64_t), &rc, pErr);
  p->aQPos   = attnAlloc((uint64_t)p->nQ, sizeof(int64_t), &rc, pErr);
  p->aKOrder = attnAlloc((uint64_t)p->nK, sizeof(int64_t), &rc, pErr);
  p->aKRank  = attnAlloc((uint64_t)p->nK, sizeof(int64_t), &rc, pErr);
  p->aKPos   = attnAlloc((uint64_t)p->nK, sizeof(int64_t), &rc, pErr);
  aKSeq      = attnAlloc((uint64_t)p->nK, sizeof(int64_t), &rc, pErr);
  if( rc ) goto done;
  rc = attnSortRows(p->nQ, pIn->aSeqQ, pIn->aPosQ, "query", p->aQOrder,
                    p->aQRank, p->aQSeq, p->aQPos, pErr);
  if( rc ) goto done;
  rc = attnSortRows(p->nK, pIn->aSeqK, pIn->aPosK, "key", p->aKOrder,
                    p->aKRank, aKSeq, p->aKPos, pErr);
  if( rc ) goto done;
  rc = attnMakeBlocks(p, aKSeq, pErr);
  if( rc ) goto done;

  /* Work buffers and the pool. */
  p->nWork = pIn->nXq;
  if( pIn->nXk>p->nWork ) p->nWork = pIn->nXk;
  if( pIn->nXv>p->nWork ) p->nWork = pIn->nXv;
  if( p->nCat>p->nWork ) p->nWork = p->nCat;
  if( p->nOut>p->nWork ) p->nWork = p->nOut;
  if( nThread>1 ){
    p->pPool = attn_pool_new((int)nThread);
    if( p->pPool==0 ){ rc = attn_err_nomem(pErr); goto done; }
  }
  p->aWork = attnAlloc((uint64_t)nThread*ATTN_BLOCK_Q, (uint64_t)p->nWork
                       *sizeof(float), &rc, pErr);
  p->aScratch = attnAlloc((uint64_t)nThread, ATTN_FLASH_SCRATCH*sizeof(float),
                          &rc, pErr);
  p->aQ = attnAlloc((uint64_t)p->nQ, (uint64_t)p->nQDim*sizeof(float),
                    &rc, pErr);
  aK = attnAlloc((uint64_t)p->nK, (uint64_t)p->nKDim*sizeof(float), &rc, pErr);
  p->aKPacked = attnAlloc((uint64_t)p->nPanel*p->nKvHead,
                          (uint64_t)p->nDimK*ATTN_PANEL*sizeof(float),
                          &rc, pErr);
  if( !p->opt.bNoValues ){
    p->aV = attnAlloc((uint64_t)p->nK, (uint64_t)p->nVDim*sizeof(float),
                      &rc, pErr);
    p->aOut = attnAlloc((uint64_t)p->nQ, (uint64_t)p->nOut*sizeof(float),
                        &rc, pErr);
    p->aLse = attnAlloc((uint64_t)p->nQ, (uint64_t)p->nHead*sizeof(float),
                        &rc, pErr);
    p->aDone = attnAlloc((uint64_t)p->nBlock, 1, &rc, pErr);
    if( pIn->wo.a ){
      p->aWo = attnAlloc((uint64_t)pIn->wo.n, sizeof(float), &rc, pErr);
      if( p->aWo ) memcpy(p->aWo, pIn->wo.a, sizeof(float)*(size_t)pIn->wo.n);
    }
    if( pIn->bo.a ){
      p->aBo = attnAlloc((uint64_t)pIn->bo.n, sizeof(float), &rc, pErr);
      if( p->aBo ) memcpy(p->aBo, pIn->bo.a, sizeof(float)*(size_t)pIn->bo.n);
    }
    /* Chunks: a few blocks per thread, within the buffer budget. */
    {
      uint64_t nPer = (uint64_t)ATTN_BLOCK_Q*(uint64_t)(p->nCat+p->nHead)*4;
      p->nChunk = 2*nThread;
      if( (uint64_t)p->nChunk*nPer>ATTN_CHUNK_BYTES ){
        p->nChunk = (int64_t)(ATTN_CHUNK_BYTES/nPer);
        if( p->nChunk<1 ) p->nChunk = 1;
      }
    }
    p->aCat = attnAlloc((uint64_t)p->nChunk*ATTN_BLOCK_Q,
                        (uint64_t)p->nCat*sizeof(float), &rc, pErr);
    p->aCatLse = attnAlloc((uint64_t)p->nChunk*ATTN_BLOCK_Q,
                           (uint64_t)p->nHead*sizeof(float), &rc, pErr);
  }
  if( p->opt.bAlibi ){
    p->aSlope = attnAlloc((uint64_t)p->nHead, sizeof(double), &rc, pErr);
    if( p->aSlope ) attn_alibi_slopes(p->nHead, p->aSlope);
  }
  if( rc ) goto done;
  if( p->aDone ) memset(p->aDone, 0, (size_t)p->nBlock);

  /* Q: project, RoPE, scale. */
  rc = attnProjectRows(p, pIn->aXq, pIn->nXq, p->aQOrder, p->nQ, &pIn->wq,
                       &pIn->bq, p->aQ, p->nQDim, pErr);
  if( rc==ATTN_OK && p->opt.rRopeBase!=0.0 ){
    rc = attnRopeRows(p, p->aQ, p->nQ, p->nQDim, p->nHead, p->aQPos, pErr);
  }
  if( rc ) goto done;
  rScale = p->opt.bScale ? p->opt.rScale : 1.0/sqrt((double)p->nDimK);
  for(i=0; i<p->nQ*p->nQDim; i++) p->aQ[i] = (float)(p->aQ[i]*rScale);

  /* K: project, RoPE, pack. */
  rc = attnProjectRows(p, pIn->aXk, pIn->nXk, p->aKOrder, p->nK, &pIn->wk,
                       &pIn->bk, aK, p->nKDim, pErr);
  if( rc==ATTN_OK && p->opt.rRopeBase!=0.0 ){
    rc = attnRopeRows(p, aK, p->nK, p->nKDim, p->nKvHead, p->aKPos, pErr);
  }
  if( rc ) goto done;
  attnPackKeys(p, aK, aKSeq);

  /* V. */
  if( !p->opt.bNoValues ){
    rc = attnProjectRows(p, pIn->aXv, pIn->nXv, p->aKOrder, p->nK, &pIn->wv,
                         &pIn->bv, p->aV, p->nVDim, pErr);
  }

done:
  attn_free_aligned(aK);
  attn_free_aligned(aKSeq);
  return rc;
}

int attn_state_new(const attn_input *pIn, const attn_options *pOpt,
                   attn_state **ppState, attn_err *pErr){
  attn_state *p;
  int rc;
  *ppState = 0;
  p = attn_malloc_zero(sizeof(*p));
  if( p==0 ) return attn_err_nomem(pErr);
  p->opt = *pOpt;
  if( p->opt.nHead==0 ) p->opt.nHead = 1;
  if( p->opt.nKvHead==0 ) p->opt.nKvHead = p->opt.nHead;
  if( p->opt.nThread==0 ) p->opt.nThread = 1;
  p->pKern = attn_kernels();
  rc = attnConfigure(p, pIn, pErr);
  if( rc==ATTN_OK ) rc = attnPrepare(p, pIn, pErr);
  if( rc ){
    attn_state_free(p);
    return rc;
  }
  *ppState = p;
  return ATTN_OK;
}

void attn_state_free(attn_state *p){
  if( p==0 ) return;
  attn_pool_free(p->pPool);
  attn_free_aligned(p->aQOrder);
  attn_free_aligned(p->aQRank);
  attn_free_aligned(p->aQSeq);
  attn_free_aligned(p->aQPos);
  attn_free_aligned(p->aKOrder);
  attn_free_aligned(p->aKRank);
  attn_free_aligned(p->aKPos);
  attn_free_aligned(p->aQ);
  attn_free_aligned(p->aKPacked);
  attn_free_aligned(p->aV);
  attn_free_aligned(p->aWo);
  attn_free_aligned(p->aBo);
  attn_free_aligned(p->aSlope);
  attn_free_aligned(p->aBlock);
  attn_free_aligned(p->aDone);
  attn_free_aligned(p->aOut);
  attn_free_aligned(p->aLse);
  attn_free_aligned(p->aCat);
  attn_free_aligned(p->aCatLse);
  attn_free_aligned(p->aScratch);
  attn_free_aligned(p->aWork);
  attn_free(p);
}

int64_t attn_state_rows(const attn_state *p){ return p->nQ; }
int64_t attn_state_out_dim(const attn_state *p){ return p->nOut; }
int attn_state_heads(const attn_state *p){ return p->nHead; }

/*
** Computing blocks.
*/
typedef struct AttnChunk AttnChunk;
struct AttnChunk {
  attn_state *p;
  int64_t aBlock[ATTN_MAX_THREADS*2];   /* block numbers of the chunk */
  int64_t nBlock;
};

/* Task: one head of one block of the chunk, into aCat/aCatLse. */
static void attnFlashTask(void *pArg, int64_t iTask, int iWorker){
  AttnChunk *c = (AttnChunk*)pArg;
  attn_state *p = c->p;
  int64_t iSlot = iTask / p->nHead;
  int h = (int)(iTask % p->nHead);
  int g = h / (p->nHead/p->nKvHead);
  const AttnBlock *b = &p->aBlock[c->aBlock[iSlot]];
  float *aCat = p->aCat + iSlot*ATTN_BLOCK_Q*p->nCat;
  float *aLse = p->aCatLse + iSlot*ATTN_BLOCK_Q*p->nHead;
  attn_flash_args a;
  int r;
  if( b->nKey==0 ){
    for(r=0; r<b->nRow; r++){
      aLse[r*p->nHead + h] = -INFINITY;
      memset(aCat + r*p->nCat + (int64_t)h*p->nDimV, 0,
             sizeof(float)*(size_t)p->nDimV);
    }
    return;
  }
  a.nQuery = b->nRow;
  a.nKey = b->nKey;
  a.nDimK = p->nDimK;
  a.nDimV = p->nDimV;
  a.q = p->aQ + b->iRow*p->nQDim + (int64_t)h*p->nDimK;
  a.ldq = p->nQDim;
  a.kPacked = p->aKPacked + ((int64_t)g*p->nPanel + b->iPanel)
                            *p->nDimK*ATTN_PANEL;
  a.v = p->aV + b->iKey*p->nVDim + (int64_t)g*p->nDimV;
  a.ldv = p->nVDim;
  a.aQPos = p->aQPos + b->iRow;
  a.aKPos = p->aKPos + b->iKey;
  a.bCausal = p->opt.bCausal;
  a.nWindow = p->opt.nWindow;
  a.rSlope = p->aSlope ? (float)p->aSlope[h] : 0.0f;
  a.rSoftcap = (float)p->opt.rSoftcap;
  a.o = aCat + (int64_t)h*p->nDimV;
  a.ldo = p->nCat;
  a.aLse = aLse + h;
  a.ldLse = p->nHead;
  a.aScratch = p->aScratch + (int64_t)iWorker*ATTN_FLASH_SCRATCH;
  p->pKern->xFlash(&a);
}

/* Task: W_O of one block of the chunk, scattered to input order. */
static void attnOutputTask(void *pArg, int64_t iSlot, int iWorker){
  AttnChunk *c = (AttnChunk*)pArg;
  attn_state *p = c->p;
  const AttnBlock *b = &p->aBlock[c->aBlock[iSlot]];
  const float *aCat = p->aCat + iSlot*ATTN_BLOCK_Q*p->nCat;
  const float *aLse = p->aCatLse + iSlot*ATTN_BLOCK_Q*p->nHead;
  float *aTmp = p->aWork + (int64_t)iWorker*ATTN_BLOCK_Q*p->nWork;
  const float *aRes = aCat;
  int64_t ld = p->nCat, j;
  int r;
  if( p->aWo ){
    p->pKern->xGemm(b->nRow, p->nOut, p->nCat, aCat, p->nCat, p->aWo, p->nOut,
                    aTmp, p->nOut, 0);
    aRes = aTmp;
    ld = p->nOut;
  }
  for(r=0; r<b->nRow; r++){
    int64_t iRow = p->aQOrder[b->iRow + r];
    float *aOut = p->aOut + iRow*p->nOut;
    memcpy(p->aLse + iRow*p->nHead, aLse + (int64_t)r*p->nHead,
           sizeof(float)*(size_t)p->nHead);
    memcpy(aOut, aRes + r*ld, sizeof(float)*(size_t)p->nOut);
    if( p->aBo ){
      for(j=0; j<p->nOut; j++) aOut[j] += p->aBo[j];
    }
  }
}

/* Compute the blocks of chunk c. */
static void attnRunChunk(attn_state *p, AttnChunk *c){
  int64_t i;
  attn_pool_run(p->pPool, c->nBlock*p->nHead, attnFlashTask, c);
  attn_pool_run(p->pPool, c->nBlock, attnOutputTask, c);
  for(i=0; i<c->nBlock; i++) p->aDone[c->aBlock[i]] = 1;
}

/* Compute block iBlock and, to keep the threads busy, the next blocks that
** are not done yet (up to a chunk). */
static void attnComputeFrom(attn_state *p, int64_t iBlock){
  AttnChunk c;
  int64_t i;
  c.p = p;
  c.nBlock = 0;
  for(i=iBlock; i<p->nBlock && c.nBlock<p->nChunk; i++){
    if( !p->aDone[i] ) c.aBlock[c.nBlock++] = i;
  }
  attnRunChunk(p, &c);
}

/* The block holding sorted row s (binary search on the block starts). */
static int64_t attnBlockOf(const attn_state *p, int64_t s){
  int64_t lo = 0, hi = p->nBlock-1;
  while( lo<hi ){
    int64_t mid = (lo+hi+1)/2;
    if( p->aBlock[mid].iRow<=s ) lo = mid; else hi = mid-1;
  }
  return lo;
}

static int attnNeedValues(const attn_state *p, attn_err *pErr){
  if( p->opt.bNoValues ){
    return attn_err_set(pErr, ATTN_ERROR, "outputs were not prepared "
                        "(bNoValues is set)");
  }
  return ATTN_OK;
}

int attn_output(attn_state *p, int64_t iRow, const float **paOut,
                const float **paLse, attn_err *pErr){
  int64_t iBlock;
  int rc;
  *paOut = 0;
  *paLse = 0;
  if( (rc = attnNeedValues(p, pErr))!=0 ) return rc;
  if( iRow<0 || iRow>=p->nQ ){
    return attn_err_set(pErr, ATTN_ERROR, "row %lld is out of range (0 to "
                        "%lld)", (long long)iRow, (long long)p->nQ-1);
  }
  iBlock = attnBlockOf(p, p->aQRank[iRow]);
  if( !p->aDone[iBlock] ) attnComputeFrom(p, iBlock);
  if( p->aLse[iRow*p->nHead]==-INFINITY ) return ATTN_OK;
  *paOut = p->aOut + iRow*p->nOut;
  *paLse = p->aLse + iRow*p->nHead;
  return ATTN_OK;
}

int attn_forward(attn_state *p, attn_err *pErr){
  int64_t i = 0;
  int rc;
  if( (rc = attnNeedValues(p, pErr))!=0 ) return rc;
  while( i<p->nBlock ){
    if( p->aDone[i] ){ i++; continue; }
    attnComputeFrom(p, i);
    if( (rc = attnPoll(p, pErr))!=0 ) return rc;
  }
  return ATTN_OK;
}

/*
** Score rows.
*/
struct attn_score_iter {
  attn_state *p;
  const AttnBlock *pBlock;     /* the block of the query row (its keys) */
  int iHead0, iHead1;          /* heads [iHead0, iHead1) */
  double *aScore;              /* (iHead1-iHead0) × nKey scores, -inf masked */
  double *aLse;                /* per head */
  int iHead;                   /* cursor */
  int64_t iKey;
};

int attn_scores_open(attn_state *p, int64_t iRow, int iHead,
                     attn_score_iter **ppIter, attn_err *pErr){
  attn_score_iter *it;
  int64_t s, nKey, j;
  int rc = ATTN_OK, h, d;
  *ppIter = 0;
  if( iRow<0 || iRow>=p->nQ ){
    return attn_err_set(pErr, ATTN_ERROR, "row %lld is out of range (0 to "
                        "%lld)", (long long)iRow, (long long)p->nQ-1);
  }
  it = attn_malloc_zero(sizeof(*it));
  if( it==0 ) return attn_err_nomem(pErr);
  it->p = p;
  s = p->aQRank[iRow];
  it->pBlock = &p->aBlock[attnBlockOf(p, s)];
  it->iHead0 = iHead<0 ? 0 : iHead;
  it->iHead1 = iHead<0 ? p->nHead : (iHead<p->nHead ? iHead+1 : iHead);
  it->iHead = it->iHead0;
  nKey = it->pBlock->nKey;
  if( it->iHead1>it->iHead0 && nKey>0 ){
    it->aScore = attnAlloc((uint64_t)(it->iHead1-it->iHead0), (uint64_t)nKey
                           *sizeof(double), &rc, pErr);
    it->aLse = attnAlloc((uint64_t)(it->iHead1-it->iHead0), sizeof(double),
                         &rc, pErr);
    if( rc ){
      attn_scores_close(it);
      return rc;
    }
  }else{
    it->iHead = it->iHead1;           /* nothing to iterate */
  }
  for(h=it->iHead0; it->aScore && h<it->iHead1; h++){
    int g = h / (p->nHead/p->nKvHead);
    const float *q = p->aQ + s*p->nQDim + (int64_t)h*p->nDimK;
    const float *aPanels = p->aKPacked + ((int64_t)g*p->nPanel
                           + it->pBlock->iPanel)*p->nDimK*ATTN_PANEL;
    double *aS = it->aScore + (int64_t)(h-it->iHead0)*nKey;
    double mx = -INFINITY, sum = 0.0;
    attn_flash_args mask;
    memset(&mask, 0, sizeof(mask));
    mask.bCausal = p->opt.bCausal;
    mask.nWindow = p->opt.nWindow;
    for(j=0; j<nKey; j++){
      int64_t qpos = p->aQPos[s], kpos = p->aKPos[it->pBlock->iKey + j];
      const float *kp = aPanels + (j/ATTN_PANEL)*p->nDimK*ATTN_PANEL
                      + j%ATTN_PANEL;
      double x = 0.0;
      if( !attn_pair_allowed(&mask, qpos, kpos) ){
        aS[j] = -INFINITY;
        continue;
      }
      for(d=0; d<p->nDimK; d++) x += (double)q[d]*(double)kp[d*ATTN_PANEL];
      if( p->opt.rSoftcap>0.0 ) x = p->opt.rSoftcap*tanh(x/p->opt.rSoftcap);
      if( p->aSlope ){
        x -= p->aSlope[h]*(double)(qpos>kpos ? qpos-kpos : kpos-qpos);
      }
      aS[j] = x;
      if( x>mx ) mx = x;
    }
    if( mx>-INFINITY ){
      for(j=0; j<nKey; j++) sum += exp(aS[j]-mx);
      it->aLse[h-it->iHead0] = mx + log(sum);
    }else{
      it->aLse[h-it->iHead0] = -INFINITY;
    }
  }
  *ppIter = it;
  return ATTN_OK;
}

int attn_scores_next(attn_score_iter *it, attn_score *pScore){
  int64_t nKey = it->pBlock->nKey;
  while( it->iHead<it->iHead1 ){
    const double *aS = it->aScore + (int64_t)(it->iHead-it->iHead0)*nKey;
    while( it->iKey<nKey ){
      int64_t j = it->iKey++;
      if( aS[j]==-INFINITY ) continue;
      pScore->iKey = it->p->aKOrder[it->pBlock->iKey + j];
      pScore->iHead = it->iHead;
      pScore->rScore = aS[j];
      pScore->rWeight = exp(aS[j] - it->aLse[it->iHead-it->iHead0]);
      return 1;
    }
    it->iHead++;
    it->iKey = 0;
  }
  return 0;
}

void attn_scores_close(attn_score_iter *it){
  if( it==0 ) return;
  attn_free_aligned(it->aScore);
  attn_free_aligned(it->aLse);
  attn_free(it);
}

int64_t attn_query_seq(const attn_state *p, int64_t iRow){
  return p->aQSeq[p->aQRank[iRow]];
}
int64_t attn_query_pos(const attn_state *p, int64_t iRow){
  return p->aQPos[p->aQRank[iRow]];
}
int64_t attn_key_pos(const attn_state *p, int64_t iKey){
  return p->aKPos[p->aKRank[iKey]];
}
