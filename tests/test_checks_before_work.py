"""Everything a run can check is checked before it does any work or writes a file.

Each mistake costs one line on stderr and exit status 2, and leaves the working
directory as it was: no run directory, no manifest, no ``runs/``.
"""

from __future__ import annotations

import importlib.metadata as metadata
import math
import re
from pathlib import Path

import pytest

from conceptlab.checks import check_inputs, check_stages
from conceptlab.errors import ComponentError, MissingInputError, ParamsError, SpecError, UnknownStageError
from conceptlab.plugins import get_registry
from conceptlab.spec import STAGES, load_spec, resolve_spec, spec_from_dict
from conceptlab.testing.harness import run_cli
from conceptlab.testing.tictactoe import TicTacToe

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = {ep.name for ep in metadata.entry_points(group="conceptlab")}
TICTACTOE = 'name = "t"\n[domain]\nname = "tictactoe"\n[agent]\nname = "pvnet"\n'
CHESS = 'name = "c"\n[domain]\nname = "chess"\n[agent]\nname = "az-chess"\n'


def _refused(tmp_path: Path, spec_text: str, *argv: str, pattern: str) -> str:
    """Run ``conceptlab ARGV`` (``SPEC`` stands for a spec file) in ``tmp_path``; check the refusal."""
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text)
    before = sorted(tmp_path.rglob("*"))
    result = run_cli(*(str(spec) if a == "SPEC" else a for a in argv), cwd=tmp_path)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("conceptlab: error: "), result.stderr
    assert re.search(pattern, lines[0]), lines[0]
    assert sorted(tmp_path.rglob("*")) == before, "a refused command wrote files"
    return lines[0]


# -- stage names --------------------------------------------------------------------------------

def test_an_unknown_stage_is_refused_with_a_suggestion_before_the_run_directory_exists(tmp_path):
    _refused(tmp_path, TICTACTOE, "run", "SPEC", "--out", "out", "--stages", "train,trian",
             pattern=r"unknown stage 'trian' \(did you mean 'train'\?\); stages: train, collect")


def test_check_stages_keeps_pipeline_order():
    assert check_stages(["mine", "train"]) == ["train", "mine"]
    assert check_stages(None) == list(STAGES)
    with pytest.raises(UnknownStageError, match=r"unknown stage 'export2' \(did you mean 'export'\?\)"):
        check_stages(["export2"])


def test_a_stage_without_its_inputs_is_refused_before_the_run_directory_exists(tmp_path):
    _refused(tmp_path, TICTACTOE, "run", "SPEC", "--out", "out", "--stages", "mine",
             pattern=r"stage 'mine' needs stage 'collect'")


# -- finite numbers ------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_non_finite_number_in_the_spec_is_refused(tmp_path, value):
    _refused(tmp_path, TICTACTOE + f"[stages.train]\nlearning_rate = {value}\n", "run", "SPEC",
             pattern=r"field 'stages.train.learning_rate': Input should be a finite number")


def test_a_non_finite_override_is_refused(tmp_path):
    _refused(tmp_path, TICTACTOE, "spec", "validate", "SPEC", "--set", "stages.amplify.beta=nan",
             pattern=r"field 'stages.amplify.beta': Input should be a finite number")


def test_a_non_finite_component_param_is_refused_by_its_params_model():
    spec = spec_from_dict({"name": "t", "domain": {"name": "tictactoe"}, "agent": {"name": "pvnet"},
                           "search": {"name": "puct", "params": {"c_init": math.inf}}})
    with pytest.raises(ParamsError, match=r"\[search\] search 'puct': param 'c_init': .*finite number"):
        resolve_spec(spec, get_registry(autoload=False))


# -- the run name ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../escape", "a/../../b", "..", "a..b", "/abs", ".hidden", ""])
def test_a_run_name_that_is_not_one_folder_name_is_refused(tmp_path, name):
    with pytest.raises(SpecError, match=r"field 'name': Value error, a run name is one folder name"):
        spec_from_dict({"name": name, "domain": {"name": "tictactoe"}, "agent": {"name": "pvnet"}})


def test_a_run_name_with_dots_cannot_leave_the_runs_folder(tmp_path):
    _refused(tmp_path, TICTACTOE.replace('"t"', '"../../escape"'), "run", "SPEC",
             pattern=r"spec.toml: field 'name': Value error, a run name is one folder name .*\(got '../../escape'\)")


# -- files the spec names ------------------------------------------------------------------------

