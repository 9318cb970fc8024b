"""Choosing a backend by name: the only module that knows every backend.

`backend.py` is the interface (imported by each backend); this module imports the backends,
so nothing imports back and there is no cycle.
"""

from __future__ import annotations

from nnrun.errors import NnrunError
from nnrun.sweep.backend import Backend

#: local: worker processes; ray: Ray tasks; inline: this process, one point after another.
BACKENDS = ("local", "ray", "inline")


def check_backend(name: str, address: str | None) -> None:
    """Refuse a backend that cannot run here before anything is created (exit code 2)."""
    if name not in BACKENDS:
        raise NnrunError(f"unknown backend. Received: --backend {name}; expected one of {', '.join(BACKENDS)}")
    if address and name != "ray":
        raise NnrunError("--address is for --backend ray")
    if name == "ray":
        from nnrun.sweep.ray_backend import import_ray

        import_ray()


def make_backend(name: str, workers: int, threads: int, address: str | None = None) -> Backend:
    if name == "local":
        if address:
            raise NnrunError("--address is for --backend ray")
        from nnrun.sweep.local import LocalBackend

        return LocalBackend(workers, threads)
    if name == "ray":
        from nnrun.sweep.ray_backend import RayBackend

        return RayBackend(workers, threads, address)
    if name == "inline":
        from nnrun.sweep.inline import InlineBackend

        return InlineBackend()
    raise NnrunError(f"unknown backend. Received: --backend {name}; expected one of {', '.join(BACKENDS)}")
