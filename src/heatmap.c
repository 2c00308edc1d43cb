/*
** heatmap.c: pictures of attention (see heatmap.h).
**
** How it works.  attn_heatmap_add() appends (q, k, w) to a growing array
** and keeps the first label of each position in a small open-addressing
** hash table (one per axis) over a byte pool.  Drawing first builds a grid:
** it sorts the rows by (q, k), which also finds duplicate pairs, takes the
** distinct positions of each axis, and averages the rows into at most
** MAX x MAX bins (one bin per pair of positions unless an axis is pooled).
** The SVG and text writers then only read the grid and the labels.
**
** All output goes through HeatmapBuf, a growable string whose first error
** (out of memory, or larger than ATTN_MAX_ALLOC) sticks, so the writers
** append without checking each call.  Numbers in the SVG are formatted
** without the C locale's help (a decimal comma would break coordinates).
**
** Labels are never copied raw into the output: heatmapShown() maps each
** character to what is drawn (control characters to their control
** pictures, invalid UTF-8 and C1 controls to U+FFFD, bidirectional
** overrides to U+FFFD) and the SVG writer XML-escapes the rest.
*/
#include "heatmap.h"
#include "alloc.h"
#include "utf8.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* matplotlib's viridis colormap (lib/matplotlib/_cm_listed.py, _viridis_data,
** by Nathaniel J. Smith, Stefan van der Walt and Eric Firing, CC0), its 256
** RGB entries each rounded to 8 bits as round(255*c), so value t in [0,1]
** has colour aViridis[min(255, floor(256*t))], as matplotlib maps it. */
static const uint32_t aViridis[256] = {
  0x440154, 0x440256, 0x450457, 0x450559, 0x46075a, 0x46085c, 0x460a5d, 0x460b5e,
  0x470d60, 0x470e61, 0x471063, 0x471164, 0x471365, 0x481467, 0x481668, 0x481769,
  0x48186a, 0x481a6c, 0x481b6d, 0x481c6e, 0x481d6f, 0x481f70, 0x482071, 0x482173,
  0x482374, 0x482475, 0x482576, 0x482677, 0x482878, 0x482979, 0x472a7a, 0x472c7a,
  0x472d7b, 0x472e7c, 0x472f7d, 0x46307e, 0x46327e, 0x46337f, 0x463480, 0x453581,
  0x453781, 0x453882, 0x443983, 0x443a83, 0x443b84, 0x433d84, 0x433e85, 0x423f85,
  0x424086, 0x424186, 0x414287, 0x414487, 0x404588, 0x404688, 0x3f4788, 0x3f4889,
  0x3e4989, 0x3e4a89, 0x3e4c8a, 0x3d4d8a, 0x3d4e8a, 0x3c4f8a, 0x3c508b, 0x3b518b,
  0x3b528b, 0x3a538b, 0x3a548c, 0x39558c, 0x39568c, 0x38588c, 0x38598c, 0x375a8c,
  0x375b8d, 0x365c8d, 0x365d8d, 0x355e8d, 0x355f8d, 0x34608d, 0x34618d, 0x33628d,
  0x33638d, 0x32648e, 0x32658e, 0x31668e, 0x31678e, 0x31688e, 0x30698e, 0x306a8e,
  0x2f6b8e, 0x2f6c8e, 0x2e6d8e, 0x2e6e8e, 0x2e6f8e, 0x2d708e, 0x2d718e, 0x2c718e,
  0x2c728e, 0x2c738e, 0x2b748e, 0x2b758e, 0x2a768e, 0x2a778e, 0x2a788e, 0x29798e,
  0x297a8e, 0x297b8e, 0x287c8e, 0x287d8e, 0x277e8e, 0x277f8e, 0x27808e, 0x26818e,
  0x26828e, 0x26828e, 0x25838e, 0x25848e, 0x25858e, 0x24868e, 0x24878e, 0x23888e,
  0x23898e, 0x238a8d, 0x228b8d, 0x228c8d, 0x228d8d, 0x218e8d, 0x218f8d, 0x21908d,
  0x21918c, 0x20928c, 0x20928c, 0x20938c, 0x1f948c, 0x1f958b, 0x1f968b, 0x1f978b,
  0x1f988b, 0x1f998a, 0x1f9a8a, 0x1e9b8a, 0x1e9c89, 0x1e9d89, 0x1f9e89, 0x1f9f88,
  0x1fa088, 0x1fa188, 0x1fa187, 0x1fa287, 0x20a386, 0x20a486, 0x21a585, 0x21a685,
  0x22a785, 0x22a884, 0x23a983, 0x24aa83, 0x25ab82, 0x25ac82, 0x26ad81, 0x27ad81,
  0x28ae80, 0x29af7f, 0x2ab07f, 0x2cb17e, 0x2db27d, 0x2eb37c, 0x2fb47c, 0x31b57b,
  0x32b67a, 0x34b679, 0x35b779, 0x37b878, 0x38b977, 0x3aba76, 0x3bbb75, 0x3dbc74,
  0x3fbc73, 0x40bd72, 0x42be71, 0x44bf70, 0x46c06f, 0x48c16e, 0x4ac16d, 0x4cc26c,
  0x4ec36b, 0x50c46a, 0x52c569, 0x54c568, 0x56c667, 0x58c765, 0x5ac864, 0x5cc863,
  0x5ec962, 0x60ca60, 0x63cb5f, 0x65cb5e, 0x67cc5c, 0x69cd5b, 0x6ccd5a, 0x6ece58,
  0x70cf57, 0x73d056, 0x75d054, 0x77d153, 0x7ad151, 0x7cd250, 0x7fd34e, 0x81d34d,
  0x84d44b, 0x86d549, 0x89d548, 0x8bd646, 0x8ed645, 0x90d743, 0x93d741, 0x95d840,
  0x98d83e, 0x9bd93c, 0x9dd93b, 0xa0da39, 0xa2da37, 0xa5db36, 0xa8db34, 0xaadc32,
  0xaddc30, 0xb0dd2f, 0xb2dd2d, 0xb5de2b, 0xb8de29, 0xbade28, 0xbddf26, 0xc0df25,
  0xc2df23, 0xc5e021, 0xc8e020, 0xcae11f, 0xcde11d, 0xd0e11c, 0xd2e21b, 0xd5e21a,
  0xd8e219, 0xdae319, 0xdde318, 0xdfe318, 0xe2e418, 0xe5e419, 0xe7e419, 0xeae51a,
  0xece51b, 0xefe51c, 0xf1e51d, 0xf4e61e, 0xf6e620, 0xf8e621, 0xfbe723, 0xfde725
};

