/* Helpers of the aarch64 int8 kernels (pointwise_q8_neon*.c, conv_q8_neon*.c): the quantisation
 * and float epilogues of the int8 contract (kernels.h) in NEON, and the packing of quantised
 * inputs into 32-bit words of 4 consecutive input channels, four bytes q + zp - 128 (the signed
 * bytes that sdot, and smull on the baseline, multiply).
 * maxnm/minnm are used where the scalar code compares, so NaN and -0 go the same way. */
#ifndef CNM_Q8_NEON_H
#define CNM_Q8_NEON_H
#include "direct_layout.h"
#include "simd_neon.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>

#if defined(__clang__)
#define CNM_DOTPROD __attribute__((target("dotprod")))
#else
#define CNM_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#endif

static inline float32x4_t q8n_load(const float *x, int n) {
    if (n >= 4) return vld1q_f32(x);
    float t[4] = {0};
    if (n > 0) memcpy(t, x, sizeof(float) * (size_t)n);
    return vld1q_f32(t);
}

#define q8n_store simd4_store
#define q8n_relu simd4_relu

/* Words of 4 channels' signed codes s = q + zp - 128 for 4 pixels, from each channel's rounded
 * t = x * inv (int32, fcvtns: round to nearest even, saturating): the saturating add and narrows
 * (sqadd, sqxtn, sqxtn2) clamp s to -128..127, i.e. q to -zp..255 - zp, which is the reference's
 * clamp (rounding is monotonic and the bounds are integers, so clamping after it gives the same
 * q), and one table lookup (tbl) turns the 4 x 4 bytes, channel-major, into pixel words. */
static inline int32x4_t q8n_words4(int32x4_t r0, int32x4_t r1, int32x4_t r2, int32x4_t r3, int zp) {
    const int32x4_t off = vdupq_n_s32(zp - 128);
    const int16x8_t a = vqmovn_high_s32(vqmovn_s32(vqaddq_s32(r0, off)), vqaddq_s32(r1, off));
    const int16x8_t b = vqmovn_high_s32(vqmovn_s32(vqaddq_s32(r2, off)), vqaddq_s32(r3, off));
    const uint8x16_t idx = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
    return vreinterpretq_s32_s8(vqtbl1q_s8(vqmovn_high_s16(vqmovn_s16(a), b), idx));
}
/* t = x * inv rounded for q8n_words4; the lower clamp stays in float (max(NaN, lo) = lo: a NaN
 * input gets the lower bound's code, as the reference's clamp gives it), where the input may be
 * NaN or below it; the upper one is the narrows' saturation */
static inline int32x4_t q8n_round(float32x4_t v, float32x4_t inv, float32x4_t lo, int need_lo) {
    const float32x4_t t = vmulq_f32(v, inv);
    return vcvtnq_s32_f32(need_lo ? vmaxnmq_f32(t, lo) : t);
}

/* the word standing for q = 0 in every channel (zero border of direct convolutions) */
static inline int32_t q8n_zero_word(int zp) {
    return (int32_t)(((uint32_t)(zp - 128) & 0xFFu) * 0x01010101u);
}

/* Quantise group g's inputs for pixels [p0, p0 + n) into panel[j * CNM_PW_TILE + p], one word of
 * 4 channels each (words of pixels n .. round16(n) are not read back: their outputs are not
 * stored). */
