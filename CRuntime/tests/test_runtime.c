#define _POSIX_C_SOURCE 200809L /* setenv */
/* C test runner for the runtime, runnable without Swift (host or aarch64 under qemu).
 *   test_runtime MODEL.cnm INPUTS.npy LOGITS.npy
 * Kernel tests compare every fast kernel with the scalar references over odd shapes; the
 * model test runs the official CondenseNet-86 fixture against PyTorch's logits. Prints one
 * line per failure and a closing "N passed, N failed". */
#include "cnm.h"
#include "../src/internal.h"
#include "../src/kernels/kernels.h"
#include "check.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int passed, failed;
static size_t max_images = 1000;
/* --quick (valgrind): one inference per context; the 40 warm runs that count heap calls and the
 * 3- and 4-thread determinism runs are left to the native `make check` */
static int quick = 0;
static float *read_npy(const char *path, size_t *count);
static void test_model_every_table(const cnm_model *m, const float *x, const float *ref, size_t per, size_t k, size_t n,
                                   double tol);
static void test_fusion_independent(const char *path, const float *x, size_t per, size_t k, size_t n);
static void test_model_fp16(const char *path, const float *x, const float *ref, size_t per, size_t k, size_t n);

/* Allocation counting: the test binary is linked with -Wl,--wrap=malloc,... so every heap call
 * made by the runtime's objects goes through these counters. */
#ifdef CNM_COUNT_ALLOCS
void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
void *__real_aligned_alloc(size_t, size_t);
void __real_free(void *);
static volatile long alloc_calls;
void *__wrap_malloc(size_t n) { __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED); return __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED); return __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED); return __real_realloc(p, n); }
void *__wrap_aligned_alloc(size_t a, size_t n) { __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED); return __real_aligned_alloc(a, n); }
void __wrap_free(void *p) { if (p) __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED); __real_free(p); }
#endif
static uint32_t rng = 2463534242u;
float frand(void) { /* xorshift32 in [-1, 1) */
    rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5;
    return (float)(rng >> 8) / 8388608.0f - 1.0f;
}
float *rand_buf(size_t n) {
    float *p = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}
/* max |a-b| relative to max(1, max|b|) */
double rel_diff(const float *a, const float *b, size_t n) {
    double d = 0, m = 1;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (e > d || e != e) d = e != e ? INFINITY : e;
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return d / m;
}

/* int8 model: bit-identical at every thread count and on the portable path */
static void test_model_q8(const char *path, const char *in_path, const char *ref_path) {
    cnm_error err;
    cnm_model *m = NULL;
    CHECK(cnm_model_load(path, &m, &err) == CNM_OK, "load %s: %s", path, err.message);
    if (!m) return;
    cnm_model_info info;
    cnm_model_get_info(m, &info);
    size_t nin = 0, nref = 0;
    float *x = read_npy(in_path, &nin), *ref = read_npy(ref_path, &nref);
    const size_t per = (size_t)info.input_c * info.input_h * info.input_w, k = info.num_classes;
    const size_t n = nin / per < max_images ? nin / per : max_images;
    float *y[5];
    for (int t = 0; t < 5; t++) {
        y[t] = NULL;
        if (quick && (t == 2 || t == 3)) continue; /* 3 and 4 threads: left to the native run */
        if (t == 4) setenv("CNM_ISA", "scalar", 1);
        cnm_context *c = NULL;
        cnm_context_create(m, t == 4 ? 2 : t + 1, &c, &err);
        y[t] = malloc(sizeof(float) * n * k);
        for (size_t i = 0; i < n; i++) cnm_context_run(c, x + i * per, per, y[t] + i * k, k, &err);
        if (t == 4) unsetenv("CNM_ISA");
        cnm_context_free(c);
    }
    for (int t = 1; t < 4; t++)
        if (y[t]) CHECK(memcmp(y[0], y[t], sizeof(float) * n * k) == 0, "int8 model: %d threads differ from 1 thread", t + 1);
    /* the int8 kernels are bit-exact across ISAs (kernel tests), but the model's fp32 kernels
     * (pooling, classifier) sum in another order on the portable path, and a last-bit difference
     * upstream can move a value across a rounding boundary of the next layer's quantisation */
    test_model_every_table(m, x, y[0], per, k, n, 1e-2);
    test_fusion_independent(path, x, per, k, n);
    double ds = rel_diff(y[4], y[0], n * k);
    CHECK(ds < 1e-2, "int8 model: the scalar path differs by %.3g (relative)", ds);
    int agree = 0;
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        size_t a = 0, b = 0;
        for (size_t j = 1; j < k; j++) {
            if (y[0][i * k + j] > y[0][i * k + a]) a = j;
            if (ref[i * k + j] > ref[i * k + b]) b = j;
        }
        agree += a == b;
        for (size_t j = 0; j < k; j++) { double e = fabs((double)y[0][i * k + j] - ref[i * k + j]); if (e > d) d = e; }
    }
    CHECK(agree == (int)n && d < 0.25, "int8 model vs fp32 PyTorch logits: %d/%zu top-1 agree, max |diff| %.3g", agree, n, d);
    printf("int8 model %s: bit-identical at 1-%d threads, scalar path within %.1e; vs PyTorch fp32: %d/%zu top-1, max |diff| %.3f\n",
           path, quick ? 2 : 4, ds, agree, n, d);
    for (int t = 0; t < 5; t++) free(y[t]);
    free(x); free(ref);
    cnm_model_free(m);
}

