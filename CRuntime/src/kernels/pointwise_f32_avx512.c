/* Fused pointwise convolution, fp32, AVX-512F: the layer of pointwise.h (see pointwise_f32_ref.c
 * for the algorithm). Register tile: up to 8 output channels x 2 slots of 16 pixels in 16 zmm
 * accumulators; per input channel two panel loads and eight weight broadcasts feed sixteen FMAs.
 * Tails are written with masked stores. */
#include "kernels.h"
#include "simd_x86.h"

#if defined(__x86_64__)
#define PW_TARGET CNM_AVX512
#define AVX512 CNM_AVX512
#define PW_L 16
#define PW_S 2
#define PW_MR 8
typedef cnm_pw_args pw_args;
#define PW_A(q) (q)
#define PW_DOT_LAYOUT 0
#define PW_PADDED_MR 0
#define PW_TAIL_SLOTS 0
#define PW_WORDS(cin_g) (cin_g)
#define PW_WEIGHTS(q) ((const int32_t *)(const void *)(q)->w)
typedef __m512 pw_acc, pw_xv, pw_vf;
typedef int pw_wt;
AVX512 static inline pw_xv pw_load(const int32_t *p) { return _mm512_loadu_ps((const void *)p); }
AVX512 static inline pw_wt pw_wt_load(const int32_t *p) { (void)p; return 0; }
AVX512 static inline pw_acc pw_mac(pw_acc acc, pw_xv x, pw_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    return _mm512_fmadd_ps(_mm512_set1_ps(((const float *)(const void *)p)[(size_t)r * wr]), x, acc);
}
AVX512 static inline pw_acc pw_acc_init(const pw_args *a, int o) { return _mm512_set1_ps(a->bias ? a->bias[o] : 0.0f); }
AVX512 static inline pw_vf pw_finish(pw_acc acc, const pw_args *a, int o) { (void)a; (void)o; return acc; }
AVX512 static inline pw_vf pw_post(pw_vf v, float s, float b, int relu) {
    v = _mm512_fmadd_ps(v, _mm512_set1_ps(s), _mm512_set1_ps(b));
    return relu ? simd16_relu(v) : v;
}
#define pw_store simd16_store
static inline int32_t *pw_panel(const pw_args *a) { return (int32_t *)(void *)(a->scratch + a->scratch_stride * cnm_thread_slot()); }

/* The input panel: gather + BatchNorm + ReLU of the group's input channels, CNM_PW_TILE pixels
 * per row, zero past n (those lanes are computed and never stored). */
AVX512 static void pw_pack(const cnm_pw_args *a, int32_t *words, int g, int p0, int n) {
    float *panel = (float *)(void *)words;
    const int T = CNM_PW_TILE;
    const __m512 z = _mm512_setzero_ps();
    for (int j = 0; j < a->cin_g; j++) {
        const int c = g * a->cin_g + j;
        const float *x = a->in + (size_t)(a->src ? a->src[c] : c) * a->hw + p0;
        float *row = panel + (size_t)j * T;
        const __m512 s = _mm512_set1_ps(a->pre_scale ? a->pre_scale[c] : 1.0f);
        const __m512 b = _mm512_set1_ps(a->pre_shift ? a->pre_shift[c] : 0.0f);
        for (int p = 0; p < T; p += 16) {
            const int left = n - p;
            const __mmask16 m = left >= 16 ? (__mmask16)0xFFFFu : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1u);
            __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + p), s, b);
            if (a->pre_relu) v = _mm512_max_ps(v, z);
            _mm512_storeu_ps(row + p, _mm512_maskz_mov_ps(m, v));
        }
    }
}

#include "pointwise.h"

void cnm_pointwise_f32_avx512(const cnm_pw_args *a) { pw_run(a); }
#endif
