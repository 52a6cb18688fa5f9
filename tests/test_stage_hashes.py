"""Per-stage hashes: a changed setting re-runs its stage and those downstream, and keeps the rest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conceptlab.errors import RunDirError, SpecError
from conceptlab.pipeline import run_pipeline
from conceptlab.spec import STAGES, load_spec, stage_hashes

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "specs" / "tictactoe-tiny.toml"
TEACH_AND_AFTER = ["teach", "novelty", "amplify", "export"]


def _changed(overrides: list[str]) -> list[str]:
    before, after = stage_hashes(load_spec(TINY)), stage_hashes(load_spec(TINY, overrides))
    return [stage for stage in STAGES if before[stage] != after[stage]]


@pytest.mark.parametrize(("overrides", "expected"), [
    (["teachability.params.bootstrap_samples=100"], TEACH_AND_AFTER),
    (["stages.teach.fdr_q=0.2"], TEACH_AND_AFTER),
    (["stages.teach.dynamic_prototypes='top'"], TEACH_AND_AFTER),
    (["stages.teach.constraint_share=0.5"], TEACH_AND_AFTER),
    (["stages.export.puzzles_per_phase=3"], ["export"]),
    (["stages.novelty.null_directions=3"], ["novelty", "amplify", "export"]),
    (["stages.probe.positions=100"], ["probe"]),
    (["miner.params.margin=0.5"], ["mine", "teach", "novelty", "amplify", "export", "probe"]),
    (["stages.collect.games=7"], ["collect", *STAGES[2:]]),
    (["seed=8"], list(STAGES)),
    (["executor.name='local'", "description='another text'"], []),
    (["players.other={ name = 'pvnet' }"], []),
    (["players.other={ name = 'pvnet' }", "stages.teach.student='agent:other'"], TEACH_AND_AFTER),
])
def test_a_setting_changes_the_hash_of_its_stage_and_those_downstream_only(overrides, expected):
    assert _changed(overrides) == expected


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "tiny"
    run_pipeline(load_spec(TINY), out, progress=False)
    return out


def _files(path: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(path)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(path.rglob("*")) if p.is_file()
    }


def test_a_changed_teachability_setting_reruns_teach_and_after_and_keeps_the_rest(finished, tmp_path):
    run = tmp_path / "tiny"
    shutil.copytree(finished, run)  # copies keep their modification times
    before = {stage: _files(run / stage) for stage in STAGES}
    old = json.loads((run / "manifest.json").read_text())["stages"]

    spec = load_spec(TINY, ["teachability.params.bootstrap_samples=100"])
    manifest = run_pipeline(spec, run, resume=True, progress=False)

    assert manifest["runtime"]["discarded"] == TEACH_AND_AFTER
    hashes = stage_hashes(spec)
    for stage in STAGES:
        record = manifest["stages"][stage]
        assert record["status"] == "finished" and record["hash"] == hashes[stage], stage
        if stage in TEACH_AND_AFTER:
            assert record["hash"] != old[stage]["hash"], stage
        else:  # train, collect, mine and probe: not run again, their files untouched
            assert record == old[stage], stage
            assert _files(run / stage) == before[stage], stage
    for stage in TEACH_AND_AFTER:
        now = _files(run / stage)
        assert now and all(now[name][1] != before[stage].get(name, (b"", None))[1] for name in now), stage
    verdicts = json.loads((run / "teach" / "summary.json").read_text())
    # every verdict was taught, or failed for too few prototypes (rollout positions that satisfy it)
    assert verdicts and any(v["scores"].get("seeds") for v in verdicts)
    assert all(v["scores"].get("seeds") or "too few to teach" in v["reason"] for v in verdicts)
    assert json.loads((run / "spec.json").read_text())["teachability"]["params"]["bootstrap_samples"] == 100


def test_a_stage_that_needs_a_changed_stage_asks_for_it(finished, tmp_path):
    run = tmp_path / "tiny"
    shutil.copytree(finished, run)
    spec = load_spec(TINY, ["stages.mine.held_out_fraction=0.3"])
    with pytest.raises(SpecError, match="needs stage 'mine', whose settings changed since it ran"):
        run_pipeline(spec, run, stages=["teach"], resume=True, progress=False)


def test_a_run_directory_of_another_spec_name_is_refused(finished):
    with pytest.raises(RunDirError, match="holds a run of spec 'tictactoe-tiny', not 'other'"):
        run_pipeline(load_spec(TINY, ["name='other'"]), finished, resume=True, progress=False)


@pytest.mark.parametrize(("version", "message"), [
    (None, r"is in run format 1 \(one hash for the whole spec\).*run the spec into another --out"),
    (99, "is in run format 99, newer than this conceptlab's 2: upgrade conceptlab"),
])
def test_a_run_directory_of_another_format_gets_a_clear_message(finished, tmp_path, version, message):
    run = tmp_path / "old"
    shutil.copytree(finished, run)
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["format_version"]
    if version is not None:
        manifest["format_version"] = version
    (run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RunDirError, match=message):
        run_pipeline(load_spec(TINY), run, resume=True, progress=False)
