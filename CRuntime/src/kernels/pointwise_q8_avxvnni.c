/* Fused pointwise convolution, int8, x86-64 with AVX-VNNI (AMD Zen 4/5, Intel Alder Lake and
 * later). Inputs are quantised while packing into words of 4 consecutive input channels holding
 * their uint8 codes u = q + zp; `vpdpbusd` adds 4 exact u8 x s8 products per 32-bit lane (this
 * form does not saturate) for 8 pixels of one output against that output's 4 weights, broadcast
 * from the dot layout of pack_q8.c. zp * sum(w) is subtracted back from the wsum table, so the
 * sums equal those of pointwise_q8_ref.c exactly and the outputs are bit-identical.
 * Micro-kernel: 4 outputs x 16 pixels, 8 accumulators, 32 MACs per instruction. */
#include "q8_avx2.h"

#if defined(__x86_64__)
AVXVNNI static void kernel(const cnm_q8_args *q, const int32_t *panel, const int8_t *wb, int o, int mr, int p0, int n) {
    const cnm_pw_args *a = &q->pw;
    const int T = CNM_PW_TILE, kq = (a->cin_g + 3) / 4;
    for (int s = 0; s < n; s += 16) {
        __m256i acc[4][2];
        for (int r = 0; r < 4; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
        for (int j = 0; j < kq; j++) {
            const __m256i x0 = _mm256_loadu_si256((const __m256i *)(panel + (size_t)j * T + s));
            const __m256i x1 = _mm256_loadu_si256((const __m256i *)(panel + (size_t)j * T + s + 8));
            int32_t w4[4];
            memcpy(w4, wb + (size_t)j * 16, sizeof w4);
            for (int r = 0; r < 4; r++) {
                const __m256i w = _mm256_set1_epi32(w4[r]);
                acc[r][0] = _mm256_dpbusd_avx_epi32(acc[r][0], x0, w);
                acc[r][1] = _mm256_dpbusd_avx_epi32(acc[r][1], x1, w);
            }
        }
        for (int r = 0; r < mr; r++) {
            const int d = a->dst ? a->dst[o + r] : o + r;
            const __m256i corr = _mm256_set1_epi32(q->zp * q->wsum[o + r]);
            float *y = a->out + (size_t)d * a->hw + p0 + s;
            q8x_pw_store(q, o + r, _mm256_sub_epi32(acc[r][0], corr), y, n - s);
            q8x_pw_store(q, o + r, _mm256_sub_epi32(acc[r][1], corr), y + 8, n - s - 8);
        }
    }
}

void cnm_pointwise_q8_avxvnni(const cnm_q8_args *q) {
    const cnm_pw_args *a = &q->pw;
    const int cout_g = a->cout / a->groups, items = cnm_pw_items(a), nb = (cout_g + 3) / 4;
    const size_t block = (size_t)((a->cin_g + 3) / 4) * 16;
    int32_t *panel = (int32_t *)(q->panel + q->panel_stride * cnm_thread_slot());
#pragma omp for schedule(static)
    for (int it = 0; it < items; it++) {
        const cnm_pw_item w = cnm_pw_item_at(a, it);
        q8x_pack_words(q, panel, w.g, w.p0, w.n);
        for (int b = 0; b < nb; b++) {
            const int mr = cout_g - 4 * b < 4 ? cout_g - 4 * b : 4;
            kernel(q, panel, q->wdot + (size_t)(w.g * nb + b) * block, w.g * cout_g + 4 * b, mr, w.p0, w.n);
        }
    }
}
#endif
