/* The kernel tester: every kernel of every kernel table this CPU runs (cnm_kernel_tables) against
 * the scalar references, over cases derived from each table's tiles (XNNPACK's microkernel
 * testers are the model):
 *   pointwise  every output-channel count up to 2 register blocks + 1 (pw_mr), pixel counts on
 *              both sides of the register block (pw_nr) and of the packed panel (CNM_PW_TILE),
 *              input channels covering every remainder of the int8 words (2 and 4 channels);
 *   direct     non-square kernels (1x3, 3x1, 5x3, 7x1, 1x7, ...), unequal strides and pads,
 *              output widths on both sides of a slot (direct_lanes), of half a slot and of two
 *              and four slots, one to three output rows (row-pair modes), every remainder of the
 *              output-channel block (direct_mr), odd input channels, groups;
 *   pools, linear: windows, strides, pads and lengths around the vector widths.
 * fp32 results must match within 1e-5 (relative to the largest value), int8 results bit for bit.
 * No case is skipped: each list is walked in full. */
#include "check.h"
#include "../src/ops/op.h"

#include <string.h>

#define MAX_TABLES 16
static const cnm_kernels *tables[MAX_TABLES];
static int n_tables;

/* every operator has a complete entry, and encode/decode are inverses */
static void test_op_table(void) {
    for (uint32_t t = 1; t < CNM_OP_END; t++) {
        const cnm_op_def *d = cnm_op_def_of(t);
        CHECK(d && d->name && d->decode && d->encode && d->validate && d->describe && d->reference,
              "operator type %u has no complete entry in the operator table", t);
        if (!d) continue;
        CHECK(strcmp(cnm_op_name(t), "unknown") != 0, "operator %u has no name", t);
        cnm_op_params prm;
        memset(&prm, 0, sizeof prm);
        prm.conv2d = (cnm_conv2d_params){3, 1, 2, 0, 4, 0.0f, 0, 0};
        prm.channel.shuffle_groups = 5;
        prm.pool = (cnm_pool_params){3, 2, 2, 1, 1, 0, t == CNM_OP_MAXPOOL};
        prm.lrn = (cnm_lrn_params){5, 1e-4f, 0.75f, 2.0f};
        prm.clip = (cnm_clip_params){-0.5f, 6.0f};
        cnm_op op;
        memset(&op, 0, sizeof op);
        op.type = t;
        op.t[0] = -1;
        cnm_error err;
        CHECK(cnm_op_encode(t, &prm, op.p, &err) == CNM_OK, "encode %s: %s", d->name, err.message);
        cnm_model empty;
        memset(&empty, 0, sizeof empty);
        const int used = d->decode(&empty, &op);
        for (int k = used; k < CNM_OP_SLOTS; k++) CHECK(op.p[k] == 0, "%s: encode wrote unused slot p%d", d->name, k);
        const int same = t == CNM_OP_CONV2D    ? !memcmp(&op.prm.conv2d, &prm.conv2d, sizeof prm.conv2d)
                         : t == CNM_OP_CHANNEL ? op.prm.channel.shuffle_groups == 5
                         : t == CNM_OP_LRN     ? !memcmp(&op.prm.lrn, &prm.lrn, sizeof prm.lrn)
                         : t == CNM_OP_CLIP    ? op.prm.clip.min == -0.5f && op.prm.clip.max == 6.0f
                         : (t == CNM_OP_AVGPOOL || t == CNM_OP_MAXPOOL) ? !memcmp(&op.prm.pool, &prm.pool, sizeof prm.pool)
                                                                         : used == 0;
        CHECK(same, "%s: decode(encode(params)) differs from params", d->name);
    }
    CHECK(cnm_op_def_of(0) == NULL && cnm_op_def_of(CNM_OP_END) == NULL, "types 0 and CNM_OP_END must be unknown");
    for (int i = 0; i < n_tables; i++) {
        const cnm_kernels *k = tables[i];
        CHECK(k->pointwise_f32 && k->direct_f32 && k->pointwise_q8 && k->direct_q8 && k->pointwise_q8w7 && k->direct_q8w7 && k->linear_f32 && k->avgpool_f32 &&
                  k->maxpool_f32 && k->channel_avg_f32 && k->depthwise_f32 && k->winograd_f32 && k->pw_mr > 0 && k->pw_nr > 0 && k->direct_mr > 0 && k->direct_lanes > 0,
              "kernel table %s is incomplete", k->name);
        CHECK(CNM_PW_OCHUNK % k->pw_mr == 0, "kernel table %s: its pointwise block of %d outputs does not divide the output chunk (%d)",
              k->name, k->pw_mr, CNM_PW_OCHUNK);
    }
}

/* add `v` to a sorted list of distinct positive ints */
static int add_unique(int *list, int n, int v) {
    if (v < 1) return n;
    for (int i = 0; i < n; i++)
        if (list[i] == v) return n;
    list[n++] = v;
    return n;
}

/* Values every quantiser must map exactly as the reference does (NaN to the code of the lower
 * clamp, infinities and huge values to the ends, -0), at positions that move with `salt` */
static void add_specials(float *x, size_t n, int salt) {
    const float sp[] = {NAN, INFINITY, -INFINITY, 3e38f, -3e38f, 1e10f, -1e10f, -0.0f};
    for (size_t k = 0; k < sizeof sp / sizeof sp[0] && n > 8; k++) x[((size_t)salt * 7 + k * 5) % n] = sp[k];
}

static int8_t *rand_q8(size_t n) {
    int8_t *w = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) w[i] = (int8_t)(int)(frand() * 127.0f);
    if (n > 1) w[0] = 127, w[n - 1] = -127; /* the extremes */
    return w;
}

/* 7-bit weights (|w| <= 63, a CONV2D's weight_bits 7) from 8-bit ones, in place: halved, so the
 * extremes 127 and -127 become 63 and -63 */
static void to_7bit(int8_t *w, size_t n) {
    for (size_t i = 0; i < n; i++) w[i] = (int8_t)(w[i] / 2);
}

/* fp16 kernels (aarch64 tables with FP16 arithmetic): the largest difference from the fp32
 * reference, relative to its largest value, that binary16 allows for sums of `terms` products:
 * inputs and weights rounded to binary16 (2^-11 relative each) and every partial sum rounded,
 * whose errors grow like sqrt(terms) for these random signs; 4x margin */
static double f16_tolerance(int terms) { return 4.0 * 4.9e-4 * (3.0 + sqrt((double)terms)); }
#if defined(__aarch64__)
static int32_t *f16_pairs(const float *w, int cout, int cin_g, int kk) {
    int32_t *p = malloc(sizeof(int32_t) * cnm_f16_pairs_elems(cout, cin_g, kk) + 16);
    cnm_f16_pack_pairs(w, cout, cin_g, kk, p);
    return p;
}
#else
static int32_t *f16_pairs(const float *w, int cout, int cin_g, int kk) { (void)w, (void)cout, (void)cin_g, (void)kk; return NULL; }
#endif
static double f16_worst; /* the largest difference over all fp16 cases, relative to its tolerance */
static int f16_cases;
static void f16_check(const float *out, const float *ref, size_t n, int terms, const char *what, const char *table) {
    const double d = rel_diff(out, ref, n), tol = f16_tolerance(terms);
    if (d / tol > f16_worst) f16_worst = d / tol;
    f16_cases++;
    CHECK(d < tol, "%s [%s] fp16: rel diff %.3g over %d products (tolerance %.3g)", what, table, d, terms, tol);
}

