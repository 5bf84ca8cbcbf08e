/* The layers of int8 with a 4-byte dot product (x86-64): AVX-VNNI on ymm (LY_VNNI_ZMM 0), AVX-512
 * VNNI on zmm (LY_VNNI_ZMM 1), and plain AVX2 for 7-bit weights (LY_VNNI_ZMM 0, LY_MADDUBS 1), what
 * the kernels written once (direct.h, pointwise.h) need of them. Words are 4 uint8 codes
 * u = q + zp of consecutive input channels; `vpdpbusd` adds 4 exact u8 x s8 products per 32-bit
 * lane (this form does not saturate) against one output's 4 weights, broadcast from the dot layout
 * of pack_q8.c; zp * sum(w) is subtracted back from the wsum table, so the sums are those of q * w
 * exactly. Without VNNI, `vpmaddubsw` adds 2 u8 x s8 products into an int16 and saturates, which
 * weights of at most 7 bits never reach (2 x 255 x 63 = 32130 < 32767; 8-bit ones can: 64770), and
 * `vpmaddwd` by ones adds the pairs into int32: the same 4-product sum, exact, for models whose
 * convs declare 7-bit weights (docs/FORMAT.md; the validator checks every weight). Define
 * LY_VNNI_ZMM (and LY_MADDUBS) before including. */
#ifndef CNM_LAYER_Q8_VNNI_H
#define CNM_LAYER_Q8_VNNI_H
#include "q8_avx2.h"

#if defined(__x86_64__)

#define LY_Q8 1
#define LY_DOT_LAYOUT 1
#define LY_PADDED_MR 1
#define LY_WORDS(cin_g) (((cin_g) + 3) / 4)
#if LY_VNNI_ZMM
#define LY_TARGET AVX512VNNI
#define LY_L 16
typedef __m512i ly_acc, ly_xv;
typedef __m512 ly_vf;
#define LY_(ymm, zmm) zmm
#define LY_SIMD simd16
#elif LY_MADDUBS
#define LY_TARGET AVX2
#define LY_L 8
typedef __m256i ly_acc, ly_xv;
typedef __m256 ly_vf;
#define LY_(ymm, zmm) ymm
#define LY_SIMD simd8
#else
#define LY_TARGET AVXVNNI
#define LY_L 8
typedef __m256i ly_acc, ly_xv;
typedef __m256 ly_vf;
#define LY_(ymm, zmm) ymm
#define LY_SIMD simd8
#endif
typedef int ly_wt;
#include "layer.h"
LY_TARGET static inline ly_xv ly_load(const int32_t *p) { return LY_(_mm256_loadu_si256, _mm512_loadu_si512)((const void *)p); }
LY_TARGET static inline ly_wt ly_wt_load(const int32_t *p) { (void)p; return 0; }
LY_TARGET static inline ly_acc ly_mac(ly_acc acc, ly_xv x, ly_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    int32_t w4;
    memcpy(&w4, p + (size_t)r * wr, sizeof w4); /* 4 int8 weights */
#if LY_MADDUBS /* |w| <= 63: the int16 pair sums cannot saturate */
    const __m256i pairs = _mm256_maddubs_epi16(x, _mm256_set1_epi32(w4));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
#else
    return LY_(_mm256_dpbusd_avx_epi32, _mm512_dpbusd_epi32)(acc, x, LY_(_mm256_set1_epi32, _mm512_set1_epi32)(w4));
#endif
}
LY_TARGET static inline ly_acc ly_acc_init(const float *bias, int o) { (void)bias, (void)o; return LY_(_mm256_setzero_si256, _mm512_setzero_si512)(); }
/* the exact epilogue of kernels.h */
LY_TARGET static inline ly_vf ly_finish(ly_acc acc, const float *bias, const float *mult, const int32_t *wsum, int zp, int o) {
    const ly_acc q = LY_(_mm256_sub_epi32, _mm512_sub_epi32)(acc, LY_(_mm256_set1_epi32, _mm512_set1_epi32)(zp * wsum[o]));
    return LY_(_mm256_fmadd_ps, _mm512_fmadd_ps)(LY_(_mm256_cvtepi32_ps, _mm512_cvtepi32_ps)(q), LY_(_mm256_set1_ps, _mm512_set1_ps)(mult[o]),
                                                 LY_(_mm256_set1_ps, _mm512_set1_ps)(bias ? bias[o] : 0.0f));
}
#endif
#endif
