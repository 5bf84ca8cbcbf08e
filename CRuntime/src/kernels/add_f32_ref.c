/* Element-wise addition, fp32 (ResNet's residual connection), portable: the loop is simple
 * enough that the compiler's vectoriser is the SIMD path. */
#include "kernels.h"

void cnm_add_f32_ref(const float *a, const float *b, float *out, size_t n, int relu) {
    const long long len = (long long)n;
#pragma omp for schedule(static)
    for (long long i = 0; i < len; i++) {
        const float s = a[i] + b[i];
        out[i] = (relu && s < 0.0f) ? 0.0f : s;
    }
}
