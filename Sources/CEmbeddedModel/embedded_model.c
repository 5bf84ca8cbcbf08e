/* Embeds models/condensenet86-cifar10-int8.cnm (the default model) into the binary with the assembler's .incbin, 64-byte
 * aligned so the runtime can use it in place, exactly like a mapped file.
 * The path comes from Package.swift (EDGE_DEFAULT_MODEL_PATH). */
#include "embedded_model.h"

#ifndef EDGE_DEFAULT_MODEL_PATH
#error "EDGE_DEFAULT_MODEL_PATH must name the default .cnm file"
#endif

__asm__(".section .rodata\n"
        ".balign 64\n"
        "edge_default_model_begin:\n"
        ".incbin \"" EDGE_DEFAULT_MODEL_PATH "\"\n"
        "edge_default_model_end:\n"
        ".byte 0\n"
        ".previous\n");

extern const unsigned char edge_default_model_begin[];
extern const unsigned char edge_default_model_end[];

const unsigned char *edge_default_model_data(void) { return edge_default_model_begin; }
size_t edge_default_model_size(void) { return (size_t)(edge_default_model_end - edge_default_model_begin); }
