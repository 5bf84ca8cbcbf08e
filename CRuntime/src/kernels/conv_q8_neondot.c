/* Direct KxK convolution (stride 1 or 2), int8, aarch64 with the dot-product extension. The input
 * is quantised once into a zero-bordered copy of words of 4 consecutive input channels as signed
 * bytes s = q + zp - 128 (the border is the word of q = 0); per tap, `sdot` by element adds 4 byte
 * products per lane for 16 pixels x 4 outputs against one 16-byte weight block. (128 - zp) *
 * sum(w) restores the sum of q * w exactly: bit-identical to conv_q8_ref.c. */
#include "q8_neon.h"

#if defined(__aarch64__)
CNM_DOTPROD static void kernel(const cnm_conv_shape *s, const int32_t *pad, const int8_t *wb, const int32_t *wsum,
                               const float *mult, const float *bias, int zp, float *out, cnm_direct_item it) {
    const int cin_g = s->cin / s->groups, kq = (cin_g + 3) / 4, RS = padded_row(s), KK = s->kh * s->kw;
    const size_t PS = (size_t)(s->ih + 2 * s->ph) * RS;
    const int two = s->ow <= 8; /* two output rows of up to 8 pixels, else 16 pixels of one row */
    const size_t o1 = 4, o2 = two ? (size_t)RS * s->sh : 8, o3 = two ? (size_t)RS * s->sh + 4 : 12;
    for (int q = 0; q < s->ow; q += 16) {
        int32x4_t acc[4][4];
        for (int r = 0; r < 4; r++)
            for (int v = 0; v < 4; v++) acc[r][v] = vdupq_n_s32(0);
        for (int j = 0; j < kq; j++) {
            const int32_t *xin = pad + (size_t)(it.g * kq + j) * PS + (size_t)it.oy * s->sh * RS + q;
            const int8_t *wk = wb + (size_t)j * KK * 16;
            for (int ky = 0; ky < s->kh; ky++)
                for (int kx = 0; kx < s->kw; kx++) {
                    const int32_t *xt = xin + (size_t)ky * RS + tap_col(s, kx);
                    const int8x16_t x0 = vreinterpretq_s8_s32(vld1q_s32(xt)), x1 = vreinterpretq_s8_s32(vld1q_s32(xt + o1));
                    const int8x16_t x2 = vreinterpretq_s8_s32(vld1q_s32(xt + o2)), x3 = vreinterpretq_s8_s32(vld1q_s32(xt + o3));
                    const int8x16_t w = vld1q_s8(wk + (size_t)(ky * s->kw + kx) * 16);
                    DOT4(0) DOT4(1) DOT4(2) DOT4(3)
                }
        }
        for (int r = 0; r < it.mr; r++) {
            const int o = it.o + r;
            const int32x4_t corr = vdupq_n_s32((128 - zp) * wsum[o]);
            const float32x4_t m = vdupq_n_f32(mult[o]), b = vdupq_n_f32(bias ? bias[o] : 0.0f);
            float *y = out + (size_t)o * s->oh * s->ow + (size_t)it.oy * s->ow + q;
            for (int v = 0; v < 4; v++) {
                float32x4_t val = vfmaq_f32(b, vcvtq_f32_s32(vaddq_s32(acc[r][v], corr)), m);
                if (s->relu) val = q8n_relu(val);
                if (!two) q8n_store(y + 4 * v, val, s->ow - q - 4 * v);
                else if (v < 2) q8n_store(y + 4 * v, val, s->ow - 4 * v);
                else if (it.oy + 1 < s->oh) q8n_store(y + s->ow + 4 * (v - 2), val, s->ow - 4 * (v - 2));
            }
        }
    }
}

void cnm_conv2d_direct_q8_neondot(const cnm_direct_args *da) {
    const cnm_conv_shape *s = da->s;
    const float *in = da->in, *mult = da->mult, *bias = da->bias;
    const int8_t *wdot = da->wdot;
    const int32_t *wsum = da->wsum;
    const float inv_scale = da->inv_scale;
    const int zp = da->zp;
    float *out = da->out;
    int32_t *pad = da->pad;
    q8n_pack_direct(s, in, inv_scale, zp, pad, 4);
    const int cin_g = s->cin / s->groups, cout_g = s->cout / s->groups, nb = (cout_g + 3) / 4;
    const size_t block = (size_t)((cin_g + 3) / 4) * s->kh * s->kw * 16;
    const int items = cnm_direct_items(s);
#pragma omp for schedule(static)
    for (int i = 0; i < items; i++) {
        const cnm_direct_item it = cnm_direct_item_at(s, i);
        const int b = (it.o - it.g * cout_g) / 4;
        kernel(s, pad, wdot + (size_t)(it.g * nb + b) * block, wsum, mult, bias, zp, out, it);
    }
}
#endif
