/* Fused pointwise convolution, int8, aarch64 with the dot-product extension (Armv8.2+: Cortex-A55,
 * A76, Pi 5). Inputs are quantised while packing into words of 4 consecutive input channels,
 * stored as signed bytes s = q + zp - 128; `sdot` (by element) adds 4 byte products per lane, for
 * 4 pixels of one output against 4 weights broadcast from a 16-byte block of 4 outputs. The sum
 * of s * w differs from that of q * w by (zp - 128) * sum(w), added back exactly from the wsum
 * table, so the result is bit-identical to pointwise_q8_ref.c. The layer of pointwise.h: 4
 * outputs x 4 slots of 4 pixels, 16 accumulators, one weight load per 4 input channels. */
#include "q8_neon.h"

#if defined(__aarch64__)
#define PW_TARGET CNM_DOTPROD
#define PW_L 4
#define PW_S 4
#define PW_MR 4
#define PW_DOT_LAYOUT 1
#define PW_PADDED_MR 1
#define PW_TAIL_SLOTS 0
#define PW_WORDS(cin_g) (((cin_g) + 3) / 4)
typedef cnm_q8_args pw_args;
#define PW_A(q) (&(q)->pw)
static inline int32_t *pw_panel(const pw_args *q) { return (int32_t *)(void *)(q->panel + q->panel_stride * cnm_thread_slot()); }
typedef int32x4_t pw_acc;
typedef int8x16_t pw_xv, pw_wt;
typedef float32x4_t pw_vf;
static inline pw_xv pw_load(const int32_t *p) { return vreinterpretq_s8_s32(vld1q_s32(p)); }
static inline pw_wt pw_wt_load(const int32_t *p) { return vld1q_s8((const int8_t *)(const void *)p); }
/* lane r of the 16-byte block: output r's 4 weights (r is a constant once pw_tile is unrolled) */
CNM_DOTPROD static inline pw_acc pw_mac(pw_acc acc, pw_xv x, pw_wt w, const int32_t *p, int r, size_t wr) {
    (void)p;
    (void)wr;
    switch (r) {
    case 0: return vdotq_laneq_s32(acc, x, w, 0);
    case 1: return vdotq_laneq_s32(acc, x, w, 1);
    case 2: return vdotq_laneq_s32(acc, x, w, 2);
    default: return vdotq_laneq_s32(acc, x, w, 3);
    }
}
static inline pw_acc pw_acc_init(const pw_args *q, int o) { (void)q; (void)o; return vdupq_n_s32(0); }
static inline pw_vf pw_finish(pw_acc acc, const pw_args *q, int o) {
    const int32x4_t corr = vdupq_n_s32((128 - q->zp) * q->wsum[o]);
    return vfmaq_f32(vdupq_n_f32(q->pw.bias ? q->pw.bias[o] : 0.0f), vcvtq_f32_s32(vaddq_s32(acc, corr)), vdupq_n_f32(q->mult[o]));
}
static inline pw_vf pw_post(pw_vf v, float s, float b, int relu) {
    v = vfmaq_f32(vdupq_n_f32(b), v, vdupq_n_f32(s));
    return relu ? q8n_relu(v) : v;
}
#define pw_store simd4_store
static void pw_pack(const pw_args *q, int32_t *panel, int g, int p0, int n) { q8n_pack_pointwise(q, panel, g, p0, n, 4); }
#include "pointwise.h"

void cnm_pointwise_q8_neondot(const cnm_q8_args *q) { pw_run(q); }
#endif
