/* The layer of int8 NEON baseline (aarch64 Armv8.0: Cortex-A53/A72, Pi 4): what the kernels written
 * once (direct.h, pointwise.h) need of this ISA and data type. Words are int16 pairs of
 * consecutive input channels (the layout of the AVX2 layer); smull/smull2 multiply 4 pixels' pairs
 * by a weight pair and addp adds the two products: exact int32 sums. */
#ifndef CNM_LAYER_Q8_NEON_H
#define CNM_LAYER_Q8_NEON_H
#include "q8_neon.h"

#if defined(__aarch64__)

#define LY_TARGET
#define LY_L 4
#define LY_Q8 1
#define LY_DOT_LAYOUT 0
#define LY_PADDED_MR 0
#define LY_WORDS(cin_g) (((cin_g) + 1) / 2)
#define LY_WEIGHTS(a) ((a)->wpairs) /* cnm_q8_pack_pairs */
typedef int32x4_t ly_acc, ly_xv;
typedef float32x4_t ly_vf;
typedef int ly_wt;
static inline ly_xv ly_load(const int32_t *p) { return vld1q_s32(p); }
static inline ly_wt ly_wt_load(const int32_t *p) { (void)p; return 0; }
/* x: 4 pixels of one pair; the weight pair in every 32-bit lane */
static inline ly_acc ly_mac(ly_acc acc, ly_xv x, ly_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    const int16x8_t xs = vreinterpretq_s16_s32(x), ws = vreinterpretq_s16_s32(vdupq_n_s32(p[(size_t)r * wr]));
    return vaddq_s32(acc, vpaddq_s32(vmull_s16(vget_low_s16(xs), vget_low_s16(ws)), vmull_high_s16(xs, ws)));
}
static inline ly_acc ly_acc_init(const float *bias, int o) { (void)bias, (void)o; return vdupq_n_s32(0); }
/* the exact epilogue of kernels.h */
static inline ly_vf ly_finish(ly_acc acc, const float *bias, const float *mult, const int32_t *wsum, int zp, int o) {
    (void)wsum, (void)zp;
    return vfmaq_f32(vdupq_n_f32(bias ? bias[o] : 0.0f), vcvtq_f32_s32(acc), vdupq_n_f32(mult[o]));
}
#define LY_SIMD simd4
#include "layer.h"
#endif
#endif
