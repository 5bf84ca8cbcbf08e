/* Any quantised convolution (grouped, any kernel, stride, padding), int8 weights / uint8
 * activations, portable scalar reference: inputs are quantised as they are read (padding is the
 * zero point, i.e. q = 0), accumulated exactly in int32, and finished with the fma epilogue of
 * the int8 contract in kernels.h. */
#include "kernels.h"

#include <math.h>

void cnm_conv2d_q8_ref(const cnm_conv_shape *s, const float *in, const int8_t *w, const float *mult,
                       const float *bias, float inv_scale, int zp, float *out) {
    const int cin_g = s->cin / s->groups, cout_g = s->cout / s->groups;
#pragma omp for schedule(static)
    for (int oc = 0; oc < s->cout; oc++) {
        const int g = oc / cout_g;
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++) {
                int32_t acc = 0;
                for (int ic = 0; ic < cin_g; ic++) {
                    const float *x = in + (size_t)(g * cin_g + ic) * s->ih * s->iw;
                    const int8_t *wk = w + ((size_t)oc * cin_g + ic) * s->kh * s->kw;
                    for (int ky = 0; ky < s->kh; ky++) {
                        const int iy = oy * s->sh - s->ph + ky;
                        if (iy < 0 || iy >= s->ih) continue;
                        for (int kx = 0; kx < s->kw; kx++) {
                            const int ix = ox * s->sw - s->pw + kx;
                            if (ix < 0 || ix >= s->iw) continue;
                            acc += cnm_q8_quantize(x[(size_t)iy * s->iw + ix], inv_scale, zp) * wk[ky * s->kw + kx];
                        }
                    }
                }
                float v = fmaf((float)acc, mult[oc], bias ? bias[oc] : 0.0f);
                if (s->relu) v = v > 0.0f ? v : 0.0f;
                if (s->clip) v = cnm_clamp(v, s->clip_lo, s->clip_hi);
                out[(size_t)oc * s->oh * s->ow + (size_t)oy * s->ow + ox] = v;
            }
    }
}
