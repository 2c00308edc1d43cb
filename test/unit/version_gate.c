/*
** version_gate.c: the loadable extension refuses a SQLite library older
** than the minimum in src/version.h, with a message that names both
** versions, and registers nothing.
**
** How an old library is imitated without building one: a loadable extension
** asks SQLite for its version through the sqlite3_api_routines table it is
** given (sqlite3_libversion_number() is a macro over that table).  SQLite
** passes the very same table, its real one, to every function registered
** with sqlite3_auto_extension().  So this program
**   1. registers a tiny auto extension that only captures that pointer, and
**      opens a connection to have it called;
**   2. dlopen()s the loadable extension ($ATTN_EXT, which test/all.tcl sets)
**      and looks up sqlite3_attention_init;
**   3. calls it with a copy of the real table in which libversion() and
**      libversion_number() report 3.37.2 (then the minimum exactly, and one
**      below it), and checks the return code, the message and that no
**      function was registered; then with the real table, which must work.
** The static library cannot serve: built with -DSQLITE_CORE it calls the
** real sqlite3_libversion_number() and ignores the table.
**
** Without ATTN_EXT the test is skipped ("0 passed, 0 failed, 1 skipped").
*/
#include "unit.h"
#include <dlfcn.h>
/* sqlite3ext.h for the definition of sqlite3_api_routines; SQLITE_CORE so
** that it does not turn this program's sqlite3_* calls into table calls. */
#define SQLITE_CORE 1
#include <sqlite3ext.h>
#include <stdlib.h>
#include <string.h>
#include "version.h"

typedef int (*InitFunc)(sqlite3*, char**, const sqlite3_api_routines*);

static const sqlite3_api_routines *pRealApi = 0;

/* The auto extension that captures the API table. */
static int captureApi(sqlite3 *db, char **pzErr,
                      const sqlite3_api_routines *pApi){
  (void)db; (void)pzErr;
  pRealApi = pApi;
  return SQLITE_OK;
}

/* The version the fake table reports. */
static int fakeNumber = 0;
static const char *fakeVersion = "";
static int fakeLibversionNumber(void){ return fakeNumber; }
static const char *fakeLibversion(void){ return fakeVersion; }

/* Must outlive every call into the extension: it keeps the pointer. */
static sqlite3_api_routines fakeApi;

static int hasFunction(sqlite3 *db, const char *zName){
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf("SELECT %s()", zName);
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  sqlite3_finalize(pStmt);
  sqlite3_free(zSql);
  return rc==SQLITE_OK;
}

/* Call the entry point on a fresh connection with the fake table set to
** (nVersion, zVersion); return its result code, its message in *pzMsg
** (sqlite3_free it), and whether attn_version() exists afterwards. */
static int callWithVersion(InitFunc xInit, int nVersion, const char *zVersion,
                           char **pzMsg, int *pbRegistered){
  sqlite3 *db = 0;
  int rc;
  fakeApi = *pRealApi;
  fakeApi.libversion_number = fakeLibversionNumber;
  fakeApi.libversion = fakeLibversion;
  fakeNumber = nVersion;
  fakeVersion = zVersion;
  *pzMsg = 0;
  sqlite3_open(":memory:", &db);
  rc = xInit(db, pzMsg, &fakeApi);
  *pbRegistered = hasFunction(db, "attn_version");
  sqlite3_close(db);
  return rc;
}

