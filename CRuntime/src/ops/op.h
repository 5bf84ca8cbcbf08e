/* The operator table: one entry per cnm_op_type (cnm.h), one file per operator (ops/<op>.c).
 * Each operator owns, in its file and nowhere else:
 *   decode     the OPS record's parameter slots p0..p6 -> its typed parameters (op->prm);
 *   encode     the inverse, for writers (cnm_op_encode, used by the Swift converter);
 *   validate   its rules of docs/FORMAT.md (named errors), and its MACs and work (op->macs, op->work);
 *   describe   its fields of cnm_op_info (edge-infer info);
 *   reference  one run with the scalar kernels (the oracle, and the path of unfused ops).
 * The loader (format.c) checks what every operator shares (value ranges, inputs written before
 * they are read, no output overlapping an input, unused slots zero) and then calls validate. */
#ifndef CNM_OPS_OP_H
#define CNM_OPS_OP_H
#include "../internal.h"
#include "../kernels/kernels.h"

/* What a validator needs about op i: its record, its input and output values and their buffers. */
typedef struct cnm_op_ctx {
    cnm_model *m;
    uint32_t i;
    cnm_op *op;
    const cnm_value *in, *out;
    const cnm_buffer *ib, *ob;
    cnm_error *err;
} cnm_op_ctx;

typedef struct cnm_op_def {
    const char *name;
    int inputs; /* 2: in1 is a second input (add), else in1 must be -1 */
    /* fills op->prm from op->p; returns how many slots (from p0) the operator uses given its
     * tensors (the loader has range-checked nothing yet: look only at what is in range) */
    int (*decode)(const cnm_model *m, cnm_op *op);
    void (*encode)(const cnm_op_params *prm, int32_t p[CNM_OP_SLOTS]);
    cnm_status (*validate)(const cnm_op_ctx *c);
    void (*describe)(const cnm_model *m, const cnm_op *op, cnm_op_info *info);
    void (*reference)(const cnm_model *m, float *arena, const cnm_op *op);
} cnm_op_def;

#define CNM_OP_DECLARE_(NAME, name, code) extern const cnm_op_def cnm_op_##name;
CNM_OPS(CNM_OP_DECLARE_)
#undef CNM_OP_DECLARE_

/* The kernel arguments of a conv2d op and of a pool op (ops/conv2d.c, ops/pool.c). */
cnm_conv_shape cnm_conv_shape_of(const cnm_model *m, const cnm_op *op);
cnm_pool_shape cnm_pool_shape_of(const cnm_model *m, const cnm_op *op);

/* The entry of `type`, or NULL for a type this runtime does not know. */
const cnm_op_def *cnm_op_def_of(uint32_t type);

/* ---- helpers shared by the operators (ops/common.c) ---- */

/* CNM_ERR_GRAPH with "NAME: op I (OPNAME): " before the message. */
cnm_status cnm_op_fail(const cnm_op_ctx *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Tensor t of the op in `role` must exist with this dtype and shape (dims[0..ndim)); t == -1 is
 * accepted (returns NULL with *st == CNM_OK) when optional. On failure *st is the error. */
const cnm_tensor *cnm_op_tensor(const cnm_op_ctx *c, int32_t t, const char *role, uint32_t dtype, uint32_t ndim,
                                const uint32_t *dims, int optional, cnm_status *st);
/* Every float of f32 tensor t is finite (t == -1: nothing to check). A non-finite weight has no
 * meaning, and it would make kernels disagree: 0 * inf at a zero-padded tap is NaN where the
 * reference skips the tap. */
cnm_status cnm_op_finite(const cnm_op_ctx *c, int32_t t, const char *role);
/* t0..t3 from index `from` on must all be -1. */
cnm_status cnm_op_no_tensors(const cnm_op_ctx *c, int from);

/* The entries of an operator without parameters (add, linear, sigmoid) or cnm_op_info fields of
 * its own. */
int cnm_op_decode_none(const cnm_model *m, cnm_op *op);
void cnm_op_encode_none(const cnm_op_params *prm, int32_t p[CNM_OP_SLOTS]);
void cnm_op_describe_none(const cnm_model *m, const cnm_op *op, cnm_op_info *info);
/* The output must have the input's shape (element-wise operators). */
cnm_status cnm_op_same_shape(const cnm_op_ctx *c);

/* f32 <-> slot bits */
static inline float cnm_slot_f32(int32_t slot) {
    float f;
    uint32_t u = (uint32_t)slot;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline int32_t cnm_f32_slot(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (int32_t)u;
}

/* The data of tensor t, or NULL for t == -1. */
static inline const void *cnm_tensor_data(const cnm_model *m, int32_t t) { return t < 0 ? NULL : m->tensors[t].data; }

/* Output size of a window of k with stride s and padding p on n (n + 2p >= k checked by the caller),
 * in 64 bits. ceil: PyTorch's ceil_mode, where the last window must start inside the input or
 * the left padding. */
static inline uint64_t cnm_window_out(uint64_t n, uint64_t k, uint64_t s, uint64_t p, int ceil_mode) {
    uint64_t o = (n + 2 * p - k) / s + 1;
    if (ceil_mode) {
        o = (n + 2 * p - k + s - 1) / s + 1;
        if ((o - 1) * s >= n + p) o--;
    }
    return o;
}

#endif
