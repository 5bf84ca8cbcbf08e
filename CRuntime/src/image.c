/* Images for classification: binary PPM/PGM decoding (every field and length checked, sizes
 * limited before allocating), bilinear resizing and normalisation to a model's input. Shared by
 * the Swift CLI and C users, so both feed a model exactly the same floats. */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* next header number, skipping whitespace and # comments */
static int pnm_number(const uint8_t *b, size_t n, size_t *i, uint32_t *out) {
    while (*i < n) {
        if (is_space(b[*i])) (*i)++;
        else if (b[*i] == '#') { while (*i < n && b[*i] != '\n') (*i)++; }
        else break;
    }
    uint64_t v = 0;
    int digits = 0;
    while (*i < n && b[*i] >= '0' && b[*i] <= '9') {
        v = v * 10 + (uint64_t)(b[*i] - '0');
        if (v > (1u << 30)) return -1;
        digits++;
        (*i)++;
    }
    if (!digits) return 0;
    *out = (uint32_t)v;
    return 1;
}

cnm_status cnm_image_decode_pnm(const void *data, size_t size, const char *name, cnm_image *out, cnm_error *err) {
    if (!out || (!data && size)) return cnm_fail(err, CNM_ERR_ARGUMENT, "cnm_image_decode_pnm: NULL argument");
    memset(out, 0, sizeof *out);
    if (!name) name = "<image>";
    const uint8_t *b = data;
#define BAD(...) return cnm_fail(err, CNM_ERR_IMAGE, __VA_ARGS__)
    if (size < 2 || b[0] != 'P' || (b[1] != '6' && b[1] != '5'))
        BAD("%s: malformed PPM/PGM image: expected a binary PPM (P6) or PGM (P5) header", name);
    const uint32_t channels = b[1] == '6' ? 3 : 1;
    size_t i = 2;
    uint32_t w = 0, h = 0, maxval = 0;
    const char *what[3] = {"width", "height", "maxval"};
    uint32_t *dst[3] = {&w, &h, &maxval};
    for (int k = 0; k < 3; k++) {
        int r = pnm_number(b, size, &i, dst[k]);
        if (r < 0) BAD("%s: malformed PPM/PGM image: %s is too large", name, what[k]);
        if (r == 0) BAD("%s: malformed PPM/PGM image: missing %s", name, what[k]);
    }
    if (w == 0 || h == 0) BAD("%s: malformed PPM/PGM image: zero width or height", name);
    if (maxval == 0 || maxval > 65535) BAD("%s: malformed PPM/PGM image: maxval %u outside 1..65535", name, maxval);
    if ((uint64_t)w * h > CNM_MAX_IMAGE_PIXELS)
        BAD("%s: malformed PPM/PGM image: %ux%u exceeds the %u-pixel limit", name, w, h, CNM_MAX_IMAGE_PIXELS);
    if (i >= size || !is_space(b[i])) BAD("%s: malformed PPM/PGM image: no whitespace after the header", name);
    i++;
    const size_t bps = maxval < 256 ? 1 : 2, samples = (size_t)w * h * channels, need = samples * bps;
    if (size - i < need)
        BAD("%s: malformed PPM/PGM image: pixel data is truncated (%zu of %zu bytes)", name, size - i, need);
#undef BAD
    uint8_t *px = malloc(samples);
    if (!px) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory for a %ux%u image", name, w, h);
    for (size_t k = 0; k < samples; k++) {
        uint32_t v = bps == 1 ? b[i + k] : (uint32_t)b[i + 2 * k] << 8 | b[i + 2 * k + 1];
        if (v > maxval) v = maxval;
        px[k] = (uint8_t)((v * 255u + maxval / 2) / maxval);
    }
    out->width = w;
    out->height = h;
    out->channels = channels;
    out->pixels = px;
    return CNM_OK;
}

