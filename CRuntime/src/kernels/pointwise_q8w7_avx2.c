/* Fused pointwise convolution, int8 with 7-bit weights (|w| <= 63, declared by the model and
 * checked by the validator), plain AVX2: the layer and packing of the AVX-VNNI kernel
 * (pointwise_q8_avxvnni.c: words of 4 uint8 codes, the dot layout of pack_q8.c) with `vpdpbusd`
 * replaced by `vpmaddubsw` + `vpmaddwd` (layer_q8_vnni.h, LY_MADDUBS): 32 exact MACs per three
 * instructions, where the 8-bit AVX2 kernel's `vpmaddwd` of int16 pairs does 16 per two. The sums
 * equal those of pointwise_q8_ref.c, so the outputs are bit-identical. */
#define LY_VNNI_ZMM 0
#define LY_MADDUBS 1
#include "layer_q8_vnni.h"

#if defined(__x86_64__)
#define PW_S 2
#define PW_MR 4
#define pw_pack q8x_pack_words
#include "pointwise.h"

void cnm_pointwise_q8w7_avx2(const cnm_q8_args *q) { pw_run(q); }
#endif
