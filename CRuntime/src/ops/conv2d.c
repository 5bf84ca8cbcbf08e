/* CONV2D: grouped 2-D convolution, fp32 or int8 (docs/FORMAT.md, "conv2d").
 *   tensors  t0 weight [cout][cin/groups][kh][kw] (f32, or i8 for an int8 conv), t1 bias [cout]
 *            (optional), t2 (int8 only) per-output weight scales [cout], t3 -1
 *   slots    p0 stride_h, p1 stride_w, p2 pad_h, p3 pad_w, p4 groups; int8: p5 input scale (f32
 *            bits), p6 zero point (bits 0..7) and weight bits (bits 8..15: 0 = 8, or 7) */
#include "op.h"

#include <float.h>

#define CONV_MAX_STRIDE_PAD 64
/* The longest int8 reduction (cin/groups x kh x kw products) whose worst case fits an int32 sum
 * exactly: |q| <= 255 (codes 0..255 minus a zero point; the VNNI kernels sum u = q + zp), |w| <= 127,
 * so K * 255 * 127 <= 2^31 - 1 gives K <= 66,311. */
#define CONV_Q8_MAX_REDUCTION 66311u

static int is_int8(const cnm_model *m, const cnm_op *op) {
    return op->t[0] >= 0 && (uint32_t)op->t[0] < m->n_tensors && m->tensors[op->t[0]].dtype == CNM_DT_I8;
}

static int decode(const cnm_model *m, cnm_op *op) {
    cnm_conv2d_params *c = &op->prm.conv2d;
    c->stride_h = op->p[0];
    c->stride_w = op->p[1];
    c->pad_h = op->p[2];
    c->pad_w = op->p[3];
    c->groups = op->p[4];
    const int q = is_int8(m, op);
    c->input_scale = q ? cnm_slot_f32(op->p[5]) : 0.0f;
    const uint32_t p6 = q ? (uint32_t)op->p[6] : 0;
    c->zero_point = (int32_t)(p6 & 0xFFu);
    c->weight_bits = !q ? 0 : (p6 >> 8) == 0 ? 8 : (p6 >> 8) == 7 ? 7 : -1; /* -1: refused by validate */
    return q ? 7 : 5;
}

static void encode(const cnm_op_params *prm, int32_t p[CNM_OP_SLOTS]) {
    const cnm_conv2d_params *c = &prm->conv2d;
    p[0] = c->stride_h;
    p[1] = c->stride_w;
    p[2] = c->pad_h;
    p[3] = c->pad_w;
    p[4] = c->groups;
    p[5] = c->input_scale != 0.0f ? cnm_f32_slot(c->input_scale) : 0;
    p[6] = c->zero_point | (c->weight_bits == 7 ? 7 << 8 : 0);
}

/* int8: the per-output weight scales, the input's scale and zero point, symmetric weights */
static cnm_status validate_int8(const cnm_op_ctx *c, const cnm_tensor *w, const uint32_t *bd) {
    const cnm_conv2d_params *p = &c->op->prm.conv2d;
    cnm_status st;
    const cnm_tensor *ws = cnm_op_tensor(c, c->op->t[2], "weight scale", CNM_DT_F32, 1, bd, 0, &st);
    if (!ws) return st;
    /* normal (so that 1 / scale is finite), below 1e30, and every product in_scale * w_scale normal */
    if (!(p->input_scale >= FLT_MIN && p->input_scale < 1e30f))
        return cnm_op_fail(c, "input scale %g must be a normal float in (0, 1e30)", p->input_scale);
    if (p->weight_bits < 0)
        return cnm_op_fail(c, "p6 = %d holds more than the zero point %d (bits 0..7) and the weight bits (bits 8..15: 0 = 8, or 7)",
                           c->op->p[6], p->zero_point);
    const uint64_t k = (uint64_t)w->dims[1] * w->dims[2] * w->dims[3];
    if (k > CONV_Q8_MAX_REDUCTION)
        return cnm_op_fail(c, "int8 reduction of %llu products (cin/groups x kh x kw) exceeds %u, the longest whose worst-case sum fits int32",
                           (unsigned long long)k, CONV_Q8_MAX_REDUCTION);
    for (uint32_t o = 0; o < bd[0]; o++) {
        float v;
        memcpy(&v, (const uint8_t *)ws->data + 4 * (size_t)o, 4);
        const float prod = p->input_scale * v;
        if (!(v >= FLT_MIN && v < 1e30f) || !(prod >= FLT_MIN && prod <= FLT_MAX))
            return cnm_op_fail(c, "weight scale [%u] = %g must be a normal float in (0, 1e30) whose product with the input scale %g is normal",
                               o, v, p->input_scale);
    }
    const int8_t *wq = w->data;
    const int wmax = p->weight_bits == 7 ? 63 : 127;
    for (uint64_t k = 0; k < w->nbytes; k++)
        if (wq[k] < -wmax || wq[k] > wmax)
            return cnm_op_fail(c, "int8 weight %llu is %d, outside the %d-bit symmetric range -%d..%d", (unsigned long long)k, wq[k],
                               p->weight_bits, wmax, wmax);
    return CNM_OK;
}