/* max pool 3x3 stride 2 pad 1 (the DenseNet/ResNet stem) on a 4x4 ramp, worked out by hand:
 * padding must never win, also when every input is negative */
/* The folding CRC-32 (PCLMULQDQ / Armv8 CRC32) against the byte-table one and zlib's check value,
 * for every length up to 1100 at every alignment, chained, and on 1 MiB. */
static void test_crc32(void) {
    CHECK(cnm_crc32_with(CNM_CRC_BYTES, 0, "123456789", 9) == 0xCBF43926u, "table CRC of the check string");
    CHECK(cnm_crc32_with(CNM_CRC_FOLD, 0, "123456789", 9) == 0xCBF43926u, "fast CRC of the check string");
    const size_t big = (size_t)1 << 20;
    uint8_t *b = malloc(big + 64);
    uint32_t x = 0x9E3779B9u;
    for (size_t i = 0; i < big + 64; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; b[i] = (uint8_t)x; }
    int bad = 0;
    for (size_t off = 0; off < 16; off++)
        for (size_t n = 0; n <= 1100; n++)
            if (cnm_crc32_with(CNM_CRC_FOLD, 0, b + off, n) != cnm_crc32_with(CNM_CRC_BYTES, 0, b + off, n)) bad++;
    CHECK(bad == 0, "fast CRC differs from the table CRC on %d of 17616 (offset, length) pairs", bad);
    const uint32_t whole = cnm_crc32_with(CNM_CRC_BYTES, 0, b + 3, big);
    CHECK(cnm_crc32_with(CNM_CRC_FOLD, 0, b + 3, big) == whole, "fast CRC of 1 MiB");
    CHECK(cnm_crc32_with(CNM_CRC_FOLD, cnm_crc32_with(CNM_CRC_FOLD, 0, b + 3, 1000), b + 1003, big - 1000) == whole, "chained fast CRC");
    CHECK(cnm_crc32(0, b + 3, big) == whole, "cnm_crc32");
    printf("crc32: %s\n", cnm_crc32_fast() ? "folding (PCLMULQDQ / Armv8 CRC32) checked against the table" : "no fast path on this CPU");
    free(b);
}

