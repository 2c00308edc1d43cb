/*
** utf8.c: UTF-8 decoding and the message helpers (see utf8.h).
*/
#include "utf8.h"
#include <stdio.h>
#include <string.h>

int attn_utf8_decode(const unsigned char *z, int64_t n, uint32_t *pc){
  uint32_t c = z[0];
  int len, i;
  if( c<0x80 ){
    *pc = c;
    return 1;
  }
  if( c>=0xC2 && c<=0xDF ){
    len = 2; c &= 0x1F;
  }else if( c>=0xE0 && c<=0xEF ){
    len = 3; c &= 0x0F;
  }else if( c>=0xF0 && c<=0xF4 ){
    len = 4; c &= 0x07;
  }else{
    *pc = 0xFFFD;
    return 0;
  }
  if( len>n ){
    *pc = 0xFFFD;
    return 0;
  }
  for(i=1; i<len; i++){
    if( (z[i]&0xC0)!=0x80 ){
      *pc = 0xFFFD;
      return 0;
    }
    c = (c<<6) | (z[i]&0x3F);
  }
  if( (len==3 && c<0x800) || (len==4 && (c<0x10000 || c>0x10FFFF))
   || (c>=0xD800 && c<=0xDFFF) ){
    *pc = 0xFFFD;
    return 0;
  }
  *pc = c;
  return len;
}

int64_t attn_utf8_valid(const char *z, int64_t n){
  int64_t i = 0;
  uint32_t c;
  while( i<n ){
    int len = attn_utf8_decode((const unsigned char*)z+i, n-i, &c);
    if( len==0 ) break;
    i += len;
  }
  return i;
}

int attn_utf8_prefix(const char *z, int64_t n, int nMax){
  int64_t i = 0;
  uint32_t c;
  if( n>nMax ) n = nMax;
  while( i<n ){
    /* A byte that starts no valid character counts alone (the error path
    ** makes it '?'); a valid character that does not fit is left out. */
    int len = attn_utf8_decode((const unsigned char*)z+i, n-i, &c);
    if( len==0 ){
      const unsigned char u = (unsigned char)z[i];
      int w = u>=0xF0 ? 4 : u>=0xE0 ? 3 : u>=0xC2 ? 2 : 1;
      /* The start of a character cut by the limit is left out too. */
      if( w>1 && i+w>n && n==nMax ) break;
      len = 1;
    }
    i += len;
  }
  return (int)i;
}

void attn_utf8_repair(char *z){
  int64_t n = (int64_t)strlen(z), i = 0;
  uint32_t c;
  while( i<n ){
    int len = attn_utf8_decode((const unsigned char*)z+i, n-i, &c);
    if( len==0 ){
      z[i++] = '?';
    }else{
      i += len;
    }
  }
}

const char *attn_quote(char *zOut, size_t nOut, int eKind, const char *z,
                       int64_t n, int nMax){
  static const char azHex[] = "0123456789abcdef";
  size_t k = 0;
  int64_t i, nShow;
  if( nOut==0 ) return zOut;
  if( eKind==ATTN_KIND_NULL ){
    snprintf(zOut, nOut, "NULL");
    return zOut;
  }
  if( eKind==ATTN_KIND_BLOB ){
    nShow = n<nMax ? n : nMax;
    if( k+2<nOut ){ zOut[k++] = 'x'; zOut[k++] = '\''; }
    for(i=0; i<nShow && k+3<nOut; i++){
      zOut[k++] = azHex[((const unsigned char*)z)[i]>>4];
      zOut[k++] = azHex[((const unsigned char*)z)[i]&15];
    }
    if( k+1<nOut ) zOut[k++] = '\'';
  }else{
    nShow = attn_utf8_prefix(z, n, nMax);
    for(i=0; i<nShow && k+4<nOut; ){
      uint32_t c;
      int len = attn_utf8_decode((const unsigned char*)z+i, nShow-i, &c);
      if( z[i]==0 ){
        zOut[k++] = '\\';
        zOut[k++] = '0';
      }else if( len==0 ){
        zOut[k++] = '?';
        len = 1;
      }else{
        memcpy(zOut+k, z+i, (size_t)len);
        k += (size_t)len;
      }
      i += len;
    }
  }
  if( nShow<n && k+3<nOut ){ memcpy(zOut+k, "...", 3); k += 3; }
  zOut[k<nOut ? k : nOut-1] = 0;
  return zOut;
}

const char *attn_found(char *zOut, size_t nOut, int eKind, const char *z,
                       int64_t n, int nMax){
  static const char *const azLead[] = {
    "'", "the integer ", "the real number ", "the blob ", ""
  };
  const char *zLead = eKind>=0 && eKind<=ATTN_KIND_NULL ? azLead[eKind] : "";
  size_t k = strlen(zLead);
  if( nOut<k+2 ){
    if( nOut ) zOut[0] = 0;
    return zOut;
  }
  memcpy(zOut, zLead, k);
  attn_quote(zOut+k, nOut-k-1, eKind, z, n, nMax);
  if( eKind==ATTN_KIND_TEXT ){
    k += strlen(zOut+k);
    zOut[k++] = '\'';
    zOut[k] = 0;
  }
  return zOut;
}

int attn_word_is(const char *z, int64_t n, const char *zWord){
  int64_t i;
  if( n!=(int64_t)strlen(zWord) ) return 0;
  for(i=0; i<n; i++){
    char c = z[i], w = zWord[i];
    if( c>='A' && c<='Z' ) c = (char)(c-'A'+'a');
    if( w>='A' && w<='Z' ) w = (char)(w-'A'+'a');
    if( c!=w ) return 0;
  }
  return 1;
}

int attn_word_choice(int eKind, const char *z, int64_t n,
                     const char *const *azWord,
                     const int *aValue, int nWord, int *pValue,
                     attn_err *pErr){
  char zList[160], zFound[ATTN_QUOTE_SIZE(40)];
  int i, k = 0;
  for(i=0; i<nWord && eKind==ATTN_KIND_TEXT; i++){
    if( attn_word_is(z, n, azWord[i]) ){
      *pValue = aValue[i];
      return ATTN_OK;
    }
  }
  zList[0] = 0;
  for(i=0; i<nWord && k<(int)sizeof(zList); i++){
    k += snprintf(zList+k, sizeof(zList)-(size_t)k, "%s'%s'",
                  i==0 ? "" : i==nWord-1 ? " or " : ", ", azWord[i]);
  }
  return attn_err_set(pErr, ATTN_ERROR, "is %s, expected %s",
                      attn_found(zFound, sizeof(zFound), eKind, z, n, 40),
                      zList);
}
