/* Fused index-gather / channel shuffle + BatchNorm (folded scale, shift) + ReLU, fp32,
 * portable scalar reference. One pass over the channels a layer reads. The affine map is one fma
 * and the ReLU maps NaN and -0 to +0, exactly as the fused kernels apply them (pack and epilogue),
 * so a model gives the same bits fused and unfused. Copies, shuffles and scale-only or shift-only
 * maps are written without fmaf, in the forms that equal it exactly, so that they vectorise. */
#include "kernels.h"

#include <math.h>

void cnm_channel_f32_ref(const float *in, float *out, int cout, int hw, const float *scale,
                         const float *shift, const int32_t *index, int shuffle, int relu) {
    const int per_group = shuffle > 1 ? cout / shuffle : 0;
#pragma omp for schedule(static)
    for (int c = 0; c < cout; c++) {
        int src = c;
        if (index) src = index[c];
        else if (shuffle > 1) src = (c % shuffle) * per_group + c / shuffle;
        const float a = scale ? scale[c] : 1.0f, b = shift ? shift[c] : 0.0f;
        const float *x = in + (size_t)src * hw;
        float *y = out + (size_t)c * hw;
        if (relu) {
            for (int i = 0; i < hw; i++) {
                const float v = fmaf(a, x[i], b);
                y[i] = v > 0.0f ? v : 0.0f;
            }
        } else if (!scale) { /* fma(1, x, b) is x + b exactly (a copy: x + 0, which makes -0 +0 as the fma does) */
            for (int i = 0; i < hw; i++) y[i] = x[i] + b;
        } else if (!shift) { /* fma(a, x, 0) is a * x + 0: the product is rounded once either way */
            for (int i = 0; i < hw; i++) y[i] = a * x[i] + 0.0f;
        } else {
            for (int i = 0; i < hw; i++) y[i] = fmaf(a, x[i], b);
        }
    }
}
