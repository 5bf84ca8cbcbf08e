/* The thin x86-64 layer under the kernels written once (direct.h, pointwise.h): partial loads
 * and stores, ReLU, the pointwise epilogue, and the two-rows-in-one-zmm slots of AVX-512. */
#ifndef CNM_SIMD_X86_H
#define CNM_SIMD_X86_H
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define CNM_AVX2 __attribute__((target("avx2,fma")))
#define CNM_AVX512 __attribute__((target("avx512f,fma")))

/* the first n of 8 floats (none for n <= 0) */
CNM_AVX2 static inline void simd8_store(float *y, __m256 v, int n) {
    if (n >= 8) { _mm256_storeu_ps(y, v); return; }
    if (n <= 0) return;
    float tmp[8];
    _mm256_storeu_ps(tmp, v);
    memcpy(y, tmp, sizeof(float) * (size_t)n);
}
CNM_AVX2 static inline __m256 simd8_add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
/* ReLU as max_ps(v, 0) computes it: NaN and -0 give +0 (the references' v > 0 ? v : 0) */
CNM_AVX2 static inline __m256 simd8_relu(__m256 v) { return _mm256_max_ps(v, _mm256_setzero_ps()); }
/* a fused CLIP: max_ps(lo, v) is v unless v < lo (NaN: v), min_ps(hi, .) likewise: cnm_clamp */
CNM_AVX2 static inline __m256 simd8_clamp(__m256 v, float lo, float hi) {
    return _mm256_min_ps(_mm256_set1_ps(hi), _mm256_max_ps(_mm256_set1_ps(lo), v));
}
/* a pointwise output's post BatchNorm and ReLU: fma(v, s, b), then the ReLU if asked */
CNM_AVX2 static inline __m256 simd8_post(__m256 v, float s, float b, int relu) {
    v = _mm256_fmadd_ps(v, _mm256_set1_ps(s), _mm256_set1_ps(b));
    return relu ? simd8_relu(v) : v;
}

CNM_AVX512 static inline void simd16_store(float *y, __m512 v, int n) {
    if (n >= 16) _mm512_storeu_ps(y, v);
    else if (n > 0) _mm512_mask_storeu_ps(y, (__mmask16)((1u << n) - 1u), v);
}
CNM_AVX512 static inline __m512 simd16_add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
CNM_AVX512 static inline __m512 simd16_relu(__m512 v) { return _mm512_max_ps(v, _mm512_setzero_ps()); }
CNM_AVX512 static inline __m512 simd16_clamp(__m512 v, float lo, float hi) {
    return _mm512_min_ps(_mm512_set1_ps(hi), _mm512_max_ps(_mm512_set1_ps(lo), v));
}
CNM_AVX512 static inline __m512 simd16_post(__m512 v, float s, float b, int relu) {
    v = _mm512_fmadd_ps(v, _mm512_set1_ps(s), _mm512_set1_ps(b));
    return relu ? simd16_relu(v) : v;
}
/* The channel-blocked depthwise conv (depthwise.h): lane l of a vector is channel l. fma(w, x, acc)
 * as the layers' ly_mac computes it; lanes(stride) the offsets l * stride (stride * lanes fits an
 * int: depthwise.h), and the first n lanes of a vector read from / written to p + l * stride (the
 * others read as 0, written nowhere). */
CNM_AVX2 static inline __m256 simd8_fma(__m256 acc, __m256 x, __m256 w) { return _mm256_fmadd_ps(w, x, acc); }
CNM_AVX2 static inline __m256i simd8_lanes(int stride) {
    return _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(stride));
}
CNM_AVX2 static inline __m256 simd8_gather(const float *p, __m256i idx, int n) {
    const __m256 m = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), p, idx, m, 4);
}
CNM_AVX2 static inline void simd8_scatter(float *p, __m256i idx, __m256 v, int n) {
    float t[8];
    int at[8];
    _mm256_storeu_ps(t, v);
    _mm256_storeu_si256((__m256i *)(void *)at, idx);
    for (int l = 0; l < n && l < 8; l++) p[at[l]] = t[l];
}
CNM_AVX512 static inline __m512 simd16_fma(__m512 acc, __m512 x, __m512 w) { return _mm512_fmadd_ps(w, x, acc); }
CNM_AVX512 static inline __m512i simd16_lanes(int stride) {
    return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(stride));
}
CNM_AVX512 static inline __m512 simd16_gather(const float *p, __m512i idx, int n) {
    const __mmask16 m = n >= 16 ? (__mmask16)0xFFFFu : (__mmask16)((1u << n) - 1u);
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, p, 4);
}
CNM_AVX512 static inline void simd16_scatter(float *p, __m512i idx, __m512 v, int n) {
    const __mmask16 m = n >= 16 ? (__mmask16)0xFFFFu : (__mmask16)((1u << n) - 1u);
    _mm512_mask_i32scatter_ps(p, m, idx, v, 4);
}

