/*
** explorer.c: the attention explorer, an HTML document of every head (see
** explorer.h).
**
** How it works.  attn_explorer_add() gives each new position of an axis an
** index (an open-addressing hash from position to index), keeps its first
** label in the shared label store (picture.h), and appends (query index,
** key index, weight) to the rows of its map, found by another hash on
** (layer, head).  attn_explorer_layout() sorts the positions of each axis,
** pools them as attn_heatmap() pools, and bins each map twice, at full size
** (ATTN_EXPLORER_MAX a side) and for the grid (ATTN_EXPLORER_THUMB a side),
** into float16 bins of weight / 2^e (e per map, so every finite weight
** fits); duplicate rows are found on the way.  Then it runs the writer on a
** measuring buffer, which gives the exact size of the document without
** building it; attn_explorer_write() runs the same writer into a buffer of
** that size.
**
** The page: a Content-Security-Policy meta element with the SHA-256 of the
** inline script and style (computed here, so the policy and the code never
** disagree), the style, an empty <main> the script fills, a JSON data
** block (labels, numbers, colours; every string escaped by
** attn_pic_label() so that it cannot end its <script> element), one base64
** block per map and one for the grid, and the script (explorer_page.h,
** generated from explorer_page.js and explorer_page.css).  The script
** inserts labels with textContent only.
*/
#include "explorer.h"
#include "picture.h"
#include "sha256.h"
#include "alloc.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explorer_page.h"   /* zExplorerScript, zExplorerStyle */

/* Okabe and Ito's colour-blind-safe palette (Color Universal Design,
** 2008), in their order; heads past the eighth repeat it with dashed
** lines. */
static const char *const azPalette[8] = {
  "#e69f00", "#56b4e9", "#009e73", "#f0e442",
  "#0072b2", "#d55e00", "#cc79a7", "#000000"
};

/*
** An axis: the positions of all the maps' queries (0) or keys (1).
*/
typedef struct ExplorerAxis ExplorerAxis;
struct ExplorerAxis {
  int64_t *aPos;        /* positions by index, in order of arrival */
  uint64_t nPos;        /* distinct positions */
  uint64_t nAlloc;      /* entries of aPos allocated */
  uint32_t *aSlot;      /* hash: index+1 of a position, or 0 */
  uint64_t nSlot;       /* slots (a power of two), at least 2*nPos */
  attn_labels labels;   /* the first label of each position */
  /* From attn_explorer_layout(): */
  int64_t *aSorted;     /* the positions, ascending */
  uint32_t *aRank;      /* rank in aSorted of the position of index i */
  int64_t nPool, nBin;  /* positions per bin and bins, full size */
  int64_t nTPool, nTBin;  /* the same for the grid */
};

/*
** A map: the rows of one (layer, head).
*/
typedef struct ExplorerMap ExplorerMap;
struct ExplorerMap {
  int64_t layer, head;
  uint32_t *aQ, *aK;    /* query and key index of each row */
  double *aW;           /* weight of each row */
  int64_t nRow, nAlloc; /* rows used and allocated */
  double wMin, wMax;    /* smallest and largest weight */
  /* From attn_explorer_layout(): */
  uint16_t *aBin;       /* nBin[0]*nBin[1] float16 of mean/2^e, row-major */
  uint16_t *aThumb;     /* nTBin[0]*nTBin[1] of the same */
  int e;                /* the exponent of the map's scale */
  int64_t nAbsent;      /* full-size bins without a row */
  int64_t iLayer, iHead;  /* indexes into the document's layers and heads */
};

struct attn_explorer {
  int64_t nMaxRow;      /* limit on nRow */
  int64_t nRow;         /* rows added */
  int bLayer;           /* rows have layers */
  int bProb;            /* every weight is in [0, 1] */
  ExplorerMap *aMap;    /* maps, in order of arrival */
  int nMap, nMapAlloc;
  uint16_t *aMapSlot;   /* hash of (layer, head): index+1 or 0 */
  int iLast;            /* the map of the previous row */
  ExplorerAxis ax[2];
  /* From attn_explorer_layout(): */
  int bLaidOut;
  int *aOrder;          /* maps sorted by (layer, head) */
  int64_t *aLayer, *aHead;  /* distinct layers and heads, ascending */
  int64_t nLayer, nHead;
  int *aGrid;           /* nLayer*nHead: index into aOrder, or -1 */
  uint64_t nByte;       /* size of the document */
};

#define EXPLORER_MAP_SLOTS (2*ATTN_EXPLORER_MAX_MAPS)

static uint64_t explorerHash(int64_t a, int64_t b){
  uint64_t h = (uint64_t)a * 0x9E3779B97F4A7C15ull;
  h ^= h>>29;
  h += (uint64_t)b * 0xBF58476D1CE4E5B9ull;
  return h ^ (h>>31);
}

