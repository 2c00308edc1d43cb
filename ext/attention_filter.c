/*
** attention_filter.c: the query-row filters of attention() and
** attention_scores() (attention_filter.h): might a row whose id or
** position is a given value pass a constraint of the WHERE clause?
**
**   SELECT id, output FROM attention('SELECT id, emb AS x FROM tokens')
**    WHERE id IN (17, 18) AND pos >= 1000;      -- two rows computed
**
** How it works.  A comparison of two SQL values has three outcomes (less,
** equal, greater); filterOutcomes() gives the set of those the SQL
** comparison could have, and a filter passes a row when its operator
** accepts one of them.  The set has one member when the answer does not
** depend on anything this file cannot see: two integers, two texts (by
** bytes in the database's encoding, as SQLite's BINARY collation compares
** them: xBestIndex takes only constraints with BINARY; UTF-16le bytes do
** not sort as UTF-8's), two
** BLOBs, a BLOB and anything else (no affinity makes or unmakes a BLOB), a
** number against a number that is not near it.  It has more when it could:
** a number against a text (the column's affinity, which the constraint's
** other side decides, may turn either into the other's kind; they may be
** equal only when the text reads as a number near it), two numbers within
** 1e-14 of each other (a REAL that went through text keeps 15 digits; an
** integer beyond 2^53 is not exact as a double), and an out-of-memory.
** NULL compares to nothing, as in SQL.
*/
#include "attention_filter.h"
#include <string.h>

#define CMP_LT  1
#define CMP_EQ  2
#define CMP_GT  4
#define CMP_ANY (CMP_LT|CMP_EQ|CMP_GT)

/* The outcomes each operator accepts, in FILTER_* order. */
static const unsigned char aFilterAccept[FILTER_NOP] = {
  CMP_EQ, CMP_EQ, CMP_LT, CMP_LT|CMP_EQ, CMP_GT, CMP_GT|CMP_EQ
};

int attnFilterOp(unsigned char op, int bIn){
  switch( op ){
    case SQLITE_INDEX_CONSTRAINT_EQ: return bIn ? FILTER_IN : FILTER_EQ;
    case SQLITE_INDEX_CONSTRAINT_LT: return FILTER_LT;
    case SQLITE_INDEX_CONSTRAINT_LE: return FILTER_LE;
    case SQLITE_INDEX_CONSTRAINT_GT: return FILTER_GT;
    case SQLITE_INDEX_CONSTRAINT_GE: return FILTER_GE;
  }
  return -1;
}

void attnFilterClear(AttnFilter *p){
  int i;
  for(i=0; i<p->nVal; i++) sqlite3_value_free(p->apVal[i]);
  sqlite3_free(p->apVal);
  memset(p, 0, sizeof(*p));
}

/* Append a copy of pVal to p->apVal (grown by doubling). */
static int filterAppend(AttnFilter *p, sqlite3_value *pVal, int *pnAlloc){
  if( p->nVal>=*pnAlloc ){
    int nNew = *pnAlloc ? 2 * *pnAlloc : 4;
    sqlite3_value **a;
    if( nNew<=*pnAlloc ) return SQLITE_NOMEM;       /* cannot grow further */
    a = sqlite3_realloc64(p->apVal, sizeof(*a)*(sqlite3_uint64)nNew);
    if( a==0 ) return SQLITE_NOMEM;
    p->apVal = a;
    *pnAlloc = nNew;
  }
  p->apVal[p->nVal] = sqlite3_value_dup(pVal);
  if( p->apVal[p->nVal]==0 ) return SQLITE_NOMEM;
  p->nVal++;
  return SQLITE_OK;
}

