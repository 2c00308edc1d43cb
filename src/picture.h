/*
** picture.h: what the pictures of attention share.  attn_heatmap() and
** attn_textmap() (heatmap.c) and attn_explorer() (explorer.c) draw with
** one output buffer, one way of writing numbers, one label sanitiser, one
** label store, one pooling rule and one colour scale, all declared here.
**
**   - attn_pbuf: a growable string whose first error (out of memory, or
**     larger than ATTN_MAX_ALLOC) sticks, so writers append without
**     checking each call.  A buffer with bMeasure set only counts the
**     bytes, so a writer run on it gives the exact size of its output
**     without building it (attn_explorer checks the size first).
**   - Numbers are formatted without the C locale's help (a decimal comma
**     would break coordinates and JSON).
**   - Labels are never copied raw: attn_pic_shown() maps each character to
**     what is drawn (control characters to their Unicode control pictures,
**     invalid UTF-8, C1 controls, bidirectional overrides and non-
**     characters to U+FFFD), attn_pic_label() cuts to a number of columns
**     with "…" and escapes for the context the text lands in: XML text or
**     attribute (& < > " '), or a JSON string inside an HTML <script>
**     element (" \ and control characters, and < > & U+2028 U+2029 as
**     \uXXXX, so no "</script" or "<!--" can appear).
**   - The label store keeps the first label given for each position.
**   - Pooling: an axis of nPos positions drawn with at most nMax bins is
**     split into blocks of ceil(nPos/nMax) consecutive positions.
**   - The colour scale runs from min(0, smallest weight) to the largest
**     weight (lo+1 when all weights are equal to lo), on matplotlib's
**     viridis table: t in [0, 1] has colour attn_viridis[min(255,
**     floor(256*t))].
**
** Memory comes from attn_malloc() (alloc.h).
*/
#ifndef ATTN_PICTURE_H
#define ATTN_PICTURE_H

#include <stdint.h>
#include "error.h"

/* The grey of a (query, key) pair without a score row. */
#define ATTN_PIC_ABSENT "#dddddd"

/* The escapes of attn_pbuf_char() and attn_pic_label(). */
#define ATTN_PIC_RAW   0     /* none: text for a terminal */
#define ATTN_PIC_XML   1     /* XML/HTML text and attribute values */
#define ATTN_PIC_JSON  2     /* a JSON string inside an HTML <script> */

/* Labels are kept to this many bytes (cut at a character boundary). */
#define ATTN_PIC_LABEL_BYTES 256

/* matplotlib's viridis, 256 entries as 0xRRGGBB. */
extern const uint32_t attn_viridis[256];

/*
** The output buffer.
*/
typedef struct attn_pbuf attn_pbuf;
struct attn_pbuf {
  char *z;            /* NUL-terminated text, or NULL before the first byte */
  uint64_t n;         /* bytes used (or counted), not counting the NUL */
  uint64_t nAlloc;    /* bytes allocated */
  int rc;             /* ATTN_OK, or the first error (then nothing is added) */
  int bMeasure;       /* only count the bytes; z stays NULL */
};

void attn_pbuf_append(attn_pbuf *b, const char *z, uint64_t n);
void attn_pbuf_str(attn_pbuf *b, const char *z);
/* printf into the buffer.  Never pass a floating-point conversion: numbers
** go through attn_pic_coord() and attn_pic_num(), which ignore the locale. */
void attn_pbuf_printf(attn_pbuf *b, const char *zFmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;
/* Drop the spaces at the end of the buffer, back to offset iStart. */
void attn_pbuf_trim(attn_pbuf *b, uint64_t iStart);
/* Append character c as UTF-8, escaped as eEsc (ATTN_PIC_RAW/XML/JSON). */
void attn_pbuf_char(attn_pbuf *b, uint32_t c, int eEsc);
/* Hand the buffer over as the result (*pz, *pn), or report its error. */
int attn_pbuf_finish(attn_pbuf *b, char **pz, int64_t *pn, attn_err *pErr);

/*
** Numbers, in any locale.
*/
/* v rounded to 2 decimals, without trailing zeros, into z (32 bytes). */
const char *attn_pic_coord(double v, char *z);
/* w with nDigit significant digits (%g) into z (40 bytes); no "-0". */
const char *attn_pic_num(double w, int nDigit, char *z);

/*
** Labels.
*/
/* Decode one character of z[0..n) (n>=1) into *pc, returning its length;
** a byte that starts no valid character gives U+FFFD and a length of 1. */
int attn_pic_utf8(const unsigned char *z, int n, uint32_t *pc);
/* The character drawn for character c of a label. */
uint32_t attn_pic_shown(uint32_t c);
/* Terminal columns of shown character c (0, 1 or 2), without a locale. */
int attn_pic_cols(uint32_t c);
/* Write label z[0..n) as shown, in at most mxCol columns (mxCol>=1): a
** label that is longer, or that was cut when stored (bCut), ends in "…".
** Writes to b escaped as eEsc or, when b is NULL, only measures.  Returns
** the columns used. */
int attn_pic_label(attn_pbuf *b, const char *z, int n, int bCut, int mxCol,
                   int eEsc);

/*
** The label store: the first label of each position of one axis.
*/
typedef struct attn_label attn_label;
struct attn_label {
  int64_t pos;          /* position */
  uint64_t iOff;        /* offset of the label's bytes in the pool */
  uint16_t nByte;       /* bytes kept, at most ATTN_PIC_LABEL_BYTES */
  uint8_t bUsed;        /* this slot holds a label */
  uint8_t bCut;         /* the label was longer than what was kept */
};

typedef struct attn_labels attn_labels;
struct attn_labels {
  attn_label *a;        /* nSlot slots (a power of two), or NULL */
  uint64_t nSlot;       /* slots allocated */
  uint64_t nUsed;       /* slots in use, at most half of them */
  attn_pbuf pool;       /* the labels' bytes, one after another */
};

/* Keep z[0..n) as the label of pos unless pos has one already.  Returns
** ATTN_OK, ATTN_NOMEM or ATTN_TOOBIG (no message). */
int attn_labels_add(attn_labels *p, int64_t pos, const char *z, int n);
/* The label of pos, or NULL; its bytes are p->pool.z + iOff. */
const attn_label *attn_labels_find(const attn_labels *p, int64_t pos);
void attn_labels_free(attn_labels *p);
/* The message for an error code of attn_labels_add(). */
int attn_labels_error(int rc, attn_err *pErr);

/*
** Pooling and colours.
*/
/* Positions per bin (*pnPool) and bins (*pnBin) of an axis of nPos >= 1
** positions drawn with at most nMax bins. */
void attn_pic_pool(int64_t nPos, int64_t nMax, int64_t *pnPool,
                   int64_t *pnBin);
/* The ends of the colour scale of weights from wMin to wMax. */
void attn_pic_range(double wMin, double wMax, double *pLo, double *pHi);
/* Where v lies on the scale lo..hi, from 0 to 1 (a NaN gives 0). */
double attn_pic_scale(double lo, double hi, double v);
/* The viridis entry of scale position t: min(255, floor(256*t)). */
int attn_pic_colour(double t);

/* qsort() comparison of int64_t positions. */
int attn_pic_pos_cmp(const void *pA, const void *pB);
/* Index of x in the ascending array a[0..n), which holds it. */
int64_t attn_pic_find(const int64_t *a, int64_t n, int64_t x);

#endif /* ATTN_PICTURE_H */
