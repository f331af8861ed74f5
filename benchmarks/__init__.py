"""Benchmarks: minidl against PyTorch, layer by layer and model by model (``python benchmarks/run.py``)."""
