/*
** common.c: registration, error reporting, and vector values for the SQLite
** binding (see common.h).
*/
#include "common.h"
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include "../src/utf8.h"
#include "../src/vector.h"
#include "../src/attention.h"

int attnRegisterFunctions(sqlite3 *db, const AttnFunc *aFunc, int nFunc){
  int i, rc = SQLITE_OK;
  for(i=0; rc==SQLITE_OK && i<nFunc; i++){
    const AttnFunc *p = &aFunc[i];
    if( p->xValue ){
      rc = sqlite3_create_window_function(db, p->zName, p->nArg, p->eFlags,
          (void*)p, p->xStep, p->xFinal, p->xValue, p->xInverse, 0);
    }else{
      rc = sqlite3_create_function(db, p->zName, p->nArg, p->eFlags,
          (void*)p, p->xFunc, p->xStep, p->xFinal);
    }
  }
  return rc;
}

const AttnFunc *attnFunc(sqlite3_context *ctx){
  return (const AttnFunc*)sqlite3_user_data(ctx);
}

/* "<zFunc>(): <message>", valid UTF-8 whatever the message quoted (utf8.h),
** or NULL when out of memory. */
static char *attnMessageV(const char *zFunc, const char *zFmt, va_list ap){
  char *zMsg = sqlite3_vmprintf(zFmt, ap);
  char *zFull = zMsg ? sqlite3_mprintf("%s(): %s", zFunc, zMsg) : 0;
  sqlite3_free(zMsg);
  if( zFull ) attn_utf8_repair(zFull);
  return zFull;
}

