"""Runs: the tiny spec end to end, manifests, refusals, and resuming after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conceptlab.arrays import CRASH_AFTER_ENV
from conceptlab.errors import RunDirError, SpecError
from conceptlab.hookspecs import hookimpl
from conceptlab.plugins import get_registry
from conceptlab.pipeline import run_pipeline
from conceptlab.run.store import read_candidates
from conceptlab.rundir import RunDir
from conceptlab.spec import STAGES, load_spec
from conceptlab.testing.harness import run_cli

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "specs" / "tictactoe-tiny.toml"


def _cli_run(out: Path, crash_after: str | None = None) -> subprocess.Popen[str]:
    env = dict(os.environ, CONCEPTLAB_PROGRESS="0", OMP_NUM_THREADS="1")
    env.pop(CRASH_AFTER_ENV, None)
    if crash_after is not None:  # the run SIGKILLs itself right after writing this file
        env[CRASH_AFTER_ENV] = crash_after
    return subprocess.Popen(
        [sys.executable, "-m", "conceptlab.cli", "run", str(TINY), "--out", str(out), "--resume", "--quiet"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny spec run once through the CLI, uninterrupted (also the resume tests' reference)."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    proc = _cli_run(out)
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err
    return out


def test_every_stage_finishes_with_figures(tiny_run):
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    assert [s for s in STAGES if manifest["stages"][s]["status"] == "finished"] == list(STAGES)
    for stage in STAGES:
        record = manifest["stages"][stage]
        assert record["seconds"] >= 0 and isinstance(record["figures"], dict)
    assert manifest["versions"]["conceptlab"]
    assert manifest["seed"] == 7
    figures = manifest["stages"]["mine"]["figures"]
    assert figures["candidates"] == figures["mined"] + figures["failed"] > 0
    collect = manifest["stages"]["collect"]["figures"]
    assert collect["rollout_simulations"] == 24
    assert sum(collect["subpar_branch_depths"].values()) == collect["subpar_lines"]
    assert 0 <= collect["subpar_depth0_within_0.05_of_chosen_value"] <= collect["subpar_branch_depths"].get("0", 0)
    teach = manifest["stages"]["teach"]["figures"]
    assert teach["null_directions"] == 2 and teach["fdr_q"] == 0.1
    for key in ("teachable_share", "null_teachable_share", "null_dense_teachable_share"):
        share = teach[key]
        assert 0 <= share["ci_low"] <= share["share"] <= share["ci_high"] <= 1, key
    assert teach["assessed"] == len(json.loads((tiny_run / "teach" / "summary.json").read_text()))
    assert len(json.loads((tiny_run / "teach" / "null_summary.json").read_text())) == 4
    novelty = manifest["stages"]["novelty"]["figures"]
    assert novelty["null_directions"] == 20 and novelty["positions_per_side"] > 0
    for key in ("null_novel_share", "agent_split_novel_share"):
        assert 0 <= novelty[key]["ci_low"] <= novelty[key]["ci_high"] <= 1, key
    from conceptlab.report import render_report

    page = render_report(tiny_run, get_registry())
    assert "random sparse directions (the mined concepts&#x27; sparsity)" in page


def test_artifacts_of_each_stage_exist(tiny_run):
    series = json.loads((tiny_run / "train" / "checkpoints.json").read_text())
    assert [c["step"] for c in series] == [0, 1, 2]
    assert (tiny_run / "collect" / "rollouts.json").exists()
    assert list((tiny_run / "mine" / "candidates").glob("*.json"))
    index = json.loads((tiny_run / "export" / "puzzles" / "index.json").read_text())
    assert index["domain"] == "tictactoe"


def test_every_candidate_has_a_verdict_or_an_explained_failure(tiny_run):
    teach = {v["concept_id"]: v for v in json.loads((tiny_run / "teach" / "summary.json").read_text())}
    for record in read_candidates(tiny_run):
        if record["vector"] is None:
            assert record["reason"], record["id"]
        else:
            assert teach[record["id"]]["reason"]


def test_rerunning_a_finished_run_does_nothing(tiny_run):
    before = {p: p.stat().st_mtime_ns for p in tiny_run.rglob("*") if p.is_file()}
    run_pipeline(load_spec(TINY), tiny_run, resume=True, progress=False)
    after = {p: p.stat().st_mtime_ns for p in tiny_run.rglob("*") if p.is_file()}
    changed = [str(p) for p in after if before.get(p) != after[p] and p.name != "manifest.json"]
    assert sorted(after) == sorted(before) and not changed


def test_existing_run_needs_resume(tiny_run):
    with pytest.raises(SpecError, match="pass --resume"):
        run_pipeline(load_spec(TINY), tiny_run, progress=False)


def test_a_run_directory_of_another_spec_is_refused(tiny_run):
    other = load_spec(TINY, ["name='tictactoe-other'"])
    with pytest.raises(RunDirError, match="holds a run of spec 'tictactoe-tiny', not 'tictactoe-other'"):
        run_pipeline(other, tiny_run, resume=True, progress=False)


def test_a_stage_without_its_inputs_is_refused(tmp_path):
    with pytest.raises(SpecError, match="stage 'mine' needs stage 'collect'"):
        run_pipeline(load_spec(TINY), tmp_path / "r", stages=["mine"], progress=False)


def test_report_is_self_contained(tiny_run):
    result = run_cli("report", str(tiny_run))
    assert result.returncode == 0, result.stderr
    page = (tiny_run / "report.html").read_text()
    assert "<h2>Candidate concepts</h2>" in page
    for external in ("<script src", "<link", "http://", "https://", "@import", "url("):
        assert external not in page


@pytest.mark.slow
@pytest.mark.parametrize("kill_when", ["train/games-0002/00001.npz", "collect/disagreements/00002.json",
                                       "mine/candidates/00002.npz"])
def test_sigkill_mid_stage_then_resume_gives_identical_artifacts(tiny_run, tmp_path, kill_when):
    reference = tiny_run
    killed = tmp_path / "killed"
    proc = _cli_run(killed, crash_after=kill_when)
    assert proc.wait(timeout=600) == -signal.SIGKILL, "the run was not killed where it was told to be"
    assert (killed / kill_when).exists()
    stage = kill_when.split("/")[0]
    assert json.loads((killed / "manifest.json").read_text())["stages"][stage]["status"] == "running"

    resumed = _cli_run(killed)
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read() if resumed.stderr else ""
    spec = load_spec(TINY)
    expected, got = RunDir(reference, spec).artifacts(), RunDir(killed, spec).artifacts()
    assert sorted(got) == sorted(expected)
    differing = [name for name in expected if expected[name] != got[name]]
    assert not differing, f"artifacts differ after resume: {differing}"


class _AcceptAll:
    """Test double: filters that pass every concept, to drive the amplify and export stages."""

    @staticmethod
    def classes() -> tuple[type, type]:
        from conceptlab.interfaces import NoveltyFilter, TeachabilityFilter
        from conceptlab.values import Verdict

        class AcceptTeach(TeachabilityFilter):
            """Passes every concept."""
            name = "accept-all"
            def prepare(self, context, rng): self.pool = len(context.pool_states)
            def assess(self, concept, rng):
                return Verdict(concept.id, self.name, True, {"pool": self.pool}, "accepted by the test double")

        class AcceptNovel(NoveltyFilter):
            """Passes every concept."""
            name = "accept-all"
            def prepare(self, context, rng): self.reference = context.reference_name
            def assess(self, concept, rng):
                return Verdict(concept.id, self.name, True, {}, f"accepted against {self.reference}")

        return AcceptTeach, AcceptNovel

    @hookimpl
    def register_teachability_filters(self):
        return [self.classes()[0]]

    @hookimpl
    def register_novelty_filters(self):
        return [self.classes()[1]]


def test_surviving_concepts_are_amplified_and_exported(tmp_path):
    registry = get_registry(extra_plugins=[("accept", _AcceptAll())])
    spec = load_spec(TINY, ["teachability.name=accept-all", "novelty.name=accept-all",
                            "teachability.params={}"])
    manifest = run_pipeline(spec, tmp_path / "r", registry=registry, progress=False)
    mined = manifest["stages"]["mine"]["figures"]["mined"]
    assert mined > 0
    assert manifest["stages"]["amplify"]["figures"]["amplified"] == mined
    curves = json.loads((tmp_path / "r" / "amplify" / "summary.json").read_text())
    assert all(c["concept_id"] and c["method"] == "causal" for c in curves)
    for curve in curves:  # each intervention beside its random-direction null, with a p-value
        for where in ("line", "held_out"):
            test = curve[where]
            assert test["random_directions"] == 20 and test["num_states"] > 0
            assert 1 / 21 <= test["added"]["p_value"] <= 1 and 1 / 21 <= test["ablated"]["p_value"] <= 1
    index = json.loads((tmp_path / "r" / "export" / "puzzles" / "index.json").read_text())
    assert len(index["concepts"]) == mined
    for entry in index["concepts"]:
        card = json.loads((tmp_path / "r" / "export" / "cards" / f"{entry['id']}.json").read_text())
        assert card["teachability"]["passed"] and card["novelty"]["passed"]
        assert card["agent_lines"]["chosen"]
        phase1 = json.loads((tmp_path / "r" / "export" / "puzzles" / entry["id"] / "phase1.json").read_text())
        phase3 = json.loads((tmp_path / "r" / "export" / "puzzles" / entry["id"] / "phase3.json").read_text())
        assert phase1 and {p["state"] for p in phase1}.isdisjoint(p["state"] for p in phase3)
        for puzzle in phase1 + phase3:
            domain_state = puzzle["state"]
            assert puzzle["solution"] and isinstance(puzzle["line"], list), domain_state
