"""Array files with stable bytes: equal arrays always give byte-identical files.

``numpy.savez`` stamps each member with the current time, so two runs that
compute the same arrays write different files. :func:`save_npz` writes the same
``.npz`` format (readable by ``numpy.load``) with a fixed timestamp, atomically.
"""

from __future__ import annotations

import os
import signal
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["CRASH_AFTER_ENV", "crash_point", "save_npz"]

CRASH_AFTER_ENV = "CONCEPTLAB_CRASH_AFTER"
"""Fault injection for crash tests: a process whose environment sets this to the end of an
artifact's path (e.g. ``mine/candidates/00002.npz``) kills itself with SIGKILL right after
writing that file, at an exact point rather than whenever an outside signal lands."""

_CRASH_AFTER = os.environ.get(CRASH_AFTER_ENV) or None


def crash_point(path: Path) -> None:
    """Called by the atomic writers once ``path`` is in place: see :data:`CRASH_AFTER_ENV`."""
    if _CRASH_AFTER is not None and path.as_posix().endswith(_CRASH_AFTER):
        os.kill(os.getpid(), signal.SIGKILL)

_EPOCH = (1980, 1, 1, 0, 0, 0)


def save_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """Write ``arrays`` to ``path`` as an uncompressed ``.npz``, atomically and reproducibly."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            for name in sorted(arrays):
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
                with archive.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(arrays[name]), allow_pickle=False)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    crash_point(path)
