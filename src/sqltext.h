/*
** sqltext.h: what the source and keys SQL of attention() may be, decided on
** the text alone, before SQLite prepares it.
**
** SQLite applies many PRAGMAs while it prepares them (writable_schema,
** trusted_schema, query_only, soft_heap_limit, cache_size, busy_timeout,
** case_sensitive_like, ... set the connection in the code generator, and
** EXPLAIN PRAGMA runs the same code), so a statement refused after
** sqlite3_prepare() may already have changed the connection.  These
** functions read the text the way SQLite's tokenizer does (blanks, -- and
** C comments, quoted names and strings) and prepare nothing:
**
**   attn_sql_query()   the text is one query: its first word is SELECT,
**                      WITH or VALUES (never PRAGMA, EXPLAIN, ATTACH, ...),
**                      and no name or string in it starts with "pragma_"
**                      (a PRAGMA as a table-valued function, which runs the
**                      PRAGMA when the SELECT is stepped: pragma_optimize may
**                      write sqlite_stat1).  Gives the offset of that first
**                      word, where the caller starts preparing.
**   attn_sql_blank()   the text holds no statement (blanks, comments and
**                      semicolons only): what follows the prepared
**                      statement is checked with it, never prepared.
**
** A WITH may still lead to INSERT, UPDATE or DELETE: preparing those
** changes nothing, and the caller refuses any statement that is not
** read-only (sqlite3_stmt_readonly) before it runs.
*/
#ifndef ATTN_SQLTEXT_H
#define ATTN_SQLTEXT_H

#include <stdint.h>
#include "error.h"

/* Check that z[0..n) is one query (see above) and set *piStart to the
** offset of its first word.  zArg names the argument in messages. */
int attn_sql_query(const char *zArg, const char *z, int64_t n,
                   int64_t *piStart, attn_err *pErr);

/* 1 if z[0..n) holds only blanks, comments and semicolons, else 0. */
int attn_sql_blank(const char *z, int64_t n);

#endif /* ATTN_SQLTEXT_H */
