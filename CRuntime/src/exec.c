/* Execution: a context owns the arena planned at load (plus kernel scratch); running walks
 * the planned steps inside one OpenMP parallel region and calls one kernel per step.
 * Nothing here allocates. */
#define _POSIX_C_SOURCE 199309L
#include "internal.h"
#include "kernels/kernels.h"
#include "ops/op.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *alloc_zeroed(size_t floats) {
    size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    if (bytes == 0) bytes = 64;
    void *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

/* The name cnm_context_isa reports: what runs for this model (the fp32 extras only where fp32
 * convolutions run, the int8 ones only where int8 convolutions run). */
static void compose_isa(cnm_context *c) {
    const cnm_model *m = c->model;
    int int8_convs = 0, fp32_convs = 0, f16_convs = 0;
    for (uint32_t i = 0; i < m->n_steps; i++) {
        if (m->steps[i].f16_w && c->kernels->pointwise_f16) f16_convs = 1;
        if (m->steps[i].quant) int8_convs = 1;
        else if (m->steps[i].kind == CNM_STEP_POINTWISE || m->steps[i].kind == CNM_STEP_DIRECT || m->steps[i].kind == CNM_STEP_DEPTHWISE ||
                 m->steps[i].kind == CNM_STEP_WINOGRAD || m->steps[i].kind == CNM_STEP_GEMM)
            fp32_convs = 1;
    }
    snprintf(c->isa_name, sizeof c->isa_name, "%s%s%s%s", c->kernels->base, fp32_convs ? c->kernels->f32_extra : "",
             int8_convs ? c->kernels->q8_extra : "", f16_convs ? "+fp16" : "");
}

static cnm_status context_create(const cnm_model *m, int threads, const cnm_kernels *k, cnm_context **out, cnm_error *err) {
    if (!m || !out) return cnm_fail(err, CNM_ERR_ARGUMENT, "cnm_context_create: NULL argument");
    *out = NULL;
    if (threads > 1024) return cnm_fail(err, CNM_ERR_ARGUMENT, "%s: %d threads requested (limit 1024)", m->name, threads);
    cnm_context *c = calloc(1, sizeof *c);
    if (!c) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory for a context", m->name);
    c->model = m;
#ifdef _OPENMP
    c->threads = threads > 0 ? threads : omp_get_max_threads();
    c->adaptive = threads <= 0 && c->threads > 1;
    c->idle_ms = getenv("OMP_WAIT_POLICY") || getenv("KMP_BLOCKTIME") ? -1 : 1;
    c->probe_gap = 16;
    c->next_probe = 4;
#else
    c->threads = 1;
    (void)threads;
#endif
    c->kernels = k;
    compose_isa(c);
    c->arena = alloc_zeroed(m->arena_bytes / sizeof(float));
    c->pw_scratch = alloc_zeroed(m->pw_scratch_floats * (size_t)c->threads);
    c->direct_scratch = alloc_zeroed(m->direct_scratch_floats);
    c->op_seconds = calloc(m->n_ops + 1, sizeof(double));
    if (!c->arena || !c->pw_scratch || !c->direct_scratch || !c->op_seconds) {
        cnm_context_free(c);
        return cnm_fail(err, CNM_ERR_NOMEM, "%s: cannot allocate the %llu-byte activation arena", m->name,
                        (unsigned long long)m->arena_bytes);
    }
    *out = c;
    return CNM_OK;
}

cnm_status cnm_context_create(const cnm_model *m, int threads, cnm_context **out, cnm_error *err) {
    return context_create(m, threads, cnm_kernels_select(), out, err);
}

int cnm_context_create_with_kernels(const cnm_model *m, int threads, const cnm_kernels *k, cnm_context **out) {
    return (int)context_create(m, threads, k, out, NULL);
}

void cnm_context_free(cnm_context *c) {
    if (!c) return;
    free(c->arena);
    free(c->pw_scratch);
    free(c->direct_scratch);
    free(c->op_seconds);
    free(c);
}

int cnm_context_threads(const cnm_context *c) { return c ? c->threads : 0; }

