/*
** tensorfile.c: unit tests of src/tensorfile.c, the .npy, .npz and
** .safetensors readers.
**
** Files are crafted in memory (npyMake, safeMake, zipMake build them the
** way numpy and safetensors lay them out, with hooks to break them), parsed
** with attn_tensorfile_open_memory(), and some written to a temporary
** directory to test the stdio layer.  The last tests truncate valid files at
** every length and overwrite every byte with a few values, on exact-size
** heap copies, so AddressSanitizer or valgrind see any out-of-bounds read;
** and fail each allocation in turn (ATTN_NOMEM, nothing leaked).
*/
#include "unit.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "alloc.h"
#include "tensorfile.h"

/*
** A growable byte buffer.
*/
typedef struct Buf Buf;
struct Buf { unsigned char *a; size_t n, nAlloc; };

static void bufPut(Buf *b, const void *p, size_t n){
  if( b->n+n>b->nAlloc ){
    b->nAlloc = 2*(b->n+n) + 64;
    b->a = realloc(b->a, b->nAlloc);
    if( b->a==0 ){ perror("realloc"); exit(2); }
  }
  if( n ) memcpy(b->a+b->n, p, n);
  b->n += n;
}
static void bufStr(Buf *b, const char *z){ bufPut(b, z, strlen(z)); }
static void bufU8(Buf *b, unsigned v){ unsigned char c = (unsigned char)v; bufPut(b, &c, 1); }
static void bufU16(Buf *b, unsigned v){ bufU8(b, v & 0xff); bufU8(b, v>>8 & 0xff); }
static void bufU32(Buf *b, uint32_t v){ bufU16(b, v & 0xffff); bufU16(b, v>>16); }
static void bufU64(Buf *b, uint64_t v){ bufU32(b, (uint32_t)v); bufU32(b, (uint32_t)(v>>32)); }
static void bufReset(Buf *b){ b->n = 0; }
static void bufFree(Buf *b){ free(b->a); memset(b, 0, sizeof(*b)); }

/* A .npy of format version major.0 with header dict zDict, padded with
** spaces and a newline to a multiple of 64 bytes as numpy does, then data. */
static void npyMake(Buf *b, int major, const char *zDict,
                    const void *pData, size_t nData){
  size_t nPre = major==1 ? 10 : 12, nHdr = strlen(zDict)+1;
  size_t nPad = (64 - (nPre+nHdr)%64) % 64;
  bufReset(b);
  bufPut(b, "\x93NUMPY", 6);
  bufU8(b, (unsigned)major);
  bufU8(b, 0);
  if( major==1 ) bufU16(b, (unsigned)(nHdr+nPad));
  else bufU32(b, (uint32_t)(nHdr+nPad));
  bufStr(b, zDict);
  while( nPad-- ) bufU8(b, ' ');
  bufU8(b, '\n');
  bufPut(b, pData, nData);
}

/* A .safetensors: header length, the JSON text, the data. */
static void safeMake(Buf *b, const char *zJson, const void *pData,
                     size_t nData){
  bufReset(b);
  bufU64(b, strlen(zJson));
  bufStr(b, zJson);
  bufPut(b, pData, nData);
}

/* A zip archive of stored (or, with method 8, "deflated") members. */
typedef struct ZipMember ZipMember;
struct ZipMember {
  const char *zName;
  const Buf *pData;
  int method;
  int flags;
};
static void zipMake(Buf *b, const ZipMember *aM, int nM, int bZip64){
  uint32_t aOff[8];
  size_t iDir, nDir, i64;
  int i;
  bufReset(b);
  for(i=0; i<nM; i++){
    aOff[i] = (uint32_t)b->n;
    bufU32(b, 0x04034b50); bufU16(b, 20); bufU16(b, (unsigned)aM[i].flags);
    bufU16(b, (unsigned)aM[i].method); bufU32(b, 0); bufU32(b, 0);
    bufU32(b, (uint32_t)aM[i].pData->n); bufU32(b, (uint32_t)aM[i].pData->n);
    bufU16(b, (unsigned)strlen(aM[i].zName)); bufU16(b, 0);
    bufStr(b, aM[i].zName);
    bufPut(b, aM[i].pData->a, aM[i].pData->n);
  }
  iDir = b->n;
  for(i=0; i<nM; i++){
    bufU32(b, 0x02014b50); bufU16(b, 45); bufU16(b, 20);
    bufU16(b, (unsigned)aM[i].flags); bufU16(b, (unsigned)aM[i].method);
    bufU32(b, 0); bufU32(b, 0);
    bufU32(b, (uint32_t)aM[i].pData->n); bufU32(b, (uint32_t)aM[i].pData->n);
    bufU16(b, (unsigned)strlen(aM[i].zName)); bufU16(b, bZip64 ? 12 : 0);
    bufU16(b, 0); bufU16(b, 0); bufU16(b, 0); bufU32(b, 0);
    bufU32(b, bZip64 ? 0xffffffff : aOff[i]);
    bufStr(b, aM[i].zName);
    if( bZip64 ){ bufU16(b, 1); bufU16(b, 8); bufU64(b, aOff[i]); }
  }
  nDir = b->n - iDir;
  if( bZip64 ){
    i64 = b->n;
    bufU32(b, 0x06064b50); bufU64(b, 44); bufU16(b, 45); bufU16(b, 45);
    bufU32(b, 0); bufU32(b, 0); bufU64(b, (uint64_t)nM); bufU64(b, (uint64_t)nM);
    bufU64(b, nDir); bufU64(b, iDir);
    bufU32(b, 0x07064b50); bufU32(b, 0); bufU64(b, i64); bufU32(b, 1);
    bufU32(b, 0x06054b50); bufU16(b, 0); bufU16(b, 0);
    bufU16(b, 0xffff); bufU16(b, 0xffff);
    bufU32(b, 0xffffffff); bufU32(b, 0xffffffff); bufU16(b, 0);
  }else{
    bufU32(b, 0x06054b50); bufU16(b, 0); bufU16(b, 0);
    bufU16(b, (unsigned)nM); bufU16(b, (unsigned)nM);
    bufU32(b, (uint32_t)nDir); bufU32(b, (uint32_t)iDir); bufU16(b, 0);
  }
}

/*
** Opening and checking.
*/

/* Open b (as an exact-size heap copy, so over-reads are caught) under the
** name zName.  The copy is freed by tfClose(). */
static unsigned char *tfCopy = 0;
static int tfOpen(const Buf *b, const char *zName, attn_tensorfile **pp,
                  attn_err *pErr){
  free(tfCopy);
  tfCopy = malloc(b->n ? b->n : 1);
  if( b->n ) memcpy(tfCopy, b->a, b->n);
  attn_err_clear(pErr);
  return attn_tensorfile_open_memory(tfCopy, b->n, zName, pp, pErr);
}
static void tfClose(attn_tensorfile *p){
  attn_tensorfile_close(p);
  free(tfCopy);
  tfCopy = 0;
}

/* Opening b must fail with a message equal to zMsg. */
static int tfErrorIs(const Buf *b, const char *zName, const char *zMsg){
  attn_tensorfile *p = 0;
  attn_err err;
  int rc = tfOpen(b, zName, &p, &err);
  int ok = rc==ATTN_ERROR && p==0 && strcmp(err.zMsg, zMsg)==0;
  if( !ok ) fprintf(stderr, "  got rc=%d [%s]\n  expected  [%s]\n", rc, err.zMsg, zMsg);
  tfClose(p);
  return ok;
}

/* Opening b must fail with a message containing zPart. */
static int tfErrorHas(const Buf *b, const char *zName, const char *zPart){
  attn_tensorfile *p = 0;
  attn_err err;
  int rc = tfOpen(b, zName, &p, &err);
  int ok = rc==ATTN_ERROR && p==0 && strstr(err.zMsg, zPart)!=0;
  if( !ok ) fprintf(stderr, "  got rc=%d [%s]\n  expected a message with [%s]\n", rc, err.zMsg, zPart);
  tfClose(p);
  return ok;
}

