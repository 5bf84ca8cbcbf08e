/* JPEG and PNG decoding into cnm_image through Debian's libjpeg-turbo and libpng.
 * Kept out of CRuntime so that the C core builds on boards without these libraries. */
#ifndef EDGE_IMAGE_IO_H
#define EDGE_IMAGE_IO_H
#include "cnm.h"

/* The decoded pixels of one image at most (a 6000x4000 RGB photo is 72 MB), and libjpeg's own
 * working memory: with the file's bytes and the process, decoding stays under 256 MB of RSS. */
#define EDGE_IMAGE_MAX_BYTES ((uint64_t)96 << 20)
#define EDGE_JPEG_MAX_WORK_BYTES (96L << 20)

/* Decode a JPEG (baseline or progressive; grey, RGB or CMYK -> RGB/grey) at the smallest DCT
 * scale n/8 whose output is at least min_w x min_h (0, 0: full size), or a PNG (any bit depth,
 * palette, alpha composited on black). Sizes are checked against CNM_MAX_IMAGE_PIXELS and
 * EDGE_IMAGE_MAX_BYTES before pixel memory is allocated; JPEG rows are allocated as decoded.
 * Returns CNM_OK or CNM_ERR_IMAGE with err->message naming `name`. */
cnm_status edge_decode_jpeg(const void *data, size_t size, const char *name, uint32_t min_w, uint32_t min_h, cnm_image *out,
                            cnm_error *err);
cnm_status edge_decode_png(const void *data, size_t size, const char *name, cnm_image *out, cnm_error *err);
/* Any of them, recognised by its first bytes: JPEG (through edge_decode_jpeg, min_w x min_h), PNG,
 * binary PPM/PGM (cnm_image_decode_pnm); a plain P2/P3 or anything else is CNM_ERR_IMAGE. The one
 * place the formats are told apart (the Swift Image and the Python package both call it). */
cnm_status edge_decode_image(const void *data, size_t size, const char *name, uint32_t min_w, uint32_t min_h,
                             cnm_image *out, cnm_error *err);
/* Decompress a gzip stream (zlib) into a malloc'd buffer of at most `limit` bytes. */
cnm_status edge_gunzip(const void *data, size_t size, const char *name, size_t limit, uint8_t **out, size_t *out_size,
                       cnm_error *err);
#endif
