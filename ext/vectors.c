/*
** vectors.c: the scalar vector functions of sqlite-attention.
**
**   attn_version()                 text, e.g. '0.1.0'
**   attn_debug()                   version, SQLite, kernel, build flags
**   attn_vec(x [, dtype])          x (BLOB or JSON) as a float32 BLOB, or
**                                  as a float16 / bfloat16 BLOB (dtype 'f16'
**                                  or 'bf16'), rounded to nearest even
**   attn_f32(v, dtype)             v, a BLOB of dtype 'f16', 'bf16' (or
**                                  'f32'), as a float32 BLOB, exactly
**   attn_json(v [, dtype])         v as JSON text that round-trips exactly
**   attn_dim(v [, dtype])          number of elements
**   attn_dot(a, b)                 Σ a·b (REAL, float64 accumulation)
**   attn_add(a, b), attn_sub(a, b), attn_mul(a, b)
**                                  element-wise a+b, a−b, a·b
**   attn_scale(v, s)               s·v
**   attn_norm(v)                   Euclidean norm (REAL)
**   attn_normalize(v)              v/‖v‖; NULL for the zero vector
**   attn_slice(v, start, len)      elements start..start+len-1 (0-based)
**   attn_concat(a, b, ...)         the vectors one after another
**   attn_softmax(v [, t])          softmax(v/t), t > 0, default 1
**   attn_random(dim, seed [, sd])  deterministic N(0, sd²) samples
**   attn_project(x, W [, b])       x·W (+ b); W row-major, rows = dim(x)
**   attn_transpose(W, rows)        Wᵀ of a rows × cols matrix
**   attn_cols(W, rows, start, count)
**                                  columns start..start+count-1 of W
**   attn_layernorm(x, gamma, beta [, eps]), attn_rmsnorm(x, gamma [, eps])
**                                  LayerNorm (eps 1e-5), RMSNorm (eps 1e-6)
**   attn_relu(x), attn_silu(x), attn_gelu(x [, 'erf' | 'tanh'])
**                                  activations, element by element
**   attn_rope(v, pos [, base [, style [, heads]]])
**                                  v rotated by RoPE for position pos
**                                  (style 'neox' or 'interleaved')
**   attn_sinusoid(pos, dim [, base])
**                                  the sinusoidal position encoding
**
** Vectors are read by attnArgVector() (float32 BLOB or JSON text) and
** returned by attnResultVector() (float32 BLOB, subtype 223).  A NULL
** argument gives NULL.  Errors name the function, the argument, and the
** expected and found values.  The functions with a dtype argument read a
** BLOB argument as that type (JSON text is JSON whatever the dtype; see
** common.h for the rule); the others read float32 BLOBs only, and refuse a
** half BLOB that still carries attn_vec()'s subtype.
*/
#include "common.h"
#include <math.h>
#include <string.h>
#include "../src/kernels.h"
#include "../src/position.h"
#include "../src/random.h"
#include "../src/vecops.h"
#include "../src/vector.h"
#include "../src/version.h"

#ifndef ATTN_BUILD_FLAGS
# define ATTN_BUILD_FLAGS "unknown"
#endif

/* JSON subtype, as SQLite's json1 uses it ('J'). */
#define VECTORS_SUBTYPE_JSON 74

/*
** attn_version()
*/
static void vectorsVersion(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  (void)argc; (void)argv;
  sqlite3_result_text(ctx, ATTN_VERSION, -1, SQLITE_STATIC);
}

/*
** attn_debug()
*/
static void vectorsDebug(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  char *z;
  (void)argc; (void)argv;
  z = sqlite3_mprintf(
      "sqlite-attention %s\n"
      "sqlite %s\n"
      "kernel %s\n"
      "bf16 kernel: %s\n"
      "kernels available: %s\n"
      "kernels built: %s\n"
      "compiler: %s\n"
      "build flags: %s",
      ATTN_VERSION, sqlite3_libversion(), attn_kernels()->zName,
      attn_kernels_bf16(), attn_kernels_available(), attn_kernels_built(),
#if defined(__clang__)
      "clang " __clang_version__,
#elif defined(__GNUC__)
      "gcc " __VERSION__,
#else
      "unknown",
#endif
      ATTN_BUILD_FLAGS);
  if( z==0 ){
    sqlite3_result_error_nomem(ctx);
  }else{
    sqlite3_result_text(ctx, z, -1, sqlite3_free);
  }
}

