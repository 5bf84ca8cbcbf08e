/* Direct KxK convolution (stride 1 or 2), int8, x86-64 with AVX-VNNI. The input is quantised once
 * into a zero-bordered copy of words of 4 consecutive input channels holding uint8 codes
 * u = q + zp (the border is the code of q = 0, i.e. zp); then the micro-kernel of direct.h, where
 * `vpdpbusd` adds 4 exact u8 x s8 products per lane for 2 slots of 8 pixels x 4 outputs against
 * weights broadcast from the dot layout of pack_q8.c; zp * sum(w) is subtracted back:
 * bit-identical to conv_q8_ref.c. */
#include "q8_avx2.h"

#if defined(__x86_64__)
#define DK_TARGET AVXVNNI
#define DK_L 8
#define DK_HALF 0
#define DK_S 2
#define DK_S_WIDE 2
#define DK_PADDED_MR 1
#define DK_DOT_LAYOUT 1
#define DK_WORDS(cin_g) (((cin_g) + 3) / 4)
typedef __m256i dk_acc, dk_xv;
typedef __m256 dk_vf;
typedef int dk_wt;
AVXVNNI static inline dk_xv dk_load(const int32_t *p) { return _mm256_loadu_si256((const __m256i *)(const void *)p); }
AVXVNNI static inline dk_wt dk_wt_load(const int32_t *p) { (void)p; return 0; }
AVXVNNI static inline dk_acc dk_mac(dk_acc acc, dk_xv x, dk_wt w, const int32_t *p, int r, size_t wr) {
    (void)w;
    int32_t w4;
    memcpy(&w4, p + (size_t)r * wr, sizeof w4); /* 4 int8 weights */
    return _mm256_dpbusd_avx_epi32(acc, x, _mm256_set1_epi32(w4));
}
AVXVNNI static inline dk_acc dk_acc_init(const cnm_direct_args *a, int o) { (void)a; (void)o; return _mm256_setzero_si256(); }
AVXVNNI static inline dk_vf dk_finish(dk_acc acc, const cnm_direct_args *a, int o) {
    const __m256i corr = _mm256_set1_epi32(a->zp * a->wsum[o]);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc, corr)), _mm256_set1_ps(a->mult[o]),
                           _mm256_set1_ps(a->bias ? a->bias[o] : 0.0f));
}
#define dk_relu simd8_relu
#define dk_store simd8_store
static void dk_pack(const cnm_direct_args *a) { q8x_direct_pack_words(a->s, a->in, a->inv_scale, a->zp, a->pad); }
#include "direct.h"

void cnm_conv2d_direct_q8_avxvnni(const cnm_direct_args *a) { dk_run(a); }
#endif
