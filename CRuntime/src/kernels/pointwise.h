/* The fused pointwise (1x1) convolution, written once for every ISA and data type; with a window
 * (cnm_pw_args.kh: a strided 1x1 conv, or the GEMM step's KxK conv) the same over im2col rows.
 * A file pointwise_<dtype>_<isa>.c includes its layer and this header (below), which defines
 * `static void pw_run(const pw_args *q)`; pw_block is also the Winograd kernel's product.
 *
 * Algorithm (kernels.h, cnm_pw_args). A work item is (group, tile of up to CNM_PW_TILE pixels,
 * and where there are fewer such items than threads a chunk of the outputs: cnm_pw_chunk); a
 * window's item first gathers its rows (cnm_pw_im2col), then the layer's pack gathers the group's input channels (gather / shuffle + BN + ReLU, and for int8
 * the quantisation) into a per-thread panel of 32-bit words (a float, an int16 pair or 4 codes of
 * consecutive channels per pixel), CNM_PW_TILE words per row; then each block of PW_MR output
 * channels runs a register tile of MR outputs x PW_S slots of LY_L pixels: per panel row, S loads,
 * then for each output its weight (broadcast, or a lane of one load) and S multiply-accumulates.
 * The epilogue is the output's finish (int8: the exact epilogue of kernels.h), the post BN
 * `fma(v, post_scale[d], post_shift[d])` and ReLU of its destination channel d = dst[o], stored
 * at d's row. The output-channel remainder runs a tile of MR = the remainder, or (LY_PADDED_MR:
 * weights zero-padded to blocks) the full tile with only `mr` rows stored. A tile shorter than S
 * slots (the last pixels of a map: 49 of ResNet's and MobileNet's 7x7, 196 of 14x14) computes only
 * the slots it stores.
 *
 * The file includes its layer first (layer_<dtype>_<isa>.h, shared with direct.h: see
 * layer_f32_avx2.h; LY_Q8 picks the arguments, cnm_pw_args or cnm_q8_args), then defines what is
 * the pointwise convolution's own: PW_S, PW_MR and pw_pack(q, panel, g, p0, n). */
#ifndef CNM_POINTWISE_H
#define CNM_POINTWISE_H
#include "kernels.h"
#define PW_ALWAYS_INLINE static inline __attribute__((always_inline))
#define PW_UNROLL _Pragma("GCC unroll 8")
#endif

/* the arguments of the layer's data type, and the calling thread's panel */
#if LY_Q8
typedef cnm_q8_args pw_args;
#define PW_A(q) (&(q)->pw)
#define PW_FINISH(acc, q, o) ly_finish(acc, (q)->pw.bias, (q)->mult, (q)->wsum, (q)->zp, o)
static inline int32_t *pw_panel(const pw_args *q) { return (int32_t *)(void *)(q->panel + q->panel_stride * cnm_thread_slot()); }
#else
typedef cnm_pw_args pw_args;
#define PW_A(q) (q)
#define PW_FINISH(acc, q, o) ly_finish(acc, (q)->bias, NULL, NULL, 0, o)
static inline int32_t *pw_panel(const pw_args *a) { return (int32_t *)(void *)(a->scratch + a->scratch_stride * cnm_thread_slot()); }
#endif

/* Outputs [o, o + mr) for pixels [p0 + q, ...) of the panel; MR and S are compile-time constants
 * at every call (pw_block), so the loops over them unroll into registers. */
PW_ALWAYS_INLINE LY_TARGET void pw_tile(const pw_args *q, const int32_t *panel, const int MR, const int S, int o, int mr, int p0,
                                       int qx, int n, const int32_t *wb, size_t wr, size_t wj) {
    const cnm_pw_args *a = PW_A(q);
    const int T = CNM_PW_TILE, J = LY_WORDS(a->cin_g);
    ly_acc acc[PW_MR][4];
    PW_UNROLL
    for (int r = 0; r < MR; r++) {
        PW_UNROLL
        for (int k = 0; k < S; k++) acc[r][k] = ly_acc_init(PW_A(q)->bias, o + r);
    }
    for (int j = 0; j < J; j++) {
        const int32_t *row = panel + (size_t)j * T + qx, *w0 = wb + (size_t)j * wj;
        ly_xv x[4];
        PW_UNROLL
        for (int k = 0; k < S; k++) x[k] = ly_load(row + LY_L * k);
        const ly_wt w = ly_wt_load(w0);
        PW_UNROLL
        for (int r = 0; r < MR; r++) {
            PW_UNROLL
            for (int k = 0; k < S; k++) acc[r][k] = ly_mac(acc[r][k], x[k], w, w0, r, wr);
        }
    }
    PW_UNROLL
    for (int r = 0; r < MR; r++) {
        if (LY_PADDED_MR && r >= mr) break;
        const int d = a->dst ? a->dst[o + r] : o + r;
        const float s = a->post_scale ? a->post_scale[d] : 1.0f, b = a->post_shift ? a->post_shift[d] : 0.0f;
        float *y = a->out + (size_t)d * a->hw + p0 + qx;
        if (a->post_clip) { /* a fused CLIP (ReLU6): tested once per row, out of the stores' loop */
            PW_UNROLL
            for (int k = 0; k < S; k++)
                ly_store(y + LY_L * k, ly_clamp(ly_post(PW_FINISH(acc[r][k], q, o + r), s, b, a->post_relu), a->clip_lo, a->clip_hi),
                         n - qx - LY_L * k);
            continue;
        }
        PW_UNROLL
        for (int k = 0; k < S; k++) ly_store(y + LY_L * k, ly_post(PW_FINISH(acc[r][k], q, o + r), s, b, a->post_relu), n - qx - LY_L * k);
    }
}

