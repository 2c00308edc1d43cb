/*
** pool.h: attention pooling, the engine of attn_pool(q, k, v [, scale]).
**
**     pool = Σ_j softmax_j(scale · q·k_j) · v_j       over the rows j
**
** with scale 1/√dim(q) unless given.  Rows arrive one at a time
** (attn_pool_add) and are used in one of two ways, which the caller does not
** know in advance (SQL calls the same functions for an aggregate and for a
** window function):
**
**   a group    one q attends over every row (an aggregate): q and scale must
**              be the same in every row; attn_pool_final() gives the result.
**              One pass with an online softmax, O(d) memory.
**   a frame    rows enter and leave (attn_pool_remove drops the oldest), and
**              attn_pool_value() gives the result of the row added last: its
**              q and scale attend over the rows in the frame (a window
**              function).
**
** The use is read from the calls: a result asked for after the first row
** makes a frame, a second row added before any result makes a group.  A
** frame's result belongs to the row added last only if every result follows
** exactly one added row and that row is still in the frame: this is what
** SQLite does for a frame that ends at the current row and includes it
** (ROWS BETWEEN n PRECEDING AND CURRENT ROW, or RANGE/GROUPS ... CURRENT ROW
** with no two rows of equal ORDER BY value).  Any other frame breaks the
** pattern at its first result, and attn_pool_value() refuses it, saying how
** (it ends before the row, reaches past it, or starts after it): SQLite
** computes one result for all the peers of a RANGE or GROUPS frame, so peers
** with different q cannot each get their own.  A group whose rows differ in
** q or scale is an error at attn_pool_final(), or, if a result is asked for
** (a window frame that reaches past the row), the frame error.
**
** What cannot be seen: with EXCLUDE, SQLite computes each row's frame as a
** group of its own and never says which row is current, so attn_pool is then
** the group of the frame's rows (their common q attends over them).
**
** Numerics.  Scores are float64 dot products of the float32 inputs, always
** finite (|q·k| ≤ n·FLT_MAX² < 1e87 for vectors of n < 2^31 elements).  The
** weight of row j is exp(scale·(s_j − s_best)), s_best being the score that
** maximises scale·s, so the exponent is never positive and no finite scale
** overflows (a huge scale tends to the arg max, as it should).  The weighted
** sum of v is accumulated in float64; the result is a convex combination of
** the v's, so it lies within their range and is rounded to float32 once.
**
** A zeroed attn_pool is an empty one (it can live in SQLite's aggregate
** context); attn_pool_clear() frees what it holds.  Every allocation goes
** through alloc.h; every error is an ATTN_* code with a sentence in the
** attn_err.
*/
#ifndef ATTN_POOL_H
#define ATTN_POOL_H

#include <stdint.h>
#include "error.h"

/* The online softmax of one query: add rows (score, v) in any order. */
typedef struct attn_softmax_acc attn_softmax_acc;
struct attn_softmax_acc {
  double rScale;
  double rBest;        /* the raw score s that maximises scale·s so far */
  double rSum;         /* Σ exp(scale·(s_j − rBest)) */
  double *aAcc;        /* Σ exp(scale·(s_j − rBest))·v_j, nDimV of them */
  int64_t nDimV;
  int bAny;            /* a row was added */
};

/* Start an accumulator over aAcc[0..nDimV) (the caller's buffer). */
void attn_softmax_start(attn_softmax_acc *a, double rScale, double *aAcc,
                        int64_t nDimV);
/* Add a row of raw score s (q·k, before the scale) and value v. */
void attn_softmax_add(attn_softmax_acc *a, double s, const float *v);
/* The weighted mean of the values into aOut[0..nDimV); 0 if no row was
** added (the result is then nothing). */
int attn_softmax_result(const attn_softmax_acc *a, float *aOut);
/* The same in float64, unrounded, and the log-sum-exp log Σ exp(scale·s_j)
** into *pLse (attention's float64 path of a row, attention.c). */
int attn_softmax_result64(const attn_softmax_acc *a, double *aOut,
                          double *pLse);
/* The log-sum-exp of the rows added so far (-inf before the first). */
double attn_softmax_lse(const attn_softmax_acc *a);

#define ATTN_POOL_UNKNOWN  0
#define ATTN_POOL_GROUP    1
#define ATTN_POOL_FRAME    2

typedef struct attn_pool attn_pool;
struct attn_pool {
  int eMode;                 /* ATTN_POOL_UNKNOWN, _GROUP or _FRAME */
  int64_t nDimK, nDimV;      /* fixed by the first row without a NULL */
  int64_t nAdd;              /* rows added (skipped ones too) */
  int64_t nValue;            /* results asked for */
  int64_t nSinceValue;       /* rows added since the last result */
  int bRemoved;              /* a row was removed (only frames do that) */
  /* A frame's current row (the row added last), or the group's first row
  ** without a NULL: its q and scale. */
  float *aQ;                 /* nDimK */
  double rScale;
  int bQNull;                /* the current row was skipped (frame) */
  /* Group: the online softmax, the row that gave q and scale, and the first
  ** row that broke the rules (reported by attn_pool_final). */
  attn_softmax_acc acc;
  double *aAcc;              /* nDimV, the accumulator's (with the dims) */
  int64_t iGroupRow;
  int64_t iBadRow;           /* 0, or the row whose q or scale differs */
  int bBadScale;             /* it is the scale that differs */
  double rBadScale;
  /* Frame: the rows' k and v in a ring (a skipped row is a slot marked
  ** NULL, so removals stay in step). */
  float *aRing;              /* nSlot × (nDimK + nDimV) */
  unsigned char *aNull;      /* nSlot */
  int64_t nSlot, iHead, nRow;
  int64_t nRingW;            /* floats per slot (0 until the dims are known) */
  float *aOut;               /* the last result, nDimV */
  double *aWork;             /* nDimV, for a frame's result */
};

/* Add a row.  q, k or v NULL: the row is skipped (as SUM skips NULL), but
** counts as a row of a frame.  pScale NULL: the default 1/√dim(q). */
int attn_pool_add(attn_pool *p, const float *q, int64_t nQ, const float *k,
                  int64_t nK, const float *v, int64_t nV, const double *pScale,
                  attn_err *pErr);

/* Remove the oldest row (a frame). */
void attn_pool_remove(attn_pool *p);

/* The result of the row added last, over the frame: *paOut is set to nDimV
** floats owned by p (valid until the next call), or NULL when the row was
** skipped.  An error when the calls do not fit a frame that ends at the row
** (see above). */
int attn_pool_value(attn_pool *p, const float **paOut, int64_t *pnOut,
                    attn_err *pErr);

/* The result of a group (or of a frame's end, which is nothing): *paOut as
** for attn_pool_value(), NULL for a group with no row left. */
int attn_pool_final(attn_pool *p, const float **paOut, int64_t *pnOut,
                    attn_err *pErr);

/* Free what p holds and zero it. */
void attn_pool_clear(attn_pool *p);

#endif /* ATTN_POOL_H */
