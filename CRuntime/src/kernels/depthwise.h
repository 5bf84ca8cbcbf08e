/* The depthwise KxK convolution (one input channel per group, one output per channel: MobileNet,
 * ShuffleNet, Xception), fp32, written once for every ISA over its layer (layer_f32_<isa>.h). A
 * file depthwise_f32_<isa>.c includes its layer and this header, which defines
 * `static void dw_run(const cnm_dw_args *a)`.
 *
 * Algorithm. Work is split over channels. A thread copies its channel's plane into its own
 * zero-bordered scratch (window.h: padded rows, and for horizontal stride 2 each row split into
 * its even and odd columns, so both strides read contiguous vectors), then computes each
 * output row DW_U vectors of LY_L pixels at a time: per tap one broadcast weight and one load and
 * multiply-accumulate per vector, the bias first and the ReLU last. Rows are read in the padded
 * copy only where they exist; lanes past the row end are computed from the zero slack and not
 * stored. Narrow maps take the channel-blocked geometry (dw_blocked). Each output is one thread's,
 * in a fixed order: any thread count gives the same bits. */
#ifndef CNM_DEPTHWISE_H
#define CNM_DEPTHWISE_H
#include "window.h"
#define DW_U 4
#define DW_ALWAYS_INLINE static inline __attribute__((always_inline))
#endif

/* V vectors of output row oy from column x0 (V a constant at every call) */
DW_ALWAYS_INLINE LY_TARGET void dw_tile(const cnm_conv_shape *s, const float *pad, size_t RS, size_t HS, const float *wc, float b,
                                        float *y, int oy, int x0, const int V) {
    ly_acc acc[DW_U];
    for (int v = 0; v < V; v++) acc[v] = ly_acc_init(&b, 0);
    for (int ky = 0; ky < s->kh; ky++)
        for (int kx = 0; kx < s->kw; kx++) {
            const float *p = cnm_window_tap(pad, RS, HS, oy * s->sh + ky, x0, kx, s->sw);
            const int32_t *w = (const int32_t *)(const void *)(wc + ky * s->kw + kx);
            for (int v = 0; v < V; v++) acc[v] = ly_mac(acc[v], ly_load((const int32_t *)(const void *)(p + v * LY_L)), 0, w, 0, 0);
        }
    for (int v = 0; v < V; v++) {
        ly_vf r = ly_finish(acc[v], NULL, NULL, NULL, 0, 0);
        if (s->relu) r = ly_relu(r);
        if (s->clip) r = ly_clamp(r, s->clip_lo, s->clip_hi);
        ly_store(y + x0 + v * LY_L, r, s->ow - x0 - v * LY_L);
    }
}

/* Channel-blocked, for maps at most half a vector wide (kernels.h cnm_dw_blocked: MobileNet's 7x7
 * ones on AVX-512, where a vector of a row's pixels is mostly empty and each plane's copy and rows
 * cost more than its products): LY_L channels at a time, lane l being channel c0 + l. The block's
 * zero-bordered planes are gathered into the thread's scratch as one vector per padded pixel
 * ([rows][cnm_dw_tile_w][LY_L], kernels.h), its weights as one vector per tap and its biases as
 * one; each output pixel is one vector, its taps a load and an fma each in dw_tile's order (the
 * same products and sums), scattered to the channels' planes. Lanes past the last channel read
 * zeros and are not stored. */
