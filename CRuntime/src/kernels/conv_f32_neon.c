/* Direct KxK convolution (stride 1 or 2), fp32, NEON (aarch64): the zero-bordered copy of
 * conv_pad.c, then work items (group, output row, up to 4 output channels) accumulate 4 x 16
 * outputs in 16 q registers (fmla). Maps at most 8 wide compute two output rows at once. */
#include "direct_layout.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>

static inline void store4(float *y, float32x4_t v, int n) {
    if (n >= 4) { vst1q_f32(y, v); return; }
    float tmp[4];
    vst1q_f32(tmp, v);
    memcpy(y, tmp, sizeof(float) * (size_t)(n > 0 ? n : 0));
}

#define DIRECT_KERNEL(MR)                                                                          \
    static void direct_##MR(const cnm_conv_shape *s, const float *pad, const float *weight,          \
                            const float *bias, float *out, int g, int o, int oy) {                 \
        const int cin_g = s->cin / s->groups, RS = padded_row(s), KK = s->kh * s->kw;               \
        const size_t PS = (size_t)(s->ih + 2 * s->ph) * RS;                                         \
        const int two = s->ow <= 8;                                                                 \
        const size_t second = (size_t)RS * s->sh;                                                   \
        const size_t off[4] = {0, 4, two ? second : 8, two ? second + 4 : 12};                      \
        const float32x4_t z = vdupq_n_f32(0.0f);                                                    \
        for (int q = 0; q < s->ow; q += 16) {                                                       \
            float32x4_t acc[MR][4];                                                                 \
            for (int r = 0; r < MR; r++)                                                            \
                for (int h = 0; h < 4; h++) acc[r][h] = vdupq_n_f32(bias ? bias[o + r] : 0.0f);     \
            for (int ic = 0; ic < cin_g; ic++) {                                                    \
                const float *xin = pad + (size_t)(g * cin_g + ic) * PS + (size_t)oy * s->sh * RS + q; \
                const float *wk = weight + ((size_t)o * cin_g + ic) * KK;                           \
                for (int ky = 0; ky < s->kh; ky++)                                                  \
                    for (int kx = 0; kx < s->kw; kx++) {                                            \
                        const float *xt = xin + (size_t)ky * RS + tap_col(s, kx);                   \
                        float32x4_t x[4];                                                           \
                        for (int h = 0; h < 4; h++) x[h] = vld1q_f32(xt + off[h]);                  \
                        for (int r = 0; r < MR; r++) {                                              \
                            const float32x4_t wv = vld1q_dup_f32(wk + (size_t)r * cin_g * KK + ky * s->kw + kx); \
                            for (int h = 0; h < 4; h++) acc[r][h] = vfmaq_f32(acc[r][h], wv, x[h]); \
                        }                                                                           \
                    }                                                                               \
            }                                                                                       \
            for (int r = 0; r < MR; r++) {                                                          \
                float *y = out + (size_t)(o + r) * s->oh * s->ow + (size_t)oy * s->ow + q;          \
                for (int h = 0; h < 4; h++) {                                                       \
                    float32x4_t v = acc[r][h];                                                      \
                    if (s->relu) v = vmaxq_f32(v, z);                                               \
                    if (two) {                                                                      \
                        if (h < 2) store4(y + 4 * h, v, s->ow - 4 * h);                             \
                        else if (oy + 1 < s->oh) store4(y + s->ow + 4 * (h - 2), v, s->ow - 4 * (h - 2)); \
                    } else {                                                                        \
                        store4(y + 4 * h, v, s->ow - q - 4 * h);                                    \
                    }                                                                               \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    }
DIRECT_KERNEL(1)
DIRECT_KERNEL(2)
DIRECT_KERNEL(3)
DIRECT_KERNEL(4)

void cnm_conv2d_direct_f32_neon(const cnm_direct_args *da) {
    const cnm_conv_shape *s = da->s;
    const float *weight = da->w, *bias = da->bias, *in = da->in;
    float *out = da->out, *pad = da->pad;
    cnm_direct_pack(s, in, pad);
    const int items = cnm_direct_items(s);
#pragma omp for schedule(static)
    for (int it = 0; it < items; it++) {
        const cnm_direct_item w = cnm_direct_item_at(s, it);
        const int g = w.g, o = w.o, oy = w.oy, mr = w.mr;
        switch (mr) {
        case 4: direct_4(s, pad, weight, bias, out, g, o, oy); break;
        case 3: direct_3(s, pad, weight, bias, out, g, o, oy); break;
        case 2: direct_2(s, pad, weight, bias, out, g, o, oy); break;
        default: direct_1(s, pad, weight, bias, out, g, o, oy); break;
        }
    }
}

/* linear: four 4-wide accumulators per row; the gathered inputs packed once */
void cnm_linear_f32_neon(const float *x, const float *weight, const float *bias, const int32_t *index,
                         float *out, int n, int k, int relu, float *packed) {
    if (index) {
#pragma omp single
        for (int j = 0; j < k; j++) packed[j] = x[index[j]];
        x = packed;
    }
#pragma omp for schedule(static)
    for (int i = 0; i < n; i++) {
        const float *w = weight + (size_t)i * k;
        float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
        int j = 0;
        for (; j + 16 <= k; j += 16) {
            a0 = vfmaq_f32(a0, vld1q_f32(w + j), vld1q_f32(x + j));
            a1 = vfmaq_f32(a1, vld1q_f32(w + j + 4), vld1q_f32(x + j + 4));
            a2 = vfmaq_f32(a2, vld1q_f32(w + j + 8), vld1q_f32(x + j + 8));
            a3 = vfmaq_f32(a3, vld1q_f32(w + j + 12), vld1q_f32(x + j + 12));
        }
        for (; j + 4 <= k; j += 4) a0 = vfmaq_f32(a0, vld1q_f32(w + j), vld1q_f32(x + j));
        float v = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3))) + (bias ? bias[i] : 0.0f);
        for (; j < k; j++) v += w[j] * x[j];
        out[i] = (relu && v < 0.0f) ? 0.0f : v;
    }
}
#endif