/* Grow array *pa of *pnAlloc elements of sz bytes to hold nNeed; 0 on
** success. */
static int explorerGrow(void **pa, int64_t *pnAlloc, int64_t nNeed,
                        int64_t nMax, size_t sz, int64_t nUsed){
  int64_t nNew;
  uint64_t nByte;
  void *aNew;
  if( nNeed<=*pnAlloc ) return ATTN_OK;
  nNew = *pnAlloc ? 2*(*pnAlloc) : 64;
  if( nNew<nNeed ) nNew = nNeed;
  if( nNew>nMax ) nNew = nMax;
  if( attn_size_mul((uint64_t)nNew, sz, &nByte) ) return ATTN_TOOBIG;
  aNew = attn_malloc(nByte);
  if( aNew==0 ) return ATTN_NOMEM;
  if( nUsed ) memcpy(aNew, *pa, sz*(size_t)nUsed);
  attn_free(*pa);
  *pa = aNew;
  *pnAlloc = nNew;
  return ATTN_OK;
}

/*
** Axes.
*/

/* The index of position pos on axis x, added if new; ~0 when out of
** memory. */
static uint32_t axisIndex(ExplorerAxis *x, int64_t pos){
  uint64_t mask, i;
  if( 2*(x->nPos+1)>x->nSlot ){
    uint64_t nNew = x->nSlot ? 2*x->nSlot : 256, nByte, j;
    uint32_t *aNew;
    if( attn_size_mul(nNew, sizeof(uint32_t), &nByte) ) return ~(uint32_t)0;
    aNew = attn_malloc_zero(nByte);
    if( aNew==0 ) return ~(uint32_t)0;
    for(j=0; j<x->nPos; j++){
      i = explorerHash(x->aPos[j], 0) & (nNew-1);
      while( aNew[i] ) i = (i+1) & (nNew-1);
      aNew[i] = (uint32_t)(j+1);
    }
    attn_free(x->aSlot);
    x->aSlot = aNew;
    x->nSlot = nNew;
  }
  mask = x->nSlot-1;
  i = explorerHash(pos, 0) & mask;
  while( x->aSlot[i] ){
    if( x->aPos[x->aSlot[i]-1]==pos ) return x->aSlot[i]-1;
    i = (i+1) & mask;
  }
  if( x->nPos==x->nAlloc ){
    int64_t nAlloc = (int64_t)x->nAlloc;
    if( explorerGrow((void**)&x->aPos, &nAlloc, (int64_t)x->nPos+1,
                     ATTN_EXPLORER_MAX_ROWS, sizeof(int64_t),
                     (int64_t)x->nPos) ){
      return ~(uint32_t)0;
    }
    x->nAlloc = (uint64_t)nAlloc;
  }
  x->aPos[x->nPos] = pos;
  x->aSlot[i] = (uint32_t)(x->nPos+1);
  return (uint32_t)(x->nPos++);
}

static void axisFree(ExplorerAxis *x){
  attn_free(x->aPos);
  attn_free(x->aSlot);
  attn_labels_free(&x->labels);
  attn_free(x->aSorted);
  attn_free(x->aRank);
  memset(x, 0, sizeof(*x));
}

/* Sort the positions of axis x and choose its bins. */
static int axisLayout(ExplorerAxis *x){
  uint64_t i, nByte;
  if( attn_size_mul(x->nPos, sizeof(int64_t), &nByte) ) return ATTN_TOOBIG;
  x->aSorted = attn_malloc(nByte);
  x->aRank = attn_malloc(x->nPos*sizeof(uint32_t));
  if( x->aSorted==0 || x->aRank==0 ) return ATTN_NOMEM;
  memcpy(x->aSorted, x->aPos, (size_t)nByte);
  qsort(x->aSorted, (size_t)x->nPos, sizeof(int64_t), attn_pic_pos_cmp);
  for(i=0; i<x->nPos; i++){
    x->aRank[i] = (uint32_t)attn_pic_find(x->aSorted, (int64_t)x->nPos,
                                         x->aPos[i]);
  }
  attn_pic_pool((int64_t)x->nPos, ATTN_EXPLORER_MAX, &x->nPool, &x->nBin);
  attn_pic_pool((int64_t)x->nPos, ATTN_EXPLORER_THUMB, &x->nTPool, &x->nTBin);
  return ATTN_OK;
}

/*
** The explorer.
*/
attn_explorer *attn_explorer_new(int64_t nMaxRow, int bLayer){
  attn_explorer *p = attn_malloc_zero(sizeof(*p));
  if( p ){
    p->nMaxRow = nMaxRow<1 ? 1 : nMaxRow;
    p->bLayer = bLayer!=0;
    p->bProb = 1;
    p->iLast = -1;
  }
  return p;
}

static void mapFreeRows(ExplorerMap *m){
  attn_free(m->aQ);
  attn_free(m->aK);
  attn_free(m->aW);
  m->aQ = m->aK = 0;
  m->aW = 0;
}

