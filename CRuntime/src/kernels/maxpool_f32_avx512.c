/* Max pooling, fp32, avx512: maxpool.h on layer_f32_avx512.h; horizontal strides past 2 take the
 * reference. */
#include "layer_f32_avx512.h"

#if defined(__x86_64__)
#include "maxpool.h"

void cnm_maxpool_f32_avx512(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t scratch_stride) {
    if (s->sw > 2) cnm_maxpool_f32_ref(s, in, out);
    else mp_run(s, in, out, scratch, scratch_stride);
}
#endif
