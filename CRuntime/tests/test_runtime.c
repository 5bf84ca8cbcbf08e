#define _POSIX_C_SOURCE 200809L /* setenv */
/* C test runner for the runtime, runnable without Swift (host or aarch64 under qemu).
 *   test_runtime MODEL.cnm INPUTS.npy LOGITS.npy
 * Kernel tests compare every fast kernel with the scalar references over odd shapes; the
 * model test runs the official CondenseNet-86 fixture against PyTorch's logits. Prints one
 * line per failure and a closing "N passed, N failed". */
#include "cnm.h"
#include "../src/kernels/kernels.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;
static size_t max_images = 1000;
/* --quick (valgrind): one inference per context; the 40 warm runs that count heap calls and the
 * 3- and 4-thread determinism runs are left to the native `make check` */
static int quick = 0;
static float *read_npy(const char *path, size_t *count);

/* Allocation counting: the test binary is linked with -Wl,--wrap=malloc,... so every heap call
 * made by the runtime's objects goes through these counters. */
#ifdef CNM_COUNT_ALLOCS
void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
void *__real_aligned_alloc(size_t, size_t);
void __real_free(void *);
static volatile long alloc_calls;
void *__wrap_malloc(size_t n) { __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED); return __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED); return __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED); return __real_realloc(p, n); }
void *__wrap_aligned_alloc(size_t a, size_t n) { __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED); return __real_aligned_alloc(a, n); }
void __wrap_free(void *p) { if (p) __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED); __real_free(p); }
#endif
#define CHECK(cond, ...)                                 \
    do {                                                 \
        if (cond) passed++;                              \
        else {                                           \
            failed++;                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);  \
            printf(__VA_ARGS__);                         \
            printf("\n");                                \
        }                                                \
    } while (0)

static uint32_t rng = 2463534242u;
static float frand(void) { /* xorshift32 in [-1, 1) */
    rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5;
    return (float)(rng >> 8) / 8388608.0f - 1.0f;
}
static float *rand_buf(size_t n) {
    float *p = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}
/* max |a-b| relative to max(1, max|b|) */
static double rel_diff(const float *a, const float *b, size_t n) {
    double d = 0, m = 1;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (e > d || e != e) d = e != e ? INFINITY : e;
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return d / m;
}

static cnm_isa isa;
static unsigned q8_paths_tested; /* bits: which int8 SIMD paths the kernel tests ran */
static int fp32_avx512_tested;   /* the AVX-512 fp32 pointwise kernel ran (the CPU has AVX-512F) */

/* pointwise (fused) vs composition of reference channel + conv + channel kernels */
static void test_pointwise(void) {
    const int cins[] = {1, 3, 8, 13, 37}, couts[] = {1, 2, 3, 4, 5, 9, 7, 16}, groups[] = {1, 2, 3, 4, 8};
    const int hws[] = {1, 7, 49, 64, 65, 200};
    int cases = 0;
    for (int a = 0; a < 5; a++) for (int b = 0; b < 8; b++) for (int g = 0; g < 5; g++) for (int h = 0; h < 6; h++) {
        if ((a + b + g + h) % 3) continue; /* a spread subset */
        const int G = groups[g], cin_g = cins[a], cout_g = couts[b], hw = hws[h];
        const int cin = G * cin_g, cout = G * cout_g, src_c = cin + 5;
        const int mode = cases % 3; /* 0 index gather, 1 shuffle, 2 identity */
        float *in = rand_buf((size_t)src_c * hw), *w = rand_buf((size_t)cout * cin_g), *bias = rand_buf(cout);
        float *ps = rand_buf(cin), *pb = rand_buf(cin), *qs = rand_buf(cout), *qb = rand_buf(cout);
        int32_t *idx = malloc(sizeof(int32_t) * cin), *sh = malloc(sizeof(int32_t) * cin), *inv = malloc(sizeof(int32_t) * cout);
        for (int c = 0; c < cin; c++) idx[c] = (c * 7 + 3) % src_c;
        const int shuf = (mode == 1 && cin % 2 == 0) ? 2 : 0;
        for (int c = 0; c < cin; c++) sh[c] = shuf ? (c % shuf) * (cin / shuf) + c / shuf : c;
        const int oshuf = G > 1 && cout % G == 0 ? G : 0;
        for (int d = 0; d < cout; d++) { int s = oshuf ? (d % oshuf) * (cout / oshuf) + d / oshuf : d; inv[s] = d; }
        /* reference: three separate ops */
        float *t1 = malloc(sizeof(float) * cin * hw), *t2 = malloc(sizeof(float) * cout * hw), *ref = malloc(sizeof(float) * cout * hw);
        cnm_channel_f32_ref(mode == 1 ? in : in, t1, cin, hw, ps, pb, mode == 0 ? idx : NULL, shuf, 1);
        cnm_conv_shape s = {.cin = cin, .ih = 1, .iw = hw, .cout = cout, .oh = 1, .ow = hw, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .groups = G};
        cnm_conv2d_f32_ref(&s, t1, w, bias, t2);
        cnm_channel_f32_ref(t2, ref, cout, hw, qs, qb, NULL, oshuf, 1);
        /* fused */
        float *scratch = malloc(sizeof(float) * cnm_pw_scratch_floats(cin_g));
        float *out_ref = calloc((size_t)cout * hw, sizeof(float)), *out_simd = calloc((size_t)cout * hw, sizeof(float));
        cnm_pw_args pa = {.in = in, .hw = hw, .src = mode == 0 ? idx : (shuf ? sh : NULL), .pre_scale = ps, .pre_shift = pb,
                          .pre_relu = 1, .w = w, .cin_g = cin_g, .cout = cout, .groups = G, .bias = bias,
                          .dst = oshuf ? inv : NULL, .post_scale = qs, .post_shift = qb, .post_relu = 1,
                          .out = out_ref, .scratch = scratch, .scratch_stride = 0};
        cnm_pointwise_f32_ref(&pa);
        double d1 = rel_diff(out_ref, ref, (size_t)cout * hw);
        CHECK(d1 < 1e-5, "pointwise ref vs composition: G=%d cin_g=%d cout_g=%d hw=%d mode=%d: rel diff %.3g", G, cin_g, cout_g, hw, mode, d1);
        pa.out = out_simd;
        if (isa == CNM_ISA_AVX2) cnm_pointwise_f32_avx2(&pa);
        else if (isa != CNM_ISA_SCALAR) cnm_pointwise_f32_neon(&pa);
        else cnm_pointwise_f32_ref(&pa);
        double d2 = rel_diff(out_simd, ref, (size_t)cout * hw);
        CHECK(d2 < 1e-5, "pointwise %s vs composition: G=%d cin_g=%d cout_g=%d hw=%d mode=%d: rel diff %.3g",
              cnm_isa_name(isa), G, cin_g, cout_g, hw, mode, d2);
        if (cnm_detect_avx512()) {
            memset(out_simd, 0, sizeof(float) * (size_t)cout * hw);
            cnm_pointwise_f32_avx512(&pa);
            double d3 = rel_diff(out_simd, ref, (size_t)cout * hw);
            CHECK(d3 < 1e-5, "pointwise avx512 vs composition: G=%d cin_g=%d cout_g=%d hw=%d mode=%d: rel diff %.3g",
                  G, cin_g, cout_g, hw, mode, d3);
            fp32_avx512_tested |= 1;
        }
        free(in); free(w); free(bias); free(ps); free(pb); free(qs); free(qb); free(idx); free(sh); free(inv);
        free(t1); free(t2); free(ref); free(scratch); free(out_ref); free(out_simd);
        cases++;
    }
}