/* Opening b succeeds, but reading tensor 0 fails with a message containing
** zPart. */
static int tfReadErrorHas(const Buf *b, const char *zName, const char *zPart){
  attn_tensorfile *p = 0;
  attn_err err;
  float a[64];
  int ok = 0;
  if( tfOpen(b, zName, &p, &err)==ATTN_OK
   && attn_tensorfile_info(p, 0)->nElem<=64
   && attn_tensorfile_read(p, 0, a, &err)==ATTN_ERROR ){
    ok = strstr(err.zMsg, zPart)!=0;
  }
  if( !ok ) fprintf(stderr, "  got [%s]\n  expected a message with [%s]\n", err.zMsg, zPart);
  tfClose(p);
  return ok;
}

/* Shape of tensor i as JSON text. */
static const char *tfShape(attn_tensorfile *p, int i){
  static char z[ATTN_TENSOR_SHAPE_JSON_MAX];
  const attn_tensor_info *pI = attn_tensorfile_info(p, i);
  attn_tensor_shape_json(pI->aShape, pI->nDim, z);
  return z;
}

/* Read tensor i of p and compare with aWant[0..n) bit for bit. */
static int tfDataIs(attn_tensorfile *p, int i, const float *aWant, int64_t n){
  float a[64];
  attn_err err;
  const attn_tensor_info *pI = attn_tensorfile_info(p, i);
  if( pI==0 || pI->nElem!=n || n>64 ) return 0;
  if( attn_tensorfile_read(p, i, a, &err) ){
    fprintf(stderr, "  read failed: %s\n", err.zMsg);
    return 0;
  }
  if( n && memcmp(a, aWant, (size_t)n*4)!=0 ){
    int64_t k;
    for(k=0; k<n; k++) fprintf(stderr, "  [%lld] %.9g vs %.9g\n", (long long)k, a[k], aWant[k]);
    return 0;
  }
  return 1;
}

/* Parse b and read all its tensors; never crash.  Returns 1 if it all
** succeeded. */
static int tfTryAll(const unsigned char *a, size_t n, const char *zName){
  attn_tensorfile *p = 0;
  attn_err err;
  unsigned char *aCopy = malloc(n ? n : 1);
  int i, ok;
  memcpy(aCopy, a, n);
  ok = attn_tensorfile_open_memory(aCopy, n, zName, &p, &err)==ATTN_OK;
  for(i=0; ok && i<attn_tensorfile_count(p); i++){
    const attn_tensor_info *pI = attn_tensorfile_info(p, i);
    float *aOut = malloc(pI->nElem ? (size_t)pI->nElem*4 : 4);
    if( pI->nElem>1000000 ){ free(aOut); ok = 0; break; }
    ok = attn_tensorfile_read(p, i, aOut, &err)==ATTN_OK;
    free(aOut);
  }
  if( !ok && err.zMsg[0]==0 ) ok = -1;     /* an error must say something */
  attn_tensorfile_close(p);
  free(aCopy);
  return ok;
}

/* Every truncation and a few overwrites of every byte of b. */
static void tfMutate(const Buf *b, const char *zName){
  static const unsigned char aVal[] = { 0x00, 0xff, 0x7f, '9', '"', ',', 0x80 };
  unsigned char *a = malloc(b->n);
  size_t i, j;
  int nBad = 0;
  CHECK(tfTryAll(b->a, b->n, zName)==1);
  for(i=0; i<b->n; i++){
    if( tfTryAll(b->a, i, zName)<0 ) nBad++;
  }
  for(i=0; i<b->n; i++){
    for(j=0; j<sizeof(aVal); j++){
      memcpy(a, b->a, b->n);
      a[i] = aVal[j];
      if( tfTryAll(a, b->n, zName)<0 ) nBad++;
    }
  }
  CHECK(nBad==0);
  free(a);
}

