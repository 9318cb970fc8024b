"""Weight initializers: `kernel_initializer` / `bias_initializer` of a layer, with Keras's
names and arguments: `glorot_uniform`, `he_normal`, `zeros`, or a mapping such as
`{name: random_uniform, minval: -1, maxval: 1}` (the study guide's np.random.uniform(-1, 1))."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import Field, model_serializer, model_validator

from nnrun.spec.base import StrictModel

#: Initializer name -> the arguments it takes (Keras's own names for both).
INITIALIZERS: dict[str, tuple[str, ...]] = {
    "zeros": (),
    "ones": (),
    "constant": ("value",),
    "random_uniform": ("minval", "maxval", "seed"),
    "random_normal": ("mean", "stddev", "seed"),
    "truncated_normal": ("mean", "stddev", "seed"),
    "glorot_uniform": ("seed",),
    "glorot_normal": ("seed",),
    "he_uniform": ("seed",),
    "he_normal": ("seed",),
    "lecun_uniform": ("seed",),
    "lecun_normal": ("seed",),
    "orthogonal": ("gain", "seed"),
    "identity": ("gain",),
    "variance_scaling": ("scale", "mode", "distribution", "seed"),
}


class Initializer(StrictModel):
    """A Keras initializer by name, with its arguments."""

    name: str = Field(description=f"One of: {', '.join(INITIALIZERS)}.")
    args: dict[str, float | int | str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, data: Any) -> Any:
        """`he_normal` or `{name: random_uniform, minval: -1, maxval: 1}` -> name and args."""
        if isinstance(data, str):
            data = {"name": data}
        if not isinstance(data, dict) or "args" in data:
            return data
        name = data.get("name")
        if not isinstance(name, str):
            raise ValueError(f"expected an initializer name or {{name: ..., <argument>: ...}}. Received: {data!r}")
        if name not in INITIALIZERS:
            near = difflib.get_close_matches(name, list(INITIALIZERS), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ValueError(f"unknown initializer {name!r}{hint}; expected one of: {', '.join(INITIALIZERS)}")
        args = {k: v for k, v in data.items() if k != "name"}
        wrong = sorted(set(args) - set(INITIALIZERS[name]))
        if wrong:
            takes = ", ".join(INITIALIZERS[name]) or "no arguments"
            raise ValueError(f"initializer {name} takes {takes}. Received: {', '.join(wrong)}")
        return {"name": name, "args": args}

    @model_serializer
    def _dump(self) -> Any:
        return {"name": self.name, **self.args} if self.args else self.name
