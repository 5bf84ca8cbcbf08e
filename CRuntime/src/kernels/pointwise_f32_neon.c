/* Fused pointwise convolution, fp32, NEON (aarch64): the layer of pointwise.h (see
 * pointwise_f32_ref.c for the algorithm). Register tile: up to 4 output channels x 4 slots of 4
 * pixels in 16 q-register accumulators (fmla). */
#include "kernels.h"
#include "simd_neon.h"

#if defined(__aarch64__)
#define PW_TARGET
#define PW_L 4
#define PW_S 4
#define PW_MR 4
typedef cnm_pw_args pw_args;
#define PW_A(q) (q)
#define PW_DOT_LAYOUT 0
#define PW_PADDED_MR 0
#define PW_TAIL_SLOTS 0
#define PW_WORDS(cin_g) (cin_g)
#define PW_WEIGHTS(q) ((const int32_t *)(const void *)(q)->w)
typedef float32x4_t pw_acc, pw_xv, pw_vf;
typedef int pw_wt;
static inline pw_xv pw_load(const int32_t *p) { return vld1q_f32((const float *)(const void *)p); }
static inline pw_wt pw_wt_load(const int32_t *p) { (void)p; return 0; }
static inline pw_acc pw_mac(pw_acc acc, pw_xv x, pw_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    return vfmaq_f32(acc, vld1q_dup_f32((const float *)(const void *)p + (size_t)r * wr), x);
}
static inline pw_acc pw_acc_init(const pw_args *a, int o) { return vdupq_n_f32(a->bias ? a->bias[o] : 0.0f); }
static inline pw_vf pw_finish(pw_acc acc, const pw_args *a, int o) { (void)a; (void)o; return acc; }
static inline pw_vf pw_post(pw_vf v, float s, float b, int relu) {
    v = vfmaq_f32(vdupq_n_f32(b), v, vdupq_n_f32(s));
    return relu ? simd4_relu(v) : v;
}
#define pw_store simd4_store
static inline int32_t *pw_panel(const pw_args *a) { return (int32_t *)(void *)(a->scratch + a->scratch_stride * cnm_thread_slot()); }

static void pw_pack(const cnm_pw_args *a, int32_t *words, int g, int p0, int n) {
    float *panel = (float *)(void *)words;
    const int T = CNM_PW_TILE;
    for (int j = 0; j < a->cin_g; j++) {
        const int c = g * a->cin_g + j;
        const float *x = a->in + (size_t)(a->src ? a->src[c] : c) * a->hw + p0;
        float *row = panel + (size_t)j * T;
        const float s = a->pre_scale ? a->pre_scale[c] : 1.0f, b = a->pre_shift ? a->pre_shift[c] : 0.0f;
        const float32x4_t vs = vdupq_n_f32(s), vb = vdupq_n_f32(b);
        int p = 0;
        for (; p + 4 <= n; p += 4) {
            float32x4_t v = vfmaq_f32(vb, vld1q_f32(x + p), vs);
            if (a->pre_relu) v = simd4_relu(v);
            vst1q_f32(row + p, v);
        }
        for (; p < n; p++) {
            const float v = fmaf(s, x[p], b);
            row[p] = a->pre_relu && !(v > 0.0f) ? 0.0f : v;
        }
        for (; p < T; p++) row[p] = 0.0f;
    }
}

#include "pointwise.h"

void cnm_pointwise_f32_neon(const cnm_pw_args *a) { pw_run(a); }
#endif
