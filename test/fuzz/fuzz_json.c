/*
** fuzz_json.c: the JSON vector parser (src/vector.c), fed any text.
**
** Properties: attn_vec_dim() and attn_vec_decode() agree (when the first
** accepts a text, the second fails only on a value: out of the float32
** range, or too many characters); a decoded vector has only finite
** elements; a failure is ATTN_ERROR with a message; and a decoded vector
** written back with attn_vec_to_json() reads back to the same float32 bits
** (the text is never longer than attn_vec_json_size()).
** The input is not NUL-terminated, so ASan catches any read past its end.
*/
#include "fuzz.h"
#include <math.h>
#include "../../src/vector.h"

static void fjsonCheckFailure(const attn_err *pErr, const char *zWhat){
  if( pErr->rc!=ATTN_ERROR || pErr->zMsg[0]==0 ){
    fuzzFail("%s failed with rc=%d and message '%s'", zWhat, pErr->rc,
             pErr->zMsg);
  }
}

/* attn_vec_decode() failed on text that attn_vec_dim() accepted.  Only the
** values, which attn_vec_dim() does not convert, may legitimately fail
** then: a number outside the float32 range, or one longer than the
** decoder's buffer (src/vector.c, vecJsonNumber).  Any other message (a
** syntax error, an element count that differs, strtof() not parsing a
** valid JSON number) means the two calls disagree. */
static void fjsonCheckDecodeFailure(const attn_err *pErr){
  fjsonCheckFailure(pErr, "attn_vec_decode");
  if( strstr(pErr->zMsg, ", outside the float32 range")==0
   && strstr(pErr->zMsg, " characters, more than the ")==0 ){
    fuzzFail("attn_vec_dim accepted the text, attn_vec_decode failed: %s",
             pErr->zMsg);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size){
  attn_err err;
  int64_t nDim = 0, nDim2 = 0, nJson, i;
  float *a, *b;
  char *zJson;
  attn_err_clear(&err);
  if( attn_vec_dim(data, (int64_t)size, 1, &nDim, &err) ){
    fjsonCheckFailure(&err, "attn_vec_dim");
    return 0;
  }
  if( nDim<1 || (size_t)nDim>size ){
    fuzzFail("attn_vec_dim gave %lld elements for %zu bytes", (long long)nDim,
             size);
  }
  a = malloc(4*(size_t)nDim);
  if( a==0 ) return 0;
  if( attn_vec_decode(data, (int64_t)size, 1, a, nDim, &err) ){
    fjsonCheckDecodeFailure(&err);
    free(a);
    return 0;
  }
  for(i=0; i<nDim; i++){
    if( !isfinite(a[i]) ) fuzzFail("element %lld is not finite", (long long)i);
  }
  zJson = malloc((size_t)attn_vec_json_size(nDim));
  b = malloc(4*(size_t)nDim);
  if( zJson==0 || b==0 ){ free(a); free(zJson); free(b); return 0; }
  nJson = attn_vec_to_json(a, nDim, zJson);
  if( nJson<2 || nJson>=attn_vec_json_size(nDim) || (int64_t)strlen(zJson)!=nJson ){
    fuzzFail("attn_vec_to_json wrote %lld bytes, room for %lld",
             (long long)nJson, (long long)attn_vec_json_size(nDim));
  }
  if( attn_vec_dim(zJson, nJson, 1, &nDim2, &err) || nDim2!=nDim
   || attn_vec_decode(zJson, nJson, 1, b, nDim, &err) ){
    fuzzFail("the JSON written does not read back: %s (%s)", zJson, err.zMsg);
  }
  if( memcmp(a, b, 4*(size_t)nDim)!=0 ){
    fuzzFail("JSON round trip changed the bits: %s", zJson);
  }
  free(a);
  free(b);
  free(zJson);
  return 0;
}
