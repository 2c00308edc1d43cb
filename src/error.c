/*
** error.c: the error buffer of the attention engine (see error.h).
*/
#include "error.h"
#include "utf8.h"
#include <stdarg.h>
#include <stdio.h>

void attn_err_clear(attn_err *pErr){
  if( pErr ){ pErr->rc = ATTN_OK; pErr->zMsg[0] = 0; }
}

int attn_err_set(attn_err *pErr, int rc, const char *zFmt, ...){
  if( pErr ){
    va_list ap;
    va_start(ap, zFmt);
    vsnprintf(pErr->zMsg, sizeof(pErr->zMsg), zFmt, ap);
    va_end(ap);
    /* Valid UTF-8 whatever was quoted, and however the buffer cut it. */
    attn_utf8_repair(pErr->zMsg);
    pErr->rc = rc;
  }
  return rc;
}

int attn_err_nomem(attn_err *pErr){
  return attn_err_set(pErr, ATTN_NOMEM, "out of memory");
}