void cnm_context_set_idle_ms(cnm_context *c, int ms) {
    if (c) c->idle_ms = ms < 0 ? -1 : ms;
}

#ifdef _OPENMP
/* libomp's (and Intel's) blocktime call, absent from libgomp: a weak reference, NULL there */
extern void kmp_set_blocktime(int msec) __attribute__((weak));
#endif
int cnm_context_threads_used(const cnm_context *c) { return c ? (c->used ? c->used : c->threads) : 0; }
int cnm_context_adaptive(const cnm_context *c) { return c ? c->adaptive : 0; }

/* All threads unless one thread has been clearly (15%) faster: the noise of a quiet machine does
 * not flip the choice, a busy core (several times slower) does at once. */
static int prefer_all(const cnm_context *c) { return c->est[1] <= 1.15 * c->est[0]; }

/* Adaptive threads: which count (0: one thread, 1: all) this run uses. The first four runs try
 * both twice; then the faster estimate wins (prefer_all), and the other is tried again after probe_gap runs
 * (16, doubling to 1024 while it keeps losing, back to 16 when it wins). */
static int adaptive_pick(const cnm_context *c, int *probing) {
    *probing = 0;
    if (c->runs < 4) return (int)(c->runs & 1u) ^ 1;
    const int best = prefer_all(c);
    if (c->runs >= c->next_probe) {
        *probing = 1;
        return !best;
    }
    return best;
}

static void adaptive_learn(cnm_context *c, int idx, int probing, double t) {
    /* a probe of all threads after single-threaded runs first wakes the sleeping workers: that
     * run is not counted, the next one (probing again) is */
    if (probing && idx == 1 && !c->probe_warm) {
        c->probe_warm = 1;
        c->runs++;
        c->next_probe = c->runs;
        return;
    }
    c->probe_warm = 0;
    const int before = prefer_all(c);
    /* a probe measures the present: it replaces the estimate; the count in use is smoothed */
    c->est[idx] = (c->runs < 4 || probing || c->est[idx] == 0.0) ? t : 0.75 * c->est[idx] + 0.25 * t;
    if (probing || c->runs == 3) {
        const int after = prefer_all(c);
        c->probe_gap = (after != before) ? 16 : (c->probe_gap < 1024 ? c->probe_gap * 2 : 1024);
        c->next_probe = c->runs + 1 + c->probe_gap;
    }
    c->runs++;
}

const char *cnm_context_isa(const cnm_context *c) { return c ? c->isa_name : ""; }

void cnm_context_set_profile(cnm_context *c, int enabled) {
    if (c) c->profile = enabled != 0;
}

double cnm_context_op_seconds(const cnm_context *c, uint32_t op) {
    return (c && op < c->model->n_ops) ? c->op_seconds[op] : 0.0;
}

const float *cnm_context_value(const cnm_context *c, uint32_t v, size_t *count) {
    if (count) *count = 0;
    if (!c || v >= c->model->n_values) return NULL;
    const cnm_model *m = c->model;
    const cnm_value *val = &m->values[v];
    const cnm_buffer *b = &m->buffers[val->buffer];
    if (b->fused_away) return NULL;
    if (count) *count = (size_t)val->c * b->h * b->w;
    return cnm_value_ptr(m, c->arena, (int32_t)v);
}

/* The pointwise step's arguments: its conv, with the channel op before it (gather / shuffle + BN +
 * ReLU into the packed panel) and after it (shuffle + BN + ReLU where outputs are stored). */
