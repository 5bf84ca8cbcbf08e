/* Direct KxK convolution (stride 1 or 2) with fp16 arithmetic, NEON with Armv8.2 FP16 (aarch64;
 * a model loaded with CNM_LOAD_FP16): direct.h on its layer (layer_f16_neon.h). The input is
 * copied once into the zero-bordered layout of direct_layout.h in 32-bit words holding binary16
 * pairs of consecutive input channels (the geometry of the AVX2 int8 copy, conv_q8_avx2.c), the
 * weights were packed at load as pairs [cout][pairs][kh*kw] (cnm_f16_pack_pairs, below); 4 slots
 * of 4 pixels x 4 outputs per item. */
#include "layer_f16_neon.h"
#include "direct_layout.h"

#include <string.h>

size_t cnm_f16_pairs_elems(int cout, int cin_g, int kk) { return (size_t)cout * (size_t)((cin_g + 1) / 2) * (size_t)kk; }

#if defined(__aarch64__)
void cnm_f16_pack_pairs(const float *w, int cout, int cin_g, int kk, int32_t *out) {
    const int pairs = (cin_g + 1) / 2;
    __fp16 *h = (__fp16 *)(void *)out;
    for (int o = 0; o < cout; o++)
        for (int j = 0; j < pairs; j++)
            for (int t = 0; t < kk; t++) {
                const size_t at = 2 * (((size_t)o * pairs + j) * kk + t);
                const float *wo = w + (size_t)o * cin_g * kk;
                h[at] = (__fp16)wo[(size_t)(2 * j) * kk + t];
                h[at + 1] = 2 * j + 1 < cin_g ? (__fp16)wo[(size_t)(2 * j + 1) * kk + t] : (__fp16)0.0f;
            }
}

/* one plane (group g, channel pair j) of the padded copy: the interior; the border was zeroed */
CNM_FP16 static void pack_plane(const cnm_conv_shape *s, const float *in, int32_t *pad, int pl) {
    const int cin_g = s->cin / s->groups, kp = (cin_g + 1) / 2, RS = padded_row(s);
    const size_t PS = (size_t)(s->ih + 2 * s->ph) * RS;
    const int g = pl / kp, j = pl % kp, c0 = g * cin_g + 2 * j, has1 = 2 * j + 1 < cin_g;
    int32_t *p = pad + (size_t)pl * PS;
    memset(p, 0, sizeof(int32_t) * PS);
    for (int iy = 0; iy < s->ih; iy++) {
        const float *x0 = in + ((size_t)c0 * s->ih + iy) * s->iw, *x1 = has1 ? x0 + (size_t)s->ih * s->iw : NULL;
        int32_t *row = p + (size_t)(iy + s->ph) * RS;
        int ix = 0;
        if (s->sw == 1)
            for (; ix + 4 <= s->iw; ix += 4)
                vst1q_f16((__fp16 *)(void *)(row + s->pw + ix), f16n_pairs(vld1q_f32(x0 + ix), x1 ? vld1q_f32(x1 + ix) : vdupq_n_f32(0.0f)));
        for (; ix < s->iw; ix++) {
            const int X = ix + s->pw, col = s->sw == 2 ? (X & 1) * padded_half(s) + X / 2 : X;
            __fp16 *w = (__fp16 *)(void *)(row + col);
            w[0] = (__fp16)x0[ix];
            w[1] = x1 ? (__fp16)x1[ix] : (__fp16)0.0f;
        }
    }
}

#define DK_HALF 0
#define DK_S 4
#define DK_S_WIDE 4
static void dk_pack(const cnm_direct_args *a) {
    const cnm_conv_shape *s = a->s;
    const int planes = s->groups * ((s->cin / s->groups + 1) / 2);
#pragma omp for schedule(static)
    for (int pl = 0; pl < planes; pl++) pack_plane(s, a->in, a->pad, pl);
}
#define DK_PACK_PLANE 1
static void dk_pack_plane(const cnm_direct_args *a, int pl) { pack_plane(a->s, a->in, a->pad, pl); }
#include "direct.h"

void cnm_conv2d_direct_f16_neon(const cnm_direct_args *a) { dk_run(a); }
#endif
