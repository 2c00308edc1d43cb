/*
** explorer.c: unit tests of src/explorer.c (the attention explorer), of
** src/sha256.c and of the JSON escape of src/picture.c, for what SQL
** cannot reach: float16 rounding, SHA-256 against FIPS 180-4's examples,
** escaping of hostile labels, the measured size against the written one,
** duplicates found with and without pooling, the row and map limits, and
** every allocation failing in turn (each must give ATTN_NOMEM and leak
** nothing).
*/
#include "unit.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "explorer.h"
#include "picture.h"
#include "sha256.h"

static int64_t nLive = 0, nCall = 0, failAt = -1;
static void *countMalloc(uint64_t n){
  if( nCall++==failAt ) return 0;
  nLive++;
  return malloc((size_t)n);
}
static void countFree(void *p){
  if( p ) nLive--;
  free(p);
}

static int contains(const char *z, const char *zPart){
  return strstr(z, zPart)!=0;
}

static int countOf(const char *z, const char *zPart){
  int n = 0;
  while( (z = strstr(z, zPart))!=0 ){ n++; z++; }
  return n;
}

/* The value of float16 bits h, from the definition (IEEE 754 binary16). */
static double halfValue(uint16_t h){
  int e = (h>>10) & 31, f = h & 1023;
  double s = (h & 0x8000) ? -1.0 : 1.0;
  if( e==0 ) return s*ldexp((double)f, -24);
  if( e==31 ) return f ? NAN : s*INFINITY;
  return s*ldexp(1024.0 + f, e-25);
}

/* The digest of z as lowercase hex into zHex (65 bytes). */
static const char *sha256Hex(const void *z, uint64_t n, char *zHex){
  unsigned char a[32];
  int i;
  attn_sha256(z, n, a);
  for(i=0; i<32; i++) snprintf(zHex+2*i, 3, "%02x", a[i]);
  return zHex;
}

/* Lay out and write p; returns the document (attn_free it) or NULL with
** *pRc set. */
static char *build(attn_explorer *p, int *pRc, attn_err *pErr){
  uint64_t nByte = 0;
  char *z = 0;
  int64_t n = 0;
  *pRc = attn_explorer_layout(p, &nByte, pErr);
  if( *pRc ) return 0;
  *pRc = attn_explorer_write(p, &z, &n, pErr);
  if( *pRc ) return 0;
  if( (uint64_t)n!=nByte || (int64_t)strlen(z)!=n ){
    *pRc = -1;
    attn_free(z);
    return 0;
  }
  return z;
}

/* A small labelled explorer of two layers and two heads, built.  Returns
** the first error code (ATTN_OK when all went well). */
static int buildSmall(void){
  attn_explorer *p = attn_explorer_new(1000, 1);
  static const char *azWord[] = { "The", "</script>", "<b>", "on" };
  attn_err err;
  int64_t l, h, q, k;
  int rc = ATTN_OK;
  char *z;
  if( p==0 ) return ATTN_NOMEM;
  for(l=0; rc==ATTN_OK && l<2; l++){
    for(h=0; rc==ATTN_OK && h<2; h++){
      for(q=0; rc==ATTN_OK && q<4; q++){
        for(k=0; rc==ATTN_OK && k<=q; k++){
          rc = attn_explorer_add(p, l, h, q, k, 1.0/(double)(q+1), azWord[q],
                                 (int)strlen(azWord[q]), azWord[k],
                                 (int)strlen(azWord[k]), &err);
        }
      }
    }
  }
  if( rc==ATTN_OK ){
    z = build(p, &rc, &err);
    attn_free(z);
  }
  attn_explorer_free(p);
  return rc;
}

