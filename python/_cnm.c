/* edge_infer._cnm: the C core (libcnm) and its image decoders as a CPython extension. The
 * Python layer (edge_infer/__init__.py) adds numpy arrays, PIL images and the top-k. No numpy
 * C API: tensors cross as buffers (the buffer protocol), so a C-contiguous float32 array is
 * read in place. Each Model owns one context; its runs hold a lock and release the GIL. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "cnm.h"
#include "image_io.h"

#include <stdio.h>
#include <stdlib.h>

static PyObject *Error; /* edge_infer.Error */

static PyObject *fail(const cnm_error *e) {
    PyErr_SetString(Error, e->message[0] ? e->message : "edge-infer error");
    return NULL;
}

typedef struct {
    PyObject_HEAD
    cnm_model *model;
    cnm_context *ctx;
    cnm_model_info info;
    PyThread_type_lock lock;
} ModelObject;

static void Model_dealloc(ModelObject *self) {
    if (self->ctx) cnm_context_free(self->ctx);
    if (self->model) cnm_model_free(self->model);
    if (self->lock) PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Model_init(ModelObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"path", "threads", "unfused", "winograd", "fp16", NULL};
    const char *path;
    int threads = 0, unfused = 0, winograd = 1, fp16 = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|ippp", names, &path, &threads, &unfused, &winograd, &fp16)) return -1;
    if (threads < 0 || threads > 1024) {
        PyErr_SetString(PyExc_ValueError, "threads must be in 0...1024 (0 = all cores)");
        return -1;
    }
    cnm_error e;
    cnm_status st;
    Py_BEGIN_ALLOW_THREADS
    st = cnm_model_load_file(path, (unfused ? CNM_LOAD_NO_FUSION : 0) | (winograd ? 0 : CNM_LOAD_NO_WINOGRAD) | (fp16 ? CNM_LOAD_FP16 : 0),
                             &self->model, &e);
    if (st == CNM_OK) st = cnm_context_create(self->model, threads, &self->ctx, &e);
    Py_END_ALLOW_THREADS
    if (st != CNM_OK) { fail(&e); return -1; }
    cnm_model_get_info(self->model, &self->info);
    self->lock = PyThread_allocate_lock();
    if (!self->lock) { PyErr_NoMemory(); return -1; }
    return 0;
}

/* run(x, out, n): n inputs from the float32 buffer x into the float32 buffer out (n x classes) */
static PyObject *Model_run(ModelObject *self, PyObject *args) {
    Py_buffer x, y;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "y*w*n", &x, &y, &n)) return NULL;
    const size_t per = (size_t)self->info.input_c * self->info.input_h * self->info.input_w, k = self->info.num_classes;
    PyObject *ret = NULL;
    if (n < 0 || (size_t)x.len != (size_t)n * per * sizeof(float) || (size_t)y.len != (size_t)n * k * sizeof(float)) {
        PyErr_Format(PyExc_ValueError, "run: %zd inputs need %zu input and %zu output floats", n, (size_t)n * per, (size_t)n * k);
        goto done;
    }
    cnm_error e;
    cnm_status st = CNM_OK;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(self->lock, WAIT_LOCK);
    for (Py_ssize_t i = 0; i < n && st == CNM_OK; i++)
        st = cnm_context_run(self->ctx, (const float *)x.buf + (size_t)i * per, per, (float *)y.buf + (size_t)i * k, k, &e);
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (st != CNM_OK) fail(&e);
    else ret = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&x);
    PyBuffer_Release(&y);
    return ret;
}

/* preprocess(pixels, width, height, channels, out): the model's own resize + normalisation of an
 * interleaved uint8 image (1 or 3 channels) into the float32 buffer out */
static PyObject *Model_preprocess(ModelObject *self, PyObject *args) {
    Py_buffer px, out;
    unsigned w, h, c;
    if (!PyArg_ParseTuple(args, "y*IIIw*", &px, &w, &h, &c, &out)) return NULL;
    PyObject *ret = NULL;
    if ((c != 1 && c != 3) || w == 0 || h == 0 || (uint64_t)px.len != (uint64_t)w * h * c) {
        PyErr_Format(PyExc_ValueError, "preprocess: %u x %u x %u pixels do not match %zd bytes (1 or 3 channels)", w, h, c, px.len);
        goto done;
    }
    cnm_image img = {w, h, c, (uint8_t *)px.buf};
    cnm_error e;
    cnm_status st;
    Py_BEGIN_ALLOW_THREADS
    st = cnm_image_to_input(self->model, &img, (float *)out.buf, (size_t)out.len / sizeof(float), &e);
    Py_END_ALLOW_THREADS
    if (st != CNM_OK) fail(&e);
    else ret = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&px);
    PyBuffer_Release(&out);
    return ret;
}

