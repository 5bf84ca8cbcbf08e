/* Fused pointwise convolution with fp16 arithmetic, NEON with Armv8.2 FP16 (aarch64; a model
 * loaded with CNM_LOAD_FP16): pointwise.h on its layer (layer_f16_neon.h). The pack gathers,
 * BatchNorms and ReLUs in fp32 as the fp32 kernel does, then rounds to binary16 pairs of
 * consecutive channels per pixel; 4 output channels x 4 slots of 4 pixels, 16 accumulators of 8
 * binary16 lanes (fmla .8h). */
#include "layer_f16_neon.h"

#if defined(__aarch64__)
#define PW_S 4
#define PW_MR 4

/* pixels [p, p + 4) of one channel after the pre BN / ReLU, the lanes past n zero (the tail) */
CNM_FP16 static inline float32x4_t f16n_tail(int relu, const float *x, float s, float b, int p, int n) {
    float t[4] = {0};
    if (x)
        for (int k = 0; k < 4 && p + k < n; k++) {
            const float v = fmaf(s, x[p + k], b);
            t[k] = relu && !(v > 0.0f) ? 0.0f : v;
        }
    return vld1q_f32(t);
}

/* the panel: row j holds channels 2j and 2j + 1 of every pixel as binary16 pairs, after the
 * gather, BN and ReLU in fp32 (as the fp32 pack computes them); zero from n to the next 16 pixels
 * (the last register tile's slots) */
CNM_FP16 static void pw_pack(const cnm_pw_args *a, int32_t *words, int g, int p0, int n) {
    const int T = CNM_PW_TILE, pairs = (a->cin_g + 1) / 2, n4 = n / 4 * 4, nr = (n + 15) / 16 * 16 < T ? (n + 15) / 16 * 16 : T;
    const int relu = a->pre_relu;
    const float32x4_t zero = vdupq_n_f32(0.0f);
    for (int j = 0; j < pairs; j++) {
        const float *x[2] = {NULL, NULL};
        float s[2] = {1.0f, 1.0f}, b[2] = {0.0f, 0.0f};
        for (int h = 0; h < 2 && 2 * j + h < a->cin_g; h++) {
            const int c = g * a->cin_g + 2 * j + h;
            x[h] = a->in + (size_t)(a->src ? a->src[c] : c) * a->hw + p0;
            if (a->pre_scale) s[h] = a->pre_scale[c];
            if (a->pre_shift) b[h] = a->pre_shift[c];
        }
        __fp16 *row = (__fp16 *)(void *)(words + (size_t)j * T);
        const float32x4_t s0 = vdupq_n_f32(s[0]), b0 = vdupq_n_f32(b[0]), s1 = vdupq_n_f32(s[1]), b1 = vdupq_n_f32(b[1]);
        int p = 0;
        if (x[1]) {
            for (; p < n4; p += 4) {
                float32x4_t v0 = vfmaq_f32(b0, vld1q_f32(x[0] + p), s0), v1 = vfmaq_f32(b1, vld1q_f32(x[1] + p), s1);
                if (relu) v0 = simd4_relu(v0), v1 = simd4_relu(v1);
                vst1q_f16(row + 2 * p, f16n_pairs(v0, v1));
            }
        } else { /* the last pair of an odd channel count */
            for (; p < n4; p += 4) {
                float32x4_t v0 = vfmaq_f32(b0, vld1q_f32(x[0] + p), s0);
                if (relu) v0 = simd4_relu(v0);
                vst1q_f16(row + 2 * p, f16n_pairs(v0, zero));
            }
        }
        if (p < n) {
            vst1q_f16(row + 2 * p, f16n_pairs(f16n_tail(relu, x[0], s[0], b[0], p, n), f16n_tail(relu, x[1], s[1], b[1], p, n)));
            p += 4;
        }
        for (; p < nr; p += 4) vst1q_f16(row + 2 * p, vreinterpretq_f16_u32(vdupq_n_u32(0)));
    }
}

#include "pointwise.h"

void cnm_pointwise_f16_neon(const cnm_pw_args *a) { pw_run(a); }
#endif
