/*
** params.c: the names and the row of attention()'s params SELECT (see
** params.h).
*/
#include "params.h"
#include "utf8.h"
#include <string.h>

/* Append to z (of nByte, holding n bytes) the names of azArg whose bit in
** mWant is set, as "a, b and c"; return the new length (cut at nByte). */
static size_t paramsList(char *z, size_t nByte, size_t n, int nArg,
                         const char *const *azArg, uint32_t mWant){
  int i, nLeft = 0;
  for(i=0; i<nArg; i++) nLeft += (mWant>>i) & 1;
  for(i=0; i<nArg && n+1<nByte; i++){
    size_t m;
    if( ((mWant>>i) & 1)==0 ) continue;
    m = strlen(azArg[i]);
    if( n+m+6>=nByte ) break;
    memcpy(z+n, azArg[i], m);
    n += m;
    nLeft--;
    if( nLeft>1 ){ memcpy(z+n, ", ", 2); n += 2; }
    else if( nLeft==1 ){ memcpy(z+n, " and ", 5); n += 5; }
  }
  z[n] = 0;
  return n;
}

/* The index of the argument named z[0..n) in any case, or -1. */
static int paramsFind(const char *z, int64_t n, int nArg,
                      const char *const *azArg){
  int i;
  for(i=0; i<nArg; i++){
    if( attn_word_is(z, n, azArg[i]) ) return i;
  }
  return -1;
}

int attn_params_match(int nCol, const char *const *azCol, int nArg,
                      const char *const *azArg, uint32_t mFixed, int *aiArg,
                      attn_err *pErr){
  uint32_t mAll = nArg>=ATTN_PARAMS_MAX_ARGS ? 0xffffffffu
                                             : (((uint32_t)1<<nArg) - 1);
  uint32_t mSeen = 0;
  char zList[400];
  int i, j, bLabel = 0;
  if( nArg>ATTN_PARAMS_MAX_ARGS ){
    return attn_err_set(pErr, ATTN_ERROR, "params: %d arguments, more than "
                        "the %d it can match", nArg, ATTN_PARAMS_MAX_ARGS);
  }
  for(i=0; i<nCol; i++){
    int64_t n = (int64_t)strlen(azCol[i]);
    int nShow = attn_utf8_prefix(azCol[i], n, 40);
    aiArg[i] = -1;
    if( attn_word_is(azCol[i], n, ATTN_PARAMS_LABEL) ){
      /* Two labels are refused as two columns of an argument are. */
      if( bLabel ){
        return attn_err_set(pErr, ATTN_ERROR, "params SELECT has two columns "
                            "named %s", ATTN_PARAMS_LABEL);
      }
      bLabel = 1;
      continue;
    }
    j = paramsFind(azCol[i], n, nArg, azArg);
    if( j<0 ){
      paramsList(zList, sizeof(zList), 0, nArg, azArg, mAll & ~mFixed);
      return attn_err_set(pErr, ATTN_ERROR, "params column '%.*s%s' is not "
          "an argument: expected one of %s (in any case), or %s, the row's "
          "label", nShow, azCol[i], nShow<n ? "..." : "", zList,
          ATTN_PARAMS_LABEL);
    }
    if( (mFixed>>j) & 1 ){
      paramsList(zList, sizeof(zList), 0, nArg, azArg, mFixed);
      return attn_err_set(pErr, ATTN_ERROR, "params column '%.*s%s' names "
          "the %s argument, which the params row cannot set: give %s to the "
          "function itself", nShow, azCol[i], nShow<n ? "..." : "", azArg[j],
          zList);
    }
    if( (mSeen>>j) & 1 ){
      return attn_err_set(pErr, ATTN_ERROR, "params SELECT has two columns "
                          "named %s", azArg[j]);
    }
    mSeen |= (uint32_t)1<<j;
    aiArg[i] = j;
  }
  return ATTN_OK;
}

int attn_params_rows(int64_t nRow, attn_err *pErr){
  if( nRow==1 ) return ATTN_OK;
  return attn_err_set(pErr, ATTN_ERROR, "params SELECT returned %s, expected "
      "exactly one (the row of one layer: a WHERE that picks it)",
      nRow==0 ? "no row" : "more than one row");
}

int attn_params_twice(const char *zArg, attn_err *pErr){
  return attn_err_set(pErr, ATTN_ERROR, "%s is given both as an argument and "
      "by the params row, expected one of them (a NULL counts as not given)",
      zArg);
}
