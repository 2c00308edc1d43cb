/*
** messages.c: every error message is valid UTF-8, whatever bytes the input
** had (issue 13, finding 12 and its family).
**
** A client that decodes messages strictly (Python's sqlite3 raises
** UnicodeDecodeError instead of the SQLite error) must always get the
** message.  Each statement below fails with a message that quotes input:
** an id cut at its 40-byte limit in the middle of a character, ids, SQL
** text, column names, option values and file paths holding bytes that are
** not UTF-8 (a BLOB cast to TEXT).  The message must be valid UTF-8 by the
** validator written here (RFC 3629, independent of src/utf8.c), must still
** say what it says for clean input, and must keep the valid characters
** whole.  The engine's own error buffer is checked too: attn_err_set()
** cutting a long message inside a character, and quoting invalid bytes.
*/
#include "unit.h"
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "error.h"

int sqlite3_attention_init(sqlite3*, char**, const sqlite3_api_routines*);

/* RFC 3629 UTF-8: shortest form, no surrogates, at most U+10FFFF. */
static int isUtf8(const unsigned char *z){
  while( *z ){
    unsigned c = *z, n, k, cp;
    if( c<0x80 ){ z++; continue; }
    if( c>=0xC2 && c<=0xDF ){ n = 1; cp = c&0x1F; }
    else if( c>=0xE0 && c<=0xEF ){ n = 2; cp = c&0x0F; }
    else if( c>=0xF0 && c<=0xF4 ){ n = 3; cp = c&0x07; }
    else return 0;
    for(k=1; k<=n; k++){
      if( (z[k]&0xC0)!=0x80 ) return 0;
      cp = cp<<6 | (z[k]&0x3F);
    }
    if( (n==2 && cp<0x800) || (n==3 && cp<0x10000) || cp>0x10FFFF
     || (cp>=0xD800 && cp<=0xDFFF) ){
      return 0;
    }
    z += n+1;
  }
  return 1;
}

/* Run zSql, expect an error whose message contains zPart; return whether
** the message is valid UTF-8 (and report what it was otherwise). */
static void checkMessage(sqlite3 *db, const char *zSql, const char *zPart,
                         int iLine){
  char *zErr = 0;
  int rc = sqlite3_exec(db, zSql, 0, 0, &zErr);
  if( rc==SQLITE_OK || zErr==0 ){
    unitFail++;
    fprintf(stderr, "FAIL messages.c:%d: no error from %s\n", iLine, zSql);
  }else{
    if( isUtf8((const unsigned char*)zErr) ){
      unitPass++;
    }else{
      unitFail++;
      fprintf(stderr, "FAIL messages.c:%d: not valid UTF-8: %s\n", iLine, zErr);
    }
    if( zPart==0 || strstr(zErr, zPart) ){
      unitPass++;
    }else{
      unitFail++;
      fprintf(stderr, "FAIL messages.c:%d: [%s] lacks [%s]\n", iLine, zErr,
              zPart);
    }
  }
  sqlite3_free(zErr);
}
#define MSG(sql, part) checkMessage(db, sql, part, __LINE__)