/* Values every quantiser must map exactly as the reference does (NaN to the code of the lower
 * clamp, infinities and huge values to the ends, -0), at positions that move with `salt` */
static void add_specials(float *x, size_t n, int salt) {
    const float sp[] = {NAN, INFINITY, -INFINITY, 3e38f, -3e38f, 1e10f, -1e10f, -0.0f};
    for (size_t k = 0; k < sizeof sp / sizeof sp[0] && n > 8; k++) x[((size_t)salt * 7 + k * 5) % n] = sp[k];
}

/* int8 pointwise: the SIMD kernel bit-exact with the scalar one, and both with the generic
 * int8 conv reference (no pre/post ops) */
static void test_pointwise_q8(void) {
    const int cins[] = {1, 2, 3, 8, 13, 37}, couts[] = {1, 2, 3, 4, 5, 9}, groups[] = {1, 2, 4, 8};
    const int hws[] = {1, 7, 49, 64, 65, 200};
    int cases = 0;
    for (int a = 0; a < 6; a++) for (int b = 0; b < 6; b++) for (int g = 0; g < 4; g++) for (int h = 0; h < 6; h++) {
        if ((a + b + g + h) % 3) continue;
        const int G = groups[g], cin_g = cins[a], cout_g = couts[b], hw = hws[h];
        const int cin = G * cin_g, cout = G * cout_g, zp = (cases % 4 == 3) ? 77 : 0;
        float *in = rand_buf((size_t)cin * hw), *bias = rand_buf(cout), *mult = rand_buf(cout);
        float *ps = rand_buf(cin), *pb = rand_buf(cin), *qs = rand_buf(cout), *qb = rand_buf(cout);
        for (int i = 0; i < cin * hw; i++) in[i] *= 3.0f; /* some values clip at both ends */
        add_specials(in, (size_t)cin * hw, cases);
        int8_t *wq = malloc((size_t)cout * cin_g);
        for (int i = 0; i < cout * cin_g; i++) wq[i] = (int8_t)((int)(frand() * 127.0f));
        if (cases % 5 == 0) wq[0] = 127, wq[cout * cin_g - 1] = -127; /* the extremes */
        int32_t *pairs = malloc(sizeof(int32_t) * cnm_q8_pairs_elems(cout, cin_g, 1));
        cnm_q8_pack_pairs(wq, cout, cin_g, 1, pairs);
        int8_t *wdot = malloc(cnm_q8_dot_bytes(G, cout_g, cin_g, 1));
        int32_t *wsum = malloc(sizeof(int32_t) * cout);
        cnm_q8_pack_dot(wq, G, cout_g, cin_g, 1, wdot, wsum);
        const int use_pre = cases % 2, use_post = (cases / 2) % 2;
        int16_t *panel = malloc(sizeof(int16_t) * cnm_q8_panel_elems(cin_g));
        float *o1 = calloc((size_t)cout * hw, sizeof(float)), *o2 = calloc((size_t)cout * hw, sizeof(float));
        cnm_q8_args q = {.pw = {.in = in, .hw = hw, .pre_scale = use_pre ? ps : NULL, .pre_shift = use_pre ? pb : NULL,
                                .pre_relu = use_pre, .cin_g = cin_g, .cout = cout, .groups = G, .bias = bias,
                                .post_scale = use_post ? qs : NULL, .post_shift = use_post ? qb : NULL, .post_relu = use_post,
                                .out = o1},
                         .wq = wq, .wpairs = pairs, .wdot = wdot, .wsum = wsum, .mult = mult, .inv_scale = 1.0f / 0.05f,
                         .zp = zp, .panel = panel};
        for (int i = 0; i < cout; i++) mult[i] = fabsf(mult[i]) * 0.01f;
        cnm_pointwise_q8_ref(&q);
        /* every SIMD path this processor runs: AVX2 and (with AVX-VNNI) vpdpbusd, or NEON and (with dotprod) sdot */
        for (int path = 0; path < 3; path++) {
            memset(o2, 0, sizeof(float) * cout * hw);
            q.pw.out = o2;
            const char *name = "scalar";
#if defined(__aarch64__)
            if (path == 0 && isa >= CNM_ISA_NEON) cnm_pointwise_q8_neon(&q), name = "neon";
            else if (path == 1 && isa == CNM_ISA_NEON_DOT) cnm_pointwise_q8_neondot(&q), name = "neon+dotprod";
            else continue;
#else
            if (path == 0 && isa == CNM_ISA_AVX2) cnm_pointwise_q8_avx2(&q), name = "avx2";
            else if (path == 0) cnm_pointwise_q8_ref(&q);
#if defined(__x86_64__)
            else if (path == 1 && cnm_detect_vnni()) cnm_pointwise_q8_avxvnni(&q), name = "avx-vnni";
            else if (path == 2 && cnm_detect_avx512vnni()) cnm_pointwise_q8_avx512vnni(&q), name = "avx512-vnni";
#endif
            else continue;
#endif
            CHECK(memcmp(o1, o2, sizeof(float) * cout * hw) == 0,
                  "pointwise int8 %s not bit-exact: G=%d cin_g=%d cout_g=%d hw=%d zp=%d", name, G, cin_g, cout_g, hw, zp);
            if (strcmp(name, "scalar")) q8_paths_tested |= path == 2 ? 1u << 8 : 1u << (path + (isa == CNM_ISA_AVX2 ? 2 : 0));
        }
        q.pw.out = o1;
        if (!use_pre && !use_post) {
            float *o3 = calloc((size_t)cout * hw, sizeof(float));
            cnm_conv_shape s = {.cin = cin, .ih = 1, .iw = hw, .cout = cout, .oh = 1, .ow = hw, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .groups = G};
            cnm_conv2d_q8_ref(&s, in, wq, mult, bias, 1.0f / 0.05f, zp, o3);
            CHECK(memcmp(o1, o3, sizeof(float) * cout * hw) == 0, "pointwise int8 vs generic int8 conv differ: G=%d cin_g=%d cout_g=%d hw=%d",
                  G, cin_g, cout_g, hw);
            free(o3);
        }
        free(in); free(bias); free(mult); free(ps); free(pb); free(qs); free(qb); free(wq); free(pairs); free(wdot); free(wsum); free(panel); free(o1); free(o2);
        cases++;
    }
}

