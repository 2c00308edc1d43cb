/*
** tensorfile.h: readers of tensor files: .npy, .npz and .safetensors.
**
** attn_tensorfile_open() reads and checks every header of a file and lists
** its tensors: name, dtype as written in the file, shape, element count.
** attn_tensorfile_read() then reads one tensor's data, converted to float32
** in row-major order.  Data is read only on request, so listing the tensors
** of a large checkpoint costs a few small reads.
**
** Formats, recognised by their first bytes (or, when those match none, by
** the suffix of the name, so that a damaged file gets the error of its
** format):
**
**   .npy          one NumPy array (format versions 1.0, 2.0 and 3.0), in C
**                 or Fortran order, little- or big-endian.  Its name is the
**                 file's base name without ".npy".
**   .npz          a zip archive of .npy members, as numpy.savez() writes it
**                 (zip64 included).  Members must be stored, not deflated:
**                 numpy.savez_compressed() archives are refused with an
**                 error that says so.  Tensors come in archive order, named
**                 by the member name without ".npy".
**   .safetensors  an 8-byte little-endian header length N, N bytes of JSON
**                 {"name": {"dtype": "F32", "shape": [2, 3],
**                 "data_offsets": [0, 24]}, "__metadata__": {...}}, then the
**                 data.  Tensors come in the order of their data offsets
**                 (ties, which only zero-size tensors can have, by name).
**
** Dtypes: float64, float32, float16, bfloat16 (safetensors), signed and
** unsigned integers of 8 to 64 bits, and bool.  float16 and bfloat16 widen
** exactly; float64 and integers round to the nearest float32.  A value that
** is NaN or infinite, or a float64 beyond the float32 range, is an error
** that names the tensor and the element.
**
** A 0-d tensor (a scalar) has nDim 0 and one element; a tensor with a zero
** in its shape has no elements.
**
** Safety: every header field is checked against the size of the file before
** it is used, all size arithmetic is checked for overflow, and no buffer is
** sized by a header field that was not first checked against the bytes that
** are really there.  Headers are capped (ATTN_TENSOR_MAX_HEADER bytes of
** JSON or zip directory, ATTN_TENSOR_MAX_COUNT tensors,
** ATTN_TENSOR_MAX_DIMS dimensions).  Files are read with stdio; the parsers
** also run on a memory image (attn_tensorfile_open_memory), which is what a
** fuzzer feeds.  Errors are sentences "<file>: <problem>", with the file
** named as it was given (long paths shortened from the left).
*/
#ifndef ATTN_TENSORFILE_H
#define ATTN_TENSORFILE_H

#include <stdint.h>
#include "error.h"

#define ATTN_TENSOR_MAX_DIMS    64          /* numpy's own limit */
#define ATTN_TENSOR_MAX_COUNT   1000000     /* tensors in one file */
#define ATTN_TENSOR_MAX_HEADER  100000000   /* bytes, as safetensors caps it */

/* Bytes attn_tensor_shape_json() may write, including the NUL. */
#define ATTN_TENSOR_SHAPE_JSON_MAX (3 + 20*ATTN_TENSOR_MAX_DIMS)

typedef struct attn_tensorfile attn_tensorfile;

/* One tensor of a file, as listed by the header.  Owned by the reader. */
typedef struct attn_tensor_info attn_tensor_info;
struct attn_tensor_info {
  const char *zName;        /* UTF-8, NUL-terminated */
  const char *zDtype;       /* as in the file: "F32", "BF16", "<f4", ">f8" */
  int nDim;                 /* 0 for a scalar */
  const int64_t *aShape;    /* nDim sizes, outermost first */
  int64_t nElem;            /* product of the sizes (1 for a scalar) */
};

/* Open the file zPath (nPath bytes; -1: up to its NUL) and read its
** headers.  On success *ppFile is a reader to close with
** attn_tensorfile_close(); on error it is NULL and pErr holds a sentence
** naming the file and the problem.  A NUL byte inside the nPath bytes is an
** error (the file opened would be another).  Errors never quote the file's
** bytes: what was expected, positions and sizes; names, dtypes and shapes
** only from a header that parsed (safetensors: valid JSON), zip member
** names only when they end in .npy. */
int attn_tensorfile_open(const char *zPath, int64_t nPath,
                         attn_tensorfile **ppFile, attn_err *pErr);

/* The same for the n bytes at a, which must stay valid and unchanged until
** the reader is closed.  zName stands for the file name: in messages, for
** the format when the first bytes match none, and as a .npy's name. */
int attn_tensorfile_open_memory(const void *a, uint64_t n, const char *zName,
                                attn_tensorfile **ppFile, attn_err *pErr);

/* Close a reader (NULL is a no-op). */
void attn_tensorfile_close(attn_tensorfile *p);

/* "npy", "npz" or "safetensors". */
const char *attn_tensorfile_format(const attn_tensorfile *p);

/* The file name as messages give it (long paths shortened from the left). */
const char *attn_tensorfile_name(const attn_tensorfile *p);

/* Number of tensors, and tensor i (0 <= i < count). */
int attn_tensorfile_count(const attn_tensorfile *p);
const attn_tensor_info *attn_tensorfile_info(const attn_tensorfile *p, int i);

/* Read tensor i as float32, row-major, into a[0..nElem) (native byte
** order).  Fails on I/O errors, on a file that changed since it was opened,
** and on values that are not finite float32 numbers. */
int attn_tensorfile_read(attn_tensorfile *p, int i, float *a, attn_err *pErr);

/* The dtype (src/vector.h) tensor i's elements keep unconverted:
** ATTN_VEC_F16 for float16 (safetensors F16, numpy '<f2' or '>f2'),
** ATTN_VEC_BF16 for bfloat16, ATTN_VEC_F32 for every other type.  Its
** data, read as float32 by attn_tensorfile_read(), then encodes to that
** type exactly (attn_vec_encode), the original 2-byte values. */
int attn_tensorfile_half(const attn_tensorfile *p, int i);

/* Write a shape as a JSON array, "[2,3]" ("[]" for a scalar), into z, which
** has room for ATTN_TENSOR_SHAPE_JSON_MAX bytes.  Returns the length. */
int attn_tensor_shape_json(const int64_t *aShape, int nDim, char *z);

#endif /* ATTN_TENSORFILE_H */
