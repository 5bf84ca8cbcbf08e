/* Memory planning: every activation buffer gets an offset in one arena, computed once at
 * load from the buffers' lifetimes (first write .. last read, in op order). Two buffers
 * share bytes only if their lifetimes are disjoint. Placement is greedy: largest buffer
 * first, at the lowest offset that does not collide with an already placed buffer that is
 * alive at the same time. The lower bound reported beside it is the largest total of
 * buffers alive at one op; the plan cannot beat it. */
#include "internal.h"

#include "kernels/kernels.h"
#include "ops/op.h"

#include <stdlib.h>
#include <string.h>

#define PLAN_ALIGN 64u

static uint64_t round_up(uint64_t v) { return (v + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN; }

static int overlap(const cnm_model *m, const cnm_buffer *a, const cnm_buffer *b) {
    if (m->no_fusion) return 1; /* every value must survive the run (cnm_context_value) */
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
    /* A step runs its ops as one kernel: every buffer one of them reads or writes is live for the
     * whole step (a fused pointwise step reads its input while it writes its output, even when
     * the ops that do so are not adjacent in file order). Found by the .cnm fuzzer's oracle. */
    for (uint32_t k = 0; k < m->n_steps; k++) {
        const cnm_step *st = &m->steps[k];
        const int32_t s0 = (int32_t)st->first_op, s1 = (int32_t)(st->first_op + st->n_ops - 1);
        for (uint32_t o = st->first_op; o < st->first_op + st->n_ops; o++) {
            const cnm_op *op = &m->ops[o];
            const int32_t vals[3] = {op->in0, op->in1, op->out};
            for (int v = 0; v < 3; v++) {
                if (vals[v] < 0) continue;
                cnm_buffer *b = &m->buffers[m->values[vals[v]].buffer];
                if (b->first == INT32_MAX) continue;
                if (b->first > s0 && b->first != -1) b->first = s0;
                if (b->last < s1) b->last = s1;
            }
        }
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
        if (b->fused_away) { b->arena_offset = 0; continue; }
        uint64_t size = round_up(b->bytes), off = 0;
        /* retry until a pass finds no conflict; each conflict moves off strictly up */
        int moved = 1;
        while (moved) {
            moved = 0;
            for (uint32_t q = 0; q < n_placed; q++) {
                const cnm_buffer *o = &m->buffers[placed[q]];
                if (o->fused_away || !overlap(m, b, o)) continue;
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
        if (m->buffers[i].fused_away) continue;
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

/* ---- fusion: which ops run as one kernel ----
 * A pointwise step is a 1x1 stride-1 unpadded conv, optionally with the `channel` op before
 * it (gather / shuffle + BN + ReLU, packed into the conv's input panel) and the `channel` op
 * after it (shuffle + BN + ReLU, applied where the conv writes its outputs; no index). An op
 * is fused in only when the buffer between the two ops is written by the first and read by
 * the second alone, as whole buffers; that buffer is then never materialised. */

static int whole_buffer(const cnm_model *m, int32_t v) {
    return m->values[v].c_off == 0 && m->values[v].c == m->buffers[m->values[v].buffer].c;
}

/* Buffer of op a's output is consumed by op b only (b == a + 1), as the same whole value. */
static int private_link(const cnm_model *m, uint32_t a, uint32_t b) {
    if (b != a + 1 || b >= m->n_ops) return 0;
    const cnm_op *oa = &m->ops[a], *ob = &m->ops[b];
    const uint32_t buf = m->values[oa->out].buffer;
    if (m->values[ob->in0].buffer != buf || !whole_buffer(m, oa->out) || !whole_buffer(m, ob->in0)) return 0;
    if (buf == m->values[m->output_value].buffer || buf == m->values[m->input_value].buffer) return 0;
    return m->buffers[buf].first == (int32_t)a && m->buffers[buf].last == (int32_t)b &&
           m->values[ob->out].buffer != buf;
}

/* Values u and v share channels of one buffer. A fused step must never write what it still reads:
 * its kernel writes outputs while later groups' inputs are still to be packed. */
static int values_overlap(const cnm_model *m, int32_t u, int32_t v) {
    const cnm_value *a = &m->values[u], *b = &m->values[v];
    return a->buffer == b->buffer && a->c_off < b->c_off + b->c && b->c_off < a->c_off + a->c;
}

/* A 1x1 conv without padding: stride 1, or any stride with one group (ResNet's downsampling
 * shortcuts: the pointwise kernel packs their subsampled pixels, kernels.h cnm_pw_im2col, where
 * the direct kernel ran them at a quarter of its speed). */
static int is_pointwise_conv(const cnm_model *m, const cnm_op *op) {
    if (op->type != CNM_OP_CONV2D) return 0;
    const cnm_tensor *w = &m->tensors[op->t[0]];
    const cnm_conv2d_params *p = &op->prm.conv2d;
    return w->dims[2] == 1 && w->dims[3] == 1 && p->pad_h == 0 && p->pad_w == 0 &&
           ((p->stride_h == 1 && p->stride_w == 1) || p->groups == 1);
}
static int is_strided(const cnm_op *op) { return op->prm.conv2d.stride_h > 1 || op->prm.conv2d.stride_w > 1; }

/* A fully-connected layer written as a convolution (ONNX Gemm, the classifiers): fp32, one group,
 * no padding, the kernel the whole input map. Its weight [cout][cin][kh][kw] is the linear
 * kernel's [N][K] over the flattened CHW input, and a matrix-vector product runs it at memory
 * speed, where the conv kernels would tile one output pixel. */
static int is_whole_map_fc(const cnm_model *m, const cnm_op *op) {
    if (op->type != CNM_OP_CONV2D) return 0;
    const cnm_tensor *w = &m->tensors[op->t[0]];
    const cnm_buffer *ib = &m->buffers[m->values[op->in0].buffer];
    const cnm_conv2d_params *p = &op->prm.conv2d;
    return w->dtype == CNM_DT_F32 && p->groups == 1 && p->pad_h == 0 && p->pad_w == 0 && w->dims[2] == ib->h &&
           w->dims[3] == ib->w;
}

/* The CLIP op after conv op `conv` (fp32 or int8) that its kernel can apply in its epilogue
 * (MobileNet's ReLU6): the conv's output read by it alone, the clip without a ReLU of its own, and
 * its output not over the conv's input (`in`: what the step reads). -1 when there is none. */
static int32_t fusable_clip(const cnm_model *m, uint32_t conv, int32_t in) {
    if (m->no_fusion || conv + 1 >= m->n_ops) return -1;
    const cnm_op *c = &m->ops[conv + 1];
    if (c->type != CNM_OP_CLIP || cnm_op_relu(c) || !private_link(m, conv, conv + 1) || values_overlap(m, in, c->out)) return -1;
    return (int32_t)(conv + 1);
}

/* A depthwise convolution (MobileNet, ShuffleNet): fp32, one input channel and one output per
 * group, horizontal stride 1 or 2 (depthwise.h). The direct kernel would compute it one output
 * channel per block, with a quarter of its accumulators. */
static int is_depthwise(const cnm_model *m, const cnm_op *op) {
    if (op->type != CNM_OP_CONV2D) return 0;
    const cnm_tensor *w = &m->tensors[op->t[0]];
    const cnm_conv2d_params *p = &op->prm.conv2d;
    if (!(w->dtype == CNM_DT_F32 && w->dims[1] == 1 && (uint32_t)p->groups == w->dims[0] && p->groups > 1 && p->stride_w <= 2))
        return 0;
    const cnm_conv_shape s = cnm_conv_shape_of(m, op);
    return cnm_dw_scratch_floats(&s) <= CNM_WINDOW_MAX_FLOATS;
}

/* A conv for Winograd F(4x4, 3x3) (winograd.h): fp32, 3x3, stride 1, one group, at least
 * CNM_WINO_MIN_CHANNELS inputs and outputs, and at least CNM_WINO_MIN_TILES tiles of 4x4 outputs
 * (a 13x13 map or more: its products run the pointwise register tile over the tiles, which a
 * smaller map leaves mostly empty); its transformed weights (4x the direct ones) at most
 * CNM_WINO_MAX_U floats. Measurements behind the thresholds: docs/ARCHITECTURE.md. */
#define CNM_WINO_MIN_CHANNELS 16
#define CNM_WINO_MIN_TILES 16
#define CNM_WINO_MAX_U ((uint64_t)1 << 24)
static int is_winograd(const cnm_model *m, const cnm_op *op) {
    if (op->type != CNM_OP_CONV2D || m->no_winograd) return 0;
    const cnm_tensor *w = &m->tensors[op->t[0]];
    const cnm_conv2d_params *p = &op->prm.conv2d;
    if (!(w->dtype == CNM_DT_F32 && w->dims[2] == 3 && w->dims[3] == 3 && p->stride_h == 1 && p->stride_w == 1 && p->groups == 1))
        return 0;
    const cnm_conv_shape s = cnm_conv_shape_of(m, op);
    return s.cin >= CNM_WINO_MIN_CHANNELS && s.cout >= CNM_WINO_MIN_CHANNELS && cnm_wino_tiles(&s) >= CNM_WINO_MIN_TILES &&
           (uint64_t)36 * (uint64_t)s.cin * (uint64_t)s.cout <= CNM_WINO_MAX_U;
}

/* A conv for the GEMM step (the pointwise kernels over im2col rows gathered per 64-pixel tile,
 * kernels.h cnm_pw_im2col): fp32 or int8, one group, a KxK window with a vertical or horizontal
 * stride (ResNet's 3x3 stride-2 convs, AlexNet's 11x11 stride-4 stem), at
 * most CNM_GEMM_MAX_ROWS rows of cin * kh * kw (the panel and its staging stay in the L2
 * cache). Stride-1 convs keep the direct kernel (or Winograd), which reads each input once. */
#define CNM_GEMM_MAX_ROWS 4608
static int is_gemm(const cnm_model *m, const cnm_op *op) {
    if (op->type != CNM_OP_CONV2D || is_whole_map_fc(m, op)) return 0;
    const cnm_tensor *w = &m->tensors[op->t[0]];
    const cnm_conv2d_params *p = &op->prm.conv2d;
    const uint64_t rows = (uint64_t)w->dims[1] * w->dims[2] * w->dims[3];
    /* the 3-channel stems keep the direct kernel where it runs (horizontal stride 1 or 2): their
     * im2col rows cost a third of the products with 64 outputs (ResNet-50's 7x7: 69 -> 55 GFLOP/s) */
    const int direct_runs = p->stride_w <= CNM_DIRECT_MAX_STRIDE_W, stem = w->dims[1] < 16 && direct_runs;
    /* int8 keeps the direct kernel where it runs: the quantising pack of 9x the rows costs more
     * than vpdpbusd's products save (ResNet-50's int8 3x3 stride-2 convs 200-228 GOPS direct,
     * 92-160 as a GEMM) */
    return p->groups == 1 && w->dims[2] * w->dims[3] > 1 && (p->stride_h > 1 || p->stride_w > 1) && rows <= CNM_GEMM_MAX_ROWS && !stem &&
           (w->dtype == CNM_DT_F32 || !direct_runs);
}

static int32_t *shuffle_table(int c, int g, int inverse) {
    int32_t *t = malloc(sizeof(int32_t) * (size_t)(c > 0 ? c : 1));
    if (!t) return NULL;
    const int per = c / g;
    for (int d = 0; d < c; d++) {
        const int src = (d % g) * per + d / g;  /* channel d reads src */
        if (inverse) t[src] = d; else t[d] = src;
    }
    return t;
}

void cnm_free_steps(cnm_model *m) {
    if (m->steps)
        for (uint32_t i = 0; i < m->n_steps; i++) {
            free(m->steps[i].owned_src);
            free(m->steps[i].owned_dst);
            free(m->steps[i].wino_u);
            free(m->steps[i].f16_w);
            free(m->steps[i].q8_wpairs);
            free(m->steps[i].q8_wdot);
            free(m->steps[i].q8_wsum);
            free(m->steps[i].q8_mult);
        }
    free(m->steps);
    free(m->op_step);
    m->steps = NULL;
    m->op_step = NULL;
    m->n_steps = 0;
}

/* int8 conv: the multipliers in_scale * w_scale[o] (one float product, the same for every ISA)
 * and, for the SIMD kernels, the weights in their layouts (pack_q8.c): int16 pairs (x86-64's 8-bit
 * AVX2 kernels) and the 4x4 dot blocks with per-output weight sums (NEON, sdot, vpdpbusd, and
 * vpmaddubsw for 7-bit weights, which therefore need no pairs). */
static cnm_status prepare_q8(cnm_model *m, cnm_step *st, cnm_error *err) {
    const cnm_op *cv = &m->ops[st->conv];
    const cnm_tensor *w = &m->tensors[cv->t[0]], *ws = &m->tensors[cv->t[2]];
    const uint32_t cout = w->dims[0];
    const float in_scale = cv->prm.conv2d.input_scale, zp = (float)cv->prm.conv2d.zero_point;
    st->quant = 1;
    st->q8_w7 = cv->prm.conv2d.weight_bits == 7;
    st->q8_inv_scale = 1.0f / in_scale;
    st->q8_zp = (int)zp;
    st->q8_mult = malloc(sizeof(float) * cout);
    if (!st->q8_mult) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", m->name);
    for (uint32_t o = 0; o < cout; o++) {
        float sw;
        memcpy(&sw, (const uint8_t *)ws->data + 4 * (size_t)o, 4);
        st->q8_mult[o] = in_scale * sw;
    }
    if (st->kind != CNM_STEP_DIRECT && st->kind != CNM_STEP_POINTWISE && st->kind != CNM_STEP_GEMM) return CNM_OK;
    /* the pointwise kernels (pointwise and GEMM steps) read [cout][cin_g * kh * kw] rows */
    const int rows = st->kind != CNM_STEP_DIRECT, kk_w = (int)(w->dims[2] * w->dims[3]);
    const int cin_g = (int)w->dims[1] * (rows ? kk_w : 1), kk = rows ? 1 : kk_w;
    const int groups = cv->prm.conv2d.groups;
#if defined(__x86_64__) /* the int16 pairs only the 8-bit AVX2 int8 kernels read (layer_q8_avx2.h) */
    if (!st->q8_w7) {
        st->q8_wpairs = malloc(sizeof(int32_t) * cnm_q8_pairs_elems((int)cout, cin_g, kk) + 4);
        if (!st->q8_wpairs) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", m->name);
        cnm_q8_pack_pairs(w->data, (int)cout, cin_g, kk, st->q8_wpairs);
        m->plan_bytes += sizeof(int32_t) * cnm_q8_pairs_elems((int)cout, cin_g, kk);
    }
#endif
    m->plan_bytes += sizeof(float) * cout;
#if defined(__aarch64__) || defined(__x86_64__)
    st->q8_wdot = malloc(cnm_q8_dot_bytes(groups, (int)cout / groups, cin_g, kk) + 16);
    st->q8_wsum = malloc(sizeof(int32_t) * cout);
    if (!st->q8_wdot || !st->q8_wsum) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", m->name);
    m->plan_bytes += cnm_q8_dot_bytes(groups, (int)cout / groups, cin_g, kk) + sizeof(int32_t) * cout;
    cnm_q8_pack_dot(w->data, groups, (int)cout / groups, cin_g, kk, st->q8_wdot, st->q8_wsum);
#else
    (void)groups;
#endif
    if (st->kind == CNM_STEP_DIRECT) {
        const cnm_conv_shape s = cnm_conv_shape_of(m, cv);
        size_t need = cnm_direct_q8_padded_elems(&s); /* int32 elements = floats in size */
        if (need > m->direct_scratch_floats) m->direct_scratch_floats = need;
    }
    return CNM_OK;
}

/* CNM_LOAD_FP16: an fp32 conv's weights as binary16 pairs for the fp16 kernels (kernels.h), in
 * the rows the step's kernel reads (pointwise and GEMM steps: [cout][cin_g * kh * kw]); made on
 * aarch64 only, where kernel tables have fp16 kernels (a context on a table without them runs
 * the step in fp32). */
static cnm_status prepare_f16(cnm_model *m, cnm_step *st, cnm_error *err) {
#if defined(__aarch64__)
    const cnm_tensor *w = &m->tensors[m->ops[st->conv].t[0]];
    const int rows = st->kind != CNM_STEP_DIRECT, kk_w = (int)(w->dims[2] * w->dims[3]);
    const int cout = (int)w->dims[0], cin_g = (int)w->dims[1] * (rows ? kk_w : 1), kk = rows ? 1 : kk_w;
    const size_t n = cnm_f16_pairs_elems(cout, cin_g, kk);
    st->f16_w = malloc(sizeof(int32_t) * n + 16);
    if (!st->f16_w) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", m->name);
    cnm_f16_pack_pairs(w->data, cout, cin_g, kk, st->f16_w);
    m->plan_bytes += sizeof(int32_t) * n;
#else
    (void)m, (void)st, (void)err;
#endif
    return CNM_OK;
}

/* A CHANNEL op (no gather, no shuffle) whose output only a global average pool reads: the last
 * BN + ReLU of a DenseNet or CondenseNet and its pool, one pass (channel_avg_f32) that never
 * writes the BN'd map. */
static int is_channel_global_avg(const cnm_model *m, uint32_t i) {
    if (m->no_fusion || i + 1 >= m->n_ops) return 0;
    const cnm_op *ch = &m->ops[i], *p = &m->ops[i + 1];
    if (ch->type != CNM_OP_CHANNEL || ch->t[2] != -1 || ch->prm.channel.shuffle_groups > 1 || p->type != CNM_OP_AVGPOOL) return 0;
    const cnm_pool_shape s = cnm_pool_shape_of(m, p);
    return s.oh == 1 && s.ow == 1 && s.kh == s.ih && s.kw == s.iw && s.ph == 0 && s.pw == 0 && private_link(m, i, i + 1) &&
           !values_overlap(m, ch->in0, p->out);
}

cnm_status cnm_fuse(cnm_model *m, cnm_error *err) {
    m->steps = calloc(m->n_ops + 1, sizeof(cnm_step));
    m->op_step = calloc(m->n_ops + 1, sizeof(int32_t));
    if (!m->steps || !m->op_step) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory while planning", m->name);
    m->pw_scratch_floats = 0;
    m->direct_scratch_floats = 0;
    m->plan_bytes = 0;
    uint32_t i = 0;
    while (i < m->n_ops) {
        cnm_step *st = &m->steps[m->n_steps];
        st->first_op = i;
        st->pre = st->conv = st->post = st->clip = -1;
        const cnm_op *op = &m->ops[i];
        const int fc = is_whole_map_fc(m, op), dw = is_depthwise(m, op);
        uint32_t conv = UINT32_MAX;
        if (fc) {
            /* before fusion: the same kernel fused or not (a linear step has no pre or post) */
        } else if (m->no_fusion) {
            /* every op its own step; convs still get their kernels (a 1x1 conv the pointwise one) */
            if (is_pointwise_conv(m, op)) conv = i;
        } else if (is_channel_global_avg(m, i)) { /* BN + ReLU then the global average, one pass */
            st->kind = CNM_STEP_AVGPOOL;
            st->pre = (int32_t)i;
            st->n_ops = 2;
            m->buffers[m->values[op->out].buffer].fused_away = 1;
            for (uint32_t k = i; k < i + 2; k++) m->op_step[k] = (int32_t)m->n_steps;
            i += 2;
            m->n_steps++;
            continue;
        } else if (op->type == CNM_OP_CHANNEL && i + 1 < m->n_ops && is_pointwise_conv(m, &m->ops[i + 1]) &&
                   !is_whole_map_fc(m, &m->ops[i + 1]) && /* a linear step either way: the same bits unfused */
                   private_link(m, i, i + 1) && !values_overlap(m, op->in0, m->ops[i + 1].out)) {
            st->pre = (int32_t)i;
            conv = i + 1;
        } else if (is_pointwise_conv(m, op)) {
            conv = i;
        }
        if (conv != UINT32_MAX) {
            st->kind = CNM_STEP_POINTWISE;
            st->conv = (int32_t)conv;
            /* (a ReLU on the conv itself would come before the post op: not fused) */
            if (!m->no_fusion && conv + 1 < m->n_ops && m->ops[conv + 1].type == CNM_OP_CHANNEL && m->ops[conv + 1].t[2] == -1 &&
                !cnm_op_relu(&m->ops[conv]) && private_link(m, conv, conv + 1) &&
                !values_overlap(m, st->pre >= 0 ? m->ops[st->pre].in0 : m->ops[conv].in0, m->ops[conv + 1].out))
                st->post = (int32_t)(conv + 1);
            const cnm_op *cv = &m->ops[conv];
            if (st->pre >= 0) {
                const cnm_op *pre = &m->ops[st->pre];
                m->buffers[m->values[pre->out].buffer].fused_away = 1;
                if (pre->t[2] != -1) st->src = (const int32_t *)m->tensors[pre->t[2]].data;
                else if (pre->prm.channel.shuffle_groups > 1) {
                    st->owned_src = shuffle_table((int)m->values[pre->out].c, pre->prm.channel.shuffle_groups, 0);
                    if (!st->owned_src) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", m->name);
                    st->src = st->owned_src;
                }
            }
            if (st->post >= 0) {
                const cnm_op *post = &m->ops[st->post];
                m->buffers[m->values[cv->out].buffer].fused_away = 1;
                if (post->prm.channel.shuffle_groups > 1) {
                    st->owned_dst = shuffle_table((int)m->values[post->out].c, post->prm.channel.shuffle_groups, 1);
                    if (!st->owned_dst) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", m->name);
                    st->dst = st->owned_dst;
                }
            }
            const int cin_g = (int)m->tensors[cv->t[0]].dims[1];
            size_t need = cnm_pw_scratch_floats(cin_g) + (is_strided(cv) ? cnm_pw_stage_floats(cin_g) : 0);
            if (need > m->pw_scratch_floats) m->pw_scratch_floats = need;
            if (st->post < 0) st->clip = fusable_clip(m, conv, st->pre >= 0 ? m->ops[st->pre].in0 : cv->in0);
            st->n_ops = (uint32_t)((st->clip >= 0 ? st->clip : st->post >= 0 ? st->post : st->conv) - (int32_t)i + 1);
        } else if (fc) {
            st->kind = CNM_STEP_LINEAR;
            st->n_ops = 1;
        } else if (is_gemm(m, op)) {
            st->kind = CNM_STEP_GEMM;
            st->conv = (int32_t)i;
            st->clip = fusable_clip(m, i, op->in0);
            st->n_ops = st->clip >= 0 ? 2 : 1;
            const cnm_tensor *w = &m->tensors[op->t[0]];
            const int rows = (int)(w->dims[1] * w->dims[2] * w->dims[3]);
            const size_t need = cnm_pw_scratch_floats(rows) + cnm_pw_stage_floats(rows);
            if (need > m->pw_scratch_floats) m->pw_scratch_floats = need;
        } else if (dw || (op->type == CNM_OP_CONV2D && op->prm.conv2d.stride_w <= CNM_DIRECT_MAX_STRIDE_W)) {
            const int wino = is_winograd(m, op);
            st->kind = dw ? CNM_STEP_DEPTHWISE : wino ? CNM_STEP_WINOGRAD : CNM_STEP_DIRECT;
            st->conv = (int32_t)i;
            st->clip = fusable_clip(m, i, op->in0);
            st->n_ops = st->clip >= 0 ? 2 : 1;
            const cnm_conv_shape s = cnm_conv_shape_of(m, op);
            /* depthwise: a padded plane per thread, like the pointwise panel; direct: one shared
             * copy; Winograd: its shared transforms */
            size_t *have = dw ? &m->pw_scratch_floats : &m->direct_scratch_floats;
            const size_t need = dw ? cnm_dw_scratch_floats(&s) : wino ? cnm_wino_scratch_floats(&s) : cnm_direct_padded_floats(&s);
            if (need > *have) *have = need;
            if (wino) {
                st->wino_u = malloc(sizeof(float) * 36 * (size_t)s.cin * (size_t)s.cout);
                if (!st->wino_u) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory for the Winograd weights of op %u", m->name, i);
                cnm_wino_weights(m->tensors[op->t[0]].data, s.cout, s.cin, st->wino_u);
                m->plan_bytes += sizeof(float) * 36 * (size_t)s.cin * (size_t)s.cout;
            }
        } else {
            /* the operator's own step: its kernel from the table, or its reference */
            st->kind = op->type == CNM_OP_LINEAR    ? CNM_STEP_LINEAR
                       : op->type == CNM_OP_AVGPOOL ? CNM_STEP_AVGPOOL
                       : op->type == CNM_OP_MAXPOOL ? CNM_STEP_MAXPOOL
                                                    : CNM_STEP_REFERENCE;
            st->n_ops = 1;
            if (op->type == CNM_OP_CONV2D) st->conv = (int32_t)i;
            if (op->type == CNM_OP_MAXPOOL || op->type == CNM_OP_AVGPOOL) { /* the padded plane, per thread */
                const cnm_pool_shape ps = cnm_pool_shape_of(m, op);
                size_t need = cnm_pool_scratch_floats(&ps);
                if (need > CNM_WINDOW_MAX_FLOATS) st->kind = CNM_STEP_REFERENCE; /* a plane too large to copy */
                else if (need > m->pw_scratch_floats) m->pw_scratch_floats = need;
            }
            if (op->type == CNM_OP_LINEAR) { /* the gathered features are packed into shared scratch */
                size_t need = m->tensors[op->t[0]].dims[1];
                if (need > m->direct_scratch_floats) m->direct_scratch_floats = need;
            }
        }
        if (st->clip >= 0) m->buffers[m->values[m->ops[st->conv].out].buffer].fused_away = 1; /* conv -> clip, inside the step */
        if (st->conv >= 0 && m->tensors[m->ops[st->conv].t[0]].dtype == CNM_DT_I8) {
            cnm_status qs = prepare_q8(m, st, err);
            if (qs != CNM_OK) return qs;
        } else if (m->fp16 && st->conv >= 0 && (st->kind == CNM_STEP_POINTWISE || st->kind == CNM_STEP_GEMM || st->kind == CNM_STEP_DIRECT)) {
            cnm_status hs = prepare_f16(m, st, err);
            if (hs != CNM_OK) return hs;
        }
        for (uint32_t k = i; k < i + st->n_ops; k++) m->op_step[k] = (int32_t)m->n_steps;
        i += st->n_ops;
        m->n_steps++;
    }
    return CNM_OK;
}
