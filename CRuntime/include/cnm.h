/*
 * cnm.h - the public C API of the edge-infer runtime.
 *
 * One header, opaque handles, status codes with messages.
 *
 * Ownership:  cnm_model_load* returns a model the caller frees with cnm_model_free.
 *             cnm_context_create returns a context the caller frees with
 *             cnm_context_free, before the model it was made from.
 * Threading:  a loaded cnm_model is immutable and may be shared by any number of
 *             contexts on any number of threads. A cnm_context (the activation arena)
 *             is used by one thread at a time. cnm_context_run may itself use up to
 *             `threads` OpenMP threads.
 * Errors:     every fallible call returns a cnm_status and, when `err` is non-NULL,
 *             fills err->message with one line that names the file and the problem.
 * Memory:     all activation memory is allocated by cnm_context_create; running a
 *             model allocates nothing.
 * The file format is specified in docs/FORMAT.md.
 */
#ifndef CNM_H
#define CNM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CNM_FORMAT_VERSION 1
/* The library's version (also libcnm.so's, and cnm.pc's). */
#define CNM_VERSION "0.5.0"

typedef enum cnm_status {
    CNM_OK = 0,
    CNM_ERR_IO = 1,          /* cannot open / read / map the file */
    CNM_ERR_MAGIC = 2,       /* not a .cnm file */
    CNM_ERR_VERSION = 3,     /* a .cnm version this runtime does not read */
    CNM_ERR_CHECKSUM = 4,    /* checksum mismatch: corrupt file */
    CNM_ERR_TRUNCATED = 5,   /* file shorter than its header says */
    CNM_ERR_FORMAT = 6,      /* a record breaks a rule of docs/FORMAT.md */
    CNM_ERR_GRAPH = 7,       /* operators, shapes or tensors do not fit together */
    CNM_ERR_LIMIT = 8,       /* beyond a documented limit */
    CNM_ERR_NOMEM = 9,       /* out of memory */
    CNM_ERR_ARGUMENT = 10,   /* wrong argument (e.g. tensor size) from the caller */
    CNM_ERR_IMAGE = 11,      /* malformed image */
    CNM_ERR_NPY = 12         /* malformed .npy array */
} cnm_status;

typedef struct cnm_error {
    cnm_status status;
    char message[512];
} cnm_error;

typedef struct cnm_model cnm_model;
typedef struct cnm_context cnm_context;

/* Operator types, as in docs/FORMAT.md (the `type` of an OPS record): one X(NAME, name, code) per
 * operator. The enum and the operator table (src/ops/common.c: the cnm_op_<name> of
 * src/ops/<name>.c) are made from this list, so a type cannot lack an entry. CNM_OP_END is one past
 * the last code. */
#define CNM_OPS(X)                \
    X(CONV2D, conv2d, 1)          \
    X(CHANNEL, channel, 2)        \
    X(AVGPOOL, avgpool, 3)        \
    X(LINEAR, linear, 4)          \
    X(MAXPOOL, maxpool, 5)        \
    X(ADD, add, 6)                \
    X(LRN, lrn, 7)                \
    X(SIGMOID, sigmoid, 8)        \
    X(CLIP, clip, 9)              \
    X(MUL, mul, 10)
typedef enum cnm_op_type {
#define CNM_OP_ENUM_(NAME, name, code) CNM_OP_##NAME = code,
    CNM_OPS(CNM_OP_ENUM_)
#undef CNM_OP_ENUM_
    CNM_OP_END
} cnm_op_type;

/* Tensor data types (the `dtype` of a TENSORS record). F16, I16 and U8 are storage types only:
 * the loader widens them to F32 / I32 / I32. */
typedef enum cnm_dtype {
    CNM_DT_F32 = 1,
    CNM_DT_I32 = 2,
    CNM_DT_I8 = 3,
    CNM_DT_U8 = 4,
    CNM_DT_F16 = 5,
    CNM_DT_I16 = 6,
    CNM_DT_END
} cnm_dtype;

/* The `flags` of an OPS record: bit 0 applies a ReLU to the operator's result. */
#define CNM_OP_FLAG_RELU 1u
/* An OPS record has seven 32-bit parameter slots p0..p6. Their meaning per operator is given by
 * the typed parameters below; cnm_op_encode writes them and the loader decodes them (both in
 * src/ops/<operator>.c, the only place the slots are read or written). Floats are stored as
 * their IEEE-754 bits. Slots an operator does not use are 0. */
