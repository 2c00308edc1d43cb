/*
** fuzz_replay.c: every saved fuzz input, replayed on each make test.
**
** The libFuzzer targets of test/fuzz/ are compiled in here, each with its
** LLVMFuzzerTestOneInput renamed, and each is fed every file of its seed
** corpus (test/fuzz/corpus/<target>/) and of its regressions
** (test/fuzz/regressions/<target>/: inputs that once crashed a target or
** broke one of its properties, kept after the fix).  A target checks its
** properties itself and aborts when one breaks, so a regression is a crash
** of the process that replays it.  Each input runs in a child process
** (fork), so one that fails is reported by name, counted as a failure, and
** does not stop the others; under make test's ASan+UBSan run, memory errors
** are caught too.  No clang or libFuzzer is needed: this is plain C built
** like the other unit tests.
**
** A child that runs longer than REPLAY_SECONDS is killed (SIGALRM), so a
** target that loops fails its input instead of hanging make test.  The
** child ends with _exit(), which skips atexit handlers, LeakSanitizer's
** end-of-process check among them: leaks are not reported here under
** ASan (make fuzz's libFuzzer runs check them), only under make valgrind,
** which checks every process at its exit.
**
** The known bugs of fuzz.h (FUZZ_KNOWN_*): while a switch is 1, the
** targets here read it from a variable, and the inputs that show the bug
** are replayed once more with the property on.  A NOTE names each bug
** still there; an input that passes with the property on is a failure
** (the bug is fixed: set the switch to 0 in fuzz.h).
**
** The folder is test/fuzz under the working directory (make test runs from
** the repository root); ATTN_FUZZ_DIR overrides it.
*/
#include "unit.h"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../fuzz/fuzz.h"

/* The longest one input may run (under valgrind too). */
#define REPLAY_SECONDS      60
#define REPLAY_SECONDS_TEXT "60"

/* The switches of fuzz.h as variables, so a child can turn one off. */
static int bKnownOverflow = FUZZ_KNOWN_SCORES_OVERFLOW;
static int bKnownPrecision = FUZZ_KNOWN_SCORES_PRECISION;
#undef FUZZ_KNOWN_SCORES_OVERFLOW
#undef FUZZ_KNOWN_SCORES_PRECISION
#define FUZZ_KNOWN_SCORES_OVERFLOW bKnownOverflow
#define FUZZ_KNOWN_SCORES_PRECISION bKnownPrecision

#define LLVMFuzzerTestOneInput fuzzJsonOne
#include "../fuzz/fuzz_json.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzzBlobOne
#include "../fuzz/fuzz_blob.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzzMatrixOne
#include "../fuzz/fuzz_matrix.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzzNpyOne
#include "../fuzz/fuzz_npy.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzzSafetensorsOne
#include "../fuzz/fuzz_safetensors.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzzSqlOne
#include "../fuzz/fuzz_sql.c"
#undef LLVMFuzzerTestOneInput

static const struct {
  const char *zName;
  int (*xOne)(const uint8_t*, size_t);
  int bRegress;          /* has saved regressions: finding none is an error */
} aTarget[] = {
  { "fuzz_json",        fuzzJsonOne,        0 },
  { "fuzz_blob",        fuzzBlobOne,        0 },
  { "fuzz_matrix",      fuzzMatrixOne,      1 },
  { "fuzz_npy",         fuzzNpyOne,         0 },
  { "fuzz_safetensors", fuzzSafetensorsOne, 0 },
  { "fuzz_sql",         fuzzSqlOne,         1 },
};

