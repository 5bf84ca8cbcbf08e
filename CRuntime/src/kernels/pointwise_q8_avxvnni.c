/* Fused pointwise convolution, int8, x86-64 with AVX-VNNI (AMD Zen 4/5, Intel Alder Lake and
 * later). Inputs are quantised while packing into words of 4 consecutive input channels holding
 * their uint8 codes u = q + zp; `vpdpbusd` adds 4 exact u8 x s8 products per 32-bit lane (this
 * form does not saturate) for 8 pixels of one output against that output's 4 weights, broadcast
 * from the dot layout of pack_q8.c. zp * sum(w) is subtracted back from the wsum table, so the
 * sums equal those of pointwise_q8_ref.c exactly and the outputs are bit-identical.
 * The layer of pointwise.h: 4 outputs x 2 slots of 8 pixels, 8 accumulators, 32 MACs per
 * instruction. */
#include "q8_avx2.h"

#if defined(__x86_64__)
#define PW_TARGET AVXVNNI
#define PW_L 8
#define PW_S 2
#define PW_MR 4
#define PW_DOT_LAYOUT 1
#define PW_PADDED_MR 1
#define PW_TAIL_SLOTS 0
#define PW_WORDS(cin_g) (((cin_g) + 3) / 4)
typedef cnm_q8_args pw_args;
#define PW_A(q) (&(q)->pw)
static inline int32_t *pw_panel(const pw_args *q) { return (int32_t *)(void *)(q->panel + q->panel_stride * cnm_thread_slot()); }
typedef __m256i pw_acc, pw_xv;
typedef __m256 pw_vf;
typedef int pw_wt;
AVXVNNI static inline pw_xv pw_load(const int32_t *p) { return _mm256_loadu_si256((const __m256i *)(const void *)p); }
AVXVNNI static inline pw_wt pw_wt_load(const int32_t *p) { (void)p; return 0; }
AVXVNNI static inline pw_acc pw_mac(pw_acc acc, pw_xv x, pw_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    int32_t w4;
    memcpy(&w4, p + (size_t)r * wr, sizeof w4); /* 4 int8 weights */
    return _mm256_dpbusd_avx_epi32(acc, x, _mm256_set1_epi32(w4));
}
AVXVNNI static inline pw_acc pw_acc_init(const pw_args *q, int o) { (void)q; (void)o; return _mm256_setzero_si256(); }
AVXVNNI static inline pw_vf pw_finish(pw_acc acc, const pw_args *q, int o) {
    const __m256i corr = _mm256_set1_epi32(q->zp * q->wsum[o]);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc, corr)), _mm256_set1_ps(q->mult[o]),
                           _mm256_set1_ps(q->pw.bias ? q->pw.bias[o] : 0.0f));
}
AVXVNNI static inline pw_vf pw_post(pw_vf v, float s, float b, int relu) {
    v = _mm256_fmadd_ps(v, _mm256_set1_ps(s), _mm256_set1_ps(b));
    return relu ? simd8_relu(v) : v;
}
#define pw_store simd8_store
#define pw_pack q8x_pack_words
#include "pointwise.h"

void cnm_pointwise_q8_avxvnni(const cnm_q8_args *q) { pw_run(q); }
#endif
