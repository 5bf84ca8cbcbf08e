/* The layer of fp32 AVX-512F (x86-64): what the kernels written once (direct.h, pointwise.h)
 * need of this ISA and data type. Words are floats; a weight is broadcast from its word; the
 * accumulator starts at the bias and is the result. */
#ifndef CNM_LAYER_F32_AVX512_H
#define CNM_LAYER_F32_AVX512_H
#include "kernels.h"
#include "simd_x86.h"

#if defined(__x86_64__)

#define LY_TARGET CNM_AVX512
#define LY_L 16
#define LY_Q8 0
#define LY_DOT_LAYOUT 0
#define LY_PADDED_MR 0
#define LY_WORDS(cin_g) (cin_g)
#define LY_WEIGHTS(a) ((const int32_t *)(const void *)(a)->w) /* [cout][cin_g][kh*kw] */
typedef __m512 ly_acc, ly_xv, ly_vf;
typedef int ly_wt;
LY_TARGET static inline ly_xv ly_load(const int32_t *p) { return _mm512_loadu_ps((const void *)p); }
LY_TARGET static inline ly_wt ly_wt_load(const int32_t *p) { (void)p; return 0; }
LY_TARGET static inline ly_acc ly_mac(ly_acc acc, ly_xv x, ly_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    return _mm512_fmadd_ps(_mm512_set1_ps(((const float *)(const void *)p)[(size_t)r * wr]), x, acc);
}
LY_TARGET static inline ly_acc ly_acc_init(const float *bias, int o) { return _mm512_set1_ps(bias ? bias[o] : 0.0f); }
LY_TARGET static inline ly_vf ly_finish(ly_acc acc, const float *bias, const float *mult, const int32_t *wsum, int zp, int o) {
    (void)bias, (void)mult, (void)wsum, (void)zp, (void)o;
    return acc;
}
/* the max pool's step, as the reference takes it: v where v > m or v is NaN, else m */
LY_TARGET static inline ly_vf ly_maxnan(ly_vf m, ly_vf v) {
    return _mm512_mask_mov_ps(_mm512_max_ps(v, m), _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v);
}
#define LY_SIMD simd16
#include "layer.h"
#endif
#endif
