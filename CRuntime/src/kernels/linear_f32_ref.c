/* Fully connected layer with an optional input index (CondenseNet's condensed
 * classifier), fp32, portable scalar reference. */
#include "kernels.h"

void cnm_linear_f32_ref(const float *x, const float *weight, const float *bias,
                        const int32_t *index, float *out, int n, int k, int relu) {
#pragma omp for schedule(static)
    for (int i = 0; i < n; i++) {
        const float *w = weight + (size_t)i * k;
        float s = bias ? bias[i] : 0.0f;
        if (index)
            for (int j = 0; j < k; j++) s += w[j] * x[index[j]];
        else
            for (int j = 0; j < k; j++) s += w[j] * x[j];
        out[i] = (relu && s < 0.0f) ? 0.0f : s;
    }
}
