/* Fused pointwise convolution, fp32, NEON (aarch64): the algorithm of pointwise_f32_ref.c with
 * a 4 output channels x 16 pixels micro-kernel in 16 q-register accumulators (fmla). */
#include "kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>

static inline void store_row(float *y, const float32x4_t v[4], int n, float s, float b, int relu) {
    float tmp[16];
    const float32x4_t vs = vdupq_n_f32(s), vb = vdupq_n_f32(b), z = vdupq_n_f32(0.0f);
    for (int h = 0; h < 4; h++) {
        float32x4_t r = vfmaq_f32(vb, v[h], vs);
        if (relu) r = vmaxq_f32(r, z);
        vst1q_f32(tmp + 4 * h, r);
    }
    memcpy(y, tmp, sizeof(float) * (size_t)(n < 16 ? n : 16));
}

#define PW_KERNEL(MR)                                                                              \
    static void pw_kernel_##MR(const cnm_pw_args *a, const float *panel, int o, int p0, int n) {    \
        const int T = CNM_PW_TILE, K = a->cin_g;                                                    \
        const float *w = a->w + (size_t)o * K;                                                      \
        for (int q = 0; q < n; q += 16) {                                                           \
            float32x4_t acc[MR][4];                                                                 \
            for (int r = 0; r < MR; r++)                                                            \
                for (int h = 0; h < 4; h++) acc[r][h] = vdupq_n_f32(a->bias ? a->bias[o + r] : 0.0f); \
            const float *pp = panel + q;                                                            \
            for (int k = 0; k < K; k++) {                                                           \
                float32x4_t x[4];                                                                   \
                for (int h = 0; h < 4; h++) x[h] = vld1q_f32(pp + (size_t)k * T + 4 * h);           \
                for (int r = 0; r < MR; r++) {                                                      \
                    const float32x4_t wv = vld1q_dup_f32(w + (size_t)r * K + k);                    \
                    for (int h = 0; h < 4; h++) acc[r][h] = vfmaq_f32(acc[r][h], wv, x[h]);         \
                }                                                                                   \
            }                                                                                       \
            for (int r = 0; r < MR; r++) {                                                          \
                const int d = a->dst ? a->dst[o + r] : o + r;                                       \
                store_row(a->out + (size_t)d * a->hw + p0 + q, acc[r], n - q,                       \
                          a->post_scale ? a->post_scale[d] : 1.0f,                                  \
                          a->post_shift ? a->post_shift[d] : 0.0f, a->post_relu);                   \
            }                                                                                       \
        }                                                                                           \
    }
PW_KERNEL(1)
PW_KERNEL(2)
PW_KERNEL(3)
PW_KERNEL(4)

static void pack(const cnm_pw_args *a, float *panel, int g, int p0, int n) {
    const int T = CNM_PW_TILE;
    for (int j = 0; j < a->cin_g; j++) {
        const int c = g * a->cin_g + j;
        const float *x = a->in + (size_t)(a->src ? a->src[c] : c) * a->hw + p0;
        float *row = panel + (size_t)j * T;
        const float s = a->pre_scale ? a->pre_scale[c] : 1.0f, b = a->pre_shift ? a->pre_shift[c] : 0.0f;
        const float32x4_t vs = vdupq_n_f32(s), vb = vdupq_n_f32(b), z = vdupq_n_f32(0.0f);
        int p = 0;
        for (; p + 4 <= n; p += 4) {
            float32x4_t v = vfmaq_f32(vb, vld1q_f32(x + p), vs);
            if (a->pre_relu) v = vmaxq_f32(v, z);
            vst1q_f32(row + p, v);
        }
        for (; p < n; p++) {
            float v = s * x[p] + b;
            row[p] = (a->pre_relu && v < 0.0f) ? 0.0f : v;
        }
        for (; p < T; p++) row[p] = 0.0f;
    }
}

void cnm_pointwise_f32_neon(const cnm_pw_args *a) {
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
void cnm_pointwise_f32_neon(const cnm_pw_args *a) { cnm_pointwise_f32_ref(a); }
#endif
