/* Execution: a context owns the arena planned at load (plus kernel scratch); running walks
 * the planned steps inside one OpenMP parallel region and calls one kernel per step.
 * Nothing here allocates. */
#define _POSIX_C_SOURCE 199309L
#include "internal.h"
#include "kernels/kernels.h"

#include <math.h>
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

cnm_status cnm_context_create(const cnm_model *m, int threads, cnm_context **out, cnm_error *err) {
    if (!m || !out) return cnm_fail(err, CNM_ERR_ARGUMENT, "cnm_context_create: NULL argument");
    *out = NULL;
    if (threads > 1024) return cnm_fail(err, CNM_ERR_ARGUMENT, "%s: %d threads requested (limit 1024)", m->name, threads);
    cnm_context *c = calloc(1, sizeof *c);
    if (!c) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory for a context", m->name);
    c->model = m;
#ifdef _OPENMP
    c->threads = threads > 0 ? threads : omp_get_max_threads();
#else
    c->threads = 1;
    (void)threads;
#endif
    c->isa = (int)cnm_detect_isa();
    /* the VNNI kernels only where the model has int8 convolutions, AVX-512F only where it has fp32
     * conv steps: so that what is reported is what runs */
    int int8_convs = 0, fp32_convs = 0;
    for (uint32_t i = 0; i < m->n_steps; i++) {
        if (m->steps[i].quant) int8_convs = 1;
        else if (m->steps[i].kind == CNM_STEP_POINTWISE || m->steps[i].kind == CNM_STEP_DIRECT) fp32_convs = 1;
    }
    c->vnni = int8_convs && cnm_detect_vnni();
    c->vnni512 = int8_convs && cnm_detect_avx512vnni();
    c->avx512 = fp32_convs && cnm_detect_avx512();
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

void cnm_context_free(cnm_context *c) {
    if (!c) return;
    free(c->arena);
    free(c->pw_scratch);
    free(c->direct_scratch);
    free(c->op_seconds);
    free(c);
}

int cnm_context_threads(const cnm_context *c) { return c ? c->threads : 0; }

const char *cnm_context_isa(const cnm_context *c) {
    if (!c) return "";
    if (c->vnni512 && c->avx512) return "avx2+fma+avx512f+avx512-vnni";
    if (c->vnni512) return "avx2+fma+avx512-vnni";
    if (c->vnni && c->avx512) return "avx2+fma+avx-vnni+avx512f";
    if (c->vnni) return "avx2+fma+avx-vnni";
    if (c->avx512) return "avx2+fma+avx512f";
    return cnm_isa_name((cnm_isa)c->isa);
}

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

static const void *tensor_data(const cnm_model *m, int32_t t) {
    return t < 0 ? NULL : m->tensors[t].data;
}

static cnm_conv_shape conv_shape(const cnm_model *m, const cnm_op *op) {
    const cnm_value *iv = &m->values[op->in0], *ov = &m->values[op->out];
    const cnm_buffer *ib = &m->buffers[iv->buffer], *ob = &m->buffers[ov->buffer];
    const cnm_tensor *w = &m->tensors[op->t[0]];
    cnm_conv_shape s = {
        .cin = (int)iv->c, .ih = (int)ib->h, .iw = (int)ib->w,
        .cout = (int)ov->c, .oh = (int)ob->h, .ow = (int)ob->w,
        .kh = (int)w->dims[2], .kw = (int)w->dims[3],
        .sh = op->p[0], .sw = op->p[1], .ph = op->p[2], .pw = op->p[3], .groups = op->p[4],
        .relu = (int)(op->flags & 1u),
    };
    return s;
}

/* One op with the reference kernels (called by every thread of the region). */
static void run_ref_op(const cnm_model *m, float *arena, const cnm_op *op) {
    const cnm_value *iv = &m->values[op->in0], *ov = &m->values[op->out];
    const cnm_buffer *ib = &m->buffers[iv->buffer], *ob = &m->buffers[ov->buffer];
    const float *in = cnm_value_ptr(m, arena, op->in0);
    float *out = cnm_value_ptr(m, arena, op->out);
    const int relu = (int)(op->flags & 1u);
    switch (op->type) {
    case CNM_OP_CONV2D: {
        cnm_conv_shape s = conv_shape(m, op);
        cnm_conv2d_f32_ref(&s, in, m->tensors[op->t[0]].data, tensor_data(m, op->t[1]), out);
        break;
    }
    case CNM_OP_CHANNEL:
        cnm_channel_f32_ref(in, out, (int)ov->c, (int)(ib->h * ib->w), tensor_data(m, op->t[0]),
                            tensor_data(m, op->t[1]), tensor_data(m, op->t[2]), op->p[0], relu);
        break;
    case CNM_OP_AVGPOOL:
        cnm_avgpool_f32_ref(in, (int)iv->c, (int)ib->h, (int)ib->w, out, (int)ob->h, (int)ob->w, op->p[0],
                            op->p[1], op->p[2], op->p[3], op->p[4], op->p[5], relu);
        break;
    case CNM_OP_MAXPOOL:
        cnm_maxpool_f32_ref(in, (int)iv->c, (int)ib->h, (int)ib->w, out, (int)ob->h, (int)ob->w, op->p[0],
                            op->p[1], op->p[2], op->p[3], op->p[4], op->p[5], relu);
        break;
    case CNM_OP_ADD:
        cnm_add_f32_ref(in, cnm_value_ptr(m, arena, op->in1), out, (size_t)ov->c * ob->h * ob->w, relu);
        break;
    case CNM_OP_LRN:
        cnm_lrn_f32_ref(in, out, (int)ov->c, (int)(ob->h * ob->w), op->p[0], cnm_op_param_f32(op, 1),
                        cnm_op_param_f32(op, 2), cnm_op_param_f32(op, 3), relu);
        break;
    case CNM_OP_LINEAR: {
        const cnm_tensor *w = &m->tensors[op->t[0]];
        cnm_linear_f32_ref(in, w->data, tensor_data(m, op->t[1]), tensor_data(m, op->t[2]), out,
                           (int)w->dims[0], (int)w->dims[1], relu);
        break;
    }
    }
}

static void run_step(const cnm_context *c, const cnm_step *st) {
    const cnm_model *m = c->model;
    float *arena = c->arena;
    switch (st->kind) {
    case CNM_STEP_POINTWISE: {
        const cnm_op *cv = &m->ops[st->conv];
        const cnm_op *pre = st->pre >= 0 ? &m->ops[st->pre] : NULL, *post = st->post >= 0 ? &m->ops[st->post] : NULL;
        const cnm_tensor *w = &m->tensors[cv->t[0]];
        const cnm_value *ov = &m->values[cv->out];
        const cnm_buffer *ob = &m->buffers[ov->buffer];
        cnm_pw_args a = {
            .in = cnm_value_ptr(m, arena, pre ? pre->in0 : cv->in0),
            .hw = (int)(ob->h * ob->w),
            .src = st->src,
            .pre_scale = pre ? tensor_data(m, pre->t[0]) : NULL,
            .pre_shift = pre ? tensor_data(m, pre->t[1]) : NULL,
            .pre_relu = pre ? (int)(pre->flags & 1u) : 0,
            .w = w->data,
            .cin_g = (int)w->dims[1],
            .cout = (int)ov->c,
            .groups = cv->p[4],
            .bias = tensor_data(m, cv->t[1]),
            .dst = st->dst,
            .post_scale = post ? tensor_data(m, post->t[0]) : NULL,
            .post_shift = post ? tensor_data(m, post->t[1]) : NULL,
            .post_relu = post ? (int)(post->flags & 1u) : (int)(cv->flags & 1u),
            .out = cnm_value_ptr(m, arena, post ? post->out : cv->out),
            .scratch = c->pw_scratch,
            .scratch_stride = m->pw_scratch_floats,
        };
        if (st->quant) {
            cnm_q8_args q = {.pw = a, .wq = m->tensors[cv->t[0]].data, .wpairs = st->q8_wpairs, .wdot = st->q8_wdot,
                             .wsum = st->q8_wsum, .mult = st->q8_mult, .inv_scale = st->q8_inv_scale, .zp = st->q8_zp,
                             .panel = (int16_t *)c->pw_scratch, .panel_stride = m->pw_scratch_floats * 2};
#if defined(__x86_64__)
            if (c->isa == CNM_ISA_AVX2 && c->vnni512) cnm_pointwise_q8_avx512vnni(&q);
            else if (c->isa == CNM_ISA_AVX2 && c->vnni) cnm_pointwise_q8_avxvnni(&q);
            else
#endif
            if (c->isa == CNM_ISA_AVX2) cnm_pointwise_q8_avx2(&q);
#if defined(__aarch64__)
            else if (c->isa == CNM_ISA_NEON_DOT) cnm_pointwise_q8_neondot(&q);
            else if (c->isa == CNM_ISA_NEON) cnm_pointwise_q8_neon(&q);
#endif
            else cnm_pointwise_q8_ref(&q);
            break;
        }
        if (c->isa == CNM_ISA_AVX2 && c->avx512) cnm_pointwise_f32_avx512(&a);
        else if (c->isa == CNM_ISA_AVX2) cnm_pointwise_f32_avx2(&a);
        else if (c->isa == CNM_ISA_NEON || c->isa == CNM_ISA_NEON_DOT) cnm_pointwise_f32_neon(&a);
        else cnm_pointwise_f32_ref(&a);
        break;
    }
    case CNM_STEP_DIRECT: {
        const cnm_op *op = &m->ops[st->conv];
        if (st->quant) {
            cnm_conv_shape s = conv_shape(m, op);
#if defined(__x86_64__)
            if (c->isa == CNM_ISA_AVX2 && c->vnni512)
                cnm_conv2d_direct_q8_avx512vnni(&s, cnm_value_ptr(m, arena, op->in0), st->q8_wdot, st->q8_wsum, st->q8_mult,
                                                tensor_data(m, op->t[1]), st->q8_inv_scale, st->q8_zp,
                                                cnm_value_ptr(m, arena, op->out), (int32_t *)c->direct_scratch);
            else if (c->isa == CNM_ISA_AVX2 && c->vnni)
                cnm_conv2d_direct_q8_avxvnni(&s, cnm_value_ptr(m, arena, op->in0), st->q8_wdot, st->q8_wsum, st->q8_mult,
                                             tensor_data(m, op->t[1]), st->q8_inv_scale, st->q8_zp,
                                             cnm_value_ptr(m, arena, op->out), (int32_t *)c->direct_scratch);
            else if (c->isa == CNM_ISA_AVX2)
                cnm_conv2d_direct_q8_avx2(&s, cnm_value_ptr(m, arena, op->in0), st->q8_wpairs, st->q8_mult,
                                          tensor_data(m, op->t[1]), st->q8_inv_scale, st->q8_zp,
                                          cnm_value_ptr(m, arena, op->out), (int32_t *)c->direct_scratch);
            else
#endif
#if defined(__aarch64__)
            if (c->isa == CNM_ISA_NEON_DOT)
                cnm_conv2d_direct_q8_neondot(&s, cnm_value_ptr(m, arena, op->in0), st->q8_wdot, st->q8_wsum, st->q8_mult,
                                             tensor_data(m, op->t[1]), st->q8_inv_scale, st->q8_zp,
                                             cnm_value_ptr(m, arena, op->out), (int32_t *)c->direct_scratch);
            else if (c->isa == CNM_ISA_NEON)
                cnm_conv2d_direct_q8_neon(&s, cnm_value_ptr(m, arena, op->in0), st->q8_wpairs, st->q8_mult,
                                          tensor_data(m, op->t[1]), st->q8_inv_scale, st->q8_zp,
                                          cnm_value_ptr(m, arena, op->out), (int32_t *)c->direct_scratch);
            else
#endif
                cnm_conv2d_q8_ref(&s, cnm_value_ptr(m, arena, op->in0), m->tensors[op->t[0]].data, st->q8_mult,
                                  tensor_data(m, op->t[1]), st->q8_inv_scale, st->q8_zp, cnm_value_ptr(m, arena, op->out));
        } else if (c->isa == CNM_ISA_AVX2 && c->avx512) {
            cnm_conv_shape s = conv_shape(m, op);
            cnm_conv2d_direct_f32_avx512(&s, cnm_value_ptr(m, arena, op->in0), m->tensors[op->t[0]].data,
                                         tensor_data(m, op->t[1]), cnm_value_ptr(m, arena, op->out), c->direct_scratch);
        } else if (c->isa != CNM_ISA_SCALAR) {
            cnm_conv_shape s = conv_shape(m, op);
            (c->isa == CNM_ISA_AVX2 ? cnm_conv2d_direct_f32_avx2 : cnm_conv2d_direct_f32_neon)(
                &s, cnm_value_ptr(m, arena, op->in0), m->tensors[op->t[0]].data, tensor_data(m, op->t[1]),
                cnm_value_ptr(m, arena, op->out), c->direct_scratch);
        } else {
            run_ref_op(m, arena, op);
        }
        break;
    }
    default: {
        const cnm_op *op = &m->ops[st->first_op];
        if (st->quant) { /* a quantised conv no fast kernel takes (e.g. horizontal stride > 2) */
            cnm_conv_shape s = conv_shape(m, op);
            cnm_conv2d_q8_ref(&s, cnm_value_ptr(m, arena, op->in0), m->tensors[op->t[0]].data, st->q8_mult,
                              tensor_data(m, op->t[1]), st->q8_inv_scale, st->q8_zp, cnm_value_ptr(m, arena, op->out));
        } else if (op->type == CNM_OP_LINEAR && c->isa != CNM_ISA_SCALAR) {
            const cnm_tensor *w = &m->tensors[op->t[0]];
            (c->isa == CNM_ISA_AVX2 ? cnm_linear_f32_avx2 : cnm_linear_f32_neon)(cnm_value_ptr(m, arena, op->in0), w->data, tensor_data(m, op->t[1]),
                                tensor_data(m, op->t[2]), cnm_value_ptr(m, arena, op->out), (int)w->dims[0],
                                (int)w->dims[1], (int)(op->flags & 1u), c->direct_scratch);
        } else if (op->type == CNM_OP_AVGPOOL && c->isa == CNM_ISA_AVX2) {
            const cnm_value *iv = &m->values[op->in0], *ov = &m->values[op->out];
            const cnm_buffer *ib = &m->buffers[iv->buffer], *ob = &m->buffers[ov->buffer];
            cnm_avgpool_f32_avx2(cnm_value_ptr(m, arena, op->in0), (int)iv->c, (int)ib->h, (int)ib->w,
                                 cnm_value_ptr(m, arena, op->out), (int)ob->h, (int)ob->w, op->p[0], op->p[1],
                                 op->p[2], op->p[3], op->p[4], op->p[5], (int)(op->flags & 1u));
        } else {
            run_ref_op(m, arena, op);
        }
    }
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
                uint32_t main = st->conv >= 0 ? (uint32_t)st->conv : st->first_op;
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
    /* One thread and no enclosing OpenMP region: no region at all (the kernels' worksharing runs
     * on this thread). Called from inside a caller's parallel region, a region of our own keeps
     * the kernels' `omp for` from binding to the caller's team. */
    if (c->threads > 1 || omp_in_parallel()) {
#pragma omp parallel num_threads(c->threads)
        run_steps(c);
    } else {
        run_steps(c);
    }
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
