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
** What the pictures share is in picture.c: the output buffer (attn_pbuf,
** whose first error sticks, so the writers append without checking each
** call), numbers in any locale, the label store, the label sanitiser (the
** SVG writer XML-escapes what it shows), the pooling rule and the viridis
** scale.
*/
#include "heatmap.h"
#include "picture.h"
#include "alloc.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Colours of the page and of secondary text (absent cells: picture.h). */
#define HEATMAP_BACKGROUND "#ffffff"
#define HEATMAP_GREY_TEXT  "#555555"

/* Display columns of labels: SVG axes, SVG tooltips, text rows. */
#define HEATMAP_SVG_LABEL_COLS  20
#define HEATMAP_TIP_LABEL_COLS  40
#define HEATMAP_TEXT_LABEL_COLS 16
/* Characters of the vertical key labels of the text map. */
#define HEATMAP_TEXT_HEAD_CHARS  8


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
  attn_labels aLabel[2];   /* labels of query [0] and key [1] positions */
};

attn_heatmap *attn_heatmap_new(int64_t nMaxRow){
  attn_heatmap *p = attn_malloc_zero(sizeof(*p));
  if( p ) p->nMaxRow = nMaxRow<1 ? 1 : nMaxRow;
  return p;
}

void attn_heatmap_free(attn_heatmap *p){
  if( p ){
    attn_free(p->aRow);
    attn_labels_free(&p->aLabel[0]);
    attn_labels_free(&p->aLabel[1]);
    attn_free(p);
  }
}