/* ---- pointwise ---- */

typedef struct pw_case { int G, cin_g, cout_g, hw, mode, threads; } pw_case; /* threads: what the items are split for */

static void pointwise_f32_case(const pw_case *pc) {
    const int G = pc->G, cin_g = pc->cin_g, cout_g = pc->cout_g, hw = pc->hw;
    const int cin = G * cin_g, cout = G * cout_g, src_c = cin + 5, mode = pc->mode; /* 0 index, 1 shuffle, 2 identity */
    float *in = rand_buf((size_t)src_c * hw), *w = rand_buf((size_t)cout * cin_g), *bias = rand_buf(cout);
    float *ps = rand_buf(cin), *pb = rand_buf(cin), *qs = rand_buf(cout), *qb = rand_buf(cout);
    int32_t *idx = malloc(sizeof(int32_t) * cin), *sh = malloc(sizeof(int32_t) * cin), *inv = malloc(sizeof(int32_t) * cout);
    for (int c = 0; c < cin; c++) idx[c] = (c * 7 + 3) % src_c;
    const int shuf = (mode == 1 && cin % 2 == 0) ? 2 : 0, oshuf = G > 1 ? G : 0;
    for (int c = 0; c < cin; c++) sh[c] = shuf ? (c % shuf) * (cin / shuf) + c / shuf : c;
    for (int d = 0; d < cout; d++) inv[oshuf ? (d % oshuf) * (cout / oshuf) + d / oshuf : d] = d;
    /* the reference: three separate ops */
    const size_t n = (size_t)cout * hw;
    float *t1 = malloc(sizeof(float) * cin * hw), *t2 = malloc(sizeof(float) * n), *ref = malloc(sizeof(float) * n);
    cnm_channel_f32_ref(in, t1, cin, hw, ps, pb, mode == 0 ? idx : NULL, shuf, 1);
    cnm_conv_shape s = {.cin = cin, .ih = 1, .iw = hw, .cout = cout, .oh = 1, .ow = hw, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .groups = G};
    cnm_conv2d_f32_ref(&s, t1, w, bias, t2);
    cnm_channel_f32_ref(t2, ref, cout, hw, qs, qb, NULL, oshuf, 1);
    if (mode != 1) /* then a CLIP, fused into the kernel's epilogue */
        for (size_t i = 0; i < n; i++) ref[i] = cnm_clamp(ref[i], 0.0f, 0.75f);
    float *scratch = malloc(sizeof(float) * cnm_pw_scratch_floats(cin_g)), *out = malloc(sizeof(float) * n);
    cnm_pw_args pa = {.threads = pc->threads, .in = in, .hw = hw, .src = mode == 0 ? idx : (shuf ? sh : NULL), .pre_scale = ps, .pre_shift = pb,
                      .pre_relu = 1, .w = w, .cin_g = cin_g, .cout = cout, .groups = G, .bias = bias,
                      .dst = oshuf ? inv : NULL, .post_scale = qs, .post_shift = qb, .post_relu = 1,
                      .post_clip = mode != 1, .clip_lo = 0.0f, .clip_hi = 0.75f,
                      .out = out, .scratch = scratch, .scratch_stride = 0};
    pa.wh = f16_pairs(w, cout, cin_g, 1);
    for (int t = 0; t < n_tables; t++) {
        memset(out, 0xff, sizeof(float) * n); /* NaN: a missed store shows */
        tables[t]->pointwise_f32(&pa);
        const double d = rel_diff(out, ref, n);
        CHECK(d < 1e-5, "pointwise f32 [%s] G=%d cin_g=%d cout_g=%d hw=%d mode=%d: rel diff %.3g", tables[t]->name, G, cin_g,
              cout_g, hw, mode, d);
        if (!tables[t]->pointwise_f16) continue;
        memset(out, 0xff, sizeof(float) * n);
        tables[t]->pointwise_f16(&pa);
        f16_check(out, ref, n, cin_g, "pointwise", tables[t]->name);
    }
    free((void *)pa.wh);
    free(in); free(w); free(bias); free(ps); free(pb); free(qs); free(qb); free(idx); free(sh); free(inv);
    free(t1); free(t2); free(ref); free(scratch); free(out);
}

static void pointwise_q8_case(const pw_case *pc, int salt) {
    const int G = pc->G, cin_g = pc->cin_g, cout_g = pc->cout_g, hw = pc->hw;
    const int cin = G * cin_g, cout = G * cout_g, zp = salt % 4 == 3 ? 77 : 0;
    const int use_pre = pc->mode != 2, use_post = pc->mode != 1;
    float *in = rand_buf((size_t)cin * hw), *bias = rand_buf(cout), *mult = rand_buf(cout);
    float *ps = rand_buf(cin), *pb = rand_buf(cin), *qs = rand_buf(cout), *qb = rand_buf(cout);
    for (int i = 0; i < cin * hw; i++) in[i] *= 3.0f; /* some values clip at both ends */
    add_specials(in, (size_t)cin * hw, salt);
    for (int i = 0; i < cout; i++) mult[i] = fabsf(mult[i]) * 0.01f;
    int8_t *wq = rand_q8((size_t)cout * cin_g);
    int32_t *pairs = malloc(sizeof(int32_t) * cnm_q8_pairs_elems(cout, cin_g, 1)), *wsum = malloc(sizeof(int32_t) * cout);
    int8_t *wdot = malloc(cnm_q8_dot_bytes(G, cout_g, cin_g, 1));
    cnm_q8_pack_pairs(wq, cout, cin_g, 1, pairs);
    cnm_q8_pack_dot(wq, G, cout_g, cin_g, 1, wdot, wsum);
    int16_t *panel = malloc(sizeof(int16_t) * cnm_q8_panel_elems(cin_g));
    const size_t n = (size_t)cout * hw;
    float *ref = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * n);
    cnm_q8_args q = {.pw = {.threads = pc->threads, .in = in, .hw = hw, .pre_scale = use_pre ? ps : NULL, .pre_shift = use_pre ? pb : NULL,
                            .pre_relu = use_pre, .cin_g = cin_g, .cout = cout, .groups = G, .bias = bias,
                            .post_scale = use_post ? qs : NULL, .post_shift = use_post ? qb : NULL, .post_relu = use_post,
                            .post_clip = salt % 3 == 1, .clip_lo = -0.5f, .clip_hi = 1.0f, .out = ref},
                     .wq = wq, .wpairs = pairs, .wdot = wdot, .wsum = wsum, .mult = mult, .inv_scale = 1.0f / 0.05f,
                     .zp = zp, .panel = panel};
    for (int bits = 8; bits >= 7; bits--) { /* 8-bit weights, then 7-bit ones on the q8w7 entries */
        if (bits == 7) {
            to_7bit(wq, (size_t)cout * cin_g);
            cnm_q8_pack_pairs(wq, cout, cin_g, 1, pairs);
            cnm_q8_pack_dot(wq, G, cout_g, cin_g, 1, wdot, wsum);
        }
        q.pw.out = ref;
        cnm_pointwise_q8_ref(&q);
        if (!use_pre && !use_post) { /* the pointwise reference is the generic int8 conv's special case */
            cnm_conv_shape s = {.cin = cin, .ih = 1, .iw = hw, .cout = cout, .oh = 1, .ow = hw, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .groups = G,
                                .clip = q.pw.post_clip, .clip_lo = q.pw.clip_lo, .clip_hi = q.pw.clip_hi};
            cnm_conv2d_q8_ref(&s, in, wq, mult, bias, 1.0f / 0.05f, zp, out);
            CHECK(!memcmp(out, ref, sizeof(float) * n), "pointwise int8 reference vs generic int8 conv: G=%d cin_g=%d cout_g=%d hw=%d", G,
                  cin_g, cout_g, hw);
        }
        q.pw.out = out;
        for (int t = 0; t < n_tables; t++) {
            memset(out, 0xff, sizeof(float) * n);
            (bits == 7 ? tables[t]->pointwise_q8w7 : tables[t]->pointwise_q8)(&q);
            CHECK(!memcmp(out, ref, sizeof(float) * n),
                  "pointwise int8 (%d-bit weights) [%s] not bit-exact: G=%d cin_g=%d cout_g=%d hw=%d zp=%d pre=%d post=%d", bits,
                  tables[t]->name, G, cin_g, cout_g, hw, zp, use_pre, use_post);
        }
    }
    free(in); free(bias); free(mult); free(ps); free(pb); free(qs); free(qb); free(wq); free(pairs); free(wsum); free(wdot);
    free(panel); free(ref); free(out);
}

