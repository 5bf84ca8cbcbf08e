/* Fused pointwise convolution, int8, x86-64 with AVX-512 VNNI (AMD Zen 4/5, Intel Ice Lake and
 * later): the AVX-VNNI kernel (pointwise_q8_avxvnni.c: the same panel of uint8 code words, the
 * same dot-layout weights, zp * sum(w) subtracted back) on zmm registers. pointwise.h on its layer: 4 outputs
 * x 4 slots of 16 pixels (the whole 64-pixel tile; a shorter tile computes only the slots it
 * stores), 16 accumulators, 64 MACs per instruction; the panel is packed 16
 * pixels per zmm (pack16). Bit-identical to pointwise_q8_ref.c. */
#define LY_VNNI_ZMM 1
#include "layer_q8_vnni.h"

#if defined(__x86_64__)
#define PW_S 4
#define PW_MR 4

/* The panel of q8x_pack_words (q8_avx2.h) 16 pixels at a time, the codes through q8z_code and
 * q8z_words (the same codes in fewer operations); the ReLU before the quantiser becomes a byte
 * max with the code of 0 after it (max(v, 0) * inv rounds to the code zp exactly when v * inv
 * rounds to a code <= zp; NaN gives zp both ways). Lanes past n hold codes whose sums are never
 * stored (loaded as 0 under the masks). */
AVX512VNNI static void pw_pack(const cnm_q8_args *q, int32_t *panel, int g, int p0, int n) {
    const cnm_pw_args *a = &q->pw;
    const int T = CNM_PW_TILE, words = (a->cin_g + 3) / 4;
    const __m512 inv = _mm512_set1_ps(q->inv_scale), hi = _mm512_set1_ps((float)(255 - q->zp));
    const __m512i zp = _mm512_set1_epi32(q->zp), zp8 = _mm512_set1_epi8((char)q->zp);
    const int relu = a->pre_relu && q->zp != 0; /* with zp 0 the saturation at 0 is the ReLU */
    __mmask16 m[CNM_PW_TILE / 16];
    for (int k = 0; k < T / 16; k++) {
        const int left = n - 16 * k;
        m[k] = left >= 16 ? (__mmask16)0xFFFFu : left > 0 ? (__mmask16)((1u << left) - 1u) : 0;
    }
    for (int j = 0; j < words; j++) {
        __m512i u[4][CNM_PW_TILE / 16];
        for (int h = 0; h < 4; h++) {
            const int ch = 4 * j + h;
            if (ch >= a->cin_g) { /* code 0: their weights are 0 */
                for (int k = 0; k < T / 16; k++) u[h][k] = _mm512_setzero_si512();
                continue;
            }
            const int c = g * a->cin_g + ch;
            const float *x = a->in + (size_t)(a->src ? a->src[c] : c) * a->hw + p0;
            const __m512 sc = _mm512_set1_ps(a->pre_scale ? a->pre_scale[c] : 1.0f), sh = _mm512_set1_ps(a->pre_shift ? a->pre_shift[c] : 0.0f);
            for (int k = 0; k < T / 16; k++) {
                const __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[k], x + 16 * k), sc, sh);
                u[h][k] = q8z_code(v, inv, hi, zp);
            }
        }
        for (int k = 0; k < T / 16; k++) {
            __m512i b = q8z_words(u[0][k], u[1][k], u[2][k], u[3][k]);
            if (relu) b = _mm512_max_epu8(b, zp8);
            _mm512_storeu_si512((void *)(panel + (size_t)j * T + 16 * k), b);
        }
    }
}

#include "pointwise.h"

void cnm_pointwise_q8_avx512vnni(const cnm_q8_args *q) { pw_run(q); }
#endif
