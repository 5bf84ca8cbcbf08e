/* Fused pointwise convolution, fp32, AVX-512F: pointwise.h on its layer (see pointwise_f32_ref.c
 * for the algorithm). Register tile: up to 6 output channels x 4 slots of 16 pixels (a whole panel
 * tile) in 24 zmm accumulators; per input channel four panel loads and six weight broadcasts feed
 * 24 FMAs (8 x 2 before: 0.63 loads per FMA against 0.42, each block of outputs reading the panel
 * twice, and 10-20% slower on ShuffleNet's and MobileNet's 1x1 convs, Sapphire Rapids).
 * Tails are written with masked stores. */
#include "layer_f32_avx512.h"

#if defined(__x86_64__)
#define AVX512 CNM_AVX512
#define PW_S 4
#define PW_MR 6

/* The input panel: gather + BatchNorm + ReLU of the group's input channels, CNM_PW_TILE pixels
 * per row, zero past n (those lanes are computed and never stored). */
AVX512 static void pw_pack(const cnm_pw_args *a, int32_t *words, int g, int p0, int n) {
    float *panel = (float *)(void *)words;
    const int T = CNM_PW_TILE;
    const __m512 z = _mm512_setzero_ps();
    for (int j = 0; j < a->cin_g; j++) {
        const int c = g * a->cin_g + j;
        const float *x = a->in + (size_t)(a->src ? a->src[c] : c) * a->hw + p0;
        float *row = panel + (size_t)j * T;
        const __m512 s = _mm512_set1_ps(a->pre_scale ? a->pre_scale[c] : 1.0f);
        const __m512 b = _mm512_set1_ps(a->pre_shift ? a->pre_shift[c] : 0.0f);
        for (int p = 0; p < T; p += 16) {
            const int left = n - p;
            const __mmask16 m = left >= 16 ? (__mmask16)0xFFFFu : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1u);
            __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + p), s, b);
            if (a->pre_relu) v = _mm512_max_ps(v, z);
            _mm512_storeu_ps(row + p, _mm512_maskz_mov_ps(m, v));
        }
    }
}

#include "pointwise.h"

void cnm_pointwise_f32_avx512(const cnm_pw_args *a) { pw_run(a); }

/* The Winograd convolution's matrix products run this file's register tile (winograd.h). */
#include "winograd.h"
void cnm_winograd_f32_avx512(const cnm_wino_args *a) { wg_run(a); }
#endif
