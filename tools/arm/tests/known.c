/* Programs whose block counts and cache misses are known in advance, for tools/arm/test_estimate.py.
 *   known chain N      N iterations of a 6-instruction loop: 4 dependent fmla, subs, b.ne
 *   known parallel N   N iterations of a 6-instruction loop: 4 independent fmla, subs, b.ne
 *   known split N      the chain loop laid across a page boundary (qemu translates it as two blocks)
 *   known stream BYTES N   N passes reading a BYTES buffer, one load per 64-byte line
 *   known chase BYTES N    N passes of a pointer chase through the BYTES buffer's lines in a
 *                          random order (one load per line; nothing a stream detector predicts)
 *   known strideK BYTES N  N passes reading every K-th line of the BYTES buffer (K = 4 or 256)
 * Everything the program does besides the N repetitions is the same for every N, so the
 * difference of two runs is exactly the repetitions. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *what = argv[1];
    long a = atol(argv[2]), n = argc > 3 ? atol(argv[3]) : 0;
    uint64_t sink = 0;
    if (!strcmp(what, "split")) {
        long it = a <= 0 ? 1 : a;
        /* 1021 nops after a page start, so that the loop's first 3 instructions end the page */
        __asm__ volatile("movi v0.4s, #0\n movi v1.4s, #0\n movi v2.4s, #0\n b 2f\n .balign 4096\n .rept 1021\n nop\n .endr\n"
                         "2: 1: fmla v0.4s, v1.4s, v2.4s\n fmla v0.4s, v1.4s, v2.4s\n"
                         "fmla v0.4s, v1.4s, v2.4s\n fmla v0.4s, v1.4s, v2.4s\n"
                         "subs %x0, %x0, #1\n b.ne 1b\n" : "+r"(it) :: "v0", "v1", "v2", "cc");
    } else if (!strcmp(what, "chain") || !strcmp(what, "parallel")) {
        long it = a;
        if (it <= 0) it = 1; /* the loop runs at least once; the difference of two runs stays exact */
        if (!strcmp(what, "chain"))
            __asm__ volatile("movi v0.4s, #0\n movi v1.4s, #0\n movi v2.4s, #0\n"
                             "1: fmla v0.4s, v1.4s, v2.4s\n fmla v0.4s, v1.4s, v2.4s\n"
                             "fmla v0.4s, v1.4s, v2.4s\n fmla v0.4s, v1.4s, v2.4s\n"
                             "subs %x0, %x0, #1\n b.ne 1b\n" : "+r"(it) :: "v0", "v1", "v2", "cc");
        else
            __asm__ volatile("movi v0.4s, #0\n movi v1.4s, #0\n movi v2.4s, #0\n movi v3.4s, #0\n"
                             "movi v4.4s, #0\n movi v5.4s, #0\n"
                             "1: fmla v0.4s, v4.4s, v5.4s\n fmla v1.4s, v4.4s, v5.4s\n"
                             "fmla v2.4s, v4.4s, v5.4s\n fmla v3.4s, v4.4s, v5.4s\n"
                             "subs %x0, %x0, #1\n b.ne 1b\n"
                             : "+r"(it) :: "v0", "v1", "v2", "v3", "v4", "v5", "cc");
    } else if (!strcmp(what, "stream") || !strcmp(what, "chase") || !strncmp(what, "stride", 6)) {
        size_t lines = (size_t)a / 64, step = !strncmp(what, "stride", 6) ? (size_t)atol(what + 6) : 1;
        uint64_t *buf = aligned_alloc(64, lines * 64);
        if (!buf || lines < 2) return 1;
        /* each line's first word holds the index of the next line to visit */
        if (step < 1 || lines % step) return 1;
        for (size_t i = 0; i < lines; i++) buf[i * 8] = (i + step) % lines;
        if (!strcmp(what, "chase")) { /* one random cycle through all lines (Sattolo's shuffle) */
            size_t *order = malloc(lines * sizeof *order);
            if (!order) return 1;
            for (size_t i = 0; i < lines; i++) order[i] = i;
            uint64_t s = 88172645463325252ull;
            for (size_t i = lines - 1; i > 0; i--) {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                size_t j = (size_t)(s % i), t = order[i];
                order[i] = order[j]; order[j] = t;
            }
            for (size_t i = 0; i < lines; i++) buf[order[i] * 8] = order[(i + 1) % lines];
            free(order);
        }
        for (long r = 0; r < n; r++) { /* one load per line, each address from the previous load */
            uint64_t p = 0;
            for (size_t i = 0; i < lines / step; i++) p = ((volatile uint64_t *)buf)[p * 8];
            sink += p;
        }
        free(buf);
    } else {
        return 2;
    }
    printf("done %llu\n", (unsigned long long)(sink * 0));
    return 0;
}
