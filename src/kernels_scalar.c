/*
** kernels_scalar.c: the portable kernel level: the primitives of
** kernels_driver.h on one float, so the driver's algorithm runs as plain C
** on any CPU.  It is the reference of the other levels: FMAs are fmaf(),
** so it computes the same bits as they do (and is the slowest level).
*/
#include "kernels.h"

#define KD_LEVEL   scalar
#define KD_NAME    "scalar"
#define KD_W       1
#define KD_TARGET
#define KD_QK_MK   4
#define KD_QK_NZ   4
#define KD_PV_MJ   4
#define KD_PV_NZ   4
#define KD_GE_MR   4
#define KD_GE_NZ   4
#define KD_DC      256

#include "kernels_scalar.h"
#include "kernels_driver.h"
