/* The zero-bordered input copy shared by the direct convolution kernels of every ISA. */
#include "direct_layout.h"

size_t cnm_direct_padded_floats(const cnm_conv_shape *s) { return direct_padded_floats(s); }

/* Plain loops, not memset / memcpy: the rows are short (tens of floats), where a library call per
 * border costs more than the copy (on the Cortex-A72 estimate, 5% of CondenseNet-86 fp32 was
 * memset and memcpy called from here). GCC would turn the loops back into those calls.
 * Stride 1 fills only what a stored output reads: the padding rows and columns, iw + 2 pw wide
 * (output x reads columns x .. x + kw - 1 <= iw + 2 pw - 1). The slack right of them (up to 39
 * floats a row, for the vectors of the last outputs) keeps whatever an earlier conv left there:
 * only lanes that are never stored read it. Filling it was three quarters of the copy's stores
 * for CondenseNet-86's 8-wide maps (14% of its fp32 instructions on AVX2, under callgrind). */
static inline void fill_zero(float *restrict row, int n) {
    for (int X = 0; X < n; X++) row[X] = 0.0f;
}
static inline void copy_row(float *restrict row, const float *restrict xr, int n) {
    for (int ix = 0; ix < n; ix++) row[ix] = xr[ix];
}
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
void cnm_direct_pack(const cnm_conv_shape *s, const float *in, float *pad) {
    const int RS = padded_row(s), PH = s->ih + 2 * s->ph;
    const size_t PS = (size_t)PH * RS;
#pragma omp for schedule(static)
    for (int c = 0; c < s->cin; c++) {
        float *p = pad + (size_t)c * PS;
        const float *x = in + (size_t)c * s->ih * s->iw;
        for (int y = 0; y < PH; y++) {
            float *row = p + (size_t)y * RS;
            const int iy = y - s->ph;
            if (iy < 0 || iy >= s->ih) {
                fill_zero(row, s->sw == 2 ? RS : s->iw + 2 * s->pw);
                continue;
            }
            const float *xr = x + (size_t)iy * s->iw;
            if (s->sw == 2) {
                const int half = padded_half(s);
                fill_zero(row, RS);
                for (int ix = 0; ix < s->iw; ix++) {
                    const int X = ix + s->pw;
                    row[(X & 1) * half + X / 2] = xr[ix];
                }
                continue;
            }
            fill_zero(row, s->pw);
            copy_row(row + s->pw, xr, s->iw);
            fill_zero(row + s->pw + s->iw, s->pw);
        }
    }
}
