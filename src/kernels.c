/*
** kernels.c: choosing the kernel level at run time (see kernels.h), and the
** softcap constants every level uses.
*/
#include "kernels.h"
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
# include <cpuid.h>
#endif
#if defined(__linux__)
# include <sys/syscall.h>
# include <unistd.h>
#endif

/* Every level, in order.  bAuto: a candidate for the automatic choice (the
** last one the CPU can run wins); emu16 is for tests only. */
typedef struct KernLevel KernLevel;
struct KernLevel {
  const char *zName;
  const attn_kernel_set *(*xSet)(void);
  int iCpu;                      /* what kernCpuHas() must say */
  int bAuto;
};
#define KERN_CPU_ANY        0
#define KERN_CPU_AVX2       1
#define KERN_CPU_AVX512     2
#define KERN_CPU_AVX512BF16 3
#define KERN_CPU_AMX        4
static const KernLevel aKernLevel[] = {
  { "scalar",     attn_kernels_scalar,     KERN_CPU_ANY,        1 },
  { "emu16",      attn_kernels_emu16,      KERN_CPU_ANY,        0 },
  { "amxemu",     attn_kernels_amxemu,     KERN_CPU_ANY,        0 },
  { "avx2",       attn_kernels_avx2,       KERN_CPU_AVX2,       1 },
  { "avx512",     attn_kernels_avx512,     KERN_CPU_AVX512,     1 },
  { "avx512bf16", attn_kernels_avx512bf16, KERN_CPU_AVX512BF16, 1 },
  { "amx",        attn_kernels_amx,        KERN_CPU_AMX,        1 },
};
#define KERN_NLEVEL ((int)(sizeof(aKernLevel)/sizeof(aKernLevel[0])))

/* Set once by kernChoose(); read on every vector decode, so attn_kernels()
** loads it without going through pthread_once() once it is set. */
static const attn_kernel_set *_Atomic kernChosen;  /* NULL until chosen */
static const attn_kernel_set *kernRunnable[KERN_NLEVEL]; /* NULL: cannot run */
static char kernAvailable[96];
static char kernBuilt[96];

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* Bit iBit of register iReg (0-3: EAX, EBX, ECX, EDX) of CPUID leaf iLeaf,
** sub-leaf iSub: leaf 1 ECX bit 29 is F16C (read here: not every
** compiler's __builtin_cpu_supports knows "f16c"); leaf 7 sub-leaf 1 EAX
** bit 5 is AVX512-BF16, sub-leaf 0 EDX bits 22 and 24 AMX-BF16 and
** AMX-TILE. */
static int kernCpuid(int iLeaf, int iSub, int iReg, int iBit){
  unsigned int a, b, c, d, r[4];
  if( !__get_cpuid_count((unsigned)iLeaf, (unsigned)iSub, &a, &b, &c, &d) ){
    return 0;
  }
  r[0] = a; r[1] = b; r[2] = c; r[3] = d;
  return (r[iReg]>>iBit) & 1;
}

/* Linux gives a process AMX's tile state only when it asks (since 5.16);
** elsewhere, or when refused, AMX is not used. */
static int kernAmxPermitted(void){
#if defined(__linux__)
  return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */,
                 18 /* XFEATURE_XTILEDATA */)==0;
#else
  return 0;
#endif
}

static int kernCpuHas(int iCpu){
  __builtin_cpu_init();
  if( iCpu==KERN_CPU_ANY ) return 1;
  /* F16C (VCVTPH2PS, float16 BLOBs) came before AVX2 on every CPU; one
  ** that hides it (a VM) gets the scalar level rather than a fault. */
  if( !__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")
   || !kernCpuid(1, 0, 2, 29) ){
    return 0;
  }
  if( iCpu==KERN_CPU_AVX2 ) return 1;
  if( !__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")
   || !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512dq")
  ){
    return 0;
  }
  if( iCpu==KERN_CPU_AVX512 ) return 1;
  if( !kernCpuid(7, 1, 0, 5) ) return 0;
  if( iCpu==KERN_CPU_AVX512BF16 ) return 1;
  return kernCpuid(7, 0, 3, 22) && kernCpuid(7, 0, 3, 24)
      && kernAmxPermitted();
}
#else
static int kernCpuHas(int iCpu){ return iCpu==KERN_CPU_ANY; }
#endif

