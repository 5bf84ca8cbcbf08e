/* The layer of int8 AVX2 (x86-64, no 8-bit dot product): what the kernels written once (direct.h,
 * pointwise.h) need of this ISA and data type. Words are int16 pairs of consecutive input
 * channels (q, not the code); `vpmaddwd` multiplies one by a broadcast pair of weights and adds
 * the two products into an int32 lane: nothing can overflow, so the sums are exact. */
#ifndef CNM_LAYER_Q8_AVX2_H
#define CNM_LAYER_Q8_AVX2_H
#include "q8_avx2.h"

#if defined(__x86_64__)

#define LY_TARGET AVX2
#define LY_L 8
#define LY_Q8 1
#define LY_DOT_LAYOUT 0
#define LY_PADDED_MR 0
#define LY_WORDS(cin_g) (((cin_g) + 1) / 2)
#define LY_WEIGHTS(a) ((a)->wpairs) /* cnm_q8_pack_pairs */
typedef __m256i ly_acc, ly_xv;
typedef __m256 ly_vf;
typedef int ly_wt;
AVX2 static inline ly_xv ly_load(const int32_t *p) { return _mm256_loadu_si256((const __m256i *)(const void *)p); }
AVX2 static inline ly_wt ly_wt_load(const int32_t *p) { (void)p; return 0; }
AVX2 static inline ly_acc ly_mac(ly_acc acc, ly_xv x, ly_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    return _mm256_add_epi32(acc, _mm256_madd_epi16(x, _mm256_set1_epi32(p[(size_t)r * wr])));
}
AVX2 static inline ly_acc ly_acc_init(const float *bias, int o) { (void)bias, (void)o; return _mm256_setzero_si256(); }
/* the exact epilogue of kernels.h */
AVX2 static inline ly_vf ly_finish(ly_acc acc, const float *bias, const float *mult, const int32_t *wsum, int zp, int o) {
    (void)wsum, (void)zp;
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps(mult[o]), _mm256_set1_ps(bias ? bias[o] : 0.0f));
}
#define LY_SIMD simd8
#include "layer.h"
#endif
#endif
