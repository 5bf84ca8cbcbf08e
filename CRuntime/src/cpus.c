/* Which cores the process runs on (Linux): a CPU list such as "0-3,6" pinned with
 * sched_setaffinity, and the big cores of a big.LITTLE SoC (those with the highest
 * cpuinfo_max_freq). Called by a program before its first OpenMP region: the OpenMP runtime
 * sizes its default team from the affinity mask it starts with. */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#if defined(__linux__)
#include <sched.h>
#endif

#define CNM_MAX_CPUS 1024

/* the CPUs of `list` into set[]; -1 and a message on a malformed list */
static int parse_cpus(const char *list, unsigned char set[CNM_MAX_CPUS], cnm_error *err) {
    memset(set, 0, CNM_MAX_CPUS);
    const char *p = list;
    int any = 0;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 10), b = a;
        if (end == p || a < 0 || a >= CNM_MAX_CPUS) goto bad;
        p = end;
        if (*p == '-') {
            b = strtol(p + 1, &end, 10);
            if (end == p + 1 || b < a || b >= CNM_MAX_CPUS) goto bad;
            p = end;
        }
        for (long c = a; c <= b; c++) set[c] = 1;
        any = 1;
        if (*p == ',') p++;
        else if (*p) goto bad;
    }
    if (any) return 0;
bad:
    cnm_fail(err, CNM_ERR_ARGUMENT, "--cpus '%s': not a CPU list such as 0-3 or 0,2,4 (CPUs 0..%d)", list, CNM_MAX_CPUS - 1);
    return -1;
}

cnm_status cnm_pin_cpus(const char *list, cnm_error *err) {
    if (!list) return cnm_fail(err, CNM_ERR_ARGUMENT, "cnm_pin_cpus: NULL argument");
    unsigned char set[CNM_MAX_CPUS];
    if (parse_cpus(list, set, err) != 0) return CNM_ERR_ARGUMENT;
#if defined(__linux__)
    cpu_set_t cs;
    CPU_ZERO(&cs);
    for (int c = 0; c < CNM_MAX_CPUS && c < CPU_SETSIZE; c++)
        if (set[c]) CPU_SET(c, &cs);
    if (sched_setaffinity(0, sizeof cs, &cs) != 0)
        return cnm_fail(err, CNM_ERR_ARGUMENT, "--cpus '%s': this machine cannot run on those CPUs (%s)", list, strerror(errno));
    return CNM_OK;
#else
    return cnm_fail(err, CNM_ERR_ARGUMENT, "--cpus: CPU affinity is not supported on this system");
#endif
}

int cnm_big_cores(char *buf, size_t size) {
    if (!buf || size == 0) return 0;
    buf[0] = 0;
#if defined(__linux__)
    long freq[CNM_MAX_CPUS], top = 0;
    int n = 0;
    for (; n < CNM_MAX_CPUS; n++) {
        char path[96];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cpufreq/cpuinfo_max_freq", n);
        FILE *f = fopen(path, "r");
        if (!f) break;
        if (fscanf(f, "%ld", &freq[n]) != 1) freq[n] = 0;
        fclose(f);
        if (freq[n] > top) top = freq[n];
    }
    int big = 0;
    for (int c = 0; c < n; c++) big += freq[c] == top;
    if (n == 0 || top == 0 || big == n) return 0; /* no cpufreq, or every core alike */
    size_t at = 0;
    for (int c = 0; c < n; c++)
        if (freq[c] == top) {
            int w = snprintf(buf + at, size - at, "%s%d", at ? "," : "", c);
            if (w < 0 || (size_t)w >= size - at) { buf[0] = 0; return 0; }
            at += (size_t)w;
        }
    return big;
#else
    return 0;
#endif
}
