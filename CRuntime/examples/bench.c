/* Run a .cnm model RUNS times on a fixed input, for timing and for tools/arm/estimate:
 *   bench MODEL.cnm RUNS [THREADS [fp16]]
 * loads the model and creates the context once, then runs RUNS inferences on a deterministic
 * input (values in [-1, 1)). RUNS may be 0 (load only), so the difference of two runs with
 * different counts is the cost of the inferences alone. Prints the kernel table, the run count,
 * the median wall time of one inference (native runs) and the first logits. With `fp16` the model
 * is loaded with CNM_LOAD_FP16 (binary16 convolutions where the CPU has FP16 arithmetic). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include "cnm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    char *end = NULL;
    long runs = argc >= 3 ? strtol(argv[2], &end, 10) : -1;
    const int fp16 = argc == 5 && !strcmp(argv[4], "fp16");
    if (argc < 3 || argc > 5 || (argc == 5 && !fp16) || !end || *end || runs < 0 || runs > 1000000) {
        fprintf(stderr, "usage: %s MODEL.cnm RUNS [THREADS [fp16]]   (RUNS: 0..1000000)\n", argv[0]);
        return 2;
    }
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    cnm_error err;
    cnm_model *model = NULL;
    cnm_context *ctx = NULL;
    if (cnm_model_load_file(argv[1], fp16 ? CNM_LOAD_FP16 : 0, &model, &err) != CNM_OK || cnm_context_create(model, threads, &ctx, &err) != CNM_OK) {
        fprintf(stderr, "bench: error: %s\n", err.message);
        cnm_model_free(model);
        return 1;
    }
    cnm_model_info info;
    cnm_model_get_info(model, &info);
    size_t n_in = (size_t)info.input_c * info.input_h * info.input_w;
    float *input = malloc(sizeof(float) * n_in), *logits = calloc(info.num_classes, sizeof(float));
    double *times = malloc(sizeof(double) * (size_t)(runs ? runs : 1));
    int rc = 0;
    if (!input || !logits || !times) {
        fprintf(stderr, "bench: error: out of memory\n");
        rc = 1;
        goto done;
    }
    uint32_t s = 12345u; /* a fixed LCG: the same input on every machine */
    for (size_t i = 0; i < n_in; i++) {
        s = s * 1664525u + 1013904223u;
        input[i] = (float)(s >> 8) / 8388608.0f - 1.0f;
    }
    for (long r = 0; r < runs; r++) {
        double t0 = now_s();
        if (cnm_context_run(ctx, input, n_in, logits, info.num_classes, &err) != CNM_OK) {
            fprintf(stderr, "bench: error: %s\n", err.message);
            rc = 1;
            goto done;
        }
        times[r] = now_s() - t0;
    }
    qsort(times, (size_t)runs, sizeof(double), cmp_double);
    printf("bench: %s, kernels %s, %d thread(s), %ld run(s)", argv[1], cnm_context_isa(ctx),
           cnm_context_threads(ctx), runs);
    if (runs) printf(", median %.3f ms, logits[0..2] %.6g %.6g %.6g", 1e3 * times[runs / 2], logits[0],
                     info.num_classes > 1 ? logits[1] : 0.0f, info.num_classes > 2 ? logits[2] : 0.0f);
    printf("\n");
done:
    free(input);
    free(logits);
    free(times);
    cnm_context_free(ctx);
    cnm_model_free(model);
    return rc;
}
