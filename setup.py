"""Packaging for minidl."""
from setuptools import find_packages, setup

TEST = ["pytest>=7", "hypothesis", "scikit-learn", "mlxtend", "pillow", "ruff", "nbclient", "nbformat",
        "ipykernel", "matplotlib", "threadpoolctl"]
# scikit-learn: the 8x8 digits of notebook 8
NOTEBOOKS = ["jupyter", "nbclient", "nbformat", "ipykernel", "matplotlib", "scikit-learn"]
GPU = ["cupy-cuda12x"]
DISTRIBUTED = ["mpi4py"]

setup(
    name="minidl",
    version="0.1.0",
    description="A readable deep-learning framework on NumPy (CPU) and CuPy (GPU)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["minidl", "minidl.*"]),
    package_data={"minidl": ["data/datasets/*.npz"]},
    install_requires=["numpy>=1.23", "tqdm"],
    extras_require={
        "gpu": GPU,
        "test": TEST,
        "notebooks": NOTEBOOKS,
        "images": ["pillow"],
        "plots": ["matplotlib"],
        "distributed": DISTRIBUTED,
        "dev": sorted(set(TEST + NOTEBOOKS + GPU + DISTRIBUTED)),
    },
    entry_points={"console_scripts": ["minidl=minidl.cli:main"]},
)