/* A window (the GEMM step: a KxK conv of one group with a stride, or a strided 1x1 conv; the
 * pointwise kernels pack its im2col rows), fp32 against the conv reference (a 1x1 with BN + ReLU
 * before it, as the planner fuses), int8 against the generic int8 conv bit for bit. */
/* 0 when the padding is too large for the output size (no case) */
static int pointwise_window_case(int cin, int cout, int kh, int kw, int sh, int sw, int ph, int pw, int oh, int ow, int salt) {
    const int ih = (oh - 1) * sh + kh - 2 * ph + (salt & 1), iw = (ow - 1) * sw + kw - 2 * pw + (salt & 2) / 2, hw = oh * ow;
    if (ih < 1 || iw < 1) return 0;
    const int zp = salt % 3 == 0 ? 90 : 0, rows = cin * kh * kw, pre = kh * kw == 1;
    const size_t nin = (size_t)cin * ih * iw, n = (size_t)cout * hw;
    float *in = rand_buf(nin), *w = rand_buf((size_t)cout * rows), *bias = rand_buf(cout), *ps = rand_buf(cin), *pb = rand_buf(cin);
    float *mult = rand_buf(cout), *t1 = malloc(sizeof(float) * nin), *ref = malloc(sizeof(float) * n), *refq = malloc(sizeof(float) * n);
    float *out = malloc(sizeof(float) * n), *scratch = malloc(sizeof(float) * (cnm_pw_scratch_floats(rows) + cnm_pw_stage_floats(rows)));
    for (int i = 0; i < cout; i++) mult[i] = fabsf(mult[i]) * 0.01f;
    int8_t *wq = rand_q8((size_t)cout * rows), *wdot = malloc(cnm_q8_dot_bytes(1, cout, rows, 1));
    int32_t *pairs = malloc(sizeof(int32_t) * cnm_q8_pairs_elems(cout, rows, 1)), *wsum = malloc(sizeof(int32_t) * cout);
    cnm_q8_pack_pairs(wq, cout, rows, 1, pairs);
    cnm_q8_pack_dot(wq, 1, cout, rows, 1, wdot, wsum);
    cnm_conv_shape s = {.cin = cin, .ih = ih, .iw = iw, .cout = cout, .oh = oh, .ow = ow, .kh = kh, .kw = kw, .sh = sh, .sw = sw,
                        .ph = ph, .pw = pw, .groups = 1, .relu = salt % 4 == 1};
    if (pre) cnm_channel_f32_ref(in, t1, cin, ih * iw, ps, pb, NULL, 0, 1);
    cnm_conv2d_f32_ref(&s, pre ? t1 : in, w, bias, ref);
    cnm_conv2d_q8_ref(&s, in, wq, mult, bias, 1.0f / 0.02f, zp, refq);
    cnm_pw_args pa = {.in = in, .hw = hw, .pre_scale = pre ? ps : NULL, .pre_shift = pre ? pb : NULL, .pre_relu = pre, .w = w,
                      .cin_g = rows, .cout = cout, .groups = 1, .bias = bias, .post_relu = s.relu, .out = out, .scratch = scratch,
                      .kh = kh, .kw = kw, .sh = sh, .sw = sw, .ph = ph, .pw = pw, .in_h = ih, .in_w = iw, .out_w = ow};
    cnm_q8_args q = {.pw = pa, .wq = wq, .wpairs = pairs, .wdot = wdot, .wsum = wsum, .mult = mult, .inv_scale = 1.0f / 0.02f, .zp = zp,
                     .panel = (int16_t *)(void *)scratch};
    q.pw.pre_scale = q.pw.pre_shift = NULL, q.pw.pre_relu = 0;
    pa.wh = f16_pairs(w, cout, rows, 1);
    for (int t = 0; t < n_tables; t++) {
        if (!tables[t]->pointwise_f16) continue;
        memset(out, 0xff, sizeof(float) * n);
        tables[t]->pointwise_f16(&pa);
        f16_check(out, ref, n, rows, "pointwise window", tables[t]->name);
    }
    free((void *)pa.wh);
    for (int t = -1; t < n_tables; t++) {
        memset(out, 0xff, sizeof(float) * n);
        if (t < 0) cnm_pointwise_f32_ref(&pa); else tables[t]->pointwise_f32(&pa);
        const double d = rel_diff(out, ref, n);
        CHECK(d < 1e-5, "pointwise f32 window [%s] cin=%d cout=%d k=%dx%d s=%dx%d p=%dx%d out=%dx%d: rel diff %.3g",
              t < 0 ? "reference" : tables[t]->name, cin, cout, kh, kw, sh, sw, ph, pw, oh, ow, d);
        memset(out, 0xff, sizeof(float) * n);
        if (t < 0) cnm_pointwise_q8_ref(&q); else tables[t]->pointwise_q8(&q);
        CHECK(!memcmp(out, refq, sizeof(float) * n), "pointwise int8 window [%s] not bit-exact: cin=%d cout=%d k=%dx%d s=%dx%d p=%dx%d out=%dx%d zp=%d",
              t < 0 ? "reference" : tables[t]->name, cin, cout, kh, kw, sh, sw, ph, pw, oh, ow, zp);
    }
    /* 7-bit weights on the q8w7 entries */
    to_7bit(wq, (size_t)cout * rows);
    cnm_q8_pack_pairs(wq, cout, rows, 1, pairs);
    cnm_q8_pack_dot(wq, 1, cout, rows, 1, wdot, wsum);
    cnm_conv2d_q8_ref(&s, in, wq, mult, bias, 1.0f / 0.02f, zp, refq);
    for (int t = 0; t < n_tables; t++) {
        memset(out, 0xff, sizeof(float) * n);
        tables[t]->pointwise_q8w7(&q);
        CHECK(!memcmp(out, refq, sizeof(float) * n),
              "pointwise int8 window (7-bit weights) [%s] not bit-exact: cin=%d cout=%d k=%dx%d s=%dx%d p=%dx%d out=%dx%d zp=%d",
              tables[t]->name, cin, cout, kh, kw, sh, sw, ph, pw, oh, ow, zp);
    }
    free(in); free(w); free(bias); free(ps); free(pb); free(mult); free(t1); free(ref); free(refq); free(out); free(scratch);
    free(wq); free(wdot); free(pairs); free(wsum);
    return 1;
}

