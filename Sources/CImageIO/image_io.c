/* JPEG (libjpeg-turbo, with a longjmp error manager so a corrupt file never exits the
 * process) and PNG (libpng's simplified API) decoding into cnm_image, within a memory budget:
 * JPEGs are decoded through the DCT scaling to the smallest size at least the model's input, their
 * rows allocated as the data arrives and the decoder's own memory capped; a PNG's decoded size is
 * checked against the budget before its pixels are allocated. */
#include "image_io.h"

#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <zlib.h>

static cnm_status fail(cnm_error *err, const char *name, const char *fmt, const char *detail) {
    if (err) {
        char what[256];
        snprintf(what, sizeof what, fmt, detail);
        snprintf(err->message, sizeof err->message, "%s: %s", name, what);
        err->status = CNM_ERR_IMAGE;
    }
    return CNM_ERR_IMAGE;
}

typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_on_error(j_common_ptr cinfo) {
    jpeg_err *e = (jpeg_err *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->jump, 1);
}

/* a warning of corrupt or truncated data (level -1) is an error at once: decoding stops at the
 * first row the data does not prove, instead of filling the claimed size with grey */
static void jpeg_warning(j_common_ptr cinfo, int level) {
    if (level < 0) {
        jpeg_err *e = (jpeg_err *)cinfo->err;
        (*cinfo->err->format_message)(cinfo, e->message);
        longjmp(e->jump, 1);
    }
}

/* The smallest DCT scale n/8 (libjpeg-turbo decodes at 1/8 .. 8/8 for the cost of the smaller
 * image) whose output is at least min_w x min_h; 8/8 when no size is asked for. */
static void jpeg_scale_for(struct jpeg_decompress_struct *cinfo, uint32_t min_w, uint32_t min_h) {
    cinfo->scale_denom = 8;
    for (unsigned n = min_w || min_h ? 1 : 8; n <= 8; n++) {
        cinfo->scale_num = n;
        jpeg_calc_output_dimensions(cinfo);
        if (cinfo->output_width >= min_w && cinfo->output_height >= min_h) return;
    }
}

cnm_status edge_decode_jpeg(const void *data, size_t size, const char *name, uint32_t min_w, uint32_t min_h, cnm_image *out,
                            cnm_error *err) {
    memset(out, 0, sizeof *out);
    struct jpeg_decompress_struct cinfo;
    jpeg_err e;
    uint8_t *volatile px = NULL;
    cinfo.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = jpeg_on_error;
    e.mgr.emit_message = jpeg_warning;
    e.message[0] = 0;
    if (setjmp(e.jump)) {
        const int over_budget = e.mgr.msg_code == JERR_NO_BACKING_STORE || e.mgr.msg_code == JERR_OUT_OF_MEMORY;
        jpeg_destroy_decompress(&cinfo);
        free(px);
        if (over_budget) return fail(err, name, "JPEG image needs more than the %s decoder memory budget", "96 MiB");
        return fail(err, name, "malformed JPEG image: %s", e.message);
    }
    jpeg_create_decompress(&cinfo);
    cinfo.mem->max_memory_to_use = EDGE_JPEG_MAX_WORK_BYTES; /* the decoder's own buffers (progressive: coefficients) */
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    const int grey = cinfo.jpeg_color_space == JCS_GRAYSCALE;
    cinfo.out_color_space = grey ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_scale_for(&cinfo, min_w, min_h);
    const uint64_t w = cinfo.output_width, h = cinfo.output_height, c = (uint64_t)cinfo.output_components;
    if (w == 0 || h == 0 || w * h > CNM_MAX_IMAGE_PIXELS || (c != 1 && c != 3) || w * h * c > EDGE_IMAGE_MAX_BYTES) {
        jpeg_destroy_decompress(&cinfo);
        char dims[64];
        snprintf(dims, sizeof dims, "%llux%llu (decoded at %u/8)", (unsigned long long)w, (unsigned long long)h, cinfo.scale_num);
        return fail(err, name, "malformed JPEG image: %s is empty or exceeds the 96 MiB decoding budget", dims);
    }
    jpeg_start_decompress(&cinfo);
    /* rows are allocated as the data proves them: a header may claim any size */
    size_t cap_rows = 0;
    while (cinfo.output_scanline < cinfo.output_height) {
        if (cinfo.output_scanline == cap_rows) {
            size_t rows = cap_rows ? cap_rows * 2 : 64;
            if (rows > h) rows = (size_t)h;
            uint8_t *np = realloc(px, rows * (size_t)(w * c));
            if (!np) {
                jpeg_destroy_decompress(&cinfo);
                free(px);
                return fail(err, name, "out of memory for a %s image", "JPEG");
            }
            px = np;
            cap_rows = rows;
        }
        JSAMPROW row = px + (size_t)cinfo.output_scanline * w * c;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    out->width = (uint32_t)w;
    out->height = (uint32_t)h;
    out->channels = (uint32_t)c;
    out->pixels = px;
    return CNM_OK;
}

cnm_status edge_decode_png(const void *data, size_t size, const char *name, cnm_image *out, cnm_error *err) {
    memset(out, 0, sizeof *out);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, data, size))
        return fail(err, name, "malformed PNG image: %s", img.message);
    const int grey = (img.format & PNG_FORMAT_FLAG_COLOR) == 0;
    img.format = grey ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB; /* alpha composited on black, 8 bits */
    /* a PNG cannot be decoded smaller: its decoded size must fit the budget before anything is
     * allocated (a 261 KB file can claim 548 MB) */
    if ((uint64_t)img.width * img.height > CNM_MAX_IMAGE_PIXELS || img.width == 0 || img.height == 0 ||
        (uint64_t)PNG_IMAGE_SIZE(img) > EDGE_IMAGE_MAX_BYTES) {
        char dims[64];
        snprintf(dims, sizeof dims, "%ux%u", img.width, img.height);
        png_image_free(&img);
        return fail(err, name, "malformed PNG image: %s is empty or exceeds the 96 MiB decoding budget", dims);
    }
    uint8_t *px = malloc(PNG_IMAGE_SIZE(img));
    if (!px) {
        png_image_free(&img);
        return fail(err, name, "out of memory for a %s image", "PNG");
    }
    if (!png_image_finish_read(&img, NULL, px, 0, NULL)) {
        free(px);
        return fail(err, name, "malformed PNG image: %s", img.message);
    }
    out->width = img.width;
    out->height = img.height;
    out->channels = grey ? 1 : 3;
    out->pixels = px;
    return CNM_OK;
}