static void test_maxpool(void) {
    float up[16], down[16], y[4];
    for (int i = 0; i < 16; i++) up[i] = (float)i, down[i] = (float)-i;
    const float want_up[4] = {5, 7, 13, 15}, want_down[4] = {0, -1, -4, -5};
    cnm_maxpool_f32_ref(&(cnm_pool_shape){1, 4, 4, 2, 2, 3, 3, 2, 2, 1, 1, 0}, up, y);
    CHECK(!memcmp(y, want_up, sizeof y), "maxpool ramp: %g %g %g %g", y[0], y[1], y[2], y[3]);
    cnm_maxpool_f32_ref(&(cnm_pool_shape){1, 4, 4, 2, 2, 3, 3, 2, 2, 1, 1, 0}, down, y);
    CHECK(!memcmp(y, want_down, sizeof y), "maxpool negative ramp: %g %g %g %g", y[0], y[1], y[2], y[3]);
    cnm_maxpool_f32_ref(&(cnm_pool_shape){1, 4, 4, 2, 2, 3, 3, 2, 2, 1, 1, 1}, down, y);
    CHECK(y[0] == 0 && y[3] == 0, "maxpool + relu: %g %g", y[0], y[3]);
    down[0] = NAN; /* only in the first window */
    cnm_maxpool_f32_ref(&(cnm_pool_shape){1, 4, 4, 2, 2, 3, 3, 2, 2, 1, 1, 0}, down, y);
    CHECK(isnan(y[0]) && y[1] == -1 && y[2] == -4 && y[3] == -5, "maxpool NaN: %g %g %g %g", y[0], y[1], y[2], y[3]);
}

/* add and LRN against values worked out by hand; max pool in ceil mode (GoogLeNet): a 4x4 ramp,
 * 3x3 stride 2 without padding gives 2x2 windows starting at 0 and 2, the second clipped to 2 rows */
static void test_generic_ops(void) {
    const float a[4] = {1, -2, 3, -4}, b[4] = {0.5f, 1, -5, 4};
    float y[4];
    cnm_add_f32_ref(a, b, y, 4, 0);
    CHECK(y[0] == 1.5f && y[1] == -1 && y[2] == -2 && y[3] == 0, "add: %g %g %g %g", y[0], y[1], y[2], y[3]);
    cnm_add_f32_ref(a, b, y, 4, 1);
    CHECK(y[0] == 1.5f && y[1] == 0 && y[2] == 0 && y[3] == 0, "add + relu: %g %g %g %g", y[0], y[1], y[2], y[3]);
    /* LRN, 4 channels of one pixel, size 3 (window c-1..c+1), alpha 3 (alpha/size = 1), beta 0.5, bias 1:
     * x = 1,2,2,0: sums of squares 5, 9, 8, 4 -> y = 1/sqrt(6), 2/sqrt(10), 2/3, 0 */
    const float x[4] = {1, 2, 2, 0};
    cnm_lrn_f32_ref(x, y, 4, 1, 3, 3.0f, 0.5f, 1.0f, 0);
    const float want[4] = {1 / sqrtf(6), 2 / sqrtf(10), 2.0f / 3, 0};
    int ok = 1;
    for (int i = 0; i < 4; i++) ok &= fabsf(y[i] - want[i]) < 1e-6f;
    CHECK(ok, "lrn: %g %g %g %g", y[0], y[1], y[2], y[3]);
    /* size 4 (even): window c-1..c+2, as ONNX defines it: sums 9, 9, 8, 4 */
    cnm_lrn_f32_ref(x, y, 4, 1, 4, 4.0f, 1.0f, 1.0f, 0);
    CHECK(fabsf(y[0] - 0.1f) < 1e-6f && fabsf(y[1] - 0.2f) < 1e-6f && fabsf(y[2] - 2.0f / 9) < 1e-6f && y[3] == 0,
          "lrn even size: %g %g %g %g", y[0], y[1], y[2], y[3]);
    float ramp[16];
    for (int i = 0; i < 16; i++) ramp[i] = (float)i;
    cnm_maxpool_f32_ref(&(cnm_pool_shape){1, 4, 4, 2, 2, 3, 3, 2, 2, 0, 0, 0}, ramp, y);
    CHECK(y[0] == 10 && y[1] == 11 && y[2] == 14 && y[3] == 15, "maxpool ceil mode: %g %g %g %g", y[0], y[1], y[2], y[3]);
}

/* minimal float32 .npy reader for the fixtures */
static float *read_npy(const char *path, size_t *count) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char h[10];
    if (fread(h, 1, 10, f) != 10 || memcmp(h, "\x93NUMPY", 6) != 0) { fclose(f); return NULL; }
    size_t hl = (size_t)h[8] | (size_t)h[9] << 8;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    size_t n = ((size_t)size - 10 - hl) / 4;
    float *p = malloc(n * sizeof(float));
    fseek(f, (long)(10 + hl), SEEK_SET);
    if (fread(p, sizeof(float), n, f) != n) { free(p); p = NULL; }
    fclose(f);
    *count = n;
    return p;
}

