/* Average pooling, fp32, portable scalar reference. Divisor kh*kw (padding counts). */
#include "kernels.h"

#include <math.h>

void cnm_avgpool_f32_ref(const cnm_pool_shape *sp, const float *in, float *out) {
    const int c = sp->c, ih = sp->ih, iw = sp->iw, oh = sp->oh, ow = sp->ow, kh = sp->kh, kw = sp->kw;
    const int sh = sp->sh, sw = sp->sw, ph = sp->ph, pw = sp->pw, relu = sp->relu;
    const float inv = 1.0f / (float)(kh * kw);
#pragma omp for schedule(static)
    for (int ch = 0; ch < c; ch++) {
        const float *x = in + (size_t)ch * ih * iw;
        float *y = out + (size_t)ch * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                float s = 0.0f;
                for (int ky = 0; ky < kh; ky++) {
                    const int iy = oy * sh - ph + ky;
                    if (iy < 0 || iy >= ih) continue;
                    for (int kx = 0; kx < kw; kx++) {
                        const int ix = ox * sw - pw + kx;
                        if (ix < 0 || ix >= iw) continue;
                        s += x[(size_t)iy * iw + ix];
                    }
                }
                s *= inv;
                y[oy * ow + ox] = (relu && s < 0.0f) ? 0.0f : s;
            }
        }
    }
}

/* A CHANNEL op (scale / shift, either NULL = none, and relu; no gather, no shuffle) then a global
 * average pool, in one pass: the arithmetic of cnm_channel_f32_ref and then of
 * cnm_avgpool_f32_ref, value by value, so the same bits as the two unfused. */
void cnm_channel_avg_f32_ref(const cnm_pool_shape *sp, const float *in, float *out, const float *scale, const float *shift, int relu) {
    const int n = sp->ih * sp->iw;
    const float inv = 1.0f / (float)(sp->kh * sp->kw);
#pragma omp for schedule(static)
    for (int ch = 0; ch < sp->c; ch++) {
        const float *x = in + (size_t)ch * n;
        const float a = scale ? scale[ch] : 1.0f, b = shift ? shift[ch] : 0.0f;
        float s = 0.0f;
        for (int i = 0; i < n; i++) {
            float v = fmaf(a, x[i], b);
            if (relu) v = v > 0.0f ? v : 0.0f;
            s += v;
        }
        s *= inv;
        out[ch] = (sp->relu && s < 0.0f) ? 0.0f : s;
    }
}