/* int8 direct conv (KxK, stride 1 and 2): SIMD bit-exact with the reference */
static void test_direct_q8(void) {
    const int ks[] = {1, 3, 5}, hs[] = {1, 3, 7, 8, 17, 33}, groups[] = {1, 2, 4}, cs[] = {1, 3, 8, 5};
    for (int k = 0; k < 3; k++) for (int h = 0; h < 6; h++) for (int g = 0; g < 3; g++) for (int c = 0; c < 4; c++)
    for (int st = 1; st <= 2; st++) {
        if ((k + h + g + c + st) % 2) continue;
        const int K = ks[k], H = hs[h], W = hs[(h + 2) % 6], G = groups[g], cin_g = cs[c], zp = (h % 3 == 0) ? 100 : 0;
        const int cin = G * cin_g, cout = G * cs[(c + 1) % 4], pad = (K / 2 + h) % (K / 2 + 2);
        if (K > H + 2 * pad || K > W + 2 * pad) continue;
        cnm_conv_shape s = {.cin = cin, .ih = H, .iw = W, .cout = cout, .oh = (H + 2 * pad - K) / st + 1,
                            .ow = (W + 2 * pad - K) / st + 1, .kh = K, .kw = K, .sh = st, .sw = st, .ph = pad, .pw = pad,
                            .groups = G, .relu = (h & 1)};
        const int kk = K * K, cout_g = cout / G;
        float *in = rand_buf((size_t)cin * H * W), *bias = rand_buf(cout), *mult = rand_buf(cout);
        add_specials(in, (size_t)cin * H * W, k + h + c);
        for (int i = 0; i < cout; i++) mult[i] = fabsf(mult[i]) * 0.01f;
        int8_t *wq = malloc((size_t)cout * cin_g * kk);
        for (int i = 0; i < cout * cin_g * kk; i++) wq[i] = (int8_t)((int)(frand() * 127.0f));
        int32_t *pairs = malloc(sizeof(int32_t) * cnm_q8_pairs_elems(cout, cin_g, kk));
        cnm_q8_pack_pairs(wq, cout, cin_g, kk, pairs);
        int8_t *wdot = malloc(cnm_q8_dot_bytes(G, cout_g, cin_g, kk));
        int32_t *wsum = malloc(sizeof(int32_t) * cout);
        cnm_q8_pack_dot(wq, G, cout_g, cin_g, kk, wdot, wsum);
        size_t n = (size_t)cout * s.oh * s.ow;
        float *ref = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * n);
        int32_t *padbuf = malloc(sizeof(int32_t) * cnm_direct_q8_padded_elems(&s));
        const float *b = (h & 2) ? bias : NULL;
        cnm_conv2d_q8_ref(&s, in, wq, mult, b, 1.0f / 0.02f, zp, ref);
        for (int path = 0; path < 3; path++) {
            memset(out, 0, sizeof(float) * n);
            const char *name = "scalar";
#if defined(__aarch64__)
            if (path == 0 && isa >= CNM_ISA_NEON) cnm_conv2d_direct_q8_neon(&s, in, pairs, mult, b, 1.0f / 0.02f, zp, out, padbuf), name = "neon";
            else if (path == 1 && isa == CNM_ISA_NEON_DOT)
                cnm_conv2d_direct_q8_neondot(&s, in, wdot, wsum, mult, b, 1.0f / 0.02f, zp, out, padbuf), name = "neon+dotprod";
            else continue;
#elif defined(__x86_64__)
            if (path == 0 && isa == CNM_ISA_AVX2) cnm_conv2d_direct_q8_avx2(&s, in, pairs, mult, b, 1.0f / 0.02f, zp, out, padbuf), name = "avx2";
            else if (path == 0) cnm_conv2d_q8_ref(&s, in, wq, mult, b, 1.0f / 0.02f, zp, out);
            else if (path == 1 && cnm_detect_vnni())
                cnm_conv2d_direct_q8_avxvnni(&s, in, wdot, wsum, mult, b, 1.0f / 0.02f, zp, out, padbuf), name = "avx-vnni";
            else if (path == 2 && cnm_detect_avx512vnni())
                cnm_conv2d_direct_q8_avx512vnni(&s, in, wdot, wsum, mult, b, 1.0f / 0.02f, zp, out, padbuf), name = "avx512-vnni";
            else continue;
#else
            if (path == 0) cnm_conv2d_q8_ref(&s, in, wq, mult, b, 1.0f / 0.02f, zp, out);
            else continue;
#endif
            CHECK(memcmp(out, ref, sizeof(float) * n) == 0, "direct int8 %s not bit-exact: K=%d stride %d %dx%d pad %d G=%d cin_g=%d zp=%d",
                  name, K, st, H, W, pad, G, cin_g, zp);
            if (strcmp(name, "scalar")) q8_paths_tested |= path == 2 ? 1u << 9 : 1u << (4 + path + (isa == CNM_ISA_AVX2 ? 2 : 0));
        }
        free(in); free(bias); free(mult); free(wq); free(pairs); free(wdot); free(wsum); free(ref); free(out); free(padbuf);
    }
}

