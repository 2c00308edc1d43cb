/*
** unit.h: a tiny harness for the C unit tests of src/.
**
** CHECK(cond) and CHECK_NEAR(a, b, tol) count a pass or print the failure
** with its line; UNIT_DONE() prints "N passed, N failed" (the line
** test/all.tcl reads) and returns the exit status from main().
*/
#ifndef ATTN_UNIT_H
#define ATTN_UNIT_H

#include <math.h>
#include <stdio.h>

static int unitPass = 0, unitFail = 0;

#define CHECK(cond) do{ \
  if( cond ){ unitPass++; } \
  else{ unitFail++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
}while(0)

#define CHECK_NEAR(a, b, tol) do{ \
  double unitA_ = (double)(a), unitB_ = (double)(b); \
  if( fabs(unitA_-unitB_)<=(tol) ){ unitPass++; } \
  else{ unitFail++; fprintf(stderr, "FAIL %s:%d: %s = %.9g, expected %s = %.9g (tol %g)\n", \
        __FILE__, __LINE__, #a, unitA_, #b, unitB_, (double)(tol)); } \
}while(0)

#define UNIT_DONE() (printf("%d passed, %d failed\n", unitPass, unitFail), unitFail!=0)

#endif /* ATTN_UNIT_H */
