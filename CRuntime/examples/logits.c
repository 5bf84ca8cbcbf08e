/* Run a .cnm model on every input of a .npy and write the logits as a .npy, for checking a board
 * (or qemu) against a reference run elsewhere (tools/arm/fp16_accuracy.py):
 *   logits MODEL.cnm INPUTS.npy OUT.npy [fp16]
 * INPUTS: float32 (N, C, H, W), already normalised; OUT: float32 (N, classes). With `fp16` the
 * model is loaded with CNM_LOAD_FP16. One thread. */
#include "cnm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    void *b = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        const long n = ftell(f);
        if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)n)) && fread(b, 1, (size_t)n, f) != (size_t)n) {
            free(b);
            b = NULL;
        }
        *size = n > 0 ? (size_t)n : 0;
    }
    fclose(f);
    return b;
}

int main(int argc, char **argv) {
    const int fp16 = argc == 5 && !strcmp(argv[4], "fp16");
    if (argc < 4 || argc > 5 || (argc == 5 && !fp16)) {
        fprintf(stderr, "usage: %s MODEL.cnm INPUTS.npy OUT.npy [fp16]\n", argv[0]);
        return 2;
    }
    cnm_error err;
    cnm_model *model = NULL;
    cnm_context *ctx = NULL;
    cnm_npy x = {0};
    size_t size = 0;
    void *bytes = read_file(argv[2], &size);
    if (!bytes) {
        fprintf(stderr, "logits: error: %s: cannot read the file\n", argv[2]);
        return 1;
    }
    int rc = 1;
    float *y = NULL;
    FILE *out = NULL;
    if (cnm_npy_parse(bytes, size, argv[2], &x, &err) != CNM_OK ||
        cnm_model_load_file(argv[1], fp16 ? CNM_LOAD_FP16 : 0, &model, &err) != CNM_OK ||
        cnm_context_create(model, 1, &ctx, &err) != CNM_OK) {
        fprintf(stderr, "logits: error: %s\n", err.message);
        goto done;
    }
    cnm_model_info info;
    cnm_model_get_info(model, &info);
    const size_t per = (size_t)info.input_c * info.input_h * info.input_w, k = info.num_classes;
    if (x.ndim != 4 || x.count % per || x.count / per != x.shape[0]) {
        fprintf(stderr, "logits: error: %s: not (N, %u, %u, %u) inputs\n", argv[2], info.input_c, info.input_h, info.input_w);
        goto done;
    }
    const size_t n = (size_t)x.shape[0];
    if (!(y = malloc(sizeof(float) * (n ? n : 1) * k))) {
        fprintf(stderr, "logits: error: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (cnm_context_run(ctx, x.data + i * per, per, y + i * k, k, &err) != CNM_OK) {
            fprintf(stderr, "logits: error: %s\n", err.message);
            goto done;
        }
    char header[128];
    int h = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", n, k);
    while ((h + 11) % 64) header[h++] = ' ';
    header[h++] = '\n';
    const unsigned char magic[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(h & 0xFF), (unsigned char)(h >> 8)};
    if (!(out = fopen(argv[3], "wb")) || fwrite(magic, 1, 10, out) != 10 || fwrite(header, 1, (size_t)h, out) != (size_t)h ||
        fwrite(y, sizeof(float), n * k, out) != n * k) {
        fprintf(stderr, "logits: error: %s: cannot write the file\n", argv[3]);
        goto done;
    }
    printf("logits: %s, kernels %s, %zu inputs -> %s\n", argv[1], cnm_context_isa(ctx), n, argv[3]);
    rc = 0;
done:
    if (out && fclose(out) && rc == 0) rc = 1;
    free(y);
    free(bytes);
    cnm_npy_free(&x);
    cnm_context_free(ctx);
    cnm_model_free(model);
    return rc;
}
