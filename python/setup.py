"""The C extension edge_infer._cnm: the C core (../CRuntime) and the image decoders
(../Sources/CImageIO) compiled with the system C compiler and OpenMP, linked to libjpeg, libpng
and zlib (Debian: libjpeg62-turbo-dev libpng-dev zlib1g-dev, as tools/setup.sh installs).
Build from the repository: pip install ./python (pip builds in the tree, so ../ is reachable)."""
import glob
import os
import shutil

from setuptools import Extension, setup

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
rel = lambda p: os.path.relpath(p, here)
core = sorted(glob.glob(os.path.join(root, "CRuntime", "src", "**", "*.c"), recursive=True))
if not core:
    raise SystemExit("edge-infer: the C core (../CRuntime/src) is not beside python/: build from the repository")
# the model edge-infer has built in, as the package's default
shutil.copyfile(os.path.join(root, "models", "condensenet86-cifar10-int8.cnm"), os.path.join(here, "edge_infer", "default.cnm"))

setup(
    ext_modules=[
        Extension(
            "edge_infer._cnm",
            sources=["_cnm.c"] + [rel(p) for p in core] + [rel(os.path.join(root, "Sources", "CImageIO", "image_io.c"))],
            include_dirs=[rel(os.path.join(root, "CRuntime", "include")), rel(os.path.join(root, "Sources", "CImageIO", "include"))],
            extra_compile_args=["-std=c11", "-O3", "-fopenmp"],
            extra_link_args=["-fopenmp"],
            libraries=["jpeg", "png", "z", "m"],
        )
    ]
)
