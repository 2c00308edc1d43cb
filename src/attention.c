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
**   3. project the rows in sorted order, in tasks of ATTN_BLOCK_Q rows
**      (on the worker threads when there is a weight or RoPE); each
**      task multiplies its rows by the weight (the kernel's blocked GEMM),
**      adds the bias, and while the rows are in cache applies RoPE and
**      folds the scale into Q, or applies RoPE to K and packs it per
**      kv-head into panels (kernels.h), or stores V per kv-head (each
**      head's values contiguous).
** The large buffers come from one allocation advised for huge pages (see
** AttnArena): first touching a dozen separate buffers page by page was a
** large share of the setup time on virtual machines.
**
** Blocks are then computed on demand: a chunk of blocks is split into
** (block, head) tasks for the worker threads, each one call of the kernel's
** flash routine writing that head's rows contiguously; the task finishing a
** block's last head concatenates its heads, applies W_O and scatters the
** rows to input order.  The output of a row does not depend on which thread or chunk
** computed it.
**
** Score rows (attn_scores_*) are computed directly from the packed Q and K of
** one query row, with the same softcap, ALiBi and mask rules as the kernels,
** accumulated in float64.
*/
#include "attention.h"
#include "alloc.h"
#include "kernels.h"
#include "pool.h"
#include "position.h"
#include "threads.h"
#include "utf8.h"
#include "vector.h"
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
# include <sys/mman.h>
#endif

/* What attn_output() knows of a computed row (attn_state.aFix): its float32
** output and lse are finite (OK); some are not, which means no allowed key
** or an overflow, to be told apart (CHECK); or no key (NONE). */
#define ATTN_ROW_OK     0
#define ATTN_ROW_CHECK  1
#define ATTN_ROW_NONE   2

/* Buffer budget for a chunk of blocks computed together, the most blocks
** per thread in a chunk, and the work a chunk aims at (see attnPrepare). */
#define ATTN_CHUNK_BYTES ((uint64_t)16<<20)
#define ATTN_CHUNK_PER_THREAD 8
#define ATTN_CHUNK_FLOP 2e9

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

/* The buffers of a chunk of nCap blocks: per block its heads' outputs and
** log-sum-exps until its output step, its block number and a count of the
** heads still to compute; and the units the chunk's blocks are computed in
** (attnChunkUnits). */
typedef struct AttnChunkBufs AttnChunkBufs;
struct AttnChunkBufs {
  int64_t nCap;                /* blocks */
  float *aCat;                 /* nCap × nHead × ATTN_BLOCK_Q × nDimV */
  float *aCatLse;              /* nCap × ATTN_BLOCK_Q × nHead */
  int64_t *aBlock;             /* nCap */
  atomic_int *anLeft;          /* nCap */
  int64_t *aUnit;              /* nCap+1: first slot of each unit, then the
                               ** end; then nCap+1: first unit of each group */
};

struct attn_state {
  attn_options opt;
  const attn_kernel_set *pKern;
  int nHead, nKvHead;          /* query heads, K/V heads */
  int nDimK, nDimV;            /* per-head widths of q·k and of v */
  int64_t nQ, nK;              /* rows */
  int64_t nQDim, nKDim, nVDim; /* projected widths: heads × per-head width */
  int64_t nWqkv;               /* with wqkv: its columns, the row stride of
                               ** the views wq, wk and wv; else 0 */
  int64_t nCat;                /* nHead × nDimV: the concatenated heads */
  int64_t nOut;                /* output width (after W_O) */
  int64_t *aQOrder, *aQRank;   /* sorted → input, input → sorted */
  int64_t *aKOrder, *aKRank;
  int64_t *aQSeq, *aQPos;      /* per sorted query row */
  int64_t *aKPos;              /* per sorted key row */
  float *aQ;                   /* sorted nQ × nQDim, RoPE'd and scaled */
  float *aKPacked;             /* per kv head: nPanel panels of nDimK×16 */
  int64_t nPanel;              /* panels per kv head */
  float *aV;                   /* per kv head: sorted nK × nDimV */
  /* precision = 'bf16' (kernels.h): K and V as bf16 in place of aKPacked
  ** and aV, every key sequence padded to a multiple of nGrain keys */
  int bBf16;
  int nGrain;                  /* keys per panel: ATTN_PANEL, or ATTN_BF16_KEY_PAD */
  int64_t ldk;                 /* bf16 K: elements per key row */
  int nDvPad;                  /* bf16 V: rows of each sequence's Vᵀ */
  uint16_t *aKB;               /* per kv head: nPanel·nGrain rows of ldk */
  uint16_t *aVtB;              /* per kv head, per sequence: nDvPad rows of
                               ** its keys (padded) */
  float *aWo, *aBo;            /* copies of W_O (nCat × nOut) and b_O */
  int64_t nLeft, nRight;       /* the mask's bounds (kernels.h): key pos in
                               ** [query pos − nLeft, query pos + nRight] */
  double *aSlope;              /* ALiBi slope per head */
  int64_t *aQRef;              /* ALiBi: per sorted query row, the distance
                               ** to its nearest allowed key (kernels.h) */
  float *aSink;                /* sinks: the logit per head, or NULL */
  float *aKBias;               /* per sorted key: its bias, or NULL */
  attn_softcap cap;            /* softcap constants for the kernels */
  AttnBlock *aBlock;           /* blocks in sorted order */
  int64_t nBlock;
  unsigned char *aDone;        /* per block: outputs computed */
  unsigned char *aFix;         /* per query row (input order): ATTN_ROW_* */
  int64_t nChunk;              /* blocks per chunk computed on demand */
  int nUnitMax;                /* blocks per call of the flash kernel */
  int64_t nChunkMax;           /* blocks per run of attn_forward() */
  AttnChunkBufs bufs;          /* for nChunk blocks, in the arena */
  AttnChunkBufs bufsMax;       /* for nChunkMax, by the first attn_forward() */
  void *pBufsMax;              /* their allocation */
  float *aOut;                 /* input order nQ × nOut */
  float *aLse;                 /* input order nQ × nHead */
  float *aScratch;             /* per worker: nScratch floats */
  int64_t nScratch;            /* ATTN_FLASH_SCRATCH(nDimK, nDimV, nUnitMax) */
  float *aWork;                /* per worker: 2 × ATTN_BLOCK_Q × nWork floats */
  int64_t nWork;
  double *aRope;               /* per worker: 2 × nDimK (RoPE cos, sin) */
  attn_threads *pThreads;      /* opt.pThreads, or its own when that is NULL */
  void *pArena;                /* the large buffers, when in one allocation */
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

/* Ask for transparent huge pages on the 2 MiB-aligned inside of a large
** buffer (Linux, where THP is in "madvise" mode): first touching a big
** buffer then costs one fault per 2 MiB instead of one per 4 KiB page,
** which on virtual machines is a large share of the setup time.  Advice
** only: nothing changes if the kernel says no. */
static void attnAdviseHuge(void *p, uint64_t n){
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t sz = (uintptr_t)2<<20;
  uintptr_t a = ((uintptr_t)p + sz-1) & ~(sz-1);
  uintptr_t b = ((uintptr_t)p + n) & ~(sz-1);
  if( b>a ) madvise((void*)a, b-a, MADV_HUGEPAGE);
#else
  (void)p; (void)n;
#endif
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
** The large buffers of a state (Q, packed K, V, outputs, work space) are
** carved from one allocation when their sum is within the allocation limit,
** aligned to 2 MiB and advised for huge pages: one allocation and a few
** huge-page faults instead of a dozen buffers each faulted in 4 KiB at a
** time.  Past the limit, each buffer is allocated on its own as before.
*/
#define ATTN_ARENA_PIECES 13
#define ATTN_ARENA_ALIGN  ((uint64_t)2<<20)
typedef struct AttnArena AttnArena;
struct AttnArena {
  uint64_t aOff[ATTN_ARENA_PIECES];    /* offset of each piece */
  uint64_t aByte[ATTN_ARENA_PIECES];   /* its size */
  uint64_t nTotal;                     /* sum of the sizes, 64-byte rounded */
  int bTooBig;                         /* the sum overflowed */
};

/* Piece i: nElem elements of szElem bytes. */
static void attnArenaAdd(AttnArena *a, int i, uint64_t nElem, uint64_t szElem,
                         int *pRc, attn_err *pErr){
  uint64_t n;
  if( *pRc ) return;
  if( attn_size_mul(nElem, szElem, &n) ){
    *pRc = attn_err_set(pErr, ATTN_TOOBIG, "needs a buffer of %llu × %llu "
        "bytes, more than the %llu-byte limit", (unsigned long long)nElem,
        (unsigned long long)szElem, (unsigned long long)ATTN_MAX_ALLOC);
    return;
  }
  a->aByte[i] = n;
  a->aOff[i] = a->nTotal;
  if( attn_size_add(a->nTotal, (n+63) & ~(uint64_t)63, &a->nTotal) ){
    a->bTooBig = 1;
  }
}

/* The start of the pieces inside the allocation pArena. */
static char *attnArenaBase(void *pArena, const AttnArena *a){
  uintptr_t b = (uintptr_t)pArena;
  if( a->nTotal>=2*ATTN_ARENA_ALIGN ){
    b = (b + ATTN_ARENA_ALIGN-1) & ~(uintptr_t)(ATTN_ARENA_ALIGN-1);
  }
  return (char*)b;
}

/* The single allocation, or NULL (not an error) when the pieces must be
** allocated one by one. */
static void *attnArenaAlloc(AttnArena *a, int *pRc, attn_err *pErr){
  uint64_t n;
  void *pOut;
  if( a->bTooBig || attn_size_add(a->nTotal, a->nTotal>=2*ATTN_ARENA_ALIGN ?
                                   ATTN_ARENA_ALIGN : 0, &n) ){
    return 0;
  }
  pOut = attn_malloc_aligned(n);
  if( pOut==0 ){
    *pRc = attn_err_nomem(pErr);
    return 0;
  }
  attnAdviseHuge(attnArenaBase(pOut, a), a->nTotal);
  return pOut;
}

/* Piece i: inside the arena, or allocated on its own when there is none. */
static void *attnArenaGet(void *pArena, const AttnArena *a, int i, int *pRc,
                          attn_err *pErr){
  if( *pRc ) return 0;
  if( pArena==0 ) return attnAlloc(a->aByte[i], 1, pRc, pErr);
  return attnArenaBase(pArena, a) + a->aOff[i];
}

/* Pieces i..i+4 of an arena: the buffers of a chunk of nCap blocks. */
static void attnChunkBufsAdd(const attn_state *p, AttnArena *a, int i,
                             int64_t nCap, int *pRc, attn_err *pErr){
  attnArenaAdd(a, i, (uint64_t)nCap*ATTN_BLOCK_Q,
               (uint64_t)p->nCat*sizeof(float), pRc, pErr);
  attnArenaAdd(a, i+1, (uint64_t)nCap*ATTN_BLOCK_Q,
               (uint64_t)p->nHead*sizeof(float), pRc, pErr);
  attnArenaAdd(a, i+2, (uint64_t)nCap, sizeof(int64_t), pRc, pErr);
  attnArenaAdd(a, i+3, (uint64_t)nCap, sizeof(atomic_int), pRc, pErr);
  attnArenaAdd(a, i+4, (uint64_t)nCap+1, 2*sizeof(int64_t), pRc, pErr);
}
static void attnChunkBufsGet(void *pArena, const AttnArena *a, int i,
                             int64_t nCap, AttnChunkBufs *pB, int *pRc,
                             attn_err *pErr){
  pB->aCat = (float*)attnArenaGet(pArena, a, i, pRc, pErr);
  pB->aCatLse = (float*)attnArenaGet(pArena, a, i+1, pRc, pErr);
  pB->aBlock = (int64_t*)attnArenaGet(pArena, a, i+2, pRc, pErr);
  pB->anLeft = (atomic_int*)attnArenaGet(pArena, a, i+3, pRc, pErr);
  pB->aUnit = (int64_t*)attnArenaGet(pArena, a, i+4, pRc, pErr);
  pB->nCap = *pRc ? 0 : nCap;
}

/*
** Step 1: configuration.  Every rule on options, dimensions and shapes is
** here, with its message: the option setters (what the SQL binding calls),
** the row validators, and attnConfigure(), which applies the same checks to
** a struct filled in C.
*/

/* The options: name and kind, in ATTN_OPT_* order. */
static const struct AttnOptionDef {
  const char *zName;
  int eKind;
} aAttnOption[ATTN_OPT_COUNT] = {
  { "heads",      ATTN_OPT_INT  },
  { "kv_heads",   ATTN_OPT_INT  },
  { "scale",      ATTN_OPT_REAL },
  { "causal",     ATTN_OPT_BOOL },
  { "window",     ATTN_OPT_INT  },
  { "alibi",      ATTN_OPT_BOOL },
  { "rope",       ATTN_OPT_REAL },
  { "rope_style", ATTN_OPT_TEXT },
  { "softcap",    ATTN_OPT_REAL },
  { "threads",    ATTN_OPT_INT  },
  { "precision",  ATTN_OPT_TEXT },
  { "dtype",      ATTN_OPT_TEXT },
  { "window_left",  ATTN_OPT_INT },
  { "window_right", ATTN_OPT_INT },
};

const char *attn_option_name(int iOpt){
  return iOpt>=0 && iOpt<ATTN_OPT_COUNT ? aAttnOption[iOpt].zName : 0;
}
int attn_option_kind(int iOpt){
  return iOpt>=0 && iOpt<ATTN_OPT_COUNT ? aAttnOption[iOpt].eKind : -1;
}

void attn_options_init(attn_options *pOpt){
  memset(pOpt, 0, sizeof(*pOpt));
  pOpt->nHead = 1;
  pOpt->nThread = 1;
}

/* zName is v, expected lo to hi. */
static int attnCheckRange(const char *zName, int64_t v, int64_t lo,
                          int64_t hi, attn_err *pErr){
  if( v<lo || v>hi ){
    return attn_err_set(pErr, ATTN_ERROR, "%s is %lld, expected %lld to %lld",
                        zName, (long long)v, (long long)lo, (long long)hi);
  }
  return ATTN_OK;
}

/* A window, RoPE base or softcap given explicitly (none is the default). */
static int attnCheckWindow(int64_t v, attn_err *pErr){
  if( v<1 ){
    return attn_err_set(pErr, ATTN_ERROR, "window is %lld, expected 1 or more "
                        "(NULL for no window)", (long long)v);
  }
  return ATTN_OK;
}
static int attnCheckSide(const char *zName, int64_t v, attn_err *pErr){
  if( v<0 ){
    return attn_err_set(pErr, ATTN_ERROR, "%s is %lld, expected 0 or more "
                        "(NULL for no bound)", zName, (long long)v);
  }
  return ATTN_OK;
}
static int attnCheckRope(double r, attn_err *pErr){
  if( !(r>0.0) || !isfinite(r) ){
    return attn_err_set(pErr, ATTN_ERROR, "rope is %g, expected a positive "
                        "base such as 10000 (NULL for no RoPE)", r);
  }
  return ATTN_OK;
}
static int attnCheckSoftcap(double r, attn_err *pErr){
  if( !(r>0.0) || !isfinite(r) ){
    return attn_err_set(pErr, ATTN_ERROR, "softcap is %g, expected a positive "
                        "number (NULL for none)", r);
  }
  return ATTN_OK;
}

int attn_option_set_int(attn_options *o, int iOpt, int64_t v, attn_err *pErr){
  int rc;
  if( attn_option_kind(iOpt)==ATTN_OPT_BOOL && v!=0 && v!=1 ){
    return attn_err_set(pErr, ATTN_ERROR, "%s is %lld, expected 0 or 1",
                        attn_option_name(iOpt), (long long)v);
  }
  switch( iOpt ){
    case ATTN_OPT_HEADS:
    case ATTN_OPT_KV_HEADS:
      rc = attnCheckRange(attn_option_name(iOpt), v, 1, ATTN_MAX_HEADS, pErr);
      if( rc ) return rc;
      if( iOpt==ATTN_OPT_HEADS ) o->nHead = (int)v; else o->nKvHead = (int)v;
      return ATTN_OK;
    case ATTN_OPT_THREADS:
      rc = attnCheckRange("threads", v, 1, ATTN_MAX_THREADS, pErr);
      if( rc==ATTN_OK ) o->nThread = (int)v;
      return rc;
    case ATTN_OPT_WINDOW:
      rc = attnCheckWindow(v, pErr);
      if( rc==ATTN_OK ) o->nWindow = v;
      return rc;
    case ATTN_OPT_WINDOW_LEFT:
    case ATTN_OPT_WINDOW_RIGHT:
      rc = attnCheckSide(attn_option_name(iOpt), v, pErr);
      if( rc ) return rc;
      if( iOpt==ATTN_OPT_WINDOW_LEFT ){
        o->bWindowLeft = 1;
        o->nWindowLeft = v;
      }else{
        o->bWindowRight = 1;
        o->nWindowRight = v;
      }
      return ATTN_OK;
    case ATTN_OPT_CAUSAL: o->bCausal = (int)v; return ATTN_OK;
    case ATTN_OPT_ALIBI:  o->bAlibi = (int)v;  return ATTN_OK;
  }
  return attn_err_set(pErr, ATTN_ERROR, "%s is not an integer option",
                      attn_option_name(iOpt) ? attn_option_name(iOpt) : "?");
}

int attn_option_set_real(attn_options *o, int iOpt, double r, attn_err *pErr){
  int rc;
  if( !isfinite(r) ){
    return attn_err_set(pErr, ATTN_ERROR, "%s is not finite, expected a "
        "finite number", attn_option_name(iOpt) ? attn_option_name(iOpt) : "?");
  }
  switch( iOpt ){
    case ATTN_OPT_SCALE:
      o->bScale = 1;
      o->rScale = r;
      return ATTN_OK;
    case ATTN_OPT_ROPE:
      rc = attnCheckRope(r, pErr);
      if( rc==ATTN_OK ) o->rRopeBase = r;
      return rc;
    case ATTN_OPT_SOFTCAP:
      rc = attnCheckSoftcap(r, pErr);
      if( rc==ATTN_OK ) o->rSoftcap = r;
      return rc;
  }
  return attn_err_set(pErr, ATTN_ERROR, "%s is not a number option",
                      attn_option_name(iOpt) ? attn_option_name(iOpt) : "?");
}

int attn_option_set_text(attn_options *o, int iOpt, const char *z, int64_t n,
                         attn_err *pErr){
  return attn_option_set_word(o, iOpt, ATTN_KIND_TEXT, z, n, pErr);
}

int attn_option_set_word(attn_options *o, int iOpt, int eKind, const char *z,
                         int64_t n, attn_err *pErr){
  if( iOpt==ATTN_OPT_PRECISION || iOpt==ATTN_OPT_DTYPE
   || iOpt==ATTN_OPT_ROPE_STYLE ){
    static const char *const azPrec[] = { "fp32", "bf16" };
    static const int aPrec[] = { ATTN_PRECISION_FP32, ATTN_PRECISION_BF16 };
    int rc = iOpt==ATTN_OPT_DTYPE
           ? attn_vec_dtype(eKind, z, n, &o->eDtype, pErr)
           : iOpt==ATTN_OPT_ROPE_STYLE
           ? attn_rope_style(eKind, z, n, &o->eRopeStyle, pErr)
           : attn_word_choice(eKind, z, n, azPrec, aPrec, 2, &o->ePrecision,
                              pErr);
    if( rc ){
      /* Complete the parser's predicate with the option's name. */
      attn_err e = *pErr;
      return attn_err_set(pErr, rc, "%s %s", attn_option_name(iOpt), e.zMsg);
    }
    return ATTN_OK;
  }
  return attn_err_set(pErr, ATTN_ERROR, "%s is not a text option",
                      attn_option_name(iOpt) ? attn_option_name(iOpt) : "?");
}

int attn_check_dim(int64_t n, attn_err *pErr){
  if( n<1 ){
    return attn_err_set(pErr, ATTN_ERROR, "has %lld dimensions, expected at "
                        "least 1", (long long)n);
  }
  if( n>ATTN_MAX_DIM ){
    return attn_err_set(pErr, ATTN_ERROR, "has %lld dimensions, more than the "
                        "maximum %d", (long long)n, ATTN_MAX_DIM);
  }
  return ATTN_OK;
}

int attn_check_bias(double r, attn_err *pErr){
  if( !(fabs(r)<=FLT_MAX) ){
    return attn_err_set(pErr, ATTN_ERROR, "is %g, expected a finite number "
                        "within float32's range", r);
  }
  return ATTN_OK;
}

int attn_check_pos(int64_t iPos, attn_err *pErr){
  if( iPos>ATTN_MAX_POS || iPos<-ATTN_MAX_POS ){
    return attn_err_set(pErr, ATTN_ERROR, "is %lld, expected -2^53 to 2^53",
                        (long long)iPos);
  }
  return ATTN_OK;
}

/* Where one side's projected width comes from, for messages: "wq is 120 ×
** 360", or "of the query inputs, with no wq". */
static void attnDescribe(char *zOut, size_t nOut, const attn_tensor *w,
                         const char *zW, const char *zSide, int64_t nIn,
                         int64_t nCol){
  if( w->a ){
    snprintf(zOut, nOut, "%s is %lld × %lld", zW, (long long)nIn,
             (long long)nCol);
  }else{
    snprintf(zOut, nOut, "of the %s inputs, with no %s", zSide, zW);
  }
}

/* The output width of weight w applied to nIn-wide rows (nIn when absent),
** at most nMax.  zRows says what the rows are ("the input dimension"). */
static int attnWeightCols(const attn_tensor *w, int64_t nIn, const char *zName,
                          const char *zRows, int64_t nMax, int64_t *pnCol,
                          attn_err *pErr){
  if( w->a==0 ){
    *pnCol = nIn;
    return ATTN_OK;
  }
  if( w->n<=0 || w->n%nIn!=0 ){
    return attn_err_set(pErr, ATTN_ERROR, "%s has %lld elements, not a "
        "multiple of %s %lld (%s must have %lld rows)", zName, (long long)w->n,
        zRows, (long long)nIn, zName, (long long)nIn);
  }
  *pnCol = w->n/nIn;
  if( *pnCol>nMax ){
    return attn_err_set(pErr, ATTN_ERROR, "%s has %lld columns, more than "
        "the maximum %lld", zName, (long long)*pnCol, (long long)nMax);
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

/* The input dimension of one side. */
static int attnCheckInput(const char *zSide, int64_t n, attn_err *pErr){
  attn_err e;
  if( attn_check_dim(n, &e) ){
    return attn_err_set(pErr, e.rc, "the %s inputs %s", zSide, e.zMsg);
  }
  return ATTN_OK;
}

/* The packed projections: wqkv excludes wq, wk and wv, bqkv excludes bq,
** bk and bv. */
static int attnCheckPacked(const attn_input *pIn, attn_err *pErr){
  static const char *const azPart[2][3] = {{ "wq", "wk", "wv" },
                                           { "bq", "bk", "bv" }};
  const attn_tensor *aPacked[2] = { &pIn->wqkv, &pIn->bqkv };
  const attn_tensor *aPart[2][3] = {{ &pIn->wq, &pIn->wk, &pIn->wv },
                                    { &pIn->bq, &pIn->bk, &pIn->bv }};
  int i, j;
  for(i=0; i<2; i++){
    for(j=0; j<3 && aPacked[i]->a; j++){
      if( aPart[i][j]->a==0 ) continue;
      return attn_err_set(pErr, ATTN_ERROR, "%s and %s are both given, "
          "expected one of them: %s packs %s, %s and %s", i ? "bqkv" : "wqkv",
          azPart[i][j], i ? "bqkv" : "wqkv", azPart[i][0], azPart[i][1],
          azPart[i][2]);
    }
  }
  return ATTN_OK;
}

/* wqkv (d_in × (q_out + 2·kv_out), each row Q | K | V) as the three views
** wq, wk and wv: each starts at its first column and is read with a row
** stride of the packed width (p->nWqkv); its n is d_in × its columns, as
** for a matrix of its own (the shape checks below divide it by d_in). */
static int attnSplitWeight(attn_state *p, attn_input *pIn, attn_err *pErr){
  const attn_tensor *w = &pIn->wqkv;
  int64_t nIn = pIn->nXq, nCol, nDim, nQ, nKv;
  int nPart = p->nHead + 2*p->nKvHead, rc;
  if( w->a==0 ) return ATTN_OK;
  if( pIn->nXk!=nIn || pIn->nXv!=nIn ){
    return attn_err_set(pErr, ATTN_ERROR, "wqkv needs query, key and value "
        "inputs of one dimension, found %lld, %lld and %lld: give wq, wk and "
        "wv instead", (long long)nIn, (long long)pIn->nXk,
        (long long)pIn->nXv);
  }
  rc = attnWeightCols(w, nIn, "wqkv", "the input dimension", 3*ATTN_MAX_DIM,
                      &nCol, pErr);
  if( rc ) return rc;
  if( nCol%nPart!=0 ){
    return attn_err_set(pErr, ATTN_ERROR, "wqkv is %lld × %lld, expected a "
        "multiple of heads + 2·kv_heads = %d columns: Q | K | V, with heads "
        "(%d) query heads and kv_heads (%d) key and value heads of one head "
        "dimension", (long long)nIn, (long long)nCol, nPart, p->nHead,
        p->nKvHead);
  }
  nDim = nCol/nPart;
  nQ = nDim*p->nHead;
  nKv = nDim*p->nKvHead;
  pIn->wq.a = w->a;            pIn->wq.n = nIn*nQ;
  pIn->wk.a = w->a + nQ;       pIn->wk.n = nIn*nKv;
  pIn->wv.a = w->a + nQ + nKv; pIn->wv.n = nIn*nKv;
  p->nWqkv = nCol;
  return ATTN_OK;
}

/* bqkv (b_Q | b_K | b_V) as the three biases, once the projections'
** widths are known. */
static int attnSplitBias(const attn_state *p, attn_input *pIn,
                         attn_err *pErr){
  const attn_tensor *b = &pIn->bqkv;
  if( b->a==0 ) return ATTN_OK;
  if( b->n!=p->nQDim + p->nKDim + p->nVDim ){
    return attn_err_set(pErr, ATTN_ERROR, "bqkv has %lld elements, expected "
        "%lld: b_Q | b_K | b_V, the query, key and value dimensions %lld + "
        "%lld + %lld", (long long)b->n,
        (long long)(p->nQDim + p->nKDim + p->nVDim), (long long)p->nQDim,
        (long long)p->nKDim, (long long)p->nVDim);
  }
  pIn->bq.a = b->a;                       pIn->bq.n = p->nQDim;
  pIn->bk.a = b->a + p->nQDim;            pIn->bk.n = p->nKDim;
  pIn->bv.a = b->a + p->nQDim + p->nKDim; pIn->bv.n = p->nVDim;
  return ATTN_OK;
}

/* The window's two forms: window, or window_left and window_right. */
static int attnCheckWindows(const attn_options *o, attn_err *pErr){
  int rc;
  if( o->nWindow!=0 && (o->bWindowLeft || o->bWindowRight) ){
    return attn_err_set(pErr, ATTN_ERROR, "window and %s are both given, "
        "expected one form: window w is window_left = window_right = w − 1",
        o->bWindowLeft ? "window_left" : "window_right");
  }
  if( o->bWindowLeft
   && (rc = attnCheckSide("window_left", o->nWindowLeft, pErr))!=0 ){
    return rc;
  }
  if( o->bWindowRight
   && (rc = attnCheckSide("window_right", o->nWindowRight, pErr))!=0 ){
    return rc;
  }
  return ATTN_OK;
}

/* A vector of one number per query head (alibi_slopes, ...): nHead
** finite numbers, >= 0 when bNonNeg. */
static int attnHeadVector(const attn_tensor *t, const char *zName, int nHead,
                          int bNonNeg, attn_err *pErr){
  int64_t i;
  if( t->a==0 ) return ATTN_OK;
  if( t->n!=nHead ){
    return attn_err_set(pErr, ATTN_ERROR, "%s has %lld elements, expected "
        "%d (one per query head)", zName, (long long)t->n, nHead);
  }
  for(i=0; i<t->n; i++){
    if( !isfinite(t->a[i]) || (bNonNeg && t->a[i]<0.0f) ){
      return attn_err_set(pErr, ATTN_ERROR, "%s element %lld (head %lld) is "
          "%g, expected a finite number%s", zName, (long long)i,
          (long long)i, (double)t->a[i], bNonNeg ? " >= 0" : "");
    }
  }
  return ATTN_OK;
}

/* The keys' biases (attn_check_bias), naming the key row. */
static int attnCheckKeyBias(const attn_input *pIn, attn_err *pErr){
  int64_t j;
  for(j=0; pIn->aBiasK && j<pIn->nKey; j++){
    attn_err e;
    if( attn_check_bias(pIn->aBiasK[j], &e) ){
      return attn_err_set(pErr, e.rc, "key row %lld: bias %s",
                          (long long)j+1, e.zMsg);
    }
  }
  return ATTN_OK;
}

/* Check everything and work out the shapes.  pIn is the state's copy of
** the caller's input: the packed projections become views in it. */
static int attnConfigure(attn_state *p, attn_input *pIn, attn_err *pErr){
  const attn_options *o = &p->opt;
  char zQ[96], zK[96], zV[96];
  int64_t nCol;
  int rc;
  if( pIn->nQuery<0 || pIn->nQuery>ATTN_MAX_ROWS
   || pIn->nKey<0 || pIn->nKey>ATTN_MAX_ROWS ){
    return attn_err_set(pErr, ATTN_TOOBIG, "has %lld query rows and %lld key "
        "rows, expected at most %lld of each", (long long)pIn->nQuery,
        (long long)pIn->nKey, (long long)ATTN_MAX_ROWS);
  }
  if( (rc = attnCheckInput("query", pIn->nXq, pErr))!=0 ) return rc;
  if( (rc = attnCheckInput("key", pIn->nXk, pErr))!=0 ) return rc;
  if( (rc = attnCheckInput("value", pIn->nXv, pErr))!=0 ) return rc;
  if( (rc = attnCheckRange("heads", o->nHead, 1, ATTN_MAX_HEADS, pErr))!=0 ){
    return rc;
  }
  if( o->nKvHead<1 || o->nKvHead>o->nHead || o->nHead%o->nKvHead!=0 ){
    if( o->nKvHead<1 || o->nKvHead>ATTN_MAX_HEADS ){
      return attnCheckRange("kv_heads", o->nKvHead, 1, ATTN_MAX_HEADS, pErr);
    }
    return attn_err_set(pErr, ATTN_ERROR, "kv_heads is %d, expected a "
        "divisor of heads (%d)", o->nKvHead, o->nHead);
  }
  rc = attnCheckRange("threads", o->nThread, 1, ATTN_MAX_THREADS, pErr);
  if( rc ) return rc;
  if( o->bScale && !isfinite(o->rScale) ){
    return attn_err_set(pErr, ATTN_ERROR, "scale is not finite, expected a "
                        "finite number");
  }
  if( o->nWindow!=0 && (rc = attnCheckWindow(o->nWindow, pErr))!=0 ) return rc;
  if( (rc = attnCheckWindows(o, pErr))!=0 ) return rc;
  if( o->rSoftcap!=0.0 && (rc = attnCheckSoftcap(o->rSoftcap, pErr))!=0 ){
    return rc;
  }
  if( o->rRopeBase!=0.0 && (rc = attnCheckRope(o->rRopeBase, pErr))!=0 ){
    return rc;
  }
  if( o->ePrecision!=ATTN_PRECISION_FP32 && o->ePrecision!=ATTN_PRECISION_BF16 ){
    return attn_err_set(pErr, ATTN_ERROR, "precision is %d, expected %d "
        "(fp32) or %d (bf16)", o->ePrecision, ATTN_PRECISION_FP32,
        ATTN_PRECISION_BF16);
  }
  if( o->eDtype!=ATTN_VEC_F32 && o->eDtype!=ATTN_VEC_F16
   && o->eDtype!=ATTN_VEC_BF16 ){
    return attn_err_set(pErr, ATTN_ERROR, "dtype is %d, expected %d (f32), "
        "%d (f16) or %d (bf16)", o->eDtype, ATTN_VEC_F32, ATTN_VEC_F16,
        ATTN_VEC_BF16);
  }
  if( o->eRopeStyle!=ATTN_ROPE_NEOX && o->eRopeStyle!=ATTN_ROPE_INTERLEAVED ){
    return attn_err_set(pErr, ATTN_ERROR, "rope style %d is unknown, expected "
        "%d (neox) or %d (interleaved)", o->eRopeStyle, ATTN_ROPE_NEOX,
        ATTN_ROPE_INTERLEAVED);
  }
  p->nHead = o->nHead;
  p->nKvHead = o->nKvHead;
  rc = attnHeadVector(&pIn->alibiSlopes, "alibi_slopes", p->nHead, 1, pErr);
  if( rc==ATTN_OK ) rc = attnHeadVector(&pIn->sinks, "sinks", p->nHead, 0, pErr);
  if( rc==ATTN_OK ) rc = attnCheckKeyBias(pIn, pErr);
  if( rc ) return rc;
  p->nQ = pIn->nQuery;
  p->nK = pIn->nKey;

  /* Shapes.  A message names the argument whose shape is wrong and the
  ** shape it should have (issue 13, finding 17). */
  if( (rc = attnCheckPacked(pIn, pErr))!=0 ) return rc;
  if( (rc = attnSplitWeight(p, pIn, pErr))!=0 ) return rc;
  rc = attnWeightCols(&pIn->wq, pIn->nXq, "wq", "the input dimension",
                      ATTN_MAX_DIM, &p->nQDim, pErr);
  if( rc==ATTN_OK ){
    rc = attnWeightCols(&pIn->wk, pIn->nXk, "wk", "the input dimension",
                        ATTN_MAX_DIM, &p->nKDim, pErr);
  }
  if( rc==ATTN_OK ){
    rc = attnWeightCols(&pIn->wv, pIn->nXv, "wv", "the input dimension",
                        ATTN_MAX_DIM, &p->nVDim, pErr);
  }
  if( rc ) return rc;
  attnDescribe(zQ, sizeof(zQ), &pIn->wq, "wq", "query", pIn->nXq, p->nQDim);
  attnDescribe(zK, sizeof(zK), &pIn->wk, "wk", "key", pIn->nXk, p->nKDim);
  attnDescribe(zV, sizeof(zV), &pIn->wv, "wv", "value", pIn->nXv, p->nVDim);
  if( p->nQDim%p->nHead!=0 ){
    return attn_err_set(pErr, ATTN_ERROR, "heads (%d) does not divide the "
        "query dimension %lld (%s): expected %s with a multiple of %d "
        "columns, or heads dividing %lld", p->nHead, (long long)p->nQDim, zQ,
        pIn->wq.a ? "wq" : "a wq", p->nHead, (long long)p->nQDim);
  }
  p->nDimK = (int)(p->nQDim/p->nHead);
  if( p->nKDim!=(int64_t)p->nDimK*p->nKvHead ){
    long long nWant = (long long)p->nDimK*p->nKvHead;
    if( pIn->wk.a ){
      rc = attn_err_set(pErr, ATTN_ERROR, "wk is %lld × %lld, expected %lld "
          "× %lld: kv_heads (%d) × the head dimension %d (query dimension "
          "%lld ÷ heads %d)", (long long)pIn->nXk, (long long)p->nKDim,
          (long long)pIn->nXk, nWant, p->nKvHead, p->nDimK,
          (long long)p->nQDim, p->nHead);
    }else{
      rc = attn_err_set(pErr, ATTN_ERROR, "the key dimension is %lld (%s), "
          "expected %lld: kv_heads (%d) × the head dimension %d (query "
          "dimension %lld ÷ heads %d); give wk as %lld × %lld",
          (long long)p->nKDim, zK, nWant, p->nKvHead, p->nDimK,
          (long long)p->nQDim, p->nHead, (long long)pIn->nXk, nWant);
    }
    if( pIn->wq.a && p->nQDim==3*p->nKDim ){
      /* A packed projection (q, k and v side by side) passed as wq. */
      attn_err e = *pErr;
      rc = attn_err_set(pErr, rc, "%s; or is wq (%lld × %lld, three times "
          "the key columns) a packed (q, k, v) projection? then pass it as "
          "wqkv", e.zMsg, (long long)pIn->nXq, (long long)p->nQDim);
    }
    return rc;
  }
  if( p->nVDim%p->nKvHead!=0 ){
    return attn_err_set(pErr, ATTN_ERROR, "kv_heads (%d) does not divide the "
        "value dimension %lld (%s): expected %s with a multiple of %d columns",
        p->nKvHead, (long long)p->nVDim, zV, pIn->wv.a ? "wv" : "a wv",
        p->nKvHead);
  }
  p->nDimV = (int)(p->nVDim/p->nKvHead);
  p->nCat = (int64_t)p->nHead*p->nDimV;
  if( o->rRopeBase!=0.0 && p->nDimK%2!=0 ){
    return attn_err_set(pErr, ATTN_ERROR, "rope needs an even head "
        "dimension, found %d (query dimension %lld ÷ heads %d)", p->nDimK,
        (long long)p->nQDim, p->nHead);
  }
  if( (rc = attnSplitBias(p, pIn, pErr))!=0 ) return rc;
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
  rc = attnWeightCols(&pIn->wo, p->nCat, "wo", "the concatenated heads' "
                      "dimension", ATTN_MAX_DIM, &nCol, pErr);
  if( rc ) return rc;
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
    if( aPos && attn_check_pos(aPos[i], pErr) ){
      attn_err e = *pErr;
      attn_free_aligned(a);
      return attn_err_set(pErr, e.rc, "%s row %lld: pos %s", zSide,
                          (long long)i+1, e.zMsg);
    }
  }
  /* Rows often come sorted already (no seq, no pos, or both ascending). */
  for(i=1; i<n && attnKeyCompare(&a[i-1], &a[i])<0; i++){}
  if( i<n ) qsort(a, (size_t)n, sizeof(AttnKey), attnKeyCompare);
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

/* Panels of a key sequence of n keys: ceil(n/nGrain), and in bf16 one more
** when that count is a multiple of 8.  Each row of the transposed V then
** lies an odd number of 64-byte lines, or a multiple of 64 bytes with at
** most 4 as factor, from the next: the 16 rows an AMX tile loads fall in
** at least 16 different sets of the cache, where a power-of-two stride
** (8 KiB at 4096 keys) put them all in one set and cost the value tiles
** about a quarter of their time on the Xeon of docs/performance.md. */
static int64_t attnSeqPanels(const attn_state *p, int64_t n){
  int64_t nPanel = (n + p->nGrain-1)/p->nGrain;
  return p->bBf16 && nPanel%8==0 ? nPanel+1 : nPanel;
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
      p->nPanel += attnSeqPanels(p, j2-j);
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
      iPanel += attnSeqPanels(p, j2-iK);
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
  int eKind;                   /* ATTN_PROJ_Q, _K or _V */
  const float *aX;             /* input rows, nIn wide, input order */
  const float *const *apX;     /* or a pointer per input row (when set) */
  int64_t nIn;
  const int64_t *aOrder;       /* sorted → input row */
  const int64_t *aPos;         /* per sorted row (RoPE) */
  const int64_t *aSlot;        /* K: panel·nGrain + lane per sorted key */
  const int64_t *aKFirst;      /* bf16 V: per sorted key, the first key of
                               ** its sequence, and how many it has */
  const int64_t *aKLen;
  int64_t iFirst, nRow;        /* sorted rows [iFirst, iFirst+nRow) */
  const attn_tensor *pW, *pB;
  int64_t ldw;                 /* floats between rows of pW: nCol, or the
                               ** packed width of wqkv */
  float *aOut;                 /* Q: sorted rows, nCol wide; V: the planes */
  int64_t nCol;
  double rScale;               /* Q: the softmax scale, folded in */
};

/* Input row i (input order) of a projection. */
static const float *attnInRow(const AttnProject *t, int64_t i){
  return t->apX ? t->apX[i] : t->aX + i*t->nIn;
}

/* What happens to the projected rows of a task. */
#define ATTN_PROJ_Q 0          /* RoPE, scale: the rows of aQ */
#define ATTN_PROJ_K 1          /* RoPE, then packed into panels (aKPacked) */
#define ATTN_PROJ_V 2          /* as they are: the rows of aV */

/* The two per-worker buffers of ATTN_BLOCK_Q × nWork floats. */
static float *attnWork(attn_state *p, int iWorker, int i){
  return p->aWork + ((int64_t)iWorker*2 + i)*ATTN_BLOCK_Q*p->nWork;
}

/* Pack n projected key rows (sorted keys [j0, j0+n), ld floats apart, every
** kv head) into their panels, zeroing the lanes past the last key of a
** sequence. */
static void attnPackRows(attn_state *p, const float *aRows, int64_t ld,
                         const int64_t *aSlot, int64_t j0, int64_t n){
  int64_t nPanelFloats = (int64_t)p->nDimK*ATTN_PANEL, i;
  int g, d, l;
  for(i=0; i<n; i++){
    int64_t j = j0+i, iSlot = aSlot[j];
    int iLane = (int)(iSlot%ATTN_PANEL);
    int bLast = j+1==p->nK || aSlot[j+1]!=iSlot+1;
    for(g=0; g<p->nKvHead; g++){
      const float *k = aRows + i*ld + (int64_t)g*p->nDimK;
      float *pan = p->aKPacked + ((int64_t)g*p->nPanel + iSlot/ATTN_PANEL)
                                 *nPanelFloats;
      for(d=0; d<p->nDimK; d++) pan[d*ATTN_PANEL + iLane] = k[d];
      if( bLast ){
        for(d=0; d<p->nDimK; d++){
          for(l=iLane+1; l<ATTN_PANEL; l++) pan[d*ATTN_PANEL + l] = 0.0f;
        }
      }
    }
  }
}

/* The same in bf16, from rows already rounded (xRoundBf16, so attn_bf16
** only takes their high bits): row aSlot[j] of each kv head's aKB.  The
** padding (past the head width, past a sequence's last key) stays the
** zero it was allocated with. */
static void attnPackRowsBf16(attn_state *p, const float *aRows, int64_t ld,
                             const int64_t *aSlot, int64_t j0, int64_t n){
  int64_t i;
  int g, d;
  for(i=0; i<n; i++){
    for(g=0; g<p->nKvHead; g++){
      const float *k = aRows + i*ld + (int64_t)g*p->nDimK;
      uint16_t *row = p->aKB + ((int64_t)g*p->nPanel*p->nGrain
                                + aSlot[j0+i])*p->ldk;
      for(d=0; d<p->nDimK; d++) row[d] = attn_bf16(k[d]);
    }
  }
}

/* V of n (at most ATTN_BLOCK_Q) sorted keys from j0, already rounded
** (xRoundBf16), as bf16, transposed:
** each sequence's block of aVtB holds nDvPad rows of its padded key count
** (kernels.h).  Dimension by dimension, so consecutive keys of a sequence
** are written next to each other rather than a row of V apart. */
static void attnPackValuesBf16(attn_state *p, const AttnProject *t,
                               const float *aRows, int64_t ld, int64_t j0,
                               int64_t n){
  int64_t i, nPerHead = p->nPanel*p->nGrain*p->nDvPad;
  int64_t aOff[ATTN_BLOCK_Q], aPad[ATTN_BLOCK_Q];
  int g, d;
  for(i=0; i<n; i++){
    int64_t j = j0+i, j1 = t->aKFirst[j];
    aPad[i] = attnSeqPanels(p, t->aKLen[j])*p->nGrain;
    aOff[i] = t->aSlot[j1]*p->nDvPad + (j-j1);  /* slot of its first key */
  }
  for(g=0; g<p->nKvHead; g++){
    uint16_t *aVt = p->aVtB + g*nPerHead;
    for(d=0; d<p->nDimV; d++){
      const float *v = aRows + (int64_t)g*p->nDimV + d;
      for(i=0; i<n; i++) aVt[aOff[i] + d*aPad[i]] = attn_bf16(v[i*ld]);
    }
  }
}

/* Does projection t apply RoPE (Q and K, when rope is set)? */
static int attnProjRope(const attn_state *p, const AttnProject *t){
  return t->eKind!=ATTN_PROJ_V && p->opt.rRopeBase!=0.0;
}

/* Task: project ATTN_BLOCK_Q sorted rows: gather (unless the rows are
** consecutive in input order), multiply, add the bias, then per eKind RoPE
** and the scale (Q) or RoPE and packing (K).  All of it on rows still in
** cache, and none of it depends on which task a row falls in. */
static void attnProjectTask(void *pArg, int64_t iTask, int iWorker){
  AttnProject *t = (AttnProject*)pArg;
  attn_state *p = t->p;
  int64_t i0 = t->iFirst + iTask*ATTN_BLOCK_Q;
  int64_t n = t->iFirst + t->nRow - i0, i, j;
  float *aGather = attnWork(p, iWorker, 0);
  int bPlanes = t->eKind==ATTN_PROJ_V && (p->nKvHead>1 || p->bBf16);
  int bRope = attnProjRope(p, t);
  float *aOut = (t->eKind==ATTN_PROJ_K || bPlanes) ? attnWork(p, iWorker, 1)
                                                  : t->aOut + i0*t->nCol;
  const float *aIn = attnInRow(t, t->aOrder[i0]);
  const float *aRes;
  if( n>ATTN_BLOCK_Q ) n = ATTN_BLOCK_Q;
  /* Used in place when the rows are consecutive in memory. */
  for(i=1; i<n && attnInRow(t, t->aOrder[i0+i])==aIn + i*t->nIn; i++){}
  if( i<n ){
    for(i=0; i<n; i++){
      memcpy(aGather + i*t->nIn, attnInRow(t, t->aOrder[i0+i]),
             sizeof(float)*(size_t)t->nIn);
    }
    aIn = aGather;
  }
  /* aRes: the projected rows, nCol apart.  Without a weight, a bias or
  ** RoPE they are the input rows themselves, read where they are. */
  if( t->pW->a ){
    (p->bBf16 ? p->pKern->xGemmBf16 : p->pKern->xGemm)(n, t->nCol, t->nIn,
        aIn, t->nIn, t->pW->a, t->ldw, aOut, t->nCol, 0);
    aRes = aOut;
  }else if( t->pB->a || bRope ){
    memcpy(aOut, aIn, sizeof(float)*(size_t)(n*t->nIn));
    aRes = aOut;
  }else{
    aRes = aIn;
  }
  if( t->pB->a ){
    for(i=0; i<n; i++){
      for(j=0; j<t->nCol; j++) aOut[i*t->nCol + j] += t->pB->a[j];
    }
  }
  if( bRope ){
    double *aCos = p->aRope + (int64_t)iWorker*2*p->nDimK;
    double *aSin = aCos + p->nDimK;
    int nRot = t->eKind==ATTN_PROJ_Q ? p->nHead : p->nKvHead, h;
    for(i=0; i<n; i++){
      attn_rope_angles((double)t->aPos[i0+i], p->nDimK, p->opt.rRopeBase,
                       aCos, aSin);
      for(h=0; h<nRot; h++){
        attn_rope_rotate(aOut + i*t->nCol + (int64_t)h*p->nDimK, p->nDimK,
                         aCos, aSin, p->opt.eRopeStyle);
      }
    }
  }
  if( t->eKind==ATTN_PROJ_Q ){
    for(i=0; i<n*t->nCol; i++) aOut[i] = (float)(aRes[i]*t->rScale);
    /* bf16: the q the kernels and the score rows use */
    if( p->bBf16 ) p->pKern->xRoundBf16(aOut, aOut, n*t->nCol);
  }else if( p->bBf16 ){
    /* K or V rounded to bf16 in a buffer of this task's (aRes when it is
    ** one, else aOut), then packed */
    float *aR = aRes==aOut || aRes==aGather ? (float*)aRes : aOut;
    p->pKern->xRoundBf16(aR, aRes, n*t->nCol);
    if( t->eKind==ATTN_PROJ_K ){
      attnPackRowsBf16(p, aR, t->nCol, t->aSlot, i0, n);
    }else{
      attnPackValuesBf16(p, t, aR, t->nCol, i0, n);
    }
  }else if( t->eKind==ATTN_PROJ_K ){
    attnPackRows(p, aRes, t->nCol, t->aSlot, i0, n);
  }else if( bPlanes ){
    int g;
    for(g=0; g<p->nKvHead; g++){
      for(i=0; i<n; i++){
        memcpy(t->aOut + ((int64_t)g*p->nK + i0+i)*p->nDimV,
               aRes + i*t->nCol + (int64_t)g*p->nDimV,
               sizeof(float)*(size_t)p->nDimV);
      }
    }
  }else if( aRes!=aOut ){
    memcpy(aOut, aRes, sizeof(float)*(size_t)(n*t->nCol));
  }
}

/* Project all nRow rows of aX (input order, gathered by aOrder) in sorted
** order, in chunks, polling between chunks.  A weight's GEMM and RoPE run
** on the worker threads; without them the work is copying, bound by memory
** rather than arithmetic, and the calling thread does it alone (measured:
** waking the threads for it made the setup slower, not faster). */
static int attnProjectRows(attn_state *p, AttnProject *t, int64_t nRow,
                           attn_err *pErr){
  attn_threads *pThreads = t->pW->a || attnProjRope(p, t) ? p->pThreads : 0;
  int nThread = pThreads ? p->opt.nThread : 1;
  int64_t nStep = (int64_t)ATTN_BLOCK_Q*16*nThread;
  int rc;
  t->p = p;
  for(t->iFirst=0; t->iFirst<nRow; t->iFirst+=nStep){
    t->nRow = nRow-t->iFirst < nStep ? nRow-t->iFirst : nStep;
    attn_threads_run(pThreads, nThread,
                     (t->nRow+ATTN_BLOCK_Q-1)/ATTN_BLOCK_Q, attnProjectTask, t);
    if( (rc = attnPoll(p, pErr))!=0 ) return rc;
  }
  return ATTN_OK;
}

/* The panel slot (panel·nGrain + lane, panels counted per kv head) of
** every sorted key: each key sequence starts a new panel.  With aFirst
** (bf16), also each key's sequence: its first key and its length. */
static void attnKeySlots(const attn_state *p, const int64_t *aKSeq,
                         int64_t *aSlot, int64_t *aFirst, int64_t *aLen){
  int64_t j = 0, iPanel = 0, i;
  while( j<p->nK ){
    int64_t j0 = j;
    while( j<p->nK && aKSeq[j]==aKSeq[j0] ){
      aSlot[j] = iPanel*p->nGrain + (j-j0);
      j++;
    }
    for(i=j0; aFirst && i<j; i++){
      aFirst[i] = j0;
      aLen[i] = j-j0;
    }
    iPanel += attnSeqPanels(p, j-j0);
  }
}

/* ALiBi: for every sorted query row, the distance to its nearest allowed
** key (0 when it has none).  The kernels and the score rows subtract
** slope·(distance − this), a constant per row that the softmax ignores, so
** the keys that carry weight have small biases and their scores stay exact
** relative to each other at any distance (a float32 bias of slope·2^40
** would swallow every score); the scores and lse a caller reads are moved
** back to the definition's frame (attnAlibiShift).  Keys are sorted by
** position: a binary search per row. */
static void attnAlibiRefs(attn_state *p){
  int64_t iB, r;
  for(iB=0; iB<p->nBlock; iB++){
    const AttnBlock *b = &p->aBlock[iB];
    const int64_t *aK = p->aKPos + b->iKey;
    for(r=b->iRow; r<b->iRow+b->nRow; r++){
      int64_t q = p->aQPos[r], lo = 0, hi = b->nKey, best = -1;
      /* lo = the first key with position > q */
      while( lo<hi ){
        int64_t mid = lo + (hi-lo)/2;
        if( aK[mid]<=q ) lo = mid+1; else hi = mid;
      }
      if( lo>0 && q-aK[lo-1]<=p->nLeft ) best = q - aK[lo-1];  /* at or
                                                                ** before q */
      if( lo<b->nKey && aK[lo]-q<=p->nRight && (best<0 || aK[lo]-q<best) ){
        best = aK[lo] - q;                                     /* after q */
      }
      p->aQRef[r] = best<0 ? 0 : best;
    }
  }
}

static int attnPrepare(attn_state *p, const attn_input *pIn, attn_err *pErr){
  int rc = ATTN_OK;
  int64_t *aKSeq = 0, *aSlot = 0, *aKFirst = 0, *aKLen = 0;
  int64_t nThread = p->opt.nThread;
  AttnProject t;

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

  /* Work buffers and the threads. */
  p->nWork = pIn->nXq;
  if( pIn->nXk>p->nWork ) p->nWork = pIn->nXk;
  if( pIn->nXv>p->nWork ) p->nWork = pIn->nXv;
  if( p->nQDim>p->nWork ) p->nWork = p->nQDim;
  if( p->nKDim>p->nWork ) p->nWork = p->nKDim;
  if( p->nVDim>p->nWork ) p->nWork = p->nVDim;
  if( p->nCat>p->nWork ) p->nWork = p->nCat;
  if( p->nOut>p->nWork ) p->nWork = p->nOut;
  if( nThread>1 ){
    p->pThreads = p->opt.pThreads;
    if( p->pThreads==0 ){
      p->pThreads = attn_threads_new();
      if( p->pThreads==0 ){ rc = attn_err_nomem(pErr); goto done; }
    }
  }
  if( p->opt.rRopeBase!=0.0 ){
    p->aRope = attnAlloc((uint64_t)nThread*2, (uint64_t)p->nDimK
                         *sizeof(double), &rc, pErr);
  }
  aSlot = attnAlloc((uint64_t)p->nK, sizeof(int64_t), &rc, pErr);
  if( p->bBf16 ){
    aKFirst = attnAlloc((uint64_t)p->nK, sizeof(int64_t), &rc, pErr);
    aKLen = attnAlloc((uint64_t)p->nK, sizeof(int64_t), &rc, pErr);
  }
  if( !p->opt.bNoValues ){
    if( pIn->wo.a ){
      p->aWo = attnAlloc((uint64_t)pIn->wo.n, sizeof(float), &rc, pErr);
      if( p->aWo ) memcpy(p->aWo, pIn->wo.a, sizeof(float)*(size_t)pIn->wo.n);
    }
    if( pIn->bo.a ){
      p->aBo = attnAlloc((uint64_t)pIn->bo.n, sizeof(float), &rc, pErr);
      if( p->aBo ) memcpy(p->aBo, pIn->bo.a, sizeof(float)*(size_t)pIn->bo.n);
    }
    /* Chunks.  attn_output() computes the chunk of nChunk blocks from the
    ** one it needs: as many blocks per thread as fit in about
    ** ATTN_CHUNK_FLOP of work (fewer wake-ups for cheap blocks, a prompt
    ** first row for costly ones), from 1 to ATTN_CHUNK_PER_THREAD, within
    ** the buffer budget.  attn_forward() computes up to nChunkMax blocks
    ** per run of the threads, as many as the buffer budget allows (all of
    ** them when they fit; each run ends with threads waiting for the last
    ** task and wakes them at the start), in groups of nChunk, polling for
    ** an interrupt between its own tasks (attnFlashTask). */
    {
      uint64_t nPer = (uint64_t)ATTN_BLOCK_Q*(uint64_t)(p->nCat+p->nHead)*4;
      double rBlock = 2.0*ATTN_BLOCK_Q*(double)p->nK*(double)p->nHead
                    *(double)(p->nDimK + p->nDimV);
      double rFit = ATTN_CHUNK_FLOP/(rBlock>1.0 ? rBlock : 1.0);
      p->nChunk = nThread*(rFit>=ATTN_CHUNK_PER_THREAD ? ATTN_CHUNK_PER_THREAD
                           : (rFit>=1.0 ? (int64_t)rFit : 1));
      if( (uint64_t)p->nChunk*nPer>ATTN_CHUNK_BYTES ){
        p->nChunk = (int64_t)(ATTN_CHUNK_BYTES/nPer);
        if( p->nChunk<1 ) p->nChunk = 1;
      }
      p->nChunkMax = (int64_t)(ATTN_CHUNK_BYTES/nPer);
      if( p->nChunkMax>p->nBlock ) p->nChunkMax = p->nBlock;
      if( p->nChunkMax<p->nChunk ) p->nChunkMax = p->nChunk;
    }
  }
  /* The large buffers, from one allocation when they fit in one. */
  {
    AttnArena a;
    int bV = !p->opt.bNoValues;
    memset(&a, 0, sizeof(a));
    attnArenaAdd(&a, 0, (uint64_t)nThread*2*ATTN_BLOCK_Q,
                 (uint64_t)p->nWork*sizeof(float), &rc, pErr);
    /* Blocks of one sequence share each tile of K and V when the kernel
    ** takes several in one call: as many as keep their state within
    ** about 512 KiB, so with the tile (2·128·d floats) they stay within a
    ** 1 MiB L2.  At d = 384 that is 2 blocks of 209 KiB: 6-13 % faster
    ** than 1 (docs/performance.md); smaller heads take 4. */
    {
      int64_t nPer = ATTN_FLASH_SCRATCH_BLOCK(p->nDimK, p->nDimV)*4;
      int64_t n = ((int64_t)512<<10)/nPer;
      p->nUnitMax = n<1 ? 1 : (n>ATTN_FLASH_BLOCKS ? ATTN_FLASH_BLOCKS : (int)n);
    }
    p->nScratch = ATTN_FLASH_SCRATCH(p->nDimK, p->nDimV, p->nUnitMax);
    attnArenaAdd(&a, 1, (uint64_t)nThread, (uint64_t)p->nScratch
                 *sizeof(float), &rc, pErr);
    attnArenaAdd(&a, 2, (uint64_t)p->nQ, (uint64_t)p->nQDim*sizeof(float),
                 &rc, pErr);
    if( p->bBf16 ){
      uint64_t nSlot = (uint64_t)p->nPanel*p->nGrain*p->nKvHead;
      attnArenaAdd(&a, 3, nSlot, (uint64_t)p->ldk*sizeof(uint16_t), &rc, pErr);
      attnArenaAdd(&a, 4, bV ? nSlot : 0,
                   (uint64_t)p->nDvPad*sizeof(uint16_t), &rc, pErr);
    }else{
      attnArenaAdd(&a, 3, (uint64_t)p->nPanel*p->nKvHead,
                   (uint64_t)p->nDimK*ATTN_PANEL*sizeof(float), &rc, pErr);
      attnArenaAdd(&a, 4, bV ? (uint64_t)p->nK : 0,
                   (uint64_t)p->nVDim*sizeof(float), &rc, pErr);
    }
    attnArenaAdd(&a, 5, bV ? (uint64_t)p->nQ : 0,
                 (uint64_t)p->nOut*sizeof(float), &rc, pErr);
    attnArenaAdd(&a, 6, bV ? (uint64_t)p->nQ : 0,
                 (uint64_t)p->nHead*sizeof(float), &rc, pErr);
    attnArenaAdd(&a, 7, bV ? (uint64_t)p->nBlock : 0, 1, &rc, pErr);
    attnChunkBufsAdd(p, &a, 8, bV ? p->nChunk : 0, &rc, pErr);
    if( rc==ATTN_OK ) p->pArena = attnArenaAlloc(&a, &rc, pErr);
    p->aWork    = (float*)attnArenaGet(p->pArena, &a, 0, &rc, pErr);
    p->aScratch = (float*)attnArenaGet(p->pArena, &a, 1, &rc, pErr);
    p->aQ       = (float*)attnArenaGet(p->pArena, &a, 2, &rc, pErr);
    if( p->bBf16 ){
      /* zero: the padding of every row and sequence */
      p->aKB = (uint16_t*)attnArenaGet(p->pArena, &a, 3, &rc, pErr);
      if( p->aKB ) memset(p->aKB, 0, (size_t)a.aByte[3]);
      if( bV ){
        p->aVtB = (uint16_t*)attnArenaGet(p->pArena, &a, 4, &rc, pErr);
        if( p->aVtB ) memset(p->aVtB, 0, (size_t)a.aByte[4]);
      }
    }else{
      p->aKPacked = (float*)attnArenaGet(p->pArena, &a, 3, &rc, pErr);
      if( bV ) p->aV = (float*)attnArenaGet(p->pArena, &a, 4, &rc, pErr);
    }
    if( bV ){
      p->aOut    = (float*)attnArenaGet(p->pArena, &a, 5, &rc, pErr);
      p->aLse    = (float*)attnArenaGet(p->pArena, &a, 6, &rc, pErr);
      p->aDone   = (unsigned char*)attnArenaGet(p->pArena, &a, 7, &rc, pErr);
      attnChunkBufsGet(p->pArena, &a, 8, p->nChunk, &p->bufs, &rc, pErr);
    }
  }
  if( p->opt.bAlibi || pIn->alibiSlopes.a ){
    p->aSlope = attnAlloc((uint64_t)p->nHead, sizeof(double), &rc, pErr);
    if( p->aSlope && pIn->alibiSlopes.a ){
      int h;
      for(h=0; h<p->nHead; h++) p->aSlope[h] = pIn->alibiSlopes.a[h];
    }else if( p->aSlope ){
      attn_alibi_slopes(p->nHead, p->aSlope);
    }
    p->aQRef = attnAlloc((uint64_t)p->nQ, sizeof(int64_t), &rc, pErr);
    if( p->aQRef ) attnAlibiRefs(p);
  }
  if( pIn->sinks.a ){
    p->aSink = attnAlloc((uint64_t)p->nHead, sizeof(float), &rc, pErr);
    if( p->aSink ){
      memcpy(p->aSink, pIn->sinks.a, sizeof(float)*(size_t)p->nHead);
    }
  }
  if( pIn->aBiasK ){
    int64_t j;
    p->aKBias = attnAlloc((uint64_t)p->nK, sizeof(float), &rc, pErr);
    for(j=0; p->aKBias && j<p->nK; j++){
      p->aKBias[j] = pIn->aBiasK[p->aKOrder[j]];
    }
  }
  if( !p->opt.bNoValues ){
    p->aFix = attnAlloc((uint64_t)p->nQ, 1, &rc, pErr);
  }
  if( rc ) goto done;
  if( p->aDone ) memset(p->aDone, 0, (size_t)p->nBlock);
  if( p->aFix ) memset(p->aFix, 0, (size_t)p->nQ);

  /* Q: project, RoPE, scale.  K: project, RoPE, pack.  V: project. */
  memset(&t, 0, sizeof(t));
  t.eKind = ATTN_PROJ_Q;
  t.aX = pIn->aXq; t.apX = pIn->apXq; t.nIn = pIn->nXq;
  t.aOrder = p->aQOrder; t.aPos = p->aQPos;
  t.pW = &pIn->wq; t.pB = &pIn->bq; t.aOut = p->aQ; t.nCol = p->nQDim;
  t.ldw = p->nWqkv ? p->nWqkv : t.nCol;
  t.rScale = p->opt.bScale ? p->opt.rScale : 1.0/sqrt((double)p->nDimK);
  rc = attnProjectRows(p, &t, p->nQ, pErr);
  if( rc ) goto done;
  attnKeySlots(p, aKSeq, aSlot, aKFirst, aKLen);
  t.eKind = ATTN_PROJ_K;
  t.aX = pIn->aXk; t.apX = pIn->apXk; t.nIn = pIn->nXk;
  t.aOrder = p->aKOrder; t.aPos = p->aKPos;
  t.aSlot = aSlot; t.pW = &pIn->wk; t.pB = &pIn->bk; t.aOut = 0;
  t.nCol = p->nKDim;
  t.ldw = p->nWqkv ? p->nWqkv : t.nCol;
  rc = attnProjectRows(p, &t, p->nK, pErr);
  if( rc ) goto done;
  if( !p->opt.bNoValues ){
    t.eKind = ATTN_PROJ_V;
    t.aX = pIn->aXv; t.apX = pIn->apXv; t.nIn = pIn->nXv;
    t.aPos = 0;
    t.aSlot = aSlot; t.aKFirst = aKFirst; t.aKLen = aKLen;
    t.pW = &pIn->wv; t.pB = &pIn->bv; t.aOut = p->aV; t.nCol = p->nVDim;
    t.ldw = p->nWqkv ? p->nWqkv : t.nCol;
    rc = attnProjectRows(p, &t, p->nK, pErr);
  }

done:
  attn_free_aligned(aSlot);
  attn_free_aligned(aKSeq);
  attn_free_aligned(aKFirst);
  attn_free_aligned(aKLen);
  return rc;
}

/* The mask's bounds from the options (checked): window w is w − 1 on both
** sides, causal a right bound of 0; every bound clipped to
** ATTN_WINDOW_ALL, which allows any two positions. */
static void attnMaskBounds(attn_state *p){
  const attn_options *o = &p->opt;
  p->nLeft = p->nRight = ATTN_WINDOW_ALL;
  if( o->nWindow>0 && o->nWindow-1<ATTN_WINDOW_ALL ){
    p->nLeft = p->nRight = o->nWindow-1;
  }
  if( o->bWindowLeft && o->nWindowLeft>=0 && o->nWindowLeft<ATTN_WINDOW_ALL ){
    p->nLeft = o->nWindowLeft;
  }
  if( o->bWindowRight && o->nWindowRight>=0
   && o->nWindowRight<ATTN_WINDOW_ALL ){
    p->nRight = o->nWindowRight;
  }
  if( o->bCausal ) p->nRight = 0;
}

int attn_state_new(const attn_input *pCaller, const attn_options *pOpt,
                   attn_state **ppState, attn_err *pErr){
  attn_input in = *pCaller, *pIn = &in;   /* wqkv, bqkv become views here */
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
  attn_softcap_init(&p->cap, p->opt.rSoftcap);
  rc = attnConfigure(p, pIn, pErr);
  attnMaskBounds(p);
  /* K and V layouts: panels of ATTN_PANEL keys for the float32 kernels, or
  ** bf16 rows and transposed values padded to whole tiles (kernels.h). */
  p->bBf16 = p->opt.ePrecision==ATTN_PRECISION_BF16;
  p->nGrain = p->bBf16 ? ATTN_BF16_KEY_PAD : ATTN_PANEL;
  p->ldk = attn_round_up(p->nDimK, ATTN_BF16_DIM_PAD);
  p->nDvPad = (int)attn_round_up(p->nDimV, ATTN_BF16_VROW_PAD);
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
  if( p->opt.pThreads==0 ) attn_threads_free(p->pThreads);
  attn_free_aligned(p->aQOrder);
  attn_free_aligned(p->aQRank);
  attn_free_aligned(p->aQSeq);
  attn_free_aligned(p->aQPos);
  attn_free_aligned(p->aKOrder);
  attn_free_aligned(p->aKRank);
  attn_free_aligned(p->aKPos);
  if( p->pArena ){
    attn_free_aligned(p->pArena);
  }else{
    attn_free_aligned(p->aWork);
    attn_free_aligned(p->aScratch);
    attn_free_aligned(p->aQ);
    attn_free_aligned(p->aKPacked);
    attn_free_aligned(p->aKB);
    attn_free_aligned(p->aVtB);
    attn_free_aligned(p->aV);
    attn_free_aligned(p->aOut);
    attn_free_aligned(p->aLse);
    attn_free_aligned(p->aDone);
    attn_free_aligned(p->bufs.aCat);
    attn_free_aligned(p->bufs.aCatLse);
    attn_free_aligned(p->bufs.aBlock);
    attn_free_aligned((void*)p->bufs.anLeft);
    attn_free_aligned(p->bufs.aUnit);
  }
  attn_free_aligned(p->pBufsMax);
  attn_free_aligned(p->aFix);
  attn_free_aligned(p->aWo);
  attn_free_aligned(p->aBo);
  attn_free_aligned(p->aSlope);
  attn_free_aligned(p->aQRef);
  attn_free_aligned(p->aSink);
  attn_free_aligned(p->aKBias);
  attn_free_aligned(p->aBlock);
  attn_free_aligned(p->aRope);
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
  AttnChunkBufs *pBufs;        /* p->bufs or p->bufsMax */
  int64_t nBlock;              /* its blocks: pBufs->aBlock[0..nBlock) */
  /* pBufs->anLeft[i]: the heads of block i still to compute.  The task that
  ** brings it to 0 runs the block's output step and marks the block done,
  ** so a chunk is one run of the threads (no barrier between the heads and
  ** W_O). */
  int bPoll;                   /* the caller polls opt.xPoll between tasks */
  int bStopped;                /* the poll said stop (the caller's) */
  atomic_llong iStopTask;      /* tasks from this one on return at once */
};

static void attnOutputTask(void *pArg, int64_t iSlot, int iWorker);

/* Are the n floats of a and the m of b all finite? */
static int attnRowFinite(const float *a, int64_t n, const float *b, int64_t m){
  int64_t i;
  for(i=0; i<n; i++) if( !isfinite(a[i]) ) return 0;
  for(i=0; i<m; i++) if( !isfinite(b[i]) ) return 0;
  return 1;
}

/* Head h of slot iSlot is computed: the last head runs the output step. */
static void attnHeadDone(AttnChunk *c, int64_t iSlot, int iWorker){
  if( atomic_fetch_sub(&c->pBufs->anLeft[iSlot], 1)==1 ){
    attnOutputTask(c, iSlot, iWorker);
  }
}

/* Head h of the unit starting at slot iSlot (nSlot consecutive blocks of
** one sequence, every one but the last full), into aCat/aCatLse: one call
** of the flash kernel. */
static void attnFlashUnit(AttnChunk *c, int64_t iSlot, int nSlot, int h,
                          int iWorker){
  attn_state *p = c->p;
  int g = h / (p->nHead/p->nKvHead);
  const AttnBlock *b = &p->aBlock[c->pBufs->aBlock[iSlot]];
  /* This head's output rows, contiguous per block (aCat is head-major). */
  float *aO = c->pBufs->aCat + (iSlot*p->nHead + h)*ATTN_BLOCK_Q*p->nDimV;
  float *aLse = c->pBufs->aCatLse + iSlot*ATTN_BLOCK_Q*p->nHead;
  attn_flash_args a;
  int r, i;
  if( b->nKey==0 ){
    for(r=0; r<b->nRow; r++) aLse[r*p->nHead + h] = -INFINITY;
    memset(aO, 0, sizeof(float)*(size_t)(b->nRow*p->nDimV));
    attnHeadDone(c, iSlot, iWorker);
    return;
  }
  a.nQuery = (nSlot-1)*ATTN_BLOCK_Q
           + p->aBlock[c->pBufs->aBlock[iSlot+nSlot-1]].nRow;
  a.nKey = b->nKey;
  a.nDimK = p->nDimK;
  a.nDimV = p->nDimV;
  a.q = p->aQ + b->iRow*p->nQDim + (int64_t)h*p->nDimK;
  a.ldq = p->nQDim;
  if( p->bBf16 ){
    a.kPacked = 0;
    a.v = 0;
    a.ldv = 0;
    a.kBf16 = p->aKB + ((int64_t)g*p->nPanel + b->iPanel)*p->nGrain*p->ldk;
    a.ldk = p->ldk;
    a.vtBf16 = p->aVtB + ((int64_t)g*p->nPanel + b->iPanel)*p->nGrain
                         *p->nDvPad;
    a.ldvt = attnSeqPanels(p, b->nKey)*p->nGrain;
  }else{
    a.kPacked = p->aKPacked + ((int64_t)g*p->nPanel + b->iPanel)
                              *p->nDimK*ATTN_PANEL;
    a.v = p->aV + ((int64_t)g*p->nK + b->iKey)*p->nDimV;
    a.ldv = p->nDimV;
    a.kBf16 = 0;
    a.vtBf16 = 0;
    a.ldk = a.ldvt = 0;
  }
  a.aQPos = p->aQPos + b->iRow;
  a.aKPos = p->aKPos + b->iKey;
  a.nLeft = p->nLeft;
  a.nRight = p->nRight;
  a.rSlope = p->aSlope ? (float)p->aSlope[h] : 0.0f;
  a.aAlibiRef = p->aQRef ? p->aQRef + b->iRow : 0;
  a.cap = p->cap;
  a.aKBias = p->aKBias ? p->aKBias + b->iKey : 0;
  a.bSink = p->aSink!=0;
  a.rSink = p->aSink ? p->aSink[h] : 0.0f;
  a.o = aO;
  a.ldo = p->nDimV;
  a.ldoBlock = (int64_t)p->nHead*ATTN_BLOCK_Q*p->nDimV;
  a.aLse = aLse + h;
  a.ldLse = p->nHead;
  a.ldLseBlock = (int64_t)ATTN_BLOCK_Q*p->nHead;
  a.aScratch = p->aScratch + (int64_t)iWorker*p->nScratch;
  (p->bBf16 ? p->pKern->xFlashBf16 : p->pKern->xFlash)(&a);
  for(i=0; i<nSlot; i++) attnHeadDone(c, iSlot+i, iWorker);
}

/* Cut the chunk's blocks into groups of nChunk (the interrupt checks come
** between groups) and each group into units, runs of up to nUnitMax blocks
** of one sequence (consecutive blocks, every one but the last full) that
** one kernel call computes; a unit is kept short enough that every thread
** gets a few.  Fills pBufs->aUnit; returns the number of units. */
static int64_t attnChunkUnits(const AttnChunk *c){
  const attn_state *p = c->p;
  const AttnChunkBufs *pB = c->pBufs;
  int64_t *aUnit = pB->aUnit, *aGroupUnit = pB->aUnit + pB->nCap + 1;
  int64_t i0, nUnit = 0, g = 0;
  for(i0=0; i0<c->nBlock; i0+=p->nChunk, g++){
    int64_t nb = c->nBlock-i0 < p->nChunk ? c->nBlock-i0 : p->nChunk, i;
    int64_t nMax = nb/(2*p->opt.nThread);
    if( nMax>p->nUnitMax ) nMax = p->nUnitMax;
    if( nMax<1 ) nMax = 1;
    aGroupUnit[g] = nUnit;
    for(i=i0; i<i0+nb; i++){
      const AttnBlock *b = &p->aBlock[pB->aBlock[i]];
      int64_t s0 = nUnit>aGroupUnit[g] ? aUnit[nUnit-1] : -1;
      const AttnBlock *b0 = s0>=0 ? &p->aBlock[pB->aBlock[s0]] : 0;
      /* joins the open unit: the next block of the same sequence */
      if( b0 && i-s0<nMax && b0->nKey>0 && b0->iKey==b->iKey
       && b0->nKey==b->nKey && pB->aBlock[i-1]+1==pB->aBlock[i]
       && p->aBlock[pB->aBlock[i-1]].nRow==ATTN_BLOCK_Q ){
        continue;
      }
      aUnit[nUnit++] = i;
    }
  }
  aUnit[nUnit] = c->nBlock;
  aGroupUnit[g] = nUnit;
  return nUnit;
}

/* Task: one head of one unit of the chunk.  Tasks run group by group,
** within a group head by head (the blocks of one head share its K and V,
** which then stay in cache), and within a head from the group's last unit
** to its first (with a causal mask later blocks cost more, and starting
** with them balances the threads).  When the chunk polls, the calling
** thread (worker 0) polls after each of its tasks until told to stop; then
** the tasks of later groups return at once, and those of its own group and
** earlier ones run: every call computes at least one group, so a caller
** interrupted again and again still gets to the end. */
static void attnFlashTask(void *pArg, int64_t iTask, int iWorker){
  AttnChunk *c = (AttnChunk*)pArg;
  attn_state *p = c->p;
  const int64_t *aUnit = c->pBufs->aUnit;
  const int64_t *aGroupUnit = c->pBufs->aUnit + c->pBufs->nCap + 1;
  int64_t u = iTask/p->nHead, g = 0, u0, nu, j;
  if( iTask>=atomic_load_explicit(&c->iStopTask, memory_order_relaxed) ){
    return;
  }
  /* the group of task iTask: units [u0, u0+nu) */
  while( aGroupUnit[g+1]<=u ) g++;
  u0 = aGroupUnit[g];
  nu = aGroupUnit[g+1] - u0;
  j = iTask - u0*p->nHead;
  u = u0 + nu - 1 - j%nu;
  attnFlashUnit(c, aUnit[u], (int)(aUnit[u+1]-aUnit[u]), (int)(j/nu),
                iWorker);
  if( iWorker==0 && c->bPoll && !c->bStopped && p->opt.xPoll
   && p->opt.xPoll(p->opt.pPollArg) ){
    c->bStopped = 1;
    atomic_store_explicit(&c->iStopTask, aGroupUnit[g+1]*p->nHead,
                          memory_order_relaxed);
  }
}

/* ALiBi: how far the kernels' frame of sorted query row s, head h, is
** above the definition's: slope·r(i), r(i) the row's distance to its
** nearest allowed key (attnAlibiRefs); 0 without ALiBi.  Scores, the sink
** and the lse are computed in the kernels' frame, where the keys that
** carry weight have small biases, and the scores and lse a caller reads
** are moved back by this, in float64. */
static double attnAlibiShift(const attn_state *p, int64_t s, int h){
  return p->aSlope ? p->aSlope[h]*(double)p->aQRef[s] : 0.0;
}

/* The lse of sorted query row s, head h, as returned, from rLse, the
** log-sum-exp of its keys' scores in the kernels' frame (no sink): moved to
** the definition's frame (attnAlibiShift), the sink added there, in
** float64, and rounded once to float32, so shards over disjoint keys merge
** (attn_merge) with or without ALiBi.  (In the kernels' frame a sink far
** above every key is sink + slope·r(i), a number too large for its sum
** with the keys' to keep the lse.)  A row with no key stays -inf.  One
** beyond float32 is ±Infinity, an error only where it is read (the output
** is exact). */
static float attnLseOut(const attn_state *p, int64_t s, int h, double rLse){
  double x = rLse - attnAlibiShift(p, s, h);
  if( p->aSink && x>-INFINITY ){
    double sk = (double)p->aSink[h];
    x = x>=sk ? x + log1p(exp(sk - x)) : sk + log1p(exp(x - sk));
  }
  return x>FLT_MAX ? INFINITY : x<-FLT_MAX ? -INFINITY : (float)x;
}

/* The output step of one block of the chunk: heads concatenated, W_O, rows
** scattered to input order (run by the task that finished its last head). */
static void attnOutputTask(void *pArg, int64_t iSlot, int iWorker){
  AttnChunk *c = (AttnChunk*)pArg;
  attn_state *p = c->p;
  const AttnBlock *b = &p->aBlock[c->pBufs->aBlock[iSlot]];
  const float *aHeads = c->pBufs->aCat + iSlot*p->nHead*ATTN_BLOCK_Q*p->nDimV;
  const float *aLse = c->pBufs->aCatLse + iSlot*ATTN_BLOCK_Q*p->nHead;
  float *aTmp = attnWork(p, iWorker, 0);
  float *aCat = attnWork(p, iWorker, 1);
  const float *aRes = aCat;
  int64_t ld = p->nCat, j;
  int r, h;
  /* Concatenate the heads of each row. */
  for(r=0; r<b->nRow; r++){
    for(h=0; h<p->nHead; h++){
      memcpy(aCat + r*p->nCat + (int64_t)h*p->nDimV,
             aHeads + ((int64_t)h*ATTN_BLOCK_Q + r)*p->nDimV,
             sizeof(float)*(size_t)p->nDimV);
    }
  }
  if( p->aWo ){
    (p->bBf16 ? p->pKern->xGemmBf16 : p->pKern->xGemm)(b->nRow, p->nOut,
        p->nCat, aCat, p->nCat, p->aWo, p->nOut, aTmp, p->nOut, 0);
    aRes = aTmp;
    ld = p->nOut;
  }
  for(r=0; r<b->nRow; r++){
    int64_t iRow = p->aQOrder[b->iRow + r];
    float *aOut = p->aOut + iRow*p->nOut;
    for(h=0; h<p->nHead; h++){
      p->aLse[iRow*p->nHead + h] = attnLseOut(p, b->iRow + r, h,
                                    (double)aLse[(int64_t)r*p->nHead + h]);
    }
    memcpy(aOut, aRes + r*ld, sizeof(float)*(size_t)p->nOut);
    if( p->aBo ){
      for(j=0; j<p->nOut; j++) aOut[j] += p->aBo[j];
    }
    /* A row with nothing to attend to (lse -inf) or whose float32 sums
    ** overflowed: attn_output() tells the two apart and recomputes the
    ** latter in float64 (attnFixRow). */
    p->aFix[iRow] = attnRowFinite(aOut, p->nOut, p->aLse + iRow*p->nHead,
                                  p->nHead) ? ATTN_ROW_OK : ATTN_ROW_CHECK;
  }
  /* Read by the caller after the run (the threads' mutex orders it). */
  p->aDone[c->pBufs->aBlock[iSlot]] = 1;
}

/* Compute block iBlock and the next blocks that are not done yet, as many
** as pB holds, in one run of the threads, in groups of nChunk blocks; with
** bPoll, polling for an interrupt.  Returns non-zero if the poll said stop
** (every block of the groups begun by then is done). */
static int attnComputeFrom(attn_state *p, int64_t iBlock, AttnChunkBufs *pB,
                           int bPoll){
  AttnChunk c;
  int64_t i;
  c.p = p;
  c.pBufs = pB;
  c.nBlock = 0;
  c.bPoll = bPoll;
  c.bStopped = 0;
  for(i=iBlock; i<p->nBlock && c.nBlock<pB->nCap; i++){
    if( !p->aDone[i] ) pB->aBlock[c.nBlock++] = i;
  }
  for(i=0; i<c.nBlock; i++) atomic_init(&pB->anLeft[i], p->nHead);
  atomic_init(&c.iStopTask, INT64_MAX);
  attn_threads_run(p->pThreads, p->opt.nThread, attnChunkUnits(&c)*p->nHead,
                   attnFlashTask, &c);
  return c.bStopped;
}

/* The buffers for runs of nChunkMax blocks, made by the first
** attn_forward() (attn_output() alone never needs them).  Without memory
** for them attn_forward() runs nChunk blocks at a time. */
static AttnChunkBufs *attnForwardBufs(attn_state *p){
  if( p->nChunkMax>p->bufs.nCap && p->pBufsMax==0 ){
    AttnArena a;
    attn_err err;
    int rc = ATTN_OK;
    memset(&a, 0, sizeof(a));
    attnChunkBufsAdd(p, &a, 0, p->nChunkMax, &rc, &err);
    if( rc==ATTN_OK ) p->pBufsMax = attnArenaAlloc(&a, &rc, &err);
    if( p->pBufsMax ){
      attnChunkBufsGet(p->pBufsMax, &a, 0, p->nChunkMax, &p->bufsMax, &rc,
                       &err);
    }
  }
  return p->pBufsMax ? &p->bufsMax : &p->bufs;
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

/*
** One row in float64: the masks decide whether it has a key, and a row
** whose float32 computation was not finite is computed again from the
** projected Q, K and V, the way the score rows are.
*/

/* Has sorted query row s (of block b) a key it may attend to?  Keys are
** sorted by position: the first key not too far below the query (by the
** left bound) is the only candidate, since every later key is further
** above it.  Differences of positions (within ±2^54) never overflow. */
static int attnRowHasKey(const attn_state *p, int64_t s, const AttnBlock *b){
  const int64_t *aK = p->aKPos + b->iKey;
  int64_t q = p->aQPos[s], lo = 0, hi = b->nKey;
  if( b->nKey==0 ) return 0;
  while( lo<hi ){                      /* the first key with q − k <= left */
    int64_t mid = lo + (hi-lo)/2;
    if( q-aK[mid]<=p->nLeft ) hi = mid; else lo = mid+1;
  }
  if( lo>=b->nKey ) return 0;
  return attn_pair_allowed(p->nLeft, p->nRight, q, aK[lo]);
}

/* The float64 score of sorted query row s, head h, against key j of its
** block b (allowed by the masks): softcap(q·k) − slope·(|Δpos| − r) + bias,
** in the kernels' frame (attnAlibiShift above the definition's), from the
** packed, scaled, RoPE'd Q and K: what the kernels compute in float32. */
static double attnScore64(const attn_state *p, int64_t s, int h,
                          const AttnBlock *b, int64_t j){
  int g = h / (p->nHead/p->nKvHead), d;
  const float *q = p->aQ + s*p->nQDim + (int64_t)h*p->nDimK;
  int64_t qpos = p->aQPos[s], kpos = p->aKPos[b->iKey + j];
  double x = 0.0;
  if( p->bBf16 ){
    const uint16_t *k = p->aKB + (((int64_t)g*p->nPanel + b->iPanel)
                                  *p->nGrain + j)*p->ldk;
    for(d=0; d<p->nDimK; d++) x += (double)q[d]*(double)attn_bf16_f32(k[d]);
  }else{
    const float *kp = p->aKPacked + ((int64_t)g*p->nPanel + b->iPanel)
                      *p->nDimK*ATTN_PANEL
                    + (j/ATTN_PANEL)*p->nDimK*ATTN_PANEL + j%ATTN_PANEL;
    for(d=0; d<p->nDimK; d++) x += (double)q[d]*(double)kp[d*ATTN_PANEL];
  }
  if( p->opt.rSoftcap>0.0 ) x = p->opt.rSoftcap*tanh(x/p->opt.rSoftcap);
  if( p->aSlope ){
    /* Relative to the row's nearest allowed key, as the kernels (the
    ** constant per row cancels in the softmax; kernels.h). */
    x -= p->aSlope[h]*(double)((qpos>kpos ? qpos-kpos : kpos-qpos)
                               - p->aQRef[s]);
  }
  if( p->aKBias ) x += (double)p->aKBias[b->iKey + j];
  return x;
}

/* The sink logit of sorted query row s, head h, in the frame of its
** scores (ALiBi's are relative to the row's nearest key: the sink moves
** with them), as the kernels have it; -inf without sinks. */
static double attnSink64(const attn_state *p, int64_t s, int h){
  if( p->aSink==0 ) return -INFINITY;
  return (double)p->aSink[h] + attnAlibiShift(p, s, h);
}

/* The value row of key j of block b for kv head g: in place, or (bf16)
** gathered from the transposed values into aBuf. */
static const float *attnValueRow(const attn_state *p, int g,
                                 const AttnBlock *b, int64_t j, float *aBuf){
  if( p->bBf16 ){
    const uint16_t *vt = p->aVtB + ((int64_t)g*p->nPanel + b->iPanel)
                                   *p->nGrain*p->nDvPad + j;
    int64_t nPad = attnSeqPanels(p, b->nKey)*p->nGrain;
    int d;
    for(d=0; d<p->nDimV; d++) aBuf[d] = attn_bf16_f32(vt[d*nPad]);
    return aBuf;
  }
  return p->aV + ((int64_t)g*p->nK + b->iKey + j)*p->nDimV;
}

/* Are the n floats at a, d apart, all finite? */
static int attnFinite(const float *a, int64_t n, int64_t d){
  int64_t i;
  for(i=0; i<n; i++) if( !isfinite(a[i*d]) ) return 0;
  return 1;
}

/* Row iRow's float32 output or lse was not finite: no key (ATTN_ROW_NONE),
** or an overflow of the float32 sums, recomputed here in float64 and kept
** when it fits float32.  Only an output that does not fit, or a Q, K or V
** that overflowed float32 when projected, is an error. */
static int attnFixRow(attn_state *p, int64_t iRow, attn_err *pErr){
  int64_t s = p->aQRank[iRow], j, i;
  const AttnBlock *b = &p->aBlock[attnBlockOf(p, s)];
  float *aOut = p->aOut + iRow*p->nOut, *aLse = p->aLse + iRow*p->nHead;
  double *aCat, *aRes, *aAcc;
  float *aVb = 0;
  int rc = ATTN_OK, h;
  if( !attnRowHasKey(p, s, b) ){
    p->aFix[iRow] = ATTN_ROW_NONE;
    return ATTN_OK;
  }
  aCat = attnAlloc((uint64_t)p->nCat + (uint64_t)p->nOut + (uint64_t)p->nDimV,
                   sizeof(double), &rc, pErr);
  aVb = attnAlloc((uint64_t)p->nDimV, sizeof(float), &rc, pErr);
  if( rc ){
    attn_free_aligned(aCat);
    return rc;
  }
  aRes = aCat + p->nCat;
  aAcc = aRes + p->nOut;
  for(h=0; rc==ATTN_OK && h<p->nHead; h++){
    int g = h / (p->nHead/p->nKvHead);
    attn_softmax_acc acc;
    double rLse = 0.0;
    if( !attnFinite(p->aQ + s*p->nQDim + (int64_t)h*p->nDimK, p->nDimK, 1) ){
      rc = attn_err_set(pErr, ATTN_ERROR, "its query overflows float32 once "
          "projected and scaled (head %d), so the output cannot be computed: "
          "scale down the inputs, wq, bq or scale", h);
      break;
    }
    attn_softmax_start(&acc, 1.0, aAcc, p->nDimV);
    for(j=0; j<b->nKey; j++){
      const float *v = attnValueRow(p, g, b, j, aVb);
      int64_t iKey = p->aKOrder[b->iKey + j];
      double x;
      if( !attn_pair_allowed(p->nLeft, p->nRight, p->aQPos[s],
                             p->aKPos[b->iKey + j]) ){
        continue;
      }
      x = attnScore64(p, s, h, b, j);
      if( !isfinite(x) || !attnFinite(v, p->nDimV, 1) ){
        rc = attn_err_set(pErr, ATTN_ERROR, "key row %lld overflows float32 "
            "once projected (its %s, head %d), so the output cannot be "
            "computed: scale down the inputs, %s", (long long)iKey+1,
            isfinite(x) ? "value" : "key", h,
            isfinite(x) ? "wv or bv" : "wk, bk or the query's scale");
        break;
      }
      attn_softmax_add(&acc, x, v);
    }
    /* the keys' lse; the sink is added to it in attnLseOut */
    rLse = attn_softmax_lse(&acc);
    if( rc==ATTN_OK && p->aSink ){
      /* the sink: one more key, of value 0 */
      memset(aVb, 0, sizeof(float)*(size_t)p->nDimV);
      attn_softmax_add(&acc, attnSink64(p, s, h), aVb);
    }
    if( rc==ATTN_OK ){
      double rIgnored;
      attn_softmax_result64(&acc, aCat + (int64_t)h*p->nDimV, &rIgnored);
      aLse[h] = attnLseOut(p, s, h, rLse);
    }
  }
  if( rc==ATTN_OK ){
    for(j=0; j<p->nOut; j++){
      double x = p->aBo ? (double)p->aBo[j] : 0.0;
      if( p->aWo ){
        for(i=0; i<p->nCat; i++) x += aCat[i]*(double)p->aWo[i*p->nOut + j];
      }else{
        x += aCat[j];
      }
      aRes[j] = x;
    }
    for(j=0; j<p->nOut; j++){
      if( !(fabs(aRes[j])<=FLT_MAX) ){
        rc = attn_err_set(pErr, ATTN_ERROR, "output element %lld is %g, "
            "beyond float32's range (±3.4e38), so it cannot be returned: "
            "scale down the values (v, wv, bv) or wo", (long long)j,
            aRes[j]);
        break;
      }
    }
  }
  if( rc==ATTN_OK ){
    for(j=0; j<p->nOut; j++) aOut[j] = (float)aRes[j];
    p->aFix[iRow] = ATTN_ROW_OK;
  }
  attn_free_aligned(aCat);
  attn_free_aligned(aVb);
  return rc;
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
  if( !p->aDone[iBlock] ) attnComputeFrom(p, iBlock, &p->bufs, 0);
  if( p->aFix[iRow]==ATTN_ROW_CHECK && (rc = attnFixRow(p, iRow, pErr))!=0 ){
    return rc;
  }
  if( p->aFix[iRow]==ATTN_ROW_NONE ) return ATTN_OK;
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
    if( attnComputeFrom(p, i, attnForwardBufs(p), 1) ){
      return attn_err_set(pErr, ATTN_INTERRUPT, "interrupted");
    }
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
  int64_t iSorted;             /* the query row's sorted rank */
  int iHead0, iHead1;          /* heads [iHead0, iHead1) */
  double *aScore;              /* (iHead1-iHead0) × nKey scores in the
                               ** kernels' frame, -inf masked */
  double *aStat;               /* per head: the largest score, then
                               ** Σ exp(score − largest) */
  int iHead;                   /* cursor */
  int64_t iKey;
};

int attn_scores_open(attn_state *p, int64_t iRow, int iHead,
                     attn_score_iter **ppIter, attn_err *pErr){
  attn_score_iter *it;
  int64_t s, nKey, j;
  int rc = ATTN_OK, h;
  *ppIter = 0;
  if( iRow<0 || iRow>=p->nQ ){
    return attn_err_set(pErr, ATTN_ERROR, "row %lld is out of range (0 to "
                        "%lld)", (long long)iRow, (long long)p->nQ-1);
  }
  it = attn_malloc_zero(sizeof(*it));
  if( it==0 ) return attn_err_nomem(pErr);
  it->p = p;
  s = p->aQRank[iRow];
  it->iSorted = s;
  it->pBlock = &p->aBlock[attnBlockOf(p, s)];
  it->iHead0 = iHead<0 ? 0 : iHead;
  it->iHead1 = iHead<0 ? p->nHead : (iHead<p->nHead ? iHead+1 : iHead);
  it->iHead = it->iHead0;
  nKey = it->pBlock->nKey;
  if( it->iHead1>it->iHead0 && nKey>0 ){
    it->aScore = attnAlloc((uint64_t)(it->iHead1-it->iHead0), (uint64_t)nKey
                           *sizeof(double), &rc, pErr);
    it->aStat = attnAlloc((uint64_t)(it->iHead1-it->iHead0), 2*sizeof(double),
                          &rc, pErr);
    if( rc ){
      attn_scores_close(it);
      return rc;
    }
  }else{
    it->iHead = it->iHead1;           /* nothing to iterate */
  }
  for(h=it->iHead0; it->aScore && h<it->iHead1; h++){
    double *aS = it->aScore + (int64_t)(h-it->iHead0)*nKey;
    double mx = -INFINITY, sum = 0.0;
    for(j=0; j<nKey; j++){
      int64_t qpos = p->aQPos[s], kpos = p->aKPos[it->pBlock->iKey + j];
      double x;
      if( !attn_pair_allowed(p->nLeft, p->nRight, qpos, kpos) ){
        aS[j] = -INFINITY;
        continue;
      }
      x = attnScore64(p, s, h, it->pBlock, j);
      if( !isfinite(x) ){
        /* Q or K overflowed float32 when projected or scaled. */
        attn_scores_close(it);
        return attn_err_set(pErr, ATTN_ERROR, "the attention scores overflow "
            "float32 (a score of %g), so they cannot be computed: scale down "
            "the inputs or weights", x);
      }
      aS[j] = x;
      if( x>mx ) mx = x;
    }
    /* Weights are exp(score − largest)/sum: exact for huge scores too,
    ** where mx + log(sum) would round log(sum) away.  A sink is one more
    ** term of the sum (of a row that has a key). */
    if( mx>-INFINITY && attnSink64(p, s, h)>mx ) mx = attnSink64(p, s, h);
    for(j=0; mx>-INFINITY && j<nKey; j++) sum += exp(aS[j]-mx);
    if( mx>-INFINITY && p->aSink ) sum += exp(attnSink64(p, s, h)-mx);
    it->aStat[2*(h-it->iHead0)] = mx;
    it->aStat[2*(h-it->iHead0)+1] = sum;
  }
  *ppIter = it;
  return ATTN_OK;
}

int attn_scores_next(attn_score_iter *it, attn_score *pScore){
  int64_t nKey = it->pBlock->nKey;
  while( it->iHead<it->iHead1 ){
    const double *aS = it->aScore + (int64_t)(it->iHead-it->iHead0)*nKey;
    const double *aStat = it->aStat + 2*(it->iHead-it->iHead0);
    while( it->iKey<nKey ){
      int64_t j = it->iKey++;
      if( aS[j]==-INFINITY ) continue;
      pScore->iKey = it->p->aKOrder[it->pBlock->iKey + j];
      pScore->iHead = it->iHead;
      /* the weight from the kernels' frame, the score in the definition's */
      pScore->rScore = aS[j] - attnAlibiShift(it->p, it->iSorted, it->iHead);
      pScore->rWeight = exp(aS[j] - aStat[0])/aStat[1];
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
  attn_free_aligned(it->aStat);
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
