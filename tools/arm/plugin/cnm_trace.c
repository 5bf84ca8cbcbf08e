/* cnm_trace: a qemu-user TCG plugin that counts how often every translated block executes and,
 * optionally, runs each data access through a model of the board's caches (per-core L1d and L2,
 * an optional L3, LRU, plus a stride detector standing in for the hardware prefetcher). It writes
 * one text record per executed block at exit; tools/arm/estimate prices them.
 *
 *   qemu-aarch64 -cpu cortex-a72 -plugin cnm_trace.so,out=FILE[,l1=SIZE:WAYS[,l2=...[,l3=...]]][,line=64] PROGRAM ...
 *   a cache level is SIZE:WAYS in bytes, e.g. l1=32768:2,l2=1048576:16 (the Cortex-A72 of a Pi 4)
 *
 * Output (all numbers decimal except the address and the instruction words, hex):
 *   cnm-trace 1 line=64 caches=N
 *   B vaddr count ninsns m1s m1r m2s m2r m3s m3r w0 w1 ...     one line per block that ran
 * where mKs / mKr count misses in cache level K that the stream detector did / did not predict.
 * With several vCPUs (guest threads) each has its own caches; the counters are plain adds, so
 * they are exact for one thread and close for several (qemu's inline counters are not atomic). */
#include "qemu_api.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

enum { MAX_LEVELS = 3, MAX_VCPUS = 64, STREAMS = 16, MAX_WAYS = 32, MAX_STRIDE = 32 };

typedef struct block {
    uint64_t vaddr, count;
    uint64_t miss[MAX_LEVELS][2];  /* [level][0 = streamed, 1 = not] */
    uint32_t n, hash;
    uint32_t *words;
    struct block *next;
} block;

typedef struct {
    uint64_t size; uint32_t ways, sets;
} level_cfg;

typedef struct {
    uint64_t *tag;   /* sets * ways line numbers + 1 (0 = empty) */
    uint32_t *stamp; /* last use, for LRU */
    uint32_t clock;
} level;

typedef struct {
    level lv[MAX_LEVELS];
    uint64_t stream_last[STREAMS];
    int64_t stream_stride[STREAMS];
    uint8_t stream_live[STREAMS];
    uint32_t stream_stamp[STREAMS], stream_clock;
    int ready;
} vcpu_state;

static struct {
    pthread_mutex_t lock;
    block **table;
    uint32_t table_bits;
    uint64_t nblocks;
    const char *out;
    uint32_t line_shift, nlevels;
    level_cfg cfg[MAX_LEVELS];
    vcpu_state *vcpu;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER, .table_bits = 16, .line_shift = 6 };

static uint32_t hash_words(uint64_t vaddr, const uint32_t *w, uint32_t n) {
    uint64_t h = vaddr * 0x9E3779B97F4A7C15ull ^ n;
    for (uint32_t i = 0; i < n; i++) h = (h ^ w[i]) * 0x100000001B3ull;
    return (uint32_t)(h ^ (h >> 32));
}

static int level_init(level *l, const level_cfg *c) {
    size_t lines = (size_t)c->sets * c->ways;
    l->tag = calloc(lines, sizeof *l->tag);
    l->stamp = calloc(lines, sizeof *l->stamp);
    l->clock = 0;
    return l->tag && l->stamp ? 0 : -1;
}

/* 1 if LINE is in the level (and it becomes the most recent), else 0 and LINE replaces the LRU way */
static int level_access(level *l, const level_cfg *c, uint64_t line) {
    uint32_t set = (uint32_t)(line % c->sets);
    uint64_t *tag = l->tag + (size_t)set * c->ways;
    uint32_t *stamp = l->stamp + (size_t)set * c->ways;
    uint32_t now = ++l->clock, victim = 0;
    for (uint32_t w = 0; w < c->ways; w++) {
        if (tag[w] == line + 1) { stamp[w] = now; return 1; }
        if (stamp[w] < stamp[victim]) victim = w;
    }
    tag[victim] = line + 1;
    stamp[victim] = now;
    return 0;
}

