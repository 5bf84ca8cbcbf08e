/* Fused pointwise convolution, int8 weights / uint8 activations, portable scalar reference.
 * The contract (kernels.h, "int8") is what every SIMD version must reproduce bit for bit. */
#include "kernels.h"

#include <math.h>

void cnm_pointwise_q8_ref(const cnm_q8_args *q) {
    const cnm_pw_args *a = &q->pw;
    const int T = CNM_PW_TILE, cout_g = a->cout / a->groups;
    const cnm_pw_split sp = cnm_pw_split_of(a);
    int16_t *panel = q->panel + q->panel_stride * cnm_thread_slot();
#pragma omp for schedule(static)
    for (int it = 0; it < sp.items; it++) {
        const cnm_pw_item w = cnm_pw_item_at(a, &sp, it);
        const int g = w.g, p0 = w.p0, n = w.n;
        float *stage = cnm_pw_windowed(a) ? cnm_pw_stage_of(a, panel) : NULL; /* a window's rows (kernels.h) */
        if (stage) cnm_pw_im2col(a, stage, p0, n);
        for (int j = 0; j < a->cin_g; j++) {
            const int c = g * a->cin_g + j;
            const float *x = stage ? stage + (size_t)j * T : a->in + (size_t)(a->src ? a->src[c] : c) * a->hw + p0;
            const float s = a->pre_scale ? a->pre_scale[c] : 1.0f, b = a->pre_shift ? a->pre_shift[c] : 0.0f;
            for (int p = 0; p < n; p++) {
                float v = fmaf(x[p], s, b);
                if (a->pre_relu) v = cnm_q8_relu(v);
                panel[j * T + p] = (int16_t)cnm_q8_quantize(v, q->inv_scale, q->zp);
            }
        }
        for (int oo = w.o0; oo < w.o1; oo++) {
            const int o = g * cout_g + oo;
            const int8_t *w = q->wq + (size_t)o * a->cin_g;
            int32_t acc[CNM_PW_TILE] = {0};
            for (int j = 0; j < a->cin_g; j++)
                for (int p = 0; p < n; p++) acc[p] += (int32_t)panel[j * T + p] * w[j];
            const int d = a->dst ? a->dst[o] : o;
            const float ps = a->post_scale ? a->post_scale[d] : 1.0f, pb = a->post_shift ? a->post_shift[d] : 0.0f;
            const float bias = a->bias ? a->bias[o] : 0.0f;
            float *y = a->out + (size_t)d * a->hw + p0;
            for (int p = 0; p < n; p++) {
                float v = fmaf(fmaf((float)acc[p], q->mult[o], bias), ps, pb);
                v = a->post_relu ? cnm_q8_relu(v) : v;
                y[p] = a->post_clip ? cnm_clamp(v, a->clip_lo, a->clip_hi) : v;
            }
        }
    }
}
