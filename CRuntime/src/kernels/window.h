/* The zero- (or -inf-) bordered copy of one plane that the window kernels read (depthwise.h,
 * maxpool.h): `rows` rows of RS floats (cnm_window_rows, cnm_window_row_floats in kernels.h),
 * input row iy at row iy + ph, column ix at ix + pw; with horizontal stride 2 each row holds its
 * even padded columns, then (from RS / 2) its odd ones, so that both strides read contiguous
 * vectors. Everything else is `fill`: the padding, the rows and columns a ceil-mode window reaches
 * past it, and the slack the last vector reads. */
#ifndef CNM_WINDOW_H
#define CNM_WINDOW_H
#include "kernels.h"

#include <string.h>

static inline void cnm_fill_floats(float *p, size_t n, float v) {
    for (size_t i = 0; i < n; i++) p[i] = v;
}

static inline void cnm_window_pad(const float *x, int ih, int iw, int ph, int pw, int sw, int rows, size_t RS, float fill,
                                  float *pad) {
    cnm_fill_floats(pad, RS * (size_t)ph, fill);
    cnm_fill_floats(pad + RS * (size_t)(ph + ih), RS * (size_t)(rows - ph - ih), fill);
    const size_t HS = RS / 2;
    for (int iy = 0; iy < ih; iy++) {
        float *r = pad + (size_t)(iy + ph) * RS;
        const float *xr = x + (size_t)iy * iw;
        if (sw == 1) {
            cnm_fill_floats(r, (size_t)pw, fill);
            memcpy(r + pw, xr, sizeof(float) * (size_t)iw);
            cnm_fill_floats(r + pw + iw, RS - (size_t)(pw + iw), fill); /* right padding and slack */
            continue;
        }
        for (int h = 0; h < 2; h++) { /* padded column X = ix + pw goes to half X % 2 at X / 2 */
            float *d = r + (size_t)h * HS;
            const int j0 = (pw - h + 1) / 2, j1 = (iw + pw - h + 1) / 2, off = h - pw; /* ix = 2j + h - pw in [0, iw) */
            cnm_fill_floats(d, (size_t)j0, fill);
            for (int j = j0; j < j1; j++) d[j] = xr[2 * j + off];
            cnm_fill_floats(d + j1, HS - (size_t)j1, fill);
        }
    }
}
#endif
