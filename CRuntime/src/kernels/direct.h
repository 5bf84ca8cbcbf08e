/* The direct KxK convolution (horizontal stride 1 or 2, any vertical stride), written once for
 * every ISA and data type. A file conv_<dtype>_<isa>.c includes its layer
 * and this header (below), which defines `static void dk_run(const cnm_direct_args *a)`.
 *
 * Algorithm. The input was copied into a zero-bordered padded copy of 32-bit "words" (the
 * layer's pack: floats; or int16 pairs / 4 uint8 or int8 codes of consecutive input channels,
 * direct_layout.h), so the inner loop has no bounds checks. A work item is (group, block of up to
 * DK_MR = 4 output channels, a few output rows); it keeps MR x S accumulators, where each of the
 * S "slots" is one vector of LY_L output pixels:
 *   P = 0, "half" (layers with DK_HALF, maps at most LY_L / 2 wide): rows oy + 2k and oy + 2k + 1
 *          in the two halves of slot k; 2S rows per item;
 *   P = 1, 2, 4, "rows" (maps at most P * LY_L wide): slot k is row oy + k / P, columns
 *          LY_L * (k % P) on; S / P rows per item;
 *   P = -1, "long" (wider maps): slot k is columns q + LY_L * k of row oy, q stepping by S * LY_L.
 * Per tap: S input loads, then for each of the MR outputs its weight (broadcast, or a lane of one
 * load of the tap's weights) and S multiply-accumulates. Rows past the map are computed from a
 * real row and not stored. The output-channel remainder runs a tile of MR = the remainder, or
 * (LY_PADDED_MR: weights zero-padded to blocks of 4) the full tile with only `mr` rows stored.
 *
 * The file includes its layer first (layer_<dtype>_<isa>.h, shared with pointwise.h: LY_TARGET,
 * LY_L lanes, LY_PADDED_MR, LY_DOT_LAYOUT, LY_WORDS, LY_WEIGHTS, the types ly_acc / ly_xv / ly_wt /
 * ly_vf and ly_load, ly_wt_load, ly_mac, ly_acc_init, ly_finish, ly_relu, ly_store: see
 * layer_f32_avx2.h), then defines what is the direct convolution's own:
 *   DK_HALF (0/1), DK_S (slots), DK_S_WIDE (slots when mr <= 2 and the map is wider than DK_S
 *   vectors; = DK_S for none); dk_load_half(p0, p1), dk_store_half(y0, y1, v, n) (DK_HALF only);
 *   dk_pack(a): worksharing, fills a->pad; DK_PACK_PLANE (optional): dk_pack_plane(a, pl) packs
 *   one plane (group pl / words, word pl % words), for the one-barrier schedule below. */
#ifndef CNM_DIRECT_H
#define CNM_DIRECT_H
#include "direct_layout.h"

#define DK_MR 4

typedef struct dk_job {
    const cnm_direct_args *a;
    const int32_t *pad;
    int RS, KK, JW; /* padded row, taps, words per pixel of a group */
    size_t PS;      /* padded plane */
} dk_job;

/* the slot geometry of a map `ow` wide with S slots (P above) and the rows of one item */
static inline int dk_geometry(int ow, int S, int L, int half) {
    if (half && 2 * ow <= L) return 0;
    for (int P = 1; P <= S; P *= 2)
        if (P * L >= ow) return P;
    return -1;
}
static inline int dk_item_rows(int P, int S) { return P == 0 ? 2 * S : P > 0 ? S / P : 1; }
#endif

#define DK_ALWAYS_INLINE static inline __attribute__((always_inline))
/* the loops over outputs and slots must unroll, so that the accumulators live in registers
 * (clang otherwise keeps the array in memory and stores every accumulator after each FMA) */
#define DK_UNROLL _Pragma("GCC unroll 4")

/* One work item: outputs [o, o + mr) of group g, the rows of one item from oy. MR, S and P are
 * compile-time constants at every call (dk_item), so the loops over them unroll into registers. */
