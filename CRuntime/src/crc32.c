/* CRC-32 (IEEE 802.3 / zlib: reflected, polynomial 0xEDB88320, pre- and post-inverted), the .cnm
 * checksum, at memory speed: carry-less multiplication folding (PCLMULQDQ, four 128-bit lanes:
 * 64 bytes per iteration) on x86-64, the Armv8 CRC32 instructions on aarch64, and one table
 * lookup per byte everywhere else and for the ends. Every path gives the same value
 * (tests/test_runtime.c compares them on every length and alignment). */
#include "internal.h"
#include "kernels/kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CNM_CRC_PCLMUL 1
#endif
#if defined(__aarch64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#include <arm_acle.h>
#define CNM_CRC_ARM 1
#endif

/* the byte table, built at compile time */
#define CRC_P 0xEDB88320u
#define CRC_B(c) (((c) & 1u) ? (CRC_P ^ ((c) >> 1)) : ((c) >> 1))
#define CRC_8(c) CRC_B(CRC_B(CRC_B(CRC_B(CRC_B(CRC_B(CRC_B(CRC_B(c))))))))
#define CRC_R4(i) CRC_8(i), CRC_8(i + 1), CRC_8(i + 2), CRC_8(i + 3)
#define CRC_R16(i) CRC_R4(i), CRC_R4(i + 4), CRC_R4(i + 8), CRC_R4(i + 12)
#define CRC_R64(i) CRC_R16(i), CRC_R16(i + 16), CRC_R16(i + 32), CRC_R16(i + 48)
static const uint32_t CRC_TABLE[256] = {CRC_R64(0u), CRC_R64(64u), CRC_R64(128u), CRC_R64(192u)};

/* the inverted state over bytes, one lookup each */
static uint32_t crc_bytes(uint32_t s, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) s = CRC_TABLE[(s ^ p[i]) & 0xFFu] ^ (s >> 8);
    return s;
}

#ifdef CNM_CRC_PCLMUL
/* Folding (Gopal et al., "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ"): the
 * constants are x^k mod P for the fold distances, bit-reflected: k1/k2 fold by 512 bits, k3/k4 by
 * 128, k5 from 64 to 32 bits, then Barrett reduction with P' and mu. n is a multiple of 16, >= 64. */
__attribute__((target("pclmul,sse4.1"))) static uint32_t crc_pclmul(uint32_t s, const uint8_t *p, size_t n) {
    const __m128i k12 = _mm_set_epi64x(0x1c6e41596LL, 0x154442bd4LL);
    const __m128i k34 = _mm_set_epi64x(0x0ccaa009eLL, 0x1751997d0LL);
    const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124LL);
    const __m128i pmu = _mm_set_epi64x(0x1f7011641LL, 0x1db710641LL);
    const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
#define LD(o) _mm_loadu_si128((const __m128i *)(const void *)(p + (o)))
#define FOLD(x, k, next) _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), next)
    __m128i x0 = _mm_xor_si128(LD(0), _mm_cvtsi32_si128((int)s)), x1 = LD(16), x2 = LD(32), x3 = LD(48);
    p += 64;
    n -= 64;
    for (; n >= 64; n -= 64, p += 64) {
        x0 = FOLD(x0, k12, LD(0));
        x1 = FOLD(x1, k12, LD(16));
        x2 = FOLD(x2, k12, LD(32));
        x3 = FOLD(x3, k12, LD(48));
    }
    x0 = FOLD(x0, k34, x1);
    x0 = FOLD(x0, k34, x2);
    x0 = FOLD(x0, k34, x3);
    for (; n >= 16; n -= 16, p += 16) x0 = FOLD(x0, k34, LD(0));
#undef FOLD
#undef LD
    /* 128 -> 64 bits, 64 -> 32, then Barrett */
    x0 = _mm_xor_si128(_mm_srli_si128(x0, 8), _mm_clmulepi64_si128(x0, k34, 0x10));
    x0 = _mm_xor_si128(_mm_srli_si128(x0, 4), _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), k5, 0x00));
    __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), pmu, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), pmu, 0x00);
    return (uint32_t)_mm_extract_epi32(_mm_xor_si128(x0, t), 1);
}
#endif

#ifdef CNM_CRC_ARM
/* the CRC32X instruction: 8 bytes per step */
__attribute__((target("+crc"))) static uint32_t crc_arm(uint32_t s, const uint8_t *p, size_t n) {
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        s = __crc32d(s, v);
    }
    return crc_bytes(s, p, n);
}
#endif

uint32_t cnm_crc32_with(int impl, uint32_t crc, const void *data, size_t size) {
    const uint8_t *p = data;
    uint32_t s = ~crc;
#ifdef CNM_CRC_PCLMUL
    if (impl == CNM_CRC_FOLD && size >= 64) {
        const size_t n = size & ~(size_t)15;
        s = crc_pclmul(s, p, n);
        p += n;
        size -= n;
    }
#endif
#ifdef CNM_CRC_ARM
    if (impl == CNM_CRC_FOLD) return ~crc_arm(s, p, size);
#endif
    (void)impl;
    return ~crc_bytes(s, p, size);
}

int cnm_crc32_fast(void) { return (cnm_cpu_features() & CNM_CPU_CRC) != 0; }

uint32_t cnm_crc32(uint32_t crc, const void *data, size_t size) {
    return cnm_crc32_with(cnm_crc32_fast() ? CNM_CRC_FOLD : CNM_CRC_BYTES, crc, data, size);
}
