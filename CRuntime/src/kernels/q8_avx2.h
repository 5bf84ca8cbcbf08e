/* Helpers of the x86-64 int8 kernels (pointwise_q8_avx2.c, conv_q8_avx2.c and their AVX-VNNI
 * versions): the quantisation and float epilogue of the int8 contract (kernels.h) in AVX2. */
#ifndef CNM_Q8_AVX2_H
#define CNM_Q8_AVX2_H
#include "direct_layout.h"
#include "simd_x86.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define AVXVNNI __attribute__((target("avx2,fma,avxvnni")))
#define AVX512VNNI __attribute__((target("avx512f,avx512bw,avx512vnni,fma")))

/* quantise 8 floats (already pre-processed) to int32 q in [-zp, 255 - zp] */
AVX2 static inline __m256i q8x_quant(__m256 v, __m256 inv, __m256 lo, __m256 hi) {
    __m256 t = _mm256_mul_ps(v, inv);
    t = _mm256_max_ps(t, lo);
    t = _mm256_min_ps(t, hi);
    return _mm256_cvtps_epi32(t);
}

#define q8x_store simd8_store

AVX2 static inline __m256 q8x_load(const float *x, int n) {
    if (n >= 8) return _mm256_loadu_ps(x);
    float tmp[8] = {0};
    if (n > 0) memcpy(tmp, x, sizeof(float) * (size_t)n);
    return _mm256_loadu_ps(tmp);
}

/* Input channel c of a pointwise conv, looked up once per panel rather than per 8 pixels: its
 * row (after the gather) from pixel p0, and its BatchNorm scale and shift. */
typedef struct q8x_chan { const float *x; float scale, shift; } q8x_chan;
static inline q8x_chan q8x_chan_at(const cnm_q8_args *q, int c, int p0) {
    const cnm_pw_args *a = &q->pw;
    q8x_chan ch = {a->in + (size_t)(a->src ? a->src[c] : c) * a->hw + p0, a->pre_scale ? a->pre_scale[c] : 1.0f,
                   a->pre_shift ? a->pre_shift[c] : 0.0f};
    return ch;
}

/* The pointwise pre-processing of that channel for pixels [p, p + n) of the panel, n <= 8 (zeros
 * past n): fma with the BN scale/shift, ReLU: the float that is then quantised. */
AVX2 static inline __m256 q8x_pre(const q8x_chan *ch, int relu, int p, int n) {
    __m256 v = _mm256_fmadd_ps(q8x_load(ch->x + p, n), _mm256_set1_ps(ch->scale), _mm256_set1_ps(ch->shift));
    return relu ? _mm256_max_ps(v, _mm256_setzero_ps()) : v;
}

/* The pointwise panel of the VNNI kernels (AVX-VNNI and AVX-512 VNNI): quantise 4 channels x 8
 * pixels and interleave their uint8 codes into 8 words (pixel p: bytes
 * u0[p], u1[p], u2[p], u3[p]): two saturating packs (the codes are in 0..255), then one byte
 * shuffle per 128-bit lane (a 4x4 transpose). */
AVX2 static inline void q8x_pack_words(const cnm_q8_args *q, int32_t *panel, int g, int p0, int n) {
    const cnm_pw_args *a = &q->pw;
    const int T = CNM_PW_TILE, words = (a->cin_g + 3) / 4, nr = (n + 15) / 16 * 16;
    const __m256 inv = _mm256_set1_ps(q->inv_scale), lo = _mm256_set1_ps((float)-q->zp),
                 hi = _mm256_set1_ps((float)(255 - q->zp));
    const __m256i zp = _mm256_set1_epi32(q->zp);
    const __m256i transpose = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
                                               0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    /* after a ReLU with zero point 0, t = v * inv >= 0: the lower clamp cannot change it */
    const int need_lo = !(a->pre_relu && q->zp == 0);
    for (int j = 0; j < words; j++) {
        const int nch = a->cin_g - 4 * j < 4 ? a->cin_g - 4 * j : 4;
        q8x_chan chs[4];
        for (int h = 0; h < nch; h++) chs[h] = q8x_chan_at(q, g * a->cin_g + 4 * j + h, p0);
        for (int p = 0; p < nr; p += 8) {
            __m256i u[4];
            for (int h = 0; h < 4; h++) {
                if (h >= nch || p >= n) { u[h] = _mm256_setzero_si256(); continue; }
                __m256 t = _mm256_mul_ps(q8x_pre(&chs[h], a->pre_relu, p, n - p), inv);
                if (need_lo) t = _mm256_max_ps(t, lo);
                u[h] = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_min_ps(t, hi)), zp);
            }
            const __m256i b16 = _mm256_packus_epi16(_mm256_packs_epi32(u[0], u[1]), _mm256_packs_epi32(u[2], u[3]));
            _mm256_storeu_si256((__m256i *)(panel + (size_t)j * T + p), _mm256_shuffle_epi8(b16, transpose));
        }
    }
}
/* The AVX-512 word pack (pointwise_q8_avx512vnni.c, conv_q8_avx512vnni.c): the codes of the
 * reference's quantiser in fewer operations, with the same results:
 *  - the clamp to [-zp, 255 - zp] then + zp becomes + zp (q8z_code) then the saturation of the
 *    packs to 0..255 (q8z_words): rounding is monotonic and the bounds are integers; the upper
 *    clamp stays in float, so a huge value cannot wrap, and min(hi, t) keeps NaN, which converts
 *    to INT_MIN: code 0, as the reference's max(t, lo) gives;
 *  - the packs also interleave 4 channels (per 128-bit lane: 4 pixels x channels 0..3,
 *    channel-major), and one byte shuffle makes each pixel's 4 codes one word. */
