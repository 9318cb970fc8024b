"""One run at a glance: what `nnrun show RUN_DIR` prints.

The config is shown as what differs from the defaults. The defaults come from the pydantic
models in `nnrun.spec`: the run's config is validated and dumped without the fields equal to
their declared defaults, and the fields that validators fill in (e.g. `metrics`, `data.noise`)
are compared with a minimal spec built from the same data, model and loss.
"""

from __future__ import annotations

import os
from typing import Any

from nnrun.runs.reader import RunInfo, flatten

#: Always shown: what makes the experiment what it is, default or not.
#: The data keys that say what the data is; they also set other keys' defaults (text: sequence_length).
DATA_IDENTITY = ("dataset", "path", "target", "text")
ALWAYS = (*(f"data.{k}" for k in DATA_IDENTITY), "loss")
#: Keys that say which kind of thing a section is (a union's tag).
TAGS = ("name", "type")


def config_changes(config: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The flattened config keys whose values are not the defaults, and a note if the config
    no longer validates (then every key is returned)."""
    from pydantic import ValidationError

    from nnrun.spec import Spec

    try:
        spec = Spec.model_validate(config)
        data = config.get("data") or {}
        minimal = Spec.model_validate(
            {
                "data": {k: data[k] for k in DATA_IDENTITY if k in data},
                "model": config["model"],
                "loss": config["loss"],
            }
        )
    except (ValidationError, KeyError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return flatten(config), f"this config does not validate with this version of nnrun ({first}); showing all of it"
    explicit = _loss_as_written(flatten(spec.model_dump(mode="json", exclude_defaults=True)), spec)
    baseline = _loss_as_written(flatten(minimal.model_dump(mode="json", exclude_none=True)), minimal)
    full = _loss_as_written(flatten(spec.model_dump(mode="json", exclude_none=True)), spec)
    missing = object()

    def other_kind(key: str) -> bool:
        # under an adam optimizer, sgd's defaults say nothing
        parts = key.split(".")
        for n in range(1, len(parts)):
            for tag in TAGS:
                t = f"{'.'.join(parts[:n])}.{tag}"
                if t in full and baseline.get(t, missing) != full[t]:
                    return True
        return False

    keep = {
        key
        for key, value in explicit.items()
        if key.startswith("model.") or key in ALWAYS or other_kind(key) or baseline.get(key, missing) != value
    }
    # a shown setting keeps the name of what it belongs to (optimizer.name with optimizer.momentum)
    for key in list(keep):
        parts = key.split(".")
        for n in range(1, len(parts)):
            keep.update(f"{'.'.join(parts[:n])}.{tag}" for tag in TAGS)
    return {key: value for key, value in explicit.items() if key in keep}, None


def _loss_as_written(flat: dict[str, Any], spec: Any) -> dict[str, Any]:
    """`loss: {name: mse, reduction: sum}` as the config writes it (`Spec.to_yaml_dict`), not
    the spec's two fields."""
    reduction = flat.pop("loss_reduction", "mean")
    if reduction != "mean":
        flat["loss"] = spec.to_yaml_dict()["loss"]
    return flat


def files(run: RunInfo) -> list[tuple[str, int | None]]:
    """(name, bytes) of what is in the folder, sub-folders summed; temporary files left out.

    Size None: a dangling link or a file that cannot be read. Symlinked folders are not entered.
    """
    out: list[tuple[str, int | None]] = []
    for path in sorted(run.dir.iterdir()):
        if path.name.startswith("."):
            continue
        try:
            if path.is_dir() and not path.is_symlink():
                size = 0
                for root, _dirs, names in os.walk(path):
                    size += sum(os.lstat(os.path.join(root, n)).st_size for n in names)
                out.append((path.name + "/", size))
            else:
                out.append((path.name, path.stat().st_size))
        except OSError:
            out.append((path.name, None))
    return out


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"
