/*
** tensorfile.c: readers of .npy, .npz and .safetensors files (see
** tensorfile.h).
**
** How it works.  A reader is a byte source (a FILE, or a memory image) of a
** known size, and a list of TensorEntry: name, dtype, shape, and where the
** data is (offset and byte count).  Every read of the source goes through
** tensorReadAt(), which refuses any range outside the size measured at open
** time; so a header field can only ever make a read fail with a message, not
** wander.  Parsing is three small parsers over that source:
**
**   tensorNpyParse()   the 10- or 12-byte preamble, then the header, a
**                      Python dict literal parsed strictly by
**                      tensorNpyHeader() (no eval: three keys, string,
**                      True/False, tuple of integers);
**   tensorSafeParse()  the 8-byte header length, then the JSON header,
**                      parsed by a small strict JSON parser (tensorJson*)
**                      that decodes strings in place, \uXXXX escapes and
**                      surrogate pairs included;
**   tensorZipParse()   the zip end-of-central-directory record (zip64 too),
**                      the central directory, and each member's local
**                      header; each member is then a .npy parsed within its
**                      own window of the file.
**
** The JSON and the Python parser share one text cursor (TensorText) and its
** error reporting, "expected X at character N, found Y".  Every header
** field is range-checked before use, every size computed with overflow
** checks, and buffers are sized only from values already compared with the
** bytes that exist.
**
** attn_tensorfile_read() streams a tensor through a fixed-size chunk
** buffer, byte-swaps big-endian data in place, decodes it to float32, and
** for Fortran-order arrays scatters each chunk to its row-major positions
** with an odometer over the shape (no second full-size buffer).  A final
** pass rejects values that are not finite float32 numbers, naming the
** element (its row-major index).
*/
#define _FILE_OFFSET_BITS 64
#include "tensorfile.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "alloc.h"
#include "utf8.h"
#include "vector.h"

#ifdef _WIN32
# define tensorSeek(F, OFF) _fseeki64((F), (__int64)(OFF), SEEK_SET)
#else
# define tensorSeek(F, OFF) fseeko((F), (off_t)(OFF), SEEK_SET)
#endif
#ifndef S_ISDIR
# define S_ISDIR(m) (((m) & S_IFMT)==S_IFDIR)
#endif
#ifndef S_ISREG
# define S_ISREG(m) (((m) & S_IFMT)==S_IFREG)
#endif

#define TENSOR_NPY_MAX_HEADER  1048576   /* bytes of a .npy header dict */
#define TENSOR_JSON_MAX_DEPTH  64        /* nesting skipped in __metadata__ */
#define TENSOR_CHUNK           65536     /* elements decoded per read */
#define TENSOR_FILE_NAME_MAX   100       /* characters of a path in messages */

/*
** Element types: the safetensors dtype name, the numpy kind letter (0 when
** numpy has none), and the size in bytes.  Indexed by the TENSOR_* codes.
*/
enum {
  TENSOR_F64, TENSOR_F32, TENSOR_F16, TENSOR_BF16,
  TENSOR_I64, TENSOR_I32, TENSOR_I16, TENSOR_I8,
  TENSOR_U64, TENSOR_U32, TENSOR_U16, TENSOR_U8, TENSOR_BOOL
};
static const struct TensorType {
  const char *zName;
  char cKind;
  int nByte;
} aTensorType[] = {
  { "F64",  'f', 8 }, { "F32",  'f', 4 }, { "F16",  'f', 2 }, { "BF16", 0, 2 },
  { "I64",  'i', 8 }, { "I32",  'i', 4 }, { "I16",  'i', 2 }, { "I8",  'i', 1 },
  { "U64",  'u', 8 }, { "U32",  'u', 4 }, { "U16",  'u', 2 }, { "U8",  'u', 1 },
  { "BOOL", 'b', 1 },
};
#define TENSOR_NTYPE ((int)(sizeof(aTensorType)/sizeof(aTensorType[0])))

/* One tensor.  info points into pBlock: the shape, then the name, then the
** dtype text, each NUL-terminated string copied from the header. */
typedef struct TensorEntry TensorEntry;
struct TensorEntry {
  attn_tensor_info info;
  void *pBlock;
  int eType;              /* TENSOR_* */
  int bBigEndian;         /* .npy '>' byte order */
  int bFortran;           /* .npy fortran_order: column-major data */
  uint64_t iOffset;       /* file offset of the data */
  uint64_t nByte;         /* bytes of data: nElem * element size */
};

struct attn_tensorfile {
  FILE *pFile;                   /* the open file, or NULL */
  const unsigned char *aMem;     /* or the memory image */
  uint64_t nSize;                /* bytes in the source */
  const char *zFormat;           /* "npy", "npz", "safetensors" */
  const char *zMember;           /* .npz member being parsed, for messages */
  uint64_t iMember;              /* its number in the central directory */
  char zFile[TENSOR_FILE_NAME_MAX+4];   /* the file name, for messages */
  int nTensor;
  int nAlloc;
  TensorEntry *aTensor;
};

/*
** Errors, byte order, and the one function that reads the source.
*/
#if defined(__GNUC__)
static int tensorError(attn_tensorfile*, attn_err*, const char*, ...)
  __attribute__((format(printf, 3, 4)));
#endif
static int tensorHasSuffix(const char *z, size_t n, const char *zSuffix);

/* Record "<file>: [member '<m>': ]<message>" and return ATTN_ERROR. */
static int tensorError(attn_tensorfile *p, attn_err *pErr,
                       const char *zFmt, ...){
  char zMsg[sizeof(pErr->zMsg)];
  va_list ap;
  va_start(ap, zFmt);
  vsnprintf(zMsg, sizeof(zMsg), zFmt, ap);
  va_end(ap);
  if( p->zMember ){
    /* A member's name is quoted only when it ends in .npy (numpy's names):
    ** the names of another zip archive's members are its content. */
    size_t nMember = strlen(p->zMember);
    int nShow = attn_utf8_prefix(p->zMember, (int64_t)nMember, 80);
    if( !tensorHasSuffix(p->zMember, nMember, ".npy") ){
      return attn_err_set(pErr, ATTN_ERROR, "%s: zip member %llu: %s",
                          p->zFile, (unsigned long long)p->iMember+1, zMsg);
    }
    return attn_err_set(pErr, ATTN_ERROR, "%s: member '%.*s%s': %s",
                        p->zFile, nShow, p->zMember,
                        (size_t)nShow<nMember ? "..." : "", zMsg);
  }
  return attn_err_set(pErr, ATTN_ERROR, "%s: %s", p->zFile, zMsg);
}

static uint16_t tensorGet16(const unsigned char *a){
  return (uint16_t)(a[0] | a[1]<<8);
}
static uint32_t tensorGet32(const unsigned char *a){
  return (uint32_t)a[0] | (uint32_t)a[1]<<8
       | (uint32_t)a[2]<<16 | (uint32_t)a[3]<<24;
}
static uint64_t tensorGet64(const unsigned char *a){
  return (uint64_t)tensorGet32(a) | (uint64_t)tensorGet32(a+4)<<32;
}

/* Read n bytes at offset iOff of the source into pBuf. */
static int tensorReadAt(attn_tensorfile *p, uint64_t iOff, uint64_t n,
                        void *pBuf, attn_err *pErr){
  if( iOff>p->nSize || n>p->nSize-iOff ){
    return tensorError(p, pErr, "the file is truncated: %llu bytes are "
        "needed at offset %llu, but the file has %llu bytes",
        (unsigned long long)n, (unsigned long long)iOff,
        (unsigned long long)p->nSize);
  }
  if( n==0 ) return ATTN_OK;
  if( p->aMem ){
    memcpy(pBuf, p->aMem+iOff, (size_t)n);
    return ATTN_OK;
  }
  errno = 0;
  if( tensorSeek(p->pFile, iOff)!=0
   || fread(pBuf, 1, (size_t)n, p->pFile)!=(size_t)n
  ){
    int bErr = ferror(p->pFile);
    clearerr(p->pFile);
    if( bErr || errno ){
      return tensorError(p, pErr, "cannot read %llu bytes at offset %llu "
          "(%s)", (unsigned long long)n, (unsigned long long)iOff,
          strerror(errno ? errno : EIO));
    }
    return tensorError(p, pErr, "the file is shorter than when it was "
        "opened: cannot read %llu bytes at offset %llu",
        (unsigned long long)n, (unsigned long long)iOff);
  }
  return ATTN_OK;
}

/*
** Names, shapes and the list of tensors.
*/
int attn_tensor_shape_json(const int64_t *aShape, int nDim, char *z){
  int i, n = 0;
  z[n++] = '[';
  for(i=0; i<nDim && i<ATTN_TENSOR_MAX_DIMS; i++){
    n += snprintf(z+n, (size_t)(ATTN_TENSOR_SHAPE_JSON_MAX-2-n),
                  i ? ",%lld" : "%lld", (long long)aShape[i]);
  }
  z[n++] = ']';
  z[n] = 0;
  return n;
}