#define CNM_OP_SLOTS 7
typedef struct cnm_conv2d_params {  /* CONV2D: p0..p4; an int8 conv also p5 (f32) and p6 */
    int32_t stride_h, stride_w, pad_h, pad_w, groups;
    float input_scale;              /* int8: the scale of the input's uint8 codes, else 0 */
    int32_t zero_point;             /* int8: their zero point 0..255 (p6 bits 0..7), else 0 */
    int32_t weight_bits;            /* int8: 8 (weights -127..127), or 7 (-63..63: exact faster kernels
                                       on CPUs without an 8-bit dot product; p6 bits 8..15, since 0.5.0);
                                       0 in an fp32 conv (and 0 is written as 8) */
} cnm_conv2d_params;
typedef struct cnm_channel_params { /* CHANNEL: p0 */
    int32_t shuffle_groups;         /* 0 or 1: none */
} cnm_channel_params;
typedef struct cnm_pool_params {    /* AVGPOOL: p0..p5; MAXPOOL: p0..p6 */
    int32_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
    int32_t ceil_mode;              /* max pool only: output size rounded up (PyTorch ceil_mode) */
} cnm_pool_params;
typedef struct cnm_lrn_params {     /* LRN: p0 (int), p1..p3 (f32) */
    int32_t size;
    float alpha, beta, bias;
} cnm_lrn_params;
typedef struct cnm_clip_params {    /* CLIP: p0, p1 (f32) */
    float min, max;                 /* min <= max, either may be infinite (no bound) */
} cnm_clip_params;
/* The parameters of one operator: the member named for its type is the one in use (LINEAR, ADD,
 * SIGMOID and MUL have none). */
typedef struct cnm_op_params {
    cnm_conv2d_params conv2d;
    cnm_channel_params channel;
    cnm_pool_params pool;           /* avgpool and maxpool */
    cnm_lrn_params lrn;
    cnm_clip_params clip;
} cnm_op_params;

/* The parameter slots of an OPS record of `type` holding `params` (the writer's side of the
 * loader's decoding). Returns CNM_ERR_ARGUMENT for an unknown type. */
cnm_status cnm_op_encode(uint32_t type, const cnm_op_params *params, int32_t slots[CNM_OP_SLOTS], cnm_error *err);

typedef struct cnm_model_info {
    uint32_t version;
    uint64_t file_size;
    uint32_t input_c, input_h, input_w;
    uint32_t num_classes;
    float mean[4], std[4];
    uint32_t resize;          /* 0 direct resize, 1 shorter side + centre crop */
    uint32_t num_tensors, num_buffers, num_values, num_ops, num_meta;
    uint64_t num_params;      /* elements of all f32/i8/u8 weight tensors (not indices) */
    uint64_t weight_bytes;    /* bytes of all tensor data */
    uint64_t macs;            /* multiply-accumulates of one inference */
    uint64_t work;            /* element operations of one inference, every operator (cnm_op_info.work) */
    uint64_t arena_bytes;     /* planned activation arena of one context */
    uint64_t arena_lower_bound; /* the largest set of simultaneously live buffers */
    uint64_t scratch_bytes;   /* kernel scratch of a 1-thread context (+ per extra thread: scratch_bytes_per_thread) */
    uint64_t scratch_bytes_per_thread;
    uint64_t plan_bytes;      /* weights in the kernels' layouts, made at load: Winograd's transformed weights (4x
                                 the 3x3 convs' own), the int8 convs' packed layouts (since 0.4.0) */
} cnm_model_info;

typedef struct cnm_op_info {
    uint32_t type;
    uint32_t relu;
    int32_t in0, in1, out;    /* in1: the second input of ADD and MUL, else -1 */
    uint32_t in_c, in_h, in_w;
    uint32_t out_c, out_h, out_w;
    int32_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, groups, shuffle;
    int32_t ceil_mode;        /* max pool: output size rounded up (PyTorch ceil_mode) */
    int32_t lrn_size;         /* LRN: window size and alpha, beta, bias (k) */
    float lrn_alpha, lrn_beta, lrn_bias;
    int32_t has_index;
    int32_t fused_into;       /* the op this one runs inside (one kernel), or -1 */
    int32_t quantized;        /* int8 conv: input_scale and zero_point below */
    float input_scale, zero_point;
    uint64_t macs;
    const char *weight_name;  /* name of t0, or "" */
    uint64_t work;            /* element operations of one inference: MACs for conv and linear, the
                                 window reads of pools and LRN, one per element for add and channel */
    cnm_op_params params;     /* the decoded parameter slots (the member of its type) */
} cnm_op_info;

