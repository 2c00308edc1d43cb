/*
** attention.h: the attention engine of sqlite-attention, as a C library.
**
** Given N query rows and M key rows it computes, for each query row i and
** head h,
**
**     out_h(i) = Σ_j exp(s_h(i,j)) · v_h(j) / (Σ_j exp(s_h(i,j)) + exp(sink_h))
**     s_h(i,j) = softcap(scale · q_h(i)·k_h(j)) − slope_h·|pos_i − pos_j|
**                + bias_j
**
** over the keys j allowed (without sinks, exp(sink_h) = 0: the softmax),
** with Q = Xq·W_Q + b_Q, K = Xk·W_K + b_K, V = Xv·W_V + b_V (W row-major,
** d_in × d_out; a missing W is the identity; W_Q, W_K and W_V may come
** packed in one matrix, wqkv), RoPE applied to Q and K per
** head, heads concatenated and multiplied by W_O (+ b_O).  Key j is allowed
** for query i when both are in the same sequence (equal seq ids) and, if
** set, pos_j ≤ pos_i (causal), |pos_i − pos_j| < window, and pos_i −
** window_left ≤ pos_j ≤ pos_i + window_right.  Each of the
** kv_heads K/V heads serves a contiguous group of heads/kv_heads query heads
** (grouped-query attention, as PyTorch's repeat_interleave).
**
** How it runs.  attn_state_new() validates everything, sorts the rows by
** (seq, pos), projects all rows with one matrix multiply per weight, applies
** RoPE and the scale, and packs K for the kernels.  Outputs are then
** computed a block of query rows at a time (flash attention: tiles of
** queries × keys with a running max and sum per row, so the N×M score
** matrix never exists, and tiles the mask excludes are skipped).
** attn_output() computes the block a row belongs to on first use, so a
** caller that reads rows one by one pays as it goes and can stop any time;
** attn_forward() computes everything.  attn_scores_*() iterate over the
** score rows of one query row, in O(M·d).
**
** Memory is O((N+M)·d).  Every allocation goes through alloc.h; every
** failure returns an ATTN_* code with a message in the attn_err, and leaves
** nothing allocated.  Output bits do not depend on the thread count.
*/
#ifndef ATTN_ATTENTION_H
#define ATTN_ATTENTION_H

#include <stdint.h>
#include "error.h"
#include "threads.h"

/* Documented limits (each checked in one place, with one message: the
** validators and option setters below, which attn_state_new() uses too). */
#define ATTN_MAX_HEADS   1024
#define ATTN_MAX_DIM     65536          /* elements of any input or projection */
#define ATTN_MAX_ROWS    ((int64_t)1<<30)
#define ATTN_MAX_POS     ((int64_t)1<<53)  /* |position|: distances stay exact */

/* A weight matrix or bias vector: a row-major float array of n elements,
** or absent (a == NULL). */
typedef struct attn_tensor attn_tensor;
struct attn_tensor {
  const float *a;
  int64_t n;
};

typedef struct attn_input attn_input;
struct attn_input {
  int64_t nQuery;            /* query rows */
  int64_t nKey;              /* key/value rows */
  /* Inputs of the projections, row-major.  For self-attention pass the same
  ** array for all three; when k and v differ (cross-attention, or rows that
  ** carry already-projected q, k, v) pass each. */
  const float *aXq; int64_t nXq;     /* nQuery × nXq: input of W_Q */
  const float *aXk; int64_t nXk;     /* nKey × nXk: input of W_K */
  const float *aXv; int64_t nXv;     /* nKey × nXv: input of W_V */
  /* Or one pointer per row instead (nQuery or nKey of them, each row nX*
  ** floats): rows need not be contiguous, so a caller that reads rows into
  ** blocks need not copy them into one array.  When set, these are used
  ** and aXq, aXk, aXv are ignored. */
  const float *const *apXq, *const *apXk, *const *apXv;
  /* Sequence ids and positions, one per row; NULL means all in sequence 0,
  ** or position = the row's order among the rows of its sequence. */
  const int64_t *aSeqQ, *aSeqK;
  const int64_t *aPosQ, *aPosK;
  attn_tensor wq, wk, wv, wo;        /* weights; absent = identity */
  attn_tensor bq, bk, bv, bo;        /* biases; absent = zero */
  /* Or W_Q, W_K and W_V packed side by side, as GPT-2's c_attn (Conv1D,
  ** x·W) and ONNX's Attention op store them: wqkv is d_in × (q_out +
  ** 2·kv_out) with each row Q | K | V, q_out = heads·head_dim and kv_out =
  ** kv_heads·head_dim, so head_dim = columns / (heads + 2·kv_heads).  It
  ** needs nXq == nXk == nXv and excludes wq, wk and wv; the engine reads
  ** its column slices in place.  bqkv is b_Q | b_K | b_V, as wide as the
  ** three projections together (packed or not), and excludes bq, bk and
  ** bv. */
  attn_tensor wqkv, bqkv;
  /* ALiBi with these slopes (one per query head, finite, >= 0) instead of
  ** the standard ones; given, it turns ALiBi on (as FlashAttention's
  ** alibi_slopes). */
  attn_tensor alibiSlopes;
  /* Per-head sink logits (one per query head, finite; gpt-oss style): each
  ** head's softmax denominator gets exp(sink_h) more, as an extra key of
  ** value 0, so the weights of the keys sum to less than 1 and the lse
  ** includes it.  Absent: no sink. */
  attn_tensor sinks;
  /* Per-key additive bias (nKey floats in key input order, finite; NULL:
  ** none): added to every head's score of that key after softcap and
  ** ALiBi (log-priors, recency boosts; as an additive float attn_mask). */
  const float *aBiasK;
};

