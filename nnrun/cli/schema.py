"""`nnrun schema`: the JSON Schema of a config, generated from the pydantic models."""

from __future__ import annotations

import json

from nnrun.cli.options import OutputOpt


def schema(
    output: OutputOpt = None,
) -> None:
    """Print the JSON Schema of nnrun configs (point your editor's YAML plugin at it)."""
    from nnrun.spec.config import Spec

    data = Spec.model_json_schema()
    data["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    data["title"] = "nnrun config"
    text = json.dumps(data, indent=2) + "\n"
    from nnrun.output import write_output, write_stdout

    if output is None:
        write_stdout(text)
    else:
        write_output(output, text)
        write_stdout(f"wrote {output}\n")
