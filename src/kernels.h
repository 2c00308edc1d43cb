/*
** kernels.h: the compute kernels of the engine and their one dispatch point.
**
** A kernel set is a table of function pointers (attn_kernel_set, below).
** Every set is built from the same code: kernels_driver.h holds the loops
** and the bookkeeping, written once in plain C (flash attention with its
** tiling, masks, online softmax, softcap and ALiBi; the projection GEMM;
** exp; the copy-and-check of vector decoding and the widening of half
** vectors), and each level file defines the handful of primitives the
** driver is written against (a vector of KD_W floats, loads and stores
** with masks, FMA, max, compares, blends) and the shapes of its register
** tiles, then includes the driver:
**
**   kernels_scalar.c   portable C, 1 lane: the reference, and the fallback
**                      on any CPU
**   kernels_emu16.c    portable C, 16 lanes and the tile shapes of the
**                      AVX-512 level: runs everywhere, so the driver as the
**                      AVX-512 level instantiates it is tested on every
**                      machine (never chosen automatically; slow)
**   kernels_avx2.c     AVX2 + FMA, 8 lanes
**   kernels_avx512.c   AVX-512 F/BW/DQ/VL, 16 lanes (kernels_avx512.h)
**   kernels_avx512bf16.c  the same, bf16 products on VDPBF16PS
**   kernels_amx.c      the same, bf16 flash attention on AMX tiles
**   kernels_amxemu.c   AMX's tiling on tile operations written in C, the
**                      scalar level's primitives: for testing, everywhere
**
** The SIMD files compile their functions with a target attribute, never
** the whole library with -mavx2, so one binary runs on any x86-64.
** attn_kernels_init() picks the best level the CPU supports (cpuid, once);
** ATTN_KERNEL=<name> forces another available one, for tests.  Everything
** else calls attn_kernels().
**
** Every level computes the same bits.  Each element of a result is the
** same sequence of float operations at every level (products accumulated
** with FMA in the same order, the same exp and tanh built from the same
** primitives, the same tiles of keys), and the scalar level uses fmaf(); so
** tests compare the levels bit for bit, not within a tolerance.
*/
#ifndef ATTN_KERNELS_H
#define ATTN_KERNELS_H

#include <stdint.h>

/*
** Flash-attention tiling, shared by the engine (which lays the data out) and
** every kernel level.  Queries come in blocks of at most ATTN_BLOCK_Q rows;
** the keys of a sequence are packed per head in panels of ATTN_PANEL keys,
** each panel d×ATTN_PANEL with the keys as the fast dimension (zero-padded
** past the last key), and the driver walks them in tiles of ATTN_TILE_K
** keys (the same tiles at every level: the online softmax rescales at tile
** boundaries, so the tiles are part of what makes the levels agree).
*/
#define ATTN_BLOCK_Q   64
#define ATTN_TILE_K    128
#define ATTN_PANEL     16
/* A call of the flash kernel takes up to ATTN_FLASH_BLOCKS consecutive
** blocks of one sequence and head, which then share each tile of keys as it
** is read (for long sequences K and V outgrow the caches).  Floats of
** scratch it needs (64-byte aligned), for heads nDimK wide in q·k and nDimV
** wide in v: the score tile, then per block its q transposed, its output
** transposed and per-row statistics. */
#define ATTN_FLASH_BLOCKS 4
#define ATTN_FLASH_SCRATCH_S ((int64_t)ATTN_BLOCK_Q*(ATTN_TILE_K + ATTN_TILE_K/2))
#define ATTN_FLASH_SCRATCH_BLOCK(nDimK, nDimV) \
  ((int64_t)ATTN_BLOCK_Q*((int64_t)(nDimK) + ATTN_BF16_DIM_PAD/2 \
   + (int64_t)(nDimV) + 16 + 16))
#define ATTN_FLASH_SCRATCH(nDimK, nDimV, nBlock) \
  (ATTN_FLASH_SCRATCH_S + (int64_t)(nBlock)*ATTN_FLASH_SCRATCH_BLOCK(nDimK, nDimV))

