"""``conceptlab.open_run``: a run directory read as frozen values, and concepts scored on new states."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import conceptlab
from conceptlab.errors import CheckpointError, RunDirError
from conceptlab.pipeline import run_pipeline
from conceptlab.spec import load_spec
from conceptlab.values import CheckpointInfo, Concept, Verdict

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "specs" / "tictactoe-tiny.toml"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the finished tiny run at ``runs/tictactoe-tiny``, as docs/python_api.md assumes."""
    folder = tmp_path_factory.mktemp("work")
    run_pipeline(load_spec(TINY), folder / "runs" / "tictactoe-tiny", progress=False)
    return folder


@pytest.fixture(scope="module")
def run(workdir):
    return conceptlab.open_run(workdir / "runs" / "tictactoe-tiny")


def test_open_run_gives_frozen_values_that_match_the_artifacts(run, workdir):
    path = workdir / "runs" / "tictactoe-tiny"
    series = run.checkpoints()
    assert all(isinstance(c, CheckpointInfo) for c in series) and [c.step for c in series] == [0, 1, 2]
    assert Path(series[-1].path).is_file()
    concepts = run.concepts()
    files = sorted((path / "mine" / "candidates").glob("*.json"))
    records = [json.loads(p.read_text()) for p in files]
    assert all("vector" not in r for r in records)  # vectors live in array files, not JSON lists
    mined = [(p, r) for p, r in zip(files, records, strict=True) if r.get("arrays_file")]
    assert [c.id for c in concepts] == [r["id"] for _, r in mined]
    assert all(isinstance(c, Concept) and c.vector.dtype == np.float64 for c in concepts)
    file, record = mined[0]
    with np.load(file.with_name(record["arrays_file"])) as data:
        assert np.array_equal(run.concept(record["id"]).vector, data["vector"])
    teach = run.verdicts("teach")
    summary = json.loads((path / "teach" / "summary.json").read_text())
    assert [v.concept_id for v in teach] == [v["concept_id"] for v in summary]
    assert all(isinstance(v, Verdict) for v in teach)
    assert [v.passed for v in teach] == [v["passed"] for v in summary]
    novel = {v["concept_id"] for v in json.loads((path / "novelty" / "summary.json").read_text()) if v["passed"]}
    both = {v["concept_id"] for v in summary if v["passed"]} & novel
    assert [c.id for c in run.survivors()] == [c.id for c in concepts if c.id in both]
    assert run.verdict("teach", "no-such-concept") is None


def test_activations_line_up_with_positions(run):
    layer = run.layers()[0]
    for group in ("pool", "reference", "rollouts"):
        acts = run.activations(group, layer)
        assert acts.dtype == np.float32 and acts.shape[0] == len(run.positions(group)) > 0, group


def test_score_is_the_presence_the_stages_compute(run):
    concept = run.concepts()[-1]
    pool = run.positions("pool")
    stored = concept.presence(run.activations("pool", concept.layer))
    np.testing.assert_allclose(run.score(concept.id, pool), stored, rtol=1e-4, atol=1e-4)
    states = [run.domain.from_text(text) for text in pool[:3]]  # domain states as well as text forms
    np.testing.assert_allclose(run.score(concept, states), stored[:3], rtol=1e-4, atol=1e-4)
    assert run.score(concept, []).shape == (0,)


def test_reading_what_is_not_there_names_it(run, tmp_path):
    with pytest.raises(RunDirError, match="no candidate 'c9999'"):
        run.concept("c9999")
    with pytest.raises(RunDirError, match="unknown position group 'games'"):
        run.positions("games")
    with pytest.raises(RunDirError, match="layer 'nope' was not recorded"):
        run.activations("pool", "nope")
    with pytest.raises(RunDirError, match="stage 'mine' has no verdicts"):
        run.verdicts("mine")  # type: ignore[arg-type]
    with pytest.raises(RunDirError, match="is not a run directory"):
        conceptlab.open_run(tmp_path)