AVX512VNNI static inline __m512i q8z_code(__m512 v, __m512 inv, __m512 hi, __m512i zp) {
    return _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_min_ps(hi, _mm512_mul_ps(v, inv))), zp);
}
AVX512VNNI static inline __m512i q8z_words(__m512i u0, __m512i u1, __m512i u2, __m512i u3) {
    const __m512i transpose = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
    return _mm512_shuffle_epi8(_mm512_packus_epi16(_mm512_packs_epi32(u0, u1), _mm512_packs_epi32(u2, u3)), transpose);
}

/* The zero-bordered input of the VNNI direct kernels (AVX-VNNI and AVX-512 VNNI): words of 4
 * consecutive input channels' uint8 codes u = q + zp, the border holding the code of q = 0. */
AVX2 static inline void q8x_direct_pack_words(const cnm_conv_shape *s, const float *in, float inv, int zp, int32_t *pad) {
    const int cin_g = s->cin / s->groups, words = (cin_g + 3) / 4, RS = padded_row(s);
    const size_t PS = (size_t)(s->ih + 2 * s->ph) * RS;
    const __m256 vinv = _mm256_set1_ps(inv), lo = _mm256_set1_ps((float)-zp), hi = _mm256_set1_ps((float)(255 - zp));
    const __m256i zpv = _mm256_set1_epi32(zp), m8 = _mm256_set1_epi32(0xFF);
    const int32_t border = (int32_t)(((uint32_t)zp & 0xFFu) * 0x01010101u);
    const int planes = s->groups * words;
#pragma omp for schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        const int g = pl / words, j = pl % words;
        int32_t *p = pad + (size_t)pl * PS;
        if (s->sw == 1) direct_fill_border_words(s, p, border); /* the interior is written below */
        else for (size_t i = 0; i < PS; i++) p[i] = border;
        for (int iy = 0; iy < s->ih; iy++) {
            int32_t *row = p + (size_t)(iy + s->ph) * RS;
            for (int ix = 0; ix < s->iw; ix += 8) {
                __m256i word = _mm256_setzero_si256();
                for (int h = 0; h < 4; h++) {
                    const int ch = 4 * j + h;
                    /* channels past cin_g: code 0 (their weights are 0) */
                    if (ch >= cin_g) break;
                    const __m256 v = q8x_load(in + ((size_t)(g * cin_g + ch) * s->ih + iy) * s->iw + ix, s->iw - ix);
                    const __m256i code = _mm256_and_si256(_mm256_add_epi32(q8x_quant(v, vinv, lo, hi), zpv), m8);
                    word = _mm256_or_si256(word, _mm256_sllv_epi32(code, _mm256_set1_epi32(8 * h)));
                }
                if (s->sw == 1 && ix + 8 <= s->iw) {
                    _mm256_storeu_si256((__m256i *)(row + s->pw + ix), word);
                    continue;
                }
                int32_t w8[8];
                _mm256_storeu_si256((__m256i *)w8, word);
                for (int k = 0; k < 8 && ix + k < s->iw; k++) {
                    const int X = ix + k + s->pw;
                    row[s->sw == 2 ? (X & 1) * padded_half(s) + X / 2 : X] = w8[k];
                }
            }
        }
    }
}
#endif
#endif