void attn_explorer_free(attn_explorer *p){
  int i;
  if( p==0 ) return;
  for(i=0; i<p->nMap; i++){
    mapFreeRows(&p->aMap[i]);
    attn_free(p->aMap[i].aBin);
    attn_free(p->aMap[i].aThumb);
  }
  attn_free(p->aMap);
  attn_free(p->aMapSlot);
  axisFree(&p->ax[0]);
  axisFree(&p->ax[1]);
  attn_free(p->aOrder);
  attn_free(p->aLayer);
  attn_free(p->aHead);
  attn_free(p->aGrid);
  attn_free(p);
}

int64_t attn_explorer_count(const attn_explorer *p){
  return p->nRow;
}

/* The map of (layer, head), added if new; NULL with *pRc set on error. */
static ExplorerMap *explorerMap(attn_explorer *p, int64_t layer, int64_t head,
                                int *pRc){
  uint64_t i;
  ExplorerMap *m;
  if( p->iLast>=0 && p->aMap[p->iLast].layer==layer
   && p->aMap[p->iLast].head==head ){
    return &p->aMap[p->iLast];
  }
  if( p->aMapSlot==0 ){
    p->aMapSlot = attn_malloc_zero(EXPLORER_MAP_SLOTS*sizeof(uint16_t));
    if( p->aMapSlot==0 ){
      *pRc = ATTN_NOMEM;
      return 0;
    }
  }
  i = explorerHash(layer, head) & (EXPLORER_MAP_SLOTS-1);
  while( p->aMapSlot[i] ){
    m = &p->aMap[p->aMapSlot[i]-1];
    if( m->layer==layer && m->head==head ){
      p->iLast = p->aMapSlot[i]-1;
      return m;
    }
    i = (i+1) & (EXPLORER_MAP_SLOTS-1);
  }
  if( p->nMap>=ATTN_EXPLORER_MAX_MAPS ){
    *pRc = ATTN_TOOBIG;
    return 0;
  }
  if( p->nMap==p->nMapAlloc ){
    int64_t nAlloc = p->nMapAlloc;
    int rc = explorerGrow((void**)&p->aMap, &nAlloc, p->nMap+1,
                          ATTN_EXPLORER_MAX_MAPS, sizeof(ExplorerMap),
                          p->nMap);
    if( rc ){
      *pRc = rc;
      return 0;
    }
    p->nMapAlloc = (int)nAlloc;
  }
  m = &p->aMap[p->nMap];
  memset(m, 0, sizeof(*m));
  m->layer = layer;
  m->head = head;
  p->aMapSlot[i] = (uint16_t)(p->nMap+1);
  p->iLast = p->nMap++;
  return m;
}

int attn_explorer_add(attn_explorer *p, int64_t layer, int64_t head,
                      int64_t q, int64_t k, double w,
                      const char *zQ, int nQ, const char *zK, int nK,
                      attn_err *pErr){
  ExplorerMap *m;
  uint32_t iQ, iK;
  int rc = ATTN_OK;
  if( !isfinite(w) ){
    return attn_err_set(pErr, ATTN_ERROR, "weight is %s, expected a finite "
        "number", isnan(w) ? "NaN" : (w>0 ? "Infinity" : "-Infinity"));
  }
  if( p->nRow>=p->nMaxRow ){
    return attn_err_set(pErr, ATTN_TOOBIG, "the explorer has more than %lld "
        "rows; draw fewer at a time (fewer layers or heads, or a range of "
        "positions)", (long long)p->nMaxRow);
  }
  if( !p->bLayer ) layer = 0;
  m = explorerMap(p, layer, head, &rc);
  if( m==0 ){
    if( rc==ATTN_NOMEM ) return attn_err_nomem(pErr);
    return attn_err_set(pErr, ATTN_TOOBIG, "the explorer has more than %d "
        "(layer, head) maps; draw fewer layers or heads at a time",
        ATTN_EXPLORER_MAX_MAPS);
  }
  if( m->nRow==m->nAlloc ){
    int64_t nAlloc = m->nAlloc;
    rc = explorerGrow((void**)&m->aQ, &nAlloc, m->nRow+1, p->nMaxRow,
                      sizeof(uint32_t), m->nRow);
    if( rc==ATTN_OK ){
      nAlloc = m->nAlloc;
      rc = explorerGrow((void**)&m->aK, &nAlloc, m->nRow+1, p->nMaxRow,
                        sizeof(uint32_t), m->nRow);
    }
    if( rc==ATTN_OK ){
      nAlloc = m->nAlloc;
      rc = explorerGrow((void**)&m->aW, &nAlloc, m->nRow+1, p->nMaxRow,
                        sizeof(double), m->nRow);
    }
    if( rc ) return attn_err_nomem(pErr);
    m->nAlloc = nAlloc;
  }
  iQ = axisIndex(&p->ax[0], q);
  iK = axisIndex(&p->ax[1], k);
  if( iQ==~(uint32_t)0 || iK==~(uint32_t)0 ) return attn_err_nomem(pErr);
  if( zQ && (rc = attn_labels_add(&p->ax[0].labels, q, zQ, nQ))!=ATTN_OK ){
    return attn_labels_error(rc, pErr);
  }
  if( zK && (rc = attn_labels_add(&p->ax[1].labels, k, zK, nK))!=ATTN_OK ){
    return attn_labels_error(rc, pErr);
  }
  if( m->nRow==0 || w<m->wMin ) m->wMin = w;
  if( m->nRow==0 || w>m->wMax ) m->wMax = w;
  if( w<0.0 || w>1.0 ) p->bProb = 0;
  m->aQ[m->nRow] = iQ;
  m->aK[m->nRow] = iK;
  m->aW[m->nRow] = w;
  m->nRow++;
  p->nRow++;
  return ATTN_OK;
}