/* int8 model: bit-identical at every thread count and on the portable path */
static void test_model_q8(const char *path, const char *in_path, const char *ref_path) {
    cnm_error err;
    cnm_model *m = NULL;
    CHECK(cnm_model_load(path, &m, &err) == CNM_OK, "load %s: %s", path, err.message);
    if (!m) return;
    cnm_model_info info;
    cnm_model_get_info(m, &info);
    size_t nin = 0, nref = 0;
    float *x = read_npy(in_path, &nin), *ref = read_npy(ref_path, &nref);
    const size_t per = (size_t)info.input_c * info.input_h * info.input_w, k = info.num_classes;
    const size_t n = nin / per < max_images ? nin / per : max_images;
    float *y[5];
    for (int t = 0; t < 5; t++) {
        y[t] = NULL;
        if (quick && (t == 2 || t == 3)) continue; /* 3 and 4 threads: left to the native run */
        if (t == 4) setenv("CNM_ISA", "scalar", 1);
        cnm_context *c = NULL;
        cnm_context_create(m, t == 4 ? 2 : t + 1, &c, &err);
        y[t] = malloc(sizeof(float) * n * k);
        for (size_t i = 0; i < n; i++) cnm_context_run(c, x + i * per, per, y[t] + i * k, k, &err);
        if (t == 4) unsetenv("CNM_ISA");
        cnm_context_free(c);
    }
    for (int t = 1; t < 4; t++)
        if (y[t]) CHECK(memcmp(y[0], y[t], sizeof(float) * n * k) == 0, "int8 model: %d threads differ from 1 thread", t + 1);
    /* the int8 kernels are bit-exact across ISAs (kernel tests), but the model's fp32 kernels
     * (pooling, classifier) sum in another order on the portable path, and a last-bit difference
     * upstream can move a value across a rounding boundary of the next layer's quantisation */
    double ds = rel_diff(y[4], y[0], n * k);
    CHECK(ds < 1e-2, "int8 model: the scalar path differs by %.3g (relative)", ds);
    int agree = 0;
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        size_t a = 0, b = 0;
        for (size_t j = 1; j < k; j++) {
            if (y[0][i * k + j] > y[0][i * k + a]) a = j;
            if (ref[i * k + j] > ref[i * k + b]) b = j;
        }
        agree += a == b;
        for (size_t j = 0; j < k; j++) { double e = fabs((double)y[0][i * k + j] - ref[i * k + j]); if (e > d) d = e; }
    }
    CHECK(agree == (int)n && d < 0.25, "int8 model vs fp32 PyTorch logits: %d/%zu top-1 agree, max |diff| %.3g", agree, n, d);
    printf("int8 model %s: bit-identical at 1-%d threads, scalar path within %.1e; vs PyTorch fp32: %d/%zu top-1, max |diff| %.3f\n",
           path, quick ? 2 : 4, ds, agree, n, d);
    for (int t = 0; t < 5; t++) free(y[t]);
    free(x); free(ref);
    cnm_model_free(m);
}