/* The stream detector, standing in for the core's prefetchers: a table of recent miss streams, each
 * its last line, its stride and whether it has predicted a miss yet. A miss is predicted when it is
 * one stride past a stream's last line, or one or two lines beside it (the next-line prefetch,
 * either direction); then the stream moves on. Any other miss trains the nearest stream within
 * MAX_STRIDE lines that has not predicted anything yet to the new stride (a stream that works is
 * not stolen by a stray miss), or replaces the least recently used stream. */
static int streamed(vcpu_state *v, uint64_t line) {
    const uint32_t now = ++v->stream_clock;
    int oldest = 0, near = -1, nearest = -1;
    int64_t best = MAX_STRIDE + 1;
    for (int s = 0; s < STREAMS; s++) {
        if (!v->stream_stamp[s]) { oldest = s; continue; }
        const int64_t d = (int64_t)(line - v->stream_last[s]), ad = d < 0 ? -d : d;
        if (d != 0 && d == v->stream_stride[s]) { nearest = s; near = 1; break; }
        if (ad >= 1 && ad <= 2 && near < 0) near = 0, nearest = s;
        if (near < 0 && !v->stream_live[s] && ad >= 1 && ad <= MAX_STRIDE && ad < best) best = ad, nearest = s;
        if (v->stream_stamp[oldest] && v->stream_stamp[s] < v->stream_stamp[oldest]) oldest = s;
    }
    const int s = nearest >= 0 ? nearest : oldest, hit = near >= 0;
    if (nearest < 0) v->stream_live[s] = 0;
    v->stream_stride[s] = nearest >= 0 ? (int64_t)(line - v->stream_last[s]) : 0;
    v->stream_live[s] |= (uint8_t)hit;
    v->stream_last[s] = line;
    v->stream_stamp[s] = now;
    return hit;
}

static void access_line(vcpu_state *v, block *b, uint64_t line) {
    if (level_access(&v->lv[0], &g.cfg[0], line)) return;
    int s = streamed(v, line) ? 0 : 1;
    b->miss[0][s]++;
    for (uint32_t k = 1; k < g.nlevels; k++) {
        if (level_access(&v->lv[k], &g.cfg[k], line)) return;
        b->miss[k][s]++;
    }
}

static void vcpu_mem(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata) {
    if (vcpu >= MAX_VCPUS) return;
    vcpu_state *v = &g.vcpu[vcpu];
    if (!v->ready) {
        for (uint32_t k = 0; k < g.nlevels; k++)
            if (level_init(&v->lv[k], &g.cfg[k])) { fprintf(stderr, "cnm_trace: out of memory\n"); exit(70); }
        v->ready = 1;
    }
    uint64_t first = vaddr >> g.line_shift;
    uint64_t last = (vaddr + (1u << qemu_plugin_mem_size_shift(info)) - 1) >> g.line_shift;
    access_line(v, udata, first);
    if (last != first) access_line(v, udata, last);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
    uint32_t words[512];
    if (n == 0 || n > 512) return;
    for (size_t i = 0; i < n; i++) {
        const struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        words[i] = 0;
        size_t sz = qemu_plugin_insn_size(insn);
        memcpy(&words[i], qemu_plugin_insn_data(insn), sz < 4 ? sz : 4);
    }
    uint32_t h = hash_words(vaddr, words, (uint32_t)n);
    pthread_mutex_lock(&g.lock);
    block **slot = &g.table[h & ((1u << g.table_bits) - 1)], *b;
    for (b = *slot; b; b = b->next)
        if (b->hash == h && b->vaddr == vaddr && b->n == n && !memcmp(b->words, words, n * 4)) break;
    if (!b) {
        b = calloc(1, sizeof *b);
        uint32_t *w = malloc(n * 4);
        if (!b || !w) { fprintf(stderr, "cnm_trace: out of memory\n"); exit(70); }
        memcpy(w, words, n * 4);
        *b = (block){ .vaddr = vaddr, .n = (uint32_t)n, .hash = h, .words = w, .next = *slot };
        *slot = b;
        g.nblocks++;
    }
    pthread_mutex_unlock(&g.lock);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->count, 1);
    if (g.nlevels)
        for (size_t i = 0; i < n; i++)
            qemu_plugin_register_vcpu_mem_cb(qemu_plugin_tb_get_insn(tb, i), vcpu_mem,
                                             QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, b);
}

