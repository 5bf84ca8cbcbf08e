/* Direct KxK convolution (stride 1 or 2), int8, x86-64 with AVX-VNNI. The input is quantised once
 * into a zero-bordered copy of words of 4 consecutive input channels holding uint8 codes
 * u = q + zp (the border is the code of q = 0, i.e. zp); then the micro-kernel of direct.h, where
 * `vpdpbusd` adds 4 exact u8 x s8 products per lane for 2 slots of 8 pixels x 4 outputs against
 * weights broadcast from the dot layout of pack_q8.c; zp * sum(w) is subtracted back:
 * bit-identical to conv_q8_ref.c. */
#define LY_VNNI_ZMM 0
#include "layer_q8_vnni.h"
#include "direct_layout.h"

#if defined(__x86_64__)
#define DK_HALF 0
#define DK_S 2
#define DK_S_WIDE 2
static void dk_pack(const cnm_direct_args *a) { q8x_direct_pack_words(a->s, a->in, a->inv_scale, a->zp, a->pad); }
#include "direct.h"

void cnm_conv2d_direct_q8_avxvnni(const cnm_direct_args *a) { dk_run(a); }
#endif
