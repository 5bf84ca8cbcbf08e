/* Direct KxK convolution, fp32, AVX2 + FMA: the layer of direct.h. Slots of 8 floats, 2 slots per
 * item (4 when the block has at most 2 output channels and the map is wider than 16: 8
 * accumulators either way); per tap, a broadcast weight feeds one FMA per slot. */
#include "direct_layout.h"
#include "simd_x86.h"

#if defined(__x86_64__)
#define DK_TARGET CNM_AVX2
#define DK_L 8
#define DK_HALF 0
#define DK_S 2
#define DK_S_WIDE 4
#define DK_PADDED_MR 0
#define DK_DOT_LAYOUT 0
#define DK_WORDS(cin_g) (cin_g)
#define DK_WEIGHTS(a) ((const int32_t *)(const void *)(a)->w)
typedef __m256 dk_acc, dk_xv, dk_vf;
typedef int dk_wt;
CNM_AVX2 static inline dk_xv dk_load(const int32_t *p) { return _mm256_loadu_ps((const float *)(const void *)p); }
CNM_AVX2 static inline dk_wt dk_wt_load(const int32_t *p) { (void)p; return 0; }
CNM_AVX2 static inline dk_acc dk_mac(dk_acc acc, dk_xv x, dk_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    return _mm256_fmadd_ps(_mm256_broadcast_ss((const float *)(const void *)p + (size_t)r * wr), x, acc);
}
CNM_AVX2 static inline dk_acc dk_acc_init(const cnm_direct_args *a, int o) { return _mm256_set1_ps(a->bias ? a->bias[o] : 0.0f); }
CNM_AVX2 static inline dk_vf dk_finish(dk_acc acc, const cnm_direct_args *a, int o) { (void)a; (void)o; return acc; }
#define dk_relu simd8_relu
#define dk_store simd8_store
static void dk_pack(const cnm_direct_args *a) { cnm_direct_pack(a->s, a->in, a->pad); }
#include "direct.h"

void cnm_conv2d_direct_f32_avx2(const cnm_direct_args *a) { dk_run(a); }
#endif