/* Does z[0..n) end with zSuffix (ASCII, any case)? */
static int tensorHasSuffix(const char *z, size_t n, const char *zSuffix){
  size_t i, m = strlen(zSuffix);
  if( n<m ) return 0;
  for(i=0; i<m; i++){
    char c = z[n-m+i];
    if( c>='A' && c<='Z' ) c += 'a'-'A';
    if( c!=zSuffix[i] ) return 0;
  }
  return 1;
}

/* Set pT->info.nElem and pT->nByte from the shape and the type, refusing
** sizes that do not fit in 63 bits.  A zero anywhere makes it empty. */
static int tensorSizes(attn_tensorfile *p, TensorEntry *pT, const char *zName,
                       size_t nName, attn_err *pErr){
  const attn_tensor_info *pInfo = &pT->info;
  uint64_t nElem = 1;
  uint64_t nItem = (uint64_t)aTensorType[pT->eType].nByte;
  int i;
  for(i=0; i<pInfo->nDim && pInfo->aShape[i]!=0; i++){}
  if( i<pInfo->nDim ){
    nElem = 0;
  }else{
    for(i=0; i<pInfo->nDim; i++){
      uint64_t d = (uint64_t)pInfo->aShape[i];
      if( nElem>(uint64_t)INT64_MAX/d ) break;
      nElem *= d;
    }
    if( i<pInfo->nDim || nElem>(uint64_t)INT64_MAX/nItem ){
      char zShape[ATTN_TENSOR_SHAPE_JSON_MAX];
      attn_tensor_shape_json(pInfo->aShape, pInfo->nDim, zShape);
      return tensorError(p, pErr, "tensor '%.*s' has shape %s, whose size "
          "in bytes does not fit in 63 bits", (int)(nName<80 ? nName : 80),
          zName, zShape);
    }
  }
  pT->info.nElem = (int64_t)nElem;
  pT->nByte = nElem*nItem;
  return ATTN_OK;
}

/* Append a copy of *pNew, whose info.aShape points to the caller's array,
** named zName[0..nName) with dtype text zDtype[0..nDtype). */
static int tensorAppend(attn_tensorfile *p, const TensorEntry *pNew,
                        const char *zName, size_t nName,
                        const char *zDtype, size_t nDtype, attn_err *pErr){
  TensorEntry *pT;
  uint64_t nShape = 8*(uint64_t)pNew->info.nDim, nBlock;
  size_t nValid;
  char *z;
  if( memchr(zName, 0, nName) ){
    return tensorError(p, pErr, "a tensor name contains a NUL character");
  }
  if( (nValid = (size_t)attn_utf8_valid(zName, (int64_t)nName))!=nName ){
    int nShow = attn_utf8_prefix(zName, (int64_t)nValid, 80);
    return tensorError(p, pErr, "the tensor name '%.*s...' is not valid UTF-8 "
        "(at byte %u of the name)", nShow, zName, (unsigned)nValid);
  }
  if( p->nTensor>=ATTN_TENSOR_MAX_COUNT ){
    return tensorError(p, pErr, "the file has more than %d tensors, the "
                       "limit", ATTN_TENSOR_MAX_COUNT);
  }
  if( p->nTensor>=p->nAlloc ){
    int nNew = p->nAlloc ? 2*p->nAlloc : 16;
    TensorEntry *aNew = attn_malloc((uint64_t)nNew*sizeof(TensorEntry));
    if( aNew==0 ) return attn_err_nomem(pErr);
    if( p->nTensor ){
      memcpy(aNew, p->aTensor, (size_t)p->nTensor*sizeof(TensorEntry));
    }
    attn_free(p->aTensor);
    p->aTensor = aNew;
    p->nAlloc = nNew;
  }
  if( attn_size_add(nShape, (uint64_t)nName + nDtype + 2, &nBlock) ){
    return attn_err_nomem(pErr);
  }
  pT = &p->aTensor[p->nTensor];
  *pT = *pNew;
  pT->pBlock = attn_malloc(nBlock);
  if( pT->pBlock==0 ) return attn_err_nomem(pErr);
  if( nShape ) memcpy(pT->pBlock, pNew->info.aShape, (size_t)nShape);
  z = (char*)pT->pBlock + nShape;
  memcpy(z, zName, nName);
  z[nName] = 0;
  memcpy(z+nName+1, zDtype, nDtype);
  z[nName+1+nDtype] = 0;
  pT->info.aShape = (const int64_t*)pT->pBlock;
  pT->info.zName = z;
  pT->info.zDtype = z+nName+1;
  p->nTensor++;
  return ATTN_OK;
}

static int tensorCompareName(const void *a, const void *b){
  const TensorEntry *pA = *(TensorEntry*const*)a;
  const TensorEntry *pB = *(TensorEntry*const*)b;
  return strcmp(pA->info.zName, pB->info.zName);
}

/* Data-offset order, then name order (safetensors). */
static int tensorCompareOffset(const void *a, const void *b){
  const TensorEntry *pA = (const TensorEntry*)a;
  const TensorEntry *pB = (const TensorEntry*)b;
  if( pA->iOffset!=pB->iOffset ) return pA->iOffset<pB->iOffset ? -1 : 1;
  return strcmp(pA->info.zName, pB->info.zName);
}

/* Fail if two tensors have the same name. */
static int tensorCheckUnique(attn_tensorfile *p, attn_err *pErr){
  TensorEntry **ap;
  int i, rc = ATTN_OK;
  if( p->nTensor<2 ) return ATTN_OK;
  ap = attn_malloc((uint64_t)p->nTensor*sizeof(TensorEntry*));
  if( ap==0 ) return attn_err_nomem(pErr);
  for(i=0; i<p->nTensor; i++) ap[i] = &p->aTensor[i];
  qsort(ap, (size_t)p->nTensor, sizeof(ap[0]), tensorCompareName);
  for(i=1; i<p->nTensor; i++){
    if( strcmp(ap[i-1]->info.zName, ap[i]->info.zName)==0 ){
      rc = tensorError(p, pErr, "two tensors are named '%.80s'",
                       ap[i]->info.zName);
      break;
    }
  }
  attn_free(ap);
  return rc;
}

/*
** A text cursor, shared by the JSON parser and the .npy header parser.
*/
typedef struct TensorText TensorText;
struct TensorText {
  attn_tensorfile *p;
  attn_err *pErr;
  unsigned char *z;       /* the header (JSON strings are decoded in place) */
  uint64_t n;             /* its length */
  uint64_t i;             /* the cursor */
  const char *zWhat;      /* "the JSON header is not valid", ... */
  int bDry;               /* check the syntax only: decode nothing in place */
};

static int tensorIsDigit(int c){ return c>='0' && c<='9'; }

static void tensorTextSpace(TensorText *t){
  while( t->i<t->n ){
    unsigned char c = t->z[t->i];
    if( c!=' ' && c!='\t' && c!='\n' && c!='\r' ) break;
    t->i++;
  }
}

/* Report "<zWhat>: expected <zExpected> at character N".  What is there
** instead is not quoted: the bytes may be those of a file that is not a
** tensor file at all, and errors never echo file content. */
static int tensorTextSyntax(TensorText *t, const char *zExpected){
  unsigned long long iChar = (unsigned long long)t->i + 1;
  if( t->i>=t->n ){
    return tensorError(t->p, t->pErr, "%s: expected %s at character %llu, "
        "found the end of the header", t->zWhat, zExpected, iChar);
  }
  return tensorError(t->p, t->pErr, "%s: expected %s at character %llu",
                     t->zWhat, zExpected, iChar);
}

/* Is the character at the cursor c?  (Does not move.) */
static int tensorTextIs(TensorText *t, int c){
  return t->i<t->n && t->z[t->i]==c;
}

/* Skip spaces, then consume c or report an error. */
static int tensorTextEat(TensorText *t, int c, const char *zExpected){
  tensorTextSpace(t);
  if( !tensorTextIs(t, c) ) return tensorTextSyntax(t, zExpected);
  t->i++;
  return ATTN_OK;
}

/* Consume the keyword zWord if it is at the cursor; return 1 if it was. */
static int tensorTextWord(TensorText *t, const char *zWord){
  size_t n = strlen(zWord);
  if( t->n-t->i<n || memcmp(t->z+t->i, zWord, n)!=0 ) return 0;
  t->i += n;
  return 1;
}

/* A non-negative decimal integer below 2^63, without leading zeros, sign,
** fraction or exponent (the same in JSON and Python). */
static int tensorTextInteger(TensorText *t, int64_t *pVal){
  uint64_t v = 0, iStart = t->i;
  if( t->i>=t->n || !tensorIsDigit(t->z[t->i]) ){
    return tensorTextSyntax(t, "a non-negative integer");
  }
  if( t->z[t->i]=='0' && t->i+1<t->n && tensorIsDigit(t->z[t->i+1]) ){
    t->i++;
    return tensorTextSyntax(t, "no leading zero in an integer");
  }
  while( t->i<t->n && tensorIsDigit(t->z[t->i]) ){
    unsigned d = t->z[t->i] - '0';
    if( v>((uint64_t)INT64_MAX-d)/10 ){
      return tensorError(t->p, t->pErr, "%s: the integer at character %llu "
          "is larger than 2^63-1", t->zWhat, (unsigned long long)iStart+1);
    }
    v = v*10 + d;
    t->i++;
  }
  if( t->i<t->n && (t->z[t->i]=='.' || t->z[t->i]=='e' || t->z[t->i]=='E') ){
    return tensorTextSyntax(t, "an integer without fraction or exponent");
  }
  *pVal = (int64_t)v;
  return ATTN_OK;
}

