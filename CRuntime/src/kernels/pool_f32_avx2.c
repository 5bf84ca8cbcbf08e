/* Average pooling, fp32, AVX2: the 2x2 stride-2 transition of DenseNets (sum two rows, then
 * add adjacent pairs) and the global average pool (16 lanes of partial sums per channel); other
 * windows use the reference. */
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 void cnm_avgpool_f32_avx2(const cnm_pool_shape *sp, const float *in, float *out) {
    const int c = sp->c, ih = sp->ih, iw = sp->iw, oh = sp->oh, ow = sp->ow, kh = sp->kh, kw = sp->kw;
    const int sh = sp->sh, sw = sp->sw, ph = sp->ph, pw = sp->pw, relu = sp->relu;
    if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0) {
        const __m256 q = _mm256_set1_ps(0.25f), z = _mm256_setzero_ps();
#pragma omp for schedule(static)
        for (int ch = 0; ch < c; ch++) {
            for (int oy = 0; oy < oh; oy++) {
                const float *r0 = in + ((size_t)ch * ih + 2 * oy) * iw, *r1 = r0 + iw;
                float *y = out + ((size_t)ch * oh + oy) * ow;
                int ox = 0;
                for (; ox + 8 <= ow && 2 * ox + 16 <= iw; ox += 8) {
                    __m256 a = _mm256_add_ps(_mm256_loadu_ps(r0 + 2 * ox), _mm256_loadu_ps(r1 + 2 * ox));
                    __m256 b = _mm256_add_ps(_mm256_loadu_ps(r0 + 2 * ox + 8), _mm256_loadu_ps(r1 + 2 * ox + 8));
                    /* pairwise sums: hadd works per 128-bit lane, fix the lane order after */
                    __m256 s = _mm256_hadd_ps(a, b);
                    s = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), 0xD8));
                    s = _mm256_mul_ps(s, q);
                    if (relu) s = _mm256_max_ps(s, z);
                    _mm256_storeu_ps(y + ox, s);
                }
                for (; ox < ow; ox++) {
                    float v = 0.25f * ((r0[2 * ox] + r0[2 * ox + 1]) + (r1[2 * ox] + r1[2 * ox + 1]));
                    y[ox] = (relu && v < 0.0f) ? 0.0f : v;
                }
            }
        }
        return;
    }
    if (oh == 1 && ow == 1 && kh == ih && kw == iw && ph == 0 && pw == 0) { /* global average pool */
        const int n = ih * iw;
        const float inv = 1.0f / (float)n;
#pragma omp for schedule(static)
        for (int ch = 0; ch < c; ch++) {
            const float *x = in + (size_t)ch * n;
            __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
            int i = 0;
            for (; i + 16 <= n; i += 16) {
                s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
                s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
            }
            float lanes[8], s = 0.0f;
            _mm256_storeu_ps(lanes, _mm256_add_ps(s0, s1));
            for (int k = 0; k < 8; k++) s += lanes[k];
            for (; i < n; i++) s += x[i];
            s *= inv;
            out[ch] = (relu && s < 0.0f) ? 0.0f : s;
        }
        return;
    }
    cnm_avgpool_f32_ref(sp, in, out);
}
#endif
