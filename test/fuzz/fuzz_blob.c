/*
** fuzz_blob.c: float32 blob decoding, half-precision conversions and the
** vector operations of src/ (vector.c, vecops.c), fed any bytes.
**
** Properties: a blob decodes iff its length is a positive multiple of 4 and
** every element is finite (checked against a direct reading of the bytes);
** decoded elements are the bytes' little-endian float32 values bit for bit;
** attn_vec_to_blob() writes the bytes back; attn_vec_to_json() reads back
** to the same bits; attn_f16_to_f32()/attn_bf16_to_f32() agree with an
** independent reference for every 16-bit pair of the input; attn_softmax()
** gives finite weights in [0, 1] summing to 1 at any temperature; attn_norm
** and attn_dot are finite and consistent.
*/
#include "fuzz.h"
#include <math.h>
#include "../../src/vecops.h"
#include "../../src/vector.h"

/* IEEE binary16 → float, written differently from src/vector.c. */
static float fblobRefF16(uint16_t h){
  int e = (h>>10) & 0x1f, m = h & 0x3ff;
  float s = (h & 0x8000) ? -1.0f : 1.0f;
  if( e==0 ) return s*ldexpf((float)m, -24);
  if( e==31 ) return m ? NAN : s*INFINITY;
  return s*ldexpf((float)(m | 0x400), e-25);
}

static float fblobLoad(const uint8_t *p){
  uint32_t u = (uint32_t)p[0] | (uint32_t)p[1]<<8 | (uint32_t)p[2]<<16
             | (uint32_t)p[3]<<24;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size){
  attn_err err;
  int64_t nDim = 0, i;
  int bFinite = 1, rc;
  float *a;
  size_t k;

  /* Half precision, every pair of bytes. */
  for(k=0; k+1<size; k+=2){
    uint16_t h = (uint16_t)(data[k] | data[k+1]<<8);
    float f = attn_f16_to_f32(h), r = fblobRefF16(h);
    float g = attn_bf16_to_f32(h);
    uint32_t u;
    if( isnan(r) ? !isnan(f) : memcmp(&f, &r, 4)!=0 ){
      fuzzFail("attn_f16_to_f32(0x%04x) = %g, expected %g", h, f, r);
    }
    memcpy(&u, &g, 4);
    if( u!=(uint32_t)h<<16 ) fuzzFail("attn_bf16_to_f32(0x%04x)", h);
  }

  attn_err_clear(&err);
  rc = attn_vec_dim(data, (int64_t)size, 0, &nDim, &err);
  if( (rc==ATTN_OK)!=(size>0 && size%4==0) ){
    fuzzFail("attn_vec_dim of %zu bytes returned %d", size, rc);
  }
  if( rc ){
    if( rc!=ATTN_ERROR || err.zMsg[0]==0 ) fuzzFail("bad failure");
    return 0;
  }
  if( nDim!=(int64_t)(size/4) ) fuzzFail("dim %lld", (long long)nDim);
  for(i=0; i<nDim; i++){
    if( !isfinite(fblobLoad(data+4*i)) ) bFinite = 0;
  }
  a = malloc(size);
  if( a==0 ) return 0;
  rc = attn_vec_decode(data, (int64_t)size, 0, a, nDim, &err);
  if( (rc==ATTN_OK)!=bFinite ) fuzzFail("decode returned %d", rc);
  if( rc==ATTN_OK ){
    uint8_t *pBack = malloc(size);
    char *zJson = malloc((size_t)attn_vec_json_size(nDim));
    float *b = malloc(size);
    float *s = malloc(size);
    double t = 0.05 + (double)data[0]/16.0, rSum = 0.0, rNorm;
    int64_t nJson, nDim2 = 0;
    if( pBack==0 || zJson==0 || b==0 || s==0 ) goto done;
    attn_vec_to_blob(a, nDim, pBack);
    if( memcmp(pBack, data, size)!=0 ) fuzzFail("blob round trip");
    nJson = attn_vec_to_json(a, nDim, zJson);
    if( nJson>=attn_vec_json_size(nDim)
     || attn_vec_dim(zJson, nJson, 1, &nDim2, &err) || nDim2!=nDim
     || attn_vec_decode(zJson, nJson, 1, b, nDim, &err)
     || memcmp(a, b, size)!=0 ){
      fuzzFail("JSON round trip: %s", zJson);
    }
    attn_softmax(a, nDim, t, s);
    for(i=0; i<nDim; i++){
      if( !(s[i]>=0.0f && s[i]<=1.0f) ) fuzzFail("softmax element %g", s[i]);
      rSum += s[i];
    }
    if( fabs(rSum-1.0)>1e-5*(double)(nDim+1) ) fuzzFail("softmax sums to %.9g", rSum);
    rNorm = attn_norm(a, nDim);
    if( !isfinite(rNorm) || rNorm<0.0 ) fuzzFail("norm %g", rNorm);
    {
      double d = attn_dot(a, a, nDim);
      /* Σ a² in float64 may overflow only for norms near sqrt(DBL_MAX),
      ** impossible for float32 inputs of this size. */
      if( !isfinite(d) || fabs(d-rNorm*rNorm)>1e-9*d+1e-300 ){
        fuzzFail("dot(a,a)=%.17g but norm²=%.17g", d, rNorm*rNorm);
      }
    }
  done:
    free(pBack);
    free(zJson);
    free(b);
    free(s);
  }
  free(a);
  return 0;
}
