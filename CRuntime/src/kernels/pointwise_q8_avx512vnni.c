/* Fused pointwise convolution, int8, x86-64 with AVX-512 VNNI (AMD Zen 4/5, Intel Ice Lake and
 * later): the AVX-VNNI kernel (pointwise_q8_avxvnni.c: the same panel of uint8 code words, the
 * same dot-layout weights, zp * sum(w) subtracted back) on zmm registers. Micro-kernel: 4 outputs
 * x the whole 64-pixel tile, 16 accumulators, 64 MACs per instruction; the panel is packed 16
 * pixels per zmm (pack16). Bit-identical to pointwise_q8_ref.c. */
#include "q8_avx2.h"

#if defined(__x86_64__)
/* fma(acc, mult, bias), the post BatchNorm and ReLU for 16 pixels of output o, masked store */
AVX512VNNI static inline void store16(const cnm_q8_args *q, int o, __m512i acc, float *y, int n) {
    if (n <= 0) return;
    const cnm_pw_args *a = &q->pw;
    const int d = a->dst ? a->dst[o] : o;
    __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(q->mult[o]), _mm512_set1_ps(a->bias ? a->bias[o] : 0.0f));
    v = _mm512_fmadd_ps(v, _mm512_set1_ps(a->post_scale ? a->post_scale[d] : 1.0f),
                        _mm512_set1_ps(a->post_shift ? a->post_shift[d] : 0.0f));
    if (a->post_relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
    if (n >= 16) _mm512_storeu_ps(y, v);
    else _mm512_mask_storeu_ps(y, (__mmask16)((1u << n) - 1u), v);
}

/* The panel of q8x_pack_words (q8_avx2.h) 16 pixels at a time, the codes through q8z_code and
 * q8z_words (the same codes in fewer operations); the ReLU before the quantiser becomes a byte
 * max with the code of 0 after it (max(v, 0) * inv rounds to the code zp exactly when v * inv
 * rounds to a code <= zp; NaN gives zp both ways). Lanes past n hold codes whose sums are never
 * stored (loaded as 0 under the masks). */
AVX512VNNI static void pack16(const cnm_q8_args *q, int32_t *panel, int g, int p0, int n) {
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

AVX512VNNI static void kernel(const cnm_q8_args *q, const int32_t *panel, const int8_t *wb, int o, int mr, int p0, int n) {
    const cnm_pw_args *a = &q->pw;
    const int T = CNM_PW_TILE, kq = (a->cin_g + 3) / 4, V = (n + 15) / 16; /* zmm columns in use */
    __m512i acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int v = 0; v < 4; v++) acc[r][v] = _mm512_setzero_si512();
    for (int j = 0; j < kq; j++) {
        const int32_t *row = panel + (size_t)j * T;
        __m512i x[4];
        for (int v = 0; v < 4; v++) x[v] = _mm512_loadu_si512((const void *)(row + 16 * v));
        int32_t w4[4];
        memcpy(w4, wb + (size_t)j * 16, sizeof w4);
        for (int r = 0; r < 4; r++) {
            const __m512i w = _mm512_set1_epi32(w4[r]);
            for (int v = 0; v < 4; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], x[v], w);
        }
    }
    for (int r = 0; r < mr; r++) {
        const int d = a->dst ? a->dst[o + r] : o + r;
        const __m512i corr = _mm512_set1_epi32(q->zp * q->wsum[o + r]);
        float *y = a->out + (size_t)d * a->hw + p0;
        for (int v = 0; v < V; v++) store16(q, o + r, _mm512_sub_epi32(acc[r][v], corr), y + 16 * v, n - 16 * v);
    }
}

void cnm_pointwise_q8_avx512vnni(const cnm_q8_args *q) {
    const cnm_pw_args *a = &q->pw;
    const int cout_g = a->cout / a->groups, items = cnm_pw_items(a), nb = (cout_g + 3) / 4;
    const size_t block = (size_t)((a->cin_g + 3) / 4) * 16;
    int32_t *panel = (int32_t *)(q->panel + q->panel_stride * cnm_thread_slot());
#pragma omp for schedule(static)
    for (int it = 0; it < items; it++) {
        const cnm_pw_item w = cnm_pw_item_at(a, it);
        pack16(q, panel, w.g, w.p0, w.n);
        for (int b = 0; b < nb; b++) {
            const int mr = cout_g - 4 * b < 4 ? cout_g - 4 * b : 4;
            kernel(q, panel, q->wdot + (size_t)(w.g * nb + b) * block, w.g * cout_g + 4 * b, mr, w.p0, w.n);
        }
    }
}
#endif
