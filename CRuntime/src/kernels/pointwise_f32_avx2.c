/* Fused pointwise convolution, fp32, AVX2 + FMA: pointwise.h on its layer (see pointwise_f32_ref.c
 * for the algorithm). Register tile: up to 6 output channels x 2 slots of 8 pixels in 12 ymm
 * accumulators; per input channel two panel loads and six weight broadcasts feed twelve FMAs
 * (4 x 2 before: 0.8 loads per FMA against 0.67, and 20-25% slower in a per-shape microbenchmark
 * of ShuffleNet's and MobileNet's 1x1 convs on a Sapphire Rapids core). */
#include "layer_f32_avx2.h"

#if defined(__x86_64__)
#define AVX2 CNM_AVX2
#define PW_S 2
#define PW_MR 6

AVX2 static void pw_pack(const cnm_pw_args *a, int32_t *words, int g, int p0, int n) {
    float *panel = (float *)(void *)words;
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
            const float v = fmaf(a->pre_scale ? a->pre_scale[c] : 1.0f, x[p], a->pre_shift ? a->pre_shift[c] : 0.0f);
            row[p] = a->pre_relu && !(v > 0.0f) ? 0.0f : v;
        }
        for (; p < T; p++) row[p] = 0.0f; /* tail lanes: computed, never stored */
    }
}

#include "pointwise.h"

void cnm_pointwise_f32_avx2(const cnm_pw_args *a) { pw_run(a); }

/* The Winograd convolution's matrix products run this file's register tile (winograd.h). */
#include "winograd.h"
void cnm_winograd_f32_avx2(const cnm_wino_args *a) { wg_run(a); }
#endif
