/* Max pooling, fp32, avx512: pool.h on layer_f32_avx512.h. The average pools of the AVX-512
 * tables are the AVX2 ones: the maps they average (DenseNet transitions 16 and 8 outputs wide,
 * global pools) fill 8 lanes better than 16 (measured, 2x2 stride 2, one thread: 128x32x32
 * 15.6 us with 8 lanes, 13.4 with 16; 256x16x16 10.4 / 21.7; global 512x8x8 2.2 / 3.3). */
#include "layer_f32_avx512.h"

#if defined(__x86_64__)
#include "pool.h"

void cnm_maxpool_f32_avx512(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t stride) {
    pool_max(s, in, out, scratch, stride);
}
#endif
