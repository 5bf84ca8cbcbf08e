/* Direct KxK convolution (stride 1 or 2), int8, x86-64 with AVX-VNNI. The input is quantised once
 * into a zero-bordered copy of words of 4 consecutive input channels holding uint8 codes
 * u = q + zp (the border is the code of q = 0, i.e. zp); per tap, `vpdpbusd` adds 4 exact
 * u8 x s8 products per lane for 16 pixels x 4 outputs against weights broadcast from the dot
 * layout of pack_q8.c; zp * sum(w) is subtracted back: bit-identical to conv_q8_ref.c. */
#include "q8_avx2.h"

#if defined(__x86_64__)
AVXVNNI static void kernel(const cnm_conv_shape *s, const int32_t *pad, const int8_t *wb, const int32_t *wsum,
                           const float *mult, const float *bias, int zp, float *out, cnm_direct_item it) {
    const int cin_g = s->cin / s->groups, kq = (cin_g + 3) / 4, RS = padded_row(s), KK = s->kh * s->kw;
    const size_t PS = (size_t)(s->ih + 2 * s->ph) * RS;
    const int two = s->ow <= 8; /* two output rows of up to 8 pixels, else 16 pixels of one row */
    const size_t second = two ? (size_t)RS * s->sh : 8;
    for (int q = 0; q < s->ow; q += 16) {
        __m256i acc[4][2];
        for (int r = 0; r < 4; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
        for (int j = 0; j < kq; j++) {
            const int32_t *xin = pad + (size_t)(it.g * kq + j) * PS + (size_t)it.oy * s->sh * RS + q;
            const int8_t *wk = wb + (size_t)j * KK * 16;
            for (int ky = 0; ky < s->kh; ky++)
                for (int kx = 0; kx < s->kw; kx++) {
                    const int32_t *xt = xin + (size_t)ky * RS + tap_col(s, kx);
                    const __m256i x0 = _mm256_loadu_si256((const __m256i *)xt);
                    const __m256i x1 = _mm256_loadu_si256((const __m256i *)(xt + second));
                    int32_t w4[4];
                    memcpy(w4, wk + (size_t)(ky * s->kw + kx) * 16, sizeof w4);
                    for (int r = 0; r < 4; r++) {
                        const __m256i w = _mm256_set1_epi32(w4[r]);
                        acc[r][0] = _mm256_dpbusd_avx_epi32(acc[r][0], x0, w);
                        acc[r][1] = _mm256_dpbusd_avx_epi32(acc[r][1], x1, w);
                    }
                }
        }
        for (int r = 0; r < it.mr; r++) {
            const int o = it.o + r;
            const __m256i corr = _mm256_set1_epi32(zp * wsum[o]);
            const __m256 m = _mm256_set1_ps(mult[o]), b = _mm256_set1_ps(bias ? bias[o] : 0.0f);
            __m256 v0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc[r][0], corr)), m, b);
            __m256 v1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc[r][1], corr)), m, b);
            if (s->relu) { v0 = _mm256_max_ps(v0, _mm256_setzero_ps()); v1 = _mm256_max_ps(v1, _mm256_setzero_ps()); }
            float *y = out + (size_t)o * s->oh * s->ow + (size_t)it.oy * s->ow + q;
            if (two) {
                q8x_store(y, v0, s->ow);
                if (it.oy + 1 < s->oh) q8x_store(y + s->ow, v1, s->ow);
            } else {
                q8x_store(y, v0, s->ow - q);
                q8x_store(y + 8, v1, s->ow - q - 8);
            }
        }
    }
}

void cnm_conv2d_direct_q8_avxvnni(const cnm_direct_args *da) {
    const cnm_conv_shape *s = da->s;
    const float *in = da->in, *mult = da->mult, *bias = da->bias;
    const int8_t *wdot = da->wdot;
    const int32_t *wsum = da->wsum;
    const float inv_scale = da->inv_scale;
    const int zp = da->zp;
    float *out = da->out;
    int32_t *pad = da->pad;
    q8x_direct_pack_words(s, in, inv_scale, zp, pad);
    const int cin_g = s->cin / s->groups, cout_g = s->cout / s->groups, nb = (cout_g + 3) / 4;
    const size_t block = (size_t)((cin_g + 3) / 4) * s->kh * s->kw * 16;
    const int items = cnm_direct_items(s);
#pragma omp for schedule(static)
    for (int i = 0; i < items; i++) {
        const cnm_direct_item it = cnm_direct_item_at(s, i);
        kernel(s, pad, wdot + (size_t)(it.g * nb + (it.o - it.g * cout_g) / 4) * block, wsum, mult, bias, zp, out, it);
    }
}
#endif