/*
** The tests.
*/
static void testNpy(void){
  Buf b = {0}, d = {0};
  attn_tensorfile *p = 0;
  attn_err err;
  float a6[6] = { 1, 2.5f, -3, 0.25f, 1e-3f, -0.0f };

  /* float32, C order, named after the file. */
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
          a6, sizeof(a6));
  CHECK(tfOpen(&b, "dir/w_q.NPY", &p, &err)==ATTN_OK);
  CHECK(strcmp(attn_tensorfile_format(p), "npy")==0);
  CHECK(attn_tensorfile_count(p)==1);
  CHECK(strcmp(attn_tensorfile_info(p, 0)->zName, "w_q")==0);
  CHECK(strcmp(attn_tensorfile_info(p, 0)->zDtype, "<f4")==0);
  CHECK(strcmp(tfShape(p, 0), "[2,3]")==0);
  CHECK(tfDataIs(p, 0, a6, 6));
  CHECK(attn_tensorfile_info(p, 1)==0);
  CHECK(attn_tensorfile_read(p, 1, a6, &err)==ATTN_ERROR);
  tfClose(p);

  /* Fortran order: the file holds the columns; we return rows. */
  {
    float col[6] = { 1, 4, 2, 5, 3, 6 };           /* [[1,2,3],[4,5,6]] */
    float row[6] = { 1, 2, 3, 4, 5, 6 };
    npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
            col, sizeof(col));
    CHECK(tfOpen(&b, "f.npy", &p, &err)==ATTN_OK);
    CHECK(tfDataIs(p, 0, row, 6));
    tfClose(p);
  }
  {
    /* 2x3x4, element (i,j,k) = 100i+10j+k, Fortran order, float64. */
    double col[24];
    float row[24];
    int i, j, k;
    for(i=0; i<2; i++) for(j=0; j<3; j++) for(k=0; k<4; k++){
      col[i + 2*j + 6*k] = 100*i + 10*j + k;
      row[12*i + 4*j + k] = (float)(100*i + 10*j + k);
    }
    npyMake(&b, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2,3,4)}",
            col, sizeof(col));
    CHECK(tfOpen(&b, "f3.npy", &p, &err)==ATTN_OK);
    CHECK(tfDataIs(p, 0, row, 24));
    tfClose(p);
    /* A NaN at row-major element (1,2,3) = 23 is named by that index. */
    col[1 + 2*2 + 6*3] = NAN;
    npyMake(&b, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2,3,4)}",
            col, sizeof(col));
    CHECK(tfReadErrorHas(&b, "f3.npy", "f3.npy: tensor 'f3' has element 23 "
                         "equal to NaN, expected a finite number"));
    col[1 + 2*2 + 6*3] = 1e300;
    npyMake(&b, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2,3,4)}",
            col, sizeof(col));
    CHECK(tfReadErrorHas(&b, "f3.npy", "tensor 'f3' has element 23 equal to "
                         "1.0000000000000001e+300, outside the float32 range"));
  }

  /* float16: exact widening, subnormals included. */
  {
    uint16_t h[5] = { 0x3c00, 0xc000, 0x0001, 0x7bff, 0x8000 };
    float want[5] = { 1, -2, 5.9604644775390625e-8f, 65504, -0.0f };
    npyMake(&b, 1, "{'descr':'<f2','fortran_order':False,'shape':(5,)}", h, 10);
    CHECK(tfOpen(&b, "h.npy", &p, &err)==ATTN_OK);
    CHECK(tfDataIs(p, 0, want, 5));
    tfClose(p);
    h[2] = 0x7c00;                                   /* +Inf */
    npyMake(&b, 1, "{'descr':'<f2','fortran_order':False,'shape':(5,)}", h, 10);
    CHECK(tfReadErrorHas(&b, "h.npy", "element 2 equal to Infinity"));
  }

  /* float64: rounding to nearest float32, into the subnormals too. */
  {
    /* The largest float64 that rounds to FLT_MAX, one ulp below the tie. */
    double v[4] = { 0.1, 1.0/3, 1e-40, 3.4028235677973362e38 };
    float want[4] = { 0.1f, 1.0f/3, 1e-40f, 3.4028235e38f };
    npyMake(&b, 1, "{'descr':'<f8','fortran_order':False,'shape':(2,2)}", v, 32);
    CHECK(tfOpen(&b, "d.npy", &p, &err)==ATTN_OK);
    CHECK(tfDataIs(p, 0, want, 4));
    tfClose(p);
    v[3] = 3.4028235677973366e38;          /* the tie: rounds to even, Inf */
    npyMake(&b, 1, "{'descr':'<f8','fortran_order':False,'shape':(2,2)}", v, 32);
    CHECK(tfReadErrorHas(&b, "d.npy", "element 3 equal to "
                         "3.4028235677973366e+38, outside the float32 range"));
  }

  /* Big-endian and integer dtypes, bool. */
  {
    unsigned char be[8] = { 0x3f,0x80,0,0, 0xc0,0x20,0,0 };   /* 1, -2.5 */
    float want[2] = { 1, -2.5f };
    npyMake(&b, 1, "{'descr':'>f4','fortran_order':False,'shape':(2,)}", be, 8);
    CHECK(tfOpen(&b, "be.npy", &p, &err)==ATTN_OK);
    CHECK(strcmp(attn_tensorfile_info(p, 0)->zDtype, ">f4")==0);
    CHECK(tfDataIs(p, 0, want, 2));
    tfClose(p);
  }
  {
    unsigned char be[4] = { 0xff,0xfe, 0x01,0x00 };          /* -2, 256 */
    float want[2] = { -2, 256 };
    npyMake(&b, 1, "{'descr':'>i2','fortran_order':False,'shape':(2,)}", be, 4);
    CHECK(tfOpen(&b, "be.npy", &p, &err)==ATTN_OK);
    CHECK(tfDataIs(p, 0, want, 2));
    tfClose(p);
  }
  {
    int64_t i8[3] = { -5, (int64_t)1<<40, ((int64_t)1<<24)+1 };
    float want[3] = { -5, 1099511627776.0f, 16777216.0f };
    npyMake(&b, 1, "{'descr':'<i8','fortran_order':False,'shape':(3,)}", i8, 24);
    CHECK(tfOpen(&b, "i.npy", &p, &err)==ATTN_OK);
    CHECK(tfDataIs(p, 0, want, 3));
    tfClose(p);
  }
  {
    uint64_t u8[2] = { UINT64_MAX, 7 };
    float want[2] = { 18446744073709551616.0f, 7 };
    npyMake(&b, 1, "{'descr':'<u8','fortran_order':False,'shape':(2,)}", u8, 16);
    CHECK(tfOpen(&b, "u.npy", &p, &err)==ATTN_OK);
    CHECK(tfDataIs(p, 0, want, 2));
    tfClose(p);
  }
  {
    unsigned char v[4] = { 0, 1, 2, 255 };
    float wantB[4] = { 0, 1, 1, 1 }, wantU[4] = { 0, 1, 2, 255 };
    float wantI[4] = { 0, 1, 2, -1 };
    npyMake(&b, 1, "{'descr':'|b1','fortran_order':False,'shape':(4,)}", v, 4);
    CHECK(tfOpen(&b, "b.npy", &p, &err)==ATTN_OK && tfDataIs(p, 0, wantB, 4));
    tfClose(p);
    npyMake(&b, 1, "{'descr':'|u1','fortran_order':False,'shape':(4,)}", v, 4);
    CHECK(tfOpen(&b, "b.npy", &p, &err)==ATTN_OK && tfDataIs(p, 0, wantU, 4));
    tfClose(p);
    npyMake(&b, 1, "{'descr':'|i1','fortran_order':False,'shape':(4,)}", v, 4);
    CHECK(tfOpen(&b, "b.npy", &p, &err)==ATTN_OK && tfDataIs(p, 0, wantI, 4));
    tfClose(p);
  }
  {
    int16_t i2[2] = { -32768, 32767 };
    uint16_t u2[2] = { 65535, 1 };
    int32_t i4[2] = { -2147483647-1, 16777217 };
    uint32_t u4[2] = { 4294967295u, 3 };
    float w1[2] = { -32768, 32767 }, w2[2] = { 65535, 1 };
    float w3[2] = { -2147483648.0f, 16777216 }, w4[2] = { 4294967296.0f, 3 };
    npyMake(&b, 1, "{'descr':'<i2','fortran_order':False,'shape':(2,)}", i2, 4);
    CHECK(tfOpen(&b, "x.npy", &p, &err)==ATTN_OK && tfDataIs(p, 0, w1, 2));
    tfClose(p);
    npyMake(&b, 1, "{'descr':'<u2','fortran_order':False,'shape':(2,)}", u2, 4);
    CHECK(tfOpen(&b, "x.npy", &p, &err)==ATTN_OK && tfDataIs(p, 0, w2, 2));
    tfClose(p);
    npyMake(&b, 1, "{'descr':'<i4','fortran_order':False,'shape':(2,)}", i4, 8);
    CHECK(tfOpen(&b, "x.npy", &p, &err)==ATTN_OK && tfDataIs(p, 0, w3, 2));
    tfClose(p);
    npyMake(&b, 1, "{'descr':'<u4','fortran_order':False,'shape':(2,)}", u4, 8);
    CHECK(tfOpen(&b, "x.npy", &p, &err)==ATTN_OK && tfDataIs(p, 0, w4, 2));
    tfClose(p);
  }

  /* A 0-d scalar has shape [] and one element; an empty array none. */
  {
    float v = 3.5f;
    npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", &v, 4);
    CHECK(tfOpen(&b, "s.npy", &p, &err)==ATTN_OK);
    CHECK(attn_tensorfile_info(p, 0)->nDim==0);
    CHECK(strcmp(tfShape(p, 0), "[]")==0);
    CHECK(tfDataIs(p, 0, &v, 1));
    tfClose(p);
    npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (0, 3), }", 0, 0);
    CHECK(tfOpen(&b, "e.npy", &p, &err)==ATTN_OK);
    CHECK(attn_tensorfile_info(p, 0)->nElem==0);
    CHECK(strcmp(tfShape(p, 0), "[0,3]")==0);
    CHECK(attn_tensorfile_read(p, 0, 0, &err)==ATTN_OK);
    tfClose(p);
    /* A zero anywhere makes it empty, even beside huge sizes. */
    npyMake(&b, 1, "{'descr': '<f8', 'fortran_order': False, "
            "'shape': (4294967296, 4294967296, 0), }", 0, 0);
    CHECK(tfOpen(&b, "e.npy", &p, &err)==ATTN_OK);
    CHECK(attn_tensorfile_info(p, 0)->nElem==0);
    tfClose(p);
  }

  /* Format versions 2.0 and 3.0 (4-byte header length); 4.0 is refused. */
  npyMake(&b, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", a6, 24);
  CHECK(tfOpen(&b, "v2.npy", &p, &err)==ATTN_OK && tfDataIs(p, 0, a6, 6));
  tfClose(p);
  npyMake(&b, 3, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (6,)}", a6, 24);
  CHECK(tfOpen(&b, "v3.npy", &p, &err)==ATTN_OK && tfDataIs(p, 0, a6, 6));
  tfClose(p);
  npyMake(&b, 4, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", a6, 24);
  CHECK(tfErrorIs(&b, "v4.npy", "v4.npy: the .npy format version is 4.0, "
                  "expected 1.0, 2.0 or 3.0"));

  /* Truncated files and lying lengths. */
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", a6, 24);
  d = b; d.n = 8;
  CHECK(tfErrorIs(&d, "t.npy", "t.npy: the file is truncated: it has 8 bytes, "
                  "expected at least 10 (the .npy preamble)"));
  d.n = b.n - 4;
  CHECK(tfErrorIs(&d, "t.npy", "t.npy: the file is truncated: shape [2,3] of "
                  "dtype '<f4' needs 24 bytes of data, but 20 follow the header"));
  d.n = 70;
  CHECK(tfErrorIs(&d, "t.npy", "t.npy: the header length in the .npy "
                  "preamble reaches beyond the end of the file (70 bytes)"));
  memset(&d, 0, sizeof(d));
  bufPut(&d, b.a, b.n);
  bufPut(&d, "xyz", 3);
  CHECK(tfErrorIs(&d, "t.npy", "t.npy: the file has 3 bytes after the data "
                  "(shape [2,3] of dtype '<f4', 24 bytes), expected none"));
  d.a[8] = 0xff; d.a[9] = 0xff;
  CHECK(tfErrorHas(&d, "t.npy", "the header length in the .npy preamble reaches beyond the end"));
  bufFree(&d);
  bufReset(&d);
  bufStr(&d, "\x93NUMPX\x01\x00\x10\x00{}");
  CHECK(tfErrorIs(&d, "t.npy", "t.npy: the file does not start with the .npy "
                  "magic string \\x93NUMPY"));
  bufFree(&d);

  /* Header dicts: parsed strictly, never evaluated. */
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", a6, 24);
  CHECK(tfErrorIs(&b, "h.npy", "h.npy: the .npy header is not a valid Python "
                  "dict: expected ',' (a 1-tuple is written '(n,)') at "
                  "character 53"));
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False}", a6, 24);
  CHECK(tfErrorIs(&b, "h.npy", "h.npy: the .npy header has no 'shape' key"));
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), "
          "'extra': 1}", a6, 24);
  CHECK(tfErrorHas(&b, "h.npy", "has the key 'extra', expected only"));
  npyMake(&b, 1, "{'descr': '<f4', 'descr': '<f4', 'shape': (6,)}", a6, 24);
  CHECK(tfErrorHas(&b, "h.npy", "has the key 'descr' twice"));
  npyMake(&b, 1, "{'descr': [('a', '<f4')], 'fortran_order': False, "
          "'shape': (6,)}", a6, 24);
  CHECK(tfErrorHas(&b, "h.npy", "structured dtype, which is not supported"));
  npyMake(&b, 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (3,)}", a6, 24);
  CHECK(tfErrorHas(&b, "h.npy", "h.npy: dtype '<c8' is not supported"));
  npyMake(&b, 1, "{'descr': '|f4', 'fortran_order': False, 'shape': (6,)}", a6, 24);
  CHECK(tfErrorHas(&b, "h.npy", "dtype '|f4' is not supported"));
  npyMake(&b, 1, "{'descr': 'O', 'fortran_order': False, 'shape': (6,)}", a6, 24);
  CHECK(tfErrorHas(&b, "h.npy", "dtype 'O' is not supported"));
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (6,)}", a6, 24);
  CHECK(tfErrorHas(&b, "h.npy", "expected True or False at character 35"));
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-6,)}", a6, 24);
  CHECK(tfErrorHas(&b, "h.npy", "expected a non-negative integer at character 52"));
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (06,)}", a6, 24);
  CHECK(tfErrorHas(&b, "h.npy", "expected no leading zero in an integer"));
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6.0,)}", a6, 24);
  CHECK(tfErrorHas(&b, "h.npy", "expected an integer without fraction or exponent"));
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False, "
          "'shape': (9223372036854775808,)}", a6, 24);
  CHECK(tfErrorHas(&b, "h.npy", "is larger than 2^63-1"));
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,)} x", a6, 24);
  CHECK(tfErrorHas(&b, "h.npy", "expected the end of the header at character 57"));
  npyMake(&b, 1, "{'descr': '<f\\x34', 'fortran_order': False, 'shape': (6,)}", a6, 24);
  CHECK(tfErrorHas(&b, "h.npy", "expected a plain string character"));
  /* Shapes whose product overflows 64 bits, in elements or in bytes. */
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False, "
          "'shape': (4294967296, 4294967296, 4294967296)}", a6, 24);
  CHECK(tfErrorIs(&b, "h.npy", "h.npy: tensor 'h' has shape "
                  "[4294967296,4294967296,4294967296], whose size in bytes "
                  "does not fit in 63 bits"));
  npyMake(&b, 1, "{'descr': '<f8', 'fortran_order': False, "
          "'shape': (4611686018427387904,)}", a6, 24);
  CHECK(tfErrorHas(&b, "h.npy", "does not fit in 63 bits"));
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False, "
          "'shape': (1073741824, 1073741824)}", a6, 24);
  CHECK(tfErrorHas(&b, "h.npy", "needs 4611686018427387904 bytes of data, but 24 follow"));
  /* More dimensions than the limit. */
  {
    char z[400] = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
    int i;
    for(i=0; i<65; i++) strcat(z, "1,");
    strcat(z, ")}");
    npyMake(&b, 1, z, a6, 4);
    CHECK(tfErrorIs(&b, "h.npy", "h.npy: the shape has more than 64 items"));
  }

  /* Every truncation and corruption of a valid file fails cleanly. */
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
          a6, 24);
  tfMutate(&b, "m.npy");
  {
    double v[6] = { 1, 2, 3, 4, 5, 6 };
    npyMake(&b, 1, "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }",
            v, 48);
  }
  tfMutate(&b, "m.npy");
  bufFree(&b);
}

