/*
** utf8.h: the one UTF-8 decoder of sqlite-attention, and the helpers that
** keep every message valid UTF-8 whatever bytes the input had.
**
** Valid means RFC 3629: shortest form, no surrogates, nothing past
** U+10FFFF.  Messages quote names, ids and SQL text that may hold any bytes
** (a BLOB cast to TEXT, a tensor file's header); they quote a prefix cut at
** a character boundary (attn_utf8_prefix), and the error paths repair what
** they are given (attn_utf8_repair), so a client that decodes messages
** strictly (Python does) always gets the message.  Quoted input goes
** through one helper (attn_quote): text shows a NUL byte as \0 (so a
** message shows every byte it was given, never a prefix cut at the NUL)
** and a BLOB as its SQL literal x'00ff'.
** Also the one case-insensitive compare of keyword arguments
** (attn_word_is).
*/
#ifndef ATTN_UTF8_H
#define ATTN_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

/* Decode the character at z[0..n) (n >= 1): set *pc and return its length
** (1 to 4), or return 0 and set *pc to U+FFFD when the bytes there do not
** start a valid character. */
int attn_utf8_decode(const unsigned char *z, int64_t n, uint32_t *pc);

/* The length of the longest prefix of z[0..n) that is valid UTF-8. */
int64_t attn_utf8_valid(const char *z, int64_t n);

/* The length of the longest prefix of z[0..n) of at most nMax bytes that
** does not end inside a character: what a message may quote of z (bytes
** that start no valid character are kept, for the error path to make them
** '?'). */
int attn_utf8_prefix(const char *z, int64_t n, int nMax);

/* Make the NUL-terminated z valid UTF-8 in place: each byte that does not
** start a valid character becomes '?'. */
void attn_utf8_repair(char *z);

/* The kinds of value a message may quote: SQL's storage classes (the SQL
** binding maps its values to them; a C caller gives ATTN_KIND_TEXT). */
#define ATTN_KIND_TEXT     0
#define ATTN_KIND_INTEGER  1     /* z[0..n): its decimal text */
#define ATTN_KIND_REAL     2     /* z[0..n): its decimal text */
#define ATTN_KIND_BLOB     3     /* z[0..n): its bytes */
#define ATTN_KIND_NULL     4

/* The size of a buffer for attn_quote() or attn_found() of at most nMax
** bytes of the value (a byte is at most two characters: \0, or hex). */
#define ATTN_QUOTE_SIZE(nMax) (2*(nMax) + 32)

/* Write into zOut (nOut bytes, ATTN_QUOTE_SIZE(nMax) is enough) how a
** message shows the value z[0..n) of kind eKind, and return zOut: text
** and numbers as themselves, at most nMax bytes of them, cut at a
** character boundary, then "...", each NUL byte as \0 and each byte that
** starts no valid character as '?' (so the result is valid UTF-8); a BLOB
** as the SQL literal x'00ff' of at most nMax bytes, then "..."; NULL as
** NULL. */
const char *attn_quote(char *zOut, size_t nOut, int eKind, const char *z,
                       int64_t n, int nMax);

/* The same, as what a message says it found: text in single quotes
** ('gptj'), "the integer 16", "the real number 1.5", "the blob x'00ff'",
** "NULL". */
const char *attn_found(char *zOut, size_t nOut, int eKind, const char *z,
                       int64_t n, int nMax);

/* Does z[0..n) equal the ASCII word zWord, ignoring the case of both (the
** keyword arguments: dtype, rope_style, precision; SQL's leading words)? */
int attn_word_is(const char *z, int64_t n, const char *zWord);

/* Which of the nWord keywords azWord[] the value z[0..n) of kind eKind is
** (text, as attn_word_is): set *pValue to its entry of aValue[], or return
** an error whose predicate says what it found (attn_found) and lists them
** ("is 'gptj', expected 'neox' or 'interleaved'", "is the integer 16,
** expected ..."), for the caller to put the argument's name in front. */
int attn_word_choice(int eKind, const char *z, int64_t n,
                     const char *const *azWord,
                     const int *aValue, int nWord, int *pValue,
                     attn_err *pErr);

#endif /* ATTN_UTF8_H */
