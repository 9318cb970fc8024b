"""Hostile and broken config files, by name: bytes to write and a fragment of the expected message.

`{marker}` in a document is replaced by a path that must never be created: the tags that
would run code in an unsafe loader try to create it.
"""

from __future__ import annotations

import random

VALID_HEAD = (
    "data: {dataset: xor}\nmodel: {layers: [{type: dense, units: 1, activation: sigmoid}]}\nloss: binary_crossentropy\n"
)


def _billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _merge_bomb() -> str:
    lines = ["x0: &x0 {k: 1}"]
    for i in range(1, 25):
        lines.append(f"x{i}: &x{i} {{<<: [*x{i - 1}, *x{i - 1}], k{i}: [*x{i - 1}, *x{i - 1}]}}")
    return "\n".join(lines) + "\n"


def _deep_block(levels: int) -> str:
    return "".join("  " * i + "a:\n" for i in range(levels)) + "  " * levels + "1\n"


def _garbage(seed: int, n: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(n))


#: name -> (file content, expected fragment of the error message, lowercased)
HOSTILE: dict[str, tuple[bytes, str]] = {
    "python_apply.yaml": (b'!!python/object/apply:os.system ["touch {marker}"]\n', "!!python/... are never executed"),
    "python_apply_nested.yaml": (
        (VALID_HEAD + 'name: !!python/object/apply:os.system ["touch {marker}"]\n').encode(),
        "!!python/... are never executed",
    ),
    "python_name.yaml": ((VALID_HEAD + "optimizer: !!python/name:os.system\n").encode(), "never executed"),
    "python_new.yaml": (b'!!python/object/new:subprocess.Popen [["touch", "{marker}"]]\n', "never executed"),
    "python_module.yaml": ((VALID_HEAD + "seed: !!python/module:os\n").encode(), "never executed"),
    "custom_tag.yaml": ((VALID_HEAD + "name: !include /etc/passwd\n").encode(), "never executed"),
    "billion_laughs.yaml": (_billion_laughs().encode(), "alias bomb"),
    "merge_bomb.yaml": (_merge_bomb().encode(), "alias bomb"),
    "deep_flow.yaml": (("x: " + "[" * 50_000 + "]" * 50_000 + "\n").encode(), "nested deeper"),
    "deep_block.yaml": (_deep_block(300).encode(), "nested deeper"),
    "huge_float.yaml": ((VALID_HEAD + "optimizer: {name: sgd, learning_rate: 1.0e+400}\n").encode(), "infinity"),
    "infinite_float.yaml": ((VALID_HEAD + "optimizer: {name: adam, epsilon: .inf}\n").encode(), "must be finite"),
    "nan_float.yaml": ((VALID_HEAD + "training: {early_stopping: {min_delta: .nan}}\n").encode(), "must be finite"),
    "huge_int.yaml": ((VALID_HEAD + "seed: " + "9" * 5000 + "\n").encode(), "digits is too large"),
    "huge_hex.yaml": ((VALID_HEAD + "training: {epochs: 0x" + "f" * 400 + "}\n").encode(), "too large"),
    "bad_date.yaml": ((VALID_HEAD + "seed: 2001-13-40\n").encode(), "cannot read this value"),
    "huge_string.yaml": ((VALID_HEAD + "name: " + "x" * 120_000 + "\n").encode(), "name"),
    "too_big.yaml": ((VALID_HEAD + "# " + "x" * 140_000 + "\n").encode(), "larger than"),
    "many_values.yaml": (("x:\n" + "- 1\n" * 20_000).encode(), "more than"),
    "wrong_types.yaml": (
        b"name: [1, 2]\nseed: seven\ndata: 5\nmodel: mlp\noptimizer: [adam]\nloss: 3\n"
        b"metrics: {accuracy: true}\ntraining: {epochs: ten, batch_size: -1, early_stopping: yes}\n",
        "seed",
    ),
    "wrong_types_deep.yaml": (
        (
            b"data: {dataset: [xor], test_size: '0.2'}\n"
            b"model: {layers: [{type: dense, units: 2.5, activation: 7}, 3, [dense]]}\n"
            b"loss: {name: mse}\noptimizer: {name: adam, learning_rate: '-1'}\n"
        ),
        "units",
    ),
    "binary_garbage.yaml": (_garbage(1, 4096), "not utf-8"),
    "control_chars.yaml": (b"name: x\x00y\x01\nseed: 1\n", "invalid yaml"),
    "bom_and_nul.yaml": (b"\xef\xbb\xbfname: a\n\x00\x00\x00\n", "invalid yaml"),
    "empty.yaml": (b"", "empty"),
    "only_comments.yaml": (b"# nothing here\n\n   \n", "empty"),
    "top_level_list.yaml": (b"- data\n- model\n", "expected a mapping"),
    "top_level_scalar.yaml": (b"just a string\n", "expected a mapping"),
    "top_level_null.yaml": (b"~\n", "expected a mapping"),
    "two_documents.yaml": ((VALID_HEAD + "---\n" + VALID_HEAD).encode(), "a single document"),
    "unhashable_key.yaml": (b"? [a, b]\n: c\n", "invalid yaml"),
    "bad_indent.yaml": (b"data:\n  dataset: xor\n model: 1\n", "invalid yaml"),
    "tabs.yaml": (b"data:\n\tdataset: xor\n", "invalid yaml"),
    "unclosed.yaml": (b"data: {dataset: xor\nmodel: [\n", "invalid yaml"),
}