/* Read the optional dtype argument iArg (default 'f32').  Returns 0 when
** it was read, 1 after an error, 2 when it is NULL (the result is NULL). */
static int vectorsArgDtype(sqlite3_context *ctx, int argc,
                           sqlite3_value **argv, int iArg, int *peDtype){
  *peDtype = ATTN_VEC_F32;
  if( argc<=iArg ) return 0;
  if( sqlite3_value_type(argv[iArg])==SQLITE_NULL ) return 2;
  return attnArgDtype(ctx, argv, iArg, peDtype);
}

/* Read keyword argument iArg with the parser xWord of src/ (a RoPE style,
** a GELU form); zSubject names it in an error.  Returns non-zero after
** reporting one. */
static int vectorsArgWord(sqlite3_context *ctx, sqlite3_value **argv, int iArg,
                          int (*xWord)(int, const char*, int64_t, int*,
                                       attn_err*),
                          const char *zSubject, int *pe){
  int eKind;
  int64_t n;
  const char *z = attnValueBytes(argv[iArg], &eKind, &n);
  attn_err err;
  if( z==0 ){
    sqlite3_result_error_nomem(ctx);
    return 1;
  }
  if( xWord(eKind, z, n, pe, &err) ){
    attnErrorFrom(ctx, zSubject, &err);
    return 1;
  }
  return 0;
}

/*
** attn_vec(x [, dtype]): validate and convert to a BLOB of dtype.  x is a
** float32 BLOB or JSON; each element is rounded once, from its stored
** value (from the decimal text for JSON).
*/
static void vectorsVec(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  AttnVec v;
  int eDtype;
  if( vectorsArgDtype(ctx, argc, argv, 1, &eDtype) ) return;
  if( attnArgVectorAs(ctx, argv, 0, ATTN_VEC_F32, eDtype, &v) || v.a==0 ){
    return;
  }
  attnResultVectorAs(ctx, v.a, v.n, eDtype);
}

/*
** attn_f32(v, dtype): a BLOB of dtype (or JSON) as a float32 BLOB.
*/
static void vectorsF32(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  AttnVec v;
  int eDtype;
  if( vectorsArgDtype(ctx, argc, argv, 1, &eDtype) ) return;
  if( attnArgVectorAs(ctx, argv, 0, eDtype, ATTN_VEC_F32, &v) || v.a==0 ){
    return;
  }
  attnResultVector(ctx, v.a, v.n);
}

/*
** attn_json(v [, dtype])
*/
static void vectorsJson(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  AttnVec v;
  int64_t nByte;
  char *z;
  int mx, eDtype;
  if( vectorsArgDtype(ctx, argc, argv, 1, &eDtype) ) return;
  if( attnArgVectorAs(ctx, argv, 0, eDtype, ATTN_VEC_F32, &v) || v.a==0 ){
    return;
  }
  nByte = attn_vec_json_size(v.n);   /* an upper bound, with the NUL */
  mx = sqlite3_limit(sqlite3_context_db_handle(ctx), SQLITE_LIMIT_LENGTH, -1);
  if( nByte-1>mx ){
    /* The bound allows 16 bytes an element; most need far fewer.  Measure
    ** the real text before refusing it, and allocate just that. */
    char zOne[32];
    int64_t i, nText = v.n+1;        /* brackets and commas */
    for(i=0; i<v.n; i++) nText += attn_vec_to_json(&v.a[i], 1, zOne) - 2;
    if( attnCheckLength(ctx, (uint64_t)nText, "the JSON text") ){
      sqlite3_free(v.a);
      return;
    }
    nByte = nText+1;
  }
  z = sqlite3_malloc64((sqlite3_uint64)nByte);
  if( z==0 ){
    sqlite3_free(v.a);
    sqlite3_result_error_nomem(ctx);
    return;
  }
  nByte = attn_vec_to_json(v.a, v.n, z);
  sqlite3_free(v.a);
  sqlite3_result_text64(ctx, z, (sqlite3_uint64)nByte, sqlite3_free,
                        SQLITE_UTF8);
  sqlite3_result_subtype(ctx, VECTORS_SUBTYPE_JSON);
}

