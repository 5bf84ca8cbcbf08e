/* What the operators share: the operator table, cnm_op_encode, error and tensor helpers. */
#include "op.h"

#include <float.h>
#include <stdio.h>

/* Every cnm_op_type has an entry: the table is made from cnm.h's CNM_OPS list, and the codes must
 * be 1, 2, ... in order (checked at compile time: a gap or a repeat changes the table's size). */
#define CNM_OP_ENTRY_(NAME, name, code) [CNM_OP_##NAME] = &cnm_op_##name,
#define CNM_OP_COUNT_(NAME, name, code) +1
static const cnm_op_def *const OP_TABLE[] = {[0] = NULL, CNM_OPS(CNM_OP_ENTRY_)};
_Static_assert(sizeof OP_TABLE / sizeof OP_TABLE[0] == CNM_OP_END && CNM_OP_END == 1 CNM_OPS(CNM_OP_COUNT_),
               "the operator codes of CNM_OPS must be 1, 2, ... without gaps");

const cnm_op_def *cnm_op_def_of(uint32_t type) { return type < CNM_OP_END ? OP_TABLE[type] : NULL; }

const char *cnm_op_name(uint32_t type) {
    const cnm_op_def *d = cnm_op_def_of(type);
    return d ? d->name : "unknown";
}

cnm_status cnm_op_encode(uint32_t type, const cnm_op_params *prm, int32_t p[CNM_OP_SLOTS], cnm_error *err) {
    const cnm_op_def *d = cnm_op_def_of(type);
    if (!d || !prm || !p) return cnm_fail(err, CNM_ERR_ARGUMENT, "cnm_op_encode: unknown operator type %u or NULL argument", type);
    memset(p, 0, sizeof(int32_t) * CNM_OP_SLOTS);
    d->encode(prm, p);
    return CNM_OK;
}

cnm_status cnm_op_fail(const cnm_op_ctx *c, const char *fmt, ...) {
    if (!c->err) return CNM_ERR_GRAPH;
    char msg[sizeof c->err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cnm_fail(c->err, CNM_ERR_GRAPH, "%s: op %u (%s): %s", c->m->name, c->i, cnm_op_name(c->op->type), msg);
}

static void format_shape(char *s, size_t n, const char *prefix, uint32_t ndim, const uint32_t *dims) {
    int k = snprintf(s, n, "%s[", prefix);
    for (uint32_t d = 0; d < ndim && k > 0 && (size_t)k < n; d++) k += snprintf(s + k, n - (size_t)k, d ? ",%u" : "%u", dims[d]);
    if (k > 0 && (size_t)k < n) snprintf(s + k, n - (size_t)k, "]");
}

const cnm_tensor *cnm_op_tensor(const cnm_op_ctx *c, int32_t t, const char *role, uint32_t dtype, uint32_t ndim,
                                const uint32_t *dims, int optional, cnm_status *st) {
    *st = CNM_OK;
    if (t == -1 && optional) return NULL;
    if (t < 0 || (uint32_t)t >= c->m->n_tensors) {
        *st = cnm_op_fail(c, "%s tensor index %d out of range (%u tensors)", role, t, c->m->n_tensors);
        return NULL;
    }
    const cnm_tensor *tt = &c->m->tensors[t];
    int ok = tt->dtype == dtype && tt->ndim == ndim;
    for (uint32_t d = 0; ok && d < ndim; d++) ok = dims[d] == tt->dims[d];
    if (!ok) {
        char want[96], got[96], dt[24];
        format_shape(want, sizeof want, dtype == CNM_DT_F32 ? "f32" : dtype == CNM_DT_I8 ? "i8" : "i32", ndim, dims);
        snprintf(dt, sizeof dt, "dtype %u ", tt->dtype);
        format_shape(got, sizeof got, dt, tt->ndim, tt->dims);
        *st = cnm_op_fail(c, "%s tensor %d '%s' is %s, expected %s", role, t, tt->name, got, want);
        return NULL;
    }
    return tt;
}

cnm_status cnm_op_finite(const cnm_op_ctx *c, int32_t t, const char *role) {
    if (t < 0) return CNM_OK;
    const cnm_tensor *tt = &c->m->tensors[t];
    const float *v = tt->data;
    const size_t n = tt->nbytes / (tt->widened ? 2 : 4); /* f16 tensors were widened to f32 */
    for (size_t i = 0; i < n; i++)
        if (!(v[i] >= -FLT_MAX && v[i] <= FLT_MAX))
            return cnm_op_fail(c, "%s tensor %d '%s'[%zu] = %g is not finite", role, t, tt->name, i, v[i]);
    return CNM_OK;
}

cnm_status cnm_op_no_tensors(const cnm_op_ctx *c, int from) {
    for (int k = from; k < 4; k++)
        if (c->op->t[k] != -1) {
            if (from == 0) return cnm_op_fail(c, "takes no tensors");
            return cnm_op_fail(c, "t%d must be -1", k);
        }
    return CNM_OK;
}

int cnm_op_decode_none(const cnm_model *m, cnm_op *op) { (void)m; (void)op; return 0; }
void cnm_op_encode_none(const cnm_op_params *prm, int32_t p[CNM_OP_SLOTS]) { (void)prm; (void)p; }
void cnm_op_describe_none(const cnm_model *m, const cnm_op *op, cnm_op_info *info) { (void)m; (void)op; (void)info; }

cnm_status cnm_op_same_shape(const cnm_op_ctx *c) {
    if (c->in->c != c->out->c || c->ob->h != c->ib->h || c->ob->w != c->ib->w)
        return cnm_op_fail(c, "output %ux%ux%u differs from the input %ux%ux%u", c->out->c, c->ob->h, c->ob->w, c->in->c,
                           c->ib->h, c->ib->w);
    return CNM_OK;
}
