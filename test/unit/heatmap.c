/*
** heatmap.c: unit tests of src/heatmap.c, the pictures of attention, for
** what SQL cannot reach: NaN weights, the row limit, labels cut at a
** character boundary, the label table growing, and every allocation
** failing in turn (each must give ATTN_NOMEM and leak nothing).
*/
#include "unit.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "alloc.h"
#include "heatmap.h"

/* A counting allocator whose allocation number failAt fails. */
static int64_t nLive = 0, nCall = 0, failAt = -1;
static void *countMalloc(uint64_t n){
  if( nCall++==failAt ) return 0;
  nLive++;
  return malloc((size_t)n);
}
static void countFree(void *p){
  nLive--;
  free(p);
}

static int contains(const char *z, const char *zPart){
  return strstr(z, zPart)!=0;
}

/* Build a small labelled causal map and draw it both ways.  Returns the
** first error code met (ATTN_OK when all went well). */
static int drawSmall(void){
  attn_heatmap *p = attn_heatmap_new(100);
  static const char *azWord[] = { "The", "cat", "<sat>", "on", "the", "mat" };
  attn_err err;
  char *z = 0;
  int64_t n, q, k;
  int rc = ATTN_OK;
  if( p==0 ) return ATTN_NOMEM;
  for(q=0; rc==ATTN_OK && q<6; q++){
    for(k=0; rc==ATTN_OK && k<=q; k++){
      rc = attn_heatmap_add(p, q, k, 1.0/(double)(q+1), azWord[q],
                            (int)strlen(azWord[q]), azWord[k],
                            (int)strlen(azWord[k]), &err);
    }
  }
  if( rc==ATTN_OK ) rc = attn_heatmap_svg(p, &z, &n, &err);
  if( rc==ATTN_OK ){
    attn_free(z);
    rc = attn_heatmap_text(p, &z, &n, &err);
    if( rc==ATTN_OK ) attn_free(z);
  }
  attn_heatmap_free(p);
  return rc;
}

