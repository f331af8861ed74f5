"""Packaging for minidl."""
from setuptools import find_packages, setup

# The main job draws its figures (matplotlib) and pins BLAS to the threads it asks for
# (threadpoolctl): without them it would write no figures and give other numbers.
REQUIRED = ["numpy>=1.23", "tqdm", "matplotlib", "threadpoolctl"]
# Numba compiles the few CPU kernels NumPy runs in many passes or on one core (max pooling, ReLU: see
# minidl/backend/kernels.py); without it those ops take their NumPy paths: slower, the same numbers.
FAST = ["numba"]
# Everything the suite runs except the PyTorch comparisons (`python -m pytest -m "not torch"`).
TEST_CORE = ["pytest>=7", "hypothesis", "scikit-learn", "mlxtend", "pillow", "ruff", "nbclient", "nbformat",
             "ipykernel"]
# PyTorch is the independent reference of the parity tests; 2.13.0 is the release they were
# checked against (its CPU build: see the README's "Tests" section).  The full suite runs the
# compiled kernels; the suite without PyTorch runs without them, so both paths are tested.
TEST = TEST_CORE + FAST + ["torch==2.13.0"]
# scikit-learn: the 8x8 digits of notebook 8
NOTEBOOKS = ["jupyter", "nbclient", "nbformat", "ipykernel", "scikit-learn"]
GPU = ["cupy-cuda12x"]
DISTRIBUTED = ["mpi4py"]
# graphviz: minidl.viz.draw_graph returns a graphviz.Digraph (drawing it also needs the system's dot program)
VIZ = ["graphviz"]

setup(
    name="minidl",
    version="0.1.0",
    description="A readable deep-learning framework on NumPy (CPU) and CuPy (GPU)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["minidl", "minidl.*"]),
    package_data={"minidl": ["data/datasets/*.npz"]},
    install_requires=REQUIRED,
    extras_require={
        "fast": FAST,
        "gpu": GPU,
        "test": TEST,
        "test-core": TEST_CORE,
        "notebooks": NOTEBOOKS,
        "images": ["pillow"],
        "viz": VIZ,
        "distributed": DISTRIBUTED,
        "dev": sorted(set(TEST + NOTEBOOKS + GPU + DISTRIBUTED + VIZ)),
    },
    entry_points={"console_scripts": ["minidl=minidl.cli:main"]},
)
