/* Direct KxK convolution (stride 1 or 2), int8, aarch64 with the dot-product extension. The input
 * is quantised once into a zero-bordered copy of words of 4 consecutive input channels as signed
 * bytes s = q + zp - 128 (the border is the word of q = 0); then the micro-kernel of direct.h,
 * where per tap one 16-byte load holds the 4 outputs' weights and `sdot` by element adds 4 byte
 * products per lane, 4 slots of 4 pixels x 4 outputs. (128 - zp) * sum(w) restores the sum of
 * q * w exactly: bit-identical to conv_q8_ref.c. */
#include "layer_q8_neondot.h"
#include "direct_layout.h"

#if defined(__aarch64__)
#define DK_HALF 0
#define DK_S 4
#define DK_S_WIDE 4
static void dk_pack(const cnm_direct_args *a) { q8n_pack_direct(a->s, a->in, a->inv_scale, a->zp, a->pad); }
#include "direct.h"

void cnm_conv2d_direct_q8_neondot(const cnm_direct_args *a) { dk_run(a); }
#endif
