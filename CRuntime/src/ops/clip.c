/* CLIP: every element clamped to [min, max] (ReLU6 is min 0, max 6; ONNX Clip, PyTorch clamp /
 * hardtanh), then the optional ReLU (docs/FORMAT.md, "clip").
 *   tensors  none
 *   slots    p0 min, p1 max (f32 bits; cnm_op_info shows them as params.clip) */
#include "op.h"

static int decode(const cnm_model *m, cnm_op *op) {
    (void)m;
    op->prm.clip.min = cnm_slot_f32(op->p[0]);
    op->prm.clip.max = cnm_slot_f32(op->p[1]);
    return 2;
}

static void encode(const cnm_op_params *prm, int32_t p[CNM_OP_SLOTS]) {
    p[0] = cnm_f32_slot(prm->clip.min);
    p[1] = cnm_f32_slot(prm->clip.max);
}

static cnm_status validate(const cnm_op_ctx *c) {
    const cnm_clip_params *p = &c->op->prm.clip;
    cnm_status st = cnm_op_no_tensors(c, 0);
    if (st) return st;
    if (!(p->min <= p->max)) return cnm_op_fail(c, "min %g must be at most max %g (and neither NaN)", p->min, p->max);
    if ((st = cnm_op_same_shape(c)) != CNM_OK) return st;
    c->op->work = (uint64_t)c->out->c * c->ob->h * c->ob->w;
    return CNM_OK;
}

/* the scalar reference: NaN stays NaN (as PyTorch's clamp), then the ReLU of every operator */
static void reference(const cnm_model *m, float *arena, const cnm_op *op) {
    const cnm_value *ov = &m->values[op->out];
    const cnm_buffer *ob = &m->buffers[ov->buffer];
    const int hw = (int)(ob->h * ob->w), c = (int)ov->c, relu = cnm_op_relu(op);
    const float lo = op->prm.clip.min, hi = op->prm.clip.max;
    const float *in = cnm_value_ptr(m, arena, op->in0);
    float *out = cnm_value_ptr(m, arena, op->out);
#pragma omp for schedule(static)
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < hw; i++) {
            const float v = cnm_clamp(in[(size_t)ch * hw + i], lo, hi);
            out[(size_t)ch * hw + i] = relu && !(v > 0.0f) ? 0.0f : v;
        }
}

const cnm_op_def cnm_op_clip = {"clip", 1, decode, encode, validate, cnm_op_describe_none, reference};
