/* Classify a PPM/PGM image with a .cnm model using only the C runtime:
 *   classify MODEL.cnm IMAGE.ppm [THREADS]
 * prints the top-5 classes like `edge-infer IMAGE --model MODEL`. */
#include "cnm.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.cnm IMAGE.ppm [THREADS]\n", argv[0]);
        return 2;
    }
    cnm_error err;
    cnm_model *model = NULL;
    cnm_context *ctx = NULL;
    cnm_image img = {0};
    if (cnm_model_load(argv[1], &model, &err) != CNM_OK || cnm_image_load_pnm(argv[2], &img, &err) != CNM_OK ||
        cnm_context_create(model, argc > 3 ? atoi(argv[3]) : 0, &ctx, &err) != CNM_OK) {
        fprintf(stderr, "classify: error: %s\n", err.message);
        cnm_image_free(&img);
        cnm_model_free(model);
        return 1;
    }
    cnm_model_info info;
    cnm_model_get_info(model, &info);
    size_t n_in = (size_t)info.input_c * info.input_h * info.input_w;
    float *input = malloc(sizeof(float) * n_in), *logits = malloc(sizeof(float) * info.num_classes),
          *probs = malloc(sizeof(float) * info.num_classes);
    int rc = 0;
    if (!input || !logits || !probs) {
        fprintf(stderr, "classify: error: out of memory\n");
        rc = 1;
    } else if (cnm_image_to_input(model, &img, input, n_in, &err) != CNM_OK ||
               cnm_context_run(ctx, input, n_in, logits, info.num_classes, &err) != CNM_OK) {
        fprintf(stderr, "classify: error: %s\n", err.message);
        rc = 1;
    } else {
        cnm_softmax(logits, probs, info.num_classes);
        for (int k = 0; k < 5 && k < (int)info.num_classes; k++) { /* top-5 by selection; ties: lower index */
            uint32_t best = 0;
            for (uint32_t i = 1; i < info.num_classes; i++)
                if (probs[i] > probs[best]) best = i;
            printf("%6.2f%%  %s\n", 100.0 * probs[best], cnm_model_label(model, best));
            probs[best] = -1.0f;
        }
    }
    free(input);
    free(logits);
    free(probs);
    cnm_image_free(&img);
    cnm_context_free(ctx);
    cnm_model_free(model);
    return rc;
}
