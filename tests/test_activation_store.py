"""The on-disk activation store and the streamed randomized SVD of the novelty filter."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conceptlab.activations import ActivationStore, build_store, iter_row_chunks
from conceptlab.errors import ComponentError
from conceptlab.filters.spectral import SpectralNoveltyFilter, randomized_right_basis
from conceptlab.interfaces import NoveltyContext
from conceptlab.values import Concept


def _write_units(folder, sizes, dims, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    whole = {name: [] for name in dims}
    paths = []
    for i, size in enumerate(sizes):
        arrays = {name: rng.normal(size=(size, *shape)).astype(np.float32) for name, shape in dims.items()}
        for name, arr in arrays.items():
            whole[name].append(arr.reshape(size, -1))
        path = folder / f"{i:05d}.npz"
        np.savez(path, **arrays)
        paths.append(path)
    return paths, {name: np.concatenate(parts) for name, parts in whole.items()}


def test_store_holds_every_unit_in_order_as_memory_maps(tmp_path):
    paths, whole = _write_units(tmp_path / "units", [5, 7, 3], {"torso.1": (2, 3), "head": (4,)})
    store = build_store(paths, tmp_path / "units" / "store")
    assert store.rows == 15
    assert store.layers["torso.1"].dim == 6 and store.layers["head"].dim == 4
    for name, expected in whole.items():
        mapped = store.layer(name)
        assert isinstance(mapped, np.memmap) and not mapped.flags.writeable
        np.testing.assert_array_equal(mapped, expected)
        np.testing.assert_array_equal(np.concatenate(list(store.iter_chunks(name, 4))), expected)
    # plain NumPy files: readable without conceptlab
    index = json.loads((store.path / "index.json").read_text())
    raw = np.load(store.path / index["layers"]["head"]["file"], mmap_mode="r")
    np.testing.assert_array_equal(raw, whole["head"])


def test_building_again_is_a_no_op_and_bytes_are_deterministic(tmp_path):
    paths, _ = _write_units(tmp_path / "a", [4, 4], {"x": (3,)})
    first = build_store(paths, tmp_path / "a" / "store")
    second = build_store(paths, tmp_path / "b" / "store")
    for info in first.layers.values():
        assert (first.path / info.file).read_bytes() == (second.path / info.file).read_bytes()
    mtime = (first.path / "index.json").stat().st_mtime_ns
    build_store(paths, first.path)
    assert (first.path / "index.json").stat().st_mtime_ns == mtime


def test_store_errors_name_the_problem(tmp_path):
    with pytest.raises(ComponentError, match="no activation store"):
        ActivationStore(tmp_path)
    with pytest.raises(ComponentError, match="no activation units"):
        build_store([], tmp_path / "store")
    paths, _ = _write_units(tmp_path / "u", [2], {"x": (3,)})
    store = build_store(paths, tmp_path / "u" / "store")
    with pytest.raises(ComponentError, match="no layer 'y'; it has: x"):
        store.layer("y")
    np.savez(tmp_path / "u" / "00001.npz", x=np.zeros((2, 5), np.float32))
    with pytest.raises(ComponentError, match="layer 'x' has dim 5, earlier units 3"):
        build_store(sorted((tmp_path / "u").glob("*.npz")), tmp_path / "other")


def test_row_chunks_of_selected_rows():
    matrix = np.arange(20).reshape(10, 2)
    chunks = list(iter_row_chunks(matrix, 2, rows=[1, 4, 5, 9]))
    assert [len(c) for c in chunks] == [2, 2]
    np.testing.assert_array_equal(np.concatenate(chunks), matrix[[1, 4, 5, 9]])


def _low_rank(rng, n, dim, rank, decay=0.7, noise=1e-3):
    left = np.linalg.qr(rng.normal(size=(n, rank)))[0]
    right = np.linalg.qr(rng.normal(size=(dim, rank)))[0]
    values = 10 * decay ** np.arange(rank)
    return (left * values) @ right.T + noise * rng.normal(size=(n, dim))


@pytest.mark.parametrize("center", [False, True])
def test_randomized_basis_matches_the_exact_svd(center):
    rng = np.random.default_rng(3)
    acts = _low_rank(rng, 600, 40, 20) + (1.5 if center else 0.0)
    rank = 8
    singular, vt = randomized_right_basis(acts, rank, rng, center=center, chunk_rows=64)
    rows = acts - acts.mean(axis=0) if center else acts
    _, exact_s, exact_vt = np.linalg.svd(rows, full_matrices=False)
    np.testing.assert_allclose(singular, exact_s[:rank], rtol=1e-6)
    np.testing.assert_allclose(vt @ vt.T, np.eye(rank), atol=1e-10)
    # same subspace: the largest principal angle between the two bases is ~0
    cosines = np.linalg.svd(vt @ exact_vt[:rank].T, compute_uv=False)
    assert cosines.min() > 1 - 1e-8


def test_randomized_basis_on_a_memory_mapped_store_and_a_row_subset(tmp_path):
    rng = np.random.default_rng(5)
    acts = _low_rank(rng, 300, 24, 10).astype(np.float32)
    np.savez(tmp_path / "00000.npz", layer=acts)
    store = build_store([tmp_path / "00000.npz"], tmp_path / "store")
    rows = np.sort(rng.choice(300, size=120, replace=False))
    singular, vt = randomized_right_basis(store.layer("layer"), 6, rng, rows=rows, chunk_rows=50)
    _, exact_s, exact_vt = np.linalg.svd(acts[rows].astype(np.float64), full_matrices=False)
    np.testing.assert_allclose(singular, exact_s[:6], rtol=1e-5)
    assert np.linalg.svd(vt @ exact_vt[:6].T, compute_uv=False).min() > 1 - 1e-6


def _concept(vector, cid="c"):
    return Concept(id=cid, layer="layer", vector=np.asarray(vector, dtype=np.float64), provenance={}, metrics={})


def test_filter_verdicts_agree_between_exact_and_randomized_svd():
    rng = np.random.default_rng(11)
    dim = 32
    agent = _low_rank(rng, 400, dim, 12)
    reference = _low_rank(rng, 400, dim, 12)
    context = NoveltyContext({"layer": agent}, {"layer": reference}, "synthetic")
    exact = SpectralNoveltyFilter(SpectralNoveltyFilter.Params(svd="exact", k_grid=[1, 2, 4, 8]))
    approx = SpectralNoveltyFilter(
        SpectralNoveltyFilter.Params(svd="randomized", max_rank=8, k_grid=[1, 2, 4, 8], chunk_rows=64)
    )
    exact.prepare(context, np.random.default_rng(0))
    approx.prepare(context, np.random.default_rng(0))
    for i in range(6):
        concept = _concept(rng.normal(size=dim), f"c{i}")
        a = exact.assess(concept, rng)
        b = approx.assess(concept, rng)
        assert a.passed == b.passed
        assert b.scores["randomized_svd"] == 1.0 and "randomized_svd" not in a.scores
        for k in (1, 2, 4, 8):
            assert b.scores[f"score_k={k}"] == pytest.approx(a.scores[f"score_k={k}"], abs=1e-6)


def test_auto_switches_to_randomized_above_the_memory_budget():
    rng = np.random.default_rng(2)
    acts = rng.normal(size=(64, 16))
    context = NoveltyContext({"layer": acts}, {"layer": acts.copy()}, "same")
    small = SpectralNoveltyFilter(SpectralNoveltyFilter.Params(exact_max_mb=1.0))
    tiny = SpectralNoveltyFilter(SpectralNoveltyFilter.Params(exact_max_mb=0.001, max_rank=4))
    small.prepare(context, rng)
    tiny.prepare(context, rng)
    assert "randomized_svd" not in small.assess(_concept(acts[0]), rng).scores
    verdict = tiny.assess(_concept(acts[0]), rng)
    assert verdict.scores["randomized_svd"] == 1.0 and verdict.scores["rank_agent"] == 4.0