/* the even and the odd floats of x[0, 2n): the stride-2 window kernels' split rows (window.h) */
CNM_AVX2 static inline void simd8_split(const float *x, float *even, float *odd, int n) {
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 a = _mm256_loadu_ps(x + 2 * j), b = _mm256_loadu_ps(x + 2 * j + 8);
        /* per 128-bit lane: a0 a2 b0 b2 | a4 a6 b4 b6, then the 64-bit quarters in order 0 2 1 3 */
        const __m256 e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xDD);
        _mm256_storeu_ps(even + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8)));
        _mm256_storeu_ps(odd + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xD8)));
    }
    for (; j < n; j++) even[j] = x[2 * j], odd[j] = x[2 * j + 1];
}
/* the even (odd = 0) or odd (odd = 1) floats of p[0, 16) / p[0, 32): the stride-2 taps of a
 * window read in place (pool.h) */
CNM_AVX2 static inline __m256 simd8_half(const float *p, int odd) {
    const __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    const __m256 e = odd ? _mm256_shuffle_ps(a, b, 0xDD) : _mm256_shuffle_ps(a, b, 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8));
}
CNM_AVX512 static inline __m512 simd16_half(const float *p, int odd) {
    const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(p), odd ? io : ie, _mm512_loadu_ps(p + 16));
}
CNM_AVX512 static inline void simd16_split(const float *x, float *even, float *odd, int n) {
    const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        const __m512 a = _mm512_loadu_ps(x + 2 * j), b = _mm512_loadu_ps(x + 2 * j + 16);
        _mm512_storeu_ps(even + j, _mm512_permutex2var_ps(a, ie, b));
        _mm512_storeu_ps(odd + j, _mm512_permutex2var_ps(a, io, b));
    }
    for (; j < n; j++) even[j] = x[2 * j], odd[j] = x[2 * j + 1];
}
/* 8 words from a and 8 from b in one zmm (two output rows of a map at most 8 wide) */
CNM_AVX512 static inline __m512i simd16_load_two(const void *a, const void *b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                              _mm256_loadu_si256((const __m256i *)b), 1);
}
/* its inverse for results: the low 8 lanes to y0, the high 8 to y1 (if not NULL), n of each */
CNM_AVX512 static inline void simd16_store_two(float *y0, float *y1, __m512 v, int n) {
    simd16_store(y0, v, n < 8 ? n : 8);
    if (y1) simd16_store(y1, _mm512_castps256_ps512(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))), n < 8 ? n : 8);
}
/* The lanes l of row[c0 + l] with 0 <= c0 + l < n, zero in the others, which are never read
 * (masked loads do not touch them): a row's vector read in place, its edges standing for the
 * zero padding (the depthwise conv's stride-1 rows, depthwise.h) */
CNM_AVX2 static inline __m256 simd8_load_span(const float *row, int c0, int n) {
    if (c0 >= 0 && c0 + 8 <= n) return _mm256_loadu_ps(row + c0);
    const __m256i l = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(-c0), l), _mm256_cmpgt_epi32(_mm256_set1_epi32(n - c0), l));
    return _mm256_maskload_ps(row + c0, m);
}
CNM_AVX512 static inline __m512 simd16_load_span(const float *row, int c0, int n) {
    const int lo = c0 < 0 ? -c0 : 0, hi = n - c0;
    const unsigned below = lo >= 16 ? 0xFFFFu : (1u << lo) - 1u, upto = hi <= 0 ? 0u : hi >= 16 ? 0xFFFFu : (1u << hi) - 1u;
    return _mm512_maskz_loadu_ps((__mmask16)(upto & ~below), row + c0);
}
/* The lanes l of row[c0 + 2 l] with 0 <= c0 + 2 l < n, zero in the others (the stride-2 rows) */
CNM_AVX2 static inline __m256 simd8_load_span_even(const float *row, int c0, int n) {
    const __m256 a = simd8_load_span(row, c0, n), b = simd8_load_span(row, c0 + 8, n);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
}
CNM_AVX512 static inline __m512 simd16_load_span_even(const float *row, int c0, int n) {
    const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(simd16_load_span(row, c0, n), ie, simd16_load_span(row, c0 + 16, n));
}
#define CNM_MASKED_LOADS 1 /* the span loads cost one masked load (depthwise.h reads rows in place) */
#endif
#endif
