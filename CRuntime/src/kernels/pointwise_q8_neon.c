/* Fused pointwise convolution, int8, aarch64 NEON baseline (Armv8.0: Cortex-A53/A72, Pi 4).
 * Inputs are quantised while packing into int16 pairs of consecutive input channels (the layout
 * of the AVX2 kernel); smull/smull2 multiply a pair by a weight pair and addp adds the two
 * products: exact int32 sums, bit-identical to pointwise_q8_ref.c. Micro-kernel: 4 output
 * channels x 16 pixels. */
#include "q8_neon.h"

#if defined(__aarch64__)
/* x: 4 pixels of one pair; w: the weight pair in every 32-bit lane */
static inline int32x4_t madd(int16x8_t x, int16x8_t w) {
    return vpaddq_s32(vmull_s16(vget_low_s16(x), vget_low_s16(w)), vmull_high_s16(x, w));
}

static inline __attribute__((always_inline)) void kernel(const cnm_q8_args *q, const int32_t *panel, int o, int mr, int p0,
                                                         int n) {
    const cnm_pw_args *a = &q->pw;
    const int T = CNM_PW_TILE, kp = (a->cin_g + 1) / 2;
    for (int s = 0; s < n; s += 16) {
        int32x4_t acc[4][4];
        for (int r = 0; r < 4; r++)
            for (int v = 0; v < 4; v++) acc[r][v] = vdupq_n_s32(0);
        for (int j = 0; j < kp; j++) {
            int16x8_t x[4];
            for (int v = 0; v < 4; v++) x[v] = vreinterpretq_s16_s32(vld1q_s32(panel + (size_t)j * T + s + 4 * v));
            for (int r = 0; r < mr; r++) {
                const int16x8_t w = vreinterpretq_s16_s32(vdupq_n_s32(q->wpairs[(size_t)(o + r) * kp + j]));
                for (int v = 0; v < 4; v++) acc[r][v] = vaddq_s32(acc[r][v], madd(x[v], w));
            }
        }
        for (int r = 0; r < mr; r++) {
            const int d = a->dst ? a->dst[o + r] : o + r;
            float *y = a->out + (size_t)d * a->hw + p0 + s;
            for (int v = 0; v < 4; v++) q8n_pw_store(q, o + r, acc[r][v], y + 4 * v, n - s - 4 * v);
        }
    }
}

void cnm_pointwise_q8_neon(const cnm_q8_args *q) {
    const cnm_pw_args *a = &q->pw;
    const int cout_g = a->cout / a->groups, items = cnm_pw_items(a);
    int32_t *panel = (int32_t *)(q->panel + q->panel_stride * cnm_thread_slot());
#pragma omp for schedule(static)
    for (int it = 0; it < items; it++) {
        const cnm_pw_item w = cnm_pw_item_at(a, it);
        q8n_pack_pointwise(q, panel, w.g, w.p0, w.n, 2);
        int oo = 0;
        for (; oo + 4 <= cout_g; oo += 4) kernel(q, panel, w.g * cout_g + oo, 4, w.p0, w.n);
        switch (cout_g - oo) {
        case 3: kernel(q, panel, w.g * cout_g + oo, 3, w.p0, w.n); break;
        case 2: kernel(q, panel, w.g * cout_g + oo, 2, w.p0, w.n); break;
        case 1: kernel(q, panel, w.g * cout_g + oo, 1, w.p0, w.n); break;
        default: break;
        }
    }
}
#endif