static void test_pointwise(void) {
    int mr = 1, nr = 1;
    for (int t = 0; t < n_tables; t++) {
        if (tables[t]->pw_mr > mr) mr = tables[t]->pw_mr;
        if (tables[t]->pw_nr > nr) nr = tables[t]->pw_nr;
    }
    int couts[24], nc = 0, hws[16], nh = 0;
    for (int c = 1; c <= mr + 1; c++) nc = add_unique(couts, nc, c);
    nc = add_unique(couts, nc, 2 * mr + 1);
    const int T = CNM_PW_TILE, hw_list[] = {1, nr - 1, nr + 1, 2 * nr + 3, T - 1, T + 1, 2 * T + nr + 1};
    for (size_t i = 0; i < sizeof hw_list / sizeof hw_list[0]; i++) nh = add_unique(hws, nh, hw_list[i]);
    const int cins[] = {1, 2, 3, 4, 5, 8, 13}, groups[] = {1, 3};
    int cases = 0;
    for (int g = 0; g < 2; g++) for (int a = 0; a < 7; a++) for (int b = 0; b < nc; b++) for (int h = 0; h < nh; h++) {
        const pw_case pc = {groups[g], cins[a], couts[b], hws[h], cases % 3, 1};
        pointwise_f32_case(&pc);
        pointwise_q8_case(&pc, cases);
        cases++;
    }
    /* few tiles, many outputs, items for 2 and 4 threads: split by outputs (cnm_pw_chunk), whole chunks and a remainder */
    const int K = CNM_PW_OCHUNK, ccout[] = {2 * K, 2 * K + 5, 3 * K + 4}, chw[] = {1, nr + 1, T}, ccin[] = {3, 8};
    for (int g = 0; g < 2; g++) for (int o = 0; o < 3; o++) for (int h = 0; h < 3; h++) for (int c = 0; c < 2; c++) {
        const pw_case pc = {groups[g], ccin[c], ccout[o], chw[h], cases % 3, 2 + 2 * (cases % 2)};
        pointwise_f32_case(&pc);
        pointwise_q8_case(&pc, cases);
        cases++;
    }
    CHECK(cnm_pw_items(&(cnm_pw_args){.hw = 49, .cout = 4 * K, .groups = 1, .threads = 4}) == 4, "a 7x7 map with 4 chunks of outputs splits into 4 items for 4 threads");
    CHECK(cnm_pw_items(&(cnm_pw_args){.hw = 49, .cout = 4 * K, .groups = 1, .threads = 1}) == 1, "and into none for one");
    /* windows: output pixels on both sides of the register block and of the panel; the networks'
     * windows (1x1 and 3x3 stride 2, 7x7 stride 2, 11x11 stride 4) and non-square ones, unequal
     * strides and pads; input channels through the int8 words */
    const int win[][6] = {{1, 1, 2, 2, 0, 0}, {1, 1, 1, 2, 0, 0}, {1, 1, 2, 1, 0, 0}, {1, 1, 3, 2, 0, 0}, {3, 3, 2, 2, 1, 1},
                          {3, 3, 2, 2, 0, 1}, {7, 7, 2, 2, 3, 3}, {11, 11, 4, 4, 2, 2}, {3, 1, 2, 1, 1, 0}, {1, 5, 1, 3, 0, 2},
                          {3, 3, 1, 2, 2, 0}};
    const int ows[] = {1, 3, 7, 9, 16}, ohs[] = {1, 5, 10}, scin[] = {1, 3, 8, 13}, scout[] = {1, mr + 1, 2 * mr + 1};
    int strided = 0, salt = 0;
    for (int k = 0; k < 11; k++) for (int x = 0; x < 5; x++) for (int y = 0; y < 3; y++) for (int c = 0; c < 4; c++) {
        const int *v = win[k];
        strided += pointwise_window_case(scin[c], scout[(x + y + c) % 3], v[0], v[1], v[2], v[3], v[4], v[5], ohs[y], ows[x], salt++);
    }
    printf("kernel tester: pointwise fp32 and int8, %d cases + %d windows x %d tables\n", cases, strided, n_tables);
}

/* ---- direct ---- */

typedef struct direct_case { int kh, kw, sh, sw, ph, pw, oh, ow, G, cin_g, cout_g; } direct_case;

/* the input size that gives the case's output; 0 when the padding is too large for it */
static int direct_shape(const direct_case *dc, cnm_conv_shape *s, int salt) {
    const int ih = (dc->oh - 1) * dc->sh + dc->kh - 2 * dc->ph, iw = (dc->ow - 1) * dc->sw + dc->kw - 2 * dc->pw;
    if (ih < 1 || iw < 1) return 0;
    *s = (cnm_conv_shape){.cin = dc->G * dc->cin_g, .ih = ih, .iw = iw, .cout = dc->G * dc->cout_g, .oh = dc->oh, .ow = dc->ow,
                          .kh = dc->kh, .kw = dc->kw, .sh = dc->sh, .sw = dc->sw, .ph = dc->ph, .pw = dc->pw,
                          .clip = salt % 4 == 1, .clip_lo = -0.25f, .clip_hi = 0.5f, /* a fused CLIP in some cases */
                          .groups = dc->G, .relu = salt & 1};
    return 1;
}

