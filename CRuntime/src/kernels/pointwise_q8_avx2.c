/* Fused pointwise convolution, int8, AVX2. Inputs are quantised while packing, into int16 pairs
 * of consecutive input channels; `vpmaddwd` multiplies a pair by a broadcast pair of weights and
 * adds the two products into an int32 lane. Unlike `vpmaddubsw` (uint8 x int8 pair sums that
 * saturate at 32767: 2 x 255 x 127 = 64770), nothing can overflow, so the result is exact and
 * bit-identical to pointwise_q8_ref.c. Micro-kernel: 4 output channels x 16 pixels. */
#include "q8_avx2.h"

#if defined(__x86_64__)
AVX2 static void pack(const cnm_q8_args *q, int32_t *panel, int g, int p0, int n) {
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

#define Q8_KERNEL(MR)                                                                              \
    AVX2 static void q8_kernel_##MR(const cnm_q8_args *q, const int32_t *panel, int o, int p0, int n) { \
        const cnm_pw_args *a = &q->pw;                                                              \
        const int T = CNM_PW_TILE, KP = (a->cin_g + 1) / 2;                                         \
        for (int s = 0; s < n; s += 16) {                                                           \
            __m256i acc[MR][2];                                                                     \
            for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();           \
            for (int j = 0; j < KP; j++) {                                                          \
                const __m256i x0 = _mm256_loadu_si256((const __m256i *)(panel + (size_t)j * T + s)); \
                const __m256i x1 = _mm256_loadu_si256((const __m256i *)(panel + (size_t)j * T + s + 8)); \
                for (int r = 0; r < MR; r++) {                                                      \
                    const __m256i wv = _mm256_set1_epi32(q->wpairs[(size_t)(o + r) * KP + j]);      \
                    acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(x0, wv));             \
                    acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(x1, wv));             \
                }                                                                                   \
            }                                                                                       \
            for (int r = 0; r < MR; r++) {                                                          \
                const int d = a->dst ? a->dst[o + r] : o + r;                                       \
                float *y = a->out + (size_t)d * a->hw + p0 + s;                                     \
                q8x_pw_store(q, o + r, acc[r][0], y, n - s);                                            \
                q8x_pw_store(q, o + r, acc[r][1], y + 8, n - s - 8);                                    \
            }                                                                                       \
        }                                                                                           \
    }
Q8_KERNEL(1)
Q8_KERNEL(2)
Q8_KERNEL(3)
Q8_KERNEL(4)

AVX2 void cnm_pointwise_q8_avx2(const cnm_q8_args *q) {
    const cnm_pw_args *a = &q->pw;
    const int cout_g = a->cout / a->groups, items = cnm_pw_items(a);
    int32_t *panel = (int32_t *)(q->panel + q->panel_stride * cnm_thread_slot());
#pragma omp for schedule(static)
    for (int it = 0; it < items; it++) {
        const cnm_pw_item w = cnm_pw_item_at(a, it);
        const int g = w.g, p0 = w.p0, n = w.n;
        pack(q, panel, g, p0, n);
        int oo = 0;
        for (; oo + 4 <= cout_g; oo += 4) q8_kernel_4(q, panel, g * cout_g + oo, p0, n);
        switch (cout_g - oo) {
        case 3: q8_kernel_3(q, panel, g * cout_g + oo, p0, n); break;
        case 2: q8_kernel_2(q, panel, g * cout_g + oo, p0, n); break;
        case 1: q8_kernel_1(q, panel, g * cout_g + oo, p0, n); break;
        default: break;
        }
    }
}
#else
void cnm_pointwise_q8_avx2(const cnm_q8_args *q) { cnm_pointwise_q8_ref(q); }
#endif