/* A list of integers: JSON "[1, 2]" (bTuple 0) or a Python tuple "(1, 2)",
** "(1,)", "()" (bTuple 1).  At most nMax items into a[]; *pn gets the count.
** zWhat names the list in the error for too many items. */
static int tensorTextIntList(TensorText *t, int bTuple, int64_t *a, int nMax,
                             int *pn, const char *zList){
  int cOpen = bTuple ? '(' : '[', cClose = bTuple ? ')' : ']';
  int n = 0, rc, bComma = 0;
  if( (rc = tensorTextEat(t, cOpen, bTuple ? "'('" : "'['")) ) return rc;
  tensorTextSpace(t);
  while( !tensorTextIs(t, cClose) ){
    if( n>=nMax ){
      return tensorError(t->p, t->pErr, "%s has more than %d items",
                         zList, nMax);
    }
    if( (rc = tensorTextInteger(t, &a[n++])) ) return rc;
    tensorTextSpace(t);
    bComma = tensorTextIs(t, ',');
    if( bComma ){
      t->i++;
      tensorTextSpace(t);
      if( !bTuple && tensorTextIs(t, cClose) ){
        return tensorTextSyntax(t, "an integer after ','");
      }
    }else if( !tensorTextIs(t, cClose) ){
      return tensorTextSyntax(t, bTuple ? "',' or ')'" : "',' or ']'");
    }
  }
  if( bTuple && n==1 && !bComma ){
    return tensorTextSyntax(t, "',' (a 1-tuple is written '(n,)')");
  }
  t->i++;
  *pn = n;
  return ATTN_OK;
}

/*
** JSON (the safetensors header).
*/

/* Four hex digits at z[i..i+4) into *pU. */
static int tensorJsonHex4(TensorText *t, uint64_t i, unsigned *pU){
  unsigned u = 0;
  uint64_t k;
  for(k=0; k<4; k++){
    unsigned c = i+k<t->n ? t->z[i+k] : 0;
    if( c>='0' && c<='9' ) u = u*16 + c-'0';
    else if( c>='a' && c<='f' ) u = u*16 + c-'a'+10;
    else if( c>='A' && c<='F' ) u = u*16 + c-'A'+10;
    else{
      t->i = i+k;
      return tensorTextSyntax(t, "a hex digit of a \\u escape");
    }
  }
  *pU = u;
  return ATTN_OK;
}

/* Parse the JSON string at the cursor and decode it in place: *pz and *pn
** get the decoded UTF-8 bytes (not NUL-terminated).  Decoding never grows
** the text (an escape is at least as long as what it stands for), so the
** bytes are written over ones already read.  In a dry run (t->bDry) nothing
** is written and *pz, *pn are the raw bytes. */
/* Write a decoded byte (not in a dry run, which only checks the syntax). */
#define JSON_PUT(c) do{ if( !t->bDry ) z[w] = (unsigned char)(c); w++; }while(0)
static int tensorJsonString(TensorText *t, char **pz, uint64_t *pn){
  unsigned char *z = t->z;
  uint64_t i, w, iStart;
  int rc;
  tensorTextSpace(t);
  if( !tensorTextIs(t, '"') ) return tensorTextSyntax(t, "a string");
  i = w = iStart = t->i+1;
  while( 1 ){
    unsigned c, u;
    if( i>=t->n ){
      t->i = i;
      return tensorTextSyntax(t, "'\"' to end the string");
    }
    c = z[i];
    if( c=='"' ) break;
    if( c<0x20 ){
      t->i = i;
      return tensorTextSyntax(t, "a string character (control characters "
                              "must be escaped)");
    }
    if( c!='\\' ){
      JSON_PUT(z[i]);
      i++;
      continue;
    }
    c = i+1<t->n ? z[i+1] : 0;
    switch( c ){
      case '"': case '\\': case '/': JSON_PUT((unsigned char)c); i += 2; break;
      case 'b': JSON_PUT('\b'); i += 2; break;
      case 'f': JSON_PUT('\f'); i += 2; break;
      case 'n': JSON_PUT('\n'); i += 2; break;
      case 'r': JSON_PUT('\r'); i += 2; break;
      case 't': JSON_PUT('\t'); i += 2; break;
      case 'u':
        if( (rc = tensorJsonHex4(t, i+2, &u)) ) return rc;
        i += 6;
        if( u>=0xdc00 && u<=0xdfff ){
          t->i = i-6;
          return tensorTextSyntax(t, "a high surrogate before a low one");
        }
        if( u>=0xd800 && u<=0xdbff ){
          unsigned u2;
          if( i+1>=t->n || z[i]!='\\' || z[i+1]!='u' ){
            t->i = i;
            return tensorTextSyntax(t, "a \\u escape of a low surrogate");
          }
          if( (rc = tensorJsonHex4(t, i+2, &u2)) ) return rc;
          if( u2<0xdc00 || u2>0xdfff ){
            t->i = i;
            return tensorTextSyntax(t, "a \\u escape of a low surrogate");
          }
          i += 6;
          u = 0x10000 + ((u-0xd800)<<10) + (u2-0xdc00);
        }
        if( u<0x80 ){
          JSON_PUT((unsigned char)u);
        }else if( u<0x800 ){
          JSON_PUT((unsigned char)(0xc0 | u>>6));
          JSON_PUT((unsigned char)(0x80 | (u & 0x3f)));
        }else if( u<0x10000 ){
          JSON_PUT((unsigned char)(0xe0 | u>>12));
          JSON_PUT((unsigned char)(0x80 | (u>>6 & 0x3f)));
          JSON_PUT((unsigned char)(0x80 | (u & 0x3f)));
        }else{
          JSON_PUT((unsigned char)(0xf0 | u>>18));
          JSON_PUT((unsigned char)(0x80 | (u>>12 & 0x3f)));
          JSON_PUT((unsigned char)(0x80 | (u>>6 & 0x3f)));
          JSON_PUT((unsigned char)(0x80 | (u & 0x3f)));
        }
        break;
      default:
        t->i = i+1;
        return tensorTextSyntax(t, "an escape character (one of "
                                "\" \\ / b f n r t u)");
    }
  }
  *pz = (char*)&z[iStart];
  *pn = w-iStart;
  t->i = i+1;
  return ATTN_OK;
}
#undef JSON_PUT

/* Is the decoded string z[0..n) equal to zLit? */
static int tensorStrEq(const char *z, uint64_t n, const char *zLit){
  return n==strlen(zLit) && memcmp(z, zLit, (size_t)n)==0;
}

/* Skip one JSON number (RFC 8259 grammar). */
static int tensorJsonNumber(TensorText *t){
  if( tensorTextIs(t, '-') ) t->i++;
  if( !tensorTextIs(t, '0') ){
    if( t->i>=t->n || !tensorIsDigit(t->z[t->i]) ){
      return tensorTextSyntax(t, "a JSON value");
    }
    while( t->i<t->n && tensorIsDigit(t->z[t->i]) ) t->i++;
  }else{
    t->i++;
  }
  if( tensorTextIs(t, '.') ){
    t->i++;
    if( t->i>=t->n || !tensorIsDigit(t->z[t->i]) ){
      return tensorTextSyntax(t, "a digit after the decimal point");
    }
    while( t->i<t->n && tensorIsDigit(t->z[t->i]) ) t->i++;
  }
  if( tensorTextIs(t, 'e') || tensorTextIs(t, 'E') ){
    t->i++;
    if( tensorTextIs(t, '+') || tensorTextIs(t, '-') ) t->i++;
    if( t->i>=t->n || !tensorIsDigit(t->z[t->i]) ){
      return tensorTextSyntax(t, "a digit in the exponent");
    }
    while( t->i<t->n && tensorIsDigit(t->z[t->i]) ) t->i++;
  }
  return ATTN_OK;
}

