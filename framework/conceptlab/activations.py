"""Activations on disk: one ``.npy`` file per layer, memory-mapped, with a small JSON index.

Stages record activations in resumable units of a few dozen states each (one
``.npz`` per unit). Once every unit of a group is written, :func:`build_store`
copies them, one unit at a time, into an :class:`ActivationStore`::

    <group>/store/index.json        {"rows": n, "layers": {layer: {"file", "dim", "dtype"}}}
    <group>/store/layer_000.npy     (n, dim) float32, row i = state i of the group

Readers get an ``np.memmap`` per layer (:meth:`ActivationStore.layer`), so
slicing a few rows reads only those rows, and :meth:`ActivationStore.iter_chunks`
walks a layer in blocks of rows for algorithms that stream (the novelty SVD). No
step holds more than one unit or one block of rows in memory, so a pool may be
larger than memory. The files are plain NumPy format: ``np.load(path,
mmap_mode="r")`` opens them without conceptlab.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from conceptlab.errors import ComponentError

__all__ = ["STORE_DIR", "ActivationStore", "LayerInfo", "build_store", "iter_row_chunks", "read_layer"]

STORE_DIR = "store"
"""Name of a group's store folder, beside its unit files."""

INDEX = "index.json"


@dataclass(frozen=True)
class LayerInfo:
    """Where one layer's activations are and what shape they have."""

    file: str
    """File name of the ``.npy`` array inside the store folder."""
    dim: int
    """Entries per state (the layer's activations flattened)."""
    dtype: str
    """NumPy dtype name of the stored array."""


class ActivationStore:
    """A finished store folder: per-layer arrays of ``rows`` states, read without loading.

    Args:
        path: The store folder (holding ``index.json``).

    Raises:
        ComponentError: The folder holds no index (the store was never built).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        index_path = self.path / INDEX
        if not index_path.is_file():
            raise ComponentError(f"no activation store at {str(self.path)!r} (missing {INDEX})")
        index = json.loads(index_path.read_text(encoding="utf-8"))
        self.rows: int = int(index["rows"])
        """States stored (rows of every layer's array)."""
        self.layers: dict[str, LayerInfo] = {
            name: LayerInfo(**info) for name, info in index["layers"].items()
        }
        """Layer name -> its file and shape."""

    @staticmethod
    def exists(path: str | Path) -> bool:
        """Whether ``path`` holds a finished store."""
        return (Path(path) / INDEX).is_file()

    def layer(self, name: str) -> np.memmap:
        """Layer ``name`` as a read-only memory map, ``(rows, dim)``.

        Raises:
            ComponentError: The store has no such layer.
        """
        try:
            info = self.layers[name]
        except KeyError:
            known = ", ".join(sorted(self.layers)) or "none"
            raise ComponentError(
                f"activation store {str(self.path)!r} has no layer {name!r}; it has: {known}"
            ) from None
        return np.load(self.path / info.file, mmap_mode="r")

    def iter_chunks(self, name: str, chunk_rows: int = 4096) -> Iterator[np.ndarray]:
        """Layer ``name`` in consecutive in-memory blocks of at most ``chunk_rows`` rows."""
        yield from iter_row_chunks(self.layer(name), chunk_rows)

    def nbytes(self) -> int:
        """Bytes of every layer's array on disk (headers excluded)."""
        return sum(self.rows * info.dim * np.dtype(info.dtype).itemsize for info in self.layers.values())

    def __repr__(self) -> str:
        return f"ActivationStore({str(self.path)!r}, rows={self.rows}, layers={sorted(self.layers)!r})"


def iter_row_chunks(
    matrix: np.ndarray, chunk_rows: int, rows: Sequence[int] | np.ndarray | None = None
) -> Iterator[np.ndarray]:
    """Rows of ``matrix`` (all, or the listed ``rows`` in order) as in-memory copies, block by block.

    Works on any array. On a memory map, each block is copied out and the mapped
    pages are released before it is yielded, so the process's resident memory
    stays about one block however large the file is (the data stays in the
    operating system's file cache).
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1 (got {chunk_rows})")
    # only read-only maps: a copy-on-write map would lose its private changes
    mapping = getattr(matrix, "_mmap", None) if getattr(matrix, "mode", None) == "r" else None
    index = None if rows is None else np.asarray(rows, dtype=np.int64)
    total = len(matrix) if index is None else len(index)
    for start in range(0, total, chunk_rows):
        if index is None:
            block = np.array(matrix[start:start + chunk_rows])
        else:
            block = np.array(matrix[index[start:start + chunk_rows]])
        if mapping is not None:
            _release(mapping)
        yield block.view(np.ndarray)


def _release(mapping: mmap.mmap) -> None:
    """Drop a read-only file mapping's pages from this process (they are re-read on access)."""
    if hasattr(mmap, "MADV_DONTNEED"):
        try:
            mapping.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):  # closed, or a platform that refuses: only memory is at stake
            pass