int main(void){
  sqlite3 *db;
  attn_err err;
  char zLong[2048];
  int i;

  sqlite3_auto_extension((void(*)(void))sqlite3_attention_init);
  if( sqlite3_open(":memory:", &db) ) return 1;

  /* An id of 39 ASCII bytes and then 'é' (bytes 40 and 41): quoting 40
  ** bytes of it used to cut the character. */
  MSG("SELECT * FROM attention('SELECT ''aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "\xc3\xa9\xc3\xa9'' AS id, NULL AS x')",
      "(id aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...)");
  /* 38 ASCII bytes and a 3-byte character across the limit. */
  MSG("SELECT * FROM attention('SELECT ''aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "\xe2\x82\xac'' AS id, NULL AS x')", "column x is NULL");
  /* Whole characters are kept. */
  MSG("SELECT * FROM attention('SELECT ''\xc3\xa9t\xc3\xa9'' AS id, NULL AS x')",
      "(id \xc3\xa9t\xc3\xa9)");
  /* Ids that are not UTF-8. */
  MSG("SELECT * FROM attention('SELECT CAST(x''ff41fe'' AS TEXT) AS id, "
      "NULL AS x')", "column x is NULL");
  MSG("SELECT * FROM attention('SELECT CAST(x''41c3'' AS TEXT) AS id, "
      "NULL AS x')", "column x is NULL");
  MSG("SELECT * FROM attention('SELECT CAST(x''eda080'' AS TEXT) AS id, "
      "''[1]'' AS x UNION ALL SELECT 2, ''[1,2]''')", "dimensions");
  /* A BLOB id: its SQL literal, not its bytes as text. */
  MSG("SELECT * FROM attention('SELECT x''ff80c3'' AS id, NULL AS x')",
      "(id x'ff80c3'): column x is NULL");
  /* SQL text that is not UTF-8: quoted by our messages and by SQLite's. */
  sqlite3_exec(db, "CREATE TABLE t(a)", 0, 0, 0);
  MSG("SELECT * FROM attention(CAST(x'57495448206128782920415320285345"
      "4c45435420312920494e5345525420494e544f2074205345"
      "4c45435420782066726f6d2061202d2dff' AS TEXT))", "writes");
  MSG("SELECT * FROM attention(CAST(x'53454c45435420ff' AS TEXT))",
      "source SELECT");
  MSG("SELECT * FROM attention(CAST(x'53454c454354202261ff22' AS TEXT))",
      "source SELECT");
  /* Column names (only the recognised ones are ever quoted). */
  MSG("SELECT * FROM attention('SELECT ''[1]'' AS x, 1 AS id, 2 AS id')",
      "two columns named id");
  /* A params row's column names, quoted: bytes that are not UTF-8, and a
  ** character across the 40-byte limit. */
  MSG("SELECT * FROM attention('SELECT ''[1]'' AS x') WHERE params = "
      "'SELECT 1 AS \"' || CAST(x'41ff42' AS TEXT) || '\"'",
      "params column 'A?B' is not an argument");
  MSG("SELECT * FROM attention('SELECT ''[1]'' AS x') WHERE params = "
      "'SELECT 1 AS \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\"'",
      "params column 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
  /* Option values. */
  MSG("SELECT * FROM attention('SELECT ''[1,2]'' AS x') WHERE rope = 10000"
      " AND rope_style = CAST(x'ff6e656f78' AS TEXT)", "expected 'neox' or");
  MSG("SELECT attn_rope('[1,2]', 1, 10000, CAST(x'c0af' AS TEXT))",
      "expected 'neox' or");
  /* A NUL byte is shown as \0, not the end of the value; 39 bytes, a NUL
  ** (the 40th) and more: the limit counts the NUL as one byte. */
  MSG("SELECT * FROM attention('SELECT ''[1,2]'' AS x') WHERE dtype = "
      "CAST(x'663100ff32' AS TEXT)", "dtype is 'f1\\0?2', expected 'f32'");
  MSG("SELECT attn_rope('[1,2]', 1, 10000, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"
      " || char(0) || 'zz')",
      "style is 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\0...', expected");
  MSG("SELECT attn_rope('[1,2]', 1, 10000, '"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9x\xc3\xa9')", "expected 'neox' or");
  /* File paths (not found, with the bytes in the message). */
  MSG("SELECT * FROM attn_tensors(CAST(x'2f6e6f2f737563682fff2e6e7079' AS TEXT))",
      "cannot open the file");
  for(i=0; i<60; i++) memcpy(zLong+2*i, "\xc3\xa9", 2);
  zLong[120] = 0;
  {
    char *zSql = sqlite3_mprintf("SELECT * FROM attn_tensors('/nonexistent/%s"
                                 "x.npy')", zLong);
    MSG(zSql, "cannot open the file");
    sqlite3_free(zSql);
  }
  /* PRAGMA-like first words that are not ASCII. */
  MSG("SELECT * FROM attention(CAST(x'ff5052414741' AS TEXT))",
      "must be one SELECT statement");
  MSG("SELECT * FROM attention('SELECT 1 AS x FROM pragma_\xc3\xa9\xc3\xa9')",
      "a PRAGMA as a table-valued function");
  sqlite3_close(db);

  /* The engine's buffer: a message longer than it, cut inside a
  ** character, and invalid bytes quoted. */
  for(i=0; i<1000; i++) memcpy(zLong+2*i, "\xc3\xa9", 2);
  zLong[2000] = 0;
  for(i=0; i<2; i++){
    attn_err_set(&err, ATTN_ERROR, "%.*s%s", i, "x", zLong);
    CHECK(isUtf8((const unsigned char*)err.zMsg));
    CHECK(strlen(err.zMsg)>=sizeof(err.zMsg)-2);
  }
  attn_err_set(&err, ATTN_ERROR, "id %s end", "a\xff\xc3(\xed\xa0\x80z");
  CHECK(isUtf8((const unsigned char*)err.zMsg));
  CHECK(strcmp(err.zMsg, "id a?" "?(?" "??z end")==0);
  return UNIT_DONE();
}