typedef struct attn_options attn_options;
struct attn_options {
  int nHead;                 /* query heads (default 1 when 0) */
  int nKvHead;               /* K/V heads (0 = nHead) */
  int bScale;                /* use rScale instead of 1/√head_dim */
  double rScale;
  int bCausal;               /* key pos ≤ query pos */
  int64_t nWindow;           /* |query pos − key pos| < nWindow; 0 = off */
  /* An asymmetric window (FlashAttention's window_size, ONNX's left and
  ** right windows): query pos − nWindowLeft ≤ key pos ≤ query pos +
  ** nWindowRight, each side only when its b* is set (values >= 0; a bound
  ** of 2^54 or more allows everything).  nWindow = w is the same as both
  ** set to w − 1, and excludes them; with bCausal the masks intersect (the
  ** right bound becomes 0). */
  int bWindowLeft, bWindowRight;
  int64_t nWindowLeft, nWindowRight;
  int bAlibi;                /* ALiBi bias, standard slopes */
  double rRopeBase;          /* RoPE base; 0 = off */
  int eRopeStyle;            /* ATTN_ROPE_NEOX or ATTN_ROPE_INTERLEAVED */
  double rSoftcap;           /* softcap·tanh(s/softcap); 0 = off */
  int ePrecision;            /* ATTN_PRECISION_FP32 (0) or _BF16: Q, K, P,
                             ** V and the projections' operands rounded to
                             ** bfloat16, float32 sums and softmax */
  int eDtype;                /* how the SQL binding reads the source and keys
                             ** vector BLOBs: ATTN_VEC_F32 (0), _F16 or _BF16
                             ** (vector.h); the engine's inputs are float
                             ** arrays whatever it is */
  int nThread;               /* threads in all (default 1 when 0) */
  attn_threads *pThreads;    /* workers to run on (threads.h), kept by the
                             ** caller; states may share them as long as no
                             ** two run at once (so xPoll must not compute
                             ** on them).  NULL: a state with nThread > 1
                             ** starts its own and joins them when freed */
  int bNoValues;             /* only scores will be read: skip V and W_O */
  /* Polled on the calling thread between chunks of long work (by
  ** attn_state_new() between chunks of projected rows, by attn_forward()
  ** after each block-and-head task the calling thread computes); a
  ** non-zero return stops the work with ATTN_INTERRUPT, and what was not
  ** computed is computed on a later call (attn_forward() finishes at least
  ** one group of blocks per call, so repeated calls get to the end).  May
  ** be NULL. */
  int (*xPoll)(void *pPollArg);
  void *pPollArg;
};

/*
** Options by name, as the SQL binding sets them from its hidden columns: the
** engine owns their names, kinds, rules and messages.  Each setter checks an
** explicit value (a setting left out keeps the default) and stores it; on
** error pErr gets a sentence naming the option ("heads is 1025, expected 1
** to 1024").  The caller converts its values to the kind first: an integer
** (ATTN_OPT_INT, and ATTN_OPT_BOOL, which must be 0 or 1), a finite number
** (ATTN_OPT_REAL) or text (ATTN_OPT_TEXT).
*/
#define ATTN_OPT_HEADS       0
#define ATTN_OPT_KV_HEADS    1
#define ATTN_OPT_SCALE       2
#define ATTN_OPT_CAUSAL      3
#define ATTN_OPT_WINDOW      4
#define ATTN_OPT_ALIBI       5
#define ATTN_OPT_ROPE        6
#define ATTN_OPT_ROPE_STYLE  7
#define ATTN_OPT_SOFTCAP     8
#define ATTN_OPT_THREADS     9
#define ATTN_OPT_PRECISION  10
#define ATTN_OPT_DTYPE      11
#define ATTN_OPT_WINDOW_LEFT  12
#define ATTN_OPT_WINDOW_RIGHT 13
#define ATTN_OPT_COUNT      14

#define ATTN_PRECISION_FP32  0
#define ATTN_PRECISION_BF16  1

#define ATTN_OPT_INT   0
#define ATTN_OPT_BOOL  1
#define ATTN_OPT_REAL  2
#define ATTN_OPT_TEXT  3

