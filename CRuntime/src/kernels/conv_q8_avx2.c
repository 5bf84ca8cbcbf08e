/* Direct KxK convolution (stride 1 or 2), int8 weights / uint8 activations, AVX2. The input is
 * quantised once into a zero-bordered copy of int16 pairs of consecutive input channels (the
 * border is q = 0, i.e. the zero point), laid out like the fp32 copy (conv_pad.c); then the
 * micro-kernel of direct.h with `vpmaddwd` of input pairs and broadcast weight pairs (2 slots of 8
 * pixels): exact, and bit-identical to conv_q8_ref.c. */
#include "layer_q8_avx2.h"
#include "direct_layout.h"

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
        if (s->sw == 1) direct_fill_border_words(s, p, 0); /* the interior is written below */
        else memset(p, 0, sizeof(int32_t) * PS);
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

#define DK_HALF 0
#define DK_S 2
#define DK_S_WIDE 2
static void dk_pack(const cnm_direct_args *a) { pack(a->s, a->in, a->inv_scale, a->zp, a->pad); }
#include "direct.h"

void cnm_conv2d_direct_q8_avx2(const cnm_direct_args *a) { dk_run(a); }
#endif
