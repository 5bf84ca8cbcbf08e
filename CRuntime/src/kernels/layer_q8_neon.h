/* The layer of int8 NEON baseline (aarch64 Armv8.0, no dot product: Cortex-A53/A72, Pi 3/Pi 4):
 * what the kernels written once (direct.h, pointwise.h) need of this ISA and data type. Words
 * and weights are those of the dot-product layer (layer_q8_neondot.h): 4 consecutive input
 * channels as signed bytes s = q + zp - 128, a block of 4 outputs' weights per 16-byte load.
 * Without sdot, output r's 4 weights are broadcast (dup by lane), smull / smull2 multiply the 16
 * signed bytes of 4 pixels by them into 16 int16 products (|s * w| <= 128 * 127, no overflow),
 * and sadalp adds adjacent pairs of products into int32: 4 instructions for 16 multiply-adds
 * where widening the inputs to int16 pairs took 4 for 8. The accumulator is two vectors of pair
 * sums (pixels 0-1 and 2-3, two lanes each); the epilogue adds the pairs (addp) and the exact
 * (zp - 128) * sum(w) correction from the wsum table: bit-identical to the reference. */
#ifndef CNM_LAYER_Q8_NEON_H
#define CNM_LAYER_Q8_NEON_H
#include "q8_neon.h"

#if defined(__aarch64__)

#define LY_TARGET
#define LY_L 4
#define LY_Q8 1
#define LY_DOT_LAYOUT 1
#define LY_PADDED_MR 1
#define LY_WORDS(cin_g) (((cin_g) + 3) / 4)
typedef struct { int32x4_t lo, hi; } ly_acc; /* lo: pixels 0, 1 (two pair sums each); hi: 2, 3 */
typedef int8x16_t ly_xv, ly_wt;
typedef float32x4_t ly_vf;
static inline ly_xv ly_load(const int32_t *p) { return vreinterpretq_s8_s32(vld1q_s32(p)); }
static inline ly_wt ly_wt_load(const int32_t *p) { return vld1q_s8((const int8_t *)(const void *)p); }
static inline int8x16_t ly_wt_lane(ly_wt w, int r) {
    const int32x4_t v = vreinterpretq_s32_s8(w);
    switch (r) { /* r is a constant once the tile is unrolled */
    case 0: return vreinterpretq_s8_s32(vdupq_laneq_s32(v, 0));
    case 1: return vreinterpretq_s8_s32(vdupq_laneq_s32(v, 1));
    case 2: return vreinterpretq_s8_s32(vdupq_laneq_s32(v, 2));
    default: return vreinterpretq_s8_s32(vdupq_laneq_s32(v, 3));
    }
}
/* lane r of the block: output r's 4 weights, times the 4 channels of 4 pixels */
static inline ly_acc ly_mac(ly_acc acc, ly_xv x, ly_wt w, const int32_t *p, int r, size_t wr) {
    (void)p, (void)wr;
    const int8x16_t wr4 = ly_wt_lane(w, r);
    acc.lo = vpadalq_s16(acc.lo, vmull_s8(vget_low_s8(x), vget_low_s8(wr4)));
    acc.hi = vpadalq_s16(acc.hi, vmull_high_s8(x, wr4));
    return acc;
}
static inline ly_acc ly_acc_init(const float *bias, int o) {
    (void)bias, (void)o;
    return (ly_acc){vdupq_n_s32(0), vdupq_n_s32(0)};
}
/* the exact epilogue of kernels.h */
static inline ly_vf ly_finish(ly_acc acc, const float *bias, const float *mult, const int32_t *wsum, int zp, int o) {
    const int32x4_t sum = vaddq_s32(vpaddq_s32(acc.lo, acc.hi), vdupq_n_s32((128 - zp) * wsum[o]));
    return vfmaq_f32(vdupq_n_f32(bias ? bias[o] : 0.0f), vcvtq_f32_s32(sum), vdupq_n_f32(mult[o]));
}
#define LY_SIMD simd4
#include "layer.h"
#endif
#endif
