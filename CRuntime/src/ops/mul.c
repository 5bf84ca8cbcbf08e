/* MUL: the element-wise product of two values, the second of one shape with the first or one
 * number per channel (C x 1 x 1, broadcast over the map: the squeeze-and-excitation gate), then
 * the optional ReLU (docs/FORMAT.md, "mul").
 *   tensors  none
 *   slots    none; in1 is the second input */
#include "op.h"

static cnm_status validate(const cnm_op_ctx *c) {
    const cnm_value *in1 = &c->m->values[c->op->in1];
    const cnm_buffer *b1 = &c->m->buffers[in1->buffer];
    cnm_status st = cnm_op_no_tensors(c, 0);
    if (st) return st;
    const int same = b1->h == c->ib->h && b1->w == c->ib->w, gate = b1->h == 1 && b1->w == 1;
    if (in1->c != c->in->c || !(same || gate))
        return cnm_op_fail(c, "second input %ux%ux%u must be %ux%ux%u or %ux1x1 (one factor per channel)", in1->c, b1->h,
                           b1->w, c->in->c, c->ib->h, c->ib->w, c->in->c);
    if ((st = cnm_op_same_shape(c)) != CNM_OK) return st;
    c->op->work = (uint64_t)c->out->c * c->ob->h * c->ob->w;
    return CNM_OK;
}

static void reference(const cnm_model *m, float *arena, const cnm_op *op) {
    const cnm_value *ov = &m->values[op->out];
    const cnm_buffer *ob = &m->buffers[ov->buffer], *b1 = &m->buffers[m->values[op->in1].buffer];
    const int hw = (int)(ob->h * ob->w), c = (int)ov->c, relu = cnm_op_relu(op);
    const size_t step = b1->h * b1->w == 1 && hw != 1 ? 0 : 1; /* the gate: one factor per channel */
    const float *a = cnm_value_ptr(m, arena, op->in0), *b = cnm_value_ptr(m, arena, op->in1);
    float *out = cnm_value_ptr(m, arena, op->out);
#pragma omp for schedule(static)
    for (int ch = 0; ch < c; ch++) {
        const float *y = b + (size_t)ch * (step ? (size_t)hw : 1);
        for (int i = 0; i < hw; i++) {
            const float v = a[(size_t)ch * hw + i] * y[(size_t)i * step];
            out[(size_t)ch * hw + i] = relu && !(v > 0.0f) ? 0.0f : v;
        }
    }
}

const cnm_op_def cnm_op_mul = {"mul", 2, cnm_op_decode_none, cnm_op_encode_none, validate, cnm_op_describe_none, reference};
