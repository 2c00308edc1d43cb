/*
** kernels_avx512.c: the AVX-512 (F, BW, DQ, VL) kernel set.  Each function
** carries a target attribute; it only runs after cpuid said it may.
*/
#include "kernels.h"

const attn_kernel_set *attn_kernels_avx512(void){ return 0; }
