/*
** fuzz_tensorfile.h: the body shared by fuzz_npy.c and fuzz_safetensors.c.
**
** The input is a file image given to attn_tensorfile_open_memory() under a
** name whose suffix picks the format a damaged file is judged by.
** Properties: opening fails with ATTN_ERROR or ATTN_TOOBIG and a message
** naming the file, valid UTF-8, that quotes none of the file's bytes (no
** character found at a syntax error, no first bytes, no header length
** value), or it lists at most ATTN_TENSOR_MAX_COUNT tensors, each
** with a name, a dtype, at most ATTN_TENSOR_MAX_DIMS sizes whose product is
** nElem, a shape JSON that fits its buffer; reading a tensor either fails
** cleanly or gives only finite floats; a tensor never has more elements
** than the file has bytes (its data, at least a byte an element, was
** checked against the file).
*/
#ifndef ATTN_FUZZ_TENSORFILE_H
#define ATTN_FUZZ_TENSORFILE_H

#include "fuzz.h"
#include <math.h>
#include "../../src/tensorfile.h"

/* Does a message show bytes of the file the way the reader used to: what
** was found at a syntax error ("at character 7, found 'x'", "found byte
** 0xc3"), the first bytes of an unknown file, a header length's value?
** Only the text before the first quote is read: what follows may be a
** name quoted from a header that parsed (allowed), which may hold any
** text. */
static int fuzzQuotesFile(const char *zMsg){
  char z[sizeof(((attn_err*)0)->zMsg)];
  const char *a, *q;
  snprintf(z, sizeof(z), "%s", zMsg);
  if( (q = strchr(z, '\''))!=0 ) z[q-z] = 0;
  for(a=z; (a = strstr(a, " at character "))!=0; a++){
    const char *b = a + 14;
    while( *b>='0' && *b<='9' ) b++;
    if( strcmp(b, ", found ")==0 || strncmp(b, ", found byte", 12)==0 ){
      return 1;
    }
  }
  return strstr(z, "starts with the bytes")!=0
      || strstr(z, ": header length ")!=0;
}

static void fuzzTensorFile(const uint8_t *data, size_t size, const char *zName){
  attn_tensorfile *pFile = 0;
  attn_err err;
  int i, n, rc;
  attn_err_clear(&err);
  rc = attn_tensorfile_open_memory(data, size, zName, &pFile, &err);
  if( rc ){
    if( pFile ) fuzzFail("a reader was returned with an error");
    if( (rc!=ATTN_ERROR && rc!=ATTN_TOOBIG) || strstr(err.zMsg, zName)==0 ){
      fuzzFail("open failed with rc=%d '%s'", rc, err.zMsg);
    }
    /* Never the file's bytes in a message (issue 13): not the bytes found
    ** at a syntax error, not the first bytes of an unknown file, not the
    ** header length they encode; and always valid UTF-8. */
    if( !fuzzUtf8(err.zMsg) ) fuzzFail("message not UTF-8: %s", err.zMsg);
    if( fuzzQuotesFile(err.zMsg) ){
      fuzzFail("the message quotes the file: %s", err.zMsg);
    }
    return;
  }
  n = attn_tensorfile_count(pFile);
  if( n<0 || n>ATTN_TENSOR_MAX_COUNT ) fuzzFail("%d tensors", n);
  for(i=0; i<n; i++){
    const attn_tensor_info *p = attn_tensorfile_info(pFile, i);
    char zShape[ATTN_TENSOR_SHAPE_JSON_MAX];
    int64_t nElem = 1, j;
    int nShape;
    float *a;
    if( p==0 || p->zName==0 || p->zDtype==0 ) fuzzFail("tensor %d info", i);
    if( p->nDim<0 || p->nDim>ATTN_TENSOR_MAX_DIMS ) fuzzFail("nDim %d", p->nDim);
    for(j=0; j<p->nDim; j++){
      if( p->aShape[j]<0 ) fuzzFail("negative size");
      if( p->aShape[j]==0 ) nElem = 0;
    }
    for(j=0; j<p->nDim && nElem; j++){
      /* Sizes may be huge when another is 0; otherwise the product was
      ** checked by the reader. */
      if( __builtin_mul_overflow(nElem, p->aShape[j], &nElem) ){
        fuzzFail("the shape's product overflows");
      }
    }
    if( nElem!=p->nElem ) fuzzFail("nElem %lld, shape product %lld",
                                   (long long)p->nElem, (long long)nElem);
    nShape = attn_tensor_shape_json(p->aShape, p->nDim, zShape);
    if( nShape<2 || nShape>=ATTN_TENSOR_SHAPE_JSON_MAX
     || (int)strlen(zShape)!=nShape ){
      fuzzFail("shape JSON of %d bytes", nShape);
    }
    /* Every element takes at least one byte of the file (bool, int8 and
    ** uint8 are the smallest dtypes), in a .npz too: its members are
    ** stored, never compressed (the reader refuses deflate), so their data
    ** is in the file as it is in a .npy. */
    if( p->nElem>(int64_t)size ) fuzzFail("%lld elements in %zu bytes",
                                          (long long)p->nElem, size);
    a = malloc(4*(size_t)(p->nElem ? p->nElem : 1));
    if( a==0 ) continue;
    attn_err_clear(&err);
    rc = attn_tensorfile_read(pFile, i, a, &err);
    if( rc==ATTN_OK ){
      for(j=0; j<p->nElem; j++){
        if( !isfinite(a[j]) ) fuzzFail("element %lld not finite", (long long)j);
      }
    }else if( (rc!=ATTN_ERROR && rc!=ATTN_TOOBIG) || err.zMsg[0]==0 ){
      fuzzFail("read failed with rc=%d '%s'", rc, err.zMsg);
    }
    free(a);
  }
  attn_tensorfile_close(pFile);
}

#endif /* ATTN_FUZZ_TENSORFILE_H */