/*
** bfloat16 (precision = 'bf16'): Q, K, P and V are rounded to bfloat16 (to
** nearest, ties to even), their products accumulated in float32, and the
** softmax is float32, as GPU FlashAttention kernels do.  The bf16 kernels
** read K as rows of ldk bf16 (dimensions zero-padded to a multiple of
** ATTN_BF16_DIM_PAD, keys to a multiple of ATTN_BF16_KEY_PAD) and V
** transposed, nDimV rows (zero-padded to a multiple of 16) of ldvt bf16
** (keys zero-padded to a multiple of ATTN_BF16_KEY_PAD): the layouts both
** the dot product of bf16 pairs (VDPBF16PS and its emulation) and AMX tiles
** use (AMX reads keys in groups of 32: 16 rows of K, 16 pairs of V).
*/
#define ATTN_BF16_DIM_PAD 32
#define ATTN_BF16_KEY_PAD 32
#define ATTN_BF16_VROW_PAD 16

/* x rounded to bfloat16 bits (finite x), and back. */
static inline uint16_t attn_bf16(float x){
  union { float f; uint32_t u; } v;
  v.f = x;
  return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16);
}
static inline float attn_bf16_f32(uint16_t h){
  union { float f; uint32_t u; } v;
  v.u = (uint32_t)h << 16;
  return v.f;
}
static inline int64_t attn_round_up(int64_t n, int64_t m){
  return (n + m-1)/m*m;
}

/* Below this, exp(x) is a float32 denormal: the kernels give 0 instead, so
** no denormal ever reaches a multiply (denormal operands are ~50x slower). */
#define ATTN_EXP_FLUSH (-87.0f)

/* A window at least this wide allows every pair of positions (positions
** are within ±2^53, so no two are more than 2^54 apart): the engine clips
** every window bound to it, so position arithmetic with a bound never
** overflows (a sum or difference of two positions and a bound stays
** within ±2^55). */
#define ATTN_WINDOW_ALL ((int64_t)1<<54)

/*
** The softcap c·tanh(s/c), for any c > 0, in float32 (attn_softcap_init).
** It is computed as s·g(x), x = s/c, g(x) = tanh(x)/x: so a huge c gives
** exactly s (x underflows, g = 1) and a tiny one ±c (x overflows, tanh = ±1)
** instead of Infinity or NaN.  x = s·2^e1·2^e2·(1/m) with c = m·2^-(e1+e2)
** (the two powers of two keep each factor a float32 and the products exact
** until x itself is out of range), and for |x| >= 0.625 the result is
** ±(m·tanh|x|)·2^-e1·2^-e2.
*/
typedef struct attn_softcap attn_softcap;
struct attn_softcap {
  int bOn;                   /* 0: no softcap */
  float rPre1, rPre2;        /* 2^e1, 2^e2 */
  float rInvM, rM;           /* 1/m (rounded), m, with m in [1, 2) */
  float rPost1, rPost2;      /* 2^-e1, 2^-e2 */
};
/* Constants for softcap c (0 = off; c must be finite and >= 0). */
void attn_softcap_init(attn_softcap *p, double c);

