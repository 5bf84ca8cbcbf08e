/* Max and average pooling, fp32, neon: pool.h on layer_f32_neon.h; horizontal strides past 2
 * take the reference. */
#include "layer_f32_neon.h"

#if defined(__aarch64__)
#include "pool.h"

void cnm_maxpool_f32_neon(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t scratch_stride) {
    if (pool_inside(s)) pool_in_place(s, in, out, 0);
    else if (s->sw > 2) cnm_maxpool_f32_ref(s, in, out);
    else pool_run(s, in, out, scratch, scratch_stride, 0);
}

void cnm_avgpool_f32_neon(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t scratch_stride) {
    if (pool_is_global(s)) pool_global_avg(s, in, out);
    else if (pool_inside(s)) pool_in_place(s, in, out, 1);
    else if (s->sw > 2) cnm_avgpool_f32_ref(s, in, out);
    else pool_run(s, in, out, scratch, scratch_stride, 1);
}
#endif
