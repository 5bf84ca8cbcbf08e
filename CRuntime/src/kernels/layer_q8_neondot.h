/* The layer of int8 aarch64 with the dot-product extension (Armv8.2+: Cortex-A55, A76, Pi 5):
 * what the kernels written once (direct.h, pointwise.h) need of this ISA and data type. Words are
 * 4 consecutive input channels as signed bytes s = q + zp - 128; per word one 16-byte load holds
 * a block of 4 outputs' weights (the dot layout of pack_q8.c), and `sdot` by element adds 4 byte
 * products per lane for output r. The sum of s * w differs from that of q * w by
 * (zp - 128) * sum(w), added back exactly from the wsum table. */
#ifndef CNM_LAYER_Q8_NEONDOT_H
#define CNM_LAYER_Q8_NEONDOT_H
#include "q8_neon.h"

#if defined(__aarch64__)

#define LY_TARGET CNM_DOTPROD
#define LY_L 4
#define LY_Q8 1
#define LY_DOT_LAYOUT 1
#define LY_PADDED_MR 1
#define LY_WORDS(cin_g) (((cin_g) + 3) / 4)
typedef int32x4_t ly_acc;
typedef int8x16_t ly_xv, ly_wt;
typedef float32x4_t ly_vf;
static inline ly_xv ly_load(const int32_t *p) { return vreinterpretq_s8_s32(vld1q_s32(p)); }
static inline ly_wt ly_wt_load(const int32_t *p) { return vld1q_s8((const int8_t *)(const void *)p); }
/* lane r of the block: output r's 4 weights (r is a constant once the tile is unrolled) */
CNM_DOTPROD static inline ly_acc ly_mac(ly_acc acc, ly_xv x, ly_wt w, const int32_t *p, int r, size_t wr) {
    (void)p, (void)wr;
    switch (r) {
    case 0: return vdotq_laneq_s32(acc, x, w, 0);
    case 1: return vdotq_laneq_s32(acc, x, w, 1);
    case 2: return vdotq_laneq_s32(acc, x, w, 2);
    default: return vdotq_laneq_s32(acc, x, w, 3);
    }
}
static inline ly_acc ly_acc_init(const float *bias, int o) { (void)bias, (void)o; return vdupq_n_s32(0); }
/* the exact epilogue of kernels.h */
static inline ly_vf ly_finish(ly_acc acc, const float *bias, const float *mult, const int32_t *wsum, int zp, int o) {
    const int32x4_t corr = vdupq_n_s32((128 - zp) * wsum[o]);
    return vfmaq_f32(vdupq_n_f32(bias ? bias[o] : 0.0f), vcvtq_f32_s32(vaddq_s32(acc, corr)), vdupq_n_f32(mult[o]));
}
#define LY_SIMD simd4
#include "layer.h"
#endif
#endif
