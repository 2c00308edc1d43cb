/*
** kernels.h: the compute kernels and their one dispatch point.
**
** A kernel set is a table of function pointers implemented three times:
** portable C (kernels_scalar.c), AVX2+FMA (kernels_avx2.c) and AVX-512
** (kernels_avx512.c).  The SIMD files compile each function with a target
** attribute, never the whole library with -mavx2, so one binary runs on any
** x86-64.  attn_kernels_init() picks the best set the CPU supports (cpuid,
** once); the environment variable ATTN_KERNEL=scalar|avx2|avx512 forces a
** lower level, for tests.  Everything else calls attn_kernels().
*/
#ifndef ATTN_KERNELS_H
#define ATTN_KERNELS_H

#include <stdint.h>

/*
** Flash-attention tiling, shared by the engine (which lays the data out) and
** every kernel set.  Queries come in blocks of at most ATTN_BLOCK_Q rows; the
** keys of a sequence are packed per head in panels of ATTN_PANEL keys, each
** panel d×ATTN_PANEL with the keys as the fast dimension (zero-padded past
** the last key), and the kernels walk them in tiles of ATTN_TILE_K keys.
*/
#define ATTN_BLOCK_Q   64
#define ATTN_TILE_K    64
#define ATTN_PANEL     16
/* Floats of scratch a kernel may use per call (64-byte aligned), for query
** heads nDimK wide: a transposed copy of the query block, a score tile and
** per-row statistics (the SIMD sets use all of it; the scalar set less). */
#define ATTN_FLASH_SCRATCH(nDimK) \
  ((int64_t)ATTN_BLOCK_Q*((int64_t)(nDimK) + ATTN_TILE_K + 16) + 64)

/* Below this, exp(x) is a float32 denormal: kernels return 0 instead, so no
** denormal ever reaches a multiply (denormal operands are ~50x slower). */
#define ATTN_EXP_FLUSH (-87.0f)

/* One query block of one head against the keys of its sequence. */
typedef struct attn_flash_args attn_flash_args;
struct attn_flash_args {
  int nQuery;                /* rows in the block, 1..ATTN_BLOCK_Q */
  int64_t nKey;              /* keys in the sequence */
  int nDimK;                 /* q·k width per head */
  int nDimV;                 /* v width per head */
  const float *q;            /* nQuery × nDimK, row stride ldq, pre-scaled */
  int64_t ldq;
  const float *kPacked;      /* ceil(nKey/ATTN_PANEL) panels, nDimK × ATTN_PANEL */
  const float *v;            /* nKey × nDimV, row stride ldv */
  int64_t ldv;
  const int64_t *aQPos;      /* nQuery positions, ascending */
  const int64_t *aKPos;      /* nKey positions, ascending */
  int bCausal;               /* key pos <= query pos */
  int64_t nWindow;           /* |qpos - kpos| < nWindow, 0 = off */
  float rSlope;              /* ALiBi slope of this head, 0 = off */
  float rSoftcap;            /* 0 = off */
  float *o;                  /* out: nQuery × nDimV, row stride ldo */
  int64_t ldo;
  float *aLse;               /* out: nQuery values, stride ldLse; -inf when a
                             ** row has no allowed key (its o row is 0) */
  int64_t ldLse;
  float *aScratch;           /* ATTN_FLASH_SCRATCH(nDimK) floats, 64-byte
                             ** aligned */
};

typedef struct attn_kernel_set attn_kernel_set;
struct attn_kernel_set {
  const char *zName;     /* "scalar", "avx2" or "avx512" */

  /* C[m×n] = A[m×k]·B[k×n], row-major with leading dimensions (elements).
  ** If bAccum, C += A·B instead. */
  void (*xGemm)(int64_t m, int64_t n, int64_t k,
                const float *A, int64_t lda, const float *B, int64_t ldb,
                float *C, int64_t ldc, int bAccum);

  /* Flash attention of one query block of one head (see attn_flash_args). */
  void (*xFlash)(const attn_flash_args *p);

  /* a[i] = exp(a[i]) for i < n with the exp the flash kernel uses (0 below
  ** ATTN_EXP_FLUSH, never a denormal); for tests of its accuracy. */
  void (*xExp)(float *a, int64_t n);

  /* Copy n float32 from src (any alignment) to dst (unless dst is NULL)
  ** and return non-zero if any of them is NaN or ±Inf (exponent bits all
  ** ones).  The decoder of every float32 BLOB uses it (vector.c): one
  ** pass over the bytes, checking as it copies. */
  int (*xCopyNonFinite)(float *dst, const void *src, int64_t n);
};

/* Tile-level mask logic shared by every kernel set.  Keys [k0,k1) of a tile
** against the block's queries, positions ascending on both sides. */
#define ATTN_TILE_SKIP   0   /* every pair masked: skip the tile */
#define ATTN_TILE_FULL   1   /* every pair allowed: no per-element mask */
#define ATTN_TILE_MIXED  2   /* check each pair */
#define ATTN_TILE_STOP   3   /* this and every later tile is masked */

static inline int attn_tile_class(const attn_flash_args *p, int64_t k0,
                                  int64_t k1){
  int64_t qLo = p->aQPos[0], qHi = p->aQPos[p->nQuery-1];
  int64_t kLo = p->aKPos[k0], kHi = p->aKPos[k1-1];
  int bFull = 1;
  if( p->bCausal ){
    if( kLo>qHi ) return ATTN_TILE_STOP;
    if( kHi>qLo ) bFull = 0;
  }
  if( p->nWindow>0 ){
    if( kLo>=qHi+p->nWindow ) return ATTN_TILE_STOP;
    if( kHi<=qLo-p->nWindow ) return ATTN_TILE_SKIP;
    if( qHi-kLo>=p->nWindow || kHi-qLo>=p->nWindow ) bFull = 0;
  }
  return bFull ? ATTN_TILE_FULL : ATTN_TILE_MIXED;
}

/* Is key position kpos allowed for query position qpos? */
static inline int attn_pair_allowed(const attn_flash_args *p, int64_t qpos,
                                    int64_t kpos){
  if( p->bCausal && kpos>qpos ) return 0;
  if( p->nWindow>0 && (qpos-kpos>=p->nWindow || kpos-qpos>=p->nWindow) ){
    return 0;
  }
  return 1;
}

/* Choose the kernel set (idempotent; the first call decides). */
void attn_kernels_init(void);

/* The chosen kernel set. */
const attn_kernel_set *attn_kernels(void);

/* Space-separated names of the levels this CPU supports, best last. */
const char *attn_kernels_available(void);

/* Space-separated names of every level this build has, whether or not this
** CPU runs it (a superset of attn_kernels_available(), same order): the
** tests count a built level the CPU lacks as skipped, by name. */
const char *attn_kernels_built(void);

/* The kernel sets (kernels_*.c).  Those the build cannot provide are NULL. */
extern const attn_kernel_set attn_kernels_scalar;
const attn_kernel_set *attn_kernels_avx2(void);
const attn_kernel_set *attn_kernels_avx512(void);

#endif /* ATTN_KERNELS_H */
