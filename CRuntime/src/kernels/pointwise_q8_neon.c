/* Fused pointwise convolution, int8, aarch64 NEON baseline (Armv8.0: Cortex-A53/A72, Pi 4).
 * Inputs are quantised while packing into int16 pairs of consecutive input channels (the layout
 * of the AVX2 kernel); smull/smull2 multiply a pair by a weight pair and addp adds the two
 * products: exact int32 sums, bit-identical to pointwise_q8_ref.c. The layer of pointwise.h: 4
 * output channels x 4 slots of 4 pixels. */
#include "q8_neon.h"

#if defined(__aarch64__)
#define PW_TARGET
#define PW_L 4
#define PW_S 4
#define PW_MR 4
#define PW_DOT_LAYOUT 0
#define PW_PADDED_MR 0
#define PW_TAIL_SLOTS 0
#define PW_WORDS(cin_g) (((cin_g) + 1) / 2)
#define PW_WEIGHTS(q) ((q)->wpairs)
typedef cnm_q8_args pw_args;
#define PW_A(q) (&(q)->pw)
static inline int32_t *pw_panel(const pw_args *q) { return (int32_t *)(void *)(q->panel + q->panel_stride * cnm_thread_slot()); }
typedef int32x4_t pw_acc, pw_xv;
typedef float32x4_t pw_vf;
typedef int pw_wt;
static inline pw_xv pw_load(const int32_t *p) { return vld1q_s32(p); }
static inline pw_wt pw_wt_load(const int32_t *p) { (void)p; return 0; }
/* x: 4 pixels of one pair; the weight pair in every 32-bit lane */
static inline pw_acc pw_mac(pw_acc acc, pw_xv x, pw_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    const int16x8_t xs = vreinterpretq_s16_s32(x), ws = vreinterpretq_s16_s32(vdupq_n_s32(p[(size_t)r * wr]));
    return vaddq_s32(acc, vpaddq_s32(vmull_s16(vget_low_s16(xs), vget_low_s16(ws)), vmull_high_s16(xs, ws)));
}
static inline pw_acc pw_acc_init(const pw_args *q, int o) { (void)q; (void)o; return vdupq_n_s32(0); }
static inline pw_vf pw_finish(pw_acc acc, const pw_args *q, int o) {
    return vfmaq_f32(vdupq_n_f32(q->pw.bias ? q->pw.bias[o] : 0.0f), vcvtq_f32_s32(acc), vdupq_n_f32(q->mult[o]));
}
static inline pw_vf pw_post(pw_vf v, float s, float b, int relu) {
    v = vfmaq_f32(vdupq_n_f32(b), v, vdupq_n_f32(s));
    return relu ? q8n_relu(v) : v;
}
#define pw_store simd4_store
static void pw_pack(const pw_args *q, int32_t *panel, int g, int p0, int n) { q8n_pack_pointwise(q, panel, g, p0, n, 2); }
#include "pointwise.h"

void cnm_pointwise_q8_neon(const cnm_q8_args *q) { pw_run(q); }
#endif