/*
** Half precision.
*/
uint16_t attn_explorer_half(double x){
  uint16_t sign = 0;
  double r;
  int e;
  if( isnan(x) ) return 0x7e00;
  if( signbit(x) ){
    sign = 0x8000;
    x = -x;
  }
  if( x>=65520.0 ) return sign | 0x7bff;     /* rounds past 65504 */
  if( x<ldexp(1.0, -14) ){
    /* Subnormal: x/2^-24 rounded (1024 is the smallest normal's bits). */
    r = nearbyint(ldexp(x, 24));
    return sign | (uint16_t)r;
  }
  frexp(x, &e);                  /* x = m * 2^e, m in [0.5, 1) */
  e -= 1;                        /* x = (1 + f) * 2^e, e in [-14, 15] */
  r = nearbyint(ldexp(x, 10-e)); /* 1024 .. 2048 */
  return sign | (uint16_t)(((e+15)<<10) + (int)r - 1024);
}

/*
** Layout.
*/
/* Sort the maps by (layer, head) into aOrder: at most
** ATTN_EXPLORER_MAX_MAPS maps, so insertion sort is enough (and qsort
** would need the maps in a global). */
static void explorerSortMaps(attn_explorer *p){
  int i, j;
  for(i=0; i<p->nMap; i++) p->aOrder[i] = i;
  for(i=1; i<p->nMap; i++){
    int x = p->aOrder[i];
    const ExplorerMap *m = &p->aMap[x];
    for(j=i; j>0; j--){
      const ExplorerMap *o = &p->aMap[p->aOrder[j-1]];
      if( o->layer<m->layer || (o->layer==m->layer && o->head<m->head) ) break;
      p->aOrder[j] = p->aOrder[j-1];
    }
    p->aOrder[j] = x;
  }
}

/* The distinct values among a[0..n) (ascending) into *paOut. */
static int explorerDistinct(const int64_t *a, int n, int64_t **paOut,
                            int64_t *pnOut){
  int i;
  int64_t nOut = 0;
  *paOut = attn_malloc((uint64_t)n*sizeof(int64_t));
  if( *paOut==0 ) return ATTN_NOMEM;
  for(i=0; i<n; i++){
    if( nOut==0 || (*paOut)[nOut-1]!=a[i] ) (*paOut)[nOut++] = a[i];
  }
  *pnOut = nOut;
  return ATTN_OK;
}

static int explorerKeyCmp(const void *pA, const void *pB){
  uint64_t a = *(const uint64_t*)pA, b = *(const uint64_t*)pB;
  return a<b ? -1 : a>b;
}

/* Report two rows of map m at the (query, key) of sorted ranks rq, rk. */
static int explorerDuplicate(const attn_explorer *p, const ExplorerMap *m,
                             uint64_t rq, uint64_t rk, attn_err *pErr){
  if( p->bLayer ){
    return attn_err_set(pErr, ATTN_ERROR, "query position %lld and key "
        "position %lld have more than one row in layer %lld, head %lld: an "
        "explorer shows one sequence (filter or group by sequence)",
        (long long)p->ax[0].aSorted[rq], (long long)p->ax[1].aSorted[rk],
        (long long)m->layer, (long long)m->head);
  }
  return attn_err_set(pErr, ATTN_ERROR, "query position %lld and key "
      "position %lld have more than one row in head %lld: an explorer shows "
      "one layer of one sequence (filter or group by layer and sequence, or "
      "pass the layer as argument 7)",
      (long long)p->ax[0].aSorted[rq], (long long)p->ax[1].aSorted[rk],
      (long long)m->head);
}

