/* The layer of fp32 AVX2 + FMA (x86-64): what the kernels written once (direct.h, pointwise.h)
 * need of this ISA and data type. Words are floats; a weight is broadcast from its word; the
 * accumulator starts at the bias and is the result.
 *
 * Every layer_<dtype>_<isa>.h defines the same names:
 *   LY_TARGET (the function attribute of the ISA), LY_L (lanes: words per vector), LY_Q8 (0/1:
 *   the arguments are cnm_q8_args), LY_DOT_LAYOUT (0/1: weights in the dot layout of
 *   cnm_q8_pack_dot, else rows of LY_WORDS words per output from LY_WEIGHTS(args) with the taps
 *   innermost), LY_PADDED_MR (0/1: weights zero-padded to blocks of 4 outputs), LY_WORDS(cin_g)
 *   (32-bit words per pixel of a group);
 *   types ly_acc (accumulator), ly_xv (LY_L words), ly_wt (one load of a tap's weights), ly_vf
 *   (LY_L float results);
 *   ly_load(p): LY_L words; ly_wt_load(p): the tap's weights, p = output 0's word;
 *   ly_mac(acc, x, wt, p, r, wr): acc plus x times output r's weight (word p[r * wr], or lane r
 *   of wt); ly_acc_init(bias, o): the accumulator of output o before any tap (fp32: the bias);
 *   ly_finish(acc, bias, mult, wsum, zp, o): the float result of output o (int8: the exact
 *   epilogue of kernels.h); LY_SIMD, the vector width's helpers (simd_x86.h, simd_neon.h) that
 *   layer.h names ly_relu(v), ly_clamp(v, lo, hi) (a fused CLIP), ly_store(y, v, n) (the first n
 *   lanes, none for n <= 0) and ly_post(v, scale, shift, relu) (the pointwise post BatchNorm and
 *   ReLU). The fp32 layers also
 *   define ly_maxnan(m, v), the max pool's step. */
#ifndef CNM_LAYER_F32_AVX2_H
#define CNM_LAYER_F32_AVX2_H
#include "kernels.h"
#include "simd_x86.h"

#if defined(__x86_64__)

#define LY_TARGET CNM_AVX2
#define LY_L 8
#define LY_Q8 0
#define LY_DOT_LAYOUT 0
#define LY_PADDED_MR 0
#define LY_WORDS(cin_g) (cin_g)
#define LY_WEIGHTS(a) ((const int32_t *)(const void *)(a)->w) /* [cout][cin_g][kh*kw] */
typedef __m256 ly_acc, ly_xv, ly_vf;
typedef int ly_wt;
LY_TARGET static inline ly_xv ly_load(const int32_t *p) { return _mm256_loadu_ps((const float *)(const void *)p); }
LY_TARGET static inline ly_wt ly_wt_load(const int32_t *p) { (void)p; return 0; }
LY_TARGET static inline ly_acc ly_mac(ly_acc acc, ly_xv x, ly_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    return _mm256_fmadd_ps(_mm256_broadcast_ss((const float *)(const void *)p + (size_t)r * wr), x, acc);
}
LY_TARGET static inline ly_acc ly_acc_init(const float *bias, int o) { return _mm256_set1_ps(bias ? bias[o] : 0.0f); }
LY_TARGET static inline ly_vf ly_finish(ly_acc acc, const float *bias, const float *mult, const int32_t *wsum, int zp, int o) {
    (void)bias, (void)mult, (void)wsum, (void)zp, (void)o;
    return acc;
}
/* the max pool's step, as the reference takes it: v where v > m or v is NaN, else m (NaN stays,
 * the first of equal values stays: -0 before +0) */
LY_TARGET static inline ly_vf ly_maxnan(ly_vf m, ly_vf v) {
    return _mm256_blendv_ps(_mm256_max_ps(v, m), v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}
#define LY_SIMD simd8
#include "layer.h"
#endif
#endif
