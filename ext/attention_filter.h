/*
** attention_filter.h: the query-row filters of attention() and
** attention_scores(), as attention_filter.c implements them for
** attention_tvf.c.
**
** A filter is one constraint of the WHERE clause on a query row's id
** (attention's id, attention_scores' qid) or position (pos, qpos): =, IN,
** <, <=, > or >=.  xBestIndex hands them to xFilter, which computes only
** the query rows that might pass all of them.  The rule that makes this
** safe: a filter never drops a row SQLite would return.  SQLite checks
** every filter again on the rows returned (a filter is never omitted), so
** a filter only has to answer "might this row pass?", and it says yes
** whenever the SQL comparison could go either way (attention_filter.c
** lists the cases).
*/
#ifndef ATTN_EXT_ATTENTION_FILTER_H
#define ATTN_EXT_ATTENTION_FILTER_H

#include "common.h"

/* The comparisons, and the characters that name them in idxStr. */
#define FILTER_EQ  0
#define FILTER_IN  1          /* column IN (...), all values at once */
#define FILTER_LT  2
#define FILTER_LE  3
#define FILTER_GT  4
#define FILTER_GE  5
#define FILTER_NOP 6
#define FILTER_OP_CHARS "=i<[>]"

/* At most this many filters per plan; SQLite checks the others. */
#define FILTER_MAX 8

typedef struct AttnFilter AttnFilter;
struct AttnFilter {
  int iCol;                 /* which column (the caller's numbering) */
  int eOp;                  /* FILTER_* */
  int nVal;                 /* values: 1, or those of the IN list */
  sqlite3_value **apVal;    /* copies, owned */
  int eTextEnc;             /* the database's text encoding (SQLITE_UTF8,
                            ** _UTF16LE or _UTF16BE), in whose bytes BINARY
                            ** compares two texts; 0 if unknown */
};

/* The filter comparison of an xBestIndex constraint (op, and whether
** sqlite3_vtab_in() says it is an IN that can be taken all at once), or
** -1 when it is not one. */
int attnFilterOp(unsigned char op, int bIn);

/* Fill *p from xFilter argument pArg (for FILTER_IN the list, read with
** sqlite3_vtab_in_first/next), texts to be compared in eTextEnc (that of
** the database: attnFilterTextEncoding).  SQLITE_OK or SQLITE_NOMEM (or
** the error of the IN list); on error *p holds nothing. */
int attnFilterInit(AttnFilter *p, int iCol, int eOp, sqlite3_value *pArg,
                   int eTextEnc);

/* The text encoding of db's main database (PRAGMA encoding), or 0 if it
** cannot be read (out of memory): then texts compare as "might pass". */
int attnFilterTextEncoding(sqlite3 *db);

/* Free what *p holds (a zeroed *p is fine). */
void attnFilterClear(AttnFilter *p);

/* Might a row whose column value is pVal (or, when pVal is NULL, the
** integer iVal) pass filter p? */
int attnFilterMaybe(const AttnFilter *p, sqlite3_value *pVal, int64_t iVal);

#endif /* ATTN_EXT_ATTENTION_FILTER_H */
