/*
** vector.c: the vector codec (see vector.h): float32 blobs, float16 and
** bfloat16 blobs, JSON text, and the half-precision conversions (also used
** by the tensor-file readers and attn_tensors).
**
** The JSON reader is a small recursive-descent parser for exactly what a
** vector can be: an array of numbers, or an array of equal-length arrays of
** numbers.  It checks the JSON number grammar itself and only then calls
** strtof() on the span, so strtof() extensions ("nan", "inf", hex floats)
** are never accepted, and float32 rounding is done once, correctly.
*/
#include "vector.h"
#include "kernels.h"
#include "utf8.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
** Float32 blobs.
*/
static float vecLoadLE(const unsigned char *p){
  uint32_t u = (uint32_t)p[0] | (uint32_t)p[1]<<8
             | (uint32_t)p[2]<<16 | (uint32_t)p[3]<<24;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static const char *vecNonFiniteName(float f){
  return isnan(f) ? "NaN" : (f>0 ? "Infinity" : "-Infinity");
}

/* Copy n float32 from src to dst (when dst is not NULL) and return
** non-zero if any of them is NaN or Inf: the kernel set's SIMD loop. */
static int vecCopyNonFinite(float *dst, const void *src, int64_t n){
  return attn_kernels()->xCopyNonFinite(dst, src, n);
}

int attn_vec_check_finite(const float *a, int64_t n, attn_err *pErr){
  int64_t i;
  if( !vecCopyNonFinite(0, a, n) ) return ATTN_OK;
  /* Name the first bad element. */
  for(i=0; i<n; i++){
    if( !isfinite(a[i]) ){
      return attn_err_set(pErr, ATTN_ERROR,
          "has element %lld equal to %s, expected a finite number",
          (long long)i, vecNonFiniteName(a[i]));
    }
  }
  return ATTN_OK;
}

static int vecBlobDim(int64_t n, int eDtype, int64_t *pnDim, attn_err *pErr){
  int w = attn_vec_dtype_size(eDtype);
  const char *zType = attn_vec_dtype_long_name(eDtype);
  if( n==0 ){
    return attn_err_set(pErr, ATTN_ERROR,
        "is an empty blob, expected at least one %s element (%d bytes)",
        zType, w);
  }
  if( n%w!=0 ){
    return attn_err_set(pErr, ATTN_ERROR,
        "is a blob of %lld bytes, expected a multiple of %d (%s elements)",
        (long long)n, w, zType);
  }
  *pnDim = n/w;
  return ATTN_OK;
}

static int vecBlobDecode(const unsigned char *z, float *a, int64_t nDim,
                         attn_err *pErr){
  if( ATTN_LITTLE_ENDIAN ){
    /* Copy and check in one pass; the slow check only to name the bad one. */
    if( !vecCopyNonFinite(a, z, nDim) ) return ATTN_OK;
  }else{
    int64_t i;
    for(i=0; i<nDim; i++) a[i] = vecLoadLE(z + 4*i);
  }
  return attn_vec_check_finite(a, nDim, pErr);
}

/*
** Dtypes.
*/
int attn_vec_dtype_size(int eDtype){
  return eDtype==ATTN_VEC_F16 || eDtype==ATTN_VEC_BF16 ? 2 : 4;
}
const char *attn_vec_dtype_name(int eDtype){
  return eDtype==ATTN_VEC_F16 ? "f16" : eDtype==ATTN_VEC_BF16 ? "bf16" : "f32";
}
const char *attn_vec_dtype_long_name(int eDtype){
  return eDtype==ATTN_VEC_F16 ? "float16"
       : eDtype==ATTN_VEC_BF16 ? "bfloat16" : "float32";
}

int attn_vec_dtype(int eKind, const char *z, int64_t n, int *peDtype,
                   attn_err *pErr){
  static const int aType[] = { ATTN_VEC_F32, ATTN_VEC_F16, ATTN_VEC_BF16 };
  const char *azName[3];
  int i;
  for(i=0; i<3; i++) azName[i] = attn_vec_dtype_name(aType[i]);
  return attn_word_choice(eKind, z, n, azName, aType, 3, peDtype, pErr);
}

/*
** Half-precision rounding.  x = m·2^q with m an integer below 2^(nMan+1):
** q is the quantum of x's binade (or of the denormals), y = x/2^q is exact
** in double, and m is y rounded to nearest, ties to even, in integer
** arithmetic (so the FPU's rounding mode does not matter).
*/
int attn_vec_round_half(double x, int eDtype, uint16_t *pBits){
  int bF16 = eDtype==ATTN_VEC_F16;
  int nMan = bF16 ? 10 : 7;               /* stored mantissa bits */
  int nBias = bF16 ? 15 : 127;
  int nExpInf = bF16 ? 31 : 255;          /* the exponent of Inf and NaN */
  int qMin = 1 - nBias - nMan;            /* the smallest denormal: 2^qMin */
  uint16_t sign;
  double y, r;
  uint64_t m;
  int e, q, E;
  if( !isfinite(x) ) return ATTN_ERROR;
  sign = signbit(x) ? 0x8000 : 0;
  x = fabs(x);
  if( x==0.0 ){
    *pBits = sign;                        /* +0 and -0 */
    return ATTN_OK;
  }
  (void)frexp(x, &e);                     /* 2^(e-1) <= x < 2^e */
  q = e - 1 - nMan;
  if( q<qMin ) q = qMin;
  y = ldexp(x, -q);                       /* exact: a power-of-two scaling */
  r = floor(y);
  m = (uint64_t)r;
  if( y-r>0.5 || (y-r==0.5 && (m&1)) ) m++;
  if( m>=((uint64_t)2<<nMan) ){           /* rounded up into the next binade */
    m >>= 1;
    q++;
  }
  if( m<((uint64_t)1<<nMan) ){            /* a denormal (q is qMin) */
    *pBits = sign | (uint16_t)m;
    return ATTN_OK;
  }
  E = q + nMan + nBias;
  if( E>=nExpInf ) return ATTN_ERROR;     /* rounds to infinity */
  *pBits = (uint16_t)(sign | (uint32_t)E<<nMan | (uint32_t)(m - (1u<<nMan)));
  return ATTN_OK;
}

static float vecHalfToF32(uint16_t h, int eDtype){
  return eDtype==ATTN_VEC_F16 ? attn_f16_to_f32(h) : attn_bf16_to_f32(h);
}

/* The predicate for element i, value zVal, that rounds out of eDtype. */
static int vecRangeError(attn_err *pErr, int64_t i, const char *zVal,
                         const char *zWhere, int eDtype){
  return attn_err_set(pErr, ATTN_ERROR,
      "has element %lld equal to %s%s, which rounds to infinity in %s "
      "(its largest finite value is %s)", (long long)i, zVal, zWhere,
      attn_vec_dtype_long_name(eDtype),
      eDtype==ATTN_VEC_F16 ? "65504" : "3.38953139e+38");
}

static int vecFormatFloat(float f, char *z);

/* The shortest text of f (NUL-terminated) in zBuf[32]. */
static const char *vecFloatText(float f, char *zBuf){
  zBuf[vecFormatFloat(f, zBuf)] = 0;
  return zBuf;
}

/*
** Half-precision blobs.
*/
static uint16_t vecLoad16(const unsigned char *p){
  return (uint16_t)(p[0] | p[1]<<8);
}

/* Is half h (of eDtype) an infinity or a NaN? */
static int vecHalfNonFinite(uint16_t h, int eDtype){
  return eDtype==ATTN_VEC_F16 ? (h & 0x7c00)==0x7c00 : (h & 0x7f80)==0x7f80;
}

/* Widen nDim half elements of z into a with the kernel set's SIMD loop
** (kernels_driver.h, as float32 blobs are copied and checked), then, only
** when it found an Inf or NaN, name the first one. */
static int vecHalfDecode(const unsigned char *z, int eDtype, float *a,
                         int64_t nDim, attn_err *pErr){
  int64_t i;
  if( !attn_kernels()->xWidenHalf(a, z, nDim, eDtype==ATTN_VEC_F16) ){
    return ATTN_OK;
  }
  for(i=0; i<nDim; i++){
    uint16_t h = vecLoad16(z+2*i);
    if( vecHalfNonFinite(h, eDtype) ){
      float f = vecHalfToF32(h, eDtype);
      return attn_err_set(pErr, ATTN_ERROR,
          "has element %lld equal to %s (%s bits 0x%04x), expected a "
          "finite number", (long long)i, vecNonFiniteName(f),
          attn_vec_dtype_long_name(eDtype), h);
    }
  }
  return ATTN_OK;
}

/*
** JSON text.
*/
typedef struct VecJson VecJson;
struct VecJson {
  const char *z;     /* text being parsed */
  int64_t n;         /* its length in bytes */
  int64_t i;         /* current offset */
  float *a;          /* destination, or NULL when only counting */
  int eAs;           /* ATTN_VEC_F16/BF16: round each number to that type */
  int64_t nOut;      /* numbers read so far */
  int64_t nCap;      /* capacity of a[] */
  attn_err *pErr;
};

static void vecJsonSpace(VecJson *p){
  while( p->i<p->n ){
    char c = p->z[p->i];
    if( c!=' ' && c!='\t' && c!='\n' && c!='\r' ) break;
    p->i++;
  }
}

/* Describe the character at the current offset for an error message. */
static int vecJsonSyntax(VecJson *p, const char *zExpected){
  if( p->i>=p->n ){
    return attn_err_set(p->pErr, ATTN_ERROR,
        "is not a valid JSON vector: expected %s at character %lld, "
        "found the end of the text", zExpected, (long long)p->i+1);
  }else{
    unsigned char c = (unsigned char)p->z[p->i];
    if( c>=0x20 && c<0x7f ){
      return attn_err_set(p->pErr, ATTN_ERROR,
          "is not a valid JSON vector: expected %s at character %lld, "
          "found '%c'", zExpected, (long long)p->i+1, c);
    }
    return attn_err_set(p->pErr, ATTN_ERROR,
        "is not a valid JSON vector: expected %s at character %lld, "
        "found byte 0x%02x", zExpected, (long long)p->i+1, c);
  }
}

static int vecIsDigit(char c){ return c>='0' && c<='9'; }

/* Parse one JSON number at the current offset. */
static int vecJsonNumber(VecJson *p){
  const char *z = p->z;
  int64_t i = p->i, iStart = p->i;
  if( i<p->n && z[i]=='-' ) i++;
  if( i>=p->n || !vecIsDigit(z[i]) ){
    p->i = i;
    return vecJsonSyntax(p, "a number");
  }
  if( z[i]=='0' ){
    i++;
  }else{
    while( i<p->n && vecIsDigit(z[i]) ) i++;
  }
  if( i<p->n && z[i]=='.' ){
    i++;
    if( i>=p->n || !vecIsDigit(z[i]) ){
      p->i = i;
      return vecJsonSyntax(p, "a digit after the decimal point");
    }
    while( i<p->n && vecIsDigit(z[i]) ) i++;
  }
  if( i<p->n && (z[i]=='e' || z[i]=='E') ){
    i++;
    if( i<p->n && (z[i]=='+' || z[i]=='-') ) i++;
    if( i>=p->n || !vecIsDigit(z[i]) ){
      p->i = i;
      return vecJsonSyntax(p, "a digit in the exponent");
    }
    while( i<p->n && vecIsDigit(z[i]) ) i++;
  }
  if( p->a ){
    /* The span z[iStart..i) is a valid JSON number.  strtof() needs a
    ** terminator it will not read past: copy the span when it is short,
    ** which it always is in practice. */
    char zBuf[128];
    char *zEnd = 0;
    float f;
    int64_t nNum = i - iStart;
    if( nNum>=(int64_t)sizeof(zBuf) ){
      return attn_err_set(p->pErr, ATTN_ERROR,
          "is not a valid JSON vector: the number at character %lld has "
          "%lld characters, more than the %d allowed",
          (long long)iStart+1, (long long)nNum, (int)sizeof(zBuf)-1);
    }
    memcpy(zBuf, z+iStart, (size_t)nNum);
    zBuf[nNum] = 0;
    if( p->eAs==ATTN_VEC_F16 || p->eAs==ATTN_VEC_BF16 ){
      /* Round the decimal once, to the half type (double has 53 bits, so
      ** decimal -> double -> half is what numpy does too). */
      uint16_t h = 0;
      double d = strtod(zBuf, &zEnd);
      if( zEnd==zBuf+nNum && attn_vec_round_half(d, p->eAs, &h) ){
        char zWhere[48];
        snprintf(zWhere, sizeof(zWhere), " at character %lld",
                 (long long)iStart+1);
        return vecRangeError(p->pErr, p->nOut, zBuf, zWhere, p->eAs);
      }
      f = vecHalfToF32(h, p->eAs);
    }else{
      f = strtof(zBuf, &zEnd);
    }
    if( zEnd!=zBuf+nNum ){
      return attn_err_set(p->pErr, ATTN_ERROR,
          "could not be read: the C library did not parse the number at "
          "character %lld (is LC_NUMERIC set to a locale with a decimal "
          "comma?)", (long long)iStart+1);
    }
    if( !isfinite(f) ){
      return attn_err_set(p->pErr, ATTN_ERROR,
          "has element %lld = %s at character %lld, outside the float32 "
          "range", (long long)p->nOut, zBuf, (long long)iStart+1);
    }
    if( p->nOut<p->nCap ) p->a[p->nOut] = f;
  }
  p->nOut++;
  p->i = i;
  return ATTN_OK;
}

/* Parse '[' number (',' number)* ']' at the current offset and set *pnItem
** to the count of numbers. */
static int vecJsonArray(VecJson *p, int64_t *pnItem){
  int64_t nItem = 0;
  int rc;
  vecJsonSpace(p);
  if( p->i>=p->n || p->z[p->i]!='[' ) return vecJsonSyntax(p, "'['");
  p->i++;
  vecJsonSpace(p);
  if( p->i<p->n && p->z[p->i]==']' ){
    return attn_err_set(p->pErr, ATTN_ERROR,
        "is an empty JSON array at character %lld, expected at least one "
        "number", (long long)p->i+1);
  }
  while( 1 ){
    rc = vecJsonNumber(p);
    if( rc ) return rc;
    nItem++;
    vecJsonSpace(p);
    if( p->i<p->n && p->z[p->i]==',' ){
      p->i++;
      vecJsonSpace(p);
      continue;
    }
    if( p->i<p->n && p->z[p->i]==']' ){
      p->i++;
      break;
    }
    return vecJsonSyntax(p, "',' or ']'");
  }
  *pnItem = nItem;
  return ATTN_OK;
}

/* Parse a whole vector: a flat array, or an array of equal-length flat
** arrays (a matrix, read row-major), with nothing but space after it. */
static int vecJsonParse(VecJson *p){
  int64_t nItem = 0;
  int bNested;
  int rc;
  vecJsonSpace(p);
  /* Look past the first '[' to see whether the array holds arrays. */
  if( p->i<p->n && p->z[p->i]=='[' ){
    int64_t j = p->i+1;
    while( j<p->n && (p->z[j]==' ' || p->z[j]=='\t'
                      || p->z[j]=='\n' || p->z[j]=='\r') ) j++;
    bNested = (j<p->n && p->z[j]=='[');
  }else{
    return vecJsonSyntax(p, "'['");
  }
  if( bNested ){
    /* Outer array of rows: parse '[' then rows separated by ','. */
    p->i++;
    rc = ATTN_OK;
    while( rc==ATTN_OK ){
      int64_t nRow = 0, iRow;
      vecJsonSpace(p);
      iRow = p->i;
      rc = vecJsonArray(p, &nRow);
      if( rc ) return rc;
      if( nItem==0 ){
        nItem = nRow;
      }else if( nRow!=nItem ){
        return attn_err_set(p->pErr, ATTN_ERROR,
            "is not a rectangular JSON matrix: the row at character %lld "
            "has %lld numbers, expected %lld like the first row",
            (long long)iRow+1, (long long)nRow, (long long)nItem);
      }
      vecJsonSpace(p);
      if( p->i<p->n && p->z[p->i]==',' ){ p->i++; continue; }
      if( p->i<p->n && p->z[p->i]==']' ){ p->i++; break; }
      return vecJsonSyntax(p, "',' or ']'");
    }
  }else{
    rc = vecJsonArray(p, &nItem);
    if( rc ) return rc;
  }
  vecJsonSpace(p);
  if( p->i<p->n ) return vecJsonSyntax(p, "the end of the text");
  return ATTN_OK;
}

int attn_vec_dim(const void *z, int64_t n, int eEnc, int64_t *pnDim,
                 attn_err *pErr){
  if( eEnc!=ATTN_VEC_JSON ) return vecBlobDim(n, eEnc, pnDim, pErr);
  {
    VecJson x;
    int rc;
    memset(&x, 0, sizeof(x));
    x.z = (const char*)z;
    x.n = n;
    x.pErr = pErr;
    rc = vecJsonParse(&x);
    if( rc==ATTN_OK ) *pnDim = x.nOut;
    return rc;
  }
}

/* Decode as attn_vec_decode_as() does; eAs F32 for no rounding. */
static int vecDecode(const void *z, int64_t n, int eEnc, int eAs, float *a,
                     int64_t nDim, attn_err *pErr){
  if( eEnc==ATTN_VEC_F32 ){
    return vecBlobDecode((const unsigned char*)z, a, nDim, pErr);
  }
  if( eEnc==ATTN_VEC_F16 || eEnc==ATTN_VEC_BF16 ){
    return vecHalfDecode((const unsigned char*)z, eEnc, a, nDim, pErr);
  }
  {
    VecJson x;
    int rc;
    memset(&x, 0, sizeof(x));
    x.z = (const char*)z;
    x.n = n;
    x.a = a;
    x.eAs = eAs;
    x.nCap = nDim;
    x.pErr = pErr;
    rc = vecJsonParse(&x);
    if( rc==ATTN_OK && x.nOut!=nDim ){
      rc = attn_err_set(pErr, ATTN_ERROR,
          "has %lld elements, expected %lld", (long long)x.nOut,
          (long long)nDim);
    }
    return rc;
  }
}

int attn_vec_decode(const void *z, int64_t n, int eEnc, float *a,
                    int64_t nDim, attn_err *pErr){
  return vecDecode(z, n, eEnc, ATTN_VEC_F32, a, nDim, pErr);
}

int attn_vec_decode_as(const void *z, int64_t n, int eEnc, int eAs, float *a,
                       int64_t nDim, attn_err *pErr){
  int64_t i;
  int rc = vecDecode(z, n, eEnc, eAs, a, nDim, pErr);
  if( rc || eEnc==ATTN_VEC_JSON || eAs==eEnc
   || (eAs!=ATTN_VEC_F16 && eAs!=ATTN_VEC_BF16) ){
    return rc;                   /* JSON was rounded as it was read */
  }
  for(i=0; i<nDim; i++){
    uint16_t h;
    if( attn_vec_round_half(a[i], eAs, &h) ){
      char zBuf[32];
      return vecRangeError(pErr, i, vecFloatText(a[i], zBuf), "", eAs);
    }
    a[i] = vecHalfToF32(h, eAs);
  }
  return ATTN_OK;
}

int attn_vec_encode(const float *a, int64_t n, int eDtype, void *z,
                    attn_err *pErr){
  unsigned char *p = (unsigned char*)z;
  int64_t i;
  int rc;
  if( eDtype!=ATTN_VEC_F16 && eDtype!=ATTN_VEC_BF16 ){
    rc = attn_vec_check_finite(a, n, pErr);
    if( rc==ATTN_OK ) attn_vec_to_blob(a, n, z);
    return rc;
  }
  /* Element i is read (bytes 4i..4i+3 of a) before bytes 2i and 2i+1 of z
  ** are written, so z may be a. */
  for(i=0; i<n; i++){
    float f = a[i];
    uint16_t h;
    if( attn_vec_round_half(f, eDtype, &h) ){
      char zBuf[32];
      if( !isfinite(f) ){
        return attn_err_set(pErr, ATTN_ERROR,
            "has element %lld equal to %s, expected a finite number",
            (long long)i, vecNonFiniteName(f));
      }
      return vecRangeError(pErr, i, vecFloatText(f, zBuf), "", eDtype);
    }
    p[2*i] = (unsigned char)h;
    p[2*i+1] = (unsigned char)(h>>8);
  }
  return ATTN_OK;
}

/*
** Output.
*/
int64_t attn_vec_json_size(int64_t n){
  /* "-1.17549435e-38" is 15 characters; one more for the separator. */
  return 2 + 16*n + 1;
}

/* Write into z the shortest %g text of f that strtof() reads back exactly,
** without a NUL, and return its length (at most 15 characters).  The trials
** are formatted into a local buffer, as a trial can be longer than the text
** chosen (123 tries "1e+02" and "1.2e+02" before "123"). */
static int vecFormatFloat(float f, char *z){
  char zBuf[32];
  int nDigit, nLen = 0;
  for(nDigit=1; nDigit<=9; nDigit++){
    nLen = snprintf(zBuf, sizeof(zBuf), "%.*g", nDigit, (double)f);
    if( strtof(zBuf, 0)==f ) break;
  }
  /* %g switches to an exponent once the exponent reaches the number of
  ** digits, so 30 would be "3e+01".  Such a float below 1e9 is an integer
  ** (the shortest text has no fraction and is exact below 2^24; every float
  ** above 2^24 is an integer), so %.0f writes it in full and exactly. */
  if( fabsf(f)>=1.0f && fabsf(f)<1e9f && memchr(zBuf, 'e', (size_t)nLen) ){
    nLen = snprintf(zBuf, sizeof(zBuf), "%.0f", (double)f);
  }
  for(int i=0; i<nLen; i++){
    if( zBuf[i]==',' ) zBuf[i] = '.';   /* a decimal-comma locale */
  }
  memcpy(z, zBuf, (size_t)nLen);
  return nLen;
}

int64_t attn_vec_to_json(const float *a, int64_t n, char *z){
  int64_t i, k = 0;
  z[k++] = '[';
  for(i=0; i<n; i++){
    if( i>0 ) z[k++] = ',';
    k += vecFormatFloat(a[i], z+k);
  }
  z[k++] = ']';
  z[k] = 0;
  return k;
}

void attn_vec_to_blob(const float *a, int64_t n, void *z){
  unsigned char *p = (unsigned char*)z;
  int64_t i;
  if( ATTN_LITTLE_ENDIAN ){
    if( (const void*)a!=z ) memmove(z, a, 4*(size_t)n);
    return;
  }
  for(i=0; i<n; i++){
    uint32_t u;
    memcpy(&u, &a[i], 4);
    p[4*i] = (unsigned char)u;
    p[4*i+1] = (unsigned char)(u>>8);
    p[4*i+2] = (unsigned char)(u>>16);
    p[4*i+3] = (unsigned char)(u>>24);
  }
}

/*
** Half-precision formats.
*/
float attn_f16_to_f32(uint16_t h){
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ff;
  uint32_t u;
  float f;
  if( exp==0x1f ){
    u = sign | 0x7f800000 | (man << 13);            /* Inf or NaN */
  }else if( exp!=0 ){
    u = sign | ((exp + 112) << 23) | (man << 13);    /* normal */
  }else{
    /* zero or subnormal: man * 2^-24, exact in float32 */
    f = (float)man * 5.9604644775390625e-8f;
    return sign ? -f : f;
  }
  memcpy(&f, &u, 4);
  return f;
}

float attn_bf16_to_f32(uint16_t h){
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