/* Find duplicate (query, key) rows of map m when an axis is pooled (the
** bins cannot tell): sort the rows' keys. */
static int explorerCheckPooled(const attn_explorer *p, const ExplorerMap *m,
                               attn_err *pErr){
  uint64_t nK = p->ax[1].nPos, *aKey, nByte;
  int64_t i;
  if( attn_size_mul((uint64_t)m->nRow, sizeof(uint64_t), &nByte) ){
    return attn_err_set(pErr, ATTN_TOOBIG, "too many rows");
  }
  aKey = attn_malloc(nByte);
  if( aKey==0 ) return attn_err_nomem(pErr);
  for(i=0; i<m->nRow; i++){
    aKey[i] = (uint64_t)p->ax[0].aRank[m->aQ[i]]*nK
            + p->ax[1].aRank[m->aK[i]];
  }
  qsort(aKey, (size_t)m->nRow, sizeof(uint64_t), explorerKeyCmp);
  for(i=1; i<m->nRow; i++){
    if( aKey[i]==aKey[i-1] ){
      int rc = explorerDuplicate(p, m, aKey[i]/nK, aKey[i]%nK, pErr);
      attn_free(aKey);
      return rc;
    }
  }
  attn_free(aKey);
  return ATTN_OK;
}

/* Average the rows of map m into nBinQ x nBinK bins of nPoolQ x nPoolK
** positions (scratch aSum, aCnt of that many cells), as float16 of mean/2^e
** into *paOut.  With bCheck (no axis pooled), a cell with two rows is a
** duplicate. */
static int explorerBin(const attn_explorer *p, ExplorerMap *m, int bThumb,
                       double *aSum, uint32_t *aCnt, uint16_t **paOut,
                       int64_t *pnAbsent, attn_err *pErr){
  const ExplorerAxis *xq = &p->ax[0], *xk = &p->ax[1];
  int64_t nPoolQ = bThumb ? xq->nTPool : xq->nPool;
  int64_t nPoolK = bThumb ? xk->nTPool : xk->nPool;
  int64_t nBinQ = bThumb ? xq->nTBin : xq->nBin;
  int64_t nBinK = bThumb ? xk->nTBin : xk->nBin;
  int64_t nCell = nBinQ*nBinK, i, nAbsent = 0;
  int bCheck = !bThumb && nPoolQ==1 && nPoolK==1;
  uint16_t *aOut;
  memset(aSum, 0, sizeof(double)*(size_t)nCell);
  memset(aCnt, 0, sizeof(uint32_t)*(size_t)nCell);
  for(i=0; i<m->nRow; i++){
    uint64_t rq = xq->aRank[m->aQ[i]], rk = xk->aRank[m->aK[i]];
    int64_t c = ((int64_t)rq/nPoolQ)*nBinK + (int64_t)rk/nPoolK;
    if( bCheck && aCnt[c] ) return explorerDuplicate(p, m, rq, rk, pErr);
    aSum[c] += m->aW[i];
    aCnt[c]++;
  }
  aOut = attn_malloc((uint64_t)nCell*sizeof(uint16_t));
  if( aOut==0 ) return attn_err_nomem(pErr);
  for(i=0; i<nCell; i++){
    if( aCnt[i]==0 ){
      aOut[i] = attn_explorer_half(NAN);
      nAbsent++;
    }else{
      aOut[i] = attn_explorer_half(ldexp(aSum[i]/(double)aCnt[i], -m->e));
    }
  }
  *paOut = aOut;
  if( pnAbsent ) *pnAbsent = nAbsent;
  return ATTN_OK;
}

static void explorerWriteDoc(attn_explorer *p, attn_pbuf *b);

