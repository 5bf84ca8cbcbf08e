/* Depthwise KxK convolution, fp32, neon: depthwise.h on layer_f32_neon.h. */
#include "layer_f32_neon.h"

#include <string.h>

#if defined(__aarch64__)
#include "depthwise.h"

void cnm_depthwise_f32_neon(const cnm_dw_args *a) { dw_run(a); }
#endif