static inline void q8n_pack_pointwise(const cnm_q8_args *q, int32_t *panel, int g, int p0, int n) {
    const cnm_pw_args *a = &q->pw;
    const int per = 4, words = (a->cin_g + per - 1) / per, nr = (n + 15) / 16 * 16;
    /* in locals: the panel's stores (int32) could alias the struct's int fields, which would be
     * re-read and re-broadcast for every 4 pixels */
    const float inv = q->inv_scale;
    const int zp = q->zp, relu = a->pre_relu;
    /* after a ReLU (which makes NaN +0) and with zp >= 0, t = v * inv >= -zp: no lower clamp */
    const int need_lo = !relu;
    const float32x4_t vinv = vdupq_n_f32(inv), vlo = vdupq_n_f32((float)-zp);
    for (int j = 0; j < words; j++) {
        /* each channel's row (after the gather) and BatchNorm constants, looked up once per panel */
        const int nch = a->cin_g - per * j < per ? a->cin_g - per * j : per;
        const float *xs[4];
        float32x4_t sc[4], sh[4];
        for (int h = 0; h < nch; h++) {
            const int c = g * a->cin_g + per * j + h;
            xs[h] = a->in + (size_t)(a->src ? a->src[c] : c) * a->hw + p0;
            sc[h] = vdupq_n_f32(a->pre_scale ? a->pre_scale[c] : 1.0f);
            sh[h] = vdupq_n_f32(a->pre_shift ? a->pre_shift[c] : 0.0f);
        }
        /* the signed-byte words: rounded, then clamped by saturation (q8n_words4) */
        int32_t *row = panel + (size_t)j * CNM_PW_TILE;
        int p = 0;
        if (nch == 4 && relu) /* the dense-block case, without a branch per channel */
            for (; p + 4 <= n; p += 4) {
                const float32x4_t v0 = q8n_relu(vfmaq_f32(sh[0], vld1q_f32(xs[0] + p), sc[0]));
                const float32x4_t v1 = q8n_relu(vfmaq_f32(sh[1], vld1q_f32(xs[1] + p), sc[1]));
                const float32x4_t v2 = q8n_relu(vfmaq_f32(sh[2], vld1q_f32(xs[2] + p), sc[2]));
                const float32x4_t v3 = q8n_relu(vfmaq_f32(sh[3], vld1q_f32(xs[3] + p), sc[3]));
                vst1q_s32(row + p, q8n_words4(q8n_round(v0, vinv, vlo, 0), q8n_round(v1, vinv, vlo, 0), q8n_round(v2, vinv, vlo, 0),
                                              q8n_round(v3, vinv, vlo, 0), zp));
            }
        for (; p < nr; p += 4) {
            int32x4_t r[4];
            for (int h = 0; h < 4; h++) {
                if (h >= nch || p >= n) { r[h] = vdupq_n_s32(0); continue; } /* (their weights are 0; pixels past n are not stored) */
                float32x4_t v = vfmaq_f32(sh[h], q8n_load(xs[h] + p, n - p), sc[h]);
                if (relu) v = q8n_relu(v);
                r[h] = q8n_round(v, vinv, vlo, need_lo);
            }
            vst1q_s32(row + p, q8n_words4(r[0], r[1], r[2], r[3], zp));
        }
    }
}

/* Worksharing: quantise `in` into the zero-bordered copy `pad` (planes of words of 4 channels,
 * laid out like the fp32 copy of conv_pad.c). */
static inline void q8n_pack_direct(const cnm_conv_shape *s, const float *in, float inv, int zp, int32_t *pad) {
    const int per = 4, cin_g = s->cin / s->groups, words = (cin_g + per - 1) / per, RS = padded_row(s);
    const size_t PS = (size_t)(s->ih + 2 * s->ph) * RS;
    const int32_t zero = q8n_zero_word(zp);
    const int planes = s->groups * words;
#pragma omp for schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        const int g = pl / words, j = pl % words;
        int32_t *p = pad + (size_t)pl * PS;
        /* stride 1: only the border needs the zero word (the interior is written below) */
        if (s->sw == 1) direct_fill_border_words(s, p, zero);
        else for (size_t i = 0; i < PS; i++) p[i] = zero;
        const float *xs[4];
        for (int h = 0; h < per; h++) /* channels past cin_g keep the zero word's byte (their weights are 0) */
            xs[h] = per * j + h < cin_g ? in + (size_t)(g * cin_g + per * j + h) * s->ih * s->iw : NULL;
        const float32x4_t vinv = vdupq_n_f32(inv), vlo = vdupq_n_f32((float)-zp);
        for (int iy = 0; iy < s->ih; iy++) {
            int32_t *row = p + (size_t)(iy + s->ph) * RS;
            for (int ix = 0; ix < s->iw; ix += 4) {
                if (s->sw == 1 && ix + 4 <= s->iw && xs[3]) { /* 4 channels, 4 whole pixels: no branch */
                    const size_t at = (size_t)iy * s->iw + ix;
                    vst1q_s32(row + s->pw + ix,
                              q8n_words4(q8n_round(vld1q_f32(xs[0] + at), vinv, vlo, 1), q8n_round(vld1q_f32(xs[1] + at), vinv, vlo, 1),
                                         q8n_round(vld1q_f32(xs[2] + at), vinv, vlo, 1), q8n_round(vld1q_f32(xs[3] + at), vinv, vlo, 1), zp));
                    continue;
                }
                /* rounded, clamped by saturation; a missing channel q = 0 (the zero word's byte) */
                int32x4_t r[4];
                for (int h = 0; h < 4; h++)
                    r[h] = xs[h] ? q8n_round(q8n_load(xs[h] + (size_t)iy * s->iw + ix, s->iw - ix), vinv, vlo, 1) : vdupq_n_s32(0);
                const int32x4_t word = q8n_words4(r[0], r[1], r[2], r[3], zp);
                if (s->sw == 1 && ix + 4 <= s->iw) {
                    vst1q_s32(row + s->pw + ix, word);
                    continue;
                }
                int32_t w4[4];
                vst1q_s32(w4, word);
                for (int k = 0; k < 4 && ix + k < s->iw; k++) {
                    const int X = ix + k + s->pw;
                    row[s->sw == 2 ? (X & 1) * padded_half(s) + X / 2 : X] = w4[k];
                }
            }
        }
    }
}
#endif
#endif