static void direct_case_run(const direct_case *dc, int salt) {
    cnm_conv_shape s;
    if (!direct_shape(dc, &s, salt)) return;
    const int kk = s.kh * s.kw, zp = salt % 3 == 0 ? 100 : 0;
    const size_t nin = (size_t)s.cin * s.ih * s.iw, nw = (size_t)s.cout * dc->cin_g * kk, n = (size_t)s.cout * s.oh * s.ow;
    float *in = rand_buf(nin), *w = rand_buf(nw), *bias = (salt & 2) ? rand_buf(s.cout) : NULL, *mult = rand_buf(s.cout);
    for (int i = 0; i < s.cout; i++) mult[i] = fabsf(mult[i]) * 0.01f;
    int8_t *wq = rand_q8(nw), *wdot = malloc(cnm_q8_dot_bytes(s.groups, dc->cout_g, dc->cin_g, kk));
    int32_t *pairs = malloc(sizeof(int32_t) * cnm_q8_pairs_elems(s.cout, dc->cin_g, kk)), *wsum = malloc(sizeof(int32_t) * s.cout);
    cnm_q8_pack_pairs(wq, s.cout, dc->cin_g, kk, pairs);
    cnm_q8_pack_dot(wq, s.groups, dc->cout_g, dc->cin_g, kk, wdot, wsum);
    const size_t padn = cnm_direct_padded_floats(&s) > cnm_direct_q8_padded_elems(&s) ? cnm_direct_padded_floats(&s)
                                                                                      : cnm_direct_q8_padded_elems(&s);
    float *ref = malloc(sizeof(float) * n), *refq = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * n);
    void *pad = malloc(sizeof(float) * padn);
    cnm_conv2d_f32_ref(&s, in, w, bias, ref);
    float *inq = malloc(sizeof(float) * nin);
    memcpy(inq, in, sizeof(float) * nin);
    for (size_t i = 0; i < nin; i++) inq[i] *= 3.0f;
    add_specials(inq, nin, salt);
    cnm_conv2d_q8_ref(&s, inq, wq, mult, bias, 1.0f / 0.02f, zp, refq);
    cnm_direct_args a = {.s = &s, .in = in, .out = out, .bias = bias, .w = w, .wq = wq, .wpairs = pairs, .wdot = wdot,
                         .wsum = wsum, .mult = mult, .inv_scale = 1.0f / 0.02f, .zp = zp, .pad = pad,
                         .wh = f16_pairs(w, s.cout, dc->cin_g, kk)};
    for (int t = 0; t < n_tables; t++) {
        a.in = in;
        memset(out, 0xff, sizeof(float) * n);
        memset(pad, 0xff, sizeof(float) * padn); /* NaN, code 255: a stored output reading unfilled padding shows */
        tables[t]->direct_f32(&a);
        const double d = rel_diff(out, ref, n);
        CHECK(d < 1e-5, "direct f32 [%s] k=%dx%d s=%dx%d p=%dx%d out=%dx%d G=%d cin_g=%d cout_g=%d: rel diff %.3g", tables[t]->name,
              s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.oh, s.ow, s.groups, dc->cin_g, dc->cout_g, d);
        if (tables[t]->direct_f16) {
            memset(out, 0xff, sizeof(float) * n);
            memset(pad, 0xff, sizeof(float) * padn);
            tables[t]->direct_f16(&a);
            char what[96];
            snprintf(what, sizeof what, "direct k=%dx%d s=%dx%d p=%dx%d out=%dx%d G=%d cin_g=%d cout_g=%d", s.kh, s.kw, s.sh, s.sw, s.ph,
                     s.pw, s.oh, s.ow, s.groups, dc->cin_g, dc->cout_g);
            f16_check(out, ref, n, dc->cin_g * kk, what, tables[t]->name);
        }
        a.in = inq;
        memset(out, 0xff, sizeof(float) * n);
        memset(pad, 0xff, sizeof(float) * padn); /* NaN, code 255: a stored output reading unfilled padding shows */
        tables[t]->direct_q8(&a);
        CHECK(!memcmp(out, refq, sizeof(float) * n),
              "direct int8 [%s] not bit-exact: k=%dx%d s=%dx%d p=%dx%d out=%dx%d G=%d cin_g=%d cout_g=%d zp=%d", tables[t]->name,
              s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.oh, s.ow, s.groups, dc->cin_g, dc->cout_g, zp);
    }
    /* 7-bit weights on the q8w7 entries */
    to_7bit(wq, nw);
    cnm_q8_pack_pairs(wq, s.cout, dc->cin_g, kk, pairs);
    cnm_q8_pack_dot(wq, s.groups, dc->cout_g, dc->cin_g, kk, wdot, wsum);
    cnm_conv2d_q8_ref(&s, inq, wq, mult, bias, 1.0f / 0.02f, zp, refq);
    a.in = inq;
    for (int t = 0; t < n_tables; t++) {
        memset(out, 0xff, sizeof(float) * n);
        memset(pad, 0xff, sizeof(float) * padn); /* NaN, code 255: a stored output reading unfilled padding shows */
        tables[t]->direct_q8w7(&a);
        CHECK(!memcmp(out, refq, sizeof(float) * n),
              "direct int8 (7-bit weights) [%s] not bit-exact: k=%dx%d s=%dx%d p=%dx%d out=%dx%d G=%d cin_g=%d cout_g=%d zp=%d",
              tables[t]->name, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.oh, s.ow, s.groups, dc->cin_g, dc->cout_g, zp);
    }
    free(in); free(w); free(bias); free(mult); free(wq); free(wdot); free(pairs); free(wsum); free(ref); free(refq); free(out);
    free(pad); free(inq); free((void *)a.wh);
}

static void test_direct(void) {
    int L = 1, mr = 1;
    for (int t = 0; t < n_tables; t++) {
        if (tables[t]->direct_lanes > L) L = tables[t]->direct_lanes;
        if (tables[t]->direct_mr > mr) mr = tables[t]->direct_mr;
    }
    /* output widths on both sides of every slot boundary of every table (4, 8 and 16 lanes: half a
     * slot, a slot, two slots, four slots) */
    int ows[32], no = 0;
    for (int l = 4; l <= L; l *= 2) {
        const int list[] = {1, l / 2, l / 2 + 1, l, l + 1, 2 * l + 1, 4 * l + 3};
        for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) no = add_unique(ows, no, list[i]);
    }
    const int kernels[][2] = {{1, 1}, {3, 3}, {1, 3}, {3, 1}, {5, 3}, {7, 1}, {1, 7}, {5, 5}};
    const int strides[][2] = {{1, 1}, {2, 2}, {1, 2}, {2, 1}, {3, 1}};
    int cases = 0;
    /* geometry: every kernel x stride x padding x output size, with a partial output-channel block */
    for (int k = 0; k < 8; k++) for (int st = 0; st < 5; st++) for (int pv = 0; pv < 2; pv++)
    for (int o = 0; o < no; o++) for (int oh = 1; oh <= 3; oh += 2) {
        const int kh = kernels[k][0], kw = kernels[k][1];
        const int ph = pv ? (kh > 1 ? kh - 1 : 0) : kh / 2, pw = pv ? 0 : kw / 2; /* unequal, and the largest kernel - 1 */
        const direct_case dc = {kh, kw, strides[st][0], strides[st][1], ph, pw, oh, ows[o], 2, 3, mr + 1};
        direct_case_run(&dc, cases++);
    }
    /* channels: every remainder of the output block and of the int8 words of 2 and 4 channels */
    for (int g = 1; g <= 3; g += 2) for (int ci = 1; ci <= 9; ci++) for (int co = 1; co <= 2 * mr + 1; co++) {
        const direct_case dc = {3, 3, 1, 1, 1, 1, 2, L + 1, g, ci, co};
        direct_case_run(&dc, cases++);
        const direct_case dc2 = {5, 3, 2, 1, 2, 0, 3, L / 2 + 1, g, ci, co};
        direct_case_run(&dc2, cases++);
    }
    printf("kernel tester: direct fp32 and int8, %d cases x %d tables\n", cases, n_tables);
    if (f16_cases) printf("kernel tester: fp16 kernels, %d cases, the largest difference %.2f of its tolerance\n", f16_cases, f16_worst);
}

