"""Swapping a mining or filtering strategy is a one-line change in a spec.

One tiny tic-tac-toe run is trained and collected once; every variant below is
the same spec with exactly one ``--set`` line changed, run through the stages
that use the strategies (mine, teach, novelty, amplify, export, and probe, whose
known-concept validation runs the miner on static problems). Each variant must
finish with every candidate either mined or failed with a reason, and every
verdict carrying its numbers and a sentence. Degenerate programs (all-zero
activations, no constraint pairs) must fail per candidate, with a reason, and
never stop the run.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from conceptlab.arrays import save_npz
from conceptlab.hookspecs import hookimpl
from conceptlab.interfaces import NoveltyContext, NoveltyFilter, StrictParams
from conceptlab.pipeline import run_pipeline
from conceptlab.plugins import get_registry
from conceptlab.run.store import read_candidates
from conceptlab.rundir import RunDir, atomic_write_json
from conceptlab.spec import apply_overrides, spec_from_dict
from conceptlab.values import Concept, Verdict

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "specs" / "tictactoe-tiny.toml"
UPSTREAM = ("train", "collect")
DOWNSTREAM = ["mine", "teach", "novelty", "amplify", "export", "probe"]
BASE = ["stages.novelty.only_teachable=false"]
"""The base of every variant: novelty assesses every mined concept, so its verdicts are checked too."""


def _base_data() -> dict[str, Any]:
    import tomllib

    return apply_overrides(tomllib.loads(TINY.read_text()), BASE)


class _CosineToMeanNovelty(NoveltyFilter):
    """A third-party novelty filter: novel when the concept is far from the agent's mean activation."""

    name: ClassVar[str] = "far-from-mean"

    class Params(StrictParams):
        max_cosine: float = 0.5

    def prepare(self, context: NoveltyContext, rng: np.random.Generator) -> None:
        self.means = {k: np.asarray(v).mean(axis=0) for k, v in context.agent_activations.items()}

    def assess(self, concept: Concept, rng: np.random.Generator) -> Verdict:
        mean = self.means[concept.layer]
        v = np.asarray(concept.vector)
        cosine = float(abs(v @ mean) / max(np.linalg.norm(v) * np.linalg.norm(mean), 1e-12))
        passed = cosine <= self.params.max_cosine
        return Verdict(concept.id, self.name, passed, {"cosine": cosine, "max_cosine": self.params.max_cosine},
                       f"|cos(v, mean activation)| = {cosine:.3f}, "
                       f"{'at most' if passed else 'above'} the limit {self.params.max_cosine}")


class _ThirdParty:
    @hookimpl
    def register_novelty_filters(self) -> list[type]:
        return [_CosineToMeanNovelty]


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Train and collect of the base spec, once for every variant."""
    out = tmp_path_factory.mktemp("swap") / "base"
    run_pipeline(spec_from_dict(_base_data()), out, stages=list(UPSTREAM), progress=False)
    return out


@pytest.fixture(scope="module")
def registry() -> Any:
    return get_registry(extra_plugins=[("third-party", _ThirdParty())])


def run_variant(
    upstream: Path, out: Path, line: str | None, registry: Any,
    edit: Callable[[Path], None] | None = None,
) -> dict[str, Any]:
    """The base spec with one override ``line``, reusing the upstream stages' artifacts."""
    data = _base_data()
    if line is not None:
        changed = apply_overrides(data, [line])
        assert changed != data, f"{line!r} changes nothing"
        data = changed
    spec = spec_from_dict(data)
    run_dir = RunDir(out, spec)
    run_dir.open()
    for stage in UPSTREAM:
        shutil.copytree(upstream / stage, out / stage)
        run_dir.update_stage(stage, status="finished", hash=run_dir.stage_hashes[stage])  # grafted as they are
    if edit is not None:
        edit(out)
    return run_pipeline(spec, out, stages=DOWNSTREAM, resume=True, registry=registry, progress=False)


def _candidates(run: Path) -> list[dict[str, Any]]:
    return read_candidates(run)


def _check_verdict(verdict: dict[str, Any]) -> None:
    assert verdict["scores"], verdict
    assert all(isinstance(v, float) for v in verdict["scores"].values()), verdict
    assert any(math.isfinite(v) for v in verdict["scores"].values()), verdict
    reason = verdict["reason"]
    assert isinstance(reason, str) and len(reason.split()) >= 4, verdict
    assert any(ch.isdigit() for ch in reason) or "no " in reason, verdict


def _check_run(run: Path, manifest: dict[str, Any], miner: str) -> list[dict[str, Any]]:
    for stage in DOWNSTREAM:
        assert manifest["stages"][stage]["status"] == "finished", stage
    candidates = _candidates(run)
    assert candidates
    for record in candidates:
        assert record["miner"]["name"] == miner
        if record["vector"] is None:
            assert record["status"] and len(record["reason"].split()) >= 4, record
    mined = {r["id"] for r in candidates if r["vector"] is not None}
    teach = json.loads((run / "teach" / "summary.json").read_text())
    novelty = json.loads((run / "novelty" / "summary.json").read_text())
    assert {v["concept_id"] for v in teach} == mined
    assert {v["concept_id"] for v in novelty} == mined
    for verdict in teach + novelty:
        _check_verdict(verdict)
    known = json.loads((run / "probe" / "known_concepts.json").read_text())
    assert repr(miner) in known["method"]
    assert known["rows"] or known["failures"]
    return candidates


