/*
** extension.c: the entry point of sqlite-attention.
**
** Loaded with .load ./dist/attention (the loader derives the entry point
** sqlite3_attention_init from the file name) or linked in statically (built
** with -DSQLITE_CORE) and registered with sqlite3_auto_extension().
**
** The entry point refuses SQLite libraries older than the minimum in
** src/version.h, routes the engine's allocator to sqlite3_malloc64(), picks
** the compute kernels for this CPU, and registers each SQL family in turn
** (one file of ext/ per family, one registration function per file).
*/
#include "common.h"
SQLITE_EXTENSION_INIT1
#include "../src/alloc.h"
#include "../src/kernels.h"
#include "../src/version.h"

#ifdef _WIN32
# define ATTN_EXPORT __declspec(dllexport)
#elif defined(__GNUC__)
# define ATTN_EXPORT __attribute__((visibility("default")))
#else
# define ATTN_EXPORT
#endif

/* sqlite3_malloc64 is a macro over the API table when loaded dynamically,
** so the hook needs a real function. */
static void *extensionMalloc(uint64_t nByte){
  return sqlite3_malloc64((sqlite3_uint64)nByte);
}
static void extensionFree(void *p){
  sqlite3_free(p);
}

ATTN_EXPORT int sqlite3_attention_init(
  sqlite3 *db,
  char **pzErrMsg,
  const sqlite3_api_routines *pApi
){
  static int (*const aRegister[])(sqlite3*) = {
    attnRegisterVectors,
    attnRegisterAggregates,
    attnRegisterTensors,
    attnRegisterHeatmap,
    attnRegisterAttention,
    attnRegisterPool,
  };
  int i, rc = SQLITE_OK;
  SQLITE_EXTENSION_INIT2(pApi);
  if( sqlite3_libversion_number()<ATTN_MIN_SQLITE_VERSION_NUMBER ){
    if( pzErrMsg ){
      *pzErrMsg = sqlite3_mprintf("sqlite-attention %s needs SQLite %s or "
          "later, but it was loaded into SQLite %s", ATTN_VERSION,
          ATTN_MIN_SQLITE_VERSION, sqlite3_libversion());
    }
    return SQLITE_ERROR;
  }
  attn_set_allocator(extensionMalloc, extensionFree);
  attn_kernels_init();
  for(i=0; rc==SQLITE_OK && i<(int)(sizeof(aRegister)/sizeof(aRegister[0])); i++){
    rc = aRegister[i](db);
  }
  if( rc!=SQLITE_OK && pzErrMsg ){
    *pzErrMsg = sqlite3_mprintf("sqlite-attention: registering functions "
                                "failed: %s", sqlite3_errmsg(db));
  }
  return rc;
}
