/* JPEG and PNG decoding into cnm_image through Debian's libjpeg-turbo and libpng.
 * Kept out of CRuntime so that the C core builds on boards without these libraries. */
#ifndef EDGE_IMAGE_IO_H
#define EDGE_IMAGE_IO_H
#include "cnm.h"

/* Decode a JPEG (baseline or progressive; grey, RGB or CMYK -> RGB/grey) or PNG (any bit
 * depth, palette, alpha dropped). Sizes are checked against CNM_MAX_IMAGE_PIXELS before any
 * pixel memory is allocated. Returns CNM_OK or CNM_ERR_IMAGE with err->message naming `name`. */
cnm_status edge_decode_jpeg(const void *data, size_t size, const char *name, cnm_image *out, cnm_error *err);
cnm_status edge_decode_png(const void *data, size_t size, const char *name, cnm_image *out, cnm_error *err);
/* Decompress a gzip stream (zlib) into a malloc'd buffer of at most `limit` bytes. */
cnm_status edge_gunzip(const void *data, size_t size, const char *name, size_t limit, uint8_t **out, size_t *out_size,
                       cnm_error *err);
#endif
