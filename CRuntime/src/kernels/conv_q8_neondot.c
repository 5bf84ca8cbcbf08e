/* Direct KxK convolution (stride 1 or 2), int8, aarch64 with the dot-product extension. The input
 * is quantised once into a zero-bordered copy of words of 4 consecutive input channels as signed
 * bytes s = q + zp - 128 (the border is the word of q = 0); then the micro-kernel of direct.h,
 * where per tap one 16-byte load holds the 4 outputs' weights and `sdot` by element adds 4 byte
 * products per lane, 4 slots of 4 pixels x 4 outputs. (128 - zp) * sum(w) restores the sum of
 * q * w exactly: bit-identical to conv_q8_ref.c. */
#include "q8_neon.h"

#if defined(__aarch64__)
#define DK_TARGET CNM_DOTPROD
#define DK_L 4
#define DK_HALF 0
#define DK_S 4
#define DK_S_WIDE 4
#define DK_PADDED_MR 1
#define DK_DOT_LAYOUT 1
#define DK_WORDS(cin_g) (((cin_g) + 3) / 4)
typedef int32x4_t dk_acc;
typedef int8x16_t dk_xv, dk_wt;
typedef float32x4_t dk_vf;
static inline dk_xv dk_load(const int32_t *p) { return vreinterpretq_s8_s32(vld1q_s32(p)); }
static inline dk_wt dk_wt_load(const int32_t *p) { return vld1q_s8((const int8_t *)(const void *)p); }
/* lane r of the tap's weights: output r's 4 weights (r is a constant once dk_tile is unrolled) */
CNM_DOTPROD static inline dk_acc dk_mac(dk_acc acc, dk_xv x, dk_wt w, const int32_t *p, int r, size_t wr) {
    (void)p;
    (void)wr;
    switch (r) {
    case 0: return vdotq_laneq_s32(acc, x, w, 0);
    case 1: return vdotq_laneq_s32(acc, x, w, 1);
    case 2: return vdotq_laneq_s32(acc, x, w, 2);
    default: return vdotq_laneq_s32(acc, x, w, 3);
    }
}
static inline dk_acc dk_acc_init(const cnm_direct_args *a, int o) { (void)a; (void)o; return vdupq_n_s32(0); }
static inline dk_vf dk_finish(dk_acc acc, const cnm_direct_args *a, int o) {
    const int32x4_t corr = vdupq_n_s32((128 - a->zp) * a->wsum[o]);
    return vfmaq_f32(vdupq_n_f32(a->bias ? a->bias[o] : 0.0f), vcvtq_f32_s32(vaddq_s32(acc, corr)), vdupq_n_f32(a->mult[o]));
}
#define dk_relu simd4_relu
#define dk_store simd4_store
static void dk_pack(const cnm_direct_args *a) { q8n_pack_direct(a->s, a->in, a->inv_scale, a->zp, a->pad, 4); }
#include "direct.h"

void cnm_conv2d_direct_q8_neondot(const cnm_direct_args *a) { dk_run(a); }
#endif
