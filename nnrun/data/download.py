"""Keras's first-use download of a dataset file, with a bounded wait and one clear error.

The only module of `nnrun.data` that imports Keras, and only when a file is missing from
Keras's cache: `keras.utils.get_file` (the function `keras.datasets` uses) fetches it into the
same place (`$KERAS_HOME/datasets/`, default `~/.keras/datasets/`). When that fails (offline, a
host this machine cannot reach, a server that never answers) the error names the file, the URL
and the folder to put it in.

`NNRUN_DATASETS_MIRROR` (a base URL) fetches the same file names from a mirror instead, e.g. a
classroom server. A download is checked against the SHA-256 Keras's loaders check (those files
that have one: MNIST, CIFAR-10, IMDB), from a mirror as from the origin: a file that differs is
removed and the error says so, names the file and what to do.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from nnrun.data.base import DataProblem

#: A base URL serving the same file names (tests, classrooms without internet access).
MIRROR_ENV = "NNRUN_DATASETS_MIRROR"
#: Seconds to wait for a connection or a read before giving up on a download.
TIMEOUT_ENV = "NNRUN_DOWNLOAD_TIMEOUT"
DEFAULT_TIMEOUT = 20.0


@dataclass(frozen=True)
class RemoteFile:
    """One file as `keras.datasets` fetches it with `get_file`."""

    fname: str
    origin: str
    file_hash: str | None = None
    #: Below the Keras home (`get_file`'s `cache_subdir`).
    cache_subdir: str = "datasets"
    #: An archive that `get_file(extract=True)` unpacks into the folder `fname`.
    extract: bool = False

    def url(self) -> str:
        mirror = os.environ.get(MIRROR_ENV)
        if mirror:
            return mirror.rstrip("/") + "/" + self.origin.rsplit("/", 1)[1]
        return self.origin

    def local(self) -> Path:
        """Where Keras keeps it (for an archive: the folder it is extracted into)."""
        return keras_home() / self.cache_subdir / self.fname

    def download_target(self) -> Path:
        """Where `get_file` saves the download (an archive: beside the folder it is extracted into)."""
        return self.local().with_name(f"{self.fname}_archive") if self.extract else self.local()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _corrupted(remote: RemoteFile, url: str, dataset: str) -> DataProblem | None:
    """The error for a download whose hash is not Keras's (the file removed), else None."""
    path = remote.download_target()
    if remote.file_hash is None or not path.is_file():
        return None
    got = sha256(path)
    if got == remote.file_hash:
        return None
    with contextlib.suppress(OSError):
        path.unlink()
    mirror = os.environ.get(MIRROR_ENV)
    where = (
        f"The mirror ({MIRROR_ENV}={mirror}) serves a different or damaged file: replace it there with "
        f"Keras's file from {remote.origin}, or unset {MIRROR_ENV} to download from the origin"
        if mirror
        else "The download was damaged: try again, or download it on another machine and put it in "
        f"{remote.local().parent}/"
    )
    return DataProblem(
        ("data", "dataset"),
        f"{dataset}: {url.rsplit('/', 1)[1]} from {url} is not the file Keras expects (SHA-256 {got[:16]}..., "
        f"expected {remote.file_hash[:16]}...); it was removed and nothing was read. {where}",
    )


def keras_home() -> Path:
    """Keras's cache root, found as Keras finds it (`keras.src.backend.config`)."""
    home = os.environ.get("KERAS_HOME")
    if home:
        return Path(home).expanduser()
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp"
    return Path(base) / ".keras"


def fetch(remote: RemoteFile, dataset: str) -> Path:
    """The cached file (or extracted folder), downloaded with Keras's `get_file` if absent."""
    target = remote.local()
    if target.exists():
        return target
    url = remote.url()
    timeout = float(os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT)
    try:
        from nnrun.tf_import import import_tensorflow

        import_tensorflow()
        from keras.utils import get_file

        # get_file falls back to /tmp/.keras when the cache root is missing or not writable.
        with contextlib.suppress(OSError):
            keras_home().mkdir(parents=True, exist_ok=True)
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(timeout)  # urlretrieve has no timeout of its own
        try:
            # Keras prints its progress on stdout, which belongs to nnrun's own output.
            with contextlib.redirect_stdout(sys.stderr):
                got = get_file(
                    fname=remote.fname,
                    origin=url,
                    file_hash=remote.file_hash,  # get_file checks it before it extracts an archive
                    cache_subdir=remote.cache_subdir,
                    cache_dir=str(keras_home()),
                    extract=remote.extract,
                )
        finally:
            socket.setdefaulttimeout(previous)
    except Exception as exc:  # noqa: BLE001 - any failure to fetch is the same advice
        corrupted = _corrupted(remote, url, dataset)  # get_file keeps a file whose hash is wrong
        if corrupted is not None:
            raise corrupted from None
        reason = " ".join(str(exc).split()) or type(exc).__name__
        reason = reason.split(" -- ", 1)[-1][:200]  # Keras's "URL fetch failure on URL: code -- reason"
        name = url.rsplit("/", 1)[1]
        folder = target.parent
        place = f"unpack {name} into {target}/" if remote.extract else f"put it in {folder}/"
        raise DataProblem(
            ("data", "dataset"),
            f"{dataset}: {target.name} is not in Keras's cache and could not be downloaded from {url} "
            f"({reason}). Download it on a machine with internet access and {place}",
        ) from None
    return Path(got)
