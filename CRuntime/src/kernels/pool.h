/* Max and average pooling, fp32, written once for every ISA over its layer (layer_f32_<isa>.h): a
 * file pool_f32_<isa>.c includes its layer and this header, which defines
 * pool_max and pool_avg, its kernel-table entries (windows inside the input read in place,
 * pool_run's padded copy for horizontal strides 1 and 2, pool_global_avg for the global average,
 * the reference for wider strides).
 *
 * Algorithm: that of depthwise.h with max (or add) for multiply-accumulate. Work is split over
 * channels; a thread pads its channel's plane into its own scratch (window.h) with -inf (max) or
 * 0 (average), which stands for PyTorch's padding and for the part of a ceil-mode window past the
 * input (for max neither can win: every window holds an input; for the average a zero adds
 * nothing, and the divisor is kh * kw, padding counted, as in the reference), then takes each
 * output row POOL_U vectors of LY_L pixels at a time over the window's taps in the reference's
 * order: max with its NaN rule (ly_maxnan), or a sum from +0 then one multiply by 1 / (kh * kw),
 * which is the reference's float arithmetic, so both are the reference's bits. The global
 * average sums each plane in vector lanes (a different order: within 1e-6 relative). */
#ifndef CNM_POOL_H
#define CNM_POOL_H
#include "window.h"
#define POOL_U 4
#define POOL_ALWAYS_INLINE static inline __attribute__((always_inline))
#endif

POOL_ALWAYS_INLINE LY_TARGET void pool_tile(const cnm_pool_shape *s, const float *pad, size_t RS, size_t HS, float *y, int oy,
                                            int x0, const int V, const int avg) {
    const float init = avg ? 0.0f : -INFINITY, zero = 0.0f;
    ly_vf m[POOL_U];
    for (int v = 0; v < V; v++) m[v] = ly_acc_init(&init, 0);
    for (int ky = 0; ky < s->kh; ky++)
        for (int kx = 0; kx < s->kw; kx++) {
            const float *p = cnm_window_tap(pad, RS, HS, oy * s->sh + ky, x0, kx, s->sw);
            for (int v = 0; v < V; v++) {
                const ly_vf x = ly_load((const int32_t *)(const void *)(p + v * LY_L));
                m[v] = avg ? ly_add(m[v], x) : ly_maxnan(m[v], x);
            }
        }
    for (int v = 0; v < V; v++) {
        /* fma(sum, 1 / (kh kw), +0) is the reference's sum * inv (the sum is never -0); then the
         * reference's ReLU: m < 0 ? 0 : m (NaN and -0 stay) */
        ly_vf r = avg ? ly_post(m[v], 1.0f / (float)(s->kh * s->kw), 0.0f, 0) : m[v];
        if (s->relu) r = ly_maxnan(r, ly_acc_init(&zero, 0));
        ly_store(y + x0 + v * LY_L, r, s->ow - x0 - v * LY_L);
    }
}

/* avg is a constant at both calls (pool_max, pool_avg), so each entry gets its own loops */
POOL_ALWAYS_INLINE LY_TARGET void pool_run(const cnm_pool_shape *s, const float *in, float *out, float *scratch,
                                           size_t scratch_stride, const int avg) {
    const size_t RS = cnm_window_row_floats(s->iw, s->pw, s->ow, s->kw, s->sw, LY_L), HS = RS / 2;
    const int rows = cnm_window_rows(s->ih, s->ph, s->oh, s->kh, s->sh);
    float *pad = scratch + scratch_stride * cnm_thread_slot();
#pragma omp for schedule(static)
    for (int c = 0; c < s->c; c++) {
        cnm_window_pad(in + (size_t)c * s->ih * s->iw, s->ih, s->iw, s->ph, s->pw, s->sw, rows, RS, avg ? 0.0f : -INFINITY, pad);
        for (int oy = 0; oy < s->oh; oy++) {
            float *y = out + ((size_t)c * s->oh + oy) * s->ow;
            for (int x0 = 0; x0 < s->ow; x0 += POOL_U * LY_L) {
                const int v = (s->ow - x0 + LY_L - 1) / LY_L;
                if (v >= 4) pool_tile(s, pad, RS, HS, y, oy, x0, 4, avg);
                else if (v == 3) pool_tile(s, pad, RS, HS, y, oy, x0, 3, avg);
                else if (v == 2) pool_tile(s, pad, RS, HS, y, oy, x0, 2, avg);
                else pool_tile(s, pad, RS, HS, y, oy, x0, 1, avg);
            }
        }
    }
}

/* Windows that lie inside the input (cnm_pool_in_place: no padding, no ceil-mode overhang;
 * DenseNet's 2x2 stride-2 transitions): the taps are read in place, no copy. Each vector of
 * outputs (stride 2: tap kx is the even or odd half of the 2 LY_L floats from column
 * 2 ox + kx - kx % 2) is computed like pool_tile, in the reference's order: the same bits. */

/* one vector of outputs from ox of output row y, window KH x KW (constants for the 2x2 window,
 * so that its two taps of a row share their loads) */
POOL_ALWAYS_INLINE LY_TARGET ly_vf pool_in_place_vec(const cnm_pool_shape *s, const float *r0, int ox, const int KH, const int KW,
                                                   const int avg) {
    const float init = avg ? 0.0f : -INFINITY;
    ly_vf m = ly_acc_init(&init, 0);
    for (int ky = 0; ky < KH; ky++) {
        const float *row = r0 + (size_t)ky * s->iw;
        for (int kx = 0; kx < KW; kx++) {
            const ly_vf v = s->sw == 1 ? ly_load((const int32_t *)(const void *)(row + ox + kx))
                                       : ly_half(row + 2 * ox + (kx & ~1), kx & 1);
            m = avg ? ly_add(m, v) : ly_maxnan(m, v);
        }
    }
    return m;
}

