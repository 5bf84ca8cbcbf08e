/* Depthwise convolution, fp32, portable scalar: the generic convolution reference (the oracle). */
#include "kernels.h"

void cnm_depthwise_f32_ref(const cnm_dw_args *a) { cnm_conv2d_f32_ref(a->s, a->in, a->w, a->bias, a->out); }
