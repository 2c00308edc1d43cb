/*
** attention_rows.h: the rows of attention()'s source and keys SELECTs, as
** attention_rows.c reads them for attention_tvf.c.
**
** attnRowsRead() prepares one SELECT on the connection (after checking its
** text: src/sqltext.h), finds its columns by name (id, seq, pos, x, q, k,
** v, and bias on the key side), and reads every row before returning: ids
** as values, seq and pos as integers, bias as a float (attn_check_bias), the vector columns into blocks that never move (so growing
** copies no vector and the engine can read the rows in place), their BLOBs
** decoded as c->eDtype says (float32, float16 or bfloat16).  A position
** is checked as it is read (attn_check_pos); without a pos column the
** positions are not computed here: the engine computes the defaults, or
** attnRowsDefaultPositions() does when the caller needs them first.
** attnRowsParams() runs the params SELECT the same way and gives its one
** row, the arguments it sets.
** Errors name the row ("source row 3 (id 17): column x is NULL, expected a
** vector") and go to the virtual table's message.
*/
#ifndef ATTN_EXT_ATTENTION_ROWS_H
#define ATTN_EXT_ATTENTION_ROWS_H

#include "common.h"

/* Blocks of rows per vector column: nAlloc doubles from 64 and stays below
** ATTN_MAX_ROWS (2^30), so 25 blocks are the most one column can have. */
#define ROWS_MAX_BLOCK 32

/* The vector columns, in the order of AttnRows.aVec. */
#define ROWS_X 0
#define ROWS_Q 1
#define ROWS_K 2
#define ROWS_V 3

/* Where messages go: the virtual table and the function's name. */
typedef struct AttnRowsCtx AttnRowsCtx;
struct AttnRowsCtx {
  sqlite3 *db;
  sqlite3_vtab *pVtab;
  const char *zFunc;        /* "attention" or "attention_scores" */
  int eDtype;               /* how vector BLOBs are stored: ATTN_VEC_F32,
                            ** _F16 or _BF16 (src/vector.h) */
};

/* The rows of one SELECT. */
typedef struct AttnRows AttnRows;
struct AttnRows {
  int64_t n, nAlloc;
  sqlite3_value **aId;      /* id values (NULL entries: default row number) */
  int64_t *aSeq;            /* per row (0 when there is no seq column) */
  int64_t *aPos;            /* per row: the pos column, or the defaults once
                            ** attnRowsDefaultPositions() filled them */
  float *aBias;             /* per row: the bias column (key rows), or NULL
                            ** when the SELECT has none */
  int iBiasCol;             /* the bias column of the statement, or -1 */
  int bSeq;                 /* the SELECT has a seq column */
  int bPos;                 /* aPos holds positions (a pos column, or filled) */
  struct AttnRowsVec {      /* the vector columns x, q, k, v */
    int iCol;               /* column of the statement, -1 if absent/unused */
    int64_t nDim;
    float **apRow;          /* row i's nDim floats (nAlloc pointers) */
    float *apBlock[ROWS_MAX_BLOCK];
    int nBlock;
    int64_t iBlockRow;      /* first row of the last block */
  } aVec[4];
};

/* Read the source SELECT (text pSrc) and, when pKeys is not NULL, the keys
** SELECT into *pSrc and *pKeys.  The source gives q (or x), and k, v too
** without keys; the keys give k and v (or x).  Both must have a seq column,
** or neither.  Nested calls (the SQL calls attention() again) are allowed
** to ROWS_MAX_DEPTH. */
#define ROWS_MAX_DEPTH 16
int attnRowsRead(const AttnRowsCtx *c, sqlite3_value *pSrcSql,
                 sqlite3_value *pKeysSql, AttnRows *pSrc, AttnRows *pKeys);

/* Run the params SELECT pSql (the rules of source and keys) and read its
** one row into apVal, indexed by argument: apVal[j] gets a copy of the
** value of the column named azArg[j] (names as src/params.h matches them,
** bit j of mFixed: not from the row), NULL when there is no such column or
** its value is NULL.  Zero rows, two rows, a column that is not an
** argument are errors.  The caller frees the values (sqlite3_value_free);
** on error none is left. */
int attnRowsParams(const AttnRowsCtx *c, sqlite3_value *pSql, int nArg,
                   const char *const *azArg, uint32_t mFixed,
                   sqlite3_value **apVal);

/* Fill p->aPos with the default positions (each row's rank among the rows
** of its sequence, from 0) if there was no pos column. */
int attnRowsDefaultPositions(const AttnRowsCtx *c, AttnRows *p);

/* The vector column that feeds input k (ROWS_Q, _K or _V), x if absent. */
const struct AttnRowsVec *attnRowsInput(const AttnRows *p, int k);

/* "source row 3 (id 17)" for row i (0-based) of p; NULL when out of
** memory.  The id is quoted up to 40 bytes, never cutting a character. */
char *attnRowsName(const char *zSide, const AttnRows *p, int64_t i);

/* Free what p holds and zero it. */
void attnRowsClear(AttnRows *p);

#endif /* ATTN_EXT_ATTENTION_ROWS_H */
