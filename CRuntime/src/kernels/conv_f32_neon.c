/* Direct KxK convolution (stride 1 or 2), fp32, NEON (aarch64): direct.h on its layer. Slots of 4
 * floats, 4 per item (16 accumulators with 4 output channels); per tap, a replicated weight (ld1r)
 * feeds one fmla per slot. Also the linear layer. */
#include "layer_f32_neon.h"
#include "direct_layout.h"

#if defined(__aarch64__)
#define DK_HALF 0
#define DK_S 4
#define DK_S_WIDE 4
static void dk_pack(const cnm_direct_args *a) { cnm_direct_pack(a->s, a->in, a->pad); }
#include "direct.h"

void cnm_conv2d_direct_f32_neon(const cnm_direct_args *a) { dk_run(a); }

/* linear: four 4-wide accumulators per row; the gathered inputs packed once */
void cnm_linear_f32_neon(const float *x, const float *weight, const float *bias, const int32_t *index,
                         float *out, int n, int k, int relu, float *packed) {
    if (index) {
#pragma omp single
        for (int j = 0; j < k; j++) packed[j] = x[index[j]];
        x = packed;
    }
#pragma omp for schedule(static)
    for (int i = 0; i < n; i++) {
        const float *w = weight + (size_t)i * k;
        float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
        int j = 0;
        for (; j + 16 <= k; j += 16) {
            a0 = vfmaq_f32(a0, vld1q_f32(w + j), vld1q_f32(x + j));
            a1 = vfmaq_f32(a1, vld1q_f32(w + j + 4), vld1q_f32(x + j + 4));
            a2 = vfmaq_f32(a2, vld1q_f32(w + j + 8), vld1q_f32(x + j + 8));
            a3 = vfmaq_f32(a3, vld1q_f32(w + j + 12), vld1q_f32(x + j + 12));
        }
        for (; j + 4 <= k; j += 4) a0 = vfmaq_f32(a0, vld1q_f32(w + j), vld1q_f32(x + j));
        float v = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3))) + (bias ? bias[i] : 0.0f);
        for (; j < k; j++) v += w[j] * x[j];
        out[i] = (relu && v < 0.0f) ? 0.0f : v;
    }
}
#endif
