/* Fused pointwise convolution, int8, aarch64 NEON baseline (Armv8.0: Cortex-A53/A72, Pi 4).
 * Inputs are quantised while packing into int16 pairs of consecutive input channels (the layout
 * of the AVX2 kernel); smull/smull2 multiply a pair by a weight pair and addp adds the two
 * products: exact int32 sums, bit-identical to pointwise_q8_ref.c. pointwise.h on its layer: 4
 * output channels x 4 slots of 4 pixels. */
#include "layer_q8_neon.h"

#if defined(__aarch64__)
#define PW_S 4
#define PW_MR 4
#define PW_TAIL_SLOTS 0
static void pw_pack(const cnm_q8_args *q, int32_t *panel, int g, int p0, int n) { q8n_pack_pointwise(q, panel, g, p0, n, 2); }
#include "pointwise.h"

void cnm_pointwise_q8_neon(const cnm_q8_args *q) { pw_run(q); }
#endif
