/* Kernel entry points. Each file is named <operator>_<dtype>_<isa>.c; the _ref kernels are
 * the portable scalar oracles every faster path is tested against. All tensors are CHW
 * (batch 1); a "plane" is H*W contiguous floats. Kernels never allocate.
 *
 * Threading: every kernel is a worksharing routine. exec.c calls it from all threads of one
 * OpenMP parallel region (one region per inference); inside, `#pragma omp for` splits the
 * work and its implicit barrier ends the kernel. Called outside a parallel region, a kernel
 * simply runs on the calling thread. Each output element is computed by one thread in a
 * fixed order, so results do not depend on the thread count. */
#ifndef CNM_KERNELS_H
#define CNM_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* The padded copies' row fills and copies (conv_pad.c, window.h): plain loops in the caller's
 * vectors, not memset / memcpy, because the rows are short (7 to 224 floats) and a library call
 * per row cost more than the copy (5% of CondenseNet-86 fp32 on the Cortex-A72 estimate, half of
 * MobileNet v2's 7x7 and 14x14 depthwise convs). GCC would turn the loops back into those calls
 * where the caller does not ask for no-tree-loop-distribute-patterns. */
static inline void cnm_fill_floats(float *restrict p, size_t n, float v) {
    for (size_t i = 0; i < n; i++) p[i] = v;
}
static inline void cnm_copy_floats(float *restrict p, const float *restrict x, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = x[i];
}

typedef struct cnm_conv_shape {
    int cin, ih, iw;
    int cout, oh, ow;
    int kh, kw, sh, sw, ph, pw, groups;
    int relu;
    int clip;                /* then clamp to [clip_lo, clip_hi] (a fused CLIP op: ReLU6), NaN staying NaN */
    float clip_lo, clip_hi;
} cnm_conv_shape;

/* Arguments of the direct KxK convolution, fp32 (w) or int8 (the packed weights, the multipliers
 * and the input's quantisation). */
typedef struct cnm_direct_args {
    const cnm_conv_shape *s;
    const float *in;
    float *out;
    const float *bias;
    const float *w;          /* fp32 [cout][cin_g][kh][kw] */
    const int32_t *wh;       /* fp16 kernels: binary16 pairs (cnm_f16_pack_pairs) */
    const int8_t *wq;        /* int8 [cout][cin_g][kh][kw] */
    const int32_t *wpairs;   /* int8, pairs layout (cnm_q8_pack_pairs; x86-64 builds only: AVX2) */
    const int8_t *wdot;      /* int8, dot layout (cnm_q8_pack_dot) and its per-output sums */
    const int32_t *wsum;
    const float *mult;       /* int8: in_scale * w_scale[o] */
    float inv_scale;
    int zp;
    void *pad;               /* shared scratch: cnm_direct_padded_floats / cnm_direct_q8_padded_elems */
} cnm_direct_args;

/* ---- reference kernels (the oracles) ---- */

/* out[cout][oh][ow] = act(bias + sum over the group's input channels and the window). */
void cnm_conv2d_f32_ref(const cnm_conv_shape *s, const float *in, const float *weight,
                        const float *bias, float *out);

/* out[c] = act(scale[c] * in[src(c)] + shift[c]) over planes of hw floats.
 * src: index != NULL -> index[c]; shuffle > 1 -> channel shuffle; else c. */
void cnm_channel_f32_ref(const float *in, float *out, int cout, int hw, const float *scale,
                         const float *shift, const int32_t *index, int shuffle, int relu);

/* A pool's window over c channels of ih x iw, giving oh x ow (ops/pool.c checks them). */
typedef struct cnm_pool_shape { int c, ih, iw, oh, ow, kh, kw, sh, sw, ph, pw, relu; } cnm_pool_shape;

/* Average pool, divisor kh*kw. */
void cnm_avgpool_f32_ref(const cnm_pool_shape *s, const float *in, float *out);

/* out = act(a + b), n floats (the residual addition). */
void cnm_add_f32_ref(const float *a, const float *b, float *out, size_t n, int relu);

/* Local response normalisation across channels (AlexNet; ONNX LRN): for channel c the window is
 * [c - (size-1)/2, c + size/2] clipped to the channels, out = in / (bias + alpha/size * sum sq)^beta. */
void cnm_lrn_f32_ref(const float *in, float *out, int c, int hw, int size, float alpha, float beta, float bias,
                     int relu);

/* Max pool; padding never wins (PyTorch pads with -inf), every window holds an input (ph < kh). */
void cnm_maxpool_f32_ref(const cnm_pool_shape *s, const float *in, float *out);

/* out[n] = act(bias[n] + sum_k w[n][k] * x[index ? index[k] : k]). */
void cnm_linear_f32_ref(const float *x, const float *weight, const float *bias,
                        const int32_t *index, float *out, int n, int k, int relu);

/* Same contract; `packed` (k floats, shared by the threads) receives the gathered inputs. */
void cnm_linear_f32_avx2(const float *x, const float *weight, const float *bias, const int32_t *index,
                         float *out, int n, int k, int relu, float *packed);

/* ---- fused pointwise (1x1, stride 1) convolution ----
 * The CondenseNet bottleneck in one pass:
 *   x[c]   = pre_act(pre_scale[c] * in[src[c]] + pre_shift[c])      c < groups*cin_g (packed per tile)
 *   y[o]   = bias[o] + sum_j w[o][j] * x[(o / cout_g) * cin_g + j]
 *   out[d] = post_act(post_scale[d] * y[o] + post_shift[d]),  d = dst[o]
 * Every part is optional: src/dst NULL = identity, scale/shift NULL = none. */
typedef struct cnm_pw_args {
    const float *in;
    int hw;
    const int32_t *src;
    const float *pre_scale, *pre_shift;
    int pre_relu;
    const float *w;
    const int32_t *wh;  /* fp16 kernels: w as binary16 pairs [cout][ceil(cin_g / 2)] (cnm_f16_pack_pairs) */
    int cin_g, cout, groups;
    const float *bias;
    const int32_t *dst;
    const float *post_scale, *post_shift;
    int post_relu;
    int post_clip;      /* then clamp to [clip_lo, clip_hi] (a fused CLIP op) */
    float clip_lo, clip_hi;
    float *out;
    float *scratch;     /* per-thread panel: cnm_pw_scratch_floats(cin_g) floats per thread */
    size_t scratch_stride; /* floats between threads' panels */
    /* A window (im2col): a KxK conv of one group, or a 1x1 conv with a stride (ResNet's
     * downsampling shortcuts), as a matrix product. Panel row j is input channel j / (kh * kw) at
     * tap j % (kh * kw) of each output pixel's window (zero outside the input), so cin_g counts
     * cin * kh * kw rows and the weights [cout][cin][kh][kw] are [cout][cin_g]; hw counts the
     * output's pixels, out_w wide. kh = 0: none (the input is hw pixels per channel). */
    int kh, kw, sh, sw, ph, pw, in_h, in_w, out_w;
    int threads;        /* the threads that share the items (cnm_pw_chunk); 0 or 1: one */
} cnm_pw_args;

#define CNM_PW_TILE 64 /* pixels per packed panel */
static inline size_t cnm_pw_scratch_floats(int cin_g) { return (size_t)cin_g * CNM_PW_TILE + 64; }

/* A window's item first gathers its rows (im2col) after the thread's panel (its scratch per
 * thread is cnm_pw_scratch_floats + cnm_pw_stage_floats of its rows), then packs them as an input
 * without a window (cnm_pw_staged): every pack, fp32 or int8, of every ISA, stays as it is. For
 * int8 a zero outside the input quantises to q = 0 and adds nothing: exact. */
static inline int cnm_pw_windowed(const cnm_pw_args *a) { return a->kh > 0; }
static inline size_t cnm_pw_stage_floats(int rows) { return (size_t)rows * CNM_PW_TILE; }
static inline float *cnm_pw_stage_of(const cnm_pw_args *a, void *panel) { return (float *)panel + cnm_pw_scratch_floats(a->cin_g); }
static inline void cnm_pw_im2col(const cnm_pw_args *a, float *stage, int p0, int n) {
    int y0[CNM_PW_TILE], x0[CNM_PW_TILE];
    int oy = p0 / a->out_w, ox = p0 % a->out_w;
    for (int i = 0; i < n; i++) {
        y0[i] = oy * a->sh - a->ph, x0[i] = ox * a->sw - a->pw;
        if (++ox == a->out_w) ox = 0, oy++;
    }
    const int kk = a->kh * a->kw;
    const size_t plane = (size_t)a->in_h * a->in_w;
    for (int j = 0; j < a->cin_g; j++) {
        const int c = j / kk, ky = (j % kk) / a->kw, kx = j % a->kw;
        const float *x = a->in + (size_t)(a->src ? a->src[c] : c) * plane;
        float *row = stage + (size_t)j * CNM_PW_TILE;
        for (int i = 0; i < n; i++) {
            const int y = y0[i] + ky, xx = x0[i] + kx;
            row[i] = y >= 0 && y < a->in_h && xx >= 0 && xx < a->in_w ? x[(size_t)y * a->in_w + xx] : 0.0f;
        }
    }
}
static inline void cnm_pw_staged(cnm_pw_args *t, const float *stage) {
    t->in = stage, t->hw = CNM_PW_TILE, t->src = NULL, t->kh = 0;
}

/* The work items of every pointwise kernel (all ISAs, fp32 and int8): (group g, pixels
 * [p0, p0 + n), n <= CNM_PW_TILE, the group's outputs [o0, o1)). Where there are fewer
 * (group, tile) items than threads (ResNet's and GoogLeNet's 7x7 stages: one tile, so one item
 * per conv, which left the other threads idle), each is also split by outputs, in chunks of a
 * multiple of CNM_PW_OCHUNK (every table's register block divides it: 4, 6 or 8 outputs; a
 * chunk boundary inside a block would have two threads store its outputs), one chunk per thread;
 * each chunk packs the tile again (a DenseNet int8 layer's pack costs as much as its products,
 * so one thread never splits). Each output is still computed by one thread in one order: the
 * same bits at any thread count. */
#define CNM_PW_OCHUNK 48
typedef struct cnm_pw_item { int g, p0, n, o0, o1; } cnm_pw_item;
static inline int cnm_pw_chunk(const cnm_pw_args *a) { /* outputs per chunk */
    const int tiles = a->groups * ((a->hw + CNM_PW_TILE - 1) / CNM_PW_TILE), cout_g = a->cout / a->groups;
    if (tiles >= a->threads || cout_g < 2 * CNM_PW_OCHUNK) return cout_g;
    const int want = (a->threads + tiles - 1) / tiles, per = (cout_g + want - 1) / want;
    return (per + CNM_PW_OCHUNK - 1) / CNM_PW_OCHUNK * CNM_PW_OCHUNK;
}
/* the split of one call, computed once (not per item) */
typedef struct cnm_pw_split { int ntiles, cout_g, per, nch, items; } cnm_pw_split;
static inline cnm_pw_split cnm_pw_split_of(const cnm_pw_args *a) {
    cnm_pw_split s = {(a->hw + CNM_PW_TILE - 1) / CNM_PW_TILE, a->cout / a->groups, cnm_pw_chunk(a), 1, 0};
    s.nch = (s.cout_g + s.per - 1) / s.per;
    s.items = a->groups * s.ntiles * s.nch;
    return s;
}
static inline int cnm_pw_items(const cnm_pw_args *a) { return cnm_pw_split_of(a).items; }
static inline cnm_pw_item cnm_pw_item_at(const cnm_pw_args *a, const cnm_pw_split *s, int it) {
    const int ch = s->nch > 1 ? it % s->nch : 0, rest = s->nch > 1 ? it / s->nch : it;
    cnm_pw_item w = {rest / s->ntiles, (rest % s->ntiles) * CNM_PW_TILE, 0, ch * s->per, 0};
    w.n = a->hw - w.p0 < CNM_PW_TILE ? a->hw - w.p0 : CNM_PW_TILE;
    w.o1 = w.o0 + s->per < s->cout_g ? w.o0 + s->per : s->cout_g;
    return w;
}

/* The calling thread's slot in per-thread scratch (0 outside a parallel region). */
static inline size_t cnm_thread_slot(void) {
#ifdef _OPENMP
    return (size_t)omp_get_thread_num();
#else
    return 0;
#endif
}

void cnm_pointwise_f32_ref(const cnm_pw_args *a);
void cnm_pointwise_f32_avx2(const cnm_pw_args *a);
void cnm_pointwise_f32_neon(const cnm_pw_args *a);
/* x86-64 with AVX-512F: 8 channels x 32 pixels per micro-kernel */
void cnm_pointwise_f32_avx512(const cnm_pw_args *a);
/* direct KxK conv, AVX-512F (conv_f32_avx512.c): same padded copy, its own work items */
void cnm_conv2d_direct_f32_avx512(const cnm_direct_args *a);

/* ---- direct KxK convolution, stride 1 or 2 (vertical stride any) ----
 * The input is first copied with a zero border into `padded` (shared by all threads:
 * cnm_direct_padded_floats floats), then each (group, output row) is computed with all
 * of the group's output channels reusing each input load. */
#define CNM_DIRECT_MAX_STRIDE_W 2
size_t cnm_direct_padded_floats(const cnm_conv_shape *s);
void cnm_conv2d_direct_f32_avx2(const cnm_direct_args *a);
void cnm_conv2d_direct_f32_neon(const cnm_direct_args *a);
void cnm_linear_f32_neon(const float *x, const float *weight, const float *bias, const int32_t *index,
                         float *out, int n, int k, int relu, float *packed);

/* ---- depthwise KxK convolution, fp32 (depthwise.h) ----
 * groups == cin == cout (one input channel and one output per group), horizontal stride 1 or 2.
 * Each thread pads the planes it computes into its own scratch: cnm_dw_scratch_floats per thread. */
typedef struct cnm_dw_args {
    const cnm_conv_shape *s;
    const float *in, *w, *bias; /* w: [c][1][kh][kw] */
    float *out;
    float *scratch;
    size_t scratch_stride;      /* floats between threads' scratch */
} cnm_dw_args;
/* The padded plane of the window kernels (window.h), for vectors of `lanes`: a row is the padded
 * width, or what the last vector of outputs reads (its lanes past the row end included) where that
 * is more; stride 2: its even columns, then its odd ones, each that long. Rows: the padded height,
 * or what the last output row's window reaches (a ceil-mode pool) where that is more. */
static inline size_t cnm_window_row_floats(int iw, int pw, int ow, int kw, int sw, int lanes) {
    const size_t L = (size_t)lanes, span = ((size_t)ow + L - 1) / L * L; /* outputs, in whole vectors */
    const size_t wide = (size_t)iw + 2 * (size_t)pw;
    if (sw == 1) return wide > span + (size_t)kw ? wide : span + (size_t)kw;
    const size_t half = (wide + 1) / 2, need = span + (size_t)kw / 2 + 1;
    return 2 * (half > need ? half : need);
}
/* a stride-2 row is copied and split CNM_WINDOW_CHUNK pairs of padded columns at a time (window.h) */
#define CNM_WINDOW_CHUNK 256
static inline int cnm_window_rows(int ih, int ph, int oh, int kh, int sh) {
    const int padded = ih + 2 * ph, reach = (oh - 1) * sh + kh;
    return padded > reach ? padded : reach;
}
/* The largest padded plane the planner gives a window kernel (16 MiB per thread): past it, a plane
 * does not stay in cache anyway, and the depthwise conv takes the direct kernel, the max pool its
 * reference, which need no copy per thread. */
#define CNM_WINDOW_MAX_FLOATS ((size_t)1 << 22)
/* The scratch of one thread, for any table's lanes (at most 16), of a window over the plane of a
 * conv or a pool (the same fields in cnm_conv_shape and cnm_pool_shape). */
static inline size_t cnm_window_scratch_floats(int ih, int iw, int ph, int pw, int oh, int ow, int kh, int kw, int sh, int sw) {
    return cnm_window_row_floats(iw, pw, ow, kw, sw, 16) * (size_t)cnm_window_rows(ih, ph, oh, kh, sh) + 16;
}
/* The depthwise row geometry's tiles (depthwise.h): R output rows x V vectors, V at most 4 of a
 * row's vectors, R enough for 8 independent accumulators where a row has 1 or 2 vectors (a row of
 * 9 dependent multiply-adds waited on the fma's latency: 14x14 maps on AVX-512 ran at 15 GFLOP/s) */
#define CNM_DW_TILE_ACC 8
static inline int cnm_dw_tile_rows(int ow, int lanes) {
    const int v = (ow + lanes - 1) / lanes;
    return v <= 1 ? 8 : v == 2 ? 4 : 2;
}
/* The channel-blocked depthwise geometry (depthwise.h): maps at most half a vector of pixels wide
 * (MobileNet's 7x7 on AVX-512; 14- and 28-wide ones ran 1.5-2.3x slower this way than by rows,
 * their gathers and scatters costing more than the empty lanes they save), `lanes` channels at a
 * time, their padded planes as [rows][cnm_dw_tile_w][lanes] in the thread's scratch (at most
 * CNM_DW_BLOCK_MAX_FLOATS of it), kernels of at most CNM_DW_BLOCK_MAX_TAPS. */
#define CNM_DW_BLOCK_MAX_FLOATS ((size_t)1 << 14)
#define CNM_DW_BLOCK_MAX_TAPS 25
static inline int cnm_dw_tile_w(const cnm_conv_shape *s) {
    const int wide = s->iw + 2 * s->pw, reach = (s->ow - 1) * s->sw + s->kw;
    return wide > reach ? wide : reach;
}
static inline size_t cnm_dw_block_floats(const cnm_conv_shape *s, int lanes) {
    return (size_t)lanes * (size_t)cnm_window_rows(s->ih, s->ph, s->oh, s->kh, s->sh) * (size_t)cnm_dw_tile_w(s);
}
static inline int cnm_dw_blocked(const cnm_conv_shape *s, int lanes) {
    return 2 * s->ow <= lanes && s->kh * s->kw <= CNM_DW_BLOCK_MAX_TAPS && cnm_dw_block_floats(s, lanes) <= CNM_DW_BLOCK_MAX_FLOATS;
}
/* The in-place geometry (depthwise.h dw_tile3), on ISAs with masked loads: 3x3 kernels of stride 1
 * on rows of at most two vectors, and of stride 2 on rows of one vector that the channel-blocked
 * geometry does not take. Measured on AVX-512 (MobileNet v2): 14x14 stride 1 0.13 -> 0.058 ms,
 * 7x7 stride 1 0.062 -> 0.043 (blocked before), 28 -> 14 stride 2 0.094 -> 0.059; wider rows ran
 * up to 1.7x slower this way than from the padded copy, whose cost their length amortises, and
 * 14 -> 7 stride 2 1.3x slower than blocked. */
static inline int cnm_dw_in_place(const cnm_conv_shape *s, int masked_loads, int lanes) {
    if (!masked_loads || s->kh != 3 || s->kw != 3 || s->sh != s->sw || s->sw > 2) return 0;
    const int R = cnm_dw_tile_rows(s->ow, lanes);
    return s->sw == 1 ? R >= 4 : R == 8 && !cnm_dw_blocked(s, lanes);
}
static inline size_t cnm_dw_scratch_floats(const cnm_conv_shape *s) {
    size_t need = cnm_window_scratch_floats(s->ih, s->iw, s->ph, s->pw, s->oh, s->ow, s->kh, s->kw, s->sh, s->sw);
    for (int lanes = 4; lanes <= 16; lanes *= 2) /* any table's lanes */
        if (cnm_dw_blocked(s, lanes) && cnm_dw_block_floats(s, lanes) + 16 > need) need = cnm_dw_block_floats(s, lanes) + 16;
    return need;
}
/* Max and average pools with SIMD (pool.h). Windows that lie inside the input (no padding, no
 * ceil-mode overhang; the global pools too) with horizontal stride 1 or 2 are read in place;
 * the other windows with those strides are read from a padded copy of each plane (-inf, or 0 for
 * the average) in the thread's own scratch of cnm_pool_scratch_floats; wider strides take the
 * reference. Only the copy needs scratch. */
static inline int cnm_pool_in_place(const cnm_pool_shape *s) {
    return s->ph == 0 && s->pw == 0 && (s->oh - 1) * s->sh + s->kh <= s->ih && (s->ow - 1) * s->sw + s->kw <= s->iw &&
           s->sw <= 2;
}
static inline size_t cnm_pool_scratch_floats(const cnm_pool_shape *s) {
    if (cnm_pool_in_place(s) || s->sw > 2) return 0;
    return cnm_window_scratch_floats(s->ih, s->iw, s->ph, s->pw, s->oh, s->ow, s->kh, s->kw, s->sh, s->sw);
}
void cnm_maxpool_f32_avx2(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t scratch_stride);
void cnm_maxpool_f32_avx512(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t scratch_stride);
void cnm_maxpool_f32_neon(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t scratch_stride);
void cnm_avgpool_f32_avx2(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t scratch_stride);
void cnm_avgpool_f32_neon(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t scratch_stride);
/* A CHANNEL op without gather or shuffle (out = relu?(fma(scale, in, shift)); scale, shift NULL =
 * none) then a global average pool (s: the pool's shape), fused: the same bits as the two ops. */
void cnm_channel_avg_f32_ref(const cnm_pool_shape *s, const float *in, float *out, const float *scale, const float *shift, int relu);
void cnm_channel_avg_f32_avx2(const cnm_pool_shape *s, const float *in, float *out, const float *scale, const float *shift, int relu);
void cnm_channel_avg_f32_neon(const cnm_pool_shape *s, const float *in, float *out, const float *scale, const float *shift, int relu);

void cnm_depthwise_f32_ref(const cnm_dw_args *a);
void cnm_depthwise_f32_avx2(const cnm_dw_args *a);
void cnm_depthwise_f32_avx512(const cnm_dw_args *a);
void cnm_depthwise_f32_neon(const cnm_dw_args *a);

/* ---- Winograd F(4x4, 3x3) convolution, fp32 (winograd.h) ----
 * 3x3, stride 1, one group. The weights are transformed at load (cnm_wino_weights: U = G g G^T,
 * [36][cout][cin]); the input and output transforms and the 36 matrix products share one scratch
 * of cnm_wino_scratch_floats (shared by the threads, like the direct conv's padded copy). */
typedef struct cnm_wino_args {
    const cnm_conv_shape *s;
    const float *in, *u, *bias; /* u: [36][cout][cin] */
    float *out;
    float *scratch;
} cnm_wino_args;
/* the output tiles of 4x4 pixels, and the blocks of CNM_PW_TILE of them one pass transforms (a
 * pass's V and M stay within CNM_WINO_PASS_FLOATS, or one block) */
#define CNM_WINO_PASS_FLOATS ((size_t)1 << 20)
static inline int cnm_wino_tiles(const cnm_conv_shape *s) { return ((s->oh + 3) / 4) * ((s->ow + 3) / 4); }
static inline int cnm_wino_chunk(const cnm_conv_shape *s) {
    const int blocks = (cnm_wino_tiles(s) + CNM_PW_TILE - 1) / CNM_PW_TILE;
    const size_t per = (size_t)36 * CNM_PW_TILE * ((size_t)s->cin + (size_t)s->cout), fit = CNM_WINO_PASS_FLOATS / per;
    return fit < 1 ? 1 : fit > (size_t)blocks ? blocks : (int)fit;
}
static inline size_t cnm_wino_scratch_floats(const cnm_conv_shape *s) {
    return (size_t)36 * CNM_PW_TILE * (size_t)cnm_wino_chunk(s) * ((size_t)s->cin + (size_t)s->cout) + 16;
}
/* U = G g G^T of every (output, input) pair, in double, rounded once: w [cout][cin][3][3] ->
 * u [36][cout][cin] */
void cnm_wino_weights(const float *w, int cout, int cin, float *u);
void cnm_winograd_f32_ref(const cnm_wino_args *a);
void cnm_winograd_f32_avx2(const cnm_wino_args *a);
void cnm_winograd_f32_avx512(const cnm_wino_args *a);
void cnm_winograd_f32_neon(const cnm_wino_args *a);

/* ---- int8 (quantized) convolutions ----
 * Exact integer arithmetic, float epilogue built from fused multiply-adds only, so every ISA
 * gives bit-identical results:
 *   t      = min(max(x * inv_scale, -zp), 255 - zp)          x: the (pre-processed) float input
 *   q      = round_to_nearest_even(t)                         q + zp is the uint8 code
 *   acc[o] = sum q * w[o]                                     int32, w: int8 in -127..127
 *   y[o]   = fma((float)acc[o], mult[o], bias[o])             mult[o] = in_scale * w_scale[o]
 * followed by the same optional post BN + ReLU (fma) and destination map as the fp32 pointwise.
 * The pre-processing of pointwise inputs is x = max(fma(in, pre_scale, pre_shift), 0) when
 * pre_relu (fma here too, unlike the fp32 reference). */
typedef struct cnm_q8_args {
    cnm_pw_args pw;          /* everything of the fp32 pointwise except w (unused) and scratch */
    const int8_t *wq;        /* [cout][cin_g] */
    const int32_t *wpairs;   /* [cout][ceil(cin_g/2)] int16 pairs (lo = even input): AVX2, x86-64 builds only */
    const int8_t *wdot;      /* dot layout (cnm_q8_pack_dot) for sdot / vpdpbusd */
    const int32_t *wsum;     /* [cout] sum of each output's weights */
    const float *mult;       /* [cout] in_scale * w_scale */
    float inv_scale;
    int zp;
    int16_t *panel;          /* per-thread: cnm_q8_panel_elems(cin_g) int16 */
    size_t panel_stride;     /* int16 between threads' panels */
} cnm_q8_args;

static inline size_t cnm_q8_panel_elems(int cin_g) { return (size_t)(cin_g + 1) * CNM_PW_TILE + 64; }

/* The quantisation of the contract above, in scalar form (the SIMD kernels do the same with
 * mul, max, min and a round-to-nearest-even conversion). Returns q; q + zp is the uint8 code. */
static inline int cnm_q8_quantize(float x, float inv_scale, int zp) {
    float t = x * inv_scale;
    const float lo = (float)-zp, hi = (float)(255 - zp);
    t = t > lo ? t : lo; /* = max_ps(t, lo): NaN -> lo */
    t = t < hi ? t : hi; /* = min_ps(t, hi) */
    return (int)nearbyintf(t);
}

/* ReLU as max_ps(v, 0) computes it: NaN and -0 give +0 */
static inline float cnm_q8_relu(float v) { return v > 0.0f ? v : 0.0f; }

/* CLIP as its reference computes it (ops/clip.c), and the fused kernels with max(lo, v) then
 * min(hi, .): NaN stays NaN */
static inline float cnm_clamp(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

void cnm_pointwise_q8_ref(const cnm_q8_args *a);
/* any quantised conv (the generic oracle and fallback) */
void cnm_conv2d_q8_ref(const cnm_conv_shape *s, const float *in, const int8_t *w, const float *mult,
                       const float *bias, float inv_scale, int zp, float *out);
void cnm_pointwise_q8_avx2(const cnm_q8_args *a);

/* int8 direct KxK conv (stride 1 or 2) for x86-64 AVX2: input quantised into a zero-bordered copy
 * of int16 channel pairs (`pad`, cnm_direct_q8_padded_elems int32, shared), weights as int16 pairs
 * [cout][ceil(cin_g/2)][kh*kw]. Bit-identical to cnm_conv2d_q8_ref. */
size_t cnm_direct_q8_padded_elems(const cnm_conv_shape *s);
void cnm_conv2d_direct_q8_avx2(const cnm_direct_args *a);

/* ---- int8 weight layouts of the SIMD kernels (pack_q8.c), built at load ----
 * pairs: int16 pairs of consecutive input channels, [cout][ceil(cin_g/2)][kk] (vpmaddwd / smull).
 * dot:   per group and block of 4 outputs, [ceil(cin_g/4)][kk][4 outputs][4 inputs] int8, zero
 *        padded, plus wsum[o] = the sum of output o's weights (sdot works on s = q + zp - 128,
 *        a signed byte, and adds (128 - zp) * wsum[o] back: exact). */
size_t cnm_q8_pairs_elems(int cout, int cin_g, int kk);
void cnm_q8_pack_pairs(const int8_t *w, int cout, int cin_g, int kk, int32_t *out);
size_t cnm_q8_dot_bytes(int groups, int cout_g, int cin_g, int kk);
void cnm_q8_pack_dot(const int8_t *w, int groups, int cout_g, int cin_g, int kk, int8_t *out, int32_t *wsum);

/* aarch64 int8 kernels, bit-identical to the references: NEON baseline (pairs, smull) and the
 * dot-product extension (sdot, Armv8.2+); defined on aarch64 only. The direct ones share the zero-bordered copy of cnm_direct_q8_padded_elems int32 elements. */
void cnm_pointwise_q8_neon(const cnm_q8_args *a);
void cnm_pointwise_q8_neondot(const cnm_q8_args *a);
void cnm_conv2d_direct_q8_neon(const cnm_direct_args *a);
void cnm_conv2d_direct_q8_neondot(const cnm_direct_args *a);

/* x86-64 int8 kernels with AVX-VNNI (vpdpbusd on uint8 codes, dot weight layout); bit-identical to
 * the references; defined on x86-64 only, run only where the CPU has it (table.c). */
void cnm_pointwise_q8_avxvnni(const cnm_q8_args *a);
/* the same on zmm with AVX-512 VNNI */
void cnm_pointwise_q8_avx512vnni(const cnm_q8_args *a);
void cnm_conv2d_direct_q8_avx512vnni(const cnm_direct_args *a);
void cnm_conv2d_direct_q8_avxvnni(const cnm_direct_args *a);
/* int8 with 7-bit weights (|w| <= 63, a model's declared CONV2D weight_bits 7) on plain AVX2:
 * the VNNI kernels' words and dot layout with `vpmaddubsw` + `vpmaddwd`, which cannot saturate
 * for such weights; bit-identical to the references. */
void cnm_pointwise_q8w7_avx2(const cnm_q8_args *a);
void cnm_conv2d_direct_q8w7_avx2(const cnm_direct_args *a);

/* ---- the kernel table ----
 * Which implementation of each algorithm runs is chosen once, when a context is created, from the
 * CPU's features and CNM_ISA (cpu.c, table.c); the planner picks the algorithm of each step
 * (plan.c) and exec.c calls the table's entry. Every table holds a kernel for every algorithm
 * (the scalar references where an ISA has nothing faster). */

typedef void (*cnm_pointwise_f32_fn)(const cnm_pw_args *a);
typedef void (*cnm_pointwise_q8_fn)(const cnm_q8_args *a);
typedef void (*cnm_direct_fn)(const cnm_direct_args *a);
typedef void (*cnm_linear_f32_fn)(const float *x, const float *weight, const float *bias, const int32_t *index, float *out,
                                  int n, int k, int relu, float *packed);
typedef void (*cnm_pool_fn)(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t scratch_stride);
typedef void (*cnm_channel_avg_fn)(const cnm_pool_shape *s, const float *in, float *out, const float *scale, const float *shift, int relu);
typedef void (*cnm_depthwise_fn)(const cnm_dw_args *a);
typedef void (*cnm_winograd_fn)(const cnm_wino_args *a);

/* ---- fp16 (aarch64 with Armv8.2 FP16 arithmetic; a model loaded with CNM_LOAD_FP16) ----
 * The fp32 convolutions with binary16 weights and packed inputs and binary16 products and sums:
 * the pointwise and direct kernels on the int16-pairs geometry, a 32-bit word being two
 * consecutive input channels' halves (fmla .8h: 8 multiply-adds per instruction, twice fp32's),
 * the pairs' sums added and the bias added in fp32 in the epilogue; inputs and outputs stay fp32
 * between layers. Not exact: within binary16 rounding of the fp32 result (kernel tester, tests). */
size_t cnm_f16_pairs_elems(int cout, int cin_g, int kk);
void cnm_f16_pack_pairs(const float *w, int cout, int cin_g, int kk, int32_t *out); /* [cout][pairs][kk] */
void cnm_pointwise_f16_neon(const cnm_pw_args *a);
void cnm_conv2d_direct_f16_neon(const cnm_direct_args *a); /* scratch: cnm_direct_q8_padded_elems int32 */

/* CPU features a table needs (cnm_cpu_features) */
enum {
    CNM_CPU_AVX2 = 1u << 0,       /* AVX2 + FMA */
    CNM_CPU_AVXVNNI = 1u << 1,    /* AVX-VNNI (vpdpbusd on ymm) */
    CNM_CPU_AVX512F = 1u << 2,    /* AVX-512F, zmm state saved by the OS */
    CNM_CPU_AVX512VNNI = 1u << 3, /* AVX-512 BW + VNNI */
    CNM_CPU_NEON = 1u << 4,       /* aarch64 Advanced SIMD */
    CNM_CPU_DOTPROD = 1u << 5,    /* Armv8.2 dot product (sdot) */
    CNM_CPU_CRC = 1u << 6,        /* x86-64 PCLMULQDQ + SSE4.1, or the Armv8 CRC32 instructions (crc32.c) */
    CNM_CPU_FP16 = 1u << 7,       /* Armv8.2 half-precision arithmetic (asimdhp) */
};

typedef struct cnm_kernels {
    const char *name;          /* the table, e.g. "avx512f+avx512-vnni" */
    const char *base, *f32_extra, *q8_extra; /* what cnm_context_isa composes: base, + f32_extra where
                                                fp32 convs run, + q8_extra where int8 convs run */
    unsigned requires;         /* CNM_CPU_* bits */
    int level;                 /* the CNM_ISA cap that admits it (cnm_isa_cap) */
    cnm_pointwise_f32_fn pointwise_f32;
    cnm_direct_fn direct_f32;
    cnm_pointwise_q8_fn pointwise_q8;
    cnm_direct_fn direct_q8;
    cnm_pointwise_q8_fn pointwise_q8w7; /* the same for convs with 7-bit weights (|w| <= 63): */
    cnm_direct_fn direct_q8w7;          /* faster where the ISA has no 8-bit dot product */
    cnm_linear_f32_fn linear_f32;
    cnm_pool_fn avgpool_f32;
    cnm_pool_fn maxpool_f32;
    cnm_channel_avg_fn channel_avg_f32; /* BN + ReLU then the global average, fused */
    cnm_depthwise_fn depthwise_f32;
    cnm_winograd_fn winograd_f32;
    cnm_pointwise_f32_fn pointwise_f16; /* fp16 arithmetic for fp32 convs of a CNM_LOAD_FP16 model, */
    cnm_direct_fn direct_f16;           /* or NULL where the table has none (they run in fp32) */
    /* tiles, for the planner and the tester (tests/kernel_tester.c derives its cases from them):
     * the output channels and pixels of one pointwise register block, the output channels of one
     * direct block and the lanes of one direct output slot (a vector) */
    int pw_mr, pw_nr, direct_mr, direct_lanes;
} cnm_kernels;

/* The features of this CPU (cpuid / getauxval). */
unsigned cnm_cpu_features(void);
/* The highest table level CNM_ISA allows: unset or empty = any; "scalar" (or an unknown name) =
 * the portable kernels; x86-64: "avx2" (no VNNI, no AVX-512), "avxvnni", "avx512"; aarch64: "neon"
 * (no dot product), "neondot" (no fp16 kernels), "neonfp16". */
int cnm_isa_cap(void);
/* Every table this CPU can run, lowest first; returns how many (at most `max` stored). */
int cnm_kernel_tables(const cnm_kernels **out, int max);
/* The table a new context uses: the last runnable table whose level CNM_ISA allows. */
const cnm_kernels *cnm_kernels_select(void);

/* For tests: a context running the given table (one of cnm_kernel_tables). */
struct cnm_model;
struct cnm_context;
int cnm_context_create_with_kernels(const struct cnm_model *m, int threads, const cnm_kernels *k,
                                    struct cnm_context **out);

#endif
