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


/* Stride 1: fills the padding of one plane of 32-bit words with `v`: the padding rows and each
 * row's left and right padding, iw + 2 pw wide, which is all a stored output reads (output x reads
 * columns x .. x + kw - 1 <= iw + 2 pw - 1; the slack right of them keeps what an earlier conv
 * left there, read only by lanes that are not stored, as in cnm_direct_pack). The int8 packs write
 * the interior, so it is not filled first. */
static inline void direct_fill_border_words(const cnm_conv_shape *s, int32_t *p, int32_t v) {
    const int RS = padded_row(s), right = s->pw + s->iw, width = s->iw + 2 * s->pw;
    for (int y = 0; y < s->ih + 2 * s->ph; y++) {
        int32_t *row = p + (size_t)y * RS;
        if (y < s->ph || y >= s->ph + s->ih) {
            for (int x = 0; x < width; x++) row[x] = v;
            continue;
        }
        for (int x = 0; x < s->pw; x++) row[x] = v;
        for (int x = right; x < width; x++) row[x] = v;
    }
}

/* Worksharing: copy `in` into `pad` with zero borders (phase 1 of every direct kernel). */
void cnm_direct_pack(const cnm_conv_shape *s, const float *in, float *pad);
#endif