/* The name ("heads", "kv_heads", ...) and kind of option iOpt. */
const char *attn_option_name(int iOpt);
int attn_option_kind(int iOpt);

/* The options with nothing set: one head, one thread, no mask. */
void attn_options_init(attn_options *pOpt);

/* Set option iOpt to an integer, a number or a text (by its kind). */
int attn_option_set_int(attn_options *pOpt, int iOpt, int64_t v,
                        attn_err *pErr);
int attn_option_set_real(attn_options *pOpt, int iOpt, double r,
                         attn_err *pErr);
int attn_option_set_text(attn_options *pOpt, int iOpt, const char *z,
                         int64_t n, attn_err *pErr);
/* A text option from a value of kind eKind (utf8.h's ATTN_KIND_*: what the
** SQL binding was given), so that a value that is not text is refused by
** what it is ("dtype is the integer 16, expected 'f32', 'f16' or 'bf16'");
** attn_option_set_text() is this with ATTN_KIND_TEXT. */
int attn_option_set_word(attn_options *pOpt, int iOpt, int eKind,
                         const char *z, int64_t n, attn_err *pErr);

/* Row values a caller may check while reading rows (attn_state_new()
** checks them too): a vector of n elements for an input, and a position.
** On error pErr gets a predicate ("has 65537 dimensions, more than the
** maximum 65536", "is 9007199254740993, expected -2^53 to 2^53"). */
int attn_check_dim(int64_t n, attn_err *pErr);
int attn_check_pos(int64_t iPos, attn_err *pErr);
/* A key's bias: a finite number within float32's range ("is 1e+39,
** expected a finite number within float32's range"). */
int attn_check_bias(double r, attn_err *pErr);

typedef struct attn_state attn_state;

/* Validate, project and prepare.  On success *ppState owns everything it
** needs; the caller may free the input arrays. */
int attn_state_new(const attn_input *pIn, const attn_options *pOpt,
                   attn_state **ppState, attn_err *pErr);

/* Free a state (NULL is a no-op). */
void attn_state_free(attn_state *p);

/* Shape of the results. */
int64_t attn_state_rows(const attn_state *p);     /* query rows */
int64_t attn_state_out_dim(const attn_state *p);  /* elements of an output */
int attn_state_heads(const attn_state *p);         /* query heads */

/* The output of query row iRow (0-based, input order) and its per-head
** log-sum-exp (nHead values).  Computes the row's block if needed.  Both
** pointers are set to NULL when, and only when, the row has no key it may
** attend to (by the masks).  A row whose float32 computation overflowed is
** computed again in float64 from the projected Q, K and V; only an output
** that does not fit float32 is an error (ATTN_ERROR, naming the element),
** as is a Q, K or V that overflowed when projected.  The lse is in the
** definition's frame, with ALiBi too (the kernels' frame, relative to the
** row's nearest key, moved back in float64), so the lse of disjoint key
** sets merge.  One that does not fit float32 is ±Infinity (the output is
** still exact).  The pointers stay
** valid until attn_state_free(). */
int attn_output(attn_state *p, int64_t iRow, const float **paOut,
                const float **paLse, attn_err *pErr);

/* Compute every output: as many blocks per run of the threads as the
** buffer budget allows (all of them for most sizes).  attn_output() then
** only looks rows up. */
int attn_forward(attn_state *p, attn_err *pErr);

/* One score row: key row iKey (input order) for head iHead. */
typedef struct attn_score attn_score;
struct attn_score {
  int64_t iKey;
  int iHead;
  double rScore;     /* scaled logit, after softcap, ALiBi and bias (the
                     ** definition's, not the kernels' frame) */
  double rWeight;    /* softmax probability (with sinks, the weights of a
                     ** head sum to 1 − the sink's weight) */
};

/* Iterator over the score rows of one query row: for each head (all, or
** only iHead when iHead >= 0), each allowed key in position order. */
typedef struct attn_score_iter attn_score_iter;

int attn_scores_open(attn_state *p, int64_t iRow, int iHead,
                     attn_score_iter **ppIter, attn_err *pErr);
/* Fill *pScore and return 1, or return 0 at the end. */
int attn_scores_next(attn_score_iter *pIter, attn_score *pScore);
void attn_scores_close(attn_score_iter *pIter);

/* Fill aPos[0..n) with the default positions of rows whose sequence ids
** are aSeq (NULL: all 0): each row's rank among the rows of its sequence,
** in input order, from 0. */
int attn_default_positions(int64_t n, const int64_t *aSeq, int64_t *aPos,
                           attn_err *pErr);

/* The sequence id and position of query row iRow and key row iKey (input
** order), as used by the masks (defaults filled in). */
int64_t attn_query_seq(const attn_state *p, int64_t iRow);
int64_t attn_query_pos(const attn_state *p, int64_t iRow);
int64_t attn_key_pos(const attn_state *p, int64_t iKey);

#endif /* ATTN_ATTENTION_H */