void attnErrorNamedV(sqlite3_context *ctx, const char *zFunc, int rc,
                     const char *zFmt, va_list ap){
  char *zFull;
  if( rc==SQLITE_NOMEM ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  zFull = attnMessageV(zFunc, zFmt, ap);
  if( zFull==0 ){
    sqlite3_result_error_nomem(ctx);
  }else{
    sqlite3_result_error(ctx, zFull, -1);
    sqlite3_result_error_code(ctx, rc);
  }
  sqlite3_free(zFull);
}

void attnErrorNamed(sqlite3_context *ctx, const char *zFunc, int rc,
                    const char *zFmt, ...){
  va_list ap;
  va_start(ap, zFmt);
  attnErrorNamedV(ctx, zFunc, rc, zFmt, ap);
  va_end(ap);
}

void attnError(sqlite3_context *ctx, int rc, const char *zFmt, ...){
  va_list ap;
  va_start(ap, zFmt);
  attnErrorNamedV(ctx, attnFunc(ctx)->zName, rc, zFmt, ap);
  va_end(ap);
}

int attnVtabErrorV(sqlite3_vtab *pVtab, const char *zFunc, int rc,
                   const char *zFmt, va_list ap){
  sqlite3_free(pVtab->zErrMsg);
  pVtab->zErrMsg = attnMessageV(zFunc, zFmt, ap);
  return rc==SQLITE_NOMEM || pVtab->zErrMsg==0 ? SQLITE_NOMEM : rc;
}

int attnVtabError(sqlite3_vtab *pVtab, const char *zFunc, int rc,
                  const char *zFmt, ...){
  va_list ap;
  va_start(ap, zFmt);
  rc = attnVtabErrorV(pVtab, zFunc, rc, zFmt, ap);
  va_end(ap);
  return rc;
}

void attnErrorFrom(sqlite3_context *ctx, const char *zSubject, attn_err *pErr){
  attnError(ctx, pErr->rc, "%s%s", zSubject, pErr->zMsg);
}

static const char *attnTypeName(int eType){
  switch( eType ){
    case SQLITE_INTEGER: return "an integer";
    case SQLITE_FLOAT:   return "a real number";
    case SQLITE_NULL:    return "NULL";
    case SQLITE_TEXT:    return "text";
    default:             return "a blob";
  }
}

/* The dtype a subtype tags a BLOB with, or -1 for none of ours. */
static int attnSubtypeDtype(int eSub){
  switch( eSub ){
    case ATTN_SUBTYPE_F32:  return ATTN_VEC_F32;
    case ATTN_SUBTYPE_F16:  return ATTN_VEC_F16;
    case ATTN_SUBTYPE_BF16: return ATTN_VEC_BF16;
  }
  return -1;
}

int attnValueDim(sqlite3_value *pVal, int eDtype, int64_t *pnDim,
                 attn_err *pErr){
  int eType = sqlite3_value_type(pVal);
  int eSub, eTag;
  if( eType!=SQLITE_BLOB && eType!=SQLITE_TEXT ){
    return attn_err_set(pErr, ATTN_ERROR,
        "is %s, expected a %s BLOB or JSON text such as '[1, 2.5]'",
        attnTypeName(eType), attn_vec_dtype_long_name(eDtype));
  }
  eSub = (int)sqlite3_value_subtype(pVal);
  if( eSub==ATTN_SUBTYPE_INT8 || eSub==ATTN_SUBTYPE_BIT ){
    return attn_err_set(pErr, ATTN_ERROR,
        "is a sqlite-vec %s vector, expected float32 (convert it with "
        "vec_f32() or vec_to_json())", eSub==ATTN_SUBTYPE_INT8 ? "int8" : "bit");
  }
  if( eType==SQLITE_TEXT ){
    const unsigned char *z = sqlite3_value_text(pVal);
    if( z==0 ) return attn_err_nomem(pErr);
    return attn_vec_dim(z, sqlite3_value_bytes(pVal), ATTN_VEC_JSON, pnDim,
                        pErr);
  }
  eTag = attnSubtypeDtype(eSub);
  if( eTag>=0 && eTag!=eDtype ){
    if( eDtype==ATTN_VEC_F32 ){
      return attn_err_set(pErr, ATTN_ERROR,
          "is a %s BLOB (subtype %d, from attn_vec(x, '%s')), read here as "
          "float32: convert it with attn_f32(v, '%s')",
          attn_vec_dtype_long_name(eTag), eSub, attn_vec_dtype_name(eTag),
          attn_vec_dtype_name(eTag));
    }
    return attn_err_set(pErr, ATTN_ERROR,
        "is a %s BLOB (subtype %d), read here as %s (dtype '%s')",
        attn_vec_dtype_long_name(eTag), eSub,
        attn_vec_dtype_long_name(eDtype), attn_vec_dtype_name(eDtype));
  }
  return attn_vec_dim(0, sqlite3_value_bytes(pVal), eDtype, pnDim, pErr);
}

/* Decode as attn_vec_decode_as() does. */
static int attnValueDecodeAs(sqlite3_value *pVal, int eDtype, int eAs,
                             float *a, int64_t nDim, attn_err *pErr){
  const void *z;
  int isText = sqlite3_value_type(pVal)==SQLITE_TEXT;
  z = isText ? (const void*)sqlite3_value_text(pVal) : sqlite3_value_blob(pVal);
  if( z==0 ) return attn_err_nomem(pErr);
  return attn_vec_decode_as(z, sqlite3_value_bytes(pVal),
                            isText ? ATTN_VEC_JSON : eDtype, eAs, a, nDim,
                            pErr);
}

int attnValueDecode(sqlite3_value *pVal, int eDtype, float *a, int64_t nDim,
                    attn_err *pErr){
  return attnValueDecodeAs(pVal, eDtype, ATTN_VEC_F32, a, nDim, pErr);
}

const char *attnValueBytes(sqlite3_value *pVal, int *peKind, int64_t *pn){
  const char *z;
  switch( sqlite3_value_type(pVal) ){
    case SQLITE_NULL:    *peKind = ATTN_KIND_NULL;    *pn = 0; return "";
    case SQLITE_INTEGER: *peKind = ATTN_KIND_INTEGER; break;
    case SQLITE_FLOAT:   *peKind = ATTN_KIND_REAL;    break;
    case SQLITE_TEXT:    *peKind = ATTN_KIND_TEXT;    break;
    default:
      /* An empty BLOB has no pointer. */
      *peKind = ATTN_KIND_BLOB;
      z = (const char*)sqlite3_value_blob(pVal);
      *pn = sqlite3_value_bytes(pVal);
      return z ? z : *pn==0 ? "" : 0;
  }
  z = (const char*)sqlite3_value_text(pVal);
  *pn = sqlite3_value_bytes(pVal);
  return z;
}

int attnValueNumber(sqlite3_value *pVal, double *pOut, attn_err *pErr){
  int eType = sqlite3_value_type(pVal);
  double r;
  if( eType!=SQLITE_INTEGER && eType!=SQLITE_FLOAT ){
    return attn_err_set(pErr, ATTN_ERROR, "is %s, expected a number",
                        attnTypeName(eType));
  }
  r = sqlite3_value_double(pVal);
  if( !isfinite(r) ){
    return attn_err_set(pErr, ATTN_ERROR, "is %s, expected a finite number",
                        isnan(r) ? "NaN" : (r>0 ? "Infinity" : "-Infinity"));
  }
  *pOut = r;
  return ATTN_OK;
}

int attnValueInteger(sqlite3_value *pVal, int64_t *pOut, attn_err *pErr){
  int eType = sqlite3_value_type(pVal);
  if( eType==SQLITE_INTEGER ){
    *pOut = sqlite3_value_int64(pVal);
    return ATTN_OK;
  }
  if( eType==SQLITE_FLOAT ){
    double r = sqlite3_value_double(pVal);
    if( r==floor(r) && r>=-9.2e18 && r<=9.2e18 ){
      *pOut = (int64_t)r;
      return ATTN_OK;
    }
    return attn_err_set(pErr, ATTN_ERROR,
                        "is the real number %.17g, expected an integer", r);
  }
  return attn_err_set(pErr, ATTN_ERROR, "is %s, expected an integer",
                      attnTypeName(eType));
}

static int attnArgReport(sqlite3_context *ctx, int iArg, attn_err *pErr){
  char zSubject[32];
  sqlite3_snprintf(sizeof(zSubject), zSubject, "argument %d ", iArg+1);
  attnErrorFrom(ctx, zSubject, pErr);
  return 1;
}

int attnArgNumber(sqlite3_context *ctx, sqlite3_value **argv, int iArg,
                  double *pOut){
  attn_err err;
  if( attnValueNumber(argv[iArg], pOut, &err)==ATTN_OK ) return 0;
  return attnArgReport(ctx, iArg, &err);
}

int attnArgInteger(sqlite3_context *ctx, sqlite3_value **argv, int iArg,
                   int64_t *pOut){
  attn_err err;
  if( attnValueInteger(argv[iArg], pOut, &err)==ATTN_OK ) return 0;
  return attnArgReport(ctx, iArg, &err);
}

int attnArgPosition(sqlite3_context *ctx, sqlite3_value **argv, int iArg,
                    double *pOut){
  attn_err err;
  if( sqlite3_value_type(argv[iArg])==SQLITE_INTEGER ){
    int64_t i = sqlite3_value_int64(argv[iArg]);
    attn_err_clear(&err);
    if( attn_check_pos(i, &err) ) return attnArgReport(ctx, iArg, &err);
    *pOut = (double)i;
    return 0;
  }
  return attnArgNumber(ctx, argv, iArg, pOut);
}

int attnAnyNull(int argc, sqlite3_value **argv){
  int i;
  for(i=0; i<argc; i++){
    if( sqlite3_value_type(argv[i])==SQLITE_NULL ) return 1;
  }
  return 0;
}

int attnCheckLength(sqlite3_context *ctx, uint64_t nByte, const char *zWhat){
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  int mx = sqlite3_limit(db, SQLITE_LIMIT_LENGTH, -1);
  if( nByte>(uint64_t)mx ){
    attnError(ctx, SQLITE_TOOBIG,
        "%s would be %llu bytes, more than SQLITE_LIMIT_LENGTH (%d bytes)",
        zWhat, (unsigned long long)nByte, mx);
    return 1;
  }
  return 0;
}

float *attnAllocVector(sqlite3_context *ctx, int64_t n){
  int mx = sqlite3_limit(sqlite3_context_db_handle(ctx), SQLITE_LIMIT_LENGTH, -1);
  float *a;
  if( n<=0 ){
    attnError(ctx, SQLITE_ERROR, "the result would have %lld elements, "
              "expected at least 1", (long long)n);
    return 0;
  }
  if( n>mx/4 ){
    attnError(ctx, SQLITE_TOOBIG, "the result would have %lld elements, more "
              "than the %d that fit SQLITE_LIMIT_LENGTH (%d bytes)",
              (long long)n, mx/4, mx);
    return 0;
  }
  a = sqlite3_malloc64(4*(sqlite3_uint64)n);
  if( a==0 ) sqlite3_result_error_nomem(ctx);
  return a;
}

int attnArgVectorAs(sqlite3_context *ctx, sqlite3_value **argv, int iArg,
                    int eDtype, int eAs, AttnVec *pVec){
  attn_err err;
  pVec->a = 0;
  pVec->n = 0;
  if( sqlite3_value_type(argv[iArg])==SQLITE_NULL ) return 0;
  attn_err_clear(&err);
  if( attnValueDim(argv[iArg], eDtype, &pVec->n, &err)==ATTN_OK ){
    char zWhat[48];
    sqlite3_snprintf(sizeof(zWhat), zWhat, "argument %d as a float32 vector",
                     iArg+1);
    if( attnCheckLength(ctx, 4*(uint64_t)pVec->n, zWhat) ) return 1;
    pVec->a = sqlite3_malloc64(4*(sqlite3_uint64)pVec->n);
    if( pVec->a==0 ){
      attn_err_nomem(&err);
    }else if( attnValueDecodeAs(argv[iArg], eDtype, eAs, pVec->a, pVec->n,
                                &err) ){
      sqlite3_free(pVec->a);
      pVec->a = 0;
    }
  }
  if( err.rc==ATTN_OK ) return 0;
  return attnArgReport(ctx, iArg, &err);
}

int attnArgVector(sqlite3_context *ctx, sqlite3_value **argv, int iArg,
                  AttnVec *pVec){
  return attnArgVectorAs(ctx, argv, iArg, ATTN_VEC_F32, ATTN_VEC_F32, pVec);
}

int attnArgDtype(sqlite3_context *ctx, sqlite3_value **argv, int iArg,
                 int *peDtype){
  int eKind;
  int64_t n;
  const char *z = attnValueBytes(argv[iArg], &eKind, &n);
  attn_err err;
  if( z==0 ){
    sqlite3_result_error_nomem(ctx);
    return 1;
  }
  if( attn_vec_dtype(eKind, z, n, peDtype, &err)==0 ) return 0;
  return attnArgReport(ctx, iArg, &err);
}

void attnResultVector(sqlite3_context *ctx, float *a, int64_t n){
  attn_err err;
  attn_err_clear(&err);
  if( attn_vec_check_finite(a, n, &err) ){
    sqlite3_free(a);
    attnErrorFrom(ctx, "result ", &err);
    return;
  }
  /* Little-endian in place (a no-op on little-endian machines). */
  attn_vec_to_blob(a, n, a);
  sqlite3_result_blob64(ctx, a, 4*(sqlite3_uint64)n, sqlite3_free);
  sqlite3_result_subtype(ctx, ATTN_SUBTYPE_F32);
}

void attnResultVectorAs(sqlite3_context *ctx, float *a, int64_t n,
                        int eDtype){
  attn_err err;
  int w = attn_vec_dtype_size(eDtype);
  if( eDtype==ATTN_VEC_F32 ){
    attnResultVector(ctx, a, n);
    return;
  }
  attn_err_clear(&err);
  if( attn_vec_encode(a, n, eDtype, a, &err) ){
    sqlite3_free(a);
    attnErrorFrom(ctx, "result ", &err);
    return;
  }
  sqlite3_result_blob64(ctx, a, (sqlite3_uint64)w*(sqlite3_uint64)n,
                        sqlite3_free);
  sqlite3_result_subtype(ctx, eDtype==ATTN_VEC_F16 ? ATTN_SUBTYPE_F16
                                                   : ATTN_SUBTYPE_BF16);
}
