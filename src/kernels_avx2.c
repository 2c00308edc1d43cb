/*
** kernels_avx2.c: the AVX2+FMA kernel set.  Each function carries
** __attribute__((target("avx2,fma"))); the file is compiled like the rest of
** the library, so it only runs after cpuid said it may (kernels.c).
*/
#include "kernels.h"

const attn_kernel_set *attn_kernels_avx2(void){ return 0; }
