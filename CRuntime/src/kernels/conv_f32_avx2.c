/* Direct KxK convolution, fp32, AVX2 + FMA: direct.h on its layer. Slots of 8 floats, 2 slots per
 * item (4 when the block has at most 2 output channels and the map is wider than 16: 8
 * accumulators either way); per tap, a broadcast weight feeds one FMA per slot. */
#include "layer_f32_avx2.h"
#include "direct_layout.h"

#if defined(__x86_64__)
#define DK_HALF 0
#define DK_S 2
#define DK_S_WIDE 4
static void dk_pack(const cnm_direct_args *a) { cnm_direct_pack(a->s, a->in, a->pad); }
#include "direct.h"

void cnm_conv2d_direct_f32_avx2(const cnm_direct_args *a) { dk_run(a); }
#endif