/* Load and validate a model file (mapped, used in place). */
cnm_status cnm_model_load(const char *path, cnm_model **out, cnm_error *err);
/* Validate a model held in memory. `name` is used in messages. `flags`:
 *   CNM_LOAD_BORROW     use the bytes in place if they are 64-byte aligned (the caller keeps
 *                       them alive and unchanged until cnm_model_free); otherwise they are copied
 *   CNM_LOAD_NO_FUSION  run every operator as its own kernel and keep every value in the arena,
 *                       so cnm_context_value can read it (calibration, debugging; slower)
 *   CNM_LOAD_NO_WINOGRAD  run 3x3 stride-1 fp32 convs on the direct kernel instead of Winograd:
 *                       no transformed weights (4x those convs' own, in plan_bytes), slower;
 *                       results within fp32 rounding of the Winograd ones (since 0.4.0)
 *   CNM_LOAD_FP16       on aarch64 CPUs with Armv8.2 FP16 arithmetic (Cortex-A55/A75/A76, the
 *                       Pi 5), run the fp32 pointwise, GEMM and direct convolutions in binary16
 *                       (weights and packed inputs rounded to binary16, products and sums in
 *                       binary16, activations fp32 between layers): about twice the multiplies
 *                       per instruction, results within about 1e-2 relative of fp32; elsewhere
 *                       (and for int8 convs and Winograd's) no effect (since 0.5.0) */
#define CNM_LOAD_BORROW 1
#define CNM_LOAD_NO_FUSION 2
#define CNM_LOAD_NO_WINOGRAD 4
#define CNM_LOAD_FP16 8
cnm_status cnm_model_load_memory(const void *data, size_t size, const char *name, int flags,
                                 cnm_model **out, cnm_error *err);
/* cnm_model_load with flags (CNM_LOAD_NO_FUSION; CNM_LOAD_BORROW has no meaning for a file). */
cnm_status cnm_model_load_file(const char *path, int flags, cnm_model **out, cnm_error *err);
void cnm_model_free(cnm_model *model);

void cnm_model_get_info(const cnm_model *model, cnm_model_info *info);
/* Label of class i, NUL-terminated; "" when out of range. */
const char *cnm_model_label(const cnm_model *model, uint32_t i);
/* META entry i (key and value, NUL-terminated); returns 0 when out of range. */
int cnm_model_meta(const cnm_model *model, uint32_t i, const char **key, const char **value);
/* Operator i; returns 0 when out of range. */
int cnm_model_op(const cnm_model *model, uint32_t i, cnm_op_info *info);
const char *cnm_op_name(uint32_t type);

/* An inference context: the activation arena, planned at creation. `threads` > 0: every run
 * uses that many OpenMP threads. `threads` <= 0: adaptive, up to the OpenMP default (all cores):
 * each run takes one thread or all of them, whichever its recent runs found faster, and now and
 * then tries the other (so a core taken by another program, or a slow core, costs little).
 * Results are the same bits at any thread count, so the choice never changes an answer. */
cnm_status cnm_context_create(const cnm_model *model, int threads, cnm_context **out, cnm_error *err);
void cnm_context_free(cnm_context *ctx);
/* The most threads a run may use, and the number the last run used (adaptive contexts vary). */
int cnm_context_threads(const cnm_context *ctx);
int cnm_context_threads_used(const cnm_context *ctx);
int cnm_context_adaptive(const cnm_context *ctx);
/* How long (ms) the context's OpenMP threads keep spinning after a run before they sleep: a new
 * context uses 1 ms (enough for the gaps inside one inference; an edge device would otherwise
 * burn cores between inferences: clang's libomp spins 200 ms by default), or leaves the OpenMP
 * runtime's policy alone where OMP_WAIT_POLICY or KMP_BLOCKTIME is set; -1 leaves it alone too.
 * Takes effect with libomp (kmp_set_blocktime); libgomp has no such call, and spins about
 * 0.1 ms by default (GOMP_SPINCOUNT). */
void cnm_context_set_idle_ms(cnm_context *ctx, int ms);
/* The kernel set in use: "avx2+fma" with "+avx512f" (fp32 convs), "+avx-vnni" or "+avx512-vnni"
 * (int8 convs) where the CPU has them, "neon+dotprod", "neon" or "scalar" (CNM_ISA=scalar forces
 * the portable kernels; avx2 turns the AVX-512 and VNNI kernels off). */
