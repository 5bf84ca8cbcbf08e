/* ADD: the element-wise sum of two values of one shape (the residual addition), then the
 * optional ReLU (docs/FORMAT.md, "add").
 *   tensors  none
 *   slots    none; in1 is the second input */
#include "op.h"


static cnm_status validate(const cnm_op_ctx *c) {
    const cnm_value *in1 = &c->m->values[c->op->in1];
    const cnm_buffer *b1 = &c->m->buffers[in1->buffer];
    cnm_status st = cnm_op_no_tensors(c, 0);
    if (st) return st;
    if (in1->c != c->in->c || b1->h != c->ib->h || b1->w != c->ib->w || c->out->c != c->in->c || c->ob->h != c->ib->h ||
        c->ob->w != c->ib->w)
        return cnm_op_fail(c, "inputs %ux%ux%u and %ux%ux%u and output %ux%ux%u must have one shape", c->in->c, c->ib->h,
                           c->ib->w, in1->c, b1->h, b1->w, c->out->c, c->ob->h, c->ob->w);
    c->op->work = (uint64_t)c->out->c * c->ob->h * c->ob->w;
    return CNM_OK;
}

static void reference(const cnm_model *m, float *arena, const cnm_op *op) {
    const cnm_value *ov = &m->values[op->out];
    const cnm_buffer *ob = &m->buffers[ov->buffer];
    cnm_add_f32_ref(cnm_value_ptr(m, arena, op->in0), cnm_value_ptr(m, arena, op->in1), cnm_value_ptr(m, arena, op->out),
                    (size_t)ov->c * ob->h * ob->w, cnm_op_relu(op));
}

const cnm_op_def cnm_op_add = {"add", 2, cnm_op_decode_none, cnm_op_encode_none, validate, cnm_op_describe_none, reference};
