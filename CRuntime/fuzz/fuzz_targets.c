/* libFuzzer targets for everything the runtime parses from outside:
 *   FUZZ_CNM        the .cnm loader and validator; a model that loads and is small is run with an
 *                   oracle (below)
 *   FUZZ_CNMFIELDS  the same target with a structure-aware mutator: it changes one field of one
 *                   real record (a header field, a tensor's dims or offset, a buffer's shape, a
 *                   value's channel range, an op's type, flags, values, tensors or parameter slots)
 *                   to an extreme, wrapping or neighbouring value, instead of random bytes
 *   FUZZ_PNM        the PPM/PGM decoder (and resizing the result)
 *   FUZZ_NPY        the .npy parser
 * Built by `make -C CRuntime fuzz` with clang -fsanitize=fuzzer,address,undefined; checksums are
 * not enforced in these builds (format.c), so mutations reach the validator behind them.
 *
 * The oracle: a model the loader accepts must run right, so the fuzzer also runs it unfused
 * (every op its own kernel) and traps unless the logits are the same bits, on every kernel table
 * this CPU runs; and for fp32 models whose values stay moderate it traps unless the SIMD tables
 * agree with the scalar references within 1e-3 of the largest logit. */
#include "cnm.h"
#include "../src/kernels/kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(FUZZ_CNM) || defined(FUZZ_CNMFIELDS)
/* logits of model m on the given table, or 0 when no context can be made */
static int run(const cnm_model *m, const cnm_kernels *k, const float *x, size_t n, float *y, size_t classes) {
    cnm_context *c = NULL;
    if (cnm_context_create_with_kernels(m, 1, k, &c) != CNM_OK) return 0;
    cnm_error err;
    const int ok = cnm_context_run(c, x, n, y, classes, &err) == CNM_OK;
    cnm_context_free(c);
    return ok;
}

/* the same bits, any NaN being equal to any NaN (payloads are not part of the results) */
static int same_bits(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(a + i, b + i, sizeof(float)) != 0 && !(isnan(a[i]) && isnan(b[i]))) return 0;
    return 1;
}

/* SIMD and scalar kernels sum in different orders, so they may only be compared where that cannot
 * matter: fp32 models (in int8 ones a last-bit difference of an fp32 op may move a value across a
 * rounding boundary of the next quantisation) whose every intermediate value, run op by op with
 * the scalar kernels, is finite and at most 1e6; the tolerance grows with the largest of them
 * (reordered sums err in proportion to their terms, not to the result). */
static int moderate(const cnm_model *unfused, const cnm_model_info *info, const cnm_kernels *scalar, const float *x, size_t n,
                    float *largest) {
    for (uint32_t i = 0; i < info->num_ops; i++) {
        cnm_op_info o;
        if (!cnm_model_op(unfused, i, &o) || o.quantized) return 0;
    }
    cnm_context *c = NULL;
    if (cnm_context_create_with_kernels(unfused, 1, scalar, &c) != CNM_OK) return 0;
    cnm_error err;
    float *y = malloc(info->num_classes * sizeof(float));
    int ok = y && cnm_context_run(c, x, n, y, info->num_classes, &err) == CNM_OK;
    for (uint32_t v = 0; ok && v < info->num_values; v++) {
        size_t count = 0;
        const float *p = cnm_context_value(c, v, &count);
        for (size_t i = 0; p && i < count; i++) {
            ok &= fabsf(p[i]) <= 1e6f;
            if (fabsf(p[i]) > *largest) *largest = fabsf(p[i]);
        }
    }
    free(y);
    cnm_context_free(c);
    return ok;
}

static void oracle(const uint8_t *data, size_t size, const cnm_model *fused, const cnm_model_info *info) {
    cnm_model *unfused = NULL;
    cnm_error err;
    if (cnm_model_load_memory(data, size, "fuzz.cnm", CNM_LOAD_NO_FUSION, &unfused, &err) != CNM_OK) {
        fprintf(stderr, "oracle: the model loads fused but not unfused: %s\n", err.message);
        __builtin_trap();
    }
    const size_t n = (size_t)info->input_c * info->input_h * info->input_w, k = info->num_classes;
    float *x = malloc(n * sizeof(float)), *y0 = malloc(k * sizeof(float)), *y1 = malloc(k * sizeof(float)),
          *ys = malloc(k * sizeof(float));
    for (size_t i = 0; x && i < n; i++) x[i] = (float)((int)((i * 2654435761u) >> 24) % 17 - 8) * 0.25f;
    const cnm_kernels *tables[16];
    const int nt = cnm_kernel_tables(tables, 16);
    int have_scalar = 0;
    float largest = 0.0f; /* of the intermediate values: reordered sums of them err in proportion */
    const int compare_tables = x && moderate(unfused, info, tables[0], x, n, &largest);
    for (int t = 0; x && y0 && y1 && ys && t < nt; t++) {
        if (!run(fused, tables[t], x, n, y0, k) || !run(unfused, tables[t], x, n, y1, k)) continue;
        if (!same_bits(y0, y1, k)) {
            fprintf(stderr, "oracle: fused and unfused logits differ on %s (%g vs %g)\n", tables[t]->name, y0[0], y1[0]);
            __builtin_trap();
        }
        if (t == 0) { memcpy(ys, y0, k * sizeof(float)); have_scalar = 1; continue; } /* tables[0] is scalar */
        if (!have_scalar || !compare_tables) continue;
        float scale = largest * 1e-3f > 1.0f ? largest * 1e-3f : 1.0f;
        int finite = 1;
        for (size_t j = 0; j < k; j++) {
            finite &= isfinite(ys[j]) && fabsf(ys[j]) < 1e6f;
            if (fabsf(ys[j]) > scale) scale = fabsf(ys[j]);
        }
        for (size_t j = 0; finite && j < k; j++)
            if (!(fabsf(y0[j] - ys[j]) <= 1e-3f * scale)) {
                fprintf(stderr, "oracle: %s gives %g where the scalar kernels give %g (logit %zu)\n", tables[t]->name, y0[j], ys[j], j);
                __builtin_trap();
            }
    }
    free(x); free(y0); free(y1); free(ys);
    cnm_model_free(unfused);
}

