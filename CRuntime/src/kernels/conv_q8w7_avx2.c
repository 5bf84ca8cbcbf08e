/* Direct KxK convolution (stride 1 or 2), int8 with 7-bit weights (|w| <= 63, declared by the
 * model and checked by the validator), plain AVX2: the AVX-VNNI kernel's zero-bordered copy of
 * words of 4 uint8 codes (conv_q8_avxvnni.c) and micro-kernel of direct.h, with `vpdpbusd`
 * replaced by `vpmaddubsw` + `vpmaddwd` (layer_q8_vnni.h, LY_MADDUBS), which cannot saturate for
 * such weights: bit-identical to conv_q8_ref.c. */
#define LY_VNNI_ZMM 0
#define LY_MADDUBS 1
#include "layer_q8_vnni.h"
#include "direct_layout.h"

#if defined(__x86_64__)
#define DK_HALF 0
#define DK_S 2
#define DK_S_WIDE 2
static void dk_pack(const cnm_direct_args *a) { q8x_direct_pack_words(a->s, a->in, a->inv_scale, a->zp, a->pad); }
#include "direct.h"

void cnm_conv2d_direct_q8w7_avx2(const cnm_direct_args *a) { dk_run(a); }
#endif