/* ---- depthwise ---- */

/* Against the generic conv reference: output widths on both sides of every vector, of half a vector
 * (the channel-blocked geometry's limit) and of the 4-vector tile of every table's lanes, heights
 * of one row tile and of two plus a remainder row for every table's tiles at that width, channel
 * counts around the lanes, every kernel shape and stride of the networks (3x3 and 5x5, stride 1 and
 * 2) and non-square ones, unequal paddings, vertical strides past 2, with and without bias and
 * ReLU. */
static void test_depthwise(void) {
    int L = 1;
    for (int t = 0; t < n_tables; t++) if (tables[t]->direct_lanes > L) L = tables[t]->direct_lanes;
    int ows[32], no = 0;
    for (int l = 4; l <= L; l *= 2) {
        const int list[] = {1, l / 2, l / 2 + 1, l - 1, l, l + 1, 3 * l + 1, 4 * l - 1, 4 * l, 4 * l + 1, 8 * l + 3};
        for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) no = add_unique(ows, no, list[i]);
    }
    no = add_unique(ows, no, CNM_WINDOW_CHUNK - 1), no = add_unique(ows, no, CNM_WINDOW_CHUNK + 3); /* window.h's chunks */
    const int kernels[][2] = {{3, 3}, {5, 5}, {1, 1}, {3, 1}, {1, 5}, {7, 3}};
    const int strides[][2] = {{1, 1}, {2, 2}, {1, 2}, {2, 1}, {3, 2}};
    int cases = 0;
    for (int k = 0; k < 6; k++) for (int st = 0; st < 5; st++) for (int pv = 0; pv < 3; pv++) for (int o = 0; o < no; o++) {
        const int kh = kernels[k][0], kw = kernels[k][1], sh = strides[st][0], sw = strides[st][1];
        const int ph = pv == 0 ? kh / 2 : pv == 1 ? 0 : kh - 1, pw = pv == 0 ? kw / 2 : pv == 1 ? kw - 1 : 0;
        /* channels: one, a few, and around the widest table's lanes (the channel-blocked geometry's
         * blocks: one and a remainder, two and a remainder) */
        const int chans[6] = {1, 3, 5, L + 1, 2 * L + 3, L - 1};
        /* heights: 1..3, and around every row tile a table takes for this width (cnm_dw_tile_rows) */
        int ohs[8] = {1 + (o % 3)}, nh = 1;
        for (int t = 0; t < n_tables; t++) {
            const int R = cnm_dw_tile_rows(ows[o], tables[t]->direct_lanes);
            nh = add_unique(ohs, nh, R), nh = add_unique(ohs, nh, 2 * R + 1);
        }
        for (int h = 0; h < nh; h++) {
            const int ow = ows[o], oh = ohs[h], C = chans[(o + k + st + h) % 6];
            const int ih = (oh - 1) * sh + kh - 2 * ph, iw = (ow - 1) * sw + kw - 2 * pw + (o & 1) * (sw - 1);
            if (ih < 1 || iw < 1) continue;
            cnm_conv_shape s = {.cin = C, .ih = ih, .iw = iw, .cout = C, .oh = oh, .ow = ow, .kh = kh, .kw = kw, .sh = sh, .sw = sw,
                                .ph = ph, .pw = pw, .groups = C, .relu = cases & 1, .clip = cases % 3 == 2, .clip_lo = -0.5f, .clip_hi = 0.25f};
            const size_t n = (size_t)C * oh * ow;
            float *in = rand_buf((size_t)C * ih * iw), *w = rand_buf((size_t)C * kh * kw), *bias = (cases & 2) ? rand_buf(C) : NULL;
            float *ref = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * n), *scratch = malloc(sizeof(float) * cnm_dw_scratch_floats(&s));
            cnm_conv2d_f32_ref(&s, in, w, bias, ref);
            const cnm_dw_args a = {.s = &s, .in = in, .w = w, .bias = bias, .out = out, .scratch = scratch, .scratch_stride = 0};
            for (int t = 0; t < n_tables; t++) {
                memset(out, 0xff, sizeof(float) * n);
                tables[t]->depthwise_f32(&a);
                const double d = rel_diff(out, ref, n);
                CHECK(d < 1e-5, "depthwise f32 [%s] C=%d k=%dx%d s=%dx%d p=%dx%d in=%dx%d out=%dx%d: rel diff %.3g", tables[t]->name, C, kh,
                      kw, sh, sw, ph, pw, ih, iw, oh, ow, d);
            }
            free(in); free(w); free(bias); free(ref); free(out); free(scratch);
            cases++;
        }
    }
    printf("kernel tester: depthwise fp32, %d cases x %d tables\n", cases, n_tables);
}

/* ---- Winograd ----
 * Against the generic conv reference (F(4x4, 3x3) rounds in its transforms, whose entries reach 5
 * and 8: up to 5e-5 of the largest output measured here on random data) and against the scalar
 * Winograd (the same algorithm, FMA contraction aside: up to 7.5e-5 apart), both checked within
 * 2e-4; a wrong transform entry is off by 1e-1 and more. Output
 * heights and widths on both sides of the 4x4 tile (1..9), tile counts on both sides of the
 * 64-tile block (63, 64, 65) and a conv whose blocks take two passes (cnm_wino_chunk), output
 * channels through two register blocks + 1 of every table, input channels 1..9 and past a vector,
 * every padding 0..2 (unequal ones), with and without bias, ReLU and CLIP. */
static void wino_case(int cin, int cout, int oh, int ow, int ph, int pw, int flags, double *worst) {
    cnm_conv_shape s = {.cin = cin, .ih = oh + 2 - 2 * ph, .iw = ow + 2 - 2 * pw, .cout = cout, .oh = oh, .ow = ow, .kh = 3, .kw = 3,
                        .sh = 1, .sw = 1, .ph = ph, .pw = pw, .groups = 1, .relu = flags & 1, .clip = (flags & 2) != 0,
                        .clip_lo = -0.5f, .clip_hi = 0.75f};
    if (s.ih < 1 || s.iw < 1) return;
    const size_t n = (size_t)cout * oh * ow;
    float *in = rand_buf((size_t)cin * s.ih * s.iw), *w = rand_buf((size_t)cout * cin * 9), *bias = (flags & 4) ? rand_buf(cout) : NULL;
    float *u = malloc(sizeof(float) * 36 * (size_t)cin * cout), *ref = malloc(sizeof(float) * n), *wref = malloc(sizeof(float) * n);
    float *out = malloc(sizeof(float) * n), *scratch = calloc(cnm_wino_scratch_floats(&s), sizeof(float));
    cnm_conv2d_f32_ref(&s, in, w, bias, ref);
    cnm_wino_weights(w, cout, cin, u);
    cnm_wino_args a = {.s = &s, .in = in, .u = u, .bias = bias, .out = wref, .scratch = scratch};
    cnm_winograd_f32_ref(&a);
    const double d0 = rel_diff(wref, ref, n);
    if (d0 > *worst) *worst = d0;
    CHECK(d0 < 2e-4, "winograd f32 [reference] cin=%d cout=%d out=%dx%d pad=%dx%d flags=%d: rel diff %.3g from the direct conv", cin,
          cout, oh, ow, ph, pw, flags, d0);
    a.out = out;
    for (int t = 0; t < n_tables; t++) {
        memset(out, 0xff, sizeof(float) * n);
        tables[t]->winograd_f32(&a);
        const double d = rel_diff(out, wref, n);
        CHECK(d < 2e-4, "winograd f32 [%s] cin=%d cout=%d out=%dx%d pad=%dx%d flags=%d: rel diff %.3g", tables[t]->name, cin, cout, oh,
              ow, ph, pw, flags, d);
    }
    free(in); free(w); free(bias); free(u); free(ref); free(wref); free(out); free(scratch);
}

