/*
** vector.c: the vector codec (see vector.h): float32 blobs, JSON text,
** and the half-precision conversions used by the tensor-file readers.
**
** The JSON reader is a small recursive-descent parser for exactly what a
** vector can be: an array of numbers, or an array of equal-length arrays of
** numbers.  It checks the JSON number grammar itself and only then calls
** strtof() on the span, so strtof() extensions ("nan", "inf", hex floats)
** are never accepted, and float32 rounding is done once, correctly.
*/
#include "vector.h"
#include "kernels.h"
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

static int vecBlobDim(int64_t n, int64_t *pnDim, attn_err *pErr){
  if( n==0 ){
    return attn_err_set(pErr, ATTN_ERROR,
        "is an empty blob, expected at least one float32 element (4 bytes)");
  }
  if( n%4!=0 ){
    return attn_err_set(pErr, ATTN_ERROR,
        "is a blob of %lld bytes, expected a multiple of 4 (float32 elements)",
        (long long)n);
  }
  *pnDim = n/4;
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
** JSON text.
*/
typedef struct VecJson VecJson;
struct VecJson {
  const char *z;     /* text being parsed */
  int64_t n;         /* its length in bytes */
  int64_t i;         /* current offset */
  float *a;          /* destination, or NULL when only counting */
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
    f = strtof(zBuf, &zEnd);
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

int attn_vec_dim(const void *z, int64_t n, int isText, int64_t *pnDim,
                 attn_err *pErr){
  if( !isText ) return vecBlobDim(n, pnDim, pErr);
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

int attn_vec_decode(const void *z, int64_t n, int isText, float *a,
                    int64_t nDim, attn_err *pErr){
  if( !isText ) return vecBlobDecode((const unsigned char*)z, a, nDim, pErr);
  {
    VecJson x;
    int rc;
    memset(&x, 0, sizeof(x));
    x.z = (const char*)z;
    x.n = n;
    x.a = a;
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