/* One model shared by several contexts on several threads: every result must equal the
 * single-threaded one, bit for bit (the thread-safety contract of cnm.h). */
typedef struct {
    const cnm_model *m;
    const float *x, *ref;
    size_t per, classes, images;
    int iterations, mismatches, errors;
} worker_args;

static void *worker(void *p) {
    worker_args *a = p;
    cnm_error err;
    cnm_context *c = NULL;
    if (cnm_context_create(a->m, 1, &c, &err) != CNM_OK) { a->errors++; return NULL; }
    float *y = malloc(sizeof(float) * a->classes);
    for (int it = 0; it < a->iterations; it++) {
        size_t i = (size_t)it % a->images;
        if (cnm_context_run(c, a->x + i * a->per, a->per, y, a->classes, &err) != CNM_OK) a->errors++;
        else if (memcmp(y, a->ref + i * a->classes, sizeof(float) * a->classes) != 0) a->mismatches++;
    }
    free(y);
    cnm_context_free(c);
    return NULL;
}

static int concurrency_runs = 10000;

static void test_concurrency(const cnm_model *m, const float *x, const float *y1, size_t per, size_t classes, size_t images) {
    enum { T = 4 };
    pthread_t th[T];
    worker_args a[T];
    for (int t = 0; t < T; t++) {
        a[t] = (worker_args){.m = m, .x = x, .ref = y1, .per = per, .classes = classes, .images = images,
                             .iterations = concurrency_runs / T};
        pthread_create(&th[t], NULL, worker, &a[t]);
    }
    int mism = 0, errs = 0;
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        mism += a[t].mismatches;
        errs += a[t].errors;
    }
    CHECK(mism == 0 && errs == 0, "%d inferences on %d threads sharing one model: %d differ from the single-threaded results, %d errors",
          concurrency_runs, T, mism, errs);
    printf("concurrency: %d inferences on %d threads sharing one model, %d mismatches\n", concurrency_runs, T, mism);
}

/* Fusion is the runtime's business: the model loaded unfused (CNM_LOAD_NO_FUSION, every op its own
 * kernel) gives the same bits as fused, on every kernel table, at 1 and 2 threads. */
static void test_fusion_independent(const char *path, const float *x, size_t per, size_t k, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) { CHECK(0, "open %s", path); return; }
    fseek(f, 0, SEEK_END);
    const size_t size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *bytes = malloc(size);
    const int got = fread(bytes, 1, size, f) == size;
    fclose(f);
    cnm_model *fused = NULL, *unfused = NULL;
    cnm_error err;
    CHECK(got && cnm_model_load_memory(bytes, size, path, 0, &fused, &err) == CNM_OK &&
              cnm_model_load_memory(bytes, size, path, CNM_LOAD_NO_FUSION, &unfused, &err) == CNM_OK,
          "load %s fused and unfused", path);
    const cnm_kernels *tables[16];
    const int nt = cnm_kernel_tables(tables, 16);
    float *y0 = malloc(sizeof(float) * k * n), *y1 = malloc(sizeof(float) * k * n);
    for (int t = 0; fused && unfused && t < nt; t++)
        for (int threads = 1; threads <= 2; threads++) {
            cnm_context *c0 = NULL, *c1 = NULL;
            cnm_context_create_with_kernels(fused, threads, tables[t], &c0);
            cnm_context_create_with_kernels(unfused, threads, tables[t], &c1);
            for (size_t i = 0; c0 && c1 && i < n; i++) {
                cnm_context_run(c0, x + i * per, per, y0 + i * k, k, &err);
                cnm_context_run(c1, x + i * per, per, y1 + i * k, k, &err);
            }
            CHECK(c0 && c1 && !memcmp(y0, y1, sizeof(float) * k * n), "%s on %s, %d threads: fused and unfused logits differ",
                  path, tables[t]->name, threads);
            cnm_context_free(c0);
            cnm_context_free(c1);
        }
    printf("model %s: fused and unfused bit-identical on %d kernel tables at 1 and 2 threads\n", path, nt);
    free(y0); free(y1); free(bytes);
    cnm_model_free(fused);
    cnm_model_free(unfused);
}