/* Skip one JSON value of any kind (for __metadata__ and unknown keys). */
static int tensorJsonSkip(TensorText *t, int nDepth){
  char *zStr;
  uint64_t nStr;
  int rc;
  tensorTextSpace(t);
  if( tensorTextIs(t, '"') ) return tensorJsonString(t, &zStr, &nStr);
  if( tensorTextIs(t, '{') || tensorTextIs(t, '[') ){
    int cClose = t->z[t->i]=='{' ? '}' : ']';
    if( nDepth>=TENSOR_JSON_MAX_DEPTH ){
      return tensorError(t->p, t->pErr, "%s: values are nested more than %d "
          "deep at character %llu", t->zWhat, TENSOR_JSON_MAX_DEPTH,
          (unsigned long long)t->i+1);
    }
    t->i++;
    tensorTextSpace(t);
    if( tensorTextIs(t, cClose) ){
      t->i++;
      return ATTN_OK;
    }
    while( 1 ){
      if( cClose=='}' ){
        if( (rc = tensorJsonString(t, &zStr, &nStr)) ) return rc;
        if( (rc = tensorTextEat(t, ':', "':'")) ) return rc;
      }
      if( (rc = tensorJsonSkip(t, nDepth+1)) ) return rc;
      tensorTextSpace(t);
      if( tensorTextIs(t, ',') ){
        t->i++;
        continue;
      }
      if( tensorTextIs(t, cClose) ){
        t->i++;
        return ATTN_OK;
      }
      return tensorTextSyntax(t, cClose=='}' ? "',' or '}'" : "',' or ']'");
    }
  }
  if( tensorTextWord(t, "true") || tensorTextWord(t, "false")
   || tensorTextWord(t, "null")
  ){
    return ATTN_OK;
  }
  return tensorJsonNumber(t);
}

/*
** .safetensors
*/

/* Parse one tensor entry, {"dtype": .., "shape": [..], "data_offsets":
** [b, e]}, of the tensor zName[0..nName).  The data section starts at file
** offset iData and has nData bytes. */
static int tensorSafeEntry(TensorText *t, const char *zName, uint64_t nName,
                           uint64_t iData, uint64_t nData){
  attn_tensorfile *p = t->p;
  attn_err *pErr = t->pErr;
  TensorEntry e;
  int64_t aShape[ATTN_TENSOR_MAX_DIMS];
  int64_t aOff[3];
  int nDim = -1, nOff = -1, rc;
  char *zDtype = 0, *zKey;
  uint64_t nDtype = 0, nKey;
  char zShape[ATTN_TENSOR_SHAPE_JSON_MAX];
  int nShow = (int)(nName<80 ? nName : 80);

  memset(&e, 0, sizeof(e));
  if( (rc = tensorTextEat(t, '{', "'{' (a tensor entry)")) ) return rc;
  tensorTextSpace(t);
  while( !tensorTextIs(t, '}') ){
    if( (rc = tensorJsonString(t, &zKey, &nKey)) ) return rc;
    if( (rc = tensorTextEat(t, ':', "':'")) ) return rc;
    tensorTextSpace(t);
    if( tensorStrEq(zKey, nKey, "dtype") && zDtype==0 ){
      if( (rc = tensorJsonString(t, &zDtype, &nDtype)) ) return rc;
    }else if( tensorStrEq(zKey, nKey, "shape") && nDim<0 ){
      rc = tensorTextIntList(t, 0, aShape, ATTN_TENSOR_MAX_DIMS, &nDim,
                             "a shape");
      if( rc ) return rc;
    }else if( tensorStrEq(zKey, nKey, "data_offsets") && nOff<0 ){
      if( (rc = tensorTextIntList(t, 0, aOff, 3, &nOff, "data_offsets")) ){
        return rc;
      }
    }else if( tensorStrEq(zKey, nKey, "dtype")
           || tensorStrEq(zKey, nKey, "shape")
           || tensorStrEq(zKey, nKey, "data_offsets") ){
      return tensorError(p, pErr, "tensor '%.*s' has the key \"%.*s\" twice",
                         nShow, zName, (int)nKey, zKey);
    }else if( (rc = tensorJsonSkip(t, 1)) ){
      return rc;
    }
    tensorTextSpace(t);
    if( tensorTextIs(t, ',') ){
      t->i++;
      tensorTextSpace(t);
      if( !tensorTextIs(t, '"') ) return tensorTextSyntax(t, "a string");
    }else if( !tensorTextIs(t, '}') ){
      return tensorTextSyntax(t, "',' or '}'");
    }
  }
  t->i++;

  if( zDtype==0 || nDim<0 || nOff<0 ){
    return tensorError(p, pErr, "tensor '%.*s' has no \"%s\", expected "
        "\"dtype\", \"shape\" and \"data_offsets\"", nShow, zName,
        zDtype==0 ? "dtype" : nDim<0 ? "shape" : "data_offsets");
  }
  for(e.eType=0; e.eType<TENSOR_NTYPE; e.eType++){
    if( tensorStrEq(zDtype, nDtype, aTensorType[e.eType].zName) ) break;
  }
  if( e.eType>=TENSOR_NTYPE ){
    return tensorError(p, pErr, "tensor '%.*s' has dtype '%.*s', which is "
        "not supported (expected F64, F32, F16, BF16, I64, I32, I16, I8, "
        "U64, U32, U16, U8 or BOOL)", nShow, zName,
        (int)(nDtype<40 ? nDtype : 40), zDtype);
  }
  e.info.nDim = nDim;
  e.info.aShape = aShape;
  if( (rc = tensorSizes(p, &e, zName, (size_t)nName, pErr)) ) return rc;
  attn_tensor_shape_json(aShape, nDim, zShape);
  if( nOff!=2 ){
    return tensorError(p, pErr, "tensor '%.*s' has %d data_offsets, "
        "expected 2 ([begin, end])", nShow, zName, nOff);
  }
  if( aOff[0]>aOff[1] ){
    return tensorError(p, pErr, "tensor '%.*s' has data_offsets [%lld, "
        "%lld], expected begin <= end", nShow, zName,
        (long long)aOff[0], (long long)aOff[1]);
  }
  if( (uint64_t)aOff[1]>nData ){
    return tensorError(p, pErr, "tensor '%.*s' has data_offsets [%lld, "
        "%lld], beyond the end of the data (%llu bytes)", nShow, zName,
        (long long)aOff[0], (long long)aOff[1], (unsigned long long)nData);
  }
  if( (uint64_t)(aOff[1]-aOff[0])!=e.nByte ){
    return tensorError(p, pErr, "tensor '%.*s' has data_offsets [%lld, "
        "%lld] (%lld bytes), but dtype %s and shape %s need %llu bytes",
        nShow, zName, (long long)aOff[0], (long long)aOff[1],
        (long long)(aOff[1]-aOff[0]), aTensorType[e.eType].zName, zShape,
        (unsigned long long)e.nByte);
  }
  e.iOffset = iData + (uint64_t)aOff[0];
  return tensorAppend(p, &e, zName, (size_t)nName, zDtype, (size_t)nDtype,
                      pErr);
}

/* Parse a .safetensors file. */
static int tensorSafeParse(attn_tensorfile *p, attn_err *pErr){
  unsigned char aLen[8];
  uint64_t nHdr, iData;
  TensorText t;
  int rc;

  if( p->nSize<8 ){
    return tensorError(p, pErr, "the file is truncated: it has %llu bytes, "
        "expected at least 8 (the header length)",
        (unsigned long long)p->nSize);
  }
  if( (rc = tensorReadAt(p, 0, 8, aLen, pErr)) ) return rc;
  nHdr = tensorGet64(aLen);
  if( nHdr>p->nSize-8 ){
    /* The 8 bytes are not quoted: this may be no .safetensors file. */
    return tensorError(p, pErr, "the header length in the first 8 bytes "
        "reaches beyond the end of the file (%llu bytes), expected a "
        ".safetensors file", (unsigned long long)p->nSize);
  }
  if( nHdr>ATTN_TENSOR_MAX_HEADER ){
    return tensorError(p, pErr, "the header length in the first 8 bytes is "
        "more than the limit of %d bytes", ATTN_TENSOR_MAX_HEADER);
  }
  memset(&t, 0, sizeof(t));
  t.p = p;
  t.pErr = pErr;
  t.n = nHdr;
  t.zWhat = "the JSON header is not valid";
  t.z = attn_malloc(nHdr+1);
  if( t.z==0 ) return attn_err_nomem(pErr);
  iData = 8 + nHdr;
  rc = tensorReadAt(p, 8, nHdr, t.z, pErr);
  /* First the syntax alone: errors quote names and values of the header
  ** only once it is valid JSON (a file that merely has '{' at byte 8 is
  ** described by positions, never by its bytes). */
  if( rc==ATTN_OK ){
    t.bDry = 1;
    rc = tensorJsonSkip(&t, 0);      /* depth 0: as the entries count it */
    tensorTextSpace(&t);
    if( rc==ATTN_OK && t.i<t.n ) rc = tensorTextSyntax(&t, "the end of the header");
    t.bDry = 0;
    t.i = 0;
  }
  if( rc==ATTN_OK ) rc = tensorTextEat(&t, '{', "'{'");
  if( rc==ATTN_OK ){
    tensorTextSpace(&t);
    while( rc==ATTN_OK && !tensorTextIs(&t, '}') ){
      char *zName;
      uint64_t nName;
      if( (rc = tensorJsonString(&t, &zName, &nName)) ) break;
      if( (rc = tensorTextEat(&t, ':', "':'")) ) break;
      tensorTextSpace(&t);
      if( tensorStrEq(zName, nName, "__metadata__") ){
        rc = tensorTextIs(&t, '{') ? tensorJsonSkip(&t, 1)
           : tensorTextSyntax(&t, "'{' (__metadata__ is an object)");
      }else{
        rc = tensorSafeEntry(&t, zName, nName, iData, p->nSize-iData);
      }
      if( rc ) break;
      tensorTextSpace(&t);
      if( tensorTextIs(&t, ',') ){
        t.i++;
        tensorTextSpace(&t);
        if( !tensorTextIs(&t, '"') ) rc = tensorTextSyntax(&t, "a string");
      }else if( !tensorTextIs(&t, '}') ){
        rc = tensorTextSyntax(&t, "',' or '}'");
      }
    }
  }
  if( rc==ATTN_OK ){
    t.i++;
    tensorTextSpace(&t);
    if( t.i<t.n ) rc = tensorTextSyntax(&t, "the end of the header");
  }
  attn_free(t.z);
  if( rc==ATTN_OK && p->nTensor>1 ){
    qsort(p->aTensor, (size_t)p->nTensor, sizeof(TensorEntry),
          tensorCompareOffset);
  }
  return rc;
}

