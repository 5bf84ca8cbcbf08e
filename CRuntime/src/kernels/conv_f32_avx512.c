/* Direct KxK convolution, fp32, AVX-512F: the layer of direct.h. Slots of 16 floats (two rows of
 * 8 for maps at most 8 wide), 4 slots per item: with 4 output channels, 16 independent FMA
 * chains per tap for 4 loads and 4 broadcasts (2 slots measured 3.5% slower on the ImageNet
 * CondenseNet, the same on CondenseNet-86). */
#include "direct_layout.h"
#include "simd_x86.h"

#if defined(__x86_64__)
#define DK_TARGET CNM_AVX512
#define DK_L 16
#define DK_HALF 1
#define DK_S 4
#define DK_S_WIDE 4
#define DK_PADDED_MR 0
#define DK_DOT_LAYOUT 0
#define DK_WORDS(cin_g) (cin_g)
#define DK_WEIGHTS(a) ((const int32_t *)(const void *)(a)->w)
typedef __m512 dk_acc, dk_xv, dk_vf;
typedef int dk_wt;
CNM_AVX512 static inline dk_xv dk_load(const int32_t *p) { return _mm512_loadu_ps((const void *)p); }
CNM_AVX512 static inline dk_xv dk_load_half(const int32_t *p0, const int32_t *p1) {
    return _mm512_castsi512_ps(simd16_load_two(p0, p1));
}
CNM_AVX512 static inline dk_wt dk_wt_load(const int32_t *p) { (void)p; return 0; }
CNM_AVX512 static inline dk_acc dk_mac(dk_acc acc, dk_xv x, dk_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    return _mm512_fmadd_ps(_mm512_set1_ps(((const float *)(const void *)p)[(size_t)r * wr]), x, acc);
}
CNM_AVX512 static inline dk_acc dk_acc_init(const cnm_direct_args *a, int o) { return _mm512_set1_ps(a->bias ? a->bias[o] : 0.0f); }
CNM_AVX512 static inline dk_vf dk_finish(dk_acc acc, const cnm_direct_args *a, int o) { (void)a; (void)o; return acc; }
#define dk_relu simd16_relu
#define dk_store simd16_store
#define dk_store_half simd16_store_two
static void dk_pack(const cnm_direct_args *a) { cnm_direct_pack(a->s, a->in, a->pad); }
#include "direct.h"

void cnm_conv2d_direct_f32_avx512(const cnm_direct_args *a) { dk_run(a); }
#endif
