/* Depthwise KxK convolution, fp32, avx512: depthwise.h on layer_f32_avx512.h. */
#include "layer_f32_avx512.h"

#include <string.h>

#if defined(__x86_64__)
#include "depthwise.h"

void cnm_depthwise_f32_avx512(const cnm_dw_args *a) { dw_run(a); }
#endif
