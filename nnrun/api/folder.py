"""What `Run` and `Sweep` have in common: each stands for one folder on disk."""

from __future__ import annotations

from pathlib import Path


class FolderObject:
    """A Python object for a folder: two are equal (and hash alike) when they name the same folder.

    Attributes:
        dir: the folder, absolute.
    """

    def __init__(self, folder: str | Path) -> None:
        self.dir = Path(folder).expanduser().resolve()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self)) and other.dir == self.dir

    def __hash__(self) -> int:
        return hash(self.dir)