MINER_LINES = {
    "convex (cvxpy)": (None, "convex"),
    "convex (direct LP)": ("miner.params.backend=\"lp\"", "convex"),
    "convex, one player's steps": ("stages.mine.steps=\"even\"", "convex"),
    "convex, prophylactic": ("stages.mine.signs=[-1]", "convex"),
    "cav": ("miner.name=\"cav\"", "cav"),
    "mean-difference": ("miner.name=\"mean-difference\"", "mean-difference"),
}


@pytest.mark.parametrize("variant", list(MINER_LINES))
def test_each_miner_is_one_line_away(variant: str, upstream: Path, registry: Any, tmp_path: Path) -> None:
    line, miner = MINER_LINES[variant]
    manifest = run_variant(upstream, tmp_path / "run", line, registry)
    candidates = _check_run(tmp_path / "run", manifest, miner)
    assert any(r["vector"] is not None for r in candidates), "no candidate was mined"
    if line is not None and line.startswith("stages.mine."):
        key, value = line.split("=")[0].split(".")[-1], json.loads(line.split("=", 1)[1])
        expected = "prophylactic" if value == [-1] else "even"
        assert all(expected in r["id"] for r in candidates), key


FILTER_LINES = {
    "kl-student, rule beats-both-controls": ("teachability.params.rule=\"beats-both-controls\"", "kl-student", "spectral"),
    "kl-student, rule beats-random-positions": ("teachability.params.rule=\"beats-random-positions\"", "kl-student", "spectral"),
    "spectral, rule majority-positive": ("novelty.params.rule=\"majority-positive\"", "kl-student", "spectral"),
    "a third-party novelty filter": ("novelty.name=\"far-from-mean\"", "kl-student", "far-from-mean"),
}


@pytest.mark.parametrize("variant", list(FILTER_LINES))
def test_each_filter_is_one_line_away(variant: str, upstream: Path, registry: Any, tmp_path: Path) -> None:
    line, teach_name, novelty_name = FILTER_LINES[variant]
    manifest = run_variant(upstream, tmp_path / "run", line, registry)
    _check_run(tmp_path / "run", manifest, "convex")
    teach = json.loads((tmp_path / "run" / "teach" / "summary.json").read_text())
    novelty = json.loads((tmp_path / "run" / "novelty" / "summary.json").read_text())
    assert teach and novelty
    assert {v["filter"] for v in teach} == {teach_name}
    assert {v["filter"] for v in novelty} == {novelty_name}
    spec = json.loads((tmp_path / "run" / "spec.json").read_text())
    if "rule" in line:
        section = line.split(".")[0]
        assert spec[section]["params"]["rule"] == json.loads(line.split("=", 1)[1])


def _drop_store(folder: Path) -> None:
    """Remove a gathered copy of the unit files, so that readers see the edited units."""
    shutil.rmtree(folder / "store", ignore_errors=True)


def _zero_activations(run: Path) -> None:
    _drop_store(run / "collect" / "rollout_acts")
    for path in sorted((run / "collect" / "rollout_acts").glob("*.npz")):
        with np.load(path) as data:
            zeros = {name: np.zeros_like(data[name]) for name in data.files}
        save_npz(path, **zeros)


def _no_subpar_lines(run: Path) -> None:
    """Keep only the chosen rollouts (and their activation rows): no constraint pairs are left."""
    rollouts = json.loads((run / "collect" / "rollouts.json").read_text())
    folder = run / "collect" / "rollout_acts"
    _drop_store(folder)
    files = sorted(folder.glob("*.npz"))
    acts: dict[str, list[np.ndarray]] = {}
    for path in files:
        with np.load(path) as data:
            for name in data.files:
                acts.setdefault(name, []).append(data[name])
        path.unlink()
    stacked = {name: np.concatenate(parts) for name, parts in acts.items()}
    keep, row = [], 0
    for record in rollouts:
        n = len(record["chosen"]["states"])
        keep.extend(range(row, row + n))
        row += n + sum(len(line["states"]) for line in record["subpar"])
        record["subpar"] = []
    assert row == len(next(iter(stacked.values())))
    save_npz(folder / "00000.npz", **{name: a[keep] for name, a in stacked.items()})
    atomic_write_json(run / "collect" / "rollouts.json", rollouts)


@pytest.mark.parametrize("miner", ["convex", "cav", "mean-difference"])
@pytest.mark.parametrize("defect", ["all-zero activations", "no constraints"])
def test_a_degenerate_program_is_an_explained_failure_not_a_crash(
    miner: str, defect: str, upstream: Path, registry: Any, tmp_path: Path
) -> None:
    edit = _zero_activations if defect == "all-zero activations" else _no_subpar_lines
    manifest = run_variant(upstream, tmp_path / "run", f"miner.name=\"{miner}\"" if miner != "convex" else None,
                           registry, edit=edit)
    assert manifest["stages"]["export"]["status"] == "finished"
    candidates = _candidates(tmp_path / "run")
    assert candidates
    words = "identical" if defect == "all-zero activations" else "no training pairs"
    for record in candidates:
        assert record["vector"] is None, record["id"]
        assert words in record["reason"], record["reason"]
    figures = manifest["stages"]["mine"]["figures"]
    assert figures["mined"] == 0 and figures["failed"] == len(candidates)
    assert manifest["stages"]["teach"]["figures"]["assessed"] == 0
