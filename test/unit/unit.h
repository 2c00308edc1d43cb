/*
** unit.h: a tiny harness for the C unit tests of src/.
**
** CHECK(cond) and CHECK_NEAR(a, b, tol) count a pass or print the failure
** with its line; UNIT_PASS() and UNIT_FAIL() count one from a program's own
** comparison; UNIT_SKIP(name, reason) counts a check that cannot run here
** and prints "SKIP name: reason".  UNIT_DONE() prints the number of
** distinct cases ("cases: N": the assertion sites, one per source line of
** CHECK, CHECK_NEAR, UNIT_PASS/UNIT_FAIL or UNIT_SKIP that ran, however
** often a loop ran it), then "N passed, N failed[, N skipped]" (the line
** test/all.tcl reads), and returns the exit status from main().
*/
#ifndef ATTN_UNIT_H
#define ATTN_UNIT_H

#include <math.h>
#include <stdio.h>

static int unitPass = 0, unitFail = 0, unitSkip = 0;

/* Assertion sites reached, by source line (unit programs are one file). */
#define UNIT_MAX_LINE 8192
static unsigned char unitSite[UNIT_MAX_LINE];
#define UNIT_SITE() (unitSite[__LINE__<UNIT_MAX_LINE ? __LINE__ : 0] = 1)

#define UNIT_PASS() (UNIT_SITE(), unitPass++)
#define UNIT_FAIL() (UNIT_SITE(), unitFail++)

#define CHECK(cond) do{ \
  UNIT_SITE(); \
  if( cond ){ unitPass++; } \
  else{ unitFail++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
}while(0)

#define CHECK_NEAR(a, b, tol) do{ \
  double unitA_ = (double)(a), unitB_ = (double)(b); \
  UNIT_SITE(); \
  if( fabs(unitA_-unitB_)<=(tol) ){ unitPass++; } \
  else{ unitFail++; fprintf(stderr, "FAIL %s:%d: %s = %.9g, expected %s = %.9g (tol %g)\n", \
        __FILE__, __LINE__, #a, unitA_, #b, unitB_, (double)(tol)); } \
}while(0)

#define UNIT_SKIP(zName, zReason) do{ \
  UNIT_SITE(); \
  unitSkip++; \
  printf("SKIP %s: %s\n", (zName), (zReason)); \
}while(0)

static int unitDone(void){
  int i, nCase = 0;
  for(i=0; i<UNIT_MAX_LINE; i++) nCase += unitSite[i];
  printf("cases: %d\n", nCase);
  if( unitSkip ){
    printf("%d passed, %d failed, %d skipped\n", unitPass, unitFail, unitSkip);
  }else{
    printf("%d passed, %d failed\n", unitPass, unitFail);
  }
  fflush(stdout);
  return unitFail!=0;
}
#define UNIT_DONE() unitDone()

#endif /* ATTN_UNIT_H */
