/* CHANNEL: per-channel gather or shuffle, then scale and shift (a folded BatchNorm), then the
 * optional ReLU (docs/FORMAT.md, "channel"); also a plain copy into a channel range (concat).
 *   tensors  t0 scale [cout] (optional), t1 shift [cout] (optional), t2 index [cout] (optional:
 *            output channel c reads input channel index[c]), t3 -1
 *   slots    p0 shuffle groups (0 or 1: none; > 1: output c reads (c % g) * (cin / g) + c / g) */
#include "op.h"

static int decode(const cnm_model *m, cnm_op *op) {
    (void)m;
    op->prm.channel.shuffle_groups = op->p[0];
    return 1;
}

static void encode(const cnm_op_params *prm, int32_t p[CNM_OP_SLOTS]) { p[0] = prm->channel.shuffle_groups; }

static cnm_status validate_index(const cnm_op_ctx *c, const uint32_t *cd) {
    cnm_status st;
    if (c->op->prm.channel.shuffle_groups) return cnm_op_fail(c, "both an index and a shuffle");
    const cnm_tensor *ix = cnm_op_tensor(c, c->op->t[2], "index", CNM_DT_I32, 1, cd, 0, &st);
    if (!ix) return st;
    const int32_t *d = ix->data;
    for (uint32_t k = 0; k < cd[0]; k++)
        if (d[k] < 0 || (uint32_t)d[k] >= c->in->c)
            return cnm_op_fail(c, "index tensor '%s'[%u] = %d outside the %u input channels", ix->name, k, d[k], c->in->c);
    return CNM_OK;
}

static cnm_status validate(const cnm_op_ctx *c) {
    const cnm_op *op = c->op;
    cnm_status st = cnm_op_no_tensors(c, 3);
    if (st) return st;
    if (c->ib->h != c->ob->h || c->ib->w != c->ob->w)
        return cnm_op_fail(c, "input %ux%u and output %ux%u differ", c->ib->h, c->ib->w, c->ob->h, c->ob->w);
    const uint32_t cd[1] = {c->out->c};
    if (op->t[0] != -1 && !cnm_op_tensor(c, op->t[0], "scale", CNM_DT_F32, 1, cd, 1, &st)) return st;
    if (op->t[1] != -1 && !cnm_op_tensor(c, op->t[1], "shift", CNM_DT_F32, 1, cd, 1, &st)) return st;
    if ((st = cnm_op_finite(c, op->t[0], "scale")) != CNM_OK || (st = cnm_op_finite(c, op->t[1], "shift")) != CNM_OK) return st;
    const int32_t g = op->prm.channel.shuffle_groups;
    if (g < 0) return cnm_op_fail(c, "negative shuffle groups %d", g);
    if (op->t[2] != -1) {
        if ((st = validate_index(c, cd)) != CNM_OK) return st;
    } else if (c->in->c != c->out->c) {
        return cnm_op_fail(c, "%u input channels but %u output channels without an index", c->in->c, c->out->c);
    } else if (g > 1 && c->in->c % (uint32_t)g) {
        return cnm_op_fail(c, "%u channels not divisible into %d shuffle groups", c->in->c, g);
    }
    c->op->work = (uint64_t)c->out->c * c->ob->h * c->ob->w;
    return CNM_OK;
}

static void describe(const cnm_model *m, const cnm_op *op, cnm_op_info *info) {
    info->shuffle = op->prm.channel.shuffle_groups;
    info->has_index = op->t[2] != -1;
    if (op->t[0] != -1) info->weight_name = m->tensors[op->t[0]].name;
}

static void reference(const cnm_model *m, float *arena, const cnm_op *op) {
    const cnm_value *ov = &m->values[op->out];
    const cnm_buffer *ob = &m->buffers[ov->buffer];
    cnm_channel_f32_ref(cnm_value_ptr(m, arena, op->in0), cnm_value_ptr(m, arena, op->out), (int)ov->c, (int)(ob->h * ob->w),
                        cnm_tensor_data(m, op->t[0]), cnm_tensor_data(m, op->t[1]), cnm_tensor_data(m, op->t[2]),
                        op->prm.channel.shuffle_groups, cnm_op_relu(op));
}

const cnm_op_def cnm_op_channel = {"channel", 1, decode, encode, validate, describe, reference};
