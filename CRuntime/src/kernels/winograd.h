/* The Winograd F(4x4, 3x3) convolution (fp32, 3x3, stride 1, one group), written once for every
 * ISA. A file that includes it defines WG_TARGET (the function attribute of its ISA) and
 * `WG_GEMM(a, v, m, n)`: M = U x V for one transformed frequency and one block of tiles (below),
 * then calls wg_run.
 *
 * Algorithm (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016). The
 * output is cut into tiles of 4x4 pixels, each computed from the 6x6 input patch around it:
 *   Y = A^T [ U (.) (B^T d B) ] A,   U = G g G^T (the weights, transformed once at load),
 * where (.) is an element-wise product over the 36 "frequencies" xi of the 6x6 transforms, summed
 * over input channels. Summed over channels, each frequency is a matrix product
 *   M[xi][o][t] = sum_c U[xi][o][c] * V[xi][c][t]     (cout x cin) x (cin x tiles),
 * 36 products with 36 / (16 * 9) = 1/4 of the direct convolution's multiplies.
 * Tiles are numbered row by row over the output (t = ty * tiles_x + tx) and grouped in blocks of
 * CNM_PW_TILE (64): V and M hold, per frequency and block, one panel [channel][64 tiles] laid out
 * as the pointwise kernel's input panel and output rows, so that its register tile (pw_block) is
 * the matrix product. A pass covers a chunk of blocks (cnm_wino_chunk: the scratch stays a few
 * MiB) in three worksharing loops:
 *   1. input transform, items (channel, block): gather the 6x6 patches of the block's tiles
 *      (zero outside the map), V = B^T d B, vectorised over the tiles;
 *   2. the 36 x blocks matrix products, items (frequency, block, block of output channels);
 *   3. output transform, items (output channel, block): Y = A^T M A, + bias, ReLU, CLIP, stored
 *      where the tile lies inside the output.
 * Each output element is computed by one thread in a fixed order, so every thread count gives
 * the same bits. */
#ifndef CNM_WINOGRAD_H
#define CNM_WINOGRAD_H
#include "kernels.h"

/* B^T d of one column of 6 values (in place over the 6 rows of the transform) */
#define WG_BT(d0, d1, d2, d3, d4, d5, r0, r1, r2, r3, r4, r5)                                      \
    do {                                                                                           \
        const float t4 = (d4) - 4.0f * (d2), t3 = (d3) - 4.0f * (d1), u4 = (d4) - (d2), u3 = (d3) - (d1); \
        r0 = 4.0f * (d0) - 5.0f * (d2) + (d4);                                                     \
        r1 = t4 + t3;                                                                              \
        r2 = t4 - t3;                                                                              \
        r3 = u4 + 2.0f * u3;                                                                       \
        r4 = u4 - 2.0f * u3;                                                                       \
        r5 = 4.0f * (d1) - 5.0f * (d3) + (d5);                                                     \
    } while (0)

/* A^T m of one column of 6 values -> 4 */
#define WG_AT(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3)                                              \
    do {                                                                                           \
        const float s12 = (m1) + (m2), d12 = (m1) - (m2), s34 = (m3) + (m4), d34 = (m3) - (m4);     \
        y0 = (m0) + s12 + s34;                                                                     \
        y1 = d12 + 2.0f * d34;                                                                     \
        y2 = s12 + 4.0f * s34;                                                                     \
        y3 = d12 + 8.0f * d34 + (m5);                                                              \
    } while (0)
#endif

#define WG_T CNM_PW_TILE

#ifndef WG_GEMM
/* The SIMD files include pointwise.h first: each product is its register tile over one panel
 * (the outputs of block ob, the block's n tiles), with U[xi] as the weights and M as the rows. */
#define WG_TARGET LY_TARGET
#define WG_GEMM_MR PW_MR
static LY_TARGET void wg_gemm_pw(const cnm_wino_args *a, int xi, int ob, const float *v, float *m, int n) {
    const cnm_pw_args q = {.w = a->u + (size_t)xi * a->s->cout * a->s->cin, .cin_g = a->s->cin, .cout = a->s->cout, .groups = 1,
                           .out = m, .hw = WG_T};
    pw_block(&q, (const int32_t *)(const void *)v, 0, ob, 0, n);
}
#define WG_GEMM wg_gemm_pw
#endif

/* Input transform of channel c, tiles [t0, t0 + n): V[xi][c][i] in the block's panels. */
static WG_TARGET void wg_input(const cnm_conv_shape *s, const float *in, int c, int t0, int n, float *v, size_t xi_stride) {
    const int tx_n = (s->ow + 3) / 4;
    float d[36][WG_T], h[36][WG_T];
    const float *x = in + (size_t)c * s->ih * s->iw;
    for (int i = 0; i < n; i++) {
        const int t = t0 + i, y0 = (t / tx_n) * 4 - s->ph, x0 = (t % tx_n) * 4 - s->pw;
        if (y0 >= 0 && x0 >= 0 && y0 + 6 <= s->ih && x0 + 6 <= s->iw) {
            for (int r = 0; r < 6; r++)
                for (int q = 0; q < 6; q++) d[r * 6 + q][i] = x[(size_t)(y0 + r) * s->iw + x0 + q];
        } else {
            for (int r = 0; r < 6; r++)
                for (int q = 0; q < 6; q++) {
                    const int yy = y0 + r, xx = x0 + q;
                    d[r * 6 + q][i] = yy >= 0 && yy < s->ih && xx >= 0 && xx < s->iw ? x[(size_t)yy * s->iw + xx] : 0.0f;
                }
        }
    }
    for (int q = 0; q < 6; q++) /* B^T over rows: h[k][q] */
        for (int i = 0; i < n; i++)
            WG_BT(d[0 + q][i], d[6 + q][i], d[12 + q][i], d[18 + q][i], d[24 + q][i], d[30 + q][i], h[0 + q][i], h[6 + q][i],
                  h[12 + q][i], h[18 + q][i], h[24 + q][i], h[30 + q][i]);
    for (int k = 0; k < 6; k++) { /* then over columns: V[k * 6 + l] */
        float *o0 = v + (size_t)(k * 6) * xi_stride, *o1 = o0 + xi_stride, *o2 = o1 + xi_stride, *o3 = o2 + xi_stride,
              *o4 = o3 + xi_stride, *o5 = o4 + xi_stride;
        const float *hk = h[k * 6];
        for (int i = 0; i < n; i++)
            WG_BT(hk[0 * WG_T + i], hk[1 * WG_T + i], hk[2 * WG_T + i], hk[3 * WG_T + i], hk[4 * WG_T + i], hk[5 * WG_T + i], o0[i],
                  o1[i], o2[i], o3[i], o4[i], o5[i]);
    }
}

