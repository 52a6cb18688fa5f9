"""Checksums: a finished stage's files are checked before a resumed run reads them; damaged ones are recomputed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conceptlab.pipeline import run_pipeline
from conceptlab.rundir import RunDir
from conceptlab.spec import STAGES, load_spec

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "specs" / "tictactoe-tiny.toml"
CHANGED_TEACH = ["stages.teach.fdr_q=0.2"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "tiny"
    run_pipeline(load_spec(TINY), out, progress=False)
    return out


def _files(path: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(path)): (p.read_bytes(), p.stat().st_mtime_ns) for p in path.rglob("*") if p.is_file()}


def _same_unit(name: str, other: str) -> bool:
    """Whether two files are one unit: a candidate's JSON and its array file are written together."""
    stem, other_stem = Path(name).with_suffix(""), Path(other).with_suffix("")
    return name == other or (name.startswith("candidates/") and stem == other_stem)


def test_every_finished_stage_records_the_checksum_of_each_of_its_files(finished):
    manifest = json.loads((finished / "manifest.json").read_text())
    run_dir = RunDir(finished, load_spec(TINY))
    for stage in STAGES:
        recorded = manifest["stages"][stage]["checksums"]
        on_disk = {str(p.relative_to(finished)) for p in (finished / stage).rglob("*") if p.is_file()}
        assert set(recorded) == on_disk, stage
        assert recorded == run_dir.checksums(stage) and run_dir.damaged(stage, manifest["stages"][stage]) == []


@pytest.mark.parametrize("victim", ["mine/candidates/00001.json", "mine/candidates/00001.npz",
                                    "collect/pool_acts/store/layer_000.npy", "collect/disagreements/00002.json"])
def test_a_truncated_file_is_recomputed_before_a_stage_reads_it(finished, tmp_path, victim):
    run = tmp_path / "tiny"
    shutil.copytree(finished, run)
    original = (run / victim).read_bytes()
    with open(run / victim, "r+b") as fh:
        fh.truncate(len(original) // 2)
    stage, inside = victim.split("/", 1)
    before = _files(run / stage)

    manifest = run_pipeline(load_spec(TINY, CHANGED_TEACH), run, resume=True, progress=False)

    assert manifest["runtime"]["recomputed"] == [victim]
    assert (run / victim).read_bytes() == original  # recomputed to the same bytes
    assert manifest["stages"][stage]["status"] == "finished"
    after = _files(run / stage)
    expected = {name: data for name, (data, _) in before.items()} | {inside: original}
    assert {name: data for name, (data, _) in after.items()} == expected
    units = [name for name in before if name.endswith((".json", ".npz")) and "/" in name
             and "/store/" not in name and not _same_unit(name, inside)]
    assert units and all(after[name][1] == before[name][1] for name in units), "a sound unit was recomputed"
    for upstream in STAGES[: STAGES.index(stage)]:
        assert _files(run / upstream) == _files(finished / upstream)


def test_an_edited_file_of_a_stage_nothing_reads_is_left_alone(finished, tmp_path):
    run = tmp_path / "tiny"
    shutil.copytree(finished, run)
    (run / "probe" / "probing.json").write_text("{}")
    manifest = run_pipeline(load_spec(TINY, CHANGED_TEACH), run, resume=True, progress=False)
    assert manifest["runtime"]["recomputed"] == []
    assert RunDir(run, load_spec(TINY)).damaged("probe", manifest["stages"]["probe"]) == ["probe/probing.json"]


@pytest.mark.parametrize("victim", ["mine/candidates/00001.json", "collect/rollout_acts/00000.npz"])
def test_a_truncated_unit_of_an_unfinished_stage_is_recomputed(finished, tmp_path, capfd, victim):
    run = tmp_path / "tiny"
    shutil.copytree(finished, run)
    stage, inside = victim.split("/", 1)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["stages"][stage] = {"status": "running", "hash": manifest["stages"][stage]["hash"]}  # killed
    (run / "manifest.json").write_text(json.dumps(manifest))
    original = (run / victim).read_bytes()
    with open(run / victim, "r+b") as fh:
        fh.truncate(len(original) // 3)
    before = _files(run / stage)

    after_run = run_pipeline(load_spec(TINY), run, resume=True, progress=False)

    assert f"{victim} does not read back" in capfd.readouterr().err
    assert after_run["stages"][stage]["status"] == "finished"
    assert (run / victim).read_bytes() == original
    after = _files(run / stage)
    units = [name for name in before if name.startswith(inside.split("/")[0] + "/") and not _same_unit(name, inside)]
    assert units and all(after[name] == before[name] for name in units), "a sound unit was recomputed"
