/* Fused pointwise convolution, int8, aarch64 with the dot-product extension (Armv8.2+: Cortex-A55,
 * A76, Pi 5). Inputs are quantised while packing into words of 4 consecutive input channels,
 * stored as signed bytes s = q + zp - 128; `sdot` (by element) adds 4 byte products per lane, for
 * 4 pixels of one output against 4 weights broadcast from a 16-byte block of 4 outputs. The sum
 * of s * w differs from that of q * w by (zp - 128) * sum(w), added back exactly from the wsum
 * table, so the result is bit-identical to pointwise_q8_ref.c. Micro-kernel: 4 outputs x 16
 * pixels, 16 accumulators, one weight load per 4 input channels. */
#include "q8_neon.h"

#if defined(__aarch64__)
CNM_DOTPROD static void kernel(const cnm_q8_args *q, const int32_t *panel, const int8_t *wb, int o, int mr, int p0, int n) {
    const cnm_pw_args *a = &q->pw;
    const int T = CNM_PW_TILE, kq = (a->cin_g + 3) / 4;
    for (int s = 0; s < n; s += 16) {
        int32x4_t acc[4][4];
        for (int r = 0; r < 4; r++)
            for (int v = 0; v < 4; v++) acc[r][v] = vdupq_n_s32(0);
        for (int j = 0; j < kq; j++) {
            const int32_t *xp = panel + (size_t)j * T + s;
            const int8x16_t x0 = vreinterpretq_s8_s32(vld1q_s32(xp)), x1 = vreinterpretq_s8_s32(vld1q_s32(xp + 4));
            const int8x16_t x2 = vreinterpretq_s8_s32(vld1q_s32(xp + 8)), x3 = vreinterpretq_s8_s32(vld1q_s32(xp + 12));
            const int8x16_t w = vld1q_s8(wb + (size_t)j * 16);
            DOT4(0) DOT4(1) DOT4(2) DOT4(3)
        }
        for (int r = 0; r < mr; r++) {
            const int d = a->dst ? a->dst[o + r] : o + r;
            const int32x4_t corr = vdupq_n_s32((128 - q->zp) * q->wsum[o + r]);
            float *y = a->out + (size_t)d * a->hw + p0 + s;
            for (int v = 0; v < 4; v++) q8n_pw_store(q, o + r, vaddq_s32(acc[r][v], corr), y + 4 * v, n - s - 4 * v);
        }
    }
}

void cnm_pointwise_q8_neondot(const cnm_q8_args *q) {
    const cnm_pw_args *a = &q->pw;
    const int cout_g = a->cout / a->groups, items = cnm_pw_items(a), nb = (cout_g + 3) / 4;
    const size_t block = (size_t)((a->cin_g + 3) / 4) * 16;
    int32_t *panel = (int32_t *)(q->panel + q->panel_stride * cnm_thread_slot());
#pragma omp for schedule(static)
    for (int it = 0; it < items; it++) {
        const cnm_pw_item w = cnm_pw_item_at(a, it);
        q8n_pack_pointwise(q, panel, w.g, w.p0, w.n, 4);
        for (int b = 0; b < nb; b++) {
            const int mr = cout_g - 4 * b < 4 ? cout_g - 4 * b : 4;
            kernel(q, panel, q->wdot + (size_t)(w.g * nb + b) * block, w.g * cout_g + 4 * b, mr, w.p0, w.n);
        }
    }
}
#endif
