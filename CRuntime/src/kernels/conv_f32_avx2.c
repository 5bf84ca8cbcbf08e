/* Direct KxK convolution, stride 1 or 2, fp32, AVX2 + FMA. The input is copied once into a
 * zero-bordered scratch (so the inner loop has no bounds checks), then each work item
 * (group, output row, block of up to 4 output channels) accumulates 4 x 16 outputs in 8 ymm
 * registers: per tap, two unaligned input loads and four weight broadcasts feed eight FMAs. */
#include "direct_layout.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,fma")))

/* Each call computes MR output channels for 16 outputs: 16 pixels of row oy, or, for maps at
 * most 8 wide, 8 pixels of row oy and 8 of row oy + 1 (so small maps keep both halves busy). */
AVX2 static inline void store8(float *y, __m256 v, int n) {
    if (n >= 8) { _mm256_storeu_ps(y, v); return; }
    float tmp[8];
    _mm256_storeu_ps(tmp, v);
    memcpy(y, tmp, sizeof(float) * (size_t)n);
}

#define DIRECT_KERNEL(NAME, MR, NCH)                                                               \
    AVX2 static void NAME(const cnm_conv_shape *s, const float *pad, const float *weight,           \
                          const float *bias, float *out, int g, int o, int oy) {                    \
        const int cin_g = s->cin / s->groups, RS = padded_row(s), KK = s->kh * s->kw;               \
        const size_t PS = (size_t)(s->ih + 2 * s->ph) * RS;                                         \
        const int two = s->ow <= 8;                                                                 \
        const size_t second = two ? (size_t)RS * s->sh : 8; /* offset of the second 8 outputs */    \
        const int W = 8 * NCH;                                                                      \
        const __m256 z = _mm256_setzero_ps();                                                       \
        for (int q = 0; q < s->ow; q += W) {                                                        \
            __m256 acc[MR][NCH];                                                                    \
            for (int r = 0; r < MR; r++)                                                            \
                for (int h = 0; h < NCH; h++) acc[r][h] = _mm256_set1_ps(bias ? bias[o + r] : 0.0f); \
            for (int ic = 0; ic < cin_g; ic++) {                                                    \
                const float *xin = pad + (size_t)(g * cin_g + ic) * PS + (size_t)oy * s->sh * RS + q; \
                const float *wk = weight + ((size_t)o * cin_g + ic) * KK;                           \
                for (int ky = 0; ky < s->kh; ky++) {                                                \
                    for (int kx = 0; kx < s->kw; kx++) {                                            \
                        const float *xt = xin + (size_t)ky * RS + tap_col(s, kx);                   \
                        __m256 xv[NCH];                                                             \
                        xv[0] = _mm256_loadu_ps(xt);                                                \
                        xv[1] = _mm256_loadu_ps(xt + second);                                       \
                        for (int h = 2; h < NCH; h++) xv[h] = _mm256_loadu_ps(xt + 8 * h);          \
                        for (int r = 0; r < MR; r++) {                                              \
                            const __m256 wv = _mm256_broadcast_ss(wk + (size_t)r * cin_g * KK + ky * s->kw + kx); \
                            for (int h = 0; h < NCH; h++) acc[r][h] = _mm256_fmadd_ps(wv, xv[h], acc[r][h]); \
                        }                                                                           \
                    }                                                                               \
                }                                                                                   \
            }                                                                                       \
            for (int r = 0; r < MR; r++) {                                                          \
                float *y = out + (size_t)(o + r) * s->oh * s->ow + (size_t)oy * s->ow + q;          \
                for (int h = 0; h < NCH; h++) {                                                     \
                    __m256 v = acc[r][h];                                                           \
                    if (s->relu) v = _mm256_max_ps(v, z);                                           \
                    if (two) {                                                                      \
                        if (h == 0) store8(y, v, s->ow);                                            \
                        else if (h == 1 && oy + 1 < s->oh) store8(y + s->ow, v, s->ow);             \
                    } else if (s->ow - q > 8 * h) {                                                 \
                        store8(y + 8 * h, v, s->ow - q - 8 * h);                                    \
                    }                                                                               \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    }
/* 4 channels x 16 outputs, or (1-2 channels, wide maps) 2 channels x 32 outputs: 8 accumulators */
DIRECT_KERNEL(direct_1, 1, 2)
DIRECT_KERNEL(direct_2, 2, 2)
DIRECT_KERNEL(direct_3, 3, 2)
DIRECT_KERNEL(direct_4, 4, 2)
DIRECT_KERNEL(direct_1w, 1, 4)
DIRECT_KERNEL(direct_2w, 2, 4)

AVX2 void cnm_conv2d_direct_f32_avx2(const cnm_direct_args *da) {
    const cnm_conv_shape *s = da->s;
    const float *weight = da->w, *bias = da->bias;
    float *out = da->out, *pad = da->pad;
    const float *in = da->in;
    cnm_direct_pack(s, in, pad);
    const int items = cnm_direct_items(s);
#pragma omp for schedule(static)
    for (int it = 0; it < items; it++) {
        const cnm_direct_item w = cnm_direct_item_at(s, it);
        const int g = w.g, o = w.o, oy = w.oy, mr = w.mr;
        if (mr <= 2 && s->ow > 16) {
            if (mr == 2) direct_2w(s, pad, weight, bias, out, g, o, oy);
            else direct_1w(s, pad, weight, bias, out, g, o, oy);
            continue;
        }
        switch (mr) {
        case 4: direct_4(s, pad, weight, bias, out, g, o, oy); break;
        case 3: direct_3(s, pad, weight, bias, out, g, o, oy); break;
        case 2: direct_2(s, pad, weight, bias, out, g, o, oy); break;
        default: direct_1(s, pad, weight, bias, out, g, o, oy); break;
        }
    }
}
#endif
