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
** The folder is test/fuzz under the working directory (make test runs from
** the repository root); ATTN_FUZZ_DIR overrides it.
*/
#include "unit.h"
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
} aTarget[] = {
  { "fuzz_json",        fuzzJsonOne },
  { "fuzz_blob",        fuzzBlobOne },
  { "fuzz_matrix",      fuzzMatrixOne },
  { "fuzz_npy",         fuzzNpyOne },
  { "fuzz_safetensors", fuzzSafetensorsOne },
  { "fuzz_sql",         fuzzSqlOne },
};

/* Replay every regular file of zDir through xOne; return how many. */
static int replayDir(const char *zDir, int (*xOne)(const uint8_t*, size_t)){
  DIR *pDir = opendir(zDir);
  struct dirent *pEnt;
  int n = 0;
  if( pDir==0 ) return 0;
  while( (pEnt = readdir(pDir))!=0 ){
    char zPath[4096];
    struct stat st;
    FILE *in;
    uint8_t *a;
    if( pEnt->d_name[0]=='.' ) continue;
    snprintf(zPath, sizeof(zPath), "%s/%s", zDir, pEnt->d_name);
    if( stat(zPath, &st) || !S_ISREG(st.st_mode) ) continue;
    a = malloc((size_t)st.st_size + 1);
    in = fopen(zPath, "rb");
    if( a==0 || in==0 || fread(a, 1, (size_t)st.st_size, in)!=(size_t)st.st_size ){
      fprintf(stderr, "FAIL cannot read %s\n", zPath);
      unitFail++;
    }else{
      pid_t pid;
      int status = 0;
      fflush(stdout);
      fflush(stderr);
      pid = fork();
      if( pid==0 ){
        /* A copy of exactly the file's size, so ASan sees reads past it. */
        uint8_t *b = malloc((size_t)st.st_size ? (size_t)st.st_size : 1);
        memcpy(b, a, (size_t)st.st_size);
        free(a);                 /* the parent's, so a leak checker run on */
        fclose(in);              /* the child sees only the target's */
        closedir(pDir);
        xOne(b, (size_t)st.st_size);
        free(b);
        fflush(stdout);
        _exit(0);
      }
      if( pid<0 || waitpid(pid, &status, 0)!=pid
       || !WIFEXITED(status) || WEXITSTATUS(status)!=0 ){
        unitFail++;
        fprintf(stderr, "FAIL %s: %s\n", zPath, pid<0 ? "cannot fork"
                : WIFSIGNALED(status) ? strsignal(WTERMSIG(status))
                : "exited with an error");
      }else{
        unitPass++;
      }
      n++;
    }
    if( in ) fclose(in);
    free(a);
  }
  closedir(pDir);
  return n;
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
    /* An empty seed corpus means the folder was not found. */
    CHECK( nCorpus>0 );
    nTotal += nCorpus + nRegress;
  }
  printf("NOTE %d saved fuzz inputs replayed (seeds and regressions)\n", nTotal);
  return UNIT_DONE();
}