int attnFilterTextEncoding(sqlite3 *db){
  sqlite3_stmt *pStmt = 0;
  int eEnc = 0;
  if( sqlite3_prepare_v2(db, "PRAGMA main.encoding", -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW ){
    const char *z = (const char*)sqlite3_column_text(pStmt, 0);
    if( z && sqlite3_stricmp(z, "UTF-8")==0 ) eEnc = SQLITE_UTF8;
    if( z && sqlite3_stricmp(z, "UTF-16le")==0 ) eEnc = SQLITE_UTF16LE;
    if( z && sqlite3_stricmp(z, "UTF-16be")==0 ) eEnc = SQLITE_UTF16BE;
  }
  sqlite3_finalize(pStmt);
  return eEnc;
}

int attnFilterInit(AttnFilter *p, int iCol, int eOp, sqlite3_value *pArg,
                   int eTextEnc){
  int nAlloc = 0, rc;
  memset(p, 0, sizeof(*p));
  p->iCol = iCol;
  p->eOp = eOp;
  p->eTextEnc = eTextEnc;
  if( eOp!=FILTER_IN ){
    rc = filterAppend(p, pArg, &nAlloc);
  }else{
    sqlite3_value *pVal = 0;
    for(rc=sqlite3_vtab_in_first(pArg, &pVal);
        rc==SQLITE_OK && pVal;
        rc=sqlite3_vtab_in_next(pArg, &pVal)){
      if( (rc = filterAppend(p, pVal, &nAlloc))!=SQLITE_OK ) break;
    }
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  }
  if( rc ) attnFilterClear(p);
  return rc;
}

/* The class of a storage type in SQL's order: NULL, number, text, BLOB. */
static int filterClass(int t){
  switch( t ){
    case SQLITE_INTEGER: case SQLITE_FLOAT: return 1;
    case SQLITE_TEXT: return 2;
    case SQLITE_BLOB: return 3;
  }
  return 0;
}

/* Are numbers a and b close enough that text or double rounding could
** make them equal? */
static int filterNear(double a, double b){
  double d = a>b ? a-b : b-a;
  double m = (a<0 ? -a : a) > (b<0 ? -b : b) ? (a<0 ? -a : a) : (b<0 ? -b : b);
  return d<=m*1e-14;
}

/* Read text pVal as a number: 1 (in *pr), 0 (it does not read as one),
** or 2 (out of memory). */
static int filterTextNumber(sqlite3_value *pVal, double *pr){
  sqlite3_value *pCopy = sqlite3_value_dup(pVal);
  int t;
  if( pCopy==0 ) return 2;
  t = sqlite3_value_numeric_type(pCopy);
  if( t==SQLITE_INTEGER || t==SQLITE_FLOAT ) *pr = sqlite3_value_double(pCopy);
  sqlite3_value_free(pCopy);
  return t==SQLITE_INTEGER || t==SQLITE_FLOAT;
}

/* The outcomes of comparing bytes a[0..nA) with b[0..nB), as memcmp. */
static int filterBytes(const void *a, int nA, const void *b, int nB){
  int n = nA<nB ? nA : nB;
  int c = n>0 ? memcmp(a, b, (size_t)n) : 0;
  if( c==0 ) c = nA - nB;
  return c<0 ? CMP_LT : c>0 ? CMP_GT : CMP_EQ;
}

/* The outcomes of comparing number a (of row value pA, or the integer iA
** when pA is NULL) with value pB, whose class differs or is a number. */
static int filterNumber(sqlite3_value *pA, int64_t iA, sqlite3_value *pB){
  int tA = pA ? sqlite3_value_type(pA) : SQLITE_INTEGER;
  int tB = sqlite3_value_type(pB);
  double a = tA==SQLITE_INTEGER ? (double)(pA ? sqlite3_value_int64(pA) : iA)
                                : sqlite3_value_double(pA);
  double b = 0.0;
  int e;
  if( tB==SQLITE_BLOB ) return CMP_LT;
  if( tB==SQLITE_INTEGER && tA==SQLITE_INTEGER ){
    int64_t x = pA ? sqlite3_value_int64(pA) : iA, y = sqlite3_value_int64(pB);
    return x<y ? CMP_LT : x>y ? CMP_GT : CMP_EQ;
  }
  if( tB==SQLITE_INTEGER || tB==SQLITE_FLOAT ){
    b = sqlite3_value_double(pB);
    return filterNear(a, b) ? CMP_ANY : a<b ? CMP_LT : CMP_GT;
  }
  /* A text: either may become the other's kind. */
  e = filterTextNumber(pB, &b);
  if( e==2 ) return CMP_ANY;
  return CMP_LT|CMP_GT|(e==1 && filterNear(a, b) ? CMP_EQ : 0);
}

/* Texts pA and pB compared as BINARY does: their bytes in encoding eEnc
** (0: unknown, any outcome). */
static int filterText(sqlite3_value *pA, sqlite3_value *pB, int eEnc){
  const void *a, *b;
  int nA, nB;
  if( eEnc==0 ) return CMP_ANY;
  if( eEnc==SQLITE_UTF16LE || eEnc==SQLITE_UTF16BE ){
    int bLe = eEnc==SQLITE_UTF16LE;
    a = bLe ? sqlite3_value_text16le(pA) : sqlite3_value_text16be(pA);
    nA = sqlite3_value_bytes16(pA);
    b = bLe ? sqlite3_value_text16le(pB) : sqlite3_value_text16be(pB);
    nB = sqlite3_value_bytes16(pB);
  }else{
    a = sqlite3_value_text(pA);
    nA = sqlite3_value_bytes(pA);
    b = sqlite3_value_text(pB);
    nB = sqlite3_value_bytes(pB);
  }
  if( a==0 || b==0 ) return CMP_ANY;               /* out of memory */
  return filterBytes(a, nA, b, nB);
}

/* The outcomes the SQL comparison of row value pA (or the integer iA when
** pA is NULL) with pB could have, texts in encoding eEnc; 0 when either is
** NULL. */
static int filterOutcomes(sqlite3_value *pA, int64_t iA, sqlite3_value *pB,
                          int eEnc){
  int cA = pA ? filterClass(sqlite3_value_type(pA)) : 1;
  int cB = filterClass(sqlite3_value_type(pB));
  if( cA==0 || cB==0 ) return 0;
  if( cA==1 ) return filterNumber(pA, iA, pB);
  if( cB==1 ){
    /* Swap the sides: less becomes greater. */
    int m = filterNumber(pB, 0, pA);
    return (m & CMP_EQ) | (m & CMP_LT ? CMP_GT : 0) | (m & CMP_GT ? CMP_LT : 0);
  }
  if( cA!=cB ) return cA<cB ? CMP_LT : CMP_GT;     /* text < BLOB */
  if( cA==2 ) return filterText(pA, pB, eEnc);
  {
    const void *a = sqlite3_value_blob(pA);
    int nA = sqlite3_value_bytes(pA);
    const void *b = sqlite3_value_blob(pB);
    int nB = sqlite3_value_bytes(pB);
    if( (a==0 && nA>0) || (b==0 && nB>0) ) return CMP_ANY;
    return filterBytes(a, nA, b, nB);
  }
}

int attnFilterMaybe(const AttnFilter *p, sqlite3_value *pVal, int64_t iVal){
  int i;
  for(i=0; i<p->nVal; i++){
    if( filterOutcomes(pVal, iVal, p->apVal[i], p->eTextEnc)
        & aFilterAccept[p->eOp] ){
      return 1;
    }
  }
  return 0;
}