/*
** attn_dim(v [, dtype])
*/
static void vectorsDim(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  AttnVec v;
  int eDtype;
  if( vectorsArgDtype(ctx, argc, argv, 1, &eDtype) ) return;
  /* Decode in full (not only count the bytes or the JSON numbers), so
  ** attn_dim() accepts exactly what the other functions accept: no NaN or
  ** Inf in a blob, no JSON number outside the float32 range. */
  if( attnArgVectorAs(ctx, argv, 0, eDtype, ATTN_VEC_F32, &v) || v.a==0 ){
    return;
  }
  sqlite3_result_int64(ctx, v.n);
  sqlite3_free(v.a);
}

/* Read two vector arguments of equal dimension.  Returns 0 when both were
** read (either may be NULL), non-zero after reporting an error. */
static int vectorsArgPair(sqlite3_context *ctx, sqlite3_value **argv,
                          AttnVec *pA, AttnVec *pB){
  pA->a = pB->a = 0;
  if( attnAnyNull(2, argv) ) return 0;   /* NULL wins, as elsewhere */
  if( attnArgVector(ctx, argv, 0, pA) ) return 1;
  if( attnArgVector(ctx, argv, 1, pB) ){
    sqlite3_free(pA->a);
    return 1;
  }
  if( pA->a && pB->a && pA->n!=pB->n ){
    attnError(ctx, SQLITE_ERROR, "vectors have %lld and %lld dimensions",
              (long long)pA->n, (long long)pB->n);
    sqlite3_free(pA->a);
    sqlite3_free(pB->a);
    return 1;
  }
  return 0;
}

/*
** attn_dot(a, b)
*/
static void vectorsDot(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  AttnVec a, b;
  (void)argc;
  if( vectorsArgPair(ctx, argv, &a, &b) ) return;
  if( a.a && b.a ) sqlite3_result_double(ctx, attn_dot(a.a, b.a, a.n));
  sqlite3_free(a.a);
  sqlite3_free(b.a);
}

/*
** attn_add(a, b), attn_sub(a, b), attn_mul(a, b): iAux is +1, -1 or 0.
** Each is the IEEE float32 operation (the exact result rounded once).
*/
static void vectorsElementwise(sqlite3_context *ctx, int argc,
                               sqlite3_value **argv){
  AttnVec a, b;
  int64_t i;
  int iOp = attnFunc(ctx)->iAux;
  (void)argc;
  if( vectorsArgPair(ctx, argv, &a, &b) ) return;
  if( a.a && b.a ){
    if( iOp>0 ){
      for(i=0; i<a.n; i++) a.a[i] += b.a[i];
    }else if( iOp<0 ){
      for(i=0; i<a.n; i++) a.a[i] -= b.a[i];
    }else{
      for(i=0; i<a.n; i++) a.a[i] *= b.a[i];
    }
    attnResultVector(ctx, a.a, a.n);
    a.a = 0;
  }
  sqlite3_free(a.a);
  sqlite3_free(b.a);
}

/*
** attn_scale(v, s)
*/
static void vectorsScale(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  AttnVec v;
  double s;
  int64_t i;
  (void)argc;
  if( attnAnyNull(2, argv) ) return;
  if( attnArgNumber(ctx, argv, 1, &s) ) return;
  if( attnArgVector(ctx, argv, 0, &v) ) return;
  for(i=0; i<v.n; i++) v.a[i] = (float)(s*v.a[i]);
  attnResultVector(ctx, v.a, v.n);
}