/* Up to ATTN_FLASH_BLOCKS query blocks of one head against the keys of
** their sequence: rows [64b, 64b+64) are block b; every block but the last
** has 64 rows. */
typedef struct attn_flash_args attn_flash_args;
struct attn_flash_args {
  int nQuery;                /* rows, 1..ATTN_BLOCK_Q·ATTN_FLASH_BLOCKS */
  int64_t nKey;              /* keys in the sequence */
  int nDimK;                 /* q·k width per head */
  int nDimV;                 /* v width per head */
  const float *q;            /* nQuery × nDimK, row stride ldq, pre-scaled */
  int64_t ldq;
  const float *kPacked;      /* ceil(nKey/ATTN_PANEL) panels, nDimK × ATTN_PANEL */
  const float *v;            /* nKey × nDimV, row stride ldv */
  int64_t ldv;
  const uint16_t *kBf16;     /* bf16 calls instead: keys × ldk (see above) */
  int64_t ldk;
  const uint16_t *vtBf16;    /* bf16 calls: V transposed, rows ldvt apart */
  int64_t ldvt;
  const int64_t *aQPos;      /* nQuery positions, ascending */
  const int64_t *aKPos;      /* nKey positions, ascending */
  /* The mask: key kpos is allowed for query qpos when qpos − nLeft <=
  ** kpos <= qpos + nRight; each bound 0 to ATTN_WINDOW_ALL (no bound: no
  ** two positions are that far apart).  Causal is nRight = 0. */
  int64_t nLeft, nRight;
  /* ALiBi (rSlope != 0): score -= rSlope·(|qpos - kpos| - aAlibiRef[r]),
  ** where aAlibiRef[r] is the distance from row r to its nearest allowed
  ** key (a constant per row, which the softmax ignores): the bias of the
  ** keys that matter stays small, so scores stay exact relative to each
  ** other at any distance. */
  float rSlope;
  const int64_t *aAlibiRef;  /* nQuery distances (when rSlope != 0) */
  attn_softcap cap;          /* applied to q·k before ALiBi */
  const float *aKBias;       /* nKey biases added to the keys' scores after
                             ** ALiBi; NULL: none */
  /* A sink (bSink): each row's softmax denominator gets exp(rSink +
  ** rSlope·aAlibiRef[r]) more (the sink logit in the rows' ALiBi frame,
  ** computed in float64 and rounded once), an extra key of value 0, added
  ** after the last tile; rows with no allowed key stay without.  The sink
  ** is in o, not in aLse: the caller adds it to the lse in float64 in its
  ** own frame, since in the ALiBi frame a sink far above the keys is a
  ** large number whose float32 rounding would swamp the lse. */
  int bSink;
  float rSink;
  float *o;                  /* out: row r at o + (r/64)·ldoBlock + (r%64)·ldo */
  int64_t ldo, ldoBlock;
  float *aLse;               /* out: row r's at aLse + (r/64)·ldLseBlock +
                             ** (r%64)·ldLse, the log-sum-exp of its allowed
                             ** keys' scores in the ALiBi frame (without the
                             ** sink): -inf when a row has no allowed key
                             ** (its o row is 0), NaN when one of its scores
                             ** was not finite */
  int64_t ldLse, ldLseBlock;
  float *aScratch;           /* ATTN_FLASH_SCRATCH(nDimK, nDimV, blocks)
                             ** floats, 64-byte aligned */
};

typedef struct attn_kernel_set attn_kernel_set;
struct attn_kernel_set {
  const char *zName;     /* "scalar", "emu16", "avx2", "avx512", ... */

  /* C[m×n] = A[m×k]·B[k×n], row-major with leading dimensions (elements).
  ** If bAccum, C += A·B instead.  Each element of C is its products summed
  ** with FMA in k order (from 0, or from C when bAccum). */
  void (*xGemm)(int64_t m, int64_t n, int64_t k,
                const float *A, int64_t lda, const float *B, int64_t ldb,
                float *C, int64_t ldc, int bAccum);

  /* Flash attention of one query block of one head (see attn_flash_args). */
  void (*xFlash)(const attn_flash_args *p);

  /* The same in bfloat16 (kBf16 and vtBf16 instead of kPacked and v; q is
  ** rounded to bf16 as it is read), and the GEMM with A and B rounded to
  ** bf16.  zBf16 says how the bf16 products are computed: "emulated" (two
  ** float32 FMAs per pair, exact products), "avx512bf16" or "amx". */
  void (*xFlashBf16)(const attn_flash_args *p);
  void (*xGemmBf16)(int64_t m, int64_t n, int64_t k,
                    const float *A, int64_t lda, const float *B, int64_t ldb,
                    float *C, int64_t ldc, int bAccum);
  const char *zBf16;

  /* a[i] = exp(a[i]) for i < n, with the exp the flash kernel uses (for
  ** x <= 0: 0 below ATTN_EXP_FLUSH, never a denormal; NaN stays NaN), or
  ** with bP the one of the bf16 path's P; for tests of their accuracy. */
  void (*xExp)(float *a, int64_t n, int bP);

  /* Copy n float32 from src (any alignment) to dst (unless dst is NULL)
  ** and return non-zero if any of them is NaN or ±Inf.  The decoder of
  ** every float32 BLOB uses it (vector.c): one pass over the bytes,
  ** checking as it copies. */
  int (*xCopyNonFinite)(float *dst, const void *src, int64_t n);

