/* Loading and validating a .cnm file (docs/FORMAT.md). Every offset, count, shape and
 * operator argument is checked before anything is used; the first failure is reported
 * with the file name, the record and the rule it breaks. */
#define _DEFAULT_SOURCE
#include "internal.h"
#include "ops/op.h"

#include <errno.h>
#include <float.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "edge-infer maps little-endian model files in place; big-endian hosts are not supported"
#endif

static const uint8_t CNM_MAGIC[8] = {0x89, 'C', 'N', 'M', '\r', '\n', 0x1a, '\n'};
static const uint32_t SECTION_ENTRY[CNM_SEC_COUNT] = {1, 16, 8, 48, 16, 16, 64};
static const char *SECTION_NAME[CNM_SEC_COUNT] = {"STRINGS", "META", "LABELS", "TENSORS",
                                                  "BUFFERS", "VALUES", "OPS"};
#define CNM_MAX_CHANNEL_FLAGS ((uint64_t)1 << 24)

cnm_status cnm_fail(cnm_error *err, cnm_status st, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = st;
    }
    return st;
}

const char *cnm_status_string(cnm_status s) {
    switch (s) {
    case CNM_OK: return "ok";
    case CNM_ERR_IO: return "i/o error";
    case CNM_ERR_MAGIC: return "not a .cnm model";
    case CNM_ERR_VERSION: return "unsupported .cnm version";
    case CNM_ERR_CHECKSUM: return "checksum mismatch";
    case CNM_ERR_TRUNCATED: return "truncated file";
    case CNM_ERR_FORMAT: return "malformed record";
    case CNM_ERR_GRAPH: return "inconsistent graph";
    case CNM_ERR_LIMIT: return "limit exceeded";
    case CNM_ERR_NOMEM: return "out of memory";
    case CNM_ERR_ARGUMENT: return "invalid argument";
    case CNM_ERR_IMAGE: return "malformed image";
    case CNM_ERR_NPY: return "malformed .npy";
    }
    return "unknown status";
}

