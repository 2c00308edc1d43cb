/*
** half_codec.c: unit tests of the half-precision part of src/vector.c:
** float16 and bfloat16 BLOBs (decoding, the dtype names and the blob
** rules) and the float32/float64 -> half rounding (round to nearest, ties
** to even, -0 and denormals kept, overflow refused).
**
** References, independent of the code under test:
**   - float16: the compiler's _Float16 (GCC >= 12 and clang on x86-64 and
**     AArch64), whose conversions are IEEE round-to-nearest-even (libgcc's
**     __truncsfhf2 / __extendhfsf2, or F16C); without it the float16
**     checks use the bfloat16-style formula below on the float16 layout;
**   - bfloat16: the usual bit formula (u + 0x7fff + lsb) >> 16, which is
**     round to nearest even on the float32 bits;
**   - hand-written bit patterns at each boundary.
** Coverage: every one of the 65536 bit patterns of each type (decode, then
** round back to the same bits), every tie between two consecutive values
** and its two float32 neighbours, and a strided sweep of all 2^32 float32
** bit patterns (every 509th one).
*/
#include "unit.h"
#include <stdint.h>
#include <float.h>
#include <string.h>
#include "utf8.h"
#include "vector.h"

#if defined(__FLT16_MAX__) && (defined(__x86_64__) || defined(__aarch64__))
# define HAVE_FLOAT16 1
#else
# define HAVE_FLOAT16 0
#endif

static float bitsToF32(uint32_t u){ float f; memcpy(&f, &u, 4); return f; }
static uint32_t f32ToBits(float f){ uint32_t u; memcpy(&u, &f, 4); return u; }

/* bfloat16 of float32 bits u by the bit formula; 0 on overflow/non-finite. */
static int refBf16(uint32_t u, uint16_t *pH){
  uint32_t r;
  if( (u & 0x7f800000)==0x7f800000 ) return 0;
  r = (u + 0x7fff + ((u>>16) & 1)) >> 16;
  if( (r & 0x7f80)==0x7f80 ) return 0;
  *pH = (uint16_t)r;
  return 1;
}

/* float16 of f by the reference; 0 on overflow/non-finite. */
static int refF16(float f, uint16_t *pH){
#if HAVE_FLOAT16
  _Float16 h;
  uint16_t b;
  if( !isfinite(f) ) return 0;
  h = (_Float16)f;
  memcpy(&b, &h, 2);
  if( (b & 0x7c00)==0x7c00 ) return 0;
  *pH = b;
  return 1;
#else
  (void)f; (void)pH;
  return -1;
#endif
}

static int roundF16(float f, uint16_t *pH){
  return attn_vec_round_half(f, ATTN_VEC_F16, pH)==ATTN_OK;
}
static int roundBf16(float f, uint16_t *pH){
  return attn_vec_round_half(f, ATTN_VEC_BF16, pH)==ATTN_OK;
}

