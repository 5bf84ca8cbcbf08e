/* Direct KxK convolution (stride 1 or 2), int8 weights / uint8 activations, AVX2. The input is
 * quantised once into a zero-bordered copy of int16 pairs of consecutive input channels (the
 * border is q = 0, i.e. the zero point), laid out like the fp32 copy (conv_pad.c); each work
 * item (group, output row, up to 4 output channels) accumulates 4 x 16 int32 sums with
 * `vpmaddwd` against broadcast weight pairs: exact, and bit-identical to conv_q8_ref.c. */
#include "q8_avx2.h"

#include <math.h>
#include <string.h>

size_t cnm_direct_q8_padded_elems(const cnm_conv_shape *s) {
    const int cin_g = s->cin / s->groups, kp = (cin_g + 1) / 2;
    return (size_t)s->groups * kp * (size_t)(s->ih + 2 * s->ph) * padded_row(s) +
           (size_t)padded_row(s) * (size_t)(s->kh + 2 * s->sh) + 16;
}

#if defined(__x86_64__)

AVX2 static void pack(const cnm_conv_shape *s, const float *in, float inv, int zp, int32_t *pad) {
    const int cin_g = s->cin / s->groups, kp = (cin_g + 1) / 2, RS = padded_row(s), PH = s->ih + 2 * s->ph;
    const size_t PS = (size_t)PH * RS;
    const __m256 vinv = _mm256_set1_ps(inv), lo = _mm256_set1_ps((float)-zp), hi = _mm256_set1_ps((float)(255 - zp));
    const __m256i m16 = _mm256_set1_epi32(0xFFFF);
    const int planes = s->groups * kp;
#pragma omp for schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        const int g = pl / kp, j = pl % kp;
        const int c0 = g * cin_g + 2 * j, has1 = 2 * j + 1 < cin_g;
        int32_t *p = pad + (size_t)pl * PS;
        memset(p, 0, sizeof(int32_t) * PS);
        for (int iy = 0; iy < s->ih; iy++) {
            const float *x0 = in + ((size_t)c0 * s->ih + iy) * s->iw, *x1 = has1 ? x0 + (size_t)s->ih * s->iw : NULL;
            int32_t *row = p + (size_t)(iy + s->ph) * RS;
            int ix = 0;
            if (s->sw == 1) {
                for (; ix + 8 <= s->iw; ix += 8) {
                    const __m256i qa = q8x_quant(_mm256_loadu_ps(x0 + ix), vinv, lo, hi);
                    const __m256i qb = x1 ? q8x_quant(_mm256_loadu_ps(x1 + ix), vinv, lo, hi) : _mm256_setzero_si256();
                    _mm256_storeu_si256((__m256i *)(row + s->pw + ix), _mm256_or_si256(_mm256_and_si256(qa, m16), _mm256_slli_epi32(qb, 16)));
                }
            }
            for (; ix < s->iw; ix++) {
                const int qa = cnm_q8_quantize(x0[ix], inv, zp), qb = x1 ? cnm_q8_quantize(x1[ix], inv, zp) : 0;
                const int X = ix + s->pw;
                const int col = s->sw == 2 ? (X & 1) * padded_half(s) + X / 2 : X;
                row[col] = (int32_t)((uint32_t)(uint16_t)(int16_t)qa | (uint32_t)(uint16_t)(int16_t)qb << 16);
            }
        }
    }
}

#define Q8_DIRECT(MR)                                                                              \
    AVX2 static void q8d_##MR(const cnm_conv_shape *s, const int32_t *pad, const int32_t *wpairs,    \
                              const float *mult, const float *bias, float *out, int g, int o, int oy) { \
        const int cin_g = s->cin / s->groups, kp = (cin_g + 1) / 2, RS = padded_row(s), KK = s->kh * s->kw; \
        const size_t PS = (size_t)(s->ih + 2 * s->ph) * RS;                                         \
        const int two = s->ow <= 8;                                                                 \
        const size_t second = two ? (size_t)RS * s->sh : 8;                                         \
        const __m256 z = _mm256_setzero_ps();                                                       \
        for (int q = 0; q < s->ow; q += 16) {                                                       \
            __m256i acc[MR][2];                                                                     \
            for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();           \
            for (int j = 0; j < kp; j++) {                                                          \
                const int32_t *xin = pad + (size_t)(g * kp + j) * PS + (size_t)oy * s->sh * RS + q; \
                const int32_t *wk = wpairs + ((size_t)o * kp + j) * KK;                             \
                for (int ky = 0; ky < s->kh; ky++)                                                  \
                    for (int kx = 0; kx < s->kw; kx++) {                                            \
                        const int32_t *xt = xin + (size_t)ky * RS + tap_col(s, kx);                 \
                        const __m256i x0 = _mm256_loadu_si256((const __m256i *)xt);                 \
                        const __m256i x1 = _mm256_loadu_si256((const __m256i *)(xt + second));      \
                        for (int r = 0; r < MR; r++) {                                              \
                            const __m256i wv = _mm256_set1_epi32(wk[(size_t)r * kp * KK + ky * s->kw + kx]); \
                            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(x0, wv));     \
                            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(x1, wv));     \
                        }                                                                           \
                    }                                                                               \
            }                                                                                       \
            for (int r = 0; r < MR; r++) {                                                          \
                const __m256 m = _mm256_set1_ps(mult[o + r]), b = _mm256_set1_ps(bias ? bias[o + r] : 0.0f); \
                __m256 v0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r][0]), m, b);                   \
                __m256 v1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r][1]), m, b);                   \
                if (s->relu) { v0 = _mm256_max_ps(v0, z); v1 = _mm256_max_ps(v1, z); }              \
                float *y = out + (size_t)(o + r) * s->oh * s->ow + (size_t)oy * s->ow + q;          \
                if (two) {                                                                          \
                    q8x_store(y, v0, s->ow);                                                           \
                    if (oy + 1 < s->oh) q8x_store(y + s->ow, v1, s->ow);                               \
                } else {                                                                            \
                    q8x_store(y, v0, s->ow - q);                                                       \
                    q8x_store(y + 8, v1, s->ow - q - 8);                                               \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    }
Q8_DIRECT(1)
Q8_DIRECT(2)
Q8_DIRECT(3)
Q8_DIRECT(4)

AVX2 void cnm_conv2d_direct_q8_avx2(const cnm_direct_args *da) {
    const cnm_conv_shape *s = da->s;
    const float *in = da->in, *mult = da->mult, *bias = da->bias;
    const int32_t *wpairs = da->wpairs;
    const float inv_scale = da->inv_scale;
    const int zp = da->zp;
    float *out = da->out;
    int32_t *pad = da->pad;
    pack(s, in, inv_scale, zp, pad);
    const int items = cnm_direct_items(s);
#pragma omp for schedule(static)
    for (int it = 0; it < items; it++) {
        const cnm_direct_item w = cnm_direct_item_at(s, it);
        const int g = w.g, o = w.o, oy = w.oy, mr = w.mr;
        switch (mr) {
        case 4: q8d_4(s, pad, wpairs, mult, bias, out, g, o, oy); break;
        case 3: q8d_3(s, pad, wpairs, mult, bias, out, g, o, oy); break;
        case 2: q8d_2(s, pad, wpairs, mult, bias, out, g, o, oy); break;
        default: q8d_1(s, pad, wpairs, mult, bias, out, g, o, oy); break;
        }
    }
}
#endif