static PyObject *Model_info(ModelObject *self, PyObject *Py_UNUSED(ignored)) {
    const cnm_model_info *i = &self->info;
    PyObject *mean = PyList_New(i->input_c), *std = PyList_New(i->input_c), *labels = PyList_New(i->num_classes), *meta = PyDict_New();
    if (!mean || !std || !labels || !meta) return NULL;
    for (uint32_t k = 0; k < i->input_c; k++) {
        PyList_SET_ITEM(mean, k, PyFloat_FromDouble(i->mean[k]));
        PyList_SET_ITEM(std, k, PyFloat_FromDouble(i->std[k]));
    }
    for (uint32_t k = 0; k < i->num_classes; k++) PyList_SET_ITEM(labels, k, PyUnicode_DecodeUTF8(cnm_model_label(self->model, k), (Py_ssize_t)strlen(cnm_model_label(self->model, k)), "replace"));
    const char *key, *value;
    for (uint32_t k = 0; cnm_model_meta(self->model, k, &key, &value); k++) {
        PyObject *v = PyUnicode_DecodeUTF8(value, (Py_ssize_t)strlen(value), "replace");
        PyDict_SetItemString(meta, key, v);
        Py_XDECREF(v);
    }
    return Py_BuildValue("{s:I,s:K,s:(III),s:N,s:N,s:s,s:I,s:N,s:N,s:K,s:K,s:K,s:K,s:K,s:K,s:i,s:s}",
                         "format_version", i->version, "file_bytes", (unsigned long long)i->file_size,
                         "input_shape", i->input_c, i->input_h, i->input_w, "mean", mean, "std", std,
                         "resize", i->resize ? "shorter-side-crop" : "direct", "classes", i->num_classes, "labels", labels,
                         "metadata", meta, "parameters", (unsigned long long)i->num_params,
                         "weight_bytes", (unsigned long long)i->weight_bytes, "macs", (unsigned long long)i->macs,
                         "work", (unsigned long long)i->work, "arena_bytes", (unsigned long long)i->arena_bytes,
                         "plan_bytes", (unsigned long long)i->plan_bytes,
                         "threads", cnm_context_threads(self->ctx), "isa", cnm_context_isa(self->ctx));
}

static PyMethodDef Model_methods[] = {
    {"run", (PyCFunction)Model_run, METH_VARARGS, "run(x, out, n): n float32 inputs into n x classes float32 logits"},
    {"preprocess", (PyCFunction)Model_preprocess, METH_VARARGS, "preprocess(pixels, width, height, channels, out)"},
    {"info", (PyCFunction)Model_info, METH_NOARGS, "the model's description (a dict)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "edge_infer._cnm.Model",
    .tp_basicsize = sizeof(ModelObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "A loaded .cnm model and one inference context: Model(path, threads=0, unfused=False, winograd=True, fp16=False)",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Model_init,
    .tp_dealloc = (destructor)Model_dealloc,
    .tp_methods = Model_methods,
};

/* decode(data: bytes, name, min_width, min_height) -> (pixels: bytes, width, height, channels):
 * JPEG (through its DCT scaling down to at least min_width x min_height), PNG, binary PPM/PGM,
 * with the CLI's memory budget */
static PyObject *decode(PyObject *Py_UNUSED(m), PyObject *args) {
    Py_buffer b;
    const char *name;
    unsigned mw = 0, mh = 0;
    if (!PyArg_ParseTuple(args, "y*s|II", &b, &name, &mw, &mh)) return NULL;
    cnm_image img = {0};
    cnm_error e = {0};
    cnm_status st;
    Py_BEGIN_ALLOW_THREADS
    st = edge_decode_image(b.buf, (size_t)b.len, name, mw, mh, &img, &e);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&b);
    if (st != CNM_OK) return fail(&e);
    PyObject *px = PyBytes_FromStringAndSize((const char *)img.pixels, (Py_ssize_t)img.width * img.height * img.channels);
    PyObject *r = px ? Py_BuildValue("(NIII)", px, img.width, img.height, img.channels) : NULL;
    cnm_image_free(&img);
    return r;
}

static PyObject *version(PyObject *Py_UNUSED(m), PyObject *Py_UNUSED(a)) {
    return Py_BuildValue("(sss)", cnm_version(), cnm_compiler(), cnm_kernel_table_selected());
}

static PyMethodDef module_methods[] = {
    {"decode", decode, METH_VARARGS, "decode(data, name, min_width=0, min_height=0) -> (pixels, width, height, channels)"},
    {"version", version, METH_NOARGS, "(library version, compiler, kernel table this CPU takes)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cnm", "edge-infer's C core", -1, module_methods};

PyMODINIT_FUNC PyInit__cnm(void) {
    if (PyType_Ready(&ModelType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Error = PyErr_NewException("edge_infer.Error", PyExc_RuntimeError, NULL);
    if (PyModule_AddObjectRef(m, "Error", Error) < 0 || PyModule_AddObjectRef(m, "Model", (PyObject *)&ModelType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
