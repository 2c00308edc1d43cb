/*
** random.h: a deterministic standard-normal generator, the same bits on
** every machine.
**
** attn_random_normal() fills a vector with N(0,1) samples from a 64-bit
** seed: splitmix64 for uniform bits, Marsaglia's polar method for the
** normal pairs, and a logarithm of our own built from IEEE-754 basic
** operations only (correctly rounded everywhere), so no libm difference can
** change a bit.  The library is compiled with -ffp-contract=off so no FMA
** contraction changes the rounding either.
*/
#ifndef ATTN_RANDOM_H
#define ATTN_RANDOM_H

#include <stdint.h>

/* Fill a[0..n) with standard-normal samples times stddev, from seed. */
void attn_random_normal(int64_t seed, double stddev, float *a, int64_t n);

#endif /* ATTN_RANDOM_H */