int attn_explorer_layout(attn_explorer *p, uint64_t *pnByte, attn_err *pErr){
  double *aSum = 0;
  uint32_t *aCnt = 0;
  int64_t *aTmp = 0, nCell, i;
  int rc = ATTN_OK, e;
  attn_pbuf b;

  if( p->bLaidOut ){
    *pnByte = p->nByte;
    return ATTN_OK;
  }
  for(e=0; e<2 && rc==ATTN_OK; e++) rc = axisLayout(&p->ax[e]);
  if( rc ) goto layout_error;

  /* The maps in (layer, head) order, the distinct layers and heads. */
  p->aOrder = attn_malloc((uint64_t)p->nMap*sizeof(int));
  aTmp = attn_malloc((uint64_t)p->nMap*sizeof(int64_t));
  if( p->aOrder==0 || aTmp==0 ){ rc = ATTN_NOMEM; goto layout_error; }
  explorerSortMaps(p);
  for(i=0; i<p->nMap; i++) aTmp[i] = p->aMap[p->aOrder[i]].layer;
  if( (rc = explorerDistinct(aTmp, p->nMap, &p->aLayer, &p->nLayer)) ){
    goto layout_error;
  }
  for(i=0; i<p->nMap; i++) aTmp[i] = p->aMap[i].head;
  qsort(aTmp, (size_t)p->nMap, sizeof(int64_t), attn_pic_pos_cmp);
  if( (rc = explorerDistinct(aTmp, p->nMap, &p->aHead, &p->nHead)) ){
    goto layout_error;
  }
  /* nLayer*nHead <= nMap^2 <= 2^24 cells. */
  p->aGrid = attn_malloc((uint64_t)(p->nLayer*p->nHead)*sizeof(int));
  if( p->aGrid==0 ){ rc = ATTN_NOMEM; goto layout_error; }
  for(i=0; i<p->nLayer*p->nHead; i++) p->aGrid[i] = -1;
  for(i=0; i<p->nMap; i++){
    ExplorerMap *m = &p->aMap[p->aOrder[i]];
    m->iLayer = attn_pic_find(p->aLayer, p->nLayer, m->layer);
    m->iHead = attn_pic_find(p->aHead, p->nHead, m->head);
    p->aGrid[m->iLayer*p->nHead + m->iHead] = (int)i;
  }

  /* Bin every map, full size and small. */
  nCell = p->ax[0].nBin*p->ax[1].nBin;        /* at most 512*512 */
  aSum = attn_malloc((uint64_t)nCell*sizeof(double));
  aCnt = attn_malloc((uint64_t)nCell*sizeof(uint32_t));
  if( aSum==0 || aCnt==0 ){ rc = ATTN_NOMEM; goto layout_error; }
  for(i=0; i<p->nMap; i++){
    ExplorerMap *m = &p->aMap[p->aOrder[i]];
    double mx = fabs(m->wMin)>fabs(m->wMax) ? fabs(m->wMin) : fabs(m->wMax);
    m->e = 0;
    if( mx>0.0 ) frexp(mx, &m->e);          /* mx < 2^e */
    if( (p->ax[0].nPool>1 || p->ax[1].nPool>1)
     && (rc = explorerCheckPooled(p, m, pErr)) ){
      goto layout_failed;
    }
    rc = explorerBin(p, m, 0, aSum, aCnt, &m->aBin, &m->nAbsent, pErr);
    if( rc==ATTN_OK ){
      rc = explorerBin(p, m, 1, aSum, aCnt, &m->aThumb, 0, pErr);
    }
    if( rc ) goto layout_failed;
    mapFreeRows(m);
  }
  attn_free(aSum);
  attn_free(aCnt);
  attn_free(aTmp);
  aSum = 0; aCnt = 0; aTmp = 0;

  /* Measure the document. */
  memset(&b, 0, sizeof(b));
  b.bMeasure = 1;
  explorerWriteDoc(p, &b);
  if( b.rc ){
    rc = b.rc;
    goto layout_error;
  }
  p->nByte = b.n;
  p->bLaidOut = 1;
  *pnByte = p->nByte;
  return ATTN_OK;

layout_error:
  if( rc==ATTN_NOMEM ){
    attn_err_nomem(pErr);
  }else{
    attn_err_set(pErr, rc, "the explorer would be more than %llu bytes",
                 (unsigned long long)ATTN_MAX_ALLOC);
  }
layout_failed:
  attn_free(aSum);
  attn_free(aCnt);
  attn_free(aTmp);
  return rc;
}

/*
** The writer.
*/

/* Base64 (RFC 4648, with padding) of a[0..n) into b. */
static void explorerBase64(attn_pbuf *b, const unsigned char *a, uint64_t n){
  static const char zAlpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char zOut[4096];
  int nOut = 0;
  uint64_t i;
  if( b->bMeasure ){
    attn_pbuf_append(b, 0, 4*((n+2)/3));
    return;
  }
  for(i=0; i+2<n; i+=3){
    uint32_t v = ((uint32_t)a[i]<<16) | ((uint32_t)a[i+1]<<8) | a[i+2];
    zOut[nOut++] = zAlpha[v>>18];
    zOut[nOut++] = zAlpha[(v>>12)&63];
    zOut[nOut++] = zAlpha[(v>>6)&63];
    zOut[nOut++] = zAlpha[v&63];
    if( nOut==(int)sizeof(zOut) ){
      attn_pbuf_append(b, zOut, (uint64_t)nOut);
      nOut = 0;
    }
  }
  if( i<n ){
    uint32_t v = (uint32_t)a[i]<<16;
    if( i+1<n ) v |= (uint32_t)a[i+1]<<8;
    zOut[nOut++] = zAlpha[v>>18];
    zOut[nOut++] = zAlpha[(v>>12)&63];
    zOut[nOut++] = i+1<n ? zAlpha[(v>>6)&63] : '=';
    zOut[nOut++] = '=';
  }
  attn_pbuf_append(b, zOut, (uint64_t)nOut);
}

/* Float16 values a[0..n) as base64 of their little-endian bytes. */
static void explorerHalves(attn_pbuf *b, const uint16_t *a, int64_t n){
  unsigned char aByte[3072];
  int64_t i = 0;
  if( b->bMeasure ){
    explorerBase64(b, 0, 2*(uint64_t)n);
    return;
  }
  /* Chunks of 1536 values, a multiple of 3 bytes: no padding between. */
  while( i<n ){
    int64_t j, nChunk = n-i<1536 ? n-i : 1536;
    for(j=0; j<nChunk; j++){
      aByte[2*j] = (unsigned char)(a[i+j] & 0xff);
      aByte[2*j+1] = (unsigned char)(a[i+j] >> 8);
    }
    explorerBase64(b, aByte, 2*(uint64_t)nChunk);
    i += nChunk;
  }
}

