/* Kernel entry points. Each file is named <operator>_<dtype>_<isa>.c; the _ref kernels are
 * the portable scalar oracles every faster path is tested against. All tensors are CHW
 * (batch 1); a "plane" is H*W contiguous floats. Kernels never allocate. */
#ifndef CNM_KERNELS_H
#define CNM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef struct cnm_conv_shape {
    int cin, ih, iw;
    int cout, oh, ow;
    int kh, kw, sh, sw, ph, pw, groups;
    int relu;
} cnm_conv_shape;

/* out[cout][oh][ow] = act(bias + sum over the group's input channels and the window). */
void cnm_conv2d_f32_ref(const cnm_conv_shape *s, const float *in, const float *weight,
                        const float *bias, float *out, int threads);

/* out[c] = act(scale[c] * in[src(c)] + shift[c]) over planes of hw floats.
 * src: index != NULL -> index[c]; shuffle > 1 -> channel shuffle; else c. */
void cnm_channel_f32_ref(const float *in, int cin, float *out, int cout, int hw,
                         const float *scale, const float *shift, const int32_t *index,
                         int shuffle, int relu, int threads);

/* Average pool, divisor kh*kw. */
void cnm_avgpool_f32_ref(const float *in, int c, int ih, int iw, float *out, int oh, int ow,
                         int kh, int kw, int sh, int sw, int ph, int pw, int relu, int threads);

/* out[n] = act(bias[n] + sum_k w[n][k] * x[index ? index[k] : k]). */
void cnm_linear_f32_ref(const float *x, const float *weight, const float *bias,
                        const int32_t *index, float *out, int n, int k, int relu, int threads);

#endif
