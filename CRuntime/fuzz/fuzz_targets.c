/* libFuzzer targets for everything the runtime parses from outside:
 *   FUZZ_CNM   the .cnm loader and validator (and one inference when a model loads)
 *   FUZZ_PNM   the PPM/PGM decoder (and resizing the result)
 *   FUZZ_NPY   the .npy parser
 * Built by `make -C CRuntime fuzz` with clang -fsanitize=fuzzer,address,undefined. */
#include "cnm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cnm_error err;
#if defined(FUZZ_CNM)
    cnm_model *m = NULL;
    if (cnm_model_load_memory(data, size, "fuzz.cnm", 0, &m, &err) == CNM_OK) {
        cnm_model_info info;
        cnm_model_get_info(m, &info);
        cnm_context *c = NULL;
        /* run only models whose work is small, so the fuzzer explores parsing, not compute */
        if (info.macs < 2000000 && cnm_context_create(m, 1, &c, &err) == CNM_OK) {
            size_t n = (size_t)info.input_c * info.input_h * info.input_w;
            float *x = calloc(n, sizeof(float)), *y = calloc(info.num_classes, sizeof(float));
            if (x && y) cnm_context_run(c, x, n, y, info.num_classes, &err);
            free(x);
            free(y);
            cnm_context_free(c);
        }
        cnm_model_free(m);
    }
#elif defined(FUZZ_PNM)
    cnm_image img;
    if (cnm_image_decode_pnm(data, size, "fuzz.ppm", &img, &err) == CNM_OK) {
        cnm_image small;
        if (cnm_image_resize(&img, 7, 5, &small, &err) == CNM_OK) cnm_image_free(&small);
        cnm_image_free(&img);
    }
#elif defined(FUZZ_NPY)
    cnm_npy a;
    if (cnm_npy_parse(data, size, "fuzz.npy", &a, &err) == CNM_OK) cnm_npy_free(&a);
#else
#error "define FUZZ_CNM, FUZZ_PNM or FUZZ_NPY"
#endif
    return 0;
}