static void testSafetensors(void){
  Buf b = {0};
  attn_tensorfile *p = 0;
  attn_err err;
  unsigned char data[64];
  float f[4] = { 1, -2, 0.5f, 3 };
  uint16_t h[2] = { 0x3c00, 0xbc00 };             /* 1, -1 as F16 */
  uint16_t bf[2] = { 0x3f80, 0xc040 };            /* 1, -3 as BF16 */
  double d = 0.1;
  float want16[2] = { 1, -1 }, wantBf[2] = { 1, -3 }, wantD = 0.1f;

  /* Listed in data-offset order (not header order), names decoded. */
  memcpy(data, f, 16);
  memcpy(data+16, h, 4);
  memcpy(data+20, bf, 4);
  memcpy(data+24, &d, 8);
  safeMake(&b, "{\"__metadata__\":{\"format\":\"pt\",\"n\":[1,{\"x\":null}]},"
           "\"d\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[24,32]},"
           "\"w\\u00e9\\ud83d\\ude00\\n\":{\"shape\":[2,2],\"dtype\":\"F32\","
           "\"data_offsets\":[0,16],\"future\":[true,false,-1.5e3]},"
           "\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[16,20]},"
           "\"bf\":{\"dtype\":\"BF16\",\"shape\":[2,1],\"data_offsets\":[20,24]},"
           "\"z\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[16,16]}}"
           "      ", data, 32);
  CHECK(tfOpen(&b, "m.safetensors", &p, &err)==ATTN_OK);
  if( p ){
    CHECK(strcmp(attn_tensorfile_format(p), "safetensors")==0);
    CHECK(attn_tensorfile_count(p)==5);
    CHECK(strcmp(attn_tensorfile_info(p, 0)->zName, "w\xc3\xa9\xf0\x9f\x98\x80\n")==0);
    CHECK(strcmp(attn_tensorfile_info(p, 0)->zDtype, "F32")==0);
    CHECK(strcmp(tfShape(p, 0), "[2,2]")==0);
    CHECK(tfDataIs(p, 0, f, 4));
    CHECK(strcmp(attn_tensorfile_info(p, 1)->zName, "h")==0);
    CHECK(tfDataIs(p, 1, want16, 2));
    CHECK(strcmp(attn_tensorfile_info(p, 2)->zName, "z")==0);
    CHECK(attn_tensorfile_info(p, 2)->nElem==0);
    CHECK(strcmp(attn_tensorfile_info(p, 3)->zName, "bf")==0);
    CHECK(strcmp(attn_tensorfile_info(p, 3)->zDtype, "BF16")==0);
    CHECK(tfDataIs(p, 3, wantBf, 2));
    CHECK(strcmp(attn_tensorfile_info(p, 4)->zName, "d")==0);
    CHECK(strcmp(tfShape(p, 4), "[]")==0);
    CHECK(tfDataIs(p, 4, &wantD, 1));
  }
  tfClose(p);
  tfMutate(&b, "m.safetensors");

  /* An empty header object: no tensors. */
  safeMake(&b, "{}", 0, 0);
  CHECK(tfOpen(&b, "e.safetensors", &p, &err)==ATTN_OK && attn_tensorfile_count(p)==0);
  tfClose(p);

  /* Truncated, and header lengths that lie. */
  bufReset(&b);
  bufPut(&b, "\x05\0\0", 3);
  CHECK(tfErrorIs(&b, "t.safetensors", "t.safetensors: the file is truncated: "
                  "it has 3 bytes, expected at least 8 (the header length)"));
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", f, 4);
  b.a[0] = 0xff; b.a[1] = 0xe0; b.a[2] = 0xf5; b.a[3] = 0x05;   /* 99999999 */
  CHECK(tfErrorIs(&b, "layer.safetensors", "layer.safetensors: the header "
                  "length in the first 8 bytes reaches beyond the end of the "
                  "file (66 bytes), expected a .safetensors file"));
  memset(b.a, 0xff, 8);
  CHECK(tfErrorIs(&b, "layer.safetensors", "layer.safetensors: the header "
                  "length in the first 8 bytes reaches beyond the end of the "
                  "file (66 bytes), expected a .safetensors file"));
  {
    /* Over the 100 MB cap, in a file big enough to hold it. */
    Buf big = {0};
    big.n = big.nAlloc = (size_t)ATTN_TENSOR_MAX_HEADER + 20;
    big.a = calloc(1, big.n);
    big.a[0] = 0x01; big.a[1] = 0xe1; big.a[2] = 0xf5; big.a[3] = 0x05;
    big.a[8] = '{';
    attn_err_clear(&err);
    CHECK(attn_tensorfile_open_memory(big.a, big.n, "big.safetensors", &p, &err)
          ==ATTN_ERROR);
    CHECK(strcmp(err.zMsg, "big.safetensors: the header length in the first "
                 "8 bytes is more than the limit of 100000000 bytes")==0);
    bufFree(&big);
  }

  /* Bad JSON. */
  safeMake(&b, "{\"a\" {}}", 0, 0);
  CHECK(tfErrorIs(&b, "j.safetensors", "j.safetensors: the JSON header is not "
                  "valid: expected ':' at character 6"));
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}", f, 4);
  CHECK(tfErrorHas(&b, "j.safetensors", "expected a string at character 55"));
  safeMake(&b, "{\"a", 0, 0);
  CHECK(tfErrorHas(&b, "j.safetensors", "expected '\"' to end the string at "
                   "character 4, found the end of the header"));
  safeMake(&b, "{\"a\\x\":1}", 0, 0);
  CHECK(tfErrorHas(&b, "j.safetensors", "expected an escape character"));
  safeMake(&b, "{\"a\\udc00\":1}", 0, 0);
  CHECK(tfErrorHas(&b, "j.safetensors", "expected a high surrogate before a low one"));
  safeMake(&b, "{\"a\\ud800x\":1}", 0, 0);
  CHECK(tfErrorHas(&b, "j.safetensors", "expected a \\u escape of a low surrogate"));
  safeMake(&b, "{\"a\\u12G4\":1}", 0, 0);
  CHECK(tfErrorHas(&b, "j.safetensors", "expected a hex digit of a \\u escape at character 8"));
  safeMake(&b, "{\"a\tb\":1}", 0, 0);
  CHECK(tfErrorHas(&b, "j.safetensors", "control characters must be escaped"));
  safeMake(&b, "{} x", 0, 0);
  CHECK(tfErrorHas(&b, "j.safetensors", "expected the end of the header at character 4"));
  safeMake(&b, "{\"__metadata__\":{\"a\":[01]}}", 0, 0);
  CHECK(tfErrorHas(&b, "j.safetensors", "expected ',' or ']' at character 24"));
  safeMake(&b, "{\"__metadata__\":{\"a\":tru}}", 0, 0);
  CHECK(tfErrorHas(&b, "j.safetensors", "expected a JSON value at character 22"));
  safeMake(&b, "{\"__metadata__\":[]}", 0, 0);
  CHECK(tfErrorHas(&b, "j.safetensors", "expected '{' (__metadata__ is an object)"));
  {
    char z[300] = "{\"__metadata__\":{\"a\":";
    int i;
    for(i=0; i<70; i++) strcat(z, "[");
    for(i=0; i<70; i++) strcat(z, "]");
    strcat(z, "}}");
    safeMake(&b, z, 0, 0);
    CHECK(tfErrorHas(&b, "j.safetensors", "values are nested more than 64 deep"));
  }
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,],\"data_offsets\":[0,4]}}", f, 4);
  /* The syntax is checked first (as any JSON), then the entries. */
  CHECK(tfErrorHas(&b, "j.safetensors", "expected a JSON value at character 32"));
  safeMake(&b, "[]", 0, 0);
  /* Not '{' at byte 8: a .safetensors by its name only. */
  CHECK(tfErrorIs(&b, "j.safetensors", "j.safetensors: the JSON header is not "
                  "valid: expected '{' at character 1"));
  /* Never the bytes (issue 13, finding 14): what was expected. */
  CHECK(tfErrorIs(&b, "j.bin", "j.bin: the file is not a .npy, .npz or "
                  ".safetensors file: expected it to start with \\x93NUMPY "
                  "(.npy), PK\\3\\4 (.npz) or an 8-byte header length and "
                  "'{' (.safetensors), or a name ending in one of those "
                  "suffixes"));
  bufReset(&b);
  bufU64(&b, 3);
  bufPut(&b, "{\xc3\x28", 3);
  CHECK(tfErrorHas(&b, "j.safetensors", "expected a string at character 2"));
  safeMake(&b, "{\"\xc3\x28\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", f, 4);
  CHECK(tfErrorHas(&b, "j.safetensors", "is not valid UTF-8"));
  safeMake(&b, "{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", f, 4);
  CHECK(tfErrorHas(&b, "j.safetensors", "a tensor name contains a NUL character"));

  /* Entries that lie or are incomplete. */
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", f, 8);
  CHECK(tfErrorIs(&b, "o.safetensors", "o.safetensors: tensor 'a' has "
                  "data_offsets [0, 4] (4 bytes), but dtype F32 and shape [2] "
                  "need 8 bytes"));
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", f, 8);
  CHECK(tfErrorIs(&b, "o.safetensors", "o.safetensors: tensor 'a' has "
                  "data_offsets [8, 16], beyond the end of the data (8 bytes)"));
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", f, 8);
  CHECK(tfErrorHas(&b, "o.safetensors", "data_offsets [8, 0], expected begin <= end"));
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", f, 8);
  CHECK(tfErrorHas(&b, "o.safetensors", "has 3 data_offsets, expected 2"));
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8.0]}}", f, 8);
  CHECK(tfErrorHas(&b, "o.safetensors", "expected an integer without fraction or exponent"));
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
           "\"data_offsets\":[18446744073709551615,0]}}", f, 8);
  CHECK(tfErrorHas(&b, "o.safetensors", "is larger than 2^63-1"));
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", f, 8);
  CHECK(tfErrorIs(&b, "o.safetensors", "o.safetensors: tensor 'a' has no "
                  "\"data_offsets\", expected \"dtype\", \"shape\" and "
                  "\"data_offsets\""));
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],"
           "\"data_offsets\":[0,8]}}", f, 8);
  CHECK(tfErrorHas(&b, "o.safetensors", "tensor 'a' has the key \"dtype\" twice"));
  safeMake(&b, "{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", f, 8);
  CHECK(tfErrorIs(&b, "o.safetensors", "o.safetensors: tensor 'a' has dtype "
                  "'F8_E4M3', which is not supported (expected F64, F32, F16, "
                  "BF16, I64, I32, I16, I8, U64, U32, U16, U8 or BOOL)"));
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,"
           "4294967296],\"data_offsets\":[0,8]}}", f, 8);
  CHECK(tfErrorIs(&b, "o.safetensors", "o.safetensors: tensor 'a' has shape "
                  "[4294967296,4294967296,4294967296], whose size in bytes does "
                  "not fit in 63 bits"));
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2305843009213693952],"
           "\"data_offsets\":[0,8]}}", f, 8);
  CHECK(tfErrorHas(&b, "o.safetensors", "does not fit in 63 bits"));
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
           "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", f, 8);
  CHECK(tfErrorIs(&b, "o.safetensors", "o.safetensors: two tensors are named 'a'"));
  safeMake(&b, "{\"a\":[]}", 0, 0);
  CHECK(tfErrorHas(&b, "o.safetensors", "expected '{' (a tensor entry) at character 6"));

  /* NaN and infinity in the data are errors naming the element. */
  {
    float v[3] = { 1, 2, NAN };
    safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", v, 12);
    CHECK(tfReadErrorHas(&b, "n.safetensors", "n.safetensors: tensor 'a' has "
                         "element 2 equal to NaN, expected a finite number"));
    v[2] = -INFINITY;
    safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", v, 12);
    CHECK(tfReadErrorHas(&b, "n.safetensors", "element 2 equal to -Infinity"));
  }
  bufFree(&b);
}

