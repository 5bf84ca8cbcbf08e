/* The kernel tables: one per set of ISA extensions, lowest first. A context takes the last one
 * this CPU can run whose level CNM_ISA allows (cnm_kernels_select); the C tests run every one
 * the CPU can run. Where an ISA has no faster kernel for an algorithm, its table holds the
 * scalar reference. */
#include "cnm.h"
#include "kernels.h"

/* ---- the scalar table's entries that adapt a reference to the table's signature ---- */
static void maxpool_f32_ref(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t stride) {
    (void)scratch, (void)stride;
    cnm_maxpool_f32_ref(s, in, out);
}
static void avgpool_f32_ref(const cnm_pool_shape *s, const float *in, float *out, float *scratch, size_t stride) {
    (void)scratch, (void)stride;
    cnm_avgpool_f32_ref(s, in, out);
}
static void direct_f32_ref(const cnm_direct_args *a) { cnm_conv2d_f32_ref(a->s, a->in, a->w, a->bias, a->out); }
static void direct_q8_ref(const cnm_direct_args *a) {
    cnm_conv2d_q8_ref(a->s, a->in, a->wq, a->mult, a->bias, a->inv_scale, a->zp, a->out);
}
static void linear_f32_ref(const float *x, const float *weight, const float *bias, const int32_t *index, float *out, int n,
                           int k, int relu, float *packed) {
    (void)packed;
    cnm_linear_f32_ref(x, weight, bias, index, out, n, k, relu);
}

#define SCALAR_TABLE                                                                                           \
    {"scalar", "scalar", "", "", 0, 0, cnm_pointwise_f32_ref, direct_f32_ref, cnm_pointwise_q8_ref, direct_q8_ref, cnm_pointwise_q8_ref, direct_q8_ref, \
     linear_f32_ref, avgpool_f32_ref, maxpool_f32_ref, cnm_channel_avg_f32_ref, cnm_depthwise_f32_ref, cnm_winograd_f32_ref, NULL, NULL, 1, 1, 1, 1}

