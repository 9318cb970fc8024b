"""nnrun: a command-line experiment runner for neural networks, and its Python API.

    import nnrun
    run = nnrun.train("configs/xor.yaml")           # a Run: .history, .metrics, .plot() ...
    sweep = nnrun.sweep("configs/xor.yaml", lr=[0.01, 0.1])
    nnrun.runs("runs")                              # the table of `nnrun compare`, a DataFrame

Importing nnrun loads no TensorFlow: the first call that trains does, once per process.

`nnrun.train`, `nnrun.sweep` and `nnrun.runs` are also the names of subpackages (the
trainers, the sweep runner, the run-folder format). Python sets a package's attribute to a
subpackage when it is imported, which would replace a function of the same name; so those
three subpackages are made callable instead: `nnrun.train(...)` calls the API function and
`nnrun.train.graph` is still the module.
"""

import functools as _functools
import importlib as _importlib
import inspect as _inspect
import os as _os
import types as _types

# TensorFlow's C++ start-up chatter is noise for a CLI; users can still override it.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

from nnrun import api as _api  # noqa: E402 - after the environment it relies on
from nnrun.api.functions import load, validate  # noqa: E402
from nnrun.errors import NnrunError, SpecError, TrainingInterrupted  # noqa: E402


def _callable_package(name: str) -> None:
    """Make `nnrun.<name>` (a subpackage) call `nnrun.api.<name>` (signature and help included)."""
    func = getattr(_api, name)
    package = _importlib.import_module(f"nnrun.{name}")

    @_functools.wraps(func)
    def __call__(self: _types.ModuleType, *args: object, **kwargs: object) -> object:  # noqa: N807
        return func(*args, **kwargs)

    package.__class__ = type(f"CallablePackage_{name}", (_types.ModuleType,), {"__call__": __call__})
    package.__signature__ = _inspect.signature(func)  # type: ignore[attr-defined]
    if not package.__doc__:
        package.__doc__ = func.__doc__


for _name in ("train", "sweep", "runs"):
    _callable_package(_name)


def __getattr__(name: str) -> object:
    """`nnrun.Run` and `nnrun.Sweep`, imported when first asked for."""
    if name == "Run":
        from nnrun.api.run import Run

        return Run
    if name == "Sweep":
        from nnrun.api.sweeps import Sweep

        return Sweep
    raise AttributeError(f"module 'nnrun' has no attribute {name!r}")


__all__ = [
    "NnrunError",
    "Run",
    "SpecError",
    "Sweep",
    "TrainingInterrupted",
    "__version__",
    "load",
    "runs",
    "sweep",
    "train",
    "validate",
]
