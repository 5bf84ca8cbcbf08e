/* Memory planning: every activation buffer gets an offset in one arena, computed once at
 * load from the buffers' lifetimes (first write .. last read, in op order). Two buffers
 * share bytes only if their lifetimes are disjoint. Placement is greedy: largest buffer
 * first, at the lowest offset that does not collide with an already placed buffer that is
 * alive at the same time. The lower bound reported beside it is the largest total of
 * buffers alive at one op; the plan cannot beat it. */
#include "internal.h"

#include <stdlib.h>

#define PLAN_ALIGN 64u

static uint64_t round_up(uint64_t v) { return (v + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN; }

static int overlap(const cnm_buffer *a, const cnm_buffer *b) {
    return a->first <= b->last && b->first <= a->last;
}

cnm_status cnm_plan(cnm_model *m, cnm_error *err) {
    const uint32_t n = m->n_buffers;
    uint32_t *order = malloc(sizeof(uint32_t) * (n + 1));
    uint32_t *placed = malloc(sizeof(uint32_t) * (n + 1));
    if (!order || !placed) {
        free(order);
        free(placed);
        return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory while planning", m->name);
    }
    for (uint32_t i = 0; i < n; i++) {
        order[i] = i;
        cnm_buffer *b = &m->buffers[i];
        if (b->first == INT32_MAX) { b->first = b->last = -2; } /* never used: still placed, tiny lifetime */
        if (b->last < b->first) b->last = b->first;
    }
    /* sort by size, descending (insertion sort; n is small, ties keep file order) */
    for (uint32_t i = 1; i < n; i++) {
        uint32_t v = order[i], j = i;
        while (j > 0 && m->buffers[order[j - 1]].bytes < m->buffers[v].bytes) { order[j] = order[j - 1]; j--; }
        order[j] = v;
    }
    uint64_t total = 0;
    uint32_t n_placed = 0;
    for (uint32_t k = 0; k < n; k++) {
        cnm_buffer *b = &m->buffers[order[k]];
        uint64_t size = round_up(b->bytes), off = 0;
        /* retry until a pass finds no conflict; each conflict moves off strictly up */
        int moved = 1;
        while (moved) {
            moved = 0;
            for (uint32_t q = 0; q < n_placed; q++) {
                const cnm_buffer *o = &m->buffers[placed[q]];
                if (!overlap(b, o)) continue;
                uint64_t o0 = o->arena_offset, o1 = o0 + round_up(o->bytes);
                if (off < o1 && o0 < off + size) { off = o1; moved = 1; }
            }
        }
        b->arena_offset = off;
        placed[n_placed++] = order[k];
        if (off + size > total) total = off + size;
    }
    /* lower bound: a sweep over op steps t = -2 .. n_ops with a difference array */
    uint64_t bound = 0, live = 0;
    const uint32_t steps = m->n_ops + 3;
    uint64_t *delta = calloc(steps + 1, sizeof(uint64_t));
    if (!delta) {
        free(order);
        free(placed);
        return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory while planning", m->name);
    }
    for (uint32_t i = 0; i < n; i++) {
        delta[m->buffers[i].first + 2] += round_up(m->buffers[i].bytes);
        delta[m->buffers[i].last + 3] -= round_up(m->buffers[i].bytes);
    }
    for (uint32_t t = 0; t < steps; t++) {
        live += delta[t];
        if (live > bound) bound = live;
    }
    free(delta);
    free(order);
    free(placed);
    if (total > CNM_MAX_ARENA)
        return cnm_fail(err, CNM_ERR_LIMIT, "%s: activations need a %llu-byte arena (limit 1 GiB)", m->name,
                        (unsigned long long)total);
    m->arena_bytes = total;
    m->arena_lower_bound = bound;
    return CNM_OK;
}
