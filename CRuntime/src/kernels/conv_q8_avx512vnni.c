/* Direct KxK convolution (stride 1 or 2), int8, x86-64 with AVX-512 VNNI: the word panel and dot
 * weights of conv_q8_avxvnni.c, the work items and output slots of conv_f32_avx512.c (mode A:
 * two rows of a map at most 8 wide per zmm; B: one row of 9..16; C: 2 x 16 outputs of a wider
 * row). Each item computes a block of 4 outputs x 2 slots in 8 accumulators, 64 MACs per
 * vpdpbusd; zp * sum(w) is subtracted back: bit-identical to conv_q8_ref.c. */
#include "q8_avx2.h"
#include "direct_avx512.h"

#if defined(__x86_64__)
#define S 2

#define DIRECT_Q8(MODE)                                                                            \
    AVX512VNNI static void kernel_##MODE(const cnm_conv_shape *s, const int32_t *pad, const int8_t *wb, \
                                         const int32_t *wsum, const float *mult, const float *bias,  \
                                         int zp, float *out, int g, int o, int mr, int oy) {         \
        const int cin_g = s->cin / s->groups, kq = (cin_g + 3) / 4, RS = padded_row(s), KK = s->kh * s->kw; \
        const size_t PS = (size_t)(s->ih + 2 * s->ph) * RS;                                         \
        size_t off[S], off2[S];                                                                     \
        for (int q = 0; q < (MODE == 2 ? s->ow : 1); q += (MODE == 2 ? 16 * S : 1)) {               \
            slot_offsets(s, MODE, S, oy, q, off, off2);                                             \
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
                            xv[k] = MODE == 0 ? slot_load_two(xt + off[k], xt + off2[k])            \
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
                    slot_store(s, MODE, y, v, oy, q, k);                                            \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    }
DIRECT_Q8(0)
DIRECT_Q8(1)
DIRECT_Q8(2)

/* Plane pl (group pl / words, channel word pl % words) of q8x_direct_pack_words (q8_avx2.h) for
 * stride 1, 16 pixels per zmm: the codes through q8z_code and q8z_words (q8_avx2.h), and only
 * the border filled with the code of 0 (direct_fill_border_words) instead of the whole plane
 * before the interior. */
AVX512VNNI static void direct_pack16(const cnm_conv_shape *s, const float *in, float inv, int zp, int32_t *pad, int pl) {
    const int cin_g = s->cin / s->groups, words = (cin_g + 3) / 4, RS = padded_row(s);
    const __m512 vinv = _mm512_set1_ps(inv), hi = _mm512_set1_ps((float)(255 - zp));
    const __m512i zpv = _mm512_set1_epi32(zp);
    const int g = pl / words, j = pl % words;
    int32_t *p = pad + (size_t)pl * (size_t)(s->ih + 2 * s->ph) * RS;
    direct_fill_border_words(s, p, (int32_t)(((uint32_t)zp & 0xFFu) * 0x01010101u));
    const int nch = cin_g - 4 * j < 4 ? cin_g - 4 * j : 4; /* channels past cin_g: code 0 (their weights are 0) */
    const float *xb[4];
    for (int h = 0; h < 4; h++) xb[h] = in + (size_t)(g * cin_g + 4 * j + (h < nch ? h : 0)) * s->ih * s->iw;
    for (int iy = 0; iy < s->ih; iy++) {
        int32_t *row = p + (size_t)(iy + s->ph) * RS + s->pw;
        for (int ix = 0; ix < s->iw; ix += 16) {
            const int left = s->iw - ix;
            const __mmask16 m = left >= 16 ? (__mmask16)0xFFFFu : (__mmask16)((1u << left) - 1u);
            const size_t at = (size_t)iy * s->iw + ix;
            __m512i u[4];
            for (int h = 0; h < 4; h++)
                u[h] = h < nch ? q8z_code(_mm512_maskz_loadu_ps(m, xb[h] + at), vinv, hi, zpv) : _mm512_setzero_si512();
            _mm512_mask_storeu_epi32((void *)(row + ix), m, q8z_words(u[0], u[1], u[2], u[3]));
        }
    }
}

static void run_items(const cnm_conv_shape *s, const int32_t *pad, const int8_t *wdot, const int32_t *wsum, const float *mult,
                      const float *bias, int zp, float *out, int it0, int it1) {
    const int cin_g = s->cin / s->groups, cout_g = s->cout / s->groups, nb = (cout_g + 3) / 4, R = slot_item_rows(s, S);
    const size_t block = (size_t)((cin_g + 3) / 4) * s->kh * s->kw * 16;
    const int rows = (s->oh + R - 1) / R, mode = slot_mode(s, S);
    for (int it = it0; it < it1; it++) {
        const int g = it / (rows * nb), rem = it % (rows * nb), b = rem % nb, oy = (rem / nb) * R;
        const int o = g * cout_g + 4 * b, mr = cout_g - 4 * b < 4 ? cout_g - 4 * b : 4;
        const int8_t *wb = wdot + (size_t)(g * nb + b) * block;
        if (mode == 0) kernel_0(s, pad, wb, wsum, mult, bias, zp, out, g, o, mr, oy);
        else if (mode == 1) kernel_1(s, pad, wb, wsum, mult, bias, zp, out, g, o, mr, oy);
        else kernel_2(s, pad, wb, wsum, mult, bias, zp, out, g, o, mr, oy);
    }
}

/* When the threads divide the groups evenly, each thread packs the planes of its own groups and
 * computes their outputs: one barrier (at the end) instead of two. Otherwise the pack is shared
 * out plane by plane, then the items. */
void cnm_conv2d_direct_q8_avx512vnni(const cnm_direct_args *da) {
    const cnm_conv_shape *s = da->s;
    const float *in = da->in, *mult = da->mult, *bias = da->bias;
    const int8_t *wdot = da->wdot;
    const int32_t *wsum = da->wsum;
    const float inv_scale = da->inv_scale;
    const int zp = da->zp;
    float *out = da->out;
    int32_t *pad = da->pad;
    const int cin_g = s->cin / s->groups, cout_g = s->cout / s->groups, nb = (cout_g + 3) / 4, R = slot_item_rows(s, S);
    const int words = (cin_g + 3) / 4, rows = (s->oh + R - 1) / R, per_group = nb * rows, items = s->groups * per_group;
#ifdef _OPENMP
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
#else
    const int nt = 1, t = 0;
#endif
    if (s->sw == 1 && nt > 1 && s->groups % nt == 0) {
        const int g0 = t * (s->groups / nt), g1 = g0 + s->groups / nt;
        for (int pl = g0 * words; pl < g1 * words; pl++) direct_pack16(s, in, inv_scale, zp, pad, pl);
        run_items(s, pad, wdot, wsum, mult, bias, zp, out, g0 * per_group, g1 * per_group);
#pragma omp barrier
        return;
    }
    if (s->sw == 1) {
#pragma omp for schedule(static)
        for (int pl = 0; pl < s->groups * words; pl++) direct_pack16(s, in, inv_scale, zp, pad, pl);
    } else {
        q8x_direct_pack_words(s, in, inv_scale, zp, pad);
    }
#pragma omp for schedule(static)
    for (int it = 0; it < items; it++) run_items(s, pad, wdot, wsum, mult, bias, zp, out, it, it + 1);
}
#endif
