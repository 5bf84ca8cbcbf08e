/* AVGPOOL and MAXPOOL: a kh x kw window with stride and zero padding over every channel
 * (docs/FORMAT.md, "avgpool", "maxpool"). The average divides by kh * kw (padding counts); the
 * max never picks padding. Max pool alone has ceil mode (PyTorch ceil_mode).
 *   tensors  none
 *   slots    p0 kernel_h, p1 kernel_w, p2 stride_h, p3 stride_w, p4 pad_h, p5 pad_w; max pool:
 *            p6 ceil mode (0 or 1) */
#include "op.h"

static int decode_pool(cnm_op *op, int max) {
    cnm_pool_params *p = &op->prm.pool;
    p->kernel_h = op->p[0];
    p->kernel_w = op->p[1];
    p->stride_h = op->p[2];
    p->stride_w = op->p[3];
    p->pad_h = op->p[4];
    p->pad_w = op->p[5];
    p->ceil_mode = max ? op->p[6] : 0;
    return max ? 7 : 6;
}
static int decode_avg(const cnm_model *m, cnm_op *op) { (void)m; return decode_pool(op, 0); }
static int decode_max(const cnm_model *m, cnm_op *op) { (void)m; return decode_pool(op, 1); }

static void encode(const cnm_op_params *prm, int32_t p[CNM_OP_SLOTS]) {
    const cnm_pool_params *q = &prm->pool;
    p[0] = q->kernel_h;
    p[1] = q->kernel_w;
    p[2] = q->stride_h;
    p[3] = q->stride_w;
    p[4] = q->pad_h;
    p[5] = q->pad_w;
    p[6] = q->ceil_mode;
}

/* like conv's stride and padding; a window up to 4096 (a global pool of a 4096-wide map), so that
 * kh * kw fits 24 bits: the average's divisor is exact and the window count cannot overflow */
#define POOL_MAX_WINDOW 4096
#define POOL_MAX_STRIDE_PAD 64

static cnm_status validate(const cnm_op_ctx *c) {
    const cnm_pool_params *p = &c->op->prm.pool;
    if (p->ceil_mode != 0 && p->ceil_mode != 1) return cnm_op_fail(c, "ceil mode p6 is %d, must be 0 or 1", p->ceil_mode);
    cnm_status st = cnm_op_no_tensors(c, 0);
    if (st) return st;
    const uint32_t h = c->ib->h, w = c->ib->w;
    if (p->kernel_h < 1 || p->kernel_w < 1 || p->stride_h < 1 || p->stride_w < 1 || p->pad_h < 0 || p->pad_w < 0 ||
        p->kernel_h > POOL_MAX_WINDOW || p->kernel_w > POOL_MAX_WINDOW || p->stride_h > POOL_MAX_STRIDE_PAD ||
        p->stride_w > POOL_MAX_STRIDE_PAD || p->pad_h > POOL_MAX_STRIDE_PAD || p->pad_w > POOL_MAX_STRIDE_PAD ||
        p->pad_h >= p->kernel_h || p->pad_w >= p->kernel_w || (uint64_t)p->kernel_h > h + 2u * (uint64_t)p->pad_h ||
        (uint64_t)p->kernel_w > w + 2u * (uint64_t)p->pad_w)
        return cnm_op_fail(c, "bad window %dx%d (1..4096, larger than its padding), stride %dx%d (1..64) or padding %dx%d (0..64) for a %ux%u input", p->kernel_h, p->kernel_w,
                           p->stride_h, p->stride_w, p->pad_h, p->pad_w, h, w);
    const uint64_t oh = cnm_window_out(h, (uint64_t)p->kernel_h, (uint64_t)p->stride_h, (uint64_t)p->pad_h, p->ceil_mode);
    const uint64_t ow = cnm_window_out(w, (uint64_t)p->kernel_w, (uint64_t)p->stride_w, (uint64_t)p->pad_w, p->ceil_mode);
    if (c->ob->h != oh || c->ob->w != ow || c->in->c != c->out->c)
        return cnm_op_fail(c, "output is %ux%ux%u, the pool gives %ux%llux%llu", c->out->c, c->ob->h, c->ob->w, c->in->c,
                           (unsigned long long)oh, (unsigned long long)ow);
    c->op->work = (uint64_t)c->out->c * oh * ow * (uint64_t)p->kernel_h * (uint64_t)p->kernel_w;
    return CNM_OK;
}

static void describe(const cnm_model *m, const cnm_op *op, cnm_op_info *info) {
    (void)m;
    const cnm_pool_params *p = &op->prm.pool;
    info->kernel_h = p->kernel_h;
    info->kernel_w = p->kernel_w;
    info->stride_h = p->stride_h;
    info->stride_w = p->stride_w;
    info->pad_h = p->pad_h;
    info->pad_w = p->pad_w;
    info->ceil_mode = p->ceil_mode;
}

/* the arguments every pool kernel takes, from the op */
cnm_pool_shape cnm_pool_shape_of(const cnm_model *m, const cnm_op *op) {
    const cnm_value *iv = &m->values[op->in0], *ov = &m->values[op->out];
    const cnm_buffer *ib = &m->buffers[iv->buffer], *ob = &m->buffers[ov->buffer];
    const cnm_pool_params *p = &op->prm.pool;
    cnm_pool_shape s = {(int)iv->c, (int)ib->h, (int)ib->w, (int)ob->h, (int)ob->w, p->kernel_h, p->kernel_w,
                        p->stride_h, p->stride_w, p->pad_h, p->pad_w, cnm_op_relu(op)};
    return s;
}

static void reference_avg(const cnm_model *m, float *arena, const cnm_op *op) {
    const cnm_pool_shape s = cnm_pool_shape_of(m, op);
    cnm_avgpool_f32_ref(&s, cnm_value_ptr(m, arena, op->in0), cnm_value_ptr(m, arena, op->out));
}
static void reference_max(const cnm_model *m, float *arena, const cnm_op *op) {
    const cnm_pool_shape s = cnm_pool_shape_of(m, op);
    cnm_maxpool_f32_ref(&s, cnm_value_ptr(m, arena, op->in0), cnm_value_ptr(m, arena, op->out));
}

const cnm_op_def cnm_op_avgpool = {"avgpool", 1, decode_avg, encode, validate, describe, reference_avg};
const cnm_op_def cnm_op_maxpool = {"maxpool", 1, decode_max, encode, validate, describe, reference_max};