/*
** .npy
*/

/* A Python string literal, '...' or "...", without escapes. */
static int tensorNpyString(TensorText *t, const char **pz, uint64_t *pn){
  unsigned char q;
  uint64_t iStart;
  tensorTextSpace(t);
  if( !tensorTextIs(t, '\'') && !tensorTextIs(t, '"') ){
    return tensorTextSyntax(t, "a string");
  }
  q = t->z[t->i++];
  iStart = t->i;
  while( t->i<t->n && t->z[t->i]!=q ){
    if( t->z[t->i]=='\\' || t->z[t->i]<0x20 ){
      return tensorTextSyntax(t, "a plain string character");
    }
    t->i++;
  }
  if( t->i>=t->n ) return tensorTextSyntax(t, "a quote to end the string");
  *pz = (const char*)&t->z[iStart];
  *pn = t->i - iStart;
  t->i++;
  return ATTN_OK;
}

/* A numpy dtype string: byte order '<', '>' or '|', kind, size. */
static int tensorNpyDtype(TensorEntry *pT, const char *z, uint64_t n){
  int i;
  if( n!=3 || (z[0]!='<' && z[0]!='>' && z[0]!='|') ) return 1;
  for(i=0; i<TENSOR_NTYPE; i++){
    const struct TensorType *pType = &aTensorType[i];
    if( pType->cKind==z[1] && pType->nByte==z[2]-'0' ){
      if( z[0]=='|' && pType->nByte!=1 ) return 1;
      pT->eType = i;
      pT->bBigEndian = z[0]=='>' && pType->nByte>1;
      return 0;
    }
  }
  return 1;
}

/* The header dict: {'descr': '<f4', 'fortran_order': False,
** 'shape': (3, 4), }.  Sets the type, order and shape of pT (whose aShape
** is the caller's array of ATTN_TENSOR_MAX_DIMS) and *pzDescr, *pnDescr. */
static int tensorNpyHeader(TensorText *t, TensorEntry *pT, int64_t *aShape,
                           const char **pzDescr, uint64_t *pnDescr){
  static const char *const azKey[] = { "descr", "fortran_order", "shape" };
  int seen[3] = {0, 0, 0};
  int rc, k;
  if( (rc = tensorTextEat(t, '{', "'{'")) ) return rc;
  tensorTextSpace(t);
  while( !tensorTextIs(t, '}') ){
    const char *zKey;
    uint64_t nKey;
    if( (rc = tensorNpyString(t, &zKey, &nKey)) ) return rc;
    for(k=0; k<3 && !tensorStrEq(zKey, nKey, azKey[k]); k++){}
    if( k==3 ){
      return tensorError(t->p, t->pErr, "the .npy header has the key "
          "'%.*s', expected only 'descr', 'fortran_order' and 'shape'",
          (int)(nKey<40 ? nKey : 40), zKey);
    }
    if( seen[k]++ ){
      return tensorError(t->p, t->pErr, "the .npy header has the key '%s' "
                         "twice", azKey[k]);
    }
    if( (rc = tensorTextEat(t, ':', "':'")) ) return rc;
    tensorTextSpace(t);
    if( k==0 ){
      if( tensorTextIs(t, '[') ){
        return tensorError(t->p, t->pErr, "the array has a structured dtype, "
            "which is not supported (expected a plain numeric dtype)");
      }
      if( (rc = tensorNpyString(t, pzDescr, pnDescr)) ) return rc;
    }else if( k==1 ){
      if( tensorTextWord(t, "True") ){
        pT->bFortran = 1;
      }else if( !tensorTextWord(t, "False") ){
        return tensorTextSyntax(t, "True or False");
      }
    }else{
      rc = tensorTextIntList(t, 1, aShape, ATTN_TENSOR_MAX_DIMS,
                             &pT->info.nDim, "the shape");
      if( rc ) return rc;
    }
    tensorTextSpace(t);
    if( tensorTextIs(t, ',') ){
      t->i++;
      tensorTextSpace(t);
    }else if( !tensorTextIs(t, '}') ){
      return tensorTextSyntax(t, "',' or '}'");
    }
  }
  t->i++;
  tensorTextSpace(t);
  if( t->i<t->n ) return tensorTextSyntax(t, "the end of the header");
  for(k=0; k<3 && seen[k]; k++){}
  if( k<3 ){
    return tensorError(t->p, t->pErr, "the .npy header has no '%s' key",
                       azKey[k]);
  }
  if( tensorNpyDtype(pT, *pzDescr, *pnDescr) ){
    return tensorError(t->p, t->pErr, "dtype '%.*s' is not supported "
        "(expected float '<f2' '<f4' '<f8', integer '<i1'..'<i8' "
        "'<u1'..'<u8', or bool '|b1'; '>' for big-endian)",
        (int)(*pnDescr<40 ? *pnDescr : 40), *pzDescr);
  }
  return ATTN_OK;
}

/* Parse the .npy array in the nAvail bytes at offset iBase, the tensor
** zName[0..nName): the whole file, or an .npz member (p->zMember set). */
static int tensorNpyParse(attn_tensorfile *p, uint64_t iBase, uint64_t nAvail,
                          const char *zName, size_t nName, attn_err *pErr){
  static const unsigned char aMagic[6] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };
  const char *zWhere = p->zMember ? "member" : "file";
  unsigned char a[12];
  uint64_t nPre, nHdr, nData;
  TensorEntry e;
  int64_t aShape[ATTN_TENSOR_MAX_DIMS];
  const char *zDescr = 0;
  uint64_t nDescr = 0;
  TensorText t;
  int rc;

  rc = tensorReadAt(p, iBase, nAvail<12 ? nAvail : 12, a, pErr);
  if( rc ) return rc;
  if( memcmp(a, aMagic, nAvail<6 ? (size_t)nAvail : 6)!=0 ){
    return tensorError(p, pErr, "the %s does not start with the .npy magic "
                       "string \\x93NUMPY", zWhere);
  }
  if( nAvail<10 ){
    return tensorError(p, pErr, "the %s is truncated: it has %llu bytes, "
        "expected at least 10 (the .npy preamble)", zWhere,
        (unsigned long long)nAvail);
  }
  if( a[6]<1 || a[6]>3 || a[7]!=0 ){
    return tensorError(p, pErr, "the .npy format version is %d.%d, expected "
                       "1.0, 2.0 or 3.0", a[6], a[7]);
  }
  if( a[6]==1 ){
    nPre = 10;
    nHdr = tensorGet16(a+8);
  }else{
    if( nAvail<12 ){
      return tensorError(p, pErr, "the %s is truncated: it has %llu bytes, "
          "expected at least 12 (the .npy preamble)", zWhere,
          (unsigned long long)nAvail);
    }
    nPre = 12;
    nHdr = tensorGet32(a+8);
  }
  if( nHdr>nAvail-nPre ){
    return tensorError(p, pErr, "the header length in the .npy preamble "
        "reaches beyond the end of the %s (%llu bytes)", zWhere,
        (unsigned long long)nAvail);
  }
  if( nHdr>TENSOR_NPY_MAX_HEADER ){
    return tensorError(p, pErr, "the header length in the .npy preamble is "
        "more than the limit of %d bytes", TENSOR_NPY_MAX_HEADER);
  }

  memset(&e, 0, sizeof(e));
  e.info.aShape = aShape;
  memset(&t, 0, sizeof(t));
  t.p = p;
  t.pErr = pErr;
  t.n = nHdr;
  t.zWhat = "the .npy header is not a valid Python dict";
  t.z = attn_malloc(nHdr+1);
  if( t.z==0 ) return attn_err_nomem(pErr);
  rc = tensorReadAt(p, iBase+nPre, nHdr, t.z, pErr);
  if( rc==ATTN_OK ) rc = tensorNpyHeader(&t, &e, aShape, &zDescr, &nDescr);
  if( rc==ATTN_OK ) rc = tensorSizes(p, &e, zName, nName, pErr);
  if( rc==ATTN_OK ){
    char zShape[ATTN_TENSOR_SHAPE_JSON_MAX];
    attn_tensor_shape_json(aShape, e.info.nDim, zShape);
    nData = nAvail - nPre - nHdr;
    if( e.nByte>nData ){
      rc = tensorError(p, pErr, "the %s is truncated: shape %s of dtype '%.*s' "
          "needs %llu bytes of data, but %llu follow the header", zWhere,
          zShape, (int)nDescr, zDescr, (unsigned long long)e.nByte,
          (unsigned long long)nData);
    }else if( e.nByte<nData ){
      rc = tensorError(p, pErr, "the %s has %llu bytes after the data "
          "(shape %s of dtype '%.*s', %llu bytes), expected none", zWhere,
          (unsigned long long)(nData-e.nByte), zShape, (int)nDescr, zDescr,
          (unsigned long long)e.nByte);
    }else{
      e.iOffset = iBase + nPre + nHdr;
      rc = tensorAppend(p, &e, zName, nName, zDescr, (size_t)nDescr, pErr);
    }
  }
  attn_free(t.z);
  return rc;
}

