/* Fused pointwise convolution, fp32, AVX2 + FMA (see pointwise_f32_ref.c for the algorithm).
 * Micro-kernel: up to 4 output channels x 16 pixels in 8 ymm accumulators; per input channel
 * two panel loads and four weight broadcasts feed eight FMAs. The epilogue applies bias, the
 * post BatchNorm + ReLU of the destination channel and writes it to its shuffled place. */
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline void store_row(float *y, __m256 v0, __m256 v1, int n, float s, float b, int relu) {
    const __m256 vs = _mm256_set1_ps(s), vb = _mm256_set1_ps(b), z = _mm256_setzero_ps();
    v0 = _mm256_fmadd_ps(v0, vs, vb);
    v1 = _mm256_fmadd_ps(v1, vs, vb);
    if (relu) {
        v0 = _mm256_max_ps(v0, z);
        v1 = _mm256_max_ps(v1, z);
    }
    if (n >= 16) {
        _mm256_storeu_ps(y, v0);
        _mm256_storeu_ps(y + 8, v1);
    } else {
        float tmp[16];
        _mm256_storeu_ps(tmp, v0);
        _mm256_storeu_ps(tmp + 8, v1);
        memcpy(y, tmp, sizeof(float) * (size_t)n);
    }
}

/* MR output channels (rows of w, stride cin_g) x 16 pixels of the panel (row stride T). */
#define PW_KERNEL(MR)                                                                              \
    AVX2 static void pw_kernel_##MR(const cnm_pw_args *a, const float *panel, int o, int p0, int n) { \
        const int T = CNM_PW_TILE, K = a->cin_g;                                                    \
        const float *w = a->w + (size_t)o * K;                                                      \
        for (int q = 0; q < n; q += 16) {                                                           \
            __m256 acc[MR][2];                                                                      \
            for (int r = 0; r < MR; r++) {                                                          \
                acc[r][0] = acc[r][1] = _mm256_set1_ps(a->bias ? a->bias[o + r] : 0.0f);           \
            }                                                                                       \
            const float *pp = panel + q;                                                            \
            for (int k = 0; k < K; k++) {                                                           \
                const __m256 x0 = _mm256_loadu_ps(pp + (size_t)k * T);                              \
                const __m256 x1 = _mm256_loadu_ps(pp + (size_t)k * T + 8);                          \
                for (int r = 0; r < MR; r++) {                                                      \
                    const __m256 wv = _mm256_broadcast_ss(w + (size_t)r * K + k);                   \
                    acc[r][0] = _mm256_fmadd_ps(wv, x0, acc[r][0]);                                 \
                    acc[r][1] = _mm256_fmadd_ps(wv, x1, acc[r][1]);                                 \
                }                                                                                   \
            }                                                                                       \
            for (int r = 0; r < MR; r++) {                                                          \
                const int d = a->dst ? a->dst[o + r] : o + r;                                       \
                store_row(a->out + (size_t)d * a->hw + p0 + q, acc[r][0], acc[r][1], n - q,         \
                          a->post_scale ? a->post_scale[d] : 1.0f,                                  \
                          a->post_shift ? a->post_shift[d] : 0.0f, a->post_relu);                   \
            }                                                                                       \
        }                                                                                           \
    }
PW_KERNEL(1)
PW_KERNEL(2)
PW_KERNEL(3)
PW_KERNEL(4)

AVX2 static void pack(const cnm_pw_args *a, float *panel, int g, int p0, int n) {
    const int T = CNM_PW_TILE;
    const __m256 z = _mm256_setzero_ps();
    for (int j = 0; j < a->cin_g; j++) {
        const int c = g * a->cin_g + j;
        const float *x = a->in + (size_t)(a->src ? a->src[c] : c) * a->hw + p0;
        float *row = panel + (size_t)j * T;
        const __m256 s = _mm256_set1_ps(a->pre_scale ? a->pre_scale[c] : 1.0f);
        const __m256 b = _mm256_set1_ps(a->pre_shift ? a->pre_shift[c] : 0.0f);
        int p = 0;
        for (; p + 8 <= n; p += 8) {
            __m256 v = _mm256_fmadd_ps(_mm256_loadu_ps(x + p), s, b);
            if (a->pre_relu) v = _mm256_max_ps(v, z);
            _mm256_storeu_ps(row + p, v);
        }
        for (; p < n; p++) {
            float v = (a->pre_scale ? a->pre_scale[c] : 1.0f) * x[p] + (a->pre_shift ? a->pre_shift[c] : 0.0f);
            row[p] = (a->pre_relu && v < 0.0f) ? 0.0f : v;
        }
        for (; p < T; p++) row[p] = 0.0f; /* tail lanes: computed, never stored */
    }
}

AVX2 void cnm_pointwise_f32_avx2(const cnm_pw_args *a) {
    const int cout_g = a->cout / a->groups, items = cnm_pw_items(a);
    float *panel = a->scratch + a->scratch_stride * cnm_thread_slot();
#pragma omp for schedule(static)
    for (int it = 0; it < items; it++) {
        const cnm_pw_item w = cnm_pw_item_at(a, it);
        const int g = w.g, p0 = w.p0, n = w.n;
        pack(a, panel, g, p0, n);
        int oo = 0;
        for (; oo + 4 <= cout_g; oo += 4) pw_kernel_4(a, panel, g * cout_g + oo, p0, n);
        switch (cout_g - oo) {
        case 3: pw_kernel_3(a, panel, g * cout_g + oo, p0, n); break;
        case 2: pw_kernel_2(a, panel, g * cout_g + oo, p0, n); break;
        case 1: pw_kernel_1(a, panel, g * cout_g + oo, p0, n); break;
        default: break;
        }
    }
}
#else
void cnm_pointwise_f32_avx2(const cnm_pw_args *a) { cnm_pointwise_f32_ref(a); }
#endif
