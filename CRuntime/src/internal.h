/* Internal structures shared by format.c, plan.c and exec.c. Not installed. */
#ifndef CNM_INTERNAL_H
#define CNM_INTERNAL_H

#include "cnm.h"
#include <stdarg.h>
#include <string.h>

/* (cnm_dtype: F16, I16 and U8 are storage types only: the loader widens them to F32 / I32
 * (format.c), so every later stage sees F32 / I32.) */
enum { CNM_SEC_STRINGS, CNM_SEC_META, CNM_SEC_LABELS, CNM_SEC_TENSORS,
       CNM_SEC_BUFFERS, CNM_SEC_VALUES, CNM_SEC_OPS, CNM_SEC_COUNT };

#define CNM_HEADER_SIZE 256u
#define CNM_TENSOR_ALIGN 64u
#define CNM_MAX_FILE ((uint64_t)2 << 30)
#define CNM_MAX_RECORDS 65536u
#define CNM_MAX_TENSOR_ELEMS ((uint64_t)1 << 31)
#define CNM_MAX_BUFFER_ELEMS ((uint64_t)1 << 28)
#define CNM_MAX_ARENA ((uint64_t)1 << 30)
/* Element operations of one inference (cnm_model_info.work): 2^35, about 34 G, twice VGG-16's
 * 15.5 G MACs at 224x224; a quarter of a second at this x86 core's FMA peak, several seconds on
 * a Cortex-A72. Beyond it a model is hostile (a few hundred bytes can ask for minutes of work)
 * or no edge model. */
#define CNM_MAX_WORK ((uint64_t)1 << 35)

/* CRC-32 implementations (crc32.c): one table lookup per byte, or folding (PCLMULQDQ on x86-64,
 * the CRC32 instructions on aarch64) where cnm_crc32_fast() says this CPU has it. */
enum { CNM_CRC_BYTES = 0, CNM_CRC_FOLD = 1 };
uint32_t cnm_crc32_with(int impl, uint32_t crc, const void *data, size_t size);
int cnm_crc32_fast(void);

typedef struct cnm_tensor {
    const char *name;       /* NUL-terminated copy */
    uint32_t dtype, ndim;
    uint32_t dims[4];
    uint64_t offset, nbytes;  /* where the data lies in the file, and its size there */
    const void *data;
    void *widened;            /* owned copy of a storage-type tensor (F16, I16, U8), widened at load */
} cnm_tensor;

typedef struct cnm_buffer {
    uint32_t c, h, w, dtype;
    uint64_t bytes;
    int fused_away;         /* lives only inside a fused step: never materialised */
    uint64_t arena_offset;  /* set by the planner */
    int32_t first, last;    /* op indices of first write / last read (-1 = before op 0) */
} cnm_buffer;

typedef struct cnm_value {
    uint32_t buffer, c_off, c;
} cnm_value;

typedef struct cnm_op {
    uint32_t type, flags;
    int32_t in0, in1, out;
    int32_t t[4];
    int32_t p[CNM_OP_SLOTS];  /* the raw slots: read only by the operator's decode (src/ops/) */
    cnm_op_params prm;        /* decoded at load; everything after the loader reads these */
    uint64_t macs, work;      /* set by the operator's validate */
} cnm_op;

static inline int cnm_op_relu(const cnm_op *op) { return (op->flags & CNM_OP_FLAG_RELU) != 0; }

