/* LRN: local response normalisation across channels (AlexNet; ONNX LRN), docs/FORMAT.md "lrn".
 *   tensors  none
 *   slots    p0 size (1..4096), p1 alpha, p2 beta, p3 bias (f32 bits) */
#include "op.h"

static int decode(const cnm_model *m, cnm_op *op) {
    (void)m;
    cnm_lrn_params *p = &op->prm.lrn;
    p->size = op->p[0];
    p->alpha = cnm_slot_f32(op->p[1]);
    p->beta = cnm_slot_f32(op->p[2]);
    p->bias = cnm_slot_f32(op->p[3]);
    return 4;
}

static void encode(const cnm_op_params *prm, int32_t p[CNM_OP_SLOTS]) {
    p[0] = prm->lrn.size;
    p[1] = cnm_f32_slot(prm->lrn.alpha);
    p[2] = cnm_f32_slot(prm->lrn.beta);
    p[3] = cnm_f32_slot(prm->lrn.bias);
}

static cnm_status validate(const cnm_op_ctx *c) {
    const cnm_lrn_params *p = &c->op->prm.lrn;
    cnm_status st = cnm_op_no_tensors(c, 0);
    if (st) return st;
    if (p->size < 1 || p->size > 4096 || !(p->alpha >= 0.0f && p->alpha < 1e30f) || !(p->beta >= 0.0f && p->beta <= 64.0f) ||
        !(p->bias > 0.0f && p->bias < 1e30f))
        return cnm_op_fail(c, "size %d must be 1..4096, alpha %g >= 0, beta %g in 0..64 and bias %g > 0", p->size, p->alpha,
                           p->beta, p->bias);
    if ((st = cnm_op_same_shape(c)) != CNM_OK) return st;
    c->op->macs = c->op->work = (uint64_t)c->in->c * c->ib->h * c->ib->w * (uint64_t)p->size;
    return CNM_OK;
}

static void describe(const cnm_model *m, const cnm_op *op, cnm_op_info *info) {
    (void)m;
    info->lrn_size = op->prm.lrn.size;
    info->lrn_alpha = op->prm.lrn.alpha;
    info->lrn_beta = op->prm.lrn.beta;
    info->lrn_bias = op->prm.lrn.bias;
}

static void reference(const cnm_model *m, float *arena, const cnm_op *op) {
    const cnm_value *ov = &m->values[op->out];
    const cnm_buffer *ob = &m->buffers[ov->buffer];
    const cnm_lrn_params *p = &op->prm.lrn;
    cnm_lrn_f32_ref(cnm_value_ptr(m, arena, op->in0), cnm_value_ptr(m, arena, op->out), (int)ov->c, (int)(ob->h * ob->w),
                    p->size, p->alpha, p->beta, p->bias, cnm_op_relu(op));
}

const cnm_op_def cnm_op_lrn = {"lrn", 1, decode, encode, validate, describe, reference};
