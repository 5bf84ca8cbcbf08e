/* Direct KxK convolution (stride 1 or 2), int8, x86-64 with AVX-512 VNNI: the word panel and dot
 * weights of conv_q8_avxvnni.c, the work items and output slots of conv_f32_avx512.c (mode A:
 * two rows of a map at most 8 wide per zmm; B: one row of 9..16; C: 2 x 16 outputs of a wider
 * row). Each item computes a block of 4 outputs x 2 slots in 8 accumulators, 64 MACs per
 * vpdpbusd; zp * sum(w) is subtracted back: bit-identical to conv_q8_ref.c. */
#include "q8_avx2.h"

#if defined(__x86_64__)
#define S 2
static inline int mode_for(const cnm_conv_shape *s) { return s->ow <= 8 ? 0 : s->ow <= 16 ? 1 : 2; }
static inline int item_rows(const cnm_conv_shape *s) { const int m = mode_for(s); return m == 0 ? 2 * S : m == 1 ? S : 1; }

AVX512VNNI static inline __m512i load_two(const int32_t *a, const int32_t *b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                              _mm256_loadu_si256((const __m256i *)b), 1);
}

AVX512VNNI static inline void store_n(float *y, __m512 v, int n) {
    if (n >= 16) _mm512_storeu_ps(y, v);
    else if (n > 0) _mm512_mask_storeu_ps(y, (__mmask16)((1u << n) - 1u), v);
}

#define DIRECT_Q8(MODE)                                                                            \
    AVX512VNNI static void kernel_##MODE(const cnm_conv_shape *s, const int32_t *pad, const int8_t *wb, \
                                         const int32_t *wsum, const float *mult, const float *bias,  \
                                         int zp, float *out, int g, int o, int mr, int oy) {         \
        const int cin_g = s->cin / s->groups, kq = (cin_g + 3) / 4, RS = padded_row(s), KK = s->kh * s->kw; \
        const size_t PS = (size_t)(s->ih + 2 * s->ph) * RS;                                         \
        size_t off[S], off2[S];                                                                     \
        for (int q = 0; q < (MODE == 2 ? s->ow : 1); q += (MODE == 2 ? 16 * S : 1)) {               \
            for (int k = 0; k < S; k++) {                                                           \
                int r0 = MODE == 0 ? 2 * k : MODE == 1 ? k : 0, r1 = r0 + 1;                        \
                if (oy + r0 >= s->oh) r0 = s->oh - 1 - oy; /* computed from a real row, not stored */ \
                if (oy + r1 >= s->oh) r1 = s->oh - 1 - oy;                                          \
                off[k] = (size_t)r0 * s->sh * RS + (MODE == 2 ? (size_t)(q + 16 * k) : 0);          \
                off2[k] = (size_t)r1 * s->sh * RS;                                                  \
            }                                                                                       \
            __m512i acc[4][S];                                                                      \
            for (int r = 0; r < 4; r++)                                                             \
                for (int k = 0; k < S; k++) acc[r][k] = _mm512_setzero_si512();                     \
            for (int j = 0; j < kq; j++) {                                                          \
                const int32_t *xin = pad + (size_t)(g * kq + j) * PS + (size_t)oy * s->sh * RS;     \
                const int8_t *wk = wb + (size_t)j * KK * 16;                                        \
                for (int ky = 0; ky < s->kh; ky++)                                                  \
                    for (int kx = 0; kx < s->kw; kx++) {                                            \
                        const int32_t *xt = xin + (size_t)ky * RS + tap_col(s, kx);                 \
                        __m512i xv[S];                                                              \
                        for (int k = 0; k < S; k++)                                                 \
                            xv[k] = MODE == 0 ? load_two(xt + off[k], xt + off2[k])                 \
                                              : _mm512_loadu_si512((const void *)(xt + off[k]));    \
                        int32_t w4[4];                                                              \
                        memcpy(w4, wk + (size_t)(ky * s->kw + kx) * 16, sizeof w4);                 \
                        for (int r = 0; r < 4; r++) {                                               \
                            const __m512i w = _mm512_set1_epi32(w4[r]);                             \
                            for (int k = 0; k < S; k++) acc[r][k] = _mm512_dpbusd_epi32(acc[r][k], xv[k], w); \
                        }                                                                           \
                    }                                                                               \
            }                                                                                       \
            for (int r = 0; r < mr; r++) {                                                          \
                const __m512i corr = _mm512_set1_epi32(zp * wsum[o + r]);                           \
                const __m512 m = _mm512_set1_ps(mult[o + r]), b = _mm512_set1_ps(bias ? bias[o + r] : 0.0f); \
                float *y = out + (size_t)(o + r) * s->oh * s->ow;                                   \
                for (int k = 0; k < S; k++) {                                                       \
                    __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][k], corr)), m, b); \
                    if (s->relu) v = _mm512_max_ps(v, _mm512_setzero_ps());                         \
                    if (MODE == 0) {                                                                \
                        const int row = oy + 2 * k;                                                 \
                        if (row < s->oh) store_n(y + (size_t)row * s->ow, v, s->ow);                \
                        if (row + 1 < s->oh)                                                        \
                            store_n(y + (size_t)(row + 1) * s->ow, _mm512_castps256_ps512(          \
                                _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))), s->ow); \
                    } else if (MODE == 1) {                                                         \
                        if (oy + k < s->oh) store_n(y + (size_t)(oy + k) * s->ow, v, s->ow);        \
                    } else {                                                                        \
                        store_n(y + (size_t)oy * s->ow + q + 16 * k, v, s->ow - q - 16 * k);        \
                    }                                                                               \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    }
DIRECT_Q8(0)
DIRECT_Q8(1)
DIRECT_Q8(2)

void cnm_conv2d_direct_q8_avx512vnni(const cnm_conv_shape *s, const float *in, const int8_t *wdot, const int32_t *wsum,
                                     const float *mult, const float *bias, float inv_scale, int zp, float *out, int32_t *pad) {
    q8x_direct_pack_words(s, in, inv_scale, zp, pad);
    const int cin_g = s->cin / s->groups, cout_g = s->cout / s->groups, nb = (cout_g + 3) / 4, R = item_rows(s);
    const size_t block = (size_t)((cin_g + 3) / 4) * s->kh * s->kw * 16;
    const int rows = (s->oh + R - 1) / R, items = s->groups * nb * rows, mode = mode_for(s);
#pragma omp for schedule(static)
    for (int it = 0; it < items; it++) {
        const int g = it / (rows * nb), rem = it % (rows * nb), b = rem % nb, oy = (rem / nb) * R;
        const int o = g * cout_g + 4 * b, mr = cout_g - 4 * b < 4 ? cout_g - 4 * b : 4;
        const int8_t *wb = wdot + (size_t)(g * nb + b) * block;
        if (mode == 0) kernel_0(s, pad, wb, wsum, mult, bias, zp, out, g, o, mr, oy);
        else if (mode == 1) kernel_1(s, pad, wb, wsum, mult, bias, zp, out, g, o, mr, oy);
        else kernel_2(s, pad, wb, wsum, mult, bias, zp, out, g, o, mr, oy);
    }
}
#endif
