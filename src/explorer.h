/*
** explorer.h: the attention explorer, one self-contained HTML document of
** every head (and layer) of a set of score rows.
**
** An explorer collects rows (layer, head, query position, key position,
** weight, optional labels) with attn_explorer_add(), in any order; each
** (layer, head) pair is one map, drawn as attn_heatmap() draws one map:
**
**   - the axes are the distinct query and key positions of all the maps
**     together, each sorted ascending (the maps share their tokens), and a
**     (query, key) pair with no row in a map is absent from it;
**   - an axis of more than ATTN_EXPLORER_MAX positions is average-pooled
**     into blocks of ceil(N/ATTN_EXPLORER_MAX) consecutive positions, and
**     the small maps of the layer x head grid into blocks of
**     ceil(N/ATTN_EXPLORER_THUMB), each bin the mean of its rows;
**   - each map has its own colour scale, min(0, smallest weight) to its
**     largest weight, on the viridis table of attn_heatmap();
**   - the label of a position is the first one added for it, shown
**     sanitised (picture.h) and escaped for the JSON block it lands in.
**
** The document (attn_explorer_layout() then attn_explorer_write()) has a
** head view (query tokens left, key tokens right, one line per (query,
** key, head) whose opacity is the weight, one colour per head), a matrix
** view of one head, and with layers a grid of every layer x head.  Its
** data sit in non-executed <script> data blocks (JSON for the labels and
** numbers, base64 for the weights, stored as float16 times a power of two
** per map), its code and style inline, and a Content-Security-Policy meta
** element allows only that script and that style, by their SHA-256.
**
** Two rows for the same (layer, head, query, key) are an error, as in
** attn_heatmap().  Memory comes from attn_malloc() (alloc.h).
*/
#ifndef ATTN_EXPLORER_H
#define ATTN_EXPLORER_H

#include <stdint.h>
#include "error.h"

/* Positions a side drawn before pooling: as attn_heatmap()'s SVG. */
#define ATTN_EXPLORER_MAX        512
/* Positions a side of a small map of the layer x head grid. */
#define ATTN_EXPLORER_THUMB       64
/* At most this many (layer, head) maps in one document. */
#define ATTN_EXPLORER_MAX_MAPS  4096
/* The row limit the SQL function uses: 2^26 rows (12 layers x 12 heads
** x 512 x 512 is 37.7 million) take about 16 bytes each. */
#define ATTN_EXPLORER_MAX_ROWS  ((int64_t)1<<26)
/* Display columns of labels on the token columns and axes, and in the
** read-outs of one weight. */
#define ATTN_EXPLORER_LABEL_COLS 20
#define ATTN_EXPLORER_TIP_COLS   40

typedef struct attn_explorer attn_explorer;

/* A new empty explorer that accepts at most nMaxRow rows; bLayer says
** whether the rows have a layer (else every row is in one unnamed layer
** and the document has no grid).  NULL when out of memory. */
attn_explorer *attn_explorer_new(int64_t nMaxRow, int bLayer);

/* Free an explorer (NULL is a no-op). */
void attn_explorer_free(attn_explorer *p);

/* Add one row: weight w (finite) of query position q for key position k in
** head `head` of layer `layer` (ignored without layers).  zQ[0..nQ) and
** zK[0..nK) are the labels of the two positions as UTF-8 bytes (NULL for
** none; need not be valid UTF-8).  Fails with ATTN_ERROR for a non-finite
** weight, ATTN_TOOBIG past nMaxRow rows or ATTN_EXPLORER_MAX_MAPS maps,
** ATTN_NOMEM. */
int attn_explorer_add(attn_explorer *p, int64_t layer, int64_t head,
                      int64_t q, int64_t k, double w,
                      const char *zQ, int nQ, const char *zK, int nK,
                      attn_err *pErr);

/* Number of rows added so far. */
int64_t attn_explorer_count(const attn_explorer *p);

/* Bin the rows (which must number at least one) and measure the document:
** *pnByte is its exact size in bytes, before anything of it is built.  The
** rows are released; no row can be added after.  Fails with ATTN_ERROR for
** duplicate rows, ATTN_TOOBIG, ATTN_NOMEM. */
int attn_explorer_layout(attn_explorer *p, uint64_t *pnByte, attn_err *pErr);

/* Write the document laid out by attn_explorer_layout(): *pz is a
** NUL-terminated buffer from attn_malloc() of *pn bytes (without the NUL),
** the size layout reported.  Fails with ATTN_NOMEM. */
int attn_explorer_write(attn_explorer *p, char **pz, int64_t *pn,
                        attn_err *pErr);

/* The 16-bit half-precision (IEEE 754 binary16) bits nearest to x, ties to
** even; beyond the largest finite half, the largest finite half of x's
** sign; NaN gives the quiet NaN 0x7e00.  How the document stores weights
** (exposed for the unit test). */
uint16_t attn_explorer_half(double x);

#endif /* ATTN_EXPLORER_H */