/*
** attn_norm(v)
*/
static void vectorsNorm(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  AttnVec v;
  (void)argc;
  if( attnArgVector(ctx, argv, 0, &v) || v.a==0 ) return;
  sqlite3_result_double(ctx, attn_norm(v.a, v.n));
  sqlite3_free(v.a);
}

/*
** attn_normalize(v): NULL for the zero vector, which has no direction.
*/
static void vectorsNormalize(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv){
  AttnVec v;
  double r;
  int64_t i;
  (void)argc;
  if( attnArgVector(ctx, argv, 0, &v) || v.a==0 ) return;
  r = attn_norm(v.a, v.n);
  if( r==0.0 ){
    sqlite3_free(v.a);
    return;
  }
  for(i=0; i<v.n; i++) v.a[i] = (float)(v.a[i]/r);
  attnResultVector(ctx, v.a, v.n);
}

/*
** attn_slice(v, start, len): start is 0-based.
*/
static void vectorsSlice(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  AttnVec v;
  int64_t iStart, nLen;
  (void)argc;
  if( attnAnyNull(3, argv) ) return;
  if( attnArgInteger(ctx, argv, 1, &iStart) ) return;
  if( attnArgInteger(ctx, argv, 2, &nLen) ) return;
  if( attnArgVector(ctx, argv, 0, &v) ) return;
  if( iStart<0 || iStart>=v.n ){
    attnError(ctx, SQLITE_ERROR, "start %lld is outside a vector of %lld "
              "dimensions, expected 0 to %lld", (long long)iStart,
              (long long)v.n, (long long)v.n-1);
  }else if( nLen<1 || nLen>v.n-iStart ){
    attnError(ctx, SQLITE_ERROR, "length %lld from start %lld does not fit "
              "a vector of %lld dimensions, expected 1 to %lld",
              (long long)nLen, (long long)iStart, (long long)v.n,
              (long long)(v.n-iStart));
  }else{
    memmove(v.a, v.a+iStart, sizeof(float)*(size_t)nLen);
    attnResultVector(ctx, v.a, nLen);
    return;
  }
  sqlite3_free(v.a);
}

/*
** attn_concat(a, b, ...)
*/
static void vectorsConcat(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  float *aOut = 0;
  int64_t nOut = 0, k = 0;
  int i;
  if( argc==0 ){
    attnError(ctx, SQLITE_ERROR, "expected at least one vector");
    return;
  }
  if( attnAnyNull(argc, argv) ) return;
  /* Validate every argument and add up the dimensions (each below 2^31,
  ** at most SQLITE_MAX_FUNCTION_ARG of them), then check the total once. */
  for(i=0; i<argc; i++){
    attn_err err;
    int64_t n;
    attn_err_clear(&err);
    if( attnValueDim(argv[i], ATTN_VEC_F32, &n, &err) ){
      char zSubject[32];
      sqlite3_snprintf(sizeof(zSubject), zSubject, "argument %d ", i+1);
      attnErrorFrom(ctx, zSubject, &err);
      return;
    }
    nOut += n;
  }
  aOut = attnAllocVector(ctx, nOut);
  if( aOut==0 ) return;
  for(i=0; i<argc; i++){
    AttnVec v;
    if( attnArgVector(ctx, argv, i, &v) ){
      sqlite3_free(aOut);
      return;
    }
    memcpy(aOut+k, v.a, sizeof(float)*(size_t)v.n);
    k += v.n;
    sqlite3_free(v.a);
  }
  attnResultVector(ctx, aOut, nOut);
}

/*
** attn_softmax(v [, temperature])
*/
static void vectorsSoftmax(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  AttnVec v;
  double t = 1.0;
  if( attnAnyNull(argc, argv) ) return;
  if( argc>1 ){
    if( attnArgNumber(ctx, argv, 1, &t) ) return;
    if( t<=0.0 ){
      attnError(ctx, SQLITE_ERROR, "temperature is %g, expected a number "
                "greater than 0", t);
      return;
    }
  }
  if( attnArgVector(ctx, argv, 0, &v) ) return;
  attn_softmax(v.a, v.n, t, v.a);
  attnResultVector(ctx, v.a, v.n);
}