/* Execution steps: the planner groups ops that run as one kernel (plan.c, cnm_fuse). */
/* The algorithm of a step; the context's kernel table holds each one's implementation. */
typedef enum cnm_step_kind {
    CNM_STEP_REFERENCE = 0, /* the operator's scalar reference (ops/<op>.c) */
    CNM_STEP_POINTWISE = 1, /* a 1x1 conv with the channel ops around it fused (pre, post) */
    CNM_STEP_DIRECT = 2,    /* a KxK conv, horizontal stride 1 or 2 */
    CNM_STEP_LINEAR = 3,
    CNM_STEP_AVGPOOL = 4,
    CNM_STEP_MAXPOOL = 5,
    CNM_STEP_DEPTHWISE = 6, /* a depthwise KxK conv, fp32, horizontal stride 1 or 2 */
    CNM_STEP_WINOGRAD = 7,  /* a 3x3 stride-1 ungrouped fp32 conv, Winograd F(4x4, 3x3) */
    CNM_STEP_GEMM = 8,      /* a KxK ungrouped conv with a stride: the pointwise kernels over its im2col rows */
} cnm_step_kind;
typedef struct cnm_step {
    uint32_t kind;
    uint32_t first_op, n_ops;   /* ops [first_op, first_op + n_ops) */
    int32_t pre, conv, post;    /* op indices inside a pointwise step, or -1 */
    int32_t clip;               /* a CLIP op applied in the conv's epilogue (fp32 conv steps), or -1 */
    const int32_t *src;         /* pre gather (tensor data) or shuffle table (owned), or NULL */
    const int32_t *dst;         /* post destination (owned inverse shuffle), or NULL */
    int32_t *owned_src, *owned_dst;
    float *wino_u;              /* Winograd: the transformed weights [36][cout][cin] (cnm_wino_weights) */
    int32_t *f16_w;             /* CNM_LOAD_FP16 on aarch64: an fp32 conv's weights as binary16 pairs (cnm_f16_pack_pairs) */
    /* int8 conv: weight pairs for the SIMD kernels, in_scale * w_scale, quantisation */
    int quant;
    int q8_w7;                  /* its weights are 7-bit (weight_bits 7): the kernel tables' q8w7 entries */
    int32_t *q8_wpairs;         /* x86-64, 8-bit weights: int16 pairs (the AVX2 kernels) */
    int8_t *q8_wdot;            /* sdot / vpdpbusd / vpmaddubsw layout and per-output weight sums */
    int32_t *q8_wsum;
    float *q8_mult;
    float q8_inv_scale;
    int q8_zp;
} cnm_step;

/* The op a step is named by (profiles, cnm_op_info.fused_into): its conv, the pool of a fused
 * CHANNEL + global average, else its first op. */
static inline uint32_t cnm_step_main(const cnm_step *st) {
    return st->conv >= 0 ? (uint32_t)st->conv : st->kind == CNM_STEP_AVGPOOL && st->pre >= 0 ? st->first_op + 1 : st->first_op;
}

struct cnm_model {
    char *name;
    const uint8_t *base;
    size_t size;
    void *owned;             /* malloc'd copy, or NULL */
    void *mapped;            /* mmap'd region, or NULL */
    size_t mapped_size;
    uint32_t version;
    int no_fusion;
    int no_winograd;         /* CNM_LOAD_NO_WINOGRAD */
    int fp16;                /* CNM_LOAD_FP16 */
    uint32_t input_value, output_value;
    uint32_t input_c, input_h, input_w, num_classes, resize;
    float mean[4], std[4];
    uint32_t n_tensors, n_buffers, n_values, n_ops, n_meta, n_labels;
    cnm_tensor *tensors;
    cnm_buffer *buffers;
    cnm_value *values;
    cnm_op *ops;
    char **labels;
    char **meta_keys, **meta_vals;
    uint64_t arena_bytes, arena_lower_bound, macs, work, num_params, weight_bytes;
    uint64_t plan_bytes;       /* what the planner allocates at load (cnm_model_info.plan_bytes) */
    cnm_step *steps;
    uint32_t n_steps;
    int32_t *op_step;          /* step index of each op */
    size_t pw_scratch_floats;  /* per thread */
    size_t direct_scratch_floats; /* shared */
};

struct cnm_context {
    const cnm_model *model;
    int threads;
    const struct cnm_kernels *kernels; /* the kernel table, chosen at creation */
    char isa_name[64];         /* cnm_context_isa */
    float *arena;
    float *pw_scratch;         /* threads x model->pw_scratch_floats */
    float *direct_scratch;
    int profile;
    double *op_seconds;
    /* adaptive threads (cnm_context_create with threads <= 0; exec.c): the smoothed seconds of a
     * run with one thread (est[0]) and with all (est[1]), the count the last run used, and when
     * the other count is tried next */
    int adaptive, used, probe_warm;
    int idle_ms;               /* cnm_context_set_idle_ms; -1: the OpenMP runtime's own policy */
    double est[2];
    uint64_t runs, next_probe, probe_gap;
};

/* errors */
cnm_status cnm_fail(cnm_error *err, cnm_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* plan.c */
cnm_status cnm_fuse(cnm_model *m, cnm_error *err);
cnm_status cnm_plan(cnm_model *m, cnm_error *err);
void cnm_free_steps(cnm_model *m);

/* exec helpers */
static inline float *cnm_value_ptr(const cnm_model *m, float *arena, int32_t v) {
    const cnm_value *val = &m->values[v];
    const cnm_buffer *b = &m->buffers[val->buffer];
    return arena + b->arena_offset / sizeof(float) + (size_t)val->c_off * b->h * b->w;
}

#endif