/* Colours of absent cells, of the page and of secondary text. */
#define HEATMAP_ABSENT     "#dddddd"
#define HEATMAP_BACKGROUND "#ffffff"
#define HEATMAP_GREY_TEXT  "#555555"

/* Display columns of labels: SVG axes, SVG tooltips, text rows. */
#define HEATMAP_SVG_LABEL_COLS  20
#define HEATMAP_TIP_LABEL_COLS  40
#define HEATMAP_TEXT_LABEL_COLS 16
/* Characters of the vertical key labels of the text map. */
#define HEATMAP_TEXT_HEAD_CHARS  8

/*
** The output buffer.
*/
typedef struct HeatmapBuf HeatmapBuf;
struct HeatmapBuf {
  char *z;            /* NUL-terminated text, or NULL before the first byte */
  uint64_t n;         /* bytes used, not counting the NUL */
  uint64_t nAlloc;    /* bytes allocated */
  int rc;             /* ATTN_OK, or the first error (then nothing is added) */
};

static void bufAppend(HeatmapBuf *b, const char *z, uint64_t n){
  uint64_t nNeed;
  if( b->rc ) return;
  if( attn_size_add(b->n, n, &nNeed) || attn_size_add(nNeed, 1, &nNeed) ){
    b->rc = ATTN_TOOBIG;
    return;
  }
  if( nNeed>b->nAlloc ){
    uint64_t nNew = b->nAlloc ? 2*b->nAlloc : 4096;
    char *zNew;
    if( nNew<nNeed ) nNew = nNeed;
    if( nNew>ATTN_MAX_ALLOC ) nNew = ATTN_MAX_ALLOC;
    zNew = attn_malloc(nNew);
    if( zNew==0 ){
      b->rc = ATTN_NOMEM;
      return;
    }
    if( b->n ) memcpy(zNew, b->z, (size_t)b->n);
    attn_free(b->z);
    b->z = zNew;
    b->nAlloc = nNew;
  }
  if( n ) memcpy(b->z + b->n, z, (size_t)n);
  b->n += n;
  b->z[b->n] = 0;
}

static void bufStr(HeatmapBuf *b, const char *z){
  bufAppend(b, z, strlen(z));
}

