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

int attn_word_choice(const char *z, int64_t n, const char *const *azWord,
                     const int *aValue, int nWord, int *pValue,
                     attn_err *pErr){
  char zList[160];
  int i, k = 0, nShow;
  for(i=0; i<nWord; i++){
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
  nShow = attn_utf8_prefix(z, n, 40);
  return attn_err_set(pErr, ATTN_ERROR, "is '%.*s%s', expected %s", nShow, z,
                      nShow<n ? "..." : "", zList);
}
