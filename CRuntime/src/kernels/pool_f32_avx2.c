/* Max and average pooling, fp32, avx2: pool.h on layer_f32_avx2.h. */
#include "layer_f32_avx2.h"

#if defined(__x86_64__)
#include "pool.h"

void cnm_maxpool_f32_avx2(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t stride) {
    pool_max(s, in, out, scratch, stride);
}
void cnm_avgpool_f32_avx2(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t stride) {
    pool_avg(s, in, out, scratch, stride);
}
void cnm_channel_avg_f32_avx2(const cnm_pool_shape *s, const float *in, float *out, const float *scale, const float *shift, int relu) {
    pool_global_avg(s, in, out, 1, scale, shift, relu);
}
#endif