/*
** .npz: a zip archive of .npy members.
*/
#define TENSOR_ZIP_EOCD     0x06054b50
#define TENSOR_ZIP64_LOC    0x07064b50
#define TENSOR_ZIP64_EOCD   0x06064b50
#define TENSOR_ZIP_CENTRAL  0x02014b50
#define TENSOR_ZIP_LOCAL    0x04034b50

/* Find the end-of-central-directory record and read where the central
** directory is (zip64 too).  *piEnd gets the offset the directory must end
** before. */
static int tensorZipEnd(attn_tensorfile *p, uint64_t *pnEntry,
                        uint64_t *piDir, uint64_t *pnDir, uint64_t *piEnd,
                        attn_err *pErr){
  uint64_t nTail = p->nSize<22+0xffff ? p->nSize : 22+0xffff;
  uint64_t iTail = p->nSize - nTail, j, iEocd;
  unsigned char *a, *e;
  unsigned char aLoc[20], a64[56];
  int rc;

  if( nTail<22 ){
    return tensorError(p, pErr, "the file is not a valid zip archive: it has "
        "%llu bytes, fewer than the 22 of an end-of-central-directory record",
        (unsigned long long)p->nSize);
  }
  a = attn_malloc(nTail);
  if( a==0 ) return attn_err_nomem(pErr);
  if( (rc = tensorReadAt(p, iTail, nTail, a, pErr)) ){
    attn_free(a);
    return rc;
  }
  for(j=nTail-22; ; j--){
    if( tensorGet32(a+j)==TENSOR_ZIP_EOCD && j+22+tensorGet16(a+j+20)==nTail ){
      break;
    }
    if( j==0 ){
      attn_free(a);
      return tensorError(p, pErr, "the file is not a valid zip archive: it "
                         "has no end-of-central-directory record");
    }
  }
  e = a+j;
  iEocd = iTail + j;
  if( tensorGet16(e+4)!=0 || tensorGet16(e+6)!=0
   || tensorGet16(e+8)!=tensorGet16(e+10)
  ){
    attn_free(a);
    return tensorError(p, pErr, "multi-disk zip archives are not supported");
  }
  *pnEntry = tensorGet16(e+10);
  *pnDir = tensorGet32(e+12);
  *piDir = tensorGet32(e+16);
  *piEnd = iEocd;
  attn_free(a);
  if( *pnEntry==0xffff || *pnDir==0xffffffff || *piDir==0xffffffff ){
    uint64_t i64;
    if( iEocd<20 ) rc = 1;
    else rc = tensorReadAt(p, iEocd-20, 20, aLoc, pErr);
    if( rc==ATTN_OK && tensorGet32(aLoc)!=TENSOR_ZIP64_LOC ) rc = 1;
    if( rc ){
      return tensorError(p, pErr, "the zip archive has 0xffff entries or a "
          "0xffffffff size or offset but no zip64 locator before its end "
          "record");
    }
    i64 = tensorGet64(aLoc+8);
    if( i64>iEocd-20 || iEocd-20-i64<56 ){
      return tensorError(p, pErr, "the zip64 end record offset %llu is "
          "beyond its locator at %llu", (unsigned long long)i64,
          (unsigned long long)(iEocd-20));
    }
    if( (rc = tensorReadAt(p, i64, 56, a64, pErr)) ) return rc;
    if( tensorGet32(a64)!=TENSOR_ZIP64_EOCD ){
      return tensorError(p, pErr, "there is no zip64 end record at offset "
                         "%llu, where the locator points",
                         (unsigned long long)i64);
    }
    if( tensorGet32(a64+16)!=0 || tensorGet32(a64+20)!=0
     || tensorGet64(a64+24)!=tensorGet64(a64+32)
    ){
      return tensorError(p, pErr, "multi-disk zip archives are not supported");
    }
    *pnEntry = tensorGet64(a64+32);
    *pnDir = tensorGet64(a64+40);
    *piDir = tensorGet64(a64+48);
    *piEnd = i64;
  }
  return ATTN_OK;
}

/* The zip64 extended-information extra field of a central directory entry
** holds, in this order, the 64-bit values whose 32-bit fields are all ones. */
static int tensorZip64Extra(attn_tensorfile *p, const unsigned char *a,
                            uint64_t n, uint64_t *pnSize, uint64_t *pnComp,
                            uint64_t *piLocal, attn_err *pErr){
  uint64_t *ap[3];
  int nWant = 0, k;
  if( *pnSize==0xffffffff ) ap[nWant++] = pnSize;
  if( *pnComp==0xffffffff ) ap[nWant++] = pnComp;
  if( *piLocal==0xffffffff ) ap[nWant++] = piLocal;
  if( nWant==0 ) return ATTN_OK;
  while( n>=4 ){
    unsigned id = tensorGet16(a), sz = tensorGet16(a+2);
    if( sz>n-4 ) break;
    if( id==0x0001 ){
      if( sz<8*(unsigned)nWant ) break;
      for(k=0; k<nWant; k++) *ap[k] = tensorGet64(a+4+8*k);
      return ATTN_OK;
    }
    a += 4+sz;
    n -= 4+sz;
  }
  return tensorError(p, pErr, "the zip64 extra field is missing or too "
                     "short for the sizes it must hold");
}

/* Check one central directory entry (46 bytes at d, then the name, extra
** and comment, already bounds-checked), find its data, and parse it as
** .npy.  The data must lie before iDir, where the central directory starts. */
static int tensorZipMember(attn_tensorfile *p, const unsigned char *d,
                           uint64_t iDir, attn_err *pErr){
  unsigned nName = tensorGet16(d+28), nExtra = tensorGet16(d+30);
  unsigned flags = tensorGet16(d+8), method = tensorGet16(d+10);
  uint64_t nComp = tensorGet32(d+20), nSize = tensorGet32(d+24);
  uint64_t iLocal = tensorGet32(d+42), iData;
  const char *zName = (const char*)d+46;
  unsigned char aLocal[30];
  size_t nTensorName = nName;
  int rc;

  rc = tensorZip64Extra(p, d+46+nName, nExtra, &nSize, &nComp, &iLocal, pErr);
  if( rc ) return rc;
  if( flags & 1 ){
    return tensorError(p, pErr, "the member is encrypted, which is not "
                       "supported");
  }
  if( method==8 ){
    return tensorError(p, pErr, "the member is compressed (deflate): "
        "compressed .npz is not supported; save with numpy.savez (not "
        "savez_compressed)");
  }
  if( method!=0 ){
    return tensorError(p, pErr, "the member uses compression method %u, "
                       "expected 0 (stored)", method);
  }
  if( nComp!=nSize ){
    return tensorError(p, pErr, "the member is stored but its compressed "
        "size %llu differs from its size %llu", (unsigned long long)nComp,
        (unsigned long long)nSize);
  }
  if( iLocal>iDir || iDir-iLocal<30 ){
    return tensorError(p, pErr, "the local header offset %llu is beyond the "
        "central directory (offset %llu)", (unsigned long long)iLocal,
        (unsigned long long)iDir);
  }
  if( (rc = tensorReadAt(p, iLocal, 30, aLocal, pErr)) ) return rc;
  if( tensorGet32(aLocal)!=TENSOR_ZIP_LOCAL ){
    return tensorError(p, pErr, "there is no local header at offset %llu",
                       (unsigned long long)iLocal);
  }
  iData = iLocal + 30 + tensorGet16(aLocal+26) + tensorGet16(aLocal+28);
  if( iData>iDir || nSize>iDir-iData ){
    return tensorError(p, pErr, "the data (%llu bytes at offset %llu) runs "
        "into the central directory (offset %llu)",
        (unsigned long long)nSize, (unsigned long long)iData,
        (unsigned long long)iDir);
  }
  if( tensorHasSuffix(zName, nName, ".npy") ) nTensorName -= 4;
  return tensorNpyParse(p, iData, nSize, zName, nTensorName, pErr);
}