DK_ALWAYS_INLINE LY_TARGET void dk_tile(const dk_job *j, const int MR, const int S, const int P, int g, int o, int mr, int oy,
                                       const int32_t *wb, size_t wr, size_t wj, size_t wt) {
    const cnm_conv_shape *s = j->a->s;
    const int qend = P < 0 ? s->ow : 1, qstep = P < 0 ? S * LY_L : 1;
    for (int q = 0; q < qend; q += qstep) {
        size_t off[4], off2[4];
        int row[4], col[4];
        DK_UNROLL
        for (int k = 0; k < S; k++) {
            row[k] = P == 0 ? 2 * k : P > 0 ? k / P : 0;
            col[k] = P > 0 ? LY_L * (k % P) : P < 0 ? q + LY_L * k : 0;
            const int r0 = oy + row[k] < s->oh ? row[k] : s->oh - 1 - oy;
            const int r1 = oy + row[k] + 1 < s->oh ? row[k] + 1 : s->oh - 1 - oy;
            off[k] = (size_t)r0 * s->sh * j->RS + (size_t)col[k];
            off2[k] = (size_t)r1 * s->sh * j->RS;
        }
        (void)off2;
        ly_acc acc[4][4];
        DK_UNROLL
        for (int r = 0; r < MR; r++)
            DK_UNROLL
            for (int k = 0; k < S; k++) acc[r][k] = ly_acc_init(j->a->bias, o + r);
        for (int jw = 0; jw < j->JW; jw++) {
            const int32_t *xin = j->pad + (size_t)(g * j->JW + jw) * j->PS + (size_t)oy * s->sh * j->RS;
            const int32_t *wp = wb + (size_t)jw * wj;
            /* each slot's first input, so that a tap's loads are slot pointer + tap offset (one
             * register-offset load each on aarch64, not an add and a shift per slot and tap) */
            const int32_t *xk[4], *xk2[4];
            DK_UNROLL
            for (int k = 0; k < S; k++) xk[k] = xin + off[k], xk2[k] = xin + off2[k];
            (void)xk2;
            for (int ky = 0; ky < s->kh; ky++)
                for (int kx = 0; kx < s->kw; kx++) {
                    const size_t t = (size_t)ky * j->RS + tap_col(s, kx);
                    const int32_t *w0 = wp + (size_t)(ky * s->kw + kx) * wt;
                    ly_xv x[4];
                    DK_UNROLL
                    for (int k = 0; k < S; k++) {
#if DK_HALF
                        if (P == 0) x[k] = dk_load_half(xk[k] + t, xk2[k] + t);
                        else
#endif
                            x[k] = ly_load(xk[k] + t);
                    }
                    const ly_wt w = ly_wt_load(w0);
                    DK_UNROLL
                    for (int r = 0; r < MR; r++)
                        DK_UNROLL
                        for (int k = 0; k < S; k++) acc[r][k] = ly_mac(acc[r][k], x[k], w, w0, r, wr);
                }
        }
        DK_UNROLL
        for (int r = 0; r < MR; r++) {
            if (LY_PADDED_MR && r >= mr) break;
            float *y = j->a->out + (size_t)(o + r) * s->oh * s->ow;
            DK_UNROLL
            for (int k = 0; k < S; k++) {
                ly_vf v = ly_finish(acc[r][k], j->a->bias, j->a->mult, j->a->wsum, j->a->zp, o + r);
                if (s->relu) v = ly_relu(v);
                if (s->clip) v = ly_clamp(v, s->clip_lo, s->clip_hi);
                const int y0 = oy + row[k];
                if (y0 >= s->oh) continue;
#if DK_HALF
                if (P == 0) {
                    dk_store_half(y + (size_t)y0 * s->ow, y0 + 1 < s->oh ? y + (size_t)(y0 + 1) * s->ow : NULL, v, s->ow);
                    continue;
                }
#endif
                ly_store(y + (size_t)y0 * s->ow + col[k], v, s->ow - col[k]);
            }
        }
    }
}

