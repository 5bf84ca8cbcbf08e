/* Fused pointwise convolution, fp32, AVX-512F (see pointwise_f32_ref.c for the algorithm; the
 * same work items and panel as pointwise_f32_avx2.c). Micro-kernel: up to 8 output channels x 32
 * pixels in 16 zmm accumulators; per input channel two panel loads and eight weight broadcasts
 * feed sixteen FMAs. Tails are written with masked stores. Chosen at run time where the CPU
 * has AVX-512F (cpu.c); CNM_ISA=avx2 keeps the AVX2 kernel. */
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,fma")))

AVX512 static inline void store_row(float *y, __m512 v0, __m512 v1, int n, float s, float b, int relu) {
    const __m512 vs = _mm512_set1_ps(s), vb = _mm512_set1_ps(b), z = _mm512_setzero_ps();
    v0 = _mm512_fmadd_ps(v0, vs, vb);
    v1 = _mm512_fmadd_ps(v1, vs, vb);
    if (relu) {
        v0 = _mm512_max_ps(v0, z);
        v1 = _mm512_max_ps(v1, z);
    }
    if (n >= 32) {
        _mm512_storeu_ps(y, v0);
        _mm512_storeu_ps(y + 16, v1);
    } else if (n > 16) {
        _mm512_storeu_ps(y, v0);
        _mm512_mask_storeu_ps(y + 16, (__mmask16)((1u << (n - 16)) - 1u), v1);
    } else {
        _mm512_mask_storeu_ps(y, (__mmask16)(n == 16 ? 0xFFFFu : (1u << n) - 1u), v0);
    }
}

/* MR output channels (rows of w, stride cin_g) x 32 pixels of the panel (row stride T). */
#define PW_KERNEL(MR)                                                                              \
    AVX512 static void pw_kernel_##MR(const cnm_pw_args *a, const float *panel, int o, int p0, int n) { \
        const int T = CNM_PW_TILE, K = a->cin_g;                                                    \
        const float *w = a->w + (size_t)o * K;                                                      \
        for (int q = 0; q < n; q += 32) {                                                           \
            __m512 acc[MR][2];                                                                      \
            for (int r = 0; r < MR; r++) {                                                          \
                acc[r][0] = acc[r][1] = _mm512_set1_ps(a->bias ? a->bias[o + r] : 0.0f);           \
            }                                                                                       \
            const float *pp = panel + q;                                                            \
            for (int k = 0; k < K; k++) {                                                           \
                const __m512 x0 = _mm512_loadu_ps(pp + (size_t)k * T);                              \
                const __m512 x1 = _mm512_loadu_ps(pp + (size_t)k * T + 16);                         \
                for (int r = 0; r < MR; r++) {                                                      \
                    const __m512 wv = _mm512_set1_ps(w[(size_t)r * K + k]);                         \
                    acc[r][0] = _mm512_fmadd_ps(wv, x0, acc[r][0]);                                 \
                    acc[r][1] = _mm512_fmadd_ps(wv, x1, acc[r][1]);                                 \
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
PW_KERNEL(5)
PW_KERNEL(6)
PW_KERNEL(7)
PW_KERNEL(8)

/* The input panel: gather + BatchNorm + ReLU of the group's input channels, CNM_PW_TILE pixels
 * per row, zero past n (those lanes are computed and never stored). */
AVX512 static void pack(const cnm_pw_args *a, float *panel, int g, int p0, int n) {
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

typedef void (*pw_fn)(const cnm_pw_args *, const float *, int, int, int);

AVX512 void cnm_pointwise_f32_avx512(const cnm_pw_args *a) {
    static const pw_fn tail[8] = {NULL, pw_kernel_1, pw_kernel_2, pw_kernel_3, pw_kernel_4, pw_kernel_5, pw_kernel_6, pw_kernel_7};
    const int cout_g = a->cout / a->groups, items = cnm_pw_items(a);
    float *panel = a->scratch + a->scratch_stride * cnm_thread_slot();
#pragma omp for schedule(static)
    for (int it = 0; it < items; it++) {
        const cnm_pw_item w = cnm_pw_item_at(a, it);
        const int g = w.g, p0 = w.p0, n = w.n;
        pack(a, panel, g, p0, n);
        int oo = 0;
        for (; oo + 8 <= cout_g; oo += 8) pw_kernel_8(a, panel, g * cout_g + oo, p0, n);
        if (cout_g - oo > 0) tail[cout_g - oo](a, panel, g * cout_g + oo, p0, n);
    }
}
#else
void cnm_pointwise_f32_avx512(const cnm_pw_args *a) { cnm_pointwise_f32_ref(a); }
#endif
