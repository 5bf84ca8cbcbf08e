/* Direct 2-D convolution, fp32, portable scalar reference (the oracle). Grouped, any
 * kernel size, stride and zero padding. Work is split over output channels. */
#include "kernels.h"

void cnm_conv2d_f32_ref(const cnm_conv_shape *s, const float *in, const float *weight,
                        const float *bias, float *out) {
    const int cin_g = s->cin / s->groups, cout_g = s->cout / s->groups;
    const int ohw = s->oh * s->ow;
#pragma omp for schedule(static)
    for (int oc = 0; oc < s->cout; oc++) {
        const int g = oc / cout_g;
        float *o = out + (size_t)oc * ohw;
        const float b = bias ? bias[oc] : 0.0f;
        for (int i = 0; i < ohw; i++) o[i] = b;
        for (int ic = 0; ic < cin_g; ic++) {
            const float *x = in + (size_t)(g * cin_g + ic) * s->ih * s->iw;
            const float *wk = weight + ((size_t)oc * cin_g + ic) * s->kh * s->kw;
            for (int ky = 0; ky < s->kh; ky++) {
                for (int kx = 0; kx < s->kw; kx++) {
                    const float wv = wk[ky * s->kw + kx];
                    for (int oy = 0; oy < s->oh; oy++) {
                        const int iy = oy * s->sh - s->ph + ky;
                        if (iy < 0 || iy >= s->ih) continue;
                        const float *xr = x + (size_t)iy * s->iw;
                        float *orow = o + (size_t)oy * s->ow;
                        for (int ox = 0; ox < s->ow; ox++) {
                            const int ix = ox * s->sw - s->pw + kx;
                            if (ix < 0 || ix >= s->iw) continue;
                            orow[ox] += wv * xr[ix];
                        }
                    }
                }
            }
        }
        if (s->relu)
            for (int i = 0; i < ohw; i++) o[i] = o[i] > 0.0f ? o[i] : 0.0f;
        if (s->clip)
            for (int i = 0; i < ohw; i++) o[i] = cnm_clamp(o[i], s->clip_lo, s->clip_hi);
    }
}
