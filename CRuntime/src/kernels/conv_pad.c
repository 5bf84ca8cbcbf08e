/* The zero-bordered input copy shared by the direct convolution kernels of every ISA. */
#include "direct_layout.h"

#include <string.h>

size_t cnm_direct_padded_floats(const cnm_conv_shape *s) { return direct_padded_floats(s); }

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
                memset(row, 0, sizeof(float) * (size_t)RS);
                continue;
            }
            if (s->sw == 2) {
                const int half = padded_half(s);
                memset(row, 0, sizeof(float) * (size_t)RS);
                for (int ix = 0; ix < s->iw; ix++) {
                    const int X = ix + s->pw;
                    row[(X & 1) * half + X / 2] = x[(size_t)iy * s->iw + ix];
                }
                continue;
            }
            memset(row, 0, sizeof(float) * (size_t)s->pw);
            memcpy(row + s->pw, x + (size_t)iy * s->iw, sizeof(float) * (size_t)s->iw);
            memset(row + s->pw + s->iw, 0, sizeof(float) * (size_t)(RS - s->pw - s->iw));
        }
    }
}
