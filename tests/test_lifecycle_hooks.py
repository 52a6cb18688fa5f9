"""The run lifecycle hooks, each seen by a plugin that records its calls.

A throwaway plugin records every lifecycle call (with what it was given) while
a tiny tic-tac-toe run trains; a second run resumes it, and a third fails in
its first stage. ``add_cli_commands`` is covered in ``tests/test_cli_commands.py``
and the registration hooks in ``tests/test_plugins.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conceptlab.errors import CheckpointError
from conceptlab.hookspecs import hookimpl
from conceptlab.pipeline import run_pipeline
from conceptlab.plugins import get_registry
from conceptlab.run.context import RunContext, StageSummary
from conceptlab.spec import spec_from_dict

pytest.importorskip("torch")

SPEC: dict[str, Any] = {
    "name": "hooks",
    "seed": 3,
    "executor": {"name": "serial"},
    "domain": {"name": "tictactoe"},
    "agent": {"name": "pvnet", "params": {"blocks": 1, "channels": 4, "hidden": 8}},
    "search": {"name": "puct", "params": {"simulations": 4, "batch_size": 2}},
    "stages": {"train": {"iterations": 1, "games_per_iteration": 2, "epochs": 1, "batch_size": 8}},
}


class Recorder:
    """Records each lifecycle call as ``(hook, details)``; checks what every call is given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.runs: list[RunContext] = []

    def _seen(self, run: RunContext) -> None:
        assert isinstance(run, RunContext)
        self.runs.append(run)

    @hookimpl
    def before_run(self, run: RunContext) -> None:
        self._seen(run)
        # the run directory exists with its manifest, and no stage has started
        assert (run.path / "manifest.json").exists()
        self.calls.append(("before_run", run.spec.name))

    @hookimpl
    def before_stage(self, run: RunContext, stage: str) -> None:
        self._seen(run)
        assert run.run_dir.stage_status(stage) != "finished"
        self.calls.append(("before_stage", stage))

    @hookimpl
    def after_stage(self, run: RunContext, stage: str, summary: StageSummary) -> None:
        self._seen(run)
        assert run.run_dir.stage_status(stage) == "finished"
        self.calls.append(("after_stage", (stage, summary)))

    @hookimpl
    def on_stage_error(self, run: RunContext, stage: str, error: BaseException) -> None:
        self._seen(run)
        assert run.run_dir.stage_status(stage) == "failed"
        self.calls.append(("on_stage_error", (stage, error)))

    @hookimpl
    def after_run(self, run: RunContext, status: str) -> None:
        self._seen(run)
        self.calls.append(("after_run", status))


def _run(out: Path, recorder: Recorder, data: dict[str, Any] = SPEC, **kwargs: Any) -> dict[str, Any]:
    registry = get_registry(autoload=False, extra_plugins=[("recorder", recorder)])
    return run_pipeline(spec_from_dict(data), out, stages=["train"], registry=registry,
                        progress=False, **kwargs)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Recorder, dict[str, Any]]:
    out = tmp_path_factory.mktemp("hooks") / "run"
    recorder = Recorder()
    manifest = _run(out, recorder)
    return out, recorder, manifest


def test_the_calls_come_in_lifecycle_order(trained):
    _, recorder, _ = trained
    assert [name for name, _ in recorder.calls] == ["before_run", "before_stage", "after_stage", "after_run"]
    assert len({id(run) for run in recorder.runs}) == 1, "every hook sees the same RunContext"


def test_before_run_sees_the_spec_the_directory_and_the_registry(trained):
    out, recorder, _ = trained
    assert recorder.calls[0] == ("before_run", "hooks")
    run = recorder.runs[0]
    assert run.path == out and run.spec.seed == 3
    assert "recorder" in {info.name for info in run.registry.plugins()}


def test_before_stage_names_the_stage(trained):
    _, recorder, _ = trained
    assert recorder.calls[1] == ("before_stage", "train")


def test_after_stage_gets_the_summary_the_manifest_records(trained):
    _, recorder, manifest = trained
    name, (stage, summary) = recorder.calls[2]
    assert (name, stage) == ("after_stage", "train")
    assert isinstance(summary, StageSummary) and summary.stage == "train"
    record = manifest["stages"]["train"]
    assert summary.units == record["units"] > 0
    assert summary.figures == record["figures"] and summary.figures["checkpoints"] == 2
    assert summary.seconds == record["seconds"]


def test_after_run_reports_finished(trained):
    _, recorder, _ = trained
    assert recorder.calls[-1] == ("after_run", "finished")


def test_a_resumed_run_calls_no_stage_hook_for_finished_stages(trained):
    out, _, _ = trained
    again = Recorder()
    _run(out, again, resume=True)
    assert again.calls == [("before_run", "hooks"), ("after_run", "finished")]


def test_on_stage_error_gets_the_error_which_then_propagates(tmp_path):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    data = {**SPEC, "stages": {"train": {"checkpoints": [str(broken)]}}}
    recorder = Recorder()
    with pytest.raises(CheckpointError) as raised:
        _run(tmp_path / "run", recorder, data)
    assert [name for name, _ in recorder.calls] == [
        "before_run", "before_stage", "on_stage_error", "after_run"
    ]
    stage, error = recorder.calls[2][1]
    assert stage == "train" and error is raised.value
    assert recorder.calls[-1] == ("after_run", "failed")
