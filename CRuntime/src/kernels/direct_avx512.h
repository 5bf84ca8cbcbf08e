/* The output "slots" of the AVX-512 direct convolutions (conv_f32_avx512.c, conv_q8_avx512vnni.c):
 * a slot is 16 outputs in one zmm register,
 *   mode 0 (maps at most 8 wide): output rows oy + 2k and oy + 2k + 1, 8 lanes each;
 *   mode 1 (9..16 wide):          output row oy + k;
 *   mode 2 (wider):               outputs q + 16k .. q + 16k + 15 of row oy;
 *   mode 3 (17..32 wide, S = 4):  row oy + k / 2, outputs 16 (k % 2) .. 16 (k % 2) + 15.
 * A work item computes S slots; rows past the map are computed from a real row and not stored. */
#ifndef CNM_DIRECT_AVX512_H
#define CNM_DIRECT_AVX512_H
#include "direct_layout.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512_SLOTS __attribute__((target("avx512f")))

static inline int slot_mode(const cnm_conv_shape *s, int S) {
    return s->ow <= 8 ? 0 : s->ow <= 16 ? 1 : (S == 4 && s->ow <= 32) ? 3 : 2;
}
/* output rows one work item covers with S slots */
static inline int slot_item_rows(const cnm_conv_shape *s, int S) {
    const int m = slot_mode(s, S);
    return m == 0 ? 2 * S : m == 1 ? S : m == 3 ? S / 2 : 1;
}

/* Offsets (in elements of the padded input, from row oy's start) of slot k's first row and, in
 * mode 0, of its second row, for outputs starting at column q (mode 2). */
static inline void slot_offsets(const cnm_conv_shape *s, int mode, int S, int oy, int q, size_t *off, size_t *off2) {
    const int RS = padded_row(s);
    for (int k = 0; k < S; k++) {
        int r0 = mode == 0 ? 2 * k : mode == 1 ? k : mode == 3 ? k / 2 : 0, r1 = r0 + 1;
        if (oy + r0 >= s->oh) r0 = s->oh - 1 - oy;
        if (oy + r1 >= s->oh) r1 = s->oh - 1 - oy;
        off[k] = (size_t)r0 * s->sh * RS + (mode == 2 ? (size_t)(q + 16 * k) : mode == 3 ? (size_t)(16 * (k % 2)) : 0);
        off2[k] = (size_t)r1 * s->sh * RS;
    }
}

/* 8 elements (32-bit) from a and 8 from b in one zmm */
AVX512_SLOTS static inline __m512i slot_load_two(const void *a, const void *b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                              _mm256_loadu_si256((const __m256i *)b), 1);
}

AVX512_SLOTS static inline void slot_store_n(float *y, __m512 v, int n) {
    if (n >= 16) _mm512_storeu_ps(y, v);
    else if (n > 0) _mm512_mask_storeu_ps(y, (__mmask16)((1u << n) - 1u), v);
}

/* Store slot k of one output channel (plane y, oh x ow). */
AVX512_SLOTS static inline void slot_store(const cnm_conv_shape *s, int mode, float *y, __m512 v, int oy, int q, int k) {
    if (mode == 0) {
        const int row = oy + 2 * k;
        if (row < s->oh) slot_store_n(y + (size_t)row * s->ow, v, s->ow);
        if (row + 1 < s->oh)
            slot_store_n(y + (size_t)(row + 1) * s->ow,
                         _mm512_castps256_ps512(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))), s->ow);
    } else if (mode == 1) {
        if (oy + k < s->oh) slot_store_n(y + (size_t)(oy + k) * s->ow, v, s->ow);
    } else if (mode == 3) {
        if (oy + k / 2 < s->oh) slot_store_n(y + (size_t)(oy + k / 2) * s->ow + 16 * (k % 2), v, s->ow - 16 * (k % 2));
    } else {
        slot_store_n(y + (size_t)oy * s->ow + q + 16 * k, v, s->ow - q - 16 * k);
    }
}
#endif
#endif