/* CNM_LOAD_FP16: on every kernel table with fp16 kernels (aarch64 with FP16 arithmetic), the
 * logits within 1e-2 of the largest PyTorch logit and the same top-1, at 1 and 2 threads
 * bit-identical; on the highest table without them (which runs it in fp32) the fp32 logits,
 * bit for bit. */
static void test_model_fp16(const char *path, const float *x, const float *ref, size_t per, size_t k, size_t n) {
    cnm_error err;
    cnm_model *m = NULL, *m32 = NULL;
    CHECK(cnm_model_load_file(path, CNM_LOAD_FP16, &m, &err) == CNM_OK && cnm_model_load(path, &m32, &err) == CNM_OK,
          "load %s with CNM_LOAD_FP16: %s", path, err.message);
    const cnm_kernels *tables[16];
    const int nt = cnm_kernel_tables(tables, 16);
    float *y = malloc(sizeof(float) * k * n), *y2 = malloc(sizeof(float) * k * n), *y32 = malloc(sizeof(float) * k * n);
    int f16_tables = 0, plain = -1; /* the highest table without fp16 kernels: the flag changes nothing there */
    for (int t = 0; t < nt; t++)
        if (!tables[t]->pointwise_f16) plain = t;
    for (int t = 0; m && m32 && t < nt; t++) {
        if (!tables[t]->pointwise_f16 && t != plain) continue;
        cnm_context *c = NULL, *c2 = NULL, *c32 = NULL;
        cnm_context_create_with_kernels(m, 1, tables[t], &c);
        cnm_context_create_with_kernels(m, 2, tables[t], &c2);
        cnm_context_create_with_kernels(m32, 1, tables[t], &c32);
        for (size_t i = 0; c && c2 && c32 && i < n; i++) {
            cnm_context_run(c, x + i * per, per, y + i * k, k, &err);
            cnm_context_run(c2, x + i * per, per, y2 + i * k, k, &err);
            cnm_context_run(c32, x + i * per, per, y32 + i * k, k, &err);
        }
        CHECK(c && c2 && !memcmp(y, y2, sizeof(float) * k * n), "%s fp16 on %s: 1 and 2 threads differ", path, tables[t]->name);
        if (!tables[t]->pointwise_f16) {
            CHECK(!memcmp(y, y32, sizeof(float) * k * n), "%s with CNM_LOAD_FP16 on %s (no fp16 kernels) differs from fp32", path,
                  tables[t]->name);
        } else {
            f16_tables++;
            const double d = rel_diff(y, ref, k * n);
            int agree = 0;
            for (size_t i = 0; i < n; i++) {
                size_t a = 0, b = 0;
                for (size_t j = 1; j < k; j++) {
                    if (y[i * k + j] > y[i * k + a]) a = j;
                    if (ref[i * k + j] > ref[i * k + b]) b = j;
                }
                agree += a == b;
            }
            CHECK(d < 1e-2 && agree == (int)n, "%s fp16 on %s (%s): rel diff %.3g from PyTorch, %d/%zu top-1 agree", path,
                  tables[t]->name, cnm_context_isa(c), d, agree, n);
            CHECK(strstr(cnm_context_isa(c), "+fp16") != NULL, "fp16 context reports %s", cnm_context_isa(c));
            printf("model %s, fp16 on %s: max |logit - PyTorch| %.2e of the largest, %d/%zu top-1 agree\n", path, cnm_context_isa(c), d,
                   agree, n);
        }
        cnm_context_free(c);
        cnm_context_free(c2);
        cnm_context_free(c32);
    }
    if (!f16_tables) printf("model %s: CNM_LOAD_FP16 runs fp32 on all %d kernel tables (none has fp16 kernels here)\n", path, nt);
    free(y); free(y2); free(y32);
    cnm_model_free(m);
    cnm_model_free(m32);
}