static cnm_pw_args pointwise_args(const cnm_context *c, const cnm_step *st) {
    const cnm_model *m = c->model;
    const cnm_op *cv = &m->ops[st->conv];
    const cnm_op *pre = st->pre >= 0 ? &m->ops[st->pre] : NULL, *post = st->post >= 0 ? &m->ops[st->post] : NULL;
    const cnm_tensor *w = &m->tensors[cv->t[0]];
    const cnm_value *ov = &m->values[cv->out];
    const cnm_buffer *ob = &m->buffers[ov->buffer];
    cnm_pw_args a = {
        .in = cnm_value_ptr(m, c->arena, pre ? pre->in0 : cv->in0),
        .hw = (int)(ob->h * ob->w),
        .src = st->src,
        .pre_scale = pre ? cnm_tensor_data(m, pre->t[0]) : NULL,
        .pre_shift = pre ? cnm_tensor_data(m, pre->t[1]) : NULL,
        .pre_relu = pre ? cnm_op_relu(pre) : 0,
        .w = w->data,
        .wh = st->f16_w,
        .cin_g = (int)w->dims[1],
        .cout = (int)ov->c,
        .groups = cv->prm.conv2d.groups,
        .bias = cnm_tensor_data(m, cv->t[1]),
        .dst = st->dst,
        .post_scale = post ? cnm_tensor_data(m, post->t[0]) : NULL,
        .post_shift = post ? cnm_tensor_data(m, post->t[1]) : NULL,
        .post_relu = post ? cnm_op_relu(post) : cnm_op_relu(cv),
        .post_clip = st->clip >= 0,
        .clip_lo = st->clip >= 0 ? m->ops[st->clip].prm.clip.min : 0.0f,
        .clip_hi = st->clip >= 0 ? m->ops[st->clip].prm.clip.max : 0.0f,
        .out = cnm_value_ptr(m, c->arena, st->clip >= 0 ? m->ops[st->clip].out : post ? post->out : cv->out),
        .scratch = c->pw_scratch,
        .scratch_stride = m->pw_scratch_floats,
#ifdef _OPENMP
        .threads = omp_get_num_threads(), /* this run's (an adaptive context uses one or all) */
#endif
    };
    const cnm_conv2d_params *p = &cv->prm.conv2d;
    if (w->dims[2] * w->dims[3] > 1 || p->stride_h > 1 || p->stride_w > 1) { /* a window (im2col, kernels.h): a GEMM step */
        const cnm_buffer *ib = &m->buffers[m->values[pre ? pre->in0 : cv->in0].buffer];
        a.kh = (int)w->dims[2], a.kw = (int)w->dims[3], a.sh = p->stride_h, a.sw = p->stride_w, a.ph = p->pad_h, a.pw = p->pad_w;
        a.in_h = (int)ib->h, a.in_w = (int)ib->w, a.out_w = (int)ob->w;
        a.cin_g = (int)(w->dims[1] * w->dims[2] * w->dims[3]);
    }
    return a;
}

static cnm_q8_args pointwise_q8_args(const cnm_context *c, const cnm_step *st) {
    const cnm_model *m = c->model;
    cnm_q8_args q = {.pw = pointwise_args(c, st), .wq = m->tensors[m->ops[st->conv].t[0]].data, .wpairs = st->q8_wpairs,
                     .wdot = st->q8_wdot, .wsum = st->q8_wsum, .mult = st->q8_mult, .inv_scale = st->q8_inv_scale,
                     .zp = st->q8_zp, .panel = (int16_t *)c->pw_scratch, .panel_stride = m->pw_scratch_floats * 2};
    return q;
}

/* A conv step's shape, with the CLIP fused into its epilogue if any; *out: where it writes. */
static cnm_conv_shape step_shape(const cnm_context *c, const cnm_step *st, float **out) {
    const cnm_model *m = c->model;
    const cnm_op *op = &m->ops[st->conv];
    cnm_conv_shape s = cnm_conv_shape_of(m, op);
    *out = cnm_value_ptr(m, c->arena, op->out);
    if (st->clip >= 0) {
        const cnm_op *cl = &m->ops[st->clip];
        s.clip = 1, s.clip_lo = cl->prm.clip.min, s.clip_hi = cl->prm.clip.max;
        *out = cnm_value_ptr(m, c->arena, cl->out);
    }
    return s;
}

