/* Layout of the zero-bordered input copy used by the direct convolution kernels (all ISAs). */
#ifndef CNM_DIRECT_LAYOUT_H
#define CNM_DIRECT_LAYOUT_H
#include "kernels.h"

/* A padded row holds the zero-bordered input row; for a horizontal stride of 2 its even
 * columns come first and its odd columns second, so that the inputs of 8 consecutive
 * outputs are contiguous for every tap. */
static inline int padded_half(const cnm_conv_shape *s) { return ((s->iw + 2 * s->pw + 1) / 2 + 32 + 7) / 8 * 8; }
static inline int padded_row(const cnm_conv_shape *s) {
    return s->sw == 2 ? 2 * padded_half(s) : (s->iw + 2 * s->pw + 32 + 7) / 8 * 8;
}
/* column offset of tap kx for output 0 */
static inline int tap_col(const cnm_conv_shape *s, int kx) { return s->sw == 2 ? (kx & 1) * padded_half(s) + kx / 2 : kx; }

/* (see cnm_direct_padded_floats) */
static inline size_t direct_padded_floats(const cnm_conv_shape *s) {
    /* + rows past the end: two-row mode reads (never stores) the rows of one more output row */
    return (size_t)s->cin * (size_t)(s->ih + 2 * s->ph) * (size_t)padded_row(s) +
           (size_t)padded_row(s) * (size_t)(s->kh + 2 * s->sh) + 16;
}


/* Stride 1: fills what lies outside the input in one plane of 32-bit words (the padding rows,
 * each row's left padding and its slack right of the data) with `v`; the int8 packs write the
 * interior, so it is not filled first. */
static inline void direct_fill_border_words(const cnm_conv_shape *s, int32_t *p, int32_t v) {
    const int RS = padded_row(s), right = s->pw + s->iw;
    const size_t PS = (size_t)(s->ih + 2 * s->ph) * RS;
    for (size_t i = 0; i < (size_t)s->ph * RS; i++) p[i] = v;
    for (size_t i = (size_t)(s->ph + s->ih) * RS; i < PS; i++) p[i] = v;
    for (int iy = 0; iy < s->ih; iy++) {
        int32_t *row = p + (size_t)(iy + s->ph) * RS;
        for (int x = 0; x < s->pw; x++) row[x] = v;
        for (int x = right; x < RS; x++) row[x] = v;
    }
}

/* Worksharing: copy `in` into `pad` with zero borders (phase 1 of every direct kernel). */
void cnm_direct_pack(const cnm_conv_shape *s, const float *in, float *pad);
#endif
