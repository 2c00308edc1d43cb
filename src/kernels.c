/*
** kernels.c: choosing the kernel set at run time (see kernels.h).
*/
#include "kernels.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Set once by kernChoose(); read on every vector decode, so attn_kernels()
** loads it without going through pthread_once() once it is set. */
static const attn_kernel_set *_Atomic kernChosen;  /* NULL until chosen */
static char kernAvailable[32] = "scalar";
static char kernBuilt[32] = "scalar";   /* every level compiled in */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
static int kernCpuHas(int iLevel){
  __builtin_cpu_init();
  if( iLevel==1 ){
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
      && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")
      && __builtin_cpu_supports("fma");
}
#else
static int kernCpuHas(int iLevel){ (void)iLevel; return 0; }
#endif

static pthread_once_t kernOnce = PTHREAD_ONCE_INIT;

static void kernChoose(void){
  const attn_kernel_set *aLevel[3];
  const char *zForce;
  int i, nLevel = 1;
  aLevel[0] = &attn_kernels_scalar;
  if( attn_kernels_avx2() ) strcat(kernBuilt, " avx2");
  if( attn_kernels_avx512() ) strcat(kernBuilt, " avx512");
  if( kernCpuHas(1) && attn_kernels_avx2() ){
    aLevel[nLevel++] = attn_kernels_avx2();
  }
  if( kernCpuHas(1) && kernCpuHas(2) && attn_kernels_avx512() ){
    aLevel[nLevel++] = attn_kernels_avx512();
  }
  kernAvailable[0] = 0;
  for(i=0; i<nLevel; i++){
    if( i ) strcat(kernAvailable, " ");
    strcat(kernAvailable, aLevel[i]->zName);
  }
  i = nLevel-1;
  zForce = getenv("ATTN_KERNEL");
  if( zForce ){
    int j;
    for(j=0; j<nLevel; j++){
      if( strcmp(zForce, aLevel[j]->zName)==0 ) i = j;
    }
  }
  atomic_store_explicit(&kernChosen, aLevel[i], memory_order_release);
}

void attn_kernels_init(void){
  pthread_once(&kernOnce, kernChoose);
}

const attn_kernel_set *attn_kernels(void){
  const attn_kernel_set *p = atomic_load_explicit(&kernChosen,
                                                  memory_order_acquire);
  if( p ) return p;
  attn_kernels_init();
  return atomic_load_explicit(&kernChosen, memory_order_acquire);
}

const char *attn_kernels_available(void){
  attn_kernels_init();
  return kernAvailable;
}

const char *attn_kernels_built(void){
  attn_kernels_init();
  return kernBuilt;
}