POOL_ALWAYS_INLINE LY_TARGET void pool_in_place(const cnm_pool_shape *s, const float *in, float *out, const int avg) {
    const float zero = 0.0f, inv = 1.0f / (float)(s->kh * s->kw);
    const int w22 = s->kh == 2 && s->kw == 2;
    /* the last column read is sw * ox + reach: stride 1, LY_L - 1 + kw - 1; stride 2, 2 LY_L - 1 +
     * the last tap's pair start, (kw - 1) rounded down to even. Past its row a vector reads the
     * next row (lanes not stored), so it may run while that stays inside the plane. */
    const size_t plane = (size_t)s->ih * s->iw;
    const int reach = s->sw == 1 ? LY_L + s->kw - 2 : 2 * LY_L - 1 + ((s->kw - 1) & ~1);
#pragma omp for schedule(static)
    for (int c = 0; c < s->c; c++) {
        const float *x = in + (size_t)c * plane;
        for (int oy = 0; oy < s->oh; oy++) {
            float *y = out + ((size_t)c * s->oh + oy) * s->ow;
            const float *r0 = x + (size_t)oy * s->sh * s->iw;
            const size_t last_row = (size_t)(oy * s->sh + s->kh - 1) * s->iw;
            int ox = 0;
            for (; ox < s->ow && last_row + (size_t)(s->sw * ox + reach) < plane; ox += LY_L) {
                ly_vf m = w22 ? pool_in_place_vec(s, r0, ox, 2, 2, avg) : pool_in_place_vec(s, r0, ox, s->kh, s->kw, avg);
                ly_vf r = avg ? ly_post(m, inv, 0.0f, 0) : m;
                if (s->relu) r = ly_maxnan(r, ly_acc_init(&zero, 0));
                ly_store(y + ox, r, s->ow - ox);
            }
            for (; ox < s->ow; ox++) { /* the bottom right of the plane: the references' loops */
                float v = avg ? 0.0f : -INFINITY;
                for (int ky = 0; ky < s->kh; ky++)
                    for (int kx = 0; kx < s->kw; kx++) {
                        const float t = r0[(size_t)ky * s->iw + (size_t)(s->sw * ox + kx)];
                        v = avg ? v + t : ((t > v || t != t) ? t : v);
                    }
                if (avg) v *= inv;
                y[ox] = (s->relu && v < 0.0f) ? 0.0f : v;
            }
        }
    }
}

/* the global average pool (one output per channel, no padding): two vectors of partial sums */
/* The global average; with `pre` (scale / shift, either NULL = none, and pre_relu) each value is
 * first the CHANNEL op's relu(fma(scale, x, shift)) that the planner fused into it (the last
 * BN + ReLU of a DenseNet or CondenseNet), computed as cnm_channel_f32_ref computes it: the same
 * bits as the two ops unfused. */
static inline LY_TARGET void pool_global_avg(const cnm_pool_shape *s, const float *in, float *out, int pre, const float *scale,
                                             const float *shift, int pre_relu) {
    const int n = s->ih * s->iw;
    const float inv = 1.0f / (float)n, zero = 0.0f;
#pragma omp for schedule(static)
    for (int c = 0; c < s->c; c++) {
        const float *x = in + (size_t)c * n;
        const float a = scale ? scale[c] : 1.0f, b = shift ? shift[c] : 0.0f;
        ly_vf s0 = ly_acc_init(&zero, 0), s1 = s0;
        int i = 0;
        for (; i + 2 * LY_L <= n; i += 2 * LY_L) {
            ly_vf v0 = ly_load((const int32_t *)(const void *)(x + i)), v1 = ly_load((const int32_t *)(const void *)(x + i + LY_L));
            if (pre) v0 = ly_post(v0, a, b, pre_relu), v1 = ly_post(v1, a, b, pre_relu);
            s0 = ly_add(s0, v0);
            s1 = ly_add(s1, v1);
        }
        float lanes[LY_L], sum = 0.0f;
        ly_store(lanes, ly_add(s0, s1), LY_L);
        for (int k = 0; k < LY_L; k++) sum += lanes[k];
        for (; i < n; i++) {
            float v = x[i];
            if (pre) {
                v = fmaf(a, v, b);
                if (pre_relu) v = v > 0.0f ? v : 0.0f;
            }
            sum += v;
        }
        sum *= inv;
        out[c] = (s->relu && sum < 0.0f) ? 0.0f : sum;
    }
}

static inline int pool_is_global(const cnm_pool_shape *s) {
    return s->oh == 1 && s->ow == 1 && s->kh == s->ih && s->kw == s->iw && s->ph == 0 && s->pw == 0;
}

/* The kernel-table entries, the same for every ISA: the global average, windows inside the input
 * read in place, the padded copy for horizontal strides 1 and 2, the reference past them. */
static inline LY_TARGET void pool_max(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t stride) {
    if (cnm_pool_in_place(s)) pool_in_place(s, in, out, 0);
    else if (s->sw > 2) cnm_maxpool_f32_ref(s, in, out);
    else pool_run(s, in, out, scratch, stride, 0);
}
static inline LY_TARGET void pool_avg(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t stride) {
    if (pool_is_global(s)) pool_global_avg(s, in, out, 0, NULL, NULL, 0);
    else if (cnm_pool_in_place(s)) pool_in_place(s, in, out, 1);
    else if (s->sw > 2) cnm_avgpool_f32_ref(s, in, out);
    else pool_run(s, in, out, scratch, stride, 1);
}
