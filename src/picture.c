/*
** picture.c: what the pictures of attention share (see picture.h): the
** output buffer, numbers in any locale, the label sanitiser and escapes,
** the label store, the pooling rule and the viridis colour scale.
*/
#include "picture.h"
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
** has colour attn_viridis[min(255, floor(256*t))], as matplotlib maps it. */
const uint32_t attn_viridis[256] = {
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

/*
** The output buffer.
*/
void attn_pbuf_append(attn_pbuf *b, const char *z, uint64_t n){
  uint64_t nNeed;
  if( b->rc ) return;
  if( attn_size_add(b->n, n, &nNeed) || attn_size_add(nNeed, 1, &nNeed) ){
    b->rc = ATTN_TOOBIG;
    return;
  }
  if( b->bMeasure ){
    b->n += n;
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

void attn_pbuf_str(attn_pbuf *b, const char *z){
  attn_pbuf_append(b, z, strlen(z));
}

void attn_pbuf_printf(attn_pbuf *b, const char *zFmt, ...){
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
  attn_pbuf_append(b, z, (uint64_t)n);
  if( z!=zLocal ) attn_free(z);
}

void attn_pbuf_trim(attn_pbuf *b, uint64_t iStart){
  if( b->rc || b->bMeasure ) return;
  while( b->n>iStart && b->z[b->n-1]==' ' ) b->n--;
  if( b->z ) b->z[b->n] = 0;
}

/* Append character c as UTF-8, escaped as eEsc (see picture.h). */
void attn_pbuf_char(attn_pbuf *b, uint32_t c, int eEsc){
  char z[8];
  int n;
  if( eEsc==ATTN_PIC_XML ){
    switch( c ){
      case '&':  attn_pbuf_append(b, "&amp;", 5);  return;
      case '<':  attn_pbuf_append(b, "&lt;", 4);   return;
      case '>':  attn_pbuf_append(b, "&gt;", 4);   return;
      case '"':  attn_pbuf_append(b, "&quot;", 6); return;
      case '\'':  attn_pbuf_append(b, "&#39;", 5);  return;
    }
  }else if( eEsc==ATTN_PIC_JSON ){
    if( c=='"' || c=='\\' ){
      z[0] = '\\'; z[1] = (char)c;
      attn_pbuf_append(b, z, 2);
      return;
    }
    if( c<0x20 || c=='<' || c=='>' || c=='&' || c==0x2028 || c==0x2029 ){
      attn_pbuf_printf(b, "\\u%04x", (unsigned)c);
      return;
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
  attn_pbuf_append(b, z, (uint64_t)n);
}

int attn_pbuf_finish(attn_pbuf *b, char **pz, int64_t *pn, attn_err *pErr){
  if( b->rc==ATTN_OK && b->z==0 ) attn_pbuf_append(b, "", 0);
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
const char *attn_pic_coord(double v, char *z){
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
const char *attn_pic_num(double w, int nDigit, char *z){
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
int attn_pic_utf8(const unsigned char *z, int n, uint32_t *pc){
  int len = attn_utf8_decode(z, n, pc);
  return len ? len : 1;
}

/* The character drawn for character c of a label. */
uint32_t attn_pic_shown(uint32_t c){
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
int attn_pic_cols(uint32_t c){
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

int attn_pic_label(attn_pbuf *b, const char *z, int n, int bCut,
                        int mxCol, int eEsc){
  const unsigned char *u = (const unsigned char*)z;
  int i, nCol = 0, nFit;
  uint32_t c;
  for(i=0; i<n; ){
    i += attn_pic_utf8(u+i, n-i, &c);
    nCol += attn_pic_cols(attn_pic_shown(c));
  }
  if( nCol<=mxCol && !bCut ){
    nFit = mxCol;                 /* everything fits */
  }else{
    nFit = mxCol-1;               /* keep room for the ellipsis */
  }
  nCol = 0;
  for(i=0; i<n; ){
    int w;
    i += attn_pic_utf8(u+i, n-i, &c);
    c = attn_pic_shown(c);
    w = attn_pic_cols(c);
    if( nCol+w>nFit ) break;
    if( b ) attn_pbuf_char(b, c, eEsc);
    nCol += w;
  }
  if( nFit<mxCol ){
    if( b ) attn_pbuf_char(b, 0x2026, eEsc);
    nCol++;
  }
  return nCol;
}

/*
** The label store: the first label of each position, per axis.
*/
static uint64_t heatmapHash(int64_t pos){
  uint64_t h = (uint64_t)pos * 0x9E3779B97F4A7C15ull;
  return h ^ (h>>29);
}

/* The slot of pos: the one holding it, or the empty one it would take. */
static attn_label *labelsSlot(const attn_labels *p, int64_t pos){
  uint64_t mask = p->nSlot-1;
  uint64_t i = heatmapHash(pos) & mask;
  while( p->a[i].bUsed && p->a[i].pos!=pos ) i = (i+1) & mask;
  return &p->a[i];
}

/* The label of pos, or NULL. */
const attn_label *attn_labels_find(const attn_labels *p, int64_t pos){
  const attn_label *pSlot;
  if( p->nSlot==0 ) return 0;
  pSlot = labelsSlot(p, pos);
  return pSlot->bUsed ? pSlot : 0;
}

static int labelsGrow(attn_labels *p){
  uint64_t nNew = p->nSlot ? 2*p->nSlot : 64;
  uint64_t nByte, i;
  attn_labels x = *p;
  if( attn_size_mul(nNew, sizeof(attn_label), &nByte) ) return ATTN_TOOBIG;
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

int attn_labels_add(attn_labels *p, int64_t pos, const char *z, int n){
  attn_label *pSlot;
  int nKeep = n, bCut = 0, rc;
  if( p->nSlot && labelsSlot(p, pos)->bUsed ) return ATTN_OK;
  if( 2*(p->nUsed+1)>p->nSlot && (rc = labelsGrow(p))!=ATTN_OK ) return rc;
  if( nKeep>ATTN_PIC_LABEL_BYTES ){
    /* Cut before the character that straddles the limit. */
    int i;
    nKeep = ATTN_PIC_LABEL_BYTES;
    for(i=0; i<3 && nKeep>0 && ((unsigned char)z[nKeep]&0xC0)==0x80; i++){
      nKeep--;
    }
    bCut = 1;
  }
  pSlot = labelsSlot(p, pos);
  pSlot->iOff = p->pool.n;
  attn_pbuf_append(&p->pool, z, (uint64_t)nKeep);
  if( p->pool.rc ) return p->pool.rc;
  pSlot->pos = pos;
  pSlot->nByte = (uint16_t)nKeep;
  pSlot->bCut = (uint8_t)bCut;
  pSlot->bUsed = 1;
  p->nUsed++;
  return ATTN_OK;
}

void attn_labels_free(attn_labels *p){
  attn_free(p->a);
  attn_free(p->pool.z);
  memset(p, 0, sizeof(*p));
}

int attn_labels_error(int rc, attn_err *pErr){
  if( rc==ATTN_NOMEM ) return attn_err_nomem(pErr);
  return attn_err_set(pErr, rc, "the labels would need more than %llu bytes",
                      (unsigned long long)ATTN_MAX_ALLOC);
}

/*
** Pooling and colours.
*/
void attn_pic_pool(int64_t nPos, int64_t nMax, int64_t *pnPool,
                   int64_t *pnBin){
  *pnPool = (nPos + nMax - 1)/nMax;
  *pnBin = (nPos + *pnPool - 1)/(*pnPool);
}

void attn_pic_range(double wMin, double wMax, double *pLo, double *pHi){
  *pLo = wMin<0.0 ? wMin : 0.0;
  *pHi = wMax>*pLo ? wMax : *pLo+1.0;
}

/* Halving keeps hi-lo from overflowing. */
double attn_pic_scale(double lo, double hi, double v){
  double t = (v*0.5 - lo*0.5) / (hi*0.5 - lo*0.5);
  if( !(t>0.0) ) return 0.0;
  return t>1.0 ? 1.0 : t;
}

int attn_pic_colour(double t){
  int i = (int)(t*256.0);
  return i>255 ? 255 : (i<0 ? 0 : i);
}

int attn_pic_pos_cmp(const void *pA, const void *pB){
  int64_t a = *(const int64_t*)pA, b = *(const int64_t*)pB;
  return a<b ? -1 : a>b;
}

int64_t attn_pic_find(const int64_t *a, int64_t n, int64_t x){
  int64_t lo = 0, hi = n-1;
  while( lo<hi ){
    int64_t mid = lo + (hi-lo)/2;
    if( a[mid]<x ) lo = mid+1; else hi = mid;
  }
  return lo;
}
