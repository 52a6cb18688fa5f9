"""``conceptlab-chess bootstrap --config``: the settings file, its precedence and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from conceptlab_chess import cli

ROOT = Path(__file__).resolve().parents[3]


def test_settings_file_values_are_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "boot.toml"
    config.write_text("positions = 4\n[analysis]\nmultipv = 0\n")
    assert cli.main(["bootstrap", "--config", str(config), "--out", str(tmp_path / "b")]) == 2
    assert "multipv" in capsys.readouterr().err


def test_flags_override_the_settings_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "boot.toml"
    config.write_text("[train]\nepochs = 3\n")
    assert cli.main(["bootstrap", "--config", str(config), "--epochs", "0", "--out", str(tmp_path / "b"),
                     "--train-only"]) == 2
    assert "epochs" in capsys.readouterr().err


@pytest.mark.parametrize("text, message", [("[analyses]\n", "unknown keys"), ("positions = \n", "not TOML")])
def test_a_bad_settings_file_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    config = tmp_path / "boot.toml"
    config.write_text(text)
    assert cli.main(["bootstrap", "--config", str(config), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_the_project_bootstrap_spec_is_valid() -> None:
    from conceptlab_chess.bootstrap import AnalysisConfig, TrainConfig

    data = cli._bootstrap_config(str(ROOT / "specs" / "training" / "chess-bootstrap.toml"))
    assert data["positions"] > 0 and data["ship"]["steps"]
    AnalysisConfig.model_validate(data["analysis"])
    assert TrainConfig.model_validate(data["train"]).epochs == max(data["ship"]["steps"])