static void test_winograd(void) {
    int mr = 1;
    for (int t = 0; t < n_tables; t++) if (tables[t]->pw_mr > mr) mr = tables[t]->pw_mr;
    int cases = 0;
    double worst = 0;
    const int pads[][2] = {{1, 1}, {0, 0}, {2, 2}, {0, 1}, {2, 0}, {1, 2}};
    for (int oh = 1; oh <= 9; oh++) for (int ow = 1; ow <= 9; ow++) {
        const int p = (oh * 9 + ow) % 6;
        wino_case(1 + (ow % 3), 1 + (oh % 5), oh, ow, pads[p][0], pads[p][1], cases & 7, &worst);
        cases++;
    }
    for (int ci = 1; ci <= 9; ci++) for (int co = 1; co <= 2 * mr + 1; co++) {
        wino_case(ci, co, 5, 6 + (co & 1), co % 3, ci % 3, (ci + co) & 7, &worst);
        cases++;
    }
    const int big[][4] = {{17, 9, 4 * 7, 4 * 9},   /* 63 tiles */
                          {9, 5, 4 * 8, 4 * 8},    /* 64 */
                          {5, 17, 4 * 5, 4 * 13},  /* 65 */
                          {35, 3, 4 * 5 - 1, 55},  /* 70, the last row and column cut */
                          {16, 440, 33, 36}};      /* 81 tiles: 2 blocks, one per pass */
    for (int b = 0; b < 5; b++) {
        wino_case(big[b][0], big[b][1], big[b][2], big[b][3], 1, 1, b | 4, &worst);
        cases++;
    }
    CHECK(cnm_wino_chunk(&(cnm_conv_shape){.cin = 16, .cout = 440, .oh = 33, .ow = 36}) == 1, "the two-pass case takes one pass");
    printf("kernel tester: winograd fp32, %d cases x %d tables (largest difference from the direct conv %.2g)\n", cases, n_tables, worst);
}

/* ---- max and average pools over windows (pool.h) ----
 * A max picks one of its inputs, and the average sums the same taps in the same order from +0 and
 * multiplies once, so every table must give the reference's bits for both: output widths on
 * both sides of every vector and 4-vector tile of every table's lanes, the networks' windows (3x3
 * stride 2 ceil mode: GoogLeNet; 3x3 stride 1 pad 1: Inception branches; 3x3 stride 2 pad 1: the
 * ResNet / DenseNet / ShuffleNet stem) and non-square ones, strides 1 to 3, with NaN, infinities
 * and -0 among the inputs, with and without ReLU. */
static void test_window_pools(void) {
    int L = 1;
    for (int t = 0; t < n_tables; t++) if (tables[t]->direct_lanes > L) L = tables[t]->direct_lanes;
    int ows[32], no = 0;
    for (int l = 4; l <= L; l *= 2) {
        const int list[] = {1, l - 1, l, l + 1, 4 * l - 1, 4 * l, 4 * l + 1, 8 * l + 3};
        for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) no = add_unique(ows, no, list[i]);
    }
    /* rows whose stride-2 split crosses a chunk of the padded copy (window.h) */
    no = add_unique(ows, no, CNM_WINDOW_CHUNK - 1), no = add_unique(ows, no, CNM_WINDOW_CHUNK + 3);
    const int wins[][2] = {{3, 3}, {2, 2}, {1, 1}, {3, 1}, {1, 3}, {5, 3}};
    const int strides[][2] = {{2, 2}, {1, 1}, {1, 2}, {2, 1}, {3, 3}};
    int cases = 0;
    for (int avg = 0; avg < 2; avg++)
    for (int w = 0; w < 6; w++) for (int st = 0; st < 5; st++) for (int pv = 0; pv < 2; pv++) for (int cm = 0; cm < 2; cm++)
    for (int o = 0; o < no; o++) {
        const int kh = wins[w][0], kw = wins[w][1], sh = strides[st][0], sw = strides[st][1];
        const int ph = pv ? kh / 2 : 0, pw = pv ? kw / 2 : 0, C = 1 + (o % 3);
        /* an input that gives about ows[o] outputs, one wider every other case (a partial last window) */
        const int W = (ows[o] - 1) * sw + kw - 2 * pw + (o & 1), H = 2 * sh + kh - 2 * ph + (o % 3);
        if (W < 1 || H < 1 || kh > H + 2 * ph || kw > W + 2 * pw) continue;
        if (avg && kh == H && kw == W && ph == 0 && pw == 0 && (H - kh) / sh == 0 && (W - kw) / sw == 0) continue; /* global: test_pools */
        cnm_pool_shape s = {C, H, W, (int)cnm_window_out((uint64_t)H, (uint64_t)kh, (uint64_t)sh, (uint64_t)ph, cm),
                            (int)cnm_window_out((uint64_t)W, (uint64_t)kw, (uint64_t)sw, (uint64_t)pw, cm), kh, kw, sh, sw, ph, pw, cases & 1};
        const size_t n = (size_t)C * s.oh * s.ow, nin = (size_t)C * H * W;
        float *in = rand_buf(nin), *ref = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * n);
        add_specials(in, nin, cases);
        const size_t ns = cnm_pool_scratch_floats(&s);
        float *scratch = malloc(sizeof(float) * ns);
        (avg ? cnm_avgpool_f32_ref : cnm_maxpool_f32_ref)(&s, in, ref);
        for (int t = 0; t < n_tables; t++) {
            memset(out, 0xff, sizeof(float) * n);
            memset(scratch, 0x7f, sizeof(float) * ns); /* 3.4e38: a read of an unfilled slot wins (or adds) and shows */
            (avg ? tables[t]->avgpool_f32 : tables[t]->maxpool_f32)(&s, in, out, scratch, 0);
            CHECK(!memcmp(out, ref, sizeof(float) * n), "%s [%s] not the reference's bits: C=%d %dx%d window %dx%d stride %dx%d pad %dx%d ceil %d relu %d",
                  avg ? "avgpool" : "maxpool", tables[t]->name, C, H, W, kh, kw, sh, sw, ph, pw, cm, s.relu);
        }
        free(in); free(ref); free(out); free(scratch);
        cases++;
    }
    printf("kernel tester: window pools (max and average), %d cases x %d tables\n", cases, n_tables);
}

