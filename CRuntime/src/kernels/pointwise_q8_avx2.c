/* Fused pointwise convolution, int8, AVX2. Inputs are quantised while packing, into int16 pairs
 * of consecutive input channels; `vpmaddwd` multiplies a pair by a broadcast pair of weights and
 * adds the two products into an int32 lane. Unlike `vpmaddubsw` (uint8 x int8 pair sums that
 * saturate at 32767: 2 x 255 x 127 = 64770), nothing can overflow, so the result is exact and
 * bit-identical to pointwise_q8_ref.c. pointwise.h on its layer: 4 output channels x 2 slots of
 * 8 pixels. */
#include "layer_q8_avx2.h"

#if defined(__x86_64__)
#define PW_S 2
#define PW_MR 4

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
