/*
** vector.h: the one vector codec of sqlite-attention.
**
** A vector is a float32 little-endian array with no header: dim = bytes/4,
** byte-identical to sqlite-vec's vec_f32() format.  A vector may also be
** written as JSON text, '[1, 2.5, -3]', or for a matrix, rows of equal
** length, '[[1,2],[3,4]]' (read row-major).  Every element must be finite.
**
** Decoding is two calls: attn_vec_dim() validates the length or the JSON
** syntax and returns the element count, so the caller can size (or find) a
** destination; attn_vec_decode() then fills it and checks every element.
** Error messages are predicates that complete a sentence whose subject the
** caller supplies, e.g. "attn_dot(): argument 2 " + "is a blob of 6 bytes,
** expected a multiple of 4".
**
** attn_vec_to_json() writes the shortest decimal text that reads back to the
** same float32 bits, so JSON round-trips every vector exactly.
*/
#ifndef ATTN_VECTOR_H
#define ATTN_VECTOR_H

#include <stdint.h>
#include "error.h"

/* Validate the encoded vector z[0..n) and set *pnDim to its element count.
** isText is 1 for JSON text, 0 for a float32 blob. */
int attn_vec_dim(const void *z, int64_t n, int isText, int64_t *pnDim,
                 attn_err *pErr);

/* Decode the encoded vector z[0..n), which has nDim elements (from
** attn_vec_dim), into a[0..nDim).  Fails on NaN, Inf or out-of-range values. */
int attn_vec_decode(const void *z, int64_t n, int isText, float *a,
                    int64_t nDim, attn_err *pErr);

/* Check that every element of a[0..n) is finite (for computed results). */
int attn_vec_check_finite(const float *a, int64_t n, attn_err *pErr);

/* Bytes needed by attn_vec_to_json() for n elements, including the NUL. */
int64_t attn_vec_json_size(int64_t n);

/* Write a[0..n) as a JSON array into z (attn_vec_json_size(n) bytes) and
** return the length of the text, not counting the NUL. */
int64_t attn_vec_to_json(const float *a, int64_t n, char *z);

/* Floats in memory are already little-endian float32 bytes on this host. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__==__ORDER_LITTLE_ENDIAN__
# define ATTN_LITTLE_ENDIAN 1
#elif defined(_WIN32) || defined(__x86_64__) || defined(__i386__)
# define ATTN_LITTLE_ENDIAN 1
#else
# define ATTN_LITTLE_ENDIAN 0
#endif

/* Write a[0..n) as little-endian float32 bytes into z (4*n bytes). */
void attn_vec_to_blob(const float *a, int64_t n, void *z);

/* Convert one IEEE binary16 or bfloat16 value (as its bits) to float. */
float attn_f16_to_f32(uint16_t h);
float attn_bf16_to_f32(uint16_t h);

#endif /* ATTN_VECTOR_H */
