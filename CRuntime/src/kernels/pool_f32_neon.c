/* Max and average pooling, fp32, neon: pool.h on layer_f32_neon.h. */
#include "layer_f32_neon.h"

#if defined(__aarch64__)
#include "pool.h"

void cnm_maxpool_f32_neon(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t stride) {
    pool_max(s, in, out, scratch, stride);
}
void cnm_avgpool_f32_neon(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t stride) {
    pool_avg(s, in, out, scratch, stride);
}
void cnm_channel_avg_f32_neon(const cnm_pool_shape *s, const float *in, float *out, const float *scale, const float *shift, int relu) {
    pool_global_avg(s, in, out, 1, scale, shift, relu);
}
#endif
