/*
** params.h: the rules of attention()'s params argument, a SELECT that
** returns one row whose column names are argument names (a layer's
** weights and options stored as a row), decided here on the names and the
** row count; the SQL binding runs the SELECT (with the rules of sqltext.h)
** and passes what it found.
**
**   attn_params_match()  each column of the row names an argument, in any
**                        ASCII case (as SQL compares names), one that a
**                        row may set (not source, keys or params: those
**                        the caller says), and no argument twice; or it
**                        is the row's label, "name", which is ignored
**                        (but refused twice, as an argument is).
**   attn_params_rows()   the SELECT returned exactly one row.
**   attn_params_twice()  the message for an argument given both as an
**                        argument and by the row (the caller decides what
**                        counts as given: a NULL is not).
*/
#ifndef ATTN_PARAMS_H
#define ATTN_PARAMS_H

#include <stdint.h>
#include "error.h"

/* A column of this name (any case) is the row's label, not an argument:
** ignored, so that "SELECT * FROM layers WHERE name = 'enc.0'" is a params
** SELECT; every other column must name an argument. */
#define ATTN_PARAMS_LABEL "name"

/* The most arguments attn_params_match() can tell apart (bits of mFixed). */
#define ATTN_PARAMS_MAX_ARGS 32

/* Match the nCol column names azCol with the nArg argument names azArg:
** aiArg[i] gets the argument of column i (-1 for the label).  Bit j of mFixed: argument j may
** not come from the row.  An error names the column and lists what it may
** be. */
int attn_params_match(int nCol, const char *const *azCol, int nArg,
                      const char *const *azArg, uint32_t mFixed, int *aiArg,
                      attn_err *pErr);

/* nRow rows were returned (2 for "two or more"): ATTN_OK for exactly one. */
int attn_params_rows(int64_t nRow, attn_err *pErr);

/* Argument zArg was given both ways: set the error and return it. */
int attn_params_twice(const char *zArg, attn_err *pErr);

#endif /* ATTN_PARAMS_H */
