"""Bridges from run folders to the tools people already use (TensorBoard, MLflow).

Each module imports its tool lazily, inside functions, so importing this package is free.
"""