  /* Widen n float16 (bF16) or bfloat16 (!bF16) values, little-endian at
  ** src (any alignment), to float32 in dst, exactly (denormals kept,
  ** whatever the FPU's flush modes), and return non-zero if any of them is
  ** Inf or NaN (whose floats in dst are then unspecified).  The decoder of
  ** every half BLOB uses it (vector.c). */
  int (*xWidenHalf)(float *dst, const void *src, int64_t n, int bF16);

  /* dst[i] = src[i] rounded to bfloat16 as attn_bf16 rounds (to nearest,
  ** ties to even), as the float it stands for, for i < n (dst may be src):
  ** the engine's rounding of Q, K and V for precision = 'bf16'. */
  void (*xRoundBf16)(float *dst, const float *src, int64_t n);
};

/*
** The mask, shared by the driver and by the engine's float64 score rows.
** Keys [k0,k1) of a tile against the block's queries, positions ascending
** on both sides.  With bounds within [0, ATTN_WINDOW_ALL] and positions
** within ±2^53 no sum or difference here overflows.
*/
#define ATTN_TILE_SKIP   0   /* every pair masked: skip the tile */
#define ATTN_TILE_FULL   1   /* every pair allowed: no per-element mask */
#define ATTN_TILE_MIXED  2   /* check each pair */
#define ATTN_TILE_STOP   3   /* this and every later tile is masked */

static inline int attn_tile_class(const attn_flash_args *p, int64_t k0,
                                  int64_t k1){
  int64_t qLo = p->aQPos[0], qHi = p->aQPos[p->nQuery-1];
  int64_t kLo = p->aKPos[k0], kHi = p->aKPos[k1-1];
  if( kLo-qHi>p->nRight ) return ATTN_TILE_STOP;   /* after every row's */
  if( qLo-kHi>p->nLeft ) return ATTN_TILE_SKIP;    /* before every row's */
  if( qHi-kLo>p->nLeft || kHi-qLo>p->nRight ) return ATTN_TILE_MIXED;
  return ATTN_TILE_FULL;
}

/* Is key position kpos allowed for query position qpos, with bounds nLeft
** and nRight (as in attn_flash_args)? */
static inline int attn_pair_allowed(int64_t nLeft, int64_t nRight,
                                    int64_t qpos, int64_t kpos){
  return qpos-kpos<=nLeft && kpos-qpos<=nRight;
}

/* The name of a level file's own function or type: NAME_<KD_LEVEL>, so the
** files a single-file build joins do not collide. */
#define KD_PASTE2(a, b) a##_##b
#define KD_PASTE(a, b) KD_PASTE2(a, b)
#define KD_FN(name) KD_PASTE(name, KD_LEVEL)

/* Choose the kernel set (idempotent; the first call decides). */
void attn_kernels_init(void);

/* The chosen kernel set. */
const attn_kernel_set *attn_kernels(void);

/* Space-separated names of the levels this CPU can run, in order (best
** last among those chosen automatically). */
const char *attn_kernels_available(void);

/* Space-separated names of every level this build has, whether or not this
** CPU can run it. */
const char *attn_kernels_built(void);

/* How the chosen level computes precision = 'bf16', for attn_debug(): its
** name and the instructions ("amx (AMX tiles: TDPBF16PS)", ..., "avx2
** (emulated: operands rounded to bf16, float32 FMAs)"). */
const char *attn_kernels_bf16(void);

/* The kernel set of one level by name, if this CPU can run it; else NULL.
** For tests and benchmarks that compare levels in one process. */
const attn_kernel_set *attn_kernels_level(const char *zName);

/* The levels (kernels_*.c).  Those the build cannot provide return NULL. */
const attn_kernel_set *attn_kernels_scalar(void);
const attn_kernel_set *attn_kernels_emu16(void);
const attn_kernel_set *attn_kernels_avx2(void);
const attn_kernel_set *attn_kernels_avx512(void);
const attn_kernel_set *attn_kernels_amxemu(void);
const attn_kernel_set *attn_kernels_avx512bf16(void);
const attn_kernel_set *attn_kernels_amx(void);

#endif /* ATTN_KERNELS_H */