static void testNpz(void){
  Buf b = {0}, m1 = {0}, m2 = {0};
  attn_tensorfile *p = 0;
  attn_err err;
  float v1[3] = { 1, 2, 3 }, v2[2] = { -1, 0.5f };
  ZipMember aM[2];

  npyMake(&m1, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", v1, 12);
  npyMake(&m2, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", v2, 8);
  aM[0].zName = "layer/wq.npy"; aM[0].pData = &m1; aM[0].method = 0; aM[0].flags = 0;
  aM[1].zName = "bias"; aM[1].pData = &m2; aM[1].method = 0; aM[1].flags = 0;

  /* Archive order; ".npy" dropped from member names. */
  zipMake(&b, aM, 2, 0);
  CHECK(tfOpen(&b, "w.npz", &p, &err)==ATTN_OK);
  if( p ){
    CHECK(strcmp(attn_tensorfile_format(p), "npz")==0);
    CHECK(attn_tensorfile_count(p)==2);
    CHECK(strcmp(attn_tensorfile_info(p, 0)->zName, "layer/wq")==0);
    CHECK(strcmp(attn_tensorfile_info(p, 1)->zName, "bias")==0);
    CHECK(strcmp(tfShape(p, 1), "[1,2]")==0);
    CHECK(tfDataIs(p, 0, v1, 3));
    CHECK(tfDataIs(p, 1, v2, 2));
  }
  tfClose(p);
  tfMutate(&b, "w.npz");

  /* The same with zip64 records and a zip64 offset field. */
  zipMake(&b, aM, 2, 1);
  CHECK(tfOpen(&b, "w.npz", &p, &err)==ATTN_OK);
  CHECK(p && attn_tensorfile_count(p)==2 && tfDataIs(p, 1, v2, 2));
  tfClose(p);
  tfMutate(&b, "w.npz");

  /* No members: no tensors. */
  zipMake(&b, aM, 0, 0);
  CHECK(tfOpen(&b, "e.npz", &p, &err)==ATTN_OK && attn_tensorfile_count(p)==0);
  tfClose(p);

  /* Deflated (savez_compressed), encrypted, other methods. */
  aM[1].method = 8;
  zipMake(&b, aM, 2, 0);
  CHECK(tfErrorIs(&b, "c.npz", "c.npz: zip member 2: the member is compressed "
                  "(deflate): compressed .npz is not supported; save with "
                  "numpy.savez (not savez_compressed)"));
  aM[1].method = 12;
  zipMake(&b, aM, 2, 0);
  CHECK(tfErrorHas(&b, "c.npz", "uses compression method 12, expected 0 (stored)"));
  aM[1].method = 0;
  aM[1].flags = 1;
  zipMake(&b, aM, 2, 0);
  CHECK(tfErrorHas(&b, "c.npz", "zip member 2: the member is encrypted"));
  aM[1].flags = 0;

  /* A member that is not a .npy, or a broken .npy. */
  {
    Buf txt = {0};
    bufStr(&txt, "hello, world");
    aM[1].pData = &txt;
    zipMake(&b, aM, 2, 0);
    CHECK(tfErrorIs(&b, "c.npz", "c.npz: zip member 2: the member does not "
                    "start with the .npy magic string \\x93NUMPY"));
    bufFree(&txt);
    bufPut(&txt, m2.a, m2.n - 1);
    zipMake(&b, aM, 2, 0);
    CHECK(tfErrorHas(&b, "c.npz", "zip member 2: the member is truncated: "
                     "shape [1,2] of dtype '<f4' needs 8 bytes of data, but 7"));
    bufFree(&txt);
    aM[1].pData = &m2;
  }

  /* Directories that lie. */
  zipMake(&b, aM, 2, 0);
  {
    size_t iEocd = b.n - 22;
    Buf c = {0};
    bufPut(&c, b.a, b.n);
    c.a[iEocd+10] = 200; c.a[iEocd+8] = 200;          /* 200 entries */
    CHECK(tfErrorHas(&c, "z.npz", "the zip archive claims 200 entries, more "
                     "than its central directory of"));
    memcpy(c.a, b.a, b.n);
    c.a[iEocd+16] = 0xf0; c.a[iEocd+17] = 0xff;       /* directory offset */
    CHECK(tfErrorHas(&c, "z.npz", "runs past its end record"));
    memcpy(c.a, b.a, b.n);
    c.a[iEocd+4] = 1;
    CHECK(tfErrorIs(&c, "z.npz", "z.npz: multi-disk zip archives are not supported"));
    memcpy(c.a, b.a, b.n);
    c.a[iEocd] = 'X';
    CHECK(tfErrorIs(&c, "z.npz", "z.npz: the file is not a valid zip archive: "
                    "it has no end-of-central-directory record"));
    memcpy(c.a, b.a, b.n);
    {
      /* First central entry: local header offset beyond the directory. */
      size_t iDir = (size_t)(c.a[iEocd+16] | c.a[iEocd+17]<<8);
      c.a[iDir+42] = 0x00; c.a[iDir+43] = 0x7f;
      CHECK(tfErrorHas(&c, "z.npz", "member 'layer/wq.npy': the local header "
                       "offset 32512 is beyond the central directory"));
      memcpy(c.a, b.a, b.n);
      c.a[iDir+25] = 0x01; c.a[iDir+21] = 0x01;       /* size 396 */
      CHECK(tfErrorHas(&c, "z.npz", "the data (396 bytes at offset 42) runs "
                       "into the central directory"));
      memcpy(c.a, b.a, b.n);
      c.a[iDir+20] = 0;                               /* compressed size */
      CHECK(tfErrorHas(&c, "z.npz", "the member is stored but its compressed "
                       "size 0 differs from its size"));
      memcpy(c.a, b.a, b.n);
      c.a[iDir+24] = c.a[iDir+20] = 0xff;
      c.a[iDir+25] = c.a[iDir+21] = 0xff;
      c.a[iDir+26] = c.a[iDir+22] = 0xff;
      c.a[iDir+27] = c.a[iDir+23] = 0xff;             /* zip64, no extra */
      CHECK(tfErrorHas(&c, "z.npz", "the zip64 extra field is missing"));
    }
    bufFree(&c);
    c.n = 0;
    bufPut(&c, "PK\x03\x04", 4);
    CHECK(tfErrorHas(&c, "z.npz", "it has 4 bytes, fewer than the 22"));
    bufFree(&c);
  }
  /* The same member name twice. */
  aM[1].zName = "layer/wq.npy";
  zipMake(&b, aM, 2, 0);
  CHECK(tfErrorIs(&b, "d.npz", "d.npz: two tensors are named 'layer/wq'"));

  bufFree(&b);
  bufFree(&m1);
  bufFree(&m2);
}

/* The stdio layer: real files in a temporary directory. */
static void testFiles(void){
  char zDir[] = "/tmp/attn-tensorfile-XXXXXX";
  char zPath[512], zLong[400];
  Buf b = {0};
  attn_tensorfile *p = 0;
  attn_err err;
  float a[4] = { 1, 2, 3, 4 };
  FILE *f;

  if( mkdtemp(zDir)==0 ){ perror("mkdtemp"); UNIT_FAIL(); return; }

  snprintf(zPath, sizeof(zPath), "%s/missing.npy", zDir);
  CHECK(attn_tensorfile_open(zPath, -1, &p, &err)==ATTN_ERROR && p==0);
  CHECK(strstr(err.zMsg, "missing.npy: cannot open the file (No such file or directory)"));
  CHECK(attn_tensorfile_open(zDir, -1, &p, &err)==ATTN_ERROR);
  CHECK(strstr(err.zMsg, ": is a directory, expected a .npy, .npz or "
               ".safetensors file"));
  CHECK(attn_tensorfile_open("", -1, &p, &err)==ATTN_ERROR);
  CHECK(strcmp(err.zMsg, "the file path is empty")==0);
  CHECK(attn_tensorfile_open("/dev/null", -1, &p, &err)==ATTN_ERROR);
  CHECK(strcmp(err.zMsg, "/dev/null: is not a regular file")==0);

  snprintf(zPath, sizeof(zPath), "%s/empty.safetensors", zDir);
  f = fopen(zPath, "wb");
  fclose(f);
  CHECK(attn_tensorfile_open(zPath, -1, &p, &err)==ATTN_ERROR);
  CHECK(strstr(err.zMsg, "empty.safetensors: the file is empty (0 bytes)"));
  remove(zPath);

  /* A real file reads like its memory image. */
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", a, 16);
  snprintf(zPath, sizeof(zPath), "%s/x.npy", zDir);
  f = fopen(zPath, "wb");
  fwrite(b.a, 1, b.n, f);
  fclose(f);
  CHECK(attn_tensorfile_open(zPath, -1, &p, &err)==ATTN_OK);
  if( p ){
    float want[4] = { 1, 3, 2, 4 };
    CHECK(strcmp(attn_tensorfile_info(p, 0)->zName, "x")==0);
    CHECK(tfDataIs(p, 0, want, 4));
    attn_tensorfile_close(p);
  }
  f = fopen(zPath, "wb");
  fwrite(b.a, 1, 70, f);
  fclose(f);
  CHECK(attn_tensorfile_open(zPath, -1, &p, &err)==ATTN_ERROR);
  CHECK(strstr(err.zMsg, "x.npy: the header length in the .npy preamble "
               "reaches beyond the end of the file (70 bytes)"));

  /* The file shrinks after it was opened: a read error, not a crash.  (Big
  ** enough that the data is not all in stdio's buffer already.) */
  {
    float *aBig = calloc(100000, sizeof(float));
    npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (100000,), }",
            aBig, 400000);
    f = fopen(zPath, "wb");
    fwrite(b.a, 1, b.n, f);
    fclose(f);
    CHECK(attn_tensorfile_open(zPath, -1, &p, &err)==ATTN_OK);
    if( p ){
      f = fopen(zPath, "wb");
      fwrite(b.a, 1, 200000, f);
      fclose(f);
      CHECK(attn_tensorfile_read(p, 0, aBig, &err)==ATTN_ERROR);
      CHECK(strstr(err.zMsg, "x.npy: the file is shorter than when it was "
                   "opened: cannot read"));
      attn_tensorfile_close(p);
    }
    free(aBig);
  }
  remove(zPath);

  /* A long path is shortened from the left in messages. */
  memset(zLong, 'a', sizeof(zLong));
  snprintf(zLong+300, 100, "/missing.npy");
  CHECK(attn_tensorfile_open(zLong, -1, &p, &err)==ATTN_ERROR);
  CHECK(strncmp(err.zMsg, "...aaa", 6)==0);
  CHECK(strstr(err.zMsg, "aaa/missing.npy: cannot open the file")!=0);
  CHECK(strlen(err.zMsg)<200);

  rmdir(zDir);
  bufFree(&b);
}

