/* The layer of fp16 NEON (aarch64 with Armv8.2 FP16 arithmetic: Cortex-A55/A75/A76, the Pi 5):
 * what the kernels written once (direct.h, pointwise.h) need of this ISA and data type. A word is
 * a pair of binary16 values of consecutive input channels (the int16-pairs geometry of the AVX2
 * int8 layer, layer_q8_avx2.h): a q-register holds 4 pixels x 2 channels, a weight pair is
 * replicated from its word (ld1r .4s), and one fmla .8h makes 8 products and sums in binary16.
 * Each accumulator lane holds one pixel's sum over even or odd channels; the epilogue adds the
 * two (faddp .8h), widens the sums to fp32 and adds the bias in fp32. Not exact: the kernel tester bounds
 * the difference from the fp32 reference. */
#ifndef CNM_LAYER_F16_NEON_H
#define CNM_LAYER_F16_NEON_H
#include "kernels.h"
#include "simd_neon.h"

#if defined(__aarch64__)
#if defined(__clang__)
#define CNM_FP16 __attribute__((target("fullfp16")))
#else
#define CNM_FP16 __attribute__((target("arch=armv8.2-a+fp16")))
#endif

#define LY_TARGET CNM_FP16
#define LY_L 4
#define LY_Q8 0
#define LY_DOT_LAYOUT 0
#define LY_PADDED_MR 0
#define LY_WORDS(cin_g) (((cin_g) + 1) / 2)
#define LY_WEIGHTS(a) ((a)->wh) /* cnm_f16_pack_pairs: [cout][pairs][kh*kw] */
typedef float16x8_t ly_acc, ly_xv;
typedef float32x4_t ly_vf;
typedef int ly_wt;
LY_TARGET static inline ly_xv ly_load(const int32_t *p) { return vld1q_f16((const __fp16 *)(const void *)p); }
LY_TARGET static inline ly_wt ly_wt_load(const int32_t *p) { (void)p; return 0; }
LY_TARGET static inline ly_acc ly_mac(ly_acc acc, ly_xv x, ly_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    return vfmaq_f16(acc, x, vreinterpretq_f16_u32(vld1q_dup_u32((const uint32_t *)(const void *)(p + (size_t)r * wr))));
}
LY_TARGET static inline ly_acc ly_acc_init(const float *bias, int o) { (void)bias, (void)o; return vdupq_n_f16(0); }
LY_TARGET static inline ly_vf ly_finish(ly_acc acc, const float *bias, const float *mult, const int32_t *wsum, int zp, int o) {
    (void)mult, (void)wsum, (void)zp;
    const float32x4_t sum = vcvt_f32_f16(vget_low_f16(vpaddq_f16(acc, acc))); /* pixels 0-3: the pairs' sums */
    return vaddq_f32(sum, vdupq_n_f32(bias ? bias[o] : 0.0f));
}
/* 4 floats as binary16 into the low and high halves of pixel-pair words: channel a in the low
 * half of each word, channel b in the high half (4 pixels, 4 words) */
LY_TARGET static inline float16x8_t f16n_pairs(float32x4_t a, float32x4_t b) {
    const float16x4_t ha = vcvt_f16_f32(a), hb = vcvt_f16_f32(b);
    return vcombine_f16(vzip1_f16(ha, hb), vzip2_f16(ha, hb));
}
#define LY_SIMD simd4
#include "layer.h"
#endif
#endif