static pthread_once_t kernOnce = PTHREAD_ONCE_INIT;

static void kernAppend(char *z, const char *zName){
  if( z[0] ) strcat(z, " ");
  strcat(z, zName);
}

/* A level that only adds bf16 entries (KD_BF16_ONLY) takes the rest from
** the avx512 level. */
static attn_kernel_set kernComposed[KERN_NLEVEL];

static void kernChoose(void){
  const attn_kernel_set *pBest = 0;
  const char *zForce = getenv("ATTN_KERNEL");
  int i;
  for(i=0; i<KERN_NLEVEL; i++){
    const attn_kernel_set *pSet = aKernLevel[i].xSet();
    if( pSet==0 ) continue;
    if( pSet->xFlash==0 ){
      const attn_kernel_set *pBase = attn_kernels_avx512();
      if( pBase==0 ) continue;
      kernComposed[i] = *pBase;
      kernComposed[i].zName = pSet->zName;
      kernComposed[i].xFlashBf16 = pSet->xFlashBf16;
      kernComposed[i].xGemmBf16 = pSet->xGemmBf16;
      kernComposed[i].zBf16 = pSet->zBf16;
      pSet = &kernComposed[i];
    }
    kernAppend(kernBuilt, aKernLevel[i].zName);
    if( !kernCpuHas(aKernLevel[i].iCpu) ) continue;
    kernRunnable[i] = pSet;
    kernAppend(kernAvailable, aKernLevel[i].zName);
    if( aKernLevel[i].bAuto ) pBest = pSet;
  }
  for(i=0; zForce && i<KERN_NLEVEL; i++){
    if( kernRunnable[i] && strcmp(zForce, aKernLevel[i].zName)==0 ){
      pBest = kernRunnable[i];
    }
  }
  atomic_store_explicit(&kernChosen, pBest, memory_order_release);
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

const char *attn_kernels_bf16(void){
  static const struct { const char *zLevel, *zDesc; } aBf16[] = {
    { "amx",        "amx (AMX tiles: TDPBF16PS)" },
    { "amxemu",     "amxemu (the AMX tiling on C tile operations)" },
    { "avx512bf16", "avx512bf16 (VDPBF16PS)" },
    { "avx512",     "avx512 (emulated: operands rounded to bf16, float32 FMAs)" },
    { "avx2",       "avx2 (emulated: operands rounded to bf16, float32 FMAs)" },
    { "emu16",      "emu16 (emulated: operands rounded to bf16, float32 FMAs)" },
  };
  const char *zName = attn_kernels()->zName;
  int i;
  for(i=0; i<(int)(sizeof(aBf16)/sizeof(aBf16[0])); i++){
    if( strcmp(aBf16[i].zLevel, zName)==0 ) return aBf16[i].zDesc;
  }
  return "scalar (emulated: operands rounded to bf16, float32 FMAs)";
}

const attn_kernel_set *attn_kernels_level(const char *zName){
  int i;
  attn_kernels_init();
  for(i=0; i<KERN_NLEVEL; i++){
    if( strcmp(zName, aKernLevel[i].zName)==0 ) return kernRunnable[i];
  }
  return 0;
}

/* A power of two 2^e as a float, e clamped to [-126, 127] (normal). */
static float kernPow2(int e){
  if( e<-126 ) e = -126;
  if( e>127 ) e = 127;
  return ldexpf(1.0f, e);
}

void attn_softcap_init(attn_softcap *p, double c){
  int e, e1, e2;
  double m;
  memset(p, 0, sizeof(*p));
  if( !(c>0.0) || !isfinite(c) ) return;
  /* c = m·2^e with m in [1, 2); x = s/c = s·2^-e/m, -e split in two. */
  m = frexp(c, &e)*2.0;
  e -= 1;
  e1 = -e/2;
  e2 = -e - e1;
  p->bOn = 1;
  p->rPre1 = kernPow2(e1);
  p->rPre2 = kernPow2(e2);
  p->rM = (float)m;
  p->rInvM = (float)(1.0/m);
  p->rPost1 = kernPow2(-e1);
  p->rPost2 = kernPow2(-e2);
}
