#ifndef EDGE_EMBEDDED_MODEL_H
#define EDGE_EMBEDDED_MODEL_H
#include <stddef.h>
/* The default .cnm model, compiled into the binary (64-byte aligned, read-only). */
const unsigned char *edge_default_model_data(void);
size_t edge_default_model_size(void);
#endif