/* Parse a .npz archive. */
static int tensorZipParse(attn_tensorfile *p, attn_err *pErr){
  uint64_t nEntry = 0, iDir = 0, nDir = 0, iEnd = 0, k, o = 0;
  unsigned char *aDir;
  int rc;

  if( (rc = tensorZipEnd(p, &nEntry, &iDir, &nDir, &iEnd, pErr)) ) return rc;
  if( iDir>iEnd || nDir>iEnd-iDir ){
    return tensorError(p, pErr, "the zip central directory (%llu bytes at "
        "offset %llu) runs past its end record (offset %llu)",
        (unsigned long long)nDir, (unsigned long long)iDir,
        (unsigned long long)iEnd);
  }
  if( nDir>ATTN_TENSOR_MAX_HEADER ){
    return tensorError(p, pErr, "the zip central directory has %llu bytes, "
        "more than the limit of %d", (unsigned long long)nDir,
        ATTN_TENSOR_MAX_HEADER);
  }
  if( nEntry>nDir/46 ){
    return tensorError(p, pErr, "the zip archive claims %llu entries, more "
        "than its central directory of %llu bytes can hold",
        (unsigned long long)nEntry, (unsigned long long)nDir);
  }
  if( nEntry==0 ) return ATTN_OK;
  aDir = attn_malloc(nDir);
  if( aDir==0 ) return attn_err_nomem(pErr);
  rc = tensorReadAt(p, iDir, nDir, aDir, pErr);
  for(k=0; rc==ATTN_OK && k<nEntry; k++){
    const unsigned char *d = aDir+o;
    uint64_t nEntryBytes;
    char *zMember;
    if( nDir-o<46 || tensorGet32(d)!=TENSOR_ZIP_CENTRAL ){
      rc = tensorError(p, pErr, "zip central directory entry %llu (at "
          "offset %llu) is truncated or has a bad signature",
          (unsigned long long)k, (unsigned long long)(iDir+o));
      break;
    }
    nEntryBytes = 46 + (uint64_t)tensorGet16(d+28) + tensorGet16(d+30)
                + tensorGet16(d+32);
    if( nEntryBytes>nDir-o ){
      rc = tensorError(p, pErr, "zip central directory entry %llu runs past "
          "the end of the directory", (unsigned long long)k);
      break;
    }
    zMember = attn_malloc((uint64_t)tensorGet16(d+28)+1);
    if( zMember==0 ){
      rc = attn_err_nomem(pErr);
      break;
    }
    memcpy(zMember, d+46, tensorGet16(d+28));
    zMember[tensorGet16(d+28)] = 0;
    p->zMember = zMember;
    p->iMember = k;
    rc = tensorZipMember(p, d, iDir, pErr);
    p->zMember = 0;
    attn_free(zMember);
    o += nEntryBytes;
  }
  attn_free(aDir);
  return rc;
}

/*
** Opening and closing.
*/

/* Recognise the format and parse the headers. */
static int tensorParse(attn_tensorfile *p, const char *zName, attn_err *pErr){
  static const unsigned char aNpy[6] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };
  unsigned char a[9];
  uint64_t n = p->nSize<9 ? p->nSize : 9;
  size_t nName = strlen(zName);
  int rc;

  if( p->nSize==0 ){
    return tensorError(p, pErr, "the file is empty (0 bytes), expected a "
                       ".npy, .npz or .safetensors file");
  }
  if( (rc = tensorReadAt(p, 0, n, a, pErr)) ) return rc;
  if( n>=6 && memcmp(a, aNpy, 6)==0 ){
    p->zFormat = "npy";
  }else if( n>=4 && a[0]=='P' && a[1]=='K'
         && ((a[2]==3 && a[3]==4) || (a[2]==5 && a[3]==6)) ){
    p->zFormat = "npz";
  }else if( n>=9 && a[8]=='{' ){
    p->zFormat = "safetensors";
  }else if( tensorHasSuffix(zName, nName, ".npy") ){
    p->zFormat = "npy";
  }else if( tensorHasSuffix(zName, nName, ".npz") ){
    p->zFormat = "npz";
  }else if( tensorHasSuffix(zName, nName, ".safetensors") ){
    p->zFormat = "safetensors";
  }else{
    /* What was expected, never what was found: the file may be anything. */
    return tensorError(p, pErr, "the file is not a .npy, .npz or "
        ".safetensors file: expected it to start with \\x93NUMPY (.npy), "
        "PK\\3\\4 (.npz) or an 8-byte header length and '{' "
        "(.safetensors), or a name ending in one of those suffixes");
  }
  if( p->zFormat[0]=='s' ){
    rc = tensorSafeParse(p, pErr);
  }else if( p->zFormat[2]=='z' ){
    rc = tensorZipParse(p, pErr);
  }else{
    /* A .npy is named after its file: the base name without ".npy". */
    const char *zBase = zName + nName;
    while( zBase>zName && zBase[-1]!='/' && zBase[-1]!='\\' ) zBase--;
    nName -= (size_t)(zBase-zName);
    if( tensorHasSuffix(zBase, nName, ".npy") ) nName -= 4;
    rc = tensorNpyParse(p, 0, p->nSize, zBase, nName, pErr);
  }
  if( rc==ATTN_OK ) rc = tensorCheckUnique(p, pErr);
  return rc;
}

/* A new reader for the file zName (shortened from the left for messages). */
static attn_tensorfile *tensorNew(const char *zName){
  attn_tensorfile *p = attn_malloc_zero(sizeof(*p));
  size_t n = strlen(zName);
  if( p==0 ) return 0;
  if( n<=TENSOR_FILE_NAME_MAX ){
    memcpy(p->zFile, zName, n+1);
  }else{
    const char *z = zName + n - (TENSOR_FILE_NAME_MAX-3);
    while( (*z & 0xc0)==0x80 ) z++;          /* a whole UTF-8 character */
    memcpy(p->zFile, "...", 3);
    memcpy(p->zFile+3, z, strlen(z)+1);
  }
  return p;
}

int attn_tensorfile_open(const char *zPath, int64_t nPath,
                         attn_tensorfile **ppFile, attn_err *pErr){
  attn_tensorfile *p;
  struct stat st;
  int rc;
  *ppFile = 0;
  if( zPath && nPath<0 ) nPath = (int64_t)strlen(zPath);
  if( zPath==0 || nPath==0 ){
    return attn_err_set(pErr, ATTN_ERROR, "the file path is empty");
  }
  if( memchr(zPath, 0, (size_t)nPath) ){
    /* The C library would open the path up to the NUL: another file. */
    return attn_err_set(pErr, ATTN_ERROR, "the file path contains a NUL "
        "character (at byte %lld), which would end it there: expected a "
        "path without NUL", (long long)((const char*)memchr(zPath, 0,
        (size_t)nPath) - zPath) + 1);
  }
  p = tensorNew(zPath);
  if( p==0 ) return attn_err_nomem(pErr);
  /* stat() first: fopen() of a FIFO would block, of a directory succeed. */
  if( stat(zPath, &st)!=0 ){
    rc = tensorError(p, pErr, "cannot open the file (%s)", strerror(errno));
  }else if( S_ISDIR(st.st_mode) ){
    rc = tensorError(p, pErr, "is a directory, expected a .npy, .npz or "
                     ".safetensors file");
  }else if( !S_ISREG(st.st_mode) ){
    rc = tensorError(p, pErr, "is not a regular file");
  }else if( (p->pFile = fopen(zPath, "rb"))==0 ){
    rc = tensorError(p, pErr, "cannot open the file (%s)", strerror(errno));
  }else if( fstat(fileno(p->pFile), &st)!=0 || !S_ISREG(st.st_mode) ){
    rc = tensorError(p, pErr, "is not a regular file");
  }else{
    p->nSize = (uint64_t)st.st_size;
    rc = tensorParse(p, zPath, pErr);
  }
  if( rc ){
    attn_tensorfile_close(p);
    return rc;
  }
  *ppFile = p;
  return ATTN_OK;
}

int attn_tensorfile_open_memory(const void *a, uint64_t n, const char *zName,
                                attn_tensorfile **ppFile, attn_err *pErr){
  attn_tensorfile *p;
  int rc;
  *ppFile = 0;
  if( zName==0 ) zName = "memory";
  p = tensorNew(zName);
  if( p==0 ) return attn_err_nomem(pErr);
  p->aMem = a;
  p->nSize = n;
  rc = tensorParse(p, zName, pErr);
  if( rc ){
    attn_tensorfile_close(p);
    return rc;
  }
  *ppFile = p;
  return ATTN_OK;
}

void attn_tensorfile_close(attn_tensorfile *p){
  int i;
  if( p==0 ) return;
  for(i=0; i<p->nTensor; i++) attn_free(p->aTensor[i].pBlock);
  attn_free(p->aTensor);
  if( p->pFile ) fclose(p->pFile);
  attn_free(p);
}

const char *attn_tensorfile_format(const attn_tensorfile *p){
  return p->zFormat;
}

const char *attn_tensorfile_name(const attn_tensorfile *p){
  return p->zFile;
}

int attn_tensorfile_count(const attn_tensorfile *p){
  return p->nTensor;
}

const attn_tensor_info *attn_tensorfile_info(const attn_tensorfile *p, int i){
  return (i>=0 && i<p->nTensor) ? &p->aTensor[i].info : 0;
}

/*
** Reading data.
*/

