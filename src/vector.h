/*
** vector.h: the one vector codec of sqlite-attention.
**
** A vector is a float32 little-endian array with no header: dim = bytes/4,
** byte-identical to sqlite-vec's vec_f32() format.  A vector may also be
** written as JSON text, '[1, 2.5, -3]', or for a matrix, rows of equal
** length, '[[1,2],[3,4]]' (read row-major).  Every element must be finite.
**
** Half-precision BLOBs: IEEE binary16 ('f16') or bfloat16 ('bf16'), 2 bytes
** per element, little-endian, no header.  Their bytes cannot tell them from
** float32 (a float32 BLOB of 2d elements is as long as a half BLOB of 4d),
** so the element type is never guessed: the caller says how a BLOB is
** stored (eEnc), as the SQL functions' dtype argument does.  Decoding
** widens a half element exactly; NaN and infinite patterns are refused.
** Encoding (attn_vec_encode, attn_vec_round_half) rounds to nearest, ties
** to even, keeps -0 and denormals, and refuses what would round beyond the
** type's largest finite value (65504 for float16, about 3.39e38 for
** bfloat16).  attn_vec_decode_as() rounds every element once, from the
** stored value (for JSON, from the decimal text, not through float32), so
** encoding its result is exact.
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

/* How an encoded vector is stored (eEnc), and the element types of BLOBs
** (a dtype: ATTN_VEC_F32, ATTN_VEC_F16 or ATTN_VEC_BF16). */
#define ATTN_VEC_F32   0    /* float32 little-endian BLOB */
#define ATTN_VEC_JSON  1    /* JSON text */
#define ATTN_VEC_F16   2    /* IEEE binary16 little-endian BLOB */
#define ATTN_VEC_BF16  3    /* bfloat16 little-endian BLOB */

/* The dtype named z[0..n), a value of kind eKind (utf8.h: ATTN_KIND_TEXT
** but from SQL): 'f32', 'f16' or 'bf16', in any case.  On error pErr gets a
** predicate: "is 'fp16', expected 'f32', 'f16' or 'bf16'" ("is the integer
** 16, expected ..."). */
int attn_vec_dtype(int eKind, const char *z, int64_t n, int *peDtype,
                   attn_err *pErr);

/* "f32", "f16" or "bf16"; "float32", "float16" or "bfloat16"; the bytes of
** one element (4 or 2). */
const char *attn_vec_dtype_name(int eDtype);
const char *attn_vec_dtype_long_name(int eDtype);
int attn_vec_dtype_size(int eDtype);

/* Validate the encoded vector z[0..n) and set *pnDim to its element count.
** eEnc is one of ATTN_VEC_* (ATTN_VEC_JSON for text). */
int attn_vec_dim(const void *z, int64_t n, int eEnc, int64_t *pnDim,
                 attn_err *pErr);

/* Decode the encoded vector z[0..n), which has nDim elements (from
** attn_vec_dim), into a[0..nDim).  Fails on NaN, Inf or out-of-range values. */
int attn_vec_decode(const void *z, int64_t n, int eEnc, float *a,
                    int64_t nDim, attn_err *pErr);

/* The same, each element rounded to the nearest value of dtype eAs (ties
** to even), so that a[] holds values of that type; fails, naming the
** element and its value, on one that rounds beyond the type's range. */
int attn_vec_decode_as(const void *z, int64_t n, int eEnc, int eAs, float *a,
                       int64_t nDim, attn_err *pErr);

/* Write a[0..n) as little-endian elements of dtype eDtype into z
** (attn_vec_dtype_size(eDtype)*n bytes; z may be a itself), rounding to
** nearest even.  Fails, naming the element, on a value that is not finite
** or rounds beyond the type's range (z is then partly written). */
int attn_vec_encode(const float *a, int64_t n, int eDtype, void *z,
                    attn_err *pErr);

/* x rounded to the nearest float16 (eDtype ATTN_VEC_F16) or bfloat16
** (ATTN_VEC_BF16), ties to even, as its bits in *pBits.  Returns ATTN_OK,
** or ATTN_ERROR (*pBits untouched) when x is NaN or infinite or rounds
** beyond the largest finite value of the type. */
int attn_vec_round_half(double x, int eDtype, uint16_t *pBits);

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

/* Convert one IEEE binary16 or bfloat16 value (as its bits) to float,
** exactly (NaN and infinite patterns give NaN and infinity). */
float attn_f16_to_f32(uint16_t h);
float attn_bf16_to_f32(uint16_t h);

#endif /* ATTN_VECTOR_H */
