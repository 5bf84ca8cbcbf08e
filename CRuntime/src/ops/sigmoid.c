/* SIGMOID: the logistic function 1 / (1 + e^-x) of every element, then the optional ReLU
 * (docs/FORMAT.md, "sigmoid").
 *   tensors  none
 *   slots    none */
#include "op.h"

#include <math.h>


static cnm_status validate(const cnm_op_ctx *c) {
    cnm_status st = cnm_op_no_tensors(c, 0);
    if (st) return st;
    if ((st = cnm_op_same_shape(c)) != CNM_OK) return st;
    c->op->work = (uint64_t)c->out->c * c->ob->h * c->ob->w;
    return CNM_OK;
}

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

const cnm_op_def cnm_op_sigmoid = {"sigmoid", 1, cnm_op_decode_none, cnm_op_encode_none, validate, cnm_op_describe_none, reference};
