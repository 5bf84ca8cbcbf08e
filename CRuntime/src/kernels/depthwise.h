/* The depthwise KxK convolution (one input channel per group, one output per channel: MobileNet,
 * ShuffleNet, Xception), fp32, written once for every ISA over its layer (layer_f32_<isa>.h). A
 * file depthwise_f32_<isa>.c includes its layer and this header, which defines
 * `static void dw_run(const cnm_dw_args *a)`.
 *
 * Algorithm. Work is split over channels. A thread copies its channel's plane into its own
 * zero-bordered scratch (window.h: padded rows, and for horizontal stride 2 each row split into
 * its even and odd columns, so both strides read contiguous vectors), then computes tiles of
 * R output rows x V vectors of LY_L pixels (V at most DW_U; R from cnm_dw_tile_rows, so that
 * narrow rows still keep 8 independent accumulators): per tap one broadcast weight and one load
 * and multiply-accumulate per vector, the bias first and the ReLU last. Rows are read in the padded
 * copy only where they exist; lanes past the row end are computed from the zero slack and not
 * stored. On x86 a 3x3 conv on narrow rows reads its plane in place (dw_tile3, cnm_dw_in_place),
 * with no copy; narrow maps take the channel-blocked geometry (dw_blocked). Each output is one thread's,
 * in a fixed order: any thread count gives the same bits. */
#ifndef CNM_DEPTHWISE_H
#define CNM_DEPTHWISE_H
#include "window.h"
#define DW_U 4
#define DW_ALWAYS_INLINE static inline __attribute__((always_inline))
#endif

/* an output vector's epilogue: the finish, then the ReLU and the CLIP the conv fused */
DW_ALWAYS_INLINE LY_TARGET ly_vf dw_act(const cnm_conv_shape *s, ly_acc acc) {
    ly_vf o = ly_finish(acc, NULL, NULL, NULL, 0, 0);
    if (s->relu) o = ly_relu(o);
    if (s->clip) o = ly_clamp(o, s->clip_lo, s->clip_hi);
    return o;
}

/* R output rows from oy, V vectors each from column x0 (R and V constants at every call): R * V
 * independent accumulators, each output's taps in the same order */
DW_ALWAYS_INLINE LY_TARGET void dw_tile(const cnm_conv_shape *s, const float *pad, size_t RS, size_t HS, const float *wc, float b,
                                        float *y, int oy, int x0, const int R, const int V) {
    ly_acc acc[CNM_DW_TILE_ACC];
#pragma GCC unroll 8
    for (int i = 0; i < R * V; i++) acc[i] = ly_acc_init(&b, 0);
    for (int ky = 0; ky < s->kh; ky++)
        for (int kx = 0; kx < s->kw; kx++) {
            const int32_t *w = (const int32_t *)(const void *)(wc + ky * s->kw + kx);
#pragma GCC unroll 8
            for (int r = 0; r < R; r++) {
                const float *p = cnm_window_tap(pad, RS, HS, (oy + r) * s->sh + ky, x0, kx, s->sw);
#pragma GCC unroll 4
                for (int v = 0; v < V; v++)
                    acc[r * V + v] = ly_mac(acc[r * V + v], ly_load((const int32_t *)(const void *)(p + v * LY_L)), 0, w, 0, 0);
            }
        }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) ly_store(y + (size_t)r * s->ow + x0 + v * LY_L, dw_act(s, acc[r * V + v]), s->ow - x0 - v * LY_L);
}

/* R rows from oy, across the row in tiles of at most DW_U vectors */
DW_ALWAYS_INLINE LY_TARGET void dw_rows(const cnm_conv_shape *s, const float *pad, size_t RS, size_t HS, const float *wc, float b,
                                        float *y, int oy, const int R) {
    for (int x0 = 0; x0 < s->ow; x0 += DW_U * LY_L) {
        const int v = (s->ow - x0 + LY_L - 1) / LY_L;
        if (v >= 4) dw_tile(s, pad, RS, HS, wc, b, y, oy, x0, R, 4);
        else if (v == 3) dw_tile(s, pad, RS, HS, wc, b, y, oy, x0, R, 3);
        else if (v == 2) dw_tile(s, pad, RS, HS, wc, b, y, oy, x0, R, 2);
        else dw_tile(s, pad, RS, HS, wc, b, y, oy, x0, R, 1);
    }
}

/* The 3x3 stride-1 tile read in place, where masked loads are cheap (CNM_MASKED_LOADS: x86; the
 * networks' depthwise convs are mostly these): the tile's R + 2 input rows are streamed once, each
 * row's three column-shifted vectors loaded with the lanes outside the input zero
 * (ly_load_span) and multiplied into the up to three output rows that read them. Row i reaches
 * output row r as its tap row i - r, so each output still takes its taps in the reference's order;
 * an input row in the padding is skipped, as the reference skips it; rows of the tile past the
 * map are computed from the bias alone and not stored. No plane is copied, and R + 2 rows of
 * loads feed 9 R multiply-adds instead of one load each. */
