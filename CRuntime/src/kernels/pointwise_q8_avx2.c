/* Fused pointwise convolution, int8, AVX2. Inputs are quantised while packing, into int16 pairs
 * of consecutive input channels; `vpmaddwd` multiplies a pair by a broadcast pair of weights and
 * adds the two products into an int32 lane. Unlike `vpmaddubsw` (uint8 x int8 pair sums that
 * saturate at 32767: 2 x 255 x 127 = 64770), nothing can overflow, so the result is exact and
 * bit-identical to pointwise_q8_ref.c. The layer of pointwise.h: 4 output channels x 2 slots of
 * 8 pixels. */
#include "q8_avx2.h"

#if defined(__x86_64__)
#define PW_TARGET AVX2
#define PW_L 8
#define PW_S 2
#define PW_MR 4
#define PW_DOT_LAYOUT 0
#define PW_PADDED_MR 0
#define PW_TAIL_SLOTS 0
#define PW_WORDS(cin_g) (((cin_g) + 1) / 2)
#define PW_WEIGHTS(q) ((q)->wpairs)
typedef cnm_q8_args pw_args;
#define PW_A(q) (&(q)->pw)
static inline int32_t *pw_panel(const pw_args *q) { return (int32_t *)(void *)(q->panel + q->panel_stride * cnm_thread_slot()); }
typedef __m256i pw_acc, pw_xv;
typedef __m256 pw_vf;
typedef int pw_wt;
AVX2 static inline pw_xv pw_load(const int32_t *p) { return _mm256_loadu_si256((const __m256i *)(const void *)p); }
AVX2 static inline pw_wt pw_wt_load(const int32_t *p) { (void)p; return 0; }
AVX2 static inline pw_acc pw_mac(pw_acc acc, pw_xv x, pw_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    return _mm256_add_epi32(acc, _mm256_madd_epi16(x, _mm256_set1_epi32(p[(size_t)r * wr])));
}
AVX2 static inline pw_acc pw_acc_init(const pw_args *q, int o) { (void)q; (void)o; return _mm256_setzero_si256(); }
AVX2 static inline pw_vf pw_finish(pw_acc acc, const pw_args *q, int o) {
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps(q->mult[o]), _mm256_set1_ps(q->pw.bias ? q->pw.bias[o] : 0.0f));
}
AVX2 static inline pw_vf pw_post(pw_vf v, float s, float b, int relu) {
    v = _mm256_fmadd_ps(v, _mm256_set1_ps(s), _mm256_set1_ps(b));
    return relu ? simd8_relu(v) : v;
}
#define pw_store simd8_store

AVX2 static void pw_pack(const cnm_q8_args *q, int32_t *panel, int g, int p0, int n) {
    const cnm_pw_args *a = &q->pw;
    const int T = CNM_PW_TILE, pairs = (a->cin_g + 1) / 2;
    const __m256 inv = _mm256_set1_ps(q->inv_scale), lo = _mm256_set1_ps((float)-q->zp),
                 hi = _mm256_set1_ps((float)(255 - q->zp));
    const __m256i mask16 = _mm256_set1_epi32(0xFFFF);
    for (int j = 0; j < pairs; j++) {
        __m256i qv[2];
        int32_t *row = panel + (size_t)j * T;
        const int nch = a->cin_g - 2 * j < 2 ? 1 : 2;
        q8x_chan chs[2];
        for (int h = 0; h < nch; h++) chs[h] = q8x_chan_at(q, g * a->cin_g + 2 * j + h, p0);
        for (int p = 0; p < T; p += 8) {
            for (int h = 0; h < 2; h++) {
                if (h >= nch || p >= n) { qv[h] = _mm256_setzero_si256(); continue; }
                qv[h] = q8x_quant(q8x_pre(&chs[h], a->pre_relu, p, n - p), inv, lo, hi);
            }
            _mm256_storeu_si256((__m256i *)(row + p),
                                _mm256_or_si256(_mm256_and_si256(qv[0], mask16), _mm256_slli_epi32(qv[1], 16)));
        }
    }
}

#include "pointwise.h"

void cnm_pointwise_q8_avx2(const cnm_q8_args *q) { pw_run(q); }
#endif