def test_a_missing_checkpoint_is_refused_by_run_and_by_validate(tmp_path):
    override = 'stages.train.checkpoints=["ckpt-0.pt", "missing.pt"]'
    (tmp_path / "ckpt-0.pt").write_bytes(b"")
    for argv in (("run", "SPEC", "--set", override), ("spec", "validate", "SPEC", "--set", override)):
        _refused(tmp_path, TICTACTOE, *argv,
                 pattern=r"spec.toml: \[stages.train.checkpoints\] checkpoint file not found: 'missing.pt'")


def test_a_reference_source_of_a_domain_without_a_reader_is_refused(tmp_path):
    _refused(tmp_path, TICTACTOE + '[stages.collect]\nreference_source = "games.pgn"\n', "run", "SPEC",
             pattern=r"\[stages.collect.reference_source\] domain 'tictactoe' has no reader of reference games")


def test_check_inputs_accepts_shipped_checkpoints_and_existing_files(tmp_path):
    (tmp_path / "a.pt").write_bytes(b"")
    for checkpoints in (["shipped"], [str(tmp_path / "a.pt")], []):
        spec = spec_from_dict({"name": "t", "domain": {"name": "tictactoe"}, "agent": {"name": "pvnet"},
                               "stages": {"train": {"checkpoints": checkpoints}}})
        check_inputs(spec, TicTacToe())
    spec = spec_from_dict({"name": "t", "domain": {"name": "tictactoe"}, "agent": {"name": "pvnet"},
                           "stages": {"train": {"checkpoints": [str(tmp_path / "b.pt")]}}})
    with pytest.raises(MissingInputError, match=r"checkpoint file not found: '.*b.pt'"):
        check_inputs(spec, TicTacToe())


def test_files_only_a_finished_or_unrequested_stage_reads_are_not_checked(tmp_path):
    spec = spec_from_dict({"name": "t", "domain": {"name": "tictactoe"}, "agent": {"name": "pvnet"},
                           "stages": {"train": {"checkpoints": [str(tmp_path / "gone.pt")]},
                                      "collect": {"reference_source": "games.pgn"}}})
    check_inputs(spec, TicTacToe(), stages=["mine", "teach"])
    with pytest.raises(MissingInputError, match="gone.pt"):
        check_inputs(spec, TicTacToe(), stages=["train"])
    with pytest.raises(ComponentError, match=r"\[stages.collect.reference_source\] domain 'tictactoe' has no reader"):
        check_inputs(spec, TicTacToe(), stages=["collect"])


@pytest.mark.skipif("chess" not in PLUGINS, reason="the chess plugin is not installed")
@pytest.mark.parametrize(
    ("source", "pattern"),
    [
        ("missing.pgn", r"\[stages.collect.reference_source\] PGN file not found: 'missing.pgn'"),
        ("book:missing.bin", r"\[stages.collect.reference_source\] opening book 'missing.bin' does not exist"),
    ],
    ids=["pgn", "book"],
)
def test_a_missing_reference_source_is_refused(tmp_path, source, pattern):
    _refused(tmp_path, CHESS + f'[stages.collect]\nreference_source = "{source}"\n', "run", "SPEC",
             pattern=pattern)


@pytest.mark.skipif("chess" not in PLUGINS, reason="the chess plugin is not installed")
def test_a_book_that_is_not_a_polyglot_book_is_refused(tmp_path):
    (tmp_path / "book.bin").write_bytes(b"x" * 17)
    _refused(tmp_path, CHESS + '[stages.collect]\nreference_source = "book:book.bin"\n',
             "spec", "validate", "SPEC", pattern=r"'book.bin' is not a Polyglot book: 17 bytes")


@pytest.mark.skipif("openspiel" not in PLUGINS, reason="the OpenSpiel plugin is not installed")
def test_an_openspiel_reference_player_of_the_wrong_form_is_refused(tmp_path):
    spec = 'name = "o"\n[domain]\nname = "openspiel"\n[agent]\nname = "pvnet"\n'
    _refused(tmp_path, spec + '[stages.collect]\nreference_source = "mcts:many"\n', "spec", "validate", "SPEC",
             pattern=r"\[stages.collect.reference_source\] domain 'openspiel': reference source 'mcts:many': "
                     r"expected 'mcts:N'")


def test_the_shipped_specs_still_validate():
    registry = get_registry()
    for path in sorted((ROOT / "specs").glob("*.toml")):
        spec = load_spec(path)
        resolve_spec(spec, registry, source=str(path))
