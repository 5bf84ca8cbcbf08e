/* The zero-bordered input copy shared by the direct convolution kernels of every ISA. */
#include "direct_layout.h"

size_t cnm_direct_padded_floats(const cnm_conv_shape *s) { return direct_padded_floats(s); }

/* The rows are filled and copied by plain loops (kernels.h cnm_fill_floats, cnm_copy_floats).
 * Stride 1 fills only what a stored output reads: the padding rows and columns, iw + 2 pw wide
 * (output x reads columns x .. x + kw - 1 <= iw + 2 pw - 1). The slack right of them (up to 39
 * floats a row, for the vectors of the last outputs) keeps whatever an earlier conv left there:
 * only lanes that are never stored read it. Filling it was three quarters of the copy's stores
 * for CondenseNet-86's 8-wide maps (14% of its fp32 instructions on AVX2, under callgrind). */
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
                cnm_fill_floats(row, (size_t)(s->sw == 2 ? RS : s->iw + 2 * s->pw), 0.0f);
                continue;
            }
            const float *xr = x + (size_t)iy * s->iw;
            if (s->sw == 2) {
                const int half = padded_half(s);
                cnm_fill_floats(row, (size_t)RS, 0.0f);
                for (int ix = 0; ix < s->iw; ix++) {
                    const int X = ix + s->pw;
                    row[(X & 1) * half + X / 2] = xr[ix];
                }
                continue;
            }
            cnm_fill_floats(row, (size_t)s->pw, 0.0f);
            cnm_copy_floats(row + s->pw, xr, (size_t)s->iw);
            cnm_fill_floats(row + s->pw + s->iw, (size_t)s->pw, 0.0f);
        }
    }
}