/* One block of outputs over the item's pixels: MR fixed, the slots of each stretch of pixels. */
#define PW_SLOTS_(MR)                                                                              \
    for (int qx = 0; qx < n; qx += PW_S * LY_L) {                                                  \
        const int v = (n - qx + LY_L - 1) / LY_L;                                                  \
        if (v >= PW_S) pw_tile(q, panel, MR, PW_S, o, mr, p0, qx, n, wb, wr, wj);                  \
        else if (v == 3) pw_tile(q, panel, MR, 3 < PW_S ? 3 : PW_S, o, mr, p0, qx, n, wb, wr, wj); \
        else if (v == 2) pw_tile(q, panel, MR, 2 < PW_S ? 2 : PW_S, o, mr, p0, qx, n, wb, wr, wj); \
        else pw_tile(q, panel, MR, 1, o, mr, p0, qx, n, wb, wr, wj);                               \
    }

static LY_TARGET void pw_block(const pw_args *q, const int32_t *panel, int g, int b, int p0, int n) {
    const cnm_pw_args *a = PW_A(q);
    const int cout_g = a->cout / a->groups, o = g * cout_g + PW_MR * b;
    const int mr = cout_g - PW_MR * b < PW_MR ? cout_g - PW_MR * b : PW_MR;
    const int32_t *wb;
    size_t wr, wj;
#if LY_DOT_LAYOUT
    wb = (const int32_t *)(const void *)q->wdot + (size_t)(g * ((cout_g + PW_MR - 1) / PW_MR) + b) * LY_WORDS(a->cin_g) * 4;
    wr = 1, wj = 4;
#else
    wb = LY_WEIGHTS(q) + (size_t)o * LY_WORDS(a->cin_g);
    wr = (size_t)LY_WORDS(a->cin_g), wj = 1;
#endif
    if (LY_PADDED_MR || mr == PW_MR) {
        PW_SLOTS_(PW_MR)
        return;
    }
    switch (mr) { /* the remainder of a non-padded layout: a tile of exactly mr rows */
#if PW_MR > 4
    case 7: PW_SLOTS_(7 < PW_MR ? 7 : PW_MR) break;
    case 6: PW_SLOTS_(6 < PW_MR ? 6 : PW_MR) break;
    case 5: PW_SLOTS_(5 < PW_MR ? 5 : PW_MR) break;
    case 4: PW_SLOTS_(4 < PW_MR ? 4 : PW_MR) break;
#endif
    case 3: PW_SLOTS_(3 < PW_MR ? 3 : PW_MR) break;
    case 2: PW_SLOTS_(2 < PW_MR ? 2 : PW_MR) break;
    default: PW_SLOTS_(1) break;
    }
}

/* Worksharing (every thread of the region calls it): items split statically, as in every
 * pointwise kernel (cnm_pw_item_at). */
static LY_TARGET void pw_run(const pw_args *q) {
    const cnm_pw_args *a = PW_A(q);
    const cnm_pw_split sp = cnm_pw_split_of(a);
    const int nb = (sp.cout_g + PW_MR - 1) / PW_MR, windowed = cnm_pw_windowed(a);
    int32_t *panel = pw_panel(q);
#pragma omp for schedule(static)
    for (int it = 0; it < sp.items; it++) {
        const cnm_pw_item w = cnm_pw_item_at(a, &sp, it);
        if (windowed) { /* packed from the window's rows (kernels.h) */
            float *stage = cnm_pw_stage_of(a, panel);
            pw_args t = *q;
            cnm_pw_im2col(a, stage, w.p0, w.n);
            cnm_pw_staged(PW_A(&t), stage);
            pw_pack(&t, panel, w.g, 0, w.n);
        } else {
            pw_pack(q, panel, w.g, w.p0, w.n);
        }
        const int b1 = (w.o1 + PW_MR - 1) / PW_MR < nb ? (w.o1 + PW_MR - 1) / PW_MR : nb;
        for (int b = w.o0 / PW_MR; b < b1; b++) pw_block(q, panel, w.g, b, w.p0, w.n);
    }
}
