/*
** common.h: what every file of the SQLite binding shares.
**
**   - AttnFunc, one row of a registration table, and attnRegisterFunctions(),
**     which loops over such a table (scalar, aggregate and window functions);
**   - attnError() and attnErrorFrom(), the one way a SQL function reports an
**     error: "<function>(): <sentence>", with the SQLite result code;
**   - attnValueDim() and attnValueDecode(), the one reader of vector
**     arguments and column values (a BLOB of the dtype the caller names, or
**     JSON text, through src/vector.h), and attnArgVector(), its use for
**     function arguments;
**   - attnResultVector(), which returns a float32 BLOB tagged with subtype
**     223 (sqlite-vec's float32 tag), after checking it is finite and fits
**     SQLITE_LIMIT_LENGTH, and attnResultVectorAs() for half BLOBs.
**
** The dtype rule.  A BLOB's bytes never say whether it holds float32,
** float16 or bfloat16 elements: the reader is told (a dtype argument or
** option, default 'f32').  JSON text is always decimal numbers, whatever
** the dtype.  As a safety net, the half BLOBs attn_vec() returns carry a
** subtype (ATTN_SUBTYPE_F16, _BF16), and a value whose subtype names
** another type than the one it is read as is refused; subtypes do not
** survive storage in a table, so the rule is the dtype, not the tag.
**
** Only ext/ includes sqlite3ext.h (here, with SQLITE_EXTENSION_INIT3, so no
** file of ext/ declares the API table again); src/ is plain C.
*/
#ifndef ATTN_EXT_COMMON_H
#define ATTN_EXT_COMMON_H

#include "sqlite3ext.h"
/* The API table, declared once here and defined in extension.c
** (SQLITE_EXTENSION_INIT1); nothing with -DSQLITE_CORE. */
SQLITE_EXTENSION_INIT3
#include <stdarg.h>
#include <stdint.h>
#include "../src/error.h"

/* Flags newer than the headers we may be built against.  Older libraries
** ignore flags they do not know. */
#ifndef SQLITE_RESULT_SUBTYPE
# define SQLITE_RESULT_SUBTYPE 0x001000000
#endif

/* sqlite-vec's subtypes: ours are float32; int8 and bit are refused. */
#define ATTN_SUBTYPE_F32   223
#define ATTN_SUBTYPE_BIT   224
#define ATTN_SUBTYPE_INT8  225
/* Ours, on the half BLOBs attn_vec(x, 'f16' | 'bf16') returns. */
#define ATTN_SUBTYPE_F16   226
#define ATTN_SUBTYPE_BF16  227

/* Flags of pure functions of their arguments that read and set subtypes. */
#define ATTN_PURE (SQLITE_UTF8|SQLITE_DETERMINISTIC|SQLITE_INNOCUOUS \
                   |SQLITE_SUBTYPE|SQLITE_RESULT_SUBTYPE)

typedef void (*AttnXFunc)(sqlite3_context*, int, sqlite3_value**);
typedef void (*AttnXFinal)(sqlite3_context*);

/* One SQL function.  xFunc for a scalar; xStep/xFinal for an aggregate;
** also xValue/xInverse for a window function.  sqlite3_user_data() of the
** function is a pointer to its AttnFunc row. */
typedef struct AttnFunc AttnFunc;
struct AttnFunc {
  const char *zName;
  int nArg;              /* -1 for any number */
  int eFlags;            /* SQLITE_UTF8|SQLITE_DETERMINISTIC|... */
  int iAux;              /* variant selector for shared implementations */
  AttnXFunc xFunc;
  AttnXFunc xStep;
  AttnXFinal xFinal;
  AttnXFinal xValue;
  AttnXFunc xInverse;
};

/* Rows of a registration table. */
#define ATTN_SCALAR(zName, nArg, eFlags, iAux, xFunc) \
  { zName, nArg, eFlags, iAux, xFunc, 0, 0, 0, 0 }
#define ATTN_AGGREGATE(zName, nArg, eFlags, iAux, xStep, xFinal) \
  { zName, nArg, eFlags, iAux, 0, xStep, xFinal, 0, 0 }
#define ATTN_WINDOW(zName, nArg, eFlags, iAux, xStep, xFinal, xValue, xInverse) \
  { zName, nArg, eFlags, iAux, 0, xStep, xFinal, xValue, xInverse }

/* Register nFunc functions from aFunc[] on db. */
int attnRegisterFunctions(sqlite3 *db, const AttnFunc *aFunc, int nFunc);

/* The AttnFunc row of the function being called. */
const AttnFunc *attnFunc(sqlite3_context *ctx);

/* Report "<name>(): <message>" as the result of ctx with result code rc
** (SQLITE_ERROR, SQLITE_TOOBIG, ...).  SQLITE_NOMEM reports out-of-memory.
** Every message of the binding goes through these and attnVtabErrorV(),
** which make it valid UTF-8 whatever it quotes (src/utf8.h). */
void attnError(sqlite3_context *ctx, int rc, const char *zFmt, ...);
/* The same with the function name given (a virtual table's xColumn). */
void attnErrorNamed(sqlite3_context *ctx, const char *zFunc, int rc,
                    const char *zFmt, ...);
void attnErrorNamedV(sqlite3_context *ctx, const char *zFunc, int rc,
                     const char *zFmt, va_list ap);

/* The same for a virtual table: set pVtab's message to "zFunc(): <text>"
** and return rc (SQLITE_NOMEM when rc is, or when the message could not be
** allocated: an error without its message would reach the user as "SQL
** logic error"). */
int attnVtabError(sqlite3_vtab *pVtab, const char *zFunc, int rc,
                  const char *zFmt, ...);