cnm_status cnm_image_load_pnm(const char *path, cnm_image *out, cnm_error *err) {
    if (!path || !out) return cnm_fail(err, CNM_ERR_ARGUMENT, "cnm_image_load_pnm: NULL argument");
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return cnm_fail(err, CNM_ERR_IO, "%s: %s", path, errno == ENOENT ? "no such file" : strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return cnm_fail(err, CNM_ERR_IO, "%s: cannot read the file", path); }
    long size = ftell(f);
    if (size < 0 || (uint64_t)size > (uint64_t)CNM_MAX_IMAGE_PIXELS * 6 + 4096) {
        fclose(f);
        return cnm_fail(err, size < 0 ? CNM_ERR_IO : CNM_ERR_LIMIT, "%s: %s", path, size < 0 ? "cannot read the file" : "file too large for an image");
    }
    rewind(f);
    uint8_t *buf = malloc((size_t)size + 1);
    if (!buf) { fclose(f); return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", path); }
    size_t got = fread(buf, 1, (size_t)size, f);
    fclose(f);
    cnm_status st = got == (size_t)size ? cnm_image_decode_pnm(buf, got, path, out, err)
                                        : cnm_fail(err, CNM_ERR_IO, "%s: cannot read the file", path);
    free(buf);
    return st;
}

void cnm_image_free(cnm_image *img) {
    if (!img) return;
    free(img->pixels);
    img->pixels = NULL;
}

cnm_status cnm_image_resize(const cnm_image *img, uint32_t ow, uint32_t oh, cnm_image *out, cnm_error *err) {
    if (!img || !out || !img->pixels || !ow || !oh) return cnm_fail(err, CNM_ERR_ARGUMENT, "cnm_image_resize: bad argument");
    if ((uint64_t)ow * oh > CNM_MAX_IMAGE_PIXELS) return cnm_fail(err, CNM_ERR_LIMIT, "resize to %ux%u exceeds the pixel limit", ow, oh);
    const uint32_t c = img->channels, w = img->width, h = img->height;
    uint8_t *px = malloc((size_t)ow * oh * c);
    if (!px) return cnm_fail(err, CNM_ERR_NOMEM, "out of memory resizing to %ux%u", ow, oh);
    const double sx = (double)w / ow, sy = (double)h / oh;
    for (uint32_t y = 0; y < oh; y++) {
        double fy = ((double)y + 0.5) * sy - 0.5;
        if (fy < 0) fy = 0;
        uint32_t y0 = (uint32_t)fy < h - 1 ? (uint32_t)fy : h - 1, y1 = y0 + 1 < h ? y0 + 1 : h - 1;
        const double wy = fy - y0;
        for (uint32_t x = 0; x < ow; x++) {
            double fx = ((double)x + 0.5) * sx - 0.5;
            if (fx < 0) fx = 0;
            uint32_t x0 = (uint32_t)fx < w - 1 ? (uint32_t)fx : w - 1, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
            const double wx = fx - x0;
            for (uint32_t k = 0; k < c; k++) {
#define P(yy, xx) ((double)img->pixels[((size_t)(yy) * w + (xx)) * c + k])
                double v = (1 - wy) * ((1 - wx) * P(y0, x0) + wx * P(y0, x1)) + wy * ((1 - wx) * P(y1, x0) + wx * P(y1, x1));
#undef P
                v = floor(v + 0.5);
                px[((size_t)y * ow + x) * c + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    }
    out->width = ow;
    out->height = oh;
    out->channels = c;
    out->pixels = px;
    return CNM_OK;
}

cnm_status cnm_image_to_input(const cnm_model *m, const cnm_image *img, float *input, size_t count, cnm_error *err) {
    if (!m || !img || !img->pixels || !input) return cnm_fail(err, CNM_ERR_ARGUMENT, "cnm_image_to_input: NULL argument");
    const uint32_t C = m->input_c, H = m->input_h, W = m->input_w;
    if (count != (size_t)C * H * W)
        return cnm_fail(err, CNM_ERR_ARGUMENT, "%s: input buffer holds %zu values, the model takes %u", m->name, count, C * H * W);
    if (!(img->channels == C || (img->channels == 1 && C == 3) || (img->channels == 3 && C == 1)))
        return cnm_fail(err, CNM_ERR_IMAGE, "image has %u channels, the model takes %u", img->channels, C);
    cnm_image r = {0}, crop = {0};
    cnm_status st;
    if (m->resize == 1) { /* shorter side to the input size, centre crop */
        double scale = fmax((double)W / img->width, (double)H / img->height);
        uint32_t rw = (uint32_t)floor(img->width * scale + 0.5), rh = (uint32_t)floor(img->height * scale + 0.5);
        if (rw < W) rw = W;
        if (rh < H) rh = H;
        if ((st = cnm_image_resize(img, rw, rh, &r, err)) != CNM_OK) return st;
        crop.width = W; crop.height = H; crop.channels = r.channels;
        crop.pixels = malloc((size_t)W * H * r.channels);
        if (!crop.pixels) { cnm_image_free(&r); return cnm_fail(err, CNM_ERR_NOMEM, "out of memory"); }
        const uint32_t x0 = (rw - W) / 2, y0 = (rh - H) / 2;
        for (uint32_t y = 0; y < H; y++)
            memcpy(crop.pixels + (size_t)y * W * r.channels, r.pixels + ((size_t)(y + y0) * rw + x0) * r.channels,
                   (size_t)W * r.channels);
        cnm_image_free(&r);
    } else if ((st = cnm_image_resize(img, W, H, &crop, err)) != CNM_OK) {
        return st;
    }
    const uint32_t ic = crop.channels;
    for (uint32_t ch = 0; ch < C; ch++)
        for (size_t p = 0; p < (size_t)H * W; p++) {
            float v;
            if (ic == C) v = crop.pixels[p * C + ch];
            else if (ic == 1) v = crop.pixels[p];
            else v = 0.299f * crop.pixels[3 * p] + 0.587f * crop.pixels[3 * p + 1] + 0.114f * crop.pixels[3 * p + 2];
            input[ch * (size_t)H * W + p] = (v / 255.0f - m->mean[ch]) / m->std[ch];
        }
    cnm_image_free(&crop);
    return CNM_OK;
}
