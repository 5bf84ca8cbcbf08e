/* Direct KxK convolution, fp32, AVX-512F: direct.h on its layer. Slots of 16 floats (two rows of
 * 8 for maps at most 8 wide), 4 slots per item: with 4 output channels, 16 independent FMA
 * chains per tap for 4 loads and 4 broadcasts (2 slots measured 3.5% slower on the ImageNet
 * CondenseNet, the same on CondenseNet-86). */
#include "layer_f32_avx512.h"
#include "direct_layout.h"

#if defined(__x86_64__)
#define DK_HALF 1
#define DK_S 4
#define DK_S_WIDE 4
CNM_AVX512 static inline ly_xv dk_load_half(const int32_t *p0, const int32_t *p1) {
    return _mm512_castsi512_ps(simd16_load_two(p0, p1));
}
#define dk_store_half simd16_store_two
static void dk_pack(const cnm_direct_args *a) { cnm_direct_pack(a->s, a->in, a->pad); }
#include "direct.h"

void cnm_conv2d_direct_f32_avx512(const cnm_direct_args *a) { dk_run(a); }
#endif