static LY_TARGET void dw_blocked(const cnm_dw_args *a, int c0, float *tile) {
    const cnm_conv_shape *s = a->s;
    const int L = LY_L, n = s->cout - c0 < L ? s->cout - c0 : L, TW = cnm_dw_tile_w(s), kk = s->kh * s->kw;
    const int rows = cnm_window_rows(s->ih, s->ph, s->oh, s->kh, s->sh), plane = s->ih * s->iw, oplane = s->oh * s->ow;
    const ly_vf zero = ly_acc_init(NULL, 0);
    for (size_t i = 0; i < (size_t)rows * TW; i++) ly_store(tile + i * L, zero, L);
    const __auto_type in_idx = ly_lanes(plane);
    const float *x = a->in + (size_t)c0 * plane;
    for (int iy = 0; iy < s->ih; iy++)
        for (int ix = 0; ix < s->iw; ix++)
            ly_store(tile + ((size_t)(iy + s->ph) * TW + ix + s->pw) * L, ly_gather(x + (size_t)iy * s->iw + ix, in_idx, n), L);
    ly_vf wv[CNM_DW_BLOCK_MAX_TAPS];
    const __auto_type w_idx = ly_lanes(kk);
    for (int t = 0; t < kk; t++) wv[t] = ly_gather(a->w + (size_t)c0 * kk + t, w_idx, n);
    const ly_vf b = a->bias ? ly_gather(a->bias + c0, ly_lanes(1), n) : zero;
    const __auto_type out_idx = ly_lanes(oplane);
    float *y = a->out + (size_t)c0 * oplane;
    for (int oy = 0; oy < s->oh; oy++)
        for (int ox = 0; ox < s->ow; ox++) {
            ly_acc acc = b;
            for (int ky = 0; ky < s->kh; ky++) {
                const float *p = tile + ((size_t)(oy * s->sh + ky) * TW + (size_t)ox * s->sw) * L;
                for (int kx = 0; kx < s->kw; kx++)
                    acc = ly_fma(acc, ly_load((const int32_t *)(const void *)(p + (size_t)kx * L)), wv[ky * s->kw + kx]);
            }
            ly_vf r = ly_finish(acc, NULL, NULL, NULL, 0, 0);
            if (s->relu) r = ly_relu(r);
            if (s->clip) r = ly_clamp(r, s->clip_lo, s->clip_hi);
            ly_scatter(y + (size_t)oy * s->ow + ox, out_idx, r, n);
        }
}

static LY_TARGET void dw_run(const cnm_dw_args *a) {
    const cnm_conv_shape *s = a->s;
    if (cnm_dw_blocked(s, LY_L)) {
        float *tile = a->scratch + a->scratch_stride * cnm_thread_slot();
#pragma omp for schedule(static)
        for (int c0 = 0; c0 < s->cout; c0 += LY_L) dw_blocked(a, c0, tile);
        return;
    }
    const size_t RS = cnm_window_row_floats(s->iw, s->pw, s->ow, s->kw, s->sw, LY_L), HS = RS / 2;
    const int rows = cnm_window_rows(s->ih, s->ph, s->oh, s->kh, s->sh);
    float *pad = a->scratch + a->scratch_stride * cnm_thread_slot();
#pragma omp for schedule(static)
    for (int c = 0; c < s->cout; c++) {
        cnm_window_pad(a->in + (size_t)c * s->ih * s->iw, s->ih, s->iw, s->ph, s->pw, s->sw, rows, RS, 0.0f, pad);
        const float *wc = a->w + (size_t)c * s->kh * s->kw;
        const float b = a->bias ? a->bias[c] : 0.0f;
        for (int oy = 0; oy < s->oh; oy++) {
            float *y = a->out + ((size_t)c * s->oh + oy) * s->ow;
            for (int x0 = 0; x0 < s->ow; x0 += DW_U * LY_L) {
                const int v = (s->ow - x0 + LY_L - 1) / LY_L;
                if (v >= 4) dw_tile(s, pad, RS, HS, wc, b, y, oy, x0, 4);
                else if (v == 3) dw_tile(s, pad, RS, HS, wc, b, y, oy, x0, 3);
                else if (v == 2) dw_tile(s, pad, RS, HS, wc, b, y, oy, x0, 2);
                else dw_tile(s, pad, RS, HS, wc, b, y, oy, x0, 1);
            }
        }
    }
}