/* A new vector of the dim argument's size, or NULL after an error (a dim
** below 1, or too large). */
static float *vectorsNewVector(sqlite3_context *ctx, int64_t nDim){
  if( nDim<1 ){
    attnError(ctx, SQLITE_ERROR, "dim is %lld, expected 1 or more",
              (long long)nDim);
    return 0;
  }
  return attnAllocVector(ctx, nDim);
}

/*
** attn_random(dim, seed [, stddev])
*/
static void vectorsRandom(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  int64_t nDim, iSeed;
  double sd = 1.0;
  float *a;
  if( attnAnyNull(argc, argv) ) return;
  if( attnArgInteger(ctx, argv, 0, &nDim) ) return;
  if( attnArgInteger(ctx, argv, 1, &iSeed) ) return;
  if( argc>2 ){
    if( attnArgNumber(ctx, argv, 2, &sd) ) return;
    if( sd<0.0 ){
      attnError(ctx, SQLITE_ERROR, "stddev is %g, expected a number of 0 "
                "or more", sd);
      return;
    }
  }
  a = vectorsNewVector(ctx, nDim);
  if( a==0 ) return;
  if( sd==0.0 ){
    memset(a, 0, sizeof(float)*(size_t)nDim);   /* +0, not u·f·0 = ±0 */
  }else{
    attn_random_normal(iSeed, sd, a, nDim);
  }
  attnResultVector(ctx, a, nDim);
}

/*
** attn_project(x, W [, b]): x·W + b with W of dim(x) rows.
*/
static void vectorsProject(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  AttnVec x, w, b;
  float *aOut = 0;
  int64_t nCol;
  if( attnAnyNull(argc, argv) ) return;
  b.a = 0;
  w.a = 0;
  if( attnArgVector(ctx, argv, 0, &x) ) return;
  if( attnArgVector(ctx, argv, 1, &w) ) goto done;
  if( w.n%x.n!=0 ){
    attnError(ctx, SQLITE_ERROR, "matrix has %lld elements, not a multiple "
              "of the vector's %lld dimensions (W must have %lld rows)",
              (long long)w.n, (long long)x.n, (long long)x.n);
    goto done;
  }
  nCol = w.n/x.n;
  if( argc>2 ){
    if( attnArgVector(ctx, argv, 2, &b) ) goto done;
    if( b.n!=nCol ){
      attnError(ctx, SQLITE_ERROR, "bias has %lld elements, expected %lld "
                "(the columns of W)", (long long)b.n, (long long)nCol);
      goto done;
    }
  }
  aOut = attnAllocVector(ctx, nCol);
  if( aOut==0 ) goto done;
  attn_kernels()->xGemm(1, nCol, x.n, x.a, x.n, w.a, nCol, aOut, nCol, 0);
  if( b.a ){
    int64_t i;
    for(i=0; i<nCol; i++) aOut[i] += b.a[i];
  }
  attnResultVector(ctx, aOut, nCol);
done:
  sqlite3_free(x.a);
  sqlite3_free(w.a);
  sqlite3_free(b.a);
}

/* Read argument 0 as a matrix whose row count is argument 1: *pnCol gets
** its columns.  Returns non-zero after reporting an error. */
static int vectorsArgMatrix(sqlite3_context *ctx, sqlite3_value **argv,
                            AttnVec *pW, int64_t *pnRow, int64_t *pnCol){
  attn_err err;
  if( attnArgInteger(ctx, argv, 1, pnRow) ) return 1;
  if( attnArgVector(ctx, argv, 0, pW) ) return 1;
  attn_err_clear(&err);
  if( attn_matrix_cols(pW->n, *pnRow, pnCol, &err) ){
    attnErrorFrom(ctx, "", &err);
    sqlite3_free(pW->a);
    return 1;
  }
  return 0;
}

