/* SIGMOID: the logistic function 1 / (1 + e^-x) of every element, then the optional ReLU
 * (docs/FORMAT.md, "sigmoid").
 *   tensors  none
 *   slots    none */
#include "op.h"

#include <math.h>

static int decode(const cnm_model *m, cnm_op *op) { (void)m; (void)op; return 0; }
static void encode(const cnm_op_params *prm, int32_t p[CNM_OP_SLOTS]) { (void)prm; (void)p; }

static cnm_status validate(const cnm_op_ctx *c) {
    cnm_status st = cnm_op_no_tensors(c, 0);
    if (st) return st;
    if (c->in->c != c->out->c || c->ob->h != c->ib->h || c->ob->w != c->ib->w)
        return cnm_op_fail(c, "output %ux%ux%u differs from the input %ux%ux%u", c->out->c, c->ob->h, c->ob->w, c->in->c,
                           c->ib->h, c->ib->w);
    c->op->work = (uint64_t)c->out->c * c->ob->h * c->ob->w;
    return CNM_OK;
}

static void describe(const cnm_model *m, const cnm_op *op, cnm_op_info *info) { (void)m; (void)op; (void)info; }

/* the scalar reference: expf of -x (finite for every x: +inf gives 1, -inf 0, NaN stays NaN) */
static void reference(const cnm_model *m, float *arena, const cnm_op *op) {
    const cnm_value *ov = &m->values[op->out];
    const cnm_buffer *ob = &m->buffers[ov->buffer];
    const int hw = (int)(ob->h * ob->w), c = (int)ov->c;
    const float *in = cnm_value_ptr(m, arena, op->in0);
    float *out = cnm_value_ptr(m, arena, op->out);
    const int relu = cnm_op_relu(op);
#pragma omp for schedule(static)
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < hw; i++) {
            const float v = 1.0f / (1.0f + expf(-in[(size_t)ch * hw + i]));
            out[(size_t)ch * hw + i] = relu && !(v > 0.0f) ? 0.0f : v;
        }
}

const cnm_op_def cnm_op_sigmoid = {"sigmoid", 1, decode, encode, validate, describe, reference};
