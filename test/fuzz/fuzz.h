/*
** fuzz.h: what the fuzz targets of test/fuzz/ share.
**
** Each target defines LLVMFuzzerTestOneInput() and is built two ways:
**
**   - by `make fuzz` with clang -fsanitize=fuzzer,address,undefined, as a
**     libFuzzer program (test/fuzz/corpus/<target>/ is its seed corpus);
**   - inside test/unit/fuzz_replay.c, compiled with the unit tests (gcc, no
**     libFuzzer), which feeds it every file of the seed corpus and of
**     test/fuzz/regressions/<target>/ on each make test (under ASan+UBSan
**     too), so an input that once crashed stays fixed.
**
** A target checks properties as well as "no crash": a broken property
** calls fuzzFail(), which prints the reason and aborts, which libFuzzer
** reports as a crash and saves the input.
**
** FuzzIn reads typed values from the input, returning zeros once it runs
** out, so every input is a valid program for the target.
*/
#ifndef ATTN_FUZZ_H
#define ATTN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define fuzzFail(...) do{ \
  fprintf(stderr, "fuzz property failed at %s:%d: ", __FILE__, __LINE__); \
  fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); abort(); \
}while(0)

/*
** Properties that reported, not yet fixed bugs break.  While a macro is 1
** the targets skip that one property (everything else is still checked),
** so fuzzing can go on finding other bugs; set it to 0 when the fix lands,
** and the inputs kept in test/fuzz/regressions/ then check the fix.  Until
** then test/unit/fuzz_replay.c replays those inputs with the property on,
** prints a NOTE naming each bug still there, and fails once they pass (the
** bug is fixed: set the macro to 0).
**
** Both switches below are 0: their bugs are fixed, and their inputs are
** regressions like any other.
**
** FUZZ_KNOWN_SCORES_OVERFLOW (fixed): when q·scale overflowed float32 (e.g.
**   scale=3.4e38), attn_scores_open() scored the Inf q and
**   attention_scores() returned Inf/NaN scores and NULL weights; it now
**   fails with "the attention scores overflow float32" as attention()
**   does (regressions/fuzz_matrix/scores-overflow, scores-overflow-2,
**   lse-nan-overflow).
** FUZZ_KNOWN_SCORES_PRECISION (fixed): a weight was exp(score - lse) with
**   lse = mx + log(sum), which loses log(sum) for scores ~7e36: two keys
**   tied at the maximum both got weight 1.  It is now exp(score - mx)/sum
**   (regressions/fuzz_matrix/scores-huge-scale).
*/
#ifndef FUZZ_KNOWN_SCORES_OVERFLOW
# define FUZZ_KNOWN_SCORES_OVERFLOW 0
#endif
#ifndef FUZZ_KNOWN_SCORES_PRECISION
# define FUZZ_KNOWN_SCORES_PRECISION 0
#endif

typedef struct FuzzIn FuzzIn;
struct FuzzIn {
  const uint8_t *a;
  size_t n, i;
};

static inline unsigned fuzzByte(FuzzIn *p){
  return p->i<p->n ? p->a[p->i++] : 0;
}

/* A number in [0, nRange). */
static inline unsigned fuzzRange(FuzzIn *p, unsigned nRange){
  unsigned v = fuzzByte(p);
  if( nRange>256 ) v = v<<8 | fuzzByte(p);
  return nRange ? v % nRange : 0;
}

static inline uint32_t fuzzU32(FuzzIn *p){
  uint32_t v = fuzzByte(p);
  v = v<<8 | fuzzByte(p);
  v = v<<8 | fuzzByte(p);
  return v<<8 | fuzzByte(p);
}

/* A float: usually small and tame, sometimes raw bits (NaN, Inf, huge,
** denormal). */
static inline float fuzzFloat(FuzzIn *p){
  unsigned k = fuzzByte(p);
  if( k<224 ) return ((float)(int)fuzzByte(p) - 128.0f)/32.0f;
  if( k<240 ){
    static const float aEdge[] = { 0.0f, -0.0f, 1e-45f, 1.17549435e-38f,
      3.4028235e38f, -3.4028235e38f, 1e20f, -1e20f, 65504.0f, 1e-7f,
      100.0f, -100.0f, 1.0f, -1.0f, 0.5f, 1e10f };
    return aEdge[k-224];
  }
  {
    uint32_t u = fuzzU32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
}

static inline int fuzzLeft(const FuzzIn *p){ return p->i<p->n; }

/* The next byte without reading it, or -1 at the end: a target that adds
** inputs reads them only behind a byte it peeks at, so that the inputs
** saved before (whose byte there differs) still mean what they meant. */
static inline int fuzzPeek(const FuzzIn *p){ return p->i<p->n ? p->a[p->i] : -1; }

/* Is z valid UTF-8 (RFC 3629: shortest form, no surrogates, at most
** U+10FFFF)?  Written here, independent of src/utf8.c: every message of
** the extension must pass it whatever bytes the input had. */
static inline int fuzzUtf8(const char *zIn){
  const unsigned char *z = (const unsigned char*)zIn;
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

#endif /* ATTN_FUZZ_H */