const char *cnm_context_isa(const cnm_context *ctx);

/* Run one image: `input` holds input_c*input_h*input_w normalised floats (CHW),
 * `logits` receives num_classes floats. Counts are checked. */
cnm_status cnm_context_run(cnm_context *ctx, const float *input, size_t input_count,
                           float *logits, size_t logits_count, cnm_error *err);

/* After a run: the floats of value `value` (docs/FORMAT.md), *count of them; NULL when the value
 * is out of range or lives only inside a fused kernel (load with CNM_LOAD_NO_FUSION to keep all). */
const float *cnm_context_value(const cnm_context *ctx, uint32_t value, size_t *count);

/* Per-operator time of the last run, in seconds (profile=1 in cnm_context_set_profile). */
void cnm_context_set_profile(cnm_context *ctx, int enabled);
double cnm_context_op_seconds(const cnm_context *ctx, uint32_t op);

/* Numerically stable softmax, in place or not. */
void cnm_softmax(const float *logits, float *probs, size_t n);

/* ---- images: binary PPM (P6) / PGM (P5), bilinear resize, normalisation ---- */
#define CNM_MAX_IMAGE_PIXELS (1u << 28)

typedef struct cnm_image {
    uint32_t width, height, channels; /* channels 1 (grey) or 3 (RGB), interleaved */
    uint8_t *pixels;                  /* width*height*channels bytes, owned */
} cnm_image;

/* Decode P6/P5 (maxval 1..65535; 16-bit samples are big-endian and scaled to 8 bits).
 * `name` is used in messages. On success the caller frees with cnm_image_free. */
cnm_status cnm_image_decode_pnm(const void *data, size_t size, const char *name, cnm_image *out, cnm_error *err);
cnm_status cnm_image_load_pnm(const char *path, cnm_image *out, cnm_error *err);
void cnm_image_free(cnm_image *img);
/* Bilinear resize with half-pixel centres (as PIL/OpenCV/PyTorch align_corners=False). */
cnm_status cnm_image_resize(const cnm_image *img, uint32_t width, uint32_t height, cnm_image *out, cnm_error *err);
/* The model's input for an image: resized as the model asks (direct, or shorter side +
 * centre crop), scaled to [0,1], normalised with the model's mean/std, CHW floats.
 * Grey images are repeated to 3 channels; RGB is converted to grey for 1-channel models. */
cnm_status cnm_image_to_input(const cnm_model *model, const cnm_image *img, float *input, size_t count,
                              cnm_error *err);

/* ---- NumPy .npy arrays (float32 or float64, C order; read as float32) ---- */
#define CNM_NPY_MAX_DIMS 8
#define CNM_NPY_MAX_ELEMENTS (1u << 30)
typedef struct cnm_npy {
    uint32_t ndim;
    uint64_t shape[CNM_NPY_MAX_DIMS];
    uint64_t count;
    float *data; /* owned */
} cnm_npy;
cnm_status cnm_npy_parse(const void *data, size_t size, const char *name, cnm_npy *out, cnm_error *err);
void cnm_npy_free(cnm_npy *a);

/* CRC-32 as used by the file checksum (zlib's crc32). */
uint32_t cnm_crc32(uint32_t crc, const void *data, size_t size);

/* The build and this CPU: the library version (CNM_VERSION of the build), the compiler that built
 * it, and its kernel tables: the i-th table's name (e.g. "avx512f+avx512-vnni"; NULL past the
 * last), with *runs set to 1 when this CPU has what it needs, and the one a new context takes
 * (the best this CPU runs that CNM_ISA allows). */
const char *cnm_version(void);
const char *cnm_compiler(void);
const char *cnm_kernel_table_name(int i, int *runs);
const char *cnm_kernel_table_selected(void);

/* Cores (Linux), for a program to call before its first inference (the OpenMP runtime sizes its
 * teams from the affinity it starts with): pin the process to a CPU list such as "0-3" or
 * "4,5,6,7"; and the big cores of a big.LITTLE SoC (the highest cpuinfo_max_freq) as such a list
 * into buf, returning how many (0 where every core is alike or the kernel does not say). */
cnm_status cnm_pin_cpus(const char *list, cnm_error *err);
int cnm_big_cores(char *buf, size_t size);

/* A short text describing the status. */
const char *cnm_status_string(cnm_status status);

#ifdef __cplusplus
}
#endif
#endif
