/* Direct KxK convolution, stride 1 or 2, fp32, AVX-512F (same zero-bordered input copy as
 * conv_f32_avx2.c, direct_layout.h; the slots of direct_avx512.h). A work item is (group, block of up to 4 output channels,
 * a few output rows); it keeps MR x S zmm accumulators (S = 4), where each of the S "slots"
 * is 16 outputs:
 *   mode A, maps at most 8 wide: two output rows in one zmm (8 + 8 lanes), slots on row pairs;
 *   mode B, 9..16 wide: one row per slot;
 *   mode C, wider: S x 16 consecutive outputs of one row, repeated along the row;
 *   mode D, 17..32 wide with S = 4: two rows of two slots.
 * S is 4: with MR = 4, 16 independent FMA chains per tap for 4 loads and 4 broadcasts (S = 2 was
 * 3.5% slower on the ImageNet CondenseNet and the same on CondenseNet-86). */
#include "direct_avx512.h"

#if defined(__x86_64__)
#define AVX512 __attribute__((target("avx512f,fma")))

#define SLOTS 4

/* MR output channels x S slots; MODE 0/1/2/3 = A/B/C/D above. */
#define DIRECT512(MR, S, MODE)                                                                     \
    AVX512 static void direct_##MR##_##S##_##MODE(const cnm_conv_shape *s, const float *pad,        \
                                                   const float *weight, const float *bias,          \
                                                   float *out, int g, int o, int oy) {              \
        const int cin_g = s->cin / s->groups, RS = padded_row(s), KK = s->kh * s->kw;               \
        const size_t PS = (size_t)(s->ih + 2 * s->ph) * RS;                                         \
        const __m512 z = _mm512_setzero_ps();                                                       \
        size_t off[S], off2[S];                                                                     \
        for (int q = 0; q < (MODE == 2 ? s->ow : 1); q += (MODE == 2 ? 16 * S : 1)) {               \
            slot_offsets(s, MODE, S, oy, q, off, off2);                                             \
            __m512 acc[MR][S];                                                                      \
            for (int r = 0; r < MR; r++)                                                            \
                for (int k = 0; k < S; k++) acc[r][k] = _mm512_set1_ps(bias ? bias[o + r] : 0.0f);  \
            for (int ic = 0; ic < cin_g; ic++) {                                                    \
                const float *xin = pad + (size_t)(g * cin_g + ic) * PS + (size_t)oy * s->sh * RS;   \
                const float *wk = weight + ((size_t)o * cin_g + ic) * KK;                           \
                for (int ky = 0; ky < s->kh; ky++) {                                                \
                    for (int kx = 0; kx < s->kw; kx++) {                                            \
                        const float *xt = xin + (size_t)ky * RS + tap_col(s, kx);                   \
                        __m512 xv[S];                                                               \
                        for (int k = 0; k < S; k++)                                                 \
                            xv[k] = MODE == 0 ? _mm512_castsi512_ps(slot_load_two(xt + off[k], xt + off2[k])) \
                                              : _mm512_loadu_ps(xt + off[k]);                       \
                        for (int r = 0; r < MR; r++) {                                              \
                            const __m512 wv = _mm512_set1_ps(wk[(size_t)r * cin_g * KK + ky * s->kw + kx]); \
                            for (int k = 0; k < S; k++) acc[r][k] = _mm512_fmadd_ps(wv, xv[k], acc[r][k]); \
                        }                                                                           \
                    }                                                                               \
                }                                                                                   \
            }                                                                                       \
            for (int r = 0; r < MR; r++) {                                                          \
                float *y = out + (size_t)(o + r) * s->oh * s->ow;                                   \
                for (int k = 0; k < S; k++) {                                                       \
                    __m512 v = acc[r][k];                                                           \
                    if (s->relu) v = _mm512_max_ps(v, z);                                           \
                    slot_store(s, MODE, y, v, oy, q, k);                                            \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    }
#define DIRECT512_MODES(MR, S) DIRECT512(MR, S, 0) DIRECT512(MR, S, 1) DIRECT512(MR, S, 2) DIRECT512(MR, S, 3)
DIRECT512_MODES(1, 4)
DIRECT512_MODES(2, 4)
DIRECT512_MODES(3, 4)
DIRECT512_MODES(4, 4)

typedef void (*direct_fn)(const cnm_conv_shape *, const float *, const float *, const float *, float *, int, int, int);

AVX512 void cnm_conv2d_direct_f32_avx512(const cnm_direct_args *da) {
    const cnm_conv_shape *s = da->s;
    const float *weight = da->w, *bias = da->bias, *in = da->in;
    float *out = da->out, *pad = da->pad;
    /* [mr - 1][mode] */
    static const direct_fn fns[4][4] = {
        {direct_1_4_0, direct_1_4_1, direct_1_4_2, direct_1_4_3}, {direct_2_4_0, direct_2_4_1, direct_2_4_2, direct_2_4_3},
        {direct_3_4_0, direct_3_4_1, direct_3_4_2, direct_3_4_3}, {direct_4_4_0, direct_4_4_1, direct_4_4_2, direct_4_4_3},
    };
    cnm_direct_pack(s, in, pad);
    const int cout_g = s->cout / s->groups, blocks = (cout_g + 3) / 4, R = slot_item_rows(s, SLOTS);
    const int rows = (s->oh + R - 1) / R, items = s->groups * blocks * rows, mode = slot_mode(s, SLOTS);
#pragma omp for schedule(static)
    for (int it = 0; it < items; it++) {
        const int g = it / (rows * blocks), rem = it % (rows * blocks), b = rem % blocks, oy = (rem / blocks) * R;
        const int o = g * cout_g + 4 * b, mr = cout_g - 4 * b < 4 ? cout_g - 4 * b : 4;
        fns[mr - 1][mode](s, pad, weight, bias, out, g, o, oy);
    }
}
#endif
