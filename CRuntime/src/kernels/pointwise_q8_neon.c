/* Fused pointwise convolution, int8, aarch64 NEON baseline (Armv8.0: Cortex-A53/A72, Pi 4).
 * Inputs are quantised while packing into words of 4 signed bytes (the layout of the dot-product
 * kernel); smull/smull2 + sadalp (layer_q8_neon.h) give exact int32 sums, bit-identical to
 * pointwise_q8_ref.c. pointwise.h on its layer: 4 output channels x 2 slots of 4 pixels (each
 * accumulator is two registers). */
#include "layer_q8_neon.h"

#if defined(__aarch64__)
#define PW_S 2
#define PW_MR 4
static void pw_pack(const cnm_q8_args *q, int32_t *panel, int g, int p0, int n) { q8n_pack_pointwise(q, panel, g, p0, n); }
#include "pointwise.h"

void cnm_pointwise_q8_neon(const cnm_q8_args *q) { pw_run(q); }
#endif
