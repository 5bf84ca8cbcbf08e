/* Weight layouts of the int8 SIMD kernels, built once per model at load (plan.c) from the
 * [cout][cin_g][kk] int8 weights of the file, never in the inference path. */
#include "kernels.h"

size_t cnm_q8_pairs_elems(int cout, int cin_g, int kk) { return (size_t)cout * (size_t)((cin_g + 1) / 2) * (size_t)kk; }

void cnm_q8_pack_pairs(const int8_t *w, int cout, int cin_g, int kk, int32_t *out) {
    const int kp = (cin_g + 1) / 2;
    for (int o = 0; o < cout; o++)
        for (int j = 0; j < kp; j++)
            for (int t = 0; t < kk; t++) {
                const int lo = w[((size_t)o * cin_g + 2 * j) * kk + t];
                const int hi = 2 * j + 1 < cin_g ? w[((size_t)o * cin_g + 2 * j + 1) * kk + t] : 0;
                out[((size_t)o * kp + j) * kk + t] = (int32_t)((uint32_t)(uint16_t)(int16_t)lo | (uint32_t)(uint16_t)(int16_t)hi << 16);
            }
}

size_t cnm_q8_dot_bytes(int groups, int cout_g, int cin_g, int kk) {
    return (size_t)groups * (size_t)((cout_g + 3) / 4) * (size_t)((cin_g + 3) / 4) * (size_t)kk * 16;
}

void cnm_q8_pack_dot(const int8_t *w, int groups, int cout_g, int cin_g, int kk, int8_t *out, int32_t *wsum) {
    const int nb = (cout_g + 3) / 4, kq = (cin_g + 3) / 4;
    size_t at = 0;
    for (int g = 0; g < groups; g++)
        for (int b = 0; b < nb; b++)
            for (int jq = 0; jq < kq; jq++)
                for (int t = 0; t < kk; t++)
                    for (int r = 0; r < 4; r++)
                        for (int i = 0; i < 4; i++) {
                            const int o = 4 * b + r, j = 4 * jq + i;
                            out[at++] = (o < cout_g && j < cin_g) ? w[(((size_t)g * cout_g + o) * cin_g + j) * kk + t] : 0;
                        }
    for (int o = 0; o < groups * cout_g; o++) {
        int32_t sum = 0;
        for (size_t i = 0; i < (size_t)cin_g * kk; i++) sum += w[(size_t)o * cin_g * kk + i];
        wsum[o] = sum;
    }
}
