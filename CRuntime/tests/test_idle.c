/* The idle policy inside the library (cnm_context_set_idle_ms), built with clang and libomp,
 * whose threads spin 200 ms after a parallel region unless told otherwise: after 2-thread
 * inferences, the process's CPU time while the caller sleeps 300 ms. A new context (1 ms) must
 * leave the cores idle; 300 ms of spinning, asked for, must show. Run by `make check-idle`.
 *   test_idle MODEL.cnm */
#define _POSIX_C_SOURCE 200809L
#include "cnm.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double cpu_seconds(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

/* CPU seconds the process burns while the caller sleeps 300 ms after 20 inferences */
static double idle_cpu(cnm_model *m, int idle_ms) {
    cnm_error err;
    cnm_context *c = NULL;
    if (cnm_context_create(m, 2, &c, &err) != CNM_OK) { fprintf(stderr, "%s\n", err.message); exit(2); }
    if (idle_ms != 1) cnm_context_set_idle_ms(c, idle_ms);
    cnm_model_info info;
    cnm_model_get_info(m, &info);
    const size_t n = (size_t)info.input_c * info.input_h * info.input_w;
    float *x = calloc(n, sizeof(float)), *y = calloc(info.num_classes, sizeof(float));
    for (int i = 0; i < 20; i++) cnm_context_run(c, x, n, y, info.num_classes, &err);
    const double t0 = cpu_seconds();
    nanosleep(&(struct timespec){0, 300000000}, NULL);
    const double used = cpu_seconds() - t0;
    free(x);
    free(y);
    cnm_context_free(c);
    return used;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: test_idle MODEL.cnm\n"); return 2; }
    cnm_error err;
    cnm_model *m = NULL;
    if (cnm_model_load(argv[1], &m, &err) != CNM_OK) { fprintf(stderr, "%s\n", err.message); return 2; }
    const double quiet = idle_cpu(m, 1), spin = idle_cpu(m, 300);
    cnm_model_free(m);
    printf("idle policy (libomp): %.0f ms of CPU in a 300 ms pause with the default 1 ms, %.0f ms when asked to spin 300 ms\n",
           quiet * 1e3, spin * 1e3);
    if (quiet > 0.05 || spin < 0.1) { printf("FAIL idle policy\n"); return 1; }
    return 0;
}
