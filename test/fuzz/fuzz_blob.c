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
** and attn_dot are finite and consistent; the activations (attn_activation)
** are never larger than their input, and the norms never NaN.  The same bytes as a float16 and
** a bfloat16 blob: they decode iff the length is even and positive and no
** element is an Inf/NaN pattern, to the reference values, and encode back
** to the same bytes; every finite float32 element rounds to a half value
** that no neighbour is nearer to (ties: the even pattern), or is refused
** exactly when it is at least half an ulp past the largest finite value.
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

/* The half value of bits h (a finite pattern) of eDtype. */
static double fblobHalf(uint16_t h, int eDtype){
  return eDtype==ATTN_VEC_F16 ? (double)fblobRefF16(h)
       : (double)ldexp((double)((h & 0x7f80) ? (h & 0x7f) | 0x80 : (h & 0x7f)),
                       ((h & 0x7f80) ? (h>>7 & 0xff) : 1) - 134)
         * ((h & 0x8000) ? -1.0 : 1.0);
}

/* x (finite) rounded to eDtype by attn_vec_round_half(): nearest, ties to
** the even pattern, refused only at or past the overflow threshold. */
static void fblobCheckRound(float x, int eDtype){
  uint16_t h = 0, hMax = eDtype==ATTN_VEC_F16 ? 0x7bff : 0x7f7f;
  double ax = fabs((double)x), top = fblobHalf(hMax, eDtype);
  double lim = top + (eDtype==ATTN_VEC_F16 ? 16.0 : ldexp(1.0, 119));
  int rc = attn_vec_round_half(x, eDtype, &h);
  if( (rc!=ATTN_OK)!=(ax>=lim) ){
    fuzzFail("round_half(%.9g, %d) returned %d", (double)x, eDtype, rc);
  }
  if( rc==ATTN_OK ){
    uint16_t m = h & 0x7fff;
    double d = fabs(fblobHalf(m, eDtype) - ax);
    if( ((h & 0x8000)!=0)!=(signbit(x)!=0) ) fuzzFail("sign of %.9g", (double)x);
    if( m<hMax && fabs(fblobHalf(m+1, eDtype) - ax)<d ) fuzzFail("up %.9g", (double)x);
    if( m>0 && fabs(fblobHalf(m-1, eDtype) - ax)<d ) fuzzFail("down %.9g", (double)x);
    if( m<hMax && fabs(fblobHalf(m+1, eDtype) - ax)==d && (m & 1) ) fuzzFail("tie up %.9g", (double)x);
    if( m>0 && fabs(fblobHalf(m-1, eDtype) - ax)==d && (m & 1) ) fuzzFail("tie down %.9g", (double)x);
  }
}

/* The bytes as a half blob of eDtype. */
static void fblobHalfBlob(const uint8_t *data, size_t size, int eDtype){
  attn_err err;
  int64_t nDim = 0, i;
  int bFinite = 1, rc;
  float *a;
  uint8_t *pBack;
  attn_err_clear(&err);
  rc = attn_vec_dim(data, (int64_t)size, eDtype, &nDim, &err);
  if( (rc==ATTN_OK)!=(size>0 && size%2==0) ) fuzzFail("half dim %zu", size);
  if( rc ) return;
  for(i=0; i<nDim; i++){
    uint16_t h = (uint16_t)(data[2*i] | data[2*i+1]<<8);
    if( eDtype==ATTN_VEC_F16 ? (h & 0x7c00)==0x7c00 : (h & 0x7f80)==0x7f80 ){
      bFinite = 0;
    }
  }
  a = malloc(4*size/2);
  pBack = malloc(size);
  if( a && pBack ){
    rc = attn_vec_decode(data, (int64_t)size, eDtype, a, nDim, &err);
    if( (rc==ATTN_OK)!=bFinite ) fuzzFail("half decode returned %d", rc);
    if( rc==ATTN_OK ){
      for(i=0; i<nDim; i++){
        uint16_t h = (uint16_t)(data[2*i] | data[2*i+1]<<8);
        double r = fblobHalf(h, eDtype);
        if( (double)a[i]!=r || !signbit(a[i])!=!signbit(r) ){
          fuzzFail("half element %lld of 0x%04x: %g, expected %g",
                   (long long)i, h, (double)a[i], r);
        }
      }
      if( attn_vec_encode(a, nDim, eDtype, pBack, &err)
       || memcmp(pBack, data, size)!=0 ){
        fuzzFail("half round trip");
      }
    }
  }
  free(a);
  free(pBack);
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

  fblobHalfBlob(data, size, ATTN_VEC_F16);
  fblobHalfBlob(data, size, ATTN_VEC_BF16);
  for(k=0; k+3<size; k+=4){
    float x = fblobLoad(data+k);
    if( isfinite(x) ){
      fblobCheckRound(x, ATTN_VEC_F16);
      fblobCheckRound(x, ATTN_VEC_BF16);
    }
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
    {
      /* Each activation is x times a factor in [0, 1]; the norms of any
      ** finite input (here with gamma = beta = x, eps = t) are never NaN. */
      static const int aAct[] = { ATTN_ACT_RELU, ATTN_ACT_GELU_ERF,
                                  ATTN_ACT_GELU_TANH, ATTN_ACT_SILU };
      int k;
      for(k=0; k<4; k++){
        attn_activation(a, nDim, aAct[k], s);
        for(i=0; i<nDim; i++){
          if( !(fabsf(s[i])<=fabsf(a[i])) ){
            fuzzFail("activation %d of %g is %g", aAct[k], a[i], s[i]);
          }
        }
      }
      if( attn_layernorm(a, nDim, a, nDim, a, nDim, t, s, &err) ){
        fuzzFail("layernorm: %s", err.zMsg);
      }
      for(i=0; i<nDim; i++) if( isnan(s[i]) ) fuzzFail("layernorm NaN");
      if( attn_rmsnorm(a, nDim, a, nDim, t, s, &err) ){
        fuzzFail("rmsnorm: %s", err.zMsg);
      }
      for(i=0; i<nDim; i++) if( isnan(s[i]) ) fuzzFail("rmsnorm NaN");
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
