/* Execution: a context owns the arena planned at load; running walks the ops in order
 * and calls one kernel per op. Nothing here allocates. */
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

cnm_status cnm_context_create(const cnm_model *m, int threads, cnm_context **out, cnm_error *err) {
    if (!m || !out) return cnm_fail(err, CNM_ERR_ARGUMENT, "cnm_context_create: NULL argument");
    *out = NULL;
    cnm_context *c = calloc(1, sizeof *c);
    if (!c) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory for a context", m->name);
    c->model = m;
#ifdef _OPENMP
    c->threads = threads > 0 ? threads : omp_get_max_threads();
#else
    c->threads = 1;
    (void)threads;
#endif
    size_t bytes = (size_t)(m->arena_bytes ? m->arena_bytes : 64);
    c->arena = aligned_alloc(64, (bytes + 63) / 64 * 64);
    c->op_seconds = calloc(m->n_ops + 1, sizeof(double));
    if (!c->arena || !c->op_seconds) {
        cnm_context_free(c);
        return cnm_fail(err, CNM_ERR_NOMEM, "%s: cannot allocate the %zu-byte activation arena", m->name, bytes);
    }
    memset(c->arena, 0, bytes);
    *out = c;
    return CNM_OK;
}

void cnm_context_free(cnm_context *c) {
    if (!c) return;
    free(c->arena);
    free(c->op_seconds);
    free(c);
}

int cnm_context_threads(const cnm_context *c) { return c ? c->threads : 0; }

void cnm_context_set_profile(cnm_context *c, int enabled) {
    if (c) c->profile = enabled != 0;
}

double cnm_context_op_seconds(const cnm_context *c, uint32_t op) {
    return (c && op < c->model->n_ops) ? c->op_seconds[op] : 0.0;
}

static const void *tensor_data(const cnm_model *m, int32_t t) {
    return t < 0 ? NULL : m->tensors[t].data;
}

static void run_op(const cnm_model *m, float *arena, const cnm_op *op, int threads) {
    const cnm_value *iv = &m->values[op->in0], *ov = &m->values[op->out];
    const cnm_buffer *ib = &m->buffers[iv->buffer], *ob = &m->buffers[ov->buffer];
    const float *in = cnm_value_ptr(m, arena, op->in0);
    float *out = cnm_value_ptr(m, arena, op->out);
    const int relu = (int)(op->flags & 1u);
    switch (op->type) {
    case CNM_OP_CONV2D: {
        const cnm_tensor *w = &m->tensors[op->t[0]];
        cnm_conv_shape s = {
            .cin = (int)iv->c, .ih = (int)ib->h, .iw = (int)ib->w,
            .cout = (int)ov->c, .oh = (int)ob->h, .ow = (int)ob->w,
            .kh = (int)w->dims[2], .kw = (int)w->dims[3],
            .sh = op->p[0], .sw = op->p[1], .ph = op->p[2], .pw = op->p[3], .groups = op->p[4],
            .relu = relu,
        };
        cnm_conv2d_f32_ref(&s, in, w->data, tensor_data(m, op->t[1]), out, threads);
        break;
    }
    case CNM_OP_CHANNEL:
        cnm_channel_f32_ref(in, (int)iv->c, out, (int)ov->c, (int)(ib->h * ib->w), tensor_data(m, op->t[0]),
                            tensor_data(m, op->t[1]), tensor_data(m, op->t[2]), op->p[0], relu, threads);
        break;
    case CNM_OP_AVGPOOL:
        cnm_avgpool_f32_ref(in, (int)iv->c, (int)ib->h, (int)ib->w, out, (int)ob->h, (int)ob->w, op->p[0],
                            op->p[1], op->p[2], op->p[3], op->p[4], op->p[5], relu, threads);
        break;
    case CNM_OP_LINEAR: {
        const cnm_tensor *w = &m->tensors[op->t[0]];
        cnm_linear_f32_ref(in, w->data, tensor_data(m, op->t[1]), tensor_data(m, op->t[2]), out,
                           (int)w->dims[0], (int)w->dims[1], relu, threads);
        break;
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
    for (uint32_t i = 0; i < m->n_ops; i++) {
        double t0 = c->profile ? now_seconds() : 0.0;
        run_op(m, c->arena, &m->ops[i], c->threads);
        if (c->profile) c->op_seconds[i] = now_seconds() - t0;
    }
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