int main(void){
  const char *zExt = getenv("ATTN_EXT");
  void *pLib;
  InitFunc xInit;
  sqlite3 *db = 0;
  char *zMsg = 0;
  char zWant[256];
  int rc, bReg, nMajor = 0, nMinor = 0, nPatch = 0;

  if( zExt==0 || zExt[0]==0 ){
    UNIT_SKIP("version_gate", "ATTN_EXT (the path of attention.so) is not set "
              "(test/all.tcl sets it; make test runs it)");
    return UNIT_DONE();
  }

  /* The text and the number of the minimum agree. */
  CHECK(sscanf(ATTN_MIN_SQLITE_VERSION, "%d.%d.%d", &nMajor, &nMinor, &nPatch)==3);
  CHECK(nMajor*1000000 + nMinor*1000 + nPatch==ATTN_MIN_SQLITE_VERSION_NUMBER);

  /* 1. The real API table. */
  sqlite3_auto_extension((void(*)(void))captureApi);
  sqlite3_open(":memory:", &db);
  sqlite3_close(db);
  sqlite3_reset_auto_extension();
  CHECK(pRealApi!=0);
  if( pRealApi==0 ) return UNIT_DONE();
  CHECK(pRealApi->libversion_number()==sqlite3_libversion_number());

  /* 2. The loadable extension. */
  pLib = dlopen(zExt, RTLD_NOW|RTLD_LOCAL);
  if( pLib==0 ) fprintf(stderr, "dlopen %s: %s\n", zExt, dlerror());
  CHECK(pLib!=0);
  if( pLib==0 ) return UNIT_DONE();
  xInit = (InitFunc)dlsym(pLib, "sqlite3_attention_init");
  CHECK(xInit!=0);
  if( xInit==0 ) return UNIT_DONE();

  /* 3a. An old SQLite: refused, naming both versions, nothing registered. */
  rc = callWithVersion(xInit, 3037002, "3.37.2", &zMsg, &bReg);
  snprintf(zWant, sizeof(zWant), "sqlite-attention %s needs SQLite %s or later, "
           "but it was loaded into SQLite 3.37.2", ATTN_VERSION,
           ATTN_MIN_SQLITE_VERSION);
  CHECK(rc==SQLITE_ERROR);
  CHECK(zMsg!=0 && strcmp(zMsg, zWant)==0);
  if( zMsg && strcmp(zMsg, zWant)!=0 ){
    fprintf(stderr, "  got  [%s]\n  want [%s]\n", zMsg, zWant);
  }
  CHECK(strstr(zWant, "3.38.0")!=0 && strstr(zWant, "0.2.0")!=0);
  CHECK(bReg==0);
  sqlite3_free(zMsg);

  /* 3b. One below the minimum: refused too. */
  rc = callWithVersion(xInit, ATTN_MIN_SQLITE_VERSION_NUMBER-1, "3.37.99",
                       &zMsg, &bReg);
  CHECK(rc==SQLITE_ERROR && zMsg!=0 && strstr(zMsg, "SQLite 3.37.99")!=0);
  CHECK(bReg==0);
  sqlite3_free(zMsg);

  /* 3c. The minimum itself: accepted. */
  rc = callWithVersion(xInit, ATTN_MIN_SQLITE_VERSION_NUMBER,
                       ATTN_MIN_SQLITE_VERSION, &zMsg, &bReg);
  CHECK(rc==SQLITE_OK && zMsg==0);
  CHECK(bReg==1);
  sqlite3_free(zMsg);

  /* 3d. The real table, through sqlite3_load_extension() as a user loads
  ** it: works, and the version it reports is this library's. */
  sqlite3_open(":memory:", &db);
  sqlite3_enable_load_extension(db, 1);
  rc = sqlite3_load_extension(db, zExt, 0, &zMsg);
  CHECK(rc==SQLITE_OK);
  if( rc ) fprintf(stderr, "load_extension: %s\n", zMsg ? zMsg : "?");
  sqlite3_free(zMsg);
  CHECK(hasFunction(db, "attn_version"));
  {
    sqlite3_stmt *pStmt = 0;
    sqlite3_prepare_v2(db, "SELECT attn_debug()", -1, &pStmt, 0);
    CHECK(pStmt && sqlite3_step(pStmt)==SQLITE_ROW);
    if( pStmt ){
      char zLine[64];
      snprintf(zLine, sizeof(zLine), "\nsqlite %s\n", sqlite3_libversion());
      CHECK(strstr((const char*)sqlite3_column_text(pStmt, 0), zLine)!=0);
    }
    sqlite3_finalize(pStmt);
  }
  sqlite3_close(db);
  /* The library stays loaded (no dlclose): valgrind keeps its symbols. */
  return UNIT_DONE();
}