/* The model on every kernel table this CPU runs (1 thread): within `tol` of the reference logits. */
static void test_model_every_table(const cnm_model *m, const float *x, const float *ref, size_t per, size_t k, size_t n,
                                   double tol) {
    const cnm_kernels *tables[16];
    const int nt = cnm_kernel_tables(tables, 16);
    float *y = malloc(sizeof(float) * k);
    for (int t = 0; t < nt; t++) {
        cnm_context *c = NULL;
        cnm_error err;
        CHECK(cnm_context_create_with_kernels(m, 1, tables[t], &c) == CNM_OK, "context on %s", tables[t]->name);
        if (!c) continue;
        double d = 0;
        for (size_t i = 0; i < n; i++) {
            cnm_context_run(c, x + i * per, per, y, k, &err);
            for (size_t j = 0; j < k; j++) {
                const double e = fabs((double)y[j] - ref[i * k + j]);
                if (e > d || e != e) d = e;
            }
        }
        CHECK(d < tol, "model on kernel table %s: max |logit - reference| = %.3g (limit %.3g)", tables[t]->name, d, tol);
        printf("model on kernel table %s: max |logit - reference| = %.2e\n", tables[t]->name, d);
        cnm_context_free(c);
    }
    free(y);
}

static void test_model(const char *model_path, const char *in_path, const char *ref_path) {
    cnm_error err;
    cnm_model *m = NULL;
    cnm_status st = cnm_model_load(model_path, &m, &err);
    CHECK(st == CNM_OK, "load %s: %s", model_path, err.message);
    if (st != CNM_OK) return;
    cnm_model_info info;
    cnm_model_get_info(m, &info);
    size_t nin = 0, nref = 0;
    float *x = read_npy(in_path, &nin), *ref = read_npy(ref_path, &nref);
    CHECK(x && ref, "read fixtures %s, %s", in_path, ref_path);
    if (!x || !ref) { cnm_model_free(m); return; }
    const size_t per = (size_t)info.input_c * info.input_h * info.input_w;
    size_t n = nin / per;
    if (n > max_images) { /* compare only the first images' logits */
        n = max_images;
        nref = n * info.num_classes;
    }
    float *y1 = malloc(sizeof(float) * nref), *y2 = malloc(sizeof(float) * nref);
    cnm_context *c1 = NULL, *c2 = NULL;
    CHECK(cnm_context_create(m, 1, &c1, &err) == CNM_OK && cnm_context_create(m, 2, &c2, &err) == CNM_OK, "context: %s", err.message);
    for (size_t i = 0; i < n; i++) {
        cnm_context_run(c1, x + i * per, per, y1 + i * info.num_classes, info.num_classes, &err);
        cnm_context_run(c2, x + i * per, per, y2 + i * info.num_classes, info.num_classes, &err);
    }
    double d = 0;
    for (size_t i = 0; i < nref; i++) { /* (written out: gcc 12 for aarch64 ICEs vectorising fmax here) */
        double e = fabs((double)y1[i] - ref[i]);
        if (e > d || e != e) d = e;
    }
    CHECK(d < 1e-4, "model %s (%s): max |logit - PyTorch| = %.3g", model_path, cnm_context_isa(c1), d);
    test_model_every_table(m, x, ref, per, info.num_classes, n, 1e-4);
    test_fusion_independent(model_path, x, per, info.num_classes, n);
    test_model_fp16(model_path, x, ref, per, info.num_classes, n);
    CHECK(memcmp(y1, y2, sizeof(float) * nref) == 0, "model %s: 1 and 2 threads differ", model_path);
#ifdef CNM_COUNT_ALLOCS
    if (!quick) { /* zero heap calls inside an inference (the contexts are warm: OpenMP's team exists) */
        long before = alloc_calls;
        /* (each context in a row: libgomp itself reallocates its team when consecutive
         * parallel regions change size, which a static aarch64 link makes visible here) */
        for (int r = 0; r < 20; r++) cnm_context_run(c2, x, per, y2, info.num_classes, &err);
        for (int r = 0; r < 20; r++) cnm_context_run(c1, x, per, y2, info.num_classes, &err);
        long calls = alloc_calls - before;
        long probe = alloc_calls; /* the counter itself works: creating a context allocates */
        cnm_context *tmp = NULL;
        cnm_context_create(m, 1, &tmp, &err);
        cnm_context_free(tmp);
        CHECK(alloc_calls > probe, "allocation counter did not see cnm_context_create");
        CHECK(calls == 0, "model %s: %ld heap calls in 40 inferences", model_path, calls);
        printf("allocations: %ld heap calls (malloc/calloc/realloc/aligned_alloc/free) in 40 inferences\n", calls);
    }
#endif
    for (int t = 3; t <= 4 && !quick; t++) { /* determinism: bit-identical for every thread count */
        cnm_context *ct = NULL;
        CHECK(cnm_context_create(m, t, &ct, &err) == CNM_OK, "context: %s", err.message);
        int same = 1;
        for (size_t i = 0; ct && i < n; i++) {
            cnm_context_run(ct, x + i * per, per, y2 + i * info.num_classes, info.num_classes, &err);
            same &= memcmp(y1 + i * info.num_classes, y2 + i * info.num_classes, sizeof(float) * info.num_classes) == 0;
        }
        CHECK(same, "model %s: %d threads differ from 1 thread", model_path, t);
        cnm_context_free(ct);
    }
    { /* adaptive threads (threads 0): 8 runs (the first four try both counts, twice each)
       * use both one thread and all, each the same bits as the 1-thread reference */
        cnm_context *ca = NULL;
        CHECK(cnm_context_create(m, 0, &ca, &err) == CNM_OK, "adaptive context: %s", err.message);
        int same = 1, saw_one = 0, saw_all = 0;
        const int all = ca ? cnm_context_threads(ca) : 0;
        for (int r = 0; ca && r < 8; r++) {
            const size_t i = (size_t)r % n;
            cnm_context_run(ca, x + i * per, per, y2, info.num_classes, &err);
            same &= memcmp(y1 + i * info.num_classes, y2, sizeof(float) * info.num_classes) == 0;
            saw_one |= cnm_context_threads_used(ca) == 1;
            saw_all |= cnm_context_threads_used(ca) == all;
        }
        CHECK(same, "model %s: an adaptive context differs from 1 thread", model_path);
        CHECK(all <= 1 || (cnm_context_adaptive(ca) && saw_one && saw_all), "model %s: adaptive context of %d threads used one: %d, all: %d",
              model_path, all, saw_one, saw_all);
        cnm_context_free(ca);
    }
    if (concurrency_runs > 0) test_concurrency(m, x, y1, per, info.num_classes, n);
    printf("model %s: %zu images, kernels %s, max |logit - PyTorch| = %.2e\n", model_path, n, cnm_context_isa(c1), d);
    /* a truncated copy is rejected with a message naming the problem */
    cnm_model *bad = NULL;
    FILE *f = fopen(model_path, "rb");
    unsigned char *bytes = malloc(info.file_size);
    if (f && fread(bytes, 1, info.file_size, f) == info.file_size) {
        st = cnm_model_load_memory(bytes, info.file_size / 2, "half.cnm", 0, &bad, &err);
        CHECK(st == CNM_ERR_TRUNCATED && strstr(err.message, "half.cnm: truncated"), "truncated model: %d %s", st, err.message);
        bytes[info.file_size / 2] ^= 1;
        st = cnm_model_load_memory(bytes, info.file_size, "flip.cnm", 0, &bad, &err);
        CHECK(st == CNM_ERR_CHECKSUM, "flipped byte: %d %s", st, err.message);
    }
    if (f) fclose(f);
    free(bytes);
    cnm_context_free(c1);
    cnm_context_free(c2);
    cnm_model_free(m);
    free(x); free(ref); free(y1); free(y2);
}

int main(int argc, char **argv) {
    int model_only = 0;
    while (argc > 1 && argv[1][0] == '-' && argv[1][1] == '-') {
        if (!strcmp(argv[1], "--model-only")) model_only = 1;           /* e.g. under valgrind */
        else if (!strcmp(argv[1], "--quick")) quick = 1;
        else if (!strncmp(argv[1], "--concurrency=", 14)) concurrency_runs = atoi(argv[1] + 14);
        else if (!strncmp(argv[1], "--images=", 9)) max_images = (size_t)atoi(argv[1] + 9);
        argv++;
        argc--;
    }
    if (!model_only) {
        test_crc32();
        test_kernel_tables();
        test_maxpool();
        test_generic_ops();
    }
    if (argc >= 4) test_model(argv[1], argv[2], argv[3]);
    for (int i = 4; i < argc; i++) test_model_q8(argv[i], argv[2], argv[3]); /* int8 models (8-bit, 7-bit weights) */
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
