/* The thin aarch64 layer under the kernels written once (direct.h, pointwise.h): partial stores,
 * ReLU and the pointwise epilogue. */
#ifndef CNM_SIMD_NEON_H
#define CNM_SIMD_NEON_H
#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>

/* the first n of 4 floats (none for n <= 0) */
static inline void simd4_store(float *y, float32x4_t v, int n) {
    if (n >= 4) { vst1q_f32(y, v); return; }
    if (n <= 0) return;
    float t[4];
    vst1q_f32(t, v);
    memcpy(y, t, sizeof(float) * (size_t)n);
}
static inline float32x4_t simd4_add(float32x4_t a, float32x4_t b) { return vaddq_f32(a, b); }
/* ReLU as the references compute it (v > 0 ? v : 0): NaN and -0 give +0 */
static inline float32x4_t simd4_relu(float32x4_t v) { return vmaxnmq_f32(v, vdupq_n_f32(0.0f)); }
/* a fused CLIP as cnm_clamp computes it (NaN stays NaN; vmaxq/vminq would make -0 and +0 ties
 * differ from the reference's comparisons, so compare and select) */
static inline float32x4_t simd4_clamp(float32x4_t v, float lo, float hi) {
    const float32x4_t l = vdupq_n_f32(lo), h = vdupq_n_f32(hi);
    v = vbslq_f32(vcltq_f32(v, l), l, v);
    return vbslq_f32(vcgtq_f32(v, h), h, v);
}
/* a pointwise output's post BatchNorm and ReLU: fma(v, s, b), then the ReLU if asked */
static inline float32x4_t simd4_post(float32x4_t v, float s, float b, int relu) {
    v = vfmaq_f32(vdupq_n_f32(b), v, vdupq_n_f32(s));
    return relu ? simd4_relu(v) : v;
}
/* The channel-blocked depthwise conv (depthwise.h), as in simd_x86.h: lane l is channel l, at
 * p + l * stride for the first n lanes (the others read as 0, written nowhere). */
static inline float32x4_t simd4_fma(float32x4_t acc, float32x4_t x, float32x4_t w) { return vfmaq_f32(acc, w, x); }
static inline int simd4_lanes(int stride) { return stride; }
static inline float32x4_t simd4_gather(const float *p, int stride, int n) {
    float32x4_t v = vdupq_n_f32(0.0f);
    if (n > 0) v = vld1q_lane_f32(p, v, 0);
    if (n > 1) v = vld1q_lane_f32(p + stride, v, 1);
    if (n > 2) v = vld1q_lane_f32(p + 2 * (size_t)stride, v, 2);
    if (n > 3) v = vld1q_lane_f32(p + 3 * (size_t)stride, v, 3);
    return v;
}
static inline void simd4_scatter(float *p, int stride, float32x4_t v, int n) {
    if (n > 0) vst1q_lane_f32(p, v, 0);
    if (n > 1) vst1q_lane_f32(p + stride, v, 1);
    if (n > 2) vst1q_lane_f32(p + 2 * (size_t)stride, v, 2);
    if (n > 3) vst1q_lane_f32(p + 3 * (size_t)stride, v, 3);
}
/* the even (odd = 0) or odd (odd = 1) floats of p[0, 8): the stride-2 taps of a window read in
 * place (pool.h) */
static inline float32x4_t simd4_half(const float *p, int odd) {
    const float32x4x2_t v = vld2q_f32(p);
    return odd ? v.val[1] : v.val[0];
}
/* the even and the odd floats of x[0, 2n): the stride-2 window kernels' split rows (window.h) */
static inline void simd4_split(const float *x, float *even, float *odd, int n) {
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const float32x4x2_t v = vld2q_f32(x + 2 * j);
        vst1q_f32(even + j, v.val[0]);
        vst1q_f32(odd + j, v.val[1]);
    }
    for (; j < n; j++) even[j] = x[2 * j], odd[j] = x[2 * j + 1];
}
/* The lanes l of row[c0 + l] with 0 <= c0 + l < n, zero in the others, which are never read (as
 * simd_x86.h's; NEON has no masked load, so the edges go through a copy: the depthwise conv keeps
 * its padded rows here, CNM_MASKED_LOADS 0) */
static inline float32x4_t simd4_load_span(const float *row, int c0, int n) {
    if (c0 >= 0 && c0 + 4 <= n) return vld1q_f32(row + c0);
    float t[4];
    for (int l = 0; l < 4; l++) t[l] = c0 + l >= 0 && c0 + l < n ? row[c0 + l] : 0.0f;
    return vld1q_f32(t);
}
static inline float32x4_t simd4_load_span_even(const float *row, int c0, int n) {
    float t[4];
    for (int l = 0; l < 4; l++) t[l] = c0 + 2 * l >= 0 && c0 + 2 * l < n ? row[c0 + 2 * l] : 0.0f;
    return vld1q_f32(t);
}
#define CNM_MASKED_LOADS 0
#endif
#endif