/* Reverse the bytes of each of n elements of w bytes. */
static void tensorSwapBytes(unsigned char *a, int64_t n, int w){
  int64_t k;
  int j;
  for(k=0; k<n; k++, a+=w){
    for(j=0; j<w/2; j++){
      unsigned char c = a[j];
      a[j] = a[w-1-j];
      a[w-1-j] = c;
    }
  }
}

/* float64 to float32, rounding to nearest; beyond the float32 range
** (|d| >= FLT_MAX + half an ulp) gives infinity, without the undefined
** behaviour of an out-of-range conversion. */
static float tensorF64ToF32(double d){
  if( d>=0x1.ffffffp127 ) return (float)INFINITY;
  if( d<=-0x1.ffffffp127 ) return -(float)INFINITY;
  return (float)d;
}

static double tensorLoadF64(const unsigned char *q){
  uint64_t u = tensorGet64(q);
  double d;
  memcpy(&d, &u, 8);
  return d;
}

/* Decode n little-endian elements of type eType at q into a. */
static void tensorDecode(int eType, const unsigned char *q, int64_t n,
                         float *a){
  int64_t k;
  switch( eType ){
    case TENSOR_F64:
      for(k=0; k<n; k++) a[k] = tensorF64ToF32(tensorLoadF64(q+8*k));
      break;
    case TENSOR_F32:
      for(k=0; k<n; k++){ uint32_t u = tensorGet32(q+4*k); memcpy(&a[k], &u, 4); }
      break;
    case TENSOR_F16:
      for(k=0; k<n; k++) a[k] = attn_f16_to_f32(tensorGet16(q+2*k));
      break;
    case TENSOR_BF16:
      for(k=0; k<n; k++) a[k] = attn_bf16_to_f32(tensorGet16(q+2*k));
      break;
    case TENSOR_I64:
      for(k=0; k<n; k++) a[k] = (float)(int64_t)tensorGet64(q+8*k);
      break;
    case TENSOR_I32:
      for(k=0; k<n; k++) a[k] = (float)(int32_t)tensorGet32(q+4*k);
      break;
    case TENSOR_I16:
      for(k=0; k<n; k++) a[k] = (float)(int16_t)tensorGet16(q+2*k);
      break;
    case TENSOR_I8:
      for(k=0; k<n; k++) a[k] = (float)(int8_t)q[k];
      break;
    case TENSOR_U64:
      for(k=0; k<n; k++) a[k] = (float)tensorGet64(q+8*k);
      break;
    case TENSOR_U32:
      for(k=0; k<n; k++) a[k] = (float)tensorGet32(q+4*k);
      break;
    case TENSOR_U16:
      for(k=0; k<n; k++) a[k] = (float)tensorGet16(q+2*k);
      break;
    default: /* TENSOR_U8, TENSOR_BOOL (numpy reads any non-zero as True) */
      for(k=0; k<n; k++){
        a[k] = eType==TENSOR_BOOL ? (q[k]!=0) : (float)q[k];
      }
      break;
  }
}

/* Walks the row-major positions of a Fortran-order (column-major) array in
** file order: the first index moves fastest. */
typedef struct TensorOdometer TensorOdometer;
struct TensorOdometer {
  int nDim;
  const int64_t *aShape;
  int64_t aIdx[ATTN_TENSOR_MAX_DIMS];      /* the current index */
  int64_t aStride[ATTN_TENSOR_MAX_DIMS];   /* row-major strides */
  int64_t iPos;                            /* row-major position of aIdx */
};

static void tensorOdometerInit(TensorOdometer *o, const attn_tensor_info *pI){
  int d;
  o->nDim = pI->nDim;
  o->aShape = pI->aShape;
  o->iPos = 0;
  for(d=pI->nDim-1; d>=0; d--){
    o->aIdx[d] = 0;
    o->aStride[d] = d==pI->nDim-1 ? 1 : o->aStride[d+1]*pI->aShape[d+1];
  }
}

/* Store the n values of aIn, the next ones in file order, at their
** row-major positions in a. */
static void tensorOdometerScatter(TensorOdometer *o, const float *aIn,
                                  int64_t n, float *a){
  int64_t k;
  for(k=0; k<n; k++){
    int d = 0;
    a[o->iPos] = aIn[k];
    o->aIdx[0]++;
    o->iPos += o->aStride[0];
    while( o->aIdx[d]==o->aShape[d] && d+1<o->nDim ){
      o->iPos -= o->aShape[d]*o->aStride[d];
      o->aIdx[d] = 0;
      d++;
      o->aIdx[d]++;
      o->iPos += o->aStride[d];
    }
  }
}

/* The file-order index of the element at row-major index k of a
** Fortran-order array. */
static uint64_t tensorFortranIndex(const attn_tensor_info *pI, int64_t k){
  int64_t aIdx[ATTN_TENSOR_MAX_DIMS];
  uint64_t iFile = 0, nStride = 1;
  int j;
  for(j=pI->nDim-1; j>=0; j--){
    aIdx[j] = k % pI->aShape[j];
    k /= pI->aShape[j];
  }
  for(j=0; j<pI->nDim; j++){
    iFile += (uint64_t)aIdx[j]*nStride;
    nStride *= (uint64_t)pI->aShape[j];
  }
  return iFile;
}

/* Fail if a[] holds a value that is not a finite float32, naming the
** first such element by its row-major index. */
static int tensorCheckFinite(attn_tensorfile *p, const TensorEntry *pT,
                             const float *a, attn_err *pErr){
  const attn_tensor_info *pI = &pT->info;
  int64_t k;
  for(k=0; k<pI->nElem && isfinite(a[k]); k++){}
  if( k==pI->nElem ) return ATTN_OK;
  if( pT->eType==TENSOR_F64 ){
    /* Re-read the float64 to tell "out of range" from NaN and infinity. */
    uint64_t iFile = pT->bFortran ? tensorFortranIndex(pI, k) : (uint64_t)k;
    unsigned char q[8];
    double d;
    int rc;
    rc = tensorReadAt(p, pT->iOffset + 8*iFile, 8, q, pErr);
    if( rc ) return rc;
    if( pT->bBigEndian ) tensorSwapBytes(q, 1, 8);
    d = tensorLoadF64(q);
    if( isfinite(d) ){
      return tensorError(p, pErr, "tensor '%.80s' has element %lld equal to "
          "%.17g, outside the float32 range", pI->zName, (long long)k, d);
    }
  }
  return tensorError(p, pErr, "tensor '%.80s' has element %lld equal to %s, "
      "expected a finite number", pI->zName, (long long)k,
      isnan(a[k]) ? "NaN" : (a[k]>0 ? "Infinity" : "-Infinity"));
}

int attn_tensorfile_half(const attn_tensorfile *p, int i){
  if( i<0 || i>=p->nTensor ) return ATTN_VEC_F32;
  switch( p->aTensor[i].eType ){
    case TENSOR_F16:  return ATTN_VEC_F16;
    case TENSOR_BF16: return ATTN_VEC_BF16;
  }
  return ATTN_VEC_F32;
}

int attn_tensorfile_read(attn_tensorfile *p, int i, float *a, attn_err *pErr){
  const TensorEntry *pT;
  TensorOdometer odo;
  unsigned char *aRaw;
  float *aTmp = 0;
  int64_t k, nChunk;
  int w, rc = ATTN_OK;

  if( i<0 || i>=p->nTensor ){
    return attn_err_set(pErr, ATTN_ERROR, "%s: there is no tensor %d (the "
                        "file has %d)", p->zFile, i, p->nTensor);
  }
  pT = &p->aTensor[i];
  if( pT->info.nElem==0 ) return ATTN_OK;
  w = aTensorType[pT->eType].nByte;
  nChunk = pT->info.nElem<TENSOR_CHUNK ? pT->info.nElem : TENSOR_CHUNK;
  aRaw = attn_malloc((uint64_t)nChunk*(uint64_t)w);
  if( aRaw==0 ) return attn_err_nomem(pErr);
  memset(&odo, 0, sizeof(odo));
  if( pT->bFortran && pT->info.nDim>1 ){
    aTmp = attn_malloc((uint64_t)nChunk*sizeof(float));
    if( aTmp==0 ){
      attn_free(aRaw);
      return attn_err_nomem(pErr);
    }
    tensorOdometerInit(&odo, &pT->info);
  }
  for(k=0; k<pT->info.nElem; k+=nChunk){
    int64_t n = pT->info.nElem-k<nChunk ? pT->info.nElem-k : nChunk;
    rc = tensorReadAt(p, pT->iOffset + (uint64_t)k*(uint64_t)w,
                      (uint64_t)n*(uint64_t)w, aRaw, pErr);
    if( rc ) break;
    if( pT->bBigEndian ) tensorSwapBytes(aRaw, n, w);
    if( aTmp ){
      tensorDecode(pT->eType, aRaw, n, aTmp);
      tensorOdometerScatter(&odo, aTmp, n, a);
    }else{
      tensorDecode(pT->eType, aRaw, n, a+k);
    }
  }
  attn_free(aRaw);
  attn_free(aTmp);
  if( rc==ATTN_OK ) rc = tensorCheckFinite(p, pT, a, pErr);
  return rc;
}
