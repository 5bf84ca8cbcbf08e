/* Local response normalisation across channels, fp32, portable scalar reference (AlexNet):
 *   out[c] = in[c] / (bias + alpha / size * sum over j in [c - (size-1)/2, c + size/2] of in[j]^2)^beta
 * with the window clipped to the channels (ONNX LRN; PyTorch's LocalResponseNorm for odd sizes). */
#include "kernels.h"

#include <math.h>

void cnm_lrn_f32_ref(const float *in, float *out, int c, int hw, int size, float alpha, float beta, float bias,
                     int relu) {
    const int lo_off = (size - 1) / 2, hi_off = size / 2;
    const float a = alpha / (float)size;
#pragma omp for schedule(static)
    for (int ch = 0; ch < c; ch++) {
        const int lo = ch - lo_off < 0 ? 0 : ch - lo_off, hi = ch + hi_off >= c ? c - 1 : ch + hi_off;
        const float *x = in + (size_t)ch * hw;
        float *y = out + (size_t)ch * hw;
        for (int p = 0; p < hw; p++) {
            float s = 0.0f;
            for (int j = lo; j <= hi; j++) {
                const float v = in[(size_t)j * hw + p];
                s += v * v;
            }
            const float r = x[p] / powf(bias + a * s, beta);
            y[p] = (relu && r < 0.0f) ? 0.0f : r;
        }
    }
}
