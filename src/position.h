/*
** position.h: position encodings and biases used by attention.
**
**   RoPE      rotary embeddings of Q and K, two conventions:
**             ATTN_ROPE_NEOX        GPT-NeoX / Llama "rotate_half": element i
**                                   pairs with i + d/2;
**             ATTN_ROPE_INTERLEAVED GPT-J / original paper: elements 2i and
**                                   2i+1 pair.
**             Pair i turns by the angle pos · base^(-2i/d).
**   ALiBi     per-head linear bias −slope_h·|q_pos − k_pos| with the standard
**             slopes of Press et al. (2^(−8h/H) for H a power of two, the
**             paper's interleaving rule otherwise).
**   sinusoid  the absolute encoding of "Attention is all you need":
**             PE(pos, 2i) = sin(pos/base^(2i/d)), PE(pos, 2i+1) = cos(...).
**
** Angles are computed in float64 and rounded once.
*/
#ifndef ATTN_POSITION_H
#define ATTN_POSITION_H

#include <stdint.h>
#include "error.h"

#define ATTN_ROPE_NEOX         0
#define ATTN_ROPE_INTERLEAVED  1

/* Read a RoPE style name z[0..n) of kind eKind (utf8.h), 'neox' or
** 'interleaved' (any case), into *peStyle; on error pErr gets a predicate:
** "is 'x', expected 'neox' or 'interleaved'". */
int attn_rope_style(int eKind, const char *z, int64_t n, int *peStyle,
                    attn_err *pErr);

/* The d/2 rotation angles of position pos: aCos[i], aSin[i] of
** pos·base^(-2i/d). */
void attn_rope_angles(double pos, int64_t d, double base, double *aCos,
                      double *aSin);

/* Check a rotation of a vector of n elements as nHead heads, each of its
** n/nHead elements turned on its own (nHead from 1 to ATTN_MAX_HEADS,
** dividing n, n/nHead even).  On error pErr gets a sentence: "vector has 3
** dimensions, expected an even number (RoPE turns pairs of elements)",
** "heads (3) does not divide the vector's 8 dimensions", ... */
int attn_rope_check(int64_t n, int64_t nHead, attn_err *pErr);

/* Rotate x[0..d) (d even) in place by the angles of attn_rope_angles(). */
void attn_rope_rotate(float *x, int64_t d, const double *aCos,
                      const double *aSin, int eStyle);

/* Write the nHead ALiBi slopes into aSlope[]. */
void attn_alibi_slopes(int nHead, double *aSlope);

/* Write the d-dimensional sinusoidal encoding of pos into out[]. */
void attn_sinusoid(double pos, int64_t d, double base, float *out);

#endif /* ATTN_POSITION_H */