/*
** attn_transpose(W, rows)
*/
static void vectorsTranspose(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv){
  AttnVec w;
  int64_t nRow, nCol;
  float *aOut;
  (void)argc;
  if( attnAnyNull(2, argv) ) return;
  if( vectorsArgMatrix(ctx, argv, &w, &nRow, &nCol) ) return;
  aOut = attnAllocVector(ctx, w.n);
  if( aOut ){
    attn_transpose(w.a, nRow, nCol, aOut);
    attnResultVector(ctx, aOut, w.n);
  }
  sqlite3_free(w.a);
}

/*
** attn_cols(W, rows, start, count): columns start .. start+count-1.
*/
static void vectorsCols(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  AttnVec w;
  int64_t nRow, nCol, iStart, nCount;
  attn_err err;
  float *aOut;
  (void)argc;
  if( attnAnyNull(4, argv) ) return;
  if( attnArgInteger(ctx, argv, 2, &iStart) ) return;
  if( attnArgInteger(ctx, argv, 3, &nCount) ) return;
  if( vectorsArgMatrix(ctx, argv, &w, &nRow, &nCol) ) return;
  attn_err_clear(&err);
  if( attn_cols_check(nRow, nCol, iStart, nCount, &err) ){
    attnErrorFrom(ctx, "", &err);
  }else if( (aOut = attnAllocVector(ctx, nRow*nCount))!=0 ){
    attn_cols(w.a, nRow, nCol, iStart, nCount, aOut);
    attnResultVector(ctx, aOut, nRow*nCount);
  }
  sqlite3_free(w.a);
}

/*
** attn_layernorm(x, gamma, beta [, eps]) (iAux 1, eps 1e-5) and
** attn_rmsnorm(x, gamma [, eps]) (iAux 0, eps 1e-6).
*/
static void vectorsLayerNorm(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv){
  int bBeta = attnFunc(ctx)->iAux;
  int iEps = bBeta ? 3 : 2;
  double eps = bBeta ? 1e-5 : 1e-6;
  AttnVec x, g, b;
  attn_err err;
  int rc;
  if( attnAnyNull(argc, argv) ) return;
  if( argc>iEps && attnArgNumber(ctx, argv, iEps, &eps) ) return;
  g.a = b.a = 0;
  b.n = 0;
  if( attnArgVector(ctx, argv, 0, &x) ) return;
  if( attnArgVector(ctx, argv, 1, &g)
   || (bBeta && attnArgVector(ctx, argv, 2, &b)) ){
    goto done;
  }
  attn_err_clear(&err);
  rc = bBeta ? attn_layernorm(x.a, x.n, g.a, g.n, b.a, b.n, eps, x.a, &err)
             : attn_rmsnorm(x.a, x.n, g.a, g.n, eps, x.a, &err);
  if( rc ){
    attnErrorFrom(ctx, "", &err);
  }else{
    attnResultVector(ctx, x.a, x.n);
    x.a = 0;
  }
done:
  sqlite3_free(x.a);
  sqlite3_free(g.a);
  sqlite3_free(b.a);
}

/*
** attn_relu(x), attn_silu(x), attn_gelu(x [, form]): iAux is the
** ATTN_ACT_* of vecops.h (for attn_gelu, of the default form 'erf').
*/
static void vectorsActivation(sqlite3_context *ctx, int argc,
                              sqlite3_value **argv){
  int eAct = attnFunc(ctx)->iAux;
  AttnVec x;
  if( attnAnyNull(argc, argv) ) return;
  if( argc>1
   && vectorsArgWord(ctx, argv, 1, attn_gelu_form, "form ", &eAct) ){
    return;
  }
  if( attnArgVector(ctx, argv, 0, &x) ) return;
  attn_activation(x.a, x.n, eAct, x.a);
  attnResultVector(ctx, x.a, x.n);
}