/* ---- little-endian readers ---- */
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static int32_t rdi32(const uint8_t *p) { return (int32_t)rd32(p); }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static float rdf32(const uint8_t *p) {
    uint32_t u = rd32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

typedef struct tensor_span { uint64_t offset, nbytes; uint32_t index; } tensor_span;
static int cmp_span(const void *a, const void *b) {
    const tensor_span *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static size_t dtype_size(uint32_t dt) {
    switch (dt) {
    case CNM_DT_F32: case CNM_DT_I32: return 4;
    case CNM_DT_F16: case CNM_DT_I16: return 2;
    case CNM_DT_I8: case CNM_DT_U8: return 1;
    }
    return 0;
}

/* IEEE-754 binary16 -> binary32, exact (every half is a float): normals, subnormals, inf, NaN */
static float half_to_float(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1Fu, f = h & 0x3FFu;
    uint32_t u;
    if (e == 0x1F) u = sign | 0x7F800000u | (f << 13);          /* inf, NaN (payload kept) */
    else if (e != 0) u = sign | ((e + 112) << 23) | (f << 13);  /* normal: rebias 15 -> 127 */
    else if (f == 0) u = sign;                                  /* +-0 */
    else {                                                      /* subnormal: f * 2^-24 */
        int sh = 0;
        uint32_t m = f;
        while (!(m & 0x400u)) { m <<= 1; sh++; }
        u = sign | ((uint32_t)(113 - sh) << 23) | ((m & 0x3FFu) << 13);
    }
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Storage types F16 / I16 / U8 become F32 / I32 / I32 in memory, once, at load. */
static cnm_status widen_tensor(cnm_model *m, uint32_t i, cnm_tensor *t, uint64_t elems, cnm_error *err) {
    if (t->dtype == CNM_DT_U8) {
        t->widened = malloc(sizeof(int32_t) * (size_t)elems + 1);
        if (!t->widened) return cnm_fail(err, CNM_ERR_NOMEM, "%s: tensor %u '%s': out of memory", m->name, i, t->name);
        for (uint64_t k = 0; k < elems; k++) ((int32_t *)t->widened)[k] = ((const uint8_t *)t->data)[k];
        t->dtype = CNM_DT_I32;
        t->data = t->widened;
        return CNM_OK;
    }
    if (t->dtype != CNM_DT_F16 && t->dtype != CNM_DT_I16) return CNM_OK;
    t->widened = malloc(sizeof(uint32_t) * (size_t)elems);
    if (!t->widened) return cnm_fail(err, CNM_ERR_NOMEM, "%s: tensor %u '%s': out of memory", m->name, i, t->name);
    const uint8_t *src = t->data;
    for (uint64_t k = 0; k < elems; k++) {
        const uint16_t v = (uint16_t)(src[2 * k] | src[2 * k + 1] << 8);
        if (t->dtype == CNM_DT_F16) ((float *)t->widened)[k] = half_to_float(v);
        else ((int32_t *)t->widened)[k] = (int16_t)v;
    }
    t->dtype = t->dtype == CNM_DT_F16 ? CNM_DT_F32 : CNM_DT_I32;
    t->data = t->widened;
    return CNM_OK;
}

typedef struct { uint64_t offset; uint32_t count, entry; } section;

static char *dup_string(const cnm_model *m, const section *strings, uint32_t off, uint32_t len,
                        const char *what, uint32_t idx, cnm_error *err, cnm_status *st) {
    if ((uint64_t)off + len > strings->count) {
        *st = cnm_fail(err, CNM_ERR_FORMAT,
                       "%s: %s %u: string [%u, +%u) lies outside STRINGS (%u bytes)", m->name, what,
                       idx, off, len, strings->count);
        return NULL;
    }
    char *s = malloc((size_t)len + 1);
    if (!s) {
        *st = cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", m->name);
        return NULL;
    }
    memcpy(s, m->base + strings->offset + off, len);
    s[len] = 0;
    return s;
}

static cnm_status parse_header(cnm_model *m, section sec[CNM_SEC_COUNT], cnm_error *err) {
    const uint8_t *b = m->base;
    if (m->size < 8 || memcmp(b, CNM_MAGIC, 8) != 0)
        return cnm_fail(err, CNM_ERR_MAGIC, "%s: not a .cnm model (bad magic bytes)", m->name);
    if (m->size < CNM_HEADER_SIZE)
        return cnm_fail(err, CNM_ERR_TRUNCATED, "%s: truncated: %zu bytes, the header alone is %u",
                        m->name, m->size, CNM_HEADER_SIZE);
    m->version = rd32(b + 8);
    if (m->version != CNM_FORMAT_VERSION)
        return cnm_fail(err, CNM_ERR_VERSION, "%s: unsupported .cnm version %u (this runtime reads %u)",
                        m->name, m->version, CNM_FORMAT_VERSION);
    uint64_t fsize = rd64(b + 16);
    if (fsize > m->size)
        return cnm_fail(err, CNM_ERR_TRUNCATED,
                        "%s: truncated: header says %llu bytes, the file has %zu", m->name,
                        (unsigned long long)fsize, m->size);
    if (fsize != m->size)
        return cnm_fail(err, CNM_ERR_FORMAT, "%s: header says %llu bytes, the file has %zu",
                        m->name, (unsigned long long)fsize, m->size);
    if (fsize > CNM_MAX_FILE)
        return cnm_fail(err, CNM_ERR_LIMIT, "%s: file of %llu bytes exceeds the 2 GiB limit",
                        m->name, (unsigned long long)fsize);
    uint32_t want = rd32(b + 12), got = cnm_crc32(0, b + 16, m->size - 16);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    want = got; /* let fuzzers reach the validator behind the checksum */
#endif
    if (want != got)
        return cnm_fail(err, CNM_ERR_CHECKSUM,
                        "%s: checksum mismatch (stored %08x, computed %08x): the file is corrupt",
                        m->name, want, got);
    if (rd32(b + 24) != CNM_HEADER_SIZE)
        return cnm_fail(err, CNM_ERR_FORMAT, "%s: header_size %u, expected %u", m->name,
                        rd32(b + 24), CNM_HEADER_SIZE);
    if (rd32(b + 28) != 0)
        return cnm_fail(err, CNM_ERR_FORMAT, "%s: unknown header flags %08x", m->name, rd32(b + 28));
    for (uint32_t i = 204; i < CNM_HEADER_SIZE; i++)
        if (b[i] != 0)
            return cnm_fail(err, CNM_ERR_FORMAT, "%s: reserved header byte %u is not zero", m->name, i);
    for (int s = 0; s < CNM_SEC_COUNT; s++) {
        const uint8_t *e = b + 32 + 16 * s;
        sec[s].offset = rd64(e);
        sec[s].count = rd32(e + 8);
        sec[s].entry = rd32(e + 12);
        if (sec[s].entry != SECTION_ENTRY[s])
            return cnm_fail(err, CNM_ERR_FORMAT, "%s: section %s has entry size %u, expected %u",
                            m->name, SECTION_NAME[s], sec[s].entry, SECTION_ENTRY[s]);
        if (s != CNM_SEC_STRINGS && sec[s].count > CNM_MAX_RECORDS)
            return cnm_fail(err, CNM_ERR_LIMIT, "%s: section %s has %u entries (limit %u)", m->name,
                            SECTION_NAME[s], sec[s].count, CNM_MAX_RECORDS);
        if (sec[s].count == 0) continue;
        uint64_t len = (uint64_t)sec[s].count * sec[s].entry;
        if (sec[s].offset < CNM_HEADER_SIZE || sec[s].offset % 8 != 0)
            return cnm_fail(err, CNM_ERR_FORMAT,
                            "%s: section %s offset %llu is inside the header or not 8-byte aligned",
                            m->name, SECTION_NAME[s], (unsigned long long)sec[s].offset);
        if (sec[s].offset > m->size || len > m->size - sec[s].offset)
            return cnm_fail(err, CNM_ERR_TRUNCATED,
                            "%s: section %s [%llu, +%llu) runs past the end of the file (%zu bytes)",
                            m->name, SECTION_NAME[s], (unsigned long long)sec[s].offset,
                            (unsigned long long)len, m->size);
    }
    for (int s = 0; s < CNM_SEC_COUNT; s++)
        for (int t = s + 1; t < CNM_SEC_COUNT; t++) {
            if (!sec[s].count || !sec[t].count) continue;
            uint64_t a0 = sec[s].offset, a1 = a0 + (uint64_t)sec[s].count * sec[s].entry;
            uint64_t b0 = sec[t].offset, b1 = b0 + (uint64_t)sec[t].count * sec[t].entry;
            if (a0 < b1 && b0 < a1)
                return cnm_fail(err, CNM_ERR_FORMAT, "%s: sections %s and %s overlap", m->name,
                                SECTION_NAME[s], SECTION_NAME[t]);
        }
    m->input_value = rd32(b + 144);
    m->output_value = rd32(b + 148);
    m->input_c = rd32(b + 152);
    m->input_h = rd32(b + 156);
    m->input_w = rd32(b + 160);
    m->num_classes = rd32(b + 164);
    for (int i = 0; i < 4; i++) {
        m->mean[i] = rdf32(b + 168 + 4 * i);
        m->std[i] = rdf32(b + 184 + 4 * i);
    }
    m->resize = rd32(b + 200);
    if (m->input_c < 1 || m->input_c > 4)
        return cnm_fail(err, CNM_ERR_FORMAT, "%s: input_c %u is not in 1..4", m->name, m->input_c);
    for (uint32_t i = 0; i < m->input_c; i++) /* (x - mean) / std must be finite for every pixel */
        if (!(m->std[i] >= FLT_MIN && m->std[i] <= FLT_MAX) || !(m->mean[i] >= -FLT_MAX && m->mean[i] <= FLT_MAX))
            return cnm_fail(err, CNM_ERR_FORMAT, "%s: normalisation std[%u] = %g must be a positive normal float and mean[%u] = %g finite",
                            m->name, i, m->std[i], i, m->mean[i]);
    if (m->resize > 1)
        return cnm_fail(err, CNM_ERR_FORMAT, "%s: unknown resize mode %u", m->name, m->resize);
    return CNM_OK;
}

/* META and LABELS: copies of their strings */
static cnm_status parse_strings(cnm_model *m, const section sec[CNM_SEC_COUNT], cnm_error *err) {
    cnm_status st = CNM_OK;
    const uint8_t *b = m->base;
    m->n_meta = sec[CNM_SEC_META].count;
    m->meta_keys = calloc(m->n_meta + 1, sizeof(char *));
    m->meta_vals = calloc(m->n_meta + 1, sizeof(char *));
    if (!m->meta_keys || !m->meta_vals) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", m->name);
    for (uint32_t i = 0; i < m->n_meta; i++) {
        const uint8_t *e = b + sec[CNM_SEC_META].offset + 16 * (uint64_t)i;
        if (!(m->meta_keys[i] = dup_string(m, &sec[CNM_SEC_STRINGS], rd32(e), rd32(e + 4), "meta", i, err, &st)))
            return st;
        if (!(m->meta_vals[i] = dup_string(m, &sec[CNM_SEC_STRINGS], rd32(e + 8), rd32(e + 12), "meta", i, err, &st)))
            return st;
    }
    m->n_labels = sec[CNM_SEC_LABELS].count;
    if (m->n_labels != m->num_classes)
        return cnm_fail(err, CNM_ERR_FORMAT, "%s: %u labels for %u classes", m->name, m->n_labels,
                        m->num_classes);
    m->labels = calloc(m->n_labels + 1, sizeof(char *));
    if (!m->labels) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", m->name);
    for (uint32_t i = 0; i < m->n_labels; i++) {
        const uint8_t *e = b + sec[CNM_SEC_LABELS].offset + 8 * (uint64_t)i;
        if (!(m->labels[i] = dup_string(m, &sec[CNM_SEC_STRINGS], rd32(e), rd32(e + 4), "label", i, err, &st)))
            return st;
    }
    return CNM_OK;
}

/* No two tensors' data overlap: sort the (offset, size) spans, O(n log n) whatever order the file uses. */
static cnm_status check_tensor_overlap(cnm_model *m, cnm_error *err) {
    cnm_status st = CNM_OK;
    if (m->n_tensors > 1) {
        tensor_span *ord = malloc(sizeof(tensor_span) * m->n_tensors);
        if (!ord) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", m->name);
        for (uint32_t i = 0; i < m->n_tensors; i++) ord[i] = (tensor_span){m->tensors[i].offset, m->tensors[i].nbytes, i};
        qsort(ord, m->n_tensors, sizeof(tensor_span), cmp_span);
        for (uint32_t i = 1; i < m->n_tensors; i++) {
            if (ord[i - 1].offset + ord[i - 1].nbytes > ord[i].offset) {
                st = cnm_fail(err, CNM_ERR_FORMAT, "%s: tensors %u '%s' and %u '%s' overlap", m->name, ord[i - 1].index,
                              m->tensors[ord[i - 1].index].name, ord[i].index, m->tensors[ord[i].index].name);
                free(ord);
                return st;
            }
        }
        free(ord);
    }
    return CNM_OK;
}

/* TENSORS: dtype, shape, data bounds and alignment; storage types widened */
static cnm_status parse_tensors(cnm_model *m, const section sec[CNM_SEC_COUNT], cnm_error *err) {
    cnm_status st = CNM_OK;
    const uint8_t *b = m->base;
    uint64_t data_start = CNM_HEADER_SIZE; /* tensor data lies after the header and every table */
    for (int s = 0; s < CNM_SEC_COUNT; s++)
        if (sec[s].count) {
            uint64_t end = sec[s].offset + (uint64_t)sec[s].count * sec[s].entry;
            if (end > data_start) data_start = end;
        }
    m->n_tensors = sec[CNM_SEC_TENSORS].count;
    m->tensors = calloc(m->n_tensors + 1, sizeof(cnm_tensor));
    if (!m->tensors) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", m->name);
    for (uint32_t i = 0; i < m->n_tensors; i++) {
        const uint8_t *e = b + sec[CNM_SEC_TENSORS].offset + 48 * (uint64_t)i;
        cnm_tensor *t = &m->tensors[i];
        if (!(t->name = dup_string(m, &sec[CNM_SEC_STRINGS], rd32(e), rd32(e + 4), "tensor", i, err, &st)))
            return st;
        t->dtype = rd32(e + 8);
        t->ndim = rd32(e + 12);
        t->offset = rd64(e + 32);
        t->nbytes = rd64(e + 40);
        size_t es = dtype_size(t->dtype);
        if (!es)
            return cnm_fail(err, CNM_ERR_FORMAT, "%s: tensor %u '%s': unknown dtype %u", m->name, i,
                            t->name, t->dtype);
        if (t->ndim < 1 || t->ndim > 4)
            return cnm_fail(err, CNM_ERR_FORMAT, "%s: tensor %u '%s': ndim %u is not in 1..4", m->name,
                            i, t->name, t->ndim);
        uint64_t elems = 1;
        for (uint32_t d = 0; d < 4; d++) {
            t->dims[d] = rd32(e + 16 + 4 * d);
            if (d < t->ndim) {
                if (t->dims[d] == 0)
                    return cnm_fail(err, CNM_ERR_FORMAT, "%s: tensor %u '%s': dimension %u is 0",
                                    m->name, i, t->name, d);
                elems *= t->dims[d];
                if (elems > CNM_MAX_TENSOR_ELEMS)
                    return cnm_fail(err, CNM_ERR_LIMIT,
                                    "%s: tensor %u '%s': more than 2^31 elements", m->name, i, t->name);
            } else if (t->dims[d] != 0) {
                return cnm_fail(err, CNM_ERR_FORMAT, "%s: tensor %u '%s': unused dimension %u is not 0",
                                m->name, i, t->name, d);
            }
        }
        if (t->nbytes != elems * es)
            return cnm_fail(err, CNM_ERR_FORMAT,
                            "%s: tensor %u '%s': %llu bytes for %llu elements of %zu bytes", m->name, i,
                            t->name, (unsigned long long)t->nbytes, (unsigned long long)elems, es);
        /* tensors used in place are 64-byte aligned; storage types (widened at load) to their size */
        const unsigned align = t->dtype == CNM_DT_U8 ? 1u : (t->dtype == CNM_DT_F16 || t->dtype == CNM_DT_I16) ? 2u : CNM_TENSOR_ALIGN;
        if (t->offset % align != 0)
            return cnm_fail(err, CNM_ERR_FORMAT, "%s: tensor %u '%s': data offset %llu is not %u-byte aligned",
                            m->name, i, t->name, (unsigned long long)t->offset, align);
        if (t->offset < data_start)
            return cnm_fail(err, CNM_ERR_FORMAT,
                            "%s: tensor %u '%s': data offset %llu lies inside the header or tables", m->name,
                            i, t->name, (unsigned long long)t->offset);
        if (t->offset > m->size || t->nbytes > m->size - t->offset)
            return cnm_fail(err, CNM_ERR_TRUNCATED,
                            "%s: tensor %u '%s': data [%llu, +%llu) runs past the end of the file (%zu bytes)",
                            m->name, i, t->name, (unsigned long long)t->offset,
                            (unsigned long long)t->nbytes, m->size);
        t->data = b + t->offset;
        if ((st = widen_tensor(m, i, t, elems, err)) != CNM_OK) return st;
        m->weight_bytes += t->nbytes;
        if (t->dtype != CNM_DT_I32) m->num_params += elems;
    }
    return check_tensor_overlap(m, err);
}

/* BUFFERS and VALUES: shapes, limits, channel ranges */
static cnm_status parse_buffers(cnm_model *m, const section sec[CNM_SEC_COUNT], cnm_error *err) {
    const uint8_t *b = m->base;
    m->n_buffers = sec[CNM_SEC_BUFFERS].count;
    m->buffers = calloc(m->n_buffers + 1, sizeof(cnm_buffer));
    if (!m->buffers) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", m->name);
    uint64_t total_channels = 0;
    for (uint32_t i = 0; i < m->n_buffers; i++) {
        const uint8_t *e = b + sec[CNM_SEC_BUFFERS].offset + 16 * (uint64_t)i;
        cnm_buffer *bf = &m->buffers[i];
        bf->c = rd32(e); bf->h = rd32(e + 4); bf->w = rd32(e + 8); bf->dtype = rd32(e + 12);
        if (!bf->c || !bf->h || !bf->w)
            return cnm_fail(err, CNM_ERR_FORMAT, "%s: buffer %u has a zero dimension (%ux%ux%u)", m->name,
                            i, bf->c, bf->h, bf->w);
        uint64_t elems = (uint64_t)bf->c * bf->h * bf->w;
        if (elems > CNM_MAX_BUFFER_ELEMS)
            return cnm_fail(err, CNM_ERR_LIMIT, "%s: buffer %u (%ux%ux%u) exceeds 2^28 elements", m->name,
                            i, bf->c, bf->h, bf->w);
        if (bf->dtype != CNM_DT_F32)
            return cnm_fail(err, CNM_ERR_FORMAT, "%s: buffer %u has dtype %u (version 1 buffers are f32)",
                            m->name, i, bf->dtype);
        bf->bytes = elems * sizeof(float);
        total_channels += bf->c;
    }
    if (total_channels > CNM_MAX_CHANNEL_FLAGS)
        return cnm_fail(err, CNM_ERR_LIMIT, "%s: buffers hold more than 2^24 channels in all", m->name);
    m->n_values = sec[CNM_SEC_VALUES].count;
    m->values = calloc(m->n_values + 1, sizeof(cnm_value));
    if (!m->values) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", m->name);
    for (uint32_t i = 0; i < m->n_values; i++) {
        const uint8_t *e = b + sec[CNM_SEC_VALUES].offset + 16 * (uint64_t)i;
        cnm_value *v = &m->values[i];
        v->buffer = rd32(e); v->c_off = rd32(e + 4); v->c = rd32(e + 8);
        if (rd32(e + 12) != 0)
            return cnm_fail(err, CNM_ERR_FORMAT, "%s: value %u: reserved field is not 0", m->name, i);
        if (v->buffer >= m->n_buffers)
            return cnm_fail(err, CNM_ERR_FORMAT, "%s: value %u refers to buffer %u of %u", m->name, i,
                            v->buffer, m->n_buffers);
        if (v->c == 0 || (uint64_t)v->c_off + v->c > m->buffers[v->buffer].c)
            return cnm_fail(err, CNM_ERR_FORMAT, "%s: value %u: channels [%u, +%u) outside buffer %u (%u channels)",
                            m->name, i, v->c_off, v->c, v->buffer, m->buffers[v->buffer].c);
    }
    return CNM_OK;
}

/* OPS: the records only (their meaning is checked by validate_graph and the operator table) */
static cnm_status parse_op_records(cnm_model *m, const section sec[CNM_SEC_COUNT], cnm_error *err) {
    const uint8_t *b = m->base;
    m->n_ops = sec[CNM_SEC_OPS].count;
    m->ops = calloc(m->n_ops + 1, sizeof(cnm_op));
    if (!m->ops) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", m->name);
    for (uint32_t i = 0; i < m->n_ops; i++) {
        const uint8_t *e = b + sec[CNM_SEC_OPS].offset + 64 * (uint64_t)i;
        cnm_op *op = &m->ops[i];
        op->type = rd32(e); op->flags = rd32(e + 4);
        op->in0 = rdi32(e + 8); op->in1 = rdi32(e + 12); op->out = rdi32(e + 16);
        for (int k = 0; k < 4; k++) op->t[k] = rdi32(e + 20 + 4 * k);
        for (int k = 0; k < CNM_OP_SLOTS; k++) op->p[k] = rdi32(e + 36 + 4 * k);
    }
    return CNM_OK;
}

static cnm_status parse_tables(cnm_model *m, const section sec[CNM_SEC_COUNT], cnm_error *err) {
    cnm_status st = parse_strings(m, sec, err);
    if (st == CNM_OK) st = parse_tensors(m, sec, err);
    if (st == CNM_OK) st = parse_buffers(m, sec, err);
    if (st == CNM_OK) st = parse_op_records(m, sec, err);
    return st;
}

/* ---- graph validation ----
 * What every operator shares is checked here; each operator's own rules are its validate
 * (src/ops/). The channel-written flags (one byte per channel of every buffer) enforce that
 * every input is written before it is read. */

typedef struct graph_walk {
    uint64_t *first;  /* the flag index of each buffer's channel 0 */
    uint8_t *written;
} graph_walk;

/* The checks of op i common to every operator; on success fills c. */
static cnm_status check_common(cnm_model *m, uint32_t i, const graph_walk *g, cnm_op_ctx *c, cnm_error *err) {
    cnm_op *op = &m->ops[i];
    const cnm_op_def *d = cnm_op_def_of(op->type);
    *c = (cnm_op_ctx){.m = m, .i = i, .op = op, .err = err};
    if (!d) return cnm_fail(err, CNM_ERR_GRAPH, "%s: op %u: unknown operator type %u", m->name, i, op->type);
    if (op->flags & ~CNM_OP_FLAG_RELU) return cnm_op_fail(c, "unknown flags %08x", op->flags);
    if (op->in0 < 0 || (uint32_t)op->in0 >= m->n_values || op->out < 0 || (uint32_t)op->out >= m->n_values)
        return cnm_op_fail(c, "input value %d or output value %d out of range (%u values)", op->in0, op->out, m->n_values);
    if (d->inputs == 2 ? (op->in1 < 0 || (uint32_t)op->in1 >= m->n_values) : op->in1 != -1)
        return cnm_op_fail(c, "second input value %d %s", op->in1, d->inputs == 2 ? "out of range" : "must be -1 (only add and mul take two inputs)");
    const int used = d->decode(m, op);
    for (int k = used; k < CNM_OP_SLOTS; k++)
        if (op->p[k] != 0) return cnm_op_fail(c, "unused parameter p%d is %d, must be 0", k, op->p[k]);
    c->in = &m->values[op->in0];
    c->out = &m->values[op->out];
    c->ib = &m->buffers[c->in->buffer];
    c->ob = &m->buffers[c->out->buffer];
    /* every input (in0, and in1 of add and mul): written before, not overlapping the output */
    for (int k = 0; k < d->inputs; k++) {
        const cnm_value *v = &m->values[k ? op->in1 : op->in0];
        for (uint32_t ch = 0; ch < v->c; ch++)
            if (!g->written[g->first[v->buffer] + v->c_off + ch])
                return cnm_op_fail(c, "reads channel %u of buffer %u before any op writes it", v->c_off + ch, v->buffer);
        if (v->buffer == c->out->buffer && v->c_off < c->out->c_off + c->out->c && c->out->c_off < v->c_off + v->c)
            return cnm_op_fail(c, "output channels overlap input channels in buffer %u", v->buffer);
    }
    return CNM_OK;
}

/* After op i validated: its output is written, and the lifetimes of the buffers it touches grow. */
static void record_op(cnm_model *m, uint32_t i, const graph_walk *g) {
    const cnm_op *op = &m->ops[i];
    const cnm_value *out = &m->values[op->out];
    m->macs += op->macs; /* (each op's counts are below 2^60, and there are at most 2^16 ops) */
    m->work += op->work;
    memset(g->written + g->first[out->buffer] + out->c_off, 1, out->c);
    cnm_buffer *ibm = &m->buffers[m->values[op->in0].buffer], *obm = &m->buffers[out->buffer];
    if ((int32_t)i > ibm->last) ibm->last = (int32_t)i;
    if (op->in1 >= 0) m->buffers[m->values[op->in1].buffer].last = (int32_t)i;
    if ((int32_t)i < obm->first) obm->first = (int32_t)i;
    if ((int32_t)i > obm->last) obm->last = (int32_t)i;
}

static cnm_status check_io(const cnm_model *m, cnm_error *err) {
    if (m->input_value >= m->n_values || m->output_value >= m->n_values)
        return cnm_fail(err, CNM_ERR_GRAPH, "%s: input value %u or output value %u out of range (%u values)",
                        m->name, m->input_value, m->output_value, m->n_values);
    const cnm_value *iv = &m->values[m->input_value], *ov = &m->values[m->output_value];
    const cnm_buffer *ib = &m->buffers[iv->buffer], *ob = &m->buffers[ov->buffer];
    if (iv->c_off != 0 || iv->c != ib->c || ib->c != m->input_c || ib->h != m->input_h || ib->w != m->input_w)
        return cnm_fail(err, CNM_ERR_GRAPH, "%s: input value must be a whole %ux%ux%u buffer", m->name,
                        m->input_c, m->input_h, m->input_w);
    if (ov->c_off != 0 || ov->c != ob->c || ob->c != m->num_classes || ob->h != 1 || ob->w != 1)
        return cnm_fail(err, CNM_ERR_GRAPH, "%s: output value must be a whole %ux1x1 buffer", m->name,
                        m->num_classes);
    if (iv->buffer == ov->buffer)
        return cnm_fail(err, CNM_ERR_GRAPH, "%s: input and output share buffer %u", m->name, iv->buffer);
    if (m->n_ops == 0) return cnm_fail(err, CNM_ERR_GRAPH, "%s: the graph has no operators", m->name);
    return CNM_OK;
}

static cnm_status validate_graph(cnm_model *m, cnm_error *err) {
    cnm_status st = check_io(m, err);
    if (st != CNM_OK) return st;
    const cnm_value *iv = &m->values[m->input_value], *ov = &m->values[m->output_value];
    uint64_t total = 0;
    graph_walk g = {calloc(m->n_buffers + 1, sizeof(uint64_t)), NULL};
    if (!g.first) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", m->name);
    for (uint32_t i = 0; i < m->n_buffers; i++) { g.first[i] = total; total += m->buffers[i].c; }
    g.written = calloc(total + 1, 1);
    if (!g.written) { free(g.first); return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", m->name); }
    memset(g.written + g.first[iv->buffer], 1, iv->c);
    for (uint32_t i = 0; i < m->n_buffers; i++) { m->buffers[i].first = INT32_MAX; m->buffers[i].last = -2; }
    m->buffers[iv->buffer].first = -1;
    m->buffers[iv->buffer].last = -1;
    m->macs = m->work = 0;
    for (uint32_t i = 0; i < m->n_ops && st == CNM_OK; i++) {
        cnm_op_ctx c;
        m->ops[i].macs = m->ops[i].work = 0;
        st = check_common(m, i, &g, &c, err);
        if (st == CNM_OK) st = cnm_op_def_of(m->ops[i].type)->validate(&c);
        if (st == CNM_OK) record_op(m, i, &g);
    }
    for (uint32_t ch = 0; st == CNM_OK && ch < ov->c; ch++)
        if (!g.written[g.first[ov->buffer] + ch]) st = cnm_fail(err, CNM_ERR_GRAPH, "%s: output channel %u is never written", m->name, ch);
    if (st == CNM_OK && m->work > CNM_MAX_WORK)
        st = cnm_fail(err, CNM_ERR_LIMIT, "%s: %llu element operations per inference exceed the limit of 2^35 (%llu)", m->name,
                      (unsigned long long)m->work, (unsigned long long)CNM_MAX_WORK);
    if (st == CNM_OK) m->buffers[ov->buffer].last = (int32_t)m->n_ops;
    free(g.written);
    free(g.first);
    return st;
}

static cnm_status load_common(cnm_model *m, cnm_error *err) {
    section sec[CNM_SEC_COUNT];
    cnm_status st = parse_header(m, sec, err);
    if (st == CNM_OK) st = parse_tables(m, sec, err);
    if (st == CNM_OK) st = validate_graph(m, err);
    if (st == CNM_OK) st = cnm_fuse(m, err);
    if (st == CNM_OK) st = cnm_plan(m, err);
    return st;
}

static cnm_model *model_new(const char *name) {
    cnm_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    size_t n = strlen(name);
    m->name = malloc(n + 1);
    if (!m->name) { free(m); return NULL; }
    memcpy(m->name, name, n + 1);
    return m;
}

cnm_status cnm_model_load(const char *path, cnm_model **out, cnm_error *err) {
    return cnm_model_load_file(path, 0, out, err);
}

cnm_status cnm_model_load_file(const char *path, int flags, cnm_model **out, cnm_error *err) {
    if (!out || !path) return cnm_fail(err, CNM_ERR_ARGUMENT, "cnm_model_load: NULL argument");
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cnm_fail(err, CNM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return cnm_fail(err, CNM_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > CNM_MAX_FILE) {
        close(fd);
        return cnm_fail(err, CNM_ERR_LIMIT, "%s: file of %lld bytes exceeds the 2 GiB limit", path,
                        (long long)sb.st_size);
    }
    cnm_model *m = model_new(path);
    if (!m) { close(fd); return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", path); }
    m->size = (size_t)sb.st_size;
    m->no_fusion = (flags & CNM_LOAD_NO_FUSION) != 0;
    m->no_winograd = (flags & CNM_LOAD_NO_WINOGRAD) != 0;
    m->fp16 = (flags & CNM_LOAD_FP16) != 0;
    if (m->size == 0) {
        close(fd);
        cnm_model_free(m);
        return cnm_fail(err, CNM_ERR_TRUNCATED, "%s: empty file, not a .cnm model", path);
    }
    void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
        m->mapped = p;
        m->mapped_size = m->size;
        m->base = p;
    } else { /* fall back to reading (e.g. a filesystem without mmap) */
        m->owned = aligned_alloc(CNM_TENSOR_ALIGN, (m->size + CNM_TENSOR_ALIGN - 1) / CNM_TENSOR_ALIGN * CNM_TENSOR_ALIGN);
        size_t got = 0;
        while (m->owned && got < m->size) {
            ssize_t r = read(fd, (uint8_t *)m->owned + got, m->size - got);
            if (r <= 0) break;
            got += (size_t)r;
        }
        if (!m->owned || got != m->size) {
            close(fd);
            cnm_model_free(m);
            return cnm_fail(err, CNM_ERR_IO, "%s: cannot read the file", path);
        }
        m->base = m->owned;
    }
    close(fd);
    cnm_status st = load_common(m, err);
    if (st != CNM_OK) { cnm_model_free(m); return st; }
    *out = m;
    return CNM_OK;
}

cnm_status cnm_model_load_memory(const void *data, size_t size, const char *name, int flags,
                                 cnm_model **out, cnm_error *err) {
    const int borrow = flags & CNM_LOAD_BORROW;
    if (!out || (!data && size)) return cnm_fail(err, CNM_ERR_ARGUMENT, "cnm_model_load_memory: NULL argument");
    *out = NULL;
    if (!name) name = "<memory>";
    if (size > CNM_MAX_FILE)
        return cnm_fail(err, CNM_ERR_LIMIT, "%s: %zu bytes exceeds the 2 GiB limit", name, size);
    cnm_model *m = model_new(name);
    if (!m) return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", name);
    m->size = size;
    m->no_fusion = (flags & CNM_LOAD_NO_FUSION) != 0;
    m->no_winograd = (flags & CNM_LOAD_NO_WINOGRAD) != 0;
    m->fp16 = (flags & CNM_LOAD_FP16) != 0;
    if (borrow && ((uintptr_t)data % CNM_TENSOR_ALIGN) == 0) {
        m->base = data;
    } else {
        size_t cap = (size + CNM_TENSOR_ALIGN) / CNM_TENSOR_ALIGN * CNM_TENSOR_ALIGN;
        m->owned = aligned_alloc(CNM_TENSOR_ALIGN, cap);
        if (!m->owned) { cnm_model_free(m); return cnm_fail(err, CNM_ERR_NOMEM, "%s: out of memory", name); }
        if (size) memcpy(m->owned, data, size);
        m->base = m->owned;
    }
    cnm_status st = load_common(m, err);
    if (st != CNM_OK) { cnm_model_free(m); return st; }
    *out = m;
    return CNM_OK;
}

static void free_strings(char **v, uint32_t n) {
    if (!v) return;
    for (uint32_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

void cnm_model_free(cnm_model *m) {
    if (!m) return;
    if (m->tensors)
        for (uint32_t i = 0; i < m->n_tensors; i++) {
            free((void *)m->tensors[i].name);
            free(m->tensors[i].widened);
        }
    free(m->tensors);
    free(m->buffers);
    free(m->values);
    free(m->ops);
    cnm_free_steps(m);
    free_strings(m->labels, m->n_labels);
    free_strings(m->meta_keys, m->n_meta);
    free_strings(m->meta_vals, m->n_meta);
    if (m->mapped) munmap(m->mapped, m->mapped_size);
    free(m->owned);
    free(m->name);
    free(m);
}

void cnm_model_get_info(const cnm_model *m, cnm_model_info *info) {
    memset(info, 0, sizeof *info);
    info->version = m->version;
    info->file_size = m->size;
    info->input_c = m->input_c; info->input_h = m->input_h; info->input_w = m->input_w;
    info->num_classes = m->num_classes;
    memcpy(info->mean, m->mean, sizeof m->mean);
    memcpy(info->std, m->std, sizeof m->std);
    info->resize = m->resize;
    info->num_tensors = m->n_tensors; info->num_buffers = m->n_buffers;
    info->num_values = m->n_values; info->num_ops = m->n_ops; info->num_meta = m->n_meta;
    info->num_params = m->num_params;
    info->weight_bytes = m->weight_bytes;
    info->macs = m->macs;
    info->work = m->work;
    info->arena_bytes = m->arena_bytes;
    info->arena_lower_bound = m->arena_lower_bound;
    info->scratch_bytes_per_thread = m->pw_scratch_floats * sizeof(float);
    info->scratch_bytes = info->scratch_bytes_per_thread + m->direct_scratch_floats * sizeof(float);
    info->plan_bytes = m->plan_bytes;
}

const char *cnm_model_label(const cnm_model *m, uint32_t i) {
    return (m && i < m->n_labels) ? m->labels[i] : "";
}

int cnm_model_meta(const cnm_model *m, uint32_t i, const char **key, const char **value) {
    if (!m || i >= m->n_meta) return 0;
    if (key) *key = m->meta_keys[i];
    if (value) *value = m->meta_vals[i];
    return 1;
}

int cnm_model_op(const cnm_model *m, uint32_t i, cnm_op_info *info) {
    if (!m || i >= m->n_ops) return 0;
    const cnm_op *op = &m->ops[i];
    const cnm_value *in = &m->values[op->in0], *out = &m->values[op->out];
    const cnm_buffer *ib = &m->buffers[in->buffer], *ob = &m->buffers[out->buffer];
    memset(info, 0, sizeof *info);
    info->type = op->type;
    info->relu = (uint32_t)cnm_op_relu(op);
    info->in0 = op->in0; info->in1 = op->in1; info->out = op->out;
    info->in_c = in->c; info->in_h = ib->h; info->in_w = ib->w;
    info->out_c = out->c; info->out_h = ob->h; info->out_w = ob->w;
    info->macs = op->macs;
    info->weight_name = "";
    info->fused_into = -1;
    if (m->op_step) {
        const cnm_step *st = &m->steps[m->op_step[i]];
        const int32_t main = (int32_t)cnm_step_main(st);
        if (main != (int32_t)i) info->fused_into = main;
    }
    info->work = op->work;
    info->params = op->prm;
    cnm_op_def_of(op->type)->describe(m, op, info);
    return 1;
}
