/*
** tensors.c: attn_tensors(path), the tensors of a .npy, .npz or
** .safetensors file as rows.
**
**   SELECT name, dtype, shape, data FROM attn_tensors('model.safetensors');
**
**   name   TEXT   the tensor's name: the safetensors key, the .npz member
**                 without ".npy", or for a .npy the file's base name
**                 without ".npy"
**   dtype  TEXT   as written in the file: 'F32', 'BF16', '<f4', '>f8', ...
**   shape  TEXT   a JSON array of sizes, outermost first: '[768,3072]';
**                 '[]' for a 0-d scalar
**   data   BLOB   the values as float32, little-endian, row-major
**                 (4 x elements bytes; zero bytes for an empty tensor); with
**                 keep_half = 1, a float16 or bfloat16 tensor's own 2-byte
**                 values instead, unconverted (2 x elements bytes)
**   path   HIDDEN the argument
**   keep_half HIDDEN  second argument, 0 (default, or NULL) or 1
**   data_dtype HIDDEN how data is stored, as a dtype of the vector
**                 functions: 'f32', or with keep_half 'f16' or 'bf16'
**
**   SELECT name, data_dtype, data FROM attn_tensors('model.safetensors', 1);
**
** Trained weights load with one statement:
**
**   INSERT INTO params SELECT name, data FROM attn_tensors('model.safetensors');
**
** How it works.  attn_tensors is an eponymous-only virtual table (xCreate
** is NULL, so it cannot be the module of a CREATE VIRTUAL TABLE).
** xBestIndex requires an equality constraint on the hidden path column,
** which is what the table-valued function syntax attn_tensors('x.npy')
** supplies.  xFilter opens the file with src/tensorfile.h, which reads and
** checks every header up front, so a malformed file fails the statement
** before its first row.  Rows come in the reader's order (safetensors: data
** offsets; .npz: archive order).  The data column is read in xColumn, only
** when the statement asks for it: listing the names and shapes of a large
** checkpoint reads its headers only, and WHERE name = '...' reads one
** tensor's data.
**
** The table is DIRECTONLY (it reads files), so it cannot be used from a
** trigger or a view: a database file from elsewhere cannot make it read
** files.  Errors name the function and the file:
**   attn_tensors(): w.safetensors: header length 99999999 is beyond the end
**   of the file (1234 bytes)
*/
#include "common.h"
#include <string.h>
#include "../src/tensorfile.h"
#include "../src/vector.h"

/* Column numbers, in the order of the CREATE TABLE in tensorsConnect(). */
#define TENSORS_NAME   0
#define TENSORS_DTYPE  1
#define TENSORS_SHAPE  2
#define TENSORS_DATA   3
#define TENSORS_PATH   4
#define TENSORS_KEEP   5
#define TENSORS_DDTYPE 6

typedef struct TensorsCursor TensorsCursor;
struct TensorsCursor {
  sqlite3_vtab_cursor base;      /* base class: must be first */
  attn_tensorfile *pFile;        /* the open file, NULL before xFilter */
  char *zPath;                   /* the path argument (sqlite3_malloc) */
  int iRow;                      /* current tensor */
  int bKeepHalf;                 /* keep_half = 1 */
};

/* How tensor iRow's data column is stored (ATTN_VEC_*). */
static int tensorsDataDtype(TensorsCursor *pCur){
  return pCur->bKeepHalf ? attn_tensorfile_half(pCur->pFile, pCur->iRow)
                         : ATTN_VEC_F32;
}


static int tensorsConnect(
  sqlite3 *db,
  void *pAux,
  int argc, const char *const *argv,
  sqlite3_vtab **ppVtab,
  char **pzErr
){
  sqlite3_vtab *pVtab;
  int rc;
  (void)pAux; (void)argc; (void)argv; (void)pzErr;
  rc = sqlite3_declare_vtab(db,
      "CREATE TABLE x(name TEXT, dtype TEXT, shape TEXT, data BLOB, "
      "path HIDDEN, keep_half HIDDEN, data_dtype HIDDEN)");
  if( rc!=SQLITE_OK ) return rc;
  pVtab = sqlite3_malloc(sizeof(*pVtab));
  if( pVtab==0 ) return SQLITE_NOMEM;
  memset(pVtab, 0, sizeof(*pVtab));
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *ppVtab = pVtab;
  return SQLITE_OK;
}

static int tensorsDisconnect(sqlite3_vtab *pVtab){
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

static int tensorsOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor){
  TensorsCursor *pCur;
  (void)pVtab;
  pCur = sqlite3_malloc(sizeof(*pCur));
  if( pCur==0 ) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  *ppCursor = &pCur->base;
  return SQLITE_OK;
}