/* ---- pools and linear ---- */

static void test_pools(void) {
    const int wins[][2] = {{2, 2}, {3, 3}, {3, 1}, {1, 3}, {5, 3}};
    const int strides[][2] = {{1, 1}, {2, 2}, {2, 1}};
    const int sizes[] = {1, 3, 7, 8, 9, 17, 33};
    int cases = 0;
    for (int w = 0; w < 5; w++) for (int st = 0; st < 3; st++) for (int pv = 0; pv < 2; pv++) for (int a = 0; a < 7; a++) {
        const int kh = wins[w][0], kw = wins[w][1], ph = pv ? kh / 2 : 0, pw = pv ? kw / 2 : 0;
        const int H = sizes[a], W = sizes[(a + 3) % 7], C = 3;
        if (kh > H + 2 * ph || kw > W + 2 * pw) continue; /* no window fits: not a valid pool */
        cnm_pool_shape s = {C, H, W, (H + 2 * ph - kh) / strides[st][0] + 1, (W + 2 * pw - kw) / strides[st][1] + 1, kh, kw,
                            strides[st][0], strides[st][1], ph, pw, a & 1};
        const size_t n = (size_t)C * s.oh * s.ow;
        float *in = rand_buf((size_t)C * H * W), *ref = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * n);
        float *scratch = malloc(sizeof(float) * cnm_pool_scratch_floats(&s));
        for (int max = 0; max < 2; max++) {
            (max ? cnm_maxpool_f32_ref : cnm_avgpool_f32_ref)(&s, in, ref);
            for (int t = 0; t < n_tables; t++) {
                memset(out, 0xff, sizeof(float) * n);
                memset(scratch, 0xff, sizeof(float) * cnm_pool_scratch_floats(&s)); /* NaN: a read past the copy shows */
                (max ? tables[t]->maxpool_f32 : tables[t]->avgpool_f32)(&s, in, out, scratch, 0);
                const double d = rel_diff(out, ref, n);
                CHECK(d < 1e-6, "%s [%s] %dx%d window %dx%d stride %dx%d pad %dx%d: rel diff %.3g", max ? "maxpool" : "avgpool",
                      tables[t]->name, H, W, kh, kw, s.sh, s.sw, ph, pw, d);
            }
        }
        free(in); free(ref); free(out); free(scratch);
        cases++;
    }
    /* the global pools of the networks (one output per channel) */
    for (int a = 0; a < 7; a++) {
        const int H = sizes[a], W = sizes[(a + 2) % 7], C = 5;
        cnm_pool_shape s = {C, H, W, 1, 1, H, W, 1, 1, 0, 0, 0};
        float *in = rand_buf((size_t)C * H * W), ref[5], out[5];
        cnm_avgpool_f32_ref(&s, in, ref);
        for (int t = 0; t < n_tables; t++) {
            tables[t]->avgpool_f32(&s, in, out, NULL, 0); /* the global pool needs no scratch */
            CHECK(rel_diff(out, ref, C) < 1e-6, "global avgpool [%s] %dx%d", tables[t]->name, H, W);
        }
        free(in);
        cases++;
    }
    /* a CHANNEL op fused into the global average (channel_avg_f32): the same bits as the channel
     * reference and then the table's own global average, for maps on both sides of the vector
     * widths (two vectors per step), with and without scale, shift, ReLU, and the pool's ReLU */
    const int maps[][2] = {{1, 1}, {1, 7}, {2, 4}, {3, 5}, {4, 4}, {1, 17}, {5, 5}, {7, 7}, {8, 8}, {6, 11}};
    for (int a = 0; a < 10; a++) for (int v = 0; v < 8; v++) {
        const int H = maps[a][0], W = maps[a][1], C = 6, n = H * W;
        cnm_pool_shape s = {C, H, W, 1, 1, H, W, 1, 1, 0, 0, v == 7};
        float *in = rand_buf((size_t)C * n), *sc = rand_buf(C), *sh = rand_buf(C), *mid = malloc(sizeof(float) * C * n);
        add_specials(in, (size_t)C * n, a + v); /* NaN and -0 through the ReLU, infinities through the sum */
        const float *scale = v & 1 ? sc : NULL, *shift = v & 2 ? sh : NULL;
        const int relu = (v & 4) != 0 || v == 0;
        float ref[6], out[6];
        cnm_channel_f32_ref(in, mid, C, n, scale, shift, NULL, 0, relu);
        for (int t = 0; t < n_tables; t++) {
            tables[t]->avgpool_f32(&s, mid, ref, NULL, 0);
            memset(out, 0xff, sizeof out);
            tables[t]->channel_avg_f32(&s, in, out, scale, shift, relu);
            CHECK(!memcmp(out, ref, sizeof out), "channel + global avgpool [%s] %dx%d scale %d shift %d relu %d: not the unfused bits",
                  tables[t]->name, H, W, scale != NULL, shift != NULL, relu);
        }
        free(in); free(sc); free(sh); free(mid);
        cases++;
    }
    printf("kernel tester: pools, %d cases x %d tables\n", cases, n_tables);
}

static void test_linear(void) {
    const int ns[] = {1, 3, 10, 33}, ks[] = {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 1032};
    for (int a = 0; a < 4; a++) for (int b = 0; b < 12; b++) for (int gi = 0; gi < 2; gi++) {
        const int N = ns[a], K = ks[b], F = K + 11;
        float *x = rand_buf(F), *w = rand_buf((size_t)N * K), *bias = rand_buf(N), *packed = malloc(sizeof(float) * K);
        int32_t *idx = malloc(sizeof(int32_t) * K);
        for (int j = 0; j < K; j++) idx[j] = (j * 5 + 2) % F;
        float *ref = malloc(sizeof(float) * N), *out = malloc(sizeof(float) * N);
        cnm_linear_f32_ref(x, w, bias, gi ? idx : NULL, ref, N, K, a & 1);
        for (int t = 0; t < n_tables; t++) {
            tables[t]->linear_f32(x, w, bias, gi ? idx : NULL, out, N, K, a & 1, packed);
            const double d = rel_diff(out, ref, N);
            CHECK(d < 1e-5, "linear [%s] N=%d K=%d index=%d: rel diff %.3g", tables[t]->name, N, K, gi, d);
        }
        free(x); free(w); free(bias); free(packed); free(idx); free(ref); free(out);
    }
}

void test_kernel_tables(void) {
    n_tables = cnm_kernel_tables(tables, MAX_TABLES);
    printf("kernel tables this CPU runs:");
    for (int t = 0; t < n_tables; t++) printf(" [%s]", tables[t]->name);
    printf("; selected: %s\n", cnm_kernels_select()->name);
    test_op_table();
    test_pointwise();
    test_direct();
    test_depthwise();
    test_winograd();
    test_window_pools();
    test_pools();
    test_linear();
}