/*
** Out of memory: fail the n-th allocation, for every n until the whole job
** succeeds; each failure must be ATTN_NOMEM and leave nothing allocated.
*/
static int oomCountdown = -1;     /* allocations left before one fails */
static int oomLive = 0;           /* blocks allocated and not yet freed */
static void *oomMalloc(uint64_t n){
  void *p;
  if( oomCountdown==0 ) return 0;
  if( oomCountdown>0 ) oomCountdown--;
  p = malloc((size_t)n);
  if( p ) oomLive++;
  return p;
}
static void oomFree(void *p){
  oomLive--;
  free(p);
}

/* Open b and read every tensor, failing allocation n; return the code. */
static int oomRun(const Buf *b, const char *zName, int n){
  attn_tensorfile *p = 0;
  attn_err err;
  float a[64];
  int i, rc;
  oomCountdown = n;
  rc = attn_tensorfile_open_memory(b->a, b->n, zName, &p, &err);
  for(i=0; rc==ATTN_OK && i<attn_tensorfile_count(p); i++){
    rc = attn_tensorfile_read(p, i, a, &err);
  }
  attn_tensorfile_close(p);
  oomCountdown = -1;
  if( rc==ATTN_NOMEM && strcmp(err.zMsg, "out of memory")!=0 ) rc = -1;
  return rc;
}