static void run_direct(const cnm_context *c, const cnm_step *st) {
    const cnm_model *m = c->model;
    const cnm_op *op = &m->ops[st->conv];
    float *out;
    const cnm_conv_shape s = step_shape(c, st, &out);
    const cnm_direct_args a = {.s = &s, .in = cnm_value_ptr(m, c->arena, op->in0), .out = out,
                               .bias = cnm_tensor_data(m, op->t[1]), .w = m->tensors[op->t[0]].data, .wh = st->f16_w,
                               .wq = m->tensors[op->t[0]].data, .wpairs = st->q8_wpairs, .wdot = st->q8_wdot,
                               .wsum = st->q8_wsum, .mult = st->q8_mult, .inv_scale = st->q8_inv_scale, .zp = st->q8_zp,
                               .pad = c->direct_scratch};
    (!st->quant ? (st->f16_w && c->kernels->direct_f16 ? c->kernels->direct_f16 : c->kernels->direct_f32)
                : st->q8_w7 ? c->kernels->direct_q8w7 : c->kernels->direct_q8)(&a);
}

/* A LINEAR op, or a whole-map fp32 conv (plan.c: weight [N][C][H][W] = [N][K]; its t2 is -1: no index). */
static void run_linear(const cnm_context *c, const cnm_op *op) {
    const cnm_model *m = c->model;
    const cnm_tensor *w = &m->tensors[op->t[0]];
    const int k = (int)(op->type == CNM_OP_CONV2D ? w->dims[1] * w->dims[2] * w->dims[3] : w->dims[1]);
    c->kernels->linear_f32(cnm_value_ptr(m, c->arena, op->in0), w->data, cnm_tensor_data(m, op->t[1]),
                           cnm_tensor_data(m, op->t[2]), cnm_value_ptr(m, c->arena, op->out),
                           (int)w->dims[0], k, cnm_op_relu(op), c->direct_scratch);
}

/* One step: the planner chose its algorithm (st->kind), the context's kernel table holds the
 * implementation for this CPU. */
static void run_step(const cnm_context *c, const cnm_step *st) {
    const cnm_model *m = c->model;
    const cnm_op *op = &m->ops[st->first_op];
    switch ((cnm_step_kind)st->kind) {
    case CNM_STEP_POINTWISE:
    case CNM_STEP_GEMM: /* the pointwise kernels, over the window's rows */
        if (st->quant) {
            const cnm_q8_args q = pointwise_q8_args(c, st);
            (st->q8_w7 ? c->kernels->pointwise_q8w7 : c->kernels->pointwise_q8)(&q);
        } else {
            const cnm_pw_args a = pointwise_args(c, st);
            (st->f16_w && c->kernels->pointwise_f16 ? c->kernels->pointwise_f16 : c->kernels->pointwise_f32)(&a);
        }
        return;
    case CNM_STEP_DIRECT: run_direct(c, st); return;
    case CNM_STEP_LINEAR: run_linear(c, op); return;
    case CNM_STEP_DEPTHWISE: {
        float *out;
        const cnm_conv_shape s = step_shape(c, st, &out);
        const cnm_dw_args a = {.s = &s, .in = cnm_value_ptr(m, c->arena, op->in0), .w = m->tensors[op->t[0]].data,
                               .bias = cnm_tensor_data(m, op->t[1]), .out = out,
                               .scratch = c->pw_scratch, .scratch_stride = m->pw_scratch_floats};
        c->kernels->depthwise_f32(&a);
        return;
    }
    case CNM_STEP_WINOGRAD: {
        float *out;
        const cnm_conv_shape s = step_shape(c, st, &out);
        const cnm_wino_args a = {.s = &s, .in = cnm_value_ptr(m, c->arena, op->in0), .u = st->wino_u,
                                 .bias = cnm_tensor_data(m, op->t[1]), .out = out, .scratch = c->direct_scratch};
        c->kernels->winograd_f32(&a);
        return;
    }
    case CNM_STEP_AVGPOOL:
        if (st->pre >= 0) { /* a CHANNEL op, then the global average pool (plan.c is_channel_global_avg) */
            const cnm_op *pool = &m->ops[st->first_op + 1];
            const cnm_pool_shape s = cnm_pool_shape_of(m, pool);
            c->kernels->channel_avg_f32(&s, cnm_value_ptr(m, c->arena, op->in0), cnm_value_ptr(m, c->arena, pool->out),
                                        cnm_tensor_data(m, op->t[0]), cnm_tensor_data(m, op->t[1]), cnm_op_relu(op));
            return;
        }
        /* fall through */
    case CNM_STEP_MAXPOOL: {
        const cnm_pool_shape s = cnm_pool_shape_of(m, op);
        const float *in = cnm_value_ptr(m, c->arena, op->in0);
        float *out = cnm_value_ptr(m, c->arena, op->out);
        const cnm_pool_fn pool = st->kind == CNM_STEP_AVGPOOL ? c->kernels->avgpool_f32 : c->kernels->maxpool_f32;
        pool(&s, in, out, c->pw_scratch, m->pw_scratch_floats); /* per-thread scratch */
        return;
    }
    case CNM_STEP_REFERENCE: cnm_op_def_of(op->type)->reference(m, c->arena, op); return;
    }
}