int main(void){
  attn_heatmap *p;
  attn_err err;
  char *z;
  int64_t n, i;
  char zBar[3*ATTN_BAR_MAX_WIDTH+1];

  /* attn_bar: eighths, rounded to nearest. */
  CHECK(attn_bar(0.0, 10, zBar)==0 && zBar[0]==0);
  CHECK(attn_bar(1.0, 2, zBar)==6 && strcmp(zBar, "\xe2\x96\x88\xe2\x96\x88")==0);
  CHECK(attn_bar(0.5/16, 1, zBar)==0);                  /* 1/4 eighth */
  attn_bar(1.0/16+0.001, 1, zBar);                      /* just over 1/2 */
  CHECK(strcmp(zBar, "\xe2\x96\x8f")==0);               /* U+258F, 1/8 */
  attn_bar(0.99, 1, zBar);                              /* 7.92 eighths */
  CHECK(strcmp(zBar, "\xe2\x96\x88")==0);
  attn_bar(0.9, 1, zBar);                               /* 7.2 eighths */
  CHECK(strcmp(zBar, "\xe2\x96\x89")==0);               /* U+2589, 7/8 */
  CHECK(attn_bar(1.0, ATTN_BAR_MAX_WIDTH, zBar)==3*ATTN_BAR_MAX_WIDTH);
  CHECK(attn_bar(2.0, 3, zBar)==9 && attn_bar(-1.0, 3, zBar)==0);  /* clamped */

  /* Weights must be finite; the row limit is a clean ATTN_TOOBIG. */
  p = attn_heatmap_new(3);
  CHECK(p!=0);
  CHECK(attn_heatmap_add(p, 0, 0, NAN, 0, 0, 0, 0, &err)==ATTN_ERROR);
  CHECK(strcmp(err.zMsg, "weight is NaN, expected a finite number")==0);
  CHECK(attn_heatmap_add(p, 0, 0, -INFINITY, 0, 0, 0, 0, &err)==ATTN_ERROR);
  CHECK(strcmp(err.zMsg, "weight is -Infinity, expected a finite number")==0);
  for(i=0; i<3; i++) CHECK(attn_heatmap_add(p, i, 0, 1, 0, 0, 0, 0, &err)==0);
  CHECK(attn_heatmap_add(p, 9, 0, 1, 0, 0, 0, 0, &err)==ATTN_TOOBIG);
  CHECK(strcmp(err.zMsg, "the map has more than 3 rows; draw fewer at a time "
               "(one head or sequence, or a range of positions)")==0);
  CHECK(attn_heatmap_count(p)==3);
  CHECK(attn_heatmap_svg(p, &z, &n, &err)==0);
  CHECK(n==(int64_t)strlen(z) && contains(z, "3 queries \xc3\x97 1 key<"));
  attn_free(z);
  attn_heatmap_free(p);

  /* Duplicate (query, key) pairs are an error, found wherever they are. */
  p = attn_heatmap_new(100);
  for(i=0; i<50; i++) attn_heatmap_add(p, i%7, i/7, 0.5, 0, 0, 0, 0, &err);
  attn_heatmap_add(p, 3, 2, 0.5, 0, 0, 0, 0, &err);
  CHECK(attn_heatmap_text(p, &z, &n, &err)==ATTN_ERROR);
  CHECK(contains(err.zMsg, "query position 3 and key position 2 have more "
                           "than one row"));
  attn_heatmap_free(p);

  /* 300 labelled positions (the label table grows several times); the
  ** first label of a position wins. */
  p = attn_heatmap_new(1000);
  for(i=0; i<300; i++){
    char zA[16], zB[16];
    snprintf(zA, sizeof(zA), "p%d", (int)i);
    snprintf(zB, sizeof(zB), "second%d", (int)i);
    CHECK(attn_heatmap_add(p, i, 0, 1, zA, (int)strlen(zA), 0, 0, &err)==0);
    CHECK(attn_heatmap_add(p, i, 1, 1, zB, (int)strlen(zB), 0, 0, &err)==0);
  }
  CHECK(attn_heatmap_svg(p, &z, &n, &err)==0);
  CHECK(contains(z, ">p0<") && !contains(z, "second"));
  CHECK(contains(z, "query 299 \xe2\x80\x9cp299\xe2\x80\x9d, key 1: 1<"));
  attn_free(z);
  attn_heatmap_free(p);

  /* A long label is kept to 256 bytes, cut before a character: "a" and 150
  ** "é" keep "a" and 127 "é", with no replacement character. */
  {
    char zLong[302];
    zLong[0] = 'a';
    for(i=0; i<150; i++){ zLong[1+2*i] = (char)0xC3; zLong[2+2*i] = (char)0xA9; }
    zLong[301] = 0;
    p = attn_heatmap_new(10);
    CHECK(attn_heatmap_add(p, 0, 0, 1, zLong, 301, zLong, 301, &err)==0);
    CHECK(attn_heatmap_svg(p, &z, &n, &err)==0);
    CHECK(!contains(z, "\xef\xbf\xbd"));
    /* 20 columns on the axes: "a", 18 "é", "…"; 40 in the tooltip. */
    CHECK(contains(z, ">a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                      "\xe2\x80\xa6</text>"));
    attn_free(z);
    attn_heatmap_free(p);
  }

  /* Pooling: 1000 query positions become 500 rows of the SVG and 63 of
  ** the text map (blocks of 16). */
  p = attn_heatmap_new(2000);
  for(i=0; i<1000; i++) attn_heatmap_add(p, 3*i, 7, 0.25, 0, 0, 0, 0, &err);
  CHECK(attn_heatmap_svg(p, &z, &n, &err)==0);
  CHECK(contains(z, "downsampled from 1000\xc3\x97" "1 by pooling 2\xc3\x97" "1"));
  CHECK(contains(z, "<rect x=\"0\" y=\"499\" ") && !contains(z, "<rect x=\"0\" y=\"500\""));
  attn_free(z);
  CHECK(attn_heatmap_text(p, &z, &n, &err)==0);
  CHECK(contains(z, "\n2976 \xe2\x96\x88\xe2\x96\x88\n"));   /* bin 62 */
  CHECK(contains(z, "downsampled from 1000\xc3\x97" "1 by pooling 16\xc3\x97" "1"));
  attn_free(z);
  attn_heatmap_free(p);

  /* Every allocation failing in turn: ATTN_NOMEM, nothing leaked. */
  attn_set_allocator(countMalloc, countFree);
  {
    int nFail = 0, bDone = 0;
    for(failAt=0; !bDone && failAt<10000; failAt++){
      int rc;
      nCall = 0;
      rc = drawSmall();
      if( rc==ATTN_OK ){
        bDone = 1;
      }else if( rc!=ATTN_NOMEM ){
        nFail++;
      }
      if( nLive!=0 ) nFail++;
    }
    CHECK(bDone && nFail==0 && failAt>5);
    CHECK(nLive==0);
  }
  attn_set_allocator(0, 0);

  return UNIT_DONE();
}
