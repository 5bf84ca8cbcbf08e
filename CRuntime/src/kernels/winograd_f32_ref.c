/* Winograd F(4x4, 3x3) convolution, fp32, portable scalar version: winograd.h with the matrix
 * products written as plain loops (the SIMD versions run the pointwise register tile there), and
 * the weight transform the planner runs at load. Tested against the direct convolution's
 * reference (tests/kernel_tester.c: the transforms round differently, within 1e-5 relative). */
#include "kernels.h"

#define WG_TARGET
#define WG_GEMM_MR 8
/* M[o][i] = sum_c U[xi][o][c] V[c][i] for the outputs of block ob */
static void wg_gemm_ref(const cnm_wino_args *a, int xi, int ob, const float *v, float *m, int n) {
    const int cin = a->s->cin, cout = a->s->cout, o1 = (ob + 1) * WG_GEMM_MR < cout ? (ob + 1) * WG_GEMM_MR : cout;
    for (int o = ob * WG_GEMM_MR; o < o1; o++) {
        const float *u = a->u + ((size_t)xi * cout + o) * cin;
        float acc[CNM_PW_TILE] = {0};
        for (int c = 0; c < cin; c++)
            for (int i = 0; i < n; i++) acc[i] += u[c] * v[(size_t)c * CNM_PW_TILE + i];
        for (int i = 0; i < n; i++) m[(size_t)o * CNM_PW_TILE + i] = acc[i];
    }
}
#define WG_GEMM wg_gemm_ref
#include "winograd.h"

void cnm_winograd_f32_ref(const cnm_wino_args *a) { wg_run(a); }

void cnm_wino_weights(const float *w, int cout, int cin, float *u) {
    static const double G[6][3] = {{1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                   {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
    for (int o = 0; o < cout; o++)
        for (int c = 0; c < cin; c++) {
            const float *g = w + ((size_t)o * cin + c) * 9;
            double h[6][3]; /* G g */
            for (int k = 0; k < 6; k++)
                for (int b = 0; b < 3; b++) h[k][b] = G[k][0] * g[b] + G[k][1] * g[3 + b] + G[k][2] * g[6 + b];
            for (int k = 0; k < 6; k++)
                for (int l = 0; l < 6; l++)
                    u[((size_t)(k * 6 + l) * cout + o) * cin + c] = (float)(h[k][0] * G[l][0] + h[k][1] * G[l][1] + h[k][2] * G[l][2]);
        }
}
