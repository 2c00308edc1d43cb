/*
** sqltext.c: the source and keys SQL checked on its text (see sqltext.h).
*/
#include "sqltext.h"
#include "utf8.h"
#include <string.h>

/* A token: its kind and bytes z[i..i+n), for a quoted one the bytes
** between the quotes (escaped quotes still doubled). */
#define SQLTOK_END     0
#define SQLTOK_WORD    1       /* a bare name or keyword */
#define SQLTOK_QUOTED  2       /* "name", [name], `name` or 'string' */
#define SQLTOK_OTHER   3       /* a number, an operator, ... */

typedef struct SqlTok SqlTok;
struct SqlTok {
  int eKind;
  int64_t iStart, nLen;        /* the whole token */
  int64_t iBody, nBody;        /* inside the quotes, or the word */
};

/* SQLite's IdChar(): letters, digits, '_', '$' and every byte >= 0x80. */
static int sqlIdChar(unsigned char c){
  return c>=0x80 || (c>='a' && c<='z') || (c>='A' && c<='Z')
      || (c>='0' && c<='9') || c=='_' || c=='$';
}

/* Skip blanks and comments from i (and semicolons when bSemi). */
static int64_t sqlSkip(const char *z, int64_t n, int64_t i, int bSemi){
  while( i<n ){
    char c = z[i];
    if( c==' ' || c=='\t' || c=='\n' || c=='\f' || c=='\r' || (bSemi && c==';') ){
      i++;
    }else if( c=='-' && i+1<n && z[i+1]=='-' ){
      while( i<n && z[i]!='\n' ) i++;
    }else if( c=='/' && i+1<n && z[i+1]=='*' ){
      i += 2;
      while( i<n && !(z[i]=='*' && i+1<n && z[i+1]=='/') ) i++;
      i = i<n ? i+2 : n;             /* an unclosed comment runs to the end */
    }else{
      break;
    }
  }
  return i;
}

/* The token at i (after blanks and comments). */
static void sqlToken(const char *z, int64_t n, int64_t i, SqlTok *t){
  unsigned char c;
  i = sqlSkip(z, n, i, 0);
  t->iStart = t->iBody = i;
  t->nBody = 0;
  if( i>=n ){
    t->eKind = SQLTOK_END;
    t->nLen = 0;
    return;
  }
  c = (unsigned char)z[i];
  if( c=='\'' || c=='"' || c=='`' || c=='[' ){
    char cEnd = c=='[' ? ']' : (char)c;
    int64_t j = i+1;
    while( j<n ){
      if( z[j]==cEnd ){
        if( cEnd!=']' && j+1<n && z[j+1]==cEnd ){ j += 2; continue; }
        break;
      }
      j++;
    }
    t->eKind = SQLTOK_QUOTED;
    t->iBody = i+1;
    t->nBody = j-(i+1);
    t->nLen = (j<n ? j+1 : n) - i;
  }else if( sqlIdChar(c) && !(c>='0' && c<='9') && c!='$' ){
    int64_t j = i;
    while( j<n && sqlIdChar((unsigned char)z[j]) ) j++;
    t->eKind = SQLTOK_WORD;
    t->nBody = j-i;
    t->nLen = j-i;
  }else{
    int64_t j = i+1;
    if( c>='0' && c<='9' ){
      while( j<n && sqlIdChar((unsigned char)z[j]) ) j++;
    }
    t->eKind = SQLTOK_OTHER;
    t->nLen = j-i;
  }
}

/* Does z[0..n) start with "pragma_", ignoring case? */
static int sqlIsPragmaName(const char *z, int64_t n){
  return n>=7 && attn_word_is(z, 6, "PRAGMA") && z[6]=='_';
}

int attn_sql_blank(const char *z, int64_t n){
  return sqlSkip(z, n, 0, 1)>=n;
}

int attn_sql_query(const char *zArg, const char *z, int64_t n,
                   int64_t *piStart, attn_err *pErr){
  SqlTok t;
  int64_t i = sqlSkip(z, n, 0, 1);
  char zWord[24];
  sqlToken(z, n, i, &t);
  if( t.eKind==SQLTOK_END ){
    return attn_err_set(pErr, ATTN_ERROR, "%s is empty, expected one SELECT "
                        "statement", zArg);
  }
  if( t.eKind!=SQLTOK_WORD || !(attn_word_is(z+t.iBody, t.nBody, "SELECT")
       || attn_word_is(z+t.iBody, t.nBody, "WITH")
       || attn_word_is(z+t.iBody, t.nBody, "VALUES")) ){
    /* Name the first word when it is a short ASCII word (a keyword). */
    int64_t k;
    int bWord = t.eKind==SQLTOK_WORD && t.nBody<(int64_t)sizeof(zWord);
    for(k=0; bWord && k<t.nBody; k++){
      char c = z[t.iBody+k];
      bWord = (c>='a' && c<='z') || (c>='A' && c<='Z') || c=='_';
      zWord[k] = (c>='a' && c<='z') ? (char)(c-'a'+'A') : c;
    }
    if( bWord ) zWord[t.nBody] = 0;
    return attn_err_set(pErr, ATTN_ERROR, "%s must be one SELECT statement "
        "(starting with SELECT, WITH or VALUES), but it starts with %s%s: "
        "the text is checked before SQLite prepares it, since preparing a "
        "PRAGMA already applies it", zArg, bWord ? "" : "something else",
        bWord ? zWord : "");
  }
  *piStart = t.iStart;
  /* No PRAGMA as a table-valued function, in any spelling: bare, quoted,
  ** or as a string, which SQLite also takes for a table name. */
  for(i=t.iStart; t.eKind!=SQLTOK_END; i=t.iStart+t.nLen){
    sqlToken(z, n, i, &t);
    if( (t.eKind==SQLTOK_WORD || t.eKind==SQLTOK_QUOTED)
     && sqlIsPragmaName(z+t.iBody, t.nBody) ){
      int nShow = attn_utf8_prefix(z+t.iBody, t.nBody, 40);
      return attn_err_set(pErr, ATTN_ERROR, "%s uses %.*s%s, a PRAGMA as a "
          "table-valued function, which runs the PRAGMA when the SELECT runs: "
          "PRAGMA is refused in every form", zArg, nShow, z+t.iBody,
          nShow<t.nBody ? "..." : "");
    }
  }
  return ATTN_OK;
}