static int tensorsClose(sqlite3_vtab_cursor *cur){
  TensorsCursor *pCur = (TensorsCursor*)cur;
  attn_tensorfile_close(pCur->pFile);
  sqlite3_free(pCur->zPath);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

static int tensorsNext(sqlite3_vtab_cursor *cur){
  ((TensorsCursor*)cur)->iRow++;
  return SQLITE_OK;
}

static int tensorsEof(sqlite3_vtab_cursor *cur){
  TensorsCursor *pCur = (TensorsCursor*)cur;
  return pCur->pFile==0 || pCur->iRow>=attn_tensorfile_count(pCur->pFile);
}

static int tensorsRowid(sqlite3_vtab_cursor *cur, sqlite_int64 *pRowid){
  *pRowid = ((TensorsCursor*)cur)->iRow + 1;
  return SQLITE_OK;
}

/* Report "attn_tensors(): <message>" with result code rc from xColumn. */
static void tensorsColumnError(sqlite3_context *ctx, int rc, const char *zMsg){
  attnErrorNamed(ctx, "attn_tensors", rc, "%s", zMsg);
}

/* The data column: read the tensor, as a float32 little-endian BLOB, or
** with keep_half as its own float16 / bfloat16 values (read as float32,
** which widens them exactly, then narrowed back exactly). */
static void tensorsData(TensorsCursor *pCur, sqlite3_context *ctx){
  const attn_tensor_info *pInfo = attn_tensorfile_info(pCur->pFile, pCur->iRow);
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  int mx = sqlite3_limit(db, SQLITE_LIMIT_LENGTH, -1);
  int eDtype = tensorsDataDtype(pCur);
  int w = attn_vec_dtype_size(eDtype);
  attn_err err;
  float *a;
  if( pInfo->nElem==0 ){
    sqlite3_result_zeroblob(ctx, 0);
    return;
  }
  if( pInfo->nElem>mx/w ){
    char *z = sqlite3_mprintf("%s: tensor '%s' has %lld elements, whose "
        "%s data (%lld bytes) is more than SQLITE_LIMIT_LENGTH (%d bytes)",
        attn_tensorfile_name(pCur->pFile), pInfo->zName,
        (long long)pInfo->nElem, attn_vec_dtype_long_name(eDtype),
        w*(long long)pInfo->nElem, mx);
    tensorsColumnError(ctx, z ? SQLITE_TOOBIG : SQLITE_NOMEM, z);
    sqlite3_free(z);
    return;
  }
  a = sqlite3_malloc64(4*(sqlite3_uint64)pInfo->nElem);
  if( a==0 ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  attn_err_clear(&err);
  if( attn_tensorfile_read(pCur->pFile, pCur->iRow, a, &err)
   || attn_vec_encode(a, pInfo->nElem, eDtype, a, &err) ){
    sqlite3_free(a);
    tensorsColumnError(ctx, err.rc, err.zMsg);
    return;
  }
  sqlite3_result_blob64(ctx, a, (sqlite3_uint64)w*(sqlite3_uint64)pInfo->nElem,
                        sqlite3_free);
}

static int tensorsColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx,
                         int iCol){
  TensorsCursor *pCur = (TensorsCursor*)cur;
  const attn_tensor_info *pInfo = attn_tensorfile_info(pCur->pFile, pCur->iRow);
  switch( iCol ){
    case TENSORS_NAME:
      sqlite3_result_text(ctx, pInfo->zName, -1, SQLITE_TRANSIENT);
      break;
    case TENSORS_DTYPE:
      sqlite3_result_text(ctx, pInfo->zDtype, -1, SQLITE_TRANSIENT);
      break;
    case TENSORS_SHAPE: {
      char zShape[ATTN_TENSOR_SHAPE_JSON_MAX];
      int n = attn_tensor_shape_json(pInfo->aShape, pInfo->nDim, zShape);
      sqlite3_result_text(ctx, zShape, n, SQLITE_TRANSIENT);
      break;
    }
    case TENSORS_DATA:
      tensorsData(pCur, ctx);
      break;
    case TENSORS_KEEP:
      sqlite3_result_int(ctx, pCur->bKeepHalf);
      break;
    case TENSORS_DDTYPE:
      sqlite3_result_text(ctx, attn_vec_dtype_name(tensorsDataDtype(pCur)),
                          -1, SQLITE_STATIC);
      break;
    default: /* TENSORS_PATH */
      sqlite3_result_text(ctx, pCur->zPath, -1, SQLITE_TRANSIENT);
      break;
  }
  return SQLITE_OK;
}

/* idxNum bit 1: argv[0] is the path (0: the plan has no path, an error);
** bit 2: argv[1] is keep_half. */
static int tensorsFilter(
  sqlite3_vtab_cursor *cur,
  int idxNum, const char *idxStr,
  int argc, sqlite3_value **argv
){
  TensorsCursor *pCur = (TensorsCursor*)cur;
  sqlite3_vtab *pVtab = cur->pVtab;
  const char *zPath;
  attn_err err;
  int eType;
  (void)idxStr;
  attn_tensorfile_close(pCur->pFile);
  sqlite3_free(pCur->zPath);
  pCur->pFile = 0;
  pCur->zPath = 0;
  pCur->iRow = 0;
  pCur->bKeepHalf = 0;
  if( (idxNum & 1)==0 || argc<1 ){
    return attnVtabError(pVtab, "attn_tensors", SQLITE_ERROR,
                         "missing the file path argument");
  }
  eType = sqlite3_value_type(argv[0]);
  if( eType!=SQLITE_TEXT ){
    return attnVtabError(pVtab, "attn_tensors", SQLITE_ERROR,
        "the file path is %s, expected text",
        eType==SQLITE_NULL ? "NULL" : eType==SQLITE_BLOB ? "a blob"
        : eType==SQLITE_INTEGER ? "an integer" : "a real number");
  }
  if( (idxNum & 2) && argc>1 && sqlite3_value_type(argv[1])!=SQLITE_NULL ){
    int64_t v = -1;
    attn_err e;
    attn_err_clear(&e);
    if( attnValueInteger(argv[1], &v, &e) ){
      return attnVtabError(pVtab, "attn_tensors", SQLITE_ERROR,
                           "keep_half %s", e.zMsg);
    }
    if( v!=0 && v!=1 ){
      return attnVtabError(pVtab, "attn_tensors", SQLITE_ERROR,
          "keep_half is %lld, expected 0 or 1", (long long)v);
    }
    pCur->bKeepHalf = (int)v;
  }
  zPath = (const char*)sqlite3_value_text(argv[0]);
  if( zPath==0 ) return SQLITE_NOMEM;
  pCur->zPath = sqlite3_mprintf("%s", zPath);
  if( pCur->zPath==0 ) return SQLITE_NOMEM;
  attn_err_clear(&err);
  if( attn_tensorfile_open(zPath, sqlite3_value_bytes(argv[0]), &pCur->pFile,
                           &err) ){
    if( err.rc==ATTN_NOMEM ) return SQLITE_NOMEM;
    return attnVtabError(pVtab, "attn_tensors", err.rc, "%s", err.zMsg);
  }
  return SQLITE_OK;
}

/* The plan needs an equality constraint on path.  When it exists but is not
** usable in this plan (a join supplying it from another table),
** SQLITE_CONSTRAINT makes the planner try another order; when there is
** none, the plan costs more than any with the path, and if SQLite still
** runs it (there is no path at all), xFilter says so. */
static int tensorsBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pIdx){
  int i, iUsable = -1, bSeen = 0, iKeep = -1, bKeepSeen = 0;
  for(i=0; i<pIdx->nConstraint; i++){
    const struct sqlite3_index_constraint *pC = &pIdx->aConstraint[i];
    if( pC->iColumn==TENSORS_KEEP && pC->op==SQLITE_INDEX_CONSTRAINT_EQ ){
      bKeepSeen = 1;
      if( pC->usable && iKeep<0 ) iKeep = i;
      continue;
    }
    if( pC->iColumn!=TENSORS_PATH || pC->op!=SQLITE_INDEX_CONSTRAINT_EQ ){
      continue;
    }
    bSeen = 1;
    if( pC->usable && iUsable<0 ) iUsable = i;
  }
  if( iUsable<0 ){
    if( bSeen ) return SQLITE_CONSTRAINT;
    /* No path in this plan: one branch of an OR (WHERE name = 'a' OR name
    ** = 'b') is planned without it.  A cost no plan with the path reaches
    ** makes SQLite take another whenever there is one; with no path at
    ** all, xFilter says it is missing. */
    (void)pVtab;
    pIdx->idxNum = 0;
    pIdx->estimatedCost = 1e99;
    pIdx->estimatedRows = 2147483647;
    return SQLITE_OK;
  }
  if( bKeepSeen && iKeep<0 ) return SQLITE_CONSTRAINT;
  pIdx->aConstraintUsage[iUsable].argvIndex = 1;
  pIdx->aConstraintUsage[iUsable].omit = 1;
  pIdx->idxNum = 1;
  if( iKeep>=0 ){
    pIdx->aConstraintUsage[iKeep].argvIndex = 2;
    pIdx->aConstraintUsage[iKeep].omit = 1;
    pIdx->idxNum |= 2;
  }
  pIdx->estimatedCost = 100.0;
  pIdx->estimatedRows = 100;
  return SQLITE_OK;
}

/* Designated initializers: the methods left out are NULL, whatever the
** version of sqlite3.h (newer ones add members at the end). */
static sqlite3_module tensorsModule = {
  .iVersion    = 0,
  .xCreate     = 0,             /* NULL: eponymous-only */
  .xConnect    = tensorsConnect,
  .xBestIndex  = tensorsBestIndex,
  .xDisconnect = tensorsDisconnect,
  .xDestroy    = 0,
  .xOpen       = tensorsOpen,
  .xClose      = tensorsClose,
  .xFilter     = tensorsFilter,
  .xNext       = tensorsNext,
  .xEof        = tensorsEof,
  .xColumn     = tensorsColumn,
  .xRowid      = tensorsRowid,
};

int attnRegisterTensors(sqlite3 *db){
  return sqlite3_create_module(db, "attn_tensors", &tensorsModule, 0);
}