DW_ALWAYS_INLINE LY_TARGET void dw_tile3(const cnm_conv_shape *s, const float *x, const float *wc, float b, float *y, int oy, int x0,
                                         const int R, const int V, const int S) {
    ly_acc acc[CNM_DW_TILE_ACC];
#pragma GCC unroll 8
    for (int i = 0; i < R * V; i++) acc[i] = ly_acc_init(&b, 0);
#pragma GCC unroll 17
    for (int i = 0; i < (R - 1) * S + 3; i++) {
        const int iy = oy * S + i - s->ph;
        if (iy < 0 || iy >= s->ih) continue;
        const float *row = x + (size_t)iy * s->iw;
        ly_xv xv[3][DW_U];
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++)
#pragma GCC unroll 4
            for (int v = 0; v < V; v++) {
                const int c = (x0 + v * LY_L) * S + kx - s->pw;
                xv[kx][v] = S == 1 ? ly_load_span(row, c, s->iw) : ly_load_span_even(row, c, s->iw);
            }
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ky++) {
            const int r = (i - ky) / S;
            if (i - ky < 0 || (i - ky) % S || r >= R) continue;
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; kx++)
#pragma GCC unroll 4
                for (int v = 0; v < V; v++)
                    acc[r * V + v] = ly_mac(acc[r * V + v], xv[kx][v], 0, (const int32_t *)(const void *)(wc + ky * 3 + kx), 0, 0);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        if (oy + r >= s->oh) break;
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) ly_store(y + (size_t)(oy + r) * s->ow + x0 + v * LY_L, dw_act(s, acc[r * V + v]), s->ow - x0 - v * LY_L);
    }
}

/* One plane of a 3x3 conv of stride S (1 or 2, both ways) in place: tiles of R rows
 * (cnm_dw_tile_rows) x at most DW_U vectors */
DW_ALWAYS_INLINE LY_TARGET void dw_plane3(const cnm_conv_shape *s, const float *x, const float *wc, float b, float *y, const int S) {
    const int R = cnm_dw_tile_rows(s->ow, LY_L);
    for (int oy = 0; oy < s->oh; oy += R) {
        if (R == 8) { dw_tile3(s, x, wc, b, y, oy, 0, 8, 1, S); continue; }
        if (R == 4) { dw_tile3(s, x, wc, b, y, oy, 0, 4, 2, S); continue; }
        for (int x0 = 0; x0 < s->ow; x0 += DW_U * LY_L) {
            const int v = (s->ow - x0 + LY_L - 1) / LY_L;
            if (v >= 4) dw_tile3(s, x, wc, b, y, oy, x0, 2, 4, S);
            else if (v == 3) dw_tile3(s, x, wc, b, y, oy, x0, 2, 3, S);
            else if (v == 2) dw_tile3(s, x, wc, b, y, oy, x0, 2, 2, S);
            else dw_tile3(s, x, wc, b, y, oy, x0, 2, 1, S);
        }
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
            ly_scatter(y + (size_t)oy * s->ow + ox, out_idx, dw_act(s, acc), n);
        }
}

static LY_TARGET void dw_run(const cnm_dw_args *a) {
    const cnm_conv_shape *s = a->s;
    if (cnm_dw_in_place(s, CNM_MASKED_LOADS, LY_L)) {
#pragma omp for schedule(static)
        for (int c = 0; c < s->cout; c++) {
            const float *x = a->in + (size_t)c * s->ih * s->iw, *wc = a->w + (size_t)c * 9;
            const float b = a->bias ? a->bias[c] : 0.0f;
            float *y = a->out + (size_t)c * s->oh * s->ow;
            if (s->sw == 1) dw_plane3(s, x, wc, b, y, 1);
            else dw_plane3(s, x, wc, b, y, 2);
        }
        return;
    }
    if (cnm_dw_blocked(s, LY_L)) {
        float *tile = a->scratch + a->scratch_stride * cnm_thread_slot();
#pragma omp for schedule(static)
        for (int c0 = 0; c0 < s->cout; c0 += LY_L) dw_blocked(a, c0, tile);
        return;
    }
    const size_t RS = cnm_window_row_floats(s->iw, s->pw, s->ow, s->kw, s->sw, LY_L), HS = RS / 2;
    const int rows = cnm_window_rows(s->ih, s->ph, s->oh, s->kh, s->sh);
    const int R = cnm_dw_tile_rows(s->ow, LY_L);
    float *pad = a->scratch + a->scratch_stride * cnm_thread_slot();
#pragma omp for schedule(static)
    for (int c = 0; c < s->cout; c++) {
        cnm_window_pad(a->in + (size_t)c * s->ih * s->iw, s->ih, s->iw, s->ph, s->pw, s->sw, rows, RS, 0.0f, pad);
        const float *wc = a->w + (size_t)c * s->kh * s->kw;
        const float b = a->bias ? a->bias[c] : 0.0f;
        float *y = a->out + (size_t)c * s->oh * s->ow;
        int oy = 0;
        /* rows in tiles of R (cnm_dw_tile_rows): R * V accumulators, V the vectors of a row */
        if (R == 8) for (; oy + 8 <= s->oh; oy += 8) dw_tile(s, pad, RS, HS, wc, b, y + (size_t)oy * s->ow, oy, 0, 8, 1);
        if (R == 4) for (; oy + 4 <= s->oh; oy += 4) dw_tile(s, pad, RS, HS, wc, b, y + (size_t)oy * s->ow, oy, 0, 4, 2);
        if (R == 2) for (; oy + 2 <= s->oh; oy += 2) dw_rows(s, pad, RS, HS, wc, b, y + (size_t)oy * s->ow, oy, 2);
        for (; oy < s->oh; oy++) dw_rows(s, pad, RS, HS, wc, b, y + (size_t)oy * s->ow, oy, 1);
    }
}
