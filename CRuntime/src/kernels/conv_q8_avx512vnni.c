/* Direct KxK convolution (stride 1 or 2), int8, x86-64 with AVX-512 VNNI: the word panel and dot
 * weights of conv_q8_avxvnni.c, the micro-kernel of direct.h with slots of 16 pixels (two rows of
 * 8 for maps at most 8 wide). Each item computes a block of 4 outputs x 2 slots in 8
 * accumulators, 64 MACs per vpdpbusd; zp * sum(w) is subtracted back: bit-identical to
 * conv_q8_ref.c. The stride-1 pack is per plane, so a thread can pack the groups it computes. */
#define LY_VNNI_ZMM 1
#include "layer_q8_vnni.h"
#include "direct_layout.h"

#if defined(__x86_64__)
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

#define DK_HALF 1
#define DK_S 2
#define DK_S_WIDE 2
#define DK_PACK_PLANE 1
AVX512VNNI static inline ly_xv dk_load_half(const int32_t *p0, const int32_t *p1) { return simd16_load_two(p0, p1); }
#define dk_store_half simd16_store_two
static void dk_pack_plane(const cnm_direct_args *a, int pl) { direct_pack16(a->s, a->in, a->inv_scale, a->zp, a->pad, pl); }
static void dk_pack(const cnm_direct_args *a) {
    const cnm_conv_shape *s = a->s;
    if (s->sw != 1) {
        q8x_direct_pack_words(s, a->in, a->inv_scale, a->zp, a->pad);
        return;
    }
    const int planes = s->groups * ((s->cin / s->groups + 3) / 4);
#pragma omp for schedule(static)
    for (int pl = 0; pl < planes; pl++) dk_pack_plane(a, pl);
}
#include "direct.h"

void cnm_conv2d_direct_q8_avx512vnni(const cnm_direct_args *a) { dk_run(a); }
#endif
