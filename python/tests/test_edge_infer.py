"""The Python package against the same references as the rest of the suite: PyTorch's logits of
the official CondenseNet-86, the samples' classes, and the package's own paths against each other."""
import os

import numpy as np
import pytest

import edge_infer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "Tests", "EdgeInferTests", "Fixtures")
SAMPLES = os.path.join(ROOT, "models", "samples")
CLASSES = ["airplane", "automobile", "cat", "dog", "ship", "truck"]


def test_fp32_matches_pytorch_at_1_and_2_threads():
    x = np.load(os.path.join(FIX, "official", "condensenet86-cifar10-inputs.npy"))
    ref = np.load(os.path.join(FIX, "official", "condensenet86-cifar10-logits.npy"))
    outs = []
    for threads in (1, 2):
        m = edge_infer.Model(os.path.join(FIX, "condensenet86-fp32.cnm"), threads=threads)
        y = m.run(x)
        assert y.shape == ref.shape
        assert np.abs(y - ref).max() < 1e-4
        outs.append(y)
    assert np.array_equal(outs[0], outs[1])  # the same bits at any thread count


def test_fp16_flag():
    # binary16 convolutions where the CPU has FP16 arithmetic (ARM): within 1e-2 of the largest
    # PyTorch logit; elsewhere (x86) the fp32 logits, bit for bit
    x = np.load(os.path.join(FIX, "official", "condensenet86-cifar10-inputs.npy"))[:2]
    ref = np.load(os.path.join(FIX, "official", "condensenet86-cifar10-logits.npy"))[:2]
    path = os.path.join(FIX, "condensenet86-fp32.cnm")
    y16 = edge_infer.Model(path, threads=1, fp16=True).run(x)
    assert np.abs(y16 - ref).max() <= 1e-2 * np.abs(ref).max()
    if "fp16" not in edge_infer.Model(path, threads=1, fp16=True).info["isa"]:
        assert np.array_equal(y16, edge_infer.Model(path, threads=1).run(x))


def test_default_model_classifies_the_samples():
    m = edge_infer.Model()
    assert m.input_shape == (3, 32, 32) and len(m.labels) == 10 and m.info["macs"] > 1e6
    for c in CLASSES:
        for ext in ("jpg", "ppm"):
            top = m.classify(os.path.join(SAMPLES, f"{c}.{ext}"), top=3)
            assert [label for label, _ in top][0] == c
            assert len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1] and 0 < sum(p for _, p in top) <= 1 + 1e-6


def read_ppm(path):
    data = open(path, "rb").read()
    fields, i = [], 2
    while len(fields) < 3:
        while data[i:i + 1].isspace():
            i += 1
        j = i
        while data[j:j + 1].isdigit():
            j += 1
        fields.append(int(data[i:j]))
        i = j
    w, h, _ = fields
    return np.frombuffer(data[i + 1:i + 1 + w * h * 3], np.uint8).reshape(h, w, 3)


def test_arrays_paths_and_batches_agree():
    m = edge_infer.Model(threads=1)
    path = os.path.join(SAMPLES, "cat.ppm")
    px = read_ppm(path)
    assert np.array_equal(m.preprocess(path), m.preprocess(px))
    assert m.classify(px) == m.classify(path)
    x = np.stack([m.preprocess(os.path.join(SAMPLES, f"{c}.ppm")) for c in CLASSES])
    batch = m.run(x)
    one = np.concatenate([m.run(x[i]) for i in range(len(CLASSES))])
    assert np.array_equal(batch, one)
    # a non-contiguous or float64 input is converted, with the same result
    assert np.array_equal(m.run(np.asfortranarray(x.astype(np.float64))), batch)
    # fusion does not change a bit
    assert np.array_equal(edge_infer.Model(unfused=True, threads=1).run(x), batch)


def test_pil_images():
    Image = pytest.importorskip("PIL.Image")
    m = edge_infer.Model()
    px = read_ppm(os.path.join(SAMPLES, "dog.ppm"))
    assert m.classify(Image.fromarray(px)) == m.classify(px)


def test_errors_carry_the_c_message(tmp_path):
    with pytest.raises(edge_infer.Error, match="no_such.cnm: cannot open"):
        edge_infer.Model(str(tmp_path / "no_such.cnm"))
    good = open(os.path.join(ROOT, "models", "condensenet86-cifar10-int8.cnm"), "rb").read()
    cut = tmp_path / "cut.cnm"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(edge_infer.Error, match="cut.cnm"):
        edge_infer.Model(str(cut))
    m = edge_infer.Model()
    with pytest.raises(ValueError, match="does not match the model input"):
        m.run(np.zeros((1, 3, 16, 16), np.float32))
    notimg = tmp_path / "x.jpg"
    notimg.write_bytes(b"hello")
    with pytest.raises(edge_infer.Error, match="x.jpg: not a PPM/PGM, JPEG or PNG"):
        m.classify(str(notimg))
    with pytest.raises(edge_infer.Error, match="is a directory"):
        m.classify(str(tmp_path))
    with pytest.raises(ValueError, match="uint8"):
        m.classify(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="threads"):
        edge_infer.Model(threads=-1)


def test_version_is_the_c_core():
    header = open(os.path.join(ROOT, "CRuntime", "include", "cnm.h")).read()
    assert f'#define CNM_VERSION "{edge_infer.__version__}"' in header
    assert edge_infer.ISA


def test_package_version_is_the_c_core():
    pyproject = open(os.path.join(ROOT, "python", "pyproject.toml")).read()
    assert f'version = "{edge_infer.__version__}"' in pyproject
