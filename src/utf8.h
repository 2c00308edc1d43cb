/*
** utf8.h: the one UTF-8 decoder of sqlite-attention, and the helpers that
** keep every message valid UTF-8 whatever bytes the input had.
**
** Valid means RFC 3629: shortest form, no surrogates, nothing past
** U+10FFFF.  Messages quote names, ids and SQL text that may hold any bytes
** (a BLOB cast to TEXT, a tensor file's header); they quote a prefix cut at
** a character boundary (attn_utf8_prefix), and the error paths repair what
** they are given (attn_utf8_repair), so a client that decodes messages
** strictly (Python does) always gets the message.  Also the one
** case-insensitive compare of keyword arguments (attn_word_is).
*/
#ifndef ATTN_UTF8_H
#define ATTN_UTF8_H

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

/* Does z[0..n) equal the ASCII word zWord, ignoring the case of both (the
** keyword arguments: dtype, rope_style, precision; SQL's leading words)? */
int attn_word_is(const char *z, int64_t n, const char *zWord);

/* Which of the nWord keywords azWord[] z[0..n) is (as attn_word_is): set
** *pValue to its entry of aValue[], or return an error whose predicate
** quotes z and lists them ("is 'gptj', expected 'neox' or 'interleaved'"),
** for the caller to put the argument's name in front. */
int attn_word_choice(const char *z, int64_t n, const char *const *azWord,
                     const int *aValue, int nWord, int *pValue,
                     attn_err *pErr);

#endif /* ATTN_UTF8_H */