int main(void){
  attn_explorer *p;
  attn_err err;
  char *z, zHex[65];
  int rc;
  int64_t i;

  /* SHA-256: the examples of FIPS 180-4 (and NIST's "abc" vectors). */
  CHECK(strcmp(sha256Hex("", 0, zHex), "e3b0c44298fc1c149afbf4c8996fb924"
               "27ae41e4649b934ca495991b7852b855")==0);
  CHECK(strcmp(sha256Hex("abc", 3, zHex), "ba7816bf8f01cfea414140de5dae2223"
               "b00361a396177a9cb410ff61f20015ad")==0);
  CHECK(strcmp(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
               56, zHex), "248d6a61d20638b8e5c026930c3e6039"
               "a33ce45964ff2167f6ecedd419db06c1")==0);
  {
    char *zA = malloc(1000000);
    memset(zA, 'a', 1000000);
    CHECK(strcmp(sha256Hex(zA, 1000000, zHex), "cdc76e5c9914fb9281a1c7e284d73e67"
                 "f1809a48a497200e046d39ccc7112cd0")==0);
    /* 55, 56, 63 and 64 bytes: the padding takes one or two blocks. */
    CHECK(strcmp(sha256Hex(zA, 64, zHex), "ffe054fe7ae0cb6dc65c3af9b61d5209"
                 "f439851db43d0ba5997337df154668eb")==0);
    CHECK(strcmp(sha256Hex(zA, 55, zHex), "9f4390f8d30c2dd92ec9f095b65e2b9a"
                 "e9b0a925a5258e241c9f1e910f734318")==0);
    free(zA);
  }

  /* Float16: exact values, ties to even, subnormals, the clamp, NaN. */
  CHECK(attn_explorer_half(1.0)==0x3c00);
  CHECK(attn_explorer_half(0.5)==0x3800);
  CHECK(attn_explorer_half(-2.0)==0xc000);
  CHECK(attn_explorer_half(0.0)==0x0000);
  CHECK(attn_explorer_half(-0.0)==0x8000);
  CHECK(attn_explorer_half(65504.0)==0x7bff);
  CHECK(attn_explorer_half(1e9)==0x7bff && attn_explorer_half(-1e300)==0xfbff);
  CHECK(attn_explorer_half(ldexp(1.0, -24))==0x0001);
  CHECK(attn_explorer_half(ldexp(1.0, -25))==0x0000);        /* tie: even */
  CHECK(attn_explorer_half(ldexp(3.0, -25))==0x0002);        /* tie: even */
  CHECK(attn_explorer_half(ldexp(1.0, -14))==0x0400);        /* smallest normal */
  CHECK(attn_explorer_half(ldexp(1023.5, -24))==0x0400);     /* rounds up to it */
  CHECK(attn_explorer_half(1.0 + ldexp(1.0, -11))==0x3c00);  /* tie: even */
  CHECK(attn_explorer_half(1.0 + ldexp(3.0, -11))==0x3c02);  /* tie: even */
  CHECK(attn_explorer_half(NAN)==0x7e00);
  {
    /* Every value rounds to the nearest half: within half a unit of the
    ** last place, for 200001 values spread over (-1, 1). */
    int nBad = 0;
    for(i=-100000; i<=100000; i++){
      double x = (double)i/100000.0 * 0.999 + (double)i*1e-9;
      double y = halfValue(attn_explorer_half(x));
      double ulp = fabs(x)<ldexp(1.0, -14) ? ldexp(1.0, -24)
                 : ldexp(1.0, (int)floor(log2(fabs(x)))-10);
      if( fabs(x-y)>ulp/2 ) nBad++;
    }
    CHECK(nBad==0);
  }

  /* The JSON escape: nothing can end the <script> element it lands in. */
  {
    attn_pbuf b;
    static const char zHostile[] = "</script><!--\"\\\x01\xe2\x80\xa8&>";
    memset(&b, 0, sizeof(b));
    attn_pic_label(&b, zHostile, (int)strlen(zHostile), 0, 40, ATTN_PIC_JSON);
    CHECK(b.rc==0 && b.z!=0);
    CHECK(strcmp(b.z, "\\u003c/script\\u003e\\u003c!--\\\"\\\\\xe2\x90\x81"
                      "\\u2028\\u0026\\u003e")==0);
    attn_free(b.z);
    /* Measuring counts what writing writes. */
    memset(&b, 0, sizeof(b));
    b.bMeasure = 1;
    attn_pic_label(&b, zHostile, (int)strlen(zHostile), 0, 40, ATTN_PIC_JSON);
    CHECK(b.z==0 && b.n==strlen("\\u003c/script\\u003e\\u003c!--\\\"\\\\"
          "\xe2\x90\x81\\u2028\\u0026\\u003e"));
  }

  /* A small document: its size is what layout measured; labels only in
  ** the JSON block, escaped; four <script> elements are data and one is
  ** code, so "</script" appears exactly five times. */
  p = attn_explorer_new(100, 0);
  CHECK(p!=0);
  CHECK(attn_explorer_add(p, 0, 0, 0, 0, 1.0, "</script><img src=x onerror=alert(1)>",
                          37, "\"'\\", 3, &err)==0);
  CHECK(attn_explorer_add(p, 0, 0, 1, 0, 0.25, "a\x1b[31m", 6, 0, 0, &err)==0);
  CHECK(attn_explorer_add(p, 0, 0, 1, 1, 0.75, 0, 0, "k1", 2, &err)==0);
  CHECK(attn_explorer_add(p, 0, 3, 1, 1, 0.5, 0, 0, 0, 0, &err)==0);
  CHECK(attn_explorer_count(p)==4);
  z = build(p, &rc, &err);
  CHECK(rc==0 && z!=0);
  if( z ){
    CHECK(countOf(z, "</script")==5);
    CHECK(!contains(z, "<img"));
    CHECK(contains(z, "[\"0\",\"\\u003c/script\\u003e\\u003cimg src=x\xe2\x80\xa6\""));
    CHECK(contains(z, "\"\\\"'\\\\\""));                    /* "'\ */
    CHECK(contains(z, "\"a\xe2\x90\x9b[31m\""));            /* ESC shown as ␛ */
    CHECK(contains(z, "\"heads\":[\"0\",\"3\"]"));
    CHECK(contains(z, "\"layers\":null"));
    CHECK(contains(z, "Content-Security-Policy\" content=\"default-src 'none'; "
                      "script-src 'sha256-"));
    CHECK(!contains(z, "unsafe"));
    CHECK(contains(z, "<title>Attention explorer: 2 queries \xc3\x97 2 keys, 2 heads</title>"));
    CHECK(contains(z, "id=\"attn-map-1\""));
    /* The map of head 0: bins (0,0)=1, (0,1) absent, (1,0)=.25, (1,1)=.75,
    ** with e=1: halves of .5, NaN, .125, .375 = 0x3800 7e00 3000 3600,
    ** little-endian 00 38 00 7e 00 30 00 36, base64 ADgAfgAwADY=. */
    CHECK(contains(z, "id=\"attn-map-0\">ADgAfgAwADY=</script>"));
    attn_free(z);
  }
  attn_explorer_free(p);

  /* Weights must be finite; the row and map limits are clean TOOBIGs. */
  p = attn_explorer_new(3, 1);
  CHECK(attn_explorer_add(p, 0, 0, 0, 0, NAN, 0, 0, 0, 0, &err)==ATTN_ERROR);
  CHECK(strcmp(err.zMsg, "weight is NaN, expected a finite number")==0);
  for(i=0; i<3; i++) CHECK(attn_explorer_add(p, 0, 0, i, 0, 1, 0, 0, 0, 0, &err)==0);
  CHECK(attn_explorer_add(p, 0, 0, 9, 0, 1, 0, 0, 0, 0, &err)==ATTN_TOOBIG);
  CHECK(contains(err.zMsg, "the explorer has more than 3 rows"));
  attn_explorer_free(p);
  p = attn_explorer_new(100000, 1);
  for(i=0; i<ATTN_EXPLORER_MAX_MAPS; i++){
    rc = attn_explorer_add(p, i/64, i%64, 0, 0, 1, 0, 0, 0, 0, &err);
    if( rc ) break;
  }
  CHECK(rc==0);
  CHECK(attn_explorer_add(p, 99, 99, 0, 0, 1, 0, 0, 0, 0, &err)==ATTN_TOOBIG);
  CHECK(contains(err.zMsg, "more than 4096 (layer, head) maps"));
  CHECK(attn_explorer_add(p, 5, 5, 1, 0, 1, 0, 0, 0, 0, &err)==0);   /* old map */
  z = build(p, &rc, &err);
  CHECK(rc==0 && z && contains(z, "64 heads, 64 layers</title>"));
  attn_free(z);
  attn_explorer_free(p);

  /* Duplicates, unpooled and pooled (600 positions: blocks of 2). */
  p = attn_explorer_new(1000, 1);
  attn_explorer_add(p, 2, 1, 5, 6, 0.5, 0, 0, 0, 0, &err);
  attn_explorer_add(p, 2, 1, 5, 7, 0.5, 0, 0, 0, 0, &err);
  attn_explorer_add(p, 2, 1, 5, 6, 0.5, 0, 0, 0, 0, &err);
  CHECK(build(p, &rc, &err)==0 && rc==ATTN_ERROR);
  CHECK(strcmp(err.zMsg, "query position 5 and key position 6 have more than "
               "one row in layer 2, head 1: an explorer shows one sequence "
               "(filter or group by sequence)")==0);
  attn_explorer_free(p);
  p = attn_explorer_new(1000, 0);
  for(i=0; i<600; i++) attn_explorer_add(p, 0, 4, i, 0, 0.5, 0, 0, 0, 0, &err);
  attn_explorer_add(p, 0, 4, 301, 0, 0.5, 0, 0, 0, 0, &err);
  CHECK(build(p, &rc, &err)==0 && rc==ATTN_ERROR);
  CHECK(contains(err.zMsg, "query position 301 and key position 0 have more "
                           "than one row in head 4:"));
  attn_explorer_free(p);

  /* Pooling: 600 query positions are 300 bins of 2, the grid's 60 of 10;
  ** bin 0 is the mean of positions 0 and 1. */
  p = attn_explorer_new(1000, 0);
  for(i=0; i<600; i++){
    attn_explorer_add(p, 0, 0, 10*i, 0, i==0 ? 0.25 : 0.75, 0, 0, 0, 0, &err);
  }
  z = build(p, &rc, &err);
  CHECK(rc==0 && z!=0);
  if( z ){
    CHECK(contains(z, "{\"n\":600,\"pool\":2,\"tpool\":10,\"tbins\":60,"
                      "\"bins\":[[\"0\",\"0\",null],[\"20\",\"20\",null]"));
    /* e=0; bin 0 is 0.5 = 0x3800, bin 1 is .75 = 0x3a00: 00 38 00 3a. */
    CHECK(contains(z, "id=\"attn-map-0\">ADgAOgA6"));
    attn_free(z);
  }
  attn_explorer_free(p);

  /* Every allocation failing in turn: ATTN_NOMEM, nothing leaked. */
  attn_set_allocator(countMalloc, countFree);
  {
    int nFail = 0, bDone = 0;
    for(failAt=0; !bDone && failAt<10000; failAt++){
      nCall = 0;
      rc = buildSmall();
      if( rc==ATTN_OK ){
        bDone = 1;
      }else if( rc!=ATTN_NOMEM ){
        nFail++;
      }
      if( nLive!=0 ) nFail++;
    }
    CHECK(bDone && nFail==0 && failAt>10);
    CHECK(nLive==0);
  }
  attn_set_allocator(0, 0);

  return UNIT_DONE();
}
