/* Run-time CPU feature detection (cpuid on x86-64, getauxval(AT_HWCAP) on aarch64) and the
 * CNM_ISA cap that lowers the kernel table a context takes (table.c). */
#define _DEFAULT_SOURCE
#include "kernels.h"

#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#ifndef HWCAP_ASIMDHP
#define HWCAP_ASIMDHP (1 << 10)
#endif
#endif

unsigned cnm_cpu_features(void) {
    unsigned f = 0;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1")) f |= CNM_CPU_CRC;
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return f;
    f |= CNM_CPU_AVX2;
    unsigned a, b, c, d;
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 4) & 1u)) f |= CNM_CPU_AVXVNNI; /* CPUID.(7,1):EAX bit 4 */
    if (__builtin_cpu_supports("avx512f")) { /* (also checks that the OS saves zmm state) */
        f |= CNM_CPU_AVX512F;
        if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni")) f |= CNM_CPU_AVX512VNNI;
    }
#elif defined(__aarch64__) && defined(__linux__)
    f |= CNM_CPU_NEON;
    if (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) f |= CNM_CPU_DOTPROD;
    if (getauxval(AT_HWCAP) & HWCAP_CRC32) f |= CNM_CPU_CRC;
    if (getauxval(AT_HWCAP) & HWCAP_ASIMDHP) f |= CNM_CPU_FP16;
#endif
    return f;
}

int cnm_isa_cap(void) {
    const char *force = getenv("CNM_ISA");
    if (!force || !*force) return 99;
    static const struct { const char *name; int level; } caps[] = {
        {"scalar", 0}, {"avx2", 1}, {"avxvnni", 2}, {"avx512", 3}, {"neon", 1}, {"neondot", 2}, {"neonfp16", 3},
    };
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        if (!strcmp(force, caps[i].name)) return caps[i].level;
    return 0; /* an unknown name: the portable kernels */
}