static cnm_status validate(const cnm_op_ctx *c) {
    cnm_op *op = c->op;
    const cnm_conv2d_params *p = &op->prm.conv2d;
    if (op->t[0] < 0 || (uint32_t)op->t[0] >= c->m->n_tensors) return cnm_op_fail(c, "weight tensor index %d out of range", op->t[0]);
    const cnm_tensor *w = &c->m->tensors[op->t[0]];
    const int quant = w->dtype == CNM_DT_I8;
    cnm_status st = cnm_op_no_tensors(c, quant ? 3 : 2);
    if (st) return st;
    if (w->ndim != 4) return cnm_op_fail(c, "weight '%s' is not 4-D", w->name);
    const uint32_t kh = w->dims[2], kw = w->dims[3], cin = c->in->c, cout = c->out->c;
    if (p->stride_h < 1 || p->stride_w < 1 || p->pad_h < 0 || p->pad_w < 0 || p->groups < 1 || p->stride_h > CONV_MAX_STRIDE_PAD ||
        p->stride_w > CONV_MAX_STRIDE_PAD || p->pad_h > CONV_MAX_STRIDE_PAD || p->pad_w > CONV_MAX_STRIDE_PAD)
        return cnm_op_fail(c, "bad stride %dx%d, padding %dx%d or groups %d", p->stride_h, p->stride_w, p->pad_h, p->pad_w,
                           p->groups);
    const uint32_t g = (uint32_t)p->groups;
    if (cin % g || cout % g) return cnm_op_fail(c, "%u input / %u output channels not divisible by %u groups", cin, cout, g);
    const uint64_t ph = (uint64_t)c->ib->h + 2u * (uint64_t)p->pad_h, pw = (uint64_t)c->ib->w + 2u * (uint64_t)p->pad_w;
    if (kh > ph || kw > pw)
        return cnm_op_fail(c, "kernel %ux%u larger than the padded input %llux%llu", kh, kw, (unsigned long long)ph,
                           (unsigned long long)pw);
    const uint64_t oh = cnm_window_out(c->ib->h, kh, (uint64_t)p->stride_h, (uint64_t)p->pad_h, 0);
    const uint64_t ow = cnm_window_out(c->ib->w, kw, (uint64_t)p->stride_w, (uint64_t)p->pad_w, 0);
    if (c->ob->h != oh || c->ob->w != ow)
        return cnm_op_fail(c, "output is %ux%u, the convolution gives %llux%llu", c->ob->h, c->ob->w, (unsigned long long)oh,
                           (unsigned long long)ow);
    const uint32_t wd[4] = {cout, cin / g, kh, kw}, bd[1] = {cout};
    if (!cnm_op_tensor(c, op->t[0], "weight", quant ? CNM_DT_I8 : CNM_DT_F32, 4, wd, 0, &st)) return st;
    if (op->t[1] != -1 && !cnm_op_tensor(c, op->t[1], "bias", CNM_DT_F32, 1, bd, 1, &st)) return st;
    if (quant && (st = validate_int8(c, w, bd)) != CNM_OK) return st;
    if ((!quant && (st = cnm_op_finite(c, op->t[0], "weight")) != CNM_OK) || (st = cnm_op_finite(c, op->t[1], "bias")) != CNM_OK)
        return st;
    op->macs = op->work = (uint64_t)cout * oh * ow * (cin / g) * kh * kw;
    return CNM_OK;
}

static void describe(const cnm_model *m, const cnm_op *op, cnm_op_info *info) {
    const cnm_conv2d_params *p = &op->prm.conv2d;
    const cnm_tensor *w = &m->tensors[op->t[0]];
    if (w->dtype == CNM_DT_I8) {
        info->quantized = 1;
        info->input_scale = p->input_scale;
        info->zero_point = (float)p->zero_point;
    }
    info->kernel_h = (int32_t)w->dims[2];
    info->kernel_w = (int32_t)w->dims[3];
    info->stride_h = p->stride_h;
    info->stride_w = p->stride_w;
    info->pad_h = p->pad_h;
    info->pad_w = p->pad_w;
    info->groups = p->groups;
    info->weight_name = w->name;
}

cnm_conv_shape cnm_conv_shape_of(const cnm_model *m, const cnm_op *op) {
    const cnm_value *iv = &m->values[op->in0], *ov = &m->values[op->out];
    const cnm_buffer *ib = &m->buffers[iv->buffer], *ob = &m->buffers[ov->buffer];
    const cnm_tensor *w = &m->tensors[op->t[0]];
    const cnm_conv2d_params *p = &op->prm.conv2d;
    cnm_conv_shape s = {
        .cin = (int)iv->c, .ih = (int)ib->h, .iw = (int)ib->w,
        .cout = (int)ov->c, .oh = (int)ob->h, .ow = (int)ob->w,
        .kh = (int)w->dims[2], .kw = (int)w->dims[3],
        .sh = p->stride_h, .sw = p->stride_w, .ph = p->pad_h, .pw = p->pad_w, .groups = p->groups,
        .relu = cnm_op_relu(op),
    };
    return s;
}

/* int8: the multipliers in_scale * w_scale come from the op's step (prepared at load) */
static void reference(const cnm_model *m, float *arena, const cnm_op *op) {
    const cnm_conv_shape s = cnm_conv_shape_of(m, op);
    const float *in = cnm_value_ptr(m, arena, op->in0);
    float *out = cnm_value_ptr(m, arena, op->out);
    const cnm_tensor *w = &m->tensors[op->t[0]];
    if (w->dtype == CNM_DT_I8) {
        const cnm_step *st = &m->steps[m->op_step[op - m->ops]];
        cnm_conv2d_q8_ref(&s, in, w->data, st->q8_mult, cnm_tensor_data(m, op->t[1]), st->q8_inv_scale, st->q8_zp, out);
    } else {
        cnm_conv2d_f32_ref(&s, in, w->data, cnm_tensor_data(m, op->t[1]), out);
    }
}

const cnm_op_def cnm_op_conv2d = {"conv2d", 1, decode, encode, validate, describe, reference};
