/*
** c_api_example.c: the example of docs/c-library.md (the engine as a C
** library), run.
**
** The code between the "README begin" and "README end" lines is the code
** block of docs/c-library.md, byte for byte: this program reads that file
** (from the repository root, where make test runs; ATTN_README overrides)
** and fails if the two differ, so the docs cannot drift from code that
** compiles.  It then runs example() and checks
** what it printed against attention computed here in float64 by plain
** loops: two heads over three rows of four dimensions, causal.
*/
#include "unit.h"
#include <stdlib.h>
#include <string.h>

/* README begin */
#include <stdio.h>
#include "attention.h"

/* Causal self-attention with 2 heads over 3 rows of 4 dims (no weights: Q, K
** and V are the rows themselves, each head a 2-dim slice of them). */
static int example(float aOut[3][4]){
  static const float x[3][4] = {
    { 1.0f, 0.0f, 0.5f, -1.0f },
    { 0.0f, 1.0f, 1.0f,  0.0f },
    { 0.5f, 0.5f, -1.0f, 2.0f },
  };
  attn_input in = {0};
  attn_options opt = {0};
  attn_state *st = 0;
  attn_err err;
  int64_t i;
  in.nQuery = in.nKey = 3;
  in.aXq = in.aXk = in.aXv = &x[0][0];
  in.nXq = in.nXk = in.nXv = 4;
  opt.nHead = 2;
  opt.bCausal = 1;            /* positions default to the row order */
  if( attn_state_new(&in, &opt, &st, &err) ){
    fprintf(stderr, "attention: %s\n", err.zMsg);
    return 1;
  }
  for(i=0; i<3; i++){
    const float *o, *lse;
    if( attn_output(st, i, &o, &lse, &err) ) break;
    printf("row %d: %8.5f %8.5f %8.5f %8.5f  (lse %.4f, %.4f)\n",
           (int)i, o[0], o[1], o[2], o[3], lse[0], lse[1]);
    memcpy(aOut[i], o, sizeof(aOut[i]));
  }
  attn_state_free(st);
  return i<3;
}
/* README end */

/* The marked region of this file, as read back from disk. */
static char *exampleSource(const char *zFile, const char *zBegin,
                           const char *zEnd){
  FILE *f = fopen(zFile, "rb");
  char *z, *zA, *zB, *zOut = 0;
  long n;
  if( f==0 ) return 0;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  z = malloc((size_t)n+1);
  if( z && fread(z, 1, (size_t)n, f)==(size_t)n ){
    z[n] = 0;
    zA = strstr(z, zBegin);
    zB = zA ? strstr(zA + strlen(zBegin), zEnd) : 0;
    if( zA && zB ){
      zA += strlen(zBegin);
      zOut = malloc((size_t)(zB-zA)+1);
      if( zOut ){ memcpy(zOut, zA, (size_t)(zB-zA)); zOut[zB-zA] = 0; }
    }
  }
  free(z);
  fclose(f);
  return zOut;
}

int main(void){
  float aOut[3][4];
  const char *zReadme = getenv("ATTN_README") ? getenv("ATTN_README") : "docs/c-library.md";
  char *zMine = exampleSource(__FILE__, "/* README begin */\n", "/* README end */");
  char *zDoc = exampleSource(zReadme, "<!-- docs-test: part of test/unit/c_api_example.c -->\n```c\n", "```");
  int i, j, h, k;

  /* The docs show exactly this code. */
  CHECK(zMine!=0);
  CHECK(zDoc!=0);
  if( zMine && zDoc ){
    CHECK(strcmp(zMine, zDoc)==0);
    if( strcmp(zMine, zDoc) ) fprintf(stderr, "%s and %s differ\n", zReadme, __FILE__);
  }
  free(zMine);
  free(zDoc);

  /* It runs and gives causal attention per head, as computed here, within
  ** the bound of test/reference.tcl's model (docs/testing.md) for n <= 3
  ** keys of head width 2: the float32 sums g(n + R)·(Σw|v| + |o|) + 2u|o|,
  ** and each weight perturbed by e_j = g(2)·Σ|s·q·k| + u·(m - s_j) + the
  ** scale's rounding u·Σ|s·q·k| + 5u·(R + 1) for the exp (2 ulp), R <= 1. */
  CHECK(example(aOut)==0);
  {
    static const double x[3][4] = {
      { 1.0, 0.0, 0.5, -1.0 }, { 0.0, 1.0, 1.0, 0.0 }, { 0.5, 0.5, -1.0, 2.0 },
    };
    const double u = 1.0/16777216.0;
    for(i=0; i<3; i++){
      for(h=0; h<2; h++){
        double s[3], a[3], m = -1e300, sum = 0.0, o[2] = {0, 0}, eps[3];
        for(j=0; j<=i; j++){
          s[j] = (x[i][2*h]*x[j][2*h] + x[i][2*h+1]*x[j][2*h+1])/sqrt(2.0);
          a[j] = (fabs(x[i][2*h]*x[j][2*h]) + fabs(x[i][2*h+1]*x[j][2*h+1]))/sqrt(2.0);
          if( s[j]>m ) m = s[j];
        }
        for(j=0; j<=i; j++){
          eps[j] = 3*u*a[j] + u*(m - s[j]) + 10*u;
          s[j] = exp(s[j]-m); sum += s[j];
        }
        for(j=0; j<=i; j++){
          for(k=0; k<2; k++) o[k] += s[j]/sum*x[j][2*h+k];
        }
        for(k=0; k<2; k++){
          double A = 0.0, P = 0.0, n = (double)(i+1);
          for(j=0; j<=i; j++){
            A += s[j]/sum*fabs(x[j][2*h+k]);
            P += s[j]/sum*eps[j]*fabs(x[j][2*h+k] - o[k]);
          }
          CHECK_NEAR(aOut[i][2*h+k], o[k],
                     (n+1)*u/(1-(n+1)*u)*(A + fabs(o[k])) + 2*u*fabs(o[k]) + P);
        }
      }
    }
    /* Row 0 sees only itself. */
    for(k=0; k<4; k++) CHECK(aOut[0][k]==(float)x[0][k]);
  }
  return UNIT_DONE();
}
