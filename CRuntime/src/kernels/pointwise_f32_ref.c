/* Fused pointwise convolution (gather/shuffle + BN + ReLU -> grouped 1x1 conv -> shuffle +
 * BN + ReLU), fp32, portable scalar version. Same tiling as the SIMD versions: work items are
 * (group, tile of CNM_PW_TILE pixels); each packs its group's input channels for the tile
 * into a per-thread panel, applying the gather and the pre-activation once, then computes
 * every output channel of the group from the panel. The oracle it is tested against is the
 * composition of the reference channel and conv kernels. */
#include "kernels.h"

#include <math.h>

/* the ReLU of the SIMD kernels (max with 0) and of cnm_channel_f32_ref: NaN and -0 give +0 */
static float act(float v, int relu) { return relu && !(v > 0.0f) ? 0.0f : v; }

void cnm_pointwise_f32_ref(const cnm_pw_args *a) {
    const int T = CNM_PW_TILE, cout_g = a->cout / a->groups;
    const cnm_pw_split sp = cnm_pw_split_of(a);
    float *panel = a->scratch + a->scratch_stride * cnm_thread_slot();
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
            for (int p = 0; p < n; p++) panel[j * T + p] = act(fmaf(s, x[p], b), a->pre_relu);
        }
        for (int oo = w.o0; oo < w.o1; oo++) {
            const int o = g * cout_g + oo;
            const float *w = a->w + (size_t)o * a->cin_g;
            float acc[CNM_PW_TILE];
            for (int p = 0; p < n; p++) acc[p] = a->bias ? a->bias[o] : 0.0f;
            for (int j = 0; j < a->cin_g; j++)
                for (int p = 0; p < n; p++) acc[p] += w[j] * panel[j * T + p];
            const int d = a->dst ? a->dst[o] : o;
            const float s = a->post_scale ? a->post_scale[d] : 1.0f, b = a->post_shift ? a->post_shift[d] : 0.0f;
            float *y = a->out + (size_t)d * a->hw + p0;
            for (int p = 0; p < n; p++) y[p] = act(fmaf(s, acc[p], b), a->post_relu);
            if (a->post_clip)
                for (int p = 0; p < n; p++) y[p] = cnm_clamp(y[p], a->clip_lo, a->clip_hi);
        }
    }
}
