/*
** error.h: result codes and the error buffer of the attention engine.
**
** Every fallible function in src/ returns one of the ATTN_* codes below and,
** on failure, writes a sentence into an attn_err.  The codes have the same
** values as SQLite's, so the SQL layer passes them straight through.  The
** message is a fixed buffer: reporting an error never allocates, so it also
** works when memory has run out.  It is always valid UTF-8 (utf8.h): bytes
** that are not, from quoted input or a cut at the end, become '?'.  The message says what was expected and
** what was found; the SQL layer puts the function name in front of it.
*/
#ifndef ATTN_ERROR_H
#define ATTN_ERROR_H

#define ATTN_OK         0
#define ATTN_ERROR      1
#define ATTN_NOMEM      7
#define ATTN_INTERRUPT  9
#define ATTN_TOOBIG    18

typedef struct attn_err attn_err;
struct attn_err {
  int rc;            /* ATTN_OK or the code of the first error */
  char zMsg[512];    /* NUL-terminated message, "" when rc==ATTN_OK */
};

/* Reset an error buffer to ATTN_OK. */
void attn_err_clear(attn_err *pErr);

/* Record an error (printf-style message) and return rc.  NULL pErr is allowed. */
int attn_err_set(attn_err *pErr, int rc, const char *zFmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;

/* Record an out-of-memory error and return ATTN_NOMEM. */
int attn_err_nomem(attn_err *pErr);

#endif /* ATTN_ERROR_H */