/* printf into the buffer.  Never pass a floating-point conversion: numbers
** go through heatmapCoord() and heatmapNum(), which ignore the locale. */
static void bufPrintf(HeatmapBuf *b, const char *zFmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;
static void bufPrintf(HeatmapBuf *b, const char *zFmt, ...){
  char zLocal[256];
  char *z = zLocal;
  va_list ap;
  int n;
  if( b->rc ) return;
  va_start(ap, zFmt);
  n = vsnprintf(zLocal, sizeof(zLocal), zFmt, ap);
  va_end(ap);
  if( n<0 ){
    b->rc = ATTN_ERROR;
    return;
  }
  if( n>=(int)sizeof(zLocal) ){
    z = attn_malloc((uint64_t)n+1);
    if( z==0 ){
      b->rc = ATTN_NOMEM;
      return;
    }
    va_start(ap, zFmt);
    vsnprintf(z, (size_t)n+1, zFmt, ap);
    va_end(ap);
  }
  bufAppend(b, z, (uint64_t)n);
  if( z!=zLocal ) attn_free(z);
}

/* Drop the spaces at the end of the buffer, back to offset iStart. */
static void bufTrimSpaces(HeatmapBuf *b, uint64_t iStart){
  if( b->rc ) return;
  while( b->n>iStart && b->z[b->n-1]==' ' ) b->n--;
  if( b->z ) b->z[b->n] = 0;
}

/* Append character c as UTF-8, XML-escaped when bXml. */
static void bufChar(HeatmapBuf *b, uint32_t c, int bXml){
  char z[4];
  int n;
  if( bXml ){
    switch( c ){
      case '&':  bufAppend(b, "&amp;", 5);  return;
      case '<':  bufAppend(b, "&lt;", 4);   return;
      case '>':  bufAppend(b, "&gt;", 4);   return;
      case '"':  bufAppend(b, "&quot;", 6); return;
      case '\'': bufAppend(b, "&#39;", 5);  return;
    }
  }
  if( c<0x80 ){
    z[0] = (char)c; n = 1;
  }else if( c<0x800 ){
    z[0] = (char)(0xC0|(c>>6)); z[1] = (char)(0x80|(c&0x3F)); n = 2;
  }else if( c<0x10000 ){
    z[0] = (char)(0xE0|(c>>12)); z[1] = (char)(0x80|((c>>6)&0x3F));
    z[2] = (char)(0x80|(c&0x3F)); n = 3;
  }else{
    z[0] = (char)(0xF0|(c>>18)); z[1] = (char)(0x80|((c>>12)&0x3F));
    z[2] = (char)(0x80|((c>>6)&0x3F)); z[3] = (char)(0x80|(c&0x3F)); n = 4;
  }
  bufAppend(b, z, (uint64_t)n);
}

/* Hand the buffer over as the result (*pz, *pn), or report its error. */
static int bufFinish(HeatmapBuf *b, char **pz, int64_t *pn, attn_err *pErr){
  if( b->rc==ATTN_OK && b->z==0 ) bufAppend(b, "", 0);
  if( b->rc ){
    attn_free(b->z);
    b->z = 0;
    if( b->rc==ATTN_NOMEM ) return attn_err_nomem(pErr);
    return attn_err_set(pErr, b->rc, "the picture would be more than %llu "
                        "bytes", (unsigned long long)ATTN_MAX_ALLOC);
  }
  *pz = b->z;
  *pn = (int64_t)b->n;
  b->z = 0;
  return ATTN_OK;
}

/*
** Numbers, in any locale.
*/

/* v rounded to 2 decimals, without trailing zeros, into z (32 bytes). */
static const char *heatmapCoord(double v, char *z){
  long long c = llround(v*100.0);
  const char *zSign = c<0 ? "-" : "";
  if( c<0 ) c = -c;
  if( c%100==0 ){
    snprintf(z, 32, "%s%lld", zSign, c/100);
  }else if( c%10==0 ){
    snprintf(z, 32, "%s%lld.%lld", zSign, c/100, (c%100)/10);
  }else{
    snprintf(z, 32, "%s%lld.%02lld", zSign, c/100, c%100);
  }
  return z;
}

/* w with nDigit significant digits (%g) into z (40 bytes). */
static const char *heatmapNum(double w, int nDigit, char *z){
  int i, n;
  if( w==0.0 ) w = 0.0;            /* no "-0" */
  n = snprintf(z, 40, "%.*g", nDigit, w);
  for(i=0; i<n; i++){
    if( z[i]==',' ) z[i] = '.';    /* a decimal-comma locale */
  }
  return z;
}

/*
** Labels: decoding, sanitising, measuring.
*/

/* Decode one UTF-8 character of z[0..n) (n>=1) into *pc and return its
** length in bytes.  A byte that does not start a valid, shortest-form
** sequence of a scalar value gives U+FFFD and a length of 1. */
static int heatmapUtf8(const unsigned char *z, int n, uint32_t *pc){
  int len = attn_utf8_decode(z, n, pc);
  return len ? len : 1;
}

/* The character drawn for character c of a label. */
static uint32_t heatmapShown(uint32_t c){
  if( c<0x20 ) return 0x2400 + c;             /* control pictures */
  if( c==0x7F ) return 0x2421;                 /* SYMBOL FOR DELETE */
  if( c>=0x80 && c<0xA0 ) return 0xFFFD;       /* C1 controls */
  if( (c>=0x202A && c<=0x202E) || (c>=0x2066 && c<=0x2069) ){
    return 0xFFFD;                             /* bidirectional overrides */
  }
  if( c==0xFFFE || c==0xFFFF ) return 0xFFFD;  /* not characters */
  return c;
}

/* Terminal columns of shown character c: 0 for combining marks and
** zero-width characters, 2 for East Asian wide characters and common
** emoji, else 1.  An approximation of wcwidth() that needs no locale. */
static int heatmapCols(uint32_t c){
  if( (c>=0x0300 && c<=0x036F) || (c>=0x200B && c<=0x200F)
   || (c>=0xFE00 && c<=0xFE0F) ){
    return 0;
  }
  if( (c>=0x1100 && c<=0x115F) || (c>=0x2E80 && c<=0xA4CF)
   || (c>=0xAC00 && c<=0xD7A3) || (c>=0xF900 && c<=0xFAFF)
   || (c>=0xFE30 && c<=0xFE4F) || (c>=0xFF00 && c<=0xFF60)
   || (c>=0xFFE0 && c<=0xFFE6) || (c>=0x1F300 && c<=0x1F64F)
   || (c>=0x1F900 && c<=0x1F9FF) || (c>=0x20000 && c<=0x3FFFD) ){
    return 2;
  }
  return 1;
}

/* Write label z[0..n) as shown, in at most mxCol columns (mxCol>=1): a
** label that is longer, or that was cut when stored (bCut), ends in "…".
** Writes to b (XML-escaped when bXml) or, when b is NULL, only measures.
** Returns the columns used. */
static int heatmapLabel(HeatmapBuf *b, const char *z, int n, int bCut,
                        int mxCol, int bXml){
  const unsigned char *u = (const unsigned char*)z;
  int i, nCol = 0, nFit;
  uint32_t c;
  for(i=0; i<n; ){
    i += heatmapUtf8(u+i, n-i, &c);
    nCol += heatmapCols(heatmapShown(c));
  }
  if( nCol<=mxCol && !bCut ){
    nFit = mxCol;                 /* everything fits */
  }else{
    nFit = mxCol-1;               /* keep room for the ellipsis */
  }
  nCol = 0;
  for(i=0; i<n; ){
    int w;
    i += heatmapUtf8(u+i, n-i, &c);
    c = heatmapShown(c);
    w = heatmapCols(c);
    if( nCol+w>nFit ) break;
    if( b ) bufChar(b, c, bXml);
    nCol += w;
  }
  if( nFit<mxCol ){
    if( b ) bufChar(b, 0x2026, bXml);
    nCol++;
  }
  return nCol;
}

/*
** The label store: the first label of each position, per axis.
*/
typedef struct HeatmapLabel HeatmapLabel;
struct HeatmapLabel {
  int64_t pos;          /* position */
  uint64_t iOff;        /* offset of the label's bytes in the pool */
  uint16_t nByte;       /* bytes kept, at most ATTN_HEATMAP_LABEL_BYTES */
  uint8_t bUsed;        /* this slot holds a label */
  uint8_t bCut;         /* the label was longer than what was kept */
};

typedef struct HeatmapLabels HeatmapLabels;
struct HeatmapLabels {
  HeatmapLabel *a;      /* nSlot slots (a power of two), or NULL */
  uint64_t nSlot;       /* slots allocated */
  uint64_t nUsed;       /* slots in use, at most half of them */
  HeatmapBuf pool;      /* the labels' bytes, one after another */
};

static uint64_t heatmapHash(int64_t pos){
  uint64_t h = (uint64_t)pos * 0x9E3779B97F4A7C15ull;
  return h ^ (h>>29);
}

/* The slot of pos: the one holding it, or the empty one it would take. */
static HeatmapLabel *labelsSlot(const HeatmapLabels *p, int64_t pos){
  uint64_t mask = p->nSlot-1;
  uint64_t i = heatmapHash(pos) & mask;
  while( p->a[i].bUsed && p->a[i].pos!=pos ) i = (i+1) & mask;
  return &p->a[i];
}

/* The label of pos, or NULL. */
static const HeatmapLabel *labelsFind(const HeatmapLabels *p, int64_t pos){
  const HeatmapLabel *pSlot;
  if( p->nSlot==0 ) return 0;
  pSlot = labelsSlot(p, pos);
  return pSlot->bUsed ? pSlot : 0;
}

static int labelsGrow(HeatmapLabels *p){
  uint64_t nNew = p->nSlot ? 2*p->nSlot : 64;
  uint64_t nByte, i;
  HeatmapLabels x = *p;
  if( attn_size_mul(nNew, sizeof(HeatmapLabel), &nByte) ) return ATTN_TOOBIG;
  x.a = attn_malloc_zero(nByte);
  if( x.a==0 ) return ATTN_NOMEM;
  x.nSlot = nNew;
  for(i=0; i<p->nSlot; i++){
    if( p->a[i].bUsed ) *labelsSlot(&x, p->a[i].pos) = p->a[i];
  }
  attn_free(p->a);
  p->a = x.a;
  p->nSlot = nNew;
  return ATTN_OK;
}

/* Keep z[0..n) as the label of pos unless pos has one already. */
static int labelsAdd(HeatmapLabels *p, int64_t pos, const char *z, int n){
  HeatmapLabel *pSlot;
  int nKeep = n, bCut = 0, rc;
  if( p->nSlot && labelsSlot(p, pos)->bUsed ) return ATTN_OK;
  if( 2*(p->nUsed+1)>p->nSlot && (rc = labelsGrow(p))!=ATTN_OK ) return rc;
  if( nKeep>ATTN_HEATMAP_LABEL_BYTES ){
    /* Cut before the character that straddles the limit. */
    int i;
    nKeep = ATTN_HEATMAP_LABEL_BYTES;
    for(i=0; i<3 && nKeep>0 && ((unsigned char)z[nKeep]&0xC0)==0x80; i++){
      nKeep--;
    }
    bCut = 1;
  }
  pSlot = labelsSlot(p, pos);
  pSlot->iOff = p->pool.n;
  bufAppend(&p->pool, z, (uint64_t)nKeep);
  if( p->pool.rc ) return p->pool.rc;
  pSlot->pos = pos;
  pSlot->nByte = (uint16_t)nKeep;
  pSlot->bCut = (uint8_t)bCut;
  pSlot->bUsed = 1;
  p->nUsed++;
  return ATTN_OK;
}

static void labelsFree(HeatmapLabels *p){
  attn_free(p->a);
  attn_free(p->pool.z);
  memset(p, 0, sizeof(*p));
}

/*
** The map: rows as they are added.
*/
typedef struct HeatmapRow HeatmapRow;
struct HeatmapRow {
  int64_t q, k;         /* query and key position */
  double w;             /* weight */
};

struct attn_heatmap {
  HeatmapRow *aRow;     /* rows added */
  int64_t nRow;         /* rows used */
  int64_t nAlloc;       /* rows allocated */
  int64_t nMaxRow;      /* limit on nRow */
  HeatmapLabels aLabel[2];   /* labels of query [0] and key [1] positions */
};

attn_heatmap *attn_heatmap_new(int64_t nMaxRow){
  attn_heatmap *p = attn_malloc_zero(sizeof(*p));
  if( p ) p->nMaxRow = nMaxRow<1 ? 1 : nMaxRow;
  return p;
}

void attn_heatmap_free(attn_heatmap *p){
  if( p ){
    attn_free(p->aRow);
    labelsFree(&p->aLabel[0]);
    labelsFree(&p->aLabel[1]);
    attn_free(p);
  }
}

int64_t attn_heatmap_count(const attn_heatmap *p){
  return p->nRow;
}

static int heatmapLabelError(int rc, attn_err *pErr){
  if( rc==ATTN_NOMEM ) return attn_err_nomem(pErr);
  return attn_err_set(pErr, rc, "the labels would need more than %llu bytes",
                      (unsigned long long)ATTN_MAX_ALLOC);
}

int attn_heatmap_add(attn_heatmap *p, int64_t q, int64_t k, double w,
                     const char *zQ, int nQ, const char *zK, int nK,
                     attn_err *pErr){
  int rc;
  if( !isfinite(w) ){
    return attn_err_set(pErr, ATTN_ERROR, "weight is %s, expected a finite "
        "number", isnan(w) ? "NaN" : (w>0 ? "Infinity" : "-Infinity"));
  }
  if( p->nRow>=p->nMaxRow ){
    return attn_err_set(pErr, ATTN_TOOBIG, "the map has more than %lld rows; "
        "draw fewer at a time (one head or sequence, or a range of "
        "positions)", (long long)p->nMaxRow);
  }
  if( p->nRow==p->nAlloc ){
    int64_t nNew = p->nAlloc ? 2*p->nAlloc : 256;
    uint64_t nByte;
    HeatmapRow *aNew;
    if( nNew>p->nMaxRow ) nNew = p->nMaxRow;
    if( attn_size_mul((uint64_t)nNew, sizeof(HeatmapRow), &nByte) ){
      return attn_err_set(pErr, ATTN_TOOBIG, "%lld rows would need more than "
          "%llu bytes", (long long)nNew, (unsigned long long)ATTN_MAX_ALLOC);
    }
    aNew = attn_malloc(nByte);
    if( aNew==0 ) return attn_err_nomem(pErr);
    if( p->nRow ) memcpy(aNew, p->aRow, sizeof(HeatmapRow)*(size_t)p->nRow);
    attn_free(p->aRow);
    p->aRow = aNew;
    p->nAlloc = nNew;
  }
  if( zQ && (rc = labelsAdd(&p->aLabel[0], q, zQ, nQ))!=ATTN_OK ){
    return heatmapLabelError(rc, pErr);
  }
  if( zK && (rc = labelsAdd(&p->aLabel[1], k, zK, nK))!=ATTN_OK ){
    return heatmapLabelError(rc, pErr);
  }
  p->aRow[p->nRow].q = q;
  p->aRow[p->nRow].k = k;
  p->aRow[p->nRow].w = w;
  p->nRow++;
  return ATTN_OK;
}

/*
** The grid: the rows averaged into bins, ready to draw.
*/
typedef struct HeatmapGrid HeatmapGrid;
struct HeatmapGrid {
  int64_t nPos[2];      /* distinct query [0] and key [1] positions */
  int64_t *aPos[2];     /* those positions, ascending */
  int64_t nPool[2];     /* positions per bin (1 unless the axis is pooled) */
  int64_t nBin[2];      /* bins: rows [0] and columns [1] of the picture */
  double *aVal;         /* nBin[0]*nBin[1] means, row-major; NaN if absent */
  int64_t nAbsent;      /* bins without a row */
  double wMin, wMax;    /* smallest and largest weight */
  double lo, hi;        /* ends of the colour scale */
};

static int heatmapRowCmp(const void *pA, const void *pB){
  const HeatmapRow *a = pA, *b = pB;
  if( a->q!=b->q ) return a->q<b->q ? -1 : 1;
  if( a->k!=b->k ) return a->k<b->k ? -1 : 1;
  return 0;
}

static int heatmapPosCmp(const void *pA, const void *pB){
  int64_t a = *(const int64_t*)pA, b = *(const int64_t*)pB;
  return a<b ? -1 : a>b;
}

/* Index of x in the ascending array a[0..n), which holds it. */
static int64_t heatmapIndex(const int64_t *a, int64_t n, int64_t x){
  int64_t lo = 0, hi = n-1;
  while( lo<hi ){
    int64_t mid = lo + (hi-lo)/2;
    if( a[mid]<x ) lo = mid+1; else hi = mid;
  }
  return lo;
}

static void gridFree(HeatmapGrid *g){
  attn_free(g->aPos[0]);
  attn_free(g->aPos[1]);
  attn_free(g->aVal);
  memset(g, 0, sizeof(*g));
}

/* Where v lies on the colour scale of g, from 0 to 1 (halving keeps hi-lo
** from overflowing; a NaN gives 0). */
static double gridScale(const HeatmapGrid *g, double v){
  double t = (v*0.5 - g->lo*0.5) / (g->hi*0.5 - g->lo*0.5);
  if( !(t>0.0) ) return 0.0;
  return t>1.0 ? 1.0 : t;
}

/* Build the grid of map p with at most nMax bins per axis. */
static int gridBuild(attn_heatmap *p, int64_t nMax, HeatmapGrid *g,
                     attn_err *pErr){
  HeatmapRow *a = p->aRow;
  int64_t n = p->nRow, i, nQ = 1, nK, iq, nCell;
  uint32_t *aCnt;
  uint64_t nByte;
  int e;

  memset(g, 0, sizeof(*g));
  qsort(a, (size_t)n, sizeof(a[0]), heatmapRowCmp);
  g->wMin = g->wMax = a[0].w;
  for(i=1; i<n; i++){
    if( a[i].q==a[i-1].q && a[i].k==a[i-1].k ){
      return attn_err_set(pErr, ATTN_ERROR, "query position %lld and key "
          "position %lld have more than one row: a map shows one head of "
          "one sequence (filter or group by head and sequence)",
          (long long)a[i].q, (long long)a[i].k);
    }
    if( a[i].q!=a[i-1].q ) nQ++;
    if( a[i].w<g->wMin ) g->wMin = a[i].w;
    if( a[i].w>g->wMax ) g->wMax = a[i].w;
  }
  g->lo = g->wMin<0.0 ? g->wMin : 0.0;
  g->hi = g->wMax>g->lo ? g->wMax : g->lo+1.0;

  /* The distinct positions: queries from the sorted rows, keys sorted. */
  g->aPos[0] = attn_malloc(sizeof(int64_t)*(uint64_t)nQ);
  g->aPos[1] = attn_malloc(sizeof(int64_t)*(uint64_t)n);
  if( g->aPos[0]==0 || g->aPos[1]==0 ) return attn_err_nomem(pErr);
  for(i=0, iq=0; i<n; i++){
    if( i==0 || a[i].q!=a[i-1].q ) g->aPos[0][iq++] = a[i].q;
    g->aPos[1][i] = a[i].k;
  }
  qsort(g->aPos[1], (size_t)n, sizeof(int64_t), heatmapPosCmp);
  for(i=1, nK=1; i<n; i++){
    if( g->aPos[1][i]!=g->aPos[1][nK-1] ) g->aPos[1][nK++] = g->aPos[1][i];
  }
  g->nPos[0] = nQ;
  g->nPos[1] = nK;
  for(e=0; e<2; e++){
    g->nPool[e] = (g->nPos[e] + nMax - 1)/nMax;
    g->nBin[e] = (g->nPos[e] + g->nPool[e] - 1)/g->nPool[e];
  }

  /* Average the rows into the bins. */
  nCell = g->nBin[0]*g->nBin[1];        /* at most nMax*nMax */
  if( attn_size_mul((uint64_t)nCell, sizeof(double), &nByte) ){
    return attn_err_set(pErr, ATTN_TOOBIG, "the picture would have %lld "
                        "cells", (long long)nCell);
  }
  g->aVal = attn_malloc_zero(nByte);
  aCnt = attn_malloc_zero(sizeof(uint32_t)*(uint64_t)nCell);
  if( g->aVal==0 || aCnt==0 ){
    attn_free(aCnt);
    return attn_err_nomem(pErr);
  }
  for(i=0, iq=0; i<n; i++){
    int64_t ik, c;
    if( i>0 && a[i].q!=a[i-1].q ) iq++;
    ik = heatmapIndex(g->aPos[1], nK, a[i].k);
    c = (iq/g->nPool[0])*g->nBin[1] + ik/g->nPool[1];
    g->aVal[c] += a[i].w;
    aCnt[c]++;
  }
  for(i=0; i<nCell; i++){
    if( aCnt[i]==0 ){
      g->aVal[i] = NAN;
      g->nAbsent++;
    }else{
      g->aVal[i] /= (double)aCnt[i];
    }
  }
  attn_free(aCnt);
  return ATTN_OK;
}

/* The text of bin i of axis e: the label of the bin's position if the axis
** is not pooled and the position has one, else the number of the bin's
** first position (written into zNum, 24 bytes). */
static void gridBinLabel(const attn_heatmap *p, const HeatmapGrid *g, int e,
                         int64_t i, char *zNum, const char **pz, int *pn,
                         int *pbCut){
  int64_t pos = g->aPos[e][i*g->nPool[e]];
  const HeatmapLabel *pLabel = 0;
  if( g->nPool[e]==1 ) pLabel = labelsFind(&p->aLabel[e], pos);
  if( pLabel ){
    *pz = p->aLabel[e].pool.z + pLabel->iOff;
    *pn = pLabel->nByte;
    *pbCut = pLabel->bCut;
  }else{
    *pn = snprintf(zNum, 24, "%lld", (long long)pos);
    *pz = zNum;
    *pbCut = 0;
  }
}

/* Columns of the widest label of axis e among every step-th bin. */
static int gridLabelCols(const attn_heatmap *p, const HeatmapGrid *g, int e,
                         int64_t step, int mxCol){
  int64_t i;
  int nCol, mx = 1;
  for(i=0; i<g->nBin[e]; i+=step){
    char zNum[24];
    const char *z;
    int n, bCut;
    gridBinLabel(p, g, e, i, zNum, &z, &n, &bCut);
    nCol = heatmapLabel(0, z, n, bCut, mxCol, 0);
    if( nCol>mx ) mx = nCol;
  }
  return mx;
}

static const char *heatmapPlural(int64_t n, const char *zOne,
                                 const char *zMany){
  return n==1 ? zOne : zMany;
}

/*
** The SVG writer.
*/
typedef struct SvgLayout SvgLayout;
struct SvgLayout {
  double sz[2];         /* cell height [0] and width [1] */
  double fLab[2];       /* font size of the query [0] and key [1] labels */
  int64_t step[2];      /* a label every step bins, per axis */
  double mapX, mapY;    /* top left corner of the map */
  double mapW, mapH;    /* size of the map */
  double keyY;          /* baseline of the "key" axis title */
  double legX, legH;    /* left of the legend, height of its colour bar */
  double W, H;          /* size of the picture */
  int bTips;            /* a tooltip per cell */
};

/* Average width of a character of DejaVu Sans and similar, in ems. */
#define SVG_EM_PER_COL 0.62

/* Cells are square, at most 48 px and together at most 720 px on the
** longer axis; an axis is stretched to 48 px when it would be thinner
** (a map of one query row stays legible).  Labels are 8 to 13 px; where
** cells are smaller than the labels, only every step-th bin is labelled. */
static void svgLayout(const attn_heatmap *p, const HeatmapGrid *g,
                      SvgLayout *L){
  int64_t nMaxBin = g->nBin[0]>g->nBin[1] ? g->nBin[0] : g->nBin[1];
  double s, wLab[2], wText;
  int e;
  s = 720.0/(double)nMaxBin;
  if( s>48.0 ) s = 48.0;
  for(e=0; e<2; e++){
    L->sz[e] = s;
    if( L->sz[e]*(double)g->nBin[e]<48.0 ) L->sz[e] = 48.0/(double)g->nBin[e];
    L->fLab[e] = L->sz[e]*0.6;
    if( L->fLab[e]<8.0 ) L->fLab[e] = 8.0;
    if( L->fLab[e]>13.0 ) L->fLab[e] = 13.0;
    L->step[e] = (int64_t)ceil(L->fLab[e]*1.3/L->sz[e]);
    wLab[e] = L->fLab[e]*SVG_EM_PER_COL
            * gridLabelCols(p, g, e, L->step[e], HEATMAP_SVG_LABEL_COLS);
  }
  L->mapX = floor(14.0 + 14.0 + 8.0 + wLab[0] + 6.0);
  L->mapY = 64.0;
  L->mapW = L->sz[1]*(double)g->nBin[1];
  L->mapH = L->sz[0]*(double)g->nBin[0];
  L->keyY = L->mapY + L->mapH + 6.0 + wLab[1] + 18.0;
  L->legX = floor(L->mapX + L->mapW + 24.0);
  L->legH = L->mapH<140.0 ? 140.0 : (L->mapH>320.0 ? 320.0 : L->mapH);
  L->W = L->legX + 124.0;
  /* Room for the title, "Attention weights: 99999 queries × 99999 keys",
  ** and the note on pooling. */
  wText = 14.0*SVG_EM_PER_COL*46.0 + 28.0;
  if( g->nPool[0]>1 || g->nPool[1]>1 ) wText = 11.0*SVG_EM_PER_COL*90.0 + 28.0;
  if( L->W<wText ) L->W = wText;
  L->H = L->keyY + 12.0;
  if( L->H<L->mapY + L->legH + 72.0 ) L->H = L->mapY + L->legH + 72.0;
  L->W = ceil(L->W);
  L->H = ceil(L->H);
  L->bTips = g->nBin[0]*g->nBin[1]<=ATTN_HEATMAP_TOOLTIP_MAX;
}

static void svgHeader(const HeatmapGrid *g, const SvgLayout *L,
                      HeatmapBuf *b){
  char zW[32], zH[32], zLo[40], zHi[40];
  int i;
  heatmapCoord(L->W, zW);
  heatmapCoord(L->H, zH);
  heatmapNum(g->lo, 3, zLo);
  heatmapNum(g->hi, 3, zHi);
  bufPrintf(b,
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
      "width=\"%s\" height=\"%s\" viewBox=\"0 0 %s %s\" "
      "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
      "font-size=\"11\" fill=\"#222222\">\n", zW, zH, zW, zH);
  bufPrintf(b, "<title>attention heatmap: %lld %s \xc3\x97 %lld %s</title>\n",
      (long long)g->nPos[0], heatmapPlural(g->nPos[0], "query", "queries"),
      (long long)g->nPos[1], heatmapPlural(g->nPos[1], "key", "keys"));
  bufPrintf(b, "<desc>One cell per (query, key) score row, coloured by "
      "weight on the viridis scale from %s (dark purple) to %s (yellow); "
      "cells without a score row are grey.</desc>\n", zLo, zHi);
  bufStr(b, "<defs><linearGradient id=\"attn-viridis\" "
            "x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">");
  for(i=0; i<=16; i++){
    bufPrintf(b, "<stop offset=\"%d%%\" stop-color=\"#%06x\"/>",
              (i*100)/16, (unsigned)aViridis[i<16 ? i*16 : 255]);
  }
  bufStr(b, "</linearGradient></defs>\n");
  bufPrintf(b, "<rect width=\"%s\" height=\"%s\" fill=\"" HEATMAP_BACKGROUND
               "\"/>\n", zW, zH);
  bufPrintf(b, "<text x=\"14\" y=\"24\" font-size=\"14\" font-weight=\"bold\">"
      "Attention weights: %lld %s \xc3\x97 %lld %s</text>\n",
      (long long)g->nPos[0], heatmapPlural(g->nPos[0], "query", "queries"),
      (long long)g->nPos[1], heatmapPlural(g->nPos[1], "key", "keys"));
  if( g->nPool[0]>1 || g->nPool[1]>1 ){
    bufPrintf(b, "<text class=\"pooled\" x=\"14\" y=\"42\" fill=\""
        HEATMAP_GREY_TEXT "\">downsampled from %lld\xc3\x97%lld by pooling "
        "%lld\xc3\x97%lld (each cell the mean of its block)</text>\n",
        (long long)g->nPos[0], (long long)g->nPos[1],
        (long long)g->nPool[0], (long long)g->nPool[1]);
  }
}

/* Append "query 3 “The”" or "query 3" for the tooltip of bin i of axis e. */
static void svgTipPart(const attn_heatmap *p, const HeatmapGrid *g, int e,
                       int64_t i, HeatmapBuf *b){
  int64_t pos = g->aPos[e][i];
  const HeatmapLabel *pLabel = labelsFind(&p->aLabel[e], pos);
  bufPrintf(b, "%s %lld", e==0 ? "query" : "key", (long long)pos);
  if( pLabel ){
    bufStr(b, " \xe2\x80\x9c");
    heatmapLabel(b, p->aLabel[e].pool.z + pLabel->iOff, pLabel->nByte,
                 pLabel->bCut, HEATMAP_TIP_LABEL_COLS, 1);
    bufStr(b, "\xe2\x80\x9d");
  }
}

static void svgCells(const attn_heatmap *p, const HeatmapGrid *g,
                     const SvgLayout *L, HeatmapBuf *b){
  char zX[32], zY[32], zW[32], zH[32], zSx[40], zSy[40], zV[40];
  int64_t i, j;
  heatmapCoord(L->mapX, zX);
  heatmapCoord(L->mapY, zY);
  bufPrintf(b, "<rect class=\"absent\" x=\"%s\" y=\"%s\" width=\"%s\" "
      "height=\"%s\" fill=\"" HEATMAP_ABSENT "\"/>\n", zX, zY,
      heatmapCoord(L->mapW, zW), heatmapCoord(L->mapH, zH));
  /* Cells are unit squares, scaled; 6 significant digits keep the last
  ** one within 0.01 px of the edge of the map. */
  bufPrintf(b, "<g class=\"cells\" transform=\"translate(%s,%s) "
      "scale(%s,%s)\" shape-rendering=\"crispEdges\">\n", zX, zY,
      heatmapNum(L->sz[1], 6, zSx), heatmapNum(L->sz[0], 6, zSy));
  for(i=0; i<g->nBin[0]; i++){
    for(j=0; j<g->nBin[1]; j++){
      double v = g->aVal[i*g->nBin[1] + j];
      int iColour;
      if( isnan(v) ) continue;
      iColour = (int)(gridScale(g, v)*256.0);
      if( iColour>255 ) iColour = 255;
      bufPrintf(b, "<rect x=\"%lld\" y=\"%lld\" width=\"1\" height=\"1\" "
          "fill=\"#%06x\"", (long long)j, (long long)i,
          (unsigned)aViridis[iColour]);
      if( L->bTips ){
        bufStr(b, "><title>");
        svgTipPart(p, g, 0, i, b);
        bufStr(b, ", ");
        svgTipPart(p, g, 1, j, b);
        bufPrintf(b, ": %s</title></rect>\n", heatmapNum(v, 4, zV));
      }else{
        bufStr(b, "/>\n");
      }
    }
  }
  bufStr(b, "</g>\n");
}

static void svgAxes(const attn_heatmap *p, const HeatmapGrid *g,
                    const SvgLayout *L, HeatmapBuf *b){
  char zX[32], zY[32], zF[32];
  int64_t i;
  bufPrintf(b, "<g class=\"qlabels\" text-anchor=\"end\" font-size=\"%s\">\n",
            heatmapCoord(L->fLab[0], zF));
  for(i=0; i<g->nBin[0]; i+=L->step[0]){
    char zNum[24];
    const char *z;
    int n, bCut;
    gridBinLabel(p, g, 0, i, zNum, &z, &n, &bCut);
    bufPrintf(b, "<text x=\"%s\" y=\"%s\" dy=\"0.35em\">",
              heatmapCoord(L->mapX - 6.0, zX),
              heatmapCoord(L->mapY + ((double)i+0.5)*L->sz[0], zY));
    heatmapLabel(b, z, n, bCut, HEATMAP_SVG_LABEL_COLS, 1);
    bufStr(b, "</text>\n");
  }
  bufStr(b, "</g>\n");
  bufPrintf(b, "<g class=\"klabels\" text-anchor=\"end\" font-size=\"%s\">\n",
            heatmapCoord(L->fLab[1], zF));
  for(i=0; i<g->nBin[1]; i+=L->step[1]){
    char zNum[24];
    const char *z;
    int n, bCut;
    gridBinLabel(p, g, 1, i, zNum, &z, &n, &bCut);
    bufPrintf(b, "<text transform=\"translate(%s,%s) rotate(-90)\" "
              "dy=\"0.35em\">",
              heatmapCoord(L->mapX + ((double)i+0.5)*L->sz[1], zX),
              heatmapCoord(L->mapY + L->mapH + 6.0, zY));
    heatmapLabel(b, z, n, bCut, HEATMAP_SVG_LABEL_COLS, 1);
    bufStr(b, "</text>\n");
  }
  bufStr(b, "</g>\n");
  heatmapCoord(L->mapY + L->mapH/2.0, zY);
  bufPrintf(b, "<text x=\"24\" y=\"%s\" text-anchor=\"middle\" fill=\""
      HEATMAP_GREY_TEXT "\" transform=\"rotate(-90 24 %s)\">query</text>\n",
      zY, zY);
  bufPrintf(b, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\" fill=\""
      HEATMAP_GREY_TEXT "\">key</text>\n",
      heatmapCoord(L->mapX + L->mapW/2.0, zX), heatmapCoord(L->keyY, zY));
}

static void svgLegend(const HeatmapGrid *g, const SvgLayout *L,
                      HeatmapBuf *b){
  char zX[32], zY[32], zH[32], zN[40];
  double y = L->legH;
  bufPrintf(b, "<g class=\"legend\" transform=\"translate(%s,%s)\">\n",
            heatmapCoord(L->legX, zX), heatmapCoord(L->mapY, zY));
  bufStr(b, "<text x=\"0\" y=\"-8\" font-weight=\"bold\">weight</text>\n");
  bufPrintf(b, "<rect width=\"14\" height=\"%s\" fill=\"url(#attn-viridis)\" "
            "stroke=\"#888888\" stroke-width=\"0.5\"/>\n",
            heatmapCoord(L->legH, zH));
  bufPrintf(b, "<text x=\"20\" y=\"0\" dy=\"0.8em\">%s</text>\n",
            heatmapNum(g->hi, 3, zN));
  bufPrintf(b, "<text x=\"20\" y=\"%s\">%s</text>\n", zH,
            heatmapNum(g->lo, 3, zN));
  bufPrintf(b, "<text x=\"0\" y=\"%s\">min %s</text>\n",
            heatmapCoord(y + 20.0, zY), heatmapNum(g->wMin, 4, zN));
  bufPrintf(b, "<text x=\"0\" y=\"%s\">max %s</text>\n",
            heatmapCoord(y + 36.0, zY), heatmapNum(g->wMax, 4, zN));
  if( g->nAbsent>0 ){
    bufPrintf(b, "<rect x=\"0\" y=\"%s\" width=\"14\" height=\"14\" fill=\""
        HEATMAP_ABSENT "\" stroke=\"#888888\" stroke-width=\"0.5\"/>\n",
        heatmapCoord(y + 46.0, zY));
    bufPrintf(b, "<text x=\"20\" y=\"%s\">no score row</text>\n",
              heatmapCoord(y + 57.0, zY));
  }
  bufStr(b, "</g>\n");
}

int attn_heatmap_svg(attn_heatmap *p, char **pz, int64_t *pn, attn_err *pErr){
  HeatmapGrid g;
  HeatmapBuf b;
  SvgLayout L;
  int rc;
  memset(&b, 0, sizeof(b));
  rc = gridBuild(p, ATTN_HEATMAP_SVG_MAX, &g, pErr);
  if( rc==ATTN_OK ){
    svgLayout(p, &g, &L);
    svgHeader(&g, &L, &b);
    svgCells(p, &g, &L, &b);
    svgAxes(p, &g, &L, &b);
    svgLegend(&g, &L, &b);
    bufStr(&b, "</svg>\n");
    rc = bufFinish(&b, pz, pn, pErr);
  }
  gridFree(&g);
  return rc;
}

/*
** The text writer.
*/

/* The shades of a text cell, two columns wide, by quarter of the scale. */
static const char *const azShade[5] = {
  "  ", "\xe2\x96\x91\xe2\x96\x91", "\xe2\x96\x92\xe2\x96\x92",
  "\xe2\x96\x93\xe2\x96\x93", "\xe2\x96\x88\xe2\x96\x88"
};
#define TEXT_ABSENT "\xc2\xb7 "     /* "· " */

/* Character j of label z[0..n) written downwards (zero-width characters
** skipped; the last of HEATMAP_TEXT_HEAD_CHARS is "…" when the label is
** longer).  Returns 0 when the label has no character j. */
static int textHeadChar(const char *z, int n, int bCut, int j, uint32_t *pc){
  const unsigned char *u = (const unsigned char*)z;
  int i, iChar = 0, nChar = 0;
  uint32_t c;
  for(i=0; i<n; ){
    i += heatmapUtf8(u+i, n-i, &c);
    if( heatmapCols(heatmapShown(c))>0 ) nChar++;
  }
  if( (nChar>HEATMAP_TEXT_HEAD_CHARS || bCut)
   && j>=HEATMAP_TEXT_HEAD_CHARS-1 ){
    *pc = 0x2026;
    return j==HEATMAP_TEXT_HEAD_CHARS-1;
  }
  for(i=0; i<n; ){
    i += heatmapUtf8(u+i, n-i, &c);
    c = heatmapShown(c);
    if( heatmapCols(c)==0 ) continue;
    if( iChar++==j ){
      *pc = c;
      return 1;
    }
  }
  return 0;
}

static void textWrite(const attn_heatmap *p, const HeatmapGrid *g,
                      HeatmapBuf *b){
  int64_t i, j;
  int wRow, nHead = 0, line;
  char zLo[40], zHi[40];
  wRow = gridLabelCols(p, g, 0, 1, HEATMAP_TEXT_LABEL_COLS);

  /* Key labels, written downwards, one line per character. */
  for(j=0; j<g->nBin[1]; j++){
    char zNum[24];
    const char *z;
    int n, bCut;
    uint32_t c;
    gridBinLabel(p, g, 1, j, zNum, &z, &n, &bCut);
    while( nHead<HEATMAP_TEXT_HEAD_CHARS
        && textHeadChar(z, n, bCut, nHead, &c) ) nHead++;
  }
  for(line=0; line<nHead; line++){
    uint64_t iStart = b->n;
    bufPrintf(b, "%*s", wRow+1, "");
    for(j=0; j<g->nBin[1]; j++){
      char zNum[24];
      const char *z;
      int n, bCut;
      uint32_t c;
      gridBinLabel(p, g, 1, j, zNum, &z, &n, &bCut);
      if( textHeadChar(z, n, bCut, line, &c) ){
        bufChar(b, c, 0);
        if( heatmapCols(c)<2 ) bufStr(b, " ");
      }else{
        bufStr(b, "  ");
      }
    }
    bufTrimSpaces(b, iStart);
    bufStr(b, "\n");
  }

  /* One line per query bin: its label, then its cells. */
  for(i=0; i<g->nBin[0]; i++){
    uint64_t iStart = b->n;
    char zNum[24];
    const char *z;
    int n, bCut, nCol;
    gridBinLabel(p, g, 0, i, zNum, &z, &n, &bCut);
    nCol = heatmapLabel(b, z, n, bCut, HEATMAP_TEXT_LABEL_COLS, 0);
    bufPrintf(b, "%*s", wRow - nCol + 1, "");
    for(j=0; j<g->nBin[1]; j++){
      double v = g->aVal[i*g->nBin[1] + j];
      if( isnan(v) ){
        bufStr(b, TEXT_ABSENT);
      }else{
        double t = gridScale(g, v);
        int iShade = t<=0.0 ? 0 : 1 + (int)(t*4.0);
        bufStr(b, azShade[iShade>4 ? 4 : iShade]);
      }
    }
    bufTrimSpaces(b, iStart);
    bufStr(b, "\n");
  }

  /* The key to the shades: "0 ░▒▓█ 0.5 (quarters; · = no score row)". */
  bufPrintf(b, "%s \xe2\x96\x91\xe2\x96\x92\xe2\x96\x93\xe2\x96\x88 %s "
      "(quarters%s)", heatmapNum(g->lo, 3, zLo), heatmapNum(g->hi, 3, zHi),
      g->nAbsent>0 ? "; \xc2\xb7 = no score row" : "");
  if( g->nPool[0]>1 || g->nPool[1]>1 ){
    bufPrintf(b, "\ndownsampled from %lld\xc3\x97%lld by pooling "
        "%lld\xc3\x97%lld", (long long)g->nPos[0], (long long)g->nPos[1],
        (long long)g->nPool[0], (long long)g->nPool[1]);
  }
}

int attn_heatmap_text(attn_heatmap *p, char **pz, int64_t *pn,
                      attn_err *pErr){
  HeatmapGrid g;
  HeatmapBuf b;
  int rc;
  memset(&b, 0, sizeof(b));
  rc = gridBuild(p, ATTN_HEATMAP_TEXT_MAX, &g, pErr);
  if( rc==ATTN_OK ){
    textWrite(p, &g, &b);
    rc = bufFinish(&b, pz, pn, pErr);
  }
  gridFree(&g);
  return rc;
}

/*
** attn_bar()
*/
int attn_bar(double w, int nWidth, char *z){
  /* U+258F LEFT ONE EIGHTH BLOCK ... U+2589 LEFT SEVEN EIGHTHS BLOCK. */
  static const char *const azEighth[8] = { "",
    "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d", "\xe2\x96\x8c",
    "\xe2\x96\x8b", "\xe2\x96\x8a", "\xe2\x96\x89"
  };
  int i, n8, n = 0;
  if( !(w>0.0) ) w = 0.0;
  if( w>1.0 ) w = 1.0;
  n8 = (int)floor(w*(double)nWidth*8.0 + 0.5);
  for(i=0; i<n8/8; i++){
    memcpy(z+n, "\xe2\x96\x88", 3);      /* U+2588 FULL BLOCK */
    n += 3;
  }
  memcpy(z+n, azEighth[n8%8], strlen(azEighth[n8%8]));
  n += (int)strlen(azEighth[n8%8]);
  z[n] = 0;
  return n;
}