/* The known bugs of fuzz.h and the regressions (of fuzz_matrix) that
** break their property when it is checked. */
static const struct {
  const char *zSwitch;   /* the macro of fuzz.h */
  int *pbOn;             /* its value here: 1 while the bug is known */
  const char *zBug;      /* what is wrong, for the NOTE */
  const char *azInput[4];
} aKnown[] = {
  { "FUZZ_KNOWN_SCORES_OVERFLOW", &bKnownOverflow,
    "attn_scores_open() (src/attention.c) scores the float32 scaled q, "
    "which overflows: attention_scores() gives Inf/NaN scores and NaN "
    "weights where attention() reports an overflow error",
    { "scores-overflow", "scores-overflow-2", "lse-nan-overflow", 0 } },
  { "FUZZ_KNOWN_SCORES_PRECISION", &bKnownPrecision,
    "attn_scores_next() (src/attention.c) computes a weight as "
    "exp(score - (mx + log(sum))), which loses log(sum) for huge scores: "
    "the weights of a row sum to 2",
    { "scores-huge-scale", 0 } },
};

/* Run xOne on a[0..n) in a child process; return 0 if it ended well, 1 if
** it failed (*pzWhy says how).  a[] and pDir (NULL: none) are the
** parent's, freed in the child.  With bQuiet the child's stderr goes to
** /dev/null (a failure that is expected). */
static int replayOne(uint8_t *a, size_t n, DIR *pDir,
                     int (*xOne)(const uint8_t*, size_t), int bQuiet,
                     const char **pzWhy){
  pid_t pid;
  int status = 0;
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if( pid==0 ){
    /* A copy of exactly the file's size, so ASan sees reads past it. */
    uint8_t *b = malloc(n ? n : 1);
    alarm(REPLAY_SECONDS);     /* a looping target dies of SIGALRM */
    if( bQuiet ){
      int fd = open("/dev/null", O_WRONLY);
      if( fd>=0 ){ dup2(fd, 2); close(fd); }
    }
    memcpy(b, a, n);
    free(a);                   /* the parent's, so a leak checker run on */
    if( pDir ) closedir(pDir); /* the child (valgrind) sees only the */
                               /* target's */
    xOne(b, n);
    free(b);
    fflush(stdout);
    _exit(0);                  /* no atexit: LeakSanitizer does not run */
  }
  if( pid<0 ){
    *pzWhy = "cannot fork";
    return 1;
  }
  if( waitpid(pid, &status, 0)!=pid ){
    *pzWhy = "cannot wait for the child";
    return 1;
  }
  if( WIFSIGNALED(status) ){
    *pzWhy = WTERMSIG(status)==SIGALRM ? "still running after "
             REPLAY_SECONDS_TEXT " s (killed)" : strsignal(WTERMSIG(status));
    return 1;
  }
  if( !WIFEXITED(status) || WEXITSTATUS(status)!=0 ){
    *pzWhy = "exited with an error";
    return 1;
  }
  return 0;
}

/* Read the file zPath into *pa (malloc'd, *pn bytes); 0 on success. */
static int replayRead(const char *zPath, uint8_t **pa, size_t *pn){
  struct stat st;
  FILE *in;
  int rc = 1;
  *pa = 0;
  *pn = 0;
  if( stat(zPath, &st) || !S_ISREG(st.st_mode) ) return 1;
  *pa = malloc((size_t)st.st_size + 1);
  in = fopen(zPath, "rb");
  if( *pa && in && fread(*pa, 1, (size_t)st.st_size, in)==(size_t)st.st_size ){
    *pn = (size_t)st.st_size;
    rc = 0;
  }
  if( in ) fclose(in);
  return rc;
}

