/* Direct KxK convolution (stride 1 or 2), int8, aarch64 NEON baseline. The input is quantised once
 * into the zero-bordered copy of words of 4 signed bytes (the dot-product kernel's layout); then
 * the micro-kernel of direct.h (2 slots of 4 pixels x up to 4 outputs) with smull/smull2 + sadalp
 * against the dot layout's weights (layer_q8_neon.h): exact, and bit-identical to conv_q8_ref.c. */
#include "layer_q8_neon.h"
#include "direct_layout.h"

#if defined(__aarch64__)
#define DK_HALF 0
#define DK_S 2
#define DK_S_WIDE 2
static void dk_pack(const cnm_direct_args *a) { q8n_pack_direct(a->s, a->in, a->inv_scale, a->zp, a->pad); }
#include "direct.h"

void cnm_conv2d_direct_q8_neon(const cnm_direct_args *a) { dk_run(a); }
#endif