/* Output transform of output channel o, tiles [t0, t0 + n): M[xi][o][i] -> out. */
static WG_TARGET void wg_output(const cnm_conv_shape *s, const float *m, size_t xi_stride, int o, int t0, int n, float b,
                                float *out) {
    const int tx_n = (s->ow + 3) / 4;
    float h[24][WG_T], y[16][WG_T];
    for (int q = 0; q < 6; q++) { /* A^T over rows: h[k * 6 + q] */
        const float *m0 = m + (size_t)q * xi_stride;
        const size_t r = 6 * xi_stride;
        for (int i = 0; i < n; i++)
            WG_AT(m0[i], m0[r + i], m0[2 * r + i], m0[3 * r + i], m0[4 * r + i], m0[5 * r + i], h[q][i], h[6 + q][i], h[12 + q][i],
                  h[18 + q][i]);
    }
    for (int k = 0; k < 4; k++) /* then over columns: y[k * 4 + l] */
        for (int i = 0; i < n; i++)
            WG_AT(h[k * 6][i], h[k * 6 + 1][i], h[k * 6 + 2][i], h[k * 6 + 3][i], h[k * 6 + 4][i], h[k * 6 + 5][i], y[k * 4][i],
                  y[k * 4 + 1][i], y[k * 4 + 2][i], y[k * 4 + 3][i]);
    for (int e = 0; e < 16; e++)
        for (int i = 0; i < n; i++) {
            float v = y[e][i] + b;
            if (s->relu) v = v > 0.0f ? v : 0.0f;
            if (s->clip) v = cnm_clamp(v, s->clip_lo, s->clip_hi);
            y[e][i] = v;
        }
    float *yo = out + (size_t)o * s->oh * s->ow;
    for (int i = 0; i < n; i++) {
        const int t = t0 + i, oy = (t / tx_n) * 4, ox = (t % tx_n) * 4;
        const int kh = s->oh - oy < 4 ? s->oh - oy : 4, kw = s->ow - ox < 4 ? s->ow - ox : 4;
        for (int k = 0; k < kh; k++)
            for (int l = 0; l < kw; l++) yo[(size_t)(oy + k) * s->ow + ox + l] = y[k * 4 + l][i];
    }
}

/* Worksharing (every thread of the region calls it). */
static WG_TARGET void wg_run(const cnm_wino_args *a) {
    const cnm_conv_shape *s = a->s;
    const int tiles = cnm_wino_tiles(s), blocks = (tiles + WG_T - 1) / WG_T, chunk = cnm_wino_chunk(s);
    const int cin = s->cin, cout = s->cout;
    float *v = a->scratch, *m = a->scratch + (size_t)36 * chunk * cin * WG_T;
    const size_t vx = (size_t)chunk * cin * WG_T, mx = (size_t)chunk * cout * WG_T; /* floats between frequencies */
    const int ob = (cout + WG_GEMM_MR - 1) / WG_GEMM_MR;                          /* blocks of outputs */
    for (int b0 = 0; b0 < blocks; b0 += chunk) {
        const int nb = blocks - b0 < chunk ? blocks - b0 : chunk;
#pragma omp for schedule(static)
        for (int it = 0; it < cin * nb; it++) {
            const int c = it / nb, b = it % nb, t0 = (b0 + b) * WG_T, n = tiles - t0 < WG_T ? tiles - t0 : WG_T;
            wg_input(s, a->in, c, t0, n, v + ((size_t)b * cin + c) * WG_T, vx);
        }
#pragma omp for schedule(static)
        for (int it = 0; it < 36 * nb * ob; it++) {
            const int xi = it / (nb * ob), b = (it / ob) % nb, o = it % ob, t0 = (b0 + b) * WG_T;
            const int n = tiles - t0 < WG_T ? tiles - t0 : WG_T;
            WG_GEMM(a, xi, o, v + (size_t)xi * vx + (size_t)b * cin * WG_T, m + (size_t)xi * mx + (size_t)b * cout * WG_T, n);
        }
#pragma omp for schedule(static)
        for (int it = 0; it < cout * nb; it++) {
            const int o = it / nb, b = it % nb, t0 = (b0 + b) * WG_T, n = tiles - t0 < WG_T ? tiles - t0 : WG_T;
            wg_output(s, m + ((size_t)b * cout + o) * WG_T, mx, o, t0, n, a->bias ? a->bias[o] : 0.0f, a->out);
        }
    }
}
