/* Fused pointwise convolution, int8, x86-64 with AVX-VNNI (AMD Zen 4/5, Intel Alder Lake and
 * later). Inputs are quantised while packing into words of 4 consecutive input channels holding
 * their uint8 codes u = q + zp; `vpdpbusd` adds 4 exact u8 x s8 products per 32-bit lane (this
 * form does not saturate) for 8 pixels of one output against that output's 4 weights, broadcast
 * from the dot layout of pack_q8.c. zp * sum(w) is subtracted back from the wsum table, so the
 * sums equal those of pointwise_q8_ref.c exactly and the outputs are bit-identical.
 * pointwise.h on its layer: 4 outputs x 2 slots of 8 pixels, 8 accumulators, 32 MACs per
 * instruction. */
#define LY_VNNI_ZMM 0
#include "layer_q8_vnni.h"

#if defined(__x86_64__)
#define PW_S 2
#define PW_MR 4
#define pw_pack q8x_pack_words
#include "pointwise.h"

void cnm_pointwise_q8_avxvnni(const cnm_q8_args *q) { pw_run(q); }
#endif
