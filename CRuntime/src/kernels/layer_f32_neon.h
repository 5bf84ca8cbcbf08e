/* The layer of fp32 NEON (aarch64): what the kernels written once (direct.h, pointwise.h)
 * need of this ISA and data type. Words are floats; a weight is broadcast from its word; the
 * accumulator starts at the bias and is the result. */
#ifndef CNM_LAYER_F32_NEON_H
#define CNM_LAYER_F32_NEON_H
#include "kernels.h"
#include "simd_neon.h"

#if defined(__aarch64__)

#define LY_TARGET
#define LY_L 4
#define LY_Q8 0
#define LY_DOT_LAYOUT 0
#define LY_PADDED_MR 0
#define LY_WORDS(cin_g) (cin_g)
#define LY_WEIGHTS(a) ((const int32_t *)(const void *)(a)->w) /* [cout][cin_g][kh*kw] */
typedef float32x4_t ly_acc, ly_xv, ly_vf;
typedef int ly_wt;
LY_TARGET static inline ly_xv ly_load(const int32_t *p) { return vld1q_f32((const float *)(const void *)p); }
LY_TARGET static inline ly_wt ly_wt_load(const int32_t *p) { (void)p; return 0; }
LY_TARGET static inline ly_acc ly_mac(ly_acc acc, ly_xv x, ly_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    return vfmaq_f32(acc, vld1q_dup_f32((const float *)(const void *)p + (size_t)r * wr), x);
}
LY_TARGET static inline ly_acc ly_acc_init(const float *bias, int o) { return vdupq_n_f32(bias ? bias[o] : 0.0f); }
LY_TARGET static inline ly_vf ly_finish(ly_acc acc, const float *bias, const float *mult, const int32_t *wsum, int zp, int o) {
    (void)bias, (void)mult, (void)wsum, (void)zp, (void)o;
    return acc;
}
/* the max pool's step, as the reference takes it: v where v > m or v is NaN, else m (fmax would
 * make -0 and +0 the larger, not the first) */
static inline ly_vf ly_maxnan(ly_vf m, ly_vf v) {
    const uint32x4_t take = vorrq_u32(vcgtq_f32(v, m), vmvnq_u32(vceqq_f32(v, v)));
    return vbslq_f32(take, v, m);
}
#define LY_SIMD simd4
#include "layer.h"
#endif
#endif
