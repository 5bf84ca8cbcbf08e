/* LINEAR: the fully connected classifier over the flattened input, optionally through an index
 * of input features (docs/FORMAT.md, "linear").
 *   tensors  t0 weight [out][k] f32, t1 bias [out] (optional), t2 index [k] (optional: weight
 *            column j reads feature index[j]; without it k is the input's c*h*w), t3 -1
 *   slots    none */
#include "op.h"


static cnm_status validate_index(const cnm_op_ctx *c, uint32_t k, uint64_t feats) {
    cnm_status st;
    const uint32_t kd[1] = {k};
    const cnm_tensor *ix = cnm_op_tensor(c, c->op->t[2], "index", CNM_DT_I32, 1, kd, 0, &st);
    if (!ix) return st;
    const int32_t *d = ix->data;
    for (uint32_t j = 0; j < k; j++)
        if (d[j] < 0 || (uint64_t)d[j] >= feats)
            return cnm_op_fail(c, "index tensor '%s'[%u] = %d outside the %llu input features", ix->name, j, d[j],
                               (unsigned long long)feats);
    return CNM_OK;
}

static cnm_status validate(const cnm_op_ctx *c) {
    const cnm_op *op = c->op;
    cnm_status st = cnm_op_no_tensors(c, 3);
    if (st) return st;
    if (c->ob->h != 1 || c->ob->w != 1) return cnm_op_fail(c, "output must be Nx1x1, not %ux%u", c->ob->h, c->ob->w);
    if (op->t[0] < 0 || (uint32_t)op->t[0] >= c->m->n_tensors) return cnm_op_fail(c, "weight tensor index %d out of range", op->t[0]);
    const cnm_tensor *w = &c->m->tensors[op->t[0]];
    const uint64_t feats = (uint64_t)c->in->c * c->ib->h * c->ib->w;
    const uint32_t k = w->ndim == 2 ? w->dims[1] : 0, wd[2] = {c->out->c, k}, bd[1] = {c->out->c};
    if (!cnm_op_tensor(c, op->t[0], "weight", CNM_DT_F32, 2, wd, 0, &st)) return st;
    if (op->t[1] != -1 && !cnm_op_tensor(c, op->t[1], "bias", CNM_DT_F32, 1, bd, 1, &st)) return st;
    if ((st = cnm_op_finite(c, op->t[0], "weight")) != CNM_OK || (st = cnm_op_finite(c, op->t[1], "bias")) != CNM_OK) return st;
    if (op->t[2] != -1) {
        if ((st = validate_index(c, k, feats)) != CNM_OK) return st;
    } else if (k != feats) {
        return cnm_op_fail(c, "weight has %u inputs, the input value has %llu features", k, (unsigned long long)feats);
    }
    c->op->macs = c->op->work = (uint64_t)c->out->c * k;
    return CNM_OK;
}

static void describe(const cnm_model *m, const cnm_op *op, cnm_op_info *info) {
    info->has_index = op->t[2] != -1;
    info->weight_name = m->tensors[op->t[0]].name;
}

static void reference(const cnm_model *m, float *arena, const cnm_op *op) {
    const cnm_tensor *w = &m->tensors[op->t[0]];
    cnm_linear_f32_ref(cnm_value_ptr(m, arena, op->in0), w->data, cnm_tensor_data(m, op->t[1]), cnm_tensor_data(m, op->t[2]),
                       cnm_value_ptr(m, arena, op->out), (int)w->dims[0], (int)w->dims[1], cnm_op_relu(op));
}

const cnm_op_def cnm_op_linear = {"linear", 1, cnm_op_decode_none, cnm_op_encode_none, validate, describe, reference};