/* "'sha256-...'" of the NUL-terminated z. */
static void explorerHashSource(attn_pbuf *b, const char *z){
  unsigned char aHash[32];
  attn_sha256(z, strlen(z), aHash);
  attn_pbuf_str(b, "'sha256-");
  explorerBase64(b, aHash, 32);
  attn_pbuf_str(b, "'");
}

/* A JSON number (finite). */
static void explorerJsonNum(attn_pbuf *b, double w){
  char z[40];
  attn_pbuf_str(b, attn_pic_num(w, 17, z));
}

/* A JSON string of label z[0..n) shown in mxCol columns. */
static void explorerJsonLabel(attn_pbuf *b, const char *z, int n, int bCut,
                              int mxCol){
  attn_pbuf_str(b, "\"");
  attn_pic_label(b, z, n, bCut, mxCol, ATTN_PIC_JSON);
  attn_pbuf_str(b, "\"");
}

/* The bins of axis e: ["position", "label", "long label"] each, the label
** of a pooled bin being the number of its first position. */
static void explorerJsonAxis(const attn_explorer *p, int e, attn_pbuf *b){
  const ExplorerAxis *x = &p->ax[e];
  int64_t i;
  attn_pbuf_printf(b, "{\"n\":%llu,\"pool\":%lld,\"tpool\":%lld,"
      "\"tbins\":%lld,\"bins\":[", (unsigned long long)x->nPos,
      (long long)x->nPool, (long long)x->nTPool, (long long)x->nTBin);
  for(i=0; i<x->nBin; i++){
    int64_t pos = x->aSorted[i*x->nPool];
    const attn_label *pLabel = 0;
    char zNum[24];
    int nNum = snprintf(zNum, sizeof(zNum), "%lld", (long long)pos);
    if( x->nPool==1 ) pLabel = attn_labels_find(&x->labels, pos);
    attn_pbuf_printf(b, "%s[\"%s\",", i ? "," : "", zNum);
    if( pLabel ){
      const char *z = x->labels.pool.z + pLabel->iOff;
      explorerJsonLabel(b, z, pLabel->nByte, pLabel->bCut,
                        ATTN_EXPLORER_LABEL_COLS);
      attn_pbuf_str(b, ",");
      explorerJsonLabel(b, z, pLabel->nByte, pLabel->bCut,
                        ATTN_EXPLORER_TIP_COLS);
    }else{
      explorerJsonLabel(b, zNum, nNum, 0, ATTN_EXPLORER_LABEL_COLS);
      attn_pbuf_str(b, ",null");
    }
    attn_pbuf_str(b, "]");
  }
  attn_pbuf_str(b, "]}");
}

static void explorerJson(const attn_explorer *p, attn_pbuf *b){
  int64_t i;
  attn_pbuf_printf(b, "{\"version\":1,\"rows\":%lld,\"max\":%d,\"thumb\":%d,"
      "\"opacity\":\"%s\",\"absent\":\"" ATTN_PIC_ABSENT "\",\"axes\":[",
      (long long)p->nRow, ATTN_EXPLORER_MAX, ATTN_EXPLORER_THUMB,
      p->bProb ? "weight" : "scale");
  explorerJsonAxis(p, 0, b);
  attn_pbuf_str(b, ",");
  explorerJsonAxis(p, 1, b);
  attn_pbuf_str(b, "],\"layers\":");
  if( p->bLayer ){
    for(i=0; i<p->nLayer; i++){
      attn_pbuf_printf(b, "%s\"%lld\"", i ? "," : "[", (long long)p->aLayer[i]);
    }
    attn_pbuf_str(b, "]");
  }else{
    attn_pbuf_str(b, "null");
  }
  for(i=0; i<p->nHead; i++){
    attn_pbuf_printf(b, "%s\"%lld\"", i ? "," : ",\"heads\":[",
                     (long long)p->aHead[i]);
  }
  attn_pbuf_str(b, "],\"maps\":[");
  for(i=0; i<p->nMap; i++){
    const ExplorerMap *m = &p->aMap[p->aOrder[i]];
    double lo, hi;
    attn_pic_range(m->wMin, m->wMax, &lo, &hi);
    attn_pbuf_printf(b, "%s{\"layer\":%lld,\"head\":%lld,\"rows\":%lld,"
        "\"absent\":%lld,\"e\":%d,\"min\":", i ? "," : "",
        (long long)m->iLayer, (long long)m->iHead, (long long)m->nRow,
        (long long)m->nAbsent, m->e);
    explorerJsonNum(b, m->wMin);
    attn_pbuf_str(b, ",\"max\":");
    explorerJsonNum(b, m->wMax);
    attn_pbuf_str(b, ",\"lo\":");
    explorerJsonNum(b, lo);
    attn_pbuf_str(b, ",\"hi\":");
    explorerJsonNum(b, hi);
    attn_pbuf_str(b, "}");
  }
  attn_pbuf_str(b, "],\"palette\":[");
  for(i=0; i<8; i++){
    attn_pbuf_printf(b, "%s\"%s\"", i ? "," : "", azPalette[i]);
  }
  attn_pbuf_str(b, "],\"viridis\":\"");
  for(i=0; i<256; i++) attn_pbuf_printf(b, "%06x", (unsigned)attn_viridis[i]);
  attn_pbuf_str(b, "\"}");
}