int attnVtabErrorV(sqlite3_vtab *pVtab, const char *zFunc, int rc,
                   const char *zFmt, va_list ap);

/* Report an engine error: pErr->zMsg completes a sentence whose subject is
** zSubject ("argument 2 ", "result ", or "" when the message stands alone). */
void attnErrorFrom(sqlite3_context *ctx, const char *zSubject, attn_err *pErr);

/* Validate value pVal as a vector and set *pnDim; on error fill pErr with a
** predicate ("is an integer, expected ...").  Accepts BLOBs of dtype eDtype
** (ATTN_VEC_F32, _F16 or _BF16 of src/vector.h) and JSON text; refuses
** other types, sqlite-vec int8/bit vectors, and BLOBs tagged with the
** subtype of another dtype. */
int attnValueDim(sqlite3_value *pVal, int eDtype, int64_t *pnDim,
                 attn_err *pErr);

/* Decode vector pVal (a BLOB of dtype eDtype, or JSON), which has nDim
** elements, into a[0..nDim). */
int attnValueDecode(sqlite3_value *pVal, int eDtype, float *a, int64_t nDim,
                    attn_err *pErr);

/* Read pVal as a finite number (INTEGER or REAL) / as an integer (INTEGER,
** or REAL with an integral value).  On error fill pErr with a predicate. */
int attnValueNumber(sqlite3_value *pVal, double *pOut, attn_err *pErr);
int attnValueInteger(sqlite3_value *pVal, int64_t *pOut, attn_err *pErr);

/* The bytes of pVal as src/'s parsers of keywords and src/'s messages take
** them, with *peKind its kind (src/utf8.h's ATTN_KIND_*) and *pn their
** length: a text's or a blob's bytes, a number's decimal text, "" for
** NULL.  Returns NULL only when out of memory. */
const char *attnValueBytes(sqlite3_value *pVal, int *peKind, int64_t *pn);

/* The same for argument iArg of ctx; returns non-zero after reporting the
** error.  The caller has already handled NULL. */
int attnArgNumber(sqlite3_context *ctx, sqlite3_value **argv, int iArg,
                  double *pOut);
int attnArgInteger(sqlite3_context *ctx, sqlite3_value **argv, int iArg,
                   int64_t *pOut);
/* A position: a finite number, and an integer within the engine's
** ±2^53 (attn_check_pos), beyond which it would not be exact as a double. */
int attnArgPosition(sqlite3_context *ctx, sqlite3_value **argv, int iArg,
                    double *pOut);

/* True if any of argv[0..argc) is NULL. */
int attnAnyNull(int argc, sqlite3_value **argv);

/* A decoded vector owned by the caller (free a with sqlite3_free). */
typedef struct AttnVec AttnVec;
struct AttnVec {
  float *a;        /* elements; NULL when the argument was SQL NULL */
  int64_t n;       /* number of elements */
};

/* Read argument iArg (0-based) of ctx as a vector into *pVec.  Returns 0 on
** success (pVec->a is NULL for a NULL argument) or non-zero after reporting
** the error on ctx. */
int attnArgVector(sqlite3_context *ctx, sqlite3_value **argv, int iArg,
                  AttnVec *pVec);

/* The same for a BLOB of dtype eDtype; each element is rounded to dtype
** eAs (ATTN_VEC_F32: no rounding), as attn_vec_decode_as() does. */
int attnArgVectorAs(sqlite3_context *ctx, sqlite3_value **argv, int iArg,
                    int eDtype, int eAs, AttnVec *pVec);

/* Read argument iArg as a dtype name ('f32', 'f16', 'bf16') into *peDtype.
** Returns non-zero after reporting the error.  The caller handles NULL. */
int attnArgDtype(sqlite3_context *ctx, sqlite3_value **argv, int iArg,
                 int *peDtype);

/* Check that a result of nByte bytes fits SQLITE_LIMIT_LENGTH; if not,
** report SQLITE_TOOBIG on ctx (naming zWhat) and return non-zero. */
int attnCheckLength(sqlite3_context *ctx, uint64_t nByte, const char *zWhat);

/* Allocate n floats for a result vector (reports errors on ctx: too big for
** SQLITE_LIMIT_LENGTH, out of memory).  Returns NULL on error. */
float *attnAllocVector(sqlite3_context *ctx, int64_t n);

/* Return a[0..n) as a float32 BLOB with subtype 223.  Takes ownership of a,
** which must come from attnAllocVector() or sqlite3_malloc64().  A result
** element that is not finite becomes an error naming it. */
void attnResultVector(sqlite3_context *ctx, float *a, int64_t n);

/* The same as a BLOB of dtype eDtype (2 bytes an element for the half
** types, tagged ATTN_SUBTYPE_F16 or _BF16), rounded to nearest even; an
** element the type cannot hold becomes an error naming it. */
void attnResultVectorAs(sqlite3_context *ctx, float *a, int64_t n,
                        int eDtype);

/* Registration of each SQL family (one per file of ext/). */
int attnRegisterVectors(sqlite3 *db);
int attnRegisterAggregates(sqlite3 *db);
int attnRegisterTensors(sqlite3 *db);
int attnRegisterHeatmap(sqlite3 *db);
int attnRegisterAttention(sqlite3 *db);
int attnRegisterPool(sqlite3 *db);

#endif /* ATTN_EXT_COMMON_H */