/* Every thread of the region walks all steps; each kernel splits its work with `omp for`. */
static void run_steps(cnm_context *c) {
    const cnm_model *m = c->model;
    const int profile = c->profile;
    for (uint32_t i = 0; i < m->n_steps; i++) {
        double t0 = 0.0;
        if (profile) {
#pragma omp barrier
#pragma omp master
            t0 = now_seconds();
        }
        run_step(c, &m->steps[i]);
        if (profile) {
#pragma omp barrier
#pragma omp master
            {
                const cnm_step *st = &m->steps[i];
                const uint32_t main = cnm_step_main(st);
                for (uint32_t k = st->first_op; k < st->first_op + st->n_ops; k++) c->op_seconds[k] = 0.0;
                c->op_seconds[main] = now_seconds() - t0;
            }
        }
    }
}

cnm_status cnm_context_run(cnm_context *c, const float *input, size_t input_count, float *logits,
                           size_t logits_count, cnm_error *err) {
    if (!c || !input || !logits) return cnm_fail(err, CNM_ERR_ARGUMENT, "cnm_context_run: NULL argument");
    const cnm_model *m = c->model;
    const size_t want_in = (size_t)m->input_c * m->input_h * m->input_w;
    if (input_count != want_in)
        return cnm_fail(err, CNM_ERR_ARGUMENT, "%s: input has %zu values, the model takes %ux%ux%u = %zu",
                        m->name, input_count, m->input_c, m->input_h, m->input_w, want_in);
    if (logits_count != m->num_classes)
        return cnm_fail(err, CNM_ERR_ARGUMENT, "%s: output has room for %zu values, the model gives %u",
                        m->name, logits_count, m->num_classes);
    memcpy(cnm_value_ptr(m, c->arena, (int32_t)m->input_value), input, want_in * sizeof(float));
#ifdef _OPENMP
    int idx = 1, probing = 0;
    if (c->adaptive) idx = adaptive_pick(c, &probing);
    const int use = idx ? c->threads : 1;
    const double t0 = c->adaptive ? now_seconds() : 0.0;
    /* One thread and no enclosing OpenMP region: no region at all (the kernels' worksharing runs
     * on this thread). Called from inside a caller's parallel region, a region of our own keeps
     * the kernels' `omp for` from binding to the caller's team. */
    if (use > 1 && c->idle_ms >= 0 && kmp_set_blocktime) kmp_set_blocktime(c->idle_ms); /* this thread's teams */
    if (use > 1 || omp_in_parallel()) {
#pragma omp parallel num_threads(use)
        run_steps(c);
    } else {
        run_steps(c);
    }
    c->used = use;
    if (c->adaptive) adaptive_learn(c, idx, probing, now_seconds() - t0);
#else
    run_steps(c);
#endif
    memcpy(logits, cnm_value_ptr(m, c->arena, (int32_t)m->output_value), m->num_classes * sizeof(float));
    return CNM_OK;
}

void cnm_softmax(const float *logits, float *probs, size_t n) {
    if (n == 0) return;
    float mx = logits[0];
    for (size_t i = 1; i < n; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        probs[i] = expf(logits[i] - mx);
        sum += probs[i];
    }
    for (size_t i = 0; i < n; i++) probs[i] = (float)(probs[i] / sum);
}
