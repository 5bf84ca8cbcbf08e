/* Fused pointwise convolution, int8, x86-64 with AVX-VNNI (AMD Zen 4/5, Intel Alder Lake and
 * later). Inputs are quantised while packing into words of 4 consecutive input channels holding
 * their uint8 codes u = q + zp; `vpdpbusd` adds 4 exact u8 x s8 products per 32-bit lane (this
 * form does not saturate) for 8 pixels of one output against that output's 4 weights, broadcast
 * from the dot layout of pack_q8.c. zp * sum(w) is subtracted back from the wsum table, so the
 * sums equal those of pointwise_q8_ref.c exactly and the outputs are bit-identical.
 * Micro-kernel: 4 outputs x 16 pixels, 8 accumulators, 32 MACs per instruction. */
#include "q8_avx2.h"

#if defined(__x86_64__)
/* Quantise 4 channels x 8 pixels and interleave their uint8 codes into 8 words (pixel p: bytes
 * u0[p], u1[p], u2[p], u3[p]): two saturating packs (the codes are in 0..255), then one byte
 * shuffle per 128-bit lane (a 4x4 transpose). */
AVXVNNI static void pack(const cnm_q8_args *q, int32_t *panel, int g, int p0, int n) {
    const cnm_pw_args *a = &q->pw;
    const int T = CNM_PW_TILE, words = (a->cin_g + 3) / 4, nr = (n + 15) / 16 * 16;
    const __m256 inv = _mm256_set1_ps(q->inv_scale), lo = _mm256_set1_ps((float)-q->zp),
                 hi = _mm256_set1_ps((float)(255 - q->zp));
    const __m256i zp = _mm256_set1_epi32(q->zp);
    const __m256i transpose = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
                                               0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    /* after a ReLU with zero point 0, t = v * inv >= 0: the lower clamp cannot change it */
    const int need_lo = !(a->pre_relu && q->zp == 0);
    for (int j = 0; j < words; j++)
        for (int p = 0; p < nr; p += 8) {
            __m256i u[4];
            for (int h = 0; h < 4; h++) {
                const int ch = 4 * j + h;
                if (ch >= a->cin_g || p >= n) { u[h] = _mm256_setzero_si256(); continue; }
                __m256 t = _mm256_mul_ps(q8x_pre(q, g * a->cin_g + ch, p0 + p, n - p), inv);
                if (need_lo) t = _mm256_max_ps(t, lo);
                u[h] = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_min_ps(t, hi)), zp);
            }
            const __m256i b16 = _mm256_packus_epi16(_mm256_packs_epi32(u[0], u[1]), _mm256_packs_epi32(u[2], u[3]));
            _mm256_storeu_si256((__m256i *)(panel + (size_t)j * T + p), _mm256_shuffle_epi8(b16, transpose));
        }
}

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
        pack(q, panel, w.g, w.p0, w.n);
        for (int b = 0; b < nb; b++) {
            const int mr = cout_g - 4 * b < 4 ? cout_g - 4 * b : 4;
            kernel(q, panel, q->wdot + (size_t)(w.g * nb + b) * block, w.g * cout_g + 4 * b, mr, w.p0, w.n);
        }
    }
}
#endif
