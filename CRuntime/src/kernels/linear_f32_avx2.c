/* Fully connected layer, fp32, AVX2 + FMA. With an index, the gathered features are packed
 * once (by one thread, into shared scratch) before the rows are split between threads; each
 * row is a dot product over four 8-wide accumulators. */
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 void cnm_linear_f32_avx2(const float *x, const float *weight, const float *bias, const int32_t *index,
                              float *out, int n, int k, int relu, float *packed) {
    if (index) {
#pragma omp single
        for (int j = 0; j < k; j++) packed[j] = x[index[j]];
        x = packed;
    }
#pragma omp for schedule(static)
    for (int i = 0; i < n; i++) {
        const float *w = weight + (size_t)i * k;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int j = 0;
        for (; j + 32 <= k; j += 32) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + j), _mm256_loadu_ps(x + j), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + j + 8), _mm256_loadu_ps(x + j + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + j + 16), _mm256_loadu_ps(x + j + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + j + 24), _mm256_loadu_ps(x + j + 24), a3);
        }
        for (; j + 8 <= k; j += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + j), _mm256_loadu_ps(x + j), a0);
        __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_movehdup_ps(h));
        float v = _mm_cvtss_f32(h) + (bias ? bias[i] : 0.0f);
        for (; j < k; j++) v += w[j] * x[j];
        out[i] = (relu && v < 0.0f) ? 0.0f : v;
    }
}
#else
void cnm_linear_f32_avx2(const float *x, const float *weight, const float *bias, const int32_t *index,
                         float *out, int n, int k, int relu, float *packed) {
    (void)packed;
    cnm_linear_f32_ref(x, weight, bias, index, out, n, k, relu);
}
#endif