cnm_status edge_gunzip(const void *data, size_t size, const char *name, size_t limit, uint8_t **out, size_t *out_size,
                       cnm_error *err) {
    *out = NULL;
    *out_size = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) return fail(err, name, "cannot start gzip decompression%s", "");
    size_t cap = size * 4 + 4096, n = 0;
    uint8_t *buf = malloc(cap);
    z.next_in = (Bytef *)data;
    int rc = Z_OK;
    size_t fed = 0;
    while (buf) {
        if (n == cap) {
            if (cap >= limit) { rc = Z_MEM_ERROR; break; }
            size_t ncap = cap * 2 > limit ? limit : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) break;
            buf = nb;
            cap = ncap;
        }
        size_t chunk = size - fed > (1u << 30) ? (1u << 30) : size - fed;
        z.avail_in = (uInt)chunk;
        z.next_in = (Bytef *)data + fed;
        z.next_out = buf + n;
        z.avail_out = (uInt)((cap - n) > (1u << 30) ? (1u << 30) : (cap - n));
        const size_t before_in = z.avail_in, before_out = z.avail_out;
        rc = inflate(&z, Z_NO_FLUSH);
        fed += before_in - z.avail_in;
        n += before_out - z.avail_out;
        if (rc == Z_STREAM_END) break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) break;
        if (rc == Z_BUF_ERROR && fed == size && z.avail_out > 0) { rc = Z_DATA_ERROR; break; } /* truncated */
    }
    inflateEnd(&z);
    if (!buf) return fail(err, name, "out of memory decompressing%s", "");
    if (rc != Z_STREAM_END) {
        free(buf);
        if (rc == Z_MEM_ERROR) return fail(err, name, "gzip data expands beyond the limit%s", "");
        return fail(err, name, "corrupt or truncated gzip data%s", "");
    }
    *out = buf;
    *out_size = n;
    return CNM_OK;
}

cnm_status edge_decode_image(const void *data, size_t size, const char *name, uint32_t min_w, uint32_t min_h,
                             cnm_image *out, cnm_error *err) {
    const uint8_t *p = data;
    if (!name) name = "<image>";
    if (size >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) return edge_decode_jpeg(data, size, name, min_w, min_h, out, err);
    if (size >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8)) return edge_decode_png(data, size, name, out, err);
    if (size >= 2 && p[0] == 'P' && (p[1] == '5' || p[1] == '6')) return cnm_image_decode_pnm(data, size, name, out, err);
    if (size >= 2 && p[0] == 'P' && (p[1] == '2' || p[1] == '3')) {
        if (err) {
            err->status = CNM_ERR_IMAGE;
            snprintf(err->message, sizeof err->message, "%s: an ASCII (plain) %s is not supported; convert it to binary (P6 / P5), JPEG or PNG",
                     name, p[1] == '3' ? "PPM (P3)" : "PGM (P2)");
        }
        return CNM_ERR_IMAGE;
    }
    if (err) {
        err->status = CNM_ERR_IMAGE;
        snprintf(err->message, sizeof err->message, "%s: not a PPM/PGM, JPEG or PNG image", name);
    }
    return CNM_ERR_IMAGE;
}