/* direct KxK conv (stride 1 and 2) vs the reference conv */
static void test_direct(void) {
    const int ks[] = {1, 3, 5, 7}, hs[] = {1, 3, 7, 8, 17, 33}, groups[] = {1, 2, 4}, cs[] = {1, 3, 8, 2};
    for (int k = 0; k < 4; k++) for (int h = 0; h < 6; h++) for (int g = 0; g < 3; g++) for (int c = 0; c < 4; c++)
    for (int st = 1; st <= 2; st++) {
        if ((k + h + g + c + st) % 2) continue;
        const int K = ks[k], H = hs[h], W = hs[(h + 2) % 6], G = groups[g];
        const int cin = G * cs[c], cout = G * cs[(c + 1) % 4], pad = (K / 2 + h) % (K / 2 + 2);
        if (K > H + 2 * pad || K > W + 2 * pad) continue;
        cnm_conv_shape s = {.cin = cin, .ih = H, .iw = W, .cout = cout, .oh = (H + 2 * pad - K) / st + 1,
                            .ow = (W + 2 * pad - K) / st + 1, .kh = K, .kw = K, .sh = st, .sw = st, .ph = pad, .pw = pad,
                            .groups = G, .relu = (h & 1)};
        float *in = rand_buf((size_t)cin * H * W), *w = rand_buf((size_t)cout * cs[c] * K * K), *bias = rand_buf(cout);
        size_t n = (size_t)cout * s.oh * s.ow;
        float *ref = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * n);
        float *pad_buf = malloc(sizeof(float) * cnm_direct_padded_floats(&s));
        cnm_conv2d_f32_ref(&s, in, w, (h & 2) ? bias : NULL, ref);
        if (isa == CNM_ISA_AVX2) cnm_conv2d_direct_f32_avx2(&s, in, w, (h & 2) ? bias : NULL, out, pad_buf);
        else if (isa != CNM_ISA_SCALAR) cnm_conv2d_direct_f32_neon(&s, in, w, (h & 2) ? bias : NULL, out, pad_buf);
        else cnm_conv2d_f32_ref(&s, in, w, (h & 2) ? bias : NULL, out);
        double d = rel_diff(out, ref, n);
        CHECK(d < 1e-5, "direct %s K=%d stride %d %dx%d pad %d G=%d cin=%d cout=%d: rel diff %.3g", cnm_isa_name(isa), K, st, H, W, pad, G, cin, cout, d);
        if (cnm_detect_avx512()) {
            memset(out, 0, sizeof(float) * n);
            cnm_conv2d_direct_f32_avx512(&s, in, w, (h & 2) ? bias : NULL, out, pad_buf);
            d = rel_diff(out, ref, n);
            CHECK(d < 1e-5, "direct avx512 K=%d stride %d %dx%d pad %d G=%d cin=%d cout=%d: rel diff %.3g", K, st, H, W, pad, G, cin, cout, d);
            fp32_avx512_tested |= 2;
        }
        free(in); free(w); free(bias); free(ref); free(out); free(pad_buf);
    }
}

/* 2x2 stride-2 average pool (and a generic window) vs the reference */
/* max pool 3x3 stride 2 pad 1 (the DenseNet/ResNet stem) on a 4x4 ramp, worked out by hand:
 * padding must never win, also when every input is negative */
static void test_maxpool(void) {
    float up[16], down[16], y[4];
    for (int i = 0; i < 16; i++) up[i] = (float)i, down[i] = (float)-i;
    const float want_up[4] = {5, 7, 13, 15}, want_down[4] = {0, -1, -4, -5};
    cnm_maxpool_f32_ref(up, 1, 4, 4, y, 2, 2, 3, 3, 2, 2, 1, 1, 0);
    CHECK(!memcmp(y, want_up, sizeof y), "maxpool ramp: %g %g %g %g", y[0], y[1], y[2], y[3]);
    cnm_maxpool_f32_ref(down, 1, 4, 4, y, 2, 2, 3, 3, 2, 2, 1, 1, 0);
    CHECK(!memcmp(y, want_down, sizeof y), "maxpool negative ramp: %g %g %g %g", y[0], y[1], y[2], y[3]);
    cnm_maxpool_f32_ref(down, 1, 4, 4, y, 2, 2, 3, 3, 2, 2, 1, 1, 1);
    CHECK(y[0] == 0 && y[3] == 0, "maxpool + relu: %g %g", y[0], y[3]);
    down[0] = NAN; /* only in the first window */
    cnm_maxpool_f32_ref(down, 1, 4, 4, y, 2, 2, 3, 3, 2, 2, 1, 1, 0);
    CHECK(isnan(y[0]) && y[1] == -1 && y[2] == -4 && y[3] == -5, "maxpool NaN: %g %g %g %g", y[0], y[1], y[2], y[3]);
}

