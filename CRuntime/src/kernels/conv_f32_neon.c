/* Direct KxK convolution (stride 1 or 2), fp32, NEON (aarch64): the layer of direct.h. Slots of 4
 * floats, 4 per item (16 accumulators with 4 output channels); per tap, a replicated weight (ld1r)
 * feeds one fmla per slot. Also the linear layer. */
#include "direct_layout.h"
#include "simd_neon.h"

#if defined(__aarch64__)
#define DK_TARGET
#define DK_L 4
#define DK_HALF 0
#define DK_S 4
#define DK_S_WIDE 4
#define DK_PADDED_MR 0
#define DK_DOT_LAYOUT 0
#define DK_WORDS(cin_g) (cin_g)
#define DK_WEIGHTS(a) ((const int32_t *)(const void *)(a)->w)
typedef float32x4_t dk_acc, dk_xv, dk_vf;
typedef int dk_wt;
static inline dk_xv dk_load(const int32_t *p) { return vld1q_f32((const float *)(const void *)p); }
static inline dk_wt dk_wt_load(const int32_t *p) { (void)p; return 0; }
static inline dk_acc dk_mac(dk_acc acc, dk_xv x, dk_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    return vfmaq_f32(acc, vld1q_dup_f32((const float *)(const void *)p + (size_t)r * wr), x);
}
static inline dk_acc dk_acc_init(const cnm_direct_args *a, int o) { return vdupq_n_f32(a->bias ? a->bias[o] : 0.0f); }
static inline dk_vf dk_finish(dk_acc acc, const cnm_direct_args *a, int o) { (void)a; (void)o; return acc; }
#define dk_relu simd4_relu
#define dk_store simd4_store
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