/* the tile of one geometry P with the slots S of this item, MR fixed */
#define DK_GEOMETRIES(MR, S)                                                                       \
    switch (P) {                                                                                   \
    case 0: if (DK_HALF) dk_tile(j, MR, S, 0, g, o, mr, oy, wb, wr, wj, wt); break;                \
    case 1: dk_tile(j, MR, S, 1, g, o, mr, oy, wb, wr, wj, wt); break;                             \
    case 2: dk_tile(j, MR, S, 2, g, o, mr, oy, wb, wr, wj, wt); break;                             \
    case 4: if (S == 4) dk_tile(j, MR, S, 4, g, o, mr, oy, wb, wr, wj, wt); break;                 \
    default: dk_tile(j, MR, S, -1, g, o, mr, oy, wb, wr, wj, wt); break;                           \
    }

/* Item `it`: (group, row block, output block), in that order of significance. */
static LY_TARGET void dk_item(const dk_job *j, int it, int rows, int nb) {
    const cnm_conv_shape *s = j->a->s;
    const int cout_g = s->cout / s->groups, g = it / (rows * nb), rem = it % (rows * nb), b = rem % nb;
    const int o = g * cout_g + DK_MR * b, mr = cout_g - DK_MR * b < DK_MR ? cout_g - DK_MR * b : DK_MR;
    const int S = (mr <= 2 && s->ow > DK_S * LY_L) ? DK_S_WIDE : DK_S, P = dk_geometry(s->ow, S, LY_L, DK_HALF);
    const int oy = (rem / nb) * dk_item_rows(dk_geometry(s->ow, DK_S, LY_L, DK_HALF), DK_S);
    const int32_t *wb;
    size_t wr, wj, wt;
#if LY_DOT_LAYOUT
    wb = (const int32_t *)(const void *)j->a->wdot + (size_t)(g * nb + b) * j->JW * j->KK * 4;
    wr = 1, wj = (size_t)j->KK * 4, wt = 4;
#else
    wb = LY_WEIGHTS(j->a) + (size_t)o * j->JW * j->KK;
    wr = (size_t)j->JW * j->KK, wj = (size_t)j->KK, wt = 1;
#endif
    if (LY_PADDED_MR || mr == 4) {
        if (S == DK_S_WIDE && DK_S_WIDE != DK_S) { DK_GEOMETRIES(4, DK_S_WIDE) } else { DK_GEOMETRIES(4, DK_S) }
        return;
    }
    if (S == DK_S_WIDE && DK_S_WIDE != DK_S) {
        if (mr == 2) { DK_GEOMETRIES(2, DK_S_WIDE) } else { DK_GEOMETRIES(1, DK_S_WIDE) }
        return;
    }
    switch (mr) {
    case 3: DK_GEOMETRIES(3, DK_S) break;
    case 2: DK_GEOMETRIES(2, DK_S) break;
    default: DK_GEOMETRIES(1, DK_S) break;
    }
}

/* Worksharing (every thread of the region calls it). When the threads divide the groups evenly
 * and the layer packs by plane, each thread packs its own groups' planes and computes their
 * outputs: one barrier instead of two. Otherwise the pack is shared out, then the items. */
static LY_TARGET void dk_run(const cnm_direct_args *a) {
    const cnm_conv_shape *s = a->s;
    dk_job j = {a, a->pad, padded_row(s), s->kh * s->kw, LY_WORDS(s->cin / s->groups), 0};
    j.PS = (size_t)(s->ih + 2 * s->ph) * j.RS;
    const int nb = (s->cout / s->groups + DK_MR - 1) / DK_MR;
    const int R = dk_item_rows(dk_geometry(s->ow, DK_S, LY_L, DK_HALF), DK_S), rows = (s->oh + R - 1) / R;
    const int per_group = rows * nb, items = s->groups * per_group;
#if defined(DK_PACK_PLANE)
#ifdef _OPENMP
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
#else
    const int nt = 1, t = 0;
#endif
    if (s->sw == 1 && nt > 1 && s->groups % nt == 0) {
        const int g0 = t * (s->groups / nt), g1 = g0 + s->groups / nt;
        for (int pl = g0 * j.JW; pl < g1 * j.JW; pl++) dk_pack_plane(a, pl);
        for (int it = g0 * per_group; it < g1 * per_group; it++) dk_item(&j, it, rows, nb);
#pragma omp barrier
        return;
    }
#endif
    dk_pack(a);
#pragma omp for schedule(static)
    for (int it = 0; it < items; it++) dk_item(&j, it, rows, nb);
}
