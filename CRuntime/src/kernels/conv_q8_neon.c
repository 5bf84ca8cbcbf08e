/* Direct KxK convolution (stride 1 or 2), int8, aarch64 NEON baseline. The input is quantised once
 * into the zero-bordered copy of int16 channel pairs of the AVX2 kernel; each work item (group,
 * output row, up to 4 output channels) accumulates 4 x 16 int32 sums with smull/smull2 + addp
 * against weight pairs: exact, and bit-identical to conv_q8_ref.c. */
#include "q8_neon.h"

#if defined(__aarch64__)
static inline int32x4_t madd(int32x4_t x, int32_t wpair) {
    const int16x8_t xs = vreinterpretq_s16_s32(x), w = vreinterpretq_s16_s32(vdupq_n_s32(wpair));
    return vpaddq_s32(vmull_s16(vget_low_s16(xs), vget_low_s16(w)), vmull_high_s16(xs, w));
}

static inline __attribute__((always_inline)) void kernel(const cnm_conv_shape *s, const int32_t *pad, const int32_t *wpairs,
                                                         const float *mult, const float *bias, float *out,
                                                         cnm_direct_item it, int mr) {
    const int cin_g = s->cin / s->groups, kp = (cin_g + 1) / 2, RS = padded_row(s), KK = s->kh * s->kw;
    const size_t PS = (size_t)(s->ih + 2 * s->ph) * RS;
    const int two = s->ow <= 8; /* two output rows of up to 8 pixels, else 16 pixels of one row */
    const size_t off[4] = {0, 4, two ? (size_t)RS * s->sh : 8, two ? (size_t)RS * s->sh + 4 : 12};
    for (int q = 0; q < s->ow; q += 16) {
        int32x4_t acc[4][4];
        for (int r = 0; r < 4; r++)
            for (int v = 0; v < 4; v++) acc[r][v] = vdupq_n_s32(0);
        for (int j = 0; j < kp; j++) {
            const int32_t *xin = pad + (size_t)(it.g * kp + j) * PS + (size_t)it.oy * s->sh * RS + q;
            const int32_t *wk = wpairs + ((size_t)it.o * kp + j) * KK;
            for (int ky = 0; ky < s->kh; ky++)
                for (int kx = 0; kx < s->kw; kx++) {
                    const int32_t *xt = xin + (size_t)ky * RS + tap_col(s, kx);
                    int32x4_t x[4];
                    for (int v = 0; v < 4; v++) x[v] = vld1q_s32(xt + off[v]);
                    for (int r = 0; r < mr; r++) {
                        const int32_t w = wk[(size_t)r * kp * KK + ky * s->kw + kx];
                        for (int v = 0; v < 4; v++) acc[r][v] = vaddq_s32(acc[r][v], madd(x[v], w));
                    }
                }
        }
        for (int r = 0; r < mr; r++) {
            const float32x4_t m = vdupq_n_f32(mult[it.o + r]), b = vdupq_n_f32(bias ? bias[it.o + r] : 0.0f);
            float *y = out + (size_t)(it.o + r) * s->oh * s->ow + (size_t)it.oy * s->ow + q;
            for (int v = 0; v < 4; v++) {
                float32x4_t val = vfmaq_f32(b, vcvtq_f32_s32(acc[r][v]), m);
                if (s->relu) val = q8n_relu(val);
                if (!two) q8n_store(y + 4 * v, val, s->ow - q - 4 * v);
                else if (v < 2) q8n_store(y + 4 * v, val, s->ow - 4 * v);
                else if (it.oy + 1 < s->oh) q8n_store(y + s->ow + 4 * (v - 2), val, s->ow - 4 * (v - 2));
            }
        }
    }
}

void cnm_conv2d_direct_q8_neon(const cnm_direct_args *da) {
    const cnm_conv_shape *s = da->s;
    const float *in = da->in, *mult = da->mult, *bias = da->bias;
    const int32_t *wpairs = da->wpairs;
    const float inv_scale = da->inv_scale;
    const int zp = da->zp;
    float *out = da->out;
    int32_t *pad = da->pad;
    q8n_pack_direct(s, in, inv_scale, zp, pad, 2);
    const int items = cnm_direct_items(s);
#pragma omp for schedule(static)
    for (int i = 0; i < items; i++) {
        const cnm_direct_item it = cnm_direct_item_at(s, i);
        switch (it.mr) {
        case 4: kernel(s, pad, wpairs, mult, bias, out, it, 4); break;
        case 3: kernel(s, pad, wpairs, mult, bias, out, it, 3); break;
        case 2: kernel(s, pad, wpairs, mult, bias, out, it, 2); break;
        default: kernel(s, pad, wpairs, mult, bias, out, it, 1); break;
        }
    }
}
#endif