def build_store(
    units: Sequence[str | Path], out: str | Path, layers: Sequence[str] | None = None
) -> ActivationStore:
    """Copy unit files (``.npz``, layer -> ``(k, dim)``), in order, into a store at ``out``.

    Reads one unit at a time and writes into preallocated ``.npy`` files, so
    memory stays one unit's size. The store is written to a temporary folder and
    renamed into place, so a killed build leaves no half store; an existing store
    at ``out`` is returned as it is. The bytes depend only on the units.

    Args:
        units: The unit files, in row order.
        out: The store folder to create.
        layers: Layers to store (default: every array of the first unit).

    Raises:
        ComponentError: No units, or units that disagree on layers or dimensions.
    """
    out = Path(out)
    if ActivationStore.exists(out):
        return ActivationStore(out)
    if not units:
        raise ComponentError(f"no activation units to store in {str(out)!r}")
    shapes: dict[str, tuple[int, str]] = {}
    counts: list[int] = []
    for unit in units:  # first pass: headers only, to size the arrays
        with np.load(unit) as data:
            names = list(layers) if layers is not None else sorted(data.files)
            if not shapes:
                for name in names:
                    if name not in data.files:
                        raise ComponentError(f"activation unit {str(unit)!r} has no layer {name!r}")
                    arr = data[name]
                    shapes[name] = (int(np.prod(arr.shape[1:])), arr.dtype.str)
            counts.append(_unit_rows(data, unit, shapes))
    rows = sum(counts)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files = {name: f"layer_{i:03d}.npy" for i, name in enumerate(shapes)}
    arrays = {
        name: np.lib.format.open_memmap(tmp / files[name], mode="w+", dtype=np.dtype(dtype), shape=(rows, dim))
        for name, (dim, dtype) in shapes.items()
    }
    start = 0
    for unit, count in zip(units, counts, strict=True):
        with np.load(unit) as data:
            for name, array in arrays.items():
                array[start:start + count] = data[name].reshape(count, -1)
        start += count
    for array in arrays.values():
        array.flush()
    del arrays
    index = {
        "rows": rows,
        "layers": {
            name: {"file": files[name], "dim": dim, "dtype": np.dtype(dtype).name}
            for name, (dim, dtype) in shapes.items()
        },
    }
    (tmp / INDEX).write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if out.exists():  # a half-removed earlier attempt; the index check above saw no store
        shutil.rmtree(out)
    os.replace(tmp, out)
    return ActivationStore(out)


def _unit_rows(data: Mapping[str, np.ndarray], unit: str | Path, shapes: Mapping[str, tuple[int, str]]) -> int:
    count = None
    for name, (dim, _) in shapes.items():
        if name not in data:
            raise ComponentError(f"activation unit {str(unit)!r} has no layer {name!r}")
        arr = data[name]
        if int(np.prod(arr.shape[1:])) != dim:
            raise ComponentError(
                f"activation unit {str(unit)!r}: layer {name!r} has dim {int(np.prod(arr.shape[1:]))}, "
                f"earlier units {dim}"
            )
        if count is not None and arr.shape[0] != count:
            raise ComponentError(f"activation unit {str(unit)!r}: layers have different row counts")
        count = int(arr.shape[0])
    return int(count or 0)


def read_layer(folder: Path, layer: str) -> np.ndarray | None:
    """One layer of the activations recorded in ``folder``, ``(n, dim)``; ``None`` when nothing is recorded.

    A read-only memory map of the folder's activation store when it has one,
    else its unit files (``*.npz``) stacked in memory, in file-name order.
    """
    if ActivationStore.exists(folder / STORE_DIR):
        return ActivationStore(folder / STORE_DIR).layer(layer)
    parts = []
    for path in sorted(folder.glob("*.npz")):
        with np.load(path) as data:
            parts.append(data[layer])
    return np.concatenate(parts, axis=0) if parts else None
