/* Fused pointwise convolution, fp32, NEON (aarch64): pointwise.h on its layer (see
 * pointwise_f32_ref.c for the algorithm). Register tile: up to 4 output channels x 4 slots of 4
 * pixels in 16 q-register accumulators (fmla). */
#include "layer_f32_neon.h"

#if defined(__aarch64__)
#define PW_S 4
#define PW_MR 4

static void pw_pack(const cnm_pw_args *a, int32_t *words, int g, int p0, int n) {
    float *panel = (float *)(void *)words;
    const int T = CNM_PW_TILE;
    for (int j = 0; j < a->cin_g; j++) {
        const int c = g * a->cin_g + j;
        const float *x = a->in + (size_t)(a->src ? a->src[c] : c) * a->hw + p0;
        float *row = panel + (size_t)j * T;
        const float s = a->pre_scale ? a->pre_scale[c] : 1.0f, b = a->pre_shift ? a->pre_shift[c] : 0.0f;
        const float32x4_t vs = vdupq_n_f32(s), vb = vdupq_n_f32(b);
        int p = 0;
        for (; p + 4 <= n; p += 4) {
            float32x4_t v = vfmaq_f32(vb, vld1q_f32(x + p), vs);
            if (a->pre_relu) v = simd4_relu(v);
            vst1q_f32(row + p, v);
        }
        for (; p < n; p++) {
            const float v = fmaf(s, x[p], b);
            row[p] = a->pre_relu && !(v > 0.0f) ? 0.0f : v;
        }
        for (; p < T; p++) row[p] = 0.0f;
    }
}

#include "pointwise.h"

void cnm_pointwise_f32_neon(const cnm_pw_args *a) { pw_run(a); }

/* The Winograd convolution's matrix products run this file's register tile (winograd.h). */
#include "winograd.h"
void cnm_winograd_f32_neon(const cnm_wino_args *a) { wg_run(a); }
#endif