static const char *explorerPlural(int64_t n, const char *zOne,
                                  const char *zMany){
  return n==1 ? zOne : zMany;
}

static void explorerWriteDoc(attn_explorer *p, attn_pbuf *b){
  int64_t i, nQ = (int64_t)p->ax[0].nPos, nK = (int64_t)p->ax[1].nPos;
  char zTitle[200];
  int n = snprintf(zTitle, sizeof(zTitle), "Attention explorer: %lld %s "
      "\xc3\x97 %lld %s, %lld %s", (long long)nQ,
      explorerPlural(nQ, "query", "queries"), (long long)nK,
      explorerPlural(nK, "key", "keys"), (long long)p->nHead,
      explorerPlural(p->nHead, "head", "heads"));
  if( p->bLayer ){
    snprintf(zTitle+n, sizeof(zTitle)-(size_t)n, ", %lld %s",
             (long long)p->nLayer, explorerPlural(p->nLayer, "layer", "layers"));
  }
  attn_pbuf_str(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
      "<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
      "'none'; script-src ");
  explorerHashSource(b, zExplorerScript);
  attn_pbuf_str(b, "; style-src ");
  explorerHashSource(b, zExplorerStyle);
  attn_pbuf_str(b, "; img-src 'none'; base-uri 'none'; form-action 'none'\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, "
      "initial-scale=1\">\n<meta name=\"generator\" content=\"sqlite-attention "
      "attn_explorer()\">\n<title>");
  attn_pbuf_str(b, zTitle);
  attn_pbuf_str(b, "</title>\n<style>");
  attn_pbuf_str(b, zExplorerStyle);
  attn_pbuf_str(b, "</style>\n</head>\n<body>\n<main id=\"app\" "
      "aria-busy=\"true\"><h1>Attention explorer</h1><noscript><p>This page draws the attention maps with "
      "its inline script: allow JavaScript for this file.</p></noscript>"
      "</main>\n<script type=\"application/json\" id=\"attn-data\">");
  explorerJson(p, b);
  attn_pbuf_str(b, "</script>\n");
  for(i=0; i<p->nMap; i++){
    const ExplorerMap *m = &p->aMap[p->aOrder[i]];
    attn_pbuf_printf(b, "<script type=\"application/octet-stream\" "
        "id=\"attn-map-%lld\">", (long long)i);
    explorerHalves(b, m->aBin, p->ax[0].nBin*p->ax[1].nBin);
    attn_pbuf_str(b, "</script>\n");
  }
  attn_pbuf_str(b, "<script type=\"application/octet-stream\" "
      "id=\"attn-thumbs\">");
  for(i=0; i<p->nMap; i++){
    /* Each map's bins, base64 on its own so the script can cut the text:
    ** nTBin[0]*nTBin[1] halves are 4*ceil(2*n/3) characters. */
    const ExplorerMap *m = &p->aMap[p->aOrder[i]];
    explorerHalves(b, m->aThumb, p->ax[0].nTBin*p->ax[1].nTBin);
  }
  attn_pbuf_str(b, "</script>\n<script>");
  attn_pbuf_str(b, zExplorerScript);
  attn_pbuf_str(b, "</script>\n</body>\n</html>\n");
}

int attn_explorer_write(attn_explorer *p, char **pz, int64_t *pn,
                        attn_err *pErr){
  attn_pbuf b;
  memset(&b, 0, sizeof(b));
  if( !p->bLaidOut ){
    return attn_err_set(pErr, ATTN_ERROR, "the explorer is not laid out");
  }
  /* One allocation of the measured size: no copies while growing. */
  b.z = attn_malloc(p->nByte+1);
  if( b.z==0 ) return attn_err_nomem(pErr);
  b.nAlloc = p->nByte+1;
  b.z[0] = 0;
  explorerWriteDoc(p, &b);
  if( b.rc==ATTN_OK && b.n!=p->nByte ){
    attn_free(b.z);
    return attn_err_set(pErr, ATTN_ERROR, "the explorer wrote %llu bytes, "
        "not the %llu it measured", (unsigned long long)b.n,
        (unsigned long long)p->nByte);
  }
  return attn_pbuf_finish(&b, pz, pn, pErr);
}