/* add and LRN against values worked out by hand; max pool in ceil mode (GoogLeNet): a 4x4 ramp,
 * 3x3 stride 2 without padding gives 2x2 windows starting at 0 and 2, the second clipped to 2 rows */
static void test_generic_ops(void) {
    const float a[4] = {1, -2, 3, -4}, b[4] = {0.5f, 1, -5, 4};
    float y[4];
    cnm_add_f32_ref(a, b, y, 4, 0);
    CHECK(y[0] == 1.5f && y[1] == -1 && y[2] == -2 && y[3] == 0, "add: %g %g %g %g", y[0], y[1], y[2], y[3]);
    cnm_add_f32_ref(a, b, y, 4, 1);
    CHECK(y[0] == 1.5f && y[1] == 0 && y[2] == 0 && y[3] == 0, "add + relu: %g %g %g %g", y[0], y[1], y[2], y[3]);
    /* LRN, 4 channels of one pixel, size 3 (window c-1..c+1), alpha 3 (alpha/size = 1), beta 0.5, bias 1:
     * x = 1,2,2,0: sums of squares 5, 9, 8, 4 -> y = 1/sqrt(6), 2/sqrt(10), 2/3, 0 */
    const float x[4] = {1, 2, 2, 0};
    cnm_lrn_f32_ref(x, y, 4, 1, 3, 3.0f, 0.5f, 1.0f, 0);
    const float want[4] = {1 / sqrtf(6), 2 / sqrtf(10), 2.0f / 3, 0};
    int ok = 1;
    for (int i = 0; i < 4; i++) ok &= fabsf(y[i] - want[i]) < 1e-6f;
    CHECK(ok, "lrn: %g %g %g %g", y[0], y[1], y[2], y[3]);
    /* size 4 (even): window c-1..c+2, as ONNX defines it: sums 9, 9, 8, 4 */
    cnm_lrn_f32_ref(x, y, 4, 1, 4, 4.0f, 1.0f, 1.0f, 0);
    CHECK(fabsf(y[0] - 0.1f) < 1e-6f && fabsf(y[1] - 0.2f) < 1e-6f && fabsf(y[2] - 2.0f / 9) < 1e-6f && y[3] == 0,
          "lrn even size: %g %g %g %g", y[0], y[1], y[2], y[3]);
    float ramp[16];
    for (int i = 0; i < 16; i++) ramp[i] = (float)i;
    cnm_maxpool_f32_ref(ramp, 1, 4, 4, y, 2, 2, 3, 3, 2, 2, 0, 0, 0);
    CHECK(y[0] == 10 && y[1] == 11 && y[2] == 14 && y[3] == 15, "maxpool ceil mode: %g %g %g %g", y[0], y[1], y[2], y[3]);
}

static void test_pool(void) {
    const int sizes[] = {2, 3, 7, 8, 16, 17, 32, 33};
    for (int a = 0; a < 8; a++) for (int b = 0; b < 8; b++) {
        /* windows 2x2/2 and 3x3/1, and (a + b odd: every other shape) the global pool */
        const int global = (a + b) % 2, H = sizes[a], W = sizes[b], C = 3 + a;
        const int kh = global ? H : (a + b) % 5 == 4 ? 3 : 2, kw = global ? W : kh, st = kh == 3 && !global ? 1 : 2;
        if (kh > H || kw > W) continue;
        const int oh = (H - kh) / st + 1, ow = (W - kw) / st + 1;
        float *in = rand_buf((size_t)C * H * W), *ref = malloc(sizeof(float) * C * oh * ow), *out = malloc(sizeof(float) * C * oh * ow);
        cnm_avgpool_f32_ref(in, C, H, W, ref, oh, ow, kh, kw, st, st, 0, 0, b & 1);
        if (isa == CNM_ISA_AVX2) cnm_avgpool_f32_avx2(in, C, H, W, out, oh, ow, kh, kw, st, st, 0, 0, b & 1);
        else cnm_avgpool_f32_ref(in, C, H, W, out, oh, ow, kh, kw, st, st, 0, 0, b & 1);
        double d = rel_diff(out, ref, (size_t)C * oh * ow);
        CHECK(d < 1e-6, "avgpool %s %dx%d k=%dx%d s=%d: rel diff %.3g", cnm_isa_name(isa), H, W, kh, kw, st, d);
        free(in); free(ref); free(out);
    }
}