static void oomSweep(const Buf *b, const char *zName){
  int n, rc = ATTN_NOMEM, nBad = 0;
  attn_set_allocator(oomMalloc, oomFree);
  for(n=0; n<1000 && rc==ATTN_NOMEM; n++){
    oomLive = 0;
    rc = oomRun(b, zName, n);
    if( oomLive!=0 || (rc!=ATTN_OK && rc!=ATTN_NOMEM) ) nBad++;
  }
  attn_set_allocator(0, 0);
  CHECK(rc==ATTN_OK);
  CHECK(n>3);                   /* it did fail some allocations first */
  CHECK(nBad==0);
}

static void testOom(void){
  Buf b = {0}, m1 = {0}, m2 = {0};
  float v[6] = { 1, 2, 3, 4, 5, 6 };
  ZipMember aM[2];
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", v, 24);
  oomSweep(&b, "o.npy");
  safeMake(&b, "{\"__metadata__\":{\"a\":\"b\"},"
           "\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
           "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
           "\"z\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[12,16]}}", v, 16);
  oomSweep(&b, "o.safetensors");
  npyMake(&m1, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", v, 12);
  npyMake(&m2, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }", v, 8);
  aM[0].zName = "a.npy"; aM[0].pData = &m1; aM[0].method = 0; aM[0].flags = 0;
  aM[1].zName = "b.npy"; aM[1].pData = &m2; aM[1].method = 0; aM[1].flags = 0;
  zipMake(&b, aM, 2, 0);
  oomSweep(&b, "o.npz");
  bufFree(&b);
  bufFree(&m1);
  bufFree(&m2);
}

/*
** Boundaries: every offset, size and limit of the readers exactly at its
** end and one past it (the first accepted, the second refused with the
** message of that check).
*/

/* Is this run under valgrind (where the 100 MB cases take minutes)? */
static int underValgrind(void){
  const char *z = getenv("ATTN_SANITIZER");
  return z && strcmp(z, "valgrind")==0;
}

/* A zip of the one member m whose central directory is padded with zeros
** to exactly nDir bytes (the padding after the last entry is not read). */
static void zipPadDir(Buf *b, const ZipMember *m, uint32_t nDir){
  size_t iEocd, iDir;
  zipMake(b, m, 1, 0);
  iEocd = b->n - 22;
  iDir = (size_t)(b->a[iEocd+16] | b->a[iEocd+17]<<8 | b->a[iEocd+18]<<16
                  | (size_t)b->a[iEocd+19]<<24);
  b->n = iEocd;
  while( b->n<iDir+nDir ){
    size_t k = iDir+nDir - b->n, nChunk = k<65536 ? k : 65536;
    static const unsigned char aZero[65536];
    bufPut(b, aZero, nChunk);
  }
  bufU32(b, 0x06054b50); bufU16(b, 0); bufU16(b, 0);
  bufU16(b, 1); bufU16(b, 1);
  bufU32(b, nDir); bufU32(b, (uint32_t)iDir); bufU16(b, 0);
}

static void testBoundaries(void){
  Buf b = {0}, m = {0};
  attn_tensorfile *p = 0;
  attn_err err;
  float f[3] = { 1, 2, 3 };
  char z[256];
  ZipMember zm;

  /* safetensors: data_offsets ending exactly at the end of the data (12
  ** bytes), and one byte past it; the same for a begin of a 0-byte tensor. */
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", f, 12);
  CHECK(tfOpen(&b, "e.safetensors", &p, &err)==ATTN_OK && p && tfDataIs(p, 0, f+1, 2));
  tfClose(p);
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[5,13]}}", f, 12);
  CHECK(tfErrorIs(&b, "e.safetensors", "e.safetensors: tensor 'a' has "
                  "data_offsets [5, 13], beyond the end of the data (12 bytes)"));
  safeMake(&b, "{\"a\":{\"dtype\":\"U8\",\"shape\":[13],\"data_offsets\":[0,13]}}", f, 12);
  CHECK(tfErrorIs(&b, "e.safetensors", "e.safetensors: tensor 'a' has "
                  "data_offsets [0, 13], beyond the end of the data (12 bytes)"));
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[12,12]}}", f, 12);
  CHECK(tfOpen(&b, "e.safetensors", &p, &err)==ATTN_OK && p
        && attn_tensorfile_info(p, 0)->nElem==0);
  tfClose(p);
  safeMake(&b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[13,13]}}", f, 12);
  CHECK(tfErrorIs(&b, "e.safetensors", "e.safetensors: tensor 'a' has "
                  "data_offsets [13, 13], beyond the end of the data (12 bytes)"));
  /* With no data at all: [0, 0] is the end, [0, 1] past it. */
  safeMake(&b, "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0, 0);
  CHECK(tfOpen(&b, "e.safetensors", &p, &err)==ATTN_OK && p);
  tfClose(p);
  safeMake(&b, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 0, 0);
  CHECK(tfErrorIs(&b, "e.safetensors", "e.safetensors: tensor 'a' has "
                  "data_offsets [0, 1], beyond the end of the data (0 bytes)"));

  /* safetensors: a header length of exactly the rest of the file, and one
  ** more. */
  safeMake(&b, "{}", 0, 0);
  CHECK(tfOpen(&b, "h.safetensors", &p, &err)==ATTN_OK && p
        && attn_tensorfile_count(p)==0);
  tfClose(p);
  b.a[0] = 3;
  CHECK(tfErrorIs(&b, "h.safetensors", "h.safetensors: the header length in "
                  "the first 8 bytes reaches beyond the end of the file (10 "
                  "bytes), expected a .safetensors file"));

  /* .npy: data of exactly the size the shape needs, one byte short, one
  ** byte more; a header length of exactly the rest of the file, one more. */
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f, 12);
  CHECK(tfOpen(&b, "n.npy", &p, &err)==ATTN_OK && p && tfDataIs(p, 0, f, 3));
  tfClose(p);
  b.n--;
  CHECK(tfErrorIs(&b, "n.npy", "n.npy: the file is truncated: shape [3] of "
                  "dtype '<f4' needs 12 bytes of data, but 11 follow the header"));
  b.n++;
  bufU8(&b, 0);
  CHECK(tfErrorIs(&b, "n.npy", "n.npy: the file has 1 bytes after the data "
                  "(shape [3] of dtype '<f4', 12 bytes), expected none"));
  npyMake(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }", 0, 0);
  CHECK(tfOpen(&b, "n.npy", &p, &err)==ATTN_OK && p && attn_tensorfile_count(p)==1);
  tfClose(p);
  b.a[8]++;
  snprintf(z, sizeof(z), "n.npy: the header length in the .npy preamble "
           "reaches beyond the end of the file (%u bytes)", (unsigned)b.n);
  CHECK(tfErrorIs(&b, "n.npy", z));

  /* .npz: a member's data ending exactly where the central directory
  ** starts, and one byte past; a local header offset 30 bytes before the
  ** directory (room for the header: then it must be one) and 29. */
  npyMake(&m, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f, 12);
  zm.zName = "a.npy"; zm.pData = &m; zm.method = 0; zm.flags = 0;
  zipMake(&b, &zm, 1, 0);
  CHECK(tfOpen(&b, "z.npz", &p, &err)==ATTN_OK && p && tfDataIs(p, 0, f, 3));
  tfClose(p);
  {
    size_t iEocd = b.n - 22;
    size_t iDir = (size_t)(b.a[iEocd+16] | b.a[iEocd+17]<<8);
    unsigned n = (unsigned)m.n + 1;
    Buf c = {0};
    bufPut(&c, b.a, b.n);
    c.a[iDir+20] = c.a[iDir+24] = (unsigned char)(n & 0xff);
    c.a[iDir+21] = c.a[iDir+25] = (unsigned char)(n >> 8);
    snprintf(z, sizeof(z), "z.npz: member 'a.npy': the data (%u bytes at "
             "offset 35) runs into the central directory (offset %u)", n,
             (unsigned)iDir);
    CHECK(tfErrorIs(&c, "z.npz", z));
    memcpy(c.a, b.a, b.n);
    c.a[iDir+42] = (unsigned char)((iDir-30) & 0xff);
    c.a[iDir+43] = (unsigned char)((iDir-30) >> 8);
    snprintf(z, sizeof(z), "z.npz: member 'a.npy': there is no local header "
             "at offset %u", (unsigned)(iDir-30));
    CHECK(tfErrorIs(&c, "z.npz", z));
    c.a[iDir+42] = (unsigned char)((iDir-29) & 0xff);
    c.a[iDir+43] = (unsigned char)((iDir-29) >> 8);
    snprintf(z, sizeof(z), "z.npz: member 'a.npy': the local header offset %u "
             "is beyond the central directory (offset %u)", (unsigned)(iDir-29),
             (unsigned)iDir);
    CHECK(tfErrorIs(&c, "z.npz", z));
    /* Entries: as many as 46-byte records fit in a directory of 138 bytes
    ** (3: the count passes, and entry 1, zeros, is then refused), and one
    ** more. */
    zipPadDir(&c, &zm, 138);
    iEocd = c.n - 22;
    c.a[iEocd+8] = c.a[iEocd+10] = 3;
    snprintf(z, sizeof(z), "z.npz: zip central directory entry 1 (at offset "
             "%u) is truncated or has a bad signature", (unsigned)(iDir+51));
    CHECK(tfErrorIs(&c, "z.npz", z));
    c.a[iEocd+8] = c.a[iEocd+10] = 4;
    CHECK(tfErrorIs(&c, "z.npz", "z.npz: the zip archive claims 4 entries, "
                    "more than its central directory of 138 bytes can hold"));
    bufFree(&c);
  }

  if( underValgrind() ){
    UNIT_SKIP("tensorfile boundaries at 100 MB and 1,000,000 tensors",
              "not run under valgrind (minutes there; the plain and ASan runs "
              "cover them)");
  }else{
    /* A safetensors header of exactly 100,000,000 bytes ('{', spaces, '}')
    ** is read; one byte more is refused (the existing test above, at
    ** 100,000,001). */
    Buf big = {0};
    size_t i;
    big.nAlloc = (size_t)ATTN_TENSOR_MAX_HEADER + 8;
    big.a = malloc(big.nAlloc);
    bufU64(&big, ATTN_TENSOR_MAX_HEADER);
    bufU8(&big, '{');
    memset(big.a + big.n, ' ', ATTN_TENSOR_MAX_HEADER - 2);
    big.n += ATTN_TENSOR_MAX_HEADER - 2;
    bufU8(&big, '}');
    CHECK(tfOpen(&big, "max.safetensors", &p, &err)==ATTN_OK && p
          && attn_tensorfile_count(p)==0);
    tfClose(p);
    bufFree(&big);

    /* A zip central directory of exactly 100,000,000 bytes, and one more. */
    zipPadDir(&big, &zm, ATTN_TENSOR_MAX_HEADER);
    CHECK(tfOpen(&big, "max.npz", &p, &err)==ATTN_OK && p
          && attn_tensorfile_count(p)==1 && tfDataIs(p, 0, f, 3));
    tfClose(p);
    zipPadDir(&big, &zm, ATTN_TENSOR_MAX_HEADER + 1);
    CHECK(tfErrorIs(&big, "max.npz", "max.npz: the zip central directory has "
                    "100000001 bytes, more than the limit of 100000000"));
    bufFree(&big);

    /* 1,000,000 tensors are read, 1,000,001 are refused. */
    for(i=0; i<2; i++){
      size_t k, n = ATTN_TENSOR_MAX_COUNT + i;
      char zE[96];
      Buf js = {0};
      bufStr(&js, "{");
      for(k=0; k<n; k++){
        snprintf(zE, sizeof(zE), "%s\"t%zu\":{\"dtype\":\"U8\",\"shape\":[0],"
                 "\"data_offsets\":[0,0]}", k ? "," : "", k);
        bufStr(&js, zE);
      }
      bufStr(&js, "}");
      bufU8(&js, 0);
      safeMake(&big, (const char*)js.a, 0, 0);
      bufFree(&js);
      if( i==0 ){
        CHECK(tfOpen(&big, "many.safetensors", &p, &err)==ATTN_OK && p
              && attn_tensorfile_count(p)==ATTN_TENSOR_MAX_COUNT);
        tfClose(p);
      }else{
        CHECK(tfErrorIs(&big, "many.safetensors", "many.safetensors: the file "
                        "has more than 1000000 tensors, the limit"));
      }
    }
    bufFree(&big);
  }
  bufFree(&b);
  bufFree(&m);
}

int main(void){
  char z[ATTN_TENSOR_SHAPE_JSON_MAX];
  int64_t aShape[ATTN_TENSOR_MAX_DIMS];
  int i;
  for(i=0; i<ATTN_TENSOR_MAX_DIMS; i++) aShape[i] = INT64_MAX;
  CHECK(attn_tensor_shape_json(aShape, ATTN_TENSOR_MAX_DIMS, z)
        ==(int)strlen(z));
  CHECK(strlen(z)<sizeof(z));
  CHECK(attn_tensor_shape_json(aShape, 0, z)==2 && strcmp(z, "[]")==0);

  testNpy();
  testSafetensors();
  testNpz();
  testBoundaries();
  testFiles();
  testOom();
  return UNIT_DONE();
}