#if defined(__x86_64__)
static const cnm_kernels TABLES[] = {
    SCALAR_TABLE,
    {"avx2+fma", "avx2+fma", "", "", CNM_CPU_AVX2, 1, cnm_pointwise_f32_avx2, cnm_conv2d_direct_f32_avx2,
     cnm_pointwise_q8_avx2, cnm_conv2d_direct_q8_avx2, cnm_pointwise_q8w7_avx2, cnm_conv2d_direct_q8w7_avx2, cnm_linear_f32_avx2, cnm_avgpool_f32_avx2, cnm_maxpool_f32_avx2, cnm_channel_avg_f32_avx2, cnm_depthwise_f32_avx2, cnm_winograd_f32_avx2, NULL, NULL, 6, 16, 4, 8},
    {"avx2+fma+avx-vnni", "avx2+fma", "", "+avx-vnni", CNM_CPU_AVX2 | CNM_CPU_AVXVNNI, 2, cnm_pointwise_f32_avx2,
     cnm_conv2d_direct_f32_avx2, cnm_pointwise_q8_avxvnni, cnm_conv2d_direct_q8_avxvnni, cnm_pointwise_q8_avxvnni, cnm_conv2d_direct_q8_avxvnni, cnm_linear_f32_avx2,
     cnm_avgpool_f32_avx2, cnm_maxpool_f32_avx2, cnm_channel_avg_f32_avx2, cnm_depthwise_f32_avx2, cnm_winograd_f32_avx2, NULL, NULL, 6, 16, 4, 8},
    {"avx512f", "avx2+fma", "+avx512f", "", CNM_CPU_AVX2 | CNM_CPU_AVX512F, 3, cnm_pointwise_f32_avx512,
     cnm_conv2d_direct_f32_avx512, cnm_pointwise_q8_avx2, cnm_conv2d_direct_q8_avx2, cnm_pointwise_q8w7_avx2, cnm_conv2d_direct_q8w7_avx2, cnm_linear_f32_avx2,
     cnm_avgpool_f32_avx2, cnm_maxpool_f32_avx512, cnm_channel_avg_f32_avx2, cnm_depthwise_f32_avx512, cnm_winograd_f32_avx512, NULL, NULL, 6, 64, 4, 16},
    {"avx512f+avx-vnni", "avx2+fma", "+avx512f", "+avx-vnni", CNM_CPU_AVX2 | CNM_CPU_AVX512F | CNM_CPU_AVXVNNI, 3,
     cnm_pointwise_f32_avx512, cnm_conv2d_direct_f32_avx512, cnm_pointwise_q8_avxvnni, cnm_conv2d_direct_q8_avxvnni, cnm_pointwise_q8_avxvnni, cnm_conv2d_direct_q8_avxvnni,
     cnm_linear_f32_avx2, cnm_avgpool_f32_avx2, cnm_maxpool_f32_avx512, cnm_channel_avg_f32_avx2, cnm_depthwise_f32_avx512, cnm_winograd_f32_avx512, NULL, NULL, 6, 64, 4, 16},
    {"avx512f+avx512-vnni", "avx2+fma", "+avx512f", "+avx512-vnni", CNM_CPU_AVX2 | CNM_CPU_AVX512F | CNM_CPU_AVX512VNNI, 3,
     cnm_pointwise_f32_avx512, cnm_conv2d_direct_f32_avx512, cnm_pointwise_q8_avx512vnni, cnm_conv2d_direct_q8_avx512vnni, cnm_pointwise_q8_avx512vnni, cnm_conv2d_direct_q8_avx512vnni,
     cnm_linear_f32_avx2, cnm_avgpool_f32_avx2, cnm_maxpool_f32_avx512, cnm_channel_avg_f32_avx2, cnm_depthwise_f32_avx512, cnm_winograd_f32_avx512, NULL, NULL, 6, 64, 4, 16},
};
#elif defined(__aarch64__)
static const cnm_kernels TABLES[] = {
    SCALAR_TABLE,
    {"neon", "neon", "", "", CNM_CPU_NEON, 1, cnm_pointwise_f32_neon, cnm_conv2d_direct_f32_neon, cnm_pointwise_q8_neon,
     cnm_conv2d_direct_q8_neon, cnm_pointwise_q8_neon, cnm_conv2d_direct_q8_neon, cnm_linear_f32_neon, cnm_avgpool_f32_neon, cnm_maxpool_f32_neon, cnm_channel_avg_f32_neon, cnm_depthwise_f32_neon, cnm_winograd_f32_neon, NULL, NULL, 4, 16, 4, 4},
    {"neon+dotprod", "neon+dotprod", "", "", CNM_CPU_NEON | CNM_CPU_DOTPROD, 2, cnm_pointwise_f32_neon,
     cnm_conv2d_direct_f32_neon, cnm_pointwise_q8_neondot, cnm_conv2d_direct_q8_neondot, cnm_pointwise_q8_neondot, cnm_conv2d_direct_q8_neondot, cnm_linear_f32_neon,
     cnm_avgpool_f32_neon, cnm_maxpool_f32_neon, cnm_channel_avg_f32_neon, cnm_depthwise_f32_neon, cnm_winograd_f32_neon, NULL, NULL, 4, 16, 4, 4},
    {"neon+dotprod+fp16", "neon+dotprod", "", "", CNM_CPU_NEON | CNM_CPU_DOTPROD | CNM_CPU_FP16, 3, cnm_pointwise_f32_neon,
     cnm_conv2d_direct_f32_neon, cnm_pointwise_q8_neondot, cnm_conv2d_direct_q8_neondot, cnm_pointwise_q8_neondot, cnm_conv2d_direct_q8_neondot,
     cnm_linear_f32_neon, cnm_avgpool_f32_neon, cnm_maxpool_f32_neon, cnm_channel_avg_f32_neon, cnm_depthwise_f32_neon, cnm_winograd_f32_neon,
     cnm_pointwise_f16_neon, cnm_conv2d_direct_f16_neon, 4, 16, 4, 4},
};
#else
static const cnm_kernels TABLES[] = {SCALAR_TABLE};
#endif
#define N_TABLES ((int)(sizeof TABLES / sizeof TABLES[0]))

int cnm_kernel_tables(const cnm_kernels **out, int max) {
    const unsigned have = cnm_cpu_features();
    int n = 0;
    for (int i = 0; i < N_TABLES; i++)
        if ((TABLES[i].requires & ~have) == 0) {
            if (n < max) out[n] = &TABLES[i];
            n++;
        }
    return n;
}

const cnm_kernels *cnm_kernels_select(void) {
    const unsigned have = cnm_cpu_features();
    const int cap = cnm_isa_cap();
    const cnm_kernels *best = &TABLES[0];
    for (int i = 0; i < N_TABLES; i++)
        if ((TABLES[i].requires & ~have) == 0 && TABLES[i].level <= cap) best = &TABLES[i];
    return best;
}

const char *cnm_kernel_table_name(int i, int *runs) {
    if (i < 0 || i >= N_TABLES) return NULL;
    if (runs) *runs = (TABLES[i].requires & ~cnm_cpu_features()) == 0;
    return TABLES[i].name;
}

const char *cnm_kernel_table_selected(void) { return cnm_kernels_select()->name; }

const char *cnm_version(void) { return CNM_VERSION; }

const char *cnm_compiler(void) {
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown C compiler";
#endif
}
