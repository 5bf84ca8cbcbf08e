/* Max pooling, fp32, written once for every ISA over its layer (layer_f32_<isa>.h): a file
 * maxpool_f32_<isa>.c includes its layer and this header, which defines
 * `static void mp_run(const cnm_pool_shape *s, const float *in, float *out, float *scratch,
 * size_t scratch_stride)` for horizontal strides 1 and 2.
 *
 * Algorithm: that of depthwise.h with max for multiply-accumulate. Work is split over channels;
 * a thread pads its channel's plane with -inf into its own scratch (window.h), which stands for
 * PyTorch's padding and for the part of a ceil-mode window past the input (neither can win: every
 * window holds an input), then takes each output row MP_U vectors of LY_L pixels at a time, the
 * max over the window's taps with the reference's NaN rule (ly_maxnan). */
#ifndef CNM_MAXPOOL_H
#define CNM_MAXPOOL_H
#include "window.h"
#define MP_U 4
#define MP_ALWAYS_INLINE static inline __attribute__((always_inline))
#endif

MP_ALWAYS_INLINE LY_TARGET void mp_tile(const cnm_pool_shape *s, const float *pad, size_t RS, size_t HS, float *y, int oy, int x0,
                                        const int V) {
    const float ninf = -INFINITY;
    ly_vf m[MP_U];
    for (int v = 0; v < V; v++) m[v] = ly_acc_init(&ninf, 0);
    for (int ky = 0; ky < s->kh; ky++)
        for (int kx = 0; kx < s->kw; kx++) {
            const float *p = cnm_window_tap(pad, RS, HS, oy * s->sh + ky, x0, kx, s->sw);
            for (int v = 0; v < V; v++) m[v] = ly_maxnan(m[v], ly_load((const int32_t *)(const void *)(p + v * LY_L)));
        }
    for (int v = 0; v < V; v++) {
        /* the reference's ReLU: m < 0 ? 0 : m (NaN and -0 stay) */
        ly_vf r = s->relu ? ly_maxnan(m[v], ly_acc_init(&(const float){0.0f}, 0)) : m[v];
        ly_store(y + x0 + v * LY_L, r, s->ow - x0 - v * LY_L);
    }
}

static LY_TARGET void mp_run(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t scratch_stride) {
    const size_t RS = cnm_window_row_floats(s->iw, s->pw, s->ow, s->kw, s->sw, LY_L), HS = RS / 2;
    const int rows = cnm_window_rows(s->ih, s->ph, s->oh, s->kh, s->sh);
    float *pad = scratch + scratch_stride * cnm_thread_slot();
#pragma omp for schedule(static)
    for (int c = 0; c < s->c; c++) {
        cnm_window_pad(in + (size_t)c * s->ih * s->iw, s->ih, s->iw, s->ph, s->pw, s->sw, rows, RS, -INFINITY, pad);
        for (int oy = 0; oy < s->oh; oy++) {
            float *y = out + ((size_t)c * s->oh + oy) * s->ow;
            for (int x0 = 0; x0 < s->ow; x0 += MP_U * LY_L) {
                const int v = (s->ow - x0 + LY_L - 1) / LY_L;
                if (v >= 4) mp_tile(s, pad, RS, HS, y, oy, x0, 4);
                else if (v == 3) mp_tile(s, pad, RS, HS, y, oy, x0, 3);
                else if (v == 2) mp_tile(s, pad, RS, HS, y, oy, x0, 2);
                else mp_tile(s, pad, RS, HS, y, oy, x0, 1);
            }
        }
    }
}