/* linear with and without an input index vs the reference */
static void test_linear(void) {
    const int ns[] = {1, 3, 10, 33}, ks[] = {1, 7, 8, 31, 32, 33, 100, 1032};
    for (int a = 0; a < 4; a++) for (int b = 0; b < 8; b++) for (int gi = 0; gi < 2; gi++) {
        const int N = ns[a], K = ks[b], F = K + 11;
        float *x = rand_buf(F), *w = rand_buf((size_t)N * K), *bias = rand_buf(N), *packed = malloc(sizeof(float) * K);
        int32_t *idx = malloc(sizeof(int32_t) * K);
        for (int j = 0; j < K; j++) idx[j] = (j * 5 + 2) % F;
        float *ref = malloc(sizeof(float) * N), *out = malloc(sizeof(float) * N);
        cnm_linear_f32_ref(x, w, bias, gi ? idx : NULL, ref, N, K, a & 1);
        if (isa == CNM_ISA_AVX2) cnm_linear_f32_avx2(x, w, bias, gi ? idx : NULL, out, N, K, a & 1, packed);
        else if (isa != CNM_ISA_SCALAR) cnm_linear_f32_neon(x, w, bias, gi ? idx : NULL, out, N, K, a & 1, packed);
        else cnm_linear_f32_ref(x, w, bias, gi ? idx : NULL, out, N, K, a & 1);
        double d = rel_diff(out, ref, N);
        CHECK(d < 1e-5, "linear %s N=%d K=%d index=%d: rel diff %.3g", cnm_isa_name(isa), N, K, gi, d);
        free(x); free(w); free(bias); free(packed); free(idx); free(ref); free(out);
    }
}

/* minimal float32 .npy reader for the fixtures */
static float *read_npy(const char *path, size_t *count) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char h[10];
    if (fread(h, 1, 10, f) != 10 || memcmp(h, "\x93NUMPY", 6) != 0) { fclose(f); return NULL; }
    size_t hl = (size_t)h[8] | (size_t)h[9] << 8;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    size_t n = ((size_t)size - 10 - hl) / 4;
    float *p = malloc(n * sizeof(float));
    fseek(f, (long)(10 + hl), SEEK_SET);
    if (fread(p, sizeof(float), n, f) != n) { free(p); p = NULL; }
    fclose(f);
    *count = n;
    return p;
}

/* One model shared by several contexts on several threads: every result must equal the
 * single-threaded one, bit for bit (the thread-safety contract of cnm.h). */
typedef struct {
    const cnm_model *m;
    const float *x, *ref;
    size_t per, classes, images;
    int iterations, mismatches, errors;
} worker_args;

static void *worker(void *p) {
    worker_args *a = p;
    cnm_error err;
    cnm_context *c = NULL;
    if (cnm_context_create(a->m, 1, &c, &err) != CNM_OK) { a->errors++; return NULL; }
    float *y = malloc(sizeof(float) * a->classes);
    for (int it = 0; it < a->iterations; it++) {
        size_t i = (size_t)it % a->images;
        if (cnm_context_run(c, a->x + i * a->per, a->per, y, a->classes, &err) != CNM_OK) a->errors++;
        else if (memcmp(y, a->ref + i * a->classes, sizeof(float) * a->classes) != 0) a->mismatches++;
    }
    free(y);
    cnm_context_free(c);
    return NULL;
}

static int concurrency_runs = 10000;

static void test_concurrency(const cnm_model *m, const float *x, const float *y1, size_t per, size_t classes, size_t images) {
    enum { T = 4 };
    pthread_t th[T];
    worker_args a[T];
    for (int t = 0; t < T; t++) {
        a[t] = (worker_args){.m = m, .x = x, .ref = y1, .per = per, .classes = classes, .images = images,
                             .iterations = concurrency_runs / T};
        pthread_create(&th[t], NULL, worker, &a[t]);
    }
    int mism = 0, errs = 0;
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        mism += a[t].mismatches;
        errs += a[t].errors;
    }
    CHECK(mism == 0 && errs == 0, "%d inferences on %d threads sharing one model: %d differ from the single-threaded results, %d errors",
          concurrency_runs, T, mism, errs);
    printf("concurrency: %d inferences on %d threads sharing one model, %d mismatches\n", concurrency_runs, T, mism);
}

