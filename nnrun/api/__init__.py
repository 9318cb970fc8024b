"""nnrun's Python API (re-exported by `nnrun`): the functions, and the `Run` and `Sweep`
objects they return. See `nnrun.api.functions`. Imports nothing heavy."""

from nnrun.api.functions import load, runs, sweep, train, validate

__all__ = ["load", "runs", "sweep", "train", "validate"]