def test_a_stage_that_has_not_finished_is_named(tmp_path):
    out = tmp_path / "partial"
    run_pipeline(load_spec(TINY), out, stages=["train"], progress=False)
    partial = conceptlab.open_run(out)
    assert len(partial.checkpoints()) == 3
    with pytest.raises(RunDirError, match=r"the mine stage has not finished in .*partial\' \(status: pending\)"):
        partial.concepts()


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_the_series_records_each_checkpoint_files_hash(run):
    for info in run.checkpoints():
        assert info.file_sha256 == hashlib.sha256(Path(info.path).read_bytes()).hexdigest()


def test_a_checkpoint_changed_since_the_run_recorded_it_fails_to_load(workdir, tmp_path):
    copy = tmp_path / "tiny"
    shutil.copytree(workdir / "runs" / "tictactoe-tiny", copy)
    victim = copy / "train" / "checkpoints" / "ckpt-0001.pt"
    _flip_a_byte(victim)
    changed = conceptlab.open_run(copy)
    message = rf"checkpoint '{re.escape(str(victim))}' changed since the run recorded it .*train stage anew"
    with pytest.raises(CheckpointError, match=message):
        changed.checkpoints()
    with pytest.raises(CheckpointError, match=message):
        changed.agent(-1)  # the final checkpoint is sound, but the series is read whole
    victim.unlink()
    with pytest.raises(CheckpointError, match=rf"checkpoint '{re.escape(str(victim))}' .* is missing"):
        conceptlab.open_run(copy).checkpoints()


def test_a_stage_refuses_a_given_checkpoint_that_changed(workdir, tmp_path):
    given = tmp_path / "given"
    shutil.copytree(workdir / "runs" / "tictactoe-tiny" / "train" / "checkpoints", given)
    files = [str(p) for p in sorted(given.glob("*.pt"))]
    spec = load_spec(TINY, [f"stages.train.checkpoints={json.dumps(files)}"])
    out = tmp_path / "run"
    run_pipeline(spec, out, stages=["train"], progress=False)
    assert [c.file_sha256 for c in conceptlab.open_run(out).checkpoints()] == [
        hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files
    ]
    _flip_a_byte(given / "ckpt-0002.pt")
    with pytest.raises(CheckpointError, match=r"ckpt-0002.pt' changed since the run recorded it"):
        run_pipeline(spec, out, stages=["collect"], resume=True, progress=False)
    assert json.loads((out / "manifest.json").read_text())["stages"]["collect"]["status"] == "failed"


def test_a_series_recorded_without_hashes_still_reads(workdir, tmp_path):
    copy = tmp_path / "tiny"
    shutil.copytree(workdir / "runs" / "tictactoe-tiny", copy)
    series_path = copy / "train" / "checkpoints.json"
    records = json.loads(series_path.read_text())
    series_path.write_text(json.dumps([{k: v for k, v in r.items() if k != "file_sha256"} for r in records]))
    old = conceptlab.open_run(copy)
    assert [c.file_sha256 for c in old.checkpoints()] == ["", "", ""]
    concept = old.concepts()[0]
    assert old.score(concept, old.positions("pool")[:2]).shape == (2,)


def test_candidates_written_with_json_vectors_read_the_same(run, workdir, tmp_path):
    copy = tmp_path / "tiny"
    shutil.copytree(workdir / "runs" / "tictactoe-tiny", copy)
    for path in sorted((copy / "mine" / "candidates").glob("*.json")):
        record = json.loads(path.read_text())
        npz = path.with_name(record.pop("arrays_file"))
        with np.load(npz) as data:
            record["vector"] = [float(x) for x in data["vector"]]
        npz.unlink()
        path.write_text(json.dumps(record))
    assert not list((copy / "mine" / "candidates").glob("*.npz"))
    old = conceptlab.open_run(copy).concepts()
    assert [c.id for c in old] == [c.id for c in run.concepts()]
    for a, b in zip(old, run.concepts(), strict=True):
        assert a.vector.dtype == np.float64 and np.array_equal(a.vector, b.vector)


def test_the_python_api_example_runs(workdir):
    text = (ROOT / "docs" / "python_api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    result = subprocess.run([sys.executable, "-c", blocks[0]], cwd=workdir, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "concepts passed both filters" in result.stdout
    assert "tictactoe-tiny" in result.stdout