static void test_model(const char *model_path, const char *in_path, const char *ref_path) {
    cnm_error err;
    cnm_model *m = NULL;
    cnm_status st = cnm_model_load(model_path, &m, &err);
    CHECK(st == CNM_OK, "load %s: %s", model_path, err.message);
    if (st != CNM_OK) return;
    cnm_model_info info;
    cnm_model_get_info(m, &info);
    size_t nin = 0, nref = 0;
    float *x = read_npy(in_path, &nin), *ref = read_npy(ref_path, &nref);
    CHECK(x && ref, "read fixtures %s, %s", in_path, ref_path);
    if (!x || !ref) { cnm_model_free(m); return; }
    const size_t per = (size_t)info.input_c * info.input_h * info.input_w;
    size_t n = nin / per;
    if (n > max_images) { /* compare only the first images' logits */
        n = max_images;
        nref = n * info.num_classes;
    }
    float *y1 = malloc(sizeof(float) * nref), *y2 = malloc(sizeof(float) * nref);
    cnm_context *c1 = NULL, *c2 = NULL;
    CHECK(cnm_context_create(m, 1, &c1, &err) == CNM_OK && cnm_context_create(m, 2, &c2, &err) == CNM_OK, "context: %s", err.message);
    for (size_t i = 0; i < n; i++) {
        cnm_context_run(c1, x + i * per, per, y1 + i * info.num_classes, info.num_classes, &err);
        cnm_context_run(c2, x + i * per, per, y2 + i * info.num_classes, info.num_classes, &err);
    }
    double d = 0;
    for (size_t i = 0; i < nref; i++) { /* (written out: gcc 12 for aarch64 ICEs vectorising fmax here) */
        double e = fabs((double)y1[i] - ref[i]);
        if (e > d || e != e) d = e;
    }
    CHECK(d < 1e-4, "model %s (%s): max |logit - PyTorch| = %.3g", model_path, cnm_context_isa(c1), d);
    CHECK(memcmp(y1, y2, sizeof(float) * nref) == 0, "model %s: 1 and 2 threads differ", model_path);
#ifdef CNM_COUNT_ALLOCS
    if (!quick) { /* zero heap calls inside an inference (the contexts are warm: OpenMP's team exists) */
        long before = alloc_calls;
        /* (each context in a row: libgomp itself reallocates its team when consecutive
         * parallel regions change size, which a static aarch64 link makes visible here) */
        for (int r = 0; r < 20; r++) cnm_context_run(c2, x, per, y2, info.num_classes, &err);
        for (int r = 0; r < 20; r++) cnm_context_run(c1, x, per, y2, info.num_classes, &err);
        long calls = alloc_calls - before;
        long probe = alloc_calls; /* the counter itself works: creating a context allocates */
        cnm_context *tmp = NULL;
        cnm_context_create(m, 1, &tmp, &err);
        cnm_context_free(tmp);
        CHECK(alloc_calls > probe, "allocation counter did not see cnm_context_create");
        CHECK(calls == 0, "model %s: %ld heap calls in 40 inferences", model_path, calls);
        printf("allocations: %ld heap calls (malloc/calloc/realloc/aligned_alloc/free) in 40 inferences\n", calls);
    }
#endif
    for (int t = 3; t <= 4 && !quick; t++) { /* determinism: bit-identical for every thread count */
        cnm_context *ct = NULL;
        CHECK(cnm_context_create(m, t, &ct, &err) == CNM_OK, "context: %s", err.message);
        int same = 1;
        for (size_t i = 0; ct && i < n; i++) {
            cnm_context_run(ct, x + i * per, per, y2 + i * info.num_classes, info.num_classes, &err);
            same &= memcmp(y1 + i * info.num_classes, y2 + i * info.num_classes, sizeof(float) * info.num_classes) == 0;
        }
        CHECK(same, "model %s: %d threads differ from 1 thread", model_path, t);
        cnm_context_free(ct);
    }
    if (concurrency_runs > 0) test_concurrency(m, x, y1, per, info.num_classes, n);
    printf("model %s: %zu images, kernels %s, max |logit - PyTorch| = %.2e\n", model_path, n, cnm_context_isa(c1), d);
    /* a truncated copy is rejected with a message naming the problem */
    cnm_model *bad = NULL;
    FILE *f = fopen(model_path, "rb");
    unsigned char *bytes = malloc(info.file_size);
    if (f && fread(bytes, 1, info.file_size, f) == info.file_size) {
        st = cnm_model_load_memory(bytes, info.file_size / 2, "half.cnm", 0, &bad, &err);
        CHECK(st == CNM_ERR_TRUNCATED && strstr(err.message, "half.cnm: truncated"), "truncated model: %d %s", st, err.message);
        bytes[info.file_size / 2] ^= 1;
        st = cnm_model_load_memory(bytes, info.file_size, "flip.cnm", 0, &bad, &err);
        CHECK(st == CNM_ERR_CHECKSUM, "flipped byte: %d %s", st, err.message);
    }
    if (f) fclose(f);
    free(bytes);
    cnm_context_free(c1);
    cnm_context_free(c2);
    cnm_model_free(m);
    free(x); free(ref); free(y1); free(y2);
}

int main(int argc, char **argv) {
    int model_only = 0;
    while (argc > 1 && argv[1][0] == '-' && argv[1][1] == '-') {
        if (!strcmp(argv[1], "--model-only")) model_only = 1;           /* e.g. under valgrind */
        else if (!strcmp(argv[1], "--quick")) quick = 1;
        else if (!strncmp(argv[1], "--concurrency=", 14)) concurrency_runs = atoi(argv[1] + 14);
        else if (!strncmp(argv[1], "--images=", 9)) max_images = (size_t)atoi(argv[1] + 9);
        argv++;
        argc--;
    }
    isa = cnm_detect_isa();
    printf("kernels under test: %s (reference: scalar)\n", cnm_isa_name(isa));
    if (!model_only) {
        test_pointwise();
        test_direct();
        test_pool();
        test_maxpool();
        test_generic_ops();
        test_linear();
        test_pointwise_q8();
        test_direct_q8();
        static const char *const names[] = {"pointwise neon", "pointwise neon+dotprod", "pointwise avx2", "pointwise avx-vnni",
                                             "direct neon", "direct neon+dotprod", "direct avx2", "direct avx-vnni", "pointwise avx512-vnni", "direct avx512-vnni"};
        printf("int8 SIMD kernels checked bit-exact against the scalar reference:");
        for (int i = 0; i < 10; i++)
            if (q8_paths_tested & (1u << i)) printf(" [%s]", names[i]);
        printf("%s\n", q8_paths_tested ? "" : " none (scalar only)");
        printf("fp32 AVX-512 kernels checked against the reference: %s%s\n",
               fp32_avx512_tested & 1 ? "[pointwise avx512] " : "", fp32_avx512_tested & 2 ? "[direct avx512]" : fp32_avx512_tested ? "" : "none (the CPU has no AVX-512F)");
    }
    if (argc >= 4) test_model(argv[1], argv[2], argv[3]);
    if (argc >= 5) test_model_q8(argv[4], argv[2], argv[3]);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
