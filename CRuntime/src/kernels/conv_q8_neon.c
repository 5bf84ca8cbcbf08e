/* Direct KxK convolution (stride 1 or 2), int8, aarch64 NEON baseline. The input is quantised once
 * into the zero-bordered copy of int16 channel pairs of the AVX2 kernel; then the micro-kernel of
 * direct.h (4 slots of 4 pixels x up to 4 outputs) with smull/smull2 + addp against weight pairs:
 * exact, and bit-identical to conv_q8_ref.c. */
#include "q8_neon.h"

#if defined(__aarch64__)
#define DK_TARGET
#define DK_L 4
#define DK_HALF 0
#define DK_S 4
#define DK_S_WIDE 4
#define DK_PADDED_MR 0
#define DK_DOT_LAYOUT 0
#define DK_WORDS(cin_g) (((cin_g) + 1) / 2)
#define DK_WEIGHTS(a) ((a)->wpairs)
typedef int32x4_t dk_acc, dk_xv;
typedef float32x4_t dk_vf;
typedef int dk_wt;
static inline dk_xv dk_load(const int32_t *p) { return vld1q_s32(p); }
static inline dk_wt dk_wt_load(const int32_t *p) { (void)p; return 0; }
static inline dk_acc dk_mac(dk_acc acc, dk_xv x, dk_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    const int16x8_t xs = vreinterpretq_s16_s32(x), ws = vreinterpretq_s16_s32(vdupq_n_s32(p[(size_t)r * wr]));
    return vaddq_s32(acc, vpaddq_s32(vmull_s16(vget_low_s16(xs), vget_low_s16(ws)), vmull_high_s16(xs, ws)));
}
static inline dk_acc dk_acc_init(const cnm_direct_args *a, int o) { (void)a; (void)o; return vdupq_n_s32(0); }
static inline dk_vf dk_finish(dk_acc acc, const cnm_direct_args *a, int o) {
    return vfmaq_f32(vdupq_n_f32(a->bias ? a->bias[o] : 0.0f), vcvtq_f32_s32(acc), vdupq_n_f32(a->mult[o]));
}
#define dk_relu simd4_relu
#define dk_store simd4_store
static void dk_pack(const cnm_direct_args *a) { q8n_pack_direct(a->s, a->in, a->inv_scale, a->zp, a->pad, 2); }
#include "direct.h"

void cnm_conv2d_direct_q8_neon(const cnm_direct_args *a) { dk_run(a); }
#endif
