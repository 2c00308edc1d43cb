/*
** heatmap.h: pictures of attention, from score rows to an SVG document or
** to text for a terminal.
**
** A map collects rows (query position, key position, weight, optional
** labels) with attn_heatmap_add(), in any order, then draws them:
**
**   - the axes are the distinct query positions (rows, top to bottom) and
**     the distinct key positions (columns, left to right), each sorted
**     ascending; positions need not start at 0 nor be contiguous;
**   - a (query, key) pair with no row is "absent" (a mask removed it) and
**     is drawn in a neutral colour, never as a weight;
**   - the colour scale runs from min(0, smallest weight) to the largest
**     weight, so for probabilities the strongest weight of the map is the
**     top colour and 0 the bottom one;
**   - an axis with more distinct positions than the renderer draws (512 for
**     SVG, 64 for text) is average-pooled into equal blocks of consecutive
**     positions (the mean of the rows present in each block), and the
**     picture says so;
**   - the label of a position is the first label added for it; a position
**     with no label shows its number.  Labels are shown sanitised: invalid
**     UTF-8 becomes U+FFFD, control characters their Unicode control
**     pictures (U+2400...), so neither XML nor a terminal sees them raw.
**
** Two rows for the same (query, key) pair are an error (they usually mean
** several heads or sequences were fed to one map).
**
** attn_heatmap_svg() writes a standalone SVG 1.1 document: viridis colours,
** labelled axes (key labels rotated), a legend with the scale's ends, the
** smallest and largest weight and the colour of absent cells, and a tooltip
** per cell for maps of at most 64x64 cells.  attn_heatmap_text() writes a
** shade-character matrix for a terminal.  attn_bar() draws one weight as a
** bar of Unicode block characters.
**
** Memory comes from attn_malloc() (see alloc.h); output buffers are freed
** with attn_free().
*/
#ifndef ATTN_HEATMAP_H
#define ATTN_HEATMAP_H

#include <stdint.h>
#include "error.h"

/* Largest number of rows and columns drawn before pooling. */
#define ATTN_HEATMAP_SVG_MAX   512
#define ATTN_HEATMAP_TEXT_MAX   64

/* Maps of at most this many cells get a tooltip (<title>) per cell. */
#define ATTN_HEATMAP_TOOLTIP_MAX 4096

/* The row limit the SQL functions use: 2^24 rows (a dense 4096x4096 map)
** take 384 MiB, more than any picture needs. */
#define ATTN_HEATMAP_MAX_ROWS  ((int64_t)1<<24)

typedef struct attn_heatmap attn_heatmap;

/* A new empty map that accepts at most nMaxRow rows, or NULL when out of
** memory. */
attn_heatmap *attn_heatmap_new(int64_t nMaxRow);

/* Free a map (NULL is a no-op). */
void attn_heatmap_free(attn_heatmap *p);

/* Add one row: weight w (finite) of query position q for key position k.
** zQ[0..nQ) and zK[0..nK) are the labels of the two positions, as UTF-8
** bytes (NULL for none; need not be valid UTF-8).  Fails with ATTN_ERROR
** for a non-finite weight, ATTN_TOOBIG past nMaxRow rows, ATTN_NOMEM. */
int attn_heatmap_add(attn_heatmap *p, int64_t q, int64_t k, double w,
                     const char *zQ, int nQ, const char *zK, int nK,
                     attn_err *pErr);

/* Number of rows added so far. */
int64_t attn_heatmap_count(const attn_heatmap *p);

/* Draw the map (which has at least one row) as an SVG document or as text.
** On success *pz is a NUL-terminated buffer from attn_malloc() and *pn its
** length in bytes, without the NUL.  Fails with ATTN_ERROR for duplicate
** (query, key) rows, ATTN_TOOBIG, ATTN_NOMEM. */
int attn_heatmap_svg(attn_heatmap *p, char **pz, int64_t *pn, attn_err *pErr);
int attn_heatmap_text(attn_heatmap *p, char **pz, int64_t *pn, attn_err *pErr);

/* Largest width accepted by attn_bar(). */
#define ATTN_BAR_MAX_WIDTH 1000

/* Write into z the bar of weight w (0 <= w <= 1) for a full width of
** nWidth (1..ATTN_BAR_MAX_WIDTH) characters: w*nWidth rounded to the
** nearest eighth, as full blocks then one partial block (U+2588, U+258F
** to U+2589).  z needs 3*nWidth+1 bytes; returns the length written,
** without the NUL. */
int attn_bar(double w, int nWidth, char *z);

#endif /* ATTN_HEATMAP_H */