int main(void){
  attn_err err;
  uint16_t h;
  int64_t n;
  uint32_t u;
  int i, nBad;
  static unsigned char aBlob[2*65536];
  static float aF[65536];

  /* Dtype names. */
  {
    int e = -1;
    CHECK(attn_vec_dtype(ATTN_KIND_TEXT, "f16", 3, &e, &err)==0 && e==ATTN_VEC_F16);
    CHECK(attn_vec_dtype(ATTN_KIND_TEXT, "BF16", 4, &e, &err)==0 && e==ATTN_VEC_BF16);
    CHECK(attn_vec_dtype(ATTN_KIND_TEXT, "f32", 3, &e, &err)==0 && e==ATTN_VEC_F32);
    CHECK(attn_vec_dtype(ATTN_KIND_TEXT, "fp16", 4, &e, &err)==ATTN_ERROR);
    CHECK(strcmp(err.zMsg, "is 'fp16', expected 'f32', 'f16' or 'bf16'")==0);
    CHECK(attn_vec_dtype(ATTN_KIND_TEXT, "f16x", 3, &e, &err)==0 && e==ATTN_VEC_F16);
    CHECK(attn_vec_dtype_size(ATTN_VEC_BF16)==2
          && attn_vec_dtype_size(ATTN_VEC_F32)==4);
  }

  /* Blob lengths. */
  CHECK(attn_vec_dim(aBlob, 5, ATTN_VEC_F16, &n, &err)==ATTN_ERROR);
  CHECK(strcmp(err.zMsg, "is a blob of 5 bytes, expected a multiple of 2 "
                         "(float16 elements)")==0);
  CHECK(attn_vec_dim(aBlob, 0, ATTN_VEC_BF16, &n, &err)==ATTN_ERROR);
  CHECK(strcmp(err.zMsg, "is an empty blob, expected at least one bfloat16 "
                         "element (2 bytes)")==0);
  CHECK(attn_vec_dim(aBlob, 6, ATTN_VEC_BF16, &n, &err)==0 && n==3);

  /* Every float16 pattern: the decoder widens it as attn_f16_to_f32 and
  ** the reference do, refuses Inf and NaN naming the element, and the
  ** rounding gives back the same bits (-0 and denormals included). */
  nBad = 0;
  for(i=0; i<65536; i++){
    unsigned char b[2] = { (unsigned char)i, (unsigned char)(i>>8) };
    float f;
    int bFinite = (i & 0x7c00)!=0x7c00;
    int rc = attn_vec_decode(b, 2, ATTN_VEC_F16, &f, 1, &err);
    if( bFinite!=(rc==ATTN_OK) ){ nBad++; continue; }
    if( !bFinite ) continue;
    if( f32ToBits(f)!=f32ToBits(attn_f16_to_f32((uint16_t)i)) ) nBad++;
#if HAVE_FLOAT16
    {
      _Float16 x;
      uint16_t bits = (uint16_t)i;
      memcpy(&x, &bits, 2);
      if( f32ToBits(f)!=f32ToBits((float)x) ) nBad++;
    }
#endif
    if( !roundF16(f, &h) || h!=(uint16_t)i ) nBad++;
  }
  CHECK(nBad==0);
  CHECK(attn_vec_decode("\x00\x7c", 2, ATTN_VEC_F16, aF, 1, &err)==ATTN_ERROR);
  CHECK(strcmp(err.zMsg, "has element 0 equal to Infinity (float16 bits "
                         "0x7c00), expected a finite number")==0);
  CHECK(attn_vec_decode("\x00\x3c\x01\xfe", 4, ATTN_VEC_F16, aF, 2,
                        &err)==ATTN_ERROR);
  CHECK(strcmp(err.zMsg, "has element 1 equal to NaN (float16 bits "
                         "0xfe01), expected a finite number")==0);

  /* The same for every bfloat16 pattern. */
  nBad = 0;
  for(i=0; i<65536; i++){
    unsigned char b[2] = { (unsigned char)i, (unsigned char)(i>>8) };
    float f;
    int bFinite = (i & 0x7f80)!=0x7f80;
    int rc = attn_vec_decode(b, 2, ATTN_VEC_BF16, &f, 1, &err);
    if( bFinite!=(rc==ATTN_OK) ){ nBad++; continue; }
    if( !bFinite ) continue;
    if( f32ToBits(f)!=(uint32_t)i<<16 ) nBad++;
    if( !roundBf16(f, &h) || h!=(uint16_t)i ) nBad++;
  }
  CHECK(nBad==0);
  CHECK(attn_vec_decode("\x80\xff", 2, ATTN_VEC_BF16, aF, 1, &err)==ATTN_ERROR);
  CHECK(strcmp(err.zMsg, "has element 0 equal to -Infinity (bfloat16 bits "
                         "0xff80), expected a finite number")==0);

  /* A whole blob of every finite pattern (the vectorised loop, not one
  ** element at a time) decodes as the scalar conversion does. */
  {
    int k = 0, j;
    for(j=0; j<2; j++){
      int eDtype = j ? ATTN_VEC_BF16 : ATTN_VEC_F16;
      k = 0;
      for(i=0; i<65536; i++){
        if( j ? (i & 0x7f80)==0x7f80 : (i & 0x7c00)==0x7c00 ) continue;
        aBlob[2*k] = (unsigned char)i;
        aBlob[2*k+1] = (unsigned char)(i>>8);
        k++;
      }
      CHECK(attn_vec_dim(aBlob, 2*k, eDtype, &n, &err)==0 && n==k);
      CHECK(attn_vec_decode(aBlob, 2*k, eDtype, aF, k, &err)==0);
      nBad = 0;
      for(i=0; i<k; i++){
        uint16_t b = (uint16_t)(aBlob[2*i] | aBlob[2*i+1]<<8);
        float f = j ? attn_bf16_to_f32(b) : attn_f16_to_f32(b);
        if( f32ToBits(aF[i])!=f32ToBits(f) ) nBad++;
      }
      CHECK(nBad==0);
      /* every length and alignment: the vector loops and their tails */
      nBad = 0;
      {
        int len, off;
        for(len=1; len<=40; len++){
          for(off=0; off<4; off++){
            const unsigned char *zz = aBlob + 2*(1013*len + off);
            float aOut[40];
            if( attn_vec_decode(zz, 2*len, eDtype, aOut, len, &err) ){
              nBad++;
              continue;
            }
            for(i=0; i<len; i++){
              uint16_t b = (uint16_t)(zz[2*i] | zz[2*i+1]<<8);
              float f = j ? attn_bf16_to_f32(b) : attn_f16_to_f32(b);
              if( f32ToBits(aOut[i])!=f32ToBits(f) ) nBad++;
            }
          }
        }
      }
      CHECK(nBad==0);
      /* a non-finite element in the tail, and in the vector part */
      {
        unsigned char zz[2*11];
        uint16_t inf = j ? 0x7f80 : 0x7c00;
        int at;
        for(at=0; at<11; at+=5){
          memset(zz, 0, sizeof(zz));
          zz[2*at] = (unsigned char)inf;
          zz[2*at+1] = (unsigned char)(inf>>8);
          float aOut[11];
          CHECK(attn_vec_decode(zz, 22, eDtype, aOut, 11, &err)==ATTN_ERROR);
          CHECK(strstr(err.zMsg, at==0 ? "element 0 equal to Infinity"
                       : at==5 ? "element 5 equal to Infinity"
                       : "element 10 equal to Infinity")!=0);
        }
      }
      /* and encoding them (in place) gives the blob back */
      CHECK(attn_vec_encode(aF, k, eDtype, aF, &err)==0);
      CHECK(memcmp(aF, aBlob, 2*(size_t)k)==0);
    }
  }

  /* Ties: the midpoint of consecutive finite values h, h+1 (exact in
  ** float32) goes to the even one; one float32 ulp either side goes to
  ** the nearer one.  Checked against the references. */
  nBad = 0;
  for(i=0; i<0x7c00; i++){
    float lo = attn_f16_to_f32((uint16_t)i);
    float hi = i==0x7bff ? 65536.0f : attn_f16_to_f32((uint16_t)(i+1));
    float mid = (float)(((double)lo + (double)hi)/2);   /* exact */
    float below = nextafterf(mid, 0.0f), above = nextafterf(mid, INFINITY);
    uint16_t want = (uint16_t)((i & 1) ? i+1 : i);
    int ok = roundF16(mid, &h);
    if( i==0x7bff ){
      /* 65520, the tie between 65504 and "65536": rounds to infinity */
      if( ok || mid!=65520.0f ) nBad++;
      if( !roundF16(below, &h) || h!=0x7bff ) nBad++;
      if( roundF16(above, &h) ) nBad++;
      if( roundF16(-mid, &h) ) nBad++;
      continue;
    }
    if( !ok || h!=want ) nBad++;
    if( !roundF16(below, &h) || h!=(uint16_t)i ) nBad++;
    if( !roundF16(above, &h) || h!=(uint16_t)(i+1) ) nBad++;
    if( !roundF16(-mid, &h) || h!=(want|0x8000) ) nBad++;
    if( refF16(mid, &h)==1 && h!=want ) nBad++;
  }
  CHECK(nBad==0);
  nBad = 0;
  for(i=0; i<0x7f80; i++){
    float lo = attn_bf16_to_f32((uint16_t)i);
    uint32_t uMid = ((uint32_t)i<<16) | 0x8000;          /* the midpoint */
    float mid = bitsToF32(uMid);
    float below = bitsToF32(uMid-1), above = bitsToF32(uMid+1);
    uint16_t want = (uint16_t)((i & 1) ? i+1 : i);
    (void)lo;
    if( i==0x7f7f ){
      if( roundBf16(mid, &h) || roundBf16(above, &h) ) nBad++;
      if( !roundBf16(below, &h) || h!=0x7f7f ) nBad++;
      continue;
    }
    if( !roundBf16(mid, &h) || h!=want ) nBad++;
    if( !roundBf16(below, &h) || h!=(uint16_t)i ) nBad++;
    if( !roundBf16(above, &h) || h!=(uint16_t)(i+1) ) nBad++;
    if( !roundBf16(-mid, &h) || h!=(want|0x8000) ) nBad++;
  }
  CHECK(nBad==0);

  /* A strided sweep of every float32 bit pattern against the references
  ** (stride 509, prime, so every mantissa residue and exponent is hit). */
  {
    int nF16 = 0, nBf16 = 0;
    uint64_t k;
    for(k=0; k<((uint64_t)1<<32); k+=509){
      float f;
      uint16_t hRef = 0;
      int okRef, ok;
      u = (uint32_t)k;
      f = bitsToF32(u);
      okRef = refBf16(u, &hRef);
      ok = roundBf16(f, &h);
      if( ok!=okRef || (ok && h!=hRef) ) nBf16++;
      okRef = refF16(f, &hRef);
      if( okRef>=0 ){
        ok = roundF16(f, &h);
        if( ok!=okRef || (ok && h!=hRef) ) nF16++;
      }
    }
    CHECK(nBf16==0);
    if( HAVE_FLOAT16 ){
      CHECK(nF16==0);
    }else{
      UNIT_SKIP("float16 sweep", "the compiler has no _Float16 to compare with"
                " (use GCC 12 or later)");
    }
  }

  /* Boundaries by hand: float16. */
  CHECK(roundF16(65504.0f, &h) && h==0x7bff);
  CHECK(roundF16(65519.996f, &h) && h==0x7bff);
  CHECK(!roundF16(65520.0f, &h));
  CHECK(!roundF16(-65520.0f, &h));
  CHECK(!roundF16(1e10f, &h));
  CHECK(!roundF16(INFINITY, &h) && !roundF16(NAN, &h));
  CHECK(roundF16(-0.0f, &h) && h==0x8000);
  CHECK(roundF16(0.0f, &h) && h==0x0000);
  CHECK(roundF16(5.9604644775390625e-8f, &h) && h==0x0001);   /* 2^-24 */
  CHECK(roundF16(2.98023223876953125e-8f, &h) && h==0x0000);  /* 2^-25: tie */
  CHECK(roundF16(2.9802326e-8f, &h) && h==0x0001);            /* above it */
  CHECK(roundF16(-8.940697e-8f, &h) && h==0x8002);            /* 1.5·2^-24 */
  CHECK(roundF16(6.097555e-5f, &h) && h==0x03ff);             /* largest den. */
  CHECK(roundF16(6.1035156e-5f, &h) && h==0x0400);            /* 2^-14 */
  CHECK(roundF16(1.00048828125f, &h) && h==0x3c00);           /* 1+2^-11 tie */
  CHECK(roundF16(1.00146484375f, &h) && h==0x3c02);           /* 1+3·2^-11 */
  CHECK(roundF16(1e-30f, &h) && h==0x0000);
  /* bfloat16 */
  CHECK(roundBf16(3.3895314e38f, &h) && h==0x7f7f);
  CHECK(!roundBf16(3.3961776e38f, &h));                       /* the tie */
  CHECK(roundBf16(3.3961773e38f, &h) && h==0x7f7f);           /* below it */
  CHECK(!roundBf16(FLT_MAX, &h));
  CHECK(roundBf16(9.1835496e-41f, &h) && h==0x0001);          /* 2^-133 */
  CHECK(roundBf16(4.5917748e-41f, &h) && h==0x0000);          /* 2^-134: tie */
  CHECK(roundBf16(1.00390625f, &h) && h==0x3f80);             /* 1+2^-8 tie */
  CHECK(roundBf16(1.01171875f, &h) && h==0x3f82);             /* 1+3·2^-8 */
  CHECK(roundBf16(-0.0f, &h) && h==0x8000);
  /* from float64 (the JSON path): values beyond float32 and between */
  CHECK(attn_vec_round_half(1e300, ATTN_VEC_BF16, &h)==ATTN_ERROR);
  CHECK(attn_vec_round_half(1e-300, ATTN_VEC_BF16, &h)==0 && h==0);
  CHECK(attn_vec_round_half(-1e-300, ATTN_VEC_F16, &h)==0 && h==0x8000);
  CHECK(attn_vec_round_half(1.0 + 0x1p-11 + 0x1p-40, ATTN_VEC_F16, &h)==0
        && h==0x3c01);
  CHECK(attn_vec_round_half(65519.999999, ATTN_VEC_F16, &h)==0 && h==0x7bff);

  /* JSON to a half type rounds the decimal once: 1 + 2^-11 + 2^-30 is
  ** 1 + 2^-11 (a float16 tie, which goes to 1) once read as float32, but
  ** is above the tie, so it is 1 + 2^-10. */
  {
    const char *zJ = "[1.000488282181322574615478515625, 65519.99, -0, 1]";
    CHECK(attn_vec_dim(zJ, (int64_t)strlen(zJ), ATTN_VEC_JSON, &n, &err)==0);
    CHECK(attn_vec_decode_as(zJ, (int64_t)strlen(zJ), ATTN_VEC_JSON,
                             ATTN_VEC_F16, aF, n, &err)==0);
    CHECK(aF[0]==1.0009765625f && aF[1]==65504.0f && signbit(aF[2]));
    CHECK(attn_vec_decode(zJ, (int64_t)strlen(zJ), ATTN_VEC_JSON, aF, n,
                          &err)==0);
    CHECK(aF[0]==1.00048828125f);                  /* float32: the tie */
    zJ = "[1, 2, 65520]";
    CHECK(attn_vec_decode_as(zJ, (int64_t)strlen(zJ), ATTN_VEC_JSON,
                             ATTN_VEC_F16, aF, 3, &err)==ATTN_ERROR);
    CHECK(strcmp(err.zMsg, "has element 2 equal to 65520 at character 8, "
                 "which rounds to infinity in float16 (its largest finite "
                 "value is 65504)")==0);
  }

  /* Float32 blobs to a half type, and the encoder's errors. */
  {
    float v[3] = { 1.0f, -70000.0f, 2.0f };
    CHECK(attn_vec_decode_as(v, 12, ATTN_VEC_F32, ATTN_VEC_F16, aF, 3,
                             &err)==ATTN_ERROR);
    CHECK(strcmp(err.zMsg, "has element 1 equal to -70000, which rounds to "
                 "infinity in float16 (its largest finite value is 65504)")==0);
    CHECK(attn_vec_decode_as(v, 12, ATTN_VEC_F32, ATTN_VEC_BF16, aF, 3,
                             &err)==0 && aF[1]==-70144.0f);
    CHECK(attn_vec_encode(v, 3, ATTN_VEC_F16, aBlob, &err)==ATTN_ERROR);
    CHECK(strstr(err.zMsg, "element 1 equal to -70000")!=0);
    v[1] = NAN;
    CHECK(attn_vec_encode(v, 3, ATTN_VEC_BF16, aBlob, &err)==ATTN_ERROR);
    CHECK(strcmp(err.zMsg, "has element 1 equal to NaN, expected a finite "
                           "number")==0);
    v[1] = 0.1f;
    CHECK(attn_vec_encode(v, 3, ATTN_VEC_BF16, aBlob, &err)==0);
    CHECK(aBlob[0]==0x80 && aBlob[1]==0x3f && aBlob[2]==0xcd && aBlob[3]==0x3d);
  }

  return UNIT_DONE();
}