/* Read the optional base argument iArg (default 10000, must be > 0). */
static int vectorsArgBase(sqlite3_context *ctx, int argc, sqlite3_value **argv,
                          int iArg, double *pBase){
  *pBase = 10000.0;
  if( argc<=iArg ) return 0;
  if( attnArgNumber(ctx, argv, iArg, pBase) ) return 1;
  if( *pBase<=0.0 ){
    attnError(ctx, SQLITE_ERROR, "base is %g, expected a positive number "
              "such as 10000", *pBase);
    return 1;
  }
  return 0;
}

/*
** attn_rope(v, pos [, base [, style [, heads]]]): rotate pairs of each head
** of v (d elements) by pos·base^(-2i/d), pairing i with i+d/2 ('neox', the
** default) or 2i with 2i+1 ('interleaved').
*/
static void vectorsRope(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  AttnVec v;
  double rPos, rBase, *aAngle;
  int eStyle = ATTN_ROPE_NEOX;
  int64_t nHead = 1, d, h;
  attn_err err;
  if( attnAnyNull(argc, argv) ) return;
  if( attnArgPosition(ctx, argv, 1, &rPos) ) return;
  if( vectorsArgBase(ctx, argc, argv, 2, &rBase) ) return;
  if( argc>3
   && vectorsArgWord(ctx, argv, 3, attn_rope_style, "style ", &eStyle) ){
    return;
  }
  if( argc>4 && attnArgInteger(ctx, argv, 4, &nHead) ) return;
  if( attnArgVector(ctx, argv, 0, &v) ) return;
  attn_err_clear(&err);
  if( attn_rope_check(v.n, nHead, &err) ){
    attnError(ctx, SQLITE_ERROR, "%s", err.zMsg);
    sqlite3_free(v.a);
    return;
  }
  d = v.n/nHead;
  aAngle = sqlite3_malloc64(8*(sqlite3_uint64)(d ? d : 1));
  if( aAngle==0 ){
    sqlite3_free(v.a);
    sqlite3_result_error_nomem(ctx);
    return;
  }
  attn_rope_angles(rPos, d, rBase, aAngle, aAngle + d/2);
  for(h=0; h<nHead; h++){
    attn_rope_rotate(v.a + h*d, d, aAngle, aAngle + d/2, eStyle);
  }
  sqlite3_free(aAngle);
  attnResultVector(ctx, v.a, v.n);
}

/*
** attn_sinusoid(pos, dim [, base]): sin(pos/base^(2i/d)) at element 2i,
** cos(...) at element 2i+1.
*/
static void vectorsSinusoid(sqlite3_context *ctx, int argc,
                            sqlite3_value **argv){
  double rPos, rBase;
  int64_t nDim;
  float *a;
  if( attnAnyNull(argc, argv) ) return;
  if( attnArgPosition(ctx, argv, 0, &rPos) ) return;
  if( attnArgInteger(ctx, argv, 1, &nDim) ) return;
  if( vectorsArgBase(ctx, argc, argv, 2, &rBase) ) return;
  a = vectorsNewVector(ctx, nDim);
  if( a==0 ) return;
  attn_sinusoid(rPos, nDim, rBase, a);
  attnResultVector(ctx, a, nDim);
}