static void fuzz_cnm(const uint8_t *data, size_t size) {
    cnm_error err;
    cnm_model *m = NULL;
    if (cnm_model_load_memory(data, size, "fuzz.cnm", 0, &m, &err) != CNM_OK) return;
    cnm_model_info info;
    cnm_model_get_info(m, &info);
    /* run only models whose work is small, so the fuzzer explores the validator, not compute */
    if (info.work < 2000000 && info.arena_bytes < (8u << 20)) oracle(data, size, m, &info);
    cnm_model_free(m);
}
#endif

#if defined(FUZZ_CNMFIELDS)
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* The next value for a 32-bit field that held `old`: extremes, wrapping values, neighbours,
 * powers of two around every limit of FORMAT.md, special floats. */
static uint32_t interesting(uint32_t old, uint32_t r) {
    static const uint32_t picks[] = {0, 1, 2, 3, 4, 7, 8, 16, 63, 64, 65, 127, 128, 255, 256, 4095, 4096, 4097,
                                     65535, 65536, 66311, 66312, 1u << 24, 1u << 28, (1u << 28) + 1, 1u << 30,
                                     1u << 31, 0x7FFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFEu,
                                     0x7F800000u /* inf */, 0xFF800000u, 0x7FC00000u /* nan */, 0x00000001u /* subnormal */,
                                     0x7149F2CAu /* 1e30 */, 0x3F800000u /* 1.0 */};
    switch (r % 4) {
    case 0: return picks[(r / 4) % (sizeof picks / sizeof picks[0])];
    case 1: return old + 1;
    case 2: return old - 1;
    default: return old * 2 + (r & 1);
    }
}

/* section s's records: (offset, count, entry) from the header */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
    uint32_t r = seed * 2654435761u + 12345u;
#define NEXT() (r = r * 1664525u + 1013904223u, r >> 8)
    if (size < 256 || memcmp(data, "\x89" "CNM", 4) != 0 || NEXT() % 8 == 0) return LLVMFuzzerMutate(data, size, max_size);
    /* the header's own fields (input/output values, shape, mean/std, resize) or a record's field */
    const uint32_t s = NEXT() % 8; /* 0..6 a section, 7 the header */
    if (s == 7) {
        static const uint32_t header_fields[] = {144, 148, 152, 156, 160, 164, 168, 172, 184, 188, 200};
        const uint32_t at = header_fields[NEXT() % (sizeof header_fields / sizeof header_fields[0])];
        wr32(data + at, interesting(rd32(data + at), NEXT()));
        return size;
    }
    static const uint32_t entry[7] = {1, 16, 8, 48, 16, 16, 64};
    const uint64_t off = (uint64_t)rd32(data + 32 + 16 * s) | (uint64_t)rd32(data + 36 + 16 * s) << 32;
    const uint32_t count = rd32(data + 40 + 16 * s);
    if (s == 0 || count == 0 || rd32(data + 44 + 16 * s) != entry[s] || off + (uint64_t)count * entry[s] > size)
        return LLVMFuzzerMutate(data, size, max_size);
    const uint32_t rec = NEXT() % count, field = NEXT() % (entry[s] / 4);
    uint8_t *p = data + off + (uint64_t)rec * entry[s] + 4 * field;
    /* sometimes a field of another record of the section (a plausible but wrong reference) */
    if (NEXT() % 4 == 0) wr32(p, rd32(data + off + (uint64_t)(NEXT() % count) * entry[s] + 4 * field));
    else wr32(p, interesting(rd32(p), NEXT()));
    return size;
#undef NEXT
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
#if defined(FUZZ_CNM) || defined(FUZZ_CNMFIELDS)
    fuzz_cnm(data, size);
#elif defined(FUZZ_PNM)
    cnm_error err;
    cnm_image img;
    if (cnm_image_decode_pnm(data, size, "fuzz.ppm", &img, &err) == CNM_OK) {
        cnm_image small;
        if (cnm_image_resize(&img, 7, 5, &small, &err) == CNM_OK) cnm_image_free(&small);
        cnm_image_free(&img);
    }
#elif defined(FUZZ_NPY)
    cnm_error err;
    cnm_npy a;
    if (cnm_npy_parse(data, size, "fuzz.npy", &a, &err) == CNM_OK) cnm_npy_free(&a);
#else
#error "define FUZZ_CNM, FUZZ_CNMFIELDS, FUZZ_PNM or FUZZ_NPY"
#endif
    return 0;
}
