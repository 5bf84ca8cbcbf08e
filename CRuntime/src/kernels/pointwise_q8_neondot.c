/* Fused pointwise convolution, int8, aarch64 with the dot-product extension (Armv8.2+: Cortex-A55,
 * A76, Pi 5). Inputs are quantised while packing into words of 4 consecutive input channels,
 * stored as signed bytes s = q + zp - 128; `sdot` (by element) adds 4 byte products per lane, for
 * 4 pixels of one output against 4 weights broadcast from a 16-byte block of 4 outputs. The sum
 * of s * w differs from that of q * w by (zp - 128) * sum(w), added back exactly from the wsum
 * table, so the result is bit-identical to pointwise_q8_ref.c. pointwise.h on its layer: 4
 * outputs x 4 slots of 4 pixels, 16 accumulators, one weight load per 4 input channels. */
#include "layer_q8_neondot.h"

#if defined(__aarch64__)
#define PW_S 4
#define PW_MR 4
static void pw_pack(const cnm_q8_args *q, int32_t *panel, int g, int p0, int n) { q8n_pack_pointwise(q, panel, g, p0, n); }
#include "pointwise.h"

void cnm_pointwise_q8_neondot(const cnm_q8_args *q) { pw_run(q); }
#endif
