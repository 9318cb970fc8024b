"""Build hook only; the project is described in pyproject.toml.

`nnrun init` writes the example configs. They live once in git, in `configs/`; this hook
copies them (with `configs/data/`) into the built package as `nnrun/templates/`, so an
installed wheel has them. Editable installs skip the copy: `nnrun.templates` then reads
`configs/` in the checkout. (A symlink would not survive a wheel, and pointing a package at
`configs/` through `package-dir` does not combine with automatic package discovery.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CONFIGS = Path(__file__).resolve().parent / "configs"


class BuildWithTemplates(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False) or not CONFIGS.is_dir():
            return
        target = Path(self.build_lib) / "nnrun" / "templates"
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(CONFIGS.glob("*.yaml")):
            shutil.copy2(path, target / path.name)
        data = CONFIGS / "data"
        if data.is_dir():
            shutil.copytree(data, target / "data", dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithTemplates})