int64_t attn_heatmap_count(const attn_heatmap *p){
  return p->nRow;
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
  if( zQ && (rc = attn_labels_add(&p->aLabel[0], q, zQ, nQ))!=ATTN_OK ){
    return attn_labels_error(rc, pErr);
  }
  if( zK && (rc = attn_labels_add(&p->aLabel[1], k, zK, nK))!=ATTN_OK ){
    return attn_labels_error(rc, pErr);
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

static void gridFree(HeatmapGrid *g){
  attn_free(g->aPos[0]);
  attn_free(g->aPos[1]);
  attn_free(g->aVal);
  memset(g, 0, sizeof(*g));
}

/* Where v lies on the colour scale of g, from 0 to 1. */
static double gridScale(const HeatmapGrid *g, double v){
  return attn_pic_scale(g->lo, g->hi, v);
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
  attn_pic_range(g->wMin, g->wMax, &g->lo, &g->hi);

  /* The distinct positions: queries from the sorted rows, keys sorted. */
  g->aPos[0] = attn_malloc(sizeof(int64_t)*(uint64_t)nQ);
  g->aPos[1] = attn_malloc(sizeof(int64_t)*(uint64_t)n);
  if( g->aPos[0]==0 || g->aPos[1]==0 ) return attn_err_nomem(pErr);
  for(i=0, iq=0; i<n; i++){
    if( i==0 || a[i].q!=a[i-1].q ) g->aPos[0][iq++] = a[i].q;
    g->aPos[1][i] = a[i].k;
  }
  qsort(g->aPos[1], (size_t)n, sizeof(int64_t), attn_pic_pos_cmp);
  for(i=1, nK=1; i<n; i++){
    if( g->aPos[1][i]!=g->aPos[1][nK-1] ) g->aPos[1][nK++] = g->aPos[1][i];
  }
  g->nPos[0] = nQ;
  g->nPos[1] = nK;
  for(e=0; e<2; e++){
    attn_pic_pool(g->nPos[e], nMax, &g->nPool[e], &g->nBin[e]);
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
    ik = attn_pic_find(g->aPos[1], nK, a[i].k);
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
  const attn_label *pLabel = 0;
  if( g->nPool[e]==1 ) pLabel = attn_labels_find(&p->aLabel[e], pos);
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
    nCol = attn_pic_label(0, z, n, bCut, mxCol, 0);
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
                      attn_pbuf *b){
  char zW[32], zH[32], zLo[40], zHi[40];
  int i;
  attn_pic_coord(L->W, zW);
  attn_pic_coord(L->H, zH);
  attn_pic_num(g->lo, 3, zLo);
  attn_pic_num(g->hi, 3, zHi);
  attn_pbuf_printf(b,
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
      "width=\"%s\" height=\"%s\" viewBox=\"0 0 %s %s\" "
      "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
      "font-size=\"11\" fill=\"#222222\">\n", zW, zH, zW, zH);
  attn_pbuf_printf(b, "<title>attention heatmap: %lld %s \xc3\x97 %lld %s</title>\n",
      (long long)g->nPos[0], heatmapPlural(g->nPos[0], "query", "queries"),
      (long long)g->nPos[1], heatmapPlural(g->nPos[1], "key", "keys"));
  attn_pbuf_printf(b, "<desc>One cell per (query, key) score row, coloured by "
      "weight on the viridis scale from %s (dark purple) to %s (yellow); "
      "cells without a score row are grey.</desc>\n", zLo, zHi);
  attn_pbuf_str(b, "<defs><linearGradient id=\"attn-viridis\" "
            "x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">");
  for(i=0; i<=16; i++){
    attn_pbuf_printf(b, "<stop offset=\"%d%%\" stop-color=\"#%06x\"/>",
              (i*100)/16, (unsigned)attn_viridis[i<16 ? i*16 : 255]);
  }
  attn_pbuf_str(b, "</linearGradient></defs>\n");
  attn_pbuf_printf(b, "<rect width=\"%s\" height=\"%s\" fill=\"" HEATMAP_BACKGROUND
               "\"/>\n", zW, zH);
  attn_pbuf_printf(b, "<text x=\"14\" y=\"24\" font-size=\"14\" font-weight=\"bold\">"
      "Attention weights: %lld %s \xc3\x97 %lld %s</text>\n",
      (long long)g->nPos[0], heatmapPlural(g->nPos[0], "query", "queries"),
      (long long)g->nPos[1], heatmapPlural(g->nPos[1], "key", "keys"));
  if( g->nPool[0]>1 || g->nPool[1]>1 ){
    attn_pbuf_printf(b, "<text class=\"pooled\" x=\"14\" y=\"42\" fill=\""
        HEATMAP_GREY_TEXT "\">downsampled from %lld\xc3\x97%lld by pooling "
        "%lld\xc3\x97%lld (each cell the mean of its block)</text>\n",
        (long long)g->nPos[0], (long long)g->nPos[1],
        (long long)g->nPool[0], (long long)g->nPool[1]);
  }
}

/* Append "query 3 “The”" or "query 3" for the tooltip of bin i of axis e. */
static void svgTipPart(const attn_heatmap *p, const HeatmapGrid *g, int e,
                       int64_t i, attn_pbuf *b){
  int64_t pos = g->aPos[e][i];
  const attn_label *pLabel = attn_labels_find(&p->aLabel[e], pos);
  attn_pbuf_printf(b, "%s %lld", e==0 ? "query" : "key", (long long)pos);
  if( pLabel ){
    attn_pbuf_str(b, " \xe2\x80\x9c");
    attn_pic_label(b, p->aLabel[e].pool.z + pLabel->iOff, pLabel->nByte,
                 pLabel->bCut, HEATMAP_TIP_LABEL_COLS, 1);
    attn_pbuf_str(b, "\xe2\x80\x9d");
  }
}

static void svgCells(const attn_heatmap *p, const HeatmapGrid *g,
                     const SvgLayout *L, attn_pbuf *b){
  char zX[32], zY[32], zW[32], zH[32], zSx[40], zSy[40], zV[40];
  int64_t i, j;
  attn_pic_coord(L->mapX, zX);
  attn_pic_coord(L->mapY, zY);
  attn_pbuf_printf(b, "<rect class=\"absent\" x=\"%s\" y=\"%s\" width=\"%s\" "
      "height=\"%s\" fill=\"" ATTN_PIC_ABSENT "\"/>\n", zX, zY,
      attn_pic_coord(L->mapW, zW), attn_pic_coord(L->mapH, zH));
  /* Cells are unit squares, scaled; 6 significant digits keep the last
  ** one within 0.01 px of the edge of the map. */
  attn_pbuf_printf(b, "<g class=\"cells\" transform=\"translate(%s,%s) "
      "scale(%s,%s)\" shape-rendering=\"crispEdges\">\n", zX, zY,
      attn_pic_num(L->sz[1], 6, zSx), attn_pic_num(L->sz[0], 6, zSy));
  for(i=0; i<g->nBin[0]; i++){
    for(j=0; j<g->nBin[1]; j++){
      double v = g->aVal[i*g->nBin[1] + j];
      int iColour;
      if( isnan(v) ) continue;
      iColour = attn_pic_colour(gridScale(g, v));
      attn_pbuf_printf(b, "<rect x=\"%lld\" y=\"%lld\" width=\"1\" height=\"1\" "
          "fill=\"#%06x\"", (long long)j, (long long)i,
          (unsigned)attn_viridis[iColour]);
      if( L->bTips ){
        attn_pbuf_str(b, "><title>");
        svgTipPart(p, g, 0, i, b);
        attn_pbuf_str(b, ", ");
        svgTipPart(p, g, 1, j, b);
        attn_pbuf_printf(b, ": %s</title></rect>\n", attn_pic_num(v, 4, zV));
      }else{
        attn_pbuf_str(b, "/>\n");
      }
    }
  }
  attn_pbuf_str(b, "</g>\n");
}

static void svgAxes(const attn_heatmap *p, const HeatmapGrid *g,
                    const SvgLayout *L, attn_pbuf *b){
  char zX[32], zY[32], zF[32];
  int64_t i;
  attn_pbuf_printf(b, "<g class=\"qlabels\" text-anchor=\"end\" font-size=\"%s\">\n",
            attn_pic_coord(L->fLab[0], zF));
  for(i=0; i<g->nBin[0]; i+=L->step[0]){
    char zNum[24];
    const char *z;
    int n, bCut;
    gridBinLabel(p, g, 0, i, zNum, &z, &n, &bCut);
    attn_pbuf_printf(b, "<text x=\"%s\" y=\"%s\" dy=\"0.35em\">",
              attn_pic_coord(L->mapX - 6.0, zX),
              attn_pic_coord(L->mapY + ((double)i+0.5)*L->sz[0], zY));
    attn_pic_label(b, z, n, bCut, HEATMAP_SVG_LABEL_COLS, 1);
    attn_pbuf_str(b, "</text>\n");
  }
  attn_pbuf_str(b, "</g>\n");
  attn_pbuf_printf(b, "<g class=\"klabels\" text-anchor=\"end\" font-size=\"%s\">\n",
            attn_pic_coord(L->fLab[1], zF));
  for(i=0; i<g->nBin[1]; i+=L->step[1]){
    char zNum[24];
    const char *z;
    int n, bCut;
    gridBinLabel(p, g, 1, i, zNum, &z, &n, &bCut);
    attn_pbuf_printf(b, "<text transform=\"translate(%s,%s) rotate(-90)\" "
              "dy=\"0.35em\">",
              attn_pic_coord(L->mapX + ((double)i+0.5)*L->sz[1], zX),
              attn_pic_coord(L->mapY + L->mapH + 6.0, zY));
    attn_pic_label(b, z, n, bCut, HEATMAP_SVG_LABEL_COLS, 1);
    attn_pbuf_str(b, "</text>\n");
  }
  attn_pbuf_str(b, "</g>\n");
  attn_pic_coord(L->mapY + L->mapH/2.0, zY);
  attn_pbuf_printf(b, "<text x=\"24\" y=\"%s\" text-anchor=\"middle\" fill=\""
      HEATMAP_GREY_TEXT "\" transform=\"rotate(-90 24 %s)\">query</text>\n",
      zY, zY);
  attn_pbuf_printf(b, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\" fill=\""
      HEATMAP_GREY_TEXT "\">key</text>\n",
      attn_pic_coord(L->mapX + L->mapW/2.0, zX), attn_pic_coord(L->keyY, zY));
}

static void svgLegend(const HeatmapGrid *g, const SvgLayout *L,
                      attn_pbuf *b){
  char zX[32], zY[32], zH[32], zN[40];
  double y = L->legH;
  attn_pbuf_printf(b, "<g class=\"legend\" transform=\"translate(%s,%s)\">\n",
            attn_pic_coord(L->legX, zX), attn_pic_coord(L->mapY, zY));
  attn_pbuf_str(b, "<text x=\"0\" y=\"-8\" font-weight=\"bold\">weight</text>\n");
  attn_pbuf_printf(b, "<rect width=\"14\" height=\"%s\" fill=\"url(#attn-viridis)\" "
            "stroke=\"#888888\" stroke-width=\"0.5\"/>\n",
            attn_pic_coord(L->legH, zH));
  attn_pbuf_printf(b, "<text x=\"20\" y=\"0\" dy=\"0.8em\">%s</text>\n",
            attn_pic_num(g->hi, 3, zN));
  attn_pbuf_printf(b, "<text x=\"20\" y=\"%s\">%s</text>\n", zH,
            attn_pic_num(g->lo, 3, zN));
  attn_pbuf_printf(b, "<text x=\"0\" y=\"%s\">min %s</text>\n",
            attn_pic_coord(y + 20.0, zY), attn_pic_num(g->wMin, 4, zN));
  attn_pbuf_printf(b, "<text x=\"0\" y=\"%s\">max %s</text>\n",
            attn_pic_coord(y + 36.0, zY), attn_pic_num(g->wMax, 4, zN));
  if( g->nAbsent>0 ){
    attn_pbuf_printf(b, "<rect x=\"0\" y=\"%s\" width=\"14\" height=\"14\" fill=\""
        ATTN_PIC_ABSENT "\" stroke=\"#888888\" stroke-width=\"0.5\"/>\n",
        attn_pic_coord(y + 46.0, zY));
    attn_pbuf_printf(b, "<text x=\"20\" y=\"%s\">no score row</text>\n",
              attn_pic_coord(y + 57.0, zY));
  }
  attn_pbuf_str(b, "</g>\n");
}

int attn_heatmap_svg(attn_heatmap *p, char **pz, int64_t *pn, attn_err *pErr){
  HeatmapGrid g;
  attn_pbuf b;
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
    attn_pbuf_str(&b, "</svg>\n");
    rc = attn_pbuf_finish(&b, pz, pn, pErr);
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
    i += attn_pic_utf8(u+i, n-i, &c);
    if( attn_pic_cols(attn_pic_shown(c))>0 ) nChar++;
  }
  if( (nChar>HEATMAP_TEXT_HEAD_CHARS || bCut)
   && j>=HEATMAP_TEXT_HEAD_CHARS-1 ){
    *pc = 0x2026;
    return j==HEATMAP_TEXT_HEAD_CHARS-1;
  }
  for(i=0; i<n; ){
    i += attn_pic_utf8(u+i, n-i, &c);
    c = attn_pic_shown(c);
    if( attn_pic_cols(c)==0 ) continue;
    if( iChar++==j ){
      *pc = c;
      return 1;
    }
  }
  return 0;
}

static void textWrite(const attn_heatmap *p, const HeatmapGrid *g,
                      attn_pbuf *b){
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
    attn_pbuf_printf(b, "%*s", wRow+1, "");
    for(j=0; j<g->nBin[1]; j++){
      char zNum[24];
      const char *z;
      int n, bCut;
      uint32_t c;
      gridBinLabel(p, g, 1, j, zNum, &z, &n, &bCut);
      if( textHeadChar(z, n, bCut, line, &c) ){
        attn_pbuf_char(b, c, 0);
        if( attn_pic_cols(c)<2 ) attn_pbuf_str(b, " ");
      }else{
        attn_pbuf_str(b, "  ");
      }
    }
    attn_pbuf_trim(b, iStart);
    attn_pbuf_str(b, "\n");
  }

  /* One line per query bin: its label, then its cells. */
  for(i=0; i<g->nBin[0]; i++){
    uint64_t iStart = b->n;
    char zNum[24];
    const char *z;
    int n, bCut, nCol;
    gridBinLabel(p, g, 0, i, zNum, &z, &n, &bCut);
    nCol = attn_pic_label(b, z, n, bCut, HEATMAP_TEXT_LABEL_COLS, 0);
    attn_pbuf_printf(b, "%*s", wRow - nCol + 1, "");
    for(j=0; j<g->nBin[1]; j++){
      double v = g->aVal[i*g->nBin[1] + j];
      if( isnan(v) ){
        attn_pbuf_str(b, TEXT_ABSENT);
      }else{
        double t = gridScale(g, v);
        int iShade = t<=0.0 ? 0 : 1 + (int)(t*4.0);
        attn_pbuf_str(b, azShade[iShade>4 ? 4 : iShade]);
      }
    }
    attn_pbuf_trim(b, iStart);
    attn_pbuf_str(b, "\n");
  }

  /* The key to the shades: "0 ░▒▓█ 0.5 (quarters; · = no score row)". */
  attn_pbuf_printf(b, "%s \xe2\x96\x91\xe2\x96\x92\xe2\x96\x93\xe2\x96\x88 %s "
      "(quarters%s)", attn_pic_num(g->lo, 3, zLo), attn_pic_num(g->hi, 3, zHi),
      g->nAbsent>0 ? "; \xc2\xb7 = no score row" : "");
  if( g->nPool[0]>1 || g->nPool[1]>1 ){
    attn_pbuf_printf(b, "\ndownsampled from %lld\xc3\x97%lld by pooling "
        "%lld\xc3\x97%lld", (long long)g->nPos[0], (long long)g->nPos[1],
        (long long)g->nPool[0], (long long)g->nPool[1]);
  }
}

int attn_heatmap_text(attn_heatmap *p, char **pz, int64_t *pn,
                      attn_err *pErr){
  HeatmapGrid g;
  attn_pbuf b;
  int rc;
  memset(&b, 0, sizeof(b));
  rc = gridBuild(p, ATTN_HEATMAP_TEXT_MAX, &g, pErr);
  if( rc==ATTN_OK ){
    textWrite(p, &g, &b);
    rc = attn_pbuf_finish(&b, pz, pn, pErr);
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
