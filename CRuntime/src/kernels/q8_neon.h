/* Helpers of the aarch64 int8 kernels (pointwise_q8_neon*.c, conv_q8_neon*.c): the quantisation
 * and float epilogues of the int8 contract (kernels.h) in NEON, and the packing of quantised
 * inputs into 32-bit words of `per` consecutive input channels:
 *   per 2: two int16 q (the pairs layout, for smull/smlal),
 *   per 4: four bytes q + zp - 128 (the signed bytes sdot multiplies).
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

/* cnm_q8_quantize on 4 lanes: round to nearest even of the clamped product */
static inline int32x4_t q8n_quant(float32x4_t v, float inv, int zp) {
    const float32x4_t t = vmulq_f32(v, vdupq_n_f32(inv));
    return vcvtnq_s32_f32(vminnmq_f32(vmaxnmq_f32(t, vdupq_n_f32((float)-zp)), vdupq_n_f32((float)(255 - zp))));
}

/* put the q of channel h of a word into its place */
static inline int32x4_t q8n_word(int32x4_t word, int32x4_t qv, int h, int per, int zp) {
    if (per == 2) return vorrq_s32(word, vshlq_s32(vandq_s32(qv, vdupq_n_s32(0xFFFF)), vdupq_n_s32(16 * h)));
    return vorrq_s32(word, vshlq_s32(vandq_s32(vaddq_s32(qv, vdupq_n_s32(zp - 128)), vdupq_n_s32(0xFF)), vdupq_n_s32(8 * h)));
}

/* the word standing for q = 0 in every channel (zero border of direct convolutions) */
static inline int32_t q8n_zero_word(int per, int zp) {
    return per == 2 ? 0 : (int32_t)(((uint32_t)(zp - 128) & 0xFFu) * 0x01010101u);
}

/* Quantise group g's inputs for pixels [p0, p0 + n) into panel[j * CNM_PW_TILE + p], one word of
 * `per` channels each; words of pixels n .. round16(n) are zero. */
static inline void q8n_pack_pointwise(const cnm_q8_args *q, int32_t *panel, int g, int p0, int n, int per) {
    const cnm_pw_args *a = &q->pw;
    const int words = (a->cin_g + per - 1) / per, nr = (n + 15) / 16 * 16;
    /* in locals: the panel's stores (int32) could alias the struct's int fields, which would be
     * re-read and re-broadcast for every 4 pixels */
    const float inv = q->inv_scale;
    const int zp = q->zp, relu = a->pre_relu;
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
        for (int p = 0; p < nr; p += 4) {
            int32x4_t word = vdupq_n_s32(0);
            for (int h = 0; h < nch && p < n; h++) {
                float32x4_t v = vfmaq_f32(sh[h], q8n_load(xs[h] + p, n - p), sc[h]);
                if (relu) v = q8n_relu(v);
                word = q8n_word(word, q8n_quant(v, inv, zp), h, per, zp);
            }
            vst1q_s32(panel + (size_t)j * CNM_PW_TILE + p, word);
        }
    }
}

/* Worksharing: quantise `in` into the zero-bordered copy `pad` (planes of words of `per` channels,
 * laid out like the fp32 copy of conv_pad.c). */
static inline void q8n_pack_direct(const cnm_conv_shape *s, const float *in, float inv, int zp, int32_t *pad, int per) {
    const int cin_g = s->cin / s->groups, words = (cin_g + per - 1) / per, RS = padded_row(s);
    const size_t PS = (size_t)(s->ih + 2 * s->ph) * RS;
    const int32_t zero = q8n_zero_word(per, zp);
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
        for (int iy = 0; iy < s->ih; iy++) {
            int32_t *row = p + (size_t)(iy + s->ph) * RS;
            for (int ix = 0; ix < s->iw; ix += 4) {
                int32x4_t word = vdupq_n_s32(0);
                for (int h = 0; h < per; h++) {
                    const int32x4_t qv = xs[h] ? q8n_quant(q8n_load(xs[h] + (size_t)iy * s->iw + ix, s->iw - ix), inv, zp) : vdupq_n_s32(0);
                    word = q8n_word(word, qv, h, per, zp);
                }
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
