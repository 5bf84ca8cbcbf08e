/* NumPy .npy parsing (version 1-3 headers, '<f4' or '<f8', C order) with every length and the
 * element count checked before allocating. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* the text after "'key':" in the header dict, or NULL */
static const char *field(const char *h, size_t n, const char *key) {
    size_t k = strlen(key);
    for (size_t i = 0; i + k + 3 <= n; i++)
        if (h[i] == '\'' && !memcmp(h + i + 1, key, k) && h[i + 1 + k] == '\'' && h[i + 2 + k] == ':') {
            const char *p = h + i + 3 + k;
            while (p < h + n && *p == ' ') p++;
            return p;
        }
    return NULL;
}

cnm_status cnm_npy_parse(const void *data, size_t size, const char *name, cnm_npy *out, cnm_error *err) {
    if (!out || (!data && size)) return cnm_fail(err, CNM_ERR_ARGUMENT, "cnm_npy_parse: NULL argument");
    memset(out, 0, sizeof *out);
    if (!name) name = "<npy>";
    const uint8_t *b = data;
#define BAD(...) do { cnm_fail(err, CNM_ERR_NPY, __VA_ARGS__); free(hdr); return CNM_ERR_NPY; } while (0)
    char *hdr = NULL;
    if (size < 10 || memcmp(b, "\x93NUMPY", 6) != 0) BAD("%s: not a valid .npy file: bad magic", name);
    size_t hl, start;
    if (b[6] == 1) { hl = (size_t)b[8] | (size_t)b[9] << 8; start = 10; }
    else if (b[6] == 2 || b[6] == 3) {
        if (size < 12) BAD("%s: not a valid .npy file: truncated header", name);
        hl = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        start = 12;
    } else BAD("%s: not a valid .npy file: unsupported version %u", name, b[6]);
    if (hl > (1u << 20) || start + hl > size) BAD("%s: not a valid .npy file: truncated header", name);
    hdr = malloc(hl + 1);
    if (!hdr) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", name);
    memcpy(hdr, b + start, hl);
    hdr[hl] = 0;
    const char *descr = field(hdr, hl, "descr"), *fortran = field(hdr, hl, "fortran_order"), *shape = field(hdr, hl, "shape");
    if (!descr || !fortran || !shape) BAD("%s: not a valid .npy file: header lacks descr, fortran_order or shape", name);
    size_t item;
    if (!strncmp(descr, "'<f4'", 5)) item = 4;
    else if (!strncmp(descr, "'<f8'", 5)) item = 8;
    else BAD("%s: not a valid .npy file: dtype %.8s (float32 or float64 expected)", name, descr);
    if (strncmp(fortran, "False", 5) != 0) BAD("%s: not a valid .npy file: Fortran-order arrays are not supported", name);
    if (*shape != '(') BAD("%s: not a valid .npy file: bad shape", name);
    const char *p = shape + 1;
    uint64_t count = 1;
    while (1) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        if (*p < '0' || *p > '9') BAD("%s: not a valid .npy file: bad shape", name);
        uint64_t v = 0;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (uint64_t)(*p++ - '0');
            if (v > CNM_NPY_MAX_ELEMENTS) BAD("%s: not a valid .npy file: shape is too large", name);
        }
        if (out->ndim == CNM_NPY_MAX_DIMS) BAD("%s: not a valid .npy file: more than %d dimensions", name, CNM_NPY_MAX_DIMS);
        out->shape[out->ndim++] = v;
        count *= v;
        if (count > CNM_NPY_MAX_ELEMENTS) BAD("%s: not a valid .npy file: shape is too large", name);
    }
    const size_t body = start + hl;
    if (size - body != count * item)
        BAD("%s: not a valid .npy file: data holds %zu bytes, the shape needs %llu", name, size - body,
            (unsigned long long)(count * item));
#undef BAD
    free(hdr);
    out->data = malloc(sizeof(float) * (count ? count : 1));
    if (!out->data) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", name);
    for (uint64_t i = 0; i < count; i++) {
        if (item == 4) {
            uint32_t u = (uint32_t)b[body + 4 * i] | (uint32_t)b[body + 4 * i + 1] << 8 | (uint32_t)b[body + 4 * i + 2] << 16 |
                         (uint32_t)b[body + 4 * i + 3] << 24;
            memcpy(&out->data[i], &u, 4);
        } else {
            uint64_t u = 0;
            for (int k = 0; k < 8; k++) u |= (uint64_t)b[body + 8 * i + k] << (8 * k);
            double d;
            memcpy(&d, &u, 8);
            out->data[i] = (float)d;
        }
    }
    out->count = count;
    return CNM_OK;
}

void cnm_npy_free(cnm_npy *a) {
    if (!a) return;
    free(a->data);
    a->data = NULL;
}
