/* The zero- (or -inf-) bordered copy of one plane that the window kernels read (depthwise.h,
 * pool.h): `rows` rows of RS floats (cnm_window_rows, cnm_window_row_floats in kernels.h),
 * input row iy at row iy + ph, column ix at ix + pw; with horizontal stride 2 each row holds its
 * even padded columns, then (from RS / 2) its odd ones, so that both strides read contiguous
 * vectors. Everything else is `fill`: the padding, the rows and columns a ceil-mode window reaches
 * past it, and the slack the last vector reads. */
#ifndef CNM_WINDOW_H
#define CNM_WINDOW_H
#include "kernels.h"



/* Where a window kernel's output columns x.. read tap column kx of padded row r: the row itself
 * (stride 1), or its even or odd half (stride 2, as cnm_window_pad splits it) */
static inline const float *cnm_window_tap(const float *pad, size_t RS, size_t HS, int r, int x, int kx, int sw) {
    const float *row = pad + (size_t)r * RS;
    return row + (sw == 1 ? (size_t)(x + kx) : (size_t)(kx & 1) * HS + (size_t)(x + kx / 2));
}

/* LY_TARGET: window.h is included after the file's layer (pool.h, depthwise.h), whose ly_split
 * splits the stride-2 rows (two loads and two permutes per vector of each half) */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns"))) /* (GCC would make the loops memset / memcpy again) */
#endif
LY_TARGET static inline void cnm_window_pad(const float *x, int ih, int iw, int ph, int pw, int sw, int rows, size_t RS, float fill,
                                            float *pad) {
    cnm_fill_floats(pad, RS * (size_t)ph, fill);
    cnm_fill_floats(pad + RS * (size_t)(ph + ih), RS * (size_t)(rows - ph - ih), fill);
    const size_t HS = RS / 2;
    for (int iy = 0; iy < ih; iy++) {
        float *r = pad + (size_t)(iy + ph) * RS;
        const float *xr = x + (size_t)iy * iw;
        if (sw == 1) {
            cnm_fill_floats(r, (size_t)pw, fill);
            cnm_copy_floats(r + pw, xr, (size_t)iw);
            cnm_fill_floats(r + pw + iw, RS - (size_t)(pw + iw), fill); /* right padding and slack */
            continue;
        }
        /* stride 2: padded column X (input column X - pw, or fill) goes to half X % 2 at X / 2; the
         * padded row is built a chunk at a time and split */
        float tmp[2 * CNM_WINDOW_CHUNK];
        for (size_t X0 = 0; X0 < 2 * HS; X0 += 2 * CNM_WINDOW_CHUNK) {
            const size_t m = 2 * HS - X0 < 2 * CNM_WINDOW_CHUNK ? 2 * HS - X0 : 2 * CNM_WINDOW_CHUNK;
            const size_t in0 = (size_t)pw, in1 = (size_t)pw + (size_t)iw; /* the input's padded columns */
            const size_t lo = X0 > in0 ? X0 : in0, hi = X0 + m < in1 ? X0 + m : in1;
            if (lo >= hi) {
                cnm_fill_floats(tmp, m, fill);
            } else {
                cnm_fill_floats(tmp, lo - X0, fill);
                cnm_copy_floats(tmp + (lo - X0), xr + (lo - in0), hi - lo);
                cnm_fill_floats(tmp + (hi - X0), X0 + m - hi, fill);
            }
            ly_split(tmp, r + X0 / 2, r + HS + X0 / 2, (int)(m / 2));
        }
    }
}
#endif
