/* Run-time CPU feature detection: the kernel set is chosen once per context from what the
 * processor reports (cpuid on x86-64, getauxval(AT_HWCAP) on aarch64). CNM_ISA=scalar (or
 * avxvnni, avx2, neon, neondot) lowers the choice, e.g. to test the portable path; avx2 also
 * turns off the AVX-VNNI int8 kernels. */
#define _DEFAULT_SOURCE
#include "kernels.h"

#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

const char *cnm_isa_name(cnm_isa isa) {
    switch (isa) {
    case CNM_ISA_AVX2: return "avx2+fma";
    case CNM_ISA_NEON: return "neon";
    case CNM_ISA_NEON_DOT: return "neon+dotprod";
    default: return "scalar";
    }
}

static cnm_isa hardware_isa(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CNM_ISA_AVX2;
    return CNM_ISA_SCALAR;
#elif defined(__aarch64__) && defined(__linux__)
    unsigned long hw = getauxval(AT_HWCAP);
    return (hw & HWCAP_ASIMDDP) ? CNM_ISA_NEON_DOT : CNM_ISA_NEON;
#else
    return CNM_ISA_SCALAR;
#endif
}

cnm_isa cnm_detect_isa(void) {
    cnm_isa hw = hardware_isa();
    const char *force = getenv("CNM_ISA");
    if (force && *force) {
        cnm_isa want = CNM_ISA_SCALAR;
        if (!strcmp(force, "avx2") || !strcmp(force, "avxvnni") || !strcmp(force, "avx512")) want = CNM_ISA_AVX2;
        else if (!strcmp(force, "neon")) want = CNM_ISA_NEON;
        else if (!strcmp(force, "neondot")) want = CNM_ISA_NEON_DOT;
        /* only ever lower: never pick a path the processor lacks */
        if (want == CNM_ISA_SCALAR) return CNM_ISA_SCALAR;
        if (want == hw) return hw;
        if (want == CNM_ISA_NEON && hw == CNM_ISA_NEON_DOT) return CNM_ISA_NEON;
    }
    return hw;
}

int cnm_detect_avx512(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (cnm_detect_isa() != CNM_ISA_AVX2) return 0;
    const char *force = getenv("CNM_ISA");
    if (force && *force && strcmp(force, "avx512")) return 0; /* CNM_ISA=avx2 keeps the AVX2 kernels */
    return __builtin_cpu_supports("avx512f") ? 1 : 0;       /* (also checks that the OS saves zmm state) */
#else
    return 0;
#endif
}

int cnm_detect_avx512vnni(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    return cnm_detect_avx512() && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

int cnm_detect_vnni(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (cnm_detect_isa() != CNM_ISA_AVX2) return 0;
    const char *force = getenv("CNM_ISA");
    if (force && *force && strcmp(force, "avxvnni") && strcmp(force, "avx512")) return 0; /* CNM_ISA=avx2 keeps the vpmaddwd kernels */
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (int)((a >> 4) & 1u); /* CPUID.(7,1):EAX bit 4 = AVX-VNNI */
#else
    return 0;
#endif
}