/* Replay every regular file of zDir through xOne; return how many. */
static int replayDir(const char *zDir, int (*xOne)(const uint8_t*, size_t)){
  DIR *pDir = opendir(zDir);
  struct dirent *pEnt;
  int n = 0;
  if( pDir==0 ) return 0;
  while( (pEnt = readdir(pDir))!=0 ){
    char zPath[4096];
    struct stat st;
    uint8_t *a = 0;
    size_t nByte = 0;
    const char *zWhy = 0;
    if( pEnt->d_name[0]=='.' ) continue;
    snprintf(zPath, sizeof(zPath), "%s/%s", zDir, pEnt->d_name);
    if( stat(zPath, &st) || !S_ISREG(st.st_mode) ) continue;
    if( replayRead(zPath, &a, &nByte) ){
      fprintf(stderr, "FAIL cannot read %s\n", zPath);
      UNIT_FAIL();
    }else if( replayOne(a, nByte, pDir, xOne, 0, &zWhy) ){
      fprintf(stderr, "FAIL %s: %s\n", zPath, zWhy);
      UNIT_FAIL();
      n++;
    }else{
      UNIT_PASS();
      n++;
    }
    free(a);
  }
  closedir(pDir);
  return n;
}

/* For each known bug of fuzz.h still switched on: replay its inputs with
** the property checked, expecting each to fail, and print a NOTE. */
static void replayKnown(const char *zRoot){
  int i, j;
  for(i=0; i<(int)(sizeof(aKnown)/sizeof(aKnown[0])); i++){
    int nInput = 0, nBroken = 0;
    if( *aKnown[i].pbOn==0 ) continue;       /* fixed: checked as usual */
    *aKnown[i].pbOn = 0;
    for(j=0; aKnown[i].azInput[j]; j++){
      char zPath[4096];
      uint8_t *a = 0;
      size_t nByte = 0;
      const char *zWhy = 0;
      snprintf(zPath, sizeof(zPath), "%s/regressions/fuzz_matrix/%s", zRoot,
               aKnown[i].azInput[j]);
      nInput++;
      if( replayRead(zPath, &a, &nByte) ){
        fprintf(stderr, "FAIL cannot read %s (an input of %s)\n", zPath,
                aKnown[i].zSwitch);
        UNIT_FAIL();
      }else if( replayOne(a, nByte, 0, fuzzMatrixOne, 1, &zWhy) ){
        nBroken++;
        UNIT_PASS();
      }else{
        fprintf(stderr, "FAIL %s passes with %s off: the bug looks fixed, "
                "set %s to 0 in test/fuzz/fuzz.h\n", zPath, aKnown[i].zSwitch,
                aKnown[i].zSwitch);
        UNIT_FAIL();
      }
      free(a);
    }
    *aKnown[i].pbOn = 1;
    printf("NOTE known bug, property skipped (%s, test/fuzz/fuzz.h): %s; "
           "still shown by %d of %d saved inputs\n", aKnown[i].zSwitch,
           aKnown[i].zBug, nBroken, nInput);
  }
}

int main(void){
  const char *zRoot = getenv("ATTN_FUZZ_DIR");
  int i, nTotal = 0;
  if( zRoot==0 || zRoot[0]==0 ) zRoot = "test/fuzz";
  for(i=0; i<(int)(sizeof(aTarget)/sizeof(aTarget[0])); i++){
    char zDir[4096];
    int nCorpus, nRegress;
    snprintf(zDir, sizeof(zDir), "%s/corpus/%s", zRoot, aTarget[i].zName);
    nCorpus = replayDir(zDir, aTarget[i].xOne);
    snprintf(zDir, sizeof(zDir), "%s/regressions/%s", zRoot, aTarget[i].zName);
    nRegress = replayDir(zDir, aTarget[i].xOne);
    printf("%-18s %4d seed inputs, %3d regression inputs replayed\n",
           aTarget[i].zName, nCorpus, nRegress);
    /* An empty seed corpus, or no regressions for a target that has some,
    ** means a folder was not found (moved or renamed). */
    CHECK( nCorpus>0 );
    if( aTarget[i].bRegress ) CHECK( nRegress>0 );
    nTotal += nCorpus + nRegress;
  }
  replayKnown(zRoot);
  printf("NOTE %d saved fuzz inputs replayed (seeds and regressions)\n", nTotal);
  return UNIT_DONE();
}