static void at_exit(qemu_plugin_id_t id, void *p) {
    (void)id; (void)p;
    FILE *f = g.out ? fopen(g.out, "w") : stderr;
    if (!f) { fprintf(stderr, "cnm_trace: cannot write %s\n", g.out); return; }
    fprintf(f, "cnm-trace 1 line=%u caches=%u\n", 1u << g.line_shift, g.nlevels);
    for (uint32_t i = 0; i < (1u << g.table_bits); i++)
        for (block *b = g.table[i]; b; b = b->next) {
            if (!b->count) continue;
            fprintf(f, "B %llx %llu %u", (unsigned long long)b->vaddr, (unsigned long long)b->count, b->n);
            for (int k = 0; k < MAX_LEVELS; k++)
                fprintf(f, " %llu %llu", (unsigned long long)b->miss[k][0], (unsigned long long)b->miss[k][1]);
            for (uint32_t w = 0; w < b->n; w++) fprintf(f, " %08x", b->words[w]);
            fputc('\n', f);
        }
    if (f != stderr) fclose(f);
}

/* SIZE:WAYS -> a level; sets = size / (ways * line) */
static int parse_level(const char *s, level_cfg *c) {
    char *end;
    unsigned long long size = strtoull(s, &end, 10);
    if (*end != ':') return -1;
    unsigned long ways = strtoul(end + 1, &end, 10);
    uint64_t line = 1ull << g.line_shift;
    if (!size || !ways || ways > MAX_WAYS || size % (ways * line)) return -1;
    c->size = size; c->ways = (uint32_t)ways; c->sets = (uint32_t)(size / (ways * line));
    return 0;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    (void)info;
    const char *levels[MAX_LEVELS] = {0};
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "out=", 4)) g.out = argv[i] + 4;
        else if (argv[i][0] == 'l' && argv[i][1] >= '1' && argv[i][1] <= '3' && argv[i][2] == '=')
            levels[argv[i][1] - '1'] = argv[i];
        else if (!strncmp(argv[i], "line=", 5)) {
            unsigned long line = strtoul(argv[i] + 5, NULL, 10);
            if (line < 16 || line > 256 || (line & (line - 1))) { fprintf(stderr, "cnm_trace: bad line=%s\n", argv[i] + 5); return -1; }
            g.line_shift = (uint32_t)__builtin_ctzl(line);
        } else { fprintf(stderr, "cnm_trace: unknown argument %s\n", argv[i]); return -1; }
    }
    for (int k = 0; k < MAX_LEVELS && levels[k]; k++) { /* after line=, which sets the sets */
        if (parse_level(levels[k] + 3, &g.cfg[k])) {
            fprintf(stderr, "cnm_trace: bad cache level %s (SIZE:WAYS, SIZE a multiple of WAYS * line)\n", levels[k]);
            return -1;
        }
        g.nlevels++;
    }
    if (g.nlevels < MAX_LEVELS && levels[g.nlevels]) {
        fprintf(stderr, "cnm_trace: %s without the levels above it\n", levels[g.nlevels]);
        return -1;
    }
    if (g.nlevels) {
        g.vcpu = calloc(MAX_VCPUS, sizeof *g.vcpu);
        if (!g.vcpu) return -1;
    }
    g.table = calloc(1u << g.table_bits, sizeof *g.table);
    if (!g.table) return -1;
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
