/* The C tests' counters and helpers (test_runtime.c, kernel_tester.c). */
#ifndef CNM_TESTS_CHECK_H
#define CNM_TESTS_CHECK_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

extern int passed, failed;
#define CHECK(cond, ...)                                 \
    do {                                                 \
        if (cond) passed++;                              \
        else {                                           \
            failed++;                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);  \
            printf(__VA_ARGS__);                         \
            printf("\n");                                \
        }                                                \
    } while (0)

float frand(void);            /* xorshift32 in [-1, 1) */
float *rand_buf(size_t n);
double rel_diff(const float *a, const float *b, size_t n); /* max |a-b| / max(1, max|b|) */

/* every kernel table this CPU runs, each against the scalar references */
void test_kernel_tables(void);

#endif