int attnRegisterVectors(sqlite3 *db){
  static const AttnFunc aFunc[] = {
    /*          zName          nArg eFlags       iAux xFunc */
    ATTN_SCALAR("attn_version",    0, SQLITE_UTF8|SQLITE_INNOCUOUS, 0, vectorsVersion),
    ATTN_SCALAR("attn_debug",      0, SQLITE_UTF8|SQLITE_INNOCUOUS, 0, vectorsDebug),
    ATTN_SCALAR("attn_vec",        1, ATTN_PURE,  0, vectorsVec),
    ATTN_SCALAR("attn_vec",        2, ATTN_PURE,  0, vectorsVec),
    ATTN_SCALAR("attn_f32",        2, ATTN_PURE,  0, vectorsF32),
    ATTN_SCALAR("attn_json",       1, ATTN_PURE,  0, vectorsJson),
    ATTN_SCALAR("attn_json",       2, ATTN_PURE,  0, vectorsJson),
    ATTN_SCALAR("attn_dim",        1, ATTN_PURE,  0, vectorsDim),
    ATTN_SCALAR("attn_dim",        2, ATTN_PURE,  0, vectorsDim),
    ATTN_SCALAR("attn_dot",        2, ATTN_PURE,  0, vectorsDot),
    ATTN_SCALAR("attn_add",        2, ATTN_PURE, +1, vectorsElementwise),
    ATTN_SCALAR("attn_sub",        2, ATTN_PURE, -1, vectorsElementwise),
    ATTN_SCALAR("attn_mul",        2, ATTN_PURE,  0, vectorsElementwise),
    ATTN_SCALAR("attn_scale",      2, ATTN_PURE,  0, vectorsScale),
    ATTN_SCALAR("attn_norm",       1, ATTN_PURE,  0, vectorsNorm),
    ATTN_SCALAR("attn_normalize",  1, ATTN_PURE,  0, vectorsNormalize),
    ATTN_SCALAR("attn_slice",      3, ATTN_PURE,  0, vectorsSlice),
    ATTN_SCALAR("attn_concat",    -1, ATTN_PURE,  0, vectorsConcat),
    ATTN_SCALAR("attn_softmax",    1, ATTN_PURE,  0, vectorsSoftmax),
    ATTN_SCALAR("attn_softmax",    2, ATTN_PURE,  0, vectorsSoftmax),
    ATTN_SCALAR("attn_random",     2, ATTN_PURE,  0, vectorsRandom),
    ATTN_SCALAR("attn_random",     3, ATTN_PURE,  0, vectorsRandom),
    ATTN_SCALAR("attn_project",    2, ATTN_PURE,  0, vectorsProject),
    ATTN_SCALAR("attn_project",    3, ATTN_PURE,  0, vectorsProject),
    ATTN_SCALAR("attn_transpose",  2, ATTN_PURE,  0, vectorsTranspose),
    ATTN_SCALAR("attn_cols",       4, ATTN_PURE,  0, vectorsCols),
    ATTN_SCALAR("attn_layernorm",  3, ATTN_PURE,  1, vectorsLayerNorm),
    ATTN_SCALAR("attn_layernorm",  4, ATTN_PURE,  1, vectorsLayerNorm),
    ATTN_SCALAR("attn_rmsnorm",    2, ATTN_PURE,  0, vectorsLayerNorm),
    ATTN_SCALAR("attn_rmsnorm",    3, ATTN_PURE,  0, vectorsLayerNorm),
    ATTN_SCALAR("attn_relu",       1, ATTN_PURE, ATTN_ACT_RELU, vectorsActivation),
    ATTN_SCALAR("attn_silu",       1, ATTN_PURE, ATTN_ACT_SILU, vectorsActivation),
    ATTN_SCALAR("attn_gelu",       1, ATTN_PURE, ATTN_ACT_GELU_ERF, vectorsActivation),
    ATTN_SCALAR("attn_gelu",       2, ATTN_PURE, ATTN_ACT_GELU_ERF, vectorsActivation),
    ATTN_SCALAR("attn_rope",       2, ATTN_PURE,  0, vectorsRope),
    ATTN_SCALAR("attn_rope",       3, ATTN_PURE,  0, vectorsRope),
    ATTN_SCALAR("attn_rope",       4, ATTN_PURE,  0, vectorsRope),
    ATTN_SCALAR("attn_rope",       5, ATTN_PURE,  0, vectorsRope),
    ATTN_SCALAR("attn_sinusoid",   2, ATTN_PURE,  0, vectorsSinusoid),
    ATTN_SCALAR("attn_sinusoid",   3, ATTN_PURE,  0, vectorsSinusoid),
  };
  return attnRegisterFunctions(db, aFunc, (int)(sizeof(aFunc)/sizeof(aFunc[0])));
}
